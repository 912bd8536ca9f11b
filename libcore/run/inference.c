/* inference.c — a trained model rebuilt from its checkpoint and asked
 * for encodings, decodings, samples, completions, translations,
 * classifications and likelihoods through one runner per kind of request (dg/inference.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg/inference.h"
#include "dg/device.h"
#include "dg/error.h"
#include "run/inference_int.h"
#include "run/model_ck.h"
#include "run/runner.h"

#define DEFAULT_BATCH 64
/* Kinds of request kept compiled at once (one per protocol, labels and
 * arguments); a request beyond them replaces the oldest. */
#define MAX_RUNNERS 8

struct cached {
	struct dg_runner *r;
	enum dg_protocol p;
	struct dg_proto_args a;
};

struct dg_inference {
	const struct dg_family *f;
	struct dg_hparams *hp;
	struct dg_graph *g;
	struct dg_model m;
	int built;
	struct dg_model_info info;
	char device[64];
	struct cached runners[MAX_RUNNERS];
	size_t nrunners, oldest;
	struct dg__project *project;   /* run/project.c's step graph, or NULL */

	dg_steps_progress progress;
	void *progress_ctx;
};

void dg_inference_on_steps(struct dg_inference *inf, dg_steps_progress fn, void *ctx)
{
	inf->progress = fn;
	inf->progress_ctx = ctx;
}

/* The weights: each parameter and buffer from its params/ member, or
 * from its ema/ average unless raw weights are asked for (a buffer's
 * average only in checkpoints that keep one: dg_optim_ema_buffers). */
static int restore(struct dg_inference *inf, const struct dg_checkpoint *ck, int raw)
{
	const char *src = dg_checkpoint_source(ck);
	for (size_t i = 0; i < dg_var_count(inf->g); i++) {
		enum dg_var_kind k = dg_var_kind(inf->g, i);
		const char *name = dg_var_name(inf->g, i);
		const struct dg_array *a = NULL;
		char member[300];
		int st;
		if (k != DG_VAR_PARAM && k != DG_VAR_BUFFER)
			continue;
		if (!raw) {
			snprintf(member, sizeof member, "ema/%s", name);
			if ((a = dg_checkpoint_tensor(ck, member)) && k == DG_VAR_PARAM)
				inf->info.ema = 1;
		}
		if (!a) {
			dg__member_name(inf->g, i, member, sizeof member);
			if (!(a = dg_checkpoint_tensor(ck, member)))
				return dg_error(DG_EDATA, "%s: no member %s", src, member);
		}
		if ((st = dg_var_set(inf->g, name, a)))
			return dg_error_context(st, "%s: %s", src, member);
	}
	return DG_OK;
}

int dg_inference_open(const struct dg_checkpoint *ck, const struct dg_inference_options *opt,
		      struct dg_inference **out)
{
	static const struct dg_inference_options defaults;
	struct dg_inference *inf;
	struct dg_spec_store spec;
	struct dg_device_info dev;
	uint64_t abi, batch;
	int st;

	*out = NULL;
	if (!opt)
		opt = &defaults;
	batch = opt->batch ? opt->batch : DEFAULT_BATCH;
	if ((st = dg__ck_abi(ck, &abi)) || (st = dg__ck_spec(ck, batch, 0, &spec)))
		return st;
	if (!(inf = calloc(1, sizeof *inf)))
		return dg_error_nomem("a model", sizeof *inf);
	st = dg__ck_family(ck, &inf->f, &inf->hp);
	if (!st && !(st = dg_device_select(opt->device && *opt->device ? opt->device : NULL,
					   &dev)))
		snprintf(inf->device, sizeof inf->device, "%s", dev.id);
	if (!st && !(inf->g = dg_graph_new(opt->seed)))
		st = DG_ENOMEM;
	if (!st && !(st = dg_model_build(inf->f, &inf->m, inf->g, inf->hp, &spec.spec)))
		inf->built = 1;
	if (!st)
		st = dg__ck_check_model(ck, inf->g);
	if (!st)
		st = restore(inf, ck, opt->raw_weights);
	if (st) {
		dg_inference_free(inf);
		return st;
	}
	inf->info = (struct dg_model_info){
		.family = inf->f, .hparams = inf->hp, .channels = spec.spec.channels, .height = spec.spec.height,
		.width = spec.spec.width, .classes = spec.spec.classes,
		.latent_dim = inf->m.latent_dim, .prior = inf->m.prior,
		.conditional = spec.spec.classes > 0 && (inf->f->caps & DG_CAP_CONDITIONAL) &&
			       !inf->m.labels_unused,
		.ema = inf->info.ema, .device = inf->device, .batch = batch,
	};
	*out = inf;
	return DG_OK;
}

void dg_inference_free(struct dg_inference *inf)
{
	if (!inf)
		return;
	for (size_t i = 0; i < inf->nrunners; i++)
		dg__runner_free(inf->runners[i].r);
	dg__project_free(inf->project);
	if (inf->built)
		dg_model_release(inf->f, &inf->m);
	dg_graph_free(inf->g);
	dg_hparams_free(inf->hp);
	free(inf);
}

const struct dg_model_info *dg_inference_info(const struct dg_inference *inf)
{
	return &inf->info;
}

struct dg_model *dg__inference_model(struct dg_inference *inf)
{
	return &inf->m;
}

struct dg__project **dg__inference_project_slot(struct dg_inference *inf)
{
	return &inf->project;
}

/* The runner for protocol p with arguments a, built on first use. */
static int runner(struct dg_inference *inf, enum dg_protocol p, struct dg_proto_args a,
		  struct dg_runner **out)
{
	for (size_t i = 0; i < inf->nrunners; i++) {
		struct cached *c = &inf->runners[i];
		if (c->p == p && c->a.with_y == a.with_y && c->a.t == a.t && c->a.k == a.k &&
		    c->a.draw == a.draw) {
			*out = c->r;
			return DG_OK;
		}
	}
	int st = dg__runner_new(&inf->m, inf->f, inf->device, inf->info.batch, p, &a, out);
	if (st)
		return st;
	size_t slot = inf->nrunners < MAX_RUNNERS ? inf->nrunners++ : inf->oldest++ % MAX_RUNNERS;
	if (inf->runners[slot].r)
		dg__runner_free(inf->runners[slot].r);
	inf->runners[slot] = (struct cached){*out, p, a};
	return DG_OK;
}

/* Labels are used when the model is conditional; a conditional model
 * without them is the family's error to explain. */
static int with_y(const struct dg_inference *inf, const int32_t *y)
{
	return y && inf->info.conditional;
}

static int check_labels(const struct dg_inference *inf, uint64_t n, const int32_t *y)
{
	if (!with_y(inf, y))
		return DG_OK;
	for (uint64_t i = 0; i < n; i++)
		if (y[i] < 0 || (unsigned)y[i] >= inf->info.classes)
			return dg_error(DG_EDATA, "label %ld of item %llu is not a class of the "
					"model (0..%u)", (long)y[i], (unsigned long long)i,
					inf->info.classes - 1);
	return DG_OK;
}

static int request(struct dg_inference *inf, enum dg_protocol p, struct dg_proto_args a,
		   uint64_t n, const float *x, const int32_t *y, uint64_t keep,
		   struct dg_array **out, struct dg_runner **used)
{
	struct dg_runner *r;
	int st;
	a.with_y = with_y(inf, y);
	if ((st = check_labels(inf, n, y)) || (st = runner(inf, p, a, &r)))
		return st;
	if (used)
		*used = r;
	if (p == DG_PROTO_STEPS)
		dg__runner_on_steps(r, inf->progress, inf->progress_ctx);
	return dg__runner_run(r, n, x, a.with_y ? y : NULL, keep, out);
}

int dg_inference_encode(struct dg_inference *inf, uint64_t n, const float *x,
			const int32_t *y, struct dg_array **mean, struct dg_array **sample)
{
	struct dg_array *out[2] = {NULL, NULL};
	struct dg_proto_args a = {.draw = sample != NULL};
	int st = request(inf, DG_PROTO_ENCODE, a, n, x, y, 0, out, NULL);
	*mean = out[0];
	if (sample)
		*sample = out[1];
	return st;
}

int dg_inference_decode(struct dg_inference *inf, uint64_t n, const float *z,
			const int32_t *y, struct dg_array **x)
{
	return request(inf, DG_PROTO_DECODE, (struct dg_proto_args){0}, n, z, y, 0, x, NULL);
}

int dg_inference_sample(struct dg_inference *inf, uint64_t n, float t, const int32_t *y,
			struct dg_array **out)
{
	enum dg_protocol p = inf->f->caps & DG_CAP_SAMPLE_STEPS ? DG_PROTO_STEPS
								 : DG_PROTO_SAMPLE;
	return request(inf, p, (struct dg_proto_args){.t = t}, n, NULL, y, 0, out, NULL);
}

int dg_inference_complete(struct dg_inference *inf, uint64_t n, const float *x,
			  unsigned keep_rows, float t, const int32_t *y, struct dg_array **out)
{
	struct dg_proto_args a = {.t = t};
	struct dg_runner *r;
	uint64_t per_row;
	int st;
	*out = NULL;
	if (!(inf->f->caps & DG_CAP_SAMPLE_STEPS))
		return dg_error(DG_EUSAGE, "model family %s does not draw images step by step: "
				"it cannot complete images", inf->f->name);
	if (keep_rows > inf->info.height)
		return dg_error(DG_EUSAGE, "%u rows kept, the images have %u", keep_rows,
				inf->info.height);
	a.with_y = with_y(inf, y);
	if ((st = check_labels(inf, n, y)) || (st = runner(inf, DG_PROTO_STEPS, a, &r)))
		return st;
	dg__runner_steps(r, &per_row);
	dg__runner_on_steps(r, inf->progress, inf->progress_ctx);
	return dg__runner_run(r, n, x, a.with_y ? y : NULL, (uint64_t)keep_rows * per_row, out);
}

int dg_inference_translate(struct dg_inference *inf, uint64_t n, const float *x,
			   const int32_t *y, struct dg_array **out)
{
	return request(inf, DG_PROTO_TRANSLATE, (struct dg_proto_args){0}, n, x, y, 0, out,
		       NULL);
}

int dg_inference_classify(struct dg_inference *inf, uint64_t n, const float *x,
			  struct dg_array **features, struct dg_array **probs)
{
	struct dg_array *out[2] = {NULL, NULL};
	int st = request(inf, DG_PROTO_CLASSIFY, (struct dg_proto_args){0}, n, x, NULL, 0, out,
			 NULL);
	*features = out[0];
	*probs = out[1];
	return st;
}

int dg_inference_loglik(struct dg_inference *inf, uint64_t n, const float *x,
			const int32_t *y, unsigned k, struct dg_array **out,
			const char *const **names, unsigned *nterms)
{
	struct dg_array *terms[DG_MAX_TERMS] = {0};
	struct dg_runner *r = NULL;
	int st = request(inf, DG_PROTO_LOGLIK, (struct dg_proto_args){.k = k ? k : 1}, n, x, y,
			 0, terms, &r);
	size_t nt = r ? dg__runner_outputs(r) : 0;
	*out = NULL;
	*nterms = 0;
	if (!st && !(*out = dg_array_new(DG_F32, 2, (const uint64_t[]){nt, n})))
		st = DG_ENOMEM;
	for (size_t i = 0; i < nt; i++) {
		if (!st)
			memcpy((float *)(*out)->data + i * n, terms[i]->data, n * sizeof(float));
		dg_array_free(terms[i]);
	}
	if (st)
		return st;
	*names = dg__runner_names(r);
	*nterms = (unsigned)nt;
	return DG_OK;
}
