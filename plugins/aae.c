/* aae.c — the adversarial autoencoder family (Makhzani et al. 2015): a
 * deterministic autoencoder whose codes are pushed towards a chosen prior
 * by a discriminator on the latent space instead of a KL term, so the
 * prior may be any distribution one can draw from, with no density.
 *
 * Three networks in three parameter groups, all MLPs as in the paper's
 * MNIST model (two ReLU hidden layers each):
 *   enc (group 0): x (C·H·W) -> fc1, fc2 (hidden, ReLU) -> code (latent,
 *       linear): the deterministic q(z|x);
 *   dec (group 1): z -> fc1, fc2 (hidden, ReLU) -> out (C·H·W logits),
 *       a sigmoid for the image;
 *   D (group 2): z -> fc1, fc2 (d_hidden, ReLU) -> out (1 logit): "this
 *       code was drawn from the prior".
 * Layers followed by a ReLU are He-uniform, the others Glorot-uniform,
 * biases zero (as the ae family).
 *
 * Each iteration runs the paper's two stages as three phases on the same
 * batch: "reconstruction" (enc and dec) minimizes the squared error or
 * the binary cross-entropy of the reconstruction, summed over pixels and
 * averaged over the batch; "discriminator" (D) the logistic loss of D on
 * codes drawn from the prior (target 1) against the encoder's codes of the
 * batch (target 0); "generator" (enc) the non-saturating loss -log D(e(x))
 * that makes the encoder fool D.  Optimizers: Adam lr 1e-3 for the
 * reconstruction, and DCGAN's Adam (lr 2e-4, β1 0.5) for the two
 * adversarial phases, each phase with its own state.
 *
 * Priors (prior=):
 *   gauss  N(0, I).
 *   mog10  the paper's mixture of 10 Gaussians, placed on a circle in the
 *          first two coordinates: component k ~ U{0..9}, at angle
 *          θ = 2πk/10, is N((R, 0), diag(σr², σt²)) rotated by θ, with
 *          R = 2, σr = 0.5 along the radius and σt = 0.1 across it (ten
 *          elongated petals); the remaining latent-2 coordinates are
 *          N(0, 1).  Needs latent >= 2.  The component is drawn by the
 *          graph as floor(10u) of a uniform u, one per code.
 * dg-sample draws from the prior at temperature t (t scales the normal
 * noise: N(0, t²I), or each petal's spread around its centre), and
 * dg-decode decodes; dg-encode gives e(x); dg-translate gives the
 * reconstruction.  dg-eval reports "rec", the reconstruction error.
 *
 * Parameter names (checkpoint members): enc.*, dec.*, D.*. */
#include <math.h>
#include <stdlib.h>
#include "dg/nn.h"
#include "dg/plugin.h"

static const struct dg_hparam hparams[] = {
	{"prior", DG_HP_CHOICE, "gauss", 0, 0, "gauss|mog10",
	 "the codes' target: gauss (N(0, I)) or mog10 (10 Gaussians on a circle)"},
	{"latent", DG_HP_INT, "8", 1, 4096, NULL, "size of the code z"},
	{"hidden", DG_HP_INT, "1000", 1, 65536, NULL,
	 "units of the encoder's and the decoder's two hidden layers"},
	{"d_hidden", DG_HP_INT, "1000", 1, 65536, NULL,
	 "units of the latent discriminator's two hidden layers"},
	{"loss", DG_HP_CHOICE, "bce", 0, 0, "mse|bce",
	 "reconstruction loss: mse (squared error) or bce (cross-entropy)"},
	{0},
};

/* The mixture's geometry (the file's head). */
#define MOG_K 10
#define MOG_RADIUS 2.0f
#define MOG_SD_RADIAL 0.5f
#define MOG_SD_TANGENT 0.1f

struct aae {
	uint64_t latent, hidden, d_hidden;
	int mog, bce;
	struct dg_nn enc, dec, D;
	struct dg_optim opt_rec, opt_adv;
};
#define A(m) ((struct aae *)(m)->priv)

static const struct dg_nn_opt he_relu = {.struct_size = sizeof(struct dg_nn_opt),
					 .act = DG_ACT_RELU,
					 .init = DG_NN_INIT_HE_UNIFORM};
static const struct dg_nn_opt glorot = {.struct_size = sizeof(struct dg_nn_opt),
					.init = DG_NN_INIT_GLOROT_UNIFORM};

/* ---- the networks ------------------------------------------------------------ */

/* x n×C×H×W -> codes n×latent. */
static dg_tensor encoder(struct dg_model *m, dg_tensor x)
{
	struct aae *a = A(m);
	dg_tensor h = dg_nn_dense(&a->enc, "fc1", dg_flatten(m->g, x), a->hidden, &he_relu);
	h = dg_nn_dense(&a->enc, "fc2", h, a->hidden, &he_relu);
	return dg_nn_dense(&a->enc, "code", h, a->latent, &glorot);
}

/* z n×latent -> logits n×(C·H·W). */
static dg_tensor decoder(struct dg_model *m, dg_tensor z)
{
	struct aae *a = A(m);
	uint64_t d = (uint64_t)m->channels * m->height * m->width;
	dg_tensor h = dg_nn_dense(&a->dec, "fc1", z, a->hidden, &he_relu);
	h = dg_nn_dense(&a->dec, "fc2", h, a->hidden, &he_relu);
	return dg_nn_dense(&a->dec, "out", h, d, &glorot);
}

/* z n×latent -> D's logits n×1. */
static dg_tensor discriminator(struct dg_model *m, dg_tensor z)
{
	struct aae *a = A(m);
	dg_tensor h = dg_nn_dense(&a->D, "fc1", z, a->d_hidden, &he_relu);
	h = dg_nn_dense(&a->D, "fc2", h, a->d_hidden, &he_relu);
	return dg_nn_dense(&a->D, "out", h, 1, &glorot);
}

/* Per-example reconstruction error of x (n×C×H×W) by the logits: n×(C·H·W). */
static dg_tensor recon_error(struct dg_model *m, dg_tensor logits, dg_tensor x)
{
	struct dg_graph *g = m->g;
	dg_tensor xf = dg_flatten(g, x);
	if (A(m)->bce) /* softplus(l) - x·l, the BCE with logits */
		return dg_sub(g, dg_softplus(g, logits), dg_mul(g, xf, logits));
	return dg_square(g, dg_sub(g, dg_sigmoid(g, logits), xf));
}

/* n codes from the prior, the normal noise scaled by t.  Random ops, in
 * order: mog10's uniform (n×1), then the normals (n×latent). */
static dg_tensor prior_sample(struct dg_model *m, uint64_t n, float t)
{
	struct dg_graph *g = m->g;
	struct aae *a = A(m);
	if (!a->mog)
		return dg_mul_scalar(g, dg_random_normal(g, DG_SHAPE(n, a->latent)), t);
	/* the component, one-hot: lo_k <= 10u < lo_k + 1 */
	float lo[MOG_K], hi[MOG_K], rot[MOG_K * 2];
	for (int k = 0; k < MOG_K; k++) {
		double th = 2 * M_PI * k / MOG_K;
		lo[k] = (float)k;
		hi[k] = (float)(k + 1);
		rot[2 * k] = (float)cos(th);
		rot[2 * k + 1] = (float)sin(th);
	}
	dg_tensor u10 = dg_mul_scalar(g, dg_random_uniform(g, DG_SHAPE(n, 1)), MOG_K);
	dg_tensor eps = dg_random_normal(g, DG_SHAPE(n, a->latent));
	dg_tensor onehot = dg_mul(g, dg_greater_equal(g, u10, dg_constant(g, DG_SHAPE(1, MOG_K), lo)),
				  dg_greater(g, dg_constant(g, DG_SHAPE(1, MOG_K), hi), u10));
	dg_tensor cs = dg_matmul(g, onehot, dg_constant(g, DG_SHAPE(MOG_K, 2), rot), 0, 0);
	dg_tensor c = dg_slice(g, cs, 1, 0, 1), s = dg_slice(g, cs, 1, 1, 1);
	dg_tensor r = dg_affine(g, dg_slice(g, eps, 1, 0, 1), MOG_SD_RADIAL * t, MOG_RADIUS);
	dg_tensor q = dg_mul_scalar(g, dg_slice(g, eps, 1, 1, 1), MOG_SD_TANGENT * t);
	dg_tensor z = dg_concat(g, dg_sub(g, dg_mul(g, c, r), dg_mul(g, s, q)),
				dg_add(g, dg_mul(g, s, r), dg_mul(g, c, q)), 1);
	if (a->latent > 2)
		z = dg_concat(g, z, dg_mul_scalar(g, dg_slice(g, eps, 1, 2, a->latent - 2), t), 1);
	return z;
}

/* ---- the family's functions ---------------------------------------------------- */

static dg_tensor mean(struct dg_graph *g, dg_tensor x)
{
	return dg_mean(g, x, DG_AXES_ALL, 0);
}

static int build(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	struct aae *a = calloc(1, sizeof *a);
	if (!a)
		return dg_graph_fail(g, DG_ENOMEM, "out of memory");
	m->priv = a;
	a->latent = (uint64_t)dg_model_int(m, "latent");
	a->hidden = (uint64_t)dg_model_int(m, "hidden");
	a->d_hidden = (uint64_t)dg_model_int(m, "d_hidden");
	a->mog = dg_model_str(m, "prior")[0] == 'm';
	a->bce = dg_model_str(m, "loss")[0] == 'b';
	if (a->mog && a->latent < 2)
		return dg_graph_fail(g, DG_EUSAGE, "prior=mog10 places its Gaussians on a circle "
				     "in the first two coordinates: it needs latent >= 2");
	struct dg_nn root;
	dg_nn_init(&root, g, m->training);
	dg_nn_scope(&a->enc, &root, "enc");
	dg_nn_scope(&a->dec, &root, "dec");
	dg_nn_scope(&a->D, &root, "D");
	a->dec.group = 1;
	a->D.group = 2;
	a->opt_rec = (struct dg_optim){.kind = DG_ADAM, .lr = 1e-3f};
	a->opt_adv = (struct dg_optim){.kind = DG_ADAM, .lr = 2e-4f, .beta1 = 0.5f};
	m->latent_dim = (unsigned)a->latent;
	/* the mixture has no closed form dg-interp or snapshots could use */
	m->prior = a->mog ? DG_PRIOR_OTHER : DG_PRIOR_GAUSSIAN;

	/* reconstruction: enc and dec */
	dg_tensor code = encoder(m, m->x);
	dg_tensor logits = decoder(m, code), xf = dg_flatten(g, m->x);
	dg_tensor rec = a->bce ? dg_bce_logits_loss(g, logits, xf, DG_SUM_MEAN_BATCH)
			       : dg_mse_loss(g, dg_sigmoid(g, logits), xf, DG_SUM_MEAN_BATCH);
	struct dg_phase *pr = dg_model_phase(m, "reconstruction", rec, DG_GROUP(0) | DG_GROUP(1));
	if (pr)
		pr->optim = &a->opt_rec;
	dg_model_term(m, pr, "recon", rec);

	/* regularization, D: prior samples up, the encoder's codes down */
	dg_tensor sp = discriminator(m, prior_sample(m, m->batch, 1));
	dg_tensor sc = discriminator(m, dg_stop_gradient(g, code));
	dg_tensor ld = dg_add(g, mean(g, dg_softplus(g, dg_neg(g, sp))), mean(g, dg_softplus(g, sc)));
	struct dg_phase *pd = dg_model_phase(m, "discriminator", ld, DG_GROUP(2));
	if (pd)
		pd->optim = &a->opt_adv;
	dg_model_term(m, pd, "loss_d", ld);
	dg_model_term(m, pd, "d_prior", mean(g, dg_sigmoid(g, sp)));
	dg_model_term(m, pd, "d_code", mean(g, dg_sigmoid(g, sc)));

	/* regularization, the encoder as generator: -log D(e(x)) */
	dg_tensor lg = mean(g, dg_softplus(g, dg_neg(g, discriminator(m, code))));
	struct dg_phase *pg = dg_model_phase(m, "generator", lg, DG_GROUP(0));
	if (pg)
		pg->optim = &a->opt_adv;
	dg_model_term(m, pg, "loss_g", lg);
	return dg_graph_status(g);
}

static int encode(struct dg_model *m, dg_tensor x, dg_tensor y, dg_tensor *mean_,
		  dg_tensor *sample)
{
	(void)y;
	*mean_ = encoder(m, x);
	*sample = DG_NONE; /* deterministic q(z|x) */
	return dg_graph_status(m->g);
}

static int decode(struct dg_model *m, dg_tensor z, dg_tensor y, dg_tensor *x)
{
	(void)y;
	int64_t shape[4] = {-1, m->channels, m->height, m->width};
	*x = dg_reshape(m->g, dg_sigmoid(m->g, decoder(m, z)), 4, shape);
	return dg_graph_status(m->g);
}

/* The reconstruction of x. */
static int translate(struct dg_model *m, dg_tensor x, dg_tensor y, dg_tensor *out)
{
	return decode(m, encoder(m, x), y, out);
}

/* Codes from the prior; dg-decode turns them into images. */
static int sample(struct dg_model *m, uint64_t n, float t, dg_tensor y, dg_tensor *out)
{
	(void)y;
	*out = prior_sample(m, n, t);
	return dg_graph_status(m->g);
}

/* Not a likelihood (no DG_CAP_LIKELIHOOD): "rec", each example's
 * reconstruction error (the training loss's), for dg-eval. */
static int loglik(struct dg_model *m, dg_tensor x, dg_tensor y, unsigned k,
		  struct dg_term *out, unsigned *nout)
{
	(void)y, (void)k;
	dg_tensor e = recon_error(m, decoder(m, encoder(m, x)), x);
	out[0] = (struct dg_term){"rec", dg_sum(m->g, e, 2, 0)};
	*nout = 1;
	return dg_graph_status(m->g);
}

static void release(struct dg_model *m)
{
	free(m->priv);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = sizeof(struct dg_family),
	.name = "aae",
	.summary = "adversarial autoencoder: codes matched to a Gaussian or a 10-Gaussian "
		   "mixture prior by a latent discriminator",
	.hparams = hparams,
	.caps = DG_CAP_ENCODE | DG_CAP_DECODE | DG_CAP_SAMPLE_LATENT | DG_CAP_TRANSLATE,
	.build = build,
	.encode = encode,
	.decode = decode,
	.sample = sample,
	.translate = translate,
	.loglik = loglik,
	.release = release,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
