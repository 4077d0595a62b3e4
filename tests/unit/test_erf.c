/*
 * test_erf.c: effective receptive fields against torch's autograd (tests/golden/
 * make_erf_goldens.py) at the net's own input size and at another, their radii and the
 * mass inside the theoretical box, random inputs from a seed, every refusal, and the heat
 * map read back.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "testdata.h"
#include "vgg.h"

/* A .npy file under tests/data, whole; NULL after a TAP comment when it cannot be read. */
static float *load_npy(const char *name, int64_t shape[VGG_MAX_DIMS])
{
	char path[512];
	int ndim;
	float *data = NULL;
	vgg_error err;
	FILE *f = fopen(test_data_path(path, sizeof path, name), "rb");
	if (!f || vgg_npy_read(f, path, &ndim, shape, &data, &err)) {
		printf("# cannot read %s\n", path);
		data = NULL;
	}
	if (f)
		fclose(f);
	return data;
}

static vgg_weights *weights;
static vgg_config *config;

static int open_net(const char *file)
{
	char path[512];
	vgg_error err;
	vgg_weights_free(weights);
	vgg_config_free(config);
	weights = NULL;
	config = NULL;
	if (vgg_weights_open(test_data_path(path, sizeof path, file), &weights, &err) ||
	    vgg_config_parse(vgg_weights_meta(weights, "vgg.config"), file, &config, &err) ||
	    vgg_config_set_name(config, vgg_weights_meta(weights, "vgg.name"), &err)) {
		printf("# %s\n", err.msg);
		return 0;
	}
	return 1;
}

/* The golden line of radii.txt for map `file`. */
static int golden_radii(const char *file, double *cy, double *cx, double *r50, double *r90,
                        double *inside)
{
	char path[512], name[64];
	FILE *f = fopen(test_data_path(path, sizeof path, "erf/radii.txt"), "r");
	int found = 0;
	while (f && !found &&
	       fscanf(f, "%63s %lf %lf %lf %lf %lf", name, cy, cx, r50, r90, inside) == 6)
		found = strcmp(name, file) == 0;
	if (f)
		fclose(f);
	return found;
}

/* The ERF of `layer` for the inputs in `input_file` against torch's `golden_file`. */
static void check_golden(const char *layer, const char *input_file, const char *golden_file)
{
	int64_t xs[VGG_MAX_DIMS], gs[VGG_MAX_DIMS];
	float *x = load_npy(input_file, xs), *golden = load_npy(golden_file, gs);
	char map_name[64];
	snprintf(map_name, sizeof map_name, "%s", strchr(golden_file, '/') + 1);
	double cy, cx, r50, r90, inside;
	vgg_erf *e = NULL;
	vgg_error err;
	if (!x || !golden || !golden_radii(map_name, &cy, &cx, &r50, &r90, &inside) ||
	    vgg_erf_new(config, weights, layer, (int)xs[2], (int)xs[3], &e, &err) ||
	    vgg_erf_add(e, x, (int)xs[0], &err)) {
		CHECK(0, "%s: the ERF of %s is computed", golden_file, layer);
		goto done;
	}
	vgg_erf_summary s;
	CHECK_EQ_INT(vgg_erf_summarise(e, &s, &err), VGG_OK, "%s: summarised", golden_file);
	CHECK(s.height == gs[0] && s.width == gs[1] && s.inputs == xs[0] && s.channels == 3 &&
	      !strcmp(s.layer->name, layer),
	      "%s: %s over %d inputs of 3x%dx%d", golden_file, layer, (int)xs[0], (int)gs[0],
	      (int)gs[1]);
	double worst = 0, peak = 0;
	for (int64_t i = 0; i < gs[0] * gs[1]; i++) {
		worst = fmax(worst, fabs(s.map[i] - golden[i]));
		peak = fmax(peak, golden[i]);
	}
	CHECK(worst <= 1e-5 * peak, "%s: the map is torch's within 1e-5 of its peak (%.1e)",
	      golden_file, worst / peak);
	CHECK(s.peak == peak || fabs(s.peak - peak) <= 1e-5 * peak, "%s: the peak is torch's",
	      golden_file);
	CHECK_EQ_DBL(s.center[0], cy, "%s: the centre unit's row centre", golden_file);
	CHECK_EQ_DBL(s.center[1], cx, "%s: the centre unit's column centre", golden_file);
	CHECK(fabs(s.r50 - r50) < 1e-6 && fabs(s.r90 - r90) < 1e-6,
	      "%s: r50 %.6f and r90 %.6f as torch's", golden_file, s.r50, s.r90);
	CHECK(s.inside == 1 && inside == 1, "%s: all the mass inside the theoretical box",
	      golden_file);
done:
	vgg_erf_free(e);
	free(x);
	free(golden);
}

/* The summary of `layer`'s ERF over n random inputs from `seed`, at height x width. */
static int noise_erf(const char *layer, int height, int width, int n, uint64_t seed,
                     vgg_erf **e, vgg_erf_summary *s)
{
	vgg_preprocess p = {0, 1 / 255.f, {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}, 0, 0, 0, 0};
	vgg_error err;
	*e = NULL;
	if (vgg_erf_new(config, weights, layer, height, width, e, &err) ||
	    vgg_erf_add_noise(*e, &p, n, seed, &err) || vgg_erf_summarise(*e, s, &err)) {
		printf("# %s\n", err.msg);
		return 0;
	}
	return 1;
}

static void test_noise(void)
{
	vgg_erf *a, *b, *c;
	vgg_erf_summary sa, sb, sc;
	int ok = noise_erf(NULL, 0, 0, 5, 7, &a, &sa) && noise_erf(NULL, 0, 0, 5, 7, &b, &sb) &&
	         noise_erf(NULL, 0, 0, 5, 8, &c, &sc);
	CHECK(ok, "random inputs: three ERFs");
	if (ok) {
		CHECK(!strcmp(sa.layer->name, "conv5_2") && sa.unit[0] == 2 && sa.unit[1] == 2 &&
		      sa.inputs == 5, "no layer named: the last conv, conv5_2, its unit 2,2 of 4x4; "
		      "5 inputs");
		CHECK(!memcmp(sa.map, sb.map, 64 * 64 * sizeof *sa.map), "one seed, one map");
		CHECK(memcmp(sa.map, sc.map, 64 * 64 * sizeof *sa.map) != 0,
		      "another seed, another map");
		CHECK(sa.inside == 1, "all the mass inside the theoretical box");
	}
	vgg_erf_free(a);
	vgg_erf_free(b);
	vgg_erf_free(c);

	/* Each layer widens the field (Luo et al.'s sqrt(n) growth, and the pooling). */
	const char *layers[] = {"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"};
	double last = 0;
	for (int i = 0; i < 5; i++) {
		vgg_erf *e;
		vgg_erf_summary s;
		ok = noise_erf(layers[i], 0, 0, 4, 1, &e, &s);
		CHECK(ok && s.r50 > last && s.r90 > s.r50 && s.inside == 1,
		      "%s: r50 %.2f beyond the layer below's %.2f, r90 %.2f beyond it, all inside",
		      layers[i], ok ? s.r50 : 0, last, ok ? s.r90 : 0);
		last = ok ? s.r50 : 0;
		vgg_erf_free(e);
	}
	vgg_erf *e;
	vgg_erf_summary s;
	ok = noise_erf("conv1_1", 0, 0, 1, 1, &e, &s);
	/* A 3x3 conv's centre unit at (32, 32): the 9 pixels within sqrt(2). */
	CHECK(ok && s.box.y0 == 31 && s.box.y1 == 33 && s.box.x0 == 31 && s.box.x1 == 33 &&
	      s.r90 <= sqrt(2) + 1e-12, "conv1_1: box 31..33, r90 %.3f within the 3x3",
	      ok ? s.r90 : 0);
	vgg_erf_free(e);
}

static void expect_refusal(const char *layer, int height, int width, int code,
                           const char *message, const char *what)
{
	vgg_erf *e = NULL;
	vgg_error err = {0, ""};
	int rc = vgg_erf_new(config, weights, layer, height, width, &e, &err);
	CHECK(rc == code && !e, "%s: refused", what);
	if (rc != code)
		printf("#   status %d, want %d\n", rc, code);
	CHECK_STR(err.msg, message, "%s: message", what);
	vgg_erf_free(e);
}

static void test_refusals(void)
{
	expect_refusal("conv9_9", 0, 0, VGG_ENOTFOUND, "vgg11-small has no layer 'conv9_9'",
	               "an unknown layer");
	expect_refusal("PROB", 0, 0, VGG_ERANGE, "prob is the soft-max; take the layer before it",
	               "the soft-max");
	expect_refusal("fc6", 96, 96, VGG_ESHAPE, "fc6's weights are for a 64x64 input, not 96x96",
	               "an FC layer at another size");
	expect_refusal("conv5_2", 8, 8, VGG_ESHAPE, "input too small: pool4 gets a 1x1 input",
	               "an input too small for the layer");
	vgg_erf *e = NULL;
	vgg_erf_summary s;
	vgg_error err;
	CHECK(!vgg_erf_new(config, weights, "fc6", 0, 0, &e, &err), "fc6 at the net's own size");
	CHECK_EQ_INT(e ? vgg_erf_summarise(e, &s, &err) : 0, VGG_ERANGE, "no inputs yet: refused");
	CHECK_STR(err.msg, "no inputs for the effective receptive field", "no inputs: message");
	vgg_erf_free(e);
	vgg_erf_free(NULL);

	/* The reduced vgg16's config over vgg11's weights, which lack conv1_2, and over C's,
	 * whose conv3_3 is 1x1. */
	vgg_config *vgg16 = NULL;
	vgg_weights *c_weights = NULL, *w16 = NULL;
	char path[512];
	if (vgg_weights_open(test_data_path(path, sizeof path, "net/vgg16.safetensors"), &w16,
	                     NULL) ||
	    vgg_config_parse(vgg_weights_meta(w16, "vgg.config"), "vgg16", &vgg16, NULL) ||
	    vgg_weights_open(test_data_path(path, sizeof path, "net/C.safetensors"), &c_weights,
	                     NULL)) {
		CHECK(0, "vgg16 and C's weights");
		vgg_weights_free(w16);
		vgg_config_free(vgg16);
		return;
	}
	vgg_weights_free(w16);
	e = NULL;
	CHECK_EQ_INT(vgg_erf_new(vgg16, weights, "conv3_1", 0, 0, &e, &err), VGG_ENOTFOUND,
	             "vgg11's weights for vgg16: refused");
	CHECK_STR(err.msg, "the weights have no conv1_2.weight", "a missing tensor: message");
	CHECK_EQ_INT(vgg_erf_new(vgg16, c_weights, "conv3_3", 0, 0, &e, &err), VGG_ESHAPE,
	             "C's 1x1 conv3_3 for vgg16's 3x3: refused");
	CHECK_STR(err.msg, "the weights' conv3_3 tensors do not fit the config",
	          "tensors of another shape: message");
	CHECK(!vgg_erf_new(vgg16, c_weights, "conv3_2", 0, 0, &e, &err) && e,
	      "C's weights for vgg16 up to conv3_2, where they agree");
	vgg_erf_free(e);
	vgg_weights_free(c_weights);
	vgg_config_free(vgg16);

}

static void test_batches(void)
{
	int64_t xs[VGG_MAX_DIMS];
	float *x = load_npy("net/input.npy", xs);
	vgg_erf *both = NULL, *apart = NULL;
	vgg_erf_summary a, b;
	vgg_error err;
	size_t len = 3 * 64 * 64;
	int ok = x && !vgg_erf_new(config, weights, "conv4_1", 0, 0, &both, &err) &&
	         !vgg_erf_new(config, weights, "conv4_1", 0, 0, &apart, &err) &&
	         !vgg_erf_add(both, x, 2, &err) && !vgg_erf_add(apart, x, 1, &err) &&
	         !vgg_erf_add(apart, x + len, 1, &err) && !vgg_erf_summarise(both, &a, &err) &&
	         !vgg_erf_summarise(apart, &b, &err);
	double worst = 0;
	for (size_t i = 0; ok && i < 64 * 64; i++)
		worst = fmax(worst, fabs(a.map[i] - b.map[i]));
	CHECK(ok && b.inputs == 2 && worst <= 1e-6 * a.peak,
	      "two inputs at once or one by one: the same map (%.1e)", ok ? worst / a.peak : 0);
	vgg_erf_free(both);
	vgg_erf_free(apart);
	free(x);
}

static int same(const unsigned char *p, int r, int g, int b)
{
	return p[0] == r && p[1] == g && p[2] == b;
}

static void test_heat_map(void)
{
	char path[] = "/tmp/vgg-test-erf.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		CHECK(0, "a temporary file");
		return;
	}
	close(fd);
	vgg_erf *e;
	vgg_erf_summary s;
	vgg_error err;
	vgg_image *img = NULL;
	int ok = noise_erf("conv3_1", 0, 0, 2, 3, &e, &s) && !vgg_erf_write_png(e, path, &err) &&
	         !vgg_image_read(path, 0, &img, &err);
	CHECK(ok, "conv3_1's heat map written and read back");
	if (ok) {
		/* 64x64 scaled 8 times, 12 pixels of margin, 5 caption lines of 16 below. */
		int w = vgg_image_width(img), h = vgg_image_height(img);
		CHECK(w == 512 + 24 && h == 12 + 512 + 12 + 80 + 12 && vgg_image_channels(img) == 3,
		      "the heat map is 536x628 RGB (%dx%d)", w, h);
		const unsigned char *px = vgg_image_pixels(img);
#define AT(x, y) (px + 3 * ((size_t)(y) * (size_t)w + (size_t)(x)))
		/* conv3_1's box is rows and columns 25..42 of the input. */
		int left = 12 + 25 * 8, top = 12 + 25 * 8, right = 12 + 42 * 8 + 7;
		int mid = 12 + 33 * 8 + 4;
		CHECK(s.clipped.x0 == 25 && s.clipped.x1 == 42 && same(AT(left, mid), 0, 200, 255) &&
		      same(AT(right, mid), 0, 200, 255) && same(AT(mid, top), 0, 200, 255),
		      "the theoretical box is outlined in cyan at columns 25 and 42, row 25");
		CHECK(same(AT(12 + 8, 12 + 8), 0, 0, 4) && same(AT(12 + 60 * 8, 12 + 8 * 8), 0, 0, 4),
		      "outside the box: no gradient, the map's darkest colour");
		const unsigned char *c = AT(12 + 33 * 8 + 2, 12 + 33 * 8 + 2);
		CHECK(c[0] > 150 && c[0] > c[2], "the centre is hot (%d,%d,%d)", c[0], c[1], c[2]);
#undef AT
	}
	vgg_image_free(img);
	vgg_erf_free(e);
	unlink(path);
	char bad[600];
	snprintf(bad, sizeof bad, "%s.missing/erf.png", path);
	ok = noise_erf("conv1_1", 0, 0, 1, 3, &e, &s);
	CHECK(ok && vgg_erf_write_png(e, bad, &err) == VGG_EIO, "a heat map in a missing directory: "
	      "VGG_EIO");
	vgg_erf_free(e);
}

int main(void)
{
	if (open_net("net/vgg11.safetensors")) {
		check_golden("conv3_2", "net/input.npy", "erf/vgg11.conv3_2.npy");
		check_golden("conv4_2", "net/dense.input.npy", "erf/vgg11.conv4_2.npy");
		test_noise();
		test_refusals();
		test_batches();
		test_heat_map();
	} else {
		CHECK(0, "tests/data/net/vgg11.safetensors opens");
	}
	vgg_weights_free(weights);
	vgg_config_free(config);
	return tap_done();
}
