/* m2.c — the semi-supervised VAE (Kingma, Rezende, Mohamed & Welling,
 * NeurIPS 2014): M2, the class as a partly observed latent variable, and
 * M1+M2, M2 on the latent means of a trained M1 VAE.
 *
 * The model: p(y) uniform over K classes, p(z) = N(0, I), a decoder
 * p(x|y,z) (Bernoulli logits on [0,1] intensities; for M1+M2, a Gaussian
 * on M1's latent means with one learned variance per dimension), and two
 * inference networks: the classifier q(y|x) and the encoder
 * q(z|x,y) = N(mu(x,y), diag exp(logvar(x,y))).  For a labelled image
 *   L(x,y) = -E_q(z|x,y)[log p(x|y,z)] + KL(q(z|x,y) || p(z)) - log p(y),
 * the negative ELBO of (x, y); for an unlabelled one the class is summed
 * out under the classifier:
 *   U(x) = Σ_y q(y|x) L(x,y) - H(q(y|x)).
 * The loss of a batch is the mean over its images of L(x,y) + α·(-log
 * q(y|x)) for the labelled ones (label >= 0) and U(x) for the others
 * (label -1: dg-train --labels-per-class), one reparameterized z per
 * image and class.  Every image goes through the encoder and decoder
 * once per class (K passes, one matrix of K·n rows): a labelled image's
 * other K-1 bounds are computed and get no gradient.
 *
 * α: the paper weights the classification term by α = 0.1·N against an
 * objective summed over the N training images, so its average over the
 * labelled images counts 0.1 per image of the set.  Here the loss is a
 * mean over a batch whose labelled share is s, so the same balance is a
 * weight of 0.1/s per labelled image: dg-train --labels-per-class repeats
 * the labelled images to s ≈ 0.1, hence the default alpha = 1.
 *
 * M1+M2 (m1=FILE): FILE is a vae checkpoint (arch=mlp, not conditional);
 * its encoder's mean mu1(x) = enc.mu(relu(enc.fc1(x))) replaces x as the
 * data of M2, and its decoder maps M2's decoded means back to images.
 * M1's weights stay fixed: training reads them from FILE (as constants of
 * the graph) and copies them into buffers m1.*, saved in the checkpoint,
 * which inference uses, so the M2 checkpoint does not need FILE again.
 * m1_hidden and m1_latent give their shapes (checked against FILE).
 *
 * Parameters, in the order the loss first applies them: the buffers m1.*
 * (M1+M2), enc.fc1, enc.mu, enc.logvar, dec.fc1, dec.out (and dec.logvar
 * for M1+M2), then the classifier cls.fc1, cls.out.  Dense layers are
 * initialized as PyTorch's nn.Linear. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dg/array.h"
#include "dg/checkpoint.h"
#include "dg/nn.h"
#include "dg/plugin.h"
#include "dg/stream.h"

static const struct dg_hparam hparams[] = {
	{"hidden", DG_HP_INT, "500", 1, 65536, NULL,
	 "hidden units of the classifier, the encoder and the decoder"},
	{"latent", DG_HP_INT, "50", 1, 4096, NULL, "size of the latent code z"},
	{"alpha", DG_HP_FLOAT, "1", 0, 1e6, NULL,
	 "weight of -log q(y|x) per labelled image (1: the paper's 0.1 N at a "
	 "labelled share of 0.1)"},
	{"generative", DG_HP_BOOL, "1", 0, 0, NULL,
	 "0: train the classifier q(y|x) alone on the labelled images (the "
	 "supervised baseline of the same network), no encoder or decoder"},
	{"m1", DG_HP_STRING, "", 0, 0, NULL,
	 "M1+M2: a trained vae (arch=mlp) whose latent means M2 models"},
	{"m1_sample", DG_HP_BOOL, "0", 0, 0, NULL,
	 "M1+M2: train on a draw from M1's q(z1|x) at every step instead of its "
	 "mean (as the paper's code); inference uses the mean"},
	{"m1_hidden", DG_HP_INT, "400", 1, 65536, NULL, "M1's hidden units (its hidden=)"},
	{"m1_latent", DG_HP_INT, "20", 1, 4096, NULL, "M1's latent size (its latent=)"},
	{0},
};

/* The Gaussian decoder's log-variance range and storage scale (as the
 * vae family's: see plugins/vae.c). */
#define LOGVAR_MIN -7.0f
#define LOGVAR_MAX 2.0f
#define LOGVAR_SCALE 10.0f

/* M1's fixed layers, in the order of the buffers. */
enum { M1_ENC_FC1_W, M1_ENC_FC1_B, M1_ENC_MU_W, M1_ENC_MU_B, M1_DEC_FC1_W, M1_DEC_FC1_B,
       M1_DEC_OUT_W, M1_DEC_OUT_B, M1_N };
static const char *const m1_names[M1_N] = {
	"enc.fc1.w", "enc.fc1.b", "enc.mu.w", "enc.mu.b",
	"dec.fc1.w", "dec.fc1.b", "dec.out.w", "dec.out.b",
};

struct m2 {
	unsigned classes;
	uint64_t pixels, d, hidden, latent;  /* d: M2's data size (pixels, or M1's latent) */
	float alpha;
	int generative, m1, m1_sample;
	uint64_t m1_hidden, m1_latent;
	dg_tensor m1w[M1_N];                 /* M1's weights as used (constants or buffers) */
	dg_tensor m1buf[M1_N];               /* ... and as kept (buffers) */
	dg_tensor m1lv[2];                   /* M1's enc.logvar w, b (m1_sample) */
	struct dg_nn cls, enc, dec, root;
	struct dg_nn_coder body;
};
#define M(m) ((struct m2 *)(m)->priv)

static const struct dg_nn_opt torch_init = {.struct_size = sizeof(struct dg_nn_opt),
					    .init = DG_NN_INIT_TORCH};
static const struct dg_nn_opt relu_torch = {.struct_size = sizeof(struct dg_nn_opt),
					    .init = DG_NN_INIT_TORCH, .act = DG_ACT_RELU};

/* ---- M1 ----------------------------------------------------------------------- */

/* The shape of M1's tensor i. */
static void m1_shape(const struct m2 *s, int i, unsigned *rank, uint64_t *dims)
{
	uint64_t out[M1_N / 2] = {s->m1_hidden, s->m1_latent, s->m1_hidden, s->pixels};
	uint64_t in[M1_N / 2] = {s->pixels, s->m1_hidden, s->m1_latent, s->m1_hidden};
	*rank = i % 2 ? 1 : 2;
	dims[0] = out[i / 2];
	dims[1] = in[i / 2];
}

/* Declares M1's buffers.  Training: M1's weights from its checkpoint, as
 * constants (build() copies each into its buffer at every step, so that
 * the checkpoint keeps them); inference: the buffers. */
static int m1_weights(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	struct m2 *s = M(m);
	struct dg_checkpoint *ck = NULL;
	const char *path = dg_model_str(m, "m1");
	dg_tensor *buf = s->m1buf;
	for (int i = 0; i < M1_N; i++) {
		unsigned rank;
		uint64_t dims[2];
		m1_shape(s, i, &rank, dims);
		buf[i] = dg_nn_buffer(&s->root, m1_names[i], rank, dims,
				      (struct dg_init){DG_INIT_ZEROS, 0, 0});
		s->m1w[i] = buf[i];
	}
	if (!m->training || dg_graph_status(g))
		return dg_graph_status(g);
	if (dg_checkpoint_read(path, &ck))
		return dg_graph_fail(g, DG_EUSAGE, "m1=%s: %s", path, dg_errmsg());
	const struct dg_meta *mf = dg_checkpoint_cmeta(ck);
	const char *arch = dg_meta_get(mf, "hparam.arch"), *cond = dg_meta_get(mf, "hparam.conditional");
	if (strcmp(dg_checkpoint_family(ck), "vae") || !arch || strcmp(arch, "mlp") ||
	    (cond && strcmp(cond, "0"))) {
		dg_graph_fail(g, DG_EUSAGE, "m1=%s: M1 must be a vae of arch=mlp, not "
			      "conditional (this is %s%s%s)", path, dg_checkpoint_family(ck),
			      arch ? " arch=" : "", arch ? arch : "");
		dg_checkpoint_free(ck);
		return dg_graph_status(g);
	}
	for (int i = 0; i < M1_N && !dg_graph_status(g); i++) {
		char name[DG_NN_MAX_NAME + 8];
		unsigned rank;
		uint64_t dims[2];
		m1_shape(s, i, &rank, dims);
		snprintf(name, sizeof name, "params/%s", m1_names[i]);
		const struct dg_array *a = dg_checkpoint_tensor(ck, name);
		if (!a || a->dtype != DG_F32 || a->rank != rank || a->dims[0] != dims[0] ||
		    (rank == 2 && a->dims[1] != dims[1])) {
			dg_graph_fail(g, DG_EUSAGE, "m1=%s: %s is not f32 %llux%llu (an M1 of "
				      "m1_hidden=%llu m1_latent=%llu on %llu pixels; set them "
				      "as M1's hidden= and latent=)", path, m1_names[i],
				      (unsigned long long)dims[0],
				      (unsigned long long)(rank == 2 ? dims[1] : 1),
				      (unsigned long long)s->m1_hidden,
				      (unsigned long long)s->m1_latent,
				      (unsigned long long)s->pixels);
			break;
		}
		s->m1w[i] = dg_constant(g, rank, dims, a->data);
	}
	/* m1_sample: the encoder's log-variance head, needed in training only
	 * (inference takes the mean), so not kept in the buffers */
	for (int i = 0; s->m1_sample && i < 2 && !dg_graph_status(g); i++) {
		static const char *const lv[2] = {"params/enc.logvar.w", "params/enc.logvar.b"};
		uint64_t dims[2] = {s->m1_latent, s->m1_hidden};
		const struct dg_array *a = dg_checkpoint_tensor(ck, lv[i]);
		if (!a || a->dtype != DG_F32 || a->rank != (unsigned)(2 - i) ||
		    a->dims[0] != dims[0] || (!i && a->dims[1] != dims[1])) {
			dg_graph_fail(g, DG_EUSAGE, "m1=%s: %s is missing or not f32 of M1's "
				      "latent and hidden sizes", path, lv[i] + 7);
			break;
		}
		s->m1lv[i] = dg_constant(g, 2 - i, dims, a->data);
	}
	dg_checkpoint_free(ck);
	return dg_graph_status(g);
}

/* Images n×C×H×W -> M2's data n×d: the flat pixels, or M1's latent means
 * (with sample, a draw from M1's q(z1|x): fresh noise on the codes at
 * every step, which the paper's code trains on). */
static dg_tensor data_of(struct dg_model *m, dg_tensor x, int sample)
{
	struct dg_graph *g = m->g;
	struct m2 *s = M(m);
	dg_tensor h = dg_flatten(g, x);
	if (!s->m1)
		return h;
	h = dg_linear(g, h, s->m1w[M1_ENC_FC1_W], s->m1w[M1_ENC_FC1_B], DG_ACT_RELU, 0);
	dg_tensor mu = dg_linear(g, h, s->m1w[M1_ENC_MU_W], s->m1w[M1_ENC_MU_B], DG_ACT_NONE, 0);
	if (!sample)
		return mu;
	dg_tensor lv = dg_linear(g, h, s->m1lv[0], s->m1lv[1], DG_ACT_NONE, 0);
	dg_tensor eps = dg_random_normal(g, DG_SHAPE(dg_dim(g, x, 0), s->m1_latent));
	return dg_add(g, mu, dg_mul(g, dg_exp(g, dg_mul_scalar(g, lv, 0.5f)), eps));
}

/* ---- M2's networks --------------------------------------------------------------- */

/* q(y|x): data n×d -> logits n×K. */
static dg_tensor classifier(struct dg_model *m, dg_tensor xd)
{
	struct m2 *s = M(m);
	dg_tensor h = dg_nn_dense(&s->cls, "fc1", xd, s->hidden, &relu_torch);
	return dg_nn_dense(&s->cls, "out", h, s->classes, &torch_init);
}

/* q(z|x,y): data and one-hot rows -> mean and log-variance. */
static void encoder(struct dg_model *m, dg_tensor xd, dg_tensor oh, dg_tensor *mu,
		    dg_tensor *logvar)
{
	struct m2 *s = M(m);
	dg_tensor h = dg_nn_dense(&s->enc, "fc1", dg_concat(m->g, xd, oh, 1), s->hidden,
				  &relu_torch);
	*mu = dg_nn_dense(&s->enc, "mu", h, s->latent, &torch_init);
	*logvar = dg_nn_dense(&s->enc, "logvar", h, s->latent, &torch_init);
}

/* p(x|y,z): the decoder's output rows (logits, or M1+M2's means). */
static dg_tensor decoder(struct dg_model *m, dg_tensor z, dg_tensor oh)
{
	struct m2 *s = M(m);
	dg_tensor h = dg_nn_dense(&s->dec, "fc1", dg_concat(m->g, z, oh, 1), s->hidden,
				  &relu_torch);
	return dg_nn_dense(&s->dec, "out", h, s->d, &torch_init);
}

/* M1+M2's per-dimension log σ², bounded: dec.logvar. */
static dg_tensor out_logvar(struct dg_model *m)
{
	struct m2 *s = M(m);
	dg_tensor p = dg_nn_param(&s->dec, "logvar", DG_SHAPE(s->d),
				  (struct dg_init){DG_INIT_ZEROS, 0, 0});
	return dg_clamp(m->g, dg_mul_scalar(m->g, p, LOGVAR_SCALE), LOGVAR_MIN, LOGVAR_MAX);
}

/* -log p(x|y,z) per row, from the decoder's output and the data rows. */
static dg_tensor neg_log_px(struct dg_model *m, dg_tensor out, dg_tensor xd)
{
	struct dg_graph *g = m->g;
	if (!M(m)->m1) /* BCE(l, x) = log(1 + e^l) - x·l */
		return dg_sum(g, dg_sub(g, dg_softplus(g, out), dg_mul(g, xd, out)), 2, 0);
	dg_tensor lv = out_logvar(m);
	dg_tensor q = dg_mul(g, dg_square(g, dg_sub(g, xd, out)), dg_exp(g, dg_neg(g, lv)));
	dg_tensor e = dg_add_scalar(g, dg_add(g, q, lv), 1.8378770664093453f); /* log 2π */
	return dg_mul_scalar(g, dg_sum(g, e, 2, 0), 0.5f);
}

/* The n×K matrix of L(x,y) for every image and class: one matrix of K·n
 * rows (class-major: row c·n + i is image i with class c), one z each. */
static dg_tensor bounds(struct dg_model *m, dg_tensor xd)
{
	struct dg_graph *g = m->g;
	struct m2 *s = M(m);
	uint64_t n = dg_dim(g, xd, 0), k = s->classes;
	int64_t rows[2] = {(int64_t)(k * n), (int64_t)s->d};
	dg_tensor xk = dg_reshape(g, dg_expand(g, xd, DG_SHAPE(k, n, s->d)), 2, rows);
	float *cls = malloc(k * n * sizeof *cls);
	if (!cls) {
		dg_graph_fail(g, DG_ENOMEM, "out of memory");
		return DG_NONE;
	}
	for (uint64_t i = 0; i < k * n; i++)
		cls[i] = (float)(i / n);
	dg_tensor oh = dg_one_hot(g, dg_constant(g, DG_SHAPE(k * n), cls), (unsigned)k);
	free(cls);
	dg_tensor mu, logvar;
	encoder(m, xk, oh, &mu, &logvar);
	dg_tensor eps = dg_random_normal(g, DG_SHAPE(k * n, s->latent));
	dg_tensor z = dg_add(g, mu, dg_mul(g, dg_exp(g, dg_mul_scalar(g, logvar, 0.5f)), eps));
	dg_tensor rec = neg_log_px(m, decoder(m, z, oh), xk);
	dg_tensor t = dg_sub(g, dg_add(g, dg_square(g, mu), dg_exp(g, logvar)),
			     dg_add_scalar(g, logvar, 1));
	dg_tensor kl = dg_mul_scalar(g, dg_sum(g, t, 2, 0), 0.5f);
	/* - log p(y) = log K */
	dg_tensor l = dg_add_scalar(g, dg_add(g, rec, kl), logf((float)k));
	int64_t kn[2] = {(int64_t)k, (int64_t)n};
	return dg_transpose(g, dg_reshape(g, l, 2, kn));
}

/* ---- the family's functions -------------------------------------------------------- */

static int configure(struct dg_model *m, struct m2 *s)
{
	struct dg_graph *g = m->g;
	if (!m->classes)
		return dg_graph_fail(g, DG_EUSAGE, "M2 needs labelled data (a class count), "
				     "even if dg-train --labels-per-class keeps few labels");
	s->classes = m->classes;
	s->pixels = (uint64_t)m->channels * m->height * m->width;
	s->hidden = (uint64_t)dg_model_int(m, "hidden");
	s->latent = (uint64_t)dg_model_int(m, "latent");
	s->alpha = (float)dg_model_float(m, "alpha");
	s->generative = dg_model_bool(m, "generative");
	s->m1 = dg_model_str(m, "m1")[0] != 0;
	s->m1_sample = s->m1 && dg_model_bool(m, "m1_sample");
	s->m1_hidden = (uint64_t)dg_model_int(m, "m1_hidden");
	s->m1_latent = (uint64_t)dg_model_int(m, "m1_latent");
	s->d = s->m1 ? s->m1_latent : s->pixels;
	dg_nn_init(&s->root, g, m->training);
	dg_nn_scope(&s->cls, &s->root, "cls");
	dg_nn_scope(&s->enc, &s->root, "enc");
	dg_nn_scope(&s->dec, &s->root, "dec");
	dg_nn_scope(&s->root, &s->root, "m1");
	return dg_graph_status(g);
}


/* One-hot rows of labels y (i32, -1: unlabelled) -> n×K, zero rows for
 * the unlabelled; *lab: n, 1 where labelled. */
static dg_tensor labels_one_hot(struct dg_model *m, dg_tensor y, dg_tensor *lab)
{
	struct dg_graph *g = m->g;
	dg_tensor yf = dg_cast(g, y, 1);
	*lab = dg_greater_equal(g, yf, dg_scalar(g, 0));
	dg_tensor ysafe = dg_where(g, *lab, yf, dg_scalar(g, 0));
	int64_t col[2] = {-1, 1};
	return dg_mul(g, dg_one_hot(g, ysafe, M(m)->classes), dg_reshape(g, *lab, 2, col));
}

/* Per image: *lab_bound L(x,y) and *lab_cls -log q(y|x) for labelled
 * images (0 for the others), *unl U(x) for all; logp: log q(y|x); *l
 * the n×K matrix of L(x,y). */
static void objectives(struct dg_model *m, dg_tensor xd, dg_tensor oh, dg_tensor *logp,
		       dg_tensor *lab_bound, dg_tensor *lab_cls, dg_tensor *unl, dg_tensor *lb)
{
	struct dg_graph *g = m->g;
	dg_tensor l = *lb = bounds(m, xd);
	*logp = dg_log_softmax(g, classifier(m, xd));
	dg_tensor q = dg_exp(g, *logp);
	*lab_bound = dg_sum(g, dg_mul(g, oh, l), 2, 0);
	*lab_cls = dg_neg(g, dg_sum(g, dg_mul(g, oh, *logp), 2, 0));
	/* Σ q L - H(q) = Σ q (L + log q) */
	*unl = dg_sum(g, dg_mul(g, q, dg_add(g, l, *logp)), 2, 0);
}

/* The accuracy of logits on the labelled images of the batch (0 when
 * there are none). */
static dg_tensor labelled_accuracy(struct dg_model *m, dg_tensor logp, dg_tensor lab,
				   dg_tensor nlab)
{
	struct dg_graph *g = m->g;
	dg_tensor right = dg_mul(g, lab, dg_equal(g, dg_argmax(g, logp), dg_cast(g, m->y, 1)));
	return dg_div(g, dg_sum(g, right, DG_AXES_ALL, 0), dg_clamp(g, nlab, 1, INFINITY));
}

/* generative=0: q(y|x) alone, the mean of -log q(y|x) over the labelled
 * images of the batch (the unlabelled ones count for nothing): the same
 * network, initialization, data and optimizer as M2's classifier. */
static int supervised(struct dg_model *m, dg_tensor xd, dg_tensor oh, dg_tensor lab)
{
	struct dg_graph *g = m->g;
	dg_tensor logp = dg_log_softmax(g, classifier(m, xd));
	dg_tensor nlab = dg_sum(g, lab, DG_AXES_ALL, 0);
	dg_tensor ce = dg_neg(g, dg_sum(g, dg_mul(g, oh, logp), DG_AXES_ALL, 0));
	dg_tensor loss = dg_div(g, ce, dg_clamp(g, nlab, 1, INFINITY));
	struct dg_phase *ph = dg_model_phase(m, "m2", loss, DG_GROUP(0));
	dg_model_term(m, ph, "loss", loss);
	dg_model_term(m, ph, "labelled", dg_mean(g, lab, DG_AXES_ALL, 0));
	dg_model_term(m, ph, "accuracy", labelled_accuracy(m, logp, lab, nlab));
	return dg_graph_status(g);
}

static int build(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	struct m2 *s = calloc(1, sizeof *s);
	if (!s)
		return dg_graph_fail(g, DG_ENOMEM, "out of memory");
	m->priv = s;
	if (configure(m, s) || (s->m1 && m1_weights(m)))
		return dg_graph_status(g);
	m->latent_dim = (unsigned)s->latent;
	m->prior = DG_PRIOR_GAUSSIAN;

	dg_tensor xd = data_of(m, m->x, s->m1_sample && m->training), lab, logp, lab_bound,
		  lab_cls, unl, l;
	for (int i = 0; s->m1 && m->training && i < M1_N; i++)
		dg_assign(g, s->m1buf[i], s->m1w[i], xd);
	dg_tensor oh = labels_one_hot(m, m->y, &lab);
	if (!s->generative)
		return supervised(m, xd, oh, lab);
	objectives(m, xd, oh, &logp, &lab_bound, &lab_cls, &unl, &l);
	dg_tensor unlab = dg_affine(g, lab, -1, 1);
	dg_tensor bound = dg_add(g, lab_bound, dg_mul(g, unlab, unl));
	dg_tensor loss = dg_mean(g, dg_add(g, bound, dg_mul_scalar(g, lab_cls, s->alpha)),
				 DG_AXES_ALL, 0);
	/* the labelled images' share of the batch, and the classifier's
	 * accuracy on them (0 in a batch without any) */
	dg_tensor acc = labelled_accuracy(m, logp, lab, dg_sum(g, lab, DG_AXES_ALL, 0));
	struct dg_phase *ph = dg_model_phase(m, "m2", loss, DG_GROUP(0));
	dg_model_term(m, ph, "loss", loss);
	dg_model_term(m, ph, "bound", dg_mean(g, bound, DG_AXES_ALL, 0));
	dg_model_term(m, ph, "labelled", dg_mean(g, lab, DG_AXES_ALL, 0));
	dg_model_term(m, ph, "accuracy", acc);
	return dg_graph_status(g);
}

/* The class to condition on: y where given, else the classifier's. */
static dg_tensor class_of(struct dg_model *m, dg_tensor xd, dg_tensor y)
{
	if (y.id)
		return dg_one_hot(m->g, y, M(m)->classes);
	return dg_one_hot(m->g, dg_argmax(m->g, classifier(m, xd)), M(m)->classes);
}

/* Refuses to encode, decode or sample with a model of generative=0. */
static int no_generator(struct dg_model *m)
{
	return dg_graph_fail(m->g, DG_EUSAGE, "this m2 model was trained with generative=0: "
			     "a classifier alone, without an encoder or a decoder");
}

/* q(z|x,y)'s mean and a draw; without labels, y is q(y|x)'s likeliest. */
static int encode(struct dg_model *m, dg_tensor x, dg_tensor y, dg_tensor *mean,
		  dg_tensor *sample)
{
	struct dg_graph *g = m->g;
	if (!M(m)->generative)
		return no_generator(m);
	dg_tensor xd = data_of(m, x, 0), logvar;
	encoder(m, xd, class_of(m, xd, y), mean, &logvar);
	dg_tensor eps = dg_random_normal(g, DG_SHAPE(dg_dim(g, x, 0), M(m)->latent));
	*sample = dg_add(g, *mean, dg_mul(g, dg_exp(g, dg_mul_scalar(g, logvar, 0.5f)), eps));
	return dg_graph_status(g);
}

/* The mean image of p(x|y,z) (M1+M2: M1's mean image of M2's mean code). */
static int decode(struct dg_model *m, dg_tensor z, dg_tensor y, dg_tensor *x)
{
	struct dg_graph *g = m->g;
	struct m2 *s = M(m);
	if (!s->generative)
		return no_generator(m);
	if (!y.id)
		return dg_graph_fail(g, DG_EUSAGE, "M2 decodes a class and a code: give a "
				     "class for each item (dg-sample --class)");
	dg_tensor out = decoder(m, z, dg_one_hot(g, y, s->classes));
	if (s->m1) {
		out = dg_linear(g, out, s->m1w[M1_DEC_FC1_W], s->m1w[M1_DEC_FC1_B],
				DG_ACT_RELU, 0);
		out = dg_linear(g, out, s->m1w[M1_DEC_OUT_W], s->m1w[M1_DEC_OUT_B],
				DG_ACT_NONE, 0);
	}
	int64_t shape[4] = {-1, m->channels, m->height, m->width};
	*x = dg_reshape(g, dg_sigmoid(g, out), 4, shape);
	return dg_graph_status(g);
}

/* Codes from the prior N(0, t²I); dg-decode takes the class. */
static int sample(struct dg_model *m, uint64_t n, float t, dg_tensor y, dg_tensor *out)
{
	(void)y;
	if (!M(m)->generative)
		return no_generator(m);
	*out = dg_mul_scalar(m->g, dg_random_normal(m->g, DG_SHAPE(n, M(m)->latent)), t);
	return dg_graph_status(m->g);
}

/* Per image, in nats: "nelbo" U(x), the bound on -log p(x) with the class
 * summed out (for M1+M2 a bound on M1's code, not the pixels), one z per
 * class; with labels "nll" -log q(y|x) and "correct", 1 when q(y|x)'s
 * likeliest class is y (dg-eval reports its mean as the accuracy); and
 * "entropy" of q(y|x); and with labels "gen_correct", 1 when the class
 * whose bound L(x,y) is lowest is y: whether the generative model itself
 * tells the classes apart, which is what the unlabelled term teaches
 * q(y|x) (one z per class, so a noisy answer).  k is unused.  With
 * generative=0, no "nelbo" and no "gen_correct". */
static int loglik(struct dg_model *m, dg_tensor x, dg_tensor y, unsigned k,
		  struct dg_term *out, unsigned *nout)
{
	(void)k;
	struct dg_graph *g = m->g;
	dg_tensor xd = data_of(m, x, 0), logp, lab_bound, lab_cls, unl, l;
	unsigned n = 0;
	if (M(m)->generative) {
		dg_tensor none = dg_full(g, DG_SHAPE(dg_dim(g, x, 0), M(m)->classes), 0);
		objectives(m, xd, none, &logp, &lab_bound, &lab_cls, &unl, &l);
		out[n++] = (struct dg_term){"nelbo", unl};
		if (y.id)
			out[n++] = (struct dg_term){"gen_correct",
						    dg_equal(g, dg_argmax(g, dg_neg(g, l)),
							     dg_cast(g, y, 1))};
	} else {
		logp = dg_log_softmax(g, classifier(m, xd));
	}
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
	.name = "m2",
	.summary = "semi-supervised VAE (Kingma et al. 2014): M2, and M1+M2 on a trained "
		   "vae's codes; trains with dg-train --labels-per-class",
	.hparams = hparams,
	.caps = DG_CAP_ENCODE | DG_CAP_DECODE | DG_CAP_SAMPLE_LATENT | DG_CAP_LIKELIHOOD |
		DG_CAP_CONDITIONAL | DG_CAP_PARTIAL_LABELS,
	.build = build,
	.encode = encode,
	.decode = decode,
	.sample = sample,
	.loglik = loglik,
	.release = release,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
