/*
 * lrn.c: local response normalisation across channels, as AlexNet, Caffe and PyTorch's
 * LocalResponseNorm(5, 1e-4, 0.75, 2) define it:
 *   b[c] = a[c] / (k + alpha / n * sum over c' in [c - n/2, c + n/2] of a[c']^2) ^ beta.
 */
#include <math.h>

#include "layers.h"

#define LRN_N 5
#define LRN_ALPHA 1e-4
#define LRN_BETA 0.75
#define LRN_K 2.0

void vgg__lrn_forward(const float *in, int n, int c, int hw, float *out)
{
	for (int i = 0; i < n; i++) {
		const float *a = in + (size_t)i * (size_t)c * (size_t)hw;
		float *b = out + (size_t)i * (size_t)c * (size_t)hw;
		for (int p = 0; p < hw; p++) {
			for (int ch = 0; ch < c; ch++) {
				double sum = 0;
				for (int d = ch - LRN_N / 2; d <= ch + LRN_N / 2; d++) {
					if (d >= 0 && d < c) {
						double v = a[(size_t)d * (size_t)hw + (size_t)p];
						sum += v * v;
					}
				}
				double scale = LRN_K + LRN_ALPHA / LRN_N * sum;
				b[(size_t)ch * (size_t)hw + (size_t)p] =
					(float)(a[(size_t)ch * (size_t)hw + (size_t)p] / pow(scale, LRN_BETA));
			}
		}
	}
}
