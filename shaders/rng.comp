#version 450
#extension GL_GOOGLE_include_directive : require
// rng.comp — fills out[0..n) from Philox block (seed, stream, counter + i/4),
// word i%4, exactly as dg_rng_uniform/dg_rng_normal do on the host.
// Specialization constant 0 (MODE): 0 raw words, 1 uniform, 2 normal.
// One invocation per block of four elements; 64 per workgroup.
#include "philox.glsl"

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;
layout(std430, binding = 0) writeonly buffer Out { uint out_[]; };
layout(push_constant) uniform Push {
	uvec2 seed, stream, counter;
	uint n;     // elements
	uint first; // first block of this dispatch (for fills beyond one dispatch)
} pc;

void main()
{
	uint b = pc.first + gl_GlobalInvocationID.x;
	uint i = b * 4u;
	if (b >= (pc.n + 3u) / 4u)
		return;
	uvec4 w = dg_rng_block(pc.seed, pc.stream, pc.counter, b);
	uvec4 v = w;
	if (MODE == 1u)
		v = floatBitsToUint(vec4(dg_rng_u01(w.x), dg_rng_u01(w.y), dg_rng_u01(w.z),
					 dg_rng_u01(w.w)));
	else if (MODE == 2u)
		v = floatBitsToUint(vec4(dg_rng_box_muller(w.x, w.y), dg_rng_box_muller(w.z, w.w)));
	for (uint j = 0u; j < 4u; j++)
		if (i + j < pc.n)
			out_[i + j] = v[j];
}
