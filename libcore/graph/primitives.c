/* graph/primitives.c — the public constructors (dg/graph.h) that map onto
 * one primitive op each; compositions of several are in compose.c. */
#include <string.h>
#include "graph/graph_impl.h"

#define T(id) ((dg_tensor){(id)})

#define BIN(fn, op) \
	dg_tensor fn(struct dg_graph *g, dg_tensor a, dg_tensor b) \
	{ return T(dg__op2(g, op, a.id, b.id)); }
BIN(dg_add, OP_ADD)
BIN(dg_sub, OP_SUB)
BIN(dg_mul, OP_MUL)
BIN(dg_div, OP_DIV)
BIN(dg_maximum, OP_MAX)
BIN(dg_minimum, OP_MIN)
BIN(dg_greater, OP_GT)
BIN(dg_greater_equal, OP_GE)
BIN(dg_equal, OP_EQ)
#undef BIN

#define UN(fn, op) \
	dg_tensor fn(struct dg_graph *g, dg_tensor x) \
	{ return T(dg__op1(g, op, x.id, 0, 0)); }
UN(dg_exp, OP_EXP)
UN(dg_log, OP_LOG)
UN(dg_sqrt, OP_SQRT)
UN(dg_rsqrt, OP_RSQRT)
UN(dg_reciprocal, OP_RECIP)
UN(dg_abs, OP_ABS)
UN(dg_sign, OP_SIGN)
UN(dg_relu, OP_RELU)
UN(dg_tanh, OP_TANH)
UN(dg_sigmoid, OP_SIGMOID)
UN(dg_softplus, OP_SOFTPLUS)
UN(dg_stop_gradient, OP_STOPGRAD)
UN(dg_argmax, OP_ARGMAX)
#undef UN

dg_tensor dg_affine(struct dg_graph *g, dg_tensor x, float a, float b)
{
	return T(dg__op1(g, OP_AFFINE, x.id, a, b));
}
dg_tensor dg_add_scalar(struct dg_graph *g, dg_tensor x, float s) { return dg_affine(g, x, 1, s); }
dg_tensor dg_mul_scalar(struct dg_graph *g, dg_tensor x, float s) { return dg_affine(g, x, s, 0); }
dg_tensor dg_neg(struct dg_graph *g, dg_tensor x) { return dg_affine(g, x, -1, 0); }
dg_tensor dg_square(struct dg_graph *g, dg_tensor x) { return dg_mul(g, x, x); }
dg_tensor dg_pow_scalar(struct dg_graph *g, dg_tensor x, float p)
{
	return T(dg__op1(g, OP_POWS, x.id, p, 0));
}
dg_tensor dg_leaky_relu(struct dg_graph *g, dg_tensor x, float slope)
{
	return T(dg__op1(g, OP_LEAKY, x.id, slope, 0));
}
dg_tensor dg_elu(struct dg_graph *g, dg_tensor x, float alpha)
{
	return T(dg__op1(g, OP_ELU, x.id, alpha, 0));
}
dg_tensor dg_clamp(struct dg_graph *g, dg_tensor x, float lo, float hi)
{
	return T(dg__op1(g, OP_CLAMP, x.id, lo, hi));
}
dg_tensor dg_cast(struct dg_graph *g, dg_tensor x, float scale)
{
	return T(dg__op1(g, OP_CAST, x.id, scale, 0));
}
dg_tensor dg_where(struct dg_graph *g, dg_tensor c, dg_tensor a, dg_tensor b)
{
	uint32_t in[3] = {c.id, a.id, b.id};
	return T(dg__op(g, OP_WHERE, 3, in, NULL, 0, NULL, 0));
}
/* The op multiplies matrices, a batch by a matrix (not transposed) and
 * two batches of one size; the other cases are brought to those.  A
 * shared a is expanded to the batch (a copy per matrix of the batch); a
 * transposed batch times a shared b is transposed first (a copy of a);
 * leading axes beyond one are folded into one batch and unfolded after. */
dg_tensor dg_matmul(struct dg_graph *g, dg_tensor a, dg_tensor b, int ta, int tb)
{
	uint64_t ad[DG_MAX_RANK], bd[DG_MAX_RANK], lead = 1;
	int64_t a3[3], b3[3], y[DG_MAX_RANK];
	unsigned ra, rb, r;

	if (g->status || !a.id || a.id >= g->nnodes || !b.id || b.id >= g->nnodes)
		return T(dg__matmul(g, a.id, b.id, !!ta, !!tb));   /* records the error */
	ra = dg_shape(g, a, ad);
	rb = dg_shape(g, b, bd);
	if (ra < 2 || rb < 2 || (ra <= 3 && rb <= ra && !(ra == 3 && rb == 2 && ta)))
		return T(dg__matmul(g, a.id, b.id, !!ta, !!tb));
	r = ra > rb ? ra : rb;
	if (ra > 2 && rb > 2 && (ra != rb || memcmp(ad, bd, (ra - 2) * sizeof *ad))) {
		dg__fail(g, DG_EUSAGE, "matmul: batch axes of ranks %u and %u differ (only a "
			 "plain matrix is shared by a batch)", ra, rb);
		return DG_NONE;
	}
	const uint64_t *ld = ra > 2 ? ad : bd;
	for (unsigned i = 0; i + 2 < r; i++) {
		lead *= ld[i];
		y[i] = (int64_t)ld[i];
	}
	if (ra == 2) {                  /* a shared: one copy per matrix of b's batch */
		uint64_t e[3] = {lead, ad[0], ad[1]};
		a = dg_expand(g, a, 3, e);
	} else {
		a3[0] = (int64_t)lead, a3[1] = (int64_t)ad[ra - 2], a3[2] = (int64_t)ad[ra - 1];
		a = dg_reshape(g, a, 3, a3);
		if (rb == 2 && ta) {
			a = dg_transpose(g, a);
			ta = 0;
		}
	}
	if (rb > 2) {
		b3[0] = (int64_t)lead, b3[1] = (int64_t)bd[rb - 2], b3[2] = (int64_t)bd[rb - 1];
		b = dg_reshape(g, b, 3, b3);
	}
	dg_tensor p = T(dg__matmul(g, a.id, b.id, !!ta, !!tb));
	if (g->status)
		return DG_NONE;
	y[r - 2] = (int64_t)dg_dim(g, p, 1);
	y[r - 1] = (int64_t)dg_dim(g, p, 2);
	return dg_reshape(g, p, r, y);
}

dg_tensor dg_reshape(struct dg_graph *g, dg_tensor x, unsigned rank, const int64_t *dims)
{
	uint64_t d[DG_MAX_RANK], known = 1;
	int infer = -1;

	if (g->status)
		return DG_NONE;
	if (rank > DG_MAX_RANK || !x.id || x.id >= g->nnodes) {
		dg__fail(g, DG_EUSAGE, "reshape: bad rank or tensor");
		return DG_NONE;
	}
	for (unsigned i = 0; i < rank; i++) {
		if (dims[i] == -1 && infer < 0) {
			infer = (int)i;
			continue;
		}
		if (dims[i] < 1) {
			dg__fail(g, DG_EUSAGE, "reshape: bad dim %lld", (long long)dims[i]);
			return DG_NONE;
		}
		d[i] = (uint64_t)dims[i];
		known *= d[i];
	}
	if (infer >= 0)
		d[infer] = known ? g->nodes[x.id].count / known : 0;
	return T(dg__shaped(g, OP_RESHAPE, x.id, rank, d));
}

dg_tensor dg_expand(struct dg_graph *g, dg_tensor x, unsigned rank, const uint64_t *dims)
{
	return T(dg__shaped(g, OP_EXPAND, x.id, rank, dims));
}

dg_tensor dg_permute(struct dg_graph *g, dg_tensor x, const unsigned *perm)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	unsigned r = x.id && x.id < g->nnodes ? g->nodes[x.id].rank : 0;
	for (unsigned i = 0; i < r; i++)
		ia[i] = perm[i];
	return T(dg__op(g, OP_PERMUTE, 1, &x.id, ia, DG_MAX_RANK, NULL, 0));
}

static int axis_of(struct dg_graph *g, dg_tensor x, int axis, const char *what)
{
	int r = x.id && x.id < g->nnodes ? g->nodes[x.id].rank : 0;
	if (axis < 0)
		axis += r;
	if (axis < 0 || axis >= r) {
		dg__fail(g, DG_EUSAGE, "%s: no axis %d in a rank-%d tensor", what, axis, r);
		return -1;
	}
	return axis;
}

dg_tensor dg_gated_activation(struct dg_graph *g, dg_tensor x, int axis)
{
	if (g->status || (axis = axis_of(g, x, axis, "gated_activation")) < 0)
		return DG_NONE;
	int64_t ax = axis;
	return T(dg__op(g, OP_GATE, 1, &x.id, &ax, 1, NULL, 0));
}

/* The op's attribute is the number of axes after the one it runs along,
 * so that 0, the default, is the last. */
static dg_tensor softmax(struct dg_graph *g, enum dg_op op, dg_tensor x, int axis)
{
	if (g->status || (axis = axis_of(g, x, axis, dg_opdefs[op].name)) < 0)
		return DG_NONE;
	int64_t after = (int64_t)g->nodes[x.id].rank - 1 - axis;
	return T(dg__op(g, op, 1, &x.id, &after, 1, NULL, 0));
}

dg_tensor dg_softmax(struct dg_graph *g, dg_tensor x) { return softmax(g, OP_SOFTMAX, x, -1); }
dg_tensor dg_log_softmax(struct dg_graph *g, dg_tensor x)
{
	return softmax(g, OP_LOG_SOFTMAX, x, -1);
}
dg_tensor dg_softmax_axis(struct dg_graph *g, dg_tensor x, int axis)
{
	return softmax(g, OP_SOFTMAX, x, axis);
}
dg_tensor dg_log_softmax_axis(struct dg_graph *g, dg_tensor x, int axis)
{
	return softmax(g, OP_LOG_SOFTMAX, x, axis);
}

dg_tensor dg_slice(struct dg_graph *g, dg_tensor x, int axis, uint64_t start, uint64_t len)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	if (g->status || (axis = axis_of(g, x, axis, "slice")) < 0)
		return DG_NONE;
	const struct dg_node *n = &g->nodes[x.id];
	for (unsigned i = 0; i < n->rank; i++)
		ia[DG_MAX_RANK + i] = (int64_t)n->dims[i];
	ia[axis] = (int64_t)start;
	ia[DG_MAX_RANK + axis] = (int64_t)len;
	return T(dg__op(g, OP_SLICE, 1, &x.id, ia, 2 * DG_MAX_RANK, NULL, 0));
}

dg_tensor dg_pad(struct dg_graph *g, dg_tensor x, const uint64_t *before,
		 const uint64_t *after, float value)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	unsigned r = x.id && x.id < g->nnodes ? g->nodes[x.id].rank : 0;
	for (unsigned i = 0; i < r; i++) {
		ia[i] = (int64_t)before[i];
		ia[DG_MAX_RANK + i] = (int64_t)after[i];
	}
	return T(dg__op(g, OP_PAD, 1, &x.id, ia, 2 * DG_MAX_RANK, &value, 1));
}

dg_tensor dg_one_hot(struct dg_graph *g, dg_tensor idx, unsigned k)
{
	int64_t ia = k;
	return T(dg__op(g, OP_ONE_HOT, 1, &idx.id, &ia, 1, NULL, 0));
}

dg_tensor dg_pick(struct dg_graph *g, dg_tensor x, dg_tensor idx)
{
	return T(dg__op2(g, OP_PICK, x.id, idx.id));
}

dg_tensor dg_embedding(struct dg_graph *g, dg_tensor table, dg_tensor idx)
{
	return T(dg__op2(g, OP_GATHER, table.id, idx.id));
}

static dg_tensor rng(struct dg_graph *g, enum dg_op op, unsigned rank, const uint64_t *dims)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	if (g->status)
		return DG_NONE;
	if (rank > DG_MAX_RANK) {
		dg__fail(g, DG_EUSAGE, "%s: rank %u too large", dg_opdefs[op].name, rank);
		return DG_NONE;
	}
	ia[0] = (int64_t)(DG_OP_STREAM | g->nstreams);
	dg__pack_shape(ia + 1, rank, dims);
	uint32_t id = dg__op(g, op, 0, NULL, ia, 2 + rank, NULL, 0);
	if (id)
		g->nstreams++;
	return T(id);
}

dg_tensor dg_random_uniform(struct dg_graph *g, unsigned rank, const uint64_t *dims)
{
	return rng(g, OP_RNG_UNIFORM, rank, dims);
}

dg_tensor dg_random_normal(struct dg_graph *g, unsigned rank, const uint64_t *dims)
{
	return rng(g, OP_RNG_NORMAL, rank, dims);
}

/* A 1×1 convolution of stride 1 without padding, y_n = W·x_n for each
 * image n (W as O×C, x_n as C×H·W), as a batched matrix product with W
 * expanded over the batch: the cpu's oneDNN convolution stages blocked
 * copies of NCHW images in and out of every call, which for a 1×1 kernel
 * cost more than the product (Gated PixelCNN's v2h and output layers,
 * PixelCNN's blocks); the copy of W is small.  0 if it is no such. */
static uint32_t conv_1x1(struct dg_graph *g, uint32_t x, uint32_t w, const int64_t *ca)
{
	const struct dg_node *xn = &g->nodes[x], *wn = &g->nodes[w];
	if (xn->rank != 4 || wn->rank != 4 || wn->dims[2] != 1 || wn->dims[3] != 1 ||
	    ca[DG_CA_STRIDE] != 1 || ca[DG_CA_TOP] || ca[DG_CA_BOTTOM] || ca[DG_CA_LEFT] ||
	    ca[DG_CA_RIGHT] || wn->dims[1] != xn->dims[1] || xn->dtype != DG_F32 ||
	    wn->dtype != DG_F32)
		return 0;
	uint64_t n = xn->dims[0], c = xn->dims[1], h = xn->dims[2], wd = xn->dims[3];
	uint64_t o = wn->dims[0];
	uint64_t x3[3] = {n, c, h * wd}, w2[2] = {o, c}, w3[3] = {n, o, c}, y4[4] = {n, o, h, wd};
	uint32_t wb = dg__expand(g, dg__reshape(g, w, 2, w2), 3, w3);
	uint32_t y = dg__matmul(g, wb, dg__reshape(g, x, 3, x3), 0, 0);
	return y ? dg__reshape(g, y, 4, y4) : 0;
}

/* y + b over y's channels (b OC or DG_NONE). */
static uint32_t add_bias(struct dg_graph *g, uint32_t y, dg_tensor b)
{
	if (!b.id || !y)
		return y;
	uint64_t bd[5] = {1, g->nodes[y].dims[1], 1, 1, 1};
	return dg__op2(g, OP_ADD, y, dg__reshape(g, b.id, g->nodes[y].rank, bd));
}

/* A convolution whose kernel covers its unpadded input, one output
 * pixel per image (cached autoregressive sampling computes one pixel
 * from its window), as the product N×(C·KH·KW) · (O×(C·KH·KW))ᵀ: a
 * oneDNN convolution staged blocked copies of so small a call at about
 * 50 times the product's cost.  0 if it is no such. */
static uint32_t conv_window(struct dg_graph *g, uint32_t x, uint32_t w, const int64_t *ca)
{
	const struct dg_node *xn = &g->nodes[x], *wn = &g->nodes[w];
	if (xn->rank != 4 || wn->rank != 4 || xn->dims[1] != wn->dims[1] ||
	    xn->dims[2] != wn->dims[2] || xn->dims[3] != wn->dims[3] || ca[DG_CA_TOP] ||
	    ca[DG_CA_BOTTOM] || ca[DG_CA_LEFT] || ca[DG_CA_RIGHT] || xn->dtype != DG_F32 ||
	    wn->dtype != DG_F32)
		return 0;
	uint64_t n = xn->dims[0], o = wn->dims[0], k = wn->count / o;
	uint64_t x2[2] = {n, k}, w2[2] = {o, k}, y4[4] = {n, o, 1, 1};
	uint32_t y = dg__matmul(g, dg__reshape(g, x, 2, x2), dg__reshape(g, w, 2, w2), 0, 1);
	return y ? dg__reshape(g, y, 4, y4) : 0;
}

/* The forward convolution node: a matrix product where one does. */
static uint32_t conv_fwd(struct dg_graph *g, dg_tensor x, dg_tensor w, const int64_t *ca)
{
	uint32_t y = 0;
	if (x.id < g->nnodes && w.id < g->nnodes) {
		y = conv_1x1(g, x.id, w.id, ca);
		if (!y && !g->status)
			y = conv_window(g, x.id, w.id, ca);
	}
	return y || g->status ? y : dg__conv(g, OP_CONV, x.id, w.id, ca, 0, NULL);
}

static dg_tensor conv_common(struct dg_graph *g, enum dg_op op, dg_tensor x, dg_tensor w,
			     dg_tensor b, const struct dg_conv *p)
{
	int64_t pad = p ? p->pad : 0;
	int64_t ca[DG_CA_SHAPE] = {[DG_CA_STRIDE] = p && p->stride ? p->stride : 1,
				   [DG_CA_DIL] = p && p->dilation ? p->dilation : 1,
				   [DG_CA_TOP] = pad, [DG_CA_BOTTOM] = pad,
				   [DG_CA_LEFT] = pad, [DG_CA_RIGHT] = pad};
	uint32_t y;

	if (g->status)
		return DG_NONE;
	if (op == OP_CONV) {
		y = conv_fwd(g, x, w, ca);
	} else {
		const struct dg_node *xn = &g->nodes[x.id], *wn = &g->nodes[w.id];
		if (xn->rank != 4 || wn->rank != 4) {
			dg__fail(g, DG_EUSAGE, "conv_transpose2d: input and weight must be 4-d");
			return DG_NONE;
		}
		uint64_t span_h = (uint64_t)ca[DG_CA_DIL] * (wn->dims[2] - 1) + 1;
		uint64_t span_w = (uint64_t)ca[DG_CA_DIL] * (wn->dims[3] - 1) + 1;
		int64_t oh = (int64_t)((xn->dims[2] - 1) * ca[DG_CA_STRIDE] + span_h) - 2 * pad +
			     (p ? p->output_padding : 0);
		int64_t ow = (int64_t)((xn->dims[3] - 1) * ca[DG_CA_STRIDE] + span_w) - 2 * pad +
			     (p ? p->output_padding : 0);
		if (oh < 1 || ow < 1) {
			dg__fail(g, DG_EUSAGE, "conv_transpose2d: empty output");
			return DG_NONE;
		}
		uint64_t d[4] = {xn->dims[0], wn->dims[1], (uint64_t)oh, (uint64_t)ow};
		y = dg__conv(g, OP_CONV_BWD_DATA, x.id, w.id, ca, 4, d);
	}
	return T(add_bias(g, y, b));
}

/* oneDNN 2.6 computes the weight gradient of a kernel KH high padded by
 * more than KH/2 rows above on its AVX2 kernels instead of AVX-512 ones:
 * PixelCNN's 7×7 type-A layer cut to 4×7 rows padded 3 above took 4.3×
 * as long.  The rows above past KH/2 are padded explicitly instead (the
 * first layers, on one channel, where that happens, copy little). */
dg_tensor dg__conv2d_sides(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			   const int64_t *ca)
{
	int64_t sides[DG_CA_SHAPE];
	if (g->status)
		return DG_NONE;
	if (!x.id || x.id >= g->nnodes || !w.id || w.id >= g->nnodes) {
		dg__fail(g, DG_EUSAGE, "conv2d: input or weight is not a tensor");
		return DG_NONE;
	}
	memcpy(sides, ca, sizeof sides);
	int64_t most = g->nodes[w.id].rank == 4 ? (int64_t)g->nodes[w.id].dims[2] / 2 : 0;
	if (sides[DG_CA_TOP] > most && g->nodes[x.id].rank == 4) {
		uint64_t before[4] = {0, 0, (uint64_t)(sides[DG_CA_TOP] - most), 0}, after[4] = {0};
		x = dg_pad(g, x, before, after, 0);
		sides[DG_CA_TOP] = most;
	}
	return g->status ? DG_NONE : T(add_bias(g, conv_fwd(g, x, w, sides), b));
}

dg_tensor dg_conv2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
		    const struct dg_conv *p)
{
	return conv_common(g, OP_CONV, x, w, b, p);
}

dg_tensor dg_conv_transpose2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			      const struct dg_conv *p)
{
	return conv_common(g, OP_CONV_BWD_DATA, x, w, b, p);
}

/* ---- general convolutions ------------------------------------------------------ */

/* The options of the first version of struct dg_conv_opt: what a caller
 * must at least pass.  Fields appended later take their defaults when
 * the caller's struct_size ends before them. */
#define CONV_OPT_SIZE_V1 sizeof(struct dg_conv_opt)

/* x's rank and the caller's options as attributes (DG_CIA_*) and the
 * transposed convolution's output padding, per spatial axis (depth
 * first).  0 after recording an error. */
static unsigned conv_attrs(struct dg_graph *g, const char *what, dg_tensor x, dg_tensor w,
			   const struct dg_conv_opt *opt, int64_t *ia, int64_t *outpad)
{
	struct dg_conv_opt o = {0};
	if (g->status)
		return 0;
	if (!x.id || x.id >= g->nnodes || !w.id || w.id >= g->nnodes) {
		dg__fail(g, DG_EUSAGE, "%s: input or weight is not a tensor", what);
		return 0;
	}
	if (opt && opt->struct_size < CONV_OPT_SIZE_V1) {
		dg__fail(g, DG_EUSAGE, "%s: options of %u bytes, want >= %zu (write them with "
			 "DG_CONV_OPT)", what, opt->struct_size, CONV_OPT_SIZE_V1);
		return 0;
	}
	if (opt)
		memcpy(&o, opt, opt->struct_size < sizeof o ? opt->struct_size : sizeof o);
	unsigned r = g->nodes[x.id].rank;
	if ((r != 4 && r != 5) || g->nodes[w.id].rank != r) {
		dg__fail(g, DG_EUSAGE, "%s: want images N×C×H×W or N×C×D×H×W and a weight of "
			 "their rank", what);
		return 0;
	}
	ia[DG_CIA_GROUPS] = o.groups ? o.groups : 1;
	for (unsigned i = 0; i < 3; i++) {
		/* option axis j is spatial axis i: (H, W) or (D, H, W) */
		int on = i >= 5 - r;
		unsigned j = i - (5 - r);
		ia[DG_CIA_STRIDE + i] = on && o.stride[j] ? o.stride[j] : 1;
		ia[DG_CIA_PAD + i] = on ? o.pad[j] : 0;
		ia[DG_CIA_DIL + i] = on && o.dilation[j] ? o.dilation[j] : 1;
		outpad[i] = on ? o.output_padding[j] : 0;
	}
	return r;
}

/* The same attributes on both spatial axes of a 2-d convolution
 * without groups: the OP_CONV path (struct dg_conv) takes it. */
static int plain_2d(unsigned r, const int64_t *ia, const int64_t *outpad, struct dg_conv *p)
{
	if (r != 4 || ia[DG_CIA_GROUPS] != 1 || ia[DG_CIA_STRIDE + 1] != ia[DG_CIA_STRIDE + 2] ||
	    ia[DG_CIA_PAD + 1] != ia[DG_CIA_PAD + 2] || ia[DG_CIA_DIL + 1] != ia[DG_CIA_DIL + 2] ||
	    outpad[1] != outpad[2])
		return 0;
	*p = (struct dg_conv){(unsigned)ia[DG_CIA_STRIDE + 1], (unsigned)ia[DG_CIA_PAD + 1],
			      (unsigned)ia[DG_CIA_DIL + 1], (unsigned)outpad[1]};
	return 1;
}

dg_tensor dg_conv_nd(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
		     const struct dg_conv_opt *opt)
{
	int64_t ia[DG_CIA_SHAPE], outpad[3];
	struct dg_conv p;
	unsigned r = conv_attrs(g, "conv_nd", x, w, opt, ia, outpad);
	if (!r)
		return DG_NONE;
	if (plain_2d(r, ia, outpad, &p))
		return dg_conv2d(g, x, w, b, &p);
	return T(add_bias(g, dg__conv_nd(g, OP_CONV_ND, x.id, w.id, ia, 0, NULL), b));
}

dg_tensor dg_conv_transpose_nd(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			       const struct dg_conv_opt *opt)
{
	int64_t ia[DG_CIA_SHAPE], outpad[3];
	uint64_t d[DG_MAX_RANK];
	struct dg_conv p;
	unsigned r = conv_attrs(g, "conv_transpose_nd", x, w, opt, ia, outpad);
	if (!r)
		return DG_NONE;
	if (plain_2d(r, ia, outpad, &p))
		return dg_conv_transpose2d(g, x, w, b, &p);
	const struct dg_node *xn = &g->nodes[x.id], *wn = &g->nodes[w.id];
	/* The weight is that of the convolution this is the adjoint of:
	 * its O is x's C, and it maps groups·w.dims[1] channels to it. */
	d[0] = xn->dims[0];
	d[1] = wn->dims[1] * (uint64_t)ia[DG_CIA_GROUPS];
	for (unsigned i = 2; i < r; i++) {
		unsigned a = i + 5 - r - 2;   /* spatial axis (depth first) */
		if (outpad[a] >= ia[DG_CIA_STRIDE + a]) {
			dg__fail(g, DG_EUSAGE, "conv_transpose_nd: output padding %lld not below "
				 "the stride %lld", (long long)outpad[a],
				 (long long)ia[DG_CIA_STRIDE + a]);
			return DG_NONE;
		}
		int64_t side = ((int64_t)xn->dims[i] - 1) * ia[DG_CIA_STRIDE + a] -
			       2 * ia[DG_CIA_PAD + a] +
			       ia[DG_CIA_DIL + a] * ((int64_t)wn->dims[i] - 1) + 1 + outpad[a];
		if (side < 1) {
			dg__fail(g, DG_EUSAGE, "conv_transpose_nd: empty output");
			return DG_NONE;
		}
		d[i] = (uint64_t)side;
	}
	return T(add_bias(g, dg__conv_nd(g, OP_CONV_ND_BWD_DATA, x.id, w.id, ia, r, d), b));
}

/* Uniform parameters on the three axes. */
static struct dg_conv_opt uniform3(const struct dg_conv *p)
{
	struct dg_conv_opt o = {.struct_size = sizeof o, .groups = 1};
	for (int i = 0; i < 3 && p; i++) {
		o.stride[i] = p->stride;
		o.pad[i] = p->pad;
		o.dilation[i] = p->dilation;
		o.output_padding[i] = p->output_padding;
	}
	return o;
}

dg_tensor dg_conv3d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
		    const struct dg_conv *p)
{
	struct dg_conv_opt o = uniform3(p);
	if (!g->status && x.id && x.id < g->nnodes && g->nodes[x.id].rank != 5) {
		dg__fail(g, DG_EUSAGE, "conv3d: want N×C×D×H×W images");
		return DG_NONE;
	}
	return dg_conv_nd(g, x, w, b, &o);
}

dg_tensor dg_conv_transpose3d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			      const struct dg_conv *p)
{
	struct dg_conv_opt o = uniform3(p);
	if (!g->status && x.id && x.id < g->nnodes && g->nodes[x.id].rank != 5) {
		dg__fail(g, DG_EUSAGE, "conv_transpose3d: want N×C×D×H×W images");
		return DG_NONE;
	}
	return dg_conv_transpose_nd(g, x, w, b, &o);
}

/* ---- pooling --------------------------------------------------------------------- */

/* Pooling of an image of rank want (4 or 5) over k windows (k on every
 * spatial axis) with stride s (0: k) and padding p. */
static dg_tensor pool(struct dg_graph *g, enum dg_op op, dg_tensor x, unsigned want, unsigned k,
		      unsigned s, unsigned p, int include_pad)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	if (g->status)
		return DG_NONE;
	if (!x.id || x.id >= g->nnodes || g->nodes[x.id].rank != want) {
		dg__fail(g, DG_EUSAGE, "%s: want %s images", dg_opdefs[op].name,
			 want == 4 ? "N×C×H×W" : "N×C×D×H×W");
		return DG_NONE;
	}
	for (unsigned i = 0; i < 3; i++) {
		int on = i >= 5 - want;
		ia[DG_PIA_KERNEL + i] = on ? k : 1;
		ia[DG_PIA_STRIDE + i] = on ? (s ? s : k) : 1;
		ia[DG_PIA_PAD + i] = on ? p : 0;
	}
	ia[DG_PIA_INCLUDE_PAD] = !!include_pad;
	return T(dg__op(g, op, 1, &x.id, ia, 2 * DG_MAX_RANK, NULL, 0));
}

dg_tensor dg_max_pool2d(struct dg_graph *g, dg_tensor x, unsigned k, unsigned stride,
			unsigned pad)
{
	return pool(g, OP_MAX_POOL, x, 4, k, stride, pad, 0);
}

dg_tensor dg_avg_pool2d(struct dg_graph *g, dg_tensor x, unsigned k, unsigned stride,
			unsigned pad, int count_include_pad)
{
	return pool(g, OP_AVG_POOL, x, 4, k, stride, pad, count_include_pad);
}

dg_tensor dg_max_pool3d(struct dg_graph *g, dg_tensor x, unsigned k, unsigned stride,
			unsigned pad)
{
	return pool(g, OP_MAX_POOL, x, 5, k, stride, pad, 0);
}

dg_tensor dg_avg_pool3d(struct dg_graph *g, dg_tensor x, unsigned k, unsigned stride,
			unsigned pad, int count_include_pad)
{
	return pool(g, OP_AVG_POOL, x, 5, k, stride, pad, count_include_pad);
}

/* The first pooling API: windows that tile the image exactly. */
static dg_tensor tiling_pool(struct dg_graph *g, enum dg_op op, dg_tensor x, unsigned k)
{
	const char *what = op == OP_MAX_POOL ? "max_pool" : "avg_pool";
	if (g->status)
		return DG_NONE;
	if (!x.id || x.id >= g->nnodes || g->nodes[x.id].rank != 4 || !k) {
		dg__fail(g, DG_EUSAGE, "%s: want N×C×H×W and a factor >= 1", what);
		return DG_NONE;
	}
	if (g->nodes[x.id].dims[2] % k || g->nodes[x.id].dims[3] % k) {
		dg__fail(g, DG_EUSAGE, "%s: height and width must be divisible by the window", what);
		return DG_NONE;
	}
	return pool(g, op, x, 4, k, k, 0, 1);
}

dg_tensor dg_avg_pool(struct dg_graph *g, dg_tensor x, unsigned k)
{
	return tiling_pool(g, OP_AVG_POOL, x, k);
}

dg_tensor dg_max_pool(struct dg_graph *g, dg_tensor x, unsigned k)
{
	return tiling_pool(g, OP_MAX_POOL, x, k);
}
