/*
 * parallel.c: the library's threads.  Work is split into tasks that run on up to the
 * configured number of threads, the caller's among them; OpenBLAS runs single-threaded
 * inside them, so the cores are never asked for more threads than they have.
 */
#include <cblas.h>
#include <pthread.h>
#include <unistd.h>

#include "internal.h"

static int configured = 1;
/* Nonzero while a training pass runs (vgg__blas_hold). */
static int held;

void vgg_set_threads(int threads)
{
	if (threads <= 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cores > 0 ? (int)cores : 1;
	}
	configured = threads;
	openblas_set_num_threads(threads);
}

void vgg__blas_hold(int on)
{
	held = on;
	openblas_set_num_threads(on ? 1 : configured);
}

int vgg__threads(void)
{
	return configured;
}

struct task {
	void (*fn)(void *ctx, int i);
	void *ctx;
	int i;
};

static void *run_task(void *arg)
{
	struct task *t = arg;
	t->fn(t->ctx, t->i);
	return NULL;
}

void vgg__parallel(int n, void (*fn)(void *ctx, int i), void *ctx)
{
	if (n <= 1) {
		if (n == 1)
			fn(ctx, 0);
		return;
	}
	struct task tasks[VGG__MAX_THREADS];
	pthread_t ids[VGG__MAX_THREADS];
	int started[VGG__MAX_THREADS] = {0};
	if (n > VGG__MAX_THREADS)
		n = VGG__MAX_THREADS;
	openblas_set_num_threads(1);
	for (int i = 1; i < n; i++) {
		tasks[i] = (struct task){fn, ctx, i};
		started[i] = pthread_create(&ids[i], NULL, run_task, &tasks[i]) == 0;
		/* A thread that cannot start leaves its task to the caller. */
		if (!started[i])
			fn(ctx, i);
	}
	fn(ctx, 0);
	for (int i = 1; i < n; i++)
		if (started[i])
			pthread_join(ids[i], NULL);
	openblas_set_num_threads(held ? 1 : configured);
}
