/* t_graph_vk.c — the backend interface on vulkan (lavapipe here): matmul,
 * add and relu, forward and backward, fused and unfused, give the cpu
 * backend's results; the same executable reruns with new inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"
#include "tap.h"

enum { N = 5, K = 7, M = 3, NOUT = 6 };

static float xv[N * K], rv[N * M];

/* Returns the outputs (y, loss, dW, db, dx, dC) concatenated. */
static int run(const char *device, float *out, size_t *nout, int runs)
{
	uint64_t xd[2] = {N, K}, wd[2] = {M, K}, bd[1] = {M}, cd[2] = {N, 1}, rd[2] = {N, M};
	struct dg_graph *g = dg_graph_new(17);
	dg_tensor x = dg_input(g, "x", DG_F32, 2, xd);
	dg_tensor w = dg_param(g, "w", 2, wd, (struct dg_init){DG_INIT_GLOROT_UNIFORM, 0, 0}, 0);
	dg_tensor b = dg_param(g, "b", 1, bd, (struct dg_init){DG_INIT_UNIFORM, -0.5f, 0.5f}, 0);
	dg_tensor cc = dg_param(g, "c", 2, cd, (struct dg_init){DG_INIT_UNIFORM, -0.5f, 0.5f}, 0);
	/* fused: relu(x·wᵀ + b); unfused: relu(x·wᵀ + c) with c broadcast over columns */
	dg_tensor y1 = dg_linear(g, x, w, b, DG_ACT_RELU, 0);
	dg_tensor y2 = dg_relu(g, dg_add(g, dg_matmul(g, x, w, 0, 1), cc));
	dg_tensor y3 = dg_linear(g, x, w, b, DG_ACT_ELU, 0.5f);     /* fused elu */
	dg_tensor y = dg_add(g, dg_sub(g, dg_mul(g, y1, y2), y1), dg_tanh(g, y3));
	dg_tensor loss = dg_sum(g, dg_mul(g, y, dg_constant(g, 2, rd, rv)), DG_AXES_ALL, 0);
	dg_tensor wrt[4] = {w, b, x, cc}, gr[4];
	dg_gradients(g, loss, 4, wrt, gr);
	dg_tensor outs[NOUT] = {y, loss, gr[0], gr[1], gr[2], gr[3]};
	struct dg_exec *e;
	int st = dg_compile(g, device, NOUT, outs, 0, NULL, &e);
	if (st) {
		diag("%s: %s", device, dg_errmsg());
		dg_graph_free(g);
		return st;
	}
	for (int r = 0; r < runs && !st; r++) {
		float xs[N * K];
		for (int i = 0; i < N * K; i++)
			xs[i] = xv[i] * (float)(r + 1);
		dg_exec_feed(e, "x", DG_F32, xs, N * K);
		st = dg_exec_run(e);
	}
	size_t off = 0;
	for (int i = 0; i < NOUT && !st; i++) {
		uint64_t n = dg_count(g, outs[i]);
		st = dg_exec_read(e, (size_t)i, out + off, n);
		off += n;
	}
	*nout = off;
	if (st)
		diag("%s: %s", device, dg_errmsg());
	dg_exec_free(e);
	dg_graph_free(g);
	return st;
}

int main(void)
{
	struct dg_device_info dev;
	if (dg_device_select("vulkan", &dev)) {
		/* This machine has lavapipe; elsewhere, no Vulkan means nothing to test. */
		plan(1);
		skip("no Vulkan device");
		return done_testing();
	}
	for (int i = 0; i < N * K; i++)
		xv[i] = (float)sin(1.7 * i);
	for (int i = 0; i < N * M; i++)
		rv[i] = (float)cos(0.9 * i);
	static float a[1024], b[1024];
	size_t na = 0, nb = 0;
	ok(run("cpu", a, &na, 2) == 0, "cpu step runs");
	int st = run("vulkan", b, &nb, 2);
	ok(st == 0, "vulkan step compiles and runs on %s", dev.name);
	is_int((long long)nb, (long long)na, "same output sizes");
	double worst = 0;
	for (size_t i = 0; i < na && i < nb; i++)
		worst = fmax(worst, fabs(a[i] - b[i]) / fmax(1, fabs(a[i])));
	ok(!st && worst < 1e-5, "vulkan matches cpu: forward, loss and gradients (max error %.2g)", worst);
	int nonzero = 0;
	for (size_t i = 0; i < nb; i++)
		nonzero += b[i] != 0;
	ok(nonzero > (int)nb / 3, "outputs are not trivially zero (%d of %zu)", nonzero, nb);

	return done_testing();
}
