/* t_rng.c — Philox4x32-10 against its published known answers; the block
 * layout of fills; uniform and normal conversions against double-precision
 * references over every possible input; statistics; unbiased
 * dg_rng_below; exact resume of the sequential generator. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dg/rng.h"
#include "tap.h"

/* Known-answer vectors of Random123 (D. E. Shaw Research), file
 * examples/kat_vectors, lines "philox4x32 10 CTR[4] KEY[2] -> OUT[4]". */
static const struct {
	uint32_t ctr[4], key[2], out[4];
} kat[] = {
	{ { 0, 0, 0, 0 }, { 0, 0 }, { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 } },
	{ { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }, { 0xffffffff, 0xffffffff },
	  { 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd } },
	{ { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344 }, { 0xa4093822, 0x299f31d0 },
	  { 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 } },
};

static void block(uint64_t seed, uint64_t stream, uint64_t c, uint32_t w[4])
{
	uint32_t ctr[4] = { (uint32_t)c, (uint32_t)(c >> 32), (uint32_t)stream,
			    (uint32_t)(stream >> 32) };
	uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
	dg_philox4x32_10(ctr, key, w);
}

static void test_layout(void)
{
	const uint64_t seed = 0x0123456789abcdefull, stream = 0xfedcba9876543210ull;
	const uint64_t c0 = 0xfffffffeull;   /* crosses into the counter's high word */
	float u[23], z[23], u2[19], z2[19];
	int bad_u = 0, bad_z = 0, bad_shift = 0;

	dg_rng_uniform(seed, stream, c0, u, 23);
	dg_rng_normal(seed, stream, c0, z, 23);
	for (int i = 0; i < 23; i++) {
		uint32_t w[4];
		float a, b;
		block(seed, stream, c0 + i / 4, w);
		bad_u += u[i] != dg_rng_u01(w[i % 4]);
		dg_rng_box_muller(w[i % 4 & ~1], w[(i % 4) | 1], &a, &b);
		bad_z += z[i] != (i % 2 ? b : a);
	}
	is_int(bad_u, 0, "uniform fill: element i is word i%%4 of block c+i/4");
	is_int(bad_z, 0, "normal fill: pairs (0,1), (2,3), cos then sin");
	/* A fill's elements do not depend on where the fill starts. */
	dg_rng_uniform(seed, stream, c0 + 1, u2, 19);
	dg_rng_normal(seed, stream, c0 + 1, z2, 19);
	for (int i = 0; i < 19; i++)
		bad_shift += u2[i] != u[i + 4] || z2[i] != z[i + 4];
	is_int(bad_shift, 0, "fills from counter c+1 equal fills from c shifted by 4");
	dg_rng_uniform(seed + 1, stream, c0, u2, 4);
	ok(memcmp(u, u2, sizeof(float) * 4), "another seed gives other numbers");
	dg_rng_uniform(seed, stream + 1, c0, u2, 4);
	ok(memcmp(u, u2, sizeof(float) * 4), "another stream gives other numbers");
}

/* Every input of the conversions, against double precision. */
static void test_conversions(void)
{
	double worst_r = 0, worst_cs = 0, worst_u = 0;
	int outside = 0;

	is_near(dg_rng_u01(0), ldexp(1, -24), 0, "u01(0) = 2^-24");
	ok(dg_rng_u01(0xffffffffu) == (float)(1 - ldexp(1, -24)), "u01(~0) = 1 - 2^-24 < 1");
	for (uint32_t m = 0; m < (1u << 23); m++) {
		uint32_t w = m << 9 | (m & 0x1ff);   /* low bits are ignored */
		double u = (2.0 * m + 1) * ldexp(1, -24), r = sqrt(-2 * log(u)), th = 2 * M_PI * u;
		float z0, z1, c0, s0;
		double e;

		e = fabs(dg_rng_u01(w) - u);
		worst_u = e > worst_u ? e : worst_u;
		outside += !(dg_rng_u01(w) > 0 && dg_rng_u01(w) < 1);
		/* r alone: pair w with a word giving θ = π/4 ... use θ from
		 * u2 = 2^-24 (cos ≈ 1) and compare z0 / cos. */
		dg_rng_box_muller(w, 0, &z0, &z1);
		e = fabs(z0 / cos(2 * M_PI * ldexp(1, -24)) - r) / r;
		worst_r = e > worst_r ? e : worst_r;
		/* the angle alone: u1 with r = 1 is not a float, so divide out r */
		dg_rng_box_muller(0xffffffffu, w, &c0, &s0);
		{
			double r1 = sqrt(-2 * log(1 - ldexp(1, -24)));
			double ec = fabs(c0 / r1 - cos(th)), es = fabs(s0 / r1 - sin(th));
			e = ec > es ? ec : es;
			worst_cs = e > worst_cs ? e : worst_cs;
		}
	}
	is_int(outside, 0, "every uniform lies in (0, 1)");
	ok(worst_u == 0, "uniform is exact for all 2^23 values (worst %.3g)", worst_u);
	ok(worst_r < 4e-7, "radius sqrt(-2 ln u) within 4e-7 relative for all 2^23 u (worst %.3g)",
	   worst_r);
	ok(worst_cs < 5e-7, "cos/sin within 5e-7 for all 2^23 angles (worst %.3g)", worst_cs);
}

static void test_statistics(void)
{
	enum { N = 1 << 20 };
	float *u = malloc(N * sizeof *u), *z = malloc(N * sizeof *z);
	double s1 = 0, s2 = 0, z1 = 0, z2 = 0, z3 = 0, z4 = 0, chi = 0, zmax = 0;
	unsigned hist[64] = { 0 };

	dg_rng_uniform(42, 7, 1000, u, N);
	dg_rng_normal(42, 8, 1000, z, N);
	for (int i = 0; i < N; i++) {
		double x = z[i];
		s1 += u[i];
		s2 += (u[i] - 0.5) * (u[i] - 0.5);
		hist[(int)(u[i] * 64)]++;
		z1 += x;
		z2 += x * x;
		z3 += x * x * x;
		z4 += x * x * x * x;
		zmax = fabs(x) > zmax ? fabs(x) : zmax;
	}
	for (int b = 0; b < 64; b++)
		chi += (hist[b] - N / 64.0) * (hist[b] - N / 64.0) / (N / 64.0);
	/* Bounds are about 5 standard errors of each estimate. */
	is_near(s1 / N, 0.5, 5 * sqrt(1 / 12.0 / N), "uniform mean");
	is_near(s2 / N, 1 / 12.0, 5 * sqrt(1 / 180.0 / N), "uniform variance");
	ok(chi < 63 + 5 * sqrt(2 * 63), "uniform histogram chi^2 = %.1f over 63 dof", chi);
	is_near(z1 / N, 0, 5 / sqrt(N), "normal mean");
	is_near(z2 / N, 1, 5 * sqrt(2.0 / N), "normal variance");
	is_near(z3 / N, 0, 5 * sqrt(15.0 / N), "normal skewness");
	is_near(z4 / N, 3, 5 * sqrt(96.0 / N), "normal kurtosis");
	ok(zmax > 4.5 && zmax < 5.8, "normal tails reach %.2f (bounded by 5.77)", zmax);
	free(u);
	free(z);
}

static void test_below(void)
{
	struct dg_rng r;
	unsigned counts[7] = { 0 }, low = 0, n = 300000;
	double chi = 0;
	int in_range = 1;

	dg_rng_init(&r, 1, 2);
	for (unsigned i = 0; i < n; i++) {
		uint32_t v = dg_rng_below(&r, 7);
		in_range &= v < 7;
		counts[v < 7 ? v : 0]++;
	}
	for (int b = 0; b < 7; b++)
		chi += (counts[b] - n / 7.0) * (counts[b] - n / 7.0) / (n / 7.0);
	ok(in_range && chi < 6 + 5 * sqrt(12), "below(7) uniform: chi^2 = %.1f over 6 dof", chi);
	/* n = 3 * 2^30: plain modulo would put half the draws below 2^30. */
	for (unsigned i = 0; i < n; i++)
		low += dg_rng_below(&r, 0xc0000000u) < (1u << 30);
	is_near((double)low / n, 1 / 3.0, 5 * sqrt(2 / 9.0 / n), "below(3*2^30) has no modulo bias");
	ok(dg_rng_below(&r, 1) == 0, "below(1) = 0");
}

static void test_sequential(void)
{
	struct dg_rng a, b;
	uint32_t w[8];
	int same = 1;

	dg_rng_init(&a, 99, 3);
	block(99, 3, 0, w);
	block(99, 3, 1, w + 4);
	for (int i = 0; i < 8; i++)
		same &= dg_rng_next_u32(&a) == w[i];
	ok(same, "sequential words are blocks 0, 1, ... in order");
	/* Resume from every position inside a block, after mixed draws. */
	for (int skip = 0; skip < 8; skip++) {
		uint32_t x[16], y[16];
		dg_rng_init(&a, 5, 6);
		for (int i = 0; i < skip; i++)
			(void)dg_rng_next_u32(&a);
		(void)dg_rng_next_normal(&a);
		dg_rng_restore(&b, a.seed, a.stream, a.counter, a.used);
		for (int i = 0; i < 16; i++) {
			if (i % 3 == 0) {
				float f = dg_rng_next_normal(&a), g = dg_rng_next_normal(&b);
				memcpy(&x[i], &f, 4);
				memcpy(&y[i], &g, 4);
			} else {
				x[i] = dg_rng_next_u32(&a);
				y[i] = dg_rng_next_u32(&b);
			}
		}
		ok(!memcmp(x, y, sizeof x), "restore after %d words and a normal continues exactly", skip);
	}
	dg_rng_init(&a, 5, 6);
	{
		float z0, z1, got = dg_rng_next_normal(&a);
		block(5, 6, 0, w);
		dg_rng_box_muller(w[0], w[1], &z0, &z1);
		ok(got == z0, "next_normal is the cosine half of Box-Muller on words 0,1");
		(void)dg_rng_next_u32(&a);
		got = dg_rng_next_normal(&a);   /* 1 word left: takes a fresh block */
		block(5, 6, 1, w);
		dg_rng_box_muller(w[0], w[1], &z0, &z1);
		ok(got == z0 && a.counter == 2 && a.used == 2, "a pair never spans two blocks");
	}
}

int main(void)
{
	for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
		uint32_t out[4];
		dg_philox4x32_10(kat[i].ctr, kat[i].key, out);
		ok(!memcmp(out, kat[i].out, sizeof out), "Random123 known answer %zu: %08x %08x %08x %08x",
		   i, out[0], out[1], out[2], out[3]);
	}
	test_layout();
	test_conversions();
	test_statistics();
	test_below();
	test_sequential();
	return done_testing();
}
