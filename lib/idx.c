/*
 * idx.c: the IDX files of MNIST and Fashion-MNIST, gzip'd or not (zlib reads both), as
 * images and labels.  An IDX file is, all integers big-endian:
 *   1. a magic of four bytes: 0, 0, the type of the values (0x08 unsigned byte, the only
 *      type read here; 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E
 *      float64) and the number of dimensions;
 *   2. one uint32 size per dimension;
 *   3. the values in row-major order, and nothing after them.
 * Images are n x h x w (gray), or n x h x w x c with c 1 or 3 (channels interleaved); labels
 * are n.  The labels file lies beside the images file, named with "images" turned to
 * "labels" and "idx3" to "idx1".  A gzip'd file does not say how long it is until it has
 * been read, so the buffer grows with the data that arrives, never past what the header
 * declares.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "idx.h"
#include "image_internal.h"

/* The first buffer for the values; it doubles as they arrive. */
#define FIRST_CHUNK ((size_t)1 << 20)

static int open_gz(const char *path, gzFile *f, vgg_error *err)
{
	errno = 0;
	*f = gzopen(path, "rb");
	if (!*f)
		return vgg__fail(err, errno ? VGG_EIO : VGG_ENOMEM, "cannot open '%s': %s", path,
		                 errno ? strerror(errno) : "out of memory");
	gzbuffer(*f, 1 << 17);
	return VGG_OK;
}

/* Reads up to n bytes into buf, *got of them; fails on a read error or corrupt gzip data,
 * while a short count alone means the end of the file. */
static int read_gz(gzFile f, const char *path, unsigned char *buf, size_t n, size_t *got,
                   vgg_error *err)
{
	*got = 0;
	while (*got < n) {
		size_t chunk = n - *got > (1u << 30) ? (1u << 30) : n - *got;
		int r = gzread(f, buf + *got, (unsigned)chunk);
		if (r > 0)
			*got += (size_t)r;
		if (r < (int)chunk)
			break;
	}
	int errnum;
	const char *msg = gzerror(f, &errnum);
	if (errnum == Z_OK)
		return VGG_OK;
	if (errnum == Z_BUF_ERROR)
		return vgg__fail(err, VGG_EIO, "cannot read '%s': the gzip data ends too soon", path);
	return vgg__fail(err, VGG_EIO, "cannot read '%s': %s", path,
	                 errnum == Z_ERRNO ? strerror(errno) : msg);
}

int vgg__idx_sniff(const char *path, int *is_idx, vgg_error *err)
{
	gzFile f;
	unsigned char magic[2];
	size_t got;
	int rc = open_gz(path, &f, err);
	if (rc)
		return rc;
	rc = read_gz(f, path, magic, sizeof magic, &got, err);
	gzclose(f);
	*is_idx = !rc && got == 2 && magic[0] == 0 && magic[1] == 0;
	return rc;
}

int vgg__idx_images_name(const char *name)
{
	return strstr(name, "images") && strstr(name, "idx3");
}

/* The last occurrence of `word` in the part of `path` after its last '/'. */
static char *last_in_name(char *path, const char *word)
{
	char *base = strrchr(path, '/'), *found = NULL;
	for (char *p = base ? base + 1 : path; (p = strstr(p, word)); p++)
		found = p;
	return found;
}

static const char *type_name(int type)
{
	switch (type) {
	case 0x09: return "signed byte";
	case 0x0B: return "int16";
	case 0x0C: return "int32";
	case 0x0D: return "float32";
	case 0x0E: return "float64";
	}
	return "unknown";
}

/*
 * Reads an IDX file of unsigned bytes, images (3 or 4 dimensions) or labels (1), into dims
 * (1 past the file's own) and *data (malloc'd, the product of dims bytes).
 */
static int read_idx_gz(gzFile f, const char *path, int images, uint32_t dims[4],
                       unsigned char **data, vgg_error *err)
{
	unsigned char head[4 + 4 * 4];
	size_t got;
	int rc;
	*data = NULL;
	if ((rc = read_gz(f, path, head, 4, &got, err)))
		return rc;
	if (got < 4 || head[0] || head[1])
		return vgg__fail(err, VGG_EPARSE, "'%s' is not an IDX file: it does not start with "
		                 "00 00", path);
	if (head[2] != 0x08)
		return vgg__fail(err, VGG_EPARSE, "'%s' holds IDX values of type 0x%02X (%s): only "
		                 "unsigned bytes (0x08) are read", path, head[2], type_name(head[2]));
	int ndim = head[3];
	if (images && ndim == 1)
		return vgg__fail(err, VGG_EPARSE, "'%s' holds IDX labels: name the images file beside "
		                 "it", path);
	if (images ? ndim != 3 && ndim != 4 : ndim != 1)
		return vgg__fail(err, VGG_EPARSE, "'%s' has %d dimensions: IDX %s have %s", path, ndim,
		                 images ? "images" : "labels", images ? "3 (or 4 with channels)" : "1");
	if ((rc = read_gz(f, path, head + 4, 4 * (size_t)ndim, &got, err)))
		return rc;
	if (got < 4 * (size_t)ndim)
		return vgg__fail(err, VGG_EPARSE, "'%s' ends inside its IDX header", path);
	size_t want = 1;
	for (int i = 0; i < 4; i++) {
		const unsigned char *d = head + 4 + 4 * i;
		dims[i] = i < ndim ? (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
		                     (uint32_t)d[2] << 8 | d[3] : 1;
		if (!vgg__size_mul(want, dims[i], &want))
			return vgg__fail(err, VGG_ERANGE, "'%s' declares more values than memory holds",
			                 path);
	}
	if (dims[0] == 0)
		return vgg__fail(err, VGG_EPARSE, "'%s' holds no %s", path,
		                 images ? "images" : "labels");
	if (images) {
		if (ndim == 4 && dims[3] != 1 && dims[3] != 3)
			return vgg__fail(err, VGG_EPARSE, "'%s' has %" PRIu32 " channels: images have 1 "
			                 "or 3", path, dims[3]);
		if ((rc = vgg__image_check_size(dims[2], dims[1], path, err)))
			return rc;
	}

	size_t cap = want < FIRST_CHUNK ? want : FIRST_CHUNK, have = 0;
	unsigned char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			return vgg__fail(err, VGG_ENOMEM, "cannot read '%s': out of memory", path);
		if ((rc = read_gz(f, path, buf + have, cap - have, &got, err)))
			break;
		have += got;
		if (have < cap || cap == want)
			break;
		cap = cap > want / 2 ? want : 2 * cap;
		unsigned char *grown = realloc(buf, cap);
		if (!grown)
			free(buf);
		buf = grown;
	}
	unsigned char extra;
	if (!rc && have < want)
		rc = vgg__fail(err, VGG_EPARSE, "'%s' is truncated: its header declares %zu bytes of "
		               "values, it holds %zu", path, want, have);
	if (!rc && !(rc = read_gz(f, path, &extra, 1, &got, err)) && got)
		rc = vgg__fail(err, VGG_EPARSE, "'%s' holds more than the %zu bytes of values its "
		               "header declares", path, want);
	if (rc)
		free(buf);
	else
		*data = buf;
	return rc;
}

static int read_idx(const char *path, int images, uint32_t dims[4], unsigned char **data,
                    vgg_error *err)
{
	gzFile f;
	*data = NULL;
	int rc = open_gz(path, &f, err);
	if (rc)
		return rc;
	rc = read_idx_gz(f, path, images, dims, data, err);
	gzclose(f);
	return rc;
}

int vgg__idx_read_fd(int fd, const char *name, int images, uint32_t dims[4],
                     unsigned char **data, vgg_error *err)
{
	*data = NULL;
	gzFile f = gzdopen(fd, "rb");
	if (!f) {
		close(fd);
		return vgg__fail(err, VGG_ENOMEM, "cannot open '%s': out of memory", name);
	}
	int rc = read_idx_gz(f, name, images, dims, data, err);
	gzclose(f);
	return rc;
}

/* The labels file beside `images`, which must exist, malloc'd into *out. */
static int labels_path(const char *images, char **out, vgg_error *err)
{
	size_t n = strlen(images);
	char *p = malloc(n + 4);
	*out = NULL;
	if (!p)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	memcpy(p, images, n + 1);
	char *word = last_in_name(p, "images"), *idx3 = last_in_name(p, "idx3");
	if (!word || !idx3) {
		free(p);
		return vgg__fail(err, VGG_ENOTFOUND, "cannot find the labels of '%s': the name of "
		                 "an IDX images file holds \"images\" and \"idx3\"", images);
	}
	memcpy(word, "labels", 6);
	idx3[3] = '1';
	if (access(p, F_OK) != 0) {
		char tried[256];
		snprintf(tried, sizeof tried, "%s", strrchr(p, '/') ? strrchr(p, '/') + 1 : p);
		/* The other compression: labels unpacked beside gzip'd images, or the reverse. */
		if (n > 3 && strcmp(p + n - 3, ".gz") == 0)
			p[n - 3] = 0;
		else
			memcpy(p + n, ".gz", 4);
		if (access(p, F_OK) != 0) {
			free(p);
			return vgg__fail(err, VGG_ENOTFOUND, "cannot find the labels of '%s': no '%s' "
			                 "beside it, with or without .gz", images, tried);
		}
	}
	*out = p;
	return VGG_OK;
}

int vgg__idx_read(const char *images, struct vgg__idx *out, vgg_error *err)
{
	uint32_t idims[4], ldims[4];
	char *labels = NULL;
	memset(out, 0, sizeof *out);
	int rc = read_idx(images, 1, idims, &out->pixels, err);
	if (!rc)
		rc = labels_path(images, &labels, err);
	if (!rc)
		rc = read_idx(labels, 0, ldims, &out->labels, err);
	if (!rc && ldims[0] != idims[0])
		rc = vgg__fail(err, VGG_EPARSE, "'%s' holds %" PRIu32 " labels for the %" PRIu32
		               " images of '%s'", labels, ldims[0], idims[0], images);
	free(labels);
	if (rc) {
		vgg__idx_free(out);
		return rc;
	}
	out->count = idims[0];
	out->height = (int)idims[1];
	out->width = (int)idims[2];
	out->channels = (int)idims[3];
	return VGG_OK;
}

void vgg__idx_free(struct vgg__idx *idx)
{
	free(idx->pixels);
	free(idx->labels);
	memset(idx, 0, sizeof *idx);
}
