/* tool.c — the shared manners of dg tools: messages, exit, terminals. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg/tool.h"

static const char *tool_name = "dg";

void dg_tool_init(const char *name)
{
	tool_name = name;
	/* A parent (or a shell script with `trap '' PIPE`) may have left
	 * SIGPIPE ignored; restoring it makes `dg-X | head` end quietly. */
	signal(SIGPIPE, SIG_DFL);
	/* Tensors of a few megabytes are copied through several short-lived
	 * buffers while a model loads.  glibc gives each its own mmap, so
	 * every one is freshly page-faulted (about 10 us a page on a VM: most
	 * of a small tool's run).  Keeping freed memory in the heap lets the
	 * next buffer reuse pages already mapped. */
	mallopt(M_MMAP_THRESHOLD, 256 << 20);
	mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

const char *dg_tool_name(void)
{
	return tool_name;
}

int dg_tool_fail(int status)
{
	const char *m = dg_errmsg();
	fprintf(stderr, "%s: %s\n", tool_name, *m ? m : dg_status_name(status));
	return status;
}

int dg_tool_error(int status, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

void dg_tool_warn(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: warning: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int dg_tool_usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", tool_name);
	return DG_EUSAGE;
}

void dg_tool_version(void)
{
	printf("%s (dg) %s\n", tool_name, DG_VERSION);
}

int dg_tool_option(int c, const char *usage, char **argv)
{
	switch (c) {
	case 'h':
		fputs(usage, stdout);
		return -1;
	case DG_OPT_VERSION:
		dg_tool_version();
		return -1;
	case ':':
		return dg_tool_usage("option '%s' needs a value", argv[optind - 1]);
	default:
		return dg_tool_usage("unknown option '%s'", argv[optind - 1]);
	}
}

int dg_tool_check_binary_output(FILE *f)
{
	if (isatty(fileno(f)))
		return dg_error(DG_EUSAGE, "refusing to write a binary stream to a "
				"terminal; redirect it to a file or pipe it to "
				"another dg tool (dg-info shows what it holds)");
	return DG_OK;
}

int dg_tool_exit(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			return status;
		if (status == DG_OK)
			status = dg_tool_fail(dg_error_errno("write error on standard output"));
	}
	return status;
}

int dg_parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno)
		return dg_error(DG_EUSAGE, "%s: '%s' is not an integer", opt, s);
	if (v < lo || v > hi)
		return dg_error(DG_EUSAGE, "%s: %ld is out of range [%ld, %ld]",
				opt, v, lo, hi);
	*out = v;
	return DG_OK;
}

int dg_parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v))
		return dg_error(DG_EUSAGE, "%s: '%s' is not a number", opt, s);
	if (v < lo || v > hi)
		return dg_error(DG_EUSAGE, "%s: %g is out of range [%g, %g]",
				opt, v, lo, hi);
	*out = v;
	return DG_OK;
}
