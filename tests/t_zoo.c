/* t_zoo.c — the regularized autoencoders' pieces in C: the layer
 * library's input corruption (dg_nn_corrupt) against a reference built on
 * the same generator, on every device; and the contractive autoencoder's
 * Jacobian penalty (plugins/ae.c, a closed form) against central finite
 * differences of a double-precision reference of its encoder, whose
 * forward pass is itself checked against dg's encode(). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"
/* The stream of a graph's random op number k is DG_OP_STREAM | k
 * (libcore/graph/graph_impl.h; tests/t_golden.c says why it is copied). */
#define DG_OP_STREAM (2ull << 40)
#include "tap.h"

/* ---- dg_nn_corrupt --------------------------------------------------------------------- */

#define CN 64
#define CD 100

/* The corruption of x by kind at level from the random op's values r
 * (uniforms, or normals for gauss), as dg/nn.h describes it. */
static float corrupt_ref(enum dg_nn_noise kind, float level, float x, float r)
{
	switch (kind) {
	case DG_NN_NOISE_MASK: return r > level ? x : 0;
	case DG_NN_NOISE_GAUSS: return fminf(fmaxf(x + r * level, 0), 1);
	case DG_NN_NOISE_SALTPEPPER:
		return r < level / 2 ? 0 : r > 1 - level / 2 ? 1 : x;
	default: return x;
	}
}

static void test_corrupt_kind(const char *dev, enum dg_nn_noise kind, float level)
{
	static const char *const names[] = {"none", "mask", "gauss", "saltpepper"};
	const uint64_t seed = 77;
	static float x[CN * CD], y[CN * CD], r[CN * CD];
	struct dg_graph *g = dg_graph_new(seed);
	dg_tensor in = dg_input(g, "x", DG_F32, DG_SHAPE(CN, CD));
	dg_tensor out = dg_nn_corrupt(g, in, kind, level);
	struct dg_exec *e = NULL;
	for (size_t i = 0; i < CN * CD; i++)
		x[i] = (float)((i * 37) % 101) / 100.0f; /* 0, 0.37, ... all of [0, 1] */
	int st = dg_compile(g, dev, 1, &out, 0, NULL, &e) ||
		 dg_exec_feed(e, "x", DG_F32, x, CN * CD);
	if (!ok(!st, "[%s] noise=%s level %g compiles", dev, names[kind], (double)level)) {
		diag("  %s", dg_errmsg());
		goto out;
	}
	for (uint64_t run = 0; run < 2; run++) {
		st = dg_exec_run(e) || dg_exec_read(e, 0, y, CN * CD);
		if (kind == DG_NN_NOISE_GAUSS)
			dg_rng_normal(seed, DG_OP_STREAM, run << 32, r, CN * CD);
		else
			dg_rng_uniform(seed, DG_OP_STREAM, run << 32, r, CN * CD);
		size_t bad = 0, zero = 0, one = 0, changed = 0;
		for (size_t i = 0; i < CN * CD; i++) {
			float want = corrupt_ref(kind, level, x[i], r[i]);
			bad += y[i] != want;
			zero += y[i] == 0 && x[i] != 0;
			one += y[i] == 1 && x[i] != 1;
			changed += y[i] != x[i];
		}
		ok(!st && bad == 0, "[%s] noise=%s level %g, run %llu: every value is the reference's "
		   "on dg_rng at (seed, DG_OP_STREAM | 0, run << 32) (%zu differ)", dev, names[kind],
		   (double)level, (unsigned long long)run, bad);
		/* The rates, within 5 binomial standard deviations. */
		double n = CN * CD, p = kind == DG_NN_NOISE_SALTPEPPER ? level / 2 : level;
		double tol = 5 * sqrt(n * p * (1 - p)) + 0.02 * n; /* x is 0 or 1 at times */
		if (kind == DG_NN_NOISE_MASK)
			ok(fabs((double)zero - n * p) <= tol, "[%s]   %zu of %.0f zeroed, expected %.0f",
			   dev, zero, n, n * p);
		else if (kind == DG_NN_NOISE_SALTPEPPER)
			ok(fabs((double)zero - n * p) <= tol && fabs((double)one - n * p) <= tol,
			   "[%s]   %zu set to 0 and %zu to 1 of %.0f, expected %.0f each", dev, zero,
			   one, n, n * p);
		else
			ok(changed > n * 0.9, "[%s]   %zu of %.0f values moved", dev, changed, n);
	}
out:
	dg_exec_free(e);
	dg_graph_free(g);
}

static void test_corrupt(const char *dev)
{
	test_corrupt_kind(dev, DG_NN_NOISE_MASK, 0.3f);
	test_corrupt_kind(dev, DG_NN_NOISE_GAUSS, 0.5f);
	test_corrupt_kind(dev, DG_NN_NOISE_SALTPEPPER, 0.4f);
	test_corrupt_kind(dev, DG_NN_NOISE_MASK, 1.0f);
}

static void test_corrupt_rules(void)
{
	is_int(dg_nn_noise_kind("mask"), DG_NN_NOISE_MASK, "noise kind mask by name");
	is_int(dg_nn_noise_kind("gauss"), DG_NN_NOISE_GAUSS, "gauss");
	is_int(dg_nn_noise_kind("saltpepper"), DG_NN_NOISE_SALTPEPPER, "saltpepper");
	is_int(dg_nn_noise_kind("none"), DG_NN_NOISE_NONE, "none");
	is_int(dg_nn_noise_kind("Mask"), -1, "an unknown name: -1");
	is_int(dg_nn_noise_kind(NULL), -1, "NULL: -1");

	struct dg_graph *g = dg_graph_new(1);
	dg_tensor x = dg_input(g, "x", DG_F32, DG_SHAPE(2, 3));
	dg_tensor y = dg_nn_corrupt(g, x, DG_NN_NOISE_MASK, 0);
	dg_tensor z = dg_nn_corrupt(g, x, DG_NN_NOISE_NONE, 0.5f);
	ok(y.id == x.id && z.id == x.id && !dg_graph_status(g),
	   "level 0, or kind none: x itself, no random op");
	dg_graph_free(g);

	static const struct {
		enum dg_nn_noise kind;
		float level;
		const char *says;
	} bad[] = {
		{DG_NN_NOISE_MASK, -0.1f, "noise=mask: noise_level -0.1 must be a probability"},
		{DG_NN_NOISE_SALTPEPPER, 1.5f, "noise=saltpepper: noise_level 1.5 must be a "
					       "probability in [0, 1]"},
		{DG_NN_NOISE_GAUSS, -1, "noise=gauss: noise_level -1 must be a finite standard "
					"deviation >= 0"},
		{DG_NN_NOISE_GAUSS, NAN, "noise=gauss: noise_level nan"},
		{(enum dg_nn_noise)9, 0.1f, "unknown noise kind 9"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		g = dg_graph_new(1);
		x = dg_input(g, "x", DG_F32, DG_SHAPE(2, 3));
		y = dg_nn_corrupt(g, x, bad[i].kind, bad[i].level);
		const char *msg = dg_graph_error(g);
		ok(!y.id && dg_graph_status(g) == DG_EUSAGE && msg && strstr(msg, bad[i].says),
		   "refused with DG_EUSAGE: %s", msg ? msg : "(none)");
		dg_graph_free(g);
	}
}

/* ---- the contractive penalty ---------------------------------------------------------- */

#define B 6
#define SIDE 4
#define D (SIDE * SIDE)
#define HID 12
#define LAT 3

static double w1[HID][D], b1[HID], w2[LAT][HID], b2[LAT];

/* The ae's MLP encoder in double: W2·relu(W1·x + b1) + b2. */
static void enc_ref(const double *x, double *z)
{
	double h[HID];
	for (int j = 0; j < HID; j++) {
		double a = b1[j];
		for (int i = 0; i < D; i++)
			a += w1[j][i] * x[i];
		h[j] = a > 0 ? a : 0;
	}
	for (int k = 0; k < LAT; k++) {
		z[k] = b2[k];
		for (int j = 0; j < HID; j++)
			z[k] += w2[k][j] * h[j];
	}
}

/* ‖J‖²_F of enc_ref at x by central differences.  The encoder is
 * piecewise linear, so they are exact up to rounding unless x lies
 * within h of a kink, which the check of the forward pass rules out. */
static double jac_fd(const float *xf)
{
	const double h = 1e-6;
	double x[D], zp[LAT], zm[LAT], s = 0;
	for (int i = 0; i < D; i++)
		x[i] = xf[i];
	for (int i = 0; i < D; i++) {
		double v = x[i];
		x[i] = v + h;
		enc_ref(x, zp);
		x[i] = v - h;
		enc_ref(x, zm);
		x[i] = v;
		for (int k = 0; k < LAT; k++) {
			double d = (zp[k] - zm[k]) / (2 * h);
			s += d * d;
		}
	}
	return s;
}

static int read_param(struct dg_graph *g, const char *name, double *dst, size_t n)
{
	struct dg_array *a = NULL;
	if (dg_var_get(g, name, &a) || dg_array_count(a) != n) {
		diag("  %s: %s", name, dg_errmsg());
		dg_array_free(a);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = ((const float *)a->data)[i];
	dg_array_free(a);
	return 0;
}

static void test_contractive(void)
{
	static const char *const sets[] = {"hidden=12", "latent=3", "contractive=0.7", NULL};
	const struct dg_family *f = NULL;
	struct dg_hparams *hp = NULL;
	struct dg_graph *g = dg_graph_new(5);
	struct dg_model m;
	struct dg_exec *e = NULL;
	int built = 0, st = dg_family_load("ae", &f) || dg_hparams_new(f, &hp);
	for (const char *const *s = sets; !st && *s; s++)
		st = dg_hparams_set(hp, *s);
	struct dg_model_spec spec = {.channels = 1, .height = SIDE, .width = SIDE, .batch = B,
				     .training = 1};
	st = st || dg_model_build(f, &m, g, hp, &spec);
	built = !st;
	dg_tensor jac = DG_NONE, rec = DG_NONE, mean, sample, loss = DG_NONE;
	for (size_t t = 0; built && t < dg_model_term_count(&m); t++) {
		const struct dg_term *term = dg_model_term_at(&m, t, NULL);
		if (!strcmp(term->name, "jac"))
			jac = term->value;
		if (!strcmp(term->name, "recon"))
			rec = term->value;
		if (!strcmp(term->name, "loss"))
			loss = term->value;
	}
	struct dg_term lt[DG_MAX_TERMS];
	unsigned nlt = 0;
	st = st || !jac.id || f->encode(&m, m.x, DG_NONE, &mean, &sample) ||
	     f->loglik(&m, m.x, DG_NONE, 1, lt, &nlt);
	if (!ok(!st && nlt == 2 && !strcmp(lt[1].name, "jac"),
		"ae contractive=0.7: builds, reports the term jac, and loglik's per-image jac")) {
		diag("  %s", built ? dg_graph_error(g) : dg_errmsg());
		goto out;
	}
	float x[B * D], z[B * LAT], jb[B], j, l, r;
	for (int i = 0; i < B * D; i++)
		x[i] = (float)(((unsigned)i * 2654435761u) >> 8 & 0xffff) / 65535.0f;
	dg_tensor outs[5] = {jac, mean, lt[1].value, loss, rec};
	st = dg_compile(g, "cpu", 5, outs, 0, NULL, &e) || dg_exec_feed(e, "x", DG_F32, x, B * D) ||
	     dg_exec_run(e) || dg_exec_read(e, 1, z, B * LAT) || dg_exec_read(e, 2, jb, B) ||
	     read_param(g, "enc.fc1.w", &w1[0][0], HID * D) || read_param(g, "enc.fc1.b", b1, HID) ||
	     read_param(g, "enc.code.w", &w2[0][0], LAT * HID) ||
	     read_param(g, "enc.code.b", b2, LAT);
	if (!ok(!st, "the step runs and the encoder's parameters read back")) {
		diag("  %s", dg_errmsg());
		goto out;
	}
	j = dg_exec_scalar(e, 0);
	l = dg_exec_scalar(e, 3);
	r = dg_exec_scalar(e, 4);

	/* The reference is dg's encoder, and no input sits near a kink. */
	double zerr = 0, margin = INFINITY, mean_fd = 0, jerr = 0;
	for (int n = 0; n < B; n++) {
		double xd[D], zr[LAT];
		for (int i = 0; i < D; i++)
			xd[i] = x[n * D + i];
		enc_ref(xd, zr);
		for (int k = 0; k < LAT; k++)
			zerr = fmax(zerr, fabs(zr[k] - z[n * LAT + k]));
		for (int h = 0; h < HID; h++) {
			double a = b1[h];
			for (int i = 0; i < D; i++)
				a += w1[h][i] * xd[i];
			margin = fmin(margin, fabs(a));
		}
		double fd = jac_fd(x + n * D);
		mean_fd += fd / B;
		jerr = fmax(jerr, fabs(jb[n] - fd) / fd);
	}
	ok(zerr < 1e-5 && margin > 1e-4, "dg's codes are the double reference's (max diff %.2g); "
	   "pre-activations at least %.2g from the kink", zerr, margin);
	ok(jerr < 1e-5, "loglik's jac of each of %d images is ‖J‖²_F by central differences of "
	   "the reference encoder (max rel diff %.2g)", B, jerr);
	ok(fabs(j - mean_fd) <= 1e-5 * mean_fd, "the training term jac %.6f is their batch mean "
	   "%.6f", (double)j, mean_fd);
	ok(fabs(l - (r + 0.7 * mean_fd)) <= 1e-5 * l, "loss %.6f = recon %.6f + 0.7 · jac", (double)l,
	   (double)r);
out:
	dg_exec_free(e);
	if (built)
		dg_model_release(f, &m);
	dg_graph_free(g);
	dg_hparams_free(hp);
}

int main(void)
{
	struct dg_device_info info;
	test_corrupt_rules();
	test_corrupt("cpu");
	if (!dg_device_select("vulkan", &info))
		test_corrupt("vulkan");
	else
		diag("no Vulkan device (%s): the cpu device only", dg_errmsg());
	if (getenv("DG_PLUGIN_PATH"))
		test_contractive();
	else
		diag("DG_PLUGIN_PATH unset (make check sets it): the ae family is not tested");
	return done_testing();
}
