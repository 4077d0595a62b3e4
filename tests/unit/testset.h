/* testset.h: the converter readers' tests (test_caffe, test_darknet, test_torch) check the
 * tensor sets they read against expected tensors, and against each other. */
#ifndef VGG_TESTSET_H
#define VGG_TESTSET_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "testdata.h"
#include "vgg.h"

/* A tensor a reader should give: its NAME and DIMS (such as 8x4x3x3) and its values. */
struct test_tensor {
	char name[64];
	char dims[64];
	int ndim;
	int64_t shape[VGG_MAX_DIMS];
	float *data;
};

static inline void test_dims_text(char *buf, size_t size, int ndim, const int64_t *shape)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < ndim && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "x" : "", (long long)shape[i]);
}

/* STEM.txt, a line NAME DIMS per tensor, and STEM.npy, their values in that order, from the
 * data directory into e[0..max); 1 when all load and agree, with *count of them. */
static inline int test_load_tensors(const char *stem, struct test_tensor *e, size_t max,
                                    size_t *count)
{
	char name[128], path[512], npy[512];
	snprintf(name, sizeof name, "%s.txt", stem);
	test_data_path(path, sizeof path, name);
	snprintf(name, sizeof name, "%s.npy", stem);
	test_data_path(npy, sizeof npy, name);
	FILE *f = fopen(path, "r"), *g = fopen(npy, "rb");
	int ok = f && g;
	while (ok && *count < max) {
		char dims[64];
		vgg_error err;
		struct test_tensor *x = &e[*count];
		if (fscanf(f, "%63s %63s", x->name, x->dims) != 2)
			break;
		ok = vgg_npy_read(g, npy, &x->ndim, x->shape, &x->data, &err) == VGG_OK;
		if (!ok) {
			printf("# %s\n", err.msg);
			break;
		}
		test_dims_text(dims, sizeof dims, x->ndim, x->shape);
		ok = strcmp(dims, x->dims) == 0;
		(*count)++;
	}
	if (f)
		fclose(f);
	if (g)
		fclose(g);
	return ok && *count > 0;
}

static inline void test_free_tensors(struct test_tensor *e, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(e[i].data);
}

/* Whether t is e: name, dims and every value to the bit. */
static inline int test_tensor_is(const vgg_set_tensor *t, const struct test_tensor *e)
{
	char dims[64];
	if (!t)
		return 0;
	test_dims_text(dims, sizeof dims, t->ndim, t->shape);
	return strcmp(t->name, e->name) == 0 && strcmp(dims, e->dims) == 0 &&
	       memcmp(t->data, e->data, t->numel * sizeof *t->data) == 0;
}

/* Checks that `set`, read from `file`, holds the tensors e[0..count) in that order. */
static inline void test_check_set(const char *file, const vgg_tensor_set *set,
                                  const struct test_tensor *e, size_t count)
{
	CHECK_EQ_INT(vgg_tensor_set_count(set), count, "%s: %zu tensors", file, count);
	for (size_t i = 0; i < count && i < vgg_tensor_set_count(set); i++) {
		const vgg_set_tensor *t = vgg_tensor_set_at(set, i);
		char dims[64];
		int ok = test_tensor_is(t, &e[i]);
		CHECK(ok, "%.40s: tensor %zu is %.40s %.40s with the expected values", file, i,
		      e[i].name, e[i].dims);
		test_dims_text(dims, sizeof dims, t->ndim, t->shape);
		if (!ok)
			printf("#   got %s %s\n", t->name, dims);
	}
}

/* Whether two sets hold the same names, dims and values in the same order. */
static inline int test_same_sets(const vgg_tensor_set *a, const vgg_tensor_set *b)
{
	int same = vgg_tensor_set_count(a) == vgg_tensor_set_count(b);
	for (size_t i = 0; same && i < vgg_tensor_set_count(a); i++) {
		const vgg_set_tensor *s = vgg_tensor_set_at(a, i), *t = vgg_tensor_set_at(b, i);
		same = strcmp(s->name, t->name) == 0 && s->ndim == t->ndim &&
		       memcmp(s->shape, t->shape, (size_t)s->ndim * sizeof *s->shape) == 0 &&
		       memcmp(s->data, t->data, s->numel * sizeof *s->data) == 0;
	}
	return same;
}

/* A reader: vgg_torch_read, vgg_caffe_read, or vgg_darknet_read with its config bound. */
typedef int (*test_reader)(const void *data, size_t size, const char *name,
                           vgg_tensor_set **out, vgg_error *err);

/*
 * Reads `file` (under the data directory) from each of the four alignments a float can
 * have in memory: the tensors must come out the same, and those a set takes from the
 * file without copying must be borrowed at exactly one of the four.  Returns how many
 * were borrowed in all, which a little-endian host makes the count of tensors that are
 * float32 values as the file lies; (size_t)-1 when the sets differ or do not read.
 */
static inline size_t test_borrowing(const char *file, test_reader read)
{
	char path[512];
	size_t size, borrowed = 0;
	unsigned char *data = test_slurp(test_data_path(path, sizeof path, file), &size);
	unsigned char *buf[4] = {0};
	vgg_tensor_set *set[4] = {0};
	int same = data != NULL;
	for (size_t shift = 0; same && shift < 4; shift++) {
		vgg_error err;
		if (!(buf[shift] = malloc(size + 3)))
			break;
		memcpy(buf[shift] + shift, data, size);
		if (read(buf[shift] + shift, size, path, &set[shift], &err)) {
			printf("# %s\n", err.msg);
			same = 0;
			break;
		}
		for (size_t i = 0; i < vgg_tensor_set_count(set[shift]); i++) {
			uintptr_t p = (uintptr_t)vgg_tensor_set_at(set[shift], i)->data;
			borrowed += p >= (uintptr_t)buf[shift] && p < (uintptr_t)buf[shift] + size + 3;
		}
		same = test_same_sets(set[0], set[shift]);
	}
	same &= set[3] != NULL;
	for (size_t shift = 0; shift < 4; shift++) {
		vgg_tensor_set_free(set[shift]);
		free(buf[shift]);
	}
	free(data);
	return same ? borrowed : (size_t)-1;
}

/* The first bytes of a file of some format, for detection tests. */
struct test_header {
	const char *what;
	unsigned char bytes[24];
};

/*
 * Checks that `detect` takes for `format` none of `near` (n of them: bytes close to its
 * own), none of other formats' first bytes, no bytes at all, and none of 10000 buffers of
 * random bytes.
 */
static inline void test_detects_none(const char *format, int (*detect)(const void *, size_t),
                                     const struct test_header *near, size_t n)
{
	static const struct test_header foreign[] = {
		{"a PNG header", {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H',
		                  'D', 'R'}},
		{"a JPEG header", {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1}},
		{"a zip header", {'P', 'K', 3, 4, 20, 0, 8, 8, 0, 0, 0, 0, 0, 0}},
		{"a safetensors header", {0x0a, 0, 0, 0, 0, 0, 0, 0, '{', '"', 'a', '"', ':', '{',
		                          '}', '}'}},
		{"a torch pickle", {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a,
		                    0xa8, 0x50, 0x19, 0x2e}},
		{"an npy header", {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0x76, 0}},
	};
	for (size_t i = 0; i < sizeof foreign / sizeof *foreign; i++)
		CHECK(!detect(foreign[i].bytes, sizeof foreign[i].bytes), "%s is not taken for %s",
		      foreign[i].what, format);
	for (size_t i = 0; i < n; i++)
		CHECK(!detect(near[i].bytes, sizeof near[i].bytes), "%s is not taken for %s",
		      near[i].what, format);
	CHECK(!detect(NULL, 0), "no bytes are not taken for %s", format);

	unsigned char noise[256];
	uint32_t state = 2014;
	int taken = 0;
	for (int round = 0; round < 10000; round++) {
		for (size_t i = 0; i < sizeof noise; i++) {
			state = state * 1664525u + 1013904223u;
			noise[i] = (unsigned char)(state >> 24);
		}
		taken += detect(noise, sizeof noise);
	}
	CHECK_EQ_INT(taken, 0, "10000 buffers of random bytes are not taken for %s", format);
}

#endif
