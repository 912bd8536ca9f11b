/* bench/b_conv_nd.c — the general convolutions (grouped, 3-d) through
 * the engine, GFLOP/s on each device: forward, the input's gradient
 * (conv_nd_bwd_data) and the weight's (conv_nd_bwd_filter), each its own
 * compiled step (the two gradient steps also run the loss's two small
 * elementwise calls, Σ y·r).  Shapes: bench/b_conv.c's depthwise,
 * 32-group and 3-d layers (batch B_CONV_ND_BATCH, 0: theirs), and the
 * DCGAN layer with a stride of (2, 1) that only conv_nd takes, beside the
 * same layer as a plain conv2d (the GEMM path); vulkan at batch 2 unless
 * B_CONV_ND_BATCH says.  Devices: cpu, and
 * vulkan when there is one (B_CONV_ND_DEVICES="cpu vulkan" by default);
 * B_CONV_ND_ONLY=name times one shape. */
#include <string.h>
#include "bench.h"
#include "dg.h"

struct job {
	struct dg_exec *e;
};

static void run(void *arg)
{
	struct job *j = arg;
	if (dg_exec_run(j->e))
		fprintf(stderr, "b_conv_nd: %s\n", dg_errmsg());
}

struct shape {
	const char *name, *note;
	unsigned rank;
	uint64_t x[5], w[5];
	unsigned groups, stride[3], pad[3];
	int plain;      /* build with dg_conv2d (the GEMM path) */
};

/* GFLOP per CPU-second of the whole process (lavapipe's and oneDNN's
 * threads are in it): what the work costs whatever share of the shared
 * machine the process got.  Median of BENCH_REPEATS samples. */
static double per_cpu(struct job *j, double flop)
{
	double v[101];
	int reps = bench_repeats();
	struct timespec a, b;
	for (int r = 0; r < reps; r++) {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
		run(j);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
		v[r] = flop / ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9) / 1e9;
	}
	return median(v, reps);
}

static void bench(const struct shape *s, uint64_t batch, const char *dev)
{
	struct dg_graph *g = dg_graph_new(1);
	uint64_t xd[5], yd[DG_MAX_RANK];
	memcpy(xd, s->x, sizeof xd);
	if (batch)
		xd[0] = batch;
	dg_tensor x = dg_input(g, "x", DG_F32, s->rank, xd);
	dg_tensor w = dg_param(g, "w", s->rank, s->w, (struct dg_init){DG_INIT_NORMAL, 0.1f, 0}, 0);
	struct dg_conv_opt o = {.struct_size = sizeof o, .groups = s->groups};
	memcpy(o.stride, s->stride, sizeof o.stride);
	memcpy(o.pad, s->pad, sizeof o.pad);
	struct dg_conv p = {s->stride[0], s->pad[0], 1, 0};
	dg_tensor y = s->plain ? dg_conv2d(g, x, w, DG_NONE, &p) : dg_conv_nd(g, x, w, DG_NONE, &o);
	unsigned ry = dg_shape(g, y, yd);
	dg_tensor r = dg_input(g, "r", DG_F32, ry, yd);
	dg_tensor loss = dg_sum(g, dg_mul(g, y, r), DG_AXES_ALL, 0);
	dg_tensor gr[2];
	dg_tensor wrt[2] = {x, w};
	if (dg_gradients(g, loss, 2, wrt, gr)) {
		fprintf(stderr, "b_conv_nd: %s\n", dg_graph_error(g));
		exit(70);
	}
	uint64_t ny = dg_count(g, y), nx = dg_count(g, x), kvol = dg_count(g, w) / s->w[0];
	double flop = 2.0 * (double)ny * (double)kvol;
	float *xv = malloc(nx * sizeof *xv), *rv = malloc(ny * sizeof *rv);
	for (uint64_t i = 0; i < nx; i++)
		xv[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
	for (uint64_t i = 0; i < ny; i++)
		rv[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
	const char *pass[3] = {"fwd", "bwd_data", "bwd_filter"};
	dg_tensor out[3] = {y, gr[0], gr[1]};
	for (int k = 0; k < 3; k++) {
		struct job j = {NULL};
		char name[80];
		if (dg_compile(g, dev, 1, &out[k], 0, NULL, &j.e) ||
		    dg_exec_feed(j.e, "x", DG_F32, xv, nx) || dg_exec_feed(j.e, "r", DG_F32, rv, ny)) {
			fprintf(stderr, "b_conv_nd: %s %s: %s\n", s->name, dev, dg_errmsg());
			exit(70);
		}
		struct timing t = time_calls(run, &j, 0.5);
		snprintf(name, sizeof name, "%s.%s.%s", dev, s->name, pass[k]);
		double cpu = per_cpu(&j, flop);
		report(name, flop / t.median / 1e9, "GFLOP/s", "%s, batch %llu; %.2f ms; best %.1f; "
		       "%.2f per CPU-second", s->note, (unsigned long long)xd[0], t.median * 1e3,
		       flop / t.best / 1e9, cpu);
		dg_exec_free(j.e);
	}
	free(xv);
	free(rv);
	dg_graph_free(g);
}

int main(void)
{
	static const struct shape shapes[] = {
		{"conv_dw", "128x28x28 depthwise k3 s1 p1", 4, {32, 128, 28, 28}, {128, 1, 3, 3},
		 128, {1, 1}, {1, 1}, 0},
		{"conv_g32", "128x28x28 -> 128, 32 groups, k3 s1 p1", 4, {16, 128, 28, 28},
		 {128, 4, 3, 3}, 32, {1, 1}, {1, 1}, 0},
		{"conv3d", "32x8x16x16 -> 64, k3 s1 p1", 5, {8, 32, 8, 16, 16}, {64, 32, 3, 3, 3},
		 1, {1, 1, 1}, {1, 1, 1}, 0},
		{"conv_s21", "64x16x16 -> 128, k4, stride (2, 1), p1", 4, {64, 64, 16, 16},
		 {128, 64, 4, 4}, 1, {2, 1}, {1, 1}, 0},
		{"conv_plain", "the same with stride 2: conv2d's GEMM path", 4, {64, 64, 16, 16},
		 {128, 64, 4, 4}, 1, {2, 2}, {1, 1}, 1},
	};
	const char *b = getenv("B_CONV_ND_BATCH"), *devs = getenv("B_CONV_ND_DEVICES");
	const char *only = getenv("B_CONV_ND_ONLY");
	uint64_t batch = b ? strtoull(b, NULL, 10) : 0;
	/* lavapipe's direct convolutions take seconds at full batch */
	uint64_t vk_batch = b ? batch : 2;
	char list[64];
	snprintf(list, sizeof list, "%s", devs ? devs : "cpu vulkan");
	for (char *dev = strtok(list, " "); dev; dev = strtok(NULL, " ")) {
		struct dg_device_info info;
		if (strcmp(dev, "cpu") && dg_device_select(dev, &info)) {
			printf("# %s: %s\n", dev, dg_errmsg());
			continue;
		}
		for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
			if (!only || !strcmp(only, shapes[i].name))
				bench(&shapes[i], strcmp(dev, "cpu") ? vk_batch : batch, dev);
	}
	return 0;
}
