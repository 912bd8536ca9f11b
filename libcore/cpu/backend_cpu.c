/* cpu/backend_cpu.c — the native backend: buffers in host memory, a
 * prepared step as an array of kernel calls with resolved pointers, run
 * in order (each kernel parallel inside), timed with DG_PROFILE=1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cpu/chain.h"
#include "cpu/dnnl.h"
#include "cpu/kernels.h"
#include "cpu/pool.h"

const dg_kernel_fn dg_cpu_kernels[OP_COUNT] = {
#define DG_OP(id, name, nin, flags, infer, backward, cpu, vk, code) [OP_##id] = dg_k_##cpu,
#include "graph/op_list.h"
#undef DG_OP
};
_Static_assert(sizeof dg_cpu_kernels / sizeof *dg_cpu_kernels == OP_COUNT,
	       "one cpu kernel per op");

/* The kernel of ops that are no call: leaves and aliases never reach a
 * backend (cpu_supports refuses them). */
int dg_k_none(const struct dg_kargs *a)
{
	return dg_error(DG_EINTERNAL, "cpu backend: %s is not a kernel call",
			dg_opdefs[a->c->n.op].name);
}

struct prog {
	struct dg_kcall *calls;
	struct dg_kargs *args;
	size_t *chain;          /* calls from i run as one chain (0, 1: none) */
	dg_pool_fn *range;      /* each chained call's per-range kernel */
	size_t n;
	uint64_t seed;
	double *ns;             /* DG_PROFILE: time per call */
	uint64_t runs;
	uint8_t *skip;          /* calls another call does (fused bias sums) */
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

/* Every op has a kernel (the op list's cpu column); only what is no
 * call at all is refused. */
static int cpu_supports(const struct dg_kcall *c)
{
	if (c->n.op >= OP_COUNT || dg_cpu_kernels[c->n.op] == dg_k_none)
		return dg_error(DG_EINTERNAL, "cpu backend has no kernel for %s",
				c->n.op < OP_COUNT ? dg_opdefs[c->n.op].name : "an unknown op");
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
	free(p->chain);
	free(p->range);
	free(p->skip);
	free(p->ns);
	free(p);
}

/* Convolution plans convert their plain inputs to oneDNN's blocked
 * layout on every run (a copy of the whole tensor; these copies were a
 * third of PixelCNN's and Gated PixelCNN's convolution time).  The same
 * tensor is often converted twice in a step: the output gradient by
 * backward-data and backward-weights, the input by the forward and
 * backward-weights.  A later call reads the earlier one's copy instead:
 * calls run once per step in list order, a plan's staging buffer is
 * written only by its own runs, and the tensor, one node, does not change
 * while it is live, so the earlier copy is this step's and current. */
static int conv_inputs(const struct dg_kcall *c)
{
	switch (c->n.op) {     /* plan slot k is input k for k < 2 */
	case OP_CONV: case OP_CONV_BWD_DATA: case OP_CONV_BWD_FILTER:
	case OP_CONV_ND: case OP_CONV_ND_BWD_DATA: case OP_CONV_ND_BWD_FILTER:
		return 2;
	}
	return 0;
}

static void share_staged_inputs(struct prog *p)
{
	for (size_t j = 1; j < p->n; j++) {
		struct dg_kargs *b = &p->args[j];
		for (int sb = 0; sb < conv_inputs(&p->calls[j]) && b->plan; sb++) {
			int done = 0;
			for (size_t i = 0; i < j && !done; i++) {
				struct dg_kargs *a = &p->args[i];
				for (int sa = 0; sa < conv_inputs(&p->calls[i]) && a->plan && !done; sa++)
					done = p->calls[i].n.in[sa] == p->calls[j].n.in[sb] &&
					       a->x[sa] == b->x[sb] &&
					       dg_dnnl_plan_share_input(a->plan, sa, b->plan, sb);
			}
		}
	}
}

/* A bias gradient, the sum of a convolution's output gradient dy over N,
 * H and W, is one more pass over dy (most of the sums in PixelCNN's and
 * Gated PixelCNN's steps); oneDNN's backward-weights computes it while it
 * reads dy anyway.  The sum call i is then skipped and the
 * backward-weights call j > i on the same dy writes its output, which is
 * safe when nothing in between reads it (the planner keeps its buffer
 * from i on). */
static int sum_is_bias_grad(const struct dg_kcall *c)
{
	const struct dg_node *x = &c->in_node[0], *y = &c->n;
	return c->n.op == OP_SUM_TO && x->rank == 4 && y->rank == 4 && x->dtype == DG_F32 &&
	       y->dims[0] == 1 && y->dims[1] == x->dims[1] && y->dims[2] == 1 &&
	       y->dims[3] == 1;
}

/* Whether call k reads call i's output (or a reshape of it, which is
 * another node on the same buffer). */
static int reads(const struct prog *p, size_t k, size_t i)
{
	for (unsigned m = 0; m < p->calls[k].n.nin; m++)
		if (p->calls[k].n.in[m] == p->calls[i].id || p->args[k].x[m] == p->args[i].y)
			return 1;
	return 0;
}

/* DG_NO_FUSION set: calls run one by one, as the executor's epilogue
 * fusion is off then too. */
static int fusion_off(void)
{
	const char *off = getenv("DG_NO_FUSION");
	return off && *off && strcmp(off, "0");
}

static int fuse_bias_grads(struct prog *p)
{
	if (fusion_off())
		return DG_OK;
	for (size_t i = 0; i < p->n; i++) {
		const struct dg_kcall *s = &p->calls[i];
		if (!sum_is_bias_grad(s) || !p->args[i].y)
			continue;
		for (size_t j = i + 1; j < p->n; j++) {
			const struct dg_kcall *c = &p->calls[j];
			if (reads(p, j, i))
				break;
			if (c->n.op != OP_CONV_BWD_FILTER || c->n.in[1] != s->n.in[0] ||
			    p->args[j].x[1] != p->args[i].x[0] || c->n.dims[0] != s->n.dims[1])
				continue;
			int fused, st = dg_cpu_plan_fuse_bias_grad(&p->args[j], p->args[i].y, &fused);
			if (st)
				return st;
			p->skip[i] = (uint8_t)fused;
			break;
		}
	}
	return DG_OK;
}

/* Runs of elementwise calls that execute as one pass (cpu/chain.c),
 * unless DG_NO_FUSION is set. */
static void find_chains(struct prog *p)
{
	if (fusion_off())
		return;
	for (size_t i = 0; i < p->n;) {
		size_t k = dg_cpu_chain_len(p->calls + i, p->args + i, p->n - i, p->range + i);
		p->chain[i] = k;
		i += k > 1 ? k : 1;
	}
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
	p->chain = calloc(p->n + 1, sizeof *p->chain);
	p->range = calloc(p->n + 1, sizeof *p->range);
	p->skip = calloc(p->n + 1, 1);
	if (!p->calls || !p->args || !p->ns || !p->chain || !p->range || !p->skip) {
		cpu_unprepare(dev, p);
		return dg_error_nomem("a cpu step", p->n * sizeof *p->calls);
	}
	memcpy(p->calls, plan->calls, p->n * sizeof *p->calls);
	for (size_t i = 0; i < p->n && !st; i++) {
		struct dg_kcall *c = &p->calls[i];
		struct dg_kargs *a = &p->args[i];
		if ((st = cpu_supports(c)))
			break;
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
	if ((st = fuse_bias_grads(p))) {
		cpu_unprepare(dev, p);
		return st;
	}
	if (!fusion_off())
		share_staged_inputs(p);
	find_chains(p);
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
	for (size_t i = 0, used = 1; i < p->n; i += used) {
		struct dg_kargs *a = &p->args[i];
		double t0 = ri->profile ? now_ns() : 0;
		int st = DG_OK;
		a->run = ri->run;
		used = p->chain[i] > 1 ? p->chain[i] : 1;
		if (p->skip[i])
			continue;
		if (used > 1)   /* the profile gives a chain's time to its first call */
			dg_cpu_chain_run(a, p->range + i, used);
		else
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
	.supports_op = cpu_supports,
	.prepare = cpu_prepare,
	.execute = cpu_execute,
	.unprepare = cpu_unprepare,
};
