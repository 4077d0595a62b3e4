/* train_step.c: times vgg_trainer_gradients + update on random batches; bench/train.sh runs
 * it beside PyTorch doing the same steps. */
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
	if (argc != 5) {
		fprintf(stderr, "usage: train_step CONFIG BATCH STEPS THREADS\n");
		return 2;
	}
	int batch = atoi(argv[2]), steps = atoi(argv[3]);
	vgg_config *cfg;
	vgg_trainer *t;
	vgg_error err;
	vgg_set_threads(atoi(argv[4]));
	if (vgg_config_load(argv[1], &cfg, &err) || vgg_trainer_new(cfg, &t, &err)) {
		fprintf(stderr, "train_step: %s\n", err.msg);
		return 1;
	}
	int c, h, w, classes = vgg_config_classes(cfg);
	vgg_config_input(cfg, &c, &h, &w);
	size_t n = (size_t)batch * (size_t)c * (size_t)h * (size_t)w;
	float *x = malloc(n * sizeof *x);
	int *labels = malloc((size_t)batch * sizeof *labels);
	if (!x || !labels)
		return 1;
	srand(1);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)rand() / RAND_MAX - 0.5f;
	for (int i = 0; i < batch; i++)
		labels[i] = i % classes;
	const vgg_sgd sgd = {0.01f, 0.9f, 5e-4f};
	double best = 1e30;
	for (int s = 0; s <= steps; s++) {
		double t0 = now(), loss;
		int correct;
		if (vgg_trainer_gradients(t, x, labels, batch, (uint64_t)s, &loss, &correct, &err)) {
			fprintf(stderr, "train_step: %s\n", err.msg);
			return 1;
		}
		vgg_trainer_update(t, &sgd);
		double dt = now() - t0;
		/* The first step allocates the activations: not counted. */
		if (s > 0 && dt < best)
			best = dt;
	}
	printf("%.0f\n", batch / best);
	free(x);
	free(labels);
	vgg_trainer_free(t);
	vgg_config_free(cfg);
	return 0;
}
