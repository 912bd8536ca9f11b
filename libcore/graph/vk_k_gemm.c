/* graph/vk_k_gemm.c — recorders for matmul and convolution on the vulkan
 * backend (graph_matmul.comp: one invocation per output element). */
#include "graph/vk_kernels.h"

int dg_vkk_gemm(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_vk_pipeline *pl;
	VkDescriptorSet set;
	int op = c->n.op, st;

	if (c->bias.buf && op != OP_MATMUL)
		return dg_error(DG_ENODEV, "vulkan backend: fused %s not implemented yet",
				dg_opdefs[op].name);
	if (op == OP_MATMUL) {
		const struct dg_node *a = &c->in_node[0], *b = &c->in_node[1];
		uint32_t push[12] = {0}, batch = a->rank == 3 ? (uint32_t)a->dims[0] : 1;
		uint32_t m = (uint32_t)c->n.dims[c->n.rank - 2], n = (uint32_t)c->n.dims[c->n.rank - 1];
		uint32_t k = (uint32_t)(c->n.ia[0] ? a->dims[a->rank - 2] : a->dims[a->rank - 1]);
		if (c->act > DG_ACT_SIGMOID)
			return dg_error(DG_ENODEV, "vulkan backend: fused activation %d not supported yet",
					c->act);
		push[0] = m;
		push[1] = n;
		push[2] = k;
		push[3] = (c->n.ia[0] ? 1u : 0) | (c->n.ia[1] ? 2u : 0) | (c->bias.buf ? 4u : 0) |
			  (uint32_t)c->act << 8;
		push[11] = dg_vkk_f2u(c->alpha);
		push[4] = dg_vkk_elems(c->in[0]);
		push[5] = dg_vkk_elems(c->in[1]);
		push[6] = c->bias.buf ? dg_vkk_elems(c->bias) : 0;
		push[7] = dg_vkk_elems(c->out);
		push[8] = m * k;
		push[9] = b->rank == 3 ? k * n : 0;
		push[10] = m * n;
		if ((st = dg_vk_pipeline_get(vk, "graph_matmul", 4, sizeof push, NULL, 0, &pl)))
			return st;
		struct dg_vk_bind binds[4] = {{c->in[0].buf, 0, 0}, {c->in[1].buf, 0, 0},
					      {c->bias.buf ? c->bias.buf : c->out.buf, 0, 0},
					      {c->out.buf, 0, 0}};
		if ((st = dg_vk_descs_alloc(p->descs, pl, binds, &set)))
			return st;
		dg_vk_cmd_dispatch(p->cmd, pl, set, push, (n + 7) / 8, (m + 7) / 8, batch);
		return DG_OK;
	}
	return dg_error(DG_ENODEV, "vulkan backend: %s is not implemented yet (use --device cpu)",
			dg_opdefs[op].name);
}
