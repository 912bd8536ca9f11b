/* eval/scores.c — the Inception Score of class probabilities and the
 * AUROC of anomaly scores (dg/metrics.h). */
#include <math.h>
#include <stdlib.h>
#include "dg/metrics.h"
#include "dg/error.h"

int dg_inception_score(const float *probs, uint64_t n, unsigned k, unsigned splits,
		       double *mean, double *std)
{
	if (splits == 0 || n < splits)
		return dg_error(DG_EDATA, "Inception Score over %u splits needs at least %u "
				"images, got %llu", splits, splits, (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++) {
		double s = 0;
		for (unsigned c = 0; c < k; c++) {
			float p = probs[i * k + c];
			if (!(p >= 0 && p <= 1))
				return dg_error(DG_EDATA, "probability %u of image %llu is %g", c,
						(unsigned long long)i, p);
			s += p;
		}
		if (fabs(s - 1) > 1e-3)
			return dg_error(DG_EDATA, "the probabilities of image %llu sum to %g", 
					(unsigned long long)i, s);
	}
	double *py = malloc((k ? k : 1) * sizeof *py), *score = malloc(splits * sizeof *score);
	if (!py || !score) {
		free(py);
		free(score);
		return dg_error_nomem("the Inception Score", k * sizeof *py);
	}
	for (unsigned s = 0; s < splits; s++) {
		/* part s: rows [n·s/splits, n·(s+1)/splits) */
		uint64_t b = n * s / splits, e = n * (s + 1) / splits;
		for (unsigned c = 0; c < k; c++)
			py[c] = 0;
		for (uint64_t i = b; i < e; i++)
			for (unsigned c = 0; c < k; c++)
				py[c] += probs[i * k + c];
		for (unsigned c = 0; c < k; c++)
			py[c] /= (double)(e - b);
		double kl = 0;
		for (uint64_t i = b; i < e; i++)
			for (unsigned c = 0; c < k; c++) {
				double p = probs[i * k + c];
				if (p > 0) /* 0·log 0 = 0; p > 0 implies py > 0 */
					kl += p * (log(p) - log(py[c]));
			}
		score[s] = exp(kl / (double)(e - b));
	}
	double m = 0, v = 0;
	for (unsigned s = 0; s < splits; s++)
		m += score[s] / splits;
	for (unsigned s = 0; s < splits; s++)
		v += (score[s] - m) * (score[s] - m) / splits;
	*mean = m;
	*std = sqrt(v);
	free(py);
	free(score);
	return DG_OK;
}

struct ranked {
	double s;
	unsigned char pos;
};

static int by_score(const void *a, const void *b)
{
	double x = ((const struct ranked *)a)->s, y = ((const struct ranked *)b)->s;
	return x < y ? -1 : x > y;
}

int dg_auroc(const double *score, const unsigned char *positive, uint64_t n, double *auc)
{
	uint64_t npos = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (!isfinite(score[i]))
			return dg_error(DG_EDATA, "AUROC: the score of image %llu is %g",
					(unsigned long long)i, score[i]);
		npos += positive[i] != 0;
	}
	if (npos == 0 || npos == n)
		return dg_error(DG_EDATA, "AUROC needs images of both kinds: %llu of %llu are "
				"positive", (unsigned long long)npos, (unsigned long long)n);
	struct ranked *r = malloc(n * sizeof *r);
	if (!r)
		return dg_error_nomem("AUROC's ranks", n * sizeof *r);
	for (uint64_t i = 0; i < n; i++)
		r[i] = (struct ranked){score[i], positive[i] != 0};
	qsort(r, n, sizeof *r, by_score);
	/* the sum of the positives' ranks (1-based), ties sharing their mean
	 * rank: the Mann-Whitney U is that sum less npos(npos+1)/2 */
	double rank_sum = 0;
	for (uint64_t i = 0; i < n;) {
		uint64_t j = i, p = 0;
		while (j < n && r[j].s == r[i].s)
			p += r[j++].pos;
		rank_sum += (double)p * ((double)(i + 1) + (double)j) / 2;
		i = j;
	}
	double np = (double)npos, nn = (double)(n - npos);
	*auc = (rank_sum - np * (np + 1) / 2) / (np * nn);
	free(r);
	return DG_OK;
}
