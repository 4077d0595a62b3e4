/*
 * winograd.c: 3x3 stride-1 pad-1 convolutions by Winograd's minimal filtering F(4x4, 3x3)
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).  Each 4x4
 * block of output (a tile) comes from the 6x6 block of input around it with 36
 * multiplications per pair of input and output channels, where im2col's GEMM does 144.
 *
 * The tiles of the whole batch are taken a block of tile rows at a time, sized so that
 * the block's transformed input stays in cache:
 *   1. each input tile d becomes B^T d B, into V[36][C][T] (threads split the channels);
 *   2. each thread takes a share of the output channels, a few at a time: it transforms
 *      their filters g into G g G^T, U[36][k][C], does the 36 GEMMs M[xi] = U[xi] V[xi]
 *      (OpenBLAS, single-threaded inside our threads), and turns each tile's m into its
 *      4x4 outputs A^T m A, adding the bias and applying the ReLU on the way out.
 * The filters are transformed again for each block rather than kept: all of VGG-16's
 * would take 235 MB, four times its conv weights, and a few output channels' take a few
 * MB that stay in cache; the transform costs about a GEMM of one tile row.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "layers.h"

/* Tiles' transformed input per block, in floats (8 MB), and output channels at a time:
 * more channels mean fewer times OpenBLAS copies V into its panels, and more scratch. */
#define BLOCK_FLOATS (2u << 20)
#define KBLOCK 128

int vgg__winograd_use(const struct vgg__conv *c, int n, int h, int w)
{
	const char *path = getenv("VGG_CONV");
	if (path && strcmp(path, "im2col") == 0)
		return 0;
	/* With three input channels (a first layer) the transforms cost more than they save;
	 * with few tiles (VGG's 14x14 layers for one image) the filters' transform does. */
	long tiles = (long)n * ((h + 3) / 4) * ((w + 3) / 4);
	return c->kh == 3 && c->kw == 3 && c->pad == 1 && c->in_c >= 8 && tiles >= 32;
}

static int threads(void)
{
	int t = vgg__threads();
	return t < 1 ? 1 : t > VGG__MAX_THREADS ? VGG__MAX_THREADS : t;
}

struct geometry {
	int th, tw;      /* tile rows and columns of one image */
	int rows;        /* tile rows of a block */
	int nth;         /* threads */
	size_t v;        /* floats of V */
	size_t thread;   /* floats of one thread's scratch */
};

/* Rounds a count of floats up to whole cache lines, so each part of the scratch starts
 * on one. */
static size_t lines(size_t floats)
{
	return (floats + 15) & ~(size_t)15;
}

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Places per phase of a deinterleaved input row (see deinterleave): tile t reads t + 1, and
 * whole groups of 8 tiles are read. */
static size_t qs(int tw)
{
	return round8((size_t)tw) + 8;
}

static struct geometry plan(const struct vgg__conv *c, int n, int h, int w)
{
	struct geometry g;
	g.th = (h + 3) / 4;
	g.tw = (w + 3) / 4;
	size_t per_row = 36 * (size_t)c->in_c * (size_t)g.tw;
	size_t rows = BLOCK_FLOATS / per_row;
	size_t all = (size_t)n * (size_t)g.th;
	g.rows = rows < 1 ? 1 : rows > all ? (int)all : (int)rows;
	g.nth = threads();
	size_t tiles = (size_t)g.rows * (size_t)g.tw, kb = KBLOCK;
	g.v = lines(36 * (size_t)c->in_c * tiles);
	/* As thread_parts lays it out. */
	g.thread = lines(36 * kb * (size_t)c->in_c) + lines(36 * kb * tiles) +
	           lines(24 * qs(g.tw)) + lines(4 * qs(g.tw)) + lines(16 * round8((size_t)g.tw));
	return g;
}

size_t vgg__winograd_scratch(const struct vgg__conv *c, int n, int h, int w)
{
	struct geometry g = plan(c, n, h, w);
	return g.v + (size_t)g.nth * g.thread;
}

/* Eight floats; the arithmetic below is written on them so that it runs as vector
 * instructions, AVX2 where the CPU has it (the clones are chosen when the library loads). */
typedef float v8 __attribute__((vector_size(32)));
#if defined(__x86_64__)
#define KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define KERNEL
#endif
/* Loads and stores at any float's alignment; macros, as a function passing a v8 by value
 * would have an ABI that depends on the clone. */
typedef float v8_any __attribute__((vector_size(32), aligned(4), may_alias));
#define load(p) (*(const v8_any *)(p))
#define store(p, v) (*(v8_any *)(p) = (v))

/*
 * An input row as rb needs it: x + 1 mod 4 picks the phase, (x + 1) / 4 the place, so
 * that the six columns of tile t are phase s % 4 at place t + s / 4.  row holds column x
 * at row[x + 1], zero around it, 32 qs / 8 floats.
 */
KERNEL static void deinterleave(const float *restrict row, size_t qs, float *restrict rb)
{
	for (size_t q = 0; q < qs; q += 8) {
		v8 a0 = load(row + 4 * q), a1 = load(row + 4 * q + 8);
		v8 a2 = load(row + 4 * q + 16), a3 = load(row + 4 * q + 24);
		v8 b0 = __builtin_shufflevector(a0, a1, 0, 4, 8, 12, 1, 5, 9, 13);
		v8 b1 = __builtin_shufflevector(a0, a1, 2, 6, 10, 14, 3, 7, 11, 15);
		v8 b2 = __builtin_shufflevector(a2, a3, 0, 4, 8, 12, 1, 5, 9, 13);
		v8 b3 = __builtin_shufflevector(a2, a3, 2, 6, 10, 14, 3, 7, 11, 15);
		store(rb + q, __builtin_shufflevector(b0, b2, 0, 1, 2, 3, 8, 9, 10, 11));
		store(rb + qs + q, __builtin_shufflevector(b0, b2, 4, 5, 6, 7, 12, 13, 14, 15));
		store(rb + 2 * qs + q, __builtin_shufflevector(b1, b3, 0, 1, 2, 3, 8, 9, 10, 11));
		store(rb + 3 * qs + q, __builtin_shufflevector(b1, b3, 4, 5, 6, 7, 12, 13, 14, 15));
	}
}

/*
 * One channel's tile row: from the six input rows around it, deinterleaved
 * (rb[(j * 4 + m) * qs + q] holds row j's column 4q + m - 1), the tw tiles' B^T d B into
 * v[xi * vs + t].  B^T is
 *   4  0 -5  0  1  0
 *   0 -4 -4  1  1  0
 *   0  4 -4 -1  1  0
 *   0 -2 -1  2  1  0
 *   0  2 -1 -2  1  0
 *   0  4  0 -5  0  1
 */
KERNEL static void input_row(const float *restrict rb, size_t qs, int tw, float *restrict v,
                             size_t vs)
{
	float tail[36 * 8];
	for (int t = 0; t < tw; t += 8) {
		v8 d[6][6], e[6][6];
		for (int j = 0; j < 6; j++)
			for (int s = 0; s < 6; s++)
				d[j][s] = load(rb + (size_t)(j * 4 + s % 4) * qs + (size_t)(t + s / 4));
		for (int s = 0; s < 6; s++) {
			v8 t1 = d[4][s] - 4 * d[2][s], t2 = d[3][s] - 4 * d[1][s];
			v8 t3 = d[4][s] - d[2][s], t4 = 2 * (d[3][s] - d[1][s]);
			e[0][s] = 4 * d[0][s] - 5 * d[2][s] + d[4][s];
			e[1][s] = t1 + t2;
			e[2][s] = t1 - t2;
			e[3][s] = t3 + t4;
			e[4][s] = t3 - t4;
			e[5][s] = 4 * d[1][s] - 5 * d[3][s] + d[5][s];
		}
		/* A last group of fewer than 8 tiles goes through `tail`: v's next floats may be
		 * another thread's. */
		int part = tw - t < 8;
		float *o = part ? tail : v + t;
		size_t os = part ? 8 : vs;
		for (int i = 0; i < 6; i++) {
			const v8 *r = e[i];
			v8 t1 = r[4] - 4 * r[2], t2 = r[3] - 4 * r[1];
			v8 t3 = r[4] - r[2], t4 = 2 * (r[3] - r[1]);
			float *p = o + (size_t)(i * 6) * os;
			store(p, 4 * r[0] - 5 * r[2] + r[4]);
			store(p + os, t1 + t2);
			store(p + 2 * os, t1 - t2);
			store(p + 3 * os, t3 + t4);
			store(p + 4 * os, t3 - t4);
			store(p + 5 * os, 4 * r[1] - 5 * r[3] + r[5]);
		}
		for (int xi = 0; part && xi < 36; xi++)
			memcpy(v + (size_t)xi * vs + (size_t)t, tail + xi * 8,
			       (size_t)(tw - t) * sizeof *tail);
	}
}

/*
 * One output channel's tile row: each tile's m (m[xi * ms + t]) into A^T m A, its 4x4
 * outputs, as four rows y[i * ys + x] of 4 round8(tw) values.  A^T is
 *   1  1  1  1  1  0
 *   0  1 -1  2 -2  0
 *   0  1  1  4  4  0
 *   0  1 -1  8 -8  1
 */
KERNEL static void output_row(const float *restrict m, size_t ms, int tw, float *restrict y,
                              size_t ys)
{
	float tail[36 * 8];
	for (int t = 0; t < tw; t += 8) {
		v8 a[6][6], e[4][6];
		/* m's floats after the last tile may be past its end: a last group of fewer than
		 * 8 tiles is copied out first. */
		int n = tw - t < 8 ? tw - t : 8;
		const float *src = m + t;
		size_t ss = ms;
		if (n < 8) {
			memset(tail, 0, sizeof tail);
			for (int xi = 0; xi < 36; xi++)
				memcpy(tail + xi * 8, m + (size_t)xi * ms + (size_t)t,
				       (size_t)n * sizeof *tail);
			src = tail;
			ss = 8;
		}
		for (int i = 0; i < 6; i++)
			for (int j = 0; j < 6; j++)
				a[i][j] = load(src + (size_t)(i * 6 + j) * ss);
		for (int j = 0; j < 6; j++) {
			v8 p = a[1][j] + a[2][j], q = a[1][j] - a[2][j];
			v8 r = a[3][j] + a[4][j], s = a[3][j] - a[4][j];
			e[0][j] = a[0][j] + p + r;
			e[1][j] = q + 2 * s;
			e[2][j] = p + 4 * r;
			e[3][j] = q + 8 * s + a[5][j];
		}
		for (int i = 0; i < 4; i++) {
			const v8 *b = e[i];
			v8 p = b[1] + b[2], q = b[1] - b[2], r = b[3] + b[4], s = b[3] - b[4];
			v8 y0 = b[0] + p + r, y1 = q + 2 * s, y2 = p + 4 * r, y3 = q + 8 * s + b[5];
			/* Tile t + l's four columns go to y[4 (t + l) + 0 .. 3]. */
			v8 lo01 = __builtin_shufflevector(y0, y1, 0, 8, 1, 9, 2, 10, 3, 11);
			v8 hi01 = __builtin_shufflevector(y0, y1, 4, 12, 5, 13, 6, 14, 7, 15);
			v8 lo23 = __builtin_shufflevector(y2, y3, 0, 8, 1, 9, 2, 10, 3, 11);
			v8 hi23 = __builtin_shufflevector(y2, y3, 4, 12, 5, 13, 6, 14, 7, 15);
			float *o = y + (size_t)i * ys + (size_t)(4 * t);
			store(o, __builtin_shufflevector(lo01, lo23, 0, 1, 8, 9, 2, 3, 10, 11));
			store(o + 8, __builtin_shufflevector(lo01, lo23, 4, 5, 12, 13, 6, 7, 14, 15));
			store(o + 16, __builtin_shufflevector(hi01, hi23, 0, 1, 8, 9, 2, 3, 10, 11));
			store(o + 24, __builtin_shufflevector(hi01, hi23, 4, 5, 12, 13, 6, 7, 14, 15));
		}
	}
}

/*
 * Filters k0 .. k0 + kb - 1 into u[xi * kb * C + k * C + c] = (G g G^T)[xi], eight input
 * channels at a time.  G is
 *    1/4     0     0
 *   -1/6  -1/6  -1/6
 *   -1/6   1/6  -1/6
 *   1/24  1/12   1/6
 *   1/24 -1/12   1/6
 *      0     0     1
 */
KERNEL static void filters(const struct vgg__conv *cv, int k0, int kb, float *restrict u)
{
	size_t C = (size_t)cv->in_c, us = (size_t)kb * C;
	float f[9][8], tail[36 * 8];
	for (int k = 0; k < kb; k++) {
		const float *restrict g = cv->weight + (size_t)(k0 + k) * C * 9;
		for (size_t c = 0; c < C; c += 8) {
			size_t n = C - c < 8 ? C - c : 8;
			memset(f, 0, sizeof f);
			for (size_t l = 0; l < n; l++)
				for (int r = 0; r < 9; r++)
					f[r][l] = g[(c + l) * 9 + (size_t)r];
			v8 e[6][3];
			for (int j = 0; j < 3; j++) {
				v8 a = load(f[j]), b = load(f[3 + j]), d = load(f[6 + j]);
				v8 s = -(a + d) * (1.0f / 6), p = a * (1.0f / 24) + d * (1.0f / 6);
				e[0][j] = a * 0.25f;
				e[1][j] = s - b * (1.0f / 6);
				e[2][j] = s + b * (1.0f / 6);
				e[3][j] = p + b * (1.0f / 12);
				e[4][j] = p - b * (1.0f / 12);
				e[5][j] = d;
			}
			float *o = n < 8 ? tail : u + (size_t)k * C + c;
			size_t os = n < 8 ? 8 : us;
			for (int i = 0; i < 6; i++) {
				v8 a = e[i][0], b = e[i][1], d = e[i][2];
				v8 s = -(a + d) * (1.0f / 6), p = a * (1.0f / 24) + d * (1.0f / 6);
				float *r = o + (size_t)(i * 6) * os;
				store(r, a * 0.25f);
				store(r + os, s - b * (1.0f / 6));
				store(r + 2 * os, s + b * (1.0f / 6));
				store(r + 3 * os, p + b * (1.0f / 12));
				store(r + 4 * os, p - b * (1.0f / 12));
				store(r + 5 * os, d);
			}
			for (int xi = 0; n < 8 && xi < 36; xi++)
				memcpy(u + (size_t)xi * us + (size_t)k * C + c, tail + xi * 8,
				       n * sizeof *tail);
		}
	}
}

struct job {
	const struct vgg__conv *c;
	const float *in;
	float *out;
	int n, h, w;
	struct geometry g;
	int parts;           /* threads of the parallel region */
	int r0, rows;        /* the block: tile rows r0 .. r0 + rows - 1 of the batch's */
	float *v, *scratch;  /* V, and the threads' scratch after it */
};

/* Thread i's scratch: U, M, the deinterleaved input rows, one padded input row and the
 * four output rows. */
struct parts {
	float *u, *m, *rb, *row, *y;
};

static struct parts thread_parts(const struct job *j, int i)
{
	struct parts p;
	size_t tiles = (size_t)j->g.rows * (size_t)j->g.tw;
	p.u = j->scratch + (size_t)i * j->g.thread;
	p.m = p.u + lines(36 * (size_t)KBLOCK * (size_t)j->c->in_c);
	p.rb = p.m + lines(36 * (size_t)KBLOCK * tiles);
	p.row = p.rb + lines(24 * qs(j->g.tw));
	p.y = p.row + lines(4 * qs(j->g.tw));
	return p;
}

/* Thread i's share of [0, n): whole multiples of `unit` but the last. */
static void share(int n, int parts, int i, int unit, int *lo, int *hi)
{
	int units = (n + unit - 1) / unit;
	*lo = (int)((long)units * i / parts) * unit;
	*hi = (int)((long)units * (i + 1) / parts) * unit;
	if (*hi > n)
		*hi = n;
	if (*lo > n)
		*lo = n;
}

static void transform_input(void *ctx, int i)
{
	const struct job *j = ctx;
	const struct vgg__conv *c = j->c;
	int h = j->h, w = j->w, tw = j->g.tw, th = j->g.th, c0, c1;
	size_t tiles = (size_t)j->rows * (size_t)tw, q = qs(tw);
	size_t vs = (size_t)c->in_c * tiles;
	struct parts p = thread_parts(j, i);
	share(c->in_c, j->parts, i, 1, &c0, &c1);
	for (int ch = c0; ch < c1; ch++) {
		for (int r = j->r0; r < j->r0 + j->rows; r++) {
			int img = r / th, ty = r % th;
			const float *plane = j->in + ((size_t)img * (size_t)c->in_c + (size_t)ch) *
			                     (size_t)h * (size_t)w;
			for (int k = 0; k < 6; k++) {
				int y = 4 * ty - 1 + k;
				float *dst = p.rb + (size_t)k * 4 * q;
				if (y < 0 || y >= h) {
					memset(dst, 0, 4 * q * sizeof *dst);
					continue;
				}
				p.row[0] = 0;
				memcpy(p.row + 1, plane + (size_t)y * (size_t)w, (size_t)w * sizeof *p.row);
				memset(p.row + w + 1, 0, (4 * q - (size_t)w - 1) * sizeof *p.row);
				deinterleave(p.row, q, dst);
			}
			input_row(p.rb, q, tw,
			          j->v + (size_t)ch * tiles + (size_t)(r - j->r0) * (size_t)tw, vs);
		}
	}
}

static void multiply(void *ctx, int i)
{
	const struct job *j = ctx;
	const struct vgg__conv *c = j->c;
	int h = j->h, w = j->w, tw = j->g.tw, th = j->g.th, C = c->in_c, k0, k1;
	int tiles = j->rows * tw;
	struct parts p = thread_parts(j, i);
	float *u = p.u, *m = p.m, *y = p.y;
	size_t ys = 4 * round8((size_t)tw);
	share(c->out_c, j->parts, i, 8, &k0, &k1);
	for (int kb0 = k0; kb0 < k1; kb0 += KBLOCK) {
		int kb = k1 - kb0 < KBLOCK ? k1 - kb0 : KBLOCK;
		filters(c, kb0, kb, u);
		for (int xi = 0; xi < 36; xi++)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kb, tiles, C, 1.0f,
			            u + (size_t)xi * (size_t)kb * (size_t)C, C,
			            j->v + (size_t)xi * (size_t)C * (size_t)tiles, tiles, 0.0f,
			            m + (size_t)xi * (size_t)kb * (size_t)tiles, tiles);
		for (int k = 0; k < kb; k++) {
			float b = c->bias[kb0 + k];
			for (int r = j->r0; r < j->r0 + j->rows; r++) {
				int img = r / th, ty = r % th;
				output_row(m + (size_t)k * (size_t)tiles + (size_t)(r - j->r0) * (size_t)tw,
				           (size_t)kb * (size_t)tiles, tw, y, ys);
				float *plane = j->out + ((size_t)img * (size_t)c->out_c + (size_t)(kb0 + k)) *
				               (size_t)h * (size_t)w;
				for (int a = 0; a < 4 && 4 * ty + a < h; a++) {
					float *o = plane + (size_t)(4 * ty + a) * (size_t)w;
					const float *s = y + (size_t)a * ys;
					if (c->relu)
						for (int x = 0; x < w; x++)
							o[x] = s[x] + b > 0 ? s[x] + b : 0;
					else
						for (int x = 0; x < w; x++)
							o[x] = s[x] + b;
				}
			}
		}
	}
}

void vgg__winograd_forward(const struct vgg__conv *c, const float *in, int n, int h, int w,
                           float *out, float *scratch)
{
	struct job j = {c, in, out, n, h, w, plan(c, n, h, w), 0, 0, 0, scratch, NULL};
	j.scratch = scratch + j.g.v;
	int all = n * j.g.th;
	int in_threads = j.g.nth < c->in_c ? j.g.nth : c->in_c;
	int out_threads = j.g.nth < (c->out_c + 7) / 8 ? j.g.nth : (c->out_c + 7) / 8;
	for (j.r0 = 0; j.r0 < all; j.r0 += j.g.rows) {
		j.rows = all - j.r0 < j.g.rows ? all - j.r0 : j.g.rows;
		j.parts = in_threads;
		vgg__parallel(in_threads, transform_input, &j);
		j.parts = out_threads;
		vgg__parallel(out_threads, multiply, &j);
	}
}
