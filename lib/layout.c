/*
 * layout.c: a configuration laid out for one input size: every layer's output shape,
 * parameters, multiply-adds, activation memory and receptive field.
 *
 * Receptive fields follow Araujo et al., "Computing Receptive Fields of Convolutional
 * Neural Networks" (Distill, 2019), per axis, layer by layer:
 *   r_l = r_{l-1} + (k_l - 1) * j_{l-1}      receptive-field size
 *   j_l = j_{l-1} * s_l                      jump (effective stride)
 *   P_l = P_{l-1} + p_l * j_{l-1}            effective padding
 * so unit i of layer l spans input pixels [i*j_l - P_l, i*j_l - P_l + r_l - 1] and its
 * centre is i*j_l - P_l + (r_l - 1)/2, exact even where that is a half pixel.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

struct vgg_layout {
	int in_c, in_h, in_w;
	size_t count;
	vgg_layer_info *layers;
	char (*names)[sizeof ((struct vgg__layer_spec *)0)->name]; /* the layers' names, owned */
	uint64_t total_params, total_macs, total_memory;
};

/* a * b, or 0 with *overflow set; counts too large for 64 bits are refused, not wrapped. */
static uint64_t mul(uint64_t a, uint64_t b, int *overflow)
{
	uint64_t r;
	if (__builtin_mul_overflow(a, b, &r)) {
		*overflow = 1;
		return 0;
	}
	return r;
}

static uint64_t add(uint64_t a, uint64_t b, int *overflow)
{
	uint64_t r;
	if (__builtin_add_overflow(a, b, &r)) {
		*overflow = 1;
		return 0;
	}
	return r;
}

struct walk {
	int c, h, w;
	int64_t rf[2], jump[2], pad[2];
};

/* Advances the receptive field through a window of k[axis], stride s, padding p. */
static void grow_rf(struct walk *st, vgg_layer_info *l)
{
	for (int a = 0; a < 2; a++) {
		st->rf[a] += (int64_t)(l->kernel[a] - 1) * st->jump[a];
		st->pad[a] += (int64_t)l->pad * st->jump[a];
		st->jump[a] *= l->stride;
		l->rf[a] = st->rf[a];
		l->jump[a] = st->jump[a];
		l->eff_pad[a] = st->pad[a];
		l->center[a] = (double)(st->rf[a] - 1) / 2.0 - (double)st->pad[a];
	}
}

/*
 * One layer's geometry.  `fc_kernel` gives each FC layer's window when the layout is dense
 * (taken from a layout at the config's own size); NULL means the FC layer covers whatever
 * reaches it, as at the config's own size.
 */
static int place(const struct vgg__layer_spec *spec, int is_last_fc, const int *fc_kernel,
                 int pool_ceil, struct walk *st, vgg_layer_info *l, vgg_error *err)
{
	int overflow = 0;
	const char *name = l->name;
	memset(l, 0, sizeof *l);
	l->name = name;
	l->kind = spec->kind;
	l->in_c = st->c;
	l->stride = 1;
	l->kernel[0] = l->kernel[1] = 1;
	int out_h = st->h, out_w = st->w;
	switch (spec->kind) {
	case VGG_LAYER_CONV:
		l->kernel[0] = l->kernel[1] = spec->kernel;
		l->pad = spec->kernel / 2;
		l->out_c = spec->width;
		l->batch_norm = spec->batch_norm;
		l->relu = 1;
		break;
	case VGG_LAYER_FC:
		l->kernel[0] = fc_kernel ? fc_kernel[0] : st->h;
		l->kernel[1] = fc_kernel ? fc_kernel[1] : st->w;
		l->out_c = spec->width;
		l->relu = !is_last_fc;
		out_h = st->h - l->kernel[0] + 1;
		out_w = st->w - l->kernel[1] + 1;
		if (out_h < 1 || out_w < 1)
			return vgg__fail(err, VGG_ESHAPE,
			                 "input too small for dense evaluation: %s's %dx%d window "
			                 "gets a %dx%d input", l->name, l->kernel[0], l->kernel[1],
			                 st->h, st->w);
		break;
	case VGG_LAYER_POOL:
		l->kernel[0] = l->kernel[1] = 2;
		l->stride = 2;
		l->out_c = st->c;
		if (!pool_ceil && (st->h < 2 || st->w < 2))
			return vgg__fail(err, VGG_ESHAPE, "input too small: %s gets a %dx%d input",
			                 l->name, st->h, st->w);
		out_h = pool_ceil ? (st->h + 1) / 2 : st->h / 2;
		out_w = pool_ceil ? (st->w + 1) / 2 : st->w / 2;
		break;
	case VGG_LAYER_AVGPOOL:
		/* One window over whatever reaches it, in dense evaluation too. */
		l->kernel[0] = st->h;
		l->kernel[1] = st->w;
		l->out_c = st->c;
		out_h = out_w = 1;
		break;
	case VGG_LAYER_LRN:
	case VGG_LAYER_SOFTMAX:
		l->out_c = st->c;
		break;
	}
	l->out_h = out_h;
	l->out_w = out_w;
	if (spec->kind == VGG_LAYER_CONV || spec->kind == VGG_LAYER_FC) {
		uint64_t weights = mul(mul((uint64_t)l->in_c, (uint64_t)l->kernel[0], &overflow),
		                       mul((uint64_t)l->kernel[1], (uint64_t)l->out_c, &overflow),
		                       &overflow);
		l->params = add(weights, (uint64_t)l->out_c * (l->batch_norm ? 3 : 1), &overflow);
		l->macs = mul(weights, mul((uint64_t)out_h, (uint64_t)out_w, &overflow), &overflow);
	}
	l->memory = mul(mul((uint64_t)l->out_c, (uint64_t)out_h, &overflow),
	                mul((uint64_t)out_w, 4, &overflow), &overflow);
	if (overflow)
		return vgg__fail(err, VGG_ERANGE, "%s: counts exceed 64 bits", l->name);
	grow_rf(st, l);
	st->c = l->out_c;
	st->h = out_h;
	st->w = out_w;
	return VGG_OK;
}

static int lay_out(const vgg_config *cfg, int h, int w, const int (*fc_kernels)[2],
                   vgg_layout *lay, vgg_error *err)
{
	struct walk st = {cfg->in_c, h, w, {1, 1}, {1, 1}, {0, 0}};
	size_t last_fc = cfg->count;
	for (size_t i = 0; i < cfg->count; i++)
		if (cfg->layers[i].kind == VGG_LAYER_FC)
			last_fc = i;
	lay->in_c = cfg->in_c;
	lay->in_h = h;
	lay->in_w = w;
	lay->count = cfg->count;
	lay->total_params = lay->total_macs = lay->total_memory = 0;
	for (size_t i = 0; i < cfg->count; i++) {
		vgg_layer_info *l = &lay->layers[i];
		memcpy(lay->names[i], cfg->layers[i].name, sizeof lay->names[i]);
		l->name = lay->names[i];
		int rc = place(&cfg->layers[i], i == last_fc, fc_kernels ? fc_kernels[i] : NULL,
		               cfg->pool_ceil, &st, l, err);
		if (rc)
			return rc;
		int overflow = 0;
		lay->total_params = add(lay->total_params, l->params, &overflow);
		lay->total_macs = add(lay->total_macs, l->macs, &overflow);
		lay->total_memory = add(lay->total_memory, l->memory, &overflow);
		if (overflow)
			return vgg__fail(err, VGG_ERANGE, "%s: totals exceed 64 bits", cfg->name);
	}
	return VGG_OK;
}

int vgg_layout_new(const vgg_config *cfg, int dense, int height, int width, vgg_layout **out,
                   vgg_error *err)
{
	*out = NULL;
	vgg_layout *lay = calloc(1, sizeof *lay);
	int (*fc_kernels)[2] = NULL;
	if (lay) {
		lay->layers = calloc(cfg->count, sizeof *lay->layers);
		lay->names = calloc(cfg->count, sizeof *lay->names);
	}
	if (dense)
		fc_kernels = calloc(cfg->count, sizeof *fc_kernels);
	if (!lay || !lay->layers || !lay->names || (dense && !fc_kernels)) {
		free(fc_kernels);
		vgg_layout_free(lay);
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	}
	/* The FC windows come from the config's own size; only then can the size change. */
	int rc = lay_out(cfg, cfg->in_h, cfg->in_w, NULL, lay, err);
	if (!rc && dense) {
		for (size_t i = 0; i < cfg->count; i++)
			memcpy(fc_kernels[i], lay->layers[i].kernel, sizeof fc_kernels[i]);
		rc = lay_out(cfg, height, width, (const int (*)[2])fc_kernels, lay, err);
	}
	free(fc_kernels);
	if (rc) {
		vgg_layout_free(lay);
		return rc;
	}
	*out = lay;
	return VGG_OK;
}

void vgg_layout_free(vgg_layout *lay)
{
	if (!lay)
		return;
	free(lay->layers);
	free(lay->names);
	free(lay);
}

size_t vgg_layout_count(const vgg_layout *lay)
{
	return lay->count;
}

const vgg_layer_info *vgg_layout_layer(const vgg_layout *lay, size_t i)
{
	return i < lay->count ? &lay->layers[i] : NULL;
}

const vgg_layer_info *vgg_layout_find(const vgg_layout *lay, const char *name)
{
	for (size_t i = 0; i < lay->count; i++)
		if (strcasecmp(lay->layers[i].name, name) == 0)
			return &lay->layers[i];
	return NULL;
}

void vgg_layout_input(const vgg_layout *lay, int *channels, int *height, int *width)
{
	if (channels)
		*channels = lay->in_c;
	if (height)
		*height = lay->in_h;
	if (width)
		*width = lay->in_w;
}

uint64_t vgg_layout_total_params(const vgg_layout *lay)
{
	return lay->total_params;
}

uint64_t vgg_layout_total_macs(const vgg_layout *lay)
{
	return lay->total_macs;
}

uint64_t vgg_layout_total_memory(const vgg_layout *lay)
{
	return lay->total_memory;
}
