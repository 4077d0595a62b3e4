/*
 * layers.h: the layer kernels the forward pass (net.c) and training (train.c) call, one
 * file each.  All work on planar float32 (NCHW) batches; none allocates: scratch comes from
 * the caller.  A backward kernel takes the gradient of the loss with respect to the layer's
 * output (dy) and gives it with respect to the input (dx); parameter gradients are added to
 * what dw, db, dgamma and dbeta hold, so a caller can sum over batches.
 */
#ifndef VGG_LAYERS_H
#define VGG_LAYERS_H

#include <stddef.h>

/*
 * Sums over a plane in eight float lanes, which the compiler vectorises, combined in double
 * at the end.  One double accumulator per element kept the kernels scalar: the bias
 * gradient alone was about a quarter of the conv backward pass's time (perf).
 */
static inline double vgg__plane_sum(const float *p, size_t len)
{
	float lane[8] = {0};
	size_t i = 0;
	for (; i + 8 <= len; i += 8)
		for (int j = 0; j < 8; j++)
			lane[j] += p[i + (size_t)j];
	double sum = 0;
	for (int j = 0; j < 8; j++)
		sum += lane[j];
	for (; i < len; i++)
		sum += p[i];
	return sum;
}

static inline double vgg__plane_dot(const float *a, const float *b, size_t len)
{
	float lane[8] = {0};
	size_t i = 0;
	for (; i + 8 <= len; i += 8)
		for (int j = 0; j < 8; j++)
			lane[j] += a[i + (size_t)j] * b[i + (size_t)j];
	double sum = 0;
	for (int j = 0; j < 8; j++)
		sum += lane[j];
	for (; i < len; i++)
		sum += (double)a[i] * b[i];
	return sum;
}

/* The sum of (p[i] - m)^2: the variance's, taken about the mean for precision. */
static inline double vgg__plane_sq_dev(const float *p, size_t len, float m)
{
	float lane[8] = {0};
	size_t i = 0;
	for (; i + 8 <= len; i += 8)
		for (int j = 0; j < 8; j++)
			lane[j] += (p[i + (size_t)j] - m) * (p[i + (size_t)j] - m);
	double sum = 0;
	for (int j = 0; j < 8; j++)
		sum += lane[j];
	for (; i < len; i++)
		sum += (double)(p[i] - m) * (p[i] - m);
	return sum;
}

/* A KxK convolution, stride 1, zero padding `pad`; FC layers are ones whose window covers
 * their whole input.  weight is [out_c][in_c * kh * kw], the layout of PyTorch and Caffe. */
struct vgg__conv {
	int in_c, out_c, kh, kw, pad;
	int relu;
	const float *weight, *bias;
};

/* Floats of scratch vgg__conv_forward needs for an h x w input. */
size_t vgg__conv_scratch(const struct vgg__conv *c, int h, int w);
void vgg__conv_forward(const struct vgg__conv *c, const float *in, int n, int h, int w,
                       float *out, float *scratch);

/* The forward pass's path for 3x3 pad-1 convs (winograd.c): Winograd's F(4x4, 3x3), which
 * vgg__winograd_use says to take for n inputs of h x w unless the environment has
 * VGG_CONV=im2col (the reference path) or im2col measured faster for such a conv. */
int vgg__winograd_use(const struct vgg__conv *c, int n, int h, int w);
size_t vgg__winograd_scratch(const struct vgg__conv *c, int n, int h, int w);
void vgg__winograd_forward(const struct vgg__conv *c, const float *in, int n, int h, int w,
                           float *out, float *scratch);

/* Floats of scratch vgg__conv_backward needs for an h x w input. */
size_t vgg__conv_backward_scratch(const struct vgg__conv *c, int h, int w);
/* dy is the gradient at the conv's output after its bias, before any ReLU; dx may be NULL
 * when no gradient is wanted for the input (the first layer). */
void vgg__conv_backward(const struct vgg__conv *c, const float *in, const float *dy, int n,
                        int h, int w, float *dw, float *db, float *dx, float *scratch);

/* 2x2 max pooling, stride 2; the output size rounded down, or up with `ceil` (Caffe), when
 * a last window that hangs over the edge takes the maximum of what it covers. */
void vgg__maxpool_forward(const float *in, int planes, int h, int w, int ceil, float *out);
void vgg__maxpool_backward(const float *in, const float *dy, int planes, int h, int w, int ceil,
                           float *dx);

/* The mean of each of `planes` planes of hw values: the global average pool. */
void vgg__avgpool_forward(const float *in, int planes, size_t hw, float *out);
void vgg__avgpool_backward(const float *dy, int planes, size_t hw, float *dx);

/* AlexNet's local response normalisation across channels (n 5, alpha 1e-4, beta 0.75, k 2). */
void vgg__lrn_forward(const float *in, int n, int c, int hw, float *out);
void vgg__lrn_backward(const float *in, const float *dy, int n, int c, int hw, float *dx);

/* Batch norm over each channel's n x hw values: y = gamma * xhat + beta with xhat the values
 * normalised by the batch's mean and (biased) variance, which come back in mean and var.
 * Only channels c0 to c1 - 1 of the c are done, so that threads can share the work. */
void vgg__bn_train_forward(const float *z, int n, int c, int hw, int c0, int c1,
                           const float *gamma, const float *beta, float eps, float *y,
                           float *xhat, float *mean, float *var);
/* The same with the running mean and variance, as at inference: in place, channels c0 to
 * c1 - 1. */
void vgg__bn_eval_forward(float *y, int n, int c, int hw, int c0, int c1, const float *gamma,
                          const float *beta, const float *mean, const float *var, float eps);
void vgg__bn_backward(const float *dy, const float *xhat, const float *gamma, const float *var,
                      float eps, int n, int c, int hw, int c0, int c1, float *dgamma,
                      float *dbeta, float *dz);

/* Soft-max over channels at each position. */
void vgg__softmax_forward(const float *in, int n, int c, int hw, float *out);
double vgg__softmax_xent(const float *logits, const int *labels, int n, int c, float *dlogits,
                         int *correct);

#endif
