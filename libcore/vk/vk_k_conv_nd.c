/* vk/vk_k_conv_nd.c — recorders of the general convolutions (grouped,
 * 2-d or 3-d: shaders/conv_direct.glsl, read through texel buffers or
 * storage buffers) and of pooling
 * (shaders/graph_pool.comp), with their geometry from struct dg_window:
 *   conv_nd             (x, w) -> y        an invocation per 4 neighbours of
 *                                          y and block of output channels
 *   conv_nd_bwd_data    (dy, w) -> dx      per 4 neighbours of dx and
 *                                          block of input channels
 *   conv_nd_bwd_filter  (x, dy) -> dw      per (input channel, 4 taps) and
 *                                          block of output channels
 *   pooling             one invocation per pooled element (max, pick,
 *                       avg) or per image element (the two adjoints). */
#include <stdlib.h>
#include "vk/vk_kernels.h"

struct conv_push {
	uint32_t offa, offb, offy, n;
	uint32_t c, o, cg, og;
	int32_t xs[4], ys[4], ks[4], st[4], pd[4], dl[4];
};
_Static_assert(sizeof(struct conv_push) == 128, "conv_direct.glsl's push constants");

static void sides(int32_t *to, const int64_t *from, int64_t w)
{
	for (int i = 0; i < 3; i++)
		to[i] = (int32_t)from[i];
	to[3] = (int32_t)w;
}

/* A texel view of the count floats at r, starting at r's offset rounded
 * down to minTexelBufferOffsetAlignment: *skip floats come first.  0
 * when the view would be too long for maxTexelBufferElements. */
static int texel_bind(const struct dg_vk *vk, struct dg_bref r, uint64_t count,
		      struct dg_vk_bind *bind, uint32_t *skip)
{
	const struct dg_vk_buffer *b = r.buf;
	uint64_t al = vk->props.min_texel_offset_align ? vk->props.min_texel_offset_align : 1;
	uint64_t off = r.off - r.off % al, pre = (r.off - off) / sizeof(float);

	if ((r.off - off) % sizeof(float) || pre + count > vk->props.max_texel_buffer_elements ||
	    r.off + count * sizeof(float) > b->size)
		return 0;
	*bind = (struct dg_vk_bind){b, off, (pre + count) * sizeof(float)};
	*skip = (uint32_t)pre;
	return 1;
}

/* Channels per invocation: the largest of 8, 4, 2, 1 that divides the
 * channels of a group it blocks (so a block never straddles groups). */
static uint32_t block(int64_t per_group)
{
	uint32_t t = 8;
	while (per_group % t)
		t /= 2;
	return t;
}

int dg_vkk_conv_nd(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	struct dg_window g;
	struct conv_push pc = {0};
	uint32_t spec[2] = {dg_vkk_codes[c->n.op], 1}, gx, gy, gz = 1;

	if (!c->n.count)
		return DG_OK;
	if (c->bias.buf || c->act)
		return dg_error(DG_ENODEV, "vulkan backend: %s with a fused epilogue",
				dg_opdefs[c->n.op].name);
	dg__window(c, &g);
	int64_t cg = g.c / g.groups, og = g.o / g.groups;
	int64_t lanes;
	pc.offy = dg_vkk_elems(c->out);
	pc.n = (uint32_t)g.n;
	pc.c = (uint32_t)g.c;
	pc.o = (uint32_t)g.o;
	pc.cg = (uint32_t)cg;
	pc.og = (uint32_t)og;
	sides(pc.xs, g.in, 0);
	sides(pc.ys, g.out, 0);
	sides(pc.ks, g.k, 0);
	sides(pc.st, g.s, 0);
	sides(pc.pd, g.p, 0);
	sides(pc.dl, g.d, 0);
	/* lanes: blocks of 4 along the innermost axis (of y, dx, the kernel) */
	switch (spec[0]) {
	case DG_CONV_FWD:           /* rows of y × output blocks × images */
		spec[1] = block(og);
		lanes = g.out[0] * g.out[1] * ((g.out[2] + 3) / 4);
		gy = (uint32_t)(g.o / spec[1]), gz = (uint32_t)g.n;
		break;
	case DG_CONV_BWD_DATA:      /* rows of dx × input blocks × images */
		spec[1] = block(cg);
		lanes = g.in[0] * g.in[1] * ((g.in[2] + 3) / 4);
		gy = (uint32_t)(g.c / spec[1]), gz = (uint32_t)g.n;
		break;
	default:                    /* (channel of the group, kernel row) × output blocks */
		spec[1] = block(og);
		lanes = cg * g.k[0] * g.k[1] * ((g.k[2] + 3) / 4);
		gy = (uint32_t)(g.o / spec[1]);
		break;
	}
	gx = (uint32_t)((lanes + 63) / 64);
	/* texel views of both inputs when the device allows them, else
	 * storage buffers ($DG_VK_CONV_STORAGE=1 forces those: tests) */
	struct dg_vk_bind binds[3];
	const char *env = getenv("DG_VK_CONV_STORAGE");
	int texel = !(env && *env && strcmp(env, "0")) &&
		    texel_bind(vk, c->in[0], c->in_node[0].count, &binds[0], &pc.offa) &&
		    texel_bind(vk, c->in[1], c->in_node[1].count, &binds[1], &pc.offb);
	if (!texel) {
		binds[0] = (struct dg_vk_bind){c->in[0].buf, 0, 0};
		binds[1] = (struct dg_vk_bind){c->in[1].buf, 0, 0};
		pc.offa = dg_vkk_elems(c->in[0]);
		pc.offb = dg_vkk_elems(c->in[1]);
	}
	binds[2] = (struct dg_vk_bind){c->out.buf, 0, 0};
	if (gx > vk->props.max_workgroup_count[0] || gy > vk->props.max_workgroup_count[1] ||
	    gz > vk->props.max_workgroup_count[2])
		return dg_error(DG_ENODEV, "vulkan backend: %s of %u×%u×%u workgroups exceeds the "
				"device's counts", dg_opdefs[c->n.op].name, gx, gy, gz);
	const struct dg_vk_pipeline *pl;
	VkDescriptorSet set;
	int st;
	if ((st = dg_vk_pipeline_get_kinds(vk, texel ? "conv_direct_texel" : "conv_direct_storage",
					   texel ? "tts" : "sss", sizeof pc, spec, 2, &pl)) ||
	    (st = dg_vk_descs_alloc(p->descs, pl, binds, &set)))
		return st;
	dg_vk_cmd_dispatch(p->cmd, pl, set, &pc, gx, gy, gz);
	return DG_OK;
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
