/* cpu/k_optim.c — fused parameter updates (one pass over p, g and the
 * optimizer state), assignment and EMA.  Hyperparameters come from the
 * node (fa: β1 or momentum, β2 or decay, ε, weight decay, clip value,
 * Nesterov, decoupled) and per-run scalars rt (lr, 1-β1^t, 1-β2^t, t). */
#include <math.h>
#include <string.h>
#ifdef __SSE__
#include <immintrin.h>
#endif
#include "cpu/kernels.h"
#include "cpu/pool.h"

/* Hot loops: vectorize them, and let sqrt be one instruction (these
 * kernels never need errno). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-math-errno")
#endif

/* One loop per optimizer (no branch inside), restrict pointers and
 * precomputed factors, so compilers can vectorize. */
static void upd_range(void *ctx, size_t b, size_t e)
{
	const struct dg_kargs *a = ctx;
	const float *fa = a->c->n.fa, *rt = a->c->rt;
	float *restrict p = a->y;
	const float *restrict g = a->x[1];
	float *restrict s0 = a->st[0], *restrict s1 = a->st[1];
	float b1 = fa[0], b2 = fa[1], eps = fa[2], wd = fa[3], clip = fa[4];
	int nesterov = fa[5] != 0, decoupled = fa[6] != 0;
	float lr = rt[0];

	switch (a->c->n.op) {
	case OP_UPD_SGD:
		if (!s0) {
			for (size_t i = b; i < e; i++)
				p[i] -= lr * (g[i] + wd * p[i]);
		} else {
			for (size_t i = b; i < e; i++) {
				float gi = g[i] + wd * p[i];
				s0[i] = b1 * s0[i] + gi;
				p[i] -= lr * (nesterov ? gi + b1 * s0[i] : s0[i]);
			}
		}
		break;
	case OP_UPD_ADAM: {
		/* lr·m̂/(√v̂ + ε) with m̂ = m/c1, v̂ = v/c2 */
		float step = lr / rt[1], rc2 = 1 / sqrtf(rt[2]);
		float keep = decoupled ? 1 - lr * wd : 1, l2 = decoupled ? 0 : wd;
		size_t i = b;
#ifdef __SSE__
		/* Four at a time: the same IEEE operations in the same order as
		 * the scalar loop, so results do not depend on the split. */
		__m128 vb1 = _mm_set1_ps(b1), vb2 = _mm_set1_ps(b2), va1 = _mm_set1_ps(1 - b1);
		__m128 va2 = _mm_set1_ps(1 - b2), vl2 = _mm_set1_ps(l2), vkeep = _mm_set1_ps(keep);
		__m128 vstep = _mm_set1_ps(step), vrc2 = _mm_set1_ps(rc2), veps = _mm_set1_ps(eps);
		for (; i + 4 <= e; i += 4) {
			__m128 pi = _mm_loadu_ps(p + i);
			__m128 gi = _mm_add_ps(_mm_loadu_ps(g + i), _mm_mul_ps(vl2, pi));
			__m128 m = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(s0 + i)), _mm_mul_ps(va1, gi));
			__m128 v = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(s1 + i)),
					      _mm_mul_ps(_mm_mul_ps(va2, gi), gi));
			_mm_storeu_ps(s0 + i, m);
			_mm_storeu_ps(s1 + i, v);
			__m128 den = _mm_add_ps(_mm_mul_ps(_mm_sqrt_ps(v), vrc2), veps);
			_mm_storeu_ps(p + i, _mm_sub_ps(_mm_mul_ps(vkeep, pi),
							_mm_div_ps(_mm_mul_ps(vstep, m), den)));
		}
#endif
		for (; i < e; i++) {
			float gi = g[i] + l2 * p[i];
			float m = b1 * s0[i] + (1 - b1) * gi;
			float v = b2 * s1[i] + ((1 - b2) * gi) * gi;
			s0[i] = m;
			s1[i] = v;
			p[i] = keep * p[i] - (step * m) / (__builtin_sqrtf(v) * rc2 + eps);
		}
		break;
	}
	case OP_UPD_RMSPROP:
		for (size_t i = b; i < e; i++) {
			float gi = g[i] + wd * p[i];
			s0[i] = b2 * s0[i] + (1 - b2) * gi * gi;
			float st = gi / (__builtin_sqrtf(s0[i]) + eps);
			if (s1) {
				s1[i] = b1 * s1[i] + st;
				st = s1[i];
			}
			p[i] -= lr * st;
		}
		break;
	}
	if (clip > 0)
		for (size_t i = b; i < e; i++)
			p[i] = p[i] < -clip ? -clip : p[i] > clip ? clip : p[i];
}

int dg_k_update(const struct dg_kargs *a)
{
	dg_pool_for(a->c->in_node[0].count, 8192, upd_range, (void *)a);
	return DG_OK;
}

/* The target variable is input 0 (also a->y); the value is input 1.
 * Side-effect nodes have no output, so sizes come from the variable. */
int dg_k_assign(const struct dg_kargs *a)
{
	memmove(a->y, a->x[1], a->c->in_node[0].count * sizeof(float));
	return DG_OK;
}

/* The decay is this run's (rt[4]: ema_decay, or less while it warms up). */
int dg_k_ema(const struct dg_kargs *a)
{
	float d = a->c->rt ? a->c->rt[4] : a->c->n.fa[0];
	const float *p = a->x[1];
	for (uint64_t i = 0; i < a->c->in_node[0].count; i++)
		a->y[i] = d * a->y[i] + (1 - d) * p[i];
	return DG_OK;
}
