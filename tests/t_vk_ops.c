/* t_vk_ops.c — what the op table of t_ops cannot show about the vulkan
 * backend: random draws bit for bit as the cpu's over several runs (the
 * run counter reaches the recorded command buffer), running statistics
 * written by assign, a bad index reported as an error like the cpu's,
 * chains of elementwise calls run as one dispatch (graph_chain.comp) equal
 * to the calls one by one, and DG_PROFILE's per-op timings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg.h"
#include "tap.h"

enum { NU = 1001, NN = 37, RUNS = 3 };

/* Uniform and normal draws of odd sizes, RUNS runs; out gets them all. */
static int draws(const char *device, float *out)
{
	uint64_t du[2] = {7, 143}, dn[1] = {NN};
	struct dg_graph *g = dg_graph_new(20240601);
	dg_tensor t[2] = {dg_random_uniform(g, 2, du), dg_random_normal(g, 1, dn)};
	struct dg_exec *e;
	int st = dg_compile(g, device, 2, t, 0, NULL, &e);
	for (int r = 0; r < RUNS && !st; r++) {
		float *o = out + r * (NU + NN);
		if (!(st = dg_exec_run(e)) && !(st = dg_exec_read(e, 0, o, NU)))
			st = dg_exec_read(e, 1, o + NU, NN);
	}
	if (st)
		diag("%s: %s", device, dg_errmsg());
	dg_exec_free(e);
	dg_graph_free(g);
	return st;
}

static void rng(void)
{
	static float a[RUNS * (NU + NN)], b[RUNS * (NU + NN)];
	int sa = draws("cpu", a), sb = draws("vulkan", b);
	ok(!sa && !sb, "random_uniform and random_normal run on cpu and vulkan");
	size_t diff = 0;
	for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
		diff += memcmp(&a[i], &b[i], sizeof a[i]) != 0;
	/* Exact: the shader's transforms use only correctly rounded +, -, *
	 * (shaders/philox.glsl), normals included. */
	ok(!sb && diff == 0, "vulkan draws equal the cpu's bit for bit over %d runs (%zu differ)",
	   RUNS, diff);
	ok(memcmp(b, b + NU + NN, NU * sizeof *b) != 0, "each run draws new numbers");
	double mean = 0;
	for (int i = 0; i < NU; i++)
		mean += b[i] / NU;
	ok(fabs(mean - 0.5) < 0.05, "uniform mean %.3f", mean);
}

/* Batch norm in training mode: running mean and variance by assign. */
static int running_stats(const char *device, float *out)
{
	uint64_t xd[2] = {6, 5}, cd[1] = {5};
	float x[30];
	struct dg_graph *g = dg_graph_new(3);
	dg_tensor tx = dg_input(g, "x", DG_F32, 2, xd);
	dg_tensor rm = dg_buffer(g, "rm", 1, cd, (struct dg_init){DG_INIT_ZEROS, 0, 0});
	dg_tensor rv = dg_buffer(g, "rv", 1, cd, (struct dg_init){DG_INIT_CONSTANT, 1, 0});
	dg_tensor y = dg_batch_norm(g, tx, DG_NONE, DG_NONE, rm, rv, 1, 0.25f, 1e-5f);
	struct dg_exec *e;
	int st = dg_compile(g, device, 1, &y, 0, NULL, &e);
	for (int r = 0; r < 2 && !st; r++) {
		for (int i = 0; i < 30; i++)
			x[i] = (float)sin(0.7 * i + r);
		if (!(st = dg_exec_feed(e, "x", DG_F32, x, 30)))
			st = dg_exec_run(e);
	}
	for (int k = 0; k < 2 && !st; k++) {
		struct dg_array *a;
		if (!(st = dg_var_get(g, k ? "rv" : "rm", &a))) {
			memcpy(out + 5 * k, a->data, 5 * sizeof *out);
			dg_array_free(a);
		}
	}
	if (st)
		diag("%s: %s", device, dg_errmsg());
	dg_exec_free(e);
	dg_graph_free(g);
	return st;
}

static void assign(void)
{
	float a[10], b[10];
	int sa = running_stats("cpu", a), sb = running_stats("vulkan", b);
	double worst = 0;
	for (int i = 0; i < 10; i++)
		worst = fmax(worst, fabs(a[i] - b[i]));
	ok(!sa && !sb && worst < 1e-6, "running statistics (assign) match the cpu's (%.2g)", worst);
	ok(!sb && b[0] != 0 && b[5] != 1, "running statistics moved");
}

/* A chain of twelve elementwise ops of n elements (more than one
 * dispatch takes) over three inputs (more buffers than one binds), with a
 * scalar operand, in-place results and intermediates read back; two runs
 * with new inputs.  out: 3 outputs × n × 2 runs. */
static int chain(const char *device, unsigned n, float *out)
{
	uint64_t d[2] = {2, n / 2};
	float in[3][64];
	struct dg_graph *g = dg_graph_new(5);
	dg_tensor x = dg_input(g, "x", DG_F32, 2, d), y = dg_input(g, "y", DG_F32, 2, d);
	dg_tensor z = dg_input(g, "z", DG_F32, 2, d);
	dg_tensor s = dg_sum(g, x, DG_AXES_ALL, 0);
	dg_tensor a = dg_exp(g, dg_affine(g, x, 0.5f, 0.1f));
	dg_tensor c = dg_sub(g, dg_mul(g, a, y), s);
	dg_tensor f = dg_add(g, dg_mul(g, dg_sigmoid(g, c), z), a);
	dg_tensor h = dg_mul_scalar(g, dg_tanh(g, f), 3);
	dg_tensor m = dg_maximum(g, dg_softplus(g, dg_add(g, h, y)), dg_mul(g, x, s));
	dg_tensor outs[3] = {c, h, m};
	struct dg_exec *e;
	int st = dg_compile(g, device, 3, outs, 0, NULL, &e);
	for (int r = 0; r < 2 && !st; r++) {
		for (unsigned i = 0; i < n; i++)
			for (int k = 0; k < 3; k++)
				in[k][i] = (float)sin(0.37 * i + 1.3 * k + r);
		st = dg_exec_feed(e, "x", DG_F32, in[0], n);
		st = st ? st : dg_exec_feed(e, "y", DG_F32, in[1], n);
		st = st ? st : dg_exec_feed(e, "z", DG_F32, in[2], n);
		st = st ? st : dg_exec_run(e);
		for (int k = 0; k < 3 && !st; k++)
			st = dg_exec_read(e, (size_t)k, out + (size_t)(3 * r + k) * n, n);
	}
	if (st)
		diag("%s: %s", device, dg_errmsg());
	dg_exec_free(e);
	dg_graph_free(g);
	return st;
}

static void chains(void)
{
	/* 36 elements: vec4 steps; 34: one element per invocation */
	for (unsigned n = 36; n >= 34; n -= 2) {
		float a[6 * 64], b[6 * 64], c[6 * 64];
		int sa = chain("cpu", n, a), sb = chain("vulkan", n, b);
		setenv("DG_NO_FUSION", "1", 1);
		int sc = chain("vulkan", n, c);
		unsetenv("DG_NO_FUSION");
		double worst = 0;
		for (unsigned i = 0; i < 6 * n; i++)
			worst = fmax(worst, fabs(a[i] - b[i]) / fmax(1, fabs(a[i])));
		ok(!sa && !sb && worst < 1e-5, "a chain of 12 elementwise ops of %u elements matches "
		   "the cpu's (%.2g)", n, worst);
		ok(!sb && !sc && !memcmp(b, c, 6 * n * sizeof *b),
		   "the same chain without fusion (DG_NO_FUSION=1) gives the same bits");
	}
}

/* An index outside the table fails the run with a message naming the op. */
static void bad_index(const char *device)
{
	uint64_t td[2] = {4, 3}, id[1] = {5};
	int32_t idx[5] = {0, 3, 4, 1, 2};
	struct dg_graph *g = dg_graph_new(1);
	dg_tensor t = dg_full(g, 2, td, 1.5f);
	dg_tensor y = dg_embedding(g, t, dg_input(g, "i", DG_I32, 1, id));
	struct dg_exec *e;
	int st = dg_compile(g, device, 1, &y, 0, NULL, &e);
	if (!st)
		st = dg_exec_feed(e, "i", DG_I32, idx, 5);
	if (!st)
		st = dg_exec_run(e);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "gather"), "%s: index 4 of a 4-row table: %s",
	   device, dg_errmsg());
	idx[2] = 2;
	st = dg_exec_feed(e, "i", DG_I32, idx, 5);
	ok(!st && !dg_exec_run(e), "%s: then a good batch runs", device);
	dg_exec_free(e);
	dg_graph_free(g);
}

/* A call the backend cannot run (here: 2^31 elements, more than its
 * shaders index) is refused by dg_compile, naming the op, before the
 * graph is bound to the device or anything is allocated (the input alone
 * would be 8 GiB): the same graph then still compiles on cpu. */
static void refusal(void)
{
	struct dg_graph *g = dg_graph_new(1);
	dg_tensor big = dg_input(g, "big", DG_F32, DG_SHAPE(1u << 16, 1u << 15));
	dg_tensor y = dg_sigmoid(g, big);
	dg_tensor small = dg_tanh(g, dg_input(g, "small", DG_F32, DG_SHAPE(4)));
	struct dg_exec *e = NULL;
	int st = dg_compile(g, "vulkan", 1, &y, 0, NULL, &e);
	ok(st == DG_ENODEV && strstr(dg_errmsg(), "vulkan backend") &&
	   strstr(dg_errmsg(), "sigmoid") && !e, "refused at compile time: %s", dg_errmsg());
	st = dg_compile(g, "cpu", 1, &small, 0, NULL, &e);
	ok(st == 0, "the refused graph was not bound: it compiles on cpu (%s)", st ? dg_errmsg() : "ok");
	dg_exec_free(e);
	dg_graph_free(g);
}

/* DG_PROFILE=1 prints per-op timings to stderr when the step is freed. */
static void profile(void)
{
	char path[] = "/tmp/t_vk_ops.XXXXXX", buf[4096] = "";
	int fd = mkstemp(path), saved = dup(2);
	uint64_t d[2] = {64, 64};
	if (fd < 0 || saved < 0) {
		ok(0, "profile: temporary file");
		return;
	}
	setenv("DG_PROFILE", "1", 1);
	struct dg_graph *g = dg_graph_new(1);
	dg_tensor y = dg_softmax(g, dg_tanh(g, dg_random_normal(g, 2, d)));
	struct dg_exec *e;
	int st = dg_compile(g, "vulkan", 1, &y, 0, NULL, &e);
	for (int i = 0; i < 3 && !st; i++)
		st = dg_exec_run(e);
	fflush(stderr);
	dup2(fd, 2);
	dg_exec_free(e);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	unsetenv("DG_PROFILE");
	dg_graph_free(g);
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	ok(!st && strstr(buf, "dg: profile: vulkan, 3 kernels, 3 runs") && strstr(buf, "softmax") &&
	   strstr(buf, "random_normal") && strstr(buf, "total"), "DG_PROFILE=1 on vulkan prints per-op timings");
	if (!strstr(buf, "total"))
		diag("stderr: %s", buf);
}

int main(void)
{
	struct dg_device_info dev;
	/* lavapipe's worker threads cost more than they give on graphs of
	 * tiny dispatches (here, on a busy machine, 20 ms per XOR step against
	 * 0.4 ms without); an explicit setting wins. */
	setenv("LP_NUM_THREADS", "0", 0);
	if (dg_device_select("vulkan", &dev)) {
		plan(1);
		skip("no Vulkan device");
		return done_testing();
	}
	rng();
	assign();
	bad_index("cpu");
	bad_index("vulkan");
	chains();
	refusal();
	profile();
	return done_testing();
}
