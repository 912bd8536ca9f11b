/* cpu/kernels.h — the cpu backend's kernels: one function per primitive
 * op, called with resolved pointers.  Shapes come from the kernel call
 * (graph/backend.h); every tensor is dense and row-major. */
#ifndef DG_CPU_KERNELS_H
#define DG_CPU_KERNELS_H

#include <math.h>
#include <stdint.h>
#include "cpu/pool.h"
#include "graph/backend.h"

struct dg_dnnl_plan;

/* What a kernel gets: the call, its data, and per-call resources made at
 * prepare time (scratch memory, a oneDNN plan). */
struct dg_kargs {
	const struct dg_kcall *c;
	float *y;
	const void *x[DG_NODE_MAXIN];
	float *st[3];
	uint64_t seed, run;
	float *scratch;
	struct dg_dnnl_plan *plan;
	const float *bias;      /* fused matmul epilogue (NULL: none) */
	float *diff_bias;       /* conv backward-weights: also the bias gradient
				 * of a sum call it took over (NULL: none) */
};

/* The activations a matmul epilogue can fuse (enum dg_act). */
static inline float dg_act_apply(int act, float alpha, float v)
{
	switch (act) {
	case DG_ACT_RELU: return v > 0 ? v : 0;
	case DG_ACT_LEAKY_RELU: return v > 0 ? v : alpha * v;
	case DG_ACT_ELU: return v > 0 ? v : alpha * expm1f(v);
	case DG_ACT_TANH: return tanhf(v);
	case DG_ACT_SIGMOID: return v >= 0 ? 1 / (1 + expf(-v)) : expf(v) / (1 + expf(v));
	}
	return v;
}

typedef int (*dg_kernel_fn)(const struct dg_kargs *a);

/* Indexed by enum dg_op, generated from the op list (graph/op_list.h):
 * dg_k_none for ops that are no call (leaves, reshape). */
extern const dg_kernel_fn dg_cpu_kernels[OP_COUNT];

/* Scratch floats a call needs (matmul transposes), 0 if none. */
uint64_t dg_cpu_scratch(const struct dg_kcall *c);
/* Creates a oneDNN plan for the call when one fits (*plan NULL: the C
 * kernel runs).  DG_NO_DNNL=1 in the environment keeps the C kernels. */
int dg_cpu_plan(const struct dg_kcall *c, struct dg_dnnl_plan **plan);
/* Remakes a convolution backward-weights call's plan to write the bias
 * gradient (the sum of dy over N, H, W) to db as well; *fused 0: the
 * call has no such plan, nothing changed. */
int dg_cpu_plan_fuse_bias_grad(struct dg_kargs *a, float *db, int *fused);
/* Runs the call through its plan. */
int dg_cpu_run_plan(const struct dg_kargs *a);

/* The kernels the op list names, one per family of ops (k_eltwise.c:
 * unary, cast, binary, where, expand, rng; k_reduce.c: reduce, softmax,
 * argmax; k_matmul.c; k_conv.c; k_conv_nd.c: grouped and 3-d
 * convolutions; k_pool.c: pooling; k_shape.c: permute, slice, pad and
 * the index ops; k_resample.c; k_optim.c: update, assign, ema). */
#define DG_OP(id, name, nin, flags, infer, backward, cpu, vk, code) \
	int dg_k_##cpu(const struct dg_kargs *a);
#include "graph/op_list.h"
#undef DG_OP

/* The range function (ctx a struct dg_kargs) of an op whose kernel is
 * per element (unary, binary, where, expand), or NULL: cpu/chain.c runs
 * several of them over one block of elements at a time. */
dg_pool_fn dg_k_eltwise_range(int op);

/* Index of element i of a broadcast input: an odometer over the output's
 * coordinates with the input's strides (0 on broadcast axes).  Axes of
 * size 1 are dropped and neighbouring axes that every input walks alike
 * (all contiguous, or all broadcast) are merged, so N×C×H×W against a
 * 1×C×1×1 input is an odometer over N×C with rows of H·W: kernels walk a
 * row at a time (dg_bcast_row, dg_bcast_skip) with one stride per input,
 * 0 or 1 on the merged innermost axis. */
struct dg_bcast {
	unsigned rank;          /* >= 1 after merging */
	uint64_t dims[DG_MAX_RANK];
	uint64_t st[DG_NODE_MAXIN][DG_MAX_RANK];
	uint64_t c[DG_MAX_RANK];
	uint64_t off[DG_NODE_MAXIN];
	unsigned nin;
};
void dg_bcast_init(struct dg_bcast *b, const struct dg_node *out,
		   const struct dg_node *const *ins, unsigned nin, uint64_t start);

/* Carries an odometer whose axis k has just reached its end. */
static inline void dg_bcast_carry(struct dg_bcast *b, int k)
{
	for (; k >= 0; k--) {
		for (unsigned j = 0; j < b->nin; j++)
			b->off[j] -= b->st[j][k] * b->dims[k];
		b->c[k] = 0;
		if (k == 0)
			return;
		for (unsigned j = 0; j < b->nin; j++)
			b->off[j] += b->st[j][k - 1];
		if (++b->c[k - 1] < b->dims[k - 1])
			return;
	}
}

/* Elements left in the current row (the innermost axis), at most max. */
static inline uint64_t dg_bcast_row(const struct dg_bcast *b, uint64_t max)
{
	uint64_t left = b->dims[b->rank - 1] - b->c[b->rank - 1];
	return left < max ? left : max;
}

/* Moves n elements on, n at most what dg_bcast_row gave. */
static inline void dg_bcast_skip(struct dg_bcast *b, uint64_t n)
{
	int k = (int)b->rank - 1;
	for (unsigned j = 0; j < b->nin; j++)
		b->off[j] += b->st[j][k] * n;
	b->c[k] += n;
	if (b->c[k] == b->dims[k])
		dg_bcast_carry(b, k);
}

#endif
