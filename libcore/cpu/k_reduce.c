/* cpu/k_reduce.c — reductions (sum or max to a shape with 1s on the
 * reduced axes), softmax and log-softmax over any axis, argmax over the
 * last.
 * Each output element is reduced by one thread in a fixed order (double
 * accumulators), so results do not depend on the thread count. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "cpu/kernels.h"
#include "cpu/pool.h"

struct red {
	const struct dg_kargs *a;
	struct dg_reduce_groups g;      /* kept and reduced axes, merged */
	int is_max;
};

/* Sums over leading rows into contiguous columns (bias gradients): the
 * same additions in the same order as red_range, a row at a time. */
static void red_rows(void *ctx, size_t b, size_t e)
{
	const struct red *r = ctx;
	const float *x = r->a->x[0];
	uint64_t rows = r->g.rd[0], cols = r->g.kd[0];
	double acc[512];

	for (size_t j0 = b; j0 < e; j0 += 512) {
		size_t nj = e - j0 < 512 ? e - j0 : 512;
		for (size_t j = 0; j < nj; j++)
			acc[j] = 0;
		for (uint64_t i = 0; i < rows; i++) {
			const float *row = x + i * cols + j0;
			for (size_t j = 0; j < nj; j++)
				acc[j] += row[j];
		}
		for (size_t j = 0; j < nj; j++)
			r->a->y[j0 + j] = (float)acc[j];
	}
}

/* The sum of a contiguous run in double, in eight interleaved partial
 * sums added pairwise at the end: one chain of dependent additions ran at
 * the adder's latency (batch norm's per-channel sums over N·H·W were most
 * of a small CNN's training step); eight chains fill the pipeline and
 * vectorize.  The order is fixed, so results do not depend on threads.
 * The eight sums are four vectors of two so that they stay in registers:
 * as an array gcc kept them in memory, a store and reload per two
 * elements (2.5 cycles an element; bias gradients were 9% of Gated
 * PixelCNN's step). */
#if defined(__GNUC__) || defined(__clang__)
typedef float f2 __attribute__((vector_size(8)));
typedef double d2 __attribute__((vector_size(16)));

static inline d2 wide2(const float *p)
{
	f2 x;
	memcpy(&x, p, sizeof x);
	return __builtin_convertvector(x, d2);
}

static double sum_run(const float *p, uint64_t n)
{
	d2 v0 = {0}, v1 = {0}, v2 = {0}, v3 = {0};
	uint64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		v0 += wide2(p + i);
		v1 += wide2(p + i + 2);
		v2 += wide2(p + i + 4);
		v3 += wide2(p + i + 6);
	}
	double s[8] = {v0[0], v0[1], v1[0], v1[1], v2[0], v2[1], v3[0], v3[1]};
	for (int k = 0; i < n; i++, k++)
		s[k] += p[i];
	return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}
#else
static double sum_run(const float *p, uint64_t n)
{
	double s[8] = {0};
	uint64_t i = 0;

	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			s[k] += p[i + k];
	for (int k = 0; i < n; i++, k++)
		s[k] += p[i];
	return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}
#endif

static void red_range(void *ctx, size_t b, size_t e)
{
	const struct red *r = ctx;
	const float *x = r->a->x[0];
	uint64_t inner = r->g.nr ? r->g.rd[r->g.nr - 1] : 1, istride = r->g.nr ? r->g.rs[r->g.nr - 1] : 0;

	for (size_t o = b; o < e; o++) {
		uint64_t base = 0, q = o;
		for (int k = (int)r->g.nk - 1; k >= 0; k--) {
			base += (q % r->g.kd[k]) * r->g.ks[k];
			q /= r->g.kd[k];
		}
		uint64_t c[DG_MAX_RANK] = {0}, off = base;
		double acc = r->is_max ? -INFINITY : 0;
		for (;;) {
			const float *p = x + off;
			if (r->is_max) {
				for (uint64_t i = 0; i < inner; i++)
					if (p[i * istride] > acc || isnan(p[i * istride]))
						acc = p[i * istride];
			} else if (istride == 1) {
				acc += sum_run(p, inner);
			} else {
				for (uint64_t i = 0; i < inner; i++)
					acc += p[i * istride];
			}
			int k = (int)r->g.nr - 2;
			for (; k >= 0; k--) {
				off += r->g.rs[k];
				if (++c[k] < r->g.rd[k])
					break;
				off -= r->g.rs[k] * r->g.rd[k];
				c[k] = 0;
			}
			if (k < 0)
				break;
		}
		r->a->y[o] = (float)acc;
	}
}

int dg_k_reduce(const struct dg_kargs *a)
{
	const struct dg_node *x = &a->c->in_node[0], *y = &a->c->n;
	struct red r = {.a = a, .is_max = y->op == OP_MAX_TO};
	dg__reduce_groups(x, y, &r.g);
	uint64_t work = x->count / (y->count ? y->count : 1);
	int rows = !r.is_max && r.g.nr == 1 && r.g.nk == 1 && r.g.rs[0] == r.g.kd[0] && r.g.ks[0] == 1;
	dg_pool_for(y->count, 1 + 16384 / (work ? work : 1), rows ? red_rows : red_range, &r);
	return DG_OK;
}

/* ---- last-axis ops ------------------------------------------------------------- */

/* Softmaxes over the axis with ia0 axes after it: rows of k elements
 * spaced by inner, the product of the dims after the axis. */
static void axis_of(const struct dg_node *n, uint64_t *k, uint64_t *inner)
{
	unsigned ax = n->rank - 1 - (unsigned)n->ia[0];
	*k = n->dims[ax];
	*inner = 1;
	for (unsigned i = ax + 1; i < n->rank; i++)
		*inner *= n->dims[i];
}

static void softmax_range(void *ctx, size_t b, size_t e)
{
	const struct dg_kargs *a = ctx;
	uint64_t k, in;
	int logsm = a->c->n.op == OP_LOG_SOFTMAX;

	axis_of(&a->c->n, &k, &in);
	for (size_t row = b; row < e; row++) {
		uint64_t base = row / in * k * in + row % in;
		const float *x = (const float *)a->x[0] + base;
		float *y = a->y + base, m = -INFINITY;
		double s = 0;
		for (uint64_t i = 0; i < k; i++)
			if (x[i * in] > m)
				m = x[i * in];
		for (uint64_t i = 0; i < k; i++)
			s += exp((double)x[i * in] - m);
		if (logsm) {
			float ls = (float)log(s);
			for (uint64_t i = 0; i < k; i++)
				y[i * in] = x[i * in] - m - ls;
		} else {
			for (uint64_t i = 0; i < k; i++)
				y[i * in] = (float)(exp((double)x[i * in] - m) / s);
		}
	}
}

int dg_k_softmax(const struct dg_kargs *a)
{
	uint64_t k, in;
	axis_of(&a->c->n, &k, &in);
	dg_pool_for(a->c->n.count / k, 1 + 4096 / k, softmax_range, (void *)a);
	return DG_OK;
}

int dg_k_argmax(const struct dg_kargs *a)
{
	const struct dg_node *x = &a->c->in_node[0];
	uint64_t k = x->dims[x->rank - 1], rows = x->count / k;
	for (uint64_t r = 0; r < rows; r++) {
		const float *p = (const float *)a->x[0] + r * k;
		uint64_t best = 0;
		for (uint64_t i = 1; i < k; i++)
			if (p[i] > p[best])
				best = i;
		a->y[r] = (float)best;
	}
	return DG_OK;
}
