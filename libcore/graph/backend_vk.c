/* graph/backend_vk.c — a minimal vulkan backend proving the backend
 * interface: the compiled kernel list recorded once into one command
 * buffer (a barrier between calls), resubmitted each run.  It covers the
 * elementwise ops, sum/max reductions, expand and matmul (with a fused
 * bias and activation epilogue) — enough for matmul, add and relu forward and
 * backward.  Other ops are refused at compile time; issue 5 brings the
 * full op table and fast shaders. */
#include <stdlib.h>
#include <string.h>
#include "graph/backend.h"
#include "vk/vk.h"

struct vkdev {
	struct dg_vk *vk;
};

struct vkprog {
	struct dg_vk_cmd *cmd;
	struct dg_vk_descs *descs;
};

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

static int vk_open(const char *spec, void **dev)
{
	struct vkdev *d = calloc(1, sizeof *d);
	long index = 0;
	int st;

	if (!d)
		return dg_error_nomem("a vulkan device", sizeof *d);
	if (spec && !strncmp(spec, "vulkan:", 7)) {
		char *end;
		index = strtol(spec + 7, &end, 10);
		if (*end || index < 0) {
			free(d);
			return dg_error(DG_EUSAGE, "bad device name %s", spec);
		}
	}
	if ((st = dg_vk_open((int)index, 0, &d->vk))) {
		free(d);
		return st;
	}
	*dev = d;
	return DG_OK;
}

static void vk_close(void *dev)
{
	struct vkdev *d = dev;
	dg_vk_close(d->vk);
	free(d);
}

/* A one-off command (transfers for unmapped memory, fills). */
static int oneoff_copy(struct dg_vk *vk, const struct dg_vk_buffer *src, uint64_t soff,
		       const struct dg_vk_buffer *dst, uint64_t doff, uint64_t bytes)
{
	struct dg_vk_cmd *c;
	int st = dg_vk_cmd_create(vk, 0, &c);
	if (st)
		return st;
	if (!(st = dg_vk_cmd_begin(c))) {
		dg_vk_cmd_copy(c, src, soff, dst, doff, bytes);
		if (!(st = dg_vk_cmd_end(c)))
			st = dg_vk_cmd_run(c);
	}
	dg_vk_cmd_destroy(c);
	return st;
}

static int vk_write(void *dev, void *buf, uint64_t off, const void *src, uint64_t bytes)
{
	struct dg_vk *vk = ((struct vkdev *)dev)->vk;
	struct dg_vk_buffer *b = buf, stage;
	int st;

	if (!bytes)
		return DG_OK;
	if (b->map) {
		memcpy((char *)b->map + off, src, bytes);
		return dg_vk_buffer_flush(vk, b);
	}
	if ((st = dg_vk_buffer_create(vk, bytes, DG_VK_MEM_UPLOAD, &stage)))
		return st;
	memcpy(stage.map, src, bytes);
	if (!(st = dg_vk_buffer_flush(vk, &stage)))
		st = oneoff_copy(vk, &stage, 0, b, off, bytes);
	dg_vk_buffer_destroy(vk, &stage);
	return st;
}

static int vk_read(void *dev, void *buf, uint64_t off, void *dst, uint64_t bytes)
{
	struct dg_vk *vk = ((struct vkdev *)dev)->vk;
	struct dg_vk_buffer *b = buf, stage;
	int st;

	if (!bytes)
		return DG_OK;
	if (b->map) {
		if ((st = dg_vk_buffer_invalidate(vk, b)))
			return st;
		memcpy(dst, (const char *)b->map + off, bytes);
		return DG_OK;
	}
	if ((st = dg_vk_buffer_create(vk, bytes, DG_VK_MEM_READBACK, &stage)))
		return st;
	if (!(st = oneoff_copy(vk, b, off, &stage, 0, bytes)) &&
	    !(st = dg_vk_buffer_invalidate(vk, &stage)))
		memcpy(dst, stage.map, bytes);
	dg_vk_buffer_destroy(vk, &stage);
	return st;
}

static int vk_alloc(void *dev, uint64_t bytes, void **out)
{
	struct dg_vk *vk = ((struct vkdev *)dev)->vk;
	struct dg_vk_buffer *b = calloc(1, sizeof *b);
	int st;

	if (!b)
		return dg_error_nomem("a vulkan buffer", sizeof *b);
	bytes = (bytes + 15) & ~(uint64_t)15;
	if ((st = dg_vk_buffer_create(vk, bytes ? bytes : 16, DG_VK_MEM_DEVICE, b))) {
		free(b);
		return st;
	}
	/* Zeroed, as the interface promises. */
	void *zero = calloc(1, b->size);
	st = zero ? vk_write(dev, b, 0, zero, b->size) : dg_error_nomem("zeros", b->size);
	free(zero);
	if (st) {
		dg_vk_buffer_destroy(vk, b);
		free(b);
		return st;
	}
	*out = b;
	return DG_OK;
}

static void vk_release(void *dev, void *buf)
{
	dg_vk_buffer_destroy(((struct vkdev *)dev)->vk, buf);
	free(buf);
}

static void vk_unprepare(void *dev, void *prog)
{
	struct vkprog *p = prog;
	(void)dev;
	if (!p)
		return;
	dg_vk_cmd_destroy(p->cmd);
	dg_vk_descs_destroy(p->descs);
	free(p);
}

static uint32_t f2u(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static uint32_t elems(struct dg_bref r)
{
	return (uint32_t)(r.off / sizeof(float));
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

static int record(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
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
		push[2] = elems(c->in[0]);
		push[3] = elems(rb);
		push[4] = elems(c->out);
		push[5] = f2u(c->n.fa[0]);
		push[6] = f2u(c->n.fa[1]);
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
		push[3] = elems(c->in[0]);
		push[4] = elems(c->out);
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
		push[11] = f2u(c->alpha);
		push[4] = elems(c->in[0]);
		push[5] = elems(c->in[1]);
		push[6] = c->bias.buf ? elems(c->bias) : 0;
		push[7] = elems(c->out);
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

static int vk_prepare(void *dev, const struct dg_plan *plan, void **out)
{
	struct dg_vk *vk = ((struct vkdev *)dev)->vk;
	struct vkprog *p = calloc(1, sizeof *p);
	int st;

	*out = NULL;
	if (!p)
		return dg_error_nomem("a vulkan step", sizeof *p);
	if ((st = dg_vk_cmd_create(vk, 0, &p->cmd)) ||
	    (st = dg_vk_descs_create(vk, 64, &p->descs)) || (st = dg_vk_cmd_begin(p->cmd))) {
		vk_unprepare(dev, p);
		return st;
	}
	for (size_t i = 0; i < plan->ncalls && !st; i++) {
		if ((st = record(vk, p, &plan->calls[i])))
			break;
		dg_vk_cmd_barrier(p->cmd);
	}
	if (st || (st = dg_vk_cmd_end(p->cmd))) {
		vk_unprepare(dev, p);
		return st;
	}
	*out = p;
	return DG_OK;
}

static int vk_execute(void *dev, void *prog, const struct dg_run_info *ri)
{
	struct vkprog *p = prog;
	(void)dev;
	(void)ri;
	return dg_vk_cmd_run(p->cmd);
}

const struct dg_backend dg_vk_backend = {
	.name = "vulkan",
	.open = vk_open,
	.close = vk_close,
	.alloc = vk_alloc,
	.release = vk_release,
	.write = vk_write,
	.read = vk_read,
	.prepare = vk_prepare,
	.execute = vk_execute,
	.unprepare = vk_unprepare,
};
