/* error.c — per-thread error messages and status names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "dg/error.h"

#define MSG_SIZE 1024

static _Thread_local char message[MSG_SIZE];

/* message = a + ": " + b, truncated to fit (deliberately, quietly). */
static void join(const char *a, const char *b)
{
	size_t la = strnlen(a, MSG_SIZE - 1), lb;

	memmove(message, a, la);
	if (la + 2 < MSG_SIZE) {
		memcpy(message + la, ": ", 2);
		la += 2;
	}
	lb = strnlen(b, MSG_SIZE - 1 - la);
	memmove(message + la, b, lb);
	message[la + lb] = 0;
}

/* Formats into a copy first: an argument may be dg_errmsg() itself, as
 * in dg_error(st, "%s", dg_errmsg()), which vsnprintf into the buffer it
 * reads would garble. */
int dg_verror(int status, const char *fmt, va_list ap)
{
	char fresh[MSG_SIZE];
	vsnprintf(fresh, sizeof fresh, fmt, ap);
	memcpy(message, fresh, sizeof message);
	return status;
}

int dg_error(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dg_verror(status, fmt, ap);
	va_end(ap);
	return status;
}

int dg_error_context(int status, const char *fmt, ...)
{
	char prefix[MSG_SIZE], old[MSG_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, message, sizeof old);
	join(prefix, old);
	return status;
}

int dg_error_errno(const char *fmt, ...)
{
	int e = errno;
	char what[MSG_SIZE];
	va_list ap;
	int status = e == ENOENT ? DG_ENOINPUT : e == ENOMEM ? DG_ENOMEM : DG_EIO;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	join(what, strerror(e));
	return status;
}

int dg_error_nomem(const char *what, unsigned long long bytes)
{
	return dg_error(DG_ENOMEM, "out of memory (%llu bytes for %s)", bytes, what);
}

const char *dg_errmsg(void)
{
	return message;
}

const char *dg_status_name(int status)
{
	switch (status) {
	case DG_OK: return "ok";
	case DG_EUSAGE: return "usage";
	case DG_EDATA: return "data";
	case DG_ENOINPUT: return "noinput";
	case DG_ENODEV: return "unavailable";
	case DG_EINTERNAL: return "internal";
	case DG_ENOMEM: return "oserr";
	case DG_ECANTCREAT: return "cantcreat";
	case DG_EIO: return "ioerr";
	default: return "unknown";
	}
}
