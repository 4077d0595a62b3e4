/*
 * erf.c: the effective receptive field of a layer's centre unit (Luo, Li, Urtasun and
 * Zemel, "Understanding the Effective Receptive Field in Deep Convolutional Neural
 * Networks", NIPS 2016).  A unit gradient at the centre of the layer's output, summed over
 * its channels, goes back to the input (train.c's vgg_trainer_input_gradient); |dL/dx|
 * summed over the input's channels and averaged over the inputs is the map.
 *
 * Only the layers up to the chosen one are built, at the inputs' size: the layers above it
 * play no part, and at another size their FC weights would not fit anyway.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

/* Inputs back-propagated at once: the trainer keeps every layer's output for each. */
#define ERF_BATCH 4

struct vgg_erf {
	vgg_trainer *t;
	vgg_layout *lay;             /* the truncated net at the inputs' size */
	const vgg_layer_info *layer; /* its last layer, the one asked for */
	int c, h, w;
	int inputs;
	double *sum;                 /* h x w: |dL/dx| summed over channels and inputs */
	double *map;                 /* h x w: the mean, made by vgg_erf_summarise */
	float *noise;                /* ERF_BATCH random inputs */
	struct dist_mass { double d, m; } *order; /* pixels by distance, for the radii */
};

void vgg_erf_free(vgg_erf *e)
{
	if (!e)
		return;
	vgg_trainer_free(e->t);
	vgg_layout_free(e->lay);
	free(e->sum);
	free(e->map);
	free(e->noise);
	free(e->order);
	free(e);
}

/* The index of `name` in `lay`, or of its last conv layer when name is NULL; -1 if none. */
static long find_layer(const vgg_layout *lay, const char *name)
{
	size_t n = vgg_layout_count(lay);
	if (name) {
		const vgg_layer_info *l = vgg_layout_find(lay, name);
		return l ? (long)(l - vgg_layout_layer(lay, 0)) : -1;
	}
	for (size_t i = n; i-- > 0;)
		if (vgg_layout_layer(lay, i)->kind == VGG_LAYER_CONV)
			return (long)i;
	return -1;
}

/* A copy of cfg that ends at layer `last`, for inputs of c x h x w. */
static int truncated(const vgg_config *cfg, size_t last, int c, int h, int w, vgg_config **out,
                     vgg_error *err)
{
	char *text = vgg_config_to_text(cfg);
	if (!text)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	int rc = vgg_config_parse(text, vgg_config_name(cfg), out, err);
	free(text);
	if (rc)
		return rc;
	vgg_config *copy = *out;
	copy->count = last + 1;
	vgg_config_set_pool_ceil(copy, vgg_config_pool_ceil(cfg));
	rc = vgg_config_set_name(copy, vgg_config_name(cfg), err);
	if (!rc)
		rc = vgg_config_set_input(copy, c, h, w, err);
	if (rc) {
		vgg_config_free(copy);
		*out = NULL;
	}
	return rc;
}

/* Whether the space-separated list `names` holds `name`. */
static int listed(const char *names, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = names; (p = strstr(p, name)); p += len)
		if ((p == names || p[-1] == ' ') && (p[len] == ' ' || p[len] == 0))
			return 1;
	return 0;
}

/* The weights into the trainer; every conv and FC layer up to the top must find its own. */
static int load_weights(vgg_erf *e, const vgg_weights *w, int cfg_h, int cfg_w, vgg_error *err)
{
	size_t count = vgg_layout_count(e->lay), cap = count * 40 + 1;
	char *copied = malloc(cap);
	if (!copied)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	int rc = vgg_trainer_copy_from(e->t, w, VGG_COPY_FINETUNE, copied, cap, err);
	/* Not one layer copied is a case of the message below, which names the layer. */
	if (rc == VGG_ENOTFOUND) {
		copied[0] = 0;
		rc = VGG_OK;
	}
	for (size_t i = 0; !rc && i < count; i++) {
		const vgg_layer_info *l = vgg_layout_layer(e->lay, i);
		if ((l->kind != VGG_LAYER_CONV && l->kind != VGG_LAYER_FC) || listed(copied, l->name))
			continue;
		char name[64];
		snprintf(name, sizeof name, "%s.weight", l->name);
		if (!vgg_weights_find(w, name))
			rc = vgg__fail(err, VGG_ENOTFOUND, "the weights have no %s", name);
		else if (l->kind == VGG_LAYER_FC && (e->h != cfg_h || e->w != cfg_w))
			rc = vgg__fail(err, VGG_ESHAPE, "%s's weights are for a %dx%d input, not %dx%d",
			               l->name, cfg_h, cfg_w, e->h, e->w);
		else
			rc = vgg__fail(err, VGG_ESHAPE, "the weights' %s tensors do not fit the config",
			               l->name);
	}
	free(copied);
	return rc;
}

int vgg_erf_new(const vgg_config *cfg, const vgg_weights *w, const char *layer, int height,
                int width, vgg_erf **out, vgg_error *err)
{
	*out = NULL;
	int c, cfg_h, cfg_w;
	vgg_config_input(cfg, &c, &cfg_h, &cfg_w);
	if (height == 0 && width == 0) {
		height = cfg_h;
		width = cfg_w;
	}
	vgg_layout *full;
	int rc = vgg_layout_new(cfg, 0, 0, 0, &full, err);
	if (rc)
		return rc;
	long top = find_layer(full, layer);
	const vgg_layer_info *info = top < 0 ? NULL : vgg_layout_layer(full, (size_t)top);
	if (!info)
		rc = layer ? vgg__fail(err, VGG_ENOTFOUND, "%s has no layer '%s'",
		                       vgg_config_name(cfg), layer)
		           : vgg__fail(err, VGG_ENOTFOUND, "%s has no conv layer",
		                       vgg_config_name(cfg));
	else if (info->kind == VGG_LAYER_SOFTMAX)
		rc = vgg__fail(err, VGG_ERANGE, "%s is the soft-max; take the layer before it",
		               info->name);
	vgg_layout_free(full);
	if (rc)
		return rc;

	vgg_erf *e = calloc(1, sizeof *e);
	vgg_config *part = NULL;
	if (!e)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	e->c = c;
	e->h = height;
	e->w = width;
	rc = truncated(cfg, (size_t)top, c, height, width, &part, err);
	if (!rc)
		rc = vgg_layout_new(part, 0, 0, 0, &e->lay, err);
	if (!rc)
		rc = vgg_trainer_new(part, &e->t, err);
	vgg_config_free(part);
	if (!rc) {
		e->layer = vgg_layout_layer(e->lay, vgg_layout_count(e->lay) - 1);
		rc = load_weights(e, w, cfg_h, cfg_w, err);
	}
	size_t plane = (size_t)height * (size_t)width;
	if (!rc && (!(e->sum = calloc(plane, sizeof *e->sum)) ||
	            !(e->map = malloc(plane * sizeof *e->map)) ||
	            !(e->order = malloc(plane * sizeof *e->order))))
		rc = vgg__fail(err, VGG_ENOMEM, "out of memory for a %dx%d map", height, width);
	if (rc) {
		vgg_erf_free(e);
		return rc;
	}
	*out = e;
	return VGG_OK;
}

int vgg_erf_add(vgg_erf *e, const float *x, int n, vgg_error *err)
{
	size_t plane = (size_t)e->h * (size_t)e->w, len = (size_t)e->c * plane;
	for (int done = 0; done < n;) {
		int m = n - done < ERF_BATCH ? n - done : ERF_BATCH;
		const float *dx;
		int rc = vgg_trainer_input_gradient(e->t, x + (size_t)done * len, m, e->layer->name,
		                                    &dx, err);
		if (rc)
			return rc;
		for (int i = 0; i < m; i++)
			for (int ch = 0; ch < e->c; ch++) {
				const float *g = dx + (size_t)i * len + (size_t)ch * plane;
				for (size_t p = 0; p < plane; p++)
					e->sum[p] += fabs((double)g[p]);
			}
		done += m;
		e->inputs += m;
	}
	return VGG_OK;
}

/* splitmix64: a well-mixed 64-bit value per call, reproducible from the state alone. */
static uint64_t next_u64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int vgg_erf_add_noise(vgg_erf *e, const vgg_preprocess *p, int n, uint64_t seed,
                      vgg_error *err)
{
	size_t plane = (size_t)e->h * (size_t)e->w, len = (size_t)e->c * plane;
	if (!e->noise && !(e->noise = malloc(ERF_BATCH * len * sizeof *e->noise)))
		return vgg__fail(err, VGG_ENOMEM, "out of memory for %d random inputs", ERF_BATCH);
	uint64_t state = seed;
	for (int done = 0; done < n;) {
		int m = n - done < ERF_BATCH ? n - done : ERF_BATCH;
		for (int i = 0; i < m; i++)
			for (int ch = 0; ch < e->c; ch++) {
				float *x = e->noise + (size_t)i * len + (size_t)ch * plane;
				int k = ch < 3 ? ch : 2; /* mean and std have three entries */
				for (size_t q = 0; q < plane; q++) {
					float pixel = (float)(next_u64(&state) >> 56);
					x[q] = (pixel * p->scale - p->mean[k]) / p->std[k];
				}
			}
		int rc = vgg_erf_add(e, e->noise, m, err);
		if (rc)
			return rc;
		done += m;
	}
	return VGG_OK;
}

static int by_distance(const void *a, const void *b)
{
	double x = ((const struct dist_mass *)a)->d, y = ((const struct dist_mass *)b)->d;
	return (x > y) - (x < y);
}

int vgg_erf_summarise(vgg_erf *e, vgg_erf_summary *s, vgg_error *err)
{
	memset(s, 0, sizeof *s);
	if (!e->inputs)
		return vgg__fail(err, VGG_ERANGE, "no inputs for the effective receptive field");
	const vgg_layer_info *l = e->layer;
	s->layer = l;
	s->channels = e->c;
	s->height = e->h;
	s->width = e->w;
	s->inputs = e->inputs;
	s->unit[0] = l->out_h / 2;
	s->unit[1] = l->out_w / 2;
	int rc = vgg_rf_unit_box(l, s->unit[0], s->unit[1], &s->box, err);
	if (rc)
		return rc;
	s->clipped = vgg_rf_clip(s->box, e->h, e->w);
	s->center[0] = (double)(s->box.y0 + s->box.y1) / 2;
	s->center[1] = (double)(s->box.x0 + s->box.x1) / 2;
	s->map = e->map;

	double total = 0, inside = 0, peak = 0;
	size_t n = 0;
	for (int y = 0; y < e->h; y++)
		for (int x = 0; x < e->w; x++) {
			size_t i = (size_t)y * (size_t)e->w + (size_t)x;
			double m = e->map[i] = e->sum[i] / e->inputs;
			/* In the same order as the total, so all the mass inside gives exactly 1. */
			total += m;
			if (y >= s->clipped.y0 && y <= s->clipped.y1 && x >= s->clipped.x0 &&
			    x <= s->clipped.x1)
				inside += m;
			if (m > peak)
				peak = m;
			if (m > 0)
				e->order[n++] = (struct dist_mass){hypot(y - s->center[0], x - s->center[1]), m};
		}
	s->peak = peak;
	if (!isfinite(total))
		return vgg__fail(err, VGG_ERANGE, "the gradient of %s's centre unit is not finite",
		                 l->name);
	if (!(total > 0))
		return vgg__fail(err, VGG_ERANGE,
		                 "the gradient of %s's centre unit is zero for every input", l->name);
	s->inside = inside / total;
	qsort(e->order, n, sizeof *e->order, by_distance);
	double sum = 0;
	int have50 = 0;
	s->r50 = s->r90 = e->order[n - 1].d;
	for (size_t i = 0; i < n; i++) {
		sum += e->order[i].m;
		if (!have50 && sum >= 0.5 * total) {
			s->r50 = e->order[i].d;
			have50 = 1;
		}
		if (sum >= 0.9 * total) {
			s->r90 = e->order[i].d;
			break;
		}
	}
	return VGG_OK;
}

/* ---- The heat map ---- */

/* A black-purple-red-orange-yellow ramp whose lightness rises throughout, after
 * matplotlib's "inferno": readable in gray and by the colour-blind. */
static struct vgg__colour heat(double v)
{
	static const struct vgg__colour ramp[] = {
		{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}
	};
	const int last = (int)(sizeof ramp / sizeof ramp[0]) - 1;
	v = v < 0 ? 0 : v > 1 ? 1 : v;
	double at = v * last;
	int i = at >= last ? last - 1 : (int)at;
	double f = at - i;
	const struct vgg__colour *a = &ramp[i], *b = &ramp[i + 1];
	return (struct vgg__colour){(unsigned char)lround(a->r + f * (b->r - a->r)),
	                            (unsigned char)lround(a->g + f * (b->g - a->g)),
	                            (unsigned char)lround(a->b + f * (b->b - a->b))};
}

#define HEAT_PAD 12
#define HEAT_MIN_WIDTH 380
#define HEAT_TARGET 512 /* small inputs are scaled up by whole pixels to about this */
#define HEAT_ROW 16     /* caption lines */

static const struct vgg__colour BACKGROUND = {24, 24, 24}, TEXT = {230, 230, 230},
                                BOX = {0, 200, 255}, CIRCLE = {255, 255, 255};

int vgg_erf_write_png(vgg_erf *e, const char *path, vgg_error *err)
{
	vgg_erf_summary s;
	int rc = vgg_erf_summarise(e, &s, err);
	if (rc)
		return rc;
	int side = e->h > e->w ? e->h : e->w;
	int k = side < HEAT_TARGET ? HEAT_TARGET / side : 1;
	int mw = e->w * k, mh = e->h * k;
	int cw = (mw > HEAT_MIN_WIDTH ? mw : HEAT_MIN_WIDTH) + 2 * HEAT_PAD;
	int ch = HEAT_PAD + mh + HEAT_PAD + 5 * HEAT_ROW + HEAT_PAD;
	struct vgg__canvas c;
	if ((rc = vgg__canvas_new(&c, cw, ch, BACKGROUND, "heat map", err)))
		return rc;
	int x0 = (cw - mw) / 2, y0 = HEAT_PAD;
	for (int y = 0; y < e->h; y++)
		for (int x = 0; x < e->w; x++)
			vgg__canvas_fill(&c, x0 + x * k, y0 + y * k, x0 + x * k + k - 1, y0 + y * k + k - 1,
			                 heat(s.map[(size_t)y * (size_t)e->w + (size_t)x] / s.peak));
	int line = k >= 4 ? 2 : 1;
	vgg__canvas_frame(&c, x0 + (int)s.clipped.x0 * k, y0 + (int)s.clipped.y0 * k,
	                  x0 + (int)s.clipped.x1 * k + k - 1, y0 + (int)s.clipped.y1 * k + k - 1,
	                  line, BOX);
	/* A pixel's coordinate is its centre, which on the canvas is half a pixel in. */
	double cx = x0 + (s.center[1] + 0.5) * k, cy = y0 + (s.center[0] + 0.5) * k;
	vgg__canvas_circle(&c, cx, cy, s.r50 * k, line, CIRCLE, 0);
	vgg__canvas_circle(&c, cx, cy, s.r90 * k, line, CIRCLE, 5);

	int tx = HEAT_PAD, ty = y0 + mh + HEAT_PAD;
	char text[256];
	snprintf(text, sizeof text, "%s, centre unit %lld,%lld: mean |gradient| of %d input%s",
	         s.layer->name, (long long)s.unit[0], (long long)s.unit[1], s.inputs,
	         s.inputs == 1 ? "" : "s");
	vgg__canvas_text(&c, tx, ty, text, 1, TEXT);
	ty += HEAT_ROW;
	int bar = cw - 2 * HEAT_PAD - 2 * 30;
	vgg__canvas_text(&c, tx, ty, "0", 1, TEXT);
	for (int i = 0; i < bar; i++)
		vgg__canvas_fill(&c, tx + 30 + i, ty - 1, tx + 30 + i, ty + 7,
		                 heat((double)i / (bar > 1 ? bar - 1 : 1)));
	vgg__canvas_text(&c, tx + 30 + bar + 6, ty, "max", 1, TEXT);
	ty += HEAT_ROW;
	vgg__canvas_frame(&c, tx, ty - 1, tx + 23, ty + 7, 1, BOX);
	snprintf(text, sizeof text, "theoretical receptive field, %lldx%lld (%lldx%lld in the image)",
	         (long long)(s.box.y1 - s.box.y0 + 1), (long long)(s.box.x1 - s.box.x0 + 1),
	         (long long)(s.clipped.y1 - s.clipped.y0 + 1),
	         (long long)(s.clipped.x1 - s.clipped.x0 + 1));
	vgg__canvas_text(&c, tx + 32, ty, text, 1, TEXT);
	ty += HEAT_ROW;
	vgg__canvas_line(&c, tx, ty + 3, tx + 23, ty + 3, 1, CIRCLE, 0, NULL);
	snprintf(text, sizeof text, "50%% of the mass within %.1f pixels of the centre", s.r50);
	vgg__canvas_text(&c, tx + 32, ty, text, 1, TEXT);
	ty += HEAT_ROW;
	vgg__canvas_line(&c, tx, ty + 3, tx + 23, ty + 3, 1, CIRCLE, 5, NULL);
	snprintf(text, sizeof text, "90%% within %.1f pixels; %.1f%% inside the box", s.r90,
	         100 * s.inside);
	vgg__canvas_text(&c, tx + 32, ty, text, 1, TEXT);

	rc = vgg_png_write(path, c.width, c.height, 3, c.rgb, err);
	vgg__canvas_free(&c);
	return rc;
}
