/* fc.c: fc6 of a full-size VGG for one image (the GEMV that streams its weights) against a
 * memcpy of as many bytes; bench/predict.sh prints both rates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgg.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	enum { RUNS = 7 };
	if (argc != 3) {
		fprintf(stderr, "usage: fc WEIGHTS THREADS\n");
		return 2;
	}
	vgg_net *net;
	vgg_error err;
	vgg_set_threads(atoi(argv[2]));
	if (vgg_net_load(argv[1], &net, &err)) {
		fprintf(stderr, "fc: %s\n", err.msg);
		return 1;
	}
	int pool5 = vgg_net_layer_index(net, "pool5"), fc6 = vgg_net_layer_index(net, "fc6");
	size_t in = 512 * 7 * 7, bytes = in * 4096 * sizeof(float);
	float *x = calloc(in, sizeof *x);
	char *src = malloc(bytes), *dst = malloc(bytes);
	if (!x || !src || !dst || pool5 < 0 || fc6 < 0)
		return 1;
	memset(src, 1, bytes);
	memset(dst, 2, bytes);
	double gemv[RUNS], copy[RUNS];
	const float *y;
	int shape[4];
	/* Interleaved, the first of each (which maps the weights in) not counted. */
	for (int r = 0; r <= RUNS; r++) {
		double t0 = now();
		if (vgg_net_forward(net, x, 1, 512, 7, 7, 0, pool5, fc6, &y, shape, &err)) {
			fprintf(stderr, "fc: %s\n", err.msg);
			return 1;
		}
		double t1 = now();
		memcpy(dst, src, bytes);
		/* The copy is not to be optimised away: something might read dst. */
		__asm__ volatile("" : : "r"(dst) : "memory");
		double t2 = now();
		if (r > 0) {
			gemv[r - 1] = t1 - t0;
			copy[r - 1] = t2 - t1;
		}
	}
	qsort(gemv, RUNS, sizeof *gemv, by_value);
	qsort(copy, RUNS, sizeof *copy, by_value);
	printf("%.1f %.2f %.1f %.2f %d\n", gemv[RUNS / 2] * 1e3, (double)bytes / gemv[RUNS / 2] * 1e-9,
	       copy[RUNS / 2] * 1e3, (double)bytes / copy[RUNS / 2] * 1e-9, (int)(bytes >> 20));
	free(x);
	free(src);
	free(dst);
	vgg_net_free(net);
	return 0;
}
