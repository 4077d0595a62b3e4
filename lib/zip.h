/* zip.h: a minimal reader of ZIP archives in memory, for torch.c's zip serialization. */
#ifndef VGG_ZIP_H
#define VGG_ZIP_H

#include "internal.h"

struct vgg__zip_entry {
	const char *name;       /* NUL-terminated; owned by the archive */
	uint64_t data_offset;   /* where its data starts, after the local header */
	uint64_t csize, usize;  /* compressed and uncompressed sizes */
	uint32_t crc;
	int method;             /* 0 stored, 8 deflate */
};

/* Deflate cannot shrink data by more than about 1032 to 1, so a bigger claimed size is a
 * lie we need not allocate for. */
#define VGG__ZIP_MAX_RATIO 1032

/* An archive over the caller's buffer, which must outlive it. */
struct vgg__zip {
	const char *name;       /* the file, for messages; not copied */
	const unsigned char *data;
	size_t size;
	size_t count;
	struct vgg__zip_entry *entries;  /* in central-directory order */
	struct vgg__zip_entry **sorted;  /* by name, for lookups */
	char *names;                     /* the entries' names, in one buffer */
};

/* Reads the central directory; every entry's data is checked to lie within the buffer. */
int vgg__zip_open(const void *data, size_t size, const char *name, struct vgg__zip **out,
                  vgg_error *err);
void vgg__zip_free(struct vgg__zip *zip);
const struct vgg__zip_entry *vgg__zip_find(const struct vgg__zip *zip, const char *name);
/*
 * An entry's uncompressed bytes: for a stored entry *bytes points into the archive's buffer
 * and *owned is NULL; a deflated one is inflated into *owned (malloc'd, for the caller to
 * free) and *bytes points there.  *size gets the entry's uncompressed size.
 */
int vgg__zip_read(const struct vgg__zip *zip, const struct vgg__zip_entry *e,
                  const unsigned char **bytes, void **owned, uint64_t *size, vgg_error *err);

#endif
