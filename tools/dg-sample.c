/* dg-sample.c — draws from a trained model: latent codes from the prior
 * for latent-variable families (decode them with dg-decode -m), or
 * images for families that sample in data space; families that draw
 * images step by step (autoregressive) also complete given images
 * (--complete), with a progress display and a stop on SIGINT between
 * steps that leaves only whole records. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "dg.h"

static const char usage_text[] =
	"Usage: dg-sample -m MODEL -n N [OPTIONS]\n"
	"Draw N samples from a trained model and write them as records\n"
	"(dg-stream(5)) on standard output: latent codes for families with a\n"
	"prior (pipe them to dg-decode -m MODEL), images for families that\n"
	"sample in data space.\n"
	"\n"
	"  -m, --model MODEL     the checkpoint written by dg-train\n"
	"  -n, --count N         how many samples\n"
	"  -b, --batch B         items per record (default 64)\n"
	"  -t, --temperature T   scale of the prior's noise (default 1)\n"
	"      --truncation TAU  redraw code values beyond TAU standard\n"
	"                        deviations (Gaussian priors; GANs: 0.5-1)\n"
	"  -s, --seed S          random seed (default 0); same seed, same bytes\n"
	"  -c, --class K         class label for conditional families\n"
	"      --code NAME=V     fix an InfoGAN code (repeatable): cat=K, a value\n"
	"                        of the categorical code, or cI=X, the I-th\n"
	"                        continuous code (1..); the others are drawn\n"

	"      --complete FILE   autoregressive families: keep the top rows of\n"
	"                        each image of FILE ('-': standard input) and\n"
	"                        draw the rest, N completions per image\n"
	"      --keep-rows K     rows kept by --complete (default: half)\n"
	"      --progress        a progress display even if stderr is not a terminal\n"
	"  -q, --quiet           no progress display\n"
	"      --no-ema          the trained weights, not their running average\n"
	"                        (for models that keep one, e.g. GANs)\n"
	"      --device SPEC     cpu or vulkan:N (default $DG_DEVICE or cpu)\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"See dg-sample(1).\n";

enum { OPT_DEVICE = 256, OPT_NO_EMA, OPT_TRUNCATION, OPT_CODE, OPT_COMPLETE, OPT_KEEP_ROWS,
       OPT_PROGRESS };

/* Most --code options (a categorical code and 64 continuous ones). */
#define MAX_CODES 65
/* Continuous codes' prior is U(-1,1); values up to ±2 extrapolate, as
 * InfoGAN's figures do. */
#define CODE_LIMIT 2.0

/* The host generator's stream for --truncation's redraws ("trunc"). */
#define TRUNCATION_STREAM 0x7472756e63ull

struct cmdline {
	const char *model, *device;
	uint64_t n, batch, seed;
	double temperature, truncation;   /* truncation 0: none */
	long klass;              /* -1: none */
	int no_ema;
	const char *code[MAX_CODES]; /* --code NAME=V, as given */
	unsigned ncode;
	const char *complete;    /* --complete FILE, or NULL */
	long keep_rows;          /* -1: half the height */
	int progress;            /* 1 --progress, 0 --quiet, -1 on a terminal */
};

/* A model's InfoGAN codes (its hyperparameters info_cat and info_cont):
 * the last cat + cont values of each latent code, the categorical one
 * one-hot first. */
struct codes {
	unsigned cat, cont, offset;
	long fix_cat;            /* -1: drawn */
	double fix[64];
	int fixed[64];
};

static int parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	static const struct option longs[] = {
		{"model", required_argument, NULL, 'm'},
		{"count", required_argument, NULL, 'n'},
		{"batch", required_argument, NULL, 'b'},
		{"temperature", required_argument, NULL, 't'},
		{"seed", required_argument, NULL, 's'},
		{"class", required_argument, NULL, 'c'},
		{"device", required_argument, NULL, OPT_DEVICE},
		{"no-ema", no_argument, NULL, OPT_NO_EMA},
		{"truncation", required_argument, NULL, OPT_TRUNCATION},
		{"code", required_argument, NULL, OPT_CODE},
		{"complete", required_argument, NULL, OPT_COMPLETE},
		{"keep-rows", required_argument, NULL, OPT_KEEP_ROWS},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, DG_OPT_VERSION},
		{0},
	};
	int c, have_n = 0;
	long v;
	double d;

	memset(cl, 0, sizeof *cl);
	cl->batch = 64;
	cl->temperature = 1;
	cl->klass = -1;
	cl->keep_rows = -1;
	cl->progress = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:n:b:t:s:c:qh", longs, NULL)) != -1) {
		switch (c) {
		case 'm':
			cl->model = optarg;
			break;
		case 'n':
			if (dg_parse_long("--count", optarg, 1, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->n = (uint64_t)v;
			have_n = 1;
			break;
		case 'b':
			if (dg_parse_long("--batch", optarg, 1, 1 << 20, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->batch = (uint64_t)v;
			break;
		case 't':
			if (dg_parse_double("--temperature", optarg, 0, 1e6, &d))
				return dg_tool_usage("%s", dg_errmsg());
			cl->temperature = d;
			break;
		case 's':
			if (dg_parse_long("--seed", optarg, 0, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->seed = (uint64_t)v;
			break;
		case 'c':
			if (dg_parse_long("--class", optarg, 0, INT32_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->klass = v;
			break;
		case OPT_DEVICE:
			cl->device = optarg;
			break;
		case OPT_NO_EMA:
			cl->no_ema = 1;
			break;
		case OPT_CODE:
			if (cl->ncode == MAX_CODES)
				return dg_tool_usage("--code: at most %d codes", MAX_CODES);
			cl->code[cl->ncode++] = optarg;
			break;
		case OPT_TRUNCATION:
			if (dg_parse_double("--truncation", optarg, 1e-3, 1e3, &d))
				return dg_tool_usage("%s", dg_errmsg());
			cl->truncation = d;
			break;
		case OPT_COMPLETE:
			cl->complete = optarg;
			break;
		case OPT_KEEP_ROWS:
			if (dg_parse_long("--keep-rows", optarg, 0, INT_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->keep_rows = v;
			break;
		case OPT_PROGRESS:
			cl->progress = 1;
			break;
		case 'q':
			cl->progress = 0;
			break;
		default:
			return dg_tool_option(c, usage_text, argv);
		}
	}
	if (optind < argc)
		return dg_tool_usage("unexpected argument '%s'", argv[optind]);
	if (!cl->model)
		return dg_tool_usage("-m MODEL is required");
	if (!have_n)
		return dg_tool_usage("-n N is required");
	if (cl->keep_rows >= 0 && !cl->complete)
		return dg_tool_usage("--keep-rows goes with --complete FILE");
	if (cl->complete && cl->truncation > 0)
		return dg_tool_usage("--truncation is for latent codes, not --complete");
	return DG_OK;
}

/* The value of hyperparameter name in hp, 0 when the family has none. */
static long hparam_long(const struct dg_hparams *hp, const char *name)
{
	const char *v = dg_hparams_get(hp, name);
	return v ? strtol(v, NULL, 10) : 0;
}

/* The model's codes and the --code values fixing them: DG_EUSAGE for a
 * model without codes, an unknown name, a value out of range. */
static int parse_codes(const struct cmdline *cl, const struct dg_model_info *mi,
		       struct codes *c)
{
	memset(c, 0, sizeof *c);
	c->fix_cat = -1;
	c->cat = (unsigned)hparam_long(mi->hparams, "info_cat");
	c->cont = (unsigned)hparam_long(mi->hparams, "info_cont");
	if (c->cont > 64 || c->cat + c->cont > mi->latent_dim)
		return dg_error(DG_EDATA, "%s: %u + %u codes do not fit its %u latent values",
				cl->model, c->cat, c->cont, mi->latent_dim);
	c->offset = mi->latent_dim - c->cat - c->cont;
	if (!cl->ncode)
		return DG_OK;
	if (!c->cat && !c->cont)
		return dg_error(DG_EUSAGE, "--code: the model %s has no InfoGAN codes (trained "
				"without info_cat or info_cont)", cl->model);
	for (unsigned i = 0; i < cl->ncode; i++) {
		const char *a = cl->code[i], *eq = strchr(a, '=');
		char name[16];
		long v, idx;
		double d;
		if (!eq || eq == a || (size_t)(eq - a) >= sizeof name)
			return dg_error(DG_EUSAGE, "--code %s: expected NAME=VALUE (cat=K, c1=X)",
					a);
		snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
		if (!strcmp(name, "cat") && c->cat) {
			int st = dg_parse_long("--code cat", eq + 1, 0, (long)c->cat - 1, &v);
			if (st)
				return st;
			c->fix_cat = v;
			continue;
		}
		char *end = name;
		idx = 0;
		if (name[0] == 'c' && name[1] >= '1' && name[1] <= '9')
			idx = strtol(name + 1, &end, 10);
		if (idx < 1 || idx > (long)c->cont || *end) {
			char cats[32] = "", conts[32] = "";
			if (c->cat)
				snprintf(cats, sizeof cats, " cat (0..%u)", c->cat - 1);
			if (c->cont)
				snprintf(conts, sizeof conts, " c1..c%u", c->cont);
			return dg_error(DG_EUSAGE, "--code %s: unknown code '%s'; the model %s "
					"has%s%s", a, name, cl->model, cats, conts);
		}
		char opt[32];
		snprintf(opt, sizeof opt, "--code c%ld", idx);
		int st = dg_parse_double(opt, eq + 1, -CODE_LIMIT, CODE_LIMIT, &d);
		if (st)
			return st;
		c->fix[idx - 1] = d;
		c->fixed[idx - 1] = 1;
	}
	return DG_OK;
}

/* Overwrites the fixed codes of n latent rows of width dim. */
static void fix_codes(const struct codes *c, float *z, uint64_t n, unsigned dim)
{
	for (uint64_t i = 0; i < n; i++) {
		float *row = z + i * dim + c->offset;
		if (c->fix_cat >= 0)
			for (unsigned k = 0; k < c->cat; k++)
				row[k] = k == (unsigned)c->fix_cat;
		for (unsigned k = 0; k < c->cont; k++)
			if (c->fixed[k])
				row[c->cat + k] = (float)c->fix[k];
	}
}

/* ---- step-by-step sampling: progress, stopping, completion ---------------- */

/* SIGINT or SIGTERM asks the steps to stop (checked after each image row);
 * the handler is reset, so a second signal ends the process at once. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* What the progress display knows: images of the whole run, those of
 * the current request, and when the run started. */
struct steps_view {
	int show;                /* draw on stderr */
	uint64_t total, before;  /* images of the run; written before this request */
	double start, last;
};

static int steps_progress(void *ctx, uint64_t done, uint64_t total, uint64_t row,
			  uint64_t rows)
{
	struct steps_view *v = ctx;
	if (stop_signal)
		return dg_error(DG_EIO, "interrupted");
	if (!v->show)
		return DG_OK;
	double t = now();
	if (done < total && t - v->last < 0.1)
		return DG_OK;
	v->last = t;
	double images = (double)v->before + (double)row +
			(double)done / (double)total * (double)rows;
	enum { WIDTH = 30 };
	int bar = (int)(WIDTH * images / (double)v->total);
	fprintf(stderr, "\r\033[Ksampling [%.*s%*s] %.0f/%llu images, step %llu/%llu, "
		"%.2f images/s", bar, "##############################", WIDTH - bar, "",
		images, (unsigned long long)v->total, (unsigned long long)done,
		(unsigned long long)total, images / (t - v->start > 0 ? t - v->start : 1e-9));
	return DG_OK;
}

/* Ends the display with the run's rate. */
static void steps_done(struct steps_view *v, uint64_t images)
{
	if (!v->show)
		return;
	double t = now() - v->start;
	fprintf(stderr, "\r\033[K%s: %llu images in %.2f s, %.2f images/s\n", dg_tool_name(),
		(unsigned long long)images, t, t > 0 ? (double)images / t : 0.0);
}

/* Labels of n items of a record for a conditional model: --class, else
 * the record's labels=, else the classes in turn (as for sampling). */
static int record_labels(const struct cmdline *cl, const struct dg_record *rec,
			 const char *in, unsigned classes, uint64_t n, int32_t *y)
{
	int found = 0, st;
	if (cl->klass < 0 && (st = dg_meta_get_labels(rec->meta, n, y, &found)))
		return dg_error_context(st, "%s: record %llu", in, (unsigned long long)rec->index);
	for (uint64_t i = 0; !found && i < n; i++)
		y[i] = (int32_t)(cl->klass >= 0 ? cl->klass : (long)(i % classes));
	return DG_OK;
}

/* --complete: each record of images of the model's shape gives a record
 * of n completions of each image, image by image, keeping keep rows. */
static int complete_file(const struct cmdline *cl, struct dg_inference *inf,
			 const struct dg_meta *base, unsigned keep, struct steps_view *view,
			 struct dg_writer *w)
{
	const struct dg_model_info *mi = dg_inference_info(inf);
	uint64_t per = (uint64_t)mi->channels * mi->height * mi->width;
	const char *in = strcmp(cl->complete, "-") == 0 ? "standard input" : cl->complete;
	struct dg_reader *r = dg_reader_open(cl->complete);
	const struct dg_record *rec;
	int st;

	if (!r)
		return DG_ENOINPUT;
	view->total = 0;
	while (!(st = dg_reader_next(r, &rec)) && rec) {
		const uint64_t *d = rec->dims + (rec->rank >= 3 ? rec->rank - 3 : 0);
		uint64_t k = rec->rank == 4 ? rec->dims[0] : 1, m = k * cl->n;
		float *x = NULL, *rep = NULL;
		int32_t *y = NULL, *yr = NULL;
		struct dg_array *out = NULL;
		struct dg_meta *meta = NULL;
		const char *space = dg_meta_get(rec->meta, "space");
		if (space && strcmp(space, "image") != 0) {
			st = dg_error(DG_EDATA, "%s: record %llu: space=%s, not images to complete",
				      in, (unsigned long long)rec->index, space);
			break;
		}
		if ((rec->rank != 3 && rec->rank != 4) || d[0] != mi->channels ||
		    d[1] != mi->height || d[2] != mi->width) {
			st = dg_error(DG_EDATA, "%s: record %llu: images of another shape than the "
				      "model's %ux%ux%u (C×H×W) cannot be completed by it", in,
				      (unsigned long long)rec->index, mi->channels, mi->height,
				      mi->width);
			break;
		}
		if ((st = dg_reader_payload_f32(r, &x)))
			break;
		if (!(rep = malloc((m ? m : 1) * per * sizeof *rep)) ||
		    (mi->conditional && (!(y = malloc((k ? k : 1) * sizeof *y)) ||
					 !(yr = malloc((m ? m : 1) * sizeof *yr)))))
			st = dg_error_nomem("images", m * per * sizeof *rep);
		for (uint64_t i = 0; !st && i < k * per; i++) /* u8 records hold 0..255 */
			if (rec->dtype == DG_U8)
				x[i] /= 255.0f;
		if (!st && mi->conditional)
			st = record_labels(cl, rec, in, mi->classes, k, y);
		for (uint64_t i = 0; !st && i < m; i++) {
			memcpy(rep + i * per, x + i / cl->n * per, per * sizeof *rep);
			if (yr)
				yr[i] = y[i / cl->n];
		}
		view->total += m;
		if (!st && m)
			st = dg_inference_complete(inf, m, rep, keep, (float)cl->temperature, yr, &out);
		if (!st && !(meta = dg_meta_dup(base)))
			st = DG_ENOMEM;
		if (!st && yr)
			st = dg_meta_set_labels(meta, yr, m);
		if (!st && m)
			st = dg_write_record(w, DG_F32, out->rank, out->dims, meta, out->data);
		view->before += m;
		dg_meta_free(meta);
		dg_array_free(out);
		dg_free(x);
		free(rep);
		free(y);
		free(yr);
		if (st)
			break;
	}
	dg_reader_close(r);
	steps_done(view, view->before);
	return st;
}

static int run(const struct cmdline *cl, struct dg_writer *w)
{
	struct dg_checkpoint *ck = NULL;
	struct dg_inference *inf = NULL;
	struct dg_meta *meta = NULL;
	struct dg_array *out = NULL;
	int32_t *labels = NULL;
	const struct dg_model_info *mi;
	uint64_t b = cl->batch < cl->n ? cl->batch : cl->n;
	struct dg_inference_options io = {.device = cl->device, .batch = b, .seed = cl->seed,
					  .raw_weights = cl->no_ema};
	char fp[17];
	int st, latent;

	if ((st = dg_checkpoint_read_flags(cl->model, DG_CHECKPOINT_NO_OPTIM, &ck)))
		return st;
	if ((st = dg_inference_open(ck, &io, &inf)))
		goto out;
	mi = dg_inference_info(inf);
	if (!(mi->family->caps & (DG_CAP_SAMPLE_LATENT | DG_CAP_SAMPLE_DATA |
				  DG_CAP_SAMPLE_STEPS)) && !mi->family->sample) {
		st = dg_error(DG_EUSAGE, "%s: model family '%s' cannot sample", cl->model,
			      mi->family->name);
		goto out;
	}
	latent = (mi->family->caps & DG_CAP_SAMPLE_LATENT) != 0;
	int steps = (mi->family->caps & DG_CAP_SAMPLE_STEPS) != 0;
	struct steps_view view = {.show = cl->progress > 0 ||
				  (cl->progress < 0 && isatty(STDERR_FILENO)),
				  .total = cl->n, .start = now()};
	if (steps && !(cl->temperature > 0)) {
		st = dg_error(DG_EUSAGE, "--temperature %g: the model %s draws pixels from "
			      "logits divided by T; want T > 0", cl->temperature, cl->model);
		goto out;
	}
	if (cl->complete && !steps) {
		st = dg_error(DG_EUSAGE, "--complete: model family '%s' does not draw images "
			      "step by step, so it cannot complete them", mi->family->name);
		goto out;
	}
	if (cl->keep_rows > (long)mi->height) {
		st = dg_error(DG_EUSAGE, "--keep-rows %ld: the model's images have %u rows",
			      cl->keep_rows, mi->height);
		goto out;
	}
	if (steps) {
		catch_signals();
		dg_inference_on_steps(inf, steps_progress, &view);
	}
	if (cl->truncation > 0 && (!latent || mi->prior != DG_PRIOR_GAUSSIAN)) {
		st = dg_error(DG_EUSAGE, "--truncation: the model %s does not draw codes from a "
			      "Gaussian prior", cl->model);
		goto out;
	}
	struct dg_rng trunc;
	dg_rng_init(&trunc, cl->seed, TRUNCATION_STREAM);
	struct codes codes;
	if ((st = parse_codes(cl, mi, &codes)))
		goto out;
	if (cl->ncode && !latent) {
		st = dg_error(DG_EUSAGE, "--code: the model %s does not sample latent codes",
			      cl->model);
		goto out;
	}
	if (cl->klass >= 0 && !mi->conditional) {
		st = dg_error(DG_EUSAGE, "--class: the model %s is not conditional "
			      "(no labels when trained)", cl->model);
		goto out;
	}
	if (mi->conditional && cl->klass >= (long)mi->classes) {
		st = dg_error(DG_EUSAGE, "--class: %ld is not below the model's %u classes",
			      cl->klass, mi->classes);
		goto out;
	}
	if (mi->conditional) {
		if (!(labels = malloc(b * sizeof *labels))) {
			st = dg_error_nomem("labels", b * sizeof *labels);
			goto out;
		}
		/* without --class, labels cycle through the classes */
		for (uint64_t i = 0; i < b; i++)
			labels[i] = (int32_t)(cl->klass >= 0 ? cl->klass : (long)(i % mi->classes));
	}
	if (!(meta = dg_meta_new())) {
		st = DG_ENOMEM;
		goto out;
	}
	if ((st = dg_meta_set(meta, "space", latent ? "latent" : "image")) ||
	    (st = dg_meta_set(meta, "model", dg_checkpoint_fingerprint_hex(ck, fp))) ||
	    (st = dg_meta_set(meta, "family", mi->family->name)) ||
	    /* prior= tells dg-interp how to interpolate the codes */
	    (latent && (st = dg_meta_set(meta, "prior", dg_prior_name(mi->prior)))))
		goto out;
	if (cl->truncation > 0) {
		char tv[32];
		snprintf(tv, sizeof tv, "%.9g", cl->truncation);
		if ((st = dg_meta_set(meta, "truncation", tv)))
			goto out;
	}
	if (cl->complete) {
		unsigned keep = cl->keep_rows >= 0 ? (unsigned)cl->keep_rows : mi->height / 2;
		char kv[32];
		snprintf(kv, sizeof kv, "%u", keep);
		if (!(st = dg_meta_set(meta, "keep_rows", kv)))
			st = complete_file(cl, inf, meta, keep, &view, w);
		goto out;
	}
	for (uint64_t done = 0; done < cl->n && !st; done += b) {
		uint64_t k = cl->n - done < b ? cl->n - done : b;
		view.before = done;
		if (!(st = stop_signal ? dg_error(DG_EIO, "interrupted") : DG_OK))
			st = dg_inference_sample(inf, k, (float)cl->temperature, labels, &out);
		if (st)
			break;
		/* z alone is Gaussian: InfoGAN's codes, at the end, are not truncated */
		unsigned dim = mi->latent_dim, zdim = dim - codes.cat - codes.cont;
		if (cl->truncation > 0)
			for (uint64_t i = 0; i < k; i++)
				dg_latent_truncate((float *)out->data + i * dim, zdim,
						   cl->truncation, cl->temperature, &trunc);
		if (cl->ncode)
			fix_codes(&codes, out->data, k, dim);
		if (mi->conditional && cl->klass >= 0 && (st = dg_meta_set_labels(meta, labels, k)))
			break;
		st = dg_write_record(w, DG_F32, out->rank, out->dims, meta, out->data);
		dg_array_free(out);
		out = NULL;
	}
	if (steps && !st)
		steps_done(&view, cl->n);
out:
	dg_array_free(out);
	dg_meta_free(meta);
	free(labels);
	dg_inference_free(inf);
	dg_checkpoint_free(ck);
	return st;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	struct dg_writer *w;
	int st;

	dg_tool_init("dg-sample");
	st = parse_cmdline(argc, argv, &cl);
	if (st)
		return st < 0 ? dg_tool_exit(DG_OK) : st;
	if ((st = dg_tool_check_binary_output(stdout)))
		return dg_tool_fail(st);
	if (!(w = dg_writer_file(stdout, "standard output")))
		return dg_tool_fail(DG_ENOMEM);
	st = run(&cl, w);
	if (st && stop_signal) { /* whole records written so far stay */
		if (isatty(STDERR_FILENO) || cl.progress > 0)
			fputs("\n", stderr);
		fprintf(stderr, "%s: interrupted: the records written are whole\n",
			dg_tool_name());
		dg_writer_close(w);
		return dg_tool_exit(128 + stop_signal);
	}
	if (st) {
		dg_writer_close(w);
		return dg_tool_exit(dg_tool_fail(st));
	}
	st = dg_writer_close(w);
	return dg_tool_exit(st ? dg_tool_fail(st) : DG_OK);
}
