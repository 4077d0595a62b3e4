/*
 * test_winograd.c: the Winograd convolution (winograd.c) against the definition, a plain
 * loop in double, and against im2col (conv.c); odd sizes, channel counts that are not
 * multiples of the vector width, batches, threads, with and without the ReLU; and a
 * reduced VGG-16's logits by both paths.
 */
#include <stdlib.h>
#include <unistd.h>

#include "layers.h"
#include "tap.h"
#include "testdata.h"
#include "vgg.h"

static float urand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* out[i][k][y][x] = bias[k] + the sum over c, dy, dx of weight * in, zero-padded by one. */
static void naive(const struct vgg__conv *c, const float *in, int n, int h, int w, float *out)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < c->out_c; k++)
			for (int y = 0; y < h; y++)
				for (int x = 0; x < w; x++) {
					double sum = c->bias[k];
					for (int ch = 0; ch < c->in_c; ch++)
						for (int dy = 0; dy < 3; dy++)
							for (int dx = 0; dx < 3; dx++) {
								int sy = y + dy - 1, sx = x + dx - 1;
								if (sy < 0 || sy >= h || sx < 0 || sx >= w)
									continue;
								sum += (double)c->weight[((size_t)(k * c->in_c + ch) * 3 +
								                          (size_t)dy) * 3 + (size_t)dx] *
								       in[(((size_t)i * (size_t)c->in_c + (size_t)ch) *
								           (size_t)h + (size_t)sy) * (size_t)w + (size_t)sx];
							}
					if (c->relu && sum < 0)
						sum = 0;
					out[(((size_t)i * (size_t)c->out_c + (size_t)k) * (size_t)h + (size_t)y) *
					    (size_t)w + (size_t)x] = (float)sum;
				}
}

/* Every buffer is malloc'd at exactly its size, so that the sanitizers see any overrun. */
static void check_case(int n, int in_c, int out_c, int h, int w, int relu, int threads)
{
	unsigned seed = (unsigned)(n * 7919 + in_c * 104729 + out_c * 31 + h * 17 + w);
	size_t nw = (size_t)out_c * (size_t)in_c * 9, nx = (size_t)n * (size_t)in_c * (size_t)h *
	            (size_t)w, ny = (size_t)n * (size_t)out_c * (size_t)h * (size_t)w;
	float *weight = malloc(nw * sizeof *weight), *bias = malloc((size_t)out_c * sizeof *bias);
	float *x = malloc(nx * sizeof *x), *want = malloc(ny * sizeof *want);
	float *got = malloc(ny * sizeof *got), *ref = malloc(ny * sizeof *ref);
	for (size_t i = 0; i < nw; i++)
		weight[i] = urand(&seed) * 0.5f;
	for (int i = 0; i < out_c; i++)
		bias[i] = urand(&seed);
	for (size_t i = 0; i < nx; i++)
		x[i] = urand(&seed) * 4;
	struct vgg__conv c = {in_c, out_c, 3, 3, 1, relu, weight, bias};
	vgg_set_threads(threads);
	size_t ns = vgg__winograd_scratch(&c, n, h, w), ni = vgg__conv_scratch(&c, h, w);
	float *scratch = malloc(ns * sizeof *scratch), *iscratch = malloc((ni ? ni : 1) * sizeof *iscratch);
	naive(&c, x, n, h, w, want);
	vgg__winograd_forward(&c, x, n, h, w, got, scratch);
	vgg__conv_forward(&c, x, n, h, w, ref, iscratch);
	double e = test_rel_error(got, want, ny), ei = test_rel_error(got, ref, ny);
	CHECK(e < 1e-5, "%dx%d, %d to %d channels, batch %d, %d thread%s, %s: relative error %.2g",
	      h, w, in_c, out_c, n, threads, threads > 1 ? "s" : "", relu ? "ReLU" : "no ReLU", e);
	CHECK(ei < 1e-5, "%dx%d, %d to %d channels, batch %d: im2col agrees (%.2g)", h, w, in_c,
	      out_c, n, ei);
	free(weight);
	free(bias);
	free(x);
	free(want);
	free(got);
	free(ref);
	free(scratch);
	free(iscratch);
	vgg_set_threads(1);
}

static void test_kernel(void)
{
	check_case(1, 8, 8, 4, 4, 0, 1);
	check_case(1, 9, 13, 5, 7, 1, 1);
	check_case(2, 13, 21, 13, 11, 0, 2);
	check_case(3, 21, 10, 13, 11, 1, 2);
	check_case(1, 3, 5, 1, 1, 1, 1);
	check_case(2, 17, 24, 2, 3, 0, 2);
	/* 18 tiles a row (groups of 8 and a last of 2), 300 output channels over threads and
	 * k-blocks of 128. */
	check_case(1, 12, 300, 9, 70, 1, 2);
	/* Enough channels and columns that the tiles take two blocks (11 and 4 tile rows). */
	check_case(1, 200, 5, 60, 100, 1, 2);
}

static void test_dispatch(void)
{
	struct vgg__conv c3 = {64, 64, 3, 3, 1, 1, NULL, NULL}, c1 = {64, 64, 1, 1, 0, 1, NULL, NULL};
	struct vgg__conv first = {3, 64, 3, 3, 1, 1, NULL, NULL};
	CHECK(vgg__winograd_use(&c3, 1, 224, 224), "a 3x3 conv of 64 channels takes Winograd");
	CHECK(!vgg__winograd_use(&c1, 1, 224, 224), "a 1x1 conv does not");
	CHECK(!vgg__winograd_use(&first, 1, 224, 224), "nor one of 3 input channels");
	CHECK(!vgg__winograd_use(&c3, 1, 14, 14), "nor a 14x14 input alone (16 tiles)");
	CHECK(vgg__winograd_use(&c3, 2, 14, 14), "but two of them do");
	setenv("VGG_CONV", "im2col", 1);
	CHECK(!vgg__winograd_use(&c3, 1, 224, 224), "VGG_CONV=im2col turns it off");
	unsetenv("VGG_CONV");
}

/* VGG-16 an eighth as wide at 112x112, Kaiming-initialised as vgg-train starts: its
 * logits by Winograd and by im2col. */
static void test_vgg16(void)
{
	static const char text[] = "input 112x112x3\nconv3-8\nconv3-8\nmaxpool\nconv3-16\n"
	                           "conv3-16\nmaxpool\nconv3-32\nconv3-32\nconv3-32\nmaxpool\n"
	                           "conv3-64\nconv3-64\nconv3-64\nmaxpool\nconv3-64\nconv3-64\n"
	                           "conv3-64\nmaxpool\nFC-128\nFC-128\nFC-100\nsoft-max\n";
	char path[] = "/tmp/vgg-test-winograd.XXXXXX";
	vgg_config *cfg = NULL;
	vgg_trainer *t = NULL;
	vgg_weights_writer *wr = vgg_weights_writer_new();
	vgg_net *net = NULL;
	vgg_error err;
	int fd = mkstemp(path);
	int rc = fd < 0 || !wr || vgg_config_parse(text, "test", &cfg, &err) ||
	         vgg_trainer_new(cfg, &t, &err) || vgg_trainer_write(t, wr, 0, &err) ||
	         vgg_weights_writer_meta(wr, "vgg.config", text, &err) ||
	         vgg_weights_writer_write(wr, path, &err) || vgg_net_load(path, &net, &err);
	CHECK(!rc, "a reduced VGG-16 with random weights loads");
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	const int n = 2;
	size_t len = (size_t)n * 3 * 112 * 112;
	float *x = malloc(len * sizeof *x), *wino = malloc((size_t)n * 100 * sizeof *wino);
	unsigned seed = 5;
	for (size_t i = 0; i < len; i++)
		x[i] = urand(&seed) * 4;
	const float *y;
	int shape[4];
	for (int threads = 1; !rc && threads <= 2; threads++) {
		vgg_set_threads(threads);
		int fc8 = vgg_net_layer_index(net, "fc8");
		rc = vgg_net_forward(net, x, n, 3, 112, 112, 0, -1, fc8, &y, shape, &err);
		if (!rc)
			memcpy(wino, y, (size_t)n * 100 * sizeof *wino);
		setenv("VGG_CONV", "im2col", 1);
		rc = rc || vgg_net_forward(net, x, n, 3, 112, 112, 0, -1, fc8, &y, shape, &err);
		unsetenv("VGG_CONV");
		double e = rc ? 1 : test_rel_error(wino, y, (size_t)n * 100);
		CHECK(!rc && e < 1e-4, "reduced VGG-16, %d thread%s: logits within %.2g of im2col's",
		      threads, threads > 1 ? "s" : "", e);
	}
	vgg_set_threads(1);
	free(x);
	free(wino);
	vgg_net_free(net);
	vgg_trainer_free(t);
	vgg_config_free(cfg);
	vgg_weights_writer_free(wr);
}

int main(void)
{
	test_kernel();
	test_dispatch();
	test_vgg16();
	return tap_done();
}
