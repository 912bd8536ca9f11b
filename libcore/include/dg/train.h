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

/* Settings of a run.  For dg_trainer_resume() a field left 0 (NULL)
 * takes the checkpoint's value, so that the continuation is exact;
 * setting one is allowed but gives a different run. */
struct dg_train_config {
	uint64_t batch;          /* images per step (0: 128) */
	double lr;               /* learning rate (0: 1e-3, or the phase's own
				    recommended optimizer's rate) */
	uint64_t seed;           /* weights, data order, noise */
	int seed_set;            /* seed given (0 is a valid seed) */
	const char *device;      /* "cpu", "vulkan:N"; NULL: $DG_DEVICE or default */
	int binarize;            /* dynamic binarization of the images */
	unsigned snapshot;       /* images in dg_trainer_snapshot() (0: none) */
};

/* What the callback sees.  Term averages are over the iterations of the
 * current epoch run so far (since the start, or since a resume). */
struct dg_train_progress {
	uint64_t epoch;          /* 0-based epoch under way (or just ended) */
	uint64_t epochs;         /* the run's target */
	uint64_t batch;          /* batches done in this epoch */
	uint64_t batches;        /* batches per epoch */
	uint64_t step;           /* iterations since the start of training */
	unsigned nterms;
	const char *const *names;  /* the family's reported terms */
	const double *terms;       /* their averages */
	double images_per_s;       /* over this epoch so far */
	double epoch_seconds;      /* wall time of this epoch so far */
	double elapsed;            /* wall time of this run (not before resume) */
	int end_of_epoch;          /* 1: the epoch just ended (and was logged) */
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
 * batch, learning rate, seed and position from its manifest, the
 * parameters and optimizer state from its members.  DG_EDATA when ds
 * has another image shape than the checkpoint. */
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
 * plugin_abi, hparam.<name>, data_shape, classes, step, epoch, rng,
 * train.batch, train.lr, train.seed, train.batch_index, train.binarize;
 * params/<name> for parameters and buffers, optim/<name> for optimizer
 * state and counters (including the graph's run counter), and log.csv. */
int dg_trainer_checkpoint(struct dg_trainer *t, struct dg_checkpoint **out);
/* The same, written atomically to path (flags of dg_checkpoint_write). */
int dg_trainer_save(struct dg_trainer *t, const char *path, int flags);

/* The CSV training log: a header "epoch,step,<terms>,images_per_s" and
 * one line per completed epoch, including those before a resume.  Valid
 * until the next call on t. */
const char *dg_trainer_log(const struct dg_trainer *t, size_t *len);

/* Pictures of the model as it is, for --snapshot (needs cfg->snapshot).
 * *samples: decoded latents drawn once from the prior with a fixed seed
 * (so successive snapshots show the same codes), or the family's own
 * samples for families that sample in data space; NULL when the family
 * cannot sample.  *recon: for encoders, the first images of the set and
 * their reconstructions from the posterior mean, alternating rows of 8
 * (originals, then reconstructions); NULL otherwise.  Both are N×C×H×W
 * f32 arrays the caller frees.  Training is not disturbed: the graph's
 * run counter is restored afterwards, so a run with snapshots gives the
 * same model as one without. */
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

/* ---- inference: a trained model rebuilt from a checkpoint ------------- */

/* What dg-sample and dg-decode use: the family (loaded by the
 * checkpoint's name), its hyperparameters from the manifest, the data
 * shape and classes, a graph built for inference (training = 0) with the
 * parameters restored from params/ members (read ck with
 * DG_CHECKPOINT_NO_OPTIM: optimizer state is not used).  The caller
 * appends the family's sample/decode computations on m.g, compiles them
 * on device and runs them. */
struct dg_inference {
	const struct dg_family *f;
	struct dg_hparams *hp;
	struct dg_graph *g;
	struct dg_model m;
	unsigned channels, height, width, classes;
	char device[64];        /* resolved device id */
	int built;
};
/* batch: rows of the model's x input (any n >= 1); seed: the graph's
 * random streams; device as in struct dg_train_config. */
int dg_inference_load(const struct dg_checkpoint *ck, const char *device, uint64_t batch,
		      uint64_t seed, struct dg_inference **out);
void dg_inference_free(struct dg_inference *inf);

#endif
