/* runner.c — a family's inference protocols compiled at a fixed batch and
 * run on any number of rows (run/runner.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/runner.h"
#include "graph/graph_impl.h"
#include "dg/error.h"
#include "dg/graph.h"

struct dg_runner {
	struct dg_graph *g;
	enum dg_protocol p;
	struct dg_exec *e;
	struct dg_exec *row_e;         /* STEPS: the family's work per image row */
	uint64_t batch;
	char xname[48], yname[48], posname[48], canvas[48];
	uint64_t xper;                 /* floats per row of the data input */
	int with_y;
	size_t nout;
	dg_tensor outs[DG_MAX_TERMS];
	const char *names[DG_MAX_TERMS];
	unsigned rank[DG_MAX_TERMS];   /* per-row shape of each output */
	uint64_t dims[DG_MAX_TERMS][DG_MAX_RANK];
	uint64_t per[DG_MAX_TERMS];
	uint64_t steps, per_row;       /* STEPS */
	dg_tensor row;                 /* STEPS: what row_e computes, or DG_NONE */
	int replay;                    /* STEPS: completions run the kept steps */
	float *xbuf, *obuf;            /* a padded chunk in, a whole batch out */
	int32_t *ybuf;
	struct dg_array *canvas_init;  /* STEPS: the canvas before the first step */
	dg_steps_progress progress;    /* STEPS: reports after each image row */
	void *progress_ctx;
};

static const char *proto_name(enum dg_protocol p)
{
	static const char *const names[] = {
		[DG_PROTO_ENCODE] = "encode", [DG_PROTO_DECODE] = "decode",
		[DG_PROTO_SAMPLE] = "sample", [DG_PROTO_STEPS] = "sample_step",
		[DG_PROTO_TRANSLATE] = "translate", [DG_PROTO_LOGLIK] = "loglik",
		[DG_PROTO_RECON] = "reconstruct", [DG_PROTO_CLASSIFY] = "classify",
	};
	return names[p];
}

/* The capability and function each protocol needs. */
static int capable(const struct dg_family *f, enum dg_protocol p)
{
	switch (p) {
	case DG_PROTO_ENCODE: return (f->caps & DG_CAP_ENCODE) && f->encode;
	case DG_PROTO_DECODE: return (f->caps & DG_CAP_DECODE) && f->decode;
	case DG_PROTO_SAMPLE: return f->sample != NULL;
	case DG_PROTO_STEPS: return (f->caps & DG_CAP_SAMPLE_STEPS) && f->sample_step;
	case DG_PROTO_TRANSLATE: return (f->caps & DG_CAP_TRANSLATE) && f->translate;
	case DG_PROTO_LOGLIK: return f->loglik != NULL;
	case DG_PROTO_RECON:
		return capable(f, DG_PROTO_ENCODE) && capable(f, DG_PROTO_DECODE);
	case DG_PROTO_CLASSIFY: /* the loader checked struct_size for the cap */
		return (f->caps & DG_CAP_CLASSIFY) && f->classify;
	}
	return 0;
}

/* Input names unique in any graph: a process-wide sequence number. */
static unsigned long next_seq(void)
{
	static unsigned long seq;
	return __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
}

/* The family's computation of protocol r->p on fresh inputs; fills outs. */
static int append(struct dg_runner *r, struct dg_model *m, const struct dg_family *f,
		  const struct dg_proto_args *a)
{
	struct dg_graph *g = m->g;
	uint64_t b = r->batch;
	dg_tensor x = DG_NONE, y = DG_NONE, mean = DG_NONE, drawn = DG_NONE;
	struct dg_term terms[DG_MAX_TERMS];
	unsigned nt = 0;
	int st = DG_OK;

	if (r->with_y)
		y = dg_input(g, r->yname, DG_I32, DG_SHAPE(b));
	switch (r->p) {
	case DG_PROTO_ENCODE:
	case DG_PROTO_TRANSLATE:
	case DG_PROTO_LOGLIK:
	case DG_PROTO_RECON:
	case DG_PROTO_CLASSIFY:
		x = dg_input(g, r->xname, DG_F32, DG_SHAPE(b, m->channels, m->height, m->width));
		r->xper = (uint64_t)m->channels * m->height * m->width;
		break;
	case DG_PROTO_DECODE:
		if (!m->latent_dim)
			return dg_error(DG_EUSAGE, "family %s has no latent codes to decode",
					f->name);
		x = dg_input(g, r->xname, DG_F32, DG_SHAPE(b, m->latent_dim));
		r->xper = m->latent_dim;
		break;
	default:
		break;
	}
	if (dg_graph_status(g))
		return dg_error(dg_graph_status(g), "%s", dg_graph_error(g));

	switch (r->p) {
	case DG_PROTO_ENCODE:
		st = f->encode(m, x, y, &mean, &drawn);
		if (!st && a->draw && !drawn.id)
			return dg_error(DG_EUSAGE, "family %s encodes deterministically: there is "
					"no posterior to draw from", f->name);
		r->outs[r->nout++] = mean;
		if (a->draw)
			r->outs[r->nout++] = drawn;
		break;
	case DG_PROTO_DECODE:
		st = f->decode(m, x, y, &r->outs[r->nout++]);
		break;
	case DG_PROTO_SAMPLE:
		st = f->sample(m, b, a->t, y, &r->outs[r->nout++]);
		break;
	case DG_PROTO_TRANSLATE:
		st = f->translate(m, x, y, &r->outs[r->nout++]);
		break;
	case DG_PROTO_RECON:
		st = f->encode(m, x, y, &mean, &drawn);
		if (!st)
			st = f->decode(m, mean, y, &r->outs[r->nout++]);
		break;
	case DG_PROTO_CLASSIFY: {
		dg_tensor features = DG_NONE, logits = DG_NONE;
		st = f->classify(m, x, &features, &logits);
		if (!st && (dg_shape(g, features, NULL) != 2 || dg_shape(g, logits, NULL) != 2))
			return dg_error(DG_EINTERNAL, "family %s: classify gave no n×F features "
					"and n×K logits", f->name);
		r->outs[r->nout++] = features;
		r->outs[r->nout++] = dg_softmax(g, logits);
		break;
	}
	case DG_PROTO_LOGLIK:
		st = f->loglik(m, x, y, a->k, terms, &nt);
		if (!st && (nt == 0 || nt > DG_MAX_TERMS))
			return dg_error(DG_EINTERNAL, "family %s: loglik returned %u terms",
					f->name, nt);
		for (unsigned i = 0; !st && i < nt; i++) {
			r->names[r->nout] = terms[i].name;
			r->outs[r->nout++] = terms[i].value;
		}
		break;
	case DG_PROTO_STEPS: {
		struct dg_step_sampler ss = {DG_NONE, 0, 0, 0, DG_NONE};
		const uint64_t cd[4] = {b, m->channels, m->height, m->width};
		dg_tensor canvas = dg_variable(g, r->canvas, 4, cd);
		dg_tensor pos = dg_input(g, r->posname, DG_I32, 0, cd);
		st = dg_graph_status(g);
		if (!st)
			st = f->sample_step(m, canvas, pos, a->t, y, &ss);
		if (!st && (!ss.next.id || dg_count(g, ss.next) != dg_count(g, canvas) ||
			    ss.steps == 0 || ss.steps_per_row == 0))
			return dg_error(DG_EINTERNAL, "family %s: sample_step gave no canvas of "
					"the image's shape, or no steps", f->name);
		if (!st && ss.row.id && !ss.replay)
			return dg_error(DG_EINTERNAL, "family %s: sample_step gave work per row "
					"without replay", f->name);
		if (!st)
			st = dg_assign(g, canvas, ss.next, ss.next);
		r->row = ss.row;
		r->steps = ss.steps;
		r->per_row = ss.steps_per_row;
		r->replay = ss.replay;
		r->outs[r->nout++] = ss.next;
		if (!st && !(r->canvas_init = dg_array_new(DG_F32, 4, cd)))
			return DG_ENOMEM;
		break;
	}
	}
	if (!st)
		st = dg_graph_status(g);
	if (st)
		return dg_error(st, "family %s: %s: %s", f->name, proto_name(r->p),
				dg_graph_status(g) ? dg_graph_error(g) : dg_errmsg());
	for (size_t o = 0; o < r->nout; o++) {
		uint64_t d[DG_MAX_RANK];
		unsigned rank = dg_shape(g, r->outs[o], d);
		if (!r->outs[o].id || rank < 1 || d[0] != b)
			return dg_error(DG_EINTERNAL, "family %s: %s returned a tensor without %llu "
					"rows", f->name, proto_name(r->p), (unsigned long long)b);
		r->rank[o] = rank - 1;
		r->per[o] = 1;
		for (unsigned i = 1; i < rank; i++) {
			r->dims[o][i - 1] = d[i];
			r->per[o] *= d[i];
		}
	}
	return DG_OK;
}

int dg__runner_new(struct dg_model *m, const struct dg_family *f, const char *device,
		   uint64_t batch, enum dg_protocol p, const struct dg_proto_args *a,
		   struct dg_runner **out)
{
	struct dg_runner *r;
	static const struct dg_proto_args none;
	int st;

	*out = NULL;
	if (!a)
		a = &none;
	if (!capable(f, p))
		return dg_error(DG_EUSAGE, "model family %s cannot %s", f->name,
				p == DG_PROTO_ENCODE ? "encode images"
				: p == DG_PROTO_DECODE ? "decode latent codes"
				: p == DG_PROTO_TRANSLATE ? "translate images"
				: p == DG_PROTO_LOGLIK ? "compute likelihoods"
				: p == DG_PROTO_CLASSIFY ? "classify images (it is no classifier)"
				: "sample");
	if (!(r = calloc(1, sizeof *r)))
		return dg_error_nomem("a runner", sizeof *r);
	r->g = m->g;
	r->p = p;
	r->batch = batch ? batch : 1;
	r->with_y = a->with_y;
	unsigned long seq = next_seq();
	snprintf(r->xname, sizeof r->xname, "%s%lu.x", proto_name(p), seq);
	snprintf(r->yname, sizeof r->yname, "%s%lu.y", proto_name(p), seq);
	snprintf(r->posname, sizeof r->posname, "%s%lu.pos", proto_name(p), seq);
	snprintf(r->canvas, sizeof r->canvas, "%s%lu.canvas", proto_name(p), seq);
	int clean = !dg_graph_status(m->g);
	st = append(r, m, f, a);
	/* a refusal leaves dead nodes, not a broken model: later requests
	 * on the same graph must not inherit its error */
	if (st && clean && dg_graph_status(m->g))
		dg__graph_clear_error(m->g);
	uint64_t most = r->xper;
	for (size_t o = 0; o < r->nout; o++)
		most = r->per[o] > most ? r->per[o] : most;
	if (!st && (!(r->xbuf = malloc(r->batch * (r->xper ? r->xper : 1) * sizeof(float))) ||
		    !(r->obuf = malloc(r->batch * (most ? most : 1) * sizeof(float))) ||
		    !(r->ybuf = calloc(r->batch, sizeof(int32_t)))))
		st = dg_error_nomem("a batch", r->batch * most * sizeof(float));
	if (!st)
		st = dg_compile(m->g, device, r->nout, r->outs, 0, NULL, &r->e);
	if (!st && r->row.id)
		st = dg_compile(m->g, device, 1, &r->row, 0, NULL, &r->row_e);
	if (st) {
		dg__runner_free(r);
		return st;
	}
	*out = r;
	return DG_OK;
}

void dg__runner_free(struct dg_runner *r)
{
	if (!r)
		return;
	dg_exec_free(r->e);
	dg_exec_free(r->row_e);
	dg_array_free(r->canvas_init);
	free(r->xbuf);
	free(r->obuf);
	free(r->ybuf);
	free(r);
}

uint64_t dg__runner_batch(const struct dg_runner *r)
{
	return r->batch;
}

size_t dg__runner_outputs(const struct dg_runner *r)
{
	return r->nout;
}

unsigned dg__runner_out_shape(const struct dg_runner *r, size_t o, uint64_t *dims)
{
	memcpy(dims, r->dims[o], r->rank[o] * sizeof *dims);
	return r->rank[o];
}

const char *const *dg__runner_names(const struct dg_runner *r)
{
	return r->names;
}

uint64_t dg__runner_steps(const struct dg_runner *r, uint64_t *per_row)
{
	if (per_row)
		*per_row = r->per_row;
	return r->steps;
}

/* Feeds rows [0, k) of src (per floats or ints a row), padding the batch:
 * a full chunk is fed in place, a short one through buf. */
static int feed(struct dg_runner *r, struct dg_exec *e, const char *name, int dtype,
		const void *src, uint64_t k, uint64_t per, void *buf)
{
	size_t size = dtype == DG_I32 ? sizeof(int32_t) : sizeof(float);
	if (k < r->batch) {
		memcpy(buf, src, k * per * size);
		memset((char *)buf + k * per * size, 0, (r->batch - k) * per * size);
		src = buf;
	}
	return dg_exec_feed(e, name, dtype, src, r->batch * per);
}

void dg__runner_on_steps(struct dg_runner *r, dg_steps_progress fn, void *ctx)
{
	r->progress = fn;
	r->progress_ctx = ctx;
}

/* The family's work per image row before step pos.  It is no run of
 * the model's: the graph's run counter, which keys every random draw,
 * is put back, so the steps draw what they would without it. */
static int run_row(struct dg_runner *r, int32_t pos)
{
	int64_t *runs = &r->g->vars[r->g->runs_var].counter, saved = *runs;
	int st = dg_exec_feed(r->row_e, r->posname, DG_I32, &pos, 1);
	if (!st)
		st = dg_exec_run(r->row_e);
	*runs = saved;
	return st;
}

/* The data-space sampler on one chunk (rows row .. row+k-1): the
 * canvas from x (first keep steps kept) or zeros, then the remaining
 * steps in order, reported after each image row. */
static int run_steps(struct dg_runner *r, uint64_t k, const float *x, uint64_t keep,
		     float *dst, uint64_t row)
{
	struct dg_array *c = r->canvas_init, *res = NULL;
	uint64_t per = r->per[0];
	int st;

	memset(c->data, 0, r->batch * per * sizeof(float));
	if (x)
		memcpy(c->data, x, k * per * sizeof(float));
	if ((st = dg_var_set(r->g, r->canvas, c)))
		return st;
	for (uint64_t s = x && !r->replay ? keep : 0; s < r->steps; s++) {
		int32_t pos = (int32_t)s;
		if (r->row_e && s % r->per_row == 0 && (st = run_row(r, pos)))
			return st;
		if ((st = dg_exec_feed(r->e, r->posname, DG_I32, &pos, 1)) ||
		    (st = dg_exec_run(r->e)))
			return st;
		/* a replayed kept step: its state stays, its draw does not */
		if (x && s < keep) {
			if ((st = dg_var_set(r->g, r->canvas, c)))
				return st;
			continue;
		}
		if (r->progress && ((s + 1) % r->per_row == 0 || s + 1 == r->steps) &&
		    (st = r->progress(r->progress_ctx, s + 1 - (x ? keep : 0),
				      r->steps - (x ? keep : 0), row, k)))
			return st;
	}
	if ((st = dg_var_get(r->g, r->canvas, &res)))
		return st;
	memcpy(dst, res->data, k * per * sizeof(float));
	dg_array_free(res);
	return DG_OK;
}

int dg__runner_run(struct dg_runner *r, uint64_t n, const float *x, const int32_t *y,
		   uint64_t keep, struct dg_array **out)
{
	int st = DG_OK;

	for (size_t o = 0; o < r->nout; o++)
		out[o] = NULL;
	if (r->p == DG_PROTO_STEPS && keep > r->steps)
		return dg_error(DG_EUSAGE, "%llu steps kept, the image has %llu",
				(unsigned long long)keep, (unsigned long long)r->steps);
	for (size_t o = 0; o < r->nout && !st; o++) {
		uint64_t dims[DG_MAX_RANK];
		dims[0] = n;
		memcpy(dims + 1, r->dims[o], r->rank[o] * sizeof *dims);
		if (!(out[o] = dg_array_new(DG_F32, r->rank[o] + 1, dims)))
			st = DG_ENOMEM;
	}
	for (uint64_t done = 0; !st && done < n; done += r->batch) {
		uint64_t k = n - done < r->batch ? n - done : r->batch;
		if (r->with_y)
			st = feed(r, r->e, r->yname, DG_I32, y + done, k, 1, r->ybuf);
		if (!st && r->with_y && r->row_e)
			st = feed(r, r->row_e, r->yname, DG_I32, y + done, k, 1, r->ybuf);
		if (st)
			break;
		if (r->p == DG_PROTO_STEPS) {
			st = run_steps(r, k, x ? x + done * r->per[0] : NULL, keep,
				       (float *)out[0]->data + done * r->per[0], done);
			continue;
		}
		if (r->xper && (st = feed(r, r->e, r->xname, DG_F32, x + done * r->xper, k, r->xper,
					  r->xbuf)))
			break;
		if ((st = dg_exec_run(r->e)))
			break;
		for (size_t o = 0; !st && o < r->nout; o++) {
			if (!(st = dg_exec_read(r->e, o, r->obuf, r->batch * r->per[o])))
				memcpy((float *)out[o]->data + done * r->per[o], r->obuf,
				       k * r->per[o] * sizeof(float));
		}
	}
	if (st)
		for (size_t o = 0; o < r->nout; o++) {
			dg_array_free(out[o]);
			out[o] = NULL;
		}
	return st;
}
