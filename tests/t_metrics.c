/* t_metrics.c — dg/metrics.h against double and long double references
 * written here from the definitions: the Jacobi eigendecomposition on
 * matrices of known spectrum (clustered, zero and tiny eigenvalues
 * included), the PSD square root, tr √(AB) against a Denman-Beavers
 * iteration in long double on the non-symmetric product, FID in closed
 * forms, KID, the Inception Score, k-NN radii, precision and recall and
 * AUROC against brute-force loops; the images' fingerprint, the cache's
 * round trip, and the refusals (never a NaN as a result). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg.h"
#include "tap.h"

/* ---- helpers -------------------------------------------------------------------- */

static double *normals(uint64_t seed, size_t n)
{
	float *f = malloc(n * sizeof *f);
	double *d = malloc(n * sizeof *d);
	dg_rng_normal(seed, 7, 0, f, n);
	for (size_t i = 0; i < n; i++)
		d[i] = f[i];
	free(f);
	return d;
}

/* A random orthogonal n×n matrix: a product of n Householder reflections
 * I - 2vvᵀ/vᵀv of normal vectors. */
static double *orthogonal(unsigned n, uint64_t seed)
{
	double *q = calloc((size_t)n * n, sizeof *q), *t = malloc((size_t)n * n * sizeof *t);
	for (unsigned i = 0; i < n; i++)
		q[i * n + i] = 1;
	for (unsigned r = 0; r < n; r++) {
		double *v = normals(seed * 1000 + r, n), vv = 0;
		for (unsigned i = 0; i < n; i++)
			vv += v[i] * v[i];
		/* q := q·(I - 2vvᵀ/vv) */
		for (unsigned i = 0; i < n; i++) {
			double qv = 0;
			for (unsigned k = 0; k < n; k++)
				qv += q[i * n + k] * v[k];
			for (unsigned j = 0; j < n; j++)
				t[i * n + j] = q[i * n + j] - 2 * qv * v[j] / vv;
		}
		memcpy(q, t, (size_t)n * n * sizeof *q);
		free(v);
	}
	free(t);
	return q;
}

/* Q·diag(l)·Qᵀ. */
static double *with_spectrum(unsigned n, const double *q, const double *l)
{
	double *a = malloc((size_t)n * n * sizeof *a);
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++) {
			long double s = 0;
			for (unsigned k = 0; k < n; k++)
				s += (long double)q[i * n + k] * l[k] * q[j * n + k];
			a[i * n + j] = (double)s;
		}
	return a;
}

/* A random covariance-like SPD matrix: G·Gᵀ/m + eps·I for G n×m normal. */
static double *random_spd(unsigned n, unsigned m, double eps, uint64_t seed)
{
	double *g = normals(seed, (size_t)n * m), *a = malloc((size_t)n * n * sizeof *a);
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++) {
			double s = 0;
			for (unsigned k = 0; k < m; k++)
				s += g[i * m + k] * g[j * m + k];
			a[i * n + j] = s / m + (i == j ? eps : 0);
		}
	free(g);
	return a;
}

static double maxabs(const double *a, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs(a[i]));
	return m;
}

/* ---- long double reference: √M of a matrix with positive real spectrum by
 * the Denman-Beavers iteration Y ← (Y + Z⁻¹)/2, Z ← (Z + Y⁻¹)/2 ------------ */

typedef long double ld;

static int invert(unsigned n, const ld *a, ld *inv)
{
	ld *m = malloc((size_t)n * 2 * n * sizeof *m);
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < 2 * n; j++)
			m[i * 2 * n + j] = j < n ? a[i * n + j] : (j - n == i);
	for (unsigned c = 0; c < n; c++) {
		unsigned p = c;
		for (unsigned r = c + 1; r < n; r++)
			if (fabsl(m[r * 2 * n + c]) > fabsl(m[p * 2 * n + c]))
				p = r;
		if (m[p * 2 * n + c] == 0) {
			free(m);
			return -1;
		}
		for (unsigned j = 0; j < 2 * n; j++) {
			ld t = m[c * 2 * n + j];
			m[c * 2 * n + j] = m[p * 2 * n + j];
			m[p * 2 * n + j] = t;
		}
		ld piv = m[c * 2 * n + c];
		for (unsigned j = 0; j < 2 * n; j++)
			m[c * 2 * n + j] /= piv;
		for (unsigned r = 0; r < n; r++)
			if (r != c) {
				ld f = m[r * 2 * n + c];
				for (unsigned j = 0; j < 2 * n; j++)
					m[r * 2 * n + j] -= f * m[c * 2 * n + j];
			}
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++)
			inv[i * n + j] = m[i * 2 * n + n + j];
	free(m);
	return 0;
}

/* tr √(A·B) in long double. */
static double ref_trace_sqrt(unsigned n, const double *a, const double *b)
{
	size_t nn = (size_t)n * n;
	ld *y = calloc(nn, sizeof *y), *z = calloc(nn, sizeof *z);
	ld *yi = malloc(nn * sizeof *yi), *zi = malloc(nn * sizeof *zi);
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++) {
			ld s = 0;
			for (unsigned k = 0; k < n; k++)
				s += (ld)a[i * n + k] * b[k * n + j];
			y[i * n + j] = s;
			z[i * n + j] = i == j;
		}
	for (int it = 0; it < 100; it++) {
		if (invert(n, y, yi) || invert(n, z, zi))
			break;
		ld change = 0;
		for (size_t i = 0; i < nn; i++) {
			ld ny = (y[i] + zi[i]) / 2, nz = (z[i] + yi[i]) / 2;
			change = fmaxl(change, fabsl(ny - y[i]));
			y[i] = ny;
			z[i] = nz;
		}
		if (change < 1e-17L)
			break;
	}
	ld tr = 0;
	for (unsigned i = 0; i < n; i++)
		tr += y[i * n + i];
	free(y);
	free(z);
	free(yi);
	free(zi);
	return (double)tr;
}

/* ---- eigendecomposition ---------------------------------------------------------- */

static void test_eigh(unsigned n, const double *l, const char *what, uint64_t seed, int psd)
{
	double *q = orthogonal(n, seed), *a = with_spectrum(n, q, l);
	double *w = malloc(n * sizeof *w), *v = malloc((size_t)n * n * sizeof *v);
	double *sorted = malloc(n * sizeof *sorted);
	memcpy(sorted, l, n * sizeof *sorted);
	for (unsigned i = 1; i < n; i++) /* insertion sort, ascending */
		for (unsigned j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			double t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	int st = dg_eigh(n, a, w, v);
	double scale = maxabs(l, n), werr = 0, rerr = 0, oerr = 0;
	for (unsigned i = 0; i < n; i++)
		werr = fmax(werr, fabs(w[i] - sorted[i]));
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++) {
			double av = 0, vtv = 0;
			for (unsigned k = 0; k < n; k++) {
				av += a[i * n + k] * v[k * n + j];
				vtv += v[k * n + i] * v[k * n + j];
			}
			rerr = fmax(rerr, fabs(av - v[i * n + j] * w[j]));
			oerr = fmax(oerr, fabs(vtv - (i == j)));
		}
	ok(!st && werr <= 64 * n * 1e-16 * scale,
	   "eigh %s (n=%u): eigenvalues within %.2g of the spectrum (%.2g of its largest)", what,
	   n, werr, werr / scale);
	ok(!st && rerr <= 64 * n * 1e-16 * scale && oerr <= 64 * n * 1e-16,
	   "  A·V = V·diag(w) within %.2g, VᵀV = I within %.2g", rerr, oerr);
	/* the square root of a PSD matrix squares back to it */
	double *s = malloc((size_t)n * n * sizeof *s);
	st = psd ? dg_sqrtm_psd(n, a, s) : -1;
	double serr = 0;
	for (unsigned i = 0; i < n && !st; i++)
		for (unsigned j = 0; j < n; j++) {
			double ss = 0;
			for (unsigned k = 0; k < n; k++)
				ss += s[i * n + k] * s[k * n + j];
			serr = fmax(serr, fabs(ss - a[i * n + j]));
		}
	if (psd)
		ok(!st && serr <= 64 * n * 1e-16 * scale, "  sqrtm(A)² = A within %.2g", serr);
	free(q);
	free(a);
	free(w);
	free(v);
	free(sorted);
	free(s);
}

static void test_linalg(void)
{
	double l[64];
	for (unsigned i = 0; i < 64; i++)
		l[i] = pow(10, 3 - 11.0 * i / 63); /* 1e3 down to 1e-8 */
	test_eigh(64, l, "spread over 11 decades", 1, 1);
	for (unsigned i = 0; i < 40; i++) /* clusters and exact zeros */
		l[i] = i < 10 ? 0 : i < 20 ? 1 : i < 30 ? 1 + 1e-12 * i : 5;
	test_eigh(40, l, "with repeated, clustered and zero eigenvalues", 2, 1);
	for (unsigned i = 0; i < 16; i++) /* indefinite: Jacobi is not PSD-only */
		l[i] = i % 2 ? -(double)i : (double)i;
	test_eigh(16, l, "indefinite", 3, 0);
	double one = 4, w1, s1;
	ok(!dg_eigh(1, &one, &w1, NULL) && w1 == 4 && !dg_sqrtm_psd(1, &one, &s1) && s1 == 2,
	   "1x1: eigenvalue 4, square root 2");
	double bad[4] = {1, NAN, NAN, 1}, w[2];
	is_int(dg_eigh(2, bad, w, NULL), DG_EDATA, "a NaN entry is refused");

	/* tr √(AB) against Denman-Beavers in long double, on covariance-like
	 * matrices (one of them nearly singular: rank 10 of 24 plus 1e-6·I) */
	struct {
		unsigned n, ma, mb;
		double eps;
	} cases[] = {{12, 40, 30, 0.1}, {24, 10, 200, 1e-6}, {48, 200, 300, 1e-3}};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		unsigned n = cases[c].n;
		double *a = random_spd(n, cases[c].ma, cases[c].eps, 10 + c);
		double *b = random_spd(n, cases[c].mb, 0.05, 20 + c), got = NAN;
		double want = ref_trace_sqrt(n, a, b);
		int st = dg_trace_sqrt_product(n, a, b, &got);
		ok(!st && fabs(got - want) <= 1e-10 * fabs(want),
		   "tr sqrt(AB), n=%u: %.15g, Denman-Beavers in long double %.15g (rel. %.2g)", n,
		   got, want, fabs(got - want) / fabs(want));
		free(a);
		free(b);
	}
	/* 2×2: tr √M = √(tr M + 2√det M) for M with non-negative eigenvalues */
	double a2[4] = {2, 1, 1, 3}, b2[4] = {1, -0.5, -0.5, 4}, m[4], got;
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			m[i * 2 + j] = a2[i * 2] * b2[j] + a2[i * 2 + 1] * b2[2 + j];
	double want = sqrt(m[0] + m[3] + 2 * sqrt(m[0] * m[3] - m[1] * m[2]));
	int st = dg_trace_sqrt_product(2, a2, b2, &got);
	ok(!st && fabs(got - want) < 1e-14 * want,
	   "2x2: tr sqrt(AB) = sqrt(tr + 2 sqrt(det)) = %.15g (got %.15g)", want, got);
}

/* ---- FID ---------------------------------------------------------------------------- */

static void test_fid(void)
{
	enum { N = 3000, D = 8 };
	float *x = malloc(N * D * sizeof *x), *y = malloc(N * D * sizeof *y);
	dg_rng_normal(1, 1, 0, x, N * D);
	dg_rng_normal(2, 1, 0, y, N * D);
	/* x ~ N(0, diag(s²)), y ~ N(1, diag(t²)) in distribution */
	for (int i = 0; i < N; i++)
		for (int j = 0; j < D; j++) {
			x[i * D + j] *= (float)(1 + j);
			y[i * D + j] = y[i * D + j] * (float)(2 + 0.5 * j) + 1;
		}
	struct dg_gauss a, b;
	int st = dg_gauss_fit(x, N, D, &a) || dg_gauss_fit(y, N, D, &b);
	/* the fit against long double sums */
	double merr = 0, cerr = 0;
	for (int j = 0; j < D && !st; j++) {
		ld m = 0;
		for (int i = 0; i < N; i++)
			m += x[i * D + j];
		m /= N;
		merr = fmax(merr, fabs((double)m - a.mean[j]));
		for (int k = 0; k < D; k++) {
			ld mk = 0, c = 0;
			for (int i = 0; i < N; i++)
				mk += x[i * D + k];
			mk /= N;
			for (int i = 0; i < N; i++)
				c += (x[i * D + j] - m) * (x[i * D + k] - mk);
			c /= N - 1;
			cerr = fmax(cerr, fabs((double)c - a.cov[j * D + k]) / fmax(1, fabsl(c)));
		}
	}
	ok(!st && merr < 1e-12 && cerr < 1e-12,
	   "Gaussian fit: mean within %.2g, unbiased covariance within %.2g of long double", merr,
	   cerr);
	/* FID of the fits against the definition with diagonal-free matrices
	 * computed by the reference tr √(Σ₁Σ₂) */
	double fid = NAN, fid2 = NAN, self = NAN;
	st = st || dg_fid(&a, &b, &fid) || dg_fid(&b, &a, &fid2) || dg_fid(&a, &a, &self);
	double want = 0;
	for (int j = 0; j < D && !st; j++) {
		double dm = a.mean[j] - b.mean[j];
		want += dm * dm + a.cov[j * D + j] + b.cov[j * D + j];
	}
	want -= st ? 0 : 2 * ref_trace_sqrt(D, a.cov, b.cov);
	ok(!st && fabs(fid - want) < 1e-10 * want, "FID %.12g = the definition with a long "
	   "double tr sqrt (%.12g)", fid, want);
	ok(!st && fabs(fid - fid2) < 1e-10 * fid, "  symmetric (%.12g)", fid2);
	ok(!st && self >= 0 && self < 1e-9, "  FID of a fit with itself: %.2g", self);
	/* in distribution: Σ (1 + (s - t)²) over j (means differ by 1) */
	double pop = 0;
	for (int j = 0; j < D; j++)
		pop += 1 + pow((1 + j) - (2 + 0.5 * j), 2);
	ok(!st && fabs(fid - pop) < 0.05 * pop, "  near the population value %.2f (sampling "
	   "error of %d draws)", pop, N);
	dg_gauss_free(&a);
	dg_gauss_free(&b);

	/* refusals: no more rows than features; non-finite features */
	struct dg_gauss s;
	st = dg_gauss_fit(x, D, D, &s);
	double v = 123;
	ok(!st && dg_fid(&s, &s, &v) == DG_EDATA && v == 123 &&
	   strstr(dg_errmsg(), "more images than feature dimensions"),
	   "FID of %d rows of %d features is refused: %s", D, D, dg_errmsg());
	dg_gauss_free(&s);
	x[5] = NAN;
	is_int(dg_gauss_fit(x, N, D, &s), DG_EDATA, "a NaN feature is refused: %s", dg_errmsg());
	is_int(dg_gauss_fit(y, 1, D, &s), DG_EDATA, "one row is refused");
	free(x);
	free(y);
}

/* ---- KID ---------------------------------------------------------------------------- */

static double ref_kid_subset(const float *x, const float *y, const uint64_t *px,
			     const uint64_t *py, uint64_t m, unsigned d)
{
	double kxx = 0, kyy = 0, kxy = 0;
	for (uint64_t i = 0; i < m; i++)
		for (uint64_t j = 0; j < m; j++) {
			double dxx = 0, dyy = 0, dxy = 0;
			for (unsigned k = 0; k < d; k++) {
				dxx += (double)x[px[i] * d + k] * x[px[j] * d + k];
				dyy += (double)y[py[i] * d + k] * y[py[j] * d + k];
				dxy += (double)x[px[i] * d + k] * y[py[j] * d + k];
			}
			if (i != j) {
				kxx += pow(dxx / d + 1, 3);
				kyy += pow(dyy / d + 1, 3);
			}
			kxy += pow(dxy / d + 1, 3);
		}
	return (kxx + kyy) / (m * (m - 1.0)) - 2 * kxy / ((double)m * m);
}

static void test_kid(void)
{
	enum { NX = 300, NY = 250, D = 16, M = 100, S = 5 };
	float *x = malloc(NX * D * sizeof *x), *y = malloc(NY * D * sizeof *y);
	dg_rng_normal(3, 1, 0, x, NX * D);
	dg_rng_normal(4, 1, 0, y, NY * D);
	for (int i = 0; i < NY * D; i++)
		y[i] = 1.5f * y[i] + 0.3f;
	struct dg_kid_options o = {.subsets = S, .subset_size = M, .seed = 11};
	double mean = NAN, sd = NAN, v[S], rm = 0, rs = 0;
	int st = dg_kid(x, NX, y, NY, D, &o, &mean, &sd);
	uint64_t px[NX], py[NY];
	for (int s = 0; s < S; s++) {
		dg_dataset_permutation(NX, 11, 2 * s, px);
		dg_dataset_permutation(NY, 11, 2 * s + 1, py);
		v[s] = ref_kid_subset(x, y, px, py, M, D);
		rm += v[s] / S;
	}
	for (int s = 0; s < S; s++)
		rs += (v[s] - rm) * (v[s] - rm) / S;
	rs = sqrt(rs);
	ok(!st && fabs(mean - rm) < 1e-5 * fabs(rm) + 1e-7 && fabs(sd - rs) < 1e-4 * rs + 1e-7,
	   "KID %.8f ± %.8f = the double reference %.8f ± %.8f (same subsets)", mean, sd, rm, rs);
	double same = NAN, same_sd = NAN;
	st = dg_kid(x, 150, x + 150 * D, 150, D, &(struct dg_kid_options){.subsets = 50, .subset_size = 50}, &same,
		    &same_sd);
	ok(!st && same_sd > 0 && fabs(same) < 3 * same_sd && mean > 10 * fabs(same),
	   "KID of two halves of one sample: %.5f ± %.5f, near 0 against %.4f", same, same_sd,
	   mean);
	double keep = 7;
	ok(dg_kid(x, 1, y, NY, D, NULL, &keep, &sd) == DG_EDATA && keep == 7,
	   "KID of 1 image is refused");
	free(x);
	free(y);
}

/* ---- Inception Score ----------------------------------------------------------------- */

static void test_is(void)
{
	enum { N = 1000, K = 10 };
	float *p = calloc(N * K, sizeof *p);
	double m = NAN, s = NAN;
	for (int i = 0; i < N; i++) /* confident and balanced: IS = K */
		p[i * K + i % K] = 1;
	int st = dg_inception_score(p, N, K, 10, &m, &s);
	ok(!st && fabs(m - K) < 1e-9 && s < 1e-9, "IS of confident, balanced predictions: %.6f "
	   "(the number of classes) ± %.2g", m, s);
	for (int i = 0; i < N * K; i++) /* uniform predictions: IS = 1 */
		p[i] = 1.0f / K;
	st = dg_inception_score(p, N, K, 10, &m, &s);
	ok(!st && fabs(m - 1) < 1e-6, "IS of uniform predictions: %.6f", m);
	/* random distributions against a direct double computation */
	float *u = malloc(N * K * sizeof *u);
	dg_rng_uniform(5, 0, 0, u, N * K);
	for (int i = 0; i < N; i++) {
		double sum = 0;
		for (int k = 0; k < K; k++)
			sum += (u[i * K + k] = powf(u[i * K + k], 4));
		for (int k = 0; k < K; k++)
			p[i * K + k] = (float)(u[i * K + k] / sum);
	}
	double ref[3], rm = 0, rs = 0;
	for (int sp = 0; sp < 3; sp++) {
		int b = N * sp / 3, e = N * (sp + 1) / 3;
		double py[K] = {0}, kl = 0;
		for (int i = b; i < e; i++)
			for (int k = 0; k < K; k++)
				py[k] += p[i * K + k] / (double)(e - b);
		for (int i = b; i < e; i++)
			for (int k = 0; k < K; k++)
				kl += p[i * K + k] * log(p[i * K + k] / py[k]);
		ref[sp] = exp(kl / (e - b));
		rm += ref[sp] / 3;
	}
	for (int sp = 0; sp < 3; sp++)
		rs += (ref[sp] - rm) * (ref[sp] - rm) / 3;
	rs = sqrt(rs);
	st = dg_inception_score(p, N, K, 3, &m, &s);
	ok(!st && fabs(m - rm) < 1e-9 * rm && fabs(s - rs) < 1e-7 * rm + 1e-12,
	   "IS over 3 splits %.9f ± %.9f = the reference %.9f ± %.9f", m, s, rm, rs);
	p[3] = 0.5f; /* a row that no longer sums to 1 */
	is_int(dg_inception_score(p, N, K, 3, &m, &s), DG_EDATA, "a row not summing to 1: %s",
	       dg_errmsg());
	is_int(dg_inception_score(p, 5, K, 10, &m, &s), DG_EDATA, "fewer images than splits");
	free(p);
	free(u);
}

/* ---- precision and recall ------------------------------------------------------------- */

static double dist(const float *a, const float *b, unsigned d)
{
	double s = 0;
	for (unsigned k = 0; k < d; k++)
		s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
	return sqrt(s);
}

static void ref_radii(const float *x, int n, unsigned d, unsigned k, double *r)
{
	double *all = malloc(n * sizeof *all);
	for (int i = 0; i < n; i++) {
		int m = 0;
		for (int j = 0; j < n; j++)
			if (j != i)
				all[m++] = dist(x + i * d, x + j * d, d);
		for (unsigned s = 0; s < k; s++) /* partial selection sort */
			for (int j = s + 1; j < m; j++)
				if (all[j] < all[s]) {
					double t = all[s];
					all[s] = all[j];
					all[j] = t;
				}
		r[i] = all[k - 1];
	}
	free(all);
}

static void test_pr(void)
{
	/* more rows than one tile (1024 x 2048) so that tiles are crossed */
	enum { NR = 2100, NG = 1300, D = 6, K = 3 };
	float *r = malloc(NR * D * sizeof *r), *g = malloc(NG * D * sizeof *g);
	dg_rng_normal(6, 1, 0, r, NR * D);
	dg_rng_normal(7, 1, 0, g, NG * D);
	for (int i = 0; i < NG * D; i++) /* shifted and narrower: some outside */
		g[i] = 0.7f * g[i] + (i % D == 0 ? 1.0f : 0.0f);
	memcpy(r + 10 * D, r + 20 * D, D * sizeof *r); /* a duplicate row */
	float *rr = malloc(NR * sizeof *rr), *gr = malloc(NG * sizeof *gr);
	double *wr = malloc(NR * sizeof *wr), *wg = malloc(NG * sizeof *wg), err = 0;
	int st = dg_knn_radii(r, NR, D, K, rr) || dg_knn_radii(g, NG, D, K, gr);
	ref_radii(r, NR, D, K, wr);
	ref_radii(g, NG, D, K, wg);
	for (int i = 0; i < NR; i++)
		err = fmax(err, fabs(rr[i] - wr[i]) / wr[i]);
	for (int i = 0; i < NG; i++)
		err = fmax(err, fabs(gr[i] - wg[i]) / wg[i]);
	ok(!st && err < 1e-4, "k-NN radii (k=%d) of %d and %d rows against brute force in double "
	   "(rel. %.2g)", K, NR, NG, err);
	double p = NAN, q = NAN, wp = 0, wq = 0;
	st = dg_precision_recall(r, rr, NR, g, gr, NG, D, &p, &q);
	for (int i = 0; i < NG; i++)
		for (int j = 0; j < NR; j++)
			if (dist(g + i * D, r + j * D, D) <= wr[j]) {
				wp += 1.0 / NG;
				break;
			}
	for (int j = 0; j < NR; j++)
		for (int i = 0; i < NG; i++)
			if (dist(g + i * D, r + j * D, D) <= wg[i]) {
				wq += 1.0 / NR;
				break;
			}
	/* a point exactly on a radius may fall either way in f32: allow a few */
	ok(!st && fabs(p - wp) <= 3.0 / NG && fabs(q - wq) <= 3.0 / NR,
	   "precision %.4f and recall %.4f = brute force %.4f and %.4f", p, q, wp, wq);
	ok(!st && p > 0.3 && p < 0.99 && q > 0.3 && q < 0.99, "  both between 0 and 1 here");
	st = dg_precision_recall(r, rr, NR, r, rr, NR, D, &p, &q);
	ok(!st && p == 1 && q == 1, "a set against itself: precision 1, recall 1");
	ok(dg_knn_radii(r, K, D, K, rr) == DG_EDATA, "radii of k rows are refused");
	free(r);
	free(g);
	free(rr);
	free(gr);
	free(wr);
	free(wg);
}

/* ---- AUROC ---------------------------------------------------------------------------- */

static void test_auroc(void)
{
	enum { N = 500 };
	double s[N];
	unsigned char pos[N];
	float u[N];
	dg_rng_uniform(8, 0, 0, u, N);
	for (int i = 0; i < N; i++) {
		pos[i] = i % 5 == 0;
		/* rounded to tenths: many ties */
		s[i] = round(10 * (u[i] + (pos[i] ? 0.3 : 0))) / 10;
	}
	double auc = NAN, want = 0, np = 0, nn = 0;
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			if (pos[i] && !pos[j])
				want += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
	for (int i = 0; i < N; i++)
		pos[i] ? np++ : nn++;
	want /= np * nn;
	int st = dg_auroc(s, pos, N, &auc);
	ok(!st && fabs(auc - want) < 1e-12,
	   "AUROC with ties %.6f = pair counting %.6f", auc, want);
	for (int i = 0; i < N; i++)
		s[i] = pos[i] ? 2 + i : i % 2;
	ok(!dg_auroc(s, pos, N, &auc) && auc == 1, "separated: 1");
	for (int i = 0; i < N; i++)
		s[i] = -s[i];
	ok(!dg_auroc(s, pos, N, &auc) && auc == 0, "reversed: 0");
	for (int i = 0; i < N; i++)
		s[i] = 1;
	ok(!dg_auroc(s, pos, N, &auc) && auc == 0.5, "all tied: 0.5");
	memset(pos, 0, sizeof pos);
	is_int(dg_auroc(s, pos, N, &auc), DG_EDATA, "no positives: refused");
}

/* ---- fingerprints and the cache ------------------------------------------------------------ */

static void test_cache(void)
{
	enum { N = 300, C = 1, H = 4, W = 4, D = 5, K = 3 };
	float x[N * C * H * W];
	dg_rng_uniform(9, 0, 0, x, N * C * H * W);
	struct dg_image_hash a, b;
	dg_image_hash_init(&a);
	dg_image_hash_add(&a, x, N, C, H, W);
	dg_image_hash_init(&b);
	dg_image_hash_add(&b, x, 7, C, H, W);
	dg_image_hash_add(&b, x + 7 * 16, N - 7, C, H, W);
	uint64_t ha = dg_image_hash_end(&a);
	ok(ha == dg_image_hash_end(&b), "the images' fingerprint does not depend on batches");
	x[100] += 1.0f / 255;
	dg_image_hash_init(&b);
	dg_image_hash_add(&b, x, N, C, H, W);
	ok(ha != dg_image_hash_end(&b), "  and changes with one pixel");
	dg_image_hash_init(&b);
	dg_image_hash_add(&b, x, N, C, W, H * 1);
	dg_image_hash_init(&a);
	dg_image_hash_add(&a, x, N / 2, C, H, 2 * W);
	ok(dg_image_hash_end(&a) != dg_image_hash_end(&b), "  and with the shape");

	struct dg_featset *fs = calloc(1, sizeof *fs), *back = NULL;
	fs->n = N;
	fs->dim = D;
	fs->classes = K;
	fs->channels = C;
	fs->height = H;
	fs->width = W;
	fs->fingerprint = ha;
	fs->features = malloc(N * D * sizeof(float));
	fs->probs = malloc(N * K * sizeof(float));
	dg_rng_normal(10, 0, 0, fs->features, N * D);
	for (int i = 0; i < N * K; i++)
		fs->probs[i] = 1.0f / K;
	char dir[] = "/tmp/t_metrics.XXXXXX", ext[300], path[400];
	ok(mkdtemp(dir) != NULL, "a scratch folder");
	snprintf(ext, sizeof ext, "%s/clf.dgm", dir);
	int st = dg_featset_radii(fs, 3) || dg_featset_gauss(fs) ||
		 dg_featset_cache_path(ext, 0x1234, ha, path, sizeof path) ||
		 dg_featset_cache_save(path, 0x1234, fs);
	ok(!st && strstr(path, ".ref-0000000000001234-"), "cache saved beside the extractor: %s",
	   path);
	st = dg_featset_cache_load(path, 0x1234, ha, &back);
	ok(!st && back->n == N && back->dim == D && back->classes == K && back->radii_k == 3 &&
	   back->gauss.count == N && !memcmp(back->features, fs->features, N * D * 4) &&
	   !memcmp(back->radii, fs->radii, N * 4) &&
	   !memcmp(back->gauss.cov, fs->gauss.cov, D * D * 8) && back->height == H,
	   "  read back: features, probabilities, radii, fit, shape");
	dg_featset_free(back);
	is_int(dg_featset_cache_load(path, 0x1235, ha, &back), DG_EDATA,
	       "  another extractor's fingerprint: refused");
	snprintf(path + strlen(path) - 6, 7, "x.dgs");
	is_int(dg_featset_cache_load(path, 0x1234, ha, &back), DG_ENOINPUT, "  no file: ENOINPUT");
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd))
		diag("could not remove %s", dir);
	dg_featset_free(fs);
}

int main(void)
{
	test_linalg();
	test_fid();
	test_kid();
	test_is();
	test_pr();
	test_auroc();
	test_cache();
	return done_testing();
}
