/* dg-translate.c — image records in, the model's images of them out: an
 * image-to-image family's translation (pix2pix), an autoencoder's
 * reconstruction.  One output record per input record, labels and
 * source kept, so the stream composes like the other tools:
 *
 *     dg-encode a.png | dg-translate -m p2p.dgm | dg-decode > b.png */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg.h"

static const char usage_text[] =
	"Usage: dg-translate -m MODEL [OPTIONS] [FILE...]\n"
	"Read image records (dg-stream(5)) from FILEs, or from standard input\n"
	"when no FILE is given, and write what the model makes of each image as\n"
	"image records on standard output (pipe them to dg-decode).\n"
	"\n"
	"  -m, --model MODEL     the checkpoint written by dg-train\n"
	"  -b, --batch B         images per run (default 64); any record size\n"
	"                        works\n"
	"  -s, --seed S          seed of the model's noise, if it has any\n"
	"                        (default 0)\n"
	"      --no-ema          the trained weights, not their running average\n"
	"      --device SPEC     cpu or vulkan:N (default $DG_DEVICE or cpu)\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"See dg-translate(1).\n";

enum { OPT_DEVICE = 256, OPT_NO_EMA };

struct cmdline {
	const char *model, *device;
	uint64_t batch, seed;
	int no_ema;
	char **inputs;
	int ninputs;
};

static int parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	static const struct option longs[] = {
		{"model", required_argument, NULL, 'm'},
		{"batch", required_argument, NULL, 'b'},
		{"seed", required_argument, NULL, 's'},
		{"no-ema", no_argument, NULL, OPT_NO_EMA},
		{"device", required_argument, NULL, OPT_DEVICE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, DG_OPT_VERSION},
		{0},
	};
	static char *stdin_only[] = {"-"};
	int c;
	long v;

	memset(cl, 0, sizeof *cl);
	cl->batch = 64;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:b:s:h", longs, NULL)) != -1) {
		switch (c) {
		case 'm':
			cl->model = optarg;
			break;
		case 'b':
			if (dg_parse_long("--batch", optarg, 1, 1 << 16, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->batch = (uint64_t)v;
			break;
		case 's':
			if (dg_parse_long("--seed", optarg, 0, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->seed = (uint64_t)v;
			break;
		case OPT_NO_EMA:
			cl->no_ema = 1;
			break;
		case OPT_DEVICE:
			cl->device = optarg;
			break;
		default:
			return dg_tool_option(c, usage_text, argv);
		}
	}
	if (!cl->model)
		return dg_tool_usage("-m MODEL is required");
	cl->inputs = argv + optind;
	cl->ninputs = argc - optind;
	if (!cl->ninputs && isatty(STDIN_FILENO))
		return dg_tool_usage("no FILE given, and standard input is a terminal (pipe "
				     "image records in, e.g. from dg-encode)");
	if (!cl->ninputs) {
		cl->inputs = stdin_only;
		cl->ninputs = 1;
	}
	return DG_OK;
}

struct translator {
	const struct cmdline *cl;
	struct dg_inference *inf;
	const struct dg_model_info *mi;
	char fp[17];
	struct dg_writer *w;
	uint64_t images;
};

/* Translates the images of one record (payload read as f32) and writes
 * them as one record. */
static int translate(struct translator *tr, const char *in, const struct dg_record *rec,
		     const float *x, uint64_t n)
{
	const struct dg_model_info *mi = tr->mi;
	unsigned long long ri = (unsigned long long)rec->index;
	struct dg_array *out = NULL;
	struct dg_meta *m = NULL;
	int32_t *y = NULL;
	int found = 0, st = DG_OK;

	if (mi->conditional) {
		if (!(y = malloc((n ? n : 1) * sizeof *y)))
			return dg_error_nomem("labels", n * sizeof *y);
		if ((st = dg_meta_get_labels(rec->meta, n, y, &found)))
			st = dg_error_context(st, "%s: record %llu", in, ri);
		else if (!found)
			st = dg_error(DG_EDATA, "%s: record %llu: the model %s is conditional; "
				      "the images need labels= (dg-encode keeps them)", in, ri,
				      tr->cl->model);
	}
	if (!st)
		st = dg_inference_translate(tr->inf, n, x, y, &out);
	if (!st && !(m = dg_meta_dup(rec->meta)))
		st = DG_ENOMEM;
	if (!st && !((st = dg_meta_set(m, "space", "image")) ||
		     (st = dg_meta_set(m, "model", tr->fp)) ||
		     (st = dg_meta_set(m, "family", mi->family->name))))
		st = dg_write_record(tr->w, DG_F32, out->rank, out->dims, m, out->data);
	if (!st)
		tr->images += n;
	dg_meta_free(m);
	dg_array_free(out);
	free(y);
	return st;
}

/* Checks that a record holds images the model takes. */
static int check_record(const struct translator *tr, const char *in,
			const struct dg_record *rec)
{
	const struct dg_model_info *mi = tr->mi;
	const char *space = dg_meta_get(rec->meta, "space");
	unsigned long long ri = (unsigned long long)rec->index;
	const uint64_t *d = rec->dims + rec->rank - 3;

	if (space && strcmp(space, "image") != 0)
		return dg_error(DG_EDATA, "%s: record %llu: space=%s, not images%s", in, ri, space,
				strcmp(space, "latent") == 0 ? " (latent codes go to dg-decode "
				"-m)" : "");
	if (rec->rank != 3 && rec->rank != 4)
		return dg_error(DG_EDATA, "%s: record %llu: not images (N×C×H×W or C×H×W)", in,
				ri);
	if (d[0] != mi->channels || d[1] != mi->height || d[2] != mi->width)
		return dg_error(DG_EDATA, "%s: record %llu: images of %llux%llux%llu, but the "
				"model %s takes %ux%ux%u", in, ri, (unsigned long long)d[0],
				(unsigned long long)d[1], (unsigned long long)d[2],
				tr->cl->model, mi->channels, mi->height, mi->width);
	return DG_OK;
}

static int translate_input(struct translator *tr, const char *path)
{
	struct dg_reader *r = dg_reader_open(path);
	const char *in = strcmp(path, "-") == 0 ? "standard input" : path;
	const struct dg_record *rec;
	int st;

	if (!r)
		return DG_ENOINPUT;
	while (!(st = dg_reader_next(r, &rec)) && rec) {
		uint64_t n = rec->rank == 4 ? rec->dims[0] : 1;
		float *x = NULL;
		if ((st = check_record(tr, in, rec)) || (st = dg_reader_payload_f32(r, &x)))
			break;
		/* u8 images hold 0..255: the models take [0,1] */
		if (rec->dtype == DG_U8)
			for (uint64_t i = 0; i < n * tr->mi->channels * tr->mi->height *
						     tr->mi->width; i++)
				x[i] /= 255.0f;
		if (n)
			st = translate(tr, in, rec, x, n);
		dg_free(x);
		if (st)
			break;
	}
	dg_reader_close(r);
	return st;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	struct translator tr = {.cl = &cl};
	struct dg_checkpoint *ck = NULL;
	int st;

	dg_tool_init("dg-translate");
	st = parse_cmdline(argc, argv, &cl);
	if (st)
		return st < 0 ? dg_tool_exit(DG_OK) : st;
	if ((st = dg_tool_check_binary_output(stdout)))
		return dg_tool_fail(st);
	struct dg_inference_options io = {.device = cl.device, .batch = cl.batch,
					  .seed = cl.seed, .raw_weights = cl.no_ema};
	if (!(st = dg_checkpoint_read_flags(cl.model, DG_CHECKPOINT_NO_OPTIM, &ck)) &&
	    !(st = dg_inference_open(ck, &io, &tr.inf))) {
		tr.mi = dg_inference_info(tr.inf);
		dg_checkpoint_fingerprint_hex(ck, tr.fp);
		if (!(tr.mi->family->caps & DG_CAP_TRANSLATE))
			st = dg_error(DG_EUSAGE, "%s: model family '%s' does not translate "
				      "images", cl.model, tr.mi->family->name);
	}
	if (!st && !(tr.w = dg_writer_file(stdout, "standard output")))
		st = DG_ENOMEM;
	for (int i = 0; i < cl.ninputs && !st; i++)
		st = translate_input(&tr, cl.inputs[i]);
	if (!st && !tr.images)
		st = dg_error(DG_EDATA, "no images in the input");
	if (tr.w) {
		int st2 = dg_writer_close(tr.w);
		st = st ? st : st2;
	}
	dg_inference_free(tr.inf);
	dg_checkpoint_free(ck);
	return dg_tool_exit(st ? dg_tool_fail(st) : DG_OK);
}
