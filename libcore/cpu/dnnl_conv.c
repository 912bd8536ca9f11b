/* cpu/dnnl_conv.c — convolution and transposed-convolution plans: forward
 * with fused bias/activation, backward-data, backward-weights (+ bias). */
#include "dg/error.h"
#include "cpu/dnnl_impl.h"

/* Everything oneDNN's descriptors need, derived from struct dg_dnnl_conv. */
struct geom {
	dnnl_memory_desc_t src, wei, bias, dst;        /* the caller's layouts */
	dnnl_memory_desc_t asrc, awei, adst;            /* "any": oneDNN picks */
	dnnl_dims_t strides, dil, pl, pr;
};

/* lo, hi: the padding before and after the input */
static int64_t conv_len(int64_t in, int64_t k, int64_t s, int64_t lo, int64_t hi, int64_t d)
{
	int64_t span = d * (k - 1) + 1;

	return in + lo + hi < span ? 0 : (in + lo + hi - span) / s + 1;
}

static int64_t deconv_len(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d,
			  int64_t op)
{
	return (in - 1) * s - 2 * p + d * (k - 1) + op + 1;
}

/* The spatial parameters as arrays over (depth, height, width), depth
 * as a 1-wide axis for 2-d. */
struct axes {
	int64_t in[3], k[3], s[3], p[3], d[3], op[3];
	int64_t extra[3];               /* padding after the input minus p */
	int nsp;                        /* spatial axes: 2 or 3 */
	int64_t groups;
};

static int axes_of(const struct dg_dnnl_conv *c, int deconv, struct axes *a)
{
	int three = c->id > 0;
	a->nsp = three ? 3 : 2;
	a->groups = c->groups > 1 ? c->groups : 1;
	int64_t in[3] = { three ? c->id : 1, c->ih, c->iw }, k[3] = { three ? c->kd : 1, c->kh, c->kw };
	int64_t s[3] = { three ? c->sd : 1, c->sh, c->sw }, p[3] = { three ? c->pd : 0, c->ph, c->pw };
	int64_t d[3] = { three ? c->dd : 1, c->dh, c->dw }, op[3] = { three ? c->opd : 0, c->oph, c->opw };
	int64_t extra[3] = { 0, c->ph_extra, c->pw_extra };
	for (int i = 0; i < 3; i++) {
		a->in[i] = in[i], a->k[i] = k[i], a->s[i] = s[i];
		a->p[i] = p[i], a->d[i] = d[i], a->op[i] = op[i], a->extra[i] = extra[i];
		if (in[i] < 1 || k[i] < 1 || s[i] < 1 || d[i] < 1 || p[i] < 0 || op[i] < 0 ||
		    p[i] + extra[i] < 0 || (!deconv && op[i]) || (deconv && extra[i]))
			return dg_error(DG_EUSAGE, "oneDNN convolution: bad parameters");
	}
	if (c->n < 1 || c->ic < 1 || c->groups < 0 || c->ic % a->groups ||
	    (c->oc > 0 && c->oc % a->groups))
		return dg_error(DG_EUSAGE, "oneDNN convolution: bad parameters");
	return DG_OK;
}

int dg_dnnl_window_out(const struct dg_dnnl_conv *c, int deconv, int64_t *out)
{
	struct axes a;
	int st;

	if ((st = axes_of(c, deconv, &a)))
		return st;
	for (int i = 0; i < 3; i++) {
		out[i] = deconv ? deconv_len(a.in[i], a.k[i], a.s[i], a.p[i], a.d[i], a.op[i])
				: conv_len(a.in[i], a.k[i], a.s[i], a.p[i], a.p[i] + a.extra[i], a.d[i]);
		if (out[i] < 1)
			return dg_error(DG_EUSAGE, deconv ? "oneDNN deconvolution: empty output"
						   : "oneDNN convolution: kernel larger than input");
	}
	return DG_OK;
}

int dg_dnnl_conv_out(const struct dg_dnnl_conv *c, int64_t *oh, int64_t *ow)
{
	int64_t o[3];
	int st = dg_dnnl_window_out(c, 0, o);

	*oh = o[1];
	*ow = o[2];
	return st;
}

int dg_dnnl_deconv_out(const struct dg_dnnl_conv *c, int64_t *oh, int64_t *ow)
{
	int64_t o[3];
	int st = dg_dnnl_window_out(c, 1, o);

	*oh = o[1];
	*ow = o[2];
	return st;
}

/* Fills g for a convolution (deconv = 0) or deconvolution, 2-d or 3-d,
 * grouped or not.  oneDNN wants the right/bottom padding that makes its
 * size formula exact, and dilation counted from 0. */
static int geom(struct geom *g, const struct dg_dnnl_conv *c, int deconv)
{
	/* the caller's weight layouts: OIHW for a convolution; for a
	 * deconvolution oneDNN's logical dims are still (OC, IC, KH, KW) but
	 * stored IC-major, which is PyTorch's ConvTranspose layout; with
	 * groups a leading G axis (PyTorch's O = G·O/G outermost) */
	static const dnnl_format_tag_t wtag[2][2][2] = {
		{ { dnnl_oihw, dnnl_iohw }, { dnnl_goihw, dnnl_giohw } },
		{ { dnnl_oidhw, dnnl_iodhw }, { dnnl_goidhw, dnnl_giodhw } },
	};
	struct axes a;
	int64_t out[3];
	int st;

	if ((st = axes_of(c, deconv, &a)) || (st = dg_dnnl_window_out(c, deconv, out)))
		return st;
	if (c->oc < 1)
		return dg_error(DG_EUSAGE, "oneDNN convolution: %lld output channels",
				(long long)c->oc);
	int nd = 2 + a.nsp, first = 3 - a.nsp, grouped = a.groups > 1;
	int64_t sd[5] = { c->n, c->ic }, dd[5] = { c->n, c->oc };
	dnnl_dims_t wd = { 0 }, bd = { c->oc };
	int wn = 0;
	if (grouped)
		wd[wn++] = a.groups;
	wd[wn++] = c->oc / a.groups;
	wd[wn++] = c->ic / a.groups;
	for (int i = 0; i < a.nsp; i++) {
		sd[2 + i] = a.in[first + i];
		dd[2 + i] = out[first + i];
		wd[wn++] = a.k[first + i];
	}
	if ((st = dgd_md_plain(&g->src, nd, sd)) || (st = dgd_md_plain(&g->dst, nd, dd)))
		return st;
	/* Plain NCHW makes oneDNN fall back to im2col + GEMM, 2-5x slower
	 * than its blocked kernels here; the plan stages blocked copies. */
	if ((st = dgd_fail(DNNL(memory_desc_init_by_tag)(&g->asrc, nd, g->src.dims, dnnl_f32,
							 dnnl_format_tag_any), "descriptor")) ||
	    (st = dgd_fail(DNNL(memory_desc_init_by_tag)(&g->adst, nd, g->dst.dims, dnnl_f32,
							 dnnl_format_tag_any), "descriptor")) ||
	    (st = dgd_fail(DNNL(memory_desc_init_by_tag)(&g->awei, wn, wd, dnnl_f32,
							 dnnl_format_tag_any), "descriptor")))
		return st;
	if ((st = dgd_fail(DNNL(memory_desc_init_by_tag)(&g->wei, wn, wd, dnnl_f32,
							 wtag[a.nsp == 3][grouped][deconv]),
			   "weights descriptor")) ||
	    (st = dgd_fail(DNNL(memory_desc_init_by_tag)(&g->bias, 1, bd, dnnl_f32, dnnl_a),
			   "bias descriptor")))
		return st;
	/* The padded extent of the larger side must be exactly covered by
	 * the kernel positions of the smaller side. */
	for (int i = 0; i < a.nsp; i++) {
		int j = first + i;
		int64_t big = deconv ? out[j] : a.in[j], small = deconv ? a.in[j] : out[j];
		g->strides[i] = a.s[j];
		g->dil[i] = a.d[j] - 1;
		g->pl[i] = a.p[j];
		g->pr[i] = (small - 1) * a.s[j] + a.d[j] * (a.k[j] - 1) + 1 - big - a.p[j];
	}
	return DG_OK;
}

static int fwd_desc(dnnl_convolution_desc_t *d, struct geom *g, int deconv, int bias)
{
	if (deconv)
		return dgd_fail(DNNL(dilated_deconvolution_forward_desc_init)(
					 d, dnnl_forward_training, dnnl_deconvolution_direct,
					 &g->asrc, &g->awei, bias ? &g->bias : NULL, &g->adst,
					 g->strides, g->dil, g->pl, g->pr),
				"deconvolution");
	return dgd_fail(DNNL(dilated_convolution_forward_desc_init)(
				 d, dnnl_forward_training, dnnl_convolution_direct,
				 &g->asrc, &g->awei, bias ? &g->bias : NULL, &g->adst,
				 g->strides, g->dil, g->pl, g->pr),
			"convolution");
}

static int fwd_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c, int deconv,
		    unsigned flags, enum dg_dnnl_act act, float alpha)
{
	static const int args_bias[] = { DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS,
					 DNNL_ARG_DST };
	static const int args_nobias[] = { DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, 0, DNNL_ARG_DST };
	const char *what = deconv ? "deconvolution" : "convolution";
	int bias = !!(flags & DG_DNNL_BIAS), st;
	dnnl_convolution_desc_t d;
	dnnl_post_ops_t po = NULL;
	struct geom g;

	*out = NULL;
	/* oneDNN 2.6's deconvolution applies eltwise post-ops in a slow loop
	 * (measured 4x the whole deconvolution here), so without
	 * accumulation the activation runs as its own in-place primitive. */
	int separate = deconv && act != DG_DNNL_NONE && !(flags & DG_DNNL_ACCUMULATE);
	if ((st = dgd_ready()) || (st = geom(&g, c, deconv)) ||
	    (st = fwd_desc(&d, &g, deconv, bias)) ||
	    (st = dgd_epilogue(&po, separate ? DG_DNNL_NONE : act, alpha,
			       !!(flags & DG_DNNL_ACCUMULATE))))
		return st;
	const dnnl_memory_desc_t *plain[] = { &g.src, &g.wei, NULL, &g.dst };
	st = dgd_plan_make_any(out, &d, po, NULL, bias ? args_bias : args_nobias, plain, 4,
			       !!(flags & DG_DNNL_ACCUMULATE), what);
	if (po)
		DNNL(post_ops_destroy)(po);
	if (!st && separate && (st = dgd_plan_add_post_act(*out, 3, act, alpha))) {
		dg_dnnl_plan_free(*out);
		*out = NULL;
	}
	return st;
}

static int bwd_data_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c,
			 int deconv)
{
	static const int args[] = { DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC };
	const char *what = deconv ? "deconvolution backward-data"
				  : "convolution backward-data";
	dnnl_convolution_desc_t fd, d;
	dnnl_primitive_desc_t hint;
	struct geom g;
	int st;

	*out = NULL;
	if ((st = dgd_ready()) || (st = geom(&g, c, deconv)) ||
	    (st = fwd_desc(&fd, &g, deconv, 0)) || (st = dgd_pd_make(&hint, &fd, NULL, what)))
		return st;
	if (deconv)
		st = dgd_fail(DNNL(dilated_deconvolution_backward_data_desc_init)(
				       &d, dnnl_deconvolution_direct, &g.asrc, &g.awei, &g.adst,
				       g.strides, g.dil, g.pl, g.pr), what);
	else
		st = dgd_fail(DNNL(dilated_convolution_backward_data_desc_init)(
				       &d, dnnl_convolution_direct, &g.asrc, &g.awei, &g.adst,
				       g.strides, g.dil, g.pl, g.pr), what);
	if (!st) {
		const dnnl_memory_desc_t *plain[] = { &g.dst, &g.wei, &g.src };
		st = dgd_plan_make_any(out, &d, NULL, hint, args, plain, 3, 0, what);
	}
	DNNL(primitive_desc_destroy)(hint);
	return st;
}

static int bwd_weights_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c,
			    int deconv, unsigned flags)
{
	static const int args_bias[] = { DNNL_ARG_SRC, DNNL_ARG_DIFF_DST,
					 DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS };
	static const int args_nobias[] = { DNNL_ARG_SRC, DNNL_ARG_DIFF_DST,
					   DNNL_ARG_DIFF_WEIGHTS, 0 };
	const char *what = deconv ? "deconvolution backward-weights"
				  : "convolution backward-weights";
	int bias = !!(flags & DG_DNNL_BIAS), st;
	dnnl_convolution_desc_t fd, d;
	dnnl_primitive_desc_t hint;
	struct geom g;

	*out = NULL;
	if ((st = dgd_ready()) || (st = geom(&g, c, deconv)) ||
	    (st = fwd_desc(&fd, &g, deconv, bias)) || (st = dgd_pd_make(&hint, &fd, NULL, what)))
		return st;
	if (deconv)
		st = dgd_fail(DNNL(dilated_deconvolution_backward_weights_desc_init)(
				       &d, dnnl_deconvolution_direct, &g.asrc, &g.awei,
				       bias ? &g.bias : NULL, &g.adst, g.strides, g.dil, g.pl,
				       g.pr), what);
	else
		st = dgd_fail(DNNL(dilated_convolution_backward_weights_desc_init)(
				       &d, dnnl_convolution_direct, &g.asrc, &g.awei,
				       bias ? &g.bias : NULL, &g.adst, g.strides, g.dil, g.pl,
				       g.pr), what);
	if (!st) {
		const dnnl_memory_desc_t *plain[] = { &g.src, &g.dst, &g.wei, NULL };
		st = dgd_plan_make_any(out, &d, NULL, hint, bias ? args_bias : args_nobias,
				       plain, 4, 0, what);
	}
	DNNL(primitive_desc_destroy)(hint);
	return st;
}

int dg_dnnl_conv_fwd_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c,
			  unsigned flags, enum dg_dnnl_act act, float alpha)
{
	return fwd_plan(out, c, 0, flags, act, alpha);
}

int dg_dnnl_conv_bwd_data_plan(struct dg_dnnl_plan **out,
			       const struct dg_dnnl_conv *c, unsigned flags)
{
	(void)flags;
	return bwd_data_plan(out, c, 0);
}

int dg_dnnl_conv_bwd_weights_plan(struct dg_dnnl_plan **out,
				  const struct dg_dnnl_conv *c, unsigned flags)
{
	return bwd_weights_plan(out, c, 0, flags);
}

int dg_dnnl_deconv_fwd_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c,
			    unsigned flags, enum dg_dnnl_act act, float alpha)
{
	return fwd_plan(out, c, 1, flags, act, alpha);
}

int dg_dnnl_deconv_bwd_data_plan(struct dg_dnnl_plan **out,
				 const struct dg_dnnl_conv *c, unsigned flags)
{
	(void)flags;
	return bwd_data_plan(out, c, 1);
}

int dg_dnnl_deconv_bwd_weights_plan(struct dg_dnnl_plan **out,
				    const struct dg_dnnl_conv *c, unsigned flags)
{
	return bwd_weights_plan(out, c, 1, flags);
}
