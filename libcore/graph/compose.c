/* graph/compose.c — ops built from primitive ops: reductions over axes,
 * layers, normalization, random helpers and losses.  They need no
 * kernels and no backward rules of their own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "graph/graph_impl.h"

#define T(id) ((dg_tensor){(id)})

static int valid(const struct dg_graph *g, dg_tensor t)
{
	return !g->status && t.id > 0 && t.id < g->nnodes;
}

static const struct dg_node *N(const struct dg_graph *g, dg_tensor t)
{
	return &g->nodes[t.id];
}

static dg_tensor fail(struct dg_graph *g, const char *what, const char *why)
{
	if (!g->status)
		dg__fail(g, DG_EUSAGE, "%s: %s", what, why);
	return DG_NONE;
}

/* ---- reductions over axes ----------------------------------------------- */

static dg_tensor reduce_axes(struct dg_graph *g, enum dg_op op, dg_tensor x, unsigned axes,
			     int keepdims, uint64_t *reduced)
{
	uint64_t to[DG_MAX_RANK], kept[DG_MAX_RANK];
	unsigned r, nk = 0;

	if (!valid(g, x))
		return DG_NONE;
	r = N(g, x)->rank;
	*reduced = 1;
	for (unsigned i = 0; i < r; i++) {
		int red = (axes >> i) & 1;
		to[i] = red ? 1 : N(g, x)->dims[i];
		if (red)
			*reduced *= N(g, x)->dims[i];
		else
			kept[nk++] = N(g, x)->dims[i];
	}
	uint32_t y = op == OP_SUM_TO ? dg__sum_to(g, x.id, r, to) : 0;
	if (op == OP_MAX_TO) {
		int64_t ia[2 * DG_MAX_RANK] = {r};
		for (unsigned i = 0; i < r; i++)
			ia[1 + i] = (int64_t)to[i];
		y = dg__op(g, OP_MAX_TO, 1, &x.id, ia, 1 + r, NULL, 0);
	}
	return keepdims ? T(y) : T(dg__reshape(g, y, nk, kept));
}

dg_tensor dg_sum(struct dg_graph *g, dg_tensor x, unsigned axes, int keepdims)
{
	uint64_t n;
	return reduce_axes(g, OP_SUM_TO, x, axes, keepdims, &n);
}

dg_tensor dg_mean(struct dg_graph *g, dg_tensor x, unsigned axes, int keepdims)
{
	uint64_t n;
	dg_tensor s = reduce_axes(g, OP_SUM_TO, x, axes, keepdims, &n);
	return dg_mul_scalar(g, s, (float)(1.0 / (double)n));
}

dg_tensor dg_max(struct dg_graph *g, dg_tensor x, unsigned axes, int keepdims)
{
	uint64_t n;
	return reduce_axes(g, OP_MAX_TO, x, axes, keepdims, &n);
}

dg_tensor dg_logsumexp(struct dg_graph *g, dg_tensor x, unsigned axes, int keepdims)
{
	/* The shift m cancels exactly, so it needs no gradient. */
	dg_tensor m = dg_stop_gradient(g, dg_max(g, x, axes, 1));
	dg_tensor s = dg_add(g, dg_log(g, dg_sum(g, dg_exp(g, dg_sub(g, x, m)), axes, 1)), m);
	if (keepdims || !valid(g, s))
		return s;
	uint64_t n;
	return reduce_axes(g, OP_SUM_TO, s, axes, 0, &n);
}

dg_tensor dg_reduce(struct dg_graph *g, dg_tensor x, enum dg_reduction r)
{
	if (!valid(g, x))
		return DG_NONE;
	switch (r) {
	case DG_MEAN:
		return dg_mean(g, x, DG_AXES_ALL, 0);
	case DG_SUM:
		return dg_sum(g, x, DG_AXES_ALL, 0);
	case DG_SUM_MEAN_BATCH: {
		uint64_t n = N(g, x)->rank ? N(g, x)->dims[0] : 1;
		return dg_mul_scalar(g, dg_sum(g, x, DG_AXES_ALL, 0), (float)(1.0 / (double)n));
	}
	}
	return fail(g, "reduce", "unknown reduction");
}

/* ---- shapes ------------------------------------------------------------------ */

dg_tensor dg_flatten(struct dg_graph *g, dg_tensor x)
{
	if (!valid(g, x))
		return DG_NONE;
	int64_t d[2] = {(int64_t)(N(g, x)->rank ? N(g, x)->dims[0] : 1), -1};
	return dg_reshape(g, x, 2, d);
}

dg_tensor dg_transpose(struct dg_graph *g, dg_tensor x)
{
	unsigned p[DG_MAX_RANK];
	if (!valid(g, x))
		return DG_NONE;
	unsigned r = N(g, x)->rank;
	if (r < 2)
		return fail(g, "transpose", "needs rank >= 2");
	for (unsigned i = 0; i < r; i++)
		p[i] = i;
	p[r - 2] = r - 1;
	p[r - 1] = r - 2;
	return dg_permute(g, x, p);
}

dg_tensor dg_concat(struct dg_graph *g, dg_tensor a, dg_tensor b, int axis)
{
	uint64_t before[DG_MAX_RANK] = {0}, after[DG_MAX_RANK] = {0};
	if (!valid(g, a) || !valid(g, b))
		return DG_NONE;
	unsigned r = N(g, a)->rank;
	if (axis < 0)
		axis += (int)r;
	if (r != N(g, b)->rank || axis < 0 || axis >= (int)r)
		return fail(g, "concat", "ranks differ or bad axis");
	for (unsigned i = 0; i < r; i++)
		if ((int)i != axis && N(g, a)->dims[i] != N(g, b)->dims[i])
			return fail(g, "concat", "shapes differ off the concatenation axis");
	/* Two paddings that add up: both backends get concat for free, and
	 * its gradient is two slices. */
	after[axis] = N(g, b)->dims[axis];
	dg_tensor pa = dg_pad(g, a, before, after, 0);
	after[axis] = 0;
	before[axis] = N(g, a)->dims[axis];
	dg_tensor pb = dg_pad(g, b, before, after, 0);
	return dg_add(g, pa, pb);
}

/* ---- layers --------------------------------------------------------------------- */

dg_tensor dg_activate(struct dg_graph *g, dg_tensor x, enum dg_act act, float alpha)
{
	switch (act) {
	case DG_ACT_NONE: return x;
	case DG_ACT_RELU: return dg_relu(g, x);
	case DG_ACT_LEAKY_RELU: return dg_leaky_relu(g, x, alpha);
	case DG_ACT_ELU: return dg_elu(g, x, alpha);
	case DG_ACT_TANH: return dg_tanh(g, x);
	case DG_ACT_SIGMOID: return dg_sigmoid(g, x);
	case DG_ACT_SOFTPLUS: return dg_softplus(g, x);
	}
	return fail(g, "activate", "unknown activation");
}

dg_tensor dg_linear(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
		    enum dg_act act, float alpha)
{
	dg_tensor y = dg_matmul(g, x, w, 0, 1);
	if (b.id)
		y = dg_add(g, y, b);
	return dg_activate(g, y, act, alpha);
}

/* The masked convolution runs on the rows of the kernel its mask keeps
 * (the top KH/2+1), padded less below so that the output's size is the
 * same: 6 of 9 taps of a 3×3, 28 of 49 of a 7×7 instead of all of them
 * with zeros.  When the padding is too small to take that from, the
 * whole masked kernel runs. */
dg_tensor dg_masked_conv2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			   const struct dg_conv *p, char mask, unsigned groups)
{
	if (!valid(g, w))
		return DG_NONE;
	const struct dg_node *wn = N(g, w);
	if (wn->rank != 4 || (mask != 'A' && mask != 'B'))
		return fail(g, "masked_conv2d", "want a 4-d weight and mask 'A' or 'B'");
	if (!groups)
		groups = 1;
	uint64_t o = wn->dims[0], c = wn->dims[1], kh = wn->dims[2], kw = wn->dims[3];
	if (o % groups || c % groups)
		return fail(g, "masked_conv2d", "channels not divisible by colour groups");
	int64_t pad = p ? p->pad : 0, dil = p && p->dilation ? p->dilation : 1;
	uint64_t rows = kh / 2 + 1;                    /* rows the mask keeps */
	int64_t below = pad - dil * (int64_t)(kh - rows);
	if (below < 0)
		rows = kh, below = pad;
	uint64_t dims[4] = {o, c, rows, kw};
	float *m = malloc(o * c * rows * kw * sizeof *m);
	if (!m) {
		dg__fail(g, DG_ENOMEM, "masked_conv2d: out of memory");
		return DG_NONE;
	}
	for (uint64_t oi = 0; oi < o; oi++)
		for (uint64_t ci = 0; ci < c; ci++)
			for (uint64_t i = 0; i < rows; i++)
				for (uint64_t j = 0; j < kw; j++) {
					uint64_t go = oi / (o / groups), gc = ci / (c / groups);
					int on;
					if (i != kh / 2)
						on = i < kh / 2;
					else if (j != kw / 2)
						on = j < kw / 2;
					else
						on = mask == 'A' ? gc < go : gc <= go;
					m[((oi * c + ci) * rows + i) * kw + j] = (float)on;
				}
	dg_tensor mt = dg_constant(g, 4, dims, m);
	free(m);
	if (rows < kh)
		w = dg_slice(g, w, 2, 0, rows);
	int64_t ca[DG_CA_SHAPE] = {[DG_CA_STRIDE] = p && p->stride ? p->stride : 1,
				   [DG_CA_DIL] = dil, [DG_CA_TOP] = pad, [DG_CA_BOTTOM] = below,
				   [DG_CA_LEFT] = pad, [DG_CA_RIGHT] = pad};
	return dg__conv2d_sides(g, x, dg_mul(g, w, mt), b, ca);
}

/* ---- images ------------------------------------------------------------------------ */

static int image(struct dg_graph *g, dg_tensor x, unsigned k, const char *what,
		 uint64_t *d)
{
	if (!valid(g, x))
		return 0;
	if (N(g, x)->rank != 4 || !k) {
		fail(g, what, "want N×C×H×W and a factor >= 1");
		return 0;
	}
	memcpy(d, N(g, x)->dims, 4 * sizeof *d);
	return 1;
}

dg_tensor dg_upsample_nearest(struct dg_graph *g, dg_tensor x, unsigned f)
{
	uint64_t d[4];
	if (!image(g, x, f, "upsample_nearest", d))
		return DG_NONE;
	int64_t r6[6] = {(int64_t)d[0], (int64_t)d[1], (int64_t)d[2], 1, (int64_t)d[3], 1};
	uint64_t e6[6] = {d[0], d[1], d[2], f, d[3], f};
	int64_t r4[4] = {(int64_t)d[0], (int64_t)d[1], (int64_t)(d[2] * f), (int64_t)(d[3] * f)};
	return dg_reshape(g, dg_expand(g, dg_reshape(g, x, 6, r6), 6, e6), 4, r4);
}

/* Bilinear upsampling and edge padding are tables of the resample op:
 * graph/resample.c. */


/* ---- normalization -------------------------------------------------------------------- */

/* gamma/beta of C channels as 1×C(×1×1) for broadcasting over x. */
static dg_tensor per_channel(struct dg_graph *g, dg_tensor p, unsigned rank, uint64_t c)
{
	int64_t d[4] = {1, (int64_t)c, 1, 1};
	return dg_reshape(g, p, rank, d);
}

static dg_tensor scale_shift(struct dg_graph *g, dg_tensor y, dg_tensor gamma, dg_tensor beta,
			     unsigned rank, uint64_t c)
{
	if (gamma.id)
		y = dg_mul(g, y, per_channel(g, gamma, rank, c));
	if (beta.id)
		y = dg_add(g, y, per_channel(g, beta, rank, c));
	return y;
}

int dg_assign(struct dg_graph *g, dg_tensor var, dg_tensor value, dg_tensor trigger)
{
	uint32_t in[2] = {var.id, value.id};
	int64_t ia = trigger.id;
	if (!valid(g, var) || !valid(g, value) || !valid(g, trigger))
		return g->status ? g->status : dg__fail(g, DG_EUSAGE, "assign: invalid tensor");
	const struct dg_node *v = N(g, var);
	if (v->op != OP_VAR || (g->vars[v->var].kind != DG_VAR_BUFFER &&
				g->vars[v->var].kind != DG_VAR_SCRATCH))
		return dg__fail(g, DG_EUSAGE, "assign: the target must be a dg_buffer or a "
				"dg_variable");
	dg__op(g, OP_ASSIGN, 2, in, &ia, 1, NULL, 0);
	return g->status;
}

dg_tensor dg_batch_norm(struct dg_graph *g, dg_tensor x, dg_tensor gamma, dg_tensor beta,
			dg_tensor rmean, dg_tensor rvar, int training, float momentum, float eps)
{
	if (!valid(g, x))
		return DG_NONE;
	unsigned r = N(g, x)->rank;
	if (r != 2 && r != 4)
		return fail(g, "batch_norm", "want N×C or N×C×H×W");
	uint64_t c = N(g, x)->dims[1], cd[1] = {c};
	uint64_t n = N(g, x)->count / c;
	unsigned axes = r == 4 ? 0xd : 0x1;
	if (!training) {
		if (!rmean.id || !rvar.id)
			return fail(g, "batch_norm", "inference needs running statistics");
		dg_tensor inv = dg_rsqrt(g, dg_add_scalar(g, rvar, eps));
		dg_tensor y = dg_mul(g, dg_sub(g, x, per_channel(g, rmean, r, c)),
				     per_channel(g, inv, r, c));
		return scale_shift(g, y, gamma, beta, r, c);
	}
	if (g->bn_momentum > 0)
		momentum = g->bn_momentum;
	dg_tensor mean = dg_mean(g, x, axes, 1);
	dg_tensor xc = dg_sub(g, x, mean);
	dg_tensor var = dg_mean(g, dg_square(g, xc), axes, 1);
	dg_tensor y = dg_mul(g, xc, dg_rsqrt(g, dg_add_scalar(g, var, eps)));
	y = scale_shift(g, y, gamma, beta, r, c);
	if (rmean.id && rvar.id && valid(g, y)) {
		int64_t c1[1] = {(int64_t)c};
		dg_tensor bm = dg_stop_gradient(g, dg_reshape(g, mean, 1, c1));
		dg_tensor bv = dg_stop_gradient(g, dg_reshape(g, var, 1, c1));
		float unbias = n > 1 ? (float)n / (float)(n - 1) : 1;
		(void)cd;
		dg_assign(g, rmean, dg_add(g, dg_mul_scalar(g, rmean, 1 - momentum),
					   dg_mul_scalar(g, bm, momentum)), y);
		dg_assign(g, rvar, dg_add(g, dg_mul_scalar(g, rvar, 1 - momentum),
					  dg_mul_scalar(g, bv, momentum * unbias)), y);
	}
	return y;
}

static dg_tensor normalize(struct dg_graph *g, dg_tensor x, unsigned axes, float eps)
{
	dg_tensor xc = dg_sub(g, x, dg_mean(g, x, axes, 1));
	dg_tensor var = dg_mean(g, dg_square(g, xc), axes, 1);
	return dg_mul(g, xc, dg_rsqrt(g, dg_add_scalar(g, var, eps)));
}

dg_tensor dg_layer_norm(struct dg_graph *g, dg_tensor x, dg_tensor gamma, dg_tensor beta,
			float eps)
{
	if (!valid(g, x))
		return DG_NONE;
	if (N(g, x)->rank < 2)
		return fail(g, "layer_norm", "needs rank >= 2");
	dg_tensor y = normalize(g, x, DG_AXES_ALL & ~1u, eps);
	if (gamma.id)
		y = dg_mul(g, y, gamma);
	if (beta.id)
		y = dg_add(g, y, beta);
	return y;
}

dg_tensor dg_instance_norm(struct dg_graph *g, dg_tensor x, dg_tensor gamma, dg_tensor beta,
			   float eps)
{
	if (!valid(g, x))
		return DG_NONE;
	if (N(g, x)->rank != 4)
		return fail(g, "instance_norm", "want N×C×H×W");
	uint64_t c = N(g, x)->dims[1];
	return scale_shift(g, normalize(g, x, 0xc, eps), gamma, beta, 4, c);
}

/* ---- randomness ------------------------------------------------------------------- */

static dg_tensor step(struct dg_graph *g, dg_tensor x)
{
	return T(dg__op1(g, OP_STEP, x.id, 0, 0));
}

dg_tensor dg_random_bernoulli(struct dg_graph *g, unsigned rank, const uint64_t *dims, float p)
{
	return step(g, dg_affine(g, dg_random_uniform(g, rank, dims), -1, p));
}

dg_tensor dg_dropout(struct dg_graph *g, dg_tensor x, float p, int training)
{
	uint64_t d[DG_MAX_RANK];
	if (!valid(g, x) || !training || p <= 0)
		return x;
	if (p >= 1)
		return fail(g, "dropout", "p must be below 1");
	unsigned r = dg_shape(g, x, d);
	dg_tensor keep = dg_random_bernoulli(g, r, d, 1 - p);
	return dg_mul(g, x, dg_mul_scalar(g, keep, 1 / (1 - p)));
}

dg_tensor dg_sample_bernoulli_logits(struct dg_graph *g, dg_tensor logits)
{
	uint64_t d[DG_MAX_RANK];
	if (!valid(g, logits))
		return DG_NONE;
	unsigned r = dg_shape(g, logits, d);
	return step(g, dg_sub(g, dg_sigmoid(g, logits), dg_random_uniform(g, r, d)));
}

dg_tensor dg_sample_categorical_logits(struct dg_graph *g, dg_tensor logits)
{
	uint64_t d[DG_MAX_RANK];
	if (!valid(g, logits))
		return DG_NONE;
	unsigned r = dg_shape(g, logits, d);
	/* Gumbel-max: argmax(l - log(-log u)) is a draw from softmax(l). */
	dg_tensor u = dg_random_uniform(g, r, d);
	dg_tensor gumbel = dg_neg(g, dg_log(g, dg_neg(g, dg_log(g, u))));
	return dg_argmax(g, dg_add(g, logits, gumbel));
}

/* ---- losses ---------------------------------------------------------------------------- */

dg_tensor dg_mse_loss(struct dg_graph *g, dg_tensor x, dg_tensor y, enum dg_reduction r)
{
	return dg_reduce(g, dg_square(g, dg_sub(g, x, y)), r);
}

dg_tensor dg_l1_loss(struct dg_graph *g, dg_tensor x, dg_tensor y, enum dg_reduction r)
{
	return dg_reduce(g, dg_abs(g, dg_sub(g, x, y)), r);
}

dg_tensor dg_bce_logits_loss(struct dg_graph *g, dg_tensor l, dg_tensor y, enum dg_reduction r)
{
	/* -y log σ(l) - (1-y) log(1-σ(l)) = softplus(l) - y·l */
	return dg_reduce(g, dg_sub(g, dg_softplus(g, l), dg_mul(g, y, l)), r);
}

dg_tensor dg_softmax_cross_entropy(struct dg_graph *g, dg_tensor logits, dg_tensor labels,
				   enum dg_reduction r)
{
	if (!valid(g, logits) || !valid(g, labels))
		return DG_NONE;
	if (N(g, logits)->rank != 2)
		return fail(g, "softmax_cross_entropy", "want N×K logits");
	dg_tensor per = dg_neg(g, dg_pick(g, dg_log_softmax(g, logits), labels));
	return r == DG_SUM ? dg_sum(g, per, DG_AXES_ALL, 0) : dg_mean(g, per, DG_AXES_ALL, 0);
}

dg_tensor dg_kl_normal(struct dg_graph *g, dg_tensor mu, dg_tensor logvar, enum dg_reduction r)
{
	/* -1/2 (1 + log σ² - μ² - σ²) per dimension */
	dg_tensor t = dg_sub(g, dg_sub(g, dg_add_scalar(g, logvar, 1), dg_square(g, mu)),
			     dg_exp(g, logvar));
	return dg_reduce(g, dg_mul_scalar(g, t, -0.5f), r);
}

dg_tensor dg_gaussian_nll(struct dg_graph *g, dg_tensor x, dg_tensor mu, dg_tensor logvar,
			  enum dg_reduction r)
{
	dg_tensor q = dg_mul(g, dg_square(g, dg_sub(g, x, mu)), dg_exp(g, dg_neg(g, logvar)));
	dg_tensor t = dg_add_scalar(g, dg_add(g, logvar, q), (float)log(2 * M_PI));
	return dg_reduce(g, dg_mul_scalar(g, t, 0.5f), r);
}

dg_tensor dg_iota(struct dg_graph *g, unsigned rank, const uint64_t *dims)
{
	uint64_t n = 1;
	for (unsigned i = 0; i < rank; i++)
		n *= dims[i];
	float *v = malloc((n ? n : 1) * sizeof *v);
	if (!v) {
		dg__fail(g, DG_ENOMEM, "iota: out of memory");
		return DG_NONE;
	}
	for (uint64_t i = 0; i < n; i++)
		v[i] = (float)i;
	dg_tensor t = dg_constant(g, rank, dims, v);
	free(v);
	return t;
}

dg_tensor dg_floor_div(struct dg_graph *g, dg_tensor p, uint64_t d, uint64_t n)
{
	if (n < 2)
		return dg_mul_scalar(g, p, 0);
	float *v = malloc((n - 1) * sizeof *v);
	if (!v) {
		dg__fail(g, DG_ENOMEM, "floor_div: out of memory");
		return DG_NONE;
	}
	for (uint64_t i = 1; i < n; i++)
		v[i - 1] = (float)(i * d);
	dg_tensor steps = dg_constant(g, DG_SHAPE(n - 1), v);
	free(v);
	return dg_sum(g, dg_greater_equal(g, p, steps), DG_AXES_ALL, 1);
}

dg_tensor dg_window_select(struct dg_graph *g, dg_tensor start, uint64_t k, uint64_t size)
{
	dg_tensor cols = dg_iota(g, DG_SHAPE(1, size));
	dg_tensor rows = dg_iota(g, DG_SHAPE(k, 1));
	return dg_equal(g, cols, dg_add(g, rows, start));
}

dg_tensor dg_patch(struct dg_graph *g, dg_tensor x, dg_tensor r, dg_tensor col, unsigned k)
{
	uint64_t h = dg_dim(g, x, 2), w = dg_dim(g, x, 3);
	float half = (float)(k / 2);
	dg_tensor rows = dg_window_select(g, dg_add_scalar(g, r, -half), k, h);
	dg_tensor cols = dg_window_select(g, dg_add_scalar(g, col, -half), k, w);
	return dg_matmul(g, dg_matmul(g, rows, x, 0, 0), cols, 0, 1);
}
