/* vk/vk_k_gemm.c — recorders for matmul and the three convolutions on
 * the vulkan backend, all through the one register-blocked GEMM of
 * shaders/gemm.glsl (a convolution is an implicit GEMM: its im2col matrix
 * is indexed in the shader, never stored).  Shapes, as GEMM M×N×K:
 *   matmul       C[b] = op(A[b])·op(B[b]), M×N×K, batch b (B may be shared)
 *   conv         y[n] = W·im2col(x[n]): O × OH·OW × C·KH·KW, per image n
 *   bwd-data     dx[n] = Wᵀ·col(dy[n]): C × H·W × O·KH·KW, per image n,
 *                one dispatch per output phase (h mod s, w mod s) over
 *                only the taps that reach it
 *   bwd-filter   dW = dy·im2col(x)ᵀ: O × C·KH·KW × N·OH·OW
 * Tile sizes are specialization constants chosen per device
 * (vk/gemm_tiles.c).  A and B are read through texel buffers where their
 * views are allowed, else through storage buffers (gemm_storage.comp). */
#include <stdlib.h>
#include "vk/vk_kernels.h"
#include "vk/gemm_tiles.h"

/* One call as the shader sees it. */
struct geo {
	uint32_t mode, m, n, k, batch;
	uint32_t stra, strb, strc;
	int ta, tb;
	int32_t ci, h, w, oh, ow, kh, kw, s, p, d, co;
	struct dg_bref a, b;          /* the GEMM's operands (for convolutions, A is w or dy) */
	uint64_t na, nb;              /* floats of each, all batches */
};

static uint32_t u32(uint64_t v)
{
	return (uint32_t)v;
}

/* Fills g from the call; DG_ENODEV for what the shader cannot index. */
static int geometry(const struct dg_kcall *c, struct geo *g)
{
	const struct dg_node *x, *w, *y;
	memset(g, 0, sizeof *g);
	g->mode = dg_vkk_codes[c->n.op];    /* DG_GEMM_* */
	for (unsigned i = 0; i < c->n.nin; i++)
		if (c->in_node[i].dtype != DG_F32 || c->in_node[i].count >= 1ull << 31)
			return dg_error(DG_ENODEV, "vulkan backend: %s: inputs must be f32 tensors "
					"of fewer than 2^31 elements", dg_opdefs[c->n.op].name);
	if (c->n.count >= 1ull << 31)
		return dg_error(DG_ENODEV, "vulkan backend: %s: output too large",
				dg_opdefs[c->n.op].name);
	if (c->n.op == OP_MATMUL) {
		const struct dg_node *a = &c->in_node[0], *b = &c->in_node[1];
		g->ta = c->n.ia[0] != 0;
		g->tb = c->n.ia[1] != 0;
		g->m = u32(c->n.dims[c->n.rank - 2]);
		g->n = u32(c->n.dims[c->n.rank - 1]);
		g->k = u32(g->ta ? a->dims[a->rank - 2] : a->dims[a->rank - 1]);
		g->batch = a->rank == 3 ? u32(a->dims[0]) : 1;
		g->stra = g->m * g->k;
		g->strb = b->rank == 3 ? g->k * g->n : 0;
		g->strc = g->m * g->n;
		g->a = c->in[0];
		g->b = c->in[1];
		g->na = a->count;
		g->nb = b->count;
		return DG_OK;
	}
	/* The three convolutions: name the forward conv's x, w, y. */
	switch (c->n.op) {
	case OP_CONV:             /* (x, w) -> y */
		x = &c->in_node[0], w = &c->in_node[1], y = &c->n;
		g->a = c->in[1], g->b = c->in[0];
		g->na = w->count, g->nb = x->count;
		break;
	case OP_CONV_BWD_DATA:    /* (dy, w) -> dx */
		x = &c->n, w = &c->in_node[1], y = &c->in_node[0];
		g->a = c->in[1], g->b = c->in[0];
		g->na = w->count, g->nb = y->count;
		break;
	case OP_CONV_BWD_FILTER:  /* (x, dy) -> dw */
		x = &c->in_node[0], w = &c->n, y = &c->in_node[1];
		g->a = c->in[1], g->b = c->in[0];
		g->na = y->count, g->nb = x->count;
		break;
	default:
		return dg_error(DG_ENODEV, "vulkan backend: %s is not a GEMM",
				dg_opdefs[c->n.op].name);
	}
	g->ci = (int32_t)x->dims[1], g->h = (int32_t)x->dims[2], g->w = (int32_t)x->dims[3];
	g->co = (int32_t)w->dims[0], g->kh = (int32_t)w->dims[2], g->kw = (int32_t)w->dims[3];
	g->oh = (int32_t)y->dims[2], g->ow = (int32_t)y->dims[3];
	g->s = (int32_t)c->n.ia[0], g->p = (int32_t)c->n.ia[1], g->d = (int32_t)c->n.ia[2];
	uint32_t nimg = u32(x->dims[0]), khw = u32((uint64_t)g->kh * g->kw);
	switch (g->mode) {
	case DG_GEMM_CONV:
		g->m = u32(g->co), g->n = u32((uint64_t)g->oh * g->ow), g->k = u32(g->ci * khw);
		g->batch = nimg, g->strc = g->m * g->n;
		break;
	case DG_GEMM_BWD_DATA:
		g->m = u32(g->ci), g->n = u32((uint64_t)g->h * g->w), g->k = u32(g->co * khw);
		g->batch = nimg, g->strc = g->m * g->n;
		break;
	default:
		g->m = u32(g->co), g->n = u32(g->ci * khw), g->k = nimg * u32(g->oh * g->ow);
		g->batch = 1;
		break;
	}
	return DG_OK;
}

/* The tiles for vk's device (vk/gemm_tiles.c). */
static void device_tiles(const struct dg_vk *vk, struct dg_vk_gemm_tiles *t)
{
	dg_vk_gemm_tiles(vk->props.type == VK_PHYSICAL_DEVICE_TYPE_CPU, vk->props.subgroup_size,
			 vk->props.max_workgroup_invocations, t);
}

/* A texel binding for floats [r.off/4, +count) of r's buffer, as
 * texels of `width` floats (1 or 4), if the device allows one: the view
 * starts at the offset rounded down to minTexelBufferOffsetAlignment and
 * *skip floats (the rest) are added to the shader's indices.  Returns 0
 * when a view cannot be made (more than maxTexelBufferElements texels,
 * or an offset the rounding cannot reach in whole texels); the caller
 * then uses narrower texels or the storage-buffer shader. */
static int texel_bind(const struct dg_vk *vk, struct dg_bref r, uint64_t count, unsigned width,
		      struct dg_vk_bind *bind, uint32_t *skip)
{
	const struct dg_vk_buffer *b = r.buf;
	uint64_t al = vk->props.min_texel_offset_align ? vk->props.min_texel_offset_align : 1;
	uint64_t off = r.off - r.off % al, pre = r.off - off, texel = width * sizeof(float);

	if (pre % texel || count % width ||
	    (count + pre / sizeof(float)) / width > vk->props.max_texel_buffer_elements ||
	    r.off + count * sizeof(float) > b->size)
		return 0;
	*bind = (struct dg_vk_bind){ b, off, pre + count * sizeof(float) };
	*skip = u32(pre / sizeof(float));
	return 1;
}

/* A storage binding of floats [r.off/4, +count) of r's buffer, starting
 * at the offset rounded down to minStorageBufferOffsetAlignment (*skip
 * floats before the tensor): only the tensor's range is bound, so a
 * large arena is no obstacle while the tensor fits maxStorageBufferRange
 * (dg_vk_descs_alloc reports it otherwise). */
static void storage_bind(const struct dg_vk *vk, struct dg_bref r, uint64_t count,
			 struct dg_vk_bind *bind, uint32_t *skip)
{
	uint64_t al = vk->props.min_storage_offset_align ? vk->props.min_storage_offset_align : 1;
	uint64_t off = r.off - r.off % al;
	*bind = (struct dg_vk_bind){ r.buf, off, r.off - off + (count ? count : 1) * sizeof(float) };
	*skip = u32((r.off - off) / sizeof(float));
}

/* An environment switch for tests and benchmarks (set and not "0"). */
static int env_on(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0");
}

/* The kernel taps u (of k) that reach output rows of phase ph in a
 * backward-data with padding p, dilation d, stride s: u·d ≡ ph + p
 * (mod s).  They are t[0] + i·t[2] for i < t[1]; tap i reads input row
 * (output row - ph)/s + t[3] - i·(t[2]·d/s). */
static void taps(int32_t ph, int32_t p, int32_t d, int32_t s, int32_t k, int32_t *t)
{
	int32_t g = s, b = d;
	while (b) {
		int32_t r = g % b;
		g = b, b = r;
	}
	t[0] = 0, t[1] = 0, t[2] = s / g, t[3] = 0;
	for (int32_t u = 0; u < k; u++)
		if (((ph + p - u * d) % s + s) % s == 0) {
			t[0] = u;
			t[1] = (k - 1 - u) / t[2] + 1;
			t[3] = (ph + p - u * d) / s;
			break;
		}
}

int dg_vkk_gemm(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_vk_pipeline *pl;
	struct dg_vk_gemm_tiles t;
	struct dg_vk_bind binds[4];
	VkDescriptorSet set;
	struct geo g;
	uint32_t push[31] = {0}, skipa = 0, skipb = 0, skipc = 0, skipbias = 0;
	int st, texel;

	if ((st = geometry(c, &g)))
		return st;
	if (c->act > DG_ACT_SOFTPLUS || ((c->bias.buf || c->act) && g.mode > DG_GEMM_CONV))
		return dg_error(DG_ENODEV, "vulkan backend: %s with epilogue %d not supported",
				dg_opdefs[c->n.op].name, c->act);
	if (!g.m || !g.n || !g.batch)
		return DG_OK;   /* nothing to write */
	if (g.mode == DG_GEMM_BWD_DATA && (g.kh > 1023 || g.kw > 1023 || g.s > 2047))
		return dg_error(DG_ENODEV, "vulkan backend: %s: kernel or stride too large",
				dg_opdefs[c->n.op].name);
	device_tiles(vk, &t);
	uint32_t gx = (g.n + t.wgn * t.tn - 1) / (t.wgn * t.tn);
	uint32_t gy = (g.m + t.wgm * t.tm - 1) / (t.wgm * t.tm);
	if (gx > vk->props.max_workgroup_count[0] || gy > vk->props.max_workgroup_count[1] ||
	    g.batch > vk->props.max_workgroup_count[2])
		return dg_error(DG_ENODEV, "vulkan backend: %s of %u×%u×%u (batch %u) exceeds "
				"the device's workgroup counts", dg_opdefs[c->n.op].name,
				g.m, g.n, g.k, g.batch);
	/* How A and B are read, fastest first: vec4 texels (matmul whose K
	 * and contiguous sides are multiples of 4, at 16-byte offsets: true
	 * of the engine's 64-byte aligned tensors of such shapes), float
	 * texels, else storage buffers for both — the fallback for a tensor
	 * larger than maxTexelBufferElements or at an offset a view cannot
	 * start at.  $DG_VK_GEMM_STORAGE=1 forces storage buffers and
	 * $DG_VK_GEMM_VEC4=0 float texels (tests, benchmarks). */
	int vec4 = g.mode == DG_GEMM_MATMUL && t.tm % 4 == 0 && t.tn % 4 == 0 && g.k % 4 == 0 &&
		   (!g.ta || g.m % 4 == 0) && (g.tb || g.n % 4 == 0) &&
		   !(getenv("DG_VK_GEMM_VEC4") && !env_on("DG_VK_GEMM_VEC4"));
	if (env_on("DG_VK_GEMM_STORAGE"))
		texel = vec4 = 0;
	else if (vec4 && texel_bind(vk, g.a, g.na, 4, &binds[0], &skipa) &&
		 texel_bind(vk, g.b, g.nb, 4, &binds[1], &skipb))
		texel = 1;
	else
		vec4 = 0, texel = texel_bind(vk, g.a, g.na, 1, &binds[0], &skipa) &&
				  texel_bind(vk, g.b, g.nb, 1, &binds[1], &skipb);
	if (!texel) {
		storage_bind(vk, g.a, g.na, &binds[0], &skipa);
		storage_bind(vk, g.b, g.nb, &binds[1], &skipb);
	}
	/* The bias has M (conv) or N (matmul) floats; without one, binding 2
	 * is a dummy the shader never reads: operand B, which nothing in the
	 * call writes (the output would look like a read-after-write hazard
	 * between backward-data's phase dispatches to a validation layer). */
	storage_bind(vk, c->out, c->n.count, &binds[3], &skipc);
	storage_bind(vk, c->bias.buf ? c->bias : g.b, c->bias.buf ? (g.mode == DG_GEMM_CONV ? g.m : g.n) : g.nb,
		     &binds[2], &skipbias);

	push[0] = g.m;
	push[1] = g.n;
	push[2] = g.k;
	push[4] = skipa;
	push[5] = skipb;
	push[6] = skipbias;
	push[7] = skipc;
	push[8] = g.stra;
	push[9] = g.strb;
	push[10] = g.strc;
	push[11] = dg_vkk_f2u(c->alpha);
	int32_t conv[11] = { g.ci, g.h, g.w, g.oh, g.ow, g.kh, g.kw, g.p, g.d, g.co, g.s };
	memcpy(push + 12, conv, sizeof conv);
	uint32_t spec[10] = { t.wgm, t.wgn, t.tm, t.tn, g.mode, (uint32_t)g.ta, (uint32_t)g.tb,
			      (uint32_t)vec4, c->act, c->bias.buf != NULL };
	if ((st = dg_vk_pipeline_get_kinds(vk, texel ? "gemm_texel" : "gemm_storage",
					   vec4 ? "qqss" : texel ? "ttss" : "ssss", sizeof push,
					   spec, 10, &pl)) ||
	    (st = dg_vk_descs_alloc(p->descs, pl, binds, &set)))
		return st;
	if (g.mode != DG_GEMM_BWD_DATA) {
		dg_vk_cmd_dispatch(p->cmd, pl, set, push, gx, gy, g.batch);
		return DG_OK;
	}
	/* Backward-data: one dispatch per output phase (h mod s, w mod s),
	 * each over the taps that reach it (an empty set writes zeros). */
	int32_t tu[4], tv[4];
	for (int32_t ph = 0; ph < g.s && ph < g.h; ph++) {
		for (int32_t pw = 0; pw < g.s && pw < g.w; pw++) {
			int32_t hp = (g.h - ph + g.s - 1) / g.s, wp = (g.w - pw + g.s - 1) / g.s;
			taps(ph, g.p, g.d, g.s, g.kh, tu);
			taps(pw, g.p, g.d, g.s, g.kw, tv);
			push[1] = (uint32_t)(hp * wp);
			int32_t ext[8] = { ph | pw << 16, wp, tu[0] | tu[1] << 10 | tu[2] << 20, tu[3],
					   tu[2] * g.d / g.s, tv[0] | tv[1] << 10 | tv[2] << 20, tv[3],
					   tv[2] * g.d / g.s };
			memcpy(push + 23, ext, sizeof ext);
			gx = (push[1] + t.wgn * t.tn - 1) / (t.wgn * t.tn);
			dg_vk_cmd_dispatch(p->cmd, pl, set, push, gx, gy, g.batch);
		}
	}
	return DG_OK;
}
