/* graph/compose_models.c — compositions the model families need beyond
 * the basic layers: pixel norm, adaptive instance norm and the minibatch
 * standard deviation (progressive and style-based GANs), the causal
 * convolutions of Gated PixelCNN's stacks (its gated activation is an op,
 * graph/primitives.c), and the LSTM cell (PixelRNN).  Built from primitive ops: no kernels or
 * backward rules of their own. */
#include <stdlib.h>
#include <string.h>
#include "graph/graph_impl.h"

static int valid(const struct dg_graph *g, dg_tensor t)
{
	return !g->status && t.id > 0 && t.id < g->nnodes;
}

static dg_tensor fail(struct dg_graph *g, const char *what, const char *why)
{
	if (!g->status)
		dg__fail(g, DG_EUSAGE, "%s: %s", what, why);
	return DG_NONE;
}

/* ---- normalization ------------------------------------------------------ */

dg_tensor dg_pixel_norm(struct dg_graph *g, dg_tensor x, float eps)
{
	if (!valid(g, x))
		return DG_NONE;
	if (dg_shape(g, x, NULL) < 2)
		return fail(g, "pixel_norm", "want N×C or N×C×H×W");
	dg_tensor ms = dg_mean(g, dg_square(g, x), 1u << 1, 1);
	return dg_mul(g, x, dg_rsqrt(g, dg_add_scalar(g, ms, eps)));
}

dg_tensor dg_adain(struct dg_graph *g, dg_tensor x, dg_tensor scale, dg_tensor bias, float eps)
{
	uint64_t d[DG_MAX_RANK], sd[DG_MAX_RANK], bd[DG_MAX_RANK];
	if (!valid(g, x) || !valid(g, scale) || !valid(g, bias))
		return DG_NONE;
	if (dg_shape(g, x, d) != 4 || dg_shape(g, scale, sd) != 2 || dg_shape(g, bias, bd) != 2 ||
	    sd[0] != d[0] || sd[1] != d[1] || bd[0] != d[0] || bd[1] != d[1])
		return fail(g, "adain", "want x N×C×H×W and scale and bias N×C");
	int64_t nc11[4] = {(int64_t)d[0], (int64_t)d[1], 1, 1};
	dg_tensor y = dg_instance_norm(g, x, DG_NONE, DG_NONE, eps);
	y = dg_mul(g, y, dg_reshape(g, scale, 4, nc11));
	return dg_add(g, y, dg_reshape(g, bias, 4, nc11));
}

dg_tensor dg_minibatch_stddev(struct dg_graph *g, dg_tensor x, unsigned group)
{
	uint64_t d[DG_MAX_RANK];
	if (!valid(g, x))
		return DG_NONE;
	if (dg_shape(g, x, d) != 4)
		return fail(g, "minibatch_stddev", "want N×C×H×W");
	uint64_t n = d[0], gs = !group || group > n ? n : group;
	if (n % gs)
		return fail(g, "minibatch_stddev", "the batch is not a multiple of the group size");
	/* As ProGAN's reshape to [G, M, C, H, W]: sample n is in group n % M. */
	uint64_t m = n / gs;
	int64_t r5[5] = {(int64_t)gs, (int64_t)m, (int64_t)d[1], (int64_t)d[2], (int64_t)d[3]};
	dg_tensor y = dg_reshape(g, x, 5, r5);
	dg_tensor c = dg_sub(g, y, dg_mean(g, y, 1u << 0, 1));
	dg_tensor sd = dg_sqrt(g, dg_add_scalar(g, dg_mean(g, dg_square(g, c), 1u << 0, 1), 1e-8f));
	dg_tensor s = dg_mean(g, sd, (1u << 2) | (1u << 3) | (1u << 4), 1);     /* 1×M×1×1×1 */
	uint64_t e5[5] = {gs, m, 1, d[2], d[3]};
	int64_t r4[4] = {(int64_t)n, 1, (int64_t)d[2], (int64_t)d[3]};
	return dg_concat(g, x, dg_reshape(g, dg_expand(g, s, 5, e5), 4, r4), 1);
}

/* ---- causal convolutions ---------------------------------------------------- */

/* The weight times the colour mask of a horizontal stack's last column
 * (the centre): group go of the outputs sees groups < go ('A') or <= go
 * ('B') of the inputs there, everything in the columns before it. */
static dg_tensor centre_mask(struct dg_graph *g, dg_tensor w, const uint64_t *wd, int a,
			     unsigned groups)
{
	uint64_t o = wd[0], c = wd[1], kw = wd[3], n = o * c * kw;
	if (!a && groups <= 1)
		return w;
	float *m = malloc(n * sizeof *m);
	if (!m) {
		dg__fail(g, DG_ENOMEM, "causal_conv2d: out of memory");
		return DG_NONE;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t oi = i / (c * kw), ci = i / kw % c, j = i % kw;
		uint64_t go = oi / (o / groups), gc = ci / (c / groups);
		m[i] = j + 1 < kw || (a ? gc < go : gc <= go);
	}
	uint64_t md[4] = {o, c, 1, kw};
	dg_tensor mt = dg_constant(g, 4, md, m);
	free(m);
	return dg_mul(g, w, mt);
}

dg_tensor dg_causal_conv2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			   enum dg_causal kind, unsigned groups)
{
	uint64_t xd[DG_MAX_RANK], wd[DG_MAX_RANK];
	/* stride 1, dilation 1, padding per side as the kind wants */
	int64_t ca[DG_CA_SHAPE] = {[DG_CA_STRIDE] = 1, [DG_CA_DIL] = 1};
	if (!valid(g, x) || !valid(g, w))
		return DG_NONE;
	if (dg_shape(g, x, xd) != 4 || dg_shape(g, w, wd) != 4)
		return fail(g, "causal_conv2d", "want x N×C×H×W and w OC×C×KH×KW");
	groups = groups ? groups : 1;
	if (wd[0] % groups || wd[1] % groups)
		return fail(g, "causal_conv2d", "channels not divisible by colour groups");
	switch (kind) {
	case DG_CAUSAL_VERTICAL:
	case DG_CAUSAL_VERTICAL_SHIFTED:
		/* Rows i-KH+1..i (shifted: i-KH..i-1), columns j-KW/2..j+KW/2. */
		if (wd[3] % 2 == 0 || groups != 1)
			return fail(g, "causal_conv2d", "a vertical stack wants an odd width and "
				    "no colour groups");
		ca[DG_CA_TOP] = (int64_t)wd[2] - (kind == DG_CAUSAL_VERTICAL);
		ca[DG_CA_LEFT] = ca[DG_CA_RIGHT] = (int64_t)wd[3] / 2;
		if (kind == DG_CAUSAL_VERTICAL)
			return dg__conv2d_sides(g, x, w, b, ca);
		/* Shifted, the last row is never seen: dropped before padding,
		 * or from the output of a single row. */
		if (xd[2] > 1)
			x = dg_slice(g, x, 2, 0, xd[2] - 1);
		dg_tensor y = dg__conv2d_sides(g, x, w, b, ca);
		return xd[2] > 1 ? y : dg_slice(g, y, 2, 0, 1);
	case DG_CAUSAL_HORIZONTAL_A:
	case DG_CAUSAL_HORIZONTAL_B:
		/* Row i, columns j-KW+1..j, column j under the colour mask. */
		if (wd[2] != 1)
			return fail(g, "causal_conv2d", "a horizontal stack wants a 1×KW kernel");
		ca[DG_CA_LEFT] = (int64_t)wd[3] - 1;
		w = centre_mask(g, w, wd, kind == DG_CAUSAL_HORIZONTAL_A, groups);
		return dg__conv2d_sides(g, x, w, b, ca);
	}
	return fail(g, "causal_conv2d", "unknown kind");
}

/* ---- recurrent cells ----------------------------------------------------------- */

dg_tensor dg_lstm_cell(struct dg_graph *g, dg_tensor x, dg_tensor h, dg_tensor c, dg_tensor w,
		       dg_tensor b, dg_tensor *c_out)
{
	uint64_t xd[DG_MAX_RANK], hd[DG_MAX_RANK], cd[DG_MAX_RANK], wd[DG_MAX_RANK];
	*c_out = DG_NONE;
	if (!valid(g, x) || !valid(g, h) || !valid(g, c) || !valid(g, w))
		return DG_NONE;
	if (dg_shape(g, x, xd) != 2 || dg_shape(g, h, hd) != 2 || dg_shape(g, c, cd) != 2 ||
	    dg_shape(g, w, wd) != 2 || hd[0] != xd[0] || cd[0] != xd[0] || cd[1] != hd[1] ||
	    wd[0] != 4 * hd[1] || wd[1] != xd[1] + hd[1])
		return fail(g, "lstm_cell", "want x N×I, h and c N×H, w 4H×(I+H)");
	uint64_t n = hd[1];
	dg_tensor z = dg_linear(g, dg_concat(g, x, h, 1), w, b, DG_ACT_NONE, 0);
	dg_tensor i = dg_sigmoid(g, dg_slice(g, z, 1, 0, n));
	dg_tensor f = dg_sigmoid(g, dg_slice(g, z, 1, n, n));
	dg_tensor gg = dg_tanh(g, dg_slice(g, z, 1, 2 * n, n));
	dg_tensor o = dg_sigmoid(g, dg_slice(g, z, 1, 3 * n, n));
	dg_tensor c2 = dg_add(g, dg_mul(g, f, c), dg_mul(g, i, gg));
	if (!valid(g, c2))
		return DG_NONE;
	*c_out = c2;
	return dg_mul(g, o, dg_tanh(g, c2));
}
