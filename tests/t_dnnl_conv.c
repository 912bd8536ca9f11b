/* t_dnnl_conv.c — the oneDNN layer's convolution and transposed
 * convolution plans (forward with bias + activation, backward-data,
 * backward-weights + bias) against double-precision references on odd
 * shapes with stride, padding and dilation; grouped and 3-d ones too. */
#include "cpu/dnnl.h"     /* internal: links libdg-internal.a */
#include "t_dnnl_util.h"

#define IDX4(a, b, c, d, B, C, D) ((((size_t)(a) * (B) + (b)) * (C) + (c)) * (D) + (d))

/* One loop nest serves every reference: visits each (n, o, i, y, x, ky,
 * kx) where input pixel (h, w) of the convolution's input meets output
 * pixel (y, x) through kernel tap (ky, kx).  For a convolution the
 * "input" is src and the output dst; a deconvolution is the same relation
 * read the other way round (its src is the convolution's output). */
struct rel {
	int n, ci, co, h, w, oh, ow, kh, kw, s, p, d;
};

enum which { FWD, BWD_DATA, BWD_W };

/* Convolution reference, Conv2d semantics: in N×ci×h×w, W co×ci×kh×kw,
 * out N×co×oh×ow.  FWD: out = conv(in, W); BWD_DATA: in = convᵀ(out, W);
 * BWD_W: W = sum in·out.  Accumulates into the zeroed target. */
static void conv_rel(const struct rel *r, enum which what, double *in, double *wt,
		     double *out)
{
	for (int n = 0; n < r->n; n++)
		for (int o = 0; o < r->co; o++)
			for (int y = 0; y < r->oh; y++)
				for (int x = 0; x < r->ow; x++)
					for (int i = 0; i < r->ci; i++)
						for (int ky = 0; ky < r->kh; ky++)
							for (int kx = 0; kx < r->kw; kx++) {
	int h = y * r->s - r->p + ky * r->d, w = x * r->s - r->p + kx * r->d;
	if (h < 0 || h >= r->h || w < 0 || w >= r->w)
		continue;
	size_t ii = IDX4(n, i, h, w, r->ci, r->h, r->w);
	size_t wi = IDX4(o, i, ky, kx, r->ci, r->kh, r->kw);
	size_t oi = IDX4(n, o, y, x, r->co, r->oh, r->ow);
	if (what == FWD)
		out[oi] += in[ii] * wt[wi];
	else if (what == BWD_DATA)
		in[ii] += out[oi] * wt[wi];
	else
		wt[wi] += in[ii] * out[oi];
							}
}

static double *todouble(const float *f, size_t n)
{
	double *d = dbuf(n);
	for (size_t i = 0; i < n; i++)
		d[i] = f[i];
	return d;
}

/* <conv(x), g> = <x, convᵀ(g)> and = <W, bwd_w(x, g)>: checks that the
 * three reference relations are adjoint, so the references of the
 * gradients are right whatever the forward is. */
static void test_adjoint(const struct rel *r)
{
	size_t ni = (size_t)r->n * r->ci * r->h * r->w, nw = (size_t)r->co * r->ci * r->kh * r->kw;
	size_t no = (size_t)r->n * r->co * r->oh * r->ow;
	double *x = todouble(frand(ni, -1, 1), ni), *w = todouble(frand(nw, -1, 1), nw);
	double *g = todouble(frand(no, -1, 1), no), *y = dbuf(no), *dx = dbuf(ni), *dw = dbuf(nw);
	double a = 0, b = 0, c = 0;

	conv_rel(r, FWD, x, w, y);
	conv_rel(r, BWD_DATA, dx, w, g);
	conv_rel(r, BWD_W, x, dw, g);
	for (size_t i = 0; i < no; i++)
		a += y[i] * g[i];
	for (size_t i = 0; i < ni; i++)
		b += x[i] * dx[i];
	for (size_t i = 0; i < nw; i++)
		c += w[i] * dw[i];
	ok(fabs(a - b) < 1e-9 * (1 + fabs(a)) && fabs(a - c) < 1e-9 * (1 + fabs(a)),
	   "reference conv relations are adjoint (%.12g %.12g %.12g)", a, b, c);
}

static void test_conv(struct dg_dnnl_conv c, enum dg_dnnl_act act, double tol)
{
	int64_t oh, ow;
	char name[64];

	snprintf(name, sizeof name, "conv %lldx%lldx%lldx%lld->%lld k%lldx%lld s%lld p%lld d%lld",
		 (long long)c.n, (long long)c.ic, (long long)c.ih, (long long)c.iw,
		 (long long)c.oc, (long long)c.kh, (long long)c.kw, (long long)c.sh,
		 (long long)c.ph, (long long)c.dh);
	if (!ok(dg_dnnl_conv_out(&c, &oh, &ow) == 0, "%s: output size", name))
		return;
	struct rel r = { (int)c.n, (int)c.ic, (int)c.oc, (int)c.ih, (int)c.iw, (int)oh, (int)ow,
			 (int)c.kh, (int)c.kw, (int)c.sh, (int)c.ph, (int)c.dh };
	size_t ni = (size_t)c.n * c.ic * c.ih * c.iw, nw = (size_t)c.oc * c.ic * c.kh * c.kw;
	size_t no = (size_t)c.n * c.oc * oh * ow;
	float *x = frand(ni, -1, 1), *w = frand(nw, -1, 1), *b = frand(c.oc, -1, 1);
	float *y = fbuf(no), *g = frand(no, -1, 1), *dx = fbuf(ni), *dw = fbuf(nw);
	float *db = fbuf(c.oc);
	double *ry = dbuf(no), *rdx = dbuf(ni), *rdw = dbuf(nw), *rdb = dbuf(c.oc);
	struct dg_dnnl_plan *pf = NULL, *pd = NULL, *pw = NULL;
	char what[160];

	test_adjoint(&r);
	MAKE(pf, dg_dnnl_conv_fwd_plan(&pf, &c, DG_DNNL_BIAS, act, 0.1f));
	MAKE(pd, dg_dnnl_conv_bwd_data_plan(&pd, &c, 0));
	MAKE(pw, dg_dnnl_conv_bwd_weights_plan(&pw, &c, DG_DNNL_BIAS));
	RUN(pf, x, w, b, y);
	RUN(pd, g, w, dx);
	RUN(pw, x, g, dw, db);
	conv_rel(&r, FWD, todouble(x, ni), todouble(w, nw), ry);
	for (size_t i = 0; i < no; i++) {
		double v = ry[i] + b[(i / ((size_t)oh * ow)) % c.oc];
		ry[i] = act == DG_DNNL_RELU ? (v > 0 ? v : 0)
		      : act == DG_DNNL_LEAKY_RELU ? (v > 0 ? v : 0.1 * v) : v;
		rdb[(i / ((size_t)oh * ow)) % c.oc] += g[i];
	}
	conv_rel(&r, BWD_DATA, rdx, todouble(w, nw), todouble(g, no));
	conv_rel(&r, BWD_W, todouble(x, ni), rdw, todouble(g, no));
	snprintf(what, sizeof what, "%s forward (bias, act %d)", name, (int)act);
	check(what, y, ry, no, tol);
	snprintf(what, sizeof what, "%s backward-data", name);
	check(what, dx, rdx, ni, tol);
	snprintf(what, sizeof what, "%s backward-weights", name);
	check(what, dw, rdw, nw, tol);
	snprintf(what, sizeof what, "%s backward-bias", name);
	check(what, db, rdb, c.oc, tol);

	/* Determinism of the reduction-heavy plan. */
	float *dw2 = fbuf(nw), *db2 = fbuf(c.oc);
	RUN(pw, x, g, dw2, db2);
	ok(!memcmp(dw, dw2, nw * sizeof(float)) && !memcmp(db, db2, c.oc * sizeof(float)),
	   "%s backward-weights bit-identical twice", name);
	dg_dnnl_plan_free(pf);
	dg_dnnl_plan_free(pd);
	dg_dnnl_plan_free(pw);
}

/* Backward-weights reading backward-data's staged copy of the output
 * gradient (dg_dnnl_plan_share_input, as the cpu backend pairs them):
 * the same weight and bias gradients as its own copy gives, run after
 * run with new gradients, and the reference's. */
static void test_conv_shared_grad(struct dg_dnnl_conv c, double tol)
{
	int64_t oh, ow;
	if (!ok(dg_dnnl_conv_out(&c, &oh, &ow) == 0, "shared gradient: output size"))
		return;
	struct rel r = { (int)c.n, (int)c.ic, (int)c.oc, (int)c.ih, (int)c.iw, (int)oh, (int)ow,
			 (int)c.kh, (int)c.kw, (int)c.sh, (int)c.ph, (int)c.dh };
	size_t ni = (size_t)c.n * c.ic * c.ih * c.iw, nw = (size_t)c.oc * c.ic * c.kh * c.kw;
	size_t no = (size_t)c.n * c.oc * oh * ow;
	float *x = frand(ni, -1, 1), *w = frand(nw, -1, 1), *dx = fbuf(ni);
	float *dw = fbuf(nw), *db = fbuf(c.oc), *dw2 = fbuf(nw), *db2 = fbuf(c.oc);
	struct dg_dnnl_plan *pd = NULL, *pw = NULL, *pown = NULL;

	MAKE(pd, dg_dnnl_conv_bwd_data_plan(&pd, &c, 0));
	MAKE(pw, dg_dnnl_conv_bwd_weights_plan(&pw, &c, DG_DNNL_BIAS));
	MAKE(pown, dg_dnnl_conv_bwd_weights_plan(&pown, &c, DG_DNNL_BIAS));
	size_t before = dg_dnnl_plan_internal_bytes(pw);
	ok(dg_dnnl_plan_share_input(pd, 0, pw, 1) == 1,
	   "backward-weights shares backward-data's staged gradient");
	ok(dg_dnnl_plan_internal_bytes(pw) < before, "and drops its own staging buffer");
	ok(dg_dnnl_plan_share_input(pd, 1, pw, 0) == 0,
	   "slots of different layouts are not shared");
	int same = 1;
	double err = 0;
	for (int round = 0; round < 2; round++) {
		float *g = frand(no, -1, 1);
		double *rdw = dbuf(nw);
		RUN(pd, g, w, dx);
		RUN(pw, x, g, dw, db);
		RUN(pown, x, g, dw2, db2);
		same &= !memcmp(dw, dw2, nw * sizeof *dw) && !memcmp(db, db2, c.oc * sizeof *db);
		conv_rel(&r, BWD_W, todouble(x, ni), rdw, todouble(g, no));
		for (size_t i = 0; i < nw; i++)
			err = fmax(err, fabs(dw[i] - rdw[i]) / fmax(1, fabs(rdw[i])));
	}
	ok(same, "shared gradient: weight and bias gradients bit-identical to an unshared plan's");
	ok(err < tol, "shared gradient: weight gradients match the reference (max error %.2g)", err);
	dg_dnnl_plan_free(pd);
	dg_dnnl_plan_free(pw);
	dg_dnnl_plan_free(pown);
}

/* DG_DNNL_ACCUMULATE: dst += conv(src, W) + bias, through the plan's
 * blocked staging (dst is read in as well as written out). */
static void test_conv_accumulate(struct dg_dnnl_conv c, int deconv)
{
	int64_t oh, ow;

	if (deconv ? dg_dnnl_deconv_out(&c, &oh, &ow) : dg_dnnl_conv_out(&c, &oh, &ow))
		return;
	struct rel r = { (int)c.n, (int)c.ic, (int)c.oc, (int)c.ih, (int)c.iw, (int)oh, (int)ow,
			 (int)c.kh, (int)c.kw, (int)c.sh, (int)c.ph, (int)c.dh };
	if (deconv)
		r = (struct rel){ (int)c.n, (int)c.oc, (int)c.ic, (int)oh, (int)ow, (int)c.ih,
				  (int)c.iw, (int)c.kh, (int)c.kw, (int)c.sh, (int)c.ph, (int)c.dh };
	size_t ni = (size_t)c.n * c.ic * c.ih * c.iw, nw = (size_t)c.oc * c.ic * c.kh * c.kw;
	size_t no = (size_t)c.n * c.oc * oh * ow;
	float *x = frand(ni, -1, 1), *w = frand(nw, -1, 1), *b = frand(c.oc, -1, 1);
	float *y = frand(no, -1, 1);
	double *ry = dbuf(no);
	struct dg_dnnl_plan *p = NULL;

	for (size_t i = 0; i < no; i++)
		ry[i] = y[i] + b[(i / ((size_t)oh * ow)) % c.oc];
	if (deconv) {
		MAKE(p, dg_dnnl_deconv_fwd_plan(&p, &c, DG_DNNL_BIAS | DG_DNNL_ACCUMULATE,
						DG_DNNL_NONE, 0));
		conv_rel(&r, BWD_DATA, ry, todouble(w, nw), todouble(x, ni));
	} else {
		MAKE(p, dg_dnnl_conv_fwd_plan(&p, &c, DG_DNNL_BIAS | DG_DNNL_ACCUMULATE,
					      DG_DNNL_NONE, 0));
		conv_rel(&r, FWD, todouble(x, ni), todouble(w, nw), ry);
	}
	RUN(p, x, w, b, y);
	check(deconv ? "deconv forward accumulates into dst" : "conv forward accumulates into dst",
	      y, ry, no, 2e-5);
	if (p)
		diag("staging buffers: %zu bytes", dg_dnnl_plan_internal_bytes(p));
	dg_dnnl_plan_free(p);
}

/* The transposed convolution c (ic in, oc out, W ic×oc×kh×kw) is the
 * relation of the convolution from its output (oc channels) to its input
 * (ic channels) read backwards: deconv fwd = conv bwd-data, and so on. */
static void test_deconv(struct dg_dnnl_conv c, double tol)
{
	int64_t oh, ow;
	char name[64];

	snprintf(name, sizeof name, "deconv %lldx%lldx%lldx%lld->%lld k%lld s%lld p%lld d%lld op%lld",
		 (long long)c.n, (long long)c.ic, (long long)c.ih, (long long)c.iw,
		 (long long)c.oc, (long long)c.kh, (long long)c.sh, (long long)c.ph,
		 (long long)c.dh, (long long)c.oph);
	if (!ok(dg_dnnl_deconv_out(&c, &oh, &ow) == 0, "%s: output size", name))
		return;
	/* The convolution taking the deconv's output back to its input. */
	struct rel r = { (int)c.n, (int)c.oc, (int)c.ic, (int)oh, (int)ow, (int)c.ih, (int)c.iw,
			 (int)c.kh, (int)c.kw, (int)c.sh, (int)c.ph, (int)c.dh };
	size_t ni = (size_t)c.n * c.ic * c.ih * c.iw, nw = (size_t)c.oc * c.ic * c.kh * c.kw;
	size_t no = (size_t)c.n * c.oc * oh * ow;
	float *x = frand(ni, -1, 1), *w = frand(nw, -1, 1), *b = frand(c.oc, -1, 1);
	float *y = fbuf(no), *g = frand(no, -1, 1), *dx = fbuf(ni), *dw = fbuf(nw);
	float *db = fbuf(c.oc);
	double *ry = dbuf(no), *rdx = dbuf(ni), *rdw = dbuf(nw), *rdb = dbuf(c.oc);
	struct dg_dnnl_plan *pf = NULL, *pd = NULL, *pw = NULL;
	char what[160];

	MAKE(pf, dg_dnnl_deconv_fwd_plan(&pf, &c, DG_DNNL_BIAS, DG_DNNL_TANH, 0));
	MAKE(pd, dg_dnnl_deconv_bwd_data_plan(&pd, &c, 0));
	MAKE(pw, dg_dnnl_deconv_bwd_weights_plan(&pw, &c, DG_DNNL_BIAS));
	RUN(pf, x, w, b, y);
	RUN(pd, g, w, dx);
	RUN(pw, x, g, dw, db);
	/* W ic×oc×kh×kw is exactly that convolution's co×ci×kh×kw weight. */
	conv_rel(&r, BWD_DATA, ry, todouble(w, nw), todouble(x, ni));
	for (size_t i = 0; i < no; i++) {
		size_t ch = (i / ((size_t)oh * ow)) % c.oc;
		ry[i] = tanh(ry[i] + b[ch]);
		rdb[ch] += g[i];
	}
	conv_rel(&r, FWD, todouble(g, no), todouble(w, nw), rdx);
	conv_rel(&r, BWD_W, todouble(g, no), rdw, todouble(x, ni));
	snprintf(what, sizeof what, "%s forward (bias, tanh)", name);
	check(what, y, ry, no, tol);
	snprintf(what, sizeof what, "%s backward-data", name);
	check(what, dx, rdx, ni, tol);
	snprintf(what, sizeof what, "%s backward-weights", name);
	check(what, dw, rdw, nw, tol);
	snprintf(what, sizeof what, "%s backward-bias", name);
	check(what, db, rdb, c.oc, tol);
	dg_dnnl_plan_free(pf);
	dg_dnnl_plan_free(pd);
	dg_dnnl_plan_free(pw);
}

/* ---- grouped and 3-d plans ------------------------------------------------ */

/* The same relation on N×C×D×H×W with groups: output channel o meets the
 * input channels of its group o/(co/G), weights co×(ci/G)×kd×kh×kw; a
 * 2-d plan is the case D = kd = 1. */
struct rel5 {
	int n, ci, co, g, in[3], out[3], k[3], s[3], p[3], d[3];
};

static void conv_rel5(const struct rel5 *r, enum which what, double *in, double *wt, double *out)
{
	int cg = r->ci / r->g, og = r->co / r->g;
	for (int n = 0; n < r->n; n++)
	for (int o = 0; o < r->co; o++)
	for (int i = 0; i < cg; i++)
	for (int z = 0; z < r->out[0]; z++)
	for (int y = 0; y < r->out[1]; y++)
	for (int x = 0; x < r->out[2]; x++)
	for (int kz = 0; kz < r->k[0]; kz++)
	for (int ky = 0; ky < r->k[1]; ky++)
	for (int kx = 0; kx < r->k[2]; kx++) {
		int a = z * r->s[0] - r->p[0] + kz * r->d[0];
		int b = y * r->s[1] - r->p[1] + ky * r->d[1];
		int c = x * r->s[2] - r->p[2] + kx * r->d[2];
		if (a < 0 || a >= r->in[0] || b < 0 || b >= r->in[1] || c < 0 || c >= r->in[2])
			continue;
		int ch = o / og * cg + i;
		size_t ii = (((size_t)(n * r->ci + ch) * r->in[0] + a) * r->in[1] + b) * r->in[2] + c;
		size_t wi = (((size_t)(o * cg + i) * r->k[0] + kz) * r->k[1] + ky) * r->k[2] + kx;
		size_t oi = (((size_t)(n * r->co + o) * r->out[0] + z) * r->out[1] + y) * r->out[2] + x;
		if (what == FWD)
			out[oi] += in[ii] * wt[wi];
		else if (what == BWD_DATA)
			in[ii] += out[oi] * wt[wi];
		else
			wt[wi] += in[ii] * out[oi];
	}
}

/* A grouped and/or 3-d convolution's three plans against conv_rel5; with
 * deconv also the transposed convolution's forward plan (PyTorch's
 * grouped ConvTranspose layout), whose reference is backward-data. */
static void test_conv_nd(struct dg_dnnl_conv c, int deconv, double tol)
{
	int64_t o3[3];
	char name[96], what[160];
	int three = c.id > 0, g = c.groups > 1 ? (int)c.groups : 1;

	snprintf(name, sizeof name, "%s-d conv %lld->%lld groups %d", three ? "3" : "2",
		 (long long)c.ic, (long long)c.oc, g);
	if (!ok(dg_dnnl_window_out(&c, 0, o3) == 0, "%s: output size", name))
		return;
	struct rel5 r = { (int)c.n, (int)c.ic, (int)c.oc, g,
			  { three ? (int)c.id : 1, (int)c.ih, (int)c.iw },
			  { (int)o3[0], (int)o3[1], (int)o3[2] },
			  { three ? (int)c.kd : 1, (int)c.kh, (int)c.kw },
			  { three ? (int)c.sd : 1, (int)c.sh, (int)c.sw },
			  { three ? (int)c.pd : 0, (int)c.ph, (int)c.pw },
			  { three ? (int)c.dd : 1, (int)c.dh, (int)c.dw } };
	size_t ni = (size_t)r.n * r.ci * r.in[0] * r.in[1] * r.in[2];
	size_t no = (size_t)r.n * r.co * r.out[0] * r.out[1] * r.out[2];
	size_t nw = (size_t)r.co * (r.ci / g) * r.k[0] * r.k[1] * r.k[2];
	float *x = frand(ni, -1, 1), *w = frand(nw, -1, 1), *gy = frand(no, -1, 1);
	float *y = fbuf(no), *dx = fbuf(ni), *dw = fbuf(nw);
	double *ry = dbuf(no), *rdx = dbuf(ni), *rdw = dbuf(nw);
	struct dg_dnnl_plan *pf = NULL, *pd = NULL, *pw = NULL;

	MAKE(pf, dg_dnnl_conv_fwd_plan(&pf, &c, 0, DG_DNNL_NONE, 0));
	MAKE(pd, dg_dnnl_conv_bwd_data_plan(&pd, &c, 0));
	MAKE(pw, dg_dnnl_conv_bwd_weights_plan(&pw, &c, 0));
	RUN(pf, x, w, NULL, y);
	RUN(pd, gy, w, dx);
	RUN(pw, x, gy, dw, NULL);
	conv_rel5(&r, FWD, todouble(x, ni), todouble(w, nw), ry);
	conv_rel5(&r, BWD_DATA, rdx, todouble(w, nw), todouble(gy, no));
	conv_rel5(&r, BWD_W, todouble(x, ni), rdw, todouble(gy, no));
	snprintf(what, sizeof what, "%s forward", name);
	check(what, y, ry, no, tol);
	snprintf(what, sizeof what, "%s backward-data", name);
	check(what, dx, rdx, ni, tol);
	snprintf(what, sizeof what, "%s backward-weights", name);
	check(what, dw, rdw, nw, tol);
	dg_dnnl_plan_free(pf);
	dg_dnnl_plan_free(pd);
	dg_dnnl_plan_free(pw);
	if (!deconv)
		return;
	/* the transposed convolution from c.oc to c.ic channels: its input
	 * is gy, its weight w read as oc×(ic/G)×k (ConvTranspose's layout) */
	struct dg_dnnl_conv t = c;
	struct dg_dnnl_plan *pt = NULL;
	t.ic = c.oc, t.oc = c.ic;
	t.id = three ? o3[0] : 0, t.ih = o3[1], t.iw = o3[2];
	/* output padding: the rows a strided convolution left over */
	t.opd = three ? (c.id + 2 * c.pd - c.dd * (c.kd - 1) - 1) % c.sd : 0;
	t.oph = (c.ih + 2 * c.ph - c.dh * (c.kh - 1) - 1) % c.sh;
	t.opw = (c.iw + 2 * c.pw - c.dw * (c.kw - 1) - 1) % c.sw;
	int64_t t3[3];
	ok(dg_dnnl_window_out(&t, 1, t3) == 0 && t3[1] == c.ih && t3[2] == c.iw &&
	   (!three || t3[0] == c.id), "%s transposed: output size", name);
	float *tx = fbuf(ni);
	MAKE(pt, dg_dnnl_deconv_fwd_plan(&pt, &t, 0, DG_DNNL_NONE, 0));
	RUN(pt, gy, w, NULL, tx);
	snprintf(what, sizeof what, "%s transposed forward", name);
	check(what, tx, rdx, ni, tol);
	dg_dnnl_plan_free(pt);
}

int main(void)
{
	/* Sums of up to a few hundred products of values in [-1, 1]:
	 * f32 accumulation keeps the relative error near 1e-6. */
	const double tol = 2e-5;
	struct dg_dnnl_conv c = { .n = 3, .ic = 5, .ih = 11, .iw = 9, .oc = 7, .kh = 3, .kw = 3,
				  .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 2, .dw = 2 };
	test_conv(c, DG_DNNL_RELU, tol);
	/* DCGAN-style: 4×4 kernel, stride 2, padding 1, no dilation. */
	struct dg_dnnl_conv d = { .n = 2, .ic = 3, .ih = 13, .iw = 10, .oc = 16, .kh = 4, .kw = 4,
				  .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1 };
	test_conv(d, DG_DNNL_LEAKY_RELU, tol);
	/* Larger channel counts take oneDNN's blocked code paths. */
	struct dg_dnnl_conv e = { .n = 2, .ic = 19, .ih = 7, .iw = 7, .oc = 33, .kh = 3, .kw = 3,
				  .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1 };
	test_conv(e, DG_DNNL_NONE, tol);
	test_conv_accumulate(e, 0);
	test_conv_shared_grad(e, tol);

	struct dg_dnnl_conv t = { .n = 3, .ic = 7, .ih = 5, .iw = 6, .oc = 5, .kh = 3, .kw = 3,
				  .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 2, .dw = 2 };
	test_deconv(t, tol);
	struct dg_dnnl_conv u = { .n = 2, .ic = 17, .ih = 7, .iw = 7, .oc = 3, .kh = 4, .kw = 4,
				  .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1 };
	test_deconv(u, tol);
	test_conv_accumulate(u, 1);
	struct dg_dnnl_conv v = { .n = 1, .ic = 4, .ih = 5, .iw = 5, .oc = 6, .kh = 3, .kw = 3,
				  .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1,
				  .oph = 1, .opw = 1 };
	test_deconv(v, tol);

	/* grouped (depthwise too), 3-d, and both */
	struct dg_dnnl_conv g2 = { .n = 2, .ic = 6, .ih = 9, .iw = 7, .oc = 4, .kh = 3, .kw = 2,
				   .sh = 2, .sw = 1, .ph = 1, .pw = 0, .dh = 1, .dw = 2, .groups = 2 };
	test_conv_nd(g2, 1, tol);
	struct dg_dnnl_conv dw = { .n = 2, .ic = 16, .ih = 11, .iw = 10, .oc = 16, .kh = 3, .kw = 3,
				   .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 16 };
	test_conv_nd(dw, 1, tol);
	struct dg_dnnl_conv v3 = { .n = 2, .ic = 3, .ih = 6, .iw = 5, .oc = 5, .kh = 3, .kw = 3,
				   .sh = 2, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1,
				   .id = 7, .kd = 3, .sd = 2, .pd = 1, .dd = 1 };
	test_conv_nd(v3, 1, tol);
	struct dg_dnnl_conv g3 = { .n = 1, .ic = 4, .ih = 5, .iw = 6, .oc = 6, .kh = 2, .kw = 3,
				   .sh = 1, .sw = 2, .ph = 0, .pw = 1, .dh = 2, .dw = 1, .groups = 2,
				   .id = 5, .kd = 3, .sd = 1, .pd = 1, .dd = 1 };
	test_conv_nd(g3, 1, tol);
	tfree_all();
	return done_testing();
}
