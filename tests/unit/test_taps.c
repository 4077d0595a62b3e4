/*
 * test_taps.c: activations before and after the ReLU against slices of torchvision's
 * VGG-19 `features`, and the global-average-pool head against torch
 * (tests/golden/make_tap_goldens.py).
 */
#include <stdlib.h>

#include "tap.h"
#include "testdata.h"
#include "vgg.h"

static float *load_npy(const char *name, int64_t shape[VGG_MAX_DIMS], size_t *numel)
{
	char path[512];
	int ndim;
	float *data = NULL;
	vgg_error err;
	test_data_path(path, sizeof path, name);
	FILE *f = fopen(path, "rb");
	if (!f || vgg_npy_read(f, path, &ndim, shape, &data, &err)) {
		printf("# cannot read %s\n", path);
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	*numel = 1;
	for (int i = 0; i < ndim; i++)
		*numel *= (size_t)shape[i];
	return data;
}

static vgg_net *load_net(const char *name)
{
	char path[512];
	vgg_net *net = NULL;
	vgg_error err;
	if (vgg_net_load(test_data_path(path, sizeof path, name), &net, &err))
		printf("# %s\n", err.msg);
	return net;
}

static void compare(const char *what, const float *got, const int shape[4], const char *golden)
{
	int64_t gs[VGG_MAX_DIMS];
	size_t n;
	float *want = load_npy(golden, gs, &n);
	size_t got_n = (size_t)shape[0] * (size_t)shape[1] * (size_t)shape[2] * (size_t)shape[3];
	CHECK(want && n == got_n, "%s: %zu values", what, got_n);
	if (want && n == got_n) {
		double e = test_rel_error(got, want, n);
		CHECK(e < 1e-4, "%s agrees with torch (relative error %.2g)", what, e);
	}
	free(want);
}

static void test_names(vgg_net *net)
{
	static const struct {
		const char *name, *layer;
		int relu;
	} cases[] = {
		{"relu1_1", "conv1_1", 1}, {"conv1_1", "conv1_1", 0}, {"RELU3_1", "conv3_1", 1},
		{"relu5_4", "conv5_4", 1}, {"relu6", "fc6", 1}, {"Relu7", "fc7", 1},
		{"fc7", "fc7", 0}, {"pool5", "pool5", 0}, {"prob", "prob", 0},
	};
	vgg_error err;
	vgg_tap tap;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int rc = vgg_net_find_tap(net, cases[i].name, &tap, &err);
		CHECK(rc == VGG_OK && tap.layer == vgg_net_layer_index(net, cases[i].layer) &&
		      tap.relu == cases[i].relu, "%s is %s %s its ReLU", cases[i].name,
		      cases[i].layer, cases[i].relu ? "after" : "before");
	}
	static const struct {
		const char *name, *msg;
	} bad[] = {
		{"relu8", "no layer 'relu8': fc8 has no ReLU"}, {"relu9", "no layer 'relu9'"},
		{"relu6_1", "no layer 'relu6_1'"}, {"relu", "no layer 'relu'"},
		{"relu1_1x", "no layer 'relu1_1x'"}, {"pool6", "no layer 'pool6'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK_EQ_INT(vgg_net_find_tap(net, bad[i].name, &tap, &err), VGG_ENOTFOUND,
		             "%s is no tap", bad[i].name);
		CHECK_STR(err.msg, bad[i].msg, "%s: message", bad[i].name);
	}
}

static vgg_tap tap_of(vgg_net *net, const char *name)
{
	vgg_tap tap = {-1, 0};
	vgg_net_find_tap(net, name, &tap, NULL);
	return tap;
}

/* Every tap of the goldens in one pass, given out of order, a layer both before and after
 * its ReLU among them. */
static void test_vgg19(void)
{
	static const char *const names[] = {"relu3_1", "relu1_1", "conv3_1", "relu7", "relu2_1",
	                                    "relu5_4", "pool5", "relu4_1", "fc7", "relu5_1",
	                                    "relu6"};
	enum { N = sizeof names / sizeof *names };
	vgg_net *net = load_net("taps/vgg19.safetensors");
	int64_t is[VGG_MAX_DIMS];
	size_t n;
	float *x = load_npy("taps/input.npy", is, &n);
	CHECK(net && x, "the VGG-19 goldens load");
	if (!net || !x) {
		vgg_net_free(net);
		free(x);
		return;
	}
	test_names(net);
	vgg_tap taps[N];
	float *out[N];
	int shapes[N][4];
	vgg_error err;
	for (size_t k = 0; k < N; k++)
		taps[k] = tap_of(net, names[k]);
	int rc = vgg_net_forward_taps(net, x, 2, 3, 32, 32, 0, -1, taps, N, out, shapes, &err);
	CHECK_EQ_INT(rc, VGG_OK, "eleven taps in one pass");
	for (size_t k = 0; !rc && k < N; k++) {
		char golden[64], what[64];
		snprintf(golden, sizeof golden, "taps/vgg19.%s.npy", names[k]);
		snprintf(what, sizeof what, "vgg19 %s", names[k]);
		compare(what, out[k], shapes[k], golden);
		free(out[k]);
	}
	/* One tap at a time gives the same, and vgg_net_forward still stops before the ReLU. */
	vgg_tap one = tap_of(net, "relu2_1");
	rc = vgg_net_forward_taps(net, x, 2, 3, 32, 32, 0, -1, &one, 1, out, shapes, &err);
	if (!rc)
		compare("vgg19 relu2_1 alone", out[0], shapes[0], "taps/vgg19.relu2_1.npy");
	free(rc ? NULL : out[0]);
	const float *y;
	int shape[4];
	rc = vgg_net_forward(net, x, 2, 3, 32, 32, 0, -1, vgg_net_layer_index(net, "conv3_1"), &y,
	                     shape, &err);
	if (!rc)
		compare("vgg19 conv3_1 by vgg_net_forward", y, shape, "taps/vgg19.conv3_1.npy");
	/* Resuming from a tap after the ReLU: the ReLU applied again changes nothing. */
	int64_t ts[VGG_MAX_DIMS];
	float *mid = load_npy("taps/vgg19.relu3_1.npy", ts, &n);
	one = tap_of(net, "relu5_1");
	rc = mid ? vgg_net_forward_taps(net, mid, 2, (int)ts[1], (int)ts[2], (int)ts[3], 0,
	                                taps[0].layer, &one, 1, out, shapes, &err) : -1;
	CHECK_EQ_INT(rc, VGG_OK, "from relu3_1 to relu5_1");
	if (!rc)
		compare("vgg19 relu5_1 from relu3_1", out[0], shapes[0], "taps/vgg19.relu5_1.npy");
	free(rc ? NULL : out[0]);
	free(mid);
	/* Refusals leave nothing allocated. */
	vgg_tap early = tap_of(net, "relu1_1");
	rc = vgg_net_forward_taps(net, x, 2, 3, 32, 32, 0, taps[0].layer, &early, 1, out, shapes,
	                          &err);
	CHECK(rc == VGG_ERANGE && out[0] == NULL, "a tap before `from` is refused");
	vgg_tap pool_relu = {vgg_net_layer_index(net, "pool5"), 1};
	rc = vgg_net_forward_taps(net, x, 2, 3, 32, 32, 0, -1, &pool_relu, 1, out, shapes, &err);
	CHECK(rc == VGG_ERANGE && out[0] == NULL, "a ReLU tap on pool5 is refused");
	CHECK_STR(err.msg, "pool5 has no ReLU", "pool5 has no ReLU: message");
	vgg_tap two[2] = {tap_of(net, "relu1_1"), tap_of(net, "relu6")};
	rc = vgg_net_forward_taps(net, x, 2, 3, 40, 40, 0, -1, two, 2, out, shapes, &err);
	CHECK(rc == VGG_ESHAPE && out[0] == NULL && out[1] == NULL,
	      "a 40x40 input without dense evaluation is refused before anything runs");
	rc = vgg_net_forward_taps(net, x, 2, 3, 32, 32, 0, -1, two, 0, out, shapes, &err);
	CHECK_EQ_INT(rc, VGG_ERANGE, "no taps is refused");
	free(x);
	vgg_net_free(net);
}

static void test_gap(void)
{
	vgg_net *net = load_net("gap/vgg16_bn_gap.safetensors");
	int64_t is[VGG_MAX_DIMS];
	size_t n;
	float *x = load_npy("net/input.npy", is, &n);
	CHECK(net && x, "the GAP goldens load");
	if (!net || !x) {
		vgg_net_free(net);
		free(x);
		return;
	}
	/* The file's config is the built-in vgg16_bn_gap at 1/32 width for 64x64 and 10 classes. */
	vgg_config *cfg;
	vgg_error err;
	vgg_config_builtin("vgg16_bn_gap", &cfg, &err);
	vgg_config_scale_width(cfg, 1.0 / 32, &err);
	vgg_config_set_input(cfg, 3, 64, 64, &err);
	vgg_config_set_classes(cfg, 10, &err);
	char *a = vgg_config_to_text(cfg), *b = vgg_config_to_text(vgg_net_config(net));
	CHECK(a && b && strcmp(a, b) == 0, "vgg16_bn_gap at width 1/32 is the golden's config");
	free(a);
	free(b);
	vgg_config_free(cfg);
	static const char *const layers[] = {"avgpool", "fc6", "prob"};
	for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) {
		const float *y;
		int shape[4];
		char golden[64], what[64];
		int rc = vgg_net_forward(net, x, 2, 3, 64, 64, 0, -1,
		                         vgg_net_layer_index(net, layers[i]), &y, shape, &err);
		CHECK(rc == VGG_OK && shape[2] == 1 && shape[3] == 1, "vgg16_bn_gap runs to %s, 1x1",
		      layers[i]);
		snprintf(golden, sizeof golden, "gap/vgg16_bn_gap.%s.npy", layers[i]);
		snprintf(what, sizeof what, "vgg16_bn_gap %s", layers[i]);
		if (!rc)
			compare(what, y, shape, golden);
	}
	free(x);
	x = load_npy("net/dense.input.npy", is, &n);
	const float *y;
	int shape[4];
	int rc = x ? vgg_net_forward(net, x, 2, 3, 96, 96, 1, -1, -1, &y, shape, &err) : -1;
	CHECK(rc == VGG_OK && shape[1] == 10 && shape[2] == 1 && shape[3] == 1,
	      "dense at 96x96: the pool averages pool5's 3x3, one 10-class output");
	rc = x ? vgg_net_forward(net, x, 2, 3, 96, 96, 1, -1,
	                         vgg_net_layer_index(net, "fc6"), &y, shape, &err) : -1;
	if (!rc)
		compare("vgg16_bn_gap dense fc6", y, shape, "gap/vgg16_bn_gap.dense.npy");
	free(x);
	vgg_net_free(net);
}

int main(void)
{
	vgg_set_threads(2);
	test_vgg19();
	test_gap();
	return tap_done();
}
