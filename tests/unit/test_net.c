/* test_net.c: the forward pass against torch's outputs (tests/golden/make_net_goldens.py). */
#include <stdlib.h>

#include "tap.h"
#include "testdata.h"
#include "vgg.h"

static float *load_npy(const char *name, int *ndim, int64_t shape[VGG_MAX_DIMS], size_t *numel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/net/%s", test_data_dir(), name);
	FILE *f = fopen(path, "rb");
	float *data = NULL;
	vgg_error err;
	if (!f || vgg_npy_read(f, path, ndim, shape, &data, &err)) {
		printf("# cannot read %s\n", path);
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	*numel = 1;
	for (int i = 0; i < *ndim; i++)
		*numel *= (size_t)shape[i];
	return data;
}

static void compare(const char *net_name, const char *what, const float *got, const int shape[4],
                    const char *golden)
{
	int ndim;
	int64_t gs[VGG_MAX_DIMS];
	size_t n;
	float *want = load_npy(golden, &ndim, gs, &n);
	size_t got_n = (size_t)shape[0] * (size_t)shape[1] * (size_t)shape[2] * (size_t)shape[3];
	CHECK(want && n == got_n, "%s %s: %zu values", net_name, what, n);
	if (want && n == got_n) {
		double e = test_rel_error(got, want, n);
		CHECK(e < 1e-4, "%s %s agrees with torch (relative error %.2g)", net_name, what, e);
	}
	free(want);
}

/* One net against its goldens; `size` is its input side, `input` its inputs' file. */
static void test_net(const char *name, int size, const char *input)
{
	char path[512], golden[128];
	vgg_net *net;
	vgg_error err;
	snprintf(path, sizeof path, "%s/net/%s.safetensors", test_data_dir(), name);
	int rc = vgg_net_load(path, &net, &err);
	CHECK_EQ_INT(rc, VGG_OK, "%s loads", name);
	if (rc) {
		printf("# %s\n", err.msg);
		return;
	}
	int ndim, shape[4];
	int64_t is[VGG_MAX_DIMS];
	size_t n;
	float *x = load_npy(input, &ndim, is, &n);
	const float *y;
	static const char *const layers[] = {"fc8", "prob", "pool5", "conv3_1"};
	for (size_t i = 0; x && i < sizeof layers / sizeof *layers; i++) {
		int to = vgg_net_layer_index(net, layers[i]);
		rc = vgg_net_forward(net, x, 2, 3, size, size, 0, -1, to, &y, shape, &err);
		CHECK_EQ_INT(rc, VGG_OK, "%s runs to %s", name, layers[i]);
		snprintf(golden, sizeof golden, "%s.%s.npy", name, layers[i]);
		if (!rc)
			compare(name, layers[i], y, shape, golden);
	}
	/* Resuming from pool5's output gives what one run gives. */
	int pool5 = vgg_net_layer_index(net, "pool5"), fc8 = vgg_net_layer_index(net, "fc8");
	rc = vgg_net_forward(net, x, 2, 3, size, size, 0, -1, pool5, &y, shape, &err);
	float *mid = NULL;
	if (!rc && (mid = malloc(sizeof *mid * (size_t)(shape[0] * shape[1] * shape[2] * shape[3])))) {
		memcpy(mid, y, sizeof *mid * (size_t)(shape[0] * shape[1] * shape[2] * shape[3]));
		rc = vgg_net_forward(net, mid, 2, shape[1], shape[2], shape[3], 0, pool5, fc8, &y,
		                     shape, &err);
		snprintf(golden, sizeof golden, "%s.fc8.npy", name);
		if (!rc)
			compare(name, "fc8 from pool5", y, shape, golden);
	}
	CHECK_EQ_INT(rc, VGG_OK, "%s runs from pool5", name);
	free(mid);
	free(x);
	/* Dense: 96x96 inputs give a map of class scores (2x2 for 64x64 nets). */
	x = load_npy("dense.input.npy", &ndim, is, &n);
	int side = size == 64 ? 2 : 1;
	rc = x ? vgg_net_forward(net, x, 2, 3, 96, 96, 1, -1, fc8, &y, shape, &err) : -1;
	CHECK(rc == VGG_OK && shape[2] == side && shape[3] == side, "%s dense at 96x96 gives %dx%d",
	      name, side, side);
	snprintf(golden, sizeof golden, "%s.dense.npy", name);
	if (!rc)
		compare(name, "dense fc8", y, shape, golden);
	rc = x ? vgg_net_forward(net, x, 2, 3, 96, 96, 0, -1, fc8, &y, shape, &err) : -1;
	CHECK_EQ_INT(rc, VGG_ESHAPE, "%s refuses 96x96 without dense evaluation", name);
	free(x);
	CHECK_STR(vgg_net_label(net, 3), "class 3", "%s labels", name);
	vgg_net_free(net);
}

int main(void)
{
	static const char *const nets[] = {"vgg11", "A-LRN", "C", "vgg16", "vgg16_bn"};
	vgg_set_threads(2);
	for (size_t i = 0; i < sizeof nets / sizeof *nets; i++)
		test_net(nets[i], 64, "input.npy");
	/* Caffe's rounding: 72 pools to 36, 18, 9, 5 and 3 where PyTorch would give 4 and 2. */
	test_net("vgg11_ceil", 72, "vgg11_ceil.input.npy");
	vgg_net_free(NULL);
	return tap_done();
}
