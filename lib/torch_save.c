/*
 * torch_save.c: a writer's tensors as the zip-format .pth file that torch.save makes
 * (torch >= 1.6), so that torch.load and load_state_dict take it unchanged.
 *
 * The archive (every record stored, its data 64-byte aligned by padding the local header's
 * extra field, as torch does):
 *   1. archive/data.pkl: a protocol-2 pickle of collections.OrderedDict mapping each name to
 *      torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict()),
 *      each storage a persistent id ('storage', torch.FloatStorage, KEY, 'cpu', numel);
 *   2. archive/data/KEY: the storage's float32 values, little-endian; KEY counts from 0;
 *   3. archive/version: "3\n";
 *   4. the central directory and its end record.
 * A tensor named *.running_var is followed by *.num_batches_tracked (a LongStorage holding
 * 0), which torchvision's batch-norm layers expect in a state_dict.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "internal.h"

#define ALIGN 64
#define CHUNK 16384

struct buf {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

static void put(struct buf *b, const void *data, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		unsigned char *grown = realloc(b->p, cap);
		if (!grown) {
			b->failed = 1;
			return;
		}
		b->p = grown;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void put_byte(struct buf *b, unsigned char c)
{
	put(b, &c, 1);
}

static void put_le(struct buf *b, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		put_byte(b, (unsigned char)(v >> (8 * i)));
}

/* ---- The pickle ---- */

static void pickle_text(struct buf *b, const char *s)
{
	put_byte(b, 'X'); /* BINUNICODE */
	put_le(b, strlen(s), 4);
	put(b, s, strlen(s));
}

static void pickle_global(struct buf *b, const char *module, const char *name)
{
	put_byte(b, 'c'); /* GLOBAL */
	put(b, module, strlen(module));
	put_byte(b, '\n');
	put(b, name, strlen(name));
	put_byte(b, '\n');
}

static void pickle_int(struct buf *b, int64_t v)
{
	if (v >= INT32_MIN && v <= INT32_MAX) {
		put_byte(b, 'J'); /* BININT */
		put_le(b, (uint64_t)v, 4);
	} else {
		put_byte(b, 0x8a); /* LONG1 with 8 bytes */
		put_byte(b, 8);
		put_le(b, (uint64_t)v, 8);
	}
}

static void pickle_empty_ordered_dict(struct buf *b)
{
	pickle_global(b, "collections", "OrderedDict");
	put_byte(b, ')'); /* EMPTY_TUPLE */
	put_byte(b, 'R'); /* REDUCE */
}

static void pickle_tensor(struct buf *b, const char *storage, size_t key, uint64_t numel,
                          int ndim, const int64_t *shape)
{
	char k[32];
	snprintf(k, sizeof k, "%zu", key);
	pickle_global(b, "torch._utils", "_rebuild_tensor_v2");
	put_byte(b, '('); /* MARK: the arguments */
	put_byte(b, '(');
	pickle_text(b, "storage");
	pickle_global(b, "torch", storage);
	pickle_text(b, k);
	pickle_text(b, "cpu");
	pickle_int(b, (int64_t)numel);
	put_byte(b, 't'); /* TUPLE */
	put_byte(b, 'Q'); /* BINPERSID */
	pickle_int(b, 0);
	put_byte(b, '(');
	for (int i = 0; i < ndim; i++)
		pickle_int(b, shape[i]);
	put_byte(b, 't');
	put_byte(b, '(');
	int64_t stride = 1;
	int64_t strides[VGG_MAX_DIMS];
	for (int i = ndim - 1; i >= 0; i--) {
		strides[i] = stride;
		stride *= shape[i];
	}
	for (int i = 0; i < ndim; i++)
		pickle_int(b, strides[i]);
	put_byte(b, 't');
	put_byte(b, 0x89); /* NEWFALSE: requires_grad */
	pickle_empty_ordered_dict(b);
	put_byte(b, 't');
	put_byte(b, 'R');
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The pickle, and how many storages it names. */
static void pickle_state_dict(const vgg_weights_writer *wr, struct buf *b, size_t *storages)
{
	size_t key = 0, n = vgg__writer_count(wr);
	put_byte(b, 0x80); /* PROTO 2 */
	put_byte(b, 2);
	pickle_empty_ordered_dict(b);
	put_byte(b, '(');
	for (size_t i = 0; i < n; i++) {
		const struct vgg__pending *t = vgg__writer_tensor(wr, i);
		pickle_text(b, t->name);
		pickle_tensor(b, "FloatStorage", key++, t->numel, t->ndim, t->shape);
		if (ends_with(t->name, ".running_var")) {
			char name[256];
			snprintf(name, sizeof name, "%.*s.num_batches_tracked",
			         (int)(strlen(t->name) - strlen(".running_var")), t->name);
			pickle_text(b, name);
			pickle_tensor(b, "LongStorage", key++, 1, 0, NULL);
		}
	}
	put_byte(b, 'u'); /* SETITEMS */
	put_byte(b, '.'); /* STOP */
	*storages = key;
}

/* ---- The zip ---- */

struct entry {
	char name[64];
	uint32_t crc;
	uint64_t size, offset;
};

struct zip {
	FILE *f;
	uint64_t pos;
	struct entry *entries;
	size_t count;
	int failed;
};

static void zwrite(struct zip *z, const void *data, size_t n)
{
	if (!z->failed && fwrite(data, 1, n, z->f) != n)
		z->failed = 1;
	z->pos += n;
}

/* A local header whose extra field pads the data's start to a multiple of ALIGN. */
static void local_header(struct zip *z, struct entry *e)
{
	struct buf h = {0};
	size_t name_len = strlen(e->name);
	size_t fixed = 30 + name_len + 4;
	size_t pad = (ALIGN - (z->pos + fixed) % ALIGN) % ALIGN;
	e->offset = z->pos;
	put_le(&h, 0x04034b50, 4);
	put_le(&h, 20, 2);          /* version needed */
	put_le(&h, 0, 2);           /* flags */
	put_le(&h, 0, 2);           /* stored */
	put_le(&h, 0, 4);           /* time, date */
	put_le(&h, e->crc, 4);
	put_le(&h, e->size, 4);
	put_le(&h, e->size, 4);
	put_le(&h, name_len, 2);
	put_le(&h, 4 + pad, 2);
	put(&h, e->name, name_len);
	put_le(&h, 0x4246, 2);      /* "FB": torch's padding field */
	put_le(&h, pad, 2);
	for (size_t i = 0; i < pad; i++)
		put_byte(&h, 0);
	z->failed |= h.failed;
	zwrite(z, h.p, h.len);
	free(h.p);
}

static void add_bytes(struct zip *z, struct entry *e, const char *name, const void *data,
                      size_t n)
{
	snprintf(e->name, sizeof e->name, "%s", name);
	e->size = n;
	e->crc = (uint32_t)crc32(0L, data, (uInt)n);
	local_header(z, e);
	zwrite(z, data, n);
}

/* The CRC-32 of the floats' little-endian bytes: the floats themselves on a little-endian
 * host, else through a small buffer. */
static uint32_t float_crc(const float *data, uint64_t n)
{
	const uint16_t probe = 1;
	if (*(const unsigned char *)&probe == 1)
		return (uint32_t)crc32_z(0L, (const unsigned char *)data, (z_size_t)n * 4);
	unsigned char chunk[CHUNK];
	uLong crc = crc32(0L, Z_NULL, 0);
	for (uint64_t i = 0; i < n;) {
		size_t k = 0;
		for (; k + 4 <= sizeof chunk && i < n; k += 4, i++) {
			uint32_t u;
			memcpy(&u, &data[i], 4);
			chunk[k] = (unsigned char)u;
			chunk[k + 1] = (unsigned char)(u >> 8);
			chunk[k + 2] = (unsigned char)(u >> 16);
			chunk[k + 3] = (unsigned char)(u >> 24);
		}
		crc = crc32(crc, chunk, (uInt)k);
	}
	return (uint32_t)crc;
}

static void add_floats(struct zip *z, struct entry *e, const char *name, const float *data,
                       uint64_t n)
{
	snprintf(e->name, sizeof e->name, "%s", name);
	e->size = n * 4;
	e->crc = float_crc(data, n);
	local_header(z, e);
	if (!z->failed && !vgg__write_floats(z->f, data, n))
		z->failed = 1;
	z->pos += n * 4;
}

static void central_directory(struct zip *z)
{
	struct buf c = {0};
	for (size_t i = 0; i < z->count; i++) {
		const struct entry *e = &z->entries[i];
		size_t name_len = strlen(e->name);
		put_le(&c, 0x02014b50, 4);
		put_le(&c, 20, 2);  /* made by */
		put_le(&c, 20, 2);  /* needed */
		put_le(&c, 0, 2);
		put_le(&c, 0, 2);
		put_le(&c, 0, 4);
		put_le(&c, e->crc, 4);
		put_le(&c, e->size, 4);
		put_le(&c, e->size, 4);
		put_le(&c, name_len, 2);
		put_le(&c, 0, 2);   /* extra */
		put_le(&c, 0, 2);   /* comment */
		put_le(&c, 0, 2);   /* disk */
		put_le(&c, 0, 2);   /* internal attributes */
		put_le(&c, 0, 4);   /* external attributes */
		put_le(&c, e->offset, 4);
		put(&c, e->name, name_len);
	}
	uint64_t start = z->pos, size = c.len;
	put_le(&c, 0x06054b50, 4);
	put_le(&c, 0, 2);
	put_le(&c, 0, 2);
	put_le(&c, z->count, 2);
	put_le(&c, z->count, 2);
	put_le(&c, size, 4);
	put_le(&c, start, 4);
	put_le(&c, 0, 2);
	z->failed |= c.failed;
	zwrite(z, c.p, c.len);
	free(c.p);
}

int vgg_weights_writer_write_torch(vgg_weights_writer *wr, const char *path, vgg_error *err)
{
	struct buf pkl = {0};
	size_t storages;
	pickle_state_dict(wr, &pkl, &storages);
	uint64_t total = 0;
	for (size_t i = 0; i < vgg__writer_count(wr); i++)
		total += vgg__writer_tensor(wr, i)->numel * 4;
	/* The zip's 32-bit fields hold it; larger nets would need ZIP64 records. */
	if (pkl.failed || total >= 0xffffffffu - (1u << 20)) {
		free(pkl.p);
		return pkl.failed ? vgg__fail(err, VGG_ENOMEM, "out of memory")
		                  : vgg__fail(err, VGG_ERANGE, "'%s': over 4 GB, too large", path);
	}
	vgg_output *out;
	struct zip z = {0};
	int rc = vgg_output_open(path, &out, &z.f, err);
	if (rc) {
		free(pkl.p);
		return rc;
	}
	z.entries = calloc(storages + 2, sizeof *z.entries);
	if (!z.entries) {
		free(pkl.p);
		vgg_output_abort(out);
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	}
	add_bytes(&z, &z.entries[z.count++], "archive/data.pkl", pkl.p, pkl.len);
	free(pkl.p);
	size_t key = 0;
	for (size_t i = 0; i < vgg__writer_count(wr); i++) {
		const struct vgg__pending *t = vgg__writer_tensor(wr, i);
		char name[64];
		snprintf(name, sizeof name, "archive/data/%zu", key++);
		add_floats(&z, &z.entries[z.count++], name, t->data, t->numel);
		if (ends_with(t->name, ".running_var")) {
			static const unsigned char zero[8];
			snprintf(name, sizeof name, "archive/data/%zu", key++);
			add_bytes(&z, &z.entries[z.count++], name, zero, 8);
		}
	}
	add_bytes(&z, &z.entries[z.count++], "archive/version", "3\n", 2);
	central_directory(&z);
	free(z.entries);
	if (z.failed) {
		int e = errno;
		vgg_output_abort(out);
		return vgg__fail(err, VGG_EIO, "cannot write '%s': %s", path, strerror(e));
	}
	return vgg_output_commit(out, err);
}
