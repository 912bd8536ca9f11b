/* dataset_impl.h — internal: the in-memory image store behind a dataset,
 * and the loaders of each kind of source (dataset_*.c). */
#ifndef DG_DATASET_IMPL_H
#define DG_DATASET_IMPL_H

#include <stdint.h>
#include "dg/dataset.h"
#include "dg/error.h"
#include "dg/input.h"

/* Images in memory, shared (refcounted) by a dataset and its splits.
 * dtype is DG_U8 (values 0..255, exact for 8-bit sources) or DG_F32. */
struct dg_store {
	int refs;
	int dtype;
	unsigned c, h, w;
	uint64_t n, cap;            /* images held, images allocated */
	void *px;                   /* n × c × h × w */
	int32_t *labels;            /* n labels, or NULL */
	char **classes;             /* class names, or NULL */
	unsigned nclasses;
	/* while building from PNGs: each image's class as a temporary id
	 * into names (-1: none), remapped to sorted order at the end */
	int32_t *tmp_class;
	char **names;
	unsigned nnames;
	uint64_t nlabels;           /* of an IDX labels file (n when in memory) */
	uint64_t max_bytes;
};

/* A dataset: a view of a store (or a sequential stream). */
struct dg_dataset {
	struct dg_dataset_info info;
	char *source;
	struct dg_dataset_options opt;
	struct dg_store *store;     /* NULL while a sequential stream */
	uint64_t *index;            /* view order over store; NULL: identity */
	int32_t *labels;            /* the view's own labels, by view position
				       (-1: hidden); NULL: the store's */
	uint64_t pos;               /* next image for dg_dataset_read() */
	struct dg_seq *seq;         /* sequential stream state, or NULL */
	struct dg_input *in;        /* the source of a sequential set */
	int seq_idx;                /* ... which is an IDX file, not a stream */
};

struct dg_store *dg__store_new(uint64_t max_bytes);
void dg__store_unref(struct dg_store *s);
/* Appends one image (or n images) of c×h×w: f32 in [0,1] (kept as u8 when
 * every value is k/255) or u8.  label -1: none.  what names it in errors
 * (mixed sizes: "what: 32x32 image, earlier images are 28x28"); gray and
 * RGB mix (gray is replicated).  Errors: DG_EDATA, DG_ENOMEM. */
int dg__store_append(struct dg_store *s, int dtype, const void *px, uint64_t n,
		     unsigned c, unsigned h, unsigned w, const int32_t *labels,
		     const char *what);
/* Records that the last appended image belongs to class name (PNG sets). */
int dg__store_class(struct dg_store *s, const char *name);
/* Ends building: sorts class names and sets labels; a set where only some
 * images have a class gets no labels (warn says so). */
int dg__store_finish(struct dg_store *s, struct dg_dataset *ds);
/* Converts images [i] of the store to f32 into out (c*h*w floats each). */
void dg__store_get(const struct dg_store *s, uint64_t i, float *out);

/* Puts space=image, source= and classes= on a batch read from the set. */
int dg__describe(const struct dg_dataset *ds, struct dg_array *a);

/* Warning through the options' callback (and counted). */
void dg__warn(struct dg_dataset *ds, const char *fmt, ...) DG_PRINTF(2, 3);

/* dg_idx_read() of only the first items along the outermost dim (all
 * when first is 0); *total (may be NULL) gets the count the header
 * declares.  The rest of the file is neither read nor checked. */
int dg__idx_read_first(const char *path, uint64_t max_bytes, uint64_t first,
		       uint64_t *total, struct dg_array **out);

/* An IDX file read item by item (along the outermost dim) from an input,
 * plain or gzip'd: dg__idx_open() reads the header (only the first items
 * when first > 0), dg__idx_items() the next n items into a new dg_alloc()
 * block *buf (n × the elements of an item, in the dtype of
 * dg__idx_shape(): i16 widens to i32), grown as the data arrives, so that
 * a header promising more than the file holds costs only what it holds;
 * dg__idx_finish() checks that nothing follows the last.  in must outlive
 * the reader.  Errors: DG_EDATA naming the input, DG_ENOMEM. */
struct dg_idx;
int dg__idx_open(struct dg_input *in, uint64_t first, struct dg_idx **out);
void dg__idx_shape(const struct dg_idx *x, int *dtype, unsigned *rank, uint64_t *dims,
		   uint64_t *total);
int dg__idx_items(struct dg_idx *x, uint64_t n, void **buf);
/* Outermost items read so far. */
uint64_t dg__idx_done(const struct dg_idx *x);
int dg__idx_finish(struct dg_idx *x);
void dg__idx_close(struct dg_idx *x);

/* Loaders: fill ds->store (or ds->seq) from the input in (already
 * opened, its first bytes peeked at) or the folder path. */
int dg__load_idx(struct dg_dataset *ds, struct dg_input *in, const char *labels);
int dg__load_fashion(struct dg_dataset *ds, int test);
int dg__load_png_file(struct dg_dataset *ds, struct dg_input *in);
int dg__load_folder(struct dg_dataset *ds, const char *path);
int dg__load_archive(struct dg_dataset *ds, struct dg_input *in);
int dg__load_stream(struct dg_dataset *ds, struct dg_input *in);

/* The next chunk of images of an IDX file read sequentially (about a
 * megabyte: N×C×H×W u8 or f32, with their labels from ds->store when it
 * has them); *a = NULL after the last, whose end is then checked. */
int dg__idx_chunk(struct dg_dataset *ds, struct dg_idx *x, struct dg_array **a,
		  int32_t **labels);

/* Sequential sources (dataset_stream.c): streams, and IDX files through
 * x (header read) from in, which ds then owns. */
int dg__seq_open_idx(struct dg_dataset *ds, struct dg_input *in, struct dg_idx *x);
int dg__seq_read(struct dg_dataset *ds, uint64_t max, struct dg_array **images,
		 struct dg_array **labels);
int dg__seq_rewind(struct dg_dataset *ds);
void dg__seq_free(struct dg_seq *q);

#endif
