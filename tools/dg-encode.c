/* dg-encode.c — images (PNG files, folders, archives, IDX, fashion-mnist,
 * streams) to image records on stdout.  Encoding through a model (-m)
 * arrives with dg-train. */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"

static const char usage_text[] =
	"Usage: dg-encode [OPTIONS] SOURCE...\n"
	"Turn images into image records (dg-stream(5)) on standard output.\n"
	"A SOURCE is a PNG file, a folder of PNGs, a tar, tar.gz or zip archive of\n"
	"PNGs, an IDX file (plain or .gz), a stream file, '-' for a stream on\n"
	"standard input, or fashion-mnist / fashion-mnist-test.\n"
	"\n"
	"  -b, --batch N         images per record (default 64)\n"
	"  -n, --limit N         encode at most N images in all\n"
	"  -l, --labels FILE     IDX labels for an IDX SOURCE (default: the file\n"
	"                        named like it with 'labels' for 'images')\n"
	"      --strict          a file that is not a PNG in a folder or archive is\n"
	"                        an error (default: skipped with a warning)\n"
	"  -q, --quiet           no warnings\n"
	"  -m, --model MODEL     encode to latent codes (not yet supported)\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"See dg-encode(1).\n";

struct cmdline {
	uint64_t batch;
	uint64_t limit;          /* 0: all */
	const char *labels;
	int strict, quiet;
	char **sources;
	int nsources;
};

enum { OPT_STRICT = 256, OPT_VERSION };

static int parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	static const struct option longs[] = {
		{"batch", required_argument, NULL, 'b'},
		{"limit", required_argument, NULL, 'n'},
		{"labels", required_argument, NULL, 'l'},
		{"strict", no_argument, NULL, OPT_STRICT},
		{"quiet", no_argument, NULL, 'q'},
		{"model", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{0},
	};
	int c;
	long v;

	memset(cl, 0, sizeof *cl);
	cl->batch = 64;
	opterr = 0;  /* messages are ours, in the tools' format */
	while ((c = getopt_long(argc, argv, ":b:n:l:qm:h", longs, NULL)) != -1) {
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
			return dg_tool_usage("-m: encoding images through a model is not yet "
					     "supported; without -m, dg-encode writes the "
					     "images themselves as records");
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case OPT_VERSION:
			dg_tool_version();
			return -1;
		case ':':
			return dg_tool_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			return dg_tool_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	cl->sources = argv + optind;
	cl->nsources = argc - optind;
	if (!cl->nsources)
		return dg_tool_usage("no SOURCE given ('-' reads a stream from standard input)");
	if (cl->labels && cl->nsources > 1)
		return dg_tool_usage("--labels goes with a single IDX SOURCE");
	return DG_OK;
}

static void warn(void *ctx, const char *message)
{
	(void)ctx;
	dg_tool_warn("%s", message);
}

/* labels=3,0,7 for the n labels of a record. */
static int set_labels(struct dg_array *im, const struct dg_array *lb)
{
	uint64_t n = lb->dims[0];
	char *text = malloc(n * 12 + 1), *p = text;
	int st;

	if (!text)
		return dg_error_nomem("labels", n * 12);
	*p = 0;
	for (uint64_t i = 0; i < n; i++)
		p += sprintf(p, "%s%d", i ? "," : "", (int)((const int32_t *)lb->data)[i]);
	st = dg_meta_set(im->meta, "labels", text);
	free(text);
	return st;
}

/* Writes the images of one source as records of up to --batch images. */
static int encode(const struct cmdline *cl, const char *source, struct dg_writer *w,
		  uint64_t *written)
{
	struct dg_dataset_options opt = {
		.labels = cl->labels, .strict = cl->strict, .sequential = 1,
		.limit = cl->limit ? cl->limit - *written : 0,
		.warn = cl->quiet ? NULL : warn,
	};
	struct dg_dataset *ds;
	struct dg_array *im, *lb;
	int st = dg_dataset_open(source, &opt, &ds);

	while (!st && !(st = dg_dataset_read(ds, cl->batch, &im, &lb)) && im) {
		if (lb)
			st = set_labels(im, lb);
		if (!st)
			st = dg_write_array(w, im);
		*written += im->dims[0];
		dg_array_free(im);
		dg_array_free(lb);
	}
	dg_dataset_close(ds);
	return st;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	struct dg_writer *w;
	uint64_t written = 0;
	int st;

	dg_tool_init("dg-encode");
	st = parse_cmdline(argc, argv, &cl);
	if (st)
		return st < 0 ? dg_tool_exit(DG_OK) : st;
	if ((st = dg_tool_check_binary_output(stdout)))
		return dg_tool_fail(st);
	if (!(w = dg_writer_file(stdout, "standard output")))
		return dg_tool_fail(DG_ENOMEM);
	for (int i = 0; i < cl.nsources && !st; i++)
		if (!cl.limit || written < cl.limit)
			st = encode(&cl, cl.sources[i], w, &written);
	if (st) {
		dg_writer_close(w);
		return dg_tool_exit(dg_tool_fail(st));
	}
	st = dg_writer_close(w);
	return dg_tool_exit(st ? dg_tool_fail(st) : DG_OK);
}
