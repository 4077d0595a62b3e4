/*
 * caffe.c: Caffe's .caffemodel files, read into named float32 tensors for vgg-convert.
 *
 * The layout (../shared/FORMATS.md; Caffe's caffe.proto): one NetParameter in the protobuf
 * wire format (protobuf.c), fields of
 *   1. NetParameter: name 1, layers 2 (V1LayerParameter, the old form the Oxford VGG files
 *      use), input 3, input_dim 4, force_backward 5, state 6, debug_info 7, input_shape 8,
 *      layer 100 (LayerParameter); a file has `layers` or `layer`, never both;
 *   2. V1LayerParameter: name 4, type 5 (an enum: CONVOLUTION 4, INNER_PRODUCT 14 ...),
 *      blobs 6, inner_product_param 17; its field 1 holds the older V0 form, not read here;
 *   3. LayerParameter: name 1, type 2 (a string: "Convolution", "InnerProduct" ...),
 *      blobs 7, inner_product_param 117;
 *   4. InnerProductParameter: transpose 6, set when the weights are stored N x M;
 *   5. BlobProto: num 1, channels 2, height 3, width 4 (the legacy int32 dims), data 5
 *      (float), shape 7 (BlobShape: dim 1, int64), double_data 8; every repeated number
 *      packed or not.  The dims are shape's when it is there, else num x channels x height
 *      x width, unset ones 1.  Legacy parameter blobs are right-aligned: an FC weight is
 *      1x1xMxN, a bias 1x1x1xN.  As in Caffe, double_data wins when a blob has both.
 * A layer's blobs are its weight, then its bias.  A blob's dims must multiply to the number
 * of values it holds, which the bytes holding them bound, so nothing is allocated for a
 * count the file does not back with data.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "protobuf.h"

enum { NET_LAYERS = 2, NET_LAYER = 100 };
enum { V1_CONVOLUTION = 4, V1_INNER_PRODUCT = 14 };

enum layer_kind { KIND_OTHER, KIND_CONV, KIND_FC, KIND_REFUSED };

/* The field numbers that differ between the two layer forms. */
struct layer_form {
	uint32_t name, type, blobs, inner_product_param;
};
static const struct layer_form V1 = {4, 5, 6, 17}, V2 = {1, 2, 7, 117};

struct reader {
	const char *file;
	vgg_error *err;
	vgg_tensor_set *set;
};

struct layer {
	size_t index;              /* among the file's layers, from 0, for unnamed ones */
	char *name;
	enum layer_kind kind;
	char type[32];             /* for the message refusing the layer */
	int transpose;
	size_t blob_count;
	vgg__pb_field blobs[2];
};

#define bad(r, ...) \
	vgg__fail_file((r)->err, VGG_EPARSE, (r)->file, "not a valid Caffe model: ", __VA_ARGS__)

static int pb_bad(struct reader *r, const vgg__pb_msg *m)
{
	return bad(r, "%s", m->error);
}

static int no_memory(struct reader *r)
{
	return vgg__fail(r->err, VGG_ENOMEM, "out of memory reading '%s'", r->file);
}

static int wrong_wire(struct reader *r, const struct layer *l, const vgg__pb_field *f,
                      const char *what)
{
	return bad(r, "layer %zu: field %u at byte %llu should hold %s, but has wire type %d",
	           l->index, f->number, (unsigned long long)f->offset, what, (int)f->wire);
}

static void format_dims(char *buf, size_t size, int ndim, const int64_t *shape)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < ndim && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "x" : "",
		                      (long long)shape[i]);
	if (ndim == 0)
		snprintf(buf, size, "()");
}

static int add_dim(struct reader *r, const char *layer, int index, uint64_t v, int *ndim,
                   int64_t *shape)
{
	if (v > INT64_MAX)
		return bad(r, "layer '%.100s': blob %d has a negative dim", layer, index);
	if (*ndim == VGG_MAX_DIMS)
		return bad(r, "layer '%.100s': blob %d has more than %d dims", layer, index,
		           VGG_MAX_DIMS);
	shape[(*ndim)++] = (int64_t)v;
	return VGG_OK;
}

/* BlobShape's dims, appended to shape: a second shape field merges into the first, as
 * protobuf has it for a message given twice. */
static int read_shape(struct reader *r, vgg__pb_msg *blob, const vgg__pb_field *f,
                      const char *layer, int index, int *ndim, int64_t *shape)
{
	vgg__pb_msg sm, packed;
	vgg__pb_field g;
	uint64_t v;
	int more, rc;
	if (vgg__pb_enter(blob, f, &sm))
		return pb_bad(r, blob);
	while ((more = vgg__pb_next(&sm, &g)) > 0) {
		if (g.number != 1)
			continue;
		if (g.wire == VGG__PB_VARINT) {
			if ((rc = add_dim(r, layer, index, g.u, ndim, shape)))
				return rc;
		} else if (g.wire == VGG__PB_LEN) {
			vgg__pb_packed(&sm, &g, &packed);
			while ((more = vgg__pb_varint(&packed, &v)) > 0)
				if ((rc = add_dim(r, layer, index, v, ndim, shape)))
					return rc;
			if (more < 0)
				return pb_bad(r, &packed);
		} else {
			return bad(r, "layer '%.100s': blob %d: shape's dim field at byte %llu has "
			           "wire type %d", layer, index, (unsigned long long)g.offset,
			           (int)g.wire);
		}
	}
	return more < 0 ? pb_bad(r, &sm) : VGG_OK;
}

/* Adds the float or double values of blob's fields numbered `number` to dst. */
static void copy_values(const vgg__pb_msg *blob, uint32_t number, int size, float *dst)
{
	vgg__pb_msg m = *blob;
	vgg__pb_field g;
	while (vgg__pb_next(&m, &g) > 0)
		if (g.number == number)
			dst += vgg__pb_fixed_floats(&g, size, dst);
}

/* One blob: its dims into ndim/shape and its values, as *packed, the float32 values of the
 * file when one packed field holds them all (the usual case), or else in *data (malloc'd). */
static int read_blob(struct reader *r, vgg__pb_msg *lm, const vgg__pb_field *f,
                     const char *layer, int index, int *ndim, int64_t *shape,
                     const unsigned char **packed, float **data)
{
	vgg__pb_msg bm;
	vgg__pb_field g;
	int64_t legacy[4] = {1, 1, 1, 1};
	int have_shape = 0, more, rc, float_fields = 0;
	uint64_t floats = 0, doubles = 0, numel = 1;
	*ndim = 0;
	*packed = NULL;
	if (vgg__pb_enter(lm, f, &bm))
		return pb_bad(r, lm);
	const vgg__pb_msg start = bm;
	while ((more = vgg__pb_next(&bm, &g)) > 0) {
		switch (g.number) {
		case 1: case 2: case 3: case 4:
			if (g.wire != VGG__PB_VARINT)
				return bad(r, "layer '%.100s': blob %d: dim field %u has wire type %d",
				           layer, index, g.number, (int)g.wire);
			/* int32 fields: a negative one is sign-extended to 64 bits. */
			if ((int64_t)g.u < 0 || g.u > INT32_MAX)
				return bad(r, "layer '%.100s': blob %d has dim %lld", layer, index,
				           (long long)(int64_t)g.u);
			legacy[g.number - 1] = (int64_t)g.u;
			break;
		case 5:
			if (vgg__pb_fixed_count(&bm, &g, 4, &floats))
				return pb_bad(r, &bm);
			*packed = ++float_fields == 1 && g.wire == VGG__PB_LEN ? g.data : NULL;
			break;
		case 7:
			have_shape = 1;
			if ((rc = read_shape(r, &bm, &g, layer, index, ndim, shape)))
				return rc;
			break;
		case 8:
			if (vgg__pb_fixed_count(&bm, &g, 8, &doubles))
				return pb_bad(r, &bm);
			break;
		}
	}
	if (more < 0)
		return pb_bad(r, &bm);
	if (!have_shape) {
		*ndim = 4;
		memcpy(shape, legacy, sizeof legacy);
	}
	for (int i = 0; i < *ndim; i++)
		if (__builtin_mul_overflow(numel, (uint64_t)shape[i], &numel))
			return bad(r, "layer '%.100s': blob %d's dims overflow 64 bits", layer, index);
	uint64_t count = doubles ? doubles : floats;
	if (count != numel) {
		char dims[200];
		format_dims(dims, sizeof dims, *ndim, shape);
		return bad(r, "layer '%.100s': blob %d holds %llu values, but its dims %s make %llu",
		           layer, index, (unsigned long long)count, dims, (unsigned long long)numel);
	}
	if (doubles || float_fields != 1)
		*packed = NULL;
	if (*packed)
		return VGG_OK;
	if (count > SIZE_MAX / sizeof **data || !(*data = malloc(count ? count * sizeof **data : 1)))
		return no_memory(r);
	copy_values(&start, doubles ? 8 : 5, doubles ? 8 : 4, *data);
	return VGG_OK;
}

/* Leading 1s go, down to what the blob is: a conv weight keeps its 4 dims [O,C,K,K], an FC
 * weight is [M,N], anything else (biases included) a vector. */
static void trim_dims(enum layer_kind kind, int index, int *ndim, int64_t *shape)
{
	int keep = index == 0 && kind == KIND_CONV ? *ndim : index == 0 && kind == KIND_FC ? 2 : 1;
	int drop = 0;
	while (*ndim - drop > keep && shape[drop] == 1)
		drop++;
	memmove(shape, shape + drop, (size_t)(*ndim - drop) * sizeof *shape);
	*ndim -= drop;
}

static int is_type(const vgg__pb_field *f, const char *name)
{
	return f->len == strlen(name) && memcmp(f->data, name, f->len) == 0;
}

static int read_inner_product_param(struct reader *r, vgg__pb_msg *lm, const vgg__pb_field *f,
                                    struct layer *l)
{
	vgg__pb_msg pm;
	vgg__pb_field g;
	int more;
	if (vgg__pb_enter(lm, f, &pm))
		return pb_bad(r, lm);
	while ((more = vgg__pb_next(&pm, &g)) > 0)
		if (g.number == 6 && g.wire == VGG__PB_VARINT)
			l->transpose = g.u != 0;
	return more < 0 ? pb_bad(r, &pm) : VGG_OK;
}

/* Gathers a layer's name, kind and blobs, whatever order its fields come in. */
static int scan_layer(struct reader *r, vgg__pb_msg *lm, const struct layer_form *form,
                      struct layer *l)
{
	vgg__pb_field g;
	int more, rc;
	while ((more = vgg__pb_next(lm, &g)) > 0) {
		if (g.number == form->name) {
			if (g.wire != VGG__PB_LEN)
				return wrong_wire(r, l, &g, "its name");
			if (memchr(g.data, '\0', g.len))
				return bad(r, "layer %zu's name holds a NUL byte", l->index);
			free(l->name);
			if (!(l->name = strndup((const char *)g.data, g.len)))
				return no_memory(r);
		} else if (g.number == form->type && form == &V1) {
			if (g.wire != VGG__PB_VARINT)
				return wrong_wire(r, l, &g, "its type");
			l->kind = g.u == V1_CONVOLUTION ? KIND_CONV
			          : g.u == V1_INNER_PRODUCT ? KIND_FC : KIND_OTHER;
		} else if (g.number == form->type) {
			if (g.wire != VGG__PB_LEN)
				return wrong_wire(r, l, &g, "its type");
			l->kind = is_type(&g, "Convolution") ? KIND_CONV
			          : is_type(&g, "InnerProduct") ? KIND_FC : KIND_OTHER;
			/* Batch norm needs folding with rules of its own; VGG nets have none. */
			if (is_type(&g, "BatchNorm") || is_type(&g, "Scale")) {
				l->kind = KIND_REFUSED;
				snprintf(l->type, sizeof l->type, "%s",
				         is_type(&g, "Scale") ? "Scale" : "BatchNorm");
			}
		} else if (g.number == form->blobs) {
			if (g.wire != VGG__PB_LEN)
				return wrong_wire(r, l, &g, "a blob");
			if (l->blob_count < 2)
				l->blobs[l->blob_count] = g;
			l->blob_count++;
		} else if (g.number == form->inner_product_param) {
			if ((rc = read_inner_product_param(r, lm, &g, l)))
				return rc;
		} else if (form == &V1 && g.number == 1) {
			return bad(r, "layer %zu is in the V0 form, which is not read here "
			           "(Caffe's upgrade_net_proto_binary converts it)", l->index);
		}
	}
	return more < 0 ? pb_bad(r, lm) : VGG_OK;
}

static int add_blobs(struct reader *r, vgg__pb_msg *lm, const struct layer *l)
{
	static const char *const suffix[] = {".weight", ".bias"};
	for (size_t i = 0; i < l->blob_count; i++) {
		int ndim, rc;
		int64_t shape[VGG_MAX_DIMS];
		const unsigned char *packed;
		float *data = NULL;
		if ((rc = read_blob(r, lm, &l->blobs[i], l->name, (int)i, &ndim, shape, &packed,
		                    &data)))
			return rc;
		trim_dims(l->kind, (int)i, &ndim, shape);
		char *name = malloc(strlen(l->name) + strlen(suffix[i]) + 1);
		if (!name) {
			free(data);
			return no_memory(r);
		}
		strcat(strcpy(name, l->name), suffix[i]);
		if (vgg_tensor_set_find(r->set, name)) {
			free(name);
			free(data);
			return bad(r, "two layers are named '%.100s'", l->name);
		}
		rc = packed ? vgg_tensor_set_borrow(r->set, name, ndim, shape, packed, r->err)
		            : vgg_tensor_set_add(r->set, name, ndim, shape, data, r->err);
		free(name);
		/* Shapes and names are checked above, so only memory can run out here. */
		if (rc)
			return no_memory(r);
	}
	return VGG_OK;
}

static int read_layer(struct reader *r, vgg__pb_msg *net, const vgg__pb_field *f,
                      const struct layer_form *form, size_t index)
{
	vgg__pb_msg lm;
	struct layer l = {.index = index};
	if (vgg__pb_enter(net, f, &lm))
		return pb_bad(r, net);
	int rc = scan_layer(r, &lm, form, &l);
	if (!rc && l.kind == KIND_REFUSED)
		rc = bad(r, "layer '%.100s' is a %s layer, which VGG nets do not have and which is "
		         "not read here", l.name ? l.name : "", l.type);
	else if (!rc && l.blob_count && (!l.name || !l.name[0]))
		rc = bad(r, "layer %zu has blobs but no name", index);
	else if (!rc && l.blob_count > 2)
		rc = bad(r, "layer '%.100s' has %zu blobs; only a weight and a bias are read",
		         l.name, l.blob_count);
	else if (!rc && l.blob_count && l.transpose)
		rc = bad(r, "layer '%.100s' stores its weights transposed, which is not read here",
		         l.name);
	else if (!rc)
		rc = add_blobs(r, &lm, &l);
	free(l.name);
	return rc;
}

int vgg_caffe_read(const void *data, size_t size, const char *name, vgg_tensor_set **out,
                   vgg_error *err)
{
	struct reader r = {name, err, vgg_tensor_set_new()};
	vgg__pb_msg net;
	vgg__pb_field f;
	const struct layer_form *form = NULL;
	size_t layers = 0;
	int rc = VGG_OK, more;
	*out = NULL;
	if (!r.set)
		return no_memory(&r);
	vgg__pb_init(&net, data, size);
	while (!rc && (more = vgg__pb_next(&net, &f)) != 0) {
		if (more < 0) {
			rc = pb_bad(&r, &net);
			break;
		}
		const struct layer_form *this = f.number == NET_LAYERS ? &V1
		                                : f.number == NET_LAYER ? &V2 : NULL;
		if (this && form && form != this) {
			rc = bad(&r, "it mixes the V1 'layers' field (2) and the V2 'layer' field (100)");
		} else if (this) {
			form = this;
			rc = read_layer(&r, &net, &f, form, layers++);
		}
	}
	if (!rc && !layers)
		rc = bad(&r, "it has no layers");
	else if (!rc && !vgg_tensor_set_count(r.set))
		rc = bad(&r, "no layer has weights (a deploy net without blobs?)");
	if (rc) {
		vgg_tensor_set_free(r.set);
		return rc;
	}
	*out = r.set;
	return VGG_OK;
}

/* ---- Detection ---- */

/* Whether a NetParameter may start with this field (Caffe writes them in number order). */
static int net_field(const vgg__pb_field *f)
{
	switch (f->number) {
	case 1: case 2: case 3: case 6: case 8: case 100:
		return f->wire == VGG__PB_LEN;
	case 4:
		return f->wire == VGG__PB_VARINT || f->wire == VGG__PB_LEN;
	case 5: case 7:
		return f->wire == VGG__PB_VARINT;
	}
	return 0;
}

/* Whether the bytes we have of the first layer parse as fields and give it a name or type;
 * the layer may run past the bytes we were given. */
static int layer_plausible(const vgg__pb_msg *net, const vgg__pb_field *f)
{
	const struct layer_form *form = f->number == NET_LAYERS ? &V1 : &V2;
	uint64_t left = (uint64_t)(net->end - net->pos);
	int cut = f->len > left, named = 0, more;
	vgg__pb_msg lm;
	vgg__pb_field g;
	vgg__pb_init(&lm, net->pos, cut ? (size_t)left : (size_t)f->len);
	enum vgg__pb_wire type_wire = form == &V1 ? VGG__PB_VARINT : VGG__PB_LEN;
	while ((more = vgg__pb_next(&lm, &g)) > 0) {
		if ((g.number == form->name && g.wire == VGG__PB_LEN) ||
		    (g.number == form->type && g.wire == type_wire))
			named = 1;
	}
	return named && (more == 0 || cut);
}

int vgg_caffe_detect(const void *data, size_t size)
{
	vgg__pb_msg net;
	vgg__pb_field f;
	vgg__pb_init(&net, data, size);
	while (vgg__pb_header(&net, &f) > 0 && net_field(&f)) {
		if (f.number == NET_LAYERS || f.number == NET_LAYER)
			return layer_plausible(&net, &f);
		if (vgg__pb_value(&net, &f) <= 0)
			return 0;
	}
	return 0;
}
