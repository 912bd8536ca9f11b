/* dataset_idx.c — datasets from IDX files (images plus the matching labels
 * file) and the fashion-mnist names (Debian's dataset-fashion-mnist). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "data/dataset_impl.h"

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

/* IDX images: N×H×W (gray) or N×H×W×C (C = 1 or 3, channels last), u8 or
 * f32/f64 in [0,1]. */
static int store_images(struct dg_store *s, struct dg_array *a, const char *path)
{
	uint64_t n = a->dims[0], h = a->dims[1], w = a->dims[2];
	uint64_t c = a->rank == 4 ? a->dims[3] : 1, per = h * w * c;
	float *tmp;
	int st = DG_OK;

	if ((a->rank != 3 && a->rank != 4) || (c != 1 && c != 3))
		return dg_error(DG_EDATA, "%s: IDX images must be N×H×W or N×H×W×C with C 1 or 3", path);
	if (a->dtype != DG_U8 && a->dtype != DG_F32 && a->dtype != DG_F64)
		return dg_error(DG_EDATA, "%s: IDX images of type %s (u8, f32 or f64 expected)",
				path, dg_dtype_name(a->dtype));
	if (h > UINT32_MAX || w > UINT32_MAX || !n || !per)
		return dg_error(DG_EDATA, "%s: no images", path);
	if (a->dtype == DG_U8 && c == 1) {
		/* already N×1×H×W u8: the store takes the buffer */
		s->px = a->data;
		a->data = NULL;
		s->dtype = DG_U8;
		s->c = 1;
		s->h = (unsigned)h;
		s->w = (unsigned)w;
		s->n = s->cap = n;
		return DG_OK;
	}
	tmp = malloc(per * sizeof *tmp);
	if (!tmp)
		return dg_error_nomem("an image", per * 4);
	for (uint64_t i = 0; i < n && !st; i++) {
		for (uint64_t k = 0; k < c; k++)
			for (uint64_t j = 0; j < h * w; j++) {
				uint64_t at = (i * h * w + j) * c + k;
				double v = a->dtype == DG_U8 ? ((uint8_t *)a->data)[at] / 255.0
					 : a->dtype == DG_F32 ? ((float *)a->data)[at]
					 : ((double *)a->data)[at];
				if (!(v >= 0 && v <= 1)) {
					st = dg_error(DG_EDATA, "%s: image %llu: value %g outside [0,1]",
						      path, (unsigned long long)i, v);
					break;
				}
				tmp[k * h * w + j] = (float)v;
			}
		if (!st)
			st = dg__store_append(s, DG_F32, tmp, 1, (unsigned)c, (unsigned)h,
					      (unsigned)w, NULL, path);
	}
	free(tmp);
	if (!st) {
		free(s->labels);   /* the append's placeholders; labels come next */
		s->labels = NULL;
	}
	return st;
}

int dg__load_idx(struct dg_dataset *ds, const char *images, const char *labels)
{
	struct dg_array *a;
	char *found = NULL;
	uint64_t total = 0;
	int st;

	ds->store = dg__store_new(ds->opt.max_bytes);
	if (!ds->store)
		return DG_ENOMEM;
	/* with a limit only the first images are read: fashion-mnist
	 * --limit 64 starts at once instead of inflating 47 MB */
	st = dg__idx_read_first(images, ds->opt.max_bytes, ds->opt.limit, &total, &a);
	if (st)
		return st;
	st = store_images(ds->store, a, images);
	dg_array_free(a);
	if (st)
		return st;
	if (!labels)
		labels = found = matching_labels(images);
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
	rc = dg__load_idx(ds, images, labels);
	if (rc)
		return rc;
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
