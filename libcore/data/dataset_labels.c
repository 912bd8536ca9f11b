/* dataset_labels.c — semi-supervised views of a labelled set: N labelled
 * images per class chosen by seed, the others unlabelled or left out
 * (dg-train --labels-per-class, dg_dataset_labels_per_class). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data/dataset_impl.h"

/* Its own Philox stream: the choice never coincides with an epoch's
 * order or a validation split. */
#define RNG_LABELS 0x4c41424c00000000ull /* "LABL" */

/* Label of image i of the set (a view's own, else the store's). */
static int32_t label_of(const struct dg_dataset *ds, uint64_t i)
{
	if (ds->labels)
		return ds->labels[i];
	return ds->store->labels[ds->index ? ds->index[i] : i];
}

static const char *class_name(const struct dg_dataset *ds, int32_t c, char *buf, size_t n)
{
	const char *name = dg_dataset_class(ds, (unsigned)c);
	if (name)
		return name;
	snprintf(buf, n, "%d", c);
	return buf;
}

/* Marks per_class images of each class in chosen[] (1: labelled), in the
 * order of a seeded permutation; counts them in *nchosen. */
static int choose(const struct dg_dataset *ds, uint64_t per_class, uint64_t seed,
		  unsigned classes, uint8_t *chosen, uint64_t *nchosen)
{
	uint64_t n = ds->info.count, *order = malloc((n ? n : 1) * sizeof *order);
	uint64_t *have = calloc(classes, sizeof *have), *total = calloc(classes, sizeof *total);
	char buf[24];
	int st = DG_OK;

	*nchosen = 0;
	if (!order || !have || !total) {
		st = dg_error_nomem("a labelled subset", n * sizeof *order);
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		int32_t c = label_of(ds, i);
		if (c >= 0)
			total[c]++;
	}
	for (unsigned c = 0; c < classes; c++)
		if (total[c] < per_class) {
			st = dg_error(DG_EDATA, "%s: class %s has %llu labelled images, fewer than "
				      "the %llu per class asked for", ds->source,
				      class_name(ds, (int32_t)c, buf, sizeof buf),
				      (unsigned long long)total[c], (unsigned long long)per_class);
			goto out;
		}
	if ((st = dg_dataset_permutation(n, seed ^ RNG_LABELS, 0, order)))
		goto out;
	for (uint64_t k = 0; k < n; k++) {
		int32_t c = label_of(ds, order[k]);
		if (c >= 0 && have[c] < per_class) {
			have[c]++;
			chosen[order[k]] = 1;
			++*nchosen;
		}
	}
out:
	free(order);
	free(have);
	free(total);
	return st;
}

int dg_dataset_labels_per_class(const struct dg_dataset *ds, uint64_t per_class,
				uint64_t seed, int keep_unlabelled, uint64_t repeat,
				struct dg_dataset **out)
{
	uint64_t n = ds->info.count, nl = 0, count, k = 0;
	unsigned classes = ds->info.classes;
	struct dg_dataset *v = NULL;
	uint8_t *chosen = NULL;
	int st;

	*out = NULL;
	if (ds->seq)
		return dg_error(DG_EUSAGE, "%s: labels per class need the whole set in memory, "
				"not a sequential one", ds->source);
	if (!per_class || !repeat)
		return dg_error(DG_EUSAGE, "labels per class: %s must be at least 1",
				per_class ? "the repeat count" : "the count");
	if (!ds->info.has_labels || !ds->store || !ds->store->labels)
		return dg_error(DG_EDATA, "%s: the images have no labels, so none can be kept "
				"per class", ds->source);
	for (uint64_t i = 0; i < n; i++) { /* classes beyond the names, if any */
		int32_t c = label_of(ds, i);
		if (c >= 0 && (unsigned)c >= classes)
			classes = (unsigned)c + 1;
	}
	if (!(chosen = calloc(n ? n : 1, 1)))
		return dg_error_nomem("a labelled subset", n);
	if ((st = choose(ds, per_class, seed, classes, chosen, &nl)))
		goto fail;
	count = keep_unlabelled ? n - nl + nl * repeat : nl;
	v = calloc(1, sizeof *v);
	if (!v || !(v->source = strdup(ds->source)) ||
	    !(v->index = malloc((count ? count : 1) * sizeof *v->index)) ||
	    !(v->labels = malloc((count ? count : 1) * sizeof *v->labels))) {
		st = dg_error_nomem("a labelled subset", count * 12);
		goto fail;
	}
	v->opt = ds->opt;
	v->info = ds->info;
	v->info.source = v->source;
	v->info.count = count;
	v->store = ds->store;
	v->store->refs++;
	for (uint64_t i = 0; keep_unlabelled && i < n; i++)
		if (!chosen[i]) {
			v->index[k] = ds->index ? ds->index[i] : i;
			v->labels[k++] = -1;
		}
	for (uint64_t r = 0; r < (keep_unlabelled ? repeat : 1); r++)
		for (uint64_t i = 0; i < n; i++)
			if (chosen[i]) {
				v->index[k] = ds->index ? ds->index[i] : i;
				v->labels[k++] = label_of(ds, i);
			}
	free(chosen);
	*out = v;
	return DG_OK;
fail:
	free(chosen);
	if (v && v->store)
		dg_dataset_close(v);
	else if (v) {
		free(v->index);
		free(v->labels);
		free(v->source);
		free(v);
	}
	return st;
}
