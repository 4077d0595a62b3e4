/*
 * npy.c: NumPy .npy arrays, the suite's tensor format; a stream is arrays back to back.
 *
 * The layout (../shared/FORMATS.md):
 *   1. the magic "\x93NUMPY", then major and minor version bytes;
 *   2. the header length: uint16 little-endian in v1.0, uint32 in v2.0 and v3.0;
 *   3. the header, a Python dict literal such as
 *      {'descr': '<f4', 'fortran_order': False, 'shape': (1, 512, 7, 7), }
 *      padded with spaces and ended by '\n' so that the preamble is a multiple of 64 bytes;
 *   4. the data, C order unless fortran_order is True.
 * We write v1.0 float32 arrays; we read v1 to v3 with dtypes f4, f8 and u1 in C order.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_HEADER 65536

int vgg_npy_write(FILE *f, int ndim, const int64_t *shape, const float *data, vgg_error *err)
{
	char header[512];
	uint64_t numel = 1;
	if (ndim < 0 || ndim > VGG_MAX_DIMS)
		return vgg__fail(err, VGG_ERANGE, "%d dimensions: at most %d", ndim, VGG_MAX_DIMS);
	int n = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
	for (int i = 0; i < ndim; i++) {
		n += snprintf(header + n, sizeof header - (size_t)n, "%s%lld", i ? ", " : "",
		              (long long)shape[i]);
		numel *= (uint64_t)shape[i];
	}
	n += snprintf(header + n, sizeof header - (size_t)n, "%s), }", ndim == 1 ? "," : "");
	size_t total = ((size_t)10 + (size_t)n + 1 + 63) / 64 * 64;
	size_t len = total - 10;
	memset(header + n, ' ', len - 1 - (size_t)n);
	header[len - 1] = '\n';
	unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
	                         (unsigned char)(len & 0xff), (unsigned char)(len >> 8)};
	if (fwrite(pre, 1, 10, f) != 10 || fwrite(header, 1, len, f) != len)
		return vgg__fail(err, VGG_EIO, "write error");
	const uint16_t probe = 1;
	if (*(const unsigned char *)&probe == 1) {
		if (fwrite(data, 4, (size_t)numel, f) != numel)
			return vgg__fail(err, VGG_EIO, "write error");
		return VGG_OK;
	}
	for (uint64_t i = 0; i < numel; i++) {
		uint32_t u;
		memcpy(&u, &data[i], 4);
		unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8),
		                      (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
		if (fwrite(b, 1, 4, f) != 4)
			return vgg__fail(err, VGG_EIO, "write error");
	}
	return VGG_OK;
}

/* The value text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *h, const char *key)
{
	char quoted[32];
	snprintf(quoted, sizeof quoted, "'%s'", key);
	const char *p = strstr(h, quoted);
	if (!p) {
		snprintf(quoted, sizeof quoted, "\"%s\"", key);
		p = strstr(h, quoted);
	}
	if (!p)
		return NULL;
	p += strlen(quoted);
	while (isspace((unsigned char)*p))
		p++;
	if (*p != ':')
		return NULL;
	p++;
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

static int bad(const char *name, vgg_error *err, const char *what)
{
	return vgg__fail(err, VGG_EPARSE, "'%s': not a valid .npy array: %s", name, what);
}

int vgg_npy_read(FILE *f, const char *name, int *ndim, int64_t shape[VGG_MAX_DIMS],
                 float **data, vgg_error *err)
{
	unsigned char pre[12];
	*data = NULL;
	size_t got = fread(pre, 1, 8, f);
	if (got == 0 && feof(f))
		return VGG_ENOTFOUND;
	if (got != 8 || memcmp(pre, "\x93NUMPY", 6) != 0)
		return bad(name, err, "no .npy magic");
	int major = pre[6];
	size_t width = major == 1 ? 2 : 4;
	if (major < 1 || major > 3 || fread(pre + 8, 1, width, f) != width)
		return bad(name, err, "unknown version");
	size_t hlen = pre[8] | (size_t)pre[9] << 8;
	if (width == 4)
		hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
	if (hlen > MAX_HEADER)
		return bad(name, err, "header too long");
	char *h = malloc(hlen + 1);
	if (!h)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	if (fread(h, 1, hlen, f) != hlen) {
		free(h);
		return bad(name, err, "truncated header");
	}
	h[hlen] = 0;
	const char *descr = dict_value(h, "descr"), *order = dict_value(h, "fortran_order");
	const char *sh = dict_value(h, "shape");
	unsigned elem = 0;
	char kind = 0;
	if (descr && (*descr == '\'' || *descr == '"')) {
		char q = *descr;
		const char *d = descr + 1;
		/* Only little-endian or byte-order-free types: this is what numpy writes here. */
		if ((*d == '<' || *d == '|' || *d == '=') && (d[1] == 'f' || d[1] == 'u') &&
		    isdigit((unsigned char)d[2]) && d[3] == q) {
			kind = d[1];
			elem = (unsigned)(d[2] - '0');
		}
	}
	int ok = (kind == 'f' && (elem == 4 || elem == 8)) || (kind == 'u' && elem == 1);
	if (!ok) {
		free(h);
		return bad(name, err, "dtype is not float32, float64 or uint8, little-endian");
	}
	if (!order || strncmp(order, "False", 5) != 0) {
		free(h);
		return bad(name, err, "Fortran order is not supported");
	}
	if (!sh || *sh != '(') {
		free(h);
		return bad(name, err, "no shape");
	}
	const char *p = sh + 1;
	uint64_t numel = 1;
	int nd = 0, overflow = 0;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == ')')
			break;
		char *end;
		long long v = strtoll(p, &end, 10);
		if (end == p || v < 0 || nd == VGG_MAX_DIMS) {
			free(h);
			return bad(name, err, "shape is not a tuple of sizes");
		}
		shape[nd++] = v;
		overflow |= __builtin_mul_overflow(numel, (uint64_t)v, &numel);
		p = end;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == ',')
			p++;
	}
	free(h);
	uint64_t bytes;
	if (overflow || __builtin_mul_overflow(numel, (uint64_t)elem, &bytes) ||
	    bytes > ((uint64_t)1 << 40))
		return bad(name, err, "array too large");
	/* Grow the array as data arrives, so a lying shape costs no more than the stream holds. */
	size_t cap = numel < (1u << 20) ? (size_t)numel : 1u << 20;
	float *out = malloc(cap ? cap * sizeof *out : 1);
	unsigned char buf[4096];
	if (!out)
		return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", name);
	for (uint64_t i = 0; i < numel;) {
		size_t want = sizeof buf / elem;
		if (want > numel - i)
			want = (size_t)(numel - i);
		if (fread(buf, elem, want, f) != want) {
			free(out);
			return bad(name, err, "truncated data");
		}
		if (i + want > cap) {
			size_t grown_cap = cap * 2 < numel ? cap * 2 : (size_t)numel;
			float *grown = realloc(out, grown_cap * sizeof *out);
			if (!grown) {
				free(out);
				return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", name);
			}
			out = grown;
			cap = grown_cap;
		}
		for (size_t k = 0; k < want; k++, i++) {
			const unsigned char *b = buf + k * elem;
			if (elem == 1) {
				out[i] = b[0];
			} else if (elem == 4) {
				uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
				             (uint32_t)b[3] << 24;
				memcpy(&out[i], &u, 4);
			} else {
				uint64_t u = 0;
				for (int j = 7; j >= 0; j--)
					u = u << 8 | b[j];
				double d;
				memcpy(&d, &u, 8);
				out[i] = (float)d;
			}
		}
	}
	*ndim = nd;
	*data = out;
	return VGG_OK;
}

/*
 * A writer's tensors as DIR/NAME.npy, one file each.  They are written into a new directory
 * beside DIR that is renamed to DIR at the end, so a failure leaves no DIR behind; an
 * existing DIR is refused rather than mixed with.
 */
int vgg_weights_writer_write_npy_dir(vgg_weights_writer *wr, const char *dir, vgg_error *err)
{
	struct stat st;
	if (stat(dir, &st) == 0)
		return vgg__fail(err, VGG_EIO, "cannot write '%s': it exists", dir);
	size_t len = strlen(dir);
	char *tmp = malloc(len + 16), *path = NULL;
	if (!tmp)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	memcpy(tmp, dir, len);
	memcpy(tmp + len, ".tmp.XXXXXX", 12);
	if (!mkdtemp(tmp)) {
		int e = errno;
		free(tmp);
		return vgg__fail(err, VGG_EIO, "cannot write '%s': %s", dir, strerror(e));
	}
	size_t n = vgg__writer_count(wr), written = 0;
	int rc = VGG_OK;
	for (size_t i = 0; i < n && !rc; i++) {
		const struct vgg__pending *t = vgg__writer_tensor(wr, i);
		free(path);
		if (!(path = malloc(strlen(tmp) + strlen(t->name) + 8))) {
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
			break;
		}
		sprintf(path, "%s/%s.npy", tmp, t->name);
		FILE *f = fopen(path, "wb");
		if (!f) {
			rc = vgg__fail(err, VGG_EIO, "cannot write '%s': %s", path, strerror(errno));
			break;
		}
		written++;
		vgg_error e;
		if ((rc = vgg_npy_write(f, t->ndim, t->shape, t->data, &e)))
			rc = vgg__fail(err, rc, "cannot write '%s': %s", path, e.msg);
		if (fclose(f) != 0 && !rc)
			rc = vgg__fail(err, VGG_EIO, "cannot write '%s': %s", path, strerror(errno));
	}
	if (!rc && rename(tmp, dir) != 0)
		rc = vgg__fail(err, VGG_EIO, "cannot write '%s': %s", dir, strerror(errno));
	if (rc) {
		for (size_t i = 0; i < written; i++) {
			const struct vgg__pending *t = vgg__writer_tensor(wr, i);
			char *p = malloc(strlen(tmp) + strlen(t->name) + 8);
			if (p) {
				sprintf(p, "%s/%s.npy", tmp, t->name);
				unlink(p);
				free(p);
			}
		}
		rmdir(tmp);
	}
	free(path);
	free(tmp);
	return rc;
}
