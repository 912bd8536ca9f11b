/* bench/b_conv.c — convolution GFLOP/s through dg's oneDNN plans (plain
 * NCHW, as the engine stores tensors) for a DCGAN discriminator layer:
 * batch 64, 64 -> 128 channels, 16×16 -> 8×8, 4×4 kernel, stride 2,
 * padding 1 — forward (bias + leaky relu fused), backward-data,
 * backward-weights (+ bias); and the generator's transposed layer
 * 128 -> 64, 8×8 -> 16×16. */
#include <oneapi/dnnl/dnnl.h>

#include "bench.h"
#include "dg/array.h"
#include "dg/error.h"
#include "cpu/dnnl.h"

struct job {
	struct dg_dnnl_plan *plan;
	void *args[4];
};

static void run(void *arg)
{
	struct job *j = arg;
	if (dg_dnnl_run(j->plan, j->args, NULL))
		fprintf(stderr, "b_conv: %s\n", dg_errmsg());
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
		fprintf(stderr, "b_conv: %s\n", dg_errmsg());
		exit(70);
	}
}

static void one(const char *name, const char *why, struct dg_dnnl_plan *p, double flop,
		void *a0, void *a1, void *a2, void *a3)
{
	struct job j = { p, { a0, a1, a2, a3 } };
	struct timing t = time_calls(run, &j, 0.3);
	report(name, flop / t.median / 1e9, "GFLOP/s", "%s; %.2f ms; best %.1f GFLOP/s; impl %s",
	       why, t.median * 1e3, flop / t.best / 1e9, dg_dnnl_plan_impl(p));
	dg_dnnl_plan_free(p);
}

int main(void)
{
	/* Convolution 64x64x16x16 -> 64x128x8x8; its transpose maps back. */
	struct dg_dnnl_conv c = { .n = 64, .ic = 64, .ih = 16, .iw = 16, .oc = 128, .kh = 4,
				  .kw = 4, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1 };
	struct dg_dnnl_conv t = { .n = 64, .ic = 128, .ih = 8, .iw = 8, .oc = 64, .kh = 4,
				  .kw = 4, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1 };
	struct dg_dnnl_plan *p;
	size_t big = 64 * 64 * 16 * 16, small = 64 * 128 * 8 * 8, nw = 128 * 64 * 16;
	float *x = filled(big), *y = filled(small), *w = filled(nw), *b = filled(128);
	float *dx = filled(big), *dy = filled(small), *dw = filled(nw), *db = filled(128);
	/* Each output of the strided conv is a 64·4·4 dot product. */
	double flop = 2.0 * small * 64 * 16;

	must(dg_dnnl_init());
	report("conv.threads", dg_dnnl_threads(), "threads", "oneDNN/OpenMP");
	must(dg_dnnl_conv_fwd_plan(&p, &c, DG_DNNL_BIAS, DG_DNNL_LEAKY_RELU, 0.2f));
	one("conv.fwd", "64x64x16x16 -> 128 k4 s2 p1, bias+lrelu fused", p, flop, x, w, b, y);
	/* The same without the fused activation, and below without the bias
	 * gradient: what the fusions cost or save. */
	must(dg_dnnl_conv_fwd_plan(&p, &c, DG_DNNL_BIAS, DG_DNNL_NONE, 0));
	one("conv.fwd.bias_only", "as conv.fwd without the activation", p, flop, x, w, b, y);
	must(dg_dnnl_conv_bwd_data_plan(&p, &c, 0));
	one("conv.bwd_data", "dX", p, flop, dy, w, dx, NULL);
	must(dg_dnnl_conv_bwd_weights_plan(&p, &c, DG_DNNL_BIAS));
	one("conv.bwd_weights", "dW and db", p, flop, x, dy, dw, db);
	must(dg_dnnl_conv_bwd_weights_plan(&p, &c, 0));
	one("conv.bwd_weights.no_bias", "dW only", p, flop, x, dy, dw, NULL);
	/* The transposed layer does the same arithmetic in the other
	 * direction; its weight IC×OC×KH×KW = 128×64×4×4 is the same size. */
	must(dg_dnnl_deconv_fwd_plan(&p, &t, DG_DNNL_BIAS, DG_DNNL_RELU, 0));
	one("deconv.fwd", "64x128x8x8 -> 64 k4 s2 p1, bias+relu fused", p, flop, y, w, b, x);
	must(dg_dnnl_deconv_bwd_data_plan(&p, &t, 0));
	one("deconv.bwd_data", "dX", p, flop, dx, w, dy, NULL);
	must(dg_dnnl_deconv_bwd_weights_plan(&p, &t, DG_DNNL_BIAS));
	one("deconv.bwd_weights", "dW and db", p, flop, y, dx, dw, db);
	dg_free(x); dg_free(y); dg_free(w); dg_free(b);
	dg_free(dx); dg_free(dy); dg_free(dw); dg_free(db);
	return 0;
}
