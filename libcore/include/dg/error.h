/* dg/error.h — status codes and the per-thread error message.
 *
 * Every status is a sysexits(3) value, so a tool can exit with what a
 * library call returned.  A failing call stores a one-line message (no
 * program name, no newline) that dg_errmsg() returns until the next
 * failure on the same thread. */
#ifndef DG_ERROR_H
#define DG_ERROR_H

#include <stdarg.h>

enum dg_status {
	DG_OK = 0,
	DG_EUSAGE = 64,     /* EX_USAGE: bad arguments or option values */
	DG_EDATA = 65,      /* EX_DATAERR: malformed or inconsistent input */
	DG_ENOINPUT = 66,   /* EX_NOINPUT: an input does not exist */
	DG_ENODEV = 69,     /* EX_UNAVAILABLE: requested device or library missing */
	DG_EINTERNAL = 70,  /* EX_SOFTWARE: a bug, or a driver misbehaving */
	DG_ENOMEM = 71,     /* EX_OSERR: out of memory or another OS failure */
	DG_ECANTCREAT = 73, /* EX_CANTCREAT: an output cannot be created */
	DG_EIO = 74,        /* EX_IOERR: read or write failed */
};

#if defined(__GNUC__)
#define DG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DG_PRINTF(a, b)
#endif

/* Stores a message and returns status, so callers write
 * `return dg_error(DG_EDATA, "bad magic %x", m);`. */
int dg_error(int status, const char *fmt, ...) DG_PRINTF(2, 3);
int dg_verror(int status, const char *fmt, va_list ap);

/* Prepends context to the current message ("record 3: " + message) and
 * returns status unchanged. */
int dg_error_context(int status, const char *fmt, ...) DG_PRINTF(2, 3);

/* Stores "what: strerror(errno)" with a status chosen from errno
 * (ENOENT -> DG_ENOINPUT, ENOMEM -> DG_ENOMEM, else DG_EIO). */
int dg_error_errno(const char *fmt, ...) DG_PRINTF(1, 2);

/* Out-of-memory shorthand: "out of memory (N bytes for what)". */
int dg_error_nomem(const char *what, unsigned long long bytes);

/* The last message on this thread ("" if none). */
const char *dg_errmsg(void);

/* A short name for a status: "usage", "data", ... */
const char *dg_status_name(int status);

#endif
