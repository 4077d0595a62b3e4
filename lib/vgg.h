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
/* A built-in config by name (A, A-LRN, B, C, D, E, vgg11/13/16/19), any of them with
 * "_bn" (batch norm after every conv) and "_gap" (avgpool and one FC layer for the three). */
int vgg_config_builtin(const char *name, vgg_config **out, vgg_error *err);
void vgg_config_free(vgg_config *cfg);

/* The text of a label list shipped in share/vgg/labels ("imagenet", "fashion-mnist"):
 * one class name a line, in index order; NULL when there is no such list. */
const char *vgg_label_list(const char *name);
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
/* Scales the width of every conv and of every FC layer but the last (the classes) by
 * `factor`, rounded to the nearest whole number and at least 1, for small nets on small
 * data; VGG_ERANGE (the config unchanged) unless factor > 0 and every width stays within
 * the notation's limit. */
int vgg_config_scale_width(vgg_config *cfg, double factor, vgg_error *err);
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
	VGG_LAYER_SOFTMAX,
	VGG_LAYER_AVGPOOL      /* global average pool: C x H x W to C x 1 x 1 */
};

/*
 * One layer as the layout sees it.  FC layers are described as the convolutions they are
 * in dense evaluation (fc6 a KxK conv over pool5, later ones 1x1), which is also how their
 * receptive field is defined.  Receptive-field figures are per axis: [0] rows, [1] columns.
 */
typedef struct vgg_layer_info {
	const char *name;          /* Caffe name: conv1_1, norm1, pool1, fc6, prob; avgpool */
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
 * named by p->filter does, so results match torchvision's or Caffe's pipelines; a resize or
 * crop of more than VGG_MAX_PIXELS pixels is refused (VGG_ERANGE).  On success
 * *out is malloc'd (the caller frees it) and *h, *w give its size.
 */
int vgg_preprocess_image(const vgg_preprocess *p, const vgg_image *img, int channels,
                         float **out, int *h, int *w, vgg_error *err);

/* ---- Training data: datasets (dataset.c, idx.c), augmentation (augment.c), batches
 * made by worker threads (loader.c) ---- */

/*
 * A set of labelled images, opened from one of these, told apart by content:
 * - a directory with one subdirectory per class: the classes sorted by name (in byte order)
 *   are labels 0, 1, ... and their names the class names; a class's images are the files
 *   below its subdirectory named *.jpg, *.jpeg, *.png, *.pgm, *.ppm, *.pbm or *.pnm (any
 *   case), in the order torchvision's ImageFolder gives them; names starting with '.' are
 *   passed over;
 * - a list file of `PATH LABEL` lines (Caffe's): the label is the word after the last blank,
 *   a whole number from 0; relative paths are relative to the list file's directory; empty
 *   lines are passed over; the classes are 0 to the largest label, unnamed;
 * - an IDX images file of MNIST or Fashion-MNIST, gzip'd or not, whose labels file is the one
 *   beside it named with "images" turned to "labels" and "idx3" to "idx1" (with or without
 *   .gz): train-images-idx3-ubyte.gz -> train-labels-idx1-ubyte.gz; the classes are 0 to the
 *   largest label, unnamed; or a directory holding exactly one such images file.
 * Directories and lists are read when opened, the images when asked for; IDX files are
 * read whole into memory.
 */
typedef struct vgg_dataset vgg_dataset;

int vgg_dataset_open(const char *path, vgg_dataset **out, vgg_error *err);
/* Datasets made by vgg_dataset_split share their images: each is freed, in any order. */
void vgg_dataset_free(vgg_dataset *ds);
size_t vgg_dataset_count(const vgg_dataset *ds);
int vgg_dataset_classes(const vgg_dataset *ds);
/* Class c's name, or NULL when the dataset names none (lists, IDX). */
const char *vgg_dataset_class_name(const vgg_dataset *ds, int c);
int vgg_dataset_label(const vgg_dataset *ds, size_t i);
/* Image i decoded (0 <= i < count); safe to call from several threads at once. */
int vgg_dataset_image(const vgg_dataset *ds, size_t i, vgg_image **out, vgg_error *err);
/*
 * Two views of ds: *held_out gets round(fraction * count) of its images chosen at random by
 * `seed`, *train the others, each in ds's order.  0 < fraction < 1, and VGG_ERANGE when a
 * part would be empty.  The same dataset and seed always give the same split.
 */
int vgg_dataset_split(const vgg_dataset *ds, double fraction, uint64_t seed,
                      vgg_dataset **train, vgg_dataset **held_out, vgg_error *err);
/*
 * Statistics of the RGB values (0..1; gray images count as R = G = B) of all pixels of
 * `sample` images chosen by `seed` (0 or more than count: every image): per channel mean
 * and standard deviation, and the eigen-decomposition of their 3x3 covariance for the colour
 * shift: eigval in descending order, eigvec[i] the unit eigenvector of eigval[i] (R, G, B;
 * its largest component positive).  Images that do not decode are passed over; it fails
 * only when none does.
 */
int vgg_dataset_stats(const vgg_dataset *ds, size_t sample, uint64_t seed, float mean[3],
                      float std[3], float eigval[3], float eigvec[3][3], vgg_error *err);

/*
 * The training path for one image, after the paper's section 3.1 and AlexNet's colour shift:
 *   1. channels as vgg_preprocess_image makes them (gray to RGB, or RGB to luma);
 *   2. the shorter side rescaled to S (norm.filter's resizer): S = scale_min = scale_max
 *      fixed, or drawn per image from [scale_min, scale_max] (scale jittering); both 0: no
 *      rescaling;
 *   3. a crop_h x crop_w window at a random place in the image padded with `pad` zero pixels
 *      on each side; along an axis where the padded image is shorter than the window, the
 *      image is centred in it, as in evaluation;
 *   4. mirrored left to right with probability 1/2 when `flip`;
 *   5. when colour > 0 and the net takes 3 channels, sum_i alpha_i eigval[i] eigvec[i] (RGB
 *      in 0..1 units, as vgg_dataset_stats gives) added to every pixel, with alpha_i drawn
 *      per image from N(0, colour^2) (AlexNet: 0.1);
 *   6. norm's scale, mean, std and channel order; its resize and crop are not used.
 * Evaluation takes the deterministic path instead, vgg_preprocess_image with the settings
 * vgg_augment_preprocess gives.
 */
typedef struct vgg_augment {
	int crop_h, crop_w;
	int scale_min, scale_max;
	int pad;
	int flip;
	float colour;
	float eigval[3], eigvec[3][3];
	vgg_preprocess norm;
} vgg_augment;

/* The evaluation path as vgg_preprocess_image's settings: `norm`, the shorter side resized
 * to S (the middle of [scale_min, scale_max], rounded down), a centre crop_h x crop_w crop.
 * A trained net's weights file carries these, so that vgg-predict sees what evaluation
 * during training saw. */
void vgg_augment_preprocess(const vgg_augment *a, vgg_preprocess *p);

/*
 * Batches of a dataset, decoded and augmented by worker threads ahead of the caller so that
 * loading overlaps the training step.  A training epoch's order is a permutation drawn from
 * (seed, epoch), and each image's augmentation from (seed, epoch, its index in the
 * dataset): the batches are the same at any number of threads.  `channels` is the net's
 * input (1 or 3), `threads` 0 means one per core.  The loader copies `a` and reads `ds`,
 * which must outlive it.
 */
typedef struct vgg_loader vgg_loader;

int vgg_loader_new(const vgg_dataset *ds, const vgg_augment *a, int channels, int batch,
                   int threads, vgg_loader **out, vgg_error *err);
/* Starts an epoch, dropping any in progress: with `train`, shuffled and augmented; without,
 * in the dataset's order through the evaluation path.  VGG_ERANGE for a negative epoch. */
int vgg_loader_start(vgg_loader *l, uint64_t seed, int epoch, int train);
/*
 * The next batch: *n images (at most `batch`; 0 once the epoch is over) as n x C x H x W
 * floats in *x and their labels in *labels, both valid until the next call.  An image that
 * fails to decode or preprocess is passed over, counted, and the batch filled from the
 * images after it; only running out of memory fails.
 */
int vgg_loader_next(vgg_loader *l, const float **x, const int **labels, int *n,
                    vgg_error *err);
/* Images passed over since the loader was made, and the message of the last one (NULL if
 * none; valid until the next vgg_loader_next), which names its file. */
size_t vgg_loader_skipped(const vgg_loader *l, const char **last_error);
void vgg_loader_free(vgg_loader *l);
/*
 * Makes l give only share `rank` (0 .. ranks - 1) of every batch, for `ranks` processes that
 * train on one batch together with the same seed: of batch b, positions b * batch .. b *
 * batch + m - 1 of the epoch's order (m = batch, or what is left for the last batch), this
 * rank gets positions m * rank / ranks .. m * (rank + 1) / ranks - 1.  The shares are
 * disjoint, differ by at most one image, and together hold the images of the batch an
 * unsharded loader gives while no image fails; a failed image is passed over without
 * filling its share from later images, which belong to other batches, so a share may be
 * short or empty (*n = 0) and the caller counts the epoch's vgg_loader_batches batches
 * instead of waiting for *n = 0.  It stops the epoch in progress; ranks = 1 undoes it.
 * VGG_ERANGE unless 0 <= rank < ranks.
 */
int vgg_loader_shard(vgg_loader *l, int rank, int ranks);
/* Batches in an epoch: the dataset's count over `batch`, rounded up. */
size_t vgg_loader_batches(const vgg_loader *l);

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
/*
 * The same from a stream that cannot be mapped, such as a pipe: the header's length, then
 * the header, then as many data bytes as its offsets call for, the buffer growing as they
 * arrive; the stream must end there.  `name` is used in messages ("-" for stdin).
 */
int vgg_weights_read_stream(FILE *f, const char *name, vgg_weights **out, vgg_error *err);
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
 * folded into the conv before it; an input of more than VGG_MAX_PIXELS pixels is refused.
 * vgg_net_new takes ownership of `w`, also on failure; its messages name the file as `w`
 * was opened or read.
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

/* Where activations can be taken: a layer's output, before its ReLU or after it. */
typedef struct vgg_tap {
	int layer;   /* index in the layout */
	int relu;    /* 1: after the layer's ReLU (conv and FC layers but the last) */
} vgg_tap;

/*
 * `name` as a tap: a layer's name (conv3_1, fc6: before the ReLU; pool5, avgpool ...), or
 * the name Caffe's VGG models give a ReLU (relu3_1 after conv3_1, relu6 and relu7 after
 * fc6 and fc7), case-insensitively.  VGG_ENOTFOUND when the net has no such layer or ReLU.
 */
int vgg_net_find_tap(const vgg_net *net, const char *name, vgg_tap *tap, vgg_error *err);

/*
 * One pass from layer `from` (-1: the image), as vgg_net_forward runs it, that stops at the
 * last of `count` taps (each after `from`, in any order) and copies each tap's output for
 * the n inputs into out[k], malloc'd (the caller frees each), of shape shapes[k] (n, C, H,
 * W).  On failure every out[k] is NULL.
 */
int vgg_net_forward_taps(vgg_net *net, const float *input, int n, int c, int h, int w,
                         int dense, int from, const vgg_tap *taps, size_t count, float **out,
                         int (*shapes)[4], vgg_error *err);

/*
 * Per-layer profile of the forward passes, as `caffe time` gives it.  Once started, each
 * pass adds every layer's wall-clock time (with its ReLU) and operations to the net's
 * totals; starting again zeroes them.  flops counts two per multiply-add of a direct
 * convolution, whatever the kernel did (Winograd's do fewer), and none for other layers.
 */
typedef struct vgg_layer_profile {
	const char *name;  /* the layer's, owned by the net */
	double seconds;
	double flops;
	long runs;         /* passes that ran the layer */
} vgg_layer_profile;
int vgg_net_profile_start(vgg_net *net, vgg_error *err);
/* Layer i's totals into *out (i as vgg_net_layer_index gives): 1, or 0 past the last. */
int vgg_net_profile(const vgg_net *net, size_t i, vgg_layer_profile *out);

/* Threads for the forward pass (OpenBLAS's and ours); 0 means one per core. */
void vgg_set_threads(int threads);

/* ---- Training: backward pass and SGD (train.c over the layers' backward kernels) ---- */

typedef struct vgg_trainer vgg_trainer;

enum vgg_init {
	VGG_INIT_KAIMING, /* normal(0, sqrt(2 / fan_in)) (He et al. 2015) */
	VGG_INIT_GLOROT,  /* uniform(+-sqrt(6 / (fan_in + fan_out))) (Glorot & Bengio 2010) */
	VGG_INIT_NORMAL   /* normal(0, 0.01), the paper's */
};

/* torch.optim.SGD's update: v = momentum v + g + weight_decay w; w -= lr v. */
typedef struct vgg_sgd {
	float lr, momentum, weight_decay;
} vgg_sgd;

/*
 * A trainable copy of `cfg` at its own input size; to train, it must end in an FC layer (a
 * soft-max after it is the loss's).  Parameters start as vgg_trainer_init(KAIMING, 0)
 * leaves them; dropout is 0.5 on every FC layer but the last.
 */
int vgg_trainer_new(const vgg_config *cfg, vgg_trainer **out, vgg_error *err);
void vgg_trainer_free(vgg_trainer *t);
const vgg_config *vgg_trainer_config(const vgg_trainer *t);
/* Weights from `init` and `seed`, zero biases, batch norm at identity, no momentum. */
void vgg_trainer_init(vgg_trainer *t, enum vgg_init init, uint64_t seed);
void vgg_trainer_set_dropout(vgg_trainer *t, float rate);
/* Keeps a conv or FC layer's parameters as they are. */
int vgg_trainer_freeze(vgg_trainer *t, const char *layer, vgg_error *err);

enum vgg_copy {
	VGG_COPY_FINETUNE, /* every layer whose tensors have the same names and shapes */
	VGG_COPY_SURGERY,  /* the paper's: the first four conv layers found, and the FC layers */
	VGG_COPY_RESUME    /* every layer, with its momentum: a checkpoint */
};
/* Copies layers from a weights file; `copied` gets their names, space-separated. */
int vgg_trainer_copy_from(vgg_trainer *t, const vgg_weights *w, enum vgg_copy how,
                          char *copied, size_t copied_size, vgg_error *err);

/*
 * One batch of n inputs (the config's input size, planar float32) with their labels:
 * forward with batch statistics and dropout (its masks drawn from `seed`), the mean
 * soft-max cross-entropy into *loss, the rows classified right into *correct, and the
 * gradient of every parameter, which vgg_trainer_gradient_data exposes to be summed
 * across processes before vgg_trainer_update applies it.
 */
int vgg_trainer_gradients(vgg_trainer *t, const float *x, const int *labels, int n,
                          uint64_t seed, double *loss, int *correct, vgg_error *err);
float *vgg_trainer_gradient_data(vgg_trainer *t, size_t *count);
/*
 * Called by vgg_trainer_gradients on its own thread during the backward pass, each time a
 * layer's gradients are done: the gradient array from index `from` to its end will not
 * change again in this call, so a caller can start summing it across processes while the
 * layers below still work.  Gradients below the last `from` are done when the call
 * returns.  NULL stops the calls.
 */
typedef void vgg_gradient_ready_fn(void *ctx, size_t from);
void vgg_trainer_on_gradient_ready(vgg_trainer *t, vgg_gradient_ready_fn *fn, void *ctx);
/* Batch norm's running means and variances, in one array (a layer's means, then its
 * variances), to be averaged across processes; *count is 0 without batch norm. */
float *vgg_trainer_stat_data(vgg_trainer *t, size_t *count);
void vgg_trainer_update(vgg_trainer *t, const vgg_sgd *sgd);
/* Updates applied so far (restored from a checkpoint by vgg_trainer_set_steps). */
uint64_t vgg_trainer_steps(const vgg_trainer *t);
void vgg_trainer_set_steps(vgg_trainer *t, uint64_t steps);
/* Inference as vgg-predict runs it (running statistics, no dropout): the mean loss and
 * how many of the n rows have their label first (*top1) and among the first five (*top5). */
int vgg_trainer_evaluate(vgg_trainer *t, const float *x, const int *labels, int n,
                         double *loss, int *top1, int *top5, vgg_error *err);
/*
 * The gradient of the sum over channels of `layer`'s centre unit (before its ReLU) with
 * respect to each of the n inputs, at inference (Luo et al. 2016's effective receptive
 * field): *dx points to n inputs' worth, owned by the trainer until its next call.
 */
int vgg_trainer_input_gradient(vgg_trainer *t, const float *x, int n, const char *layer,
                               const float **dx, vgg_error *err);
/* Adds the parameters and running statistics to `wr` under vgg-weights(5) names, and with
 * `with_momentum` each parameter's momentum as NAME.momentum.  They must stay valid until
 * the writer is written: leave the trainer alone meanwhile. */
int vgg_trainer_write(vgg_trainer *t, vgg_weights_writer *wr, int with_momentum,
                      vgg_error *err);

/* ---- The effective receptive field (erf.c, over the trainer's input gradient) ---- */

typedef struct vgg_erf vgg_erf;

/*
 * The effective receptive field (Luo et al. 2016) of `layer`'s centre unit (NULL: the last
 * conv layer) in the net of config `cfg` (vgg_net_config of the weights file) with the
 * weights `w`, for inputs of height x width (0, 0: the config's own size).  Only the layers
 * up to `layer` are built; an FC layer among them needs the config's own size.  `w` is read
 * during the call only.
 */
int vgg_erf_new(const vgg_config *cfg, const vgg_weights *w, const char *layer, int height,
                int width, vgg_erf **out, vgg_error *err);
void vgg_erf_free(vgg_erf *e);
/* Adds n preprocessed inputs (planar float32, channels x height x width each): the gradient
 * of the sum over channels of the centre unit (before its ReLU), |.| summed over the input's
 * channels. */
int vgg_erf_add(vgg_erf *e, const float *x, int n, vgg_error *err);
/* The same for n random images, each sample uniform in 0..255 and normalised as `p` says
 * (scale, mean, std; no resize or crop), drawn from `seed`. */
int vgg_erf_add_noise(vgg_erf *e, const vgg_preprocess *p, int n, uint64_t seed,
                      vgg_error *err);

typedef struct vgg_erf_summary {
	const vgg_layer_info *layer; /* at the inputs' size */
	int channels, height, width; /* the inputs' size */
	int inputs;                  /* how many were added */
	int64_t unit[2];             /* the centre unit: (out_h / 2, out_w / 2) */
	double center[2];            /* its input position, row and column, 0-based pixels */
	vgg_box box, clipped;        /* its theoretical receptive field; clipped to the input */
	const double *map;           /* height x width: mean over inputs of sum_c |dL/dx| */
	double peak;                 /* the map's largest value */
	double r50, r90;             /* the radius from `center` of the smallest disc that holds
	                              * 50% and 90% of the map's mass, in pixels */
	double inside;               /* the fraction of the mass inside `clipped` */
} vgg_erf_summary;

/*
 * The figures for the inputs added so far; the map belongs to `e` and changes with it.
 * VGG_ERANGE when there are no inputs yet or the gradient is zero for all of them.
 */
int vgg_erf_summarise(vgg_erf *e, vgg_erf_summary *s, vgg_error *err);
/* The map as a PNG heat map (to its maximum, black through red to light yellow), scaled
 * up by whole pixels when small, with the clipped theoretical box outlined, circles at r50
 * (solid) and r90 (dashed), and a caption. */
int vgg_erf_write_png(vgg_erf *e, const char *path, vgg_error *err);

/* ---- The learning rate over a run (schedule.c) ---- */

enum vgg_schedule_kind {
	VGG_SCHEDULE_PLATEAU, /* divided by 10 when validation accuracy stops improving */
	VGG_SCHEDULE_STEP,    /* divided by 10 every `step` epochs */
	VGG_SCHEDULE_COSINE   /* half a cosine from lr to 0 over the epochs after warm-up */
};

typedef struct vgg_schedule {
	enum vgg_schedule_kind kind;
	float lr;                 /* the base rate */
	int epochs, warmup;       /* warm-up: epochs of linear increase from 0 */
	int patience;             /* plateau: epochs without improvement before a drop */
	int max_drops;            /* plateau and step: at most this many divisions */
	int step;                 /* step: epochs between drops */
	/* The state a checkpoint keeps. */
	int drops, stale;
	double best;              /* best validation accuracy so far, -1 before any */
} vgg_schedule;

/* Defaults: patience 3, at most 3 drops, no warm-up. */
void vgg_schedule_init(vgg_schedule *s, enum vgg_schedule_kind kind, float lr, int epochs);
/* The rate for a step `progress` (0..1) of the way through epoch `epoch` (from 0). */
float vgg_schedule_lr(const vgg_schedule *s, int epoch, double progress);
/* Records an epoch's validation accuracy; 1 when the plateau rule just divided the rate. */
int vgg_schedule_epoch_end(vgg_schedule *s, double accuracy);

/* ---- Inputs through pipes (stream.c) ---- */

/* Reads the rest of f into memory, refusing more than `max` bytes: *data is malloc'd (the
 * caller frees it) and holds *size bytes and a 0 after them.  `name` is for messages. */
int vgg_read_stream(FILE *f, const char *name, size_t max, void **data, size_t *size,
                    vgg_error *err);

/* ---- Outputs written whole or not at all (output.c) ---- */

/* Opens a temporary file beside `path` for writing; *f is the stream to write to. */
typedef struct vgg_output vgg_output;
int vgg_output_open(const char *path, vgg_output **out, FILE **f, vgg_error *err);
/* Flushes, syncs and renames the file over `path`; frees `o` whatever happens.  Fails,
 * removing the temporary file, when any write to the stream failed. */
int vgg_output_commit(vgg_output *o, vgg_error *err);
/* Closes and removes the temporary file; frees `o`.  NULL is harmless. */
void vgg_output_abort(vgg_output *o);

/* ---- Pictures: PNG files and charts (png_write.c, plot.c), written as output.c does ---- */

/* 8-bit pixels, rows top to bottom, channels interleaved: 1 (gray) or 3 (R G B). */
int vgg_png_write(const char *path, int width, int height, int channels,
                  const unsigned char *pixels, vgg_error *err);

/* One line of a chart: values[i] belongs to epoch i + 1; a NaN or an infinity is a gap. */
typedef struct vgg_plot_series {
	const char *name;      /* in the legend */
	const double *values;
	int count;             /* may be 0: the series is only in the legend */
	int right_axis;        /* 0: on the left axis (losses), drawn solid; 1: on the right
	                        * (accuracies, 0..1 or percent), drawn dashed */
} vgg_plot_series;

/*
 * The n series against epochs 1 to the longest count, as an 800x500 RGB PNG: `title` (NULL
 * or "" for none) on top, a legend, and axes with ticks at round numbers that each hold
 * their own series' values.  Series take ten distinct colours in turn.
 */
int vgg_plot_write(const char *path, const char *title, const vgg_plot_series *series, int n,
                   vgg_error *err);

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
