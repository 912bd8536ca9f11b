/* dg-interp.c — latent codes in, latent codes out, no model needed: paths
 * through the codes (-n, --loop), a grid spanned by four corners (--grid),
 * a linear expression over them (--expr), their mean (--mean), or
 * traversals that sweep one coordinate at a time (--traverse).  The
 * arithmetic is libcore's (dg/latent.h); this file reads, checks and
 * writes records. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"

static const char usage_text[] =
	"Usage: dg-interp [OPTIONS] [FILE...]\n"
	"Read latent codes (dg-stream(5) records, space=latent) from FILEs or\n"
	"standard input, all records as one list of codes in order, and write\n"
	"new latent codes on standard output.  Pipe them to dg-decode -m MODEL.\n"
	"\n"
	"Modes (one of them; a path with -n 8 by default):\n"
	"  -n, --steps N         a path through the codes: N points (N >= 2) on\n"
	"                        each segment between consecutive codes, ends\n"
	"                        included, shared ends written once\n"
	"  -l, --loop            with -n, close the path back to the first code\n"
	"  -g, --grid COLSxROWS  a grid spanned by exactly 4 corner codes (top left,\n"
	"                        top right, bottom left, bottom right), row by row\n"
	"  -e, --expr EXPR       one code from a linear expression of the codes,\n"
	"                        a = first, b = second ... z (e.g. 'c - a + b',\n"
	"                        '0.5*a + 0.5*b')\n"
	"      --mean            one code: the mean of all the codes\n"
	"  -t, --traverse DIM|all  for each code, N codes (-n, default 9) whose\n"
	"                        coordinate DIM (from 0) sweeps --range, the\n"
	"                        others kept; 'all': a row of N per coordinate\n"
	"                        (decode with --grid Nx<code size>)\n"
	"      --range LO:HI     the values a traversal sweeps (default -3:3)\n"
	"\n"
	"  --lerp, --slerp       straight line, or great circle with linearly\n"
	"                        interpolated norm (default slerp, lerp when the\n"
	"                        codes say prior= other than gaussian)\n"
	"  -b, --batch B         codes per output record (default 64)\n"
	"  -c, --class K         write labels=K on every output code (conditional\n"
	"                        models decode with it)\n"
	"      --force           mix codes of different models (the output keeps\n"
	"                        the first one's model=)\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"See dg-interp(1).\n";

enum mode { PATH, GRID, EXPR, MEAN, TRAVERSE };
enum { OPT_LERP = 256, OPT_SLERP, OPT_MEAN, OPT_FORCE, OPT_RANGE };
enum { TRAVERSE_ALL = -1 };

struct cmdline {
	enum mode mode;
	uint64_t steps;
	int loop;
	enum dg_interp_mode interp;     /* 0: by the codes' prior= */
	unsigned cols, rows;
	const char *expr_text;
	struct dg_latent_expr expr;
	long dim;                       /* TRAVERSE: a coordinate or TRAVERSE_ALL */
	double lo, hi;                  /* TRAVERSE: the values swept */
	uint64_t batch;
	long klass;                     /* -1: no labels= */
	int force;
	char **inputs;
	int ninputs;
};

/* "COLSxROWS", both given, each 1..4096 (the codes must fit memory). */
static int parse_grid(const char *s, unsigned *cols, unsigned *rows)
{
	const char *x = strchr(s, 'x');
	char part[32];
	long c, r;

	if (!x || (size_t)(x - s) >= sizeof part)
		return dg_error(DG_EUSAGE, "--grid: '%s' is not COLSxROWS (e.g. 8x8)", s);
	memcpy(part, s, (size_t)(x - s));
	part[x - s] = 0;
	if (dg_parse_long("--grid", part, 1, 4096, &c) ||
	    dg_parse_long("--grid", x + 1, 1, 4096, &r))
		return dg_error(DG_EUSAGE, "--grid: '%s' is not COLSxROWS with each "
				"side 1..4096 (e.g. 8x8)", s);
	*cols = (unsigned)c;
	*rows = (unsigned)r;
	return DG_OK;
}

/* "DIM" (0..2^24-1) or "all". */
static int parse_dim(const char *s, long *dim)
{
	if (strcmp(s, "all") == 0) {
		*dim = TRAVERSE_ALL;
		return DG_OK;
	}
	if (dg_parse_long("--traverse", s, 0, (1 << 24) - 1, dim))
		return dg_error(DG_EUSAGE, "--traverse: '%s' is neither a coordinate "
				"(0, 1, ...) nor 'all'", s);
	return DG_OK;
}

/* "LO:HI", two different finite numbers (HI < LO sweeps downwards). */
static int parse_range(const char *s, double *lo, double *hi)
{
	const char *colon = strchr(s, ':');
	char part[64];

	if (!colon || (size_t)(colon - s) >= sizeof part)
		return dg_error(DG_EUSAGE, "--range: '%s' is not LO:HI (e.g. -3:3)", s);
	memcpy(part, s, (size_t)(colon - s));
	part[colon - s] = 0;
	if (dg_parse_double("--range", part, -1e30, 1e30, lo) ||
	    dg_parse_double("--range", colon + 1, -1e30, 1e30, hi))
		return dg_error(DG_EUSAGE, "--range: '%s' is not LO:HI with two finite "
				"numbers (e.g. -3:3)", s);
	if (*lo == *hi)
		return dg_error(DG_EUSAGE, "--range: '%s' sweeps nothing: LO and HI are "
				"equal", s);
	return DG_OK;
}

static int parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	static const struct option longs[] = {
		{"steps", required_argument, NULL, 'n'},
		{"loop", no_argument, NULL, 'l'},
		{"grid", required_argument, NULL, 'g'},
		{"expr", required_argument, NULL, 'e'},
		{"mean", no_argument, NULL, OPT_MEAN},
		{"traverse", required_argument, NULL, 't'},
		{"range", required_argument, NULL, OPT_RANGE},
		{"lerp", no_argument, NULL, OPT_LERP},
		{"slerp", no_argument, NULL, OPT_SLERP},
		{"batch", required_argument, NULL, 'b'},
		{"class", required_argument, NULL, 'c'},
		{"force", no_argument, NULL, OPT_FORCE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, DG_OPT_VERSION},
		{0},
	};
	int c, modes = 0, have_n = 0, have_range = 0;
	long v;

	memset(cl, 0, sizeof *cl);
	cl->steps = 8;
	cl->batch = 64;
	cl->klass = -1;
	cl->lo = -3;
	cl->hi = 3;
	opterr = 0;  /* messages are ours, in the tools' format */
	while ((c = getopt_long(argc, argv, ":n:lg:e:t:b:c:h", longs, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (dg_parse_long("--steps", optarg, 2, 1 << 24, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->steps = (uint64_t)v;
			have_n = 1;
			break;
		case 'l':
			cl->loop = 1;
			break;
		case 'g':
			if (parse_grid(optarg, &cl->cols, &cl->rows))
				return dg_tool_usage("%s", dg_errmsg());
			cl->mode = GRID;
			modes++;
			break;
		case 'e':
			cl->expr_text = optarg;
			if (dg_latent_expr_parse(optarg, &cl->expr, NULL))
				return dg_tool_usage("--expr '%s': %s", optarg, dg_errmsg());
			cl->mode = EXPR;
			modes++;
			break;
		case OPT_MEAN:
			cl->mode = MEAN;
			modes++;
			break;
		case 't':
			if (parse_dim(optarg, &cl->dim))
				return dg_tool_usage("%s", dg_errmsg());
			cl->mode = TRAVERSE;
			modes++;
			break;
		case OPT_RANGE:
			if (parse_range(optarg, &cl->lo, &cl->hi))
				return dg_tool_usage("%s", dg_errmsg());
			have_range = 1;
			break;
		case OPT_LERP:
		case OPT_SLERP:
			if (cl->interp && cl->interp != (c == OPT_LERP ? DG_INTERP_LERP
								       : DG_INTERP_SLERP))
				return dg_tool_usage("--lerp and --slerp exclude each other");
			cl->interp = c == OPT_LERP ? DG_INTERP_LERP : DG_INTERP_SLERP;
			break;
		case 'b':
			if (dg_parse_long("--batch", optarg, 1, 1 << 20, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->batch = (uint64_t)v;
			break;
		case 'c':
			if (dg_parse_long("--class", optarg, 0, INT32_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->klass = v;
			break;
		case OPT_FORCE:
			cl->force = 1;
			break;
		default:
			return dg_tool_option(c, usage_text, argv);
		}
	}
	if (modes > 1)
		return dg_tool_usage("--grid, --expr, --mean and --traverse exclude each "
				     "other");
	if (cl->mode == TRAVERSE) {
		if (cl->loop)
			return dg_tool_usage("--loop closes a path; it does not go with "
					     "--traverse");
		if (!have_n)
			cl->steps = 9;
	} else if (modes && (have_n || cl->loop)) {
		return dg_tool_usage("-n and --loop make a path; they do not go with "
				     "--grid, --expr or --mean");
	}
	if (have_range && cl->mode != TRAVERSE)
		return dg_tool_usage("--range is the sweep of --traverse");
	if (cl->interp && (cl->mode == EXPR || cl->mode == MEAN || cl->mode == TRAVERSE))
		return dg_tool_usage("--lerp and --slerp choose how to interpolate; "
				     "--expr, --mean and --traverse do not interpolate");
	cl->inputs = argv + optind;
	cl->ninputs = argc - optind;
	return DG_OK;
}

/* What the input codes are, from the first record, and the output. */
struct state {
	const struct cmdline *cl;
	unsigned d;                    /* code size; 0 before the first record */
	char *fp;                      /* model= of the first record, or NULL */
	struct dg_meta *meta;          /* of the output records */
	enum dg_interp_mode interp;
	uint64_t ncodes;               /* codes read so far */
	/* output */
	struct dg_writer *w;
	float *out;                    /* batch × d */
	uint64_t nout;
	char *labels;                  /* "K,K,..." for a full batch */
	/* modes */
	float *first, *prev, *cur;     /* PATH */
	float *keep;                   /* GRID: 4 codes; EXPR: expr.ncodes codes */
	double *sum;                   /* MEAN */
};

/* Writes the codes waiting in the output buffer as one record. */
static int flush(struct state *s)
{
	uint64_t dims[2] = {s->nout, s->d};
	int st;

	if (!s->nout)
		return DG_OK;
	if (s->labels) {
		/* each label is "K," of the same width: cut the list at n */
		size_t per = (size_t)snprintf(NULL, 0, "%ld,", s->cl->klass);
		char save = s->labels[per * s->nout - 1];
		s->labels[per * s->nout - 1] = 0;
		st = dg_meta_set(s->meta, "labels", s->labels);
		s->labels[per * s->nout - 1] = save;
		if (st)
			return st;
	}
	st = dg_write_record(s->w, DG_F32, 2, dims, s->meta, s->out);
	s->nout = 0;
	return st;
}

/* The next output slot (flushing a full batch first). */
static int slot(struct state *s, float **p)
{
	int st;
	if (s->nout == s->cl->batch && (st = flush(s)))
		return st;
	*p = s->out + s->nout++ * s->d;
	return DG_OK;
}

/* Points j = from..to of the segment a -> b sampled at t = j/(steps-1). */
static int segment(struct state *s, const float *a, const float *b, uint64_t from, uint64_t to)
{
	for (uint64_t j = from; j <= to; j++) {
		double t = (double)j / (double)(s->cl->steps - 1);
		float *p;
		int st = slot(s, &p);
		if (st)
			return st;
		if (s->interp == DG_INTERP_LERP)
			dg_latent_lerp(p, a, b, s->d, t);
		else
			dg_latent_slerp(p, a, b, s->d, t);
	}
	return DG_OK;
}

/* Sets up the state from the first record: code size, model, output
 * metadata and buffers, the interpolation. */
static int start(struct state *s, const char *in, const struct dg_record *rec)
{
	const struct cmdline *cl = s->cl;
	const char *fp = dg_meta_get(rec->meta, "model");
	const char *family = dg_meta_get(rec->meta, "family");
	const char *prior = dg_meta_get(rec->meta, "prior");
	size_t d = (size_t)rec->dims[1];
	int st;

	if (!d || d > (1u << 24))
		return dg_error(DG_EDATA, "%s: record %llu: latent codes of size %llu",
				in, (unsigned long long)rec->index,
				(unsigned long long)rec->dims[1]);
	s->d = (unsigned)d;
	if (fp && !(s->fp = strdup(fp)))
		return dg_error_nomem("metadata", strlen(fp));
	/* a Gaussian prior puts its codes in a thin shell, which slerp
	 * follows and lerp cuts through; other latents (an autoencoder's,
	 * a uniform prior's) have no such shell, so the straight line */
	s->interp = cl->interp ? cl->interp
		  : prior && strcmp(prior, "gaussian") != 0 ? DG_INTERP_LERP : DG_INTERP_SLERP;
	if (!(s->meta = dg_meta_new()))
		return DG_ENOMEM;
	if ((st = dg_meta_set(s->meta, "space", "latent")) ||
	    (fp && (st = dg_meta_set(s->meta, "model", fp))) ||
	    (family && (st = dg_meta_set(s->meta, "family", family))) ||
	    (prior && (st = dg_meta_set(s->meta, "prior", prior))))
		return st;
	if (cl->mode == PATH || cl->mode == GRID)
		st = dg_meta_set(s->meta, "interp",
				 s->interp == DG_INTERP_LERP ? "lerp" : "slerp");
	if (st)
		return st;
	if (cl->mode == TRAVERSE) {
		char v[80];
		if (cl->dim != TRAVERSE_ALL && (uint64_t)cl->dim >= d)
			return dg_error(DG_EDATA, "%s: --traverse %ld: the codes have %zu "
					"coordinates (0 to %zu)", in, cl->dim, d, d - 1);
		if (cl->dim == TRAVERSE_ALL)
			snprintf(v, sizeof v, "all");
		else
			snprintf(v, sizeof v, "%ld", cl->dim);
		if ((st = dg_meta_set(s->meta, "traverse", v)))
			return st;
		snprintf(v, sizeof v, "%.17g:%.17g", cl->lo, cl->hi);
		if ((st = dg_meta_set(s->meta, "range", v)))
			return st;
	}
	if (!(s->out = malloc(cl->batch * d * sizeof *s->out)))
		return dg_error_nomem("codes", cl->batch * d * sizeof *s->out);
	if (cl->klass >= 0) {
		size_t per = (size_t)snprintf(NULL, 0, "%ld,", cl->klass);
		if (!(s->labels = malloc(per * cl->batch + 1)))
			return dg_error_nomem("labels", per * cl->batch);
		for (uint64_t i = 0; i < cl->batch; i++)
			sprintf(s->labels + i * per, "%ld,", cl->klass);
	}
	switch (cl->mode) {
	case PATH:
		s->first = malloc(d * sizeof *s->first);
		s->prev = malloc(d * sizeof *s->prev);
		s->cur = malloc(d * sizeof *s->cur);
		if (!s->first || !s->prev || !s->cur)
			return dg_error_nomem("codes", 3 * d * sizeof(float));
		break;
	case GRID:
	case EXPR: {
		size_t n = cl->mode == GRID ? 4 : cl->expr.ncodes;
		if (!(s->keep = malloc(n * d * sizeof *s->keep)))
			return dg_error_nomem("codes", n * d * sizeof(float));
		break;
	}
	case MEAN:
		if (!(s->sum = calloc(d, sizeof *s->sum)))
			return dg_error_nomem("sums", d * sizeof(double));
		break;
	case TRAVERSE:
		break;
	}
	return DG_OK;
}

/* The traversal of code z: for coordinate k (or each in turn), N codes
 * equal to z but for z[k] = lo + (hi - lo)·j/(N - 1), j = 0..N-1; the
 * ends are exactly lo and hi. */
static int traverse(struct state *s, const float *z)
{
	const struct cmdline *cl = s->cl;
	unsigned first = cl->dim == TRAVERSE_ALL ? 0 : (unsigned)cl->dim;
	unsigned last = cl->dim == TRAVERSE_ALL ? s->d - 1 : first;

	for (unsigned k = first; k <= last; k++)
		for (uint64_t j = 0; j < cl->steps; j++) {
			double t = (double)j / (double)(cl->steps - 1);
			float *p;
			int st = slot(s, &p);
			if (st)
				return st;
			memcpy(p, z, s->d * sizeof *p);
			p[k] = (float)(j + 1 == cl->steps ? cl->hi : cl->lo + (cl->hi - cl->lo) * t);
		}
	return DG_OK;
}

/* Takes code z (the code number s->ncodes of the whole input). */
static int take(struct state *s, const char *in, const struct dg_record *rec, const float *z)
{
	const struct cmdline *cl = s->cl;
	uint64_t k = s->ncodes++;
	size_t bytes = s->d * sizeof(float);
	int st = DG_OK;

	switch (cl->mode) {
	case PATH:
		if (k == 0) {
			memcpy(s->first, z, bytes);
			memcpy(s->prev, z, bytes);
			break;
		}
		/* the first segment writes its start; later ones start
		 * where the previous one ended */
		memcpy(s->cur, z, bytes);
		st = segment(s, s->prev, s->cur, k == 1 ? 0 : 1, cl->steps - 1);
		memcpy(s->prev, s->cur, bytes);
		break;
	case GRID:
		if (k >= 4)
			return dg_error(DG_EDATA, "%s: record %llu: --grid takes exactly 4 "
					"corner codes, and the input has more", in,
					(unsigned long long)rec->index);
		memcpy(s->keep + k * s->d, z, bytes);
		break;
	case EXPR:
		/* codes after the last one named are checked but not kept */
		if (k < cl->expr.ncodes)
			memcpy(s->keep + k * s->d, z, bytes);
		break;
	case MEAN:
		for (unsigned i = 0; i < s->d; i++)
			s->sum[i] += z[i];
		break;
	case TRAVERSE:
		st = traverse(s, z);
		break;
	}
	return st;
}

/* Checks a record against the first one and feeds its codes to take(). */
static int read_record(struct state *s, const char *in, struct dg_reader *r,
		       const struct dg_record *rec)
{
	const struct cmdline *cl = s->cl;
	unsigned long long ri = (unsigned long long)rec->index;
	const char *space = dg_meta_get(rec->meta, "space");
	const char *fp = dg_meta_get(rec->meta, "model");
	float *z;
	uint64_t n;
	int st;

	if (space && strcmp(space, "image") == 0)
		return dg_error(DG_EDATA, "%s: record %llu holds images (space=image), not "
				"latent codes; turn images into codes with dg-encode -m MODEL",
				in, ri);
	if (!space || strcmp(space, "latent") != 0)
		return dg_error(DG_EDATA, "%s: record %llu is not latent codes (space=%s); "
				"dg-interp reads what dg-encode -m and dg-sample write", in, ri,
				space ? space : "missing");
	if (rec->rank != 2)
		return dg_error(DG_EDATA, "%s: record %llu: latent codes are N×D, not of "
				"rank %u", in, ri, rec->rank);
	if (rec->dtype != DG_F32 && rec->dtype != DG_F64 && rec->dtype != DG_F16 &&
	    rec->dtype != DG_BF16)
		return dg_error(DG_EDATA, "%s: record %llu: dtype %s is not a float type",
				in, ri, dg_dtype_name(rec->dtype));
	if (!s->d && (st = start(s, in, rec)))
		return st;
	if (rec->dims[1] != s->d)
		return dg_error(DG_EDATA, "%s: record %llu: codes of size %llu, earlier "
				"ones of size %u", in, ri, (unsigned long long)rec->dims[1], s->d);
	if (!cl->force && !(fp && s->fp ? strcmp(fp, s->fp) == 0 : !fp && !s->fp))
		return dg_error(DG_EDATA, "%s: record %llu: latent codes of model %s, earlier "
				"ones of model %s (--force mixes them)", in, ri,
				fp ? fp : "(none)", s->fp ? s->fp : "(none)");
	n = rec->dims[0];
	if ((st = dg_reader_payload_f32(r, &z)))
		return st;
	for (uint64_t i = 0; i < n && !st; i++)
		st = take(s, in, rec, z + i * s->d);
	dg_free(z);
	return st;
}

static int read_input(struct state *s, const char *path)
{
	struct dg_reader *r = dg_reader_open(path);
	const char *in = strcmp(path, "-") == 0 ? "standard input" : path;
	const struct dg_record *rec;
	int st;

	/* sysexits: an input that cannot be opened, whatever the reason */
	if (!r)
		return DG_ENOINPUT;
	while (!(st = dg_reader_next(r, &rec)) && rec)
		if ((st = read_record(s, in, r, rec)))
			break;
	dg_reader_close(r);
	return st;
}

/* What the modes write once the input has ended. */
static int finish(struct state *s)
{
	const struct cmdline *cl = s->cl;
	int st = DG_OK;

	if (!s->ncodes)
		return dg_error(DG_EDATA, "no latent codes in the input");
	switch (cl->mode) {
	case PATH:
		if (s->ncodes < 2)
			return dg_error(DG_EDATA, "a path needs at least two codes; the "
					"input has one");
		/* back to the first code, which is not written again */
		if (cl->loop && cl->steps > 2)
			st = segment(s, s->prev, s->first, 1, cl->steps - 2);
		break;
	case GRID: {
		const float *c[4];
		float *scratch;
		if (s->ncodes != 4)
			return dg_error(DG_EDATA, "--grid takes exactly 4 corner codes; the "
					"input has %llu", (unsigned long long)s->ncodes);
		for (int i = 0; i < 4; i++)
			c[i] = s->keep + i * s->d;
		if (!(scratch = malloc(s->d * sizeof *scratch)))
			return dg_error_nomem("a code", s->d * sizeof *scratch);
		for (unsigned y = 0; y < cl->rows && !st; y++)
			for (unsigned x = 0; x < cl->cols && !st; x++) {
				double u = cl->cols > 1 ? (double)x / (cl->cols - 1) : 0;
				double v = cl->rows > 1 ? (double)y / (cl->rows - 1) : 0;
				float *p;
				if (!(st = slot(s, &p)))
					dg_latent_grid(p, scratch, c, s->d, u, v, s->interp);
			}
		free(scratch);
		break;
	}
	case EXPR: {
		const float *codes[DG_EXPR_MAX_CODES] = {0};
		float *p;
		if (s->ncodes < cl->expr.ncodes)
			return dg_error(DG_EDATA, "--expr '%s' names code %c (number %u), but "
					"the input has only %llu code%s", cl->expr_text,
					'a' + cl->expr.ncodes - 1, cl->expr.ncodes,
					(unsigned long long)s->ncodes, s->ncodes == 1 ? "" : "s");
		for (unsigned i = 0; i < cl->expr.ncodes; i++)
			codes[i] = s->keep + (size_t)i * s->d;
		if (!(st = slot(s, &p)))
			dg_latent_expr_eval(&cl->expr, codes, s->d, p);
		break;
	}
	case MEAN: {
		float *p;
		if (!(st = slot(s, &p)))
			for (unsigned i = 0; i < s->d; i++)
				p[i] = (float)(s->sum[i] / (double)s->ncodes);
		break;
	}
	case TRAVERSE:
		break;          /* written as the codes came */
	}
	return st ? st : flush(s);
}

static void state_free(struct state *s)
{
	free(s->fp);
	dg_meta_free(s->meta);
	free(s->out);
	free(s->labels);
	free(s->first);
	free(s->prev);
	free(s->cur);
	free(s->keep);
	free(s->sum);
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	struct state s = {0};
	char *stdin_only[] = {"-"};
	char **inputs;
	int n, st;

	dg_tool_init("dg-interp");
	st = parse_cmdline(argc, argv, &cl);
	if (st)
		return st < 0 ? dg_tool_exit(DG_OK) : st;
	if ((st = dg_tool_check_binary_output(stdout)))
		return dg_tool_fail(st);
	if (!(s.w = dg_writer_file(stdout, "standard output")))
		return dg_tool_fail(DG_ENOMEM);
	s.cl = &cl;
	inputs = cl.ninputs ? cl.inputs : stdin_only;
	n = cl.ninputs ? cl.ninputs : 1;
	for (int i = 0; i < n && !st; i++)
		st = read_input(&s, inputs[i]);
	if (!st)
		st = finish(&s);
	{
		int st2 = dg_writer_close(s.w);
		st = st ? st : st2;
	}
	state_free(&s);
	if (st)
		dg_tool_fail(st);
	return dg_tool_exit(st);
}
