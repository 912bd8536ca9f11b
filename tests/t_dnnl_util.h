/* t_dnnl_util.h — helpers shared by the t_dnnl_*.c tests of the oneDNN
 * layer: seeded random buffers, a scoped allocator, error comparison. */
#ifndef T_DNNL_UTIL_H
#define T_DNNL_UTIL_H

#include <stdint.h>

#include "tap.h"
#include "dg/error.h"
#include "cpu/dnnl.h"

/* Every buffer a test allocates, freed by tfree_all() so that ASan's leak
 * check sees nothing of ours. */
static void *tmem_list[512];
static int tmem_count;

static void *tmem(size_t bytes)
{
	void *p = calloc(1, bytes ? bytes : 1);

	if (!p || tmem_count == (int)(sizeof tmem_list / sizeof *tmem_list)) {
		fprintf(stderr, "out of test memory\n");
		exit(70);
	}
	return tmem_list[tmem_count++] = p;
}

static void tfree_all(void)
{
	while (tmem_count)
		free(tmem_list[--tmem_count]);
}

static float *fbuf(size_t n) { return tmem(n * sizeof(float)); }
static double *dbuf(size_t n) { return tmem(n * sizeof(double)); }

/* xorshift64*: a fixed sequence so failures reproduce. */
static uint64_t trng_state = 0x9e3779b97f4a7c15ull;
static float trand(float lo, float hi)
{
	trng_state ^= trng_state >> 12;
	trng_state ^= trng_state << 25;
	trng_state ^= trng_state >> 27;
	uint64_t r = trng_state * 0x2545f4914f6cdd1dull;
	return lo + (hi - lo) * (float)((r >> 40) * (1.0 / 16777216.0));
}

static float *frand(size_t n, float lo, float hi)
{
	float *p = fbuf(n);
	for (size_t i = 0; i < n; i++)
		p[i] = trand(lo, hi);
	return p;
}

/* Largest |got - ref| / (1 + |ref|) over n elements. */
static double max_err(const float *got, const double *ref, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs(got[i] - ref[i]) / (1 + fabs(ref[i]));
		if (!(e <= m))   /* also catches NaN */
			m = isnan(e) ? INFINITY : e;
	}
	return m;
}

static int check(const char *name, const float *got, const double *ref, size_t n,
		 double tol)
{
	double e = max_err(got, ref, n);
	return ok(e <= tol, "%s: max rel err %.3g <= %.0e", name, e, tol);
}

/* Creates a plan or reports why not (the test then fails, not crashes). */
#define MAKE(p, call)                                                         \
	do {                                                                  \
		int st_ = (call);                                             \
		if (!ok(st_ == 0 && (p), "plan %s", #call))                  \
			diag("status %d: %s", st_, dg_errmsg());             \
	} while (0)

/* Runs plan p (skipped if it could not be made) on the given pointers. */
#define RUN(p, ...)                                                           \
	do {                                                                  \
		void *args_[] = { __VA_ARGS__ };                              \
		int st_ = (p) ? dg_dnnl_run((p), args_, NULL) : -1;          \
		if (st_)                                                      \
			diag("run failed (%d): %s", st_, dg_errmsg());       \
	} while (0)

#endif
