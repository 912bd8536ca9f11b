/* cpu/k_pool.c — max and average pooling in C and their adjoints (the
 * path without oneDNN, and max_pool_pick always), on
 * images N×C×D×H×W (depth 1 for 2-d), windows k moved by stride s over
 * the image padded by p (struct dg_window):
 *   max_pool       y[i] = the first maximum of x's window i (row-major
 *                  order; padding never wins, a NaN does)
 *   max_pool_bwd   dx = Σ_i dy[i] at the place of window i's maximum
 *   max_pool_pick  y[i] = h at the place of window i's maximum
 *   avg_pool       y[i] = Σ window i / k³ (include_pad) or / its
 *                  elements inside the image
 *   avg_pool_bwd   dx = Σ_i dy[i] / (that divisor) over window i
 * One thread owns each plane (n, c) and visits its windows in order, so
 * overlapping windows add up in a fixed order (the vulkan shader adds in
 * the same order). */
#include <string.h>
#include "cpu/kernels.h"
#include "cpu/pool.h"

struct pl {
	struct dg_window g;
	int op;
	const float *x, *h;
	float *y;
	int64_t vin, vout;
};

/* Window i's bounds on each axis, clipped to the image: [lo, hi). */
static void bounds(const struct dg_window *g, const int64_t *i, int64_t *lo, int64_t *hi)
{
	for (int a = 0; a < 3; a++) {
		int64_t start = i[a] * g->s[a] - g->p[a];
		lo[a] = start < 0 ? 0 : start;
		hi[a] = start + g->k[a] > g->in[a] ? g->in[a] : start + g->k[a];
	}
}

/* The place of the first maximum of x within [lo, hi) (never empty: the
 * padding is at most half a window, so every window holds an element). */
static int64_t argmax(const struct dg_window *g, const float *x, const int64_t *lo,
		      const int64_t *hi)
{
	int64_t best = (lo[0] * g->in[1] + lo[1]) * g->in[2] + lo[2];
	float m = x[best];
	for (int64_t d = lo[0]; d < hi[0]; d++)
		for (int64_t h = lo[1]; h < hi[1]; h++) {
			int64_t row = (d * g->in[1] + h) * g->in[2];
			for (int64_t w = lo[2]; w < hi[2]; w++) {
				float v = x[row + w];
				if (v > m || v != v) {  /* a NaN wins, as in PyTorch */
					m = v;
					best = row + w;
				}
			}
		}
	return best;
}

static float window_sum(const struct dg_window *g, const float *x, const int64_t *lo,
			const int64_t *hi)
{
	float acc = 0;
	for (int64_t d = lo[0]; d < hi[0]; d++)
		for (int64_t h = lo[1]; h < hi[1]; h++) {
			const float *row = x + (d * g->in[1] + h) * g->in[2];
			for (int64_t w = lo[2]; w < hi[2]; w++)
				acc += row[w];
		}
	return acc;
}

static void window_add(const struct dg_window *g, float *x, const int64_t *lo,
		       const int64_t *hi, float v)
{
	for (int64_t d = lo[0]; d < hi[0]; d++)
		for (int64_t h = lo[1]; h < hi[1]; h++) {
			float *row = x + (d * g->in[1] + h) * g->in[2];
			for (int64_t w = lo[2]; w < hi[2]; w++)
				row[w] += v;
		}
}

static int64_t divisor(const struct dg_window *g, const int64_t *lo, const int64_t *hi)
{
	if (g->include_pad)
		return g->k[0] * g->k[1] * g->k[2];
	return (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
}

static void planes(void *ctx, size_t b, size_t e)
{
	const struct pl *v = ctx;
	const struct dg_window *g = &v->g;
	int into_input = v->op == OP_MAX_POOL_BWD || v->op == OP_AVG_POOL_BWD;
	for (size_t pl = b; pl < e; pl++) {
		const float *x = v->x ? v->x + pl * v->vin : NULL;
		/* the pooled-shaped operand of the adjoints (dy), h of pick */
		const float *dy = into_input ? v->h + pl * v->vout : NULL;
		const float *h = v->op == OP_MAX_POOL_PICK ? v->h + pl * v->vin : NULL;
		float *y = v->y + pl * (into_input ? v->vin : v->vout);
		if (into_input)
			memset(y, 0, v->vin * sizeof *y);
		int64_t i[3], o = 0;
		for (i[0] = 0; i[0] < g->out[0]; i[0]++)
			for (i[1] = 0; i[1] < g->out[1]; i[1]++)
				for (i[2] = 0; i[2] < g->out[2]; i[2]++, o++) {
					int64_t lo[3], hi[3];
					bounds(g, i, lo, hi);
					switch (v->op) {
					case OP_MAX_POOL:
						y[o] = x[argmax(g, x, lo, hi)];
						break;
					case OP_MAX_POOL_PICK:
						y[o] = h[argmax(g, x, lo, hi)];
						break;
					case OP_MAX_POOL_BWD:
						y[argmax(g, x, lo, hi)] += dy[o];
						break;
					case OP_AVG_POOL:
						y[o] = window_sum(g, x, lo, hi) / (float)divisor(g, lo, hi);
						break;
					default:
						window_add(g, y, lo, hi, dy[o] / (float)divisor(g, lo, hi));
						break;
					}
				}
	}
}

int dg_k_pool(const struct dg_kargs *a)
{
	struct pl v = {.op = a->c->n.op, .y = a->y};
	dg__window(a->c, &v.g);
	v.vin = v.g.in[0] * v.g.in[1] * v.g.in[2];
	v.vout = v.g.out[0] * v.g.out[1] * v.g.out[2];
	/* x: the full-size image where the op reads one; h: the second
	 * operand (dy of the adjoints, h of pick) */
	switch (v.op) {
	case OP_AVG_POOL_BWD:
		v.h = a->x[0];
		break;
	case OP_MAX_POOL_BWD:
	case OP_MAX_POOL_PICK:
		v.x = a->x[0];
		v.h = a->x[1];
		break;
	default:
		v.x = a->x[0];
	}
	dg_pool_for((size_t)(v.g.n * v.g.c), 1, planes, &v);
	return DG_OK;
}
