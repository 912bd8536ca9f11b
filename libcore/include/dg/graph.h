/* dg/graph.h — the graph engine, as plugins see it: build a model's
 * computation once, differentiate it, compile it for a device, run it.
 *
 * A graph holds tensors (by handle), parameters (named, initialized from
 * the graph's seed) and the ops between them.  The graph is sticky-error,
 * like cairo: the first failing call records an error (with the op's
 * name) and every later op returns DG_NONE, so model code reads as a list
 * of ops; dg_graph_status() or dg_compile() reports the first error.
 *
 * Layouts are row-major, batch first: images N×C×H×W, matrices rows×cols,
 * linear weights out×in, conv weights OC×IC×KH×KW, transposed-conv weights
 * IC×OC×KH×KW (PyTorch's layouts).  Compute is f32; inputs may be u8 or i32
 * (labels, indices).  Axes may be negative (from the end).
 *
 * Nothing here hands out pointers into device memory: parameters and
 * outputs move to and from the host only through explicit calls. */
#ifndef DG_GRAPH_H
#define DG_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include "dg/array.h"
#include "dg/error.h"

struct dg_graph;
struct dg_exec;

/* A tensor handle; id 0 is the invalid tensor returned after an error. */
typedef struct dg_tensor {
	uint32_t id;
} dg_tensor;
#define DG_NONE ((dg_tensor){0})

/* Rank and dims in one argument pair: dg_input(g, "x", DG_F32, DG_SHAPE(128, 784)). */
#define DG_SHAPE(...) \
	(unsigned)(sizeof((uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t)), (const uint64_t[]){__VA_ARGS__}

/* ---- the graph ---------------------------------------------------------- */

/* A new empty graph whose parameter initializers and random ops draw from
 * seed.  NULL only when out of memory (message set). */
struct dg_graph *dg_graph_new(uint64_t seed);
/* Frees the graph, its parameters and device state.  Executables compiled
 * from it must be freed first. */
void dg_graph_free(struct dg_graph *g);
/* DG_OK, or the status of the first error; its message in dg_graph_error. */
int dg_graph_status(const struct dg_graph *g);
const char *dg_graph_error(const struct dg_graph *g);
/* Records an error from plugin code (same sticky rules); returns status. */
int dg_graph_fail(struct dg_graph *g, int status, const char *fmt, ...) DG_PRINTF(3, 4);

/* Shape of a tensor: returns its rank and fills dims (may be NULL). */
unsigned dg_shape(const struct dg_graph *g, dg_tensor t, uint64_t dims[DG_MAX_RANK]);
/* One dim (negative axes count from the end); 0 for an invalid tensor. */
uint64_t dg_dim(const struct dg_graph *g, dg_tensor t, int axis);
uint64_t dg_count(const struct dg_graph *g, dg_tensor t);
/* Names the tensor (for DG_DEBUG=graph and profiles); returns t. */
dg_tensor dg_name(struct dg_graph *g, dg_tensor t, const char *name);

/* ---- leaves -------------------------------------------------------------- */

/* A tensor fed before each run by name (dg_exec_feed); dtype DG_F32, DG_U8
 * or DG_I32.  Names are unique among inputs. */
dg_tensor dg_input(struct dg_graph *g, const char *name, int dtype,
		   unsigned rank, const uint64_t *dims);

enum dg_init_kind {
	DG_INIT_ZEROS = 0,
	DG_INIT_CONSTANT,      /* a */
	DG_INIT_NORMAL,        /* mean b, standard deviation a */
	DG_INIT_UNIFORM,       /* in [a, b) */
	DG_INIT_GLOROT_UNIFORM,/* Xavier; gain a (0 means 1) */
	DG_INIT_GLOROT_NORMAL,
	DG_INIT_HE_UNIFORM,    /* Kaiming, fan_in; gain a (0 means sqrt 2) */
	DG_INIT_HE_NORMAL,
	DG_INIT_ORTHOGONAL,    /* rows (or columns) orthonormal, gain a */
};
struct dg_init {
	enum dg_init_kind kind;
	float a, b;
};
/* Fans: dims[0] is fan-out, dims[1] fan-in, both times the product of the
 * remaining dims (receptive field), as PyTorch computes them. */

/* Parameter groups: a GAN trains its generator (group 0) and critic
 * (group 1) separately.  Group masks select groups as bits. */
#define DG_MAX_GROUPS 16
#define DG_GROUP(i) (1u << (i))
#define DG_ALL_GROUPS 0xffffu

/* A trainable parameter, initialized at once from (seed, its index among
 * the graph's variables), so its values do not depend on anything built
 * before it except the number of variables.  Names are unique among
 * variables (e.g. "enc.fc1.w"). */
dg_tensor dg_param(struct dg_graph *g, const char *name, unsigned rank,
		   const uint64_t *dims, struct dg_init init, unsigned group);
/* A persistent variable that is not trained by optimizers (running
 * statistics); saved with parameters. */
dg_tensor dg_buffer(struct dg_graph *g, const char *name, unsigned rank,
		    const uint64_t *dims, struct dg_init init);
/* A variable that is neither trained nor saved: the working state of a
 * step run repeatedly (a sampling canvas), zero until set with
 * dg_var_set() and updated in the graph with dg_assign(). */
dg_tensor dg_variable(struct dg_graph *g, const char *name, unsigned rank,
		      const uint64_t *dims);
/* var := value at the end of every run that computes trigger, after
 * every read of var in that run (so the run sees the old values).  var
 * is a dg_buffer or a dg_variable (parameters belong to optimizers),
 * value a tensor of its shape.  Running statistics (dg_batch_norm) and spectral
 * normalization's power-iteration vector (dg/nn.h) are kept this way.
 * Returns the graph's status (sticky: DG_EUSAGE for a var that is not a
 * buffer or variable, or shapes that differ); a sampling canvas is
 * updated this way too. */
int dg_assign(struct dg_graph *g, dg_tensor var, dg_tensor value, dg_tensor trigger);
/* Constants: a scalar, a filled tensor, a tensor from host data (copied). */
dg_tensor dg_scalar(struct dg_graph *g, float v);
dg_tensor dg_full(struct dg_graph *g, unsigned rank, const uint64_t *dims, float v);
dg_tensor dg_constant(struct dg_graph *g, unsigned rank, const uint64_t *dims,
		      const float *data);

/* ---- elementwise ------------------------------------------------------------
 * Binary ops broadcast as NumPy does: shapes are aligned at the end and a
 * dim of 1 stretches. */
dg_tensor dg_add(struct dg_graph *g, dg_tensor a, dg_tensor b);
dg_tensor dg_sub(struct dg_graph *g, dg_tensor a, dg_tensor b);
dg_tensor dg_mul(struct dg_graph *g, dg_tensor a, dg_tensor b);
dg_tensor dg_div(struct dg_graph *g, dg_tensor a, dg_tensor b);
dg_tensor dg_maximum(struct dg_graph *g, dg_tensor a, dg_tensor b);
dg_tensor dg_minimum(struct dg_graph *g, dg_tensor a, dg_tensor b);
/* a*x + b elementwise with scalars (scalar forms of add, sub, mul). */
dg_tensor dg_affine(struct dg_graph *g, dg_tensor x, float a, float b);
dg_tensor dg_add_scalar(struct dg_graph *g, dg_tensor x, float s);
dg_tensor dg_mul_scalar(struct dg_graph *g, dg_tensor x, float s);
/* x^p for a scalar p (x > 0 unless p is an integer). */
dg_tensor dg_pow_scalar(struct dg_graph *g, dg_tensor x, float p);
dg_tensor dg_neg(struct dg_graph *g, dg_tensor x);
dg_tensor dg_exp(struct dg_graph *g, dg_tensor x);
dg_tensor dg_log(struct dg_graph *g, dg_tensor x);
dg_tensor dg_sqrt(struct dg_graph *g, dg_tensor x);
dg_tensor dg_rsqrt(struct dg_graph *g, dg_tensor x);
dg_tensor dg_reciprocal(struct dg_graph *g, dg_tensor x);
dg_tensor dg_square(struct dg_graph *g, dg_tensor x);
dg_tensor dg_abs(struct dg_graph *g, dg_tensor x);
dg_tensor dg_relu(struct dg_graph *g, dg_tensor x);
dg_tensor dg_leaky_relu(struct dg_graph *g, dg_tensor x, float slope);
dg_tensor dg_elu(struct dg_graph *g, dg_tensor x, float alpha);
dg_tensor dg_tanh(struct dg_graph *g, dg_tensor x);
dg_tensor dg_sigmoid(struct dg_graph *g, dg_tensor x);
dg_tensor dg_softplus(struct dg_graph *g, dg_tensor x);
dg_tensor dg_clamp(struct dg_graph *g, dg_tensor x, float lo, float hi);
/* Not differentiable (gradient zero): 1 where a > b (a >= b, a == b),
 * else 0; sign(x) in {-1, 0, 1}. */
dg_tensor dg_greater(struct dg_graph *g, dg_tensor a, dg_tensor b);
dg_tensor dg_greater_equal(struct dg_graph *g, dg_tensor a, dg_tensor b);
dg_tensor dg_equal(struct dg_graph *g, dg_tensor a, dg_tensor b);
dg_tensor dg_sign(struct dg_graph *g, dg_tensor x);
/* cond ? a : b elementwise (cond nonzero), broadcasting all three. */
dg_tensor dg_where(struct dg_graph *g, dg_tensor cond, dg_tensor a, dg_tensor b);
/* Cuts the gradient: forward is x, backward is zero. */
dg_tensor dg_stop_gradient(struct dg_graph *g, dg_tensor x);
/* u8 or i32 to f32, times scale (u8 images: scale 1/255). */
dg_tensor dg_cast(struct dg_graph *g, dg_tensor x, float scale);

/* ---- linear algebra ------------------------------------------------------ */

/* op(a)·op(b) where op transposes the last two axes when its flag is set:
 * matrices, or batches of them with any number of leading axes, equal in
 * both (self-attention's B×H×T×d by B×H×d×T is op(q)·op(k) with trans_b),
 * or a batch and a plain matrix shared by every product of the batch
 * (either side).  A shared a costs a copy of it per product, and a
 * transposed batch times a shared b a copy of the batch. */
dg_tensor dg_matmul(struct dg_graph *g, dg_tensor a, dg_tensor b, int trans_a, int trans_b);

/* One step of an LSTM cell, PyTorch's nn.LSTMCell with its two weights
 * side by side: x N×I, h and c N×H, w 4H×(I+H) = [weight_ih | weight_hh],
 * b 4H (bias_ih + bias_hh) or DG_NONE.  The gates [x, h]·wᵀ + b are taken
 * as i, f, g, o (PyTorch's order, H columns each):
 *   c' = σ(f)·c + σ(i)·tanh(g),  h' = σ(o)·tanh(c').
 * Returns h' and stores c' in *c_out (DG_NONE after an error). */
dg_tensor dg_lstm_cell(struct dg_graph *g, dg_tensor x, dg_tensor h, dg_tensor c, dg_tensor w,
		       dg_tensor b, dg_tensor *c_out);

enum dg_act {
	DG_ACT_NONE = 0, DG_ACT_RELU, DG_ACT_LEAKY_RELU, DG_ACT_ELU,
	DG_ACT_TANH, DG_ACT_SIGMOID, DG_ACT_SOFTPLUS,
};
/* act(x·wᵀ + b): x N×in, w out×in, b out (DG_NONE for no bias).  alpha
 * is the activation's parameter (leaky slope, elu scale). */
dg_tensor dg_linear(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
		    enum dg_act act, float alpha);
dg_tensor dg_activate(struct dg_graph *g, dg_tensor x, enum dg_act act, float alpha);
/* PixelCNN's gated activation: x split along axis (of even size 2K) into
 * halves a and b, tanh(a)·sigmoid(b), of size K along axis. */
dg_tensor dg_gated_activation(struct dg_graph *g, dg_tensor x, int axis);

struct dg_conv {
	unsigned stride, pad, dilation;   /* 0 means 1, 0, 1 */
	unsigned output_padding;          /* transposed conv only */
};
/* x N×C×H×W, w OC×C×KH×KW, b OC or DG_NONE. */
dg_tensor dg_conv2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
		    const struct dg_conv *p);
/* The transpose (adjoint) of conv2d: x N×IC×H×W, w IC×OC×KH×KW;
 * output side (H-1)·stride - 2·pad + dilation·(K-1) + 1 + output_padding. */
dg_tensor dg_conv_transpose2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			      const struct dg_conv *p);
/* PixelCNN masked conv: the weight is multiplied by a causal mask (rows
 * above, and columns left of the centre; the centre included for mask 'B',
 * excluded for 'A').  With color_groups 3 the channels are split into R,G,B
 * thirds and the centre tap connects group i to groups < i ('A') or <= i
 * ('B'), the ordering of van den Oord et al.  Only the kernel rows the
 * mask keeps are computed (the top KH/2+1) when the padding allows. */
dg_tensor dg_masked_conv2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			   const struct dg_conv *p, char mask, unsigned color_groups);
/* Gated PixelCNN's stacks (van den Oord et al. 2016) as convolutions
 * over zero-padded inputs, stride 1, H and W kept, with kernels no larger
 * than the window they see (w OC×C×KH×KW, b OC or DG_NONE).  Output (i, j)
 * sees input
 *   VERTICAL          rows i-KH+1..i, columns j-KW/2..j+KW/2 (KW odd): the
 *                     rows above and the pixel's own row, which the
 *                     vertical stack may see as long as it reaches the
 *                     horizontal stack only shifted down;
 *   VERTICAL_SHIFTED  rows i-KH..i-1, the same window shifted down one
 *                     row: strictly above, what the horizontal stack adds;
 *   HORIZONTAL_A/_B   row i, columns j-KW+1..j (KH 1), the last column, the
 *                     pixel itself, under mask 'A' or 'B' as
 *                     dg_masked_conv2d's centre: with color_groups 3 input
 *                     group g' reaches output group g if g' < g ('A') or
 *                     g' <= g ('B'); with none, 'A' excludes it.
 * color_groups (0 or 1: none) applies to the horizontal kinds only. */
enum dg_causal {
	DG_CAUSAL_VERTICAL, DG_CAUSAL_VERTICAL_SHIFTED,
	DG_CAUSAL_HORIZONTAL_A, DG_CAUSAL_HORIZONTAL_B,
};
dg_tensor dg_causal_conv2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			   enum dg_causal kind, unsigned color_groups);

/* Convolutions in general: grouped, 2-d or 3-d, with parameters per
 * spatial axis.  The options grow by appending fields: struct_size (set
 * by DG_CONV_OPT) tells libdg how many the caller has, and a field past
 * it takes its default, so a plugin built against this version keeps
 * working with later ones.  (struct dg_conv has no size and does not
 * grow; its uses are the uniform 2-d and 3-d cases below.)  Arrays are
 * per spatial axis in the images' order: (H, W) for 2-d, (D, H, W) for
 * 3-d; NULL options mean all defaults. */
struct dg_conv_opt {
	uint32_t struct_size;              /* sizeof(struct dg_conv_opt) */
	unsigned groups;                   /* 0 means 1 */
	unsigned stride[3];                /* 0 means 1 */
	unsigned pad[3];                   /* zeros on both sides */
	unsigned dilation[3];              /* 0 means 1 */
	unsigned output_padding[3];        /* transposed only; < stride */
};
#define DG_CONV_OPT(...) \
	(&(const struct dg_conv_opt){.struct_size = sizeof(struct dg_conv_opt), __VA_ARGS__})
/* x N×C×H×W or N×C×D×H×W, w O×(C/groups)×KH×KW or O×(C/groups)×KD×KH×KW
 * (PyTorch's layout), b O or DG_NONE -> N×O×OH×OW (×OD first), on each
 * axis OH = (H + 2·pad - dilation·(KH-1) - 1)/stride + 1 (rounded down).
 * groups divides C and O; output channel o sees only the C/groups input
 * channels of its group o/(O/groups) (groups = C: depthwise).  A uniform
 * 2-d convolution without groups is dg_conv2d's, the same op. */
dg_tensor dg_conv_nd(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
		     const struct dg_conv_opt *o);
/* The transpose (adjoint) of dg_conv_nd: x N×C×.., w C×(O/groups)×K..
 * (PyTorch's ConvTranspose layout), b O -> N×O×.., O = groups·w's dims[1],
 * on each axis OH = (H-1)·stride - 2·pad + dilation·(KH-1) + 1 +
 * output_padding. */
dg_tensor dg_conv_transpose_nd(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			       const struct dg_conv_opt *o);
/* 3-d with the same stride, padding and dilation on D, H, W: x
 * N×C×D×H×W, w O×C×KD×KH×KW (transposed: C×O×KD×KH×KW); sizes as above. */
dg_tensor dg_conv3d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
		    const struct dg_conv *p);
dg_tensor dg_conv_transpose3d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			      const struct dg_conv *p);

/* ---- reductions and shapes ------------------------------------------------ */

/* Sum / mean / max over the axes whose bit is set in axes (bit i = axis
 * i; DG_AXES_ALL for all); keepdims keeps them as 1. */
#define DG_AXES_ALL 0xffu
dg_tensor dg_sum(struct dg_graph *g, dg_tensor x, unsigned axes, int keepdims);
dg_tensor dg_mean(struct dg_graph *g, dg_tensor x, unsigned axes, int keepdims);
dg_tensor dg_max(struct dg_graph *g, dg_tensor x, unsigned axes, int keepdims);
/* log Σ exp over axes, stably. */
dg_tensor dg_logsumexp(struct dg_graph *g, dg_tensor x, unsigned axes, int keepdims);
/* Same count of elements, new shape; one dim may be -1 (inferred). */
dg_tensor dg_reshape(struct dg_graph *g, dg_tensor x, unsigned rank, const int64_t *dims);
/* N×... -> N×(product of the rest). */
dg_tensor dg_flatten(struct dg_graph *g, dg_tensor x);
/* Broadcasts x to dims (NumPy rules). */
dg_tensor dg_expand(struct dg_graph *g, dg_tensor x, unsigned rank, const uint64_t *dims);
/* Output axis i is input axis perm[i]. */
dg_tensor dg_permute(struct dg_graph *g, dg_tensor x, const unsigned *perm);
dg_tensor dg_transpose(struct dg_graph *g, dg_tensor x);  /* last two axes */
dg_tensor dg_concat(struct dg_graph *g, dg_tensor a, dg_tensor b, int axis);
/* Elements [start, start+len) along axis. */
dg_tensor dg_slice(struct dg_graph *g, dg_tensor x, int axis, uint64_t start, uint64_t len);
/* Zero (or value) padding: before[i], after[i] elements on axis i. */
dg_tensor dg_pad(struct dg_graph *g, dg_tensor x, const uint64_t *before,
		 const uint64_t *after, float value);

/* ---- images ---------------------------------------------------------------- */

/* Padding of the last two axes (H, W) of a tensor of rank >= 2 by left
 * and right columns, top and bottom rows, as PyTorch's ReflectionPad2d
 * and ReplicationPad2d((left, right, top, bottom)): reflected about the
 * edge pixels without repeating them (each padding must be below its
 * axis's size), or the edge pixels repeated. */
dg_tensor dg_reflection_pad2d(struct dg_graph *g, dg_tensor x, unsigned left, unsigned right,
			      unsigned top, unsigned bottom);
dg_tensor dg_replication_pad2d(struct dg_graph *g, dg_tensor x, unsigned left, unsigned right,
			       unsigned top, unsigned bottom);
/* N×C×H×W -> N×C×fH×fW, each pixel repeated f×f times. */
dg_tensor dg_upsample_nearest(struct dg_graph *g, dg_tensor x, unsigned factor);
/* N×C×H×W -> N×C×fH×fW, bilinear with align_corners=false (PyTorch's
 * default, F.interpolate(x, scale_factor=f, mode="bilinear")): output i
 * samples the input at (i + 1/2)/f - 1/2, clamped to the edge pixels. */
dg_tensor dg_upsample_bilinear(struct dg_graph *g, dg_tensor x, unsigned factor);
/* Pooling of N×C×H×W over k×k windows moved by stride (0 means k) over
 * the image padded by pad <= k/2 on each side: N×C×OH×OW with OH =
 * (H + 2·pad - k)/stride + 1 (rounded down), as PyTorch's MaxPool2d and
 * AvgPool2d.  Max: padding never wins; the gradient of each window goes
 * to its first maximum in row-major order (PyTorch's choice among ties).
 * Average: with count_include_pad (PyTorch's default) every window
 * divides by k·k, else by its number of elements inside the image. */
dg_tensor dg_max_pool2d(struct dg_graph *g, dg_tensor x, unsigned k, unsigned stride,
			unsigned pad);
dg_tensor dg_avg_pool2d(struct dg_graph *g, dg_tensor x, unsigned k, unsigned stride,
			unsigned pad, int count_include_pad);
/* The same over k×k×k windows of N×C×D×H×W (k³ for count_include_pad). */
dg_tensor dg_max_pool3d(struct dg_graph *g, dg_tensor x, unsigned k, unsigned stride,
			unsigned pad);
dg_tensor dg_avg_pool3d(struct dg_graph *g, dg_tensor x, unsigned k, unsigned stride,
			unsigned pad, int count_include_pad);
/* k×k windows that tile the image (H, W divisible by k): the 2-d
 * poolings with stride k and no padding. */
dg_tensor dg_avg_pool(struct dg_graph *g, dg_tensor x, unsigned k);
dg_tensor dg_max_pool(struct dg_graph *g, dg_tensor x, unsigned k);

/* ---- normalization --------------------------------------------------------- */

/* Batch norm over N (and H, W) per channel (axis 1) of N×C or N×C×H×W.
 * gamma, beta: C (DG_NONE: 1 and 0).  running_mean/var: dg_buffer of C,
 * updated as r = (1-momentum) r + momentum·batch (unbiased variance) when
 * training, used instead of batch statistics when not. */
dg_tensor dg_batch_norm(struct dg_graph *g, dg_tensor x, dg_tensor gamma, dg_tensor beta,
			dg_tensor running_mean, dg_tensor running_var,
			int training, float momentum, float eps);
/* (x - mean)/sqrt(var + eps)·gamma + beta with the biased variance, as
 * PyTorch: layer norm over every axis after the first, nn.LayerNorm(
 * x.shape[1:]), gamma and beta of that shape (per-token layer norm of
 * N×T×C is that of (N·T)×C); instance norm of N×C×H×W over H and W,
 * nn.InstanceNorm2d (no running statistics), gamma and beta of C.  Either
 * may be DG_NONE. */
dg_tensor dg_layer_norm(struct dg_graph *g, dg_tensor x, dg_tensor gamma, dg_tensor beta,
			float eps);
dg_tensor dg_instance_norm(struct dg_graph *g, dg_tensor x, dg_tensor gamma,
			   dg_tensor beta, float eps);
/* ProGAN's pixelwise feature normalization of N×C or N×C×H×W:
 * x / sqrt(mean over C of x² + eps) (ProGAN's eps: 1e-8). */
dg_tensor dg_pixel_norm(struct dg_graph *g, dg_tensor x, float eps);
/* Adaptive instance norm (Huang & Belongie 2017): instance norm of x
 * N×C×H×W without affine parameters, then ·scale + bias, both N×C, per
 * sample and channel (a style's; StyleGAN's scale is often 1 + its
 * output). */
dg_tensor dg_adain(struct dg_graph *g, dg_tensor x, dg_tensor scale, dg_tensor bias, float eps);
/* ProGAN's minibatch standard deviation: x N×C×H×W -> N×(C+1)×H×W, the
 * new last channel constant per sample: the standard deviation of each
 * feature over the sample's group, sqrt(biased variance + 1e-8), averaged
 * over C, H and W.  Groups of group samples (0, or more than N: the whole
 * batch; N must be a multiple) are ProGAN's: samples n, n+M, n+2M... with
 * M = N/group. */
dg_tensor dg_minibatch_stddev(struct dg_graph *g, dg_tensor x, unsigned group);

/* ---- classification ---------------------------------------------------------- */

/* Along the last axis. */
dg_tensor dg_softmax(struct dg_graph *g, dg_tensor x);
dg_tensor dg_log_softmax(struct dg_graph *g, dg_tensor x);
/* Along any axis (negative: from the end), as torch.softmax(x, dim):
 * logits N×K×H×W over their K classes are axis 1. */
dg_tensor dg_softmax_axis(struct dg_graph *g, dg_tensor x, int axis);
dg_tensor dg_log_softmax_axis(struct dg_graph *g, dg_tensor x, int axis);
/* 0, 1, .. n-1 (f32, row-major) as a constant of shape dims, n their
 * product: positions to compare against a computed index. */
dg_tensor dg_iota(struct dg_graph *g, unsigned rank, const uint64_t *dims);
/* floor(p / d) for p (f32 holding an integer in [0, d·n)), as how many of
 * d, 2d .. (n-1)d it reaches: integer division on devices without it
 * (autoregressive samplers turn a step number into a row and column). */
dg_tensor dg_floor_div(struct dg_graph *g, dg_tensor p, uint64_t d, uint64_t n);
/* k×size of 0/1: row t is 1 at column start + t (start a scalar f32
 * integer), all 0 where that falls outside 0..size-1, so that
 * sel · x reads a zero-padded window of k rows of x. */
dg_tensor dg_window_select(struct dg_graph *g, dg_tensor start, uint64_t k, uint64_t size);
/* The k×k patch of x (N×C×H×W) centred on pixel (r, col), scalar f32
 * integers, zeros where it leaves the image: N×C×k×k (two products
 * with window selections, so r and col may be computed on the device). */
dg_tensor dg_patch(struct dg_graph *g, dg_tensor x, dg_tensor r, dg_tensor col, unsigned k);
/* idx: i32 (or f32 holding integers) of any shape -> shape×k of 0/1. */
dg_tensor dg_one_hot(struct dg_graph *g, dg_tensor idx, unsigned k);
/* Rows of table (V×D) picked by idx (i32, shape S) -> S×D. */
dg_tensor dg_embedding(struct dg_graph *g, dg_tensor table, dg_tensor idx);
/* x[..., idx[...]]: one element of each row of the last axis of x (S×K)
 * chosen by idx (shape S, i32 or f32 integers) -> S.  Cross-entropy over
 * many classes without a one-hot tensor. */
dg_tensor dg_pick(struct dg_graph *g, dg_tensor x, dg_tensor idx);
/* Index of the largest element along the last axis, as f32. */
dg_tensor dg_argmax(struct dg_graph *g, dg_tensor x);

/* ---- randomness ----------------------------------------------------------------
 * Draws are keyed by (graph seed, the op's stream, run counter), so the
 * same seed gives the same noise on any backend and thread count, and a
 * new draw at each run. */
dg_tensor dg_random_uniform(struct dg_graph *g, unsigned rank, const uint64_t *dims);
dg_tensor dg_random_normal(struct dg_graph *g, unsigned rank, const uint64_t *dims);
/* 0/1 with P(1) = p. */
dg_tensor dg_random_bernoulli(struct dg_graph *g, unsigned rank, const uint64_t *dims, float p);
/* Inverted dropout: zero with probability p, scale the rest by 1/(1-p);
 * identity when not training. */
dg_tensor dg_dropout(struct dg_graph *g, dg_tensor x, float p, int training);
/* Samples: Bernoulli(sigmoid(logits)) as 0/1; one category per row of the
 * last axis (Gumbel-max) as an index in f32. */
dg_tensor dg_sample_bernoulli_logits(struct dg_graph *g, dg_tensor logits);
dg_tensor dg_sample_categorical_logits(struct dg_graph *g, dg_tensor logits);

/* ---- losses (scalars: means over the batch unless said otherwise) ------------ */

enum dg_reduction { DG_MEAN = 0, DG_SUM, DG_SUM_MEAN_BATCH };
/* DG_MEAN: mean over all elements; DG_SUM: sum of all; DG_SUM_MEAN_BATCH:
 * sum over all but axis 0, mean over axis 0 (a per-example loss in nats). */
dg_tensor dg_mse_loss(struct dg_graph *g, dg_tensor x, dg_tensor y, enum dg_reduction r);
dg_tensor dg_l1_loss(struct dg_graph *g, dg_tensor x, dg_tensor y, enum dg_reduction r);
/* Binary cross-entropy of targets y in [0,1] given logits. */
dg_tensor dg_bce_logits_loss(struct dg_graph *g, dg_tensor logits, dg_tensor y,
			     enum dg_reduction r);
/* Softmax cross-entropy: logits N×K, labels N (i32, or f32 integers). */
dg_tensor dg_softmax_cross_entropy(struct dg_graph *g, dg_tensor logits, dg_tensor labels,
				   enum dg_reduction r);
/* KL(N(mu, exp(logvar)) || N(0, I)) summed over axis 1.., reduced by r. */
dg_tensor dg_kl_normal(struct dg_graph *g, dg_tensor mu, dg_tensor logvar, enum dg_reduction r);
/* -log N(x; mu, exp(logvar)), elementwise, reduced by r. */
dg_tensor dg_gaussian_nll(struct dg_graph *g, dg_tensor x, dg_tensor mu, dg_tensor logvar,
			  enum dg_reduction r);
/* Applies a reduction to a per-element tensor. */
dg_tensor dg_reduce(struct dg_graph *g, dg_tensor x, enum dg_reduction r);

/* ---- autograd -------------------------------------------------------------------- */

/* Appends to the graph the gradients of the scalar y with respect to each
 * xs[i] (zeros where y does not depend on it) and stores their handles in
 * grads.  The gradients are ordinary tensors: they can be used in further
 * ops, including another dg_gradients (gradient penalties). */
int dg_gradients(struct dg_graph *g, dg_tensor y, size_t n, const dg_tensor *xs,
		 dg_tensor *grads);
dg_tensor dg_grad(struct dg_graph *g, dg_tensor y, dg_tensor x);

/* ---- optimizers ------------------------------------------------------------------ */

enum dg_optim_kind { DG_SGD = 1, DG_ADAM, DG_ADAMW, DG_RMSPROP };
enum dg_schedule_kind { DG_LR_CONSTANT = 0, DG_LR_STEP, DG_LR_COSINE };
struct dg_schedule {
	enum dg_schedule_kind kind;
	uint64_t warmup;        /* linear warm-up steps from 0 (0: none) */
	uint64_t step_size;     /* DG_LR_STEP: multiply by gamma every step_size */
	float gamma;
	uint64_t total;         /* DG_LR_COSINE: steps to reach min_lr */
	float min_lr;
};
struct dg_optim {
	enum dg_optim_kind kind;
	float lr;
	float beta1, beta2, eps;   /* Adam/AdamW (0.9, 0.999, 1e-8 when 0);
				      RMSProp uses beta2 as its decay (0.99) */
	float momentum;            /* SGD, RMSProp */
	int nesterov;              /* SGD */
	float weight_decay;        /* L2 added to the gradient; AdamW: decoupled */
	float clip_norm;           /* > 0: scale gradients to this global norm */
	float clip_value;          /* > 0: clamp parameters to ±clip_value after
				      the update (WGAN weight clipping) */
	float ema_decay;           /* > 0: keep "<name>.ema" = d·ema + (1-d)·p */
	struct dg_schedule schedule;
	/* 1: beta1, beta2 and eps are used as given, zeros included (WGAN-GP
	 * trains with Adam β = (0, 0.9)); 0: a zero means the default. */
	int exact;
};
/* Replaces the zeros that mean defaults by the defaults, and sets exact:
 * what dg_optimize will use, spelled out. */
void dg_optim_resolve(struct dg_optim *o);

/* Appends the backward pass of loss and an update of the parameters in
 * the groups of group_mask.  Returns an update id (> 0) to name in
 * dg_compile, or 0 after an error (graph status set).  Optimizer state is
 * kept in variables named "<param>.m", "<param>.v" (Adam), "<param>.mom"
 * (SGD momentum, RMSProp momentum), "<param>.sq" (RMSProp), "<param>.ema";
 * the update's step count is the variable "update<id>.t" (i64 scalar). */
int dg_optimize(struct dg_graph *g, dg_tensor loss, unsigned group_mask,
		const struct dg_optim *opt);
/* Data-parallel training (dg-train under mpirun): the gradients and the
 * update split, so that gradients computed by several processes can be
 * combined before the update.  params[i] is the i-th parameter of
 * mask's groups (in variable order), grads[i] its gradient of loss (an
 * ordinary tensor, to compute as an output of one executable) and
 * inputs[i] the input, called names[i] = "grad<id>:<param name>", that the update
 * reads in its place (fed before running an executable compiled with
 * the update alone).  Free with dg_fed_grads_free. */
struct dg_fed_grads {
	size_t n;
	dg_tensor *params, *grads, *inputs;
	char **names;              /* the inputs' names */
};
/* dg_optimize with the update reading fed->inputs; returns the update id,
 * or 0 after an error (graph status set, fed emptied). */
int dg_optimize_fed(struct dg_graph *g, dg_tensor loss, unsigned group_mask,
		    const struct dg_optim *opt, struct dg_fed_grads *fed);
void dg_fed_grads_free(struct dg_fed_grads *fed);
/* Makes the average that update keeps (its optimizer's ema_decay > 0)
 * warm up, as TensorFlow's ExponentialMovingAverage with num_updates does:
 * its t-th step (1-based) uses the decay min(ema_decay, (1 + t)/(10 + t)),
 * so that early averages are not dominated by the initial parameters;
 * on = 0 restores the constant decay.  Resuming keeps the rhythm (t is
 * the update's saved step count).  DG_EUSAGE for an unknown update. */
int dg_optim_ema_warmup(struct dg_graph *g, int update, int on);
/* Makes the average that update keeps also average the buffers (batch
 * norm's running statistics) of the groups in group_mask (a dg_nn
 * scope's group; dg_buffer's own buffers are in group 0), with the same
 * decay and warm-up, each from its value at this call: the averaged
 * weights are then normalized with statistics that follow them as they
 * move, not with those of the current weights.  Each average is a
 * variable "<buffer>.ema", kept as ema/<buffer> in checkpoints.
 * DG_EUSAGE for an unknown update or one that keeps no average. */
int dg_optim_ema_buffers(struct dg_graph *g, int update, unsigned group_mask);
/* The learning rate the update will use at step t (1-based), host side. */
double dg_schedule_lr(const struct dg_optim *opt, uint64_t t);

/* ---- variables: parameters, buffers and optimizer state, for checkpoints ------ */

/* PARAM and BUFFER are the model; STATE and COUNTER the optimizers'
 * (and the graph's run counter); EMA the averages "<param>.ema" an
 * optimizer with ema_decay keeps; SCRATCH (dg_variable) is never saved. */
enum dg_var_kind {
	DG_VAR_PARAM = 1, DG_VAR_BUFFER, DG_VAR_STATE, DG_VAR_COUNTER, DG_VAR_EMA,
	DG_VAR_SCRATCH,
};
size_t dg_var_count(const struct dg_graph *g);
const char *dg_var_name(const struct dg_graph *g, size_t i);
enum dg_var_kind dg_var_kind(const struct dg_graph *g, size_t i);
/* Rank and dims of variable i (dims may be NULL). */
unsigned dg_var_shape(const struct dg_graph *g, size_t i, uint64_t dims[DG_MAX_RANK]);
/* The tensor of the parameter or buffer called name, as dg_param and
 * dg_buffer returned it; DG_NONE (and no error recorded) when the graph
 * has none of that name or it is optimizer state or a counter. */
dg_tensor dg_var_tensor(const struct dg_graph *g, const char *name);
/* Copies a variable to a new host array (f32, or i64 for counters); the
 * caller frees it.  DG_ENOINPUT for an unknown name. */
int dg_var_get(struct dg_graph *g, const char *name, struct dg_array **out);
/* Copies host values into a variable; dtype f32 (i64 for counters) and
 * shape must match exactly (DG_EDATA otherwise). */
int dg_var_set(struct dg_graph *g, const char *name, const struct dg_array *a);
/* Copies the EMA of every parameter that has one into the parameter
 * (for sampling from averaged weights). */
int dg_graph_use_ema(struct dg_graph *g);
/* Exchanges every parameter that has an EMA with its EMA; a second call
 * restores both (pictures from averaged weights during training). */
int dg_graph_swap_ema(struct dg_graph *g);

/* ---- compile and run ---------------------------------------------------------- */

/* Compiles what it takes to compute outputs[0..nout) and apply the updates
 * ids[0..nupd) into an executable step on device (NULL: "cpu"; "cpu" or
 * the name of a Vulkan device, see dg/device.h).  Every executable of one
 * graph shares its variables, so a GAN compiles one step per phase.
 * Reports the graph's first error, naming the op.  *out is freed with
 * dg_exec_free. */
int dg_compile(struct dg_graph *g, const char *device, size_t nout, const dg_tensor *outputs,
	       size_t nupd, const int *updates, struct dg_exec **out);
void dg_exec_free(struct dg_exec *e);

/* Copies count elements of dtype into the input called name (for the
 * next runs).  DG_EUSAGE if the name is unknown to the step (inputs the
 * step does not use are accepted and ignored), DG_EDATA if dtype or count
 * differ from the input's. */
int dg_exec_feed(struct dg_exec *e, const char *name, int dtype, const void *data,
		 uint64_t count);
int dg_exec_feed_array(struct dg_exec *e, const char *name, const struct dg_array *a);
/* Runs the step: forward, backward, updates; advances the graph's run
 * counter (random draws) and the step counts of its updates. */
int dg_exec_run(struct dg_exec *e);
/* Copies output i (f32) to dst, which holds count = its element count. */
int dg_exec_read(struct dg_exec *e, size_t i, float *dst, uint64_t count);
/* Output i as a new host array. */
int dg_exec_output(struct dg_exec *e, size_t i, struct dg_array **out);
/* First element of output i (a scalar loss), NAN after an error. */
float dg_exec_scalar(struct dg_exec *e, size_t i);

struct dg_exec_stats {
	size_t kernels;              /* kernel calls per run */
	uint64_t peak_bytes;         /* intermediates' arena after planning */
	uint64_t intermediate_bytes; /* sum of all intermediates' sizes */
	uint64_t variable_bytes;     /* parameters, buffers, optimizer state */
};
void dg_exec_stats(const struct dg_exec *e, struct dg_exec_stats *st);

#endif
