/* bench/b_vk_gemm.c — GFLOP/s of the vulkan backend's matmul and
 * convolution shaders (vk/vk_k_gemm.c) on vulkan:0 (lavapipe here),
 * beside the cpu backend's oneDNN plans for the same shapes: the MLP VAE's
 * matmuls (128×400×784 and its two backward products), 512³, and
 * bench/b_conv.c's DCGAN layer (forward, backward-data, backward-filter).
 * Each figure: a command buffer of REPS dependent dispatches (a barrier
 * between them, as in a recorded step), submitted and waited, median of
 * BENCH_REPEATS samples.  Then the cost of one small dispatch inside a
 * recorded step: 1000 tiny matmuls with barriers, with lavapipe's worker
 * threads and (a second device opened with LP_NUM_THREADS=0) without.
 *
 * Environment: DG_VK_GEMM_TILES / DG_VK_GEMM_STORAGE pick a shader
 * variant (vk/gemm_tiles.h); B_VK_GEMM_VARIANTS=1 also times a list of
 * tile variants at 128×400×784 (the table in bench/RESULTS.md);
 * B_VK_GEMM_ONLY=conv times the convolutions alone. */
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "dg/array.h"
#include "dg/error.h"
#include "cpu/dnnl.h"
#include "vk/vk_kernels.h"
#include "vk/gemm_tiles.h"

#define REPS 8   /* dispatches per submit */

static struct dg_vk *vk;

static _Noreturn void fail(const char *what)
{
	fprintf(stderr, "b_vk_gemm: %s: %s\n", what, dg_errmsg());
	exit(70);
}

static void set_node(struct dg_node *n, int op, unsigned rank, const uint64_t *dims)
{
	memset(n, 0, sizeof *n);
	n->op = (uint16_t)op;
	n->dtype = DG_F32;
	n->rank = (uint8_t)rank;
	n->count = 1;
	for (unsigned i = 0; i < rank; i++) {
		n->dims[i] = dims[i];
		n->count *= dims[i];
	}
}

/* A device buffer of n floats filled with small values. */
static void filled(struct dg_vk_buffer *b, uint64_t n)
{
	struct dg_vk_hostbuf h;
	if (dg_vk_hostbuf_create(vk, n * 4 + 16, 0, &h))
		fail("buffer");
	float *f = h.map;
	for (uint64_t i = 0; i < n; i++)
		f[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
	if (h.stage.buffer) {
		/* Unmapped device memory: copy once. */
		struct dg_vk_cmd *c;
		if (dg_vk_hostbuf_flush(vk, &h) || dg_vk_cmd_create(vk, 0, &c) || dg_vk_cmd_begin(c))
			fail("upload");
		dg_vk_cmd_upload(c, &h);
		if (dg_vk_cmd_end(c) || dg_vk_cmd_run(c))
			fail("upload");
		dg_vk_cmd_destroy(c);
		dg_vk_buffer_destroy(vk, &h.stage);
	} else if (dg_vk_hostbuf_flush(vk, &h)) {
		fail("flush");
	}
	*b = h.dev;
}

struct job {
	struct vkprog p;
	struct dg_vk_buffer buf[3];
};

static void run(void *arg)
{
	struct job *j = arg;
	if (dg_vk_cmd_run(j->p.cmd))
		fail("run");
}

/* Records `reps` copies of call c (inputs sized by its nodes) into j. */
static void make_job(struct job *j, struct dg_kcall *c, int reps)
{
	memset(&j->p, 0, sizeof j->p);
	filled(&j->buf[0], c->in_node[0].count);
	filled(&j->buf[1], c->in_node[1].count);
	filled(&j->buf[2], c->n.count + (c->bias.buf ? 4096 : 0));
	c->in[0] = (struct dg_bref){ &j->buf[0], 0 };
	c->in[1] = (struct dg_bref){ &j->buf[1], 0 };
	c->out = (struct dg_bref){ &j->buf[2], 0 };
	if (c->bias.off)   /* bias after the output in the same buffer */
		c->bias = (struct dg_bref){ &j->buf[2], c->n.count * 4 };
	/* working memory, as backend_vk.c gives a step's calls */
	uint64_t scratch = dg_vkk_gemm_scratch(vk, c);
	if (scratch && dg_vk_buffer_create(vk, scratch, DG_VK_MEM_DEVICE, &j->p.scratch))
		fail("scratch");
	if (dg_vk_cmd_create(vk, 0, &j->p.cmd) || dg_vk_descs_create(vk, 64, &j->p.descs) ||
	    dg_vk_cmd_begin(j->p.cmd))
		fail("command buffer");
	for (int r = 0; r < reps; r++) {
		if (dg_vkk_gemm(vk, &j->p, c))
			fail("record");
		dg_vk_cmd_barrier(j->p.cmd);
	}
	if (dg_vk_cmd_end(j->p.cmd))
		fail("end");
	run(j);   /* first use compiles the pipeline */
}

static void free_job(struct job *j)
{
	dg_vk_cmd_destroy(j->p.cmd);
	dg_vk_descs_destroy(j->p.descs);
	dg_vk_buffer_destroy(vk, &j->p.scratch);
	for (int i = 0; i < 3; i++)
		dg_vk_buffer_destroy(vk, &j->buf[i]);
}

/* GFLOP per CPU-second of the whole process (lavapipe's worker threads
 * are in it): what a busy core achieves whatever share of the shared
 * machine the process gets.  Median of BENCH_REPEATS samples. */
static double per_cpu(void *arg, double flop)
{
	double v[101];
	int reps = bench_repeats();
	struct timespec a, b;
	for (int r = 0; r < reps; r++) {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
		for (int i = 0; i < 3; i++)
			run(arg);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
		v[r] = flop * 3 / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9) / 1e9;
	}
	return median(v, reps);
}

/* GFLOP per CPU-second of call c (per_cpu). */
static double cpu_call(struct dg_kcall *c, double flop)
{
	struct job j;
	make_job(&j, c, REPS);
	double g = per_cpu(&j, flop * REPS);
	free_job(&j);
	return g;
}

/* Median GFLOP/s of call c; also its best. */
static double time_call(struct dg_kcall *c, double flop, double *best)
{
	struct job j;
	make_job(&j, c, REPS);
	struct timing t = time_calls(run, &j, 0.5);
	free_job(&j);
	*best = flop * REPS / t.best / 1e9;
	return flop * REPS / t.median / 1e9;
}

static void matmul_call(struct dg_kcall *c, unsigned m, unsigned n, unsigned k, int ta, int tb,
			int bias_relu)
{
	uint64_t ad[2] = { ta ? k : m, ta ? m : k }, bd[2] = { tb ? n : k, tb ? k : n };
	uint64_t cd[2] = { m, n };
	memset(c, 0, sizeof *c);
	set_node(&c->in_node[0], OP_INPUT, 2, ad);
	set_node(&c->in_node[1], OP_INPUT, 2, bd);
	set_node(&c->n, OP_MATMUL, 2, cd);
	c->n.nin = 2;
	c->n.ia[0] = ta, c->n.ia[1] = tb;
	if (bias_relu) {
		c->bias.buf = (void *)1, c->bias.off = 1;   /* placed by make_job */
		c->act = DG_ACT_RELU;
	}
}

/* The cpu backend's figure: a oneDNN matmul plan. */
struct cpu_mm {
	struct dg_dnnl_plan *plan;
	void *args[4];
};

static void run_cpu(void *arg)
{
	struct cpu_mm *j = arg;
	if (dg_dnnl_run(j->plan, j->args, NULL))
		fail("cpu plan");
}

/* n[i] floats for plan argument i (0: NULL), in the plan's order. */
static double cpu_gflops(struct dg_dnnl_plan *plan, double flop, size_t n0, size_t n1,
			 size_t n2, size_t n3)
{
	size_t n[4] = { n0, n1, n2, n3 };
	struct cpu_mm j = { plan, { NULL } };
	for (int i = 0; i < 4; i++)
		if (n[i] && (j.args[i] = dg_alloc(n[i] * 4)))
			memset(j.args[i], 0, n[i] * 4);
	struct timing t = time_calls(run_cpu, &j, 0.3);
	for (int i = 0; i < 4; i++)
		dg_free(j.args[i]);
	dg_dnnl_plan_free(plan);
	return flop / t.median / 1e9;
}

static void bench_mm(unsigned m, unsigned n, unsigned k, int ta, int tb, int bias_relu,
		     const char *why)
{
	struct dg_kcall c;
	struct dg_dnnl_plan *plan;
	char name[80];
	double best, flop = 2.0 * m * n * k;
	unsigned flags = (ta ? DG_DNNL_TRANS_A : 0) | (tb ? DG_DNNL_TRANS_B : 0) |
			 (bias_relu ? DG_DNNL_BIAS : 0);

	matmul_call(&c, m, n, k, ta, tb, bias_relu);
	double g = time_call(&c, flop, &best);
	double cpu = 0;
	if (!dg_dnnl_matmul_plan(&plan, 1, m, n, k, flags, 0,
				 bias_relu ? DG_DNNL_RELU : DG_DNNL_NONE, 0))
		cpu = cpu_gflops(plan, flop, (size_t)m * k, (size_t)k * n, bias_relu ? n : 0,
				 (size_t)m * n);
	snprintf(name, sizeof name, "vk.gemm.%ux%ux%u%s%s%s", m, n, k, ta ? ".ta" : "",
		 tb ? ".tb" : "", bias_relu ? ".bias_relu" : "");
	report(name, g, "GFLOP/s", "%s; best %.1f; cpu backend (oneDNN plan) %.1f", why, best,
	       cpu);
}

static void conv_call(struct dg_kcall *c, int op, const struct dg_dnnl_conv *v, int bias_lrelu)
{
	int64_t oh, ow;
	dg_dnnl_conv_out(v, &oh, &ow);
	uint64_t xd[4] = { v->n, v->ic, v->ih, v->iw }, wd[4] = { v->oc, v->ic, v->kh, v->kw };
	uint64_t yd[4] = { v->n, v->oc, oh, ow };
	memset(c, 0, sizeof *c);
	if (op == OP_CONV) {
		set_node(&c->in_node[0], OP_INPUT, 4, xd);
		set_node(&c->in_node[1], OP_INPUT, 4, wd);
		set_node(&c->n, op, 4, yd);
	} else if (op == OP_CONV_BWD_DATA) {
		set_node(&c->in_node[0], OP_INPUT, 4, yd);
		set_node(&c->in_node[1], OP_INPUT, 4, wd);
		set_node(&c->n, op, 4, xd);
	} else {
		set_node(&c->in_node[0], OP_INPUT, 4, xd);
		set_node(&c->in_node[1], OP_INPUT, 4, yd);
		set_node(&c->n, op, 4, wd);
	}
	c->n.nin = 2;
	c->n.ia[0] = v->sh, c->n.ia[1] = v->ph, c->n.ia[2] = v->dh;
	if (bias_lrelu) {
		c->bias.buf = (void *)1, c->bias.off = 1;
		c->act = DG_ACT_LEAKY_RELU;
		c->alpha = 0.2f;
	}
}

/* One convolution pass: the default (channels-last) form and, in the same
 * run, the direct implicit GEMM ($DG_VK_CONV_DIRECT=1), beside oneDNN. */
static void conv_pass(const char *name, const char *why, int op, const struct dg_dnnl_conv *v,
		      int bias_lrelu, double flop, double cpu)
{
	struct dg_kcall c;
	double best, bestd;
	char nm[80];

	conv_call(&c, op, v, bias_lrelu);
	double g = time_call(&c, flop, &best), gc = cpu_call(&c, flop);
	setenv("DG_VK_CONV_DIRECT", "1", 1);
	conv_call(&c, op, v, bias_lrelu);
	double gd = time_call(&c, flop, &bestd), gdc = cpu_call(&c, flop);
	unsetenv("DG_VK_CONV_DIRECT");
	report(name, g, "GFLOP/s", "%s; best %.1f; %.1f per CPU-second; cpu backend %.1f", why,
	       best, gc, cpu);
	snprintf(nm, sizeof nm, "%s.direct", name);
	report(nm, gd, "GFLOP/s", "the same, DG_VK_CONV_DIRECT=1 (implicit GEMM); best %.1f; "
	       "%.1f per CPU-second", bestd, gdc);
}

static void bench_conv(void)
{
	/* b_conv.c's layer: 64×64×16×16 -> 64×128×8×8, 4×4, stride 2, pad 1;
	 * its transposed layer (128 -> 64, 8×8 -> 16×16) runs the same three
	 * GEMMs: deconv forward = bwd-data, deconv bwd-data = forward without
	 * the epilogue, deconv bwd-weights = bwd-filter. */
	struct dg_dnnl_conv v = { .n = 64, .ic = 64, .ih = 16, .iw = 16, .oc = 128, .kh = 4,
				  .kw = 4, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1 };
	size_t big = 64 * 64 * 16 * 16, small = 64 * 128 * 8 * 8, nw = 128 * 64 * 16;
	double flop = 2.0 * small * 64 * 16, cpu;
	struct dg_dnnl_plan *plan;

	cpu = dg_dnnl_conv_fwd_plan(&plan, &v, DG_DNNL_BIAS, DG_DNNL_LEAKY_RELU, 0.2f) ? 0 :
	      cpu_gflops(plan, flop, big, nw, 128, small);
	conv_pass("vk.conv.fwd", "64x64x16x16 -> 128 k4 s2 p1, bias+lrelu", OP_CONV, &v, 1, flop,
		  cpu);
	cpu = dg_dnnl_conv_fwd_plan(&plan, &v, 0, DG_DNNL_NONE, 0) ? 0 :
	      cpu_gflops(plan, flop, big, nw, 0, small);
	conv_pass("vk.conv.fwd.plain", "no epilogue (= deconv bwd-data)", OP_CONV, &v, 0, flop,
		  cpu);
	cpu = dg_dnnl_conv_bwd_data_plan(&plan, &v, 0) ? 0 :
	      cpu_gflops(plan, flop, small, nw, big, 0);
	conv_pass("vk.conv.bwd_data", "dX (= deconv forward)", OP_CONV_BWD_DATA, &v, 0, flop, cpu);
	cpu = dg_dnnl_conv_bwd_weights_plan(&plan, &v, 0) ? 0 :
	      cpu_gflops(plan, flop, big, small, nw, 0);
	conv_pass("vk.conv.bwd_filter", "dW (= deconv bwd-weights)", OP_CONV_BWD_FILTER, &v, 0,
		  flop, cpu);
}

/* Microseconds per dispatch inside one recorded command buffer of 1000
 * (the empty buffer's submit+wait subtracted): a tiny 8×8×8 matmul
 * through the GEMM recorder, with or without a barrier after each, and
 * the runtime's one-workgroup add.comp (the cheapest possible dispatch). */
static double dispatch_us(int kind, double *best)
{
	struct dg_kcall c;
	struct job j, e;
	matmul_call(&c, 8, 8, 8, 0, 0, 0);
	make_job(&e, &c, 0);
	if (kind < 2) {
		memset(&j.p, 0, sizeof j.p);
		filled(&j.buf[0], 64);
		filled(&j.buf[1], 64);
		filled(&j.buf[2], 64);
		c.in[0] = (struct dg_bref){ &j.buf[0], 0 };
		c.in[1] = (struct dg_bref){ &j.buf[1], 0 };
		c.out = (struct dg_bref){ &j.buf[2], 0 };
		if (dg_vk_cmd_create(vk, 0, &j.p.cmd) || dg_vk_descs_create(vk, 64, &j.p.descs) ||
		    dg_vk_cmd_begin(j.p.cmd))
			fail("command buffer");
		for (int r = 0; r < 1000; r++) {
			if (dg_vkk_gemm(vk, &j.p, &c))
				fail("record");
			if (kind == 0)
				dg_vk_cmd_barrier(j.p.cmd);
		}
	} else {
		const struct dg_vk_pipeline *pl;
		VkDescriptorSet set;
		uint32_t n = 64;
		memset(&j.p, 0, sizeof j.p);
		filled(&j.buf[0], 64);
		filled(&j.buf[1], 64);
		filled(&j.buf[2], 64);
		struct dg_vk_bind b[3] = { { &j.buf[0], 0, 256 }, { &j.buf[1], 0, 256 },
					   { &j.buf[2], 0, 256 } };
		if (dg_vk_pipeline_get(vk, "add", 3, 4, NULL, 0, &pl) ||
		    dg_vk_cmd_create(vk, 0, &j.p.cmd) || dg_vk_descs_create(vk, 4, &j.p.descs) ||
		    dg_vk_descs_alloc(j.p.descs, pl, b, &set) || dg_vk_cmd_begin(j.p.cmd))
			fail("add");
		for (int r = 0; r < 1000; r++) {
			dg_vk_cmd_dispatch(j.p.cmd, pl, set, &n, 1, 1, 1);
			dg_vk_cmd_barrier(j.p.cmd);
		}
	}
	if (dg_vk_cmd_end(j.p.cmd))
		fail("end");
	run(&j);
	struct timing te = time_calls(run, &e, 0.3), tj = time_calls(run, &j, 0.5);
	free_job(&j);
	free_job(&e);
	*best = (tj.best - te.best) / 1000 * 1e6;
	return (tj.median - te.median) / 1000 * 1e6;
}

static void dispatches(const char *threads)
{
	static const char *what[] = { "gemm", "gemm_nobarrier", "add" };
	static const char *why[] = { "8x8x8 matmul + barrier", "8x8x8 matmul, no barriers",
				     "add.comp 64 floats + barrier" };
	char name[80];
	double best;
	for (int k = 0; k < 3; k++) {
		double us = dispatch_us(k, &best);
		snprintf(name, sizeof name, "vk.dispatch.%s.lp%s", what[k], threads);
		report(name, us, "us", "%s, 1000 in one command buffer, LP_NUM_THREADS=%s; "
		       "best %.2f", why[k], threads, best);
	}
}

/* The shader variants at 128×400×784: tiles TMxTN/WGMxWGN, and the
 * default tiles with float texels instead of vec4 and with storage
 * buffers. */
static void variants(void)
{
	static const char *tiles[] = { "8x12/8x2", "8x12/8x1", "8x12/8x4", "8x8/8x2", "8x16/8x2",
				       "16x8/8x2", "12x12/8x2", "16x12/8x1", "4x8/8x4", "4x4/8x8",
				       "8x12/8x2:float", "8x12/8x2:storage", "16x8/8x2:float" };
	double flop = 2.0 * 128 * 400 * 784;
	char name[80], t[32];
	for (size_t i = 0; i < sizeof tiles / sizeof *tiles; i++) {
		struct dg_kcall c;
		struct job j;
		snprintf(t, sizeof t, "%s", tiles[i]);
		char *kind = strchr(t, ':');
		if (kind)
			*kind++ = 0;
		setenv("DG_VK_GEMM_TILES", t, 1);
		setenv("DG_VK_GEMM_VEC4", kind ? "0" : "1", 1);
		setenv("DG_VK_GEMM_STORAGE", kind && !strcmp(kind, "storage") ? "1" : "0", 1);
		matmul_call(&c, 128, 400, 784, 0, 0, 0);
		make_job(&j, &c, REPS);
		struct timing tm = time_calls(run, &j, 0.5);
		double cpu = per_cpu(&j, flop * REPS);
		free_job(&j);
		snprintf(name, sizeof name, "vk.variant.%s", tiles[i]);
		report(name, flop * REPS / tm.median / 1e9, "GFLOP/s", "128x400x784; best %.1f; "
		       "%.1f per CPU-second", flop * REPS / tm.best / 1e9, cpu);
	}
	unsetenv("DG_VK_GEMM_TILES");
	unsetenv("DG_VK_GEMM_VEC4");
	unsetenv("DG_VK_GEMM_STORAGE");
}

int main(void)
{
	struct dg_vk_gemm_tiles t;
	char desc[128];
	double best;
	const char *lp = getenv("LP_NUM_THREADS");

	if (dg_dnnl_init())
		fail("oneDNN");
	if (dg_vk_open(0, 0, &vk))
		fail("vulkan:0");
	dg_vk_gemm_tiles(vk->props.type == VK_PHYSICAL_DEVICE_TYPE_CPU, vk->props.subgroup_size,
			 vk->props.max_workgroup_invocations, &t);
	dg_vk_gemm_tiles_describe(&t, vk->props.subgroup_size, desc, sizeof desc);
	printf("# %s: %s; LP_NUM_THREADS=%s\n", vk->props.name, desc, lp ? lp : "(default)");
	{
		FILE *f = fopen("/proc/loadavg", "r");
		char l[64] = "";
		if (f && fgets(l, sizeof l, f))
			printf("# /proc/loadavg: %s", l);
		if (f)
			fclose(f);
	}
	if (getenv("B_VK_GEMM_VARIANTS"))
		variants();
	/* B_VK_GEMM_ONLY=conv: the convolutions alone */
	const char *only = getenv("B_VK_GEMM_ONLY");
	if (only && !strcmp(only, "conv")) {
		bench_conv();
		dg_vk_close(vk);
		return 0;
	}
	bench_mm(128, 400, 784, 0, 0, 0, "VAE fc1 shape, A·B");
	bench_mm(128, 400, 784, 0, 1, 1, "VAE fc1 forward x·Wᵀ + bias, relu");
	bench_mm(128, 784, 400, 0, 0, 0, "VAE dX of fc1, dY·W");
	bench_mm(400, 784, 128, 1, 0, 0, "VAE dW of fc1, dYᵀ·X");
	bench_mm(512, 512, 512, 0, 0, 0, "square");
	bench_conv();
	dispatches(lp ? lp : "default");
	dg_vk_close(vk);
	/* The same with fewer of lavapipe's worker threads: a new device
	 * makes a new llvmpipe screen, which reads LP_NUM_THREADS again. */
	for (int n = 0; !lp && n < 2; n++) {
		char threads[4];
		snprintf(threads, sizeof threads, "%d", n);
		setenv("LP_NUM_THREADS", threads, 1);
		if (dg_vk_open(0, 0, &vk))
			fail("vulkan:0 again");
		dispatches(threads);
		struct dg_kcall c;
		matmul_call(&c, 128, 400, 784, 0, 0, 0);
		double g = time_call(&c, 2.0 * 128 * 400 * 784, &best);
		snprintf(desc, sizeof desc, "vk.gemm.128x400x784.lp%s", threads);
		report(desc, g, "GFLOP/s", "LP_NUM_THREADS=%s; best %.1f", threads, best);
		dg_vk_close(vk);
		unsetenv("LP_NUM_THREADS");
	}
	return 0;
}
