/*
 * train.c: a net that learns.  The forward pass keeps every layer's output for the
 * backward pass, which runs the layers' backward kernels in reverse; SGD with momentum and
 * weight decay then moves the parameters, as PyTorch's torch.optim.SGD does:
 *   v = momentum * v + (g + weight_decay * w);  w -= lr * v.
 *
 * Memory: the parameters, their gradients and momentum each live in one array, in the
 * order of the layers (weight, bias, then batch norm's scale and shift), so they can be
 * written, restored or summed across processes in one piece.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "layers.h"

#define BN_MOMENTUM 0.1f

struct train_layer {
	const vgg_layer_info *info;
	struct vgg__conv conv;     /* weights point into the trainer's parameters */
	int in_c, in_h, in_w;
	size_t in_len, out_len;    /* floats per image */
	size_t param_at, stat_at;  /* offsets into params (weight, bias, gamma, beta), stats */
	size_t param_len;
	float *out;                /* the batch's outputs, after BN, ReLU and dropout */
	float *xhat, *mean, *var;  /* batch norm: normalised values and batch statistics */
	float *mask;               /* dropout: 0 or 1 / (1 - rate) per output */
	int dropout;               /* an FC layer before the last one */
	int dropped;               /* dropout applied in the last forward pass */
	int frozen;
};

struct vgg_trainer {
	vgg_config *cfg;
	vgg_layout *lay;
	size_t count, last;        /* layers; the last conv or FC, whose output is the logits */
	int trainable;             /* the last is an FC layer, whose outputs are class scores */
	struct train_layer *layers;
	float *params, *grads, *momentum, *stats;
	size_t nparams, nstats;
	float dropout, bn_eps;
	int batch;                 /* the batch the buffers are sized for */
	float *grad[2], *scratch;  /* ping-pong gradient buffers; conv scratch per thread */
	size_t grad_len, scratch_len;
	int slices;                /* threads a conv layer's batch is split across */
	float *partial;            /* per extra thread: its share of a conv layer's gradients */
	size_t partial_len;
	float *flipped;            /* a conv's filters flipped for its input gradient, zero bias */
	uint64_t steps;
	vgg_gradient_ready_fn *ready;
	void *ready_ctx;
};

static int is_weighted(enum vgg_layer_kind kind)
{
	return kind == VGG_LAYER_CONV || kind == VGG_LAYER_FC;
}

void vgg_trainer_free(vgg_trainer *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->layers && i < t->count; i++) {
		struct train_layer *l = &t->layers[i];
		free(l->out);
		free(l->xhat);
		free(l->mean);
		free(l->var);
		free(l->mask);
	}
	free(t->layers);
	free(t->params);
	free(t->grads);
	free(t->momentum);
	free(t->stats);
	free(t->grad[0]);
	free(t->grad[1]);
	free(t->scratch);
	free(t->partial);
	free(t->flipped);
	vgg_layout_free(t->lay);
	vgg_config_free(t->cfg);
	free(t);
}

/* The parameter layout of every layer, and where the logits come from. */
static void plan(vgg_trainer *t)
{
	int c, h, w;
	vgg_layout_input(t->lay, &c, &h, &w);
	size_t fcs = 0, seen_fc = 0;
	int have_last = 0;
	for (size_t i = 0; i < t->count; i++) {
		const vgg_layer_info *info = vgg_layout_layer(t->lay, i);
		fcs += info->kind == VGG_LAYER_FC;
		if (is_weighted(info->kind)) {
			t->last = i;
			have_last = 1;
		}
	}
	t->trainable = have_last && vgg_layout_layer(t->lay, t->last)->kind == VGG_LAYER_FC;
	if (!have_last)
		t->last = t->count - 1;
	for (size_t i = 0; i < t->count; i++) {
		struct train_layer *l = &t->layers[i];
		const vgg_layer_info *info = vgg_layout_layer(t->lay, i);
		l->info = info;
		l->in_c = c;
		l->in_h = h;
		l->in_w = w;
		l->in_len = (size_t)c * (size_t)h * (size_t)w;
		l->out_len = (size_t)info->out_c * (size_t)info->out_h * (size_t)info->out_w;
		if (is_weighted(info->kind)) {
			size_t k = (size_t)info->in_c * (size_t)info->kernel[0] * (size_t)info->kernel[1];
			l->conv = (struct vgg__conv){info->in_c, info->out_c, info->kernel[0],
			                             info->kernel[1], info->pad, 0, NULL, NULL};
			l->param_at = t->nparams;
			l->param_len = (k + 1 + (info->batch_norm ? 2 : 0)) * (size_t)info->out_c;
			t->nparams += l->param_len;
			l->stat_at = t->nstats;
			t->nstats += info->batch_norm ? 2 * (size_t)info->out_c : 0;
			if (info->kind == VGG_LAYER_FC)
				l->dropout = ++seen_fc < fcs;
		}
		c = info->out_c;
		h = info->out_h;
		w = info->out_w;
	}
}

/* Points each layer's conv at its weights in `params`. */
static void bind(vgg_trainer *t)
{
	for (size_t i = 0; i < t->count; i++) {
		struct train_layer *l = &t->layers[i];
		if (!is_weighted(l->info->kind))
			continue;
		size_t k = (size_t)l->conv.in_c * (size_t)l->conv.kh * (size_t)l->conv.kw;
		l->conv.weight = t->params + l->param_at;
		l->conv.bias = t->params + l->param_at + k * (size_t)l->conv.out_c;
	}
}

int vgg_trainer_new(const vgg_config *cfg, vgg_trainer **out, vgg_error *err)
{
	*out = NULL;
	vgg_trainer *t = calloc(1, sizeof *t);
	if (!t)
		return vgg__fail(err, VGG_ENOMEM, "out of memory");
	t->dropout = 0.5f;
	t->bn_eps = 1e-5f;
	char *text = vgg_config_to_text(cfg);
	int rc = text ? vgg_config_parse(text, vgg_config_name(cfg), &t->cfg, err)
	              : vgg__fail(err, VGG_ENOMEM, "out of memory");
	free(text);
	if (!rc && (rc = vgg_config_set_name(t->cfg, vgg_config_name(cfg), err)) == VGG_OK)
		vgg_config_set_pool_ceil(t->cfg, vgg_config_pool_ceil(cfg));
	if (!rc)
		rc = vgg_layout_new(t->cfg, 0, 0, 0, &t->lay, err);
	if (!rc) {
		t->count = vgg_layout_count(t->lay);
		if (!(t->layers = calloc(t->count, sizeof *t->layers)))
			rc = vgg__fail(err, VGG_ENOMEM, "out of memory");
	}
	if (!rc)
		plan(t);
	if (!rc && (!(t->params = calloc(t->nparams, sizeof *t->params)) ||
	            !(t->grads = calloc(t->nparams, sizeof *t->grads)) ||
	            !(t->momentum = calloc(t->nparams, sizeof *t->momentum)) ||
	            !(t->stats = calloc(t->nstats ? t->nstats : 1, sizeof *t->stats))))
		rc = vgg__fail(err, VGG_ENOMEM, "out of memory for %zu parameters", t->nparams);
	if (rc) {
		vgg_trainer_free(t);
		return rc;
	}
	bind(t);
	vgg_trainer_init(t, VGG_INIT_KAIMING, 0);
	*out = t;
	return VGG_OK;
}

const vgg_config *vgg_trainer_config(const vgg_trainer *t)
{
	return t->cfg;
}

void vgg_trainer_set_dropout(vgg_trainer *t, float rate)
{
	t->dropout = rate;
}

void vgg_trainer_init(vgg_trainer *t, enum vgg_init init, uint64_t seed)
{
	struct vgg__rng rng;
	vgg__rng_seed(&rng, seed, VGG__RNG_INIT, 0);
	for (size_t i = 0; i < t->count; i++) {
		struct train_layer *l = &t->layers[i];
		if (!is_weighted(l->info->kind))
			continue;
		size_t k = (size_t)l->conv.in_c * (size_t)l->conv.kh * (size_t)l->conv.kw;
		size_t o = (size_t)l->conv.out_c;
		double fan_in = (double)k, fan_out = (double)o * l->conv.kh * l->conv.kw;
		float *p = t->params + l->param_at;
		for (size_t j = 0; j < k * o; j++) {
			switch (init) {
			case VGG_INIT_NORMAL:
				p[j] = (float)(0.01 * vgg__rng_normal(&rng));
				break;
			case VGG_INIT_GLOROT: {
				double a = sqrt(6 / (fan_in + fan_out));
				p[j] = (float)(a * (2 * vgg__rng_uniform(&rng) - 1));
				break;
			}
			case VGG_INIT_KAIMING:
				p[j] = (float)(sqrt(2 / fan_in) * vgg__rng_normal(&rng));
				break;
			}
		}
		memset(p + k * o, 0, o * sizeof *p);
		if (l->info->batch_norm) {
			for (size_t j = 0; j < o; j++) {
				p[k * o + o + j] = 1;
				p[k * o + 2 * o + j] = 0;
				t->stats[l->stat_at + j] = 0;
				t->stats[l->stat_at + o + j] = 1;
			}
		}
	}
	memset(t->momentum, 0, t->nparams * sizeof *t->momentum);
	t->steps = 0;
}

/*
 * The conv whose forward pass is c's input gradient: for a stride-1 conv with padding
 * k - 1 - pad, the gradient at the input is the output's gradient convolved with the
 * filters turned half a turn, input and output channels swapped.  As a forward pass its
 * GEMM sums over out_c * k * k values, where col2im's sums over out_c alone (32 for a
 * first block: a thin GEMM), and it writes dx once instead of adding into it.  With
 * `to`, the flipped filters and a zero bias are written there and the result uses them.
 */
static struct vgg__conv flip(const struct vgg__conv *c, float *to)
{
	struct vgg__conv f = {c->out_c, c->in_c, c->kh, c->kw, c->kh - 1 - c->pad, 0, NULL, NULL};
	if (!to)
		return f;
	size_t taps = (size_t)c->kh * (size_t)c->kw;
	for (int o = 0; o < c->out_c; o++)
		for (int i = 0; i < c->in_c; i++) {
			const float *src = c->weight + ((size_t)o * (size_t)c->in_c + (size_t)i) * taps;
			float *dst = to + ((size_t)i * (size_t)c->out_c + (size_t)o) * taps;
			for (size_t k = 0; k < taps; k++)
				dst[k] = src[taps - 1 - k];
		}
	float *bias = to + (size_t)c->out_c * (size_t)c->in_c * taps;
	for (int i = 0; i < c->in_c; i++)
		bias[i] = 0;
	f.weight = to;
	f.bias = bias;
	return f;
}

/* Convs whose input gradient is the flipped conv's forward pass: those whose output is
 * their input's size (3x3 with padding 1, 1x1 without), so that the flipped conv's padding
 * is theirs. */
static int flips(const struct train_layer *l)
{
	return l->info->kind == VGG_LAYER_CONV && l->conv.kh == l->conv.kw &&
	       l->conv.kh == 2 * l->conv.pad + 1;
}

/* Sizes the activation and gradient buffers for batches of up to n. */
static int reserve(vgg_trainer *t, int n, vgg_error *err)
{
	int slices = vgg__threads() < n ? vgg__threads() : n;
	if (n <= t->batch && slices <= t->slices)
		return VGG_OK;
	if (n < t->batch)
		n = t->batch;
	size_t biggest = 0, scratch = 1, partial = 0, flipped = 0;
	for (size_t i = 0; i < t->count; i++) {
		struct train_layer *l = &t->layers[i];
		size_t len = (size_t)n * l->out_len;
		free(l->out);
		free(l->xhat);
		free(l->mask);
		l->xhat = l->mask = NULL;
		if (!(l->out = malloc(len * sizeof *l->out)))
			return vgg__fail(err, VGG_ENOMEM, "out of memory for activations");
		if (l->info->batch_norm && !l->mean &&
		    (!(l->mean = malloc((size_t)l->conv.out_c * sizeof *l->mean)) ||
		     !(l->var = malloc((size_t)l->conv.out_c * sizeof *l->var))))
			return vgg__fail(err, VGG_ENOMEM, "out of memory");
		if (l->info->batch_norm && !(l->xhat = malloc(len * sizeof *l->xhat)))
			return vgg__fail(err, VGG_ENOMEM, "out of memory for activations");
		if (l->dropout && !(l->mask = malloc(len * sizeof *l->mask)))
			return vgg__fail(err, VGG_ENOMEM, "out of memory");
		if (len > biggest)
			biggest = len;
		if ((size_t)n * l->in_len > biggest)
			biggest = (size_t)n * l->in_len;
		if (is_weighted(l->info->kind)) {
			struct vgg__conv f = flip(&l->conv, NULL);
			size_t need = vgg__conv_backward_scratch(&l->conv, l->in_h, l->in_w);
			if (need > scratch)
				scratch = need;
			if (flips(l) && (need = vgg__conv_scratch(&f, l->in_h, l->in_w)) > scratch)
				scratch = need;
			if (flips(l) && l->param_len > flipped)
				flipped = l->param_len;
			if (l->info->kind == VGG_LAYER_CONV && l->param_len > partial)
				partial = l->param_len;
		}
	}
	float *g0 = realloc(t->grad[0], biggest * sizeof *g0);
	if (g0)
		t->grad[0] = g0;
	float *g1 = g0 ? realloc(t->grad[1], biggest * sizeof *g1) : NULL;
	if (g1)
		t->grad[1] = g1;
	float *s = g1 ? realloc(t->scratch, scratch * (size_t)slices * sizeof *s) : NULL;
	if (s)
		t->scratch = s;
	float *p = s ? realloc(t->partial, (partial * (size_t)(slices - 1) + 1) * sizeof *p) : NULL;
	if (p)
		t->partial = p;
	float *f = p ? realloc(t->flipped, (flipped + 1) * sizeof *f) : NULL;
	if (!f)
		return vgg__fail(err, VGG_ENOMEM, "out of memory for gradients");
	t->flipped = f;
	t->grad_len = biggest;
	t->scratch_len = scratch;
	t->partial_len = partial;
	t->batch = n;
	t->slices = slices;
	return VGG_OK;
}

/* A conv layer's batch split into slices of images, one per thread. */
struct conv_job {
	vgg_trainer *t;
	const struct train_layer *l;
	const float *in, *dy;
	float *dx;
	int n, slices;
	const struct vgg__conv *flipped;  /* the input gradient's conv, or NULL for col2im */
};

static void slice_range(const struct conv_job *j, int i, int *first, int *count)
{
	*first = j->n * i / j->slices;
	*count = j->n * (i + 1) / j->slices - *first;
}

static void conv_forward_slice(void *ctx, int i)
{
	const struct conv_job *j = ctx;
	int a, n;
	slice_range(j, i, &a, &n);
	vgg__conv_forward(&j->l->conv, j->in + (size_t)a * j->l->in_len, n, j->l->in_h, j->l->in_w,
	                  j->l->out + (size_t)a * j->l->out_len,
	                  j->t->scratch + (size_t)i * j->t->scratch_len);
}

/* Slice 0 adds to the gradients themselves, the others to their own partial sums. */
static void conv_backward_slice(void *ctx, int i)
{
	const struct conv_job *j = ctx;
	const struct train_layer *l = j->l;
	int a, n;
	slice_range(j, i, &a, &n);
	size_t k = (size_t)l->conv.in_c * (size_t)l->conv.kh * (size_t)l->conv.kw;
	float *g = i ? j->t->partial + (size_t)(i - 1) * j->t->partial_len
	             : j->t->grads + l->param_at;
	if (i)
		memset(g, 0, (k + 1) * (size_t)l->conv.out_c * sizeof *g);
	float *dx = j->dx ? j->dx + (size_t)a * l->in_len : NULL;
	float *scratch = j->t->scratch + (size_t)i * j->t->scratch_len;
	const float *dy = j->dy + (size_t)a * l->out_len;
	vgg__conv_backward(&l->conv, j->in + (size_t)a * l->in_len, dy, n, l->in_h, l->in_w, g,
	                   g + k * (size_t)l->conv.out_c, j->flipped ? NULL : dx, scratch);
	if (dx && j->flipped)
		vgg__conv_forward(j->flipped, dy, n, l->in_h, l->in_w, dx, scratch);
}

/* Batch norm's channels split across the threads: each channel's sums are its own. */
struct bn_job {
	vgg_trainer *t;
	const struct train_layer *l;
	const float *gamma, *beta;
	float *dy, *dgamma, *dbeta;
	int n, hw, slices;
};

static void bn_forward_slice(void *ctx, int i)
{
	const struct bn_job *j = ctx;
	const struct train_layer *l = j->l;
	int c = l->conv.out_c;
	vgg__bn_train_forward(l->out, j->n, c, j->hw, c * i / j->slices, c * (i + 1) / j->slices,
	                      j->gamma, j->beta, j->t->bn_eps, l->out, l->xhat, l->mean, l->var);
}

static void bn_eval_slice(void *ctx, int i)
{
	const struct bn_job *j = ctx;
	const struct train_layer *l = j->l;
	int c = l->conv.out_c;
	const float *rm = j->t->stats + l->stat_at;
	vgg__bn_eval_forward(l->out, j->n, c, j->hw, c * i / j->slices, c * (i + 1) / j->slices,
	                     j->gamma, j->beta, rm, rm + c, j->t->bn_eps);
}

static void bn_backward_slice(void *ctx, int i)
{
	const struct bn_job *j = ctx;
	const struct train_layer *l = j->l;
	int c = l->conv.out_c;
	vgg__bn_backward(j->dy, l->xhat, j->gamma, l->var, j->t->bn_eps, j->n, c, j->hw,
	                 c * i / j->slices, c * (i + 1) / j->slices, j->dgamma, j->dbeta, j->dy);
}

/* FC layers are one GEMM over the batch, which OpenBLAS's own threads split better. */
static int conv_slices(const vgg_trainer *t, const struct train_layer *l, int n)
{
	if (l->info->kind != VGG_LAYER_CONV)
		return 1;
	return t->slices < n ? t->slices : n;
}

/*
 * The element-wise steps and the pools, split across the threads as the convs are: left on
 * one thread, they kept the other core idle for a tenth of a step.  `ref` is the ReLU's
 * output, whose zeros stop the gradient; without it the ReLU is applied to x.
 */
struct span_job {
	const struct train_layer *l;
	const float *in, *ref, *dy;
	float *x, *dx;
	size_t len;
	int planes, ceil, slices;
};

static void span_range(const struct span_job *j, size_t total, int i, size_t *a, size_t *b)
{
	*a = total * (size_t)i / (size_t)j->slices;
	*b = total * (size_t)(i + 1) / (size_t)j->slices;
}

static void relu_slice(void *ctx, int i)
{
	const struct span_job *j = ctx;
	size_t a, b;
	span_range(j, j->len, i, &a, &b);
	if (j->ref) {
		for (size_t k = a; k < b; k++)
			j->x[k] = j->ref[k] > 0 ? j->x[k] : 0;
	} else {
		for (size_t k = a; k < b; k++)
			j->x[k] = j->x[k] > 0 ? j->x[k] : 0;
	}
}

static void relu(const vgg_trainer *t, float *x, const float *ref, size_t len)
{
	struct span_job job = {.x = x, .ref = ref, .len = len, .slices = t->slices};
	vgg__parallel(job.slices, relu_slice, &job);
}

static void pool_forward_slice(void *ctx, int i)
{
	const struct span_job *j = ctx;
	const struct train_layer *l = j->l;
	size_t a, b;
	span_range(j, (size_t)j->planes, i, &a, &b);
	size_t in_plane = (size_t)l->in_h * (size_t)l->in_w;
	size_t out_plane = (size_t)l->info->out_h * (size_t)l->info->out_w;
	vgg__maxpool_forward(j->in + a * in_plane, (int)(b - a), l->in_h, l->in_w, j->ceil,
	                     l->out + a * out_plane);
}

static void pool_backward_slice(void *ctx, int i)
{
	const struct span_job *j = ctx;
	const struct train_layer *l = j->l;
	size_t a, b, in_plane = (size_t)l->in_h * (size_t)l->in_w;
	size_t out_plane = (size_t)l->info->out_h * (size_t)l->info->out_w;
	span_range(j, (size_t)j->planes, i, &a, &b);
	vgg__maxpool_backward(j->in + a * in_plane, j->dy + a * out_plane, (int)(b - a), l->in_h,
	                      l->in_w, j->ceil, j->dx + a * in_plane);
}

/*
 * Runs the batch through every layer up to the logits.  Training uses the batch's own
 * statistics in batch norm (updating the running ones) and dropout; evaluation uses the
 * running statistics and no dropout, as the net in vgg-predict will.
 */
static void forward(vgg_trainer *t, const float *x, int n, size_t top, int training,
                    struct vgg__rng *rng)
{
	const float *in = x;
	vgg__blas_hold(1);
	for (size_t i = 0; i <= top; i++) {
		struct train_layer *l = &t->layers[i];
		const vgg_layer_info *info = l->info;
		size_t len = (size_t)n * l->out_len;
		int hw = info->out_h * info->out_w;
		switch (info->kind) {
		case VGG_LAYER_CONV:
		case VGG_LAYER_FC: {
			struct conv_job job = {t, l, in, NULL, NULL, n, conv_slices(t, l, n), NULL};
			vgg__parallel(job.slices, conv_forward_slice, &job);
			if (info->batch_norm) {
				int o = info->out_c;
				const float *gamma = t->params + l->param_at + l->param_len - 2 * (size_t)o;
				const float *beta = gamma + o;
				float *rm = t->stats + l->stat_at, *rv = rm + o;
				if (training) {
					struct bn_job job = {t, l, gamma, beta, NULL, NULL, NULL, n, hw,
					                     t->slices < o ? t->slices : o};
					vgg__parallel(job.slices, bn_forward_slice, &job);
					/* PyTorch's running variance is the unbiased estimate. */
					double count = (double)n * hw;
					double unbias = count > 1 ? count / (count - 1) : 1;
					for (int c = 0; c < o; c++) {
						rm[c] = (1 - BN_MOMENTUM) * rm[c] + BN_MOMENTUM * l->mean[c];
						rv[c] = (1 - BN_MOMENTUM) * rv[c] +
						        (float)(BN_MOMENTUM * l->var[c] * unbias);
					}
				} else {
					struct bn_job job = {t, l, gamma, beta, NULL, NULL, NULL, n, hw,
					                     t->slices < o ? t->slices : o};
					vgg__parallel(job.slices, bn_eval_slice, &job);
				}
			}
			if (info->relu && i != t->last)
				relu(t, l->out, NULL, len);
			l->dropped = training && l->dropout && t->dropout > 0;
			if (l->dropped) {
				float keep = 1 / (1 - t->dropout);
				for (size_t j = 0; j < len; j++) {
					l->mask[j] = vgg__rng_uniform(rng) < t->dropout ? 0 : keep;
					l->out[j] *= l->mask[j];
				}
			}
			break;
		}
		case VGG_LAYER_POOL: {
			struct span_job job = {.l = l, .in = in, .planes = n * l->in_c,
			                       .ceil = t->cfg->pool_ceil, .slices = t->slices};
			vgg__parallel(job.slices, pool_forward_slice, &job);
			break;
		}
		case VGG_LAYER_AVGPOOL:
			vgg__avgpool_forward(in, n * l->in_c, (size_t)l->in_h * (size_t)l->in_w, l->out);
			break;
		case VGG_LAYER_LRN:
			vgg__lrn_forward(in, n, l->in_c, l->in_h * l->in_w, l->out);
			break;
		case VGG_LAYER_SOFTMAX:
			break;
		}
		in = l->out;
	}
	vgg__blas_hold(0);
}

/*
 * Back from the gradient at layer top's output (before its ReLU) in t->grad[0] to every
 * parameter's gradient, and to the input's, which ends in *dx_out, when `dx_out` is given.
 * `training` says which forward pass ran: batch norm with the batch's statistics, or with
 * the running ones, a fixed scale per channel.
 */
static void backward(vgg_trainer *t, const float *x, int n, size_t top, float **dx_out,
                     int training)
{
	/* Below the lowest trained layer no gradient is needed. */
	size_t lowest = top;
	for (size_t i = 0; i <= top; i++)
		if (is_weighted(t->layers[i].info->kind) && !t->layers[i].frozen) {
			lowest = i;
			break;
		}
	if (dx_out)
		lowest = 0;
	int which = 0;
	vgg__blas_hold(1);
	for (size_t i = top + 1; i-- > lowest;) {
		struct train_layer *l = &t->layers[i];
		const vgg_layer_info *info = l->info;
		const float *in = i ? t->layers[i - 1].out : x;
		float *dy = t->grad[which];
		float *dx = i > lowest || dx_out ? t->grad[which ^ 1] : NULL;
		size_t len = (size_t)n * l->out_len;
		int hw = info->out_h * info->out_w;
		switch (info->kind) {
		case VGG_LAYER_CONV:
		case VGG_LAYER_FC: {
			if (l->dropped)
				for (size_t j = 0; j < len; j++)
					dy[j] *= l->mask[j];
			if (info->relu && i != t->last && i != top)
				relu(t, dy, l->out, len);
			size_t k = (size_t)l->conv.in_c * (size_t)l->conv.kh * (size_t)l->conv.kw;
			size_t o = (size_t)l->conv.out_c;
			float *g = t->grads + l->param_at;
			if (info->batch_norm) {
				const float *gamma = t->params + l->param_at + l->param_len - 2 * o;
				const float *rv = t->stats + l->stat_at + o;
				if (training) {
					struct bn_job job = {t, l, gamma, NULL, dy, g + k * o + o, g + k * o + 2 * o,
					                     n, hw, t->slices < (int)o ? t->slices : (int)o};
					vgg__parallel(job.slices, bn_backward_slice, &job);
				} else {
					for (int s = 0; s < n; s++)
						for (size_t c = 0; c < o; c++) {
							float scale = gamma[c] / sqrtf(rv[c] + t->bn_eps);
							float *p = dy + ((size_t)s * o + c) * (size_t)hw;
							for (int j = 0; j < hw; j++)
								p[j] *= scale;
						}
				}
			}
			struct vgg__conv f = flips(l) && dx ? flip(&l->conv, t->flipped) : l->conv;
			struct conv_job job = {t, l, in, dy, dx, n, conv_slices(t, l, n),
			                       flips(l) && dx ? &f : NULL};
			vgg__parallel(job.slices, conv_backward_slice, &job);
			for (int s = 1; s < job.slices; s++) {
				const float *p = t->partial + (size_t)(s - 1) * t->partial_len;
				for (size_t j = 0; j < (k + 1) * o; j++)
					g[j] += p[j];
			}
			if (training && t->ready)
				t->ready(t->ready_ctx, l->param_at);
			break;
		}
		case VGG_LAYER_POOL: {
			struct span_job job = {.l = l, .in = in, .dy = dy, .dx = dx, .planes = n * l->in_c,
			                       .ceil = t->cfg->pool_ceil, .slices = t->slices};
			vgg__parallel(job.slices, pool_backward_slice, &job);
			break;
		}
		case VGG_LAYER_AVGPOOL:
			vgg__avgpool_backward(dy, n * l->in_c, (size_t)l->in_h * (size_t)l->in_w, dx);
			break;
		case VGG_LAYER_LRN:
			vgg__lrn_backward(in, dy, n, l->in_c, l->in_h * l->in_w, dx);
			break;
		case VGG_LAYER_SOFTMAX:
			break;
		}
		which ^= 1;
	}
	vgg__blas_hold(0);
	if (dx_out)
		*dx_out = t->grad[which];
}

static int check_batch(const vgg_trainer *t, const int *labels, int n, vgg_error *err)
{
	int classes = t->layers[t->last].info->out_c;
	if (!t->trainable)
		return vgg__fail(err, VGG_ESHAPE, "%s does not end in an FC layer to train against",
		                 t->cfg->name);
	if (n < 1)
		return vgg__fail(err, VGG_ERANGE, "an empty batch");
	for (int i = 0; i < n; i++)
		if (labels[i] < 0 || labels[i] >= classes)
			return vgg__fail(err, VGG_ERANGE, "label %d is outside the net's %d classes",
			                 labels[i], classes);
	return VGG_OK;
}

int vgg_trainer_gradients(vgg_trainer *t, const float *x, const int *labels, int n,
                          uint64_t seed, double *loss, int *correct, vgg_error *err)
{
	int rc = check_batch(t, labels, n, err);
	if (rc || (rc = reserve(t, n, err)))
		return rc;
	struct vgg__rng rng;
	vgg__rng_seed(&rng, seed, VGG__RNG_DROPOUT, 0);
	forward(t, x, n, t->last, 1, &rng);
	struct train_layer *top = &t->layers[t->last];
	memset(t->grads, 0, t->nparams * sizeof *t->grads);
	double l = vgg__softmax_xent(top->out, labels, n, top->info->out_c, t->grad[0], correct);
	backward(t, x, n, t->last, NULL, 1);
	if (loss)
		*loss = l;
	return VGG_OK;
}

float *vgg_trainer_gradient_data(vgg_trainer *t, size_t *count)
{
	*count = t->nparams;
	return t->grads;
}

void vgg_trainer_on_gradient_ready(vgg_trainer *t, vgg_gradient_ready_fn *fn, void *ctx)
{
	t->ready = fn;
	t->ready_ctx = ctx;
}

float *vgg_trainer_stat_data(vgg_trainer *t, size_t *count)
{
	*count = t->nstats;
	return t->stats;
}

void vgg_trainer_update(vgg_trainer *t, const vgg_sgd *sgd)
{
	for (size_t i = 0; i < t->count; i++) {
		struct train_layer *l = &t->layers[i];
		if (!is_weighted(l->info->kind) || l->frozen)
			continue;
		float *w = t->params + l->param_at, *g = t->grads + l->param_at;
		float *v = t->momentum + l->param_at;
		for (size_t j = 0; j < l->param_len; j++) {
			v[j] = sgd->momentum * v[j] + g[j] + sgd->weight_decay * w[j];
			w[j] -= sgd->lr * v[j];
		}
	}
	t->steps++;
}

int vgg_trainer_evaluate(vgg_trainer *t, const float *x, const int *labels, int n,
                         double *loss, int *top1, int *top5, vgg_error *err)
{
	int rc = check_batch(t, labels, n, err);
	if (rc || (rc = reserve(t, n, err)))
		return rc;
	forward(t, x, n, t->last, 0, NULL);
	struct train_layer *top = &t->layers[t->last];
	int c = top->info->out_c;
	*loss = vgg__softmax_xent(top->out, labels, n, c, t->grad[0], top1);
	*top5 = 0;
	for (int i = 0; i < n; i++) {
		const float *a = top->out + (size_t)i * (size_t)c;
		int above = 0;
		for (int j = 0; j < c; j++)
			above += a[j] > a[labels[i]];
		*top5 += above < 5;
	}
	return VGG_OK;
}

int vgg_trainer_input_gradient(vgg_trainer *t, const float *x, int n, const char *layer,
                               const float **dx, vgg_error *err)
{
	const vgg_layer_info *info = vgg_layout_find(t->lay, layer);
	if (!info)
		return vgg__fail(err, VGG_ENOTFOUND, "no layer '%s' in %s", layer, t->cfg->name);
	size_t top = (size_t)(info - vgg_layout_layer(t->lay, 0));
	if (info->kind == VGG_LAYER_SOFTMAX)
		return vgg__fail(err, VGG_ERANGE, "%s is the soft-max; take the layer before it",
		                 info->name);
	int rc = n < 1 ? vgg__fail(err, VGG_ERANGE, "no inputs") : reserve(t, n, err);
	if (rc)
		return rc;
	forward(t, x, n, top, 0, NULL);
	size_t plane = (size_t)info->out_h * (size_t)info->out_w;
	size_t centre = (size_t)(info->out_h / 2) * (size_t)info->out_w + (size_t)(info->out_w / 2);
	memset(t->grad[0], 0, (size_t)n * t->layers[top].out_len * sizeof *t->grad[0]);
	for (size_t p = 0; p < (size_t)n * (size_t)info->out_c; p++)
		t->grad[0][p * plane + centre] = 1;
	float *g;
	backward(t, x, n, top, &g, 0);
	*dx = g;
	return VGG_OK;
}

uint64_t vgg_trainer_steps(const vgg_trainer *t)
{
	return t->steps;
}

int vgg_trainer_freeze(vgg_trainer *t, const char *name, vgg_error *err)
{
	const vgg_layer_info *info = vgg_layout_find(t->lay, name);
	if (!info)
		return vgg__fail(err, VGG_ENOTFOUND, "no layer '%s' in %s", name, t->cfg->name);
	if (!is_weighted(info->kind))
		return vgg__fail(err, VGG_ERANGE, "%s has no weights to freeze", info->name);
	t->layers[info - vgg_layout_layer(t->lay, 0)].frozen = 1;
	return VGG_OK;
}

/* ---- Parameters in and out, by tensor name (vgg-weights(5)) ---- */

enum part { PART_WEIGHT, PART_BIAS, PART_GAMMA, PART_BETA, PART_MEAN, PART_VAR, PARTS };
static const char *const part_names[PARTS] = {"weight", "bias", "bn.weight", "bn.bias",
                                              "bn.running_mean", "bn.running_var"};

/* Where part p of layer l lives, and how many floats it has; NULL when it has none. */
static float *part_data(vgg_trainer *t, const struct train_layer *l, enum part p, float *base,
                        size_t *len)
{
	size_t k = (size_t)l->conv.in_c * (size_t)l->conv.kh * (size_t)l->conv.kw;
	size_t o = (size_t)l->conv.out_c;
	*len = p == PART_WEIGHT ? k * o : o;
	if (p >= PART_GAMMA && !l->info->batch_norm)
		return NULL;
	switch (p) {
	case PART_WEIGHT:
		return base + l->param_at;
	case PART_BIAS:
		return base + l->param_at + k * o;
	case PART_GAMMA:
		return base + l->param_at + k * o + o;
	case PART_BETA:
		return base + l->param_at + k * o + 2 * o;
	case PART_MEAN:
		return t->stats + l->stat_at;
	default:
		return t->stats + l->stat_at + o;
	}
}

static void part_shape(const struct train_layer *l, enum part p, int *ndim, int64_t shape[4])
{
	if (p != PART_WEIGHT) {
		*ndim = 1;
		shape[0] = l->conv.out_c;
	} else if (l->info->kind == VGG_LAYER_FC) {
		*ndim = 2;
		shape[0] = l->conv.out_c;
		shape[1] = (int64_t)l->conv.in_c * l->conv.kh * l->conv.kw;
	} else {
		*ndim = 4;
		shape[0] = l->conv.out_c;
		shape[1] = l->conv.in_c;
		shape[2] = l->conv.kh;
		shape[3] = l->conv.kw;
	}
}

int vgg_trainer_write(vgg_trainer *t, vgg_weights_writer *wr, int with_momentum, vgg_error *err)
{
	for (size_t i = 0; i < t->count; i++) {
		struct train_layer *l = &t->layers[i];
		if (!is_weighted(l->info->kind))
			continue;
		for (int p = 0; p < PARTS; p++) {
			size_t len;
			float *data = part_data(t, l, (enum part)p, t->params, &len);
			if (!data)
				continue;
			int ndim;
			int64_t shape[4];
			part_shape(l, (enum part)p, &ndim, shape);
			char name[96];
			snprintf(name, sizeof name, "%s.%s", l->info->name, part_names[p]);
			int rc = vgg_weights_writer_add(wr, name, ndim, shape, data, err);
			float *v = p < PART_MEAN ? part_data(t, l, (enum part)p, t->momentum, &len) : NULL;
			if (!rc && with_momentum && v) {
				snprintf(name, sizeof name, "%s.%s.momentum", l->info->name, part_names[p]);
				rc = vgg_weights_writer_add(wr, name, ndim, shape, v, err);
			}
			if (rc)
				return rc;
		}
	}
	return VGG_OK;
}

/* Copies tensor `name` into dst when it exists with len values; 1 if copied. */
static int take(const vgg_weights *w, const char *name, float *dst, size_t len)
{
	const vgg_tensor_info *ti = vgg_weights_find(w, name);
	if (!ti || ti->numel != len || !vgg_dtype_is_float(ti->dtype))
		return 0;
	vgg_tensor_to_float(ti, dst);
	return 1;
}

static int copy_layer(vgg_trainer *t, const struct train_layer *l, const vgg_weights *w,
                      int with_momentum)
{
	float *tmp[PARTS] = {0};
	size_t len[PARTS];
	int ok = 1;
	/* All parts or none, so a layer is never half copied. */
	for (int p = 0; ok && p < PARTS; p++) {
		float *dst = part_data(t, l, (enum part)p, t->params, &len[p]);
		if (!dst)
			continue;
		char name[96];
		snprintf(name, sizeof name, "%s.%s", l->info->name, part_names[p]);
		ok = (tmp[p] = malloc(len[p] * sizeof *tmp[p])) && take(w, name, tmp[p], len[p]);
	}
	for (int p = 0; ok && p < PARTS; p++)
		if (tmp[p])
			memcpy(part_data(t, l, (enum part)p, t->params, &len[p]), tmp[p],
			       len[p] * sizeof *tmp[p]);
	for (int p = 0; p < PARTS; p++)
		free(tmp[p]);
	for (int p = 0; ok && with_momentum && p < PART_MEAN; p++) {
		float *dst = part_data(t, l, (enum part)p, t->momentum, &len[p]);
		char name[96];
		snprintf(name, sizeof name, "%s.%s.momentum", l->info->name, part_names[p]);
		if (dst && !take(w, name, dst, len[p]))
			ok = 0;
	}
	return ok;
}

int vgg_trainer_copy_from(vgg_trainer *t, const vgg_weights *w, enum vgg_copy how,
                          char *copied, size_t copied_size, vgg_error *err)
{
	size_t at = 0;
	int convs = 0, any = 0;
	if (copied_size)
		copied[0] = 0;
	for (size_t i = 0; i < t->count; i++) {
		struct train_layer *l = &t->layers[i];
		if (!is_weighted(l->info->kind))
			continue;
		int is_conv = l->info->kind == VGG_LAYER_CONV;
		/* The paper's surgery: a shallower net's first four convs and its FC layers. */
		if (how == VGG_COPY_SURGERY && is_conv && convs >= 4)
			continue;
		char name[96];
		snprintf(name, sizeof name, "%s.weight", l->info->name);
		int present = vgg_weights_find(w, name) != NULL;
		if (how == VGG_COPY_SURGERY && is_conv && present)
			convs++;
		if (!copy_layer(t, l, w, how == VGG_COPY_RESUME)) {
			if (how == VGG_COPY_RESUME)
				return vgg__fail(err, VGG_ESHAPE,
				                 "the checkpoint lacks %s or its momentum, or their shapes "
				                 "differ from the net's",
				                 l->info->name);
			continue;
		}
		any = 1;
		if (at + 1 < copied_size)
			at += (size_t)snprintf(copied + at, copied_size - at, "%s%s", at ? " " : "",
			                       l->info->name);
		if (at >= copied_size)
			at = copied_size - 1;
	}
	if (!any)
		return vgg__fail(err, VGG_ENOTFOUND,
		                 "no layer of %s has weights of the same name and shape there",
		                 t->cfg->name);
	return VGG_OK;
}

void vgg_trainer_set_steps(vgg_trainer *t, uint64_t steps)
{
	t->steps = steps;
}
