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

static int64_t conv_len(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d)
{
	int64_t span = d * (k - 1) + 1;

	return in + 2 * p < span ? 0 : (in + 2 * p - span) / s + 1;
}

static int64_t deconv_len(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d,
			  int64_t op)
{
	return (in - 1) * s - 2 * p + d * (k - 1) + op + 1;
}

static int check(const struct dg_dnnl_conv *c, int deconv)
{
	if (c->n < 1 || c->ic < 1 || c->ih < 1 || c->iw < 1 || c->kh < 1 || c->kw < 1 ||
	    c->sh < 1 || c->sw < 1 || c->dh < 1 || c->dw < 1 || c->ph < 0 || c->pw < 0 ||
	    c->oph < 0 || c->opw < 0 || (!deconv && (c->oph || c->opw)))
		return dg_error(DG_EUSAGE, "oneDNN convolution: bad parameters");
	return DG_OK;
}

int dg_dnnl_conv_out(const struct dg_dnnl_conv *c, int64_t *oh, int64_t *ow)
{
	int st = check(c, 0);

	if (st)
		return st;
	*oh = conv_len(c->ih, c->kh, c->sh, c->ph, c->dh);
	*ow = conv_len(c->iw, c->kw, c->sw, c->pw, c->dw);
	if (*oh < 1 || *ow < 1)
		return dg_error(DG_EUSAGE, "oneDNN convolution: kernel larger than input");
	return DG_OK;
}

int dg_dnnl_deconv_out(const struct dg_dnnl_conv *c, int64_t *oh, int64_t *ow)
{
	int st = check(c, 1);

	if (st)
		return st;
	*oh = deconv_len(c->ih, c->kh, c->sh, c->ph, c->dh, c->oph);
	*ow = deconv_len(c->iw, c->kw, c->sw, c->pw, c->dw, c->opw);
	if (*oh < 1 || *ow < 1)
		return dg_error(DG_EUSAGE, "oneDNN deconvolution: empty output");
	return DG_OK;
}

/* Fills g for a convolution (deconv = 0) or deconvolution.  oneDNN wants
 * the right/bottom padding that makes its size formula exact, and
 * dilation counted from 0. */
static int geom(struct geom *g, const struct dg_dnnl_conv *c, int deconv)
{
	int64_t oh, ow, big_h, big_w, small_h, small_w;
	int st;

	if ((st = deconv ? dg_dnnl_deconv_out(c, &oh, &ow) : dg_dnnl_conv_out(c, &oh, &ow)))
		return st;
	int64_t sd[] = { c->n, c->ic, c->ih, c->iw }, dd[] = { c->n, c->oc, oh, ow };
	dnnl_dims_t wd = { c->oc, c->ic, c->kh, c->kw }, bd = { c->oc };
	if (c->oc < 1)
		return dg_error(DG_EUSAGE, "oneDNN convolution: %lld output channels",
				(long long)c->oc);
	if ((st = dgd_md_plain(&g->src, 4, sd)) || (st = dgd_md_plain(&g->dst, 4, dd)))
		return st;
	/* Plain NCHW makes oneDNN fall back to im2col + GEMM, 2-5x slower
	 * than its blocked kernels here; the plan stages blocked copies. */
	if ((st = dgd_fail(DNNL(memory_desc_init_by_tag)(&g->asrc, 4, g->src.dims, dnnl_f32,
							 dnnl_format_tag_any), "descriptor")) ||
	    (st = dgd_fail(DNNL(memory_desc_init_by_tag)(&g->adst, 4, g->dst.dims, dnnl_f32,
							 dnnl_format_tag_any), "descriptor")) ||
	    (st = dgd_fail(DNNL(memory_desc_init_by_tag)(&g->awei, 4, wd, dnnl_f32,
							 dnnl_format_tag_any), "descriptor")))
		return st;
	/* Weights: OIHW for a convolution; for a deconvolution oneDNN's
	 * logical dims are still (OC, IC, KH, KW) but stored IC-major, which
	 * is PyTorch's ConvTranspose2d layout. */
	if ((st = dgd_fail(DNNL(memory_desc_init_by_tag)(&g->wei, 4, wd, dnnl_f32,
							 deconv ? dnnl_iohw : dnnl_oihw),
			   "weights descriptor")) ||
	    (st = dgd_fail(DNNL(memory_desc_init_by_tag)(&g->bias, 1, bd, dnnl_f32, dnnl_a),
			   "bias descriptor")))
		return st;
	/* The padded extent of the larger side must be exactly covered by
	 * the kernel positions of the smaller side. */
	big_h = deconv ? oh : c->ih;
	big_w = deconv ? ow : c->iw;
	small_h = deconv ? c->ih : oh;
	small_w = deconv ? c->iw : ow;
	g->strides[0] = c->sh;
	g->strides[1] = c->sw;
	g->dil[0] = c->dh - 1;
	g->dil[1] = c->dw - 1;
	g->pl[0] = c->ph;
	g->pl[1] = c->pw;
	g->pr[0] = (small_h - 1) * c->sh + c->dh * (c->kh - 1) + 1 - big_h - c->ph;
	g->pr[1] = (small_w - 1) * c->sw + c->dw * (c->kw - 1) + 1 - big_w - c->pw;
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
