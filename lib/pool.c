/*
 * pool.c: VGG's 2x2 max pooling with stride 2.  PyTorch drops an odd last row or column;
 * Caffe rounds the output up and pools the lone last row or column on its own.  And the
 * global average pool of the GAP head.
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
