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

/* ---- Threads (parallel.c) ---- */

#define VGG__MAX_THREADS 64
/* The thread count vgg_set_threads chose (1 until it is called). */
int vgg__threads(void);
/* While on, OpenBLAS runs on one thread between parallel regions as well as in them.  A
 * training pass holds it so: the GEMMs of its FC layers, left to OpenBLAS's threads, left
 * a worker spinning (as OpenBLAS's idle workers do for a while) through the convs that
 * followed on our threads, and that cost 15% of a step on two cores; the FC layers are a
 * hundredth of the work. */
void vgg__blas_hold(int on);
/* Runs fn(ctx, i) for each i in [0, n), n <= VGG__MAX_THREADS, each on its own thread (the
 * caller's for 0) with OpenBLAS single-threaded meanwhile; returns when all have finished. */
void vgg__parallel(int n, void (*fn)(void *ctx, int i), void *ctx);

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

/* Reads the whole of `path` into a malloc'd buffer (image.c); pipes work too. */
int vgg__read_file(const char *path, unsigned char **out, size_t *size, vgg_error *err);

/*
 * VGG_MAX_PIXELS (default 100000000), the most pixels an image the library holds may have:
 * decoded, resized, or a net's input (image.c).  Read at each call, so that a program or a
 * test may change it; VGG_ERANGE, `context` starting the message, when it is no whole
 * number above 0.
 */
int vgg__max_pixels(const char *context, uint64_t *out, vgg_error *err);

/*
 * The library's random numbers (rng.c): xoshiro256** seeded through splitmix64 from a key
 * (seed, a, b).  Distinct keys give independent streams, so a draw depends on its key and
 * not on which thread makes it or when.  Keys in use: (seed, epoch, image) for an image's
 * augmentation and (seed, epoch, VGG__RNG_SHUFFLE) for an epoch's order (loader.c),
 * (seed, VGG__RNG_SHUFFLE, VGG__RNG_SHUFFLE) for a split and (seed, VGG__RNG_STATS,
 * VGG__RNG_SHUFFLE) for the sample of vgg_dataset_stats (dataset.c); (seed, VGG__RNG_INIT,
 * 0) for initial weights and (step seed, VGG__RNG_DROPOUT, 0) for a step's dropout masks
 * (train.c).
 */
#define VGG__RNG_SHUFFLE UINT64_MAX
#define VGG__RNG_STATS (UINT64_MAX - 1)
#define VGG__RNG_INIT (UINT64_MAX - 2)
#define VGG__RNG_DROPOUT (UINT64_MAX - 3)
struct vgg__rng {
	uint64_t s[4];
};
void vgg__rng_seed(struct vgg__rng *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t vgg__rng_next(struct vgg__rng *r);
/* Uniform in [0, 1), 53 random bits. */
double vgg__rng_uniform(struct vgg__rng *r);
/* Uniform in [0, n), unbiased; n >= 1. */
uint64_t vgg__rng_below(struct vgg__rng *r, uint64_t n);
/* Standard normal. */
double vgg__rng_normal(struct vgg__rng *r);
/* perm = a uniformly random permutation of 0 .. n-1 from the key (seed, a, b). */
void vgg__rng_permutation(size_t *perm, size_t n, uint64_t seed, uint64_t a, uint64_t b);

/* A stream being read into memory (stream.c); zeroed to start, data malloc'd. */
struct vgg__stream_buf {
	unsigned char *data;
	size_t len, cap;
};
#define VGG__STREAM_MAX (SIZE_MAX / 4)
/* Reads until b->len is `want` (at most VGG__STREAM_MAX) or the stream ends, growing the
 * buffer as bytes come; fails only on a read error or when out of memory. */
int vgg__stream_fill(FILE *f, const char *name, struct vgg__stream_buf *b, size_t want,
                     vgg_error *err);
/* Whether f has no byte left (one is read and put back). */
int vgg__stream_at_end(FILE *f);
/* The name a weights file was opened or read under. */
const char *vgg__weights_name(const vgg_weights *w);

#endif
