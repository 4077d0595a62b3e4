/* tensor_set.c: named float32 tensors in memory, in the order they were added, each held
 * in the set's own memory or borrowed from the caller's (a mapped input file).  Names are
 * found through a hash table, so that a file of millions of tensors, each checked against
 * the names before it, costs time in proportion to its length and not to its square. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct slot {
	vgg_set_tensor t;          /* first: a tensor's address is its slot's */
	float *owned;              /* t.data when the set owns it, else NULL */
};

struct vgg_tensor_set {
	size_t count, cap;
	struct slot *slots;
	/* Open addressing with linear probing: slot index + 1, or 0 for an empty entry; a
	 * power of two long, at most half full. */
	size_t *table, table_len;
	uint64_t seed;             /* so that a file cannot be made of names that collide */
};

vgg_tensor_set *vgg_tensor_set_new(void)
{
	vgg_tensor_set *set = calloc(1, sizeof *set);
	if (set) {
		/* Where the set lies is as random as the address space layout, which is enough to
		 * keep names crafted offline from colliding. */
		uint64_t z = (uint64_t)(uintptr_t)set + 0x9e3779b97f4a7c15u;
		z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9u;
		z = (z ^ z >> 27) * 0x94d049bb133111ebu;
		set->seed = z ^ z >> 31;
	}
	return set;
}

void vgg_tensor_set_free(vgg_tensor_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->count; i++) {
		free((char *)set->slots[i].t.name);
		free(set->slots[i].owned);
	}
	free(set->slots);
	free(set->table);
	free(set);
}

/* FNV-1a from the set's seed. */
static size_t hash(const vgg_tensor_set *set, const char *name)
{
	uint64_t h = 0xcbf29ce484222325u ^ set->seed;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3u;
	return (size_t)(h ^ h >> 32);
}

/* Where `name` is in the table, or the empty entry where it would go. */
static size_t *probe(const vgg_tensor_set *set, const char *name)
{
	size_t mask = set->table_len - 1;
	for (size_t i = hash(set, name) & mask;; i = (i + 1) & mask)
		if (!set->table[i] || strcmp(set->slots[set->table[i] - 1].t.name, name) == 0)
			return &set->table[i];
}

/* Makes room in the table for one more name; 0 when out of memory. */
static int table_reserve(vgg_tensor_set *set)
{
	if (2 * (set->count + 1) <= set->table_len)
		return 1;
	size_t len = set->table_len ? 2 * set->table_len : 64;
	size_t *table = len <= SIZE_MAX / sizeof *table ? calloc(len, sizeof *table) : NULL;
	if (!table)
		return 0;
	free(set->table);
	set->table = table;
	set->table_len = len;
	for (size_t i = 0; i < set->count; i++)
		*probe(set, set->slots[i].t.name) = i + 1;
	return 1;
}

static int count_elements(const char *name, int ndim, const int64_t *shape, uint64_t *numel,
                          vgg_error *err)
{
	*numel = 1;
	if (ndim < 0 || ndim > VGG_MAX_DIMS)
		return vgg__fail(err, VGG_ERANGE, "tensor '%s': %d dimensions", name, ndim);
	for (int i = 0; i < ndim; i++)
		if (shape[i] < 0 || __builtin_mul_overflow(*numel, (uint64_t)shape[i], numel))
			return vgg__fail(err, VGG_ERANGE, "tensor '%s': bad shape", name);
	return VGG_OK;
}

/* Adds `data`, which the set owns when `owned` (== data) is not NULL; frees `owned` on
 * failure. */
static int add(vgg_tensor_set *set, const char *name, int ndim, const int64_t *shape,
               const float *data, float *owned, vgg_error *err)
{
	uint64_t numel;
	int rc = count_elements(name, ndim, shape, &numel, err);
	if (!rc && vgg_tensor_set_find(set, name))
		rc = vgg__fail(err, VGG_EPARSE, "tensor '%s' is given twice", name);
	if (!rc && !table_reserve(set))
		rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
	if (!rc && set->count == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 32;
		struct slot *grown = realloc(set->slots, cap * sizeof *grown);
		if (grown) {
			set->slots = grown;
			set->cap = cap;
		} else {
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
		}
	}
	struct slot *s = rc ? NULL : &set->slots[set->count];
	if (s) {
		memset(s, 0, sizeof *s);
		if (!(s->t.name = strdup(name)))
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
	}
	if (rc) {
		free(owned);
		return rc;
	}
	s->t.ndim = ndim;
	memcpy(s->t.shape, shape, (size_t)ndim * sizeof *shape);
	s->t.numel = numel;
	s->t.data = data;
	s->owned = owned;
	*probe(set, s->t.name) = ++set->count;
	return VGG_OK;
}

int vgg_tensor_set_add(vgg_tensor_set *set, const char *name, int ndim, const int64_t *shape,
                       float *data, vgg_error *err)
{
	return add(set, name, ndim, shape, data, data, err);
}

static int host_little_endian(void)
{
	const uint16_t probe = 1;
	return *(const unsigned char *)&probe == 1;
}

int vgg_tensor_set_borrow(vgg_tensor_set *set, const char *name, int ndim,
                          const int64_t *shape, const void *bytes, vgg_error *err)
{
	uint64_t numel;
	int rc = count_elements(name, ndim, shape, &numel, err);
	if (rc)
		return rc;
	if (host_little_endian() && (uintptr_t)bytes % _Alignof(float) == 0)
		return add(set, name, ndim, shape, bytes, NULL, err);
	/* The bytes back numel floats in the caller's memory, so the size fits size_t. */
	float *copy = malloc(numel ? (size_t)numel * sizeof *copy : 1);
	if (!copy)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	vgg__floats_from_le(copy, bytes, numel);
	return add(set, name, ndim, shape, copy, copy, err);
}

void vgg__tensor_set_replace(vgg_tensor_set *set, const vgg_set_tensor *t, float *data)
{
	struct slot *s = &set->slots[(const struct slot *)(const void *)t - set->slots];
	free(s->owned);
	s->t.data = s->owned = data;
}

size_t vgg_tensor_set_count(const vgg_tensor_set *set)
{
	return set->count;
}

const vgg_set_tensor *vgg_tensor_set_at(const vgg_tensor_set *set, size_t i)
{
	return i < set->count ? &set->slots[i].t : NULL;
}

const vgg_set_tensor *vgg_tensor_set_find(const vgg_tensor_set *set, const char *name)
{
	size_t i = set->table_len ? *probe(set, name) : 0;
	return i ? &set->slots[i - 1].t : NULL;
}
