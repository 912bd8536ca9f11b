/* dataset.c — opening a dataset (which loader, by name or by the first
 * bytes of the file), reading in order, gathering, seeded splits and
 * per-epoch permutations. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "data/dataset_impl.h"
#include "dg/rng.h"
#include "dg/stream.h"
#include "io/limits.h"

/* Philox streams of the dataset's draws; the epoch is added to them. */
#define RNG_SPLIT 0x53504c4954000000ull    /* "SPLIT" */
#define RNG_SHUFFLE 0x5348554600000000ull  /* "SHUF" + epoch */

void dg__warn(struct dg_dataset *ds, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	ds->info.skipped++;
	if (!ds->opt.warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ds->opt.warn(ds->opt.warn_ctx, msg);
}

enum kind { K_PNG, K_IDX, K_STREAM, K_ARCHIVE };

static int is_idx_head(const uint8_t *b, size_t n)
{
	static const uint8_t types[] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E};

	if (n < 4 || b[0] || b[1] || b[3] < 1 || b[3] > DG_MAX_RANK)
		return 0;
	return memchr(types, b[2], sizeof types) != NULL;
}

/* Recognises an input by its first bytes (and those of its gzip'd
 * contents): PNG, stream, IDX, else an archive for libarchive to try.
 * The bytes are only peeked at: the loader reads them again. */
static int sniff(struct dg_input *in, enum kind *kind)
{
	const uint8_t *b;
	const void *p;
	size_t n;
	int st;

	if ((st = dg_input_peek(in, 512, &p, &n)))
		return st;
	b = p;
	if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
		*kind = K_PNG;
	else if (dg_stream_sniff(b, n))
		*kind = K_STREAM;
	else if (is_idx_head(b, n))
		*kind = K_IDX;
	else
		*kind = K_ARCHIVE;
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
		/* the start of the gzip'd contents, from the peeked bytes */
		uint8_t head[4];
		z_stream z;
		memset(&z, 0, sizeof z);
		if (inflateInit2(&z, 15 + 16) != Z_OK)
			return dg_error(DG_ENOMEM, "%s: cannot start zlib", dg_input_name(in));
		z.next_in = (Bytef *)(uintptr_t)b;
		z.avail_in = (uInt)n;
		z.next_out = head;
		z.avail_out = sizeof head;
		inflate(&z, Z_SYNC_FLUSH);
		if (z.avail_out == 0 && is_idx_head(head, 4))
			*kind = K_IDX;
		inflateEnd(&z);
	}
	return DG_OK;
}

/* The guards of the options: 0 takes the limit's variable, else its
 * default (dg(7) ENVIRONMENT). */
static int resolve_limits(struct dg_dataset_options *o)
{
	int st = DG_OK;

	if (!o->max_bytes)
		st = dg__env_limit(DG_ENV_DATASET_MAX, DG_DATASET_MAX_BYTES, &o->max_bytes);
	if (!st && !o->max_member_bytes)
		st = dg__env_limit(DG_ENV_FILE_MAX, DG_ARCHIVE_MAX_MEMBER, &o->max_member_bytes);
	if (!st && !o->max_total_bytes)
		st = dg__env_limit(DG_ENV_ARCHIVE_MAX, DG_ARCHIVE_MAX_TOTAL, &o->max_total_bytes);
	if (!st && !o->max_members)
		st = dg__env_limit(DG_ENV_ARCHIVE_MEMBERS, DG_ARCHIVE_MAX_MEMBERS,
				   &o->max_members);
	return st;
}

/* Opens a file, a pipe or stdin once, and loads it by its first bytes. */
static int load_input(struct dg_dataset *ds, const char *labels, enum kind *kind)
{
	struct dg_input *in;
	int rc;

	if ((rc = dg_input_open(ds->source, &in)))
		return rc;
	if ((rc = sniff(in, kind)) == DG_OK) {
		switch (*kind) {
		case K_PNG:
			rc = dg__load_png_file(ds, in);
			break;
		case K_IDX:
			rc = dg__load_idx(ds, in, labels);
			break;
		case K_STREAM:
			rc = dg__load_stream(ds, in);
			break;
		case K_ARCHIVE:
			rc = dg__load_archive(ds, in);
			break;
		}
	}
	/* a sequential set reads on from it (ds->in, closed with ds) */
	if (ds->in != in)
		dg_input_close(in);
	return rc;
}

/* The classes of labels that come without names (an IDX labels file
 * other than Fashion-MNIST's, a stream without classes=): the largest
 * label plus one, so that such data trains a conditional model instead
 * of passing for unlabelled. */
static unsigned label_count(const struct dg_store *s)
{
	int32_t top = -1;
	for (uint64_t i = 0; s->labels && i < s->nlabels; i++)
		top = s->labels[i] > top ? s->labels[i] : top;
	return (unsigned)(top + 1);
}

int dg_dataset_open(const char *source, const struct dg_dataset_options *opt,
		    struct dg_dataset **out)
{
	struct dg_dataset *ds;
	struct stat st;
	enum kind kind = K_ARCHIVE;
	int rc;

	*out = NULL;
	ds = calloc(1, sizeof *ds);
	if (!ds || !(ds->source = strdup(source))) {
		free(ds);
		return dg_error_nomem("a dataset", sizeof *ds);
	}
	if (opt)
		ds->opt = *opt;
	ds->opt.labels = NULL;   /* not kept: the caller's string */
	ds->info.source = ds->source;
	if ((rc = resolve_limits(&ds->opt))) {
		/* nothing to do */
	} else if (strcmp(source, "fashion-mnist") == 0 ||
		   strcmp(source, "fashion-mnist-test") == 0) {
		rc = dg__load_fashion(ds, source[13] == '-');
	} else if (strcmp(source, "-") != 0 && stat(source, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = dg__load_folder(ds, source);
	} else {
		rc = load_input(ds, opt ? opt->labels : NULL, &kind);
	}
	if (rc == DG_OK && opt && opt->labels && kind != K_IDX)
		rc = dg_error(DG_EUSAGE, "%s: a labels file only goes with IDX images", source);
	if (rc == DG_OK && !ds->seq) {
		struct dg_store *s = ds->store;
		if (ds->opt.limit && s->n > ds->opt.limit)
			s->n = ds->opt.limit;
		ds->info.count = s->n;
		ds->info.channels = s->c;
		ds->info.height = s->h;
		ds->info.width = s->w;
		ds->info.has_labels = s->labels != NULL;
		ds->info.classes = s->nclasses ? s->nclasses : label_count(s);
	} else if (rc == DG_OK) {
		ds->info.classes = ds->store->nclasses;   /* fashion-mnist's */
	}
	if (rc) {
		dg_dataset_close(ds);
		return rc;
	}
	*out = ds;
	return DG_OK;
}

void dg_dataset_close(struct dg_dataset *ds)
{
	if (!ds)
		return;
	dg__store_unref(ds->store);
	dg__seq_free(ds->seq);
	dg_input_close(ds->in);
	free(ds->index);
	free(ds->labels);
	free(ds->source);
	free(ds);
}

const struct dg_dataset_info *dg_dataset_info(const struct dg_dataset *ds)
{
	return &ds->info;
}

const char *dg_dataset_class(const struct dg_dataset *ds, unsigned i)
{
	const struct dg_store *s = ds->store;
	return s && i < s->nclasses ? s->classes[i] : NULL;
}

int dg_dataset_gather(const struct dg_dataset *ds, const uint64_t *idx, size_t n,
		      float *images, int32_t *labels)
{
	const struct dg_store *s = ds->store;
	uint64_t per;

	if (ds->seq)
		return dg_error(DG_EUSAGE, "%s: a sequential dataset cannot be indexed", ds->source);
	per = (uint64_t)s->c * s->h * s->w;
	for (size_t i = 0; i < n; i++) {
		uint64_t j;
		if (idx[i] >= ds->info.count)
			return dg_error(DG_EUSAGE, "%s: image %llu of %llu", ds->source,
					(unsigned long long)idx[i], (unsigned long long)ds->info.count);
		j = ds->index ? ds->index[idx[i]] : idx[i];
		dg__store_get(s, j, images + i * per);
		if (labels)
			labels[i] = ds->labels ? ds->labels[idx[i]] : s->labels ? s->labels[j] : -1;
	}
	return DG_OK;
}

int dg__describe(const struct dg_dataset *ds, struct dg_array *a)
{
	int st = dg_meta_set(a->meta, "space", "image");

	if (!st)
		st = dg_meta_set(a->meta, "source", ds->source);
	if (!st && ds->store && ds->store->nclasses) {
		char *text;
		st = dg_classes_format((const char *const *)ds->store->classes,
				       ds->store->nclasses, &text);
		if (!st) {
			st = dg_meta_set(a->meta, "classes", text);
			free(text);
		}
	}
	return st;
}

int dg_dataset_read(struct dg_dataset *ds, uint64_t max, struct dg_array **images,
		    struct dg_array **labels)
{
	uint64_t n, dims[4];
	struct dg_array *im, *lb = NULL;
	uint64_t *idx;
	int st;

	*images = NULL;
	if (labels)
		*labels = NULL;
	if (ds->seq)
		return dg__seq_read(ds, max, images, labels);
	n = ds->info.count - ds->pos < max ? ds->info.count - ds->pos : max;
	if (!n)
		return DG_OK;
	dims[0] = n;
	dims[1] = ds->info.channels;
	dims[2] = ds->info.height;
	dims[3] = ds->info.width;
	im = dg_array_new(DG_F32, 4, dims);
	if (labels && ds->info.has_labels)
		lb = dg_array_new(DG_I32, 1, dims);
	idx = malloc(n * sizeof *idx);
	if (!im || (labels && ds->info.has_labels && !lb) || !idx) {
		st = idx ? DG_ENOMEM : dg_error_nomem("a batch", n * sizeof *idx);
		goto fail;
	}
	for (uint64_t i = 0; i < n; i++)
		idx[i] = ds->pos + i;
	st = dg_dataset_gather(ds, idx, n, im->data, lb ? lb->data : NULL);
	if (!st)
		st = dg__describe(ds, im);
	if (st)
		goto fail;
	free(idx);
	ds->pos += n;
	*images = im;
	if (labels)
		*labels = lb;
	return DG_OK;
fail:
	free(idx);
	dg_array_free(im);
	dg_array_free(lb);
	return st;
}

int dg_dataset_permutation(uint64_t count, uint64_t seed, uint64_t epoch, uint64_t *order)
{
	struct dg_rng r;

	if (count > UINT32_MAX)
		return dg_error(DG_EUSAGE, "cannot shuffle %llu images (at most 2^32 - 1)",
				(unsigned long long)count);
	dg_rng_init(&r, seed, RNG_SHUFFLE + epoch);
	for (uint64_t i = 0; i < count; i++)
		order[i] = i;
	/* Fisher–Yates from the top: swap i with a uniform j <= i */
	for (uint64_t i = count; i > 1; i--) {
		uint32_t j = dg_rng_below(&r, (uint32_t)i);
		uint64_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	return DG_OK;
}

/* A new view of ds's store holding the images marked (or unmarked). */
static int view(const struct dg_dataset *ds, const uint8_t *mark, int want, uint64_t n,
		struct dg_dataset **out)
{
	struct dg_dataset *v = calloc(1, sizeof *v);
	uint64_t k = 0;

	*out = NULL;
	if (!v || !(v->source = strdup(ds->source)) ||
	    !(v->index = malloc((n ? n : 1) * sizeof *v->index))) {
		if (v)
			free(v->source);
		free(v);
		return dg_error_nomem("a dataset split", n * sizeof *v->index);
	}
	v->opt = ds->opt;
	v->info = ds->info;
	v->info.source = v->source;
	v->info.count = n;
	v->store = ds->store;
	v->store->refs++;
	for (uint64_t i = 0; i < ds->info.count; i++)
		if (mark[i] == want)
			v->index[k++] = ds->index ? ds->index[i] : i;
	*out = v;
	return DG_OK;
}

int dg_dataset_split(const struct dg_dataset *ds, uint64_t nval, uint64_t seed,
		     struct dg_dataset **train, struct dg_dataset **val)
{
	uint64_t n = ds->info.count, *order;
	uint8_t *mark;
	int st;

	*train = *val = NULL;
	if (ds->seq)
		return dg_error(DG_EUSAGE, "%s: a sequential dataset cannot be split", ds->source);
	if (nval > n)
		return dg_error(DG_EUSAGE, "%s: a validation set of %llu images out of %llu",
				ds->source, (unsigned long long)nval, (unsigned long long)n);
	order = malloc((n ? n : 1) * sizeof *order);
	mark = calloc(n ? n : 1, 1);
	if (!order || !mark) {
		free(order);
		free(mark);
		return dg_error_nomem("a dataset split", n * 9);
	}
	/* The split uses its own Philox stream, so it never coincides with an
	 * epoch's order. */
	st = dg_dataset_permutation(n, seed ^ RNG_SPLIT, 0, order);
	for (uint64_t i = 0; !st && i < nval; i++)
		mark[order[i]] = 1;
	if (!st)
		st = view(ds, mark, 0, n - nval, train);
	if (!st)
		st = view(ds, mark, 1, nval, val);
	if (st) {
		dg_dataset_close(*train);
		*train = NULL;
	}
	free(order);
	free(mark);
	return st;
}

/* ---- classes= ------------------------------------------------------------ */

int dg_classes_format(const char *const *names, unsigned n, char **text)
{
	size_t len = 1;
	char *p;

	for (unsigned i = 0; i < n; i++)
		len += 3 * strlen(names[i]) + 1;
	p = *text = malloc(len);
	if (!p)
		return dg_error_nomem("class names", len);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		/* '%', ',' and control characters (a newline would end the
		 * metadata line) are percent-escaped */
		for (const unsigned char *c = (const unsigned char *)names[i]; *c; c++)
			if (*c == '%' || *c == ',' || *c < 0x20 || *c == 0x7f)
				p += sprintf(p, "%%%02X", *c);
			else
				*p++ = (char)*c;
	}
	*p = 0;
	return DG_OK;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
		: c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int dg_classes_parse(const char *text, char ***names, unsigned *n)
{
	size_t len = strlen(text), count = 1;
	char **v, *p;

	*names = NULL;
	*n = 0;
	for (size_t i = 0; i < len; i++)
		count += text[i] == ',';
	if (count > UINT32_MAX)
		return dg_error(DG_EDATA, "too many class names");
	/* one block: the pointers, then the unescaped strings */
	v = malloc(count * sizeof *v + len + 1);
	if (!v)
		return dg_error_nomem("class names", len);
	p = (char *)(v + count);
	v[0] = p;
	count = 1;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ',') {
			*p++ = 0;
			v[count++] = p;
		} else if (text[i] == '%') {
			int hi = i + 2 < len ? hexval(text[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(text[i + 2]) : -1;
			if (lo < 0 || (hi == 0 && lo == 0)) {
				free(v);
				return dg_error(DG_EDATA, "classes: bad escape at byte %zu", i);
			}
			*p++ = (char)(hi << 4 | lo);
			i += 2;
		} else {
			*p++ = text[i];
		}
	}
	*p = 0;
	*names = v;
	*n = (unsigned)count;
	return DG_OK;
}
