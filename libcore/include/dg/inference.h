/* dg/inference.h — a trained model rebuilt from its checkpoint, and the
 * one path by which every tool asks it something: encode images, decode
 * codes, sample (latents, images, or images drawn step by step on the
 * device), complete images, translate images, measure likelihoods.
 *
 * Each request takes n rows of host data and returns new host arrays of
 * n rows.  Underneath, each kind of request is built once on the model's
 * graph for a fixed batch (the options' batch) and compiled once; longer
 * requests run in chunks and a short last chunk is padded, so requests
 * of any size never recompile.  Random draws are keyed by the options'
 * seed and advance with every run, so one seed gives one sequence of
 * results. */
#ifndef DG_INFERENCE_H
#define DG_INFERENCE_H

#include <stdint.h>
#include "dg/array.h"
#include "dg/checkpoint.h"
#include "dg/plugin.h"

struct dg_inference;

struct dg_inference_options {
	const char *device;      /* "cpu", "vulkan:N"; NULL: $DG_DEVICE or default */
	uint64_t batch;          /* rows per run (0: 64) */
	uint64_t seed;           /* the random streams of sampling and encoding */
	/* 1: the trained weights even where the checkpoint keeps averages of
	 * them (ema/ members, used by default: --no-ema). */
	int raw_weights;
};

/* What the model is. */
struct dg_model_info {
	const struct dg_family *family;
	const struct dg_hparams *hparams; /* the checkpoint's values */
	unsigned channels, height, width;  /* its images: C×H×W */
	unsigned classes;        /* labels it was trained with (0: none) */
	unsigned latent_dim;     /* size of a code (0: no latent space) */
	enum dg_prior prior;
	int conditional;         /* it uses labels: classes > 0 and the family
				    says so */
	int ema;                 /* the weights in use are averages (EMA) */
	const char *device;      /* the resolved device id */
	uint64_t batch;          /* rows per run */
};

/* Loads the family named by ck (DG_ENOINPUT with the family's name when it
 * is not installed), rebuilds the model for inference with the
 * checkpoint's hyperparameters and data shape, and restores its weights
 * (ck may be read with DG_CHECKPOINT_NO_OPTIM).  DG_EDATA for a manifest
 * or member that does not fit.  ck may be freed afterwards. */
int dg_inference_open(const struct dg_checkpoint *ck, const struct dg_inference_options *opt,
		      struct dg_inference **out);
void dg_inference_free(struct dg_inference *inf);
const struct dg_model_info *dg_inference_info(const struct dg_inference *inf);

/* y: n labels for a conditional model, else NULL (ignored).  Each call
 * returns new arrays the caller frees; DG_EUSAGE when the family cannot
 * do what is asked (the message says so). */

/* x: n×C×H×W in [0,1] -> *mean: n×latent_dim (the posterior mean, or a
 * deterministic code); *sample (if not NULL): a draw from the posterior. */
int dg_inference_encode(struct dg_inference *inf, uint64_t n, const float *x,
			const int32_t *y, struct dg_array **mean, struct dg_array **sample);
/* z: n×latent_dim -> *x: n×C×H×W in [0,1]. */
int dg_inference_decode(struct dg_inference *inf, uint64_t n, const float *z,
			const int32_t *y, struct dg_array **x);
/* n draws at temperature t: latent codes (n×latent_dim) for families that
 * sample latents, images (n×C×H×W) for the others, drawn step by step on
 * the device for autoregressive families. */
int dg_inference_sample(struct dg_inference *inf, uint64_t n, float t, const int32_t *y,
			struct dg_array **out);
/* Autoregressive families: x (n×C×H×W) keeps its first keep_rows rows,
 * the rest of each image is drawn at temperature t. */
int dg_inference_complete(struct dg_inference *inf, uint64_t n, const float *x,
			  unsigned keep_rows, float t, const int32_t *y, struct dg_array **out);
/* Step-by-step sampling and completion report their progress to fn, if
 * set, after each image row of each chunk of rows: done and total are the
 * steps of the chunk (total: steps per image, done counting from the
 * first step drawn), row and rows the chunk's first row in the request
 * and its count of rows.  A nonzero return stops the request, which then returns
 * that status with whatever message fn set (dg_error), and no images;
 * so a tool may stop at a signal between steps.  NULL: no reports. */
typedef int (*dg_steps_progress)(void *ctx, uint64_t done, uint64_t total, uint64_t row,
				 uint64_t rows);
void dg_inference_on_steps(struct dg_inference *inf, dg_steps_progress fn, void *ctx);
/* x: n×C×H×W -> *out: the images the model makes of them (n×C'×H'×W'). */
int dg_inference_translate(struct dg_inference *inf, uint64_t n, const float *x,
			   const int32_t *y, struct dg_array **out);
/* Classifier families (DG_CAP_CLASSIFY): x: n×C×H×W -> *features: n×F,
 * the representation sample metrics compare, and *probs: n×classes, the
 * softmax of the family's logits (rows sum to 1).  DG_EUSAGE for a
 * family that does not classify. */
int dg_inference_classify(struct dg_inference *inf, uint64_t n, const float *x,
			  struct dg_array **features, struct dg_array **probs);
/* Per-example metrics of x in nats with k importance samples: *out is
 * nterms×n, row i named names[i] (valid while inf lives). */
int dg_inference_loglik(struct dg_inference *inf, uint64_t n, const float *x,
			const int32_t *y, unsigned k, struct dg_array **out,
			const char *const **names, unsigned *nterms);

/* ---- projection (GAN inversion) ----------------------------------------- */

struct dg_project_options {
	uint64_t steps;          /* Adam steps (> 0) */
	float lr;                /* Adam's learning rate (0: 0.05) */
	/* A classifier (DG_CAP_CLASSIFY) whose features also compare the
	 * images, or NULL: pixels only.  Its images must have the model's
	 * shape.  feature_weight scales that term (0: 1). */
	struct dg_inference *features;
	float feature_weight;
};

/* Finds for each image of x (n×C×H×W in [0,1]) a code z whose decoding
 * reproduces it: minimizes, from a start code, by Adam (β 0.9/0.999) on
 * the code alone, the image's mean squared pixel error plus, with
 * features, feature_weight times the mean squared difference of the
 * classifier's features of the decoding and of the image.  All on the
 * model's device: the code is a graph variable, its gradient the
 * graph's (dg_grad) through the family's decode() with the weights in
 * use (averages by default), and the Adam update runs in the same step.
 * Start: the family's encoder's code when it encodes (the projection
 * refines it), else a draw from its prior at temperature 1 (keyed by the
 * options' seed), else zeros.  *z: n×latent_dim codes; *err (if not
 * NULL): n values, each image's pixel error after the last step.
 * DG_EUSAGE for a family that does not decode latent codes, steps 0, or
 * features that are not a classifier's or not of the model's images.
 * The step graph is compiled on the first call and kept for later ones
 * with the same options; features, whose graph it also uses, must stay
 * open until inf is freed. */
int dg_inference_project(struct dg_inference *inf, uint64_t n, const float *x,
			 const int32_t *y, const struct dg_project_options *opt,
			 struct dg_array **z, struct dg_array **err);

#endif
