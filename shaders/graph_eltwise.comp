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
// words so that one binding serves every dtype; floats are bit casts.
#include "vk/kernel_codes.h"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint OP = 0;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const uint GENERAL = 0;
layout(std430, binding = 0) readonly buffer A { uint a[]; };
layout(std430, binding = 1) readonly buffer B { uint b[]; };
layout(std430, binding = 2) readonly buffer C { uint c[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
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

// x^e as the C library's powf for the cases a graph meets: integer
// exponents of negative bases keep their sign, other negative bases give
// NaN (GLSL's pow is undefined for x < 0).
float pows(float x, float e)
{
	if (e == 2.0)
		return x * x;
	if (x == 0.0)
		return e > 0.0 ? 0.0 : e == 0.0 ? 1.0 : 1.0 / 0.0;
	float m = pow(abs(x), e);
	if (x > 0.0)
		return m;
	if (floor(e) != e)
		return uintBitsToFloat(0x7fc00000u);
	return mod(e, 2.0) == 1.0 ? -m : m;
}

void main()
{
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
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
	float r = 0.0;
	switch (OP) {
	case DG_ELT_COPY: r = x; break;  // copy, expand
	case DG_ELT_AFFINE: r = pc.p * x + pc.q; break;
	case DG_ELT_EXP: r = exp(x); break;
	case DG_ELT_LOG: r = log(x); break;
	case DG_ELT_SQRT: r = sqrt(x); break;
	case DG_ELT_RSQRT: r = inversesqrt(x); break;
	case DG_ELT_RECIP: r = 1.0 / x; break;
	case DG_ELT_ABS: r = abs(x); break;
	case DG_ELT_SIGN: r = x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : 0.0; break;
	case DG_ELT_RELU: r = x > 0.0 ? x : 0.0; break;
	case DG_ELT_LEAKY: r = x > 0.0 ? x : pc.p * x; break;
	case DG_ELT_ELU: r = x > 0.0 ? x : pc.p * (exp(x) - 1.0); break;
	case DG_ELT_TANH: r = tanh(clamp(x, -15.0, 15.0)); break;  // no inf/inf inside
	case DG_ELT_SIGMOID: r = x >= 0.0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); break;
	case DG_ELT_SOFTPLUS: {
		float u = exp(-abs(x));
		r = max(x, 0.0) + (u < 1e-3 ? u - 0.5 * u * u : log(1.0 + u));
		break;
	}
	case DG_ELT_CLAMP: r = x < pc.p ? pc.p : x > pc.q ? pc.q : x; break;
	case DG_ELT_INRANGE: r = (x >= pc.p && x <= pc.q) ? 1.0 : 0.0; break;
	case DG_ELT_STEP: r = x > 0.0 ? 1.0 : 0.0; break;
	case DG_ELT_POWS: r = pows(x, pc.p); break;
	case DG_ELT_CAST: r = x * pc.p; break;  // x already converted
	case DG_ELT_ADD: r = x + v; break;
	case DG_ELT_SUB: r = x - v; break;
	case DG_ELT_MUL: r = x * v; break;
	case DG_ELT_DIV: r = x / v; break;
	case DG_ELT_MAX: r = x >= v ? x : v; break;
	case DG_ELT_MIN: r = x <= v ? x : v; break;
	case DG_ELT_GT: r = x > v ? 1.0 : 0.0; break;
	case DG_ELT_GE: r = x >= v ? 1.0 : 0.0; break;
	case DG_ELT_EQ: r = x == v ? 1.0 : 0.0; break;
	case DG_ELT_WHERE: r = x != 0.0 ? v : uintBitsToFloat(c[pc.offc + ic]); break;
	}
	y[pc.offy + i] = r;
}
