/* pixelcnn.c — the PixelCNN family: PixelCNN (van den Oord et al. 2016,
 * "Pixel Recurrent Neural Networks", section 3.5 and figure 5) and Gated
 * PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with
 * PixelCNN Decoders"), exact likelihoods and pixel-by-pixel sampling on the
 * device (man/dg-pixelcnn.7).
 *
 * arch=pixelcnn: a 7×7 masked convolution of type A (C -> 2h channels),
 * `layers` residual blocks x + up(relu(B3x3(relu(down(relu(x)))))) with
 * 1×1 convolutions down (2h -> h) and up (h -> 2h) around a 3×3 type-B
 * masked convolution, then relu, a 1×1 layer of `out_hidden` units, relu,
 * and a 1×1 layer to the output distribution.  For 3-channel data every
 * layer's channels are split into R, G, B thirds and the masks order them
 * within a pixel (section 3.4): the 1×1 layers are type-B masked too.
 *
 * arch=gated: `layers` gated layers of a vertical and a horizontal stack
 * (no blind spot).  Layer l, from (v, h) with F = h channels each (the
 * image itself for l = 0):
 *   vc = vconv(v) [+ class bias]      (rows up to the pixel's own, k wide)
 *   v' = tanh(vc_a)·σ(vc_b)
 *   hc = hconv(h) + v2h(shift_down(vc)) [+ class bias]   (hconv: the row's
 *        pixels up to this one, k/2+1 wide, type A at l = 0, else B)
 *   h' = hout(tanh(hc_a)·σ(hc_b)) + (l > 0 ? h : 0)
 * with kernel k = 7 at l = 0 and 3 after; v2h and hout are 1×1.  The
 * output head is the PixelCNN's on h.  Class-conditional biases (one per
 * class and channel, conditional=1) enter every layer of both stacks.
 *
 * Outputs: with binarize=T > 0 the data is binarized by the static
 * threshold x > T (the network sees and models the binarized image) and
 * each pixel is Bernoulli with a logit; with binarize=0 each channel value
 * is one of 256 levels (round(255·x)) under a softmax of 256 logits, and
 * the network sees x itself (level/255 for 8-bit images).  The loss is the exact NLL in nats per
 * image, summed over pixels, averaged over the batch.
 *
 * Sampling: one step per pixel and channel in raster order (row, column,
 * R, G, B).  Both architectures compute the network at the drawn pixel
 * alone with caches of the activations that later steps read (Ramachandran
 * et al. 2017): cached_body for arch=pixelcnn, cached_gated for arch=gated
 * (the vertical stack of the row above, a few columns ahead, and the
 * horizontal stack at the pixel); the 1×1 head then runs on its features
 * alone.  Models deeper than the caches allow run the stacks on the window
 * of the canvas that the pixel's receptive field covers (`rows_above` rows
 * above, `left` and `right` columns either side), moved over the canvas
 * with one-hot selection matrices built from pos on the device (a matmul
 * each way), and pick the pixel's features.  The window is clamped inside
 * the image: where it meets the image's edge, the network's zero padding
 * is the image's; elsewhere its edge is at least a receptive field away
 * from the pixel, so that what the edge changes cannot reach it.  With the
 * environment variable DG_PIXELCNN_FULL_STEPS=1 each step runs the whole
 * image instead (the straightforward loop: tests compare the two). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg/nn.h"
#include "dg/plugin.h"

static const struct dg_hparam hparams[] = {
	{"arch", DG_HP_CHOICE, "pixelcnn", 0, 0, "pixelcnn|gated",
	 "pixelcnn (masked convs, residual blocks) or gated (vertical and horizontal stacks)"},
	{"features", DG_HP_INT, "32", 2, 4096, NULL,
	 "channels: 2h of pixelcnn's blocks; h of each gated stack"},
	{"layers", DG_HP_INT, "5", 1, 256, NULL,
	 "residual blocks (pixelcnn) or gated layers (gated)"},
	{"out_hidden", DG_HP_INT, "32", 1, 4096, NULL, "units of the 1x1 layer before the output"},
	{"binarize", DG_HP_FLOAT, "0", 0, 1, NULL,
	 "> 0: static threshold x > T, Bernoulli pixels; 0: 256-way softmax per channel"},
	{"conditional", DG_HP_BOOL, "0", 0, 0, NULL,
	 "gated: class-conditional biases (needs labels)"},
	{0},
};

#define LEVELS 256
/* Most caches sampling keeps: a PixelCNN's one a block, a gated model's
 * two a layer but the last (deeper models use windows). */
#define DG_CACHES 64

struct pixelcnn {
	int gated;
	unsigned groups;           /* colour groups of the masks: 3 for RGB, else 1 */
	uint64_t f, layers, out_hidden;
	float threshold;           /* 0: 8-bit softmax */
	unsigned classes;          /* > 0: conditional */
	uint64_t outc;             /* output channels: C, or 256·C */
	unsigned rows_above, left, right; /* the receptive field */
	struct dg_nn nn;
};
#define P(m) ((struct pixelcnn *)(m)->priv)

/* ---- layers ------------------------------------------------------------------- */

/* A masked k×k convolution (1×1: type B, which for one colour group is a
 * plain 1×1 convolution). */
static dg_tensor mconv(struct dg_model *m, const char *name, dg_tensor x, uint64_t out,
		       unsigned k, char mask)
{
	struct pixelcnn *p = P(m);
	return dg_nn_masked_conv2d(&p->nn, name, x, out, k, mask, p->groups, NULL);
}

/* A causal convolution of Gated PixelCNN's stacks with weight and bias
 * initialized as PyTorch's Conv2d: U(±1/√fan_in). */
static dg_tensor cconv(struct dg_model *m, const char *name, dg_tensor x, uint64_t out,
		       unsigned kh, unsigned kw, enum dg_causal kind)
{
	struct pixelcnn *p = P(m);
	char wn[DG_NN_MAX_NAME], bn[DG_NN_MAX_NAME];
	uint64_t c = dg_dim(m->g, x, 1);
	float bound = 1.0f / sqrtf((float)(c * kh * kw));
	snprintf(wn, sizeof wn, "%s.w", name);
	snprintf(bn, sizeof bn, "%s.b", name);
	dg_tensor w = dg_nn_param(&p->nn, wn, DG_SHAPE(out, c, kh, kw),
				  (struct dg_init){DG_INIT_UNIFORM, -bound, bound});
	dg_tensor b = dg_nn_param(&p->nn, bn, DG_SHAPE(out),
				  (struct dg_init){DG_INIT_UNIFORM, -bound, bound});
	return dg_causal_conv2d(m->g, x, w, b, kind, 0);
}

/* The class bias of a layer: one-hot labels through a dense layer without
 * bias (nn.Linear(classes, out, bias=False)), as N×out×1×1. */
static dg_tensor class_bias(struct dg_model *m, const char *name, dg_tensor oh, uint64_t out)
{
	int64_t d[4] = {-1, (int64_t)out, 1, 1};
	dg_tensor b = dg_nn_dense(&P(m)->nn, name, oh, out, DG_NN_OPT(.flags = DG_NN_NO_BIAS));
	return dg_reshape(m->g, b, 4, d);
}

/* x moved down one row, the top row zero. */
static dg_tensor shift_down(struct dg_graph *g, dg_tensor x)
{
	uint64_t before[4] = {0, 0, 1, 0}, after[4] = {0};
	return dg_slice(g, dg_pad(g, x, before, after, 0), 2, 0, dg_dim(g, x, 2));
}

static dg_tensor pixelcnn_body(struct dg_model *m, dg_tensor x)
{
	struct dg_graph *g = m->g;
	struct pixelcnn *p = P(m);
	char name[32];
	dg_tensor h = mconv(m, "in", x, p->f, 7, 'A');
	for (uint64_t l = 0; l < p->layers; l++) {
		snprintf(name, sizeof name, "block%llu_down", (unsigned long long)l);
		dg_tensor t = mconv(m, name, dg_relu(g, h), p->f / 2, 1, 'B');
		snprintf(name, sizeof name, "block%llu_mid", (unsigned long long)l);
		t = mconv(m, name, dg_relu(g, t), p->f / 2, 3, 'B');
		snprintf(name, sizeof name, "block%llu_up", (unsigned long long)l);
		t = mconv(m, name, dg_relu(g, t), p->f, 1, 'B');
		h = dg_add(g, h, t);
	}
	return h;
}

static dg_tensor gated_body(struct dg_model *m, dg_tensor x, dg_tensor oh)
{
	struct dg_graph *g = m->g;
	struct pixelcnn *p = P(m);
	uint64_t f = p->f;
	char name[32];
	dg_tensor v = x, h = x;
	for (uint64_t l = 0; l < p->layers; l++) {
		unsigned k = l ? 3 : 7;
		unsigned long long ll = (unsigned long long)l;
		snprintf(name, sizeof name, "g%llu_v", ll);
		dg_tensor vc = cconv(m, name, v, 2 * f, k / 2 + 1, k, DG_CAUSAL_VERTICAL);
		if (oh.id) {
			snprintf(name, sizeof name, "g%llu_cv", ll);
			vc = dg_add(g, vc, class_bias(m, name, oh, 2 * f));
		}
		snprintf(name, sizeof name, "g%llu_h", ll);
		dg_tensor hc = cconv(m, name, h, 2 * f, 1, k / 2 + 1,
				     l ? DG_CAUSAL_HORIZONTAL_B : DG_CAUSAL_HORIZONTAL_A);
		snprintf(name, sizeof name, "g%llu_v2h", ll);
		hc = dg_add(g, hc, dg_nn_conv2d(&p->nn, name, shift_down(g, vc), 2 * f, 1, 1, 0,
						NULL));
		if (oh.id) {
			snprintf(name, sizeof name, "g%llu_ch", ll);
			hc = dg_add(g, hc, class_bias(m, name, oh, 2 * f));
		}
		v = dg_gated_activation(g, vc, 1);
		snprintf(name, sizeof name, "g%llu_hout", ll);
		dg_tensor ho = dg_nn_conv2d(&p->nn, name, dg_gated_activation(g, hc, 1), f, 1, 1, 0,
					    NULL);
		h = l ? dg_add(g, h, ho) : ho;
	}
	return h;
}

/* The network's input: the binarized image, or the image itself (8-bit
 * data is level/255 already; its labels are round(255·x)). */
static dg_tensor net_input(struct dg_model *m, dg_tensor x)
{
	struct dg_graph *g = m->g;
	struct pixelcnn *p = P(m);
	if (p->threshold > 0)
		return dg_greater(g, x, dg_scalar(g, p->threshold));
	return x;
}

/* x: N×C×H×W network input (any H, W) -> N×outc×H×W logits: for 8-bit
 * data channel c's 256 logits are channels c·256 .. c·256+255. */
static dg_tensor body(struct dg_model *m, dg_tensor x, dg_tensor oh)
{
	return P(m)->gated ? gated_body(m, x, oh) : pixelcnn_body(m, x);
}

/* The 1×1 layers from the body's features to the logits. */
static dg_tensor head(struct dg_model *m, dg_tensor h)
{
	struct dg_graph *g = m->g;
	struct pixelcnn *p = P(m);
	h = mconv(m, "out1", dg_relu(g, h), p->out_hidden, 1, 'B');
	return mconv(m, "out2", dg_relu(g, h), p->outc, 1, 'B');
}

static dg_tensor network(struct dg_model *m, dg_tensor x, dg_tensor oh)
{
	return head(m, body(m, x, oh));
}

/* ---- likelihood ----------------------------------------------------------------- */

/* One-hot labels of a conditional model, DG_NONE otherwise; fails the
 * graph when a conditional model is given none. */
static dg_tensor one_hot(struct dg_model *m, dg_tensor y)
{
	struct pixelcnn *p = P(m);
	if (!p->classes)
		return DG_NONE;
	if (!y.id) {
		dg_graph_fail(m->g, DG_EUSAGE, "a conditional PixelCNN needs class labels "
			      "(give a class for each item)");
		return DG_NONE;
	}
	return dg_one_hot(m->g, y, p->classes);
}

/* 8-bit logits N×(C·256)×H×W -> N×C×H×W×256, a softmax's last axis. */
static dg_tensor levels_last(struct dg_model *m, dg_tensor logits)
{
	struct dg_graph *g = m->g;
	uint64_t d[DG_MAX_RANK];
	dg_shape(g, logits, d);
	int64_t s5[5] = {(int64_t)d[0], m->channels, LEVELS, (int64_t)d[2], (int64_t)d[3]};
	static const unsigned perm[5] = {0, 1, 3, 4, 2};
	return dg_permute(g, dg_reshape(g, logits, 5, s5), perm);
}

/* -log p(x) per pixel and channel (N×C×H×W), in nats. */
static dg_tensor nll_elements(struct dg_model *m, dg_tensor x, dg_tensor logits)
{
	struct dg_graph *g = m->g;
	if (P(m)->threshold > 0) { /* softplus(l) - t·l */
		dg_tensor t = net_input(m, x);
		return dg_sub(g, dg_softplus(g, logits), dg_mul(g, t, logits));
	}
	dg_tensor labels = dg_mul_scalar(g, dg_clamp(g, x, 0, 1), LEVELS - 1);
	return dg_neg(g, dg_pick(g, dg_log_softmax(g, levels_last(m, logits)), labels));
}

/* ---- the family's functions -------------------------------------------------------- */

static int configure(struct dg_model *m, struct pixelcnn *p)
{
	struct dg_graph *g = m->g;
	p->gated = dg_model_str(m, "arch")[0] == 'g';
	p->f = (uint64_t)dg_model_int(m, "features");
	p->layers = (uint64_t)dg_model_int(m, "layers");
	p->out_hidden = (uint64_t)dg_model_int(m, "out_hidden");
	p->threshold = (float)dg_model_float(m, "binarize");
	if (dg_graph_status(g))
		return dg_graph_status(g);
	if (m->channels != 1 && m->channels != 3)
		return dg_graph_fail(g, DG_EUSAGE, "images of 1 or 3 channels only (got %u)",
				     m->channels);
	p->groups = m->channels == 3 ? 3 : 1;
	if (p->groups == 3 && p->gated)
		return dg_graph_fail(g, DG_EUSAGE, "arch=gated models one channel only; "
				     "use arch=pixelcnn for RGB");
	if (p->groups == 3 && (p->f % 6 || p->out_hidden % 3))
		return dg_graph_fail(g, DG_EUSAGE, "RGB: features must divide by 6 and out_hidden "
				     "by 3 (channels split into R, G, B thirds)");
	if (!p->gated && p->f % 2)
		return dg_graph_fail(g, DG_EUSAGE, "features must be even (blocks go down to half)");
	m->labels_unused = !dg_model_bool(m, "conditional");
	if (dg_model_bool(m, "conditional")) {
		if (!p->gated)
			return dg_graph_fail(g, DG_EUSAGE, "conditional=1 needs arch=gated");
		if (!m->classes)
			return dg_graph_fail(g, DG_EUSAGE, "conditional=1 needs labelled data "
					     "(a class count); this data has no labels");
		p->classes = m->classes;
	}
	p->outc = p->threshold > 0 ? m->channels : (uint64_t)LEVELS * m->channels;
	/* The receptive field: how far above, left and right a pixel's
	 * logits may see (bounds; a larger window is still exact). */
	if (p->gated) {
		unsigned reach = 3 + (unsigned)(p->layers - 1); /* vertical: k/2 a layer */
		p->rows_above = reach + 1;                      /* + the shift down */
		p->right = reach;
		p->left = 2 * reach;                            /* vertical + horizontal */
	} else {
		p->rows_above = p->left = p->right = 3 + (unsigned)p->layers;
	}
	dg_nn_init(&p->nn, g, m->training);
	return dg_graph_status(g);
}

static int build(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	struct pixelcnn *p = calloc(1, sizeof *p);
	if (!p)
		return dg_graph_fail(g, DG_ENOMEM, "out of memory");
	m->priv = p;
	if (configure(m, p))
		return dg_graph_status(g);
	dg_tensor logits = network(m, net_input(m, m->x), one_hot(m, m->y));
	dg_tensor loss;
	if (p->threshold > 0) /* the fused BCE: training's hot path */
		loss = dg_bce_logits_loss(g, logits, net_input(m, m->x), DG_SUM_MEAN_BATCH);
	else
		loss = dg_mul_scalar(g, dg_sum(g, nll_elements(m, m->x, logits), DG_AXES_ALL, 0),
				     1.0f / (float)m->batch);
	struct dg_phase *ph = dg_model_phase(m, "nll", loss, DG_GROUP(0));
	dg_model_term(m, ph, "nll", loss);
	dg_model_term(m, ph, "bpd", dg_mul_scalar(g, loss, (float)(1.0 / (log(2.0) *
			(double)m->channels * m->height * m->width))));
	return dg_graph_status(g);
}

/* Exact -log p(x) per image in nats ("nll"); the same in bits per
 * dimension ("bpd"). */
static int loglik(struct dg_model *m, dg_tensor x, dg_tensor y, unsigned k,
		  struct dg_term *out, unsigned *nout)
{
	struct dg_graph *g = m->g;
	(void)k;
	dg_tensor logits = network(m, net_input(m, x), one_hot(m, y));
	dg_tensor nll = dg_sum(g, nll_elements(m, x, logits), (1u << 1) | (1u << 2) | (1u << 3), 0);
	out[0] = (struct dg_term){"nll", nll};
	out[1] = (struct dg_term){"bpd", dg_mul_scalar(g, nll, (float)(1.0 / (log(2.0) *
			(double)m->channels * m->height * m->width)))};
	*nout = 2;
	return dg_graph_status(g);
}

/* Each pixel's one-step-ahead prediction from the image's earlier pixels
 * (N×C×H×W in [0,1]): p(x = 1 | x_<) with binarize=T, else the mean level
 * E[x | x_<] of each channel.  dg-translate shows it; the causality test
 * (t_pixel_causal.c) reads it pixel by pixel. */
static int translate(struct dg_model *m, dg_tensor x, dg_tensor y, dg_tensor *out)
{
	struct dg_graph *g = m->g;
	dg_tensor logits = network(m, net_input(m, x), one_hot(m, y));
	if (P(m)->threshold > 0) {
		*out = dg_sigmoid(g, logits);
	} else {
		float lv[LEVELS];
		for (int i = 0; i < LEVELS; i++)
			lv[i] = (float)i / (LEVELS - 1);
		dg_tensor levels = dg_constant(g, DG_SHAPE(1, 1, 1, 1, LEVELS), lv);
		dg_tensor p = dg_softmax_axis(g, levels_last(m, logits), 4);
		*out = dg_sum(g, dg_mul(g, p, levels), 1u << 4, 0);
	}
	return dg_graph_status(g);
}

/* ---- sampling ------------------------------------------------------------------- */

/* A masked convolution of the family applied to one k×k patch: its one
 * output pixel, N×OC×1×1, with the layer's own weights. */
static dg_tensor mconv_at(struct dg_model *m, const char *name, dg_tensor patch, char mask)
{
	char wn[DG_NN_MAX_NAME], bn[DG_NN_MAX_NAME];
	snprintf(wn, sizeof wn, "%s.w", name);
	snprintf(bn, sizeof bn, "%s.b", name);
	dg_tensor w = dg_var_tensor(m->g, wn), b = dg_var_tensor(m->g, bn);
	if (!w.id || !b.id) {
		dg_graph_fail(m->g, DG_EINTERNAL, "%s: no such layer", name);
		return DG_NONE;
	}
	struct dg_conv cv = {1, 0, 1, 0};
	return dg_masked_conv2d(m->g, patch, w, b, &cv, mask, P(m)->groups);
}

/* Rows a block's cache keeps: the 3×3 convolution's mask reads the rows
 * above and its own, so a cache holds two, row i in slot i mod 2. */
#define CACHE_ROWS 2

/* (v + CACHE_ROWS) mod CACHE_ROWS for integers v >= -CACHE_ROWS of any shape
 * (k×1), below h + 1. */
static dg_tensor slot_of(struct dg_graph *g, dg_tensor v, uint64_t h)
{
	uint64_t n = (h + CACHE_ROWS + 1) / CACHE_ROWS;
	dg_tensor u = dg_add_scalar(g, v, CACHE_ROWS);
	float *t = malloc(n * sizeof *t);
	if (!t) {
		dg_graph_fail(g, DG_ENOMEM, "out of memory");
		return DG_NONE;
	}
	for (uint64_t i = 0; i < n; i++)
		t[i] = (float)((i + 1) * CACHE_ROWS);
	dg_tensor steps = dg_constant(g, DG_SHAPE(1, n), t);
	free(t);
	dg_tensor q = dg_sum(g, dg_greater_equal(g, u, steps), 1u << 1, 1);
	return dg_sub(g, u, dg_mul_scalar(g, q, CACHE_ROWS));
}

/* The 3×3 patch centred on (r, col) of a cache (N×C×CACHE_ROWS×W), zeros
 * outside the image; the row below the pixel is whatever the cache holds
 * (the mask never reads it). */
static dg_tensor cache_patch(struct dg_graph *g, dg_tensor cache, dg_tensor r, dg_tensor col,
			     uint64_t h)
{
	uint64_t w = dg_dim(g, cache, 3);
	dg_tensor rows = dg_add(g, dg_iota(g, DG_SHAPE(3, 1)), dg_add_scalar(g, r, -1)); /* 3×1 */
	dg_tensor valid = dg_mul(g, dg_greater_equal(g, rows, dg_scalar(g, 0)),
				 dg_greater(g, dg_scalar(g, (float)h), rows));
	dg_tensor sel = dg_mul(g, dg_equal(g, dg_iota(g, DG_SHAPE(1, CACHE_ROWS)),
					   slot_of(g, rows, h)), valid);           /* 3×CACHE_ROWS */
	dg_tensor cols = dg_window_select(g, dg_add_scalar(g, col, -1), 3, w);
	return dg_matmul(g, dg_matmul(g, sel, cache, 0, 0), cols, 0, 1);
}

/* PixelCNN's body at pixel (r, col) alone, with caches (Ramachandran et
 * al. 2017): each block's 3×3 convolution reads its input around the
 * pixel from a variable holding it for the last two rows, where earlier
 * steps left the values of earlier pixels (which no later step changes),
 * and stores the pixel's own there.  Every other layer is 1×1, and the
 * first reads the canvas.  Returns N×F×1×1, and in values[] and caches[]
 * each cache's new contents and its variable, for dg_assign. */
static dg_tensor cached_body(struct dg_model *m, dg_tensor canvas, dg_tensor r, dg_tensor col,
			     dg_tensor values[], uint64_t *ncache, dg_tensor caches[])
{
	struct dg_graph *g = m->g;
	struct pixelcnn *p = P(m);
	uint64_t n = dg_dim(g, canvas, 0), h = m->height, w = m->width;
	static unsigned long seq;
	char name[64];
	dg_tensor here = dg_mul(g, dg_equal(g, dg_iota(g, DG_SHAPE(CACHE_ROWS, 1)),
					    slot_of(g, r, h)),
				dg_equal(g, dg_iota(g, DG_SHAPE(1, w)), col)); /* CACHE_ROWS×W */
	dg_tensor x = mconv_at(m, "in", net_input(m, dg_patch(g, canvas, r, col, 7)), 'A');
	for (uint64_t l = 0; l < p->layers; l++) {
		snprintf(name, sizeof name, "block%llu_down", (unsigned long long)l);
		dg_tensor t = mconv(m, name, dg_relu(g, x), p->f / 2, 1, 'B');
		snprintf(name, sizeof name, "pixelcnn%lu.cache%llu",
			 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED), (unsigned long long)l);
		dg_tensor cache = dg_variable(g, name, DG_SHAPE(n, p->f / 2, CACHE_ROWS, w));
		dg_tensor now = dg_where(g, here, dg_relu(g, t), cache);
		values[*ncache] = now;
		caches[(*ncache)++] = cache;
		snprintf(name, sizeof name, "block%llu_mid", (unsigned long long)l);
		t = mconv_at(m, name, cache_patch(g, now, r, col, h), 'B');
		snprintf(name, sizeof name, "block%llu_up", (unsigned long long)l);
		x = dg_add(g, x, mconv(m, name, dg_relu(g, t), p->f, 1, 'B'));
	}
	return x;
}

/* ---- Gated PixelCNN's cached steps --------------------------------------------- */

/* A cache of a gated step, N×c×rows×W, under a name no other step of the
 * graph uses. */
static dg_tensor gated_cache(struct dg_graph *g, uint64_t n, uint64_t c, uint64_t rows,
			     uint64_t w)
{
	static unsigned long seq;
	char name[64];
	snprintf(name, sizeof name, "gated%lu.cache",
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	return dg_variable(g, name, DG_SHAPE(n, c, rows, w));
}

/* Variable layer.role (a layer's weight "w" or bias "b"). */
static dg_tensor layer_var(struct dg_model *m, const char *layer, const char *role)
{
	char name[DG_NN_MAX_NAME];
	snprintf(name, sizeof name, "%s.%s", layer, role);
	dg_tensor t = dg_var_tensor(m->g, name);
	if (!t.id)
		dg_graph_fail(m->g, DG_EINTERNAL, "%s: no such variable", name);
	return t;
}

/* x (N×K) times w (O×K, or a convolution's O×C×KH×KW flattened so) as a
 * matrix, plus b: N×O.  A step's convolutions at a few positions, as one
 * matrix product each (the convolution primitive's setup costs more than
 * such a product; and a 1×1 convolution of N×C×1×1 would multiply
 * per image). */
static dg_tensor dense(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b)
{
	int64_t w2[2] = {(int64_t)dg_dim(g, w, 0), -1};
	return dg_add(g, dg_matmul(g, x, dg_reshape(g, w, 2, w2), 0, 1), b);
}

/* The same with the weight and bias of layer name. */
static dg_tensor dense_at(struct dg_model *m, const char *name, dg_tensor x)
{
	return dense(m->g, x, layer_var(m, name, "w"), layer_var(m, name, "b"));
}

/* x (N×...) as N×k. */
static dg_tensor rows_of(struct dg_graph *g, dg_tensor x, int64_t k)
{
	int64_t d[2] = {(int64_t)dg_dim(g, x, 0), k};
	return dg_reshape(g, x, 2, d);
}

/* The im2col of a causal convolution's outputs at columns col .. col+k-1
 * of one row, whose kernel (KH×KW) reads rows rsel·x of x (N×C×R×W;
 * rsel KH×R of 0/1, or none: x's own R = KH rows): the patches as
 * (N·k)×(C·KH·KW), output j's row holding row u of the selection at column
 * col-KW/2+j+v in place c·KH·KW + u·KW + v (the weight's order), zeros
 * off the image.  One product picks them all: x (N×C×(R·W)) times the
 * (R·W)×(KH·KW·k) selection built on the device from col and rsel. */
static dg_tensor patches(struct dg_graph *g, dg_tensor x, dg_tensor rsel, dg_tensor col,
			 unsigned kw, uint64_t k)
{
	uint64_t n = dg_dim(g, x, 0), c = dg_dim(g, x, 1), r = dg_dim(g, x, 2);
	uint64_t w = dg_dim(g, x, 3), kh = rsel.id ? dg_dim(g, rsel, 0) : r;
	float *t = malloc(kw * k * sizeof *t);
	if (!t) {
		dg_graph_fail(g, DG_ENOMEM, "out of memory");
		return DG_NONE;
	}
	for (uint64_t i = 0; i < kw * k; i++)   /* column v·k + j reads col + j + v - KW/2 */
		t[i] = (float)(i % k + i / k) - (float)(kw / 2);
	dg_tensor offs = dg_constant(g, DG_SHAPE(1, kw * k), t);
	free(t);
	dg_tensor sel = dg_equal(g, dg_iota(g, DG_SHAPE(w, 1)), dg_add(g, offs, col)); /* W×KW·k */
	dg_tensor p;
	if (rsel.id) {
		static const unsigned t2[2] = {1, 0};
		int64_t a4[4] = {(int64_t)r, 1, (int64_t)kh, 1}, b4[4] = {1, (int64_t)w, 1, -1};
		int64_t m2[2] = {(int64_t)(r * w), -1}, x3[3] = {(int64_t)n, (int64_t)c, -1};
		dg_tensor rt = dg_reshape(g, dg_permute(g, rsel, t2), 4, a4);
		sel = dg_reshape(g, dg_mul(g, rt, dg_reshape(g, sel, 4, b4)), 2, m2);
		p = dg_matmul(g, dg_reshape(g, x, 3, x3), sel, 0, 0);     /* N×C×(KH·KW·k) */
	} else {
		p = dg_matmul(g, x, sel, 0, 0);                           /* N×C×KH×(KW·k) */
	}
	int64_t d5[5] = {(int64_t)n, (int64_t)c, (int64_t)kh, kw, (int64_t)k};
	static const unsigned perm[5] = {0, 4, 1, 2, 3};
	p = dg_permute(g, dg_reshape(g, p, 5, d5), perm);              /* N×k×C×KH×KW */
	int64_t d2[2] = {(int64_t)(n * k), (int64_t)(c * kh * kw)};
	return dg_reshape(g, p, 2, d2);
}

/* Gated PixelCNN's stacks at pixel (r, col) alone (Ramachandran et al.
 * 2017): features N×F.  The horizontal stack at (r, col) reads the
 * vertical stack of row r-1 (shifted down), which is complete once row r
 * begins, and its own layers' outputs in row r up to col.  So each step
 *   computes layer l's vertical stack in row r-1 at columns col ..
 *   col+L-1-l (L layers): layer l+1 there reads layer l's at columns
 *   col-1 .. col+L-1-l of rows r-2 and r-1, which a cache of two rows
 *   holds (row i in slot i mod 2: row r-2 from the steps of row r-1,
 *   column col-1 of row r-1 from the step before, the rest written now);
 *   the first layer reads the canvas's rows r-4 .. r-1.  Column col of
 *   each is what the horizontal stack takes; the columns ahead are
 *   recomputed by the next steps (L(L+1)/2 positions a step, not L: the
 *   step of column 0 needs them all, and every step runs one graph);
 *   computes the horizontal stack at (r, col), layer l reading layer
 *   l-1's output at col-1 from the step before (a cache of one position,
 *   unread at column 0) and at col from this step, the first layer the
 *   canvas's row r left of col.
 * Every convolution is the whole-image loop's with the same weights on
 * the window it reads there, padding included (the windows are zero off
 * the image), as one matrix product over the window's patches; the last
 * layer's vertical stack feeds nothing and is not computed past column
 * col.  Returns the features, and in values[] and caches[] each cache's
 * new contents and its variable, for dg_assign. */
static dg_tensor cached_gated(struct dg_model *m, dg_tensor canvas, dg_tensor r, dg_tensor col,
			      dg_tensor oh, dg_tensor values[], uint64_t *ncache,
			      dg_tensor caches[])
{
	struct dg_graph *g = m->g;
	struct pixelcnn *p = P(m);
	uint64_t n = dg_dim(g, canvas, 0), hh = m->height, w = m->width, f = p->f;
	char name[32];

	/* rows r-2 and r-1 of a two-row cache, zeros above the image
	 * (2×CACHE_ROWS); the slot that row r-1 is written to (CACHE_ROWS×1) */
	dg_tensor rows = dg_add(g, dg_iota(g, DG_SHAPE(2, 1)), dg_add_scalar(g, r, -2));
	dg_tensor rsel = dg_mul(g, dg_equal(g, dg_iota(g, DG_SHAPE(1, CACHE_ROWS)),
					    slot_of(g, rows, hh)),
				dg_greater_equal(g, rows, dg_scalar(g, 0)));
	dg_tensor wslot = dg_equal(g, dg_iota(g, DG_SHAPE(CACHE_ROWS, 1)),
				   slot_of(g, dg_add_scalar(g, r, -1), hh));
	dg_tensor above = dg_greater_equal(g, r, dg_scalar(g, 1));
	dg_tensor after0 = dg_greater_equal(g, col, dg_scalar(g, 1));
	dg_tensor vprev = DG_NONE, h = DG_NONE;
	for (uint64_t l = 0; l < p->layers; l++) {
		unsigned k = l ? 3 : 7, half = k / 2;
		uint64_t wl = p->layers - l;    /* columns col .. col+wl-1 of row r-1 */
		unsigned long long ll = (unsigned long long)l;
		int64_t nwf[3] = {(int64_t)n, (int64_t)wl, (int64_t)(2 * f)};

		/* vertical: row r-1, from rows r-1-half .. r-1 */
		dg_tensor vin;
		if (l == 0) {
			dg_tensor sel = dg_window_select(g, dg_add_scalar(g, r, -(float)(half + 1)),
							 half + 1, hh);
			vin = patches(g, net_input(m, dg_matmul(g, sel, canvas, 0, 0)), DG_NONE,
				      col, k, wl);
		} else {
			vin = patches(g, vprev, rsel, col, k, wl);
		}
		snprintf(name, sizeof name, "g%llu_v", ll);
		dg_tensor vc = dense_at(m, name, vin);                          /* (N·wl)×2F */
		vc = dg_reshape(g, vc, 3, nwf);
		if (oh.id) {
			int64_t b3[3] = {(int64_t)n, 1, (int64_t)(2 * f)};
			snprintf(name, sizeof name, "g%llu_cv", ll);
			vc = dg_add(g, vc, dg_reshape(g, class_bias(m, name, oh, 2 * f), 3, b3));
		}
		if (l + 1 < p->layers) {
			static const unsigned t3[3] = {0, 2, 1};
			int64_t d4[4] = {(int64_t)n, (int64_t)f, 1, (int64_t)w};
			dg_tensor var = gated_cache(g, n, f, CACHE_ROWS, w);
			dg_tensor put = dg_window_select(g, col, wl, w);           /* wl×W */
			dg_tensor mask = dg_mul(g, wslot, dg_sum(g, put, 1u << 0, 1));
			dg_tensor v = dg_permute(g, dg_gated_activation(g, vc, 2), t3); /* N×F×wl */
			v = dg_reshape(g, dg_matmul(g, v, put, 0, 0), 4, d4);
			vprev = dg_where(g, mask, v, var);
			values[*ncache] = vprev;
			caches[(*ncache)++] = var;
		}

		/* horizontal: row r, columns col-k/2 .. col */
		dg_tensor hc;
		snprintf(name, sizeof name, "g%llu_h", ll);
		if (l == 0) {
			/* type A: the pixel itself (the kernel's last column) unseen */
			dg_tensor row = dg_matmul(g, dg_window_select(g, r, 1, hh), canvas, 0, 0);
			dg_tensor sel = dg_window_select(g, dg_add_scalar(g, col, -(float)half), half, w);
			dg_tensor hin = net_input(m, dg_matmul(g, row, sel, 0, 1));   /* N×1×1×k/2 */
			dg_tensor hw = dg_slice(g, layer_var(m, name, "w"), 3, 0, half);
			hc = dense(g, rows_of(g, hin, half), hw, layer_var(m, name, "b"));
		} else {
			/* type B on one channel group: no mask; columns col-1 (the
			 * step before's, none at column 0) and col */
			dg_tensor var = gated_cache(g, n, f, 1, 1);
			dg_tensor left = dg_mul(g, rows_of(g, var, (int64_t)f), after0);
			int64_t d3[3] = {(int64_t)n, (int64_t)f, 1}, d4[4] = {d3[0], d3[1], 1, 1};
			values[*ncache] = dg_reshape(g, h, 4, d4);
			caches[(*ncache)++] = var;
			dg_tensor hin = dg_concat(g, dg_reshape(g, left, 3, d3),
						  dg_reshape(g, h, 3, d3), 2);           /* N×F×2 */
			hc = dense_at(m, name, rows_of(g, hin, (int64_t)(2 * f)));
		}
		/* the vertical stack at (r-1, col), shifted down */
		dg_tensor vtop = rows_of(g, dg_slice(g, vc, 1, 0, 1), (int64_t)(2 * f));
		snprintf(name, sizeof name, "g%llu_v2h", ll);
		hc = dg_add(g, hc, dense_at(m, name, dg_mul(g, vtop, above)));
		if (oh.id) {
			snprintf(name, sizeof name, "g%llu_ch", ll);
			hc = dg_add(g, hc, rows_of(g, class_bias(m, name, oh, 2 * f), (int64_t)(2 * f)));
		}
		snprintf(name, sizeof name, "g%llu_hout", ll);
		dg_tensor ho = dense_at(m, name, dg_gated_activation(g, hc, 1));
		h = l ? dg_add(g, h, ho) : ho;
	}
	return h;
}

/* The head at one position, from features N×F: logits N×outc (arch=gated:
 * one channel group, so its 1×1 masked layers are plain). */
static dg_tensor head_at(struct dg_model *m, dg_tensor feat)
{
	struct dg_graph *g = m->g;
	dg_tensor h = dense_at(m, "out1", dg_relu(g, feat));
	return dense_at(m, "out2", dg_relu(g, h));
}

static int sample_step(struct dg_model *m, dg_tensor canvas, dg_tensor pos, float t,
		       dg_tensor y, struct dg_step_sampler *out)
{
	struct dg_graph *g = m->g;
	struct pixelcnn *p = P(m);
	uint64_t n = dg_dim(g, canvas, 0), c = m->channels, h = m->height, w = m->width;
	uint64_t kr = p->rows_above + 1 < h ? p->rows_above + 1 : h;
	uint64_t kc = p->left + p->right + 1 < w ? p->left + p->right + 1 : w;
	const char *full = getenv("DG_PIXELCNN_FULL_STEPS");
	int whole = full && *full && strcmp(full, "0") != 0;
	int cached = !whole;
	dg_tensor values[DG_CACHES], caches[DG_CACHES];
	uint64_t ncache = 0;
	if (whole)
		kr = h, kc = w;
	if (!(t > 0))
		return dg_graph_fail(g, DG_EUSAGE, "temperature %g: want > 0", (double)t);
	if (cached && (p->gated ? 2 * (p->layers - 1) : p->layers) > DG_CACHES)
		cached = 0;

	/* pos -> row r, column col, channel ch; the window's corner. */
	dg_tensor ps = dg_reshape(g, dg_cast(g, pos, 1), 1, (const int64_t[]){1});
	dg_tensor r = dg_floor_div(g, ps, w * c, h);
	dg_tensor rem = dg_sub(g, ps, dg_mul_scalar(g, r, (float)(w * c)));
	dg_tensor col = dg_floor_div(g, rem, c, w);
	dg_tensor ch = dg_sub(g, rem, dg_mul_scalar(g, col, (float)c));
	dg_tensor feat, at = DG_NONE;
	if (cached && p->gated) {
		feat = cached_gated(m, canvas, r, col, one_hot(m, y), values, &ncache, caches);
		at = head_at(m, feat);
	} else if (cached) {
		feat = cached_body(m, canvas, r, col, values, &ncache, caches);
	} else {
		dg_tensor r0 = dg_clamp(g, dg_add_scalar(g, r, -(float)p->rows_above), 0,
					(float)(h - kr));
		dg_tensor c0 = dg_clamp(g, dg_add_scalar(g, col, -(float)p->left), 0,
					(float)(w - kc));
		/* The window: selR (kr×h) · canvas · selCᵀ (w×kc), N×C×kr×kc. */
		dg_tensor win = canvas;
		if (kr < h)
			win = dg_matmul(g, dg_window_select(g, r0, kr, h), win, 0, 0);
		if (kc < w)
			win = dg_matmul(g, win, dg_window_select(g, c0, kc, w), 0, 1);
		feat = body(m, net_input(m, win), one_hot(m, y));
		/* The pixel's features: row r - r0, column col - c0 of the window. */
		dg_tensor er = dg_equal(g, dg_iota(g, DG_SHAPE(kr, 1)), dg_sub(g, r, r0));
		dg_tensor ec = dg_equal(g, dg_iota(g, DG_SHAPE(1, kc)), dg_sub(g, col, c0));
		feat = dg_sum(g, dg_mul(g, feat, dg_mul(g, er, ec)), (1u << 2) | (1u << 3), 1);
	}
	/* its logits from its features alone: the head is 1×1 */
	if (!at.id)
		at = dg_flatten(g, head(m, feat));
	at = dg_mul_scalar(g, at, 1.0f / t);                      /* N×outc */
	dg_tensor value;
	dg_tensor ech = dg_equal(g, dg_iota(g, DG_SHAPE(1, c)), ch); /* 1×C */
	if (p->threshold > 0) {
		value = dg_sum(g, dg_mul(g, at, ech), 1u << 1, 1);  /* N×1 */
		value = dg_sample_bernoulli_logits(g, value);
	} else {
		int64_t s3[3] = {(int64_t)n, (int64_t)c, LEVELS};
		dg_tensor lv = dg_reshape(g, at, 3, s3);
		int64_t s13[3] = {1, (int64_t)c, 1};
		lv = dg_sum(g, dg_mul(g, lv, dg_reshape(g, ech, 3, s13)), 1u << 1, 0); /* N×256 */
		value = dg_mul_scalar(g, dg_sample_categorical_logits(g, lv), 1.0f / (LEVELS - 1));
	}
	int64_t s4[4] = {(int64_t)n, 1, 1, 1};
	value = dg_reshape(g, value, 4, s4);

	/* The canvas with the drawn value at step pos: element (ch, i, j) is
	 * step (i·W + j)·C + ch. */
	float *order = malloc(c * h * w * sizeof *order);
	if (!order)
		return dg_graph_fail(g, DG_ENOMEM, "out of memory");
	for (uint64_t k = 0; k < c * h * w; k++)
		order[k] = (float)((k % (h * w)) * c + k / (h * w));
	dg_tensor steps = dg_constant(g, DG_SHAPE(1, c, h, w), order);
	free(order);
	out->next = dg_where(g, dg_equal(g, steps, ps), value, canvas);
	out->steps = c * h * w;
	out->steps_per_row = c * w;
	for (uint64_t i = 0; i < ncache; i++)
		dg_assign(g, caches[i], values[i], out->next);
	/* The caches need the kept steps of a completion run.  The whole-image
	 * loop asked for through the environment runs them too, so that both
	 * draw from the generator at the same counters (the tests compare
	 * their completions). */
	out->replay = ncache > 0 || whole;
	return dg_graph_status(g);
}

static void release(struct dg_model *m)
{
	free(m->priv);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = sizeof(struct dg_family),
	.name = "pixelcnn",
	.summary = "PixelCNN and Gated PixelCNN: exact likelihood, pixel-by-pixel sampling "
		   "and completion on the device",
	.hparams = hparams,
	.caps = DG_CAP_SAMPLE_STEPS | DG_CAP_LIKELIHOOD | DG_CAP_CONDITIONAL | DG_CAP_TRANSLATE,
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
