/* stream_write.c — the dg-stream(5) writer: header with both CRC-32s,
 * metadata, payload, zero padding, every write checked. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "dg/error.h"
#include "dg/stream.h"
#include "io/stream_format.h"

struct dg_writer {
	int fd;          /* used when f is NULL */
	FILE *f;
	int own;         /* close fd / f on dg_writer_close() */
	char *name;
	uint64_t index;  /* records written */
	int failed;      /* status of an earlier write error */
};

static struct dg_writer *writer_new(int fd, FILE *f, const char *name)
{
	struct dg_writer *w = calloc(1, sizeof *w);

	if (!w) {
		dg_error_nomem("a stream writer", sizeof *w);
		return NULL;
	}
	w->fd = fd;
	w->f = f;
	w->name = strdup(!name || strcmp(name, "-") == 0 ? "stdout" : name);
	if (!w->name) {
		free(w);
		dg_error_nomem("a stream writer", 64);
		return NULL;
	}
	return w;
}

struct dg_writer *dg_writer_fd(int fd, const char *name)
{
	return writer_new(fd, NULL, name);
}

struct dg_writer *dg_writer_file(FILE *f, const char *name)
{
	return writer_new(-1, f, name);
}

struct dg_writer *dg_writer_open(const char *path)
{
	struct dg_writer *w;
	FILE *f;

	if (strcmp(path, "-") == 0)
		return dg_writer_file(stdout, "-");
	f = fopen(path, "wbe");
	if (!f) {
		dg_error(DG_ECANTCREAT, "cannot create %s: %s", path, strerror(errno));
		return NULL;
	}
	w = dg_writer_file(f, path);
	if (!w) {
		fclose(f);
		return NULL;
	}
	w->own = 1;
	return w;
}

/* Stores "name: write error: why" and returns DG_EIO. */
static int write_error(struct dg_writer *w)
{
	if (!errno)
		errno = EIO;
	dg_error(DG_EIO, "%s: write error: %s", w->name, strerror(errno));
	return DG_EIO;
}

/* Writes all len bytes, retrying partial writes and EINTR; a failure is
 * remembered so that later records are refused. */
static int put(struct dg_writer *w, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t n = 0;

	while (n < len) {
		errno = 0;
		if (w->f) {
			n += fwrite(p + n, 1, len - n, w->f);
			if (n < len) {
				if (errno == EINTR && ferror(w->f)) {
					clearerr(w->f);
					continue;
				}
				break;
			}
		} else {
			size_t want = len - n > SSIZE_MAX ? SSIZE_MAX : len - n;
			ssize_t k = write(w->fd, p + n, want);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			n += (size_t)k;
		}
	}
	if (n < len)
		return w->failed = write_error(w);
	return DG_OK;
}

static int put_zeros(struct dg_writer *w, size_t len)
{
	static const unsigned char zeros[64];
	return len ? put(w, zeros, len) : DG_OK;
}

/* The payload in little-endian order: on big-endian hosts a swapped copy
 * is written in pieces, so no second full-size buffer is needed. */
static int put_payload(struct dg_writer *w, const void *payload, size_t bytes,
		       size_t esize)
{
	unsigned char tmp[4096];
	const unsigned char *p = payload;

	if (!DG_BIG_ENDIAN || esize == 1)
		return put(w, payload, bytes);
	for (size_t at = 0; at < bytes;) {
		size_t k = bytes - at < sizeof tmp ? bytes - at : sizeof tmp;
		int st;
		memcpy(tmp, p + at, k);
		swap_elements(tmp, k / esize, esize);
		if ((st = put(w, tmp, k)))
			return st;
		at += k;
	}
	return DG_OK;
}

int dg_write_record(struct dg_writer *w, int dtype, unsigned rank,
		    const uint64_t *dims, const struct dg_meta *meta,
		    const void *payload)
{
	unsigned char h[DG_STREAM_HEADER_SIZE] = {0};
	uint64_t count, bytes;
	size_t esize = dg_dtype_size(dtype), mlen;
	uLong crc;
	char *text;
	int st;

	if (w->failed)
		return dg_error(w->failed, "%s: an earlier write failed", w->name);
	if (!esize)
		return dg_error(DG_EUSAGE, "%s: cannot write dtype %d", w->name, dtype);
	if (dg_shape_count(rank, dims, dtype, &count, &bytes))
		return dg_error_context(DG_EUSAGE, "%s: record %llu", w->name,
					(unsigned long long)w->index);
	if (bytes > SIZE_MAX || bytes > UINT64_MAX - 64)
		return dg_error(DG_EUSAGE, "%s: record %llu: %llu bytes is too large",
				w->name, (unsigned long long)w->index,
				(unsigned long long)bytes);
	if (bytes && !payload)
		return dg_error(DG_EINTERNAL, "%s: no payload", w->name);
	if ((st = dg_meta_format(meta, &text, &mlen)))
		return st;
	if (mlen > DG_STREAM_MAX_META) {
		free(text);
		return dg_error(DG_EUSAGE, "%s: record %llu: metadata of %zu bytes "
				"exceeds the limit of %u", w->name,
				(unsigned long long)w->index, mlen, DG_STREAM_MAX_META);
	}

	crc = crc32_z(0, NULL, 0);
	crc = crc32_z(crc, (const unsigned char *)text, mlen);
	if (!DG_BIG_ENDIAN || esize == 1) {
		crc = crc32_z(crc, payload, (size_t)bytes);
	} else {
		/* The CRC is over the little-endian bytes as written. */
		unsigned char tmp[4096];
		for (size_t at = 0; at < bytes;) {
			size_t k = bytes - at < sizeof tmp ? bytes - at : sizeof tmp;
			memcpy(tmp, (const unsigned char *)payload + at, k);
			swap_elements(tmp, k / esize, esize);
			crc = crc32_z(crc, tmp, k);
			at += k;
		}
	}

	memcpy(h + HDR_MAGIC, DG_STREAM_MAGIC, 4);
	put16(h + HDR_VERSION, DG_STREAM_VERSION);
	h[HDR_DTYPE] = (unsigned char)dtype;
	h[HDR_RANK] = (unsigned char)rank;
	put32(h + HDR_FLAGS, 0);
	put32(h + HDR_DATA_CRC, (uint32_t)crc);
	put64(h + HDR_META_LEN, mlen);
	put64(h + HDR_PAYLOAD_LEN, bytes);
	for (unsigned i = 0; i < rank; i++)
		put64(h + HDR_DIMS + 8 * i, dims[i]);
	put32(h + HDR_CRC, (uint32_t)crc32_z(0, h, HDR_CRC));

	st = put(w, h, sizeof h);
	if (!st)
		st = put(w, text, mlen);
	if (!st)
		st = put_zeros(w, (size_t)pad64(DG_STREAM_HEADER_SIZE + mlen));
	if (!st)
		st = put_payload(w, payload, (size_t)bytes, esize);
	if (!st)
		st = put_zeros(w, (size_t)pad64(bytes));
	free(text);
	if (!st)
		w->index++;
	return st;
}

int dg_write_array(struct dg_writer *w, const struct dg_array *a)
{
	return dg_write_record(w, a->dtype, a->rank, a->dims, a->meta, a->data);
}

int dg_writer_close(struct dg_writer *w)
{
	int st;

	if (!w)
		return DG_OK;
	st = w->failed;
	if (w->f) {
		errno = 0;
		if (fflush(w->f) != 0 && !st)
			st = write_error(w);
		if (w->own && fclose(w->f) != 0 && !st)
			st = write_error(w);
	} else if (w->own && close(w->fd) != 0 && !st) {
		st = write_error(w);
	}
	free(w->name);
	free(w);
	return st;
}
