/* run/inference_int.h — what libcore's own requests beyond the runners'
 * protocols (run/project.c) need of a struct dg_inference. */
#ifndef DG_RUN_INFERENCE_INT_H
#define DG_RUN_INFERENCE_INT_H

#include "dg/inference.h"

/* The model built on the inference's graph (m->g), to append to. */
struct dg_model *dg__inference_model(struct dg_inference *inf);

/* The projection's step graph, built on first use (run/project.c) and
 * freed with the inference by dg__project_free. */
struct dg__project;
struct dg__project **dg__inference_project_slot(struct dg_inference *inf);
void dg__project_free(struct dg__project *p);

#endif
