/* train_snap.c — pictures and validation during training, through the
 * same runners as the inference tools, without disturbing the run: the
 * graph's run counter and the weights are put back afterwards. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "run/train_impl.h"
#include "dg/error.h"
#include "dg/rng.h"

#define SNAP_STREAM 0x736e6170u   /* "snap": the fixed latents */

/* A prior of the family's own (DG_PRIOR_OTHER) is drawn by its sample():
 * once, here, so that every snapshot decodes the same codes.  The graph's
 * run counter is put back, leaving training's random draws as they were. */
static int family_codes(struct dg_trainer *t, const struct dg_proto_args *a)
{
	struct dg_runner *r = NULL;
	struct dg_array *runs = NULL, *z = NULL;
	uint64_t n = t->snap, d = t->m.latent_dim;
	int st = dg_var_get(t->g, "graph.runs", &runs);

	if (!st)
		st = dg__runner_new(&t->m, t->f, t->device, n, DG_PROTO_SAMPLE, a, &r);
	if (!st)
		st = dg__runner_run(r, n, NULL, t->snap_y, 0, &z);
	if (!st && (z->rank != 2 || z->dims[1] != d))
		st = dg_error(DG_EINTERNAL, "%s: sample() gave codes of another size than "
			      "latent_dim %llu", t->f->name, (unsigned long long)d);
	if (!st)
		memcpy(t->snap_z, z->data, n * d * sizeof *t->snap_z);
	if (runs) {
		int st2 = dg_var_set(t->g, "graph.runs", runs);
		st = st ? st : st2;
	}
	dg_array_free(z);
	dg_array_free(runs);
	dg__runner_free(r);
	return st;
}

int dg__trainer_build_snapshot(struct dg_trainer *t)
{
	const struct dg_family *f = t->f;
	const struct dg_dataset_info *di = dg_dataset_info(t->ds);
	struct dg_proto_args a = {.with_y = t->classes > 0, .t = 1};
	uint64_t n = t->snap, d = t->m.latent_dim;
	int st = DG_OK;

	/* labels, for conditional families, cycle through the classes */
	if (t->classes) {
		if (!(t->snap_y = malloc(n * sizeof *t->snap_y)))
			return dg_error_nomem("snapshot labels", n * sizeof *t->snap_y);
		for (uint64_t i = 0; i < n; i++)
			t->snap_y[i] = (int32_t)(i % t->classes);
	}
	if ((f->caps & DG_CAP_SAMPLE_LATENT) && (f->caps & DG_CAP_DECODE) && d &&
	    t->m.prior != DG_PRIOR_NONE) {
		if (!(t->snap_z = malloc(n * d * sizeof *t->snap_z)))
			return dg_error_nomem("snapshot latents", n * d * sizeof *t->snap_z);
		dg_rng_normal(t->seed, SNAP_STREAM, 0, t->snap_z, n * d);
		if (t->m.prior == DG_PRIOR_UNIFORM)
			for (uint64_t i = 0; i < n * d; i++)  /* Φ(z) mapped to (-1, 1) */
				t->snap_z[i] = erff(t->snap_z[i] / sqrtf(2));
		if (t->m.prior == DG_PRIOR_OTHER)
			st = family_codes(t, &a);
		if (!st)
			st = dg__runner_new(&t->m, f, t->device, n, DG_PROTO_DECODE, &a,
					    &t->sample_run);
	} else if (f->caps & DG_CAP_SAMPLE_DATA) {
		st = dg__runner_new(&t->m, f, t->device, n, DG_PROTO_SAMPLE, &a, &t->sample_run);
	} else if (f->caps & DG_CAP_SAMPLE_STEPS) {
		st = dg__runner_new(&t->m, f, t->device, n, DG_PROTO_STEPS, &a, &t->sample_run);
	}
	if (st)
		return dg_error_context(st, "snapshot samples");

	/* what the model makes of the first images, beside them: its
	 * translation, or an encoder's reconstruction */
	enum dg_protocol rp = f->caps & DG_CAP_TRANSLATE ? DG_PROTO_TRANSLATE : DG_PROTO_RECON;
	if ((f->caps & DG_CAP_TRANSLATE) ||
	    ((f->caps & DG_CAP_ENCODE) && (f->caps & DG_CAP_DECODE))) {
		uint64_t rows = n < di->count ? n : di->count, dims[DG_MAX_RANK];
		rows -= rows % 8;
		if (!rows)
			return DG_OK;
		uint64_t *idx = malloc(rows * sizeof *idx);
		t->snap_x = malloc(rows * t->per * sizeof *t->snap_x);
		t->snap_xy = malloc(rows * sizeof *t->snap_xy);
		if (!idx || !t->snap_x || !t->snap_xy) {
			free(idx);
			return dg_error_nomem("snapshot images", rows * t->per * sizeof(float));
		}
		for (uint64_t i = 0; i < rows; i++)
			idx[i] = i;
		st = di->sequential ? dg_error(DG_EUSAGE, "snapshots of a stream on standard "
					       "input")
				    : dg_dataset_gather(t->ds, idx, rows, t->snap_x, t->snap_xy);
		free(idx);
		if (!st)
			st = dg__runner_new(&t->m, f, t->device, rows, rp, &a, &t->recon_run);
		if (st)
			return dg_error_context(st, "snapshot reconstructions");
		/* side by side only when the model's images have the data's shape */
		if (dg__runner_out_shape(t->recon_run, 0, dims) != 3 || dims[0] != t->c ||
		    dims[1] != t->h || dims[2] != t->w) {
			dg__runner_free(t->recon_run);
			t->recon_run = NULL;
		}
		t->snap_rows = rows;
	}
	return DG_OK;
}

void dg__trainer_free_snapshot(struct dg_trainer *t)
{
	dg__runner_free(t->sample_run);
	dg__runner_free(t->recon_run);
	free(t->snap_z);
	free(t->snap_x);
	free(t->snap_y);
	free(t->snap_xy);
}

/* Rows of 8 originals, each followed by its 8 results. */
static int interleave(const struct dg_trainer *t, const struct dg_array *r,
		      struct dg_array **out)
{
	uint64_t n = t->snap_rows, per = t->per;
	if (!(*out = dg_array_new(DG_F32, 4, (const uint64_t[]){2 * n, t->c, t->h, t->w})))
		return DG_ENOMEM;
	float *dst = (float *)(*out)->data;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t row = i / 8, col = i % 8;
		memcpy(dst + ((2 * row) * 8 + col) * per, t->snap_x + i * per, per * 4);
		memcpy(dst + ((2 * row + 1) * 8 + col) * per, (float *)r->data + i * per, per * 4);
	}
	return DG_OK;
}

int dg_trainer_snapshot(struct dg_trainer *t, struct dg_array **samples,
			struct dg_array **recon)
{
	struct dg_array *runs = NULL, *r = NULL;
	int st, st2;

	*samples = *recon = NULL;
	/* the averaged weights, as the inference tools would use them */
	if ((st = dg_var_get(t->g, "graph.runs", &runs)) || (st = dg_graph_swap_ema(t->g))) {
		dg_array_free(runs);
		return st;
	}
	if (t->sample_run)
		st = dg__runner_run(t->sample_run, t->snap, t->snap_z, t->snap_y, 0, samples);
	if (!st && t->recon_run)
		st = dg__runner_run(t->recon_run, t->snap_rows, t->snap_x, t->snap_xy, 0, &r);
	if (!st && r)
		st = interleave(t, r, recon);
	dg_array_free(r);
	st2 = dg_graph_swap_ema(t->g);
	st = st ? st : st2;
	st2 = dg_var_set(t->g, "graph.runs", runs);
	st = st ? st : st2;
	dg_array_free(runs);
	if (st) {
		dg_array_free(*samples);
		dg_array_free(*recon);
		*samples = *recon = NULL;
	}
	return st;
}

int dg_trainer_set_validation(struct dg_trainer *t, struct dg_dataset *val)
{
	const struct dg_dataset_info *vi = dg_dataset_info(val);
	dg_tensor outs[DG_MAX_TERMS];
	int st;

	if (vi->channels != t->c || vi->height != t->h || vi->width != t->w)
		return dg_error(DG_EDATA, "%s: validation images are %ux%ux%u, training images "
				"%ux%ux%u", vi->source, vi->channels, vi->height, vi->width,
				t->c, t->h, t->w);
	if (vi->sequential)
		return dg_error(DG_EUSAGE, "%s: a validation set must be a file", vi->source);
	if (t->dist)
		return dg_error(DG_EUSAGE, "%s: validation under mpirun is not supported yet",
				vi->source);
	if (t->classes && !vi->has_labels)
		return dg_error(DG_EDATA, "%s: the training images have labels, the validation "
				"images none", vi->source);
	if (vi->count < t->batch)
		return dg_error(DG_EUSAGE, "%s: %llu validation images, fewer than one batch "
				"of %llu", vi->source, (unsigned long long)vi->count,
				(unsigned long long)t->batch);
	if (t->nin)
		return dg_error(DG_EUSAGE, "%s: family %s takes other inputs than images and "
				"labels; validation gives it only those", vi->source, t->f->name);
	if (!t->nterms)
		return dg_error(DG_EUSAGE, "%s reports no terms to validate", t->f->name);
	for (size_t i = 0; i < t->nterms; i++)
		outs[i] = dg_model_term_at(&t->m, i, NULL)->value;
	dg_exec_free(t->val_exec);
	t->val_exec = NULL;
	if ((st = dg_compile(t->g, t->device, t->nterms, outs, 0, NULL, &t->val_exec)))
		return dg_error_context(st, "%s: validation", t->f->name);
	t->val = val;
	return DG_OK;
}

int dg_trainer_validate(struct dg_trainer *t, double *avg, unsigned *nterms)
{
	const struct dg_dataset_info *vi;
	struct dg_array *runs = NULL;
	uint64_t nb, *idx = NULL;
	int st;

	*nterms = 0;
	if (!t->val_exec)
		return dg_error(DG_EUSAGE, "no validation set");
	vi = dg_dataset_info(t->val);
	nb = vi->count / t->batch;
	if (!(idx = malloc(t->batch * sizeof *idx)))
		return dg_error_nomem("validation", t->batch * sizeof *idx);
	for (size_t i = 0; i < t->nterms; i++)
		avg[i] = 0;
	st = dg_var_get(t->g, "graph.runs", &runs);
	for (uint64_t b = 0; !st && b < nb; b++) {
		for (uint64_t i = 0; i < t->batch; i++)
			idx[i] = b * t->batch + i;
		st = dg_dataset_gather(t->val, idx, t->batch, t->images, t->labels);
		if (!st)
			st = dg_exec_feed(t->val_exec, "x", DG_F32, t->images, t->batch * t->per);
		if (!st && t->classes)
			st = dg_exec_feed(t->val_exec, "y", DG_I32, t->labels, t->batch);
		if (!st)
			st = dg_exec_run(t->val_exec);
		for (size_t i = 0; !st && i < t->nterms; i++)
			avg[i] += dg_exec_scalar(t->val_exec, i) / (double)nb;
	}
	if (runs) {
		int st2 = dg_var_set(t->g, "graph.runs", runs);
		st = st ? st : st2;
	}
	dg_array_free(runs);
	free(idx);
	if (!st)
		*nterms = (unsigned)t->nterms;
	return st;
}
