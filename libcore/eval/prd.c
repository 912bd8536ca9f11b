/* eval/prd.c — k-nearest-neighbour radii and improved precision and
 * recall (Kynkäänniemi et al. 2019) over tiles of pairwise distances
 * (dg/metrics.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dg/metrics.h"
#include "dg/error.h"
#include "eval/gram.h"

/* Tiles of rows × columns of the distance matrix. */
#define TILE_ROWS 1024
#define TILE_COLS 2048

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ‖x_i‖² of n rows. */
static double *sq_norms(const float *x, uint64_t n, unsigned d)
{
	double *s = malloc((n ? n : 1) * sizeof *s);
	for (uint64_t i = 0; s && i < n; i++) {
		double v = 0;
		for (unsigned j = 0; j < d; j++)
			v += (double)x[i * d + j] * x[i * d + j];
		s[i] = v;
	}
	return s;
}

static int check_finite(const float *x, uint64_t n, unsigned d, const char *what)
{
	for (uint64_t i = 0; i < n * d; i++)
		if (!isfinite(x[i]))
			return dg_error(DG_EDATA, "%s: feature %llu of row %llu is %g", what,
					(unsigned long long)(i % d), (unsigned long long)(i / d), x[i]);
	return DG_OK;
}

/* Inserts v into the ascending list best[0..k) if it is smaller than the
 * last. */
static void insert(double *best, unsigned k, double v)
{
	if (v >= best[k - 1])
		return;
	unsigned i = k - 1;
	while (i > 0 && best[i - 1] > v) {
		best[i] = best[i - 1];
		i--;
	}
	best[i] = v;
}

int dg_knn_radii(const float *x, uint64_t n, unsigned d, unsigned k, float *radii)
{
	if (k == 0 || n <= k)
		return dg_error(DG_EDATA, "k-NN radii with k=%u need more than %u images, got %llu",
				k, k, (unsigned long long)n);
	int st = check_finite(x, n, d, "k-NN radii");
	if (st)
		return st;
	uint64_t tr = min64(TILE_ROWS, n), tc = min64(TILE_COLS, n);
	struct dg_gram *g = NULL;
	double *norm = sq_norms(x, n, d), *best = malloc(n * k * sizeof *best);
	float *dots = malloc(tr * tc * sizeof *dots);
	st = !norm || !best || !dots ? dg_error_nomem("k-NN radii", tr * tc * 4)
				     : dg__gram_new(tr, tc, d, &g);
	for (uint64_t i = 0; !st && i < n * k; i++)
		best[i] = INFINITY;
	for (uint64_t c0 = 0; !st && c0 < n; c0 += tc) {
		uint64_t nc = min64(tc, n - c0);
		if ((st = dg__gram_set_b(g, x + c0 * d, nc)))
			break;
		for (uint64_t r0 = 0; !st && r0 < n; r0 += tr) {
			uint64_t nr = min64(tr, n - r0);
			if ((st = dg__gram_run(g, x + r0 * d, nr, dots)))
				break;
			for (uint64_t i = 0; i < nr; i++)
				for (uint64_t j = 0; j < nc; j++) {
					if (r0 + i == c0 + j)
						continue;
					double d2 = norm[r0 + i] + norm[c0 + j] - 2.0 * dots[i * nc + j];
					insert(best + (r0 + i) * k, k, d2 > 0 ? d2 : 0);
				}
		}
	}
	for (uint64_t i = 0; !st && i < n; i++)
		radii[i] = (float)sqrt(best[i * k + k - 1]);
	dg__gram_free(g);
	free(norm);
	free(best);
	free(dots);
	return st;
}

int dg_precision_recall(const float *r, const float *r_radii, uint64_t nr, const float *g,
			const float *g_radii, uint64_t ng, unsigned d, double *precision,
			double *recall)
{
	if (!nr || !ng)
		return dg_error(DG_EDATA, "precision and recall need images in both sets");
	int st = check_finite(r, nr, d, "precision and recall");
	if (!st)
		st = check_finite(g, ng, d, "precision and recall");
	if (st)
		return st;
	uint64_t tr = min64(TILE_ROWS, ng), tc = min64(TILE_COLS, nr);
	struct dg_gram *gr = NULL;
	double *rn = sq_norms(r, nr, d), *gn = sq_norms(g, ng, d);
	unsigned char *in_real = calloc(ng, 1), *in_gen = calloc(nr, 1);
	float *dots = malloc(tr * tc * sizeof *dots);
	st = !rn || !gn || !in_real || !in_gen || !dots ? dg_error_nomem("precision and recall",
									  tr * tc * 4)
							: dg__gram_new(tr, tc, d, &gr);
	for (uint64_t c0 = 0; !st && c0 < nr; c0 += tc) {
		uint64_t nc = min64(tc, nr - c0);
		if ((st = dg__gram_set_b(gr, r + c0 * d, nc)))
			break;
		for (uint64_t r0 = 0; !st && r0 < ng; r0 += tr) {
			uint64_t nrow = min64(tr, ng - r0);
			if ((st = dg__gram_run(gr, g + r0 * d, nrow, dots)))
				break;
			for (uint64_t i = 0; i < nrow; i++) {
				double gi = gn[r0 + i], rad_g = g_radii[r0 + i];
				for (uint64_t j = 0; j < nc; j++) {
					double d2 = gi + rn[c0 + j] - 2.0 * dots[i * nc + j];
					double rad_r = r_radii[c0 + j];
					if (d2 <= rad_r * rad_r)
						in_real[r0 + i] = 1;
					if (d2 <= rad_g * rad_g)
						in_gen[c0 + j] = 1;
				}
			}
		}
	}
	if (!st) {
		uint64_t p = 0, q = 0;
		for (uint64_t i = 0; i < ng; i++)
			p += in_real[i];
		for (uint64_t j = 0; j < nr; j++)
			q += in_gen[j];
		*precision = (double)p / (double)ng;
		*recall = (double)q / (double)nr;
	}
	dg__gram_free(gr);
	free(rn);
	free(gn);
	free(in_real);
	free(in_gen);
	free(dots);
	return st;
}
