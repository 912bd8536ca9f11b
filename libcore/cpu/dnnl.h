/* cpu/dnnl.h — the cpu backend's oneDNN layer: plans for the heavy ops.
 * Internal to libdg (the graph engine calls it; plugins never see it).
 *
 * A plan is made once from shapes (at graph compile time) and run many
 * times on raw f32 pointers.  Every tensor is plain, dense and row-major
 * exactly as the engine stores it:
 *   matrices      M×K (row-major; a transpose flag reads the same bytes
 *                 as K×M, so no copy is ever made)
 *   images        N×C×H×W (NCHW)
 *   conv weights  OC×IC×KH×KW (PyTorch Conv2d layout)
 *   deconv wts    IC×OC×KH×KW (PyTorch ConvTranspose2d layout: IC is the
 *                 deconvolution's input; this is the weight of the
 *                 convolution whose backward-data the deconvolution is)
 *   per-channel   C floats (bias, batch-norm mean/var/scale/shift)
 * Shapes are int64_t; a size must be >= 1.
 *
 * Running a plan:  dg_dnnl_run(plan, args, scratch).  `args` is an array of
 * pointers whose order each constructor below documents as "args: {..}"
 * (the count is dg_dnnl_plan_nargs()).  Pointers are borrowed for the call
 * only; inputs are read, outputs written in full (or added to, for plans
 * made with DG_DNNL_ACCUMULATE).  No output may alias an input unless the
 * constructor says so.  Any 4-byte-aligned address works; 64-byte alignment
 * (dg_alloc) is faster.
 *
 * Scratch: a plan may need temporary memory while it runs
 * (dg_dnnl_plan_scratch_bytes; often 0).  The caller passes one buffer of at
 * least that size (the executor can share one buffer, sized to the maximum
 * over its plans, because plans run one after another), or NULL to let the
 * plan use a buffer of its own, allocated on first need and freed with it.
 * Max pooling and fused-relu batch norm also have a workspace that carries
 * state from forward to backward; it is an explicit argument whose size is
 * dg_dnnl_plan_workspace_bytes() (of the forward plan) and whose bytes are
 * opaque.
 *
 * Loading: libdg does not link libdnnl; it is opened (dlopen) by the
 * first constructor or dg_dnnl_init, which sets OMP_WAIT_POLICY=passive
 * first unless it is set.  $DG_DNNL_LIBRARY names another library (tests
 * use it to simulate a missing one).  The cpu backend asks for plans only
 * when oneDNN loads; otherwise its C kernels run.
 *
 * Threads: oneDNN here runs on libgomp.  The first call (any constructor,
 * or dg_dnnl_init) creates one global engine and stream and reads
 * DG_THREADS (unset or 0: all cores, OpenMP's default).  The thread count
 * is applied on every thread that runs a plan.  Constructors may be called
 * from any thread.  dg_dnnl_run on one plan is not reentrant (a plan holds
 * its argument handles); run plans from one thread at a time.  libgomp
 * reads OMP_WAIT_POLICY at load time only: on a machine shared with other
 * busy processes, passive waiting was 3-5x faster than the default spinning
 * (bench/RESULTS.md), which is why the loader sets it.
 *
 * Errors: constructors return a status from dg/error.h with the message
 * "oneDNN <what>: dnnl_<status>" (dnnl_unimplemented and bad arguments ->
 * DG_EUSAGE, out of memory -> DG_ENOMEM, else DG_EINTERNAL); *out is NULL
 * on failure.  dg_dnnl_run returns DG_OK, DG_ENOMEM (allocating its own
 * scratch) or DG_EINTERNAL.
 *
 * Determinism: with the same thread count on the same machine, a plan run
 * twice on the same inputs gives bit-identical outputs (tested). */
#ifndef DG_CPU_DNNL_H
#define DG_CPU_DNNL_H

#include <stddef.h>
#include <stdint.h>

struct dg_dnnl_plan;

/* Activations, for eltwise plans and as fused epilogues.  alpha is the
 * slope for LEAKY_RELU (y = x<0 ? alpha*x : x) and the scale for ELU
 * (y = x<0 ? alpha*(exp(x)-1) : x); other kinds ignore it.
 * SOFTPLUS is log(1+exp(x)). */
enum dg_dnnl_act {
	DG_DNNL_NONE = 0,     /* identity (only meaningful as an epilogue) */
	DG_DNNL_RELU,
	DG_DNNL_LEAKY_RELU,
	DG_DNNL_ELU,
	DG_DNNL_TANH,
	DG_DNNL_SIGMOID,
	DG_DNNL_EXP,
	DG_DNNL_LOG,
	DG_DNNL_SQRT,
	DG_DNNL_SQUARE,
	DG_DNNL_ABS,
	DG_DNNL_SOFTPLUS,
	DG_DNNL_ACT_COUNT
};

/* Flags for matmul / conv / deconv plans. */
enum {
	DG_DNNL_BIAS = 1 << 0,        /* add a bias (per output column/channel) */
	DG_DNNL_TRANS_A = 1 << 1,     /* matmul: A is stored K×M */
	DG_DNNL_TRANS_B = 1 << 2,     /* matmul: B is stored N×K */
	DG_DNNL_ACCUMULATE = 1 << 3,  /* dst += result (gradient accumulation);
	                                 applied after the activation */
};

/* What the cpu backend computes with, for the device list: "oneDNN
 * 2.6.3" (loaded, or the version dg was built for when nothing has needed
 * it yet), or "dg C kernels (oneDNN not loaded: why)".  Never loads it. */
void dg_dnnl_describe(char *buf, size_t size);

/* Opens oneDNN (cpu/dnnl_load.c) if needed, creates the global engine
 * and stream and applies DG_THREADS; idempotent and thread-safe.  Returns
 * DG_OK, or DG_ENODEV if oneDNN cannot be loaded or has no cpu engine, or
 * DG_EUSAGE for a malformed DG_THREADS. */
int dg_dnnl_init(void);
/* The thread count oneDNN will use (after dg_dnnl_init). */
int dg_dnnl_threads(void);
/* The plans this thread makes from now on run on n threads (0: all of
 * DG_THREADS): a call of a few microseconds' work runs faster on one
 * thread than it takes to wake another (cpu/plans.c). */
void dg_dnnl_plan_threads(int n);

/* Frees a plan (NULL is fine). */
void dg_dnnl_plan_free(struct dg_dnnl_plan *p);
int dg_dnnl_plan_nargs(const struct dg_dnnl_plan *p);
size_t dg_dnnl_plan_scratch_bytes(const struct dg_dnnl_plan *p);
size_t dg_dnnl_plan_workspace_bytes(const struct dg_dnnl_plan *p);
/* Bytes of plan-owned staging buffers: convolution plans let oneDNN pick
 * its fast blocked layouts and convert the caller's plain tensors in and
 * out on each run (the conversions are created once; they cost a few per
 * cent of the convolution, the blocked kernels gain 2-5x over plain-layout
 * ones on this machine). */
size_t dg_dnnl_plan_internal_bytes(const struct dg_dnnl_plan *p);
/* Lets plan `later` read its input slot ls from `earlier`'s staged
 * (blocked) copy of its input slot es instead of converting the same
 * tensor again (a convolution's forward, backward-data and
 * backward-weights stage the same input and output gradient).  The
 * caller guarantees that the two slots are bound to the same tensor, that
 * each run of `later` comes after a run of `earlier` on the tensor as it
 * is then, and that `earlier` outlives `later`'s runs.  Returns 1 if
 * shared, 0 if the staged layouts differ (nothing changes). */
int dg_dnnl_plan_share_input(struct dg_dnnl_plan *earlier, int es,
			     struct dg_dnnl_plan *later, int ls);
/* oneDNN's name for the implementation it chose ("brg:avx512_core", ...),
 * for DG_DEBUG and benchmarks. */
const char *dg_dnnl_plan_impl(const struct dg_dnnl_plan *p);

/* Runs a plan (see the top of this file).  scratch may be NULL. */
int dg_dnnl_run(struct dg_dnnl_plan *p, void *const *args, void *scratch);

/* ---- matrix products ------------------------------------------------- */

/* C[b] = act(op(A[b]) · op(B[b]) + bias) (+ C[b] with ACCUMULATE),
 * for b < batch; C is M×N, op(A) M×K, op(B) K×N; bias is N floats,
 * broadcast over rows and batch.  alpha is the activation's parameter.
 * With batch > 1, A, B and C hold batch matrices one after another;
 * broadcast_b: B is one matrix shared by every batch entry.
 * args: {A, B, bias (NULL/ignored without DG_DNNL_BIAS), C}.
 * Linear layer y = act(x·Wᵀ + b), W stored out×in: flags BIAS|TRANS_B.
 * Its backward pieces: dX = dY·W (no flags), dW = dYᵀ·X (TRANS_A),
 * db = column sums of dY (dg_dnnl_reduce_plan). */
int dg_dnnl_matmul_plan(struct dg_dnnl_plan **out, int64_t batch,
			int64_t m, int64_t n, int64_t k, unsigned flags,
			int broadcast_b, enum dg_dnnl_act act, float alpha);

/* ---- convolution and its transpose ----------------------------------- */

struct dg_dnnl_conv {
	int64_t n, ic, ih, iw;        /* input N×IC×IH×IW */
	int64_t oc, kh, kw;           /* output channels, kernel size */
	int64_t sh, sw;               /* stride (>= 1) */
	int64_t ph, pw;               /* zero padding, top/left and bottom/right */
	int64_t ph_extra, pw_extra;   /* convolutions: bottom/right padding is
	                                 ph + ph_extra, pw + pw_extra (0: even) */
	int64_t dh, dw;               /* dilation, PyTorch convention: 1 = dense */
	int64_t oph, opw;             /* deconv only: extra output rows/cols
	                                 (PyTorch output_padding), else 0 */
	/* Grouped: 0 or 1 for none, else G dividing ic and oc; the weights
	 * are then PyTorch's OC×(IC/G)×KH×KW (deconv: IC×(OC/G)×KH×KW), and
	 * output channel o reads the input channels of group o/(OC/G). */
	int64_t groups;
	/* 3-d: id > 0 makes every image N×C×D×H×W and every weight
	 * ..×KD×KH×KW (PyTorch's Conv3d and ConvTranspose3d layouts), with
	 * these on the depth axis; id = 0 is a 2-d convolution. */
	int64_t id, kd, sd, pd, dd, opd;
};

/* Output size of a convolution / deconvolution with these parameters
 * (oh, ow written; returns DG_EUSAGE if not >= 1). */
int dg_dnnl_conv_out(const struct dg_dnnl_conv *c, int64_t *oh, int64_t *ow);
int dg_dnnl_deconv_out(const struct dg_dnnl_conv *c, int64_t *oh, int64_t *ow);
/* The same for 2-d or 3-d: out[] = (od, oh, ow), od = 1 for 2-d. */
int dg_dnnl_window_out(const struct dg_dnnl_conv *c, int deconv, int64_t *out);

/* dst = act(conv(src, W) + bias) (+ dst with ACCUMULATE).
 * flags: DG_DNNL_BIAS, DG_DNNL_ACCUMULATE.
 * args: {src N×IC×IH×IW, W OC×IC×KH×KW, bias OC, dst N×OC×OH×OW}. */
int dg_dnnl_conv_fwd_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c,
			  unsigned flags, enum dg_dnnl_act act, float alpha);
/* diff_src = conv backward-data; flags: none yet (pass 0).
 * args: {diff_dst, W, diff_src}. */
int dg_dnnl_conv_bwd_data_plan(struct dg_dnnl_plan **out,
			       const struct dg_dnnl_conv *c, unsigned flags);
/* diff_W (and diff_bias with DG_DNNL_BIAS) from src and diff_dst;
 * both outputs are overwritten.
 * args: {src, diff_dst, diff_W, diff_bias (NULL without BIAS)}. */
int dg_dnnl_conv_bwd_weights_plan(struct dg_dnnl_plan **out,
				  const struct dg_dnnl_conv *c, unsigned flags);

/* The same three for the transposed convolution (ConvTranspose2d), with
 * c->ic = its input channels, c->oc = its output channels, W IC×OC×KH×KW,
 * dst N×OC×OH×OW with OH, OW from dg_dnnl_deconv_out.
 * fwd args: {src, W, bias, dst}; bwd_data args: {diff_dst, W, diff_src};
 * bwd_weights args: {src, diff_dst, diff_W, diff_bias}. */
int dg_dnnl_deconv_fwd_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c,
			    unsigned flags, enum dg_dnnl_act act, float alpha);
int dg_dnnl_deconv_bwd_data_plan(struct dg_dnnl_plan **out,
				 const struct dg_dnnl_conv *c, unsigned flags);
int dg_dnnl_deconv_bwd_weights_plan(struct dg_dnnl_plan **out,
				    const struct dg_dnnl_conv *c, unsigned flags);

/* ---- batch normalization (over N, H, W per channel of N×C×H×W) ------- */

/* For 2-d inputs N×C pass h = w = 1.  eps is added to the variance.
 * Variance is the biased one (divided by N·H·W), as PyTorch's forward uses;
 * the running averages are the engine's business.
 * Training forward: args {src, scale C, shift C, dst, mean C (out),
 *   var C (out)}.
 * Inference forward: args {src, scale, shift, dst, mean C (in), var C (in)}.
 * Backward (training statistics):
 *   args {src, diff_dst, scale, shift, mean, var, diff_src, diff_scale,
 *   diff_shift} (shift is not read, but oneDNN wants it bound).
 * relu: fuse a relu after the normalization; a training forward then
 * writes a workspace (a 7th arg, size from that plan) that the backward
 * (made with relu too) reads as its 10th arg.  Inference has none. */
int dg_dnnl_bnorm_fwd_plan(struct dg_dnnl_plan **out, int64_t n, int64_t c,
			   int64_t h, int64_t w, float eps, int training, int relu);
int dg_dnnl_bnorm_bwd_plan(struct dg_dnnl_plan **out, int64_t n, int64_t c,
			   int64_t h, int64_t w, float eps, int relu);

/* ---- layer normalization (over the last axis of outer×inner) ---------- */

/* Each of the outer rows is normalized over its inner values (biased
 * variance, eps added), then y = scale·x̂ + shift with scale and shift of
 * inner floats: PyTorch's LayerNorm(normalized_shape) with outer = the
 * product of the leading dims and inner = that of normalized_shape.
 * Training forward: args {src, scale, shift, dst, mean outer (out),
 *   var outer (out)}; inference: the same with mean and var read.
 * Backward: args {src, diff_dst, scale, shift (not read), mean, var,
 *   diff_src, diff_scale, diff_shift}. */
int dg_dnnl_lnorm_fwd_plan(struct dg_dnnl_plan **out, int64_t outer, int64_t inner,
			   float eps, int training);
int dg_dnnl_lnorm_bwd_plan(struct dg_dnnl_plan **out, int64_t outer, int64_t inner,
			   float eps);

/* ---- elementwise ------------------------------------------------------ */

/* dst = act(src) over count floats; dst may equal src (in place).
 * args: {src, dst}. */
int dg_dnnl_eltwise_fwd_plan(struct dg_dnnl_plan **out, int64_t count,
			     enum dg_dnnl_act act, float alpha);
/* diff_src = diff_dst · act'(x).  With from_dst the first arg is the
 * forward's output instead of its input; allowed for RELU (alpha must be
 * >= 0), ELU (alpha >= 0), TANH, SIGMOID, EXP, SQRT — the activations a
 * fused epilogue leaves without their input.  diff_src may equal diff_dst.
 * args: {src or dst, diff_dst, diff_src}. */
int dg_dnnl_eltwise_bwd_plan(struct dg_dnnl_plan **out, int64_t count,
			     enum dg_dnnl_act act, float alpha, int from_dst);

/* ---- softmax ---------------------------------------------------------- */

/* Softmax (or log-softmax with log_softmax) along the middle axis of an
 * outer×axis×inner tensor (for N×K logits: outer=N, axis=K, inner=1).
 * fwd args: {src, dst}; bwd args: {dst, diff_dst, diff_src}. */
int dg_dnnl_softmax_fwd_plan(struct dg_dnnl_plan **out, int64_t outer,
			     int64_t axis, int64_t inner, int log_softmax);
int dg_dnnl_softmax_bwd_plan(struct dg_dnnl_plan **out, int64_t outer,
			     int64_t axis, int64_t inner, int log_softmax);

/* ---- pooling ----------------------------------------------------------- */

enum dg_dnnl_pool_kind {
	DG_DNNL_POOL_MAX = 1,
	DG_DNNL_POOL_AVG,         /* padding excluded from the divisor */
	DG_DNNL_POOL_AVG_PAD,     /* padding counted (PyTorch's default) */
};

/* Uses n, ic(=channels), ih, iw, kh, kw, sh, sw, ph, pw, dh, dw of c
 * and for 3-d (id > 0) id, kd, sd, pd, dd (oc and groups ignored);
 * output size as for convolution.
 * fwd args: {src, dst, workspace (max with training only, else NULL)};
 * bwd args: {diff_dst, workspace (max only), diff_src}. */
int dg_dnnl_pool_fwd_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c,
			  enum dg_dnnl_pool_kind kind, int training);
int dg_dnnl_pool_bwd_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c,
			  enum dg_dnnl_pool_kind kind);
/* Max pooling's backward from src itself: the plan runs the forward
 * again into buffers of its own for the workspace (ties go to the first
 * maximum of a window in row-major order).
 * args: {src, diff_dst, NULL, diff_src}. */
int dg_dnnl_pool_max_bwd_plan(struct dg_dnnl_plan **out, const struct dg_dnnl_conv *c);

/* ---- broadcasting binary ops and reductions ----------------------------- */

enum dg_dnnl_binop {
	DG_DNNL_ADD = 1,
	DG_DNNL_SUB,
	DG_DNNL_MUL,
	DG_DNNL_DIV,
	DG_DNNL_MAX,
	DG_DNNL_MIN,
};

/* dst = a op b with NumPy broadcasting: all three have the same rank
 * (1..6; pad shapes with leading 1s), each dim of a and b equals dst's or
 * is 1.  oneDNN 2.6 broadcasts only its second operand: if a is the one
 * broadcast, ADD/MUL/MAX/MIN swap operands internally, SUB/DIV return
 * DG_EUSAGE (the engine uses its C loop then).  dst may equal a.
 * args: {a, b, dst}. */
int dg_dnnl_binary_plan(struct dg_dnnl_plan **out, enum dg_dnnl_binop op,
			int rank, const int64_t *adims, const int64_t *bdims,
			const int64_t *dims);

/* dst = sum (or mean) of src over the axes where dst's dim is 1 and src's
 * is not; same rank (1..6).  E.g. db of a linear layer: src M×N, dst 1×N.
 * args: {src, dst}. */
int dg_dnnl_reduce_plan(struct dg_dnnl_plan **out, int rank,
			const int64_t *sdims, const int64_t *ddims, int mean);

#endif
