/* bench/b_dnnl_call.c — the fixed cost of one oneDNN plan call, for the
 * engine's choice between a plan and a plain C loop on small tensors: relu
 * over 128×20 and 128×400 floats through a plan against a C loop, and the
 * VAE's small matmuls (128×20×400, 128×40×400 — fc21+fc22 fused). */
#include <string.h>

#include "bench.h"
#include "dg/array.h"
#include "dg/error.h"
#include "cpu/dnnl.h"

struct job {
	struct dg_dnnl_plan *plan;
	void *args[4];
	float *x, *y;
	size_t n;
};

static void run_plan(void *arg)
{
	struct job *j = arg;
	if (dg_dnnl_run(j->plan, j->args, NULL))
		fprintf(stderr, "b_dnnl_call: %s\n", dg_errmsg());
}

static void run_loop(void *arg)
{
	struct job *j = arg;
	for (size_t i = 0; i < j->n; i++)
		j->y[i] = j->x[i] > 0 ? j->x[i] : 0;
	/* Keep the compiler from dropping repeated identical loops. */
	__asm__ volatile("" : : "r"(j->y) : "memory");
}

static float *filled(size_t n)
{
	float *p = dg_alloc(n * sizeof *p);
	for (size_t i = 0; p && i < n; i++)
		p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
	return p;
}

static void must(int st)
{
	if (st) {
		fprintf(stderr, "b_dnnl_call: %s\n", dg_errmsg());
		exit(70);
	}
}

static void relu(size_t n)
{
	struct job j = { NULL, { NULL }, filled(n), filled(n), n };
	char name[64];

	must(dg_dnnl_eltwise_fwd_plan(&j.plan, (int64_t)n, DG_DNNL_RELU, 0));
	j.args[0] = j.x;
	j.args[1] = j.y;
	struct timing tp = time_calls(run_plan, &j, 0.2), tl = time_calls(run_loop, &j, 0.2);
	snprintf(name, sizeof name, "call.relu.%zu.plan", n);
	report(name, tp.median * 1e6, "us", "oneDNN eltwise plan; best %.2f us", tp.best * 1e6);
	snprintf(name, sizeof name, "call.relu.%zu.loop", n);
	report(name, tl.median * 1e6, "us", "plain C loop, 1 thread; best %.2f us", tl.best * 1e6);
	dg_dnnl_plan_free(j.plan);
	dg_free(j.x);
	dg_free(j.y);
}

static void matmul(int m, int n, int k)
{
	struct job j = { NULL, { NULL }, NULL, NULL, 0 };
	float *a = filled((size_t)m * k), *b = filled((size_t)n * k), *bias = filled(n);
	float *c = filled((size_t)m * n);
	char name[64];

	must(dg_dnnl_matmul_plan(&j.plan, 1, m, n, k, DG_DNNL_BIAS | DG_DNNL_TRANS_B, 0,
				 DG_DNNL_NONE, 0));
	j.args[0] = a;
	j.args[1] = b;
	j.args[2] = bias;
	j.args[3] = c;
	struct timing t = time_calls(run_plan, &j, 0.2);
	snprintf(name, sizeof name, "call.linear.%dx%dx%d", m, n, k);
	report(name, t.median * 1e6, "us", "x·Wᵀ+b plan, %.1f GFLOP/s; best %.2f us",
	       2.0 * m * n * k / t.median / 1e9, t.best * 1e6);
	dg_dnnl_plan_free(j.plan);
	dg_free(a);
	dg_free(b);
	dg_free(bias);
	dg_free(c);
}

int main(void)
{
	must(dg_dnnl_init());
	report("call.threads", dg_dnnl_threads(), "threads", "oneDNN/OpenMP");
	relu(128 * 20);
	relu(128 * 400);
	matmul(128, 20, 400);
	matmul(128, 40, 400);
	return 0;
}
