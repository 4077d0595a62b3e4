/*
 * resize.c: 8-bit image resizing, byte for byte as the libraries the weights were trained
 * with do it, because a net's accuracy is quoted for its own pipeline's pixels.
 *
 * Pillow 9.4, Image.resize(size, BILINEAR) (src/libImaging/Resample.c), which torchvision's
 * Resize uses on PIL images:
 *   - a separable convolution with the triangle filter, widened by the downscale factor so
 *     that shrinking averages (antialiasing): for output pixel i, centre (i + 0.5) * scale,
 *     support max(scale, 1), inputs from (int)(centre - support + 0.5) to
 *     (int)(centre + support + 0.5) clipped to the image, weights normalised to sum 1;
 *   - weights in fixed point with 22 fraction bits, sums rounded by adding half and
 *     clipped to 0..255;
 *   - the horizontal pass first, over only the rows the vertical pass reads, then the
 *     vertical pass; a pass whose size does not change is skipped.
 * OpenCV 4.6, cv::resize(INTER_LINEAR) on 8-bit images (modules/imgproc/src/resize.cpp),
 * which Caffe-era pipelines use:
 *   - no antialiasing: output pixel d samples input coordinate (d + 0.5) * scale - 0.5
 *     (computed in double, rounded to float) between its two neighbours; columns past the
 *     edges are clamped, rows past the edges repeat the edge row with the weights kept;
 *   - weights rounded (half to even) to 11-bit fixed point; the horizontal pass keeps 32-bit
 *     sums, the vertical pass drops 4 bits of each row and 16 of each product before
 *     rounding away the last 2, as OpenCV's SIMD and scalar code both do;
 *   - an exact halving of both sides is done as INTER_AREA: the rounded mean of 2x2 blocks.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resize.h"

/* Pillow's PRECISION_BITS: 8 bits of result and 2 of headroom left in an int32. */
#define PIL_BITS (32 - 8 - 2)
/* OpenCV's INTER_RESIZE_COEF_BITS. */
#define CV_BITS 11
#define CV_ONE (1 << CV_BITS)

static void *alloc_array(size_t n, size_t size)
{
	if (n > SIZE_MAX / size)
		return NULL;
	return malloc(n * size);
}

/* ---- Pillow ---- */

/* The weights of one pass: output pixel i reads count[i] inputs from first[i] on. */
struct pil_pass {
	int ksize;          /* room for weights per output pixel */
	int *first, *count;
	int32_t *k;         /* ksize fixed-point weights per output pixel */
};

static void pil_pass_free(struct pil_pass *p)
{
	free(p->first);
	free(p->count);
	free(p->k);
}

static double triangle(double x)
{
	if (x < 0.0)
		x = -x;
	return x < 1.0 ? 1.0 - x : 0.0;
}

/* Pillow's precompute_coeffs and normalize_coeffs_8bpc, in their order of operations. */
static int pil_pass_new(int in_size, int out_size, struct pil_pass *p)
{
	/* Pillow receives the box as floats, hence the detour through float. */
	double scale = (double)(float)in_size / out_size;
	double filterscale = scale < 1.0 ? 1.0 : scale;
	double support = filterscale; /* the triangle's, 1, widened when shrinking */
	double ss = 1.0 / filterscale;
	double *w;
	memset(p, 0, sizeof *p);
	p->ksize = (int)ceil(support) * 2 + 1;
	p->first = alloc_array((size_t)out_size, sizeof *p->first);
	p->count = alloc_array((size_t)out_size, sizeof *p->count);
	p->k = alloc_array((size_t)out_size * (size_t)p->ksize, sizeof *p->k);
	w = alloc_array((size_t)p->ksize, sizeof *w);
	if (!p->first || !p->count || !p->k || !w) {
		free(w);
		pil_pass_free(p);
		return 0;
	}
	for (int i = 0; i < out_size; i++) {
		double center = (i + 0.5) * scale;
		double ww = 0.0;
		int xmin = (int)(center - support + 0.5);
		int xmax = (int)(center + support + 0.5);
		if (xmin < 0)
			xmin = 0;
		if (xmax > in_size)
			xmax = in_size;
		xmax -= xmin;
		for (int x = 0; x < xmax; x++) {
			w[x] = triangle((x + xmin - center + 0.5) * ss);
			ww += w[x];
		}
		/* ww > 0: the nearest input lies within half a pixel of the centre. */
		int32_t *k = p->k + (size_t)i * (size_t)p->ksize;
		for (int x = 0; x < xmax; x++)
			k[x] = (int32_t)(0.5 + w[x] / ww * (1 << PIL_BITS));
		p->first[i] = xmin;
		p->count[i] = xmax;
	}
	free(w);
	return 1;
}

static unsigned char pil_clip8(int32_t ss)
{
	/* The weights are never negative, but their rounding can push a sum past 255. */
	int32_t v = ss >> PIL_BITS;
	return (unsigned char)(v > 255 ? 255 : v);
}

/* Resamples `rows` rows of `src`, from row `row0` on, across; dst rows are dw pixels. */
static void pil_horizontal(const unsigned char *src, int sw, int cn, int row0, int rows,
                           unsigned char *dst, int dw, const struct pil_pass *p)
{
	for (int y = 0; y < rows; y++) {
		const unsigned char *in = src + (size_t)(row0 + y) * (size_t)sw * (size_t)cn;
		unsigned char *out = dst + (size_t)y * (size_t)dw * (size_t)cn;
		for (int x = 0; x < dw; x++) {
			const int32_t *k = p->k + (size_t)x * (size_t)p->ksize;
			const unsigned char *s = in + (size_t)p->first[x] * (size_t)cn;
			for (int c = 0; c < cn; c++) {
				int32_t ss = 1 << (PIL_BITS - 1);
				for (int i = 0; i < p->count[x]; i++)
					ss += s[i * cn + c] * k[i];
				out[x * cn + c] = pil_clip8(ss);
			}
		}
	}
}

/* Resamples src (rows of `width` pixels) down the columns into dh rows of dst. */
static void pil_vertical(const unsigned char *src, int width, int cn, unsigned char *dst,
                         int dh, const struct pil_pass *p)
{
	size_t stride = (size_t)width * (size_t)cn;
	for (int y = 0; y < dh; y++) {
		const int32_t *k = p->k + (size_t)y * (size_t)p->ksize;
		const unsigned char *in = src + (size_t)p->first[y] * stride;
		unsigned char *out = dst + (size_t)y * stride;
		for (size_t e = 0; e < stride; e++) {
			int32_t ss = 1 << (PIL_BITS - 1);
			for (int i = 0; i < p->count[y]; i++)
				ss += in[i * stride + e] * k[i];
			out[e] = pil_clip8(ss);
		}
	}
}

/* Pillow's ImagingResampleInner, for sizes that differ. */
static int pil_resize(const unsigned char *src, int sw, int sh, int cn, unsigned char *dst,
                      int dw, int dh)
{
	struct pil_pass vert, horiz;
	if (!pil_pass_new(sh, dh, &vert))
		return 0;
	/* Pillow computes the vertical weights even when that pass is skipped, and takes the
	 * rows the horizontal pass covers from them: all rows then. */
	int row0 = vert.first[0];
	int rows = vert.first[dh - 1] + vert.count[dh - 1] - row0;
	int ok = 1;
	if (sw == dw) {
		pil_vertical(src, sw, cn, dst, dh, &vert);
	} else if (!pil_pass_new(sw, dw, &horiz)) {
		ok = 0;
	} else if (sh == dh) {
		pil_horizontal(src, sw, cn, row0, rows, dst, dw, &horiz);
		pil_pass_free(&horiz);
	} else {
		unsigned char *tmp = alloc_array((size_t)rows * (size_t)dw, (size_t)cn);
		if (tmp) {
			pil_horizontal(src, sw, cn, row0, rows, tmp, dw, &horiz);
			for (int y = 0; y < dh; y++)
				vert.first[y] -= row0;
			pil_vertical(tmp, dw, cn, dst, dh, &vert);
			free(tmp);
		}
		ok = tmp != NULL;
		pil_pass_free(&horiz);
	}
	pil_pass_free(&vert);
	return ok;
}

/* ---- OpenCV ---- */

/* cvRound on a float, as saturate_cast<short> does it: to nearest, ties to even. */
static short cv_round(float v)
{
	return (short)lrintf(v);
}

/* Where output coordinate d samples: input pixel *s and the fraction *f past it. */
static void cv_sample(int d, double scale, int *s, float *f)
{
	float fx = (float)((d + 0.5) * scale - 0.5);
	int sx = (int)floorf(fx);
	*s = sx;
	*f = fx - (float)sx;
}

/* OpenCV's clip(): the row that stands in for row i of an image n rows high. */
static int clamp(int i, int n)
{
	return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/* One column of output: inputs x0 and x1 (pixels) with weights a0 and a1. */
struct cv_tap {
	int x0, x1;
	int a0, a1;
};

/* OpenCV's HResizeLinear: one row of src into 32-bit sums. */
static void cv_horizontal(const unsigned char *in, int cn, const struct cv_tap *t, int dw,
                          int32_t *out)
{
	for (int x = 0; x < dw; x++) {
		const unsigned char *s0 = in + t[x].x0 * cn, *s1 = in + t[x].x1 * cn;
		for (int c = 0; c < cn; c++)
			out[x * cn + c] = s0[c] * t[x].a0 + s1[c] * t[x].a1;
	}
}

/* The 2x2 block means OpenCV switches to when both sides halve exactly. */
static void cv_halve(const unsigned char *src, int sw, int cn, unsigned char *dst, int dw,
                     int dh)
{
	size_t stride = (size_t)sw * (size_t)cn;
	for (int y = 0; y < dh; y++) {
		const unsigned char *a = src + (size_t)(2 * y) * stride, *b = a + stride;
		unsigned char *out = dst + (size_t)y * (size_t)dw * (size_t)cn;
		for (int x = 0; x < dw; x++)
			for (int c = 0; c < cn; c++) {
				int i = 2 * x * cn + c;
				int sum = a[i] + a[i + cn] + b[i] + b[i + cn];
				out[x * cn + c] = (unsigned char)((sum + 2) >> 2);
			}
	}
}

static int cv_resize(const unsigned char *src, int sw, int sh, int cn, unsigned char *dst,
                     int dw, int dh)
{
	if (sw == 2 * dw && sh == 2 * dh) {
		cv_halve(src, sw, cn, dst, dw, dh);
		return 1;
	}
	/* OpenCV's scale is the reciprocal of dw / sw, which is not always sw / dw. */
	double scale_x = 1.0 / ((double)dw / sw), scale_y = 1.0 / ((double)dh / sh);
	size_t width = (size_t)dw * (size_t)cn;
	struct cv_tap *taps = alloc_array((size_t)dw, sizeof *taps);
	int32_t *rows = alloc_array(width, 2 * sizeof *rows);
	if (!taps || !rows) {
		free(taps);
		free(rows);
		return 0;
	}
	for (int x = 0; x < dw; x++) {
		int s;
		float f;
		cv_sample(x, scale_x, &s, &f);
		if (s < 0) {
			s = 0;
			f = 0.0f;
		}
		if (s >= sw - 1) {
			s = sw - 1;
			f = 0.0f;
		}
		taps[x].x0 = s;
		taps[x].x1 = s < sw - 1 ? s + 1 : s;
		taps[x].a0 = cv_round((1.0f - f) * CV_ONE);
		taps[x].a1 = cv_round(f * CV_ONE);
	}
	/* The two input rows an output row blends, kept while the next output row needs them. */
	int32_t *row[2] = {rows, rows + width};
	int have[2] = {-1, -1};
	size_t stride = (size_t)sw * (size_t)cn;
	for (int y = 0; y < dh; y++) {
		int s;
		float f;
		cv_sample(y, scale_y, &s, &f);
		int b0 = cv_round((1.0f - f) * CV_ONE), b1 = cv_round(f * CV_ONE);
		int want[2] = {clamp(s, sh), clamp(s + 1, sh)};
		if (want[0] != have[0] && want[0] == have[1]) {
			int32_t *r = row[0];
			row[0] = row[1];
			row[1] = r;
			have[1] = have[0];
			have[0] = want[0];
		}
		for (int i = 0; i < 2; i++)
			if (want[i] != have[i]) {
				cv_horizontal(src + (size_t)want[i] * stride, cn, taps, dw, row[i]);
				have[i] = want[i];
			}
		unsigned char *out = dst + (size_t)y * width;
		for (size_t e = 0; e < width; e++)
			out[e] = (unsigned char)((((b0 * (row[0][e] >> 4)) >> 16) +
			                          ((b1 * (row[1][e] >> 4)) >> 16) + 2) >> 2);
	}
	free(taps);
	free(rows);
	return 1;
}

int vgg__resize(enum vgg_resize_filter filter, const unsigned char *src, int sw, int sh,
                int cn, unsigned char *dst, int dw, int dh, vgg_error *err)
{
	int ok;
	if (sw == dw && sh == dh) {
		/* Both libraries copy an image asked for at its own size. */
		memcpy(dst, src, (size_t)sw * (size_t)sh * (size_t)cn);
		return VGG_OK;
	}
	if (filter == VGG_RESIZE_CV_LINEAR)
		ok = cv_resize(src, sw, sh, cn, dst, dw, dh);
	else
		ok = pil_resize(src, sw, sh, cn, dst, dw, dh);
	if (!ok)
		return vgg__fail(err, VGG_ENOMEM, "out of memory resizing %dx%d to %dx%d", sw, sh,
		                 dw, dh);
	return VGG_OK;
}
