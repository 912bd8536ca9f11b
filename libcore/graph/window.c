/* graph/window.c — the geometry of a general convolution or pooling call
 * (struct dg_window, graph/backend.h), read once from its nodes for the
 * kernels of both backends. */
#include <string.h>
#include "graph/backend.h"

/* An image's spatial sides, depth 1 for rank 4. */
static void sides(const struct dg_node *t, int64_t *s)
{
	s[0] = t->rank == 5 ? (int64_t)t->dims[2] : 1;
	s[1] = (int64_t)t->dims[t->rank - 2];
	s[2] = (int64_t)t->dims[t->rank - 1];
}

void dg__window(const struct dg_kcall *c, struct dg_window *w)
{
	const struct dg_node *x, *y, *k = NULL;
	const int64_t *ia = c->n.ia;
	memset(w, 0, sizeof *w);
	switch (c->n.op) {
	case OP_CONV_ND:                /* (x, w) -> y */
		x = &c->in_node[0], k = &c->in_node[1], y = &c->n;
		break;
	case OP_CONV_ND_BWD_DATA:       /* (dy, w) -> dx */
		x = &c->n, k = &c->in_node[1], y = &c->in_node[0];
		break;
	case OP_CONV_ND_BWD_FILTER:     /* (x, dy) -> dw */
		x = &c->in_node[0], k = &c->n, y = &c->in_node[1];
		break;
	case OP_MAX_POOL_BWD:           /* (x, dy) -> dx */
		x = &c->in_node[0], y = &c->in_node[1];
		break;
	case OP_AVG_POOL_BWD:           /* (dy) -> dx */
		x = &c->n, y = &c->in_node[0];
		break;
	default:                        /* pooling (x[, h]) -> y */
		x = &c->in_node[0], y = &c->n;
		break;
	}
	w->n = (int64_t)x->dims[0];
	w->c = (int64_t)x->dims[1];
	w->o = (int64_t)y->dims[1];
	sides(x, w->in);
	sides(y, w->out);
	if (k) {
		w->groups = ia[DG_CIA_GROUPS];
		sides(k, w->k);
		for (int i = 0; i < 3; i++) {
			w->s[i] = ia[DG_CIA_STRIDE + i];
			w->p[i] = ia[DG_CIA_PAD + i];
			w->d[i] = ia[DG_CIA_DIL + i];
		}
		return;
	}
	w->groups = w->c;
	w->include_pad = ia[DG_PIA_INCLUDE_PAD] != 0;
	for (int i = 0; i < 3; i++) {
		w->k[i] = ia[DG_PIA_KERNEL + i];
		w->s[i] = ia[DG_PIA_STRIDE + i];
		w->p[i] = ia[DG_PIA_PAD + i];
		w->d[i] = 1;
	}
}
