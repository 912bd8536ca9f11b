/* dataset_stream.c — datasets from streams of image records (a file or
 * stdin): loaded into memory, or read once in order, a record at a time;
 * the same sequential reading serves IDX files a chunk at a time. */
#include <stdlib.h>
#include <string.h>
#include "data/dataset_impl.h"
#include "dg/stream.h"

/* A sequential source: the stream reader (or the IDX reader) and the
 * record (or chunk of images) being handed out. */
struct dg_seq {
	struct dg_reader *r;
	struct dg_idx *idx;
	struct dg_array *cur;       /* the current record (f32 or u8), or NULL */
	int32_t *cur_labels;        /* its labels, or NULL */
	uint64_t off;               /* images of cur already handed out */
	uint64_t index;             /* records read */
	int eof;
};

/* The n labels of labels=, in a new array. */
static int parse_labels(const struct dg_meta *m, uint64_t n, int32_t **out)
{
	int32_t *v = malloc((n ? n : 1) * sizeof *v);
	int found, st;

	*out = NULL;
	if (!v)
		return dg_error_nomem("labels", n * 4);
	if ((st = dg_meta_get_labels(m, n, v, &found))) {
		free(v);
		return st;
	}
	*out = v;
	return DG_OK;
}

/* Reads the next record: checks it holds images, converts them to f32
 * (u8 stays u8: exact, and 4 times smaller) and parses its labels.
 * *a = NULL at the end. */
static int next_record(struct dg_reader *r, uint64_t index, struct dg_array **a,
		       int32_t **labels)
{
	struct dg_array *rec, *f;
	const char *space;
	int st;

	*a = NULL;
	*labels = NULL;
	if ((st = dg_read_array(r, &rec)) || !rec)
		return st;
	space = dg_meta_get(rec->meta, "space");
	if (space && strcmp(space, "image") != 0)
		st = dg_error(DG_EDATA, "%s: record %llu: space=%s, not images",
			      dg_reader_name(r), (unsigned long long)index, space);
	else if (rec->rank != 4 || !rec->dims[1] || rec->dims[1] > 4 ||
		 rec->dims[2] > UINT32_MAX || rec->dims[3] > UINT32_MAX)
		st = dg_error(DG_EDATA, "%s: record %llu: not N×C×H×W images (C 1..4)",
			      dg_reader_name(r), (unsigned long long)index);
	if (!st && dg_meta_get(rec->meta, "labels"))
		st = dg_error_context(parse_labels(rec->meta, rec->dims[0], labels),
				      "%s: record %llu", dg_reader_name(r),
				      (unsigned long long)index);
	if (!st && rec->dtype != DG_F32 && rec->dtype != DG_U8) {
		f = dg_array_to_f32(rec, 1);
		if (!f)
			st = DG_ENOMEM;
		dg_array_free(rec);
		rec = f;
	}
	if (st) {
		dg_array_free(rec);
		free(*labels);
		*labels = NULL;
		return st;
	}
	*a = rec;
	return DG_OK;
}

/* Takes the classes of a record, or checks them against those known;
 * name is the stream's, for messages. */
static int take_classes(struct dg_store *s, const struct dg_array *a, const char *name,
			uint64_t index)
{
	const char *text = dg_meta_get(a->meta, "classes");
	char **names;
	unsigned n;
	int st;

	if (!text)
		return DG_OK;
	if ((st = dg_classes_parse(text, &names, &n)))
		return dg_error_context(st, "%s: record %llu", name, (unsigned long long)index);
	if (s->classes) {
		int same = n == s->nclasses;
		for (unsigned i = 0; same && i < n; i++)
			same = strcmp(names[i], s->classes[i]) == 0;
		free(names);
		return same ? DG_OK : dg_error(DG_EDATA, "%s: record %llu: classes differ "
					       "from earlier records", name,
					       (unsigned long long)index);
	}
	s->classes = calloc(n, sizeof *s->classes);
	for (unsigned i = 0; s->classes && i < n; i++)
		if ((s->classes[s->nclasses] = strdup(names[i])))
			s->nclasses++;
	free(names);
	if (!s->classes || s->nclasses < n)
		return dg_error_nomem("class names", n);
	return DG_OK;
}

static int load_all(struct dg_dataset *ds, struct dg_reader *r)
{
	struct dg_store *s = ds->store;
	int st = DG_OK;

	for (uint64_t index = 0; !st && !(ds->opt.limit && s->n >= ds->opt.limit); index++) {
		struct dg_array *a;
		int32_t *labels;
		char what[1100];

		if ((st = next_record(r, index, &a, &labels)) || !a)
			break;
		snprintf(what, sizeof what, "%s: record %llu", dg_reader_name(r),
			 (unsigned long long)index);
		st = dg__store_append(s, a->dtype, a->data, a->dims[0], (unsigned)a->dims[1],
				      (unsigned)a->dims[2], (unsigned)a->dims[3], labels, what);
		if (!st)
			st = take_classes(s, a, dg_reader_name(r), index);
		dg_array_free(a);
		free(labels);
	}
	/* messages name the stream and the record already */
	return st ? st : dg__store_finish(s, ds);
}

void dg__seq_free(struct dg_seq *q)
{
	if (!q)
		return;
	dg_reader_close(q->r);
	dg__idx_close(q->idx);
	dg_array_free(q->cur);
	free(q->cur_labels);
	free(q);
}

/* Makes the next record current (q->cur NULL at the end). */
static int seq_advance(struct dg_dataset *ds)
{
	struct dg_seq *q = ds->seq;
	int st;

	dg_array_free(q->cur);
	free(q->cur_labels);
	q->cur = NULL;
	q->cur_labels = NULL;
	q->off = 0;
	if (q->eof)
		return DG_OK;
	if (q->idx)
		st = dg__idx_chunk(ds, q->idx, &q->cur, &q->cur_labels);
	else
		st = next_record(q->r, q->index, &q->cur, &q->cur_labels);
	if (st)
		return st;
	if (!q->cur) {
		q->eof = 1;
		return DG_OK;
	}
	if (ds->info.has_labels != (q->cur_labels != NULL) && q->index)
		return dg_error(DG_EDATA, "%s: record %llu: %s labels, unlike earlier records",
				dg_input_name(ds->in), (unsigned long long)q->index,
				q->cur_labels ? "has" : "has no");
	if (q->r && (st = take_classes(ds->store, q->cur, dg_reader_name(q->r), q->index)))
		return st;
	ds->info.has_labels = q->cur_labels != NULL;
	ds->info.classes = ds->store->nclasses;
	q->index++;
	return DG_OK;
}

/* Starts reading ds->in from where it stands: an IDX file through idx
 * (its header read; NULL: read it now) or a stream. */
static int seq_open(struct dg_dataset *ds, struct dg_idx *idx)
{
	struct dg_seq *q = calloc(1, sizeof *q);
	int st;

	if (!q) {
		dg__idx_close(idx);
		return dg_error_nomem("a stream", sizeof *q);
	}
	ds->seq = q;
	if (ds->seq_idx) {
		q->idx = idx;
		if (!idx && (st = dg__idx_open(ds->in, ds->opt.limit, &q->idx)))
			return st;
	} else if (!(q->r = dg_reader_input(ds->in))) {
		return DG_ENOMEM;
	}
	/* the first record gives the shape */
	if ((st = seq_advance(ds)))
		return st;
	if (!q->cur)
		return dg_error(DG_EDATA, "%s: no images", dg_input_name(ds->in));
	ds->info.channels = (unsigned)q->cur->dims[1];
	ds->info.height = (unsigned)q->cur->dims[2];
	ds->info.width = (unsigned)q->cur->dims[3];
	return DG_OK;
}

int dg__load_stream(struct dg_dataset *ds, struct dg_input *in)
{
	struct dg_reader *r;
	int st;

	ds->store = dg__store_new(ds->opt.max_bytes);
	if (!ds->store)
		return DG_ENOMEM;
	ds->info.sequential = ds->opt.sequential;
	if (ds->opt.sequential) {
		/* read on, record by record, from the input */
		ds->in = in;
		return seq_open(ds, NULL);
	}
	if (!(r = dg_reader_input(in)))
		return DG_ENOMEM;
	st = load_all(ds, r);
	dg_reader_close(r);
	return st;
}

int dg__seq_rewind(struct dg_dataset *ds)
{
	int st;

	if (!dg_input_seekable(ds->in))
		return dg_error(DG_EUSAGE, "%s: not a regular file, so read only once (it "
				"cannot give a second epoch)", dg_input_name(ds->in));
	if ((st = dg_input_rewind(ds->in)))
		return st;
	dg__seq_free(ds->seq);
	ds->seq = NULL;
	ds->info.count = 0;
	return seq_open(ds, NULL);
}

int dg__seq_open_idx(struct dg_dataset *ds, struct dg_input *in, struct dg_idx *x)
{
	ds->in = in;
	ds->seq_idx = 1;
	ds->info.sequential = 1;
	return seq_open(ds, x);
}

int dg__seq_read(struct dg_dataset *ds, uint64_t max, struct dg_array **images,
		 struct dg_array **labels)
{
	struct dg_seq *q = ds->seq;
	uint64_t n = 0, cap = 0, per = 0, dims[4] = {0};
	float *px = NULL;
	int32_t *lb = NULL;
	int st = DG_OK;

	if (ds->opt.limit && max > ds->opt.limit - ds->info.count)
		max = ds->opt.limit - ds->info.count;
	while (n < max) {
		uint64_t take;

		if (q->cur && q->off == q->cur->dims[0] && (st = seq_advance(ds)))
			break;
		if (!q->cur)
			break;
		if (n && memcmp(dims + 1, q->cur->dims + 1, 3 * sizeof *dims) != 0)
			break;   /* a new shape starts the next batch */
		if (!n) {
			memcpy(dims, q->cur->dims, sizeof dims);
			per = dims[1] * dims[2] * dims[3];
			ds->info.channels = (unsigned)dims[1];
			ds->info.height = (unsigned)dims[2];
			ds->info.width = (unsigned)dims[3];
		}
		take = q->cur->dims[0] - q->off;
		if (take > max - n)
			take = max - n;
		if (n + take > cap) {
			void *p;
			cap = n + take > cap * 2 ? n + take : cap * 2;
			if (cap > max)
				cap = max;
			if (!(p = realloc(px, cap * per * sizeof *px))) {
				st = dg_error_nomem("a batch", cap * per * 4);
				break;
			}
			px = p;
			if (!(p = realloc(lb, cap * sizeof *lb))) {
				st = dg_error_nomem("a batch", cap * 4);
				break;
			}
			lb = p;
		}
		if (q->cur->dtype == DG_U8)
			for (uint64_t j = 0; j < take * per; j++)
				px[n * per + j] = ((uint8_t *)q->cur->data)[q->off * per + j] / 255.0f;
		else
			memcpy(px + n * per, (float *)q->cur->data + q->off * per,
			       take * per * sizeof *px);
		for (uint64_t i = 0; i < take; i++)
			lb[n + i] = q->cur_labels ? q->cur_labels[q->off + i] : -1;
		q->off += take;
		n += take;
	}
	if (!st && n) {
		struct dg_array *im, *la = NULL;
		dims[0] = n;
		im = dg_array_new(DG_F32, 4, dims);
		if (im && labels && ds->info.has_labels && !(la = dg_array_new(DG_I32, 1, dims))) {
			dg_array_free(im);
			im = NULL;
		}
		if (!im) {
			st = DG_ENOMEM;
		} else {
			memcpy(im->data, px, n * per * sizeof *px);
			if (la)
				memcpy(la->data, lb, n * sizeof *lb);
			st = dg__describe(ds, im);
			if (st) {
				dg_array_free(im);
				dg_array_free(la);
			} else {
				*images = im;
				if (labels)
					*labels = la;
				ds->info.count += n;
			}
		}
	}
	free(px);
	free(lb);
	return st;
}
