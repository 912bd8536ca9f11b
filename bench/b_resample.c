/* bench/b_resample.c — 2× upsampling of N×C×H×W images, forward and
 * backward in one step, on cpu and vulkan: nearest (one expand), bilinear
 * as dg builds it, and bilinear as two products with dense interpolation
 * matrices (out×in per axis: the composition dg used before the resample
 * op).  Milliseconds per step (median) and the planned intermediate
 * memory; nearest is the floor (one copy each way). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dg.h"

enum { NEAREST, BILINEAR, MATMUL };
static const char *const names[] = {"nearest", "bilinear", "bilinear.matmul"};

struct run {
	struct dg_exec *e;
	int failed;
};

static void step(void *arg)
{
	struct run *r = arg;
	if (dg_exec_run(r->e))
		r->failed = 1;
}

/* The interpolation matrix out×in of align_corners=false along one axis. */
static dg_tensor interp(struct dg_graph *g, uint64_t in, unsigned f)
{
	uint64_t out = in * f;
	float *m = calloc(out * in, sizeof *m);
	for (uint64_t i = 0; i < out; i++) {
		double src = ((double)i + 0.5) / f - 0.5;
		src = src < 0 ? 0 : src;
		uint64_t i0 = (uint64_t)src, i1 = i0 + (i0 < in - 1);
		m[i * in + i0] += (float)(1 - (src - (double)i0));
		m[i * in + i1] += (float)(src - (double)i0);
	}
	dg_tensor t = dg_constant(g, DG_SHAPE(out, in), m);
	free(m);
	return t;
}

static dg_tensor bilinear_matmul(struct dg_graph *g, dg_tensor x, const uint64_t *d, unsigned f)
{
	unsigned swap[3] = {0, 2, 1};
	int64_t nc = (int64_t)(d[0] * d[1]), h = (int64_t)d[2], w = (int64_t)d[3];
	int64_t a[2] = {nc * h, w}, b[3] = {nc, h, w * f}, c[2] = {nc * w * f, h};
	int64_t e[3] = {nc, w * f, h * f}, o[4] = {(int64_t)d[0], (int64_t)d[1], h * f, w * f};
	dg_tensor t = dg_matmul(g, dg_reshape(g, x, 2, a), interp(g, d[3], f), 0, 1);
	t = dg_permute(g, dg_reshape(g, t, 3, b), swap);
	t = dg_matmul(g, dg_reshape(g, t, 2, c), interp(g, d[2], f), 0, 1);
	t = dg_permute(g, dg_reshape(g, t, 3, e), swap);
	return dg_reshape(g, t, 4, o);
}

static void one(const char *device, int kind, const uint64_t *d)
{
	struct dg_graph *g = dg_graph_new(1);
	uint64_t n = d[0] * d[1] * d[2] * d[3];
	dg_tensor x = dg_input(g, "x", DG_F32, 4, d), y;
	if (kind == NEAREST)
		y = dg_upsample_nearest(g, x, 2);
	else if (kind == BILINEAR)
		y = dg_upsample_bilinear(g, x, 2);
	else
		y = bilinear_matmul(g, x, d, 2);
	uint64_t yd[4] = {d[0], d[1], 2 * d[2], 2 * d[3]};
	float *r = malloc(4 * n * sizeof *r), *xv = malloc(n * sizeof *xv);
	for (uint64_t i = 0; i < 4 * n; i++)
		r[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
	for (uint64_t i = 0; i < n; i++)
		xv[i] = r[i];
	dg_tensor loss = dg_sum(g, dg_mul(g, y, dg_constant(g, 4, yd, r)), DG_AXES_ALL, 0);
	dg_tensor outs[2] = {loss, dg_grad(g, loss, x)};
	struct run run = {0};
	char name[96];
	snprintf(name, sizeof name, "%s.%s.%llux%llux%llux%llu", names[kind], device,
		 (unsigned long long)d[0], (unsigned long long)d[1], (unsigned long long)d[2],
		 (unsigned long long)d[3]);
	if (dg_compile(g, device, 2, outs, 0, NULL, &run.e) ||
	    dg_exec_feed(run.e, "x", DG_F32, xv, n)) {
		printf("# %s: %s\n", name, dg_errmsg());
	} else {
		struct dg_exec_stats st;
		struct timing t = time_calls(step, &run, 0.3);
		dg_exec_stats(run.e, &st);
		if (run.failed)
			printf("# %s: %s\n", name, dg_errmsg());
		else
			report(name, t.median * 1e3, "ms", "forward + backward; best %.2f ms; "
			       "%zu kernels, intermediates %.1f MB", t.best * 1e3, st.kernels,
			       (double)st.peak_bytes / 1e6);
	}
	dg_exec_free(run.e);
	dg_graph_free(g);
	free(r);
	free(xv);
}

int main(void)
{
	/* A StyleGAN-like stage (32 -> 64) on the cpu; a smaller one on
	 * vulkan, which here is lavapipe. */
	uint64_t big[4] = {16, 32, 32, 32}, wide[4] = {4, 8, 128, 128}, small[4] = {4, 16, 32, 32};
	struct dg_device_info dev;
	setenv("LP_NUM_THREADS", "0", 0);
	for (int k = NEAREST; k <= MATMUL; k++)
		one("cpu", k, big);
	for (int k = NEAREST; k <= MATMUL; k++)
		one("cpu", k, wide);
	if (!dg_device_select("vulkan", &dev))
		for (int k = NEAREST; k <= MATMUL; k++)
			one("vulkan", k, small);
	return 0;
}
