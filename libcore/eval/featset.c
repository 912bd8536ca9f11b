/* eval/featset.c — what a classifier makes of a set of images (features,
 * class probabilities, a fingerprint of the images), the statistics
 * computed from them, and their cache beside the extractor
 * (dg/metrics.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg/metrics.h"
#include "dg/error.h"
#include "dg/stream.h"
#include "io/atomic.h"

/* ---- the images' fingerprint ----------------------------------------------------- */

/* Each f32 value is a 32-bit word: h = (h ^ w)·K, h ^= h >> 32 (as the
 * checkpoint fingerprint mixes its words); the count and shape are mixed
 * in at the end and the splitmix64 finalizer spreads the bits. */
#define HASH_K 0x9e3779b97f4a7c15ull

void dg_image_hash_init(struct dg_image_hash *ih)
{
	memset(ih, 0, sizeof *ih);
	ih->h = 0xcbf29ce484222325ull;
}

static void mix(uint64_t *h, uint64_t w)
{
	*h = (*h ^ w) * HASH_K;
	*h ^= *h >> 32;
}

void dg_image_hash_add(struct dg_image_hash *ih, const float *x, uint64_t n, unsigned c,
		       unsigned h, unsigned w)
{
	uint64_t count = n * c * h * w;
	ih->channels = c;
	ih->height = h;
	ih->width = w;
	ih->count += n;
	for (uint64_t i = 0; i < count; i++) {
		uint32_t v;
		float f = x[i] == 0 ? 0.0f : x[i]; /* -0 and 0 are the same pixel */
		memcpy(&v, &f, sizeof v);
		mix(&ih->h, v);
	}
	ih->words += count;
}

uint64_t dg_image_hash_end(const struct dg_image_hash *ih)
{
	uint64_t h = ih->h;
	mix(&h, ih->count);
	mix(&h, ((uint64_t)ih->channels << 40) ^ ((uint64_t)ih->height << 20) ^ ih->width);
	h ^= ih->words;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

/* ---- feature sets ------------------------------------------------------------------ */

void dg_featset_free(struct dg_featset *fs)
{
	if (!fs)
		return;
	free(fs->features);
	free(fs->probs);
	free(fs->radii);
	dg_gauss_free(&fs->gauss);
	free(fs);
}

int dg_featset_radii(struct dg_featset *fs, unsigned k)
{
	if (fs->radii && fs->radii_k == k)
		return DG_OK;
	float *r = malloc((fs->n ? fs->n : 1) * sizeof *r);
	if (!r)
		return dg_error_nomem("k-NN radii", fs->n * sizeof *r);
	int st = dg_knn_radii(fs->features, fs->n, fs->dim, k, r);
	if (st) {
		free(r);
		return st;
	}
	free(fs->radii);
	fs->radii = r;
	fs->radii_k = k;
	return DG_OK;
}

int dg_featset_gauss(struct dg_featset *fs)
{
	if (fs->gauss.count)
		return DG_OK;
	return dg_gauss_fit(fs->features, fs->n, fs->dim, &fs->gauss);
}

/* A feature set growing as batches are classified. */
struct growing {
	struct dg_featset *fs;
	uint64_t cap;
	struct dg_image_hash ih;
};

static int grow(struct growing *g, const struct dg_array *f, const struct dg_array *p)
{
	struct dg_featset *fs = g->fs;
	uint64_t m = f->dims[0];
	if (fs->n + m > g->cap) {
		uint64_t cap = g->cap ? 2 * g->cap : 1024;
		while (cap < fs->n + m)
			cap *= 2;
		float *nf = realloc(fs->features, cap * fs->dim * sizeof *nf);
		if (nf)
			fs->features = nf;
		float *np = nf ? realloc(fs->probs, cap * fs->classes * sizeof *np) : NULL;
		if (np)
			fs->probs = np;
		if (!nf || !np)
			return dg_error_nomem("features", cap * fs->dim * sizeof *nf);
		g->cap = cap;
	}
	memcpy(fs->features + fs->n * fs->dim, f->data, m * fs->dim * sizeof(float));
	memcpy(fs->probs + fs->n * fs->classes, p->data, m * fs->classes * sizeof(float));
	fs->n += m;
	return DG_OK;
}

/* Classifies m images of x and appends them. */
static int classify(struct dg_inference *inf, struct growing *g, const float *x, uint64_t m)
{
	const struct dg_model_info *mi = dg_inference_info(inf);
	struct dg_array *f = NULL, *p = NULL;
	int st = dg_inference_classify(inf, m, x, &f, &p);
	if (!st && !g->fs->dim) {
		g->fs->dim = (unsigned)f->dims[1];
		g->fs->classes = (unsigned)p->dims[1];
	}
	if (!st)
		st = grow(g, f, p);
	if (!st)
		dg_image_hash_add(&g->ih, x, m, mi->channels, mi->height, mi->width);
	dg_array_free(f);
	dg_array_free(p);
	return st;
}

static int start(struct dg_inference *inf, struct growing *g)
{
	const struct dg_model_info *mi = dg_inference_info(inf);
	memset(g, 0, sizeof *g);
	if (!(mi->family->caps & DG_CAP_CLASSIFY))
		return dg_error(DG_EUSAGE, "model family %s is no classifier: it gives no "
				"features to compare images by (train one with dg-train -p "
				"classifier, or use dg-eval's default extractor)", mi->family->name);
	if (!(g->fs = calloc(1, sizeof *g->fs)))
		return dg_error_nomem("a feature set", sizeof *g->fs);
	g->fs->channels = mi->channels;
	g->fs->height = mi->height;
	g->fs->width = mi->width;
	dg_image_hash_init(&g->ih);
	return DG_OK;
}

static int finish(struct growing *g, const char *source, struct dg_featset **out)
{
	if (!g->fs->n) {
		dg_featset_free(g->fs);
		return dg_error(DG_EDATA, "%s: no images", source);
	}
	g->fs->fingerprint = dg_image_hash_end(&g->ih);
	*out = g->fs;
	return DG_OK;
}

int dg_featset_extract(struct dg_inference *inf, struct dg_dataset *ds, uint64_t limit,
		       struct dg_featset **out)
{
	const struct dg_model_info *mi = dg_inference_info(inf);
	const struct dg_dataset_info *di = dg_dataset_info(ds);
	struct growing g;
	int st;

	*out = NULL;
	if ((st = start(inf, &g)))
		return st;
	for (;;) {
		struct dg_array *im = NULL;
		uint64_t want = mi->batch;
		if (limit && limit - g.fs->n < want)
			want = limit - g.fs->n;
		if (!want || (st = dg_dataset_read(ds, want, &im, NULL)) || !im)
			break;
		if (im->rank != 4 || im->dims[1] != mi->channels || im->dims[2] != mi->height ||
		    im->dims[3] != mi->width) {
			st = dg_error(DG_EDATA, "%s: images of %llux%llux%llu after image %llu, but "
				      "the extractor (a classifier of %ux%ux%u images) cannot "
				      "compare those", di->source,
				      (unsigned long long)(im->rank == 4 ? im->dims[1] : 0),
				      (unsigned long long)(im->rank == 4 ? im->dims[2] : 0),
				      (unsigned long long)(im->rank == 4 ? im->dims[3] : 0),
				      (unsigned long long)g.fs->n, mi->channels, mi->height,
				      mi->width);
			dg_array_free(im);
			break;
		}
		st = classify(inf, &g, im->data, im->dims[0]);
		dg_array_free(im);
		if (st)
			break;
	}
	if (st) {
		dg_featset_free(g.fs);
		return st;
	}
	return finish(&g, di->source, out);
}

int dg_featset_extract_array(struct dg_inference *inf, const float *x, uint64_t n,
			     struct dg_featset **out)
{
	const struct dg_model_info *mi = dg_inference_info(inf);
	uint64_t per = (uint64_t)mi->channels * mi->height * mi->width;
	struct growing g;
	int st;

	*out = NULL;
	if ((st = start(inf, &g)))
		return st;
	for (uint64_t i = 0; !st && i < n; i += mi->batch)
		st = classify(inf, &g, x + i * per, n - i < mi->batch ? n - i : mi->batch);
	if (st) {
		dg_featset_free(g.fs);
		return st;
	}
	return finish(&g, "images", out);
}

/* ---- the cache ---------------------------------------------------------------------- */

/* Records of a cache file, in order: features (with the set's keys), probs,
 * then optionally radii, mean and cov. */
#define CACHE_FORMAT "1"

int dg_featset_cache_path(const char *extractor_path, uint64_t extractor_fp,
			  uint64_t images_fp, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s.ref-%016" PRIx64 "-%016" PRIx64 ".dgs", extractor_path,
			 extractor_fp, images_fp);
	if (n < 0 || (size_t)n >= size)
		return dg_error(DG_EUSAGE, "%s: path too long for a cache beside it",
				extractor_path);
	return DG_OK;
}

static int hex_is(const struct dg_meta *m, const char *key, uint64_t want)
{
	char buf[17];
	const char *v = dg_meta_get(m, key);
	snprintf(buf, sizeof buf, "%016" PRIx64, want);
	return v && strcmp(v, buf) == 0;
}

int dg_featset_cache_load(const char *path, uint64_t extractor_fp, uint64_t images_fp,
			  struct dg_featset **out)
{
	struct dg_featset *fs;
	struct dg_array *a = NULL;
	struct dg_reader *r;
	int st = DG_OK;

	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return dg_error(DG_ENOINPUT, "%s: no cached statistics", path);
	if (!(r = dg_reader_file(f, path))) {
		fclose(f);
		return DG_ENOMEM;
	}
	if (!(fs = calloc(1, sizeof *fs))) {
		dg_reader_close(r);
		fclose(f);
		return dg_error_nomem("a feature set", sizeof *fs);
	}
	for (int i = 0; !st && !(st = dg_read_array(r, &a)) && a; i++) {
		const char *kind = dg_meta_get(a->meta, "kind");
		kind = kind ? kind : "";
		if (i == 0) {
			const char *fmt = dg_meta_get(a->meta, "format");
			unsigned c = 0, h = 0, w = 0;
			const char *shape = dg_meta_get(a->meta, "shape");
			if (strcmp(kind, "features") || !fmt || strcmp(fmt, CACHE_FORMAT) ||
			    !hex_is(a->meta, "extractor", extractor_fp) ||
			    !hex_is(a->meta, "images", images_fp) || a->dtype != DG_F32 ||
			    a->rank != 2 || !a->dims[0] || !shape ||
			    sscanf(shape, "%ux%ux%u", &c, &h, &w) != 3)
				st = dg_error(DG_EDATA, "%s: not the cached features of these images "
					      "by this extractor", path);
			fs->n = a->dims[0];
			fs->dim = (unsigned)a->dims[1];
			fs->channels = c;
			fs->height = h;
			fs->width = w;
			fs->fingerprint = images_fp;
			fs->features = (float *)a->data;
			a->data = NULL;
		} else if (!strcmp(kind, "probs") && a->dtype == DG_F32 && a->rank == 2 &&
			   a->dims[0] == fs->n && !fs->probs) {
			fs->classes = (unsigned)a->dims[1];
			fs->probs = (float *)a->data;
			a->data = NULL;
		} else if (!strcmp(kind, "radii") && a->dtype == DG_F32 && a->rank == 1 &&
			   a->dims[0] == fs->n && dg_meta_get(a->meta, "k")) {
			fs->radii_k = (unsigned)strtoul(dg_meta_get(a->meta, "k"), NULL, 10);
			fs->radii = (float *)a->data;
			a->data = NULL;
		} else if (!strcmp(kind, "mean") && a->dtype == DG_F64 && a->rank == 1 &&
			   a->dims[0] == fs->dim) {
			fs->gauss.mean = (double *)a->data;
			a->data = NULL;
		} else if (!strcmp(kind, "cov") && a->dtype == DG_F64 && a->rank == 2 &&
			   a->dims[0] == fs->dim && a->dims[1] == fs->dim) {
			fs->gauss.cov = (double *)a->data;
			a->data = NULL;
		} else {
			st = dg_error(DG_EDATA, "%s: record %d (%s) does not belong", path, i, kind);
		}
		dg_array_free(a);
		a = NULL;
	}
	dg_reader_close(r);
	fclose(f);
	if (!st && !fs->probs)
		st = dg_error(DG_EDATA, "%s: no class probabilities", path);
	if (!st && (!fs->gauss.mean) != (!fs->gauss.cov))
		st = dg_error(DG_EDATA, "%s: half a Gaussian fit", path);
	if (st) {
		dg_featset_free(fs);
		return st == DG_ENOINPUT ? DG_EDATA : st;
	}
	if (fs->gauss.mean) {
		fs->gauss.dim = fs->dim;
		fs->gauss.count = fs->n;
	}
	*out = fs;
	return DG_OK;
}

int dg_featset_cache_save(const char *path, uint64_t extractor_fp,
			  const struct dg_featset *fs)
{
	struct dg_atomic *at = NULL;
	struct dg_writer *w = NULL;
	struct dg_meta *m = dg_meta_new();
	int st = m ? dg_atomic_open(path, &at) : DG_ENOMEM;
	if (!st && !(w = dg_writer_file(at->f, path)))
		st = DG_ENOMEM;
	if (!st)
		st = dg_meta_set(m, "kind", "features") || dg_meta_set(m, "format", CACHE_FORMAT) ||
		     dg_meta_setf(m, "extractor", "%016" PRIx64, extractor_fp) ||
		     dg_meta_setf(m, "images", "%016" PRIx64, fs->fingerprint) ||
		     dg_meta_setf(m, "shape", "%ux%ux%u", fs->channels, fs->height, fs->width) ?
		     DG_ENOMEM : DG_OK;
	if (!st)
		st = dg_write_record(w, DG_F32, 2, (const uint64_t[]){fs->n, fs->dim}, m,
				     fs->features);
	dg_meta_free(m);
	m = NULL;
	struct {
		const char *kind;
		int dtype;
		unsigned rank;
		uint64_t dims[2];
		const void *data;
	} rec[] = {
		{"probs", DG_F32, 2, {fs->n, fs->classes}, fs->probs},
		{"radii", DG_F32, 1, {fs->n, 0}, fs->radii},
		{"mean", DG_F64, 1, {fs->dim, 0}, fs->gauss.count ? fs->gauss.mean : NULL},
		{"cov", DG_F64, 2, {fs->dim, fs->dim}, fs->gauss.count ? fs->gauss.cov : NULL},
	};
	for (size_t i = 0; !st && i < sizeof rec / sizeof rec[0]; i++) {
		if (!rec[i].data)
			continue;
		if (!(m = dg_meta_new()) || dg_meta_set(m, "kind", rec[i].kind) ||
		    (rec[i].data == fs->radii && dg_meta_setf(m, "k", "%u", fs->radii_k)))
			st = DG_ENOMEM;
		if (!st)
			st = dg_write_record(w, rec[i].dtype, rec[i].rank, rec[i].dims, m,
					     rec[i].data);
		dg_meta_free(m);
		m = NULL;
	}
	if (w) {
		int cst = dg_writer_close(w);
		st = st ? st : cst;
	}
	if (st) {
		dg_atomic_abort(at);
		return st;
	}
	return dg_atomic_commit(at);
}
