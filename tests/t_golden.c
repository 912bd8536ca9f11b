/* t_golden.c — every family's training step against PyTorch, as llm.c's
 * test_gpt2.c checks GPT-2: for each reference tests/data/golden/<family>-<config>.dgt
 * (written once by tests/golden/<family>.py; format in golden.py), on the
 * cpu device and on Vulkan, build the family's training graph with the
 * file's hyperparameters and batch, set the initial parameters PyTorch
 * drew, run one step on the recorded batch and compare the loss, the
 * reported terms and every parameter's gradient; then the losses of the
 * next ten Adam steps (lr 1e-3, dg's default) on the same batch.  The
 * families' noise comes from the graph's own generator, which the scripts
 * reproduce through libdg: a model, a loss or a noise that diverges from
 * PyTorch's fails here.  A family of several phases (gan) is checked
 * phase by phase, each with its family's optimizer (check_phases).
 *
 * Tolerances.  Both sides compute in float32 but not in the same order or
 * with the same formulas (PyTorch's BCE is max(l,0) - l·y + log1p(e^-|l|),
 * dg's softplus(l) - l·y; oneDNN and PyTorch block their sums differently).
 * A float32 sum of n terms carries a relative error of about √n·2^-24
 * typically and n·2^-24 at worst: for the 512 terms of a loss over a batch
 * of 8 images of 64 pixels, or the 784 of a 28x28 image, that is 1e-6 to
 * 5e-5 of the sum of magnitudes.  So: the first loss and terms within 1e-5
 * relative; gradients within 1e-4 of the largest magnitude in the tensor
 * (they pass through up to six layers of such sums, forward and back,
 * and near-cancelling elements have no better relative accuracy than
 * that); the ten later losses within 1e-5 relative, Adam having turned the
 * gradients' own differences into parameter differences of a few lr·1e-4.
 * The differences actually seen are printed with each test. */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"
/* The stream of a graph's random ops (libcore/graph/graph_impl.h's
 * DG_OP_STREAM | op), which the PyTorch scripts draw their noise from: a
 * contract between them and dg, written out here because this test loads
 * plugins and so must link libdg.so, not the internal archive. */
#define DG_OP_STREAM (2ull << 40)
#include "tap.h"

#define LOSS_TOL 1e-5
#define GRAD_TOL 1e-4
#define LATER_TOL 1e-5

struct rec {
	const char *kind, *name;
	struct dg_array *a;
};

struct golden {
	char file[256];
	struct rec r[256];
	size_t n;
	const struct dg_meta *config;
};

static const struct dg_array *find(const struct golden *gf, const char *kind, const char *name)
{
	for (size_t i = 0; i < gf->n; i++)
		if (!strcmp(gf->r[i].kind, kind) && (!name || !strcmp(gf->r[i].name, name)))
			return gf->r[i].a;
	return NULL;
}

static const char *cfg(const struct golden *gf, const char *key)
{
	const char *v = gf->config ? dg_meta_get(gf->config, key) : NULL;
	return v ? v : "";
}

static int load(struct golden *gf, const char *dir, const char *file)
{
	char path[1024];
	memset(gf, 0, sizeof *gf);
	snprintf(gf->file, sizeof gf->file, "%.*s", (int)(strlen(file) - 4), file);
	snprintf(path, sizeof path, "%s/%s", dir, file);
	struct dg_reader *rd = dg_reader_open(path);
	struct dg_array *a = NULL;
	int st = rd ? 0 : -1;
	while (!st && !(st = dg_read_array(rd, &a)) && a && gf->n < 256) {
		const char *k = dg_meta_get(a->meta, "kind"), *nm = dg_meta_get(a->meta, "name");
		gf->r[gf->n++] = (struct rec){k ? k : "", nm ? nm : "", a};
		if (k && !strcmp(k, "config"))
			gf->config = a->meta;
	}
	if (st)
		diag("%s: %s", path, dg_errmsg());
	dg_reader_close(rd);
	return st || !gf->config ? -1 : 0;
}

static void unload(struct golden *gf)
{
	for (size_t i = 0; i < gf->n; i++)
		dg_array_free(gf->r[i].a);
}

/* got against want (count values): ok when max |got - want| <= tol·max|want|. */
static int compare(const float *got, const struct dg_array *want, double tol, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));
static int compare(const float *got, const struct dg_array *want, double tol, const char *fmt,
		   ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	const float *w = want->data;
	uint64_t n = dg_array_count(want);
	double err = 0, scale = 0, rel = 0;
	for (uint64_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - w[i]);
		err = fmax(err, d);
		scale = fmax(scale, fabs(w[i]));
		if (fabs(w[i]) > 0)
			rel = fmax(rel, d / fabs(w[i]));
	}
	int pass = isfinite(err) && err <= tol * scale;
	return ok(pass, "%s: max abs diff %.2g (%.2g of max |ref| %.3g), max elementwise rel "
		  "%.2g", what, err, scale ? err / scale : err, scale, rel);
}

/* A family of several phases (a GAN): one executable per phase, with
 * the phase's loss, its terms and the gradients of the parameters the file
 * records for it ("<phase>/<param>") out, and the phase's own optimizer
 * (the family's recommended one, as dg-train uses it) in.  An iteration
 * runs each phase once in order on the file's batch; the first
 * iteration's losses, terms and gradients are compared, then each phase's
 * losses over the next iterations.  A loss is compared relative to
 * max(|ref|, LOSS_FLOOR): a Wasserstein or hinge generator's loss is the
 * mean of D's scores, which are of order 0.02·√(features) ≈ 0.2 for the
 * golden models' N(0, 0.02) output layer over 128 features but cancel to
 * a mean near 1e-3; their float32 error (about 1e-6 of a score, from the
 * sums through G and D) is relative to the scores, not to their mean. */
#define LOSS_FLOOR 0.1
#define MAX_PHASES 4

static int compare_loss(float got, const struct dg_array *want, double tol, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));
static int compare_loss(float got, const struct dg_array *want, double tol, const char *fmt,
			...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	double w = *(const float *)want->data, err = fabs((double)got - w);
	double scale = fmax(fabs(w), LOSS_FLOOR);
	return ok(isfinite(err) && err <= tol * scale, "%s: abs diff %.2g (%.2g of max(|ref|, "
		  "%g) %.3g)", what, err, err / scale, LOSS_FLOOR, scale);
}

static void check_phases(const struct golden *gf, const char *dev, struct dg_graph *g,
			 struct dg_model *m, const dg_tensor *ps, const char *const *pname,
			 size_t np)
{
	const char *f = gf->file;
	size_t nph = dg_model_phase_count(m), nterms = dg_model_term_count(m);
	struct dg_exec *e[MAX_PHASES] = {0};
	size_t nt[MAX_PHASES] = {0}, ng[MAX_PHASES] = {0}, gi[MAX_PHASES][256];
	int st = nph > MAX_PHASES;
	char want[MAX_PHASES][DG_NN_MAX_NAME + 48];

	for (size_t k = 0; k < nph && !st; k++) {
		const struct dg_phase *ph = dg_model_phase_at(m, k);
		dg_tensor outs[300], pk[256], gk[256];
		size_t nout = 0;
		outs[nout++] = ph->loss;
		for (size_t t = 0; t < nterms; t++) {
			size_t tp;
			const struct dg_term *term = dg_model_term_at(m, t, &tp);
			if (tp == k) {
				outs[nout++] = term->value;
				nt[k]++;
			}
		}
		for (size_t i = 0; i < np; i++) {
			snprintf(want[k], sizeof want[k], "%s/%s", ph->name, pname[i]);
			if (find(gf, "grad", want[k])) {
				gi[k][ng[k]] = i;
				pk[ng[k]++] = ps[i];
			}
		}
		st = dg_gradients(g, ph->loss, ng[k], pk, gk);
		for (size_t i = 0; i < ng[k]; i++)
			outs[nout++] = gk[i];
		struct dg_optim dflt = {.kind = DG_ADAM, .lr = 1e-3f};
		int upd = st ? 0 : dg_optimize(g, ph->loss, ph->groups, ph->optim ? ph->optim : &dflt);
		st = st || upd <= 0 || dg_compile(g, dev, nout, outs, 1, &upd, &e[k]);
	}
	const struct dg_array *x = find(gf, "input", "x"), *y = find(gf, "input", "y");
	for (size_t k = 0; k < nph && !st; k++)
		st = !x || dg_exec_feed_array(e[k], "x", x) ||
		     (y && dg_exec_feed_array(e[k], "y", y));
	if (!ok(!st && nph > 1, "%s [%s]: %zu phases compile, each with its optimizer", f, dev,
		nph)) {
		diag("  %s", st ? dg_errmsg() : "one phase");
		goto out;
	}
	for (size_t k = 0; k < nph; k++) {
		const struct dg_phase *ph = dg_model_phase_at(m, k);
		if (!ok(!dg_exec_run(e[k]), "%s [%s]: phase %s runs", f, dev, ph->name)) {
			diag("  %s", dg_errmsg());
			goto out;
		}
		const struct dg_array *l = find(gf, "loss", ph->name);
		float v = dg_exec_scalar(e[k], 0);
		if (l)
			compare_loss(v, l, LOSS_TOL, "%s [%s]: %s loss %.6f", f, dev, ph->name, v);
		size_t o = 1;
		for (size_t t = 0; t < nterms; t++) {
			size_t tp;
			const struct dg_term *term = dg_model_term_at(m, t, &tp);
			const struct dg_array *w = tp == k ? find(gf, "term", term->name) : NULL;
			if (tp != k)
				continue;
			v = dg_exec_scalar(e[k], o++);
			if (w)
				compare_loss(v, w, LOSS_TOL, "%s [%s]: term %s %.6f", f, dev, term->name, v);
		}
		for (size_t i = 0; i < ng[k]; i++) {
			const char *name = pname[gi[k][i]];
			snprintf(want[k], sizeof want[k], "%s/%s", ph->name, name);
			const struct dg_array *w = find(gf, "grad", want[k]);
			uint64_t cnt = dg_array_count(w);
			float *got = malloc(cnt * sizeof *got);
			if (dg_exec_read(e[k], 1 + nt[k] + i, got, cnt))
				ok(0, "%s [%s]: gradient %s read", f, dev, want[k]);
			else
				compare(got, w, GRAD_TOL, "%s [%s]: gradient %s", f, dev, want[k]);
			free(got);
		}
	}
	uint64_t steps = strtoull(cfg(gf, "steps"), NULL, 10);
	for (uint64_t s = 0; s < steps; s++)
		for (size_t k = 0; k < nph; k++) {
			const struct dg_phase *ph = dg_model_phase_at(m, k);
			const struct dg_array *later = find(gf, "losses", ph->name);
			float v = dg_exec_run(e[k]) ? NAN : dg_exec_scalar(e[k], 0);
			if (!later || dg_array_count(later) != steps) {
				ok(0, "%s: %s's later losses recorded", f, ph->name);
				continue;
			}
			struct dg_array one = *later;
			one.rank = 0;
			one.data = (float *)later->data + s;
			compare_loss(v, &one, LATER_TOL, "%s [%s]: %s loss %.6f at iteration %llu", f,
				     dev, ph->name, v, (unsigned long long)s + 1);
		}
	ok(steps == 10, "%s: ten later iterations recorded", f);
out:
	for (size_t k = 0; k < MAX_PHASES; k++)
		dg_exec_free(e[k]);
}

/* One reference on one device. */
static void check(const struct golden *gf, const char *dev)
{
	const char *fam = cfg(gf, "family"), *f = gf->file;
	unsigned c = 0, h = 0, w = 0, classes = (unsigned)atoi(cfg(gf, "classes"));
	uint64_t batch = strtoull(cfg(gf, "batch"), NULL, 10);
	uint64_t seed = strtoull(cfg(gf, "seed"), NULL, 10);
	const struct dg_family *family = NULL;
	struct dg_hparams *hp = NULL;
	struct dg_graph *g = NULL;
	struct dg_model m;
	struct dg_exec *e = NULL;
	int built = 0, st;
	char sets[512], *save = NULL;

	sscanf(cfg(gf, "shape"), "%ux%ux%u", &c, &h, &w);
	snprintf(sets, sizeof sets, "%s", cfg(gf, "sets"));
	st = dg_family_load(fam, &family) || dg_hparams_new(family, &hp);
	for (char *s = strtok_r(sets, " ", &save); s && !st; s = strtok_r(NULL, " ", &save))
		st = dg_hparams_set(hp, s);
	if (!st) {
		g = dg_graph_new(seed);
		struct dg_model_spec spec = {.channels = c, .height = h, .width = w,
					     .classes = classes, .batch = batch, .training = 1};
		st = dg_model_build(family, &m, g, hp, &spec);
		built = !st;
	}
	if (!ok(!st, "%s [%s]: %s builds (%s; batch %llu of %ux%ux%u)", f, dev, fam,
		cfg(gf, "sets"), (unsigned long long)batch, c, h, w)) {
		diag("  %s", dg_errmsg());
		goto out;
	}

	/* The parameters PyTorch was given: the same names, shapes and order. */
	dg_tensor ps[256], gs[256];
	const char *pname[256];
	size_t np = 0, nv = dg_var_count(g);
	int same = 1;
	for (size_t i = 0; i < gf->n; i++)
		if (!strcmp(gf->r[i].kind, "param")) {
			size_t k = 0, v;
			for (v = 0; v < nv; v++) /* the np-th parameter of the graph */
				if (dg_var_kind(g, v) == DG_VAR_PARAM && k++ == np)
					break;
			same &= v < nv && !strcmp(dg_var_name(g, v), gf->r[i].name) &&
				dg_var_set(g, gf->r[i].name, gf->r[i].a) == 0;
			if (!same) {
				diag("  parameter %zu: %s in the file, %s in the graph (%s)", np,
				     gf->r[i].name, v < nv ? dg_var_name(g, v) : "none", dg_errmsg());
				break;
			}
			pname[np] = gf->r[i].name;
			ps[np++] = dg_var_tensor(g, gf->r[i].name);
		}
	size_t ngraph = 0;
	for (size_t v = 0; v < nv; v++)
		ngraph += dg_var_kind(g, v) == DG_VAR_PARAM;
	if (!ok(same && np == ngraph && np > 0, "%s [%s]: the %zu parameters PyTorch started "
		"from, by name, shape and declaration order", f, dev, np))
		goto out;

	if (*cfg(gf, "phases")) {
		check_phases(gf, dev, g, &m, ps, pname, np);
		goto out;
	}

	/* One executable: loss, terms and gradients out, the Adam update in. */
	const struct dg_phase *ph = dg_model_phase_at(&m, 0);
	size_t nterms = dg_model_term_count(&m);
	dg_tensor loss = ph->loss, outs[300];
	size_t nout = 0;
	outs[nout++] = loss;
	for (size_t t = 0; t < nterms; t++)
		outs[nout++] = dg_model_term_at(&m, t, NULL)->value;
	st = dg_gradients(g, loss, np, ps, gs);
	for (size_t i = 0; i < np; i++)
		outs[nout++] = gs[i];
	struct dg_optim opt = {.kind = DG_ADAM, .lr = (float)atof(cfg(gf, "lr"))};
	int upd = st ? 0 : dg_optimize(g, loss, ph->groups, &opt);
	const struct dg_array *x = find(gf, "input", "x"), *y = find(gf, "input", "y");
	st = st || upd <= 0 || !x || dg_compile(g, dev, nout, outs, 1, &upd, &e) ||
	     dg_exec_feed_array(e, "x", x) || (y && dg_exec_feed_array(e, "y", y)) ||
	     dg_exec_run(e);
	if (!ok(!st, "%s [%s]: the training step compiles and runs", f, dev)) {
		diag("  %s", dg_errmsg());
		goto out;
	}
	float v;
	v = dg_exec_scalar(e, 0);
	compare(&v, find(gf, "loss", "loss"), LOSS_TOL, "%s [%s]: loss %.6f", f, dev, v);
	for (size_t t = 0; t < nterms; t++) {
		const struct dg_array *want = find(gf, "term", dg_model_term_at(&m, t, NULL)->name);
		if (!want)
			continue;
		v = dg_exec_scalar(e, 1 + t);
		compare(&v, want, LOSS_TOL, "%s [%s]: term %s %.6f", f, dev, dg_model_term_at(&m, t, NULL)->name, v);
	}
	for (size_t i = 0; i < np; i++) {
		const char *name = pname[i];
		const struct dg_array *want = find(gf, "grad", name);
		uint64_t cnt = dg_count(g, gs[i]);
		float *got = malloc(cnt * sizeof *got);
		if (!want || dg_array_count(want) != cnt || dg_exec_read(e, 1 + nterms + i, got, cnt))
			ok(0, "%s [%s]: gradient of %s read", f, dev, name);
		else
			compare(got, want, GRAD_TOL, "%s [%s]: gradient of %s", f, dev, name);
		free(got);
	}
	const struct dg_array *later = find(gf, "losses", "loss");
	uint64_t nl = later ? dg_array_count(later) : 0;
	for (uint64_t s = 0; s < nl; s++) {
		st = dg_exec_run(e);
		v = st ? NAN : dg_exec_scalar(e, 0);
		struct dg_array one = *later;
		one.rank = 0;
		one.data = (float *)later->data + s;
		compare(&v, &one, LATER_TOL, "%s [%s]: loss %.6f after %llu Adam steps", f, dev, v,
			(unsigned long long)s + 1);
	}
	ok(nl == 10, "%s: ten later losses recorded", f);
out:
	dg_exec_free(e);
	if (built)
		dg_model_release(family, &m);
	dg_graph_free(g);
	dg_hparams_free(hp);
}

/* The recorded noise is dg's generator at the random ops' streams
 * (DG_OP_STREAM | op), run 0: normals, or uniforms with dist=uniform
 * (a denoising model's corruption). */
static void check_noise(const struct golden *gf)
{
	uint64_t seed = strtoull(cfg(gf, "seed"), NULL, 10);
	for (size_t i = 0; i < gf->n; i++) {
		const struct dg_array *eps = gf->r[i].a;
		if (strcmp(gf->r[i].kind, "noise"))
			continue;
		const char *s = dg_meta_get(eps->meta, "stream"), *c = dg_meta_get(eps->meta, "counter");
		const char *dist = dg_meta_get(eps->meta, "dist");
		int uni = dist && !strcmp(dist, "uniform");
		uint64_t stream = s ? strtoull(s, NULL, 10) : 0, n = dg_array_count(eps);
		float *v = malloc(n * sizeof *v);
		if (uni)
			dg_rng_uniform(seed, stream, 0, v, n);
		else
			dg_rng_normal(seed, stream, 0, v, n);
		ok(s && c && (stream & ~0xffffffffull) == DG_OP_STREAM && !strcmp(c, "0") &&
			   !memcmp(v, eps->data, n * sizeof *v),
		   "%s: the first step's %llu %s are dg_rng_%s(seed %llu, DG_OP_STREAM | %llu, "
		   "run 0 << 32)", gf->file, (unsigned long long)n, uni ? "uniforms" : "normals",
		   uni ? "uniform" : "normal", (unsigned long long)seed,
		   (unsigned long long)(stream & 0xffffffffull));
		free(v);
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	if (!getenv("DG_PLUGIN_PATH")) {
		printf("1..0 # SKIP DG_PLUGIN_PATH is set by make check\n");
		return 0;
	}
	const char *src = getenv("DG_SRC");
	char dir[512];
	snprintf(dir, sizeof dir, "%s/tests/data/golden", src ? src : ".");
	const char *devices[2] = {"cpu", NULL};
	struct dg_device_info info;
	if (!dg_device_select("vulkan", &info))
		devices[1] = "vulkan";
	else
		diag("no Vulkan device (%s): the cpu device only", dg_errmsg());

	char *files[64];
	size_t nf = 0;
	DIR *d = opendir(dir);
	for (struct dirent *de; d && (de = readdir(d)) && nf < 64;) {
		size_t len = strlen(de->d_name);
		if (len > 4 && !strcmp(de->d_name + len - 4, ".dgt"))
			files[nf++] = strdup(de->d_name);
	}
	if (d)
		closedir(d);
	qsort(files, nf, sizeof *files, by_name);
	ok(nf >= 6, "%zu golden references in %s", nf, dir);
	for (size_t i = 0; i < nf; i++) {
		static struct golden gf;
		if (!ok(load(&gf, dir, files[i]) == 0, "%s: reads (config, inputs, parameters, "
			"gradients, losses)", files[i])) {
			unload(&gf);
			continue;
		}
		diag("%s: %s, written by PyTorch %s", gf.file, cfg(&gf, "script"), cfg(&gf, "torch"));
		check_noise(&gf);
		for (int k = 0; k < 2 && devices[k]; k++)
			check(&gf, devices[k]);
		unload(&gf);
	}
	for (size_t i = 0; i < nf; i++)
		free(files[i]);
	return done_testing();
}
