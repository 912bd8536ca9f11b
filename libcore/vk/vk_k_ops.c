/* vk/vk_k_ops.c — the vulkan backend's op table, generated from the op
 * list (which recorder records each op, and the shader code it passes),
 * the limits the recorders share, and the helper that binds and
 * dispatches one pipeline. */
#include "vk/vk_kernels.h"

const dg_vkk_fn dg_vkk_recorders[OP_COUNT] = {
#define DG_OP(id, name, nin, flags, infer, backward, cpu, vk, code) [OP_##id] = dg_vkk_##vk,
#include "graph/op_list.h"
#undef DG_OP
};
_Static_assert(sizeof dg_vkk_recorders / sizeof *dg_vkk_recorders == OP_COUNT,
	       "one vulkan recorder per op");

const uint32_t dg_vkk_codes[OP_COUNT] = {
#define DG_OP(id, name, nin, flags, infer, backward, cpu, vk, code) [OP_##id] = code,
#include "graph/op_list.h"
#undef DG_OP
};

/* The fused epilogue's activation codes are the public enum's. */
_Static_assert(DG_EPI_NONE == DG_ACT_NONE && DG_EPI_RELU == DG_ACT_RELU &&
	       DG_EPI_LEAKY_RELU == DG_ACT_LEAKY_RELU && DG_EPI_ELU == DG_ACT_ELU &&
	       DG_EPI_TANH == DG_ACT_TANH && DG_EPI_SIGMOID == DG_ACT_SIGMOID &&
	       DG_EPI_SOFTPLUS == DG_ACT_SOFTPLUS, "kernel_codes.h: DG_EPI_* == enum dg_act");

/* The recorder of ops that are no call (leaves, reshape): never reached,
 * dg_vkk_supports refuses them. */
int dg_vkk_none(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	(void)vk;
	(void)p;
	return dg_error(DG_EINTERNAL, "vulkan backend: %s is not a kernel call",
			dg_opdefs[c->n.op].name);
}

int dg_vkk_record(struct dg_vk *vk, struct vkprog *p, const char *shader,
		  const struct dg_vk_buffer *const *binds, uint32_t nb, const void *push,
		  uint32_t push_size, const uint32_t *spec, uint32_t nspec, uint32_t gx, uint32_t gy)
{
	const struct dg_vk_pipeline *pl;
	struct dg_vk_bind b[DG_VK_MAX_BINDINGS];
	VkDescriptorSet set;
	int st;

	if ((st = dg_vk_pipeline_get(vk, shader, nb, push_size, spec, nspec, &pl)))
		return st;
	for (uint32_t i = 0; i < nb; i++)
		b[i] = (struct dg_vk_bind){binds[i], 0, 0};
	if ((st = dg_vk_descs_alloc(p->descs, pl, b, &set)))
		return st;
	dg_vk_cmd_dispatch(p->cmd, pl, set, push, gx, gy, 1);
	return DG_OK;
}

/* Shaders index with 32-bit integers; every input's type must be one
 * the op's family reads. */
int dg_vkk_supports(const struct dg_kcall *c)
{
	int op = c->n.op;

	if (op >= OP_COUNT || dg_vkk_recorders[op] == dg_vkk_none)
		return dg_error(DG_ENODEV, "vulkan backend has no kernel for %s (use --device cpu)",
				op < OP_COUNT ? dg_opdefs[op].name : "an unknown op");
	int side = (dg_opdefs[op].flags & OPF_SIDE) != 0;
	uint64_t n = side ? c->in_node[0].count : c->n.count;

	if (n >= (1ull << 31) || c->n.rank > DG_MAX_RANK)
		return dg_error(DG_ENODEV, "vulkan backend: %s of %llu elements is too large",
				dg_opdefs[op].name, (unsigned long long)n);
	for (unsigned k = 0; k < c->n.nin; k++) {
		int dt = c->in_node[k].dtype;
		int index_in = k == 1 && (op == OP_GATHER || op == OP_SCATTER_ADD || op == OP_PICK ||
					  op == OP_PLACE);
		index_in |= k == 0 && op == OP_ONE_HOT;
		if (c->in_node[k].count >= (1ull << 31))
			return dg_error(DG_ENODEV, "vulkan backend: %s input too large",
					dg_opdefs[op].name);
		if (dt == DG_F32 || ((index_in || op == OP_CAST) && dt == DG_I32) ||
		    (op == OP_CAST && dt == DG_U8))
			continue;
		return dg_error(DG_ENODEV, "vulkan backend: %s of %s input not supported",
				dg_opdefs[op].name, dg_dtype_name(dt));
	}
	if (c->act > DG_ACT_SOFTPLUS)
		return dg_error(DG_ENODEV, "vulkan backend: %s with epilogue %d not supported",
				dg_opdefs[op].name, c->act);
	return DG_OK;
}
