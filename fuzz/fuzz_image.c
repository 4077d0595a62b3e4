/* fuzz_image.c: the image decoders (image.c over jpeg.c, png.c, pnm.c) and, for what
 * decodes, the preprocessing that vgg-predict runs next. */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Enough for every decoder's paths and fast to run; a decoder that allocated before
	 * asking the ceiling would still show, as a malloc over -malloc_limit_mb. */
	setenv("VGG_MAX_PIXELS", "1000000", 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vgg_image *img;
	vgg_error err;
	int rc = vgg_image_decode(data, size, "fuzz", 0, &img, &err);
	fuzz_check_error(rc, &err);
	if (!rc) {
		vgg_preprocess p;
		vgg_preprocess_torchvision(&p);
		p.resize = 20;
		p.crop_h = 16;
		p.crop_w = 18;
		float *t;
		int h, w;
		rc = vgg_preprocess_image(&p, img, 3, &t, &h, &w, &err);
		fuzz_check_error(rc, &err);
		if (!rc) {
			fuzz_touch(t, 3 * (uint64_t)h * (uint64_t)w);
			free(t);
		}
		vgg_image_free(img);
	}
	/* A JPEG decoded at a reduced size takes other paths through libjpeg. */
	if (size && data[0] == 0xFF) {
		rc = vgg_image_decode(data, size, "fuzz", 8, &img, &err);
		fuzz_check_error(rc, &err);
		vgg_image_free(img);
	}
	return 0;
}
