/* graph/graph_impl.h — the graph engine's internals: nodes, variables,
 * updates, the op table.  Shared by libcore/graph/ and the backends. */
#ifndef DG_GRAPH_IMPL_H
#define DG_GRAPH_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include "dg/graph.h"

/* Primitive ops, from the op list (graph/op_list.h), which says what
 * each op's attributes mean and how to add one. */
enum dg_op {
#define DG_OP(id, name, nin, flags, infer, backward, cpu, vk, code) OP_##id,
#include "graph/op_list.h"
#undef DG_OP
	OP_COUNT
};

#define DG_NODE_MAXIN 3

struct dg_node {
	uint16_t op;
	uint8_t dtype;
	uint8_t rank;
	uint8_t nin;
	uint32_t in[DG_NODE_MAXIN];
	uint64_t dims[DG_MAX_RANK];
	uint64_t count;
	int64_t ia[2 * DG_MAX_RANK];
	float fa[8];
	int32_t var;            /* OP_VAR and update targets: variable index */
	int32_t state[3];       /* optimizer state variables (-1 if none) */
	char *name;             /* input name, or a debug name (owned) */
	float *cdata;           /* OP_CONST data (owned) */
};

struct dg_var {
	char *name;
	enum dg_var_kind kind;
	unsigned group;         /* parameters: their group index */
	unsigned rank;
	uint64_t dims[DG_MAX_RANK];
	uint64_t count;
	uint32_t node;          /* the OP_VAR leaf */
	float *host;            /* values while not bound to a device */
	/* Initial values are drawn when first needed (dg__var_host), so a
	 * model whose parameters are all loaded from a checkpoint never
	 * draws them: tools that load a model start faster. */
	struct dg_init init;
	uint64_t init_stream;
	int initialized;
	int64_t counter;        /* DG_VAR_COUNTER */
	void *buf;              /* backend buffer once bound */
	uint64_t guard;         /* DG_GUARD: guard bytes after the values in buf */
	int32_t ema;            /* index of the EMA variable, or -1 */
};

struct dg_update {
	struct dg_optim opt;
	int32_t tvar;           /* the step counter variable */
	float rt[4];            /* per-run scalars: lr, 1-β1^t, 1-β2^t, t */
	int ema_warmup;         /* dg_optim_ema_warmup */
};

struct dg_backend;

struct dg_graph {
	uint64_t seed;
	int status;
	char err[512];
	struct dg_node *nodes;  /* nodes[0] is unused: id 0 is invalid */
	size_t nnodes, capnodes;
	struct dg_var *vars;
	size_t nvars, capvars;
	struct dg_update *upds; /* upds[0] unused */
	size_t nupds;
	uint64_t nstreams;      /* random streams handed out */
	int32_t runs_var;       /* counter variable "graph.runs" */
	const struct dg_backend *be;
	void *dev;              /* bound device, NULL before the first compile */
	size_t nexec;
	float bn_momentum;      /* > 0: the momentum of every batch norm appended
				   (dg__graph_bn_momentum) */
};

/* The op table, generated from the op list (graph/nodes.c). */
struct dg_opdef {
	const char *name;
	int nin;
	unsigned flags;
	/* Sets the node's dtype and shape from its inputs and attributes;
	 * returns a status with dg_error's message. */
	int (*infer)(struct dg_graph *g, struct dg_node *n);
	/* Appends the gradients of the node's inputs given the gradient gy
	 * of its output; gin[i] stays 0 for inputs without a gradient. */
	void (*backward)(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin);
};
enum {
	OPF_NODIFF = 1,     /* gradient zero with respect to every input */
	OPF_SIDE = 2,       /* side effect on variables, no output */
	OPF_UNARY = 4,      /* elementwise unary f32 */
	OPF_BINARY = 8,     /* broadcasting binary */
	OPF_LEAF = 16,      /* no inputs, no kernel: a buffer of its own */
	OPF_RANDOM = 32,
	OPF_ALIAS = 64,     /* no kernel: the output is the input's buffer */
};
extern const struct dg_opdef dg_opdefs[OP_COUNT];

/* Every op's shape rule (graph/infer.c) and backward rule
 * (graph/backward.c), declared from the op list. */
#define DG_OP(id, name, nin, flags, infer, backward, cpu, vk, code) \
	int dg__infer_##infer(struct dg_graph *g, struct dg_node *n); \
	void dg__bw_##backward(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin);
#include "graph/op_list.h"
#undef DG_OP

/* Node creation (graph/nodes.c): checks the sticky status, copies attributes,
 * infers the shape; returns the new id or 0 (error recorded as
 * "<op>: message"). */
uint32_t dg__op(struct dg_graph *g, enum dg_op op, unsigned nin, const uint32_t *in,
		const int64_t *ia, size_t nia, const float *fa, size_t nfa);
uint32_t dg__op1(struct dg_graph *g, enum dg_op op, uint32_t x, float f0, float f1);
uint32_t dg__op2(struct dg_graph *g, enum dg_op op, uint32_t a, uint32_t b);
/* An op whose ia[] is a shape (rank, dims...): reshape, expand, sum, max. */
uint32_t dg__shaped(struct dg_graph *g, enum dg_op op, uint32_t x, unsigned rank,
		    const uint64_t *dims);
/* Internal constructors used by backward rules. */
uint32_t dg__sum_to(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims);
uint32_t dg__expand(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims);
uint32_t dg__reshape(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims);
uint32_t dg__matmul(struct dg_graph *g, uint32_t a, uint32_t b, int ta, int tb);
/* Attributes of the uniform 2-d convolutions (OP_CONV, OP_CONV_BWD_DATA,
 * OP_CONV_BWD_FILTER) in ia[]: stride and dilation on both axes, the
 * zero padding above, below, left and right of the input, then for the
 * adjoints their output's shape (rank, dims).  Padding may differ per
 * side, so a causal convolution's kernel holds only the taps its mask
 * keeps (PixelCNN's masked convolutions, Gated PixelCNN's stacks). */
enum { DG_CA_STRIDE = 0, DG_CA_TOP = 1, DG_CA_DIL = 2, DG_CA_BOTTOM = 3, DG_CA_LEFT = 4,
       DG_CA_RIGHT = 5, DG_CA_SHAPE = 6 };
/* An OP_CONV.. node, ca[] its DG_CA_STRIDE..DG_CA_RIGHT attributes (the
 * shape part written here from rank, dims). */
uint32_t dg__conv(struct dg_graph *g, enum dg_op op, uint32_t a, uint32_t b,
		  const int64_t *ca, unsigned rank, const uint64_t *dims);
/* x N×C×H×W convolved with w OC×C×KH×KW, ca[] its stride, dilation
 * and padding per side (DG_CA_STRIDE..DG_CA_RIGHT), plus b (OC or
 * DG_NONE). */
dg_tensor dg__conv2d_sides(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			   const int64_t *ca);

/* Attributes of the general convolutions (OP_CONV_ND, its adjoints) in
 * ia[]: the groups, then stride, padding and dilation on each of the
 * three spatial axes (depth, height, width: a 2-d convolution has depth
 * stride 1, padding 0, dilation 1), then for the adjoints their output's
 * shape (rank, dims).  A uniform 2-d convolution without groups is
 * OP_CONV instead. */
enum { DG_CIA_GROUPS = 0, DG_CIA_STRIDE = 1, DG_CIA_PAD = 4, DG_CIA_DIL = 7, DG_CIA_SHAPE = 10 };
/* Attributes of pooling (OP_MAX_POOL.. OP_AVG_POOL_BWD): window, stride
 * and padding per spatial axis (depth first; 2-d: 1, 1, 0), whether an
 * average counts the padding, and avg_pool_bwd's output shape. */
enum { DG_PIA_KERNEL = 0, DG_PIA_STRIDE = 3, DG_PIA_PAD = 6, DG_PIA_INCLUDE_PAD = 9,
       DG_PIA_SHAPE = 10 };
/* Output side of a window k (dilation d) sliding with stride s over an
 * input side in padded by p on both ends; 0 when it does not fit. */
static inline uint64_t dg__window_out(uint64_t in, uint64_t k, int64_t s, int64_t p, int64_t d)
{
	int64_t span = d * ((int64_t)k - 1) + 1, room = (int64_t)in + 2 * p - span;
	return room < 0 ? 0 : (uint64_t)(room / s + 1);
}
/* A general convolution's node: op (OP_CONV_ND..), inputs a and b, ia
 * as DG_CIA_* (the shape part written here from rank, dims). */
uint32_t dg__conv_nd(struct dg_graph *g, enum dg_op op, uint32_t a, uint32_t b,
		     const int64_t *ia, unsigned rank, const uint64_t *dims);

/* A shape packed into attributes: ia[0] = rank, then the dims. */
static inline void dg__pack_shape(int64_t *ia, unsigned rank, const uint64_t *dims)
{
	ia[0] = rank;
	for (unsigned i = 0; i < rank; i++)
		ia[1 + i] = (int64_t)dims[i];
}

static inline int dg__same_shape(const struct dg_node *a, unsigned rank, const uint64_t *dims)
{
	if (a->rank != rank)
		return 0;
	for (unsigned i = 0; i < rank; i++)
		if (a->dims[i] != dims[i])
			return 0;
	return 1;
}

/* Resampling of the last two axes (graph/resample.c).  One axis's map:
 * for each of out coordinates, taps (source index, weight) pairs, index
 * -1 for none; taps 0 leaves the axis as it is. */
struct dg_axis_map {
	unsigned taps;
	uint64_t out;
	const float *t;         /* out × taps × 2 */
};
/* x (rank >= 2) resampled by maps[0] on its second-last axis and maps[1]
 * on its last. */
uint32_t dg__resample(struct dg_graph *g, uint32_t x, const struct dg_axis_map maps[2]);
/* The gradient of resample node id's input: gy resampled by the
 * transposed maps. */
uint32_t dg__resample_adjoint(struct dg_graph *g, uint32_t id, uint32_t gy);

/* Sticky error helpers (graph/graph.c). */
int dg__fail(struct dg_graph *g, int status, const char *fmt, ...) DG_PRINTF(3, 4);
/* Forgets the first error, for a caller that appended a computation the
 * family refused: the nodes it left are unreachable from any later
 * output, so the graph is whole again (the inference runners). */
void dg__graph_clear_error(struct dg_graph *g);
/* From now on every dg_batch_norm appended in training mode updates its
 * running statistics with this momentum instead of its own (1: they
 * become the last batch's statistics, which the trainer's standing
 * statistics average); 0 restores the callers' momenta. */
void dg__graph_bn_momentum(struct dg_graph *g, float momentum);
static inline struct dg_node *dg__node(struct dg_graph *g, uint32_t id)
{
	return &g->nodes[id];
}
/* Adds a node slot (zeroed); 0 on failure. */
uint32_t dg__new_node(struct dg_graph *g);
/* Adds a variable with its leaf node; returns the variable index or -1. */
int32_t dg__new_var(struct dg_graph *g, const char *name, enum dg_var_kind kind,
		    unsigned group, unsigned rank, const uint64_t *dims, struct dg_init init);
int32_t dg__find_var(const struct dg_graph *g, const char *name);

/* Broadcast shape of two shapes (NumPy); DG_EDATA if incompatible. */
int dg__broadcast(unsigned ra, const uint64_t *a, unsigned rb, const uint64_t *b,
		  unsigned *r, uint64_t *out);
/* Makes v->host (a variable other than a counter) hold its values:
 * allocated and drawn from the initializer on first use.  With fill 0 the
 * caller overwrites every value, so nothing is drawn (graph/graph.c). */
int dg__var_host(struct dg_graph *g, struct dg_var *v, int fill);
/* DG_EUSAGE for an initializer that cannot apply to a rank (graph/init.c). */
int dg__init_check(unsigned rank, struct dg_init init);
/* Fills an initializer's values (graph/init.c). */
int dg__init_fill(float *v, unsigned rank, const uint64_t *dims, uint64_t count,
		  struct dg_init init, uint64_t seed, uint64_t stream);

/* The decay an update's EMA uses at its step t (graph/optim.c). */
float dg__ema_decay(const struct dg_update *u, uint64_t t);

/* Random streams: parameters use (VAR_STREAM | var index), random ops
 * (OP_STREAM | op's number), so the two never collide. */
#define DG_VAR_STREAM (1ull << 40)
#define DG_OP_STREAM (2ull << 40)

#endif
