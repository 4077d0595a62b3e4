/*
 * test_darknet.c: the .weights reader (darknet.c) against the files of
 * tests/golden/make_darknet_goldens.py: names, order, shapes and values for both header
 * forms and the transposed one, one clear message naming the file for each bad one,
 * detection by content, and the permutation of the classes into WordNet id order.
 */
#include <stdlib.h>

#include "tap.h"
#include "testset.h"
#include "vgg.h"

#define MAX_EXPECTED 16

static struct test_tensor expected[MAX_EXPECTED], permuted[2];
static size_t expected_count, permuted_count;
static vgg_config *cfg;
static char *wnids;

static unsigned char *slurp(const char *name, size_t *size)
{
	char path[512];
	return test_slurp(test_data_path(path, sizeof path, name), size);
}

static int load_config(void)
{
	char path[512];
	vgg_error err;
	char *text = test_slurp_text("darknet/net.cfg");
	test_data_path(path, sizeof path, "darknet/net.cfg");
	int rc = text ? vgg_config_parse(text, path, &cfg, &err) : VGG_EIO;
	if (rc && text)
		printf("# %s\n", err.msg);
	free(text);
	return rc == VGG_OK;
}

static int contains(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

/* Reads `name` under the data directory with config `c`, named by its path in messages;
 * *bytes holds the file, which the set may point into: the caller frees it after the set. */
static int read_darknet(const char *name, const vgg_config *c, vgg_tensor_set **out,
                        unsigned char **bytes, vgg_error *err)
{
	char path[512];
	size_t size = 0;
	*bytes = slurp(name, &size);
	test_data_path(path, sizeof path, name);
	*out = NULL;
	if (!*bytes) {
		snprintf(err->msg, sizeof err->msg, "cannot read '%.400s'", path);
		return VGG_EIO;
	}
	return vgg_darknet_read(*bytes, size, path, c, out, err);
}

/* vgg_darknet_read with net.cfg, as test_borrowing calls a reader. */
static int read_with_cfg(const void *data, size_t size, const char *name,
                         vgg_tensor_set **out, vgg_error *err)
{
	return vgg_darknet_read(data, size, name, cfg, out, err);
}

static void test_good(const char *file, size_t borrowable)
{
	char name[128];
	vgg_tensor_set *set;
	unsigned char *bytes;
	vgg_error err;
	snprintf(name, sizeof name, "darknet/%s", file);
	int rc = read_darknet(name, cfg, &set, &bytes, &err);
	CHECK_EQ_INT(rc, VGG_OK, "%s reads", file);
	if (rc)
		printf("# %s\n", err.msg);
	else
		test_check_set(file, set, expected, expected_count);
	vgg_tensor_set_free(set);
	free(bytes);
	CHECK_EQ_INT(test_borrowing(name, read_with_cfg), borrowable,
	             "%s: the same tensors at every alignment, %zu of them not copied at one",
	             file, borrowable);
}

/* A bad file: refused with VGG_EPARSE and a message naming it and saying `why`. */
static void test_bad(const char *file, const vgg_config *c, const char *why)
{
	char name[128], path[512], quoted[530];
	vgg_tensor_set *set = NULL;
	vgg_error err = {0, ""};
	snprintf(name, sizeof name, "darknet/%s", file);
	test_data_path(path, sizeof path, name);
	snprintf(quoted, sizeof quoted, "'%s'", path);
	unsigned char *bytes;
	int rc = read_darknet(name, c, &set, &bytes, &err);
	int ok = rc == VGG_EPARSE && !set && contains(err.msg, quoted) && contains(err.msg, why);
	CHECK(ok, "%s is refused: ...%s...", file, why);
	printf("#   %s\n", err.msg);
	vgg_tensor_set_free(set);
	free(bytes);
}

/* Configs that are not the file's net: one layer too few, a BN the file lacks, another
 * width; each refused naming the file, as too long or too short. */
static void test_wrong_config(void)
{
	static const struct {
		const char *text, *why;
	} configs[] = {
		{"input 16x12x3 conv3-4 maxpool conv3-8 maxpool FC-16 FC-10",
		 "24 floats are left over after the last layer; config 'custom' needs 2130 floats "
		 "after the header, the file holds 2154"},
		{"input 16x12x3 conv3-4 BN maxpool conv3-8 BN maxpool FC-16 FC-10",
		 "it ends in layer 'fc4', whose weights need 160 floats where 148 remain"},
		{"input 16x12x3 conv3-4 maxpool conv3-8 BN maxpool FC-16",
		 "170 floats are left over"},
		{"input 16x12x3 conv3-4 maxpool conv3-16 BN maxpool FC-16 FC-10",
		 "it ends in layer 'fc3', whose weights need 3072 floats where 1386 remain"},
		{"A", "it ends in layer 'conv2_1', whose weights need 73728 floats where 234 remain; "
		 "config 'A' needs 132863336 floats"},
	};
	for (size_t i = 0; i < sizeof configs / sizeof *configs; i++) {
		vgg_config *c;
		vgg_error err;
		if (vgg_config_load(configs[i].text, &c, &err)) {
			CHECK(0, "config %zu loads", i);
			printf("# %s\n", err.msg);
			continue;
		}
		test_bad("v2.weights", c, configs[i].why);
		vgg_config_free(c);
	}
}

/* Every proper prefix of a good file with a `header`-byte header: refused with a message
 * naming it (the file must hold exactly what the config needs, so no prefix may pass), and
 * those that end between two floats as ending in a layer. */
static void test_prefixes(const char *file, size_t header)
{
	char name[128];
	size_t size, wrong = 0, truncated = 0;
	snprintf(name, sizeof name, "darknet/%s", file);
	unsigned char *data = slurp(name, &size);
	for (size_t n = 0; data && n < size; n++) {
		unsigned char *cut = malloc(n ? n : 1);
		vgg_tensor_set *set = NULL;
		vgg_error err = {0, ""};
		memcpy(cut, data, n);
		int rc = vgg_darknet_read(cut, n, "prefix", cfg, &set, &err);
		int ok = rc == VGG_EPARSE && !set && contains(err.msg, "'prefix'");
		if (!ok && !wrong++)
			printf("#   prefix of %zu bytes: %d %s\n", n, rc, err.msg);
		truncated += contains(err.msg, "it ends in layer");
		vgg_tensor_set_free(set);
		free(cut);
	}
	CHECK(data && wrong == 0 && truncated == (size - header) / 4,
	      "%zu proper prefixes of %s refused, %zu of them as ending in a layer",
	      data ? size : 0, file, truncated);
	free(data);
}

/* Any one header byte changed: read or refused naming the file, never a crash (the
 * sanitizers and valgrind judge the rest). */
static void test_header_mutations(const char *file)
{
	char name[128];
	size_t size, refused = 0, unnamed = 0, runs = 0;
	snprintf(name, sizeof name, "darknet/%s", file);
	unsigned char *data = slurp(name, &size);
	for (size_t i = 0; data && i < 20; i++) {
		for (int bit = 0; bit < 8; bit++, runs++) {
			vgg_tensor_set *set = NULL;
			vgg_error err = {0, ""};
			data[i] ^= (unsigned char)(1u << bit);
			int rc = vgg_darknet_read(data, size, "mutant", cfg, &set, &err);
			data[i] ^= (unsigned char)(1u << bit);
			if (rc) {
				refused++;
				unnamed += !contains(err.msg, "'mutant'") || set;
			}
			vgg_tensor_set_free(set);
		}
	}
	CHECK(data && refused > 0 && unnamed == 0,
	      "%s with one header bit flipped: %zu of %zu refused, each naming the file", file,
	      refused, runs);
	free(data);
}

/* ---- Detection ---- */

static void test_detect(void)
{
	static const char *const darknet[] = {"darknet/v2.weights", "darknet/v1.weights",
	                                      "darknet/transposed.weights",
	                                      "darknet/bad-truncated.weights",
	                                      "darknet/bad-long.weights"};
	static const char *const others[] = {
		"small-rgb.png", "photo.jpg", "small.ppm", "net/vgg11.safetensors",
		"caffe/v2.caffemodel", "caffe/v1.caffemodel", "caffe/input.npy",
		"caffe/net.prototxt", "convert/vgg11.zip.pth", "convert/vgg11.legacy.pth",
		"darknet/net.cfg", "darknet/wnids.txt", "darknet/expected.npy"};
	for (size_t i = 0; i < sizeof darknet / sizeof *darknet; i++) {
		size_t size;
		unsigned char *data = slurp(darknet[i], &size);
		CHECK(data && vgg_darknet_detect(data, size), "%s is detected", darknet[i]);
		CHECK(data && !vgg_darknet_detect(data, size - 1),
		      "%s less its last byte is not", darknet[i]);
		free(data);
	}
	for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
		size_t size;
		unsigned char *data = slurp(others[i], &size);
		CHECK(data && !vgg_darknet_detect(data, size), "%s is not taken for Darknet",
		      others[i]);
		free(data);
	}
	static const struct test_header near[] = {
		{"a NetParameter", {0x0a, 0x03, 'v', 'g', 'g', 0x12, 0x10, 0x22, 0x05, 'c', 'o',
		                    'n', 'v', '1'}},
		{"a header with a negative major", {0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0}},
		{"a header with minor 101", {0, 0, 0, 0, 101, 0, 0, 0}},
		{"a header with revision 1000000", {0, 0, 0, 0, 2, 0, 0, 0, 0x40, 0x42, 0x0f, 0}},
	};
	test_detects_none("Darknet", vgg_darknet_detect, near, sizeof near / sizeof *near);
	static const unsigned char v025[24] = {0, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0};
	CHECK(vgg_darknet_detect(v025, sizeof v025), "a 0.2.5 header and one float are detected");
	CHECK(!vgg_darknet_detect(v025, 16), "a 0.2.5 header cut inside its 8-byte seen is not");
	CHECK(!vgg_darknet_detect(v025, 12), "12 bytes are not detected");
}

/* ---- Class order ---- */

/* v2.weights, which the permutation tests' sets point into. */
static unsigned char *good_bytes;

/* Reads v2.weights for a permutation test. */
static vgg_tensor_set *good_set(void)
{
	vgg_tensor_set *set;
	vgg_error err;
	free(good_bytes);
	if (read_darknet("darknet/v2.weights", cfg, &set, &good_bytes, &err)) {
		printf("# %s\n", err.msg);
		return NULL;
	}
	return set;
}

/* Whether every tensor of `set` but fc4's is as read, and fc4's are `fc4` (2 entries). */
static int set_is(const vgg_tensor_set *set, const struct test_tensor *fc4)
{
	int ok = set != NULL;
	for (size_t i = 0; ok && i < expected_count; i++) {
		const struct test_tensor *e = &expected[i];
		if (strcmp(e->name, "fc4.weight") == 0)
			e = &fc4[0];
		else if (strcmp(e->name, "fc4.bias") == 0)
			e = &fc4[1];
		ok = test_tensor_is(vgg_tensor_set_find(set, e->name), e);
	}
	return ok;
}

static const struct test_tensor *unpermuted(void)
{
	static struct test_tensor fc4[2];
	for (size_t i = 0; i < expected_count; i++) {
		if (strcmp(expected[i].name, "fc4.weight") == 0)
			fc4[0] = expected[i];
		if (strcmp(expected[i].name, "fc4.bias") == 0)
			fc4[1] = expected[i];
	}
	return fc4;
}

static void test_permute(const char *what, const char *text)
{
	vgg_tensor_set *set = good_set();
	vgg_error err = {0, ""};
	int rc = set ? vgg_darknet_permute_classes(set, "fc4", text, &err) : VGG_EIO;
	CHECK(rc == VGG_OK && set_is(set, permuted),
	      "%s: fc4's rows move to their WordNet ids' sorted order, the rest stays", what);
	if (rc)
		printf("#   %s\n", err.msg);
	vgg_tensor_set_free(set);
}

/* Refused with `code` and a message saying `why`, the tensors left as they were read. */
static void test_permute_bad(const char *fc, const char *text, int code, const char *why)
{
	vgg_tensor_set *set = good_set();
	vgg_error err = {0, ""};
	int rc = set ? vgg_darknet_permute_classes(set, fc, text, &err) : VGG_EIO;
	CHECK(rc == code && contains(err.msg, why) && set_is(set, unpermuted()),
	      "permuting %s is refused: ...%s..., nothing changed", fc, why);
	printf("#   %s\n", err.msg);
	vgg_tensor_set_free(set);
}

/* wnids.txt edited: line `line` (from 1) replaced by `with` (NULL: removed); "" at the
 * end of the lines appends one. */
static char *edit_wnids(size_t line, const char *with, const char *eol)
{
	char *out = malloc(strlen(wnids) * 2 + 64), *o = out;
	const char *p = wnids;
	size_t n = 1;
	*o = '\0';
	for (; *p; n++) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (n != line)
			o += sprintf(o, "%.*s%s", (int)len, p, eol);
		else if (with)
			o += sprintf(o, "%s%s", with, eol);
		p += len + (end != NULL);
	}
	if (line == n && with)
		sprintf(o, "%s%s", with, eol);
	return out;
}

static void test_classes(void)
{
	char *crlf = edit_wnids(0, NULL, "\r\n"), *no_eol = edit_wnids(0, NULL, "\n");
	no_eol[strlen(no_eol) - 1] = '\0';
	test_permute("wnids.txt", wnids);
	test_permute("wnids.txt with CRLF line ends", crlf);
	test_permute("wnids.txt without a last newline", no_eol);
	free(crlf);
	free(no_eol);

	char *text = edit_wnids(4, "", "\n");
	test_permute_bad("fc4", text, VGG_EPARSE, "WordNet id list, line 4: blank line");
	free(text);
	text = edit_wnids(11, "", "\n");
	test_permute_bad("fc4", text, VGG_EPARSE, "line 11: blank line");
	free(text);
	text = edit_wnids(11, "\r", "\n");
	test_permute_bad("fc4", text, VGG_EPARSE, "line 11: blank line");
	free(text);
	text = edit_wnids(7, NULL, "\n");
	test_permute_bad("fc4", text, VGG_ESHAPE, "the WordNet id list has 9 ids, but fc4 has "
	                 "10 classes");
	free(text);
	text = edit_wnids(11, "n01440764", "\n");
	test_permute_bad("fc4", text, VGG_ESHAPE, "has 11 ids");
	free(text);
	test_permute_bad("fc4", "", VGG_ESHAPE, "has 0 ids");
	text = edit_wnids(9, "n14311504", "\n");
	test_permute_bad("fc4", text, VGG_EPARSE, "'n14311504' is on lines 1 and 9");
	free(text);
	text = edit_wnids(2, "n03823498 nebuliser", "\n");
	test_permute_bad("fc4", text, VGG_EPARSE, "line 2: 'n03823498 nebuliser' is not one "
	                 "WordNet id");
	free(text);
	test_permute_bad("fc9", wnids, VGG_ENOTFOUND, "no tensor 'fc9.weight'");
	test_permute_bad("conv2_1", wnids, VGG_ESHAPE, "conv2_1 has 8 classes");
}

int main(void)
{
	int loaded = load_config() &&
	             test_load_tensors("darknet/expected", expected, MAX_EXPECTED,
	                               &expected_count) &&
	             test_load_tensors("darknet/permuted", permuted, 2, &permuted_count) &&
	             (wnids = test_slurp_text("darknet/wnids.txt")) != NULL;
	CHECK(loaded, "net.cfg, the expected tensors and wnids.txt load from darknet/");
	if (loaded) {
		/* All but the zero bias of the batch-normalised conv, and the transposed FC
		 * weights, which are copied into order. */
		test_good("v2.weights", expected_count - 1);
		test_good("v1.weights", expected_count - 1);
		test_good("transposed.weights", expected_count - 3);
		test_bad("bad-truncated.weights", cfg, "it ends in layer 'conv2_1', whose weights "
		         "need 288 floats where 100 remain; config 'custom' needs 2154 floats after "
		         "the header, the file holds 244");
		test_bad("bad-long.weights", cfg, "3 floats are left over after the last layer; "
		         "config 'custom' needs 2154 floats after the header, the file holds 2157");
		test_wrong_config();
		test_prefixes("v2.weights", 20);
		test_prefixes("v1.weights", 16);
		test_header_mutations("v2.weights");
		test_classes();
	}
	test_detect();
	test_free_tensors(expected, expected_count);
	test_free_tensors(permuted, permuted_count);
	free(good_bytes);
	free(wnids);
	vgg_config_free(cfg);
	return tap_done();
}
