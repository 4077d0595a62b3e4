/*
 * fuzz.h: what the libFuzzer harnesses of fuzz/ share (`make fuzz`, doc/robustness.md).
 * Each harness hands one input to a parser through the library's from-memory entry
 * points, touches every value the parser says it read (so that AddressSanitizer sees a
 * read out of bounds) and frees it all.  A harness writes no file.
 */
#ifndef VGG_FUZZ_H
#define VGG_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgg.h"

/* Every failure carries its code and a message: a silent one is a bug as well. */
static inline void fuzz_check_error(int rc, const vgg_error *err)
{
	if (rc > 0 || (rc < 0 && (err->code != rc || !err->msg[0])))
		abort();
}

/* The bytes as a stream; fmemopen cannot open 0 bytes, /dev/null stands in for them. */
static inline FILE *fuzz_stream(const uint8_t *data, size_t size)
{
	FILE *f = size ? fmemopen((void *)data, size, "rb") : fopen("/dev/null", "rb");
	if (!f)
		abort();
	return f;
}

/* The bytes as a NUL-terminated text (malloc'd), as the tools read a text file. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	return text;
}

/* Reads n floats, so that a pointer a parser returns is checked over its whole length. */
static inline void fuzz_touch(const float *p, uint64_t n)
{
	volatile float sink = 0;
	for (uint64_t i = 0; i < n; i++)
		sink += p[i];
	(void)sink;
}

/* The tensors of a set a reader returned. */
static inline void fuzz_touch_set(const vgg_tensor_set *set)
{
	for (size_t i = 0; i < vgg_tensor_set_count(set); i++) {
		const vgg_set_tensor *t = vgg_tensor_set_at(set, i);
		uint64_t numel = 1;
		for (int d = 0; d < t->ndim; d++)
			numel *= (uint64_t)t->shape[d];
		if (numel != t->numel || vgg_tensor_set_find(set, t->name) != t)
			abort();
		fuzz_touch(t->data, t->numel);
	}
}

#endif
