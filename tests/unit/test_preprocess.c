/*
 * test_preprocess.c: resize.c against Pillow's and OpenCV's bytes, and preprocess.c's
 * channels, sizes, crops and normalisation against torchvision's and Caffe's pipelines.
 * Small cases are written out here, with the values Pillow 9.4 and OpenCV 4.6 give; the
 * photographs come from tests/golden/make_preprocess_goldens.py, listed in
 * tests/data/preprocess/MANIFEST.
 */
#include <stdint.h>
#include <stdlib.h>

#include "resize.h"
#include "tap.h"
#include "testdata.h"

static const char *filter_name(enum vgg_resize_filter f)
{
	return f == VGG_RESIZE_PIL_BILINEAR ? "PIL" : "OpenCV";
}

/* Resizes sw x sh x cn pixels to dw x dh and checks every byte against `want`. */
static void check_resize(enum vgg_resize_filter f, const unsigned char *src, int sw, int sh,
                         int cn, int dw, int dh, const unsigned char *want, const char *what)
{
	size_t n = (size_t)dw * (size_t)dh * (size_t)cn;
	unsigned char *got = malloc(n);
	int rc = got ? vgg__resize(f, src, sw, sh, cn, got, dw, dh, NULL) : VGG_ENOMEM;
	size_t bad = 0, first = 0;
	for (size_t i = 0; !rc && i < n; i++)
		if (got[i] != want[i] && !bad++)
			first = i;
	CHECK(!rc && !bad, "%s %s: %dx%d to %dx%d", filter_name(f), what, sw, sh, dw, dh);
	if (!rc && bad)
		printf("#   %zu bytes differ; byte %zu is %d, want %d\n", bad, first, got[first],
		       want[first]);
	free(got);
}

static void test_resize_small(void)
{
	enum vgg_resize_filter pil = VGG_RESIZE_PIL_BILINEAR, cv = VGG_RESIZE_CV_LINEAR;

	static const unsigned char odd[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	                                    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
	                                    29, 30};
	check_resize(pil, odd, 5, 2, 3, 5, 2, odd, "identity");
	check_resize(cv, odd, 5, 2, 3, 5, 2, odd, "identity");

	/* One pixel spreads everywhere, and an even image stays even. */
	static const unsigned char one[] = {7, 99, 240};
	unsigned char spread[3 * 3 * 2];
	for (int i = 0; i < 6; i++)
		memcpy(spread + 3 * i, one, 3);
	check_resize(pil, one, 1, 1, 3, 3, 2, spread, "one pixel");
	check_resize(cv, one, 1, 1, 3, 3, 2, spread, "one pixel");
	check_resize(pil, spread, 3, 2, 3, 1, 1, one, "to one pixel, uniform");
	check_resize(cv, spread, 3, 2, 3, 1, 1, one, "to one pixel, uniform");

	/*
	 * Halving a row: PIL's triangle spans 4 inputs at scale 2 (weights 3/7, 3/7, 1/7 at the
	 * edges); OpenCV samples midway between two, (10 + 20) / 2 and (30 + 40) / 2.
	 */
	static const unsigned char row4[] = {10, 20, 30, 40};
	check_resize(pil, row4, 4, 1, 1, 2, 1, (const unsigned char[]){17, 33}, "2x down");
	check_resize(cv, row4, 4, 1, 1, 2, 1, (const unsigned char[]){15, 35}, "2x down");

	/* Doubling: centres 0.25 and 0.75 apart from the inputs; both agree by hand. */
	static const unsigned char row2[] = {0, 255};
	static const unsigned char up[] = {0, 64, 191, 255};
	check_resize(pil, row2, 2, 1, 1, 4, 1, up, "2x up");
	check_resize(cv, row2, 2, 1, 1, 4, 1, up, "2x up");

	/* OpenCV halves both sides as 2x2 means, ties rounded up: (1+2+3+4)/4 = 2.5 gives 3. */
	static const unsigned char block[] = {1, 2, 0, 0, 3, 4, 0, 0, 9, 9, 250, 251,
	                                      9, 10, 252, 255};
	check_resize(cv, block, 4, 4, 1, 2, 2, (const unsigned char[]){3, 0, 9, 252},
	             "2x2 blocks");
	check_resize(pil, block, 4, 4, 1, 2, 2, (const unsigned char[]){8, 31, 38, 187},
	             "2x2 blocks");

	/* Odd sizes both ways, gray and colour. */
	static const unsigned char g5x3[] = {0, 40, 80, 120, 160, 10, 60, 110, 160, 210,
	                                     255, 200, 150, 100, 50};
	check_resize(pil, g5x3, 5, 3, 1, 3, 2,
	             (const unsigned char[]){22, 91, 160, 156, 135, 115}, "odd down");
	check_resize(cv, g5x3, 5, 3, 1, 3, 2,
	             (const unsigned char[]){17, 88, 158, 184, 140, 98}, "odd down");
	static const unsigned char pil8x7[] = {
		0, 18, 43, 68, 93, 118, 143, 160, 1, 20, 46, 72, 98, 124, 149, 167,
		6, 26, 54, 83, 112, 140, 169, 189, 10, 32, 63, 94, 126, 157, 188, 210,
		115, 117, 120, 125, 129, 134, 138, 141, 220, 203, 178, 156, 133, 111, 89, 73,
		255, 231, 197, 166, 134, 103, 72, 50};
	static const unsigned char cv8x7[] = {
		0, 17, 42, 67, 92, 117, 142, 160, 1, 19, 45, 71, 97, 123, 149, 167,
		6, 26, 54, 83, 111, 140, 168, 188, 10, 32, 63, 94, 126, 157, 188, 210,
		115, 117, 120, 125, 129, 134, 138, 141, 220, 202, 178, 155, 133, 111, 88, 73,
		255, 231, 197, 166, 134, 103, 72, 50};
	check_resize(pil, g5x3, 5, 3, 1, 8, 7, pil8x7, "odd up");
	check_resize(cv, g5x3, 5, 3, 1, 8, 7, cv8x7, "odd up");
	static const unsigned char rgb3x2[] = {0, 10, 250, 30, 80, 130, 255, 0, 77,
	                                       5, 6, 7, 200, 100, 50, 90, 180, 45};
	check_resize(pil, rgb3x2, 3, 2, 3, 2, 3,
	             (const unsigned char[]){11, 36, 205, 171, 30, 97, 45, 39, 114, 151, 90, 72,
	                                     78, 41, 23, 131, 150, 47}, "colour, odd");
	check_resize(cv, rgb3x2, 3, 2, 3, 2, 3,
	             (const unsigned char[]){7, 27, 220, 199, 20, 90, 31, 29, 119, 158, 90, 68,
	                                     54, 29, 18, 117, 160, 46}, "colour, odd");
}

/* An image made through the PNM decoder: w x h pixels of c channels. */
static vgg_image *make_image(int w, int h, int c, const unsigned char *pix)
{
	size_t n = (size_t)w * (size_t)h * (size_t)c;
	char *buf = malloc(n + 32);
	vgg_image *img = NULL;
	if (!buf)
		return NULL;
	int len = snprintf(buf, 32, "P%c\n%d %d\n255\n", c == 3 ? '6' : '5', w, h);
	memcpy(buf + len, pix, n);
	if (vgg_image_decode(buf, (size_t)len + n, "test", 0, &img, NULL))
		img = NULL;
	free(buf);
	return img;
}

/* A pipeline that only crops: the tensor's values are the pixels themselves. */
static vgg_preprocess identity_pipeline(int crop_h, int crop_w)
{
	vgg_preprocess p;
	vgg_preprocess_torchvision(&p);
	p.scale = 1.0f;
	for (int c = 0; c < 3; c++) {
		p.mean[c] = 0.0f;
		p.std[c] = 1.0f;
	}
	p.resize = 0;
	p.crop_h = crop_h;
	p.crop_w = crop_w;
	return p;
}

/* The left offset of a 1-row crop of a width x 1 gray ramp (pixel x is x mod 256). */
static int crop_left(int width, int crop)
{
	unsigned char *ramp = malloc((size_t)width);
	int left = -1, h, w;
	float *t = NULL;
	for (int x = 0; ramp && x < width; x++)
		ramp[x] = (unsigned char)x;
	vgg_image *img = ramp ? make_image(width, 1, 1, ramp) : NULL;
	vgg_preprocess p = identity_pipeline(1, crop);
	if (img && !vgg_preprocess_image(&p, img, 1, &t, &h, &w, NULL) && w == crop)
		left = (int)t[0];
	free(t);
	vgg_image_free(img);
	free(ramp);
	return left;
}

static void test_crop(void)
{
	/* torchvision's int(round(d / 2.0)): Python rounds halves to even. */
	CHECK_EQ_INT(crop_left(257, 224), 16, "257 - 224 = 33: offset 16.5 rounds to 16");
	CHECK_EQ_INT(crop_left(259, 224), 18, "259 - 224 = 35: offset 17.5 rounds to 18");
	CHECK_EQ_INT(crop_left(258, 224), 17, "258 - 224 = 34: offset 17");
	CHECK_EQ_INT(crop_left(7, 4), 2, "7 - 4 = 3: offset 1.5 rounds to 2");
	CHECK_EQ_INT(crop_left(9, 4), 2, "9 - 4 = 5: offset 2.5 rounds to 2");
	CHECK_EQ_INT(crop_left(5, 5), 0, "a crop of the whole width");

	/* Smaller than the crop: zeros, (crop - size) / 2 of them before, the rest after. */
	static const unsigned char pix[] = {1, 2, 3, 4, 5, 6};
	vgg_image *img = make_image(3, 2, 1, pix);
	vgg_preprocess p = identity_pipeline(5, 6);
	p.mean[0] = 10.0f;
	float *t = NULL;
	int h = 0, w = 0;
	int rc = img ? vgg_preprocess_image(&p, img, 1, &t, &h, &w, NULL) : -1;
	CHECK(rc == VGG_OK && h == 5 && w == 6, "3x2 padded to a 6x5 crop");
	if (!rc) {
		/* Row 0 and rows 3-4 are padding, as are columns 0 and 4-5. */
		static const float want[5][6] = {
			{-10, -10, -10, -10, -10, -10},
			{-10, -9, -8, -7, -10, -10},
			{-10, -6, -5, -4, -10, -10},
			{-10, -10, -10, -10, -10, -10},
			{-10, -10, -10, -10, -10, -10},
		};
		CHECK(memcmp(t, want, sizeof want) == 0,
		      "padding is pixel 0, 1 above and 2 below, 1 left and 2 right");
	}
	free(t);
	/* Padding one side while cropping the other. */
	p = identity_pipeline(4, 2);
	rc = img ? vgg_preprocess_image(&p, img, 1, &t, &h, &w, NULL) : -1;
	static const float cropped[] = {0, 0, 1, 2, 4, 5, 0, 0};
	CHECK(rc == VGG_OK && h == 4 && w == 2 && memcmp(t, cropped, sizeof cropped) == 0,
	      "3x2 to a 2x4 crop: a row of padding each side, offset round(0.5) = 0");
	free(t);
	vgg_image_free(img);
}

static void test_channels(void)
{
	static const unsigned char gray[] = {0, 200};
	vgg_image *img = make_image(2, 1, 1, gray);
	vgg_preprocess p = identity_pipeline(0, 0);
	float *t = NULL;
	int h, w;
	int rc = img ? vgg_preprocess_image(&p, img, 3, &t, &h, &w, NULL) : -1;
	CHECK(rc == VGG_OK && t[0] == 0 && t[1] == 200 && t[2] == 0 && t[3] == 200 &&
	      t[4] == 0 && t[5] == 200, "gray to 3 channels replicates");
	free(t);
	vgg_image_free(img);

	/* Pillow's convert("L"): (R*19595 + G*38470 + B*7471 + 0x8000) >> 16. */
	static const unsigned char rgb[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255,
	                                    100, 150, 200, 1, 2, 3};
	static const float luma[] = {76, 150, 29, 255, 141, 2};
	img = make_image(6, 1, 3, rgb);
	rc = img ? vgg_preprocess_image(&p, img, 1, &t, &h, &w, NULL) : -1;
	CHECK(rc == VGG_OK && h == 1 && w == 6 && memcmp(t, luma, sizeof luma) == 0,
	      "RGB to 1 channel as PIL's convert(\"L\")");
	free(t);
	vgg_image_free(img);
}

static void test_presets(void)
{
	vgg_preprocess p;
	vgg_preprocess_caffe(&p);
	CHECK(p.bgr == 1 && p.scale == 1.0f && p.mean[0] == 103.939f && p.mean[1] == 116.779f &&
	      p.mean[2] == 123.68f && p.std[0] == 1.0f && p.std[2] == 1.0f && p.resize == 256 &&
	      p.crop_h == 224 && p.crop_w == 224 && p.filter == VGG_RESIZE_CV_LINEAR,
	      "Caffe preset");
	static const unsigned char px[] = {10, 20, 30};
	vgg_image *img = make_image(1, 1, 3, px);
	p.resize = 0;
	p.crop_h = p.crop_w = 0;
	float *t = NULL;
	int h, w;
	int rc = img ? vgg_preprocess_image(&p, img, 3, &t, &h, &w, NULL) : -1;
	CHECK(rc == VGG_OK && t[0] == 30 - 103.939f && t[1] == 20 - 116.779f &&
	      t[2] == 10 - 123.68f, "Caffe: B, G, R planes minus the mean pixel");
	free(t);

	vgg_preprocess_torchvision(&p);
	CHECK(p.bgr == 0 && p.scale == 1.0f / 255 && p.mean[0] == 0.485f && p.std[2] == 0.225f &&
	      p.resize == 256 && p.crop_h == 224 && p.crop_w == 224 &&
	      p.filter == VGG_RESIZE_PIL_BILINEAR, "torchvision preset");
	p.resize = 0;
	p.crop_h = p.crop_w = 0;
	rc = img ? vgg_preprocess_image(&p, img, 3, &t, &h, &w, NULL) : -1;
	CHECK(rc == VGG_OK && fabsf(t[0] - (10 / 255.0f - 0.485f) / 0.229f) < 1e-6f &&
	      fabsf(t[2] - (30 / 255.0f - 0.406f) / 0.225f) < 1e-6f,
	      "torchvision: R, G, B planes, /255, mean and std");
	free(t);
	vgg_image_free(img);
}

/* The tensor size preprocessing gives a w x h gray image with resize 256 and no crop. */
static int resized(int iw, int ih, int *h, int *w)
{
	unsigned char *pix = calloc((size_t)iw, (size_t)ih);
	vgg_image *img = pix ? make_image(iw, ih, 1, pix) : NULL;
	vgg_preprocess p = identity_pipeline(0, 0);
	p.resize = 256;
	float *t = NULL;
	int rc = img ? vgg_preprocess_image(&p, img, 1, &t, h, w, NULL) : -1;
	free(t);
	vgg_image_free(img);
	free(pix);
	return rc;
}

static void test_sizes(void)
{
	int h = 0, w = 0;
	/* torchvision's Resize(256): the longer side int(256 * long / short). */
	CHECK(resized(300, 400, &h, &w) == 0 && w == 256 && h == 341, "300x400 to 256x341");
	CHECK(resized(400, 300, &h, &w) == 0 && w == 341 && h == 256, "400x300 to 341x256");
	CHECK(resized(256, 500, &h, &w) == 0 && w == 256 && h == 500, "256x500 kept");
	CHECK(resized(100, 100, &h, &w) == 0 && w == 256 && h == 256, "100x100 to 256x256");
	CHECK(resized(3, 5, &h, &w) == 0 && w == 256 && h == 426, "3x5 to 256x426, not 427");
}

static void test_errors(void)
{
	static const unsigned char px[] = {1, 2, 3};
	vgg_image *img = make_image(1, 1, 3, px);
	vgg_preprocess p;
	vgg_error err;
	float dummy, *t = &dummy;
	int h, w;
	vgg_preprocess_torchvision(&p);
	int rc = vgg_preprocess_image(&p, img, 2, &t, &h, &w, &err);
	CHECK(rc == VGG_ERANGE && t == NULL, "2 channels refused");
	CHECK_STR(err.msg, "2 input channels: a net takes 1 or 3", "2 channels: message");
	p.std[1] = 0;
	rc = vgg_preprocess_image(&p, img, 3, &t, &h, &w, &err);
	CHECK(rc == VGG_ERANGE && t == NULL, "a std of 0 refused");
	vgg_preprocess_torchvision(&p);
	p.crop_w = -1;
	rc = vgg_preprocess_image(&p, img, 3, &t, &h, &w, &err);
	CHECK(rc == VGG_ERANGE && t == NULL, "a negative crop refused");
	vgg_image_free(img);

	unsigned char row[300] = {0};
	img = make_image(300, 1, 1, row);
	vgg_preprocess_torchvision(&p);
	rc = img ? vgg_preprocess_image(&p, img, 1, &t, &h, &w, &err) : -1;
	CHECK(rc == VGG_ERANGE && t == NULL, "300x1 refused: 76800 pixels long at 256");
	CHECK_STR(err.msg, "a 300x1 image with its shorter side resized to 256 would be over "
	          "65536 pixels long", "too long: message");
	vgg_image_free(img);
}

/* ---- Goldens ---- */

static vgg_image *read_image(const char *name)
{
	char path[512];
	vgg_image *img;
	vgg_error err;
	snprintf(path, sizeof path, "%s/preprocess/%s", test_data_dir(), name);
	if (vgg_image_read(path, 0, &img, &err)) {
		printf("# %s\n", err.msg);
		return NULL;
	}
	return img;
}

/*
 * A float32 .npy as the golden script writes it (v1.0, '<f4', C order) whose shape must be
 * c x h x w; NULL otherwise.
 */
static float *read_npy(const char *name, int c, int h, int w)
{
	char path[512], header[256], want[64];
	unsigned char pre[10];
	snprintf(path, sizeof path, "%s/preprocess/%s", test_data_dir(), name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t n = (size_t)c * (size_t)h * (size_t)w;
	float *data = NULL;
	size_t len = 0;
	if (fread(pre, 1, 10, f) == 10 && memcmp(pre, "\x93NUMPY\x01\x00", 8) == 0)
		len = (size_t)pre[8] | (size_t)pre[9] << 8;
	snprintf(want, sizeof want, "'shape': (%d, %d, %d)", c, h, w);
	if (len && len < sizeof header && fread(header, 1, len, f) == len) {
		header[len] = 0;
		if (strstr(header, "'descr': '<f4'") && strstr(header, "'fortran_order': False") &&
		    strstr(header, want))
			data = malloc(n * sizeof *data);
	}
	for (size_t i = 0; data && i < n; i++) {
		unsigned char b[4];
		uint32_t u;
		if (fread(b, 1, 4, f) != 4) {
			free(data);
			data = NULL;
			break;
		}
		u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
		memcpy(&data[i], &u, 4);
	}
	fclose(f);
	return data;
}

static void golden_resize(const char *filter, const char *input, const char *output)
{
	vgg_image *in = read_image(input), *want = read_image(output);
	enum vgg_resize_filter f = strcmp(filter, "cv") == 0 ? VGG_RESIZE_CV_LINEAR
	                                                     : VGG_RESIZE_PIL_BILINEAR;
	CHECK(in && want && vgg_image_channels(in) == vgg_image_channels(want),
	      "%s and %s read", input, output);
	if (in && want && vgg_image_channels(in) == vgg_image_channels(want))
		check_resize(f, vgg_image_pixels(in), vgg_image_width(in), vgg_image_height(in),
		             vgg_image_channels(in), vgg_image_width(want), vgg_image_height(want),
		             vgg_image_pixels(want), output);
	vgg_image_free(in);
	vgg_image_free(want);
}

static void golden_pipeline(const char *preset, const char *input, int channels, int resize,
                            int crop_h, int crop_w, const char *output)
{
	vgg_preprocess p;
	vgg_image *img = read_image(input);
	float *want = read_npy(output, channels, crop_h, crop_w), *got = NULL;
	int h = 0, w = 0;
	CHECK(img && want, "%s and %s read", input, output);
	if (strcmp(preset, "caffe") == 0)
		vgg_preprocess_caffe(&p);
	else
		vgg_preprocess_torchvision(&p);
	p.resize = resize;
	p.crop_h = crop_h;
	p.crop_w = crop_w;
	int rc = img ? vgg_preprocess_image(&p, img, channels, &got, &h, &w, NULL) : -1;
	CHECK(rc == VGG_OK && h == crop_h && w == crop_w, "%s: %s pipeline runs", input, preset);
	if (!rc && want) {
		/* Errors also in pixel units (0..255), as x = (v * scale - mean) / std. */
		double max = 0, sum = 0;
		size_t plane = (size_t)h * (size_t)w, n = (size_t)channels * plane;
		for (size_t i = 0; i < n; i++) {
			double d = fabs((double)got[i] - want[i]);
			if (d > max)
				max = d;
			sum += d * p.std[i / plane] / p.scale;
		}
		CHECK(max <= 1e-5, "%s: %s agrees with %s within 1e-5", input, output, preset);
		CHECK(sum / (double)n < 0.5, "%s: mean error under half a pixel level", output);
		printf("#   max abs error %.3g; mean abs error %.3g/255\n", max, sum / (double)n);
	}
	free(got);
	free(want);
	vgg_image_free(img);
}

static void test_goldens(void)
{
	char path[512], line[512];
	int cases = 0;
	snprintf(path, sizeof path, "%s/preprocess/MANIFEST", test_data_dir());
	FILE *f = fopen(path, "r");
	CHECK(f != NULL, "%.200s opens", path);
	while (f && fgets(line, sizeof line, f)) {
		char kind[16], b[64], c[64];
		int channels, resize, crop_h, crop_w;
		if (line[0] == '#')
			continue;
		if (sscanf(line, "resize %15s %63s %63s", kind, b, c) == 3) {
			golden_resize(kind, b, c);
		} else if (sscanf(line, "pipeline %15s %63s %d %d %d %d %63s", kind, b, &channels,
		                  &resize, &crop_h, &crop_w, c) == 7) {
			golden_pipeline(kind, b, channels, resize, crop_h, crop_w, c);
		} else {
			CHECK(0, "MANIFEST line understood: %.200s", line);
			continue;
		}
		cases++;
	}
	if (f)
		fclose(f);
	CHECK(cases >= 20, "%d golden cases", cases);
}

int main(void)
{
	test_resize_small();
	test_crop();
	test_channels();
	test_presets();
	test_sizes();
	test_errors();
	test_goldens();
	return tap_done();
}
