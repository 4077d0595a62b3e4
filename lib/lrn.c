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

/* k + alpha / n * the sum of squares over channel ch's window at position p. */
static double lrn_scale(const float *a, int c, int hw, int ch, int p)
{
	double sum = 0;
	for (int d = ch - LRN_N / 2; d <= ch + LRN_N / 2; d++) {
		if (d >= 0 && d < c) {
			double v = a[(size_t)d * (size_t)hw + (size_t)p];
			sum += v * v;
		}
	}
	return LRN_K + LRN_ALPHA / LRN_N * sum;
}

void vgg__lrn_forward(const float *in, int n, int c, int hw, float *out)
{
	for (int i = 0; i < n; i++) {
		const float *a = in + (size_t)i * (size_t)c * (size_t)hw;
		float *b = out + (size_t)i * (size_t)c * (size_t)hw;
		for (int p = 0; p < hw; p++)
			for (int ch = 0; ch < c; ch++)
				b[(size_t)ch * (size_t)hw + (size_t)p] =
					(float)(a[(size_t)ch * (size_t)hw + (size_t)p] /
					        pow(lrn_scale(a, c, hw, ch, p), LRN_BETA));
	}
}

/*
 * With s[c] = k + alpha / n * sum a[c']^2 over c's window, b[c] = a[c] s[c]^-beta, so
 *   da[j] = db[j] s[j]^-beta - 2 alpha beta / n * a[j] * sum over c with j in c's window
 *           of db[c] a[c] s[c]^(-beta - 1),
 * and the windows are symmetric: c ranges over j's own window.  The scales are recomputed
 * rather than stored, since LRN is rare and the kernels take no scratch.
 */
void vgg__lrn_backward(const float *in, const float *dy, int n, int c, int hw, float *dx)
{
	for (int i = 0; i < n; i++) {
		const float *a = in + (size_t)i * (size_t)c * (size_t)hw;
		const float *g = dy + (size_t)i * (size_t)c * (size_t)hw;
		float *d = dx + (size_t)i * (size_t)c * (size_t)hw;
		for (int p = 0; p < hw; p++) {
			for (int j = 0; j < c; j++) {
				double acc = 0;
				for (int ch = j - LRN_N / 2; ch <= j + LRN_N / 2; ch++) {
					if (ch >= 0 && ch < c) {
						size_t at = (size_t)ch * (size_t)hw + (size_t)p;
						acc += g[at] * a[at] * pow(lrn_scale(a, c, hw, ch, p), -LRN_BETA - 1);
					}
				}
				size_t at = (size_t)j * (size_t)hw + (size_t)p;
				d[at] = (float)(g[at] * pow(lrn_scale(a, c, hw, j, p), -LRN_BETA) -
				                2 * LRN_ALPHA * LRN_BETA / LRN_N * a[at] * acc);
			}
		}
	}
}
