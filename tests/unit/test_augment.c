/*
 * test_augment.c: the random numbers (xoshiro256** against its authors' reference outputs,
 * and the shape of what is drawn from them), the training path's geometry (crops, flips,
 * padding and scale jittering, each output matched against a plain rendering), the colour
 * shift, and the evaluation path against vgg_preprocess_image, also as vgg-predict reads
 * its settings back from a weights file.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "image_internal.h"
#include "preprocess.h"
#include "tap.h"
#include "testdata.h"
#include "traindata.h"

/* ---- Random numbers ---- */

static void test_rng(void)
{
	/* xoshiro256**'s state {1, 2, 3, 4} gives these (the reference C code's outputs). */
	struct vgg__rng r = {{1, 2, 3, 4}};
	static const uint64_t want[4] = {11520u, 0u, 1509978240u, 1215971899390074240u};
	int same = 1;
	for (int i = 0; i < 4; i++)
		same &= vgg__rng_next(&r) == want[i];
	CHECK(same, "rng: xoshiro256** as its reference");

	uint64_t first[4];
	static const uint64_t keys[4][3] = {{1, 0, 0}, {1, 0, 1}, {1, 1, 0}, {2, 0, 0}};
	for (int i = 0; i < 4; i++) {
		vgg__rng_seed(&r, keys[i][0], keys[i][1], keys[i][2]);
		first[i] = vgg__rng_next(&r);
	}
	vgg__rng_seed(&r, 1, 0, 1);
	CHECK(first[0] != first[1] && first[0] != first[2] && first[1] != first[2] &&
	      first[0] != first[3] && vgg__rng_next(&r) == first[1],
	      "rng: each key its own stream, the same again for the same key");

	enum { N = 200000 };
	double sum = 0, sum2 = 0, usum = 0, umin = 1, umax = 0;
	int counts[7] = {0};
	vgg__rng_seed(&r, 42, 0, 0);
	for (int i = 0; i < N; i++) {
		double u = vgg__rng_uniform(&r), z = vgg__rng_normal(&r);
		usum += u;
		umin = u < umin ? u : umin;
		umax = u > umax ? u : umax;
		sum += z;
		sum2 += z * z;
		counts[vgg__rng_below(&r, 7)]++;
	}
	CHECK(umin >= 0 && umax < 1 && fabs(usum / N - 0.5) < 0.005,
	      "rng: uniform in [0, 1), mean 1/2");
	CHECK(fabs(sum / N) < 0.01 && fabs(sum2 / N - 1) < 0.02, "rng: normal, mean 0, variance 1");
	int even = 1;
	for (int i = 0; i < 7; i++)
		even &= fabs(counts[i] / (double)N - 1.0 / 7) < 0.005;
	CHECK(even, "rng: below(7) draws each of 0..6 as often");
	CHECK(vgg__rng_below(&r, 1) == 0, "rng: below(1) is 0");

	size_t p[100], q[100];
	int seen[100] = {0}, differ = 0;
	vgg__rng_permutation(p, 100, 5, 1, 2);
	for (int i = 0; i < 100; i++)
		seen[p[i]]++;
	int perm = 1;
	for (int i = 0; i < 100; i++)
		perm &= seen[i] == 1;
	vgg__rng_permutation(q, 100, 5, 1, 2);
	CHECK(perm && memcmp(p, q, sizeof p) == 0, "rng: a permutation, the same for the same key");
	vgg__rng_permutation(q, 100, 5, 2, 2);
	for (int i = 0; i < 100; i++)
		differ |= p[i] != q[i];
	CHECK(differ, "rng: another key, another permutation");
}

/* ---- Geometry ---- */

static vgg_image *new_image(int w, int h, int c, const unsigned char *pixels)
{
	vgg_image *img;
	if (vgg__image_new(w, h, c, "test", &img, NULL))
		exit(1);
	memcpy(img->pixels, pixels, (size_t)w * (size_t)h * (size_t)c);
	return img;
}

/* Settings whose normalisation leaves pixel values as they are. */
static vgg_augment plain(int crop_h, int crop_w, int pad, int flip)
{
	vgg_augment a = {.crop_h = crop_h, .crop_w = crop_w, .pad = pad, .flip = flip};
	vgg_preprocess_torchvision(&a.norm);
	a.norm.scale = 1;
	for (int c = 0; c < 3; c++) {
		a.norm.mean[c] = 0;
		a.norm.std[c] = 1;
	}
	return a;
}

static int augment(const vgg_augment *a, const vgg_image *img, int channels, uint64_t seed,
                   float *out)
{
	struct vgg__rng r;
	vgg__rng_seed(&r, seed, 0, 0);
	return vgg__augment_image(a, img, channels, &r, out, NULL);
}

/*
 * A 6x5 gray image of the values 1..30 under crops of 4x4 with 2 pixels of padding and
 * flips: each output is the window at one (oy, ox) of [-2, 3] x [-2, 4], mirrored or not,
 * and every one of those 84 comes up.
 */
static void test_crop_flip_pad(void)
{
	unsigned char px[30];
	for (int i = 0; i < 30; i++)
		px[i] = (unsigned char)(i + 1);
	vgg_image *img = new_image(6, 5, 1, px);
	vgg_augment a = plain(4, 4, 2, 1);
	int hits[6][7][2] = {{{0}}}, unmatched = 0, first = -1;
	for (uint64_t seed = 0; seed < 3000; seed++) {
		float out[16];
		if (augment(&a, img, 1, seed, out)) {
			unmatched++;
			continue;
		}
		int found = 0;
		for (int oy = -2; oy <= 3; oy++)
			for (int ox = -2; ox <= 4; ox++)
				for (int flip = 0; flip < 2; flip++) {
					int same = 1;
					for (int y = 0; y < 4 && same; y++)
						for (int x = 0; x < 4 && same; x++) {
							int sy = oy + y, sx = flip ? ox + 3 - x : ox + x;
							int v = sy >= 0 && sy < 5 && sx >= 0 && sx < 6 ? sy * 6 + sx + 1
							                                               : 0;
							same = out[y * 4 + x] == (float)v;
						}
					if (same) {
						found++;
						hits[oy + 2][ox + 2][flip]++;
						if (seed == 1)
							first = (oy + 2) * 100 + (ox + 2) * 10 + flip;
					}
				}
		unmatched += found != 1;
	}
	int all = 1;
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 7; j++)
			all &= hits[i][j][0] > 0 && hits[i][j][1] > 0;
	CHECK(unmatched == 0, "crop: every output is one padded window, mirrored or not");
	CHECK(all, "crop: all 84 windows and flips come up");
	/* Pinned: seed 1 picks oy = -2, ox = 4, not mirrored; a change here changes every run. */
	CHECK_EQ_INT(first, 60, "crop: seed 1's window");

	a.flip = 0;
	int flipped = 0;
	for (uint64_t seed = 0; seed < 200; seed++) {
		float out[16];
		augment(&a, img, 1, seed, out);
		for (int y = 0; y < 4; y++)
			for (int x = 0; x + 1 < 4; x++)
				flipped |= out[y * 4 + x] && out[y * 4 + x + 1] &&
				           out[y * 4 + x + 1] < out[y * 4 + x];
	}
	CHECK(!flipped, "crop: no flips when flip is off");
	vgg_image_free(img);
}

/* A 28x28 image in a 32x32 crop: centred whatever the seed, as vgg_preprocess_image pads. */
static void test_small_images(void)
{
	unsigned char px[28 * 28];
	for (int i = 0; i < 28 * 28; i++)
		px[i] = (unsigned char)(i * 7 + 3);
	vgg_image *img = new_image(28, 28, 1, px);
	vgg_augment a = plain(32, 32, 0, 0);
	vgg_preprocess p;
	vgg_augment_preprocess(&a, &p);
	float *want = NULL, out[32 * 32];
	int h, w, same = 1;
	int rc = vgg_preprocess_image(&p, img, 1, &want, &h, &w, NULL);
	for (uint64_t seed = 0; !rc && seed < 20; seed++) {
		same &= augment(&a, img, 1, seed, out) == 0 && memcmp(out, want, sizeof out) == 0;
		a.pad = 2;
		/* 28 + 2 * 2 = 32 leaves one window, the centred one. */
		same &= augment(&a, img, 1, seed, out) == 0 && memcmp(out, want, sizeof out) == 0;
		a.pad = 0;
	}
	CHECK(!rc && h == 32 && w == 32 && same && want[0] == 0 && want[2 * 32 + 2] == px[0],
	      "small image: centred in the crop with 2 pixels of zeros each side");

	a.pad = 4;
	int offsets[5] = {0}, bad = 0;
	for (uint64_t seed = 0; seed < 200; seed++) {
		augment(&a, img, 1, seed, out);
		/* Where pixel (0, 0) landed gives the offset along both axes. */
		int at = -1;
		for (int i = 0; i < 32 * 32 && at < 0; i++)
			if (out[i] == px[0] && out[i + 1] == px[1] && out[i + 32] == px[28])
				at = i;
		int y = at / 32, x = at % 32;
		if (at < 0 || y > 4 || x > 4)
			bad++;
		else
			offsets[y]++;
	}
	CHECK(!bad && offsets[0] && offsets[4], "small image: 4 pixels of padding give offsets "
	      "-4 to 0");
	free(want);
	vgg_image_free(img);
}

/* A uniform 10x10 image at a scale drawn from [12, 20], in a 24x24 crop: the S x S pixels
 * that are not padding give S. */
static void test_scale_jitter(void)
{
	unsigned char px[100];
	memset(px, 200, sizeof px);
	vgg_image *img = new_image(10, 10, 1, px);
	vgg_augment a = plain(24, 24, 0, 1);
	a.scale_min = 12;
	a.scale_max = 20;
	int seen[21] = {0}, bad = 0;
	for (uint64_t seed = 0; seed < 300; seed++) {
		float out[24 * 24];
		augment(&a, img, 1, seed, out);
		int n = 0;
		for (int i = 0; i < 24 * 24; i++)
			n += out[i] == 200.0f;
		int s = (int)lrint(sqrt(n));
		if (s * s != n || s < 12 || s > 20)
			bad++;
		else
			seen[s]++;
	}
	int all = 1;
	for (int s = 12; s <= 20; s++)
		all &= seen[s] > 0;
	CHECK(!bad && all, "scale jitter: S drawn from all of [12, 20]");
	vgg_preprocess p;
	vgg_augment_preprocess(&a, &p);
	CHECK_EQ_INT(p.resize, 16, "scale jitter: evaluation at the middle of the range");

	a.scale_min = a.scale_max = 14;
	int fixed = 1;
	for (uint64_t seed = 0; seed < 20; seed++) {
		float out[24 * 24];
		augment(&a, img, 1, seed, out);
		int n = 0;
		for (int i = 0; i < 24 * 24; i++)
			n += out[i] == 200.0f;
		fixed &= n == 14 * 14;
	}
	CHECK(fixed, "scale: a fixed S");
	vgg_image_free(img);
}

/* ---- Colour ---- */

static void test_colour(void)
{
	unsigned char px[4 * 4 * 3];
	for (int i = 0; i < 16; i++) {
		px[3 * i] = 100;
		px[3 * i + 1] = 150;
		px[3 * i + 2] = 200;
	}
	vgg_image *img = new_image(4, 4, 3, px);
	vgg_augment a = plain(6, 6, 0, 0);
	a.norm.scale = 1.0f / 255;
	a.colour = 0.1f;
	a.eigval[0] = 0.04f;
	a.eigval[1] = 0.01f;
	for (int i = 0; i < 3; i++)
		a.eigvec[i][i] = 1;
	enum { N = 2000 };
	double sum2[3] = {0};
	int uniform = 1;
	float out[3 * 36];
	for (uint64_t seed = 0; seed < N; seed++) {
		augment(&a, img, 3, seed, out);
		for (int c = 0; c < 3; c++) {
			/* Padding (0) and image pixels move together. */
			double d = out[c * 36 + 7] - px[c] / 255.0;
			uniform &= fabs(out[c * 36] - d) < 1e-6;
			sum2[c] += d * d;
		}
	}
	CHECK(uniform, "colour: one shift for every pixel of an image, padding included");
	CHECK(fabs(sqrt(sum2[0] / N) / (0.1 * 0.04) - 1) < 0.06 &&
	      fabs(sqrt(sum2[1] / N) / (0.1 * 0.01) - 1) < 0.06 && sqrt(sum2[2] / N) < 1e-6,
	      "colour: shifts of N(0, 0.1) times each eigenvalue along its eigenvector");

	/* Along one eigenvector, (2, 3, 6) / 7, and in BGR order. */
	memset(a.eigvec, 0, sizeof a.eigvec);
	a.eigval[1] = 0;
	a.eigvec[0][0] = 2 / 7.0f;
	a.eigvec[0][1] = 3 / 7.0f;
	a.eigvec[0][2] = 6 / 7.0f;
	a.norm.bgr = 1;
	augment(&a, img, 3, 9, out);
	double r = out[2 * 36 + 7] - 100 / 255.0, g = out[36 + 7] - 150 / 255.0,
	       b = out[7] - 200 / 255.0;
	CHECK(r != 0 && fabs(g / r - 1.5) < 1e-3 && fabs(b / r - 3) < 1e-3,
	      "colour: along the eigenvector, channels in the net's order");

	/* A gray net has no colours to shift: the same output as without. */
	float gray[36], plain_gray[36];
	augment(&a, img, 1, 9, gray);
	a.colour = 0;
	augment(&a, img, 1, 9, plain_gray);
	CHECK(memcmp(gray, plain_gray, sizeof gray) == 0, "colour: no shift for 1-channel nets");
	vgg_image_free(img);
}

/* ---- Evaluation ---- */

/* The evaluation path against vgg_preprocess_image, byte for byte. */
static void check_eval(const char *file, int channels, enum vgg_resize_filter filter)
{
	char p[4096];
	vgg_image *img;
	if (vgg_image_read(test_data_path(p, sizeof p, file), 0, &img, NULL)) {
		CHECK(0, "eval: %s decodes", file);
		return;
	}
	vgg_augment a = {.crop_h = 24, .crop_w = 20, .scale_min = 30, .scale_max = 41, .pad = 3,
	                 .flip = 1, .colour = 0.1f};
	vgg_preprocess_torchvision(&a.norm);
	a.norm.filter = filter;
	a.norm.resize = 99;
	a.eigval[0] = 1;
	a.eigvec[0][0] = 1;
	vgg_preprocess pre;
	vgg_augment_preprocess(&a, &pre);
	float *want = NULL, got[3 * 24 * 20];
	int h, w;
	int rc = vgg_preprocess_image(&pre, img, channels, &want, &h, &w, NULL);
	int rc2 = vgg__augment_image(&a, img, channels, NULL, got, NULL);
	CHECK(!rc && !rc2 && pre.resize == 35 && h == 24 && w == 20 &&
	      memcmp(got, want, (size_t)channels * 24 * 20 * sizeof *got) == 0,
	      "eval: %s to %d channels (%s) as vgg_preprocess_image", file, channels,
	      filter == VGG_RESIZE_PIL_BILINEAR ? "PIL" : "OpenCV");
	free(want);
	vgg_image_free(img);
}

/*
 * vgg-predict takes its settings from a weights file's metadata: a net trained on 28x28
 * images centred in 32x32 crops carries vgg.resize 0 and vgg.crop 32x32, and reads them
 * back into what the training's evaluation path does.
 */
static void test_eval_as_predict(void)
{
	char p[4096];
	vgg_weights *w;
	if (vgg_weights_open(test_data_path(p, sizeof p, "../../share/vgg/models/"
	                                    "fashion-mnist.safetensors"), &w, NULL)) {
		CHECK(0, "the shipped model opens");
		return;
	}
	vgg_weights_writer *wr = vgg_weights_writer_new();
	float *data[64] = {0};
	int rc = wr ? VGG_OK : VGG_ENOMEM;
	for (size_t i = 0; !rc && i < vgg_weights_count(w) && i < 64; i++) {
		const vgg_tensor_info *t = vgg_weights_tensor(w, i);
		if (!(data[i] = malloc(t->numel * sizeof(float))))
			rc = VGG_ENOMEM;
		else
			vgg_tensor_to_float(t, data[i]);
		if (!rc)
			rc = vgg_weights_writer_add(wr, t->name, t->ndim, t->shape, data[i], NULL);
	}
	for (size_t i = 0; !rc && i < vgg_weights_meta_count(w); i++) {
		const char *k, *v;
		vgg_weights_meta_at(w, i, &k, &v);
		if (strcmp(k, "vgg.resize") && strcmp(k, "vgg.crop"))
			rc = vgg_weights_writer_meta(wr, k, v, NULL);
	}
	if (!rc)
		rc = vgg_weights_writer_meta(wr, "vgg.resize", "0", NULL) ||
		     vgg_weights_writer_meta(wr, "vgg.crop", "32x32", NULL) ||
		     vgg_weights_writer_write(wr, scratch_path(p, sizeof p, "padded.safetensors"),
		                              NULL);
	vgg_weights_writer_free(wr);
	for (int i = 0; i < 64; i++)
		free(data[i]);
	vgg_weights_free(w);
	vgg_net *net;
	if (rc || vgg_net_load(p, &net, NULL)) {
		CHECK(0, "a weights file with vgg.resize 0 and vgg.crop 32x32 loads");
		return;
	}
	vgg_image *img;
	rc = vgg_image_read(test_data_path(p, sizeof p, "../../share/vgg/samples/ankle-boot.png"),
	                    0, &img, NULL);
	vgg_augment a = {.crop_h = 32, .crop_w = 32, .pad = 4, .flip = 1};
	a.norm = *vgg_net_preprocess(net);
	float *want = NULL, got[32 * 32];
	int h, wd;
	if (!rc)
		rc = vgg_preprocess_image(vgg_net_preprocess(net), img, 1, &want, &h, &wd, NULL) ||
		     vgg__augment_image(&a, img, 1, NULL, got, NULL);
	CHECK(!rc && vgg_image_width(img) == 28 && h == 32 && wd == 32 &&
	      memcmp(got, want, sizeof got) == 0,
	      "eval: a 28x28 image centred in 32x32 as vgg-predict preprocesses it");
	free(want);
	vgg_image_free(img);
	vgg_net_free(net);
}

static void test_refused(void)
{
	static const struct {
		vgg_augment a;
		const char *what;
	} bad[] = {
		{{.crop_h = 0, .crop_w = 4}, "crop 0x4"},
		{{.crop_h = 4, .crop_w = 70000}, "crop 4x70000"},
		{{.crop_h = 4, .crop_w = 4, .scale_min = 9, .scale_max = 8}, "scale 9 to 8"},
		{{.crop_h = 4, .crop_w = 4, .scale_max = 8}, "scale 0 to 8: 0 (no rescaling)"},
		{{.crop_h = 4, .crop_w = 4, .pad = -1}, "padding -1"},
		{{.crop_h = 4, .crop_w = 4, .colour = -0.1f}, "colour shift -0.1"},
		{{.crop_h = 4, .crop_w = 4, .colour = NAN}, "colour shift nan"},
		{{.crop_h = 4, .crop_w = 4, .eigval = {INFINITY}}, "eigen-decomposition holds inf"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		vgg_augment a = bad[i].a;
		vgg_preprocess_torchvision(&a.norm);
		vgg_error err = {0};
		int rc = vgg__augment_check(&a, 3, &err);
		CHECK(rc == VGG_ERANGE && strstr(err.msg, bad[i].what), "refused: %s", bad[i].what);
		if (!strstr(err.msg, bad[i].what))
			printf("#   %s\n", err.msg);
	}
	vgg_augment a = {.crop_h = 4, .crop_w = 4};
	vgg_preprocess_torchvision(&a.norm);
	a.norm.std[1] = 0;
	vgg_error err = {0};
	CHECK(vgg__augment_check(&a, 3, &err) == VGG_ERANGE && strstr(err.msg, "std of channel 1"),
	      "refused: a zero std");
}

int main(void)
{
	scratch_new();
	test_rng();
	test_crop_flip_pad();
	test_small_images();
	test_scale_jitter();
	test_colour();
	check_eval("small-rgb.png", 3, VGG_RESIZE_PIL_BILINEAR);
	check_eval("small-rgb.png", 1, VGG_RESIZE_CV_LINEAR);
	check_eval("photo-gray.jpg", 3, VGG_RESIZE_PIL_BILINEAR);
	check_eval("photo.jpg", 3, VGG_RESIZE_CV_LINEAR);
	test_eval_as_predict();
	test_refused();
	scratch_done();
	return tap_done();
}
