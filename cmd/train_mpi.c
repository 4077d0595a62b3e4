/*
 * train_mpi.c: vgg-train's ranks over MPI (see train_mpi.h).  Only this file includes
 * mpi.h; vgg-train.c sees train_mpi.h, and the library stays free of MPI.
 *
 * The gradients are summed in buckets by a sender thread: the trainer announces each
 * layer's gradients as its backward pass finishes them (vgg_trainer_on_gradient_ready),
 * top layer first, and the sender sums every bucket that is wholly done while the layers
 * below still work.  VGG's fully connected layers hold nine tenths of its parameters and
 * finish first, so most of the traffic overlaps the convolutions' backward pass.  That
 * pays when the network moves the bytes while the cores compute; ranks that share a
 * machine sum through shared memory, by copies that take the cores from the backward
 * pass (and Open MPI spins while it waits for the others), so by default they sum after
 * it: on two ranks of two cores VGG-16 trained 8 to 18% faster so (doc/distributed.md).
 * The buckets are cut the same way on every rank, from the end of the array, so every
 * rank makes the same MPI_Allreduce calls in the same order.  MPI is called by one thread
 * at a time (MPI_THREAD_SERIALIZED): the sender during a step, the main thread between
 * steps.
 */
#include <mpi.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "train_mpi.h"

/* 25 MB of floats, as PyTorch's DistributedDataParallel buckets: big enough to run at the
 * network's bandwidth, small enough that the top layers' buckets go out while the layers
 * below are still at work. */
#define BUCKET ((size_t)25 * 1000 * 1000 / sizeof(float))

static struct {
	int rank, ranks, local;
	int joined;                /* MPI_Init done, MPI_Finalize not yet */
	int overlap;               /* sum during the backward pass */
	pthread_t sender;          /* with several ranks */
	pthread_mutex_t lock;
	pthread_cond_t change;     /* `ready` fell, a step began or ended, or quit */
	int quit;
	/* The step in progress: set under `lock` before it, then `ready`, `sent` and `busy`
	 * change under it. */
	int busy;                  /* buckets are still to be summed */
	float *grads;
	size_t ready;              /* grads[ready ..] are done */
	size_t sent;               /* grads[sent ..] are summed */
	float scale;               /* this rank's weight, n / total */
	double seconds;            /* spent in MPI_Allreduce */
} mpi = {.rank = 0, .ranks = 1, .local = 1};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void abort_job(int status)
{
	if (mpi.joined)
		MPI_Abort(MPI_COMM_WORLD, status);
}

/* The tasks of a Slurm step that srun started itself, not through mpirun; 0 if none. */
static int srun_tasks(void)
{
	const char *tasks = getenv("SLURM_STEP_NUM_TASKS");
	if (!tasks || getenv("OMPI_COMM_WORLD_SIZE"))
		return 0;
	char *end;
	long n = strtol(tasks, &end, 10);
	return end != tasks && !*end && n > 0 && n < 1 << 30 ? (int)n : 0;
}

/* A launcher's environment: Open MPI's mpirun, a PMIx or PMI server (srun --mpi=...), or
 * a Slurm step of several tasks, which must not run as that many lone trainers. */
static int launched(void)
{
	return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK") ||
	       srun_tasks() > 1;
}

static void *send_buckets(void *arg);

void train_mpi_start(int *argc, char ***argv, enum train_mpi_overlap overlap)
{
	if (!launched())
		return;
	int level, tasks = srun_tasks();
	if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &level) != MPI_SUCCESS)
		cli_fail("cannot join the MPI job");
	mpi.joined = 1;
	cli_exit_hook = abort_job;
	MPI_Comm_rank(MPI_COMM_WORLD, &mpi.rank);
	MPI_Comm_size(MPI_COMM_WORLD, &mpi.ranks);
	/* Without a PMI that MPI speaks, srun's tasks come up as lone processes of one rank. */
	if (tasks > 1 && mpi.ranks != tasks)
		cli_fail("srun started %d tasks, but MPI sees %d: try srun --mpi=pmix, or mpirun",
		         tasks, mpi.ranks);
	MPI_Comm node;
	MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
	MPI_Comm_size(node, &mpi.local);
	MPI_Comm_free(&node);
	mpi.overlap = overlap == TRAIN_MPI_AUTO ? mpi.local == 1 : overlap == TRAIN_MPI_OVERLAP;
	if (mpi.ranks == 1)
		return;
	if (level < MPI_THREAD_SERIALIZED)
		cli_fail("this MPI cannot be called from a second thread (MPI_THREAD_SERIALIZED)");
	pthread_mutex_init(&mpi.lock, NULL);
	pthread_cond_init(&mpi.change, NULL);
	if (pthread_create(&mpi.sender, NULL, send_buckets, NULL))
		cli_fail("cannot start the thread that sums the gradients");
}

int train_mpi_rank(void)
{
	return mpi.rank;
}

int train_mpi_ranks(void)
{
	return mpi.ranks;
}

int train_mpi_local_ranks(void)
{
	return mpi.local;
}

void train_mpi_sum(double *v, int n)
{
	if (mpi.ranks > 1)
		MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

void train_mpi_average(float *v, size_t n)
{
	if (mpi.ranks == 1 || n == 0)
		return;
	for (size_t at = 0; at < n; at += BUCKET) {
		int len = (int)(n - at < BUCKET ? n - at : BUCKET);
		MPI_Allreduce(MPI_IN_PLACE, v + at, len, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
	}
	for (size_t i = 0; i < n; i++)
		v[i] /= (float)mpi.ranks;
}

/* The bucket that ends where the summed part begins. */
static size_t bucket_start(size_t sent)
{
	return sent > BUCKET ? sent - BUCKET : 0;
}

/* Weights grads[start .. end) and sums them over the ranks, on the sender thread. */
static void sum_bucket(size_t start, size_t end)
{
	float *g = mpi.grads;
	for (size_t i = start; i < end; i++)
		g[i] *= mpi.scale;
	double t0 = now();
	MPI_Allreduce(MPI_IN_PLACE, g + start, (int)(end - start), MPI_FLOAT, MPI_SUM,
	              MPI_COMM_WORLD);
	mpi.seconds += now() - t0;
}

static void *send_buckets(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mpi.lock);
	for (;;) {
		while (!mpi.quit && !(mpi.busy && mpi.ready <= bucket_start(mpi.sent)))
			pthread_cond_wait(&mpi.change, &mpi.lock);
		if (mpi.quit)
			break;
		size_t end = mpi.sent, start = bucket_start(end);
		pthread_mutex_unlock(&mpi.lock);
		sum_bucket(start, end);
		pthread_mutex_lock(&mpi.lock);
		mpi.sent = start;
		if (start == 0) {
			mpi.busy = 0;
			pthread_cond_broadcast(&mpi.change);
		}
	}
	pthread_mutex_unlock(&mpi.lock);
	return NULL;
}

/* The trainer's announcement, on the main thread: wake the sender for a bucket now done. */
static void gradient_ready(void *ctx, size_t from)
{
	(void)ctx;
	pthread_mutex_lock(&mpi.lock);
	mpi.ready = from;
	if (from <= bucket_start(mpi.sent))
		pthread_cond_broadcast(&mpi.change);
	pthread_mutex_unlock(&mpi.lock);
}

int train_mpi_gradients(vgg_trainer *t, const float *x, const int *labels, int n,
                        long total, uint64_t seed, double *loss, int *correct,
                        struct train_mpi_times *times, vgg_error *err)
{
	*times = (struct train_mpi_times){0, 0};
	if (mpi.ranks == 1)
		return vgg_trainer_gradients(t, x, labels, n, seed, loss, correct, err);
	size_t count;
	float *g = vgg_trainer_gradient_data(t, &count);
	pthread_mutex_lock(&mpi.lock);
	mpi.grads = g;
	mpi.ready = mpi.sent = count;
	mpi.scale = (float)n / (float)total;
	mpi.seconds = 0;
	mpi.busy = 1;
	pthread_mutex_unlock(&mpi.lock);
	int rc = VGG_OK;
	if (n > 0) {
		if (mpi.overlap)
			vgg_trainer_on_gradient_ready(t, gradient_ready, NULL);
		rc = vgg_trainer_gradients(t, x, labels, n, seed, loss, correct, err);
		vgg_trainer_on_gradient_ready(t, NULL, NULL);
	} else {
		memset(g, 0, count * sizeof *g);
		*loss = 0;
		*correct = 0;
	}
	if (rc)
		return rc;
	/* Whatever the backward pass did not announce (all of it when not overlapping, layers
	 * below the lowest trained one, a share of no images) is done now. */
	double t0 = now();
	pthread_mutex_lock(&mpi.lock);
	mpi.ready = 0;
	pthread_cond_broadcast(&mpi.change);
	while (mpi.busy)
		pthread_cond_wait(&mpi.change, &mpi.lock);
	pthread_mutex_unlock(&mpi.lock);
	times->wait = now() - t0;
	times->sum = mpi.seconds;
	return VGG_OK;
}

void train_mpi_finish(void)
{
	if (!mpi.joined)
		return;
	if (mpi.ranks > 1) {
		pthread_mutex_lock(&mpi.lock);
		mpi.quit = 1;
		pthread_cond_broadcast(&mpi.change);
		pthread_mutex_unlock(&mpi.lock);
		pthread_join(mpi.sender, NULL);
	}
	MPI_Finalize();
	mpi.joined = 0;
}
