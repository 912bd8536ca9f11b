/* dataset_idx.c — datasets from IDX files (images plus the matching labels
 * file) and the fashion-mnist names (Debian's dataset-fashion-mnist). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "data/dataset_impl.h"
#include "io/limits.h"

#define FASHION_DIR "/usr/share/datasets"

static const char *const fashion_classes[10] = {
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* The labels file that goes with an images file: "images" -> "labels" and
 * "idx3"/"idx4" -> "idx1" in the file name.  NULL when the name has no
 * "images" or the file does not exist. */
static char *matching_labels(const char *images)
{
	const char *base = strrchr(images, '/');
	char *p, *q, *out;
	struct stat st;

	base = base ? base + 1 : images;
	if (!strstr(base, "images") || !(out = strdup(images)))
		return NULL;
	p = out + (base - images);
	q = strstr(p, "images");
	memcpy(q, "labels", 6);
	if ((q = strstr(p, "idx3")) || (q = strstr(p, "idx4")))
		q[3] = '1';
	if (stat(out, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(out);
		return NULL;
	}
	return out;
}

/* The labels of the first want images (all when first is 0), into
 * s->labels (s->nlabels of them); the file must hold one per image. */
static int load_labels(struct dg_store *s, const char *path, uint64_t first,
		       uint64_t images, uint64_t want)
{
	struct dg_array *a;
	uint64_t total = 0;
	int st = dg__idx_read_first(path, 0, first, &total, &a);

	if (st)
		return st;
	if (a->rank != 1 || (a->dtype != DG_U8 && a->dtype != DG_I8 && a->dtype != DG_I32)) {
		st = dg_error(DG_EDATA, "%s: labels must be a rank-1 IDX file of integers", path);
	} else if (total != images || a->dims[0] != want) {
		st = dg_error(DG_EDATA, "%s: %llu labels for %llu images", path,
			      (unsigned long long)total, (unsigned long long)images);
	} else if (!(s->labels = malloc((want ? want : 1) * sizeof *s->labels))) {
		st = dg_error_nomem("labels", want * 4);
	} else {
		s->nlabels = want;
		for (uint64_t i = 0; i < want && !st; i++) {
			int32_t v = a->dtype == DG_U8 ? ((uint8_t *)a->data)[i]
				  : a->dtype == DG_I8 ? ((int8_t *)a->data)[i]
				  : ((int32_t *)a->data)[i];
			if (v < 0)
				st = dg_error(DG_EDATA, "%s: label %llu is negative (%d)", path,
					      (unsigned long long)i, (int)v);
			s->labels[i] = v;
		}
	}
	dg_array_free(a);
	return st;
}

/* Images per read: about a megabyte, at least one. */
static uint64_t chunk_items(uint64_t item_bytes, uint64_t left)
{
	uint64_t k = item_bytes ? (1u << 20) / item_bytes : left;
	k = k ? k : 1;
	return k < left ? k : left;
}

/* The shape of IDX images: N×H×W (gray) or N×H×W×C (C = 1 or 3, channels
 * last), u8 or f32/f64 in [0,1]. */
struct idx_images {
	int dtype;
	unsigned rank;
	uint64_t n, h, w, c, per, esize;
};

static int image_shape(struct dg_idx *x, const char *name, uint64_t max_bytes,
		       struct idx_images *m)
{
	uint64_t dims[DG_MAX_RANK];

	dg__idx_shape(x, &m->dtype, &m->rank, dims, NULL);
	m->n = dims[0];
	m->h = dims[1];
	m->w = dims[2];
	m->c = m->rank == 4 ? dims[3] : 1;
	if ((m->rank != 3 && m->rank != 4) || (m->c != 1 && m->c != 3))
		return dg_error(DG_EDATA, "%s: IDX images must be N×H×W or N×H×W×C with C 1 or 3",
				name);
	if (m->dtype != DG_U8 && m->dtype != DG_F32 && m->dtype != DG_F64)
		return dg_error(DG_EDATA, "%s: IDX images of type %s (u8, f32 or f64 expected)",
				name, dg_dtype_name(m->dtype));
	if (m->h > UINT32_MAX || m->w > UINT32_MAX || !m->n || !m->h || !m->w)
		return dg_error(DG_EDATA, "%s: no images", name);
	m->per = m->h * m->w * m->c;
	m->esize = dg_dtype_size(m->dtype);
	/* one image, as held (u8, or f32 for floats), within the limit:
	 * checked from the header, before anything is allocated */
	if (m->per > max_bytes / (m->dtype == DG_U8 ? 1 : 4))
		return dg_error(DG_EDATA, "%s: one IDX image of %llux%llux%llu needs %llu bytes, "
				"more than the limit of %llu (%s)", name,
				(unsigned long long)m->h, (unsigned long long)m->w,
				(unsigned long long)m->c,
				(unsigned long long)(m->per * (m->dtype == DG_U8 ? 1 : 4)),
				(unsigned long long)max_bytes, DG_ENV_DATASET_MAX);
	return DG_OK;
}

/* Reads the next k images and makes them planar: u8 as they are, floats
 * as f32 checked against [0,1] (first is the index of the first, for
 * messages).  *px is a new dg_alloc() block the caller frees with
 * dg_free(); it grows as the data arrives, and the planar copy is made
 * only once the data is in. */
static int read_images(struct dg_idx *x, const struct idx_images *m, uint64_t first,
		       uint64_t k, const char *name, void **px)
{
	uint64_t hw = m->h * m->w;
	void *raw, *out;
	int st = dg__idx_items(x, k, &raw);

	*px = NULL;
	if (st)
		return st;
	if (m->dtype == DG_U8 && m->c == 1) {
		*px = raw;   /* gray u8 is planar already */
		return DG_OK;
	}
	if (!(out = dg_alloc(k * m->per * (m->dtype == DG_U8 ? 1 : 4)))) {
		dg_free(raw);
		return DG_ENOMEM;
	}
	for (uint64_t i = 0; i < k && !st; i++)
		for (uint64_t ch = 0; ch < m->c && !st; ch++)
			for (uint64_t j = 0; j < hw; j++) {
				uint64_t at = (i * hw + j) * m->c + ch, to = (i * m->c + ch) * hw + j;
				double v;
				if (m->dtype == DG_U8) {
					((uint8_t *)out)[to] = ((uint8_t *)raw)[at];
					continue;
				}
				v = m->dtype == DG_F32 ? ((float *)raw)[at] : ((double *)raw)[at];
				if (!(v >= 0 && v <= 1)) {
					st = dg_error(DG_EDATA, "%s: image %llu: value %g outside "
						      "[0,1]", name, (unsigned long long)(first + i), v);
					break;
				}
				((float *)out)[to] = (float)v;
			}
	dg_free(raw);
	if (st) {
		dg_free(out);
		return st;
	}
	*px = out;
	return DG_OK;
}

/* IDX images read a chunk at a time into the store, so that memory holds
 * the images once (as u8 when they are 8-bit) and never the file's whole
 * contents besides. */
static int store_images(struct dg_dataset *ds, struct dg_idx *x, const char *name)
{
	struct dg_store *s = ds->store;
	struct idx_images m;
	uint64_t k;
	int st;

	if ((st = image_shape(x, name, s->max_bytes, &m)))
		return st;
	/* the store holds at least a byte a value: refused before anything
	 * is read when even that is over the limit */
	if (m.n > s->max_bytes / m.per)
		return dg_error(DG_EDATA, "%s: IDX dims %llux%llux%llu%s need at least %llu "
				"bytes in memory, more than the limit of %llu (%s)", name,
				(unsigned long long)m.n, (unsigned long long)m.h,
				(unsigned long long)m.w, m.rank == 4 ? (m.c == 3 ? "x3" : "x1") : "",
				(unsigned long long)(m.n * m.per), (unsigned long long)s->max_bytes,
				DG_ENV_DATASET_MAX);
	k = chunk_items(m.per * m.esize, m.n);
	for (uint64_t done = 0; done < m.n && !st; done += k) {
		void *px;
		if (k > m.n - done)
			k = m.n - done;
		st = read_images(x, &m, done, k, name, &px);
		if (!st)
			st = dg__store_append(s, m.dtype == DG_U8 ? DG_U8 : DG_F32, px, k,
					      (unsigned)m.c, (unsigned)m.h, (unsigned)m.w, NULL,
					      name);
		dg_free(px);
	}
	if (!st)
		st = dg__idx_finish(x);
	if (!st) {
		free(s->labels);   /* the append's placeholders; labels come next */
		s->labels = NULL;
	}
	return st;
}

int dg__idx_chunk(struct dg_dataset *ds, struct dg_idx *x, struct dg_array **a,
		  int32_t **labels)
{
	const char *name = dg_input_name(ds->in);
	const struct dg_store *s = ds->store;
	struct idx_images m;
	uint64_t done = dg__idx_done(x), k;
	struct dg_array *im;
	void *px;
	int st;

	*a = NULL;
	*labels = NULL;
	if ((st = image_shape(x, name, ds->opt.max_bytes, &m)))
		return st;
	if (done == m.n)
		return dg__idx_finish(x);
	k = chunk_items(m.per * m.esize, m.n - done);
	if ((st = read_images(x, &m, done, k, name, &px)))
		return st;
	/* the array takes the block: no copy */
	if (!(im = dg_array_new(m.dtype == DG_U8 ? DG_U8 : DG_F32, 0, NULL))) {
		dg_free(px);
		return DG_ENOMEM;
	}
	dg_free(im->data);
	im->data = px;
	im->rank = 4;
	im->dims[0] = k;
	im->dims[1] = m.c;
	im->dims[2] = m.h;
	im->dims[3] = m.w;
	if (s->labels) {
		if (!(*labels = malloc(k * sizeof **labels))) {
			dg_array_free(im);
			return dg_error_nomem("labels", k * 4);
		}
		memcpy(*labels, s->labels + done, k * sizeof **labels);
	}
	*a = im;
	return DG_OK;
}

int dg__load_idx(struct dg_dataset *ds, struct dg_input *in, const char *labels)
{
	struct dg_idx *x;
	struct idx_images m;
	char *found = NULL;
	uint64_t total = 0, dims[DG_MAX_RANK];
	unsigned rank;
	int dtype, st;

	ds->store = dg__store_new(ds->opt.max_bytes);
	if (!ds->store)
		return DG_ENOMEM;
	/* with a limit only the first images are read: fashion-mnist
	 * --limit 64 starts at once instead of inflating 47 MB */
	if ((st = dg__idx_open(in, ds->opt.limit, &x)))
		return st;
	dg__idx_shape(x, &dtype, &rank, dims, &total);
	if (!labels && strcmp(ds->source, "-") != 0)
		labels = found = matching_labels(ds->source);
	if (ds->opt.sequential) {
		/* read on a chunk at a time (dg-encode): the labels first,
		 * then images as asked for */
		if (!(st = image_shape(x, dg_input_name(in), ds->opt.max_bytes, &m)) && labels)
			st = load_labels(ds->store, labels, ds->opt.limit, total, dims[0]);
		free(found);
		if (st) {
			dg__idx_close(x);
			return st;
		}
		return dg__seq_open_idx(ds, in, x);
	}
	st = store_images(ds, x, dg_input_name(in));
	dg__idx_close(x);
	if (!st && labels)
		st = load_labels(ds->store, labels, ds->opt.limit, total, ds->store->n);
	free(found);
	return st;
}

int dg__load_fashion(struct dg_dataset *ds, int test)
{
	const char *root = getenv("DG_DATA_DIR");
	const char *split = test ? "t10k" : "train";
	char images[4096], labels[4096];
	struct stat st;
	int rc;

	if (!root || !*root)
		root = FASHION_DIR;
	snprintf(images, sizeof images, "%s/fashion-mnist/%s-images-idx3-ubyte.gz", root, split);
	snprintf(labels, sizeof labels, "%s/fashion-mnist/%s-labels-idx1-ubyte.gz", root, split);
	if (stat(images, &st) != 0 || stat(labels, &st) != 0)
		return dg_error(DG_ENOINPUT, "%s: %s not found: install the Debian package "
				"dataset-fashion-mnist (or set DG_DATA_DIR)",
				ds->source, stat(images, &st) ? images : labels);
	{
		struct dg_input *in;
		if ((rc = dg_input_open(images, &in)))
			return rc;
		rc = dg__load_idx(ds, in, labels);
		if (ds->in != in)   /* a sequential set reads on from it */
			dg_input_close(in);
		if (rc)
			return rc;
	}
	if (ds->seq ? ds->info.channels != 1 || ds->info.height != 28 || ds->info.width != 28
		    : ds->store->c != 1 || ds->store->h != 28 || ds->store->w != 28)
		return dg_error(DG_EDATA, "%s: %s: not 28×28 gray images", ds->source, images);
	for (uint64_t i = 0; i < ds->store->nlabels; i++)
		if (ds->store->labels[i] > 9)
			return dg_error(DG_EDATA, "%s: label %d out of 0..9", labels,
					(int)ds->store->labels[i]);
	ds->store->classes = calloc(10, sizeof *ds->store->classes);
	if (!ds->store->classes)
		return dg_error_nomem("class names", 10);
	ds->store->nclasses = 10;
	for (int i = 0; i < 10; i++)
		if (!(ds->store->classes[i] = strdup(fashion_classes[i])))
			return dg_error_nomem("class names", 10);
	return DG_OK;
}
