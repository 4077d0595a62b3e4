/*
 * test_caffe.c: the .caffemodel reader (caffe.c over protobuf.c) against the files of
 * tests/golden/make_caffe_goldens.py: names, order, shapes and values of the good files,
 * one clear message for each hostile one, and detection by content.
 */
#include <stdlib.h>

#include "protobuf.h"
#include "tap.h"
#include "testset.h"
#include "vgg.h"

#define MAX_EXPECTED 16

static struct test_tensor expected[MAX_EXPECTED];
static size_t expected_count;

static unsigned char *slurp(const char *name, size_t *size)
{
	char path[512];
	return test_slurp(test_data_path(path, sizeof path, name), size);
}

static int contains(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

/* Reads `name` under the data directory, named by its path in messages; *bytes holds the
 * file, which the set may point into: the caller frees it after the set. */
static int read_caffe(const char *name, vgg_tensor_set **out, unsigned char **bytes,
                      vgg_error *err)
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
	return vgg_caffe_read(*bytes, size, path, out, err);
}

static void test_good(const char *file, size_t borrowable)
{
	char name[128];
	vgg_tensor_set *set;
	unsigned char *bytes;
	vgg_error err;
	snprintf(name, sizeof name, "caffe/%s", file);
	int rc = read_caffe(name, &set, &bytes, &err);
	CHECK_EQ_INT(rc, VGG_OK, "%s reads", file);
	if (rc)
		printf("# %s\n", err.msg);
	else
		test_check_set(file, set, expected, expected_count);
	vgg_tensor_set_free(set);
	free(bytes);
	CHECK_EQ_INT(test_borrowing(name, vgg_caffe_read), borrowable,
	             "%s: the same tensors at every alignment, %zu of them not copied at one",
	             file, borrowable);
}

/* A hostile file: refused with VGG_EPARSE, a message naming it and saying `why`. */
static void test_bad(const char *file, const char *why)
{
	char name[128], path[512];
	vgg_tensor_set *set = NULL;
	vgg_error err = {0, ""};
	unsigned char *bytes;
	snprintf(name, sizeof name, "caffe/%s", file);
	test_data_path(path, sizeof path, name);
	int rc = read_caffe(name, &set, &bytes, &err);
	char quoted[530];
	snprintf(quoted, sizeof quoted, "'%s'", path);
	int ok = rc == VGG_EPARSE && !set && contains(err.msg, quoted) && contains(err.msg, why);
	CHECK(ok, "%s is refused: ...%s...", file, why);
	printf("#   %s\n", err.msg);
	vgg_tensor_set_free(set);
	free(bytes);
}

/*
 * Every proper prefix of a good file: refused with a message naming it, or, where the cut
 * falls between two layers (a protobuf message has no end mark), read as the layers before
 * the cut.
 */
static void test_prefixes(const char *file)
{
	char name[128];
	size_t size, refused = 0, wrong = 0;
	snprintf(name, sizeof name, "caffe/%s", file);
	unsigned char *data = slurp(name, &size);
	for (size_t n = 0; data && n < size; n++) {
		unsigned char *cut = malloc(n ? n : 1);
		vgg_tensor_set *set = NULL;
		vgg_error err = {0, ""};
		memcpy(cut, data, n);
		int rc = vgg_caffe_read(cut, n, "prefix", &set, &err);
		int ok = rc == VGG_OK ? set && vgg_tensor_set_count(set) <= expected_count
		         : rc == VGG_EPARSE && !set && contains(err.msg, "'prefix'");
		for (size_t i = 0; ok && set && i < vgg_tensor_set_count(set); i++)
			ok = test_tensor_is(vgg_tensor_set_at(set, i), &expected[i]);
		if (!ok && !wrong++)
			printf("#   prefix of %zu bytes: %d %s\n", n, rc, err.msg);
		refused += rc != VGG_OK;
		vgg_tensor_set_free(set);
		free(cut);
	}
	CHECK(data && wrong == 0 && refused > 0,
	      "%zu proper prefixes of %s: %zu refused, the rest read as their first layers",
	      data ? size : 0, file, refused);
	free(data);
}

/* One flipped byte at every position: read or refused, never a crash (the sanitizers and
 * valgrind judge the rest). */
static void test_mutations(const char *file)
{
	char name[128];
	size_t size, refused = 0, unnamed = 0;
	snprintf(name, sizeof name, "caffe/%s", file);
	unsigned char *data = slurp(name, &size);
	for (size_t i = 0; data && i < size; i++) {
		unsigned char *copy = malloc(size);
		vgg_tensor_set *set = NULL;
		vgg_error err = {0, ""};
		memcpy(copy, data, size);
		copy[i] ^= i % 2 ? 0x80 : 0x07;    /* a varint's continuation bit; a wire type */
		int rc = vgg_caffe_read(copy, size, "mutant", &set, &err);
		if (rc) {
			refused++;
			unnamed += !contains(err.msg, "'mutant'") || set;
		}
		vgg_tensor_set_free(set);
		free(copy);
	}
	CHECK(data && refused > 0 && unnamed == 0,
	      "%s with one byte changed: %zu of %zu refused, each naming the file", file, refused,
	      size);
	free(data);
}

/* ---- protobuf.c on its own: what no Caffe file can reach ---- */

static size_t put_varint(unsigned char *p, uint64_t v)
{
	size_t n = 0;
	do {
		p[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

static void test_protobuf(void)
{
	vgg__pb_msg m;
	vgg__pb_field f;
	uint64_t v;

	/* Messages nested 20 deep: entering stops at the bound with a message. */
	unsigned char deep[64];
	for (int i = 0; i < 20; i++) {
		deep[2 * i] = 0x0a;                 /* field 1, LEN */
		deep[2 * i + 1] = (unsigned char)(2 * (19 - i));
	}
	vgg__pb_init(&m, deep, 40);
	int depth = 0, rc = 0;
	while (vgg__pb_next(&m, &f) == 1) {
		vgg__pb_msg sub;
		if ((rc = vgg__pb_enter(&m, &f, &sub)))
			break;
		m = sub;
		depth++;
	}
	CHECK(rc < 0 && depth == VGG__PB_MAX_DEPTH && contains(m.error, "nest more than 16"),
	      "messages nested beyond %d are refused", VGG__PB_MAX_DEPTH);
	printf("#   %s\n", m.error);

	unsigned char buf[32];
	size_t n = put_varint(buf, UINT64_MAX);
	vgg__pb_init(&m, buf, n);
	CHECK(n == 10 && vgg__pb_varint(&m, &v) == 1 && v == UINT64_MAX,
	      "a 10-byte varint holds 2^64 - 1");
	memset(buf, 0xff, 10);
	buf[10] = 0x01;
	vgg__pb_init(&m, buf, 11);
	CHECK(vgg__pb_varint(&m, &v) < 0 && contains(m.error, "longer than 10 bytes"),
	      "an 11-byte varint is refused");
	buf[9] = 0x02;
	vgg__pb_init(&m, buf, 10);
	CHECK(vgg__pb_varint(&m, &v) < 0 && contains(m.error, "overflows 64 bits"),
	      "a varint over 64 bits is refused");

	/* A negative int32, as protobuf writes it: sign-extended to 10 bytes. */
	buf[0] = 0x08;
	n = 1 + put_varint(buf + 1, (uint64_t)(int64_t)-3);
	vgg__pb_init(&m, buf, n);
	CHECK(vgg__pb_next(&m, &f) == 1 && f.number == 1 && f.wire == VGG__PB_VARINT &&
	      (int64_t)f.u == -3 && vgg__pb_next(&m, &f) == 0, "a negative int32 reads as -3");

	/* Floats and doubles, unpacked and packed. */
	float x = 1.5f, got[4];
	double d = -0.25;
	n = 0;
	buf[n++] = 0x2d;                            /* field 5, I32 */
	memcpy(buf + n, &x, 4);
	n += 4;
	buf[n++] = 0x41;                            /* field 8, I64 */
	memcpy(buf + n, &d, 8);
	n += 8;
	buf[n++] = 0x2a;                            /* field 5, LEN */
	buf[n++] = 8;
	memcpy(buf + n, &x, 4);
	memcpy(buf + n + 4, &x, 4);
	n += 8;
	vgg__pb_init(&m, buf, n);
	uint64_t floats = 0, doubles = 0, written = 0;
	while (vgg__pb_next(&m, &f) == 1) {
		if (vgg__pb_fixed_count(&m, &f, f.number == 5 ? 4 : 8,
		                        f.number == 5 ? &floats : &doubles) == 0)
			written += vgg__pb_fixed_floats(&f, f.number == 5 ? 4 : 8, got + written);
	}
	CHECK(floats == 3 && doubles == 1 && written == 4 && got[0] == 1.5f && got[1] == -0.25f &&
	      got[2] == 1.5f && got[3] == 1.5f, "floats and doubles, packed and not");
	buf[0] = 0x2e;                              /* field 5, wire type 6: no such type */
	vgg__pb_init(&m, buf, n);
	CHECK(vgg__pb_next(&m, &f) < 0 && contains(m.error, "wire type 6"),
	      "wire type 6 is refused");
	buf[0] = 0x0b;                              /* field 1, start group */
	vgg__pb_init(&m, buf, n);
	CHECK(vgg__pb_next(&m, &f) < 0 && contains(m.error, "group"), "groups are refused");
	buf[0] = 0x00;
	vgg__pb_init(&m, buf, n);
	CHECK(vgg__pb_next(&m, &f) < 0 && contains(m.error, "field number 0"),
	      "field number 0 is refused");
	vgg__pb_init(&m, NULL, 0);
	CHECK(vgg__pb_next(&m, &f) == 0, "an empty message has no field");
}

/* ---- Detection ---- */

static void test_detect(void)
{
	static const char *const caffe[] = {"caffe/v2.caffemodel", "caffe/v1.caffemodel",
	                                    "caffe/double.caffemodel", "caffe/unpacked.caffemodel",
	                                    "caffe/deep.caffemodel"};
	static const char *const others[] = {"small-rgb.png", "photo.jpg", "small.ppm",
	                                     "net/vgg11.safetensors", "caffe/input.npy",
	                                     "caffe/net.prototxt", "caffe/caffe.proto"};
	for (size_t i = 0; i < sizeof caffe / sizeof *caffe; i++) {
		size_t size;
		unsigned char *data = slurp(caffe[i], &size);
		CHECK(data && vgg_caffe_detect(data, size), "%s is detected", caffe[i]);
		CHECK(data && size > 64 && vgg_caffe_detect(data, 64),
		      "%s is detected from its first 64 bytes", caffe[i]);
		free(data);
	}
	for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
		size_t size;
		unsigned char *data = slurp(others[i], &size);
		CHECK(data && !vgg_caffe_detect(data, size), "%s is not taken for Caffe", others[i]);
		free(data);
	}
	static const struct test_header near[] = {
		{"a NetParameter with a name and no layer", {0x0a, 0x03, 'v', 'g', 'g'}},
	};
	test_detects_none("Caffe", vgg_caffe_detect, near, sizeof near / sizeof *near);
}

int main(void)
{
	int loaded = test_load_tensors("caffe/expected", expected, MAX_EXPECTED, &expected_count);
	CHECK(loaded, "expected tensors load from caffe/expected.txt and expected.npy");
	if (loaded) {
		/* Packed floats are the file's; double and unpacked values are gathered. */
		test_good("v2.caffemodel", expected_count);
		test_good("v1.caffemodel", expected_count);
		test_good("double.caffemodel", 0);
		test_good("unpacked.caffemodel", 0);
		test_good("deep.caffemodel", expected_count);
	}
	test_bad("bad-truncated.caffemodel", "truncated");
	test_bad("bad-length.caffemodel", "needs 1099511627776 bytes, 3 remain");
	test_bad("bad-nested-length.caffemodel", "needs 100 bytes, but its message has 10 left");
	test_bad("bad-count.caffemodel", "layer 'conv1_1': blob 0 holds 5 values, but its dims "
	         "2x3x1x1 make 6");
	test_bad("bad-huge-dims.caffemodel", "layer 'conv1_1': blob 0's dims overflow");
	test_bad("bad-big-dims.caffemodel", "blob 0 holds 1 values, but its dims 1x1x65536x65536 "
	         "make 4294967296");
	test_bad("bad-negative-dim.caffemodel", "layer 'fc6': blob 0 has dim -1");
	test_bad("bad-mixed.caffemodel", "mixes the V1 'layers' field (2) and the V2 'layer'");
	test_bad("bad-group.caffemodel", "group");
	test_bad("bad-varint.caffemodel", "longer than 10 bytes");
	test_bad("bad-packed.caffemodel", "not a multiple of 4");
	test_bad("bad-three-blobs.caffemodel", "layer 'conv1_1' has 3 blobs");
	test_bad("bad-batchnorm.caffemodel", "layer 'bn1' is a BatchNorm layer");
	test_bad("bad-no-weights.caffemodel", "no layer has weights");
	test_prefixes("v1.caffemodel");
	test_mutations("v2.caffemodel");
	test_protobuf();
	test_detect();
	test_free_tensors(expected, expected_count);
	return tap_done();
}
