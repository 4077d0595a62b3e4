/* pool.c: VGG's 2x2 max pooling with stride 2; odd sizes lose their last row or column. */
#include "layers.h"

void vgg__maxpool_forward(const float *in, int planes, int h, int w, float *out)
{
	int oh = h / 2, ow = w / 2;
	for (int p = 0; p < planes; p++) {
		const float *src = in + (size_t)p * (size_t)h * (size_t)w;
		float *dst = out + (size_t)p * (size_t)oh * (size_t)ow;
		for (int y = 0; y < oh; y++) {
			const float *r0 = src + (size_t)(2 * y) * (size_t)w, *r1 = r0 + w;
			for (int x = 0; x < ow; x++) {
				float a = r0[2 * x] > r0[2 * x + 1] ? r0[2 * x] : r0[2 * x + 1];
				float b = r1[2 * x] > r1[2 * x + 1] ? r1[2 * x] : r1[2 * x + 1];
				dst[(size_t)y * (size_t)ow + (size_t)x] = a > b ? a : b;
			}
		}
	}
}
