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
 * Versioning: DG_PLUGIN_ABI changes only on an incompatible change.  New
 * fields are appended to struct dg_family and struct dg_model, never
 * inserted; each struct carries its own size so that either side reads only
 * the fields the other side knows about. */
#ifndef DG_PLUGIN_H
#define DG_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include "dg/graph.h"

/* The ABI major version a plugin must be built for. */
#define DG_PLUGIN_ABI 1
/* The symbol the loader looks up, and its type. */
#define DG_FAMILY_ENTRY "dg_family_entry"
struct dg_family;
typedef const struct dg_family *(*dg_family_entry_fn)(void);

/* Longest family name; names are [A-Za-z0-9_.-], not starting with '.'
 * (the charset of a checkpoint's family=, so every family can be saved). */
#define DG_FAMILY_MAX_NAME 64

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
	const char *name;          /* [a-z0-9_], unique in the table */
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

/* ---- a model being built ----------------------------------------------------- */

#define DG_MAX_PHASES 4
#define DG_MAX_TERMS 16

/* One optimizer step of a training iteration: minimize loss over the
 * parameters in groups (DG_GROUP bits), steps times per iteration (0
 * means 1).  A VAE has one phase; a WGAN has "critic" (group 1, 5 steps)
 * then "generator" (group 0, 1 step).  optim, if not NULL, is the family's
 * recommended optimizer (DCGAN's Adam β1 = 0.5); dg-train's options
 * override its learning rate. */
struct dg_phase {
	const char *name;
	dg_tensor loss;            /* a scalar */
	unsigned groups;
	unsigned steps;
	const struct dg_optim *optim;
};

/* A named scalar (a training term such as "rec" or "kl", mean over the
 * batch) or per-example vector (a likelihood metric, in nats), reported
 * by name in progress lines, logs and dg-eval. */
struct dg_term {
	const char *name;          /* [a-z0-9_], static in the plugin */
	dg_tensor value;
};

enum dg_prior {
	DG_PRIOR_NONE = 0,         /* no prior: latents only come from encode */
	DG_PRIOR_GAUSSIAN,         /* N(0, I): dg-interp defaults to slerp */
	DG_PRIOR_UNIFORM,          /* U(-1, 1)^d */
};

/* What libcore hands a family's functions.  libcore fills the "in"
 * fields, then calls build(), which fills the "out" fields; the same
 * struct is then passed to encode/decode/sample/loglik, which append
 * further computations to the same graph and so share its parameters.
 * Strings the plugin stores must be static (they outlive the call). */
struct dg_model {
	uint32_t struct_size;          /* in: sizeof(struct dg_model) of libcore */
	struct dg_graph *g;            /* in: the graph to build on */
	const struct dg_hparams *hp;   /* in: validated values */
	unsigned channels, height, width; /* in: the data shape C×H×W */
	unsigned classes;              /* in: label count; 0 when unlabelled */
	uint64_t batch;                /* in: the training batch size */
	int training;                  /* in: build for training (dropout,
					  batch statistics) or for inference */
	dg_tensor x;                   /* in: batch×C×H×W f32 in [0,1] */
	dg_tensor y;                   /* in: batch i32 labels, or DG_NONE */

	unsigned latent_dim;           /* out: size of a latent code (0: none) */
	enum dg_prior prior;           /* out */
	unsigned nphases;              /* out: 1..DG_MAX_PHASES */
	struct dg_phase phases[DG_MAX_PHASES];
	unsigned nterms;               /* out: terms to report, 0..DG_MAX_TERMS */
	struct dg_term terms[DG_MAX_TERMS];
	void *priv;                    /* out: the plugin's own state (tensor
					  handles of its parameters), freed by
					  its release() */
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
	uint32_t caps;                 /* DG_CAP_* */

	/* Declares every parameter (dg_param, dg_buffer), always in the same
	 * order with the same names whatever m->training is, since names are
	 * checkpoint members and order keys initial values; then from m->x
	 * and m->y the training phases and terms.  Required. */
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
	/* Per-example likelihood metrics of x (n×C×H×W), in nats, named
	 * ("nelbo", "rec", "kl", "iwae"), with k importance samples where
	 * the family uses them; fills out[0..*nout), *nout <= DG_MAX_TERMS. */
	int (*loglik)(struct dg_model *m, dg_tensor x, dg_tensor y, unsigned k,
		      struct dg_term *out, unsigned *nout);
	/* Frees m->priv; may be NULL when build allocates nothing. */
	void (*release)(struct dg_model *m);
};

/* The size of the first version of struct dg_family: a plugin's
 * struct_size may be larger (a newer minor; libcore ignores what it does
 * not know) but never smaller. */
#define DG_FAMILY_SIZE_V1 (offsetof(struct dg_family, release) + sizeof(void (*)(void)))

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
 * abi_version is DG_PLUGIN_ABI, struct_size >= DG_FAMILY_SIZE_V1, name
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

/* Fills m's "in" fields (struct_size, g, hp, shape, batch, training, x,
 * y), all "out" fields zeroed; x and y are created as the inputs "x" and
 * "y" (y only when classes > 0) of batch rows.  Then calls f->build and
 * checks what it returned: 1..DG_MAX_PHASES phases with scalar losses,
 * named terms, and the graph's status.  Errors are prefixed with the
 * family's name.  The caller owns g and calls dg_model_release(). */
int dg_model_build(const struct dg_family *f, struct dg_model *m, struct dg_graph *g,
		   const struct dg_hparams *hp, unsigned channels, unsigned height,
		   unsigned width, unsigned classes, uint64_t batch, int training);
void dg_model_release(const struct dg_family *f, struct dg_model *m);

/* Hyperparameter values for plugin code.  Asking for a name the family
 * does not declare, or with the wrong type, is a plugin bug: it records
 * an error on m->g (so dg_compile reports it) and returns 0 or "". */
long long dg_model_int(struct dg_model *m, const char *name);
double dg_model_float(struct dg_model *m, const char *name);
int dg_model_bool(struct dg_model *m, const char *name);
/* DG_HP_CHOICE or DG_HP_STRING; valid as long as m->hp. */
const char *dg_model_str(struct dg_model *m, const char *name);

#endif
