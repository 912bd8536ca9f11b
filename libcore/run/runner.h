/* run/runner.h — a family's inference computations (protocols) built on
 * a model's graph, compiled once at a fixed batch size and run on any
 * number of rows: the one path behind dg/inference.h and the trainer's
 * snapshots.
 *
 * A runner pads the last chunk of a request to its batch (zeros, class
 * 0) and keeps only the rows asked for, so a stream whose records have
 * varying sizes never recompiles, and rows do not depend on the chunk
 * they fall in: a random op draws element i of a run from counter + i/4,
 * whatever the batch. */
#ifndef DG_RUN_RUNNER_H
#define DG_RUN_RUNNER_H

#include <stdint.h>
#include "dg/array.h"
#include "dg/plugin.h"
#include "dg/inference.h"

enum dg_protocol {
	DG_PROTO_ENCODE,      /* x [, y] -> mean [, sample] */
	DG_PROTO_DECODE,      /* z [, y] -> image */
	DG_PROTO_SAMPLE,      /* [y] -> latents or images (sample()) */
	DG_PROTO_STEPS,       /* [y], canvas -> images (sample_step() repeated) */
	DG_PROTO_TRANSLATE,   /* x [, y] -> image */
	DG_PROTO_LOGLIK,      /* x [, y] -> per-example terms */
	DG_PROTO_RECON,       /* x [, y] -> decode(encode(x).mean) */
	DG_PROTO_CLASSIFY,    /* x -> features, class probabilities */
};

struct dg_proto_args {
	int with_y;           /* feed labels (conditional models) */
	float t;              /* SAMPLE, STEPS: temperature */
	unsigned k;           /* LOGLIK: importance samples */
	int draw;             /* ENCODE: also a draw from the posterior */
};

struct dg_runner;

/* Appends protocol p of family f to m's graph for batch rows, and
 * compiles it on device.  Errors name the family and what it was asked.
 * DG_EUSAGE when the family lacks the capability. */
int dg__runner_new(struct dg_model *m, const struct dg_family *f, const char *device,
		   uint64_t batch, enum dg_protocol p, const struct dg_proto_args *a,
		   struct dg_runner **out);
void dg__runner_free(struct dg_runner *r);

/* Rows per run, and what one row of output o holds (its shape without
 * the leading batch axis: rank and dims). */
uint64_t dg__runner_batch(const struct dg_runner *r);
size_t dg__runner_outputs(const struct dg_runner *r);
unsigned dg__runner_out_shape(const struct dg_runner *r, size_t o, uint64_t *dims);
/* LOGLIK: the terms' names, one per output (the family's static strings). */
const char *const *dg__runner_names(const struct dg_runner *r);

/* Runs n rows: x (f32, per-row size of the protocol's data input: an
 * image, or a latent code for DECODE) and y (i32, NULL when the runner
 * has no labels) in, one new f32 array per output out (n rows each).
 * STEPS: x, when not NULL, holds images whose first keep steps are
 * kept (completion); otherwise the canvas starts at zero.  The graph's
 * run counter is left where the runs put it. */
int dg__runner_run(struct dg_runner *r, uint64_t n, const float *x, const int32_t *y,
		   uint64_t keep, struct dg_array **out);
/* STEPS: the progress report of the next runs (dg/inference.h's
 * dg_inference_on_steps), NULL for none. */
void dg__runner_on_steps(struct dg_runner *r, dg_steps_progress fn, void *ctx);
/* STEPS: steps per image and per image row (after dg__runner_new). */
uint64_t dg__runner_steps(const struct dg_runner *r, uint64_t *per_row);

#endif
