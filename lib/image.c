/*
 * image.c: decoded images, and the dispatch to a decoder by the file's first bytes:
 *   FF D8 FF                  JPEG (jpeg.c)
 *   89 50 4E 47 0D 0A 1A 0A   PNG (png.c)
 *   'P' '4' / '5' / '6'       binary PBM, PGM, PPM (pnm.c)
 * The name of a file says nothing about its contents, so it is never consulted.  Every
 * decoder asks vgg__image_check_size before anything is allocated in proportion to the
 * size a file declares, because a few bytes of header can declare gigabytes of pixels.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image_internal.h"

#define DEFAULT_MAX_PIXELS 100000000

int vgg__size_mul(size_t a, size_t b, size_t *out)
{
	if (a && b > SIZE_MAX / a)
		return 0;
	*out = a * b;
	return 1;
}

int vgg__max_pixels(const char *context, uint64_t *out, vgg_error *err)
{
	const char *s = getenv("VGG_MAX_PIXELS");
	*out = DEFAULT_MAX_PIXELS;
	if (!s || !*s)
		return VGG_OK;
	uint64_t v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned digit = (unsigned)(*p - '0');
		/* Beyond 2^64 pixels there is no limit left to enforce: saturate. */
		v = v > (UINT64_MAX - digit) / 10 ? UINT64_MAX : v * 10 + digit;
	}
	if (*p || v == 0)
		return vgg__fail(err, VGG_ERANGE, "%sVGG_MAX_PIXELS must be a whole number above 0, "
		                 "not '%s'", context, s);
	*out = v;
	return VGG_OK;
}

int vgg__image_check_size(uint64_t width, uint64_t height, const char *name, vgg_error *err)
{
	uint64_t limit;
	char context[300];
	snprintf(context, sizeof context, "cannot decode '%.250s': ", name);
	int rc = vgg__max_pixels(context, &limit, err);
	if (rc)
		return rc;
	if (width == 0 || height == 0)
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': the image is %" PRIu64 "x%"
		                 PRIu64 ", which has no pixels", name, width, height);
	if (width > INT_MAX || height > INT_MAX)
		return vgg__fail(err, VGG_ERANGE, "cannot decode '%s': %" PRIu64 "x%" PRIu64
		                 " is too large", name, width, height);
	/* Both sides are below 2^31, so the product cannot overflow. */
	if (width * height > limit)
		return vgg__fail(err, VGG_ERANGE, "cannot decode '%s': %" PRIu64 "x%" PRIu64
		                 " is %" PRIu64 " pixels, over the limit of %" PRIu64
		                 " (VGG_MAX_PIXELS)", name, width, height, width * height, limit);
	return VGG_OK;
}

int vgg__image_new(int width, int height, int channels, const char *name, vgg_image **out,
                   vgg_error *err)
{
	*out = NULL;
	int rc = vgg__image_check_size((uint64_t)width, (uint64_t)height, name, err);
	if (rc)
		return rc;
	size_t row, bytes;
	if (!vgg__size_mul((size_t)width, (size_t)channels, &row) ||
	    !vgg__size_mul(row, (size_t)height, &bytes))
		return vgg__fail(err, VGG_ERANGE, "cannot decode '%s': %dx%d does not fit in memory",
		                 name, width, height);
	struct vgg_image *img = malloc(sizeof *img);
	unsigned char *pixels = malloc(bytes);
	if (!img || !pixels) {
		free(img);
		free(pixels);
		return vgg__fail(err, VGG_ENOMEM, "cannot decode '%s': out of memory", name);
	}
	img->width = width;
	img->height = height;
	img->channels = channels;
	img->pixels = pixels;
	*out = img;
	return VGG_OK;
}

int vgg_image_decode(const void *data, size_t size, const char *name, int min_side,
                     vgg_image **out, vgg_error *err)
{
	static const unsigned char PNG_MAGIC[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	const unsigned char *d = data;
	*out = NULL;
	if (!name)
		name = "<memory>";
	if (min_side < 0)
		return vgg__fail(err, VGG_ERANGE, "cannot decode '%s': minimum side %d is negative",
		                 name, min_side);
	if (size == 0)
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': empty file", name);
	if (size >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
		return vgg__jpeg_decode(d, size, name, min_side, out, err);
	if (size >= sizeof PNG_MAGIC && memcmp(d, PNG_MAGIC, sizeof PNG_MAGIC) == 0)
		return vgg__png_decode(d, size, name, out, err);
	if (size >= 2 && d[0] == 'P' && d[1] >= '4' && d[1] <= '6')
		return vgg__pnm_decode(d, size, name, out, err);
	if (size >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '3')
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': plain (ASCII) PNM is not "
		                 "supported, only binary P4, P5 and P6", name);
	return vgg__fail(err, VGG_EIO, "cannot decode '%s': not a JPEG, PNG or PNM file", name);
}

/* Sized by fstat when it can be, grown otherwise (pipes and /dev/stdin report no size). */
int vgg__read_file(const char *path, unsigned char **out, size_t *size, vgg_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return vgg__fail(err, VGG_EIO, "cannot open '%s': %s", path, strerror(errno));
	struct stat st;
	size_t cap = 65536, len = 0;
	/* One byte over the size, so that the first read already meets the end of the file. */
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size < SIZE_MAX)
		cap = (size_t)st.st_size + 1;
	unsigned char *buf = malloc(cap);
	int rc = buf ? VGG_OK : VGG_ENOMEM, read_errno = 0;
	while (!rc) {
		len += fread(buf + len, 1, cap - len, f);
		if (len < cap) {
			if (ferror(f)) {
				read_errno = errno;
				rc = VGG_EIO;
			}
			break;
		}
		unsigned char *grown = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
		if (grown) {
			buf = grown;
			cap *= 2;
		} else {
			rc = VGG_ENOMEM;
		}
	}
	fclose(f);
	if (rc) {
		free(buf);
		return vgg__fail(err, rc, "cannot read '%s': %s", path,
		                 rc == VGG_EIO ? strerror(read_errno) : "out of memory");
	}
	*out = buf;
	*size = len;
	return VGG_OK;
}

int vgg_image_read(const char *path, int min_side, vgg_image **out, vgg_error *err)
{
	unsigned char *data = NULL;
	size_t size = 0;
	*out = NULL;
	int rc = vgg__read_file(path, &data, &size, err);
	if (rc)
		return rc;
	rc = vgg_image_decode(data, size, path, min_side, out, err);
	free(data);
	return rc;
}

void vgg_image_free(vgg_image *img)
{
	if (!img)
		return;
	free(img->pixels);
	free(img);
}

int vgg_image_width(const vgg_image *img)
{
	return img->width;
}

int vgg_image_height(const vgg_image *img)
{
	return img->height;
}

int vgg_image_channels(const vgg_image *img)
{
	return img->channels;
}

const unsigned char *vgg_image_pixels(const vgg_image *img)
{
	return img->pixels;
}
