/* tiny.c — a third-party-style family, built out of tree by t_plugin.c
 * against the installed headers and libdg only, to prove that a new
 * family needs no change to dg.  A linear autoencoder: x -> z -> x.
 *
 * Build: cc -shared -fPIC -o dg-tiny.so tiny.c $(pkg-config --cflags --libs dg)
 * TINY_NAME and TINY_SUMMARY may be overridden with -D so the test can make
 * look-alikes (a shadowing copy, a file whose name does not match). */
#include <stdlib.h>
#include <dg.h>

#ifndef TINY_NAME
#define TINY_NAME "tiny"
#endif
#ifndef TINY_SUMMARY
#define TINY_SUMMARY "a linear autoencoder for tests"
#endif

static const struct dg_hparam hparams[] = {
	{"hidden", DG_HP_INT, "2", 1, 64, NULL, "size of the code"},
	{"scale", DG_HP_FLOAT, "1", 0, 10, NULL, "multiplies the loss"},
	{"act", DG_HP_CHOICE, "linear", 0, 0, "linear|tanh", "activation of the code"},
	{"bias", DG_HP_BOOL, "no", 0, 0, NULL, "adds biases"},
	{"tag", DG_HP_STRING, "", 0, 0, NULL, "free text, unused"},
	{0},
};

/* The model's own state: its parameters' handles, which encode and
 * decode use on the same graph after build. */
struct tiny {
	dg_tensor w_enc, w_dec;
};
#define W_ENC(m) (((struct tiny *)(m)->priv)->w_enc)
#define W_DEC(m) (((struct tiny *)(m)->priv)->w_dec)

static dg_tensor enc(struct dg_model *m, dg_tensor x)
{
	struct dg_graph *g = m->g;
	dg_tensor z = dg_linear(g, dg_flatten(g, x), W_ENC(m), DG_NONE, DG_ACT_NONE, 0);
	if (dg_model_str(m, "act")[0] == 't')
		z = dg_tanh(g, z);
	return z;
}

static dg_tensor dec(struct dg_model *m, dg_tensor z)
{
	struct dg_graph *g = m->g;
	dg_tensor x = dg_sigmoid(g, dg_linear(g, z, W_DEC(m), DG_NONE, DG_ACT_NONE, 0));
	int64_t shape[4] = {-1, m->channels, m->height, m->width};
	return dg_reshape(g, x, 4, shape);
}

static int build(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	uint64_t d = (uint64_t)m->channels * m->height * m->width;
	uint64_t h = (uint64_t)dg_model_int(m, "hidden");
	struct dg_init init = {DG_INIT_GLOROT_UNIFORM, 0, 0};
	dg_tensor we = dg_param(g, "enc.w", DG_SHAPE(h, d), init, 0);
	dg_tensor wd = dg_param(g, "dec.w", DG_SHAPE(d, h), init, 0);
	struct tiny *t = malloc(sizeof *t);
	if (!t)
		return dg_graph_fail(g, DG_ENOMEM, "out of memory");
	*t = (struct tiny){we, wd};
	m->priv = t;
	dg_tensor rec = dg_mse_loss(g, dec(m, enc(m, m->x)), m->x, DG_MEAN);
	dg_tensor loss = dg_mul_scalar(g, rec, (float)dg_model_float(m, "scale"));
	m->latent_dim = (unsigned)h;
	m->prior = DG_PRIOR_NONE;
	struct dg_phase *ph = dg_model_phase(m, "ae", loss, DG_GROUP(0));
	dg_model_term(m, ph, "loss", loss);
	dg_model_term(m, ph, "rec", rec);
	return dg_graph_status(g);
}

static int encode(struct dg_model *m, dg_tensor x, dg_tensor y, dg_tensor *mean,
		  dg_tensor *sample)
{
	(void)y;
	*mean = enc(m, x);
	*sample = DG_NONE;
	return dg_graph_status(m->g);
}

static int decode(struct dg_model *m, dg_tensor z, dg_tensor y, dg_tensor *x)
{
	(void)y;
	*x = dec(m, z);
	return dg_graph_status(m->g);
}

/* No prior, so no sampling: the function exists only to say why. */
static int sample(struct dg_model *m, uint64_t n, float t, dg_tensor y, dg_tensor *out)
{
	(void)n, (void)t, (void)y;
	*out = DG_NONE;
	return dg_graph_fail(m->g, DG_EUSAGE, "an autoencoder has no prior to sample from");
}

static void release(struct dg_model *m)
{
	free(m->priv);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = sizeof(struct dg_family),
	.name = TINY_NAME,
	.summary = TINY_SUMMARY,
	.hparams = hparams,
	.caps = DG_CAP_ENCODE | DG_CAP_DECODE,
	.build = build,
	.encode = encode,
	.decode = decode,
	.sample = sample,
	.release = release,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
