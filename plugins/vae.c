/* vae.c — the variational autoencoder family (Kingma & Welling 2014),
 * with its usual variants: β-VAE (Higgins et al. 2017), the conditional
 * VAE (Sohn et al. 2015) and the importance-weighted bound (IWAE, Burda
 * et al. 2016).
 *
 * The model: an encoder q(z|x) = N(mu(x), diag exp(logvar(x))), a prior
 * p(z) = N(0, I) and a decoder p(x|z) that is Bernoulli with logits
 * f(z) on [0,1] intensities (the default), or Gaussian with mean
 * sigmoid(f(z)) and one learned variance shared by all pixels (log σ²
 * kept in [-7, 2]; the parameter dec.logvar is log σ² / 10).  Training
 * maximizes the ELBO, E_q[log p(x|z)] - β KL(q(z|x) || p(z)), with one
 * reparameterized draw z = mu + exp(logvar/2)·eps; or with iwae_k = K > 1
 * the bound log (1/K) Σ_k p(x|z_k) p(z_k)^β / q(z_k|x)^β over K draws.
 *
 * Architectures: "mlp" is the PyTorch example's 784-400-20 (C·H·W in,
 * one ReLU hidden layer each way); "conv" puts two stride-2 4×4
 * convolutions (32, 64 channels) before the encoder's hidden layer and two
 * transposed ones after the decoder's, for images whose sides divide by 4.
 * A conditional model concatenates the one-hot label to the encoder's
 * dense input and to z.
 *
 * The denoising VAE (Im et al., AAAI 2017): with noise=mask|gauss|
 * saltpepper the encoder sees a corrupted copy x̃ ~ p(x̃|x) of each
 * training image (dg_nn_corrupt, one draw per step inside the graph) and
 * training maximizes the denoising variational bound, one draw of x̃ and
 * of z: E_p(x̃|x) E_q(z|x̃) [log p(x|z)] - β KL(q(z|x̃) || p(z)), the
 * likelihood of the clean x.  Inference (encode, loglik, hence dg-eval's
 * bound on clean data) is the plain model's.
 *
 * The encoder and decoder bodies are the layer library's (dg/nn.h); the
 * heads, the likelihoods and the bounds are this file's.  Parameter names
 * (checkpoint members) are enc.* and dec.*, declared in the order the
 * training objective first applies them, one fixed order per
 * architecture. */
#include <math.h>
#include <stdlib.h>
#include "dg/nn.h"
#include "dg/plugin.h"

static const struct dg_hparam hparams[] = {
	{"arch", DG_HP_CHOICE, "mlp", 0, 0, "mlp|conv",
	 "mlp, or conv (2 stride-2 convs each way; sides divisible by 4)"},
	{"hidden", DG_HP_INT, "400", 1, 65536, NULL,
	 "hidden units of the encoder and of the decoder"},
	{"latent", DG_HP_INT, "20", 1, 4096, NULL, "size of the latent code z"},
	{"likelihood", DG_HP_CHOICE, "bernoulli", 0, 0, "bernoulli|gaussian",
	 "p(x|z): bernoulli (BCE) or gaussian (one learned variance)"},
	{"beta", DG_HP_FLOAT, "1", 0, 1000, NULL,
	 "KL weight: 1 is the ELBO; >1 is a beta-VAE (smoother codes)"},
	{"conditional", DG_HP_BOOL, "0", 0, 0, NULL,
	 "CVAE: one-hot label into encoder and decoder (needs labels)"},
	{"iwae_k", DG_HP_INT, "1", 1, 5000, NULL,
	 "samples of the IWAE bound trained on (1: the plain ELBO)"},
	{"noise", DG_HP_CHOICE, "none", 0, 0, "none|mask|gauss|saltpepper",
	 "denoising VAE: corrupt the encoder's training input (none: plain)"},
	{"noise_level", DG_HP_FLOAT, "0.25", 0, 100, NULL,
	 "mask, saltpepper: probability a pixel is hit; gauss: noise std dev"},
	{0},
};

/* Channels of the conv architecture's two feature maps. */
#define CONV1 32
#define CONV2 64
/* The Gaussian decoder's log-variance is kept in this range so that the
 * likelihood cannot run off to infinity on constant pixels.  It is stored
 * divided by LOGVAR_SCALE: Adam moves every parameter by about lr per
 * step whatever its gradient, and this one scalar has to travel several
 * units (σ from 1 to ~0.1) while the weights travel hundredths. */
#define LOGVAR_MIN -7.0f
#define LOGVAR_MAX 2.0f
#define LOGVAR_SCALE 10.0f

/* The model's settings and its two scopes ("enc", "dec"), shared by
 * every function that appends to the graph after build. */
struct vae {
	int conv, gaussian;
	unsigned classes;          /* > 0 for a conditional model */
	uint64_t d, hidden, latent;
	float beta;
	unsigned k;
	enum dg_nn_noise noise;    /* the denoising VAE's corruption */
	float level;
	struct dg_nn enc, dec;
	struct dg_nn_coder body;   /* the encoder's and decoder's bodies */
};
#define V(m) ((struct vae *)(m)->priv)

static const float LOG_2PI = 1.8378770664093453f;

/* ---- parameters ------------------------------------------------------------- */

/* Dense layers are initialized as PyTorch's nn.Linear is (weights and
 * biases uniform in ±1/sqrt(fan_in)), the reference the MLP VAE is
 * measured against: with He/Glorot weights and zero biases the same
 * 20-epoch run ended 0.9 nats/image worse on the test set
 * (bench/RESULTS.md).  Convolutions are He-uniform with zero biases. */
static const struct dg_nn_opt torch_init = {.struct_size = sizeof(struct dg_nn_opt),
					    .init = DG_NN_INIT_TORCH};
static const struct dg_nn_opt he_init = {.struct_size = sizeof(struct dg_nn_opt),
					 .init = DG_NN_INIT_HE_UNIFORM};

/* ---- the networks ------------------------------------------------------------ */

/* One-hot labels for a conditional model, DG_NONE otherwise; fails the
 * graph when a conditional model is given no labels. */
static dg_tensor one_hot(struct dg_model *m, dg_tensor y)
{
	struct vae *v = V(m);
	if (!v->classes)
		return DG_NONE;
	if (!y.id) {
		dg_graph_fail(m->g, DG_EUSAGE,
			      "a conditional VAE needs class labels (give a class for each item)");
		return DG_NONE;
	}
	return dg_one_hot(m->g, y, v->classes);
}

/* x: n×C×H×W -> the posterior's mean and log-variance, n×latent: the
 * body (enc.conv1, enc.conv2, enc.fc1) then the heads enc.mu, enc.logvar. */
static void encoder(struct dg_model *m, dg_tensor x, dg_tensor oh, dg_tensor *mu,
		    dg_tensor *logvar)
{
	struct vae *v = V(m);
	dg_tensor h = dg_nn_encoder(&v->enc, &v->body, x, oh);
	*mu = dg_nn_dense(&v->enc, "mu", h, v->latent, &torch_init);
	*logvar = dg_nn_dense(&v->enc, "logvar", h, v->latent, &torch_init);
}

/* z: n×latent -> the decoder's logits f(z), n×d (flat): dec.fc1, then
 * dec.out, or dec.fc2, dec.deconv1, dec.deconv2. */
static dg_tensor decoder(struct dg_model *m, dg_tensor z, dg_tensor oh)
{
	return dg_nn_decoder(&V(m)->dec, &V(m)->body, z, oh);
}

static dg_tensor to_image(struct dg_model *m, dg_tensor flat)
{
	int64_t shape[4] = {-1, m->channels, m->height, m->width};
	return dg_reshape(m->g, flat, 4, shape);
}

/* The Gaussian decoder's log σ², bounded: dec.logvar, declared after
 * the decoder's layers. */
static dg_tensor out_logvar(struct dg_model *m)
{
	dg_tensor p = dg_nn_param(&V(m)->dec, "logvar", DG_SHAPE(1),
				  (struct dg_init){DG_INIT_ZEROS, 0, 0});
	dg_tensor lv = dg_mul_scalar(m->g, p, LOGVAR_SCALE);
	return dg_clamp(m->g, lv, LOGVAR_MIN, LOGVAR_MAX);
}

/* log p(x|z) per element, from logits (any leading shape ending in d)
 * and the flat data x (broadcast against them). */
static dg_tensor log_px_elem(struct dg_model *m, dg_tensor logits, dg_tensor x)
{
	struct dg_graph *g = m->g;
	if (!V(m)->gaussian) /* x·l - log(1 + e^l) = -BCE(l, x) */
		return dg_sub(g, dg_mul(g, x, logits), dg_softplus(g, logits));
	dg_tensor lv = out_logvar(m);
	dg_tensor r = dg_sub(g, x, dg_sigmoid(g, logits));
	dg_tensor q = dg_mul(g, dg_square(g, r), dg_exp(g, dg_neg(g, lv)));
	return dg_mul_scalar(g, dg_add_scalar(g, dg_add(g, q, lv), LOG_2PI), -0.5f);
}

/* KL(q(z|x) || N(0, I)) per example: ½ Σ (mu² + e^logvar - 1 - logvar). */
static dg_tensor kl_per_example(struct dg_graph *g, dg_tensor mu, dg_tensor logvar)
{
	dg_tensor t = dg_sub(g, dg_add(g, dg_square(g, mu), dg_exp(g, logvar)),
			     dg_add_scalar(g, logvar, 1));
	return dg_mul_scalar(g, dg_sum(g, t, 2, 0), 0.5f);
}

/* z = mu + exp(logvar/2)·eps: a draw from q(z|x) that gradients flow
 * through to mu and logvar (eps may have extra leading axes). */
static dg_tensor reparam(struct dg_graph *g, dg_tensor mu, dg_tensor logvar, dg_tensor eps)
{
	return dg_add(g, mu, dg_mul(g, dg_exp(g, dg_mul_scalar(g, logvar, 0.5f)), eps));
}

/* Decodes the draws of eps (k×n×latent standard normals; k is its first
 * dim) for each of n examples: fills the k×n matrices of log p(x|z) and
 * of log p(z) - log q(z|x) (the Gaussian normalizers cancel: z = mu +
 * σ·eps gives log q = -½ Σ (eps² + logvar) + const and log p(z) = -½ Σ z²
 * + the same const). */
static void decode_draws(struct dg_model *m, dg_tensor x, dg_tensor oh, dg_tensor mu,
			 dg_tensor logvar, dg_tensor eps, dg_tensor *log_px,
			 dg_tensor *log_ratio)
{
	struct dg_graph *g = m->g;
	struct vae *v = V(m);
	uint64_t n = dg_dim(g, x, 0), k = dg_dim(g, eps, 0);
	dg_tensor z = reparam(g, mu, logvar, eps);
	int64_t flat[2] = {(int64_t)k * (int64_t)n, (int64_t)v->latent};
	dg_tensor ohk = DG_NONE;
	if (oh.id) { /* the labels repeated for every draw */
		int64_t rows[2] = {(int64_t)k * (int64_t)n, (int64_t)v->classes};
		ohk = dg_reshape(g, dg_expand(g, oh, DG_SHAPE(k, n, v->classes)), 2, rows);
	}
	dg_tensor logits = decoder(m, dg_reshape(g, z, 2, flat), ohk);
	int64_t knd[3] = {(int64_t)k, (int64_t)n, (int64_t)v->d};
	logits = dg_reshape(g, logits, 3, knd);
	*log_px = dg_sum(g, log_px_elem(m, logits, dg_flatten(g, x)), 4, 0);
	dg_tensor sq = dg_sub(g, dg_sum(g, dg_square(g, eps), 4, 0),
			      dg_sum(g, dg_square(g, z), 4, 0));
	*log_ratio = dg_mul_scalar(g, dg_add(g, sq, dg_sum(g, logvar, 2, 0)), 0.5f);
}

/* K fresh reparameterized draws for each of n examples, decoded at once
 * (training: the backward pass needs every draw anyway). */
static void draws(struct dg_model *m, dg_tensor x, dg_tensor oh, dg_tensor mu,
		  dg_tensor logvar, unsigned k, dg_tensor *log_px, dg_tensor *log_ratio)
{
	uint64_t n = dg_dim(m->g, x, 0);
	dg_tensor eps = dg_random_normal(m->g, DG_SHAPE(k, n, V(m)->latent));
	decode_draws(m, x, oh, mu, logvar, eps, log_px, log_ratio);
}

/* log (1/K) Σ_k w_k over axis 0 of a k×n matrix of log-weights. */
static dg_tensor log_mean_exp(struct dg_graph *g, dg_tensor logw, unsigned k)
{
	return dg_add_scalar(g, dg_logsumexp(g, logw, 1, 0), -logf((float)k));
}

/* ---- the family's functions -------------------------------------------------- */

static int configure(struct dg_model *m, struct vae *v)
{
	const char *lik = dg_model_str(m, "likelihood");
	v->conv = dg_model_str(m, "arch")[0] == 'c';
	v->gaussian = lik[0] == 'g';
	v->d = (uint64_t)m->channels * m->height * m->width;
	v->hidden = (uint64_t)dg_model_int(m, "hidden");
	v->latent = (uint64_t)dg_model_int(m, "latent");
	v->beta = (float)dg_model_float(m, "beta");
	v->k = (unsigned)dg_model_int(m, "iwae_k");
	int noise = dg_nn_noise_kind(dg_model_str(m, "noise"));
	if (noise < 0)
		return dg_graph_fail(m->g, DG_EUSAGE, "noise=%s: unknown corruption",
				     dg_model_str(m, "noise"));
	v->noise = (enum dg_nn_noise)noise;
	v->level = (float)dg_model_float(m, "noise_level");
	m->labels_unused = !dg_model_bool(m, "conditional");
	if (dg_model_bool(m, "conditional")) {
		if (!m->classes)
			return dg_graph_fail(m->g, DG_EUSAGE,
					     "conditional=1 needs labelled data (a class count); "
					     "this data has no labels");
		v->classes = m->classes;
	}
	if (v->conv && (m->height % 4 || m->width % 4 || !m->height || !m->width))
		return dg_graph_fail(m->g, DG_EUSAGE,
				     "arch=conv needs image sides divisible by 4 (got %ux%u); "
				     "use arch=mlp", m->height, m->width);
	v->body = (struct dg_nn_coder){
		.struct_size = sizeof(struct dg_nn_coder),
		.channels = m->channels, .height = m->height, .width = m->width,
		.hidden = v->hidden,
		.conv = {v->conv ? CONV1 : 0, CONV2},
		.dense = &torch_init, .convs = &he_init, .out = &torch_init,
	};
	struct dg_nn root;
	dg_nn_init(&root, m->g, m->training);
	dg_nn_scope(&v->enc, &root, "enc");
	dg_nn_scope(&v->dec, &root, "dec");
	return dg_graph_status(m->g);
}

/* -E_q log p(x|z) with one draw, mean over the batch.  The Bernoulli
 * case uses the fused BCE loss: this is the hot path of training. */
static dg_tensor recon_one_draw(struct dg_model *m, dg_tensor oh, dg_tensor mu,
				dg_tensor logvar)
{
	struct dg_graph *g = m->g;
	dg_tensor eps = dg_random_normal(g, DG_SHAPE(dg_dim(g, mu, 0), V(m)->latent));
	dg_tensor logits = decoder(m, reparam(g, mu, logvar, eps), oh);
	dg_tensor xf = dg_flatten(g, m->x);
	if (!V(m)->gaussian)
		return dg_bce_logits_loss(g, logits, xf, DG_SUM_MEAN_BATCH);
	dg_tensor log_px = dg_sum(g, log_px_elem(m, logits, xf), 2, 0);
	return dg_neg(g, dg_mean(g, log_px, DG_AXES_ALL, 0));
}

/* The training objective on m->x and the terms reported; the encoder
 * sees m->x corrupted when the model is a denoising VAE. */
static void objective(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	struct vae *v = V(m);
	dg_tensor oh = one_hot(m, m->y), mu, logvar, recon, loss;
	encoder(m, dg_nn_corrupt(g, m->x, v->noise, v->level), oh, &mu, &logvar);
	dg_tensor kl = dg_kl_normal(g, mu, logvar, DG_SUM_MEAN_BATCH);
	if (v->k == 1) { /* the analytic KL: lower variance than the sampled one */
		recon = recon_one_draw(m, oh, mu, logvar);
		loss = dg_add(g, recon, dg_mul_scalar(g, kl, v->beta));
	} else {
		dg_tensor log_px, log_ratio;
		draws(m, m->x, oh, mu, logvar, v->k, &log_px, &log_ratio);
		recon = dg_neg(g, dg_mean(g, log_px, DG_AXES_ALL, 0));
		dg_tensor logw = dg_add(g, log_px, dg_mul_scalar(g, log_ratio, v->beta));
		loss = dg_neg(g, dg_mean(g, log_mean_exp(g, logw, v->k), DG_AXES_ALL, 0));
	}
	struct dg_phase *ph = dg_model_phase(m, "vae", loss, DG_GROUP(0));
	dg_model_term(m, ph, "loss", loss);
	dg_model_term(m, ph, "recon", recon);
	dg_model_term(m, ph, "kl", kl);
}

static int build(struct dg_model *m)
{
	struct vae *v = calloc(1, sizeof *v);
	if (!v)
		return dg_graph_fail(m->g, DG_ENOMEM, "out of memory");
	m->priv = v;
	if (configure(m, v))
		return dg_graph_status(m->g);
	m->latent_dim = (unsigned)v->latent;
	m->prior = DG_PRIOR_GAUSSIAN;
	objective(m);
	return dg_graph_status(m->g);
}

static int encode(struct dg_model *m, dg_tensor x, dg_tensor y, dg_tensor *mean,
		  dg_tensor *sample)
{
	struct dg_graph *g = m->g;
	dg_tensor logvar;
	encoder(m, x, one_hot(m, y), mean, &logvar);
	dg_tensor eps = dg_random_normal(g, DG_SHAPE(dg_dim(g, x, 0), V(m)->latent));
	*sample = reparam(g, *mean, logvar, eps);
	return dg_graph_status(g);
}

/* The mean image: sigmoid of the logits for both likelihoods. */
static int decode(struct dg_model *m, dg_tensor z, dg_tensor y, dg_tensor *x)
{
	*x = to_image(m, dg_sigmoid(m->g, decoder(m, z, one_hot(m, y))));
	return dg_graph_status(m->g);
}

/* The reconstruction: the mean image of the posterior mean's code. */
static int translate(struct dg_model *m, dg_tensor x, dg_tensor y, dg_tensor *out)
{
	dg_tensor oh = one_hot(m, y), mu, logvar;
	encoder(m, x, oh, &mu, &logvar);
	*out = to_image(m, dg_sigmoid(m->g, decoder(m, mu, oh)));
	return dg_graph_status(m->g);
}

/* Latent codes from the prior N(0, t²I); dg-decode turns them into
 * images (a conditional model takes the class there). */
static int sample(struct dg_model *m, uint64_t n, float t, dg_tensor y, dg_tensor *out)
{
	(void)y;
	*out = dg_mul_scalar(m->g, dg_random_normal(m->g, DG_SHAPE(n, V(m)->latent)), t);
	return dg_graph_status(m->g);
}

/* loglik() decodes its k draws in chunks whose k×n×d tensors stay under
 * this many bytes each, so that k = 1000 on a batch of 100 needs tens of
 * megabytes, not gigabytes.  The environment variable
 * DG_LOGLIK_CHUNK_BYTES overrides it (tests compare chunkings with it). */
#define LOGLIK_CHUNK_BYTES (16ull << 20)

/* Draws per chunk for n examples of d values each: at least 1. */
static unsigned loglik_chunk(uint64_t n, uint64_t d, unsigned k)
{
	unsigned long long budget = LOGLIK_CHUNK_BYTES, per = n * d * sizeof(float), c;
	const char *env = getenv("DG_LOGLIK_CHUNK_BYTES");
	if (env && *env) {
		char *end;
		unsigned long long v = strtoull(env, &end, 10);
		if (!*end && v > 0)
			budget = v;
	}
	c = per ? budget / per : k;
	return c < 1 ? 1 : c > k ? k : (unsigned)c;
}

/* Per-example, in nats, always at β = 1 (the model's true bounds):
 * "rec" -E_q log p(x|z) averaged over k draws, "kl" the analytic KL,
 * "nelbo" = rec + kl, and "iwae" -log (1/k) Σ p(x,z_k)/q(z_k|x), an
 * upper bound on -log p(x) that is at most nelbo in expectation and
 * tightens as k grows.  Costs k decoder passes per example.
 *
 * The k×n noise is drawn once (k·n·latent floats, small) and decoded in
 * chunks of draws (see LOGLIK_CHUNK_BYTES): each chunk's log-weights are
 * reduced to a log-sum-exp over its draws, which is folded into the
 * running one by another (stable) log-sum-exp of the two, and its
 * log p(x|z) to a sum.  The graph runs in creation order and frees a
 * chunk's intermediates after its last use, so memory is one chunk's
 * whatever k is; and since the noise does not depend on the chunking,
 * chunked and unchunked results agree up to float rounding. */
static int loglik(struct dg_model *m, dg_tensor x, dg_tensor y, unsigned k,
		  struct dg_term *out, unsigned *nout)
{
	struct dg_graph *g = m->g;
	struct vae *v = V(m);
	dg_tensor oh = one_hot(m, y), mu, logvar, lse = DG_NONE, px_sum = DG_NONE;
	uint64_t n = dg_dim(g, x, 0);
	if (k == 0)
		k = 1;
	encoder(m, x, oh, &mu, &logvar);
	dg_tensor eps = dg_random_normal(g, DG_SHAPE(k, n, v->latent));
	unsigned c = loglik_chunk(n, v->d, k);
	for (unsigned s = 0; s < k && !dg_graph_status(g); s += c) {
		unsigned len = k - s < c ? k - s : c;
		dg_tensor e = len == k ? eps : dg_slice(g, eps, 0, s, len), log_px, log_ratio;
		decode_draws(m, x, oh, mu, logvar, e, &log_px, &log_ratio);
		dg_tensor l = dg_logsumexp(g, dg_add(g, log_px, log_ratio), 1, 1); /* 1×n */
		dg_tensor p = dg_sum(g, log_px, 1, 1);
		lse = lse.id ? dg_logsumexp(g, dg_concat(g, lse, l, 0), 1, 1) : l;
		px_sum = px_sum.id ? dg_add(g, px_sum, p) : p;
	}
	int64_t rows[1] = {(int64_t)n};
	dg_tensor rec = dg_reshape(g, dg_mul_scalar(g, px_sum, -1.0f / (float)k), 1, rows);
	dg_tensor kl = kl_per_example(g, mu, logvar);
	dg_tensor iwae = dg_reshape(g, dg_affine(g, lse, -1.0f, logf((float)k)), 1, rows);
	out[0] = (struct dg_term){"nelbo", dg_add(g, rec, kl)};
	out[1] = (struct dg_term){"rec", rec};
	out[2] = (struct dg_term){"kl", kl};
	out[3] = (struct dg_term){"iwae", iwae};
	*nout = 4;
	return dg_graph_status(g);
}

static void release(struct dg_model *m)
{
	free(m->priv);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = sizeof(struct dg_family),
	.name = "vae",
	.summary = "variational autoencoder (beta-VAE, CVAE, IWAE bound, denoising); "
		   "MLP 784-400-20 by default",
	.hparams = hparams,
	.caps = DG_CAP_ENCODE | DG_CAP_DECODE | DG_CAP_SAMPLE_LATENT | DG_CAP_LIKELIHOOD |
		DG_CAP_CONDITIONAL | DG_CAP_TRANSLATE,
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
