/* run/train_impl.h — the trainer's state, shared by its files: the loop
 * (train.c), checkpoints and resume (train_ck.c), snapshots and
 * validation (train_snap.c). */
#ifndef DG_RUN_TRAIN_IMPL_H
#define DG_RUN_TRAIN_IMPL_H

#include "dg/train.h"
#include "run/model_ck.h"
#include "run/runner.h"

#define DG_TRAIN_DEFAULT_BATCH 128
#define DG_TRAIN_DEFAULT_LR 1e-3

/* A phase as the trainer runs it. */
struct phase_run {
	const struct dg_phase *p;
	struct dg_optim opt;           /* resolved: the family's or dg's, rate set */
	int upd;
	struct dg_exec *exec;
	unsigned steps, every;
	size_t nterms;                 /* outputs of exec: the phase's terms */
	size_t term[DG_MAX_TERMS];     /* their indexes among the model's terms */
	/* data-parallel (train_dist.c): exec computes the terms and the
	 * gradients of one shard, upd_exec the update from fed gradients */
	struct dg_fed_grads fed;
	struct dg_exec *upd_exec;
	uint64_t len;                  /* floats of gradients and terms */
};

/* A declared input with its data. */
struct input_run {
	const struct dg_input_decl *decl;
	struct dg_dataset *ds;
	uint64_t per;                  /* floats per image */
	struct dg_batcher *b;          /* unpaired: an order of its own */
	float *images;                 /* its part of the current batch */
};

/* A phase's optimizer as saved in a checkpoint. */
struct saved_phase {
	char name[65];
	struct dg_optim opt;
};

struct dg_trainer {
	const struct dg_family *f;
	const struct dg_hparams *hp;
	struct dg_hparams *own_hp;     /* set when built from a checkpoint */
	struct dg_dataset *ds;
	unsigned c, h, w, classes;
	uint64_t batch, seed, per;
	uint64_t exec_batch;           /* examples per run of a phase: batch, or
					  under mpirun a shard's (train_dist.c) */
	int binarize;
	char device[32];
	/* learning rates asked for: every phase's, then "NAME=RATE"s */
	double lr;
	const char *const *phase_lr;
	size_t nphase_lr;
	/* resume: the optimizers saved per phase (ABI 1 checkpoints have
	 * none and one rate, lr, for every phase) */
	struct saved_phase *saved;
	size_t nsaved;
	/* resume: the checkpoint, while the model is built from it */
	const struct dg_checkpoint *resume_ck;

	struct dg_graph *g;
	struct dg_model m;
	int built;
	struct dg_spec_store spec;
	struct phase_run *ph;
	size_t nph;
	struct input_run in[DG_MAX_INPUTS];
	size_t nin;
	struct dg_batcher *b;
	float *images;
	int32_t *labels;

	uint64_t step;                 /* iterations since the start of training */
	size_t nterms;
	const char *names[DG_MAX_TERMS];
	double sums[DG_MAX_TERMS], avg[DG_MAX_TERMS];
	uint64_t counts[DG_MAX_TERMS];
	/* watched terms: the largest value this epoch, epochs in a row low */
	double maxs[DG_MAX_TERMS];
	uint64_t low[DG_MAX_TERMS];
	struct dg_train_warning warnings[DG_MAX_TERMS];

	/* --snapshot: runners and their fixed inputs */
	unsigned snap;                 /* images per snapshot (0: none) */
	uint64_t snap_rows;            /* reconstruction images (a multiple of 8) */
	struct dg_runner *sample_run, *recon_run;
	float *snap_z, *snap_x;
	int32_t *snap_y, *snap_xy;

	/* standing statistics (train_standing.c): draws of codes, and their
	 * decoding with batch norms that keep each batch's statistics */
	struct dg_runner *stand_codes, *stand_decode;
	int32_t *stand_y;

	/* validation: the terms without the updates */
	struct dg_dataset *val;
	struct dg_exec *val_exec;

	char *log;                     /* CSV text, NUL-terminated */
	size_t loglen, logcap;

	/* data-parallel training over MPI (train_dist.c); NULL outside */
	struct dg_dist_run *dist;
	unsigned shards;               /* asked for (0: the default) */
	int dist_fast;
};

/* train.c: settings from cfg, then the model, phases and batchers. */
void dg__trainer_config(struct dg_trainer *t, const struct dg_train_config *cfg);
int dg__trainer_build(struct dg_trainer *t, const struct dg_train_config *cfg);

/* train_ck.c */
/* DG_EDATA naming the first parameter, buffer or average of the run that
 * holds a non-finite value, and the step. */
int dg__trainer_check_finite(struct dg_trainer *t);
/* "adam lr=0.0002 beta1=0.5 ...": an optimizer as one manifest value,
 * and back (DG_EDATA naming key for text that does not parse). */
int dg__optim_format(const struct dg_optim *o, char *buf, size_t size);
int dg__optim_parse(const char *key, const char *text, struct dg_optim *o);
int dg__log_append(struct dg_trainer *t, const char *s);

/* train_snap.c: the snapshot runners, built after the phases so that
 * training's variables and random streams are those of a run without. */
int dg__trainer_build_snapshot(struct dg_trainer *t);
void dg__trainer_free_snapshot(struct dg_trainer *t);

/* train_standing.c: the runners, built after the phases (none unless a
 * phase asks for DG_EMA_BUFFERS_STANDING); begin measures the averaged
 * weights' batch-norm statistics into their averages and hands back
 * what they held (NULL with nothing to measure), end puts that back and
 * frees it (NULL: nothing). */
int dg__trainer_build_standing(struct dg_trainer *t);
void dg__trainer_free_standing(struct dg_trainer *t);
int dg__trainer_standing_begin(struct dg_trainer *t, struct dg_array ***saved);
int dg__trainer_standing_end(struct dg_trainer *t, struct dg_array **saved);

/* train_dist.c: data-parallel training when the process joined an MPI
 * job.  setup decides the shards (before the model is built for one);
 * optimize and compile replace dg_optimize and dg_compile of a phase;
 * step replaces its feed and run, giving the batch's terms. */
int dg__dist_setup(struct dg_trainer *t, unsigned shards, int fast);
int dg__dist_optimize(struct dg_trainer *t, struct phase_run *r);
int dg__dist_compile(struct dg_trainer *t, struct phase_run *r, const dg_tensor *terms);
int dg__dist_step(struct dg_trainer *t, struct phase_run *r, float *terms);
void dg__dist_free(struct dg_trainer *t);

#endif
