/* train_dist.c — a phase's step in data-parallel training (dg-train under
 * mpirun): the global batch cut into fixed shards, each rank computing
 * the gradients of its contiguous run of shards, every rank combining
 * all of them in one order fixed by the shard count, then the same
 * update everywhere.
 *
 * Why the result does not depend on the number of ranks: a shard's
 * gradient is computed alone by the same executable (shard-sized batch)
 * whatever rank holds it, and its random draws are keyed by the graph's
 * run counter set to (counter at the step's start + shard index); the
 * shards' vectors are summed by one binary tree over [0, shards) (each
 * node the sum of its halves, mid = (lo + hi) / 2), a rank contributing
 * the largest nodes that lie within its shards, so that float additions
 * are grouped alike for 1, 2 or N ranks.  Losses are means over the
 * batch, so the step's gradient is the sum over shards divided by their
 * number.
 *
 * Buffers (running statistics, a spectral norm's vector) are not
 * averaged: every shard starts from their values at the step's start,
 * and after the step they are what shard 0 left, sent from rank 0. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "run/dist.h"
#include "run/train_impl.h"
#include "dg/error.h"

#define DIST_DEFAULT_SHARDS 8

/* A node of the shard tree: the shards [lo, hi). */
struct node {
	unsigned lo, hi;
};

struct dg_dist_run {
	unsigned shards, size, rank, lo, hi;  /* this rank's shards: [lo, hi) */
	int fast;
	uint64_t shard;                       /* examples per shard */
	uint64_t len;                         /* floats of the largest phase's vector */
	float *local;                         /* (hi - lo) vectors of len */
	float *gathered;                      /* every rank's node sums */
	struct node *nodes;                   /* every rank's nodes, in rank order */
	uint64_t *counts;                     /* floats each rank sends */
	unsigned nnodes, *first;              /* first[r]: rank r's first node */
	size_t *bufs, nbufs;                  /* the graph's buffers (variable indexes) */
	struct dg_array **start, **kept;      /* their values at the step's start, and
						 after shard 0 */
	float *bcast;
	uint64_t nbcast;
	double compute, reduce;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The nodes of [lo, hi) that hold the shards [rlo, rhi): the largest
 * subtrees within them, left to right.  out may be NULL (counting). */
static unsigned cover(unsigned lo, unsigned hi, unsigned rlo, unsigned rhi, struct node *out)
{
	if (hi <= rlo || rhi <= lo)
		return 0;
	if (rlo <= lo && hi <= rhi) {
		if (out)
			*out = (struct node){lo, hi};
		return 1;
	}
	unsigned mid = lo + (hi - lo) / 2;
	unsigned n = cover(lo, mid, rlo, rhi, out);
	return n + cover(mid, hi, rlo, rhi, out ? out + n : NULL);
}

static void add(float *a, const float *b, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		a[i] += b[i];
}

/* The tree sum of the shards [lo, hi), whose vectors are v[lo - base ..],
 * into v[lo - base] (the others are clobbered). */
static void tree_local(float *v, unsigned base, unsigned lo, unsigned hi, uint64_t len)
{
	if (hi - lo < 2)
		return;
	unsigned mid = lo + (hi - lo) / 2;
	tree_local(v, base, lo, mid, len);
	tree_local(v, base, mid, hi, len);
	add(v + (uint64_t)(lo - base) * len, v + (uint64_t)(mid - base) * len, len);
}

/* The tree sum of [lo, hi) from the gathered nodes: a pointer to it
 * (inside d->gathered, which it clobbers). */
static float *tree_nodes(struct dg_dist_run *d, unsigned lo, unsigned hi, uint64_t len)
{
	for (unsigned i = 0; i < d->nnodes; i++)
		if (d->nodes[i].lo == lo && d->nodes[i].hi == hi)
			return d->gathered + (uint64_t)i * len;
	unsigned mid = lo + (hi - lo) / 2;
	float *a = tree_nodes(d, lo, mid, len), *b = tree_nodes(d, mid, hi, len);
	add(a, b, len);
	return a;
}

int dg__dist_setup(struct dg_trainer *t, unsigned shards, int fast)
{
	struct dg_dist_run *d;
	unsigned size = (unsigned)dg__dist_size(), rank = (unsigned)dg__dist_rank();

	t->exec_batch = t->batch;
	if (!dg__dist_active())
		return DG_OK;
	if (!(d = calloc(1, sizeof *d)))
		return dg_error_nomem("mpi", sizeof *d);
	t->dist = d;
	d->size = size;
	d->rank = rank;
	d->fast = fast;
	d->shards = fast ? size : shards ? shards : DIST_DEFAULT_SHARDS;
	if (d->shards < size)
		return dg_error(DG_EUSAGE, "%u ranks for %u shards of a batch: each rank needs "
				"one at least (--shards)", size, d->shards);
	if (t->batch % d->shards)
		return dg_error(DG_EUSAGE, "--batch %llu is not a multiple of %u %s",
				(unsigned long long)t->batch, d->shards,
				fast ? "ranks (--mpi-fast)" : "shards (--shards)");
	d->shard = t->exec_batch = t->batch / d->shards;
	d->lo = (unsigned)((uint64_t)rank * d->shards / size);
	d->hi = (unsigned)((uint64_t)(rank + 1) * d->shards / size);
	d->first = calloc(size + 1, sizeof *d->first);
	d->counts = calloc(size, sizeof *d->counts);
	if (!d->first || !d->counts)
		return dg_error_nomem("mpi", size * sizeof *d->counts);
	for (unsigned r = 0; r < size; r++) {
		unsigned lo = (unsigned)((uint64_t)r * d->shards / size);
		unsigned hi = (unsigned)((uint64_t)(r + 1) * d->shards / size);
		d->first[r + 1] = d->first[r] + cover(0, d->shards, lo, hi, NULL);
	}
	d->nnodes = d->first[size];
	if (!(d->nodes = calloc(d->nnodes, sizeof *d->nodes)))
		return dg_error_nomem("mpi", d->nnodes * sizeof *d->nodes);
	for (unsigned r = 0; r < size; r++) {
		unsigned lo = (unsigned)((uint64_t)r * d->shards / size);
		unsigned hi = (unsigned)((uint64_t)(r + 1) * d->shards / size);
		cover(0, d->shards, lo, hi, d->nodes + d->first[r]);
	}
	return DG_OK;
}

/* The buffers, and room for their values. */
static int find_buffers(struct dg_trainer *t, struct dg_dist_run *d)
{
	size_t nv = dg_var_count(t->g);
	if (!(d->bufs = calloc(nv + 1, sizeof *d->bufs)))
		return dg_error_nomem("mpi", nv * sizeof *d->bufs);
	for (size_t i = 0; i < nv; i++)
		if (dg_var_kind(t->g, i) == DG_VAR_BUFFER) {
			uint64_t dims[DG_MAX_RANK], n = 1;
			unsigned rank = dg_var_shape(t->g, i, dims);
			for (unsigned k = 0; k < rank; k++)
				n *= dims[k];
			d->bufs[d->nbufs++] = i;
			d->nbcast += n;
		}
	d->start = calloc(d->nbufs + 1, sizeof *d->start);
	d->kept = calloc(d->nbufs + 1, sizeof *d->kept);
	d->bcast = malloc((d->nbcast + 1) * sizeof *d->bcast);
	if (!d->start || !d->kept || !d->bcast)
		return dg_error_nomem("mpi", d->nbcast * sizeof *d->bcast);
	return DG_OK;
}

int dg__dist_optimize(struct dg_trainer *t, struct phase_run *r)
{
	r->upd = dg_optimize_fed(t->g, r->p->loss, r->p->groups, &r->opt, &r->fed);
	return r->upd ? DG_OK : dg_error(dg_graph_status(t->g), "%s: phase %s: %s",
					 t->f->name, r->p->name, dg_graph_error(t->g));
}

int dg__dist_compile(struct dg_trainer *t, struct phase_run *r, const dg_tensor *terms)
{
	struct dg_dist_run *d = t->dist;
	size_t n = r->nterms + r->fed.n;
	dg_tensor *outs = malloc(n * sizeof *outs);
	int st;

	if (!outs)
		return dg_error_nomem("mpi", n * sizeof *outs);
	memcpy(outs, terms, r->nterms * sizeof *outs);
	memcpy(outs + r->nterms, r->fed.grads, r->fed.n * sizeof *outs);
	st = dg_compile(t->g, t->device, n, outs, 0, NULL, &r->exec);
	free(outs);
	if (!st)
		st = dg_compile(t->g, t->device, 0, NULL, 1, &r->upd, &r->upd_exec);
	if (st)
		return st;
	/* a phase's vector: its gradients, then its terms */
	r->len = r->nterms;
	for (size_t i = 0; i < r->fed.n; i++)
		r->len += dg_count(t->g, r->fed.grads[i]);
	if (r->len <= d->len)
		return DG_OK;
	d->len = r->len;
	free(d->local);
	free(d->gathered);
	d->local = malloc((uint64_t)(d->hi - d->lo) * d->len * sizeof *d->local);
	d->gathered = malloc((uint64_t)d->nnodes * d->len * sizeof *d->gathered);
	if (!d->local || !d->gathered)
		return dg_error_nomem("gradients", d->nnodes * d->len * sizeof(float));
	return d->bufs ? DG_OK : find_buffers(t, d);
}

static int set_runs(struct dg_trainer *t, int64_t v)
{
	struct dg_array *a = dg_array_new(DG_I64, 0, NULL);
	if (!a)
		return DG_ENOMEM;
	*(int64_t *)a->data = v;
	int st = dg_var_set(t->g, "graph.runs", a);
	dg_array_free(a);
	return st;
}

static int get_buffers(struct dg_trainer *t, struct dg_dist_run *d, struct dg_array **to)
{
	int st = DG_OK;
	for (size_t i = 0; !st && i < d->nbufs; i++) {
		dg_array_free(to[i]);
		to[i] = NULL;
		st = dg_var_get(t->g, dg_var_name(t->g, d->bufs[i]), &to[i]);
	}
	return st;
}

static int set_buffers(struct dg_trainer *t, struct dg_dist_run *d, struct dg_array **from)
{
	int st = DG_OK;
	for (size_t i = 0; !st && i < d->nbufs; i++)
		st = dg_var_set(t->g, dg_var_name(t->g, d->bufs[i]), from[i]);
	return st;
}

/* Shard s of the batch (t->images and the rest) into r's executable. */
static int feed_shard(struct dg_trainer *t, struct dg_exec *e, unsigned s)
{
	uint64_t n = t->dist->shard, at = (uint64_t)s * n;
	int st = dg_exec_feed(e, "x", DG_F32, t->images + at * t->per, n * t->per);
	if (!st && t->classes)
		st = dg_exec_feed(e, "y", DG_I32, t->labels + at, n);
	for (size_t i = 0; !st && i < t->nin; i++)
		st = dg_exec_feed(e, t->in[i].decl->name, DG_F32,
				  t->in[i].images + at * t->in[i].per, n * t->in[i].per);
	return st;
}

/* This rank's shards, each into its vector of d->local. */
static int compute(struct dg_trainer *t, struct phase_run *r, int64_t runs)
{
	struct dg_dist_run *d = t->dist;
	int st = d->nbufs ? get_buffers(t, d, d->start) : DG_OK;
	for (unsigned s = d->lo; !st && s < d->hi; s++) {
		float *v = d->local + (uint64_t)(s - d->lo) * r->len;
		if ((st = set_runs(t, runs + s)) || (st = feed_shard(t, r->exec, s)) ||
		    (st = dg_exec_run(r->exec)))
			break;
		for (size_t i = 0; !st && i < r->fed.n; i++) {
			uint64_t n = dg_count(t->g, r->fed.grads[i]);
			st = dg_exec_read(r->exec, r->nterms + i, v, n);
			v += n;
		}
		for (size_t i = 0; !st && i < r->nterms; i++)
			*v++ = dg_exec_scalar(r->exec, i);
		if (!st && d->nbufs && s == 0)
			st = get_buffers(t, d, d->kept);
		if (!st && d->nbufs)
			st = set_buffers(t, d, d->start);
	}
	if (!st && d->nbufs && d->lo == 0)
		st = set_buffers(t, d, d->kept);
	return st;
}

/* The sum of every shard's vector, into d->local's first (fast: summed
 * by MPI) or returned. */
static int combine(struct dg_trainer *t, struct phase_run *r, float **sum)
{
	struct dg_dist_run *d = t->dist;
	uint64_t len = r->len;
	int st;

	if (d->fast) {
		*sum = d->local;
		return dg__dist_allreduce_sum(d->local, len);
	}
	/* this rank's nodes, packed in order after the first */
	struct node *mine = d->nodes + d->first[d->rank];
	unsigned nmine = d->first[d->rank + 1] - d->first[d->rank];
	for (unsigned k = 0; k < nmine; k++) {
		float *v = d->local + (uint64_t)(mine[k].lo - d->lo) * len;
		tree_local(v, mine[k].lo, mine[k].lo, mine[k].hi, len);
		if (k)
			memmove(d->local + k * len, v, len * sizeof *v);
	}
	for (unsigned q = 0; q < d->size; q++)
		d->counts[q] = (uint64_t)(d->first[q + 1] - d->first[q]) * len;
	if ((st = dg__dist_allgatherv(d->local, d->gathered, d->counts)))
		return st;
	*sum = tree_nodes(d, 0, d->shards, len);
	return DG_OK;
}

int dg__dist_step(struct dg_trainer *t, struct phase_run *r, float *terms)
{
	struct dg_dist_run *d = t->dist;
	struct dg_array *ra = NULL;
	float *sum, *v;
	int64_t runs;
	double t0 = now(), t1;
	int st;

	if ((st = dg_var_get(t->g, "graph.runs", &ra)))
		return st;
	runs = *(const int64_t *)ra->data;
	dg_array_free(ra);
	if ((st = compute(t, r, runs)))
		return st;
	t1 = now();
	d->compute += t1 - t0;
	if ((st = combine(t, r, &sum)))
		return st;
	/* sent from rank 0: the buffers as shard 0 left them */
	if (d->nbufs && d->size > 1) {
		uint64_t at = 0;
		for (size_t i = 0; d->rank == 0 && i < d->nbufs; i++) {
			uint64_t n = 1;
			for (unsigned k = 0; k < d->kept[i]->rank; k++)
				n *= d->kept[i]->dims[k];
			memcpy(d->bcast + at, d->kept[i]->data, n * sizeof(float));
			at += n;
		}
		if ((st = dg__dist_bcast(d->bcast, d->nbcast, 0)))
			return st;
		if (d->rank != 0) {
			if ((st = get_buffers(t, d, d->kept)))
				return st;
			at = 0;
			for (size_t i = 0; i < d->nbufs; i++) {
				uint64_t n = 1;
				for (unsigned k = 0; k < d->kept[i]->rank; k++)
					n *= d->kept[i]->dims[k];
				memcpy(d->kept[i]->data, d->bcast + at, n * sizeof(float));
				at += n;
			}
			if ((st = set_buffers(t, d, d->kept)))
				return st;
		}
	}
	d->reduce += now() - t1;
	/* losses are batch means: the step's is the shards' mean */
	for (uint64_t i = 0; i < r->len; i++)
		sum[i] /= (float)d->shards;
	v = sum;
	for (size_t i = 0; !st && i < r->fed.n; i++) {
		uint64_t n = dg_count(t->g, r->fed.grads[i]);
		st = dg_exec_feed(r->upd_exec, r->fed.names[i], DG_F32, v, n);
		v += n;
	}
	for (size_t i = 0; i < r->nterms; i++)
		terms[i] = *v++;
	if (!st && !(st = set_runs(t, runs + d->shards)))
		st = dg_exec_run(r->upd_exec);
	return st;
}

void dg__dist_free(struct dg_trainer *t)
{
	struct dg_dist_run *d = t->dist;
	if (!d)
		return;
	for (size_t i = 0; d->start && i < d->nbufs; i++) {
		dg_array_free(d->start[i]);
		dg_array_free(d->kept[i]);
	}
	free(d->start);
	free(d->kept);
	free(d->bcast);
	free(d->bufs);
	free(d->local);
	free(d->gathered);
	free(d->nodes);
	free(d->counts);
	free(d->first);
	free(d);
	t->dist = NULL;
}

void dg_trainer_dist_times(const struct dg_trainer *t, double *compute, double *reduce)
{
	*compute = t->dist ? t->dist->compute : 0;
	*reduce = t->dist ? t->dist->reduce : 0;
}
