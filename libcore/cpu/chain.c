/* cpu/chain.c — consecutive elementwise calls run as one pass: each
 * thread takes its share of the elements and runs every step of the
 * chain over one small block of them at a time, so intermediates stay in
 * the first-level cache and the chain wakes the pool once instead of once
 * per call (the cpu twin of the vulkan backend's graph_chain.comp).  The
 * MLP VAE's loss and its gradient are such chains of 4-6 calls. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cpu/chain.h"
#include "cpu/pool.h"

/* Floats per block: a few arrays of this stay in a 32 KiB L1 cache. */
#define BLOCK 1024
/* Elements per thread at least: below that one thread runs the chain. */
#define GRAIN 8192
#define MAX_STEPS 16

/* A byte range of memory a step reads or writes. */
struct span {
	const char *p;
	size_t bytes;
};

static int overlap(struct span a, struct span b)
{
	return a.p < b.p + b.bytes && b.p < a.p + a.bytes;
}

/* A call that can be a step of a chain of n elements: a per-element
 * kernel with no oneDNN plan, f32 throughout, n outputs. */
static dg_pool_fn step_range(const struct dg_kcall *c, const struct dg_kargs *a, uint64_t n)
{
	dg_pool_fn fn = dg_k_eltwise_range(c->n.op);
	if (!fn || a->plan || c->act || c->n.dtype != DG_F32 || c->n.count != n || !n)
		return NULL;
	for (unsigned j = 0; j < c->n.nin; j++)
		if (c->in_node[j].dtype != DG_F32 || !a->x[j])
			return NULL;
	return fn;
}

size_t dg_cpu_chain_len(const struct dg_kcall *calls, const struct dg_kargs *args, size_t ncalls,
			dg_pool_fn *range)
{
	uint64_t n = calls[0].n.count;
	size_t bytes = (size_t)n * sizeof(float), k;
	struct span reads[MAX_STEPS * DG_NODE_MAXIN];
	unsigned nread = 0;

	for (k = 0; k < ncalls && k < MAX_STEPS; k++) {
		const struct dg_kcall *c = &calls[k];
		const struct dg_kargs *a = &args[k];
		dg_pool_fn fn = step_range(c, a, n);
		struct span out = {(const char *)a->y, bytes};
		unsigned nr = nread;
		int ok = fn != NULL;

		/* An input element-aligned with the output (n elements) is read
		 * at element i only: it may be an earlier step's output at
		 * exactly its place (a value this block already holds) or
		 * memory no earlier step wrote.  A broadcast input is read at
		 * other indices, so no earlier step may have written it. */
		for (unsigned j = 0; ok && j < c->n.nin; j++) {
			int aligned = c->in_node[j].count == n;
			struct span in = {(const char *)a->x[j],
					  (size_t)c->in_node[j].count * sizeof(float)};
			for (size_t s = 0; ok && s < k; s++) {
				struct span w = {(const char *)args[s].y, bytes};
				if (overlap(in, w))
					ok = aligned && in.p == w.p;
			}
			if (ok)
				reads[nr++] = (struct span){in.p, aligned ? 0 : in.bytes};
		}
		/* The output may overwrite a read or an earlier output only
		 * at exactly its place, where element i is done with before
		 * it is written (an aligned read is recorded with size 0). */
		for (unsigned r = 0; ok && r < nr; r++) {
			struct span rd = reads[r];
			if (rd.bytes ? overlap(out, rd) : (out.p != rd.p && overlap(out, (struct span){rd.p, bytes})))
				ok = 0;
		}
		for (size_t s = 0; ok && s < k; s++) {
			struct span w = {(const char *)args[s].y, bytes};
			if (overlap(out, w) && out.p != w.p)
				ok = 0;
		}
		if (!ok)
			break;
		range[k] = fn;
		nread = nr;
	}
	return k;
}

struct job {
	const struct dg_kargs *args;
	const dg_pool_fn *range;
	size_t k;
};

static void chain_range(void *ctx, size_t b, size_t e)
{
	const struct job *j = ctx;
	for (size_t lo = b; lo < e; lo += BLOCK) {
		size_t hi = e - lo < BLOCK ? e : lo + BLOCK;
		for (size_t s = 0; s < j->k; s++)
			j->range[s]((void *)&j->args[s], lo, hi);
	}
}

void dg_cpu_chain_run(const struct dg_kargs *args, const dg_pool_fn *range, size_t k)
{
	struct job j = {args, range, k};
	dg_pool_for(args[0].c->n.count, GRAIN, chain_range, &j);
}
