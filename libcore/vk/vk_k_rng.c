/* vk/vk_k_rng.c — random draws on vulkan (graph_rng.comp): element i
 * of a call with stream n.ia[0] is word i % 4 of Philox block (plan seed,
 * stream, (run << 32) + i / 4), as on the cpu; the run comes from the
 * step's parameter words (DG_VKP_RUN), written before each submit. */
#include "vk/vk_kernels.h"

struct push {
	uint32_t seed[2], stream[2], n, offy;
};

int dg_vkk_rng(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	struct push pc;
	uint64_t stream = (uint64_t)c->n.ia[0];
	uint32_t mode = dg_vkk_codes[c->n.op], gx, gy;

	if (!c->n.count)
		return DG_OK;
	pc.seed[0] = (uint32_t)p->seed;
	pc.seed[1] = (uint32_t)(p->seed >> 32);
	pc.stream[0] = (uint32_t)stream;
	pc.stream[1] = (uint32_t)(stream >> 32);
	pc.n = (uint32_t)c->n.count;
	pc.offy = dg_vkk_elems(c->out);
	const struct dg_vk_buffer *binds[2] = {c->out.buf, &p->params};
	dg_vkk_grid((c->n.count + 3) / 4, &gx, &gy);
	return dg_vkk_record(vk, p, "graph_rng", binds, 2, &pc, sizeof pc, &mode, 1, gx, gy);
}
