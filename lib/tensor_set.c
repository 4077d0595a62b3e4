/* tensor_set.c: named float32 tensors in memory, in the order they were added, each held
 * in the set's own memory or borrowed from the caller's (a mapped input file). */
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
};

vgg_tensor_set *vgg_tensor_set_new(void)
{
	return calloc(1, sizeof(vgg_tensor_set));
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
	free(set);
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
	set->count++;
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
	for (size_t i = 0; i < set->count; i++)
		if (strcmp(set->slots[i].t.name, name) == 0)
			return &set->slots[i].t;
	return NULL;
}
