/* graph/vk_k_reduce.c — reductions on vulkan (graph_reduce.comp): sum or
 * max of x (any rank) to a shape with 1 on the reduced axes; softmax,
 * log-softmax and argmax over the last axis (rows of K). */
#include "graph/vk_kernels.h"

struct push {
	uint32_t nout, offx, offy, nk, nr, per, pad0, pad1;
	uint32_t kd[4], ks[4], rd[4], rs[4];
};

/* Merges x's axes from the innermost into alternating kept and reduced
 * groups (as the cpu kernel does), stored outermost first. */
static int groups(const struct dg_node *x, const struct dg_node *y, struct push *pc)
{
	uint64_t kd[DG_MAX_RANK], ks[DG_MAX_RANK], rd[DG_MAX_RANK], rs[DG_MAX_RANK], stride = 1;
	unsigned nk = 0, nr = 0;
	int prev = -1;

	for (int k = (int)x->rank - 1; k >= 0; k--) {
		uint64_t d = x->dims[k];
		if (d == 1)
			continue;
		int red = y->dims[k] == 1;
		if (red == prev) {
			if (red)
				rd[nr - 1] *= d;
			else
				kd[nk - 1] *= d;
		} else if (red) {
			rd[nr] = d;
			rs[nr++] = stride;
		} else {
			kd[nk] = d;
			ks[nk++] = stride;
		}
		prev = red;
		stride *= d;
	}
	if (nk > 4 || nr > 4)
		return dg_error(DG_EINTERNAL, "vulkan reduce: %u kept and %u reduced groups", nk, nr);
	pc->nk = nk;
	pc->nr = nr;
	for (unsigned i = 0; i < nk; i++) {
		pc->kd[i] = (uint32_t)kd[nk - 1 - i];
		pc->ks[i] = (uint32_t)ks[nk - 1 - i];
	}
	for (unsigned i = 0; i < nr; i++) {
		pc->rd[i] = (uint32_t)rd[nr - 1 - i];
		pc->rs[i] = (uint32_t)rs[nr - 1 - i];
	}
	return DG_OK;
}

int dg_vkk_reduce(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_node *x = &c->in_node[0], *y = &c->n;
	struct push pc = {0};
	uint32_t spec[2] = {0, 0}, gx, gy;
	int op = y->op, st;

	if (!y->count || !x->count)
		return DG_OK;
	pc.offx = dg_vkk_elems(c->in[0]);
	pc.offy = dg_vkk_elems(c->out);
	if (op == OP_SUM_TO || op == OP_MAX_TO) {
		spec[0] = op == OP_MAX_TO;
		pc.nout = (uint32_t)y->count;
		pc.per = (uint32_t)(x->count / y->count);
		if ((st = groups(x, y, &pc)))
			return st;
		/* Few outputs with long reductions: a workgroup each. */
		if (pc.per >= 256 && y->count < 4096) {
			spec[1] = 1;
			gx = pc.nout < 65535 ? pc.nout : 65535;
			gy = (pc.nout + 65534) / 65535;
		} else {
			dg_vkk_grid(pc.nout, &gx, &gy);
		}
	} else {
		spec[0] = op == OP_SOFTMAX ? 2 : op == OP_LOG_SOFTMAX ? 3 : 4;
		pc.kd[0] = (uint32_t)x->dims[x->rank - 1];
		pc.nout = (uint32_t)(x->count / pc.kd[0]);
		dg_vkk_grid(pc.nout, &gx, &gy);
	}
	const struct dg_vk_buffer *binds[2] = {c->in[0].buf, c->out.buf};
	return dg_vkk_record(vk, p, "graph_reduce", binds, 2, &pc, sizeof pc, spec, 2, gx, gy);
}
