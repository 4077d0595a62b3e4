/*
 * test_loader.c: batches from worker threads: the same bytes at every thread count, each
 * image once an epoch, a new order each epoch, the evaluation path in the dataset's order,
 * undecodable images passed over and counted, shards that split every batch, and the calls
 * it refuses.
 */
#include <stdint.h>
#include <stdlib.h>

#include "preprocess.h"
#include "tap.h"
#include "testdata.h"
#include "traindata.h"

static char path[4096];

/* 50 gray 6x6 images, image i's first pixel i and the others a pattern of i; labels i % 3. */
static vgg_dataset *numbered(void)
{
	unsigned char px[50 * 36], lab[50];
	for (int i = 0; i < 50; i++) {
		lab[i] = (unsigned char)(i % 3);
		for (int k = 0; k < 36; k++)
			px[i * 36 + k] = (unsigned char)(k ? (i * 37 + k * 11) % 251 : i);
	}
	scratch_idx(path, sizeof path, "n/n-labels-idx1-ubyte", 1, (const unsigned[]){50}, lab,
	            50, 0);
	scratch_idx(path, sizeof path, "n/n-images-idx3-ubyte", 3, (const unsigned[]){50, 6, 6},
	            px, sizeof px, 0);
	vgg_dataset *ds = NULL;
	vgg_error err = {0};
	if (vgg_dataset_open(path, &ds, &err))
		printf("# %s\n", err.msg);
	return ds;
}

/* Everything an epoch gives: the batches' floats and labels back to back, and sizes. */
struct epoch {
	float *x;
	int *labels;
	int sizes[64];
	int batches;
	size_t images;
};

static void epoch_free(struct epoch *e)
{
	free(e->x);
	free(e->labels);
}

static int run_epoch(vgg_loader *l, size_t floats, size_t count, uint64_t seed, int epoch,
                     int train, struct epoch *e)
{
	memset(e, 0, sizeof *e);
	e->x = malloc(count * floats * sizeof *e->x);
	e->labels = malloc(count * sizeof *e->labels);
	if (!e->x || !e->labels || vgg_loader_start(l, seed, epoch, train))
		return 0;
	for (;;) {
		const float *x;
		const int *labels;
		int n;
		vgg_error err = {0};
		if (vgg_loader_next(l, &x, &labels, &n, &err)) {
			printf("# %s\n", err.msg);
			return 0;
		}
		if (n == 0 || e->batches == 64 || e->images + (size_t)n > count)
			return n == 0;
		memcpy(e->x + e->images * floats, x, (size_t)n * floats * sizeof *x);
		memcpy(e->labels + e->images, labels, (size_t)n * sizeof *labels);
		e->images += (size_t)n;
		e->sizes[e->batches++] = n;
	}
}

/* A shard's epoch: exactly vgg_loader_batches batches, empty ones too. */
static int run_shard(vgg_loader *l, size_t floats, size_t count, uint64_t seed, int train,
                     struct epoch *e)
{
	memset(e, 0, sizeof *e);
	e->x = malloc(count * floats * sizeof *e->x);
	e->labels = malloc(count * sizeof *e->labels);
	if (!e->x || !e->labels || vgg_loader_start(l, seed, 0, train))
		return 0;
	size_t batches = vgg_loader_batches(l);
	for (size_t b = 0; b < batches && b < 64; b++) {
		const float *x;
		const int *labels;
		int n;
		vgg_error err = {0};
		if (vgg_loader_next(l, &x, &labels, &n, &err) || e->images + (size_t)n > count)
			return 0;
		memcpy(e->x + e->images * floats, x, (size_t)n * floats * sizeof *x);
		memcpy(e->labels + e->images, labels, (size_t)n * sizeof *labels);
		e->images += (size_t)n;
		e->sizes[e->batches++] = n;
	}
	const float *x;
	const int *labels;
	int n = -1;
	return !vgg_loader_next(l, &x, &labels, &n, NULL) && n == 0;
}

static int same_epoch(const struct epoch *a, const struct epoch *b, size_t floats)
{
	return a->images == b->images && a->batches == b->batches &&
	       memcmp(a->sizes, b->sizes, sizeof a->sizes) == 0 &&
	       memcmp(a->labels, b->labels, a->images * sizeof *a->labels) == 0 &&
	       memcmp(a->x, b->x, a->images * floats * sizeof *a->x) == 0;
}

static vgg_augment augment_gray(void)
{
	vgg_augment a = {.crop_h = 6, .crop_w = 6, .pad = 2, .flip = 1};
	vgg_preprocess_torchvision(&a.norm);
	return a;
}

static void test_threads(void)
{
	vgg_dataset *ds = numbered();
	if (!ds)
		return;
	vgg_augment a = augment_gray();
	size_t floats = 36;
	struct epoch ref[2], e;
	int threads[] = {1, 2, 5, 0}, ok[2] = {1, 1};
	for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
		vgg_loader *l;
		vgg_error err = {0};
		if (vgg_loader_new(ds, &a, 1, 8, threads[t], &l, &err)) {
			CHECK(0, "loader with %d threads", threads[t]);
			printf("#   %s\n", err.msg);
			continue;
		}
		for (int epoch = 0; epoch < 2; epoch++) {
			struct epoch *dst = t == 0 ? &ref[epoch] : &e;
			int done = run_epoch(l, floats, 50, 11, epoch, 1, dst);
			if (t == 0) {
				ok[epoch] &= done;
				continue;
			}
			ok[epoch] &= done && same_epoch(&ref[epoch], &e, floats);
			epoch_free(&e);
		}
		vgg_loader_free(l);
	}
	CHECK(ok[0] && ok[1], "loader: the same batches with 1, 2, 5 and one-per-core threads");
	CHECK(ref[0].images == 50 && ref[0].batches == 7 && ref[0].sizes[0] == 8 &&
	      ref[0].sizes[6] == 2, "loader: 50 images in 6 batches of 8 and one of 2");
	int counts[3] = {0};
	for (size_t i = 0; i < ref[0].images; i++)
		counts[ref[0].labels[i] % 3]++;
	CHECK(counts[0] == 17 && counts[1] == 17 && counts[2] == 16,
	      "loader: each image once in an epoch");
	CHECK(memcmp(ref[0].labels, ref[1].labels, 50 * sizeof(int)) != 0,
	      "loader: another epoch, another order");

	/* Restarting the same epoch midway gives it again from its start. */
	vgg_loader *l;
	if (!vgg_loader_new(ds, &a, 1, 8, 3, &l, NULL)) {
		const float *x;
		const int *labels;
		int n;
		vgg_loader_start(l, 11, 0, 1);
		vgg_loader_next(l, &x, &labels, &n, NULL);
		vgg_loader_next(l, &x, &labels, &n, NULL);
		int again = run_epoch(l, floats, 50, 11, 0, 1, &e) && same_epoch(&ref[0], &e, floats);
		CHECK(again, "loader: a restarted epoch starts over");
		epoch_free(&e);

		/* The evaluation path, in order: what vgg__augment_image gives each image. */
		int in_order = run_epoch(l, floats, 50, 99, 0, 0, &e) && e.images == 50;
		for (size_t i = 0; in_order && i < 50; i++) {
			vgg_image *img;
			float want[36];
			in_order = !vgg_dataset_image(ds, i, &img, NULL) &&
			           !vgg__augment_image(&a, img, 1, NULL, want, NULL) &&
			           memcmp(want, e.x + i * 36, sizeof want) == 0 &&
			           e.labels[i] == (int)i % 3;
			vgg_image_free(img);
		}
		CHECK(in_order, "loader: evaluation in the dataset's order, as vgg_preprocess_image");
		epoch_free(&e);
		vgg_loader_free(l);
	}
	epoch_free(&ref[0]);
	epoch_free(&ref[1]);
	vgg_dataset_free(ds);
}

/* The committed directory of RGB and gray images, in RGB nets with every augmentation. */
static void test_colour_threads(void)
{
	char p[4096];
	vgg_dataset *ds;
	if (vgg_dataset_open(test_data_path(p, sizeof p, "train/dir"), &ds, NULL)) {
		CHECK(0, "the committed dir opens");
		return;
	}
	vgg_augment a = {.crop_h = 12, .crop_w = 10, .scale_min = 12, .scale_max = 20, .pad = 1,
	                 .flip = 1, .colour = 0.1f};
	vgg_preprocess_torchvision(&a.norm);
	if (vgg_dataset_stats(ds, 0, 0, a.norm.mean, a.norm.std, a.eigval, a.eigvec, NULL))
		return;
	size_t floats = 3 * 12 * 10;
	struct epoch e[2];
	int ok = 1;
	for (int t = 0; t < 2; t++) {
		vgg_loader *l;
		ok &= !vgg_loader_new(ds, &a, 3, 5, t ? 4 : 1, &l, NULL) &&
		      run_epoch(l, floats, 12, 3, 2, 1, &e[t]);
		vgg_loader_free(l);
	}
	CHECK(ok && e[0].images == 12 && same_epoch(&e[0], &e[1], floats),
	      "loader: colour, scale jittering and flips the same at 1 and 4 threads");
	epoch_free(&e[0]);
	epoch_free(&e[1]);
	vgg_dataset_free(ds);
}

static void test_skipped(void)
{
	char text[4096] = "";
	unsigned char px[3 * 4 * 3];
	for (int i = 0; i < 10; i++) {
		char name[32];
		snprintf(name, sizeof name, "skip/%d.ppm", i);
		memset(px, 20 * i, sizeof px);
		if (i == 3 || i == 7)
			scratch_write(path, sizeof path, name, "P6\n3 4\n255\n", 11, 0);
		else
			scratch_pnm(path, sizeof path, name, 3, 4, 3, px);
		snprintf(text + strlen(text), sizeof text - strlen(text), "%d.ppm %d\n", i, i);
	}
	scratch_write(path, sizeof path, "skip/list", text, strlen(text), 0);
	vgg_dataset *ds;
	vgg_loader *l;
	if (vgg_dataset_open(path, &ds, NULL))
		return;
	vgg_augment a = {.crop_h = 4, .crop_w = 3};
	vgg_preprocess_torchvision(&a.norm);
	const char *msg = "";
	if (vgg_loader_new(ds, &a, 3, 4, 3, &l, NULL)) {
		vgg_dataset_free(ds);
		return;
	}
	CHECK(vgg_loader_skipped(l, &msg) == 0 && msg == NULL, "skipped: none at first");
	struct epoch e;
	int done = run_epoch(l, 3 * 4 * 3, 10, 0, 0, 0, &e);
	static const int want[8] = {0, 1, 2, 4, 5, 6, 8, 9};
	CHECK(done && e.batches == 2 && e.sizes[0] == 4 && e.sizes[1] == 4 &&
	      memcmp(e.labels, want, sizeof want) == 0,
	      "skipped: batches filled with the images after the bad ones");
	size_t n = vgg_loader_skipped(l, &msg);
	CHECK(n == 2 && msg && strstr(msg, "skip/7.ppm"),
	      "skipped: 2 counted, the last message names its file");
	if (msg)
		printf("#   %s\n", msg);
	epoch_free(&e);
	done = run_epoch(l, 3 * 4 * 3, 10, 0, 1, 1, &e);
	CHECK(done && e.images == 8 && vgg_loader_skipped(l, NULL) == 4,
	      "skipped: again in the next epoch, counted on");
	epoch_free(&e);
	/* The second of two shards holds the bad images: its shares come out short. */
	static const int second[3] = {2, 6, 9};
	done = !vgg_loader_shard(l, 1, 2) && run_shard(l, 3 * 4 * 3, 10, 0, 0, &e);
	CHECK(done && e.batches == 3 && e.sizes[0] == 1 && e.sizes[1] == 1 && e.sizes[2] == 1 &&
	      memcmp(e.labels, second, sizeof second) == 0,
	      "skipped: a shard's share is not filled from the next batch's images");
	epoch_free(&e);
	vgg_loader_free(l);
	vgg_dataset_free(ds);
}

/* Three shards of batches of 8 from 50 images: 2, 3 and 3 images of each full batch, 0, 1
 * and 1 of the last, which together are the unsharded loader's batches, image for image. */
static void test_shard(void)
{
	vgg_dataset *ds = numbered();
	if (!ds)
		return;
	vgg_augment a = augment_gray();
	size_t floats = 36;
	struct epoch whole, part[3];
	vgg_loader *l;
	if (vgg_loader_new(ds, &a, 1, 8, 2, &l, NULL)) {
		vgg_dataset_free(ds);
		return;
	}
	int ok = run_epoch(l, floats, 50, 11, 0, 1, &whole);
	for (int r = 0; r < 3; r++)
		ok &= !vgg_loader_shard(l, r, 3) && run_shard(l, floats, 50, 11, 1, &part[r]);
	CHECK(ok && vgg_loader_batches(l) == 7, "shard: three shards of an epoch of 7 batches");
	static const int sizes[3][7] = {{2, 2, 2, 2, 2, 2, 0}, {3, 3, 3, 3, 3, 3, 1},
	                                {3, 3, 3, 3, 3, 3, 1}};
	int same = ok, sized = ok;
	size_t at[3] = {0}, w = 0;
	for (int b = 0; ok && b < 7; b++)
		for (int r = 0; r < 3; r++) {
			int n = part[r].sizes[b];
			sized &= n == sizes[r][b];
			same &= memcmp(part[r].labels + at[r], whole.labels + w, (size_t)n * sizeof(int)) == 0 &&
			        memcmp(part[r].x + at[r] * floats, whole.x + w * floats,
			               (size_t)n * floats * sizeof(float)) == 0;
			at[r] += (size_t)n;
			w += (size_t)n;
		}
	CHECK(sized, "shard: shares differ by one image at most; the last batch's first is empty");
	CHECK(same && w == 50, "shard: the shares of a batch, in rank order, are the whole batch");
	for (int r = 0; r < 3; r++)
		epoch_free(&part[r]);
	CHECK(vgg_loader_shard(l, 3, 3) == VGG_ERANGE && vgg_loader_shard(l, 0, 0) == VGG_ERANGE &&
	      vgg_loader_shard(l, -1, 2) == VGG_ERANGE, "shard: refused outside 0 <= rank < ranks");
	struct epoch again;
	ok = !vgg_loader_shard(l, 0, 1) && run_epoch(l, floats, 50, 11, 0, 1, &again) &&
	     same_epoch(&whole, &again, floats);
	CHECK(ok, "shard: one rank is the unsharded loader again");
	epoch_free(&again);
	epoch_free(&whole);
	vgg_loader_free(l);
	vgg_dataset_free(ds);
}

static void test_refused(void)
{
	vgg_dataset *ds = numbered();
	if (!ds)
		return;
	vgg_augment a = augment_gray();
	vgg_loader *l = NULL;
	vgg_error err = {0};
	CHECK(vgg_loader_new(ds, &a, 1, 0, 1, &l, &err) == VGG_ERANGE && !l &&
	      strstr(err.msg, "batch of 0"), "refused: a batch of 0");
	CHECK(vgg_loader_new(ds, &a, 1, 4, -1, &l, &err) == VGG_ERANGE && !l,
	      "refused: -1 threads");
	CHECK(vgg_loader_new(ds, &a, 2, 4, 1, &l, &err) == VGG_ERANGE && !l &&
	      strstr(err.msg, "2 input channels"), "refused: 2 channels");
	a.crop_w = 0;
	CHECK(vgg_loader_new(ds, &a, 1, 4, 1, &l, &err) == VGG_ERANGE && !l,
	      "refused: no crop size");
	a.crop_w = 6;
	if (!vgg_loader_new(ds, &a, 1, 4, 1, &l, NULL)) {
		const float *x;
		const int *labels;
		int n = -1;
		CHECK(vgg_loader_next(l, &x, &labels, &n, &err) == VGG_ERANGE && n == 0 &&
		      strstr(err.msg, "vgg_loader_start"), "refused: a batch before an epoch");
		CHECK(vgg_loader_start(l, 0, -1, 1) == VGG_ERANGE, "refused: epoch -1");
		vgg_loader_free(l);
	}
	vgg_loader_free(NULL);
	vgg_dataset_free(ds);
}

int main(void)
{
	scratch_new();
	test_threads();
	test_colour_threads();
	test_skipped();
	test_shard();
	test_refused();
	scratch_done();
	return tap_done();
}
