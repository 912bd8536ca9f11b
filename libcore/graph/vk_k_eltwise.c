/* graph/vk_k_eltwise.c — elementwise calls on vulkan (graph_eltwise.comp):
 * unary ops, casts of f32/u8/i32, broadcasting binary ops, where, expand.
 * Output shape: the call's; inputs right-aligned and broadcast (NumPy).
 * Axes of size 1 are dropped and neighbours broadcast alike are merged,
 * so the shader decodes few coordinates. */
#include "graph/vk_kernels.h"

/* Shader codes; -1: not elementwise. */
static int code(int op)
{
	switch (op) {
	case OP_STOPGRAD: case OP_EXPAND: return 0;
	case OP_AFFINE: return 1;
	case OP_EXP: return 2;
	case OP_LOG: return 3;
	case OP_SQRT: return 4;
	case OP_RSQRT: return 5;
	case OP_ABS: return 6;
	case OP_SIGN: return 7;
	case OP_RELU: return 8;
	case OP_LEAKY: return 9;
	case OP_ELU: return 10;
	case OP_TANH: return 11;
	case OP_SIGMOID: return 12;
	case OP_SOFTPLUS: return 13;
	case OP_CLAMP: return 14;
	case OP_INRANGE: return 15;
	case OP_STEP: return 16;
	case OP_POWS: return 17;
	case OP_CAST: return 18;
	case OP_ADD: return 20;
	case OP_SUB: return 21;
	case OP_MUL: return 22;
	case OP_DIV: return 23;
	case OP_MAX: return 24;
	case OP_MIN: return 25;
	case OP_GT: return 26;
	case OP_GE: return 27;
	case OP_EQ: return 28;
	case OP_WHERE: return 29;
	}
	return -1;
}

struct push {
	uint32_t n, rank, off[3], offy;
	uint32_t p, q;
	uint32_t mask[3], pad;
	uint32_t dims[8];
};

int dg_vkk_eltwise(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_node *y = &c->n;
	unsigned nin = y->nin;
	struct push pc = {0};
	uint32_t spec[4] = {(uint32_t)code(y->op), 0, 0, 0};
	unsigned bits[DG_MAX_RANK];   /* per kept axis: which inputs broadcast */
	uint64_t dims[DG_MAX_RANK];
	unsigned r = 0;

	if (!y->count)
		return DG_OK;
	for (unsigned k = 0; k < y->rank; k++) {
		unsigned b = 0;
		if (y->dims[k] == 1)
			continue;
		for (unsigned j = 0; j < nin; j++) {
			const struct dg_node *x = &c->in_node[j];
			unsigned off = y->rank - x->rank;
			if (k < off || x->dims[k - off] == 1)
				b |= 1u << j;
		}
		if (r && bits[r - 1] == b) {
			dims[r - 1] *= y->dims[k];
		} else {
			bits[r] = b;
			dims[r++] = y->dims[k];
		}
	}
	pc.n = (uint32_t)y->count;
	pc.rank = r;
	for (unsigned k = 0; k < r; k++) {
		pc.dims[k] = (uint32_t)dims[k];
		for (unsigned j = 0; j < nin; j++)
			if (bits[k] >> j & 1)
				pc.mask[j] |= 1u << k;
	}
	for (unsigned j = 0; j < nin; j++) {
		unsigned all = r ? (1u << r) - 1 : 0;
		if (pc.mask[j] && pc.mask[j] != all)
			spec[2] = 1;                    /* broadcast along some axes only */
		if (!r)
			pc.mask[j] = 0;
	}
	const struct dg_node *x0 = &c->in_node[0];
	spec[1] = x0->dtype == DG_U8 ? 1 : x0->dtype == DG_I32 ? 2 : 0;
	const struct dg_vk_buffer *binds[4];
	for (unsigned j = 0; j < 3; j++) {
		unsigned s = j < nin ? j : 0;
		binds[j] = c->in[s].buf;
		pc.off[j] = j == 0 && spec[1] == 1 ? (uint32_t)c->in[0].off : dg_vkk_elems(c->in[s]);
		if (j >= nin)
			pc.mask[j] = pc.mask[0];
	}
	binds[3] = c->out.buf;
	pc.offy = dg_vkk_elems(c->out);
	pc.p = dg_vkk_f2u(y->fa[0]);
	pc.q = dg_vkk_f2u(y->fa[1]);
	/* Four outputs per invocation: f32 inputs each of the output's shape
	 * or one element, counts and offsets multiples of 4. */
	int vec = !spec[1] && !spec[2] && y->count % 4 == 0 && pc.offy % 4 == 0;
	for (unsigned j = 0; j < 3; j++)
		vec = vec && (pc.mask[j] || pc.off[j] % 4 == 0) &&
		      (j >= nin || c->in_node[j].dtype == DG_F32);
	spec[3] = (uint32_t)vec;
	uint32_t gx, gy;
	dg_vkk_grid(vec ? y->count / 4 : y->count, &gx, &gy);
	return dg_vkk_record(vk, p, "graph_eltwise", binds, 4, &pc, sizeof pc, spec, 4, gx, gy);
}
