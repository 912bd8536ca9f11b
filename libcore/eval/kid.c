/* eval/kid.c — the Kernel Inception Distance: the unbiased MMD² under a
 * cubic polynomial kernel, averaged over random subsets (dg/metrics.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dg/metrics.h"
#include "dg/error.h"
#include "eval/gram.h"

#define DEFAULT_SUBSETS 100
#define DEFAULT_SUBSET_SIZE 1000

/* Σ k(a_i, b_j) over the m×m tile of dot products, k(u) = (u/d + 1)³,
 * without the diagonal when off_diagonal is set. */
static double kernel_sum(const float *dots, uint64_t m, unsigned d, int off_diagonal)
{
	double s = 0;
	for (uint64_t i = 0; i < m; i++) {
		double row = 0;
		for (uint64_t j = 0; j < m; j++) {
			if (off_diagonal && i == j)
				continue;
			double u = (double)dots[i * m + j] / d + 1;
			row += u * u * u;
		}
		s += row;
	}
	return s;
}

/* Rows of x (n×d) chosen by the first m entries of a permutation. */
static int pick(const float *x, uint64_t n, unsigned d, uint64_t m, uint64_t seed,
		uint64_t which, uint64_t *perm, float *out)
{
	int st = dg_dataset_permutation(n, seed, which, perm);
	for (uint64_t i = 0; !st && i < m; i++)
		memcpy(out + i * d, x + perm[i] * d, d * sizeof *out);
	return st;
}

int dg_kid(const float *x, uint64_t nx, const float *y, uint64_t ny, unsigned d,
	   const struct dg_kid_options *opt, double *mean, double *std)
{
	static const struct dg_kid_options defaults;
	if (!opt)
		opt = &defaults;
	unsigned subsets = opt->subsets ? opt->subsets : DEFAULT_SUBSETS;
	uint64_t m = opt->subset_size ? opt->subset_size : DEFAULT_SUBSET_SIZE;
	if (nx < 2 || ny < 2)
		return dg_error(DG_EDATA, "KID needs at least 2 images in each set (%llu and %llu)",
				(unsigned long long)nx, (unsigned long long)ny);
	m = m < nx ? m : nx;
	m = m < ny ? m : ny;
	uint64_t most = nx > ny ? nx : ny;
	struct dg_gram *g = NULL;
	float *xs = malloc(m * d * sizeof *xs), *ys = malloc(m * d * sizeof *ys);
	float *k = malloc(m * m * sizeof *k);
	uint64_t *perm = malloc(most * sizeof *perm);
	double *v = malloc(subsets * sizeof *v);
	int st = !xs || !ys || !k || !perm || !v ? dg_error_nomem("KID's subsets", m * m * 4)
						 : dg__gram_new(m, m, d, &g);
	for (unsigned s = 0; !st && s < subsets; s++) {
		double kxx, kyy, kxy;
		if ((st = pick(x, nx, d, m, opt->seed, 2ull * s, perm, xs)) ||
		    (st = pick(y, ny, d, m, opt->seed, 2ull * s + 1, perm, ys)) ||
		    (st = dg__gram_set_b(g, xs, m)) || (st = dg__gram_run(g, xs, m, k)))
			break;
		kxx = kernel_sum(k, m, d, 1);
		if ((st = dg__gram_run(g, ys, m, k)))
			break;
		kxy = kernel_sum(k, m, d, 0);
		if ((st = dg__gram_set_b(g, ys, m)) || (st = dg__gram_run(g, ys, m, k)))
			break;
		kyy = kernel_sum(k, m, d, 1);
		double mm = (double)m;
		v[s] = (kxx + kyy) / (mm * (mm - 1)) - 2 * kxy / (mm * mm);
		if (!isfinite(v[s]))
			st = dg_error(DG_EDATA, "KID: subset %u gives %g (features out of range?)",
				      s, v[s]);
	}
	if (!st) {
		double s1 = 0, s2 = 0;
		for (unsigned s = 0; s < subsets; s++)
			s1 += v[s];
		s1 /= subsets;
		for (unsigned s = 0; s < subsets; s++)
			s2 += (v[s] - s1) * (v[s] - s1);
		*mean = s1;
		*std = sqrt(s2 / subsets);
	}
	dg__gram_free(g);
	free(xs);
	free(ys);
	free(k);
	free(perm);
	free(v);
	return st;
}
