/*
 * net.c: a configuration with its weights, and the forward pass over the layer kernels.
 *
 * Where activations live: two ping-pong buffers owned by the net, each sized for the
 * largest layer output of the batch, plus one im2col scratch; they grow when a larger
 * batch or input comes and are reused otherwise.  Weights stay in the mapped file unless
 * they must be converted (another dtype, misaligned) or changed (batch norm folded in).
 */
#include <ctype.h>
#include <math.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "layers.h"

struct net_layer {
	enum vgg_layer_kind kind;
	struct vgg__conv conv;     /* conv and FC */
	float *owned;              /* converted or folded weights and bias, when not mapped */
};

struct vgg_net {
	vgg_weights *weights;
	vgg_config *cfg;
	vgg_layout *own;           /* the layout at the config's own size */
	vgg_preprocess pre;
	size_t count;
	struct net_layer *layers;
	char *label_text;
	char **labels;
	int classes;
	float *buf[2], *scratch;
	size_t buf_len[2], scratch_len;
	vgg_layer_profile *profile;  /* per layer, when profiling */
};

static int host_little_endian(void)
{
	const uint16_t probe = 1;
	return *(const unsigned char *)&probe == 1;
}

/* Finds `name` with `numel` elements; `shape_ok` says whether its dims are acceptable. */
static int want_tensor(const vgg_net *net, const char *name, uint64_t numel,
                       const vgg_tensor_info **out, vgg_error *err)
{
	const vgg_tensor_info *t = vgg_weights_find(net->weights, name);
	if (!t)
		return vgg__fail(err, VGG_ENOTFOUND, "no tensor '%s' for the config", name);
	if (!vgg_dtype_is_float(t->dtype))
		return vgg__fail(err, VGG_EPARSE, "tensor '%s' is %s, not a float type", name,
		                 t->dtype_name);
	if (t->numel != numel)
		return vgg__fail(err, VGG_ESHAPE, "tensor '%s' has %llu values, the config needs %llu",
		                 name, (unsigned long long)t->numel, (unsigned long long)numel);
	*out = t;
	return VGG_OK;
}

static int check_dims(const vgg_tensor_info *t, const int64_t *dims, int ndim, vgg_error *err)
{
	int same = t->ndim == ndim;
	for (int i = 0; same && i < ndim; i++)
		same = t->shape[i] == dims[i];
	if (same)
		return VGG_OK;
	char want[128], got[128];
	size_t a = 0, b = 0;
	for (int i = 0; i < ndim; i++)
		a += (size_t)snprintf(want + a, sizeof want - a, "%s%lld", i ? "," : "", (long long)dims[i]);
	for (int i = 0; i < t->ndim && b < sizeof got - 24; i++)
		b += (size_t)snprintf(got + b, sizeof got - b, "%s%lld", i ? "," : "", (long long)t->shape[i]);
	if (t->ndim == 0)
		snprintf(got, sizeof got, "a scalar");
	return vgg__fail(err, VGG_ESHAPE, "tensor '%s' is [%s], the config needs [%s]", t->name, got,
	                 want);
}

/* Loads one conv or FC layer's weights, folding batch norm in when the config has it. */
static int load_conv(vgg_net *net, const vgg_layer_info *info, struct net_layer *l,
                     vgg_error *err)
{
	char name[64];
	const vgg_tensor_info *w, *b;
	struct vgg__conv *c = &l->conv;
	c->in_c = info->in_c;
	c->out_c = info->out_c;
	c->kh = info->kernel[0];
	c->kw = info->kernel[1];
	c->pad = info->pad;
	c->relu = info->relu;
	uint64_t k = (uint64_t)c->in_c * (uint64_t)c->kh * (uint64_t)c->kw;
	uint64_t numel = k * (uint64_t)c->out_c;
	int rc;
	snprintf(name, sizeof name, "%s.weight", info->name);
	if ((rc = want_tensor(net, name, numel, &w, err)))
		return rc;
	/* [O, C, kh, kw] always; FC weights may also come flattened as [O, C*kh*kw]. */
	int64_t dims4[4] = {c->out_c, c->in_c, c->kh, c->kw}, dims2[2] = {c->out_c, (int64_t)k};
	if (info->kind == VGG_LAYER_FC && w->ndim == 2)
		rc = check_dims(w, dims2, 2, err);
	else
		rc = check_dims(w, dims4, 4, err);
	int64_t dims1[1] = {c->out_c};
	snprintf(name, sizeof name, "%s.bias", info->name);
	if (rc || (rc = want_tensor(net, name, (uint64_t)c->out_c, &b, err)) ||
	    (rc = check_dims(b, dims1, 1, err)))
		return rc;
	const vgg_tensor_info *bn[4] = {0};
	static const char *const bn_parts[4] = {"weight", "bias", "running_mean", "running_var"};
	for (int i = 0; info->batch_norm && i < 4; i++) {
		snprintf(name, sizeof name, "%s.bn.%s", info->name, bn_parts[i]);
		if ((rc = want_tensor(net, name, (uint64_t)c->out_c, &bn[i], err)) ||
		    (rc = check_dims(bn[i], dims1, 1, err)))
			return rc;
	}
	int mapped = !info->batch_norm && w->dtype == VGG_DTYPE_F32 && b->dtype == VGG_DTYPE_F32 &&
	             host_little_endian() && ((uintptr_t)w->data % 4) == 0 &&
	             ((uintptr_t)b->data % 4) == 0;
	if (mapped) {
		c->weight = w->data;
		c->bias = b->data;
		return VGG_OK;
	}
	l->owned = malloc((size_t)(numel + (uint64_t)c->out_c) * sizeof *l->owned);
	if (!l->owned)
		return vgg__fail(err, VGG_ENOMEM, "out of memory loading %s", info->name);
	float *weight = l->owned, *bias = l->owned + numel;
	vgg_tensor_to_float(w, weight);
	vgg_tensor_to_float(b, bias);
	if (info->batch_norm) {
		float *v = malloc((size_t)c->out_c * 4 * sizeof *v);
		if (!v)
			return vgg__fail(err, VGG_ENOMEM, "out of memory loading %s", info->name);
		for (int i = 0; i < 4; i++)
			vgg_tensor_to_float(bn[i], v + (size_t)i * (size_t)c->out_c);
		const char *eps_text = vgg_weights_meta(net->weights, "vgg.bn_eps");
		double eps = 1e-5;
		char *end = NULL;
		if (eps_text && ((eps = strtod(eps_text, &end)) < 0 || end == eps_text || *end)) {
			free(v);
			return vgg__fail(err, VGG_EPARSE, "vgg.bn_eps '%.40s' is not a number", eps_text);
		}
		for (int o = 0; o < c->out_c; o++) {
			double gamma = v[o], beta = v[c->out_c + o], mean = v[2 * c->out_c + o];
			double var = v[3 * c->out_c + o];
			double s = gamma / sqrt(var + eps);
			for (uint64_t j = 0; j < k; j++)
				weight[(uint64_t)o * k + j] = (float)(weight[(uint64_t)o * k + j] * s);
			bias[o] = (float)((bias[o] - mean) * s + beta);
		}
		free(v);
	}
	c->weight = weight;
	c->bias = bias;
	return VGG_OK;
}

static int parse_floats(const char *text, float *out, int n)
{
	for (int i = 0; i < n; i++) {
		char *end;
		out[i] = strtof(text, &end);
		if (end == text)
			return 0;
		text = end;
		while (*text == ',' || isspace((unsigned char)*text))
			text++;
	}
	return *text == 0;
}

/* A whole number in [0, 65536] filling all of text. */
static int parse_size(const char *text, int *out)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (end == text || *end || v < 0 || v > 65536)
		return 0;
	*out = (int)v;
	return 1;
}

/*
 * The preprocessing keys of vgg-weights(5).  Absent keys keep torchvision's conventions,
 * scaled to the net's own input: the crop is the input size and the resize 8/7 of it
 * (torchvision's 256 for 224).
 */
static int read_preprocess(vgg_net *net, vgg_error *err)
{
	const vgg_weights *w = net->weights;
	vgg_preprocess *p = &net->pre;
	const char *v;
	int ic, ih, iw;
	vgg_preprocess_torchvision(p);
	vgg_config_input(net->cfg, &ic, &ih, &iw);
	p->crop_h = ih;
	p->crop_w = iw;
	p->resize = ((ih < iw ? ih : iw) * 8 + 3) / 7;
	if ((v = vgg_weights_meta(w, "vgg.order"))) {
		if (strcmp(v, "RGB") != 0 && strcmp(v, "BGR") != 0)
			return vgg__fail(err, VGG_EPARSE, "vgg.order '%.40s' is not RGB or BGR", v);
		p->bgr = strcmp(v, "BGR") == 0;
	}
	if ((v = vgg_weights_meta(w, "vgg.scale")) && !parse_floats(v, &p->scale, 1))
		return vgg__fail(err, VGG_EPARSE, "vgg.scale '%.40s' is not a number", v);
	if ((v = vgg_weights_meta(w, "vgg.mean")) && !parse_floats(v, p->mean, 3))
		return vgg__fail(err, VGG_EPARSE, "vgg.mean '%.40s' is not three numbers", v);
	if ((v = vgg_weights_meta(w, "vgg.std")) && !parse_floats(v, p->std, 3))
		return vgg__fail(err, VGG_EPARSE, "vgg.std '%.40s' is not three numbers", v);
	if ((v = vgg_weights_meta(w, "vgg.resize")) && !parse_size(v, &p->resize))
		return vgg__fail(err, VGG_EPARSE, "vgg.resize '%.40s' is not a size", v);
	if ((v = vgg_weights_meta(w, "vgg.crop"))) {
		char hs[16] = "", *x = strchr(v, 'x');
		if (x && (size_t)(x - v) < sizeof hs)
			memcpy(hs, v, (size_t)(x - v));
		int ok = x ? parse_size(hs, &p->crop_h) && parse_size(x + 1, &p->crop_w)
		           : parse_size(v, &p->crop_h) && parse_size(v, &p->crop_w);
		if (!ok)
			return vgg__fail(err, VGG_EPARSE, "vgg.crop '%.40s' is not HxW or a size", v);
	}
	if ((v = vgg_weights_meta(w, "vgg.resize_filter"))) {
		if (strcmp(v, "pil-bilinear") == 0)
			p->filter = VGG_RESIZE_PIL_BILINEAR;
		else if (strcmp(v, "cv-linear") == 0)
			p->filter = VGG_RESIZE_CV_LINEAR;
		else
			return vgg__fail(err, VGG_EPARSE,
			                 "vgg.resize_filter '%.40s' is not pil-bilinear or cv-linear", v);
	}
	if (p->std[0] == 0 || p->std[1] == 0 || p->std[2] == 0)
		return vgg__fail(err, VGG_ERANGE, "vgg.std has a zero");
	return VGG_OK;
}

/* The input a file declares is an image the net will hold, and a few hundred bytes can
 * declare one of gigabytes (a GAP head has no weights in proportion to it): it is held to
 * VGG_MAX_PIXELS as decoded images are. */
static int check_input(const vgg_net *net, vgg_error *err)
{
	uint64_t limit;
	int c, h, w, rc = vgg__max_pixels("", &limit, err);
	if (rc)
		return rc;
	vgg_config_input(net->cfg, &c, &h, &w);
	if ((uint64_t)h * (uint64_t)w > limit)
		return vgg__fail(err, VGG_ERANGE, "its input of %dx%d is %llu pixels, over the limit "
		                 "of %llu (VGG_MAX_PIXELS)", h, w,
		                 (unsigned long long)h * (unsigned long long)w,
		                 (unsigned long long)limit);
	return VGG_OK;
}

static int read_labels(vgg_net *net, vgg_error *err)
{
	const char *text = vgg_weights_meta(net->weights, "vgg.labels");
	const char *list = vgg_weights_meta(net->weights, "vgg.label_list");
	if (!text && list && !(text = vgg_label_list(list)))
		return vgg__fail(err, VGG_ENOTFOUND, "no label list '%.60s'", list);
	if (!text)
		return VGG_OK;
	if (!(net->label_text = strdup(text)) ||
	    !(net->labels = calloc((size_t)net->classes + 1, sizeof *net->labels)))
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	int n = 0;
	for (char *line = net->label_text; line && *line; n++) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (n < net->classes)
			net->labels[n] = line;
		line = next;
	}
	if (n != net->classes)
		return vgg__fail(err, VGG_ESHAPE, "%d labels for %d classes", n, net->classes);
	return VGG_OK;
}

/* A message that does not yet name the weights file gets its name in front. */
static void name_file(vgg_error *err, const char *name)
{
	if (!err || strncmp(err->msg, "'", 1) == 0)
		return;
	char msg[sizeof err->msg];
	snprintf(msg, sizeof msg, "%s", err->msg);
	snprintf(err->msg, sizeof err->msg, "'%.200s': %.300s", name, msg);
}

int vgg_net_new(vgg_weights *w, vgg_net **out, vgg_error *err)
{
	*out = NULL;
	vgg_net *net = calloc(1, sizeof *net);
	if (!net) {
		vgg_weights_free(w);
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	}
	net->weights = w;
	const char *text = vgg_weights_meta(w, "vgg.config");
	int rc = text ? vgg_config_parse(text, "vgg.config", &net->cfg, err)
	              : vgg__fail(err, VGG_ENOTFOUND, "no vgg.config in the metadata");
	const char *round = vgg_weights_meta(w, "vgg.pool_round");
	if (!rc && round) {
		if (strcmp(round, "ceil") != 0 && strcmp(round, "floor") != 0)
			rc = vgg__fail(err, VGG_EPARSE, "vgg.pool_round '%.40s' is not ceil or floor",
			               round);
		else
			vgg_config_set_pool_ceil(net->cfg, strcmp(round, "ceil") == 0);
	}
	if (!rc)
		rc = check_input(net, err);
	if (!rc)
		rc = vgg_layout_new(net->cfg, 0, 0, 0, &net->own, err);
	if (!rc) {
		const char *name = vgg_weights_meta(w, "vgg.name");
		char *copy = name ? strdup(name) : NULL;
		if (name && !copy)
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
		if (copy) {
			free(net->cfg->name);
			net->cfg->name = copy;
		}
	}
	if (!rc) {
		net->count = vgg_layout_count(net->own);
		net->classes = vgg_config_classes(net->cfg);
		net->layers = calloc(net->count, sizeof *net->layers);
		if (!net->layers)
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
	}
	size_t expected = 0;
	for (size_t i = 0; !rc && i < net->count; i++) {
		const vgg_layer_info *info = vgg_layout_layer(net->own, i);
		net->layers[i].kind = info->kind;
		if (info->kind == VGG_LAYER_CONV || info->kind == VGG_LAYER_FC) {
			rc = load_conv(net, info, &net->layers[i], err);
			expected += info->batch_norm ? 6 : 2;
		}
	}
	if (!rc && expected != vgg_weights_count(w))
		rc = vgg__fail(err, VGG_ESHAPE, "%zu tensors, the config needs %zu",
		               vgg_weights_count(w), expected);
	if (!rc)
		rc = read_preprocess(net, err);
	if (!rc)
		rc = read_labels(net, err);
	if (rc) {
		name_file(err, vgg__weights_name(w));
		vgg_net_free(net);
		return rc;
	}
	*out = net;
	return VGG_OK;
}

int vgg_net_load(const char *path, vgg_net **out, vgg_error *err)
{
	vgg_weights *w;
	int rc = vgg_weights_open(path, &w, err);
	return rc ? rc : vgg_net_new(w, out, err);
}

void vgg_net_free(vgg_net *net)
{
	if (!net)
		return;
	for (size_t i = 0; net->layers && i < net->count; i++)
		free(net->layers[i].owned);
	free(net->layers);
	free(net->buf[0]);
	free(net->buf[1]);
	free(net->scratch);
	free(net->profile);
	free(net->labels);
	free(net->label_text);
	vgg_layout_free(net->own);
	vgg_config_free(net->cfg);
	vgg_weights_free(net->weights);
	free(net);
}

const vgg_config *vgg_net_config(const vgg_net *net)
{
	return net->cfg;
}

const vgg_preprocess *vgg_net_preprocess(const vgg_net *net)
{
	return &net->pre;
}

const char *vgg_net_label(const vgg_net *net, int i)
{
	return net->labels && i >= 0 && i < net->classes ? net->labels[i] : NULL;
}

int vgg_net_layer_index(const vgg_net *net, const char *name)
{
	const vgg_layer_info *l = vgg_layout_find(net->own, name);
	return l ? (int)(l - vgg_layout_layer(net->own, 0)) : -1;
}

int vgg_net_profile_start(vgg_net *net, vgg_error *err)
{
	if (!net->profile && !(net->profile = malloc(net->count * sizeof *net->profile)))
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	for (size_t i = 0; i < net->count; i++)
		net->profile[i] = (vgg_layer_profile){vgg_layout_layer(net->own, i)->name, 0, 0, 0};
	return VGG_OK;
}

int vgg_net_profile(const vgg_net *net, size_t i, vgg_layer_profile *out)
{
	if (i >= net->count)
		return 0;
	*out = net->profile ? net->profile[i]
	                    : (vgg_layer_profile){vgg_layout_layer(net->own, i)->name, 0, 0, 0};
	return 1;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Grows a buffer to hold `len` floats. */
static int reserve(float **buf, size_t *have, size_t len)
{
	if (len <= *have)
		return 1;
	float *grown = realloc(*buf, len * sizeof *grown);
	if (!grown)
		return 0;
	*buf = grown;
	*have = len;
	return 1;
}

struct shape {
	int c, h, w;
};

/* The output of layer i for input s; VGG_ESHAPE when it does not fit. */
static int next_shape(const vgg_net *net, size_t i, int dense, struct shape *s, vgg_error *err)
{
	const vgg_layer_info *info = vgg_layout_layer(net->own, i);
	switch (info->kind) {
	case VGG_LAYER_CONV:
		if (s->c != info->in_c)
			return vgg__fail(err, VGG_ESHAPE, "%s takes %d channels, not %d", info->name,
			                 info->in_c, s->c);
		s->c = info->out_c;
		break;
	case VGG_LAYER_FC:
		if (s->c != info->in_c)
			return vgg__fail(err, VGG_ESHAPE, "%s takes %d channels, not %d", info->name,
			                 info->in_c, s->c);
		if (!dense && (s->h != info->kernel[0] || s->w != info->kernel[1]))
			return vgg__fail(err, VGG_ESHAPE,
			                 "%s takes a %dx%d input, not %dx%d (use dense evaluation)",
			                 info->name, info->kernel[0], info->kernel[1], s->h, s->w);
		if (s->h < info->kernel[0] || s->w < info->kernel[1])
			return vgg__fail(err, VGG_ESHAPE, "input too small: %s's %dx%d window gets %dx%d",
			                 info->name, info->kernel[0], info->kernel[1], s->h, s->w);
		s->c = info->out_c;
		s->h = s->h - info->kernel[0] + 1;
		s->w = s->w - info->kernel[1] + 1;
		break;
	case VGG_LAYER_POOL:
		if (!net->cfg->pool_ceil && (s->h < 2 || s->w < 2))
			return vgg__fail(err, VGG_ESHAPE, "input too small: %s gets %dx%d", info->name,
			                 s->h, s->w);
		s->h = net->cfg->pool_ceil ? (s->h + 1) / 2 : s->h / 2;
		s->w = net->cfg->pool_ceil ? (s->w + 1) / 2 : s->w / 2;
		break;
	case VGG_LAYER_AVGPOOL:
		s->h = s->w = 1;
		break;
	case VGG_LAYER_LRN:
	case VGG_LAYER_SOFTMAX:
		break;
	}
	return VGG_OK;
}

int vgg_net_find_tap(const vgg_net *net, const char *name, vgg_tap *tap, vgg_error *err)
{
	const vgg_layer_info *l = vgg_layout_find(net->own, name);
	tap->relu = 0;
	if (!l && strncasecmp(name, "relu", 4) == 0 && name[4]) {
		/* Caffe names a ReLU after its layer: relu3_1 follows conv3_1, relu6 fc6. */
		char layer[64];
		snprintf(layer, sizeof layer, "%s%.50s", strchr(name + 4, '_') ? "conv" : "fc",
		         name + 4);
		if ((l = vgg_layout_find(net->own, layer)) && !l->relu)
			return vgg__fail(err, VGG_ENOTFOUND, "no layer '%s': %s has no ReLU", name,
			                 l->name);
		tap->relu = 1;
	}
	if (!l)
		return vgg__fail(err, VGG_ENOTFOUND, "no layer '%s'", name);
	tap->layer = (int)(l - vgg_layout_layer(net->own, 0));
	return VGG_OK;
}

/*
 * The forward pass both entry points share: layers from + 1 to the last tap's, with each
 * tap's output copied into outs[k] (malloc'd here) when outs is given.  A layer's ReLU runs
 * fused into its kernel unless a tap wants the value before it.  *y gets the last layer's
 * output as it stands in the net's buffers, *shape its shape.
 */
static int run(vgg_net *net, const float *input, int n, int c, int h, int w, int dense,
               int from, const vgg_tap *taps, size_t count, float **outs, int (*shapes)[4],
               const float **y, int shape[4], vgg_error *err)
{
	int last = -1;
	for (size_t k = 0; k < count; k++) {
		if (taps[k].layer <= from || taps[k].layer >= (int)net->count)
			return vgg__fail(err, VGG_ERANGE, "no layers to run (from %d to %d)", from,
			                 taps[k].layer);
		if (taps[k].relu && !net->layers[taps[k].layer].conv.relu)
			return vgg__fail(err, VGG_ERANGE, "%s has no ReLU",
			                 vgg_layout_layer(net->own, (size_t)taps[k].layer)->name);
		if (taps[k].layer > last)
			last = taps[k].layer;
	}
	if (n < 1 || c < 1 || h < 1 || w < 1 || from < -1 || last < 0)
		return vgg__fail(err, VGG_ERANGE, "no layers to run (from %d to %d)", from, last);
	if (from < 0 && !dense) {
		int ic, ih, iw;
		vgg_config_input(net->cfg, &ic, &ih, &iw);
		if (ih != h || iw != w)
			return vgg__fail(err, VGG_ESHAPE,
			                 "%s takes %dx%d images, not %dx%d (use dense evaluation)",
			                 net->cfg->name, ih, iw, h, w);
	}
	/* Plan first: shapes, buffer and scratch sizes, so nothing runs on a bad input. */
	struct shape s = {c, h, w};
	int relu_input = from >= 0 && net->layers[from].conv.relu;
	size_t biggest = relu_input ? (size_t)n * (size_t)c * (size_t)h * (size_t)w : 0;
	size_t scratch = 0;
	for (int i = from + 1; i <= last; i++) {
		struct shape before = s;
		int rc = next_shape(net, (size_t)i, dense, &s, err);
		if (rc)
			return rc;
		size_t len = (size_t)n * (size_t)s.c * (size_t)s.h * (size_t)s.w;
		if (len > biggest)
			biggest = len;
		const struct net_layer *l = &net->layers[i];
		if (l->kind == VGG_LAYER_CONV || l->kind == VGG_LAYER_FC) {
			size_t need = vgg__winograd_use(&l->conv, n, before.h, before.w)
			              ? vgg__winograd_scratch(&l->conv, n, before.h, before.w)
			              : vgg__conv_scratch(&l->conv, before.h, before.w);
			if (need > scratch)
				scratch = need;
		}
		for (size_t k = 0; outs && k < count; k++)
			if (taps[k].layer == i)
				memcpy(shapes[k], (int[4]){n, s.c, s.h, s.w}, sizeof shapes[k]);
	}
	int ok = reserve(&net->buf[0], &net->buf_len[0], biggest) &&
	         reserve(&net->buf[1], &net->buf_len[1], biggest) &&
	         reserve(&net->scratch, &net->scratch_len, scratch ? scratch : 1);
	for (size_t k = 0; ok && outs && k < count; k++) {
		size_t len = (size_t)shapes[k][0] * (size_t)shapes[k][1] * (size_t)shapes[k][2] *
		             (size_t)shapes[k][3];
		ok = (outs[k] = malloc(len * sizeof *outs[k])) != NULL;
	}
	if (!ok) {
		for (size_t k = 0; outs && k < count; k++) {
			free(outs[k]);
			outs[k] = NULL;
		}
		return vgg__fail(err, VGG_ENOMEM, "out of memory for activations");
	}
	const float *x = input;
	int which = 0;
	s = (struct shape){c, h, w};
	if (relu_input) {
		/* The input may have been taken before the ReLU that `from`'s kernel would fuse. */
		size_t len = (size_t)n * (size_t)c * (size_t)h * (size_t)w;
		for (size_t i = 0; i < len; i++)
			net->buf[1][i] = input[i] > 0 ? input[i] : 0;
		x = net->buf[1];
	}
	for (int i = from + 1; i <= last; i++) {
		struct shape in = s;
		next_shape(net, (size_t)i, dense, &s, NULL);
		float *out = net->buf[which];
		size_t len = (size_t)n * (size_t)s.c * (size_t)s.h * (size_t)s.w;
		const struct net_layer *l = &net->layers[i];
		int before = 0, after = 0;
		for (size_t k = 0; k < count; k++) {
			before |= taps[k].layer == i && !taps[k].relu;
			after |= taps[k].layer == i && taps[k].relu;
		}
		int fused = l->conv.relu && !before;
		double start = net->profile ? now() : 0;
		switch (l->kind) {
		case VGG_LAYER_CONV:
		case VGG_LAYER_FC: {
			struct vgg__conv conv = l->conv;
			conv.relu = fused;
			if (vgg__winograd_use(&conv, n, in.h, in.w))
				vgg__winograd_forward(&conv, x, n, in.h, in.w, out, net->scratch);
			else
				vgg__conv_forward(&conv, x, n, in.h, in.w, out, net->scratch);
			break;
		}
		case VGG_LAYER_POOL:
			vgg__maxpool_forward(x, n * in.c, in.h, in.w, net->cfg->pool_ceil, out);
			break;
		case VGG_LAYER_AVGPOOL:
			vgg__avgpool_forward(x, n * in.c, (size_t)in.h * (size_t)in.w, out);
			break;
		case VGG_LAYER_LRN:
			vgg__lrn_forward(x, n, in.c, in.h * in.w, out);
			break;
		case VGG_LAYER_SOFTMAX:
			vgg__softmax_forward(x, n, in.c, in.h * in.w, out);
			break;
		}
		for (size_t k = 0; outs && k < count; k++)
			if (taps[k].layer == i && !taps[k].relu)
				memcpy(outs[k], out, len * sizeof *out);
		if (l->conv.relu && !fused && (after || i < last))
			for (size_t j = 0; j < len; j++)
				out[j] = out[j] > 0 ? out[j] : 0;
		for (size_t k = 0; outs && k < count; k++)
			if (taps[k].layer == i && taps[k].relu)
				memcpy(outs[k], out, len * sizeof *out);
		if (net->profile) {
			vgg_layer_profile *p = &net->profile[i];
			p->seconds += now() - start;
			if (l->kind == VGG_LAYER_CONV || l->kind == VGG_LAYER_FC)
				p->flops += 2.0 * (double)len * l->conv.in_c * l->conv.kh * l->conv.kw;
			p->runs++;
		}
		x = out;
		which ^= 1;
	}
	*y = x;
	shape[0] = n;
	shape[1] = s.c;
	shape[2] = s.h;
	shape[3] = s.w;
	return VGG_OK;
}

int vgg_net_forward(vgg_net *net, const float *input, int n, int c, int h, int w, int dense,
                    int from, int to, const float **out, int shape[4], vgg_error *err)
{
	/* The last layer's output before its ReLU, as a features slice gives a conv's. */
	vgg_tap tap = {to < 0 ? (int)net->count - 1 : to, 0};
	return run(net, input, n, c, h, w, dense, from, &tap, 1, NULL, NULL, out, shape, err);
}

int vgg_net_forward_taps(vgg_net *net, const float *input, int n, int c, int h, int w,
                         int dense, int from, const vgg_tap *taps, size_t count, float **out,
                         int (*shapes)[4], vgg_error *err)
{
	const float *y;
	int shape[4];
	for (size_t k = 0; k < count; k++)
		out[k] = NULL;
	if (!count)
		return vgg__fail(err, VGG_ERANGE, "no layers to run (no taps)");
	return run(net, input, n, c, h, w, dense, from, taps, count, out, shapes, &y, shape, err);
}

