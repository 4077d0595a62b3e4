/*
 * stream.c: inputs that come through pipes, which cannot be mapped or measured first: they
 * are read whole into memory, the buffer growing only as bytes arrive, so that a length
 * that was merely claimed (by a header, or by nothing) never allocates memory by itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FIRST_CHUNK ((size_t)1 << 16)

int vgg__stream_fill(FILE *f, const char *name, struct vgg__stream_buf *b, size_t want,
                     vgg_error *err)
{
	while (b->len < want) {
		if (b->len == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : FIRST_CHUNK;
			if (cap > want)
				cap = want + 1; /* room for the 0 vgg_read_stream ends with */
			unsigned char *grown = realloc(b->data, cap);
			if (!grown)
				return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s' (%zu bytes in)",
				                 name, b->len);
			b->data = grown;
			b->cap = cap;
		}
		size_t room = b->cap - b->len;
		if (room > want - b->len)
			room = want - b->len;
		size_t got = fread(b->data + b->len, 1, room, f);
		b->len += got;
		if (got < room) {
			if (ferror(f))
				return vgg__fail(err, VGG_EIO, "cannot read '%s': %s", name,
				                 strerror(errno ? errno : EIO));
			break;
		}
	}
	return VGG_OK;
}

int vgg__stream_at_end(FILE *f)
{
	int c = getc(f);
	if (c == EOF)
		return 1;
	ungetc(c, f);
	return 0;
}

int vgg_read_stream(FILE *f, const char *name, size_t max, void **data, size_t *size,
                    vgg_error *err)
{
	struct vgg__stream_buf b = {0};
	*data = NULL;
	*size = 0;
	if (max > VGG__STREAM_MAX)
		max = VGG__STREAM_MAX;
	int rc = vgg__stream_fill(f, name, &b, max, err);
	if (!rc && b.len == max && !vgg__stream_at_end(f))
		rc = vgg__fail(err, VGG_ERANGE, "'%s': longer than the %zu bytes allowed", name, max);
	if (!rc && !b.data && !(b.data = malloc(1)))
		rc = vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", name);
	if (!rc && b.len == b.cap) {
		unsigned char *grown = realloc(b.data, b.len + 1);
		if (!grown)
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", name);
		else
			b.data = grown;
	}
	if (rc) {
		free(b.data);
		return rc;
	}
	b.data[b.len] = 0;
	*data = b.data;
	*size = b.len;
	return VGG_OK;
}
