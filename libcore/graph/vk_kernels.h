/* graph/vk_kernels.h — how the vulkan backend records one kernel call.
 *
 * backend_vk.c owns devices, buffers and the step's command buffer; for
 * each call of a plan it asks the recorder for the call's op family to
 * bind a pipeline and record its dispatches into p->cmd:
 *   vk_k_gemm.c  — matmul and convolutions (forward, backward data and
 *                  filter), with the fused bias + activation epilogue;
 *   vk_k_ops.c   — everything else.
 * A recorder returns DG_ENODEV with a message for what it cannot do, so
 * dg_compile fails cleanly and the caller may fall back to cpu. */
#ifndef DG_GRAPH_VK_KERNELS_H
#define DG_GRAPH_VK_KERNELS_H

#include <stdint.h>
#include <string.h>
#include "graph/backend.h"
#include "vk/vk.h"

/* A prepared step. */
struct vkprog {
	struct dg_vk_cmd *cmd;
	struct dg_vk_descs *descs;
};

int dg_vkk_gemm(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c);
int dg_vkk_ops(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c);

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
