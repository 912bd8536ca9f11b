/* cpu/k_eltwise.c — elementwise kernels: unary ops y[i] = f(x[i]), casts,
 * broadcasting binary ops and where (any shapes NumPy broadcasts),
 * expand, and random draws.  Parallel over contiguous chunks of y. */
#include <math.h>
#include <string.h>
#include "cpu/kernels.h"
#include "cpu/pool.h"

/* Hot loops: vectorize them, and let sqrt be one instruction (these
 * kernels never need errno). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-math-errno")
#endif
#include "dg/rng.h"

#define GRAIN 16384

void dg_bcast_init(struct dg_bcast *b, const struct dg_node *out,
		   const struct dg_node *const *ins, unsigned nin, uint64_t start)
{
	uint64_t st[DG_NODE_MAXIN][DG_MAX_RANK];
	unsigned r = 0;

	for (unsigned j = 0; j < nin; j++) {
		unsigned off = out->rank - ins[j]->rank;
		uint64_t s = 1;
		for (int k = (int)out->rank - 1; k >= 0; k--) {
			uint64_t d = k < (int)off ? 1 : ins[j]->dims[k - off];
			st[j][k] = d == 1 ? 0 : s;
			s *= d;
		}
	}
	/* outer to inner: drop axes of size 1, merge an axis into the one
	 * before it when every input steps over both as over one */
	b->nin = nin;
	for (unsigned k = 0; k < out->rank; k++) {
		if (out->dims[k] == 1)
			continue;
		int merge = r > 0;
		for (unsigned j = 0; j < nin && merge; j++)
			merge = b->st[j][r - 1] == st[j][k] * out->dims[k];
		if (merge) {
			b->dims[r - 1] *= out->dims[k];
			for (unsigned j = 0; j < nin; j++)
				b->st[j][r - 1] = st[j][k];
			continue;
		}
		b->dims[r] = out->dims[k];
		for (unsigned j = 0; j < nin; j++)
			b->st[j][r] = st[j][k];
		r++;
	}
	if (r == 0) {
		b->dims[0] = 1;
		for (unsigned j = 0; j < nin; j++)
			b->st[j][0] = 0;
		r = 1;
	}
	b->rank = r;
	for (unsigned j = 0; j < nin; j++)
		b->off[j] = 0;
	for (int k = (int)r - 1; k >= 0; k--) {
		b->c[k] = start % b->dims[k];
		start /= b->dims[k];
		for (unsigned j = 0; j < nin; j++)
			b->off[j] += b->c[k] * b->st[j][k];
	}
}

/* ---- unary ------------------------------------------------------------------ */

static float softplus(float x)
{
	return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

static void unary_range(void *ctx, size_t b, size_t e)
{
	const struct dg_kargs *a = ctx;
	const float *x = a->x[0];
	float *y = a->y, p = a->c->n.fa[0], q = a->c->n.fa[1];
	size_t i;

	switch (a->c->n.op) {
#define LOOP(expr) for (i = b; i < e; i++) { float v = x[i]; y[i] = (expr); } break
	case OP_AFFINE: LOOP(p * v + q);
	case OP_EXP: LOOP(expf(v));
	case OP_LOG: LOOP(logf(v));
	case OP_SQRT: LOOP(sqrtf(v));
	case OP_RSQRT: LOOP(1 / sqrtf(v));
	case OP_RECIP: LOOP(1 / v);
	case OP_ABS: LOOP(fabsf(v));
	case OP_SIGN: LOOP((float)((v > 0) - (v < 0)));
	case OP_RELU: LOOP(v > 0 ? v : 0);
	case OP_LEAKY: LOOP(v > 0 ? v : p * v);
	case OP_ELU: LOOP(v > 0 ? v : p * expm1f(v));
	case OP_TANH: LOOP(tanhf(v));
	case OP_SIGMOID: LOOP(v >= 0 ? 1 / (1 + expf(-v)) : expf(v) / (1 + expf(v)));
	case OP_SOFTPLUS: LOOP(softplus(v));
	case OP_CLAMP: LOOP(v < p ? p : v > q ? q : v);
	case OP_INRANGE: LOOP((float)(v >= p && v <= q));
	case OP_STEP: LOOP((float)(v > 0));
	case OP_POWS: LOOP(p == 2 ? v * v : powf(v, p));
	case OP_STOPGRAD: LOOP(v);
#undef LOOP
	}
}

int dg_k_unary(const struct dg_kargs *a)
{
	dg_pool_for(a->c->n.count, GRAIN, unary_range, (void *)a);
	return DG_OK;
}

int dg_k_cast(const struct dg_kargs *a)
{
	const struct dg_node *in = &a->c->in_node[0];
	float s = a->c->n.fa[0];
	for (uint64_t i = 0; i < a->c->n.count; i++) {
		float v = in->dtype == DG_U8 ? ((const uint8_t *)a->x[0])[i]
			: in->dtype == DG_I32 ? (float)((const int32_t *)a->x[0])[i]
			: ((const float *)a->x[0])[i];
		a->y[i] = v * s;
	}
	return DG_OK;
}

/* ---- binary, where, expand ------------------------------------------------------ */

static float binop(int op, float u, float v)
{
	switch (op) {
	case OP_ADD: return u + v;
	case OP_SUB: return u - v;
	case OP_MUL: return u * v;
	case OP_DIV: return u / v;
	case OP_MAX: return u >= v ? u : v;
	case OP_MIN: return u <= v ? u : v;
	case OP_GT: return (float)(u > v);
	case OP_GE: return (float)(u >= v);
	case OP_EQ: return (float)(u == v);
	}
	return 0;
}

static void binary_range(void *ctx, size_t b, size_t e)
{
	const struct dg_kargs *a = ctx;
	const struct dg_kcall *c = a->c;
	const float *x0 = a->x[0], *x1 = a->x[1];
	float *y = a->y;
	int op = c->n.op;
	uint64_t n = c->n.count, n0 = c->in_node[0].count, n1 = c->in_node[1].count;

	if (n0 == n && (n1 == n || n1 == 1)) {
		uint64_t m = n1 == n ? 1 : 0;
		switch (op) {   /* the hot cases, vectorizable */
		case OP_ADD: for (size_t i = b; i < e; i++) y[i] = x0[i] + x1[i * m]; return;
		case OP_SUB: for (size_t i = b; i < e; i++) y[i] = x0[i] - x1[i * m]; return;
		case OP_MUL: for (size_t i = b; i < e; i++) y[i] = x0[i] * x1[i * m]; return;
		default: for (size_t i = b; i < e; i++) y[i] = binop(op, x0[i], x1[i * m]); return;
		}
	}
	if (n0 == 1 && n1 == n) {
		for (size_t i = b; i < e; i++)
			y[i] = binop(op, x0[0], x1[i]);
		return;
	}
	const struct dg_node *ins[2] = {&c->in_node[0], &c->in_node[1]};
	struct dg_bcast it;
	dg_bcast_init(&it, &c->n, ins, 2, b);
	for (size_t i = b; i < e;) {
		size_t len = (size_t)dg_bcast_row(&it, e - i);
		const float *p = x0 + it.off[0], *q = x1 + it.off[1];
		uint64_t sp = it.st[0][it.rank - 1], sq = it.st[1][it.rank - 1];
		float *out = y + i;
		if (sp == 1 && sq == 0) {
			float v = q[0];
			switch (op) {
			case OP_ADD: for (size_t k = 0; k < len; k++) out[k] = p[k] + v; break;
			case OP_SUB: for (size_t k = 0; k < len; k++) out[k] = p[k] - v; break;
			case OP_MUL: for (size_t k = 0; k < len; k++) out[k] = p[k] * v; break;
			default: for (size_t k = 0; k < len; k++) out[k] = binop(op, p[k], v);
			}
		} else if (sp == 0 && sq == 1) {
			float v = p[0];
			switch (op) {
			case OP_ADD: for (size_t k = 0; k < len; k++) out[k] = v + q[k]; break;
			case OP_SUB: for (size_t k = 0; k < len; k++) out[k] = v - q[k]; break;
			case OP_MUL: for (size_t k = 0; k < len; k++) out[k] = v * q[k]; break;
			default: for (size_t k = 0; k < len; k++) out[k] = binop(op, v, q[k]);
			}
		} else {
			for (size_t k = 0; k < len; k++)
				out[k] = binop(op, p[k * sp], q[k * sq]);
		}
		dg_bcast_skip(&it, len);
		i += len;
	}
}

int dg_k_binary(const struct dg_kargs *a)
{
	dg_pool_for(a->c->n.count, GRAIN, binary_range, (void *)a);
	return DG_OK;
}

static void where_range(void *ctx, size_t b, size_t e)
{
	const struct dg_kargs *a = ctx;
	const struct dg_kcall *c = a->c;
	const float *x0 = a->x[0], *x1 = a->x[1], *x2 = a->x[2];
	const struct dg_node *ins[3] = {&c->in_node[0], &c->in_node[1], &c->in_node[2]};
	struct dg_bcast it;
	dg_bcast_init(&it, &c->n, ins, 3, b);
	for (size_t i = b; i < e;) {
		size_t len = (size_t)dg_bcast_row(&it, e - i);
		const float *p = x0 + it.off[0], *q = x1 + it.off[1], *r = x2 + it.off[2];
		uint64_t sp = it.st[0][it.rank - 1], sq = it.st[1][it.rank - 1];
		uint64_t sr = it.st[2][it.rank - 1];
		for (size_t k = 0; k < len; k++)
			a->y[i + k] = p[k * sp] != 0 ? q[k * sq] : r[k * sr];
		dg_bcast_skip(&it, len);
		i += len;
	}
}

int dg_k_where(const struct dg_kargs *a)
{
	dg_pool_for(a->c->n.count, GRAIN, where_range, (void *)a);
	return DG_OK;
}

static void expand_range(void *ctx, size_t b, size_t e)
{
	const struct dg_kargs *a = ctx;
	const struct dg_node *ins[1] = {&a->c->in_node[0]};
	const float *x = a->x[0];
	struct dg_bcast it;
	dg_bcast_init(&it, &a->c->n, ins, 1, b);
	for (size_t i = b; i < e;) {
		size_t len = (size_t)dg_bcast_row(&it, e - i);
		const float *p = x + it.off[0];
		float *out = a->y + i;
		uint64_t sp = it.st[0][it.rank - 1];
		if (sp == 1)
			memcpy(out, p, len * sizeof *out);
		else
			for (size_t k = 0; k < len; k++)
				out[k] = p[k * sp];
		dg_bcast_skip(&it, len);
		i += len;
	}
}

int dg_k_expand(const struct dg_kargs *a)
{
	dg_pool_for(a->c->n.count, GRAIN, expand_range, (void *)a);
	return DG_OK;
}

/* The per-range form of the per-element kernels, for chains (cpu/chain.c):
 * ops whose element i reads only what its kernel's broadcast rule says. */
dg_pool_fn dg_k_eltwise_range(int op)
{
	dg_kernel_fn k = op >= 0 && op < OP_COUNT ? dg_cpu_kernels[op] : NULL;
	return k == dg_k_unary ? unary_range : k == dg_k_binary ? binary_range
		: k == dg_k_where ? where_range : k == dg_k_expand ? expand_range : NULL;
}

/* ---- random draws: element i uses Philox block (run << 32) + i / 4 ------------- */

static void rng_range(void *ctx, size_t b, size_t e)
{
	const struct dg_kargs *a = ctx;
	uint64_t n = a->c->n.count, first = 4 * b, last = 4 * e < n ? 4 * e : n;
	uint64_t stream = (uint64_t)a->c->n.ia[0], counter = (a->run << 32) + b;
	if (a->c->n.op == OP_RNG_UNIFORM)
		dg_rng_uniform(a->seed, stream, counter, a->y + first, last - first);
	else
		dg_rng_normal(a->seed, stream, counter, a->y + first, last - first);
}

int dg_k_rng(const struct dg_kargs *a)
{
	dg_pool_for((a->c->n.count + 3) / 4, GRAIN / 4, rng_range, (void *)a);
	return DG_OK;
}
