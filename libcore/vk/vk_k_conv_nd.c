/* vk/vk_k_conv_nd.c — recorders of the general convolutions (grouped,
 * 2-d or 3-d: shaders/conv_direct.comp) and of pooling
 * (shaders/graph_pool.comp), with their geometry from struct dg_window:
 *   conv_nd             (x, w) -> y        one invocation per y element
 *   conv_nd_bwd_data    (dy, w) -> dx      one invocation per dx element
 *   conv_nd_bwd_filter  (x, dy) -> dw      one workgroup per dw element
 *   pooling             one invocation per pooled element (max, pick,
 *                       avg) or per image element (the two adjoints). */
#include "vk/vk_kernels.h"

struct conv_push {
	uint32_t offa, offb, offy, count;
	uint32_t n, c, o, pad0;
	int32_t xs[4], ys[4], ks[4], st[4], pd[4], dl[4];
};
_Static_assert(sizeof(struct conv_push) == 128, "conv_direct.comp's push constants");

static void sides(int32_t *to, const int64_t *from, int64_t w)
{
	for (int i = 0; i < 3; i++)
		to[i] = (int32_t)from[i];
	to[3] = (int32_t)w;
}

int dg_vkk_conv_nd(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	struct dg_window g;
	struct conv_push pc = {0};
	uint32_t mode = dg_vkk_codes[c->n.op], gx, gy;

	if (!c->n.count)
		return DG_OK;
	if (c->bias.buf || c->act)
		return dg_error(DG_ENODEV, "vulkan backend: %s with a fused epilogue",
				dg_opdefs[c->n.op].name);
	dg__window(c, &g);
	pc.offa = dg_vkk_elems(c->in[0]);
	pc.offb = dg_vkk_elems(c->in[1]);
	pc.offy = dg_vkk_elems(c->out);
	pc.count = (uint32_t)c->n.count;
	pc.n = (uint32_t)g.n;
	pc.c = (uint32_t)g.c;
	pc.o = (uint32_t)g.o;
	sides(pc.xs, g.in, g.c / g.groups);
	sides(pc.ys, g.out, g.o / g.groups);
	sides(pc.ks, g.k, 0);
	sides(pc.st, g.s, 0);
	sides(pc.pd, g.p, 0);
	sides(pc.dl, g.d, 0);
	const struct dg_vk_buffer *binds[3] = {c->in[0].buf, c->in[1].buf, c->out.buf};
	if (mode == DG_CONV_BWD_FILTER) {
		/* a workgroup per weight: (x, y) over 65535-wide rows */
		gx = pc.count < 65535 ? pc.count : 65535;
		gy = (pc.count + 65534) / 65535;
	} else {
		dg_vkk_grid(c->n.count, &gx, &gy);
	}
	return dg_vkk_record(vk, p, "conv_direct", binds, 3, &pc, sizeof pc, &mode, 1, gx, gy);
}

struct pool_push {
	uint32_t offx, offh, offy, count;
	int32_t xs[4], ys[4], ks[4], st[4], pd[4];
};

int dg_vkk_pool(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	struct dg_window g;
	struct pool_push pc = {0};
	uint32_t mode = dg_vkk_codes[c->n.op], gx, gy;
	int two = c->n.nin > 1;

	if (!c->n.count)
		return DG_OK;
	dg__window(c, &g);
	pc.offx = dg_vkk_elems(c->in[0]);
	pc.offh = dg_vkk_elems(c->in[two]);
	pc.offy = dg_vkk_elems(c->out);
	pc.count = (uint32_t)c->n.count;
	sides(pc.xs, g.in, g.include_pad);
	sides(pc.ys, g.out, 0);
	sides(pc.ks, g.k, 0);
	sides(pc.st, g.s, 0);
	sides(pc.pd, g.p, 0);
	const struct dg_vk_buffer *binds[3] = {c->in[0].buf, c->in[two].buf, c->out.buf};
	dg_vkk_grid(c->n.count, &gx, &gy);
	return dg_vkk_record(vk, p, "graph_pool", binds, 3, &pc, sizeof pc, &mode, 1, gx, gy);
}
