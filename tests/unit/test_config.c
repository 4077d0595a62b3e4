/* test_config.c: the notation parser, built-in configs and their names. */
#include <stdlib.h>

#include "tap.h"
#include "vgg.h"

/* Parses `text`; returns the status and leaves the message in err. */
static int parse(const char *text, vgg_config **cfg, vgg_error *err)
{
	*cfg = NULL;
	err->msg[0] = 0;
	return vgg_config_parse(text, "t.cfg", cfg, err);
}

static void expect_error(const char *text, const char *message, const char *what)
{
	vgg_config *cfg;
	vgg_error err;
	int rc = parse(text, &cfg, &err);
	CHECK(rc == VGG_EPARSE && cfg == NULL, "%s: refused", what);
	CHECK_STR(err.msg, message, "%s: message", what);
	vgg_config_free(cfg);
}

/* The names of a config's layers, space-separated, into buf. */
static const char *names(const vgg_config *cfg, char *buf, size_t size)
{
	vgg_layout *lay;
	buf[0] = 0;
	if (vgg_layout_new(cfg, 0, 0, 0, &lay, NULL))
		return "(layout failed)";
	size_t len = 0;
	for (size_t i = 0; i < vgg_layout_count(lay); i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "",
		                        vgg_layout_layer(lay, i)->name);
	vgg_layout_free(lay);
	return buf;
}

static void test_table1_column(void)
{
	/* Column A of Table 1, pasted with its header line and the paper's spellings. */
	const char *text =
		"input (224 × 224 RGB image)\n"
		"conv3-64\nmaxpool\nconv3-128\nmaxpool\nconv3-256\nconv3-256\nmaxpool\n"
		"conv3-512\nconv3-512\nmaxpool\nconv3-512\nconv3-512\nmaxpool\n"
		"FC-4096\nFC-4096\nFC-1000\nsoft-max\n";
	vgg_config *cfg;
	vgg_error err;
	char buf[512];
	CHECK_EQ_INT(parse(text, &cfg, &err), VGG_OK, "Table 1 column A parses");
	int c, h, w;
	vgg_config_input(cfg, &c, &h, &w);
	CHECK(c == 3 && h == 224 && w == 224, "input line gives 3x224x224");
	CHECK_EQ_INT(vgg_config_classes(cfg), 1000, "classes from the last FC");
	CHECK_STR(names(cfg, buf, sizeof buf),
	          "conv1_1 pool1 conv2_1 pool2 conv3_1 conv3_2 pool3 conv4_1 conv4_2 pool4 "
	          "conv5_1 conv5_2 pool5 fc6 fc7 fc8 prob", "Caffe layer names for A");
	vgg_config_free(cfg);
}

static void test_input_forms(void)
{
	static const struct {
		const char *text;
		int c, h, w;
	} cases[] = {
		{"input 28x28 gray conv3-8", 1, 28, 28},
		{"INPUT (32 × 48 × 3) conv3-8", 3, 32, 48},
		{"input 32*32 BGR image conv3-8", 3, 32, 32},
		{"input (64 x 64 greyscale) conv3-8", 1, 64, 64},
		{"input 20x30x5 conv3-8", 5, 20, 30},
		{"conv3-8", 3, 224, 224},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		vgg_config *cfg;
		vgg_error err;
		int c = 0, h = 0, w = 0;
		int rc = parse(cases[i].text, &cfg, &err);
		if (!rc)
			vgg_config_input(cfg, &c, &h, &w);
		CHECK(rc == VGG_OK && c == cases[i].c && h == cases[i].h && w == cases[i].w,
		      "input form '%s'", cases[i].text);
		vgg_config_free(cfg);
	}
}

static void test_tokens(void)
{
	vgg_config *cfg;
	vgg_error err;
	char buf[512];
	/* Comments, mixed case, tabs and CRLF lines, 1x1 convs, BN, LRN. */
	const char *text = "# a comment\r\nCONV3-16 bn  # trailing\r\n\tLrn conv1-8 BatchNorm\n"
	                   "POOL conv3-4 MaxPool fc-10 Fc-2 SOFTMAX";
	CHECK_EQ_INT(parse(text, &cfg, &err), VGG_OK, "mixed spellings parse");
	CHECK_STR(names(cfg, buf, sizeof buf),
	          "conv1_1 norm1 conv1_2 pool1 conv2_1 pool2 fc3 fc4 prob",
	          "FC layers are numbered from the pool count + 1");
	char *back = vgg_config_to_text(cfg);
	CHECK_STR(back,
	          "input 224x224x3\nconv3-16 BN\nLRN\nconv1-8 BN\nmaxpool\nconv3-4\nmaxpool\n"
	          "FC-10\nFC-2\nsoft-max\n", "written back in the notation");
	vgg_config *again;
	CHECK(back && parse(back, &again, &err) == VGG_OK, "the written text parses again");
	char *twice = again ? vgg_config_to_text(again) : NULL;
	CHECK_STR(twice, back ? back : "", "and gives the same text");
	free(twice);
	free(back);
	vgg_config_free(again);
	vgg_config_free(cfg);
}

static void test_errors(void)
{
	expect_error("conv3-64\nconv3-64\nconv3x64\n",
	             "t.cfg:3:1: expected convK-N with K odd from 1 to 31 and N from 1 to 1048576, "
	             "found 'conv3x64'", "malformed conv");
	expect_error("conv3-64  maxpol", "t.cfg:1:11: expected a layer (convK-N, BN, LRN, "
	             "maxpool, avgpool, FC-N, soft-max), found 'maxpol'",
	             "unknown word, column counted");
	expect_error("conv4-64", "t.cfg:1:5: a conv kernel size must be odd (1, 3, 5, ...)",
	             "even kernel");
	expect_error("FC-10 conv3-8",
	             "t.cfg:1:7: expected FC-N or soft-max after an FC layer, found 'conv3-8'",
	             "conv after FC");
	expect_error("maxpool BN", "t.cfg:1:9: BN must follow a conv layer", "BN after pool");
	expect_error("conv3-8 BN bn", "t.cfg:1:12: BN is given twice for one conv layer",
	             "BN twice");
	expect_error("FC-10 soft-max FC-2", "t.cfg:1:16: nothing may follow soft-max",
	             "layer after soft-max");
	expect_error("conv3-8 input 28x28", "t.cfg:1:9: the input must come before the first layer",
	             "late input line");
	expect_error("input 28x28 input 28x28 conv3-8", "t.cfg:1:13: the input is given twice",
	             "two input lines");
	expect_error("input (28 x 28 RGB conv3-8",
	             "t.cfg:1:20: expected ')' to close the input size, found 'conv3-8'",
	             "unclosed parenthesis");
	expect_error("input 28 conv3-8", "t.cfg:1:10: expected 'x' and an input width, found 'conv3-8'",
	             "input without width");
	expect_error("input 0x28 conv3-8",
	             "t.cfg:1:7: expected an input height (1 to 65536), found '0x28'", "zero height");
	expect_error("input 28x28x3 gray conv3-8", "t.cfg:1:15: the input's channels are given twice",
	             "channels twice");
	expect_error("conv3-0", "t.cfg:1:1: expected convK-N with K odd from 1 to 31 and N from 1 "
	             "to 1048576, found 'conv3-0'", "zero width");
	expect_error("FC-99999999999999999999", "t.cfg:1:1: expected FC-N with N from 1 to 1048576, "
	             "found 'FC-99999999999999999999'", "width overflow");
	expect_error("  # only a comment\n\n", "t.cfg: no layers", "no layers");
	expect_error("", "t.cfg: no layers", "empty text");
	expect_error("conv3-8 (", "t.cfg:1:9: expected a layer (convK-N, BN, LRN, maxpool, "
	             "avgpool, FC-N, soft-max), found '('", "stray parenthesis");
	expect_error("conv3-8 avgpool conv3-8",
	             "t.cfg:1:17: expected FC-N or soft-max after avgpool, found 'conv3-8'",
	             "conv after avgpool");
	expect_error("conv3-8 gap maxpool",
	             "t.cfg:1:13: expected FC-N or soft-max after avgpool, found 'maxpool'",
	             "pool after gap");
	expect_error("conv3-8 avgpool avgpool FC-2",
	             "t.cfg:1:17: expected FC-N or soft-max after avgpool, found 'avgpool'",
	             "avgpool twice");
	expect_error("conv3-8 avgpool BN", "t.cfg:1:17: BN must follow a conv layer",
	             "BN after avgpool");
	expect_error("FC-10 avgpool",
	             "t.cfg:1:7: expected FC-N or soft-max after an FC layer, found 'avgpool'",
	             "avgpool after FC");
}

static void test_builtins(void)
{
	static const struct {
		const char *name, *shown;
		int convs;
	} cases[] = {
		{"A", "A", 8}, {"a-lrn", "A-LRN", 8}, {"B", "B", 10}, {"c", "C", 13}, {"D", "D", 13},
		{"E", "E", 16}, {"vgg11", "vgg11", 8}, {"VGG16", "vgg16", 13}, {"vgg19_bn", "vgg19_bn", 16},
		{"D_BN", "D_bn", 13},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		vgg_config *cfg;
		vgg_error err;
		int rc = vgg_config_builtin(cases[i].name, &cfg, &err);
		CHECK_EQ_INT(rc, VGG_OK, "built-in '%s' loads", cases[i].name);
		if (rc)
			continue;
		CHECK_STR(vgg_config_name(cfg), cases[i].shown, "built-in '%s' is named", cases[i].name);
		vgg_layout *lay;
		int convs = 0, bn = 0;
		vgg_layout_new(cfg, 0, 0, 0, &lay, NULL);
		for (size_t j = 0; j < vgg_layout_count(lay); j++) {
			const vgg_layer_info *l = vgg_layout_layer(lay, j);
			convs += l->kind == VGG_LAYER_CONV;
			bn += l->batch_norm;
		}
		int want_bn = strstr(cases[i].shown, "_bn") ? cases[i].convs : 0;
		CHECK(convs == cases[i].convs && bn == want_bn, "'%s' has %d convs, %d with BN",
		      cases[i].name, cases[i].convs, want_bn);
		vgg_layout_free(lay);
		vgg_config_free(cfg);
	}
	vgg_config *cfg;
	vgg_error err;
	CHECK_EQ_INT(vgg_config_builtin("vgg17", &cfg, &err), VGG_ENOTFOUND, "vgg17 is unknown");
	CHECK_EQ_INT(vgg_config_builtin("_bn", &cfg, &err), VGG_ENOTFOUND, "a bare _bn is unknown");
	const char *const *list = vgg_config_builtin_names();
	int all = 1;
	for (; *list; list++) {
		all &= vgg_config_builtin(*list, &cfg, NULL) == VGG_OK;
		vgg_config_free(cfg);
	}
	CHECK(all, "every listed built-in name loads");
}

/* The text of a built-in config, for comparing two of them. */
static char *builtin_text(const char *name)
{
	vgg_config *cfg;
	if (vgg_config_builtin(name, &cfg, NULL))
		return NULL;
	char *text = vgg_config_to_text(cfg);
	vgg_config_free(cfg);
	return text;
}

static void test_gap(void)
{
	vgg_config *cfg;
	vgg_error err;
	char buf[256];
	CHECK_EQ_INT(parse("conv3-8 maxpool GAP FC-10 soft-max", &cfg, &err), VGG_OK,
	             "a GAP head parses");
	CHECK_STR(cfg ? names(cfg, buf, sizeof buf) : NULL, "conv1_1 pool1 avgpool fc2 prob",
	          "the global average pool is avgpool, the FC layer still counts the pools");
	char *text = cfg ? vgg_config_to_text(cfg) : NULL;
	CHECK_STR(text, "input 224x224x3\nconv3-8\nmaxpool\navgpool\nFC-10\nsoft-max\n",
	          "written back as avgpool");
	free(text);
	vgg_config_free(cfg);
	CHECK_EQ_INT(parse("conv3-8 avgpool", &cfg, &err), VGG_OK, "avgpool may end a config");
	CHECK_EQ_INT(cfg ? vgg_config_classes(cfg) : -1, 0, "and then there are no classes");
	vgg_config_free(cfg);

	CHECK_EQ_INT(vgg_config_builtin("vgg16_gap", &cfg, &err), VGG_OK, "vgg16_gap loads");
	CHECK_STR(cfg ? names(cfg, buf, sizeof buf) : NULL,
	          "conv1_1 conv1_2 pool1 conv2_1 conv2_2 pool2 conv3_1 conv3_2 conv3_3 pool3 "
	          "conv4_1 conv4_2 conv4_3 pool4 conv5_1 conv5_2 conv5_3 pool5 avgpool fc6 prob",
	          "vgg16_gap ends in avgpool, fc6 and prob");
	CHECK_EQ_INT(cfg ? vgg_config_classes(cfg) : 0, 1000, "vgg16_gap has 1000 classes");
	vgg_config_free(cfg);
	static const struct {
		const char *name, *shown, *same_as;
	} cases[] = {
		{"vgg16_bn_gap", "vgg16_bn_gap", "vgg16_gap_bn"}, {"D_GAP", "D_gap", "vgg16_gap"},
		{"a-lrn_gap_BN", "A-LRN_bn_gap", "A-LRN_bn_gap"}, {"vgg19_bn_gap", "vgg19_bn_gap",
		"E_gap_bn"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int rc = vgg_config_builtin(cases[i].name, &cfg, &err);
		CHECK_STR(rc ? NULL : vgg_config_name(cfg), cases[i].shown, "'%s' is named '%s'",
		          cases[i].name, cases[i].shown);
		vgg_config_free(cfg);
		char *a = builtin_text(cases[i].name), *b = builtin_text(cases[i].same_as);
		CHECK(a && b && strcmp(a, b) == 0, "'%s' is '%s'", cases[i].name, cases[i].same_as);
		free(a);
		free(b);
	}
	CHECK_EQ_INT(vgg_config_builtin("vgg16_gap_gap", &cfg, &err), VGG_ENOTFOUND,
	             "_gap twice is unknown");
	CHECK_EQ_INT(vgg_config_builtin("vgg16_bn_bn", &cfg, &err), VGG_ENOTFOUND,
	             "_bn twice is unknown");
	CHECK_EQ_INT(vgg_config_builtin("_gap", &cfg, &err), VGG_ENOTFOUND, "a bare _gap is unknown");
}

/* The widths of a config's conv and FC layers, space-separated. */
static const char *widths(const vgg_config *cfg, char *buf, size_t size)
{
	char *text = vgg_config_to_text(cfg);
	size_t len = 0;
	buf[0] = 0;
	for (char *line = text; line && *line; line = strchr(line, '\n') + 1)
		if (strncmp(line, "conv", 4) == 0 || strncmp(line, "FC-", 3) == 0)
			len += (size_t)snprintf(buf + len, size - len, "%s%ld", len ? " " : "",
			                        strtol(strchr(line, '-') + 1, NULL, 10));
	free(text);
	return buf;
}

static void test_scale_width(void)
{
	vgg_config *cfg;
	vgg_error err;
	char buf[512], before[512];
	vgg_config_builtin("vgg16", &cfg, &err);
	CHECK_EQ_INT(vgg_config_scale_width(cfg, 0.25, &err), VGG_OK, "vgg16 at width 0.25");
	CHECK_STR(widths(cfg, buf, sizeof buf),
	          "16 16 32 32 64 64 64 128 128 128 128 128 128 1024 1024 1000",
	          "convs and fc6, fc7 a quarter as wide, fc8 keeps the classes");
	CHECK_EQ_INT(vgg_config_scale_width(cfg, 1e-9, &err), VGG_OK, "a tiny factor");
	CHECK_STR(widths(cfg, buf, sizeof buf), "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1000",
	          "leaves every width at least 1");
	vgg_config_free(cfg);
	parse("conv3-5 conv3-64 FC-7 FC-3", &cfg, &err);
	CHECK_EQ_INT(vgg_config_scale_width(cfg, 0.3, &err), VGG_OK, "factor 0.3");
	CHECK_STR(widths(cfg, buf, sizeof buf), "2 19 2 3", "widths rounded to the nearest");
	CHECK_EQ_INT(vgg_config_scale_width(cfg, 1.25, &err), VGG_OK, "factor 1.25");
	CHECK_STR(widths(cfg, buf, sizeof buf), "3 24 3 3", "halves rounded up: 2.5 is 3");
	widths(cfg, before, sizeof before);
	const double bad[] = {0, -1, NAN, INFINITY, 1e6};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = vgg_config_scale_width(cfg, bad[i], &err);
		CHECK(rc == VGG_ERANGE && strcmp(widths(cfg, buf, sizeof buf), before) == 0,
		      "factor %g refused, the config unchanged", bad[i]);
	}
	CHECK_STR(err.msg, "width factor 1e+06 makes conv1_1 wider than 1048576",
	          "the message names the layer");
	vgg_config_free(cfg);
	vgg_config_builtin("vgg16_gap", &cfg, &err);
	vgg_config_scale_width(cfg, 0.5, &err);
	CHECK_STR(widths(cfg, buf, sizeof buf),
	          "32 32 64 64 128 128 128 256 256 256 256 256 256 1000",
	          "vgg16_gap at width 0.5: the classes stay");
	vgg_config_free(cfg);
	parse("conv3-8 maxpool", &cfg, &err);
	CHECK_EQ_INT(vgg_config_scale_width(cfg, 0.5, &err), VGG_OK, "a config without FC");
	CHECK_STR(widths(cfg, buf, sizeof buf), "4", "scales its convs");
	vgg_config_free(cfg);
}

static void test_load(void)
{
	vgg_config *cfg;
	vgg_error err;
	CHECK_EQ_INT(vgg_config_load("conv3-64 conv3-64 maxpool", &cfg, &err), VGG_OK,
	             "inline notation loads");
	CHECK_STR(cfg ? vgg_config_name(cfg) : NULL, "custom", "inline configs are named custom");
	vgg_config_free(cfg);
	CHECK_EQ_INT(vgg_config_load("vgg17", &cfg, &err), VGG_ENOTFOUND, "unknown word refused");
	CHECK_STR(err.msg, "'vgg17' is not a file, a built-in config or a layer",
	          "unknown word message");
	CHECK_EQ_INT(vgg_config_load("no/such.cfg", &cfg, &err), VGG_EIO, "missing path refused");
	CHECK_STR(err.msg, "cannot open 'no/such.cfg': No such file or directory",
	          "missing path message");
	CHECK_EQ_INT(vgg_config_load("conv3-64 conv3x9", &cfg, &err), VGG_EPARSE,
	             "bad inline notation refused");
	CHECK(strncmp(err.msg, "<inline>:1:10: expected", 23) == 0, "inline error names <inline>");

	char path[] = "/tmp/vgg-test-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f) {
		fputs("input 28x28 gray\nconv3-8\nmaxpool\nFC-10\n", f);
		fclose(f);
	}
	CHECK_EQ_INT(vgg_config_load(path, &cfg, &err), VGG_OK, "a config file loads");
	CHECK_STR(cfg ? vgg_config_name(cfg) : NULL, strrchr(path, '/') + 1,
	          "a file config is named by its file");
	vgg_config_free(cfg);
	f = fopen(path, "wb");
	if (f) {
		fwrite("conv3-8\0", 1, 8, f);
		fclose(f);
	}
	CHECK_EQ_INT(vgg_config_load(path, &cfg, &err), VGG_EPARSE, "a binary file is refused");
	remove(path);
}

static void test_classes_and_input(void)
{
	vgg_config *cfg;
	vgg_error err;
	vgg_config_builtin("vgg16", &cfg, &err);
	CHECK_EQ_INT(vgg_config_set_classes(cfg, 10, &err), VGG_OK, "classes set");
	CHECK_EQ_INT(vgg_config_classes(cfg), 10, "classes read back");
	CHECK_EQ_INT(vgg_config_set_classes(cfg, 0, &err), VGG_ERANGE, "zero classes refused");
	CHECK_EQ_INT(vgg_config_set_input(cfg, 3, 0, 10, &err), VGG_ERANGE, "zero height refused");
	CHECK_EQ_INT(vgg_config_set_input(cfg, 1, 32, 40, &err), VGG_OK, "input set");
	vgg_config_free(cfg);
	vgg_config_parse("conv3-8 maxpool", NULL, &cfg, &err);
	CHECK_EQ_INT(vgg_config_classes(cfg), 0, "no FC, no classes");
	CHECK_EQ_INT(vgg_config_set_classes(cfg, 10, &err), VGG_ENOTFOUND,
	             "classes need an FC layer");
	vgg_config_free(cfg);
	vgg_config_free(NULL);
}

int main(void)
{
	test_table1_column();
	test_input_forms();
	test_tokens();
	test_errors();
	test_builtins();
	test_gap();
	test_scale_width();
	test_load();
	test_classes_and_input();
	return tap_done();
}
