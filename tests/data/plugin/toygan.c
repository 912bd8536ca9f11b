/* toygan.c — a GAN on 2-D points, built out of tree by the tests to
 * exercise what ABI 2 gives families of several networks: two parameter
 * groups trained by phases of their own, each with a recommended
 * optimizer and rate; k critic steps per iteration on fresh batches; a
 * lazy R1 penalty every N iterations (a gradient of a gradient); an EMA
 * of the generator, which the inference tools use; terms measured in
 * their own phase; and, compiled with -DTOYGAN_INPUTS, two more data
 * inputs (a paired set and an unpaired one).
 *
 * Data: points (x, y) in [0,1]^2 stored as 1×1×2 images.  G maps a
 * 2-D normal code through one hidden layer to a point (sigmoid); D maps
 * a point through one hidden layer to a logit.  Losses: the
 * non-saturating GAN (Goodfellow et al. 2014): D minimizes
 * softplus(-D(x)) + softplus(D(G(z))), G minimizes softplus(-D(G(z))),
 * with z drawn anew in each phase. */
#include <dg.h>
#include <stdlib.h>

#ifndef TOYGAN_NAME
#define TOYGAN_NAME "toygan"
#endif

static const struct dg_hparam hparams[] = {
	{"hidden", DG_HP_INT, "16", 1, 4096, NULL, "units of G's and D's hidden layers"},
	{"critic_steps", DG_HP_INT, "1", 1, 100, NULL, "D steps per iteration"},
	{"r1_every", DG_HP_INT, "0", 0, 1000, NULL,
	 "a lazy R1 phase every N iterations (0: none)"},
	{"ema", DG_HP_FLOAT, "0", 0, 1, NULL, "decay of G's EMA (0: none)"},
	{0},
};

#ifdef TOYGAN_INPUTS
static const struct dg_input_decl toy_inputs[] = {
	{"x2", DG_INPUT_PAIRED, "1 - x for each point x"},
	{"b", DG_INPUT_UNPAIRED, "points of a second set"},
	{0},
};
#else
#define toy_inputs NULL
#endif

#define NZ 2

struct toy {
	dg_tensor g1w, g1b, g2w, g2b, d1w, d1b, d2w, d2b;
	struct dg_optim opt_d, opt_g;
};
#define T(m) ((struct toy *)(m)->priv)

static dg_tensor gen(struct dg_model *m, dg_tensor z)
{
	struct dg_graph *g = m->g;
	struct toy *t = T(m);
	dg_tensor h = dg_linear(g, z, t->g1w, t->g1b, DG_ACT_RELU, 0);
	dg_tensor p = dg_linear(g, h, t->g2w, t->g2b, DG_ACT_SIGMOID, 0);
	int64_t shape[4] = {-1, 1, 1, 2};
	return dg_reshape(g, p, 4, shape);
}

static dg_tensor disc(struct dg_model *m, dg_tensor x)
{
	struct dg_graph *g = m->g;
	struct toy *t = T(m);
	dg_tensor h = dg_linear(g, dg_flatten(g, x), t->d1w, t->d1b, DG_ACT_LEAKY_RELU, 0.2f);
	return dg_linear(g, h, t->d2w, t->d2b, DG_ACT_NONE, 0);
}

static dg_tensor noise(struct dg_model *m)
{
	return dg_random_normal(m->g, DG_SHAPE(m->batch, NZ));
}

static int build(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	uint64_t h = (uint64_t)dg_model_int(m, "hidden");
	struct dg_init w = {DG_INIT_HE_UNIFORM, 0, 0}, zero = {DG_INIT_ZEROS, 0, 0};
	struct toy *t = calloc(1, sizeof *t);
	if (!t)
		return dg_graph_fail(g, DG_ENOMEM, "out of memory");
	m->priv = t;
	if (m->channels != 1 || m->height != 1 || m->width != 2)
		return dg_graph_fail(g, DG_EUSAGE, "toygan takes points: 1x1x2 images, not "
				     "%ux%ux%u", m->channels, m->height, m->width);
	t->g1w = dg_param(g, "G.fc1.w", DG_SHAPE(h, NZ), w, 0);
	t->g1b = dg_param(g, "G.fc1.b", DG_SHAPE(h), zero, 0);
	t->g2w = dg_param(g, "G.out.w", DG_SHAPE(2, h), w, 0);
	t->g2b = dg_param(g, "G.out.b", DG_SHAPE(2), zero, 0);
	t->d1w = dg_param(g, "D.fc1.w", DG_SHAPE(h, 2), w, 1);
	t->d1b = dg_param(g, "D.fc1.b", DG_SHAPE(h), zero, 1);
	t->d2w = dg_param(g, "D.out.w", DG_SHAPE(1, h), w, 1);
	t->d2b = dg_param(g, "D.out.b", DG_SHAPE(1), zero, 1);
	m->latent_dim = NZ;
	m->prior = DG_PRIOR_GAUSSIAN;

	/* the critic: real points up, generated ones down */
	dg_tensor fake = dg_stop_gradient(g, gen(m, noise(m)));
	dg_tensor d_loss = dg_add(g, dg_mean(g, dg_softplus(g, dg_neg(g, disc(m, m->x))),
					    DG_AXES_ALL, 0),
				  dg_mean(g, dg_softplus(g, disc(m, fake)), DG_AXES_ALL, 0));
	struct dg_phase *pd = dg_model_phase(m, "critic", d_loss, DG_GROUP(1));
	t->opt_d = (struct dg_optim){.kind = DG_ADAM, .lr = 2e-3f, .beta1 = 0.5f, .beta2 = 0.999f};
	if (pd) {
		pd->steps = (unsigned)dg_model_int(m, "critic_steps");
		pd->optim = &t->opt_d;
	}
	dg_model_term(m, pd, "d_loss", d_loss);
#ifdef TOYGAN_INPUTS
	/* zero when x2 arrives paired with x; b is just fed */
	dg_tensor x2 = dg_model_input(m, "x2"), b = dg_model_input(m, "b");
	dg_tensor err = dg_abs(g, dg_sub(g, x2, dg_affine(g, m->x, -1, 1)));
	dg_model_term(m, pd, "pair_err", dg_max(g, err, DG_AXES_ALL, 0));
	dg_model_term(m, pd, "b_mean", dg_mean(g, b, DG_AXES_ALL, 0));
#endif

	/* the generator: its points scored as real */
	dg_tensor g_loss = dg_mean(g, dg_softplus(g, dg_neg(g, disc(m, gen(m, noise(m))))),
				   DG_AXES_ALL, 0);
	struct dg_phase *pg = dg_model_phase(m, "generator", g_loss, DG_GROUP(0));
	t->opt_g = (struct dg_optim){.kind = DG_ADAM, .lr = 1e-3f, .beta1 = 0.5f, .beta2 = 0.999f,
				     .ema_decay = (float)dg_model_float(m, "ema")};
	if (pg)
		pg->optim = &t->opt_g;
	dg_model_term(m, pg, "g_loss", g_loss);

	/* lazy R1 (Mescheder et al. 2018): γ/2 E‖∇x D(x)‖² on real points,
	 * every N iterations, scaled by N as StyleGAN2 does */
	long every = dg_model_int(m, "r1_every");
	if (every > 0) {
		dg_tensor xr = dg_stop_gradient(g, m->x);
		dg_tensor grad = dg_grad(g, dg_sum(g, disc(m, xr), DG_AXES_ALL, 0), xr);
		dg_tensor r1 = dg_mul_scalar(g, dg_sum(g, dg_square(g, grad), DG_AXES_ALL, 0),
					     0.5f * (float)every / (float)m->batch);
		struct dg_phase *pr = dg_model_phase(m, "r1", r1, DG_GROUP(1));
		if (pr) {
			pr->every = (unsigned)every;
			pr->optim = &t->opt_d;
		}
		dg_model_term(m, pr, "r1", r1);
	}
	return dg_graph_status(g);
}

static int decode(struct dg_model *m, dg_tensor z, dg_tensor y, dg_tensor *x)
{
	(void)y;
	*x = gen(m, z);
	return dg_graph_status(m->g);
}

static int sample(struct dg_model *m, uint64_t n, float t, dg_tensor y, dg_tensor *out)
{
	(void)y;
	*out = dg_mul_scalar(m->g, dg_random_normal(m->g, DG_SHAPE(n, NZ)), t);
	return dg_graph_status(m->g);
}

static void release(struct dg_model *m)
{
	free(m->priv);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = sizeof(struct dg_family),
	.name = TOYGAN_NAME,
	.summary = "a GAN on 2-D points, for tests",
	.hparams = hparams,
	.inputs = toy_inputs,
	.caps = DG_CAP_DECODE | DG_CAP_SAMPLE_LATENT,
	.build = build,
	.decode = decode,
	.sample = sample,
	.release = release,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
