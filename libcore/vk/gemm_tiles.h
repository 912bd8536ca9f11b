/* vk/gemm_tiles.h — the tile sizes of the GEMM and convolution shaders
 * (shaders/gemm.glsl) for a Vulkan device, chosen in one place for the
 * recorder (vk/vk_k_gemm.c) and for the device list (the tuning line
 * of dg_device_info, which dg-info --devices prints). */
#ifndef DG_VK_GEMM_TILES_H
#define DG_VK_GEMM_TILES_H

#include <stddef.h>
#include <stdint.h>

/* A workgroup of wgm×wgn invocations, each computing a tm×tn block of
 * the output: wgm·tm rows by wgn·tn columns per workgroup. */
struct dg_vk_gemm_tiles {
	uint32_t wgm, wgn, tm, tn;
};

/* Chooses the tiles for a device: cpu_driver for a CPU implementation
 * (VK_PHYSICAL_DEVICE_TYPE_CPU, e.g. lavapipe), its subgroup size (the
 * SIMD width on a CPU driver; 0 if unknown) and its
 * maxComputeWorkGroupInvocations.  $DG_VK_GEMM_TILES="TMxTN" or
 * "TMxTN/WGMxWGN" overrides the choice (benchmarks of variants); a
 * malformed or out-of-range value is ignored. */
void dg_vk_gemm_tiles(int cpu_driver, uint32_t subgroup_size, uint32_t max_invocations,
		      struct dg_vk_gemm_tiles *t);

/* "gemm tile 64x24 (8x2 invocations of 8x12), subgroup 8" into buf. */
void dg_vk_gemm_tiles_describe(const struct dg_vk_gemm_tiles *t, uint32_t subgroup_size,
			       char *buf, size_t n);

#endif
