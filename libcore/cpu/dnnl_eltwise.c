/* cpu/dnnl_eltwise.c — elementwise activation plans (forward, backward)
 * and softmax / log-softmax plans. */
#include "dg/error.h"
#include "cpu/dnnl_impl.h"

static int elt_fwd_desc(dnnl_eltwise_desc_t *d, dnnl_memory_desc_t *md, int64_t count,
			enum dg_dnnl_act act, float alpha, int from_dst)
{
	dnnl_alg_kind_t alg;
	float a, b;
	int st;

	if ((st = dgd_md_plain(md, 1, &count)) ||
	    (st = dgd_act_alg(act, alpha, from_dst, &alg, &a, &b)))
		return st;
	return dgd_fail(DNNL(eltwise_forward_desc_init)(d, dnnl_forward_training, alg, md,
							a, b), "eltwise");
}

int dg_dnnl_eltwise_fwd_plan(struct dg_dnnl_plan **out, int64_t count,
			     enum dg_dnnl_act act, float alpha)
{
	static const int args[] = { DNNL_ARG_SRC, DNNL_ARG_DST };
	dnnl_eltwise_desc_t d;
	dnnl_memory_desc_t md;
	int st;

	*out = NULL;
	if ((st = dgd_ready()) || (st = elt_fwd_desc(&d, &md, count, act, alpha, 0)))
		return st;
	return dgd_plan_make(out, &d, NULL, NULL, args, 2, "eltwise");
}

int dg_dnnl_eltwise_bwd_plan(struct dg_dnnl_plan **out, int64_t count,
			     enum dg_dnnl_act act, float alpha, int from_dst)
{
	static const int args_src[] = { DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC };
	static const int args_dst[] = { DNNL_ARG_DST, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC };
	dnnl_eltwise_desc_t fd, d;
	dnnl_primitive_desc_t hint;
	dnnl_memory_desc_t md;
	int st;

	*out = NULL;
	if (act == DG_DNNL_NONE)
		return dg_error(DG_EUSAGE, "oneDNN eltwise backward: no activation");
	if ((st = dgd_ready()) || (st = elt_fwd_desc(&fd, &md, count, act, alpha, from_dst)))
		return st;
	if ((st = dgd_fail(DNNL(eltwise_backward_desc_init)(&d, fd.alg_kind, &md, &md,
							    fd.alpha, fd.beta),
			   "eltwise backward")) ||
	    (st = dgd_pd_make(&hint, &fd, NULL, "eltwise backward")))
		return st;
	st = dgd_plan_make(out, &d, NULL, hint, from_dst ? args_dst : args_src, 3,
			   "eltwise backward");
	DNNL(primitive_desc_destroy)(hint);
	return st;
}

static int sm_md(dnnl_memory_desc_t *md, int64_t outer, int64_t axis, int64_t inner)
{
	int64_t dims[] = { outer, axis, inner };

	return dgd_md_plain(md, 3, dims);
}

int dg_dnnl_softmax_fwd_plan(struct dg_dnnl_plan **out, int64_t outer,
			     int64_t axis, int64_t inner, int log_softmax)
{
	static const int args[] = { DNNL_ARG_SRC, DNNL_ARG_DST };
	dnnl_softmax_v2_desc_t d;
	dnnl_memory_desc_t md;
	int st;

	*out = NULL;
	if ((st = dgd_ready()) || (st = sm_md(&md, outer, axis, inner)) ||
	    (st = dgd_fail(DNNL(softmax_v2_forward_desc_init)(
				    &d, dnnl_forward_training,
				    log_softmax ? dnnl_softmax_log : dnnl_softmax_accurate,
				    &md, &md, 1), "softmax")))
		return st;
	return dgd_plan_make(out, &d, NULL, NULL, args, 2, "softmax");
}

int dg_dnnl_softmax_bwd_plan(struct dg_dnnl_plan **out, int64_t outer,
			     int64_t axis, int64_t inner, int log_softmax)
{
	static const int args[] = { DNNL_ARG_DST, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC };
	dnnl_alg_kind_t alg = log_softmax ? dnnl_softmax_log : dnnl_softmax_accurate;
	dnnl_softmax_v2_desc_t fd, d;
	dnnl_primitive_desc_t hint;
	dnnl_memory_desc_t md;
	int st;

	*out = NULL;
	if ((st = dgd_ready()) || (st = sm_md(&md, outer, axis, inner)) ||
	    (st = dgd_fail(DNNL(softmax_v2_forward_desc_init)(&fd, dnnl_forward_training, alg,
							      &md, &md, 1), "softmax")) ||
	    (st = dgd_fail(DNNL(softmax_v2_backward_desc_init)(&d, alg, &md, &md, &md, 1),
			   "softmax backward")) ||
	    (st = dgd_pd_make(&hint, &fd, NULL, "softmax backward")))
		return st;
	st = dgd_plan_make(out, &d, NULL, hint, args, 3, "softmax backward");
	DNNL(primitive_desc_destroy)(hint);
	return st;
}
