/* cpu/k_shape.c — data movement: permute, slice, pad, gather (embedding
 * rows), scatter-add (its adjoint, deterministic: each column range is
 * summed by one thread in index order), one-hot, and pick/place (one
 * element per row, and its adjoint). */
#include <math.h>
#include <string.h>
#include "cpu/kernels.h"
#include "cpu/pool.h"

static void strides(const struct dg_node *n, uint64_t *s)
{
	uint64_t acc = 1;
	for (int k = (int)n->rank - 1; k >= 0; k--) {
		s[k] = acc;
		acc *= n->dims[k];
	}
}

/* y[out coords] = x[in offset]: an odometer over y with x's strides
 * arranged per output axis, plus a base offset. */
struct gath {
	const struct dg_kargs *a;
	struct dg_node x;       /* a pseudo input whose strides we set */
	uint64_t st[DG_MAX_RANK], base;
};

static void gath_range(void *ctx, size_t b, size_t e)
{
	const struct gath *g = ctx;
	const struct dg_node *out = &g->a->c->n;
	const float *x = g->a->x[0];
	uint64_t c[DG_MAX_RANK], off = g->base, q = b;
	for (int k = (int)out->rank - 1; k >= 0; k--) {
		c[k] = q % out->dims[k];
		q /= out->dims[k];
		off += c[k] * g->st[k];
	}
	for (size_t i = b; i < e; i++) {
		g->a->y[i] = x[off];
		for (int k = (int)out->rank - 1; k >= 0; k--) {
			off += g->st[k];
			if (++c[k] < out->dims[k])
				break;
			off -= g->st[k] * out->dims[k];
			c[k] = 0;
		}
	}
}

int dg_k_permute(const struct dg_kargs *a)
{
	struct gath g = {.a = a};
	uint64_t s[DG_MAX_RANK];
	strides(&a->c->in_node[0], s);
	for (unsigned k = 0; k < a->c->n.rank; k++)
		g.st[k] = s[a->c->n.ia[k]];
	dg_pool_for(a->c->n.count, 16384, gath_range, &g);
	return DG_OK;
}

int dg_k_slice(const struct dg_kargs *a)
{
	struct gath g = {.a = a};
	strides(&a->c->in_node[0], g.st);
	for (unsigned k = 0; k < a->c->n.rank; k++)
		g.base += (uint64_t)a->c->n.ia[k] * g.st[k];
	dg_pool_for(a->c->n.count, 16384, gath_range, &g);
	return DG_OK;
}

int dg_k_pad(const struct dg_kargs *a)
{
	const struct dg_node *x = &a->c->in_node[0], *y = &a->c->n;
	uint64_t ys[DG_MAX_RANK], c[DG_MAX_RANK] = {0}, base = 0;
	const float *src = a->x[0];
	float v = y->fa[0];

	strides(y, ys);
	for (uint64_t i = 0; i < y->count; i++)
		a->y[i] = v;
	for (unsigned k = 0; k < y->rank; k++)
		base += (uint64_t)y->ia[k] * ys[k];
	/* Copy x's rows (innermost axis) into place. */
	uint64_t row = x->rank ? x->dims[x->rank - 1] : 1, rows = x->count / row;
	for (uint64_t r = 0; r < rows; r++) {
		uint64_t off = base;
		for (int k = 0; k + 1 < (int)x->rank; k++)
			off += c[k] * ys[k];
		memcpy(a->y + off, src + r * row, row * sizeof(float));
		for (int k = (int)x->rank - 2; k >= 0; k--) {
			if (++c[k] < x->dims[k])
				break;
			c[k] = 0;
		}
	}
	return DG_OK;
}

static int64_t index_at(const struct dg_node *n, const void *p, uint64_t i)
{
	if (n->dtype == DG_I32)
		return ((const int32_t *)p)[i];
	float f = ((const float *)p)[i];
	return isfinite(f) ? (int64_t)lrintf(f) : -1;
}

int dg_k_gather(const struct dg_kargs *a)
{
	const struct dg_node *t = &a->c->in_node[0], *idx = &a->c->in_node[1];
	uint64_t d = t->dims[1], v = t->dims[0];
	for (uint64_t s = 0; s < idx->count; s++) {
		int64_t r = index_at(idx, a->x[1], s);
		if (r < 0 || (uint64_t)r >= v)
			return dg_error(DG_EDATA, "gather: index %lld outside 0..%llu", (long long)r,
					(unsigned long long)v - 1);
		memcpy(a->y + s * d, (const float *)a->x[0] + (uint64_t)r * d, d * sizeof(float));
	}
	return DG_OK;
}

struct scat {
	const struct dg_kargs *a;
	uint64_t d, v, s;
};

static void scat_range(void *ctx, size_t b, size_t e)
{
	const struct scat *p = ctx;
	const float *src = p->a->x[0];
	for (uint64_t s = 0; s < p->s; s++) {
		int64_t r = index_at(&p->a->c->in_node[1], p->a->x[1], s);
		if (r < 0 || (uint64_t)r >= p->v)
			continue;
		for (size_t j = b; j < e; j++)
			p->a->y[(uint64_t)r * p->d + j] += src[s * p->d + j];
	}
}

int dg_k_scatter_add(const struct dg_kargs *a)
{
	struct scat p = {a, a->c->n.dims[1], a->c->n.dims[0], a->c->in_node[1].count};
	memset(a->y, 0, a->c->n.count * sizeof(float));
	dg_pool_for(p.d, 64, scat_range, &p);
	return DG_OK;
}

int dg_k_one_hot(const struct dg_kargs *a)
{
	const struct dg_node *idx = &a->c->in_node[0];
	uint64_t k = (uint64_t)a->c->n.ia[0];
	memset(a->y, 0, a->c->n.count * sizeof(float));
	for (uint64_t s = 0; s < idx->count; s++) {
		int64_t r = index_at(idx, a->x[0], s);
		if (r < 0 || (uint64_t)r >= k)
			return dg_error(DG_EDATA, "one_hot: index %lld outside 0..%llu", (long long)r,
					(unsigned long long)k - 1);
		a->y[s * k + (uint64_t)r] = 1;
	}
	return DG_OK;
}

/* y[s] = x[s, idx[s]] over rows of K. */
int dg_k_pick(const struct dg_kargs *a)
{
	const struct dg_node *x = &a->c->in_node[0], *idx = &a->c->in_node[1];
	uint64_t k = x->dims[x->rank - 1];
	for (uint64_t s = 0; s < idx->count; s++) {
		int64_t r = index_at(idx, a->x[1], s);
		if (r < 0 || (uint64_t)r >= k)
			return dg_error(DG_EDATA, "pick: index %lld outside 0..%llu", (long long)r,
					(unsigned long long)k - 1);
		a->y[s] = ((const float *)a->x[0])[s * k + (uint64_t)r];
	}
	return DG_OK;
}

/* The adjoint: zeros, with src[s] at [s, idx[s]]. */
int dg_k_place(const struct dg_kargs *a)
{
	const struct dg_node *idx = &a->c->in_node[1];
	uint64_t k = (uint64_t)a->c->n.ia[0];
	memset(a->y, 0, a->c->n.count * sizeof(float));
	for (uint64_t s = 0; s < idx->count; s++) {
		int64_t r = index_at(idx, a->x[1], s);
		if (r < 0 || (uint64_t)r >= k)
			return dg_error(DG_EDATA, "place: index %lld outside 0..%llu", (long long)r,
					(unsigned long long)k - 1);
		a->y[s * k + (uint64_t)r] = ((const float *)a->x[0])[s];
	}
	return DG_OK;
}
