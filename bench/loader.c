/* loader.c: times vgg_dataset_open and the loader's training epochs; bench/loader.sh runs it
 * on Fashion-MNIST's IDX files and on a directory of PNGs. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vgg.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: loader DATASET CROP PAD BATCH THREADS\n");
		return 2;
	}
	int crop = atoi(argv[2]), pad = atoi(argv[3]), batch = atoi(argv[4]);
	int threads = atoi(argv[5]);
	vgg_error err;
	vgg_dataset *ds;
	double t0 = now();
	if (vgg_dataset_open(argv[1], &ds, &err)) {
		fprintf(stderr, "loader: %s\n", err.msg);
		return 1;
	}
	double t_open = now() - t0;
	vgg_augment a = {.crop_h = crop, .crop_w = crop, .pad = pad, .flip = 1};
	vgg_preprocess_torchvision(&a.norm);
	vgg_loader *l;
	if (vgg_loader_new(ds, &a, 1, batch, threads, &l, &err)) {
		fprintf(stderr, "loader: %s\n", err.msg);
		return 1;
	}
	/* The caller's wait per batch, with nothing else to do: the cost of a batch when the
	 * workers cannot run ahead during a training step. */
	size_t images = 0;
	int batches = 0;
	t0 = now();
	vgg_loader_start(l, 1, 0, 1);
	for (;;) {
		const float *x;
		const int *labels;
		int n;
		if (vgg_loader_next(l, &x, &labels, &n, &err)) {
			fprintf(stderr, "loader: %s\n", err.msg);
			return 1;
		}
		if (!n)
			break;
		images += (size_t)n;
		batches++;
	}
	double t_epoch = now() - t0;
	printf("%zu images, open %.3f s; epoch %.3f s: %.0f images/s, %.2f ms per batch of %d "
	       "(%d threads)\n", images, t_open, t_epoch, images / t_epoch,
	       1000 * t_epoch / batches, batch, threads);
	vgg_loader_free(l);
	vgg_dataset_free(ds);
	return 0;
}
