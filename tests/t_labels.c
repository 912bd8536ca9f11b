/* t_labels.c — semi-supervised views (dg_dataset_labels_per_class, behind
 * dg-train --labels-per-class): exactly N labelled images per class, the
 * same ones for the same seed, every other image once and unlabelled,
 * the labelled ones repeated, and the refusals. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"
#include "dg.h"

static char tmp[] = "/tmp/t_labels.XXXXXX";

enum { N = 103, CLASSES = 4 };

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void die(const char *what)
{
	diag("%s", what);
	exit(1);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n)
		die(path);
	fclose(f);
}

/* N images of 2×2 whose pixel 0 is the image's number, labelled number %
 * CLASSES (class 3 has 25 images, the others 26); without the labels
 * file when labels is 0. */
static struct dg_dataset *small_set(int labels)
{
	char path[512], lpath[512];
	uint8_t img[16 + N * 4], lab[8 + N];
	struct dg_dataset *ds = NULL;

	memcpy(img, "\0\0\x08\x03", 4);
	put_be32(img + 4, N);
	put_be32(img + 8, 2);
	put_be32(img + 12, 2);
	for (int i = 0; i < N * 4; i++)
		img[16 + i] = (uint8_t)(i % 4 == 0 ? i / 4 : 200);
	memcpy(lab, "\0\0\x08\x01", 4);
	put_be32(lab + 4, N);
	for (int i = 0; i < N; i++)
		lab[8 + i] = (uint8_t)(i % CLASSES);
	snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", tmp, labels ? "l" : "u");
	write_bytes(path, img, sizeof img);
	if (labels) {
		snprintf(lpath, sizeof lpath, "%s/l-labels-idx1-ubyte", tmp);
		write_bytes(lpath, lab, sizeof lab);
	}
	if (dg_dataset_open(path, NULL, &ds))
		diag("small set: %s", dg_errmsg());
	return ds;
}

/* The view's images (by their number) and labels, in view order. */
static uint64_t contents(const struct dg_dataset *v, int *id, int32_t *lab)
{
	uint64_t n = dg_dataset_info(v)->count, *idx = malloc(n * sizeof *idx);
	float *im = malloc(n * 4 * sizeof *im);
	for (uint64_t i = 0; i < n; i++)
		idx[i] = i;
	if (dg_dataset_gather(v, idx, n, im, lab))
		diag("gather: %s", dg_errmsg());
	for (uint64_t i = 0; i < n; i++)
		id[i] = (int)(im[i * 4] * 255.0f + 0.5f);
	free(idx);
	free(im);
	return n;
}

static void labelled_only(struct dg_dataset *ds)
{
	struct dg_dataset *v = NULL, *w = NULL, *o = NULL;
	int id[N], id2[N], id3[N], per[CLASSES] = {0}, good = 1;
	int32_t lab[N], lab2[N], lab3[N];

	int st = dg_dataset_labels_per_class(ds, 5, 7, 0, 1, &v);
	if (!ok(st == 0 && v, "5 per class of 4 classes (%s)", st ? dg_errmsg() : ""))
		return;
	uint64_t n = contents(v, id, lab);
	ok(n == 20, "20 images (%llu)", (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++) {
		good &= lab[i] == id[i] % CLASSES && (!i || id[i] > id[i - 1]);
		if (lab[i] >= 0 && lab[i] < CLASSES)
			per[lab[i]]++;
	}
	ok(good, "each with its own label, in the set's order");
	ok(per[0] == 5 && per[1] == 5 && per[2] == 5 && per[3] == 5,
	   "exactly 5 of each class (%d %d %d %d)", per[0], per[1], per[2], per[3]);
	dg_dataset_labels_per_class(ds, 5, 7, 0, 1, &w);
	contents(w, id2, lab2);
	ok(!memcmp(id, id2, sizeof id[0] * 20), "the same images for the same seed");
	dg_dataset_labels_per_class(ds, 5, 8, 0, 1, &o);
	contents(o, id3, lab3);
	ok(memcmp(id, id3, sizeof id[0] * 20), "other images for another seed");
	dg_dataset_close(v);
	dg_dataset_close(w);
	dg_dataset_close(o);
}

static void with_unlabelled(struct dg_dataset *ds)
{
	struct dg_dataset *v = NULL, *l = NULL;
	enum { M = N - 20 + 3 * 20 };
	int id[M], lid[N], seen[N] = {0}, good = 1, chosen[N] = {0};
	int32_t lab[M], llab[N];

	int st = dg_dataset_labels_per_class(ds, 5, 7, 1, 3, &v);
	if (!ok(st == 0 && v, "5 per class, the rest unlabelled, labelled ones 3 times (%s)",
		st ? dg_errmsg() : ""))
		return;
	uint64_t n = contents(v, id, lab);
	ok(n == M, "83 unlabelled + 3 x 20 labelled = %d images (%llu)", M,
	   (unsigned long long)n);
	dg_dataset_labels_per_class(ds, 5, 7, 0, 1, &l);
	contents(l, lid, llab);
	for (int i = 0; i < 20; i++)
		chosen[lid[i]] = 1;
	for (uint64_t i = 0; i < n; i++) {
		seen[id[i]]++;
		good &= lab[i] == (chosen[id[i]] ? id[i] % CLASSES : -1);
	}
	ok(good, "the labelled ones are those of the labelled-only view; the others are -1");
	good = 1;
	for (int i = 0; i < N; i++)
		good &= seen[i] == (chosen[i] ? 3 : 1);
	ok(good, "every unlabelled image once, every labelled one 3 times");
	dg_dataset_close(ds);   /* the view outlives its set */
	struct dg_batcher *b = NULL;
	float im[16 * 4];
	int32_t y[16];
	size_t got;
	int unl = 0;
	st = dg_batcher_new(v, &(struct dg_batch_options){.batch = 16, .seed = 1, .shuffle = 1},
			    &b);
	for (int k = 0; !st && k < 8; k++) {
		st = dg_batcher_next(b, im, y, &got);
		for (size_t i = 0; !st && i < got; i++)
			unl += y[i] == -1;
	}
	ok(st == 0 && unl > 0 && unl < 128, "batches carry the view's labels, -1 among them "
	   "(%d of 128)", unl);
	dg_batcher_free(b);
	dg_dataset_close(v);
	dg_dataset_close(l);
}

static void refusals(struct dg_dataset *ds)
{
	struct dg_dataset *v = NULL, *u = small_set(0);
	int st = dg_dataset_labels_per_class(ds, 26, 1, 1, 1, &v);
	ok(st == DG_EDATA && !v && strstr(dg_errmsg(), "class 3 has 25"),
	   "26 per class: class 3 has 25 (%s)", dg_errmsg());
	st = dg_dataset_labels_per_class(ds, 0, 1, 0, 1, &v);
	ok(st == DG_EUSAGE && !v, "0 per class is refused (%s)", dg_errmsg());
	st = dg_dataset_labels_per_class(ds, 2, 1, 1, 0, &v);
	ok(st == DG_EUSAGE && !v, "0 repeats are refused (%s)", dg_errmsg());
	st = u ? dg_dataset_labels_per_class(u, 1, 1, 0, 1, &v) : -1;
	ok(st == DG_EDATA && !v && strstr(dg_errmsg(), "no labels"),
	   "a set without labels: %s", dg_errmsg());
	dg_dataset_close(u);
}

static void fashion(void)
{
	struct dg_dataset *ds = NULL, *v = NULL;
	if (!ok(!dg_dataset_open("fashion-mnist-test", NULL, &ds), "fashion-mnist-test opens"))
		return;
	int st = dg_dataset_labels_per_class(ds, 10, 0, 0, 1, &v);
	int32_t lab[100], per[10] = {0};
	int good = st == 0 && dg_dataset_info(v)->count == 100;
	if (good) {
		float *im = malloc(100 * 784 * sizeof *im);
		uint64_t idx[100];
		for (int i = 0; i < 100; i++)
			idx[i] = (uint64_t)i;
		good = !dg_dataset_gather(v, idx, 100, im, lab);
		free(im);
		for (int i = 0; good && i < 100; i++)
			good = lab[i] >= 0 && lab[i] < 10 && ++per[lab[i]] <= 10;
	}
	ok(good, "fashion-mnist-test: 10 of each of its 10 classes");
	dg_dataset_close(v);
	dg_dataset_close(ds);
}

int main(void)
{
	char cmd[600];
	if (!mkdtemp(tmp))
		return 1;
	struct dg_dataset *ds = small_set(1);
	if (!ds)
		die("cannot open the small set");
	labelled_only(ds);
	refusals(ds);
	with_unlabelled(ds);    /* closes ds */
	fashion();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd))
		diag("cannot remove %s", tmp);
	return done_testing();
}
