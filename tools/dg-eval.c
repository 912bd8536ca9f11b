/* dg-eval.c — a trained model's metrics on a dataset: for a VAE the
 * negative ELBO per image with its reconstruction and KL terms, and the
 * IWAE bound with k importance samples; for an autoencoder its
 * reconstruction error.  The family computes per-image values (its
 * loglik()); this tool feeds the data in batches and averages them. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg.h"

static const char usage_text[] =
	"Usage: dg-eval -m MODEL [-d DATA] [OPTIONS]\n"
	"Report a trained model's metrics on DATA, averaged over its images:\n"
	"for a VAE the negative ELBO in nats per image with its reconstruction\n"
	"and KL terms (and with -k K > 1 the IWAE bound on -log p(x)), for an\n"
	"autoencoder its reconstruction error.  DATA is anything dg-train reads:\n"
	"fashion-mnist-test, IDX, PNG files, folders, archives, stream files,\n"
	"'-' for a stream on standard input.\n"
	"\n"
	"  -m, --model MODEL     the checkpoint written by dg-train\n"
	"  -d, --data DATA       the images to evaluate on (default: a stream on\n"
	"                        standard input, unless it is a terminal)\n"
	"  -k, --samples K       importance samples per image (default 1: the\n"
	"                        ELBO only; K > 1 adds the IWAE bound)\n"
	"  -b, --batch B         images per step (default 100; fewer when\n"
	"                        B x K would exceed 1048576 draws)\n"
	"  -n, --limit N         use at most the first N images of DATA\n"
	"  -s, --seed S          seed of the model's noise (default 0); same\n"
	"                        seed, same numbers\n"
	"      --binarize        binarize the pixels (Bernoulli of the\n"
	"                        intensity) even if the model was not trained so\n"
	"      --no-binarize     evaluate on the intensities even if it was\n"
	"  -j, --json            one JSON object instead of lines of text\n"
	"      --no-ema          the trained weights, not their running average\n"
	"      --device SPEC     cpu or vulkan:N (default $DG_DEVICE or cpu)\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"See dg-eval(1).\n";

/* ---- the metrics ------------------------------------------------------------ */

/* What dg-eval knows about each metric it may report, in report order.
 * A family's loglik() names per-image terms ("nelbo", "rec", ...); a
 * term listed here is printed with its label and unit, one not listed
 * under its own name in nats (plugin.h's convention).  A metric that is
 * not a loglik() term (FID over samples, say) is a new row whose
 * compute() fills its value; the report code walks this table and needs
 * no change. */
struct result {
	double mean, sem;        /* mean over the images, its standard error */
	uint64_t count;
};
struct eval;
struct metric {
	const char *name;        /* the loglik() term, or the metric's own name */
	const char *label;       /* a short human name */
	const char *unit;        /* per image */
	unsigned min_k;          /* reported only with at least this many samples */
	int (*compute)(struct eval *ev, struct result *r); /* NULL: a loglik() term */
};

static const struct metric metrics[] = {
	{"nelbo", "-ELBO (rec + kl)", "nats", 1, NULL},
	{"rec", "reconstruction, -E_q log p(x|z)", "nats", 1, NULL},
	{"kl", "KL(q(z|x) || p(z))", "nats", 1, NULL},
	{"iwae", "IWAE bound on -log p(x)", "nats", 2, NULL},
	{"jac", "the encoder's Jacobian, squared Frobenius norm", "squared norm", 1, NULL},
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

/* The ae's "rec" is an error, not a log-likelihood: its unit follows
 * its loss hyperparameter. */
static const char *term_unit(const struct dg_model_info *mi, const char *name,
			     const struct metric *known)
{
	if (!(mi->family->caps & DG_CAP_LIKELIHOOD) && strcmp(name, "rec") == 0) {
		for (size_t i = 0; i < dg_hparams_count(mi->hparams); i++)
			if (strcmp(dg_hparams_row(mi->hparams, i)->name, "loss") == 0)
				return strcmp(dg_hparams_text(mi->hparams, i), "bce") == 0 ?
				       "nats" : "squared error";
		return "error";
	}
	return known ? known->unit : "nats";
}

static const char *term_label(const struct dg_model_info *mi, const char *name,
			      const struct metric *known)
{
	if (!(mi->family->caps & DG_CAP_LIKELIHOOD) && strcmp(name, "rec") == 0)
		return "reconstruction error, summed over pixels";
	return known ? known->label : name;
}

/* ---- command line ----------------------------------------------------------- */

enum { OPT_DEVICE = 256, OPT_BINARIZE, OPT_NO_BINARIZE, OPT_NO_EMA };

struct cmdline {
	const char *model, *data, *device;
	uint64_t batch, limit, seed;
	unsigned k;
	int k_given, json;
	int binarize;            /* -1: as the model was trained, 0 no, 1 yes */
	int no_ema;
};

static int parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	static const struct option longs[] = {
		{"model", required_argument, NULL, 'm'},
		{"data", required_argument, NULL, 'd'},
		{"samples", required_argument, NULL, 'k'},
		{"batch", required_argument, NULL, 'b'},
		{"limit", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"binarize", no_argument, NULL, OPT_BINARIZE},
		{"no-binarize", no_argument, NULL, OPT_NO_BINARIZE},
		{"json", no_argument, NULL, 'j'},
		{"device", required_argument, NULL, OPT_DEVICE},
		{"no-ema", no_argument, NULL, OPT_NO_EMA},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, DG_OPT_VERSION},
		{0},
	};
	int c;
	long v;

	memset(cl, 0, sizeof *cl);
	cl->batch = 100;
	cl->k = 1;
	cl->binarize = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:d:k:b:n:s:jh", longs, NULL)) != -1) {
		switch (c) {
		case 'm':
			cl->model = optarg;
			break;
		case 'd':
			cl->data = optarg;
			break;
		case 'k':
			/* the bound's noise is k·batch·latent floats: keep it sane */
			if (dg_parse_long("-k", optarg, 1, 1000000, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->k = (unsigned)v;
			cl->k_given = 1;
			break;
		case 'b':
			if (dg_parse_long("--batch", optarg, 1, 1 << 16, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->batch = (uint64_t)v;
			break;
		case 'n':
			if (dg_parse_long("--limit", optarg, 1, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->limit = (uint64_t)v;
			break;
		case 's':
			if (dg_parse_long("--seed", optarg, 0, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->seed = (uint64_t)v;
			break;
		case OPT_BINARIZE:
			cl->binarize = 1;
			break;
		case OPT_NO_BINARIZE:
			cl->binarize = 0;
			break;
		case 'j':
			cl->json = 1;
			break;
		case OPT_DEVICE:
			cl->device = optarg;
			break;
		case OPT_NO_EMA:
			cl->no_ema = 1;
			break;
		default:
			return dg_tool_option(c, usage_text, argv);
		}
	}
	if (optind < argc)
		return dg_tool_usage("unexpected argument '%s'", argv[optind]);
	if (!cl->model)
		return dg_tool_usage("-m MODEL is required");
	if (!cl->data && isatty(STDIN_FILENO))
		return dg_tool_usage("no data given (-d DATA, e.g. fashion-mnist-test), and "
				     "standard input is a terminal");
	if (!cl->data)
		cl->data = "-";
	return DG_OK;
}

/* ---- evaluation --------------------------------------------------------------- */

/* Dynamic binarization's stream, apart from dg-train's (which is keyed by
 * epoch): image j of the set uses blocks from j·ceil(per/4) on. */
#define RNG_EVAL_BINARIZE 0x6576616cull   /* "eval" */
/* Draws (images × k) per step at most: 80 MB of noise for 20 latents. */
#define MAX_DRAWS (1u << 20)

struct eval {
	const struct cmdline *cl;
	struct dg_checkpoint *ck;
	struct dg_inference *inf;
	const struct dg_model_info *mi;
	struct dg_dataset *ds;
	int binarize, labelled;
	uint64_t n, per;          /* images per step, values per image */
	unsigned nterms;
	const char *const *names;
	double sum[DG_MAX_TERMS], sum2[DG_MAX_TERMS];
	uint64_t images;
	float *x, *noise;
	int32_t *y;
};

/* Checks that the model has metrics for this data; buffers for a step. */
static int prepare(struct eval *ev)
{
	const struct dg_model_info *mi = ev->mi;
	const struct dg_family *f = mi->family;
	const struct dg_dataset_info *di = dg_dataset_info(ev->ds);

	if (!f->loglik)
		return dg_error(DG_EUSAGE, "%s: model family '%s' has no metrics to evaluate",
				ev->cl->model, f->name);
	if (ev->cl->k > 1 && !(f->caps & DG_CAP_LIKELIHOOD))
		return dg_error(DG_EUSAGE, "-k %u: model family '%s' has no likelihood, so "
				"importance samples mean nothing for it (its metric is the "
				"reconstruction error; leave -k out)", ev->cl->k, f->name);
	if (di->channels != mi->channels || di->height != mi->height ||
	    di->width != mi->width)
		return dg_error(DG_EDATA, "%s: images of %ux%ux%u, but the model %s was trained "
				"on %ux%ux%u", di->source, di->channels, di->height, di->width,
				ev->cl->model, mi->channels, mi->height, mi->width);
	ev->per = (uint64_t)mi->channels * mi->height * mi->width;
	ev->labelled = mi->classes && di->has_labels;
	ev->x = malloc(ev->n * ev->per * sizeof *ev->x);
	ev->y = malloc(ev->n * sizeof *ev->y);
	ev->noise = ev->binarize ? malloc(ev->per * sizeof *ev->noise) : NULL;
	if (!ev->x || !ev->y || (ev->binarize && !ev->noise))
		return dg_error_nomem("a batch", ev->n * ev->per * sizeof *ev->x);
	return DG_OK;
}

/* Evaluates the m images now in ev->x (and ev->y). */
static int step(struct eval *ev, uint64_t m)
{
	struct dg_array *out = NULL;
	unsigned nt;
	int st = dg_inference_loglik(ev->inf, m, ev->x, ev->labelled ? ev->y : NULL,
				     ev->cl->k, &out, &ev->names, &nt);
	if (st)
		return dg_error_context(st, "%s", ev->mi->family->name);
	ev->nterms = nt;
	for (unsigned t = 0; !st && t < nt; t++) {
		const float *v = (const float *)out->data + t * m;
		for (uint64_t i = 0; !st && i < m; i++) {
			if (!isfinite(v[i])) {
				st = dg_error(DG_EDATA, "%s: %s of image %llu is %g",
					      ev->mi->family->name, ev->names[t],
					      (unsigned long long)(ev->images + i), v[i]);
				continue;
			}
			ev->sum[t] += v[i];
			ev->sum2[t] += (double)v[i] * v[i];
		}
	}
	dg_array_free(out);
	ev->images += m;
	return st;
}

/* Reads the set in order, in batches of up to n images. */
static int evaluate(struct eval *ev)
{
	uint64_t m = 0;
	int st = DG_OK;

	for (;;) {
		struct dg_array *im = NULL, *lb = NULL;
		if ((st = dg_dataset_read(ev->ds, ev->n - m, &im, ev->labelled ? &lb : NULL)))
			break;
		if (!im)
			break;
		uint64_t got = im->dims[0];
		if (im->rank != 4 || im->dims[1] * im->dims[2] * im->dims[3] != ev->per) {
			dg_array_free(im);
			dg_array_free(lb);
			st = dg_error(DG_EDATA, "%s: images change shape after image %llu",
				      dg_dataset_info(ev->ds)->source,
				      (unsigned long long)(ev->images + m));
			break;
		}
		memcpy(ev->x + m * ev->per, im->data, got * ev->per * sizeof *ev->x);
		for (uint64_t i = 0; i < got; i++)
			ev->y[m + i] = lb ? ((const int32_t *)lb->data)[i] : 0;
		if (ev->binarize)
			for (uint64_t i = 0; i < got; i++) {
				float *px = ev->x + (m + i) * ev->per;
				dg_rng_uniform(ev->cl->seed, RNG_EVAL_BINARIZE,
					       (ev->images + m + i) * ((ev->per + 3) / 4),
					       ev->noise, (size_t)ev->per);
				for (uint64_t j = 0; j < ev->per; j++)
					px[j] = ev->noise[j] < px[j] ? 1.0f : 0.0f;
			}
		dg_array_free(im);
		dg_array_free(lb);
		m += got;
		if (m == ev->n) {
			if ((st = step(ev, m)))
				break;
			m = 0;
		}
	}
	if (!st && m)
		st = step(ev, m);
	if (!st && !ev->images)
		st = dg_error(DG_EDATA, "%s: no images", dg_dataset_info(ev->ds)->source);
	return st;
}

/* ---- the report ------------------------------------------------------------------ */

static const struct metric *known_metric(const char *name)
{
	for (size_t i = 0; i < NMETRICS; i++)
		if (strcmp(metrics[i].name, name) == 0)
			return &metrics[i];
	return NULL;
}

/* One line of the report. */
struct row {
	const char *name;
	const struct metric *m;  /* NULL: a term the table does not know */
	struct result r;
};

static void term_result(const struct eval *ev, unsigned t, struct result *r)
{
	double n = (double)ev->images, mean = ev->sum[t] / n;
	double var = n > 1 ? (ev->sum2[t] - n * mean * mean) / (n - 1) : 0;
	r->mean = mean;
	r->sem = var > 0 ? sqrt(var / n) : 0;
	r->count = ev->images;
}

/* The rows in report order: the table's (loglik() terms the family gave,
 * computed metrics), then terms the table does not know, in the family's
 * order.  Rows under their min_k are left out. */
static int report_rows(struct eval *ev, struct row *rows, unsigned *nrows)
{
	unsigned n = 0;
	int st;
	for (size_t i = 0; i < NMETRICS; i++) {
		const struct metric *m = &metrics[i];
		if (ev->cl->k < m->min_k)
			continue;
		if (m->compute) {
			rows[n] = (struct row){.name = m->name, .m = m};
			if ((st = m->compute(ev, &rows[n].r)))
				return st;
			n++;
			continue;
		}
		for (unsigned t = 0; t < ev->nterms; t++)
			if (strcmp(ev->names[t], m->name) == 0) {
				rows[n] = (struct row){.name = m->name, .m = m};
				term_result(ev, t, &rows[n++].r);
			}
	}
	for (unsigned t = 0; t < ev->nterms; t++)
		if (!known_metric(ev->names[t])) {
			rows[n] = (struct row){.name = ev->names[t]};
			term_result(ev, t, &rows[n++].r);
		}
	*nrows = n;
	return DG_OK;
}

/* A JSON string of plain text (paths may hold quotes or backslashes;
 * bytes >= 0x80 pass through, as the input is UTF-8 or the user's). */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void report_json(const struct eval *ev, const struct row *rows, unsigned n)
{
	char fp[17];

	fputs("{\"model\":", stdout);
	json_string(ev->cl->model);
	printf(",\"fingerprint\":\"%s\",\"family\":", dg_checkpoint_fingerprint_hex(ev->ck, fp));
	json_string(ev->mi->family->name);
	fputs(",\"data\":", stdout);
	json_string(ev->cl->data);
	printf(",\"images\":%llu,\"k\":%u,\"seed\":%llu,\"binarized\":%s,\"device\":",
	       (unsigned long long)ev->images, ev->cl->k, (unsigned long long)ev->cl->seed,
	       ev->binarize ? "true" : "false");
	json_string(ev->mi->device);
	fputs(",\"metrics\":{", stdout);
	for (unsigned i = 0; i < n; i++) {
		printf("%s", i ? "," : "");
		json_string(rows[i].name);
		printf(":{\"mean\":%.9g,\"stderr\":%.9g,\"unit\":", rows[i].r.mean,
		       rows[i].r.sem);
		json_string(term_unit(ev->mi, rows[i].name, rows[i].m));
		fputs(",\"label\":", stdout);
		json_string(term_label(ev->mi, rows[i].name, rows[i].m));
		putchar('}');
	}
	fputs("}}\n", stdout);
}

/* name value ± stderr unit, label: the name first so that scripts can
 * pick a line with awk '$1 == "nelbo" { print $2 }'. */
static void report_text(const struct eval *ev, const struct row *rows, unsigned n)
{
	int w = 6;

	for (unsigned i = 0; i < n; i++)
		w = (int)strlen(rows[i].name) > w ? (int)strlen(rows[i].name) : w;
	printf("%-*s %llu of %s, ", w, "images", (unsigned long long)ev->images, ev->cl->data);
	if (ev->mi->family->caps & DG_CAP_LIKELIHOOD)
		printf("k=%u, ", ev->cl->k);
	printf("seed %llu, %s\n", (unsigned long long)ev->cl->seed,
	       ev->binarize ? "binarized pixels" : "[0,1] intensities");
	for (unsigned i = 0; i < n; i++) {
		printf("%-*s %10.3f ± %-7.3f %s/image  %s", w, rows[i].name, rows[i].r.mean,
		       rows[i].r.sem, term_unit(ev->mi, rows[i].name, rows[i].m),
		       term_label(ev->mi, rows[i].name, rows[i].m));
		if (strcmp(rows[i].name, "iwae") == 0)
			printf(", k=%u", ev->cl->k);
		putchar('\n');
	}
}

/* Whether the model was trained on binarized pixels (train.binarize=1). */
static int trained_binarized(const struct dg_checkpoint *ck)
{
	const char *v = dg_meta_get(dg_checkpoint_cmeta(ck), "train.binarize");
	return v && strcmp(v, "1") == 0;
}

static int run(const struct cmdline *cl)
{
	struct eval ev = {.cl = cl};
	struct dg_dataset_options dopt = {.limit = cl->limit};
	struct row rows[NMETRICS + DG_MAX_TERMS];
	unsigned nrows = 0;
	int st;

	if ((st = dg_checkpoint_read_flags(cl->model, DG_CHECKPOINT_NO_OPTIM, &ev.ck)))
		return st;
	ev.binarize = cl->binarize >= 0 ? cl->binarize : trained_binarized(ev.ck);
	dopt.sequential = strcmp(cl->data, "-") == 0;
	if ((st = dg_dataset_open(cl->data, &dopt, &ev.ds)))
		goto out;
	/* no more rows than the set has (a small set, a test), and no more
	 * draws per step than MAX_DRAWS: the family's noise for a step is
	 * k·rows·latent floats, and its graph grows with k·rows */
	ev.n = cl->batch;
	if (!dg_dataset_info(ev.ds)->sequential && dg_dataset_info(ev.ds)->count < ev.n)
		ev.n = dg_dataset_info(ev.ds)->count ? dg_dataset_info(ev.ds)->count : 1;
	if (ev.n * cl->k > MAX_DRAWS)
		ev.n = MAX_DRAWS / cl->k ? MAX_DRAWS / cl->k : 1;
	struct dg_inference_options io = {.device = cl->device, .batch = ev.n, .seed = cl->seed,
					  .raw_weights = cl->no_ema};
	if ((st = dg_inference_open(ev.ck, &io, &ev.inf)))
		goto out;
	ev.mi = dg_inference_info(ev.inf);
	if ((st = prepare(&ev)) || (st = evaluate(&ev)))
		goto out;
	if ((st = report_rows(&ev, rows, &nrows)))
		goto out;
	if (cl->json)
		report_json(&ev, rows, nrows);
	else
		report_text(&ev, rows, nrows);
out:
	free(ev.x);
	free(ev.y);
	free(ev.noise);
	dg_inference_free(ev.inf);
	dg_dataset_close(ev.ds);
	dg_checkpoint_free(ev.ck);
	return st;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	int st;

	dg_tool_init("dg-eval");
	st = parse_cmdline(argc, argv, &cl);
	if (st)
		return st < 0 ? dg_tool_exit(DG_OK) : st;
	st = run(&cl);
	return dg_tool_exit(st ? dg_tool_fail(st) : DG_OK);
}
