/* latent.c — interpolation, grids and linear expressions over latent
 * codes (dg/latent.h), the arithmetic behind dg-interp(1). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dg/error.h"
#include "dg/latent.h"

/* Below this angle (radians) from 0 or from pi, sin(theta) is too small
 * to divide by without losing the direction in rounding. */
#define SLERP_EPS 1e-7

void dg_latent_truncate(float *z, size_t n, double tau, double s, struct dg_rng *r)
{
	float lim = (float)(tau * s);
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 1000 && fabsf(z[i]) > lim; k++)
			z[i] = (float)(s * dg_rng_next_normal(r));
		if (fabsf(z[i]) > lim)
			z[i] = z[i] < 0 ? -lim : lim;
	}
}

void dg_latent_lerp(float *out, const float *a, const float *b, size_t d, double t)
{
	/* the endpoints are copied rather than computed so that they are
	 * bit-exact whatever rounding (1-t)a + tb would do */
	if (t == 0 || t == 1) {
		memmove(out, t == 0 ? a : b, d * sizeof *out);
		return;
	}
	for (size_t i = 0; i < d; i++)
		out[i] = (float)((1 - t) * a[i] + t * (double)b[i]);
}

static double norm(const float *a, size_t d)
{
	double s = 0;
	for (size_t i = 0; i < d; i++)
		s += (double)a[i] * a[i];
	return sqrt(s);
}

/* The angle between a/na and b/nb (both norms nonzero). */
static double angle(const float *a, double na, const float *b, double nb, size_t d)
{
	double dm = 0, dp = 0;
	for (size_t i = 0; i < d; i++) {
		double x = a[i] / na, y = b[i] / nb;
		dm += (x - y) * (x - y);
		dp += (x + y) * (x + y);
	}
	/* Kahan's form: acos(x·y) loses half the digits near 0 and pi */
	return 2 * atan2(sqrt(dm), sqrt(dp));
}

double dg_latent_angle(const float *a, const float *b, size_t d)
{
	double na = norm(a, d), nb = norm(b, d);
	return na == 0 || nb == 0 ? 0 : angle(a, na, b, nb, d);
}

void dg_latent_slerp(float *out, const float *a, const float *b, size_t d, double t)
{
	double na, nb, theta, len;

	if (t == 0 || t == 1) {
		memmove(out, t == 0 ? a : b, d * sizeof *out);
		return;
	}
	na = norm(a, d);
	nb = norm(b, d);
	if (na == 0 || nb == 0 || d < 2) {
		/* no direction to follow (or, in one dimension, no circle):
		 * the straight line is the only sensible path */
		dg_latent_lerp(out, a, b, d, t);
		return;
	}
	len = (1 - t) * na + t * nb;
	theta = angle(a, na, b, nb, d);
	if (theta < SLERP_EPS) {
		double wa = (1 - t) / na, wb = t / nb, s = 0;
		for (size_t i = 0; i < d; i++) {
			double u = wa * a[i] + wb * b[i];
			s += u * u;
		}
		s = len / sqrt(s);
		for (size_t i = 0; i < d; i++)
			out[i] = (float)(s * (wa * a[i] + wb * b[i]));
	} else if (M_PI - theta < SLERP_EPS) {
		/* w = e_k - â_k â, normalized: a unit vector orthogonal to â
		 * in the plane of â and e_k, so u(t) = cos(tθ)â + sin(tθ)w */
		size_t k = 0;
		double ak, ww = 0, c = cos(t * theta), s = sin(t * theta);
		for (size_t i = 1; i < d; i++)
			if (fabs(a[i]) < fabs(a[k]))
				k = i;
		ak = a[k] / na;
		for (size_t i = 0; i < d; i++) {
			double w = (i == k) - ak * (a[i] / na);
			ww += w * w;
		}
		ww = sqrt(ww);
		for (size_t i = 0; i < d; i++) {
			double ah = a[i] / na, w = ((i == k) - ak * ah) / ww;
			out[i] = (float)(len * (c * ah + s * w));
		}
	} else {
		double st = sin(theta);
		double wa = sin((1 - t) * theta) / st / na * len;
		double wb = sin(t * theta) / st / nb * len;
		for (size_t i = 0; i < d; i++)
			out[i] = (float)(wa * a[i] + wb * b[i]);
	}
}

void dg_latent_grid(float *out, float *scratch, const float *const c[4], size_t d, double u,
		    double v, enum dg_interp_mode mode)
{
	if (mode == DG_INTERP_SLERP) {
		dg_latent_slerp(out, c[0], c[1], d, u);
		dg_latent_slerp(scratch, c[2], c[3], d, u);
		dg_latent_slerp(out, out, scratch, d, v);
		return;
	}
	/* bilinear, rounded once; the corners come out exact because their
	 * weights are then exactly 1 and 0 */
	for (size_t i = 0; i < d; i++)
		out[i] = (float)((1 - v) * ((1 - u) * c[0][i] + u * (double)c[1][i]) +
				 v * ((1 - u) * c[2][i] + u * (double)c[3][i]));
}

/* ---- expressions --------------------------------------------------------- */

/* A value while parsing: a number, or a linear combination of codes. */
struct value {
	int code;                  /* 0: a number in k; 1: coef[] */
	double k;
	double coef[DG_EXPR_MAX_CODES];
};

struct parser {
	const char *text, *p;
	unsigned ncodes;
	int depth;
	int st;
	size_t column;
};

static int fail(struct parser *ps, const char *at, const char *what)
{
	if (ps->st)
		return ps->st;
	ps->column = (size_t)(at - ps->text) + 1;
	ps->st = dg_error(DG_EUSAGE, "column %zu: %s", ps->column, what);
	return ps->st;
}

static void blanks(struct parser *ps)
{
	while (isspace((unsigned char)*ps->p))
		ps->p++;
}

static void expr(struct parser *ps, struct value *v);

static void primary(struct parser *ps, struct value *v)
{
	const char *at;

	blanks(ps);
	at = ps->p;
	memset(v, 0, sizeof *v);
	if (isdigit((unsigned char)*at) || (*at == '.' && isdigit((unsigned char)at[1]))) {
		/* strtod would also take hex, inf and nan; the grammar is
		 * plain decimal, so scan it first and convert only that */
		const char *q = at;
		char buf[64], *end;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == '.')
			for (q++; isdigit((unsigned char)*q); q++)
				;
		if ((*q == 'e' || *q == 'E') &&
		    (isdigit((unsigned char)q[1]) ||
		     ((q[1] == '+' || q[1] == '-') && isdigit((unsigned char)q[2])))) {
			for (q += 2; isdigit((unsigned char)*q); q++)
				;
		}
		if ((size_t)(q - at) >= sizeof buf) {
			fail(ps, at, "number too long");
			return;
		}
		memcpy(buf, at, (size_t)(q - at));
		buf[q - at] = 0;
		v->k = strtod(buf, &end);
		if (!isfinite(v->k)) {
			fail(ps, at, "number out of range");
			return;
		}
		ps->p = q;
	} else if (isalpha((unsigned char)*at)) {
		unsigned i = (unsigned)(tolower((unsigned char)*at) - 'a');
		if (isalnum((unsigned char)at[1]) || at[1] == '_') {
			fail(ps, at, "a code is named by one letter, a to z");
			return;
		}
		v->code = 1;
		v->coef[i] = 1;
		if (i + 1 > ps->ncodes)
			ps->ncodes = i + 1;
		ps->p++;
	} else if (*at == '(') {
		if (++ps->depth > 256) {
			fail(ps, at, "parentheses nested too deeply");
			return;
		}
		ps->p++;
		expr(ps, v);
		if (ps->st)
			return;
		blanks(ps);
		if (*ps->p != ')') {
			fail(ps, ps->p, *ps->p ? "expected ')'" : "expected ')' before the end");
			return;
		}
		ps->p++;
		ps->depth--;
	} else {
		fail(ps, at, *at ? "expected a code (a to z), a number or '('"
				 : "expected a code (a to z), a number or '(' before the end");
	}
}

static void unary(struct parser *ps, struct value *v)
{
	blanks(ps);
	if (*ps->p == '+' || *ps->p == '-') {
		int neg = *ps->p == '-';
		if (++ps->depth > 256) {
			fail(ps, ps->p, "too many signs in a row");
			return;
		}
		ps->p++;
		unary(ps, v);
		ps->depth--;
		if (neg) {
			v->k = -v->k;
			for (unsigned i = 0; i < DG_EXPR_MAX_CODES; i++)
				v->coef[i] = -v->coef[i];
		}
		return;
	}
	primary(ps, v);
}

static void scale(struct value *v, double k)
{
	for (unsigned i = 0; i < DG_EXPR_MAX_CODES; i++)
		v->coef[i] *= k;
}

static void term(struct parser *ps, struct value *v)
{
	struct value r;

	unary(ps, v);
	for (;;) {
		const char *at;
		int op;
		blanks(ps);
		at = ps->p;
		op = *at;
		if (ps->st || (op != '*' && op != '/'))
			return;
		ps->p++;
		unary(ps, &r);
		if (ps->st)
			return;
		if (op == '*') {
			if (v->code && r.code) {
				fail(ps, at, "a code times a code is not linear; scale codes "
					     "by numbers");
				return;
			}
			if (r.code) {
				double k = v->k;
				*v = r;
				scale(v, k);
			} else if (v->code) {
				scale(v, r.k);
			} else {
				v->k *= r.k;
			}
		} else {
			if (r.code) {
				fail(ps, at, "division by a code; divide by numbers only");
				return;
			}
			if (r.k == 0) {
				fail(ps, at, "division by zero");
				return;
			}
			if (v->code)
				scale(v, 1 / r.k);
			else
				v->k /= r.k;
		}
		if (!v->code && !isfinite(v->k)) {
			fail(ps, at, "number out of range");
			return;
		}
	}
}

static void expr(struct parser *ps, struct value *v)
{
	struct value r;

	term(ps, v);
	for (;;) {
		const char *at;
		int op;
		blanks(ps);
		at = ps->p;
		op = *at;
		if (ps->st || (op != '+' && op != '-'))
			return;
		ps->p++;
		term(ps, &r);
		if (ps->st)
			return;
		if (v->code != r.code) {
			fail(ps, at, "a code plus or minus a number has no meaning; "
				     "add codes to codes");
			return;
		}
		v->k += op == '+' ? r.k : -r.k;
		for (unsigned i = 0; i < DG_EXPR_MAX_CODES; i++)
			v->coef[i] += op == '+' ? r.coef[i] : -r.coef[i];
	}
}

int dg_latent_expr_parse(const char *text, struct dg_latent_expr *e, size_t *column)
{
	struct parser ps = {.text = text, .p = text};
	struct value v;

	memset(e, 0, sizeof *e);
	if (column)
		*column = 0;
	expr(&ps, &v);
	if (!ps.st) {
		blanks(&ps);
		if (*ps.p)
			fail(&ps, ps.p, *ps.p == ')' ? "unmatched ')'"
				      : "expected an operator (+ - * /) or the end");
		else if (!v.code)
			fail(&ps, text, "the expression is a number, not a code: name at "
				      "least one code (a to z)");
	}
	if (ps.st) {
		if (column)
			*column = ps.column;
		return ps.st;
	}
	memcpy(e->coef, v.coef, sizeof e->coef);
	e->ncodes = ps.ncodes;
	return DG_OK;
}

void dg_latent_expr_eval(const struct dg_latent_expr *e, const float *const *codes, size_t d,
			 float *out)
{
	for (size_t j = 0; j < d; j++) {
		double s = 0;
		for (unsigned i = 0; i < e->ncodes; i++)
			if (e->coef[i] != 0)
				s += e->coef[i] * codes[i][j];
		out[j] = (float)s;
	}
}
