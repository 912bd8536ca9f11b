/* dg/train.h — the training loop shared by every model family.
 *
 * A trainer ties a family (dg/plugin.h), its hyperparameters and a
 * dataset to one graph: it builds the model for a fixed batch size, adds
 * one optimizer update per phase, compiles one executable per phase on a
 * device, and runs epochs of batches.  It saves and restores everything a
 * run depends on (parameters, optimizer state, the graph's run counter,
 * the data order position, the log) in a checkpoint, so that a run
 * resumed from one continues exactly as if it had not stopped.
 *
 * libdg never prints: the caller sees progress through a callback and
 * asks for a stop through a flag it may set from a signal handler. */
#ifndef DG_TRAIN_H
#define DG_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "dg/checkpoint.h"
#include "dg/dataset.h"
#include "dg/plugin.h"

/* A dataset for one of the family's declared inputs (struct
 * dg_family.inputs).  It must outlive the trainer. */
struct dg_train_input {
	const char *name;
	struct dg_dataset *ds;
};

/* Settings of a run.  For dg_trainer_resume() a field left 0 (NULL)
 * takes the checkpoint's value, so that the continuation is exact;
 * setting one is allowed but gives a different run. */
struct dg_train_config {
	uint64_t batch;          /* images per step (0: 128) */
	double lr;               /* learning rate of every phase (0: each
				    phase's own: its family's recommended
				    rate, else 1e-3; on resume, the saved) */
	/* "NAME=RATE": the learning rate of phase NAME, after lr (applied in
	 * order; DG_EUSAGE for a phase the family does not have). */
	const char *const *phase_lr;
	size_t nphase_lr;
	uint64_t seed;           /* weights, data order, noise */
	int seed_set;            /* seed given (0 is a valid seed) */
	const char *device;      /* "cpu", "vulkan:N"; NULL: $DG_DEVICE or default */
	int binarize;            /* dynamic binarization of x */
	unsigned snapshot;       /* images in dg_trainer_snapshot() (0: none) */
	/* Data for the family's other inputs (a resumed run needs them
	 * again; their positions come from the checkpoint). */
	const struct dg_train_input *inputs;
	size_t ninputs;
	/* Data-parallel training, when dg_dist_init joined an MPI job: the
	 * global batch is cut into shards (examples batch/shards each, at
	 * most as many ranks as shards), each rank computing the gradients
	 * of a contiguous run of them; 0 takes 8 (on resume, the
	 * checkpoint's).  dist_fast: one shard per rank, summed by
	 * MPI_Allreduce (faster, not reproducible across rank counts). */
	unsigned shards;
	int dist_fast;
};

/* A watched term (dg_model_term_warn) that stayed below its threshold
 * for a whole epoch: every value it took in the epoch was below `below`
 * (max is the largest), for `epochs` epochs in a row, this one
 * included (1: the first epoch of the occurrence). */
struct dg_train_warning {
	const char *term;
	double below, max;
	const char *why;
	uint64_t epochs;
};

/* What the callback sees.  Term averages are over the runs of each
 * term's phase in the current epoch so far (a checkpoint keeps the sums,
 * so a resumed run goes on with them); a phase that runs every N
 * iterations is averaged over the iterations it ran. */
struct dg_train_progress {
	uint64_t epoch;          /* 0-based epoch under way (or just ended) */
	uint64_t epochs;         /* the run's target */
	uint64_t batch;          /* batches drawn in this epoch */
	uint64_t batches;        /* batches per epoch */
	uint64_t step;           /* iterations since the start of training */
	unsigned nterms;
	const char *const *names;  /* the family's reported terms */
	const double *terms;       /* their averages */
	double images_per_s;       /* images drawn per second, this epoch so far */
	double epoch_seconds;      /* wall time of this epoch so far */
	double elapsed;            /* wall time of this run (not before resume) */
	int end_of_epoch;          /* 1: the epoch just ended (and was logged) */
	/* end_of_epoch: the watched terms that stayed low this epoch (a run
	 * resumed in the middle of an epoch judges its steps since then) */
	unsigned nwarnings;
	const struct dg_train_warning *warnings;
};

/* Called after every iteration and once at the end of each epoch.  A
 * nonzero return stops the run after that iteration (like *stop). */
typedef int (*dg_train_callback)(void *ctx, const struct dg_train_progress *p);

struct dg_trainer;

/* A new run of family f with hyperparameters hp (copied by value into
 * the manifest; hp must outlive the trainer) on ds (in memory for
 * shuffling; must outlive the trainer).  The last partial batch of each
 * epoch is dropped, since the graph has a fixed batch size: DG_EUSAGE
 * when the set has fewer images than a batch. */
int dg_trainer_new(const struct dg_family *f, const struct dg_hparams *hp,
		   struct dg_dataset *ds, const struct dg_train_config *cfg,
		   struct dg_trainer **out);
/* A run continued from ck: the family (loaded by name), hyperparameters,
 * batch, seed, each phase's optimizer and learning rate, and the data
 * positions from its manifest, the parameters, averages and optimizer
 * state from its members.  DG_EDATA when ds (or an input's data) has
 * another image shape than the checkpoint says. */
int dg_trainer_resume(const struct dg_checkpoint *ck, struct dg_dataset *ds,
		      const struct dg_train_config *cfg, struct dg_trainer **out);
void dg_trainer_free(struct dg_trainer *t);

/* Trains until epochs epochs are complete (counted from the start of
 * training, so a resumed run with the same target does what remains),
 * or until *stop (if not NULL) becomes nonzero or the callback asks to
 * stop: the iteration under way is always finished, so the trainer is
 * then in a consistent state to save.  Returns a status; a stop is not
 * an error (see dg_trainer_done()). */
int dg_trainer_run(struct dg_trainer *t, uint64_t epochs, dg_train_callback cb, void *ctx,
		   const volatile sig_atomic_t *stop);
/* Whether epochs epochs are complete. */
int dg_trainer_done(const struct dg_trainer *t, uint64_t epochs);

/* A checkpoint of the current state (caller frees it): manifest keys
 * plugin_abi, hparam.<name>, data_shape, classes, input.<name> (shapes
 * and positions of the other inputs), step, epoch, rng, train.batch,
 * train.seed, train.batch_index, train.binarize, phase.<name> (the
 * phase's optimizer with its learning rate, steps and every); members
 * params/<name> for parameters and buffers, ema/<name> for averages,
 * optim/<name> for optimizer state and counters (including the graph's
 * run counter), and log.csv (dg-checkpoint(5)). */
int dg_trainer_checkpoint(struct dg_trainer *t, struct dg_checkpoint **out);
/* The same, written atomically to path (flags of dg_checkpoint_write). */
int dg_trainer_save(struct dg_trainer *t, const char *path, int flags);

/* The CSV training log: a header "epoch,step,<terms>,images_per_s" and
 * one line per completed epoch, including those before a resume.  Valid
 * until the next call on t. */
const char *dg_trainer_log(const struct dg_trainer *t, size_t *len);

/* Pictures of the model as it is, for --snapshot (needs cfg->snapshot),
 * from its averaged weights where it keeps averages (as the inference
 * tools use them).  *samples: decoded latents drawn once from the prior
 * with a fixed seed (so successive snapshots show the same codes), or
 * the family's own samples for families that sample in data space; NULL
 * when the family cannot sample.  *recon: for families that translate
 * images or encode and decode them, the first images of the set and
 * what the model makes of them (its translation, else its
 * reconstruction from the posterior mean), alternating rows of 8; NULL
 * otherwise.  Both
 * are N×C×H×W f32 arrays the caller frees.  Training is not disturbed:
 * the graph's run counter and the weights are restored afterwards, so a
 * run with snapshots gives the same model as one without. */
int dg_trainer_snapshot(struct dg_trainer *t, struct dg_array **samples,
			struct dg_array **recon);

/* Validation: sets val (which must outlive t; same image shape) as the
 * set dg_trainer_validate() measures.  DG_EUSAGE when it has fewer
 * images than a batch, DG_EDATA for another shape. */
int dg_trainer_set_validation(struct dg_trainer *t, struct dg_dataset *val);
/* The family's terms averaged over the full batches of the validation
 * set, in order, into avg[0..nterms).  The model's noise is drawn as in
 * training but the graph's run counter is restored, so validating does
 * not change the training. */
int dg_trainer_validate(struct dg_trainer *t, double *avg, unsigned *nterms);

const struct dg_family *dg_trainer_family(const struct dg_trainer *t);
/* Where the run is: completed epochs, iterations, batches per epoch. */
uint64_t dg_trainer_epoch(const struct dg_trainer *t);
uint64_t dg_trainer_step(const struct dg_trainer *t);
uint64_t dg_trainer_batches(const struct dg_trainer *t);
/* The resolved device id ("cpu", "vulkan:0"). */
const char *dg_trainer_device(const struct dg_trainer *t);

/* ---- data-parallel training over MPI (dg-train(1), "ON A CLUSTER") ---- */

/* Joins the MPI job that a launcher (mpirun) started this process in,
 * setting *rank and *size; outside one (or in a build without MPI), 0
 * and 1 and nothing else happens.  A trainer made afterwards trains its
 * share of every batch and combines gradients with the other ranks.
 * DG_EUSAGE when a build without MPI is one of several ranks. */
int dg_dist_init(int *rank, int *size);
/* Leaves the job (after the last collective; every rank calls it). */
void dg_dist_finish(void);
/* After a failure on this rank: stops every process of the job with
 * status, so that none waits forever for this one.  Does nothing
 * outside a job of several ranks. */
void dg_dist_abort(int status);
/* Seconds this rank spent computing its shards' gradients, and
 * combining them with the other ranks' (waiting included), since the
 * trainer was made; both 0 outside a job. */
void dg_trainer_dist_times(const struct dg_trainer *t, double *compute, double *reduce);

#endif
