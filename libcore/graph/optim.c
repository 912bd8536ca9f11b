/* graph/optim.c — optimizers as graph nodes: dg_optimize appends the
 * backward pass, gradient clipping and one fused update kernel per
 * parameter, so a compiled step includes its update (no host loop). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/graph_impl.h"

double dg_schedule_lr(const struct dg_optim *opt, uint64_t t)
{
	const struct dg_schedule *s = &opt->schedule;
	uint64_t k = t ? t - 1 : 0;   /* steps done before this one */
	double lr = opt->lr;

	if (s->warmup && k < s->warmup)
		return lr * (double)(k + 1) / (double)s->warmup;
	k -= s->warmup;
	switch (s->kind) {
	case DG_LR_CONSTANT:
		return lr;
	case DG_LR_STEP:
		return s->step_size ? lr * pow(s->gamma, (double)(k / s->step_size)) : lr;
	case DG_LR_COSINE: {
		double T = s->total > s->warmup ? (double)(s->total - s->warmup) : 1;
		double u = (double)k < T ? (double)k : T;
		return s->min_lr + (lr - s->min_lr) * 0.5 * (1 + cos(M_PI * u / T));
	}
	}
	return lr;
}

/* "<param>.<suffix>"; a second optimizer of the same parameter (a lazy
 * regularizer's phase beside the main one) keeps state of its own,
 * "<param>.<suffix>.u<update id>", so the first keeps the names
 * checkpoints have always had. */
static int32_t state_var(struct dg_graph *g, const char *param, const char *suffix,
			 const struct dg_var *p, int id)
{
	char name[512];
	snprintf(name, sizeof name, "%s.%s", param, suffix);
	if (dg__find_var(g, name) >= 0)
		snprintf(name, sizeof name, "%s.%s.u%d", param, suffix, id);
	return dg__new_var(g, name, DG_VAR_STATE, p->group, p->rank, p->dims,
			   (struct dg_init){DG_INIT_ZEROS, 0, 0});
}

int dg_optim_ema_warmup(struct dg_graph *g, int update, int on)
{
	if (g->status)
		return g->status;
	if (update <= 0 || (size_t)update >= g->nupds)
		return dg_error(DG_EUSAGE, "ema warm-up: %d is not an update id", update);
	g->upds[update].ema_warmup = on != 0;
	return DG_OK;
}

/* A new average of variable v, "<name>.ema", starting at v's value. */
static int32_t new_average(struct dg_graph *g, int32_t v)
{
	char ename[512];
	struct dg_var pv = g->vars[v];  /* vars may move as one is added */
	snprintf(ename, sizeof ename, "%s.ema", pv.name);
	int32_t e = dg__new_var(g, ename, DG_VAR_EMA, pv.group, pv.rank, pv.dims,
				(struct dg_init){DG_INIT_ZEROS, 0, 0});
	if (e < 0)
		return -1;
	struct dg_array *a = NULL;
	if (dg_var_get(g, g->vars[v].name, &a) || dg_var_set(g, g->vars[e].name, a)) {
		dg_array_free(a);
		dg__fail(g, DG_EINTERNAL, "optimize: %s", dg_errmsg());
		return -1;
	}
	dg_array_free(a);
	g->vars[v].ema = e;
	return e;
}

int dg_optim_ema_buffers(struct dg_graph *g, int update, unsigned group_mask)
{
	if (g->status)
		return g->status;
	if (update <= 0 || (size_t)update >= g->nupds)
		return dg_error(DG_EUSAGE, "ema buffers: %d is not an update id", update);
	float ef = g->upds[update].opt.ema_decay;
	if (!(ef > 0))
		return dg_error(DG_EUSAGE, "ema buffers: update %d keeps no average", update);
	int64_t ia = update;
	size_t n = g->nvars;   /* not the averages added below */
	for (size_t v = 0; v < n && !g->status; v++) {
		if (g->vars[v].kind != DG_VAR_BUFFER || !((group_mask >> g->vars[v].group) & 1))
			continue;
		int32_t e = g->vars[v].ema >= 0 ? g->vars[v].ema : new_average(g, (int32_t)v);
		if (e < 0)
			break;
		uint32_t ein[2] = {g->vars[e].node, g->vars[v].node};
		dg__op(g, OP_EMA, 2, ein, &ia, 1, &ef, 1);
	}
	return g->status ? dg_error(g->status, "%s", g->err) : DG_OK;
}

/* The decay an update's EMA uses at its step t (1-based). */
float dg__ema_decay(const struct dg_update *u, uint64_t t)
{
	float d = u->opt.ema_decay;
	if (!u->ema_warmup)
		return d;
	double w = (1.0 + (double)t) / (10.0 + (double)t);
	return w < d ? (float)w : d;
}

void dg_optim_resolve(struct dg_optim *o)
{
	if (o->exact)
		return;
	if (!o->beta1)
		o->beta1 = 0.9f;
	if (!o->beta2)
		o->beta2 = o->kind == DG_RMSPROP ? 0.99f : 0.999f;
	if (!o->eps)
		o->eps = 1e-8f;
	o->exact = 1;
}

/* dg_optimize, and dg_optimize_fed when fed is not NULL: the update then
 * reads inputs "grad<id>:<param>" instead of the gradients, which go to
 * fed->grads. */
static int optimize(struct dg_graph *g, dg_tensor loss, unsigned mask, const struct dg_optim *o,
		    struct dg_fed_grads *fed)
{
	struct dg_optim opt = *o;
	size_t np = 0;
	dg_tensor *ps = NULL, *gs = NULL;
	char tname[64];

	if (g->status)
		return 0;
	if (opt.kind < DG_SGD || opt.kind > DG_RMSPROP) {
		dg__fail(g, DG_EUSAGE, "optimize: unknown optimizer %d", (int)opt.kind);
		return 0;
	}
	dg_optim_resolve(&opt);
	ps = malloc((g->nvars + 1) * sizeof *ps);
	gs = malloc((g->nvars + 1) * sizeof *gs);
	struct dg_update *u = realloc(g->upds, (g->nupds + 1) * sizeof *u);
	if (!ps || !gs || !u) {
		free(ps);
		free(gs);
		if (u)
			g->upds = u;
		dg__fail(g, DG_ENOMEM, "optimize: out of memory");
		return 0;
	}
	g->upds = u;
	for (size_t i = 0; i < g->nvars; i++)
		if (g->vars[i].kind == DG_VAR_PARAM && (mask >> g->vars[i].group) & 1)
			ps[np++] = (dg_tensor){g->vars[i].node};
	if (!np) {
		free(ps);
		free(gs);
		dg__fail(g, DG_EUSAGE, "optimize: no parameters in groups 0x%x", mask);
		return 0;
	}
	int id = (int)g->nupds;
	snprintf(tname, sizeof tname, "update%d.t", id);
	uint64_t none = 0;
	int32_t tvar = dg__new_var(g, tname, DG_VAR_COUNTER, 0, 0, &none, (struct dg_init){0});
	if (tvar < 0 || dg_gradients(g, loss, np, ps, gs)) {
		free(ps);
		free(gs);
		return 0;
	}
	if (fed) {
		fed->n = 0;
		for (size_t i = 0; i < np && !g->status; i++) {
			const struct dg_var *pv = &g->vars[g->nodes[ps[i].id].var];
			char iname[512];
			snprintf(iname, sizeof iname, "grad%d:%s", id, pv->name);
			fed->params[i] = ps[i];
			fed->grads[i] = gs[i];
			if (!(fed->names[i] = strdup(iname))) {
				dg__fail(g, DG_ENOMEM, "optimize: out of memory");
				break;
			}
			fed->n = i + 1;
			gs[i] = dg_input(g, iname, DG_F32, pv->rank, pv->dims);
			fed->inputs[i] = gs[i];
		}
	}
	if (opt.clip_norm > 0) {
		/* One scale for all gradients: min(1, c / ‖g‖). */
		dg_tensor total = dg_scalar(g, 0);
		for (size_t i = 0; i < np; i++)
			total = dg_add(g, total, dg_sum(g, dg_square(g, gs[i]), DG_AXES_ALL, 0));
		dg_tensor c = dg_scalar(g, opt.clip_norm);
		dg_tensor scale = dg_div(g, c, dg_maximum(g, dg_sqrt(g, total), c));
		for (size_t i = 0; i < np; i++)
			gs[i] = dg_mul(g, gs[i], scale);
	}
	enum dg_op op = opt.kind == DG_SGD ? OP_UPD_SGD : opt.kind == DG_RMSPROP ? OP_UPD_RMSPROP
									      : OP_UPD_ADAM;
	for (size_t i = 0; i < np && !g->status; i++) {
		int32_t v = g->nodes[ps[i].id].var, st[3] = {-1, -1, -1};
		const char *name = g->vars[v].name;
		struct dg_var pv = g->vars[v];  /* vars may move as state is added */
		if (opt.kind == DG_ADAM || opt.kind == DG_ADAMW) {
			st[0] = state_var(g, name, "m", &pv, id);
			st[1] = state_var(g, name, "v", &pv, id);
		} else if (opt.kind == DG_RMSPROP) {
			st[0] = state_var(g, name, "sq", &pv, id);
			if (opt.momentum > 0)
				st[1] = state_var(g, name, "mom", &pv, id);
		} else if (opt.momentum > 0) {
			st[0] = state_var(g, name, "mom", &pv, id);
		}
		if (g->status)
			break;
		float fa[8] = {opt.kind == DG_SGD || opt.kind == DG_RMSPROP ? opt.momentum : opt.beta1,
			       opt.beta2, opt.eps, opt.weight_decay, opt.clip_value,
			       (float)opt.nesterov, (float)(opt.kind == DG_ADAMW), 0};
		int64_t ia = id;
		uint32_t in[2] = {ps[i].id, gs[i].id};
		uint32_t n = dg__op(g, op, 2, in, &ia, 1, fa, 8);
		if (n)
			memcpy(g->nodes[n].state, st, sizeof st);
		if (opt.ema_decay > 0 && n && g->vars[v].ema >= 0) {
			/* an average kept already (another phase's): it follows
			 * this update too */
			float ef = opt.ema_decay;
			uint32_t ein[2] = {g->vars[g->vars[v].ema].node, ps[i].id};
			dg__op(g, OP_EMA, 2, ein, &ia, 1, &ef, 1);
		} else if (opt.ema_decay > 0 && n) {
			/* The average starts at the initial parameters. */
			int32_t e = new_average(g, v);
			if (e < 0)
				break;
			float ef = opt.ema_decay;
			uint32_t ein[2] = {g->vars[e].node, ps[i].id};
			dg__op(g, OP_EMA, 2, ein, &ia, 1, &ef, 1);
		}
	}
	free(ps);
	free(gs);
	if (g->status)
		return 0;
	g->upds[id].opt = opt;
	g->upds[id].tvar = tvar;
	g->upds[id].ema_warmup = 0;
	memset(g->upds[id].rt, 0, sizeof g->upds[id].rt);
	g->nupds++;
	return id;
}

int dg_optimize(struct dg_graph *g, dg_tensor loss, unsigned mask, const struct dg_optim *o)
{
	return optimize(g, loss, mask, o, NULL);
}

int dg_optimize_fed(struct dg_graph *g, dg_tensor loss, unsigned mask,
		    const struct dg_optim *o, struct dg_fed_grads *fed)
{
	size_t np = 0;
	for (size_t i = 0; i < g->nvars; i++)
		np += g->vars[i].kind == DG_VAR_PARAM && ((mask >> g->vars[i].group) & 1);
	fed->n = 0;
	fed->params = malloc((np + 1) * sizeof *fed->params);
	fed->grads = malloc((np + 1) * sizeof *fed->grads);
	fed->inputs = malloc((np + 1) * sizeof *fed->inputs);
	fed->names = calloc(np + 1, sizeof *fed->names);
	if (!fed->params || !fed->grads || !fed->inputs || !fed->names) {
		dg_fed_grads_free(fed);
		if (!g->status)
			dg__fail(g, DG_ENOMEM, "optimize: out of memory");
		return 0;
	}
	int id = optimize(g, loss, mask, o, fed);
	if (!id)
		dg_fed_grads_free(fed);
	return id;
}

void dg_fed_grads_free(struct dg_fed_grads *fed)
{
	free(fed->params);
	free(fed->grads);
	free(fed->inputs);
	for (size_t i = 0; fed->names && i < fed->n; i++)
		free(fed->names[i]);
	free(fed->names);
	*fed = (struct dg_fed_grads){0};
}
