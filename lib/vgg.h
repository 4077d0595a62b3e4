/*
 * vgg.h: the core library of the vgg suite.
 *
 * Ownership, stated once for the whole API:
 * - An object made by vgg_x_new / vgg_x_load / vgg_x_parse belongs to the caller, who
 *   releases it with vgg_x_free.  Every vgg_x_free accepts NULL and does nothing.
 * - A pointer returned by an accessor (a name, a layer's info) points into the object it
 *   was read from and stays valid until that object is freed or changed.
 * - Functions that can fail return an int status: VGG_OK (0) or a negative VGG_E* code.
 *   When they take a `vgg_error *`, it may be NULL; otherwise it receives the code and a
 *   one-line message without the program name, ready for `PROG: MESSAGE`.
 * - The library never exits and never writes to stdout or stderr.
 */
#ifndef VGG_H
#define VGG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VGG_VERSION "0.1.0"

enum vgg_status {
	VGG_OK = 0,
	VGG_ENOMEM = -1,  /* out of memory */
	VGG_EIO = -2,     /* a file could not be read or written */
	VGG_EPARSE = -3,  /* text in the notation is malformed */
	VGG_ESHAPE = -4,  /* the network does not fit the input size */
	VGG_ERANGE = -5,  /* a number is out of its allowed range */
	VGG_ENOTFOUND = -6 /* a named layer or model does not exist */
};

typedef struct vgg_error {
	int code;
	char msg[512];
} vgg_error;

/* A short description of a status code, e.g. "out of memory". */
const char *vgg_strerror(int code);

/* ---- Network configurations in the paper's notation (vgg-config(5)) ---- */

typedef struct vgg_config vgg_config;

/* Resolves MODEL as the tools do: an existing file, else a built-in name, else inline text. */
int vgg_config_load(const char *model, vgg_config **out, vgg_error *err);
/* Parses notation; `origin` names the text in error messages (a file name or "<inline>"). */
int vgg_config_parse(const char *text, const char *origin, vgg_config **out, vgg_error *err);
/* A built-in config by name (A, A-LRN, B, C, D, E, vgg11/13/16/19, any with "_bn"). */
int vgg_config_builtin(const char *name, vgg_config **out, vgg_error *err);
void vgg_config_free(vgg_config *cfg);

/* The names of the built-in configs, NULL-terminated (aliases not included). */
const char *const *vgg_config_builtin_names(void);

const char *vgg_config_name(const vgg_config *cfg);
int vgg_config_set_name(vgg_config *cfg, const char *name, vgg_error *err);
/* The input size the net is built for; the FC layers' weights are sized for it. */
void vgg_config_input(const vgg_config *cfg, int *channels, int *height, int *width);
int vgg_config_set_input(vgg_config *cfg, int channels, int height, int width, vgg_error *err);
/* Width of the last FC layer; 0 when the config has no FC layer. */
int vgg_config_classes(const vgg_config *cfg);
int vgg_config_set_classes(vgg_config *cfg, int classes, vgg_error *err);
/* Pooled sizes rounded up (Caffe: a last, partial window) instead of down (PyTorch). */
int vgg_config_pool_ceil(const vgg_config *cfg);
void vgg_config_set_pool_ceil(vgg_config *cfg, int ceil);
/* The config written back in the notation, one layer a line; free() the result. */
char *vgg_config_to_text(const vgg_config *cfg);

/* ---- Layout: every layer's geometry for one input size ---- */

enum vgg_layer_kind {
	VGG_LAYER_CONV,
	VGG_LAYER_LRN,
	VGG_LAYER_POOL,
	VGG_LAYER_FC,
	VGG_LAYER_SOFTMAX
};

/*
 * One layer as the layout sees it.  FC layers are described as the convolutions they are
 * in dense evaluation (fc6 a KxK conv over pool5, later ones 1x1), which is also how their
 * receptive field is defined.  Receptive-field figures are per axis: [0] rows, [1] columns.
 */
typedef struct vgg_layer_info {
	const char *name;          /* Caffe name: conv1_1, norm1, pool1, fc6, prob */
	enum vgg_layer_kind kind;
	int batch_norm;            /* conv followed by batch normalisation */
	int relu;                  /* followed by a ReLU */
	int kernel[2];             /* window size: conv/FC kernel, pool window, 1 otherwise */
	int stride;
	int pad;                   /* zero padding of this layer, each side */
	int in_c, out_c, out_h, out_w;
	uint64_t params;           /* weights + biases (+ BN scale and shift) */
	uint64_t macs;             /* multiply-adds for one image */
	uint64_t memory;           /* bytes of the float32 output for one image */
	int64_t rf[2];             /* receptive-field size in input pixels */
	int64_t jump[2];           /* distance in input pixels between adjacent units */
	int64_t eff_pad[2];        /* effective padding (Araujo et al., 2019) */
	double center[2];          /* input coordinate of unit 0's centre, 0-based pixels */
} vgg_layer_info;

typedef struct vgg_layout vgg_layout;

/*
 * Lays the config out.  With dense == 0 the input is the config's own size; with dense != 0
 * the net is evaluated fully-convolutionally at height x width (FC layers keep the weights
 * the config's own input size gives them) and the class scores form a map.
 */
int vgg_layout_new(const vgg_config *cfg, int dense, int height, int width,
                   vgg_layout **out, vgg_error *err);
void vgg_layout_free(vgg_layout *lay);

size_t vgg_layout_count(const vgg_layout *lay);
const vgg_layer_info *vgg_layout_layer(const vgg_layout *lay, size_t i);
/* The layer named `name` (case-insensitive), or NULL. */
const vgg_layer_info *vgg_layout_find(const vgg_layout *lay, const char *name);
void vgg_layout_input(const vgg_layout *lay, int *channels, int *height, int *width);
uint64_t vgg_layout_total_params(const vgg_layout *lay);
uint64_t vgg_layout_total_macs(const vgg_layout *lay);
uint64_t vgg_layout_total_memory(const vgg_layout *lay);

/* ---- Receptive-field arithmetic ---- */

/* The input pixels unit (y, x) of a layer sees, inclusive bounds; may lie outside the image. */
typedef struct vgg_box {
	int64_t y0, y1, x0, x1;
} vgg_box;

/* Fails with VGG_ERANGE when (y, x) is outside the layer's output. */
int vgg_rf_unit_box(const vgg_layer_info *layer, int64_t y, int64_t x, vgg_box *box,
                    vgg_error *err);
/* The box clipped to a height x width image. */
vgg_box vgg_rf_clip(vgg_box box, int height, int width);
/* Stride-1 3x3 convs needed for a KxK receptive field; VGG_ERANGE unless K is odd and >= 3. */
int vgg_rf_equiv_3x3(int k, int *convs, vgg_error *err);

/* ---- Images: decode (image.c picks jpeg.c, png.c or pnm.c by magic bytes) ---- */

/* A decoded image: 8-bit, rows top to bottom, channels interleaved (gray, or R G B). */
typedef struct vgg_image vgg_image;

/*
 * Decodes JPEG, PNG or binary PNM (P5 PGM, P6 PPM; P4 PBM too) from memory, chosen by the
 * first bytes, not the name.  `name` is used in messages only.  Alpha is dropped (as PIL's
 * convert("RGB") does), palettes expanded, 16-bit samples reduced to their high byte; gray
 * images stay 1 channel.  `min_side` > 0 allows a JPEG to be decoded at 1/2, 1/4 or 1/8 size
 * (libjpeg's DCT scaling) as long as its shorter side stays >= min_side; 0 decodes at full
 * size, which is what exact agreement with PIL needs.
 */
int vgg_image_decode(const void *data, size_t size, const char *name, int min_side,
                     vgg_image **out, vgg_error *err);
/* Reads and decodes a file; refuses files over VGG_MAX_PIXELS' worth of pixels. */
int vgg_image_read(const char *path, int min_side, vgg_image **out, vgg_error *err);
void vgg_image_free(vgg_image *img);
int vgg_image_width(const vgg_image *img);
int vgg_image_height(const vgg_image *img);
int vgg_image_channels(const vgg_image *img); /* 1 or 3 */
const unsigned char *vgg_image_pixels(const vgg_image *img);

/* ---- Preprocessing: image -> the float tensor a net takes (preprocess.c, resize.c) ---- */

enum vgg_resize_filter {
	VGG_RESIZE_PIL_BILINEAR, /* PIL's Image.resize(BILINEAR): antialiased (torchvision) */
	VGG_RESIZE_CV_LINEAR     /* OpenCV's cv::resize(INTER_LINEAR): no antialiasing (Caffe) */
};

typedef struct vgg_preprocess {
	int bgr;                  /* channel order of the net's input: 0 RGB, 1 BGR */
	float scale;              /* multiplies 0..255 pixel values first: 1/255 or 1 */
	float mean[3], std[3];    /* then (x - mean) / std, per channel in the net's order */
	int resize;               /* shorter side resized to this (0: keep the size) */
	int crop_h, crop_w;       /* then a centre crop of this size (0: no crop) */
	enum vgg_resize_filter filter;
} vgg_preprocess;

/* torchvision's ImageNet pipeline: RGB, Resize(256) bilinear antialiased, CenterCrop(224),
 * /255, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225). */
void vgg_preprocess_torchvision(vgg_preprocess *p);
/* Caffe's VGG pipeline: BGR, 0..255, mean pixel B 103.939 G 116.779 R 123.68, std 1,
 * shorter side 256 with OpenCV's linear resize, centre crop 224. */
void vgg_preprocess_caffe(vgg_preprocess *p);

/*
 * Resizes, crops and normalises `img` into a channels x H x W float32 tensor (planar), where
 * `channels` is the net's input: 3 (gray images replicated) or 1 (colour images turned to
 * luma as PIL's convert("L") does).  The resize works on 8-bit pixels exactly as the library
 * named by p->filter does, so results match torchvision's or Caffe's pipelines.  On success
 * *out is malloc'd (the caller frees it) and *h, *w give its size.
 */
int vgg_preprocess_image(const vgg_preprocess *p, const vgg_image *img, int channels,
                         float **out, int *h, int *w, vgg_error *err);

/* ---- Weights files: safetensors, read by mmap (safetensors.c); vgg-weights(5) ---- */

enum vgg_dtype { VGG_DTYPE_F32, VGG_DTYPE_F16, VGG_DTYPE_BF16, VGG_DTYPE_F64, VGG_DTYPE_I64,
                 VGG_DTYPE_I32, VGG_DTYPE_U8, VGG_DTYPE_OTHER };

#define VGG_MAX_DIMS 8

typedef struct vgg_tensor_info {
	const char *name;
	enum vgg_dtype dtype;
	const char *dtype_name;      /* as in the file: "F32", "BF16", ... */
	int ndim;
	int64_t shape[VGG_MAX_DIMS];
	uint64_t numel;
	const void *data;            /* little-endian, row-major; not necessarily aligned */
	uint64_t nbytes;
} vgg_tensor_info;

typedef struct vgg_weights vgg_weights;

/* Maps a safetensors file and checks every offset, dtype and shape against its length. */
int vgg_weights_open(const char *path, vgg_weights **out, vgg_error *err);
/* The same from memory; takes ownership of `data` (malloc'd) on success and on failure. */
int vgg_weights_from_memory(void *data, size_t size, const char *name, vgg_weights **out,
                            vgg_error *err);
void vgg_weights_free(vgg_weights *w);
size_t vgg_weights_count(const vgg_weights *w);
const vgg_tensor_info *vgg_weights_tensor(const vgg_weights *w, size_t i);
const vgg_tensor_info *vgg_weights_find(const vgg_weights *w, const char *name);
/* The values as float32 into dst (numel of them), whatever the dtype; NaN for dtypes
 * that are no numbers we know (BOOL, FP8, unsigned 16 to 64 bits). */
void vgg_tensor_to_float(const vgg_tensor_info *t, float *dst);
int vgg_dtype_is_float(enum vgg_dtype dtype);
/* __metadata__: the value of `key`, or NULL; and all entries by index (sorted by key). */
const char *vgg_weights_meta(const vgg_weights *w, const char *key);
size_t vgg_weights_meta_count(const vgg_weights *w);
void vgg_weights_meta_at(const vgg_weights *w, size_t i, const char **key, const char **value);

/* Writing: tensors and metadata are gathered, then written at once to a temporary file that
 * is renamed over `path`, so a failure never leaves a half-written file. */
typedef struct vgg_weights_writer vgg_weights_writer;
vgg_weights_writer *vgg_weights_writer_new(void);
void vgg_weights_writer_free(vgg_weights_writer *wr);
/* Copies key and value. */
int vgg_weights_writer_meta(vgg_weights_writer *wr, const char *key, const char *value,
                            vgg_error *err);
/* Copies the name; `data` (float32) must stay valid until the writer is written or freed. */
int vgg_weights_writer_add(vgg_weights_writer *wr, const char *name, int ndim,
                           const int64_t *shape, const float *data, vgg_error *err);
int vgg_weights_writer_write(vgg_weights_writer *wr, const char *path, vgg_error *err);
/* The same tensors as a zip-format .pth state_dict (torch_save.c; metadata is not kept),
 * or as DIR/NAME.npy files in a new directory DIR (npy.c). */
int vgg_weights_writer_write_torch(vgg_weights_writer *wr, const char *path, vgg_error *err);
int vgg_weights_writer_write_npy_dir(vgg_weights_writer *wr, const char *dir, vgg_error *err);

/* ---- Tensors as NumPy .npy v1.0 (npy.c); a stream is arrays back to back ---- */

/* Writes one float32 array (C order) to f; fails with VGG_EIO on a short write. */
int vgg_npy_write(FILE *f, int ndim, const int64_t *shape, const float *data, vgg_error *err);
/*
 * Reads the next array of a stream as float32 (from '<f4', '<f8', '|u1' ...).  Returns
 * VGG_OK with *data malloc'd, or VGG_ENOTFOUND at a clean end of the stream.
 */
int vgg_npy_read(FILE *f, const char *name, int *ndim, int64_t shape[VGG_MAX_DIMS],
                 float **data, vgg_error *err);

/* ---- Networks with weights: the forward pass (net.c over conv.c, pool.c, lrn.c, softmax.c) ---- */

typedef struct vgg_net vgg_net;

/*
 * A net from a weights file: the config, preprocessing and labels come from its metadata
 * (vgg-weights(5)), each tensor is checked against the config's shapes, and batch norm is
 * folded into the conv before it.  vgg_net_new takes ownership of `w`, also on failure.
 */
int vgg_net_new(vgg_weights *w, vgg_net **out, vgg_error *err);
int vgg_net_load(const char *path, vgg_net **out, vgg_error *err);
void vgg_net_free(vgg_net *net);
const vgg_config *vgg_net_config(const vgg_net *net);
const vgg_preprocess *vgg_net_preprocess(const vgg_net *net);
/* Class `i`'s label, or NULL when the file has none. */
const char *vgg_net_label(const vgg_net *net, int i);
/* Layer names resolve case-insensitively; the index of `name` in the layout, or -1. */
int vgg_net_layer_index(const vgg_net *net, const char *name);

/*
 * Runs `n` inputs of c x h x w (planar float32, one after another) through the layers after
 * layer `from` (-1: from the image) up to and including layer `to` (-1: the last).  With
 * from >= 0 the input is that layer's output.  A conv or FC layer's output is taken before
 * its ReLU (after its batch norm) when it is the last layer run.  With `dense` the FC layers run as
 * convolutions over inputs of any size; otherwise h x w must be the config's own size.
 * On success *out points to n outputs of shape[1] x shape[2] x shape[3] (shape[0] = n),
 * owned by the net and valid until its next forward pass.
 */
int vgg_net_forward(vgg_net *net, const float *input, int n, int c, int h, int w, int dense,
                    int from, int to, const float **out, int shape[4], vgg_error *err);

/* Threads for the forward pass (OpenBLAS's and ours); 0 means one per core. */
void vgg_set_threads(int threads);

/* ---- Outputs written whole or not at all (output.c) ---- */

/* Opens a temporary file beside `path` for writing; *f is the stream to write to. */
typedef struct vgg_output vgg_output;
int vgg_output_open(const char *path, vgg_output **out, FILE **f, vgg_error *err);
/* Flushes, syncs and renames the file over `path`; frees `o` whatever happens. */
int vgg_output_commit(vgg_output *o, vgg_error *err);
/* Closes and removes the temporary file; frees `o`.  NULL is harmless. */
void vgg_output_abort(vgg_output *o);

/* ---- Foreign weights, read into a set of named float32 tensors (tensor_set.c) ----
 * The converter's readers (caffe.c, darknet.c; torch.c over pickle.c and zip.c) fill one;
 * only vgg-convert knows their formats, and the net reads our weights files alone.
 * A reader's set may point into the bytes it read (float32 little-endian values, aligned,
 * on a little-endian host, are not copied): keep them, unchanged, until the set is freed. */

typedef struct vgg_tensor_set vgg_tensor_set;

typedef struct vgg_set_tensor {
	const char *name;
	int ndim;
	int64_t shape[VGG_MAX_DIMS];
	uint64_t numel;
	const float *data;         /* the set's own, or the caller's (vgg_tensor_set_borrow) */
} vgg_set_tensor;

vgg_tensor_set *vgg_tensor_set_new(void);
void vgg_tensor_set_free(vgg_tensor_set *set);
/* Adds a tensor, taking ownership of `data` (malloc'd, numel floats) also on failure;
 * a name already in the set is refused. */
int vgg_tensor_set_add(vgg_tensor_set *set, const char *name, int ndim, const int64_t *shape,
                       float *data, vgg_error *err);
/* Adds a tensor of numel float32 little-endian values at `bytes`, aligned or not.  Where
 * they are the host's floats as they lie, the set points at them (and `bytes` must outlive
 * it); else it keeps a converted copy. */
int vgg_tensor_set_borrow(vgg_tensor_set *set, const char *name, int ndim,
                          const int64_t *shape, const void *bytes, vgg_error *err);
size_t vgg_tensor_set_count(const vgg_tensor_set *set);
const vgg_set_tensor *vgg_tensor_set_at(const vgg_tensor_set *set, size_t i);
const vgg_set_tensor *vgg_tensor_set_find(const vgg_tensor_set *set, const char *name);

/*
 * PyTorch .pth/.pt files, detected by content: the zip serialization (torch >= 1.6) and the
 * legacy one.  The tensors are named as in the state_dict, with a checkpoint wrapper
 * (state_dict, model, model_state_dict) and DataParallel's "module." prefix removed;
 * float32, float16 and bfloat16 storages, any offset and stride.  The pickle is never
 * executed: a global outside what tensors need is refused (torch.c, pickle.c, zip.c).
 */
int vgg_torch_read(const void *data, size_t size, const char *name, vgg_tensor_set **out,
                   vgg_error *err);
/* Whether the bytes start like a .pth file (zip or legacy pickle). */
int vgg_torch_detect(const void *data, size_t size);

/*
 * Caffe .caffemodel files (binary NetParameter; V1 `layers` or V2 `layer`): each layer with
 * blobs gives LAYER.weight and LAYER.bias, float or double data; legacy 4-D blob dims are
 * kept for convolutions [O,C,K,K] and lose their leading 1s for FC weights [M,N] and biases
 * [N] (caffe.c).
 */
int vgg_caffe_read(const void *data, size_t size, const char *name, vgg_tensor_set **out,
                   vgg_error *err);
/* Whether the bytes parse as the start of a NetParameter with layers. */
int vgg_caffe_detect(const void *data, size_t size);

/*
 * Darknet .weights files, which hold no names: the layout comes from `cfg` (--arch).  Both
 * header forms (int32 major, minor, revision, then a 4- or 8-byte `seen`); when major or
 * minor exceeds 1000, as in the published vgg-16.weights whose header is three floats, FC
 * weights are stored transposed.  Per layer in order: conv biases, then (batch norm)
 * scales, rolling mean, rolling variance, then weights; FC biases then weights.  Gives the
 * tensors under our names (conv1_1.weight, fc6.bias, conv1_1.bn.running_mean ...)
 * (darknet.c).
 */
int vgg_darknet_read(const void *data, size_t size, const char *name, const vgg_config *cfg,
                     vgg_tensor_set **out, vgg_error *err);
/* Whether the first bytes look like a Darknet header (there is no magic number). */
int vgg_darknet_detect(const void *data, size_t size);
/*
 * Darknet lists ImageNet's classes in the ILSVRC devkit order; `wnids` is its
 * imagenet.labels.list (one WordNet id per line).  Moves the rows of `fc`'s weight and
 * bias so that a class's index becomes its WordNet id's rank in sorted order, the order
 * Caffe, torchvision and timm use.
 */
int vgg_darknet_permute_classes(vgg_tensor_set *set, const char *fc, const char *wnids,
                                vgg_error *err);

/*
 * A Caffe deploy .prototxt (protobuf text format: `layer { ... }` or V1 `layers { ... }`)
 * as our notation: *config gets the network (input from `input_dim`/`input_shape`/an Input
 * layer, convolutions with their kernel and outputs, LRN, 2x2 max pooling, inner products,
 * soft-max; ReLU and dropout are implied by the notation), and *names the Caffe names of
 * its weight layers (convolutions and inner products) in order, *count of them.  Layers
 * the notation cannot express (strides other than 1, other pooling) are refused, naming
 * them.  The caller frees *config, each name and *names (prototxt.c).
 */
int vgg_caffe_prototxt(const char *text, const char *name, char **config, char ***names,
                       size_t *count, vgg_error *err);

#endif
