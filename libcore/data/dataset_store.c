/* dataset_store.c — the in-memory image store of a dataset: appending
 * images (u8 while the source is 8-bit, else f32), gray/RGB mixing, class
 * names collected while loading and sorted at the end. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "data/dataset_impl.h"
#include "io/limits.h"

struct dg_store *dg__store_new(uint64_t max_bytes)
{
	struct dg_store *s = calloc(1, sizeof *s);

	if (!s) {
		dg_error_nomem("a dataset", sizeof *s);
		return NULL;
	}
	s->refs = 1;
	s->max_bytes = max_bytes ? max_bytes : DG_DATASET_MAX_BYTES;
	return s;
}

static void free_names(char **names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void dg__store_unref(struct dg_store *s)
{
	if (!s || --s->refs > 0)
		return;
	free(s->px);
	free(s->labels);
	free_names(s->classes, s->nclasses);
	free_names(s->names, s->nnames);
	free(s);
}

/* Whether every value is k/255 (to well under half a 16-bit step), so
 * the images can be kept as u8 without loss. */
static int exact_u8(const float *v, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		float q = v[i] * 255.0f;
		if (!(fabsf(q - rintf(q)) < 1e-3f) || q < 0 || q > 255)
			return 0;
	}
	return 1;
}

/* Reallocates the pixels for cap images of c channels, converting the n
 * held ones to dtype and replicating gray into RGB when c grows. */
static int reshape(struct dg_store *s, uint64_t cap, int dtype, unsigned c)
{
	uint64_t hw = (uint64_t)s->h * s->w, bytes;
	size_t esize = dg_dtype_size(dtype);
	uint8_t *px;
	int32_t *labels;

	if (hw && cap > UINT64_MAX / hw / c / esize)
		return dg_error(DG_EDATA, "images overflow 64 bits");
	bytes = cap * hw * c * esize;
	if (bytes > s->max_bytes)
		return dg_error(DG_EDATA, "images need more than the limit of %llu bytes in memory "
				"(%s)", (unsigned long long)s->max_bytes, DG_ENV_DATASET_MAX);
	if (bytes > SIZE_MAX)
		return dg_error_nomem("images", bytes);
	labels = realloc(s->labels, (cap ? cap : 1) * sizeof *labels);
	if (!labels)
		return dg_error_nomem("labels", cap * sizeof *labels);
	s->labels = labels;
	if (dtype == s->dtype && c == s->c) {
		px = realloc(s->px, bytes ? bytes : 1);
		if (!px)
			return dg_error_nomem("images", bytes);
	} else {
		px = malloc(bytes ? bytes : 1);
		if (!px)
			return dg_error_nomem("images", bytes);
		for (uint64_t i = 0; i < s->n; i++)
			for (unsigned k = 0; k < c; k++) {
				unsigned from = s->c == c ? k : 0;
				for (uint64_t j = 0; j < hw; j++) {
					uint64_t src = (i * s->c + from) * hw + j;
					uint64_t dst = (i * c + k) * hw + j;
					if (dtype == s->dtype && dtype == DG_U8)
						px[dst] = ((uint8_t *)s->px)[src];
					else if (dtype == s->dtype)
						((float *)(void *)px)[dst] = ((float *)s->px)[src];
					else
						((float *)(void *)px)[dst] =
							((uint8_t *)s->px)[src] / 255.0f;
				}
			}
		free(s->px);
	}
	s->px = px;
	s->cap = cap;
	s->dtype = dtype;
	s->c = c;
	return DG_OK;
}

int dg__store_append(struct dg_store *s, int dtype, const void *px, uint64_t n,
		     unsigned c, unsigned h, unsigned w, const int32_t *labels,
		     const char *what)
{
	uint64_t hw = (uint64_t)h * w, per = hw * c;
	int want = s->dtype ? s->dtype : DG_U8;
	unsigned wc = s->c ? s->c : c;
	int st;

	if (!n)
		return DG_OK;   /* an empty record says nothing about shapes */
	if (!s->dtype) {
		s->h = h;
		s->w = w;
	} else if (h != s->h || w != s->w) {
		return dg_error(DG_EDATA, "%s: %ux%u image, earlier images are %ux%u", what, w, h,
				s->w, s->h);
	}
	if (c != wc) {
		if ((c == 1 && wc == 3) || (c == 3 && wc == 1))
			wc = 3;
		else
			return dg_error(DG_EDATA, "%s: %u channels, earlier images have %u", what, c, wc);
	}
	if (dtype == DG_F32 && want == DG_U8 && !exact_u8(px, n * per))
		want = DG_F32;
	if (!s->dtype) {
		s->dtype = want;
		s->c = wc;
	}
	if (s->n + n > s->cap || want != s->dtype || wc != s->c) {
		uint64_t cap = s->cap;
		while (cap < s->n + n)
			cap = cap ? cap * 2 : (n > 16 ? n : 16);
		if ((st = reshape(s, cap, want, wc)) != DG_OK &&
		    (cap == s->n + n || (st = reshape(s, s->n + n, want, wc)) != DG_OK))
			return dg_error_context(st, "%s", what);
	}
	for (uint64_t i = 0; i < n; i++) {
		s->labels[s->n + i] = labels ? labels[i] : -1;
		for (unsigned k = 0; k < s->c; k++) {
			uint64_t src = (i * c + (c == s->c ? k : 0)) * hw;
			uint64_t dst = ((s->n + i) * s->c + k) * hw;
			for (uint64_t j = 0; j < hw; j++) {
				float v = dtype == DG_U8 ? ((const uint8_t *)px)[src + j] / 255.0f
							 : ((const float *)px)[src + j];
				if (s->dtype == DG_U8)
					((uint8_t *)s->px)[dst + j] = dtype == DG_U8
						? ((const uint8_t *)px)[src + j]
						: (uint8_t)lrintf(v * 255.0f);
				else
					((float *)s->px)[dst + j] = v;
			}
		}
	}
	s->n += n;
	return DG_OK;
}

int dg__store_class(struct dg_store *s, const char *name)
{
	unsigned i;

	for (i = 0; i < s->nnames; i++)
		if (strcmp(s->names[i], name) == 0)
			break;
	if (i == s->nnames) {
		char **names = realloc(s->names, (s->nnames + 1) * sizeof *names);
		if (!names)
			return dg_error_nomem("class names", 0);
		s->names = names;
		if (!(names[i] = strdup(name)))
			return dg_error_nomem("class names", strlen(name));
		s->nnames++;
	}
	s->labels[s->n - 1] = (int32_t)i;
	return DG_OK;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dg__store_finish(struct dg_store *s, struct dg_dataset *ds)
{
	uint64_t unlabelled = 0;

	if (s->nnames) {
		/* sort the names, then map each temporary id to its rank */
		char **sorted = malloc(s->nnames * sizeof *sorted);
		int32_t *rank = malloc(s->nnames * sizeof *rank);

		if (!sorted || !rank) {
			free(sorted);
			free(rank);
			return dg_error_nomem("class names", s->nnames);
		}
		memcpy(sorted, s->names, s->nnames * sizeof *sorted);
		qsort(sorted, s->nnames, sizeof *sorted, cmp_names);
		for (unsigned i = 0; i < s->nnames; i++)
			for (unsigned j = 0; j < s->nnames; j++)
				if (sorted[j] == s->names[i])
					rank[i] = (int32_t)j;
		for (uint64_t i = 0; i < s->n; i++)
			if (s->labels[i] >= 0)
				s->labels[i] = rank[s->labels[i]];
		free(s->names);
		free(rank);
		s->names = NULL;
		s->classes = sorted;
		s->nclasses = s->nnames;
		s->nnames = 0;
	}
	for (uint64_t i = 0; i < s->n; i++)
		unlabelled += s->labels[i] < 0;
	if (unlabelled && unlabelled < s->n)
		dg__warn(ds, "%s: %llu of %llu images have no class (no sub-folder): "
			 "labels dropped", ds->source, (unsigned long long)unlabelled,
			 (unsigned long long)s->n);
	if (unlabelled) {
		free(s->labels);
		s->labels = NULL;
		free_names(s->classes, s->nclasses);
		s->classes = NULL;
		s->nclasses = 0;
	}
	if (!s->n)
		return dg_error(DG_EDATA, "%s: no images", ds->source);
	return DG_OK;
}

void dg__store_get(const struct dg_store *s, uint64_t i, float *out)
{
	uint64_t per = (uint64_t)s->c * s->h * s->w;

	if (s->dtype == DG_U8) {
		const uint8_t *p = (const uint8_t *)s->px + i * per;
		for (uint64_t j = 0; j < per; j++)
			out[j] = p[j] / 255.0f;
	} else {
		memcpy(out, (const float *)s->px + i * per, per * sizeof *out);
	}
}
