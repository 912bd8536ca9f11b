/* bench/bench.h — timing helpers shared by the C benchmarks: a monotonic
 * clock, medians of repeated runs, and the one output line format that
 * bench/run.sh parses ("name value unit  # note"). */
#ifndef DG_BENCH_H
#define DG_BENCH_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static __attribute__((unused)) double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static __attribute__((unused)) double median(double *v, int n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Repeats: how many timed samples a benchmark takes (BENCH_REPEATS, 7 by
 * default); the median is reported because the machine is shared. */
static __attribute__((unused)) int bench_repeats(void)
{
	const char *s = getenv("BENCH_REPEATS");
	int n = s ? atoi(s) : 7;
	return n < 1 ? 1 : n > 101 ? 101 : n;
}

/* Seconds per call of fn(arg): the median and the best of the samples.
 * Each sample runs fn enough times to last about min_s, after untimed
 * warm-up calls.  The best sample is what the code can do when the shared
 * machine leaves it alone; the median is what one typically sees. */
struct timing {
	double median, best;
};

static __attribute__((unused)) struct timing time_calls(void (*fn)(void *), void *arg,
							double min_s)
{
	double v[101];
	int reps = bench_repeats(), iters = 1;

	fn(arg);
	for (double t0 = now_s(); now_s() - t0 < min_s / 4 && iters < 1 << 20; iters *= 2)
		for (int i = 0; i < iters; i++)
			fn(arg);
	double t0 = now_s();
	for (int i = 0; i < iters; i++)
		fn(arg);
	double per = (now_s() - t0) / iters;
	int n = per > 0 ? (int)(min_s / per) + 1 : 1;
	for (int r = 0; r < reps; r++) {
		t0 = now_s();
		for (int i = 0; i < n; i++)
			fn(arg);
		v[r] = (now_s() - t0) / n;
	}
	struct timing t;
	t.median = median(v, reps);   /* sorts v */
	t.best = v[0];
	return t;
}

/* Times a and b in alternation (one sample of each per round, each sample
 * about min_s) so both see the same background load; returns the median
 * over rounds of time(a) / time(b) and stores each one's median time. */
static __attribute__((unused)) double time_pair(void (*a)(void *), void (*b)(void *),
						void *arg, double min_s, double *ta,
						double *tb)
{
	double va[101], vb[101], r[101];
	int reps = bench_repeats();
	int na = (int)(min_s / time_calls(a, arg, min_s / 4).best) + 1;
	int nb = (int)(min_s / time_calls(b, arg, min_s / 4).best) + 1;

	for (int k = 0; k < reps; k++) {
		double t0 = now_s();
		for (int i = 0; i < na; i++)
			a(arg);
		va[k] = (now_s() - t0) / na;
		t0 = now_s();
		for (int i = 0; i < nb; i++)
			b(arg);
		vb[k] = (now_s() - t0) / nb;
		r[k] = va[k] / vb[k];
	}
	*ta = median(va, reps);
	*tb = median(vb, reps);
	return median(r, reps);
}

/* One result line: "name value unit # note". */
static void report(const char *name, double value, const char *unit, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), unused));
static void report(const char *name, double value, const char *unit, const char *fmt, ...)
{
	va_list ap;
	printf("%-34s %10.2f %-8s # ", name, value, unit);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#endif
