/* cpu/dnnl_core.c — oneDNN's global engine and stream, thread count, error
 * mapping, and the generic plan: build from an op descriptor, run, free. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl_debug.h>

#include "dg/array.h"
#include "dg/error.h"
#include "cpu/dnnl_impl.h"

dnnl_engine_t dg_dnnl_engine;
static dnnl_stream_t stream;
static int init_status = -1;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static char init_msg[160];

/* libgomp's setters, found in the copy libdnnl already loaded, so that no
 * second OpenMP runtime is linked whatever compiler built libdg. */
static void (*omp_set)(int);
static int (*omp_get)(void);
static int want_threads;                     /* 0: OpenMP's default */
static _Thread_local int threads_applied;    /* ICVs are per thread */

int dgd_fail(dnnl_status_t s, const char *what)
{
	int st;

	if (s == dnnl_success)
		return DG_OK;
	switch (s) {
	case dnnl_out_of_memory: st = DG_ENOMEM; break;
	case dnnl_invalid_arguments:
	case dnnl_unimplemented: st = DG_EUSAGE; break;
	default: st = DG_EINTERNAL; break;
	}
	return dg_error(st, "oneDNN %s: dnnl_%s", what, DNNL(status2str)(s));
}

static void find_omp(void)
{
	void *h = dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD);

	if (!h)
		return;
	/* Casting through a union keeps -Wpedantic quiet about object to
	 * function pointer conversion. */
	union { void *p; void (*set)(int); int (*get)(void); } u;
	u.p = dlsym(h, "omp_set_num_threads");
	omp_set = u.set;
	u.p = dlsym(h, "omp_get_max_threads");
	omp_get = u.get;
	/* libdnnl keeps libgomp loaded; dropping our reference is safe. */
	dlclose(h);
}

static void init(void)
{
	const char *t = getenv("DG_THREADS");
	dnnl_status_t s;

	if (t && *t) {
		char *end;
		long v;
		errno = 0;
		v = strtol(t, &end, 10);
		if (errno || *end || v < 0 || v > 4096) {
			snprintf(init_msg, sizeof init_msg,
				 "DG_THREADS: '%.40s' is not a thread count", t);
			init_status = DG_EUSAGE;
			return;
		}
		want_threads = (int)v;
	}
	if (dgd_load()) {
		snprintf(init_msg, sizeof init_msg, "%s", dg_errmsg());
		init_status = DG_ENODEV;
		return;
	}
	find_omp();
	s = DNNL(engine_create)(&dg_dnnl_engine, dnnl_cpu, 0);
	if (s == dnnl_success)
		s = DNNL(stream_create)(&stream, dg_dnnl_engine, dnnl_stream_default_flags);
	if (s != dnnl_success) {
		snprintf(init_msg, sizeof init_msg, "oneDNN cpu engine: dnnl_%s",
			 DNNL(status2str)(s));
		init_status = DG_ENODEV;
		return;
	}
	init_status = DG_OK;
}

/* The engine and stream live until exit: plans may be freed in any order
 * and oneDNN's own globals outlive ours anyway. */
int dg_dnnl_init(void)
{
	pthread_once(&init_once, init);
	if (init_status != DG_OK)
		return dg_error(init_status, "%s", init_msg);
	return DG_OK;
}

int dgd_ready(void)
{
	return dg_dnnl_init();
}

static void apply_threads(void)
{
	if (!threads_applied) {
		if (want_threads > 0 && omp_set)
			omp_set(want_threads);
		threads_applied = 1;
	}
}

int dg_dnnl_threads(void)
{
	if (dg_dnnl_init())
		return 1;
	apply_threads();
	return omp_get ? omp_get() : 1;
}

int dgd_md_plain(dnnl_memory_desc_t *md, int nd, const int64_t *dims)
{
	static const dnnl_format_tag_t tags[] = {
		dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd, dnnl_abcde, dnnl_abcdef,
	};
	dnnl_dims_t d;

	if (nd < 1 || nd > 6)
		return dg_error(DG_EUSAGE, "oneDNN: rank %d not in 1..6", nd);
	for (int i = 0; i < nd; i++) {
		if (dims[i] < 1)
			return dg_error(DG_EUSAGE, "oneDNN: dimension %d is %lld",
					i, (long long)dims[i]);
		d[i] = dims[i];
	}
	return dgd_fail(DNNL(memory_desc_init_by_tag)(md, nd, d, dnnl_f32,
						      tags[nd - 1]), "memory descriptor");
}

static int make_attr(dnnl_primitive_attr_t *attr, const_dnnl_post_ops_t po,
		     const char *what)
{
	dnnl_status_t s = DNNL(primitive_attr_create)(attr);

	if (s == dnnl_success)
		s = DNNL(primitive_attr_set_scratchpad_mode)(*attr, dnnl_scratchpad_mode_user);
	if (s == dnnl_success && po)
		s = DNNL(primitive_attr_set_post_ops)(*attr, po);
	if (s != dnnl_success && *attr) {
		DNNL(primitive_attr_destroy)(*attr);
		*attr = NULL;
	}
	return dgd_fail(s, what);
}

int dgd_pd_make(dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t op_desc,
		const_dnnl_post_ops_t post_ops, const char *what)
{
	dnnl_primitive_attr_t attr = NULL;
	int st;

	*pd = NULL;
	if ((st = dgd_ready()) || (st = make_attr(&attr, post_ops, what)))
		return st;
	st = dgd_fail(DNNL(primitive_desc_create)(pd, op_desc, attr, dg_dnnl_engine,
						  NULL), what);
	DNNL(primitive_attr_destroy)(attr);
	return st;
}

static int is_output(int arg)
{
	return arg == DNNL_ARG_DST || arg == DNNL_ARG_DIFF_SRC ||
	       arg == DNNL_ARG_DIFF_WEIGHTS || arg == DNNL_ARG_DIFF_BIAS;
}

static int make_reorder(dnnl_primitive_t *r, const dnnl_memory_desc_t *from,
			const dnnl_memory_desc_t *to, const char *what)
{
	dnnl_primitive_desc_t pd;
	dnnl_status_t s = DNNL(reorder_primitive_desc_create)(&pd, from, dg_dnnl_engine, to,
							      dg_dnnl_engine, NULL);
	if (s == dnnl_success) {
		s = DNNL(primitive_create)(r, pd);
		DNNL(primitive_desc_destroy)(pd);
	}
	return dgd_fail(s, what);
}

/* Sets up slot i's staging when the primitive's layout md differs from
 * the caller's plain one. */
static int make_stage(struct dg_dnnl_plan *p, int i, const dnnl_memory_desc_t *md,
		      const dnnl_memory_desc_t *plain, int accumulate, const char *what)
{
	struct dgd_stage *g = &p->stage[i];
	size_t bytes = DNNL(memory_desc_get_size)(md);
	int out = is_output(p->arg_id[i]), st;

	if (!(g->buf = dg_alloc(bytes)))
		return DG_ENOMEM;
	p->internal_bytes += bytes;
	if ((st = dgd_fail(DNNL(memory_set_data_handle)(p->mem[i], g->buf), what)) ||
	    (st = dgd_fail(DNNL(memory_create)(&g->user, plain, dg_dnnl_engine,
					       DNNL_MEMORY_NONE), what)))
		return st;
	if ((!out || accumulate) && (st = make_reorder(&g->in, plain, md, what)))
		return st;
	if (out && (st = make_reorder(&g->out, md, plain, what)))
		return st;
	return DG_OK;
}

int dgd_plan_make(struct dg_dnnl_plan **out, const_dnnl_op_desc_t op_desc,
		  const_dnnl_post_ops_t post_ops,
		  const_dnnl_primitive_desc_t hint, const int *args, int nargs,
		  const char *what)
{
	return dgd_plan_make_any(out, op_desc, post_ops, hint, args, NULL, nargs, 0, what);
}

static int plan_make(struct dg_dnnl_plan **out, const_dnnl_op_desc_t op_desc,
		     const_dnnl_post_ops_t post_ops,
		     const_dnnl_primitive_desc_t hint, const int *args,
		     const dnnl_memory_desc_t *const *plain, int nargs, int accumulate,
		     const char *what)
{
	dnnl_primitive_attr_t attr = NULL;
	dnnl_primitive_desc_t pd = NULL;
	struct dg_dnnl_plan *p;
	const dnnl_memory_desc_t *md;
	const char *impl = NULL;
	int st;

	*out = NULL;
	if ((st = dgd_ready()))
		return st;
	if (nargs > DNNL_PLAN_MAX_ARGS)
		return dg_error(DG_EINTERNAL, "oneDNN %s: too many arguments", what);
	if (!(p = calloc(1, sizeof *p)))
		return dg_error_nomem("oneDNN plan", sizeof *p);
	if ((st = make_attr(&attr, post_ops, what)))
		goto fail;
	st = dgd_fail(DNNL(primitive_desc_create)(&pd, op_desc, attr, dg_dnnl_engine,
						  hint), what);
	DNNL(primitive_attr_destroy)(attr);
	if (st)
		goto fail;
	if ((st = dgd_fail(DNNL(primitive_create)(&p->prim, pd), what)))
		goto fail;
	DNNL(primitive_desc_query)(pd, dnnl_query_impl_info_str, 0, &impl);
	snprintf(p->impl, sizeof p->impl, "%s", impl ? impl : "?");

	p->nargs = nargs;
	for (int i = 0; i < nargs; i++) {
		p->arg_id[i] = args[i];
		if (!args[i])
			continue;
		md = DNNL(primitive_desc_query_md)(pd, dnnl_query_exec_arg_md, args[i]);
		if (!md || (st = dgd_fail(DNNL(memory_create)(&p->mem[i], md, dg_dnnl_engine,
							       DNNL_MEMORY_NONE), what)))
			goto fail;
		if (args[i] == DNNL_ARG_WORKSPACE)
			p->workspace_bytes = DNNL(memory_desc_get_size)(md);
		if (plain && plain[i] && !DNNL(memory_desc_equal)(md, plain[i]) &&
		    (st = make_stage(p, i, md, plain[i], accumulate, what)))
			goto fail;
	}
	md = DNNL(primitive_desc_query_md)(pd, dnnl_query_scratchpad_md, 0);
	p->scratch_bytes = md ? DNNL(memory_desc_get_size)(md) : 0;
	if (p->scratch_bytes &&
	    (st = dgd_fail(DNNL(memory_create)(&p->scratch_mem, md, dg_dnnl_engine,
					       DNNL_MEMORY_NONE), what)))
		goto fail;
	DNNL(primitive_desc_destroy)(pd);
	*out = p;
	return DG_OK;
fail:
	if (pd)
		DNNL(primitive_desc_destroy)(pd);
	dg_dnnl_plan_free(p);
	return st;
}

/* Threads of the plans this thread makes (0: as many as DG_THREADS). */
static _Thread_local int plan_threads;

void dg_dnnl_plan_threads(int n)
{
	plan_threads = n > 0 ? n : 0;
}

/* Sets OpenMP's thread count to n when n > 0 and differs; returns the
 * count to put back (0: nothing to). */
static int threads_enter(int n)
{
	int now = omp_get ? omp_get() : 1;
	if (n <= 0 || n == now || !omp_set)
		return 0;
	omp_set(n);
	return now;
}

static void threads_leave(int was)
{
	if (was > 0 && omp_set)
		omp_set(was);
}

/* oneDNN partitions a primitive's work for the threads there are when it
 * is made, so a plan is made, and later run, with its own count. */
int dgd_plan_make_any(struct dg_dnnl_plan **out, const_dnnl_op_desc_t op_desc,
		      const_dnnl_post_ops_t post_ops,
		      const_dnnl_primitive_desc_t hint, const int *args,
		      const dnnl_memory_desc_t *const *plain, int nargs, int accumulate,
		      const char *what)
{
	apply_threads();
	int was = threads_enter(plan_threads);
	int st = plan_make(out, op_desc, post_ops, hint, args, plain, nargs, accumulate, what);
	threads_leave(was);
	if (*out)
		(*out)->threads = plan_threads;
	return st;
}

void dg_dnnl_plan_free(struct dg_dnnl_plan *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nargs; i++) {
		struct dgd_stage *g = &p->stage[i];
		if (p->mem[i])
			DNNL(memory_destroy)(p->mem[i]);
		if (g->user)
			DNNL(memory_destroy)(g->user);
		if (g->in)
			DNNL(primitive_destroy)(g->in);
		if (g->out)
			DNNL(primitive_destroy)(g->out);
		dg_free(g->buf);
	}
	if (p->scratch_mem)
		DNNL(memory_destroy)(p->scratch_mem);
	if (p->prim)
		DNNL(primitive_destroy)(p->prim);
	if (p->post)
		DNNL(primitive_destroy)(p->post);
	dg_dnnl_plan_free(p->pre);
	dg_free(p->pre_buf[0]);
	dg_free(p->pre_buf[1]);
	dg_free(p->own_scratch);
	free(p);
}

int dg_dnnl_plan_nargs(const struct dg_dnnl_plan *p) { return p->nargs; }
size_t dg_dnnl_plan_scratch_bytes(const struct dg_dnnl_plan *p) { return p->scratch_bytes; }
size_t dg_dnnl_plan_workspace_bytes(const struct dg_dnnl_plan *p) { return p->workspace_bytes; }
const char *dg_dnnl_plan_impl(const struct dg_dnnl_plan *p) { return p->impl; }
size_t dg_dnnl_plan_internal_bytes(const struct dg_dnnl_plan *p) { return p->internal_bytes; }

int dg_dnnl_plan_share_input(struct dg_dnnl_plan *earlier, int es,
			     struct dg_dnnl_plan *later, int ls)
{
	if (!earlier || !later || earlier == later || es < 0 || ls < 0 ||
	    es >= earlier->nargs || ls >= later->nargs)
		return 0;
	struct dgd_stage *e = &earlier->stage[es], *l = &later->stage[ls];
	if (!e->in || e->out || e->borrowed || !l->in || l->out || l->borrowed)
		return 0;
	const dnnl_memory_desc_t *em, *lm;
	if (DNNL(memory_get_memory_desc)(earlier->mem[es], &em) != dnnl_success ||
	    DNNL(memory_get_memory_desc)(later->mem[ls], &lm) != dnnl_success ||
	    !DNNL(memory_desc_equal)(em, lm) ||
	    DNNL(memory_set_data_handle)(later->mem[ls], e->buf) != dnnl_success)
		return 0;
	later->internal_bytes -= DNNL(memory_desc_get_size)(lm);
	dg_free(l->buf);
	l->buf = NULL;
	l->borrowed = 1;
	return 1;
}

/* Runs a reorder between a caller buffer (bound to g->user) and g->buf. */
static dnnl_status_t reorder(const struct dgd_stage *g, dnnl_primitive_t r,
			     dnnl_memory_t internal, int to_internal)
{
	dnnl_exec_arg_t a[2] = {
		{ DNNL_ARG_FROM, to_internal ? g->user : internal },
		{ DNNL_ARG_TO, to_internal ? internal : g->user },
	};
	return DNNL(primitive_execute)(r, stream, 2, a);
}

/* Binding handles costs a few stores per argument on the cpu engine, so
 * plans bind on every run instead of caching pointers the executor may
 * move. */
static int run_plan(struct dg_dnnl_plan *p, void *const *args, void *scratch)
{
	int n = 0;
	dnnl_status_t s = dnnl_success;
	void *own[DNNL_PLAN_MAX_ARGS];

	if (p->pre) {
		void *pa[3] = { args[0], p->pre_buf[0], p->pre_buf[1] };
		int st = run_plan(p->pre, pa, scratch);
		if (st)
			return st;
		memcpy(own, args, (size_t)p->nargs * sizeof *own);
		own[p->pre_slot] = p->pre_buf[1];
		args = own;
	}
	for (int i = 0; i < p->nargs && s == dnnl_success; i++) {
		struct dgd_stage *g = &p->stage[i];
		if (!p->arg_id[i])
			continue;
		if (g->user) {
			s = DNNL(memory_set_data_handle)(g->user, args[i]);
			if (s == dnnl_success && g->in && !g->borrowed)
				s = reorder(g, g->in, p->mem[i], 1);
		} else {
			s = DNNL(memory_set_data_handle)(p->mem[i], args[i]);
		}
		p->exec[n].arg = p->arg_id[i];
		p->exec[n++].memory = p->mem[i];
	}
	if (s == dnnl_success && p->scratch_bytes) {
		if (!scratch) {
			if (!p->own_scratch && !(p->own_scratch = dg_alloc(p->scratch_bytes)))
				return DG_ENOMEM;
			scratch = p->own_scratch;
		}
		s = DNNL(memory_set_data_handle)(p->scratch_mem, scratch);
		p->exec[n].arg = DNNL_ARG_SCRATCHPAD;
		p->exec[n++].memory = p->scratch_mem;
	}
	if (s == dnnl_success)
		s = DNNL(primitive_execute)(p->prim, stream, n, p->exec);
	if (s == dnnl_success && p->post) {
		dnnl_exec_arg_t a[2] = { { DNNL_ARG_SRC, p->mem[p->post_slot] },
					 { DNNL_ARG_DST, p->mem[p->post_slot] } };
		s = DNNL(primitive_execute)(p->post, stream, 2, a);
	}
	for (int i = 0; i < p->nargs && s == dnnl_success; i++)
		if (p->arg_id[i] && p->stage[i].out)
			s = reorder(&p->stage[i], p->stage[i].out, p->mem[i], 0);
	if (s == dnnl_success)
		s = DNNL(stream_wait)(stream);
	if (s != dnnl_success) {
		dgd_fail(s, "execute");
		return DG_EINTERNAL;
	}
	return DG_OK;
}

int dg_dnnl_run(struct dg_dnnl_plan *p, void *const *args, void *scratch)
{
	apply_threads();
	int was = threads_enter(p->threads);
	int st = run_plan(p, args, scratch);
	threads_leave(was);
	return st;
}

int dgd_act_alg(enum dg_dnnl_act act, float alpha, int from_dst,
		dnnl_alg_kind_t *alg, float *a, float *b)
{
	*a = 0;
	*b = 0;
	switch (act) {
	case DG_DNNL_NONE: *alg = dnnl_eltwise_linear; *a = 1; break;
	case DG_DNNL_RELU:
		*alg = from_dst ? dnnl_eltwise_relu_use_dst_for_bwd : dnnl_eltwise_relu;
		break;
	case DG_DNNL_LEAKY_RELU:
		*alg = from_dst ? dnnl_eltwise_relu_use_dst_for_bwd : dnnl_eltwise_relu;
		*a = alpha;
		if (from_dst && alpha < 0)
			goto nodst;
		break;
	case DG_DNNL_ELU:
		*alg = from_dst ? dnnl_eltwise_elu_use_dst_for_bwd : dnnl_eltwise_elu;
		*a = alpha;
		if (from_dst && alpha < 0)
			goto nodst;
		break;
	case DG_DNNL_TANH:
		*alg = from_dst ? dnnl_eltwise_tanh_use_dst_for_bwd : dnnl_eltwise_tanh;
		break;
	case DG_DNNL_SIGMOID:
		*alg = from_dst ? dnnl_eltwise_logistic_use_dst_for_bwd : dnnl_eltwise_logistic;
		break;
	case DG_DNNL_EXP:
		*alg = from_dst ? dnnl_eltwise_exp_use_dst_for_bwd : dnnl_eltwise_exp;
		break;
	case DG_DNNL_SQRT:
		*alg = from_dst ? dnnl_eltwise_sqrt_use_dst_for_bwd : dnnl_eltwise_sqrt;
		break;
	case DG_DNNL_LOG: *alg = dnnl_eltwise_log; goto src_only;
	case DG_DNNL_SQUARE: *alg = dnnl_eltwise_square; goto src_only;
	case DG_DNNL_ABS: *alg = dnnl_eltwise_abs; goto src_only;
	case DG_DNNL_SOFTPLUS: *alg = dnnl_eltwise_soft_relu; goto src_only;
	default:
		return dg_error(DG_EUSAGE, "oneDNN: unknown activation %d", (int)act);
	}
	return DG_OK;
src_only:
	if (from_dst)
		goto nodst;
	return DG_OK;
nodst:
	return dg_error(DG_EUSAGE, "oneDNN: activation %d has no backward from its output",
			(int)act);
}

int dgd_plan_add_post_act(struct dg_dnnl_plan *p, int slot, enum dg_dnnl_act act,
			  float alpha)
{
	const dnnl_memory_desc_t *md;
	dnnl_primitive_desc_t pd;
	dnnl_eltwise_desc_t d;
	dnnl_alg_kind_t alg;
	dnnl_status_t s;
	float a, b;
	int st;

	if ((st = dgd_act_alg(act, alpha, 0, &alg, &a, &b)))
		return st;
	if ((s = DNNL(memory_get_memory_desc)(p->mem[slot], &md)) == dnnl_success &&
	    (s = DNNL(eltwise_forward_desc_init)(&d, dnnl_forward_inference, alg, md, a, b)) ==
		    dnnl_success &&
	    (s = DNNL(primitive_desc_create)(&pd, &d, NULL, dg_dnnl_engine, NULL)) ==
		    dnnl_success) {
		s = DNNL(primitive_create)(&p->post, pd);
		DNNL(primitive_desc_destroy)(pd);
	}
	p->post_slot = slot;
	return dgd_fail(s, "activation");
}

int dgd_epilogue(dnnl_post_ops_t *po, enum dg_dnnl_act act, float alpha,
		 int accumulate)
{
	dnnl_alg_kind_t alg;
	dnnl_status_t s;
	float a, b;
	int st;

	*po = NULL;
	if (act == DG_DNNL_NONE && !accumulate)
		return DG_OK;
	if ((st = dgd_act_alg(act, alpha, 0, &alg, &a, &b)))
		return st;
	if ((s = DNNL(post_ops_create)(po)) != dnnl_success)
		return dgd_fail(s, "post-ops");
	if (act != DG_DNNL_NONE)
		s = DNNL(post_ops_append_eltwise)(*po, 1.0f, alg, a, b);
	/* The sum post-op adds the old dst to what the ops before it made,
	 * so placing it last gives dst += act(x). */
	if (s == dnnl_success && accumulate)
		s = DNNL(post_ops_append_sum)(*po, 1.0f);
	if (s != dnnl_success) {
		DNNL(post_ops_destroy)(*po);
		*po = NULL;
	}
	return dgd_fail(s, "post-ops");
}
