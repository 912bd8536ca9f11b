/* nn/nn_impl.h — what the layer library's files share: a layer call's
 * scope and options read whole (defaults past a plugin's struct_size),
 * its full name, and the declare-or-reuse of its variables.  Internal. */
#ifndef DG_NN_IMPL_H
#define DG_NN_IMPL_H

#include "dg/nn.h"

/* One layer call: the scope and options as this libdg knows them, and
 * the layer's full name "P.L" (for its variables and messages). */
struct nn_layer {
	struct dg_graph *g;
	struct dg_nn s;
	struct dg_nn_opt o;
	unsigned flags;            /* the scope's and the layer's */
	char name[DG_NN_MAX_NAME];
};

/* Reads nn and opt (NULL: defaults) into l and checks name (one
 * component; NULL for none: l->name is then the prefix without its
 * dot).  0 when the layer may go on; else the graph's status (nonzero,
 * recorded), or DG_EUSAGE with dg_error's message when nn itself is
 * unusable and there is no graph to record it on. */
int nn__layer(struct nn_layer *l, const struct dg_nn *nn, const char *name,
	      const struct dg_nn_opt *opt);
/* Names a call that is not a layer of its own (a weight, a norm's
 * vector) for messages: prefix + name, cut if too long. */
void nn__rename(struct nn_layer *l, const char *name);
/* Reads a scope alone (for functions without options). */
int nn__scope(struct dg_nn *s, const struct dg_nn *nn);
/* Records "<l->name>: <message>" as a usage error; returns DG_NONE. */
dg_tensor nn__fail(struct nn_layer *l, const char *fmt, ...) DG_PRINTF(2, 3);

/* The variable s.prefix + name (name may hold dots) of kind param or
 * buffer: declared with init on first use, else checked and reused. */
dg_tensor nn__var(const struct dg_nn *s, const char *name, int buffer, unsigned rank,
		  const uint64_t *dims, struct dg_init init);
/* The layer's weight "<L>.w" (flags applied) and bias "<L>.b" (DG_NONE
 * with DG_NN_NO_BIAS) for a weight of dims. */
dg_tensor nn__weight(struct nn_layer *l, unsigned rank, const uint64_t *dims,
		     unsigned out_axis);
dg_tensor nn__bias(struct nn_layer *l, uint64_t n, unsigned wrank, const uint64_t *wdims);
/* opt->act applied to y. */
dg_tensor nn__act(struct nn_layer *l, dg_tensor y);
/* Whether t is a tensor of the graph that has not failed. */
int nn__valid(struct dg_graph *g, dg_tensor t);

#endif
