/*
 * batchnorm.c: batch normalisation as it trains, over the batch and positions of each
 * channel (Ioffe & Szegedy 2015).  At inference the net folds it into the conv before it
 * (net.c); here the statistics are the batch's own and the gradient flows through them.
 */
#include <math.h>

#include "layers.h"

void vgg__bn_train_forward(const float *z, int n, int c, int hw, int c0, int c1,
                           const float *gamma, const float *beta, float eps, float *y,
                           float *xhat, float *mean, float *var)
{
	size_t plane = (size_t)hw, count = (size_t)n * plane;
	for (int ch = c0; ch < c1; ch++) {
		double sum = 0, sq = 0;
		for (int i = 0; i < n; i++)
			sum += vgg__plane_sum(z + ((size_t)i * (size_t)c + (size_t)ch) * plane, plane);
		float m = (float)(sum / (double)count);
		for (int i = 0; i < n; i++)
			sq += vgg__plane_sq_dev(z + ((size_t)i * (size_t)c + (size_t)ch) * plane, plane, m);
		double v = sq / (double)count;
		float inv = (float)(1 / sqrt(v + eps)), g = gamma[ch], b = beta[ch];
		mean[ch] = m;
		var[ch] = (float)v;
		for (int i = 0; i < n; i++) {
			size_t at = ((size_t)i * (size_t)c + (size_t)ch) * plane;
			for (size_t j = 0; j < plane; j++) {
				float h = (z[at + j] - m) * inv;
				xhat[at + j] = h;
				y[at + j] = g * h + b;
			}
		}
	}
}

void vgg__bn_eval_forward(float *y, int n, int c, int hw, int c0, int c1, const float *gamma,
                          const float *beta, const float *mean, const float *var, float eps)
{
	for (int i = 0; i < n; i++)
		for (int ch = c0; ch < c1; ch++) {
			float *p = y + ((size_t)i * (size_t)c + (size_t)ch) * (size_t)hw;
			float k = gamma[ch] / sqrtf(var[ch] + eps), m = mean[ch], b = beta[ch];
			for (int j = 0; j < hw; j++)
				p[j] = (p[j] - m) * k + b;
		}
}

/*
 * With N values per channel, dxhat = dy * gamma and
 *   dz = inv / N * (N * dxhat - sum dxhat - xhat * sum(dxhat * xhat)).
 */
void vgg__bn_backward(const float *dy, const float *xhat, const float *gamma, const float *var,
                      float eps, int n, int c, int hw, int c0, int c1, float *dgamma,
                      float *dbeta, float *dz)
{
	size_t plane = (size_t)hw, count = (size_t)n * plane;
	for (int ch = c0; ch < c1; ch++) {
		double sg = 0, sgx = 0;
		for (int i = 0; i < n; i++) {
			size_t at = ((size_t)i * (size_t)c + (size_t)ch) * plane;
			sg += vgg__plane_sum(dy + at, plane);
			sgx += vgg__plane_dot(dy + at, xhat + at, plane);
		}
		dgamma[ch] += (float)sgx;
		dbeta[ch] += (float)sg;
		double inv = 1 / sqrt((double)var[ch] + eps);
		float k = (float)(gamma[ch] * inv);
		float mg = (float)(sg / (double)count), mgx = (float)(sgx / (double)count);
		for (int i = 0; i < n; i++) {
			size_t at = ((size_t)i * (size_t)c + (size_t)ch) * plane;
			for (size_t j = 0; j < plane; j++)
				dz[at + j] = k * (dy[at + j] - mg - xhat[at + j] * mgx);
		}
	}
}
