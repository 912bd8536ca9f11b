/* cpu/k_gate.c — Gated PixelCNN's gate and its backward: x viewed as
 * [outer][2][m] (m = K·inner, K half the gated axis), gate y[o][j] =
 * tanh(a)·σ(b) with a = x[o][0][j], b = x[o][1][j]; gate_bwd (x, dy) ->
 * dx[o][0][j] = dy·σ(b)·(1 - tanh²(a)), dx[o][1][j] = dy·tanh(a)·σ'(b).
 * The exponentials are a short polynomial the compiler vectorizes: libm's
 * scalar tanhf and expf made the gate slower than the ops it replaces. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "cpu/kernels.h"
#include "cpu/pool.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-math-errno", "no-trapping-math")
#endif

#define GRAIN 8192

/* The loops below in wider vectors where the processor has them (the
 * build targets baseline x86-64, SSE2): 2-3x faster with AVX2. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define WIDE __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define WIDE
#endif

/* e^x for x clamped to [-87, 87]: x = n·ln 2 + r with |r| <= ln 2 / 2,
 * e^r by its Taylor polynomial to r^7 (relative error below 2e-8 before
 * rounding), 2^n put in the exponent bits.  Within a few ulp of expf. */
static inline float fast_exp(float x)
{
	x = x < -87.0f ? -87.0f : x > 87.0f ? 87.0f : x;
	/* round x·log2(e) to an integer with the 1.5·2^23 trick */
	float big = 12582912.0f, t = x * 1.44269504f + big, n = t - big;
	/* ln 2 in two parts, the first short enough that n times it is exact */
	float r = x - n * 0.693359375f + n * 2.12194440e-4f;
	float p = 1.0f / 5040;
	p = p * r + 1.0f / 720;
	p = p * r + 1.0f / 120;
	p = p * r + 1.0f / 24;
	p = p * r + 1.0f / 6;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;
	int32_t e = ((int32_t)n + 127) << 23;
	float s;
	memcpy(&s, &e, sizeof s);
	return p * s;
}

static inline float sigm(float x)
{
	return 1.0f / (1.0f + fast_exp(-x));
}

/* tanh(x) = 1 - 2 / (e^{2x} + 1), which loses the low bits near 0:
 * there its series, exact to float below |x| = 1/8 (measured over
 * [-100, 100]: within 1.8e-7 of tanh, 1e-6 relative). */
static inline float tanh_(float x)
{
	float x2 = x * x;
	float small = x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 +
				x2 * (62.0f / 2835)))));
	float big = 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f);
	return x2 < 1.0f / 64 ? small : big;
}

struct gate {
	const struct dg_kargs *a;
	uint64_t m;             /* elements per half: K times the axes after */
};

WIDE static void gate_range(void *ctx, size_t b, size_t e)
{
	const struct gate *g = ctx;
	const float *x = g->a->x[0];
	float *y = g->a->y;
	uint64_t m = g->m;
	for (size_t o = b; o < e; o++) {
		const float *xa = x + 2 * o * m, *xb = xa + m;
		float *yo = y + o * m;
		for (uint64_t j = 0; j < m; j++)
			yo[j] = tanh_(xa[j]) * sigm(xb[j]);
	}
}

WIDE static void gate_bwd_range(void *ctx, size_t b, size_t e)
{
	const struct gate *g = ctx;
	const float *x = g->a->x[0], *dy = g->a->x[1];
	float *dx = g->a->y;
	uint64_t m = g->m;
	for (size_t o = b; o < e; o++) {
		const float *xa = x + 2 * o * m, *xb = xa + m, *d = dy + o * m;
		float *da = dx + 2 * o * m, *db = da + m;
		for (uint64_t j = 0; j < m; j++) {
			float t = tanh_(xa[j]), s = sigm(xb[j]);
			da[j] = d[j] * s * (1.0f - t * t);
			db[j] = d[j] * t * (s * (1.0f - s));
		}
	}
}

int dg_k_gate(const struct dg_kargs *a)
{
	const struct dg_node *x = &a->c->in_node[0];
	unsigned ax = (unsigned)a->c->n.ia[0];
	struct gate g = {a, x->dims[ax] / 2};
	for (unsigned i = ax + 1; i < x->rank; i++)
		g.m *= x->dims[i];
	uint64_t outer = g.m ? x->count / (2 * g.m) : 0;
	if (outer)
		dg_pool_for(outer, GRAIN / g.m + 1,
			    a->c->n.op == OP_GATE ? gate_range : gate_bwd_range, &g);
	return DG_OK;
}
