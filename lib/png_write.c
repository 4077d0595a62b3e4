/*
 * png_write.c: 8-bit gray or RGB pixels to a PNG file through libpng, written whole or not
 * at all (output.c).  The pictures the library draws (plot.c's charts, erf.c's heat maps)
 * leave through here; png.c reads PNG.
 */
#include <setjmp.h>
#include <stdio.h>

#include <png.h>

#include "internal.h"

struct png_out {
	char msg[256]; /* libpng's error message */
};

static void on_error(png_structp png, png_const_charp msg)
{
	struct png_out *job = png_get_error_ptr(png);
	snprintf(job->msg, sizeof job->msg, "%s", msg);
	png_longjmp(png, 1);
}

/* libpng only warns about what it recovers from; the library never prints. */
static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* Everything between setjmp and the last libpng call. */
static int encode(png_structp png, png_infop info, FILE *f, int width, int height,
                  int channels, const unsigned char *pixels, const char *path, vgg_error *err)
{
	struct png_out *job = png_get_error_ptr(png);
	if (setjmp(png_jmpbuf(png)))
		return vgg__fail(err, VGG_EIO, "cannot write '%s': PNG: %s", path, job->msg);
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
	             channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	size_t stride = (size_t)width * (size_t)channels;
	for (int y = 0; y < height; y++)
		png_write_row(png, pixels + (size_t)y * stride);
	png_write_end(png, NULL);
	return VGG_OK;
}

int vgg_png_write(const char *path, int width, int height, int channels,
                  const unsigned char *pixels, vgg_error *err)
{
	if (width < 1 || height < 1 || width > PNG_USER_WIDTH_MAX || height > PNG_USER_HEIGHT_MAX)
		return vgg__fail(err, VGG_ERANGE, "cannot write '%s': a %dx%d image", path, width,
		                 height);
	if (channels != 1 && channels != 3)
		return vgg__fail(err, VGG_ERANGE, "cannot write '%s': %d channels (1 or 3 only)",
		                 path, channels);
	struct png_out job = {{0}};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &job, on_error,
	                                          on_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return vgg__fail(err, VGG_ENOMEM, "cannot write '%s': out of memory", path);
	}
	vgg_output *o;
	FILE *f;
	int rc = vgg_output_open(path, &o, &f, err);
	if (!rc)
		rc = encode(png, info, f, width, height, channels, pixels, path, err);
	png_destroy_write_struct(&png, &info);
	if (rc) {
		vgg_output_abort(o);
		return rc;
	}
	return vgg_output_commit(o, err);
}
