/* project.c — GAN inversion (dg_inference_project): codes found by
 * gradient descent on the code through the family's decoder, as a step
 * graph (loss, gradient, Adam update) run repeatedly on the device.
 *
 * The step graph, on the model's graph, for a batch of B rows:
 *   z, m, v      variables B×L: the codes and Adam's moments
 *   x            input B×C×H×W, the images to reproduce (y: labels)
 *   c1, c2       input scalars fed each step: lr/(1-β1^t), 1/√(1-β2^t)
 *   img = decode(z); err = mean over C,H,W of (img - x)²   (B)
 *   loss = Σ err [+ Σ img·gimg]; g = ∇z loss (dg_grad)
 *   m' = β1 m + (1-β1) g; v' = β2 v + (1-β2) g²
 *   z' = z - c1 m' / (c2 √v' + ε), assigned to z, m', v' to m, v.
 * The loss sums over rows, so each code's gradient is its own image's.
 * With a feature extractor (a classifier, on its own model's graph), the
 * feature term's gradient with respect to the decoded image, gimg, comes
 * from that graph: each step decodes z (a forward run), the classifier's
 * graph gives ∇img of w/F ‖φ(img) - φ(x)‖², and the step graph takes it
 * as an input, so Σ img·gimg carries it on to z by the chain rule.  That
 * costs one image batch each way between the two graphs per step; a
 * model's parameters cannot join another model's graph. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg/error.h"
#include "dg/graph.h"
#include "run/inference_int.h"

#define BETA1 0.9f
#define BETA2 0.999f
#define EPS 1e-8f
#define DEFAULT_LR 0.05f

struct dg__project {
	struct dg_inference *features;
	float lr, weight;
	int with_y;
	uint64_t batch, latent, per;
	char z[48], m[48], v[48], x[48], y[48], c1[48], c2[48], gimg[48], img[48], fx[48];
	struct dg_exec *step;    /* outputs: err (B), z' */
	struct dg_exec *fwd;     /* features: decode(z) */
	struct dg_exec *feat;    /* features: gimg (B×C×H×W), on the classifier's graph */
	float *buf, *img_buf;    /* a padded chunk of images; a decoded batch */
	int32_t *ybuf;
	struct dg_array *zero;   /* B×L zeros, to reset the moments */
};

void dg__project_free(struct dg__project *p)
{
	if (!p)
		return;
	dg_exec_free(p->step);
	dg_exec_free(p->fwd);
	dg_exec_free(p->feat);
	dg_array_free(p->zero);
	free(p->buf);
	free(p->img_buf);
	free(p->ybuf);
	free(p);
}

static unsigned long next_seq(void)
{
	static unsigned long seq;
	return __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
}

static int graph_error(struct dg_graph *g, const char *what)
{
	return dg_error(dg_graph_status(g), "projection: %s: %s", what, dg_graph_error(g));
}

/* The feature term's graph, on the classifier's model: inputs img and x
 * (B×C×H×W), output ∇img of w/F Σ_rows ‖φ(img) - φ(x)‖². */
static int build_features(struct dg__project *p, const struct dg_model_info *mi)
{
	struct dg_model *mc = dg__inference_model(p->features);
	const struct dg_model_info *ci = dg_inference_info(p->features);
	struct dg_graph *g = mc->g;
	uint64_t b = p->batch;
	dg_tensor img = dg_input(g, p->img, DG_F32, DG_SHAPE(b, mi->channels, mi->height, mi->width));
	dg_tensor x = dg_input(g, p->fx, DG_F32, DG_SHAPE(b, mi->channels, mi->height, mi->width));
	dg_tensor fi = DG_NONE, fx = DG_NONE, li, lx;
	if (dg_graph_status(g))
		return graph_error(g, "the classifier's inputs");
	int st = ci->family->classify(mc, img, &fi, &li);
	if (!st)
		st = ci->family->classify(mc, x, &fx, &lx);
	if (st || dg_graph_status(g))
		return graph_error(g, "the classifier's features");
	uint64_t nf = dg_dim(g, fi, 1);
	dg_tensor d = dg_sum(g, dg_square(g, dg_sub(g, fi, dg_stop_gradient(g, fx))), DG_AXES_ALL, 0);
	dg_tensor gimg = dg_grad(g, dg_mul_scalar(g, d, p->weight / (float)nf), img);
	if (dg_graph_status(g))
		return graph_error(g, "the features' gradient");
	return dg_compile(g, ci->device, 1, &gimg, 0, NULL, &p->feat);
}

static int build(struct dg_inference *inf, const struct dg_project_options *opt, int with_y,
		 struct dg__project **out)
{
	const struct dg_model_info *mi = dg_inference_info(inf);
	struct dg_model *m = dg__inference_model(inf);
	struct dg_graph *g = m->g;
	struct dg__project *p = calloc(1, sizeof *p);
	int st;

	if (!p)
		return dg_error_nomem("a projection", sizeof *p);
	*out = p;
	p->features = opt->features;
	p->lr = opt->lr > 0 ? opt->lr : DEFAULT_LR;
	p->weight = opt->feature_weight > 0 ? opt->feature_weight : 1;
	p->with_y = with_y;
	p->batch = mi->batch;
	p->latent = mi->latent_dim;
	p->per = (uint64_t)mi->channels * mi->height * mi->width;
	unsigned long seq = next_seq();
	const char *role[] = {"z", "m", "v", "x", "y", "c1", "c2", "gimg", "img", "fx"};
	char *name[] = {p->z, p->m, p->v, p->x, p->y, p->c1, p->c2, p->gimg, p->img, p->fx};
	for (size_t i = 0; i < sizeof role / sizeof *role; i++)
		snprintf(name[i], 48, "project%lu.%s", seq, role[i]);
	uint64_t b = p->batch, l = p->latent;
	if (!(p->buf = malloc(b * p->per * sizeof *p->buf)) ||
	    !(p->img_buf = malloc(b * p->per * sizeof *p->img_buf)) ||
	    !(p->ybuf = calloc(b, sizeof *p->ybuf)) ||
	    !(p->zero = dg_array_new(DG_F32, 2, (const uint64_t[]){b, l})))
		return dg_error_nomem("a projection batch", b * p->per * sizeof(float));

	dg_tensor z = dg_variable(g, p->z, DG_SHAPE(b, l));
	dg_tensor mm = dg_variable(g, p->m, DG_SHAPE(b, l));
	dg_tensor vv = dg_variable(g, p->v, DG_SHAPE(b, l));
	dg_tensor x = dg_input(g, p->x, DG_F32, DG_SHAPE(b, mi->channels, mi->height, mi->width));
	dg_tensor y = with_y ? dg_input(g, p->y, DG_I32, DG_SHAPE(b)) : DG_NONE;
	dg_tensor c1 = dg_input(g, p->c1, DG_F32, 0, NULL);
	dg_tensor c2 = dg_input(g, p->c2, DG_F32, 0, NULL);
	dg_tensor img = DG_NONE;
	if (dg_graph_status(g))
		return graph_error(g, "its variables");
	if ((st = mi->family->decode(m, z, y, &img)) || dg_graph_status(g))
		return graph_error(g, "the family's decode");
	if (dg_count(g, img) != b * p->per)
		return dg_error(DG_EINTERNAL, "projection: decode gave %llu values, not %llu "
				"images", (unsigned long long)dg_count(g, img),
				(unsigned long long)b);
	int64_t shape[4] = {(int64_t)b, mi->channels, mi->height, mi->width};
	img = dg_reshape(g, img, 4, shape);
	dg_tensor err = dg_mean(g, dg_square(g, dg_sub(g, img, x)), 0xeu, 0);
	dg_tensor loss = dg_sum(g, err, DG_AXES_ALL, 0);
	if (p->features) {
		dg_tensor gimg = dg_input(g, p->gimg, DG_F32, 4, (const uint64_t[]){b, mi->channels,
						     mi->height, mi->width});
		loss = dg_add(g, loss, dg_sum(g, dg_mul(g, img, gimg), DG_AXES_ALL, 0));
	}
	dg_tensor gz = dg_grad(g, loss, z);
	dg_tensor m2 = dg_add(g, dg_mul_scalar(g, mm, BETA1), dg_mul_scalar(g, gz, 1 - BETA1));
	dg_tensor v2 = dg_add(g, dg_mul_scalar(g, vv, BETA2),
			      dg_mul_scalar(g, dg_square(g, gz), 1 - BETA2));
	dg_tensor den = dg_add_scalar(g, dg_mul(g, dg_sqrt(g, v2), c2), EPS);
	dg_tensor z2 = dg_sub(g, z, dg_div(g, dg_mul(g, m2, c1), den));
	dg_assign(g, z, z2, z2);
	dg_assign(g, mm, m2, z2);
	dg_assign(g, vv, v2, z2);
	if (dg_graph_status(g))
		return graph_error(g, "the step");
	dg_tensor outs[2] = {err, z2};
	if ((st = dg_compile(g, mi->device, 2, outs, 0, NULL, &p->step)))
		return st;
	if (p->features &&
	    ((st = dg_compile(g, mi->device, 1, &img, 0, NULL, &p->fwd)) ||
	     (st = build_features(p, mi))))
		return st;
	return DG_OK;
}

/* The start codes: the encoder's, a prior draw, or zeros. */
static int start(struct dg_inference *inf, uint64_t n, const float *x, const int32_t *y,
		 struct dg_array **z0)
{
	const struct dg_model_info *mi = dg_inference_info(inf);
	unsigned caps = mi->family->caps;
	*z0 = NULL;
	if ((caps & DG_CAP_ENCODE) && mi->family->encode)
		return dg_inference_encode(inf, n, x, y, z0, NULL);
	if ((caps & DG_CAP_SAMPLE_LATENT) && mi->family->sample)
		return dg_inference_sample(inf, n, 1, y, z0);
	if (!(*z0 = dg_array_new(DG_F32, 2, (const uint64_t[]){n, mi->latent_dim})))
		return DG_ENOMEM;
	return DG_OK;
}

/* Rows [0, k) of src into the batch-sized buf, zeros after. */
static void pad(void *buf, const void *src, uint64_t k, uint64_t b, size_t row)
{
	memcpy(buf, src, k * row);
	memset((char *)buf + k * row, 0, (b - k) * row);
}

/* One chunk of k <= B rows. */
static int chunk(struct dg__project *p, struct dg_graph *g, uint64_t k, const float *x,
		 const int32_t *y, const float *z0, uint64_t steps, float *z, float *err)
{
	uint64_t b = p->batch, l = p->latent;
	size_t xrow = p->per * sizeof(float);
	struct dg_array *res = NULL;
	float *e = NULL;
	int st;

	pad(p->zero->data, z0, k, b, l * sizeof(float));
	st = dg_var_set(g, p->z, p->zero);
	memset(p->zero->data, 0, b * l * sizeof(float));
	if (!st)
		st = dg_var_set(g, p->m, p->zero);
	if (!st)
		st = dg_var_set(g, p->v, p->zero);
	pad(p->buf, x, k, b, xrow);
	if (!st)
		st = dg_exec_feed(p->step, p->x, DG_F32, p->buf, b * p->per);
	if (!st && p->feat)
		st = dg_exec_feed(p->feat, p->fx, DG_F32, p->buf, b * p->per);
	if (!st && p->with_y) {
		pad(p->ybuf, y, k, b, sizeof(int32_t));
		st = dg_exec_feed(p->step, p->y, DG_I32, p->ybuf, b);
		if (!st && p->fwd)
			st = dg_exec_feed(p->fwd, p->y, DG_I32, p->ybuf, b);
	}
	for (uint64_t t = 1; !st && t <= steps; t++) {
		float c1 = p->lr / (1 - powf(BETA1, (float)t));
		float c2 = 1 / sqrtf(1 - powf(BETA2, (float)t));
		if (p->feat) {
			/* ∇img of the feature term at the current decoding */
			if ((st = dg_exec_run(p->fwd)) ||
			    (st = dg_exec_read(p->fwd, 0, p->img_buf, b * p->per)) ||
			    (st = dg_exec_feed(p->feat, p->img, DG_F32, p->img_buf, b * p->per)) ||
			    (st = dg_exec_run(p->feat)) ||
			    (st = dg_exec_read(p->feat, 0, p->img_buf, b * p->per)) ||
			    (st = dg_exec_feed(p->step, p->gimg, DG_F32, p->img_buf, b * p->per)))
				break;
		}
		if ((st = dg_exec_feed(p->step, p->c1, DG_F32, &c1, 1)) ||
		    (st = dg_exec_feed(p->step, p->c2, DG_F32, &c2, 1)))
			break;
		st = dg_exec_run(p->step);
	}
	if (!st && err) {
		if (!(e = malloc(b * sizeof *e)))
			return dg_error_nomem("errors", b * sizeof *e);
		if (!(st = dg_exec_read(p->step, 0, e, b)))
			memcpy(err, e, k * sizeof *e);
		free(e);
	}
	if (!st && !(st = dg_var_get(g, p->z, &res))) {
		memcpy(z, res->data, k * l * sizeof(float));
		dg_array_free(res);
	}
	return st;
}

int dg_inference_project(struct dg_inference *inf, uint64_t n, const float *x,
			 const int32_t *y, const struct dg_project_options *opt,
			 struct dg_array **z, struct dg_array **err)
{
	const struct dg_model_info *mi = dg_inference_info(inf);
	struct dg__project **slot = dg__inference_project_slot(inf), *p = *slot;
	struct dg_array *z0 = NULL;
	int with_y = y && mi->conditional, st;

	*z = NULL;
	if (err)
		*err = NULL;
	if (!(mi->family->caps & DG_CAP_DECODE) || !mi->family->decode || !mi->latent_dim)
		return dg_error(DG_EUSAGE, "model family %s does not decode latent codes: there "
				"is nothing to project onto", mi->family->name);
	if (!opt || !opt->steps)
		return dg_error(DG_EUSAGE, "projection: the number of steps must be positive");
	if (opt->features) {
		const struct dg_model_info *ci = dg_inference_info(opt->features);
		if (!(ci->family->caps & DG_CAP_CLASSIFY) || !ci->family->classify)
			return dg_error(DG_EUSAGE, "projection features: family %s is no "
					"classifier (train one with dg-train -p classifier)",
					ci->family->name);
		if (ci->channels != mi->channels || ci->height != mi->height ||
		    ci->width != mi->width)
			return dg_error(DG_EUSAGE, "projection features: the classifier takes "
					"%ux%ux%u images, the model makes %ux%ux%u",
					ci->channels, ci->height, ci->width, mi->channels,
					mi->height, mi->width);
	}
	if (mi->conditional && !y)
		return dg_error(DG_EUSAGE, "projection: the model is conditional and the "
				"images have no labels");
	/* a projection built for other options is rebuilt */
	if (p && (p->features != opt->features || p->with_y != with_y ||
		  p->lr != (opt->lr > 0 ? opt->lr : DEFAULT_LR) ||
		  p->weight != (opt->feature_weight > 0 ? opt->feature_weight : 1))) {
		dg__project_free(p);
		*slot = p = NULL;
	}
	if (!p) {
		st = build(inf, opt, with_y, &p);
		if (st) {
			dg__project_free(p);
			return st;
		}
		*slot = p;
	}
	if ((st = start(inf, n, x, with_y ? y : NULL, &z0)))
		return st;
	if (!(*z = dg_array_new(DG_F32, 2, (const uint64_t[]){n, p->latent})) ||
	    (err && !(*err = dg_array_new(DG_F32, 1, (const uint64_t[]){n}))))
		st = DG_ENOMEM;
	for (uint64_t done = 0; !st && done < n; done += p->batch) {
		uint64_t k = n - done < p->batch ? n - done : p->batch;
		st = chunk(p, dg__inference_model(inf)->g, k, x + done * p->per,
			   with_y ? y + done : NULL, (const float *)z0->data + done * p->latent,
			   opt->steps, (float *)(*z)->data + done * p->latent,
			   err ? (float *)(*err)->data + done : NULL);
	}
	dg_array_free(z0);
	if (st) {
		dg_array_free(*z);
		*z = NULL;
		if (err) {
			dg_array_free(*err);
			*err = NULL;
		}
	}
	return st;
}
