/* dg-eval.c — numbers about models and about samples.  With -m, a trained
 * model's metrics on a dataset (for a VAE the negative ELBO with its
 * terms and the IWAE bound, for an autoencoder its reconstruction error,
 * for a classifier its accuracy), or one score per image (--per-image)
 * and the AUROC of telling a class apart by it (--anomaly).  Without -m,
 * a set of images against a reference set in a classifier's features:
 * FID, KID, Inception Score, precision and recall; --setup trains the
 * default classifier.  The numbers are libdg's (loglik() of the family,
 * dg/metrics.h); this tool feeds the data and reports. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "dg.h"

static const char usage_text[] =
	"Usage: dg-eval -m MODEL [-d DATA] [--per-image | --anomaly CLASS] [OPTIONS]\n"
	"       dg-eval [-f CLASSIFIER] [-r REF] [SAMPLES...] [OPTIONS]\n"
	"       dg-eval --setup [-f PATH]\n"
	"With -m, report a trained model's metrics on DATA, averaged over its\n"
	"images: for a VAE the negative ELBO in nats per image with its\n"
	"reconstruction and KL terms (and with -k K > 1 the IWAE bound on\n"
	"-log p(x)), for an autoencoder its reconstruction error, for a classifier\n"
	"its accuracy.  Without -m, compare the images SAMPLES (default: a stream\n"
	"on standard input) with the reference set REF in the features of a\n"
	"classifier: FID, KID, Inception Score, precision and recall.  DATA,\n"
	"SAMPLES and REF are anything dg-train reads: fashion-mnist-test, IDX, PNG\n"
	"files, folders, archives, stream files, '-' for standard input.\n"
	"\n"
	"A model's metrics:\n"
	"  -m, --model MODEL     the checkpoint written by dg-train\n"
	"  -d, --data DATA       the images to evaluate on (default: a stream on\n"
	"                        standard input, unless it is a terminal)\n"
	"  -k, --samples K       importance samples per image (default 1: the\n"
	"                        ELBO only; K > 1 adds the IWAE bound)\n"
	"  -b, --batch B         images per step (default 100; fewer when\n"
	"                        B x K would exceed 1048576 draws)\n"
	"  -n, --limit N         use at most the first N images of DATA (or of\n"
	"                        SAMPLES)\n"
	"  -s, --seed S          seed of the model's noise (default 0); same\n"
	"                        seed, same numbers\n"
	"      --binarize        binarize the pixels (Bernoulli of the\n"
	"                        intensity) even if the model was not trained so\n"
	"      --no-binarize     evaluate on the intensities even if it was\n"
	"      --per-image       one score per image: records (dg-stream(5)) on\n"
	"                        standard output, or with --json a line each\n"
	"      --score NAME      that score (default: iwae with -k > 1, else\n"
	"                        nelbo, nll or rec, as the family has)\n"
	"      --anomaly CLASS   the AUROC of telling the images of CLASS (its\n"
	"                        number or name) from the others by the score\n"
	"Sample metrics:\n"
	"  -f, --features CLF    the classifier whose features compare the sets\n"
	"                        (default: $DG_EXTRACTOR, else the one --setup\n"
	"                        trained)\n"
	"  -r, --ref REF         the reference set (default fashion-mnist-test)\n"
	"      --ref-limit N     use at most the first N images of REF\n"
	"      --metrics LIST    some of fid,kid,is,pr (default all)\n"
	"      --kid-subsets N   KID's subsets (default 100)\n"
	"      --kid-size M      images per KID subset (default 1000)\n"
	"      --pr-k K          neighbours of precision and recall (default 3)\n"
	"      --splits N        the Inception Score's splits (default 10)\n"
	"      --no-cache        compute REF's features even if they are cached\n"
	"                        beside the classifier, and do not cache them\n"
	"      --setup           train the default classifier (minutes) into\n"
	"                        -f PATH, else the default path\n"
	"  -e, --epochs N        --setup: epochs (default the recipe's; another\n"
	"                        number, or -n, makes a classifier of its own)\n"
	"Both:\n"
	"  -j, --json            JSON instead of lines of text\n"
	"      --no-ema          the trained weights, not their running average\n"
	"      --device SPEC     cpu or vulkan:N (default $DG_DEVICE or cpu)\n"
	"  -q, --quiet           --setup: no epoch lines\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"See dg-eval(1).\n";

/* ---- the metrics of a model ---------------------------------------------------- */

/* What dg-eval knows about each per-image term a family's loglik() may
 * give ("nelbo", "rec", ...), in report order: the name it is reported
 * under, its label and unit.  A term not listed is printed under its own
 * name in nats (plugin.h's convention). */
struct result {
	double mean, sem;        /* mean over the images, its standard error */
	uint64_t count;
};
struct metric {
	const char *term;        /* the loglik() term */
	const char *name;        /* reported as */
	const char *label;       /* a short human name */
	const char *unit;        /* per image, or "fraction" */
	unsigned min_k;          /* reported only with at least this many samples */
};

static const struct metric metrics[] = {
	{"nelbo", "nelbo", "-ELBO (rec + kl)", "nats", 1},
	{"rec", "rec", "reconstruction, -E_q log p(x|z)", "nats", 1},
	{"kl", "kl", "KL(q(z|x) || p(z))", "nats", 1},
	{"iwae", "iwae", "IWAE bound on -log p(x)", "nats", 2},
	{"correct", "accuracy", "accuracy: the fraction whose likeliest class is "
	 "their label", "fraction", 1},
	{"nll", "nll", "cross-entropy, -log p(label|x)", "nats", 1},
	{"entropy", "entropy", "entropy of p(class|x)", "nats", 1},
	{"gen_correct", "gen_accuracy", "the fraction whose lowest -ELBO(x,y) is at their "
	 "label (m2)", "fraction", 1},
	{"jac", "jac", "the encoder's Jacobian, squared Frobenius norm", "squared norm", 1},
	{"bpd", "bpd", "-log2 p(x) per dimension", "bits/dim", 1},
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

/* The ae's "rec" is an error, not a log-likelihood: its unit follows
 * its loss hyperparameter. */
static const char *term_unit(const struct dg_model_info *mi, const char *term,
			     const struct metric *known)
{
	if (!(mi->family->caps & DG_CAP_LIKELIHOOD) && strcmp(term, "rec") == 0) {
		const char *loss = dg_hparams_get(mi->hparams, "loss");
		return !loss ? "error" : strcmp(loss, "bce") == 0 ? "nats" : "squared error";
	}
	return known ? known->unit : "nats";
}

static const char *term_label(const struct dg_model_info *mi, const char *term,
			      const struct metric *known)
{
	if (!(mi->family->caps & DG_CAP_LIKELIHOOD) && strcmp(term, "rec") == 0)
		return "reconstruction error, summed over pixels";
	/* an autoregressive family's nll is the image's, not a label's; a
	 * semi-supervised one's (m2) is its classifier's, a label's */
	if ((mi->family->caps & DG_CAP_LIKELIHOOD) &&
	    !(mi->family->caps & DG_CAP_PARTIAL_LABELS) && strcmp(term, "nll") == 0)
		return "-log p(x), exact";
	return known ? known->label : term;
}

/* ---- command line ----------------------------------------------------------- */

enum {
	OPT_DEVICE = 256, OPT_BINARIZE, OPT_NO_BINARIZE, OPT_NO_EMA, OPT_PER_IMAGE, OPT_SCORE,
	OPT_ANOMALY, OPT_REF_LIMIT, OPT_METRICS, OPT_KID_SUBSETS, OPT_KID_SIZE, OPT_PR_K,
	OPT_SPLITS, OPT_NO_CACHE, OPT_SETUP,
};

/* Sample metrics, as bits of --metrics. */
enum { M_FID = 1, M_KID = 2, M_IS = 4, M_PR = 8, M_ALL = 15 };

struct cmdline {
	const char *model, *data, *device;
	uint64_t batch, limit, seed;
	unsigned k;
	int k_given, json;
	int binarize;            /* -1: as the model was trained, 0 no, 1 yes */
	int no_ema;
	/* per image */
	int per_image;
	const char *score, *anomaly;
	/* samples */
	const char *features, *ref;
	uint64_t ref_limit, kid_size;
	unsigned which, kid_subsets, pr_k, splits;
	int no_cache;
	char **sources;
	int nsources;
	/* setup */
	int setup, quiet;
	uint64_t epochs;
};

static int parse_metrics(const char *s, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"fid", M_FID}, {"kid", M_KID}, {"is", M_IS}, {"pr", M_PR}};
	*out = 0;
	while (*s) {
		size_t n = strcspn(s, ","), i;
		for (i = 0; i < sizeof names / sizeof names[0]; i++)
			if (n == strlen(names[i].name) && !strncmp(s, names[i].name, n))
				break;
		if (i == sizeof names / sizeof names[0])
			return dg_tool_usage("--metrics: '%.*s' is none of fid, kid, is, pr",
					     (int)n, s);
		*out |= names[i].bit;
		s += n + (s[n] == ',');
	}
	return *out ? DG_OK : dg_tool_usage("--metrics: name at least one of fid, kid, is, pr");
}

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
		{"per-image", no_argument, NULL, OPT_PER_IMAGE},
		{"score", required_argument, NULL, OPT_SCORE},
		{"anomaly", required_argument, NULL, OPT_ANOMALY},
		{"features", required_argument, NULL, 'f'},
		{"ref", required_argument, NULL, 'r'},
		{"ref-limit", required_argument, NULL, OPT_REF_LIMIT},
		{"metrics", required_argument, NULL, OPT_METRICS},
		{"kid-subsets", required_argument, NULL, OPT_KID_SUBSETS},
		{"kid-size", required_argument, NULL, OPT_KID_SIZE},
		{"pr-k", required_argument, NULL, OPT_PR_K},
		{"splits", required_argument, NULL, OPT_SPLITS},
		{"no-cache", no_argument, NULL, OPT_NO_CACHE},
		{"setup", no_argument, NULL, OPT_SETUP},
		{"epochs", required_argument, NULL, 'e'},
		{"json", no_argument, NULL, 'j'},
		{"device", required_argument, NULL, OPT_DEVICE},
		{"no-ema", no_argument, NULL, OPT_NO_EMA},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, DG_OPT_VERSION},
		{0},
	};
	int c, st;
	long v;

	memset(cl, 0, sizeof *cl);
	cl->batch = 100;
	cl->k = 1;
	cl->binarize = -1;
	cl->which = M_ALL;
	cl->kid_subsets = 100;
	cl->kid_size = 1000;
	cl->pr_k = 3;
	cl->splits = 10;
	cl->ref = "fashion-mnist-test";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:d:k:b:n:s:f:r:e:jqh", longs, NULL)) != -1) {
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
		case 'e':
			if (dg_parse_long("--epochs", optarg, 1, 100000, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->epochs = (uint64_t)v;
			break;
		case OPT_BINARIZE:
			cl->binarize = 1;
			break;
		case OPT_NO_BINARIZE:
			cl->binarize = 0;
			break;
		case OPT_PER_IMAGE:
			cl->per_image = 1;
			break;
		case OPT_SCORE:
			cl->score = optarg;
			break;
		case OPT_ANOMALY:
			cl->anomaly = optarg;
			break;
		case 'f':
			cl->features = optarg;
			break;
		case 'r':
			cl->ref = optarg;
			break;
		case OPT_REF_LIMIT:
			if (dg_parse_long("--ref-limit", optarg, 1, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->ref_limit = (uint64_t)v;
			break;
		case OPT_METRICS:
			if ((st = parse_metrics(optarg, &cl->which)))
				return st;
			break;
		case OPT_KID_SUBSETS:
			if (dg_parse_long("--kid-subsets", optarg, 1, 100000, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->kid_subsets = (unsigned)v;
			break;
		case OPT_KID_SIZE:
			if (dg_parse_long("--kid-size", optarg, 2, 1000000, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->kid_size = (uint64_t)v;
			break;
		case OPT_PR_K:
			if (dg_parse_long("--pr-k", optarg, 1, 1000, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->pr_k = (unsigned)v;
			break;
		case OPT_SPLITS:
			if (dg_parse_long("--splits", optarg, 1, 100000, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->splits = (unsigned)v;
			break;
		case OPT_NO_CACHE:
			cl->no_cache = 1;
			break;
		case OPT_SETUP:
			cl->setup = 1;
			break;
		case 'j':
			cl->json = 1;
			break;
		case 'q':
			cl->quiet = 1;
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
	cl->sources = argv + optind;
	cl->nsources = argc - optind;
	if (cl->setup) {
		if (cl->model || cl->data || cl->nsources)
			return dg_tool_usage("--setup trains the default classifier: it takes no "
					     "model, data or samples");
		return DG_OK;
	}
	if (cl->model) {
		if (cl->nsources)
			return dg_tool_usage("unexpected argument '%s' (with -m the data is -d "
					     "DATA)", cl->sources[0]);
		if (cl->per_image && cl->anomaly)
			return dg_tool_usage("--per-image and --anomaly: one or the other");
		if (!cl->data && isatty(STDIN_FILENO))
			return dg_tool_usage("no data given (-d DATA, e.g. fashion-mnist-test), "
					     "and standard input is a terminal");
		if (!cl->data)
			cl->data = "-";
		return DG_OK;
	}
	if (cl->per_image || cl->anomaly || cl->score)
		return dg_tool_usage("--per-image, --anomaly and --score need a model (-m MODEL)");
	if (cl->data && cl->nsources)
		return dg_tool_usage("samples given twice (-d %s and %s)", cl->data,
				     cl->sources[0]);
	if (cl->data) {
		cl->sources = (char **)&cl->data;
		cl->nsources = 1;
	}
	if (!cl->nsources && isatty(STDIN_FILENO))
		return dg_tool_usage("-m MODEL is missing, and there are no samples to compare "
				     "either (SAMPLES or a stream on standard input; standard "
				     "input is a terminal)");
	if (!cl->nsources) {
		static char *stdin_name[] = {"-"};
		cl->sources = stdin_name;
		cl->nsources = 1;
	}
	for (int i = 0; i < cl->nsources; i++)
		if (!strcmp(cl->ref, "-") && !strcmp(cl->sources[i], "-"))
			return dg_tool_usage("the samples and the reference cannot both be "
					     "standard input");
	return DG_OK;
}

/* ---- JSON ------------------------------------------------------------------------ */

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

/* ---- a model on a dataset ------------------------------------------------------ */

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
	int binarize;
	int data_labels;          /* the set has labels: read them */
	int labelled;             /* ... and the model takes them */
	uint64_t n, per;          /* images per step, values per image */
	unsigned nterms;
	const char *const *names;
	double sum[DG_MAX_TERMS], sum2[DG_MAX_TERMS];
	uint64_t images;
	float *x, *noise;
	int32_t *y;
	char fp[17];
	/* --per-image and --anomaly */
	int score;                /* the term used, -1 until the first step */
	struct dg_writer *w;
	double *scores;           /* --anomaly: every image's, and its label */
	int32_t *labels;
	uint64_t cap;
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
	ev->data_labels = di->has_labels;
	ev->labelled = mi->classes && di->has_labels;
	ev->score = -1;
	ev->x = malloc(ev->n * ev->per * sizeof *ev->x);
	ev->y = malloc(ev->n * sizeof *ev->y);
	ev->noise = ev->binarize ? malloc(ev->per * sizeof *ev->noise) : NULL;
	if (!ev->x || !ev->y || (ev->binarize && !ev->noise))
		return dg_error_nomem("a batch", ev->n * ev->per * sizeof *ev->x);
	return DG_OK;
}

/* The term --per-image and --anomaly use: --score, else the first of
 * iwae (with k > 1), nelbo, nll, rec the family gives, else its first. */
static int pick_score(struct eval *ev)
{
	static const char *const pref[] = {"iwae", "nelbo", "nll", "rec"};
	if (ev->cl->score) {
		char names[512] = "";
		size_t used = 0;
		for (unsigned t = 0; t < ev->nterms; t++) {
			if (!strcmp(ev->names[t], ev->cl->score))
				return ev->score = (int)t, DG_OK;
			used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
						 t ? ", " : "", ev->names[t]);
			if (used >= sizeof names)
				used = sizeof names - 1;
		}
		return dg_error(DG_EUSAGE, "--score %s: model family %s gives no such score "
				"(it gives %s)", ev->cl->score, ev->mi->family->name, names);
	}
	for (size_t p = ev->cl->k > 1 ? 0 : 1; p < sizeof pref / sizeof pref[0]; p++)
		for (unsigned t = 0; t < ev->nterms; t++)
			if (!strcmp(ev->names[t], pref[p]))
				return ev->score = (int)t, DG_OK;
	ev->score = 0;
	return DG_OK;
}

/* --per-image: the scores of m images as one record, or JSON lines of
 * every term. */
static int write_scores(struct eval *ev, const float *v, uint64_t m)
{
	if (ev->cl->json) {
		for (uint64_t i = 0; i < m; i++) {
			printf("{\"image\":%llu", (unsigned long long)(ev->images + i));
			if (ev->data_labels)
				printf(",\"label\":%ld", (long)ev->y[i]);
			for (unsigned t = 0; t < ev->nterms; t++)
				printf(",\"%s\":%.9g", ev->names[t], v[t * m + i]);
			fputs("}\n", stdout);
		}
		return DG_OK;
	}
	const char *name = ev->names[ev->score];
	const struct metric *known = NULL;
	for (size_t i = 0; i < NMETRICS; i++)
		if (!strcmp(metrics[i].term, name))
			known = &metrics[i];
	struct dg_meta *meta = dg_meta_new();
	int st = !meta || dg_meta_set(meta, "space", "score") || dg_meta_set(meta, "score", name) ||
		 dg_meta_set(meta, "unit", term_unit(ev->mi, name, known)) ||
		 dg_meta_set(meta, "model", ev->fp) ||
		 dg_meta_setf(meta, "first", "%llu", (unsigned long long)ev->images) ?
		 DG_ENOMEM : DG_OK;
	if (!st && ev->data_labels)
		st = dg_meta_set_labels(meta, ev->y, m);
	if (!st)
		st = dg_write_record(ev->w, DG_F32, 1, (const uint64_t[]){m}, meta,
				     v + (uint64_t)ev->score * m);
	dg_meta_free(meta);
	return st;
}

/* --anomaly: keeps the scores and labels of m images. */
static int keep_scores(struct eval *ev, const float *v, uint64_t m)
{
	if (ev->images + m > ev->cap) {
		uint64_t cap = ev->cap ? 2 * ev->cap : 4096;
		while (cap < ev->images + m)
			cap *= 2;
		double *s = realloc(ev->scores, cap * sizeof *s);
		if (s)
			ev->scores = s;
		int32_t *l = s ? realloc(ev->labels, cap * sizeof *l) : NULL;
		if (l)
			ev->labels = l;
		if (!s || !l)
			return dg_error_nomem("the scores", cap * sizeof *s);
		ev->cap = cap;
	}
	for (uint64_t i = 0; i < m; i++) {
		ev->scores[ev->images + i] = v[(uint64_t)ev->score * m + i];
		ev->labels[ev->images + i] = ev->y[i];
	}
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
	const float *all = out->data;
	for (unsigned t = 0; !st && t < nt; t++) {
		const float *v = all + t * m;
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
	if (!st && ev->score < 0 && (ev->cl->per_image || ev->cl->anomaly))
		st = pick_score(ev);
	if (!st && ev->cl->per_image)
		st = write_scores(ev, all, m);
	if (!st && ev->cl->anomaly)
		st = keep_scores(ev, all, m);
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
		if ((st = dg_dataset_read(ev->ds, ev->n - m, &im, ev->data_labels ? &lb : NULL)))
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

/* ---- the report of a model --------------------------------------------------------- */

static const struct metric *known_metric(const char *term)
{
	for (size_t i = 0; i < NMETRICS; i++)
		if (strcmp(metrics[i].term, term) == 0)
			return &metrics[i];
	return NULL;
}

/* One line of the report. */
struct row {
	const char *term, *name;
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

/* The rows in report order: the table's (the terms the family gave),
 * then terms the table does not know, in the family's order.  Rows under
 * their min_k are left out. */
static void report_rows(struct eval *ev, struct row *rows, unsigned *nrows)
{
	unsigned n = 0;
	for (size_t i = 0; i < NMETRICS; i++) {
		const struct metric *m = &metrics[i];
		if (ev->cl->k < m->min_k)
			continue;
		for (unsigned t = 0; t < ev->nterms; t++)
			if (strcmp(ev->names[t], m->term) == 0) {
				rows[n] = (struct row){.term = m->term, .name = m->name, .m = m};
				term_result(ev, t, &rows[n++].r);
			}
	}
	for (unsigned t = 0; t < ev->nterms; t++)
		if (!known_metric(ev->names[t])) {
			rows[n] = (struct row){.term = ev->names[t], .name = ev->names[t]};
			term_result(ev, t, &rows[n++].r);
		}
	*nrows = n;
}

static void report_json(const struct eval *ev, const struct row *rows, unsigned n)
{
	fputs("{\"model\":", stdout);
	json_string(ev->cl->model);
	printf(",\"fingerprint\":\"%s\",\"family\":", ev->fp);
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
		json_string(term_unit(ev->mi, rows[i].term, rows[i].m));
		fputs(",\"label\":", stdout);
		json_string(term_label(ev->mi, rows[i].term, rows[i].m));
		putchar('}');
	}
	fputs("}}\n", stdout);
}

/* name value ± stderr unit, label: the name first so that scripts can
 * pick a line with awk '$1 == "nelbo" { print $2 }'. */
static void report_text(const struct eval *ev, const struct row *rows, unsigned n)
{
	int w = 8;

	for (unsigned i = 0; i < n; i++)
		w = (int)strlen(rows[i].name) > w ? (int)strlen(rows[i].name) : w;
	printf("%-*s %llu of %s, ", w, "images", (unsigned long long)ev->images, ev->cl->data);
	if (ev->mi->family->caps & DG_CAP_LIKELIHOOD)
		printf("k=%u, ", ev->cl->k);
	printf("seed %llu, %s\n", (unsigned long long)ev->cl->seed,
	       ev->binarize ? "binarized pixels" : "[0,1] intensities");
	for (unsigned i = 0; i < n; i++) {
		const char *unit = term_unit(ev->mi, rows[i].term, rows[i].m);
		if (!strcmp(unit, "fraction") || !strcmp(unit, "bits/dim"))
			printf("%-*s %10.4f ± %-7.4f %s  %s", w, rows[i].name, rows[i].r.mean,
			       rows[i].r.sem, unit, term_label(ev->mi, rows[i].term, rows[i].m));
		else
			printf("%-*s %10.3f ± %-7.3f %s/image  %s", w, rows[i].name,
			       rows[i].r.mean, rows[i].r.sem, unit,
			       term_label(ev->mi, rows[i].term, rows[i].m));
		if (strcmp(rows[i].term, "iwae") == 0)
			printf(", k=%u", ev->cl->k);
		putchar('\n');
	}
}

/* ---- --anomaly ------------------------------------------------------------------------ */

/* The class CLASS names: its number, or its name among the set's. */
static int anomaly_class(const struct eval *ev, long *out)
{
	const struct dg_dataset_info *di = dg_dataset_info(ev->ds);
	const char *a = ev->cl->anomaly;
	char *end;
	if (!di->has_labels)
		return dg_error(DG_EUSAGE, "--anomaly %s: %s has no labels to tell the class "
				"by", a, di->source);
	long c = strtol(a, &end, 10);
	if (*a && !*end && c >= 0 && (!di->classes || c < (long)di->classes)) {
		*out = c;
		return DG_OK;
	}
	for (unsigned i = 0; i < di->classes; i++) {
		const char *name = dg_dataset_class(ev->ds, i);
		if (name && !strcmp(name, a)) {
			*out = (long)i;
			return DG_OK;
		}
	}
	return dg_error(DG_EUSAGE, "--anomaly %s: no such class in %s (%u classes, 0..%u, or "
			"their names)", a, di->source, di->classes,
			di->classes ? di->classes - 1 : 0);
}

static int report_anomaly(struct eval *ev, long klass)
{
	const struct dg_dataset_info *di = dg_dataset_info(ev->ds);
	unsigned char *pos = malloc(ev->images ? ev->images : 1);
	uint64_t npos = 0;
	double auc;
	if (!pos)
		return dg_error_nomem("the labels", ev->images);
	for (uint64_t i = 0; i < ev->images; i++)
		npos += pos[i] = ev->labels[i] == klass;
	int st = dg_auroc(ev->scores, pos, ev->images, &auc);
	free(pos);
	if (st)
		return dg_error_context(st, "--anomaly %ld", klass);
	const char *name = dg_dataset_class(ev->ds, (unsigned)klass), *score = ev->names[ev->score];
	if (ev->cl->json) {
		fputs("{\"model\":", stdout);
		json_string(ev->cl->model);
		printf(",\"fingerprint\":\"%s\",\"data\":", ev->fp);
		json_string(di->source);
		printf(",\"score\":\"%s\",\"class\":%ld,\"class_name\":", score, klass);
		json_string(name ? name : "");
		printf(",\"positives\":%llu,\"images\":%llu,\"k\":%u,\"seed\":%llu,"
		       "\"auroc\":%.9g}\n", (unsigned long long)npos,
		       (unsigned long long)ev->images, ev->cl->k, (unsigned long long)ev->cl->seed,
		       auc);
		return DG_OK;
	}
	printf("auroc %.4f  class %ld%s%s%s against the others, %llu of %llu images of %s, by "
	       "%s (higher: more anomalous), model %s\n", auc, klass, name ? " (" : "",
	       name ? name : "", name ? ")" : "", (unsigned long long)npos,
	       (unsigned long long)ev->images, di->source, score, ev->fp);
	return DG_OK;
}

/* Whether the model was trained on binarized pixels (train.binarize=1). */
static int trained_binarized(const struct dg_checkpoint *ck)
{
	const char *v = dg_meta_get(dg_checkpoint_cmeta(ck), "train.binarize");
	return v && strcmp(v, "1") == 0;
}

static int run_model(const struct cmdline *cl)
{
	struct eval ev = {.cl = cl};
	struct dg_dataset_options dopt = {.limit = cl->limit};
	struct row rows[NMETRICS + DG_MAX_TERMS];
	unsigned nrows = 0;
	long klass = 0;
	int st;

	if (cl->per_image && !cl->json && (st = dg_tool_check_binary_output(stdout)))
		return st;
	if ((st = dg_checkpoint_read_flags(cl->model, DG_CHECKPOINT_NO_OPTIM, &ev.ck)))
		return st;
	dg_checkpoint_fingerprint_hex(ev.ck, ev.fp);
	ev.binarize = cl->binarize >= 0 ? cl->binarize : trained_binarized(ev.ck);
	dopt.sequential = strcmp(cl->data, "-") == 0;
	if ((st = dg_dataset_open(cl->data, &dopt, &ev.ds)))
		goto out;
	if (cl->anomaly && (st = anomaly_class(&ev, &klass)))
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
	if ((st = prepare(&ev)))
		goto out;
	if (cl->per_image && !cl->json && !(ev.w = dg_writer_fd(STDOUT_FILENO, "-"))) {
		st = DG_ENOMEM;
		goto out;
	}
	if ((st = evaluate(&ev)))
		goto out;
	if (cl->per_image)
		goto out;
	if (cl->anomaly) {
		st = report_anomaly(&ev, klass);
		goto out;
	}
	report_rows(&ev, rows, &nrows);
	if (cl->json)
		report_json(&ev, rows, nrows);
	else
		report_text(&ev, rows, nrows);
out:
	if (ev.w) {
		int wst = dg_writer_close(ev.w);
		st = st ? st : wst;
	}
	free(ev.x);
	free(ev.y);
	free(ev.noise);
	free(ev.scores);
	free(ev.labels);
	dg_inference_free(ev.inf);
	dg_dataset_close(ev.ds);
	dg_checkpoint_free(ev.ck);
	return st;
}

/* ---- sample metrics ---------------------------------------------------------------- */

/* Images per run of the classifier. */
#define EXTRACT_BATCH 500

struct samples {
	const struct cmdline *cl;
	char extractor[4096];
	int is_default;           /* the default extractor's path */
	struct dg_checkpoint *ck;
	struct dg_inference *inf;
	const struct dg_model_info *mi;
	uint64_t efp;
	char efp_hex[17];
	struct dg_featset *gen, *ref;
	int cached;               /* ref's features came from the cache */
	char cache[4200];
	/* results */
	double fid, kid, kid_sd, is, is_sd, ref_is, ref_is_sd, precision, recall;
	uint64_t kid_size;
};

static int open_extractor(struct samples *s)
{
	const struct cmdline *cl = s->cl;
	int st;
	if (cl->features)
		snprintf(s->extractor, sizeof s->extractor, "%s", cl->features);
	else if ((st = dg_extractor_default_path(s->extractor, sizeof s->extractor)))
		return st;
	s->is_default = !cl->features;
	st = dg_checkpoint_read_flags(s->extractor, DG_CHECKPOINT_NO_OPTIM, &s->ck);
	if (st == DG_ENOINPUT && s->is_default)
		return dg_error(DG_ENOINPUT, "no feature extractor at %s: train the default one "
				"once with dg-eval --setup (or give a classifier with -f)",
				s->extractor);
	if (st)
		return st;
	s->efp = dg_checkpoint_fingerprint(s->ck);
	dg_checkpoint_fingerprint_hex(s->ck, s->efp_hex);
	struct dg_inference_options io = {.device = cl->device, .batch = EXTRACT_BATCH,
					  .raw_weights = cl->no_ema};
	if ((st = dg_inference_open(s->ck, &io, &s->inf)))
		return st;
	s->mi = dg_inference_info(s->inf);
	if (!(s->mi->family->caps & DG_CAP_CLASSIFY))
		return dg_error(DG_EDATA, "%s is a %s model, not a classifier: sample metrics "
				"compare images in a classifier's features (train one with "
				"dg-train -p classifier, or use the default extractor)",
				s->extractor, s->mi->family->name);
	return DG_OK;
}

/* Appends b to a (rows of both), then frees b. */
static int concat(struct dg_featset *a, struct dg_featset *b)
{
	if (a->dim != b->dim || a->classes != b->classes) {
		dg_featset_free(b);
		return dg_error(DG_EINTERNAL, "feature sets of different widths");
	}
	float *f = realloc(a->features, (a->n + b->n) * a->dim * sizeof *f);
	if (f)
		a->features = f;
	float *p = f ? realloc(a->probs, (a->n + b->n) * a->classes * sizeof *p) : NULL;
	if (p)
		a->probs = p;
	if (!f || !p) {
		dg_featset_free(b);
		return dg_error_nomem("features", (a->n + b->n) * a->dim * sizeof *f);
	}
	memcpy(a->features + a->n * a->dim, b->features, b->n * b->dim * sizeof *f);
	memcpy(a->probs + a->n * a->classes, b->probs, b->n * b->classes * sizeof *p);
	a->n += b->n;
	a->fingerprint = (a->fingerprint ^ b->fingerprint) * 0x9e3779b97f4a7c15ull;
	dg_featset_free(b);
	return DG_OK;
}

/* The samples: every source in turn, at most --limit images in all. */
static int read_samples(struct samples *s)
{
	const struct cmdline *cl = s->cl;
	int st = DG_OK;
	for (int i = 0; !st && i < cl->nsources; i++) {
		uint64_t left = cl->limit ? cl->limit - (s->gen ? s->gen->n : 0) : 0;
		if (cl->limit && !left)
			break;
		struct dg_dataset_options o = {.sequential = !strcmp(cl->sources[i], "-"),
					       .limit = left};
		struct dg_dataset *ds = NULL;
		struct dg_featset *fs = NULL;
		if (!(st = dg_dataset_open(cl->sources[i], &o, &ds)))
			st = dg_featset_extract(s->inf, ds, left, &fs);
		dg_dataset_close(ds);
		if (!st)
			st = s->gen ? concat(s->gen, fs) : (s->gen = fs, DG_OK);
	}
	return st;
}

/* The reference's images, all in memory (to fingerprint them before
 * deciding whether to classify them). */
static int read_reference(struct samples *s, float **out, uint64_t *n)
{
	const struct cmdline *cl = s->cl;
	struct dg_dataset_options o = {.sequential = !strcmp(cl->ref, "-"), .limit = cl->ref_limit};
	struct dg_dataset *ds = NULL;
	uint64_t per = (uint64_t)s->mi->channels * s->mi->height * s->mi->width, cap = 0;
	float *x = NULL;
	int st = dg_dataset_open(cl->ref, &o, &ds);
	*n = 0;
	while (!st) {
		struct dg_array *im = NULL;
		if ((st = dg_dataset_read(ds, 4096, &im, NULL)) || !im)
			break;
		if (im->rank != 4 || im->dims[1] != s->mi->channels ||
		    im->dims[2] != s->mi->height || im->dims[3] != s->mi->width) {
			st = dg_error(DG_EDATA, "%s: reference images of %llux%llux%llu, but the "
				      "extractor %s classifies %ux%ux%u images", cl->ref,
				      (unsigned long long)(im->rank == 4 ? im->dims[1] : 0),
				      (unsigned long long)(im->rank == 4 ? im->dims[2] : 0),
				      (unsigned long long)(im->rank == 4 ? im->dims[3] : 0),
				      s->extractor, s->mi->channels, s->mi->height, s->mi->width);
		} else {
			uint64_t m = im->dims[0];
			if (*n + m > cap) {
				cap = cap ? 2 * cap : 16384;
				while (cap < *n + m)
					cap *= 2;
				float *nx = realloc(x, cap * per * sizeof *nx);
				if (!nx)
					st = dg_error_nomem("the reference images", cap * per * 4);
				else
					x = nx;
			}
			if (!st) {
				memcpy(x + *n * per, im->data, m * per * sizeof *x);
				*n += m;
			}
		}
		dg_array_free(im);
	}
	dg_dataset_close(ds);
	if (!st && !*n)
		st = dg_error(DG_EDATA, "%s: no reference images", cl->ref);
	if (st) {
		free(x);
		return st;
	}
	*out = x;
	return DG_OK;
}

/* The reference's features: from the cache beside the extractor when it
 * has them, else computed (and cached, unless --no-cache). */
static int reference(struct samples *s)
{
	const struct cmdline *cl = s->cl;
	float *x = NULL;
	uint64_t n;
	struct dg_image_hash ih;
	int st = read_reference(s, &x, &n), dirty = 0;
	if (st)
		return st;
	dg_image_hash_init(&ih);
	dg_image_hash_add(&ih, x, n, s->mi->channels, s->mi->height, s->mi->width);
	uint64_t rfp = dg_image_hash_end(&ih);
	if ((st = dg_featset_cache_path(s->extractor, s->efp, rfp, s->cache, sizeof s->cache)))
		goto out;
	if (!cl->no_cache) {
		st = dg_featset_cache_load(s->cache, s->efp, rfp, &s->ref);
		if (st == DG_EDATA)
			dg_tool_warn("%s; computing the reference's features again", dg_errmsg());
		s->cached = !st;
		st = DG_OK;
	}
	if (!s->ref) {
		if ((st = dg_featset_extract_array(s->inf, x, n, &s->ref)))
			goto out;
		dirty = 1;
	}
	if ((cl->which & M_FID) && !s->ref->gauss.count) {
		if ((st = dg_featset_gauss(s->ref)))
			goto out;
		dirty = 1;
	}
	if ((cl->which & M_PR) && (!s->ref->radii || s->ref->radii_k != cl->pr_k)) {
		if ((st = dg_featset_radii(s->ref, cl->pr_k)))
			goto out;
		dirty = 1;
	}
	if (dirty && !cl->no_cache && dg_featset_cache_save(s->cache, s->efp, s->ref))
		dg_tool_warn("%s (the reference's features are not cached)", dg_errmsg());
out:
	free(x);
	return st;
}

static int compute(struct samples *s)
{
	const struct cmdline *cl = s->cl;
	int st = DG_OK;
	if (cl->which & M_FID) {
		if (s->gen->n <= s->gen->dim)
			return dg_error(DG_EDATA, "FID needs more images than the extractor's %u "
					"features, got %llu (thousands for a stable number; "
					"--metrics kid,is,pr to do without it)", s->gen->dim,
					(unsigned long long)s->gen->n);
		if ((st = dg_featset_gauss(s->gen)) || (st = dg_fid(&s->gen->gauss, &s->ref->gauss,
								      &s->fid)))
			return dg_error_context(st, "FID");
	}
	if (cl->which & M_KID) {
		struct dg_kid_options o = {.subsets = cl->kid_subsets, .subset_size = cl->kid_size,
					   .seed = cl->seed};
		s->kid_size = cl->kid_size;
		s->kid_size = s->kid_size < s->gen->n ? s->kid_size : s->gen->n;
		s->kid_size = s->kid_size < s->ref->n ? s->kid_size : s->ref->n;
		if ((st = dg_kid(s->gen->features, s->gen->n, s->ref->features, s->ref->n,
				 s->gen->dim, &o, &s->kid, &s->kid_sd)))
			return dg_error_context(st, "KID");
	}
	if (cl->which & M_IS) {
		if ((st = dg_inception_score(s->gen->probs, s->gen->n, s->gen->classes, cl->splits,
					     &s->is, &s->is_sd)) ||
		    (st = dg_inception_score(s->ref->probs, s->ref->n, s->ref->classes, cl->splits,
					     &s->ref_is, &s->ref_is_sd)))
			return dg_error_context(st, "Inception Score");
	}
	if (cl->which & M_PR) {
		if ((st = dg_featset_radii(s->gen, cl->pr_k)) ||
		    (st = dg_precision_recall(s->ref->features, s->ref->radii, s->ref->n,
					      s->gen->features, s->gen->radii, s->gen->n,
					      s->gen->dim, &s->precision, &s->recall)))
			return dg_error_context(st, "precision and recall");
	}
	return DG_OK;
}

static const char *samples_name(const struct cmdline *cl)
{
	if (cl->nsources == 1)
		return !strcmp(cl->sources[0], "-") ? "stdin" : cl->sources[0];
	return "the samples";
}

static void samples_json(const struct samples *s)
{
	const struct cmdline *cl = s->cl;
	fputs("{\"extractor\":{\"path\":", stdout);
	json_string(s->extractor);
	printf(",\"fingerprint\":\"%s\",\"family\":", s->efp_hex);
	json_string(s->mi->family->name);
	printf(",\"features\":%u,\"classes\":%u},\"samples\":{\"sources\":[", s->gen->dim,
	       s->gen->classes);
	for (int i = 0; i < cl->nsources; i++) {
		printf("%s", i ? "," : "");
		json_string(cl->sources[i]);
	}
	printf("],\"images\":%llu},\"reference\":{\"source\":", (unsigned long long)s->gen->n);
	json_string(cl->ref);
	printf(",\"images\":%llu,\"fingerprint\":\"%016llx\",\"cached\":%s},\"metrics\":{",
	       (unsigned long long)s->ref->n, (unsigned long long)s->ref->fingerprint,
	       s->cached ? "true" : "false");
	const char *sep = "";
	if (cl->which & M_FID) {
		printf("\"fid\":{\"value\":%.9g,\"better\":\"lower\"}", s->fid);
		sep = ",";
	}
	if (cl->which & M_KID) {
		printf("%s\"kid\":{\"mean\":%.9g,\"std\":%.9g,\"subsets\":%u,\"subset_size\":%llu,"
		       "\"better\":\"lower\"}", sep, s->kid, s->kid_sd, cl->kid_subsets,
		       (unsigned long long)s->kid_size);
		sep = ",";
	}
	if (cl->which & M_IS) {
		printf("%s\"is\":{\"mean\":%.9g,\"std\":%.9g,\"splits\":%u,\"better\":\"higher\","
		       "\"reference_mean\":%.9g,\"reference_std\":%.9g}", sep, s->is, s->is_sd,
		       cl->splits, s->ref_is, s->ref_is_sd);
		sep = ",";
	}
	if (cl->which & M_PR)
		printf("%s\"precision\":{\"value\":%.9g,\"k\":%u,\"better\":\"higher\"},"
		       "\"recall\":{\"value\":%.9g,\"k\":%u,\"better\":\"higher\"}", sep,
		       s->precision, cl->pr_k, s->recall, cl->pr_k);
	fputs("}}\n", stdout);
}

/* name value [± spread]  what it is, then the context every number
 * carries: the extractor's fingerprint, the sample count, the reference. */
static void samples_text(const struct samples *s)
{
	const struct cmdline *cl = s->cl;
	char ctx[512];
	snprintf(ctx, sizeof ctx, "[%llu samples vs %llu of %s, extractor %s]",
		 (unsigned long long)s->gen->n, (unsigned long long)s->ref->n, cl->ref, s->efp_hex);
	printf("%-10s %s (%s %s, %u features)\n", "extractor", s->extractor,
	       s->mi->family->name, s->efp_hex, s->gen->dim);
	printf("%-10s %llu images of %s\n", "samples", (unsigned long long)s->gen->n,
	       samples_name(cl));
	printf("%-10s %llu images of %s (%s)\n", "reference", (unsigned long long)s->ref->n,
	       cl->ref, s->cached ? "features from the cache" : "features computed");
	if (cl->which & M_FID)
		printf("%-10s %12.4f            lower is better  %s\n", "fid", s->fid, ctx);
	if (cl->which & M_KID)
		printf("%-10s %12.6f ± %-9.6f lower is better, %u subsets of %llu  %s\n", "kid",
		       s->kid, s->kid_sd, cl->kid_subsets, (unsigned long long)s->kid_size, ctx);
	if (cl->which & M_IS)
		printf("%-10s %12.4f ± %-9.4f higher is better, %u splits (reference %.4f ± "
		       "%.4f)  %s\n", "is", s->is, s->is_sd, cl->splits, s->ref_is, s->ref_is_sd,
		       ctx);
	if (cl->which & M_PR) {
		printf("%-10s %12.4f            higher is better, k=%u  %s\n", "precision",
		       s->precision, cl->pr_k, ctx);
		printf("%-10s %12.4f            higher is better, k=%u  %s\n", "recall",
		       s->recall, cl->pr_k, ctx);
	}
}

static int run_samples(const struct cmdline *cl)
{
	struct samples s = {.cl = cl};
	int st = open_extractor(&s);
	if (!st)
		st = read_samples(&s);
	if (!st)
		st = reference(&s);
	if (!st)
		st = compute(&s);
	if (!st && cl->json)
		samples_json(&s);
	else if (!st)
		samples_text(&s);
	dg_featset_free(s.gen);
	dg_featset_free(s.ref);
	dg_inference_free(s.inf);
	dg_checkpoint_free(s.ck);
	return st;
}

/* ---- --setup: the default extractor ------------------------------------------------- */

/* mkdir -p of the folder holding path. */
static int make_parents(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return DG_OK;
	*slash = 0;
	for (char *p = dir + 1; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = 0;
			if (mkdir(dir, 0777) && errno != EEXIST)
				return dg_error(DG_ECANTCREAT, "%s: %s", dir, strerror(errno));
			*p = c;
			if (!c)
				break;
		}
	}
	return DG_OK;
}

static int setup_progress(void *ctx, const struct dg_train_progress *p)
{
	const struct cmdline *cl = ctx;
	if (!p->end_of_epoch || cl->quiet)
		return 0;
	fprintf(stderr, "dg-eval: setup: epoch %llu/%llu:", (unsigned long long)p->epoch + 1,
		(unsigned long long)p->epochs);
	for (unsigned i = 0; i < p->nterms; i++)
		fprintf(stderr, " %s %.6g", p->names[i], p->terms[i]);
	fprintf(stderr, ", %.0f images/s, %.1f s\n", p->images_per_s, p->elapsed);
	return 0;
}

/* The accuracy of the classifier at path on the recipe's test set. */
static int setup_accuracy(const char *path, const char *test, double *acc, uint64_t *n)
{
	struct dg_checkpoint *ck = NULL;
	struct dg_inference *inf = NULL;
	struct dg_dataset *ds = NULL;
	double right = 0;
	*n = 0;
	int st = dg_checkpoint_read_flags(path, DG_CHECKPOINT_NO_OPTIM, &ck);
	if (!st)
		st = dg_inference_open(ck, &(struct dg_inference_options){.batch = EXTRACT_BATCH,
									  .device = "cpu"}, &inf);
	if (!st)
		st = dg_dataset_open(test, NULL, &ds);
	while (!st) {
		struct dg_array *im = NULL, *lb = NULL, *out = NULL;
		const char *const *names;
		unsigned nt;
		if ((st = dg_dataset_read(ds, EXTRACT_BATCH, &im, &lb)) || !im)
			break;
		if (!lb)
			st = dg_error(DG_EDATA, "%s has no labels", test);
		if (!st)
			st = dg_inference_loglik(inf, im->dims[0], im->data, lb->data, 1, &out, &names,
						 &nt);
		for (unsigned t = 0; !st && t < nt; t++)
			if (!strcmp(names[t], "correct"))
				for (uint64_t i = 0; i < im->dims[0]; i++)
					right += ((const float *)out->data)[t * im->dims[0] + i];
		if (!st)
			*n += im->dims[0];
		dg_array_free(im);
		dg_array_free(lb);
		dg_array_free(out);
	}
	*acc = *n ? right / (double)*n : 0;
	dg_dataset_close(ds);
	dg_inference_free(inf);
	dg_checkpoint_free(ck);
	return st;
}

static int run_setup(const struct cmdline *cl)
{
	const struct dg_extractor_recipe *r = dg_extractor_recipe();
	const struct dg_family *f = NULL;
	struct dg_hparams *hp = NULL;
	struct dg_dataset *ds = NULL;
	struct dg_trainer *t = NULL;
	struct dg_checkpoint *ck = NULL;
	char path[4096], fp[17] = "";
	uint64_t epochs = cl->epochs ? cl->epochs : r->epochs, n = 0;
	int own = cl->limit || epochs != r->epochs, st;
	double acc = 0;

	if (cl->features)
		snprintf(path, sizeof path, "%s", cl->features);
	else if ((st = dg_extractor_default_path(path, sizeof path)))
		return st;
	struct dg_train_config cfg = {.batch = r->batch, .seed = r->seed, .seed_set = 1,
				      .device = "cpu"};
	struct dg_dataset_options o = {.limit = cl->limit};
	if (!(st = make_parents(path)) && !(st = dg_family_load(r->family, &f)) &&
	    !(st = dg_hparams_new(f, &hp)) && !(st = dg_dataset_open(r->data, &o, &ds)) &&
	    !(st = dg_trainer_new(f, hp, ds, &cfg, &t))) {
		if (!cl->quiet)
			fprintf(stderr, "dg-eval: setup: training the %s family on %s, %llu epochs "
				"of batches of %llu, seed %llu, on the cpu device\n", r->family,
				r->data, (unsigned long long)epochs, (unsigned long long)r->batch,
				(unsigned long long)r->seed);
		st = dg_trainer_run(t, epochs, setup_progress, (void *)cl, NULL);
	}
	if (!st)
		st = dg_trainer_save(t, path, 0);
	dg_trainer_free(t);
	dg_dataset_close(ds);
	dg_hparams_free(hp);
	if (!st)
		st = dg_checkpoint_read_flags(path, DG_CHECKPOINT_NO_OPTIM, &ck);
	if (!st)
		dg_checkpoint_fingerprint_hex(ck, fp);
	dg_checkpoint_free(ck);
	if (!st)
		st = setup_accuracy(path, r->test, &acc, &n);
	if (st)
		return st;
	if (cl->json) {
		fputs("{\"extractor\":", stdout);
		json_string(path);
		printf(",\"fingerprint\":\"%s\",\"recipe\":%s,\"reference_fingerprint\":", fp,
		       own ? "false" : "true");
		if (r->fingerprint)
			printf("\"%s\"", r->fingerprint);
		else
			fputs("null", stdout);
		printf(",\"accuracy\":%.9g,\"test\":\"%s\",\"test_images\":%llu}\n", acc, r->test,
		       (unsigned long long)n);
	} else {
		printf("%-11s %s\n", "extractor", path);
		printf("%-11s %s\n", "fingerprint", fp);
		printf("%-11s %.4f on %llu images of %s\n", "accuracy", acc, (unsigned long long)n,
		       r->test);
	}
	if (own)
		dg_tool_warn("--limit or --epochs: this classifier is not the default recipe's, "
			     "and its sample metrics compare with no one else's");
	else if (r->fingerprint && strcmp(fp, r->fingerprint))
		dg_tool_warn("fingerprint %s differs from the recipe's reference %s (this CPU "
			     "rounds differently): FIDs from it are not comparable with those of "
			     "the reference extractor; copy that file here to compare", fp,
			     r->fingerprint);
	return DG_OK;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	int st;

	dg_tool_init("dg-eval");
	st = parse_cmdline(argc, argv, &cl);
	if (st)
		return st < 0 ? dg_tool_exit(DG_OK) : st;
	st = cl.setup ? run_setup(&cl) : cl.model ? run_model(&cl) : run_samples(&cl);
	return dg_tool_exit(st ? dg_tool_fail(st) : DG_OK);
}
