/* internal.h: what the library's files share with each other and with no one else. */
#ifndef VGG_INTERNAL_H
#define VGG_INTERNAL_H

#include "vgg.h"

#if defined(__GNUC__)
#define VGG__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VGG__PRINTF(f, a)
#endif

/* Fills `err` (when not NULL) and returns `code`, so callers can `return vgg__fail(...)`. */
int vgg__fail(vgg_error *err, int code, const char *fmt, ...) VGG__PRINTF(3, 4);
/* The same for what is wrong with a file: "'FILE': CONTEXT" and then the message. */
int vgg__fail_file(vgg_error *err, int code, const char *file, const char *context,
                   const char *fmt, ...) VGG__PRINTF(5, 6);

/* One layer as written in the notation, before any input size is known. */
struct vgg__layer_spec {
	enum vgg_layer_kind kind;
	int kernel;       /* conv: K of convK-N */
	int width;        /* conv: output channels; FC: outputs */
	int batch_norm;
	char name[32];
};

struct vgg_config {
	char *name;
	int in_c, in_h, in_w;
	int pool_ceil;    /* pooled sizes rounded up, as Caffe does; else down, as PyTorch */
	size_t count;
	struct vgg__layer_spec *layers;
};

/* The files of share/vgg, embedded by lib/embed.awk; a NULL name ends the table. */
struct vgg__builtin {
	const char *name, *text;
};
extern const struct vgg__builtin vgg__builtins[];

/* A file of share/vgg by its name there without extension ("A-LRN", "labels/imagenet"). */
const char *vgg__builtin_text(const char *file_name);

/* A tensor gathered by a vgg_weights_writer, which each output format serializes. */
struct vgg__pending {
	char *name;
	int ndim;
	int64_t shape[VGG_MAX_DIMS];
	const float *data;
	uint64_t numel;
};
size_t vgg__writer_count(const vgg_weights_writer *wr);
const struct vgg__pending *vgg__writer_tensor(const vgg_weights_writer *wr, size_t i);
/* Writes n floats little-endian; 0 on a short write. */
int vgg__write_floats(FILE *f, const float *data, uint64_t n);
/* n float32 little-endian values from `src` (any alignment) into dst. */
void vgg__floats_from_le(float *dst, const void *src, uint64_t n);

/* Gives tensor `t` of `set` new data (malloc'd, t->numel floats, now the set's), freeing
 * what the set owned of it before. */
void vgg__tensor_set_replace(vgg_tensor_set *set, const vgg_set_tensor *t, float *data);

#endif
