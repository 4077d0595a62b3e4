/*
 * protobuf.c: the protobuf wire format, read in place (for caffe.c).
 *
 * The layout (protobuf's encoding guide):
 *   1. a message is a run of fields in any order, with no length or end mark of its own:
 *      it ends where its buffer, or the field that holds it, ends;
 *   2. a field starts with a tag, the varint (number << 3) | wire type, numbers 1 to
 *      2^29 - 1;
 *   3. a varint is 1 to 10 bytes of 7 bits, least significant first, the high bit set on
 *      all but the last; a negative int32 or int64 takes all 10;
 *   4. the value, by wire type: 0 a varint; 1 eight bytes little-endian; 5 four bytes
 *      little-endian; 2 a varint length, then that many bytes: a string, an embedded
 *      message, or a packed run of scalars; 3 and 4 open and close a group, a proto1 form
 *      that Caffe never writes, refused here;
 *   5. a repeated scalar comes as one field per value, or packed in LEN fields, or both.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "protobuf.h"

#define MAX_NUMBER 0x1fffffffu

static unsigned long long at(const vgg__pb_msg *m, const unsigned char *p)
{
	return (unsigned long long)(p - m->base);
}

static int fail(vgg__pb_msg *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->error, sizeof m->error, fmt, ap);
	va_end(ap);
	return -1;
}

/* The outermost message ends where the file does, so running past it means truncation. */
static int past_end(vgg__pb_msg *m, const vgg__pb_field *f, uint64_t need)
{
	unsigned long long left = (unsigned long long)(m->end - m->pos);
	const char *s = need == 1 ? "" : "s";
	if (m->depth == 0)
		return fail(m, "truncated: field %u at byte %llu needs %llu byte%s, %llu remain",
		            f->number, (unsigned long long)f->offset, (unsigned long long)need, s, left);
	return fail(m, "field %u at byte %llu needs %llu byte%s, but its message has %llu left",
	            f->number, (unsigned long long)f->offset, (unsigned long long)need, s, left);
}

void vgg__pb_init(vgg__pb_msg *m, const void *data, size_t size)
{
	m->base = data;
	m->pos = m->base;
	m->end = size ? m->base + size : m->base;
	m->depth = 0;
	m->error[0] = '\0';
}

int vgg__pb_varint(vgg__pb_msg *m, uint64_t *v)
{
	const unsigned char *p = m->pos;
	uint64_t x = 0;
	if (p == m->end)
		return 0;
	for (int shift = 0;; shift += 7) {
		if (p == m->end) {
			if (m->depth == 0)
				return fail(m, "truncated: the file ends inside the varint at byte %llu",
				            at(m, m->pos));
			return fail(m, "the varint at byte %llu runs past the end of its message",
			            at(m, m->pos));
		}
		unsigned char b = *p++;
		if (shift == 63 && b > 1)
			return fail(m, "the varint at byte %llu %s", at(m, m->pos),
			            b & 0x80 ? "is longer than 10 bytes" : "overflows 64 bits");
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	m->pos = p;
	*v = x;
	return 1;
}

int vgg__pb_header(vgg__pb_msg *m, vgg__pb_field *f)
{
	const unsigned char *start = m->pos;
	uint64_t tag;
	int rc = vgg__pb_varint(m, &tag);
	if (rc <= 0)
		return rc;
	uint64_t number = tag >> 3;
	unsigned wire = (unsigned)(tag & 7);
	if (number == 0 || number > MAX_NUMBER)
		return fail(m, "byte %llu holds no field: field number %llu", at(m, start),
		            (unsigned long long)number);
	if (wire == 3 || wire == 4)
		return fail(m, "field %llu at byte %llu is a group (wire type %u), a form not read here",
		            (unsigned long long)number, at(m, start), wire);
	if (wire > 5)
		return fail(m, "field %llu at byte %llu has wire type %u, which does not exist",
		            (unsigned long long)number, at(m, start), wire);
	memset(f, 0, sizeof *f);
	f->number = (uint32_t)number;
	f->wire = (enum vgg__pb_wire)wire;
	f->offset = at(m, start);
	if (wire == VGG__PB_LEN) {
		rc = vgg__pb_varint(m, &f->len);
		if (rc == 0)
			return past_end(m, f, 1);
		if (rc < 0)
			return -1;
	}
	return 1;
}

int vgg__pb_value(vgg__pb_msg *m, vgg__pb_field *f)
{
	uint64_t left = (uint64_t)(m->end - m->pos);
	unsigned size = 8;
	switch (f->wire) {
	case VGG__PB_VARINT: {
		int rc = vgg__pb_varint(m, &f->u);
		return rc == 0 ? past_end(m, f, 1) : rc;
	}
	case VGG__PB_I32:
		size = 4;
		/* fall through */
	case VGG__PB_I64:
		if (left < size)
			return past_end(m, f, size);
		f->u = 0;
		for (unsigned i = size; i-- > 0;)
			f->u = f->u << 8 | m->pos[i];
		m->pos += size;
		return 1;
	case VGG__PB_LEN:
		break;
	}
	if (f->len > left)
		return past_end(m, f, f->len);
	f->data = m->pos;
	m->pos += f->len;
	return 1;
}

int vgg__pb_next(vgg__pb_msg *m, vgg__pb_field *f)
{
	int rc = vgg__pb_header(m, f);
	return rc <= 0 ? rc : vgg__pb_value(m, f);
}

int vgg__pb_enter(vgg__pb_msg *m, const vgg__pb_field *f, vgg__pb_msg *sub)
{
	if (f->wire != VGG__PB_LEN)
		return fail(m, "field %u at byte %llu should hold a message, but has wire type %d",
		            f->number, (unsigned long long)f->offset, (int)f->wire);
	if (m->depth >= VGG__PB_MAX_DEPTH)
		return fail(m, "field %u at byte %llu: messages nest more than %d deep", f->number,
		            (unsigned long long)f->offset, VGG__PB_MAX_DEPTH);
	vgg__pb_packed(m, f, sub);
	return 0;
}

void vgg__pb_packed(const vgg__pb_msg *m, const vgg__pb_field *f, vgg__pb_msg *packed)
{
	packed->base = m->base;
	packed->pos = f->data;
	packed->end = f->len ? f->data + f->len : f->data;
	packed->depth = m->depth + 1;
	packed->error[0] = '\0';
}

int vgg__pb_fixed_count(vgg__pb_msg *m, const vgg__pb_field *f, int size, uint64_t *count)
{
	enum vgg__pb_wire single = size == 4 ? VGG__PB_I32 : VGG__PB_I64;
	const char *what = size == 4 ? "float" : "double";
	if (f->wire == single) {
		*count += 1;
		return 0;
	}
	if (f->wire != VGG__PB_LEN)
		return fail(m, "field %u at byte %llu should hold %ss, but has wire type %d",
		            f->number, (unsigned long long)f->offset, what, (int)f->wire);
	if (f->len % (unsigned)size)
		return fail(m, "field %u at byte %llu packs %ss in %llu bytes, not a multiple of %d",
		            f->number, (unsigned long long)f->offset, what,
		            (unsigned long long)f->len, size);
	*count += f->len / (unsigned)size;
	return 0;
}

static float bits_to_float(uint64_t bits, int size)
{
	if (size == 4) {
		uint32_t u = (uint32_t)bits;
		float x;
		memcpy(&x, &u, 4);
		return x;
	}
	double d;
	memcpy(&d, &bits, 8);
	return (float)d;
}

uint64_t vgg__pb_fixed_floats(const vgg__pb_field *f, int size, float *dst)
{
	if (f->wire != VGG__PB_LEN) {
		dst[0] = bits_to_float(f->u, size);
		return 1;
	}
	uint64_t n = f->len / (unsigned)size;
	const unsigned char *p = f->data;
	for (uint64_t i = 0; i < n; i++, p += size) {
		uint64_t bits = 0;
		for (int j = size; j-- > 0;)
			bits = bits << 8 | p[j];
		dst[i] = bits_to_float(bits, size);
	}
	return n;
}
