/* graph/vk_k_ops.c — the vulkan backend's ops other than matmul and
 * convolution: which family records each op, the limits they share, and
 * the helper that binds and dispatches one pipeline. */
#include "graph/vk_kernels.h"

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
static int check(const struct dg_kcall *c)
{
	int op = c->n.op;
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
	return DG_OK;
}

int dg_vkk_ops(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	int st;

	if ((st = check(c)))
		return st;
	switch (c->n.op) {
	case OP_AFFINE: case OP_EXP: case OP_LOG: case OP_SQRT: case OP_RSQRT: case OP_ABS:
	case OP_SIGN: case OP_RELU: case OP_LEAKY: case OP_ELU: case OP_TANH: case OP_SIGMOID:
	case OP_SOFTPLUS: case OP_CLAMP: case OP_INRANGE: case OP_STEP: case OP_POWS:
	case OP_STOPGRAD: case OP_CAST: case OP_EXPAND:
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MAX: case OP_MIN:
	case OP_GT: case OP_GE: case OP_EQ: case OP_WHERE:
		return dg_vkk_eltwise(vk, p, c);
	case OP_SUM_TO: case OP_MAX_TO: case OP_SOFTMAX: case OP_LOG_SOFTMAX: case OP_ARGMAX:
		return dg_vkk_reduce(vk, p, c);
	case OP_PERMUTE: case OP_SLICE: case OP_PAD:
		return dg_vkk_shape(vk, p, c);
	case OP_GATHER: case OP_SCATTER_ADD: case OP_ONE_HOT: case OP_PICK: case OP_PLACE:
		return dg_vkk_index(vk, p, c);
	case OP_RNG_UNIFORM: case OP_RNG_NORMAL:
		return dg_vkk_rng(vk, p, c);
	case OP_UPD_SGD: case OP_UPD_ADAM:
	case OP_UPD_RMSPROP: case OP_ASSIGN: case OP_EMA:
		return dg_vkk_optim(vk, p, c);
	}
	/* Leaves (inputs, variables, constants, fills) and reshapes are no
	 * calls; anything else is a new op without a shader yet. */
	return dg_error(DG_ENODEV, "vulkan backend: no kernel for %s (use --device cpu)",
			dg_opdefs[c->n.op].name);
}
