/* classifier.c — a small convolutional image classifier, trained on
 * labelled data, whose penultimate layer is the feature space of dg-eval's
 * sample metrics (FID, KID, precision and recall) and whose class
 * probabilities give the Inception Score: Inception-v3 means little on
 * 28×28 grayscale, and the accepted practice for such data is a classifier
 * trained on the domain (dg-eval(1)).
 *
 * The network, for images whose sides divide by 4:
 *   conv1, conv2: 3×3 convolutions of `width` channels, each followed by
 *                 batch norm and a ReLU, then a 2×2 max pool;
 *   conv3, conv4: the same with 2·width channels, and a 2×2 max pool;
 *   fc:           a dense layer to `features` units, batch norm, ReLU:
 *                 the features;
 *   out:          dropout, then a dense layer to the class logits.
 * Training minimizes the softmax cross-entropy of the labels, on images
 * flipped left-right at random (flip=1): a garment's mirror image is the
 * same garment; with Adam whose rate is cut in steps (lr_step).
 *
 * Parameters are conv1..conv4 (w), bn1..bn5 (w, b and the running mean
 * and var), fc.w and out (w, b), in that order.  The convolutions and fc
 * have no bias (the batch norm after them has one) and are He-uniform;
 * out is initialized as PyTorch's nn.Linear. */
#include <stdio.h>
#include <stdlib.h>
#include "dg/nn.h"
#include "dg/plugin.h"

static const struct dg_hparam hparams[] = {
	{"width", DG_HP_INT, "16", 1, 1024, NULL,
	 "channels of the first two convolutions (the last two have twice as many)"},
	{"features", DG_HP_INT, "128", 2, 65536, NULL,
	 "width of the penultimate layer: the features sample metrics compare"},
	{"dropout", DG_HP_FLOAT, "0.3", 0, 0.95, NULL,
	 "dropout before the class layer, in training"},
	{"flip", DG_HP_BOOL, "1", 0, 0, NULL,
	 "train on images flipped left-right at random (half of them)"},
	{"lr_step", DG_HP_INT, "1875", 0, 1000000000, NULL,
	 "Adam steps between cuts of the learning rate to 0.3 of itself (0: never)"},
	{0},
};

struct clf {
	uint64_t width, features;
	float dropout;
	int flip;
	struct dg_nn nn;
	struct dg_optim optim;   /* the phase's, copied by libcore at build */
};

/* Adam at dg's default rate, cut to LR_GAMMA of itself every lr_step
 * steps: 1875 steps are 4 epochs of Fashion-MNIST's 60000 images in
 * batches of 128, so dg-train's default 10 epochs end at 0.09 of the
 * rate, where the last epochs settle the weights (about 1% of test
 * accuracy over a constant rate; bench/RESULTS.md). */
#define LR_GAMMA 0.3f
#define C(m) ((struct clf *)(m)->priv)

static const struct dg_nn_opt conv_opt = {.struct_size = sizeof(struct dg_nn_opt),
					  .init = DG_NN_INIT_HE_UNIFORM,
					  .flags = DG_NN_NO_BIAS};
static const struct dg_nn_opt bn_relu = {.struct_size = sizeof(struct dg_nn_opt),
					 .act = DG_ACT_RELU};
static const struct dg_nn_opt out_opt = {.struct_size = sizeof(struct dg_nn_opt),
					 .init = DG_NN_INIT_TORCH};

/* The batch norm named bn of the scope as one scale and shift per
 * channel, from its running statistics (inference): s = γ/√(var + ε),
 * t = β - mean·s, each c values.  The layer declared them in build(). */
static void bn_affine(struct dg_model *m, const char *bn, uint64_t c, dg_tensor *s,
		      dg_tensor *t)
{
	struct dg_graph *g = m->g;
	struct dg_nn *nn = &C(m)->nn;
	char name[DG_NN_MAX_NAME];
	dg_tensor v[4];
	/* as the layer declares them (order, names, initial values) */
	static const char *const role[4] = {"w", "b", "mean", "var"};
	static const float init[4] = {1, 0, 0, 1};
	for (int i = 0; i < 4; i++) {
		struct dg_init in = {DG_INIT_CONSTANT, init[i], 0};
		snprintf(name, sizeof name, "%s.%s", bn, role[i]);
		v[i] = i < 2 ? dg_nn_param(nn, name, DG_SHAPE(c), in)
			     : dg_nn_buffer(nn, name, DG_SHAPE(c), in);
	}
	*s = dg_mul(g, v[0], dg_rsqrt(g, dg_add_scalar(g, v[3], 1e-5f)));
	*t = dg_sub(g, v[1], dg_mul(g, v[2], *s));
}

/* conv (3×3, padding 1) -> batch norm -> ReLU.  For inference the batch
 * norm, then a per-channel affine map, is folded into the convolution's
 * weights and a bias (w·s, t), which the cpu backend runs as one call
 * with its ReLU: five elementwise passes over the activations fewer,
 * most of the classifier's inference time. */
static dg_tensor conv_bn(struct dg_model *m, const char *conv, const char *bn, dg_tensor x,
			 uint64_t out)
{
	struct dg_graph *g = m->g;
	struct dg_nn *nn = &C(m)->nn;
	if (m->training)
		return dg_nn_batch_norm(nn, bn, dg_nn_conv2d(nn, conv, x, out, 3, 1, 1, &conv_opt),
					&bn_relu);
	char name[DG_NN_MAX_NAME];
	dg_tensor s, t;
	snprintf(name, sizeof name, "%s.w", conv);
	dg_tensor w = dg_nn_weight(nn, name, DG_SHAPE(out, dg_dim(g, x, 1), 3, 3), 0, &conv_opt);
	bn_affine(m, bn, out, &s, &t);
	w = dg_mul(g, w, dg_reshape(g, s, 4, (const int64_t[]){-1, 1, 1, 1}));
	return dg_relu(g, dg_conv2d(g, x, w, t, &(struct dg_conv){.pad = 1}));
}

/* fc -> batch norm -> ReLU, folded likewise for inference. */
static dg_tensor fc_bn(struct dg_model *m, dg_tensor h, uint64_t out)
{
	struct dg_graph *g = m->g;
	struct dg_nn *nn = &C(m)->nn;
	if (m->training)
		return dg_nn_batch_norm(nn, "bn5", dg_nn_dense(nn, "fc", h, out, &conv_opt),
					&bn_relu);
	dg_tensor s, t;
	dg_tensor w = dg_nn_weight(nn, "fc.w", DG_SHAPE(out, dg_dim(g, h, 1)), 0, &conv_opt);
	bn_affine(m, "bn5", out, &s, &t);
	w = dg_mul(g, w, dg_reshape(g, s, 2, (const int64_t[]){-1, 1}));
	return dg_linear(g, h, w, t, DG_ACT_RELU, 0);
}

/* Half of the batch mirrored left-right, chosen anew at every run: x·J
 * with J the W×W exchange matrix, where a Bernoulli(½) per image says so. */
static dg_tensor random_flip(struct dg_model *m, dg_tensor x)
{
	struct dg_graph *g = m->g;
	uint64_t n = dg_dim(g, x, 0), w = m->width;
	float *j = calloc(w * w, sizeof *j);
	if (!j) {
		dg_graph_fail(g, DG_ENOMEM, "out of memory");
		return DG_NONE;
	}
	for (uint64_t i = 0; i < w; i++)
		j[i * w + (w - 1 - i)] = 1;
	dg_tensor flipped = dg_matmul(g, x, dg_constant(g, DG_SHAPE(w, w), j), 0, 0);
	free(j);
	dg_tensor which = dg_random_bernoulli(g, DG_SHAPE(n, 1, 1, 1), 0.5f);
	return dg_where(g, which, flipped, x);
}

/* x: n×C×H×W -> *features n×features (after the ReLU), returns the
 * logits n×classes. */
static dg_tensor network(struct dg_model *m, dg_tensor x, dg_tensor *features)
{
	struct dg_graph *g = m->g;
	struct clf *c = C(m);
	dg_tensor h = conv_bn(m, "conv1", "bn1", x, c->width);
	h = dg_max_pool(g, conv_bn(m, "conv2", "bn2", h, c->width), 2);
	h = conv_bn(m, "conv3", "bn3", h, 2 * c->width);
	h = dg_max_pool(g, conv_bn(m, "conv4", "bn4", h, 2 * c->width), 2);
	*features = fc_bn(m, dg_flatten(g, h), c->features);
	h = dg_dropout(g, *features, c->dropout, m->training);
	return dg_nn_dense(&c->nn, "out", h, m->classes, &out_opt);
}

static int build(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	struct clf *c = calloc(1, sizeof *c);
	if (!c)
		return dg_graph_fail(g, DG_ENOMEM, "out of memory");
	m->priv = c;
	if (!m->classes)
		return dg_graph_fail(g, DG_EUSAGE, "a classifier needs labelled data (images "
				     "with classes: an IDX with its labels file, or folders "
				     "named by class)");
	if (m->classes < 2)
		return dg_graph_fail(g, DG_EUSAGE, "a classifier needs at least 2 classes, "
				     "this data has %u", m->classes);
	if (m->height % 4 || m->width % 4 || !m->height || !m->width)
		return dg_graph_fail(g, DG_EUSAGE, "the classifier needs image sides divisible "
				     "by 4 (got %ux%u)", m->height, m->width);
	c->width = (uint64_t)dg_model_int(m, "width");
	c->features = (uint64_t)dg_model_int(m, "features");
	c->dropout = (float)dg_model_float(m, "dropout");
	c->flip = dg_model_bool(m, "flip");
	dg_nn_init(&c->nn, g, m->training);

	dg_tensor x = m->x, features;
	if (m->training && c->flip)
		x = random_flip(m, x);
	dg_tensor logits = network(m, x, &features);
	dg_tensor loss = dg_softmax_cross_entropy(g, logits, m->y, DG_MEAN);
	dg_tensor right = dg_equal(g, dg_argmax(g, logits), dg_cast(g, m->y, 1));
	dg_tensor accuracy = dg_mean(g, right, DG_AXES_ALL, 0);
	struct dg_phase *ph = dg_model_phase(m, "classifier", loss, DG_GROUP(0));
	uint64_t step = (uint64_t)dg_model_int(m, "lr_step");
	c->optim = (struct dg_optim){.kind = DG_ADAM, .lr = 1e-3f};
	if (step)
		c->optim.schedule = (struct dg_schedule){.kind = DG_LR_STEP, .step_size = step,
							 .gamma = LR_GAMMA};
	if (ph)
		ph->optim = &c->optim;
	dg_model_term(m, ph, "loss", loss);
	dg_model_term(m, ph, "accuracy", accuracy);
	return dg_graph_status(g);
}

/* The features and class logits of x, with the running statistics of
 * batch norm and no dropout (built for inference). */
static int classify(struct dg_model *m, dg_tensor x, dg_tensor *features, dg_tensor *logits)
{
	*logits = network(m, x, features);
	return dg_graph_status(m->g);
}

/* Per image, with labels: "nll", -log p(y|x) in nats, and "correct", 1
 * when the most probable class is y, else 0; with or without: "entropy"
 * of p(·|x) in nats.  k is unused. */
static int loglik(struct dg_model *m, dg_tensor x, dg_tensor y, unsigned k,
		  struct dg_term *out, unsigned *nout)
{
	(void)k;
	struct dg_graph *g = m->g;
	dg_tensor features;
	dg_tensor logp = dg_log_softmax(g, network(m, x, &features));
	unsigned n = 0;
	if (y.id) {
		out[n++] = (struct dg_term){"nll", dg_neg(g, dg_pick(g, logp, y))};
		out[n++] = (struct dg_term){"correct",
					    dg_equal(g, dg_argmax(g, logp), dg_cast(g, y, 1))};
	}
	dg_tensor plogp = dg_mul(g, dg_exp(g, logp), logp);
	out[n++] = (struct dg_term){"entropy", dg_neg(g, dg_sum(g, plogp, 2, 0))};
	*nout = n;
	return dg_graph_status(g);
}

static void release(struct dg_model *m)
{
	free(m->priv);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = sizeof(struct dg_family),
	.name = "classifier",
	.summary = "a small CNN classifier (conv-BN-ReLU, 128 features); the feature "
		   "extractor of dg-eval's FID, KID, IS, precision and recall",
	.hparams = hparams,
	.caps = DG_CAP_CONDITIONAL | DG_CAP_CLASSIFY,
	.build = build,
	.loglik = loglik,
	.release = release,
	.classify = classify,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
