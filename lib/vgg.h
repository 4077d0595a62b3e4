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
/* The input size the net is built for; the FC layers' weights are sized for it. */
void vgg_config_input(const vgg_config *cfg, int *channels, int *height, int *width);
int vgg_config_set_input(vgg_config *cfg, int channels, int height, int width, vgg_error *err);
/* Width of the last FC layer; 0 when the config has no FC layer. */
int vgg_config_classes(const vgg_config *cfg);
int vgg_config_set_classes(vgg_config *cfg, int classes, vgg_error *err);
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

#endif
