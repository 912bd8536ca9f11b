/* dg-sample.c — draws from a trained model: latent codes from the prior
 * for latent-variable families (decode them with dg-decode -m), or
 * images for families that sample in data space. */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	"      --no-ema          the trained weights, not their running average\n"
	"                        (for models that keep one, e.g. GANs)\n"
	"      --device SPEC     cpu or vulkan:N (default $DG_DEVICE or cpu)\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"See dg-sample(1).\n";

enum { OPT_DEVICE = 256, OPT_NO_EMA, OPT_TRUNCATION, OPT_CODE };

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
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:n:b:t:s:c:h", longs, NULL)) != -1) {
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
	return DG_OK;
}

/* The value of hyperparameter name in hp, 0 when the family has none. */
static long hparam_long(const struct dg_hparams *hp, const char *name)
{
	for (size_t i = 0; i < dg_hparams_count(hp); i++)
		if (!strcmp(dg_hparams_row(hp, i)->name, name))
			return strtol(dg_hparams_text(hp, i), NULL, 10);
	return 0;
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
	    (latent && (st = dg_meta_set(meta, "prior",
					 mi->prior == DG_PRIOR_GAUSSIAN ? "gaussian"
					 : mi->prior == DG_PRIOR_UNIFORM ? "uniform" : "none"))))
		goto out;
	if (cl->truncation > 0) {
		char tv[32];
		snprintf(tv, sizeof tv, "%.9g", cl->truncation);
		if ((st = dg_meta_set(meta, "truncation", tv)))
			goto out;
	}
	for (uint64_t done = 0; done < cl->n && !st; done += b) {
		uint64_t k = cl->n - done < b ? cl->n - done : b;
		if ((st = dg_inference_sample(inf, k, (float)cl->temperature, labels, &out)))
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
	if (st) {
		dg_writer_close(w);
		return dg_tool_exit(dg_tool_fail(st));
	}
	st = dg_writer_close(w);
	return dg_tool_exit(st ? dg_tool_fail(st) : DG_OK);
}
