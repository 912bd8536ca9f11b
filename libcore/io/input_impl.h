/* input_impl.h — internal: what libdg's readers need of an input beyond
 * dg/input.h: seeking (for libarchive), reading it whole within a limit,
 * and libarchive reading straight from it. */
#ifndef DG_INPUT_IMPL_H
#define DG_INPUT_IMPL_H

#include <stdint.h>
#include <sys/types.h>
#include "dg/input.h"

struct archive;

/* The size of a regular file at opening, else -1. */
int64_t dg__input_size(const struct dg_input *in);

/* Moves to byte off of a regular file (whence as for lseek).  Returns the
 * new position, or -1 with the message set. */
int64_t dg__input_seek(struct dg_input *in, int64_t off, int whence);

/* Reads the rest of the input into a new malloc'd buffer (one spare byte
 * after it); more than max bytes is DG_EDATA "name: more than the limit
 * of max bytes (limit_var)", found before reading when the size is known,
 * else as the bytes arrive.  Errors: DG_EDATA, DG_EIO, DG_ENOMEM. */
int dg__input_slurp(struct dg_input *in, uint64_t max, const char *limit_var,
		    void **buf, size_t *len);

/* Opens archive a (set up with its formats and filters) on in, which
 * must outlive it: libarchive reads through in, and skips and seeks
 * (zip's central directory) when in is a regular file.  Returns
 * libarchive's status. */
int dg__archive_open_input(struct archive *a, struct dg_input *in);

#endif
