/* graph/reduce_groups.c — the axis grouping of a reduction, shared by the
 * cpu and vulkan backends so both reduce in the same order. */
#include "graph/backend.h"

void dg__reduce_groups(const struct dg_node *x, const struct dg_node *y,
		       struct dg_reduce_groups *g)
{
	uint64_t stride = 1;
	int prev = -1;   /* kind of the axis merged last: 0 kept, 1 reduced */

	g->nk = g->nr = 0;
	/* Walk axes from the innermost, merging neighbours of one kind. */
	for (int k = (int)x->rank - 1; k >= 0; k--) {
		uint64_t d = x->dims[k];
		if (d == 1)
			continue;
		int red = y->dims[k] == 1;
		if (red == prev) {
			if (red)
				g->rd[g->nr - 1] *= d;
			else
				g->kd[g->nk - 1] *= d;
		} else if (red) {
			g->rd[g->nr] = d;
			g->rs[g->nr++] = stride;
		} else {
			g->kd[g->nk] = d;
			g->ks[g->nk++] = stride;
		}
		prev = red;
		stride *= d;
	}
	/* Collected innermost first; loops want outermost first. */
	for (unsigned i = 0; i < g->nk / 2; i++) {
		uint64_t t = g->kd[i]; g->kd[i] = g->kd[g->nk - 1 - i]; g->kd[g->nk - 1 - i] = t;
		t = g->ks[i]; g->ks[i] = g->ks[g->nk - 1 - i]; g->ks[g->nk - 1 - i] = t;
	}
	for (unsigned i = 0; i < g->nr / 2; i++) {
		uint64_t t = g->rd[i]; g->rd[i] = g->rd[g->nr - 1 - i]; g->rd[g->nr - 1 - i] = t;
		t = g->rs[i]; g->rs[i] = g->rs[g->nr - 1 - i]; g->rs[g->nr - 1 - i] = t;
	}
}
