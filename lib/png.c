/*
 * png.c: PNG through libpng, from memory.
 *
 * The pixels are PIL's Image.open(f).convert("RGB"), or convert("L") for gray files:
 * palettes expanded to RGB, alpha channels and tRNS dropped (not composited), gray below
 * 8 bits scaled to 0..255, 16-bit samples cut to their high byte (PIL's "RGB;16B").  Gamma,
 * colour profiles and sBIT are ignored, as PIL ignores them.  One PIL oddity is not copied:
 * PIL opens 16-bit gray as 32-bit integers, which convert("L") clips to 255; here 16-bit
 * gray keeps its high byte, as 16-bit RGB does in PIL.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "image_internal.h"

/* The most deflate can shrink data by: 258 bytes from one match coded in two bits. */
#define MAX_RATIO 1032

struct png_job {
	const unsigned char *data;
	size_t size, pos;          /* the file, and how far libpng has read it */
	vgg_image *img;
	unsigned char **rows;      /* into img, for png_read_image */
	char msg[256];             /* libpng's error message */
};

static void on_error(png_structp png, png_const_charp msg)
{
	struct png_job *job = png_get_error_ptr(png);
	snprintf(job->msg, sizeof job->msg, "%s", msg);
	png_longjmp(png, 1);
}

/* libpng's default prints warnings to stderr; what it only warns about, it recovers from. */
static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void read_data(png_structp png, png_bytep out, size_t n)
{
	struct png_job *job = png_get_io_ptr(png);
	if (n > job->size - job->pos)
		png_error(png, "file is truncated");
	memcpy(out, job->data + job->pos, n);
	job->pos += n;
}

/* Everything between setjmp and the last libpng call; job keeps what the caller frees. */
static int decode(struct png_job *job, png_structp png, png_infop info, const char *name,
                  vgg_error *err)
{
	if (setjmp(png_jmpbuf(png)))
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': PNG: %s", name, job->msg);
	/* libpng's own limit is a million pixels a side; VGG_MAX_PIXELS is the one that rules. */
	png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
	png_read_info(png, info);
	png_uint_32 width = png_get_image_width(png, info);
	png_uint_32 height = png_get_image_height(png, info);
	int rc = vgg__image_check_size(width, height, name, err);
	if (rc)
		return rc;
	/* Each row inflates from the file's bytes, with a filter byte; deflate shrinks data by
	 * 1032 to 1 at most, so more than that is a file cut short or a lie. */
	uint64_t raw = (uint64_t)height * ((uint64_t)png_get_rowbytes(png, info) + 1);
	if (raw / MAX_RATIO > job->size)
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': PNG: %" PRIu32 "x%" PRIu32
		                 " pixels cannot come from %zu bytes (truncated?)", name,
		                 (uint32_t)width, (uint32_t)height, job->size);
	int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (depth == 16)
		png_set_strip_16(png);
	/* Drops the alpha channel palette_to_rgb makes of tRNS, too. */
	png_set_strip_alpha(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	int channels = png_get_channels(png, info);
	/* png_read_image writes rowbytes a row, which must be exactly what img holds. */
	if ((channels != 1 && channels != 3) ||
	    png_get_rowbytes(png, info) != (size_t)width * (size_t)channels)
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': PNG of colour type %d, depth "
		                 "%d is not supported", name, type, depth);
	rc = vgg__image_new((int)width, (int)height, channels, name, &job->img, err);
	if (rc)
		return rc;
	size_t bytes;
	if (!vgg__size_mul(height, sizeof *job->rows, &bytes) || !(job->rows = malloc(bytes)))
		return vgg__fail(err, VGG_ENOMEM, "cannot decode '%s': out of memory", name);
	for (png_uint_32 y = 0; y < height; y++)
		job->rows[y] = job->img->pixels + (size_t)y * width * (size_t)channels;
	png_read_image(png, job->rows);
	return VGG_OK;
}

int vgg__png_decode(const unsigned char *data, size_t size, const char *name,
                    vgg_image **out, vgg_error *err)
{
	*out = NULL;
	struct png_job job = {.data = data, .size = size};
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, on_error,
	                                         on_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_read_struct(&png, NULL, NULL);
		return vgg__fail(err, VGG_ENOMEM, "cannot decode '%s': out of memory", name);
	}
	png_set_read_fn(png, &job, read_data);
	int rc = decode(&job, png, info, name, err);
	png_destroy_read_struct(&png, &info, NULL);
	free(job.rows);
	if (rc)
		vgg_image_free(job.img);
	else
		*out = job.img;
	return rc;
}
