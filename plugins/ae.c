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
 * cross-entropy, summed over pixels and averaged over the batch. */
#include <stdlib.h>
#include "dg/plugin.h"

static const struct dg_hparam hparams[] = {
	{"arch", DG_HP_CHOICE, "mlp", 0, 0, "mlp|conv",
	 "mlp, or conv (2 stride-2 convs each way; sides divisible by 4)"},
	{"hidden", DG_HP_INT, "400", 1, 65536, NULL,
	 "hidden units of the encoder and of the decoder"},
	{"latent", DG_HP_INT, "20", 1, 4096, NULL, "size of the code z (the bottleneck)"},
	{"loss", DG_HP_CHOICE, "mse", 0, 0, "mse|bce",
	 "mse (squared error) or bce (cross-entropy)"},
	{0},
};

struct layer {
	dg_tensor w, b;
};
struct ae {
	int conv;
	uint64_t fh, fw;           /* conv: feature map side after the encoder */
	struct layer conv1, conv2, fc1, code;      /* encoder */
	struct layer dfc1, dfc2, deconv1, deconv2, out; /* decoder */
};
#define CONV1 32
#define CONV2 64
#define A(m) ((struct ae *)(m)->priv)

static struct layer dense(struct dg_graph *g, const char *w, const char *b, uint64_t out,
			  uint64_t in, int relu)
{
	struct dg_init wi = {relu ? DG_INIT_HE_UNIFORM : DG_INIT_GLOROT_UNIFORM, 0, 0};
	struct dg_init zero = {DG_INIT_ZEROS, 0, 0};
	return (struct layer){dg_param(g, w, DG_SHAPE(out, in), wi, 0),
			      dg_param(g, b, DG_SHAPE(out), zero, 0)};
}

/* w: conv OC×IC×4×4, or transposed IC×OC×4×4 (same declaration). */
static struct layer conv(struct dg_graph *g, const char *w, const char *b, uint64_t a,
			 uint64_t c, uint64_t nbias)
{
	struct dg_init wi = {DG_INIT_HE_UNIFORM, 0, 0};
	struct dg_init zero = {DG_INIT_ZEROS, 0, 0};
	return (struct layer){dg_param(g, w, DG_SHAPE(a, c, 4, 4), wi, 0),
			      dg_param(g, b, DG_SHAPE(nbias), zero, 0)};
}

/* Declares every parameter, in an order fixed by the architecture. */
static void declare(struct dg_model *m, struct ae *a, uint64_t hidden, uint64_t latent)
{
	struct dg_graph *g = m->g;
	uint64_t d = (uint64_t)m->channels * m->height * m->width, flat = d;
	if (a->conv) {
		a->conv1 = conv(g, "enc.conv1.w", "enc.conv1.b", CONV1, m->channels, CONV1);
		a->conv2 = conv(g, "enc.conv2.w", "enc.conv2.b", CONV2, CONV1, CONV2);
		flat = CONV2 * a->fh * a->fw;
	}
	a->fc1 = dense(g, "enc.fc1.w", "enc.fc1.b", hidden, flat, 1);
	a->code = dense(g, "enc.code.w", "enc.code.b", latent, hidden, 0);
	a->dfc1 = dense(g, "dec.fc1.w", "dec.fc1.b", hidden, latent, 1);
	if (a->conv) {
		a->dfc2 = dense(g, "dec.fc2.w", "dec.fc2.b", flat, hidden, 1);
		a->deconv1 = conv(g, "dec.deconv1.w", "dec.deconv1.b", CONV2, CONV1, CONV1);
		a->deconv2 = conv(g, "dec.deconv2.w", "dec.deconv2.b", CONV1, m->channels,
				  m->channels);
	} else {
		a->out = dense(g, "dec.out.w", "dec.out.b", d, hidden, 0);
	}
}

static dg_tensor encoder(struct dg_model *m, dg_tensor x)
{
	struct dg_graph *g = m->g;
	struct ae *a = A(m);
	dg_tensor h = x;
	if (a->conv) {
		struct dg_conv p = {.stride = 2, .pad = 1};
		h = dg_relu(g, dg_conv2d(g, h, a->conv1.w, a->conv1.b, &p));
		h = dg_relu(g, dg_conv2d(g, h, a->conv2.w, a->conv2.b, &p));
	}
	h = dg_linear(g, dg_flatten(g, h), a->fc1.w, a->fc1.b, DG_ACT_RELU, 0);
	return dg_linear(g, h, a->code.w, a->code.b, DG_ACT_NONE, 0);
}

/* z -> logits, n×(C·H·W). */
static dg_tensor decoder(struct dg_model *m, dg_tensor z)
{
	struct dg_graph *g = m->g;
	struct ae *a = A(m);
	dg_tensor h = dg_linear(g, z, a->dfc1.w, a->dfc1.b, DG_ACT_RELU, 0);
	if (!a->conv)
		return dg_linear(g, h, a->out.w, a->out.b, DG_ACT_NONE, 0);
	struct dg_conv p = {.stride = 2, .pad = 1};
	h = dg_linear(g, h, a->dfc2.w, a->dfc2.b, DG_ACT_RELU, 0);
	int64_t map[4] = {-1, CONV2, (int64_t)a->fh, (int64_t)a->fw};
	h = dg_reshape(g, h, 4, map);
	h = dg_relu(g, dg_conv_transpose2d(g, h, a->deconv1.w, a->deconv1.b, &p));
	h = dg_conv_transpose2d(g, h, a->deconv2.w, a->deconv2.b, &p);
	return dg_flatten(g, h);
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
	a->conv = dg_model_str(m, "arch")[0] == 'c';
	a->fh = m->height / 4;
	a->fw = m->width / 4;
	if (a->conv && (m->height % 4 || m->width % 4 || !m->height || !m->width))
		return dg_graph_fail(g, DG_EUSAGE,
				     "arch=conv needs image sides divisible by 4 (got %ux%u); "
				     "use arch=mlp", m->height, m->width);
	declare(m, a, h, l);
	dg_tensor loss = recon(m, decoder(m, encoder(m, m->x)), m->x, DG_SUM_MEAN_BATCH);
	m->latent_dim = (unsigned)l;
	m->prior = DG_PRIOR_NONE;
	struct dg_phase *ph = dg_model_phase(m, "ae", loss, DG_GROUP(0));
	dg_model_term(m, ph, "loss", loss);
	dg_model_term(m, ph, "recon", loss);
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
 * error, "rec", which dg-eval reports for an autoencoder; k is unused. */
static int loglik(struct dg_model *m, dg_tensor x, dg_tensor y, unsigned k,
		  struct dg_term *out, unsigned *nout)
{
	(void)y, (void)k;
	struct dg_graph *g = m->g;
	dg_tensor logits = decoder(m, encoder(m, x));
	dg_tensor xf = dg_flatten(g, x), e;
	if (dg_model_str(m, "loss")[0] == 'b') /* BCE: softplus(l) - x·l */
		e = dg_sub(g, dg_softplus(g, logits), dg_mul(g, xf, logits));
	else
		e = dg_square(g, dg_sub(g, dg_sigmoid(g, logits), xf));
	out[0] = (struct dg_term){"rec", dg_sum(g, e, 2, 0)};
	*nout = 1;
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
	.summary = "deterministic autoencoder (MLP or conv); encodes and decodes, cannot sample",
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
