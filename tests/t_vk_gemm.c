/* t_vk_gemm.c — the vulkan backend's matmul and convolution recorders
 * (vk/vk_k_gemm.c, shaders/gemm.glsl) against a double-precision C
 * reference, calling the recorder directly with hand-made kernel calls:
 * odd sizes, 1×1, K = 1, tall and skinny, every transpose combination,
 * batches with shared and batched B, the fused bias and each activation,
 * convolutions with strides, padding, dilation, backward data (with
 * output padding) and filter — in their channels-last form (working
 * memory given, as a step gives it) and their direct one — tensors at
 * offsets that are not aligned for texel views, and the storage-buffer
 * variant.
 *
 * Tolerance: |got - ref| <= 1e-5 · Σ|a·b| + 1e-6 per element, where Σ|a·b|
 * sums the magnitudes of the element's products (a float sum of K terms
 * is within about K·2^-24 of that; 1e-5 allows K up to ~160 at worst case
 * and far more at the typical √K).  Elements around the output are
 * checked to be untouched.  A few cases run on a device opened with the
 * validation layer too (in a child process), which must report nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dg/error.h"
#include "dg/rng.h"
#include "vk/vk_kernels.h"
#include "tap.h"

#define GUARD 5   /* floats checked before and after the output */

static struct dg_vk *vk;
/* Where run_call puts tensors: at 64-byte offsets, as the engine does
 * (the vec4 path applies), or at odd float offsets (views start below
 * the tensor and float texels are used). */
static int misalign;

/* One case: a matmul (op OP_MATMUL) or a convolution. */
struct mm {
	unsigned batch, m, n, k;
	int ta, tb, bshared, bias, act;
};
struct cv {
	int op;                  /* OP_CONV, OP_CONV_BWD_DATA, OP_CONV_BWD_FILTER */
	unsigned n, c, h, w, o, kh, kw, s, p, d;
	int bias, act;
	unsigned extra;          /* bwd-data: output padding (rows and cols past the reach) */
	/* Padding per side (above, below, left, right) when any is set;
	 * else p on every side. */
	unsigned side[4];
};

/* t's padding above, below, left and right. */
static void sides(const struct cv *t, unsigned *pad)
{
	int any = t->side[0] || t->side[1] || t->side[2] || t->side[3];
	for (int i = 0; i < 4; i++)
		pad[i] = any ? t->side[i] : t->p;
}

static double act_ref(int act, double alpha, double v)
{
	switch (act) {
	case DG_ACT_RELU: return v > 0 ? v : 0;
	case DG_ACT_LEAKY_RELU: return v > 0 ? v : alpha * v;
	case DG_ACT_ELU: return v > 0 ? v : alpha * expm1(v);
	case DG_ACT_TANH: return tanh(v);
	case DG_ACT_SIGMOID: return 1 / (1 + exp(-v));
	case DG_ACT_SOFTPLUS: return log1p(exp(v));
	}
	return v;
}

static void set_node(struct dg_node *n, int op, unsigned rank, const uint64_t *dims)
{
	memset(n, 0, sizeof *n);
	n->op = (uint16_t)op;
	n->dtype = DG_F32;
	n->rank = (uint8_t)rank;
	n->count = 1;
	for (unsigned i = 0; i < rank; i++) {
		n->dims[i] = dims[i];
		n->count *= dims[i];
	}
}

/* Runs call c, whose inputs are host arrays x[0..nin-1] (and bias), on
 * the device: every tensor is placed in one buffer at a 64-byte offset,
 * or with misalign at an odd float offset, the output in another with
 * GUARD sentinels around it.  Returns the output (malloc'd), or NULL
 * with a diagnostic. */
static float *run_call(struct dg_vk *v, struct dg_kcall *c, float *const *x,
		       const float *bias, uint64_t nbias)
{
	struct dg_vk_hostbuf in, out;
	struct vkprog p = {0};
	uint64_t off[DG_NODE_MAXIN + 1], total = 0, nout = c->n.count;
	unsigned nin = c->n.nin;
	float *res = NULL;
	int st;

	for (unsigned i = 0; i <= nin; i++) {
		uint64_t cnt = i < nin ? c->in_node[i].count : nbias;
		off[i] = misalign ? total + 1 + 2 * i : (total + 16) & ~(uint64_t)15;
		total = off[i] + cnt;
	}
	if ((st = dg_vk_hostbuf_create(v, total * 4, 0, &in)))
		goto fail0;
	if ((st = dg_vk_hostbuf_create(v, (nout + 2 * GUARD + 3) * 4, 1, &out))) {
		dg_vk_hostbuf_destroy(v, &in);
		goto fail0;
	}
	float *fi = in.map, *fo = out.map;
	for (unsigned i = 0; i < nin; i++) {
		memcpy(fi + off[i], x[i], c->in_node[i].count * 4);
		c->in[i] = (struct dg_bref){ &in.dev, off[i] * 4 };
	}
	if (bias) {
		memcpy(fi + off[nin], bias, nbias * 4);
		c->bias = (struct dg_bref){ &in.dev, off[nin] * 4 };
	}
	for (uint64_t i = 0; i < nout + 2 * GUARD + 3; i++)
		fo[i] = -1234.5f;
	c->out = (struct dg_bref){ &out.dev, (GUARD + 3) * 4 };
	if ((st = dg_vk_hostbuf_flush(v, &in)) || (st = dg_vk_hostbuf_flush(v, &out)) ||
	    (st = dg_vk_cmd_create(v, 0, &p.cmd)) || (st = dg_vk_descs_create(v, 8, &p.descs)) ||
	    (st = dg_vk_cmd_begin(p.cmd)))
		goto fail;
	/* working memory, as backend_vk.c gives a step's calls */
	uint64_t scratch = dg_vkk_gemm_scratch(v, c);
	if (scratch && (st = dg_vk_buffer_create(v, scratch, DG_VK_MEM_DEVICE, &p.scratch)))
		goto fail;
	dg_vk_cmd_upload(p.cmd, &in);
	/* The output staging buffer starts with the sentinels too. */
	if (out.stage.buffer)
		dg_vk_cmd_copy(p.cmd, &out.stage, 0, &out.dev, 0, out.dev.size);
	dg_vk_cmd_barrier(p.cmd);
	if ((st = dg_vkk_gemm(v, &p, c)))
		goto fail;
	dg_vk_cmd_download(p.cmd, &out);
	if ((st = dg_vk_cmd_end(p.cmd)) || (st = dg_vk_cmd_run(p.cmd)) ||
	    (st = dg_vk_hostbuf_invalidate(v, &out)))
		goto fail;
	res = malloc((nout + 2 * GUARD) * 4);
	if (res)
		memcpy(res, fo + 3, (nout + 2 * GUARD) * 4);
fail:
	if (st)
		diag("run: %s", dg_errmsg());
	dg_vk_cmd_destroy(p.cmd);
	dg_vk_descs_destroy(p.descs);
	dg_vk_buffer_destroy(v, &p.scratch);
	dg_vk_hostbuf_destroy(v, &in);
	dg_vk_hostbuf_destroy(v, &out);
	return res;
fail0:
	diag("buffers: %s", dg_errmsg());
	return NULL;
}

/* Compares got (with GUARD sentinels each side) against ref/mag. */
static int check(const char *name, const float *got, const double *ref, const double *mag,
		 uint64_t n)
{
	double worst = 0;
	uint64_t bad = 0, where = 0, guards = 0;
	if (!got) {
		ok(0, "%s: ran", name);
		return 0;
	}
	for (uint64_t i = 0; i < GUARD; i++)
		guards += got[i] != -1234.5f || got[GUARD + n + i] != -1234.5f;
	for (uint64_t i = 0; i < n; i++) {
		double e = fabs(got[GUARD + i] - ref[i]), tol = 1e-5 * mag[i] + 1e-6;
		if (!(e <= tol)) {
			if (!bad)
				where = i;
			bad++;
		}
		if (e / (mag[i] + 1e-30) > worst)
			worst = e / (mag[i] + 1e-30);
	}
	const char *tiles = getenv("DG_VK_GEMM_TILES");
	int good = ok(!bad && !guards, "%s%s%s%s%s%s", name, misalign ? " [misaligned]" : "",
		      getenv("DG_VK_GEMM_STORAGE") ? " [storage]" : "", tiles ? " [tiles " : "",
		      tiles ? tiles : "", tiles ? "]" : "");
	if (!good)
		diag("  %llu of %llu wrong (first at %llu: got %.9g, want %.9g), %llu guard "
		     "floats overwritten", (unsigned long long)bad, (unsigned long long)n,
		     (unsigned long long)where, got[GUARD + where], ref[where],
		     (unsigned long long)guards);
	else if (worst > 1e-6)
		diag("  worst relative error %.3g", worst);
	return good;
}

static float *randn(uint64_t n, uint64_t stream)
{
	float *v = malloc(n * sizeof *v);
	if (v)
		dg_rng_normal(42, stream, 0, v, n);
	return v;
}

static const float ALPHA[] = { 0, 0, 0.2f, 1.0f, 0, 0, 0 };

static int test_mm(struct dg_vk *v, const struct mm *t)
{
	uint64_t ad[3], bd[3], cd[3];
	unsigned ar = t->batch > 1 ? 3 : 2, br = t->batch > 1 && !t->bshared ? 3 : 2;
	struct dg_kcall c;
	char name[160];

	memset(&c, 0, sizeof c);
	ad[0] = bd[0] = cd[0] = t->batch;
	ad[ar - 2] = t->ta ? t->k : t->m, ad[ar - 1] = t->ta ? t->m : t->k;
	bd[br - 2] = t->tb ? t->n : t->k, bd[br - 1] = t->tb ? t->k : t->n;
	cd[ar - 2] = t->m, cd[ar - 1] = t->n;
	set_node(&c.in_node[0], OP_INPUT, ar, ad);
	set_node(&c.in_node[1], OP_INPUT, br, bd);
	set_node(&c.n, OP_MATMUL, ar, cd);
	c.n.nin = 2;
	c.n.ia[0] = t->ta, c.n.ia[1] = t->tb;
	c.act = (uint8_t)t->act;
	c.alpha = ALPHA[t->act];
	float *a = randn(c.in_node[0].count, 1), *b = randn(c.in_node[1].count, 2);
	float *bias = t->bias ? randn(t->n, 3) : NULL, *x[2] = { a, b };
	double *ref = malloc(c.n.count * sizeof *ref), *mag = malloc(c.n.count * sizeof *mag);
	for (unsigned z = 0; z < t->batch; z++)
		for (unsigned i = 0; i < t->m; i++)
			for (unsigned j = 0; j < t->n; j++) {
				const float *az = a + (uint64_t)z * t->m * t->k;
				const float *bz = b + (br == 3 ? (uint64_t)z * t->k * t->n : 0);
				double s = 0, sa = 0;
				for (unsigned l = 0; l < t->k; l++) {
					double p = (double)(t->ta ? az[l * t->m + i] : az[i * t->k + l]) *
						   (t->tb ? bz[j * t->k + l] : bz[l * t->n + j]);
					s += p;
					sa += fabs(p);
				}
				if (bias)
					s += bias[j], sa += fabs(bias[j]);
				uint64_t o = ((uint64_t)z * t->m + i) * t->n + j;
				ref[o] = act_ref(t->act, ALPHA[t->act], s);
				mag[o] = sa;
			}
	float *got = run_call(v, &c, x, bias, t->n);
	snprintf(name, sizeof name, "matmul %s%ux%ux%u%s%s%s%s act %d",
		 t->batch > 1 ? "batch " : "", t->m, t->n, t->k, t->ta ? " ta" : "",
		 t->tb ? " tb" : "", t->batch > 1 ? (t->bshared ? " shared-B" : " batched-B") : "",
		 t->bias ? " +bias" : "", t->act);
	if (t->batch > 1)
		snprintf(name + strlen(name), sizeof name - strlen(name), " (batch %u)", t->batch);
	int r = check(name, got, ref, mag, c.n.count);
	free(a), free(b), free(bias), free(ref), free(mag), free(got);
	return r;
}

static unsigned conv_out(unsigned in, unsigned k, unsigned s, unsigned lo, unsigned hi, unsigned d)
{
	return (in + lo + hi - d * (k - 1) - 1) / s + 1;
}

static int test_conv(struct dg_vk *v, const struct cv *t)
{
	unsigned pad[4];
	sides(t, pad);
	unsigned oh = conv_out(t->h, t->kh, t->s, pad[0], pad[1], t->d);
	unsigned ow = conv_out(t->w, t->kw, t->s, pad[2], pad[3], t->d);
	/* bwd-data with output padding: x is larger than what reaches y */
	unsigned h = t->h + t->extra, w = t->w + t->extra;
	uint64_t xd[4] = { t->n, t->c, h, w }, wd[4] = { t->o, t->c, t->kh, t->kw };
	uint64_t yd[4] = { t->n, t->o, oh, ow };
	struct dg_kcall c;
	char name[200];
	double *acc, *mag;

	memset(&c, 0, sizeof c);
	uint64_t nx = (uint64_t)t->n * t->c * h * w, nw = (uint64_t)t->o * t->c * t->kh * t->kw;
	uint64_t ny = (uint64_t)t->n * t->o * oh * ow;
	float *X = randn(nx, 4), *W = randn(nw, 5), *Y = randn(ny, 6);
	float *bias = t->bias ? randn(t->o, 7) : NULL, *x[2];
	switch (t->op) {
	case OP_CONV:
		set_node(&c.in_node[0], OP_INPUT, 4, xd);
		set_node(&c.in_node[1], OP_INPUT, 4, wd);
		set_node(&c.n, OP_CONV, 4, yd);
		x[0] = X, x[1] = W;
		break;
	case OP_CONV_BWD_DATA:
		set_node(&c.in_node[0], OP_INPUT, 4, yd);
		set_node(&c.in_node[1], OP_INPUT, 4, wd);
		set_node(&c.n, OP_CONV_BWD_DATA, 4, xd);
		x[0] = Y, x[1] = W;
		break;
	default:
		set_node(&c.in_node[0], OP_INPUT, 4, xd);
		set_node(&c.in_node[1], OP_INPUT, 4, yd);
		set_node(&c.n, OP_CONV_BWD_FILTER, 4, wd);
		x[0] = X, x[1] = Y;
		break;
	}
	c.n.nin = 2;
	c.n.ia[DG_CA_STRIDE] = t->s, c.n.ia[DG_CA_DIL] = t->d;
	c.n.ia[DG_CA_TOP] = pad[0], c.n.ia[DG_CA_BOTTOM] = pad[1];
	c.n.ia[DG_CA_LEFT] = pad[2], c.n.ia[DG_CA_RIGHT] = pad[3];
	c.act = (uint8_t)t->act;
	c.alpha = ALPHA[t->act];
	acc = calloc(c.n.count, sizeof *acc);
	mag = calloc(c.n.count, sizeof *mag);
	/* The one loop nest all three share: every (n, o, i, j, c, u, v)
	 * product y[n,o,i,j] ~ x[n,c,hh,ww]·w[o,c,u,v], accumulated where
	 * each op's output is. */
	for (unsigned n = 0; n < t->n; n++)
		for (unsigned o = 0; o < t->o; o++)
			for (unsigned i = 0; i < oh; i++)
				for (unsigned j = 0; j < ow; j++)
					for (unsigned ch = 0; ch < t->c; ch++)
						for (unsigned u = 0; u < t->kh; u++)
							for (unsigned q = 0; q < t->kw; q++) {
		long hh = (long)(i * t->s + u * t->d) - pad[0], ww = (long)(j * t->s + q * t->d) - pad[2];
		if (hh < 0 || ww < 0 || hh >= (long)h || ww >= (long)w)
			continue;
		uint64_t xi = (((uint64_t)n * t->c + ch) * h + hh) * w + ww;
		uint64_t wi = (((uint64_t)o * t->c + ch) * t->kh + u) * t->kw + q;
		uint64_t yi = (((uint64_t)n * t->o + o) * oh + i) * ow + j;
		double pr;
		uint64_t at;
		if (t->op == OP_CONV)
			pr = (double)X[xi] * W[wi], at = yi;
		else if (t->op == OP_CONV_BWD_DATA)
			pr = (double)Y[yi] * W[wi], at = xi;
		else
			pr = (double)Y[yi] * X[xi], at = wi;
		acc[at] += pr;
		mag[at] += fabs(pr);
	}
	if (t->op == OP_CONV)
		for (uint64_t e = 0; e < c.n.count; e++) {
			unsigned o = (unsigned)(e / ((uint64_t)oh * ow) % t->o);
			if (bias)
				acc[e] += bias[o], mag[e] += fabs(bias[o]);
			acc[e] = act_ref(t->act, ALPHA[t->act], acc[e]);
		}
	float *got = run_call(v, &c, x, bias, t->o);
	snprintf(name, sizeof name, "%s x %ux%ux%ux%u w %ux%ux%ux%u stride %u pad %u %u %u %u "
		 "dilation %u%s%s", t->op == OP_CONV ? "conv" : t->op == OP_CONV_BWD_DATA ?
		 "conv bwd-data" : "conv bwd-filter", t->n, t->c, h, w, t->o, t->c, t->kh, t->kw,
		 t->s, pad[0], pad[1], pad[2], pad[3], t->d,
		 t->bias ? " +bias" : "", t->extra ? " +output padding" : "");
	if (t->act)
		snprintf(name + strlen(name), sizeof name - strlen(name), " act %d", t->act);
	int r = check(name, got, acc, mag, c.n.count);
	free(X), free(W), free(Y), free(bias), free(acc), free(mag), free(got);
	return r;
}

static const struct mm mms[] = {
	/* batch m n k ta tb bshared bias act */
	{ 1, 1, 1, 1, 0, 0, 0, 0, 0 },
	{ 1, 1, 1, 9, 0, 0, 0, 0, 0 },
	{ 1, 7, 5, 1, 0, 0, 0, 0, 0 },                  /* K = 1 */
	{ 1, 5, 7, 3, 0, 0, 0, 0, 0 },
	{ 1, 5, 7, 3, 1, 0, 0, 0, 0 },
	{ 1, 5, 7, 3, 0, 1, 0, 0, 0 },
	{ 1, 5, 7, 3, 1, 1, 0, 0, 0 },
	{ 1, 37, 53, 29, 0, 0, 0, 0, 0 },
	{ 1, 37, 53, 29, 1, 0, 0, 0, 0 },
	{ 1, 37, 53, 29, 0, 1, 0, 0, 0 },
	{ 1, 37, 53, 29, 1, 1, 0, 0, 0 },
	{ 1, 64, 24, 16, 0, 0, 0, 0, 0 },               /* exactly one tile */
	{ 1, 65, 25, 17, 0, 1, 0, 1, 1 },               /* one past it */
	{ 1, 1000, 3, 17, 0, 0, 0, 0, 0 },              /* tall and skinny */
	{ 1, 3, 1000, 17, 1, 0, 0, 0, 0 },              /* short and wide */
	{ 1, 2, 3, 3000, 0, 1, 0, 0, 0 },               /* long K */
	{ 3, 13, 11, 7, 0, 0, 1, 0, 0 },
	{ 3, 13, 11, 7, 0, 1, 0, 0, 0 },
	{ 3, 13, 11, 7, 1, 0, 0, 0, 0 },
	{ 2, 13, 11, 7, 1, 1, 1, 1, 1 },
	{ 1, 128, 400, 784, 0, 1, 0, 1, DG_ACT_RELU },  /* the VAE's fc1 */
	{ 1, 128, 784, 400, 0, 0, 0, 0, 0 },
	{ 1, 400, 784, 128, 1, 0, 0, 0, 0 },
	{ 1, 33, 29, 17, 0, 0, 0, 1, DG_ACT_NONE },
	{ 1, 33, 29, 17, 0, 0, 0, 1, DG_ACT_RELU },
	{ 1, 33, 29, 17, 0, 0, 0, 1, DG_ACT_LEAKY_RELU },
	{ 1, 33, 29, 17, 0, 0, 0, 1, DG_ACT_ELU },
	{ 1, 33, 29, 17, 0, 0, 0, 1, DG_ACT_TANH },
	{ 1, 33, 29, 17, 0, 0, 0, 1, DG_ACT_SIGMOID },
	{ 1, 33, 29, 17, 0, 0, 0, 1, DG_ACT_SOFTPLUS },
	{ 1, 33, 29, 17, 1, 1, 0, 0, DG_ACT_TANH },     /* act without bias */
	/* few rows, many columns: computed as Cᵀ and stored transposed */
	{ 1, 20, 400, 128, 1, 0, 0, 0, 0 },             /* a VAE weight gradient */
	{ 1, 5, 97, 13, 0, 0, 0, 0, 0 },
	{ 1, 3, 50, 7, 0, 1, 0, 0, 0 },
	{ 3, 6, 50, 8, 1, 1, 1, 0, 0 },                 /* shared B becomes shared A */
	{ 2, 7, 60, 9, 0, 0, 0, 0, 0 },
	{ 1, 5, 97, 13, 0, 0, 0, 1, 0 },                /* with a bias: not swapped */
};

/* Geometries; each runs forward (with bias + an activation), backward
 * data and backward filter. */
static const struct cv cvs[] = {
	/* op n c h w o kh kw s p d bias act extra */
	{ 0, 2, 3, 7, 6, 5, 3, 3, 1, 1, 1, 1, DG_ACT_LEAKY_RELU, 0, {0} },
	{ 0, 2, 2, 9, 7, 3, 3, 2, 2, 1, 2, 1, DG_ACT_RELU, 0, {0} },
	{ 0, 1, 1, 5, 5, 1, 1, 1, 1, 0, 1, 0, 0, 0, {0} },             /* 1×1 */
	{ 0, 3, 4, 8, 8, 6, 4, 4, 2, 1, 1, 0, 0, 0, {0} },             /* DCGAN-like */
	{ 0, 2, 3, 10, 9, 4, 3, 3, 3, 2, 1, 0, 0, 0, {0} },
	{ 0, 1, 5, 6, 7, 2, 5, 5, 1, 2, 1, 0, 0, 0, {0} },             /* 5×5, pad 2 */
	{ 0, 2, 3, 11, 11, 4, 3, 3, 1, 0, 3, 0, 0, 0, {0} },          /* dilation 3 */
	{ 0, 2, 3, 7, 7, 4, 3, 3, 2, 1, 1, 0, 0, 1, {0} },             /* output padding */
	{ 0, 1, 17, 5, 4, 19, 2, 3, 1, 0, 1, 1, DG_ACT_NONE, 0, {0} },  /* bias alone */
	/* the channels-last form's edges: widths that are multiples of 4
	 * (vec4 copies), channels (and, for backward-filter, images) padded
	 * to 4, strides with dilation, a kernel smaller than the stride
	 * (output phases no tap reaches), the DCGAN layer at a small batch */
	{ 0, 2, 5, 12, 12, 6, 3, 3, 1, 1, 1, 1, DG_ACT_ELU, 0, {0} },
	{ 0, 2, 3, 9, 8, 4, 3, 3, 2, 2, 2, 0, 0, 0, {0} },
	{ 0, 1, 4, 10, 10, 3, 2, 2, 3, 0, 1, 0, 0, 0, {0} },
	{ 0, 2, 16, 16, 16, 8, 4, 4, 2, 1, 1, 1, DG_ACT_LEAKY_RELU, 0, {0} },
	/* padding that differs per side: PixelCNN's masked 3×3 cut to the
	 * 2×3 of taps it keeps, Gated PixelCNN's stacks (2×3 from above,
	 * 1×2 from the left), and with stride and dilation */
	{ 0, 2, 5, 9, 8, 4, 2, 3, 1, 0, 1, 1, DG_ACT_RELU, 0, {1, 0, 1, 1} },
	{ 0, 2, 4, 8, 8, 3, 1, 2, 1, 0, 1, 0, 0, 0, {0, 0, 1, 0} },
	{ 0, 1, 3, 11, 10, 2, 3, 2, 2, 0, 2, 0, 0, 0, {3, 1, 0, 2} },
};

/* Every case, or (quick) a few that cover each mode, transposes, the
 * vec4 path and edges: each new combination is a pipeline that lavapipe
 * compiles in about a second, which is what bounds this test's time. */
static void run_all(struct dg_vk *v, int quick)
{
	static const size_t quick_mm[] = { 6, 12, 19, 21 }, quick_cv[] = { 1, 7, 9, 12, 13, 15 };
	size_t nm = quick ? 4 : sizeof mms / sizeof *mms;
	size_t nc = quick ? sizeof quick_cv / sizeof *quick_cv : sizeof cvs / sizeof *cvs;
	for (size_t i = 0; i < nm; i++)
		test_mm(v, &mms[quick ? quick_mm[i] : i]);
	for (size_t i = 0; i < nc; i++) {
		struct cv t = cvs[quick ? quick_cv[i] : i];
		if (!t.extra) {
			t.op = OP_CONV;
			test_conv(v, &t);
			if (t.bias || t.act) {
				t.bias = 0, t.act = 0;
				test_conv(v, &t);
			}
		}
		t.bias = 0, t.act = 0;
		t.op = OP_CONV_BWD_DATA;
		test_conv(v, &t);
		if (!t.extra) {
			t.op = OP_CONV_BWD_FILTER;
			test_conv(v, &t);
		}
	}
}

/* Refusals: what the recorder cannot do comes back as DG_ENODEV. */
static void test_refusals(void)
{
	struct dg_kcall c;
	struct vkprog p = {0};
	uint64_t d[2] = { 2, 2 };
	memset(&c, 0, sizeof c);
	set_node(&c.in_node[0], OP_INPUT, 2, d);
	set_node(&c.in_node[1], OP_INPUT, 2, d);
	set_node(&c.n, OP_MATMUL, 2, d);
	c.n.nin = 2;
	c.in_node[1].dtype = DG_I32;
	is_int(dg_vkk_gemm(vk, &p, &c), DG_ENODEV, "an i32 operand is refused: %s", dg_errmsg());
	c.in_node[1].dtype = DG_F32;
	c.act = 99;
	is_int(dg_vkk_gemm(vk, &p, &c), DG_ENODEV, "an unknown activation is refused");
}

/* The validation pass, in a child process started before this process
 * touches Vulkan: cases on a device opened with the validation layer,
 * which must report nothing.  A child because the layer (C++, unloaded
 * with its instance) leaves allocations that LeakSanitizer would report
 * without symbols; the child ends with _exit, and its exit status says
 * 0 all passed, 1 a case failed, 2 the layer reported errors or
 * warnings, 3 the layer is not installed. */
static int validation_child(void)
{
	struct dg_vk *v2;
	if (!freopen("/dev/null", "w", stdout) || dg_vk_open(0, DG_VK_VALIDATE, &v2))
		return 3;
	test_mm(v2, &mms[12]);
	test_mm(v2, &mms[21]);   /* vec4 texels */
	struct cv t = cvs[1];
	t.op = OP_CONV;
	test_conv(v2, &t);
	t.op = OP_CONV_BWD_DATA, t.bias = 0, t.act = 0;
	test_conv(v2, &t);
	t.op = OP_CONV_BWD_FILTER;
	test_conv(v2, &t);
	misalign = 1;
	test_mm(v2, &mms[19]);   /* float texels, views below the tensors */
	setenv("DG_VK_GEMM_STORAGE", "1", 1);
	test_mm(v2, &mms[19]);
	int bad = v2->validation_errors || v2->validation_warnings;
	if (bad)
		fprintf(stderr, "t_vk_gemm: validation: %u errors, %u warnings\n",
			v2->validation_errors, v2->validation_warnings);
	dg_vk_close(v2);
	fflush(stdout);
	return tap_failed ? 1 : bad ? 2 : 0;
}

int main(void)
{
	const char *val = getenv("DG_VK_VALIDATION");
	int validating = val && *val && strcmp(val, "0"), child = -1;
	pid_t pid = validating ? -1 : fork();

	if (pid == 0)
		_exit(validation_child());
	if (pid > 0) {
		int status;
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			child = WEXITSTATUS(status);
	}
	int st = dg_vk_open(0, 0, &vk);
	if (st) {
		printf("1..0 # skip no Vulkan device: %s\n", dg_errmsg());
		return 0;
	}
	diag("device %s, texel alignment %llu, max texel elements %u", vk->props.name,
	     (unsigned long long)vk->props.min_texel_offset_align,
	     vk->props.max_texel_buffer_elements);
	run_all(vk, validating);
	misalign = 1;
	run_all(vk, 1);
	misalign = 0;
	/* The convolutions' direct form (what a step without working memory
	 * records), forced. */
	setenv("DG_VK_CONV_DIRECT", "1", 1);
	for (size_t i = 0; i < sizeof cvs / sizeof *cvs; i++) {
		struct cv t = cvs[i];
		if (!t.extra) {
			t.op = OP_CONV;
			test_conv(vk, &t);
		}
		t.bias = 0, t.act = 0;
		t.op = OP_CONV_BWD_DATA;
		test_conv(vk, &t);
		if (!t.extra) {
			t.op = OP_CONV_BWD_FILTER;
			test_conv(vk, &t);
		}
	}
	unsetenv("DG_VK_CONV_DIRECT");
	/* The storage-buffer variant (what a tensor too large for a texel
	 * view gets), forced. */
	setenv("DG_VK_GEMM_STORAGE", "1", 1);
	run_all(vk, 1);
	unsetenv("DG_VK_GEMM_STORAGE");
	/* Other tile sizes must give the same results (edges move): a GPU-
	 * like 4×4 block (vec4 path) and an odd 3×5 one. */
	setenv("DG_VK_GEMM_TILES", "4x4/4x4", 1);
	test_mm(vk, &mms[12]);
	test_mm(vk, &mms[21]);
	setenv("DG_VK_GEMM_TILES", "3x5/4x3", 1);
	test_mm(vk, &mms[19]);
	for (int k = 0; k < 2; k++) {
		/* a GPU-like 4x4 block and an odd 3x5 one, on the DCGAN layer
		 * and on odd shapes */
		setenv("DG_VK_GEMM_TILES", k ? "3x5/4x3" : "4x4/4x4", 1);
		struct cv t = cvs[k ? 1 : 12];
		t.op = OP_CONV;
		test_conv(vk, &t);
		t.op = OP_CONV_BWD_DATA, t.bias = 0, t.act = 0;
		test_conv(vk, &t);
		t.op = OP_CONV_BWD_FILTER;
		test_conv(vk, &t);
	}
	unsetenv("DG_VK_GEMM_TILES");
	test_refusals();
	if (validating) {
		/* Run by a harness with the layer on (DG_VK_VALIDATION=1). */
		is_int(vk->validation_errors, 0, "validation layer: no errors");
		is_int(vk->validation_warnings, 0, "validation layer: no warnings");
	} else if (child == 3) {
		skip("validation layer not installed");
	} else {
		ok(child == 0, "cases pass under the validation layer, which reports nothing "
		   "(child status %d)", child);
	}
	dg_vk_close(vk);
	return done_testing();
}
