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
 * same garment.
 *
 * Parameters are conv1..conv4 (w), bn1..bn5 (w, b and the running mean
 * and var), fc.w and out (w, b), in that order.  The convolutions and fc
 * have no bias (the batch norm after them has one) and are He-uniform;
 * out is initialized as PyTorch's nn.Linear. */
#include <stdlib.h>
#include "dg/nn.h"
#include "dg/plugin.h"

static const struct dg_hparam hparams[] = {
	{"width", DG_HP_INT, "32", 1, 1024, NULL,
	 "channels of the first two convolutions (the last two have twice as many)"},
	{"features", DG_HP_INT, "128", 2, 65536, NULL,
	 "width of the penultimate layer: the features sample metrics compare"},
	{"dropout", DG_HP_FLOAT, "0.3", 0, 0.95, NULL,
	 "dropout before the class layer, in training"},
	{"flip", DG_HP_BOOL, "1", 0, 0, NULL,
	 "train on images flipped left-right at random (half of them)"},
	{0},
};

struct clf {
	uint64_t width, features;
	float dropout;
	int flip;
	struct dg_nn nn;
};
#define C(m) ((struct clf *)(m)->priv)

static const struct dg_nn_opt conv_opt = {.struct_size = sizeof(struct dg_nn_opt),
					  .init = DG_NN_INIT_HE_UNIFORM,
					  .flags = DG_NN_NO_BIAS};
static const struct dg_nn_opt bn_relu = {.struct_size = sizeof(struct dg_nn_opt),
					 .act = DG_ACT_RELU};
static const struct dg_nn_opt out_opt = {.struct_size = sizeof(struct dg_nn_opt),
					 .init = DG_NN_INIT_TORCH};

/* conv (3×3, padding 1) -> batch norm -> ReLU. */
static dg_tensor conv_bn(struct dg_model *m, const char *conv, const char *bn, dg_tensor x,
			 uint64_t out)
{
	struct dg_nn *nn = &C(m)->nn;
	return dg_nn_batch_norm(nn, bn, dg_nn_conv2d(nn, conv, x, out, 3, 1, 1, &conv_opt),
				&bn_relu);
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
	h = dg_nn_dense(&c->nn, "fc", dg_flatten(g, h), c->features, &conv_opt);
	*features = dg_nn_batch_norm(&c->nn, "bn5", h, &bn_relu);
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
