/* dg/dataset.h — image datasets: IDX (plain or .gz), PNG files and folders,
 * tar/tar.gz/zip archives of PNGs, stream files and stdin, fashion-mnist.
 *
 * A dataset is a set of images of one shape C×H×W, with int32 labels and
 * class names when the source has them.  Sets are held in memory (u8
 * when the source is 8-bit, converted to f32 in [0,1] per batch); streams
 * and IDX files can instead be read once, in order, batch by batch.  Any
 * source may be a pipe or a FIFO: it is opened once and never reopened. */
#ifndef DG_DATASET_H
#define DG_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include "dg/array.h"

struct dg_dataset;

/* Defaults for the guards of struct dg_dataset_options (0 there means
 * the environment's DG_FILE_MAX_BYTES, DG_ARCHIVE_MAX_BYTES,
 * DG_ARCHIVE_MAX_MEMBERS and DG_DATASET_MAX_BYTES, else these).  They
 * bound what hostile input can make dg allocate. */
#define DG_ARCHIVE_MAX_MEMBER (256ull << 20)    /* bytes of one member */
#define DG_ARCHIVE_MAX_TOTAL (4ull << 30)       /* uncompressed bytes read */
#define DG_ARCHIVE_MAX_MEMBERS 10000000ull      /* entries of an archive */
#define DG_DATASET_MAX_BYTES (8ull << 30)       /* decoded images in memory */

struct dg_dataset_options {
	/* IDX: the labels file.  NULL: the file with the matching name
	 * (…-images-idx3-ubyte[.gz] -> …-labels-idx1-ubyte[.gz]) if present. */
	const char *labels;
	/* Folders and archives: a file that is not a PNG is an error
	 * (DG_EDATA) instead of being skipped with a warning. */
	int strict;
	/* Streams and IDX files: do not load into memory; images are read
	 * once, in order, by dg_dataset_read() (and by a batcher, which then
	 * cannot shuffle, and rewinds a regular file for each epoch). */
	int sequential;
	/* At most this many images (0: all). */
	uint64_t limit;
	/* Guards (0: the defaults above). */
	uint64_t max_member_bytes, max_total_bytes, max_members, max_bytes;
	/* Called for each warning (a skipped file, labels dropped...).
	 * NULL: warnings are only counted (dg_dataset_info().skipped). */
	void (*warn)(void *ctx, const char *message);
	void *warn_ctx;
};

struct dg_dataset_info {
	const char *source;       /* as given to dg_dataset_open() */
	uint64_t count;           /* images; for a sequential set, those read so far */
	unsigned channels, height, width;
	int has_labels;
	unsigned classes;         /* number of class names (0: none known) */
	int sequential;
	uint64_t skipped;         /* files skipped with a warning */
};

/* Opens a source: "fashion-mnist" or "fashion-mnist-test" (the Debian
 * package dataset-fashion-mnist, in $DG_DATA_DIR or
 * /usr/share/datasets/fashion-mnist), a folder (PNGs, class = name of the
 * folder holding each image), or a file, pipe or FIFO ("-": stdin)
 * recognised by its first bytes, which are read once: PNG, IDX, gzip'd
 * IDX, a stream, or an archive of PNGs (tar, plain or gzip/bzip2/xz, or
 * zip).  opt may be NULL.  Errors: DG_ENOINPUT (missing; for
 * fashion-mnist the message names the package), DG_EDATA (malformed,
 * mixed image sizes, over a limit, whose variable the message names),
 * DG_EUSAGE (a malformed limit variable), DG_EIO, DG_ENOMEM.  The caller
 * frees *out with dg_dataset_close(). */
int dg_dataset_open(const char *source, const struct dg_dataset_options *opt,
		    struct dg_dataset **out);
void dg_dataset_close(struct dg_dataset *ds);

/* Valid until the dataset is closed (count grows for sequential sets). */
const struct dg_dataset_info *dg_dataset_info(const struct dg_dataset *ds);
/* Name of class i (labels index classes), or NULL. */
const char *dg_dataset_class(const struct dg_dataset *ds, unsigned i);

/* Reads the next images in order: up to max of them, as a new f32 array
 * n×C×H×W (metadata space=image, source=...) and, when the set has labels,
 * a new i32 array of n labels (else *labels = NULL; labels may be NULL if
 * unwanted).  A read never spans a change of image shape within a stream.
 * *images = NULL at the end.  The caller frees both with dg_array_free(). */
int dg_dataset_read(struct dg_dataset *ds, uint64_t max, struct dg_array **images,
		    struct dg_array **labels);

/* In-memory sets only (DG_EUSAGE for a sequential one).  Copies images
 * idx[0..n) as f32 into images (n*C*H*W floats) and their labels into
 * labels (n ints; may be NULL; -1 when the set has no labels). */
int dg_dataset_gather(const struct dg_dataset *ds, const uint64_t *idx, size_t n,
		      float *images, int32_t *labels);

/* A fixed, seeded split of an in-memory set: nval images chosen by a
 * permutation that is a pure function of seed go to *val, the others to
 * *train, both in their original order.  Both share the images with ds
 * (which may be closed first) and are closed with dg_dataset_close().
 * DG_EUSAGE when nval > count or the set is sequential. */
int dg_dataset_split(const struct dg_dataset *ds, uint64_t nval, uint64_t seed,
		     struct dg_dataset **train, struct dg_dataset **val);

/* Semi-supervised data (dg-train --labels-per-class, dataset_labels.c):
 * per_class labelled images of each class, chosen by a seeded
 * permutation (a pure function of seed, its own stream: never an epoch's
 * order or a split's), the first per_class of each class in that order.
 * keep_unlabelled 0: *out holds only those images, with their labels, in
 * the order of ds.  keep_unlabelled 1: *out holds every other image of ds
 * once, with label -1 (unlabelled), followed by the labelled images, each
 * repeated `repeat` times (>= 1; more copies put labelled examples into
 * more batches).  *out shares the images with ds and is closed with
 * dg_dataset_close().  DG_EUSAGE for a sequential set, per_class 0 or
 * repeat 0; DG_EDATA when ds has no labels or a class has fewer than
 * per_class images (the message names the class and its count). */
int dg_dataset_labels_per_class(const struct dg_dataset *ds, uint64_t per_class,
				uint64_t seed, int keep_unlabelled, uint64_t repeat,
				struct dg_dataset **out);

/* The order of epoch e: a permutation of 0..count-1 that is a pure
 * function of (seed, epoch), so a resumed run sees the same order.
 * Fails (DG_EUSAGE) for count > 2^32 - 1. */
int dg_dataset_permutation(uint64_t count, uint64_t seed, uint64_t epoch, uint64_t *order);

/* ---- batches for training ---------------------------------------------- */

struct dg_batch_options {
	size_t batch;         /* images per batch (> 0) */
	uint64_t seed;
	int shuffle;          /* a new permutation per epoch (in-memory sets) */
	int drop_last;        /* drop a partial last batch instead of keeping it */
	/* Dynamic binarization: each pixel becomes 1 with probability equal
	 * to its value, drawn anew each epoch; a pure function of (seed,
	 * epoch, image index, pixel), whatever the batch size. */
	int binarize;
};

struct dg_batcher;

/* A batcher over ds (which must outlive it).  DG_EUSAGE for batch 0 or a
 * shuffled sequential set. */
int dg_batcher_new(struct dg_dataset *ds, const struct dg_batch_options *opt,
		   struct dg_batcher **out);
void dg_batcher_free(struct dg_batcher *b);

/* Fills the next batch: images (batch*C*H*W floats), labels (batch ints,
 * may be NULL), *n the images in it.  *n = 0 marks the end of an epoch;
 * the following call starts the next one.  For a sequential set a second
 * epoch rewinds the file (DG_EUSAGE for a pipe, read only once). */
int dg_batcher_next(struct dg_batcher *b, float *images, int32_t *labels, size_t *n);

/* The set indices of the images of the batch last returned (in-memory
 * sets; NULL for a sequential set, and before the first batch), valid
 * until the next call: a paired input gathers the same images. */
const uint64_t *dg_batcher_indices(const struct dg_batcher *b);

/* Where the batcher is (the next batch to be returned), and a jump there,
 * for exact resume. */
void dg_batcher_tell(const struct dg_batcher *b, uint64_t *epoch, uint64_t *batch);
int dg_batcher_seek(struct dg_batcher *b, uint64_t epoch, uint64_t batch);

/* ---- IDX files (the MNIST format) ---------------------------------------- *
 * Big-endian: two zero bytes, a type (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32,
 * 0x0D f32, 0x0E f64), the rank, rank 32-bit dims, then the data; nothing
 * may follow.  i16 is widened to i32. */

/* Parses an IDX file held in memory, plain or gzip'd.  name is for
 * messages.  DG_EDATA for a bad header, dims whose size disagrees with
 * the data, truncated or corrupt gzip, sizes beyond max_bytes (0:
 * DG_DATASET_MAX_BYTES).  The caller frees *out with dg_array_free(). */
int dg_idx_parse(const void *buf, size_t len, const char *name, uint64_t max_bytes,
		 struct dg_array **out);
/* Same, from a file, a pipe or a FIFO (read progressively, not loaded
 * whole first); 0 for max_bytes means DG_DATASET_MAX_BYTES or the
 * variable of that name. */
int dg_idx_read(const char *path, uint64_t max_bytes, struct dg_array **out);

/* ---- metadata helpers ---------------------------------------------------- */

/* Class names joined by commas, with '%' and ',' escaped as %25 and %2C
 * (the classes= value of image records).  Caller frees *text with free(). */
int dg_classes_format(const char *const *names, unsigned n, char **text);
/* The inverse: *names is one malloc'd block (free(*names) frees all). */
int dg_classes_parse(const char *text, char ***names, unsigned *n);

#endif
