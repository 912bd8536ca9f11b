/* eval/fid.c — Gaussian fits of feature rows and the Fréchet distance
 * between two of them (dg/metrics.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dg/metrics.h"
#include "dg/error.h"

void dg_gauss_free(struct dg_gauss *g)
{
	if (!g)
		return;
	free(g->mean);
	free(g->cov);
	g->mean = g->cov = NULL;
	g->count = 0;
}

/* Rows per block of the covariance's accumulation: the centered block is
 * kept in double and the products summed row by row into the upper
 * triangle. */
#define BLOCK 256

int dg_gauss_fit(const float *x, uint64_t n, unsigned d, struct dg_gauss *out)
{
	memset(out, 0, sizeof *out);
	if (n < 2)
		return dg_error(DG_EDATA, "a Gaussian fit needs at least 2 rows, got %llu",
				(unsigned long long)n);
	size_t dd = (size_t)d * d;
	out->mean = calloc(d ? d : 1, sizeof *out->mean);
	out->cov = calloc(dd ? dd : 1, sizeof *out->cov);
	double *c = malloc((size_t)BLOCK * (d ? d : 1) * sizeof *c);
	if (!out->mean || !out->cov || !c) {
		free(c);
		dg_gauss_free(out);
		return dg_error_nomem("a Gaussian fit", dd * sizeof *out->cov);
	}
	out->dim = d;
	out->count = n;
	/* two passes: the mean, then sums of centered products, so that
	 * features far from zero lose nothing to cancellation */
	for (uint64_t i = 0; i < n; i++)
		for (unsigned j = 0; j < d; j++) {
			float v = x[i * d + j];
			if (!isfinite(v)) {
				free(c);
				dg_gauss_free(out);
				return dg_error(DG_EDATA, "feature %u of row %llu is %g", j,
						(unsigned long long)i, v);
			}
			out->mean[j] += v;
		}
	for (unsigned j = 0; j < d; j++)
		out->mean[j] /= (double)n;
	for (uint64_t b = 0; b < n; b += BLOCK) {
		uint64_t m = n - b < BLOCK ? n - b : BLOCK;
		for (uint64_t i = 0; i < m; i++)
			for (unsigned j = 0; j < d; j++)
				c[i * d + j] = x[(b + i) * d + j] - out->mean[j];
		for (uint64_t i = 0; i < m; i++) {
			const double *r = c + i * d;
			for (unsigned j = 0; j < d; j++) {
				double rj = r[j];
				double *row = out->cov + (size_t)j * d;
				for (unsigned k = j; k < d; k++)
					row[k] += rj * r[k];
			}
		}
	}
	for (unsigned j = 0; j < d; j++)
		for (unsigned k = j; k < d; k++) {
			double v = out->cov[(size_t)j * d + k] / (double)(n - 1);
			out->cov[(size_t)j * d + k] = out->cov[(size_t)k * d + j] = v;
		}
	free(c);
	return DG_OK;
}

int dg_fid(const struct dg_gauss *a, const struct dg_gauss *b, double *out)
{
	if (a->dim != b->dim)
		return dg_error(DG_EDATA, "FID: features of %u and %u dimensions", a->dim, b->dim);
	const struct dg_gauss *few = a->count <= b->count ? a : b;
	if (few->count <= few->dim)
		return dg_error(DG_EDATA, "FID needs more images than feature dimensions: %llu "
				"images for %u features leave the covariance singular (give at "
				"least %u; thousands for a stable number)",
				(unsigned long long)few->count, few->dim, few->dim + 1);
	unsigned d = a->dim;
	double dist = 0, tr = 0, cross;
	for (unsigned i = 0; i < d; i++) {
		double m = a->mean[i] - b->mean[i];
		dist += m * m;
		tr += a->cov[(size_t)i * d + i] + b->cov[(size_t)i * d + i];
	}
	int st = dg_trace_sqrt_product(d, a->cov, b->cov, &cross);
	if (st)
		return st;
	double fid = dist + tr - 2 * cross;
	if (!isfinite(fid))
		return dg_error(DG_EDATA, "FID: the distance is %g (features out of range?)", fid);
	/* two fits of the same features give 0 up to rounding, which may be
	 * a tiny negative number: the distance is never below 0 */
	*out = fid > 0 ? fid : 0;
	return DG_OK;
}
