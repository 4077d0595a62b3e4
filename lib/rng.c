/*
 * rng.c: the library's own random numbers, so that a seed means the same thing on every
 * machine and at every thread count.  xoshiro256** (Blackman and Vigna, 2018) gives the
 * stream; its state comes from splitmix64 over a key of (seed, a, b), so that every image
 * of every epoch (and every other user) draws from its own stream whatever order the
 * draws happen in.
 */
#include <math.h>

#include "internal.h"

#define GAMMA 0x9e3779b97f4a7c15u

/* splitmix64's output function: a bijection that spreads every input bit. */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void vgg__rng_seed(struct vgg__rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
	uint64_t x = mix(seed + GAMMA) ^ a;
	x = mix(x + GAMMA) ^ b;
	x = mix(x + GAMMA);
	/* splitmix64 from the key: four outputs of it are never all zero. */
	for (int i = 0; i < 4; i++) {
		x += GAMMA;
		r->s[i] = mix(x);
	}
}

uint64_t vgg__rng_next(struct vgg__rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double vgg__rng_uniform(struct vgg__rng *r)
{
	return (double)(vgg__rng_next(r) >> 11) * 0x1p-53;
}

uint64_t vgg__rng_below(struct vgg__rng *r, uint64_t n)
{
	/* Draws under 2^64 mod n are rejected so that every remainder is equally likely. */
	uint64_t threshold = -n % n, x;
	do
		x = vgg__rng_next(r);
	while (x < threshold);
	return x % n;
}

double vgg__rng_normal(struct vgg__rng *r)
{
	/* Box-Muller; 1 - u lies in (0, 1], where the logarithm is finite. */
	double u = 1.0 - vgg__rng_uniform(r), v = vgg__rng_uniform(r);
	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

void vgg__rng_permutation(size_t *perm, size_t n, uint64_t seed, uint64_t a, uint64_t b)
{
	struct vgg__rng r;
	vgg__rng_seed(&r, seed, a, b);
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	/* Fisher-Yates from the end. */
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)vgg__rng_below(&r, i), t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}
