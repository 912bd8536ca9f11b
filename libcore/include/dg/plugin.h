/* dg/plugin.h — the model-family plugin ABI (dg-plugin(7)) and its loader.
 *
 * A family is a shared object dg-<name>.so exporting one function,
 * dg_family_entry(), that returns a const struct dg_family: what the family
 * is (name, summary, hyperparameters, capabilities) and how it builds its
 * computations on a struct dg_graph.  The split of work is fixed here:
 * a plugin owns its architecture and its loss; libcore owns the training
 * loop, optimizers, checkpoints, progress and I/O.  So every function a
 * plugin provides only appends ops to a graph; none of them runs anything.
 *
 * Versioning: DG_PLUGIN_ABI changes only on an incompatible change (ABI 2
 * added several phases with optimizers of their own, named inputs,
 * data-space sampling and translation; the loader refuses ABI 1
 * plugins).  New fields are appended to struct dg_family, struct dg_model,
 * struct dg_phase and struct dg_step_sampler, never inserted: the family
 * description carries its own size, and the others are allocated by
 * libcore and zeroed, so a plugin built against an older header sets only
 * the fields it knows. */
#ifndef DG_PLUGIN_H
#define DG_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include "dg/graph.h"

/* The ABI major version a plugin must be built for. */
#define DG_PLUGIN_ABI 2
/* The symbol the loader looks up, and its type. */
#define DG_FAMILY_ENTRY "dg_family_entry"
struct dg_family;
typedef const struct dg_family *(*dg_family_entry_fn)(void);

/* Longest family name; names are [A-Za-z0-9_.-], not starting with '.'
 * (the charset of a checkpoint's family=, so every family can be saved). */
#define DG_FAMILY_MAX_NAME 64

/* Longest name of a hyperparameter, phase, term or input: names are
 * [a-z0-9_]{1,DG_NAME_MAX}, and become manifest keys. */
#define DG_NAME_MAX 40

/* ---- hyperparameters ------------------------------------------------------ */

enum dg_hparam_type {
	DG_HP_INT = 1,     /* a decimal integer; range [lo, hi] if lo < hi */
	DG_HP_FLOAT,       /* a finite number; range [lo, hi] if lo < hi */
	DG_HP_BOOL,        /* 0/1, true/false, yes/no, on/off */
	DG_HP_CHOICE,      /* one of the '|'-separated words of choices */
	DG_HP_STRING,      /* any text without a newline */
};

/* One row of a family's table, which ends with a row whose name is NULL.
 * def is the default written as on the command line ("400", "mlp"); the
 * loader parses every default and refuses the plugin if one is invalid.
 * lo == hi (e.g. both 0) means unbounded. */
struct dg_hparam {
	const char *name;          /* [a-z0-9_]{1,DG_NAME_MAX}, unique in the table */
	enum dg_hparam_type type;
	const char *def;
	double lo, hi;             /* DG_HP_INT, DG_HP_FLOAT */
	const char *choices;       /* DG_HP_CHOICE: "mlp|conv" */
	const char *help;          /* one line for `dg-train -p F --help` */
};

/* A family's hyperparameter values: its defaults, then `--set` strings
 * applied in order.  Owned by the caller (libcore), read by the plugin
 * through dg_model_int() and friends. */
struct dg_hparams;

/* Values from f's defaults.  DG_EDATA naming the family if a default does
 * not parse (a plugin bug; the loader has checked loaded families). */
int dg_hparams_new(const struct dg_family *f, struct dg_hparams **out);
void dg_hparams_free(struct dg_hparams *hp);
/* Applies "name=value" (a --set argument).  DG_EUSAGE with a message for
 * a missing '=', an unknown name (listing the known ones), a value that
 * does not parse, is out of range, or is not one of the choices; hp is
 * unchanged on error. */
int dg_hparams_set(struct dg_hparams *hp, const char *assignment);
/* The same with name and value apart (e.g. from a checkpoint's manifest). */
int dg_hparams_set_value(struct dg_hparams *hp, const char *name, const char *value);
/* Rows in table order, with each value in canonical text (integers in
 * decimal, floats as %.9g, bools as 0/1): what dg-train stores in the
 * manifest as hparam.<name> so that a checkpoint rebuilds the same model. */
size_t dg_hparams_count(const struct dg_hparams *hp);
const struct dg_hparam *dg_hparams_row(const struct dg_hparams *hp, size_t i);
const char *dg_hparams_text(const struct dg_hparams *hp, size_t i);
/* The canonical text of the hyperparameter called name, NULL when the
 * family has none of that name. */
const char *dg_hparams_get(const struct dg_hparams *hp, const char *name);

/* ---- a model being built ----------------------------------------------------- */

/* Most terms loglik() may return (the size of its out array). */
#define DG_MAX_TERMS 16

enum dg_prior {
	DG_PRIOR_NONE = 0,         /* no prior: latents only come from encode */
	DG_PRIOR_GAUSSIAN,         /* N(0, I): dg-interp defaults to slerp */
	DG_PRIOR_UNIFORM,          /* U(-1, 1)^d */
	DG_PRIOR_OTHER,            /* the family's own, drawn by its sample()
				      (an AAE's mixture): dg-interp lerps */
};
/* What records' prior= says of each: "none", "gaussian", "uniform",
 * "other". */
const char *dg_prior_name(enum dg_prior p);

/* Data inputs beyond x and y, declared by a family in its table (struct
 * dg_family.inputs), fed by the trainer from datasets of their own
 * (`dg-train -d A -d B`, or `-d NAME=DATA`) and created in build() by
 * dg_model_input().  Each has its own image shape, checked when the
 * model is built and kept in the checkpoint. */
enum dg_input_kind {
	DG_INPUT_PAIRED = 1,       /* item i goes with item i of x: the same
				      count, drawn in x's order (pix2pix's
				      targets, inpainting masks) */
	DG_INPUT_UNPAIRED,         /* a second domain, shuffled on its own and
				      cycled when shorter (CycleGAN) */
};
struct dg_input_decl {
	const char *name;          /* [a-z0-9_], not "x" or "y" */
	enum dg_input_kind kind;
	const char *help;          /* one line for `dg-train -p F --help` */
};

/* One optimizer step of a training iteration (a "phase"), declared in
 * build() by dg_model_phase(), which returns a phase owned by libcore
 * with name, loss and groups set and the rest zero; the family may then
 * set the optional fields.  A VAE has one phase; a WGAN-GP has "critic"
 * (group 1, 5 steps) then "generator" (group 0); StyleGAN2 adds a lazy
 * R1 phase with every = 16.
 *
 * An iteration runs the phases in the order they were declared.  It
 * draws one batch, which the first step of every phase sees; each
 * further step of a phase draws a fresh batch (a critic trained 5 times
 * sees 5 batches).  A phase with every = N runs on iterations 0, N, 2N...
 * (counted from the start of training, so --resume keeps the rhythm). */
struct dg_phase {
	const char *name;          /* [a-z0-9_]; set by dg_model_phase() */
	dg_tensor loss;            /* a scalar; set by dg_model_phase() */
	unsigned groups;           /* DG_GROUP bits; set by dg_model_phase() */
	unsigned steps;            /* optimizer steps per iteration (0: 1) */
	unsigned every;            /* run every N-th iteration (0: 1) */
	/* The family's recommended optimizer (copied at build; NULL: Adam,
	 * lr 1e-3).  `dg-train --lr` overrides its learning rate for every
	 * phase, `--lr NAME=RATE` for one.  ema_decay > 0 keeps an average
	 * of the phase's parameters, which the inference tools use. */
	const struct dg_optim *optim;
	/* Appended after ABI 2's first version (libcore zeroes it, so older
	 * plugins leave it 0).  Nonzero: the EMA of optim's ema_decay warms
	 * up (dg_optim_ema_warmup): it follows the parameters closely in the
	 * phase's first steps instead of remembering their initial values. */
	int ema_warmup;
	/* Appended later still (0 in older plugins).  Nonzero: the EMA also
	 * averages the buffers of the phase's groups (batch norm's running
	 * statistics; dg_optim_ema_buffers), which inference then uses with
	 * the averaged weights.  Only for groups whose buffers are averages
	 * themselves: a spectral norm's power-iteration vector is not.
	 * DG_EMA_BUFFERS_STANDING: besides, whenever a checkpoint is written
	 * the checkpoint's averaged buffers are measured on the averaged
	 * weights ("standing statistics"): the family's sample() and
	 * decode(), built in training mode, run on 4,096 fresh draws and
	 * the batch norms' statistics are averaged over the runs. */
	int ema_buffers;
};
enum { DG_EMA_BUFFERS_AVERAGE = 1, DG_EMA_BUFFERS_STANDING = 2 };

/* A named scalar reported by a phase (mean over its batch), or by
 * loglik() a per-example vector in nats ("nelbo", "rec", "kl", "iwae"). */
struct dg_term {
	const char *name;          /* [a-z0-9_], static in the plugin */
	dg_tensor value;
};

struct dg_model_core;          /* libcore's bookkeeping: phases, terms, inputs */

/* What libcore hands a family's functions.  libcore fills the "in"
 * fields, then calls build(), which fills the "out" fields and declares
 * phases and terms; the same struct is then passed to the inference
 * functions, which append further computations to the same graph and so
 * share its parameters.  Strings the plugin stores must be static. */
struct dg_model {
	uint32_t struct_size;          /* in: sizeof(struct dg_model) of libcore */
	struct dg_graph *g;            /* in: the graph to build on */
	const struct dg_hparams *hp;   /* in: validated values */
	unsigned channels, height, width; /* in: the data shape C×H×W of x */
	unsigned classes;              /* in: label count; 0 when unlabelled */
	uint64_t batch;                /* in: the training batch size */
	int training;                  /* in: build for training (dropout,
					  batch statistics) or for inference */
	dg_tensor x;                   /* in: batch×C×H×W f32 in [0,1] */
	dg_tensor y;                   /* in: batch i32 labels, or DG_NONE */

	unsigned latent_dim;           /* out: size of a latent code (0: none) */
	enum dg_prior prior;           /* out */
	void *priv;                    /* out: the plugin's own state (tensor
					  handles of its parameters), freed by
					  its release() */
	struct dg_model_core *core;    /* libcore's; plugins do not touch it */
	int labels_unused;             /* out: 1 when this model does not use
					  y although its family is
					  DG_CAP_CONDITIONAL and the data
					  labelled (gan cond=none, vae
					  conditional=0): the tools then do
					  not feed labels nor take --class */
};

/* Declares a training phase: minimize loss (a scalar) over the
 * parameters in groups.  Returns the phase, to set steps, every and
 * optim on, or NULL after an error (recorded on m->g, so build() may go
 * on and return dg_graph_status(m->g)).  Names are unique. */
struct dg_phase *dg_model_phase(struct dg_model *m, const char *name, dg_tensor loss,
				unsigned groups);
/* Declares a term that phase reports, measured in its own step: the
 * trainer reads it after every run of that phase and averages it over
 * the runs of an epoch.  Names are unique among the model's terms and
 * keep their declaration order in progress lines and logs.  Returns
 * the graph's status. */
int dg_model_term(struct dg_model *m, struct dg_phase *phase, const char *name,
		  dg_tensor value);
/* Asks the trainer to watch the declared term name for a failure of
 * training: when every value it takes in an epoch is below `below`, the
 * epoch's progress reports it with why, a static one-line reason ("the
 * discriminator wins"), and dg-train warns once per run of such epochs
 * (dg-train(1)).  A term has at most one watch.  Returns the graph's
 * status (DG_EINTERNAL for an undeclared term). */
int dg_model_term_warn(struct dg_model *m, const char *name, double below, const char *why);
/* The tensor of the declared data input name (batch×C×H×W f32 in [0,1],
 * its own shape), created on first use.  DG_NONE and an error on m->g
 * for a name the family did not declare, or when the model is built
 * without that input's data. */
dg_tensor dg_model_input(struct dg_model *m, const char *name);

/* Data-space sampling (DG_CAP_SAMPLE_STEPS): what sample_step() fills. */
struct dg_step_sampler {
	dg_tensor next;            /* the canvas after step pos (same shape) */
	uint64_t steps;            /* steps to draw a whole image (H×W, or
				      H×W×C when channels are drawn apart) */
	uint64_t steps_per_row;    /* steps per image row (--keep-rows) */
	/* Appended after ABI 2's first version (libcore zeroes it).  Nonzero:
	 * the step keeps state of its own that earlier steps leave (caches of
	 * activations, in dg_variable()s it assigns), so a completion runs
	 * the kept steps too, from the first, and libcore puts the kept
	 * values back on the canvas after each of them. */
	int replay;
	/* Appended later still (libcore zeroes it).  Not DG_NONE: work done
	 * once per image row instead of at every step.  libcore compiles it
	 * as a graph of its own and runs it before the first step of each
	 * row (pos then holds that step); the family triggers on it the
	 * dg_assign()s of caches that the row's steps read.  Needs replay. */
	dg_tensor row;
};

/* ---- the family description ---------------------------------------------------- */

/* Capabilities: what the tools may ask of the family.  A capability set
 * requires the matching function (the loader checks). */
enum {
	DG_CAP_ENCODE = 1u << 0,        /* encode(): data -> latent */
	DG_CAP_DECODE = 1u << 1,        /* decode(): latent -> data */
	DG_CAP_SAMPLE_LATENT = 1u << 2, /* sample() draws latent codes */
	DG_CAP_SAMPLE_DATA = 1u << 3,   /* sample() draws images */
	DG_CAP_LIKELIHOOD = 1u << 4,    /* loglik() */
	DG_CAP_CONDITIONAL = 1u << 5,   /* uses labels (y) when present */
	DG_CAP_SAMPLE_STEPS = 1u << 6,  /* sample_step(): images drawn by a
					   step run repeatedly on a canvas */
	DG_CAP_TRANSLATE = 1u << 7,     /* translate(): image -> image */
	DG_CAP_CLASSIFY = 1u << 8,      /* classify(): image -> features and
					   class logits (appended to ABI 2:
					   needs struct_size >= DG_FAMILY_SIZE_CLASSIFY) */
	DG_CAP_PARTIAL_LABELS = 1u << 9, /* trains on labelled and unlabelled
					   images together: y is -1 where an
					   image has no label (dg-train
					   --labels-per-class keeps them) */
};

/* Every function returns DG_OK or a status, normally that of
 * dg_graph_status(m->g): graph ops are sticky-error, so a function may
 * append ops without checking each and return dg_graph_status(m->g).  A
 * family refuses a request it cannot serve (a data shape it does not
 * support) with dg_graph_fail(m->g, DG_EUSAGE, "why"). */
struct dg_family {
	uint32_t abi_version;          /* DG_PLUGIN_ABI */
	uint32_t struct_size;          /* sizeof(struct dg_family) */
	const char *name;              /* must equal the <name> of dg-<name>.so */
	const char *summary;           /* one line, no final period */
	const struct dg_hparam *hparams; /* NULL-name-terminated; NULL: none */
	const struct dg_input_decl *inputs; /* NULL-name-terminated data inputs
					  beyond x and y; NULL: none */
	uint32_t caps;                 /* DG_CAP_* */

	/* Declares every parameter (dg_param, dg_buffer), always in the same
	 * order with the same names whatever m->training is, since names are
	 * checkpoint members and order keys initial values; then from m->x,
	 * m->y and its inputs the training phases (dg_model_phase) and
	 * their terms (dg_model_term).  At least one phase.  Required. */
	int (*build)(struct dg_model *m);
	/* x: n×C×H×W f32 in [0,1] (any n), y: n labels or DG_NONE.  *mean:
	 * n×latent_dim (the posterior mean, or the code of a deterministic
	 * encoder); *sample: a draw from the posterior, or DG_NONE. */
	int (*encode)(struct dg_model *m, dg_tensor x, dg_tensor y,
		      dg_tensor *mean, dg_tensor *sample);
	/* z: n×latent_dim -> *x: n×C×H×W f32 in [0,1] (the mean image). */
	int (*decode)(struct dg_model *m, dg_tensor z, dg_tensor y, dg_tensor *x);
	/* n draws at temperature t (1: the model's distribution); y: n labels
	 * or DG_NONE.  *out: n×latent_dim codes (DG_CAP_SAMPLE_LATENT) or
	 * n×C×H×W images in [0,1] (DG_CAP_SAMPLE_DATA).  A family without a
	 * prior may provide sample() only to explain why it refuses. */
	int (*sample)(struct dg_model *m, uint64_t n, float t, dg_tensor y, dg_tensor *out);
	/* One step of data-space sampling.  canvas: an n×C×H×W variable
	 * holding the images so far (zeros at the start, or the kept pixels
	 * of images being completed); pos: an i32 scalar, fed before each
	 * run, the index of this step (0 .. steps-1, in the family's order,
	 * row by row).  The family returns in out->next the canvas with the
	 * values of step pos drawn at temperature t (it may compute only what
	 * that position needs) and libcore writes it back to the canvas after
	 * the run, all on the device. */
	int (*sample_step)(struct dg_model *m, dg_tensor canvas, dg_tensor pos, float t,
			   dg_tensor y, struct dg_step_sampler *out);
	/* x: n×C×H×W f32 in [0,1] -> *out: n×C'×H'×W' f32 in [0,1], the
	 * image the model makes of x (pix2pix's output; an autoencoder's
	 * reconstruction). */
	int (*translate)(struct dg_model *m, dg_tensor x, dg_tensor y, dg_tensor *out);
	/* Per-example likelihood metrics of x (n×C×H×W), in nats, named
	 * ("nelbo", "rec", "kl", "iwae"), with k importance samples where
	 * the family uses them; fills out[0..*nout), *nout <= DG_MAX_TERMS. */
	int (*loglik)(struct dg_model *m, dg_tensor x, dg_tensor y, unsigned k,
		      struct dg_term *out, unsigned *nout);
	/* Frees m->priv; may be NULL when build allocates nothing. */
	void (*release)(struct dg_model *m);

	/* ---- appended to ABI 2: libcore reads a field below only when
	 * struct_size covers it (a plugin built against an older header
	 * has none of them, and that is no error). ---- */

	/* DG_CAP_CLASSIFY.  x: n×C×H×W f32 in [0,1] -> *features: n×F, the
	 * representation dg-eval's sample metrics compare (FID, KID,
	 * precision and recall), and *logits: n×classes, unnormalized class
	 * scores (libcore applies the softmax: the Inception Score's
	 * p(y|x)).  Built for inference (m->training 0). */
	int (*classify)(struct dg_model *m, dg_tensor x, dg_tensor *features,
			dg_tensor *logits);
};

/* The size of the first version of ABI 2's struct dg_family: a plugin's
 * struct_size may be larger (a newer minor; libcore ignores what it does
 * not know) but never smaller. */
#define DG_FAMILY_SIZE_V2 (offsetof(struct dg_family, release) + sizeof(void (*)(void)))
/* The size of a description that has classify(). */
#define DG_FAMILY_SIZE_CLASSIFY (offsetof(struct dg_family, classify) + sizeof(void (*)(void)))

/* ---- loading -------------------------------------------------------------------- */

/* The directories searched, in order: each non-empty entry of
 * $DG_PLUGIN_PATH (colon-separated), the install directory (DG_PLUGINDIR,
 * e.g. /usr/local/lib/dg), then lib/dg of the running binary's build tree
 * (dirname of /proc/self/exe + "/../lib/dg").  Returns a NULL-terminated
 * array the caller frees with free() (one allocation), or NULL (message
 * set) when out of memory. */
char **dg_plugin_dirs(void);

/* Loads family name from the first directory holding dg-<name>.so, with
 * dlopen(RTLD_NOW | RTLD_LOCAL), and checks it: the entry symbol exists,
 * abi_version is DG_PLUGIN_ABI, struct_size >= DG_FAMILY_SIZE_V2, name
 * matches, the hyperparameter table and capabilities are consistent.
 * Families stay loaded for the life of the process (their strings and
 * functions are referenced from models), and loading one twice returns
 * the same pointer.  Statuses: DG_EUSAGE for an invalid name, DG_ENOINPUT
 * when no directory has it (the message lists the directories), DG_EDATA
 * when the file found is refused (the message names the file). */
int dg_family_load(const char *name, const struct dg_family **out);
/* The file a loaded family came from. */
const char *dg_family_path(const struct dg_family *f);

/* Every family found: dg-*.so in the directories above, the first file
 * of each name winning, sorted by name.  A file that is refused is
 * skipped after calling warn (if not NULL) with a message naming it; its
 * name still hides later files of that name, as dg_family_load() would
 * fail on it too.  *out is an array the caller frees with free(). */
int dg_family_list(void (*warn)(void *ctx, const char *message), void *ctx,
		   const struct dg_family ***out, size_t *n);

/* ---- building models: calls into a family, with checks ------------------------ */

/* The shape of a data input (x's, or a declared input's). */
struct dg_input_shape {
	const char *name;              /* "x", or a name of f->inputs */
	unsigned channels, height, width;
};

/* What a model is built for. */
struct dg_model_spec {
	unsigned channels, height, width; /* x: C×H×W */
	unsigned classes;              /* label count (0: no y input) */
	uint64_t batch;                /* rows of x, y and the other inputs */
	int training;
	/* Shapes of declared inputs that have data (training: every one
	 * the family declares; inference: those saved in the checkpoint). */
	const struct dg_input_shape *inputs;
	size_t ninputs;
};

/* Fills m's "in" fields from spec, all "out" fields zeroed; x and y are
 * created as the inputs "x" and "y" (y only when classes > 0) of batch
 * rows.  Then calls f->build and checks what it declared: at least one
 * phase, each with a scalar loss and groups; terms of those phases;
 * that a training build used every declared input; and the graph's
 * status.  Errors are prefixed with the family's name.  The caller owns
 * g and, after a success, calls dg_model_release(); a failure releases
 * what the family allocated itself. */
int dg_model_build(const struct dg_family *f, struct dg_model *m, struct dg_graph *g,
		   const struct dg_hparams *hp, const struct dg_model_spec *spec);
void dg_model_release(const struct dg_family *f, struct dg_model *m);

/* What build() declared: phases in order, terms in order with the index
 * of the phase that reports each. */
size_t dg_model_phase_count(const struct dg_model *m);
const struct dg_phase *dg_model_phase_at(const struct dg_model *m, size_t i);
size_t dg_model_term_count(const struct dg_model *m);
const struct dg_term *dg_model_term_at(const struct dg_model *m, size_t i, size_t *phase);
/* Whether term i is watched (dg_model_term_warn), with its threshold
 * and reason. */
int dg_model_term_watch(const struct dg_model *m, size_t i, double *below, const char **why);

/* Hyperparameter values for plugin code.  Asking for a name the family
 * does not declare, or with the wrong type, is a plugin bug: it records
 * an error on m->g (so dg_compile reports it) and returns 0 or "". */
long long dg_model_int(struct dg_model *m, const char *name);
double dg_model_float(struct dg_model *m, const char *name);
int dg_model_bool(struct dg_model *m, const char *name);
/* DG_HP_CHOICE or DG_HP_STRING; valid as long as m->hp. */
const char *dg_model_str(struct dg_model *m, const char *name);

#endif
