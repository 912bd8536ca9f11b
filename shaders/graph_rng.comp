#version 450
#extension GL_GOOGLE_include_directive : require
// graph_rng.comp — the graph's random ops on the vulkan backend: y[i] from
// Philox block (seed, stream, counter (run << 32) + i / 4), word i % 4,
// bit for bit as the cpu's dg_rng_uniform / dg_rng_normal.  The run
// counter is read from the step's parameter words each run (the command
// buffer is recorded once).  MODE (constant 0): DG_RNG_UNIFORM or
// DG_RNG_NORMAL (libcore/vk/kernel_codes.h).
// One invocation per block of four elements.
#include "philox.glsl"
#include "vk/kernel_codes.h"

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer P { uint params[]; };
layout(push_constant) uniform Push {
	uvec2 seed, stream;
	uint n, offy;
} pc;

void main()
{
	uint b = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (b >= (pc.n + 3u) / 4u)
		return;
	uvec4 w = dg_rng_block(pc.seed, pc.stream, uvec2(0u, params[DG_VKP_RUN]), b);
	vec4 v;
	if (MODE == DG_RNG_NORMAL)
		v = vec4(dg_rng_box_muller(w.x, w.y), dg_rng_box_muller(w.z, w.w));
	else
		v = vec4(dg_rng_u01(w.x), dg_rng_u01(w.y), dg_rng_u01(w.z), dg_rng_u01(w.w));
	uint i = b * 4u;
	for (uint j = 0u; j < 4u; j++)
		if (i + j < pc.n)
			y[pc.offy + i + j] = v[j];
}
