/*
 * pool.c: VGG's 2x2 max pooling with stride 2.  PyTorch drops an odd last row or column;
 * Caffe rounds the output up and pools the lone last row or column on its own.  The
 * backward pass sends each window's gradient to its first maximum in reading order, the
 * element PyTorch's max_pool2d picks.  And the global average pool of the GAP head.
 */
#include "layers.h"

static float max2(float a, float b)
{
	return a > b ? a : b;
}

void vgg__maxpool_forward(const float *in, int planes, int h, int w, int ceil, float *out)
{
	int oh = ceil ? (h + 1) / 2 : h / 2, ow = ceil ? (w + 1) / 2 : w / 2;
	for (int p = 0; p < planes; p++) {
		const float *src = in + (size_t)p * (size_t)h * (size_t)w;
		float *dst = out + (size_t)p * (size_t)oh * (size_t)ow;
		for (int y = 0; y < oh; y++) {
			const float *r0 = src + (size_t)(2 * y) * (size_t)w;
			/* The window's second row, or its first again where the input ends. */
			const float *r1 = 2 * y + 1 < h ? r0 + w : r0;
			for (int x = 0; x < ow; x++) {
				int x1 = 2 * x + 1 < w ? 2 * x + 1 : 2 * x;
				dst[(size_t)y * (size_t)ow + (size_t)x] =
					max2(max2(r0[2 * x], r0[x1]), max2(r1[2 * x], r1[x1]));
			}
		}
	}
}

void vgg__maxpool_backward(const float *in, const float *dy, int planes, int h, int w, int ceil,
                           float *dx)
{
	int oh = ceil ? (h + 1) / 2 : h / 2, ow = ceil ? (w + 1) / 2 : w / 2;
	for (int p = 0; p < planes; p++) {
		const float *src = in + (size_t)p * (size_t)h * (size_t)w;
		const float *g = dy + (size_t)p * (size_t)oh * (size_t)ow;
		float *dst = dx + (size_t)p * (size_t)h * (size_t)w;
		for (size_t i = 0; i < (size_t)h * (size_t)w; i++)
			dst[i] = 0;
		for (int y = 0; y < oh; y++) {
			int y1 = 2 * y + 1 < h ? 2 * y + 1 : 2 * y;
			for (int x = 0; x < ow; x++) {
				int x1 = 2 * x + 1 < w ? 2 * x + 1 : 2 * x;
				size_t at[4] = {(size_t)(2 * y) * (size_t)w + (size_t)(2 * x),
				                (size_t)(2 * y) * (size_t)w + (size_t)x1,
				                (size_t)y1 * (size_t)w + (size_t)(2 * x),
				                (size_t)y1 * (size_t)w + (size_t)x1};
				size_t best = at[0];
				for (int j = 1; j < 4; j++)
					if (src[at[j]] > src[best])
						best = at[j];
				dst[best] += g[(size_t)y * (size_t)ow + (size_t)x];
			}
		}
	}
}

void vgg__avgpool_forward(const float *in, int planes, size_t hw, float *out)
{
	for (int p = 0; p < planes; p++) {
		const float *src = in + (size_t)p * hw;
		double sum = 0;
		for (size_t i = 0; i < hw; i++)
			sum += src[i];
		out[p] = (float)(sum / (double)hw);
	}
}

void vgg__avgpool_backward(const float *dy, int planes, size_t hw, float *dx)
{
	for (int p = 0; p < planes; p++) {
		float g = dy[p] / (float)hw;
		for (size_t i = 0; i < hw; i++)
			dx[(size_t)p * hw + i] = g;
	}
}
