/* t_dnnl_ops.c — the oneDNN layer's batch and layer norm, eltwise, softmax,
 * pooling and binary plans against double-precision references, and the
 * DG_THREADS setting (this test runs oneDNN with one thread). */
#include "cpu/dnnl.h"     /* internal: links libdg-internal.a */
#include "t_dnnl_util.h"

/* ---- batch norm --------------------------------------------------- */

static void test_bnorm(int relu)
{
	enum { N = 3, C = 5, H = 7, W = 3, HW = H * W, M = N * HW, T = N * C * HW };
	const float eps = 1e-5f;
	float *x = frand(T, -2, 3), *sc = frand(C, 0.5f, 1.5f), *sh = frand(C, -1, 1);
	float *y = fbuf(T), *mean = fbuf(C), *var = fbuf(C), *g = frand(T, -1, 1);
	float *dx = fbuf(T), *dsc = fbuf(C), *dsh = fbuf(C), *yi = fbuf(T);
	double ry[T], rdx[T], rmean[C], rvar[C], rdsc[C], rdsh[C];
	struct dg_dnnl_plan *pf = NULL, *pb = NULL, *pi = NULL;
	void *ws = NULL;

	MAKE(pf, dg_dnnl_bnorm_fwd_plan(&pf, N, C, H, W, eps, 1, relu));
	MAKE(pb, dg_dnnl_bnorm_bwd_plan(&pb, N, C, H, W, eps, relu));
	MAKE(pi, dg_dnnl_bnorm_fwd_plan(&pi, N, C, H, W, eps, 0, relu));
	if (pf) {
		is_int(dg_dnnl_plan_nargs(pf), relu ? 7 : 6, "bnorm fwd relu=%d arg count", relu);
		ok(!relu || dg_dnnl_plan_workspace_bytes(pf) > 0, "bnorm relu=%d workspace", relu);
		ws = tmem(dg_dnnl_plan_workspace_bytes(pf));
	}
	RUN(pf, x, sc, sh, y, mean, var, ws);
	RUN(pb, x, g, sc, sh, mean, var, dx, dsc, dsh, ws);
	RUN(pi, x, sc, sh, yi, mean, var);
	for (int c = 0; c < C; c++) {
		double s = 0, v = 0, gs = 0, gx = 0;
		for (int n = 0; n < N; n++)
			for (int i = 0; i < HW; i++)
				s += x[(n * C + c) * HW + i];
		rmean[c] = s / M;
		for (int n = 0; n < N; n++)
			for (int i = 0; i < HW; i++) {
				double d = x[(n * C + c) * HW + i] - rmean[c];
				v += d * d;
			}
		rvar[c] = v / M;
		double inv = 1 / sqrt(rvar[c] + eps);
		/* Forward, and the gradient masked by the fused relu. */
		for (int n = 0; n < N; n++)
			for (int i = 0; i < HW; i++) {
				int k = (n * C + c) * HW + i;
				double xh = (x[k] - rmean[c]) * inv, o = sc[c] * xh + sh[c];
				ry[k] = relu && o < 0 ? 0 : o;
				double gk = relu && o <= 0 ? 0 : g[k];
				gs += gk;
				gx += gk * xh;
			}
		rdsh[c] = gs;
		rdsc[c] = gx;
		for (int n = 0; n < N; n++)
			for (int i = 0; i < HW; i++) {
				int k = (n * C + c) * HW + i;
				double xh = (x[k] - rmean[c]) * inv, o = sc[c] * xh + sh[c];
				double gk = relu && o <= 0 ? 0 : g[k];
				rdx[k] = sc[c] * inv * (gk - gs / M - xh * gx / M);
			}
	}
	char name[16];
	snprintf(name, sizeof name, "bnorm%s", relu ? "+relu" : "");
	/* Tolerances: a mean and variance over 63 values, then a
	 * normalization — a few ulps of the largest intermediate. */
	char t[160];
	snprintf(t, sizeof t, "%s training mean", name); check(t, mean, rmean, C, 1e-5);
	snprintf(t, sizeof t, "%s training variance", name); check(t, var, rvar, C, 1e-5);
	snprintf(t, sizeof t, "%s training forward", name); check(t, y, ry, T, 1e-5);
	snprintf(t, sizeof t, "%s inference forward (batch stats in)", name);
	check(t, yi, ry, T, 1e-5);
	snprintf(t, sizeof t, "%s backward dX", name); check(t, dx, rdx, T, 1e-5);
	snprintf(t, sizeof t, "%s backward dscale", name); check(t, dsc, rdsc, C, 1e-5);
	snprintf(t, sizeof t, "%s backward dshift", name); check(t, dsh, rdsh, C, 1e-5);
	dg_dnnl_plan_free(pf);
	dg_dnnl_plan_free(pb);
	dg_dnnl_plan_free(pi);
}

/* ---- layer norm -------------------------------------------------- */

static void test_lnorm(void)
{
	enum { R = 7, K = 13, T = R * K };
	const float eps = 1e-5f;
	float *x = frand(T, -2, 3), *sc = frand(K, 0.5f, 1.5f), *sh = frand(K, -1, 1);
	float *y = fbuf(T), *yi = fbuf(T), *mean = fbuf(R), *var = fbuf(R), *g = frand(T, -1, 1);
	float *dx = fbuf(T), *dsc = fbuf(K), *dsh = fbuf(K);
	double ry[T], rdx[T], rmean[R], rvar[R], rdsc[K] = { 0 }, rdsh[K] = { 0 };
	struct dg_dnnl_plan *pf = NULL, *pi = NULL, *pb = NULL;

	MAKE(pf, dg_dnnl_lnorm_fwd_plan(&pf, R, K, eps, 1));
	MAKE(pi, dg_dnnl_lnorm_fwd_plan(&pi, R, K, eps, 0));
	MAKE(pb, dg_dnnl_lnorm_bwd_plan(&pb, R, K, eps));
	RUN(pf, x, sc, sh, y, mean, var);
	RUN(pi, x, sc, sh, yi, mean, var);
	RUN(pb, x, g, sc, sh, mean, var, dx, dsc, dsh);
	for (int r = 0; r < R; r++) {
		double s = 0, v = 0, mg = 0, mgx = 0;
		for (int k = 0; k < K; k++)
			s += x[r * K + k];
		rmean[r] = s / K;
		for (int k = 0; k < K; k++)
			v += (x[r * K + k] - rmean[r]) * (x[r * K + k] - rmean[r]);
		rvar[r] = v / K;
		double inv = 1 / sqrt(rvar[r] + eps);
		for (int k = 0; k < K; k++) {
			double xh = (x[r * K + k] - rmean[r]) * inv, gk = g[r * K + k];
			ry[r * K + k] = sc[k] * xh + sh[k];
			rdsh[k] += gk;
			rdsc[k] += gk * xh;
			mg += gk * sc[k] / K;
			mgx += gk * sc[k] * xh / K;
		}
		for (int k = 0; k < K; k++) {
			double xh = (x[r * K + k] - rmean[r]) * inv;
			rdx[r * K + k] = inv * (g[r * K + k] * sc[k] - mg - xh * mgx);
		}
	}
	check("layer norm 7x13 training mean", mean, rmean, R, 1e-5);
	check("layer norm training variance", var, rvar, R, 1e-5);
	check("layer norm training forward", y, ry, T, 1e-5);
	check("layer norm inference forward (stats in)", yi, ry, T, 1e-5);
	check("layer norm backward dX", dx, rdx, T, 1e-5);
	check("layer norm backward dscale", dsc, rdsc, K, 1e-5);
	check("layer norm backward dshift", dsh, rdsh, K, 1e-5);
	dg_dnnl_plan_free(pf);
	dg_dnnl_plan_free(pi);
	dg_dnnl_plan_free(pb);
}

/* ---- eltwise ------------------------------------------------------ */

static double f_ref(enum dg_dnnl_act a, double al, double x)
{
	switch (a) {
	case DG_DNNL_RELU: return x > 0 ? x : 0;
	case DG_DNNL_LEAKY_RELU: return x > 0 ? x : al * x;
	case DG_DNNL_ELU: return x > 0 ? x : al * (exp(x) - 1);
	case DG_DNNL_TANH: return tanh(x);
	case DG_DNNL_SIGMOID: return 1 / (1 + exp(-x));
	case DG_DNNL_EXP: return exp(x);
	case DG_DNNL_LOG: return log(x);
	case DG_DNNL_SQRT: return sqrt(x);
	case DG_DNNL_SQUARE: return x * x;
	case DG_DNNL_ABS: return fabs(x);
	case DG_DNNL_SOFTPLUS: return log1p(exp(x));
	default: return NAN;
	}
}

static double df_ref(enum dg_dnnl_act a, double al, double x)
{
	switch (a) {
	case DG_DNNL_RELU: return x > 0;
	case DG_DNNL_LEAKY_RELU: return x > 0 ? 1 : al;
	case DG_DNNL_ELU: return x > 0 ? 1 : al * exp(x);
	case DG_DNNL_TANH: return 1 - tanh(x) * tanh(x);
	case DG_DNNL_SIGMOID: { double s = 1 / (1 + exp(-x)); return s * (1 - s); }
	case DG_DNNL_EXP: return exp(x);
	case DG_DNNL_LOG: return 1 / x;
	case DG_DNNL_SQRT: return 0.5 / sqrt(x);
	case DG_DNNL_SQUARE: return 2 * x;
	case DG_DNNL_ABS: return x > 0 ? 1 : -1;
	case DG_DNNL_SOFTPLUS: return 1 / (1 + exp(-x));
	default: return NAN;
	}
}

static void test_eltwise(enum dg_dnnl_act a, const char *name, float alpha, int can_dst)
{
	enum { T = 1031 };   /* prime: not a multiple of any vector width */
	int pos = a == DG_DNNL_LOG || a == DG_DNNL_SQRT;
	float *x = frand(T, pos ? 0.05f : -3, 3), *y = fbuf(T), *g = frand(T, -1, 1);
	float *dx = fbuf(T), *dx2 = fbuf(T);
	double ry[T], rdx[T];
	struct dg_dnnl_plan *pf = NULL, *pb = NULL, *pd = NULL;
	char t[160];

	MAKE(pf, dg_dnnl_eltwise_fwd_plan(&pf, T, a, alpha));
	MAKE(pb, dg_dnnl_eltwise_bwd_plan(&pb, T, a, alpha, 0));
	RUN(pf, x, y);
	RUN(pb, x, g, dx);
	for (int i = 0; i < T; i++) {
		ry[i] = f_ref(a, alpha, x[i]);
		rdx[i] = g[i] * df_ref(a, alpha, x[i]);
	}
	/* oneDNN's vectorized exp/log/tanh are accurate to a few ulps. */
	snprintf(t, sizeof t, "eltwise %s forward", name); check(t, y, ry, T, 1e-5);
	snprintf(t, sizeof t, "eltwise %s backward", name); check(t, dx, rdx, T, 1e-5);
	if (can_dst) {
		MAKE(pd, dg_dnnl_eltwise_bwd_plan(&pd, T, a, alpha, 1));
		RUN(pd, y, g, dx2);
		snprintf(t, sizeof t, "eltwise %s backward from output", name);
		check(t, dx2, rdx, T, 1e-5);
	} else {
		int st = dg_dnnl_eltwise_bwd_plan(&pd, T, a, alpha, 1);
		ok(st == DG_EUSAGE && !pd, "eltwise %s has no backward from output", name);
	}
	dg_dnnl_plan_free(pf);
	dg_dnnl_plan_free(pb);
	dg_dnnl_plan_free(pd);
}

/* ---- softmax ------------------------------------------------------ */

static void test_softmax(int lg)
{
	enum { O = 3, A = 7, I = 5, T = O * A * I };
	float *x = frand(T, -4, 4), *y = fbuf(T), *g = frand(T, -1, 1), *dx = fbuf(T);
	double ry[T], rdx[T];
	struct dg_dnnl_plan *pf = NULL, *pb = NULL;
	const char *name = lg ? "log-softmax" : "softmax";
	char t[160];

	MAKE(pf, dg_dnnl_softmax_fwd_plan(&pf, O, A, I, lg));
	MAKE(pb, dg_dnnl_softmax_bwd_plan(&pb, O, A, I, lg));
	RUN(pf, x, y);
	RUN(pb, y, g, dx);
	for (int o = 0; o < O; o++)
		for (int i = 0; i < I; i++) {
			double mx = -INFINITY, s = 0, gy = 0, gs = 0;
#define AT(k) ((o * A + (k)) * I + i)
			for (int k = 0; k < A; k++)
				mx = fmax(mx, x[AT(k)]);
			for (int k = 0; k < A; k++)
				s += exp(x[AT(k)] - mx);
			for (int k = 0; k < A; k++) {
				double p = exp(x[AT(k)] - mx) / s;
				ry[AT(k)] = lg ? x[AT(k)] - mx - log(s) : p;
				gy += g[AT(k)] * p;
				gs += g[AT(k)];
			}
			for (int k = 0; k < A; k++) {
				double p = exp(x[AT(k)] - mx) / s;
				rdx[AT(k)] = lg ? g[AT(k)] - p * gs : p * (g[AT(k)] - gy);
			}
#undef AT
		}
	snprintf(t, sizeof t, "%s 3x7x5 axis 1 forward", name); check(t, y, ry, T, 1e-5);
	snprintf(t, sizeof t, "%s backward", name); check(t, dx, rdx, T, 1e-5);
	dg_dnnl_plan_free(pf);
	dg_dnnl_plan_free(pb);
}

/* ---- pooling ------------------------------------------------------ */

static void test_pool(enum dg_dnnl_pool_kind kind, const char *name)
{
	struct dg_dnnl_conv c = { .n = 3, .ic = 5, .ih = 11, .iw = 9, .kh = 3, .kw = 2,
				  .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1 };
	int64_t oh, ow;
	struct dg_dnnl_plan *pf = NULL, *pb = NULL;
	char t[160];

	c.oc = c.ic;
	if (!ok(dg_dnnl_conv_out(&c, &oh, &ow) == 0, "%s output size", name))
		return;
	size_t ni = (size_t)c.n * c.ic * c.ih * c.iw, no = (size_t)c.n * c.ic * oh * ow;
	float *x = frand(ni, -1, 1), *y = fbuf(no), *g = frand(no, -1, 1), *dx = fbuf(ni);
	double *ry = dbuf(no), *rdx = dbuf(ni);
	void *ws = NULL;

	MAKE(pf, dg_dnnl_pool_fwd_plan(&pf, &c, kind, 1));
	MAKE(pb, dg_dnnl_pool_bwd_plan(&pb, &c, kind));
	if (pf && kind == DG_DNNL_POOL_MAX) {
		ok(dg_dnnl_plan_workspace_bytes(pf) > 0, "%s has a workspace", name);
		ws = tmem(dg_dnnl_plan_workspace_bytes(pf));
	}
	RUN(pf, x, y, ws);
	RUN(pb, g, ws, dx);
	for (int n = 0; n < c.n * c.ic; n++)
		for (int yy = 0; yy < oh; yy++)
			for (int xx = 0; xx < ow; xx++) {
				double best = -INFINITY, sum = 0;
				int cnt = 0, at = -1;
				for (int ky = 0; ky < c.kh; ky++)
					for (int kx = 0; kx < c.kw; kx++) {
						int h = yy * c.sh - c.ph + ky, w = xx * c.sw - c.pw + kx;
						if (h < 0 || h >= c.ih || w < 0 || w >= c.iw)
							continue;
						int k = (n * c.ih + h) * c.iw + w;
						if (x[k] > best)
							best = x[k], at = k;
						sum += x[k];
						cnt++;
					}
				int div = kind == DG_DNNL_POOL_AVG ? cnt : c.kh * c.kw;
				size_t o = ((size_t)n * oh + yy) * ow + xx;
				ry[o] = kind == DG_DNNL_POOL_MAX ? best : sum / div;
				for (int ky = 0; ky < c.kh; ky++)
					for (int kx = 0; kx < c.kw; kx++) {
						int h = yy * c.sh - c.ph + ky, w = xx * c.sw - c.pw + kx;
						if (h < 0 || h >= c.ih || w < 0 || w >= c.iw)
							continue;
						int k = (n * c.ih + h) * c.iw + w;
						if (kind != DG_DNNL_POOL_MAX)
							rdx[k] += g[o] / div;
						else if (k == at)
							rdx[k] += g[o];
					}
			}
	snprintf(t, sizeof t, "%s 3x5x11x9 k3x2 s2 p1 forward", name);
	check(t, y, ry, no, 1e-6);
	snprintf(t, sizeof t, "%s backward", name);
	check(t, dx, rdx, ni, 1e-6);
	dg_dnnl_plan_free(pf);
	dg_dnnl_plan_free(pb);
}

/* 3-d pooling as the engine plans it: forward without a workspace, and
 * the backward (max pooling's from src, its forward run again). */
static void test_pool3d(enum dg_dnnl_pool_kind kind, const char *name)
{
	struct dg_dnnl_conv c = { .n = 2, .ic = 3, .id = 5, .ih = 7, .iw = 6, .kd = 3, .kh = 3,
				  .kw = 2, .sd = 2, .sh = 1, .sw = 2, .pd = 1, .ph = 1, .pw = 1,
				  .dd = 1, .dh = 1, .dw = 1 };
	int64_t o[3];
	struct dg_dnnl_plan *pf = NULL, *pb = NULL;
	char t[160];

	c.oc = c.ic;
	if (!ok(dg_dnnl_window_out(&c, 0, o) == 0, "%s output size", name))
		return;
	int64_t in[3] = { c.id, c.ih, c.iw }, k[3] = { c.kd, c.kh, c.kw };
	int64_t st[3] = { c.sd, c.sh, c.sw }, pd[3] = { c.pd, c.ph, c.pw };
	size_t vin = (size_t)(in[0] * in[1] * in[2]), vout = (size_t)(o[0] * o[1] * o[2]);
	size_t ni = (size_t)(c.n * c.ic) * vin, no = (size_t)(c.n * c.ic) * vout;
	float *x = frand(ni, -1, 1), *y = fbuf(no), *g = frand(no, -1, 1), *dx = fbuf(ni);
	double *ry = dbuf(no), *rdx = dbuf(ni);

	MAKE(pf, dg_dnnl_pool_fwd_plan(&pf, &c, kind, 0));
	RUN(pf, x, y, NULL);
	if (kind != DG_DNNL_POOL_MAX) {
		MAKE(pb, dg_dnnl_pool_bwd_plan(&pb, &c, kind));
		RUN(pb, g, NULL, dx);
	} else {
		/* the engine's backward: from src, the forward run again */
		MAKE(pb, dg_dnnl_pool_max_bwd_plan(&pb, &c));
		RUN(pb, x, g, NULL, dx);
	}
	for (size_t pl = 0; pl < (size_t)(c.n * c.ic); pl++)
		for (size_t i = 0; i < vout; i++) {
			int64_t at[3] = { (int64_t)(i / (size_t)(o[1] * o[2])),
					  (int64_t)(i / (size_t)o[2] % (size_t)o[1]), (int64_t)(i % (size_t)o[2]) };
			double best = -INFINITY, sum = 0;
			int cnt = 0;
			size_t first = 0;
			for (int pass = 0; pass < 2; pass++)
				for (int64_t a = 0; a < k[0]; a++)
					for (int64_t b = 0; b < k[1]; b++)
						for (int64_t e = 0; e < k[2]; e++) {
							int64_t p[3] = { at[0] * st[0] - pd[0] + a,
									 at[1] * st[1] - pd[1] + b,
									 at[2] * st[2] - pd[2] + e };
							if (p[0] < 0 || p[0] >= in[0] || p[1] < 0 ||
							    p[1] >= in[1] || p[2] < 0 || p[2] >= in[2])
								continue;
							size_t q = pl * vin + (size_t)((p[0] * in[1] + p[1]) * in[2] + p[2]);
							int div = kind == DG_DNNL_POOL_AVG ? cnt : (int)(k[0] * k[1] * k[2]);
							if (pass) {
								if (kind != DG_DNNL_POOL_MAX)
									rdx[q] += g[pl * vout + i] / div;
								continue;
							}
							if (x[q] > best)
								best = x[q], first = q;
							sum += x[q];
							cnt++;
						}
			int div = kind == DG_DNNL_POOL_AVG ? cnt : (int)(k[0] * k[1] * k[2]);
			ry[pl * vout + i] = kind == DG_DNNL_POOL_MAX ? best : sum / div;
			if (kind == DG_DNNL_POOL_MAX)
				rdx[first] += g[pl * vout + i];
		}
	snprintf(t, sizeof t, "%s 2x3x5x7x6 k3x3x2 s2x1x2 p1 forward", name);
	check(t, y, ry, no, 1e-6);
	snprintf(t, sizeof t, "%s backward", name);
	check(t, dx, rdx, ni, 1e-6);
	dg_dnnl_plan_free(pf);
	dg_dnnl_plan_free(pb);
}

/* ---- binary ------------------------------------------------------- */

static double bin_ref(enum dg_dnnl_binop op, double a, double b)
{
	switch (op) {
	case DG_DNNL_ADD: return a + b;
	case DG_DNNL_SUB: return a - b;
	case DG_DNNL_MUL: return a * b;
	case DG_DNNL_DIV: return a / b;
	case DG_DNNL_MAX: return fmax(a, b);
	case DG_DNNL_MIN: return fmin(a, b);
	}
	return NAN;
}

static void test_binary(enum dg_dnnl_binop op, const char *name, const int64_t *ad,
			const int64_t *bd)
{
	const int64_t d[] = { 3, 7, 5 };
	float *a = frand(ad[0] * ad[1] * ad[2], 0.5f, 2), *b = frand(bd[0] * bd[1] * bd[2], 0.5f, 2);
	float *y = fbuf(105);
	double ry[105];
	struct dg_dnnl_plan *p = NULL;
	char t[160];

	MAKE(p, dg_dnnl_binary_plan(&p, op, 3, ad, bd, d));
	RUN(p, a, b, y);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 7; j++)
			for (int k = 0; k < 5; k++) {
				/* A dim of 1 broadcasts: index it with 0. */
				int ia = ((ad[0] > 1 ? i : 0) * ad[1] + (ad[1] > 1 ? j : 0)) * ad[2] +
					 (ad[2] > 1 ? k : 0);
				int ib = ((bd[0] > 1 ? i : 0) * bd[1] + (bd[1] > 1 ? j : 0)) * bd[2] +
					 (bd[2] > 1 ? k : 0);
				ry[(i * 7 + j) * 5 + k] = bin_ref(op, a[ia], b[ib]);
			}
	snprintf(t, sizeof t, "binary %s %lldx%lldx%lld . %lldx%lldx%lld", name,
		 (long long)ad[0], (long long)ad[1], (long long)ad[2], (long long)bd[0],
		 (long long)bd[1], (long long)bd[2]);
	check(t, y, ry, 105, 1e-6);
	dg_dnnl_plan_free(p);
}

int main(void)
{
	/* Before any oneDNN call: this process runs it on one thread. */
	setenv("DG_THREADS", "1", 1);
	is_int(dg_dnnl_init(), 0, "dg_dnnl_init");
	is_int(dg_dnnl_threads(), 1, "DG_THREADS=1 is applied to OpenMP");

	test_bnorm(0);
	test_bnorm(1);
	test_lnorm();

	test_eltwise(DG_DNNL_RELU, "relu", 0, 1);
	test_eltwise(DG_DNNL_LEAKY_RELU, "leaky relu 0.2", 0.2f, 1);
	test_eltwise(DG_DNNL_ELU, "elu 1", 1.0f, 1);
	test_eltwise(DG_DNNL_TANH, "tanh", 0, 1);
	test_eltwise(DG_DNNL_SIGMOID, "sigmoid", 0, 1);
	test_eltwise(DG_DNNL_EXP, "exp", 0, 1);
	test_eltwise(DG_DNNL_LOG, "log", 0, 0);
	test_eltwise(DG_DNNL_SQRT, "sqrt", 0, 1);
	test_eltwise(DG_DNNL_SQUARE, "square", 0, 0);
	test_eltwise(DG_DNNL_ABS, "abs", 0, 0);
	test_eltwise(DG_DNNL_SOFTPLUS, "softplus", 0, 0);

	test_softmax(0);
	test_softmax(1);

	test_pool(DG_DNNL_POOL_MAX, "max pool");
	test_pool(DG_DNNL_POOL_AVG, "avg pool (exclude padding)");
	test_pool(DG_DNNL_POOL_AVG_PAD, "avg pool (include padding)");
	test_pool3d(DG_DNNL_POOL_MAX, "3-d max pool");
	test_pool3d(DG_DNNL_POOL_AVG, "3-d avg pool (exclude padding)");
	test_pool3d(DG_DNNL_POOL_AVG_PAD, "3-d avg pool (include padding)");

	const int64_t full[] = { 3, 7, 5 }, row[] = { 1, 7, 1 }, col[] = { 3, 1, 5 };
	static const char *names[] = { "", "add", "sub", "mul", "div", "max", "min" };
	for (int op = DG_DNNL_ADD; op <= DG_DNNL_MIN; op++) {
		test_binary(op, names[op], full, full);
		test_binary(op, names[op], full, row);
	}
	test_binary(DG_DNNL_ADD, "add", col, full);
	test_binary(DG_DNNL_MUL, "mul", row, full);
	struct dg_dnnl_plan *p = NULL;
	ok(dg_dnnl_binary_plan(&p, DG_DNNL_SUB, 3, row, full, full) == DG_EUSAGE && !p,
	   "binary sub with broadcast first operand is refused");
	ok(dg_dnnl_binary_plan(&p, DG_DNNL_ADD, 3, row, col, full) == DG_EUSAGE && !p,
	   "binary with both operands broadcast is refused");
	tfree_all();
	return done_testing();
}
