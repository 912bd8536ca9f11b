/* input.c — an input opened once: the bytes peeked at to tell its format
 * are kept and read again, so nothing is ever reopened; regular files can
 * also be rewound and seeked. */
#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dg/error.h"
#include "dg/input.h"
#include "io/input_impl.h"

struct dg_input {
	int fd;
	int own;                 /* close fd with the input */
	char *name;
	int seekable;            /* a regular file */
	int64_t size;            /* a regular file's size at opening, else -1 */
	/* Bytes 0..head_len of the input, read by dg_input_peek().  The
	 * descriptor is positioned at max(pos, head_len). */
	unsigned char *head;
	size_t head_len;
	int head_eof;            /* the input ended inside the head */
	uint64_t pos;            /* bytes consumed */
};

static int make(int fd, int own, const char *name, struct dg_input **out)
{
	struct dg_input *in = calloc(1, sizeof *in);
	struct stat st;

	*out = NULL;
	if (!in || !(in->name = strdup(!name || strcmp(name, "-") == 0 ? "stdin" : name))) {
		free(in);
		return dg_error_nomem("an input", 64);
	}
	in->fd = fd;
	in->own = own;
	in->size = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		/* seekable only from where it stands now: a descriptor handed
		 * over may be past its start */
		off_t at = lseek(fd, 0, SEEK_CUR);
		if (at == 0) {
			in->seekable = 1;
			in->size = st.st_size;
		}
	}
	*out = in;
	return DG_OK;
}

int dg_input_open(const char *path, struct dg_input **out)
{
	int fd, st;

	*out = NULL;
	if (strcmp(path, "-") == 0)
		return make(STDIN_FILENO, 0, "-", out);
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);   /* a FIFO waiting for its writer */
	if (fd < 0)
		return dg_error_errno("%s", path);
	if ((st = make(fd, 1, path, out)))
		close(fd);
	return st;
}

int dg_input_fd(int fd, const char *name, struct dg_input **out)
{
	return make(fd, 0, name, out);
}

void dg_input_close(struct dg_input *in)
{
	if (!in)
		return;
	if (in->own)
		close(in->fd);
	free(in->head);
	free(in->name);
	free(in);
}

const char *dg_input_name(const struct dg_input *in)
{
	return in->name;
}

int dg_input_seekable(const struct dg_input *in)
{
	return in->seekable;
}

uint64_t dg_input_tell(const struct dg_input *in)
{
	return in->pos;
}

int64_t dg__input_size(const struct dg_input *in)
{
	return in->size;
}

/* read(2) until len bytes or the end; *got < len only at the end. */
static int fd_read(struct dg_input *in, void *buf, size_t len, size_t *got)
{
	size_t n = 0;

	while (n < len) {
		size_t want = len - n > SSIZE_MAX ? SSIZE_MAX : len - n;
		ssize_t k = read(in->fd, (char *)buf + n, want);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno, st = dg_error_errno("%s: read error", in->name);
			errno = e;   /* for libarchive's message (ar_read) */
			*got = n;
			return st;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*got = n;
	return DG_OK;
}

int dg_input_peek(struct dg_input *in, size_t n, const void **bytes, size_t *len)
{
	*bytes = NULL;
	*len = 0;
	if (in->pos > in->head_len)
		return dg_error(DG_EINTERNAL, "%s: peek after reading", in->name);
	if (n > in->head_len && !in->head_eof) {
		unsigned char *h = realloc(in->head, n);
		size_t got;
		int st;

		if (!h)
			return dg_error_nomem("an input", n);
		in->head = h;
		st = fd_read(in, h + in->head_len, n - in->head_len, &got);
		in->head_len += got;
		if (st)
			return st;
		if (in->head_len < n)
			in->head_eof = 1;
	}
	*bytes = in->head;
	*len = n < in->head_len ? n : in->head_len;
	return DG_OK;
}

int dg_input_read(struct dg_input *in, void *buf, size_t n, size_t *got)
{
	size_t k = 0, more;
	int st;

	*got = 0;
	if (in->pos < in->head_len) {
		k = in->head_len - (size_t)in->pos < n ? in->head_len - (size_t)in->pos : n;
		memcpy(buf, in->head + in->pos, k);
		in->pos += k;
		if (k == n || in->head_eof) {
			*got = k;
			return DG_OK;
		}
	}
	st = fd_read(in, (char *)buf + k, n - k, &more);
	in->pos += more;
	*got = k + more;
	return st;
}

int64_t dg__input_seek(struct dg_input *in, int64_t off, int whence)
{
	int64_t to;

	if (!in->seekable) {
		dg_error(DG_EINTERNAL, "%s: seek on a pipe", in->name);
		return -1;
	}
	if (whence == SEEK_CUR) {
		to = (int64_t)in->pos + off;
	} else if (whence == SEEK_END) {
		struct stat st;
		if (fstat(in->fd, &st) != 0) {
			dg_error_errno("%s", in->name);
			return -1;
		}
		to = (int64_t)st.st_size + off;
	} else {
		to = off;
	}
	if (to < 0) {
		dg_error(DG_EINTERNAL, "%s: seek before the start", in->name);
		return -1;
	}
	/* the descriptor stays at max(pos, head_len) */
	if (lseek(in->fd, (uint64_t)to < in->head_len ? (off_t)in->head_len : (off_t)to,
		  SEEK_SET) < 0) {
		dg_error_errno("%s: seek", in->name);
		return -1;
	}
	in->pos = (uint64_t)to;
	return to;
}

int dg_input_rewind(struct dg_input *in)
{
	/* nothing read beyond the peeked bytes: they are all still here */
	if (in->pos <= in->head_len && !in->seekable) {
		in->pos = 0;
		return DG_OK;
	}
	if (!in->seekable)
		return dg_error(DG_EUSAGE, "%s: not a regular file: a pipe can be read "
				"only once", in->name);
	return dg__input_seek(in, 0, SEEK_SET) < 0 ? DG_EIO : DG_OK;
}

int dg__input_slurp(struct dg_input *in, uint64_t max, const char *limit_var,
		    void **out, size_t *len)
{
	size_t cap, n = 0;
	unsigned char *buf;

	*out = NULL;
	*len = 0;
	if (in->size >= 0 && (uint64_t)in->size > in->pos) {
		uint64_t left = (uint64_t)in->size - in->pos;
		if (left > max)
			return dg_error(DG_EDATA, "%s: %llu bytes, more than the limit of %llu "
					"(%s)", in->name, (unsigned long long)left,
					(unsigned long long)max, limit_var);
		cap = (size_t)left + 1;
	} else {
		cap = max < 65536 ? (size_t)max + 1 : 65536;
	}
	if (!(buf = malloc(cap)))
		return dg_error_nomem(in->name, cap);
	for (;;) {
		size_t got;
		int st;
		if (n == cap) {
			/* grows with the bytes that arrive, up to one past max */
			size_t ncap = cap > max / 2 ? (size_t)max + 1 : cap * 2;
			unsigned char *nb;
			if (n > max) {
				free(buf);
				return dg_error(DG_EDATA, "%s: more than the limit of %llu "
						"bytes (%s)", in->name,
						(unsigned long long)max, limit_var);
			}
			if (ncap <= cap)
				ncap = cap + 1;
			if (!(nb = realloc(buf, ncap))) {
				free(buf);
				return dg_error_nomem(in->name, ncap);
			}
			buf = nb;
			cap = ncap;
		}
		st = dg_input_read(in, buf + n, cap - n, &got);
		n += got;
		if (st) {
			free(buf);
			return st;
		}
		if (n < cap)
			break;
	}
	if (n > max) {
		free(buf);
		return dg_error(DG_EDATA, "%s: more than the limit of %llu bytes (%s)",
				in->name, (unsigned long long)max, limit_var);
	}
	/* one spare byte, for callers that end text with a NUL */
	if (n == cap) {
		unsigned char *nb = realloc(buf, n + 1);
		if (!nb) {
			free(buf);
			return dg_error_nomem(in->name, n + 1);
		}
		buf = nb;
	}
	*out = buf;
	*len = n;
	return DG_OK;
}

/* ---- libarchive on an input ------------------------------------------ */

struct ar_src {
	struct dg_input *in;
	unsigned char buf[1 << 16];
};

static la_ssize_t ar_read(struct archive *a, void *data, const void **out)
{
	struct ar_src *s = data;
	size_t got;

	*out = s->buf;
	if (dg_input_read(s->in, s->buf, sizeof s->buf, &got)) {
		/* callers name the input themselves */
		int e = errno;
		archive_set_error(a, e, "read error: %s", strerror(e));
		return -1;
	}
	return (la_ssize_t)got;
}

static la_int64_t ar_skip(struct archive *a, void *data, la_int64_t request)
{
	struct ar_src *s = data;
	int64_t size = s->in->size, left;

	/* not past the end, so that a truncated member is still found */
	left = size > (int64_t)s->in->pos ? size - (int64_t)s->in->pos : 0;
	if (request > left)
		request = left;
	if (request <= 0)
		return 0;
	if (dg__input_seek(s->in, request, SEEK_CUR) < 0) {
		archive_set_error(a, EIO, "%s", dg_errmsg());
		return ARCHIVE_FATAL;
	}
	return request;
}

static la_int64_t ar_seek(struct archive *a, void *data, la_int64_t off, int whence)
{
	struct ar_src *s = data;
	int64_t to = dg__input_seek(s->in, off, whence);

	if (to < 0) {
		archive_set_error(a, EIO, "%s", dg_errmsg());
		return ARCHIVE_FATAL;
	}
	return to;
}

static int ar_close(struct archive *a, void *data)
{
	(void)a;
	free(data);
	return ARCHIVE_OK;
}

int dg__archive_open_input(struct archive *a, struct dg_input *in)
{
	struct ar_src *s = malloc(sizeof *s);

	if (!s) {
		archive_set_error(a, ENOMEM, "out of memory");
		return ARCHIVE_FATAL;
	}
	s->in = in;
	archive_read_set_read_callback(a, ar_read);
	archive_read_set_close_callback(a, ar_close);
	if (in->seekable) {
		archive_read_set_skip_callback(a, ar_skip);
		archive_read_set_seek_callback(a, ar_seek);
	}
	archive_read_set_callback_data(a, s);
	return archive_read_open1(a);
}
