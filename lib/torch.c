/*
 * torch.c: PyTorch .pth files read without Python, into a set of float32 tensors: the zip
 * serialization of torch >= 1.6 (over zip.c) and the legacy one, pickles by pickle.c.
 *
 * The layout (../shared/FORMATS.md):
 *   1. zip form: a ZIP archive whose entries share one root folder, the first entry's:
 *      ROOT/data.pkl pickles the object, ROOT/data/KEY holds a storage's raw little-endian
 *      elements, ROOT/version a number, and in newer torch ROOT/byteorder "little" or
 *      "big"; storages appear in the pickle as the persistent ids
 *      ('storage', torch.FloatStorage or kin, KEY, location, numel);
 *   2. legacy form: five pickles back to back: the magic number 0x1950a86a20f9469cfc6c
 *      (bytes 80 02 8a 0a 6c fc 9c 46 f9 20 6a a8 50 19 2e), the protocol version 1001, a
 *      sys_info dict (little_endian, type sizes), the object, and the list of storage
 *      keys; persistent ids are ('storage', type, KEY, location, numel, view_metadata),
 *      view_metadata None or (view_key, offset, numel), a slice of the root storage KEY;
 *      then per key in the list's order an int64 element count and that many raw
 *      little-endian elements, with no padding;
 *   3. the object: a dict (an OrderedDict from state_dict()) of name -> tensor, or a
 *      checkpoint dict holding one under "state_dict", "model_state_dict" or "model"
 *      (its other entries are read, as any pickle must be, and left alone);
 *   4. each tensor: _rebuild_tensor_v2(storage, offset, size, stride, ...) or, before
 *      torch 0.4, _rebuild_tensor(storage, offset, size, stride), maybe wrapped by
 *      _rebuild_parameter; offset and strides count elements of the storage.
 * Float storages (32, 16, bfloat16 and 64 bits) become float32 tensors in the state_dict's
 * order; integer tensors such as batch norm's num_batches_tracked are counters, not
 * weights, and are left out.  A global a tensor does not need (an optimizer's class, a
 * whole pickled model, os.system) makes the file unreadable: nothing is ever executed.
 */
#include <stdlib.h>
#include <string.h>

#include "pickle.h"
#include "zip.h"

static const unsigned char LEGACY_MAGIC[15] = {
	0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e
};
#define LEGACY_VERSION 1001
#define MODULE_PREFIX "module."

/* A legacy file's root storage and where its elements lie in the file. */
struct root {
	const struct vgg__py *key;
	enum vgg_dtype dtype;
	uint64_t numel;
	const unsigned char *bytes;  /* NULL until the data section gives them */
};

struct reader {
	const char *name;
	const unsigned char *data;
	size_t size;
	struct vgg__pickle *pickle;
	struct vgg__zip *zip;        /* zip form */
	char *root;                  /* zip form: "ROOT/" */
	struct root *roots;          /* legacy form: sorted by key */
	size_t nroots;
	uint64_t elements;           /* read so far, to bound what views repeat */
	uint64_t inflated;           /* zip form: bytes inflated so far, to bound re-reads */
	vgg_tensor_set *set;
};

static unsigned element_size(enum vgg_dtype dtype)
{
	switch (dtype) {
	case VGG_DTYPE_F64:
	case VGG_DTYPE_I64:
		return 8;
	case VGG_DTYPE_F32:
	case VGG_DTYPE_I32:
		return 4;
	case VGG_DTYPE_F16:
	case VGG_DTYPE_BF16:
		return 2;
	case VGG_DTYPE_U8:
	case VGG_DTYPE_OTHER:
		break;
	}
	return 1;
}

static int is_float(enum vgg_dtype dtype)
{
	return dtype == VGG_DTYPE_F32 || dtype == VGG_DTYPE_F16 || dtype == VGG_DTYPE_BF16 ||
	       dtype == VGG_DTYPE_F64;
}

static uint32_t u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float bits_to_float(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static float load_f32(const unsigned char *p)
{
	return bits_to_float(u32(p));
}

static float load_f16(const unsigned char *p)
{
	uint32_t h = (uint32_t)p[0] | (uint32_t)p[1] << 8;
	uint32_t sign = (h & 0x8000) << 16, exp = h >> 10 & 0x1f, mant = h & 0x3ff;
	if (exp == 31)
		return bits_to_float(sign | 0x7f800000 | mant << 13);
	if (exp)
		return bits_to_float(sign | (exp + 112) << 23 | mant << 13);
	if (!mant)
		return bits_to_float(sign);
	/* A subnormal half is a normal float: shift its mantissa up to the implicit bit. */
	for (exp = 113; !(mant & 0x400); exp--)
		mant <<= 1;
	return bits_to_float(sign | exp << 23 | (mant & 0x3ff) << 13);
}

static float load_bf16(const unsigned char *p)
{
	return bits_to_float(((uint32_t)p[0] | (uint32_t)p[1] << 8) << 16);
}

static float load_f64(const unsigned char *p)
{
	uint64_t u = (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32;
	double d;
	memcpy(&d, &u, sizeof d);
	return (float)d;
}

/* Whether the tensor's elements follow each other in C order: no gathering needed. */
static int contiguous(const struct vgg__py *t)
{
	struct vgg__py *const *size = t->u.tensor.size->u.seq.items;
	struct vgg__py *const *stride = t->u.tensor.stride->u.seq.items;
	uint64_t step = 1;
	for (size_t d = t->u.tensor.size->u.seq.count; d-- > 0;) {
		if (size[d]->u.i != 1 && (uint64_t)stride[d]->u.i != step)
			return 0;
		step *= (uint64_t)size[d]->u.i;  /* bounded by the count checked before */
	}
	return 1;
}

/*
 * Adds the tensor's elements in C order as float32.  `bytes` holds the storage (or legacy
 * view) the tensor indexes: `numel` elements of its dtype.  With `lasting`, the bytes
 * outlive the set, which may then point into them.
 */
static int add_tensor(struct reader *r, const char *name, const struct vgg__py *t,
                      const unsigned char *bytes, uint64_t numel, int lasting, vgg_error *err)
{
	struct vgg__py *const *size = t->u.tensor.size->u.seq.items;
	struct vgg__py *const *stride = t->u.tensor.stride->u.seq.items;
	int ndim = (int)t->u.tensor.size->u.seq.count;
	uint64_t count = 1, last = t->u.tensor.offset;
	int64_t shape[VGG_MAX_DIMS];
	int overflow = 0;
	for (int d = 0; d < ndim; d++) {
		shape[d] = size[d]->u.i;
		overflow |= __builtin_mul_overflow(count, (uint64_t)size[d]->u.i, &count);
	}
	for (int d = 0; d < ndim && count; d++) {
		uint64_t reach;
		overflow |= __builtin_mul_overflow((uint64_t)size[d]->u.i - 1,
		                                   (uint64_t)stride[d]->u.i, &reach);
		overflow |= __builtin_add_overflow(last, reach, &last);
	}
	if (overflow || (count && last >= numel))
		return vgg__fail(err, VGG_EPARSE, "'%s': tensor '%s' reaches past the end of its "
		                 "storage of %llu elements", r->name, name, (unsigned long long)numel);
	enum vgg_dtype dtype = t->u.tensor.storage->u.storage.dtype;
	unsigned esize = element_size(dtype);
	int rc;
	if (dtype == VGG_DTYPE_F32 && lasting && contiguous(t)) {
		/* An empty tensor's offset may be anything: it points nowhere. */
		rc = vgg_tensor_set_borrow(r->set, name, ndim, shape,
		                           count ? bytes + t->u.tensor.offset * esize : bytes, err);
	} else {
		/* Views with stride 0 may repeat elements; a real state_dict does not repeat them
		 * more than the file's size allows, and a forged one must not make us allocate
		 * more. */
		if (count > r->size + ((uint64_t)1 << 20) - r->elements)
			return vgg__fail(err, VGG_ERANGE, "'%s': tensor '%s' repeats its storage's "
			                 "elements more than the file's size allows", r->name, name);
		r->elements += count;
		float *dst = malloc(count ? (size_t)count * sizeof *dst : 1);
		if (!dst)
			return vgg__fail(err, VGG_ENOMEM, "out of memory reading tensor '%s' of '%s'",
			                 name, r->name);
		float (*load)(const unsigned char *) = dtype == VGG_DTYPE_F16 ? load_f16 :
		                                       dtype == VGG_DTYPE_BF16 ? load_bf16 :
		                                       dtype == VGG_DTYPE_F64 ? load_f64 : load_f32;
		uint64_t index[VGG_MAX_DIMS] = {0}, pos = t->u.tensor.offset;
		for (uint64_t k = 0; k < count; k++) {
			dst[k] = load(bytes + pos * esize);
			for (int d = ndim - 1; d >= 0; d--) {
				if (++index[d] < (uint64_t)size[d]->u.i) {
					pos += (uint64_t)stride[d]->u.i;
					break;
				}
				pos -= (uint64_t)stride[d]->u.i * (index[d] - 1);
				index[d] = 0;
			}
		}
		rc = vgg_tensor_set_add(r->set, name, ndim, shape, dst, err);
	}
	if (rc == VGG_EPARSE)
		return vgg__fail(err, rc, "'%s': tensor '%s' is given twice", r->name, name);
	return rc;
}

/* ---- The zip form ---- */

/* The bytes of entry ROOT/DIR/FILE (dir ends with '/' or is empty); *bytes is NULL when
 * there is no such entry. */
static int read_entry(struct reader *r, const char *dir, const char *file,
                      const unsigned char **bytes, void **owned, uint64_t *size,
                      vgg_error *err)
{
	*bytes = NULL;
	*owned = NULL;
	size_t len = strlen(r->root) + strlen(dir) + strlen(file) + 1;
	char *path = malloc(len);
	if (!path)
		return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", r->name);
	snprintf(path, len, "%s%s%s", r->root, dir, file);
	const struct vgg__zip_entry *e = vgg__zip_find(r->zip, path);
	free(path);
	if (!e)
		return VGG_OK;
	/* A storage is inflated again for each tensor of it: all of them together may inflate
	 * no more than every entry once would, or a few compressed bytes shared by thousands
	 * of tensors would take hours. */
	uint64_t limit = r->size > UINT64_MAX / VGG__ZIP_MAX_RATIO ? UINT64_MAX
	                 : (uint64_t)r->size * VGG__ZIP_MAX_RATIO;
	if (e->method != 0 && e->usize > limit - r->inflated)
		return vgg__fail(err, VGG_ERANGE, "'%s': its tensors inflate the storages they share "
		                 "to more than the file's size allows", r->name);
	if (e->method != 0)
		r->inflated += e->usize;
	return vgg__zip_read(r->zip, e, bytes, owned, size, err);
}

static int zip_tensor(struct reader *r, const char *name, const struct vgg__py *t,
                      vgg_error *err)
{
	const struct vgg__py *s = t->u.tensor.storage;
	const char *key = s->u.storage.key->u.str.s;
	const unsigned char *bytes;
	void *owned;
	uint64_t size = 0, need;
	int rc = read_entry(r, "data/", key, &bytes, &owned, &size, err);
	if (!rc && !bytes)
		rc = vgg__fail(err, VGG_EPARSE, "'%s': tensor '%s': its storage '%sdata/%.200s' is "
		               "missing", r->name, name, r->root, key);
	else if (!rc && (__builtin_mul_overflow(s->u.storage.numel,
	                                        element_size(s->u.storage.dtype), &need) ||
	                 need != size))
		rc = vgg__fail(err, VGG_EPARSE, "'%s': storage '%sdata/%.200s' holds %llu bytes, "
		               "not the %llu bytes of its %llu elements", r->name, r->root, key,
		               (unsigned long long)size, (unsigned long long)need,
		               (unsigned long long)s->u.storage.numel);
	/* An inflated entry is freed below: its tensors are copied out of it. */
	if (!rc)
		rc = add_tensor(r, name, t, bytes, s->u.storage.numel, !owned, err);
	free(owned);
	return rc;
}

/* ---- The legacy form ---- */

static int compare_keys(const struct vgg__py *a, const struct vgg__py *b)
{
	size_t n = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
	int c = memcmp(a->u.str.s, b->u.str.s, n);
	return c ? c : (a->u.str.len > b->u.str.len) - (a->u.str.len < b->u.str.len);
}

static int compare_roots(const void *a, const void *b)
{
	return compare_keys(((const struct root *)a)->key, ((const struct root *)b)->key);
}

static struct root *find_root(const struct reader *r, const struct vgg__py *key)
{
	struct root probe = {.key = key};
	return bsearch(&probe, r->roots, r->nroots, sizeof *r->roots, compare_roots);
}

/* One entry per root storage the persistent ids name, with its type and size. */
static int collect_roots(struct reader *r, vgg_error *err)
{
	size_t n = vgg__pickle_storage_count(r->pickle);
	r->roots = calloc(n ? n : 1, sizeof *r->roots);
	if (!r->roots)
		return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", r->name);
	for (size_t i = 0; i < n; i++) {
		const struct vgg__py *s = vgg__pickle_storage(r->pickle, i);
		r->roots[i] = (struct root){s->u.storage.key, s->u.storage.dtype, s->u.storage.numel,
		                            NULL};
	}
	qsort(r->roots, n, sizeof *r->roots, compare_roots);
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (kept && compare_keys(r->roots[kept - 1].key, r->roots[i].key) == 0) {
			if (r->roots[kept - 1].dtype != r->roots[i].dtype ||
			    r->roots[kept - 1].numel != r->roots[i].numel)
				return vgg__fail(err, VGG_EPARSE, "'%s': storage '%.200s' is given two "
				                 "types or sizes", r->name, r->roots[i].key->u.str.s);
			continue;
		}
		r->roots[kept++] = r->roots[i];
	}
	r->nroots = kept;
	return VGG_OK;
}

/* The data section: per listed key, an int64 count and the elements. */
static int read_storages(struct reader *r, const struct vgg__py *keys, size_t pos,
                         vgg_error *err)
{
	if (keys->kind != VGG__PY_LIST)
		return vgg__fail(err, VGG_EPARSE, "'%s': the storage keys are %s, not a list",
		                 r->name, vgg__py_kind_name(keys->kind));
	for (size_t i = 0; i < keys->u.seq.count; i++) {
		const struct vgg__py *key = keys->u.seq.items[i];
		if (key->kind != VGG__PY_STRING)
			return vgg__fail(err, VGG_EPARSE, "'%s': a storage key is %s, not a string",
			                 r->name, vgg__py_kind_name(key->kind));
		struct root *root = find_root(r, key);
		if (!root || root->bytes)
			return vgg__fail(err, VGG_EPARSE, "'%s': storage key '%.200s' is %s", r->name,
			                 key->u.str.s, root ? "listed twice" : "not used by any tensor");
		uint64_t count = 0, bytes;
		if (r->size - pos < 8)
			return vgg__fail(err, VGG_EPARSE, "'%s': storage '%.200s' runs past the end of "
			                 "the file (truncated?)", r->name, key->u.str.s);
		for (int b = 7; b >= 0; b--)
			count = count << 8 | r->data[pos + (size_t)b];
		pos += 8;
		if (count != root->numel)
			return vgg__fail(err, VGG_EPARSE, "'%s': storage '%.200s' holds %llu elements, "
			                 "not %llu", r->name, key->u.str.s, (unsigned long long)count,
			                 (unsigned long long)root->numel);
		if (__builtin_mul_overflow(count, element_size(root->dtype), &bytes) ||
		    bytes > r->size - pos)
			return vgg__fail(err, VGG_EPARSE, "'%s': storage '%.200s' runs past the end of "
			                 "the file (truncated?)", r->name, key->u.str.s);
		root->bytes = r->data + pos;
		pos += (size_t)bytes;
	}
	return VGG_OK;
}

static int legacy_tensor(struct reader *r, const char *name, const struct vgg__py *t,
                         vgg_error *err)
{
	const struct vgg__py *s = t->u.tensor.storage;
	const struct root *root = find_root(r, s->u.storage.key);
	if (!root || !root->bytes)
		return vgg__fail(err, VGG_EPARSE, "'%s': tensor '%s': storage '%.200s' is not in "
		                 "the file", r->name, name, s->u.storage.key->u.str.s);
	return add_tensor(r, name, t, root->bytes + s->u.storage.view_offset *
	                  element_size(s->u.storage.dtype), s->u.storage.view_numel, 1, err);
}

/* ---- Both forms ---- */

/* The state_dict's tensors, in its order, into r->set. */
static int read_state_dict(struct reader *r, const struct vgg__py *obj, vgg_error *err)
{
	static const char *const wrappers[] = {"state_dict", "model_state_dict", "model"};
	if (obj->kind != VGG__PY_DICT)
		return vgg__fail(err, VGG_EPARSE, "'%s': holds %s, not a state_dict", r->name,
		                 vgg__py_kind_name(obj->kind));
	const char *hint = ": neither a state_dict nor a checkpoint holding one under "
	                   "state_dict, model_state_dict or model";
	for (size_t i = 0; i < sizeof wrappers / sizeof *wrappers; i++) {
		const struct vgg__py *inner = vgg__py_dict_get(obj, wrappers[i]);
		if (inner && inner->kind == VGG__PY_DICT) {
			obj = inner;
			hint = "";
			break;
		}
	}
	struct vgg__py *const *items = obj->u.seq.items;
	size_t n = obj->u.seq.count / 2;
	int strip = n > 0;
	for (size_t i = 0; i < n; i++) {
		const struct vgg__py *key = items[2 * i], *value = items[2 * i + 1];
		if (key->kind != VGG__PY_STRING)
			return vgg__fail(err, VGG_EPARSE, "'%s': a state_dict key is %s, not a string",
			                 r->name, vgg__py_kind_name(key->kind));
		if (strlen(key->u.str.s) != key->u.str.len)
			return vgg__fail(err, VGG_EPARSE, "'%s': a state_dict key holds a NUL byte",
			                 r->name);
		if (value->kind != VGG__PY_TENSOR)
			return vgg__fail(err, VGG_EPARSE, "'%s': entry '%.100s' is %s, not a tensor%s",
			                 r->name, key->u.str.s, vgg__py_kind_name(value->kind), hint);
		strip &= strncmp(key->u.str.s, MODULE_PREFIX, strlen(MODULE_PREFIX)) == 0;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = items[2 * i]->u.str.s + (strip ? strlen(MODULE_PREFIX) : 0);
		const struct vgg__py *t = items[2 * i + 1];
		if (!is_float(t->u.tensor.storage->u.storage.dtype))
			continue;
		int rc = r->zip ? zip_tensor(r, name, t, err) : legacy_tensor(r, name, t, err);
		if (rc)
			return rc;
	}
	if (!vgg_tensor_set_count(r->set))
		return vgg__fail(err, VGG_EPARSE, "'%s': the state_dict holds no float tensors",
		                 r->name);
	return VGG_OK;
}

static int read_zip(struct reader *r, vgg_error *err)
{
	int rc = vgg__zip_open(r->data, r->size, r->name, &r->zip, err);
	if (rc)
		return rc;
	const char *first = r->zip->count ? r->zip->entries[0].name : "";
	const char *slash = strchr(first, '/');
	if (!slash)
		return vgg__fail(err, VGG_EPARSE, "'%s': not a PyTorch zip archive: its first entry "
		                 "'%.200s' is not in a folder", r->name, first);
	if (!(r->root = strndup(first, (size_t)(slash - first) + 1)))
		return vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", r->name);
	const unsigned char *bytes;
	void *owned;
	uint64_t size;
	if ((rc = read_entry(r, "", "byteorder", &bytes, &owned, &size, err)))
		return rc;
	int little = !bytes || (size == 6 && memcmp(bytes, "little", 6) == 0);
	free(owned);
	if (!little)
		return vgg__fail(err, VGG_EPARSE, "'%s': its storages are not little-endian, the "
		                 "only byte order read", r->name);
	if ((rc = read_entry(r, "", "data.pkl", &bytes, &owned, &size, err)))
		return rc;
	if (!bytes)
		return vgg__fail(err, VGG_EPARSE, "'%s': not a PyTorch zip archive: no '%sdata.pkl'",
		                 r->name, r->root);
	const struct vgg__py *obj;
	size_t used;
	rc = vgg__pickle_load(r->pickle, bytes, (size_t)size, &used, &obj, err);
	free(owned);
	return rc ? rc : read_state_dict(r, obj, err);
}

static int read_legacy(struct reader *r, vgg_error *err)
{
	const struct vgg__py *version, *info, *obj, *keys;
	size_t pos = sizeof LEGACY_MAGIC, used;
	int rc = vgg__pickle_load(r->pickle, r->data + pos, r->size - pos, &used, &version, err);
	if (rc)
		return rc;
	pos += used;
	if (version->kind != VGG__PY_INT || version->u.i != LEGACY_VERSION)
		return vgg__fail(err, VGG_EPARSE, "'%s': legacy protocol version is not %d", r->name,
		                 LEGACY_VERSION);
	if ((rc = vgg__pickle_load(r->pickle, r->data + pos, r->size - pos, &used, &info, err)))
		return rc;
	pos += used;
	const struct vgg__py *little = info->kind == VGG__PY_DICT ?
	                               vgg__py_dict_get(info, "little_endian") : NULL;
	if (little && (little->kind != VGG__PY_BOOL || !little->u.i))
		return vgg__fail(err, VGG_EPARSE, "'%s': its storages are not little-endian, the "
		                 "only byte order read", r->name);
	if ((rc = vgg__pickle_load(r->pickle, r->data + pos, r->size - pos, &used, &obj, err)))
		return rc;
	pos += used;
	if ((rc = vgg__pickle_load(r->pickle, r->data + pos, r->size - pos, &used, &keys, err)))
		return rc;
	pos += used;
	if ((rc = collect_roots(r, err)) || (rc = read_storages(r, keys, pos, err)))
		return rc;
	return read_state_dict(r, obj, err);
}

int vgg_torch_read(const void *data, size_t size, const char *name, vgg_tensor_set **out,
                   vgg_error *err)
{
	*out = NULL;
	struct reader r = {.name = name, .data = data, .size = size};
	int legacy = size >= sizeof LEGACY_MAGIC && memcmp(data, LEGACY_MAGIC, sizeof LEGACY_MAGIC) == 0;
	if (!legacy && (size < 4 || memcmp(data, "PK\3\4", 4) != 0))
		return vgg__fail(err, VGG_EPARSE, "'%s': not a PyTorch file (neither a zip archive "
		                 "nor a legacy pickle)", name);
	r.pickle = vgg__pickle_new(name);
	r.set = vgg_tensor_set_new();
	int rc = !r.pickle || !r.set ? vgg__fail(err, VGG_ENOMEM, "out of memory reading '%s'", name) :
	         legacy ? read_legacy(&r, err) : read_zip(&r, err);
	vgg__pickle_free(r.pickle);
	vgg__zip_free(r.zip);
	free(r.root);
	free(r.roots);
	if (rc) {
		vgg_tensor_set_free(r.set);
		return rc;
	}
	*out = r.set;
	return VGG_OK;
}

static int ends_with_data_pkl(const char *name, size_t len)
{
	static const char suffix[] = "data.pkl";
	size_t n = sizeof suffix - 1;
	return len >= n && memcmp(name + len - n, suffix, n) == 0 &&
	       (len == n || name[len - n - 1] == '/');
}

int vgg_torch_detect(const void *data, size_t size)
{
	const unsigned char *d = data;
	if (size >= sizeof LEGACY_MAGIC && memcmp(d, LEGACY_MAGIC, sizeof LEGACY_MAGIC) == 0)
		return 1;
	if (size < 30 || memcmp(d, "PK\3\4", 4) != 0)
		return 0;
	/* torch writes data.pkl first; a truncated file is still told by its first entry. */
	size_t n = (size_t)d[26] | (size_t)d[27] << 8;
	if (n <= size - 30 && ends_with_data_pkl((const char *)d + 30, n))
		return 1;
	struct vgg__zip *zip;
	if (vgg__zip_open(data, size, "", &zip, NULL))
		return 0;
	int found = 0;
	for (size_t i = 0; i < zip->count && !found; i++)
		found = ends_with_data_pkl(zip->entries[i].name, strlen(zip->entries[i].name));
	vgg__zip_free(zip);
	return found;
}
