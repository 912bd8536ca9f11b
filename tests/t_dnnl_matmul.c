/* t_dnnl_matmul.c — the oneDNN layer's matmul plans (transposes, batch,
 * fused bias + activation, accumulation), the linear layer's backward
 * pieces, and reductions, against plain double-precision references. */
#include "cpu/dnnl.h"     /* internal: links libdg-internal.a */
#include "t_dnnl_util.h"

/* Activation in double, as documented in cpu/dnnl.h. */
static double act_ref(enum dg_dnnl_act act, double alpha, double x)
{
	switch (act) {
	case DG_DNNL_NONE: return x;
	case DG_DNNL_RELU: return x > 0 ? x : 0;
	case DG_DNNL_LEAKY_RELU: return x > 0 ? x : alpha * x;
	case DG_DNNL_ELU: return x > 0 ? x : alpha * (exp(x) - 1);
	case DG_DNNL_TANH: return tanh(x);
	case DG_DNNL_SIGMOID: return 1 / (1 + exp(-x));
	default: return NAN;
	}
}

/* C[b] = act(op(A[b])·op(B[b]) + bias) (+ C0[b]); A is m×k (k×m if ta),
 * B is k×n (n×k if tb), shared when bshared. */
static void ref_matmul(double *c, const float *c0, const float *a, const float *b,
		       const float *bias, int batch, int m, int n, int k, int ta, int tb,
		       int bshared, enum dg_dnnl_act act, double alpha)
{
	for (int q = 0; q < batch; q++) {
		const float *aq = a + (size_t)q * m * k;
		const float *bq = b + (bshared ? 0 : (size_t)q * k * n);
		for (int i = 0; i < m; i++)
			for (int j = 0; j < n; j++) {
				double s = bias ? bias[j] : 0;
				for (int l = 0; l < k; l++)
					s += (double)(ta ? aq[l * m + i] : aq[i * k + l]) *
					     (tb ? bq[j * k + l] : bq[l * n + j]);
				s = act_ref(act, alpha, s);
				size_t o = ((size_t)q * m + i) * n + j;
				c[o] = s + (c0 ? c0[o] : 0);
			}
	}
}

static void test_matmul(int batch, int m, int n, int k, unsigned flags, int bshared,
			enum dg_dnnl_act act, float alpha, double tol)
{
	int bb = bshared ? 1 : batch;
	float *a = frand((size_t)batch * m * k, -1, 1), *b = frand((size_t)bb * k * n, -1, 1);
	float *bias = frand(n, -1, 1), *c = frand((size_t)batch * m * n, -1, 1);
	float *c0 = fbuf((size_t)batch * m * n);
	double *ref = dbuf((size_t)batch * m * n);
	struct dg_dnnl_plan *p = NULL;
	char name[160];

	memcpy(c0, c, sizeof(float) * batch * m * n);
	snprintf(name, sizeof name, "matmul %dx(%dx%dx%d) flags %#x shared %d act %d", batch, m,
		 n, k, flags, bshared, (int)act);
	MAKE(p, dg_dnnl_matmul_plan(&p, batch, m, n, k, flags, bshared, act, alpha));
	RUN(p, a, b, bias, c);
	ref_matmul(ref, flags & DG_DNNL_ACCUMULATE ? c0 : NULL, a, b,
		   flags & DG_DNNL_BIAS ? bias : NULL, batch, m, n, k,
		   !!(flags & DG_DNNL_TRANS_A), !!(flags & DG_DNNL_TRANS_B), bshared, act, alpha);
	check(name, c, ref, (size_t)batch * m * n, tol);
	dg_dnnl_plan_free(p);
}

/* y = act(x·Wᵀ + b) and its backward pieces dX = dY·W, dW = dYᵀ·X,
 * db = column sums of dY, each checked against its own reference. */
static void test_linear(int m, int in, int out)
{
	float *x = frand((size_t)m * in, -1, 1), *w = frand((size_t)out * in, -1, 1);
	float *b = frand(out, -1, 1), *y = fbuf((size_t)m * out);
	float *dy = frand((size_t)m * out, -1, 1), *dx = fbuf((size_t)m * in);
	float *dw = fbuf((size_t)out * in), *db = fbuf(out);
	double *ry = dbuf((size_t)m * out), *rdx = dbuf((size_t)m * in);
	double *rdw = dbuf((size_t)out * in), *rdb = dbuf(out);
	struct dg_dnnl_plan *f = NULL, *px = NULL, *pw = NULL, *pb = NULL;
	int64_t sd[] = { m, out }, dd[] = { 1, out };

	MAKE(f, dg_dnnl_matmul_plan(&f, 1, m, out, in, DG_DNNL_BIAS | DG_DNNL_TRANS_B, 0,
				    DG_DNNL_SIGMOID, 0));
	MAKE(px, dg_dnnl_matmul_plan(&px, 1, m, in, out, 0, 0, DG_DNNL_NONE, 0));
	MAKE(pw, dg_dnnl_matmul_plan(&pw, 1, out, in, m, DG_DNNL_TRANS_A, 0, DG_DNNL_NONE, 0));
	MAKE(pb, dg_dnnl_reduce_plan(&pb, 2, sd, dd, 0));
	RUN(f, x, w, b, y);
	RUN(px, dy, w, NULL, dx);
	RUN(pw, dy, x, NULL, dw);
	RUN(pb, dy, db);
	for (int i = 0; i < m; i++)
		for (int o = 0; o < out; o++) {
			double s = b[o];
			for (int j = 0; j < in; j++)
				s += (double)x[i * in + j] * w[o * in + j];
			ry[i * out + o] = 1 / (1 + exp(-s));
		}
	for (int i = 0; i < m; i++)
		for (int j = 0; j < in; j++) {
			double s = 0;
			for (int o = 0; o < out; o++)
				s += (double)dy[i * out + o] * w[o * in + j];
			rdx[i * in + j] = s;
		}
	for (int o = 0; o < out; o++) {
		double sb = 0;
		for (int j = 0; j < in; j++) {
			double s = 0;
			for (int i = 0; i < m; i++)
				s += (double)dy[i * out + o] * x[i * in + j];
			rdw[o * in + j] = s;
		}
		for (int i = 0; i < m; i++)
			sb += dy[i * out + o];
		rdb[o] = sb;
	}
	check("linear forward sigmoid(x·Wᵀ+b)", y, ry, (size_t)m * out, 1e-5);
	check("linear dX = dY·W", dx, rdx, (size_t)m * in, 1e-5);
	check("linear dW = dYᵀ·X", dw, rdw, (size_t)out * in, 1e-5);
	check("linear db = colsum dY", db, rdb, out, 1e-5);
	dg_dnnl_plan_free(f);
	dg_dnnl_plan_free(px);
	dg_dnnl_plan_free(pw);
	dg_dnnl_plan_free(pb);
}

static void test_reduce_mean(void)
{
	int64_t sd[] = { 3, 7, 5 }, dd[] = { 3, 1, 1 };
	float *s = frand(105, -2, 2), *d = fbuf(3);
	double ref[3];
	struct dg_dnnl_plan *p = NULL;

	MAKE(p, dg_dnnl_reduce_plan(&p, 3, sd, dd, 1));
	RUN(p, s, d);
	for (int i = 0; i < 3; i++) {
		ref[i] = 0;
		for (int j = 0; j < 35; j++)
			ref[i] += s[i * 35 + j];
		ref[i] /= 35;
	}
	check("reduce mean 3x7x5 -> 3x1x1", d, ref, 3, 1e-6);
	dg_dnnl_plan_free(p);
}

/* The same plan on the same inputs twice gives the same bits. */
static void test_determinism(void)
{
	int m = 128, n = 400, k = 784;
	float *a = frand((size_t)m * k, -1, 1), *b = frand((size_t)n * k, -1, 1);
	float *bias = frand(n, -1, 1), *c1 = fbuf((size_t)m * n), *c2 = fbuf((size_t)m * n);
	struct dg_dnnl_plan *p = NULL;

	MAKE(p, dg_dnnl_matmul_plan(&p, 1, m, n, k, DG_DNNL_BIAS | DG_DNNL_TRANS_B, 0,
				    DG_DNNL_RELU, 0));
	RUN(p, a, b, bias, c1);
	RUN(p, a, b, bias, c2);
	ok(memcmp(c1, c2, sizeof(float) * m * n) == 0, "matmul 128x400x784 bit-identical twice");
	dg_dnnl_plan_free(p);
}

/* A plan made for one thread gives the bits the plan for all gives, and
 * running it leaves the thread count as it was: a count left at 1 would
 * slow every later call without changing a result. */
static void test_one_thread(void)
{
	int m = 64, n = 96, k = 200;
	float *a = frand((size_t)m * k, -1, 1), *b = frand((size_t)n * k, -1, 1);
	float *bias = frand(n, -1, 1), *c1 = fbuf((size_t)m * n), *c2 = fbuf((size_t)m * n);
	struct dg_dnnl_plan *all = NULL, *one = NULL;
	int threads = dg_dnnl_threads();

	MAKE(all, dg_dnnl_matmul_plan(&all, 1, m, n, k, DG_DNNL_BIAS | DG_DNNL_TRANS_B, 0,
				      DG_DNNL_NONE, 0));
	dg_dnnl_plan_threads(1);
	MAKE(one, dg_dnnl_matmul_plan(&one, 1, m, n, k, DG_DNNL_BIAS | DG_DNNL_TRANS_B, 0,
				      DG_DNNL_NONE, 0));
	dg_dnnl_plan_threads(0);
	is_int(dg_dnnl_threads(), threads, "making a one-thread plan keeps %d threads", threads);
	RUN(one, a, b, bias, c1);
	is_int(dg_dnnl_threads(), threads, "running it keeps %d threads", threads);
	RUN(all, a, b, bias, c2);
	ok(memcmp(c1, c2, sizeof(float) * m * n) == 0,
	   "matmul 64x96x200 on one thread bit-identical to %d threads", threads);
	dg_dnnl_plan_free(one);
	dg_dnnl_plan_free(all);
}

static void test_errors(void)
{
	struct dg_dnnl_plan *p = (struct dg_dnnl_plan *)1;
	int st = dg_dnnl_matmul_plan(&p, 1, 0, 3, 3, 0, 0, DG_DNNL_NONE, 0);

	is_int(st, DG_EUSAGE, "matmul with m = 0 is a usage error");
	ok(p == NULL, "and leaves no plan");
	ok(strstr(dg_errmsg(), "oneDNN") != NULL, "message names oneDNN: %s", dg_errmsg());
	st = dg_dnnl_matmul_plan(&p, 1, 3, 3, 3, 0, 0, (enum dg_dnnl_act)99, 0);
	is_int(st, DG_EUSAGE, "unknown activation is a usage error");
}

int main(void)
{
	/* Odd and prime sizes; tolerances are relative (see max_err): f32
	 * accumulation over k <= 31 terms of size <= 1 stays near 1e-6. */
	test_matmul(1, 7, 13, 5, 0, 0, DG_DNNL_NONE, 0, 1e-5);
	test_matmul(1, 7, 13, 5, DG_DNNL_TRANS_A, 0, DG_DNNL_NONE, 0, 1e-5);
	test_matmul(1, 7, 13, 5, DG_DNNL_TRANS_B, 0, DG_DNNL_NONE, 0, 1e-5);
	test_matmul(1, 7, 13, 5, DG_DNNL_TRANS_A | DG_DNNL_TRANS_B, 0, DG_DNNL_NONE, 0, 1e-5);
	test_matmul(1, 11, 3, 31, DG_DNNL_BIAS, 0, DG_DNNL_RELU, 0, 1e-5);
	test_matmul(1, 11, 3, 31, DG_DNNL_BIAS | DG_DNNL_TRANS_B, 0, DG_DNNL_LEAKY_RELU, 0.2f,
		    1e-5);
	test_matmul(1, 11, 3, 31, DG_DNNL_BIAS, 0, DG_DNNL_ELU, 1.3f, 1e-5);
	test_matmul(1, 11, 3, 31, DG_DNNL_BIAS, 0, DG_DNNL_TANH, 0, 1e-5);
	test_matmul(1, 11, 3, 31, DG_DNNL_BIAS, 0, DG_DNNL_SIGMOID, 0, 1e-5);
	test_matmul(1, 7, 13, 5, DG_DNNL_ACCUMULATE, 0, DG_DNNL_NONE, 0, 1e-5);
	test_matmul(1, 7, 13, 5, DG_DNNL_ACCUMULATE | DG_DNNL_BIAS, 0, DG_DNNL_RELU, 0, 1e-5);
	test_matmul(3, 7, 13, 5, 0, 0, DG_DNNL_NONE, 0, 1e-5);
	test_matmul(3, 7, 13, 5, DG_DNNL_TRANS_A | DG_DNNL_BIAS, 1, DG_DNNL_TANH, 0, 1e-5);
	test_matmul(5, 2, 17, 3, DG_DNNL_TRANS_B, 0, DG_DNNL_NONE, 0, 1e-5);
	test_linear(13, 29, 11);
	test_reduce_mean();
	test_determinism();
	test_one_thread();
	test_errors();
	tfree_all();
	return done_testing();
}
