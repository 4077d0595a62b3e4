/* image_internal.h: what image.c shares with the decoders jpeg.c, png.c and pnm.c. */
#ifndef VGG_IMAGE_INTERNAL_H
#define VGG_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

struct vgg_image {
	int width, height;
	int channels;            /* 1 gray, 3 RGB */
	unsigned char *pixels;   /* height rows of width * channels bytes, malloc'd */
};

/*
 * Refuses a declared size of more than VGG_MAX_PIXELS pixels (default 100000000), or a
 * side too large for an int.  Decoders call it as soon as they know the size, before they
 * or their library allocate anything in proportion to it.
 */
int vgg__image_check_size(uint64_t width, uint64_t height, const char *name, vgg_error *err);

/* A new image with uninitialised pixels, checked as above; the caller frees it. */
int vgg__image_new(int width, int height, int channels, const char *name, vgg_image **out,
                   vgg_error *err);

/* *out = a * b; 0 when that does not fit a size_t, so a size read from a file can be used. */
int vgg__size_mul(size_t a, size_t b, size_t *out);

/*
 * The decoders, called by vgg_image_decode once the magic bytes have picked them.  `data`
 * holds `size` bytes (at least the magic's); on failure *out stays NULL and the message
 * names the input as `name`.
 */
int vgg__jpeg_decode(const unsigned char *data, size_t size, const char *name, int min_side,
                     vgg_image **out, vgg_error *err);
int vgg__png_decode(const unsigned char *data, size_t size, const char *name,
                    vgg_image **out, vgg_error *err);
int vgg__pnm_decode(const unsigned char *data, size_t size, const char *name,
                    vgg_image **out, vgg_error *err);

#endif
