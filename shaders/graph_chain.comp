#version 450
// graph_chain.comp — up to six consecutive elementwise calls of a step in
// one dispatch (vk/vk_k_eltwise.c finds them): each invocation runs
// the whole chain for its element (four with VEC), keeping the results
// of earlier calls in registers, and stores what later calls do not
// overwrite.  On lavapipe a dispatch costs 27-36 µs of thread hand-offs
// whatever its size, and each call re-read its inputs from memory.
//
// Step s is the specialization constant S<s>: bits 0-4 the op (a DG_ELT_*
// code, as graph_eltwise.comp's OP), then three operand fields of 8 bits
// (x at 5, v at 13, w at 21), bit 29 "store", bit 30 the output's binding.  An
// operand field is kind (bits 0-1: 0 none, 1 a tensor of the chain's n
// elements, 2 one element, 3 the result of step idx), binding (bit 2) and
// idx (bits 3-7: a push word holding the offset, or a step).  Push words:
// n, the output offset of step s at 1 + s, its parameters p, q at 7 + 2s
// and 8 + 2s, operand offsets from 19 on (floats; multiples of 4 with
// VEC, as n is).
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint NSTEP = 1;
layout(constant_id = 1) const bool VEC = false;
layout(constant_id = 2) const uint S0 = 0;
layout(constant_id = 3) const uint S1 = 0;
layout(constant_id = 4) const uint S2 = 0;
layout(constant_id = 5) const uint S3 = 0;
layout(constant_id = 6) const uint S4 = 0;
layout(constant_id = 7) const uint S5 = 0;
layout(std430, binding = 0) buffer M0 { float m0[]; };
layout(std430, binding = 1) buffer M1 { float m1[]; };
layout(std430, binding = 0) buffer M0v { vec4 m0v[]; };
layout(std430, binding = 1) buffer M1v { vec4 m1v[]; };
layout(push_constant) uniform Push { uint w[32]; } pc;

#include "eltwise_ops.glsl"

// Operand field f for element (or vec4) i, given the results so far.
vec4 operand(uint f, vec4 r[6], uint i)
{
	uint kind = f & 3u, b = (f >> 2) & 1u, idx = f >> 3;
	if (kind == 3u)
		return r[idx];
	if (kind == 2u)
		return vec4(b == 0u ? m0[pc.w[idx]] : m1[pc.w[idx]]);
	if (kind == 1u && VEC)
		return b == 0u ? m0v[pc.w[idx] / 4u + i] : m1v[pc.w[idx] / 4u + i];
	if (kind == 1u)
		return vec4(b == 0u ? m0[pc.w[idx] + i] : m1[pc.w[idx] + i]);
	return vec4(0.0);
}

// Step s with its word S: written out six times below rather than as a
// loop, so that every index is a constant the compiler resolves (a loop
// it does not unroll leaves r[] in memory, read and written lane by lane
// on a CPU driver).
#define STEP(s, S) \
	if (s < NSTEP) { \
		vec4 x = operand((S >> 5) & 255u, r, i), v = operand((S >> 13) & 255u, r, i); \
		vec4 c = operand((S >> 21) & 255u, r, i), y = vec4(0.0); \
		float p = uintBitsToFloat(pc.w[7 + 2 * s]), q = uintBitsToFloat(pc.w[8 + 2 * s]); \
		for (uint e = 0u; e < (VEC ? 4u : 1u); e++) \
			y[e] = elt(S & 31u, x[e], v[e], c[e], p, q); \
		r[s] = y; \
		if (((S >> 29) & 1u) != 0u) \
			store((S >> 30) & 1u, pc.w[1 + s], i, y); \
	}

void store(uint b, uint at, uint i, vec4 y)
{
	if (VEC && b == 0u)
		m0v[at / 4u + i] = y;
	else if (VEC)
		m1v[at / 4u + i] = y;
	else if (b == 0u)
		m0[at + i] = y.x;
	else
		m1[at + i] = y.x;
}

void main()
{
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if ((VEC ? 4u * i : i) >= pc.w[0])
		return;
	vec4 r[6];
	STEP(0, S0)
	STEP(1, S1)
	STEP(2, S2)
	STEP(3, S3)
	STEP(4, S4)
	STEP(5, S5)
}
