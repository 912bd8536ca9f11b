/* graph/nodes.c — node creation: the op table generated from the op list
 * (graph/op_list.h), the one function that adds an op node (sticky error,
 * attributes, shape inference) and the internal constructors that backward
 * rules and compositions share. */
#include <string.h>
#include "graph/graph_impl.h"

const struct dg_opdef dg_opdefs[OP_COUNT] = {
#define DG_OP(id, name, nin, flags, infer, backward, cpu, vk, code) \
	[OP_##id] = {name, nin, flags, dg__infer_##infer, dg__bw_##backward},
#include "graph/op_list.h"
#undef DG_OP
};
_Static_assert(sizeof dg_opdefs / sizeof *dg_opdefs == OP_COUNT, "one op table row per op");

uint32_t dg__op(struct dg_graph *g, enum dg_op op, unsigned nin, const uint32_t *in,
		const int64_t *ia, size_t nia, const float *fa, size_t nfa)
{
	const struct dg_opdef *d = &dg_opdefs[op];
	uint32_t id;

	if (g->status)
		return 0;
	for (unsigned i = 0; i < nin; i++)
		if (!in[i] || in[i] >= g->nnodes) {
			dg__fail(g, DG_EUSAGE, "%s: input %u is not a tensor", d->name, i);
			return 0;
		}
	if (!(id = dg__new_node(g)))
		return 0;
	struct dg_node *n = &g->nodes[id];
	n->op = (uint16_t)op;
	n->nin = (uint8_t)nin;
	if (nin)
		memcpy(n->in, in, nin * sizeof *in);
	if (nia)
		memcpy(n->ia, ia, nia * sizeof *ia);
	if (nfa)
		memcpy(n->fa, fa, nfa * sizeof *fa);
	n->dtype = DG_F32;
	int st = d->infer(g, n);
	if (!st) {
		uint64_t c = 1;
		for (unsigned i = 0; i < n->rank; i++)
			c *= n->dims[i];
		n->count = (d->flags & OPF_SIDE) ? 0 : c;
		return id;
	}
	g->nnodes--;
	dg__fail(g, st, "%s: %s", d->name, dg_errmsg());
	return 0;
}

uint32_t dg__op1(struct dg_graph *g, enum dg_op op, uint32_t x, float f0, float f1)
{
	float fa[2] = {f0, f1};
	return dg__op(g, op, 1, &x, NULL, 0, fa, 2);
}

uint32_t dg__op2(struct dg_graph *g, enum dg_op op, uint32_t a, uint32_t b)
{
	uint32_t in[2] = {a, b};
	return dg__op(g, op, 2, in, NULL, 0, NULL, 0);
}

uint32_t dg__shaped(struct dg_graph *g, enum dg_op op, uint32_t x, unsigned rank,
		    const uint64_t *dims)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	if (rank > DG_MAX_RANK) {
		dg__fail(g, DG_EUSAGE, "%s: rank %u too large", dg_opdefs[op].name, rank);
		return 0;
	}
	dg__pack_shape(ia, rank, dims);
	return dg__op(g, op, 1, &x, ia, 1 + rank, NULL, 0);
}

/* The dims passed to these often point into g->nodes, which creating a
 * node may move: they are copied first. */
/* An OP_SUM_TO of x to this shape already in the graph, or 0.  Parameters
 * that meet in an add get the same gradient, summed to the same shape
 * (Gated PixelCNN's horizontal-stack and v2h biases): one sum serves both. */
static uint32_t sum_to_made(const struct dg_graph *g, uint32_t x, unsigned rank,
			    const uint64_t *dims)
{
	for (uint32_t id = g->nnodes - 1; id > x; id--) {
		const struct dg_node *n = &g->nodes[id];
		if (n->op == OP_SUM_TO && n->in[0] == x && dg__same_shape(n, rank, dims))
			return id;
	}
	return 0;
}

uint32_t dg__sum_to(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims_)
{
	uint64_t dims[DG_MAX_RANK];
	if (g->status || rank > DG_MAX_RANK)
		return 0;
	memcpy(dims, dims_, rank * sizeof *dims);
	const struct dg_node *n = &g->nodes[x];
	if (dg__same_shape(n, rank, dims))
		return x;
	/* Leading axes that broadcasting added are summed, then dropped. */
	if (n->rank > rank) {
		uint64_t full[DG_MAX_RANK];
		unsigned extra = n->rank - rank;
		for (unsigned i = 0; i < n->rank; i++)
			full[i] = i < extra ? 1 : dims[i - extra];
		uint32_t s = sum_to_made(g, x, n->rank, full);
		if (!s)
			s = dg__shaped(g, OP_SUM_TO, x, n->rank, full);
		return dg__reshape(g, s, rank, dims);
	}
	uint32_t s = sum_to_made(g, x, rank, dims);
	return s ? s : dg__shaped(g, OP_SUM_TO, x, rank, dims);
}

uint32_t dg__expand(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims_)
{
	uint64_t dims[DG_MAX_RANK];
	if (g->status || rank > DG_MAX_RANK)
		return 0;
	memcpy(dims, dims_, rank * sizeof *dims);
	if (dg__same_shape(&g->nodes[x], rank, dims))
		return x;
	return dg__shaped(g, OP_EXPAND, x, rank, dims);
}

uint32_t dg__reshape(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims_)
{
	uint64_t dims[DG_MAX_RANK];
	if (g->status || rank > DG_MAX_RANK)
		return 0;
	memcpy(dims, dims_, rank * sizeof *dims);
	if (dg__same_shape(&g->nodes[x], rank, dims))
		return x;
	return dg__shaped(g, OP_RESHAPE, x, rank, dims);
}

uint32_t dg__matmul(struct dg_graph *g, uint32_t a, uint32_t b, int ta, int tb)
{
	int64_t ia[2] = {ta, tb};
	uint32_t in[2] = {a, b};
	return dg__op(g, OP_MATMUL, 2, in, ia, 2, NULL, 0);
}

uint32_t dg__conv(struct dg_graph *g, enum dg_op op, uint32_t a, uint32_t b,
		  const int64_t *ca, unsigned rank, const uint64_t *dims)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	uint32_t in[2] = {a, b};
	memcpy(ia, ca, DG_CA_SHAPE * sizeof *ia);
	if (rank)
		dg__pack_shape(ia + DG_CA_SHAPE, rank, dims);
	return dg__op(g, op, 2, in, ia, DG_CA_SHAPE + 1 + rank, NULL, 0);
}

uint32_t dg__conv_nd(struct dg_graph *g, enum dg_op op, uint32_t a, uint32_t b,
		     const int64_t *ia_, unsigned rank, const uint64_t *dims)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	uint32_t in[2] = {a, b};
	memcpy(ia, ia_, DG_CIA_SHAPE * sizeof *ia);
	if (rank)
		dg__pack_shape(ia + DG_CIA_SHAPE, rank, dims);
	return dg__op(g, op, 2, in, ia, DG_CIA_SHAPE + 1 + rank, NULL, 0);
}
