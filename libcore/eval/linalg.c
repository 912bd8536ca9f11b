/* eval/linalg.c — the symmetric eigendecomposition (cyclic Jacobi) and
 * the PSD matrix square roots FID needs (dg/metrics.h), in double.
 *
 * Why Jacobi: FID's matrices are covariances of a few hundred features at
 * most, so O(n³) per sweep is milliseconds, and Jacobi is short enough to
 * own (no LAPACK dependency for one call), needs no tridiagonal reduction,
 * and computes small eigenvalues of a PSD matrix to high relative
 * accuracy (Demmel & Veselić 1992), which is what the square roots of
 * nearly singular covariances need. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dg/metrics.h"
#include "dg/error.h"

/* Sweeps before giving up: Jacobi converges quadratically once the
 * off-diagonal part is small, in 6-10 sweeps for n up to thousands. */
#define MAX_SWEEPS 60

/* Applies the rotation J (c at (p,p) and (q,q), s at (p,q), -s at (q,p))
 * on both sides of A (A := JᵀAJ) and to the columns of V (V := VJ). */
static void rotate(unsigned n, double *A, double *V, unsigned p, unsigned q, double c,
		   double s)
{
	for (unsigned k = 0; k < n; k++) { /* columns p and q */
		double akp = A[(size_t)k * n + p], akq = A[(size_t)k * n + q];
		A[(size_t)k * n + p] = c * akp - s * akq;
		A[(size_t)k * n + q] = s * akp + c * akq;
	}
	for (unsigned k = 0; k < n; k++) { /* rows p and q */
		double apk = A[(size_t)p * n + k], aqk = A[(size_t)q * n + k];
		A[(size_t)p * n + k] = c * apk - s * aqk;
		A[(size_t)q * n + k] = s * apk + c * aqk;
	}
	A[(size_t)p * n + q] = A[(size_t)q * n + p] = 0;
	if (V)
		for (unsigned k = 0; k < n; k++) {
			double vkp = V[(size_t)k * n + p], vkq = V[(size_t)k * n + q];
			V[(size_t)k * n + p] = c * vkp - s * vkq;
			V[(size_t)k * n + q] = s * vkp + c * vkq;
		}
}

/* One cyclic sweep over the pairs p < q; returns the rotations done.  A
 * pair is left alone (its entry set to zero) when the entry is below
 * rounding against its two diagonal entries, |apq| <= ε·√(|app|·|aqq|):
 * the relative test under which Jacobi finds the small eigenvalues of a
 * PSD matrix to high relative accuracy; a sweep that rotates nothing
 * ends the iteration. */
static unsigned sweep(unsigned n, double *A, double *V)
{
	unsigned done = 0;
	for (unsigned p = 0; p + 1 < n; p++)
		for (unsigned q = p + 1; q < n; q++) {
			double apq = A[(size_t)p * n + q];
			double app = A[(size_t)p * n + p], aqq = A[(size_t)q * n + q];
			if (apq == 0)
				continue;
			if (fabs(apq) <= DBL_EPSILON * sqrt(fabs(app)) * sqrt(fabs(aqq))) {
				A[(size_t)p * n + q] = A[(size_t)q * n + p] = 0;
				continue;
			}
			/* tan φ of the smaller rotation that zeroes apq: the root of
			 * t² + 2θt - 1 = 0 nearer 0, θ = cot 2φ = (aqq - app)/(2apq) */
			double theta = (aqq - app) / (2 * apq), t;
			if (fabs(theta) > 1e150) /* θ² would overflow: t ≈ 1/(2θ) */
				t = 0.5 / theta;
			else
				t = (theta < 0 ? -1 : 1) / (fabs(theta) + sqrt(theta * theta + 1));
			double c = 1 / sqrt(t * t + 1), s = t * c;
			rotate(n, A, V, p, q, c, s);
			done++;
		}
	return done;
}

struct pair {
	double w;
	unsigned i;
};

static int by_value(const void *a, const void *b)
{
	double x = ((const struct pair *)a)->w, y = ((const struct pair *)b)->w;
	return x < y ? -1 : x > y;
}

int dg_eigh(unsigned n, const double *a, double *w, double *v)
{
	if (n == 0)
		return DG_OK;
	size_t nn = (size_t)n * n;
	double *A = malloc(nn * sizeof *A), *V = v ? malloc(nn * sizeof *V) : NULL;
	struct pair *order = malloc(n * sizeof *order);
	if (!A || (v && !V) || !order) {
		free(A);
		free(V);
		free(order);
		return dg_error_nomem("an eigendecomposition", 2 * nn * sizeof *A);
	}
	for (size_t i = 0; i < nn; i++)
		if (!isfinite(a[i])) {
			free(A);
			free(V);
			free(order);
			return dg_error(DG_EDATA, "eigendecomposition: entry (%zu, %zu) is %g",
					i / n, i % n, a[i]);
		}
	/* the symmetric part, so that a matrix symmetric up to rounding
	 * stays exactly symmetric under the rotations */
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++)
			A[(size_t)i * n + j] = 0.5 * (a[(size_t)i * n + j] + a[(size_t)j * n + i]);
	if (V) {
		memset(V, 0, nn * sizeof *V);
		for (unsigned i = 0; i < n; i++)
			V[(size_t)i * n + i] = 1;
	}
	for (int s = 0; s < MAX_SWEEPS && sweep(n, A, V); s++)
		;
	for (unsigned i = 0; i < n; i++)
		order[i] = (struct pair){A[(size_t)i * n + i], i};
	qsort(order, n, sizeof *order, by_value);
	for (unsigned i = 0; i < n; i++) {
		w[i] = order[i].w;
		if (v)
			for (unsigned k = 0; k < n; k++)
				v[(size_t)k * n + i] = V[(size_t)k * n + order[i].i];
	}
	free(A);
	free(V);
	free(order);
	return DG_OK;
}

int dg_sqrtm_psd(unsigned n, const double *a, double *out)
{
	size_t nn = (size_t)n * n;
	double *w = malloc((n ? n : 1) * sizeof *w), *V = malloc((nn ? nn : 1) * sizeof *V);
	int st = !w || !V ? dg_error_nomem("a matrix square root", nn * sizeof *V)
			  : dg_eigh(n, a, w, V);
	if (!st) {
		for (unsigned k = 0; k < n; k++)
			w[k] = w[k] > 0 ? sqrt(w[k]) : 0;
		for (unsigned i = 0; i < n; i++)
			for (unsigned j = 0; j <= i; j++) {
				double s = 0;
				for (unsigned k = 0; k < n; k++)
					s += V[(size_t)i * n + k] * w[k] * V[(size_t)j * n + k];
				out[(size_t)i * n + j] = out[(size_t)j * n + i] = s;
			}
	}
	free(w);
	free(V);
	return st;
}

/* c = a·b, n×n. */
static void matmul(unsigned n, const double *a, const double *b, double *c)
{
	memset(c, 0, (size_t)n * n * sizeof *c);
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < n; k++) {
			double aik = a[(size_t)i * n + k];
			const double *bk = b + (size_t)k * n;
			double *ci = c + (size_t)i * n;
			for (unsigned j = 0; j < n; j++)
				ci[j] += aik * bk[j];
		}
}

int dg_trace_sqrt_product(unsigned n, const double *a, const double *b, double *out)
{
	size_t nn = (size_t)n * n;
	double *s = malloc((nn ? nn : 1) * sizeof *s), *t = malloc((nn ? nn : 1) * sizeof *t);
	double *m = malloc((nn ? nn : 1) * sizeof *m), *w = malloc((n ? n : 1) * sizeof *w);
	int st = !s || !t || !m || !w ? dg_error_nomem("FID's matrices", 3 * nn * sizeof *s)
				      : dg_sqrtm_psd(n, a, s);
	if (!st) {
		matmul(n, s, b, t);
		matmul(n, t, s, m); /* A^½ B A^½; dg_eigh takes its symmetric part */
		st = dg_eigh(n, m, w, NULL);
	}
	if (!st) {
		double tr = 0;
		for (unsigned i = 0; i < n; i++)
			tr += w[i] > 0 ? sqrt(w[i]) : 0;
		*out = tr;
	}
	free(s);
	free(t);
	free(m);
	free(w);
	return st;
}
