/* vk/vk_k_reduce.c — reductions on vulkan (graph_reduce.comp): sum or
 * max of x (any rank) to a shape with 1 on the reduced axes; softmax and
 * log-softmax over any axis, argmax over the last (rows of K). */
#include "vk/vk_kernels.h"

struct push {
	uint32_t nout, offx, offy, nk, nr, per, pad0, pad1;
	uint32_t kd[4], ks[4], rd[4], rs[4];
};

/* The shared axis groups (graph/reduce_groups.c) as push constants. */
static int groups(const struct dg_node *x, const struct dg_node *y, struct push *pc)
{
	struct dg_reduce_groups g;

	dg__reduce_groups(x, y, &g);
	if (g.nk > 4 || g.nr > 4)
		return dg_error(DG_EINTERNAL, "vulkan reduce: %u kept and %u reduced groups",
				g.nk, g.nr);
	pc->nk = g.nk;
	pc->nr = g.nr;
	for (unsigned i = 0; i < g.nk; i++) {
		pc->kd[i] = (uint32_t)g.kd[i];
		pc->ks[i] = (uint32_t)g.ks[i];
	}
	for (unsigned i = 0; i < g.nr; i++) {
		pc->rd[i] = (uint32_t)g.rd[i];
		pc->rs[i] = (uint32_t)g.rs[i];
	}
	return DG_OK;
}

int dg_vkk_reduce(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_node *x = &c->in_node[0], *y = &c->n;
	struct push pc = {0};
	uint32_t spec[3] = {0, 0, 0}, gx, gy;   /* MODE, WG, VEC */
	int op = y->op, st;

	if (!y->count || !x->count)
		return DG_OK;
	pc.offx = dg_vkk_elems(c->in[0]);
	pc.offy = dg_vkk_elems(c->out);
	if (op == OP_SUM_TO || op == OP_MAX_TO) {
		spec[0] = dg_vkk_codes[op];
		pc.nout = (uint32_t)y->count;
		pc.per = (uint32_t)(x->count / y->count);
		if ((st = groups(x, y, &pc)))
			return st;
		/* vec4 loads where every place read is a multiple of 4 floats:
		 * the input, the kept strides, and the reduced run (a workgroup
		 * per output) or the four outputs' run (innermost kept axis
		 * contiguous, an invocation per four). */
		int al = pc.offx % 4 == 0;
		for (unsigned i = 0; i < pc.nk; i++)
			al = al && (pc.ks[i] % 4 == 0 || (i == pc.nk - 1 && pc.ks[i] == 1));
		/* Few outputs with long reductions: a workgroup each. */
		if (pc.per >= 256 && y->count < 4096) {
			spec[1] = 1;
			spec[2] = al && pc.nr == 1 && pc.rs[0] == 1 && pc.per % 4 == 0 &&
				  (!pc.nk || pc.ks[pc.nk - 1] != 1);
			gx = pc.nout < 65535 ? pc.nout : 65535;
			gy = (pc.nout + 65534) / 65535;
		} else {
			int red = 1;
			for (unsigned i = 0; i < pc.nr; i++)
				red = red && pc.rs[i] % 4 == 0;
			spec[2] = al && red && pc.nk && pc.ks[pc.nk - 1] == 1 &&
				  pc.kd[pc.nk - 1] % 4 == 0;
			dg_vkk_grid(spec[2] ? pc.nout / 4 : pc.nout, &gx, &gy);
		}
	} else {
		/* Rows of K spaced by the dims after the axis (softmaxes: ia0
		 * axes after it; argmax: the last). */
		unsigned ax = x->rank - 1 - (op == OP_ARGMAX ? 0 : (unsigned)y->ia[0]);
		uint64_t inner = 1;
		for (unsigned i = ax + 1; i < x->rank; i++)
			inner *= x->dims[i];
		spec[0] = dg_vkk_codes[op];
		pc.kd[0] = (uint32_t)x->dims[ax];
		pc.ks[0] = (uint32_t)inner;
		pc.nout = (uint32_t)(x->count / pc.kd[0]);
		dg_vkk_grid(pc.nout, &gx, &gy);
	}
	const struct dg_vk_buffer *binds[2] = {c->in[0].buf, c->out.buf};
	return dg_vkk_record(vk, p, "graph_reduce", binds, 2, &pc, sizeof pc, spec, 3, gx, gy);
}
