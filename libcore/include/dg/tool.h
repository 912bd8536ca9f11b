/* dg/tool.h — the manners every dg tool shares (see DESIGN.md).
 *
 * A tool calls dg_tool_init() first, parses its options, does its work
 * through libdg, and returns dg_tool_exit(status) from main(). */
#ifndef DG_TOOL_H
#define DG_TOOL_H

#include <stddef.h>
#include <stdio.h>
#include "dg/error.h"

/* Records the tool's name for messages and restores the default SIGPIPE
 * action, so a closed pipe ends the tool quietly (status 141). */
void dg_tool_init(const char *name);
const char *dg_tool_name(void);

/* "dg-X: message" on stderr for the current dg_errmsg(); returns status. */
int dg_tool_fail(int status);
/* "dg-X: formatted message" on stderr; returns status. */
int dg_tool_error(int status, const char *fmt, ...) DG_PRINTF(2, 3);
/* "dg-X: warning: formatted message" on stderr. */
void dg_tool_warn(const char *fmt, ...) DG_PRINTF(1, 2);
/* A usage error: the message, then "Try 'dg-X --help'."; returns 64. */
int dg_tool_usage(const char *fmt, ...) DG_PRINTF(1, 2);

/* Prints "dg-X (dg) VERSION" to stdout. */
void dg_tool_version(void);

/* getopt_long's value for --version in every tool's option table. */
#define DG_OPT_VERSION 0x7f00
/* The options every tool shares, for a getopt_long result c the tool
 * does not handle itself: 'h' prints usage and DG_OPT_VERSION the
 * version (both return -1: exit 0); a missing value or an unknown option
 * is a usage error (returns 64).  Call it from the switch's default. */
int dg_tool_option(int c, const char *usage, char **argv);

/* Refuses to write a binary stream to a terminal, like gzip(1):
 * returns DG_EUSAGE with a hint when f is a tty, else DG_OK. */
int dg_tool_check_binary_output(FILE *f);

/* Flushes stdout; a failure to write it turns a successful status into
 * DG_EIO with a message (a closed pipe is not an error).  Errors already
 * reported are not printed again.  Use as `return dg_tool_exit(st);`. */
int dg_tool_exit(int status);

/* Replaces path with len bytes atomically (a temporary beside it,
 * flushed, then renamed): readers and a later run see the old file or the
 * whole new one, never a truncated one.  Errors: DG_ECANTCREAT or DG_EIO
 * naming path; path is then untouched. */
int dg_file_replace(const char *path, const void *bytes, size_t len);

/* Parses option values strictly: the whole string, in range.  Return
 * DG_EUSAGE with a message naming opt on failure. */
int dg_parse_long(const char *opt, const char *s, long lo, long hi, long *out);
int dg_parse_double(const char *opt, const char *s, double lo, double hi, double *out);

#endif
