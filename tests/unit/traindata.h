/* traindata.h: a scratch directory for the training-data tests, and files written into it. */
#ifndef VGG_TRAINDATA_H
#define VGG_TRAINDATA_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char scratch_root[4096];

/* A new empty directory under $TMPDIR, removed by scratch_done. */
static inline const char *scratch_new(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(scratch_root, sizeof scratch_root, "%s/vgg-test.XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch_root)) {
		perror("mkdtemp");
		exit(1);
	}
	return scratch_root;
}

static inline int scratch_rm(const char *path, const struct stat *st, int flag,
                             struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void scratch_done(void)
{
	nftw(scratch_root, scratch_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* ROOT/NAME in buf, with the directories on the way made. */
static inline const char *scratch_path(char *buf, size_t size, const char *name)
{
	if (snprintf(buf, size, "%s/%s", scratch_root, name) >= (int)size) {
		fprintf(stderr, "path too long: %s\n", name);
		exit(1);
	}
	for (char *p = buf + strlen(scratch_root) + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		mkdir(buf, 0777);
		*p = '/';
	}
	return buf;
}

/* Writes n bytes to ROOT/NAME, gzip'd when `gz`; returns the path in buf. */
static inline const char *scratch_write(char *buf, size_t size, const char *name,
                                        const void *data, size_t n, int gz)
{
	scratch_path(buf, size, name);
	if (gz) {
		gzFile f = gzopen(buf, "wb");
		if (!f || gzwrite(f, data, (unsigned)n) != (int)n || gzclose(f) != Z_OK) {
			fprintf(stderr, "cannot write %s\n", buf);
			exit(1);
		}
	} else {
		FILE *f = fopen(buf, "wb");
		if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
			fprintf(stderr, "cannot write %s\n", buf);
			exit(1);
		}
	}
	return buf;
}

/* A binary PGM (c == 1) or PPM (c == 3) of w x h pixels at ROOT/NAME. */
static inline const char *scratch_pnm(char *buf, size_t size, const char *name, int w, int h,
                                      int c, const unsigned char *pixels)
{
	size_t n = (size_t)w * (size_t)h * (size_t)c;
	unsigned char *data = malloc(n + 64);
	int head = snprintf((char *)data, 64, "P%c\n%d %d\n255\n", c == 1 ? '5' : '6', w, h);
	memcpy(data + head, pixels, n);
	scratch_write(buf, size, name, data, (size_t)head + n, 0);
	free(data);
	return buf;
}

/* An IDX file: magic 00 00 08 ndim, the sizes big-endian, then `values` bytes. */
static inline const char *scratch_idx(char *buf, size_t size, const char *name, int ndim,
                                      const unsigned dims[], const unsigned char *values,
                                      size_t nvalues, int gz)
{
	unsigned char *data = malloc(4 + 4 * (size_t)ndim + nvalues);
	unsigned char *p = data;
	*p++ = 0;
	*p++ = 0;
	*p++ = 8;
	*p++ = (unsigned char)ndim;
	for (int i = 0; i < ndim; i++, p += 4) {
		p[0] = (unsigned char)(dims[i] >> 24);
		p[1] = (unsigned char)(dims[i] >> 16);
		p[2] = (unsigned char)(dims[i] >> 8);
		p[3] = (unsigned char)dims[i];
	}
	memcpy(p, values, nvalues);
	scratch_write(buf, size, name, data, (size_t)(p - data) + nvalues, gz);
	free(data);
	return buf;
}

#endif
