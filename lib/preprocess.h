/*
 * preprocess.h: the steps of vgg_preprocess_image (preprocess.c), which the training path
 * (augment.c) takes too, with a sampled scale, a random crop, a flip and a colour shift, so
 * that evaluating a net during training and vgg-predict later see the same numbers.
 */
#ifndef VGG_PREPROCESS_H
#define VGG_PREPROCESS_H

#include "internal.h"

/* Largest side a resize or crop may ask for. */
#define VGG__MAX_SIDE 65536

/* Refuses parameters vgg_preprocess_image cannot follow. */
int vgg__preprocess_check(const vgg_preprocess *p, int channels, vgg_error *err);

/*
 * Steps 1 and 2: img's pixels in `channels` channels with the shorter side resized to
 * `size` (0: kept), rw x rh of them.  *pix points into img or into *owned, which is
 * malloc'd (or NULL) and freed by the caller.
 */
int vgg__preprocess_pixels(const vgg_image *img, int channels, int size,
                           enum vgg_resize_filter filter, const unsigned char **pix,
                           unsigned char **owned, int *rw, int *rh, vgg_error *err);

/* Where a centre crop of `crop` starts in `size`, as torchvision's CenterCrop places it. */
int vgg__crop_offset(int size, int crop);

/*
 * Steps 3 and 4: the ch x cw window at (oy, ox) of the rw x rh pixels (outside them, 0),
 * mirrored left to right when `flip`, normalised by p into t (channels planes).  `shift`
 * (NULL: none) is added to every pixel of the window, padding included, before the
 * normalisation: one value per channel of `pix`, in 0..255 units.
 */
void vgg__preprocess_crop(const vgg_preprocess *p, const unsigned char *pix, int rw, int rh,
                          int channels, int oy, int ox, int flip, const float *shift, float *t,
                          int ch, int cw);

/* Refuses augmentation settings vgg__augment_image cannot follow. */
int vgg__augment_check(const vgg_augment *a, int channels, vgg_error *err);

/*
 * One image into out (channels x crop_h x crop_w floats): with `rng`, the training path
 * drawing its scale, crop, flip and colour shift from it; with NULL, the evaluation path,
 * which is vgg_preprocess_image with vgg_augment_preprocess's settings.  `a` is checked.
 */
int vgg__augment_image(const vgg_augment *a, const vgg_image *img, int channels,
                       struct vgg__rng *rng, float *out, vgg_error *err);

#endif
