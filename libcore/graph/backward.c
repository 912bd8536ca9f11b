/* graph/backward.c — backward rules: the gradients of an op's inputs given
 * the gradient gy of its output, appended as other ops (so gradients of
 * gradients work).  The op list names the rule of each op; autograd.c
 * calls them in reverse creation order. */
#include <string.h>
#include "graph/graph_impl.h"

/* Leaves and ops with OPF_NODIFF: no gradient (autograd never asks). */
void dg__bw_none(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	(void)g;
	(void)id;
	(void)gy;
	(void)gin;
}

#define NODE(id) (&g->nodes[(id)])
#define T(id) ((dg_tensor){(id)})
static uint32_t add(struct dg_graph *g, uint32_t a, uint32_t b) { return dg__op2(g, OP_ADD, a, b); }
static uint32_t sub(struct dg_graph *g, uint32_t a, uint32_t b) { return dg__op2(g, OP_SUB, a, b); }
static uint32_t mul(struct dg_graph *g, uint32_t a, uint32_t b) { return dg__op2(g, OP_MUL, a, b); }
static uint32_t dv(struct dg_graph *g, uint32_t a, uint32_t b) { return dg__op2(g, OP_DIV, a, b); }
static uint32_t aff(struct dg_graph *g, uint32_t x, float a, float b) { return dg__op1(g, OP_AFFINE, x, a, b); }
static uint32_t un(struct dg_graph *g, enum dg_op op, uint32_t x) { return dg__op1(g, op, x, 0, 0); }
static uint32_t sum_like(struct dg_graph *g, uint32_t x, uint32_t like)
{
	if (g->status)
		return 0;
	return dg__sum_to(g, x, NODE(like)->rank, NODE(like)->dims);
}

void dg__bw_affine(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = aff(g, gy, NODE(id)->fa[0], 0);
}
void dg__bw_exp(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, id);
}
void dg__bw_log(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = dv(g, gy, NODE(id)->in[0]);
}
void dg__bw_sqrt(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = dv(g, aff(g, gy, 0.5f, 0), id);
}
void dg__bw_rsqrt(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	/* d x^-1/2 = -x^-3/2 / 2 = -(y / x) / 2 */
	gin[0] = mul(g, gy, aff(g, dv(g, id, NODE(id)->in[0]), -0.5f, 0));
}
void dg__bw_recip(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	/* d x^-1 = -x^-2 = -y² */
	gin[0] = mul(g, gy, aff(g, mul(g, id, id), -1, 0));
}
void dg__bw_abs(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, un(g, OP_SIGN, NODE(id)->in[0]));
}
/* The masks of relu, leaky relu (slope > 0) and elu (alpha > 0) are taken
 * from the output, which has the sign of the input: then the input is not
 * needed by the backward pass, and the executor may fuse the activation
 * into the matmul that produces it. */
void dg__bw_relu(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, un(g, OP_STEP, id));
}
void dg__bw_leaky(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	float a = NODE(id)->fa[0];
	uint32_t from = a > 0 ? id : NODE(id)->in[0];
	gin[0] = mul(g, gy, aff(g, un(g, OP_STEP, from), 1 - a, a));
}
void dg__bw_elu(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	/* y' = 1 for x > 0, else alpha·e^x = y + alpha */
	float a = NODE(id)->fa[0];
	uint32_t s = un(g, OP_STEP, a > 0 ? id : NODE(id)->in[0]);
	uint32_t d = add(g, s, mul(g, aff(g, s, -1, 1), aff(g, id, 1, a)));
	gin[0] = mul(g, gy, d);
}
void dg__bw_tanh(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, aff(g, mul(g, id, id), -1, 1));
}
void dg__bw_sigmoid(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, mul(g, id, aff(g, id, -1, 1)));
}
/* The gate: its own backward op.  That op's backward, for gradients of
 * gradients, written out: with t = tanh(a), s = σ(b), t' = 1 - t²,
 * s' = s(1 - s), gate_bwd gives (dy·s·t', dy·t·s'); given their
 * gradients (ga, gb), dy gets ga·s·t' + gb·t·s', a gets
 * dy·t'·(gb·s' - 2·ga·s·t) and b gets dy·s'·(ga·t' + gb·t·(1 - 2s)). */
void dg__bw_gate(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	uint32_t in[2] = {NODE(id)->in[0], gy};
	int64_t ax = NODE(id)->ia[0];
	gin[0] = dg__op(g, OP_GATE_BWD, 2, in, &ax, 1, NULL, 0);
}
void dg__bw_gate_bwd(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	int ax = (int)n->ia[0];
	uint64_t k = n->dims[ax] / 2;
	dg_tensor x = {n->in[0]}, dy = {n->in[1]}, G = {gy};
	dg_tensor t = dg_tanh(g, dg_slice(g, x, ax, 0, k));
	dg_tensor s = dg_sigmoid(g, dg_slice(g, x, ax, k, k));
	dg_tensor ga = dg_slice(g, G, ax, 0, k), gb = dg_slice(g, G, ax, k, k);
	dg_tensor t1 = T(aff(g, mul(g, t.id, t.id), -1, 1));          /* t' */
	dg_tensor s1 = T(mul(g, s.id, aff(g, s.id, -1, 1)));         /* s' */
	gin[1] = add(g, mul(g, ga.id, mul(g, s.id, t1.id)), mul(g, gb.id, mul(g, t.id, s1.id)));
	uint32_t da = mul(g, mul(g, dy.id, t1.id),
			  sub(g, mul(g, gb.id, s1.id), aff(g, mul(g, ga.id, mul(g, s.id, t.id)), 2, 0)));
	uint32_t db = mul(g, mul(g, dy.id, s1.id),
			  add(g, mul(g, ga.id, t1.id),
			      mul(g, gb.id, mul(g, t.id, aff(g, s.id, -2, 1)))));
	gin[0] = dg_concat(g, T(da), T(db), ax).id;
}
void dg__bw_softplus(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, un(g, OP_SIGMOID, NODE(id)->in[0]));
}
void dg__bw_clamp(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	gin[0] = mul(g, gy, dg__op1(g, OP_INRANGE, n->in[0], n->fa[0], n->fa[1]));
}
void dg__bw_pows(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	float p = NODE(id)->fa[0];
	uint32_t d = p == 1 ? 0 : aff(g, dg__op1(g, OP_POWS, NODE(id)->in[0], p - 1, 0), p, 0);
	gin[0] = d ? mul(g, gy, d) : gy;
}
void dg__bw_add(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = sum_like(g, gy, NODE(id)->in[0]);
	gin[1] = sum_like(g, gy, NODE(id)->in[1]);
}
void dg__bw_sub(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = sum_like(g, gy, NODE(id)->in[0]);
	gin[1] = sum_like(g, aff(g, gy, -1, 0), NODE(id)->in[1]);
}
void dg__bw_mul(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	uint32_t a = NODE(id)->in[0], b = NODE(id)->in[1];
	gin[0] = sum_like(g, mul(g, gy, b), a);
	gin[1] = a == b ? 0 : sum_like(g, mul(g, gy, a), b);
	if (a == b)
		gin[0] = aff(g, gin[0], 2, 0);
}
void dg__bw_div(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	uint32_t a = NODE(id)->in[0], b = NODE(id)->in[1];
	gin[0] = sum_like(g, dv(g, gy, b), a);
	/* d(a/b)/db = -y/b */
	gin[1] = sum_like(g, aff(g, dv(g, mul(g, gy, id), b), -1, 0), b);
}
void dg__bw_maxmin(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	uint32_t a = NODE(id)->in[0], b = NODE(id)->in[1];
	int mx = NODE(id)->op == OP_MAX;
	/* Ties go to a. */
	uint32_t ma = mx ? dg__op2(g, OP_GE, a, b) : dg__op2(g, OP_GE, b, a);
	gin[0] = sum_like(g, mul(g, gy, ma), a);
	gin[1] = sum_like(g, mul(g, gy, aff(g, ma, -1, 1)), b);
}
void dg__bw_where(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	uint32_t c = NODE(id)->in[0], a = NODE(id)->in[1], b = NODE(id)->in[2];
	uint32_t z = dg_scalar(g, 0).id;
	uint32_t in[3] = {c, gy, z};
	gin[1] = sum_like(g, dg__op(g, OP_WHERE, 3, in, NULL, 0, NULL, 0), a);
	in[1] = z;
	in[2] = gy;
	gin[2] = sum_like(g, dg__op(g, OP_WHERE, 3, in, NULL, 0, NULL, 0), b);
}
void dg__bw_sum_to(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *x = NODE(NODE(id)->in[0]);
	gin[0] = dg__expand(g, gy, x->rank, x->dims);
}
void dg__bw_expand(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *x = NODE(NODE(id)->in[0]);
	gin[0] = dg__sum_to(g, gy, x->rank, x->dims);
}
void dg__bw_max_to(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	/* Every element equal to the maximum receives the gradient. */
	uint32_t xid = NODE(id)->in[0];
	unsigned r = NODE(xid)->rank;
	uint64_t d[DG_MAX_RANK];
	memcpy(d, NODE(xid)->dims, sizeof d);
	uint32_t m = dg__op2(g, OP_EQ, xid, dg__expand(g, id, r, d));
	gin[0] = mul(g, dg__expand(g, gy, r, d), m);
}
void dg__bw_matmul(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	uint32_t a = n->in[0], b = n->in[1];
	int ta = (int)n->ia[0], tb = (int)n->ia[1];

	if (ta)
		gin[0] = tb ? dg__matmul(g, b, gy, 1, 1) : dg__matmul(g, b, gy, 0, 1);
	else
		gin[0] = dg__matmul(g, gy, b, 0, !tb);
	if (NODE(a)->rank == 3 && NODE(b)->rank == 2) {
		/* A shared b: fold the batch into the rows (ta is 0 here). */
		const struct dg_node *an = NODE(a), *yn = NODE(id);
		uint64_t ad[2] = {an->dims[0] * an->dims[1], an->dims[2]};
		uint64_t yd[2] = {yn->dims[0] * yn->dims[1], yn->dims[2]};
		uint32_t a2 = dg__reshape(g, a, 2, ad), g2 = dg__reshape(g, gy, 2, yd);
		gin[1] = tb ? dg__matmul(g, g2, a2, 1, 0) : dg__matmul(g, a2, g2, 1, 0);
		return;
	}
	if (tb)
		gin[1] = ta ? dg__matmul(g, gy, a, 1, 1) : dg__matmul(g, gy, a, 1, 0);
	else
		gin[1] = dg__matmul(g, a, gy, !ta, 0);
}
void dg__bw_reshape(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *x = NODE(NODE(id)->in[0]);
	gin[0] = dg__reshape(g, gy, x->rank, x->dims);
}
void dg__bw_permute(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	int64_t inv[2 * DG_MAX_RANK] = {0};
	for (unsigned i = 0; i < n->rank; i++)
		inv[n->ia[i]] = i;
	gin[0] = dg__op(g, OP_PERMUTE, 1, &gy, inv, DG_MAX_RANK, NULL, 0);
}
void dg__bw_slice(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id), *x = NODE(n->in[0]);
	int64_t ia[2 * DG_MAX_RANK] = {0};
	for (unsigned i = 0; i < n->rank; i++) {
		ia[i] = n->ia[i];
		ia[DG_MAX_RANK + i] = (int64_t)(x->dims[i] - n->dims[i]) - n->ia[i];
	}
	gin[0] = dg__op(g, OP_PAD, 1, &gy, ia, 2 * DG_MAX_RANK, NULL, 0);
}
void dg__bw_pad(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id), *x = NODE(n->in[0]);
	int64_t ia[2 * DG_MAX_RANK] = {0};
	for (unsigned i = 0; i < n->rank; i++) {
		ia[i] = n->ia[i];
		ia[DG_MAX_RANK + i] = (int64_t)x->dims[i];
	}
	gin[0] = dg__op(g, OP_SLICE, 1, &gy, ia, 2 * DG_MAX_RANK, NULL, 0);
}
void dg__bw_resample(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = dg__resample_adjoint(g, id, gy);
}
/* x summed over softmax node id's axis, kept as 1. */
static uint32_t sum_axis(struct dg_graph *g, uint32_t id, uint32_t x)
{
	const struct dg_node *n = NODE(x);
	uint64_t d[DG_MAX_RANK];
	if (g->status)
		return 0;
	memcpy(d, n->dims, sizeof d);
	d[n->rank - 1 - NODE(id)->ia[0]] = 1;
	return dg__sum_to(g, x, n->rank, d);
}
void dg__bw_softmax(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, id, sub(g, gy, sum_axis(g, id, mul(g, gy, id))));
}
void dg__bw_log_softmax(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = sub(g, gy, mul(g, un(g, OP_EXP, id), sum_axis(g, id, gy)));
}
void dg__bw_conv(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	uint32_t a = n->in[0], b = n->in[1];
	const struct dg_node *an = NODE(a), *bn = NODE(b);
	int64_t ca[DG_CA_SHAPE];   /* a copy: new nodes may move n */
	uint64_t ad[4], bd[4];
	memcpy(ca, n->ia, sizeof ca);
	memcpy(ad, an->dims, sizeof ad);
	memcpy(bd, bn->dims, sizeof bd);
	switch (n->op) {
	case OP_CONV:           /* y = conv(x, w) */
		gin[0] = dg__conv(g, OP_CONV_BWD_DATA, gy, b, ca, 4, ad);
		gin[1] = dg__conv(g, OP_CONV_BWD_FILTER, a, gy, ca, 4, bd);
		break;
	case OP_CONV_BWD_DATA:  /* y = D(dy, w), bilinear: <D(dy,w), h> = <dy, conv(h,w)> */
		gin[0] = dg__conv(g, OP_CONV, gy, b, ca, 0, NULL);
		gin[1] = dg__conv(g, OP_CONV_BWD_FILTER, gy, a, ca, 4, bd);
		break;
	default:                /* y = F(x, dy): <F(x,dy), h> = <dy, conv(x,h)> */
		gin[0] = dg__conv(g, OP_CONV_BWD_DATA, b, gy, ca, 4, ad);
		gin[1] = dg__conv(g, OP_CONV, a, gy, ca, 0, NULL);
		break;
	}
}
void dg__bw_gather(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	int64_t v = (int64_t)NODE(n->in[0])->dims[0];
	uint32_t in[2] = {gy, n->in[1]};
	gin[0] = dg__op(g, OP_SCATTER_ADD, 2, in, &v, 1, NULL, 0);
}
void dg__bw_pick(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	int64_t k = (int64_t)NODE(n->in[0])->dims[NODE(n->in[0])->rank - 1];
	uint32_t in[2] = {gy, n->in[1]};
	gin[0] = dg__op(g, OP_PLACE, 2, in, &k, 1, NULL, 0);
}
void dg__bw_place(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	uint32_t in[2] = {gy, n->in[1]};
	gin[0] = dg__op(g, OP_PICK, 2, in, NULL, 0, NULL, 0);
}
void dg__bw_scatter(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	uint32_t in[2] = {gy, n->in[1]};
	gin[0] = dg__op(g, OP_GATHER, 2, in, NULL, 0, NULL, 0);
}
/* The general convolutions, as dg__bw_conv with the attributes kept. */
void dg__bw_conv_nd(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	uint32_t a = n->in[0], b = n->in[1];
	int64_t ia[DG_CIA_SHAPE];
	uint64_t ad[DG_MAX_RANK], bd[DG_MAX_RANK];
	unsigned r = n->rank;
	memcpy(ia, n->ia, sizeof ia);
	memcpy(ad, NODE(a)->dims, sizeof ad);
	memcpy(bd, NODE(b)->dims, sizeof bd);
	switch (n->op) {
	case OP_CONV_ND:            /* y = conv(x, w) */
		gin[0] = dg__conv_nd(g, OP_CONV_ND_BWD_DATA, gy, b, ia, r, ad);
		gin[1] = dg__conv_nd(g, OP_CONV_ND_BWD_FILTER, a, gy, ia, r, bd);
		break;
	case OP_CONV_ND_BWD_DATA:   /* y = D(dy, w) */
		gin[0] = dg__conv_nd(g, OP_CONV_ND, gy, b, ia, 0, NULL);
		gin[1] = dg__conv_nd(g, OP_CONV_ND_BWD_FILTER, gy, a, ia, r, bd);
		break;
	default:                    /* y = F(x, dy) */
		gin[0] = dg__conv_nd(g, OP_CONV_ND_BWD_DATA, b, gy, ia, r, ad);
		gin[1] = dg__conv_nd(g, OP_CONV_ND, a, gy, ia, 0, NULL);
		break;
	}
}
/* Pooling: max_pool's gradient goes to each window's first maximum
 * (max_pool_bwd), which is linear in dy with max_pool_pick as its
 * adjoint, and constant in x almost everywhere (no gradient); average
 * pooling and its backward are each other's adjoints. */
static uint32_t pool_op(struct dg_graph *g, enum dg_op op, uint32_t id, uint32_t a, uint32_t b,
			uint32_t shape_of)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	uint32_t in[2] = {a, b};
	memcpy(ia, NODE(id)->ia, DG_PIA_SHAPE * sizeof *ia);
	if (shape_of)
		dg__pack_shape(ia + DG_PIA_SHAPE, NODE(shape_of)->rank, NODE(shape_of)->dims);
	return dg__op(g, op, b ? 2 : 1, in, ia, 2 * DG_MAX_RANK, NULL, 0);
}
void dg__bw_max_pool(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = pool_op(g, OP_MAX_POOL_BWD, id, NODE(id)->in[0], gy, 0);
}
void dg__bw_max_pool_bwd(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[1] = pool_op(g, OP_MAX_POOL_PICK, id, NODE(id)->in[0], gy, 0);
}
void dg__bw_max_pool_pick(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[1] = pool_op(g, OP_MAX_POOL_BWD, id, NODE(id)->in[0], gy, 0);
}
void dg__bw_avg_pool(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	if (NODE(id)->op == OP_AVG_POOL)
		gin[0] = pool_op(g, OP_AVG_POOL_BWD, id, gy, 0, NODE(id)->in[0]);
	else
		gin[0] = pool_op(g, OP_AVG_POOL, id, gy, 0, 0);
}
