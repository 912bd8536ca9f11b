/* graph/graph_impl.h — the graph engine's internals: nodes, variables,
 * updates, the op table.  Shared by libcore/graph/ and the backends. */
#ifndef DG_GRAPH_IMPL_H
#define DG_GRAPH_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include "dg/graph.h"

/* Primitive ops.  Everything in dg/graph.h is one of these or a
 * composition of them (graph/compose.c).  See graph/ops.c for how to add
 * one. */
enum dg_op {
	OP_NONE = 0,
	/* leaves */
	OP_INPUT, OP_VAR, OP_CONST, OP_FILL,
	/* unary elementwise, f32 -> f32; attributes in fa[] */
	OP_AFFINE,      /* fa0*x + fa1 */
	OP_EXP, OP_LOG, OP_SQRT, OP_RSQRT, OP_ABS, OP_SIGN, OP_RELU,
	OP_LEAKY,       /* slope fa0 */
	OP_ELU,         /* alpha fa0 */
	OP_TANH, OP_SIGMOID, OP_SOFTPLUS,
	OP_CLAMP,       /* [fa0, fa1] */
	OP_INRANGE,     /* 1 where fa0 <= x <= fa1 */
	OP_STEP,        /* 1 where x > 0 */
	OP_POWS,        /* x^fa0 */
	OP_STOPGRAD,
	OP_CAST,        /* u8/i32 -> f32 times fa0 */
	/* binary elementwise with broadcasting */
	OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_GT, OP_GE, OP_EQ,
	OP_WHERE,       /* (cond, a, b) */
	/* reductions to a broadcast-compatible shape, and the adjoint */
	OP_SUM_TO, OP_MAX_TO, OP_EXPAND,
	OP_MATMUL,      /* ia0 trans_a, ia1 trans_b */
	/* data movement */
	OP_RESHAPE,     /* an alias: no kernel */
	OP_PERMUTE,     /* ia[i] = input axis of output axis i */
	OP_SLICE,       /* ia[i] = start on axis i; dims = sizes */
	OP_PAD,         /* ia[i] = before on axis i; fa0 = value */
	OP_SOFTMAX, OP_LOG_SOFTMAX,   /* last axis */
	/* ia: stride, pad, dilation */
	OP_CONV,        /* (x N×C×H×W, w O×C×KH×KW) */
	OP_CONV_BWD_DATA,   /* (dy N×O×OH×OW, w) -> dims given (N×C×H×W) */
	OP_CONV_BWD_FILTER, /* (x, dy) -> dims given (O×C×KH×KW) */
	OP_GATHER,      /* (table V×D, idx S) -> S×D */
	OP_SCATTER_ADD, /* (src S×D, idx S) -> V×D, ia0 = V */
	OP_ONE_HOT,     /* (idx S) -> S×K, ia0 = K */
	OP_ARGMAX,      /* last axis */
	OP_PICK,        /* (x S×K, idx S) -> S: x[s, idx[s]] */
	OP_PLACE,       /* (src S, idx S) -> S×K, zeros but src at idx; ia0 = K */
	OP_RNG_UNIFORM, OP_RNG_NORMAL,  /* ia0 = stream */
	/* side effects on variables (no output); ia0 = update id or trigger */
	OP_UPD_SGD, OP_UPD_ADAM, OP_UPD_RMSPROP,  /* (param, grad) */
	OP_ASSIGN,      /* (var, value): var := value */
	OP_EMA,         /* (ema var, param var) */
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
	int32_t ema;            /* index of the EMA variable, or -1 */
};

struct dg_update {
	struct dg_optim opt;
	int32_t tvar;           /* the step counter variable */
	float rt[4];            /* per-run scalars: lr, 1-β1^t, 1-β2^t, t */
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
};

/* The op table (graph/ops.c). */
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
	OPF_LEAF = 16,
	OPF_RANDOM = 32,
};
extern const struct dg_opdef dg_opdefs[OP_COUNT];

/* Node creation (graph/ops.c): checks the sticky status, copies attributes,
 * infers the shape; returns the new id or 0 (error recorded as
 * "<op>: message"). */
uint32_t dg__op(struct dg_graph *g, enum dg_op op, unsigned nin, const uint32_t *in,
		const int64_t *ia, size_t nia, const float *fa, size_t nfa);
uint32_t dg__op1(struct dg_graph *g, enum dg_op op, uint32_t x, float f0, float f1);
uint32_t dg__op2(struct dg_graph *g, enum dg_op op, uint32_t a, uint32_t b);
/* Internal constructors used by backward rules. */
uint32_t dg__sum_to(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims);
uint32_t dg__expand(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims);
uint32_t dg__reshape(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims);
uint32_t dg__matmul(struct dg_graph *g, uint32_t a, uint32_t b, int ta, int tb);
uint32_t dg__conv(struct dg_graph *g, enum dg_op op, uint32_t a, uint32_t b,
		  const int64_t *conv3, unsigned rank, const uint64_t *dims);

/* Sticky error helpers (graph/graph.c). */
int dg__fail(struct dg_graph *g, int status, const char *fmt, ...) DG_PRINTF(3, 4);
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

/* Random streams: parameters use (VAR_STREAM | var index), random ops
 * (OP_STREAM | op's number), so the two never collide. */
#define DG_VAR_STREAM (1ull << 40)
#define DG_OP_STREAM (2ull << 40)

#endif
