/* vk/vk_k_optim.c — side-effect calls on vulkan (graph_optim.comp):
 * optimizer updates of a variable in[0] by a gradient in[1] with state
 * variables st[], assignment, EMA.  Sizes come from in_node[0] (the
 * call's out is empty).  An update's per-run scalars get a slot in the
 * step's parameter words; backend_vk.c fills it from c->rt each run. */
#include <stdlib.h>
#include "vk/vk_kernels.h"

struct push {
	uint32_t n, offp, offg, slot;
	uint32_t b1, b2, eps, wd, clip;
};

static int new_slot(struct vkprog *p, const struct dg_kcall *c, uint32_t *slot)
{
	if (!c->rt)
		return dg_error(DG_EINTERNAL, "vulkan backend: update %u without per-run scalars",
				c->id);
	/* backend_vk.c sized the parameter words for the plan's updates */
	if (4 * (DG_VKP_SLOTS + 4 * (uint64_t)(p->nslots + 1)) > p->params.size)
		return dg_error(DG_EINTERNAL, "vulkan backend: more updates than slots");
	if (p->nslots == p->maxslots) {
		uint32_t m = p->maxslots ? 2 * p->maxslots : 8;
		struct vkslot *s = realloc(p->slots, m * sizeof *s);
		if (!s)
			return dg_error_nomem("update slots", m * sizeof *s);
		p->slots = s;
		p->maxslots = m;
	}
	int decoupled = c->n.fa[6] != 0;
	p->slots[p->nslots] = (struct vkslot){c->rt, c->n.fa[3], decoupled, c->n.op == OP_EMA};
	*slot = DG_VKP_SLOTS + 4 * p->nslots++;
	return DG_OK;
}

int dg_vkk_optim(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_node *v = &c->in_node[0];
	const float *fa = c->n.fa;
	struct push pc = {0};
	uint32_t spec[4] = {dg_vkk_codes[c->n.op], 0, 0, 0}, gx, gy;   /* OP, MOM, NESTEROV, VEC */
	int op = c->n.op, st;

	if (!v->count)
		return DG_OK;
	pc.n = (uint32_t)v->count;
	pc.offp = dg_vkk_elems(c->in[0]);
	pc.offg = dg_vkk_elems(c->in[1]);
	pc.b1 = dg_vkk_f2u(fa[0]);
	pc.b2 = dg_vkk_f2u(fa[1]);
	pc.eps = dg_vkk_f2u(fa[2]);
	pc.wd = dg_vkk_f2u(fa[3]);
	pc.clip = dg_vkk_f2u(fa[4] > 0 ? fa[4] : 0);
	switch (op) {
	case OP_UPD_SGD:
		spec[1] = c->st[0].buf != NULL;
		spec[2] = fa[5] != 0;
		break;
	case OP_UPD_ADAM:
		if (fa[6] != 0)
			pc.wd = 0;          /* decoupled: the decay is in keep */
		if (!c->st[0].buf || !c->st[1].buf)
			return dg_error(DG_EINTERNAL, "vulkan backend: adam without moments");
		break;
	case OP_UPD_RMSPROP:
		spec[1] = c->st[1].buf != NULL;
		if (!c->st[0].buf)
			return dg_error(DG_EINTERNAL, "vulkan backend: rmsprop without its average");
		break;
	case OP_ASSIGN:
		pc.clip = 0;
		break;
	default:   /* OP_EMA: this run's decay in its slot */
		pc.clip = 0;
	}
	if (((op >= OP_UPD_SGD && op <= OP_UPD_RMSPROP) || op == OP_EMA) &&
	    (st = new_slot(p, c, &pc.slot)))
		return st;
	const struct dg_vk_buffer *pb = c->in[0].buf;
	const struct dg_vk_buffer *binds[5] = {
		pb, c->in[1].buf, c->st[0].buf ? c->st[0].buf : pb, c->st[1].buf ? c->st[1].buf : pb,
		&p->params,
	};
	/* Four elements per invocation where n and the offsets allow vec4s. */
	spec[3] = pc.n % 4 == 0 && pc.offp % 4 == 0 && pc.offg % 4 == 0;
	dg_vkk_grid(spec[3] ? v->count / 4 : v->count, &gx, &gy);
	return dg_vkk_record(vk, p, "graph_optim", binds, 5, &pc, sizeof pc, spec, 4, gx, gy);
}
