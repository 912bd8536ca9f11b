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

/* Slice and pad move whole rows: runs of floats contiguous in both x
 * and y (the innermost axis, merged with the axes inside it that the op
 * leaves whole).  struct rows describes them: y's dims with the rows'
 * axes folded into the last, x's strides on them, and where row 0
 * starts in x (slice) or in y (pad). */
struct rows {
	const struct dg_kargs *a;
	unsigned rank;                  /* axes left, the last one the row */
	uint64_t dims[DG_MAX_RANK];     /* the outer of the two tensors' dims */
	uint64_t inner[DG_MAX_RANK];    /* the inner one's (pad: x's; slice: y's) */
	uint64_t st[DG_MAX_RANK];       /* the outer one's strides */
	uint64_t before[DG_MAX_RANK];   /* where the inner one starts on each axis */
	uint64_t row;                   /* floats per row of the inner one */
};

/* Fills r from the outer tensor's dims (slice: x; pad: y), the inner
 * one's (slice: y; pad: x) and the offsets ia; axes k where the inner
 * one is whole (offset 0, same size) fold into the row from the inside
 * out. */
static void rows_of(struct rows *r, const struct dg_node *outer, const struct dg_node *inner,
		    const int64_t *ia)
{
	unsigned k = inner->rank;
	uint64_t row = 1;
	while (k > 1 && !ia[k - 1] && inner->dims[k - 1] == outer->dims[k - 1])
		row *= inner->dims[--k];
	/* axis k-1 is the row's own axis (partly taken, or the last one
	 * left); strides count floats, the merged run being `row` */
	r->rank = k ? k : 1;
	uint64_t acc = row;
	for (int j = (int)k - 1; j >= 0; j--) {
		r->st[j] = acc;
		r->dims[j] = outer->dims[j];
		r->inner[j] = inner->dims[j];
		r->before[j] = (uint64_t)ia[j];
		acc *= outer->dims[j];
	}
	if (!k) {               /* a scalar */
		r->dims[0] = r->inner[0] = r->st[0] = 1;
		r->before[0] = 0;
	}
	r->row = row * r->inner[r->rank - 1];
}

/* Slice: y's rows [b, e), each copied from x. */
static void slice_rows(void *ctx, size_t b, size_t e)
{
	const struct rows *r = ctx;
	const float *x = r->a->x[0];
	float *y = r->a->y;
	for (size_t i = b; i < e; i++) {
		uint64_t q = i, off = 0;
		for (int k = (int)r->rank - 2; k >= 0; k--) {
			off += (q % r->inner[k] + r->before[k]) * r->st[k];
			q /= r->inner[k];
		}
		off += r->before[r->rank - 1] * r->st[r->rank - 1];
		memcpy(y + i * r->row, x + off, r->row * sizeof(float));
	}
}

int dg_k_slice(const struct dg_kargs *a)
{
	struct rows r = {.a = a};
	rows_of(&r, &a->c->in_node[0], &a->c->n, a->c->n.ia);
	uint64_t n = r.row ? a->c->n.count / r.row : 0;
	if (n)
		dg_pool_for(n, 16384 / r.row + 1, slice_rows, &r);
	return DG_OK;
}

/* Pad: y's rows [b, e) (y's outer coordinates, its last axis whole),
 * each the fill value around x's row where the coordinates are inside x. */
static void pad_rows(void *ctx, size_t b, size_t e)
{
	const struct rows *r = ctx;
	const struct dg_node *yn = &r->a->c->n;
	const float *x = r->a->x[0];
	float *y = r->a->y;
	float v = yn->fa[0];
	unsigned last = r->rank - 1;
	uint64_t yrow = r->dims[last] * r->st[last];       /* floats per row of y */
	uint64_t lo = r->before[last] * r->st[last], len = r->row;
	for (size_t i = b; i < e; i++) {
		uint64_t q = i, off = 0, xst = 1;
		int inside = 1;
		float *dst = y + i * yrow;
		for (int k = (int)last - 1; k >= 0; k--) {
			uint64_t c = q % r->dims[k];
			q /= r->dims[k];
			if (c < r->before[k] || c - r->before[k] >= r->inner[k])
				inside = 0;
			else
				off += (c - r->before[k]) * xst;
			xst *= r->inner[k];
		}
		if (!inside) {
			for (uint64_t j = 0; j < yrow; j++)
				dst[j] = v;
			continue;
		}
		for (uint64_t j = 0; j < lo; j++)
			dst[j] = v;
		memcpy(dst + lo, x + off * len, len * sizeof(float));
		for (uint64_t j = lo + len; j < yrow; j++)
			dst[j] = v;
	}
}

int dg_k_pad(const struct dg_kargs *a)
{
	struct rows r = {.a = a};
	rows_of(&r, &a->c->n, &a->c->in_node[0], a->c->n.ia);
	uint64_t last = r.rank - 1, yrow = r.dims[last] * r.st[last];
	uint64_t n = yrow ? a->c->n.count / yrow : 0;
	if (n)
		dg_pool_for(n, 16384 / yrow + 1, pad_rows, &r);
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
