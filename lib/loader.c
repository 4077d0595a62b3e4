/*
 * loader.c: batches of a dataset, decoded and augmented by worker threads while the caller
 * trains on the batch before.
 *
 * An epoch is a sequence of positions 0 .. count-1, each naming an image (through a
 * permutation drawn from (seed, epoch) when training).  The workers take positions in
 * order and write each one's tensor into a ring of slots, position k into slot k % ring;
 * the caller takes the slots back in order, copies the good ones into the batch and
 * frees them.  A worker may run at most `ring` positions ahead of the caller.  Everything
 * an image's tensor depends on is drawn from (seed, epoch, image), so which worker makes
 * it, and when, changes nothing.
 *
 * A shard (vgg_loader_shard) keeps of the epoch's sequence only its own slice of every
 * batch, so that the workers make no image another process will; the batches are then cut
 * at the slices' ends instead of filled up to `batch`.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preprocess.h"

/* Threads when the caller asks for one per core and the count is unknown, and at most. */
#define MAX_THREADS 64

struct slot {
	int ready;               /* made, waiting for the caller */
	int status;              /* VGG_OK, or why the image is passed over */
	char msg[sizeof ((vgg_error *)0)->msg];
	float *x;                /* the image's tensor */
};

struct vgg_loader {
	const vgg_dataset *ds;
	vgg_augment aug;
	int channels, batch;
	size_t image_floats;     /* channels x crop_h x crop_w */
	int rank, ranks;         /* the shard: this slice of every batch, out of `ranks` */

	pthread_mutex_t lock;
	pthread_cond_t work;     /* a worker may take a position */
	pthread_cond_t done;     /* a slot became ready, or a worker went idle */
	pthread_t *threads;
	int nthreads, quit;
	int idle;                /* workers waiting on `work` */
	int waiting;             /* whether the caller waits on `done`, */
	size_t wait_for;         /* for this position to be made (SIZE_MAX: for no one busy) */

	/* The epoch, guarded by `lock`. */
	int running, train;
	uint64_t seed;
	int epoch;
	size_t *order;           /* position -> image, `positions` of them */
	size_t positions;        /* the dataset's count, or the shard's part of it */
	size_t next_batch;       /* a shard: the batch vgg_loader_next gives next */
	size_t taken;            /* positions handed to workers so far */
	size_t consumed;         /* positions the caller has taken back */
	int busy;                /* workers making an image */
	struct slot *ring;
	size_t nring;

	float *x;                /* the batch handed to the caller */
	int *labels;
	size_t skipped;
	char last_error[sizeof ((vgg_error *)0)->msg];
};

/* Image `image`'s tensor into s: decoded, then augmented or evaluated. */
static void make_image(vgg_loader *l, size_t image, int train, uint64_t seed, int epoch,
                       struct slot *s)
{
	vgg_error err = {0};
	vgg_image *img;
	int rc = vgg_dataset_image(l->ds, image, &img, &err);
	if (!rc) {
		struct vgg__rng rng;
		vgg__rng_seed(&rng, seed, (uint64_t)epoch, image);
		rc = vgg__augment_image(&l->aug, img, l->channels, train ? &rng : NULL, s->x, &err);
		vgg_image_free(img);
	}
	s->status = rc;
	if (rc)
		memcpy(s->msg, err.msg, sizeof s->msg);
}

static void *worker(void *arg)
{
	vgg_loader *l = arg;
	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (!l->quit && !(l->running && l->taken < l->positions &&
		                     l->taken < l->consumed + l->nring)) {
			l->idle++;
			pthread_cond_wait(&l->work, &l->lock);
			l->idle--;
		}
		if (l->quit)
			break;
		size_t k = l->taken++;
		struct slot *s = &l->ring[k % l->nring];
		size_t image = l->order[k];
		int train = l->train, epoch = l->epoch;
		uint64_t seed = l->seed;
		l->busy++;
		pthread_mutex_unlock(&l->lock);
		make_image(l, image, train, seed, epoch, s);
		pthread_mutex_lock(&l->lock);
		s->ready = 1;
		l->busy--;
		/* Waking is a system call: only for the position the caller waits for. */
		if (l->waiting && (k == l->wait_for || (l->wait_for == SIZE_MAX && !l->busy)))
			pthread_cond_broadcast(&l->done);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* Stops handing out positions and waits for the workers' images in progress. */
static void stop_epoch(vgg_loader *l)
{
	l->running = 0;
	l->waiting = 1;
	l->wait_for = SIZE_MAX;
	while (l->busy)
		pthread_cond_wait(&l->done, &l->lock);
	l->waiting = 0;
}

void vgg_loader_free(vgg_loader *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	stop_epoch(l);
	l->quit = 1;
	pthread_cond_broadcast(&l->work);
	pthread_mutex_unlock(&l->lock);
	for (int i = 0; i < l->nthreads; i++)
		pthread_join(l->threads[i], NULL);
	pthread_cond_destroy(&l->work);
	pthread_cond_destroy(&l->done);
	pthread_mutex_destroy(&l->lock);
	for (size_t i = 0; l->ring && i < l->nring; i++)
		free(l->ring[i].x);
	free(l->ring);
	free(l->threads);
	free(l->order);
	free(l->x);
	free(l->labels);
	free(l);
}

int vgg_loader_new(const vgg_dataset *ds, const vgg_augment *a, int channels, int batch,
                   int threads, vgg_loader **out, vgg_error *err)
{
	*out = NULL;
	int rc = vgg__augment_check(a, channels, err);
	if (rc)
		return rc;
	if (batch < 1)
		return vgg__fail(err, VGG_ERANGE, "batch of %d images: it must be 1 or more", batch);
	if (threads < 0)
		return vgg__fail(err, VGG_ERANGE, "%d loader threads: 0 (one per core) or more",
		                 threads);
	if (threads == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cores > 0 ? (int)cores : 1;
	}
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;

	vgg_loader *l = calloc(1, sizeof *l);
	if (!l)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	l->ds = ds;
	l->aug = *a;
	l->channels = channels;
	l->batch = batch;
	l->ranks = 1;
	l->image_floats = (size_t)channels * (size_t)a->crop_h * (size_t)a->crop_w;
	/* One batch ahead, and room for every worker beyond it. */
	l->nring = (size_t)batch + 2 * (size_t)threads;
	size_t count = vgg_dataset_count(ds);
	int ok = l->image_floats <= SIZE_MAX / sizeof(float) / (size_t)batch &&
	         (l->x = malloc((size_t)batch * l->image_floats * sizeof *l->x)) &&
	         (l->labels = malloc((size_t)batch * sizeof *l->labels)) &&
	         (l->order = malloc(count * sizeof *l->order)) &&
	         (l->ring = calloc(l->nring, sizeof *l->ring)) &&
	         (l->threads = calloc((size_t)threads, sizeof *l->threads));
	for (size_t i = 0; ok && i < l->nring; i++)
		ok = (l->ring[i].x = malloc(l->image_floats * sizeof(float))) != NULL;
	if (!ok) {
		free(l->x);
		free(l->labels);
		free(l->order);
		for (size_t i = 0; l->ring && i < l->nring; i++)
			free(l->ring[i].x);
		free(l->ring);
		free(l->threads);
		free(l);
		return vgg__fail(err, VGG_ENOMEM, "out of memory for batches of %d images of "
		                 "%dx%dx%d", batch, channels, a->crop_h, a->crop_w);
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->work, NULL);
	pthread_cond_init(&l->done, NULL);
	for (; l->nthreads < threads; l->nthreads++)
		if (pthread_create(&l->threads[l->nthreads], NULL, worker, l) != 0)
			break;
	if (l->nthreads == 0) {
		vgg_loader_free(l);
		return vgg__fail(err, VGG_ENOMEM, "cannot start a loader thread");
	}
	*out = l;
	return VGG_OK;
}

/* Batch `b`'s slice for this shard: its positions lo .. hi - 1, counted from its first. */
static void slice(const vgg_loader *l, size_t b, size_t *lo, size_t *hi)
{
	size_t at = b * (size_t)l->batch, left = vgg_dataset_count(l->ds) - at;
	size_t m = left < (size_t)l->batch ? left : (size_t)l->batch;
	*lo = m * (size_t)l->rank / (size_t)l->ranks;
	*hi = m * (size_t)(l->rank + 1) / (size_t)l->ranks;
}

size_t vgg_loader_batches(const vgg_loader *l)
{
	return (vgg_dataset_count(l->ds) + (size_t)l->batch - 1) / (size_t)l->batch;
}

int vgg_loader_shard(vgg_loader *l, int rank, int ranks)
{
	if (ranks < 1 || rank < 0 || rank >= ranks)
		return VGG_ERANGE;
	pthread_mutex_lock(&l->lock);
	stop_epoch(l);
	l->rank = rank;
	l->ranks = ranks;
	pthread_mutex_unlock(&l->lock);
	return VGG_OK;
}

int vgg_loader_start(vgg_loader *l, uint64_t seed, int epoch, int train)
{
	if (epoch < 0)
		return VGG_ERANGE;
	size_t count = vgg_dataset_count(l->ds);
	pthread_mutex_lock(&l->lock);
	stop_epoch(l);
	if (train)
		vgg__rng_permutation(l->order, count, seed, (uint64_t)epoch, VGG__RNG_SHUFFLE);
	else
		for (size_t i = 0; i < count; i++)
			l->order[i] = i;
	l->positions = count;
	if (l->ranks > 1) {
		/* In place: a kept position never moves to the right. */
		size_t kept = 0, batches = vgg_loader_batches(l);
		for (size_t b = 0; b < batches; b++) {
			size_t lo, hi;
			slice(l, b, &lo, &hi);
			for (size_t i = lo; i < hi; i++)
				l->order[kept++] = l->order[b * (size_t)l->batch + i];
		}
		l->positions = kept;
	}
	for (size_t i = 0; i < l->nring; i++)
		l->ring[i].ready = 0;
	l->seed = seed;
	l->epoch = epoch;
	l->train = train != 0;
	l->taken = l->consumed = 0;
	l->next_batch = 0;
	l->running = 1;
	pthread_cond_broadcast(&l->work);
	pthread_mutex_unlock(&l->lock);
	return VGG_OK;
}

int vgg_loader_next(vgg_loader *l, const float **x, const int **labels, int *n,
                    vgg_error *err)
{
	int got = 0, rc = VGG_OK;
	*n = 0;
	pthread_mutex_lock(&l->lock);
	if (!l->running) {
		pthread_mutex_unlock(&l->lock);
		return vgg__fail(err, VGG_ERANGE, "the loader has no epoch: call vgg_loader_start");
	}
	/* Unsharded, a batch is filled from as far as the epoch goes; a shard's ends with its
	 * slice, which may come out short or empty. */
	size_t end = l->positions;
	if (l->ranks > 1) {
		end = l->consumed;
		if (l->next_batch < vgg_loader_batches(l)) {
			size_t lo, hi;
			slice(l, l->next_batch++, &lo, &hi);
			end += hi - lo;
		}
	}
	while (got < l->batch && l->consumed < end) {
		struct slot *s = &l->ring[l->consumed % l->nring];
		if (!s->ready) {
			/* Woken once for the rest of the batch, not for each image of it. */
			size_t last = l->consumed + (size_t)(l->batch - got) - 1;
			if (last >= end)
				last = end - 1;
			while (last > l->consumed && l->ring[last % l->nring].ready)
				last--;
			l->waiting = 1;
			l->wait_for = last;
			while (!l->ring[last % l->nring].ready)
				pthread_cond_wait(&l->done, &l->lock);
			l->waiting = 0;
			if (!s->ready)
				continue;
		}
		/* The slot is the caller's until it is marked free below. */
		pthread_mutex_unlock(&l->lock);
		if (s->status == VGG_ENOMEM) {
			rc = vgg__fail(err, VGG_ENOMEM, "%s", s->msg);
		} else if (s->status) {
			l->skipped++;
			memcpy(l->last_error, s->msg, sizeof l->last_error);
		} else {
			memcpy(l->x + (size_t)got * l->image_floats, s->x,
			       l->image_floats * sizeof *l->x);
			l->labels[got++] = vgg_dataset_label(l->ds, l->order[l->consumed]);
		}
		pthread_mutex_lock(&l->lock);
		if (rc)
			break;
		s->ready = 0;
		l->consumed++;
		if (l->idle)
			pthread_cond_signal(&l->work);
	}
	pthread_mutex_unlock(&l->lock);
	if (rc)
		return rc;
	*x = l->x;
	*labels = l->labels;
	*n = got;
	return VGG_OK;
}

size_t vgg_loader_skipped(const vgg_loader *l, const char **last_error)
{
	if (last_error)
		*last_error = l->skipped ? l->last_error : NULL;
	return l->skipped;
}
