/* dg-decode.c — image records to PNG: one grid on stdout, or one file per
 * image (or per grid) with -o.  With -m MODEL, latent records are first
 * decoded into images by the model's decoder (and written as image
 * records with --raw). */
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"

static const char usage_text[] =
	"Usage: dg-decode [OPTIONS] [FILE...]\n"
	"Turn image records (dg-stream(5)) from FILEs or standard input into PNG:\n"
	"one grid on standard output, or numbered files with -o.\n"
	"\n"
	"  -o, --output PATTERN  one PNG per image, named by PATTERN with one integer\n"
	"                        conversion (e.g. 'out/%04d.png'), numbered from 0\n"
	"  -g, --grid COLSxROWS  grid layout; either may be omitted ('8x', 'x4');\n"
	"                        default near-square.  With -o, one grid per file\n"
	"  -p, --pad N           pixels between and around cells (default 2; 0 with\n"
	"                        -o and no --grid)\n"
	"      --pad-value V     padding brightness in [0,1] (default 0)\n"
	"  -s, --scale K         enlarge each image K times, nearest neighbour\n"
	"  -d, --depth 8|16      bits per sample (default 8)\n"
	"  -n, --limit N         decode at most N images\n"
	"  -m, --model MODEL     decode latent codes through MODEL's decoder\n"
	"      --raw             with -m, write image records instead of PNG\n"
	"      --force           with -m, decode latents made by another model\n"
	"      --no-ema          with -m, the trained weights, not their running\n"
	"                        average (for models that keep one, e.g. GANs)\n"
	"      --device SPEC     with -m: cpu or vulkan:N (default $DG_DEVICE)\n"
	"  -h, --help            show this help\n"
	"      --version         show the version\n"
	"\n"
	"See dg-decode(1).\n";

struct cmdline {
	struct dg_grid_options grid;
	int grid_given, pad_given;
	int depth;
	uint64_t limit;          /* images; UINT64_MAX when unlimited */
	char *format;            /* -o pattern as a printf format for a long long */
	const char *pattern;
	char **inputs;
	int ninputs;
	const char *model, *device;
	int raw, force, no_ema;
};

/* The model of -m. */
struct decoder {
	struct dg_checkpoint *ck;
	struct dg_inference *inf;
	const struct dg_model_info *mi;
	char fp[17];
	const char *weights;     /* "ema" or "raw" when ck keeps averages, else NULL */
	struct dg_writer *w;     /* --raw */
};

/* Images waiting for their grid, all C×H×W, as f32. */
struct batch {
	unsigned c, h, w;
	size_t n, alloc;
	size_t cap;              /* images per output; 0 = no fixed limit */
	float *data;
};

enum { OPT_PAD_VALUE = 256, OPT_RAW, OPT_FORCE, OPT_DEVICE, OPT_NO_EMA };

/* Checks an -o pattern: exactly one %d, %i or %u (flags 0, -, + or space
 * and a width allowed), %% for a percent sign, nothing else.  Sets
 * *format to the pattern with "ll" added to the conversion. */
static int parse_pattern(const char *p, char **format)
{
	size_t n = strlen(p), k = 0;
	int convs = 0;
	char *f = malloc(n + 3);

	if (!f)
		return dg_error_nomem("a pattern", n);
	for (size_t i = 0; i < n; i++) {
		f[k++] = p[i];
		if (p[i] != '%')
			continue;
		if (p[i + 1] == '%') {
			f[k++] = p[++i];
			continue;
		}
		while (p[i + 1] && strchr("0-+ ", p[i + 1]))
			f[k++] = p[++i];
		while (p[i + 1] >= '0' && p[i + 1] <= '9')
			f[k++] = p[++i];
		if (!p[i + 1] || !strchr("diu", p[i + 1]) || convs++) {
			convs = -1;
			break;
		}
		f[k++] = 'l';
		f[k++] = 'l';
		f[k++] = p[++i];
	}
	f[k] = 0;
	if (convs != 1) {
		free(f);
		return dg_error(DG_EUSAGE, "-o: '%s' needs exactly one integer "
				"conversion such as %%04d (and %%%% for a percent "
				"sign)", p);
	}
	*format = f;
	return DG_OK;
}

/* "8x8", "8x", "x4", "8": 0 stands for "as needed". */
static int parse_grid(const char *s, struct dg_grid_options *g)
{
	const char *x = strchr(s, 'x');
	char part[32];
	long v;

	g->cols = g->rows = 0;
	for (int side = 0; side < 2; side++) {
		const char *b = side ? (x ? x + 1 : "") : s;
		size_t len = side || !x ? strlen(b) : (size_t)(x - s);
		if (!len)
			continue;
		if (len >= sizeof part)
			return dg_error(DG_EUSAGE, "--grid: '%s' is not COLSxROWS", s);
		memcpy(part, b, len);
		part[len] = 0;
		if (dg_parse_long("--grid", part, 1, DG_PNG_MAX_SIDE, &v))
			return dg_error(DG_EUSAGE, "--grid: '%s' is not COLSxROWS "
					"(e.g. 8x8, 8x or x4)", s);
		if (side)
			g->rows = (unsigned)v;
		else
			g->cols = (unsigned)v;
	}
	return DG_OK;
}

static int parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	static const struct option longs[] = {
		{"output", required_argument, NULL, 'o'},
		{"grid", required_argument, NULL, 'g'},
		{"pad", required_argument, NULL, 'p'},
		{"pad-value", required_argument, NULL, OPT_PAD_VALUE},
		{"scale", required_argument, NULL, 's'},
		{"depth", required_argument, NULL, 'd'},
		{"limit", required_argument, NULL, 'n'},
		{"model", required_argument, NULL, 'm'},
		{"raw", no_argument, NULL, OPT_RAW},
		{"force", no_argument, NULL, OPT_FORCE},
		{"device", required_argument, NULL, OPT_DEVICE},
		{"no-ema", no_argument, NULL, OPT_NO_EMA},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, DG_OPT_VERSION},
		{0},
	};
	int c;
	long v;
	double d;

	memset(cl, 0, sizeof *cl);
	cl->grid.pad = 2;
	cl->grid.scale = 1;
	cl->depth = 8;
	cl->limit = UINT64_MAX;
	opterr = 0;  /* messages are ours, in the tools' format */
	while ((c = getopt_long(argc, argv, ":o:g:p:s:d:n:m:h", longs, NULL)) != -1) {
		switch (c) {
		case 'o':
			free(cl->format);
			cl->format = NULL;
			cl->pattern = optarg;
			if (parse_pattern(optarg, &cl->format))
				return dg_tool_usage("%s", dg_errmsg());
			break;
		case 'g':
			if (parse_grid(optarg, &cl->grid))
				return dg_tool_usage("%s", dg_errmsg());
			cl->grid_given = cl->grid.cols || cl->grid.rows;
			break;
		case 'p':
			if (dg_parse_long("--pad", optarg, 0, 1024, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->grid.pad = (unsigned)v;
			cl->pad_given = 1;
			break;
		case OPT_PAD_VALUE:
			if (dg_parse_double("--pad-value", optarg, 0, 1, &d))
				return dg_tool_usage("%s", dg_errmsg());
			cl->grid.pad_value = (float)d;
			break;
		case 's':
			if (dg_parse_long("--scale", optarg, 1, 1024, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->grid.scale = (unsigned)v;
			break;
		case 'd':
			if (dg_parse_long("--depth", optarg, 8, 16, &v) || (v != 8 && v != 16))
				return dg_tool_usage("--depth: '%s' is not 8 or 16", optarg);
			cl->depth = (int)v;
			break;
		case 'n':
			if (dg_parse_long("--limit", optarg, 1, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->limit = (uint64_t)v;
			break;
		case 'm':
			cl->model = optarg;
			break;
		case OPT_RAW:
			cl->raw = 1;
			break;
		case OPT_FORCE:
			cl->force = 1;
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
	if ((cl->raw || cl->force || cl->device || cl->no_ema) && !cl->model)
		return dg_tool_usage("--raw, --force, --device and --no-ema need -m MODEL");
	if (cl->raw && cl->format)
		return dg_tool_usage("--raw writes records on standard output; it "
				     "cannot be combined with -o");
	if (cl->format && cl->grid_given && (!cl->grid.cols || !cl->grid.rows))
		return dg_tool_usage("--grid: with -o, give both COLS and ROWS "
				     "(each file is one grid)");
	/* One image per file is the image itself, without a frame. */
	if (cl->format && !cl->grid_given) {
		cl->grid.cols = cl->grid.rows = 1;
		if (!cl->pad_given)
			cl->grid.pad = 0;
	}
	cl->inputs = argv + optind;
	cl->ninputs = argc - optind;
	return DG_OK;
}

/* Lays the waiting images out and writes them: to stdout, or to the next
 * numbered file, replaced atomically. */
static int emit(const struct cmdline *cl, struct batch *b, long long *fileno_)
{
	struct dg_png_options po = {.bit_depth = cl->depth};
	struct dg_array imgs = {.dtype = DG_F32, .rank = 4, .data = b->data};
	struct dg_array *g;
	char name[4096];
	int st, len;

	imgs.dims[0] = b->n;
	imgs.dims[1] = b->c;
	imgs.dims[2] = b->h;
	imgs.dims[3] = b->w;
	if ((st = dg_image_grid(&imgs, 0, b->n, &cl->grid, &g)))
		return st;
	b->n = 0;
	if (!cl->format) {
		st = dg_png_write(stdout, "standard output", g, 0, &po);
		dg_array_free(g);
		return st;
	}
	len = snprintf(name, sizeof name, cl->format, (*fileno_)++);
	if (len < 0 || (size_t)len >= sizeof name)
		st = dg_error(DG_ECANTCREAT, "-o: file name too long");
	else
		st = dg_png_write_file(name, g, 0, &po);  /* atomic, no fsync */
	dg_array_free(g);
	return st;
}

/* Makes room for one more image of the batch's shape. */
static int grow(const struct cmdline *cl, struct batch *b)
{
	size_t per = (size_t)b->c * b->h * b->w, want;
	unsigned cols, rows;
	uint64_t gh, gw;
	float *p;

	if (b->n < b->alloc)
		return DG_OK;
	/* The grid must stay within the PNG limits; checking before growing
	 * keeps memory bounded however long the input is. */
	if (dg_grid_layout(&cl->grid, b->n + 1, b->h, b->w, &cols, &rows, &gh, &gw))
		return dg_error_context(DG_EUSAGE, "the grid would be too large for one PNG "
					"(use --limit, --grid, a smaller --scale, or -o)");
	want = b->cap ? b->cap : b->alloc ? b->alloc * 2 : 64;
	p = realloc(b->data, want * per * sizeof *p);
	if (!p)
		return dg_error_nomem("images", (unsigned long long)want * per * sizeof *p);
	b->data = p;
	b->alloc = want;
	return DG_OK;
}

/* Checks that a record holds images; sets *n to how many. */
static int check_record(const char *in, const struct dg_record *rec, uint64_t *n,
			int have_model)
{
	const char *space = dg_meta_get(rec->meta, "space");
	const uint64_t *d = rec->dims + (rec->rank == 4);
	unsigned long long ri = (unsigned long long)rec->index;
	char shape[128];

	if (space && strcmp(space, "latent") == 0 && !have_model)
		return dg_error(DG_EDATA, "%s: record %llu holds latent codes; decoding "
				"them needs a model (-m MODEL)", in, ri);
	if (have_model && (!space || strcmp(space, "latent") != 0))
		return dg_error(DG_EDATA, "%s: record %llu: with -m the input must be "
				"latent codes (space=latent), not %s", in, ri,
				space ? space : "records without space=");
	if (have_model)
		return DG_OK;
	if (space && strcmp(space, "image") != 0)
		return dg_error(DG_EDATA, "%s: record %llu: space=%s is not images",
				in, ri, space);
	switch (rec->dtype) {
	case DG_F32: case DG_F64: case DG_F16: case DG_BF16: case DG_U8:
		break;
	default:
		return dg_error(DG_EDATA, "%s: record %llu: dtype %s is not an image "
				"type (f32, u8, f16, bf16, f64)", in, ri,
				dg_dtype_name(rec->dtype));
	}
	dg_shape_format(shape, sizeof shape, rec->rank, rec->dims);
	if ((rec->rank != 3 && rec->rank != 4) || (d[0] != 1 && d[0] != 3) ||
	    !d[1] || !d[2] || d[1] > DG_PNG_MAX_SIDE || d[2] > DG_PNG_MAX_SIDE)
		return dg_error(DG_EDATA, "%s: record %llu: shape %s is not images "
				"(N×C×H×W or C×H×W with C 1 or 3, sides 1..%d)",
				in, ri, shape, DG_PNG_MAX_SIDE);
	*n = rec->rank == 4 ? rec->dims[0] : 1;
	return DG_OK;
}

/* The n labels of rec (labels=), checked against the model's classes. */
static int parse_labels(const char *in, const struct dg_record *rec, int32_t *y, uint64_t n,
			unsigned classes)
{
	unsigned long long ri = (unsigned long long)rec->index;
	int found, st = dg_meta_get_labels(rec->meta, n, y, &found);

	if (st)
		return dg_error_context(st, "%s: record %llu", in, ri);
	/* without labels=, they cycle through the classes, as dg-sample's do
	 * (a model trained on labelled data without using them ignores them) */
	for (uint64_t i = 0; !found && i < n; i++)
		y[i] = (int32_t)(i % classes);
	for (uint64_t i = 0; i < n; i++)
		if ((uint32_t)y[i] >= classes)
			return dg_error(DG_EDATA, "%s: record %llu: label %ld is not below the "
					"model's %u classes", in, ri, (long)y[i], classes);
	return DG_OK;
}

/* Decodes the n latent codes of rec (payload already read into z) into
 * *imgs, n×C×H×W f32. */
static int decode_latents(struct decoder *dec, const char *in, const struct dg_record *rec,
			  const float *z, uint64_t n, struct dg_array **imgs)
{
	int32_t *y = NULL;
	int st = DG_OK;

	if (dec->mi->conditional) {
		if (!(y = malloc(n * sizeof *y)))
			return dg_error_nomem("labels", n * sizeof *y);
		if ((st = parse_labels(in, rec, y, n, dec->mi->classes))) {
			free(y);
			return st;
		}
	}
	st = dg_inference_decode(dec->inf, n, z, y, imgs);
	free(y);
	if (!st && ((*imgs)->rank != 4 || (*imgs)->dims[0] != n)) {
		dg_array_free(*imgs);
		*imgs = NULL;
		st = dg_error(DG_EINTERNAL, "%s: decode did not give n×C×H×W images",
			      dec->mi->family->name);
	}
	return st;
}

/* Reads one latent record and decodes it: *imgs is NULL for an empty one. */
static int read_latents(const struct cmdline *cl, struct decoder *dec, const char *in,
			struct dg_reader *r, const struct dg_record *rec, struct dg_array **imgs)
{
	unsigned long long ri = (unsigned long long)rec->index;
	const char *fp = dg_meta_get(rec->meta, "model");
	unsigned d = dec->mi->latent_dim;
	float *z;
	uint64_t n;
	int st;

	*imgs = NULL;
	if (fp && strcmp(fp, dec->fp) != 0 && !cl->force)
		return dg_error(DG_EDATA, "%s: record %llu: latent codes made by model %s, "
				"but %s is model %s (--force decodes them anyway)", in, ri,
				fp, cl->model, dec->fp);
	if (rec->rank != 2 || rec->dims[1] != d)
		return dg_error(DG_EDATA, "%s: record %llu: latent codes of shape %s; the "
				"model %s takes N×%u", in, ri, rec->rank == 2 ? "N×D" : "not N×D",
				cl->model, d);
	if (rec->dtype != DG_F32 && rec->dtype != DG_F64 && rec->dtype != DG_F16 &&
	    rec->dtype != DG_BF16)
		return dg_error(DG_EDATA, "%s: record %llu: dtype %s is not a float type",
				in, ri, dg_dtype_name(rec->dtype));
	n = rec->dims[0];
	if ((st = dg_reader_payload_f32(r, &z)))
		return st;
	if (n)
		st = decode_latents(dec, in, rec, z, n, imgs);
	dg_free(z);
	return st;
}

/* Makes room in the batch for the next image: a full batch is written
 * out (-o), or, for the one grid on standard output, ends the input
 * (*done, with a warning). */
static int next_slot(const struct cmdline *cl, struct batch *b, long long *files, int *done)
{
	int st;

	if (b->cap && b->n == b->cap) {
		if (!cl->format) {
			dg_tool_warn("the %ux%u grid is full; the rest of the input is left "
				     "unread (see --limit and -o)", cl->grid.cols, cl->grid.rows);
			*done = 1;
			return DG_OK;
		}
		if ((st = emit(cl, b, files)))
			return st;
	}
	return grow(cl, b);
}

/* Puts decoded images into the batch (or writes them as a record with
 * --raw), honouring --limit and the grid as for image records. */
static int take_images(const struct cmdline *cl, struct decoder *dec,
		       const struct dg_record *rec, struct dg_array *im, struct batch *b,
		       uint64_t *seen, long long *files, int *done)
{
	uint64_t n = im->dims[0], dims[4];
	size_t per;
	int st = DG_OK;

	if (cl->limit - *seen < n)
		n = cl->limit - *seen;
	if (cl->raw) {
		const char *lb = dg_meta_get(rec->meta, "labels");
		dims[0] = n;
		dims[1] = im->dims[1];
		dims[2] = im->dims[2];
		dims[3] = im->dims[3];
		if ((st = dg_meta_set(im->meta, "space", "image")) ||
		    (st = dg_meta_set(im->meta, "model", dec->fp)) ||
		    (st = dg_meta_set(im->meta, "family", dec->mi->family->name)) ||
		    /* the fingerprint is the checkpoint's: say which of its
		     * weights made the images when it keeps two sets */
		    (dec->weights && (st = dg_meta_set(im->meta, "weights", dec->weights))) ||
		    (lb && n == im->dims[0] && (st = dg_meta_set(im->meta, "labels", lb))))
			return st;
		if ((st = dg_write_record(dec->w, DG_F32, 4, dims, im->meta, im->data)))
			return st;
		if ((*seen += n) == cl->limit)
			*done = 1;
		return DG_OK;
	}
	if (b->n && (b->c != im->dims[1] || b->h != im->dims[2] || b->w != im->dims[3]))
		return dg_error(DG_EDATA, "decoded images of another shape than earlier ones");
	b->c = (unsigned)im->dims[1];
	b->h = (unsigned)im->dims[2];
	b->w = (unsigned)im->dims[3];
	per = (size_t)b->c * b->h * b->w;
	for (uint64_t j = 0; j < n && !*done; j++) {
		if ((st = next_slot(cl, b, files, done)))
			return st;
		if (*done)
			break;
		memcpy(b->data + b->n * per, (const float *)im->data + j * per, per * sizeof(float));
		b->n++;
		if (++*seen == cl->limit)
			*done = 1;
	}
	return DG_OK;
}

/* Reads images from one input into the batch, emitting full batches.
 * *done is set when --limit is reached or a full stdout grid ends it. */
static int decode_input(const struct cmdline *cl, struct decoder *dec, const char *path,
			struct batch *b, uint64_t *seen, long long *files, int *done)
{
	struct dg_reader *r = dg_reader_open(path);
	const char *in = strcmp(path, "-") == 0 ? "standard input" : path;
	const struct dg_record *rec;
	void *tmp = NULL;
	int st = DG_OK;

	/* sysexits: an input that cannot be opened, whatever the reason */
	if (!r)
		return DG_ENOINPUT;
	while (!*done && !(st = dg_reader_next(r, &rec)) && rec) {
		uint64_t n = 0, gh, gw;
		unsigned cols, rows;
		size_t per, bytes;
		void *nt;

		if ((st = check_record(in, rec, &n, dec != NULL)))
			break;
		if (dec) {
			struct dg_array *im = NULL;
			if ((st = read_latents(cl, dec, in, r, rec, &im)) || !im)
				break;
			st = take_images(cl, dec, rec, im, b, seen, files, done);
			dg_array_free(im);
			if (st)
				break;
			continue;
		}
		if (!n)
			continue;
		/* A full batch goes out first, so that with -o the next file
		 * may hold images of another shape. */
		if (cl->format && b->cap && b->n == b->cap && (st = emit(cl, b, files)))
			break;
		if (b->n && (b->c != rec->dims[rec->rank - 3] || b->h != rec->dims[rec->rank - 2] ||
			     b->w != rec->dims[rec->rank - 1])) {
			st = dg_error(DG_EDATA, "%s: record %llu: images of %llux%llux%llu "
				      "cannot share a grid with earlier ones of %ux%ux%u",
				      in, (unsigned long long)rec->index,
				      (unsigned long long)rec->dims[rec->rank - 3],
				      (unsigned long long)rec->dims[rec->rank - 2],
				      (unsigned long long)rec->dims[rec->rank - 1],
				      b->c, b->h, b->w);
			break;
		}
		/* One image must fit a PNG before its buffer is allocated. */
		if (dg_grid_layout(&cl->grid, 1, rec->dims[rec->rank - 2],
				   rec->dims[rec->rank - 1], &cols, &rows, &gh, &gw)) {
			st = dg_error_context(DG_EUSAGE, "%s: record %llu: the grid "
					      "would be too large for one PNG", in,
					      (unsigned long long)rec->index);
			break;
		}
		b->c = (unsigned)rec->dims[rec->rank - 3];
		b->h = (unsigned)rec->dims[rec->rank - 2];
		b->w = (unsigned)rec->dims[rec->rank - 1];
		per = (size_t)b->c * b->h * b->w;
		bytes = per * dg_dtype_size(rec->dtype);
		if (!(nt = realloc(tmp, bytes))) {
			st = dg_error_nomem("an image", bytes);
			break;
		}
		tmp = nt;
		for (uint64_t j = 0; j < n && !*done; j++) {
			if ((st = next_slot(cl, b, files, done)) || *done ||
			    (st = dg_reader_read(r, tmp, bytes)))
				break;
			dg_to_f32(b->data + b->n * per, tmp, per, rec->dtype, 1);
			b->n++;
			/* stop without reading on: the writer may be endless */
			if (++*seen == cl->limit)
				*done = 1;
		}
		if (st)
			break;
	}
	free(tmp);
	dg_reader_close(r);
	return st;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	struct batch b = {0};
	char *stdin_only[] = {"-"};
	char **inputs;
	struct decoder dec = {0};
	int n, st, done = 0;
	uint64_t seen = 0;
	long long files = 0;

	dg_tool_init("dg-decode");
	st = parse_cmdline(argc, argv, &cl);
	if (st) {
		free(cl.format);
		return st < 0 ? dg_tool_exit(DG_OK) : st;
	}
	if (!cl.format && (st = dg_tool_check_binary_output(stdout))) {
		free(cl.format);
		return dg_tool_fail(st);
	}
	if (cl.model) {
		st = dg_checkpoint_read_flags(cl.model, DG_CHECKPOINT_NO_OPTIM, &dec.ck);
		struct dg_inference_options io = {.device = cl.device, .raw_weights = cl.no_ema};
		if (!st)
			st = dg_inference_open(dec.ck, &io, &dec.inf);
		if (!st) {
			dec.mi = dg_inference_info(dec.inf);
			const struct dg_family *f = dec.mi->family;
			dg_checkpoint_fingerprint_hex(dec.ck, dec.fp);
			for (size_t i = 0; i < dg_checkpoint_count(dec.ck); i++)
				if (!strncmp(dg_checkpoint_name_at(dec.ck, i), "ema/", 4))
					dec.weights = dec.mi->ema ? "ema" : "raw";
			if (!(f->caps & DG_CAP_DECODE) || !f->decode || !dec.mi->latent_dim)
				st = dg_error(DG_EUSAGE, "%s: model family '%s' has no decoder "
					      "from latent codes", cl.model, f->name);
		}
		if (!st && cl.raw && !(dec.w = dg_writer_file(stdout, "standard output")))
			st = DG_ENOMEM;
		if (st) {
			dg_inference_free(dec.inf);
			dg_checkpoint_free(dec.ck);
			free(cl.format);
			return dg_tool_exit(dg_tool_fail(st));
		}
	}
	inputs = cl.ninputs ? cl.inputs : stdin_only;
	n = cl.ninputs ? cl.ninputs : 1;
	if (cl.grid.cols && cl.grid.rows)
		b.cap = (size_t)cl.grid.cols * cl.grid.rows;
	for (int i = 0; i < n && !st && !done; i++)
		st = decode_input(&cl, cl.model ? &dec : NULL, inputs[i], &b, &seen,
				  &files, &done);
	if (!st && b.n)
		st = emit(&cl, &b, &files);
	else if (!st && !cl.format && !seen)
		st = dg_error(DG_EDATA, cl.model ? "no latent codes in the input"
				      : "no images in the input");
	if (dec.w) {
		int st2 = dg_writer_close(dec.w);
		st = st ? st : st2;
	}
	dg_inference_free(dec.inf);
	dg_checkpoint_free(dec.ck);
	free(b.data);
	free(cl.format);
	if (st)
		dg_tool_fail(st);
	return dg_tool_exit(st);
}
