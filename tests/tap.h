/* tap.h — a small TAP producer for dg's C tests (run by prove).
 *
 * Usage:  plan(n) or nothing (done_testing() prints the plan at the end);
 *         ok(cond, "name %d", i); is_int(got, want, "name");
 *         is_near(got, want, tol, "name"); diag("..."); return done_testing();
 * A test file is one main() that returns done_testing(). */
#ifndef DG_TAP_H
#define DG_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed, tap_planned = -1;

static void plan(int n) __attribute__((unused));
static void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void diag(const char *fmt, ...)
{
	va_list ap;
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static int tap_vok(int cond, const char *fmt, va_list ap)
{
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	return cond;
}

static int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_vok(cond, fmt, ap);
	va_end(ap);
	return cond;
}

static int is_int(long long got, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), unused));
static int is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_vok(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		diag("  got %lld, want %lld", got, want);
	return got == want;
}

static int is_str(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), unused));
static int is_str(const char *got, const char *want, const char *fmt, ...)
{
	int same = got && want ? strcmp(got, want) == 0 : got == want;
	va_list ap;
	va_start(ap, fmt);
	tap_vok(same, fmt, ap);
	va_end(ap);
	if (!same)
		diag("  got '%s', want '%s'", got ? got : "(null)", want ? want : "(null)");
	return same;
}

/* |got - want| <= tol * max(1, |want|): a relative tolerance for large
 * values, absolute near zero. */
static int is_near(double got, double want, double tol, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), unused));
static int is_near(double got, double want, double tol, const char *fmt, ...)
{
	double scale = fabs(want) > 1 ? fabs(want) : 1;
	int good = fabs(got - want) <= tol * scale;
	va_list ap;
	va_start(ap, fmt);
	tap_vok(good, fmt, ap);
	va_end(ap);
	if (!good)
		diag("  got %.9g, want %.9g (tolerance %g)", got, want, tol);
	return good;
}

static void skip(const char *why) __attribute__((unused));
static void skip(const char *why)
{
	tap_count++;
	printf("ok %d # skip %s\n", tap_count, why);
	fflush(stdout);
}

/* Ends the test; returns the exit status for main(). */
static int done_testing(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_count);
	else if (tap_planned != tap_count)
		diag("planned %d tests but ran %d", tap_planned, tap_count);
	fflush(stdout);
	return tap_failed || (tap_planned >= 0 && tap_planned != tap_count);
}

#endif
