/* bench/b_gemm.c — GEMM GFLOP/s through dg's oneDNN matmul plans against
 * calling oneDNN's dnnl_sgemm directly, at the MLP VAE's shapes
 * (M×N×K = 128×400×784 forward, 128×784×400 dX, 400×784×128 dW) and
 * 512³.  Threads: oneDNN's OpenMP default, or DG_THREADS. */
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "bench.h"
#include "dg/array.h"
#include "dg/error.h"
#include "cpu/dnnl.h"

struct gemm {
	int m, n, k;
	int ta, tb;                 /* operand stored transposed */
	float *a, *b, *bias, *c;
	struct dg_dnnl_plan *plan;
	/* The same matmul made directly with oneDNN's API, bound once: what
	 * the plan costs on top of oneDNN's own primitive. */
	dnnl_engine_t eng;
	dnnl_stream_t stream;
	dnnl_primitive_t prim;
	dnnl_memory_t mem[3];
};

/* A row-major rows×cols operand, read transposed when trans. */
static void md_of(dnnl_memory_desc_t *md, int rows, int cols, int trans)
{
	dnnl_dims_t d = { rows, cols }, s = { trans ? 1 : cols, trans ? rows : 1 };
	dnnl_memory_desc_init_by_strides(md, 2, d, dnnl_f32, s);
}

static int make_raw(struct gemm *g)
{
	dnnl_memory_desc_t a, b, c;
	dnnl_matmul_desc_t d;
	dnnl_primitive_desc_t pd;

	md_of(&a, g->m, g->k, g->ta);
	md_of(&b, g->k, g->n, g->tb);
	md_of(&c, g->m, g->n, 0);
	if (dnnl_engine_create(&g->eng, dnnl_cpu, 0) || dnnl_stream_create(&g->stream, g->eng, 0) ||
	    dnnl_matmul_desc_init(&d, &a, &b, NULL, &c) ||
	    dnnl_primitive_desc_create(&pd, &d, NULL, g->eng, NULL))
		return -1;
	int bad = dnnl_primitive_create(&g->prim, pd) ||
		  dnnl_memory_create(&g->mem[0], &a, g->eng, g->a) ||
		  dnnl_memory_create(&g->mem[1], &b, g->eng, g->b) ||
		  dnnl_memory_create(&g->mem[2], &c, g->eng, g->c);
	dnnl_primitive_desc_destroy(pd);
	return bad ? -1 : 0;
}

static void free_raw(struct gemm *g)
{
	for (int i = 0; i < 3; i++)
		dnnl_memory_destroy(g->mem[i]);
	dnnl_primitive_destroy(g->prim);
	dnnl_stream_destroy(g->stream);
	dnnl_engine_destroy(g->eng);
}

static void run_raw(void *arg)
{
	struct gemm *g = arg;
	dnnl_exec_arg_t a[3] = { { DNNL_ARG_SRC, g->mem[0] }, { DNNL_ARG_WEIGHTS, g->mem[1] },
				 { DNNL_ARG_DST, g->mem[2] } };
	dnnl_primitive_execute(g->prim, g->stream, 3, a);
	dnnl_stream_wait(g->stream);
}

static void run_plan(void *arg)
{
	struct gemm *g = arg;
	void *args[] = { g->a, g->b, g->bias, g->c };
	if (dg_dnnl_run(g->plan, args, NULL))
		fprintf(stderr, "b_gemm: %s\n", dg_errmsg());
}

/* Row-major sgemm: C = op(A)·op(B); lda/ldb are the stored row lengths. */
static void run_sgemm(void *arg)
{
	struct gemm *g = arg;
	dnnl_sgemm(g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', g->m, g->n, g->k, 1.0f, g->a,
		   g->ta ? g->m : g->k, g->b, g->tb ? g->k : g->n, 0.0f, g->c, g->n);
}

/* GFLOP per CPU-second of the whole process (all threads): what each busy
 * core achieves, comparable with peak.fma512.1thread whatever share of
 * the machine other processes take.  Median of the repeats. */
static double per_cpu(struct gemm *g, double flop)
{
	double v[101];
	int reps = bench_repeats(), n = 20;
	struct timespec a, b;

	for (int r = 0; r < reps; r++) {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
		for (int i = 0; i < n; i++)
			run_plan(g);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
		v[r] = flop * n / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9) / 1e9;
	}
	return median(v, reps);
}

static float *filled(size_t n)
{
	float *p = dg_alloc(n * sizeof *p);
	for (size_t i = 0; p && i < n; i++)
		p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
	return p;
}

static void bench(int m, int n, int k, int ta, int tb, unsigned extra,
		  enum dg_dnnl_act act, const char *why)
{
	struct gemm g = { m, n, k, ta, tb, filled((size_t)m * k), filled((size_t)k * n),
			  filled(n), filled((size_t)m * n), NULL, NULL, NULL, NULL, { NULL } };
	unsigned flags = extra | (ta ? DG_DNNL_TRANS_A : 0) | (tb ? DG_DNNL_TRANS_B : 0);
	char name[64];
	double flop = 2.0 * m * n * k;

	if (dg_dnnl_matmul_plan(&g.plan, 1, m, n, k, flags, 0, act, 0)) {
		fprintf(stderr, "b_gemm: %s\n", dg_errmsg());
		exit(70);
	}
	snprintf(name, sizeof name, "gemm.plan.%dx%dx%d%s%s%s", m, n, k, ta ? ".ta" : "",
		 tb ? ".tb" : "", extra ? ".bias_relu" : "");
	if (extra) {
		struct timing tp = time_calls(run_plan, &g, 0.3);
		report(name, flop / tp.median / 1e9, "GFLOP/s", "%s; best %.1f; impl %s", why,
		       flop / tp.best / 1e9, dg_dnnl_plan_impl(g.plan));
	} else {
		/* Alternating samples: the ratio is fair under background load. */
		double tp, ts, r = time_pair(run_sgemm, run_plan, &g, 0.2, &ts, &tp);
		report(name, flop / tp / 1e9, "GFLOP/s", "%s; %.1f per CPU-second; impl %s", why,
		       per_cpu(&g, flop), dg_dnnl_plan_impl(g.plan));
		snprintf(name, sizeof name, "gemm.sgemm.%dx%dx%d%s%s", m, n, k, ta ? ".ta" : "",
			 tb ? ".tb" : "");
		report(name, flop / ts / 1e9, "GFLOP/s", "dnnl_sgemm direct, alternating with the plan");
		snprintf(name, sizeof name, "gemm.plan_vs_sgemm.%dx%dx%d%s%s", m, n, k,
			 ta ? ".ta" : "", tb ? ".tb" : "");
		report(name, r, "ratio", "speed of plan / sgemm, median over alternating rounds");
		if (make_raw(&g)) {
			fprintf(stderr, "b_gemm: cannot make a raw oneDNN matmul\n");
			exit(70);
		}
		r = time_pair(run_raw, run_plan, &g, 0.2, &ts, &tp);
		snprintf(name, sizeof name, "gemm.plan_vs_primitive.%dx%dx%d%s%s", m, n, k,
			 ta ? ".ta" : "", tb ? ".tb" : "");
		report(name, r, "ratio", "speed of plan / bare oneDNN matmul primitive "
		       "(%.1f vs %.1f GFLOP/s), alternating rounds", flop / tp / 1e9, flop / ts / 1e9);
		free_raw(&g);
	}
	dg_dnnl_plan_free(g.plan);
	dg_free(g.a);
	dg_free(g.b);
	dg_free(g.bias);
	dg_free(g.c);
}

int main(void)
{
	if (dg_dnnl_init()) {
		fprintf(stderr, "b_gemm: %s\n", dg_errmsg());
		return 69;
	}
	report("gemm.threads", dg_dnnl_threads(), "threads", "oneDNN/OpenMP");
	bench(128, 400, 784, 0, 0, 0, DG_DNNL_NONE, "VAE fc1 shape, A·B");
	bench(128, 400, 784, 0, 1, 0, DG_DNNL_NONE, "VAE fc1 forward x·Wᵀ");
	bench(128, 400, 784, 0, 1, DG_DNNL_BIAS, DG_DNNL_RELU, "VAE fc1 forward, fused bias+relu");
	bench(128, 784, 400, 0, 0, 0, DG_DNNL_NONE, "VAE dX of fc1, dY·W");
	bench(400, 784, 128, 1, 0, 0, DG_DNNL_NONE, "VAE dW of fc1, dYᵀ·X");
	bench(512, 512, 512, 0, 0, 0, DG_DNNL_NONE, "square");
	return 0;
}
