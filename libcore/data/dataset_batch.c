/* dataset_batch.c — batches for training: a seeded permutation per epoch,
 * the partial last batch kept or dropped, dynamic binarization; every
 * draw a pure function of (seed, epoch, image) so resume is exact. */
#include <stdlib.h>
#include <string.h>
#include "data/dataset_impl.h"
#include "dg/rng.h"

#define RNG_BINARIZE 0x42494e0000000000ull   /* "BIN" + epoch */

struct dg_batcher {
	struct dg_dataset *ds;
	struct dg_batch_options opt;
	uint64_t epoch, batch;       /* the next batch to hand out */
	uint64_t *order;             /* in-memory sets: this epoch's order */
	uint64_t order_epoch;
	int have_order;
	int rewind;                  /* sequential: reopen before the next batch */
	float *noise;                /* one image of uniforms */
	const uint64_t *last;        /* indices of the last batch (in memory) */
};

int dg_batcher_new(struct dg_dataset *ds, const struct dg_batch_options *opt,
		   struct dg_batcher **out)
{
	struct dg_batcher *b;
	uint64_t per = (uint64_t)ds->info.channels * ds->info.height * ds->info.width;

	*out = NULL;
	if (!opt->batch)
		return dg_error(DG_EUSAGE, "a batch of 0 images");
	if (opt->shuffle && ds->seq)
		return dg_error(DG_EUSAGE, "%s: a sequential dataset cannot be shuffled", ds->source);
	b = calloc(1, sizeof *b);
	if (!b)
		return dg_error_nomem("a batcher", sizeof *b);
	b->ds = ds;
	b->opt = *opt;
	if (!ds->seq && !(b->order = malloc((ds->info.count ? ds->info.count : 1) * sizeof *b->order)))
		goto nomem;
	if (opt->binarize && !(b->noise = malloc((per ? per : 1) * sizeof *b->noise)))
		goto nomem;
	*out = b;
	return DG_OK;
nomem:
	dg_batcher_free(b);
	return dg_error_nomem("a batcher", ds->info.count * 8);
}

void dg_batcher_free(struct dg_batcher *b)
{
	if (!b)
		return;
	free(b->order);
	free(b->noise);
	free(b);
}

const uint64_t *dg_batcher_indices(const struct dg_batcher *b)
{
	return b->last;
}

void dg_batcher_tell(const struct dg_batcher *b, uint64_t *epoch, uint64_t *batch)
{
	*epoch = b->epoch;
	*batch = b->batch;
}

/* Each pixel becomes 1 with probability equal to its value.  Image j of
 * the set uses the blocks from j * ceil(per / 4) of stream BIN + epoch. */
static void binarize(struct dg_batcher *b, float *px, uint64_t j, uint64_t per)
{
	dg_rng_uniform(b->opt.seed, RNG_BINARIZE + b->epoch, j * ((per + 3) / 4), b->noise,
		       (size_t)per);
	for (uint64_t i = 0; i < per; i++)
		px[i] = b->noise[i] < px[i] ? 1.0f : 0.0f;
}

static int next_memory(struct dg_batcher *b, float *images, int32_t *labels, size_t *n)
{
	struct dg_dataset *ds = b->ds;
	uint64_t count = ds->info.count, bs = b->opt.batch;
	uint64_t nb = b->opt.drop_last ? count / bs : (count + bs - 1) / bs;
	uint64_t first, m, per = (uint64_t)ds->info.channels * ds->info.height * ds->info.width;
	int st;

	b->last = NULL;
	if (b->batch >= nb) {
		*n = 0;
		b->epoch++;
		b->batch = 0;
		return DG_OK;
	}
	if (!b->have_order || b->order_epoch != b->epoch) {
		if (b->opt.shuffle) {
			if ((st = dg_dataset_permutation(count, b->opt.seed, b->epoch, b->order)))
				return st;
		} else {
			for (uint64_t i = 0; i < count; i++)
				b->order[i] = i;
		}
		b->order_epoch = b->epoch;
		b->have_order = 1;
	}
	first = b->batch * bs;
	m = count - first < bs ? count - first : bs;
	if ((st = dg_dataset_gather(ds, b->order + first, (size_t)m, images, labels)))
		return st;
	if (b->opt.binarize)
		for (uint64_t i = 0; i < m; i++)
			binarize(b, images + i * per, b->order[first + i], per);
	b->last = b->order + first;
	b->batch++;
	*n = (size_t)m;
	return DG_OK;
}

static int next_sequential(struct dg_batcher *b, float *images, int32_t *labels, size_t *n)
{
	struct dg_dataset *ds = b->ds;
	unsigned c = ds->info.channels, h = ds->info.height, w = ds->info.width;
	uint64_t per = (uint64_t)c * h * w, first = b->batch * b->opt.batch, m;
	struct dg_array *im, *lb;
	int st;

	*n = 0;
	if (b->rewind) {
		if ((st = dg__seq_rewind(ds)))
			return st;
		b->rewind = 0;
	}
	if ((st = dg_dataset_read(ds, b->opt.batch, &im, &lb)))
		return st;
	m = im ? im->dims[0] : 0;
	if (im && (im->dims[1] != c || im->dims[2] != h || im->dims[3] != w))
		st = dg_error(DG_EDATA, "%s: images change shape after %llu images", ds->source,
			      (unsigned long long)first);
	if (!st && (!m || (m < b->opt.batch && b->opt.drop_last))) {
		b->epoch++;
		b->batch = 0;
		b->rewind = 1;
		m = 0;
	} else if (!st) {
		memcpy(images, im->data, m * per * sizeof *images);
		for (uint64_t i = 0; labels && i < m; i++)
			labels[i] = lb ? ((int32_t *)lb->data)[i] : -1;
		if (b->opt.binarize)
			for (uint64_t i = 0; i < m; i++)
				binarize(b, images + i * per, first + i, per);
		b->batch++;
	}
	dg_array_free(im);
	dg_array_free(lb);
	*n = (size_t)m;
	return st;
}

int dg_batcher_next(struct dg_batcher *b, float *images, int32_t *labels, size_t *n)
{
	return b->ds->seq ? next_sequential(b, images, labels, n)
			  : next_memory(b, images, labels, n);
}

int dg_batcher_seek(struct dg_batcher *b, uint64_t epoch, uint64_t batch)
{
	if (!b->ds->seq) {
		b->epoch = epoch;
		b->batch = batch;
		return DG_OK;
	}
	/* a stream is reopened and read up to the batch */
	if (b->batch || b->epoch || b->ds->info.count) {
		int st = dg__seq_rewind(b->ds);
		if (st)
			return st;
	}
	b->rewind = 0;
	b->epoch = epoch;
	b->batch = 0;
	for (uint64_t i = 0; i < batch; i++) {
		struct dg_array *im;
		int st = dg_dataset_read(b->ds, b->opt.batch, &im, NULL);
		if (st)
			return st;
		if (!im)
			return dg_error(DG_EDATA, "%s: no batch %llu", b->ds->source,
					(unsigned long long)batch);
		dg_array_free(im);
		b->batch++;
	}
	return DG_OK;
}
