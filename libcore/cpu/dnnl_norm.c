/* cpu/dnnl_norm.c — batch and layer normalization plans: training forward
 * (batch statistics out), inference forward (statistics in), backward. */
#include "dg/error.h"
#include "cpu/dnnl_impl.h"

static int bn_desc(dnnl_batch_normalization_desc_t *d, dnnl_memory_desc_t *md,
		   dnnl_prop_kind_t prop, int64_t n, int64_t c, int64_t h, int64_t w,
		   float eps, unsigned flags)
{
	int64_t dims[] = { n, c, h, w };
	int st;

	if ((st = dgd_md_plain(md, 4, dims)))
		return st;
	if (prop == dnnl_backward)
		return dgd_fail(DNNL(batch_normalization_backward_desc_init)(d, prop, md, md,
									     eps, flags),
				"batch norm backward");
	return dgd_fail(DNNL(batch_normalization_forward_desc_init)(d, prop, md, eps, flags),
			"batch norm");
}

int dg_dnnl_bnorm_fwd_plan(struct dg_dnnl_plan **out, int64_t n, int64_t c,
			   int64_t h, int64_t w, float eps, int training, int relu)
{
	static const int args[] = { DNNL_ARG_SRC, DNNL_ARG_SCALE, DNNL_ARG_SHIFT,
				    DNNL_ARG_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE,
				    DNNL_ARG_WORKSPACE };
	unsigned flags = dnnl_use_scale | dnnl_use_shift;
	dnnl_batch_normalization_desc_t d;
	dnnl_memory_desc_t md;
	int st;

	*out = NULL;
	if (!training)
		flags |= dnnl_use_global_stats;
	if (relu)
		flags |= dnnl_fuse_norm_relu;
	if ((st = dgd_ready()) ||
	    (st = bn_desc(&d, &md, training ? dnnl_forward_training : dnnl_forward_inference,
			  n, c, h, w, eps, flags)))
		return st;
	/* Only training with a fused relu keeps a workspace (its mask). */
	return dgd_plan_make(out, &d, NULL, NULL, args, training && relu ? 7 : 6,
			     "batch norm");
}

int dg_dnnl_bnorm_bwd_plan(struct dg_dnnl_plan **out, int64_t n, int64_t c,
			   int64_t h, int64_t w, float eps, int relu)
{
	/* oneDNN 2.6 checks that a shift is bound even though the backward
	 * does not read it. */
	static const int args[] = { DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_SCALE,
				    DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_DIFF_SRC,
				    DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT,
				    DNNL_ARG_WORKSPACE };
	unsigned flags = dnnl_use_scale | dnnl_use_shift | (relu ? dnnl_fuse_norm_relu : 0);
	dnnl_batch_normalization_desc_t fd, d;
	dnnl_primitive_desc_t hint;
	dnnl_memory_desc_t md;
	int st;

	*out = NULL;
	if ((st = dgd_ready()) ||
	    (st = bn_desc(&fd, &md, dnnl_forward_training, n, c, h, w, eps, flags)) ||
	    (st = bn_desc(&d, &md, dnnl_backward, n, c, h, w, eps, flags)) ||
	    (st = dgd_pd_make(&hint, &fd, NULL, "batch norm backward")))
		return st;
	st = dgd_plan_make(out, &d, NULL, hint, args, relu ? 10 : 9, "batch norm backward");
	DNNL(primitive_desc_destroy)(hint);
	return st;
}

/* Layer norm: data outer×inner, statistics one per row (outer). */
static int ln_desc(dnnl_layer_normalization_desc_t *d, dnnl_prop_kind_t prop,
		   int64_t outer, int64_t inner, float eps, unsigned flags)
{
	dnnl_memory_desc_t md, sd;
	int64_t dims[] = { outer, inner };
	int st;

	if ((st = dgd_md_plain(&md, 2, dims)) || (st = dgd_md_plain(&sd, 1, dims)))
		return st;
	if (prop == dnnl_backward)
		return dgd_fail(DNNL(layer_normalization_backward_desc_init)(d, prop, &md, &md,
									     &sd, eps, flags),
				"layer norm backward");
	return dgd_fail(DNNL(layer_normalization_forward_desc_init)(d, prop, &md, &sd, eps,
								    flags),
			"layer norm");
}

int dg_dnnl_lnorm_fwd_plan(struct dg_dnnl_plan **out, int64_t outer, int64_t inner,
			   float eps, int training)
{
	static const int args[] = { DNNL_ARG_SRC, DNNL_ARG_SCALE, DNNL_ARG_SHIFT,
				    DNNL_ARG_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE };
	unsigned flags = dnnl_use_scale | dnnl_use_shift | (training ? 0 : dnnl_use_global_stats);
	dnnl_layer_normalization_desc_t d;
	int st;

	*out = NULL;
	if ((st = dgd_ready()) ||
	    (st = ln_desc(&d, training ? dnnl_forward_training : dnnl_forward_inference, outer,
			  inner, eps, flags)))
		return st;
	return dgd_plan_make(out, &d, NULL, NULL, args, 6, "layer norm");
}

int dg_dnnl_lnorm_bwd_plan(struct dg_dnnl_plan **out, int64_t outer, int64_t inner,
			   float eps)
{
	static const int args[] = { DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_SCALE,
				    DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE,
				    DNNL_ARG_DIFF_SRC, DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT };
	unsigned flags = dnnl_use_scale | dnnl_use_shift;
	dnnl_layer_normalization_desc_t fd, d;
	dnnl_primitive_desc_t hint;
	int st;

	*out = NULL;
	if ((st = dgd_ready()) ||
	    (st = ln_desc(&fd, dnnl_forward_training, outer, inner, eps, flags)) ||
	    (st = ln_desc(&d, dnnl_backward, outer, inner, eps, flags)) ||
	    (st = dgd_pd_make(&hint, &fd, NULL, "layer norm backward")))
		return st;
	st = dgd_plan_make(out, &d, NULL, hint, args, 9, "layer norm backward");
	DNNL(primitive_desc_destroy)(hint);
	return st;
}
