/* cpu/k_conv.c — direct 2-d convolution in C and its two adjoints, NCHW
 * with OIHW weights, stride s, zero padding pt above and pl left (the
 * output's size, from its node, says what lies below and right), dilation d:
 *   fwd:         y[n,o,i,j]  = Σ_c,u,v x[n,c,i·s-pt+u·d, j·s-pl+v·d] w[o,c,u,v]
 *   bwd-data:    dx[n,c,h,w] = Σ over the (o,i,j,u,v) that read (h,w)
 *   bwd-filter:  dw[o,c,u,v] = Σ_n,i,j dy[n,o,i,j] x[n,c,…]
 * Each output plane is owned by one thread and summed in a fixed order.
 * The reference path; oneDNN's plans are used where they apply. */
#include <string.h>
#include "cpu/kernels.h"
#include "cpu/pool.h"

struct cv {
	const float *x, *w, *dy, *bias;
	int act;
	float alpha;
	float *out;
	int64_t n, c, h, wd, o, kh, kw, oh, ow, s, d;
	int64_t pt, pl;                 /* padding above and left of x */
};

static void geometry(struct cv *v, const struct dg_node *x, const struct dg_node *w,
		     const struct dg_node *y, const int64_t *ca)
{
	v->n = (int64_t)x->dims[0];
	v->c = (int64_t)x->dims[1];
	v->h = (int64_t)x->dims[2];
	v->wd = (int64_t)x->dims[3];
	v->o = (int64_t)w->dims[0];
	v->kh = (int64_t)w->dims[2];
	v->kw = (int64_t)w->dims[3];
	v->oh = (int64_t)y->dims[2];
	v->ow = (int64_t)y->dims[3];
	v->s = ca[DG_CA_STRIDE];
	v->pt = ca[DG_CA_TOP];
	v->pl = ca[DG_CA_LEFT];
	v->d = ca[DG_CA_DIL];
}

static void fwd_planes(void *ctx, size_t b, size_t e)
{
	const struct cv *v = ctx;
	for (size_t pl = b; pl < e; pl++) {
		int64_t n = (int64_t)pl / v->o, o = (int64_t)pl % v->o;
		float *y = v->out + pl * v->oh * v->ow;
		memset(y, 0, v->oh * v->ow * sizeof *y);
		for (int64_t c = 0; c < v->c; c++) {
			const float *x = v->x + (n * v->c + c) * v->h * v->wd;
			for (int64_t u = 0; u < v->kh; u++)
				for (int64_t q = 0; q < v->kw; q++) {
					float wv = v->w[((o * v->c + c) * v->kh + u) * v->kw + q];
					for (int64_t i = 0; i < v->oh; i++) {
						int64_t hh = i * v->s - v->pt + u * v->d;
						if (hh < 0 || hh >= v->h)
							continue;
						for (int64_t j = 0; j < v->ow; j++) {
							int64_t ww = j * v->s - v->pl + q * v->d;
							if (ww >= 0 && ww < v->wd)
								y[i * v->ow + j] += wv * x[hh * v->wd + ww];
						}
					}
				}
		}
		/* The fused epilogue. */
		if (v->bias || v->act)
			for (int64_t i = 0; i < v->oh * v->ow; i++)
				y[i] = dg_act_apply(v->act, v->alpha, y[i] + (v->bias ? v->bias[o] : 0));
	}
}

int dg_k_conv(const struct dg_kargs *a)
{
	struct cv v = {.x = a->x[0], .w = a->x[1], .out = a->y, .bias = a->bias,
		       .act = a->c->act, .alpha = a->c->alpha};
	geometry(&v, &a->c->in_node[0], &a->c->in_node[1], &a->c->n, a->c->n.ia);
	dg_pool_for((size_t)(v.n * v.o), 1, fwd_planes, &v);
	return DG_OK;
}

static void data_planes(void *ctx, size_t b, size_t e)
{
	const struct cv *v = ctx;
	for (size_t pl = b; pl < e; pl++) {
		int64_t n = (int64_t)pl / v->c, c = (int64_t)pl % v->c;
		float *dx = v->out + pl * v->h * v->wd;
		memset(dx, 0, v->h * v->wd * sizeof *dx);
		for (int64_t o = 0; o < v->o; o++) {
			const float *dy = v->dy + (n * v->o + o) * v->oh * v->ow;
			for (int64_t u = 0; u < v->kh; u++)
				for (int64_t q = 0; q < v->kw; q++) {
					float wv = v->w[((o * v->c + c) * v->kh + u) * v->kw + q];
					for (int64_t i = 0; i < v->oh; i++) {
						int64_t hh = i * v->s - v->pt + u * v->d;
						if (hh < 0 || hh >= v->h)
							continue;
						for (int64_t j = 0; j < v->ow; j++) {
							int64_t ww = j * v->s - v->pl + q * v->d;
							if (ww >= 0 && ww < v->wd)
								dx[hh * v->wd + ww] += wv * dy[i * v->ow + j];
						}
					}
				}
		}
	}
}

int dg_k_conv_bwd_data(const struct dg_kargs *a)
{
	/* inputs (dy, w), output x-shaped */
	struct cv v = {.w = a->x[1], .dy = a->x[0], .out = a->y};
	geometry(&v, &a->c->n, &a->c->in_node[1], &a->c->in_node[0], a->c->n.ia);
	dg_pool_for((size_t)(v.n * v.c), 1, data_planes, &v);
	return DG_OK;
}

static void filter_planes(void *ctx, size_t b, size_t e)
{
	const struct cv *v = ctx;
	for (size_t pl = b; pl < e; pl++) {
		int64_t o = (int64_t)pl / v->c, c = (int64_t)pl % v->c;
		float *dw = v->out + pl * v->kh * v->kw;
		for (int64_t u = 0; u < v->kh; u++)
			for (int64_t q = 0; q < v->kw; q++) {
				double acc = 0;
				for (int64_t n = 0; n < v->n; n++) {
					const float *x = v->x + (n * v->c + c) * v->h * v->wd;
					const float *dy = v->dy + (n * v->o + o) * v->oh * v->ow;
					for (int64_t i = 0; i < v->oh; i++) {
						int64_t hh = i * v->s - v->pt + u * v->d;
						if (hh < 0 || hh >= v->h)
							continue;
						for (int64_t j = 0; j < v->ow; j++) {
							int64_t ww = j * v->s - v->pl + q * v->d;
							if (ww >= 0 && ww < v->wd)
								acc += (double)dy[i * v->ow + j] * x[hh * v->wd + ww];
						}
					}
				}
				dw[u * v->kw + q] = (float)acc;
			}
	}
}

int dg_k_conv_bwd_filter(const struct dg_kargs *a)
{
	/* inputs (x, dy), output w-shaped */
	struct cv v = {.x = a->x[0], .dy = a->x[1], .out = a->y};
	geometry(&v, &a->c->in_node[0], &a->c->n, &a->c->in_node[1], a->c->n.ia);
	dg_pool_for((size_t)(v.o * v.c), 1, filter_planes, &v);
	return DG_OK;
}
