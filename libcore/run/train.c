/* train.c — the training loop (dg/train.h): a model's phases, each with
 * its optimizer and its executable on one graph, run iteration by
 * iteration over fixed-size batches.
 *
 * Exact resume rests on three facts: the data order of an epoch is a pure
 * function of (seed, epoch) and a batcher can seek to any batch; every
 * piece of mutable engine state (parameters, buffers, averages, optimizer
 * moments, update step counts, the graph's run counter that keys random
 * draws) is a graph variable, readable and writable by name; and the
 * backends reduce without float atomics, so equal state gives equal bits.
 * Checkpoints (train_ck.c) save all of it, and each phase's optimizer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "run/dist.h"
#include "run/train_impl.h"
#include "dg/device.h"
#include "dg/error.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int log_header(struct dg_trainer *t)
{
	int st = dg__log_append(t, "epoch,step");
	for (size_t i = 0; !st && i < t->nterms; i++)
		st = dg__log_append(t, ",") || dg__log_append(t, t->names[i]);
	return st ? DG_ENOMEM : dg__log_append(t, ",images_per_s\n");
}

/* ---- building --------------------------------------------------------------- */

/* The data of the family's declared inputs, from the run's settings. */
static int bind_inputs(struct dg_trainer *t, const struct dg_train_config *cfg)
{
	const struct dg_dataset_info *di = dg_dataset_info(t->ds);
	for (size_t i = 0; cfg && i < cfg->ninputs; i++) {
		const struct dg_train_input *ti = &cfg->inputs[i];
		const struct dg_input_decl *d = NULL;
		for (const struct dg_input_decl *e = t->f->inputs; e && e->name; e++)
			if (!strcmp(e->name, ti->name))
				d = e;
		if (!d)
			return dg_error(DG_EUSAGE, "family %s has no input '%s'", t->f->name,
					ti->name);
		for (size_t j = 0; j < t->nin; j++)
			if (t->in[j].decl == d)
				return dg_error(DG_EUSAGE, "input %s given twice", d->name);
		if (t->nin == DG_MAX_INPUTS)
			return dg_error(DG_EUSAGE, "more than %d inputs", DG_MAX_INPUTS);
		const struct dg_dataset_info *ii = dg_dataset_info(ti->ds);
		if (ii->sequential)
			return dg_error(DG_EUSAGE, "%s: the data of input %s must be a file",
					ii->source, d->name);
		if (d->kind == DG_INPUT_PAIRED && ii->count != di->count)
			return dg_error(DG_EDATA, "%s: %llu images for input %s, paired one to one "
					"with the %llu of %s", ii->source,
					(unsigned long long)ii->count, d->name,
					(unsigned long long)di->count, di->source);
		if (ii->count < t->batch)
			return dg_error(DG_EUSAGE, "%s: %llu images for input %s, fewer than one "
					"batch of %llu", ii->source, (unsigned long long)ii->count,
					d->name, (unsigned long long)t->batch);
		struct input_run *r = &t->in[t->nin];
		struct dg_input_shape *s = &t->spec.in[t->nin];
		r->decl = d;
		r->ds = ti->ds;
		s->name = d->name;
		s->channels = ii->channels;
		s->height = ii->height;
		s->width = ii->width;
		r->per = (uint64_t)ii->channels * ii->height * ii->width;
		t->nin++;
	}
	t->spec.spec.inputs = t->spec.in;
	t->spec.spec.ninputs = t->nin;
	return DG_OK;
}

/* The optimizer of phase p: the one saved by a resumed run, or the
 * family's recommendation (dg's Adam when none), then the rates asked
 * for: --lr for every phase, then NAME=RATE for one. */
static int phase_optim(struct dg_trainer *t, const struct dg_phase *p, struct dg_optim *o)
{
	int saved = 0;
	*o = (struct dg_optim){.kind = DG_ADAM, .lr = (float)DG_TRAIN_DEFAULT_LR};
	for (size_t i = 0; i < t->nsaved; i++)
		if (!strcmp(t->saved[i].name, p->name)) {
			*o = t->saved[i].opt;
			saved = 1;
		}
	if (!saved && p->optim) {
		*o = *p->optim;
		if (!(o->lr > 0))
			o->lr = (float)DG_TRAIN_DEFAULT_LR;
	}
	if (t->lr > 0)
		o->lr = (float)t->lr;
	for (size_t i = 0; i < t->nphase_lr; i++) {
		const char *s = t->phase_lr[i], *eq = strchr(s, '=');
		size_t n = eq ? (size_t)(eq - s) : 0;
		if (n == strlen(p->name) && !strncmp(s, p->name, n))
			o->lr = (float)strtod(eq + 1, NULL);
	}
	/* spelled out, as the checkpoint will say it */
	dg_optim_resolve(o);
	return DG_OK;
}

/* Every --lr NAME=RATE must name a phase and give a rate. */
static int check_phase_lr(struct dg_trainer *t)
{
	for (size_t i = 0; i < t->nphase_lr; i++) {
		const char *s = t->phase_lr[i], *eq = strchr(s, '=');
		char *end;
		int found = 0;
		for (size_t p = 0; eq && p < t->nph; p++)
			found |= (size_t)(eq - s) == strlen(t->ph[p].p->name) &&
				 !strncmp(s, t->ph[p].p->name, (size_t)(eq - s));
		if (!found) {
			char names[512] = "";
			size_t used = 0;
			for (size_t p = 0; p < t->nph && used < sizeof names; p++)
				used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
							 p ? ", " : "", t->ph[p].p->name);
			return dg_error(DG_EUSAGE, "--lr %s: family %s has no phase '%.*s' (its "
					"phases: %s)", s, t->f->name,
					eq ? (int)(eq - s) : (int)strlen(s), s, names);
		}
		double v = strtod(eq + 1, &end);
		if (!eq[1] || *end || !(v > 0) || !isfinite(v))
			return dg_error(DG_EUSAGE, "--lr %s: not a positive rate", s);
	}
	return DG_OK;
}

/* Model, one optimizer update and one executable per phase; each
 * executable's outputs are its phase's terms. */
static int build(struct dg_trainer *t, const struct dg_train_config *cfg)
{
	const struct dg_dataset_info *di = dg_dataset_info(t->ds);
	struct dg_device_info dev;
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
	/* under mpirun the model is built for one shard of the batch */
	if ((st = dg__dist_setup(t, t->shards, t->dist_fast)))
		return st;
	t->spec.spec = (struct dg_model_spec){
		.channels = t->c, .height = t->h, .width = t->w, .classes = t->classes,
		.batch = t->exec_batch, .training = 1,
	};
	if ((st = bind_inputs(t, cfg)))
		return st;
	for (size_t i = 0; i < t->nin; i++)
		if (t->in[i].decl->kind == DG_INPUT_PAIRED && di->sequential)
			return dg_error(DG_EUSAGE, "%s: paired inputs need the training images "
					"in a file", di->source);
	if ((st = dg_device_select(t->device[0] ? t->device : NULL, &dev)))
		return st;
	snprintf(t->device, sizeof t->device, "%s", dev.id);

	if (!(t->g = dg_graph_new(t->seed)))
		return DG_ENOMEM;
	if ((st = dg_model_build(t->f, &t->m, t->g, t->hp, &t->spec.spec)))
		return st;
	t->built = 1;
	/* a resumed model's shapes are checked before anything is allocated */
	if (t->resume_ck && (st = dg__ck_check_model(t->resume_ck, t->g)))
		return st;
	t->nterms = dg_model_term_count(&t->m);
	for (size_t i = 0; i < t->nterms; i++) {
		t->names[i] = dg_model_term_at(&t->m, i, NULL)->name;
		t->maxs[i] = -INFINITY;
	}
	t->nph = dg_model_phase_count(&t->m);
	if (!(t->ph = calloc(t->nph, sizeof *t->ph)))
		return dg_error_nomem("phases", t->nph * sizeof *t->ph);
	for (size_t p = 0; p < t->nph; p++)
		t->ph[p].p = dg_model_phase_at(&t->m, p);
	if ((st = check_phase_lr(t)))
		return st;
	for (size_t p = 0; p < t->nph; p++) {
		struct phase_run *r = &t->ph[p];
		phase_optim(t, r->p, &r->opt);
		if (t->dist && (st = dg__dist_optimize(t, r)))
			return st;
		if (!t->dist && !(r->upd = dg_optimize(t->g, r->p->loss, r->p->groups, &r->opt)))
			return dg_error(dg_graph_status(t->g), "%s: phase %s: %s", t->f->name,
					r->p->name, dg_graph_error(t->g));
		if (r->p->ema_warmup && (st = dg_optim_ema_warmup(t->g, r->upd, 1)))
			return st;
		if (r->p->ema_buffers && r->opt.ema_decay > 0 &&
		    (st = dg_optim_ema_buffers(t->g, r->upd, r->p->groups)))
			return dg_error_context(st, "%s: phase %s", t->f->name, r->p->name);
		r->steps = r->p->steps ? r->p->steps : 1;
		r->every = r->p->every ? r->p->every : 1;
	}
	for (size_t p = 0; p < t->nph; p++) {
		struct phase_run *r = &t->ph[p];
		dg_tensor outs[DG_MAX_TERMS];
		for (size_t i = 0; i < t->nterms; i++) {
			size_t owner;
			const struct dg_term *term = dg_model_term_at(&t->m, i, &owner);
			if (owner == p) {
				r->term[r->nterms] = i;
				outs[r->nterms++] = term->value;
			}
		}
		st = t->dist ? dg__dist_compile(t, r, outs)
			     : dg_compile(t->g, t->device, r->nterms, outs, 1, &r->upd, &r->exec);
		if (st)
			return dg_error_context(st, "%s: phase %s on %s", t->f->name, r->p->name,
						t->device);
	}

	if (t->snap && (st = dg__trainer_build_snapshot(t)))
		return st;
	if ((st = dg__trainer_build_standing(t)))
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
	for (size_t i = 0; i < t->nin; i++) {
		struct input_run *r = &t->in[i];
		if (!(r->images = malloc(t->batch * r->per * sizeof *r->images)))
			return dg_error_nomem("a batch", t->batch * r->per * sizeof *r->images);
		if (r->decl->kind != DG_INPUT_UNPAIRED)
			continue;
		/* an order of its own: the seed mixed with the input's place in
		 * the family's table (not in the command line's order) */
		uint64_t place = (uint64_t)(r->decl - t->f->inputs) + 1;
		struct dg_batch_options ub = bo;
		ub.seed = t->seed ^ (0x9e3779b97f4a7c15ull * place);
		ub.shuffle = 1;
		ub.binarize = 0;
		if ((st = dg_batcher_new(r->ds, &ub, &r->b)))
			return st;
	}
	return DG_OK;
}

void dg__trainer_config(struct dg_trainer *t, const struct dg_train_config *cfg)
{
	t->batch = cfg && cfg->batch ? cfg->batch : DG_TRAIN_DEFAULT_BATCH;
	t->lr = cfg && cfg->lr > 0 ? cfg->lr : 0;
	t->phase_lr = cfg ? cfg->phase_lr : NULL;
	t->nphase_lr = cfg ? cfg->nphase_lr : 0;
	t->seed = cfg && cfg->seed_set ? cfg->seed : 0;
	t->binarize = cfg ? cfg->binarize : 0;
	t->snap = cfg ? cfg->snapshot : 0;
	t->shards = cfg ? cfg->shards : 0;
	t->dist_fast = cfg ? cfg->dist_fast : 0;
	if (cfg && cfg->device)
		snprintf(t->device, sizeof t->device, "%s", cfg->device);
}

int dg__trainer_build(struct dg_trainer *t, const struct dg_train_config *cfg)
{
	return build(t, cfg);
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
	dg__trainer_config(t, cfg);
	if ((st = build(t, cfg)) || (st = log_header(t))) {
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
	for (size_t p = 0; p < t->nph; p++) {
		dg_exec_free(t->ph[p].exec);
		dg_exec_free(t->ph[p].upd_exec);
		dg_fed_grads_free(&t->ph[p].fed);
	}
	free(t->ph);
	dg__dist_free(t);
	dg__trainer_free_snapshot(t);
	dg__trainer_free_standing(t);
	dg_exec_free(t->val_exec);
	if (t->built)
		dg_model_release(t->f, &t->m);
	dg_graph_free(t->g);
	dg_batcher_free(t->b);
	for (size_t i = 0; i < t->nin; i++) {
		dg_batcher_free(t->in[i].b);
		free(t->in[i].images);
	}
	dg_hparams_free(t->own_hp);
	free(t->saved);
	free(t->images);
	free(t->labels);
	free(t->log);
	free(t);
}

/* ---- the loop ------------------------------------------------------------------ */

/* What run() keeps between iterations. */
struct run_state {
	dg_train_callback cb;
	void *ctx;
	struct dg_train_progress p;
	double start, estart;
	uint64_t drawn;                /* batches drawn in this epoch, this run */
	int halt;
};

static void progress_times(struct dg_trainer *t, struct run_state *rs)
{
	uint64_t epoch, bi;
	double tn = now();
	dg_batcher_tell(t->b, &epoch, &bi);
	rs->p.epoch = epoch;
	rs->p.batch = bi;
	rs->p.step = t->step;
	rs->p.elapsed = tn - rs->start;
	rs->p.epoch_seconds = tn - rs->estart;
	rs->p.images_per_s = rs->p.epoch_seconds > 0 ?
		rs->drawn * t->batch / rs->p.epoch_seconds : 0;
}

static int log_epoch(struct dg_trainer *t, uint64_t epoch, double ips)
{
	char buf[64];
	int st;
	snprintf(buf, sizeof buf, "%llu,%llu", (unsigned long long)epoch + 1,
		 (unsigned long long)t->step);
	st = dg__log_append(t, buf);
	for (size_t i = 0; !st && i < t->nterms; i++) {
		snprintf(buf, sizeof buf, ",%.9g", t->avg[i]);
		st = dg__log_append(t, buf);
	}
	snprintf(buf, sizeof buf, ",%.1f\n", ips);
	return st ? st : dg__log_append(t, buf);
}

/* Before an epoch's first step: no value of a term seen yet. */
static void reset_maxs(struct dg_trainer *t)
{
	for (size_t i = 0; i < DG_MAX_TERMS; i++)
		t->maxs[i] = -INFINITY;
}

/* The watched terms whose every value of the epoch was below their
 * threshold, counted in a row, into the progress's warnings. */
static void judge_epoch(struct dg_trainer *t, struct dg_train_progress *p)
{
	p->nwarnings = 0;
	p->warnings = t->warnings;
	for (size_t i = 0; i < t->nterms; i++) {
		double below;
		const char *why;
		if (!dg_model_term_watch(&t->m, i, &below, &why))
			continue;
		if (!t->counts[i] || !(t->maxs[i] < below)) {
			t->low[i] = 0;
			continue;
		}
		t->warnings[p->nwarnings++] = (struct dg_train_warning){
			.term = t->names[i], .below = below, .max = t->maxs[i], .why = why,
			.epochs = ++t->low[i]};
	}
}

/* The batcher has just said that epoch `epoch` ended: its averages go
 * to the log and the callback hears of it. */
static int end_epoch(struct dg_trainer *t, struct run_state *rs, uint64_t epoch)
{
	int st;
	progress_times(t, rs);
	rs->p.epoch = epoch;
	rs->p.batch = rs->p.batches;
	rs->p.end_of_epoch = 1;
	if ((st = log_epoch(t, epoch, rs->p.images_per_s)) || (st = dg__trainer_check_finite(t)))
		return st;
	judge_epoch(t, &rs->p);
	if (rs->cb && rs->cb(rs->ctx, &rs->p))
		rs->halt = 1;
	rs->p.end_of_epoch = 0;
	rs->p.nwarnings = 0;
	reset_maxs(t);
	memset(t->sums, 0, sizeof t->sums);
	memset(t->avg, 0, sizeof t->avg);
	memset(t->counts, 0, sizeof t->counts);
	rs->drawn = 0;
	rs->estart = now();
	return DG_OK;
}

/* The next batch of each unpaired input, cycling through its set. */
static int draw_unpaired(struct input_run *r, uint64_t batch)
{
	for (int tries = 0; tries < 2; tries++) {
		size_t n;
		int st = dg_batcher_next(r->b, r->images, NULL, &n);
		if (st || n)
			return st;
	}
	return dg_error(DG_EINTERNAL, "input %s: no batch of %llu", r->decl->name,
			(unsigned long long)batch);
}

/* The next batch of x and y into t->images and t->labels, with the
 * paired inputs' images for the same items and the unpaired inputs'
 * next batches; *n = 0 at the end of an epoch (nothing drawn). */
static int draw(struct dg_trainer *t, size_t *n)
{
	int st = dg_batcher_next(t->b, t->images, t->labels, n);
	for (size_t i = 0; !st && *n && i < t->nin; i++) {
		struct input_run *r = &t->in[i];
		if (r->decl->kind == DG_INPUT_PAIRED)
			st = dg_dataset_gather(r->ds, dg_batcher_indices(t->b), *n, r->images,
					       NULL);
		else
			st = draw_unpaired(r, t->batch);
	}
	return st;
}

/* A fresh batch within an iteration: an epoch may end on the way. */
static int draw_fresh(struct dg_trainer *t, struct run_state *rs)
{
	for (;;) {
		uint64_t epoch, bi;
		size_t n;
		int st;
		dg_batcher_tell(t->b, &epoch, &bi);
		if ((st = draw(t, &n)))
			return st;
		if (n) {
			rs->drawn++;
			return DG_OK;
		}
		if ((st = end_epoch(t, rs, epoch)))
			return st;
	}
}

static int feed(struct dg_trainer *t, struct dg_exec *e)
{
	int st = dg_exec_feed(e, "x", DG_F32, t->images, t->batch * t->per);
	if (!st && t->classes)
		st = dg_exec_feed(e, "y", DG_I32, t->labels, t->batch);
	for (size_t i = 0; !st && i < t->nin; i++)
		st = dg_exec_feed(e, t->in[i].decl->name, DG_F32, t->in[i].images,
				  t->batch * t->in[i].per);
	return st;
}

/* One iteration: each phase due at this iteration, its steps times, each
 * step after a phase's first on a fresh batch; the phase's terms are
 * read after each of its runs. */
static int iterate(struct dg_trainer *t, struct run_state *rs)
{
	int st;
	for (size_t p = 0; p < t->nph; p++) {
		struct phase_run *r = &t->ph[p];
		if (t->step % r->every)
			continue;
		for (unsigned s = 0; s < r->steps; s++) {
			float vals[DG_MAX_TERMS];
			if (s > 0 && (st = draw_fresh(t, rs)))
				return st;
			if (t->dist)
				st = dg__dist_step(t, r, vals);
			else if (!(st = feed(t, r->exec)) && !(st = dg_exec_run(r->exec)))
				for (size_t i = 0; i < r->nterms; i++)
					vals[i] = dg_exec_scalar(r->exec, i);
			if (st)
				return dg_error_context(st, "%s: phase %s", t->f->name,
							r->p->name);
			for (size_t i = 0; i < r->nterms; i++) {
				size_t k = r->term[i];
				float v = vals[i];
				if (!isfinite(v))
					return dg_error(DG_EDATA, "%s: term %s is %g at step %llu "
							"(try a lower --lr)", t->f->name,
							t->names[k], v,
							(unsigned long long)t->step + 1);
				t->sums[k] += v;
				t->counts[k]++;
				if (v > t->maxs[k])
					t->maxs[k] = v;
			}
		}
	}
	for (size_t i = 0; i < t->nterms; i++)
		t->avg[i] = t->counts[i] ? t->sums[i] / (double)t->counts[i] : 0;
	t->step++;
	return DG_OK;
}

int dg_trainer_done(const struct dg_trainer *t, uint64_t epochs)
{
	return dg_trainer_epoch(t) >= epochs;
}

int dg_trainer_run(struct dg_trainer *t, uint64_t epochs, dg_train_callback cb, void *ctx,
		   const volatile sig_atomic_t *stop)
{
	struct run_state rs = {
		.cb = cb, .ctx = ctx,
		.p = {.epochs = epochs, .batches = dg_trainer_batches(t),
		      .nterms = (unsigned)t->nterms, .names = t->names, .terms = t->avg},
	};
	int st = DG_OK;

	rs.start = rs.estart = now();
	for (;;) {
		uint64_t epoch, bi;
		size_t n;
		int want = rs.halt || (stop && *stop);
		/* every rank stops after the same iteration */
		if (t->dist)
			want = dg__dist_any(want);
		if (want || dg_trainer_done(t, epochs))
			break;
		dg_batcher_tell(t->b, &epoch, &bi);
		if ((st = draw(t, &n)))
			break;
		if (n == 0) {
			if ((st = end_epoch(t, &rs, epoch)))
				break;
			continue;
		}
		rs.drawn++;
		if ((st = iterate(t, &rs)))
			break;
		progress_times(t, &rs);
		if (cb && cb(ctx, &rs.p))
			rs.halt = 1;
	}
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
