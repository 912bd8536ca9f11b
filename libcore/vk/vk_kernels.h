/* vk/vk_kernels.h — how the vulkan backend records one kernel call.
 *
 * backend_vk.c owns devices, buffers and the step's command buffer; for
 * each call of a plan it asks the recorder the op list names for the op
 * (dg_vkk_recorders, vk_k_ops.c) to bind a pipeline and record its
 * dispatches into p->cmd:
 *   vk_k_gemm.c    — matmul and convolutions (forward, backward data and
 *                    filter), with the fused bias + activation epilogue;
 *   vk_k_eltwise.c — unary, binary, where, cast, expand;
 *   vk_k_reduce.c  — sum/max to a shape, softmax, log-softmax, argmax;
 *   vk_k_shape.c   — permute, slice, pad; gather, scatter-add, one-hot,
 *                    pick, place;
 *   vk_k_resample.c — resample (bilinear upsampling, edge padding);
 *   vk_k_conv_nd.c — grouped and 3-d convolutions (the direct shader
 *                    conv_direct.glsl) and pooling;
 *   vk_k_rng.c     — random draws;  vk_k_optim.c — updates, assign, EMA.
 * The recorders' shared limits (dtypes, sizes) are checked by
 * dg_vkk_supports when the step is compiled, before anything is bound;
 * a recorder returns DG_ENODEV with a message for a limit of the device,
 * so dg_compile fails cleanly. */
#ifndef DG_VK_KERNELS_H
#define DG_VK_KERNELS_H

#include <stdint.h>
#include <string.h>
#include "graph/backend.h"
#include "vk/kernel_codes.h"
#include "vk/vk.h"

/* Per-run words of a step (vkprog.params, host-visible): DG_VKP_* of
 * vk/kernel_codes.h, which the shaders read too. */
#define DG_VKP_NONE 0xffffffffu /* the status word: no error */

/* An update's per-run scalars, as execute derives them from the engine's
 * rt (lr, 1-β1^t, 1-β2^t, t) into its slot: lr, lr/(1-β1^t),
 * 1/sqrt(1-β2^t), and the decoupled decay factor 1 - lr·wd (or 1). */
struct vkslot {
	const float *rt;
	float wd;
	int decoupled;
	int ema;        /* an EMA's slot: its decay in the first word */
};

/* A prepared step. */
struct vkprog {
	struct dg_vk_cmd *cmd;
	struct dg_vk_descs *descs;
	/* Added for the ops beyond matmul and conv; recorders that do not
	 * need them ignore them. */
	struct dg_vk_buffer params;     /* DG_VKP_* words, host-visible */
	struct vkslot *slots;
	uint32_t nslots, maxslots;
	uint32_t call;                  /* index of the call being recorded */
	struct dg_kcall *calls;         /* a copy of the plan's, for messages */
	size_t ncalls;
	double *ns;                     /* DG_PROFILE: time per call, summed */
	uint64_t runs;
	int profile;
	uint64_t seed;                  /* the plan's, for random draws */
	/* Working memory that calls may use between their own dispatches
	 * (convolutions' channels-last copies), shared by all of the step's
	 * calls (they run one after another): sized before recording by the
	 * largest dg_vkk_gemm_scratch of the plan; a call finding it absent
	 * or too small takes a form that needs none. */
	struct dg_vk_buffer scratch;
};

/* The recorders the op list names, one per family (vk_k_gemm.c: gemm;
 * vk_k_eltwise.c: eltwise; vk_k_reduce.c: reduce; vk_k_shape.c: shape,
 * index; vk_k_resample.c: resample; vk_k_conv_nd.c: conv_nd, pool;
 * vk_k_rng.c: rng; vk_k_optim.c: optim), and dg_vkk_none for ops that
 * are no call. */
#define DG_OP(id, name, nin, flags, infer, backward, cpu, vk, code) \
	int dg_vkk_##vk(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c);
#include "graph/op_list.h"
#undef DG_OP
typedef int (*dg_vkk_fn)(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c);
/* Indexed by enum dg_op, from the op list: each op's recorder, and the
 * shader code it passes (vk/kernel_codes.h) (vk_k_ops.c). */
extern const dg_vkk_fn dg_vkk_recorders[OP_COUNT];
extern const uint32_t dg_vkk_codes[OP_COUNT];
/* dg_vk_backend's supports_op: the recorders' limits (vk_k_ops.c). */
int dg_vkk_supports(const struct dg_kcall *c);
/* Bytes of vkprog.scratch that dg_vkk_gemm would use for call c (0:
 * none). */
uint64_t dg_vkk_gemm_scratch(const struct dg_vk *vk, const struct dg_kcall *c);
/* Records calls[0..k-1] as one dispatch (graph_chain.comp) when they are
 * k >= 2 elementwise calls of one size that can run element by element
 * together, and sets *used = k; else records nothing and sets 0.
 * $DG_NO_FUSION=1 turns it off. */
int dg_vkk_chain(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *calls, size_t ncalls,
		 size_t *used);

/* Gets pipeline shader (all bindings storage buffers, push_size bytes of
 * push constants, spec constants), allocates its set with binds[0..nb-1]
 * (whole buffers) and records gx×gy workgroups. */
int dg_vkk_record(struct dg_vk *vk, struct vkprog *p, const char *shader,
		  const struct dg_vk_buffer *const *binds, uint32_t nb, const void *push,
		  uint32_t push_size, const uint32_t *spec, uint32_t nspec, uint32_t gx, uint32_t gy);

/* A grid for n invocations of 64-wide workgroups: gx <= 65535, and when
 * gy > 1, gx == 65535 (shaders index x + y·65535·64). */
static inline void dg_vkk_grid(uint64_t n, uint32_t *gx, uint32_t *gy)
{
	uint64_t groups = (n + 63) / 64;
	*gx = groups < 65535 ? (uint32_t)(groups ? groups : 1) : 65535;
	*gy = (uint32_t)((groups + 65534) / 65535);
	if (!*gy)
		*gy = 1;
}

/* The bits of a float, for push constants. */
static inline uint32_t dg_vkk_f2u(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

/* A buffer offset in floats (the engine aligns every tensor to 4 bytes). */
static inline uint32_t dg_vkk_elems(struct dg_bref r)
{
	return (uint32_t)(r.off / sizeof(float));
}

#endif
