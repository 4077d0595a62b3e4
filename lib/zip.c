/*
 * zip.c: the ZIP archives of torch's zip serialization, read from memory.
 *
 * The layout (APPNOTE.TXT; all numbers little-endian; ../shared/FORMATS.md):
 *   1. per entry, a local header: "PK\3\4", version (2), flags (2), method (2), time and
 *      date (4), CRC-32 (4), compressed and uncompressed sizes (4 + 4), name length n (2),
 *      extra length m (2), the name, the extra field, then the data.  torch sets flag
 *      0x0808 and writes zero CRC and sizes here (a data descriptor follows the data), so
 *      sizes come from the central directory; it pads the extra field so that data starts
 *      on a 64-byte boundary;
 *   2. the central directory, one record per entry: "PK\1\2", versions (2 + 2), flags (2),
 *      method (2), time and date (4), CRC-32 (4), compressed and uncompressed sizes (4 + 4),
 *      name length n (2), extra length m (2), comment length k (2), disk (2), attributes
 *      (2 + 4), the local header's offset (4), then the name, extra field and comment;
 *      sizes and offset of 0xffffffff are in the extra field's ZIP64 block (id 1), as
 *      8-byte numbers in the order uncompressed size, compressed size, offset;
 *   3. with ZIP64 (torch 1.13 writes it even for small files): the ZIP64 end record
 *      "PK\6\6", its length (8), versions (2 + 2), disks (4 + 4), entry counts (8 + 8), the
 *      central directory's size (8) and offset (8); then its locator "PK\6\7", a disk (4),
 *      the end record's offset (8) and the number of disks (4);
 *   4. the end record, 22 bytes plus a comment of up to 65535: "PK\5\6", disks (2 + 2),
 *      entry counts (2 + 2), the central directory's size (4) and offset (4), comment
 *      length (2).  It is found by searching backwards from the end of the file.
 * Methods 0 (stored) and 8 (deflate) are read.  Every offset and size is checked against
 * the buffer before it is used.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "zip.h"

#define EOCD_SIZE 22
#define LOCATOR_SIZE 20
#define ZIP64_EOCD_SIZE 56
#define CENTRAL_SIZE 46
#define LOCAL_SIZE 30

static unsigned u16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t u64(const unsigned char *p)
{
	return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32;
}

static int corrupt(const struct vgg__zip *zip, vgg_error *err, const char *what)
{
	return vgg__fail(err, VGG_EPARSE, "'%s': corrupt zip archive: %s", zip->name, what);
}

static int corrupt_entry(const struct vgg__zip *zip, vgg_error *err, const char *entry,
                         const char *what)
{
	return vgg__fail(err, VGG_EPARSE, "'%s': corrupt zip archive: entry '%.200s' %s",
	                 zip->name, entry, what);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp((*(const struct vgg__zip_entry *const *)a)->name,
	              (*(const struct vgg__zip_entry *const *)b)->name);
}

/* The end record's position, or -1: the last "PK\5\6" whose comment ends the file. */
static long long find_end(const unsigned char *d, size_t size)
{
	if (size < EOCD_SIZE)
		return -1;
	size_t lowest = size - EOCD_SIZE > 65535 ? size - EOCD_SIZE - 65535 : 0;
	for (size_t pos = size - EOCD_SIZE + 1; pos-- > lowest;)
		if (memcmp(d + pos, "PK\5\6", 4) == 0 && pos + EOCD_SIZE + u16(d + pos + 20) == size)
			return (long long)pos;
	return -1;
}

/* Replaces the 0xffffffff fields of a central record by their ZIP64 extra values. */
static int read_zip64_extra(const unsigned char *extra, size_t len, struct vgg__zip_entry *e,
                            uint64_t *offset)
{
	while (len >= 4) {
		unsigned id = u16(extra), n = u16(extra + 2);
		if (n > len - 4)
			return 0;
		if (id == 1) {
			const unsigned char *p = extra + 4, *end = p + n;
			uint64_t *fields[] = {&e->usize, &e->csize, offset};
			for (int i = 0; i < 3; i++) {
				if (*fields[i] != 0xffffffffu)
					continue;
				if (end - p < 8)
					return 0;
				*fields[i] = u64(p);
				p += 8;
			}
			return 1;
		}
		extra += 4 + n;
		len -= 4 + n;
	}
	return e->usize != 0xffffffffu && e->csize != 0xffffffffu && *offset != 0xffffffffu;
}

/* Checks the local header at `offset` and sets where the entry's data starts. */
static int locate_data(struct vgg__zip *zip, struct vgg__zip_entry *e, uint64_t offset,
                       vgg_error *err)
{
	const unsigned char *d = zip->data;
	if (offset > zip->size || zip->size - offset < LOCAL_SIZE ||
	    memcmp(d + offset, "PK\3\4", 4) != 0)
		return corrupt_entry(zip, err, e->name, "has no local header");
	uint64_t start = offset + LOCAL_SIZE + u16(d + offset + 26) + u16(d + offset + 28);
	if (start > zip->size || e->csize > zip->size - start)
		return corrupt_entry(zip, err, e->name, "runs past the end of the file");
	e->data_offset = start;
	return VGG_OK;
}

static int read_central(struct vgg__zip *zip, uint64_t cd_offset, uint64_t cd_size,
                        uint64_t count, vgg_error *err)
{
	const unsigned char *p = zip->data + cd_offset, *end = p + cd_size;
	/* Each record takes at least CENTRAL_SIZE bytes, which bounds the count; the names
	 * fit in the directory's bytes plus one NUL each. */
	if (count > cd_size / CENTRAL_SIZE)
		return corrupt(zip, err, "more entries than the central directory holds");
	zip->entries = calloc(count ? count : 1, sizeof *zip->entries);
	zip->sorted = calloc(count ? count : 1, sizeof *zip->sorted);
	zip->names = malloc(cd_size + count + 1);
	if (!zip->entries || !zip->sorted || !zip->names)
		return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", zip->name);
	char *name = zip->names;
	for (uint64_t i = 0; i < count; i++) {
		if (end - p < CENTRAL_SIZE || memcmp(p, "PK\1\2", 4) != 0)
			return corrupt(zip, err, "central directory record missing");
		unsigned flags = u16(p + 8), n = u16(p + 28), m = u16(p + 30), k = u16(p + 32);
		if ((size_t)(end - p - CENTRAL_SIZE) < (size_t)n + m + k)
			return corrupt(zip, err, "central directory record runs past its end");
		if (memchr(p + CENTRAL_SIZE, 0, n))
			return corrupt(zip, err, "an entry's name holds a NUL byte");
		struct vgg__zip_entry *e = &zip->entries[i];
		memcpy(name, p + CENTRAL_SIZE, n);
		name[n] = '\0';
		e->name = name;
		name += n + 1;
		e->method = (int)u16(p + 10);
		e->crc = u32(p + 16);
		e->csize = u32(p + 20);
		e->usize = u32(p + 24);
		uint64_t offset = u32(p + 42);
		if (!read_zip64_extra(p + CENTRAL_SIZE + n, m, e, &offset))
			return corrupt_entry(zip, err, e->name, "has a bad ZIP64 extra field");
		if (flags & 1)
			return corrupt_entry(zip, err, e->name, "is encrypted");
		int rc = locate_data(zip, e, offset, err);
		if (rc)
			return rc;
		zip->sorted[i] = e;
		p += CENTRAL_SIZE + n + m + k;
	}
	zip->count = (size_t)count;
	qsort(zip->sorted, zip->count, sizeof *zip->sorted, compare_names);
	return VGG_OK;
}

static int parse(struct vgg__zip *zip, vgg_error *err)
{
	const unsigned char *d = zip->data;
	long long end = find_end(d, zip->size);
	if (end < 0)
		return corrupt(zip, err, "no end of central directory record (truncated?)");
	const unsigned char *e = d + end;
	uint64_t count = u16(e + 10), cd_size = u32(e + 12), cd_offset = u32(e + 16);
	if (end >= LOCATOR_SIZE && memcmp(e - LOCATOR_SIZE, "PK\6\7", 4) == 0) {
		uint64_t at = u64(e - LOCATOR_SIZE + 8);
		if (at > zip->size || zip->size - at < ZIP64_EOCD_SIZE ||
		    memcmp(d + at, "PK\6\6", 4) != 0)
			return corrupt(zip, err, "ZIP64 end record missing");
		count = u64(d + at + 32);
		cd_size = u64(d + at + 40);
		cd_offset = u64(d + at + 48);
	}
	if (cd_offset > zip->size || cd_size > zip->size - cd_offset)
		return corrupt(zip, err, "central directory lies outside the file");
	return read_central(zip, cd_offset, cd_size, count, err);
}

int vgg__zip_open(const void *data, size_t size, const char *name, struct vgg__zip **out,
                  vgg_error *err)
{
	*out = NULL;
	struct vgg__zip *zip = calloc(1, sizeof *zip);
	if (!zip)
		return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", name);
	zip->name = name;
	zip->data = data;
	zip->size = size;
	int rc = parse(zip, err);
	if (rc) {
		vgg__zip_free(zip);
		return rc;
	}
	*out = zip;
	return VGG_OK;
}

void vgg__zip_free(struct vgg__zip *zip)
{
	if (!zip)
		return;
	free(zip->entries);
	free(zip->sorted);
	free(zip->names);
	free(zip);
}

const struct vgg__zip_entry *vgg__zip_find(const struct vgg__zip *zip, const char *name)
{
	struct vgg__zip_entry key = {.name = name}, *pkey = &key;
	struct vgg__zip_entry **found = bsearch(&pkey, zip->sorted, zip->count,
	                                        sizeof *zip->sorted, compare_names);
	return found ? *found : NULL;
}

/* zlib counts in uInt; big entries go through in pieces of this size. */
#define PIECE (1u << 30)

static int inflate_entry(const struct vgg__zip *zip, const struct vgg__zip_entry *e,
                         unsigned char *dst, vgg_error *err)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
		return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", zip->name);
	const unsigned char *src = zip->data + e->data_offset;
	uint64_t in_left = e->csize, out_left = e->usize;
	int ret = Z_OK;
	zs.next_out = dst;
	while (ret == Z_OK) {
		uInt in = in_left < PIECE ? (uInt)in_left : PIECE;
		uInt outn = out_left < PIECE ? (uInt)out_left : PIECE;
		zs.next_in = (unsigned char *)src;
		zs.avail_in = in;
		zs.avail_out = outn;
		ret = inflate(&zs, Z_NO_FLUSH);
		src += in - zs.avail_in;
		in_left -= in - zs.avail_in;
		out_left -= outn - zs.avail_out;
		if (ret == Z_OK && in == zs.avail_in && outn == zs.avail_out)
			ret = Z_BUF_ERROR;  /* no progress: the input ended or the output is full */
	}
	inflateEnd(&zs);
	if (ret != Z_STREAM_END || out_left != 0)
		return corrupt_entry(zip, err, e->name, "does not inflate to its size");
	uLong crc = crc32(0L, Z_NULL, 0);
	for (uint64_t done = 0; done < e->usize;) {
		uInt n = e->usize - done < PIECE ? (uInt)(e->usize - done) : PIECE;
		crc = crc32(crc, dst + done, n);
		done += n;
	}
	if (crc != e->crc)
		return corrupt_entry(zip, err, e->name, "fails its CRC-32 check");
	return VGG_OK;
}

int vgg__zip_read(const struct vgg__zip *zip, const struct vgg__zip_entry *e,
                  const unsigned char **bytes, void **owned, uint64_t *size, vgg_error *err)
{
	*bytes = NULL;
	*owned = NULL;
	*size = 0;
	if (e->method == 0) {
		if (e->csize != e->usize)
			return corrupt_entry(zip, err, e->name, "is stored with two different sizes");
		*bytes = zip->data + e->data_offset;
		*size = e->usize;
		return VGG_OK;
	}
	if (e->method != 8)
		return vgg__fail(err, VGG_EPARSE, "'%s': zip entry '%.200s' uses compression "
		                 "method %d (only stored and deflate are read)", zip->name, e->name,
		                 e->method);
	if (e->usize / VGG__ZIP_MAX_RATIO > e->csize || e->usize > SIZE_MAX - 1)
		return corrupt_entry(zip, err, e->name, "claims more data than deflate can hold");
	unsigned char *dst = malloc(e->usize ? (size_t)e->usize : 1);
	if (!dst)
		return vgg__fail(err, VGG_ENOMEM, "out of memory inflating '%s' in '%s'", e->name,
		                 zip->name);
	int rc = inflate_entry(zip, e, dst, err);
	if (rc) {
		free(dst);
		return rc;
	}
	*bytes = dst;
	*owned = dst;
	*size = e->usize;
	return VGG_OK;
}
