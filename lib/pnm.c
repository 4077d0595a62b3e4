/*
 * pnm.c: binary PBM, PGM and PPM, the first image of the stream.
 *
 * The layout, as netpbm's pbm(5), pgm(5) and ppm(5) give it:
 *   1. the magic: 'P' then '4' (bitmap), '5' (gray) or '6' (RGB);
 *   2. width, height and, except in P4, maxval (1 to 65535), as ASCII decimals, each after
 *      white space (blank, TAB, CR, LF, VT, FF); '#' starts a comment that runs to the end
 *      of its line (CR or LF) and counts as white space;
 *   3. exactly one white-space character, or a comment through its line end, so that a
 *      raster may begin with bytes that look like white space;
 *   4. the raster, rows top to bottom, with no padding but P4's:
 *      P4 one bit a pixel, most significant bit first, 1 black, each row padded to a byte;
 *      P5 and P6 one byte a sample when maxval < 256, else two, most significant first;
 *      P6 interleaves R, G and B.
 * Samples are scaled to 0..255 as netpbm's pnmdepth does, v * 255 / maxval rounded half up,
 * and one above maxval is an error, as in netpbm.  Bytes after the first image are ignored.
 */
#include <stdint.h>

#include "image_internal.h"

struct cursor {
	const unsigned char *p, *end;
};

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Past a comment and the CR or LF that ends it. */
static void skip_comment(struct cursor *c)
{
	while (c->p < c->end && *c->p != '\n' && *c->p != '\r')
		c->p++;
	if (c->p < c->end)
		c->p++;
}

/* The next number of the header, `what` naming it in messages. */
static int header_number(struct cursor *c, const char *what, const char *name, uint64_t *out,
                         vgg_error *err)
{
	while (c->p < c->end && (is_space(*c->p) || *c->p == '#')) {
		if (*c->p == '#')
			skip_comment(c);
		else
			c->p++;
	}
	if (c->p == c->end)
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': PNM header ends before the %s",
		                 name, what);
	if (*c->p < '0' || *c->p > '9')
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': PNM header: expected the %s "
		                 "as a decimal number", name, what);
	uint64_t v = 0;
	for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
		v = v * 10 + (uint64_t)(*c->p - '0');
		if (v > UINT32_MAX)
			return vgg__fail(err, VGG_ERANGE, "cannot decode '%s': PNM %s is too large",
			                 name, what);
	}
	if (c->p < c->end && !is_space(*c->p) && *c->p != '#')
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': PNM header: junk after the %s",
		                 name, what);
	*out = v;
	return VGG_OK;
}

/* `count` samples of P5 or P6 from src, scaled to 0..255 into dst. */
static int read_samples(const unsigned char *src, size_t count, unsigned maxval,
                        const char *name, unsigned char *dst, vgg_error *err)
{
	int wide = maxval > 255;
	for (size_t i = 0; i < count; i++) {
		unsigned v = wide ? (unsigned)src[2 * i] << 8 | src[2 * i + 1] : src[i];
		if (v > maxval)
			return vgg__fail(err, VGG_EIO, "cannot decode '%s': PNM sample %u is above "
			                 "maxval %u", name, v, maxval);
		dst[i] = (unsigned char)((v * 255 + maxval / 2) / maxval);
	}
	return VGG_OK;
}

int vgg__pnm_decode(const unsigned char *data, size_t size, const char *name,
                    vgg_image **out, vgg_error *err)
{
	*out = NULL;
	char kind = (char)data[1];
	struct cursor c = {data + 2, data + size};
	uint64_t width, height, maxval = 1;
	int rc = header_number(&c, "width", name, &width, err);
	if (!rc)
		rc = header_number(&c, "height", name, &height, err);
	if (!rc)
		rc = vgg__image_check_size(width, height, name, err);
	if (!rc && kind != '4')
		rc = header_number(&c, "maxval", name, &maxval, err);
	if (rc)
		return rc;
	if (maxval < 1 || maxval > 65535)
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': PNM maxval %llu is out of range "
		                 "(1 to 65535)", name, (unsigned long long)maxval);
	/* Item 3: header_number stopped at white space, a comment or the end. */
	if (c.p < c.end && *c.p == '#')
		skip_comment(&c);
	else if (c.p < c.end)
		c.p++;

	/* Both sides are now known to fit an int, and their product the pixel ceiling. */
	int w = (int)width, h = (int)height, channels = kind == '6' ? 3 : 1;
	size_t row = ((size_t)w + 7) / 8, have = (size_t)(c.end - c.p);
	int fits = kind == '4' ||
	           vgg__size_mul((size_t)w, (size_t)channels * (maxval > 255 ? 2 : 1), &row);
	/* row * h > have, asked without multiplying. */
	if (!fits || row > have / (size_t)h)
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': PNM file is truncated (%dx%d "
		                 "pixels declared, %zu bytes of pixel data)", name, w, h, have);

	vgg_image *img;
	rc = vgg__image_new(w, h, channels, name, &img, err);
	if (rc)
		return rc;
	if (kind == '4') {
		for (size_t y = 0; y < (size_t)h; y++) {
			const unsigned char *bits = c.p + y * row;
			unsigned char *dst = img->pixels + y * (size_t)w;
			for (size_t x = 0; x < (size_t)w; x++)
				dst[x] = (bits[x / 8] >> (7 - x % 8) & 1) ? 0 : 255;
		}
	} else {
		rc = read_samples(c.p, (size_t)w * (size_t)h * (size_t)channels,
		                  (unsigned)maxval, name, img->pixels, err);
	}
	if (rc) {
		vgg_image_free(img);
		return rc;
	}
	*out = img;
	return VGG_OK;
}
