#version 450
// graph_eltwise.comp — the graph engine's elementwise ops on the vulkan
// backend: y = f(a), f(a, b) or where(a, b, c) with NumPy broadcasting, and
// casts of u8/i32 inputs; one invocation per output element.
//
// OP (specialization constant 0) picks f: a DG_ELT_* code of
// libcore/vk/kernel_codes.h, the one the op list gives the op.  DT
// (constant 1) is input a's type: 0 f32, 1 u8 (offa in bytes, read out of
// 32-bit words), 2 i32.  GENERAL (constant 2) is 1 when some input is
// broadcast along some axes: then each input's index comes from the output
// coordinates, skipping the axes whose bit is set in its mask; otherwise
// an input is either the same shape (index i) or one element (mask != 0).
// The host merges axes first, so rank is small.  Inputs are read as uint
// words so that one binding serves every dtype; floats are bit casts.  VEC
// (constant 3): f32 inputs of the output's shape or single elements,
// counts and offsets multiples of 4: each invocation computes four outputs
// through vec4 views of the same bindings (a CPU driver loads four floats
// for the price of one).
#include "vk/kernel_codes.h"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint OP = 0;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const uint GENERAL = 0;
layout(constant_id = 3) const bool VEC = false;
layout(std430, binding = 0) readonly buffer A { uint a[]; };
layout(std430, binding = 1) readonly buffer B { uint b[]; };
layout(std430, binding = 2) readonly buffer C { uint c[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(std430, binding = 0) readonly buffer A4 { uvec4 a4[]; };
layout(std430, binding = 1) readonly buffer B4 { uvec4 b4[]; };
layout(std430, binding = 2) readonly buffer C4 { uvec4 c4[]; };
layout(std430, binding = 3) writeonly buffer Y4 { vec4 y4[]; };
layout(push_constant) uniform Push {
	uint n, rank, offa, offb, offc, offy;
	float p, q;
	uint maska, maskb, maskc, pad;
	uvec4 dims[2];
} pc;

uint at(uvec4 v[2], uint k) { return v[k >> 2][k & 3]; }

float load_a(uint i)
{
	if (DT == 1u) {
		uint byte = pc.offa + i;
		return float((a[byte >> 2] >> ((byte & 3u) * 8u)) & 0xffu);
	}
	if (DT == 2u)
		return float(int(a[pc.offa + i]));
	return uintBitsToFloat(a[pc.offa + i]);
}

#include "eltwise_ops.glsl"

// f of one element: x from a, v from b, w from c (where).
float apply(float x, float v, float w)
{
	return elt(OP, x, v, w, pc.p, pc.q);
}

void main()
{
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (VEC) {
		if (4u * i >= pc.n)
			return;
		// an input is the output's shape (vec4 i) or one element (mask)
		vec4 x = pc.maska != 0u ? vec4(uintBitsToFloat(a[pc.offa]))
				       : uintBitsToFloat(a4[pc.offa / 4u + i]);
		vec4 v = vec4(0.0), w = vec4(0.0), r;
		if (OP >= DG_ELT_ADD)
			v = pc.maskb != 0u ? vec4(uintBitsToFloat(b[pc.offb]))
					   : uintBitsToFloat(b4[pc.offb / 4u + i]);
		if (OP == DG_ELT_WHERE)
			w = pc.maskc != 0u ? vec4(uintBitsToFloat(c[pc.offc]))
					   : uintBitsToFloat(c4[pc.offc / 4u + i]);
		for (uint e = 0u; e < 4u; e++)
			r[e] = apply(x[e], v[e], w[e]);
		y4[pc.offy / 4u + i] = r;
		return;
	}
	if (i >= pc.n)
		return;
	uint ia = 0u, ib = 0u, ic = 0u;
	if (GENERAL != 0u) {
		uint q = i, sa = 1u, sb = 1u, sc = 1u;
		for (int k = int(pc.rank) - 1; k >= 0; k--) {
			uint d = at(pc.dims, uint(k)), ck = q % d, bit = 1u << uint(k);
			q /= d;
			if ((pc.maska & bit) == 0u) { ia += ck * sa; sa *= d; }
			if ((pc.maskb & bit) == 0u) { ib += ck * sb; sb *= d; }
			if ((pc.maskc & bit) == 0u) { ic += ck * sc; sc *= d; }
		}
	} else {
		ia = pc.maska != 0u ? 0u : i;
		ib = pc.maskb != 0u ? 0u : i;
		ic = pc.maskc != 0u ? 0u : i;
	}
	float x = load_a(ia);
	float v = OP >= DG_ELT_ADD ? uintBitsToFloat(b[pc.offb + ib]) : 0.0;   // unary: b unread
	float w = OP == DG_ELT_WHERE ? uintBitsToFloat(c[pc.offc + ic]) : 0.0;
	y[pc.offy + i] = apply(x, v, w);
}
