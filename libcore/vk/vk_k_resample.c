/* vk/vk_k_resample.c — the resample op on vulkan (graph_resample.comp):
 * x as planes × H × W (its last two axes) -> planes × OH × OW through the
 * taps of the op's constant table (layout in graph/resample.c), as the
 * cpu's k_resample.c. */
#include "vk/vk_kernels.h"

struct push {
	uint32_t n, ih, iw, oh, ow, offx, offy, offt;
};

int dg_vkk_resample(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_node *x = &c->in_node[0], *y = &c->n;
	struct push pc;
	uint32_t gx, gy;

	if (!y->count)
		return DG_OK;
	pc.n = (uint32_t)y->count;
	pc.ih = (uint32_t)x->dims[x->rank - 2];
	pc.iw = (uint32_t)x->dims[x->rank - 1];
	pc.oh = (uint32_t)y->dims[y->rank - 2];
	pc.ow = (uint32_t)y->dims[y->rank - 1];
	pc.offx = dg_vkk_elems(c->in[0]);
	pc.offy = dg_vkk_elems(c->out);
	pc.offt = dg_vkk_elems(c->in[1]);
	const struct dg_vk_buffer *binds[3] = {c->in[0].buf, c->in[1].buf, c->out.buf};
	dg_vkk_grid(y->count, &gx, &gy);
	return dg_vkk_record(vk, p, "graph_resample", binds, 3, &pc, sizeof pc, NULL, 0, gx, gy);
}
