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

static int load_labels(struct dg_store *s, const char *path, uint64_t first,
		       uint64_t images)
{
	struct dg_array *a;
	uint64_t total = 0;
	int st = dg__idx_read_first(path, 0, first, &total, &a);

	if (st)
		return st;
	if (a->rank != 1 || (a->dtype != DG_U8 && a->dtype != DG_I8 && a->dtype != DG_I32)) {
		st = dg_error(DG_EDATA, "%s: labels must be a rank-1 IDX file of integers", path);
	} else if (total != images || a->dims[0] != s->n) {
		st = dg_error(DG_EDATA, "%s: %llu labels for %llu images", path,
			      (unsigned long long)total, (unsigned long long)images);
	} else if (!(s->labels = malloc((s->n ? s->n : 1) * sizeof *s->labels))) {
		st = dg_error_nomem("labels", s->n * 4);
	} else {
		for (uint64_t i = 0; i < s->n && !st; i++) {
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

/* IDX images: N×H×W (gray) or N×H×W×C (C = 1 or 3, channels last), u8 or
 * f32/f64 in [0,1], read a chunk of images at a time into the store, so
 * that memory holds the images once (as u8 when they are 8-bit) and
 * never the file's whole contents besides. */
static int store_images(struct dg_dataset *ds, struct dg_idx *x, const char *name)
{
	struct dg_store *s = ds->store;
	uint64_t dims[DG_MAX_RANK], n, h, w, c, per, esize, k;
	unsigned rank;
	int dtype, st = DG_OK;
	void *raw = NULL, *planar = NULL;

	dg__idx_shape(x, &dtype, &rank, dims, NULL);
	n = dims[0];
	h = dims[1];
	w = dims[2];
	c = rank == 4 ? dims[3] : 1;
	if ((rank != 3 && rank != 4) || (c != 1 && c != 3))
		return dg_error(DG_EDATA, "%s: IDX images must be N×H×W or N×H×W×C with C 1 or 3",
				name);
	if (dtype != DG_U8 && dtype != DG_F32 && dtype != DG_F64)
		return dg_error(DG_EDATA, "%s: IDX images of type %s (u8, f32 or f64 expected)",
				name, dg_dtype_name(dtype));
	if (h > UINT32_MAX || w > UINT32_MAX || !n || !h || !w)
		return dg_error(DG_EDATA, "%s: no images", name);
	per = h * w * c;
	esize = dg_dtype_size(dtype);
	/* the store holds at least a byte a value: refused before anything
	 * is read when even that is over the limit */
	if (n > s->max_bytes / per)
		return dg_error(DG_EDATA, "%s: IDX dims %llux%llux%llu%s need at least %llu "
				"bytes in memory, more than the limit of %llu (%s)", name,
				(unsigned long long)n, (unsigned long long)h,
				(unsigned long long)w, rank == 4 ? (c == 3 ? "x3" : "x1") : "",
				(unsigned long long)(n * per), (unsigned long long)s->max_bytes,
				DG_ENV_DATASET_MAX);
	k = chunk_items(per * esize, n);
	raw = malloc(k * per * esize);
	planar = malloc(dtype == DG_U8 && c == 1 ? 1 : k * per * (dtype == DG_U8 ? 1 : 4));
	if (!raw || !planar) {
		st = dg_error_nomem("IDX images", k * per * esize);
		goto out;
	}
	for (uint64_t done = 0; done < n && !st; done += k) {
		if (k > n - done)
			k = n - done;
		if ((st = dg__idx_items(x, k, raw)))
			break;
		/* channels last -> planar; floats checked against [0,1] */
		for (uint64_t i = 0; i < k && !st && !(dtype == DG_U8 && c == 1); i++)
			for (uint64_t ch = 0; ch < c && !st; ch++)
				for (uint64_t j = 0; j < h * w; j++) {
					uint64_t at = (i * h * w + j) * c + ch;
					uint64_t to = (i * c + ch) * h * w + j;
					double v;
					if (dtype == DG_U8) {
						((uint8_t *)planar)[to] = ((uint8_t *)raw)[at];
						continue;
					}
					v = dtype == DG_F32 ? ((float *)raw)[at] : ((double *)raw)[at];
					if (!(v >= 0 && v <= 1)) {
						st = dg_error(DG_EDATA, "%s: image %llu: value %g outside "
							      "[0,1]", name,
							      (unsigned long long)(done + i), v);
						break;
					}
					((float *)planar)[to] = (float)v;
				}
		if (!st)
			st = dg__store_append(s, dtype == DG_U8 ? DG_U8 : DG_F32,
					      dtype == DG_U8 && c == 1 ? raw : planar, k,
					      (unsigned)c, (unsigned)h, (unsigned)w, NULL, name);
	}
	if (!st)
		st = dg__idx_finish(x);
out:
	free(raw);
	free(planar);
	if (!st) {
		free(s->labels);   /* the append's placeholders; labels come next */
		s->labels = NULL;
	}
	return st;
}

int dg__load_idx(struct dg_dataset *ds, struct dg_input *in, const char *labels)
{
	struct dg_idx *x;
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
	st = store_images(ds, x, dg_input_name(in));
	dg__idx_close(x);
	if (st)
		return st;
	if (!labels && strcmp(ds->source, "-") != 0)
		labels = found = matching_labels(ds->source);
	if (labels)
		st = load_labels(ds->store, labels, ds->opt.limit, total);
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
		dg_input_close(in);
		if (rc)
			return rc;
	}
	if (ds->store->c != 1 || ds->store->h != 28 || ds->store->w != 28)
		return dg_error(DG_EDATA, "%s: %s: not 28×28 gray images", ds->source, images);
	for (uint64_t i = 0; i < ds->store->n; i++)
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
