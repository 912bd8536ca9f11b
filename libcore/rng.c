/* rng.c — Philox4x32-10 on the host, and the uniform and normal floats made
 * from its words bit for bit as shaders/philox.glsl makes them. */
#include <assert.h>
#include <string.h>
#include "dg/rng.h"

/* Bit-exactness with shaders needs every float operation rounded on its
 * own: no fused multiply-add.  gcc's -std=c11 already implies
 * -ffp-contract=off; clang needs to be told. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u  /* golden ratio */
#define PHILOX_W1 0xBB67AE85u  /* sqrt(3) - 1 */

void dg_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
	uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
	uint32_t k0 = key[0], k1 = key[1];

	for (int round = 0; round < 10; round++) {
		uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
		uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
		uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;

		c1 = (uint32_t)p1;
		c3 = (uint32_t)p0;
		c0 = n0;
		c2 = n2;
		k0 += PHILOX_W0;
		k1 += PHILOX_W1;
	}
	out[0] = c0;
	out[1] = c1;
	out[2] = c2;
	out[3] = c3;
}

/* Block `counter` of (seed, stream). */
static void block(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4])
{
	uint32_t ctr[4] = { (uint32_t)counter, (uint32_t)(counter >> 32),
			    (uint32_t)stream, (uint32_t)(stream >> 32) };
	uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };

	dg_philox4x32_10(ctr, key, out);
}

float dg_rng_u01(uint32_t w)
{
	/* (2m + 1) / 2^24 with m < 2^23: every step is exact. */
	return (float)(w >> 9) * 0x1p-23f + 0x1p-24f;
}

static float from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static uint32_t to_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

/* The transcendental parts of Box–Muller from additions, multiplications
 * and bit operations only, each correctly rounded in IEEE single precision
 * on the host and in Vulkan shaders alike (the spec requires it of +, -
 * and *, not of log, sqrt, sin or division), so the GPU gives the same
 * bits.  Accuracy is about 1e-7 relative, below float resolution for a
 * normal deviate.  shaders/philox.glsl repeats these steps one for one;
 * a change here must be made there too (t_vk_rng checks). */

/* 1/d for d in [1.70, 2.42] by Newton's method from a linear start. */
static float recip(float d)
{
	float y = 0x1.fc3372p-1f - 0x1.f0ed3ep-3f * d;

	for (int i = 0; i < 3; i++)
		y = y * (2.0f - d * y);
	return y;
}

/* -2 ln u for u = m1 / 2^24, m1 odd in [1, 2^24). */
static float minus_two_log(uint32_t m1)
{
	int e = 31 - __builtin_clz(m1);
	float m = (float)m1 * from_bits((uint32_t)(127 - e) << 23);  /* m1 / 2^e, in [1, 2) */
	float s, z, t, k;

	if (m > 0x1.6a09e6p+0f) {   /* sqrt(2): keep m in [0.707, 1.414] */
		m = m * 0.5f;
		e = e + 1;
	}
	/* ln m = 2 atanh(s), s = (m - 1) / (m + 1) in [-0.172, 0.172] */
	s = (m - 1.0f) * recip(m + 1.0f);
	z = s * s;
	t = 2.0f * s + 2.0f * s * z * (0x1.555556p-2f + z * (0x1.99999ap-3f +
		z * (0x1.24924ap-3f + z * 0x1.c71c72p-4f)));
	/* ln u = k ln 2 + ln m with ln 2 split so that k * hi is exact */
	k = (float)(e - 24);
	return -2.0f * (k * 0x1.62e4p-1f + (k * 0x1.7f7d1cp-20f + t));
}

/* sqrt(x) for x in [1e-7, 34]: x / sqrt(x), by Newton from the classic
 * bit-level estimate of 1 / sqrt(x). */
static float root(float x)
{
	float y = from_bits(0x5f3759dfu - (to_bits(x) >> 1));
	float h = 0.5f * x;

	for (int i = 0; i < 3; i++)
		y = y * (1.5f - h * y * y);
	return x * y;
}

void dg_rng_box_muller(uint32_t w0, uint32_t w1, float *z0, float *z1)
{
	uint32_t m1 = ((w0 >> 9) << 1) | 1, m2 = ((w1 >> 9) << 1) | 1;
	float r = root(minus_two_log(m1));
	/* theta = 2 pi u2 = (n + y) pi / 2: quadrant n, y in [-1/2, 1/2] */
	uint32_t n = (m2 + (1u << 21)) >> 22;
	float y = (float)((int32_t)m2 - (int32_t)(n << 22)) * 0x1p-22f;
	float p = y * 0x1.921fb6p+0f, z = p * p;
	float s = p + p * z * (-0x1.555556p-3f + z * (0x1.111112p-7f +
		  z * (-0x1.a01a02p-13f + z * 0x1.71de3ap-19f)));
	float c = 1.0f + z * (-0.5f + z * (0x1.555556p-5f + z * (-0x1.6c16c2p-10f +
		  z * (0x1.a01a02p-16f + z * -0x1.27e4fcp-22f))));
	float cs, sn;

	switch (n & 3) {
	case 0: cs = c; sn = s; break;
	case 1: cs = -s; sn = c; break;
	case 2: cs = -c; sn = -s; break;
	default: cs = s; sn = -c; break;
	}
	*z0 = r * cs;
	*z1 = r * sn;
}

void dg_rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter, float *out, size_t n)
{
	uint32_t w[4];

	for (size_t i = 0; i < n; i += 4) {
		block(seed, stream, counter + i / 4, w);
		for (size_t j = 0; j < 4 && i + j < n; j++)
			out[i + j] = dg_rng_u01(w[j]);
	}
}

void dg_rng_normal(uint64_t seed, uint64_t stream, uint64_t counter, float *out, size_t n)
{
	uint32_t w[4];
	float z[4];

	for (size_t i = 0; i < n; i += 4) {
		block(seed, stream, counter + i / 4, w);
		dg_rng_box_muller(w[0], w[1], &z[0], &z[1]);
		dg_rng_box_muller(w[2], w[3], &z[2], &z[3]);
		for (size_t j = 0; j < 4 && i + j < n; j++)
			out[i + j] = z[j];
	}
}

void dg_rng_init(struct dg_rng *r, uint64_t seed, uint64_t stream)
{
	dg_rng_restore(r, seed, stream, 0, 4);
}

void dg_rng_restore(struct dg_rng *r, uint64_t seed, uint64_t stream, uint64_t counter,
		    unsigned used)
{
	memset(r, 0, sizeof *r);
	r->seed = seed;
	r->stream = stream;
	r->counter = counter;
	r->used = used > 4 || counter == 0 ? 4 : used;
	if (r->used < 4)
		block(seed, stream, counter - 1, r->buf);
}

uint32_t dg_rng_next_u32(struct dg_rng *r)
{
	if (r->used >= 4) {
		block(r->seed, r->stream, r->counter++, r->buf);
		r->used = 0;
	}
	return r->buf[r->used++];
}

uint32_t dg_rng_below(struct dg_rng *r, uint32_t n)
{
	/* Reject the lowest 2^32 mod n words so the rest divide evenly. */
	uint32_t threshold, w;

	assert(n > 0);
	threshold = (0u - n) % n;
	do
		w = dg_rng_next_u32(r);
	while (w < threshold);
	return w % n;
}

float dg_rng_next_uniform(struct dg_rng *r)
{
	return dg_rng_u01(dg_rng_next_u32(r));
}

float dg_rng_next_normal(struct dg_rng *r)
{
	uint32_t w0, w1;
	float z0, z1;

	if (r->used > 2)
		r->used = 4;   /* a pair never spans two blocks */
	w0 = dg_rng_next_u32(r);
	w1 = dg_rng_next_u32(r);
	dg_rng_box_muller(w0, w1, &z0, &z1);
	return z0;
}
