/* graph/profile.c — the DG_PROFILE report both backends print when a
 * compiled step is freed: totals per op in the order ops first appear,
 * then (DG_PROFILE=2) one line per call with its shapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/backend.h"

void dg__profile_report(const char *backend, const struct dg_kcall *calls, size_t n,
			const double *ns, uint64_t runs)
{
	const char *lvl = getenv("DG_PROFILE");
	double total = 0, per_run = runs ? 1e3 * (double)runs : 1;

	fprintf(stderr, "dg: profile: %s, %zu kernels, %llu runs\n", backend, n,
		(unsigned long long)runs);
	for (size_t i = 0; i < n; i++)
		total += ns[i];
	for (size_t i = 0; i < n; i++) {
		int op = calls[i].n.op, seen = 0, count = 0;
		double t = 0;
		for (size_t j = 0; j < i; j++)
			seen |= calls[j].n.op == op;
		if (seen)
			continue;
		for (size_t j = i; j < n; j++)
			if (calls[j].n.op == op) {
				t += ns[j];
				count++;
			}
		fprintf(stderr, "dg: profile: %-20s %4d calls %10.1f us/run %5.1f%%\n",
			dg_opdefs[op].name, count, t / per_run, total > 0 ? 100 * t / total : 0);
	}
	fprintf(stderr, "dg: profile: total %.1f us/run\n", total / per_run);
	for (size_t i = 0; lvl && !strcmp(lvl, "2") && i < n; i++) {
		const struct dg_kcall *c = &calls[i];
		char a[64], b[64], y[64];
		fprintf(stderr, "dg: profile: %%%-5u %-16s %10.1f us %s%s <- %s, %s%s\n", c->id,
			dg_opdefs[c->n.op].name, ns[i] / per_run,
			dg_shape_format(y, sizeof y, c->n.rank, c->n.dims),
			c->n.op == OP_MATMUL ? (c->n.ia[0] ? " (Aᵀ" : " (A") : "",
			dg_shape_format(a, sizeof a, c->in_node[0].rank, c->in_node[0].dims),
			c->n.nin > 1 ? dg_shape_format(b, sizeof b, c->in_node[1].rank,
						       c->in_node[1].dims) : "-",
			c->n.op == OP_MATMUL ? (c->n.ia[1] ? ", Bᵀ)" : ", B)") : "");
	}
}
