/* graph/autograd.c — reverse-mode differentiation by appending each op's
 * backward rule (backward.c) to the graph, so gradients are tensors like any
 * other and can be differentiated again. */
#include <stdlib.h>
#include <string.h>
#include "graph/graph_impl.h"

int dg_gradients(struct dg_graph *g, dg_tensor y, size_t n, const dg_tensor *xs,
		 dg_tensor *grads)
{
	uint8_t *dep;
	uint32_t *gsum;
	uint32_t lo = UINT32_MAX;

	for (size_t i = 0; i < n; i++)
		grads[i] = DG_NONE;
	if (g->status)
		return g->status;
	if (!y.id || y.id >= g->nnodes || g->nodes[y.id].count != 1)
		return dg__fail(g, DG_EUSAGE, "gradients: y must be a scalar tensor");
	for (size_t i = 0; i < n; i++) {
		if (!xs[i].id || xs[i].id >= g->nnodes)
			return dg__fail(g, DG_EUSAGE, "gradients: x %zu is not a tensor", i);
		if (xs[i].id < lo)
			lo = xs[i].id;
	}
	size_t top = y.id + 1;
	dep = calloc(top, 1);
	gsum = calloc(top, sizeof *gsum);
	if (!dep || !gsum) {
		free(dep);
		free(gsum);
		return dg__fail(g, DG_ENOMEM, "gradients: out of memory");
	}
	/* dep: depends differentiably on some x. */
	for (size_t i = 0; i < n; i++)
		if (xs[i].id < top)
			dep[xs[i].id] = 1;
	for (uint32_t id = lo; id < top; id++) {
		const struct dg_node *nd = &g->nodes[id];
		if (dep[id] || (dg_opdefs[nd->op].flags & OPF_NODIFF))
			continue;
		for (unsigned k = 0; k < nd->nin; k++)
			if (dep[nd->in[k]])
				dep[id] = 1;
	}
	if (dep[y.id]) {
		uint64_t d[DG_MAX_RANK];
		unsigned r = dg_shape(g, y, d);
		gsum[y.id] = dg_full(g, r, d, 1).id;
	}
	for (uint32_t id = y.id; id >= lo && id > 0 && !g->status; id--) {
		uint32_t gin[DG_NODE_MAXIN] = {0}, in[DG_NODE_MAXIN];
		const struct dg_node *nd = &g->nodes[id];
		unsigned nin = nd->nin;
		if (!gsum[id] || !dep[id] || !dg_opdefs[nd->op].backward)
			continue;
		memcpy(in, nd->in, sizeof in);
		dg_opdefs[nd->op].backward(g, id, gsum[id], gin);
		for (unsigned k = 0; k < nin; k++) {
			if (!gin[k] || !dep[in[k]])
				continue;
			gsum[in[k]] = gsum[in[k]] ? dg__op2(g, OP_ADD, gsum[in[k]], gin[k]) : gin[k];
		}
	}
	for (size_t i = 0; i < n && !g->status; i++) {
		uint64_t d[DG_MAX_RANK];
		unsigned r = dg_shape(g, xs[i], d);
		grads[i] = xs[i].id < top && gsum[xs[i].id] ? (dg_tensor){gsum[xs[i].id]}
							    : dg_full(g, r, d, 0);
	}
	free(dep);
	free(gsum);
	return g->status;
}

dg_tensor dg_grad(struct dg_graph *g, dg_tensor y, dg_tensor x)
{
	dg_tensor gr;
	dg_gradients(g, y, 1, &x, &gr);
	return gr;
}
