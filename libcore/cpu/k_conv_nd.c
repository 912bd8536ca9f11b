/* cpu/k_conv_nd.c — the general convolutions in C (the path without
 * oneDNN): grouped, 2-d or 3-d, per-axis stride s, padding p, dilation d,
 * on images N×C×D×H×W (depth 1 for 2-d) with weights O×(C/G)×KD×KH×KW;
 * output channel o of group g = o/(O/G) reads input channels
 * g·C/G .. (g+1)·C/G - 1:
 *   fwd:         y[n,o,i]   = Σ_c,u x[n, g·C/G + c, i·s - p + u·d] w[o,c,u]
 *   bwd-data:    dx[n,c,·]  = Σ over the (o, i, u) of c's group that read it
 *   bwd-filter:  dw[o,c,u]  = Σ_n,i dy[n,o,i] x[n, g·C/G + c, i·s - p + u·d]
 * (i, u: positions and taps on the three axes).  Each output plane or
 * filter is owned by one thread and summed in a fixed order. */
#include <string.h>
#include "cpu/kernels.h"
#include "cpu/pool.h"

struct cv {
	struct dg_window g;
	const float *x, *w, *dy;
	float *out;
	int64_t cg, og;                 /* channels per group, in and out */
	int64_t vin, vout, vk;          /* volumes of a plane and a filter */
};

static void setup(struct cv *v, const struct dg_kargs *a)
{
	dg__window(a->c, &v->g);
	v->cg = v->g.c / v->g.groups;
	v->og = v->g.o / v->g.groups;
	v->vin = v->g.in[0] * v->g.in[1] * v->g.in[2];
	v->vout = v->g.out[0] * v->g.out[1] * v->g.out[2];
	v->vk = v->g.k[0] * v->g.k[1] * v->g.k[2];
}

/* One tap u (on the three axes) of weight value wv between an input-
 * sided plane and an output-sided one, over every output position i
 * whose input position i·s - p + u·d is inside: out[i] += wv·in[..]
 * (to_input 0: src is the input plane, dst the output plane) or
 * in[..] += wv·out[i] (to_input 1: the other way). */
static void tap(const struct dg_window *g, const int64_t *u, float wv, const float *src,
		float *dst, int to_input)
{
	for (int64_t od = 0; od < g->out[0]; od++) {
		int64_t id = od * g->s[0] - g->p[0] + u[0] * g->d[0];
		if (id < 0 || id >= g->in[0])
			continue;
		for (int64_t oh = 0; oh < g->out[1]; oh++) {
			int64_t ih = oh * g->s[1] - g->p[1] + u[1] * g->d[1];
			if (ih < 0 || ih >= g->in[1])
				continue;
			const int64_t xo = (id * g->in[1] + ih) * g->in[2];
			const int64_t yo = (od * g->out[1] + oh) * g->out[2];
			for (int64_t ow = 0; ow < g->out[2]; ow++) {
				int64_t iw = ow * g->s[2] - g->p[2] + u[2] * g->d[2];
				if (iw < 0 || iw >= g->in[2])
					continue;
				if (to_input)
					dst[xo + iw] += wv * src[yo + ow];
				else
					dst[yo + ow] += wv * src[xo + iw];
			}
		}
	}
}

static void taps_of(const struct dg_window *g, int64_t t, int64_t *u)
{
	u[2] = t % g->k[2];
	u[1] = (t / g->k[2]) % g->k[1];
	u[0] = t / (g->k[2] * g->k[1]);
}

static void fwd_planes(void *ctx, size_t b, size_t e)
{
	const struct cv *v = ctx;
	for (size_t pl = b; pl < e; pl++) {
		int64_t n = (int64_t)pl / v->g.o, o = (int64_t)pl % v->g.o, grp = o / v->og;
		float *y = v->out + pl * v->vout;
		memset(y, 0, v->vout * sizeof *y);
		for (int64_t c = 0; c < v->cg; c++) {
			const float *x = v->x + (n * v->g.c + grp * v->cg + c) * v->vin;
			const float *w = v->w + (o * v->cg + c) * v->vk;
			for (int64_t t = 0; t < v->vk; t++) {
				int64_t u[3];
				taps_of(&v->g, t, u);
				tap(&v->g, u, w[t], x, y, 0);
			}
		}
	}
}

int dg_k_conv_nd(const struct dg_kargs *a)
{
	struct cv v = {.x = a->x[0], .w = a->x[1], .out = a->y};
	setup(&v, a);
	dg_pool_for((size_t)(v.g.n * v.g.o), 1, fwd_planes, &v);
	return DG_OK;
}

static void data_planes(void *ctx, size_t b, size_t e)
{
	const struct cv *v = ctx;
	for (size_t pl = b; pl < e; pl++) {
		int64_t n = (int64_t)pl / v->g.c, c = (int64_t)pl % v->g.c;
		int64_t grp = c / v->cg, cl = c % v->cg;
		float *dx = v->out + pl * v->vin;
		memset(dx, 0, v->vin * sizeof *dx);
		for (int64_t ol = 0; ol < v->og; ol++) {
			int64_t o = grp * v->og + ol;
			const float *dy = v->dy + (n * v->g.o + o) * v->vout;
			const float *w = v->w + (o * v->cg + cl) * v->vk;
			for (int64_t t = 0; t < v->vk; t++) {
				int64_t u[3];
				taps_of(&v->g, t, u);
				tap(&v->g, u, w[t], dy, dx, 1);
			}
		}
	}
}

int dg_k_conv_nd_bwd_data(const struct dg_kargs *a)
{
	/* inputs (dy, w), output x-shaped */
	struct cv v = {.dy = a->x[0], .w = a->x[1], .out = a->y};
	setup(&v, a);
	dg_pool_for((size_t)(v.g.n * v.g.c), 1, data_planes, &v);
	return DG_OK;
}

static void filter_planes(void *ctx, size_t b, size_t e)
{
	const struct cv *v = ctx;
	const struct dg_window *g = &v->g;
	for (size_t f = b; f < e; f++) {
		int64_t o = (int64_t)f / v->cg, cl = (int64_t)f % v->cg, grp = o / v->og;
		float *dw = v->out + f * v->vk;
		for (int64_t t = 0; t < v->vk; t++) {
			int64_t u[3];
			double acc = 0;
			taps_of(g, t, u);
			for (int64_t n = 0; n < g->n; n++) {
				const float *x = v->x + (n * g->c + grp * v->cg + cl) * v->vin;
				const float *dy = v->dy + (n * g->o + o) * v->vout;
				for (int64_t od = 0; od < g->out[0]; od++) {
					int64_t id = od * g->s[0] - g->p[0] + u[0] * g->d[0];
					if (id < 0 || id >= g->in[0])
						continue;
					for (int64_t oh = 0; oh < g->out[1]; oh++) {
						int64_t ih = oh * g->s[1] - g->p[1] + u[1] * g->d[1];
						if (ih < 0 || ih >= g->in[1])
							continue;
						const float *xr = x + (id * g->in[1] + ih) * g->in[2];
						const float *yr = dy + (od * g->out[1] + oh) * g->out[2];
						for (int64_t ow = 0; ow < g->out[2]; ow++) {
							int64_t iw = ow * g->s[2] - g->p[2] + u[2] * g->d[2];
							if (iw >= 0 && iw < g->in[2])
								acc += (double)yr[ow] * xr[iw];
						}
					}
				}
			}
			dw[t] = (float)acc;
		}
	}
}

int dg_k_conv_nd_bwd_filter(const struct dg_kargs *a)
{
	/* inputs (x, dy), output w-shaped */
	struct cv v = {.x = a->x[0], .dy = a->x[1], .out = a->y};
	setup(&v, a);
	dg_pool_for((size_t)(v.g.o * v.cg), 1, filter_planes, &v);
	return DG_OK;
}
