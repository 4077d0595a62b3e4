/* forward.c: times vgg_net_forward on random inputs, the median of RUNS passes after one
 * not counted, in ms per image; bench/predict.sh runs it beside PyTorch. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#include "vgg.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: forward WEIGHTS BATCH RUNS THREADS\n");
		return 2;
	}
	int batch = atoi(argv[2]), runs = atoi(argv[3]);
	if (batch < 1 || runs < 1) {
		fprintf(stderr, "forward: BATCH and RUNS are at least 1\n");
		return 2;
	}
	vgg_net *net;
	vgg_error err;
	vgg_set_threads(atoi(argv[4]));
	if (vgg_net_load(argv[1], &net, &err)) {
		fprintf(stderr, "forward: %s\n", err.msg);
		return 1;
	}
	int c, h, w, shape[4];
	vgg_config_input(vgg_net_config(net), &c, &h, &w);
	size_t n = (size_t)batch * (size_t)c * (size_t)h * (size_t)w;
	float *x = malloc(n * sizeof *x);
	double *times = malloc((size_t)runs * sizeof *times);
	if (!x || !times)
		return 1;
	srand(1);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)rand() / RAND_MAX - 0.5f;
	const float *y;
	for (int r = 0; r <= runs; r++) {
		double t0 = now();
		if (vgg_net_forward(net, x, batch, c, h, w, 0, -1, -1, &y, shape, &err)) {
			fprintf(stderr, "forward: %s\n", err.msg);
			return 1;
		}
		double t = now() - t0;
		/* The first run warms caches and page-ins the mapped weights: not counted. */
		if (r > 0)
			times[r - 1] = t;
	}
	qsort(times, (size_t)runs, sizeof *times, by_value);
	printf("%.2f\n", times[runs / 2] * 1000 / batch);
	free(times);
	free(x);
	vgg_net_free(net);
	return 0;
}
