/* vk/vk_k_eltwise.c — elementwise calls on vulkan (graph_eltwise.comp):
 * unary ops, casts of f32/u8/i32, broadcasting binary ops, where, expand.
 * Output shape: the call's; inputs right-aligned and broadcast (NumPy).
 * Axes of size 1 are dropped and neighbours broadcast alike are merged,
 * so the shader decodes few coordinates. */
#include "vk/vk_kernels.h"

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
	uint32_t spec[3] = {dg_vkk_codes[y->op], 0, 0};
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
	uint32_t gx, gy;
	dg_vkk_grid(y->count, &gx, &gy);
	return dg_vkk_record(vk, p, "graph_eltwise", binds, 4, &pc, sizeof pc, spec, 3, gx, gy);
}
