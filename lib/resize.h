/* resize.h: the exact 8-bit resizers of resize.c, for preprocess.c and the unit tests. */
#ifndef VGG_RESIZE_H
#define VGG_RESIZE_H

#include "internal.h"

/*
 * Resizes `src`, sw x sh pixels of `cn` (1 or 3) interleaved channels, rows top to bottom
 * with no padding, to dw x dh pixels in `dst`, which the caller allocates.  The bytes are
 * those the library named by `filter` produces: Pillow 9.4's Image.resize(BILINEAR) or
 * OpenCV 4.6's cv::resize(INTER_LINEAR).  Sizes must be >= 1.  Fails only when out of
 * memory.
 */
int vgg__resize(enum vgg_resize_filter filter, const unsigned char *src, int sw, int sh,
                int cn, unsigned char *dst, int dw, int dh, vgg_error *err);

#endif
