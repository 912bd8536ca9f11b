/* t_cpu_fuse.c — the cpu backend's fusion of a convolution's bias
 * gradient (the sum of dy over N, H, W) into oneDNN's backward-weights
 * call, and its reuse of one blocked copy of a tensor across the
 * convolution calls that read it: the step of a convolution with bias,
 * two consumers of its output and a second convolution on the same input
 * gives the gradients of the calls run one by one (DG_NO_FUSION=1) and of
 * a double-precision reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"
#include "tap.h"

/* x N×C×H×W, w O×C×3×3 and v O×C×1×3 (padding 1), biases b, c of O. */
enum { N = 3, C = 17, H = 9, W = 8, O = 19 };
enum { NX = N * C * H * W, NW = O * C * 9, NV = O * C * 3, NY = N * O * H * W,
       NV_OUT = N * O * (H + 2) * W };

/* loss = Σ r·(conv(x, w) + b) + Σ q·tanh(conv(x, w) + b) + Σ s·(conv1x3(x, v) + c),
 * the second convolution over rows padded by 1 too: its output is
 * N×O×(H+2)×W.  Outputs: the gradients of w, b, v and c. */
static int run(const float *x, const float *w, const float *v, const float *r,
	       const float *q, const float *s, float *gw, float *gb, float *gv, float *gc)
{
	uint64_t xd[4] = {N, C, H, W}, wd[4] = {O, C, 3, 3}, vd[4] = {O, C, 1, 3}, bd[1] = {O};
	uint64_t yd[4] = {N, O, H, W}, zd[4] = {N, O, H + 2, W};
	struct dg_graph *g = dg_graph_new(1);
	dg_tensor tx = dg_input(g, "x", DG_F32, 4, xd), tw = dg_input(g, "w", DG_F32, 4, wd);
	dg_tensor tv = dg_input(g, "v", DG_F32, 4, vd), tb = dg_input(g, "b", DG_F32, 1, bd);
	dg_tensor tc = dg_input(g, "c", DG_F32, 1, bd);
	struct dg_conv p = {1, 1, 1, 0};
	dg_tensor y = dg_conv2d(g, tx, tw, tb, &p);
	dg_tensor z = dg_conv2d(g, tx, tv, tc, &p);
	dg_tensor l = dg_add(g, dg_sum(g, dg_mul(g, y, dg_constant(g, 4, yd, r)), DG_AXES_ALL, 0),
			     dg_sum(g, dg_mul(g, dg_tanh(g, y), dg_constant(g, 4, yd, q)),
				    DG_AXES_ALL, 0));
	l = dg_add(g, l, dg_sum(g, dg_mul(g, z, dg_constant(g, 4, zd, s)), DG_AXES_ALL, 0));
	dg_tensor ins[4] = {tw, tb, tv, tc}, gr[4];
	dg_gradients(g, l, 4, ins, gr);
	struct dg_exec *e;
	int st = dg_compile(g, "cpu", 4, gr, 0, NULL, &e);
	float zero[O] = {0};
	st = st ? st : dg_exec_feed(e, "x", DG_F32, x, NX);
	st = st ? st : dg_exec_feed(e, "w", DG_F32, w, NW);
	st = st ? st : dg_exec_feed(e, "v", DG_F32, v, NV);
	st = st ? st : dg_exec_feed(e, "b", DG_F32, zero, O);
	st = st ? st : dg_exec_feed(e, "c", DG_F32, zero, O);
	st = st ? st : dg_exec_run(e);
	st = st ? st : dg_exec_read(e, 0, gw, NW);
	st = st ? st : dg_exec_read(e, 1, gb, O);
	st = st ? st : dg_exec_read(e, 2, gv, NV);
	st = st ? st : dg_exec_read(e, 3, gc, O);
	if (st)
		diag("%s", dg_errmsg());
	else
		dg_exec_free(e);
	dg_graph_free(g);
	return st;
}

static double at(const float *x, int n, int c, int h, int w)
{
	return h < 0 || h >= H || w < 0 || w >= W ? 0 : x[((n * C + c) * H + h) * W + w];
}

static double rel(double got, double want)
{
	return fabs(got - want) / fmax(1, fabs(want));
}

int main(void)
{
	static float x[NX], w[NW], v[NV], r[NY], q[NY], s[NV_OUT];
	static float gw[2][NW], gb[2][O], gv[2][NV], gc[2][O];
	static double dy[NY];

	for (int i = 0; i < NX; i++)
		x[i] = (float)sin(0.37 * i + 0.1);
	for (int i = 0; i < NW; i++)
		w[i] = (float)(0.2 * cos(0.11 * i));
	for (int i = 0; i < NV; i++)
		v[i] = (float)(0.3 * sin(0.23 * i + 1));
	for (int i = 0; i < NY; i++) {
		r[i] = (float)cos(0.05 * i);
		q[i] = (float)sin(0.031 * i + 2);
	}
	for (int i = 0; i < NV_OUT; i++)
		s[i] = (float)cos(0.017 * i + 0.5);
	int sa = run(x, w, v, r, q, s, gw[0], gb[0], gv[0], gc[0]);
	setenv("DG_NO_FUSION", "1", 1);
	int sb = run(x, w, v, r, q, s, gw[1], gb[1], gv[1], gc[1]);
	unsetenv("DG_NO_FUSION");
	ok(!sa && !sb, "the convolution step runs fused and call by call");

	/* dy of the first convolution: r + q·(1 - tanh²(y)), y in double */
	for (int n = 0; n < N; n++)
		for (int o = 0; o < O; o++)
			for (int h = 0; h < H; h++)
				for (int j = 0; j < W; j++) {
					double y = 0;
					for (int c = 0; c < C; c++)
						for (int a = 0; a < 3; a++)
							for (int b = 0; b < 3; b++)
								y += w[((o * C + c) * 3 + a) * 3 + b] *
								     at(x, n, c, h + a - 1, j + b - 1);
					int i = ((n * O + o) * H + h) * W + j;
					double t = tanh(y);
					dy[i] = r[i] + q[i] * (1 - t * t);
				}
	double eb = 0, ec = 0, ew = 0, ev = 0;
	for (int o = 0; o < O; o++) {
		double sb_ = 0, sc = 0;
		for (int n = 0; n < N; n++) {
			for (int i = 0; i < H * W; i++)
				sb_ += dy[(n * O + o) * H * W + i];
			for (int i = 0; i < (H + 2) * W; i++)
				sc += s[(n * O + o) * (H + 2) * W + i];
		}
		for (int f = 0; f < 2; f++) {
			eb = fmax(eb, rel(gb[f][o], sb_));
			ec = fmax(ec, rel(gc[f][o], sc));
		}
		for (int c = 0; c < C; c++)
			for (int a = 0; a < 3; a++)
				for (int b = 0; b < 3; b++) {
					double sw = 0, sv = 0;
					for (int n = 0; n < N; n++)
						for (int h = 0; h < H; h++)
							for (int j = 0; j < W; j++)
								sw += dy[((n * O + o) * H + h) * W + j] *
								      at(x, n, c, h + a - 1, j + b - 1);
					for (int n = 0; n < N && a == 0; n++)
						for (int h = 0; h < H + 2; h++)
							for (int j = 0; j < W; j++)
								sv += s[((n * O + o) * (H + 2) + h) * W + j] *
								      at(x, n, c, h - 1, j + b - 1);
					for (int f = 0; f < 2; f++) {
						ew = fmax(ew, rel(gw[f][((o * C + c) * 3 + a) * 3 + b], sw));
						if (a == 0)
							ev = fmax(ev, rel(gv[f][(o * C + c) * 3 + b], sv));
					}
				}
	}
	ok(!sa && !sb && eb < 1e-4 && ec < 1e-4,
	   "bias gradients, fused and not, match the double sums of dy (%.2g, %.2g)", eb, ec);
	ok(!sa && !sb && ew < 1e-4 && ev < 1e-4,
	   "weight gradients, fused and not, match the reference (%.2g, %.2g)", ew, ev);
	ok(!sa && !sb && !memcmp(gw[0], gw[1], sizeof gw[0]) && !memcmp(gv[0], gv[1], sizeof gv[0]),
	   "weight gradients from shared blocked copies are the bits of unshared ones");
	return done_testing();
}
