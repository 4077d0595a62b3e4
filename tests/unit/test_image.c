/*
 * test_image.c: the decoders against PIL's pixels for the committed test images (made by
 * tests/golden/make_image_goldens.py), PNM byte by byte, DCT scaling, the pixel ceiling,
 * and every way a file can fail.
 */
#include <stdlib.h>
#include <zlib.h>

#include "tap.h"
#include "testdata.h"
#include "vgg.h"

static unsigned char *slurp(const char *file, size_t *size)
{
	char path[4096];
	return test_slurp(test_data_path(path, sizeof path, file), size);
}

/* Decodes a test file by path, saying why when it fails. */
static vgg_image *read_image(const char *file, int min_side)
{
	char path[4096];
	vgg_image *img;
	vgg_error err;
	if (vgg_image_read(test_data_path(path, sizeof path, file), min_side, &img, &err))
		printf("# %s\n", err.msg);
	return img;
}

/* Decodes bytes named `name`; the status is returned and the message left in err. */
static int decode(const void *data, size_t size, const char *name, vgg_image **img,
                  vgg_error *err)
{
	err->msg[0] = 0;
	return vgg_image_decode(data, size, name, 0, img, err);
}

static void expect_error(const void *data, size_t size, const char *name, int code,
                         const char *message, const char *what)
{
	vgg_image *img;
	vgg_error err;
	int rc = decode(data, size, name, &img, &err);
	CHECK(rc == code && img == NULL, "%s: refused", what);
	if (rc != code)
		printf("#   status %d, want %d\n", rc, code);
	CHECK_STR(err.msg, message, "%s: message", what);
	vgg_image_free(img);
}

/* Image `img` is w x h x c with exactly the pixels `want`. */
static void expect_pixels(const vgg_image *img, int w, int h, int c, const unsigned char *want,
                          const char *what)
{
	if (!img) {
		CHECK(0, "%s: decodes", what);
		return;
	}
	int iw = vgg_image_width(img), ih = vgg_image_height(img), ic = vgg_image_channels(img);
	CHECK(iw == w && ih == h && ic == c, "%s: %dx%d, %d channel%s", what, w, h, c,
	      c == 1 ? "" : "s");
	if (iw != w || ih != h || ic != c) {
		printf("#   got %dx%d, %d channels\n", iw, ih, ic);
		return;
	}
	const unsigned char *got = vgg_image_pixels(img);
	size_t n = (size_t)w * h * c, differ = 0, first = 0;
	for (size_t i = n; i-- > 0;) { /* backwards, so that `first` ends at the lowest */
		if (got[i] != want[i]) {
			differ++;
			first = i;
		}
	}
	CHECK(differ == 0, "%s: every pixel", what);
	if (differ)
		printf("#   %zu of %zu bytes differ; first at %zu: got %d, want %d\n", differ, n,
		       first, got[first], want[first]);
}

/* The C test's copy of GOLDENS in make_image_goldens.py: each test file and PIL's pixels. */
static const struct {
	const char *file, *golden;
} GOLDENS[] = {
	{"photo.jpg", "photo.ppm"},
	{"photo-progressive.jpg", "photo.ppm"},
	{"photo-gray.jpg", "photo-gray.pgm"},
	{"photo-cmyk.jpg", "photo-cmyk.ppm"},
	{"small-rgb.png", "small.ppm"},
	{"small-rgba.png", "small.ppm"},
	{"small-rgb16.png", "small.ppm"},
	{"small-interlaced.png", "small.ppm"},
	{"small.ppm", "small.ppm"},
	{"small-palette.png", "small-palette.ppm"},
	{"small-gray.png", "small.pgm"},
	{"small-gray16.png", "small.pgm"},
	{"small-graya.png", "small.pgm"},
	{"small.pgm", "small.pgm"},
	{"small-gray1.png", "small-gray1.pgm"},
};

/* Each test file against its golden, read by the plainest parser of the one header form
 * the script writes ("P6\nW H\n255\n"), so the PNM decoder is not checking itself. */
static void test_goldens(void)
{
	for (size_t i = 0; i < sizeof GOLDENS / sizeof *GOLDENS; i++) {
		char golden[256];
		snprintf(golden, sizeof golden, "golden/%s", GOLDENS[i].golden);
		size_t size;
		unsigned char *g = slurp(golden, &size);
		int w = 0, h = 0, header = 0;
		char kind = 0, head[32] = "";
		/* sscanf needs a string: the file's bytes have no NUL after them. */
		if (g)
			memcpy(head, g, size < sizeof head - 1 ? size : sizeof head - 1);
		/* %n after "255", not after "\n", which would skip pixels that look like spaces. */
		if (!g || sscanf(head, "P%c\n%d %d\n255%n", &kind, &w, &h, &header) != 3 ||
		    header == 0 || g[header++] != '\n' ||
		    size != (size_t)header + (size_t)w * h * (kind == '6' ? 3 : 1)) {
			CHECK(0, "%s: golden %s is readable", GOLDENS[i].file, GOLDENS[i].golden);
			free(g);
			continue;
		}
		vgg_image *img = read_image(GOLDENS[i].file, 0);
		char what[300];
		snprintf(what, sizeof what, "%s as PIL decodes it", GOLDENS[i].file);
		expect_pixels(img, w, h, kind == '6' ? 3 : 1, g + header, what);
		vgg_image_free(img);
		free(g);
	}
}

/* Decoding from memory is what reading does, and the name has no say in the format. */
static void test_from_memory(void)
{
	size_t size;
	unsigned char *data = slurp("small-rgb.png", &size);
	vgg_image *img = NULL, *ref = read_image("small-rgb.png", 0);
	vgg_error err;
	CHECK_EQ_INT(data ? decode(data, size, "small.jpg", &img, &err) : -1, VGG_OK,
	             "a PNG named .jpg decodes from memory");
	if (img && ref)
		expect_pixels(img, vgg_image_width(ref), vgg_image_height(ref), 3,
		              vgg_image_pixels(ref), "memory and file agree");
	vgg_image_free(img);
	vgg_image_free(ref);
	free(data);
}

/* Hand-made PNM: header forms, white space, comments, bit order and maxval scaling. */
static void test_pnm(void)
{
#define PNM(lit) (lit), sizeof(lit) - 1
	static const struct {
		const char *data;
		size_t size;
		int w, h, c;
		const char *pixels;
		const char *what;
	} cases[] = {
		{PNM("P5 # magic\n# a whole line\n3 #width\n2\n# before maxval\n255\n"
		     "\x00\x01\x7f\x80\xfe\xff"), 3, 2, 1, "\x00\x01\x7f\x80\xfe\xff",
		 "P5 with comments everywhere"},
		{PNM("P6\n2 1\n255\n\x01\x02\x03\xfd\xfe\xff"), 2, 1, 3, "\x01\x02\x03\xfd\xfe\xff",
		 "P6"},
		{PNM("P4\n10 2\n\xb0\x40\xff\xff"), 10, 2, 1,
		 "\x00\xff\x00\x00\xff\xff\xff\xff\xff\x00" "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		 "P4: 1 is black, rows padded to a byte, padding ignored"},
		{PNM("P5\n2 1\n255\n \n"), 2, 1, 1, " \n", "one white-space byte ends the header"},
		{PNM("P5\n1 1\n255# note\n\x07"), 1, 1, 1, "\x07", "a comment ends the header"},
		{PNM("P5\r1\r1\r255\r\x05"), 1, 1, 1, "\x05", "CR line ends"},
		{PNM("P5\n3 1\n2\n\x00\x01\x02"), 3, 1, 1, "\x00\x80\xff", "maxval 2: 1 is 128"},
		{PNM("P5\n3 1\n100\n\x00\x32\x64"), 3, 1, 1, "\x00\x80\xff",
		 "maxval 100: 50 rounds up to 128"},
		{PNM("P5\n4 1\n65535\n\x00\x00\x80\x80\x00\xff\xff\xff"), 4, 1, 1, "\x00\x80\x01\xff",
		 "maxval 65535: two bytes a sample, big-endian"},
		{PNM("P6\n1 1\n1000\n\x00\x00\x01\xf4\x03\xe8"), 1, 1, 3, "\x00\x80\xff",
		 "P6 with maxval 1000"},
		{PNM("P5\n1 1\n255\n\x09P5\n1 1\n255\n\x01"), 1, 1, 1, "\x09",
		 "the first of several images"},
		{PNM("P4 1 1 \x80"), 1, 1, 1, "\x00", "P4 on one line"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		vgg_image *img;
		vgg_error err;
		if (decode(cases[i].data, cases[i].size, "t.pnm", &img, &err))
			printf("# %s\n", err.msg);
		expect_pixels(img, cases[i].w, cases[i].h, cases[i].c,
		              (const unsigned char *)cases[i].pixels, cases[i].what);
		vgg_image_free(img);
	}

	static const struct {
		const char *data;
		size_t size;
		int code;
		const char *message;
	} errors[] = {
		{PNM("P5\n3 2\n255\n\x01\x02\x03\x04\x05"), VGG_EIO,
		 "cannot decode 't.pgm': PNM file is truncated (3x2 pixels declared, 5 bytes of "
		 "pixel data)"},
		{PNM("P6\n2 2\n65535\n\x01\x02\x03\x04\x05\x06\x07\x08"), VGG_EIO,
		 "cannot decode 't.pgm': PNM file is truncated (2x2 pixels declared, 8 bytes of "
		 "pixel data)"},
		{PNM("P4\n9 2\n\xff\xff\xff"), VGG_EIO,
		 "cannot decode 't.pgm': PNM file is truncated (9x2 pixels declared, 3 bytes of "
		 "pixel data)"},
		{PNM("P5\n3 2\n255"), VGG_EIO,
		 "cannot decode 't.pgm': PNM file is truncated (3x2 pixels declared, 0 bytes of "
		 "pixel data)"},
		{PNM("P5\n3"), VGG_EIO, "cannot decode 't.pgm': PNM header ends before the height"},
		{PNM("P5\n3 2\n# no maxval"), VGG_EIO,
		 "cannot decode 't.pgm': PNM header ends before the maxval"},
		{PNM("P5\n3x2\n255\n"), VGG_EIO,
		 "cannot decode 't.pgm': PNM header: junk after the width"},
		{PNM("P6\nabc"), VGG_EIO,
		 "cannot decode 't.pgm': PNM header: expected the width as a decimal number"},
		{PNM("P5\n0 2\n255\n"), VGG_EIO,
		 "cannot decode 't.pgm': the image is 0x2, which has no pixels"},
		{PNM("P5\n1 1\n0\n\x00"), VGG_EIO,
		 "cannot decode 't.pgm': PNM maxval 0 is out of range (1 to 65535)"},
		{PNM("P5\n1 1\n65536\n\x00\x00"), VGG_EIO,
		 "cannot decode 't.pgm': PNM maxval 65536 is out of range (1 to 65535)"},
		{PNM("P5\n3 1\n100\n\x00\x65\x00"), VGG_EIO,
		 "cannot decode 't.pgm': PNM sample 101 is above maxval 100"},
		{PNM("P5\n99999999999 1\n255\n"), VGG_ERANGE,
		 "cannot decode 't.pgm': PNM width is too large"},
		{PNM("P5\n3000000000 1\n255\n"), VGG_ERANGE,
		 "cannot decode 't.pgm': 3000000000x1 is too large"},
		{PNM("P5\n100000 100000\n255\n\x01\x02\x03\x04"), VGG_ERANGE,
		 "cannot decode 't.pgm': 100000x100000 is 10000000000 pixels, over the limit of "
		 "100000000 (VGG_MAX_PIXELS)"},
		{PNM("P2\n1 1\n255\n0\n"), VGG_EIO, "cannot decode 't.pgm': plain (ASCII) PNM is not "
		 "supported, only binary P4, P5 and P6"},
	};
	for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
		char what[64];
		snprintf(what, sizeof what, "bad PNM %zu", i + 1);
		expect_error(errors[i].data, errors[i].size, "t.pgm", errors[i].code,
		             errors[i].message, what);
	}

	/* Past the ceiling, the size is still checked against the data before any allocation:
	 * 10 GB are not asked for on the word of a 25-byte file. */
	setenv("VGG_MAX_PIXELS", "100000000000", 1);
	expect_error(PNM("P5\n100000 100000\n255\n\x01\x02\x03\x04"), "t.pgm", VGG_EIO,
	             "cannot decode 't.pgm': PNM file is truncated (100000x100000 pixels "
	             "declared, 4 bytes of pixel data)", "huge PNM under a raised ceiling");
	unsetenv("VGG_MAX_PIXELS");
#undef PNM
}

/* A PNG chunk at p: length, type, body and a CRC that is right. */
static size_t png_chunk(unsigned char *p, const char *type, const unsigned char *body,
                        unsigned len)
{
	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	memcpy(p + 4, type, 4);
	if (len)
		memcpy(p + 8, body, len);
	unsigned long crc = crc32(0, p + 4, len + 4);
	p[8 + len] = (unsigned char)(crc >> 24);
	p[9 + len] = (unsigned char)(crc >> 16);
	p[10 + len] = (unsigned char)(crc >> 8);
	p[11 + len] = (unsigned char)crc;
	return 12 + len;
}

static void test_errors(void)
{
	expect_error("", 0, "empty.jpg", VGG_EIO, "cannot decode 'empty.jpg': empty file",
	             "empty input");
	expect_error("hello, world\n", 13, "hello.png", VGG_EIO,
	             "cannot decode 'hello.png': not a JPEG, PNG or PNM file", "text");
	expect_error("P", 1, "p.pgm", VGG_EIO, "cannot decode 'p.pgm': not a JPEG, PNG or PNM file",
	             "one byte");
	expect_error("\xff\xd8", 2, "2.jpg", VGG_EIO,
	             "cannot decode '2.jpg': not a JPEG, PNG or PNM file", "half a JPEG magic");
	CHECK_EQ_INT(vgg_image_decode("xx", 2, "x", 0, &(vgg_image *){NULL}, NULL), VGG_EIO,
	             "a NULL error is allowed");

	size_t size;
	unsigned char *jpg = slurp("photo.jpg", &size);
	if (jpg) {
		expect_error(jpg, size / 2, "cut.jpg", VGG_EIO,
		             "cannot decode 'cut.jpg': JPEG: Premature end of JPEG file",
		             "JPEG cut in half (PIL: image file is truncated)");
		expect_error(jpg, size - 2, "noeoi.jpg", VGG_EIO,
		             "cannot decode 'noeoi.jpg': JPEG: Premature end of JPEG file",
		             "JPEG without its EOI marker, which PIL refuses too");
		memset(jpg + 3, 0x00, 40);
		vgg_image *img;
		vgg_error err;
		int rc = decode(jpg, size, "bad.jpg", &img, &err);
		const char *prefix = "cannot decode 'bad.jpg': JPEG: ";
		CHECK(rc == VGG_EIO && !img && !strncmp(err.msg, prefix, strlen(prefix)),
		      "corrupt JPEG header: libjpeg's message (%s)", err.msg);
		free(jpg);
	}
	unsigned char *prog = slurp("photo-progressive.jpg", &size);
	if (prog)
		expect_error(prog, size * 3 / 4, "cut.jpg", VGG_EIO,
		             "cannot decode 'cut.jpg': JPEG: Premature end of JPEG file",
		             "progressive JPEG cut short");
	free(prog);

	/* The declared size of a JPEG is refused before libjpeg allocates for it. */
	jpg = slurp("photo.jpg", &size);
	for (size_t i = 2; jpg && i + 9 < size; i++) {
		if (jpg[i] == 0xff && jpg[i + 1] == 0xc0) {
			memcpy(jpg + i + 5, "\xfd\xe8\xfd\xe8", 4); /* 65000 x 65000 */
			expect_error(jpg, size, "huge.jpg", VGG_ERANGE,
			             "cannot decode 'huge.jpg': 65000x65000 is 4225000000 pixels, over "
			             "the limit of 100000000 (VGG_MAX_PIXELS)",
			             "JPEG declaring 65000x65000");
			break;
		}
	}
	free(jpg);

	unsigned char *png = slurp("small-rgb.png", &size);
	if (png) {
		expect_error(png, size / 2, "cut.png", VGG_EIO,
		             "cannot decode 'cut.png': PNG: file is truncated", "PNG cut in half");
		/* libpng checks a CRC after inflating its chunk, so flip the CRC, not the data. */
		unsigned char *idat = memmem(png, size, "IDAT", 4);
		size_t len = 0;
		for (int k = -4; idat && k < 0; k++)
			len = len << 8 | idat[k];
		if (idat && (size_t)(idat - png) + 8 + len <= size) {
			idat[7 + len] ^= 1;
			expect_error(png, size, "crc.png", VGG_EIO,
			             "cannot decode 'crc.png': PNG: IDAT: CRC error",
			             "PNG with a bad CRC");
		}
		free(png);
	}

	/* IHDR declaring 100000x100000 RGB with a correct CRC, then an empty IDAT: all libpng
	 * needs to reach the point where the size is checked. */
	unsigned char huge[128], ihdr[13] = {0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 2, 0, 0, 0};
	size_t n = 8;
	memcpy(huge, "\x89PNG\r\n\x1a\n", 8);
	n += png_chunk(huge + n, "IHDR", ihdr, sizeof ihdr);
	n += png_chunk(huge + n, "IDAT", NULL, 0);
	n += png_chunk(huge + n, "IEND", NULL, 0);
	expect_error(huge, n, "huge.png", VGG_ERANGE,
	             "cannot decode 'huge.png': 100000x100000 is 10000000000 pixels, over the "
	             "limit of 100000000 (VGG_MAX_PIXELS)", "PNG declaring 100000x100000");
	/* 10000x10000 is within the ceiling, but not within what 57 bytes inflate to: refused
	 * before 300 MB are allocated for it. */
	memcpy(ihdr, "\0\0\x27\x10\0\0\x27\x10", 8);
	n = 8;
	n += png_chunk(huge + n, "IHDR", ihdr, sizeof ihdr);
	n += png_chunk(huge + n, "IDAT", NULL, 0);
	n += png_chunk(huge + n, "IEND", NULL, 0);
	expect_error(huge, n, "bomb.png", VGG_EIO,
	             "cannot decode 'bomb.png': PNG: 10000x10000 pixels cannot come from 57 bytes "
	             "(truncated?)", "PNG declaring more pixels than its bytes can inflate to");

	char path[4096], want[4200];
	vgg_image *img;
	vgg_error err;
	test_data_path(path, sizeof path, "no-such-file.jpg");
	snprintf(want, sizeof want, "cannot open '%s': No such file or directory", path);
	CHECK_EQ_INT(vgg_image_read(path, 0, &img, &err), VGG_EIO, "a missing file");
	CHECK_STR(err.msg, want, "a missing file: message");
	test_data_path(path, sizeof path, "golden");
	snprintf(want, sizeof want, "cannot read '%s': Is a directory", path);
	CHECK_EQ_INT(vgg_image_read(path, 0, &img, &err), VGG_EIO, "a directory");
	CHECK_STR(err.msg, want, "a directory: message");
	CHECK_EQ_INT(vgg_image_decode("P5 1 1 255 x", 12, "m", -1, &img, &err), VGG_ERANGE,
	             "a negative minimum side");
	vgg_image_free(NULL);
}

/* VGG_MAX_PIXELS is read at each call; a size equal to it passes, one pixel more does not,
 * and for a JPEG it is the declared size that counts, not a DCT-scaled one. */
static void test_ceiling(void)
{
	static const struct {
		const char *file;
		int pixels;
	} files[] = {{"photo.jpg", 129 * 97}, {"small-rgb.png", 63 * 47}, {"small.ppm", 63 * 47}};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char limit[32], path[4096], want[4400];
		vgg_image *img;
		vgg_error err;
		test_data_path(path, sizeof path, files[i].file);
		snprintf(limit, sizeof limit, "%d", files[i].pixels);
		setenv("VGG_MAX_PIXELS", limit, 1);
		CHECK_EQ_INT(vgg_image_read(path, 0, &img, &err), VGG_OK, "%s at a limit of %s",
		             files[i].file, limit);
		vgg_image_free(img);
		snprintf(limit, sizeof limit, "%d", files[i].pixels - 1);
		setenv("VGG_MAX_PIXELS", limit, 1);
		CHECK_EQ_INT(vgg_image_read(path, 1, &img, &err), VGG_ERANGE, "%s over a limit of %s",
		             files[i].file, limit);
		snprintf(want, sizeof want, "cannot decode '%s': %s is %d pixels, over the limit of "
		         "%d (VGG_MAX_PIXELS)", path, i ? "63x47" : "129x97", files[i].pixels,
		         files[i].pixels - 1);
		CHECK_STR(err.msg, want, "%s over the limit: message", files[i].file);
	}
	static const char *const bad[] = {"12k", "0", "-5", " 100"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char want[128];
		vgg_image *img;
		vgg_error err;
		setenv("VGG_MAX_PIXELS", bad[i], 1);
		snprintf(want, sizeof want, "cannot decode 'm': VGG_MAX_PIXELS must be a whole number "
		         "above 0, not '%s'",
		         bad[i]);
		CHECK_EQ_INT(decode("P5 1 1 255 x", 12, "m", &img, &err), VGG_ERANGE,
		             "VGG_MAX_PIXELS='%s' refused", bad[i]);
		CHECK_STR(err.msg, want, "VGG_MAX_PIXELS='%s': message", bad[i]);
	}
	setenv("VGG_MAX_PIXELS", "99999999999999999999999", 1);
	vgg_image *img = read_image("small.pgm", 0);
	CHECK(img != NULL, "a VGG_MAX_PIXELS beyond 64 bits means no limit");
	vgg_image_free(img);
	unsetenv("VGG_MAX_PIXELS");
}

/* A JPEG decoded at 1/scale against the scale x scale block means of its full-size decode:
 * the reduced IDCT keeps the low frequencies, so they agree within a grey level or two. */
static void check_block_means(const char *file, int min_side, int scale)
{
	vgg_image *full = read_image(file, 0), *part = read_image(file, min_side);
	double total = 0;
	int count = 0;
	if (full && part && vgg_image_width(part) == (vgg_image_width(full) + scale - 1) / scale) {
		int fw = vgg_image_width(full), fh = vgg_image_height(full);
		int c = vgg_image_channels(full), pw = vgg_image_width(part);
		const unsigned char *fp = vgg_image_pixels(full), *pp = vgg_image_pixels(part);
		for (int y = 0; y < vgg_image_height(part); y++) {
			for (int x = 0; x < pw; x++) {
				for (int k = 0; k < c; k++) {
					int sum = 0, n = 0;
					for (int fy = y * scale; fy < (y + 1) * scale && fy < fh; fy++) {
						for (int fx = x * scale; fx < (x + 1) * scale && fx < fw; fx++) {
							sum += fp[(fy * fw + fx) * c + k];
							n++;
						}
					}
					total += fabs(pp[(y * pw + x) * c + k] - (double)sum / n);
					count++;
				}
			}
		}
	}
	CHECK(count && total / count < 2, "%s at 1/%d: the block means (mean error %.2f)", file,
	      scale, count ? total / count : -1);
	vgg_image_free(full);
	vgg_image_free(part);
}

/* min_side picks the smallest of 1/8, 1/4, 1/2 whose shorter side, rounded up as libjpeg
 * rounds it, is still >= min_side.  photo.jpg is 129x97: 17x13, 33x25, 65x49. */
static void test_dct_scaling(void)
{
	static const struct {
		const char *file;
		int min_side, w, h;
	} cases[] = {
		{"photo.jpg", 0, 129, 97}, {"photo.jpg", 1, 17, 13}, {"photo.jpg", 13, 17, 13},
		{"photo.jpg", 14, 33, 25}, {"photo.jpg", 25, 33, 25}, {"photo.jpg", 26, 65, 49},
		{"photo.jpg", 49, 65, 49}, {"photo.jpg", 50, 129, 97},
		{"photo.jpg", 97, 129, 97}, {"photo.jpg", 1000, 129, 97},
		{"photo-progressive.jpg", 20, 33, 25}, {"photo-gray.jpg", 40, 65, 49},
		{"photo-cmyk.jpg", 8, 11, 8}, {"photo-cmyk.jpg", 9, 21, 16},
		{"small-rgb.png", 8, 63, 47}, {"small.pgm", 8, 63, 47},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		vgg_image *img = read_image(cases[i].file, cases[i].min_side);
		int w = img ? vgg_image_width(img) : 0, h = img ? vgg_image_height(img) : 0;
		CHECK(w == cases[i].w && h == cases[i].h, "%s, min_side %d: %dx%d", cases[i].file,
		      cases[i].min_side, cases[i].w, cases[i].h);
		if (w != cases[i].w || h != cases[i].h)
			printf("#   got %dx%d\n", w, h);
		vgg_image_free(img);
	}

	check_block_means("photo-gray.jpg", 13, 8);
	/* Not colour at 1/8: libjpeg-turbo's SIMD code there leaves valgrind believing the last
	 * column is uninitialised, a known false positive (libjpeg-turbo issue #238; the plain C
	 * path, JSIMD_FORCENONE=1, gives the same bytes, and valgrind is then silent). */
	check_block_means("photo.jpg", 25, 4);
}

int main(void)
{
	unsetenv("VGG_MAX_PIXELS");
	test_goldens();
	test_from_memory();
	test_pnm();
	test_errors();
	test_ceiling();
	test_dct_scaling();
	return tap_done();
}
