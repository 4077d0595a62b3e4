/*
 * layers.h: the layer kernels the forward pass (net.c) calls, one file each.  All work on
 * planar float32 (NCHW) batches; none allocates: scratch comes from the caller.
 */
#ifndef VGG_LAYERS_H
#define VGG_LAYERS_H

#include <stddef.h>

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

/* 2x2 max pooling, stride 2; the output size rounded down, or up with `ceil` (Caffe), when
 * a last window that hangs over the edge takes the maximum of what it covers. */
void vgg__maxpool_forward(const float *in, int planes, int h, int w, int ceil, float *out);

/* The mean of each of `planes` planes of hw values: the global average pool. */
void vgg__avgpool_forward(const float *in, int planes, size_t hw, float *out);

/* AlexNet's local response normalisation across channels (n 5, alpha 1e-4, beta 0.75, k 2). */
void vgg__lrn_forward(const float *in, int n, int c, int hw, float *out);

/* Soft-max over channels at each position. */
void vgg__softmax_forward(const float *in, int n, int c, int hw, float *out);

#endif
