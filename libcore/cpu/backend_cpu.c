/* cpu/backend_cpu.c — the native backend: buffers in host memory, a
 * prepared step as an array of kernel calls with resolved pointers, run
 * in order (each kernel parallel inside), timed with DG_PROFILE=1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cpu/dnnl.h"
#include "cpu/kernels.h"
#include "cpu/pool.h"

const dg_kernel_fn dg_cpu_kernels[OP_COUNT] = {
	[OP_AFFINE] = dg_k_unary, [OP_EXP] = dg_k_unary, [OP_LOG] = dg_k_unary,
	[OP_SQRT] = dg_k_unary, [OP_RSQRT] = dg_k_unary, [OP_ABS] = dg_k_unary,
	[OP_SIGN] = dg_k_unary, [OP_RELU] = dg_k_unary, [OP_LEAKY] = dg_k_unary,
	[OP_ELU] = dg_k_unary, [OP_TANH] = dg_k_unary, [OP_SIGMOID] = dg_k_unary,
	[OP_SOFTPLUS] = dg_k_unary, [OP_CLAMP] = dg_k_unary, [OP_INRANGE] = dg_k_unary,
	[OP_STEP] = dg_k_unary, [OP_POWS] = dg_k_unary, [OP_STOPGRAD] = dg_k_unary,
	[OP_CAST] = dg_k_cast,
	[OP_ADD] = dg_k_binary, [OP_SUB] = dg_k_binary, [OP_MUL] = dg_k_binary,
	[OP_DIV] = dg_k_binary, [OP_MAX] = dg_k_binary, [OP_MIN] = dg_k_binary,
	[OP_GT] = dg_k_binary, [OP_GE] = dg_k_binary, [OP_EQ] = dg_k_binary,
	[OP_WHERE] = dg_k_where,
	[OP_SUM_TO] = dg_k_reduce, [OP_MAX_TO] = dg_k_reduce, [OP_EXPAND] = dg_k_expand,
	[OP_MATMUL] = dg_k_matmul,
	[OP_PERMUTE] = dg_k_permute, [OP_SLICE] = dg_k_slice, [OP_PAD] = dg_k_pad,
	[OP_SOFTMAX] = dg_k_softmax, [OP_LOG_SOFTMAX] = dg_k_softmax,
	[OP_CONV] = dg_k_conv, [OP_CONV_BWD_DATA] = dg_k_conv_bwd_data,
	[OP_CONV_BWD_FILTER] = dg_k_conv_bwd_filter,
	[OP_GATHER] = dg_k_gather, [OP_SCATTER_ADD] = dg_k_scatter_add,
	[OP_ONE_HOT] = dg_k_one_hot, [OP_ARGMAX] = dg_k_argmax,
	[OP_PICK] = dg_k_pick, [OP_PLACE] = dg_k_place,
	[OP_RNG_UNIFORM] = dg_k_rng, [OP_RNG_NORMAL] = dg_k_rng,
	[OP_UPD_SGD] = dg_k_update, [OP_UPD_ADAM] = dg_k_update,
	[OP_UPD_RMSPROP] = dg_k_update, [OP_ASSIGN] = dg_k_assign, [OP_EMA] = dg_k_ema,
};

struct prog {
	struct dg_kcall *calls;
	struct dg_kargs *args;
	size_t n;
	uint64_t seed;
	double *ns;             /* DG_PROFILE: time per call */
	uint64_t runs;
};

static int cpu_open(const char *spec, void **dev)
{
	(void)spec;
	dg_pool_threads();
	*dev = (void *)&dg_cpu_backend;   /* no state: any non-NULL handle */
	return DG_OK;
}

static void cpu_close(void *dev)
{
	(void)dev;
}

static int cpu_alloc(void *dev, uint64_t bytes, void **buf)
{
	(void)dev;
	*buf = dg_calloc(bytes ? bytes : 64);
	return *buf ? DG_OK : DG_ENOMEM;
}

static int cpu_adopt(void *dev, void *host, uint64_t bytes, void **buf)
{
	(void)dev;
	(void)bytes;
	*buf = host;
	return DG_OK;
}

static void cpu_release(void *dev, void *buf)
{
	(void)dev;
	dg_free(buf);
}

static int cpu_write(void *dev, void *buf, uint64_t off, const void *src, uint64_t bytes)
{
	(void)dev;
	memcpy((char *)buf + off, src, bytes);
	return DG_OK;
}

static int cpu_read(void *dev, void *buf, uint64_t off, void *dst, uint64_t bytes)
{
	(void)dev;
	memcpy(dst, (const char *)buf + off, bytes);
	return DG_OK;
}

static void *at(struct dg_bref r)
{
	return r.buf ? (char *)r.buf + r.off : NULL;
}

static void cpu_unprepare(void *dev, void *prog)
{
	struct prog *p = prog;
	(void)dev;
	if (!p)
		return;
	if (p->ns && p->runs)
		dg__profile_report("cpu", p->calls, p->n, p->ns, p->runs);
	for (size_t i = 0; i < p->n; i++) {
		dg_free(p->args[i].scratch);
		dg_dnnl_plan_free(p->args[i].plan);
	}
	free(p->calls);
	free(p->args);
	free(p->ns);
	free(p);
}

static int cpu_prepare(void *dev, const struct dg_plan *plan, void **out)
{
	struct prog *p = calloc(1, sizeof *p);
	int st = DG_OK;

	*out = NULL;
	if (!p)
		return dg_error_nomem("a cpu step", sizeof *p);
	p->n = plan->ncalls;
	p->seed = plan->seed;
	p->calls = malloc((p->n + 1) * sizeof *p->calls);
	p->args = calloc(p->n + 1, sizeof *p->args);
	p->ns = calloc(p->n + 1, sizeof *p->ns);
	if (!p->calls || !p->args || !p->ns) {
		cpu_unprepare(dev, p);
		return dg_error_nomem("a cpu step", p->n * sizeof *p->calls);
	}
	memcpy(p->calls, plan->calls, p->n * sizeof *p->calls);
	for (size_t i = 0; i < p->n && !st; i++) {
		struct dg_kcall *c = &p->calls[i];
		struct dg_kargs *a = &p->args[i];
		if (!dg_cpu_kernels[c->n.op]) {
			st = dg_error(DG_EINTERNAL, "cpu backend: no kernel for %s",
				      dg_opdefs[c->n.op].name);
			break;
		}
		a->c = c;
		a->y = (dg_opdefs[c->n.op].flags & OPF_SIDE) ? at(c->in[0]) : at(c->out);
		for (int k = 0; k < DG_NODE_MAXIN; k++)
			a->x[k] = at(c->in[k]);
		for (int k = 0; k < 3; k++)
			a->st[k] = at(c->st[k]);
		a->seed = plan->seed;
		a->bias = at(c->bias);
		uint64_t sc = dg_cpu_scratch(c);
		if (sc && !(a->scratch = dg_alloc(sc * sizeof(float))))
			st = DG_ENOMEM;
		if (!st)
			st = dg_cpu_plan(c, &a->plan);
	}
	if (st) {
		cpu_unprepare(dev, p);
		return st;
	}
	*out = p;
	return DG_OK;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cpu_execute(void *dev, void *prog, const struct dg_run_info *ri)
{
	struct prog *p = prog;
	(void)dev;
	for (size_t i = 0; i < p->n; i++) {
		struct dg_kargs *a = &p->args[i];
		double t0 = ri->profile ? now_ns() : 0;
		int st;
		a->run = ri->run;
		st = a->plan ? dg_cpu_run_plan(a) : dg_cpu_kernels[p->calls[i].n.op](a);
		if (st)
			return dg_error_context(st, "%s (node %u)", dg_opdefs[p->calls[i].n.op].name,
						p->calls[i].id);
		if (ri->profile)
			p->ns[i] += now_ns() - t0;
	}
	if (ri->profile)
		p->runs++;
	return DG_OK;
}

const struct dg_backend dg_cpu_backend = {
	.name = "cpu",
	.open = cpu_open,
	.close = cpu_close,
	.alloc = cpu_alloc,
	.adopt = cpu_adopt,
	.release = cpu_release,
	.write = cpu_write,
	.read = cpu_read,
	.prepare = cpu_prepare,
	.execute = cpu_execute,
	.unprepare = cpu_unprepare,
};
