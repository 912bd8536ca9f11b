/* graph/primitives.c — the public constructors (dg/graph.h) that map onto
 * one primitive op each; compositions of several are in compose.c. */
#include <string.h>
#include "graph/graph_impl.h"

#define T(id) ((dg_tensor){(id)})

#define BIN(fn, op) \
	dg_tensor fn(struct dg_graph *g, dg_tensor a, dg_tensor b) \
	{ return T(dg__op2(g, op, a.id, b.id)); }
BIN(dg_add, OP_ADD)
BIN(dg_sub, OP_SUB)
BIN(dg_mul, OP_MUL)
BIN(dg_div, OP_DIV)
BIN(dg_maximum, OP_MAX)
BIN(dg_minimum, OP_MIN)
BIN(dg_greater, OP_GT)
BIN(dg_greater_equal, OP_GE)
BIN(dg_equal, OP_EQ)
#undef BIN

#define UN(fn, op) \
	dg_tensor fn(struct dg_graph *g, dg_tensor x) \
	{ return T(dg__op1(g, op, x.id, 0, 0)); }
UN(dg_exp, OP_EXP)
UN(dg_log, OP_LOG)
UN(dg_sqrt, OP_SQRT)
UN(dg_rsqrt, OP_RSQRT)
UN(dg_abs, OP_ABS)
UN(dg_sign, OP_SIGN)
UN(dg_relu, OP_RELU)
UN(dg_tanh, OP_TANH)
UN(dg_sigmoid, OP_SIGMOID)
UN(dg_softplus, OP_SOFTPLUS)
UN(dg_stop_gradient, OP_STOPGRAD)
UN(dg_argmax, OP_ARGMAX)
#undef UN

dg_tensor dg_affine(struct dg_graph *g, dg_tensor x, float a, float b)
{
	return T(dg__op1(g, OP_AFFINE, x.id, a, b));
}
dg_tensor dg_add_scalar(struct dg_graph *g, dg_tensor x, float s) { return dg_affine(g, x, 1, s); }
dg_tensor dg_mul_scalar(struct dg_graph *g, dg_tensor x, float s) { return dg_affine(g, x, s, 0); }
dg_tensor dg_neg(struct dg_graph *g, dg_tensor x) { return dg_affine(g, x, -1, 0); }
dg_tensor dg_square(struct dg_graph *g, dg_tensor x) { return dg_mul(g, x, x); }
dg_tensor dg_pow_scalar(struct dg_graph *g, dg_tensor x, float p)
{
	return T(dg__op1(g, OP_POWS, x.id, p, 0));
}
dg_tensor dg_leaky_relu(struct dg_graph *g, dg_tensor x, float slope)
{
	return T(dg__op1(g, OP_LEAKY, x.id, slope, 0));
}
dg_tensor dg_elu(struct dg_graph *g, dg_tensor x, float alpha)
{
	return T(dg__op1(g, OP_ELU, x.id, alpha, 0));
}
dg_tensor dg_clamp(struct dg_graph *g, dg_tensor x, float lo, float hi)
{
	return T(dg__op1(g, OP_CLAMP, x.id, lo, hi));
}
dg_tensor dg_cast(struct dg_graph *g, dg_tensor x, float scale)
{
	return T(dg__op1(g, OP_CAST, x.id, scale, 0));
}
dg_tensor dg_where(struct dg_graph *g, dg_tensor c, dg_tensor a, dg_tensor b)
{
	uint32_t in[3] = {c.id, a.id, b.id};
	return T(dg__op(g, OP_WHERE, 3, in, NULL, 0, NULL, 0));
}
/* The op multiplies matrices, a batch by a matrix (not transposed) and
 * two batches of one size; the other cases are brought to those.  A
 * shared a is expanded to the batch (a copy per matrix of the batch); a
 * transposed batch times a shared b is transposed first (a copy of a);
 * leading axes beyond one are folded into one batch and unfolded after. */
dg_tensor dg_matmul(struct dg_graph *g, dg_tensor a, dg_tensor b, int ta, int tb)
{
	uint64_t ad[DG_MAX_RANK], bd[DG_MAX_RANK], lead = 1;
	int64_t a3[3], b3[3], y[DG_MAX_RANK];
	unsigned ra, rb, r;

	if (g->status || !a.id || a.id >= g->nnodes || !b.id || b.id >= g->nnodes)
		return T(dg__matmul(g, a.id, b.id, !!ta, !!tb));   /* records the error */
	ra = dg_shape(g, a, ad);
	rb = dg_shape(g, b, bd);
	if (ra < 2 || rb < 2 || (ra <= 3 && rb <= ra && !(ra == 3 && rb == 2 && ta)))
		return T(dg__matmul(g, a.id, b.id, !!ta, !!tb));
	r = ra > rb ? ra : rb;
	if (ra > 2 && rb > 2 && (ra != rb || memcmp(ad, bd, (ra - 2) * sizeof *ad))) {
		dg__fail(g, DG_EUSAGE, "matmul: batch axes of ranks %u and %u differ (only a "
			 "plain matrix is shared by a batch)", ra, rb);
		return DG_NONE;
	}
	const uint64_t *ld = ra > 2 ? ad : bd;
	for (unsigned i = 0; i + 2 < r; i++) {
		lead *= ld[i];
		y[i] = (int64_t)ld[i];
	}
	if (ra == 2) {                  /* a shared: one copy per matrix of b's batch */
		uint64_t e[3] = {lead, ad[0], ad[1]};
		a = dg_expand(g, a, 3, e);
	} else {
		a3[0] = (int64_t)lead, a3[1] = (int64_t)ad[ra - 2], a3[2] = (int64_t)ad[ra - 1];
		a = dg_reshape(g, a, 3, a3);
		if (rb == 2 && ta) {
			a = dg_transpose(g, a);
			ta = 0;
		}
	}
	if (rb > 2) {
		b3[0] = (int64_t)lead, b3[1] = (int64_t)bd[rb - 2], b3[2] = (int64_t)bd[rb - 1];
		b = dg_reshape(g, b, 3, b3);
	}
	dg_tensor p = T(dg__matmul(g, a.id, b.id, !!ta, !!tb));
	if (g->status)
		return DG_NONE;
	y[r - 2] = (int64_t)dg_dim(g, p, 1);
	y[r - 1] = (int64_t)dg_dim(g, p, 2);
	return dg_reshape(g, p, r, y);
}

dg_tensor dg_reshape(struct dg_graph *g, dg_tensor x, unsigned rank, const int64_t *dims)
{
	uint64_t d[DG_MAX_RANK], known = 1;
	int infer = -1;

	if (g->status)
		return DG_NONE;
	if (rank > DG_MAX_RANK || !x.id || x.id >= g->nnodes) {
		dg__fail(g, DG_EUSAGE, "reshape: bad rank or tensor");
		return DG_NONE;
	}
	for (unsigned i = 0; i < rank; i++) {
		if (dims[i] == -1 && infer < 0) {
			infer = (int)i;
			continue;
		}
		if (dims[i] < 1) {
			dg__fail(g, DG_EUSAGE, "reshape: bad dim %lld", (long long)dims[i]);
			return DG_NONE;
		}
		d[i] = (uint64_t)dims[i];
		known *= d[i];
	}
	if (infer >= 0)
		d[infer] = known ? g->nodes[x.id].count / known : 0;
	return T(dg__shaped(g, OP_RESHAPE, x.id, rank, d));
}

dg_tensor dg_expand(struct dg_graph *g, dg_tensor x, unsigned rank, const uint64_t *dims)
{
	return T(dg__shaped(g, OP_EXPAND, x.id, rank, dims));
}

dg_tensor dg_permute(struct dg_graph *g, dg_tensor x, const unsigned *perm)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	unsigned r = x.id && x.id < g->nnodes ? g->nodes[x.id].rank : 0;
	for (unsigned i = 0; i < r; i++)
		ia[i] = perm[i];
	return T(dg__op(g, OP_PERMUTE, 1, &x.id, ia, DG_MAX_RANK, NULL, 0));
}

static int axis_of(struct dg_graph *g, dg_tensor x, int axis, const char *what)
{
	int r = x.id && x.id < g->nnodes ? g->nodes[x.id].rank : 0;
	if (axis < 0)
		axis += r;
	if (axis < 0 || axis >= r) {
		dg__fail(g, DG_EUSAGE, "%s: no axis %d in a rank-%d tensor", what, axis, r);
		return -1;
	}
	return axis;
}

/* The op's attribute is the number of axes after the one it runs along,
 * so that 0, the default, is the last. */
static dg_tensor softmax(struct dg_graph *g, enum dg_op op, dg_tensor x, int axis)
{
	if (g->status || (axis = axis_of(g, x, axis, dg_opdefs[op].name)) < 0)
		return DG_NONE;
	int64_t after = (int64_t)g->nodes[x.id].rank - 1 - axis;
	return T(dg__op(g, op, 1, &x.id, &after, 1, NULL, 0));
}

dg_tensor dg_softmax(struct dg_graph *g, dg_tensor x) { return softmax(g, OP_SOFTMAX, x, -1); }
dg_tensor dg_log_softmax(struct dg_graph *g, dg_tensor x)
{
	return softmax(g, OP_LOG_SOFTMAX, x, -1);
}
dg_tensor dg_softmax_axis(struct dg_graph *g, dg_tensor x, int axis)
{
	return softmax(g, OP_SOFTMAX, x, axis);
}
dg_tensor dg_log_softmax_axis(struct dg_graph *g, dg_tensor x, int axis)
{
	return softmax(g, OP_LOG_SOFTMAX, x, axis);
}

dg_tensor dg_slice(struct dg_graph *g, dg_tensor x, int axis, uint64_t start, uint64_t len)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	if (g->status || (axis = axis_of(g, x, axis, "slice")) < 0)
		return DG_NONE;
	const struct dg_node *n = &g->nodes[x.id];
	for (unsigned i = 0; i < n->rank; i++)
		ia[DG_MAX_RANK + i] = (int64_t)n->dims[i];
	ia[axis] = (int64_t)start;
	ia[DG_MAX_RANK + axis] = (int64_t)len;
	return T(dg__op(g, OP_SLICE, 1, &x.id, ia, 2 * DG_MAX_RANK, NULL, 0));
}

dg_tensor dg_pad(struct dg_graph *g, dg_tensor x, const uint64_t *before,
		 const uint64_t *after, float value)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	unsigned r = x.id && x.id < g->nnodes ? g->nodes[x.id].rank : 0;
	for (unsigned i = 0; i < r; i++) {
		ia[i] = (int64_t)before[i];
		ia[DG_MAX_RANK + i] = (int64_t)after[i];
	}
	return T(dg__op(g, OP_PAD, 1, &x.id, ia, 2 * DG_MAX_RANK, &value, 1));
}

dg_tensor dg_one_hot(struct dg_graph *g, dg_tensor idx, unsigned k)
{
	int64_t ia = k;
	return T(dg__op(g, OP_ONE_HOT, 1, &idx.id, &ia, 1, NULL, 0));
}

dg_tensor dg_pick(struct dg_graph *g, dg_tensor x, dg_tensor idx)
{
	return T(dg__op2(g, OP_PICK, x.id, idx.id));
}

dg_tensor dg_embedding(struct dg_graph *g, dg_tensor table, dg_tensor idx)
{
	return T(dg__op2(g, OP_GATHER, table.id, idx.id));
}

static dg_tensor rng(struct dg_graph *g, enum dg_op op, unsigned rank, const uint64_t *dims)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	if (g->status)
		return DG_NONE;
	if (rank > DG_MAX_RANK) {
		dg__fail(g, DG_EUSAGE, "%s: rank %u too large", dg_opdefs[op].name, rank);
		return DG_NONE;
	}
	ia[0] = (int64_t)(DG_OP_STREAM | g->nstreams);
	dg__pack_shape(ia + 1, rank, dims);
	uint32_t id = dg__op(g, op, 0, NULL, ia, 2 + rank, NULL, 0);
	if (id)
		g->nstreams++;
	return T(id);
}

dg_tensor dg_random_uniform(struct dg_graph *g, unsigned rank, const uint64_t *dims)
{
	return rng(g, OP_RNG_UNIFORM, rank, dims);
}

dg_tensor dg_random_normal(struct dg_graph *g, unsigned rank, const uint64_t *dims)
{
	return rng(g, OP_RNG_NORMAL, rank, dims);
}

static dg_tensor conv_common(struct dg_graph *g, enum dg_op op, dg_tensor x, dg_tensor w,
			     dg_tensor b, const struct dg_conv *p)
{
	int64_t c3[3] = {p && p->stride ? p->stride : 1, p ? p->pad : 0,
			 p && p->dilation ? p->dilation : 1};
	uint32_t y;

	if (g->status)
		return DG_NONE;
	if (op == OP_CONV) {
		y = dg__conv(g, OP_CONV, x.id, w.id, c3, 0, NULL);
	} else {
		const struct dg_node *xn = &g->nodes[x.id], *wn = &g->nodes[w.id];
		if (xn->rank != 4 || wn->rank != 4) {
			dg__fail(g, DG_EUSAGE, "conv_transpose2d: input and weight must be 4-d");
			return DG_NONE;
		}
		uint64_t span_h = (uint64_t)c3[2] * (wn->dims[2] - 1) + 1;
		uint64_t span_w = (uint64_t)c3[2] * (wn->dims[3] - 1) + 1;
		int64_t oh = (int64_t)((xn->dims[2] - 1) * c3[0] + span_h) - 2 * c3[1] +
			     (p ? p->output_padding : 0);
		int64_t ow = (int64_t)((xn->dims[3] - 1) * c3[0] + span_w) - 2 * c3[1] +
			     (p ? p->output_padding : 0);
		if (oh < 1 || ow < 1) {
			dg__fail(g, DG_EUSAGE, "conv_transpose2d: empty output");
			return DG_NONE;
		}
		uint64_t d[4] = {xn->dims[0], wn->dims[1], (uint64_t)oh, (uint64_t)ow};
		y = dg__conv(g, OP_CONV_BWD_DATA, x.id, w.id, c3, 4, d);
	}
	if (b.id && y) {
		uint64_t bd[4] = {1, g->nodes[y].dims[1], 1, 1};
		y = dg__op2(g, OP_ADD, y, dg__reshape(g, b.id, 4, bd));
	}
	return T(y);
}

dg_tensor dg_conv2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
		    const struct dg_conv *p)
{
	return conv_common(g, OP_CONV, x, w, b, p);
}

dg_tensor dg_conv_transpose2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			      const struct dg_conv *p)
{
	return conv_common(g, OP_CONV_BWD_DATA, x, w, b, p);
}
