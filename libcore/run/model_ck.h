/* run/model_ck.h — what a checkpoint says about its model, shared by the
 * trainer (--resume) and inference: the family and its hyperparameters,
 * the shapes the model was built for, and which member holds each graph
 * variable. */
#ifndef DG_RUN_MODEL_CK_H
#define DG_RUN_MODEL_CK_H

#include <stddef.h>
#include "dg/checkpoint.h"
#include "dg/graph.h"
#include "dg/plugin.h"

/* The most data inputs a model may have besides x. */
#define DG_MAX_INPUTS 8

/* A model spec with room for its inputs' shapes and names. */
struct dg_spec_store {
	struct dg_model_spec spec;
	struct dg_input_shape in[DG_MAX_INPUTS];
	char names[DG_MAX_INPUTS][65];
};

/* The checkpoint's plugin ABI: DG_EDATA naming the file unless it is one
 * this dg reads (1 or DG_PLUGIN_ABI); *abi is set. */
int dg__ck_abi(const struct dg_checkpoint *ck, uint64_t *abi);
/* The checkpoint's family, loaded by name, and its hyperparameters from
 * the manifest (*hp is set, possibly partly filled, even on error). */
int dg__ck_family(const struct dg_checkpoint *ck, const struct dg_family **f,
		  struct dg_hparams **hp);
/* data_shape, classes and input.<name> shapes from the manifest, for a
 * model of batch rows; DG_EDATA for values out of range. */
int dg__ck_spec(const struct dg_checkpoint *ck, uint64_t batch, int training,
		struct dg_spec_store *s);
/* Writes the same keys into a manifest. */
int dg__ck_put_spec(struct dg_checkpoint *ck, const struct dg_model_spec *spec);

/* Checks each parameter and buffer of g against its member of ck (and
 * each parameter's ema/ average, if ck has one): present, f32, of the
 * same shape, and finite unless $DG_ALLOW_NONFINITE is 1.  Nothing is
 * allocated, so a manifest whose hyperparameters claim a huge model is
 * refused before the model is made.  DG_EDATA naming the member. */
int dg__ck_check_model(const struct dg_checkpoint *ck, const struct dg_graph *g);
/* DG_EDATA naming what and the first non-finite element of a, then the
 * hint in parentheses, unless $DG_ALLOW_NONFINITE is 1. */
int dg__check_finite(const struct dg_array *a, const char *what, const char *hint);

/* The member holding graph variable i: params/<name> for parameters and
 * buffers, ema/<param> for averages, optim/<name> for optimizer state and
 * counters; "" for scratch variables, which are not saved. */
void dg__member_name(const struct dg_graph *g, size_t i, char *buf, size_t size);

/* Parses "CxHxW" with each side in 1..65535. */
int dg__parse_chw(const char *text, unsigned *c, unsigned *h, unsigned *w);

#endif
