/* graph/vk_k_ops.c — recorders for the vulkan backend's ops other than
 * matmul and convolution: elementwise (graph_eltwise.comp) and
 * reductions (graph_reduce.comp). */
#include "graph/vk_kernels.h"

/* Shader codes of graph_eltwise.comp; -1: not an elementwise op. */
static int elt_code(int op)
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
	case OP_ADD: return 20;
	case OP_SUB: return 21;
	case OP_MUL: return 22;
	case OP_DIV: return 23;
	case OP_MAX: return 24;
	case OP_MIN: return 25;
	case OP_GT: return 26;
	case OP_GE: return 27;
	case OP_EQ: return 28;
	}
	return -1;
}

/* Per-output-axis strides of an input broadcast to the output shape. */
static void bstrides(const struct dg_node *out, const struct dg_node *in, uint32_t *s)
{
	unsigned off = out->rank - in->rank;
	uint64_t acc = 1;
	for (int k = (int)out->rank - 1; k >= 0; k--) {
		uint64_t d = k < (int)off ? 1 : in->dims[k - off];
		s[k] = d == 1 ? 0 : (uint32_t)acc;
		acc *= d;
	}
}

int dg_vkk_ops(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_vk_pipeline *pl;
	VkDescriptorSet set;
	int op = c->n.op, code = elt_code(op), st;

	for (unsigned k = 0; k < c->n.nin; k++)
		if (c->in_node[k].dtype != DG_F32)
			return dg_error(DG_ENODEV, "vulkan backend: %s of %s input not supported yet",
					dg_opdefs[op].name, dg_dtype_name(c->in_node[k].dtype));
	if (c->n.count >= (1ull << 32) || c->n.rank > 8)
		return dg_error(DG_ENODEV, "vulkan backend: tensor too large");
	if (code >= 0) {
		uint32_t push[32] = {0}, spec = (uint32_t)code;
		const struct dg_node *b = c->n.nin > 1 ? &c->in_node[1] : &c->in_node[0];
		struct dg_bref rb = c->n.nin > 1 ? c->in[1] : c->in[0];
		push[0] = (uint32_t)c->n.count;
		push[1] = c->n.rank;
		push[2] = dg_vkk_elems(c->in[0]);
		push[3] = dg_vkk_elems(rb);
		push[4] = dg_vkk_elems(c->out);
		push[5] = dg_vkk_f2u(c->n.fa[0]);
		push[6] = dg_vkk_f2u(c->n.fa[1]);
		for (unsigned k = 0; k < c->n.rank; k++)
			push[8 + k] = (uint32_t)c->n.dims[k];
		bstrides(&c->n, &c->in_node[0], push + 16);
		bstrides(&c->n, b, push + 24);
		if ((st = dg_vk_pipeline_get(vk, "graph_eltwise", 3, sizeof push, &spec, 1, &pl)))
			return st;
		struct dg_vk_bind binds[3] = {{c->in[0].buf, 0, 0}, {rb.buf, 0, 0}, {c->out.buf, 0, 0}};
		if ((st = dg_vk_descs_alloc(p->descs, pl, binds, &set)))
			return st;
		uint32_t groups = (uint32_t)((c->n.count + 63) / 64);
		uint32_t gx = groups < 65535 ? groups : 65535, gy = (groups + 65534) / 65535;
		dg_vk_cmd_dispatch(p->cmd, pl, set, push, gx, gy, 1);
		return DG_OK;
	}
	if (op == OP_SUM_TO || op == OP_MAX_TO) {
		uint32_t push[24] = {0}, spec = op == OP_MAX_TO;
		const struct dg_node *x = &c->in_node[0];
		push[0] = (uint32_t)c->n.count;
		push[1] = x->rank;
		push[2] = (uint32_t)(x->count / c->n.count);
		push[3] = dg_vkk_elems(c->in[0]);
		push[4] = dg_vkk_elems(c->out);
		for (unsigned k = 0; k < x->rank; k++) {
			push[8 + k] = (uint32_t)x->dims[k];
			push[16 + k] = (uint32_t)c->n.dims[k];
		}
		if ((st = dg_vk_pipeline_get(vk, "graph_reduce", 2, sizeof push, &spec, 1, &pl)))
			return st;
		struct dg_vk_bind binds[2] = {{c->in[0].buf, 0, 0}, {c->out.buf, 0, 0}};
		if ((st = dg_vk_descs_alloc(p->descs, pl, binds, &set)))
			return st;
		dg_vk_cmd_dispatch(p->cmd, pl, set, push, (uint32_t)((c->n.count + 63) / 64), 1, 1);
		return DG_OK;
	}
	return dg_error(DG_ENODEV, "vulkan backend: %s is not implemented yet (use --device cpu)",
			dg_opdefs[op].name);
}

