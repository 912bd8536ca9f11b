/* t_ops.c — every graph op, forward and backward, against a plain
 * double-precision reference on odd shapes; gradients against central
 * finite differences of that reference.
 *
 * How to add an op test: write `ref_x(const struct tc *t, double *const *in,
 * double *out)` computing the op in double from the inputs' shapes (t->in)
 * and the output shape (t->out), a `build_x` that applies the op to the
 * graph inputs, and add a row to cases[] with the input shapes, value
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
 * same inputs.  `t_ops vulkan` runs only the vulkan part. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"
#include "tap.h"

enum { ANY = 0, POS, IDX, NOGRAD, DISTINCT, U8, FIDX };

struct shape {
	unsigned r;
	uint64_t d[DG_MAX_RANK];
};

struct tc;
typedef dg_tensor (*build_fn)(struct dg_graph *g, const dg_tensor *x, const struct tc *t);
typedef void (*ref_fn)(const struct tc *t, double *const *in, double *out);

struct tc {
	const char *name;
	build_fn build;
	ref_fn ref;
	int nin;
	struct shape in[3];
	int kind[3];
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

static double unary(const struct tc *t, double v)
{
	double p = t->p[0], q = t->p[1];
	const char *n = t->name;
	if (!strcmp(n, "affine")) return p * v + q;
	if (!strcmp(n, "exp")) return exp(v);
	if (!strcmp(n, "log")) return log(v);
	if (!strcmp(n, "sqrt")) return sqrt(v);
	if (!strcmp(n, "rsqrt")) return 1 / sqrt(v);
	if (!strcmp(n, "abs")) return fabs(v);
	if (!strcmp(n, "relu")) return v > 0 ? v : 0;
	if (!strcmp(n, "leaky_relu")) return v > 0 ? v : p * v;
	if (!strcmp(n, "elu")) return v > 0 ? v : p * (exp(v) - 1);
	if (!strcmp(n, "tanh")) return tanh(v);
	if (!strcmp(n, "sigmoid")) return 1 / (1 + exp(-v));
	if (!strcmp(n, "softplus")) return log1p(exp(v));
	if (!strcmp(n, "clamp")) return v < p ? p : v > q ? q : v;
	if (!strcmp(n, "pow")) return pow(v, p);
	if (!strcmp(n, "square")) return v * v;
	if (!strcmp(n, "neg")) return -v;
	return NAN;
}

static void ref_unary(const struct tc *t, double *const *in, double *out)
{
	for (uint64_t i = 0; i < count(&t->out); i++)
		out[i] = unary(t, in[0][i]);
}

static double binary(const char *n, double a, double b)
{
	if (!strcmp(n, "add")) return a + b;
	if (!strcmp(n, "sub")) return a - b;
	if (!strcmp(n, "mul")) return a * b;
	if (!strcmp(n, "div")) return a / b;
	if (!strcmp(n, "maximum")) return a > b ? a : b;
	if (!strcmp(n, "minimum")) return a < b ? a : b;
	return NAN;
}

static void ref_binary(const struct tc *t, double *const *in, double *out)
{
	for (uint64_t i = 0; i < count(&t->out); i++)
		out[i] = binary(t->name, in[0][bidx(&t->out, &t->in[0], i)],
				in[1][bidx(&t->out, &t->in[1], i)]);
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

/* C = op(A)·op(B), batched; p[0], p[1] transpose flags. */
static void ref_matmul(const struct tc *t, double *const *in, double *out)
{
	const struct shape *a = &t->in[0], *b = &t->in[1];
	int ta = t->p[0] != 0, tb = t->p[1] != 0;
	uint64_t batch = a->r == 3 ? a->d[0] : 1;
	uint64_t m = t->out.d[t->out.r - 2], n = t->out.d[t->out.r - 1];
	uint64_t k = ta ? a->d[a->r - 2] : a->d[a->r - 1];
	for (uint64_t bi = 0; bi < batch; bi++) {
		const double *A = in[0] + bi * m * k, *B = in[1] + (b->r == 3 ? bi * k * n : 0);
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

static void ref_softmax(const struct tc *t, double *const *in, double *out)
{
	uint64_t k = t->out.d[t->out.r - 1], rows = count(&t->out) / k;
	for (uint64_t r = 0; r < rows; r++) {
		double m = -INFINITY, s = 0;
		for (uint64_t i = 0; i < k; i++)
			m = fmax(m, in[0][r * k + i]);
		for (uint64_t i = 0; i < k; i++)
			s += exp(in[0][r * k + i] - m);
		for (uint64_t i = 0; i < k; i++) {
			double ls = in[0][r * k + i] - m - log(s);
			out[r * k + i] = !strcmp(t->name, "log_softmax") ? ls : exp(ls);
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
		 1, (int64_t)(kh / 2), 1);
	free(wm);
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

static dg_tensor b_unary(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	const char *n = t->name;
	float p = t->p[0], q = t->p[1];
	if (!strcmp(n, "affine")) return dg_affine(g, x[0], p, q);
	if (!strcmp(n, "exp")) return dg_exp(g, x[0]);
	if (!strcmp(n, "log")) return dg_log(g, x[0]);
	if (!strcmp(n, "sqrt")) return dg_sqrt(g, x[0]);
	if (!strcmp(n, "rsqrt")) return dg_rsqrt(g, x[0]);
	if (!strcmp(n, "abs")) return dg_abs(g, x[0]);
	if (!strcmp(n, "relu")) return dg_relu(g, x[0]);
	if (!strcmp(n, "leaky_relu")) return dg_leaky_relu(g, x[0], p);
	if (!strcmp(n, "elu")) return dg_elu(g, x[0], p);
	if (!strcmp(n, "tanh")) return dg_tanh(g, x[0]);
	if (!strcmp(n, "sigmoid")) return dg_sigmoid(g, x[0]);
	if (!strcmp(n, "softplus")) return dg_softplus(g, x[0]);
	if (!strcmp(n, "clamp")) return dg_clamp(g, x[0], p, q);
	if (!strcmp(n, "pow")) return dg_pow_scalar(g, x[0], p);
	if (!strcmp(n, "square")) return dg_square(g, x[0]);
	if (!strcmp(n, "neg")) return dg_neg(g, x[0]);
	return DG_NONE;
}

static dg_tensor b_binary(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	const char *n = t->name;
	if (!strcmp(n, "add")) return dg_add(g, x[0], x[1]);
	if (!strcmp(n, "sub")) return dg_sub(g, x[0], x[1]);
	if (!strcmp(n, "mul")) return dg_mul(g, x[0], x[1]);
	if (!strcmp(n, "div")) return dg_div(g, x[0], x[1]);
	if (!strcmp(n, "maximum")) return dg_maximum(g, x[0], x[1]);
	if (!strcmp(n, "minimum")) return dg_minimum(g, x[0], x[1]);
	return DG_NONE;
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
	struct dg_conv p = {1, (unsigned)(t->in[1].d[2] / 2), 1, 0};
	return dg_masked_conv2d(g, x[0], x[1], DG_NONE, &p, t->p[3] != 0 ? 'B' : 'A', 1);
}

static dg_tensor b_image(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	unsigned f = (unsigned)t->p[0];
	if (!strcmp(t->name, "upsample_nearest")) return dg_upsample_nearest(g, x[0], f);
	if (!strcmp(t->name, "upsample_bilinear")) return dg_upsample_bilinear(g, x[0], f);
	if (!strcmp(t->name, "avg_pool")) return dg_avg_pool(g, x[0], f);
	return dg_max_pool(g, x[0], f);
}

static dg_tensor b_norm(struct dg_graph *g, const dg_tensor *x, const struct tc *t)
{
	if (!strcmp(t->name, "batch_norm"))
		return dg_batch_norm(g, x[0], x[1], x[2], DG_NONE, DG_NONE, 1, 0.1f, t->p[0]);
	if (!strcmp(t->name, "layer_norm"))
		return dg_layer_norm(g, x[0], x[1], x[2], t->p[0]);
	return dg_instance_norm(g, x[0], x[1], x[2], t->p[0]);
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
#define UN(nm, kind, p0, p1, tf, tg) \
	{nm, b_unary, ref_unary, 1, {S2(3, 7)}, {kind}, {p0, p1}, tf, tg, {0}}
#define UNL(nm, kind, p0, p1, tf, tg) \
	{nm, b_unary, ref_unary, 1, {S2(43, 97)}, {kind}, {p0, p1}, tf, tg, {0}}
/* Counts that are multiples of 4 (vulkan: four elements per invocation). */
#define UN4(nm, kind, p0, p1, tf, tg) \
	{nm, b_unary, ref_unary, 1, {S2(4, 6)}, {kind}, {p0, p1}, tf, tg, {0}}
#define BI(nm, sa, sb, kb, tf, tg) \
	{nm, b_binary, ref_binary, 2, {sa, sb}, {DISTINCT, kb}, {0}, tf, tg, {0}}

static struct tc cases[] = {
	/* name, builder, reference, inputs, shapes, kinds, params, tol fwd, tol grad */
	UN("affine", ANY, 1.5f, -0.25f, 1e-6, 1e-4),
	UN("neg", ANY, 0, 0, 1e-6, 1e-4),
	UN("exp", ANY, 0, 0, 1e-6, 1e-4),
	UN("log", POS, 0, 0, 1e-6, 1e-4),
	UN("sqrt", POS, 0, 0, 1e-6, 1e-4),
	UN("rsqrt", POS, 0, 0, 1e-6, 1e-4),
	UN("abs", ANY, 0, 0, 1e-6, 1e-4),
	UN("square", ANY, 0, 0, 1e-6, 1e-4),
	UN("relu", ANY, 0, 0, 1e-6, 1e-4),
	UN("leaky_relu", ANY, 0.2f, 0, 1e-6, 1e-4),
	UN("elu", ANY, 1.3f, 0, 1e-6, 1e-4),
	UN("tanh", ANY, 0, 0, 1e-6, 1e-4),
	UN("sigmoid", ANY, 0, 0, 1e-6, 1e-4),
	UN("softplus", ANY, 0, 0, 1e-6, 1e-4),
	UN("clamp", ANY, -0.5f, 0.51f, 1e-6, 1e-4),
	UN("pow", POS, 2.5f, 0, 1e-6, 1e-4),
	UN("pow", ANY, 3, 0, 1e-6, 1e-4),      /* negative bases, odd power */
	/* Large enough (>= 4096 elements) for the cpu backend's oneDNN path. */
	UNL("exp", ANY, 0, 0, 1e-6, 1e-4),
	UNL("log", POS, 0, 0, 1e-5, 1e-4),   /* oneDNN's log: ~3e-6 near 1 */
	UNL("sqrt", POS, 0, 0, 1e-6, 1e-4),
	UNL("tanh", ANY, 0, 0, 1e-6, 1e-4),
	UNL("sigmoid", ANY, 0, 0, 1e-6, 1e-4),
	UNL("softplus", ANY, 0, 0, 1e-6, 1e-4),
	UNL("elu", ANY, 0.7f, 0, 1e-6, 1e-4),
	UN4("affine", ANY, 1.5f, -0.25f, 1e-6, 1e-4),
	UN4("exp", ANY, 0, 0, 1e-6, 1e-4),
	UN4("log", POS, 0, 0, 1e-6, 1e-4),
	UN4("relu", ANY, 0, 0, 1e-6, 1e-4),
	UN4("sigmoid", ANY, 0, 0, 1e-6, 1e-4),
	UN4("softplus", ANY, 0, 0, 1e-6, 1e-4),
	UN4("tanh", ANY, 0, 0, 1e-6, 1e-4),
	BI("add", S2(4, 6), S2(4, 6), ANY, 1e-6, 1e-4),
	BI("sub", S2(4, 6), S1(1), ANY, 1e-6, 1e-4),
	BI("mul", S1(1), S3(2, 2, 6), ANY, 1e-6, 1e-4),
	BI("div", S2(6, 2), S2(6, 2), POS, 1e-6, 1e-4),
	BI("maximum", S2(2, 8), S2(2, 8), DISTINCT, 1e-6, 1e-4),
	{"where", b_where, ref_where, 3, {S2(4, 6), S2(4, 6), S1(1)}, {NOGRAD, ANY, ANY}, {0}, 1e-6, 1e-4, {0}},
	BI("add", S2(5, 7), S1(7), ANY, 1e-6, 1e-4),
	BI("sub", S3(2, 5, 1), S2(1, 3), ANY, 1e-6, 1e-4),
	BI("mul", S3(3, 1, 7), S3(1, 5, 1), ANY, 1e-6, 1e-4),
	BI("div", S2(5, 3), S2(5, 1), POS, 1e-6, 1e-4),
	BI("maximum", S2(7, 3), S2(7, 3), DISTINCT, 1e-6, 1e-4),
	BI("minimum", S2(3, 7), S1(7), DISTINCT, 1e-6, 1e-4),
	{"where", b_where, ref_where, 3, {S2(5, 1), S2(5, 3), S1(3)}, {NOGRAD, ANY, ANY}, {0}, 1e-6, 1e-4, {0}},
	{"sum", b_reduce, ref_reduce, 1, {S3(3, 5, 7)}, {ANY}, {5}, 1e-5, 1e-4, {0}},
	{"sum", b_reduce, ref_reduce, 1, {S3(3, 5, 7)}, {ANY}, {2}, 1e-5, 1e-4, {0}},
	{"mean", b_reduce, ref_reduce, 1, {S3(3, 5, 7)}, {ANY}, {7}, 1e-5, 1e-4, {0}},
	{"max", b_reduce, ref_reduce, 1, {S3(3, 5, 7)}, {DISTINCT}, {4}, 1e-6, 1e-4, {0}},
	{"logsumexp", b_reduce, ref_reduce, 1, {S2(5, 7)}, {ANY}, {2}, 1e-5, 1e-4, {0}},
	{"matmul", b_matmul, ref_matmul, 2, {S2(5, 7), S2(7, 3)}, {ANY, ANY}, {0, 0}, 1e-5, 1e-4, {0}},
	{"matmul", b_matmul, ref_matmul, 2, {S2(7, 5), S2(7, 3)}, {ANY, ANY}, {1, 0}, 1e-5, 1e-4, {0}},
	{"matmul", b_matmul, ref_matmul, 2, {S2(5, 7), S2(3, 7)}, {ANY, ANY}, {0, 1}, 1e-5, 1e-4, {0}},
	{"matmul", b_matmul, ref_matmul, 2, {S2(7, 5), S2(3, 7)}, {ANY, ANY}, {1, 1}, 1e-5, 1e-4, {0}},
	{"matmul", b_matmul, ref_matmul, 2, {S3(2, 5, 7), S2(7, 3)}, {ANY, ANY}, {0, 0}, 1e-5, 1e-4, {0}},
	{"matmul", b_matmul, ref_matmul, 2, {S3(2, 5, 7), S3(2, 3, 7)}, {ANY, ANY}, {0, 1}, 1e-5, 1e-4, {0}},
	{"matmul", b_matmul, ref_matmul, 2, {S3(3, 7, 5), S3(3, 7, 2)}, {ANY, ANY}, {1, 0}, 1e-5, 1e-4, {0}},
	{"linear", b_linear, ref_linear, 3, {S2(6, 13), S2(11, 13), S1(11)}, {ANY, ANY, ANY}, {0}, 1e-5, 1e-4, {0}},
	{"reshape", b_reshape, ref_copy, 1, {S3(2, 15, 7)}, {ANY}, {6, 7}, 0, 1e-4, {0}},
	{"permute", b_transpose, ref_transpose, 1, {S3(2, 5, 7)}, {ANY}, {0}, 0, 1e-4, {0}},
	{"transpose", b_transpose, ref_transpose, 1, {S2(5, 3)}, {ANY}, {0}, 0, 1e-4, {0}},
	{"slice", b_slice, ref_slice, 1, {S3(2, 7, 3)}, {ANY}, {2, 4}, 0, 1e-4, {0}},
	{"pad", b_pad, ref_pad, 1, {S2(3, 5)}, {ANY}, {2, 1, 0.5f}, 0, 1e-4, {0}},
	{"concat", b_concat, ref_concat, 2, {S3(2, 3, 5), S3(2, 4, 5)}, {ANY, ANY}, {0}, 0, 1e-4, {0}},
	{"softmax", b_softmax, ref_softmax, 1, {S2(3, 7)}, {ANY}, {0}, 1e-6, 1e-4, {0}},
	{"log_softmax", b_softmax, ref_softmax, 1, {S3(2, 3, 7)}, {ANY}, {0}, 1e-6, 1e-4, {0}},
	{"conv2d", b_conv, ref_conv, 3, {S4(2, 3, 7, 6), S4(5, 3, 3, 3), S1(5)}, {ANY, ANY, ANY}, {1, 1, 1, 0}, 1e-5, 1e-4, {0}},
	{"conv2d", b_conv, ref_conv, 3, {S4(2, 2, 9, 7), S4(3, 2, 3, 2), S1(3)}, {ANY, ANY, ANY}, {2, 1, 2, 0}, 1e-5, 1e-4, {0}},
	{"conv2d+relu", b_conv, ref_conv, 3, {S4(2, 3, 5, 7), S4(4, 3, 3, 3), S1(4)}, {ANY, ANY, ANY}, {1, 1, 1, 0}, 1e-5, 1e-4, {0}},
	{"conv_transpose2d", b_conv, ref_deconv, 2, {S4(2, 3, 4, 5), S4(3, 2, 3, 3)}, {ANY, ANY}, {2, 1, 1, 1}, 1e-5, 1e-4, {0}},
	{"masked_conv2d", b_masked, ref_masked, 2, {S4(2, 2, 5, 5), S4(3, 2, 3, 3)}, {ANY, ANY}, {0, 0, 0, 0}, 1e-5, 1e-4, {0}},
	{"masked_conv2d", b_masked, ref_masked, 2, {S4(1, 2, 4, 5), S4(2, 2, 5, 5)}, {ANY, ANY}, {0, 0, 0, 1}, 1e-5, 1e-4, {0}},
	{"upsample_nearest", b_image, ref_upsample, 1, {S4(2, 3, 3, 2)}, {ANY}, {3}, 0, 1e-4, {0}},
	{"upsample_bilinear", b_image, ref_upsample, 1, {S4(1, 2, 3, 5)}, {ANY}, {2}, 1e-5, 1e-4, {0}},
	{"avg_pool", b_image, ref_pool, 1, {S4(2, 3, 6, 4)}, {ANY}, {2}, 1e-6, 1e-4, {0}},
	{"max_pool", b_image, ref_pool, 1, {S4(2, 3, 6, 9)}, {DISTINCT}, {3}, 0, 1e-4, {0}},
	{"batch_norm", b_norm, ref_norm, 3, {S4(4, 3, 3, 2), S1(3), S1(3)}, {ANY, ANY, ANY}, {1e-5f}, 1e-4, 2e-3, {0}},
	{"batch_norm", b_norm, ref_norm, 3, {S2(7, 5), S1(5), S1(5)}, {ANY, ANY, ANY}, {1e-5f}, 1e-4, 2e-3, {0}},
	{"layer_norm", b_norm, ref_norm, 3, {S3(3, 5, 2), S2(5, 2), S2(5, 2)}, {ANY, ANY, ANY}, {1e-5f}, 1e-4, 2e-3, {0}},
	{"instance_norm", b_norm, ref_norm, 3, {S4(2, 3, 3, 3), S1(3), S1(3)}, {ANY, ANY, ANY}, {1e-5f}, 1e-4, 2e-3, {0}},
	{"embedding", b_embedding, ref_embedding, 2, {S2(7, 5), S1(11)}, {ANY, IDX}, {7}, 0, 1e-4, {0}},
	{"pick", b_pick, ref_pick, 2, {S3(2, 3, 7), S2(2, 3)}, {ANY, IDX}, {7}, 0, 1e-4, {0}},
	{"one_hot", b_one_hot, ref_one_hot, 1, {S2(3, 5)}, {IDX}, {7}, 0, 1e-4, {0}},
	/* f32 indices; a table of more than 32 rows (vulkan's scatter-add by columns) */
	{"embedding", b_embedding, ref_embedding, 2, {S2(40, 3), S2(3, 7)}, {ANY, FIDX}, {40}, 0, 1e-4, {0}},
	{"one_hot", b_one_hot, ref_one_hot, 1, {S1(9)}, {FIDX}, {4}, 0, 1e-4, {0}},
	{"cast_u8", b_cast, ref_cast, 1, {S2(7, 3)}, {U8}, {0, 1 / 255.0f}, 1e-7, 0, {0}},
	{"cast_i32", b_cast, ref_cast, 1, {S3(2, 3, 5)}, {IDX}, {100, -0.5f}, 0, 0, {0}},
	{"argmax", b_argmax, ref_argmax, 1, {S3(2, 5, 7)}, {DISTINCT}, {0}, 0, 0, {0}},
	/* long reductions to few outputs (vulkan: a workgroup per output) */
	{"sum", b_reduce, ref_reduce, 1, {S2(43, 97)}, {ANY}, {3}, 1e-5, 1e-4, {0}},
	{"max", b_reduce, ref_reduce, 1, {S3(3, 97, 11)}, {DISTINCT}, {5}, 0, 1e-4, {0}},
	{"softmax", b_softmax, ref_softmax, 1, {S2(3, 300)}, {ANY}, {0}, 1e-6, 1e-4, {0}},
	/* aligned runs (vulkan: vec4 loads): a workgroup per output over one
	 * contiguous run; four neighbouring outputs per invocation */
	{"sum", b_reduce, ref_reduce, 1, {S2(16, 40)}, {ANY}, {3}, 1e-5, 1e-4, {0}},
	{"max", b_reduce, ref_reduce, 1, {S2(16, 40)}, {DISTINCT}, {3}, 0, 1e-4, {0}},
	{"sum", b_reduce, ref_reduce, 1, {S3(4, 6, 8)}, {ANY}, {1}, 1e-5, 1e-4, {0}},
	{"max", b_reduce, ref_reduce, 1, {S3(4, 6, 8)}, {DISTINCT}, {1}, 0, 1e-4, {0}},
	{"sum", b_reduce, ref_reduce, 1, {S3(2, 64, 8)}, {ANY}, {2}, 1e-5, 1e-4, {0}},
	{"mse_loss", b_loss, ref_loss, 2, {S2(5, 7), S2(5, 7)}, {ANY, ANY}, {0}, 1e-5, 1e-4, {0}},
	{"l1_loss", b_loss, ref_loss, 2, {S2(5, 7), S2(5, 7)}, {ANY, DISTINCT}, {0}, 1e-5, 1e-4, {0}},
	{"bce_logits_loss", b_loss, ref_loss, 2, {S2(5, 7), S2(5, 7)}, {ANY, NOGRAD}, {0}, 1e-5, 1e-4, {0}},
	{"softmax_cross_entropy", b_loss, ref_loss, 2, {S2(6, 7), S1(6)}, {ANY, IDX}, {7}, 1e-5, 1e-4, {0}},
	{"kl_normal", b_loss, ref_loss, 2, {S2(5, 3), S2(5, 3)}, {ANY, ANY}, {0}, 1e-5, 1e-4, {0}},
	{"gaussian_nll", b_loss, ref_loss, 3, {S2(5, 3), S2(5, 3), S2(5, 3)}, {ANY, ANY, ANY}, {0}, 1e-5, 1e-4, {0}},
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

static int differentiable(const struct tc *t)
{
	return strcmp(t->name, "one_hot") && strncmp(t->name, "cast", 4) &&
	       strcmp(t->name, "argmax");
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
	float *y, *g[3];
	size_t ngrad;
	int gi[3];
};

static void result_free(struct result *res)
{
	free(res->y);
	for (int k = 0; k < 3; k++)
		free(res->g[k]);
}

/* Builds the case on device, feeds in[] (f32 inputs rounded in place to
 * what the device sees), runs once and reads every output.  The status
 * of the first failure: DG_ENODEV from compiling means the device lacks
 * an op. */
static int evaluate(struct tc *t, const char *device, double **in, const float *rf,
		    struct result *res)
{
	struct dg_graph *g = dg_graph_new(1);
	dg_tensor x[3], grads[3], outs[4];
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
		dg_tensor wrt[3];
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
	dg_tensor x[3];
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
	double *in[3] = {0}, *r, *yref;
	struct result res, cpu = {0};
	char label[160];
	int vulkan = !strcmp(mode, "vulkan");

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

int main(int argc, char **argv)
{
	size_t n = sizeof cases / sizeof cases[0];
	/* lavapipe's worker threads cost more than they give on graphs of
	 * tiny dispatches (here, on a busy machine, 20 ms per XOR step against
	 * 0.4 ms without); an explicit setting wins. */
	setenv("LP_NUM_THREADS", "0", 0);
	/* `t_ops vulkan` runs the vulkan part alone (vk-validation.t). */
	int only_vk = argc > 1 && !strcmp(argv[1], "vulkan");
	for (size_t i = 0; i < n && !only_vk; i++)
		run_case(&cases[i], "onednn");
	setenv("DG_NO_DNNL", "1", 1);
	for (size_t i = 0; i < n && !only_vk; i++)
		if (!strcmp(cases[i].name, "matmul") || strstr(cases[i].name, "conv") ||
		    !strcmp(cases[i].name, "linear"))
			run_case(&cases[i], "plain C");
	unsetenv("DG_NO_DNNL");
	/* The same table on the vulkan backend (lavapipe here), for the ops it
	 * has; the cpu results above are checked against the same reference. */
	struct dg_device_info dev;
	if (!dg_device_select("vulkan", &dev))
		for (size_t i = 0; i < n; i++)
			run_case(&cases[i], "vulkan");
	else
		diag("no Vulkan device: %s", dg_errmsg());
	return done_testing();
}
