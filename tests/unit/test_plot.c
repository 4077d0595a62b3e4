/*
 * test_plot.c: PNG writing read back by the library's own decoder, and charts: their size,
 * their series' colours where the values put them, gaps, empty and one-point series, and
 * what is refused.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "vgg.h"

static char dir[] = "/tmp/vgg-test-plot.XXXXXX";

/* The first two colours a chart gives its series, and the third. */
static const unsigned char BLUE[3] = {31, 119, 180}, ORANGE[3] = {255, 127, 14},
                           GREEN[3] = {44, 160, 44};

static const char *tmp_path(const char *name)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

static vgg_image *read_back(const char *path)
{
	vgg_image *img = NULL;
	vgg_error err;
	if (vgg_image_read(path, 0, &img, &err))
		printf("# %s\n", err.msg);
	return img;
}

/* Pixels of colour `rgb` with x in [xlo, xhi), and the mean and least y of them. */
struct census {
	long count;
	double mean_y;
	int top;
};

static struct census count_colour(const vgg_image *img, const unsigned char rgb[3], int xlo,
                                  int xhi)
{
	struct census c = {0, 0, -1};
	int w = vgg_image_width(img), h = vgg_image_height(img);
	const unsigned char *p = vgg_image_pixels(img);
	for (int y = 0; y < h; y++)
		for (int x = xlo; x < xhi && x < w; x++) {
			const unsigned char *q = p + 3 * ((size_t)y * (size_t)w + (size_t)x);
			if (q[0] == rgb[0] && q[1] == rgb[1] && q[2] == rgb[2]) {
				if (c.top < 0)
					c.top = y;
				c.count++;
				c.mean_y += y;
			}
		}
	if (c.count)
		c.mean_y /= (double)c.count;
	return c;
}

static void test_png_write(void)
{
	const unsigned char gray[6] = {0, 50, 100, 150, 200, 255};
	unsigned char rgb[36];
	for (int i = 0; i < 36; i++)
		rgb[i] = (unsigned char)(i * 7);
	vgg_error err;
	const char *path = tmp_path("gray.png");
	CHECK_EQ_INT(vgg_png_write(path, 3, 2, 1, gray, &err), VGG_OK, "gray 3x2 PNG written");
	vgg_image *img = read_back(path);
	CHECK(img && vgg_image_width(img) == 3 && vgg_image_height(img) == 2 &&
	      vgg_image_channels(img) == 1 && !memcmp(vgg_image_pixels(img), gray, 6),
	      "gray PNG reads back as 3x2, 1 channel, the same bytes");
	vgg_image_free(img);
	path = tmp_path("rgb.png");
	CHECK_EQ_INT(vgg_png_write(path, 4, 3, 3, rgb, &err), VGG_OK, "RGB 4x3 PNG written");
	img = read_back(path);
	CHECK(img && vgg_image_width(img) == 4 && vgg_image_height(img) == 3 &&
	      vgg_image_channels(img) == 3 && !memcmp(vgg_image_pixels(img), rgb, 36),
	      "RGB PNG reads back as 4x3, 3 channels, the same bytes");
	vgg_image_free(img);

	CHECK_EQ_INT(vgg_png_write(tmp_path("two.png"), 3, 2, 2, gray, &err), VGG_ERANGE,
	             "2 channels refused");
	CHECK(strstr(err.msg, "2 channels (1 or 3 only)") && access(tmp_path("two.png"), F_OK) != 0,
	      "2 channels: the message names them, no file is left");
	CHECK_EQ_INT(vgg_png_write(tmp_path("empty.png"), 0, 2, 1, gray, &err), VGG_ERANGE,
	             "a 0x2 image refused");
	CHECK_EQ_INT(vgg_png_write(tmp_path("no/such/dir.png"), 3, 2, 1, gray, &err), VGG_EIO,
	             "a path in a missing directory: VGG_EIO");
	CHECK(strstr(err.msg, "cannot write '") && strstr(err.msg, "no/such/dir.png'"),
	      "the message names the file");
}

static void test_chart(void)
{
	double loss[10], acc[10];
	for (int i = 0; i < 10; i++) {
		loss[i] = 2.0 - 0.15 * i;
		acc[i] = 0.5 + 0.04 * i;
	}
	vgg_plot_series s[] = {{"loss", loss, 10, 0}, {"accuracy", acc, 10, 1}};
	vgg_error err;
	const char *path = tmp_path("chart.png");
	CHECK_EQ_INT(vgg_plot_write(path, "loss and accuracy", s, 2, &err), VGG_OK,
	             "a chart of loss and accuracy written");
	vgg_image *img = read_back(path);
	if (!img) {
		CHECK(0, "the chart reads back");
		return;
	}
	CHECK(vgg_image_width(img) == 800 && vgg_image_height(img) == 500 &&
	      vgg_image_channels(img) == 3, "the chart is 800x500 RGB");
	/* The legend sits in the middle at the top; the thirds either side hold only lines. */
	struct census loss_l = count_colour(img, BLUE, 0, 250);
	struct census loss_r = count_colour(img, BLUE, 550, 800);
	struct census acc_l = count_colour(img, ORANGE, 0, 250);
	struct census acc_r = count_colour(img, ORANGE, 550, 800);
	CHECK(loss_l.count > 50 && loss_r.count > 50 && acc_l.count > 50 && acc_r.count > 50,
	      "both series' colours are drawn on both sides (%ld %ld %ld %ld pixels)",
	      loss_l.count, loss_r.count, acc_l.count, acc_r.count);
	CHECK(loss_l.mean_y < loss_r.mean_y - 100,
	      "the falling loss runs down (mean y %.0f, then %.0f)", loss_l.mean_y, loss_r.mean_y);
	CHECK(acc_l.mean_y > acc_r.mean_y + 100,
	      "the rising accuracy runs up (mean y %.0f, then %.0f)", acc_l.mean_y, acc_r.mean_y);
	CHECK(loss_l.top < acc_l.top - 200,
	      "each fills its own axis: loss starts at the top (y %d), accuracy at the bottom "
	      "(y %d)", loss_l.top, acc_l.top);
	struct census legend = count_colour(img, BLUE, 250, 550);
	CHECK(legend.count > 0 && legend.top < 80,
	      "the legend shows the loss colour at the top (y %d)", legend.top);
	vgg_image_free(img);
}

static long colour_pixels(const char *file, const vgg_plot_series *s, int n,
                          const unsigned char rgb[3])
{
	vgg_error err;
	if (vgg_plot_write(tmp_path(file), NULL, s, n, &err)) {
		printf("# %s\n", err.msg);
		return -1;
	}
	vgg_image *img = read_back(tmp_path(file));
	long count = img ? count_colour(img, rgb, 0, 800).count : -1;
	vgg_image_free(img);
	return count;
}

static void test_odd_series(void)
{
	double line[12], gapped[12], nan3[3] = {NAN, NAN, NAN}, one = 0.7;
	for (int i = 0; i < 12; i++)
		line[i] = gapped[i] = sin(i);
	gapped[4] = gapped[5] = NAN;
	gapped[8] = INFINITY;
	vgg_plot_series full = {"x", line, 12, 0}, holes = {"x", gapped, 12, 0};
	long whole = colour_pixels("full.png", &full, 1, BLUE);
	long broken = colour_pixels("gaps.png", &holes, 1, BLUE);
	CHECK(whole > 0 && broken > 0 && broken < whole - 50,
	      "NaN and infinite values leave gaps: %ld pixels against %ld", broken, whole);

	vgg_plot_series odd[] = {{"empty", NULL, 0, 0}, {"one", &one, 1, 0}, {"all NaN", nan3, 3, 0}};
	long empty = colour_pixels("odd.png", odd, 3, BLUE);
	long single = colour_pixels("odd.png", odd, 3, ORANGE);
	long none = colour_pixels("odd.png", odd, 3, GREEN);
	CHECK(empty > 0 && empty == none,
	      "an empty series and one of NaNs are in the legend only (%ld, %ld pixels)", empty, none);
	CHECK(single >= empty + 20, "a one-point series shows its point (%ld pixels)", single);

	double wild[4] = {1e300, -INFINITY, 0.5, 0.25}, flat[5] = {3, 3, 3, 3, 3}, many[1000];
	for (int i = 0; i < 1000; i++)
		many[i] = 1.0 / (i + 1);
	double tiny[3] = {5e-324, 5e-324, 1e-300};
	vgg_plot_series more[] = {{"wild", wild, 4, 0}, {"flat", flat, 5, 1},
	                          {"many", many, 1000, 0}, {"tiny", tiny, 3, 1}};
	long drawn = colour_pixels("wild.png", more, 4, GREEN);
	CHECK(drawn > 1000, "huge, constant, 1000-epoch and denormal series draw (%ld pixels of "
	      "the third)", drawn);
	vgg_error err;
	CHECK_EQ_INT(vgg_plot_write(tmp_path("none.png"), "nothing yet", NULL, 0, &err), VGG_OK,
	             "no series: an empty chart");
	vgg_image *img = read_back(tmp_path("none.png"));
	CHECK(img && vgg_image_width(img) == 800, "the empty chart reads back");
	vgg_image_free(img);
}

static void test_refusals(void)
{
	double v[2] = {1, 2};
	vgg_error err;
	vgg_plot_series bad_count = {"bad", v, -1, 0}, no_values = {"none", NULL, 2, 0};
	CHECK_EQ_INT(vgg_plot_write(tmp_path("r1.png"), NULL, &bad_count, 1, &err), VGG_ERANGE,
	             "a count of -1 is refused");
	CHECK(strstr(err.msg, "series 'bad' has -1 values") != NULL, "the message names the series");
	CHECK_EQ_INT(vgg_plot_write(tmp_path("r2.png"), NULL, &no_values, 1, &err), VGG_ERANGE,
	             "two values at NULL are refused");
	CHECK_EQ_INT(vgg_plot_write(tmp_path("r3.png"), NULL, &no_values, -1, &err), VGG_ERANGE,
	             "-1 series are refused");
	CHECK(access(tmp_path("r1.png"), F_OK) != 0 && access(tmp_path("r2.png"), F_OK) != 0,
	      "refused charts leave no file");
	vgg_plot_series ok = {"ok", v, 2, 0};
	CHECK_EQ_INT(vgg_plot_write(tmp_path("missing/chart.png"), NULL, &ok, 1, &err), VGG_EIO,
	             "a chart in a missing directory: VGG_EIO");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("not ok 1 - cannot make a temporary directory\n1..1\n");
		return 1;
	}
	test_png_write();
	test_chart();
	test_odd_series();
	test_refusals();
	const char *files[] = {"gray.png", "rgb.png", "chart.png", "full.png", "gaps.png",
	                       "odd.png", "wild.png", "none.png"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		unlink(tmp_path(files[i]));
	rmdir(dir);
	return tap_done();
}
