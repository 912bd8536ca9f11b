/* t_families.c — the ae, vae and classifier families (plugins/ae.c,
 * plugins/vae.c, plugins/classifier.c),
 * loaded through the plugin loader as dg-train loads them.
 *
 * Each family is built for 1×28×28 Fashion-MNIST batches of 32, compiled
 * on the cpu device and trained for a few hundred Adam steps on a slice of
 * the real data; the loss must fall well below its start.  The VAE's
 * numbers are then checked against a double-precision C reference computed
 * from its parameters read back: the KL term exactly, the reconstruction
 * term by Monte Carlo within a bound from the draws' own spread, and the
 * decoder's means.  The IWAE bound is checked statistically (k=1 agrees
 * with the ELBO in mean; k=16 is tighter), β is checked to scale the KL
 * term, and the refusals (ae sampling, a CVAE without classes, conv on
 * odd sizes) to say why.  The classifier, trained a little, is rebuilt
 * for inference with its weights and running statistics: its features
 * and logits have their shapes, and its per-image terms (nll, correct,
 * entropy) agree with a double reference computed from the logits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"
#include "tap.h"

#define B 32
#define SIDE 28
#define D (SIDE * SIDE)
#define NDATA 2048

static float *images;    /* NDATA×D in [0,1] */
static int32_t *labels;  /* NDATA */

/* ---- helpers ------------------------------------------------------------------ */

static int contains(const char *hay, const char *needle)
{
	int r = hay && strstr(hay, needle) != NULL;
	if (!r)
		diag("  '%s' lacks '%s'", hay ? hay : "(null)", needle);
	return r;
}

static int load_data(void)
{
	struct dg_dataset *ds = NULL;
	struct dg_dataset_options opt = {.limit = NDATA};
	struct dg_array *im = NULL, *lb = NULL;
	if (dg_dataset_open("fashion-mnist", &opt, &ds) ||
	    dg_dataset_read(ds, NDATA, &im, &lb) || !im || !lb || im->dims[0] != NDATA) {
		diag("fashion-mnist: %s", dg_errmsg());
		dg_dataset_close(ds);
		return -1;
	}
	images = malloc(sizeof(float) * NDATA * D);
	labels = malloc(sizeof(int32_t) * NDATA);
	memcpy(images, im->data, sizeof(float) * NDATA * D);
	memcpy(labels, lb->data, sizeof(int32_t) * NDATA);
	dg_array_free(im);
	dg_array_free(lb);
	dg_dataset_close(ds);
	return 0;
}

/* A model of family f with --set assignments sets (NULL-terminated). */
struct fixture {
	const struct dg_family *f;
	struct dg_hparams *hp;
	struct dg_graph *g;
	struct dg_model m;
	int built;
};

static int setup(struct fixture *fx, const char *family, const char *const *sets,
		 unsigned classes, unsigned side, uint64_t seed)
{
	memset(fx, 0, sizeof *fx);
	if (dg_family_load(family, &fx->f) || dg_hparams_new(fx->f, &fx->hp))
		return -1;
	for (; sets && *sets; sets++)
		if (dg_hparams_set(fx->hp, *sets))
			return -1;
	fx->g = dg_graph_new(seed);
	struct dg_model_spec spec = {.channels = 1, .height = side, .width = side,
				     .classes = classes, .batch = B, .training = 1};
	int st = dg_model_build(fx->f, &fx->m, fx->g, fx->hp, &spec);
	fx->built = 1;
	return st;
}

static void teardown(struct fixture *fx)
{
	if (fx->built)
		dg_model_release(fx->f, &fx->m);
	dg_graph_free(fx->g);
	dg_hparams_free(fx->hp);
}

/* Feeds batch i of the slice (x, and y if the model has labels). */
static int feed(struct dg_exec *e, const struct dg_model *m, unsigned i)
{
	size_t off = (size_t)(i % (NDATA / B)) * B;
	int st = dg_exec_feed(e, "x", DG_F32, images + off * D, (uint64_t)B * D);
	if (!st && m->y.id)
		st = dg_exec_feed(e, "y", DG_I32, labels + off, B);
	return st;
}

/* Trains steps Adam steps (lr 1e-3) and returns the mean loss of the
 * first and the last ten, or -1. */
static int train(struct fixture *fx, unsigned steps, double *first, double *last)
{
	struct dg_optim opt = {.kind = DG_ADAM, .lr = 1e-3f};
	const struct dg_phase *ph = dg_model_phase_at(&fx->m, 0);
	int upd = dg_optimize(fx->g, ph->loss, ph->groups, &opt);
	struct dg_exec *e = NULL;
	if (upd <= 0 || dg_compile(fx->g, "cpu", 1, &ph->loss, 1, &upd, &e)) {
		diag("  %s", dg_errmsg());
		return -1;
	}
	*first = *last = 0;
	for (unsigned i = 0; i < steps; i++) {
		if (feed(e, &fx->m, i) || dg_exec_run(e)) {
			diag("  step %u: %s", i, dg_errmsg());
			dg_exec_free(e);
			return -1;
		}
		double l = dg_exec_scalar(e, 0);
		if (i < 10)
			*first += l / 10;
		if (i >= steps - 10)
			*last += l / 10;
		if (i % 50 == 0 || i == steps - 1)
			diag("  step %3u loss %.2f", i, l);
	}
	dg_exec_free(e);
	return 0;
}

static int train_falls(struct fixture *fx, unsigned steps, double ratio, const char *what)
{
	double first = NAN, last = NAN;
	int st = train(fx, steps, &first, &last);
	return ok(st == 0 && isfinite(last) && last < ratio * first,
		  "%s: %u Adam steps take the loss from %.1f to %.1f (< %.0f%%)", what, steps,
		  first, last, 100 * ratio);
}

/* ---- hyperparameter tables ------------------------------------------------------ */

static void test_tables(void)
{
	const struct dg_family *f = NULL;
	struct dg_hparams *hp = NULL;
	is_int(dg_family_load("vae", &f), 0, "vae loads through DG_PLUGIN_PATH");
	if (f && !dg_hparams_new(f, &hp)) {
		static const char *const want[][2] = {
			{"arch", "mlp"},   {"hidden", "400"}, {"latent", "20"},
			{"likelihood", "bernoulli"}, {"beta", "1"}, {"conditional", "0"},
			{"iwae_k", "1"}, {"noise", "none"}, {"noise_level", "0.25"},
			{"dfc", ""}, {"dfc_weight", "1"},
		};
		is_int((long long)dg_hparams_count(hp), 11, "  eleven hyperparameters");
		for (size_t i = 0; i < 11 && i < dg_hparams_count(hp); i++) {
			is_str(dg_hparams_row(hp, i)->name, want[i][0], "  row %zu", i);
			is_str(dg_hparams_text(hp, i), want[i][1], "  %s defaults to %s",
			       want[i][0], want[i][1]);
			ok(dg_hparams_row(hp, i)->help && *dg_hparams_row(hp, i)->help,
			   "  %s has help", want[i][0]);
		}
		is_int(dg_hparams_set(hp, "likelihood=poisson"), DG_EUSAGE,
		       "  unknown likelihood refused");
		ok((f->caps & (DG_CAP_ENCODE | DG_CAP_DECODE | DG_CAP_SAMPLE_LATENT |
			       DG_CAP_LIKELIHOOD)) == (DG_CAP_ENCODE | DG_CAP_DECODE |
						       DG_CAP_SAMPLE_LATENT | DG_CAP_LIKELIHOOD),
		   "  encodes, decodes, samples latents, has a likelihood");
		dg_hparams_free(hp);
		hp = NULL;
	}
	f = NULL;
	is_int(dg_family_load("ae", &f), 0, "ae loads");
	if (f && !dg_hparams_new(f, &hp)) {
		is_int((long long)dg_hparams_count(hp), 7, "  seven hyperparameters");
		is_str(dg_hparams_row(hp, 3)->name, "loss", "  loss");
		is_str(dg_hparams_text(hp, 3), "mse", "  mse by default");
		is_str(dg_hparams_row(hp, 4)->name, "noise", "  noise");
		is_str(dg_hparams_text(hp, 4), "none", "  none by default: a plain ae");
		is_str(dg_hparams_row(hp, 6)->name, "contractive", "  contractive");
		is_str(dg_hparams_text(hp, 6), "0", "  0 by default");
		ok(!(f->caps & (DG_CAP_SAMPLE_LATENT | DG_CAP_SAMPLE_DATA)),
		   "  does not claim to sample");
		dg_hparams_free(hp);
	}
}

/* ---- the C reference ----------------------------------------------------------- */

struct ref {
	struct dg_array *w[10]; /* enc.fc1 w,b, enc.mu w,b, enc.logvar w,b, dec.fc1 w,b, dec.out w,b */
	int ok;
};
static const char *const ref_names[10] = {
	"enc.fc1.w", "enc.fc1.b", "enc.mu.w", "enc.mu.b", "enc.logvar.w", "enc.logvar.b",
	"dec.fc1.w", "dec.fc1.b", "dec.out.w", "dec.out.b",
};

static void ref_load(struct ref *r, struct dg_graph *g)
{
	r->ok = 1;
	for (int i = 0; i < 10; i++)
		r->ok &= dg_var_get(g, ref_names[i], &r->w[i]) == 0;
}

static void ref_free(struct ref *r)
{
	for (int i = 0; i < 10; i++)
		dg_array_free(r->w[i]);
}

/* out = act(W·in + b), W rows×cols as f32. */
static void affine(const struct dg_array *w, const struct dg_array *b, const double *in,
		   double *out, int relu)
{
	uint64_t rows = w->dims[0], cols = w->dims[1];
	const float *W = w->data, *bb = b->data;
	for (uint64_t i = 0; i < rows; i++) {
		double s = bb[i];
		for (uint64_t j = 0; j < cols; j++)
			s += (double)W[i * cols + j] * in[j];
		out[i] = relu && s < 0 ? 0 : s;
	}
}

static void ref_encode(const struct ref *r, const float *x, double *mu, double *lv)
{
	double in[D], h[400];
	for (int j = 0; j < D; j++)
		in[j] = x[j];
	affine(r->w[0], r->w[1], in, h, 1);
	affine(r->w[2], r->w[3], h, mu, 0);
	affine(r->w[4], r->w[5], h, lv, 0);
}

static void ref_logits(const struct ref *r, const double *z, double *logits)
{
	double h[400];
	affine(r->w[6], r->w[7], z, h, 1);
	affine(r->w[8], r->w[9], h, logits, 0);
}

/* -log p(x|z) for the Bernoulli decoder: Σ softplus(l) - x·l. */
static double ref_rec(const struct ref *r, const float *x, const double *z)
{
	double l[D], s = 0;
	ref_logits(r, z, l);
	for (int j = 0; j < D; j++)
		s += (l[j] > 0 ? l[j] + log1p(exp(-l[j])) : log1p(exp(l[j]))) - x[j] * l[j];
	return s;
}

/* ---- the VAE -------------------------------------------------------------------- */

/* Runs loglik (k draws) on the first n training images; returns its
 * exec (outputs nelbo, rec, kl, iwae) or NULL. */
static struct dg_exec *loglik_exec(struct fixture *fx, const char *input, uint64_t n,
				   unsigned k)
{
	dg_tensor x = dg_input(fx->g, input, DG_F32, DG_SHAPE(n, 1, SIDE, SIDE));
	struct dg_term t[DG_MAX_TERMS];
	unsigned nt = 0;
	struct dg_exec *e = NULL;
	if (fx->f->loglik(&fx->m, x, DG_NONE, k, t, &nt) || nt != 4) {
		diag("  loglik: %s", dg_graph_error(fx->g));
		return NULL;
	}
	dg_tensor outs[4] = {t[0].value, t[1].value, t[2].value, t[3].value};
	if (dg_compile(fx->g, "cpu", 4, outs, 0, NULL, &e) ||
	    dg_exec_feed(e, input, DG_F32, images, n * D)) {
		diag("  %s", dg_errmsg());
		dg_exec_free(e);
		return NULL;
	}
	return e;
}

#define NREF 8
#define KREF 256

/* The loglik terms of NREF images against the C reference. */
static void check_reference(struct fixture *fx)
{
	struct ref r = {0};
	ref_load(&r, fx->g);
	struct dg_exec *e = loglik_exec(fx, "xref", NREF, KREF);
	if (!ok(r.ok && e, "reference: weights read back, loglik compiled")) {
		ref_free(&r);
		dg_exec_free(e);
		return;
	}
	float got[4][NREF];
	int st = dg_exec_run(e);
	for (int t = 0; t < 4 && !st; t++)
		st = dg_exec_read(e, (size_t)t, got[t], NREF);
	is_int(st, 0, "loglik runs on %d images with k=%d", NREF, KREF);
	double kl_err = 0, z_sum = 0, rec_g = 0, rec_c = 0, var = 0;
	float eps[KREF * 20];
	for (int i = 0; i < NREF && !st; i++) {
		double mu[20], lv[20], kl = 0;
		ref_encode(&r, images + (size_t)i * D, mu, lv);
		for (int j = 0; j < 20; j++)
			kl += 0.5 * (mu[j] * mu[j] + exp(lv[j]) - 1 - lv[j]);
		kl_err = fmax(kl_err, fabs(kl - got[2][i]) / fmax(1, kl));
		/* Monte Carlo of -E_q log p(x|z) with draws of our own. */
		dg_rng_normal(99, (uint64_t)i, 0, eps, KREF * 20);
		double s = 0, s2 = 0;
		for (int d = 0; d < KREF; d++) {
			double z[20];
			for (int j = 0; j < 20; j++)
				z[j] = mu[j] + exp(0.5 * lv[j]) * eps[d * 20 + j];
			double v = ref_rec(&r, images + (size_t)i * D, z);
			s += v;
			s2 += v * v;
		}
		double mean = s / KREF;
		rec_c += mean / NREF;
		rec_g += got[1][i] / NREF;
		var += (s2 / KREF - mean * mean) / NREF / NREF; /* of the mean over images */
		z_sum += fabs(got[0][i] - (got[1][i] + got[2][i]));
	}
	ok(kl_err < 1e-4, "kl per image matches the double reference (rel. error %.2g)", kl_err);
	/* Both sides average KREF draws: the difference's standard error is
	 * sqrt(2·var/KREF); 5 of those, plus float rounding of ~300 nats. */
	double tol = 5 * sqrt(2 * var / KREF) + 1e-3 * fabs(rec_c);
	ok(fabs(rec_g - rec_c) < tol,
	   "rec matches a Monte Carlo reference: %.3f vs %.3f nats (tolerance %.3f)", rec_g,
	   rec_c, tol);
	ok(z_sum < 1e-3 * NREF * fabs(rec_c), "nelbo = rec + kl");
	ref_free(&r);
	dg_exec_free(e);

	/* The decoder's means, deterministic, against the reference. */
	ref_load(&r, fx->g);
	dg_tensor z = dg_input(fx->g, "zref", DG_F32, DG_SHAPE(2, 20)), img;
	e = NULL;
	st = fx->f->decode(&fx->m, z, DG_NONE, &img) ||
	     dg_compile(fx->g, "cpu", 1, &img, 0, NULL, &e);
	float zs[40], out[2 * D];
	dg_rng_normal(5, 0, 0, zs, 40);
	st = st || dg_exec_feed(e, "zref", DG_F32, zs, 40) || dg_exec_run(e) ||
	     dg_exec_read(e, 0, out, 2 * D);
	double err = 0;
	for (int i = 0; i < 2 && !st && r.ok; i++) {
		double zd[20], l[D];
		for (int j = 0; j < 20; j++)
			zd[j] = zs[i * 20 + j];
		ref_logits(&r, zd, l);
		for (int j = 0; j < D; j++)
			err = fmax(err, fabs(1 / (1 + exp(-l[j])) - out[i * D + j]));
	}
	ok(!st && r.ok && err < 1e-4, "decode = sigmoid(logits) of the reference (max error %.2g)",
	   err);
	ref_free(&r);
	dg_exec_free(e);
}

/* Mean and standard error of a - b over runs of an exec on n images. */
static int run_diff(struct dg_exec *e, unsigned runs, size_t ia, size_t ib, uint64_t n,
		    double *mean, double *se, double *ma, double *mb)
{
	double s = 0, s2 = 0, sa = 0, sb = 0;
	float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
	int st = 0;
	for (unsigned r = 0; r < runs && !st; r++) {
		st = dg_exec_run(e) || dg_exec_read(e, ia, a, n) || dg_exec_read(e, ib, b, n);
		for (uint64_t i = 0; i < n && !st; i++) {
			double d = (double)a[i] - b[i];
			s += d;
			s2 += d * d;
			sa += a[i];
			sb += b[i];
		}
	}
	double N = (double)runs * (double)n;
	*mean = s / N;
	*se = sqrt(fmax(0, s2 / N - *mean * *mean) / N);
	*ma = sa / N;
	*mb = sb / N;
	free(a);
	free(b);
	return st;
}

static void check_iwae(struct fixture *fx)
{
	double mean = NAN, se = NAN, nelbo = NAN, iwae = NAN;
	struct dg_exec *e = loglik_exec(fx, "x1", B, 1);
	int st = !e || run_diff(e, 40, 3, 0, B, &mean, &se, &iwae, &nelbo);
	ok(!st && fabs(mean) < 4 * se + 1e-3,
	   "k=1: IWAE and -ELBO agree in mean (%.2f vs %.2f nats, diff %.3f ± %.3f)", iwae,
	   nelbo, mean, se);
	dg_exec_free(e);
	e = loglik_exec(fx, "x16", B, 16);
	st = !e || run_diff(e, 10, 0, 3, B, &mean, &se, &nelbo, &iwae);
	ok(!st && mean > 4 * se && mean > 0,
	   "k=16: IWAE bound tighter than the ELBO (%.2f < %.2f nats, by %.2f ± %.2f)", iwae,
	   nelbo, mean, se);
	diag("  on the slice: -ELBO %.2f, IWAE(16) %.2f nats per image", nelbo, iwae);
	dg_exec_free(e);
}

static void test_vae(void)
{
	struct fixture fx;
	int st = setup(&fx, "vae", NULL, 0, SIDE, 42);
	is_int(st, 0, "vae builds for 32x1x28x28");
	if (st) {
		diag("  %s", dg_errmsg());
		teardown(&fx);
		return;
	}
	is_int(fx.m.latent_dim, 20, "  latent 20");
	ok(fx.m.prior == DG_PRIOR_GAUSSIAN, "  Gaussian prior");
	is_int(dg_model_term_count(&fx.m), 3, "  three terms");
	ok(dg_model_term_count(&fx.m) == 3 &&
		   !strcmp(dg_model_term_at(&fx.m, 0, NULL)->name, "loss") &&
		   !strcmp(dg_model_term_at(&fx.m, 1, NULL)->name, "recon") &&
		   !strcmp(dg_model_term_at(&fx.m, 2, NULL)->name, "kl"),
	   "  named loss, recon, kl");
	int nparams = 0;
	for (size_t i = 0; i < dg_var_count(fx.g); i++)
		nparams += dg_var_kind(fx.g, i) == DG_VAR_PARAM;
	is_int(nparams, 10, "  784-400-20-400-784: ten parameters");
	train_falls(&fx, 300, 0.65, "vae");
	check_reference(&fx);
	check_iwae(&fx);

	dg_tensor code, drawn, s;
	dg_tensor x = dg_input(fx.g, "xe", DG_F32, DG_SHAPE(4, 1, SIDE, SIDE));
	ok(fx.f->encode(&fx.m, x, DG_NONE, &code, &drawn) == 0 && drawn.id &&
		   dg_dim(fx.g, code, 1) == 20,
	   "encode gives the posterior mean and a draw");
	ok(fx.f->sample(&fx.m, 5, 0.5f, DG_NONE, &s) == 0 && dg_dim(fx.g, s, 0) == 5 &&
		   dg_dim(fx.g, s, 1) == 20,
	   "sample draws 5 latent codes");
	teardown(&fx);
}

/* The terms of one forward pass on batch 0 (no update). */
static int terms_once(struct fixture *fx, double *v)
{
	struct dg_exec *e = NULL;
	dg_tensor outs[3] = {dg_model_term_at(&fx->m, 0, NULL)->value,
			     dg_model_term_at(&fx->m, 1, NULL)->value,
			     dg_model_term_at(&fx->m, 2, NULL)->value};
	int st = dg_compile(fx->g, "cpu", 3, outs, 0, NULL, &e) || feed(e, &fx->m, 0) ||
		 dg_exec_run(e);
	for (int i = 0; i < 3; i++)
		v[i] = st ? NAN : dg_exec_scalar(e, (size_t)i);
	dg_exec_free(e);
	return st;
}

static void test_beta(void)
{
	struct fixture a, b;
	static const char *const beta4[] = {"beta=4", NULL};
	double ta[3], tb[3];
	int st = setup(&a, "vae", NULL, 0, SIDE, 9) || terms_once(&a, ta);
	st = st || setup(&b, "vae", beta4, 0, SIDE, 9) || terms_once(&b, tb);
	ok(!st && fabs(ta[2] - tb[2]) < 1e-4 * fabs(ta[2]) + 1e-6,
	   "beta=4 leaves the KL term as is (same seed): %.4f", tb[2]);
	ok(!st && fabs(ta[0] - ta[1] - ta[2]) < 1e-3 * fabs(ta[0]),
	   "beta=1: loss = recon + kl (%.3f = %.3f + %.3f)", ta[0], ta[1], ta[2]);
	ok(!st && fabs(tb[0] - tb[1] - 4 * tb[2]) < 1e-3 * fabs(tb[0]),
	   "beta=4: loss = recon + 4 kl (%.3f = %.3f + 4 x %.3f)", tb[0], tb[1], tb[2]);
	teardown(&a);
	teardown(&b);
}

static void test_variants(void)
{
	struct fixture fx;
	static const char *const cond[] = {"conditional=1", NULL};
	int st = setup(&fx, "vae", cond, 10, SIDE, 3);
	is_int(st, 0, "a CVAE builds on labelled data (10 classes)");
	if (!st) {
		train_falls(&fx, 100, 0.8, "cvae");
		dg_tensor z = dg_input(fx.g, "zc", DG_F32, DG_SHAPE(2, 20)), img;
		is_int(fx.f->decode(&fx.m, z, DG_NONE, &img), DG_EUSAGE,
		       "  its decoder refuses to run without labels");
		ok(contains(dg_graph_error(fx.g), "labels"), "  and says so");
	}
	teardown(&fx);
	st = setup(&fx, "vae", cond, 0, SIDE, 3);
	is_int(st, DG_EUSAGE, "a CVAE refuses to build without a class count");
	ok(contains(dg_errmsg(), "labelled data"), "  and says why");
	teardown(&fx);

	static const char *const conv[] = {"arch=conv", NULL};
	st = setup(&fx, "vae", conv, 0, SIDE, 4);
	is_int(st, 0, "arch=conv builds for 28x28");
	if (!st)
		train_falls(&fx, 100, 0.8, "conv vae");
	teardown(&fx);
	st = setup(&fx, "vae", conv, 0, 30, 4);
	is_int(st, DG_EUSAGE, "arch=conv refuses 30x30");
	ok(contains(dg_errmsg(), "divisible by 4"), "  and says why");
	teardown(&fx);

	static const char *const gauss[] = {"likelihood=gaussian", NULL};
	st = setup(&fx, "vae", gauss, 0, SIDE, 5);
	is_int(st, 0, "likelihood=gaussian builds");
	if (!st) { /* a Gaussian NLL can go below 0: ask for a fall in nats */
		double first = NAN, last = NAN;
		st = train(&fx, 100, &first, &last);
		ok(!st && last < first - 150, "gaussian vae: 100 steps take the loss from %.1f to %.1f",
		   first, last);
	}
	teardown(&fx);

	static const char *const iw[] = {"iwae_k=5", NULL};
	st = setup(&fx, "vae", iw, 0, SIDE, 6);
	is_int(st, 0, "iwae_k=5 builds");
	if (!st)
		train_falls(&fx, 100, 0.8, "iwae k=5");
	teardown(&fx);
}

static void test_ae(void)
{
	static const char *const sets[][2] = {{"loss=mse", NULL}, {"loss=bce", NULL}};
	for (int i = 0; i < 2; i++) {
		struct fixture fx;
		int st = setup(&fx, "ae", sets[i], 0, SIDE, 11);
		is_int(st, 0, "ae builds (%s)", sets[i][0]);
		if (!st) {
			is_int(fx.m.latent_dim, 20, "  latent 20");
			ok(fx.m.prior == DG_PRIOR_NONE, "  no prior");
			train_falls(&fx, 200, i ? 0.65 : 0.5, sets[i][0]);
			dg_tensor out;
			is_int(fx.f->sample(&fx.m, 4, 1, DG_NONE, &out), DG_EUSAGE,
			       "  ae refuses to sample");
			ok(contains(dg_graph_error(fx.g), "no prior") &&
				   contains(dg_graph_error(fx.g), "VAE"),
			   "  explaining that it has no prior and to use a VAE");
		}
		teardown(&fx);
	}
	struct fixture fx;
	static const char *const conv[] = {"arch=conv", NULL};
	int st = setup(&fx, "ae", conv, 0, SIDE, 12);
	is_int(st, 0, "ae arch=conv builds for 28x28");
	if (!st)
		train_falls(&fx, 100, 0.6, "conv ae");
	teardown(&fx);
}

/* ---- the classifier ----------------------------------------------------------------- */

/* Builds an inference model of the classifier (training 0, batch NC2)
 * holding the trained model's parameters and running statistics. */
#define NC2 256
static int inference_copy(struct fixture *tr, const char *const *sets, struct fixture *inf)
{
	memset(inf, 0, sizeof *inf);
	if (dg_family_load("classifier", &inf->f) || dg_hparams_new(inf->f, &inf->hp))
		return -1;
	for (; sets && *sets; sets++)
		if (dg_hparams_set(inf->hp, *sets))
			return -1;
	inf->g = dg_graph_new(1);
	struct dg_model_spec spec = {.channels = 1, .height = SIDE, .width = SIDE,
				     .classes = 10, .batch = NC2, .training = 0};
	if (dg_model_build(inf->f, &inf->m, inf->g, inf->hp, &spec))
		return -1;
	inf->built = 1;
	for (size_t i = 0; i < dg_var_count(inf->g); i++) {
		enum dg_var_kind k = dg_var_kind(inf->g, i);
		struct dg_array *a = NULL;
		const char *name = dg_var_name(inf->g, i);
		if (k != DG_VAR_PARAM && k != DG_VAR_BUFFER)
			continue;
		int st = dg_var_get(tr->g, name, &a) || dg_var_set(inf->g, name, a);
		dg_array_free(a);
		if (st)
			return -1;
	}
	return 0;
}

/* The classifier's network for inference written with the layer
 * library's batch norm (running statistics), on the same parameters: what
 * the family's classify() computes with the norms folded into its
 * convolutions.  Returns the logits; *feat the features. */
static dg_tensor unfolded(struct dg_graph *g, dg_tensor x, uint64_t w, dg_tensor *feat)
{
	struct dg_nn nn;
	dg_nn_init(&nn, g, 0);
	const struct dg_nn_opt *conv = DG_NN_OPT(.init = DG_NN_INIT_HE_UNIFORM,
						 .flags = DG_NN_NO_BIAS);
	const struct dg_nn_opt *relu = DG_NN_OPT(.act = DG_ACT_RELU);
	static const char *const cn[4] = {"conv1", "conv2", "conv3", "conv4"};
	static const char *const bn[4] = {"bn1", "bn2", "bn3", "bn4"};
	for (int i = 0; i < 4; i++) {
		x = dg_nn_batch_norm(&nn, bn[i], dg_nn_conv2d(&nn, cn[i], x, i < 2 ? w : 2 * w, 3,
							      1, 1, conv), relu);
		if (i % 2)
			x = dg_max_pool(g, x, 2);
	}
	*feat = dg_nn_batch_norm(&nn, "bn5", dg_nn_dense(&nn, "fc", dg_flatten(g, x), 128, conv),
				 relu);
	return dg_nn_dense(&nn, "out", *feat, 10, NULL);
}

static void test_classifier(void)
{
	struct fixture fx, inf;
	static const char *const small[] = {"width=8", NULL};
	const struct dg_family *f = NULL;
	is_int(dg_family_load("classifier", &f), 0, "classifier loads");
	ok(f && (f->caps & DG_CAP_CLASSIFY) && f->classify &&
	   f->struct_size >= DG_FAMILY_SIZE_CLASSIFY &&
	   !(f->caps & (DG_CAP_SAMPLE_LATENT | DG_CAP_SAMPLE_DATA | DG_CAP_ENCODE)),
	   "  classifies (classify() within its struct_size), neither samples nor encodes");
	int st = setup(&fx, "classifier", small, 10, SIDE, 31);
	is_int(st, 0, "classifier builds for 32x1x28x28, 10 classes");
	if (st) {
		diag("  %s", dg_errmsg());
		teardown(&fx);
		return;
	}
	int nparams = 0;
	for (size_t i = 0; i < dg_var_count(fx.g); i++)
		nparams += dg_var_kind(fx.g, i) == DG_VAR_PARAM;
	is_int(nparams, 17, "  4 convolutions, 5 batch norms, fc, out: 17 parameters");
	ok(dg_model_term_count(&fx.m) == 2 &&
	   !strcmp(dg_model_term_at(&fx.m, 1, NULL)->name, "accuracy"),
	   "  reports loss and accuracy");
	train_falls(&fx, 150, 0.5, "classifier (width 8)");

	/* inference: running statistics, no dropout; features after a ReLU */
	st = inference_copy(&fx, small, &inf);
	ok(!st, "an inference model takes the trained weights and statistics");
	dg_tensor x = dg_input(inf.g, "xc", DG_F32, DG_SHAPE(NC2, 1, SIDE, SIDE));
	dg_tensor y = dg_input(inf.g, "yc", DG_I32, DG_SHAPE(NC2));
	dg_tensor feat = DG_NONE, logits = DG_NONE;
	struct dg_term t[DG_MAX_TERMS];
	unsigned nt = 0;
	struct dg_exec *e = NULL;
	st = st || inf.f->classify(&inf.m, x, &feat, &logits) ||
	     inf.f->loglik(&inf.m, x, y, 1, t, &nt) || nt != 3;
	ok(!st && dg_dim(inf.g, feat, 1) == 128 && dg_dim(inf.g, logits, 1) == 10,
	   "  classify: 128 features and 10 logits per image");
	ok(!st && !strcmp(t[0].name, "nll") && !strcmp(t[1].name, "correct") &&
	   !strcmp(t[2].name, "entropy"), "  loglik with labels: nll, correct, entropy");
	dg_tensor ufeat = DG_NONE, ulogits = st ? DG_NONE : unfolded(inf.g, x, 8, &ufeat);
	dg_tensor outs[7] = {feat, logits, t[0].value, t[1].value, t[2].value, ufeat, ulogits};
	st = st || dg_compile(inf.g, "cpu", 7, outs, 0, NULL, &e) ||
	     dg_exec_feed(e, "xc", DG_F32, images, (uint64_t)NC2 * D) ||
	     dg_exec_feed(e, "yc", DG_I32, labels, NC2) || dg_exec_run(e);
	float *fv = malloc(sizeof(float) * NC2 * 128), lv[NC2 * 10], nll[NC2], cor[NC2],
	      ent[NC2], *uf = malloc(sizeof(float) * NC2 * 128), ul[NC2 * 10];
	st = st || dg_exec_read(e, 0, fv, NC2 * 128) || dg_exec_read(e, 1, lv, NC2 * 10) ||
	     dg_exec_read(e, 2, nll, NC2) || dg_exec_read(e, 3, cor, NC2) ||
	     dg_exec_read(e, 4, ent, NC2) || dg_exec_read(e, 5, uf, NC2 * 128) ||
	     dg_exec_read(e, 6, ul, NC2 * 10);
	double ferr = 0, fmaxv = 0, lerr = 0, lmaxv = 0;
	for (int i = 0; i < NC2 * 128 && !st; i++) {
		ferr = fmax(ferr, fabs(fv[i] - uf[i]));
		fmaxv = fmax(fmaxv, fabs(uf[i]));
	}
	for (int i = 0; i < NC2 * 10 && !st; i++) {
		lerr = fmax(lerr, fabs(lv[i] - ul[i]));
		lmaxv = fmax(lmaxv, fabs(ul[i]));
	}
	ok(!st && ferr <= 1e-5 * fmaxv && lerr <= 1e-5 * lmaxv,
	   "  batch norm folded into the convolutions = the layers' batch norm (features "
	   "within %.2g of %.3g, logits %.2g of %.3g)", ferr, fmaxv, lerr, lmaxv);
	free(uf);
	int neg = 0, right = 0, agree = 1, sane = 1;
	for (int i = 0; i < NC2 * 128 && !st; i++)
		neg += fv[i] < 0;
	for (int i = 0; i < NC2 && !st; i++) {
		int best = 0;
		double m = -INFINITY, z = 0;
		for (int k = 0; k < 10; k++)
			if (lv[i * 10 + k] > lv[i * 10 + best])
				best = k;
		for (int k = 0; k < 10; k++)
			m = fmax(m, lv[i * 10 + k]);
		for (int k = 0; k < 10; k++)
			z += exp(lv[i * 10 + k] - m);
		double want = m + log(z) - lv[i * 10 + labels[i]]; /* -log softmax */
		right += best == labels[i];
		agree &= cor[i] == (best == labels[i]);
		sane &= fabs(nll[i] - want) < 1e-4 * fmax(1, want) && ent[i] >= -1e-6 &&
			ent[i] <= log(10) + 1e-5;
	}
	ok(!st && neg == 0, "  features are non-negative (after the ReLU)");
	ok(!st && agree && sane, "  correct = argmax is the label; nll = -log softmax of the "
	   "label's logit (double reference); 0 <= entropy <= log 10");
	ok(!st && right > NC2 * 6 / 10, "  %d of %d training images right after 150 steps", right,
	   NC2);
	free(fv);
	dg_exec_free(e);
	teardown(&inf);
	teardown(&fx);

	st = setup(&fx, "classifier", NULL, 0, SIDE, 3);
	is_int(st, DG_EUSAGE, "a classifier refuses data without labels");
	ok(contains(dg_errmsg(), "labelled data"), "  and says why");
	teardown(&fx);
	st = setup(&fx, "classifier", NULL, 10, 30, 3);
	is_int(st, DG_EUSAGE, "and sides not divisible by 4 (30x30)");
	ok(contains(dg_errmsg(), "divisible by 4"), "  saying so");
	teardown(&fx);
}

/* ---- loglik in chunks (dg-eval) ---------------------------------------------------- */

/* loglik() of the vae built with seed 21 on NC images and k draws, with
 * DG_LOGLIK_CHUNK_BYTES set to chunk (NULL: unset); its four outputs
 * into out[4][NC] and the planned arena into *peak.  Same seed, same
 * parameters and the same noise, so only the chunking differs. */
#define NC 4
static int loglik_chunked(const char *chunk, unsigned k, float out[4][NC], uint64_t *peak)
{
	struct fixture fx;
	struct dg_exec_stats stats;
	int st;
	if (chunk)
		setenv("DG_LOGLIK_CHUNK_BYTES", chunk, 1);
	else
		unsetenv("DG_LOGLIK_CHUNK_BYTES");
	st = setup(&fx, "vae", NULL, 0, SIDE, 21);
	struct dg_exec *e = st ? NULL : loglik_exec(&fx, "xc", NC, k);
	st = !e || dg_exec_run(e);
	for (size_t i = 0; i < 4 && !st; i++)
		st = dg_exec_read(e, i, out[i], NC);
	if (e) {
		dg_exec_stats(e, &stats);
		*peak = stats.peak_bytes;
	}
	dg_exec_free(e);
	teardown(&fx);
	unsetenv("DG_LOGLIK_CHUNK_BYTES");
	return st;
}

static void test_loglik_chunks(void)
{
	/* 7 draws of NC images per chunk: 50 = 7 chunks of 7 and one of 1 */
	char seven[32];
	snprintf(seven, sizeof seven, "%d", 7 * NC * D * 4);
	float a[4][NC], b[4][NC];
	uint64_t pa = 0, pb = 0;
	int st = loglik_chunked(NULL, 50, a, &pa) || loglik_chunked(seven, 50, b, &pb);
	double err = 0;
	for (int t = 0; t < 4 && !st; t++)
		for (int i = 0; i < NC; i++)
			err = fmax(err, fabs((double)a[t][i] - b[t][i]) / fmax(1, fabs(a[t][i])));
	ok(!st && err < 2e-6, "loglik k=50 in chunks of 7 draws = in one (rel. error %.2g)", err);
	ok(!st && b[3][0] <= b[0][0] + 1 && fabs(b[0][0] - b[1][0] - b[2][0]) < 1e-3 * b[0][0],
	   "  iwae %.2f, nelbo %.2f = rec %.2f + kl %.2f", b[3][0], b[0][0], b[1][0], b[2][0]);
	/* k = 400: one chunk holds 400·NC·D floats per k×n×d tensor (5 MB);
	 * chunks of 7 draws must plan far less */
	st = loglik_chunked(NULL, 400, a, &pa) || loglik_chunked(seven, 400, b, &pb);
	ok(!st && pb * 10 < pa && pb < 2u << 20,
	   "  k=400: chunks of 7 plan %.2f MB against %.2f MB at once",
	   (double)pb / 1048576, (double)pa / 1048576);
	err = 0;
	for (int t = 0; t < 4 && !st; t++)
		for (int i = 0; i < NC; i++)
			err = fmax(err, fabs((double)a[t][i] - b[t][i]) / fmax(1, fabs(a[t][i])));
	ok(!st && err < 1e-5, "  and the same values (rel. error %.2g)", err);
}

int main(void)
{
	if (!getenv("DG_PLUGIN_PATH")) {
		printf("1..0 # SKIP DG_PLUGIN_PATH is set by make check\n");
		return 0;
	}
	if (load_data()) {
		printf("1..0 # SKIP fashion-mnist is not installed\n");
		return 0;
	}
	test_tables();
	test_vae();
	test_beta();
	test_variants();
	test_ae();
	test_classifier();
	test_loglik_chunks();
	free(images);
	free(labels);
	return done_testing();
}
