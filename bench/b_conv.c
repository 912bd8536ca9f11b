/* bench/b_conv.c — convolution GFLOP/s through dg's oneDNN plans (plain
 * NCHW, as the engine stores tensors) for a DCGAN discriminator layer:
 * batch 64, 64 -> 128 channels, 16×16 -> 8×8, 4×4 kernel, stride 2,
 * padding 1 — forward (bias + leaky relu fused), backward-data,
 * backward-weights (+ bias); and the generator's transposed layer
 * 128 -> 64, 8×8 -> 16×16.  Then grouped (depthwise, 32 groups) and 3-d
 * convolutions, the three passes each (torch_conv.py has the peers). */
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

/* The three passes of a grouped or 3-d convolution without bias, as the
 * engine plans them (conv_nd and its adjoints). */
static void nd(const char *name, const char *shape, const struct dg_dnnl_conv *c)
{
	int64_t o[3];
	struct dg_dnnl_plan *p;
	char nm[64];

	must(dg_dnnl_window_out(c, 0, o));
	int64_t g = c->groups > 1 ? c->groups : 1, vin = c->ih * c->iw * (c->id ? c->id : 1);
	int64_t vk = c->kh * c->kw * (c->id ? c->kd : 1), vout = o[0] * o[1] * o[2];
	size_t nx = (size_t)(c->n * c->ic * vin), ny = (size_t)(c->n * c->oc * vout);
	size_t nw = (size_t)(c->oc * (c->ic / g) * vk);
	float *x = filled(nx), *y = filled(ny), *w = filled(nw);
	/* each output is a dot product of C/G·k.. terms */
	double flop = 2.0 * (double)ny * (double)(c->ic / g * vk);

	must(dg_dnnl_conv_fwd_plan(&p, c, 0, DG_DNNL_NONE, 0));
	snprintf(nm, sizeof nm, "%s.fwd", name);
	one(nm, shape, p, flop, x, w, NULL, y);
	must(dg_dnnl_conv_bwd_data_plan(&p, c, 0));
	snprintf(nm, sizeof nm, "%s.bwd_data", name);
	one(nm, "dX", p, flop, y, w, x, NULL);
	must(dg_dnnl_conv_bwd_weights_plan(&p, c, 0));
	snprintf(nm, sizeof nm, "%s.bwd_weights", name);
	one(nm, "dW", p, flop, x, y, w, NULL);
	dg_free(x); dg_free(y); dg_free(w);
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

	/* Grouped and 3-d convolutions, no bias (the engine adds it apart):
	 * a MobileNet-v2 depthwise 3×3, a ResNeXt grouped 3×3 (32 groups of
	 * 4 channels) and a video / volume 3×3×3. */
	struct dg_dnnl_conv dwc = { .n = 32, .ic = 128, .ih = 28, .iw = 28, .oc = 128, .kh = 3,
				    .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1,
				    .groups = 128 };
	nd("conv_dw", "32x128x28x28 depthwise k3 s1 p1", &dwc);
	struct dg_dnnl_conv gc = { .n = 16, .ic = 128, .ih = 28, .iw = 28, .oc = 128, .kh = 3,
				   .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1,
				   .groups = 32 };
	nd("conv_g32", "16x128x28x28 -> 128, 32 groups, k3 s1 p1", &gc);
	struct dg_dnnl_conv c3 = { .n = 8, .ic = 32, .ih = 16, .iw = 16, .oc = 64, .kh = 3,
				   .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1,
				   .id = 8, .kd = 3, .sd = 1, .pd = 1, .dd = 1 };
	nd("conv3d", "8x32x8x16x16 -> 64, k3 s1 p1", &c3);
	return 0;
}
