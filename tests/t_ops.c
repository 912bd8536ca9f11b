/* t_ops.c — every graph op, forward and backward, against a plain
 * double-precision reference on odd shapes; gradients against central
 * finite differences of that reference.
 *
 * How to add an op test: an elementwise op is one line of ELEMENTWISE (its
 * double reference and its constructor) and a UN or BI row of cases[].
 * Otherwise write `ref_x(const struct tc *t, double *const *in, double
 * *out)` computing the op in double from the inputs' shapes (t->in) and
 * the output shape (t->out), a `b_x` that applies the op to the graph
 * inputs, and add a row to cases[] with the op it tests (OP_NONE for a
 * composition), the input shapes, value
 * kinds (ANY: [-1,1] kept 0.05 away from 0; POS: [0.2,2]; IDX: i32
 * class indices below p[0]; FIDX: the same as f32 values; U8: bytes;
 * NOGRAD: f32 values not differentiated), the
 * op's parameters p[], and two tolerances: the forward (float against
 * double, relative to max(1, |want|)) and the gradient (against the finite
 * difference of the reference, same scale).  The loss differentiated is
 * Σ y·r for a fixed random r, so every output element matters.
 *
 * Runs on the cpu backend twice: with oneDNN plans (default) and with the
 * plain C kernels (DG_NO_DNNL=1); then on the vulkan backend when there is
 * a Vulkan device, for the ops it implements (the others are listed),
 * checked against the same reference and against the cpu backend on the
 * same inputs (the general convolutions twice: through texel buffers and
 * through storage buffers).  `t_ops vulkan` runs only the vulkan part.
 *
 * Every step runs with DG_GUARD=1 (unless the environment says
 * otherwise): guard bytes around every buffer, so a kernel that writes
 * past the end of its output (or of any intermediate of a composition or
 * a gradient) fails its row, naming the op (graph/guard.h).
 *
 * The op list (graph/op_list.h) is the checklist: every op must run in
 * some row's graph (as the op tested, inside a composition or in a
 * gradient) on each backend, or name the test that covers it in
 * elsewhere[]; a missing row fails, naming the op. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"
#include "graph/graph_impl.h"   /* the op list: the ops every backend must run */
#include "tap.h"

enum { ANY = 0, POS, IDX, NOGRAD, DISTINCT, U8, FIDX };
enum { MAXIN = 5 };      /* inputs of a row */

struct shape {
	unsigned r;
	uint64_t d[DG_MAX_RANK];
};

struct tc;
typedef dg_tensor (*build_fn)(struct dg_graph *g, const dg_tensor *x, const struct tc *t);
typedef void (*ref_fn)(const struct tc *t, double *const *in, double *out);

struct tc {
	const char *name;       /* NULL: the op's name */
	int op;                 /* enum dg_op tested, OP_NONE for a composition */
	build_fn build;
	ref_fn ref;
	int nin;
	struct shape in[MAXIN];
	int kind[MAXIN];
	float p[4];
	double tol_fwd, tol_grad;
	struct shape out;       /* filled from the graph */
};

static uint64_t count(const struct shape *s)
{
	uint64_t n = 1;
	for (unsigned i = 0; i < s->r; i++)
		n *= s->d[i];
	return n;
}

/* ---- a deterministic source of test values ---------------------------- */

static uint64_t lcg = 88172645463325252ull;
static double urand(void)
{
	lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(lcg >> 11) / 9007199254740992.0;
}

/* ---- reference helpers ------------------------------------------------- */

/* Flat index into a broadcast input of shape s for flat output index i. */
static uint64_t bidx(const struct shape *out, const struct shape *s, uint64_t i)
{
	uint64_t idx = 0, stride = 1;
	for (int k = (int)out->r - 1; k >= 0; k--) {
		uint64_t c = i % out->d[k];
		i /= out->d[k];
		int ks = k - (int)(out->r - s->r);
		if (ks >= 0) {
			if (s->d[ks] != 1)
				idx += c * stride;
			stride *= s->d[ks];
		}
	}
	return idx;
}

/* ---- elementwise ops: one row per op ----------------------------------------
 * X(op, reference, constructor): the double reference of y from a (and b)
 * with the row's parameters p, q, and the graph built from inputs x0 (and
 * x1) as a plugin builds it (ops without a public constructor through
 * dg__op1). */
#define ELEMENTWISE(X) \
	X(AFFINE, p * a + q, dg_affine(g, x0, p, q)) \
	X(EXP, exp(a), dg_exp(g, x0)) \
	X(LOG, log(a), dg_log(g, x0)) \
	X(SQRT, sqrt(a), dg_sqrt(g, x0)) \
	X(RSQRT, 1 / sqrt(a), dg_rsqrt(g, x0)) \
	X(RECIP, 1 / a, dg_reciprocal(g, x0)) \
	X(ABS, fabs(a), dg_abs(g, x0)) \
	X(SIGN, (a > 0) - (a < 0), dg_sign(g, x0)) \
	X(RELU, a > 0 ? a : 0, dg_relu(g, x0)) \
	X(LEAKY, a > 0 ? a : p * a, dg_leaky_relu(g, x0, p)) \
	X(ELU, a > 0 ? a : p * (exp(a) - 1), dg_elu(g, x0, p)) \
	X(TANH, tanh(a), dg_tanh(g, x0)) \
	X(SIGMOID, 1 / (1 + exp(-a)), dg_sigmoid(g, x0)) \
	X(SOFTPLUS, log1p(exp(a)), dg_softplus(g, x0)) \
	X(CLAMP, a < p ? p : a > q ? q : a, dg_clamp(g, x0, p, q)) \
	X(INRANGE, a >= p && a <= q, T(dg__op1(g, OP_INRANGE, x0.id, p, q))) \
	X(STEP, a > 0, T(dg__op1(g, OP_STEP, x0.id, 0, 0))) \
	X(POWS, pow(a, p), dg_pow_scalar(g, x0, p)) \
	X(STOPGRAD, a, dg_stop_gradient(g, x0)) \
	X(ADD, a + b, dg_add(g, x0, x1)) \
	X(SUB, a - b, dg_sub(g, x0, x1)) \
	X(MUL, a * b, dg_mul(g, x0, x1)) \
	X(DIV, a / b, dg_div(g, x0, x1)) \
	X(MAX, a > b ? a : b, dg_maximum(g, x0, x1)) \
	X(MIN, a < b ? a : b, dg_minimum(g, x0, x1)) \
	X(GT, a > b, dg_greater(g, x0, x1)) \
	X(GE, a >= b, dg_greater_equal(g, x0, x1)) \
	X(EQ, a == b, dg_equal(g, x0, x1))

#define T(id) ((dg_tensor){(id)})
#define X(op, ref, build) \
	static double ref_##op(double a, double b, double p, double q) \
	{ \
		(void)a, (void)b, (void)p, (void)q; \
		return (ref); \
	} \
	static dg_tensor build_##op(struct dg_graph *g, dg_tensor x0, dg_tensor x1, float p, float q) \
	{ \
		(void)x1, (void)p, (void)q; \
		return (build); \
	}
ELEMENTWISE(X)
#undef X

/* The elementwise table, keyed by the op. */
static const struct {
	double (*ref)(double a, double b, double p, double q);
	dg_tensor (*build)(struct dg_graph *g, dg_tensor x0, dg_tensor x1, float p, float q);
} elt[OP_COUNT] = {
#define X(op, ref, build) [OP_##op] = {ref_##op, build_##op},
	ELEMENTWISE(X)
#undef X
};

static void ref_elt(const struct tc *t, double *const *in, double *out)
{
	for (uint64_t i = 0; i < count(&t->out); i++) {
		double a = in[0][bidx(&t->out, &t->in[0], i)];
		double b = t->nin > 1 ? in[1][bidx(&t->out, &t->in[1], i)] : 0;
		out[i] = elt[t->op].ref(a, b, t->p[0], t->p[1]);
	}
}

static void ref_neg(const struct tc *t, double *const *in, double *out)
{
	for (uint64_t i = 0; i < count(&t->out); i++)
		out[i] = -in[0][i];
}

static void ref_square(const struct tc *t, double *const *in, double *out)
{
	for (uint64_t i = 0; i < count(&t->out); i++)
		out[i] = in[0][i] * in[0][i];
}

static void ref_where(const struct tc *t, double *const *in, double *out)
{
	for (uint64_t i = 0; i < count(&t->out); i++)
		out[i] = in[0][bidx(&t->out, &t->in[0], i)] > 0 ? in[1][bidx(&t->out, &t->in[1], i)]
								: in[2][bidx(&t->out, &t->in[2], i)];
}

/* Reductions over axes mask p[0] (keepdims): output index of input i. */
static uint64_t red_out(const struct tc *t, uint64_t i, unsigned axes)
{
	const struct shape *s = &t->in[0];
	uint64_t o = 0, stride = 1;
	for (int k = (int)s->r - 1; k >= 0; k--) {
		uint64_t c = i % s->d[k];
		i /= s->d[k];
		if (!((axes >> k) & 1)) {
			o += c * stride;
			stride *= s->d[k];
		}
	}
	return o;
}

static void ref_reduce(const struct tc *t, double *const *in, double *out)
{
	unsigned axes = (unsigned)t->p[0];
	uint64_t n = count(&t->in[0]), m = count(&t->out), per = n / m;
	int mx = !strcmp(t->name, "max"), lse = !strcmp(t->name, "logsumexp");
	for (uint64_t o = 0; o < m; o++)
		out[o] = mx ? -INFINITY : 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t o = red_out(t, i, axes);
		double v = in[0][i];
		if (mx)
			out[o] = v > out[o] ? v : out[o];
		else
			out[o] += lse ? exp(v) : v;
	}
	for (uint64_t o = 0; o < m; o++) {
		if (!strcmp(t->name, "mean"))
			out[o] /= (double)per;
		if (lse)
			out[o] = log(out[o]);
	}
}

/* C = op(A)·op(B), batched over any leading axes, a side of rank 2
 * shared; p[0], p[1] transpose flags. */
static void ref_matmul(const struct tc *t, double *const *in, double *out)
{
	const struct shape *a = &t->in[0], *b = &t->in[1];
	int ta = t->p[0] != 0, tb = t->p[1] != 0;
	uint64_t m = t->out.d[t->out.r - 2], n = t->out.d[t->out.r - 1];
	uint64_t k = ta ? a->d[a->r - 2] : a->d[a->r - 1];
	uint64_t batch = count(&t->out) / (m * n);
	for (uint64_t bi = 0; bi < batch; bi++) {
		const double *A = in[0] + (a->r > 2 ? bi * m * k : 0);
		const double *B = in[1] + (b->r > 2 ? bi * k * n : 0);
		for (uint64_t i = 0; i < m; i++)
			for (uint64_t j = 0; j < n; j++) {
				double s = 0;
				for (uint64_t l = 0; l < k; l++)
					s += (ta ? A[l * m + i] : A[i * k + l]) * (tb ? B[j * k + l] : B[l * n + j]);
				out[bi * m * n + i * n + j] = s;
			}
	}
}

/* y = relu(x·wᵀ + b) */
static void ref_linear(const struct tc *t, double *const *in, double *out)
{
	uint64_t n = t->in[0].d[0], k = t->in[0].d[1], o = t->in[1].d[0];
	for (uint64_t i = 0; i < n; i++)
		for (uint64_t j = 0; j < o; j++) {
			double s = in[2][j];
			for (uint64_t l = 0; l < k; l++)
				s += in[0][i * k + l] * in[1][j * k + l];
			out[i * o + j] = s > 0 ? s : 0;
		}
}

static void ref_copy(const struct tc *t, double *const *in, double *out)
{
	memcpy(out, in[0], count(&t->out) * sizeof *out);
}

/* Permute (0,2,1) of a 3-d tensor, or the last two axes. */
static void ref_transpose(const struct tc *t, double *const *in, double *out)
{
	const struct shape *s = &t->in[0];
	uint64_t b = s->r == 3 ? s->d[0] : 1, r = s->d[s->r - 2], c = s->d[s->r - 1];
	for (uint64_t bi = 0; bi < b; bi++)
		for (uint64_t i = 0; i < r; i++)
			for (uint64_t j = 0; j < c; j++)
				out[bi * r * c + j * r + i] = in[0][bi * r * c + i * c + j];
}

/* Slice of axis 1 [p0, p0+p1) of a 3-d tensor. */
static void ref_slice(const struct tc *t, double *const *in, double *out)
{
	const struct shape *s = &t->in[0];
	uint64_t st = (uint64_t)t->p[0], len = (uint64_t)t->p[1];
	for (uint64_t a = 0; a < s->d[0]; a++)
		for (uint64_t i = 0; i < len; i++)
			for (uint64_t c = 0; c < s->d[2]; c++)
				out[(a * len + i) * s->d[2] + c] = in[0][(a * s->d[1] + st + i) * s->d[2] + c];
}

/* Pad of a 2-d tensor: p0 before and p1 after on both axes, value p2. */
static void ref_pad(const struct tc *t, double *const *in, double *out)
{
	const struct shape *s = &t->in[0];
	uint64_t b = (uint64_t)t->p[0], oc = t->out.d[1];
	for (uint64_t i = 0; i < count(&t->out); i++)
		out[i] = t->p[2];
	for (uint64_t i = 0; i < s->d[0]; i++)
		for (uint64_t j = 0; j < s->d[1]; j++)
			out[(i + b) * oc + j + b] = in[0][i * s->d[1] + j];
}

/* The input's flat index of out[i] for a slice or pad on one axis p0,
 * the input starting at offset `at` there (slice: p1; pad: -p1); -1
 * where out[i] lies outside the input (pad). */
static int64_t one_axis_src(const struct tc *t, uint64_t i, int64_t at)
{
	const struct shape *s = &t->in[0];
	unsigned ax = (unsigned)t->p[0];
	int64_t src = 0, st = 1;
	for (int k = (int)t->out.r - 1; k >= 0; k--) {
		int64_t c = (int64_t)(i % t->out.d[k]);
		i /= t->out.d[k];
		if ((unsigned)k == ax)
			c += at;
		if (c < 0 || c >= (int64_t)s->d[k])
			return -1;
		src += c * st;
		st *= (int64_t)s->d[k];
	}
	return src;
}

/* Slice of axis p0 from p1, p2 long (slice_axis rows). */
static void ref_slice_axis(const struct tc *t, double *const *in, double *out)
{
	for (uint64_t i = 0; i < count(&t->out); i++)
		out[i] = in[0][one_axis_src(t, i, (int64_t)t->p[1])];
}

/* Pad of axis p0 by p1 before and p2 after, value p3 (pad_axis rows). */
static void ref_pad_axis(const struct tc *t, double *const *in, double *out)
{
	for (uint64_t i = 0; i < count(&t->out); i++) {
		int64_t j = one_axis_src(t, i, -(int64_t)t->p[1]);
		out[i] = j < 0 ? t->p[3] : in[0][j];
	}
}

/* Concat along axis 1 of two 3-d tensors. */
static void ref_concat(const struct tc *t, double *const *in, double *out)
{
	const struct shape *a = &t->in[0], *b = &t->in[1];
	uint64_t inner = a->d[2], ca = a->d[1], cb = b->d[1];
	for (uint64_t n = 0; n < a->d[0]; n++) {
		memcpy(out + n * (ca + cb) * inner, in[0] + n * ca * inner, ca * inner * sizeof(double));
		memcpy(out + (n * (ca + cb) + ca) * inner, in[1] + n * cb * inner,
		       cb * inner * sizeof(double));
	}
}

/* Over the last axis, or axis p0 for the *_axis rows. */
static void ref_softmax(const struct tc *t, double *const *in, double *out)
{
	int ax = strstr(t->name, "_axis") ? (int)t->p[0] : -1;
	ax = ax < 0 ? ax + (int)t->out.r : ax;
	uint64_t k = t->out.d[ax], sp = 1;
	for (unsigned i = (unsigned)ax + 1; i < t->out.r; i++)
		sp *= t->out.d[i];
	for (uint64_t r = 0; r < count(&t->out) / k; r++) {
		uint64_t b = r / sp * k * sp + r % sp;
		double m = -INFINITY, s = 0;
		for (uint64_t i = 0; i < k; i++)
			m = fmax(m, in[0][b + i * sp]);
		for (uint64_t i = 0; i < k; i++)
			s += exp(in[0][b + i * sp] - m);
		for (uint64_t i = 0; i < k; i++) {
			double ls = in[0][b + i * sp] - m - log(s);
			out[b + i * sp] = !strncmp(t->name, "log_softmax", 11) ? ls : exp(ls);
		}
	}
}

/* Convolution with stride p0, pad p1, dilation p2 (+ bias input 2). */
static void conv_ref(const double *x, const double *w, double *y, uint64_t n, uint64_t c,
		     uint64_t h, uint64_t wd, uint64_t o, uint64_t kh, uint64_t kw,
		     uint64_t oh, uint64_t ow, int64_t s, int64_t p, int64_t d)
{
	for (uint64_t a = 0; a < n; a++)
		for (uint64_t oc = 0; oc < o; oc++)
			for (uint64_t i = 0; i < oh; i++)
				for (uint64_t j = 0; j < ow; j++) {
					double acc = 0;
					for (uint64_t ic = 0; ic < c; ic++)
						for (uint64_t u = 0; u < kh; u++)
							for (uint64_t v = 0; v < kw; v++) {
								int64_t hh = (int64_t)i * s - p + (int64_t)u * d;
								int64_t ww = (int64_t)j * s - p + (int64_t)v * d;
								if (hh < 0 || ww < 0 || hh >= (int64_t)h || ww >= (int64_t)wd)
									continue;
								acc += x[((a * c + ic) * h + (uint64_t)hh) * wd + (uint64_t)ww] *
								       w[((oc * c + ic) * kh + u) * kw + v];
							}
					y[((a * o + oc) * oh + i) * ow + j] = acc;
				}
}

static void ref_conv(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0], *w = &t->in[1];
	uint64_t o = w->d[0], oh = t->out.d[2], ow = t->out.d[3];
	conv_ref(in[0], in[1], out, x->d[0], x->d[1], x->d[2], x->d[3], o, w->d[2], w->d[3], oh, ow,
		 (int64_t)t->p[0], (int64_t)t->p[1], (int64_t)t->p[2]);
	for (uint64_t i = 0; i < count(&t->out); i++) {
		out[i] += in[2][(i / (oh * ow)) % o];
		if (!strcmp(t->name, "conv2d+relu") && out[i] < 0)
			out[i] = 0;
	}
}

/* Transposed conv, directly as a scatter: y[n,o,i·s-p+u·d, …] += x[n,c,i,j] w[c,o,u,v]. */
static void ref_deconv(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0], *w = &t->in[1];
	int64_t s = (int64_t)t->p[0], p = (int64_t)t->p[1], d = (int64_t)t->p[2];
	uint64_t o = w->d[1], oh = t->out.d[2], ow = t->out.d[3], kh = w->d[2], kw = w->d[3];
	memset(out, 0, count(&t->out) * sizeof *out);
	for (uint64_t a = 0; a < x->d[0]; a++)
		for (uint64_t c = 0; c < x->d[1]; c++)
			for (uint64_t i = 0; i < x->d[2]; i++)
				for (uint64_t j = 0; j < x->d[3]; j++)
					for (uint64_t oc = 0; oc < o; oc++)
						for (uint64_t u = 0; u < kh; u++)
							for (uint64_t v = 0; v < kw; v++) {
								int64_t hh = (int64_t)i * s - p + (int64_t)u * d;
								int64_t ww = (int64_t)j * s - p + (int64_t)v * d;
								if (hh < 0 || ww < 0 || hh >= (int64_t)oh || ww >= (int64_t)ow)
									continue;
								out[((a * o + oc) * oh + (uint64_t)hh) * ow + (uint64_t)ww] +=
									in[0][((a * x->d[1] + c) * x->d[2] + i) * x->d[3] + j] *
									in[1][((c * o + oc) * kh + u) * kw + v];
							}
}

/* Masked conv 'A' (p3 = 0) or 'B' (p3 = 1), one colour group, stride 1,
 * pad K/2: the weight multiplied by the causal mask, then conv. */
/* masked_conv2d's padding: KH/2 + p[0] */
static unsigned masked_pad(const struct tc *t)
{
	return (unsigned)((int)(t->in[1].d[2] / 2) + (int)t->p[0]);
}

static void ref_masked(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0], *w = &t->in[1];
	uint64_t o = w->d[0], c = w->d[1], kh = w->d[2], kw = w->d[3], n = count(w);
	double *wm = malloc(n * sizeof *wm);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t u = (i / kw) % kh, v = i % kw;
		int on = u < kh / 2 || (u == kh / 2 && (v < kw / 2 || (v == kw / 2 && t->p[3] != 0)));
		wm[i] = on ? in[1][i] : 0;
	}
	conv_ref(in[0], wm, out, x->d[0], c, x->d[2], x->d[3], o, kh, kw, t->out.d[2], t->out.d[3],
		 1, masked_pad(t), 1);
	free(wm);
}

/* ---- general convolutions and pooling ------------------------------------
 * Rows name a configuration of these tables by p[0].  Images are seen as
 * N×C×D×H×W (depth 1 for 2-d shapes); parameters are per spatial axis,
 * depth first, as dg_conv_nd takes them for that rank. */
enum { CONV_ND, CONV_T_ND, CONV_3D, CONV_T_3D };
static const struct convcfg {
	int api;                        /* which constructor */
	unsigned groups, stride[3], pad[3], dil[3], outpad[3];
} convcfg[] = {
	/* 0 */ {CONV_ND, 2, {1, 1}, {1, 1}, {1, 1}, {0}},
	/* 1 */ {CONV_ND, 3, {2, 2}, {2, 2}, {2, 2}, {0}},          /* depthwise, dilated */
	/* 2 */ {CONV_ND, 3, {2, 1}, {1, 0}, {1, 2}, {0}},          /* depth multiplier 2 */
	/* 3 */ {CONV_ND, 1, {1, 3}, {0, 1}, {1, 1}, {0}},          /* per-axis, no groups */
	/* 4 */ {CONV_ND, 1, {3, 3}, {1, 1}, {1, 1}, {0}},          /* uniform: conv2d's op */
	/* 5 */ {CONV_T_ND, 2, {2, 2}, {1, 1}, {1, 1}, {1, 1}},
	/* 6 */ {CONV_T_ND, 3, {3, 2}, {0, 1}, {2, 1}, {2, 0}},     /* depthwise */
	/* 7 */ {CONV_3D, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0}},
	/* 8 */ {CONV_ND, 1, {2, 1, 2}, {1, 0, 1}, {1, 2, 1}, {0}},
	/* 9 */ {CONV_ND, 2, {1, 2, 1}, {1, 1, 0}, {1, 1, 1}, {0}},
	/* 10 */ {CONV_T_3D, 1, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
	/* 11 */ {CONV_T_ND, 3, {1, 2, 1}, {0, 1, 1}, {2, 1, 1}, {0, 1, 0}},
	/* 12 */ {CONV_ND, 5, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0}},     /* 3-d depthwise */
};

/* A tensor's dims as N, C, D, H, W. */
static void as5(const struct shape *s, uint64_t *d)
{
	d[0] = s->d[0];
	d[1] = s->d[1];
	d[2] = s->r == 5 ? s->d[2] : 1;
	d[3] = s->d[s->r - 2];
	d[4] = s->d[s->r - 1];
}

/* A configuration's parameter on spatial axis a (depth first) of an
 * image of rank r: the table is per axis of the constructor's order. */
static int64_t axis_param(const unsigned *v, unsigned r, int a, int64_t dflt)
{
	if (a < 5 - (int)r)
		return dflt;
	return v[a - (5 - (int)r)];
}

/* Convolution (y = conv(x, w) + b) or its transpose (scattered from x,
 * straight from the definition), grouped, on 5-d views; or (rows named
 * "... filter gradient", inputs x, h, w) the gradient Σ h·conv(x, w)
 * of w. */
static void ref_conv_nd(const struct tc *t, double *const *in, double *out)
{
	const struct convcfg *k = &convcfg[(int)t->p[0]];
	int transposed = k->api == CONV_T_ND || k->api == CONV_T_3D;
	int dw = strstr(t->name, "filter gradient") != NULL;
	uint64_t x[5], w[5], y[5];
	int64_t s[3], p[3], d[3];
	as5(&t->in[0], x);
	as5(dw ? &t->in[2] : &t->in[1], w);
	as5(dw ? &t->in[1] : &t->out, y);
	unsigned r = t->in[0].r;
	for (int a = 0; a < 3; a++) {
		s[a] = k->stride[0] ? axis_param(k->stride, r, a, 1) : 1;
		p[a] = axis_param(k->pad, r, a, 0);
		d[a] = k->dil[0] ? axis_param(k->dil, r, a, 1) : 1;
	}
	uint64_t G = k->groups;
	memset(out, 0, count(&t->out) * sizeof *out);
	/* the small side (conv: y; transposed: x) indexes the sum */
	const uint64_t *big = transposed ? y : x, *small = transposed ? x : y;
	uint64_t cin = big[1], cout = small[1];   /* channels of the conv's x and y */
	for (uint64_t n = 0; n < x[0]; n++)
		for (uint64_t o = 0; o < cout; o++)
			for (uint64_t i0 = 0; i0 < small[2]; i0++)
				for (uint64_t i1 = 0; i1 < small[3]; i1++)
					for (uint64_t i2 = 0; i2 < small[4]; i2++) {
						uint64_t si = (((n * cout + o) * small[2] + i0) * small[3] + i1) * small[4] + i2;
						uint64_t grp = o / (cout / G);
						for (uint64_t cl = 0; cl < cin / G; cl++) {
							uint64_t c = grp * (cin / G) + cl;
							for (uint64_t u0 = 0; u0 < w[2]; u0++)
								for (uint64_t u1 = 0; u1 < w[3]; u1++)
									for (uint64_t u2 = 0; u2 < w[4]; u2++) {
										int64_t b0 = (int64_t)i0 * s[0] - p[0] + (int64_t)u0 * d[0];
										int64_t b1 = (int64_t)i1 * s[1] - p[1] + (int64_t)u1 * d[1];
										int64_t b2 = (int64_t)i2 * s[2] - p[2] + (int64_t)u2 * d[2];
										if (b0 < 0 || b1 < 0 || b2 < 0 || b0 >= (int64_t)big[2] ||
										    b1 >= (int64_t)big[3] || b2 >= (int64_t)big[4])
											continue;
										uint64_t bi = (((n * cin + c) * big[2] + (uint64_t)b0) * big[3] +
											       (uint64_t)b1) * big[4] + (uint64_t)b2;
										/* conv: w[o, cl, u]; transposed: w[o (its input), c - grp·.., u] */
										uint64_t wi = transposed
											? (((o * w[1] + (c - grp * (cin / G))) * w[2] + u0) * w[3] + u1) * w[4] + u2
											: (((o * w[1] + cl) * w[2] + u0) * w[3] + u1) * w[4] + u2;
										if (dw)
											out[wi] += in[0][bi] * in[1][si];
										else if (transposed)
											out[bi] += in[0][si] * in[1][wi];
										else
											out[si] += in[0][bi] * in[1][wi];
									}
						}
					}
	if (t->nin > 2 && !dw)
		for (uint64_t i = 0; i < count(&t->out); i++)
			out[i] += in[2][(i / (y[2] * y[3] * y[4])) % y[1]];
}

enum { P_MAX, P_AVG, P_AVG_PAD, P_MAX_GRAD };
static const struct poolcfg {
	int kind;
	unsigned k, s, p;
} poolcfg[] = {
	/* 0 */ {P_MAX, 3, 2, 1},
	/* 1 */ {P_MAX, 2, 3, 1},       /* gaps between windows */
	/* 2 */ {P_AVG_PAD, 3, 2, 1},
	/* 3 */ {P_AVG, 3, 1, 1},
	/* 4 */ {P_AVG, 2, 3, 1},
	/* 5 */ {P_AVG_PAD, 2, 2, 1},
	/* 6 */ {P_MAX_GRAD, 3, 2, 1},  /* max_pool's gradient as a function of x and dy */
	/* 7 */ {P_MAX, 3, 1, 0},
};

/* Pooling on 5-d views, windows on the spatial axes of the input's rank
 * (depth 1 for 2-d); P_MAX_GRAD scatters in[1] to each window's first
 * maximum. */
static void ref_pool_nd(const struct tc *t, double *const *in, double *out)
{
	const struct poolcfg *k = &poolcfg[(int)t->p[0]];
	uint64_t x[5], y[5];
	int64_t kk[3], s[3], p[3];
	as5(&t->in[0], x);
	as5(k->kind == P_MAX_GRAD ? &t->in[1] : &t->out, y);
	for (int a = 0; a < 3; a++) {
		int flat = a == 0 && t->in[0].r == 4;
		kk[a] = flat ? 1 : k->k;
		s[a] = flat ? 1 : k->s;
		p[a] = flat ? 0 : k->p;
	}
	if (k->kind == P_MAX_GRAD)
		memset(out, 0, count(&t->out) * sizeof *out);
	uint64_t vin = x[2] * x[3] * x[4], vout = y[2] * y[3] * y[4];
	for (uint64_t pl = 0; pl < x[0] * x[1]; pl++)
		for (uint64_t o = 0; o < vout; o++) {
			int64_t i0 = (int64_t)(o / (y[3] * y[4])), i1 = (int64_t)(o / y[4] % y[3]);
			int64_t i2 = (int64_t)(o % y[4]);
			double acc = 0, best = -INFINITY;
			uint64_t at = 0, n = 0;
			for (int64_t u0 = 0; u0 < kk[0]; u0++)
				for (int64_t u1 = 0; u1 < kk[1]; u1++)
					for (int64_t u2 = 0; u2 < kk[2]; u2++) {
						int64_t b0 = i0 * s[0] - p[0] + u0, b1 = i1 * s[1] - p[1] + u1;
						int64_t b2 = i2 * s[2] - p[2] + u2;
						if (b0 < 0 || b1 < 0 || b2 < 0 || b0 >= (int64_t)x[2] ||
						    b1 >= (int64_t)x[3] || b2 >= (int64_t)x[4])
							continue;
						uint64_t e = ((uint64_t)b0 * x[3] + (uint64_t)b1) * x[4] + (uint64_t)b2;
						double v = in[0][pl * vin + e];
						n++;
						acc += v;
						if (v > best) {
							best = v;
							at = e;
						}
					}
			double div = k->kind == P_AVG_PAD ? (double)(kk[0] * kk[1] * kk[2]) : (double)n;
			if (k->kind == P_MAX_GRAD)
				out[pl * vin + at] += in[1][pl * vout + o];
			else
				out[pl * vout + o] = k->kind == P_MAX ? best : acc / div;
		}
}

static void ref_upsample(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0];
	uint64_t f = (uint64_t)t->p[0], h = x->d[2], w = x->d[3], oh = h * f, ow = w * f;
	int bil = !strcmp(t->name, "upsample_bilinear");
	for (uint64_t pl = 0; pl < x->d[0] * x->d[1]; pl++)
		for (uint64_t i = 0; i < oh; i++)
			for (uint64_t j = 0; j < ow; j++) {
				const double *src = in[0] + pl * h * w;
				double v;
				if (!bil) {
					v = src[(i / f) * w + j / f];
				} else {
					double sy = fmax(0, (i + 0.5) / f - 0.5), sx = fmax(0, (j + 0.5) / f - 0.5);
					uint64_t y0 = (uint64_t)sy, x0 = (uint64_t)sx;
					uint64_t y1 = y0 + (y0 < h - 1), x1 = x0 + (x0 < w - 1);
					double ly = sy - (double)y0, lx = sx - (double)x0;
					v = (1 - ly) * ((1 - lx) * src[y0 * w + x0] + lx * src[y0 * w + x1]) +
					    ly * ((1 - lx) * src[y1 * w + x0] + lx * src[y1 * w + x1]);
				}
				out[pl * oh * ow + i * ow + j] = v;
			}
}

/* Reflection or replication padding of the last two axes by p0 left,
 * p1 right, p2 top and p3 bottom (PyTorch's order). */
static void ref_pad2d(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0];
	uint64_t h = x->d[x->r - 2], w = x->d[x->r - 1], planes = count(x) / (h * w);
	int64_t l = (int64_t)t->p[0], tp = (int64_t)t->p[2];
	uint64_t oh = t->out.d[t->out.r - 2], ow = t->out.d[t->out.r - 1];
	int refl = !strcmp(t->name, "reflection_pad2d");
	for (uint64_t pl = 0; pl < planes; pl++)
		for (uint64_t i = 0; i < oh; i++)
			for (uint64_t j = 0; j < ow; j++) {
				int64_t si = (int64_t)i - tp, sj = (int64_t)j - l;
				int64_t lh = (int64_t)h - 1, lw = (int64_t)w - 1;
				if (refl) {
					si = si < 0 ? -si : si > lh ? 2 * lh - si : si;
					sj = sj < 0 ? -sj : sj > lw ? 2 * lw - sj : sj;
				} else {
					si = si < 0 ? 0 : si > lh ? lh : si;
					sj = sj < 0 ? 0 : sj > lw ? lw : sj;
				}
				out[(pl * oh + i) * ow + j] = in[0][(pl * h + (uint64_t)si) * w + (uint64_t)sj];
			}
}

static dg_tensor b_image(struct dg_graph *g, const dg_tensor *x, const struct tc *t);
static dg_tensor b_pad2d(struct dg_graph *g, const dg_tensor *x, const struct tc *t);
static void infer_out(struct tc *t);

/* Second derivatives of the resample op.  A "<op>_gradgrad" row's output
 * is the gradient of Σ c·op(x)²/2 for a fixed c, Aᵀ(c ⊙ A·x) with A the
 * op's matrix (its reference applied to unit vectors), so the row's own
 * gradient check differentiates the adjoint's adjoint. */
static double gg_c(uint64_t i)
{
	return 0.5 + 0.25 * sin((double)i);
}

/* The row of the op itself. */
static struct tc gg_base(const struct tc *t, char *name, size_t n)
{
	struct tc u = *t;
	snprintf(name, n, "%.*s", (int)(strlen(t->name) - strlen("_gradgrad")), t->name);
	u.name = name;
	u.build = strncmp(name, "upsample", 8) ? b_pad2d : b_image;
	u.ref = strncmp(name, "upsample", 8) ? ref_pad2d : ref_upsample;
	return u;
}

static void ref_gradgrad(const struct tc *t, double *const *in, double *out)
{
	char name[64];
	struct tc u = gg_base(t, name, sizeof name);
	infer_out(&u);
	uint64_t n = count(&t->in[0]), m = count(&u.out);
	double *a = malloc(n * m * sizeof *a), *e = calloc(n, sizeof *e), *y = calloc(m, sizeof *y);
	for (uint64_t k = 0; k < n; k++) {      /* column k of A */
		e[k] = 1;
		u.ref(&u, &e, a + k * m);
		e[k] = 0;
	}
	for (uint64_t k = 0; k < n; k++)
		for (uint64_t i = 0; i < m; i++)
			y[i] += a[k * m + i] * in[0][k];
	for (uint64_t k = 0; k < n; k++) {
		out[k] = 0;
		for (uint64_t i = 0; i < m; i++)
			out[k] += a[k * m + i] * gg_c(i) * y[i];
	}
	free(a);
	free(e);
	free(y);
}

static void ref_pool(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0];
	uint64_t k = (uint64_t)t->p[0], h = x->d[2], w = x->d[3], oh = h / k, ow = w / k;
	int mx = !strcmp(t->name, "max_pool");
	for (uint64_t pl = 0; pl < x->d[0] * x->d[1]; pl++)
		for (uint64_t i = 0; i < oh; i++)
			for (uint64_t j = 0; j < ow; j++) {
				double acc = mx ? -INFINITY : 0;
				for (uint64_t u = 0; u < k; u++)
					for (uint64_t v = 0; v < k; v++) {
						double e = in[0][pl * h * w + (i * k + u) * w + j * k + v];
						acc = mx ? fmax(acc, e) : acc + e / (double)(k * k);
					}
				out[pl * oh * ow + i * ow + j] = acc;
			}
}

/* Normalization: groups of elements sharing statistics, then ·γ + β
 * (per channel for batch and instance norm, per element for layer norm). */
static void ref_norm(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0];
	uint64_t n = x->d[0], c = x->d[1], hw = count(x) / (n * c), total = count(x);
	int bn = !strcmp(t->name, "batch_norm"), ln = !strcmp(t->name, "layer_norm");
	double eps = t->p[0];
	uint64_t groups = bn ? c : ln ? n : n * c;
	for (uint64_t gi = 0; gi < groups; gi++) {
		double s = 0, ss = 0, cnt = 0;
		for (uint64_t i = 0; i < total; i++) {
			uint64_t a = i / (c * hw), ch = (i / hw) % c;
			uint64_t gid = bn ? ch : ln ? a : a * c + ch;
			if (gid == gi) {
				s += in[0][i];
				cnt++;
			}
		}
		double mean = s / cnt;
		for (uint64_t i = 0; i < total; i++) {
			uint64_t a = i / (c * hw), ch = (i / hw) % c;
			if ((bn ? ch : ln ? a : a * c + ch) == gi)
				ss += (in[0][i] - mean) * (in[0][i] - mean);
		}
		double inv = 1 / sqrt(ss / cnt + eps);
		for (uint64_t i = 0; i < total; i++) {
			uint64_t a = i / (c * hw), ch = (i / hw) % c;
			if ((bn ? ch : ln ? a : a * c + ch) != gi)
				continue;
			uint64_t pi = ln ? i % (c * hw) : ch;
			out[i] = (in[0][i] - mean) * inv * in[1][pi] + in[2][pi];
		}
	}
}

/* ProGAN's pixel norm over axis 1 of N×C(×H×W), eps p0. */
static void ref_pixel_norm(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0];
	uint64_t n = x->d[0], c = x->d[1], hw = count(x) / (n * c);
	for (uint64_t a = 0; a < n; a++)
		for (uint64_t s = 0; s < hw; s++) {
			double ms = 0;
			for (uint64_t ch = 0; ch < c; ch++)
				ms += in[0][(a * c + ch) * hw + s] * in[0][(a * c + ch) * hw + s];
			ms /= (double)c;
			for (uint64_t ch = 0; ch < c; ch++)
				out[(a * c + ch) * hw + s] = in[0][(a * c + ch) * hw + s] / sqrt(ms + t->p[0]);
		}
}

/* AdaIN: instance norm (biased variance, eps p0 inside the root), then
 * scale and bias N×C. */
static void ref_adain(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0];
	uint64_t nc = x->d[0] * x->d[1], hw = x->d[2] * x->d[3];
	for (uint64_t p = 0; p < nc; p++) {
		const double *v = in[0] + p * hw;
		double m = 0, var = 0;
		for (uint64_t s = 0; s < hw; s++)
			m += v[s] / (double)hw;
		for (uint64_t s = 0; s < hw; s++)
			var += (v[s] - m) * (v[s] - m) / (double)hw;
		for (uint64_t s = 0; s < hw; s++)
			out[p * hw + s] = in[1][p] * (v[s] - m) / sqrt(var + t->p[0]) + in[2][p];
	}
}

/* Minibatch standard deviation, groups of p0 (0: all) as ProGAN's. */
static void ref_mbstd(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0];
	uint64_t n = x->d[0], f = count(x) / n, hw = x->d[2] * x->d[3];
	uint64_t gs = t->p[0] == 0 ? n : (uint64_t)t->p[0], m = n / gs;
	for (uint64_t a = 0; a < n; a++)
		memcpy(out + a * (f + hw), in[0] + a * f, f * sizeof *out);
	for (uint64_t mi = 0; mi < m; mi++) {
		double s = 0;
		for (uint64_t k = 0; k < f; k++) {
			double mean = 0, var = 0;
			for (uint64_t gi = 0; gi < gs; gi++)
				mean += in[0][(gi * m + mi) * f + k] / (double)gs;
			for (uint64_t gi = 0; gi < gs; gi++) {
				double d = in[0][(gi * m + mi) * f + k] - mean;
				var += d * d / (double)gs;
			}
			s += sqrt(var + 1e-8) / (double)f;
		}
		for (uint64_t a = mi; a < n; a += m)
			for (uint64_t k = 0; k < hw; k++)
				out[a * (f + hw) + f + k] = s;
	}
}

/* The gate's halves along axis p0 of x (input 0): *k elements of that
 * axis each, times *inner elements of the axes after it. */
static void gate_halves(const struct tc *t, uint64_t *k, uint64_t *inner)
{
	const struct shape *x = &t->in[0];
	int ax = (int)t->p[0] < 0 ? (int)t->p[0] + (int)x->r : (int)t->p[0];
	*inner = 1;
	*k = x->d[ax] / 2;
	for (unsigned i = (unsigned)ax + 1; i < x->r; i++)
		*inner *= x->d[i];
}

/* tanh of the first half along axis p0 times sigmoid of the second. */
static void ref_gated(const struct tc *t, double *const *in, double *out)
{
	uint64_t k, inner;
	gate_halves(t, &k, &inner);
	for (uint64_t o = 0; o < count(&t->out); o++) {
		uint64_t outer = o / (k * inner), rest = o % (k * inner);
		double a = in[0][outer * 2 * k * inner + rest];
		double b = in[0][outer * 2 * k * inner + k * inner + rest];
		out[o] = tanh(a) / (1 + exp(-b));
	}
}

/* The gate's backward: x (input 0) and the gradient dy of the gate's
 * output (input 1) -> dx, both halves (t = tanh a, s = σ(b)). */
static void ref_gated_bwd(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0];
	uint64_t k, inner;
	gate_halves(t, &k, &inner);
	for (uint64_t o = 0; o < count(x) / 2; o++) {
		uint64_t outer = o / (k * inner), rest = o % (k * inner);
		uint64_t ia = outer * 2 * k * inner + rest, ib = ia + k * inner;
		double ta = tanh(in[0][ia]), s = 1 / (1 + exp(-in[0][ib])), d = in[1][o];
		out[ia] = d * s * (1 - ta * ta);
		out[ib] = d * ta * s * (1 - s);
	}
}

/* Gated PixelCNN's stacks: kind p0 (0 vertical, 1 vertical shifted, 2
 * horizontal 'A', 3 'B'), colour groups p1; bias input 2. */
static void ref_causal(const struct tc *t, double *const *in, double *out)
{
	const struct shape *x = &t->in[0], *w = &t->in[1];
	uint64_t n = x->d[0], c = x->d[1], h = x->d[2], wd = x->d[3];
	uint64_t o = w->d[0], kh = w->d[2], kw = w->d[3];
	int kind = (int)t->p[0];
	uint64_t groups = t->p[1] > 1 ? (uint64_t)t->p[1] : 1;
	for (uint64_t a = 0; a < n; a++)
		for (uint64_t oc = 0; oc < o; oc++)
			for (uint64_t i = 0; i < h; i++)
				for (uint64_t j = 0; j < wd; j++) {
					double acc = in[2][oc];
					for (uint64_t ic = 0; ic < c; ic++)
						for (uint64_t u = 0; u < kh; u++)
							for (uint64_t v = 0; v < kw; v++) {
								int64_t r, col;
								if (kind < 2) {
									r = (int64_t)i - (int64_t)kh + (kind == 0) + (int64_t)u;
									col = (int64_t)j - (int64_t)(kw / 2) + (int64_t)v;
								} else {
									uint64_t go = oc / (o / groups), gc = ic / (c / groups);
									if (v == kw - 1 && (kind == 2 ? gc >= go : gc > go))
										continue;
									r = (int64_t)i;
									col = (int64_t)j - (int64_t)(kw - 1) + (int64_t)v;
								}
								if (r < 0 || col < 0 || r >= (int64_t)h || col >= (int64_t)wd)
									continue;
								acc += in[1][((oc * c + ic) * kh + u) * kw + v] *
								       in[0][((a * c + ic) * h + (uint64_t)r) * wd +
									     (uint64_t)col];
							}
					out[((a * o + oc) * h + i) * wd + j] = acc;
				}
}

/* An LSTM cell step, PyTorch's gate order i, f, g, o: inputs x, h, c, w
 * 4H×(I+H), b; the output is [h', c'] side by side. */
static void ref_lstm(const struct tc *t, double *const *in, double *out)
{
	uint64_t n = t->in[0].d[0], ni = t->in[0].d[1], nh = t->in[1].d[1];
	double *z = malloc(4 * nh * sizeof *z);
	for (uint64_t a = 0; a < n; a++) {
		for (uint64_t r = 0; r < 4 * nh; r++) {
			double s = in[4][r];
			for (uint64_t k = 0; k < ni; k++)
				s += in[3][r * (ni + nh) + k] * in[0][a * ni + k];
			for (uint64_t k = 0; k < nh; k++)
				s += in[3][r * (ni + nh) + ni + k] * in[1][a * nh + k];
			z[r] = s;
		}
		for (uint64_t k = 0; k < nh; k++) {
			double ig = 1 / (1 + exp(-z[k])), fg = 1 / (1 + exp(-z[nh + k]));
			double gg = tanh(z[2 * nh + k]), og = 1 / (1 + exp(-z[3 * nh + k]));
			double c2 = fg * in[2][a * nh + k] + ig * gg;
			out[a * 2 * nh + k] = og * tanh(c2);
			out[a * 2 * nh + nh + k] = c2;
		}
	}
	free(z);
}

static void ref_embedding(const struct tc *t, double *const *in, double *out)
{
	uint64_t d = t->in[0].d[1];
	for (uint64_t s = 0; s < count(&t->in[1]); s++)
		memcpy(out + s * d, in[0] + (uint64_t)in[1][s] * d, d * sizeof *out);
}

static void ref_pick(const struct tc *t, double *const *in, double *out)
{
	uint64_t k = t->in[0].d[t->in[0].r - 1];
	for (uint64_t s = 0; s < count(&t->in[1]); s++)
		out[s] = in[0][s * k + (uint64_t)in[1][s]];
}

static void ref_cast(const struct tc *t, double *const *in, double *out)
{
	for (uint64_t i = 0; i < count(&t->out); i++)
		out[i] = in[0][i] * (double)t->p[1];
}

static void ref_argmax(const struct tc *t, double *const *in, double *out)
{
	uint64_t k = t->in[0].d[t->in[0].r - 1], rows = count(&t->in[0]) / k;
	for (uint64_t r = 0; r < rows; r++) {
		uint64_t best = 0;
		for (uint64_t i = 1; i < k; i++)
			if (in[0][r * k + i] > in[0][r * k + best])
				best = i;
		out[r] = (double)best;
	}
}

static void ref_one_hot(const struct tc *t, double *const *in, double *out)
{
	uint64_t k = (uint64_t)t->p[0];
	memset(out, 0, count(&t->out) * sizeof *out);
	for (uint64_t s = 0; s < count(&t->in[0]); s++)
		out[s * k + (uint64_t)in[0][s]] = 1;
}

static void ref_loss(const struct tc *t, double *const *in, double *out)
{
	uint64_t n = count(&t->in[0]), batch = t->in[0].d[0];
	double s = 0;
	const char *nm = t->name;
	if (!strcmp(nm, "softmax_cross_entropy")) {
		uint64_t k = t->in[0].d[1];
		for (uint64_t r = 0; r < batch; r++) {
			double m = -INFINITY, z = 0;
			for (uint64_t i = 0; i < k; i++)
				m = fmax(m, in[0][r * k + i]);
			for (uint64_t i = 0; i < k; i++)
				z += exp(in[0][r * k + i] - m);
			s += -(in[0][r * k + (uint64_t)in[1][r]] - m - log(z));
		}
		out[0] = s / (double)batch;
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		double a = in[0][i], b = t->nin > 1 ? in[1][i] : 0, c = t->nin > 2 ? in[2][i] : 0;
		if (!strcmp(nm, "mse_loss")) s += (a - b) * (a - b);
		else if (!strcmp(nm, "l1_loss")) s += fabs(a - b);
		else if (!strcmp(nm, "bce_logits_loss")) s += -(b * log(1 / (1 + exp(-a))) + (1 - b) * log(1 - 1 / (1 + exp(-a))));
		else if (!strcmp(nm, "kl_normal")) s += -0.5 * (1 + b - a * a - exp(b));
		else if (!strcmp(nm, "gaussian_nll")) s += 0.5 * (log(2 * M_PI) + c + (a - b) * (a - b) / exp(c));
	}
	/* mse and l1 are means over elements; the others sum per example. */
	int mean_all = !strcmp(nm, "mse_loss") || !strcmp(nm, "l1_loss");
	out[0] = s / (double)(mean_all ? n : batch);
}

/* ---- builders ------------------------------------------------------------- */

static dg_tensor b_elt(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	return elt[t->op].build(g, x[0], t->nin > 1 ? x[1] : DG_NONE, t->p[0], t->p[1]);
}

static dg_tensor b_neg(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	(void)t;
	return dg_neg(g, x[0]);
}

static dg_tensor b_square(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	(void)t;
	return dg_square(g, x[0]);
}

static dg_tensor b_where(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	(void)t;
	return dg_where(g, dg_greater(g, x[0], dg_scalar(g, 0)), x[1], x[2]);
}

static dg_tensor b_reduce(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	unsigned axes = (unsigned)t->p[0];
	if (!strcmp(t->name, "sum")) return dg_sum(g, x[0], axes, 1);
	if (!strcmp(t->name, "mean")) return dg_mean(g, x[0], axes, 1);
	if (!strcmp(t->name, "max")) return dg_max(g, x[0], axes, 1);
	return dg_logsumexp(g, x[0], axes, 1);
}

static dg_tensor b_matmul(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	return dg_matmul(g, x[0], x[1], t->p[0] != 0, t->p[1] != 0);
}

static dg_tensor b_linear(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	(void)t;
	return dg_linear(g, x[0], x[1], x[2], DG_ACT_RELU, 0);
}

static dg_tensor b_reshape(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	int64_t d[3] = {(int64_t)t->p[0], -1, (int64_t)t->p[1]};
	return dg_reshape(g, x[0], 3, d);
}

static dg_tensor b_transpose(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	unsigned perm[3] = {0, 2, 1};
	(void)t;
	return t->in[0].r == 3 ? dg_permute(g, x[0], perm) : dg_transpose(g, x[0]);
}

static dg_tensor b_slice(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	return dg_slice(g, x[0], 1, (uint64_t)t->p[0], (uint64_t)t->p[1]);
}

static dg_tensor b_slice_axis(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	return dg_slice(g, x[0], (int)t->p[0], (uint64_t)t->p[1], (uint64_t)t->p[2]);
}

static dg_tensor b_pad_axis(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	uint64_t b[DG_MAX_RANK] = {0}, a[DG_MAX_RANK] = {0};
	b[(int)t->p[0]] = (uint64_t)t->p[1];
	a[(int)t->p[0]] = (uint64_t)t->p[2];
	return dg_pad(g, x[0], b, a, t->p[3]);
}

static dg_tensor b_pad(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	uint64_t b[2] = {(uint64_t)t->p[0], (uint64_t)t->p[0]}, a[2] = {(uint64_t)t->p[1], (uint64_t)t->p[1]};
	return dg_pad(g, x[0], b, a, t->p[2]);
}

static dg_tensor b_concat(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	(void)t;
	return dg_concat(g, x[0], x[1], 1);
}

static dg_tensor b_softmax(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	if (!strcmp(t->name, "softmax_axis"))
		return dg_softmax_axis(g, x[0], (int)t->p[0]);
	if (!strcmp(t->name, "log_softmax_axis"))
		return dg_log_softmax_axis(g, x[0], (int)t->p[0]);
	return !strcmp(t->name, "softmax") ? dg_softmax(g, x[0]) : dg_log_softmax(g, x[0]);
}

static dg_tensor b_conv(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	struct dg_conv p = {(unsigned)t->p[0], (unsigned)t->p[1], (unsigned)t->p[2], (unsigned)t->p[3]};
	if (!strcmp(t->name, "conv_transpose2d"))
		return dg_conv_transpose2d(g, x[0], x[1], DG_NONE, &p);
	if (!strcmp(t->name, "conv2d+relu"))   /* the fused conv epilogue */
		return dg_relu(g, dg_conv2d(g, x[0], x[1], x[2], &p));
	return dg_conv2d(g, x[0], x[1], x[2], &p);
}

static dg_tensor b_masked(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	struct dg_conv p = {1, masked_pad(t), 1, 0};
	return dg_masked_conv2d(g, x[0], x[1], DG_NONE, &p, t->p[3] != 0 ? 'B' : 'A', 1);
}

static dg_tensor b_conv_nd(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	const struct convcfg *k = &convcfg[(int)t->p[0]];
	struct dg_conv_opt o = {.struct_size = sizeof o, .groups = k->groups};
	memcpy(o.stride, k->stride, sizeof o.stride);
	memcpy(o.pad, k->pad, sizeof o.pad);
	memcpy(o.dilation, k->dil, sizeof o.dilation);
	memcpy(o.output_padding, k->outpad, sizeof o.output_padding);
	dg_tensor b = t->nin > 2 ? x[2] : DG_NONE;
	struct dg_conv u = {k->stride[0], k->pad[0], k->dil[0], k->outpad[0]};
	switch (k->api) {
	case CONV_T_ND: return dg_conv_transpose_nd(g, x[0], x[1], b, &o);
	case CONV_3D: return dg_conv3d(g, x[0], x[1], b, &u);
	case CONV_T_3D: return dg_conv_transpose3d(g, x[0], x[1], b, &u);
	}
	return dg_conv_nd(g, x[0], x[1], b, &o);
}

/* ∂/∂w Σ h·conv_nd(x, w) = conv_nd_bwd_filter(x, h), from inputs x, h
 * and w (w only gives the shape): its own gradients, in x and in h, run
 * the backward rule of conv_nd_bwd_filter. */
static dg_tensor b_conv_nd_dw(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	dg_tensor in[2] = {x[0], x[2]};
	struct tc nobias = *t;
	nobias.nin = 2;
	dg_tensor y = b_conv_nd(g, in, &nobias);
	return dg_grad(g, dg_sum(g, dg_mul(g, y, x[1]), DG_AXES_ALL, 0), x[2]);
}

static dg_tensor b_pool_nd(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	const struct poolcfg *k = &poolcfg[(int)t->p[0]];
	int three = t->in[0].r == 5;
	switch (k->kind) {
	case P_MAX:
		return three ? dg_max_pool3d(g, x[0], k->k, k->s, k->p)
			     : dg_max_pool2d(g, x[0], k->k, k->s, k->p);
	case P_MAX_GRAD: {
		/* ∂/∂x Σ max_pool(x)·h: max_pool_bwd(x, h), whose own gradient
		 * in h is max_pool_pick */
		dg_tensor y = three ? dg_max_pool3d(g, x[0], k->k, k->s, k->p)
				    : dg_max_pool2d(g, x[0], k->k, k->s, k->p);
		return dg_grad(g, dg_sum(g, dg_mul(g, y, x[1]), DG_AXES_ALL, 0), x[0]);
	}
	}
	return three ? dg_avg_pool3d(g, x[0], k->k, k->s, k->p, k->kind == P_AVG_PAD)
		     : dg_avg_pool2d(g, x[0], k->k, k->s, k->p, k->kind == P_AVG_PAD);
}

static dg_tensor b_image(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	unsigned f = (unsigned)t->p[0];
	if (!strcmp(t->name, "upsample_nearest")) return dg_upsample_nearest(g, x[0], f);
	if (!strcmp(t->name, "upsample_bilinear")) return dg_upsample_bilinear(g, x[0], f);
	if (!strcmp(t->name, "avg_pool")) return dg_avg_pool(g, x[0], f);
	return dg_max_pool(g, x[0], f);
}

static dg_tensor b_pad2d(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	unsigned l = (unsigned)t->p[0], r = (unsigned)t->p[1], tp = (unsigned)t->p[2];
	unsigned b = (unsigned)t->p[3];
	if (!strcmp(t->name, "reflection_pad2d"))
		return dg_reflection_pad2d(g, x[0], l, r, tp, b);
	return dg_replication_pad2d(g, x[0], l, r, tp, b);
}

static dg_tensor b_gradgrad(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	char name[64];
	uint64_t d[DG_MAX_RANK];
	struct tc u = gg_base(t, name, sizeof name);
	dg_tensor y = u.build(g, x, &u);
	unsigned r = dg_shape(g, y, d);
	uint64_t m = dg_count(g, y);
	float *c = malloc(m * sizeof *c);
	for (uint64_t i = 0; i < m; i++)
		c[i] = (float)gg_c(i);
	dg_tensor l = dg_sum(g, dg_mul(g, dg_constant(g, r, d, c), dg_square(g, y)), DG_AXES_ALL, 0);
	free(c);
	return dg_grad(g, dg_mul_scalar(g, l, 0.5f), x[0]);
}

static dg_tensor b_norm(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	if (!strcmp(t->name, "batch_norm"))
		return dg_batch_norm(g, x[0], x[1], x[2], DG_NONE, DG_NONE, 1, 0.1f, t->p[0]);
	if (!strcmp(t->name, "layer_norm"))
		return dg_layer_norm(g, x[0], x[1], x[2], t->p[0]);
	return dg_instance_norm(g, x[0], x[1], x[2], t->p[0]);
}

static dg_tensor b_gan(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	if (!strcmp(t->name, "pixel_norm"))
		return dg_pixel_norm(g, x[0], t->p[0]);
	if (!strcmp(t->name, "adain"))
		return dg_adain(g, x[0], x[1], x[2], t->p[0]);
	if (!strcmp(t->name, "minibatch_stddev"))
		return dg_minibatch_stddev(g, x[0], (unsigned)t->p[0]);
	if (!strcmp(t->name, "gated_activation_bwd")) {
		/* the gradient of Σ x1 ⊙ gate(x0) in x0: gate_bwd (x0, x1) */
		dg_tensor y = dg_gated_activation(g, x[0], (int)t->p[0]);
		return dg_grad(g, dg_sum(g, dg_mul(g, x[1], y), DG_AXES_ALL, 0), x[0]);
	}
	return dg_gated_activation(g, x[0], (int)t->p[0]);
}

static dg_tensor b_causal(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	return dg_causal_conv2d(g, x[0], x[1], x[2], (enum dg_causal)t->p[0], (unsigned)t->p[1]);
}

static dg_tensor b_lstm(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	dg_tensor c2, h2 = dg_lstm_cell(g, x[0], x[1], x[2], x[3], x[4], &c2);
	(void)t;
	return dg_concat(g, h2, c2, 1);
}

static dg_tensor b_embedding(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	(void)t;
	return dg_embedding(g, x[0], x[1]);
}

static dg_tensor b_pick(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	(void)t;
	return dg_pick(g, x[0], x[1]);
}

static dg_tensor b_one_hot(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	return dg_one_hot(g, x[0], (unsigned)t->p[0]);
}

static dg_tensor b_cast(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	return dg_cast(g, x[0], t->p[1]);
}

static dg_tensor b_argmax(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	(void)t;
	return dg_argmax(g, x[0]);
}

static dg_tensor b_loss(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	const char *n = t->name;
	if (!strcmp(n, "mse_loss")) return dg_mse_loss(g, x[0], x[1], DG_MEAN);
	if (!strcmp(n, "l1_loss")) return dg_l1_loss(g, x[0], x[1], DG_MEAN);
	if (!strcmp(n, "bce_logits_loss")) return dg_bce_logits_loss(g, x[0], x[1], DG_SUM_MEAN_BATCH);
	if (!strcmp(n, "softmax_cross_entropy")) return dg_softmax_cross_entropy(g, x[0], x[1], DG_MEAN);
	if (!strcmp(n, "kl_normal")) return dg_kl_normal(g, x[0], x[1], DG_SUM_MEAN_BATCH);
	return dg_gaussian_nll(g, x[0], x[1], x[2], DG_SUM_MEAN_BATCH);
}

/* ---- the table -------------------------------------------------------------- */

#define S1(a) {1, {a}}
#define S2(a, b) {2, {a, b}}
#define S3(a, b, c) {3, {a, b, c}}
#define S4(a, b, c, d) {4, {a, b, c, d}}
#define S5(a, b, c, d, e) {5, {a, b, c, d, e}}
#define UN(op, kind, p0, p1, tf, tg) \
	{NULL, OP_##op, b_elt, ref_elt, 1, {S2(3, 7)}, {kind}, {p0, p1}, tf, tg, {0}}
#define UNL(op, kind, p0, p1, tf, tg) \
	{NULL, OP_##op, b_elt, ref_elt, 1, {S2(43, 97)}, {kind}, {p0, p1}, tf, tg, {0}}
/* Counts that are multiples of 4 (vulkan: four elements per invocation). */
#define UN4(op, kind, p0, p1, tf, tg) \
	{NULL, OP_##op, b_elt, ref_elt, 1, {S2(4, 6)}, {kind}, {p0, p1}, tf, tg, {0}}
#define BI(op, sa, sb, kb, tf, tg) \
	{NULL, OP_##op, b_elt, ref_elt, 2, {sa, sb}, {DISTINCT, kb}, {0}, tf, tg, {0}}
/* comparisons, of small integers so that ties happen */
#define CMP(op, sa, sb) \
	{NULL, OP_##op, b_elt, ref_elt, 2, {sa, sb}, {FIDX, FIDX}, {3}, 0, 0, {0}}

static struct tc cases[] = {
	/* name, op, builder, reference, inputs, shapes, kinds, params, tol fwd, tol grad */
	UN(AFFINE, ANY, 1.5f, -0.25f, 1e-6, 1e-4),
	{"neg", OP_NONE, b_neg, ref_neg, 1, {S2(3, 7)}, {ANY}, {0}, 1e-6, 1e-4, {0}},
	UN(EXP, ANY, 0, 0, 1e-6, 1e-4),
	UN(LOG, POS, 0, 0, 1e-6, 1e-4),
	UN(SQRT, POS, 0, 0, 1e-6, 1e-4),
	UN(RSQRT, POS, 0, 0, 1e-6, 1e-4),
	UN(RECIP, POS, 0, 0, 1e-6, 1e-4),
	UN(ABS, ANY, 0, 0, 1e-6, 1e-4),
	{"square", OP_NONE, b_square, ref_square, 1, {S2(3, 7)}, {ANY}, {0}, 1e-6, 1e-4, {0}},
	UN(RELU, ANY, 0, 0, 1e-6, 1e-4),
	UN(LEAKY, ANY, 0.2f, 0, 1e-6, 1e-4),
	UN(ELU, ANY, 1.3f, 0, 1e-6, 1e-4),
	UN(TANH, ANY, 0, 0, 1e-6, 1e-4),
	UN(SIGMOID, ANY, 0, 0, 1e-6, 1e-4),
	UN(SOFTPLUS, ANY, 0, 0, 1e-6, 1e-4),
	UN(CLAMP, ANY, -0.5f, 0.51f, 1e-6, 1e-4),
	UN(POWS, POS, 2.5f, 0, 1e-6, 1e-4),
	UN(POWS, ANY, 3, 0, 1e-6, 1e-4),      /* negative bases, odd power */
	UN(SIGN, ANY, 0, 0, 0, 0),
	UN(INRANGE, ANY, -0.5f, 0.51f, 0, 0),
	UN(STEP, ANY, 0, 0, 0, 0),
	UN(STOPGRAD, ANY, 0, 0, 0, 0),
	/* Large enough (>= 4096 elements) for the cpu backend's oneDNN path. */
	UNL(EXP, ANY, 0, 0, 1e-6, 1e-4),
	UNL(LOG, POS, 0, 0, 1e-5, 1e-4),   /* oneDNN's log: ~3e-6 near 1 */
	UNL(SQRT, POS, 0, 0, 1e-6, 1e-4),
	UNL(TANH, ANY, 0, 0, 1e-6, 1e-4),
	UNL(SIGMOID, ANY, 0, 0, 1e-6, 1e-4),
	UNL(SOFTPLUS, ANY, 0, 0, 1e-6, 1e-4),
	UNL(ELU, ANY, 0.7f, 0, 1e-6, 1e-4),
	UN4(AFFINE, ANY, 1.5f, -0.25f, 1e-6, 1e-4),
	UN4(EXP, ANY, 0, 0, 1e-6, 1e-4),
	UN4(LOG, POS, 0, 0, 1e-6, 1e-4),
	UN4(RELU, ANY, 0, 0, 1e-6, 1e-4),
	UN4(SIGMOID, ANY, 0, 0, 1e-6, 1e-4),
	UN4(SOFTPLUS, ANY, 0, 0, 1e-6, 1e-4),
	UN4(TANH, ANY, 0, 0, 1e-6, 1e-4),
	BI(ADD, S2(4, 6), S2(4, 6), ANY, 1e-6, 1e-4),
	BI(SUB, S2(4, 6), S1(1), ANY, 1e-6, 1e-4),
	BI(MUL, S1(1), S3(2, 2, 6), ANY, 1e-6, 1e-4),
	BI(DIV, S2(6, 2), S2(6, 2), POS, 1e-6, 1e-4),
	BI(MAX, S2(2, 8), S2(2, 8), DISTINCT, 1e-6, 1e-4),
	{"where", OP_WHERE, b_where, ref_where, 3, {S2(4, 6), S2(4, 6), S1(1)}, {NOGRAD, ANY, ANY}, {0}, 1e-6, 1e-4, {0}},
	BI(ADD, S2(5, 7), S1(7), ANY, 1e-6, 1e-4),
	BI(SUB, S3(2, 5, 1), S2(1, 3), ANY, 1e-6, 1e-4),
	BI(MUL, S3(3, 1, 7), S3(1, 5, 1), ANY, 1e-6, 1e-4),
	BI(DIV, S2(5, 3), S2(5, 1), POS, 1e-6, 1e-4),
	BI(MAX, S2(7, 3), S2(7, 3), DISTINCT, 1e-6, 1e-4),
	BI(MIN, S2(3, 7), S1(7), DISTINCT, 1e-6, 1e-4),
	CMP(GT, S2(5, 7), S2(5, 7)),
	CMP(GE, S3(2, 5, 1), S2(1, 3)),
	CMP(EQ, S2(5, 3), S1(3)),
	{"where", OP_WHERE, b_where, ref_where, 3, {S2(5, 1), S2(5, 3), S1(3)}, {NOGRAD, ANY, ANY}, {0}, 1e-6, 1e-4, {0}},
	/* per-channel broadcasting as batch norm does it, in several threads'
	 * chunks that start and end inside rows (the cpu kernels walk rows) */
	BI(MUL, S4(3, 5, 37, 41), S4(1, 5, 1, 1), ANY, 1e-6, 1e-4),
	BI(SUB, S4(1, 5, 1, 1), S4(3, 5, 37, 41), ANY, 1e-6, 1e-4),
	BI(ADD, S4(3, 1, 37, 41), S4(3, 5, 1, 41), ANY, 1e-6, 1e-4),
	{"where", OP_WHERE, b_where, ref_where, 3, {S4(3, 5, 37, 1), S4(1, 5, 1, 41), S1(1)}, {NOGRAD, ANY, ANY}, {0}, 1e-6, 1e-4, {0}},
	{"sum", OP_SUM_TO, b_reduce, ref_reduce, 1, {S3(3, 5, 7)}, {ANY}, {5}, 1e-5, 1e-4, {0}},
	{"sum", OP_SUM_TO, b_reduce, ref_reduce, 1, {S3(3, 5, 7)}, {ANY}, {2}, 1e-5, 1e-4, {0}},
	{"mean", OP_NONE, b_reduce, ref_reduce, 1, {S3(3, 5, 7)}, {ANY}, {7}, 1e-5, 1e-4, {0}},
	{"max", OP_MAX_TO, b_reduce, ref_reduce, 1, {S3(3, 5, 7)}, {DISTINCT}, {4}, 1e-6, 1e-4, {0}},
	{"logsumexp", OP_NONE, b_reduce, ref_reduce, 1, {S2(5, 7)}, {ANY}, {2}, 1e-5, 1e-4, {0}},
	{"matmul", OP_MATMUL, b_matmul, ref_matmul, 2, {S2(5, 7), S2(7, 3)}, {ANY, ANY}, {0, 0}, 1e-5, 1e-4, {0}},
	{"matmul", OP_MATMUL, b_matmul, ref_matmul, 2, {S2(7, 5), S2(7, 3)}, {ANY, ANY}, {1, 0}, 1e-5, 1e-4, {0}},
	{"matmul", OP_MATMUL, b_matmul, ref_matmul, 2, {S2(5, 7), S2(3, 7)}, {ANY, ANY}, {0, 1}, 1e-5, 1e-4, {0}},
	{"matmul", OP_MATMUL, b_matmul, ref_matmul, 2, {S2(7, 5), S2(3, 7)}, {ANY, ANY}, {1, 1}, 1e-5, 1e-4, {0}},
	{"matmul", OP_MATMUL, b_matmul, ref_matmul, 2, {S3(2, 5, 7), S2(7, 3)}, {ANY, ANY}, {0, 0}, 1e-5, 1e-4, {0}},
	/* a batch against one B, transposed: one product of all the batch's rows on cpu */
	{"matmul", OP_NONE, b_matmul, ref_matmul, 2, {S3(4, 5, 7), S2(3, 7)}, {ANY, ANY}, {0, 1}, 1e-5, 1e-4, {0}},
	{"matmul", OP_MATMUL, b_matmul, ref_matmul, 2, {S3(2, 5, 7), S3(2, 3, 7)}, {ANY, ANY}, {0, 1}, 1e-5, 1e-4, {0}},
	{"matmul", OP_MATMUL, b_matmul, ref_matmul, 2, {S3(3, 7, 5), S3(3, 7, 2)}, {ANY, ANY}, {1, 0}, 1e-5, 1e-4, {0}},
	{"matmul", OP_MATMUL, b_matmul, ref_matmul, 2, {S3(2, 7, 5), S3(2, 3, 7)}, {ANY, ANY}, {1, 1}, 1e-5, 1e-4, {0}},
	/* brought to the op's cases: a transposed batch and a shared matrix,
	 * a shared a, 4-d attention scores q·kᵀ and weights·v */
	{"matmul", OP_NONE, b_matmul, ref_matmul, 2, {S3(3, 7, 5), S2(7, 2)}, {ANY, ANY}, {1, 0}, 1e-5, 1e-4, {0}},
	{"matmul", OP_NONE, b_matmul, ref_matmul, 2, {S3(3, 7, 5), S2(2, 7)}, {ANY, ANY}, {1, 1}, 1e-5, 1e-4, {0}},
	{"matmul", OP_NONE, b_matmul, ref_matmul, 2, {S2(5, 7), S3(3, 7, 2)}, {ANY, ANY}, {0, 0}, 1e-5, 1e-4, {0}},
	{"matmul", OP_NONE, b_matmul, ref_matmul, 2, {S2(7, 5), S3(3, 2, 7)}, {ANY, ANY}, {1, 1}, 1e-5, 1e-4, {0}},
	{"matmul", OP_NONE, b_matmul, ref_matmul, 2, {S4(2, 3, 5, 4), S4(2, 3, 6, 4)}, {ANY, ANY}, {0, 1}, 1e-5, 1e-4, {0}},
	{"matmul", OP_NONE, b_matmul, ref_matmul, 2, {S4(2, 3, 5, 6), S4(2, 3, 6, 4)}, {ANY, ANY}, {0, 0}, 1e-5, 1e-4, {0}},
	{"matmul", OP_NONE, b_matmul, ref_matmul, 2, {S4(2, 3, 4, 5), S2(4, 3)}, {ANY, ANY}, {1, 0}, 1e-5, 1e-4, {0}},
	{"linear", OP_NONE, b_linear, ref_linear, 3, {S2(6, 13), S2(11, 13), S1(11)}, {ANY, ANY, ANY}, {0}, 1e-5, 1e-4, {0}},
	{"reshape", OP_RESHAPE, b_reshape, ref_copy, 1, {S3(2, 15, 7)}, {ANY}, {6, 7}, 0, 1e-4, {0}},
	{"permute", OP_PERMUTE, b_transpose, ref_transpose, 1, {S3(2, 5, 7)}, {ANY}, {0}, 0, 1e-4, {0}},
	{"transpose", OP_PERMUTE, b_transpose, ref_transpose, 1, {S2(5, 3)}, {ANY}, {0}, 0, 1e-4, {0}},
	{"slice", OP_SLICE, b_slice, ref_slice, 1, {S3(2, 7, 3)}, {ANY}, {2, 4}, 0, 1e-4, {0}},
	{"pad", OP_PAD, b_pad, ref_pad, 1, {S2(3, 5)}, {ANY}, {2, 1, 0.5f}, 0, 1e-4, {0}},
	/* one axis of 4-d tensors: inner axes whole (rows of many floats),
	 * the last axis cut, the first */
	{"slice_axis", OP_SLICE, b_slice_axis, ref_slice_axis, 1, {S4(2, 6, 3, 5)}, {ANY}, {1, 3, 3}, 0, 1e-4, {0}},
	{"slice_axis", OP_SLICE, b_slice_axis, ref_slice_axis, 1, {S4(2, 3, 4, 5)}, {ANY}, {3, 1, 3}, 0, 1e-4, {0}},
	{"slice_axis", OP_SLICE, b_slice_axis, ref_slice_axis, 1, {S4(3, 2, 4, 3)}, {ANY}, {2, 0, 3}, 0, 1e-4, {0}},
	{"slice_axis", OP_SLICE, b_slice_axis, ref_slice_axis, 1, {S4(4, 2, 2, 3)}, {ANY}, {0, 1, 2}, 0, 1e-4, {0}},
	{"slice_axis", OP_SLICE, b_slice_axis, ref_slice_axis, 1, {S1(7)}, {ANY}, {0, 2, 4}, 0, 1e-4, {0}},
	{"pad_axis", OP_PAD, b_pad_axis, ref_pad_axis, 1, {S4(2, 3, 4, 5)}, {ANY}, {2, 1, 0, 0}, 0, 1e-4, {0}},
	{"pad_axis", OP_PAD, b_pad_axis, ref_pad_axis, 1, {S4(2, 3, 4, 5)}, {ANY}, {3, 2, 1, -1}, 0, 1e-4, {0}},
	{"pad_axis", OP_PAD, b_pad_axis, ref_pad_axis, 1, {S4(2, 3, 2, 3)}, {ANY}, {1, 1, 2, 0.5f}, 0, 1e-4, {0}},
	{"pad_axis", OP_PAD, b_pad_axis, ref_pad_axis, 1, {S4(2, 3, 2, 3)}, {ANY}, {0, 0, 1, 0}, 0, 1e-4, {0}},
	{"pad_axis", OP_PAD, b_pad_axis, ref_pad_axis, 1, {S1(5)}, {ANY}, {0, 3, 2, 2}, 0, 1e-4, {0}},
	{"concat", OP_NONE, b_concat, ref_concat, 2, {S3(2, 3, 5), S3(2, 4, 5)}, {ANY, ANY}, {0}, 0, 1e-4, {0}},
	{"softmax", OP_SOFTMAX, b_softmax, ref_softmax, 1, {S2(3, 7)}, {ANY}, {0}, 1e-6, 1e-4, {0}},
	{"log_softmax", OP_LOG_SOFTMAX, b_softmax, ref_softmax, 1, {S3(2, 3, 7)}, {ANY}, {0}, 1e-6, 1e-4, {0}},
	{"softmax_axis", OP_SOFTMAX, b_softmax, ref_softmax, 1, {S3(3, 7, 5)}, {ANY}, {1}, 1e-6, 1e-4, {0}},
	{"softmax_axis", OP_SOFTMAX, b_softmax, ref_softmax, 1, {S2(7, 3)}, {ANY}, {0}, 1e-6, 1e-4, {0}},
	{"log_softmax_axis", OP_LOG_SOFTMAX, b_softmax, ref_softmax, 1, {S4(2, 5, 3, 3)}, {ANY}, {1}, 1e-6, 1e-4, {0}},
	{"log_softmax_axis", OP_LOG_SOFTMAX, b_softmax, ref_softmax, 1, {S3(2, 3, 7)}, {ANY}, {-1}, 1e-6, 1e-4, {0}},
	{"conv2d", OP_CONV, b_conv, ref_conv, 3, {S4(2, 3, 7, 6), S4(5, 3, 3, 3), S1(5)}, {ANY, ANY, ANY}, {1, 1, 1, 0}, 1e-5, 1e-4, {0}},
	{"conv2d", OP_CONV, b_conv, ref_conv, 3, {S4(2, 2, 9, 7), S4(3, 2, 3, 2), S1(3)}, {ANY, ANY, ANY}, {2, 1, 2, 0}, 1e-5, 1e-4, {0}},
	{"conv2d+relu", OP_NONE, b_conv, ref_conv, 3, {S4(2, 3, 5, 7), S4(4, 3, 3, 3), S1(4)}, {ANY, ANY, ANY}, {1, 1, 1, 0}, 1e-5, 1e-4, {0}},
	/* a kernel as large as its unpadded input: one pixel, a matrix product */
	{"conv2d", OP_NONE, b_conv, ref_conv, 3, {S4(3, 2, 3, 4), S4(5, 2, 3, 4), S1(5)}, {ANY, ANY, ANY}, {1, 0, 1, 0}, 1e-5, 1e-4, {0}},
	{"conv_transpose2d", OP_CONV_BWD_DATA, b_conv, ref_deconv, 2, {S4(2, 3, 4, 5), S4(3, 2, 3, 3)}, {ANY, ANY}, {2, 1, 1, 1}, 1e-5, 1e-4, {0}},
	{"masked_conv2d", OP_NONE, b_masked, ref_masked, 2, {S4(2, 2, 5, 5), S4(3, 2, 3, 3)}, {ANY, ANY}, {0, 0, 0, 0}, 1e-5, 1e-4, {0}},
	{"masked_conv2d", OP_NONE, b_masked, ref_masked, 2, {S4(1, 2, 4, 5), S4(2, 2, 5, 5)}, {ANY, ANY}, {0, 0, 0, 1}, 1e-5, 1e-4, {0}},
	/* the kept rows padded less below (p[0]: padding past KH/2), and
	 * padding too small for that: the whole masked kernel */
	{"masked_conv2d", OP_NONE, b_masked, ref_masked, 2, {S4(2, 3, 6, 5), S4(4, 3, 5, 3)}, {ANY, ANY}, {1, 0, 0, 1}, 1e-5, 1e-4, {0}},
	{"masked_conv2d", OP_NONE, b_masked, ref_masked, 2, {S4(1, 2, 6, 7), S4(3, 2, 5, 5)}, {ANY, ANY}, {-1, 0, 0, 0}, 1e-5, 1e-4, {0}},
	{"masked_conv2d", OP_NONE, b_masked, ref_masked, 2, {S4(2, 1, 8, 8), S4(4, 1, 7, 7)}, {ANY, ANY}, {0, 0, 0, 0}, 1e-5, 1e-4, {0}},
	{"upsample_nearest", OP_NONE, b_image, ref_upsample, 1, {S4(2, 3, 3, 2)}, {ANY}, {3}, 0, 1e-4, {0}},
	{"upsample_bilinear", OP_NONE, b_image, ref_upsample, 1, {S4(1, 2, 3, 5)}, {ANY}, {2}, 1e-5, 1e-4, {0}},
	/* 2× at odd sizes, a single row (both of its taps are the edge), 3× */
	{"upsample_nearest", OP_NONE, b_image, ref_upsample, 1, {S4(2, 3, 5, 7)}, {ANY}, {2}, 0, 1e-4, {0}},
	{"upsample_bilinear", OP_NONE, b_image, ref_upsample, 1, {S4(2, 3, 5, 7)}, {ANY}, {2}, 1e-5, 1e-4, {0}},
	{"upsample_bilinear", OP_NONE, b_image, ref_upsample, 1, {S4(3, 1, 1, 3)}, {ANY}, {2}, 1e-5, 1e-4, {0}},
	{"upsample_bilinear", OP_NONE, b_image, ref_upsample, 1, {S4(1, 2, 3, 4)}, {ANY}, {3}, 1e-5, 1e-4, {0}},
	/* (left, right, top, bottom); reflection up to size - 1, replication beyond the size */
	{"reflection_pad2d", OP_NONE, b_pad2d, ref_pad2d, 1, {S4(2, 3, 5, 4)}, {ANY}, {3, 1, 2, 4}, 0, 1e-4, {0}},
	{"reflection_pad2d", OP_NONE, b_pad2d, ref_pad2d, 1, {S3(3, 4, 6)}, {ANY}, {1, 2, 3, 0}, 0, 1e-4, {0}},
	{"replication_pad2d", OP_NONE, b_pad2d, ref_pad2d, 1, {S4(2, 2, 3, 5)}, {ANY}, {4, 0, 1, 5}, 0, 1e-4, {0}},
	{"replication_pad2d", OP_NONE, b_pad2d, ref_pad2d, 1, {S2(1, 1)}, {ANY}, {2, 3, 1, 0}, 0, 1e-4, {0}},
	/* second derivatives: the adjoint's adjoint */
	{"upsample_bilinear_gradgrad", OP_NONE, b_gradgrad, ref_gradgrad, 1, {S4(1, 2, 3, 5)}, {ANY}, {2}, 1e-5, 1e-4, {0}},
	{"reflection_pad2d_gradgrad", OP_NONE, b_gradgrad, ref_gradgrad, 1, {S4(1, 2, 4, 3)}, {ANY}, {2, 1, 0, 3}, 1e-5, 1e-4, {0}},
	{"replication_pad2d_gradgrad", OP_NONE, b_gradgrad, ref_gradgrad, 1, {S3(2, 3, 2)}, {ANY}, {3, 0, 2, 1}, 1e-5, 1e-4, {0}},
	{"avg_pool", OP_NONE, b_image, ref_pool, 1, {S4(2, 3, 6, 4)}, {ANY}, {2}, 1e-6, 1e-4, {0}},
	{"max_pool", OP_NONE, b_image, ref_pool, 1, {S4(2, 3, 6, 9)}, {DISTINCT}, {3}, 0, 1e-4, {0}},
	/* grouped, per-axis and 3-d convolutions: p[0] is the row of convcfg[] */
	{"conv_nd groups 2", OP_CONV_ND, b_conv_nd, ref_conv_nd, 3, {S4(2, 4, 7, 6), S4(6, 2, 3, 3), S1(6)}, {ANY, ANY, ANY}, {0}, 1e-5, 1e-4, {0}},
	{"conv_nd depthwise", OP_CONV_ND, b_conv_nd, ref_conv_nd, 3, {S4(2, 3, 9, 7), S4(3, 1, 3, 3), S1(3)}, {ANY, ANY, ANY}, {1}, 1e-5, 1e-4, {0}},
	{"conv_nd depth x2", OP_CONV_ND, b_conv_nd, ref_conv_nd, 2, {S4(1, 3, 8, 7), S4(6, 1, 3, 2)}, {ANY, ANY}, {2}, 1e-5, 1e-4, {0}},
	{"conv_nd per-axis", OP_CONV_ND, b_conv_nd, ref_conv_nd, 3, {S4(2, 3, 7, 9), S4(4, 3, 2, 3), S1(4)}, {ANY, ANY, ANY}, {3}, 1e-5, 1e-4, {0}},
	{"conv_nd uniform", OP_CONV, b_conv_nd, ref_conv_nd, 2, {S4(2, 2, 10, 8), S4(3, 2, 3, 3)}, {ANY, ANY}, {4}, 1e-5, 1e-4, {0}},
	{"conv_transpose_nd groups 2", OP_CONV_ND_BWD_DATA, b_conv_nd, ref_conv_nd, 3, {S4(2, 4, 4, 5), S4(4, 3, 3, 3), S1(6)}, {ANY, ANY, ANY}, {5}, 1e-5, 1e-4, {0}},
	{"conv_transpose_nd depthwise", OP_CONV_ND_BWD_DATA, b_conv_nd, ref_conv_nd, 2, {S4(1, 3, 5, 4), S4(3, 1, 3, 3)}, {ANY, ANY}, {6}, 1e-5, 1e-4, {0}},
	{"conv3d", OP_CONV_ND, b_conv_nd, ref_conv_nd, 3, {S5(2, 3, 5, 6, 7), S5(4, 3, 3, 3, 3), S1(4)}, {ANY, ANY, ANY}, {7}, 1e-5, 1e-4, {0}},
	{"conv_nd 3-d per-axis", OP_CONV_ND, b_conv_nd, ref_conv_nd, 2, {S5(1, 2, 7, 5, 6), S5(3, 2, 3, 2, 3)}, {ANY, ANY}, {8}, 1e-5, 1e-4, {0}},
	{"conv_nd 3-d groups 2", OP_CONV_ND, b_conv_nd, ref_conv_nd, 3, {S5(2, 4, 4, 5, 3), S5(2, 2, 3, 3, 1), S1(2)}, {ANY, ANY, ANY}, {9}, 1e-5, 1e-4, {0}},
	{"conv_nd 3-d depthwise", OP_CONV_ND, b_conv_nd, ref_conv_nd, 2, {S5(1, 5, 3, 4, 5), S5(5, 1, 3, 3, 3)}, {ANY, ANY}, {12}, 1e-5, 1e-4, {0}},
	{"conv_transpose3d", OP_CONV_ND_BWD_DATA, b_conv_nd, ref_conv_nd, 3, {S5(1, 3, 3, 4, 3), S5(3, 2, 3, 3, 3), S1(2)}, {ANY, ANY, ANY}, {10}, 1e-5, 1e-4, {0}},
	{"conv_transpose_nd 3-d groups 3", OP_CONV_ND_BWD_DATA, b_conv_nd, ref_conv_nd, 2, {S5(2, 3, 2, 3, 3), S5(3, 2, 2, 2, 2)}, {ANY, ANY}, {11}, 1e-5, 1e-4, {0}},
	{"conv_nd filter gradient, groups 2", OP_CONV_ND_BWD_FILTER, b_conv_nd_dw, ref_conv_nd, 3, {S4(2, 4, 7, 6), S4(2, 6, 7, 6), S4(6, 2, 3, 3)}, {ANY, ANY, NOGRAD}, {0}, 1e-5, 1e-4, {0}},
	{"conv_nd 3-d filter gradient", OP_CONV_ND_BWD_FILTER, b_conv_nd_dw, ref_conv_nd, 3, {S5(1, 2, 7, 5, 6), S5(1, 3, 4, 3, 3), S5(3, 2, 3, 2, 3)}, {ANY, ANY, NOGRAD}, {8}, 1e-5, 1e-4, {0}},
	/* pooling with padding and any stride: p[0] is the row of poolcfg[] */
	{"max_pool2d k3 s2 p1", OP_MAX_POOL, b_pool_nd, ref_pool_nd, 1, {S4(2, 3, 7, 9)}, {DISTINCT}, {0}, 0, 1e-4, {0}},
	{"max_pool2d k2 s3 p1", OP_MAX_POOL, b_pool_nd, ref_pool_nd, 1, {S4(1, 2, 8, 5)}, {DISTINCT}, {1}, 0, 1e-4, {0}},
	{"max_pool2d k3 s1", OP_MAX_POOL, b_pool_nd, ref_pool_nd, 1, {S4(2, 2, 5, 7)}, {DISTINCT}, {7}, 0, 1e-4, {0}},
	{"avg_pool2d k3 s2 p1 pad counted", OP_AVG_POOL, b_pool_nd, ref_pool_nd, 1, {S4(2, 3, 7, 6)}, {ANY}, {2}, 1e-6, 1e-4, {0}},
	{"avg_pool2d k3 s1 p1", OP_AVG_POOL, b_pool_nd, ref_pool_nd, 1, {S4(2, 2, 9, 7)}, {ANY}, {3}, 1e-6, 1e-4, {0}},
	{"avg_pool2d k2 s3 p1", OP_AVG_POOL, b_pool_nd, ref_pool_nd, 1, {S4(1, 3, 8, 7)}, {ANY}, {4}, 1e-6, 1e-4, {0}},
	{"max_pool3d k3 s2 p1", OP_MAX_POOL, b_pool_nd, ref_pool_nd, 1, {S5(2, 2, 5, 6, 7)}, {DISTINCT}, {0}, 0, 1e-4, {0}},
	{"avg_pool3d k2 s2 p1 pad counted", OP_AVG_POOL, b_pool_nd, ref_pool_nd, 1, {S5(1, 2, 5, 4, 7)}, {ANY}, {5}, 1e-6, 1e-4, {0}},
	{"avg_pool3d k3 s1 p1", OP_AVG_POOL, b_pool_nd, ref_pool_nd, 1, {S5(2, 1, 6, 5, 5)}, {ANY}, {3}, 1e-6, 1e-4, {0}},
	{"max_pool2d gradient", OP_MAX_POOL_BWD, b_pool_nd, ref_pool_nd, 2, {S4(2, 2, 7, 6), S4(2, 2, 4, 3)}, {DISTINCT, ANY}, {6}, 1e-6, 1e-4, {0}},
	/* small integers: ties, which the first maximum of a window wins */
	{"max_pool2d gradient, ties", OP_MAX_POOL_BWD, b_pool_nd, ref_pool_nd, 2, {S4(2, 3, 7, 7), S4(2, 3, 4, 4)}, {FIDX, ANY}, {6}, 1e-6, 1e-4, {0}},
	{"max_pool3d gradient", OP_MAX_POOL_BWD, b_pool_nd, ref_pool_nd, 2, {S5(1, 2, 5, 4, 5), S5(1, 2, 3, 2, 3)}, {DISTINCT, ANY}, {6}, 1e-6, 1e-4, {0}},
	{"batch_norm", OP_NONE, b_norm, ref_norm, 3, {S4(4, 3, 3, 2), S1(3), S1(3)}, {ANY, ANY, ANY}, {1e-5f}, 1e-4, 2e-3, {0}},
	{"batch_norm", OP_NONE, b_norm, ref_norm, 3, {S2(7, 5), S1(5), S1(5)}, {ANY, ANY, ANY}, {1e-5f}, 1e-4, 2e-3, {0}},
	{"layer_norm", OP_NONE, b_norm, ref_norm, 3, {S3(3, 5, 2), S2(5, 2), S2(5, 2)}, {ANY, ANY, ANY}, {1e-5f}, 1e-4, 2e-3, {0}},
	{"instance_norm", OP_NONE, b_norm, ref_norm, 3, {S4(2, 3, 3, 3), S1(3), S1(3)}, {ANY, ANY, ANY}, {1e-5f}, 1e-4, 2e-3, {0}},
	/* PyTorch's definitions at odd shapes; an eps of 0.5 tells whether it is
	 * inside the root (var + eps) */
	{"layer_norm", OP_NONE, b_norm, ref_norm, 3, {S2(5, 7), S1(7), S1(7)}, {ANY, ANY, ANY}, {0.5f}, 1e-5, 2e-3, {0}},
	{"layer_norm", OP_NONE, b_norm, ref_norm, 3, {S4(2, 3, 5, 3), S3(3, 5, 3), S3(3, 5, 3)}, {ANY, ANY, ANY}, {1e-5f}, 1e-4, 2e-3, {0}},
	{"instance_norm", OP_NONE, b_norm, ref_norm, 3, {S4(3, 2, 5, 7), S1(2), S1(2)}, {ANY, ANY, ANY}, {0.5f}, 1e-5, 2e-3, {0}},
	{"pixel_norm", OP_NONE, b_gan, ref_pixel_norm, 1, {S4(2, 5, 3, 3)}, {ANY}, {1e-8f}, 1e-5, 1e-3, {0}},
	{"pixel_norm", OP_NONE, b_gan, ref_pixel_norm, 1, {S2(3, 7)}, {ANY}, {0.25f}, 1e-5, 1e-3, {0}},
	{"adain", OP_NONE, b_gan, ref_adain, 3, {S4(2, 3, 5, 3), S2(2, 3), S2(2, 3)}, {ANY, ANY, ANY}, {1e-5f}, 1e-4, 2e-3, {0}},
	{"adain", OP_NONE, b_gan, ref_adain, 3, {S4(3, 2, 1, 5), S2(3, 2), S2(3, 2)}, {ANY, ANY, ANY}, {0.5f}, 1e-5, 2e-3, {0}},
	{"minibatch_stddev", OP_NONE, b_gan, ref_mbstd, 1, {S4(6, 3, 3, 5)}, {ANY}, {0}, 1e-5, 1e-3, {0}},
	{"minibatch_stddev", OP_NONE, b_gan, ref_mbstd, 1, {S4(6, 2, 3, 3)}, {ANY}, {2}, 1e-5, 1e-3, {0}},
	{"minibatch_stddev", OP_NONE, b_gan, ref_mbstd, 1, {S4(6, 3, 1, 2)}, {ANY}, {3}, 1e-5, 1e-3, {0}},
	{"gated_activation", OP_GATE, b_gan, ref_gated, 1, {S4(2, 6, 3, 5)}, {ANY}, {1}, 1e-6, 1e-4, {0}},
	{"gated_activation", OP_GATE, b_gan, ref_gated, 1, {S2(3, 10)}, {ANY}, {-1}, 1e-6, 1e-4, {0}},
	{"gated_activation", OP_GATE, b_gan, ref_gated, 1, {S3(4, 3, 2)}, {ANY}, {0}, 1e-6, 1e-4, {0}},
	/* its backward op, and through the row's gradients that op's own */
	{"gated_activation_bwd", OP_GATE_BWD, b_gan, ref_gated_bwd, 2, {S4(2, 6, 3, 5), S4(2, 3, 3, 5)}, {ANY, ANY}, {1}, 1e-6, 1e-4, {0}},
	{"gated_activation_bwd", OP_GATE_BWD, b_gan, ref_gated_bwd, 2, {S2(3, 10), S2(3, 5)}, {ANY, ANY}, {-1}, 1e-6, 1e-4, {0}},
	/* (kind, colour groups): vertical 2×3, shifted 2×5, a single row; horizontal 1×3 'A' and 'B' with RGB groups, 1×2 'A' without */
	{"causal_conv2d", OP_NONE, b_causal, ref_causal, 3, {S4(2, 2, 5, 4), S4(3, 2, 2, 3), S1(3)}, {ANY, ANY, ANY}, {0, 0}, 1e-5, 1e-4, {0}},
	{"causal_conv2d", OP_NONE, b_causal, ref_causal, 3, {S4(2, 2, 4, 5), S4(3, 2, 2, 5), S1(3)}, {ANY, ANY, ANY}, {1, 0}, 1e-5, 1e-4, {0}},
	{"causal_conv2d", OP_NONE, b_causal, ref_causal, 3, {S4(2, 1, 1, 5), S4(2, 1, 3, 3), S1(2)}, {ANY, ANY, ANY}, {1, 0}, 1e-5, 1e-4, {0}},
	{"causal_conv2d", OP_NONE, b_causal, ref_causal, 3, {S4(2, 3, 3, 5), S4(6, 3, 1, 3), S1(6)}, {ANY, ANY, ANY}, {2, 3}, 1e-5, 1e-4, {0}},
	{"causal_conv2d", OP_NONE, b_causal, ref_causal, 3, {S4(1, 6, 3, 4), S4(3, 6, 1, 3), S1(3)}, {ANY, ANY, ANY}, {3, 3}, 1e-5, 1e-4, {0}},
	{"causal_conv2d", OP_NONE, b_causal, ref_causal, 3, {S4(2, 2, 3, 5), S4(3, 2, 1, 2), S1(3)}, {ANY, ANY, ANY}, {2, 0}, 1e-5, 1e-4, {0}},
	{"lstm_cell", OP_NONE, b_lstm, ref_lstm, 5, {S2(3, 5), S2(3, 4), S2(3, 4), S2(16, 9), S1(16)}, {ANY, ANY, ANY, ANY, ANY}, {0}, 1e-5, 1e-4, {0}},
	{"embedding", OP_GATHER, b_embedding, ref_embedding, 2, {S2(7, 5), S1(11)}, {ANY, IDX}, {7}, 0, 1e-4, {0}},
	{"pick", OP_PICK, b_pick, ref_pick, 2, {S3(2, 3, 7), S2(2, 3)}, {ANY, IDX}, {7}, 0, 1e-4, {0}},
	{"one_hot", OP_ONE_HOT, b_one_hot, ref_one_hot, 1, {S2(3, 5)}, {IDX}, {7}, 0, 1e-4, {0}},
	/* f32 indices; a table of more than 32 rows (vulkan's scatter-add by columns) */
	{"embedding", OP_GATHER, b_embedding, ref_embedding, 2, {S2(40, 3), S2(3, 7)}, {ANY, FIDX}, {40}, 0, 1e-4, {0}},
	{"one_hot", OP_ONE_HOT, b_one_hot, ref_one_hot, 1, {S1(9)}, {FIDX}, {4}, 0, 1e-4, {0}},
	{"cast_u8", OP_CAST, b_cast, ref_cast, 1, {S2(7, 3)}, {U8}, {0, 1 / 255.0f}, 1e-7, 0, {0}},
	{"cast_i32", OP_CAST, b_cast, ref_cast, 1, {S3(2, 3, 5)}, {IDX}, {100, -0.5f}, 0, 0, {0}},
	{"argmax", OP_ARGMAX, b_argmax, ref_argmax, 1, {S3(2, 5, 7)}, {DISTINCT}, {0}, 0, 0, {0}},
	/* long reductions to few outputs (vulkan: a workgroup per output) */
	{"sum", OP_SUM_TO, b_reduce, ref_reduce, 1, {S2(43, 97)}, {ANY}, {3}, 1e-5, 1e-4, {0}},
	{"max", OP_MAX_TO, b_reduce, ref_reduce, 1, {S3(3, 97, 11)}, {DISTINCT}, {5}, 0, 1e-4, {0}},
	{"softmax", OP_SOFTMAX, b_softmax, ref_softmax, 1, {S2(3, 300)}, {ANY}, {0}, 1e-6, 1e-4, {0}},
	/* aligned runs (vulkan: vec4 loads): a workgroup per output over one
	 * contiguous run; four neighbouring outputs per invocation */
	{"sum", OP_SUM_TO, b_reduce, ref_reduce, 1, {S2(16, 40)}, {ANY}, {3}, 1e-5, 1e-4, {0}},
	{"max", OP_MAX_TO, b_reduce, ref_reduce, 1, {S2(16, 40)}, {DISTINCT}, {3}, 0, 1e-4, {0}},
	{"sum", OP_SUM_TO, b_reduce, ref_reduce, 1, {S3(4, 6, 8)}, {ANY}, {1}, 1e-5, 1e-4, {0}},
	{"max", OP_MAX_TO, b_reduce, ref_reduce, 1, {S3(4, 6, 8)}, {DISTINCT}, {1}, 0, 1e-4, {0}},
	{"sum", OP_SUM_TO, b_reduce, ref_reduce, 1, {S3(2, 64, 8)}, {ANY}, {2}, 1e-5, 1e-4, {0}},
	{"mse_loss", OP_NONE, b_loss, ref_loss, 2, {S2(5, 7), S2(5, 7)}, {ANY, ANY}, {0}, 1e-5, 1e-4, {0}},
	{"l1_loss", OP_NONE, b_loss, ref_loss, 2, {S2(5, 7), S2(5, 7)}, {ANY, DISTINCT}, {0}, 1e-5, 1e-4, {0}},
	{"bce_logits_loss", OP_NONE, b_loss, ref_loss, 2, {S2(5, 7), S2(5, 7)}, {ANY, NOGRAD}, {0}, 1e-5, 1e-4, {0}},
	{"softmax_cross_entropy", OP_NONE, b_loss, ref_loss, 2, {S2(6, 7), S1(6)}, {ANY, IDX}, {7}, 1e-5, 1e-4, {0}},
	{"kl_normal", OP_NONE, b_loss, ref_loss, 2, {S2(5, 3), S2(5, 3)}, {ANY, ANY}, {0}, 1e-5, 1e-4, {0}},
	{"gaussian_nll", OP_NONE, b_loss, ref_loss, 3, {S2(5, 3), S2(5, 3), S2(5, 3)}, {ANY, ANY, ANY}, {0}, 1e-5, 1e-4, {0}},
};

/* ---- the driver ------------------------------------------------------------------- */

static void fill(double *v, uint64_t n, int kind, float p0)
{
	for (uint64_t i = 0; i < n; i++) {
		double u = urand();
		switch (kind) {
		case POS: v[i] = 0.2 + 1.8 * u; break;
		case IDX: case FIDX: v[i] = floor(u * p0); break;
		case U8: v[i] = floor(u * 256); break;
		case NOGRAD: v[i] = u; break;
		case DISTINCT:  /* spaced values in random order: no ties */
			v[i] = -1 + 2 * ((double)((i * 7919) % n) + 0.5 * u) / (double)n;
			break;
		default: v[i] = (u < 0.5 ? -1 : 1) * (0.05 + 0.95 * urand());
		}
	}
}

static int dtype_of(int kind)
{
	return kind == IDX ? DG_I32 : kind == U8 ? DG_U8 : DG_F32;
}

/* Gradients are checked for compositions and for ops with a gradient
 * (stop_gradient's is zero on purpose, not the finite difference). */
static int differentiable(const struct tc *t)
{
	return t->op == OP_NONE || !(dg_opdefs[t->op].flags & OPF_NODIFF);
}

static double loss_of(struct tc *t, double *const *in, const double *r, double *out)
{
	double s = 0;
	t->ref(t, in, out);
	for (uint64_t i = 0; i < count(&t->out); i++)
		s += out[i] * r[i];
	return s;
}

/* What one device computed: the output and the gradients of the inputs
 * gi[0..ngrad-1] of Σ y·rf. */
struct result {
	float *y, *g[MAXIN];
	size_t ngrad;
	int gi[MAXIN];
};

static void result_free(struct result *res)
{
	free(res->y);
	for (int k = 0; k < MAXIN; k++)
		free(res->g[k]);
}

/* The ops each backend ran in some row's graph: [0] cpu, [1] vulkan. */
static unsigned char covered[2][OP_COUNT];

/* Ops whose tests live in another file, which says so here. */
static const char *const elsewhere[OP_COUNT] = {
	[OP_RNG_UNIFORM] = "t_rng (Philox reference), t_vk_ops (vulkan = cpu bit for bit)",
	[OP_RNG_NORMAL] = "t_rng (Philox reference), t_vk_ops (vulkan = cpu bit for bit)",
	[OP_UPD_SGD] = "t_optim (double references, both backends)",
	[OP_UPD_ADAM] = "t_optim (double references, both backends)",
	[OP_UPD_RMSPROP] = "t_optim (double references, both backends)",
	[OP_ASSIGN] = "t_vk_ops (batch norm's running statistics, both backends)",
	[OP_EMA] = "t_optim (double references, both backends)",
};

/* Builds the case on device, feeds in[] (f32 inputs rounded in place to
 * what the device sees), runs once and reads every output.  The status
 * of the first failure: DG_ENODEV from compiling means the device lacks
 * an op. */
static int evaluate(struct tc *t, const char *device, double **in, const float *rf,
		    struct result *res)
{
	struct dg_graph *g = dg_graph_new(1);
	dg_tensor x[MAXIN], grads[MAXIN], outs[MAXIN + 1];
	struct dg_exec *e = NULL;
	int st;

	memset(res, 0, sizeof *res);
	for (int i = 0; i < t->nin; i++) {
		char nm[16];
		snprintf(nm, sizeof nm, "x%d", i);
		x[i] = dg_input(g, nm, dtype_of(t->kind[i]), t->in[i].r, t->in[i].d);
	}
	dg_tensor y = t->build(g, x, t);
	uint64_t ny = count(&t->out);
	outs[0] = y;
	if (differentiable(t)) {
		dg_tensor loss = dg_sum(g, dg_mul(g, y, dg_constant(g, t->out.r, t->out.d, rf)),
					DG_AXES_ALL, 0);
		dg_tensor wrt[MAXIN];
		for (int i = 0; i < t->nin; i++)
			if (t->kind[i] == ANY || t->kind[i] == POS || t->kind[i] == DISTINCT) {
				res->gi[res->ngrad] = i;
				wrt[res->ngrad++] = x[i];
			}
		dg_gradients(g, loss, res->ngrad, wrt, grads);
		for (size_t k = 0; k < res->ngrad; k++)
			outs[1 + k] = grads[k];
	}
	if ((st = dg_compile(g, device, 1 + res->ngrad, outs, 0, NULL, &e)))
		goto out;
	for (int i = 0; i < t->nin && !st; i++) {
		uint64_t n = count(&t->in[i]);
		char nm[16];
		void *v = malloc(n * 4);
		snprintf(nm, sizeof nm, "x%d", i);
		for (uint64_t k = 0; k < n; k++) {
			if (t->kind[i] == IDX) {
				((int32_t *)v)[k] = (int32_t)in[i][k];
			} else if (t->kind[i] == U8) {
				((uint8_t *)v)[k] = (uint8_t)in[i][k];
			} else {
				((float *)v)[k] = (float)in[i][k];
				in[i][k] = ((float *)v)[k];   /* the reference sees the same values */
			}
		}
		st = dg_exec_feed(e, nm, dtype_of(t->kind[i]), v, n);
		free(v);
	}
	if (st || (st = dg_exec_run(e)))
		goto out;
	for (size_t id = 1; id < g->nnodes; id++)
		covered[!strcmp(device, "vulkan")][g->nodes[id].op] = 1;
	res->y = malloc(ny * sizeof *res->y);
	st = dg_exec_read(e, 0, res->y, ny);
	for (size_t k = 0; k < res->ngrad && !st; k++) {
		uint64_t n = count(&t->in[res->gi[k]]);
		res->g[k] = malloc(n * sizeof *res->g[k]);
		st = dg_exec_read(e, 1 + k, res->g[k], n);
	}
out:
	dg_exec_free(e);
	dg_graph_free(g);
	return st;
}

/* The output shape, from a throwaway graph. */
static void infer_out(struct tc *t)
{
	struct dg_graph *g = dg_graph_new(1);
	dg_tensor x[MAXIN];
	for (int i = 0; i < t->nin; i++) {
		char nm[16];
		snprintf(nm, sizeof nm, "x%d", i);
		x[i] = dg_input(g, nm, dtype_of(t->kind[i]), t->in[i].r, t->in[i].d);
	}
	t->out.r = dg_shape(g, t->build(g, x, t), t->out.d);
	dg_graph_free(g);
}

/* Largest difference of got from want, relative to max(1, |want|). */
static double max_err(const float *got, const double *want, const float *wantf, uint64_t n)
{
	double worst = 0;
	for (uint64_t i = 0; i < n; i++) {
		double w = want ? want[i] : wantf[i];
		double err = fabs(got[i] - w) / fmax(1, fabs(w));
		worst = fmax(worst, isnan(err) ? INFINITY : err);
	}
	return worst;
}

static void run_case(struct tc *t, const char *mode)
{
	double *in[MAXIN] = {0}, *r, *yref;
	struct result res, cpu = {0};
	char label[160];
	int vulkan = !strncmp(mode, "vulkan", 6);

	snprintf(label, sizeof label, "%s [%s] %u-d", t->name, mode, t->in[0].r);
	for (int i = 0; i < t->nin; i++) {
		in[i] = malloc(count(&t->in[i]) * sizeof(double));
		fill(in[i], count(&t->in[i]), t->kind[i], t->p[0]);
	}
	infer_out(t);
	uint64_t ny = count(&t->out);
	r = malloc(ny * sizeof *r);
	yref = malloc(ny * sizeof *yref);
	for (uint64_t i = 0; i < ny; i++)
		r[i] = 2 * urand() - 1;
	float *rf = malloc(ny * sizeof *rf);
	for (uint64_t i = 0; i < ny; i++)
		rf[i] = (float)r[i];
	int st = evaluate(t, vulkan ? "vulkan" : "cpu", in, rf, &res);
	/* Every op exists on both backends: a refusal is a failure here. */
	if (!ok(st == 0, "%s: compiles and runs", label)) {
		diag("%s", dg_errmsg());
		goto out;
	}
	loss_of(t, in, r, yref);
	double worst = max_err(res.y, yref, NULL, ny);
	if (!ok(worst <= t->tol_fwd + 2e-7, "%s: forward (max error %.2g, tolerance %.2g)", label,
		worst, t->tol_fwd + 2e-7))
		diag("first: got %g want %g", res.y[0], yref[0]);
	for (size_t k = 0; k < res.ngrad; k++) {
		int i = res.gi[k];
		uint64_t n = count(&t->in[i]);
		double gw = 0;
		/* Large inputs: finite differences at about 300 spread elements. */
		uint64_t step = n > 600 ? n / 300 : 1;
		for (uint64_t j = 0; j < n; j += step) {
			double keep = in[i][j], h = 1e-6 * fmax(1, fabs(keep));
			in[i][j] = keep + h;
			double lp = loss_of(t, in, r, yref);
			in[i][j] = keep - h;
			double lm = loss_of(t, in, r, yref);
			in[i][j] = keep;
			double fd = (lp - lm) / (2 * h);
			double err = fabs(res.g[k][j] - fd) / fmax(1, fabs(fd));
			gw = fmax(gw, isnan(err) ? INFINITY : err);
		}
		ok(gw <= t->tol_grad, "%s: gradient of input %d (max error %.2g, tolerance %.2g)",
		   label, i, gw, t->tol_grad);
	}
	/* The two backends against each other on the same inputs: within the
	 * forward tolerance (exact ops exactly, up to 1e-6 of rounding). */
	if (vulkan) {
		if (!ok(evaluate(t, "cpu", in, rf, &cpu) == 0, "%s: cpu runs too", label))
			goto out;
		double tol = t->tol_fwd + 1e-6;
		worst = max_err(res.y, NULL, cpu.y, ny);
		ok(worst <= tol, "%s: forward matches cpu (max difference %.2g)", label, worst);
		for (size_t k = 0; k < res.ngrad; k++) {
			worst = max_err(res.g[k], NULL, cpu.g[k], count(&t->in[res.gi[k]]));
			ok(worst <= 1e-5, "%s: gradient of input %d matches cpu (max difference %.2g)",
			   label, res.gi[k], worst);
		}
	}
out:
	result_free(&res);
	result_free(&cpu);
	for (int i = 0; i < t->nin; i++)
		free(in[i]);
	free(r);
	free(rf);
	free(yref);
}

/* The op list as a checklist: an op that no row ran on the backend and
 * whose test is not elsewhere is a missing row. */
static void check_coverage(int vulkan)
{
	char missing[1024] = "";
	size_t len = 0, nmissing = 0;

	for (int op = 0; op < OP_COUNT; op++) {
		if ((dg_opdefs[op].flags & OPF_LEAF) || covered[vulkan][op] || elsewhere[op])
			continue;
		nmissing++;
		len += (size_t)snprintf(missing + len, len < sizeof missing ? sizeof missing - len : 0,
					" %s", dg_opdefs[op].name);
		if (len >= sizeof missing)
			len = sizeof missing - 1;
	}
	if (!ok(nmissing == 0, "[%s] every op of the op list runs in some row (%zu without one)",
		vulkan ? "vulkan" : "cpu", nmissing))
		diag("ops without a test row in t_ops.c:%s", missing);
}

int main(int argc, char **argv)
{
	size_t n = sizeof cases / sizeof cases[0];
	for (size_t i = 0; i < n; i++)
		if (!cases[i].name)
			cases[i].name = dg_opdefs[cases[i].op].name;
	/* lavapipe's worker threads cost more than they give on graphs of
	 * tiny dispatches (here, on a busy machine, 20 ms per XOR step against
	 * 0.4 ms without); an explicit setting wins. */
	setenv("LP_NUM_THREADS", "0", 0);
	setenv("DG_GUARD", "1", 0);
	/* `t_ops vulkan` runs the vulkan part alone (vk-validation.t). */
	int only_vk = argc > 1 && !strcmp(argv[1], "vulkan");
	for (size_t i = 0; i < n && !only_vk; i++)
		run_case(&cases[i], "onednn");
	if (!only_vk)
		check_coverage(0);
	setenv("DG_NO_DNNL", "1", 1);
	for (size_t i = 0; i < n && !only_vk; i++)
		if (!strcmp(cases[i].name, "matmul") || strstr(cases[i].name, "conv") ||
		    strstr(cases[i].name, "pool") || !strcmp(cases[i].name, "linear"))
			run_case(&cases[i], "plain C");
	unsetenv("DG_NO_DNNL");
	/* The same table on the vulkan backend (lavapipe here), for the ops it
	 * has; the cpu results above are checked against the same reference. */
	struct dg_device_info dev;
	if (!dg_device_select("vulkan", &dev)) {
		for (size_t i = 0; i < n; i++)
			run_case(&cases[i], "vulkan");
		check_coverage(1);
		/* The general convolutions again through storage buffers, the
		 * shader's fallback where texel views cannot be made. */
		setenv("DG_VK_CONV_STORAGE", "1", 1);
		for (size_t i = 0; i < n; i++)
			if (cases[i].op >= OP_CONV_ND && cases[i].op <= OP_CONV_ND_BWD_FILTER)
				run_case(&cases[i], "vulkan storage");
		unsetenv("DG_VK_CONV_STORAGE");
	} else {
		diag("no Vulkan device: %s", dg_errmsg());
	}
	return done_testing();
}
