/* pixelrnn.c — the PixelRNN family (van den Oord, Kalchbrenner and
 * Kavukcuoglu 2016, "Pixel Recurrent Neural Networks"): Row LSTM and
 * Diagonal BiLSTM, exact likelihoods and pixel-by-pixel sampling.
 *
 * Both architectures, on one-channel images N×1×H×W:
 *   input   a masked 7×7 convolution of type A (dg_masked_conv2d) to h
 *           channels: position (i, j) sees only pixels before it in raster
 *           order;
 *   layers  `layers` LSTM layers of h units, each with a residual
 *           connection: out = in + conv1x1(lstm(in));
 *   head    ReLU, a 1×1 convolution to `head` channels, ReLU, a 1×1
 *           convolution to the logits: one Bernoulli logit per pixel
 *           (likelihood=bernoulli; the data statically binarized at 0.5,
 *           x > 0.5) or 256 logits over the 8-bit values (categorical).
 *
 * Row LSTM (arch=row).  The rows are processed in sequence, all columns of
 * a row at once.  The gates of row i are K_is ⊛ x_i + K_ss ⊛ h_{i-1}:
 * the input-to-state kernel is a k×1 convolution along the row masked so
 * that column j sees columns j-k/2..j (its taps right of the centre are
 * zero, so it is stored as k/2 + 1 taps: dg_causal_conv2d's
 * HORIZONTAL_B); the state-to-state kernel a full 1-D convolution of
 * width k over the previous row's hidden state.  Its receptive field is
 * the triangle above the pixel.
 *
 * Diagonal BiLSTM (arch=diagonal).  The layer input is skewed (row i
 * shifted right by i, width W + H - 1), so that a column of the skewed map
 * is a diagonal of the image; the columns are processed in sequence, the
 * gates of column d being K_is ⊛ x_d (1×1) + K_ss ⊛ h_{d-1}, a column-wise
 * 2×1 convolution over rows i-1 and i (dg_causal_conv2d's VERTICAL): in
 * the image, (i, j) follows (i-1, j) and (i, j-1).  The map is unskewed
 * after.  The second direction runs the same on the image mirrored left
 * to right, with weights of its own; mirrored back, its output is shifted
 * down one row before the two are added, so that position (i, j) takes
 * from it only rows above i: no future pixel leaks, and the two together
 * see the whole context above and to the left.
 *
 * Gates are PyTorch's nn.LSTM's in the order i, f, o, g (sigmoid on the
 * first three, tanh on g): c = f·c' + i·g, h = o·tanh(c), with zero
 * initial states.  Every convolution is initialized as PyTorch's nn.Conv2d
 * (weights and biases U(±1/√fan_in)); the state-to-state ones have no bias
 * (the input-to-state's covers it).
 *
 * Inference: loglik() is the exact negative log-likelihood per image in
 * nats ("nll") and in bits per dimension ("bpd"); sample_step() draws
 * the pixel at the step's position from its logits divided by the
 * temperature, computed at that pixel alone from device caches for the
 * Row LSTM (cached_trunk) and from the whole network on the canvas for
 * the Diagonal BiLSTM; translate() gives the model's one-step-ahead prediction of
 * every pixel, p(x_ij = 1 | x_<ij) or E[x_ij | x_<ij] in [0,1] (the
 * causality tests read it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg/nn.h"
#include "dg/plugin.h"

static const struct dg_hparam hparams[] = {
	{"arch", DG_HP_CHOICE, "row", 0, 0, "row|diagonal",
	 "row (Row LSTM) or diagonal (Diagonal BiLSTM)"},
	{"hidden", DG_HP_INT, "32", 1, 1024, NULL,
	 "h: LSTM units per layer and channels of the residual stream"},
	{"layers", DG_HP_INT, "1", 1, 16, NULL, "LSTM layers (each with a residual connection)"},
	{"kernel", DG_HP_INT, "3", 1, 15, NULL,
	 "k of the Row LSTM's k×1 convolutions along the row (odd)"},
	{"head", DG_HP_INT, "32", 1, 4096, NULL, "channels of the 1×1 hidden output layer"},
	{"likelihood", DG_HP_CHOICE, "bernoulli", 0, 0, "bernoulli|categorical",
	 "bernoulli (data binarized at 0.5) or categorical (256 values per pixel)"},
	{0},
};

#define INPUT_KERNEL 7
#define LEVELS 256

/* The weights of one LSTM direction. */
struct lstm {
	dg_tensor is_w, is_b, ss_w;
};

struct layer {
	struct lstm dir[2];        /* diagonal: left-to-right, right-to-left */
	dg_tensor out_w, out_b;    /* the 1×1 convolution of the residual */
};

struct rnn {
	int diagonal, categorical;
	uint64_t h, head, k;
	unsigned layers, hh, ww;
	dg_tensor in_w, in_b, h1_w, h1_b, h2_w, h2_b;
	struct layer *l;
	dg_tensor flip;            /* W×W: mirrors the last axis (diagonal) */
};
#define R(m) ((struct rnn *)(m)->priv)

static const float LN2 = 0.69314718055994531f;

/* ---- parameters ---------------------------------------------------------------- */

/* A convolution weight out×in×kh×kw and its bias (if b), as nn.Conv2d
 * initializes them: U(±1/√(in·kh·kw)). */
static dg_tensor conv_w(const struct dg_nn *nn, const char *name, uint64_t out, uint64_t in,
			uint64_t kh, uint64_t kw, dg_tensor *b)
{
	char full[64];
	float bound = 1.0f / sqrtf((float)(in * kh * kw));
	snprintf(full, sizeof full, "%s.w", name);
	dg_tensor w = dg_nn_param(nn, full, DG_SHAPE(out, in, kh, kw),
				  (struct dg_init){DG_INIT_UNIFORM, -bound, bound});
	if (b) {
		snprintf(full, sizeof full, "%s.b", name);
		*b = dg_nn_param(nn, full, DG_SHAPE(out), (struct dg_init){DG_INIT_UNIFORM, -bound, bound});
	}
	return w;
}

/* Every parameter, in one order whatever is built after: in, then each
 * layer's (its directions' is, ss, then out), then the head. */
static void declare(struct dg_model *m, struct rnn *r)
{
	struct dg_nn root, s;
	char name[32];
	uint64_t h = r->h, c = m->channels;
	dg_nn_init(&root, m->g, m->training);
	r->in_w = conv_w(&root, "in", h, c, INPUT_KERNEL, INPUT_KERNEL, &r->in_b);
	for (unsigned i = 0; i < r->layers; i++) {
		struct layer *L = &r->l[i];
		snprintf(name, sizeof name, "l%u", i);
		dg_nn_scope(&s, &root, name);
		for (int d = 0; d < 1 + r->diagonal; d++) {
			struct dg_nn sd = s;
			struct lstm *D = &L->dir[d];
			if (r->diagonal)
				dg_nn_scope(&sd, &s, d ? "rev" : "fwd");
			if (r->diagonal) {
				D->is_w = conv_w(&sd, "is", 4 * h, h, 1, 1, &D->is_b);
				D->ss_w = conv_w(&sd, "ss", 4 * h, h, 2, 1, NULL);
			} else {
				D->is_w = conv_w(&sd, "is", 4 * h, h, 1, r->k / 2 + 1, &D->is_b);
				D->ss_w = conv_w(&sd, "ss", 4 * h, h, 1, r->k, NULL);
			}
		}
		L->out_w = conv_w(&s, "out", h, h, 1, 1, &L->out_b);
	}
	r->h1_w = conv_w(&root, "head1", r->head, h, 1, 1, &r->h1_b);
	r->h2_w = conv_w(&root, "head2", r->categorical ? LEVELS : c, r->head, 1, 1, &r->h2_b);
}

/* ---- the networks ------------------------------------------------------------ */

/* What the network reads of images in [0,1]: 0/1 pixels (binarized at
 * 0.5) or the intensities. */
static dg_tensor model_input(struct dg_model *m, dg_tensor x)
{
	if (R(m)->categorical)
		return x;
	return dg_greater(m->g, x, dg_scalar(m->g, 0.5f));
}

/* Concatenation of parts[0..n) along axis, as a balanced tree (each
 * element is copied log n times, not n). */
static dg_tensor concat_all(struct dg_graph *g, dg_tensor *parts, size_t n, int axis)
{
	if (n == 1)
		return parts[0];
	return dg_concat(g, concat_all(g, parts, n / 2, axis),
			 concat_all(g, parts + n / 2, n - n / 2, axis), axis);
}

/* parts[0..n) = x cut into n slices of 1 along axis, by halves: the
 * gradient of a slice is its parent padded with zeros, so cutting one
 * slice at a time would cost n full-size gradients, halves about log2 n. */
static void split_all(struct dg_graph *g, dg_tensor x, int axis, dg_tensor *parts, size_t n)
{
	if (n == 1) {
		parts[0] = x;
		return;
	}
	split_all(g, dg_slice(g, x, axis, 0, n / 2), axis, parts, n / 2);
	split_all(g, dg_slice(g, x, axis, n / 2, n - n / 2), axis, parts + n / 2, n - n / 2);
}

/* The kernel of a direction's gates, 4h×(2h or 2h+1)×KH×KW, over the
 * input and the previous state side by side (the input-to-state taps
 * padded to the state-to-state window: before by ipad[0] rows and
 * ipad[1] columns, after by ipad[2] columns), and its bias: one
 * convolution per step.  (Four per step, one per gate, so that no
 * activation is sliced, ran slower: their small weight gradients cost
 * more than the slices' padded gradients.)  With ones_channel the bias
 * is instead the weight of an extra input channel of ones between the
 * two (the Diagonal LSTM's, which is zero where the skew pads, so that
 * the padding's states stay zero as if the map had no bias there). */
struct gates {
	dg_tensor w, b;
};

static void gate_kernels(struct dg_graph *g, const struct lstm *D, uint64_t h,
			 const uint64_t ipad[3], int ones_channel, struct gates *k)
{
	const uint64_t before[4] = {0, 0, ipad[0], ipad[1]}, after[4] = {0, 0, 0, ipad[2]};
	dg_tensor wi = D->is_w;
	k->b = D->is_b;
	if (ones_channel) {
		int64_t col[4] = {(int64_t)(4 * h), 1, 1, 1};
		wi = dg_concat(g, wi, dg_reshape(g, k->b, 4, col), 1);
		k->b = DG_NONE;
	}
	wi = dg_pad(g, wi, before, after, 0);
	k->w = dg_concat(g, wi, D->ss_w, 1);
}

/* The gates' convolution, zero-padded: for the Row LSTM a 1×k kernel
 * centred on the column (rows i..i of a one-row slice), for the
 * Diagonal LSTM a 2×1 one over rows i-1 and i of a column.  Both are
 * dg_causal_conv2d's VERTICAL window, a padding and a plain convolution
 * (conv_nd's own padding runs a slower path on the cpu device). */
static dg_tensor conv_gate(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b)
{
	return dg_causal_conv2d(g, x, w, b, DG_CAUSAL_VERTICAL, 0);
}

/* The LSTM cell on gates z N×4h×... (order i, f, o, g): returns h and
 * replaces *c. */
static dg_tensor lstm_cell(struct dg_graph *g, dg_tensor z, dg_tensor *c)
{
	uint64_t h = dg_dim(g, z, 1) / 4;
	dg_tensor ifo = dg_sigmoid(g, dg_slice(g, z, 1, 0, 3 * h));
	dg_tensor gg = dg_tanh(g, dg_slice(g, z, 1, 3 * h, h));
	dg_tensor cc = dg_add(g, dg_mul(g, dg_slice(g, ifo, 1, h, h), *c),
			      dg_mul(g, dg_slice(g, ifo, 1, 0, h), gg));
	*c = cc;
	return dg_mul(g, dg_slice(g, ifo, 1, 2 * h, h), dg_tanh(g, cc));
}

/* One LSTM step: the gates by conv_gate() of in, a slice of the input
 * and the previous state side by side; returns h and replaces *c. */
static dg_tensor lstm_step(struct dg_graph *g, const struct gates *k, dg_tensor in,
			   dg_tensor *c)
{
	return lstm_cell(g, conv_gate(g, in, k->w, k->b), c);
}

/* Runs a direction over the n slices of x (N×h×... along axis) in order,
 * from zero states: the hidden states, concatenated along axis. */
static dg_tensor recur(struct dg_model *m, const struct gates *k, dg_tensor x, int axis,
		       size_t n)
{
	struct dg_graph *g = m->g;
	dg_tensor *xs = calloc(n, sizeof *xs), *hs = calloc(n, sizeof *hs), out = DG_NONE;
	if (!xs || !hs) {
		free(xs), free(hs);
		dg_graph_fail(g, DG_ENOMEM, "out of memory");
		return DG_NONE;
	}
	split_all(g, x, axis, xs, n);
	uint64_t dims[DG_MAX_RANK];
	unsigned rank = dg_shape(g, xs[0], dims);
	dims[1] = R(m)->h;
	dg_tensor hp = dg_full(g, rank, dims, 0), c = hp;
	for (size_t i = 0; i < n; i++)
		hp = hs[i] = lstm_step(g, k, dg_concat(g, xs[i], hp, 1), &c);
	out = concat_all(g, hs, n, axis);
	free(xs);
	free(hs);
	return out;
}

/* Row LSTM over x N×h×H×W -> the hidden states N×h×H×W. */
static dg_tensor row_lstm(struct dg_model *m, const struct lstm *D, dg_tensor x)
{
	struct rnn *r = R(m);
	struct gates k;
	const uint64_t ipad[3] = {0, 0, r->k / 2};
	gate_kernels(m->g, D, r->h, ipad, 0, &k);
	return recur(m, &k, x, 2, r->hh);
}

/* x N×C×H×W -> N×C×H×(W+H-1), row i moved right by i: x padded with H
 * zero columns and its rows read H+W-1 long instead of H+W. */
static dg_tensor skew(struct dg_graph *g, dg_tensor x, unsigned hh, unsigned ww)
{
	int64_t n = (int64_t)dg_dim(g, x, 0), c = (int64_t)dg_dim(g, x, 1), l = hh + ww;
	const uint64_t before[4] = {0}, after[4] = {0, 0, 0, hh};
	dg_tensor p = dg_pad(g, x, before, after, 0);
	p = dg_slice(g, dg_reshape(g, p, 3, (int64_t[]){n, c, hh * l}), 2, 0, hh * (l - 1));
	return dg_reshape(g, p, 4, (int64_t[]){n, c, hh, l - 1});
}

/* The inverse: N×C×H×(W+H-1) -> N×C×H×W. */
static dg_tensor unskew(struct dg_graph *g, dg_tensor x, unsigned hh, unsigned ww)
{
	int64_t n = (int64_t)dg_dim(g, x, 0), c = (int64_t)dg_dim(g, x, 1), l = hh + ww;
	const uint64_t before[3] = {0}, after[3] = {0, 0, hh};
	dg_tensor p = dg_reshape(g, x, 3, (int64_t[]){n, c, hh * (l - 1)});
	p = dg_reshape(g, dg_pad(g, p, before, after, 0), 4, (int64_t[]){n, c, hh, l});
	return dg_slice(g, p, 3, 0, ww);
}

/* One direction of the Diagonal BiLSTM over x N×h×H×W -> N×h×H×W. */
static dg_tensor diagonal_lstm(struct dg_model *m, const struct lstm *D, dg_tensor x)
{
	struct rnn *r = R(m);
	struct gates k;
	const uint64_t ipad[3] = {1, 0, 0};
	uint64_t n = dg_dim(m->g, x, 0);
	gate_kernels(m->g, D, r->h, ipad, 1, &k);
	x = dg_concat(m->g, x, dg_full(m->g, DG_SHAPE(n, 1, r->hh, r->ww), 1), 1);
	dg_tensor hs = recur(m, &k, skew(m->g, x, r->hh, r->ww), 3, r->hh + r->ww - 1);
	return unskew(m->g, hs, r->hh, r->ww);
}

/* x mirrored left to right (times the W×W anti-diagonal). */
static dg_tensor mirror(struct dg_model *m, dg_tensor x)
{
	return dg_matmul(m->g, x, R(m)->flip, 0, 0);
}

/* x N×C×H×W moved down one row (a zero row on top). */
static dg_tensor shift_down(struct dg_graph *g, dg_tensor x)
{
	const uint64_t before[4] = {0, 0, 1, 0}, after[4] = {0};
	return dg_slice(g, dg_pad(g, x, before, after, 0), 2, 0, dg_dim(g, x, 2));
}

/* Images N×C×H×W in [0,1] -> the residual stream after the last layer,
 * N×h×H×W. */
static dg_tensor trunk(struct dg_model *m, dg_tensor x)
{
	struct dg_graph *g = m->g;
	struct rnn *r = R(m);
	struct dg_conv pad = {.pad = INPUT_KERNEL / 2};
	dg_tensor a = dg_masked_conv2d(g, model_input(m, x), r->in_w, r->in_b, &pad, 'A', 0);
	for (unsigned i = 0; i < r->layers; i++) {
		const struct layer *L = &r->l[i];
		dg_tensor s;
		if (!r->diagonal) {
			s = row_lstm(m, &L->dir[0], a);
		} else {
			dg_tensor rev = mirror(m, diagonal_lstm(m, &L->dir[1], mirror(m, a)));
			s = dg_add(g, diagonal_lstm(m, &L->dir[0], a), shift_down(g, rev));
		}
		a = dg_add(g, a, dg_conv2d(g, s, L->out_w, L->out_b, NULL));
	}
	return a;
}

/* The 1×1 output layers: features N×h×H'×W' -> logits N×K×H'×W'. */
static dg_tensor head(struct dg_model *m, dg_tensor a)
{
	struct dg_graph *g = m->g;
	struct rnn *r = R(m);
	dg_tensor hd = dg_relu(g, dg_conv2d(g, dg_relu(g, a), r->h1_w, r->h1_b, NULL));
	return dg_conv2d(g, hd, r->h2_w, r->h2_b, NULL);
}

/* Images N×C×H×W in [0,1] -> logits N×K×H×W (K: C, or 256 values). */
static dg_tensor network(struct dg_model *m, dg_tensor x)
{
	return head(m, trunk(m, x));
}

/* -log p(x) per image (n) in nats, from the logits. */
static dg_tensor nll_per_image(struct dg_model *m, dg_tensor logits, dg_tensor x)
{
	struct dg_graph *g = m->g;
	uint64_t n = dg_dim(g, x, 0);
	int64_t rows[2] = {(int64_t)n, -1};
	if (!R(m)->categorical) { /* softplus(l) - x·l */
		dg_tensor xb = model_input(m, x);
		dg_tensor e = dg_sub(g, dg_softplus(g, logits), dg_mul(g, xb, logits));
		return dg_sum(g, dg_reshape(g, e, 2, rows), 2, 0);
	}
	/* log p of each pixel's value: the 8-bit level 255·x (pick rounds it) */
	const unsigned perm[4] = {0, 2, 3, 1};
	dg_tensor lp = dg_permute(g, dg_log_softmax_axis(g, logits, 1), perm); /* N×H×W×256 */
	int64_t nhw[3] = {(int64_t)n, (int64_t)dg_dim(g, x, 2), (int64_t)dg_dim(g, x, 3)};
	dg_tensor idx = dg_reshape(g, dg_mul_scalar(g, x, LEVELS - 1), 3, nhw);
	dg_tensor picked = dg_reshape(g, dg_pick(g, lp, idx), 2, rows);
	return dg_neg(g, dg_sum(g, picked, 2, 0));
}

/* ---- the family's functions -------------------------------------------------- */

static int configure(struct dg_model *m, struct rnn *r)
{
	r->diagonal = dg_model_str(m, "arch")[0] == 'd';
	r->categorical = dg_model_str(m, "likelihood")[0] == 'c';
	r->h = (uint64_t)dg_model_int(m, "hidden");
	r->layers = (unsigned)dg_model_int(m, "layers");
	r->k = (uint64_t)dg_model_int(m, "kernel");
	r->head = (uint64_t)dg_model_int(m, "head");
	r->hh = m->height;
	r->ww = m->width;
	if (m->channels != 1)
		return dg_graph_fail(m->g, DG_EUSAGE, "images of one channel only (got %u); "
				     "use -p pixelcnn for colour", m->channels);
	if (r->k % 2 == 0)
		return dg_graph_fail(m->g, DG_EUSAGE, "kernel=%llu: must be odd",
				     (unsigned long long)r->k);
	if (!(r->l = calloc(r->layers, sizeof *r->l)))
		return dg_graph_fail(m->g, DG_ENOMEM, "out of memory");
	if (r->diagonal) {
		float *j = calloc((size_t)r->ww * r->ww, sizeof *j);
		if (!j)
			return dg_graph_fail(m->g, DG_ENOMEM, "out of memory");
		for (unsigned i = 0; i < r->ww; i++)
			j[i * r->ww + (r->ww - 1 - i)] = 1;
		r->flip = dg_constant(m->g, DG_SHAPE(r->ww, r->ww), j);
		free(j);
	}
	declare(m, r);
	return dg_graph_status(m->g);
}

static int build(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	struct rnn *r = calloc(1, sizeof *r);
	if (!r)
		return dg_graph_fail(g, DG_ENOMEM, "out of memory");
	m->priv = r;
	if (configure(m, r))
		return dg_graph_status(g);
	dg_tensor nll = dg_mean(g, nll_per_image(m, network(m, m->x), m->x), DG_AXES_ALL, 0);
	float dims = (float)m->channels * m->height * m->width;
	struct dg_phase *ph = dg_model_phase(m, "nll", nll, DG_GROUP(0));
	dg_model_term(m, ph, "nll", nll);
	dg_model_term(m, ph, "bpd", dg_mul_scalar(g, nll, 1.0f / (dims * LN2)));
	return dg_graph_status(g);
}

/* Exact: "nll", -log p(x) in nats per image, and "bpd", the same in bits
 * per dimension (k is not used). */
static int loglik(struct dg_model *m, dg_tensor x, dg_tensor y, unsigned k,
		  struct dg_term *out, unsigned *nout)
{
	float dims = (float)m->channels * m->height * m->width;
	dg_tensor nll = nll_per_image(m, network(m, x), x);
	(void)y, (void)k;
	out[0] = (struct dg_term){"nll", nll};
	out[1] = (struct dg_term){"bpd", dg_mul_scalar(m->g, nll, 1.0f / (dims * LN2))};
	*nout = 2;
	return dg_graph_status(m->g);
}

/* The one-step-ahead predictions: p(x_ij = 1 | x_<ij), or the mean
 * level E[x_ij | x_<ij] / 255, of every pixel. */
static int translate(struct dg_model *m, dg_tensor x, dg_tensor y, dg_tensor *out)
{
	struct dg_graph *g = m->g;
	dg_tensor l = network(m, x);
	(void)y;
	if (!R(m)->categorical) {
		*out = dg_sigmoid(g, l);
	} else {
		float lv[LEVELS];
		for (int i = 0; i < LEVELS; i++)
			lv[i] = (float)i / (LEVELS - 1);
		dg_tensor levels = dg_constant(g, DG_SHAPE(1, LEVELS, 1, 1), lv);
		*out = dg_sum(g, dg_mul(g, dg_softmax_axis(g, l, 1), levels), 2, 1);
	}
	return dg_graph_status(g);
}

/* ---- sampling ------------------------------------------------------------------ */

/* Most caches a step keeps: up to four variables for each of up to 16
 * layers. */
#define MAX_CACHES (4 * 16)

/* The caches of a sampling step: each variable and its new contents,
 * assigned after the run. */
struct caches {
	dg_tensor var[MAX_CACHES], value[MAX_CACHES];
	unsigned n;
};

/* A cache variable of the step, N×h×rows×W, under a name no other step
 * of the graph uses; it is written as value after each run. */
static dg_tensor cache(struct dg_model *m, struct caches *cs, uint64_t n, uint64_t rows)
{
	static unsigned long seq;
	char name[64];
	snprintf(name, sizeof name, "pixelrnn%lu.cache%u",
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED), cs->n);
	return dg_variable(m->g, name, DG_SHAPE(n, R(m)->h, rows, R(m)->ww));
}

static void keep(struct caches *cs, dg_tensor var, dg_tensor value)
{
	cs->var[cs->n] = var;
	cs->value[cs->n++] = value;
}

/* The Row LSTM's trunk at pixel (r, col) alone (Ramachandran et al.
 * 2017), for steps in raster order: features N×h×1×1.  The input
 * convolution reads the 7×7 patch of the canvas around the pixel; each
 * layer then needs, of its own activations, only
 *   its input in row r, columns col-k/2..col (a cache X of the current
 *   row, where earlier steps of the row left their values: columns right
 *   of col hold an older row's, which the kernel's zero taps ignore);
 *   the hidden states of row r-1, columns col-k/2..col+k/2 (a cache H of
 *   two rows, row i in slot i mod 2, complete since row r-1 is);
 *   the cell state of row r-1 at col (a cache C of one row: the step
 *   reads column col before it writes its own there).
 * Row 0 reads zero states, as the whole-image recurrence starts from.
 * The gates are the same convolution of the same kernel as the
 * whole-image loop's, over a 1×k window of [X; H] instead of the row. */
static dg_tensor cached_trunk(struct dg_model *m, dg_tensor canvas, dg_tensor r, dg_tensor col,
			      struct caches *cs)
{
	struct dg_graph *g = m->g;
	struct rnn *rn = R(m);
	uint64_t n = dg_dim(g, canvas, 0), hh = rn->hh, ww = rn->ww, k = rn->k;
	const uint64_t ipad[3] = {0, 0, k / 2};
	struct dg_conv nopad = {1, 0, 1, 0};

	/* where the step reads and writes: its column, its row's slot and
	 * the previous row's (none on row 0) */
	dg_tensor ecol = dg_equal(g, dg_iota(g, DG_SHAPE(1, ww)), col);          /* 1×W */
	dg_tensor par = dg_sub(g, r, dg_mul_scalar(g, dg_floor_div(g, r, 2, (hh + 1) / 2), 2));
	dg_tensor above = dg_greater_equal(g, r, dg_scalar(g, 1));
	dg_tensor slot = dg_equal(g, dg_iota(g, DG_SHAPE(2, 1)), par);             /* 2×1 */
	dg_tensor here2 = dg_mul(g, slot, ecol);                                  /* 2×W */
	dg_tensor prev = dg_mul(g, dg_equal(g, dg_iota(g, DG_SHAPE(1, 2)),
					    dg_sub(g, dg_scalar(g, 1), par)), above); /* 1×2 */
	dg_tensor win = dg_window_select(g, dg_add_scalar(g, col, -(float)(k / 2)), k, ww); /* k×W */

	dg_tensor p = dg_patch(g, canvas, r, col, INPUT_KERNEL);
	dg_tensor a = dg_masked_conv2d(g, model_input(m, p), rn->in_w, rn->in_b, &nopad, 'A', 0);
	for (unsigned l = 0; l < rn->layers; l++) {
		const struct layer *L = &rn->l[l];
		struct gates kg;
		gate_kernels(g, &L->dir[0], rn->h, ipad, 0, &kg);
		dg_tensor xc = cache(m, cs, n, 1), hc = cache(m, cs, n, 2), cc = cache(m, cs, n, 1);
		dg_tensor x = dg_where(g, ecol, a, xc);                           /* N×h×1×W */
		dg_tensor hp = dg_matmul(g, prev, hc, 0, 0);                       /* N×h×1×W */
		dg_tensor c = dg_mul(g, dg_matmul(g, cc, ecol, 0, 1), above);      /* N×h×1×1 */
		dg_tensor in = dg_matmul(g, dg_concat(g, x, hp, 1), win, 0, 1);    /* N×2h×1×k */
		dg_tensor hn = lstm_cell(g, dg_conv2d(g, in, kg.w, kg.b, NULL), &c);
		keep(cs, xc, x);
		keep(cs, hc, dg_where(g, here2, hn, hc));
		keep(cs, cc, dg_where(g, ecol, c, cc));
		a = dg_add(g, a, dg_conv2d(g, hn, L->out_w, L->out_b, NULL));
	}
	return a;
}

/* The Diagonal BiLSTM's trunk at pixel (r, col) alone: features
 * N×h×1×1.  Its left-to-right state at (r, col) needs those at
 * (r-1, col) and (r, col-1) and the input there: a cache HF of one row
 * (column col holds row r-1's until the step writes row r's; col-1
 * already holds row r's) and one of the cell states CF.  Its
 * right-to-left states, shifted down, give row r those of row r-1,
 * which depend on all of row r-1 from its right end: the work per row
 * (rows, run before the row's first step) computes them once, W cells
 * from the layer's input in row r-1 (a cache X of two rows, which the
 * steps fill) and the right-to-left states of row r-2 (a cache RH of two
 * rows, where it writes row r-1's), and each step takes column col.  The
 * cells are the whole-image loop's convolution of the same kernel over a
 * 2×1 window (the previous diagonal's rows i-1 and i), the input's and
 * the ones' upper taps zero. */
static dg_tensor cached_diagonal(struct dg_model *m, dg_tensor canvas, dg_tensor r, dg_tensor col,
				 struct caches *cs, struct caches *rows)
{
	struct dg_graph *g = m->g;
	struct rnn *rn = R(m);
	uint64_t n = dg_dim(g, canvas, 0), hh = rn->hh, ww = rn->ww;
	const uint64_t ipad[3] = {1, 0, 0}, up[4] = {0, 0, 1, 0}, none[4] = {0};
	struct dg_conv nopad = {1, 0, 1, 0};
	dg_tensor *xs = calloc(ww, sizeof *xs), *hs = calloc(ww, sizeof *hs), *ab = calloc(ww, sizeof *ab);
	if (!xs || !hs || !ab) {
		free(xs), free(hs), free(ab);
		dg_graph_fail(g, DG_ENOMEM, "out of memory");
		return DG_NONE;
	}

	dg_tensor cols1 = dg_iota(g, DG_SHAPE(1, ww));
	dg_tensor ecol = dg_equal(g, cols1, col);                                  /* 1×W */
	dg_tensor eleft = dg_equal(g, cols1, dg_add_scalar(g, col, -1));           /* 1×W */
	dg_tensor par = dg_sub(g, r, dg_mul_scalar(g, dg_floor_div(g, r, 2, (hh + 1) / 2), 2));
	dg_tensor npar = dg_sub(g, dg_scalar(g, 1), par);
	dg_tensor above = dg_greater_equal(g, r, dg_scalar(g, 1));
	dg_tensor above2 = dg_greater_equal(g, r, dg_scalar(g, 2));
	dg_tensor slot = dg_equal(g, dg_iota(g, DG_SHAPE(2, 1)), par);             /* 2×1: row r */
	dg_tensor here2 = dg_mul(g, slot, ecol);                                  /* 2×W */
	dg_tensor wslot = dg_equal(g, dg_iota(g, DG_SHAPE(2, 1)), npar);           /* 2×1: row r-1 */
	dg_tensor prev = dg_mul(g, dg_equal(g, dg_iota(g, DG_SHAPE(1, 2)), npar), above); /* 1×2 */
	dg_tensor prev2 = dg_mul(g, dg_equal(g, dg_iota(g, DG_SHAPE(1, 2)), par), above2); /* 1×2 */
	dg_tensor ones = dg_full(g, DG_SHAPE(n, 1, 2, 1), 1);

	dg_tensor p = dg_patch(g, canvas, r, col, INPUT_KERNEL);
	dg_tensor a = dg_masked_conv2d(g, model_input(m, p), rn->in_w, rn->in_b, &nopad, 'A', 0);
	for (unsigned l = 0; l < rn->layers; l++) {
		const struct layer *L = &rn->l[l];
		struct gates kf, kr;
		gate_kernels(g, &L->dir[0], rn->h, ipad, 1, &kf);
		gate_kernels(g, &L->dir[1], rn->h, ipad, 1, &kr);
		dg_tensor hf = cache(m, cs, n, 1), cf = cache(m, cs, n, 1);
		dg_tensor xc = cache(m, cs, n, 2), rh = cache(m, cs, n, 2);

		/* left to right, at the pixel */
		dg_tensor hup = dg_mul(g, dg_matmul(g, hf, ecol, 0, 1), above);    /* N×h×1×1 */
		dg_tensor hleft = dg_matmul(g, hf, eleft, 0, 1);
		dg_tensor c = dg_matmul(g, cf, eleft, 0, 1);
		dg_tensor xin = dg_concat(g, dg_pad(g, a, up, none, 0), ones, 1); /* N×(h+1)×2×1 */
		dg_tensor in = dg_concat(g, xin, dg_concat(g, hup, hleft, 2), 1);
		dg_tensor hn = lstm_cell(g, dg_conv2d(g, in, kf.w, kf.b, NULL), &c);
		keep(cs, hf, dg_where(g, ecol, hn, hf));
		keep(cs, cf, dg_where(g, ecol, c, cf));

		/* right to left over row r-1, from row r-2's states, once per
		 * row (row r-1's inputs are all in X by then) */
		keep(cs, xc, dg_where(g, here2, a, xc));                          /* N×h×2×W */
		split_all(g, dg_matmul(g, prev, xc, 0, 0), 3, xs, ww);            /* row r-1 */
		split_all(g, dg_matmul(g, prev2, rh, 0, 0), 3, ab, ww);           /* row r-2 */
		dg_tensor hr = dg_full(g, DG_SHAPE(n, rn->h, 1, 1), 0), cr = hr;
		for (uint64_t j = ww; j-- > 0;) {
			dg_tensor xj = dg_concat(g, dg_pad(g, xs[j], up, none, 0), ones, 1);
			dg_tensor inj = dg_concat(g, xj, dg_concat(g, ab[j], hr, 2), 1);
			hr = hs[j] = lstm_cell(g, dg_conv2d(g, inj, kr.w, kr.b, NULL), &cr);
		}
		dg_tensor rev = concat_all(g, hs, ww, 3);                         /* N×h×1×W */
		keep(rows, rh, dg_where(g, wslot, rev, rh));
		/* the step: row r-1's state at col */
		dg_tensor rj = dg_mul(g, dg_matmul(g, dg_matmul(g, prev, rh, 0, 0), ecol, 0, 1),
				      above);                                      /* N×h×1×1 */
		a = dg_add(g, a, dg_conv2d(g, dg_add(g, hn, rj), L->out_w, L->out_b, NULL));
	}
	free(xs), free(hs), free(ab);
	return a;
}

/* Step pos draws pixel pos (raster order).  The Row LSTM computes it
 * alone with caches (cached_trunk); the Diagonal BiLSTM, or any model
 * with DG_PIXELRNN_FULL_STEPS=1 in the environment, runs the whole
 * network on the canvas (the straightforward loop, which the tests
 * compare the caches with) and computes only that pixel's logits past
 * the LSTM layers (its features picked by a one-hot mask). */
static int sample_step(struct dg_model *m, dg_tensor canvas, dg_tensor pos, float t,
		       dg_tensor y, struct dg_step_sampler *out)
{
	struct dg_graph *g = m->g;
	struct rnn *r = R(m);
	uint64_t n = dg_dim(g, canvas, 0), hw = (uint64_t)r->hh * r->ww;
	const char *full = getenv("DG_PIXELRNN_FULL_STEPS");
	int whole = full && *full && strcmp(full, "0") != 0;
	int cached = !whole;
	struct caches cs = {.n = 0}, per_row = {.n = 0};
	(void)y;
	if (!(t > 0))
		return dg_graph_fail(g, DG_EUSAGE, "temperature %g: must be > 0", t);
	if (cached && 4 * r->layers > MAX_CACHES)
		cached = 0;
	dg_tensor ps = dg_cast(g, pos, 1);
	dg_tensor here = dg_equal(g, dg_iota(g, DG_SHAPE(1, 1, hw)), ps);
	dg_tensor f;
	if (cached) {
		dg_tensor p1 = dg_reshape(g, ps, 1, (const int64_t[]){1});
		dg_tensor row = dg_floor_div(g, p1, r->ww, r->hh);
		dg_tensor col = dg_sub(g, p1, dg_mul_scalar(g, row, (float)r->ww));
		f = r->diagonal ? cached_diagonal(m, canvas, row, col, &cs, &per_row) :
				  cached_trunk(m, canvas, row, col, &cs);
	} else {
		dg_tensor a = trunk(m, canvas);
		int64_t flat[3] = {(int64_t)n, (int64_t)r->h, (int64_t)hw};
		f = dg_sum(g, dg_mul(g, dg_reshape(g, a, 3, flat), here), 4, 1); /* N×h×1 */
		int64_t px[4] = {(int64_t)n, (int64_t)r->h, 1, 1};
		f = dg_reshape(g, f, 4, px);
	}
	dg_tensor l = dg_mul_scalar(g, head(m, f), 1.0f / t);
	int64_t rows[2] = {(int64_t)n, -1};
	l = dg_reshape(g, l, 2, rows);                          /* N×1 or N×256 */
	dg_tensor v = r->categorical ?
		dg_mul_scalar(g, dg_sample_categorical_logits(g, l), 1.0f / (LEVELS - 1)) :
		dg_sample_bernoulli_logits(g, l);
	int64_t col[3] = {(int64_t)n, 1, 1};
	dg_tensor c = dg_reshape(g, canvas, 3, (int64_t[]){(int64_t)n, 1, (int64_t)hw});
	dg_tensor next = dg_where(g, here, dg_reshape(g, v, 3, col), c);
	out->next = dg_reshape(g, next, 4, (int64_t[]){(int64_t)n, 1, r->hh, r->ww});
	out->steps = hw;
	out->steps_per_row = r->ww;
	for (unsigned i = 0; i < cs.n; i++)
		dg_assign(g, cs.var[i], cs.value[i], out->next);
	if (per_row.n) {
		out->row = per_row.value[0];
		for (unsigned i = 0; i < per_row.n; i++)
			dg_assign(g, per_row.var[i], per_row.value[i], out->row);
	}
	/* The caches need the kept steps of a completion run.  The whole-image
	 * loop asked for through the environment runs them too, so that both
	 * draw from the generator at the same counters (the tests compare
	 * their completions). */
	out->replay = cs.n > 0 || whole;
	return dg_graph_status(g);
}

static void release(struct dg_model *m)
{
	struct rnn *r = R(m);
	if (r)
		free(r->l);
	free(r);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = sizeof(struct dg_family),
	.name = "pixelrnn",
	.summary = "PixelRNN: Row LSTM or Diagonal BiLSTM over pixels, exact likelihood, "
		   "pixel-by-pixel sampling",
	.hparams = hparams,
	.caps = DG_CAP_SAMPLE_STEPS | DG_CAP_LIKELIHOOD | DG_CAP_TRANSLATE,
	.build = build,
	.sample_step = sample_step,
	.translate = translate,
	.loglik = loglik,
	.release = release,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
