/*
 * pickle.h: a small unpickler that builds values and never executes anything, for the
 * pickles torch.save writes (torch.c).  Only the globals a state_dict needs are known;
 * any other is refused by name.
 */
#ifndef VGG_PICKLE_H
#define VGG_PICKLE_H

#include "internal.h"

enum vgg__py_kind {
	VGG__PY_NONE,
	VGG__PY_BOOL,
	VGG__PY_INT,
	VGG__PY_FLOAT,
	VGG__PY_STRING,   /* str, and Python 2's str (BINSTRING) */
	VGG__PY_TUPLE,
	VGG__PY_LIST,
	VGG__PY_DICT,     /* dict and collections.OrderedDict: both keep insertion order */
	VGG__PY_GLOBAL,   /* an allowed callable or storage type */
	VGG__PY_STORAGE,  /* a persistent id ('storage', type, key, location, numel[, view]) */
	VGG__PY_TENSOR    /* torch._utils._rebuild_tensor(_v2) applied */
};

/* Which allowed global a VGG__PY_GLOBAL is. */
enum vgg__py_global {
	VGG__GLOBAL_ORDERED_DICT,
	VGG__GLOBAL_REBUILD_TENSOR,     /* (storage, offset, size, stride), torch < 0.4 */
	VGG__GLOBAL_REBUILD_TENSOR_V2,  /* (storage, offset, size, stride, requires_grad,
	                                   backward_hooks[, metadata]) */
	VGG__GLOBAL_REBUILD_PARAMETER,  /* (tensor, requires_grad, backward_hooks) */
	VGG__GLOBAL_STORAGE             /* torch.FloatStorage and its kin */
};

/* A value; every one is owned by the vgg__pickle that made it. */
struct vgg__py {
	enum vgg__py_kind kind;
	union {
		int64_t i;                          /* BOOL, INT */
		double f;                           /* FLOAT */
		struct {
			const char *s;              /* NUL-terminated; len counts NULs inside */
			size_t len;
		} str;
		struct {
			struct vgg__py **items;     /* a dict's keys and values alternate */
			size_t count, cap;
		} seq;                              /* TUPLE, LIST, DICT */
		struct {
			enum vgg__py_global which;
			enum vgg_dtype dtype;       /* of a storage type */
		} global;
		struct {
			enum vgg_dtype dtype;
			const struct vgg__py *key;  /* the root storage's key, a STRING */
			uint64_t numel;             /* the root storage's element count */
			uint64_t view_offset;       /* a legacy view: its first element in the root */
			uint64_t view_numel;        /* and its element count; else 0 and numel */
		} storage;
		struct {
			const struct vgg__py *storage;       /* a STORAGE */
			uint64_t offset;                     /* in elements, within the storage */
			const struct vgg__py *size, *stride; /* TUPLEs of as many INTs >= 0, at
			                                        most VGG_MAX_DIMS */
		} tensor;
	} u;
};

/* An unpickler: the owner of every value and storage reference it makes. */
struct vgg__pickle;

/* `name` (the file, for messages) is not copied.  NULL when out of memory. */
struct vgg__pickle *vgg__pickle_new(const char *name);
void vgg__pickle_free(struct vgg__pickle *p);

/*
 * Unpickles the pickle at the start of data[0..size): *value gets its result and *used the
 * bytes up to and including its STOP.  Values stay valid until `p` is freed, so the
 * results of several pickles read through one `p` (the legacy format) can be used together.
 */
int vgg__pickle_load(struct vgg__pickle *p, const unsigned char *data, size_t size,
                     size_t *used, const struct vgg__py **value, vgg_error *err);

/* Every storage reference made so far, in the order of the persistent ids. */
size_t vgg__pickle_storage_count(const struct vgg__pickle *p);
const struct vgg__py *vgg__pickle_storage(const struct vgg__pickle *p, size_t i);

/* The value of a dict's string key `key` (the last one when repeated), or NULL. */
const struct vgg__py *vgg__py_dict_get(const struct vgg__py *dict, const char *key);
/* "None", "an int", "a tensor", ... for messages. */
const char *vgg__py_kind_name(enum vgg__py_kind kind);
/* Whether `v` is a STRING equal to `s`. */
int vgg__py_is_string(const struct vgg__py *v, const char *s);

#endif
