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
 * views are allowed, else through storage buffers (gemm_storage.comp).
 *
 * The convolutions have a faster form when the step gives the recorder
 * working memory (vkprog.scratch, sized by dg_vkk_gemm_scratch): the
 * operands are first copied channels-last, channels padded to 4 and
 * images to zero borders (shaders/conv_layout.comp), so that the GEMM
 * reads vec4 texels along channels with one address per column and one
 * offset per kernel tap, the loops of the vec4 matmul (gemm.glsl MODE 4:
 * forward; backward-data per output phase; backward-filter as a
 * convolution whose channels are the images; on lavapipe 3-6x the
 * implicit GEMM above, bench/RESULTS.md). */
#include <stdlib.h>
#include "vk/vk_kernels.h"
#include "vk/gemm_tiles.h"

/* One call as the shader sees it. */
struct geo {
	uint32_t mode, m, n, k, batch;
	uint32_t stra, strb, strc;
	int ta, tb;
	int32_t ci, h, w, oh, ow, kh, kw, s, d, co;
	int32_t ph, pw;               /* padding above and left of x */
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
	g->s = (int32_t)c->n.ia[DG_CA_STRIDE], g->d = (int32_t)c->n.ia[DG_CA_DIL];
	g->ph = (int32_t)c->n.ia[DG_CA_TOP], g->pw = (int32_t)c->n.ia[DG_CA_LEFT];
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

/* The implicit GEMM of any call, reading the operands where they are. */
static int gemm_direct(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c,
		       struct geo g, const struct dg_vk_gemm_tiles t)
{
	const struct dg_vk_pipeline *pl;
	struct dg_vk_bind binds[4];
	VkDescriptorSet set;
	uint32_t push[31] = {0}, skipa = 0, skipb = 0, skipc = 0, skipbias = 0;
	int st, texel, tc = 0;

	/* A product with fewer rows than a tile and many columns (a weight
	 * gradient of a small layer: 20×400 against tiles of 64×24) wastes
	 * most of its rows: compute Cᵀ = op(B)ᵀ·op(A)ᵀ instead and store it
	 * transposed (no epilogue to transpose with it). */
	if (g.mode == DG_GEMM_MATMUL && !c->bias.buf && !c->act) {
		uint64_t tm = t.wgm * t.tm, tn = t.wgn * t.tn;
		uint64_t cost = ((g.m + tm - 1) / tm * tm) * ((g.n + tn - 1) / tn * tn);
		uint64_t swapped = ((g.n + tm - 1) / tm * tm) * ((g.m + tn - 1) / tn * tn);
		if (4 * swapped < 3 * cost && !env_on("DG_VK_GEMM_NOSWAP")) {
			struct geo s = g;
			s.m = g.n, s.n = g.m, s.a = g.b, s.b = g.a, s.na = g.nb, s.nb = g.na;
			s.stra = g.strb, s.strb = g.stra, s.ta = !g.tb, s.tb = !g.ta;
			g = s;
			tc = 1;
		}
	}
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
	int32_t conv[11] = { g.ci, g.h, g.w, g.oh, g.ow, g.kh, g.kw, g.ph | g.pw << 16, g.d, g.co, g.s };
	memcpy(push + 12, conv, sizeof conv);
	/* vec4 stores: matmul rows of a multiple of 4 at 16-byte places */
	uint32_t out4 = g.mode == DG_GEMM_MATMUL && !tc && t.tn % 4 == 0 && g.n % 4 == 0 &&
			g.strc % 4 == 0 && skipc % 4 == 0;
	uint32_t spec[12] = { t.wgm, t.wgn, t.tm, t.tn, g.mode, (uint32_t)g.ta, (uint32_t)g.tb,
			      (uint32_t)vec4, c->act, c->bias.buf != NULL, out4, (uint32_t)tc };
	if ((st = dg_vk_pipeline_get_kinds(vk, texel ? "gemm_texel" : "gemm_storage",
					   vec4 ? "qqss" : texel ? "ttss" : "ssss", sizeof push,
					   spec, 12, &pl)) ||
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
			taps(ph, g.ph, g.d, g.s, g.kh, tu);
			taps(pw, g.pw, g.d, g.s, g.kw, tv);
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

/* ---- convolutions over channels-last copies --------------------------- */

/* One copy by conv_layout.comp into the scratch: the source tensor, the
 * copy's place (bytes) and size (floats), and the shader's geometry (its
 * push words s0, sc, sy, C, H, W, hp, wp, pt, pl, the d0 planes' stride
 * in floats; d0 rows of the grid). */
struct copy {
	struct dg_bref src;
	uint64_t nsrc, off, floats;
	uint32_t d0, s0, sc, sy, ch, h, w, hp, wp, pt, pl, plane;
};

/* The stride of a GEMM operand's rows of n floats in a copy: n, or one
 * cache line more when n is a multiple of 256 bytes: rows a power of two
 * apart fall into the same cache sets, and the 64 rows a workgroup reads
 * at once then evict each other (measured on lavapipe: K = 1024 runs at
 * 0.6 of K = 784 per FLOP). */
static uint32_t row_stride(uint32_t n)
{
	return n % 64 ? n : n + 16;
}

/* The fast form of a convolution: its copies, its GEMM's mode (4),
 * whether it is a backward-filter (wgrad), the padded image B (channel
 * quads, height, width, top and left borders), and the scratch bytes it
 * needs. */
struct fast {
	int mode, wgrad;
	unsigned ncopy;
	struct copy copy[2];
	uint32_t cq, hpad, wpad, ptop, pleft;
	uint64_t bytes;
};

static int32_t max32(int32_t a, int32_t b)
{
	return a > b ? a : b;
}

/* Copy geometry of an activation t[n][c][h][w] (n images) into an image
 * of hp×wp pixels with its rows at pt, columns at pl. */
static struct copy activation(struct dg_bref src, uint64_t nsrc, uint32_t n, uint32_t ch,
			      uint32_t h, uint32_t w, uint32_t hp, uint32_t wp, uint32_t pt,
			      uint32_t pl)
{
	uint32_t c4 = (ch + 3) & ~3u;
	return (struct copy){ src, nsrc, 0, (uint64_t)n * hp * wp * c4, n, ch * h * w, h * w, w,
			      ch, h, w, hp, wp, pt, pl, hp * wp * c4 };
}

/* Whether call c (geometry g, tiles t) has the fast form, and its plan.
 * $DG_VK_CONV_DIRECT=1 says no (tests, benchmarks of the direct form). */
static int fast_plan(const struct dg_vk *vk, const struct dg_kcall *c, const struct geo *g,
		     const struct dg_vk_gemm_tiles *t, struct fast *f)
{
	const uint32_t *maxg = vk->props.max_workgroup_count;
	uint32_t nimg = u32(c->in_node[0].dims[0]), khw = u32((uint64_t)g->kh * g->kw);
	uint32_t tile_n = t->wgn * t->tn, n;

	memset(f, 0, sizeof *f);
	if (g->mode == DG_GEMM_MATMUL || env_on("DG_VK_CONV_DIRECT") || g->kh > 1023 || g->kw > 1023 ||
	    g->s > 1023 || g->d > 1023)
		return 0;
	/* The padded image of x that the forward and backward-filter read:
	 * every (i·s + u·d, j·s + v·d) is inside, the image at (ph, pw). */
	int32_t hp = max32(g->ph + g->h, (g->oh - 1) * g->s + (g->kh - 1) * g->d + 1);
	int32_t wp = max32(g->pw + g->w, (g->ow - 1) * g->s + (g->kw - 1) * g->d + 1);
	uint32_t c4 = (u32(g->ci) + 3) & ~3u, o4 = (u32(g->co) + 3) & ~3u;
	if (g->mode == DG_GEMM_CONV) {
		/* w[o][c][u][v] -> rows o of [u][v][c4]; x -> NHWC, borders ph, pw */
		f->mode = DG_GEMM_CONV_VEC4, f->ncopy = 2, f->cq = c4 / 4;
		f->copy[0] = activation(g->a, g->na, u32(g->co), u32(g->ci), u32(g->kh),
					u32(g->kw), u32(g->kh), u32(g->kw), 0, 0);
		f->copy[0].plane = row_stride(khw * c4);
		f->copy[0].floats = (uint64_t)g->co * f->copy[0].plane;
		f->copy[1] = activation(g->b, g->nb, nimg, u32(g->ci), u32(g->h), u32(g->w),
					u32(hp), u32(wp), u32(g->ph), u32(g->pw));
		n = nimg * u32((uint64_t)g->oh * g->ow);
	} else if (g->mode == DG_GEMM_BWD_DATA) {
		/* w[o][c][u][v] -> rows c of [u][v][o4]; dy -> NHWC with the
		 * borders every phase's taps reach (rows hs + qh0 - t·dqh). */
		int32_t lo_h = 0, hi_h = g->oh - 1, lo_w = 0, hi_w = g->ow - 1, tp[4];
		for (int32_t ph = 0; ph < g->s && ph < g->h; ph++) {
			taps(ph, g->ph, g->d, g->s, g->kh, tp);
			if (tp[1]) {
				int32_t rows = (g->h - ph + g->s - 1) / g->s;
				lo_h = -max32(-lo_h, -(tp[3] - (tp[1] - 1) * (tp[2] * g->d / g->s)));
				hi_h = max32(hi_h, rows - 1 + tp[3]);
			}
		}
		for (int32_t pw = 0; pw < g->s && pw < g->w; pw++) {
			taps(pw, g->pw, g->d, g->s, g->kw, tp);
			if (tp[1]) {
				int32_t cols = (g->w - pw + g->s - 1) / g->s;
				lo_w = -max32(-lo_w, -(tp[3] - (tp[1] - 1) * (tp[2] * g->d / g->s)));
				hi_w = max32(hi_w, cols - 1 + tp[3]);
			}
		}
		f->mode = DG_GEMM_CONV_VEC4, f->ncopy = 2, f->cq = o4 / 4;
		f->copy[0] = (struct copy){ g->a, g->na, 0, (uint64_t)g->ci * row_stride(khw * o4),
					    u32(g->ci), khw, u32(g->ci) * khw, u32(g->kw),
					    u32(g->co), u32(g->kh), u32(g->kw), u32(g->kh),
					    u32(g->kw), 0, 0, row_stride(khw * o4) };
		hp = hi_h - lo_h + 1, wp = hi_w - lo_w + 1;
		f->copy[1] = activation(g->b, g->nb, nimg, u32(g->co), u32(g->oh), u32(g->ow),
					u32(hp), u32(wp), u32(-lo_h), u32(-lo_w));
		n = nimg * u32((uint64_t)((g->h + g->s - 1) / g->s) * ((g->w + g->s - 1) / g->s));
	} else {
		/* A convolution whose channels are the images: dW[o][c][u][v]
		 * = Σ over taps (i, j) and images n of dy[n,o,i,j] ·
		 * x[n,c,u·d + i·s - ph, v·d + j·s - pw]; rows o of A = dy as
		 * [o][i][j][n4], B = x as [c][h][w][n4] with borders ph, pw; column
		 * (c, u, v) starts at padded (u·d, v·d), tap (i, j) adds
		 * (i·s, j·s). */
		uint32_t n4 = (nimg + 3) & ~3u, rs = row_stride(u32((uint64_t)g->oh * g->ow) * n4);
		uint32_t ohw = u32((uint64_t)g->oh * g->ow), hw = u32((uint64_t)g->h * g->w);
		if (g->oh > 1023 || g->ow > 1023)
			return 0;
		f->mode = DG_GEMM_CONV_VEC4, f->ncopy = 2, f->cq = n4 / 4, f->wgrad = 1;
		f->copy[0] = (struct copy){ g->a, g->na, 0, (uint64_t)g->co * rs, u32(g->co), ohw,
					    u32(g->co) * ohw, u32(g->ow), nimg, u32(g->oh),
					    u32(g->ow), u32(g->oh), u32(g->ow), 0, 0, rs };
		f->copy[1] = (struct copy){ g->b, g->nb, 0, (uint64_t)g->ci * hp * wp * n4, u32(g->ci),
					    hw, u32(g->ci) * hw, u32(g->w), nimg, u32(g->h),
					    u32(g->w), u32(hp), u32(wp), u32(g->ph), u32(g->pw),
					    u32(hp) * u32(wp) * n4 };
		n = u32(g->ci) * khw;
	}
	const struct copy *b = &f->copy[f->ncopy - 1];
	f->hpad = b->hp, f->wpad = b->wp, f->ptop = b->pt, f->pleft = b->pl;
	if (f->ncopy == 2)
		f->copy[1].off = (f->copy[0].floats * sizeof(float) + 255) & ~(uint64_t)255;
	f->bytes = b->off + b->floats * sizeof(float);
	/* Grids and 32-bit indices: else the direct form. */
	for (unsigned i = 0; i < f->ncopy; i++) {
		const struct copy *k = &f->copy[i];
		uint64_t gx = ((uint64_t)(k->ch + 3) / 4 * ((k->w + 3) / 4) + 63) / 64;
		if (gx > maxg[0] || k->hp > maxg[1] || k->d0 > maxg[2])
			return 0;
	}
	return f->bytes / sizeof(float) < 1ull << 31 && (n + tile_n - 1) / tile_n <= maxg[0];
}

uint64_t dg_vkk_gemm_scratch(const struct dg_vk *vk, const struct dg_kcall *c)
{
	struct dg_vk_gemm_tiles t;
	struct fast f;
	struct geo g;

	if (c->n.op == OP_MATMUL || geometry(c, &g) || !g.m || !g.n || !g.batch)
		return 0;
	device_tiles(vk, &t);
	return fast_plan(vk, c, &g, &t, &f) ? f.bytes : 0;
}

/* Records copy k of the call into p->scratch. */
static int record_copy(struct dg_vk *vk, struct vkprog *p, const struct copy *k)
{
	const struct dg_vk_pipeline *pl;
	struct dg_vk_bind b[3];
	VkDescriptorSet set;
	uint32_t skip, dskip, cq = (k->ch + 3) / 4, xq = (k->w + 3) / 4;
	int st;

	storage_bind(vk, k->src, k->nsrc, &b[0], &skip);
	b[1] = b[0];
	storage_bind(vk, (struct dg_bref){ &p->scratch, k->off }, k->floats, &b[2], &dskip);
	if (dskip % 4)
		return dg_error(DG_EINTERNAL, "vulkan backend: scratch at an offset a vec4 "
				"binding cannot reach");
	uint32_t vec4 = k->w % 4 == 0 && skip % 4 == 0 && k->s0 % 4 == 0 && k->sc % 4 == 0 &&
			k->sy % 4 == 0;
	uint32_t push[15] = { skip, dskip / 4, k->s0, k->sc, k->sy, k->ch, k->h, k->w,
			      cq, xq, k->hp, k->wp, k->pt, k->pl, k->plane / 4 };
	if ((st = dg_vk_pipeline_get_kinds(vk, "conv_layout", "sss", sizeof push, &vec4, 1, &pl)) ||
	    (st = dg_vk_descs_alloc(p->descs, pl, b, &set)))
		return st;
	dg_vk_cmd_dispatch(p->cmd, pl, set, push, (cq * xq + 63) / 64, k->hp, k->d0);
	return DG_OK;
}

/* The fast form of convolution c: the copies, a barrier, then the GEMM
 * (backward-data: one dispatch per output phase). */
static int conv_fast(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c,
		     const struct geo *g, const struct dg_vk_gemm_tiles *t, const struct fast *f)
{
	const struct dg_vk_pipeline *pl;
	struct dg_vk_bind binds[4];
	VkDescriptorSet set;
	uint32_t skipa, skipb, skipc, skipbias, khw = u32((uint64_t)g->kh * g->kw);
	uint32_t nimg = u32(c->in_node[0].dims[0]);
	int st, texel;

	for (unsigned i = 0; i < f->ncopy; i++)
		if ((st = record_copy(vk, p, &f->copy[i])))
			return st;
	dg_vk_cmd_barrier(p->cmd);
	const struct copy *cb = &f->copy[f->ncopy - 1];
	struct dg_bref a = f->mode == DG_GEMM_CONV_VEC4 ? (struct dg_bref){ &p->scratch, 0 } : g->a;
	struct dg_bref b = { &p->scratch, cb->off };
	uint64_t na = f->mode == DG_GEMM_CONV_VEC4 ? f->copy[0].floats : g->na, nb = cb->floats;
	texel = !env_on("DG_VK_GEMM_STORAGE") && texel_bind(vk, a, na, 4, &binds[0], &skipa) &&
		texel_bind(vk, b, nb, 4, &binds[1], &skipb);
	if (!texel) {
		storage_bind(vk, a, na, &binds[0], &skipa);
		storage_bind(vk, b, nb, &binds[1], &skipb);
		if (skipa % 4 || skipb % 4)
			return dg_error(DG_EINTERNAL, "vulkan backend: %s: operands at offsets a "
					"vec4 load cannot reach", dg_opdefs[c->n.op].name);
	}
	/* binding 2 without a bias: B, which nothing in the call's GEMM writes */
	storage_bind(vk, c->out, c->n.count, &binds[3], &skipc);
	storage_bind(vk, c->bias.buf ? c->bias : b, c->bias.buf ? g->m : nb, &binds[2], &skipbias);
	/* vec4 stores: the forward's output planes of a multiple of 4 */
	uint32_t out4 = g->mode == DG_GEMM_CONV && t->tn % 4 == 0 && ((uint64_t)g->oh * g->ow) % 4 == 0 &&
			skipc % 4 == 0;
	uint32_t spec[11] = { t->wgm, t->wgn, t->tm, t->tn, (uint32_t)f->mode, 0, 0, 1, c->act,
			      c->bias.buf != NULL, out4 };
	if ((st = dg_vk_pipeline_get_kinds(vk, texel ? "gemm_texel" : "gemm_storage",
					   texel ? "qqss" : "ssss", 31 * 4, spec, 11, &pl)) ||
	    (st = dg_vk_descs_alloc(p->descs, pl, binds, &set)))
		return st;
	uint32_t push[31] = { g->m, 0, g->k, 0, skipa, skipb, skipbias, skipc, 0, 0, 0,
			      dg_vkk_f2u(c->alpha) };
	int32_t *e = (int32_t *)(push + 12);
	uint32_t gy = (g->m + t->wgm * t->tm - 1) / (t->wgm * t->tm), tile_n = t->wgn * t->tn;
	int32_t cq = (int32_t)f->cq, wpad = (int32_t)f->wpad, hwpad = (int32_t)(f->hpad * f->wpad);
	if (f->wgrad) {
		int32_t v[18] = { cq, wpad, hwpad, (int32_t)f->copy[0].plane / 4, g->ow,
				  g->oh << 10 | 1 << 20, g->ow << 10 | 1 << 20, 0, g->s, 0, g->s,
				  g->kw, (int32_t)khw, g->d, 1, 0, g->kw, g->ci * (int32_t)khw };
		memcpy(e, v, sizeof v);
		push[1] = u32(g->ci) * khw;
		push[10] = khw;
		dg_vk_cmd_dispatch(p->cmd, pl, set, push, (push[1] + tile_n - 1) / tile_n, gy, 1);
		return DG_OK;
	}
	if (g->mode == DG_GEMM_CONV) {
		int32_t v[18] = { cq, wpad, hwpad, (int32_t)f->copy[0].plane / 4, g->kw,
				  g->kh << 10 | 1 << 20,
				  g->kw << 10 | 1 << 20, 0, g->d, 0, g->d, g->ow, g->oh * g->ow,
				  g->s, 1, 0, g->ow, g->oh * g->ow };
		memcpy(e, v, sizeof v);
		push[1] = nimg * u32((uint64_t)g->oh * g->ow);
		push[10] = g->m * u32((uint64_t)g->oh * g->ow);
		dg_vk_cmd_dispatch(p->cmd, pl, set, push, (push[1] + tile_n - 1) / tile_n, gy, 1);
		return DG_OK;
	}
	/* Backward-data, per output phase (h mod s, w mod s): the grid of
	 * its pixels, the taps that reach them (none: zeros). */
	push[10] = g->m * u32((uint64_t)g->h * g->w);
	for (int32_t ph = 0; ph < g->s && ph < g->h; ph++) {
		for (int32_t pw = 0; pw < g->s && pw < g->w; pw++) {
			int32_t hp = (g->h - ph + g->s - 1) / g->s, wp = (g->w - pw + g->s - 1) / g->s;
			int32_t tu[4], tv[4];
			taps(ph, g->ph, g->d, g->s, g->kh, tu);
			taps(pw, g->pw, g->d, g->s, g->kw, tv);
			int32_t v[18] = { cq, wpad, hwpad, (int32_t)f->copy[0].plane / 4, g->kw,
					  tu[0] | tu[1] << 10 | tu[2] << 20,
					  tv[0] | tv[1] << 10 | tv[2] << 20,
					  (int32_t)f->ptop + tu[3], -(tu[2] * g->d / g->s),
					  (int32_t)f->pleft + tv[3], -(tv[2] * g->d / g->s),
					  wp, hp * wp, 1, g->s, ph | pw << 16, g->w, g->h * g->w };
			memcpy(e, v, sizeof v);
			push[1] = nimg * u32((uint64_t)hp * wp);
			dg_vk_cmd_dispatch(p->cmd, pl, set, push, (push[1] + tile_n - 1) / tile_n,
					   gy, 1);
		}
	}
	return DG_OK;
}

int dg_vkk_gemm(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	struct dg_vk_gemm_tiles t;
	struct fast f;
	struct geo g;
	int st;

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
	if (p->scratch.buffer && fast_plan(vk, c, &g, &t, &f) && f.bytes <= p->scratch.size)
		return conv_fast(vk, p, c, &g, &t, &f);
	return gemm_direct(vk, p, c, g, t);
}
