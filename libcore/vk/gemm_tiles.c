/* vk/gemm_tiles.c — the GEMM tile choice per Vulkan device (see
 * gemm_tiles.h and bench/RESULTS.md, "Vulkan (lavapipe) GEMM and conv",
 * for the measurements behind it). */
#include <stdio.h>
#include <stdlib.h>
#include "vk/gemm_tiles.h"

/* Accumulators per invocation the shader is allowed: beyond about 128
 * floats the compilers spill. */
#define MAX_BLOCK 128

static int valid(const struct dg_vk_gemm_tiles *t, uint32_t max_invocations)
{
	return t->tm >= 1 && t->tn >= 1 && t->tm * t->tn <= MAX_BLOCK && t->wgm >= 1 &&
	       t->wgn >= 1 && t->wgm * t->wgn <= (max_invocations ? max_invocations : 128);
}

void dg_vk_gemm_tiles(int cpu_driver, uint32_t subgroup_size, uint32_t max_invocations,
		      struct dg_vk_gemm_tiles *t)
{
	uint32_t sg = subgroup_size ? subgroup_size : cpu_driver ? 8 : 32;
	const char *env = getenv("DG_VK_GEMM_TILES");

	if (cpu_driver) {
		/* One SIMD vector of invocations down the rows (they share the
		 * B loads), each with a large 8×12 block; two vectors across
		 * so that a 128×400 product still makes dozens of workgroups
		 * for the driver's worker threads. */
		*t = (struct dg_vk_gemm_tiles){ sg, 2, 8, 12 };
	} else {
		/* A GPU: a 16×16 workgroup (a multiple of any subgroup size up
		 * to 128 when it is 256 invocations) of 4×4 blocks. */
		*t = (struct dg_vk_gemm_tiles){ 16, 16, 4, 4 };
		if (sg > 16 && sg <= 64)
			t->wgm = sg, t->wgn = 256 / sg;
	}
	while (max_invocations && t->wgm * t->wgn > max_invocations && t->wgn > 1)
		t->wgn /= 2;
	if (env && *env) {
		struct dg_vk_gemm_tiles o = *t;
		int n = sscanf(env, "%ux%u/%ux%u", &o.tm, &o.tn, &o.wgm, &o.wgn);
		if ((n == 2 || n == 4) && valid(&o, max_invocations))
			*t = o;
	}
}

void dg_vk_gemm_tiles_describe(const struct dg_vk_gemm_tiles *t, uint32_t subgroup_size,
			       char *buf, size_t n)
{
	snprintf(buf, n, "gemm tile %ux%u (%ux%u invocations of %ux%u), subgroup %u",
		 t->wgm * t->tm, t->wgn * t->tn, t->wgm, t->wgn, t->tm, t->tn, subgroup_size);
}
