/* graph/backend.h — the one interface both backends implement: buffers,
 * transfers, and a compiled step as a flat list of kernel calls.
 *
 * The engine plans everything (schedule, buffer offsets by liveness) and
 * hands a backend a struct dg_plan.  The cpu backend prepares C kernels
 * and oneDNN primitives from it; the vulkan backend records the same list
 * into one command buffer (with barriers between dependent calls) and
 * resubmits it each run.  Buffers are opaque handles: the engine never
 * dereferences them, so they may live in device memory. */
#ifndef DG_GRAPH_BACKEND_H
#define DG_GRAPH_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "graph/graph_impl.h"

/* A place in a backend buffer. */
struct dg_bref {
	void *buf;
	uint64_t off;   /* bytes */
};

/* One kernel call: the node (by value: op, attributes, output shape), its
 * inputs' nodes for their shapes, and where everything lives.  Updates
 * also get their state buffers (st, in the order of the node's state[])
 * and rt, DG_RT_COUNT per-run scalars of their update the engine rewrites
 * before each run (lr, 1-β1^t, 1-β2^t, t, the EMA's decay); EMA calls get
 * their update's rt too. */
#define DG_RT_COUNT 5
struct dg_kcall {
	struct dg_node n;
	struct dg_node in_node[DG_NODE_MAXIN];
	struct dg_bref out;
	struct dg_bref in[DG_NODE_MAXIN];
	struct dg_bref st[3];
	const float *rt;
	uint32_t id;    /* node id, for messages and profiles */
	/* A matmul or conv with a fused epilogue (the executor's fusion of
	 * product -> add bias -> activation): out = act(A·B + bias), bias of
	 * N floats broadcast over rows, or of OC floats per output channel
	 * (bias.buf NULL: none); act is an enum dg_act with parameter alpha. */
	struct dg_bref bias;
	uint8_t act;
	float alpha;
};

/* Rules every backend's kernels follow:
 *  - Calls run in list order; a call may read what any earlier call wrote
 *    (the vulkan backend puts a barrier between calls).
 *  - Elementwise calls (unary and broadcasting binary ops) may have their
 *    output at the same place as a same-sized input: the planner writes
 *    in place when that input dies there.  Element i is read before it
 *    is written, so per-element kernels are safe as they are.
 *  - Side-effect calls (updates, assign, EMA) write the variable in[0]
 *    (their out is empty); their sizes come from in_node[0].
 *  - A MATMUL or CONV call may carry a fused epilogue (bias, act).
 *  - Random ops draw from (plan seed, n.ia[0] as stream, run << 32 as
 *    counter), element i from block counter + i / 4 (dg/rng.h). */
struct dg_plan {
	struct dg_kcall *calls;
	size_t ncalls;
	uint64_t seed;          /* random ops: (seed, stream, run counter) */
};

/* Per-run values. */
struct dg_run_info {
	uint64_t run;           /* the graph's run counter */
	int profile;            /* time each call (DG_PROFILE=1) */
};

struct dg_backend {
	const char *name;
	int (*open)(const char *spec, void **dev);
	void (*close)(void *dev);
	/* A buffer of bytes, zeroed. */
	int (*alloc)(void *dev, uint64_t bytes, void **buf);
	void (*release)(void *dev, void *buf);
	int (*write)(void *dev, void *buf, uint64_t off, const void *src, uint64_t bytes);
	int (*read)(void *dev, void *buf, uint64_t off, void *dst, uint64_t bytes);
	/* Whether the backend can run the call: DG_OK, or a status (DG_ENODEV
	 * for a limit of the backend) with a message naming the op.  Asked by
	 * dg_compile for every call of a step before the graph is bound to the
	 * device or any memory is allocated, so a refusal leaves the graph free
	 * to compile elsewhere.  The call's node, inputs' nodes and epilogue
	 * (act, alpha) are set; its buffer references are not yet. */
	int (*supports_op)(const struct dg_kcall *c);
	/* Prepares a plan (the backend keeps no pointer into plan after
	 * returning, except the calls' rt). */
	int (*prepare)(void *dev, const struct dg_plan *plan, void **prog);
	int (*execute)(void *dev, void *prog, const struct dg_run_info *ri);
	/* Prints per-call timings (DG_PROFILE) to f-less stderr and frees. */
	void (*unprepare)(void *dev, void *prog);
	/* Optional: makes a buffer of host memory from dg_alloc() holding
	 * bytes, taking it over (the cpu backend uses it as it is, sparing a
	 * variable's copy at bind time); NULL where buffers live elsewhere. */
	int (*adopt)(void *dev, void *host, uint64_t bytes, void **buf);
};

/* A reduction (SUM_TO, MAX_TO) of x to y as both backends run it: x's
 * axes without their 1s, neighbours of one kind merged into kept and
 * reduced groups, outermost first, with their strides in x. */
struct dg_reduce_groups {
	unsigned nk, nr;
	uint64_t kd[DG_MAX_RANK], ks[DG_MAX_RANK];
	uint64_t rd[DG_MAX_RANK], rs[DG_MAX_RANK];
};
void dg__reduce_groups(const struct dg_node *x, const struct dg_node *y,
		       struct dg_reduce_groups *g);

/* A general convolution (OP_CONV_ND..) or pooling call as both backends'
 * kernels see it, named from the forward op whatever the call: x the
 * input N×C×D×H×W, y the output N×O×OD×OH×OW (pooling: O = C), w the
 * weight O×(C/groups)×KD×KH×KW (pooling: the window); a 2-d call has
 * D = OD = KD = 1, stride 1, padding 0 on depth (graph/window.c). */
struct dg_window {
	int64_t n, c, o, groups;
	int64_t in[3], out[3], k[3];        /* depth, height, width */
	int64_t s[3], p[3], d[3];           /* stride, padding, dilation */
	int include_pad;                    /* avg pooling: padding counts */
};
void dg__window(const struct dg_kcall *c, struct dg_window *w);

/* Prints the DG_PROFILE report of a step to stderr: ns[i] is the time
 * call i took over all runs (graph/profile.c). */
void dg__profile_report(const char *backend, const struct dg_kcall *calls, size_t n,
			const double *ns, uint64_t runs);

extern const struct dg_backend dg_cpu_backend;   /* cpu/backend_cpu.c */
extern const struct dg_backend dg_vk_backend;    /* vk/backend_vk.c */

#endif
