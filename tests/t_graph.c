/* t_graph.c — the graph engine beyond single ops: second derivatives
 * (gradient penalties) against finite differences, the sticky error,
 * memory planning on the MLP VAE step, random ops, initializers and
 * variable transfers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg.h"
#include "graph/graph_impl.h"   /* DG_OP_STREAM */
#include "tap.h"

static uint64_t lcg = 12345;
static double urand(void)
{
	lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(lcg >> 11) / 9007199254740992.0;
}

enum { N = 3, K = 4, M = 5 };

/* P(W) = Σ (∂/∂x Σ r·tanh(xW))², in double:
 * ∂/∂x = ((1 - h²)·r) Wᵀ. */
static double penalty(const double *x, const double *w, const double *r)
{
	double d[N][M], p = 0;
	for (int i = 0; i < N; i++)
		for (int j = 0; j < M; j++) {
			double s = 0;
			for (int k = 0; k < K; k++)
				s += x[i * K + k] * w[k * M + j];
			double h = tanh(s);
			d[i][j] = (1 - h * h) * r[i * M + j];
		}
	for (int i = 0; i < N; i++)
		for (int k = 0; k < K; k++) {
			double gx = 0;
			for (int j = 0; j < M; j++)
				gx += d[i][j] * w[k * M + j];
			p += gx * gx;
		}
	return p;
}

static void second_derivative(void)
{
	double x[N * K], w[K * M], r[N * M];
	float xf[N * K], wf[K * M], rf[N * M], gw[K * M];
	uint64_t xd[2] = {N, K}, wd[2] = {K, M}, rd[2] = {N, M};

	for (int i = 0; i < N * K; i++)
		xf[i] = (float)(x[i] = 2 * urand() - 1);
	for (int i = 0; i < K * M; i++)
		wf[i] = (float)(w[i] = 2 * urand() - 1);
	for (int i = 0; i < N * M; i++)
		rf[i] = (float)(r[i] = 2 * urand() - 1);
	struct dg_graph *g = dg_graph_new(3);
	dg_tensor tx = dg_input(g, "x", DG_F32, 2, xd);
	dg_tensor tw = dg_input(g, "w", DG_F32, 2, wd);
	dg_tensor y = dg_sum(g, dg_mul(g, dg_tanh(g, dg_matmul(g, tx, tw, 0, 0)),
				       dg_constant(g, 2, rd, rf)), DG_AXES_ALL, 0);
	dg_tensor gx = dg_grad(g, y, tx);
	dg_tensor p = dg_sum(g, dg_square(g, gx), DG_AXES_ALL, 0);
	dg_tensor gp = dg_grad(g, p, tw);
	dg_tensor outs[2] = {p, gp};
	struct dg_exec *e;
	if (!ok(dg_compile(g, NULL, 2, outs, 0, NULL, &e) == 0, "gradient penalty compiles")) {
		diag("%s", dg_errmsg());
		dg_graph_free(g);
		return;
	}
	dg_exec_feed(e, "x", DG_F32, xf, N * K);
	dg_exec_feed(e, "w", DG_F32, wf, K * M);
	ok(dg_exec_run(e) == 0, "gradient penalty runs");
	for (int i = 0; i < N * K; i++)
		x[i] = xf[i];
	for (int i = 0; i < K * M; i++)
		w[i] = wf[i];
	for (int i = 0; i < N * M; i++)
		r[i] = rf[i];
	is_near(dg_exec_scalar(e, 0), penalty(x, w, r), 1e-5, "penalty value");
	dg_exec_read(e, 1, gw, K * M);
	double worst = 0;
	for (int i = 0; i < K * M; i++) {
		double keep = w[i], h = 1e-6;
		w[i] = keep + h;
		double lp = penalty(x, w, r);
		w[i] = keep - h;
		double lm = penalty(x, w, r);
		w[i] = keep;
		double fd = (lp - lm) / (2 * h);
		worst = fmax(worst, fabs(gw[i] - fd) / fmax(1, fabs(fd)));
	}
	ok(worst < 1e-4, "second derivative d/dW of |d/dx|^2 matches finite differences (max error %.2g)",
	   worst);
	dg_exec_free(e);
	dg_graph_free(g);
}

/* Second order through the convolution adjoints: Q(x) = Σ (∂/∂w Σ r·conv(x, w))²;
 * ∂/∂w is the filter gradient F(x, r), so Q is quadratic in x. */
static void conv_second_order(void)
{
	enum { B = 2, C = 2, H = 5, W = 4, O = 3, KS = 3 };
	uint64_t xd[4] = {B, C, H, W}, wd[4] = {O, C, KS, KS}, rd[4] = {B, O, H, W};
	float xf[B * C * H * W], wf[O * C * KS * KS], rf[B * O * H * W], gx[B * C * H * W];
	double x[B * C * H * W];
	for (size_t i = 0; i < sizeof xf / 4; i++)
		xf[i] = (float)(2 * urand() - 1);
	for (size_t i = 0; i < sizeof wf / 4; i++)
		wf[i] = (float)(2 * urand() - 1);
	for (size_t i = 0; i < sizeof rf / 4; i++)
		rf[i] = (float)(2 * urand() - 1);
	struct dg_graph *g = dg_graph_new(5);
	dg_tensor tx = dg_input(g, "x", DG_F32, 4, xd);
	dg_tensor tw = dg_input(g, "w", DG_F32, 4, wd);
	struct dg_conv cp = {1, 1, 1, 0};
	dg_tensor y = dg_sum(g, dg_mul(g, dg_conv2d(g, tx, tw, DG_NONE, &cp),
				       dg_constant(g, 4, rd, rf)), DG_AXES_ALL, 0);
	dg_tensor q = dg_sum(g, dg_square(g, dg_grad(g, y, tw)), DG_AXES_ALL, 0);
	dg_tensor outs[2] = {q, dg_grad(g, q, tx)};
	struct dg_exec *e;
	if (!ok(dg_compile(g, NULL, 2, outs, 0, NULL, &e) == 0, "conv second order compiles")) {
		diag("%s", dg_errmsg());
		dg_graph_free(g);
		return;
	}
	dg_exec_feed(e, "x", DG_F32, xf, B * C * H * W);
	dg_exec_feed(e, "w", DG_F32, wf, O * C * KS * KS);
	dg_exec_run(e);
	dg_exec_read(e, 1, gx, B * C * H * W);
	for (size_t i = 0; i < sizeof xf / 4; i++)
		x[i] = xf[i];
	/* Q(x) in double: F[o,c,u,v] = Σ r[b,o,i,j] x[b,c,i+u-1,j+v-1]. */
	double worst = 0, q0 = 0;
	for (size_t t = 0; t <= sizeof xf / 4; t++) {
		double val[2];
		for (int side = 0; side < 2; side++) {
			double keep = t < sizeof xf / 4 ? x[t] : 0, h = 1e-6;
			if (t < sizeof xf / 4)
				x[t] = keep + (side ? -h : h);
			double s = 0;
			for (int o = 0; o < O; o++)
				for (int c = 0; c < C; c++)
					for (int u = 0; u < KS; u++)
						for (int v = 0; v < KS; v++) {
							double f = 0;
							for (int b = 0; b < B; b++)
								for (int i = 0; i < H; i++)
									for (int j = 0; j < W; j++) {
										int hh = i + u - 1, ww = j + v - 1;
										if (hh < 0 || ww < 0 || hh >= H || ww >= W)
											continue;
										f += rf[((b * O + o) * H + i) * W + j] *
										     x[((b * C + c) * H + hh) * W + ww];
									}
							s += f * f;
						}
			val[side] = s;
			if (t < sizeof xf / 4)
				x[t] = keep;
		}
		if (t == sizeof xf / 4) {
			q0 = val[0];
			break;
		}
		double fd = (val[0] - val[1]) / 2e-6;
		worst = fmax(worst, fabs(gx[t] - fd) / fmax(1, fabs(fd)));
	}
	is_near(dg_exec_scalar(e, 0), q0, 1e-5, "conv: Q value");
	ok(worst < 1e-4, "conv: second derivative through the filter gradient (max error %.2g)", worst);
	dg_exec_free(e);
	dg_graph_free(g);
}

/* What the grouped, 3-d and pooling constructors refuse, each naming
 * the op and the reason. */
static void conv_pool_refusals(void)
{
	static const struct {
		const char *what, *want;
	} cases[] = {
		{"groups that do not divide the channels", "3 groups do not divide 4 input"},
		{"options without their size", "options of 4 bytes"},
		{"conv3d of a 4-d image", "conv3d: want N×C×D×H×W"},
		{"a weight of another rank", "weight of their rank"},
		{"output padding as large as the stride", "output padding 2 not below the stride 2"},
		{"pooling padding over half the window", "at most half the window"},
		{"a window larger than the padded image", "window 9 larger"},
		{"tiling windows that do not tile", "divisible by the window"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct dg_graph *g = dg_graph_new(1);
		dg_tensor x = dg_input(g, "x", DG_F32, DG_SHAPE(2, 4, 7, 7)), y = DG_NONE;
		dg_tensor w = dg_input(g, "w", DG_F32, DG_SHAPE(6, 4, 3, 3));
		struct dg_conv_opt small = {.struct_size = 4};
		switch (i) {
		case 0: y = dg_conv_nd(g, x, w, DG_NONE, DG_CONV_OPT(.groups = 3)); break;
		case 1: y = dg_conv_nd(g, x, w, DG_NONE, &small); break;
		case 2: y = dg_conv3d(g, x, w, DG_NONE, NULL); break;
		case 3:
			y = dg_conv_nd(g, x, dg_input(g, "w3", DG_F32, DG_SHAPE(6, 4, 3)), DG_NONE, NULL);
			break;
		case 4:
			y = dg_conv_transpose_nd(g, dg_input(g, "x5", DG_F32, DG_SHAPE(1, 4, 3, 3, 3)),
						 dg_input(g, "w5", DG_F32, DG_SHAPE(4, 2, 3, 3, 3)), DG_NONE,
						 DG_CONV_OPT(.stride = {2, 2, 2}, .output_padding = {0, 2, 0}));
			break;
		case 5: y = dg_max_pool2d(g, x, 3, 2, 2); break;
		case 6: y = dg_avg_pool2d(g, x, 9, 1, 0, 1); break;
		case 7: y = dg_avg_pool(g, x, 2); break;
		}
		ok(!y.id && dg_graph_status(g) == DG_EUSAGE && strstr(dg_graph_error(g), cases[i].want),
		   "refused: %s (%s)", cases[i].what, dg_graph_error(g));
		dg_graph_free(g);
	}
}

static void sticky_error(void)
{
	struct dg_graph *g = dg_graph_new(1);
	uint64_t a[2] = {3, 4}, b[2] = {5, 6};
	dg_tensor x = dg_input(g, "x", DG_F32, 2, a);
	dg_tensor w = dg_input(g, "w", DG_F32, 2, b);
	dg_tensor y = dg_matmul(g, x, w, 0, 0);
	ok(y.id == 0, "a bad matmul returns DG_NONE");
	dg_tensor z = dg_relu(g, dg_add(g, y, x));
	ok(z.id == 0, "later ops on an errored graph return DG_NONE");
	struct dg_exec *e;
	int st = dg_compile(g, NULL, 1, &z, 0, NULL, &e);
	is_int(st, DG_EUSAGE, "compile reports the first error");
	ok(strstr(dg_errmsg(), "matmul") && strstr(dg_errmsg(), "inner sizes"),
	   "the message names the op: %s", dg_errmsg());
	dg_graph_free(g);

	g = dg_graph_new(1);
	x = dg_input(g, "x", DG_F32, 2, a);
	dg_param(g, "p", 2, a, (struct dg_init){DG_INIT_ZEROS, 0, 0}, 0);
	dg_param(g, "p", 2, a, (struct dg_init){DG_INIT_ZEROS, 0, 0}, 0);
	is_int(dg_graph_status(g), DG_EUSAGE, "a repeated parameter name is an error");
	dg_graph_free(g);
}

/* An MLP VAE step, 784-400-20, batch 128, Adam: the planned arena is
 * smaller than all intermediates laid end to end. */
static void planning(void)
{
	struct dg_graph *g = dg_graph_new(7);
	uint64_t xd[2] = {128, 784}, zd[2] = {128, 20};
	struct dg_init he = {DG_INIT_HE_UNIFORM, 0, 0}, zero = {DG_INIT_ZEROS, 0, 0};
	uint64_t d1[2] = {400, 784}, d2[2] = {20, 400}, d3[2] = {400, 20}, d4[2] = {784, 400};
	uint64_t b1[1] = {400}, b2[1] = {20}, b4[1] = {784};
	dg_tensor x = dg_input(g, "x", DG_F32, 2, xd);
	dg_tensor h = dg_linear(g, x, dg_param(g, "enc.w1", 2, d1, he, 0), dg_param(g, "enc.b1", 1, b1, zero, 0),
				DG_ACT_RELU, 0);
	dg_tensor mu = dg_linear(g, h, dg_param(g, "enc.wmu", 2, d2, he, 0), dg_param(g, "enc.bmu", 1, b2, zero, 0),
				 DG_ACT_NONE, 0);
	dg_tensor lv = dg_linear(g, h, dg_param(g, "enc.wlv", 2, d2, he, 0), dg_param(g, "enc.blv", 1, b2, zero, 0),
				 DG_ACT_NONE, 0);
	dg_tensor z = dg_add(g, mu, dg_mul(g, dg_exp(g, dg_mul_scalar(g, lv, 0.5f)),
					   dg_random_normal(g, 2, zd)));
	dg_tensor h2 = dg_linear(g, z, dg_param(g, "dec.w1", 2, d3, he, 0), dg_param(g, "dec.b1", 1, b1, zero, 0),
				 DG_ACT_RELU, 0);
	dg_tensor logits = dg_linear(g, h2, dg_param(g, "dec.w2", 2, d4, he, 0),
				     dg_param(g, "dec.b2", 1, b4, zero, 0), DG_ACT_NONE, 0);
	dg_tensor loss = dg_add(g, dg_bce_logits_loss(g, logits, x, DG_SUM_MEAN_BATCH),
				dg_kl_normal(g, mu, lv, DG_SUM_MEAN_BATCH));
	struct dg_optim opt = {.kind = DG_ADAM, .lr = 1e-3f};
	int upd = dg_optimize(g, loss, DG_ALL_GROUPS, &opt);
	ok(upd > 0, "optimizer appended");
	struct dg_exec *e;
	if (!ok(dg_compile(g, NULL, 1, &loss, 1, &upd, &e) == 0, "VAE step compiles")) {
		diag("%s", dg_errmsg());
		dg_graph_free(g);
		return;
	}
	struct dg_exec_stats st;
	dg_exec_stats(e, &st);
	diag("MLP VAE step: %zu kernels, intermediates %.2f MB planned into %.2f MB, variables %.2f MB",
	     st.kernels, st.intermediate_bytes / 1e6, st.peak_bytes / 1e6, st.variable_bytes / 1e6);
	ok(st.peak_bytes > 0 && st.peak_bytes < st.intermediate_bytes, "peak below the sum of intermediates");
	float *xv = malloc(128 * 784 * sizeof *xv);
	for (int i = 0; i < 128 * 784; i++)
		xv[i] = (float)urand();
	dg_exec_feed(e, "x", DG_F32, xv, 128 * 784);
	float first = 0, last = 0;
	for (int i = 0; i < 30; i++) {
		dg_exec_run(e);
		last = dg_exec_scalar(e, 0);
		if (!i)
			first = last;
	}
	ok(isfinite(last) && last < first, "the loss falls on a fixed batch (%.2f -> %.2f)", first, last);
	free(xv);
	dg_exec_free(e);
	dg_graph_free(g);
}

static void randomness(void)
{
	uint64_t d[1] = {10001};
	struct dg_graph *g = dg_graph_new(11);
	dg_tensor u = dg_random_uniform(g, 1, d), n = dg_random_normal(g, 1, d);
	dg_tensor outs[2] = {u, n};
	struct dg_exec *e;
	static float a[10001], b[10001], c[10001];
	dg_compile(g, NULL, 2, outs, 0, NULL, &e);
	dg_exec_run(e);
	dg_exec_read(e, 0, a, 10001);
	dg_exec_read(e, 1, b, 10001);
	double s = 0, ss = 0, su = 0;
	for (int i = 0; i < 10001; i++) {
		s += b[i];
		ss += (double)b[i] * b[i];
		su += a[i];
	}
	is_near(su / 10001, 0.5, 0.02, "uniform draws have mean 1/2");
	is_near(s / 10001, 0, 0.05, "normal draws have mean 0");
	is_near(ss / 10001, 1, 0.05, "normal draws have variance 1");
	/* The same numbers as the host generator at (seed, op stream, run << 32):
	 * the contract every backend keeps. */
	static float host[10001];
	dg_rng_uniform(11, DG_OP_STREAM | 0, 0, host, 10001);
	ok(!memcmp(a, host, sizeof host), "uniform draws equal dg_rng_uniform(seed, stream, 0)");
	dg_rng_normal(11, DG_OP_STREAM | 1, 0, host, 10001);
	ok(!memcmp(b, host, sizeof host), "normal draws equal dg_rng_normal(seed, stream, 0)");
	struct dg_array *runs;
	dg_var_get(g, "graph.runs", &runs);
	is_int(*(int64_t *)runs->data, 1, "the run counter advanced");
	dg_array_free(runs);
	dg_exec_run(e);
	dg_exec_read(e, 0, c, 10001);
	ok(memcmp(a, c, sizeof a) != 0, "a new run draws new numbers");
	dg_rng_uniform(11, DG_OP_STREAM | 0, 1ull << 32, host, 10001);
	ok(!memcmp(c, host, sizeof host), "run 1 draws from counter 1 << 32");
	dg_exec_free(e);
	dg_graph_free(g);
}

static void variables(void)
{
	uint64_t d[2] = {64, 32};
	struct dg_graph *g = dg_graph_new(9);
	dg_param(g, "a", 2, d, (struct dg_init){DG_INIT_ORTHOGONAL, 0, 0}, 0);
	dg_param(g, "b", 2, d, (struct dg_init){DG_INIT_GLOROT_UNIFORM, 0, 0}, 0);
	dg_tensor c = dg_param(g, "c", 2, d, (struct dg_init){DG_INIT_NORMAL, 0.5f, 2}, 0);
	struct dg_array *a, *b, *cc;
	dg_var_get(g, "a", &a);
	dg_var_get(g, "b", &b);
	const float *av = a->data, *bv = b->data;
	/* Orthogonal 64x32: columns orthonormal. */
	double worst = 0;
	for (int i = 0; i < 32; i++)
		for (int j = 0; j < 32; j++) {
			double dot = 0;
			for (int k = 0; k < 64; k++)
				dot += (double)av[k * 32 + i] * av[k * 32 + j];
			worst = fmax(worst, fabs(dot - (i == j)));
		}
	ok(worst < 1e-5, "orthogonal init has orthonormal columns (%.2g)", worst);
	double lim = sqrt(6.0 / (64 + 32)), mx = 0;
	for (int i = 0; i < 64 * 32; i++)
		mx = fmax(mx, fabs(bv[i]));
	ok(mx <= lim && mx > 0.9 * lim, "Glorot uniform within ±sqrt(6/(fan_in+fan_out))");
	/* Set, compile (moves values to the device), read back. */
	for (int i = 0; i < 64 * 32; i++)
		((float *)b->data)[i] = (float)i;
	is_int(dg_var_set(g, "c", b), 0, "set a parameter");
	struct dg_exec *e;
	dg_compile(g, NULL, 1, &c, 0, NULL, &e);
	dg_exec_run(e);
	dg_var_get(g, "c", &cc);
	ok(!memcmp(cc->data, b->data, 64 * 32 * 4), "values survive binding to the device");
	float v[64 * 32];
	dg_exec_read(e, 0, v, 64 * 32);
	ok(v[100] == 100, "an output can be a parameter");
	uint64_t wrong[1] = {3};
	struct dg_array *bad = dg_array_new(DG_F32, 1, wrong);
	is_int(dg_var_set(g, "c", bad), DG_EDATA, "a shape mismatch is refused");
	dg_array_free(bad);
	is_int(dg_var_get(g, "nope", &bad) == DG_ENOINPUT && !bad, 1, "an unknown name is DG_ENOINPUT");
	/* Same seed, same index: same values whatever was built between. */
	struct dg_graph *g2 = dg_graph_new(9);
	uint64_t other[1] = {5};
	dg_param(g2, "a", 2, d, (struct dg_init){DG_INIT_ORTHOGONAL, 0, 0}, 0);
	dg_relu(g2, dg_input(g2, "unrelated", DG_F32, 1, other));
	dg_param(g2, "b", 2, d, (struct dg_init){DG_INIT_GLOROT_UNIFORM, 0, 0}, 0);
	struct dg_array *b2;
	dg_var_get(g2, "b", &b2);
	struct dg_array *b1;
	struct dg_graph *g3 = dg_graph_new(9);
	dg_param(g3, "a", 2, d, (struct dg_init){DG_INIT_ORTHOGONAL, 0, 0}, 0);
	dg_param(g3, "b", 2, d, (struct dg_init){DG_INIT_GLOROT_UNIFORM, 0, 0}, 0);
	dg_var_get(g3, "b", &b1);
	ok(!memcmp(b1->data, b2->data, 64 * 32 * 4), "initial values depend on seed and index only");
	dg_array_free(b1);
	dg_array_free(b2);
	dg_array_free(a);
	dg_array_free(b);
	dg_array_free(cc);
	dg_exec_free(e);
	dg_graph_free(g);
	dg_graph_free(g2);
	dg_graph_free(g3);
}

/* Running statistics: a training step updates them (momentum m, unbiased
 * variance), an inference graph on the same buffers uses them. */
static void batch_norm_running(void)
{
	enum { BN = 6, C = 3 };
	uint64_t xd[2] = {BN, C}, cd[1] = {C};
	float x[BN * C], rm[C], rv[C], y[BN * C];
	for (int i = 0; i < BN * C; i++)
		x[i] = (float)(urand() * 4 - 1);
	struct dg_graph *g = dg_graph_new(1);
	dg_tensor tx = dg_input(g, "x", DG_F32, 2, xd);
	dg_tensor m = dg_buffer(g, "bn.mean", 1, cd, (struct dg_init){DG_INIT_ZEROS, 0, 0});
	dg_tensor v = dg_buffer(g, "bn.var", 1, cd, (struct dg_init){DG_INIT_CONSTANT, 1, 0});
	dg_tensor yt = dg_batch_norm(g, tx, DG_NONE, DG_NONE, m, v, 1, 0.1f, 1e-5f);
	dg_tensor yi = dg_batch_norm(g, tx, DG_NONE, DG_NONE, m, v, 0, 0.1f, 1e-5f);
	struct dg_exec *train, *infer;
	dg_compile(g, NULL, 1, &yt, 0, NULL, &train);
	dg_compile(g, NULL, 1, &yi, 0, NULL, &infer);
	dg_exec_feed(train, "x", DG_F32, x, BN * C);
	dg_exec_feed(infer, "x", DG_F32, x, BN * C);
	dg_exec_run(train);
	dg_exec_run(train);
	double wm[C] = {0}, wv[C] = {1, 1, 1};
	for (int c = 0; c < C; c++) {
		double s = 0, ss = 0;
		for (int i = 0; i < BN; i++)
			s += x[i * C + c];
		s /= BN;
		for (int i = 0; i < BN; i++)
			ss += (x[i * C + c] - s) * (x[i * C + c] - s);
		for (int k = 0; k < 2; k++) {
			wm[c] = 0.9 * wm[c] + 0.1 * s;
			wv[c] = 0.9 * wv[c] + 0.1 * ss / (BN - 1);
		}
	}
	struct dg_array *am, *av;
	dg_var_get(g, "bn.mean", &am);
	dg_var_get(g, "bn.var", &av);
	memcpy(rm, am->data, sizeof rm);
	memcpy(rv, av->data, sizeof rv);
	double worst = 0;
	for (int c = 0; c < C; c++)
		worst = fmax(worst, fmax(fabs(rm[c] - wm[c]), fabs(rv[c] - wv[c])));
	ok(worst < 1e-6, "batch norm: running mean and variance after two steps (%.2g)", worst);
	dg_exec_run(infer);
	dg_exec_read(infer, 0, y, BN * C);
	worst = 0;
	for (int i = 0; i < BN * C; i++) {
		int c = i % C;
		worst = fmax(worst, fabs(y[i] - (x[i] - wm[c]) / sqrt(wv[c] + 1e-5)));
	}
	ok(worst < 1e-5, "batch norm: inference uses the running statistics (%.2g)", worst);
	dg_array_free(am);
	dg_var_get(g, "bn.mean", &am);
	ok(!memcmp(am->data, rm, sizeof rm), "batch norm: inference leaves them alone");
	dg_array_free(am);
	dg_array_free(av);
	dg_exec_free(train);
	dg_exec_free(infer);
	dg_graph_free(g);
}

/* Samplers: frequencies against their probabilities; casts; feeding. */
static void samplers(void)
{
	enum { R = 4000, K = 3 };
	uint64_t ld[2] = {R, K}, bd[1] = {R}, ud[1] = {4};
	float logits[R * K], bern[R], cat[R], drop[R], bl[R];
	const float lv[K] = {0.5f, -1, 1.5f};
	for (int i = 0; i < R * K; i++)
		logits[i] = lv[i % K];
	struct dg_graph *g = dg_graph_new(99);
	dg_tensor l = dg_input(g, "l", DG_F32, 2, ld);
	dg_tensor ones = dg_full(g, 1, bd, 1);
	dg_tensor outs[5] = {
		dg_random_bernoulli(g, 1, bd, 0.3f),
		dg_sample_categorical_logits(g, l),
		dg_dropout(g, ones, 0.25f, 1),
		dg_sample_bernoulli_logits(g, dg_slice(g, dg_reshape(g, l, 1, (int64_t[1]){R * K}), 0, 0, R)),
		dg_cast(g, dg_input(g, "u", DG_U8, 1, ud), 1 / 255.0f),
	};
	dg_tensor unused = dg_input(g, "unused", DG_F32, 1, ud);
	(void)unused;
	struct dg_exec *e;
	if (!ok(dg_compile(g, NULL, 5, outs, 0, NULL, &e) == 0, "samplers compile")) {
		diag("%s", dg_errmsg());
		dg_graph_free(g);
		return;
	}
	const uint8_t u[4] = {0, 51, 255, 128};
	float uf[4];
	is_int(dg_exec_feed(e, "l", DG_F32, logits, R * K), 0, "feed logits");
	is_int(dg_exec_feed(e, "u", DG_U8, u, 4), 0, "feed u8");
	is_int(dg_exec_feed(e, "u", DG_F32, logits, 4), DG_EDATA, "a wrong dtype is refused");
	is_int(dg_exec_feed(e, "l", DG_F32, logits, 7), DG_EDATA, "a wrong count is refused");
	is_int(dg_exec_feed(e, "unused", DG_F32, logits, 4), 0, "an input the step ignores is accepted");
	is_int(dg_exec_feed(e, "nope", DG_F32, logits, 4), DG_EUSAGE, "an unknown input is DG_EUSAGE");
	dg_exec_run(e);
	dg_exec_read(e, 0, bern, R);
	dg_exec_read(e, 1, cat, R);
	dg_exec_read(e, 2, drop, R);
	dg_exec_read(e, 3, bl, R);
	dg_exec_read(e, 4, uf, 4);
	double pb = 0, pl = 0, pd = 0, cnt[K] = {0}, z = 0;
	int zero_or_scaled = 1;
	for (int i = 0; i < R; i++) {
		pb += bern[i] / R;
		pd += (drop[i] != 0) / (double)R;
		zero_or_scaled &= drop[i] == 0 || fabsf(drop[i] - 1 / 0.75f) < 1e-6f;
		pl += bl[i] / R;
		if (cat[i] >= 0 && cat[i] < K)
			cnt[(int)cat[i]] += 1.0 / R;
	}
	for (int k = 0; k < K; k++)
		z += exp(lv[k]);
	is_near(pb, 0.3, 0.03, "Bernoulli(0.3) frequency %.3f", pb);
	is_near(pd, 0.75, 0.03, "dropout keeps 75%% (%.3f)", pd);
	ok(zero_or_scaled, "dropout scales kept values by 1/(1-p)");
	/* bl samples logits l[0..R) = 0.5, -1, 1.5 repeating */
	double want = 0;
	for (int i = 0; i < R; i++)
		want += 1 / (1 + exp(-lv[i % K])) / R;
	is_near(pl, want, 0.03, "Bernoulli(sigmoid(logits)) frequency %.3f", pl);
	for (int k = 0; k < K; k++)
		is_near(cnt[k], exp(lv[k]) / z, 0.03, "categorical class %d frequency %.3f", k, cnt[k]);
	ok(uf[0] == 0 && fabsf(uf[1] - 0.2f) < 1e-6f && uf[2] == 1, "u8 cast scales by 1/255");
	dg_exec_free(e);
	dg_graph_free(g);
}

/* DG_DEBUG=graph prints the planned graph with shapes to stderr. */
static void debug_print(void)
{
	char path[] = "/tmp/dg-t-graph-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	uint64_t d[2] = {3, 5};
	struct dg_graph *g = dg_graph_new(1);
	dg_tensor y = dg_relu(g, dg_matmul(g, dg_input(g, "x", DG_F32, 2, d), dg_input(g, "w", DG_F32, 2, d), 0, 1));
	struct dg_exec *e;
	setenv("DG_DEBUG", "graph", 1);
	dup2(fd, 2);
	dg_compile(g, NULL, 1, &y, 0, NULL, &e);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	unsetenv("DG_DEBUG");
	char buf[4096] = {0};
	lseek(fd, 0, SEEK_SET);
	ssize_t got = read(fd, buf, sizeof buf - 1);
	close(fd);
	unlink(path);
	ok(got > 0 && strstr(buf, "matmul") && strstr(buf, "f32 3x3") && strstr(buf, "relu"),
	   "DG_DEBUG=graph lists ops with shapes");
	dg_exec_free(e);
	dg_graph_free(g);
}

/* PixelCNN colour ordering: with 3 groups, output group o sees input
 * group c at the centre tap iff c < o (mask A) or c <= o (mask B); rows
 * above and taps to the left are always visible, the rest never. */
static void masked_groups(void)
{
	uint64_t xd[4] = {1, 3, 3, 3}, wd[4] = {3, 3, 3, 3};
	for (int mask = 0; mask < 2; mask++) {
		struct dg_graph *g = dg_graph_new(1);
		dg_tensor x = dg_input(g, "x", DG_F32, 4, xd);
		dg_tensor w = dg_full(g, 4, wd, 1);
		struct dg_conv p = {1, 1, 1, 0};
		dg_tensor y = dg_masked_conv2d(g, x, w, DG_NONE, &p, mask ? 'B' : 'A', 3);
		dg_tensor outs[3];
		for (int o = 0; o < 3; o++) {
			/* y[0, o, 1, 1]: the centre pixel of output channel o */
			dg_tensor yo = dg_slice(g, dg_slice(g, dg_slice(g, y, 1, (uint64_t)o, 1), 2, 1, 1), 3, 1, 1);
			outs[o] = dg_grad(g, dg_sum(g, yo, DG_AXES_ALL, 0), x);
		}
		struct dg_exec *e;
		if (dg_compile(g, NULL, 3, outs, 0, NULL, &e)) {
			ok(0, "masked conv groups: %s", dg_errmsg());
			dg_graph_free(g);
			return;
		}
		dg_exec_run(e);
		int right = 1;
		for (int o = 0; o < 3; o++) {
			float gx[27];
			dg_exec_read(e, (size_t)o, gx, 27);
			for (int c = 0; c < 3; c++)
				for (int i = 0; i < 3; i++)
					for (int j = 0; j < 3; j++) {
						int want = i < 1 || (i == 1 && j < 1) ||
							   (i == 1 && j == 1 && (mask ? c <= o : c < o));
						right &= (gx[(c * 3 + i) * 3 + j] != 0) == want;
					}
		}
		ok(right, "masked conv %c with 3 colour groups connects the right taps", mask ? 'B' : 'A');
		dg_exec_free(e);
		dg_graph_free(g);
	}
}

/* Two biases that meet in an add, y = (x + a) + (x·x + b), get the same
 * gradient summed to the same shape: the graph makes that sum once (one
 * node serves both), and its value is the column sum of the upstream
 * gradient r. */
static void shared_bias_sum(void)
{
	enum { R = 3, C = 4 };
	float xf[R * C], rf[R * C], ga[C], gb[C];
	uint64_t xd[2] = {R, C}, bd[2] = {1, C};
	for (int i = 0; i < R * C; i++) {
		xf[i] = (float)(2 * urand() - 1);
		rf[i] = (float)(2 * urand() - 1);
	}
	struct dg_graph *g = dg_graph_new(3);
	dg_tensor x = dg_input(g, "x", DG_F32, 2, xd);
	dg_tensor a = dg_input(g, "a", DG_F32, 2, bd), b = dg_input(g, "b", DG_F32, 2, bd);
	dg_tensor y = dg_add(g, dg_add(g, x, a), dg_add(g, dg_mul(g, x, x), b));
	dg_tensor l = dg_sum(g, dg_mul(g, y, dg_constant(g, 2, xd, rf)), DG_AXES_ALL, 0);
	dg_tensor ins[2] = {a, b}, gr[2];
	dg_gradients(g, l, 2, ins, gr);
	ok(gr[0].id && gr[0].id == gr[1].id, "the two biases' gradients are one sum node");
	struct dg_exec *e;
	if (!ok(dg_compile(g, NULL, 2, gr, 0, NULL, &e) == 0, "shared bias sums compile")) {
		diag("%s", dg_errmsg());
		dg_graph_free(g);
		return;
	}
	float zero[C] = {0};
	dg_exec_feed(e, "x", DG_F32, xf, R * C);
	dg_exec_feed(e, "a", DG_F32, zero, C);
	dg_exec_feed(e, "b", DG_F32, zero, C);
	ok(dg_exec_run(e) == 0, "shared bias sums run");
	dg_exec_read(e, 0, ga, C);
	dg_exec_read(e, 1, gb, C);
	double worst = 0;
	for (int j = 0; j < C; j++) {
		double s = 0;
		for (int i = 0; i < R; i++)
			s += rf[i * C + j];
		worst = fmax(worst, fmax(fabs(ga[j] - s), fabs(gb[j] - s)));
	}
	ok(worst < 1e-6, "both bias gradients are the column sums (max error %.2g)", worst);
	dg_exec_free(e);
	dg_graph_free(g);
}

int main(void)
{
	shared_bias_sum();
	masked_groups();
	batch_norm_running();
	samplers();
	debug_print();
	second_derivative();
	conv_second_order();
	sticky_error();
	conv_pool_refusals();
	planning();
	randomness();
	variables();
	return done_testing();
}
