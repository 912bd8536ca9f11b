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
	"      --no-ema          the trained weights, not their running average\n"
	"                        (for models that keep one, e.g. GANs)\n"
	"      --device SPEC     cpu or vulkan:N (default $DG_DEVICE or cpu)\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"See dg-sample(1).\n";

enum { OPT_DEVICE = 256, OPT_NO_EMA, OPT_TRUNCATION };

/* The host generator's stream for --truncation's redraws ("trunc"). */
#define TRUNCATION_STREAM 0x7472756e63ull

struct cmdline {
	const char *model, *device;
	uint64_t n, batch, seed;
	double temperature, truncation;   /* truncation 0: none */
	long klass;              /* -1: none */
	int no_ema;
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
		if (cl->truncation > 0)
			dg_latent_truncate(out->data, dg_array_count(out), cl->truncation,
					   cl->temperature, &trunc);
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
