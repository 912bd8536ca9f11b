/* train.c — the training loop (dg/train.h): model, optimizers and one
 * executable per phase on one graph, epochs of fixed-size batches, and
 * checkpoints that capture everything the continuation depends on.
 *
 * Exact resume rests on three facts: the data order of an epoch is a pure
 * function of (seed, epoch) and the batcher can seek to any batch; every
 * piece of mutable engine state (parameters, buffers, optimizer moments,
 * update step counts, the graph's run counter that keys random draws) is
 * a graph variable, readable and writable by name; and the cpu backend
 * reduces without float atomics, so equal state gives equal bits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dg/train.h"
#include "dg/device.h"
#include "dg/error.h"
#include "dg/graph.h"
#include "dg/rng.h"
#include "dg/stream.h"

#define DEFAULT_BATCH 128
#define DEFAULT_LR 1e-3

struct dg_trainer {
	const struct dg_family *f;
	const struct dg_hparams *hp;
	struct dg_hparams *own_hp;     /* set when built from a checkpoint */
	struct dg_dataset *ds;
	unsigned c, h, w, classes;
	uint64_t batch, seed, per;
	double lr;
	int lr_given, binarize;
	char device[32];

	struct dg_graph *g;
	struct dg_model m;
	int built;
	struct dg_exec *exec[DG_MAX_PHASES];
	unsigned steps[DG_MAX_PHASES];
	struct dg_batcher *b;
	float *images;
	int32_t *labels;

	uint64_t step;                 /* iterations since the start of training */
	const char *names[DG_MAX_TERMS];
	double sums[DG_MAX_TERMS], avg[DG_MAX_TERMS];

	/* --snapshot: executables and their fixed inputs */
	unsigned snap;                 /* images per snapshot (0: none) */
	uint64_t snap_rows;            /* reconstruction images (a multiple of 8) */
	struct dg_exec *sample_exec, *recon_exec;
	float *snap_z, *snap_x;
	int32_t *snap_y, *snap_xy;

	/* validation: the terms without the updates */
	struct dg_dataset *val;
	struct dg_exec *val_exec;

	char *log;                     /* CSV text, NUL-terminated */
	size_t loglen, logcap;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int log_append(struct dg_trainer *t, const char *s)
{
	size_t n = strlen(s);
	if (t->loglen + n + 1 > t->logcap) {
		size_t cap = (t->loglen + n + 1) * 2;
		char *p = realloc(t->log, cap);
		if (!p)
			return dg_error_nomem("training log", cap);
		t->log = p;
		t->logcap = cap;
	}
	memcpy(t->log + t->loglen, s, n + 1);
	t->loglen += n;
	return DG_OK;
}

static int log_header(struct dg_trainer *t)
{
	int st = log_append(t, "epoch,step");
	for (unsigned i = 0; !st && i < t->m.nterms; i++)
		st = log_append(t, ",") || log_append(t, t->names[i]);
	return st ? DG_ENOMEM : log_append(t, ",images_per_s\n");
}

static int build_snapshot(struct dg_trainer *t);

/* Model, one optimizer update per phase, one executable per phase.  All
 * terms are outputs of the last phase's executable, read after its last
 * step: one place to read them, whatever the number of phases. */
static int build(struct dg_trainer *t)
{
	const struct dg_dataset_info *di = dg_dataset_info(t->ds);
	struct dg_device_info dev;
	int upd[DG_MAX_PHASES];
	int st;

	t->c = di->channels;
	t->h = di->height;
	t->w = di->width;
	t->classes = di->has_labels ? di->classes : 0;
	t->per = (uint64_t)t->c * t->h * t->w;
	if (di->count < t->batch)
		return dg_error(DG_EUSAGE, "%s: %llu images, fewer than one batch of %llu "
				"(try a smaller --batch)", di->source,
				(unsigned long long)di->count, (unsigned long long)t->batch);
	if ((st = dg_device_select(t->device[0] ? t->device : NULL, &dev)))
		return st;
	snprintf(t->device, sizeof t->device, "%s", dev.id);

	if (!(t->g = dg_graph_new(t->seed)))
		return DG_ENOMEM;
	st = dg_model_build(t->f, &t->m, t->g, t->hp, t->c, t->h, t->w, t->classes,
			    t->batch, 1);
	if (st)
		return st;
	t->built = 1;
	for (unsigned i = 0; i < t->m.nterms; i++)
		t->names[i] = t->m.terms[i].name;
	for (unsigned p = 0; p < t->m.nphases; p++) {
		const struct dg_phase *ph = &t->m.phases[p];
		struct dg_optim opt = {.kind = DG_ADAM, .lr = (float)DEFAULT_LR};
		if (ph->optim)
			opt = *ph->optim;
		/* the family's rate stands unless the user gave one */
		if (t->lr_given || !ph->optim || !(opt.lr > 0))
			opt.lr = (float)t->lr;
		if (!(upd[p] = dg_optimize(t->g, ph->loss, ph->groups, &opt)))
			return dg_error(dg_graph_status(t->g), "%s: phase %s: %s", t->f->name,
					ph->name, dg_graph_error(t->g));
		t->steps[p] = ph->steps ? ph->steps : 1;
	}
	for (unsigned p = 0; p < t->m.nphases; p++) {
		dg_tensor outs[DG_MAX_TERMS];
		size_t nout = 0;
		if (p + 1 == t->m.nphases)
			for (unsigned i = 0; i < t->m.nterms; i++)
				outs[nout++] = t->m.terms[i].value;
		if ((st = dg_compile(t->g, t->device, nout, outs, 1, &upd[p], &t->exec[p])))
			return dg_error_context(st, "%s: phase %s on %s", t->f->name,
						t->m.phases[p].name, t->device);
	}

	if (t->snap && (st = build_snapshot(t)))
		return st;

	struct dg_batch_options bo = {
		.batch = t->batch, .seed = t->seed, .shuffle = !di->sequential,
		.drop_last = 1, .binarize = t->binarize,
	};
	if ((st = dg_batcher_new(t->ds, &bo, &t->b)))
		return st;
	t->images = malloc(t->batch * t->per * sizeof *t->images);
	t->labels = malloc(t->batch * sizeof *t->labels);
	if (!t->images || !t->labels)
		return dg_error_nomem("a batch", t->batch * t->per * sizeof *t->images);
	return DG_OK;
}

#define SNAP_STREAM 0x736e6170u   /* "snap": the fixed latents */

/* The snapshot computations, appended after the training ones so that
 * the training's variables and random streams are those of a run without
 * snapshots.  Labels, for conditional families, cycle through classes. */
static int build_snapshot(struct dg_trainer *t)
{
	struct dg_graph *g = t->g;
	const struct dg_family *f = t->f;
	const struct dg_dataset_info *di = dg_dataset_info(t->ds);
	uint64_t n = t->snap, d = t->m.latent_dim;
	dg_tensor y = DG_NONE, out = DG_NONE;
	int st;

	if (t->classes) {
		if (!(t->snap_y = malloc(n * sizeof *t->snap_y)))
			return dg_error_nomem("snapshot labels", n * sizeof *t->snap_y);
		for (uint64_t i = 0; i < n; i++)
			t->snap_y[i] = (int32_t)(i % t->classes);
		y = dg_input(g, "snapshot.y", DG_I32, DG_SHAPE(n));
	}
	if ((f->caps & DG_CAP_SAMPLE_LATENT) && (f->caps & DG_CAP_DECODE) && d &&
	    t->m.prior != DG_PRIOR_NONE) {
		if (!(t->snap_z = malloc(n * d * sizeof *t->snap_z)))
			return dg_error_nomem("snapshot latents", n * d * sizeof *t->snap_z);
		dg_rng_normal(t->seed, SNAP_STREAM, 0, t->snap_z, n * d);
		if (t->m.prior == DG_PRIOR_UNIFORM)
			for (uint64_t i = 0; i < n * d; i++)  /* Φ(z) mapped to (-1, 1) */
				t->snap_z[i] = erff(t->snap_z[i] / sqrtf(2));
		dg_tensor z = dg_input(g, "snapshot.z", DG_F32, DG_SHAPE(n, d));
		if ((st = f->decode(&t->m, z, y, &out)))
			return dg_error(st, "%s: decode: %s", f->name, dg_graph_error(g));
	} else if (f->caps & DG_CAP_SAMPLE_DATA) {
		if ((st = f->sample(&t->m, n, 1, y, &out)))
			return dg_error(st, "%s: sample: %s", f->name, dg_graph_error(g));
	}
	if (out.id && (st = dg_compile(g, t->device, 1, &out, 0, NULL, &t->sample_exec)))
		return dg_error_context(st, "%s: snapshot samples", f->name);

	/* reconstructions of the first images of an in-memory set */
	uint64_t rows = (n < di->count ? n : di->count) / 8 * 8;
	if ((f->caps & DG_CAP_ENCODE) && (f->caps & DG_CAP_DECODE) && !di->sequential && rows) {
		uint64_t *idx = malloc(rows * sizeof *idx);
		t->snap_x = malloc(rows * t->per * sizeof *t->snap_x);
		t->snap_xy = malloc(rows * sizeof *t->snap_xy);
		if (!idx || !t->snap_x || !t->snap_xy) {
			free(idx);
			return dg_error_nomem("snapshot images", rows * t->per * 4);
		}
		for (uint64_t i = 0; i < rows; i++)
			idx[i] = i;
		st = dg_dataset_gather(t->ds, idx, rows, t->snap_x, t->snap_xy);
		free(idx);
		if (st)
			return st;
		dg_tensor x = dg_input(g, "snapshot.x", DG_F32, DG_SHAPE(rows, t->c, t->h, t->w));
		dg_tensor xy = t->classes ? dg_input(g, "snapshot.xy", DG_I32, DG_SHAPE(rows))
					  : DG_NONE;
		dg_tensor mean, drawn, rec;
		if ((st = f->encode(&t->m, x, xy, &mean, &drawn)) ||
		    (st = f->decode(&t->m, mean, xy, &rec)))
			return dg_error(st, "%s: reconstruction: %s", f->name, dg_graph_error(g));
		if ((st = dg_compile(g, t->device, 1, &rec, 0, NULL, &t->recon_exec)))
			return dg_error_context(st, "%s: snapshot reconstructions", f->name);
		t->snap_rows = rows;
	}
	return DG_OK;
}

/* Runs e without moving the graph's run counter. */
static int run_aside(struct dg_trainer *t, struct dg_exec *e, struct dg_array **out)
{
	struct dg_array *runs = NULL;
	int st = dg_var_get(t->g, "graph.runs", &runs);
	if (!st)
		st = dg_exec_run(e);
	if (!st)
		st = dg_exec_output(e, 0, out);
	if (runs) {
		int st2 = dg_var_set(t->g, "graph.runs", runs);
		st = st ? st : st2;
	}
	dg_array_free(runs);
	return st;
}

int dg_trainer_snapshot(struct dg_trainer *t, struct dg_array **samples,
			struct dg_array **recon)
{
	int st = DG_OK;
	*samples = *recon = NULL;
	if (t->sample_exec) {
		if (t->snap_z)
			st = dg_exec_feed(t->sample_exec, "snapshot.z", DG_F32, t->snap_z,
					  (uint64_t)t->snap * t->m.latent_dim);
		if (!st && t->snap_y)
			st = dg_exec_feed(t->sample_exec, "snapshot.y", DG_I32, t->snap_y, t->snap);
		if (!st)
			st = run_aside(t, t->sample_exec, samples);
	}
	if (!st && t->recon_exec) {
		struct dg_array *r = NULL;
		uint64_t n = t->snap_rows;
		st = dg_exec_feed(t->recon_exec, "snapshot.x", DG_F32, t->snap_x, n * t->per);
		if (!st && t->classes)
			st = dg_exec_feed(t->recon_exec, "snapshot.xy", DG_I32, t->snap_xy, n);
		if (!st)
			st = run_aside(t, t->recon_exec, &r);
		/* rows of 8 originals, each followed by its 8 reconstructions */
		if (!st && !(*recon = dg_array_new(DG_F32, 4,
						   (const uint64_t[]){2 * n, t->c, t->h, t->w})))
			st = DG_ENOMEM;
		for (uint64_t i = 0; !st && i < n; i++) {
			uint64_t row = i / 8, col = i % 8, per = t->per;
			float *dst = (float *)(*recon)->data;
			memcpy(dst + ((2 * row) * 8 + col) * per, t->snap_x + i * per, per * 4);
			memcpy(dst + ((2 * row + 1) * 8 + col) * per, (float *)r->data + i * per,
			       per * 4);
		}
		dg_array_free(r);
	}
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
	if (t->classes && !vi->has_labels)
		return dg_error(DG_EDATA, "%s: the training images have labels, the validation "
				"images none", vi->source);
	if (vi->count < t->batch)
		return dg_error(DG_EUSAGE, "%s: %llu validation images, fewer than one batch "
				"of %llu", vi->source, (unsigned long long)vi->count,
				(unsigned long long)t->batch);
	if (!t->m.nterms)
		return dg_error(DG_EUSAGE, "%s reports no terms to validate", t->f->name);
	for (unsigned i = 0; i < t->m.nterms; i++)
		outs[i] = t->m.terms[i].value;
	dg_exec_free(t->val_exec);
	t->val_exec = NULL;
	if ((st = dg_compile(t->g, t->device, t->m.nterms, outs, 0, NULL, &t->val_exec)))
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
	for (unsigned i = 0; i < t->m.nterms; i++)
		avg[i] = 0;
	st = dg_var_get(t->g, "graph.runs", &runs);
	/* the training batch buffers are free between iterations */
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
		for (unsigned i = 0; !st && i < t->m.nterms; i++)
			avg[i] += dg_exec_scalar(t->val_exec, i) / (double)nb;
	}
	if (runs) {
		int st2 = dg_var_set(t->g, "graph.runs", runs);
		st = st ? st : st2;
	}
	dg_array_free(runs);
	free(idx);
	if (!st)
		*nterms = t->m.nterms;
	return st;
}

static int config(struct dg_trainer *t, const struct dg_train_config *cfg)
{
	t->batch = cfg && cfg->batch ? cfg->batch : DEFAULT_BATCH;
	t->lr = cfg && cfg->lr > 0 ? cfg->lr : DEFAULT_LR;
	t->lr_given = cfg && cfg->lr > 0;
	t->seed = cfg && cfg->seed_set ? cfg->seed : 0;
	t->binarize = cfg ? cfg->binarize : 0;
	t->snap = cfg ? cfg->snapshot : 0;
	if (cfg && cfg->device)
		snprintf(t->device, sizeof t->device, "%s", cfg->device);
	return DG_OK;
}

int dg_trainer_new(const struct dg_family *f, const struct dg_hparams *hp,
		   struct dg_dataset *ds, const struct dg_train_config *cfg,
		   struct dg_trainer **out)
{
	struct dg_trainer *t = calloc(1, sizeof *t);
	int st;

	*out = NULL;
	if (!t)
		return dg_error_nomem("trainer", sizeof *t);
	t->f = f;
	t->hp = hp;
	t->ds = ds;
	config(t, cfg);
	if ((st = build(t)) || (st = log_header(t))) {
		dg_trainer_free(t);
		return st;
	}
	*out = t;
	return DG_OK;
}

/* Manifest value as a double (train.lr). */
static int get_double(const struct dg_checkpoint *ck, const char *key, double *out)
{
	const char *v = dg_meta_get(dg_checkpoint_cmeta(ck), key);
	char *end;
	if (!v || !*v)
		return dg_error(DG_EDATA, "%s: manifest has no %s", dg_checkpoint_source(ck), key);
	*out = strtod(v, &end);
	if (*end || !isfinite(*out))
		return dg_error(DG_EDATA, "%s: manifest: %s=%s is not a number",
				dg_checkpoint_source(ck), key, v);
	return DG_OK;
}

/* The checkpoint's member for graph variable i. */
static void member_name(struct dg_graph *g, size_t i, char *buf, size_t size)
{
	enum dg_var_kind k = dg_var_kind(g, i);
	snprintf(buf, size, "%s/%s", k == DG_VAR_PARAM || k == DG_VAR_BUFFER ? "params" : "optim",
		 dg_var_name(g, i));
}

static int restore(struct dg_trainer *t, const struct dg_checkpoint *ck)
{
	const char *src = dg_checkpoint_source(ck);
	uint64_t epoch, bi, classes;
	size_t len;
	int st;

	/* labels change a conditional model's inputs: they must agree */
	if ((st = dg_checkpoint_get_u64(ck, "classes", &classes)))
		return st;
	if (classes != t->classes)
		return dg_error(DG_EDATA, "%s: %u classes in the data, %llu when %s was trained",
				dg_dataset_info(t->ds)->source, t->classes,
				(unsigned long long)classes, src);
	for (size_t i = 0; i < dg_var_count(t->g); i++) {
		char name[256];
		member_name(t->g, i, name, sizeof name);
		const struct dg_array *a = dg_checkpoint_tensor(ck, name);
		if (!a)
			return DG_EDATA;
		if ((st = dg_var_set(t->g, dg_var_name(t->g, i), a)))
			return dg_error_context(st, "%s: %s", src, name);
	}
	if ((st = dg_checkpoint_get_u64(ck, "step", &t->step)) ||
	    (st = dg_checkpoint_get_u64(ck, "epoch", &epoch)) ||
	    (st = dg_checkpoint_get_u64(ck, "train.batch_index", &bi)))
		return st;
	if ((st = dg_batcher_seek(t->b, epoch, bi)))
		return st;
	const char *log = dg_checkpoint_bytes(ck, "log.csv", &len);
	if (!log)
		return DG_EDATA;
	return log_append(t, log);
}

/* The checkpoint's family, loaded by name, and its hyperparameters from
 * the manifest (*hp is set, possibly partly filled, even on error). */
static int load_family(const struct dg_checkpoint *ck, const struct dg_family **f,
		       struct dg_hparams **hp)
{
	const struct dg_meta *mf = dg_checkpoint_cmeta(ck);
	const char *src = dg_checkpoint_source(ck);
	int st = dg_family_load(dg_checkpoint_family(ck), f);

	*hp = NULL;
	if (st == DG_ENOINPUT)
		st = dg_checkpoint_family_error(ck, "is not installed");
	if (!st)
		st = dg_hparams_new(*f, hp);
	for (size_t i = 0; !st && i < dg_hparams_count(*hp); i++) {
		char key[128];
		const char *name = dg_hparams_row(*hp, i)->name;
		snprintf(key, sizeof key, "hparam.%s", name);
		const char *v = dg_meta_get(mf, key);
		/* a hyperparameter added to the family since keeps its default */
		if (v && (st = dg_hparams_set_value(*hp, name, v)))
			st = dg_error_context(DG_EDATA, "%s", src);
	}
	return st;
}

int dg_trainer_resume(const struct dg_checkpoint *ck, struct dg_dataset *ds,
		      const struct dg_train_config *cfg, struct dg_trainer **out)
{
	const char *src = dg_checkpoint_source(ck);
	const struct dg_dataset_info *di = dg_dataset_info(ds);
	struct dg_trainer *t;
	uint64_t abi = 0, batch = 0, seed = 0, bin = 0, dims[DG_MAX_RANK] = {0};
	unsigned rank;
	double lr = 0;
	int st;

	*out = NULL;
	if ((st = dg_checkpoint_get_u64(ck, "plugin_abi", &abi)) ||
	    (st = dg_checkpoint_get_u64(ck, "train.batch", &batch)) ||
	    (st = dg_checkpoint_get_u64(ck, "train.seed", &seed)) ||
	    (st = dg_checkpoint_get_u64(ck, "train.binarize", &bin)) ||
	    (st = get_double(ck, "train.lr", &lr)) ||
	    (st = dg_checkpoint_get_shape(ck, "data_shape", &rank, dims)))
		return st;
	if (abi != DG_PLUGIN_ABI)
		return dg_error(DG_EDATA, "%s: made with plugin ABI %llu, this dg has %d", src,
				(unsigned long long)abi, DG_PLUGIN_ABI);
	if (rank != 3 || dims[0] != di->channels || dims[1] != di->height ||
	    dims[2] != di->width)
		return dg_error(DG_EDATA, "%s: images are %ux%ux%u, the model %s was trained "
				"on %llux%llux%llu", di->source, di->channels, di->height,
				di->width, src, (unsigned long long)dims[0],
				(unsigned long long)dims[1], (unsigned long long)dims[2]);
	if (!(t = calloc(1, sizeof *t)))
		return dg_error_nomem("trainer", sizeof *t);
	t->ds = ds;
	config(t, cfg);
	/* what the user did not set comes from the checkpoint: exact resume */
	if (!cfg || !cfg->batch)
		t->batch = batch;
	if (!cfg || !(cfg->lr > 0))
		t->lr = lr, t->lr_given = 1;
	if (!cfg || !cfg->seed_set)
		t->seed = seed;
	if (!cfg || !cfg->binarize)
		t->binarize = (int)bin;

	st = load_family(ck, &t->f, &t->own_hp);
	t->hp = t->own_hp;
	if (!st)
		st = build(t);
	if (!st)
		st = restore(t, ck);
	if (st) {
		dg_trainer_free(t);
		return st;
	}
	*out = t;
	return DG_OK;
}

void dg_trainer_free(struct dg_trainer *t)
{
	if (!t)
		return;
	for (unsigned p = 0; p < DG_MAX_PHASES; p++)
		dg_exec_free(t->exec[p]);
	dg_exec_free(t->sample_exec);
	dg_exec_free(t->val_exec);
	dg_exec_free(t->recon_exec);
	free(t->snap_z);
	free(t->snap_x);
	free(t->snap_y);
	free(t->snap_xy);
	if (t->built)
		dg_model_release(t->f, &t->m);
	dg_graph_free(t->g);
	dg_batcher_free(t->b);
	dg_hparams_free(t->own_hp);
	free(t->images);
	free(t->labels);
	free(t->log);
	free(t);
}

/* One iteration: every phase, its steps times, on the same batch. */
static int iterate(struct dg_trainer *t)
{
	int st;
	for (unsigned p = 0; p < t->m.nphases; p++) {
		struct dg_exec *e = t->exec[p];
		if ((st = dg_exec_feed(e, "x", DG_F32, t->images, t->batch * t->per)))
			return st;
		if (t->classes && (st = dg_exec_feed(e, "y", DG_I32, t->labels, t->batch)))
			return st;
		for (unsigned s = 0; s < t->steps[p]; s++)
			if ((st = dg_exec_run(e)))
				return dg_error_context(st, "%s: phase %s", t->f->name,
							t->m.phases[p].name);
	}
	struct dg_exec *last = t->exec[t->m.nphases - 1];
	for (unsigned i = 0; i < t->m.nterms; i++) {
		float v = dg_exec_scalar(last, i);
		if (!isfinite(v))
			return dg_error(DG_EDATA, "%s: term %s is %g at step %llu (try a lower "
					"--lr)", t->f->name, t->names[i], v,
					(unsigned long long)t->step + 1);
		t->sums[i] += v;
	}
	t->step++;
	return DG_OK;
}

static int log_epoch(struct dg_trainer *t, uint64_t epoch, double ips)
{
	char buf[64];
	int st;
	snprintf(buf, sizeof buf, "%llu,%llu", (unsigned long long)epoch + 1,
		 (unsigned long long)t->step);
	st = log_append(t, buf);
	for (unsigned i = 0; !st && i < t->m.nterms; i++) {
		snprintf(buf, sizeof buf, ",%.9g", t->avg[i]);
		st = log_append(t, buf);
	}
	snprintf(buf, sizeof buf, ",%.1f\n", ips);
	return st ? st : log_append(t, buf);
}

int dg_trainer_done(const struct dg_trainer *t, uint64_t epochs)
{
	return dg_trainer_epoch(t) >= epochs;
}

int dg_trainer_run(struct dg_trainer *t, uint64_t epochs, dg_train_callback cb, void *ctx,
		   const volatile sig_atomic_t *stop)
{
	double start = now(), estart = start;
	uint64_t done = 0, epoch, bi;   /* iterations in this epoch, this run */
	int st = DG_OK, halt = 0;
	struct dg_train_progress p = {
		.epochs = epochs, .batches = dg_trainer_batches(t), .nterms = t->m.nterms,
		.names = t->names, .terms = t->avg,
	};

	memset(t->sums, 0, sizeof t->sums);
	while (!halt && !dg_trainer_done(t, epochs) && !(stop && *stop)) {
		size_t n;
		dg_batcher_tell(t->b, &epoch, &bi);
		if ((st = dg_batcher_next(t->b, t->images, t->labels, &n)))
			break;
		double tn = now();
		p.epoch = epoch;
		p.step = t->step;
		p.elapsed = tn - start;
		p.epoch_seconds = tn - estart;
		if (n == 0) {
			/* the epoch ended: its averages go to the log */
			p.end_of_epoch = 1;
			p.batch = bi;
			p.images_per_s = p.epoch_seconds > 0 ?
				done * t->batch / p.epoch_seconds : 0;
			if ((st = log_epoch(t, epoch, p.images_per_s)))
				break;
			halt = cb && cb(ctx, &p);
			p.end_of_epoch = 0;
			memset(t->sums, 0, sizeof t->sums);
			memset(t->avg, 0, sizeof t->avg);
			done = 0;
			estart = now();
			continue;
		}
		if ((st = iterate(t)))
			break;
		done++;
		for (unsigned i = 0; i < t->m.nterms; i++)
			t->avg[i] = t->sums[i] / (double)done;
		tn = now();
		p.step = t->step;
		p.batch = bi + 1;
		p.elapsed = tn - start;
		p.epoch_seconds = tn - estart;
		p.images_per_s = p.epoch_seconds > 0 ? done * t->batch / p.epoch_seconds : 0;
		halt = cb && cb(ctx, &p);
	}
	return st;
}

int dg_trainer_checkpoint(struct dg_trainer *t, struct dg_checkpoint **out)
{
	struct dg_checkpoint *ck = dg_checkpoint_new(t->f->name);
	struct dg_meta *mf;
	uint64_t epoch, bi;
	int st = DG_OK;

	*out = NULL;
	if (!ck)
		return DG_ENOMEM;
	mf = dg_checkpoint_meta(ck);
	dg_batcher_tell(t->b, &epoch, &bi);
	st = dg_meta_setf(mf, "plugin_abi", "%d", DG_PLUGIN_ABI);
	for (size_t i = 0; !st && i < dg_hparams_count(t->hp); i++) {
		char key[128];
		snprintf(key, sizeof key, "hparam.%s", dg_hparams_row(t->hp, i)->name);
		st = dg_meta_set(mf, key, dg_hparams_text(t->hp, i));
	}
	if (!st)
		st = dg_meta_setf(mf, "data_shape", "%ux%ux%u", t->c, t->h, t->w) ||
		     dg_meta_setf(mf, "classes", "%u", t->classes) ||
		     dg_meta_setf(mf, "step", "%llu", (unsigned long long)t->step) ||
		     dg_meta_setf(mf, "epoch", "%llu", (unsigned long long)epoch) ||
		     /* the data order is keyed by (seed, epoch); noise by the
		      * graph's run counter, saved as optim/graph.runs */
		     dg_meta_setf(mf, "rng", "%llu:0:%llu", (unsigned long long)t->seed,
				  (unsigned long long)epoch) ||
		     dg_meta_setf(mf, "train.batch", "%llu", (unsigned long long)t->batch) ||
		     dg_meta_setf(mf, "train.lr", "%.9g", t->lr) ||
		     dg_meta_setf(mf, "train.seed", "%llu", (unsigned long long)t->seed) ||
		     dg_meta_setf(mf, "train.batch_index", "%llu", (unsigned long long)bi) ||
		     dg_meta_setf(mf, "train.binarize", "%d", t->binarize) ||
		     dg_meta_setf(mf, "train.device", "%s", t->device) ? DG_ENOMEM : DG_OK;
	for (size_t i = 0; !st && i < dg_var_count(t->g); i++) {
		char name[256];
		struct dg_array *a;
		member_name(t->g, i, name, sizeof name);
		if (!(st = dg_var_get(t->g, dg_var_name(t->g, i), &a)))
			st = dg_checkpoint_take_tensor(ck, name, a);
	}
	if (!st)
		st = dg_checkpoint_add_bytes(ck, "log.csv", t->log, t->loglen);
	if (st) {
		dg_checkpoint_free(ck);
		return st;
	}
	*out = ck;
	return DG_OK;
}

int dg_trainer_save(struct dg_trainer *t, const char *path, int flags)
{
	struct dg_checkpoint *ck;
	int st = dg_trainer_checkpoint(t, &ck);
	if (!st)
		st = dg_checkpoint_write(ck, path, flags);
	dg_checkpoint_free(ck);
	return st;
}

const char *dg_trainer_log(const struct dg_trainer *t, size_t *len)
{
	if (len)
		*len = t->loglen;
	return t->log ? t->log : "";
}

const struct dg_family *dg_trainer_family(const struct dg_trainer *t)
{
	return t->f;
}

uint64_t dg_trainer_epoch(const struct dg_trainer *t)
{
	uint64_t e, b;
	dg_batcher_tell(t->b, &e, &b);
	return e;
}

uint64_t dg_trainer_step(const struct dg_trainer *t)
{
	return t->step;
}

uint64_t dg_trainer_batches(const struct dg_trainer *t)
{
	return dg_dataset_info(t->ds)->count / t->batch;
}

const char *dg_trainer_device(const struct dg_trainer *t)
{
	return t->device;
}

int dg_inference_load(const struct dg_checkpoint *ck, const char *device, uint64_t batch,
		      uint64_t seed, struct dg_inference **out)
{
	const char *src = dg_checkpoint_source(ck);
	struct dg_inference *inf;
	struct dg_device_info dev;
	uint64_t abi = 0, classes = 0, dims[DG_MAX_RANK] = {0};
	unsigned rank;
	int st;

	*out = NULL;
	if ((st = dg_checkpoint_get_u64(ck, "plugin_abi", &abi)) ||
	    (st = dg_checkpoint_get_u64(ck, "classes", &classes)) ||
	    (st = dg_checkpoint_get_shape(ck, "data_shape", &rank, dims)))
		return st;
	if (abi != DG_PLUGIN_ABI)
		return dg_error(DG_EDATA, "%s: made with plugin ABI %llu, this dg has %d", src,
				(unsigned long long)abi, DG_PLUGIN_ABI);
	if (rank != 3 || !dims[0] || !dims[1] || !dims[2] || dims[0] > 65535 ||
	    dims[1] > 65535 || dims[2] > 65535 || classes > 1u << 30)
		return dg_error(DG_EDATA, "%s: manifest: bad data_shape or classes", src);
	if (!(inf = calloc(1, sizeof *inf)))
		return dg_error_nomem("a model", sizeof *inf);
	inf->channels = (unsigned)dims[0];
	inf->height = (unsigned)dims[1];
	inf->width = (unsigned)dims[2];
	inf->classes = (unsigned)classes;
	st = load_family(ck, &inf->f, &inf->hp);
	if (!st && !(st = dg_device_select(device && *device ? device : NULL, &dev)))
		snprintf(inf->device, sizeof inf->device, "%s", dev.id);
	if (!st && !(inf->g = dg_graph_new(seed)))
		st = DG_ENOMEM;
	if (!st && !(st = dg_model_build(inf->f, &inf->m, inf->g, inf->hp, inf->channels,
					 inf->height, inf->width, inf->classes,
					 batch ? batch : 1, 0)))
		inf->built = 1;
	for (size_t i = 0; !st && i < dg_var_count(inf->g); i++) {
		enum dg_var_kind k = dg_var_kind(inf->g, i);
		char name[256];
		if (k != DG_VAR_PARAM && k != DG_VAR_BUFFER)
			continue;
		member_name(inf->g, i, name, sizeof name);
		const struct dg_array *a = dg_checkpoint_tensor(ck, name);
		if (!a)
			st = dg_error(DG_EDATA, "%s: no member %s", src, name);
		else if ((st = dg_var_set(inf->g, dg_var_name(inf->g, i), a)))
			st = dg_error_context(st, "%s: %s", src, name);
	}
	if (st) {
		dg_inference_free(inf);
		return st;
	}
	*out = inf;
	return DG_OK;
}

void dg_inference_free(struct dg_inference *inf)
{
	if (!inf)
		return;
	if (inf->built)
		dg_model_release(inf->f, &inf->m);
	dg_graph_free(inf->g);
	dg_hparams_free(inf->hp);
	free(inf);
}
