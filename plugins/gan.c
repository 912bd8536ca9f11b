/* gan.c — the generative adversarial network family: the DCGAN generator
 * and discriminator (Radford et al. 2016) or the MLPs of the original GAN
 * (Goodfellow et al. 2014), trained with one of the classic losses:
 * minimax and non-saturating (Goodfellow et al. 2014), least squares
 * (LSGAN, Mao et al. 2017), Wasserstein with weight clipping (WGAN,
 * Arjovsky et al. 2017), Wasserstein with a gradient penalty (WGAN-GP,
 * Gulrajani et al. 2017) and hinge (Lim & Ye 2017; Miyato et al. 2018).
 *
 * Two networks in two parameter groups: G (scope "G", group 0) maps a
 * code z ~ N(0, I) to an image; D (scope "D", group 1) maps an image to
 * one score.  Two phases: "discriminator" (group 1, dsteps optimizer
 * steps per iteration, each on a fresh batch and a fresh z) then
 * "generator" (group 0, one step, its own z).  Each phase has the
 * optimizer its loss's paper recommends; the generator keeps an
 * exponential moving average of its weights (ema), warmed up (decay
 * min(ema, (1+t)/(10+t)) at G's step t), which dg-sample and dg-decode
 * use unless --no-ema, with batch-norm statistics measured on it when a
 * checkpoint is written (ema_stats=standing; or averaged like the
 * weights, ema_stats=average).
 *
 * DCGAN (arch=dcgan) for images of sides b·2^depth (28 = 7·4, 32 = 4·8):
 *   G: z -> dense "proj" (no bias) to ngf·2^(depth-1) maps of b×b, batch
 *      norm, ReLU; then depth transposed convolutions 4×4 stride 2
 *      ("up1".."upK"), halving the channels, each with batch norm and
 *      ReLU except the last, which makes C channels with a tanh.
 *   D: depth convolutions 4×4 stride 2 ("conv1".."convK") from ndf
 *      channels doubling, LeakyReLU(0.2), batch norm on all but the first;
 *      flattened, then a dense "out" to one score.
 *   fc > 0 adds a dense hidden layer of fc units to each, as InfoGAN's
 *   MNIST networks (Chen et al. 2016, appendix C.1): G's "fc" (batch
 *   norm "fc_bn", ReLU) before "proj", D's "fc" (D's norm "fc_norm",
 *   LeakyReLU) after the flattened convolutions, read by the score and
 *   the auxiliary heads.
 *   Layers followed by a norm have no bias; weights are N(0, 0.02),
 *   biases 0, norm scales 1.  Data in [0,1] is seen by D as 2x - 1, and
 *   decode() returns (G(z) + 1)/2.
 * MLP (arch=mlp), the 2014 paper's MNIST model:
 *   G: z -> 2 ReLU layers of `hidden` units -> C·H·W sigmoid outputs;
 *   D: dropout 0.2 on its input, 2 maxout layers of d_hidden units of
 *      `maxout` pieces each followed by dropout, then a dense score.
 *   Data stays in [0,1].
 *
 * Stabilizers, all off by default: spectral normalization of D (sn,
 * Miyato et al. 2018), the minibatch stddev layer before D's output
 * (mbstd, Karras et al. 2018), orthogonal initialization (init, Saxe et
 * al. 2014) and regularization of G (ortho, Brock et al. 2019), one-sided
 * label smoothing (smooth, Salimans et al. 2016), and R1 on real images
 * (r1, Mescheder et al. 2018) as a third phase every r1_every iterations
 * (Karras et al. 2020).  The truncation trick is dg-sample's.
 *
 * Conditional models (cond=, needs labelled data): G sees its code
 * concatenated with a learned embedding of the class ("G.embed").  D
 * sees the class by concatenation (concat, Mirza & Osindero 2014: the
 * embedding "D.embed" as extra input maps, or extra inputs of the MLP),
 * by projection (projection, Miyato & Koyama 2018: the score plus
 * <embed(y), phi(x)>, phi D's last features), or through an auxiliary
 * classifier head "D.cls" on D's features (acgan, Odena et al. 2017:
 * softmax cross-entropy on real and generated images added to D's loss,
 * the generated ones' weighted by cls_fake, on generated ones to G's).
 * Generated images take the batch's labels.
 *
 * InfoGAN (Chen et al. 2016; info_cat, info_cont): the code G sees ends
 * with a one-hot categorical code (uniform over info_cat values) and
 * info_cont codes ~ U(-1,1); a head Q on D's features predicts them (the
 * paper's hidden layer, "D.q_fc" and "D.q_bn" of info_hidden units, then
 * "D.q"),
 * and lambda times the mutual-information bound's loss (the categorical
 * code's cross-entropy plus the continuous codes' Gaussian NLL with a
 * fixed unit variance, ½ Σ (c - mu)², constants dropped) is added to
 * D's loss (training Q with D's trunk) and to G's.
 *
 * Parameter names (checkpoint members): G.* then D.*, in the order the
 * discriminator's phase first applies them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg/nn.h"
#include "dg/plugin.h"

static const struct dg_hparam hparams[] = {
	{"arch", DG_HP_CHOICE, "dcgan", 0, 0, "dcgan|mlp",
	 "dcgan (Radford et al. 2016) or mlp (Goodfellow et al. 2014)"},
	{"loss", DG_HP_CHOICE, "ns", 0, 0, "minimax|ns|lsgan|wgan|wgan-gp|hinge",
	 "the GAN loss: ns (non-saturating), minimax, lsgan, wgan, wgan-gp, hinge"},
	{"latent", DG_HP_INT, "100", 1, 4096, NULL, "size of the code z ~ N(0, I)"},
	{"ngf", DG_HP_INT, "64", 1, 4096, NULL, "dcgan: G's channels before its output layer"},
	{"ndf", DG_HP_INT, "64", 1, 4096, NULL, "dcgan: D's channels after its first layer"},
	{"depth", DG_HP_INT, "0", 0, 8, NULL,
	 "dcgan: stride-2 layers each way (0: as many as leave a side >= 4)"},
	{"d_norm", DG_HP_CHOICE, "auto", 0, 0, "auto|batch|layer|none",
	 "dcgan: D's norm (auto: layer for wgan-gp, else batch)"},
	{"fc", DG_HP_INT, "0", 0, 65536, NULL,
	 "dcgan: units of a dense hidden layer at G's input and D's output (InfoGAN's "
	 "MNIST networks, Chen et al. 2016: 1024; 0: none)"},
	{"hidden", DG_HP_INT, "1200", 1, 65536, NULL, "mlp: units of G's two hidden layers"},
	{"d_hidden", DG_HP_INT, "240", 1, 65536, NULL, "mlp: maxout units of D's two hidden layers"},
	{"maxout", DG_HP_INT, "5", 1, 64, NULL, "mlp: pieces of each maxout unit"},
	{"dropout", DG_HP_FLOAT, "0.5", 0, 0.95, NULL, "mlp: dropout after D's hidden layers"},
	{"dsteps", DG_HP_INT, "0", 0, 100, NULL,
	 "D steps per G step, each on a fresh batch (0: 5 for wgan and wgan-gp, else 1)"},
	{"gp", DG_HP_FLOAT, "10", 0, 1e6, NULL, "wgan-gp: the penalty's weight lambda"},
	{"clip", DG_HP_FLOAT, "0.01", 0, 100, NULL, "wgan: D's weights clipped to +-clip"},
	{"ema", DG_HP_FLOAT, "0.99", 0, 0.999999, NULL,
	 "decay of G's weight average used for sampling (0: none)"},
	{"ema_stats", DG_HP_CHOICE, "standing", 0, 0, "standing|average",
	 "batch-norm statistics of the averaged G: measured on it (Brock et al. 2019) "
	 "or averaged like its weights"},
	{"sn", DG_HP_BOOL, "0", 0, 0, NULL,
	 "spectral normalization of D's weights (Miyato et al. 2018)"},
	{"mbstd", DG_HP_INT, "0", 0, 1024, NULL,
	 "minibatch stddev before D's output, groups of N (Karras et al. 2018; 0: none)"},
	{"init", DG_HP_CHOICE, "normal", 0, 0, "normal|orthogonal",
	 "weights N(0, 0.02) (DCGAN) or orthogonal (Saxe et al. 2014)"},
	{"ortho", DG_HP_FLOAT, "0", 0, 1e6, NULL,
	 "orthogonal regularization of G's weights, beta (Brock et al. 2019: 1e-4)"},
	{"smooth", DG_HP_FLOAT, "0", 0, 0.5, NULL,
	 "one-sided label smoothing: real target 1 - smooth (Salimans et al. 2016)"},
	{"r1", DG_HP_FLOAT, "0", 0, 1e6, NULL,
	 "R1 penalty gamma on real images (Mescheder et al. 2018; 0: none)"},
	{"r1_every", DG_HP_INT, "16", 1, 1000, NULL,
	 "R1 as a lazy phase every N iterations (Karras et al. 2020)"},
	{"cond", DG_HP_CHOICE, "none", 0, 0, "none|concat|projection|acgan",
	 "class conditioning: concat (Mirza & Osindero 2014), projection (Miyato & Koyama "
	 "2018), acgan (Odena et al. 2017)"},
	{"embed", DG_HP_INT, "0", 0, 4096, NULL,
	 "cond: size of the class embedding of G (and of D for concat; 0: the class count)"},
	{"cls_fake", DG_HP_FLOAT, "1", 0, 1e6, NULL,
	 "acgan: weight of generated images' class loss in D's (1: the paper's; 0: real only)"},
	{"info_cat", DG_HP_INT, "0", 0, 1024, NULL,
	 "InfoGAN: values of a categorical code (Chen et al. 2016; 0: none)"},
	{"info_cont", DG_HP_INT, "0", 0, 64, NULL, "InfoGAN: continuous codes ~ U(-1,1)"},
	{"info_lambda", DG_HP_FLOAT, "1", 0, 1e6, NULL,
	 "InfoGAN: weight of the mutual-information bound"},
	{"info_hidden", DG_HP_INT, "128", 0, 65536, NULL,
	 "InfoGAN: units of Q's hidden layer on D's features (0: Q a dense head)"},
	{0},
};

enum cond { COND_NONE, COND_CONCAT, COND_PROJECTION, COND_ACGAN };
static const char *const cond_names[] = {"none", "concat", "projection", "acgan"};

enum loss { MINIMAX, NS, LSGAN, WGAN, WGAN_GP, HINGE };
static const char *const loss_names[] = {"minimax", "ns", "lsgan", "wgan", "wgan-gp", "hinge"};

/* Most stride-2 layers of a DCGAN. */
#define MAX_DEPTH 8

struct gan {
	int mlp;
	enum loss loss;
	uint64_t latent, ngf, ndf, hidden, d_hidden, pieces;
	uint64_t fc;                 /* dcgan: units of G's and D's dense hidden layers */
	unsigned depth, bh, bw;      /* dcgan: the first map is bh×bw */
	enum dg_nn_norm d_norm;
	float dropout, smooth;
	unsigned mbstd;
	enum cond cond;
	unsigned classes;            /* cond: the label count */
	uint64_t embed;
	float cls_fake;              /* acgan: weight of fakes' class loss in D's */
	unsigned info_cat, info_cont; /* InfoGAN's codes, at the end of G's input */
	float info_lambda;
	uint64_t info_hidden;        /* units of Q's hidden layer, 0: none */
	struct dg_nn G, D;
	struct dg_optim opt_d, opt_g;
};
#define P(m) ((struct gan *)(m)->priv)

static const struct dg_nn_opt no_bias = {.struct_size = sizeof(struct dg_nn_opt),
					 .flags = DG_NN_NO_BIAS};

/* ---- the networks ------------------------------------------------------------ */

/* The labels y of a conditional model, failing the graph when there are
 * none; DG_NONE for an unconditional one. */
static dg_tensor labels(struct dg_model *m, dg_tensor y)
{
	if (!P(m)->cond)
		return DG_NONE;
	if (!y.id)
		dg_graph_fail(m->g, DG_EUSAGE, "a conditional GAN needs class labels "
			      "(give a class for each item)");
	return y;
}

/* A class embedding of y, n×dim, in scope nn (name "embed"). */
static dg_tensor embed(struct dg_model *m, const struct dg_nn *nn, dg_tensor y, uint64_t dim)
{
	return dg_nn_embedding(nn, "embed", y, P(m)->classes, dim, NULL);
}

/* G: z n×latent' (InfoGAN's codes included) and labels y (conditional
 * models) -> images n×C×H×W in [-1,1] (dcgan) or [0,1] (mlp). */
static dg_tensor generator(struct dg_model *m, dg_tensor z, dg_tensor y)
{
	struct dg_graph *g = m->g;
	struct gan *p = P(m);
	const struct dg_nn *G = &p->G;
	if (p->cond)
		z = dg_concat(g, z, embed(m, G, labels(m, y), p->embed), 1);
	if (p->mlp) {
		uint64_t d = (uint64_t)m->channels * m->height * m->width;
		int64_t shape[4] = {-1, m->channels, m->height, m->width};
		dg_tensor h = dg_nn_dense(G, "fc1", z, p->hidden, DG_NN_OPT(.act = DG_ACT_RELU));
		h = dg_nn_dense(G, "fc2", h, p->hidden, DG_NN_OPT(.act = DG_ACT_RELU));
		h = dg_nn_dense(G, "out", h, d, DG_NN_OPT(.act = DG_ACT_SIGMOID));
		return dg_reshape(g, h, 4, shape);
	}
	uint64_t ch = p->ngf << (p->depth - 1);
	int64_t shape[4] = {-1, (int64_t)ch, p->bh, p->bw};
	if (p->fc) { /* InfoGAN's G: a dense hidden layer before the projection */
		z = dg_nn_dense(G, "fc", z, p->fc, &no_bias);
		z = dg_nn_batch_norm(G, "fc_bn", z, DG_NN_OPT(.act = DG_ACT_RELU));
	}
	dg_tensor h = dg_nn_dense(G, "proj", z, ch * p->bh * p->bw, &no_bias);
	h = dg_reshape(g, h, 4, shape);
	h = dg_nn_batch_norm(G, "proj_bn", h, DG_NN_OPT(.act = DG_ACT_RELU));
	for (unsigned i = 1; i <= p->depth; i++) {
		char conv[16], bn[16];
		snprintf(conv, sizeof conv, "up%u", i);
		snprintf(bn, sizeof bn, "up%u_bn", i);
		if (i == p->depth)
			return dg_nn_conv_transpose2d(G, conv, h, m->channels, 4, 2, 1,
						      DG_NN_OPT(.act = DG_ACT_TANH));
		ch /= 2;
		h = dg_nn_conv_transpose2d(G, conv, h, ch, 4, 2, 1, &no_bias);
		h = dg_nn_batch_norm(G, bn, h, DG_NN_OPT(.act = DG_ACT_RELU));
	}
	return DG_NONE; /* depth >= 1: not reached */
}

/* Maxout (Goodfellow et al. 2013): a dense layer of units·pieces, the
 * largest of each unit's pieces. */
static dg_tensor maxout(const struct dg_nn *nn, const char *name, dg_tensor x, uint64_t units,
			uint64_t pieces)
{
	struct dg_graph *g = nn->g;
	int64_t shape[3] = {-1, (int64_t)units, (int64_t)pieces};
	dg_tensor h = dg_nn_dense(nn, name, x, units * pieces, NULL);
	return dg_max(g, dg_reshape(g, h, 3, shape), 1u << 2, 0);
}

/* With mbstd = G, D's last features (n×C×H×W, or n×F) with one more
 * channel: the mean over features of their standard deviation over each
 * group of G examples (ProGAN's layer), which lets D see a batch's lack
 * of variety; the features unchanged otherwise. */
static dg_tensor minibatch_stddev(struct dg_model *m, dg_tensor h)
{
	struct dg_graph *g = m->g;
	unsigned group = P(m)->mbstd;
	if (!group)
		return h;
	if (dg_shape(g, h, NULL) == 4)
		return dg_minibatch_stddev(g, h, group);
	int64_t s4[4] = {-1, (int64_t)dg_dim(g, h, 1), 1, 1};
	return dg_flatten(g, dg_minibatch_stddev(g, dg_reshape(g, h, 4, s4), group));
}

/* cond=concat: D's input with the class embedding of y appended, as
 * maps of the image's size (dcgan) or as inputs (mlp, x flattened). */
static dg_tensor d_input(struct dg_model *m, dg_tensor x, dg_tensor y)
{
	struct dg_graph *g = m->g;
	struct gan *p = P(m);
	if (p->mlp)
		x = dg_flatten(g, x);
	if (p->cond != COND_CONCAT)
		return x;
	dg_tensor e = embed(m, &p->D, labels(m, y), p->embed);
	if (p->mlp)
		return dg_concat(g, x, e, 1);
	uint64_t n = dg_dim(g, x, 0);
	int64_t s4[4] = {(int64_t)n, (int64_t)p->embed, 1, 1};
	e = dg_expand(g, dg_reshape(g, e, 4, s4), DG_SHAPE(n, p->embed, m->height, m->width));
	return dg_concat(g, x, e, 1);
}

/* D's trunk: images n×C×H×W as G makes them (and labels y for
 * cond=concat) -> features n×F, flattened, which the score and the
 * auxiliary heads read. */
static dg_tensor d_features(struct dg_model *m, dg_tensor x, dg_tensor y)
{
	struct dg_graph *g = m->g;
	struct gan *p = P(m);
	const struct dg_nn *D = &p->D;
	int train = D->training;
	if (p->mlp) {
		dg_tensor h = dg_dropout(g, d_input(m, x, y), 0.2f, train);
		h = dg_dropout(g, maxout(D, "fc1", h, p->d_hidden, p->pieces), p->dropout, train);
		h = dg_dropout(g, maxout(D, "fc2", h, p->d_hidden, p->pieces), p->dropout, train);
		return minibatch_stddev(m, h);
	}
	dg_tensor h = d_input(m, x, y);
	uint64_t ch = p->ndf;
	const struct dg_nn_opt *lrelu = DG_NN_OPT(.act = DG_ACT_LEAKY_RELU, .alpha = 0.2f);
	for (unsigned i = 1; i <= p->depth; i++, ch *= 2) {
		char conv[16], norm[16];
		snprintf(conv, sizeof conv, "conv%u", i);
		snprintf(norm, sizeof norm, "conv%u_norm", i);
		if (i == 1 || p->d_norm == DG_NN_NORM_NONE) {
			h = dg_nn_conv2d(D, conv, h, ch, 4, 2, 1, lrelu);
		} else {
			h = dg_nn_conv2d(D, conv, h, ch, 4, 2, 1, &no_bias);
			h = p->d_norm == DG_NN_NORM_BATCH ? dg_nn_batch_norm(D, norm, h, lrelu)
							  : dg_nn_layer_norm(D, norm, h, lrelu);
		}
	}
	h = dg_flatten(g, minibatch_stddev(m, h));
	if (!p->fc)
		return h;
	/* InfoGAN's D: a dense hidden layer with D's norm after the convolutions */
	if (p->d_norm == DG_NN_NORM_NONE)
		return dg_nn_dense(D, "fc", h, p->fc, lrelu);
	h = dg_nn_dense(D, "fc", h, p->fc, &no_bias);
	return p->d_norm == DG_NN_NORM_BATCH ? dg_nn_batch_norm(D, "fc_norm", h, lrelu)
					     : dg_nn_layer_norm(D, "fc_norm", h, lrelu);
}

/* D's auxiliary heads: ACGAN's class logits n×classes, InfoGAN's Q
 * (the categorical code's logits, then the continuous codes' means). */
struct heads {
	dg_tensor cls, q;
};

/* InfoGAN's Q on D's features f: the paper's hidden layer (dense
 * "q_fc" without bias, batch norm "q_bn", LeakyReLU(0.2) as D's), then
 * the dense "q" to the categorical code's logits and the continuous
 * codes' means; with info_hidden=0, "q" on f directly. */
static dg_tensor q_head(struct dg_model *m, dg_tensor f)
{
	struct gan *p = P(m);
	const struct dg_nn *D = &p->D;
	if (p->info_hidden) {
		f = dg_nn_dense(D, "q_fc", f, p->info_hidden, &no_bias);
		f = dg_nn_batch_norm(D, "q_bn", f,
				     DG_NN_OPT(.act = DG_ACT_LEAKY_RELU, .alpha = 0.2f));
	}
	return dg_nn_dense(D, "q", f, p->info_cat + p->info_cont, NULL);
}

/* D: images x and labels y -> scores n×1 (logits for the minimax and ns
 * losses); with heads, also the auxiliary heads of the same features. */
static dg_tensor discriminator(struct dg_model *m, dg_tensor x, dg_tensor y, struct heads *hd)
{
	struct dg_graph *g = m->g;
	struct gan *p = P(m);
	const struct dg_nn *D = &p->D;
	dg_tensor f = d_features(m, x, y);
	dg_tensor s = dg_nn_dense(D, "out", f, 1, NULL);
	if (p->cond == COND_PROJECTION) { /* + <embed(y), phi(x)> */
		dg_tensor e = embed(m, D, labels(m, y), dg_dim(g, f, 1));
		s = dg_add(g, s, dg_sum(g, dg_mul(g, e, f), 1u << 1, 1));
	}
	if (hd) {
		*hd = (struct heads){DG_NONE, DG_NONE};
		if (p->cond == COND_ACGAN)
			hd->cls = dg_nn_dense(D, "cls", f, p->classes, NULL);
		if (p->info_cat + p->info_cont)
			hd->q = q_head(m, f);
	}
	return s;
}

/* Data in [0,1] as D sees it, and G's output as an image in [0,1]. */
static dg_tensor to_model(struct dg_model *m, dg_tensor x)
{
	return P(m)->mlp ? x : dg_affine(m->g, x, 2, -1);
}

static dg_tensor to_image(struct dg_model *m, dg_tensor x)
{
	return P(m)->mlp ? x : dg_affine(m->g, x, 0.5f, 0.5f);
}

/* ---- losses -------------------------------------------------------------------- */

static dg_tensor mean(struct dg_graph *g, dg_tensor x)
{
	return dg_mean(g, x, DG_AXES_ALL, 0);
}

/* D's loss on real scores r and fake scores f; real images' target is
 * 1 - s (one-sided label smoothing; s = 0: none). */
static dg_tensor d_loss(struct dg_graph *g, enum loss l, dg_tensor r, dg_tensor f, float s)
{
	switch (l) {
	case MINIMAX:
	case NS: /* -log σ(r) - log(1 - σ(f)); smoothed, -(1-s) log σ(r) - s log(1 - σ(r)) */
		if (s > 0)
			r = dg_add(g, dg_mul_scalar(g, dg_softplus(g, dg_neg(g, r)), 1 - s),
				   dg_mul_scalar(g, dg_softplus(g, r), s));
		else
			r = dg_softplus(g, dg_neg(g, r));
		return dg_add(g, mean(g, r), mean(g, dg_softplus(g, f)));
	case LSGAN: /* ½ (r - b)² + ½ f², targets b = 1 - s, a = 0 */
		return dg_mul_scalar(g, dg_add(g, mean(g, dg_square(g, dg_add_scalar(g, r, s - 1))),
					       mean(g, dg_square(g, f))), 0.5f);
	case WGAN:
	case WGAN_GP: /* the critic's estimate of -W(real, fake) */
		return dg_sub(g, mean(g, f), mean(g, r));
	case HINGE:
		return dg_add(g, mean(g, dg_relu(g, dg_affine(g, r, -1, 1))),
			      mean(g, dg_relu(g, dg_add_scalar(g, f, 1))));
	}
	return DG_NONE;
}

/* G's loss on the scores f of its images. */
static dg_tensor g_loss(struct dg_graph *g, enum loss l, dg_tensor f)
{
	switch (l) {
	case MINIMAX: /* log(1 - σ(f)) = -softplus(f): saturates when D wins */
		return dg_neg(g, mean(g, dg_softplus(g, f)));
	case NS: /* -log σ(f) */
		return mean(g, dg_softplus(g, dg_neg(g, f)));
	case LSGAN: /* ½ (f - 1)², target c = 1 */
		return dg_mul_scalar(g, mean(g, dg_square(g, dg_add_scalar(g, f, -1))), 0.5f);
	case WGAN:
	case WGAN_GP:
	case HINGE:
		return dg_neg(g, mean(g, f));
	}
	return DG_NONE;
}

/* The mean score as a term: D's probability for the logit losses. */
static dg_tensor score(struct dg_graph *g, enum loss l, dg_tensor s)
{
	return mean(g, l == MINIMAX || l == NS ? dg_sigmoid(g, s) : s);
}

/* λ E(‖∇ D(x̂)‖ - 1)² at x̂ = εx + (1-ε)x̃, ε ~ U(0,1) per example. */
static dg_tensor gradient_penalty(struct dg_model *m, dg_tensor xr, dg_tensor xf, dg_tensor y,
				  float lambda)
{
	struct dg_graph *g = m->g;
	dg_tensor e = dg_random_uniform(g, DG_SHAPE(m->batch, 1, 1, 1));
	dg_tensor xh = dg_add(g, dg_mul(g, e, xr), dg_mul(g, dg_affine(g, e, -1, 1), xf));
	xh = dg_stop_gradient(g, xh);
	dg_tensor grad = dg_grad(g, dg_sum(g, discriminator(m, xh, y, NULL), DG_AXES_ALL, 0), xh);
	dg_tensor sq = dg_sum(g, dg_square(g, dg_flatten(g, grad)), 1u << 1, 0);
	dg_tensor norm = dg_sqrt(g, dg_add_scalar(g, sq, 1e-12f));
	return dg_mul_scalar(g, mean(g, dg_square(g, dg_add_scalar(g, norm, -1))), lambda);
}

/* BigGAN's orthogonal regularization (Brock et al. 2019), Σ over G's
 * weights W (rank >= 2, seen as dims[0] × rest) of ‖WWᵀ ⊙ (1 - I)‖²:
 * the off-diagonal Gram entries, pushing rows apart without fixing their
 * norms.  Written with the smaller Gram (WᵀW when W has more rows, the
 * columns' version) as ‖Gram‖² - Σ diag(Gram)², so no mask is built. */
static dg_tensor ortho_penalty(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	dg_tensor sum = dg_scalar(g, 0);
	for (size_t i = 0; i < dg_var_count(g); i++) {
		uint64_t d[DG_MAX_RANK], rows, cols = 1;
		const char *name = dg_var_name(g, i);
		unsigned r = dg_var_shape(g, i, d);
		if (dg_var_kind(g, i) != DG_VAR_PARAM || strncmp(name, "G.", 2) || r < 2)
			continue;
		rows = d[0];
		for (unsigned k = 1; k < r; k++)
			cols *= d[k];
		int64_t s2[2] = {(int64_t)rows, (int64_t)cols};
		dg_tensor w = dg_reshape(g, dg_var_tensor(g, name), 2, s2);
		int by_rows = rows <= cols;
		dg_tensor gram = dg_matmul(g, w, w, !by_rows, by_rows);
		dg_tensor diag = dg_sum(g, dg_square(g, w), by_rows ? 1u << 1 : 1u << 0, 0);
		dg_tensor off = dg_sub(g, dg_sum(g, dg_square(g, gram), DG_AXES_ALL, 0),
				       dg_sum(g, dg_square(g, diag), DG_AXES_ALL, 0));
		sum = dg_add(g, sum, off);
	}
	return sum;
}

/* ---- failures of training (dg-gan(7), Warnings) ----------------------------- */

/* D wins when its loss stays within this of its floor for a whole epoch:
 * G's images then get no useful gradient (minimax's saturates outright). */
#define D_WINS_MARGIN 0.05
/* G's samples have collapsed when their spread across a batch stays
 * below this fraction of the real batch's for a whole epoch. */
#define COLLAPSE_BELOW 0.1

/* The mean over pixels of each pixel's standard deviation across the
 * batch of images x (n×C×H×W): how different the batch's images are. */
static dg_tensor batch_spread(struct dg_graph *g, dg_tensor x)
{
	dg_tensor d = dg_sub(g, x, dg_mean(g, x, 1u << 0, 1));
	dg_tensor var = dg_mean(g, dg_square(g, d), 1u << 0, 0);
	return mean(g, dg_sqrt(g, dg_add_scalar(g, var, 1e-12f)));
}

/* The lowest loss D can reach on a batch: 0, but with one-sided label
 * smoothing the logit losses keep the entropy of the target 1 - s. */
static double d_floor(enum loss l, double s)
{
	if ((l != MINIMAX && l != NS) || s <= 0)
		return 0;
	return -(1 - s) * log(1 - s) - s * log(s);
}

/* Declares the term "diversity" (G's images' spread over the real
 * batch's, in D's phase where both are at hand) and asks the trainer to
 * warn when it or D's loss stays low for a whole epoch.  A Wasserstein
 * critic's loss has no floor to approach, so only its diversity is
 * watched. */
static void watch_failures(struct dg_model *m, struct dg_phase *pd, dg_tensor real,
			   dg_tensor fake)
{
	struct dg_graph *g = m->g;
	struct gan *p = P(m);
	dg_tensor div = dg_div(g, batch_spread(g, fake),
			       dg_add_scalar(g, batch_spread(g, real), 1e-6f));
	dg_model_term(m, pd, "diversity", div);
	dg_model_term_warn(m, "diversity", COLLAPSE_BELOW,
			   "G's samples vary far less than the data: mode collapse");
	if (p->loss != WGAN && p->loss != WGAN_GP)
		dg_model_term_warn(m, "loss_d", d_floor(p->loss, p->smooth) + D_WINS_MARGIN,
				   "D tells every image apart: G learns little (D wins)");
}

/* ---- conditioning and InfoGAN's codes ------------------------------------------ */

/* cond=, embed= and InfoGAN's codes: checked against the data. */
static int configure_cond(struct dg_model *m, struct gan *p)
{
	const char *cond = dg_model_str(m, "cond");
	for (unsigned i = 0; i < sizeof cond_names / sizeof *cond_names; i++)
		if (!strcmp(cond, cond_names[i]))
			p->cond = (enum cond)i;
	p->info_cat = (unsigned)dg_model_int(m, "info_cat");
	p->info_cont = (unsigned)dg_model_int(m, "info_cont");
	p->info_lambda = (float)dg_model_float(m, "info_lambda");
	p->info_hidden = (uint64_t)dg_model_int(m, "info_hidden");
	p->cls_fake = (float)dg_model_float(m, "cls_fake");
	if (p->info_cat == 1)
		return dg_graph_fail(m->g, DG_EUSAGE, "info_cat=1: a categorical code needs at "
				     "least 2 values (0: none)");
	m->labels_unused = !p->cond;
	if (!p->cond)
		return DG_OK;
	if (!m->classes)
		return dg_graph_fail(m->g, DG_EUSAGE, "cond=%s needs labelled data (a class "
				     "count); this data has no labels", cond);
	p->classes = m->classes;
	p->embed = (uint64_t)dg_model_int(m, "embed");
	if (!p->embed)
		p->embed = p->classes;
	return DG_OK;
}

/* n codes: z ~ N(0, t²I) of `latent` values, then InfoGAN's codes from
 * their priors: the categorical one one-hot (the argmax of info_cat
 * uniforms, so each value has probability 1/info_cat), the continuous
 * ones 2u - 1.  *cat (n, f32 indices) and *cont (n×info_cont) are the
 * codes Q must recover, DG_NONE when absent. */
static dg_tensor draw_code(struct dg_model *m, uint64_t n, float t, dg_tensor *cat,
			   dg_tensor *cont)
{
	struct dg_graph *g = m->g;
	struct gan *p = P(m);
	dg_tensor z = dg_random_normal(g, DG_SHAPE(n, p->latent));
	if (t != 1)
		z = dg_mul_scalar(g, z, t);
	*cat = *cont = DG_NONE;
	if (p->info_cat) {
		*cat = dg_argmax(g, dg_random_uniform(g, DG_SHAPE(n, p->info_cat)));
		z = dg_concat(g, z, dg_one_hot(g, *cat, p->info_cat), 1);
	}
	if (p->info_cont) {
		*cont = dg_affine(g, dg_random_uniform(g, DG_SHAPE(n, p->info_cont)), 2, -1);
		z = dg_concat(g, z, *cont, 1);
	}
	return z;
}

/* InfoGAN's L_I to minimize, from Q's outputs q and the codes drawn:
 * the categorical code's cross-entropy plus the continuous codes'
 * Gaussian NLL at unit variance, ½ Σ (c - mu)² (log 2π dropped), means
 * over the batch. */
static dg_tensor info_loss(struct dg_model *m, dg_tensor q, dg_tensor cat, dg_tensor cont)
{
	struct dg_graph *g = m->g;
	struct gan *p = P(m);
	dg_tensor l = dg_scalar(g, 0);
	if (p->info_cat) {
		dg_tensor logits = dg_slice(g, q, 1, 0, p->info_cat);
		l = dg_add(g, l, dg_softmax_cross_entropy(g, logits, cat, DG_MEAN));
	}
	if (p->info_cont) {
		dg_tensor mu = dg_slice(g, q, 1, p->info_cat, p->info_cont);
		l = dg_add(g, l, dg_mul_scalar(g, dg_mse_loss(g, mu, cont, DG_SUM_MEAN_BATCH),
					       0.5f));
	}
	return l;
}

/* What the auxiliary heads add to a phase's loss on generated images
 * (hf, from codes cat and cont, labels m->y) and, for D, on real ones
 * (hr; NULL for G): ACGAN's class cross-entropy (ce) and L_I (info),
 * DG_NONE when absent. */
struct aux {
	dg_tensor ce, info;
};

static struct aux aux_losses(struct dg_model *m, const struct heads *hr,
			     const struct heads *hf, dg_tensor cat, dg_tensor cont)
{
	struct dg_graph *g = m->g;
	struct gan *p = P(m);
	struct aux a = {DG_NONE, DG_NONE};
	if (p->cond == COND_ACGAN) {
		a.ce = dg_softmax_cross_entropy(g, hf->cls, m->y, DG_MEAN);
		if (hr && p->cls_fake != 1)
			a.ce = dg_mul_scalar(g, a.ce, p->cls_fake);
		if (hr)
			a.ce = dg_add(g, dg_softmax_cross_entropy(g, hr->cls, m->y, DG_MEAN), a.ce);
	}
	if (p->info_cat + p->info_cont)
		a.info = info_loss(m, hf->q, cat, cont);
	return a;
}

/* loss plus the auxiliary losses, L_I weighted by info_lambda. */
static dg_tensor with_aux(struct dg_model *m, dg_tensor loss, struct aux a)
{
	struct dg_graph *g = m->g;
	if (a.ce.id)
		loss = dg_add(g, loss, a.ce);
	if (a.info.id)
		loss = dg_add(g, loss, dg_mul_scalar(g, a.info, P(m)->info_lambda));
	return loss;
}

/* The auxiliary losses as terms of phase ph: cls_<who>, info_<who>. */
static void aux_terms(struct dg_model *m, struct dg_phase *ph, int gen, struct aux a)
{
	if (a.ce.id)
		dg_model_term(m, ph, gen ? "cls_g" : "cls_d", a.ce);
	if (a.info.id)
		dg_model_term(m, ph, gen ? "info_g" : "info_d", a.info);
}

/* ---- the family's functions ---------------------------------------------------- */

static int configure(struct dg_model *m, struct gan *p)
{
	struct dg_graph *g = m->g;
	const char *loss = dg_model_str(m, "loss"), *norm = dg_model_str(m, "d_norm");
	p->mlp = dg_model_str(m, "arch")[0] == 'm';
	for (unsigned i = 0; i < sizeof loss_names / sizeof *loss_names; i++)
		if (!strcmp(loss, loss_names[i]))
			p->loss = (enum loss)i;
	p->latent = (uint64_t)dg_model_int(m, "latent");
	p->ngf = (uint64_t)dg_model_int(m, "ngf");
	p->ndf = (uint64_t)dg_model_int(m, "ndf");
	p->fc = (uint64_t)dg_model_int(m, "fc");
	if (p->fc && p->mlp)
		return dg_graph_fail(g, DG_EUSAGE, "fc= adds dense layers to arch=dcgan; "
				     "arch=mlp has its own (hidden=, d_hidden=)");
	p->hidden = (uint64_t)dg_model_int(m, "hidden");
	p->d_hidden = (uint64_t)dg_model_int(m, "d_hidden");
	p->pieces = (uint64_t)dg_model_int(m, "maxout");
	p->dropout = (float)dg_model_float(m, "dropout");
	p->smooth = (float)dg_model_float(m, "smooth");
	p->mbstd = (unsigned)dg_model_int(m, "mbstd");
	if (p->smooth > 0 && p->loss != MINIMAX && p->loss != NS && p->loss != LSGAN)
		return dg_graph_fail(g, DG_EUSAGE, "smooth= sets a target probability: it applies "
				     "to the minimax, ns and lsgan losses, not %s", loss);
	if (p->mbstd && m->batch % p->mbstd)
		return dg_graph_fail(g, DG_EUSAGE, "mbstd=%u: the batch (%llu) must be a multiple "
				     "of the group", p->mbstd, (unsigned long long)m->batch);
	if (configure_cond(m, p))
		return dg_graph_status(g);
	p->d_norm = !strcmp(norm, "batch") ? DG_NN_NORM_BATCH
		  : !strcmp(norm, "layer") ? DG_NN_NORM_LAYER
		  : !strcmp(norm, "none")  ? DG_NN_NORM_NONE
		  : p->loss == WGAN_GP     ? DG_NN_NORM_LAYER : DG_NN_NORM_BATCH;
	if (p->loss == WGAN_GP && p->d_norm == DG_NN_NORM_BATCH)
		return dg_graph_fail(g, DG_EUSAGE, "loss=wgan-gp penalizes each example's "
				     "gradient, which batch norm mixes: use d_norm=layer or none");
	if (!p->mlp) {
		unsigned depth = (unsigned)dg_model_int(m, "depth");
		if (!depth)
			while (depth < MAX_DEPTH && !(m->height % (2u << depth)) &&
			       !(m->width % (2u << depth)) && m->height >> (depth + 1) >= 4 &&
			       m->width >> (depth + 1) >= 4)
				depth++;
		if (!depth || m->height % (1u << depth) || m->width % (1u << depth))
			return dg_graph_fail(g, DG_EUSAGE, "arch=dcgan needs image sides b*2^depth "
					     "with b >= 1 (28 = 7*4, 32 = 4*8), not %ux%u with "
					     "depth %u; use arch=mlp", m->height, m->width, depth);
		p->depth = depth;
		p->bh = m->height >> depth;
		p->bw = m->width >> depth;
	}
	struct dg_nn root;
	dg_nn_init(&root, g, m->training);
	root.init = DG_NN_INIT_NORMAL; /* N(0, 0.02): DCGAN's, for both architectures */
	if (!strcmp(dg_model_str(m, "init"), "orthogonal")) {
		root.init = DG_NN_INIT_ORTHOGONAL;
		root.init_scale = 1;
	}
	dg_nn_scope(&p->G, &root, "G");
	dg_nn_scope(&p->D, &root, "D");
	p->D.group = 1;
	if (dg_model_bool(m, "sn"))
		p->D.flags |= DG_NN_SPECTRAL_NORM;
	return dg_graph_status(g);
}

/* The optimizers of each loss's paper: DCGAN's Adam (lr 2e-4, β1 0.5)
 * for both networks; WGAN's RMSProp (lr 5e-5) with D's weights clipped;
 * WGAN-GP's Adam (lr 1e-4, β = (0, 0.9)). */
static void optimizers(struct dg_model *m, struct gan *p)
{
	switch (p->loss) {
	case WGAN:
		p->opt_d = (struct dg_optim){.kind = DG_RMSPROP, .lr = 5e-5f};
		break;
	case WGAN_GP:
		p->opt_d = (struct dg_optim){.kind = DG_ADAM, .lr = 1e-4f, .beta1 = 0,
					     .beta2 = 0.9f, .eps = 1e-8f, .exact = 1};
		break;
	default:
		p->opt_d = (struct dg_optim){.kind = DG_ADAM, .lr = 2e-4f, .beta1 = 0.5f};
	}
	p->opt_g = p->opt_d;
	if (p->loss == WGAN)
		p->opt_d.clip_value = (float)dg_model_float(m, "clip");
	p->opt_g.ema_decay = (float)dg_model_float(m, "ema");
}

static int build(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	struct gan *p = calloc(1, sizeof *p);
	if (!p)
		return dg_graph_fail(g, DG_ENOMEM, "out of memory");
	m->priv = p;
	if (configure(m, p))
		return dg_graph_status(g);
	m->latent_dim = (unsigned)(p->latent + p->info_cat + p->info_cont);
	m->prior = DG_PRIOR_GAUSSIAN;
	optimizers(m, p);
	dg_tensor y = labels(m, m->y), cat, cont;

	/* D: real images up, generated ones down */
	dg_tensor z = draw_code(m, m->batch, 1, &cat, &cont);
	dg_tensor fake = dg_stop_gradient(g, generator(m, z, y));
	dg_tensor real = to_model(m, m->x);
	struct heads hr, hf;
	dg_tensor sr = discriminator(m, real, y, p->cond == COND_ACGAN ? &hr : NULL);
	dg_tensor sf = discriminator(m, fake, y, &hf);
	dg_tensor ld = d_loss(g, p->loss, sr, sf, p->smooth), gp = DG_NONE;
	if (p->loss == WGAN_GP) {
		gp = gradient_penalty(m, real, fake, y, (float)dg_model_float(m, "gp"));
		ld = dg_add(g, ld, gp);
	}
	struct aux ad = aux_losses(m, &hr, &hf, cat, cont);
	struct dg_phase *pd = dg_model_phase(m, "discriminator", with_aux(m, ld, ad), DG_GROUP(1));
	long k = dg_model_int(m, "dsteps");
	if (pd) {
		pd->steps = k ? (unsigned)k : p->loss == WGAN || p->loss == WGAN_GP ? 5 : 1;
		pd->optim = &p->opt_d;
	}
	dg_model_term(m, pd, "loss_d", ld);
	dg_model_term(m, pd, "d_x", score(g, p->loss, sr));
	dg_model_term(m, pd, "d_gz", score(g, p->loss, sf));
	if (gp.id)
		dg_model_term(m, pd, "gp", gp);
	aux_terms(m, pd, 0, ad);

	/* G: its images scored as real, from a fresh z */
	z = draw_code(m, m->batch, 1, &cat, &cont);
	dg_tensor lg = g_loss(g, p->loss, discriminator(m, generator(m, z, y), y, &hf)), ortho;
	struct aux ag = aux_losses(m, NULL, &hf, cat, cont);
	dg_tensor total = with_aux(m, lg, ag);
	float beta = (float)dg_model_float(m, "ortho");
	if (beta > 0) {
		ortho = dg_mul_scalar(g, ortho_penalty(m), beta);
		total = dg_add(g, total, ortho);
	}
	struct dg_phase *pg = dg_model_phase(m, "generator", total, DG_GROUP(0));
	if (pg) {
		pg->optim = &p->opt_g;
		pg->ema_warmup = 1;
		/* G's batch-norm statistics */
		pg->ema_buffers = strcmp(dg_model_str(m, "ema_stats"), "average") == 0
					  ? DG_EMA_BUFFERS_AVERAGE : DG_EMA_BUFFERS_STANDING;
	}
	dg_model_term(m, pg, "loss_g", lg);
	if (beta > 0)
		dg_model_term(m, pg, "ortho", ortho);
	aux_terms(m, pg, 1, ag);

	/* lazy R1 (Mescheder et al. 2018): γ/2 E‖∇x D(x)‖² on real images,
	 * a phase of D's every N iterations, scaled by N (StyleGAN2) */
	float gamma = (float)dg_model_float(m, "r1");
	if (gamma > 0) {
		long every = dg_model_int(m, "r1_every");
		dg_tensor xr = dg_stop_gradient(g, real);
		dg_tensor dr = discriminator(m, xr, m->y, NULL);
		dg_tensor grad = dg_grad(g, dg_sum(g, dr, DG_AXES_ALL, 0), xr);
		dg_tensor r1 = dg_mul_scalar(g, dg_sum(g, dg_square(g, grad), DG_AXES_ALL, 0),
					     0.5f * gamma * (float)every / (float)m->batch);
		struct dg_phase *pr = dg_model_phase(m, "r1", r1, DG_GROUP(1));
		if (pr) {
			pr->every = (unsigned)every;
			pr->optim = &p->opt_d;
		}
		dg_model_term(m, pr, "r1", r1);
	}
	watch_failures(m, pd, real, fake);
	return dg_graph_status(g);
}

/* z (and the class y of a conditional model) -> the image G makes of
 * it, in [0,1]. */
static int decode(struct dg_model *m, dg_tensor z, dg_tensor y, dg_tensor *x)
{
	*x = to_image(m, generator(m, z, y));
	return dg_graph_status(m->g);
}

/* Codes from the prior: z ~ N(0, t²I), then InfoGAN's codes from theirs
 * (t does not apply to them); dg-decode turns them into images (a
 * conditional model takes the class there). */
static int sample(struct dg_model *m, uint64_t n, float t, dg_tensor y, dg_tensor *out)
{
	dg_tensor cat, cont;
	(void)y;
	*out = draw_code(m, n, t, &cat, &cont);
	return dg_graph_status(m->g);
}

static void release(struct dg_model *m)
{
	free(m->priv);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = sizeof(struct dg_family),
	.name = "gan",
	.summary = "GAN: DCGAN or the 2014 MLPs; minimax, non-saturating, LSGAN, WGAN, "
		   "WGAN-GP and hinge losses",
	.hparams = hparams,
	.caps = DG_CAP_DECODE | DG_CAP_SAMPLE_LATENT | DG_CAP_CONDITIONAL,
	.build = build,
	.decode = decode,
	.sample = sample,
	.release = release,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
