/* cpu/dnnl_impl.h — what the dnnl_*.c files share: the plan structure and
 * the helpers that turn a oneDNN op descriptor into a runnable plan. */
#ifndef DG_CPU_DNNL_IMPL_H
#define DG_CPU_DNNL_IMPL_H

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "cpu/dnnl.h"

/* The oneDNN functions dg calls.  libdg does not link libdnnl: it is
 * opened at the first plan (cpu/dnnl_load.c), so a process that never
 * computes on the cpu backend does not load it, and dg runs with its own
 * C kernels where it is missing.  Calls go through the table of resolved
 * functions, DNNL(memory_create)(...); oneDNN's headers still give every
 * type and signature.  A function missing here fails the link (-z defs). */
#define DGD_FUNCTIONS(X) \
	X(batch_normalization_backward_desc_init) \
	X(batch_normalization_forward_desc_init) \
	X(binary_desc_init) \
	X(dilated_convolution_backward_data_desc_init) \
	X(dilated_convolution_backward_weights_desc_init) \
	X(dilated_convolution_forward_desc_init) \
	X(dilated_deconvolution_backward_data_desc_init) \
	X(dilated_deconvolution_backward_weights_desc_init) \
	X(dilated_deconvolution_forward_desc_init) \
	X(eltwise_backward_desc_init) \
	X(eltwise_forward_desc_init) \
	X(engine_create) \
	X(layer_normalization_backward_desc_init) \
	X(layer_normalization_forward_desc_init) \
	X(matmul_desc_init) \
	X(memory_create) \
	X(memory_desc_equal) \
	X(memory_desc_get_size) \
	X(memory_desc_init_by_strides) \
	X(memory_desc_init_by_tag) \
	X(memory_destroy) \
	X(memory_get_memory_desc) \
	X(memory_set_data_handle) \
	X(pooling_v2_backward_desc_init) \
	X(pooling_v2_forward_desc_init) \
	X(post_ops_append_eltwise) \
	X(post_ops_append_sum) \
	X(post_ops_create) \
	X(post_ops_destroy) \
	X(primitive_attr_create) \
	X(primitive_attr_destroy) \
	X(primitive_attr_set_post_ops) \
	X(primitive_attr_set_scratchpad_mode) \
	X(primitive_create) \
	X(primitive_desc_create) \
	X(primitive_desc_destroy) \
	X(primitive_desc_query) \
	X(primitive_desc_query_md) \
	X(primitive_destroy) \
	X(primitive_execute) \
	X(reduction_desc_init) \
	X(reorder_primitive_desc_create) \
	X(softmax_v2_backward_desc_init) \
	X(softmax_v2_forward_desc_init) \
	X(status2str) \
	X(stream_create) \
	X(stream_wait) \
	X(version)

struct dgd_api {
#define X(f) __typeof__(dnnl_##f) *f;
	DGD_FUNCTIONS(X)
#undef X
};
extern struct dgd_api dgd_api;
#define DNNL(f) (dgd_api.f)

/* Opens libdnnl and resolves dgd_api, once per process: DG_OK, or
 * DG_ENODEV with the reason (said once on stderr when DG_DEBUG is set). */
int dgd_load(void);

#define DNNL_PLAN_MAX_ARGS 10

/* A slot whose layout oneDNN chose (blocked, for speed) is staged through
 * a plan-owned buffer: the caller's plain tensor is reordered in before the
 * primitive (inputs, and outputs that accumulate) and out after it
 * (outputs).  The reorders are created once with the plan. */
struct dgd_stage {
	dnnl_memory_t user;                   /* caller's plain layout */
	void *buf;                            /* dg_alloc'ed, internal layout */
	dnnl_primitive_t in, out;             /* user -> buf, buf -> user */
	/* The primitive reads another plan's staged copy of the same input,
	 * made by the call just before (dg_dnnl_plan_share_input): no
	 * reorder in, buf NULL. */
	int borrowed;
};

struct dg_dnnl_plan {
	dnnl_primitive_t prim;
	int nargs;                            /* slots the caller passes */
	int arg_id[DNNL_PLAN_MAX_ARGS];       /* DNNL_ARG_* per slot; 0 = ignored */
	dnnl_memory_t mem[DNNL_PLAN_MAX_ARGS];  /* what the primitive reads */
	struct dgd_stage stage[DNNL_PLAN_MAX_ARGS];  /* .user NULL: no staging */
	size_t internal_bytes;                /* sum of the stage buffers */
	dnnl_primitive_t post;                /* in-place eltwise on slot post_slot */
	int post_slot;
	/* A plan run first on {args[0], pre_buf[0], pre_buf[1]} whose third
	 * output then fills slot pre_slot (max pooling's backward: the
	 * forward again, for its workspace); NULL: none. */
	struct dg_dnnl_plan *pre;
	void *pre_buf[2];
	int pre_slot;
	dnnl_exec_arg_t exec[DNNL_PLAN_MAX_ARGS + 1];
	dnnl_memory_t scratch_mem;            /* NULL when scratch_bytes is 0 */
	size_t scratch_bytes, workspace_bytes;
	void *own_scratch;                    /* allocated on a NULL-scratch run */
	char impl[48];
	int threads;                          /* OpenMP's count to run on; 0: all */
};

/* The global cpu engine; valid after dgd_ready() returned DG_OK. */
extern dnnl_engine_t dg_dnnl_engine;

/* dg_dnnl_init() for the constructors: returns its status. */
int dgd_ready(void);

/* Turns a failed oneDNN status into a dg_error ("oneDNN what: name") and
 * returns the dg status; returns DG_OK for dnnl_success. */
int dgd_fail(dnnl_status_t s, const char *what);

/* A plain row-major f32 descriptor of rank nd (1..6). */
int dgd_md_plain(dnnl_memory_desc_t *md, int nd, const int64_t *dims);

/* Creates the primitive for op_desc (post_ops and hint may be NULL), with a
 * user-managed scratchpad, and a plan whose slot i binds args[i] (a
 * DNNL_ARG_* id, or 0 for a slot the caller passes but the primitive does
 * not use).  The memory descriptors come from the primitive descriptor, so
 * the caller must have described every argument with a fixed layout.  On
 * success *out owns everything; on failure nothing is leaked and the
 * message names what. */
int dgd_plan_make(struct dg_dnnl_plan **out, const_dnnl_op_desc_t op_desc,
		  const_dnnl_post_ops_t post_ops,
		  const_dnnl_primitive_desc_t hint, const int *args, int nargs,
		  const char *what);

/* The same, for an op described with dnnl_format_tag_any for some
 * arguments: plain[i] (NULL for fixed-layout slots) is the caller's layout
 * of slot i; where oneDNN picked another, the plan stages the slot (see
 * struct dgd_stage).  accumulate: outputs are read too (sum post-op). */
int dgd_plan_make_any(struct dg_dnnl_plan **out, const_dnnl_op_desc_t op_desc,
		      const_dnnl_post_ops_t post_ops,
		      const_dnnl_primitive_desc_t hint, const int *args,
		      const dnnl_memory_desc_t *const *plain, int nargs, int accumulate,
		      const char *what);

/* Adds an in-place activation run on slot's memory right after the
 * primitive (before any reorder out), for ops whose fused post-ops are
 * slow in oneDNN 2.6 (deconvolution: 4x slower with an eltwise post-op). */
int dgd_plan_add_post_act(struct dg_dnnl_plan *p, int slot, enum dg_dnnl_act act,
			  float alpha);

/* A forward primitive descriptor used as the hint of a backward one;
 * *pd is NULL on failure.  The caller destroys it. */
int dgd_pd_make(dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t op_desc,
		const_dnnl_post_ops_t post_ops, const char *what);

/* Maps an activation to oneDNN's algorithm; from_dst picks the variant
 * whose backward reads the forward output.  Returns DG_EUSAGE for kinds
 * without one (NONE maps to linear with alpha 1, beta 0). */
int dgd_act_alg(enum dg_dnnl_act act, float alpha, int from_dst,
		dnnl_alg_kind_t *alg, float *a, float *b);

/* Post-ops for an epilogue act (NONE: none) and, with accumulate, a sum
 * after it.  *po is NULL when nothing is needed; the caller destroys it. */
int dgd_epilogue(dnnl_post_ops_t *po, enum dg_dnnl_act act, float alpha,
		 int accumulate);

#endif
