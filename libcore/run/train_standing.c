/* train_standing.c — standing statistics (Brock et al. 2019, "Large Scale
 * GAN Training for High Fidelity Natural Image Synthesis", section 3.1 and
 * appendix): the batch-norm statistics that inference uses with a
 * phase's averaged weights, measured on those weights.
 *
 * An average of the running statistics (dg_optim_ema_buffers) mixes
 * statistics of weights that the average has left behind, and the
 * averaged generator normalizes its activations with them; measuring
 * them instead means running the averaged model in training mode on
 * fresh draws of its prior.  Whenever a checkpoint is written, the
 * family's sample() draws codes and decode() turns them into images with
 * the averaged weights swapped in, STANDING_RUNS times; every batch norm
 * of that decode graph keeps its batch's statistics (momentum 1), and the
 * checkpoint's ema/ buffers get their mean over the runs.  The graph's
 * averages and run counter are put back afterwards, so training goes on
 * as it would without (and a run saved every epoch equals one saved
 * once).  The result does not depend on the averages it replaces. */
#include <stdlib.h>
#include <string.h>
#include "run/train_impl.h"
#include "graph/graph_impl.h"
#include "dg/error.h"

#define STANDING_BATCH 256
#define STANDING_RUNS 16       /* 4,096 draws */

int dg__trainer_build_standing(struct dg_trainer *t)
{
	const struct dg_family *f = t->f;
	struct dg_proto_args a = {.with_y = t->classes > 0, .t = 1};
	int want = 0, st;

	for (size_t p = 0; p < t->nph; p++)
		want |= t->ph[p].p->ema_buffers == DG_EMA_BUFFERS_STANDING &&
			t->ph[p].opt.ema_decay > 0;
	if (!want)
		return DG_OK;
	if (!(f->caps & DG_CAP_SAMPLE_LATENT) || !(f->caps & DG_CAP_DECODE) ||
	    !t->m.latent_dim)
		return dg_error(DG_EINTERNAL, "%s: standing statistics need latent codes to "
				"sample and decode", f->name);
	if (t->classes) {
		if (!(t->stand_y = malloc(STANDING_BATCH * sizeof *t->stand_y)))
			return dg_error_nomem("standing statistics' labels",
					      STANDING_BATCH * sizeof *t->stand_y);
		for (uint64_t i = 0; i < STANDING_BATCH; i++)
			t->stand_y[i] = (int32_t)(i % t->classes);
	}
	st = dg__runner_new(&t->m, f, t->device, STANDING_BATCH, DG_PROTO_SAMPLE, &a,
			    &t->stand_codes);
	if (!st) {
		dg__graph_bn_momentum(t->g, 1);
		st = dg__runner_new(&t->m, f, t->device, STANDING_BATCH, DG_PROTO_DECODE, &a,
				    &t->stand_decode);
		dg__graph_bn_momentum(t->g, 0);
	}
	return st ? dg_error_context(st, "standing statistics") : DG_OK;
}

void dg__trainer_free_standing(struct dg_trainer *t)
{
	dg__runner_free(t->stand_codes);
	dg__runner_free(t->stand_decode);
	free(t->stand_y);
}

/* The variables whose averages are measured: buffers with an average. */
static int measured(const struct dg_graph *g, size_t v)
{
	return g->vars[v].kind == DG_VAR_BUFFER && g->vars[v].ema >= 0;
}

static void free_arrays(struct dg_array **a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		dg_array_free(a[i]);
	free(a);
}

/* With the averages swapped into the model's variables: decode the
 * family's draws STANDING_RUNS times, summing each measured buffer's
 * value after every run into sum (one array per variable, NULL for the
 * others), then set the buffers to the means. */
static int measure(struct dg_trainer *t, struct dg_array **sum)
{
	struct dg_graph *g = t->g;
	int st = DG_OK;

	for (unsigned k = 0; !st && k < STANDING_RUNS; k++) {
		struct dg_array *z = NULL, *x = NULL;
		st = dg__runner_run(t->stand_codes, STANDING_BATCH, NULL, t->stand_y, 0, &z);
		if (!st)
			st = dg__runner_run(t->stand_decode, STANDING_BATCH, (const float *)z->data,
					    t->stand_y, 0, &x);
		dg_array_free(z);
		dg_array_free(x);
		for (size_t v = 0; !st && v < g->nvars; v++) {
			struct dg_array *a;
			if (!measured(g, v))
				continue;
			if ((st = dg_var_get(g, g->vars[v].name, &a)))
				break;
			if (!sum[v]) {
				sum[v] = a;
				continue;
			}
			float *s = (float *)sum[v]->data;
			const float *b = (const float *)a->data;
			for (uint64_t i = 0; i < dg_array_count(a); i++)
				s[i] += b[i];
			dg_array_free(a);
		}
	}
	for (size_t v = 0; !st && v < g->nvars; v++) {
		if (!sum[v])
			continue;
		float *s = (float *)sum[v]->data;
		for (uint64_t i = 0; i < dg_array_count(sum[v]); i++)
			s[i] /= STANDING_RUNS;
		st = dg_var_set(g, g->vars[v].name, sum[v]);
	}
	return st;
}

int dg__trainer_standing_begin(struct dg_trainer *t, struct dg_array ***saved)
{
	struct dg_graph *g = t->g;
	struct dg_array *runs = NULL, **sum = NULL;
	int st, st2;

	*saved = NULL;
	if (!t->stand_decode)
		return DG_OK;
	if (!(*saved = calloc(g->nvars, sizeof **saved)) ||
	    !(sum = calloc(g->nvars, sizeof *sum))) {
		free(*saved);
		*saved = NULL;
		return dg_error_nomem("standing statistics", g->nvars * sizeof *sum);
	}
	if ((st = dg_var_get(g, "graph.runs", &runs)))
		goto out;
	for (size_t v = 0; !st && v < g->nvars; v++)
		if (measured(g, v))
			st = dg_var_get(g, g->vars[g->vars[v].ema].name, &(*saved)[v]);
	if (st || (st = dg_graph_swap_ema(g)))
		goto out;
	st = measure(t, sum);
	st2 = dg_graph_swap_ema(g);
	st = st ? st : st2;
	st2 = dg_var_set(g, "graph.runs", runs);
	st = st ? st : st2;
out:
	dg_array_free(runs);
	free_arrays(sum, g->nvars);
	if (st) {
		/* put back what could have been measured over */
		dg__trainer_standing_end(t, *saved);
		*saved = NULL;
		return dg_error_context(st, "standing statistics");
	}
	return DG_OK;
}

int dg__trainer_standing_end(struct dg_trainer *t, struct dg_array **saved)
{
	struct dg_graph *g = t->g;
	int st = DG_OK;

	for (size_t v = 0; saved && v < g->nvars; v++)
		if (saved[v]) {
			int st2 = dg_var_set(g, g->vars[g->vars[v].ema].name, saved[v]);
			st = st ? st : st2;
		}
	free_arrays(saved, g->nvars);
	return st;
}
