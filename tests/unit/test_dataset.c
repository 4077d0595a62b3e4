/*
 * test_dataset.c: datasets from IDX files, class directories and list files, and what each
 * refuses; splits; the pixel statistics against numpy's for the committed set
 * (tests/golden/make_train_data.py) and against a synthetic set whose covariance is known.
 * Most files are written into a scratch directory by the test itself.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "vgg.h"
#include "tap.h"
#include "testdata.h"
#include "traindata.h"

static char path[4096];

static int has(const char *s, const char *part)
{
	return s && part && strstr(s, part);
}

/* Opening `p` fails with a message naming `file` and saying `what`. */
static void check_refused(const char *p, const char *file, const char *what, const char *desc)
{
	vgg_error err = {0};
	vgg_dataset *ds = NULL;
	int rc = vgg_dataset_open(p, &ds, &err);
	int ok = rc != 0 && ds == NULL && has(err.msg, file) && has(err.msg, what);
	CHECK(ok, "refused: %s", desc);
	if (!ok)
		printf("#   rc %d, message: %s\n", rc, err.msg);
	vgg_dataset_free(ds);
}

static vgg_dataset *open_ok(const char *p, const char *desc)
{
	vgg_error err = {0};
	vgg_dataset *ds = NULL;
	int rc = vgg_dataset_open(p, &ds, &err);
	CHECK(rc == 0 && ds, "opens: %s", desc);
	if (rc)
		printf("#   %s\n", err.msg);
	return ds;
}

/* Image i's width, height and channels as one number, w * 100 + h * 10 + c; -1 on failure. */
static int shape_of(const vgg_dataset *ds, size_t i)
{
	vgg_image *img;
	if (vgg_dataset_image(ds, i, &img, NULL))
		return -1;
	int s = vgg_image_width(img) * 100 + vgg_image_height(img) * 10 + vgg_image_channels(img);
	vgg_image_free(img);
	return s;
}

/* ---- IDX ---- */

/* 5 images of 3x4: image i's pixel (y, x) is i * 12 + y * 4 + x. */
static unsigned char idx_pixels[5 * 12];
static const unsigned char idx_labels[5] = {3, 0, 1, 3, 2};
static const unsigned idx_dims[3] = {5, 3, 4}, idx_ldims[1] = {5};

static void test_idx(void)
{
	for (int i = 0; i < 60; i++)
		idx_pixels[i] = (unsigned char)i;
	char labels[4096];
	scratch_idx(path, sizeof path, "mnist/a-images-idx3-ubyte.gz", 3, idx_dims, idx_pixels,
	            60, 1);
	scratch_idx(labels, sizeof labels, "mnist/a-labels-idx1-ubyte.gz", 1, idx_ldims,
	            idx_labels, 5, 1);
	vgg_dataset *ds = open_ok(path, "gzip'd IDX images");
	if (ds) {
		CHECK_EQ_INT(vgg_dataset_count(ds), 5, "IDX: 5 images");
		CHECK_EQ_INT(vgg_dataset_classes(ds), 4, "IDX: classes up to the largest label");
		CHECK(vgg_dataset_class_name(ds, 0) == NULL, "IDX: classes have no names");
		int same = 1;
		for (size_t i = 0; i < 5; i++)
			same &= vgg_dataset_label(ds, i) == idx_labels[i];
		CHECK(same, "IDX: labels in order");
		vgg_image *img = NULL;
		int rc = vgg_dataset_image(ds, 2, &img, NULL);
		CHECK(!rc && vgg_image_width(img) == 4 && vgg_image_height(img) == 3 &&
		      vgg_image_channels(img) == 1 &&
		      memcmp(vgg_image_pixels(img), idx_pixels + 24, 12) == 0,
		      "IDX: image 2's pixels");
		vgg_image_free(img);
	}
	vgg_dataset_free(ds);

	vgg_dataset_free(open_ok(scratch_path(path, sizeof path, "mnist"),
	                         "a directory holding one IDX images file"));
	check_refused(labels, "a-labels-idx1-ubyte.gz", "holds IDX labels",
	              "the labels file in place of the images");

	/* Unpacked images beside gzip'd labels, and the .idx3 spelling of some mirrors. */
	scratch_idx(path, sizeof path, "mix/b-images-idx3-ubyte", 3, idx_dims, idx_pixels, 60, 0);
	scratch_idx(labels, sizeof labels, "mix/b-labels-idx1-ubyte.gz", 1, idx_ldims,
	            idx_labels, 5, 1);
	vgg_dataset_free(open_ok(path, "unpacked images, gzip'd labels"));
	scratch_idx(path, sizeof path, "win/train-images.idx3-ubyte", 3, idx_dims, idx_pixels, 60,
	            0);
	scratch_idx(labels, sizeof labels, "win/train-labels.idx1-ubyte", 1, idx_ldims,
	            idx_labels, 5, 0);
	vgg_dataset_free(open_ok(path, "train-images.idx3-ubyte"));

	/* Colour: a fourth dimension of 3 channels. */
	static const unsigned rgb_dims[4] = {5, 2, 2, 3};
	scratch_idx(path, sizeof path, "rgb/c-images-idx3-ubyte", 4, rgb_dims, idx_pixels, 60, 0);
	scratch_idx(labels, sizeof labels, "rgb/c-labels-idx1-ubyte", 1, idx_ldims, idx_labels, 5,
	            0);
	ds = open_ok(path, "IDX images with 3 channels");
	CHECK_EQ_INT(ds ? shape_of(ds, 4) : 0, 223, "IDX: 2x2 RGB images");
	vgg_dataset_free(ds);

	/* The committed set, as vgg-train's tests use it. */
	char committed[4096];
	test_data_path(committed, sizeof committed, "train/idx/tiny-images-idx3-ubyte.gz");
	ds = open_ok(committed, "the committed tiny IDX set");
	if (ds) {
		int counts[4] = {0};
		for (size_t i = 0; i < vgg_dataset_count(ds); i++)
			counts[vgg_dataset_label(ds, i) & 3]++;
		CHECK(vgg_dataset_count(ds) == 48 && vgg_dataset_classes(ds) == 4 && counts[0] == 12 &&
		      counts[3] == 12 && shape_of(ds, 47) == 28 * 100 + 28 * 10 + 1,
		      "the tiny set: 48 images of 28x28, 12 of each of 4 classes");
	}
	vgg_dataset_free(ds);
}

static void test_idx_errors(void)
{
	char labels[4096];
	scratch_idx(labels, sizeof labels, "bad/x-labels-idx1-ubyte", 1, idx_ldims, idx_labels, 5,
	            0);

	unsigned char raw[4 + 12 + 61];
	scratch_idx(path, sizeof path, "bad/x-images-idx3-ubyte", 3, idx_dims, idx_pixels, 59, 0);
	check_refused(path, "x-images-idx3-ubyte", "is truncated", "values missing");
	memcpy(raw + 16, idx_pixels, 60);
	raw[76] = 9;
	scratch_idx(path, sizeof path, "bad/x-images-idx3-ubyte", 3, idx_dims, raw + 16, 61, 0);
	check_refused(path, "x-images-idx3-ubyte", "holds more than the 60 bytes",
	              "bytes after the values");
	scratch_idx(path, sizeof path, "bad/x-images-idx3-ubyte", 3,
	            (const unsigned[]){0, 3, 4}, idx_pixels, 0, 0);
	check_refused(path, "x-images-idx3-ubyte", "holds no images", "no images");
	scratch_write(path, sizeof path, "bad/x-images-idx3-ubyte",
	              "\0\0\x08\x03\0\0\0\x05\0\0", 10, 0);
	check_refused(path, "x-images-idx3-ubyte", "ends inside its IDX header", "a short header");
	scratch_write(path, sizeof path, "bad/x-images-idx3-ubyte", "\0\0\x0d\x03", 4, 0);
	check_refused(path, "x-images-idx3-ubyte", "type 0x0D (float32)", "float values");
	scratch_idx(path, sizeof path, "bad/x-images-idx3-ubyte", 2, idx_dims, idx_pixels, 15, 0);
	check_refused(path, "x-images-idx3-ubyte", "has 2 dimensions", "two dimensions");
	scratch_idx(path, sizeof path, "bad/x-images-idx3-ubyte", 4,
	            (const unsigned[]){5, 3, 2, 2}, idx_pixels, 60, 0);
	check_refused(path, "x-images-idx3-ubyte", "has 2 channels", "two channels");
	scratch_idx(path, sizeof path, "bad/x-images-idx3-ubyte", 3,
	            (const unsigned[]){5, 65536, 65536}, idx_pixels, 60, 0);
	check_refused(path, "x-images-idx3-ubyte", "over the limit", "huge images");
	scratch_idx(path, sizeof path, "bad/x-images-idx3-ubyte", 3,
	            (const unsigned[]){0xFFFFFFFFu, 4096, 4096}, idx_pixels, 60, 0);
	check_refused(path, "x-images-idx3-ubyte", "is truncated", "billions of images declared");

	scratch_idx(path, sizeof path, "bad/x-images-idx3-ubyte", 3, idx_dims, idx_pixels, 60, 0);
	scratch_idx(labels, sizeof labels, "bad/x-labels-idx1-ubyte", 1, (const unsigned[]){4},
	            idx_labels, 4, 0);
	check_refused(path, "x-labels-idx1-ubyte", "holds 4 labels for the 5 images",
	              "fewer labels than images");
	remove(labels);
	check_refused(path, "x-images-idx3-ubyte", "no 'x-labels-idx1-ubyte' beside it",
	              "no labels file");
	scratch_idx(path, sizeof path, "bad/y-images-idx3-ubyte", 3, idx_dims, idx_pixels, 60, 0);
	check_refused(scratch_path(path, sizeof path, "bad"), "bad", "holds 2 IDX images files",
	              "a directory of two IDX sets");
	scratch_idx(path, sizeof path, "noname/pictures.idx", 3, idx_dims, idx_pixels, 60, 0);
	check_refused(path, "pictures.idx", "holds \"images\" and \"idx3\"",
	              "an images file named otherwise");

	/* gzip damage: a cut stream, and a flipped bit that the CRC catches. */
	size_t size;
	scratch_idx(path, sizeof path, "gz/z-images-idx3-ubyte.gz", 3, idx_dims, idx_pixels, 60,
	            1);
	scratch_idx(labels, sizeof labels, "gz/z-labels-idx1-ubyte.gz", 1, idx_ldims, idx_labels,
	            5, 1);
	unsigned char *gz = test_slurp(path, &size);
	if (gz) {
		scratch_write(path, sizeof path, "gz/z-images-idx3-ubyte.gz", gz, size - 12, 0);
		check_refused(path, "z-images-idx3-ubyte.gz", "the gzip data ends too soon",
		              "a truncated gzip stream");
		gz[size - 6] ^= 1;
		scratch_write(path, sizeof path, "gz/z-images-idx3-ubyte.gz", gz, size, 0);
		check_refused(path, "z-images-idx3-ubyte.gz", "incorrect data check",
		              "a gzip stream with a bad CRC");
	}
	free(gz);
	check_refused(scratch_path(path, sizeof path, "nothing-here"), "nothing-here",
	              "No such file", "a path that does not exist");
	check_refused("/dev/null", "/dev/null", "is not a file or a directory", "a device");
}

/* ---- Directories ---- */

static void pgm(const char *name, int w)
{
	unsigned char px[64];
	for (int i = 0; i < 64; i++)
		px[i] = (unsigned char)(w * 16 + i);
	scratch_pnm(path, sizeof path, name, w, 2, 1, px);
}

static void test_dirs(void)
{
	/* Widths tell the images apart. */
	pgm("cls/zeta/1.pgm", 1);
	pgm("cls/alpha/b.ppm", 3);
	pgm("cls/alpha/sub/c.pgm", 4);
	pgm("cls/alpha/sub x/d.pgm", 5);
	pgm("cls/alpha/sub/deeper/e.PGM", 6);
	pgm("cls/alpha/.hidden.pgm", 7);
	pgm("cls/.git/f.pgm", 7);
	pgm("cls/top.pgm", 7);
	scratch_write(path, sizeof path, "cls/alpha/notes.txt", "x", 1, 0);
	size_t size;
	char src[4096];
	unsigned char *png = test_slurp(test_data_path(src, sizeof src, "small-rgb.png"), &size);
	if (png)
		scratch_write(path, sizeof path, "cls/alpha/a.PNG", png, size, 0);
	free(png);
	/* A link back up the tree is walked once. */
	char link[4096];
	symlink("..", scratch_path(link, sizeof link, "cls/zeta/up"));

	vgg_dataset *ds = open_ok(scratch_path(path, sizeof path, "cls"), "class directories");
	if (ds) {
		CHECK_EQ_INT(vgg_dataset_count(ds), 6, "dir: 6 images found");
		CHECK_EQ_INT(vgg_dataset_classes(ds), 2, "dir: 2 classes");
		CHECK_STR(vgg_dataset_class_name(ds, 0), "alpha", "dir: classes sorted by name");
		CHECK_STR(vgg_dataset_class_name(ds, 1), "zeta", "dir: class 1's name");
		CHECK(vgg_dataset_class_name(ds, 2) == NULL, "dir: no class 2");
		/* ImageFolder's order: directories sorted by path ("sub x" before "sub/deeper"),
		 * files by name within each. */
		static const int want[6] = {63 * 100 + 47 * 10 + 3, 321, 421, 521, 621, 121};
		int same = vgg_dataset_count(ds) == 6;
		for (size_t i = 0; same && i < 6; i++)
			same = shape_of(ds, i) == want[i] && vgg_dataset_label(ds, i) == (i == 5);
		CHECK(same, "dir: images in ImageFolder's order with their labels");
	}
	vgg_dataset_free(ds);

	pgm("empty/a/x.pgm", 1);
	scratch_write(path, sizeof path, "empty/b/readme.txt", "x", 1, 0);
	check_refused(scratch_path(path, sizeof path, "empty"), "empty/b", "holds no images",
	              "a class without images");
	check_refused(scratch_path(path, sizeof path, "cls/alpha/sub/deeper"), "deeper",
	              "holds no class subdirectories", "a directory of images alone");
}

/* ---- List files ---- */

static void test_lists(void)
{
	char abs_path[4096], text[8192];
	pgm("lists/with space/img 1.pgm", 2);
	scratch_path(abs_path, sizeof abs_path, "cls/zeta/1.pgm");
	snprintf(text, sizeof text, "../cls/alpha/b.ppm 1\n\n%s\t0\r\n  with space/img 1.pgm   4 "
	         " \n", abs_path);
	scratch_write(path, sizeof path, "lists/l.txt", text, strlen(text), 0);
	vgg_dataset *ds = open_ok(path, "a list file");
	if (ds) {
		CHECK(vgg_dataset_count(ds) == 3 && vgg_dataset_classes(ds) == 5 &&
		      vgg_dataset_class_name(ds, 0) == NULL, "list: 3 images, 5 unnamed classes");
		CHECK(vgg_dataset_label(ds, 0) == 1 && vgg_dataset_label(ds, 1) == 0 &&
		      vgg_dataset_label(ds, 2) == 4, "list: labels");
		CHECK(shape_of(ds, 0) == 321 && shape_of(ds, 1) == 121 && shape_of(ds, 2) == 221,
		      "list: relative paths from the list's directory, absolute ones as they are, "
		      "spaces kept");
	}
	vgg_dataset_free(ds);

	char committed[4096];
	ds = open_ok(test_data_path(committed, sizeof committed, "train/list.txt"),
	             "the committed list");
	CHECK(ds && vgg_dataset_count(ds) == 12 && vgg_dataset_label(ds, 0) == 2 &&
	      shape_of(ds, 3) == 16 * 100 + 16 * 10 + 1, "the committed list: 12 images");
	vgg_dataset_free(ds);

	static const struct {
		const char *text, *what;
	} bad[] = {
		{"a.pgm 1\nb.pgm\n", "line 2: expected 'PATH LABEL', not 'b.pgm'"},
		{"a.pgm -1\n", "line 1: label '-1' is not a whole number from 0 to 999999"},
		{"a.pgm 1x\n", "label '1x'"},
		{"a.pgm 1000000\n", "label '1000000'"},
		{"a.pgm 99999999999999999999\n", "label '99999999999999999999'"},
		{"\n  \n", "lists no images"},
		{"", "lists no images"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		scratch_write(path, sizeof path, "lists/bad.txt", bad[i].text, strlen(bad[i].text),
		              0);
		check_refused(path, "bad.txt", bad[i].what, bad[i].what);
	}

	/* An image that does not decode is the loader's to pass over; the message names it. */
	scratch_write(path, sizeof path, "lists/broken.png", "\x89PNG\r\n\x1a\n", 8, 0);
	scratch_write(path, sizeof path, "lists/broken.txt", "broken.png 0\nmissing.png 0\n", 27,
	              0);
	ds = open_ok(path, "a list of unreadable images");
	if (ds) {
		vgg_error err = {0};
		vgg_image *img = NULL;
		CHECK(vgg_dataset_image(ds, 0, &img, &err) != 0 && !img &&
		      has(err.msg, "lists/broken.png"), "an undecodable image's error names it");
		CHECK(vgg_dataset_image(ds, 1, &img, &err) == VGG_EIO &&
		      has(err.msg, "lists/missing.png"), "a missing image's error names it");
	}
	vgg_dataset_free(ds);
}

/* ---- Splits ---- */

/* 50 images of 1x1 whose one pixel is their index; labels index % 3. */
static vgg_dataset *numbered(void)
{
	unsigned char px[50], lab[50];
	for (int i = 0; i < 50; i++) {
		px[i] = (unsigned char)i;
		lab[i] = (unsigned char)(i % 3);
	}
	scratch_idx(path, sizeof path, "numbered/n-labels-idx1-ubyte", 1, (const unsigned[]){50},
	            lab, 50, 0);
	scratch_idx(path, sizeof path, "numbered/n-images-idx3-ubyte", 3,
	            (const unsigned[]){50, 1, 1}, px, 50, 0);
	return open_ok(path, "50 numbered images");
}

/* The index in numbered() of a view's image i. */
static int number_of(const vgg_dataset *ds, size_t i)
{
	vgg_image *img;
	if (vgg_dataset_image(ds, i, &img, NULL))
		return -1;
	int v = vgg_image_pixels(img)[0];
	vgg_image_free(img);
	return v;
}

static void test_split(void)
{
	vgg_dataset *ds = numbered(), *train, *held, *train2, *held2;
	if (!ds)
		return;
	vgg_error err = {0};
	int rc = vgg_dataset_split(ds, 0.2, 7, &train, &held, &err);
	CHECK(!rc && vgg_dataset_count(train) == 40 && vgg_dataset_count(held) == 10,
	      "split 0.2 of 50: 40 and 10");
	if (rc)
		return;
	int seen[50] = {0}, ordered = 1, labelled = 1;
	for (int part = 0; part < 2; part++) {
		const vgg_dataset *v = part ? held : train;
		for (size_t i = 0; i < vgg_dataset_count(v); i++) {
			int k = number_of(v, i);
			if (k < 0)
				continue;
			seen[k]++;
			ordered &= i == 0 || k > number_of(v, i - 1);
			labelled &= vgg_dataset_label(v, i) == k % 3 && vgg_dataset_classes(v) == 3;
		}
	}
	int once = 1;
	for (int k = 0; k < 50; k++)
		once &= seen[k] == 1;
	CHECK(once, "split: every image in exactly one part");
	CHECK(ordered, "split: each part in the dataset's order");
	CHECK(labelled, "split: labels and classes follow the images");

	rc = vgg_dataset_split(ds, 0.2, 7, &train2, &held2, &err);
	int same = !rc;
	for (size_t i = 0; same && i < 10; i++)
		same = number_of(held, i) == number_of(held2, i);
	CHECK(same, "split: the same seed gives the same split");
	vgg_dataset_free(train2);
	vgg_dataset_free(held2);
	rc = vgg_dataset_split(ds, 0.2, 8, &train2, &held2, &err);
	int differ = 0;
	for (size_t i = 0; !rc && i < 10; i++)
		differ |= number_of(held, i) != number_of(held2, i);
	CHECK(differ, "split: another seed gives another split");
	vgg_dataset_free(train2);
	vgg_dataset_free(held2);

	/* A view of a view, used after the datasets it came from are freed. */
	vgg_dataset_free(ds);
	rc = vgg_dataset_split(train, 0.5, 1, &train2, &held2, &err);
	vgg_dataset_free(train);
	int inside = !rc && vgg_dataset_count(train2) == 20 && vgg_dataset_count(held2) == 20;
	for (size_t i = 0; inside && i < 20; i++)
		for (size_t j = 0; j < 10; j++)
			inside &= number_of(held2, i) != number_of(held, j);
	CHECK(inside, "split of a split: halves of the training part, outliving their parents");
	vgg_dataset_free(train2);
	vgg_dataset_free(held2);

	static const double bad[] = {0.0, 1.0, -0.5, 0.005, 0.995, NAN};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		train2 = held2 = (vgg_dataset *)held;
		rc = vgg_dataset_split(held, bad[i], 1, &train2, &held2, &err);
		CHECK(rc == VGG_ERANGE && !train2 && !held2, "split refuses fraction %g", bad[i]);
	}
	vgg_dataset_free(held);
}

/* ---- Statistics ---- */

static int close_to(double got, double want, double tol)
{
	return fabs(got - want) <= tol;
}

static void test_stats_golden(void)
{
	char p[4096];
	FILE *f = fopen(test_data_path(p, sizeof p, "train/stats.txt"), "r");
	double want[18];
	int n = 0;
	while (f && n < 18 && fscanf(f, "%lf", &want[n]) == 1)
		n++;
	if (f)
		fclose(f);
	CHECK_EQ_INT(n, 18, "numpy's statistics read");
	vgg_dataset *ds = open_ok(test_data_path(p, sizeof p, "train/dir"), "the committed dir");
	float mean[3], std[3], val[3], vec[3][3];
	vgg_error err = {0};
	int rc = ds ? vgg_dataset_stats(ds, 0, 0, mean, std, val, vec, &err) : -1;
	int ok = !rc && n == 18;
	for (int c = 0; ok && c < 3; c++) {
		ok &= close_to(mean[c], want[c], 1e-6) && close_to(std[c], want[3 + c], 1e-6) &&
		      close_to(val[c], want[6 + c], 1e-7);
		for (int k = 0; k < 3; k++)
			ok &= close_to(vec[c][k], want[9 + 3 * c + k], 1e-5);
	}
	CHECK(ok, "stats: mean, std and eigen-decomposition as numpy's");
	if (!ok)
		printf("#   %s; mean %g %g %g, eigval %g %g %g, eigvec0 %g %g %g\n", err.msg,
		       mean[0], mean[1], mean[2], val[0], val[1], val[2], vec[0][0], vec[0][1],
		       vec[0][2]);
	vgg_dataset_free(ds);
}

/*
 * Six colours m +- d_k for orthogonal d_k (multiples of (2, 3, 6), (3, -6, 2) and
 * (6, 2, -3)), equally many pixels of each: the covariance is
 * (1/3) sum_k d_k d_k^T, so the eigenvectors are the d_k and the eigenvalues |d_k|^2 / 3.
 */
static void test_stats_synthetic(void)
{
	static const int d[3][3] = {{20, 30, 60}, {21, -42, 14}, {24, 8, -12}};
	char text[4096] = "", name[64];
	for (int k = 0; k < 6; k++) {
		unsigned char px[6 * 3];
		for (int i = 0; i < 6; i++)
			for (int c = 0; c < 3; c++)
				px[3 * i + c] = (unsigned char)(128 + (k % 2 ? -1 : 1) * d[k / 2][c]);
		snprintf(name, sizeof name, "six/%d.ppm", k);
		scratch_pnm(path, sizeof path, name, 3, 2, 3, px);
		snprintf(text + strlen(text), sizeof text - strlen(text), "%d.ppm 0\n", k);
	}
	scratch_write(path, sizeof path, "six/list", text, strlen(text), 0);
	vgg_dataset *ds = open_ok(path, "six colours");
	float mean[3], std[3], val[3], vec[3][3];
	vgg_error err = {0};
	int rc = ds ? vgg_dataset_stats(ds, 0, 0, mean, std, val, vec, &err) : -1;
	double u = 255.0 * 255.0;
	int ok = !rc;
	for (int i = 0; ok && i < 3; i++) {
		double norm2 = 0, var = 0;
		for (int c = 0; c < 3; c++) {
			norm2 += d[i][c] * d[i][c];
			var += d[c][i] * d[c][i];
		}
		ok &= close_to(mean[i], 128.0 / 255.0, 1e-7) && close_to(std[i], sqrt(var / 3 / u),
		                                                           1e-7) &&
		      close_to(val[i], norm2 / 3 / u, 1e-8);
		/* The sign that makes the largest component positive. */
		double sign = i == 1 ? -1.0 : 1.0;
		for (int c = 0; c < 3; c++)
			ok &= close_to(vec[i][c], sign * d[i][c] / sqrt(norm2), 1e-6);
	}
	CHECK(ok, "stats: a known covariance's eigenvalues and eigenvectors");
	if (!ok)
		printf("#   eigval %g %g %g; eigvec0 %g %g %g\n", val[0], val[1], val[2], vec[0][0],
		       vec[0][1], vec[0][2]);
	vgg_dataset_free(ds);

	/* Gray images: one direction, (1, 1, 1) / sqrt(3), and nothing across it. */
	ds = numbered();
	rc = ds ? vgg_dataset_stats(ds, 0, 0, mean, std, val, vec, &err) : -1;
	double s3 = 1 / sqrt(3.0), var = (50.0 * 50.0 - 1) / 12.0 / u;
	CHECK(!rc && close_to(mean[1], 24.5 / 255, 1e-7) && close_to(std[2], sqrt(var), 1e-7) &&
	      close_to(val[0], 3 * var, 1e-8) && close_to(val[1], 0, 1e-9) && val[2] >= 0 &&
	      close_to(vec[0][0], s3, 1e-6) && close_to(vec[0][2], s3, 1e-6),
	      "stats: gray images lie along (1, 1, 1)");

	/* A sample, drawn the same way by the same seed. */
	float m2[3], s2[3], v2[3], e2[3][3];
	rc = vgg_dataset_stats(ds, 10, 3, mean, std, val, vec, &err) ||
	     vgg_dataset_stats(ds, 10, 3, m2, s2, v2, e2, &err);
	CHECK(!rc && mean[0] == m2[0] && std[0] == s2[0] && mean[0] != (float)(24.5 / 255),
	      "stats: a sample of 10 images, the same for the same seed");
	vgg_dataset_free(ds);

	scratch_write(path, sizeof path, "six/bad.png", "\x89PNG\r\n\x1a\n", 8, 0);
	scratch_write(path, sizeof path, "six/some-bad", "bad.png 0\n0.ppm 1\n1.ppm 1\n", 26, 0);
	ds = open_ok(path, "a list with an undecodable image");
	rc = ds ? vgg_dataset_stats(ds, 0, 0, mean, std, val, vec, &err) : -1;
	CHECK(!rc && close_to(mean[0], 128.0 / 255, 1e-7), "stats: undecodable images passed over");
	vgg_dataset_free(ds);
	scratch_write(path, sizeof path, "six/all-bad", "bad.png 0\n", 10, 0);
	ds = open_ok(path, "a list of one undecodable image");
	rc = ds ? vgg_dataset_stats(ds, 0, 0, mean, std, val, vec, &err) : 0;
	CHECK(rc && has(err.msg, "no image decodes") && has(err.msg, "six/bad.png"),
	      "stats: fails when no image decodes, naming the last");
	vgg_dataset_free(ds);
}

int main(void)
{
	scratch_new();
	test_idx();
	test_idx_errors();
	test_dirs();
	test_lists();
	test_split();
	test_stats_golden();
	test_stats_synthetic();
	scratch_done();
	return tap_done();
}
