/* stream.c — the dg-stream(5) reader: validates each header before trusting
 * it, streams payloads whole or in chunks, and checks both CRC-32s. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "dg/error.h"
#include "dg/input.h"
#include "dg/stream.h"
#include "io/limits.h"
#include "io/stream_format.h"
#include "io/stream_reader.h"

#define DEFAULT_MAX_PAYLOAD (2ull << 30)
#define SCRATCH 65536

enum state {
	BETWEEN,   /* before a header (or at the start) */
	PAYLOAD,   /* header and metadata read; payload_left bytes to go */
	END,       /* clean end of stream */
	BROKEN,    /* a fatal error; err holds its message */
};

struct dg_reader {
	int fd;                 /* used when f and in are NULL */
	FILE *f;
	struct dg_input *in;
	int own;                /* close fd / f / in on dg_reader_close() */
	char *name;
	uint64_t max_payload;
	char *max_error;        /* why DG_STREAM_MAX_BYTES was refused */

	enum state state;
	int status;             /* of the fatal error when BROKEN */
	char err[1024];

	unsigned char *pushback;  /* dg_reader_unread() bytes not yet read */
	size_t pb_len, pb_pos;
	unsigned char *scratch;   /* SCRATCH bytes for skipping */

	uint64_t offset;        /* bytes consumed from the source */
	uint64_t next_index;    /* number of the next record */
	struct dg_record rec;
	struct dg_meta *meta;
	uint64_t payload_left;
	uLong crc;              /* running data CRC of the current record */
	int crc_by_container;   /* dg__reader_crc_by_container(): payload CRC not run */
	int pending;            /* a record-level error found before the payload */
	char pending_msg[1024];
};

/* ---- errors ----------------------------------------------------------- */

/* Sets "name: record N: message" and breaks the reader. */
static int broken(struct dg_reader *r, int status, const char *fmt, ...)
	DG_PRINTF(3, 4);
static int broken(struct dg_reader *r, int status, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dg_error(status, "%s: record %llu: %s", r->name,
		 (unsigned long long)r->rec.index, msg);
	r->state = BROKEN;
	r->status = status;
	snprintf(r->err, sizeof r->err, "%s", dg_errmsg());
	return status;
}

/* Breaks the reader with the message already set (read errors). */
static int broken_now(struct dg_reader *r, int status)
{
	r->state = BROKEN;
	r->status = status;
	snprintf(r->err, sizeof r->err, "%s", dg_errmsg());
	return status;
}

static int replay(struct dg_reader *r)
{
	return dg_error(r->status, "%s", r->err);
}

/* ---- the source: pushback bytes, then the FILE or fd ------------------- */

/* Reads up to len bytes; *got < len only at end of file.  Partial reads
 * and EINTR are retried; a read error breaks the reader. */
static int src_read(struct dg_reader *r, void *buf, size_t len, size_t *got)
{
	unsigned char *p = buf;
	size_t n = 0;

	if (r->pb_pos < r->pb_len) {
		size_t k = r->pb_len - r->pb_pos;
		if (k > len)
			k = len;
		memcpy(p, r->pushback + r->pb_pos, k);
		r->pb_pos += k;
		n = k;
	}
	if (r->in && n < len) {
		size_t k;
		if (dg_input_read(r->in, p + n, len - n, &k))
			return broken_now(r, DG_EIO);
		n += k;
	}
	while (!r->in && n < len) {
		if (r->f) {
			size_t k = fread(p + n, 1, len - n, r->f);
			n += k;
			if (n == len)
				break;
			if (ferror(r->f)) {
				if (errno == EINTR) {
					clearerr(r->f);
					continue;
				}
				dg_error_errno("%s: read error", r->name);
				return broken_now(r, DG_EIO);
			}
			break;
		} else {
			size_t want = len - n > SSIZE_MAX ? SSIZE_MAX : len - n;
			ssize_t k = read(r->fd, p + n, want);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				dg_error_errno("%s: read error", r->name);
				return broken_now(r, DG_EIO);
			}
			if (k == 0)
				break;
			n += (size_t)k;
		}
	}
	r->offset += n;
	*got = n;
	return DG_OK;
}

/* Reads exactly len bytes of part what of the current record. */
static int read_part(struct dg_reader *r, void *buf, size_t len, const char *what)
{
	size_t got;
	int st = src_read(r, buf, len, &got);
	if (st)
		return st;
	if (got < len)
		return broken(r, DG_EDATA, "truncated %s (got %zu of %zu bytes)",
			      what, got, len);
	return DG_OK;
}

/* Reads and checks len bytes of zero padding.  Nonzero padding is a
 * record-level error (returned as DG_EDATA without breaking). */
static int read_padding(struct dg_reader *r, size_t len, int *nonzero)
{
	unsigned char pad[64];
	int st;

	if (!len)
		return DG_OK;
	if ((st = read_part(r, pad, len, "padding")))
		return st;
	for (size_t i = 0; i < len; i++)
		if (pad[i])
			*nonzero = 1;
	return DG_OK;
}

/* ---- opening and closing ---------------------------------------------- */

static int max_from_env(uint64_t *out)
{
	return dg__env_limit(DG_ENV_STREAM_MAX, DEFAULT_MAX_PAYLOAD, out);
}

int dg_stream_max_payload(uint64_t *bytes)
{
	return max_from_env(bytes);
}

static struct dg_reader *reader_new(int fd, FILE *f, struct dg_input *in,
				    const char *name)
{
	struct dg_reader *r;
	uint64_t max;
	char *max_error = NULL;

	/* A malformed limit is reported where it matters, when a payload
	 * is allocated: a reader that only skips does not need it. */
	if (max_from_env(&max) && !(max_error = strdup(dg_errmsg()))) {
		dg_error_nomem("a stream reader", 256);
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		free(max_error);
		dg_error_nomem("a stream reader", sizeof *r);
		return NULL;
	}
	r->fd = fd;
	r->f = f;
	r->in = in;
	r->max_payload = max;
	r->max_error = max_error;
	r->name = strdup(!name || strcmp(name, "-") == 0 ? "stdin" : name);
	r->scratch = malloc(SCRATCH);
	r->meta = dg_meta_new();
	if (!r->name || !r->scratch || !r->meta) {
		dg_error_nomem("a stream reader", SCRATCH);
		dg_reader_close(r);
		return NULL;
	}
	return r;
}

struct dg_reader *dg_reader_fd(int fd, const char *name)
{
	return reader_new(fd, NULL, NULL, name);
}

struct dg_reader *dg_reader_file(FILE *f, const char *name)
{
	return reader_new(-1, f, NULL, name);
}

struct dg_reader *dg_reader_input(struct dg_input *in)
{
	return reader_new(-1, NULL, in, dg_input_name(in));
}

struct dg_reader *dg_reader_open(const char *path)
{
	struct dg_reader *r;
	struct dg_input *in;

	if (dg_input_open(path, &in))
		return NULL;
	r = dg_reader_input(in);
	if (!r) {
		dg_input_close(in);
		return NULL;
	}
	r->own = 1;
	return r;
}

void dg_reader_close(struct dg_reader *r)
{
	if (!r)
		return;
	if (r->own) {
		if (r->in)
			dg_input_close(r->in);
		else if (r->f)
			fclose(r->f);
		else
			close(r->fd);
	}
	dg_meta_free(r->meta);
	free(r->max_error);
	free(r->pushback);
	free(r->scratch);
	free(r->name);
	free(r);
}

int dg_reader_unread(struct dg_reader *r, const void *bytes, size_t len)
{
	unsigned char *p;

	if (r->offset || r->pb_len)
		return dg_error(DG_EINTERNAL, "%s: dg_reader_unread after reading",
				r->name);
	if (!len)
		return DG_OK;
	p = malloc(len);
	if (!p)
		return dg_error_nomem("a stream reader", len);
	memcpy(p, bytes, len);
	r->pushback = p;
	r->pb_len = len;
	return DG_OK;
}

const char *dg_reader_name(const struct dg_reader *r)
{
	return r->name;
}

void dg_reader_set_max_payload(struct dg_reader *r, uint64_t bytes)
{
	r->max_payload = bytes;
	free(r->max_error);
	r->max_error = NULL;
}

void dg__reader_crc_by_container(struct dg_reader *r)
{
	r->crc_by_container = 1;
}

int dg_reader_broken(const struct dg_reader *r)
{
	return r->state == BROKEN;
}

int dg_stream_sniff(const void *bytes, size_t len)
{
	return len >= 4 && memcmp(bytes, DG_STREAM_MAGIC, 4) == 0;
}

/* ---- records ---------------------------------------------------------- */

/* Consumes the rest of the payload and its padding, then compares the
 * data CRC.  The record is done afterwards whatever the verdict, unless
 * the source fails. */
static int finish_record(struct dg_reader *r)
{
	int nonzero = 0, st;
	uint32_t crc;

	while (r->payload_left) {
		size_t k = r->payload_left < SCRATCH ? (size_t)r->payload_left : SCRATCH;
		size_t got;
		if ((st = src_read(r, r->scratch, k, &got)))
			return st;
		if (!r->crc_by_container)
			r->crc = crc32_z(r->crc, r->scratch, got);
		r->payload_left -= got;
		if (got < k)
			return broken(r, DG_EDATA, "truncated payload (got %llu of "
				      "%llu bytes)",
				      (unsigned long long)(r->rec.payload_len - r->payload_left),
				      (unsigned long long)r->rec.payload_len);
	}
	if ((st = read_padding(r, (size_t)pad64(r->rec.payload_len), &nonzero)))
		return st;
	r->state = BETWEEN;
	crc = (uint32_t)r->crc;
	if (!r->crc_by_container && crc != r->rec.crc)
		return dg_error(DG_EDATA, "%s: record %llu: checksum mismatch "
				"(stored %08x, computed %08x)", r->name,
				(unsigned long long)r->rec.index, r->rec.crc, crc);
	if (r->pending)
		return dg_error(r->pending, "%s", r->pending_msg);
	if (nonzero)
		return dg_error(DG_EDATA, "%s: record %llu: nonzero padding after "
				"the payload", r->name, (unsigned long long)r->rec.index);
	return DG_OK;
}

/* Explains bytes that do not start with the magic. */
static int not_a_stream(struct dg_reader *r, const unsigned char *h, size_t got)
{
	char hex[16] = "";
	size_t n = got < 4 ? got : 4, at = 0;

	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(hex + at, sizeof hex - at, "%s%02x",
				       i ? " " : "", h[i]);
	if (r->rec.index == 0) {
		dg_error(DG_EDATA, "%s: not a dg stream (starts with %s; see "
			 "dg-stream(5))", r->name, hex);
		return broken_now(r, DG_EDATA);
	}
	return broken(r, DG_EDATA, "bad magic (%s) at byte %llu; not a dg "
		      "stream record", hex, (unsigned long long)r->rec.offset);
}

/* Checks a header whose CRC matched; fills r->rec. */
static int parse_header(struct dg_reader *r, const unsigned char *h)
{
	struct dg_record *rec = &r->rec;
	uint64_t count, bytes;
	unsigned dtype = h[HDR_DTYPE];

	rec->rank = h[HDR_RANK];
	rec->flags = le32(h + HDR_FLAGS);
	rec->crc = le32(h + HDR_DATA_CRC);
	rec->payload_len = le64(h + HDR_PAYLOAD_LEN);
	if (!dg_dtype_size((int)dtype))
		return broken(r, DG_EDATA, "unknown dtype %u", dtype);
	rec->dtype = (enum dg_dtype)dtype;
	if (rec->rank > DG_MAX_RANK)
		return broken(r, DG_EDATA, "rank %u exceeds %d", rec->rank, DG_MAX_RANK);
	if (rec->flags)
		return broken(r, DG_EDATA, "unsupported flags 0x%08x", rec->flags);
	for (unsigned i = 0; i < DG_MAX_RANK; i++) {
		rec->dims[i] = le64(h + HDR_DIMS + 8 * i);
		if (i >= rec->rank && rec->dims[i])
			return broken(r, DG_EDATA, "dimension %u is set beyond rank %u",
				      i, rec->rank);
	}
	for (unsigned i = HDR_RESERVED; i < HDR_CRC; i++)
		if (h[i])
			return broken(r, DG_EDATA, "reserved header byte %u is not zero", i);
	if (le64(h + HDR_META_LEN) > DG_STREAM_MAX_META)
		return broken(r, DG_EDATA, "metadata of %llu bytes exceeds the limit "
			      "of %u", (unsigned long long)le64(h + HDR_META_LEN),
			      DG_STREAM_MAX_META);
	if (dg_shape_count(rec->rank, rec->dims, rec->dtype, &count, &bytes))
		return broken(r, DG_EDATA, "%s", dg_errmsg());
	if (bytes != rec->payload_len)
		return broken(r, DG_EDATA, "payload length %llu disagrees with shape "
			      "and dtype (%llu bytes)",
			      (unsigned long long)rec->payload_len,
			      (unsigned long long)bytes);
	if (bytes > UINT64_MAX - 64)
		return broken(r, DG_EDATA, "payload length %llu is too large",
			      (unsigned long long)bytes);
	rec->count = count;
	return DG_OK;
}

/* Reads the metadata (length already validated) into r->meta.  Problems
 * with its content are recorded in r->pending: the record's framing is
 * sound, so they spoil only this record. */
static int read_meta(struct dg_reader *r, size_t len)
{
	char *text;
	int nonzero = 0, st;

	text = malloc(len ? len : 1);
	if (!text)
		return broken(r, DG_ENOMEM, "out of memory (%zu bytes for metadata)", len);
	if ((st = read_part(r, text, len, "metadata"))) {
		free(text);
		return st;
	}
	r->crc = crc32_z(r->crc, (const unsigned char *)text, len);
	if (memchr(text, 0, len))
		st = dg_error(DG_EDATA, "NUL byte in metadata");
	else
		st = dg_meta_parse(r->meta, text, len);
	free(text);
	if (st) {
		r->pending = st;
		snprintf(r->pending_msg, sizeof r->pending_msg, "%s: record %llu: "
			 "invalid metadata: %s", r->name,
			 (unsigned long long)r->rec.index, dg_errmsg());
	}
	if ((st = read_padding(r, (size_t)pad64(DG_STREAM_HEADER_SIZE + len), &nonzero)))
		return st;
	if (nonzero && !r->pending) {
		r->pending = DG_EDATA;
		snprintf(r->pending_msg, sizeof r->pending_msg, "%s: record %llu: "
			 "nonzero padding after the metadata", r->name,
			 (unsigned long long)r->rec.index);
	}
	return DG_OK;
}

int dg_reader_next(struct dg_reader *r, const struct dg_record **out)
{
	unsigned char h[DG_STREAM_HEADER_SIZE];
	size_t got;
	uint32_t crc;
	unsigned version;
	int st;

	*out = NULL;
	if (r->state == BROKEN)
		return replay(r);
	if (r->state == END)
		return DG_OK;
	if (r->state == PAYLOAD && (st = finish_record(r)))
		return st;

	memset(&r->rec, 0, sizeof r->rec);
	r->rec.index = r->next_index++;
	r->rec.offset = r->offset;
	r->pending = 0;
	dg_meta_free(r->meta);
	if (!(r->meta = dg_meta_new()))
		return broken_now(r, DG_ENOMEM);
	r->rec.meta = r->meta;

	if ((st = src_read(r, h, sizeof h, &got)))
		return st;
	if (got == 0) {
		r->state = END;
		return DG_OK;
	}
	if (memcmp(h, DG_STREAM_MAGIC, got < 4 ? got : 4) != 0)
		return not_a_stream(r, h, got);
	if (got < sizeof h)
		return broken(r, DG_EDATA, "truncated header (got %zu of %zu bytes)",
			      got, sizeof h);
	/* The version comes before the CRC: a later version may move it. */
	version = le16(h + HDR_VERSION);
	if (version > DG_STREAM_VERSION)
		return broken(r, DG_EDATA, "stream version %u is newer than this dg "
			      "reads (%d); upgrade dg", version, DG_STREAM_VERSION);
	if (version == 0)
		return broken(r, DG_EDATA, "invalid stream version 0");
	crc = (uint32_t)crc32_z(0, h, HDR_CRC);
	if (crc != le32(h + HDR_CRC))
		return broken(r, DG_EDATA, "header checksum mismatch (stored %08x, "
			      "computed %08x)", le32(h + HDR_CRC), crc);
	if ((st = parse_header(r, h)))
		return st;

	r->crc = crc32_z(0, NULL, 0);
	if ((st = read_meta(r, (size_t)le64(h + HDR_META_LEN))))
		return st;
	r->payload_left = r->rec.payload_len;
	r->state = PAYLOAD;
	if (r->pending) {
		/* Report it now, with the record consumed, so the next call
		 * goes on; a checksum mismatch explains it better if any.
		 * The header stays visible (without metadata), so that a
		 * lister shows the record as bad instead of skipping it. */
		dg_meta_free(r->meta);
		r->meta = dg_meta_new();
		r->rec.meta = r->meta;
		st = finish_record(r);
		if (st && r->meta && r->state != BROKEN)
			*out = &r->rec;
		return st;
	}
	*out = &r->rec;
	return DG_OK;
}

int dg_reader_read(struct dg_reader *r, void *buf, size_t len)
{
	size_t got;
	uint64_t done;
	int st;

	if (r->state == BROKEN)
		return replay(r);
	if (r->state != PAYLOAD || len > r->payload_left)
		return dg_error(DG_EINTERNAL, "%s: record %llu: read of %zu bytes "
				"past the end of the payload", r->name,
				(unsigned long long)r->rec.index, len);
	done = r->rec.payload_len - r->payload_left;
	if (DG_BIG_ENDIAN && (len % dg_dtype_size(r->rec.dtype) ||
			      done % dg_dtype_size(r->rec.dtype)))
		return dg_error(DG_EINTERNAL, "%s: chunks must hold whole elements "
				"on big-endian hosts", r->name);
	if ((st = src_read(r, buf, len, &got)))
		return st;
	if (!r->crc_by_container)
		r->crc = crc32_z(r->crc, buf, got);
	r->payload_left -= got;
	if (got < len)
		return broken(r, DG_EDATA, "truncated payload (got %llu of %llu bytes)",
			      (unsigned long long)(done + got),
			      (unsigned long long)r->rec.payload_len);
	if (DG_BIG_ENDIAN)
		swap_elements(buf, len / dg_dtype_size(r->rec.dtype),
			      dg_dtype_size(r->rec.dtype));
	if (r->payload_left == 0)
		return finish_record(r);
	return DG_OK;
}

int dg_reader_skip(struct dg_reader *r)
{
	if (r->state == BROKEN)
		return replay(r);
	if (r->state != PAYLOAD)
		return DG_OK;
	return finish_record(r);
}

int dg_reader_payload(struct dg_reader *r, void **out)
{
	uint64_t left;
	void *buf;
	int st;

	*out = NULL;
	if (r->state == BROKEN)
		return replay(r);
	if (r->state != PAYLOAD)
		return dg_error(DG_EINTERNAL, "%s: no current record", r->name);
	if (r->max_error)
		return dg_error(DG_EUSAGE, "%s", r->max_error);
	left = r->payload_left;
	if (left > r->max_payload || left > SIZE_MAX)
		return dg_error(DG_EDATA, "%s: record %llu: payload of %llu bytes "
				"exceeds the limit of %llu (DG_STREAM_MAX_BYTES)",
				r->name, (unsigned long long)r->rec.index,
				(unsigned long long)left,
				(unsigned long long)r->max_payload);
	if (!(buf = dg_alloc((size_t)left)))
		return DG_ENOMEM;
	if ((st = dg_reader_read(r, buf, (size_t)left))) {
		dg_free(buf);
		return st;
	}
	*out = buf;
	return DG_OK;
}

int dg_reader_payload_f32(struct dg_reader *r, float **out)
{
	int dtype = r->rec.dtype;
	uint64_t n = r->payload_left / dg_dtype_size(dtype);
	float *f;
	void *buf;
	int st;

	*out = NULL;
	if ((st = dg_reader_payload(r, &buf)))
		return st;
	if (dtype == DG_F32) {
		*out = buf;
		return DG_OK;
	}
	if ((f = dg_alloc(n ? n * sizeof *f : 1)))
		dg_to_f32(f, buf, n, dtype, 0);
	dg_free(buf);
	*out = f;
	return f ? DG_OK : DG_ENOMEM;
}

int dg_read_array(struct dg_reader *r, struct dg_array **out)
{
	const struct dg_record *rec;
	struct dg_array *a;
	int st;

	*out = NULL;
	if ((st = dg_reader_next(r, &rec)) || !rec)
		return st;
	a = calloc(1, sizeof *a);
	if (!a)
		return dg_error_nomem("an array", sizeof *a);
	a->dtype = rec->dtype;
	a->rank = rec->rank;
	memcpy(a->dims, rec->dims, sizeof a->dims);
	if (!(a->meta = dg_meta_dup(rec->meta))) {
		dg_array_free(a);
		return DG_ENOMEM;
	}
	if ((st = dg_reader_payload(r, &a->data))) {
		dg_array_free(a);
		return st;
	}
	*out = a;
	return DG_OK;
}
