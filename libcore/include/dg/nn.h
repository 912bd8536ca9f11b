/* dg/nn.h — the layer library of model families: dense and convolution
 * layers, normalization, embeddings, residual blocks, spectral
 * normalization, equalized learning rate and initializers, built on the
 * graph API (dg/graph.h) so that families do not copy layers.
 *
 * Scopes and names.  A layer is a function of a scope (struct dg_nn: the
 * graph, a name prefix, a parameter group, the training flag and defaults
 * for its layers), a name and an input.  Its first call declares its
 * parameters, named prefix + name + "." + role ("enc.fc1.w",
 * "enc.fc1.b"); a later call with the same full name applies the same
 * parameters to another input (an encoder used by build() and again by
 * encode(), a critic applied to real and then to generated images), after
 * checking that they have the shapes this call implies.  So a network is
 * written once, as a function of its input, and its parameters are
 * declared in the order the family first applies its layers: that order
 * and the names are what checkpoints hold, so a family applies every layer
 * in build(), in an order that does not depend on m->training.  Names
 * given to scopes and layers are 1 to 63 characters of [A-Za-z0-9_-]; a
 * full name is at most DG_NN_MAX_NAME - 1 characters.
 *
 * Layouts are PyTorch's (dg/graph.h): dense weights out×in, convolution
 * weights out×in×k×k, transposed-convolution weights in×out×k×k; fan-in
 * and fan-out are computed from a weight's dims as PyTorch computes them
 * (dims[1] and dims[0], each times the kernel area).
 *
 * Errors.  The graph is sticky-error: every function here returns
 * DG_NONE (or the graph's status) after an error, records the first error
 * on the graph with the full name of the layer that failed ("enc.fc1: x
 * has 4 axes, want 2"), and does nothing once the graph has failed.
 * Model code calls layers without checking each and returns
 * dg_graph_status(g).
 *
 * ABI.  struct dg_nn, struct dg_nn_opt and struct dg_nn_coder are
 * allocated by plugins and read by libdg, so each starts with its size as
 * the plugin was compiled (set by dg_nn_init(), DG_NN_OPT() or by hand);
 * libdg reads no field beyond it and takes the default for any field a
 * plugin built against an older dg lacks.  Fields are only appended. */
#ifndef DG_NN_H
#define DG_NN_H

#include <stddef.h>
#include <stdint.h>
#include "dg/graph.h"

/* Longest full name of a parameter, terminator included (checkpoint
 * members are "params/<name>" and "optim/<name>.<state>"). */
#define DG_NN_MAX_NAME 80

/* Initializers of weights, chosen per scope or per layer.  "scale" is
 * the layer's init_scale (0 for the default said here). */
enum dg_nn_init {
	DG_NN_INIT_DEFAULT = 0,    /* the scope's; a root scope's is TORCH */
	DG_NN_INIT_TORCH,          /* PyTorch's nn.Linear, nn.Conv2d and
				      nn.ConvTranspose2d: weight and bias
				      U(±1/√fan_in) */
	DG_NN_INIT_NORMAL,         /* N(0, scale²), scale 0.02 (DCGAN) */
	DG_NN_INIT_HE_UNIFORM,     /* U(±g·√(3/fan_in)), gain g = scale (√2) */
	DG_NN_INIT_HE_NORMAL,      /* N(0, g²/fan_in), g (√2) */
	DG_NN_INIT_GLOROT_UNIFORM, /* U(±g·√(6/(fan_in+fan_out))), g (1) */
	DG_NN_INIT_GLOROT_NORMAL,  /* N(0, 2g²/(fan_in+fan_out)), g (1) */
	DG_NN_INIT_ORTHOGONAL,     /* the weight as dims[0]×(rest) with
				      orthonormal rows (or columns), times g (1) */
	DG_NN_INIT_ZEROS,
};

/* Layer flags: a scope's apply to every layer in it, a layer's own are
 * added to them. */
enum {
	DG_NN_NO_BIAS = 1u << 0,       /* dense and convolutions: no bias */
	/* Spectral normalization (Miyato et al. 2018): the weight, as a
	 * matrix out×(rest), divided by its largest singular value σ, which
	 * one step of power iteration per application estimates (see
	 * dg_nn_spectral_norm).  Not with DG_NN_EQUALIZED_LR. */
	DG_NN_SPECTRAL_NORM = 1u << 1,
	/* Equalized learning rate (Karras et al. 2018): the weight is stored
	 * N(0, 1), whatever the initializer, and multiplied at run time by
	 * gain/√fan_in (gain: eq_gain, √2 by default), fan_in being the
	 * weight's count over its output dim (in; C·k·k; for a transposed
	 * convolution in·k·k, as StyleGAN2 counts it).  Biases start at 0. */
	DG_NN_EQUALIZED_LR = 1u << 2,
};

/* Normalization inside blocks (dg_nn_residual). */
enum dg_nn_norm {
	DG_NN_NORM_NONE = 0,
	DG_NN_NORM_BATCH,
	DG_NN_NORM_INSTANCE,
	DG_NN_NORM_LAYER,
};

/* ---- scopes ----------------------------------------------------------------- */

/* A scope: plugins keep them by value (in their priv state, or on the
 * stack while building) and may copy one and change its fields, e.g. a
 * copy with the same prefix but without a flag for one layer. */
struct dg_nn {
	uint32_t struct_size;      /* sizeof(struct dg_nn) of the plugin */
	struct dg_graph *g;
	int training;              /* batch statistics, power iterations */
	unsigned group;            /* the parameter group of its parameters */
	unsigned flags;            /* DG_NN_* for every layer */
	enum dg_nn_init init;      /* its layers' weights (DEFAULT: TORCH) */
	float init_scale;          /* with init: see enum dg_nn_init */
	float eq_gain;             /* DG_NN_EQUALIZED_LR's gain (0: √2) */
	char prefix[DG_NN_MAX_NAME]; /* "" or "enc." or "G.block1." */
};

/* The root scope of g: prefix "", group 0, no flags, PyTorch's
 * initializers.  Writes size bytes (sizeof *nn through the macro).
 * DG_EUSAGE (recorded on g) for a size smaller than the first version's. */
int dg_nn_init_(struct dg_nn *nn, size_t size, struct dg_graph *g, int training);
#define dg_nn_init(nn, g, training) dg_nn_init_((nn), sizeof *(nn), (g), (training))

/* child = parent with name appended to the prefix ("enc" gives "enc.");
 * every other field copied.  child may be parent.  Returns the graph's
 * status: DG_EUSAGE for an invalid or too long name. */
int dg_nn_scope(struct dg_nn *child, const struct dg_nn *parent, const char *name);

/* ---- per-layer options -------------------------------------------------------- */

/* Options of one layer; NULL means all defaults.  Write them with
 * DG_NN_OPT(.act = DG_ACT_RELU, ...), which sets struct_size, or keep a
 * static const one with .struct_size = sizeof(struct dg_nn_opt).
 * Fields a layer has no use for are ignored. */
struct dg_nn_opt {
	uint32_t struct_size;
	enum dg_act act;           /* applied to the layer's output (none) */
	float alpha;               /* the activation's parameter (leaky slope,
				      elu alpha) */
	unsigned flags;            /* DG_NN_*, added to the scope's */
	enum dg_nn_init init;      /* the weight's (DEFAULT: the scope's) */
	float init_scale;          /* with init (when init is DEFAULT the
				      scope's scale applies) */
	enum dg_nn_init bias_init; /* DEFAULT: as PyTorch (U(±1/√fan_in))
				      after a TORCH weight, else zeros; or
				      TORCH, NORMAL (bias_scale), ZEROS */
	float bias_scale;
	float eq_gain;             /* DG_NN_EQUALIZED_LR's gain (0: the scope's) */
	unsigned dilation;         /* convolutions (0: 1) */
	unsigned output_padding;   /* transposed convolutions */
	enum dg_nn_norm norm;      /* blocks: normalization after each conv */
	int affine;                /* norms: 0 the layer's default (batch and
				      layer norm: yes, instance norm: no, as
				      PyTorch), > 0 a learned scale "w" (1)
				      and shift "b" (0), < 0 none */
	float eps;                 /* norms (0: 1e-5) */
	float momentum;            /* batch norm's running statistics (0: 0.1) */
	unsigned groups;           /* convolutions (0: 1): channels in groups,
				      each output seeing its group's inputs
				      (groups = C: depthwise) */
};
#define DG_NN_OPT(...) \
	(&(const struct dg_nn_opt){.struct_size = sizeof(struct dg_nn_opt), __VA_ARGS__})

/* ---- parameters and weights ---------------------------------------------------- */

/* The parameter prefix + name of the scope's group, declared with init
 * on first use; afterwards the same one, which must have this shape and
 * group.  name may have dots ("fc1.w").  Returns its tensor or DG_NONE. */
dg_tensor dg_nn_param(const struct dg_nn *nn, const char *name, unsigned rank,
		      const uint64_t *dims, struct dg_init init);
/* The same for a buffer (dg_buffer: saved with the model, not trained). */
dg_tensor dg_nn_buffer(const struct dg_nn *nn, const char *name, unsigned rank,
		       const uint64_t *dims, struct dg_init init);

/* A weight as layers use it: the parameter prefix + name of shape dims
 * (rank >= 2), initialized as the scope and opt say, then scaled by the
 * equalized learning rate or spectrally normalized if the flags say so.
 * out_axis is the axis of output units (0; 1 for transposed
 * convolutions), used by those two.  For layers of a family's own. */
dg_tensor dg_nn_weight(const struct dg_nn *nn, const char *name, unsigned rank,
		       const uint64_t *dims, unsigned out_axis, const struct dg_nn_opt *opt);

/* Spectral normalization of w (any shape of rank >= 2, seen as the matrix
 * W of dims[out_axis] rows by the rest), as torch.nn.utils.spectral_norm
 * with one power iteration: with û the buffer prefix + name (dims[out_axis]
 * values, declared N(0, 1); the weight's "<layer>.w_u" in layers),
 *   training:  v = Wᵀû/‖Wᵀû‖, u = Wv/‖Wv‖, σ = uᵀWv, and û := u at the end
 *              of the run (dg_assign, triggered by the result);
 *   otherwise: û read, never written: v = Wᵀû/‖Wᵀû‖, σ = (û/‖û‖)ᵀWv;
 * returns w/σ.  u and v are constants to autograd (PyTorch's detached
 * copies): the gradient flows through W and σ = uᵀWv only.  Norms are
 * clamped below at 1e-12 (F.normalize).  A layer applied twice in one run
 * does its power iteration twice from the same stored û, and both store
 * the same new û.  Unlike PyTorch, v is not stored: inference recomputes
 * it from û, which is half an iteration beyond the last training step. */
dg_tensor dg_nn_spectral_norm(const struct dg_nn *nn, const char *name, dg_tensor w,
			      unsigned out_axis);

/* ---- layers ---------------------------------------------------------------------
 * Each returns act(output) (opt->act, none by default) or DG_NONE.  "Declares"
 * lists the parameters and buffers of a layer named L in scope prefix P,
 * as P.L.<role>: w (weight), b (bias, unless DG_NN_NO_BIAS), w_u (with
 * DG_NN_SPECTRAL_NORM, a buffer). */

/* x: N×in -> N×out, x·Wᵀ + b.  Declares w out×in, b out. */
dg_tensor dg_nn_dense(const struct dg_nn *nn, const char *name, dg_tensor x, uint64_t out,
		      const struct dg_nn_opt *opt);

/* x: N×C×H×W -> N×out×H'×W', H' = (H + 2·pad - dilation·(k-1) - 1)/stride + 1
 * (stride 0 means 1).  Declares w out×(C/groups)×k×k, b out; opt->groups
 * must divide C and out (dg_conv_nd). */
dg_tensor dg_nn_conv2d(const struct dg_nn *nn, const char *name, dg_tensor x, uint64_t out,
		       unsigned kernel, unsigned stride, unsigned pad,
		       const struct dg_nn_opt *opt);

/* The transpose of conv2d: x N×C×H×W -> N×out×H'×W', H' = (H-1)·stride -
 * 2·pad + dilation·(k-1) + 1 + output_padding.  Declares w
 * C×(out/groups)×k×k (PyTorch's layout, so fan_in for initializers is
 * out/groups·k·k as in PyTorch), b out. */
dg_tensor dg_nn_conv_transpose2d(const struct dg_nn *nn, const char *name, dg_tensor x,
				 uint64_t out, unsigned kernel, unsigned stride, unsigned pad,
				 const struct dg_nn_opt *opt);

/* The same two on N×C×D×H×W with k×k×k kernels, stride and padding on
 * each of D, H, W (PyTorch's Conv3d and ConvTranspose3d): declare w
 * out×(C/groups)×k×k×k and C×(out/groups)×k×k×k, b out. */
dg_tensor dg_nn_conv3d(const struct dg_nn *nn, const char *name, dg_tensor x, uint64_t out,
		       unsigned kernel, unsigned stride, unsigned pad,
		       const struct dg_nn_opt *opt);
dg_tensor dg_nn_conv_transpose3d(const struct dg_nn *nn, const char *name, dg_tensor x,
				 uint64_t out, unsigned kernel, unsigned stride, unsigned pad,
				 const struct dg_nn_opt *opt);

/* PixelCNN's masked convolution (dg_masked_conv2d), stride 1 and padding
 * k/2 so that H and W are kept (k odd).  Declares w out×C×k×k, b out. */
dg_tensor dg_nn_masked_conv2d(const struct dg_nn *nn, const char *name, dg_tensor x,
			      uint64_t out, unsigned kernel, char mask, unsigned color_groups,
			      const struct dg_nn_opt *opt);

/* Batch norm of N×C or N×C×H×W per channel (dg_batch_norm): with
 * nn->training, batch statistics, and the running statistics updated
 * (momentum, unbiased variance) at the end of each run that computes the
 * output; otherwise the running statistics.  Declares w C (1) and b C
 * (0) unless opt->affine < 0, and the buffers mean C (0) and var C (1).
 * Applied twice in one run, the last application's statistics are kept. */
dg_tensor dg_nn_batch_norm(const struct dg_nn *nn, const char *name, dg_tensor x,
			   const struct dg_nn_opt *opt);
/* Instance norm of N×C×H×W over H, W; w, b C only with opt->affine > 0. */
dg_tensor dg_nn_instance_norm(const struct dg_nn *nn, const char *name, dg_tensor x,
			      const struct dg_nn_opt *opt);
/* Layer norm over every axis but the first; w (1) and b (0) of x's shape
 * without its first axis, unless opt->affine < 0. */
dg_tensor dg_nn_layer_norm(const struct dg_nn *nn, const char *name, dg_tensor x,
			   const struct dg_nn_opt *opt);

/* Rows of a table count×dim picked by idx (i32, or f32 integers) of shape
 * S -> S×dim.  Declares w count×dim, N(0, 1) as PyTorch's nn.Embedding
 * unless opt->init says otherwise (the scope's init does not apply);
 * DG_NN_SPECTRAL_NORM applies (out axis 0), DG_NN_EQUALIZED_LR does not. */
dg_tensor dg_nn_embedding(const struct dg_nn *nn, const char *name, dg_tensor idx,
			  uint64_t count, uint64_t dim, const struct dg_nn_opt *opt);

/* ---- blocks -------------------------------------------------------------------- */

/* A residual block (He et al. 2016) in scope P.L: x N×C×H×W ->
 *   act(norm2(conv2(act(norm1(conv1(x))))) + skip(x)),  N×out×H/s×W/s
 * conv1 3×3 with stride s (0 means 1) and padding 1, conv2 3×3 with
 * padding 1; skip is x itself when out = C and s = 1, else a 1×1
 * convolution "skip" with stride s followed by the norm "skip_norm".
 * Norms (opt->norm) are "norm1", "norm2"; convolutions have biases only
 * without a norm.  opt->act (set it: none gives a linear block), flags
 * and initializers apply to every convolution. */
dg_tensor dg_nn_residual(const struct dg_nn *nn, const char *name, dg_tensor x, uint64_t out,
			 unsigned stride, const struct dg_nn_opt *opt);

/* The encoder and decoder bodies of the autoencoder families (ae, vae and
 * their variants), whose heads (a code; a mean and log-variance) are
 * their own: a dense hidden layer each way, after (before) a stack of
 * 4×4 stride-2 convolutions for conv architectures. */
#define DG_NN_CODER_MAX_CONV 4
struct dg_nn_coder {
	uint32_t struct_size;            /* sizeof(struct dg_nn_coder) */
	unsigned channels, height, width; /* the images, C×H×W */
	uint64_t hidden;                 /* units of the dense hidden layers */
	/* Output channels of the encoder's convolutions, ended by 0 or the
	 * array's end ({32, 64}); none: an MLP.  K convolutions need H and W
	 * divisible by 2^K. */
	unsigned conv[DG_NN_CODER_MAX_CONV];
	enum dg_act act;                 /* of hidden layers (NONE: ReLU) */
	float alpha;
	const struct dg_nn_opt *dense;   /* the hidden dense layers */
	const struct dg_nn_opt *convs;   /* the convolutions, both ways */
	const struct dg_nn_opt *out;     /* the MLP decoder's output layer */
};

/* x: N×C×H×W, cond: N×K features (one-hot labels) or DG_NONE -> N×hidden:
 * "conv1".."convK" (act), flattened, cond appended, then "fc1" (act). */
dg_tensor dg_nn_encoder(const struct dg_nn *nn, const struct dg_nn_coder *c, dg_tensor x,
			dg_tensor cond);
/* z: N×L, cond as above -> N×(C·H·W) logits, flat: cond appended to z,
 * "fc1" (act), then for an MLP "out" (linear); for K convolutions "fc2"
 * (act) to conv[K-1]×(H/2^K)×(W/2^K), and the transposed convolutions
 * "deconv1".."deconvK" back to C×H×W, act after all but the last. */
dg_tensor dg_nn_decoder(const struct dg_nn *nn, const struct dg_nn_coder *c, dg_tensor z,
			dg_tensor cond);

/* ---- input corruption ------------------------------------------------------------ */

/* The corruption processes of denoising autoencoders (Vincent et al.
 * 2008) and the denoising VAE (Im et al. 2017), applied to data in [0,1]
 * with probability or scale "level":
 *   MASK        each value zeroed where u <= level (u uniform in (0,1)),
 *               so with probability level;
 *   GAUSS       clamp(x + level·ε, 0, 1), ε standard normal;
 *   SALTPEPPER  each value set to 0 where u < level/2 and to 1 where
 *               u > 1 - level/2, so replaced with probability level by
 *               black or white at even odds.
 * One draw per value, from one random op of x's shape (uniform, or
 * normal for GAUSS), inside the graph: fresh at each run, keyed by the
 * graph's seed and run counter, so training with it is reproducible and
 * resumes exactly.  The comparisons are exact float comparisons against
 * the float thresholds level, level/2 and 1 - level/2. */
enum dg_nn_noise {
	DG_NN_NOISE_NONE = 0,
	DG_NN_NOISE_MASK,
	DG_NN_NOISE_GAUSS,
	DG_NN_NOISE_SALTPEPPER,
};

/* The kind named "none", "mask", "gauss" or "saltpepper"; -1 otherwise. */
int dg_nn_noise_kind(const char *name);

/* x (any shape) corrupted by kind at level.  NONE, or level 0, returns x
 * itself and draws nothing (a model with noise_level=0 is the clean
 * model, noise and all).  DG_EUSAGE (recorded on g) for a level that is
 * negative or not finite, or above 1 for MASK and SALTPEPPER, whose
 * level is a probability. */
dg_tensor dg_nn_corrupt(struct dg_graph *g, dg_tensor x, enum dg_nn_noise kind, float level);

#endif
