/*
 * conv.c: convolutions as im2col + OpenBLAS sgemm, forward and backward.  The column
 * matrix is built a band of output rows at a time, so its scratch stays at a few MB even
 * for VGG's 224x224 layers (a whole conv1_2 column matrix would be 115 MB).
 */
#include <cblas.h>
#include <string.h>

#include "layers.h"

#define SCRATCH_FLOATS (1u << 20)

static int out_size(int in, int k, int pad)
{
	return in + 2 * pad - k + 1;
}

/* Output rows per band: as many as fit the scratch, at least one. */
static int band_rows(const struct vgg__conv *c, int oh, int ow)
{
	size_t per_row = (size_t)c->in_c * (size_t)c->kh * (size_t)c->kw * (size_t)ow;
	size_t rows = per_row ? SCRATCH_FLOATS / per_row : (size_t)oh;
	if (rows < 1)
		rows = 1;
	return rows > (size_t)oh ? oh : (int)rows;
}

static int direct(const struct vgg__conv *c)
{
	return c->kh == 1 && c->kw == 1 && c->pad == 0;
}

size_t vgg__conv_scratch(const struct vgg__conv *c, int h, int w)
{
	int oh = out_size(h, c->kh, c->pad), ow = out_size(w, c->kw, c->pad);
	if (direct(c) || (oh == 1 && ow == 1 && c->pad == 0))
		return 0;
	return (size_t)c->in_c * (size_t)c->kh * (size_t)c->kw * (size_t)band_rows(c, oh, ow) *
	       (size_t)ow;
}

/* col[(ci*kh + dy)*kw + dx][(y - y0)*ow + x] = in[ci][y + dy - pad][x + dx - pad], or 0. */
static void im2col(const struct vgg__conv *c, const float *in, int h, int w, int y0, int rows,
                   int ow, float *col)
{
	size_t cols = (size_t)rows * (size_t)ow;
	for (int ci = 0; ci < c->in_c; ci++) {
		const float *plane = in + (size_t)ci * (size_t)h * (size_t)w;
		for (int dy = 0; dy < c->kh; dy++) {
			for (int dx = 0; dx < c->kw; dx++) {
				float *dst = col + ((size_t)(ci * c->kh + dy) * (size_t)c->kw + (size_t)dx) * cols;
				for (int r = 0; r < rows; r++) {
					int sy = y0 + r + dy - c->pad;
					float *d = dst + (size_t)r * (size_t)ow;
					if (sy < 0 || sy >= h) {
						memset(d, 0, (size_t)ow * sizeof *d);
						continue;
					}
					const float *srow = plane + (size_t)sy * (size_t)w;
					/* x + dx - pad must lie in [0, w): split into the padded ends and a copy. */
					int x0 = c->pad - dx, x1 = w + c->pad - dx;
					if (x0 < 0)
						x0 = 0;
					if (x1 > ow)
						x1 = ow;
					if (x1 < x0)
						x1 = x0;
					for (int x = 0; x < x0; x++)
						d[x] = 0;
					memcpy(d + x0, srow + x0 + dx - c->pad, (size_t)(x1 - x0) * sizeof *d);
					for (int x = x1; x < ow; x++)
						d[x] = 0;
				}
			}
		}
	}
}

static void bias_relu(const struct vgg__conv *c, float *out, size_t plane)
{
	for (int o = 0; o < c->out_c; o++) {
		float b = c->bias[o], *p = out + (size_t)o * plane;
		if (c->relu) {
			for (size_t i = 0; i < plane; i++)
				p[i] = p[i] + b > 0 ? p[i] + b : 0;
		} else {
			for (size_t i = 0; i < plane; i++)
				p[i] += b;
		}
	}
}

void vgg__conv_forward(const struct vgg__conv *c, const float *in, int n, int h, int w,
                       float *out, float *scratch)
{
	int oh = out_size(h, c->kh, c->pad), ow = out_size(w, c->kw, c->pad);
	int k = c->in_c * c->kh * c->kw;
	size_t in_size = (size_t)c->in_c * (size_t)h * (size_t)w;
	size_t plane = (size_t)oh * (size_t)ow;
	if (oh == 1 && ow == 1 && c->pad == 0) {
		/* A window over the whole input, as FC layers are: one GEMM for the batch, or for
		 * one image a GEMV, which streams the weights once where GEMM would first copy
		 * them into its panels (fc6's 411 MB). */
		if (n == 1)
			cblas_sgemv(CblasRowMajor, CblasNoTrans, c->out_c, k, 1.0f, c->weight, k, in, 1,
			            0.0f, out, 1);
		else
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, c->out_c, k, 1.0f, in,
			            k, c->weight, k, 0.0f, out, c->out_c);
		for (int i = 0; i < n; i++)
			bias_relu(c, out + (size_t)i * (size_t)c->out_c, 1);
		return;
	}
	for (int i = 0; i < n; i++) {
		const float *x = in + (size_t)i * in_size;
		float *y = out + (size_t)i * (size_t)c->out_c * plane;
		if (direct(c)) {
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->out_c, (int)plane, k,
			            1.0f, c->weight, k, x, (int)plane, 0.0f, y, (int)plane);
		} else {
			int band = band_rows(c, oh, ow);
			for (int y0 = 0; y0 < oh; y0 += band) {
				int rows = oh - y0 < band ? oh - y0 : band;
				int cols = rows * ow;
				im2col(c, x, h, w, y0, rows, ow, scratch);
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->out_c, cols, k,
				            1.0f, c->weight, k, scratch, cols, 0.0f,
				            y + (size_t)y0 * (size_t)ow, (int)plane);
			}
		}
		bias_relu(c, y, plane);
	}
}

/* The inverse of im2col: each column entry's gradient is added back to the input pixel it
 * was copied from. */
static void col2im_add(const struct vgg__conv *c, const float *col, int h, int w, int y0,
                       int rows, int ow, float *in)
{
	size_t cols = (size_t)rows * (size_t)ow;
	for (int ci = 0; ci < c->in_c; ci++) {
		float *plane = in + (size_t)ci * (size_t)h * (size_t)w;
		for (int dy = 0; dy < c->kh; dy++) {
			for (int dx = 0; dx < c->kw; dx++) {
				const float *src =
					col + ((size_t)(ci * c->kh + dy) * (size_t)c->kw + (size_t)dx) * cols;
				int x0 = c->pad - dx, x1 = w + c->pad - dx;
				if (x0 < 0)
					x0 = 0;
				if (x1 > ow)
					x1 = ow;
				for (int r = 0; r < rows; r++) {
					int sy = y0 + r + dy - c->pad;
					if (sy < 0 || sy >= h)
						continue;
					float *drow = plane + (size_t)sy * (size_t)w + dx - c->pad;
					const float *s = src + (size_t)r * (size_t)ow;
					for (int x = x0; x < x1; x++)
						drow[x] += s[x];
				}
			}
		}
	}
}

size_t vgg__conv_backward_scratch(const struct vgg__conv *c, int h, int w)
{
	return 2 * vgg__conv_scratch(c, h, w);
}

void vgg__conv_backward(const struct vgg__conv *c, const float *in, const float *dy, int n,
                        int h, int w, float *dw, float *db, float *dx, float *scratch)
{
	int oh = out_size(h, c->kh, c->pad), ow = out_size(w, c->kw, c->pad);
	int k = c->in_c * c->kh * c->kw;
	size_t in_size = (size_t)c->in_c * (size_t)h * (size_t)w;
	size_t plane = (size_t)oh * (size_t)ow;
	for (int i = 0; i < n; i++)
		for (int o = 0; o < c->out_c; o++)
			db[o] += (float)vgg__plane_sum(
				dy + ((size_t)i * (size_t)c->out_c + (size_t)o) * plane, plane);
	if (oh == 1 && ow == 1 && c->pad == 0) {
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c->out_c, k, n, 1.0f, dy,
		            c->out_c, in, k, 1.0f, dw, k);
		if (dx)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, c->out_c, 1.0f, dy,
			            c->out_c, c->weight, k, 0.0f, dx, k);
		return;
	}
	if (dx)
		memset(dx, 0, (size_t)n * in_size * sizeof *dx);
	for (int i = 0; i < n; i++) {
		const float *x = in + (size_t)i * in_size;
		const float *g = dy + (size_t)i * (size_t)c->out_c * plane;
		float *gx = dx ? dx + (size_t)i * in_size : NULL;
		if (direct(c)) {
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->out_c, k, (int)plane, 1.0f,
			            g, (int)plane, x, (int)plane, 1.0f, dw, k);
			if (gx)
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, (int)plane, c->out_c,
				            1.0f, c->weight, k, g, (int)plane, 0.0f, gx, (int)plane);
			continue;
		}
		int band = band_rows(c, oh, ow);
		float *col = scratch, *dcol = scratch + vgg__conv_scratch(c, h, w);
		for (int y0 = 0; y0 < oh; y0 += band) {
			int rows = oh - y0 < band ? oh - y0 : band;
			int cols = rows * ow;
			const float *gb = g + (size_t)y0 * (size_t)ow;
			im2col(c, x, h, w, y0, rows, ow, col);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->out_c, k, cols, 1.0f, gb,
			            (int)plane, col, cols, 1.0f, dw, k);
			if (!gx)
				continue;
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, cols, c->out_c, 1.0f,
			            c->weight, k, gb, (int)plane, 0.0f, dcol, cols);
			col2im_add(c, dcol, h, w, y0, rows, ow, gx);
		}
	}
}
