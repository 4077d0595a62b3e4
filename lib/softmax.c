/* softmax.c: soft-max over channels at each position, shifted by the maximum for range. */
#include <math.h>

#include "layers.h"

void vgg__softmax_forward(const float *in, int n, int c, int hw, float *out)
{
	for (int i = 0; i < n; i++) {
		const float *a = in + (size_t)i * (size_t)c * (size_t)hw;
		float *b = out + (size_t)i * (size_t)c * (size_t)hw;
		for (int p = 0; p < hw; p++) {
			float max = a[p];
			for (int ch = 1; ch < c; ch++)
				if (a[(size_t)ch * (size_t)hw + (size_t)p] > max)
					max = a[(size_t)ch * (size_t)hw + (size_t)p];
			double sum = 0;
			for (int ch = 0; ch < c; ch++)
				sum += exp((double)(a[(size_t)ch * (size_t)hw + (size_t)p] - max));
			for (int ch = 0; ch < c; ch++)
				b[(size_t)ch * (size_t)hw + (size_t)p] =
					(float)(exp((double)(a[(size_t)ch * (size_t)hw + (size_t)p] - max)) / sum);
		}
	}
}

/*
 * The mean cross-entropy of soft-max(logits) against `labels`, and its gradient with
 * respect to the logits ((p - one-hot) / n) in dlogits.  *correct counts the rows whose
 * highest logit is the label.
 */
double vgg__softmax_xent(const float *logits, const int *labels, int n, int c, float *dlogits,
                         int *correct)
{
	double loss = 0;
	*correct = 0;
	for (int i = 0; i < n; i++) {
		const float *a = logits + (size_t)i * (size_t)c;
		float *d = dlogits + (size_t)i * (size_t)c;
		int best = 0;
		for (int ch = 1; ch < c; ch++)
			if (a[ch] > a[best])
				best = ch;
		*correct += best == labels[i];
		double sum = 0;
		for (int ch = 0; ch < c; ch++)
			sum += exp((double)(a[ch] - a[best]));
		loss += log(sum) - (a[labels[i]] - a[best]);
		for (int ch = 0; ch < c; ch++)
			d[ch] = (float)((exp((double)(a[ch] - a[best])) / sum - (ch == labels[i])) / n);
	}
	return loss / n;
}
