/* dg-encode.c — images (PNG files, folders, archives, IDX, fashion-mnist,
 * streams) to records on stdout: image records, or with -m MODEL latent
 * codes from the model's encoder (the posterior mean, or a draw from the
 * posterior with --sample), or with --project codes found by gradient
 * descent through the model's decoder (GAN inversion). */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg.h"

/* Bytes of images read from a source at a time (at least one image). */
#define READ_BYTES (64u << 20)

static const char usage_text[] =
	"Usage: dg-encode [OPTIONS] [SOURCE...]\n"
	"Turn images into image records (dg-stream(5)) on standard output, or\n"
	"with -m MODEL into latent codes through the model's encoder.\n"
	"A SOURCE is a PNG file, a folder of PNGs, a tar, tar.gz or zip archive of\n"
	"PNGs, an IDX file (plain or .gz), a stream file, '-' for a stream on\n"
	"standard input, or fashion-mnist / fashion-mnist-test.  Without a SOURCE,\n"
	"a stream is read from standard input unless it is a terminal.\n"
	"\n"
	"  -b, --batch N         images (or codes) per record (default 64)\n"
	"  -n, --limit N         encode at most N images in all\n"
	"      --skip N          leave out the first N images (after --class)\n"
	"  -c, --class K         only the images labelled K\n"
	"  -l, --labels FILE     IDX labels for an IDX SOURCE (default: the file\n"
	"                        named like it with 'labels' for 'images')\n"
	"      --strict          a file that is not a PNG in a folder or archive is\n"
	"                        an error (default: skipped with a warning)\n"
	"  -q, --quiet           no warnings\n"
	"  -m, --model MODEL     encode to latent codes: the posterior mean\n"
	"      --sample          with -m, draw each code from the posterior\n"
	"      --project         with -m, find each code by gradient descent on it\n"
	"                        through the decoder (GAN inversion; any family\n"
	"                        that decodes)\n"
	"      --steps N         with --project, Adam steps (default 200)\n"
	"      --lr X            with --project, Adam's learning rate (default 0.05)\n"
	"      --features CLF    with --project, also match the features of this\n"
	"                        classifier checkpoint\n"
	"      --feature-weight W  the feature term's weight (default 1)\n"
	"  -s, --seed S          with --sample or --project, the random seed\n"
	"                        (default 0)\n"
	"      --no-ema          with -m, the trained weights, not their running\n"
	"                        average (for models that keep one)\n"
	"      --device SPEC     with -m: cpu or vulkan:N (default $DG_DEVICE)\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"See dg-encode(1).\n";

struct cmdline {
	uint64_t batch;
	uint64_t limit;          /* 0: all */
	uint64_t skip;
	long klass;              /* -1: every class */
	const char *labels;
	int strict, quiet;
	const char *model, *device;
	int sample, seed_given, no_ema;
	uint64_t seed;
	int project;             /* --project, with the options below */
	uint64_t steps;
	double lr, feature_weight;
	const char *features;
	int project_opts;        /* some --steps, --lr, --features given */
	char **sources;
	int nsources;
};

enum { OPT_STRICT = 256, OPT_SKIP, OPT_SAMPLE, OPT_DEVICE, OPT_NO_EMA, OPT_PROJECT, OPT_STEPS,
       OPT_LR, OPT_FEATURES, OPT_FEATURE_WEIGHT };

static int parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	static const struct option longs[] = {
		{"batch", required_argument, NULL, 'b'},
		{"limit", required_argument, NULL, 'n'},
		{"skip", required_argument, NULL, OPT_SKIP},
		{"class", required_argument, NULL, 'c'},
		{"labels", required_argument, NULL, 'l'},
		{"strict", no_argument, NULL, OPT_STRICT},
		{"quiet", no_argument, NULL, 'q'},
		{"model", required_argument, NULL, 'm'},
		{"sample", no_argument, NULL, OPT_SAMPLE},
		{"seed", required_argument, NULL, 's'},
		{"device", required_argument, NULL, OPT_DEVICE},
		{"no-ema", no_argument, NULL, OPT_NO_EMA},
		{"project", no_argument, NULL, OPT_PROJECT},
		{"steps", required_argument, NULL, OPT_STEPS},
		{"lr", required_argument, NULL, OPT_LR},
		{"features", required_argument, NULL, OPT_FEATURES},
		{"feature-weight", required_argument, NULL, OPT_FEATURE_WEIGHT},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, DG_OPT_VERSION},
		{0},
	};
	int c;
	long v;

	memset(cl, 0, sizeof *cl);
	cl->batch = 64;
	cl->klass = -1;
	cl->steps = 200;
	opterr = 0;  /* messages are ours, in the tools' format */
	while ((c = getopt_long(argc, argv, ":b:n:c:l:qm:s:h", longs, NULL)) != -1) {
		switch (c) {
		case 'b':
			/* the labels= line of a record stays well under the
			 * stream's 1 MiB of metadata */
			if (dg_parse_long("--batch", optarg, 1, 65536, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->batch = (uint64_t)v;
			break;
		case 'n':
			if (dg_parse_long("--limit", optarg, 1, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->limit = (uint64_t)v;
			break;
		case OPT_SKIP:
			if (dg_parse_long("--skip", optarg, 0, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->skip = (uint64_t)v;
			break;
		case 'c':
			if (dg_parse_long("--class", optarg, 0, INT32_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->klass = v;
			break;
		case 'l':
			cl->labels = optarg;
			break;
		case OPT_STRICT:
			cl->strict = 1;
			break;
		case 'q':
			cl->quiet = 1;
			break;
		case 'm':
			cl->model = optarg;
			break;
		case OPT_SAMPLE:
			cl->sample = 1;
			break;
		case 's':
			if (dg_parse_long("--seed", optarg, 0, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->seed = (uint64_t)v;
			cl->seed_given = 1;
			break;
		case OPT_DEVICE:
			cl->device = optarg;
			break;
		case OPT_NO_EMA:
			cl->no_ema = 1;
			break;
		case OPT_PROJECT:
			cl->project = 1;
			break;
		case OPT_STEPS:
			if (dg_parse_long("--steps", optarg, 1, 1000000, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->steps = (uint64_t)v;
			cl->project_opts = 1;
			break;
		case OPT_LR:
			if (dg_parse_double("--lr", optarg, 1e-9, 100, &cl->lr))
				return dg_tool_usage("%s", dg_errmsg());
			cl->project_opts = 1;
			break;
		case OPT_FEATURES:
			cl->features = optarg;
			cl->project_opts = 1;
			break;
		case OPT_FEATURE_WEIGHT:
			if (dg_parse_double("--feature-weight", optarg, 1e-9, 1e9, &cl->feature_weight))
				return dg_tool_usage("%s", dg_errmsg());
			cl->project_opts = 1;
			break;
		default:
			return dg_tool_option(c, usage_text, argv);
		}
	}
	cl->sources = argv + optind;
	cl->nsources = argc - optind;
	if (!cl->nsources && isatty(STDIN_FILENO))
		return dg_tool_usage("no SOURCE given, and standard input is a terminal "
				     "(give a file, or pipe a stream in)");
	if (!cl->nsources) {
		static char *stdin_only[] = {"-"};
		cl->sources = stdin_only;
		cl->nsources = 1;
	}
	if (cl->labels && cl->nsources > 1)
		return dg_tool_usage("--labels goes with a single IDX SOURCE");
	if ((cl->sample || cl->device || cl->no_ema || cl->project) && !cl->model)
		return dg_tool_usage("--sample, --project, --device and --no-ema need -m MODEL");
	if (cl->project_opts && !cl->project)
		return dg_tool_usage("--steps, --lr, --features and --feature-weight go with "
				     "--project");
	if (cl->project && cl->sample)
		return dg_tool_usage("--project and --sample are two ways to encode: give one");
	if (cl->feature_weight > 0 && !cl->features)
		return dg_tool_usage("--feature-weight goes with --features");
	if (cl->seed_given && !cl->sample && !cl->project)
		return dg_tool_usage("--seed goes with --sample or --project (the posterior "
				     "mean is not random)");
	return DG_OK;
}

static void warn(void *ctx, const char *message)
{
	(void)ctx;
	dg_tool_warn("%s", message);
}

/* The model of -m, and --features' classifier. */
struct encoder {
	struct dg_checkpoint *ck;
	struct dg_inference *inf, *features;
	const struct dg_model_info *mi;
	char fp[17];
};

/* Images waiting to become one record: all of one shape, all with labels
 * or all without, at most --batch of them. */
struct pending {
	unsigned c, h, w;
	uint64_t n;
	int has_labels;
	float *x;                /* n × C×H×W, room for cap floats */
	size_t cap;
	int32_t *y;              /* batch */
	struct dg_meta *meta;    /* of the chunk that started it, without labels= */
};

/* Counters across sources, and the stream limit on a record. */
struct progress {
	uint64_t skip_left, written;
	uint64_t max_bytes;
};

/* Encodes the pending images and writes their codes as one record. */
static int write_codes(const struct cmdline *cl, struct encoder *enc, struct pending *p,
		       struct dg_writer *w)
{
	const struct dg_model_info *mi = enc->mi;
	int with_y = mi->conditional && p->has_labels;
	struct dg_array *mean = NULL, *drawn = NULL, *z;
	struct dg_meta *m = NULL;
	int st;

	if (p->c != mi->channels || p->h != mi->height || p->w != mi->width)
		return dg_error(DG_EDATA, "%s: images of %ux%ux%u, but the model %s takes "
				"%ux%ux%u", dg_meta_get(p->meta, "source"), p->c, p->h, p->w,
				cl->model, mi->channels, mi->height, mi->width);
	if (mi->conditional && !p->has_labels)
		return dg_error(DG_EUSAGE, "%s: the model %s is conditional and these images "
				"have no labels", dg_meta_get(p->meta, "source"), cl->model);
	if (cl->project) {
		struct dg_project_options po = {.steps = cl->steps, .lr = (float)cl->lr,
						.features = enc->features,
						.feature_weight = (float)cl->feature_weight};
		st = dg_inference_project(enc->inf, p->n, p->x, with_y ? p->y : NULL, &po, &mean,
					  &drawn);
		if (st)
			return st;
	} else if ((st = dg_inference_encode(enc->inf, p->n, p->x, with_y ? p->y : NULL, &mean,
					     cl->sample ? &drawn : NULL))) {
		if (st == DG_EUSAGE && cl->sample)
			st = dg_error(DG_EUSAGE, "--sample: the %s family's encoder is "
				      "deterministic: it has no posterior to draw from (leave "
				      "--sample out for its codes)", mi->family->name);
		return st;
	}
	z = cl->sample ? drawn : mean;
	char how[16] = "mean", steps[24] = "", err[32] = "";
	if (cl->project) {
		double e = 0;
		for (uint64_t i = 0; i < p->n; i++)
			e += ((const float *)drawn->data)[i];
		snprintf(how, sizeof how, "project");
		snprintf(steps, sizeof steps, "%llu", (unsigned long long)cl->steps);
		snprintf(err, sizeof err, "%.6g", e / (double)p->n);
	} else if (cl->sample) {
		snprintf(how, sizeof how, "sample");
	}
	if (!(m = dg_meta_new()))
		st = DG_ENOMEM;
	if (!st) {
		const char *src = dg_meta_get(p->meta, "source");
		const char *classes = dg_meta_get(p->meta, "classes");
		const char *prior = dg_prior_name(mi->prior);
		/* dg-sample's keys, so dg-decode -m takes these codes too;
		 * prior= tells dg-interp how to interpolate them */
		(void)((st = dg_meta_set(m, "space", "latent")) ||
		       (st = dg_meta_set(m, "model", enc->fp)) ||
		       (st = dg_meta_set(m, "family", mi->family->name)) ||
		       (st = dg_meta_set(m, "prior", prior)) ||
		       (st = dg_meta_set(m, "encoding", how)) ||
		       /* the projection's steps and mean squared pixel error */
		       (*steps && (st = dg_meta_set(m, "project_steps", steps))) ||
		       (*err && (st = dg_meta_set(m, "project_mse", err))) ||
		       (src && (st = dg_meta_set(m, "source", src))) ||
		       (p->has_labels && (st = dg_meta_set_labels(m, p->y, p->n))) ||
		       (classes && (st = dg_meta_set(m, "classes", classes))));
	}
	if (!st)
		st = dg_write_record(w, DG_F32, 2, z->dims, m, z->data);
	dg_meta_free(m);
	dg_array_free(mean);
	dg_array_free(drawn);
	return st;
}

/* Writes the pending images as an image record, or their codes. */
static int flush(const struct cmdline *cl, struct encoder *enc, struct pending *p,
		 struct dg_writer *w)
{
	uint64_t dims[4] = {p->n, p->c, p->h, p->w};
	int st = DG_OK;

	if (!p->n)
		return DG_OK;
	if (enc)
		st = write_codes(cl, enc, p, w);
	else if (!(p->has_labels && (st = dg_meta_set_labels(p->meta, p->y, p->n))))
		st = dg_write_record(w, DG_F32, 4, dims, p->meta, p->x);
	p->n = 0;
	return st;
}

/* Adds image i of a chunk (images im, labels lb or NULL) to the pending
 * record, writing the pending one first when it is full or cannot hold
 * this image (another shape, labels where it has none or the reverse, or
 * a payload that would pass the stream limit max_bytes, which every dg
 * reader would refuse).  The record's memory grows image by image: a
 * large image costs its own size, not a batch of its size. */
static int add(const struct cmdline *cl, struct encoder *enc, struct pending *p,
	       struct dg_writer *w, const struct dg_array *im, const struct dg_array *lb,
	       uint64_t i, uint64_t max_bytes)
{
	unsigned c = (unsigned)im->dims[1], h = (unsigned)im->dims[2], wd = (unsigned)im->dims[3];
	size_t per = (size_t)c * h * wd;
	int st;

	if (p->n && (p->n == cl->batch || p->c != c || p->h != h || p->w != wd ||
		     p->has_labels != (lb != NULL) ||
		     (p->n + 1) * per > max_bytes / sizeof *p->x) && (st = flush(cl, enc, p, w)))
		return st;
	if (!p->n) {
		p->c = c;
		p->h = h;
		p->w = wd;
		p->has_labels = lb != NULL;
		dg_meta_free(p->meta);
		if (!(p->meta = dg_meta_dup(im->meta)))
			return DG_ENOMEM;
		dg_meta_unset(p->meta, "labels");
	}
	if ((p->n + 1) * per > p->cap) {
		/* doubling, up to the batch */
		size_t cap = 2 * p->cap > (p->n + 1) * per ? 2 * p->cap : (p->n + 1) * per;
		float *x;
		if (cap > cl->batch * per)
			cap = cl->batch * per;
		if (!(x = realloc(p->x, cap * sizeof *x)))
			return dg_error_nomem("images", cap * sizeof *x);
		p->x = x;
		p->cap = cap;
	}
	memcpy(p->x + p->n * per, (const float *)im->data + i * per, per * sizeof *p->x);
	if (lb)
		p->y[p->n] = ((const int32_t *)lb->data)[i];
	p->n++;
	return DG_OK;
}

/* Reads one source, selecting images by --class, --skip and --limit. */
static int encode(const struct cmdline *cl, struct encoder *enc, const char *source,
		  struct pending *p, struct progress *pr, struct dg_writer *w)
{
	struct dg_dataset_options opt = {
		.labels = cl->labels, .strict = cl->strict, .sequential = 1,
		.warn = cl->quiet ? NULL : warn,
	};
	struct dg_dataset *ds;
	struct dg_array *im, *lb;
	int st;

	/* without a class filter the source needs to yield no more than
	 * what is skipped and kept, so folders and IDX files stop early */
	if (cl->limit && cl->klass < 0)
		opt.limit = pr->skip_left + (cl->limit - pr->written);
	if ((st = dg_dataset_open(source, &opt, &ds)))
		return st;
	while (!st && !(cl->limit && pr->written == cl->limit)) {
		/* a read of at most --batch images, and of few large ones: the
		 * memory held is about the images of one record */
		const struct dg_dataset_info *di = dg_dataset_info(ds);
		uint64_t per = (uint64_t)di->channels * di->height * di->width * sizeof(float);
		uint64_t n = per ? READ_BYTES / per : cl->batch;
		if ((st = dg_dataset_read(ds, n < 1 ? 1 : n > cl->batch ? cl->batch : n, &im, &lb)) ||
		    !im)
			break;
		for (uint64_t i = 0; i < im->dims[0] && !st; i++) {
			if (cl->klass >= 0 && !lb) {
				st = dg_error(DG_EDATA, "%s: --class %ld: the images have no "
					      "labels", source, cl->klass);
				break;
			}
			if (cl->klass >= 0 && ((const int32_t *)lb->data)[i] != cl->klass)
				continue;
			if (pr->skip_left) {
				pr->skip_left--;
				continue;
			}
			if (cl->limit && pr->written == cl->limit)
				break;
			if (!(st = add(cl, enc, p, w, im, lb, i, pr->max_bytes)))
				pr->written++;
		}
		dg_array_free(im);
		dg_array_free(lb);
	}
	/* each source starts a new record, as without -m */
	if (!st)
		st = flush(cl, enc, p, w);
	dg_dataset_close(ds);
	return st;
}

/* Loads the model of -m and checks that it can encode. */
static int load_model(const struct cmdline *cl, struct encoder *enc)
{
	struct dg_inference_options io = {.device = cl->device, .batch = cl->batch,
					  .seed = cl->seed, .raw_weights = cl->no_ema};
	const struct dg_family *f;
	int st;

	if ((st = dg_checkpoint_read_flags(cl->model, DG_CHECKPOINT_NO_OPTIM, &enc->ck)))
		return st;
	if ((st = dg_inference_open(enc->ck, &io, &enc->inf)))
		return st;
	enc->mi = dg_inference_info(enc->inf);
	f = enc->mi->family;
	dg_checkpoint_fingerprint_hex(enc->ck, enc->fp);
	if (cl->project) {
		if (!(f->caps & DG_CAP_DECODE) || !f->decode || !enc->mi->latent_dim)
			return dg_error(DG_EUSAGE, "--project: model family '%s' does not decode "
					"latent codes: there is no decoder to project onto",
					f->name);
	} else if (!(f->caps & DG_CAP_ENCODE) || !f->encode || !enc->mi->latent_dim) {
		return dg_error(DG_EUSAGE, "%s: model family '%s' has no encoder from images "
				"to latent codes%s", cl->model, f->name,
				(f->caps & DG_CAP_DECODE) && enc->mi->latent_dim
				? " (--project finds codes through its decoder)" : "");
	}
	if (cl->features) {
		struct dg_checkpoint *fck = NULL;
		const struct dg_model_info *ci;
		io.seed = 0;
		if ((st = dg_checkpoint_read_flags(cl->features, DG_CHECKPOINT_NO_OPTIM, &fck)))
			return st;
		st = dg_inference_open(fck, &io, &enc->features);
		dg_checkpoint_free(fck);
		if (st)
			return dg_error_context(st, "--features %s", cl->features);
		ci = dg_inference_info(enc->features);
		if (!(ci->family->caps & DG_CAP_CLASSIFY))
			return dg_error(DG_EUSAGE, "--features %s: a '%s' model, not a classifier "
					"(train one with dg-train -p classifier)", cl->features,
					ci->family->name);
	}
	return DG_OK;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	struct dg_writer *w;
	struct encoder enc = {0};
	struct pending p = {0};
	struct progress pr = {0};
	int st;

	dg_tool_init("dg-encode");
	st = parse_cmdline(argc, argv, &cl);
	if (st)
		return st < 0 ? dg_tool_exit(DG_OK) : st;
	if ((st = dg_tool_check_binary_output(stdout)))
		return dg_tool_fail(st);
	pr.skip_left = cl.skip;
	st = dg_stream_max_payload(&pr.max_bytes);
	if (!st && cl.model)
		st = load_model(&cl, &enc);
	if (!st && !(p.y = malloc(cl.batch * sizeof *p.y)))
		st = dg_error_nomem("labels", cl.batch * sizeof *p.y);
	if (st) {
		dg_inference_free(enc.inf);
		dg_inference_free(enc.features);
		dg_checkpoint_free(enc.ck);
		return dg_tool_exit(dg_tool_fail(st));
	}
	if (!(w = dg_writer_file(stdout, "standard output")))
		st = DG_ENOMEM;
	for (int i = 0; i < cl.nsources && !st; i++)
		if (!cl.limit || pr.written < cl.limit)
			st = encode(&cl, cl.model ? &enc : NULL, cl.sources[i], &p, &pr, w);
	if (!st && cl.model && !pr.written)
		st = dg_error(DG_EDATA, "no images to encode%s",
			      cl.klass >= 0 || cl.skip ? " (after --class and --skip)" : "");
	if (w) {
		int st2 = dg_writer_close(w);
		st = st ? st : st2;
	}
	/* the model's projection uses the classifier's graph: freed first */
	dg_inference_free(enc.inf);
	dg_inference_free(enc.features);
	dg_checkpoint_free(enc.ck);
	free(p.x);
	free(p.y);
	dg_meta_free(p.meta);
	if (st)
		dg_tool_fail(st);
	return dg_tool_exit(st);
}
