/* cpu/dnnl_pool.c — max and average pooling plans, forward and backward
 * (max pooling's backward reads the forward's workspace of argmax
 * positions; the engine's, which has no workspace, runs the forward
 * again for it). */
#include <string.h>
#include "dg/array.h"
#include "dg/error.h"
#include "cpu/dnnl_impl.h"

static int pool_desc(dnnl_pooling_v2_desc_t *d, dnnl_memory_desc_t *src,
		     dnnl_memory_desc_t *dst, const struct dg_dnnl_conv *c,
		     enum dg_dnnl_pool_kind kind, dnnl_prop_kind_t prop)
{
	static const dnnl_alg_kind_t algs[] = {
		[DG_DNNL_POOL_MAX] = dnnl_pooling_max,
		[DG_DNNL_POOL_AVG] = dnnl_pooling_avg_exclude_padding,
		[DG_DNNL_POOL_AVG_PAD] = dnnl_pooling_avg_include_padding,
	};
	struct dg_dnnl_conv cc = *c;
	int64_t o[3];
	int st;

	if (kind < DG_DNNL_POOL_MAX || kind > DG_DNNL_POOL_AVG_PAD)
		return dg_error(DG_EUSAGE, "oneDNN pooling: unknown kind %d", (int)kind);
	cc.oc = c->ic;
	cc.groups = 0;
	if ((st = dg_dnnl_window_out(&cc, 0, o)))
		return st;
	/* depth first when 3-d; each array holds the spatial axes in use */
	int three = c->id > 0, nsp = three ? 3 : 2, nd = 2 + nsp;
	int64_t in[3] = { c->id, c->ih, c->iw }, k[3] = { c->kd, c->kh, c->kw };
	int64_t s[3] = { c->sd, c->sh, c->sw }, p[3] = { c->pd, c->ph, c->pw };
	int64_t dl[3] = { c->dd, c->dh, c->dw };
	int64_t sd[5] = { c->n, c->ic }, dd[5] = { c->n, c->ic };
	dnnl_dims_t strides, kernel, dil, pl, pr;
	for (int i = 0; i < nsp; i++) {
		int j = i + 3 - nsp;
		sd[2 + i] = in[j];
		dd[2 + i] = o[j];
		strides[i] = s[j];
		kernel[i] = k[j];
		dil[i] = dl[j] - 1;
		pl[i] = p[j];
		/* As for convolution: the far padding that makes oneDNN's
		 * size formula give exactly the output size. */
		pr[i] = (o[j] - 1) * s[j] + dl[j] * (k[j] - 1) + 1 - in[j] - p[j];
	}
	if ((st = dgd_md_plain(src, nd, sd)) || (st = dgd_md_plain(dst, nd, dd)))
		return st;
	if (prop == dnnl_backward_data)
		return dgd_fail(DNNL(pooling_v2_backward_desc_init)(d, algs[kind], src, dst,
								    strides, kernel, dil, pl, pr),
				"pooling backward");
	return dgd_fail(DNNL(pooling_v2_forward_desc_init)(d, prop, algs[kind], src, dst,
							   strides, kernel, dil, pl, pr),
			"pooling");
}

int dg_dnnl_pool_fwd_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c,
			  enum dg_dnnl_pool_kind kind, int training)
{
	static const int args_ws[] = { DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_WORKSPACE };
	static const int args[] = { DNNL_ARG_SRC, DNNL_ARG_DST, 0 };
	dnnl_pooling_v2_desc_t d;
	dnnl_memory_desc_t src, dst;
	int ws = training && kind == DG_DNNL_POOL_MAX, st;

	*out = NULL;
	if ((st = dgd_ready()) ||
	    (st = pool_desc(&d, &src, &dst, c, kind,
			    training ? dnnl_forward_training : dnnl_forward_inference)))
		return st;
	return dgd_plan_make(out, &d, NULL, NULL, ws ? args_ws : args, 3, "pooling");
}

int dg_dnnl_pool_bwd_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c,
			  enum dg_dnnl_pool_kind kind)
{
	static const int args_ws[] = { DNNL_ARG_DIFF_DST, DNNL_ARG_WORKSPACE,
				       DNNL_ARG_DIFF_SRC };
	static const int args[] = { DNNL_ARG_DIFF_DST, 0, DNNL_ARG_DIFF_SRC };
	dnnl_pooling_v2_desc_t fd, d;
	dnnl_primitive_desc_t hint;
	dnnl_memory_desc_t src, dst;
	int st;

	*out = NULL;
	if ((st = dgd_ready()) ||
	    (st = pool_desc(&fd, &src, &dst, c, kind, dnnl_forward_training)) ||
	    (st = pool_desc(&d, &src, &dst, c, kind, dnnl_backward_data)) ||
	    (st = dgd_pd_make(&hint, &fd, NULL, "pooling backward")))
		return st;
	st = dgd_plan_make(out, &d, NULL, hint, kind == DG_DNNL_POOL_MAX ? args_ws : args,
			   3, "pooling backward");
	DNNL(primitive_desc_destroy)(hint);
	return st;
}

int dg_dnnl_pool_max_bwd_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c)
{
	struct dg_dnnl_plan *f = NULL, *b = NULL;
	int64_t o[3];
	int st;

	*out = NULL;
	if ((st = dg_dnnl_pool_fwd_plan(&f, c, DG_DNNL_POOL_MAX, 1)) ||
	    (st = dg_dnnl_pool_bwd_plan(&b, c, DG_DNNL_POOL_MAX)) ||
	    (st = dg_dnnl_window_out(c, 0, o)))
		goto fail;
	/* the backward's slots {diff_dst, workspace, diff_src} become
	 * {src (for the forward), diff_dst, workspace (the forward's),
	 * diff_src} */
	size_t dst = (size_t)(c->n * c->ic * o[0] * o[1] * o[2]) * sizeof(float);
	b->pre = f;
	f = NULL;
	if (!(b->pre_buf[0] = dg_alloc(dst)) ||
	    !(b->pre_buf[1] = dg_alloc(dg_dnnl_plan_workspace_bytes(b->pre) + 64))) {
		st = dg_error_nomem("max pooling's workspace", dst);
		goto fail;
	}
	for (int i = 3; i > 0; i--) {
		b->arg_id[i] = b->arg_id[i - 1];
		b->mem[i] = b->mem[i - 1];
		b->stage[i] = b->stage[i - 1];
	}
	b->arg_id[0] = 0;
	b->mem[0] = NULL;
	memset(&b->stage[0], 0, sizeof b->stage[0]);
	b->nargs = 4;
	b->pre_slot = 2;
	*out = b;
	return DG_OK;
fail:
	dg_dnnl_plan_free(f);
	dg_dnnl_plan_free(b);
	return st;
}
