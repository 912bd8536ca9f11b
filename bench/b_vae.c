/* bench/b_vae.c — a training step of PyTorch's example MLP VAE (as in torch_vae.py)
 * compiled for the cpu device: images/s, planned memory, overhead over kernels;
 * then on vulkan, alone and in alternation with the cpu step (the ratio of
 * the two from the same moments of a shared machine). */
#define _POSIX_C_SOURCE 200809L   /* setenv: DG_PROFILE is read at compile */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dg.h"
#ifdef __SSE__
#include <xmmintrin.h>
#endif

enum { B = 128, D = 784, H = 400, Z = 20 };

struct vae {
	struct dg_graph *g;
	dg_tensor loss;
	int upd;
	float *x;
};

struct run {
	struct dg_exec *e;
	long steps;
	int failed;
};

/* nn.Linear's default initialization: weight and bias both uniform in
 * ±1/sqrt(fan_in) (kaiming_uniform with a = sqrt 5 works out to that), so
 * the starting loss matches PyTorch's and both sides train the same way. */
static dg_tensor linear(struct dg_graph *g, const char *name, dg_tensor x, uint64_t in,
			uint64_t out, enum dg_act act)
{
	char wn[32], bn[32];
	float r = 1 / sqrtf((float)in);
	struct dg_init u = {DG_INIT_UNIFORM, -r, r};
	snprintf(wn, sizeof wn, "%s.w", name);
	snprintf(bn, sizeof bn, "%s.b", name);
	dg_tensor w = dg_param(g, wn, DG_SHAPE(out, in), u, 0);
	dg_tensor b = dg_param(g, bn, DG_SHAPE(out), u, 0);
	return dg_linear(g, x, w, b, act, 0);
}

/* The model and its loss, as torch_vae.py writes them: encoder 784-400
 * relu with mu and logvar heads, z = mu + eps·exp(logvar/2) with eps drawn
 * inside the graph, decoder 20-400-784, BCE summed over the batch plus the
 * KL of the diagonal Gaussian.  PyTorch applies sigmoid and then BCE; the
 * engine takes the logits (same value, stable, one op fewer). */
static int build(struct vae *v)
{
	struct dg_graph *g = v->g = dg_graph_new(1);
	if (!g)
		return -1;
	dg_tensor x = dg_input(g, "x", DG_F32, DG_SHAPE(B, D));
	dg_tensor h = linear(g, "fc1", x, D, H, DG_ACT_RELU);
	dg_tensor mu = linear(g, "fc21", h, H, Z, DG_ACT_NONE);
	dg_tensor logvar = linear(g, "fc22", h, H, Z, DG_ACT_NONE);
	dg_tensor eps = dg_random_normal(g, DG_SHAPE(B, Z));
	dg_tensor z = dg_add(g, mu, dg_mul(g, eps, dg_exp(g, dg_mul_scalar(g, logvar, 0.5f))));
	dg_tensor h3 = linear(g, "fc3", z, Z, H, DG_ACT_RELU);
	dg_tensor logits = linear(g, "fc4", h3, H, D, DG_ACT_NONE);
	v->loss = dg_add(g, dg_bce_logits_loss(g, logits, x, DG_SUM),
			 dg_kl_normal(g, mu, logvar, DG_SUM));
	struct dg_optim opt = {.kind = DG_ADAM, .lr = 1e-3f};
	v->upd = dg_optimize(g, v->loss, DG_ALL_GROUPS, &opt);
	return dg_graph_status(g) ? -1 : 0;
}

static int compile(struct vae *v, const char *device, struct dg_exec **e)
{
	if (dg_compile(v->g, device, 1, &v->loss, 1, &v->upd, e))
		return -1;
	return dg_exec_feed(*e, "x", DG_F32, v->x, (uint64_t)B * D) ? -1 : 0;
}

static void step(void *arg)
{
	struct run *r = arg;
	if (dg_exec_run(r->e))
		r->failed = 1;
	r->steps++;
}

/* The cpu and the vulkan step, for time_pair. */
struct pair {
	struct run *cpu, *vk;
};

static void step_cpu(void *arg)
{
	step(((struct pair *)arg)->cpu);
}

static void step_vk(void *arg)
{
	step(((struct pair *)arg)->vk);
}

int main(void)
{
	struct vae v = {0};
	struct run r = {0};
	const char *th = getenv("DG_THREADS"), *ftz = getenv("BENCH_FTZ");

	/* After ~1000 steps on one batch, Adam's first moments of dead relu
	 * units decay into denormals and the update kernel runs ~8x slower
	 * (measured: 5.7 ms against 0.74 ms per step).  The engine does not
	 * flush them; BENCH_FTZ=1 sets flush-to-zero and denormals-are-zero to
	 * show what flushing would gain.  Set before the first run: the worker
	 * threads (dg's pool, OpenMP) inherit the creating thread's MXCSR. */
	int flush = ftz && *ftz && strcmp(ftz, "0");
#ifdef __SSE__
	if (flush)
		_mm_setcsr(_mm_getcsr() | 0x8040);
#else
	flush = 0;
#endif

	/* A fixed batch of uniform pixels, as torch_vae.py uses: the work per
	 * step does not depend on the data (only its speed, via denormals). */
	if (!(v.x = malloc((size_t)B * D * sizeof *v.x)))
		return 1;
	uint64_t s = 0x9e3779b97f4a7c15u;
	for (size_t i = 0; i < (size_t)B * D; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		v.x[i] = (float)(s >> 40) / (float)(1u << 24);
	}
	if (build(&v) || compile(&v, "cpu", &r.e)) {
		fprintf(stderr, "b_vae: %s\n", v.g ? dg_graph_error(v.g) : "out of memory");
		fprintf(stderr, "b_vae: %s\n", dg_errmsg());
		return 1;
	}

	/* The loss returned by a run is that of the parameters before its
	 * update: the first run's is the untrained model's. */
	step(&r);
	float first = dg_exec_scalar(r.e, 0);
	struct timing t = time_calls(step, &r, 1.0);
	float last = dg_exec_scalar(r.e, 0);
	if (r.failed) {
		fprintf(stderr, "b_vae: run: %s\n", dg_errmsg());
		return 1;
	}
	report("dg.vae.train", B / t.median, "images/s",
	       "MLP VAE 784-400-20 batch 128 Adam, cpu, %s threads; best %.0f images/s",
	       th ? th : "all", B / t.best);
	report("dg.vae.step", t.median * 1e3, "ms", "median per step; best %.3f ms",
	       t.best * 1e3);
	printf("# loss per image: %.2f at step 1, %.2f at step %ld (%s); denormals %s\n",
	       first / B, last / B, r.steps, last < first ? "decreasing" : "NOT DECREASING",
	       flush ? "flushed (BENCH_FTZ=1)" : "as the engine leaves them");

	struct dg_exec_stats st;
	dg_exec_stats(r.e, &st);
	report("dg.vae.peak_bytes", (double)st.peak_bytes, "bytes",
	       "intermediates' arena after liveness planning; %.2f of their sum",
	       st.intermediate_bytes ? (double)st.peak_bytes / (double)st.intermediate_bytes : 0);
	report("dg.vae.intermediate_bytes", (double)st.intermediate_bytes, "bytes",
	       "sum of all intermediates' sizes (no reuse)");
	report("dg.vae.variable_bytes", (double)st.variable_bytes, "bytes",
	       "parameters + Adam state, outside the arena");
	report("dg.vae.kernels", (double)st.kernels, "calls", "kernel calls per step");

	/* Overhead: the same step compiled again with DG_PROFILE=1 times every
	 * kernel call; the backend prints their sum ("dg: profile: total ...
	 * us/run") on stderr when the step is freed.  The bench does not parse
	 * it: the mean step time below, over that total, is the engine's
	 * overhead (everything between kernels, plus the clock reads). */
	setenv("DG_PROFILE", "1", 1);
	struct run p = {0};
	int bad = compile(&v, "cpu", &p.e);
	unsetenv("DG_PROFILE");
	if (bad) {
		fprintf(stderr, "b_vae: profiled compile: %s\n", dg_errmsg());
		return 1;
	}
	double w0 = now_s();
	struct timing tp = time_calls(step, &p, 1.0);
	double mean = (now_s() - w0) / (double)p.steps;
	report("dg.vae.step.profiled", tp.median * 1e3, "ms",
	       "same step with DG_PROFILE=1; median per step, best %.3f ms", tp.best * 1e3);
	/* The profile's total is a mean over every run of this step, warm-up
	 * included, so the wall time to set against it is the same mean. */
	report("dg.vae.step.profiled_mean", mean * 1e3, "ms",
	       "wall time / %ld runs: set against \"dg: profile: total\" on stderr", p.steps);
	fflush(stdout);
	dg_exec_free(p.e);

	/* The same step on the vulkan backend, when there is a device (on
	 * lavapipe here: a CPU driver, so this measures the shaders and the
	 * recorded command buffer, not a GPU).  A second graph: one graph is
	 * bound to one device; the cpu step stays for the paired timing. */
	struct dg_device_info dev;
	struct run q = {0};
	struct vae w = {0};
	w.x = v.x;
	if (!dg_device_select("vulkan", &dev)) {
		const char *lp = getenv("LP_NUM_THREADS");
		if (build(&w) || compile(&w, "vulkan", &q.e)) {
			fprintf(stderr, "b_vae: vulkan: %s\n", dg_errmsg());
			q.failed = 1;
		} else {
			step(&q);
			struct timing tv = time_calls(step, &q, 1.0);
			report("dg.vae.train.vulkan", B / tv.median, "images/s",
			       "same step on %s, LP_NUM_THREADS=%s; best %.0f images/s", dev.name,
			       lp ? lp : "unset", B / tv.best);
			/* cpu and vulkan samples in turn, each ~1 s: their ratio
			 * per round, median over rounds */
			struct pair pr = {&r, &q};
			double tc, tk, ratio = time_pair(step_cpu, step_vk, &pr, 1.0, &tc, &tk);
			report("dg.vae.vulkan_over_cpu", 100 * ratio, "%",
			       "vulkan images/s as a share of cpu's, samples in alternation "
			       "(medians %.0f and %.0f images/s)", B / tk, B / tc);
		}
		dg_exec_free(q.e);
		dg_graph_free(w.g);
	} else {
		printf("# no vulkan device: %s\n", dg_errmsg());
	}
	dg_exec_free(r.e);
	dg_graph_free(v.g);
	free(v.x);
	return r.failed || p.failed || q.failed;
}
