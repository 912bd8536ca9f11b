/* t_latent.c — dg/latent.h: slerp against a double-precision rotation in
 * the plane of the two codes (norm linear, angle linear, endpoints exact,
 * orthogonal, nearly parallel and antiparallel codes, zero codes), lerp
 * and the grid's corners and edges, and the expression parser on good and
 * bad input with its error columns. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dg/error.h"
#include "dg/latent.h"
#include "dg/rng.h"
#include "tap.h"

#define D 37

/* The reference: Gram-Schmidt gives a unit w orthogonal to â in the plane
 * of â and b̂, then u(t) = cos(tθ)â + sin(tθ)w with θ = acos(â·b̂) — a
 * different construction from the library's sine-weight formula. */
static void ref_slerp(double *out, const float *a, const float *b, size_t d, double t)
{
	double na = 0, nb = 0, dot = 0, ww = 0, theta;
	double *w = malloc(d * sizeof *w);
	for (size_t i = 0; i < d; i++) {
		na += (double)a[i] * a[i];
		nb += (double)b[i] * b[i];
	}
	na = sqrt(na);
	nb = sqrt(nb);
	for (size_t i = 0; i < d; i++)
		dot += a[i] / na * (b[i] / nb);
	theta = acos(dot > 1 ? 1 : dot < -1 ? -1 : dot);
	for (size_t i = 0; i < d; i++) {
		w[i] = b[i] / nb - dot * a[i] / na;
		ww += w[i] * w[i];
	}
	ww = sqrt(ww);
	for (size_t i = 0; i < d; i++)
		out[i] = ((1 - t) * na + t * nb) *
			 (cos(t * theta) * a[i] / na + sin(t * theta) * w[i] / ww);
	free(w);
}

static double fnorm(const float *a, size_t d)
{
	double s = 0;
	for (size_t i = 0; i < d; i++)
		s += (double)a[i] * a[i];
	return sqrt(s);
}

static int all_finite(const float *a, size_t d)
{
	for (size_t i = 0; i < d; i++)
		if (!isfinite(a[i]))
			return 0;
	return 1;
}

/* Largest |x - ref| relative to the reference's norm. */
static double rel_err(const float *x, const double *ref, size_t d)
{
	double e = 0, n = 0;
	for (size_t i = 0; i < d; i++) {
		double di = fabs(x[i] - ref[i]);
		e = di > e ? di : e;
		n += ref[i] * ref[i];
	}
	return e / (sqrt(n) > 1e-30 ? sqrt(n) : 1);
}

static void test_slerp_reference(void)
{
	float a[D], b[D], out[D];
	double ref[D], worst = 0, worst_norm = 0, worst_angle = 0;
	const double ts[] = {0.1, 0.25, 0.5, 0.75, 0.9, 1.0 / 3};

	for (unsigned trial = 0; trial < 20; trial++) {
		dg_rng_normal(42, trial, 0, a, D);
		dg_rng_normal(42, trial, 1000, b, D);
		/* unequal norms, so the norm interpolation is exercised */
		for (size_t i = 0; i < D; i++)
			b[i] *= 1.0f + trial * 0.25f;
		double theta = dg_latent_angle(a, b, D), na = fnorm(a, D), nb = fnorm(b, D);
		for (size_t k = 0; k < sizeof ts / sizeof *ts; k++) {
			double t = ts[k], e;
			dg_latent_slerp(out, a, b, D, t);
			ref_slerp(ref, a, b, D, t);
			e = rel_err(out, ref, D);
			worst = e > worst ? e : worst;
			e = fabs(fnorm(out, D) - ((1 - t) * na + t * nb)) / na;
			worst_norm = e > worst_norm ? e : worst_norm;
			e = fabs(dg_latent_angle(a, out, D) - t * theta);
			worst_angle = e > worst_angle ? e : worst_angle;
		}
	}
	ok(worst < 1e-6, "slerp matches the double reference (worst relative %.3g)", worst);
	ok(worst_norm < 1e-6, "the norm moves linearly from |a| to |b| (worst %.3g)", worst_norm);
	ok(worst_angle < 1e-5, "the angle to a is t·θ (worst %.3g rad)", worst_angle);

	dg_latent_slerp(out, a, b, D, 0);
	ok(memcmp(out, a, sizeof a) == 0, "t = 0 gives a exactly");
	dg_latent_slerp(out, a, b, D, 1);
	ok(memcmp(out, b, sizeof b) == 0, "t = 1 gives b exactly");
	memcpy(out, a, sizeof a);
	dg_latent_slerp(out, out, b, D, 0.5);
	ref_slerp(ref, a, b, D, 0.5);
	ok(rel_err(out, ref, D) < 1e-6, "out may alias a");
}

static void test_slerp_cases(void)
{
	float a[D] = {0}, b[D] = {0}, out[D], z[D] = {0};
	double ref[D];

	/* orthogonal unit vectors: a quarter circle, unit norm all along */
	a[0] = 1;
	b[1] = 1;
	dg_latent_slerp(out, a, b, D, 0.5);
	ok(fabs(out[0] - M_SQRT1_2) < 1e-7 && fabs(out[1] - M_SQRT1_2) < 1e-7 &&
	   fabs(fnorm(out, D) - 1) < 1e-7, "orthogonal: the midpoint is (1,1)/√2");
	dg_latent_slerp(out, a, b, D, 1.0 / 3);
	ok(fabs(out[0] - cos(M_PI / 6)) < 1e-7 && fabs(out[1] - sin(M_PI / 6)) < 1e-7,
	   "orthogonal: t = 1/3 is 30 degrees along");
	/* and orthogonal of other norms: norm 2 -> 4, midpoint norm 3 */
	a[0] = 2;
	b[1] = 4;
	dg_latent_slerp(out, a, b, D, 0.5);
	ok(fabs(fnorm(out, D) - 3) < 1e-6 && fabs(out[0] - out[1]) < 1e-6,
	   "orthogonal, norms 2 and 4: midpoint of norm 3 on the diagonal");

	/* antiparallel: a half circle through a fixed perpendicular */
	dg_rng_normal(7, 0, 0, a, D);
	for (size_t i = 0; i < D; i++)
		b[i] = -2 * a[i];
	dg_latent_slerp(out, a, b, D, 0.5);
	ok(all_finite(out, D), "antiparallel: finite");
	ok(fabs(fnorm(out, D) - 1.5 * fnorm(a, D)) < 1e-5 * fnorm(a, D),
	   "antiparallel: the midpoint has the mean norm");
	ok(fabs(dg_latent_angle(a, out, D) - M_PI / 2) < 1e-6,
	   "antiparallel: the midpoint is perpendicular to a");
	dg_latent_slerp(out, a, b, D, 0.25);
	ok(fabs(dg_latent_angle(a, out, D) - M_PI / 4) < 1e-6,
	   "antiparallel: t = 1/4 is 45 degrees along");
	{
		float out2[D];
		dg_latent_slerp(out2, a, b, D, 0.25);
		ok(memcmp(out, out2, sizeof out) == 0, "antiparallel: the same path every time");
	}

	/* nearly antiparallel: the ordinary formula still applies, close to pi */
	dg_rng_normal(7, 1, 0, a, D);
	for (size_t i = 0; i < D; i++)
		b[i] = -a[i];
	b[3] += 1e-3f;
	dg_latent_slerp(out, a, b, D, 0.5);
	ref_slerp(ref, a, b, D, 0.5);
	ok(all_finite(out, D) && rel_err(out, ref, D) < 1e-4,
	   "nearly antiparallel: matches the reference (%.3g)", rel_err(out, ref, D));

	/* parallel and nearly parallel: no division by sin θ ≈ 0 */
	dg_rng_normal(7, 2, 0, a, D);
	for (size_t i = 0; i < D; i++)
		b[i] = 3 * a[i];
	dg_latent_slerp(out, a, b, D, 0.5);
	{
		double e = 0;
		for (size_t i = 0; i < D; i++)
			e = fmax(e, fabs(out[i] - 2.0 * a[i]));
		ok(all_finite(out, D) && e < 1e-5, "parallel a, 3a: midpoint 2a (%.3g)", e);
	}
	memcpy(b, a, sizeof a);
	b[0] = nextafterf(b[0], 10);
	dg_latent_slerp(out, a, b, D, 0.5);
	ok(all_finite(out, D) &&
	   fabs(fnorm(out, D) - fnorm(a, D)) < 1e-5 * fnorm(a, D),
	   "nearly parallel (one ulp apart): finite, norm kept");
	dg_latent_slerp(out, a, a, D, 0.3);
	{
		double e = 0;
		for (size_t i = 0; i < D; i++)
			e = fmax(e, fabs(out[i] - a[i]));
		ok(e < 1e-6, "identical codes: every point is the code (%.3g)", e);
	}

	/* a zero code has no direction: the straight line */
	dg_latent_slerp(out, z, a, D, 0.25);
	{
		double e = 0;
		for (size_t i = 0; i < D; i++)
			e = fmax(e, fabs(out[i] - 0.25 * a[i]));
		ok(all_finite(out, D) && e < 1e-6, "zero to a: lerp (%.3g)", e);
	}
	dg_latent_slerp(out, z, z, D, 0.5);
	ok(fnorm(out, D) == 0, "zero to zero: zero");
	/* one dimension: no circle to follow */
	{
		float p = 2, q = -4, r;
		dg_latent_slerp(&r, &p, &q, 1, 0.5);
		ok(r == -1, "one dimension: lerp (2, -4 -> %g)", r);
	}
}

static void test_lerp_grid(void)
{
	float c[4][D], out[D], scratch[D];
	const float *corners[4] = {c[0], c[1], c[2], c[3]};
	double e = 0;

	for (unsigned k = 0; k < 4; k++)
		dg_rng_normal(9, k, 0, c[k], D);
	dg_latent_lerp(out, c[0], c[1], D, 0.25);
	for (size_t i = 0; i < D; i++)
		e = fmax(e, fabs(out[i] - (0.75 * c[0][i] + 0.25 * c[1][i])));
	ok(e < 1e-6, "lerp at 1/4 (%.3g)", e);
	dg_latent_lerp(out, c[0], c[1], D, 1);
	ok(memcmp(out, c[1], sizeof out) == 0, "lerp at 1 is b exactly");

	for (int mode = DG_INTERP_LERP; mode <= DG_INTERP_SLERP; mode++) {
		const char *name = mode == DG_INTERP_LERP ? "lerp" : "slerp";
		int exact = 1;
		for (unsigned k = 0; k < 4; k++) {
			dg_latent_grid(out, scratch, corners, D, k & 1, k >> 1, mode);
			exact &= memcmp(out, c[k], sizeof out) == 0;
		}
		ok(exact, "%s grid: the four corners are exact", name);
		/* the left edge (u = 0) is the interpolation of c0 and c2 */
		float edge[D];
		dg_latent_grid(out, scratch, corners, D, 0, 0.4, mode);
		if (mode == DG_INTERP_LERP)
			dg_latent_lerp(edge, c[0], c[2], D, 0.4);
		else
			dg_latent_slerp(edge, c[0], c[2], D, 0.4);
		e = 0;
		for (size_t i = 0; i < D; i++)
			e = fmax(e, fabs(out[i] - edge[i]));
		ok(e < 1e-6, "%s grid: the left edge interpolates its corners (%.3g)", name, e);
	}
	dg_latent_grid(out, scratch, corners, D, 0.5, 0.5, DG_INTERP_LERP);
	e = 0;
	for (size_t i = 0; i < D; i++)
		e = fmax(e, fabs(out[i] - (c[0][i] + c[1][i] + c[2][i] + c[3][i]) / 4.0));
	ok(e < 1e-6, "bilinear centre is the mean of the corners (%.3g)", e);
}

/* Parses text and checks its coefficients (n of them). */
static void good(const char *text, unsigned n, const double *want)
{
	struct dg_latent_expr e;
	size_t col = 99;
	int st = dg_latent_expr_parse(text, &e, &col), same = !st && e.ncodes == n && col == 0;
	for (unsigned i = 0; same && i < n; i++)
		same = fabs(e.coef[i] - want[i]) < 1e-12;
	ok(same, "'%s' parses", text);
	if (!same) {
		diag("  status %d (%s), ncodes %u", st, dg_errmsg(), e.ncodes);
		for (unsigned i = 0; i < e.ncodes; i++)
			diag("  coef[%u] = %g", i, e.coef[i]);
	}
}

/* Parses text and checks it fails at column col with a message saying so
 * and containing what. */
static void bad(const char *text, size_t col, const char *what)
{
	struct dg_latent_expr e;
	size_t got = 0;
	char prefix[32];
	int st = dg_latent_expr_parse(text, &e, &got);
	snprintf(prefix, sizeof prefix, "column %zu: ", col);
	int good_msg = strncmp(dg_errmsg(), prefix, strlen(prefix)) == 0 &&
		       strstr(dg_errmsg(), what) != NULL;
	ok(st == DG_EUSAGE && got == col && good_msg, "'%s' is refused at column %zu", text, col);
	if (!(st == DG_EUSAGE && got == col && good_msg))
		diag("  status %d, column %zu, message '%s'", st, got, dg_errmsg());
}

static void test_expr(void)
{
	good("a", 1, (double[]){1});
	good("a - b + c", 3, (double[]){1, -1, 1});
	good("0.5*a + 0.5*b", 2, (double[]){0.5, 0.5});
	good("(a + b) / 2", 2, (double[]){0.5, 0.5});
	good("2 * (a - (b - c)) - -c", 3, (double[]){2, -2, 3});
	good("  c*3 ", 3, (double[]){0, 0, 3});
	good("1e-1*a+.5e1*B", 2, (double[]){0.1, 5});
	good("-a", 1, (double[]){-1});
	good("a - a", 1, (double[]){0});
	good("z", 26, (double[]){[25] = 1});
	good("2*3*a/4", 1, (double[]){1.5});

	bad("", 1, "expected a code");
	bad("a +", 4, "before the end");
	bad("a + * b", 5, "expected a code");
	bad("a b", 3, "expected an operator");
	bad("(a + b", 7, "expected ')'");
	bad("a + b)", 6, "unmatched ')'");
	bad("a * b", 3, "not linear");
	bad("a + 1", 3, "plus or minus a number");
	bad("1 / a", 3, "division by a code");
	bad("a / 0", 3, "division by zero");
	bad("2 * 3", 1, "is a number");
	bad("ab", 1, "one letter");
	bad("a + #", 5, "expected a code");
	bad("2a", 2, "expected an operator");
	bad("1e999 * a", 1, "out of range");
	bad("0x10 * a", 2, "expected an operator");
}

static void test_eval(void)
{
	struct dg_latent_expr e;
	float a[3] = {1, 2, 3}, b[3] = {10, 20, 30}, c[3] = {-1, 0.5f, 4}, out[3];
	const float *codes[3] = {a, b, c};
	int st = dg_latent_expr_parse("0.5*(a + b) - 2*c", &e, NULL);
	dg_latent_expr_eval(&e, codes, 3, out);
	ok(!st && out[0] == 7.5f && out[1] == 10 && out[2] == 8.5f,
	   "0.5*(a + b) - 2*c evaluates to (7.5, 10, 8.5): got (%g, %g, %g)", out[0], out[1],
	   out[2]);
	st = dg_latent_expr_parse("b - a", &e, NULL);
	const float *partial[2] = {a, b};
	dg_latent_expr_eval(&e, partial, 3, out);
	ok(!st && out[0] == 9 && out[2] == 27, "b - a");
	st = dg_latent_expr_parse("c", &e, NULL);
	const float *sparse[3] = {NULL, NULL, c};
	dg_latent_expr_eval(&e, sparse, 3, out);
	ok(!st && memcmp(out, c, sizeof out) == 0, "codes not named may be NULL");
}

/* The truncation trick: every value within the bound, those already
 * within it untouched, the same redraws from the same generator state. */
static void test_truncate(void)
{
	enum { N = 4000 };
	static float z[N], z2[N], orig[N];
	struct dg_rng r, r2;
	dg_rng_init(&r, 7, 1);
	for (size_t i = 0; i < N; i++)
		orig[i] = z[i] = 2 * dg_rng_next_normal(&r);      /* N(0, 2²) */
	memcpy(z2, z, sizeof z);
	dg_rng_init(&r, 9, 2);
	dg_rng_init(&r2, 9, 2);
	dg_latent_truncate(z, N, 0.7, 2, &r);
	dg_latent_truncate(z2, N, 0.7, 2, &r2);
	size_t beyond = 0, kept = 0, changed = 0;
	for (size_t i = 0; i < N; i++) {
		beyond += fabsf(z[i]) > 1.4f;
		if (fabsf(orig[i]) <= 1.4f)
			kept += z[i] == orig[i];
		else
			changed += z[i] != orig[i];
	}
	ok(beyond == 0, "truncate 0.7 of N(0, 4): no value beyond 1.4 (%zu)", beyond);
	size_t within = 0;
	for (size_t i = 0; i < N; i++)
		within += fabsf(orig[i]) <= 1.4f;
	ok(kept == within && changed == N - within,
	   "  %zu values within kept, the %zu beyond redrawn", kept, changed);
	ok(!memcmp(z, z2, sizeof z), "  the same generator state, the same codes");
	float tiny[64];
	for (size_t i = 0; i < 64; i++)
		tiny[i] = 3;
	dg_latent_truncate(tiny, 64, 1e-3, 1, &r);
	int in = 1;
	for (size_t i = 0; i < 64; i++)
		in &= fabsf(tiny[i]) <= 1e-3f;
	ok(in, "  tau 1e-3: values clamped when redraws keep missing");
}

int main(void)
{
	test_slerp_reference();
	test_slerp_cases();
	test_lerp_grid();
	test_expr();
	test_eval();
	test_truncate();
	return done_testing();
}
