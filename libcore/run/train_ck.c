/* train_ck.c — a training run saved in a checkpoint and continued from
 * one: the manifest (hyperparameters, shapes, positions, each phase's
 * optimizer), every graph variable as a member, and the log. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/train_impl.h"
#include "dg/error.h"
#include "dg/stream.h"

int dg__log_append(struct dg_trainer *t, const char *s)
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

/* ---- an optimizer as text --------------------------------------------------- */

static const char *const kinds[] = {[DG_SGD] = "sgd", [DG_ADAM] = "adam",
				    [DG_ADAMW] = "adamw", [DG_RMSPROP] = "rmsprop"};
static const char *const schedules[] = {[DG_LR_CONSTANT] = "constant", [DG_LR_STEP] = "step",
					[DG_LR_COSINE] = "cosine"};
enum ftype { F_FLOAT, F_INT, F_U64 };
static const struct {
	const char *key;
	size_t off;
	enum ftype type;
} fields[] = {
	{"lr", offsetof(struct dg_optim, lr), F_FLOAT},
	{"beta1", offsetof(struct dg_optim, beta1), F_FLOAT},
	{"beta2", offsetof(struct dg_optim, beta2), F_FLOAT},
	{"eps", offsetof(struct dg_optim, eps), F_FLOAT},
	{"momentum", offsetof(struct dg_optim, momentum), F_FLOAT},
	{"nesterov", offsetof(struct dg_optim, nesterov), F_INT},
	{"weight_decay", offsetof(struct dg_optim, weight_decay), F_FLOAT},
	{"clip_norm", offsetof(struct dg_optim, clip_norm), F_FLOAT},
	{"clip_value", offsetof(struct dg_optim, clip_value), F_FLOAT},
	{"ema_decay", offsetof(struct dg_optim, ema_decay), F_FLOAT},
	{"warmup", offsetof(struct dg_optim, schedule.warmup), F_U64},
	{"step_size", offsetof(struct dg_optim, schedule.step_size), F_U64},
	{"gamma", offsetof(struct dg_optim, schedule.gamma), F_FLOAT},
	{"total", offsetof(struct dg_optim, schedule.total), F_U64},
	{"min_lr", offsetof(struct dg_optim, schedule.min_lr), F_FLOAT},
};
#define NFIELDS (sizeof fields / sizeof fields[0])
#define NKINDS (sizeof kinds / sizeof kinds[0])
#define NSCHEDULES (sizeof schedules / sizeof schedules[0])

int dg__optim_format(const struct dg_optim *o, char *buf, size_t size)
{
	size_t used;
	if (o->kind < DG_SGD || (size_t)o->kind >= NKINDS ||
	    (size_t)o->schedule.kind >= NSCHEDULES)
		return dg_error(DG_EINTERNAL, "optimizer kind %d or schedule %d unknown",
				(int)o->kind, (int)o->schedule.kind);
	used = (size_t)snprintf(buf, size, "%s schedule=%s", kinds[o->kind],
				schedules[o->schedule.kind]);
	for (size_t i = 0; i < NFIELDS && used < size; i++) {
		const char *p = (const char *)o + fields[i].off;
		if (fields[i].type == F_FLOAT) {
			float v;
			memcpy(&v, p, sizeof v);
			used += (size_t)snprintf(buf + used, size - used, " %s=%.9g", fields[i].key,
						 (double)v);
		} else if (fields[i].type == F_INT) {
			int v;
			memcpy(&v, p, sizeof v);
			used += (size_t)snprintf(buf + used, size - used, " %s=%d", fields[i].key, v);
		} else {
			uint64_t v;
			memcpy(&v, p, sizeof v);
			used += (size_t)snprintf(buf + used, size - used, " %s=%llu", fields[i].key,
						 (unsigned long long)v);
		}
	}
	return used < size ? DG_OK : dg_error(DG_EINTERNAL, "optimizer text too long");
}

static int word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && !strncmp(w, s, n);
}

int dg__optim_parse(const char *key, const char *text, struct dg_optim *o)
{
	const char *p = text;
	size_t n = strcspn(p, " ");
	memset(o, 0, sizeof *o);
	for (size_t k = DG_SGD; k < NKINDS; k++)
		if (word_is(p, n, kinds[k]))
			o->kind = (enum dg_optim_kind)k;
	if (!o->kind)
		return dg_error(DG_EDATA, "%s: unknown optimizer '%.*s'", key, (int)n, p);
	for (p += n; *p == ' '; p += n) {
		p++;
		n = strcspn(p, " ");
		const char *eq = memchr(p, '=', n), *v = eq ? eq + 1 : NULL;
		size_t kn = eq ? (size_t)(eq - p) : n, vn = eq ? n - kn - 1 : 0;
		char val[64], *end;
		int known = 0;
		if (!eq || vn == 0 || vn >= sizeof val)
			return dg_error(DG_EDATA, "%s: '%.*s' is not name=value", key, (int)n, p);
		memcpy(val, v, vn);
		val[vn] = 0;
		if (word_is(p, kn, "schedule")) {
			for (size_t k = 0; k < NSCHEDULES; k++)
				if (!strcmp(val, schedules[k])) {
					o->schedule.kind = (enum dg_schedule_kind)k;
					known = 1;
				}
			if (!known)
				return dg_error(DG_EDATA, "%s: unknown schedule '%s'", key, val);
			continue;
		}
		/* what the phase's family declares, written for readers */
		if (word_is(p, kn, "steps") || word_is(p, kn, "every"))
			continue;
		for (size_t i = 0; i < NFIELDS && !known; i++) {
			if (!word_is(p, kn, fields[i].key))
				continue;
			char *dst = (char *)o + fields[i].off;
			known = 1;
			if (fields[i].type == F_FLOAT) {
				float f = strtof(val, &end);
				if (*end || !isfinite(f))
					known = -1;
				memcpy(dst, &f, sizeof f);
			} else {
				unsigned long long u = strtoull(val, &end, 10);
				if (*end || val[0] == '-')
					known = -1;
				if (fields[i].type == F_INT) {
					int iv = u > 1 ? 1 : (int)u;
					memcpy(dst, &iv, sizeof iv);
				} else {
					uint64_t uv = u;
					memcpy(dst, &uv, sizeof uv);
				}
			}
		}
		if (known != 1)
			return dg_error(DG_EDATA, "%s: %s '%.*s'", key,
					known ? "bad value in" : "unknown setting", (int)n, p);
	}
	if (*p)
		return dg_error(DG_EDATA, "%s: trailing '%s'", key, p);
	o->exact = 1;   /* the values as saved, zeros included */
	return DG_OK;
}

/* ---- saving ------------------------------------------------------------------ */

static int put_phases(struct dg_trainer *t, struct dg_meta *mf)
{
	for (size_t p = 0; p < t->nph; p++) {
		const struct phase_run *r = &t->ph[p];
		char key[128], text[1024];
		int st = dg__optim_format(&r->opt, text, sizeof text);
		size_t used = strlen(text);
		if (st)
			return st;
		snprintf(text + used, sizeof text - used, " steps=%u every=%u", r->steps, r->every);
		snprintf(key, sizeof key, "phase.%s", r->p->name);
		if ((st = dg_meta_set(mf, key, text)))
			return st;
	}
	/* the current epoch's term sums, so that a resumed run logs the
	 * averages a run without the stop would have */
	for (size_t i = 0; i < t->nterms; i++) {
		char key[128];
		snprintf(key, sizeof key, "train.term.%s", t->names[i]);
		if (dg_meta_setf(mf, key, "%.17g %llu", t->sums[i], (unsigned long long)t->counts[i]))
			return DG_ENOMEM;
	}
	/* where each unpaired input's own order is */
	for (size_t i = 0; i < t->nin; i++) {
		uint64_t e, b;
		char key[128];
		if (!t->in[i].b)
			continue;
		dg_batcher_tell(t->in[i].b, &e, &b);
		snprintf(key, sizeof key, "train.input.%s", t->in[i].decl->name);
		if (dg_meta_setf(mf, key, "%llu:%llu", (unsigned long long)e, (unsigned long long)b))
			return DG_ENOMEM;
	}
	return DG_OK;
}

/* The kinds of variable that are the model: what must stay finite. */
static int is_model(enum dg_var_kind k)
{
	return k == DG_VAR_PARAM || k == DG_VAR_BUFFER || k == DG_VAR_EMA;
}

int dg__trainer_check_finite(struct dg_trainer *t)
{
	for (size_t i = 0; i < dg_var_count(t->g); i++) {
		struct dg_array *a;
		char what[400], member[300];
		int st;
		if (!is_model(dg_var_kind(t->g, i)))
			continue;
		if ((st = dg_var_get(t->g, dg_var_name(t->g, i), &a)))
			return st;
		dg__member_name(t->g, i, member, sizeof member);
		snprintf(what, sizeof what, "%s: after step %llu, %s", t->f->name,
			 (unsigned long long)t->step, member);
		st = dg__check_finite(a, what, "training stopped; try a lower --lr");
		dg_array_free(a);
		if (st)
			return st;
	}
	return DG_OK;
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
		st = dg__ck_put_spec(ck, &t->spec.spec);
	if (!st)
		st = dg_meta_setf(mf, "step", "%llu", (unsigned long long)t->step) ||
		     dg_meta_setf(mf, "epoch", "%llu", (unsigned long long)epoch) ||
		     /* the data order is keyed by (seed, epoch); noise by the
		      * graph's run counter, saved as optim/graph.runs */
		     dg_meta_setf(mf, "rng", "%llu:0:%llu", (unsigned long long)t->seed,
				  (unsigned long long)epoch) ||
		     dg_meta_setf(mf, "train.batch", "%llu", (unsigned long long)t->batch) ||
		     dg_meta_setf(mf, "train.seed", "%llu", (unsigned long long)t->seed) ||
		     dg_meta_setf(mf, "train.batch_index", "%llu", (unsigned long long)bi) ||
		     dg_meta_setf(mf, "train.binarize", "%d", t->binarize) ||
		     dg_meta_setf(mf, "train.device", "%s", t->device) ? DG_ENOMEM : DG_OK;
	/* the shards of a data-parallel run, which its continuation keeps */
	if (!st && t->dist && !t->dist_fast)
		st = dg_meta_setf(mf, "train.shards", "%llu",
				  (unsigned long long)(t->batch / t->exec_batch)) ? DG_ENOMEM : DG_OK;
	if (!st)
		st = put_phases(t, mf);
	struct dg_array **averages = NULL;
	if (!st)
		st = dg__trainer_standing_begin(t, &averages);
	for (size_t i = 0; !st && i < dg_var_count(t->g); i++) {
		char name[300];
		struct dg_array *a;
		dg__member_name(t->g, i, name, sizeof name);
		if (!name[0])
			continue;
		if ((st = dg_var_get(t->g, dg_var_name(t->g, i), &a)))
			break;
		/* a model gone non-finite is not saved over the last good one */
		if (is_model(dg_var_kind(t->g, i))) {
			char what[400];
			snprintf(what, sizeof what, "%s: after step %llu, %s", t->f->name,
				 (unsigned long long)t->step, name);
			if ((st = dg__check_finite(a, what, "not saved: the last checkpoint "
						   "is kept"))) {
				dg_array_free(a);
				break;
			}
		}
		st = dg_checkpoint_take_tensor(ck, name, a);
	}
	int st2 = dg__trainer_standing_end(t, averages);
	st = st ? st : st2;
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

/* ---- resuming ------------------------------------------------------------------ */

/* Manifest value as a double (an ABI 1 checkpoint's train.lr). */
static int get_double(const struct dg_checkpoint *ck, const char *key, double *out)
{
	const char *v = dg_meta_get(dg_checkpoint_cmeta(ck), key);
	char *end;
	if (!v || !*v)
		return dg_error(DG_EDATA, "%s: manifest has no %s", dg_checkpoint_source(ck), key);
	*out = strtod(v, &end);
	if (*end || !isfinite(*out) || !(*out > 0))
		return dg_error(DG_EDATA, "%s: manifest: %s=%s is not a rate",
				dg_checkpoint_source(ck), key, v);
	return DG_OK;
}

/* Each phase.<name> of the manifest into t->saved. */
static int read_phases(struct dg_trainer *t, const struct dg_checkpoint *ck)
{
	const struct dg_meta *mf = dg_checkpoint_cmeta(ck);
	for (size_t i = 0; i < dg_meta_count(mf); i++) {
		const char *key = dg_meta_key(mf, i);
		if (strncmp(key, "phase.", 6) != 0)
			continue;
		struct saved_phase *a = realloc(t->saved, (t->nsaved + 1) * sizeof *a);
		if (!a)
			return dg_error_nomem("phases", (t->nsaved + 1) * sizeof *a);
		t->saved = a;
		struct saved_phase *s = &t->saved[t->nsaved];
		if (strlen(key + 6) >= sizeof s->name)
			return dg_error(DG_EDATA, "%s: manifest: %s: name too long",
					dg_checkpoint_source(ck), key);
		strcpy(s->name, key + 6);
		int st = dg__optim_parse(key, dg_meta_value(mf, i), &s->opt);
		if (st)
			return dg_error_context(st, "%s: manifest", dg_checkpoint_source(ck));
		t->nsaved++;
	}
	return DG_OK;
}

/* The other inputs' data must be those the model was trained with:
 * the same names and shapes. */
static int check_inputs(struct dg_trainer *t, const struct dg_spec_store *saved,
			const char *src)
{
	for (size_t i = 0; i < saved->spec.ninputs; i++) {
		const struct dg_input_shape *s = &saved->in[i], *g = NULL;
		for (size_t j = 0; j < t->nin; j++)
			if (!strcmp(t->spec.in[j].name, s->name))
				g = &t->spec.in[j];
		if (!g)
			return dg_error(DG_EUSAGE, "%s was trained with input %s: give its data "
					"again (-d %s=DATA)", src, s->name, s->name);
		if (g->channels != s->channels || g->height != s->height || g->width != s->width)
			return dg_error(DG_EDATA, "input %s: images are %ux%ux%u, the model %s was "
					"trained on %ux%ux%u", s->name, g->channels, g->height,
					g->width, src, s->channels, s->height, s->width);
	}
	return DG_OK;
}

/* Whether g's variable called name is a buffer. */
static int is_buffer(const struct dg_graph *g, const char *name)
{
	for (size_t i = 0; i < dg_var_count(g); i++)
		if (!strcmp(dg_var_name(g, i), name))
			return dg_var_kind(g, i) == DG_VAR_BUFFER;
	return 0;
}

static int restore(struct dg_trainer *t, const struct dg_checkpoint *ck)
{
	const struct dg_meta *mf = dg_checkpoint_cmeta(ck);
	const char *src = dg_checkpoint_source(ck);
	uint64_t epoch, bi;
	size_t len;
	int st;

	for (size_t i = 0; i < dg_var_count(t->g); i++) {
		char name[300];
		dg__member_name(t->g, i, name, sizeof name);
		if (!name[0])
			continue;
		const struct dg_array *a = dg_checkpoint_tensor(ck, name);
		if (!a && dg_var_kind(t->g, i) == DG_VAR_EMA && is_buffer(t->g, name + 4)) {
			/* an average of a buffer new since the checkpoint was
			 * written (dg_optim_ema_buffers) starts at the buffer */
			char buf[320];
			snprintf(buf, sizeof buf, "params/%s", name + 4);
			a = dg_checkpoint_tensor(ck, buf);
		}
		if (!a)
			return DG_EDATA;
		if ((st = dg_var_set(t->g, dg_var_name(t->g, i), a)))
			return dg_error_context(st, "%s: %s", src, name);
	}
	if ((st = dg_checkpoint_get_u64(ck, "step", &t->step)) ||
	    (st = dg_checkpoint_get_u64(ck, "epoch", &epoch)) ||
	    (st = dg_checkpoint_get_u64(ck, "train.batch_index", &bi)))
		return st;
	/* positions a run could have reached: no wrapping counters */
	if (bi > dg_trainer_batches(t) || t->step >= 1ull << 62 || epoch >= 1ull << 40)
		return dg_error(DG_EDATA, "%s: manifest: step %llu, epoch %llu, batch %llu of "
				"%llu: not a position of this run", src,
				(unsigned long long)t->step, (unsigned long long)epoch,
				(unsigned long long)bi, (unsigned long long)dg_trainer_batches(t));
	if ((st = dg_batcher_seek(t->b, epoch, bi)))
		return st;
	for (size_t i = 0; i < t->nin; i++) {
		char key[128];
		unsigned long long e, b;
		int used = 0;
		if (!t->in[i].b)
			continue;
		snprintf(key, sizeof key, "train.input.%s", t->in[i].decl->name);
		const char *v = dg_meta_get(mf, key);
		if (!v || sscanf(v, "%llu:%llu%n", &e, &b, &used) != 2 || v[used])
			return dg_error(DG_EDATA, "%s: manifest: no position %s", src, key);
		if ((st = dg_batcher_seek(t->in[i].b, e, b)))
			return st;
	}
	for (size_t i = 0; i < t->nterms; i++) {
		char key[128];
		unsigned long long c;
		int used = 0;
		snprintf(key, sizeof key, "train.term.%s", t->names[i]);
		const char *v = dg_meta_get(mf, key);
		if (!v)         /* older checkpoints: the epoch's averages restart */
			continue;
		if (sscanf(v, "%lf %llu%n", &t->sums[i], &c, &used) != 2 || v[used] ||
		    !isfinite(t->sums[i]))
			return dg_error(DG_EDATA, "%s: manifest: bad %s", src, key);
		t->counts[i] = c;
	}
	const char *log = dg_checkpoint_bytes(ck, "log.csv", &len);
	if (!log)
		return DG_EDATA;
	return dg__log_append(t, log);
}

int dg_trainer_resume(const struct dg_checkpoint *ck, struct dg_dataset *ds,
		      const struct dg_train_config *cfg, struct dg_trainer **out)
{
	const char *src = dg_checkpoint_source(ck);
	const struct dg_dataset_info *di = dg_dataset_info(ds);
	struct dg_spec_store saved;
	struct dg_trainer *t;
	uint64_t abi = 0, batch = 0, seed = 0, bin = 0;
	double lr = 0;
	int st;

	*out = NULL;
	if ((st = dg__ck_abi(ck, &abi)) ||
	    (st = dg_checkpoint_get_u64(ck, "train.batch", &batch)) ||
	    (st = dg_checkpoint_get_u64(ck, "train.seed", &seed)) ||
	    (st = dg_checkpoint_get_u64(ck, "train.binarize", &bin)) ||
	    (abi == 1 && (st = get_double(ck, "train.lr", &lr))) ||
	    (st = dg__ck_spec(ck, batch, 1, &saved)))
		return st;
	if (di->channels != saved.spec.channels || di->height != saved.spec.height ||
	    di->width != saved.spec.width)
		return dg_error(DG_EDATA, "%s: images are %ux%ux%u, the model %s was trained "
				"on %ux%ux%u", di->source, di->channels, di->height, di->width,
				src, saved.spec.channels, saved.spec.height, saved.spec.width);
	/* labels change a conditional model's inputs: they must agree */
	if ((di->has_labels ? di->classes : 0) != saved.spec.classes)
		return dg_error(DG_EDATA, "%s: %u classes in the data, %u when %s was trained",
				di->source, di->has_labels ? di->classes : 0,
				saved.spec.classes, src);
	if (!(t = calloc(1, sizeof *t)))
		return dg_error_nomem("trainer", sizeof *t);
	t->ds = ds;
	dg__trainer_config(t, cfg);
	/* what the user did not set comes from the checkpoint: exact resume */
	if (!cfg || !cfg->batch)
		t->batch = batch;
	if (!cfg || !cfg->seed_set)
		t->seed = seed;
	if (!cfg || !cfg->binarize)
		t->binarize = (int)bin;
	if ((!cfg || !cfg->shards) && dg_meta_get(dg_checkpoint_cmeta(ck), "train.shards")) {
		uint64_t n = 0;
		if ((st = dg_checkpoint_get_u64(ck, "train.shards", &n))) {
			dg_trainer_free(t);
			return st;
		}
		t->shards = n > 0 && n < 1u << 20 ? (unsigned)n : 0;
	}
	/* ABI 1 saved one rate, which it forced onto every phase */
	if (abi == 1 && !(t->lr > 0))
		t->lr = lr;
	st = read_phases(t, ck);
	if (!st)
		st = dg__ck_family(ck, &t->f, &t->own_hp);
	t->hp = t->own_hp;
	t->resume_ck = ck;
	if (!st)
		st = dg__trainer_build(t, cfg);
	if (!st)
		st = check_inputs(t, &saved, src);
	if (!st)
		st = restore(t, ck);
	t->resume_ck = NULL;
	if (st) {
		dg_trainer_free(t);
		return st;
	}
	*out = t;
	return DG_OK;
}
