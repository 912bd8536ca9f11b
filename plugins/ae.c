/* ae.c — the deterministic autoencoder family: x -> z = e(x) -> x̂ = d(z),
 * trained to reconstruct its input through a bottleneck.
 *
 * It is here as the VAE's foil.  Its codes are points chosen by the
 * encoder with nothing asking them to fill any region of the latent
 * space, so there is no distribution to draw new codes from: sample()
 * exists only to say so.  Encoding and decoding (reconstructions,
 * interpolation between encoded images) work as for a VAE.
 *
 * Architectures, as in vae.c: "mlp" has one ReLU hidden layer each way
 * (C·H·W in, a linear code); "conv" puts two stride-2 4×4 convolutions
 * (32, 64 channels) before the encoder's hidden layer and two transposed
 * ones after the decoder's, for sides divisible by 4.  The output is a
 * sigmoid in [0,1]; the loss is the squared error or the binary
 * cross-entropy, summed over pixels and averaged over the batch.  The
 * bodies are the layer library's (dg/nn.h), the code layer this file's.
 *
 * Two regularized variants.  The denoising autoencoder (Vincent et al.
 * 2008): with noise=mask|gauss|saltpepper the encoder sees a corrupted
 * copy of each training image (dg_nn_corrupt: drawn by the graph, fresh at
 * every step, so runs repeat and resume exactly) and the loss still
 * compares the reconstruction with the clean image; encoding, decoding and
 * dg-eval use the clean input.  The contractive autoencoder (Rifai et al.
 * 2011): contractive=λ adds λ·‖J_f(x)‖²_F, the squared Frobenius norm of
 * the Jacobian of the code f(x) = W2·relu(W1·x + b1) + b2 with respect to
 * the input, averaged over the batch.  It is exact, in closed form: with
 * d = 1[W1·x + b1 > 0] the ReLU's derivative, J = W2·diag(d)·W1 and
 *   ‖J‖²_F = Σ_jk d_j d_k (W1·W1ᵀ)_jk (W2ᵀ·W2)_jk = dᵀ M d,
 * M = (W1·W1ᵀ) ∘ (W2ᵀ·W2) once per batch (hidden² values), then one
 * n×hidden by hidden×hidden product: far cheaper than forming each
 * example's latent×pixels Jacobian.  MLP only (refused for arch=conv). */
#include <stdlib.h>
#include "dg/nn.h"
#include "dg/plugin.h"

static const struct dg_hparam hparams[] = {
	{"arch", DG_HP_CHOICE, "mlp", 0, 0, "mlp|conv",
	 "mlp, or conv (2 stride-2 convs each way; sides divisible by 4)"},
	{"hidden", DG_HP_INT, "400", 1, 65536, NULL,
	 "hidden units of the encoder and of the decoder"},
	{"latent", DG_HP_INT, "20", 1, 4096, NULL, "size of the code z (the bottleneck)"},
	{"loss", DG_HP_CHOICE, "mse", 0, 0, "mse|bce",
	 "mse (squared error) or bce (cross-entropy)"},
	{"noise", DG_HP_CHOICE, "none", 0, 0, "none|mask|gauss|saltpepper",
	 "denoising AE: corrupt the encoder's training input (none: plain AE)"},
	{"noise_level", DG_HP_FLOAT, "0.25", 0, 100, NULL,
	 "mask, saltpepper: probability a pixel is hit; gauss: noise std dev"},
	{"contractive", DG_HP_FLOAT, "0", 0, 1e6, NULL,
	 "contractive AE: weight of the encoder's squared Jacobian norm (mlp)"},
	{0},
};

/* The scopes "enc" and "dec" and the bodies' shape. */
struct ae {
	uint64_t latent;
	int conv;
	struct dg_nn enc, dec;
	struct dg_nn_coder body;
};
#define CONV1 32
#define CONV2 64
#define A(m) ((struct ae *)(m)->priv)

/* Layers followed by a ReLU are He-uniform, the others (the code, the
 * MLP's output) Glorot-uniform; biases start at zero. */
static const struct dg_nn_opt he_init = {.struct_size = sizeof(struct dg_nn_opt),
					 .init = DG_NN_INIT_HE_UNIFORM};
static const struct dg_nn_opt glorot_init = {.struct_size = sizeof(struct dg_nn_opt),
					     .init = DG_NN_INIT_GLOROT_UNIFORM};

/* x -> the code: enc.conv1, enc.conv2 (conv), enc.fc1, enc.code; the
 * hidden layer's output (after its ReLU) in *hidden if not NULL. */
static dg_tensor encoder_h(struct dg_model *m, dg_tensor x, dg_tensor *hidden)
{
	struct ae *a = A(m);
	dg_tensor h = dg_nn_encoder(&a->enc, &a->body, x, DG_NONE);
	if (hidden)
		*hidden = h;
	return dg_nn_dense(&a->enc, "code", h, a->latent, &glorot_init);
}

static dg_tensor encoder(struct dg_model *m, dg_tensor x)
{
	return encoder_h(m, x, NULL);
}

/* ‖J_f(x)‖²_F per example (n) of the MLP encoder, from its hidden layer
 * h = relu(W1·x + b1) (n×hidden), in the closed form the file's head
 * derives.  h > 0 exactly where the pre-activation is, and the ReLU's
 * derivative at 0 is taken as 0, as PyTorch takes it. */
static dg_tensor jacobian_sq(struct dg_model *m, dg_tensor h)
{
	struct dg_graph *g = m->g;
	struct ae *a = A(m);
	uint64_t d = (uint64_t)m->channels * m->height * m->width, hid = a->body.hidden;
	struct dg_init none = {DG_INIT_ZEROS, 0, 0}; /* declared already: reused */
	dg_tensor w1 = dg_nn_param(&a->enc, "fc1.w", DG_SHAPE(hid, d), none);
	dg_tensor w2 = dg_nn_param(&a->enc, "code.w", DG_SHAPE(a->latent, hid), none);
	dg_tensor mm = dg_mul(g, dg_matmul(g, w1, w1, 0, 1), dg_matmul(g, w2, w2, 1, 0));
	dg_tensor on = dg_greater(g, h, dg_scalar(g, 0));
	return dg_sum(g, dg_mul(g, dg_matmul(g, on, mm, 0, 0), on), 2, 0);
}

/* z -> logits, n×(C·H·W): dec.fc1, then dec.out, or dec.fc2,
 * dec.deconv1, dec.deconv2. */
static dg_tensor decoder(struct dg_model *m, dg_tensor z)
{
	return dg_nn_decoder(&A(m)->dec, &A(m)->body, z, DG_NONE);
}

/* Reconstruction loss of x (n×C×H×W) by the logits, reduced by r. */
static dg_tensor recon(struct dg_model *m, dg_tensor logits, dg_tensor x, enum dg_reduction r)
{
	struct dg_graph *g = m->g;
	dg_tensor xf = dg_flatten(g, x);
	if (dg_model_str(m, "loss")[0] == 'b')
		return dg_bce_logits_loss(g, logits, xf, r);
	return dg_mse_loss(g, dg_sigmoid(g, logits), xf, r);
}

static int build(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	uint64_t h = (uint64_t)dg_model_int(m, "hidden");
	uint64_t l = (uint64_t)dg_model_int(m, "latent");
	struct ae *a = calloc(1, sizeof *a);
	if (!a)
		return dg_graph_fail(g, DG_ENOMEM, "out of memory");
	m->priv = a;
	int conv = dg_model_str(m, "arch")[0] == 'c';
	int noise = dg_nn_noise_kind(dg_model_str(m, "noise"));
	float level = (float)dg_model_float(m, "noise_level");
	float lambda = (float)dg_model_float(m, "contractive");
	if (conv && (m->height % 4 || m->width % 4 || !m->height || !m->width))
		return dg_graph_fail(g, DG_EUSAGE,
				     "arch=conv needs image sides divisible by 4 (got %ux%u); "
				     "use arch=mlp", m->height, m->width);
	if (conv && lambda > 0)
		return dg_graph_fail(g, DG_EUSAGE,
				     "contractive=%g needs arch=mlp: the exact Jacobian penalty is "
				     "the MLP encoder's closed form", (double)lambda);
	if (noise < 0)
		return dg_graph_fail(g, DG_EUSAGE, "noise=%s: unknown corruption",
				     dg_model_str(m, "noise"));
	a->latent = l;
	a->conv = conv;
	a->body = (struct dg_nn_coder){
		.struct_size = sizeof(struct dg_nn_coder),
		.channels = m->channels, .height = m->height, .width = m->width,
		.hidden = h,
		.conv = {conv ? CONV1 : 0, CONV2},
		.dense = &he_init, .convs = &he_init, .out = &glorot_init,
	};
	struct dg_nn root;
	dg_nn_init(&root, g, m->training);
	dg_nn_scope(&a->enc, &root, "enc");
	dg_nn_scope(&a->dec, &root, "dec");
	/* The encoder sees the corrupted image, the loss the clean one. */
	dg_tensor xin = dg_nn_corrupt(g, m->x, (enum dg_nn_noise)noise, level), hid;
	dg_tensor rec = recon(m, decoder(m, encoder_h(m, xin, &hid)), m->x, DG_SUM_MEAN_BATCH);
	dg_tensor loss = rec, jac = DG_NONE;
	if (lambda > 0) {
		jac = dg_mean(g, jacobian_sq(m, hid), DG_AXES_ALL, 0);
		loss = dg_add(g, rec, dg_mul_scalar(g, jac, lambda));
	}
	m->latent_dim = (unsigned)l;
	m->prior = DG_PRIOR_NONE;
	struct dg_phase *ph = dg_model_phase(m, "ae", loss, DG_GROUP(0));
	dg_model_term(m, ph, "loss", loss);
	dg_model_term(m, ph, "recon", rec);
	if (jac.id)
		dg_model_term(m, ph, "jac", jac);
	return dg_graph_status(g);
}

static int encode(struct dg_model *m, dg_tensor x, dg_tensor y, dg_tensor *mean,
		  dg_tensor *sample)
{
	(void)y;
	*mean = encoder(m, x);
	*sample = DG_NONE; /* deterministic: there is no posterior to draw from */
	return dg_graph_status(m->g);
}

static int decode(struct dg_model *m, dg_tensor z, dg_tensor y, dg_tensor *x)
{
	(void)y;
	int64_t shape[4] = {-1, m->channels, m->height, m->width};
	*x = dg_reshape(m->g, dg_sigmoid(m->g, decoder(m, z)), 4, shape);
	return dg_graph_status(m->g);
}

/* The reconstruction: x through the bottleneck. */
static int translate(struct dg_model *m, dg_tensor x, dg_tensor y, dg_tensor *out)
{
	return decode(m, encoder(m, x), y, out);
}

static int sample(struct dg_model *m, uint64_t n, float t, dg_tensor y, dg_tensor *out)
{
	(void)n, (void)t, (void)y;
	*out = DG_NONE;
	return dg_graph_fail(m->g, DG_EUSAGE,
			     "an autoencoder has no prior to sample from: its codes are points "
			     "its encoder chose, with no distribution over the latent space to "
			     "draw new ones from (codes drawn at random decode to garbage); "
			     "train a VAE (-p vae) to sample, or dg-encode real images and "
			     "decode or interpolate those codes");
}

/* Not a likelihood (no DG_CAP_LIKELIHOOD): the per-example reconstruction
 * error of the clean input, "rec", which dg-eval reports for an
 * autoencoder, and for the MLP "jac", ‖J_f(x)‖²_F (whatever contractive
 * is, so that plain and contractive models compare); k is unused. */
static int loglik(struct dg_model *m, dg_tensor x, dg_tensor y, unsigned k,
		  struct dg_term *out, unsigned *nout)
{
	(void)y, (void)k;
	struct dg_graph *g = m->g;
	dg_tensor h, logits = decoder(m, encoder_h(m, x, &h));
	dg_tensor xf = dg_flatten(g, x), e;
	if (dg_model_str(m, "loss")[0] == 'b') /* BCE: softplus(l) - x·l */
		e = dg_sub(g, dg_softplus(g, logits), dg_mul(g, xf, logits));
	else
		e = dg_square(g, dg_sub(g, dg_sigmoid(g, logits), xf));
	out[0] = (struct dg_term){"rec", dg_sum(g, e, 2, 0)};
	*nout = 1;
	if (!A(m)->conv)
		out[(*nout)++] = (struct dg_term){"jac", jacobian_sq(m, h)};
	return dg_graph_status(g);
}

static void release(struct dg_model *m)
{
	free(m->priv);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = sizeof(struct dg_family),
	.name = "ae",
	.summary = "deterministic autoencoder (MLP or conv; denoising, contractive); "
		   "encodes and decodes, cannot sample",
	.hparams = hparams,
	.caps = DG_CAP_ENCODE | DG_CAP_DECODE | DG_CAP_TRANSLATE,
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
