/* vk/kernel_codes.h — the numbers the vulkan recorders pass to shaders
 * as specialization constants that the shaders switch on.  Included by
 * the C recorders (vk/vk_k_*.c) and by the shaders (glslc -Ilibcore), so
 * the two sides cannot disagree; the op list (graph/op_list.h) names each
 * op's code.  Plain #defines only: both preprocessors read this file. */
#ifndef DG_VK_KERNEL_CODES_H
#define DG_VK_KERNEL_CODES_H

/* A step's per-run words (the vulkan backend's parameter buffer, bound by
 * graph_rng.comp, graph_index.comp and graph_optim.comp), rewritten by the
 * host before each submit: the run counter for random draws (low, high),
 * a status word kernels lower (atomicMin) to the index of a call that met
 * a bad index, then four floats per update call (slot s at 4 + 4 s). */
#define DG_VKP_RUN 0
#define DG_VKP_STATUS 2
#define DG_VKP_SLOTS 4

/* graph_eltwise.comp, constant OP: y = f(a) for codes below DG_ELT_ADD,
 * f(a, b) from DG_ELT_ADD on (input b is read only then). */
#define DG_ELT_COPY 0           /* stop_gradient, expand */
#define DG_ELT_AFFINE 1
#define DG_ELT_EXP 2
#define DG_ELT_LOG 3
#define DG_ELT_SQRT 4
#define DG_ELT_RSQRT 5
#define DG_ELT_ABS 6
#define DG_ELT_SIGN 7
#define DG_ELT_RELU 8
#define DG_ELT_LEAKY 9
#define DG_ELT_ELU 10
#define DG_ELT_TANH 11
#define DG_ELT_SIGMOID 12
#define DG_ELT_SOFTPLUS 13
#define DG_ELT_CLAMP 14
#define DG_ELT_INRANGE 15
#define DG_ELT_STEP 16
#define DG_ELT_POWS 17
#define DG_ELT_CAST 18
#define DG_ELT_RECIP 19
#define DG_ELT_ADD 20
#define DG_ELT_SUB 21
#define DG_ELT_MUL 22
#define DG_ELT_DIV 23
#define DG_ELT_MAX 24
#define DG_ELT_MIN 25
#define DG_ELT_GT 26
#define DG_ELT_GE 27
#define DG_ELT_EQ 28
#define DG_ELT_WHERE 29

/* graph_reduce.comp, constant MODE: reductions to a shape, then modes
 * over rows of the last axis (from DG_REDUCE_SOFTMAX on). */
#define DG_REDUCE_SUM 0
#define DG_REDUCE_MAX 1
#define DG_REDUCE_SOFTMAX 2
#define DG_REDUCE_LOG_SOFTMAX 3
#define DG_REDUCE_ARGMAX 4

/* graph_shape.comp, constant MODE. */
#define DG_SHAPE_MOVE 0         /* permute, slice */
#define DG_SHAPE_PAD 1

/* graph_gate.comp, constant MODE. */
#define DG_GATE_FWD 0
#define DG_GATE_BWD 1

/* graph_index.comp, constant MODE. */
#define DG_INDEX_GATHER 0
#define DG_INDEX_SCATTER 1      /* per output element */
#define DG_INDEX_SCATTER_COLS 2 /* per column: the recorder's choice for long tables */
#define DG_INDEX_ONE_HOT 3
#define DG_INDEX_PICK 4
#define DG_INDEX_PLACE 5

/* graph_rng.comp, constant MODE. */
#define DG_RNG_UNIFORM 0
#define DG_RNG_NORMAL 1

/* graph_optim.comp, constant OP. */
#define DG_OPTIM_SGD 0
#define DG_OPTIM_ADAM 1
#define DG_OPTIM_RMSPROP 2
#define DG_OPTIM_ASSIGN 3
#define DG_OPTIM_EMA 4

/* gemm.glsl, constant MODE. */
#define DG_GEMM_MATMUL 0
#define DG_GEMM_CONV 1
#define DG_GEMM_BWD_DATA 2
#define DG_GEMM_BWD_FILTER 3
#define DG_GEMM_CONV_VEC4 4     /* any of the three over channels-last copies: the recorder's choice */

/* conv_direct.comp, constant MODE: the general convolutions (grouped,
 * 3-d), in the order of the op list's CONV_ND rows. */
#define DG_CONV_FWD 0
#define DG_CONV_BWD_DATA 1
#define DG_CONV_BWD_FILTER 2

/* graph_pool.comp, constant MODE. */
#define DG_POOL_MAX 0
#define DG_POOL_MAX_BWD 1
#define DG_POOL_MAX_PICK 2
#define DG_POOL_AVG 3
#define DG_POOL_AVG_BWD 4

/* gemm.glsl, constant ACT: the fused epilogue's activation, numbered as
 * the public enum dg_act (vk/vk_k_ops.c checks that they agree). */
#define DG_EPI_NONE 0
#define DG_EPI_RELU 1
#define DG_EPI_LEAKY_RELU 2
#define DG_EPI_ELU 3
#define DG_EPI_TANH 4
#define DG_EPI_SIGMOID 5
#define DG_EPI_SOFTPLUS 6

#endif
