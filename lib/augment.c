/*
 * augment.c: one training image into a net's input with the paper's augmentation (section
 * 3.1): a scale S fixed or drawn from [Smin, Smax], a random crop of the training size
 * from the image rescaled to S (padded first, for small images), a random horizontal
 * flip, and AlexNet's colour shift along the principal components of the training set's
 * RGB values.  It takes preprocess.c's own steps with its own draws, and evaluation takes
 * them with vgg_preprocess_image's centre crop, so both paths see the same pixels.
 */
#include <math.h>
#include <stdlib.h>

#include "preprocess.h"

void vgg_augment_preprocess(const vgg_augment *a, vgg_preprocess *p)
{
	*p = a->norm;
	p->resize = a->scale_min + (a->scale_max - a->scale_min) / 2;
	p->crop_h = a->crop_h;
	p->crop_w = a->crop_w;
}

int vgg__augment_check(const vgg_augment *a, int channels, vgg_error *err)
{
	if (a->crop_h < 1 || a->crop_h > VGG__MAX_SIDE || a->crop_w < 1 ||
	    a->crop_w > VGG__MAX_SIDE)
		return vgg__fail(err, VGG_ERANGE, "crop %dx%d: each side must be 1 to %d", a->crop_h,
		                 a->crop_w, VGG__MAX_SIDE);
	if (a->scale_min < 0 || a->scale_min > a->scale_max || a->scale_max > VGG__MAX_SIDE)
		return vgg__fail(err, VGG_ERANGE, "scale %d to %d: not a range within 0 to %d",
		                 a->scale_min, a->scale_max, VGG__MAX_SIDE);
	if (a->scale_min == 0 && a->scale_max != 0)
		return vgg__fail(err, VGG_ERANGE, "scale 0 to %d: 0 (no rescaling) cannot be part "
		                 "of a range", a->scale_max);
	if (a->pad < 0 || a->pad > VGG__MAX_SIDE)
		return vgg__fail(err, VGG_ERANGE, "padding %d: out of range (0 to %d)", a->pad,
		                 VGG__MAX_SIDE);
	if (!(a->colour >= 0.0f && a->colour <= 1e6f))
		return vgg__fail(err, VGG_ERANGE, "colour shift %g: must be a number from 0",
		                 (double)a->colour);
	for (int i = 0; i < 3; i++)
		for (int c = 0; c < 4; c++) {
			float v = c < 3 ? a->eigvec[i][c] : a->eigval[i];
			if (!isfinite(v))
				return vgg__fail(err, VGG_ERANGE, "the colour shift's eigen-decomposition "
				                 "holds %g", (double)v);
		}
	vgg_preprocess p;
	vgg_augment_preprocess(a, &p);
	return vgg__preprocess_check(&p, channels, err);
}

/* Where a random crop of `crop` starts in `size` padded by `pad` each side. */
static int random_offset(struct vgg__rng *rng, int size, int crop, int pad)
{
	if (size + 2 * pad < crop)
		return vgg__crop_offset(size, crop);
	return (int)vgg__rng_below(rng, (uint64_t)(size + 2 * pad - crop) + 1) - pad;
}

int vgg__augment_image(const vgg_augment *a, const vgg_image *img, int channels,
                       struct vgg__rng *rng, float *out, vgg_error *err)
{
	vgg_preprocess p;
	vgg_augment_preprocess(a, &p);
	int size = p.resize;
	if (rng && a->scale_max > a->scale_min)
		size = a->scale_min + (int)vgg__rng_below(rng, (uint64_t)(a->scale_max -
		                                                         a->scale_min) + 1);
	const unsigned char *pix;
	unsigned char *owned;
	int rw, rh;
	int rc = vgg__preprocess_pixels(img, channels, size, p.filter, &pix, &owned, &rw, &rh,
	                                err);
	if (rc)
		return rc;
	int ch = a->crop_h, cw = a->crop_w;
	if (!rng) {
		vgg__preprocess_crop(&p, pix, rw, rh, channels, vgg__crop_offset(rh, ch),
		                     vgg__crop_offset(rw, cw), 0, NULL, out, ch, cw);
		free(owned);
		return VGG_OK;
	}
	int oy = random_offset(rng, rh, ch, a->pad), ox = random_offset(rng, rw, cw, a->pad);
	int flip = a->flip && vgg__rng_next(rng) >> 63;
	float shift[3] = {0};
	if (a->colour > 0.0f && channels == 3) {
		for (int i = 0; i < 3; i++) {
			/* In 0..255 units, the pixels' own. */
			double alpha = a->colour * vgg__rng_normal(rng) * a->eigval[i] * 255.0;
			for (int c = 0; c < 3; c++)
				shift[c] += (float)(alpha * a->eigvec[i][c]);
		}
	}
	vgg__preprocess_crop(&p, pix, rw, rh, channels, oy, ox, flip, shift, out, ch, cw);
	free(owned);
	return VGG_OK;
}
