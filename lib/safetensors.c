/*
 * safetensors.c: our weights format, read by mmap and written atomically.
 *
 * The layout (../shared/FORMATS.md, vgg-weights(5)):
 *   1. bytes 0-7: N, the header's length, unsigned 64-bit little-endian (at most 100 MB);
 *   2. N bytes of UTF-8 JSON: an object mapping each tensor name to
 *      {"dtype": "F32", "shape": [..], "data_offsets": [BEGIN, END]}, plus an optional
 *      "__metadata__" object of string to string; padded with spaces to a multiple of 8;
 *   3. the data buffer: offsets are relative to its start, END exclusive; sorted by BEGIN
 *      the tensors tile it from 0 to its end with no gap or overlap, and END - BEGIN is the
 *      element count times the element size.  Data is little-endian and row-major.
 * Every number is checked against the file's length before any of the data is touched.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_HEADER 100000000u

struct vgg_weights {
	char *name;
	unsigned char *base;    /* the whole file */
	size_t size;
	int mapped;             /* base is an mmap (else malloc'd) */
	size_t count;
	vgg_tensor_info *tensors;  /* in the header's order */
	vgg_tensor_info **by_name; /* sorted by name, for lookups */
	char **tensor_names;
	size_t meta_count;
	struct meta_entry {
		char *key, *value;
	} *meta;                /* sorted by key */
};

static const struct {
	const char *name;
	enum vgg_dtype dtype;
	unsigned size;
} DTYPES[] = {
	{"F32", VGG_DTYPE_F32, 4}, {"F16", VGG_DTYPE_F16, 2}, {"BF16", VGG_DTYPE_BF16, 2},
	{"F64", VGG_DTYPE_F64, 8}, {"I64", VGG_DTYPE_I64, 8}, {"I32", VGG_DTYPE_I32, 4},
	{"U8", VGG_DTYPE_U8, 1}, {"I8", VGG_DTYPE_OTHER, 1}, {"I16", VGG_DTYPE_OTHER, 2},
	{"U16", VGG_DTYPE_OTHER, 2}, {"U32", VGG_DTYPE_OTHER, 4}, {"U64", VGG_DTYPE_OTHER, 8},
	{"BOOL", VGG_DTYPE_OTHER, 1}, {"F8_E4M3", VGG_DTYPE_OTHER, 1},
	{"F8_E5M2", VGG_DTYPE_OTHER, 1},
};

/* A JSON number that is a whole number in [0, 2^53]; doubles are exact up to there. */
static int json_count(const cJSON *item, uint64_t *out)
{
	if (!cJSON_IsNumber(item))
		return 0;
	double v = item->valuedouble;
	if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(uint64_t)v)
		return 0;
	*out = (uint64_t)v;
	return 1;
}

static int compare_offsets(const void *a, const void *b)
{
	const vgg_tensor_info *x = *(const vgg_tensor_info *const *)a;
	const vgg_tensor_info *y = *(const vgg_tensor_info *const *)b;
	return x->data < y->data ? -1 : x->data > y->data;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp((*(const vgg_tensor_info *const *)a)->name,
	              (*(const vgg_tensor_info *const *)b)->name);
}

static int compare_meta(const void *a, const void *b)
{
	return strcmp(((const struct meta_entry *)a)->key, ((const struct meta_entry *)b)->key);
}

static int bad(vgg_weights *w, vgg_error *err, const char *what)
{
	return vgg__fail(err, VGG_EPARSE, "'%s': not a valid safetensors file: %s", w->name, what);
}

static int read_metadata(vgg_weights *w, const cJSON *meta, vgg_error *err)
{
	if (!cJSON_IsObject(meta))
		return bad(w, err, "__metadata__ is not an object");
	size_t n = (size_t)cJSON_GetArraySize(meta);
	w->meta = calloc(n ? n : 1, sizeof *w->meta);
	if (!w->meta)
		return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", w->name);
	const cJSON *item;
	cJSON_ArrayForEach(item, meta) {
		if (!cJSON_IsString(item))
			return bad(w, err, "a __metadata__ value is not a string");
		struct meta_entry *e = &w->meta[w->meta_count++];
		e->key = strdup(item->string);
		e->value = strdup(item->valuestring);
		if (!e->key || !e->value)
			return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", w->name);
	}
	qsort(w->meta, w->meta_count, sizeof *w->meta, compare_meta);
	for (size_t i = 1; i < w->meta_count; i++)
		if (strcmp(w->meta[i - 1].key, w->meta[i].key) == 0)
			return bad(w, err, "a __metadata__ key is given twice");
	return VGG_OK;
}

static int read_tensor(vgg_weights *w, const cJSON *item, const unsigned char *buffer,
                       uint64_t buffer_size, vgg_tensor_info *t, vgg_error *err)
{
	char what[300];
	const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
	const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
	const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
	snprintf(what, sizeof what, "tensor '%.200s': ", item->string);
	size_t len = strlen(what);
	if (!cJSON_IsObject(item) || !cJSON_IsString(dtype) || !cJSON_IsArray(shape) ||
	    !cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2) {
		snprintf(what + len, sizeof what - len, "needs dtype, shape and data_offsets");
		return bad(w, err, what);
	}
	unsigned elem = 0;
	for (size_t i = 0; i < sizeof DTYPES / sizeof *DTYPES; i++) {
		if (strcmp(dtype->valuestring, DTYPES[i].name) == 0) {
			t->dtype = DTYPES[i].dtype;
			t->dtype_name = DTYPES[i].name;
			elem = DTYPES[i].size;
		}
	}
	if (!elem) {
		snprintf(what + len, sizeof what - len, "unknown dtype '%.40s'", dtype->valuestring);
		return bad(w, err, what);
	}
	int ndim = cJSON_GetArraySize(shape);
	if (ndim > VGG_MAX_DIMS) {
		snprintf(what + len, sizeof what - len, "more than %d dimensions", VGG_MAX_DIMS);
		return bad(w, err, what);
	}
	uint64_t numel = 1, begin, end, bytes;
	int overflow = 0;
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++) {
		uint64_t d;
		if (!json_count(cJSON_GetArrayItem(shape, i), &d)) {
			snprintf(what + len, sizeof what - len, "shape is not a list of sizes");
			return bad(w, err, what);
		}
		t->shape[i] = (int64_t)d;
		overflow |= __builtin_mul_overflow(numel, d, &numel);
	}
	if (!json_count(cJSON_GetArrayItem(offsets, 0), &begin) ||
	    !json_count(cJSON_GetArrayItem(offsets, 1), &end) || begin > end ||
	    end > buffer_size || overflow || __builtin_mul_overflow(numel, elem, &bytes) ||
	    bytes != end - begin) {
		snprintf(what + len, sizeof what - len,
		         "data_offsets do not fit its shape and the file's length");
		return bad(w, err, what);
	}
	t->numel = numel;
	t->nbytes = bytes;
	t->data = buffer + begin;
	return VGG_OK;
}

static int parse(vgg_weights *w, vgg_error *err)
{
	if (w->size < 8)
		return bad(w, err, "shorter than its 8-byte header length");
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | w->base[i];
	if (n > MAX_HEADER || n > w->size - 8)
		return bad(w, err, "header length exceeds the file");
	const unsigned char *buffer = w->base + 8 + n;
	uint64_t buffer_size = w->size - 8 - n;
	const char *json = (const char *)w->base + 8, *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(json, (size_t)n, &end, 0);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return bad(w, err, "header is not a JSON object");
	}
	/* After the object only the writer's padding may follow. */
	for (; end && end < json + n; end++) {
		if (*end != ' ' && *end != '\0') {
			cJSON_Delete(root);
			return bad(w, err, "bytes after the header's JSON object");
		}
	}
	size_t entries = (size_t)cJSON_GetArraySize(root);
	w->tensors = calloc(entries ? entries : 1, sizeof *w->tensors);
	w->tensor_names = calloc(entries ? entries : 1, sizeof *w->tensor_names);
	w->by_name = calloc(entries ? entries : 1, sizeof *w->by_name);
	vgg_tensor_info **order = calloc(entries ? entries : 1, sizeof *order);
	int rc = w->tensors && w->tensor_names && w->by_name && order ? VGG_OK
	         : vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", w->name);
	const cJSON *item;
	cJSON_ArrayForEach(item, root) {
		if (rc)
			break;
		if (strcmp(item->string, "__metadata__") == 0) {
			rc = w->meta ? bad(w, err, "__metadata__ is given twice")
			                  : read_metadata(w, item, err);
			continue;
		}
		vgg_tensor_info *t = &w->tensors[w->count];
		rc = read_tensor(w, item, buffer, buffer_size, t, err);
		if (rc)
			break;
		w->tensor_names[w->count] = strdup(item->string);
		if (!w->tensor_names[w->count]) {
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", w->name);
			break;
		}
		t->name = w->tensor_names[w->count];
		order[w->count] = t;
		w->by_name[w->count] = t;
		w->count++;
	}
	cJSON_Delete(root);
	if (!rc) {
		qsort(w->by_name, w->count, sizeof *w->by_name, compare_names);
		for (size_t i = 1; i < w->count && !rc; i++)
			if (strcmp(w->by_name[i - 1]->name, w->by_name[i]->name) == 0)
				rc = bad(w, err, "a tensor name is given twice");
	}
	if (!rc) {
		/* The tensors must tile the buffer: no byte shared, none left over. */
		qsort(order, w->count, sizeof *order, compare_offsets);
		const unsigned char *next = buffer;
		for (size_t i = 0; i < w->count && !rc; i++) {
			if ((const unsigned char *)order[i]->data != next)
				rc = bad(w, err, "tensors overlap or leave gaps in the data");
			next = (const unsigned char *)order[i]->data + order[i]->nbytes;
		}
		if (!rc && next != buffer + buffer_size)
			rc = bad(w, err, "bytes after the last tensor");
	}
	free(order);
	return rc;
}

int vgg_weights_from_memory(void *data, size_t size, const char *name, vgg_weights **out,
                            vgg_error *err)
{
	*out = NULL;
	vgg_weights *w = calloc(1, sizeof *w);
	if (!w || !(w->name = strdup(name))) {
		free(w);
		free(data);
		return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", name);
	}
	w->base = data;
	w->size = size;
	int rc = parse(w, err);
	if (rc) {
		vgg_weights_free(w);
		return rc;
	}
	*out = w;
	return VGG_OK;
}

/* The data buffer's length as the header's largest END gives it; 0 when the header is
 * not one we can read, which parse() then reports in full. */
static uint64_t declared_data_size(const unsigned char *json, size_t n)
{
	cJSON *root = cJSON_ParseWithLength((const char *)json, n);
	uint64_t size = 0;
	const cJSON *item;
	cJSON_ArrayForEach(item, root) {
		const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
		uint64_t end;
		if (cJSON_IsArray(offsets) && json_count(cJSON_GetArrayItem(offsets, 1), &end) &&
		    end > size)
			size = end;
	}
	cJSON_Delete(root);
	return size;
}

int vgg_weights_read_stream(FILE *f, const char *name, vgg_weights **out, vgg_error *err)
{
	struct vgg__stream_buf b = {0};
	*out = NULL;
	int rc = vgg__stream_fill(f, name, &b, 8, err);
	uint64_t n = 0, total = 8;
	for (int i = 7; !rc && b.len == 8 && i >= 0; i--)
		n = n << 8 | b.data[i];
	/* The header first, within its own limit; then only the data it calls for. */
	if (!rc && b.len == 8 && n <= MAX_HEADER) {
		total += n;
		rc = vgg__stream_fill(f, name, &b, (size_t)total, err);
	}
	if (!rc && b.len == total && total > 8) {
		uint64_t data = declared_data_size(b.data + 8, (size_t)n);
		if (data > VGG__STREAM_MAX - total)
			rc = vgg__fail(err, VGG_ERANGE, "'%s': not a valid safetensors file: its header "
			               "calls for %llu bytes of data", name, (unsigned long long)data);
		total += data;
		if (!rc)
			rc = vgg__stream_fill(f, name, &b, (size_t)total, err);
		if (!rc && b.len < total)
			rc = vgg__fail(err, VGG_EPARSE, "'%s': not a valid safetensors file: the stream "
			               "ends after %zu bytes, its header calls for %llu", name, b.len,
			               (unsigned long long)total);
		if (!rc && !vgg__stream_at_end(f))
			rc = vgg__fail(err, VGG_EPARSE, "'%s': not a valid safetensors file: bytes "
			               "after the last tensor", name);
	}
	if (rc) {
		free(b.data);
		return rc;
	}
	/* Whatever is short or too long for its header is parse()'s to report. */
	return vgg_weights_from_memory(b.data, b.len, name, out, err);
}

int vgg_weights_open(const char *path, vgg_weights **out, vgg_error *err)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return vgg__fail(err, VGG_EIO, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return vgg__fail(err, VGG_EIO, "cannot map '%s': not a regular file", path);
	}
	vgg_weights *w = calloc(1, sizeof *w);
	if (!w || !(w->name = strdup(path))) {
		free(w);
		close(fd);
		return vgg__fail(err, VGG_ENOMEM, "out of memory opening '%s'", path);
	}
	w->size = (size_t)st.st_size;
	if (w->size > 0) {
		void *base = mmap(NULL, w->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (base == MAP_FAILED) {
			int e = errno;
			close(fd);
			vgg_weights_free(w);
			return vgg__fail(err, VGG_EIO, "cannot map '%s': %s", path, strerror(e));
		}
		w->base = base;
		w->mapped = 1;
	}
	close(fd);
	int rc = parse(w, err);
	if (rc) {
		vgg_weights_free(w);
		return rc;
	}
	*out = w;
	return VGG_OK;
}

void vgg_weights_free(vgg_weights *w)
{
	if (!w)
		return;
	if (w->mapped)
		munmap(w->base, w->size);
	else
		free(w->base);
	for (size_t i = 0; i < w->count; i++)
		free(w->tensor_names[i]);
	for (size_t i = 0; i < w->meta_count; i++) {
		free(w->meta[i].key);
		free(w->meta[i].value);
	}
	free(w->tensor_names);
	free(w->by_name);
	free(w->tensors);
	free(w->meta);
	free(w->name);
	free(w);
}

const char *vgg__weights_name(const vgg_weights *w)
{
	return w->name;
}

size_t vgg_weights_count(const vgg_weights *w)
{
	return w->count;
}

const vgg_tensor_info *vgg_weights_tensor(const vgg_weights *w, size_t i)
{
	return i < w->count ? &w->tensors[i] : NULL;
}

const vgg_tensor_info *vgg_weights_find(const vgg_weights *w, const char *name)
{
	vgg_tensor_info probe = {.name = name};
	const vgg_tensor_info *key = &probe;
	vgg_tensor_info **found = w->count
		? bsearch(&key, w->by_name, w->count, sizeof *w->by_name, compare_names) : NULL;
	return found ? *found : NULL;
}

const char *vgg_weights_meta(const vgg_weights *w, const char *key)
{
	struct meta_entry probe = {(char *)key, NULL};
	const struct meta_entry *e = w->meta_count
		? bsearch(&probe, w->meta, w->meta_count, sizeof *w->meta, compare_meta) : NULL;
	return e ? e->value : NULL;
}

size_t vgg_weights_meta_count(const vgg_weights *w)
{
	return w->meta_count;
}

void vgg_weights_meta_at(const vgg_weights *w, size_t i, const char **key, const char **value)
{
	*key = i < w->meta_count ? w->meta[i].key : NULL;
	*value = i < w->meta_count ? w->meta[i].value : NULL;
}

/* ---- Values ---- */

int vgg_dtype_is_float(enum vgg_dtype dtype)
{
	return dtype == VGG_DTYPE_F32 || dtype == VGG_DTYPE_F16 || dtype == VGG_DTYPE_BF16 ||
	       dtype == VGG_DTYPE_F64;
}

static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
	if (exp == 0) {
		if (man == 0) {
			u = sign;
		} else {
			/* Subnormal: normalise the mantissa. */
			int e = -1;
			do {
				man <<= 1;
				e++;
			} while (!(man & 0x400));
			u = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
		}
	} else if (exp == 31) {
		u = sign | 0x7f800000u | man << 13;
	} else {
		u = sign | (exp + 127 - 15) << 23 | man << 13;
	}
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static int host_little_endian(void)
{
	const uint16_t probe = 1;
	return *(const unsigned char *)&probe == 1;
}

void vgg__floats_from_le(float *dst, const void *src, uint64_t n)
{
	const unsigned char *p = src;
	if (host_little_endian()) {
		memcpy(dst, src, (size_t)n * sizeof *dst);
		return;
	}
	for (uint64_t i = 0; i < n; i++, p += 4) {
		uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		             (uint32_t)p[3] << 24;
		memcpy(&dst[i], &u, 4);
	}
}

void vgg_tensor_to_float(const vgg_tensor_info *t, float *dst)
{
	const unsigned char *p = t->data;
	if (t->dtype == VGG_DTYPE_F32) {
		vgg__floats_from_le(dst, p, t->numel);
		return;
	}
	for (uint64_t i = 0; i < t->numel; i++) {
		switch (t->dtype) {
		case VGG_DTYPE_F16:
			dst[i] = half_to_float((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
			break;
		case VGG_DTYPE_BF16: {
			uint32_t u = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8) << 16;
			memcpy(&dst[i], &u, 4);
			break;
		}
		case VGG_DTYPE_F64: {
			uint64_t u = 0;
			for (int j = 7; j >= 0; j--)
				u = u << 8 | p[8 * i + (uint64_t)j];
			double d;
			memcpy(&d, &u, 8);
			dst[i] = (float)d;
			break;
		}
		case VGG_DTYPE_I64: {
			uint64_t u = 0;
			for (int j = 7; j >= 0; j--)
				u = u << 8 | p[8 * i + (uint64_t)j];
			dst[i] = (float)(int64_t)u;
			break;
		}
		case VGG_DTYPE_I32: {
			uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
			             (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
			dst[i] = (float)(int32_t)u;
			break;
		}
		case VGG_DTYPE_U8:
			dst[i] = p[i];
			break;
		default:
			dst[i] = NAN;
		}
	}
}

/* ---- Writing ---- */

struct vgg_weights_writer {
	cJSON *meta;
	size_t count, cap;
	struct vgg__pending *tensors;
};

size_t vgg__writer_count(const vgg_weights_writer *wr)
{
	return wr->count;
}

const struct vgg__pending *vgg__writer_tensor(const vgg_weights_writer *wr, size_t i)
{
	return &wr->tensors[i];
}

vgg_weights_writer *vgg_weights_writer_new(void)
{
	vgg_weights_writer *wr = calloc(1, sizeof *wr);
	if (wr && !(wr->meta = cJSON_CreateObject())) {
		free(wr);
		return NULL;
	}
	return wr;
}

void vgg_weights_writer_free(vgg_weights_writer *wr)
{
	if (!wr)
		return;
	for (size_t i = 0; i < wr->count; i++)
		free(wr->tensors[i].name);
	free(wr->tensors);
	cJSON_Delete(wr->meta);
	free(wr);
}

int vgg_weights_writer_meta(vgg_weights_writer *wr, const char *key, const char *value,
                            vgg_error *err)
{
	cJSON *s = cJSON_CreateString(value);
	if (!s)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	if (cJSON_GetObjectItemCaseSensitive(wr->meta, key))
		cJSON_ReplaceItemInObjectCaseSensitive(wr->meta, key, s);
	else
		cJSON_AddItemToObject(wr->meta, key, s);
	return VGG_OK;
}

int vgg_weights_writer_add(vgg_weights_writer *wr, const char *name, int ndim,
                           const int64_t *shape, const float *data, vgg_error *err)
{
	if (ndim < 0 || ndim > VGG_MAX_DIMS || strcmp(name, "__metadata__") == 0)
		return vgg__fail(err, VGG_ERANGE, "tensor '%s': cannot be written", name);
	for (size_t i = 0; i < wr->count; i++)
		if (strcmp(wr->tensors[i].name, name) == 0)
			return vgg__fail(err, VGG_ERANGE, "tensor '%s' is added twice", name);
	if (wr->count == wr->cap) {
		size_t cap = wr->cap ? wr->cap * 2 : 64;
		struct vgg__pending *grown = realloc(wr->tensors, cap * sizeof *grown);
		if (!grown)
			return vgg__fail(err, VGG_ENOMEM, "out of memory");
		wr->tensors = grown;
		wr->cap = cap;
	}
	struct vgg__pending *t = &wr->tensors[wr->count];
	memset(t, 0, sizeof *t);
	if (!(t->name = strdup(name)))
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	t->ndim = ndim;
	t->numel = 1;
	for (int i = 0; i < ndim; i++) {
		if (shape[i] < 0 || __builtin_mul_overflow(t->numel, (uint64_t)shape[i], &t->numel)) {
			free(t->name);
			return vgg__fail(err, VGG_ERANGE, "tensor '%s': bad shape", name);
		}
		t->shape[i] = shape[i];
	}
	t->data = data;
	wr->count++;
	return VGG_OK;
}

static char *header_json(const vgg_weights_writer *wr)
{
	cJSON *root = cJSON_CreateObject();
	uint64_t offset = 0;
	if (!root)
		return NULL;
	if (cJSON_GetArraySize(wr->meta) > 0)
		cJSON_AddItemReferenceToObject(root, "__metadata__", wr->meta);
	for (size_t i = 0; i < wr->count; i++) {
		const struct vgg__pending *t = &wr->tensors[i];
		cJSON *o = cJSON_CreateObject();
		cJSON *shape = cJSON_CreateArray();
		cJSON *offsets = cJSON_CreateArray();
		cJSON_AddItemToObject(root, t->name, o);
		cJSON_AddStringToObject(o, "dtype", "F32");
		cJSON_AddItemToObject(o, "shape", shape);
		for (int d = 0; d < t->ndim; d++)
			cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
		cJSON_AddItemToObject(o, "data_offsets", offsets);
		cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
		offset += t->numel * 4;
		cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
	}
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

/* The floats as little-endian bytes, whatever the host's order. */
int vgg__write_floats(FILE *f, const float *data, uint64_t n)
{
	if (host_little_endian())
		return fwrite(data, 4, (size_t)n, f) == n;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, &data[i], 4);
		unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8),
		                      (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
		if (fwrite(b, 1, 4, f) != 4)
			return 0;
	}
	return 1;
}

int vgg_weights_writer_write(vgg_weights_writer *wr, const char *path, vgg_error *err)
{
	char *header = header_json(wr);
	if (!header)
		return vgg__fail(err, VGG_ENOMEM, "out of memory writing '%s'", path);
	size_t n = strlen(header), padded = (n + 7) / 8 * 8;
	vgg_output *out;
	FILE *f;
	int rc = vgg_output_open(path, &out, &f, err);
	if (rc) {
		free(header);
		return rc;
	}
	unsigned char size_bytes[8];
	for (int i = 0; i < 8; i++)
		size_bytes[i] = (unsigned char)((uint64_t)padded >> (8 * i));
	int ok = fwrite(size_bytes, 1, 8, f) == 8 && fwrite(header, 1, n, f) == n;
	for (size_t i = n; ok && i < padded; i++)
		ok = fputc(' ', f) != EOF;
	for (size_t i = 0; ok && i < wr->count; i++)
		ok = vgg__write_floats(f, wr->tensors[i].data, wr->tensors[i].numel);
	free(header);
	if (!ok) {
		int e = errno;
		vgg_output_abort(out);
		return vgg__fail(err, VGG_EIO, "cannot write '%s': %s", path, strerror(e));
	}
	return vgg_output_commit(out, err);
}
