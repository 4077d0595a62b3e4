/* tensor_set.c: named float32 tensors in memory, in the order they were added. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct vgg_tensor_set {
	size_t count, cap;
	vgg_set_tensor *tensors;
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
		free((char *)set->tensors[i].name);
		free(set->tensors[i].data);
	}
	free(set->tensors);
	free(set);
}

int vgg_tensor_set_add(vgg_tensor_set *set, const char *name, int ndim, const int64_t *shape,
                       float *data, vgg_error *err)
{
	uint64_t numel = 1;
	if (ndim < 0 || ndim > VGG_MAX_DIMS) {
		free(data);
		return vgg__fail(err, VGG_ERANGE, "tensor '%s': %d dimensions", name, ndim);
	}
	for (int i = 0; i < ndim; i++) {
		if (shape[i] < 0 || __builtin_mul_overflow(numel, (uint64_t)shape[i], &numel)) {
			free(data);
			return vgg__fail(err, VGG_ERANGE, "tensor '%s': bad shape", name);
		}
	}
	if (vgg_tensor_set_find(set, name)) {
		free(data);
		return vgg__fail(err, VGG_EPARSE, "tensor '%s' is given twice", name);
	}
	if (set->count == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 32;
		vgg_set_tensor *grown = realloc(set->tensors, cap * sizeof *grown);
		if (!grown) {
			free(data);
			return vgg__fail(err, VGG_ENOMEM, "out of memory");
		}
		set->tensors = grown;
		set->cap = cap;
	}
	vgg_set_tensor *t = &set->tensors[set->count];
	memset(t, 0, sizeof *t);
	if (!(t->name = strdup(name))) {
		free(data);
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	}
	t->ndim = ndim;
	memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
	t->numel = numel;
	t->data = data;
	set->count++;
	return VGG_OK;
}

size_t vgg_tensor_set_count(const vgg_tensor_set *set)
{
	return set->count;
}

const vgg_set_tensor *vgg_tensor_set_at(const vgg_tensor_set *set, size_t i)
{
	return i < set->count ? &set->tensors[i] : NULL;
}

const vgg_set_tensor *vgg_tensor_set_find(const vgg_tensor_set *set, const char *name)
{
	for (size_t i = 0; i < set->count; i++)
		if (strcmp(set->tensors[i].name, name) == 0)
			return &set->tensors[i];
	return NULL;
}
