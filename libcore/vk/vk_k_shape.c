/* vk/vk_k_shape.c — data movement on vulkan: permute, slice and pad
 * (graph_shape.comp), Gated PixelCNN's gate (graph_gate.comp), and the
 * index ops gather, scatter-add, one-hot,
 * pick and place (graph_index.comp).  Shapes as the cpu's k_shape.c:
 * gather (V×D table, S indices) -> S×D; scatter-add (S×D, S) -> V×D;
 * one-hot (S) -> S×K; pick (S×K, S) -> S; place (S, S) -> S×K. */
#include "vk/vk_kernels.h"

struct shape_push {
	uint32_t n, rank, offx, offy, value, xcount, pad0, pad1;
	uint32_t dims[8], st[8], sh[8];
};

int dg_vkk_shape(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_node *x = &c->in_node[0], *y = &c->n;
	struct shape_push pc = {0};
	uint64_t xs[DG_MAX_RANK], acc = 1, base = 0;
	uint32_t mode = dg_vkk_codes[y->op], gx, gy;

	if (!y->count)
		return DG_OK;
	for (int k = (int)x->rank - 1; k >= 0; k--) {
		xs[k] = acc;
		acc *= x->dims[k];
	}
	pc.n = (uint32_t)y->count;
	pc.rank = y->rank;
	pc.xcount = (uint32_t)x->count;
	pc.value = dg_vkk_f2u(y->fa[0]);
	for (unsigned k = 0; k < y->rank; k++) {
		pc.dims[k] = (uint32_t)y->dims[k];
		switch (y->op) {
		case OP_PERMUTE:
			pc.st[k] = (uint32_t)xs[y->ia[k]];
			break;
		case OP_SLICE:
			pc.st[k] = (uint32_t)xs[k];
			base += (uint64_t)y->ia[k] * xs[k];
			break;
		default:
			pc.st[k] = (uint32_t)xs[k];
			pc.sh[k] = (uint32_t)y->ia[k];
		}
	}
	pc.offx = dg_vkk_elems(c->in[0]) + (uint32_t)base;
	pc.offy = dg_vkk_elems(c->out);
	const struct dg_vk_buffer *binds[2] = {c->in[0].buf, c->out.buf};
	dg_vkk_grid(y->count, &gx, &gy);
	return dg_vkk_record(vk, p, "graph_shape", binds, 2, &pc, sizeof pc, &mode, 1, gx, gy);
}

/* Gated PixelCNN's gate (graph_gate.comp): x as [outer][2][m], one
 * invocation per element of y (forward) or of dy (backward, writing both
 * halves of dx). */
struct gate_push {
	uint32_t n, m, offx, offd, offy;
};

int dg_vkk_gate(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_node *x = &c->in_node[0];
	unsigned ax = (unsigned)c->n.ia[0];
	struct gate_push pc = {0};
	uint32_t mode = dg_vkk_codes[c->n.op], gx, gy;
	uint64_t m = x->dims[ax] / 2;

	for (unsigned i = ax + 1; i < x->rank; i++)
		m *= x->dims[i];
	if (!x->count)
		return DG_OK;
	pc.n = (uint32_t)(x->count / 2);
	pc.m = (uint32_t)m;
	pc.offx = dg_vkk_elems(c->in[0]);
	pc.offd = c->n.op == OP_GATE_BWD ? dg_vkk_elems(c->in[1]) : 0;
	pc.offy = dg_vkk_elems(c->out);
	const struct dg_vk_buffer *binds[3] = {c->in[0].buf,
		c->n.op == OP_GATE_BWD ? c->in[1].buf : c->in[0].buf, c->out.buf};
	dg_vkk_grid(pc.n, &gx, &gy);
	return dg_vkk_record(vk, p, "graph_gate", binds, 3, &pc, sizeof pc, &mode, 1, gx, gy);
}

struct index_push {
	uint32_t n, offx, offi, offy, d, v, s, call;
};

int dg_vkk_index(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_node *y = &c->n;
	int op = y->op;
	unsigned ii = op == OP_ONE_HOT ? 0 : 1;      /* which input holds the indices */
	const struct dg_node *xi = &c->in_node[ii];
	struct index_push pc = {0};
	uint32_t spec[2] = {dg_vkk_codes[op], xi->dtype == DG_I32}, gx, gy;
	uint64_t n = y->count;

	if (!y->count)
		return DG_OK;
	pc.offx = dg_vkk_elems(c->in[0]);
	pc.offi = dg_vkk_elems(c->in[ii]);
	pc.offy = dg_vkk_elems(c->out);
	pc.s = (uint32_t)xi->count;
	pc.call = p->call;
	switch (op) {
	case OP_GATHER:
		pc.d = (uint32_t)c->in_node[0].dims[1];
		pc.v = (uint32_t)c->in_node[0].dims[0];
		break;
	case OP_SCATTER_ADD:
		pc.d = (uint32_t)y->dims[1];
		pc.v = (uint32_t)y->dims[0];
		/* Each output reads all S indices (V·D·S); past a few dozen rows,
		 * one invocation per column does S·D instead. */
		if (pc.v > 32) {
			spec[0] = DG_INDEX_SCATTER_COLS;
			n = pc.d;
		}
		break;
	case OP_ONE_HOT:
	case OP_PLACE:
		pc.d = pc.v = (uint32_t)y->ia[0];
		break;
	default:   /* OP_PICK */
		pc.d = pc.v = (uint32_t)c->in_node[0].dims[c->in_node[0].rank - 1];
		break;
	}
	pc.n = (uint32_t)n;
	const struct dg_vk_buffer *binds[4] = {c->in[0].buf, c->in[ii].buf, c->out.buf, &p->params};
	dg_vkk_grid(n, &gx, &gy);
	return dg_vkk_record(vk, p, "graph_index", binds, 4, &pc, sizeof pc, spec, 2, gx, gy);
}
