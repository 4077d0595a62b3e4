/*
 * jpeg.c: JPEG through libjpeg(-turbo), from memory.
 *
 * At full size the pixels are PIL's, byte for byte: PIL drives the same library with its
 * defaults (islow DCT, fancy upsampling), and those are left alone here.  Where PIL does
 * something of its own, this file copies it:
 * - CMYK and YCCK files are read as Adobe writes them, inverted, whether or not they carry
 *   an Adobe marker (PIL's rawmode "CMYK;I"), then turned to RGB with PIL's formula.
 * - A truncated file is an error.  libjpeg only warns and fills the rest with gray; PIL
 *   raises "image file is truncated", even when all that is missing is the EOI marker.
 * Other warnings (stray bytes between markers, say) are ignored, as PIL ignores them.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>
#include <jerror.h>

#include "image_internal.h"

struct jpeg_job {
	struct jpeg_decompress_struct cinfo;
	struct jpeg_error_mgr jerr;
	jmp_buf jump;
	vgg_image *img;
	unsigned char *cmyk_row;   /* one row of libjpeg's CMYK output */
};

/* libjpeg's default prints the message and exits; the message is formatted after the jump. */
static void on_error(j_common_ptr cinfo)
{
	longjmp(((struct jpeg_job *)cinfo->client_data)->jump, 1);
}

/* The default prints warnings to stderr.  Level -1 is a warning, the rest is tracing. */
static void on_message(j_common_ptr cinfo, int level)
{
	if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
		on_error(cinfo);
}

/* The largest reduction (1/8, 1/4, 1/2) that keeps the shorter side, as libjpeg rounds it,
 * at least min_side; otherwise full size.  A reduced IDCT skips most of the decoding. */
static void choose_scale(struct jpeg_decompress_struct *cinfo, int min_side)
{
	static const unsigned DENOMS[] = {8, 4, 2};
	for (size_t i = 0; i < sizeof DENOMS / sizeof *DENOMS; i++) {
		cinfo->scale_num = 1;
		cinfo->scale_denom = DENOMS[i];
		jpeg_calc_output_dimensions(cinfo);
		JDIMENSION w = cinfo->output_width, h = cinfo->output_height;
		if ((w < h ? w : h) >= (JDIMENSION)min_side)
			return;
	}
	cinfo->scale_denom = 1;
}

/* PIL's convert("RGB") of inverted CMYK (Convert.c, cmyk2rgb): with c = 255 - stored C and
 * k = 255 - stored K, R = (255 - k) - round(c (255 - k) / 255), likewise G and B. */
static void cmyk_to_rgb(const unsigned char *in, unsigned char *out, JDIMENSION width)
{
	for (JDIMENSION x = 0; x < width; x++, in += 4, out += 3) {
		unsigned not_k = in[3];
		for (int i = 0; i < 3; i++) {
			/* PIL's MULDIV255: a * b / 255, rounded, without a division. */
			unsigned t = (255u - in[i]) * not_k + 128;
			out[i] = (unsigned char)(not_k - (((t >> 8) + t) >> 8));
		}
	}
}

/* Everything between setjmp and the last libjpeg call; job keeps what the caller frees. */
static int decode(struct jpeg_job *job, const unsigned char *data, size_t size,
                  const char *name, int min_side, vgg_error *err)
{
	struct jpeg_decompress_struct *cinfo = &job->cinfo;
	if (setjmp(job->jump)) {
		char text[JMSG_LENGTH_MAX];
		job->jerr.format_message((j_common_ptr)cinfo, text);
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': JPEG: %s", name, text);
	}
	jpeg_create_decompress(cinfo);
	jpeg_mem_src(cinfo, data, (unsigned long)size);
	jpeg_read_header(cinfo, TRUE);
	int rc = vgg__image_check_size(cinfo->image_width, cinfo->image_height, name, err);
	if (rc)
		return rc;
	int channels = 3;
	switch (cinfo->jpeg_color_space) {
	case JCS_GRAYSCALE:
		channels = 1;
		break;
	case JCS_YCbCr:
	case JCS_RGB:
		cinfo->out_color_space = JCS_RGB;
		break;
	case JCS_CMYK:
	case JCS_YCCK:
		cinfo->out_color_space = JCS_CMYK;
		break;
	default:
		return vgg__fail(err, VGG_EIO, "cannot decode '%s': JPEG colour space with %d "
		                 "components is not supported", name, cinfo->num_components);
	}
	if (min_side > 0)
		choose_scale(cinfo, min_side);
	jpeg_start_decompress(cinfo);
	JDIMENSION width = cinfo->output_width;
	rc = vgg__image_new((int)width, (int)cinfo->output_height, channels, name, &job->img,
	                    err);
	if (rc)
		return rc;
	if (cinfo->out_color_space == JCS_CMYK && !(job->cmyk_row = malloc((size_t)width * 4)))
		return vgg__fail(err, VGG_ENOMEM, "cannot decode '%s': out of memory", name);
	size_t stride = (size_t)width * (size_t)channels;
	while (cinfo->output_scanline < cinfo->output_height) {
		unsigned char *row = job->img->pixels + cinfo->output_scanline * stride;
		JSAMPROW into = job->cmyk_row ? job->cmyk_row : row;
		jpeg_read_scanlines(cinfo, &into, 1);
		if (job->cmyk_row)
			cmyk_to_rgb(job->cmyk_row, row, width);
	}
	/* Reads up to EOI, so a file cut just before it is refused, as PIL refuses it. */
	jpeg_finish_decompress(cinfo);
	return VGG_OK;
}

int vgg__jpeg_decode(const unsigned char *data, size_t size, const char *name, int min_side,
                     vgg_image **out, vgg_error *err)
{
	*out = NULL;
	if ((unsigned long)size != size)
		return vgg__fail(err, VGG_ERANGE, "cannot decode '%s': file too large", name);
	struct jpeg_job job = {0};
	job.cinfo.err = jpeg_std_error(&job.jerr);
	job.jerr.error_exit = on_error;
	job.jerr.emit_message = on_message;
	job.cinfo.client_data = &job;
	int rc = decode(&job, data, size, name, min_side, err);
	jpeg_destroy_decompress(&job.cinfo);
	free(job.cmyk_row);
	if (rc)
		vgg_image_free(job.img);
	else
		*out = job.img;
	return rc;
}
