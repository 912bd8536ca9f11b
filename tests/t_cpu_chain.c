/* t_cpu_chain.c — the cpu backend's chains of elementwise calls
 * (cpu/chain.c): a graph of elementwise ops over more elements than one
 * thread and one block take, with broadcast rows, a scalar from a
 * reduction, where and expand, gives the same bits chained as call by call
 * (DG_NO_FUSION=1) and matches a double-precision reference; and the rule
 * that decides what may be chained refuses every aliasing that would make
 * block-by-block execution differ from one call after another. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cpu/chain.h"  /* internal: links libdg-internal.a */
#include "dg.h"
#include "tap.h"

enum { R = 67, C = 517, N = R * C };

/* outs: c, h, k (each N floats), from inputs x, y (R×C) and b (1×C). */
static int run_graph(const float *x, const float *y, const float *b, float *out)
{
	uint64_t d[2] = {R, C}, db[2] = {1, C};
	struct dg_graph *g = dg_graph_new(7);
	dg_tensor tx = dg_input(g, "x", DG_F32, 2, d), ty = dg_input(g, "y", DG_F32, 2, d);
	dg_tensor tb = dg_input(g, "b", DG_F32, 2, db);
	dg_tensor s = dg_mul_scalar(g, dg_sum(g, tx, DG_AXES_ALL, 0), 1.0f / N);
	dg_tensor a = dg_exp(g, dg_affine(g, tx, 0.5f, 0.1f));
	dg_tensor c = dg_sub(g, dg_mul(g, a, ty), tb);
	dg_tensor f = dg_add(g, dg_mul(g, dg_sigmoid(g, c), ty), dg_mul(g, a, s));
	dg_tensor h = dg_mul_scalar(g, dg_tanh(g, f), 3);
	dg_tensor m = dg_where(g, dg_greater(g, h, ty), dg_softplus(g, dg_add(g, h, ty)),
			       dg_mul(g, tx, tb));
	dg_tensor k = dg_add(g, m, dg_expand(g, tb, 2, d));
	dg_tensor outs[3] = {c, h, k};
	struct dg_exec *e;
	int st = dg_compile(g, "cpu", 3, outs, 0, NULL, &e);
	st = st ? st : dg_exec_feed(e, "x", DG_F32, x, N);
	st = st ? st : dg_exec_feed(e, "y", DG_F32, y, N);
	st = st ? st : dg_exec_feed(e, "b", DG_F32, b, C);
	st = st ? st : dg_exec_run(e);
	for (size_t i = 0; i < 3 && !st; i++)
		st = dg_exec_read(e, i, out + i * N, N);
	if (st)
		diag("%s", dg_errmsg());
	if (!st)
		dg_exec_free(e);
	dg_graph_free(g);
	return st;
}

static double softplus(double v)
{
	return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v));
}

static void graph_chain(void)
{
	static float x[N], y[N], b[C], fused[3 * N], plain[3 * N];
	double sum = 0, worst = 0;

	for (int i = 0; i < N; i++) {
		x[i] = (float)sin(0.013 * i + 0.3);
		y[i] = (float)cos(0.007 * i);
		sum += x[i];
	}
	for (int j = 0; j < C; j++)
		b[j] = (float)(0.25 * sin(0.5 * j));
	int sa = run_graph(x, y, b, fused);
	setenv("DG_NO_FUSION", "1", 1);
	int sb = run_graph(x, y, b, plain);
	unsetenv("DG_NO_FUSION");
	ok(!sa && !sb && !memcmp(fused, plain, sizeof fused),
	   "a chain over %d elements (2 threads, blocks, broadcast rows, where, expand) gives "
	   "the bits of its calls run one by one", N);
	for (int i = 0; i < N; i++) {
		double bj = b[i % C], a = exp(0.5 * x[i] + 0.1), s = sum / N;
		double c = a * y[i] - bj;
		double f = 1 / (1 + exp(-c)) * y[i] + a * s, h = 3 * tanh(f);
		double k = (h > y[i] ? softplus(h + y[i]) : x[i] * bj) + bj;
		double want[3] = {c, h, k};
		for (int o = 0; o < 3; o++)
			worst = fmax(worst, fabs(fused[o * N + i] - want[o]) / fmax(1, fabs(want[o])));
	}
	ok(!sa && worst < 1e-5, "the chained results match a double reference (%.2g)", worst);
}

/* ---- what may be chained -------------------------------------------------- */

static float mem[8 * 64];

/* Call i of a handmade list: op, output at mem + out, inputs at mem +
 * in0 and in1 (in1 < 0: unary) with in1's element count cnt1. */
static void call(struct dg_kcall *c, struct dg_kargs *a, int op, int out, int in0, int in1,
		 uint64_t cnt1)
{
	memset(c, 0, sizeof *c);
	memset(a, 0, sizeof *a);
	c->n.op = (uint16_t)op;
	c->n.dtype = DG_F32;
	c->n.count = 64;
	c->n.nin = in1 < 0 ? 1 : 2;
	c->in_node[0].dtype = c->in_node[1].dtype = DG_F32;
	c->in_node[0].count = 64;
	c->in_node[1].count = cnt1;
	a->c = c;
	a->y = mem + out;
	a->x[0] = mem + in0;
	a->x[1] = in1 < 0 ? NULL : mem + in1;
}

static size_t chain_of(const struct dg_kcall *c, const struct dg_kargs *a, size_t n)
{
	dg_pool_fn range[16];
	return dg_cpu_chain_len(c, a, n, range);
}

static void chain_rule(void)
{
	struct dg_kcall c[3];
	struct dg_kargs a[3];

	/* t = exp(x); u = t + y; v = u * u: a value passed at its place */
	call(&c[0], &a[0], OP_EXP, 128, 0, -1, 0);
	call(&c[1], &a[1], OP_ADD, 192, 128, 64, 64);
	call(&c[2], &a[2], OP_MUL, 192, 192, 192, 64);
	is_int((long)chain_of(c, a, 3), 3, "values passed at their places, in place too: 3 steps");
	/* the second step reads the first's output shifted by one element */
	call(&c[1], &a[1], OP_ADD, 192, 129, 64, 64);
	is_int((long)chain_of(c, a, 3), 1, "a read of an earlier output at another place ends it");
	/* a broadcast operand that an earlier step writes */
	call(&c[1], &a[1], OP_ADD, 192, 64, 128, 1);
	is_int((long)chain_of(c, a, 3), 1, "a broadcast read of an earlier output ends it");
	/* a later step writes over a broadcast operand of an earlier one */
	call(&c[0], &a[0], OP_ADD, 128, 0, 320, 1);
	call(&c[1], &a[1], OP_EXP, 320, 128, -1, 0);
	is_int((long)chain_of(c, a, 2), 1, "a write over an earlier broadcast read ends it");
	/* a later step writes an earlier step's input at another place */
	call(&c[0], &a[0], OP_EXP, 128, 0, -1, 0);
	call(&c[1], &a[1], OP_EXP, 1, 128, -1, 0);
	is_int((long)chain_of(c, a, 2), 1, "a write over an earlier read at another place ends it");
	/* a later output overlapping an earlier one at another place */
	call(&c[1], &a[1], OP_EXP, 130, 256, -1, 0);
	is_int((long)chain_of(c, a, 2), 1, "a write over an earlier output at another place ends it");
	/* not an elementwise kernel, or not the same element count */
	call(&c[1], &a[1], OP_SUM_TO, 256, 128, -1, 0);
	is_int((long)chain_of(c, a, 2), 1, "a reduction is no step");
	call(&c[1], &a[1], OP_EXP, 256, 128, -1, 0);
	c[1].n.count = 32;
	is_int((long)chain_of(c, a, 2), 1, "a step of another size is no step");
}

int main(void)
{
	graph_chain();
	chain_rule();
	return done_testing();
}
