/* dg/latent.h — arithmetic on latent codes for dg-interp(1): linear and
 * spherical interpolation, a grid spanned by four corners, and linear
 * expressions over codes named by position ("a - b + c", "0.5*(a + b)").
 *
 * Codes are float vectors of d elements.  Each interpolation and each
 * evaluation is computed in double and rounded to float once.  Nothing
 * here allocates: scratch space comes from the caller. */
#ifndef DG_LATENT_H
#define DG_LATENT_H

#include <stddef.h>
#include "dg/rng.h"

enum dg_interp_mode {
	DG_INTERP_LERP = 1,    /* (1-t)a + t b */
	DG_INTERP_SLERP,       /* great circle for the direction, linear norm */
};

/* out = (1-t)a + t b.  out may alias a or b.  t = 0 and t = 1 give a and
 * b exactly. */
void dg_latent_lerp(float *out, const float *a, const float *b, size_t d, double t);

/* Spherical interpolation with the norm interpolated linearly:
 *   out = ((1-t)|a| + t|b|) · u(t),
 * u(t) the point at fraction t of the shorter great-circle arc from a/|a|
 * to b/|b|.  So at each t the direction moves at constant angular speed
 * and the length moves linearly: for codes from a Gaussian prior (whose
 * mass lies in a thin shell) the path stays in the shell where lerp cuts
 * through the low-norm middle.  Edge cases, all finite (never NaN):
 *   - t = 0 and t = 1 give a and b exactly;
 *   - a or b zero: the direction is undefined, so lerp;
 *   - nearly parallel (angle < 1e-7 rad): lerp of the unit vectors,
 *     renormalized (the great circle and the chord agree there);
 *   - antiparallel (angle within 1e-7 of pi): every great circle through
 *     a and -a is as short; the one through e_k is used, k the axis on
 *     which a/|a| has its smallest magnitude (first such k), so the choice
 *     is a fixed function of a.
 * out may alias a or b. */
void dg_latent_slerp(float *out, const float *a, const float *b, size_t d, double t);

/* The angle in radians between a and b (0 if either is zero), computed as
 * 2 atan2(|â - b̂|, |â + b̂|), accurate near 0 and pi alike. */
double dg_latent_angle(const float *a, const float *b, size_t d);

/* One point of the grid spanned by corners c[0] (top left), c[1] (top
 * right), c[2] (bottom left), c[3] (bottom right), at u across (0 left,
 * 1 right) and v down (0 top, 1 bottom).  Lerp: bilinear.  Slerp: slerp
 * along the top and the bottom edge at u, then between those two at v;
 * every edge of the grid is then the slerp of its two corners, and the
 * corners are exact.  scratch holds d floats (slerp's second edge); out
 * and scratch must not alias the corners. */
void dg_latent_grid(float *out, float *scratch, const float *const c[4], size_t d, double u,
		    double v, enum dg_interp_mode mode);

/* The truncation trick (Brock et al. 2019, BigGAN): each of the n values
 * of z, drawn from N(0, s²), whose magnitude exceeds tau·s is replaced by
 * a fresh s·N(0, 1) from r, again until it does not (after 1000 draws it
 * is clamped to ±tau·s), so that the codes follow a truncated normal.
 * Smaller tau trades a GAN's variety for the quality of each sample.
 * Values are visited in order, each consuming r's draws, so the result
 * is a fixed function of z and r's state.  tau > 0, s > 0. */
void dg_latent_truncate(float *z, size_t n, double tau, double s, struct dg_rng *r);

/* ---- expressions ------------------------------------------------------- */

/* Names: a..z for codes 0..25 of the input. */
#define DG_EXPR_MAX_CODES 26

/* A parsed expression, which is always linear in the codes: the result is
 * sum over i < ncodes of coef[i] · code i. */
struct dg_latent_expr {
	double coef[DG_EXPR_MAX_CODES];
	unsigned ncodes;           /* 1 + the highest index named */
};

/* Parses text:
 *   expr   := term (('+' | '-') term)*
 *   term   := unary (('*' | '/') unary)*
 *   unary  := ('+' | '-') unary | primary
 *   primary:= NUMBER | NAME | '(' expr ')'
 * NUMBER is decimal with an optional fraction and exponent (2, .5, 1e-3);
 * NAME is one letter a..z (case-insensitive); blanks are ignored.  Types
 * are checked as it goes: a code may be scaled by a number, added to or
 * subtracted from a code; a code times a code, a code plus a number, a
 * number divided by a code, a division by zero and a result that is a
 * number are errors.  Returns DG_OK, or DG_EUSAGE with a message
 * "column N: what" (N 1-based, the position of the offending token) and
 * *column set to N when column is not NULL. */
int dg_latent_expr_parse(const char *text, struct dg_latent_expr *e, size_t *column);

/* out = sum of coef[i] · codes[i] for i < e->ncodes, in double.  codes[i]
 * may be NULL where coef[i] is 0 (a name not used). */
void dg_latent_expr_eval(const struct dg_latent_expr *e, const float *const *codes, size_t d,
			 float *out);

#endif
