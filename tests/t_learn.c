/* t_learn.c — end to end learning: an MLP learns XOR, and a softmax
 * regression reaches 80% test accuracy on Fashion-MNIST in one epoch (one
 * graph, a training step and an evaluation step sharing the parameters).
 * On the cpu backend, then on vulkan when there is a device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"
#include "tap.h"

static void xor(const char *device)
{
	uint64_t xd[2] = {4, 2}, w1[2] = {8, 2}, b1[1] = {8}, w2[2] = {1, 8}, b2[1] = {1};
	const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
	struct dg_graph *g = dg_graph_new(42);
	dg_tensor tx = dg_input(g, "x", DG_F32, 2, xd);
	dg_tensor ty = dg_input(g, "y", DG_F32, DG_SHAPE(4, 1));
	dg_tensor h = dg_linear(g, tx, dg_param(g, "w1", 2, w1, (struct dg_init){DG_INIT_GLOROT_UNIFORM, 0, 0}, 0),
				dg_param(g, "b1", 1, b1, (struct dg_init){DG_INIT_ZEROS, 0, 0}, 0), DG_ACT_TANH, 0);
	dg_tensor o = dg_linear(g, h, dg_param(g, "w2", 2, w2, (struct dg_init){DG_INIT_GLOROT_UNIFORM, 0, 0}, 0),
				dg_param(g, "b2", 1, b2, (struct dg_init){DG_INIT_ZEROS, 0, 0}, 0), DG_ACT_NONE, 0);
	dg_tensor loss = dg_bce_logits_loss(g, o, ty, DG_MEAN);
	struct dg_optim opt = {.kind = DG_ADAM, .lr = 0.05f};
	int u = dg_optimize(g, loss, DG_ALL_GROUPS, &opt);
	dg_tensor outs[2] = {loss, dg_sigmoid(g, o)};
	struct dg_exec *e;
	if (!ok(dg_compile(g, device, 2, outs, 1, &u, &e) == 0, "xor [%s]: compiles", device)) {
		diag("%s", dg_errmsg());
		dg_graph_free(g);
		return;
	}
	dg_exec_feed(e, "x", DG_F32, x, 8);
	dg_exec_feed(e, "y", DG_F32, y, 4);
	float p[4];
	for (int i = 0; i < 400; i++)
		dg_exec_run(e);
	dg_exec_read(e, 1, p, 4);
	float l = dg_exec_scalar(e, 0);
	ok(l < 0.05f, "xor [%s]: loss %.4f < 0.05 after 400 Adam steps", device, l);
	ok(p[0] < 0.5f && p[1] > 0.5f && p[2] > 0.5f && p[3] < 0.5f,
	   "xor [%s]: predictions %.2f %.2f %.2f %.2f", device, p[0], p[1], p[2], p[3]);
	dg_exec_free(e);
	dg_graph_free(g);
}

enum { B = 100, EB = 1000, D = 784, CL = 10 };

/* Trains on the first `limit` examples of the shuffled training set. */
static void fashion(const char *device, uint64_t limit, double want)
{
	struct dg_dataset *tr, *te;
	if (dg_dataset_open("fashion-mnist", NULL, &tr)) {
		ok(0, "fashion-mnist: %s", dg_errmsg());
		return;
	}
	if (dg_dataset_open("fashion-mnist-test", NULL, &te)) {
		ok(0, "fashion-mnist-test: %s", dg_errmsg());
		dg_dataset_close(tr);
		return;
	}
	uint64_t n = dg_dataset_info(tr)->count, nt = dg_dataset_info(te)->count;
	uint64_t xd[2] = {B, D}, yd[1] = {B}, ed[2] = {EB, D}, wd[2] = {CL, D}, bd[1] = {CL};
	struct dg_graph *g = dg_graph_new(7);
	dg_tensor w = dg_param(g, "w", 2, wd, (struct dg_init){DG_INIT_ZEROS, 0, 0}, 0);
	dg_tensor b = dg_param(g, "b", 1, bd, (struct dg_init){DG_INIT_ZEROS, 0, 0}, 0);
	dg_tensor x = dg_input(g, "x", DG_F32, 2, xd), y = dg_input(g, "y", DG_I32, 1, yd);
	dg_tensor loss = dg_softmax_cross_entropy(g, dg_linear(g, x, w, b, DG_ACT_NONE, 0), y, DG_MEAN);
	struct dg_optim opt = {.kind = DG_ADAM, .lr = 5e-3f};
	int u = dg_optimize(g, loss, DG_ALL_GROUPS, &opt);
	dg_tensor xe = dg_input(g, "xe", DG_F32, 2, ed);
	dg_tensor pred = dg_argmax(g, dg_linear(g, xe, w, b, DG_ACT_NONE, 0));
	struct dg_exec *train, *eval;
	if (!ok(dg_compile(g, device, 1, &loss, 1, &u, &train) == 0 &&
		dg_compile(g, device, 1, &pred, 0, NULL, &eval) == 0, "fashion [%s]: compiles", device)) {
		diag("%s", dg_errmsg());
		dg_graph_free(g);
		return;
	}
	uint64_t *order = malloc(n * sizeof *order), idx[EB];
	float *xb = malloc(EB * D * sizeof *xb), pr[EB];
	int32_t yb[EB];
	dg_dataset_permutation(n, 7, 0, order);
	if (limit < n)
		n = limit;
	double first = 0, last = 0;
	for (uint64_t s = 0; s + B <= n; s += B) {
		dg_dataset_gather(tr, order + s, B, xb, yb);
		dg_exec_feed(train, "x", DG_F32, xb, B * D);
		dg_exec_feed(train, "y", DG_I32, yb, B);
		dg_exec_run(train);
		float l = dg_exec_scalar(train, 0);
		if (s < 10 * B)
			first += l / 10;
		if (s >= n - 10 * B)
			last += l / 10;
	}
	uint64_t right = 0;
	for (uint64_t s = 0; s + EB <= nt; s += EB) {
		for (int i = 0; i < EB; i++)
			idx[i] = s + (uint64_t)i;
		dg_dataset_gather(te, idx, EB, xb, yb);
		dg_exec_feed(eval, "xe", DG_F32, xb, EB * D);
		dg_exec_run(eval);
		dg_exec_read(eval, 0, pr, EB);
		for (int i = 0; i < EB; i++)
			right += (int32_t)pr[i] == yb[i];
	}
	double acc = (double)right / (double)nt;
	ok(last < first, "fashion [%s]: training loss falls (%.3f -> %.3f)", device, first, last);
	ok(acc >= want, "fashion [%s]: softmax regression test accuracy %.2f%% >= %.0f%% after "
	   "%llu examples", device, 100 * acc, 100 * want, (unsigned long long)n);
	free(order);
	free(xb);
	dg_exec_free(train);
	dg_exec_free(eval);
	dg_graph_free(g);
	dg_dataset_close(tr);
	dg_dataset_close(te);
}

int main(void)
{
	struct dg_device_info dev;
	/* lavapipe's worker threads cost more than they give on graphs of
	 * tiny dispatches (here, on a busy machine, 20 ms per XOR step against
	 * 0.4 ms without); an explicit setting wins. */
	setenv("LP_NUM_THREADS", "0", 0);
	xor("cpu");
	fashion("cpu", UINT64_MAX, 0.80);
	if (!dg_device_select("vulkan", &dev)) {
		xor("vulkan");
		fashion("vulkan", UINT64_MAX, 0.80);
	} else {
		diag("no Vulkan device: %s", dg_errmsg());
	}
	return done_testing();
}
