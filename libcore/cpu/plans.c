/* cpu/plans.c — which kernel calls run through oneDNN plans (cpu/dnnl.h),
 * made once at prepare time: matrix products (with fused bias and
 * activation), convolutions (grouped and 3-d too), pooling and
 * transcendental elementwise ops. */
#include <stdlib.h>
#include <string.h>
#include "cpu/dnnl.h"
#include "cpu/kernels.h"

#define ELTWISE_MIN 4096
/* Multiply-adds below which a call runs on one thread: about what one
 * core does in the time waking oneDNN's other threads takes (OpenMP's
 * passive wait, ~25 us a call here).  Cached pixel-by-pixel sampling
 * makes ~200 such calls a pixel, and Gated PixelCNN's ran 6 times faster
 * on 1 thread than on 2.  DG_ONE_THREAD_MACS overrides it (0: never). */
#define ONE_THREAD_WORK (1u << 21)

static uint64_t one_thread_work(void)
{
	const char *e = getenv("DG_ONE_THREAD_MACS");
	return e && *e ? strtoull(e, NULL, 10) : ONE_THREAD_WORK;
}

/* The calls oneDNN runs faster than dg's C kernels. */
static int plannable(const struct dg_kcall *c)
{
	switch (c->n.op) {
	case OP_MATMUL: case OP_CONV: case OP_CONV_BWD_DATA: case OP_CONV_BWD_FILTER:
	case OP_CONV_ND: case OP_CONV_ND_BWD_DATA: case OP_CONV_ND_BWD_FILTER:
		return 1;
	/* max_pool_pick stays C (oneDNN has no such op); max_pool_bwd's plan
	 * runs the forward again for oneDNN's workspace, which the graph does
	 * not keep: still 3x faster than the C loop. */
	case OP_MAX_POOL: case OP_AVG_POOL: case OP_AVG_POOL_BWD: case OP_MAX_POOL_BWD:
		return 1;
	case OP_EXP: case OP_LOG: case OP_SQRT: case OP_TANH: case OP_SIGMOID:
	case OP_SOFTPLUS: case OP_ELU:
		/* oneDNN's vectorized transcendentals are about 10 times faster
		 * than libm loops; small tensors stay in C (call overhead). */
		return c->n.count >= ELTWISE_MIN;
	}
	return 0;
}

/* Whether such a call gets a plan: not with DG_NO_DNNL=1, nor where
 * oneDNN cannot be loaded.  It is opened here, at the first call that
 * wants it: a step without one (sampling a prior) never loads it. */
static int onednn_wanted(void)
{
	const char *s = getenv("DG_NO_DNNL");
	if (s && *s && strcmp(s, "0"))
		return 0;
	return dg_dnnl_init() == DG_OK;
}

static void conv_desc(const struct dg_node *x, const struct dg_node *w, const int64_t *ca,
		      struct dg_dnnl_conv *d)
{
	memset(d, 0, sizeof *d);
	d->n = (int64_t)x->dims[0];
	d->ic = (int64_t)x->dims[1];
	d->ih = (int64_t)x->dims[2];
	d->iw = (int64_t)x->dims[3];
	d->oc = (int64_t)w->dims[0];
	d->kh = (int64_t)w->dims[2];
	d->kw = (int64_t)w->dims[3];
	d->sh = d->sw = ca[DG_CA_STRIDE];
	d->ph = ca[DG_CA_TOP];
	d->pw = ca[DG_CA_LEFT];
	d->ph_extra = ca[DG_CA_BOTTOM] - ca[DG_CA_TOP];
	d->pw_extra = ca[DG_CA_RIGHT] - ca[DG_CA_LEFT];
	d->dh = d->dw = ca[DG_CA_DIL];
}

/* A general convolution or pooling call (struct dg_window) as oneDNN's
 * parameters; 3-d when the images are. */
static void window_desc(const struct dg_kcall *c, struct dg_dnnl_conv *d)
{
	struct dg_window w;
	dg__window(c, &w);
	memset(d, 0, sizeof *d);
	d->n = w.n;
	d->ic = w.c;
	d->oc = w.o;
	d->groups = w.groups;
	d->ih = w.in[1], d->iw = w.in[2];
	d->kh = w.k[1], d->kw = w.k[2];
	d->sh = w.s[1], d->sw = w.s[2];
	d->ph = w.p[1], d->pw = w.p[2];
	d->dh = w.d[1], d->dw = w.d[2];
	if (c->in_node[0].rank == 5) {
		d->id = w.in[0], d->kd = w.k[0], d->sd = w.s[0], d->pd = w.p[0];
		d->dd = w.d[0];
	}
}

/* Fused epilogue activations (enum dg_act) as oneDNN's. */
static const enum dg_dnnl_act acts[] = {
	[DG_ACT_NONE] = DG_DNNL_NONE, [DG_ACT_RELU] = DG_DNNL_RELU,
	[DG_ACT_LEAKY_RELU] = DG_DNNL_LEAKY_RELU, [DG_ACT_ELU] = DG_DNNL_ELU,
	[DG_ACT_TANH] = DG_DNNL_TANH, [DG_ACT_SIGMOID] = DG_DNNL_SIGMOID,
};

/* About how many multiply-adds (elementwise: elements) the call does. */
static uint64_t work(const struct dg_kcall *c)
{
	const struct dg_node *n = &c->n, *a = &c->in_node[0], *b = &c->in_node[1];
	switch (n->op) {
	case OP_MATMUL:     /* out × the inner dimension */
		return n->count * (n->ia[0] ? a->dims[a->rank - 2] : a->dims[a->rank - 1]);
	case OP_CONV: case OP_CONV_ND:             /* out × C/groups·K */
		return n->count * (b->count / b->dims[0]);
	case OP_CONV_BWD_DATA: case OP_CONV_ND_BWD_DATA:   /* the same product read back */
		return a->count * (b->count / b->dims[0]);
	case OP_CONV_BWD_FILTER: case OP_CONV_ND_BWD_FILTER:   /* dy × C/groups·K */
		return b->count * (n->count / n->dims[0]);
	}
	return n->count;
}

/* The plans made next, for call c, run on one thread when it is small. */
static void threads_for(const struct dg_kcall *c)
{
	dg_dnnl_plan_threads(work(c) < one_thread_work() ? 1 : 0);
}

static int make_plan(const struct dg_kcall *c, struct dg_dnnl_plan **plan);

int dg_cpu_plan(const struct dg_kcall *c, struct dg_dnnl_plan **plan)
{
	*plan = NULL;
	if (!plannable(c) || !onednn_wanted())
		return DG_OK;
	threads_for(c);
	int st = make_plan(c, plan);
	dg_dnnl_plan_threads(0);
	return st;
}

static int make_plan(const struct dg_kcall *c, struct dg_dnnl_plan **plan)
{
	struct dg_dnnl_conv d;
	int st = DG_OK;

	switch (c->n.op) {
	case OP_MATMUL: {
		const struct dg_node *a = &c->in_node[0], *b = &c->in_node[1];
		unsigned flags = (c->n.ia[0] ? DG_DNNL_TRANS_A : 0) | (c->n.ia[1] ? DG_DNNL_TRANS_B : 0);
		int64_t batch = a->rank == 3 ? (int64_t)a->dims[0] : 1;
		int64_t m = (int64_t)c->n.dims[c->n.rank - 2], n = (int64_t)c->n.dims[c->n.rank - 1];
		int64_t k = (int64_t)(c->n.ia[0] ? a->dims[a->rank - 2] : a->dims[a->rank - 1]);
		if (c->bias.buf)
			flags |= DG_DNNL_BIAS;
		/* A batch of A's against one B is one product of all A's rows
		 * (their rows and C's are contiguous): oneDNN ran 1024 batches
		 * of 3×28 by 28×3 (cached sampling's one-hot cuts) at 2 GMAC/s. */
		if (batch > 1 && b->rank == 2 && !c->n.ia[0])
			m *= batch, batch = 1;
		st = dg_dnnl_matmul_plan(plan, batch, m, n, k, flags, b->rank == 2 && batch > 1,
					 acts[c->act], c->alpha);
		break;
	}
	case OP_EXP: case OP_LOG: case OP_SQRT: case OP_TANH: case OP_SIGMOID:
	case OP_SOFTPLUS: case OP_ELU: {
		static const enum dg_dnnl_act elt[OP_COUNT] = {
			[OP_EXP] = DG_DNNL_EXP, [OP_LOG] = DG_DNNL_LOG, [OP_SQRT] = DG_DNNL_SQRT,
			[OP_TANH] = DG_DNNL_TANH, [OP_SIGMOID] = DG_DNNL_SIGMOID,
			[OP_SOFTPLUS] = DG_DNNL_SOFTPLUS, [OP_ELU] = DG_DNNL_ELU,
		};
		st = dg_dnnl_eltwise_fwd_plan(plan, (int64_t)c->n.count, elt[c->n.op], c->n.fa[0]);
		break;
	}
	case OP_CONV:
		conv_desc(&c->in_node[0], &c->in_node[1], c->n.ia, &d);
		st = dg_dnnl_conv_fwd_plan(plan, &d, c->bias.buf ? DG_DNNL_BIAS : 0, acts[c->act],
					   c->alpha);
		break;
	case OP_CONV_BWD_DATA:
		conv_desc(&c->n, &c->in_node[1], c->n.ia, &d);
		st = dg_dnnl_conv_bwd_data_plan(plan, &d, 0);
		break;
	case OP_CONV_BWD_FILTER:
		conv_desc(&c->in_node[0], &c->n, c->n.ia, &d);
		st = dg_dnnl_conv_bwd_weights_plan(plan, &d, 0);
		break;
	case OP_CONV_ND:
		window_desc(c, &d);
		st = dg_dnnl_conv_fwd_plan(plan, &d, 0, DG_DNNL_NONE, 0);
		break;
	case OP_CONV_ND_BWD_DATA:
		window_desc(c, &d);
		st = dg_dnnl_conv_bwd_data_plan(plan, &d, 0);
		break;
	case OP_CONV_ND_BWD_FILTER:
		window_desc(c, &d);
		st = dg_dnnl_conv_bwd_weights_plan(plan, &d, 0);
		break;
	case OP_MAX_POOL_BWD:
		window_desc(c, &d);
		st = dg_dnnl_pool_max_bwd_plan(plan, &d);
		break;
	case OP_MAX_POOL:
	case OP_AVG_POOL:
	case OP_AVG_POOL_BWD: {
		enum dg_dnnl_pool_kind kind = c->n.op == OP_MAX_POOL ? DG_DNNL_POOL_MAX
					    : c->n.ia[DG_PIA_INCLUDE_PAD] ? DG_DNNL_POOL_AVG_PAD
					    : DG_DNNL_POOL_AVG;
		window_desc(c, &d);
		st = c->n.op == OP_AVG_POOL_BWD ? dg_dnnl_pool_bwd_plan(plan, &d, kind)
						 : dg_dnnl_pool_fwd_plan(plan, &d, kind, 0);
		break;
	}
	default:
		return DG_OK;
	}
	if (st == DG_EUSAGE) {   /* oneDNN has no implementation: use C */
		*plan = NULL;
		return DG_OK;
	}
	return st;
}

int dg_cpu_plan_fuse_bias_grad(struct dg_kargs *a, float *db, int *fused)
{
	const struct dg_kcall *c = a->c;
	struct dg_dnnl_conv d;
	struct dg_dnnl_plan *plan = NULL;

	*fused = 0;
	if (c->n.op != OP_CONV_BWD_FILTER || !a->plan || a->diff_bias)
		return DG_OK;
	conv_desc(&c->in_node[0], &c->n, c->n.ia, &d);
	threads_for(c);
	int st = dg_dnnl_conv_bwd_weights_plan(&plan, &d, DG_DNNL_BIAS);
	dg_dnnl_plan_threads(0);
	if (st == DG_EUSAGE)    /* no such implementation: keep the sum */
		return DG_OK;
	if (st)
		return st;
	dg_dnnl_plan_free(a->plan);
	a->plan = plan;
	a->diff_bias = db;
	*fused = 1;
	return DG_OK;
}

int dg_cpu_run_plan(const struct dg_kargs *a)
{
	void *args[4] = {0};
	switch (a->c->n.op) {
	case OP_MATMUL:     /* {A, B, bias, C} */
		args[0] = (void *)a->x[0];
		args[1] = (void *)a->x[1];
		args[2] = (void *)a->bias;
		args[3] = a->y;
		break;
	case OP_CONV:       /* {src, W, bias, dst} */
	case OP_CONV_ND:
		args[0] = (void *)a->x[0];
		args[1] = (void *)a->x[1];
		args[2] = (void *)a->bias;
		args[3] = a->y;
		break;
	case OP_MAX_POOL:           /* {src, dst, workspace} */
	case OP_AVG_POOL:
		args[0] = (void *)a->x[0];
		args[1] = a->y;
		break;
	case OP_MAX_POOL_BWD:       /* {src, diff_dst, workspace, diff_src} */
		args[0] = (void *)a->x[0];
		args[1] = (void *)a->x[1];
		args[3] = a->y;
		break;
	case OP_AVG_POOL_BWD:       /* {diff_dst, workspace, diff_src} */
		args[0] = (void *)a->x[0];
		args[2] = a->y;
		break;
	case OP_CONV_BWD_DATA:      /* {diff_dst, W, diff_src} */
	case OP_CONV_ND_BWD_DATA:
		args[0] = (void *)a->x[0];
		args[1] = (void *)a->x[1];
		args[2] = a->y;
		break;
	case OP_CONV_BWD_FILTER:    /* {src, diff_dst, diff_W, diff_bias} */
	case OP_CONV_ND_BWD_FILTER:
		args[0] = (void *)a->x[0];
		args[1] = (void *)a->x[1];
		args[2] = a->y;
		args[3] = a->diff_bias;
		break;
	default:                    /* eltwise {src, dst} */
		args[0] = (void *)a->x[0];
		args[1] = a->y;
		break;
	}
	return dg_dnnl_run(a->plan, args, NULL);
}
