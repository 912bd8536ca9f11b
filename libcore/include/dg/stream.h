/* dg/stream.h — the tensor stream of dg-stream(5): metadata, reader, writer.
 *
 * A stream is a sequence of records; each record is one tensor with
 * key=value metadata.  `cat a b` of two streams is a stream.  Readers hold
 * one record at a time, so streams of any length pass in bounded memory. */
#ifndef DG_STREAM_H
#define DG_STREAM_H

#include <stdint.h>
#include <stdio.h>
#include "dg/array.h"
#include "dg/error.h"

#define DG_STREAM_VERSION 1
#define DG_STREAM_HEADER_SIZE 128
#define DG_STREAM_ALIGN 64
#define DG_STREAM_MAX_META (1u << 20)  /* metadata bytes per record */

/* ---- metadata: an ordered list of unique keys ------------------------ *
 * Keys are 1..64 bytes of [A-Za-z0-9_.-]; values are UTF-8 without
 * newline or NUL.  The order of insertion is kept when formatting. */

struct dg_meta *dg_meta_new(void);
void dg_meta_free(struct dg_meta *m);
struct dg_meta *dg_meta_dup(const struct dg_meta *m);
/* Sets (or replaces) key. */
int dg_meta_set(struct dg_meta *m, const char *key, const char *value);
int dg_meta_setf(struct dg_meta *m, const char *key, const char *fmt, ...)
	DG_PRINTF(3, 4);
/* Removes key if present. */
void dg_meta_unset(struct dg_meta *m, const char *key);
/* The value of key, or NULL. */
const char *dg_meta_get(const struct dg_meta *m, const char *key);
size_t dg_meta_count(const struct dg_meta *m);
const char *dg_meta_key(const struct dg_meta *m, size_t i);
const char *dg_meta_value(const struct dg_meta *m, size_t i);
/* Copies every key of src into dst (replacing existing keys). */
int dg_meta_merge(struct dg_meta *dst, const struct dg_meta *src);
/* Parses "key=value\n" lines (the last newline optional); DG_EDATA on
 * invalid UTF-8, a line without '=', a bad or repeated key. */
int dg_meta_parse(struct dg_meta *m, const char *text, size_t len);
/* Formats as "key=value\n" lines; caller frees *text with free(). */
int dg_meta_format(const struct dg_meta *m, char **text, size_t *len);
/* The labels= key of a record of n items ("3,0,7": n labels in
 * 0..2^31-1): set from y[0..n), and parsed into y (*found = 0 and y
 * untouched when the key is absent; DG_EDATA when it does not hold
 * exactly n labels). */
int dg_meta_set_labels(struct dg_meta *m, const int32_t *y, uint64_t n);
int dg_meta_get_labels(const struct dg_meta *m, uint64_t n, int32_t *y, int *found);

/* ---- reading ---------------------------------------------------------- */

struct dg_reader;

/* What dg_reader_next() found; owned by the reader (meta included) and
 * valid until the next dg_reader_next() or dg_reader_close(). */
struct dg_record {
	uint64_t index;                /* 0-based record number in this stream */
	uint64_t offset;               /* byte offset of the record's header */
	enum dg_dtype dtype;
	unsigned rank;
	uint32_t flags;
	uint64_t dims[DG_MAX_RANK];
	uint64_t count;                /* elements */
	uint64_t payload_len;          /* bytes */
	uint32_t crc;                  /* as stored */
	const struct dg_meta *meta;
};

/* Opens a reader.  name is used in messages ("-" or NULL means stdin).
 * The reader does not close fd / f unless opened by path.  NULL on
 * failure (message set; a missing file is DG_ENOINPUT). */
struct dg_reader *dg_reader_fd(int fd, const char *name);
struct dg_reader *dg_reader_file(FILE *f, const char *name);
/* Reads through in (which must outlive the reader, and is not closed by
 * it), from where it stands: bytes peeked at are read again. */
struct dg_input;
struct dg_reader *dg_reader_input(struct dg_input *in);
/* path "-" reads stdin. */
struct dg_reader *dg_reader_open(const char *path);
void dg_reader_close(struct dg_reader *r);

/* Gives back bytes the caller already read from the source (e.g. to sniff
 * its type): they are read again before the rest.  Only before the first
 * dg_reader_next(); the bytes are copied. */
int dg_reader_unread(struct dg_reader *r, const void *bytes, size_t len);

/* The name used in messages ("stdin" for "-"). */
const char *dg_reader_name(const struct dg_reader *r);

/* The largest payload a reader allocates: DG_STREAM_MAX_BYTES from the
 * environment, else 2 GiB.  DG_EUSAGE naming the variable when it is
 * malformed.  A writer that gathers images into records (dg-encode) keeps
 * each within it, so that every dg tool can read them. */
int dg_stream_max_payload(uint64_t *bytes);

/* Largest payload dg_reader_payload()/dg_read_array() will allocate
 * (default 2 GiB, or DG_STREAM_MAX_BYTES from the environment; when that
 * is malformed, they fail with DG_EUSAGE unless this is called). */
void dg_reader_set_max_payload(struct dg_reader *r, uint64_t bytes);

/* Advances to the next record, skipping (and checksumming) whatever is
 * left of the current payload.  Sets *rec, or NULL at a clean end of
 * stream (EOF exactly between records).  Errors: DG_EDATA for anything
 * malformed (message names the record), DG_EIO for read errors.  When
 * the error spoils only this record (invalid metadata; see
 * dg_reader_broken()), the record is consumed and *rec is still set, to
 * its header with empty metadata, so that a lister can show it as bad;
 * otherwise *rec is NULL on error. */
int dg_reader_next(struct dg_reader *r, const struct dg_record **rec);

/* Reads the next len bytes of the current payload into buf (chunked
 * reading; on big-endian hosts chunks must hold whole elements).  The
 * checksum is verified when the last byte has been read; a mismatch is
 * DG_EDATA.  Reading past the payload is DG_EINTERNAL. */
int dg_reader_read(struct dg_reader *r, void *buf, size_t len);

/* Reads the rest of the payload into a new dg_alloc() buffer (caller
 * frees it with dg_free()).  DG_EDATA, without allocating, when it is
 * larger than the limit of dg_reader_set_max_payload(); the record then
 * stays current, and can be read in chunks or skipped. */
int dg_reader_payload(struct dg_reader *r, void **buf);
/* The same converted to f32 (u8 as it is, not scaled), for records of
 * numbers whatever their dtype: *out is a dg_alloc() buffer. */
int dg_reader_payload_f32(struct dg_reader *r, float **out);

/* Skips the rest of the current record, verifying its checksum and
 * padding (DG_EDATA on mismatch).  Does nothing between records. */
int dg_reader_skip(struct dg_reader *r);

/* Errors are of two kinds.  A checksum mismatch, nonzero padding or
 * invalid metadata spoils one record, but its header was sound, so the
 * reader has consumed the record and dg_reader_next() goes on to the next
 * one.  Anything else (truncation, a bad header, a read error) breaks the
 * reader: every later call returns the same status and message, and this
 * returns nonzero. */
int dg_reader_broken(const struct dg_reader *r);

/* Convenience: next record as a new array (with a copy of its metadata;
 * free it with dg_array_free()).  *out is NULL at a clean end of stream
 * and on error. */
int dg_read_array(struct dg_reader *r, struct dg_array **out);

/* Whether the first bytes of a file look like a stream: nonzero when
 * they start with the magic "DGST" (len >= 4). */
int dg_stream_sniff(const void *bytes, size_t len);

/* ---- writing ---------------------------------------------------------- */

struct dg_writer;

/* Opens a writer; name is used in messages ("-" or NULL means stdout).
 * The writer does not close fd / f unless opened by path.  NULL on
 * failure (message set; DG_ECANTCREAT when path cannot be created). */
struct dg_writer *dg_writer_fd(int fd, const char *name);
struct dg_writer *dg_writer_file(FILE *f, const char *name);
struct dg_writer *dg_writer_open(const char *path);  /* "-" = stdout */

/* Writes one record; payload holds count * dtype size bytes in host
 * order (converted to little-endian on big-endian hosts); meta may be
 * NULL.  DG_EUSAGE for an invalid dtype, rank or shape or metadata over
 * DG_STREAM_MAX_META; DG_EIO when a write fails (the writer then refuses
 * further records). */
int dg_write_record(struct dg_writer *w, int dtype, unsigned rank,
		    const uint64_t *dims, const struct dg_meta *meta,
		    const void *payload);
int dg_write_array(struct dg_writer *w, const struct dg_array *a);

/* Flushes and releases the writer; reports any write error (DG_EIO).  A
 * writer opened by path is closed. */
int dg_writer_close(struct dg_writer *w);

#endif
