/*
 * test_grad.c: every backward kernel against finite differences of its forward kernel.
 * The loss is L = sum(y * r) for a fixed random r, so dL/dy = r and central differences
 * of L give each input's and parameter's gradient.
 */
#include <stdint.h>
#include <stdlib.h>

#include "layers.h"
#include "tap.h"

static uint64_t seed = 42;

static float rnd(void)
{
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((seed >> 40) / (double)(1 << 24)) * 2 - 1;
}

static float *randoms(size_t n)
{
	float *v = malloc(n * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = rnd();
	return v;
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

/* Largest |analytic - numeric| over the largest |numeric|. */
struct agree {
	double diff, max;
};

static void agree_add(struct agree *a, double analytic, double numeric)
{
	if (fabs(analytic - numeric) > a->diff)
		a->diff = fabs(analytic - numeric);
	if (fabs(numeric) > a->max)
		a->max = fabs(numeric);
}

static double agree_rel(const struct agree *a)
{
	return a->max > 0 ? a->diff / a->max : a->diff;
}

/* ---- convolution ---- */

struct conv_case {
	int in_c, out_c, k, pad, h, w, n;
	size_t every;     /* check every this many inputs and weights: big cases are slow */
	const char *what;
};

static double conv_loss(const struct vgg__conv *c, const float *x, int n, int h, int w,
                        const float *r, float *y, size_t ylen, float *scratch)
{
	vgg__conv_forward(c, x, n, h, w, y, scratch);
	return dot(y, r, ylen);
}

static void check_conv(const struct conv_case *cc)
{
	int oh = cc->h + 2 * cc->pad - cc->k + 1, ow = cc->w + 2 * cc->pad - cc->k + 1;
	size_t klen = (size_t)cc->in_c * (size_t)(cc->k * cc->k);
	size_t xlen = (size_t)cc->n * (size_t)cc->in_c * (size_t)(cc->h * cc->w);
	size_t ylen = (size_t)cc->n * (size_t)cc->out_c * (size_t)(oh * ow);
	float *wt = randoms(klen * (size_t)cc->out_c), *b = randoms((size_t)cc->out_c);
	float *x = randoms(xlen), *r = randoms(ylen), *y = malloc(ylen * sizeof *y);
	float *dw = calloc(klen * (size_t)cc->out_c, sizeof *dw);
	float *db = calloc((size_t)cc->out_c, sizeof *db), *dx = malloc(xlen * sizeof *dx);
	struct vgg__conv c = {cc->in_c, cc->out_c, cc->k, cc->k, cc->pad, 0, wt, b};
	size_t sl = vgg__conv_backward_scratch(&c, cc->h, cc->w) + 1;
	float *scratch = malloc(sl * sizeof *scratch);
	vgg__conv_backward(&c, x, r, cc->n, cc->h, cc->w, dw, db, dx, scratch);
	const float eps = 1e-2f;
	struct agree ax = {0}, aw = {0}, ab = {0};
	for (size_t i = 0; i < xlen; i += cc->every) {
		float keep = x[i];
		x[i] = keep + eps;
		double up = conv_loss(&c, x, cc->n, cc->h, cc->w, r, y, ylen, scratch);
		x[i] = keep - eps;
		double down = conv_loss(&c, x, cc->n, cc->h, cc->w, r, y, ylen, scratch);
		x[i] = keep;
		agree_add(&ax, dx[i], (up - down) / (2 * eps));
	}
	for (size_t i = 0; i < klen * (size_t)cc->out_c; i += cc->every) {
		float keep = wt[i];
		wt[i] = keep + eps;
		double up = conv_loss(&c, x, cc->n, cc->h, cc->w, r, y, ylen, scratch);
		wt[i] = keep - eps;
		double down = conv_loss(&c, x, cc->n, cc->h, cc->w, r, y, ylen, scratch);
		wt[i] = keep;
		agree_add(&aw, dw[i], (up - down) / (2 * eps));
	}
	for (int i = 0; i < cc->out_c; i++) {
		float keep = b[i];
		b[i] = keep + eps;
		double up = conv_loss(&c, x, cc->n, cc->h, cc->w, r, y, ylen, scratch);
		b[i] = keep - eps;
		double down = conv_loss(&c, x, cc->n, cc->h, cc->w, r, y, ylen, scratch);
		b[i] = keep;
		agree_add(&ab, db[i], (up - down) / (2 * eps));
	}
	CHECK(agree_rel(&ax) < 1e-3, "%s: input gradient (rel. error %.2g)", cc->what, agree_rel(&ax));
	CHECK(agree_rel(&aw) < 1e-3, "%s: weight gradient (rel. error %.2g)", cc->what,
	      agree_rel(&aw));
	CHECK(agree_rel(&ab) < 1e-3, "%s: bias gradient (rel. error %.2g)", cc->what, agree_rel(&ab));
	free(wt);
	free(b);
	free(x);
	free(r);
	free(y);
	free(dw);
	free(db);
	free(dx);
	free(scratch);
}

/* ---- layers without parameters: pooling, LRN ---- */

typedef void (*forward_fn)(const float *in, int n, int c, int h, int w, float *out);
typedef void (*backward_fn)(const float *in, const float *dy, int n, int c, int h, int w,
                            float *dx);

static int pool_ceil;

static void pool_fwd(const float *in, int n, int c, int h, int w, float *out)
{
	vgg__maxpool_forward(in, n * c, h, w, pool_ceil, out);
}

static void pool_bwd(const float *in, const float *dy, int n, int c, int h, int w, float *dx)
{
	vgg__maxpool_backward(in, dy, n * c, h, w, pool_ceil, dx);
}

static void avg_fwd(const float *in, int n, int c, int h, int w, float *out)
{
	vgg__avgpool_forward(in, n * c, (size_t)(h * w), out);
}

static void avg_bwd(const float *in, const float *dy, int n, int c, int h, int w, float *dx)
{
	(void)in;
	vgg__avgpool_backward(dy, n * c, (size_t)(h * w), dx);
}

static void lrn_fwd(const float *in, int n, int c, int h, int w, float *out)
{
	vgg__lrn_forward(in, n, c, h * w, out);
}

static void lrn_bwd(const float *in, const float *dy, int n, int c, int h, int w, float *dx)
{
	vgg__lrn_backward(in, dy, n, c, h * w, dx);
}

static void check_plain(forward_fn f, backward_fn b, int n, int c, int h, int w, size_t ylen,
                        float scale, const char *what)
{
	size_t xlen = (size_t)n * (size_t)c * (size_t)(h * w);
	float *x = randoms(xlen), *r = randoms(ylen), *y = malloc(ylen * sizeof *y);
	float *dx = malloc(xlen * sizeof *dx);
	/* Distinct inputs at least 2 / xlen apart, so no step of eps changes a window's maximum. */
	for (size_t i = 0; i < xlen; i++)
		x[i] = scale * (float)((double)((i * 7919) % xlen) * 2 / (double)xlen - 1);
	b(x, r, n, c, h, w, dx);
	/* Small steps: max pooling is piecewise linear and the inputs are far apart. */
	const float eps = 1e-3f * scale;
	struct agree a = {0};
	for (size_t i = 0; i < xlen; i++) {
		float keep = x[i];
		x[i] = keep + eps;
		f(x, n, c, h, w, y);
		double up = dot(y, r, ylen);
		x[i] = keep - eps;
		f(x, n, c, h, w, y);
		double down = dot(y, r, ylen);
		x[i] = keep;
		agree_add(&a, dx[i], (up - down) / (2 * eps));
	}
	CHECK(agree_rel(&a) < 2e-3, "%s: input gradient (rel. error %.2g)", what, agree_rel(&a));
	free(x);
	free(r);
	free(y);
	free(dx);
}

/* ---- batch norm ---- */

static void check_bn(void)
{
	enum { N = 3, C = 4, HW = 5 };
	size_t len = N * C * HW;
	float *z = randoms(len), *r = randoms(len), *gamma = randoms(C), *beta = randoms(C);
	float y[N * C * HW], xhat[N * C * HW], mean[C], var[C], dz[N * C * HW];
	float dgamma[C] = {0}, dbeta[C] = {0};
	const float eps = 1e-5f;
	vgg__bn_train_forward(z, N, C, HW, 0, C, gamma, beta, eps, y, xhat, mean, var);
	double m0 = 0, v0 = 0;
	for (int i = 0; i < N; i++)
		for (int j = 0; j < HW; j++)
			m0 += z[(size_t)i * C * HW + (size_t)j];
	m0 /= N * HW;
	for (int i = 0; i < N; i++)
		for (int j = 0; j < HW; j++)
			v0 += pow(z[(size_t)i * C * HW + (size_t)j] - m0, 2);
	v0 /= N * HW;
	CHECK(fabs(mean[0] - m0) < 1e-6 && fabs(var[0] - v0) < 1e-6,
	      "batch norm: the batch's mean and biased variance per channel");
	vgg__bn_backward(r, xhat, gamma, var, eps, N, C, HW, 0, C, dgamma, dbeta, dz);
	const float h = 1e-2f;
	struct agree az = {0}, ag = {0}, ab = {0};
	for (size_t i = 0; i < len; i++) {
		float keep = z[i];
		z[i] = keep + h;
		vgg__bn_train_forward(z, N, C, HW, 0, C, gamma, beta, eps, y, xhat, mean, var);
		double up = dot(y, r, len);
		z[i] = keep - h;
		vgg__bn_train_forward(z, N, C, HW, 0, C, gamma, beta, eps, y, xhat, mean, var);
		double down = dot(y, r, len);
		z[i] = keep;
		agree_add(&az, dz[i], (up - down) / (2 * h));
	}
	for (int c = 0; c < C; c++) {
		float *p[2] = {gamma, beta};
		struct agree *a[2] = {&ag, &ab};
		float got[2] = {dgamma[c], dbeta[c]};
		for (int k = 0; k < 2; k++) {
			float keep = p[k][c];
			p[k][c] = keep + h;
			vgg__bn_train_forward(z, N, C, HW, 0, C, gamma, beta, eps, y, xhat, mean, var);
			double up = dot(y, r, len);
			p[k][c] = keep - h;
			vgg__bn_train_forward(z, N, C, HW, 0, C, gamma, beta, eps, y, xhat, mean, var);
			double down = dot(y, r, len);
			p[k][c] = keep;
			agree_add(a[k], got[k], (up - down) / (2 * h));
		}
	}
	CHECK(agree_rel(&az) < 5e-3, "batch norm: input gradient (rel. error %.2g)", agree_rel(&az));
	CHECK(agree_rel(&ag) < 1e-3, "batch norm: scale gradient (rel. error %.2g)", agree_rel(&ag));
	CHECK(agree_rel(&ab) < 1e-3, "batch norm: shift gradient (rel. error %.2g)", agree_rel(&ab));
	free(z);
	free(r);
	free(gamma);
	free(beta);
}

/* ---- soft-max cross-entropy ---- */

static void check_xent(void)
{
	enum { N = 4, C = 7 };
	float *a = randoms(N * C), d[N * C], scratch[N * C];
	int labels[N] = {0, 3, 6, 2}, correct, c2;
	for (int i = 0; i < N * C; i++)
		a[i] *= 4;
	double loss = vgg__softmax_xent(a, labels, N, C, d, &correct);
	double want = 0;
	for (int i = 0; i < N; i++) {
		double sum = 0;
		for (int c = 0; c < C; c++)
			sum += exp(a[i * C + c]);
		want -= log(exp(a[i * C + labels[i]]) / sum);
	}
	CHECK(fabs(loss - want / N) < 1e-6, "cross-entropy: the mean of -log p[label]");
	struct agree g = {0};
	const float h = 1e-3f;
	for (int i = 0; i < N * C; i++) {
		float keep = a[i];
		a[i] = keep + h;
		double up = vgg__softmax_xent(a, labels, N, C, scratch, &c2);
		a[i] = keep - h;
		double down = vgg__softmax_xent(a, labels, N, C, scratch, &c2);
		a[i] = keep;
		agree_add(&g, d[i], (up - down) / (2 * h));
	}
	CHECK(agree_rel(&g) < 1e-3, "cross-entropy: logit gradient (rel. error %.2g)", agree_rel(&g));
	int right = 0;
	for (int i = 0; i < N; i++) {
		int best = 0;
		for (int c = 1; c < C; c++)
			if (a[i * C + c] > a[i * C + best])
				best = c;
		right += best == labels[i];
	}
	CHECK_EQ_INT(correct, right, "cross-entropy: rows whose top logit is the label");
	free(a);
}

int main(void)
{
	static const struct conv_case convs[] = {
		{2, 3, 3, 1, 5, 6, 2, 1, "conv3 pad 1 (VGG's)"},
		{3, 2, 1, 0, 4, 3, 2, 1, "conv1 (C's 1x1)"},
		{2, 3, 5, 2, 6, 5, 1, 1, "conv5 pad 2"},
		{3, 4, 3, 0, 3, 3, 3, 1, "FC as a window over the whole input"},
		/* 16 x 9 x 80 floats per output row: the column matrix comes in bands. */
		{16, 2, 3, 1, 100, 80, 1, 997, "conv3 over more rows than one band"},
	};
	for (size_t i = 0; i < sizeof convs / sizeof *convs; i++)
		check_conv(&convs[i]);
	pool_ceil = 0;
	check_plain(pool_fwd, pool_bwd, 2, 3, 6, 8, 2 * 3 * 3 * 4, 1, "max pool 2x2");
	check_plain(pool_fwd, pool_bwd, 1, 2, 5, 7, 2 * 2 * 3, 1, "max pool, odd sides dropped");
	pool_ceil = 1;
	check_plain(pool_fwd, pool_bwd, 1, 2, 5, 7, 2 * 3 * 4, 1, "max pool rounding up (Caffe)");
	check_plain(avg_fwd, avg_bwd, 2, 3, 3, 5, 2 * 3, 1, "global average pool (GAP head)");
	/* Large inputs, so the normalisation is far from the identity. */
	check_plain(lrn_fwd, lrn_bwd, 2, 7, 2, 3, 2 * 7 * 2 * 3, 60, "LRN across 5 channels");
	check_bn();
	check_xent();
	return tap_done();
}
