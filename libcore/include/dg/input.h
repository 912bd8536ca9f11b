/* dg/input.h — an input opened once: a file, a pipe, a FIFO, a process
 * substitution (<(...)) or standard input.
 *
 * Its first bytes can be looked at to tell its format and are then read
 * again by whatever reads it, so a source is opened once and never
 * reopened: a pipe works wherever a file does.  Only a regular file can
 * be rewound (a second pass over a dataset). */
#ifndef DG_INPUT_H
#define DG_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct dg_input;

/* Opens path for reading; "-" is standard input (which dg_input_close()
 * leaves open).  Opening a FIFO waits for a writer, as cat(1) does.
 * Errors: DG_ENOINPUT (no such file), DG_EIO, DG_ENOMEM. */
int dg_input_open(const char *path, struct dg_input **out);
/* The same over an open descriptor, which dg_input_close() leaves open;
 * name is for messages ("-" or NULL: "stdin"). */
int dg_input_fd(int fd, const char *name, struct dg_input **out);
void dg_input_close(struct dg_input *in);

/* The name used in messages: the path, or "stdin" for "-". */
const char *dg_input_name(const struct dg_input *in);

/* The first n bytes (fewer only at the end of the input) without
 * consuming them: later reads return them again.  Only before anything
 * past them has been read (DG_EINTERNAL otherwise).  *bytes stays valid
 * until the next call on in.  Errors: DG_EIO. */
int dg_input_peek(struct dg_input *in, size_t n, const void **bytes, size_t *len);

/* Reads up to n bytes; *got < n only at the end of the input (partial
 * reads and EINTR are retried).  Errors: DG_EIO naming the input. */
int dg_input_read(struct dg_input *in, void *buf, size_t n, size_t *got);

/* Bytes consumed so far. */
uint64_t dg_input_tell(const struct dg_input *in);

/* Whether the input is a regular file, which can be rewound. */
int dg_input_seekable(const struct dg_input *in);
/* Back to the first byte.  DG_EUSAGE, naming the input, for one that is
 * not a regular file: a pipe can be read only once. */
int dg_input_rewind(struct dg_input *in);

#endif
