/* cpu/k_resample.c — the resample op: x as planes × H × W (its last two
 * axes) -> planes × OH × OW, y[p,i,j] = Σ_a wh[i,a]·Σ_b ww[j,b]·
 * x[p, ih[i,a], iw[j,b]], the taps read from the op's constant table
 * (layout in graph/resample.c, checked whole when the op was made); an
 * axis without taps is copied.  Two passes per plane, so each costs its
 * own taps rather than their product (16 for bilinear's adjoint): along W
 * into a row buffer of H × OW, then rows combined along H, contiguous (the
 * compiler vectorizes it).  Planes are split among threads; the order of
 * the sums is fixed. */
#include <stdlib.h>
#include <string.h>
#include "cpu/kernels.h"
#include "cpu/pool.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

/* One axis's taps as arrays: out × taps indices (NONE for a missing tap)
 * and weights. */
#define NONE UINT32_MAX
struct map {
	uint64_t taps;
	uint32_t *idx;
	float *w;
};

struct rs {
	const struct dg_kargs *a;
	struct map h, w;
	int copy_w;
	uint64_t ih, iw, oh, ow;
	int failed;
};

static void rs_planes(void *ctx, size_t b, size_t e)
{
	struct rs *r = ctx;
	uint64_t th = r->h.taps, tw = r->w.taps, ow = r->ow;
	float *tmp = r->copy_w ? NULL : malloc(r->ih * ow * sizeof *tmp);

	if (!r->copy_w && !tmp) {
		r->failed = 1;
		return;
	}
	for (size_t p = b; p < e; p++) {
		const float *x = (const float *)r->a->x[0] + p * r->ih * r->iw;
		float *y = r->a->y + p * r->oh * ow;
		const float *rows = x;
		if (!r->copy_w) {
			for (uint64_t i = 0; i < r->ih; i++)
				for (uint64_t j = 0; j < ow; j++) {
					const uint32_t *c = r->w.idx + j * tw;
					const float *w = r->w.w + j * tw;
					float acc = 0;
					for (uint64_t t = 0; t < tw; t++)
						if (c[t] != NONE)
							acc += w[t] * x[i * r->iw + c[t]];
					tmp[i * ow + j] = acc;
				}
			rows = tmp;
		}
		for (uint64_t i = 0; i < r->oh; i++) {
			float *restrict yr = y + i * ow;
			memset(yr, 0, ow * sizeof *yr);
			for (uint64_t s = 0; s < th; s++) {
				uint32_t src = r->h.idx[i * th + s];
				if (src == NONE)
					continue;
				const float *restrict xr = rows + (uint64_t)src * ow;
				float wa = r->h.w[i * th + s];
				for (uint64_t j = 0; j < ow; j++)
					yr[j] += wa * xr[j];
			}
		}
	}
	free(tmp);
}

/* The map of one axis from the table, or the identity. */
static int load(const float *tab, unsigned a, uint64_t out, struct map *m)
{
	uint64_t taps = (uint64_t)tab[2 * a], off = (uint64_t)tab[2 * a + 1];
	m->taps = taps ? taps : 1;
	m->idx = malloc(out * m->taps * sizeof *m->idx);
	m->w = malloc(out * m->taps * sizeof *m->w);
	if (!m->idx || !m->w)
		return dg_error_nomem("a resample map", out * m->taps * 8);
	for (uint64_t j = 0; j < out * m->taps; j++) {
		float i = taps ? tab[off + 2 * j] : (float)j;
		m->idx[j] = i < 0 ? NONE : (uint32_t)i;
		m->w[j] = taps ? tab[off + 2 * j + 1] : 1;
	}
	return DG_OK;
}

int dg_k_resample(const struct dg_kargs *a)
{
	const struct dg_node *x = &a->c->in_node[0], *y = &a->c->n;
	const float *tab = a->x[1];
	struct rs r = {.a = a, .copy_w = tab[2] == 0};
	int st;

	r.ih = x->dims[x->rank - 2];
	r.iw = x->dims[x->rank - 1];
	r.oh = y->dims[y->rank - 2];
	r.ow = y->dims[y->rank - 1];
	if (!(st = load(tab, 0, r.oh, &r.h)) && !(st = load(tab, 1, r.ow, &r.w))) {
		uint64_t plane = r.oh * r.ow, planes = plane ? y->count / plane : 0;
		uint64_t work = plane * r.h.taps + r.ih * r.ow * r.w.taps;
		dg_pool_for(planes, 1 + 65536 / (work ? work : 1), rs_planes, &r);
		if (r.failed)
			st = dg_error_nomem("a resample row buffer", r.ih * r.ow * 4);
	}
	free(r.h.idx);
	free(r.h.w);
	free(r.w.idx);
	free(r.w.w);
	return st;
}
