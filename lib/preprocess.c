/*
 * preprocess.c: a decoded image into the float tensor a net takes, step for step as the
 * pipelines the weights were trained with (../shared/FORMATS.md, "Preprocessing
 * conventions"):
 *   1. channels: gray replicated to RGB, or RGB to luma as PIL's convert("L");
 *   2. the shorter side resized to p->resize, the longer to int(resize * long / short), as
 *      torchvision's Resize(int); resize.c does the pixels as PIL or OpenCV would;
 *   3. a centre crop as torchvision's CenterCrop: offset round((size - crop) / 2) with ties
 *      to even, and zero padding split as evenly as it can when the image is smaller (each
 *      side on its own; a crop side of 0 keeps that side);
 *   4. (pixel * scale - mean) / std per channel, planar, in RGB or BGR order.
 * Each step works on 8-bit pixels, like the libraries, so rounding happens where theirs does.
 */
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"
#include "resize.h"

void vgg_preprocess_torchvision(vgg_preprocess *p)
{
	*p = (vgg_preprocess){
		.bgr = 0,
		.scale = 1.0f / 255.0f,
		.mean = {0.485f, 0.456f, 0.406f},
		.std = {0.229f, 0.224f, 0.225f},
		.resize = 256,
		.crop_h = 224,
		.crop_w = 224,
		.filter = VGG_RESIZE_PIL_BILINEAR,
	};
}

void vgg_preprocess_caffe(vgg_preprocess *p)
{
	*p = (vgg_preprocess){
		.bgr = 1,
		.scale = 1.0f,
		.mean = {103.939f, 116.779f, 123.68f},
		.std = {1.0f, 1.0f, 1.0f},
		.resize = 256,
		.crop_h = 224,
		.crop_w = 224,
		.filter = VGG_RESIZE_CV_LINEAR,
	};
}

int vgg__preprocess_check(const vgg_preprocess *p, int channels, vgg_error *err)
{
	if (channels != 1 && channels != 3)
		return vgg__fail(err, VGG_ERANGE, "%d input channels: a net takes 1 or 3", channels);
	if (p->filter != VGG_RESIZE_PIL_BILINEAR && p->filter != VGG_RESIZE_CV_LINEAR)
		return vgg__fail(err, VGG_ERANGE, "unknown resize filter %d", (int)p->filter);
	if (p->resize < 0 || p->resize > VGG__MAX_SIDE)
		return vgg__fail(err, VGG_ERANGE, "resize to %d: out of range (0 to %d)", p->resize,
		                 VGG__MAX_SIDE);
	if (p->crop_h < 0 || p->crop_h > VGG__MAX_SIDE || p->crop_w < 0 ||
	    p->crop_w > VGG__MAX_SIDE)
		return vgg__fail(err, VGG_ERANGE, "crop %dx%d: out of range (0 to %d each side)",
		                 p->crop_h, p->crop_w, VGG__MAX_SIDE);
	uint64_t limit;
	int rc = vgg__max_pixels("", &limit, err);
	if (rc)
		return rc;
	if ((uint64_t)p->crop_h * (uint64_t)p->crop_w > limit)
		return vgg__fail(err, VGG_ERANGE, "crop %dx%d: over the limit of %llu pixels "
		                 "(VGG_MAX_PIXELS)", p->crop_h, p->crop_w, (unsigned long long)limit);
	for (int c = 0; c < channels; c++)
		if (p->std[c] == 0.0f)
			return vgg__fail(err, VGG_ERANGE, "std of channel %d is 0: values are divided "
			                 "by it", c);
	return VGG_OK;
}

/* a * b * c bytes, or NULL when that does not fit a size_t or malloc fails; none is 0. */
static void *alloc3(size_t a, size_t b, size_t c)
{
	if (a > SIZE_MAX / b || a * b > SIZE_MAX / c)
		return NULL;
	return malloc(a * b * c);
}

/* The n pixels of `pix` (1 or 3 channels) with the other number of channels. */
static unsigned char *convert_channels(const unsigned char *pix, size_t n, int to)
{
	unsigned char *out = alloc3(n, (size_t)to, 1);
	if (!out)
		return NULL;
	if (to == 3) {
		for (size_t i = 0; i < n; i++)
			memset(out + 3 * i, pix[i], 3);
		return out;
	}
	/* Pillow 9.4's rgb2l: ITU-R 601 weights in 16-bit fixed point, rounded to nearest. */
	for (size_t i = 0; i < n; i++) {
		const unsigned char *q = pix + 3 * i;
		out[i] = (unsigned char)((q[0] * 19595u + q[1] * 38470u + q[2] * 7471u + 0x8000u) >> 16);
	}
	return out;
}

/* torchvision's Resize(size) for an int size; the image keeps its size when size is 0. */
static int resized_size(int w, int h, int size, int *rw, int *rh, vgg_error *err)
{
	int shorter = w <= h ? w : h, longer = w <= h ? h : w;
	*rw = w;
	*rh = h;
	if (size == 0 || shorter == size)
		return VGG_OK;
	/* Python's int(size * long / short): an exact product, one rounding, truncation. */
	double l = (double)size * longer / shorter;
	if (l > VGG__MAX_SIDE)
		return vgg__fail(err, VGG_ERANGE,
		                 "a %dx%d image with its shorter side resized to %d would be over %d "
		                 "pixels long", w, h, size, VGG__MAX_SIDE);
	*rw = w <= h ? size : (int)l;
	*rh = w <= h ? (int)l : size;
	/* A small image resized to a large side is as large an image as one decoded. */
	uint64_t limit;
	int rc = vgg__max_pixels("", &limit, err);
	if (!rc && (uint64_t)*rw * (uint64_t)*rh > limit)
		rc = vgg__fail(err, VGG_ERANGE, "a %dx%d image with its shorter side resized to %d "
		               "would be %dx%d, over the limit of %llu pixels (VGG_MAX_PIXELS)", w, h,
		               size, *rw, *rh, (unsigned long long)limit);
	return rc;
}

/*
 * Where a centre crop of `crop` starts in `size`: torchvision's int(round((size - crop) / 2))
 * with Python's ties to even, or minus the zero padding before the image when it is smaller.
 */
int vgg__crop_offset(int size, int crop)
{
	if (crop > size)
		return -((crop - size) / 2);
	int d = size - crop, k = d / 2;
	if (d % 2 && k % 2)
		k++;
	return k;
}

void vgg__preprocess_crop(const vgg_preprocess *p, const unsigned char *pix, int rw, int rh,
                          int channels, int oy, int ox, int flip, const float *shift, float *t,
                          int ch, int cw)
{
	for (int c = 0; c < channels; c++) {
		int src_c = p->bgr && channels == 3 ? 2 - c : c;
		float sh = shift ? shift[src_c] : 0.0f;
		/* Every output value is one of 256, the same arithmetic as torchvision's per pixel. */
		float lut[256];
		for (int v = 0; v < 256; v++)
			lut[v] = (((float)v + sh) * p->scale - p->mean[c]) / p->std[c];
		float *plane = t + (size_t)c * (size_t)ch * (size_t)cw;
		for (int y = 0; y < ch; y++) {
			float *row = plane + (size_t)y * (size_t)cw;
			int sy = y + oy;
			for (int x = 0; x < cw; x++) {
				int sx = flip ? ox + cw - 1 - x : ox + x;
				int inside = sy >= 0 && sy < rh && sx >= 0 && sx < rw;
				row[x] = lut[inside ? pix[((size_t)sy * (size_t)rw + (size_t)sx) *
				                          (size_t)channels + (size_t)src_c] : 0];
			}
		}
	}
}

int vgg__preprocess_pixels(const vgg_image *img, int channels, int size,
                           enum vgg_resize_filter filter, const unsigned char **pix,
                           unsigned char **owned, int *rw, int *rh, vgg_error *err)
{
	int iw = vgg_image_width(img), ih = vgg_image_height(img);
	*owned = NULL;
	int rc = resized_size(iw, ih, size, rw, rh, err);
	if (rc)
		return rc;
	*pix = vgg_image_pixels(img);
	if (vgg_image_channels(img) != channels) {
		if (!(*owned = convert_channels(*pix, (size_t)iw * (size_t)ih, channels)))
			return vgg__fail(err, VGG_ENOMEM, "out of memory converting a %dx%d image to "
			                 "%d channels", iw, ih, channels);
		*pix = *owned;
	}
	if (*rw != iw || *rh != ih) {
		unsigned char *resized = alloc3((size_t)*rw, (size_t)*rh, (size_t)channels);
		rc = resized ? vgg__resize(filter, *pix, iw, ih, channels, resized, *rw, *rh, err)
		             : vgg__fail(err, VGG_ENOMEM, "out of memory resizing to %dx%d", *rw, *rh);
		free(*owned);
		*owned = resized;
		if (rc) {
			free(resized);
			*owned = NULL;
			return rc;
		}
		*pix = resized;
	}
	return VGG_OK;
}

int vgg_preprocess_image(const vgg_preprocess *p, const vgg_image *img, int channels,
                         float **out, int *h, int *w, vgg_error *err)
{
	*out = NULL;
	int rc = vgg__preprocess_check(p, channels, err);
	if (rc)
		return rc;
	const unsigned char *pix;
	unsigned char *owned;
	int rw, rh;
	if ((rc = vgg__preprocess_pixels(img, channels, p->resize, p->filter, &pix, &owned, &rw,
	                                 &rh, err)))
		return rc;
	int ch = p->crop_h ? p->crop_h : rh, cw = p->crop_w ? p->crop_w : rw;
	float *t = alloc3((size_t)channels * (size_t)ch, (size_t)cw, sizeof *t);
	if (t)
		vgg__preprocess_crop(p, pix, rw, rh, channels, vgg__crop_offset(rh, ch),
		                     vgg__crop_offset(rw, cw), 0, NULL, t, ch, cw);
	free(owned);
	if (!t)
		return vgg__fail(err, VGG_ENOMEM, "out of memory for a %dx%dx%d tensor", channels,
		                 ch, cw);
	*out = t;
	*h = ch;
	*w = cw;
	return VGG_OK;
}
