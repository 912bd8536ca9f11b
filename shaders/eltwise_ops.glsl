// eltwise_ops.glsl — the elementwise functions of the graph engine's ops,
// shared by graph_eltwise.comp (one op per dispatch) and graph_chain.comp
// (several): elt(op, x, v, w, p, q) with x from the first input, v the
// second, w the third (where), p and q the op's parameters; op is a
// DG_ELT_* code of libcore/vk/kernel_codes.h (the op list's).
#include "vk/kernel_codes.h"

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

// f of one element; op is a constant where the shader resolves it.
float elt(uint op, float x, float v, float w, float p, float q)
{
	float r = 0.0;
	switch (op) {
	case DG_ELT_COPY: r = x; break;  // copy, expand
	case DG_ELT_AFFINE: r = p * x + q; break;
	case DG_ELT_EXP: r = exp(x); break;
	case DG_ELT_LOG: r = log(x); break;
	case DG_ELT_SQRT: r = sqrt(x); break;
	case DG_ELT_RSQRT: r = inversesqrt(x); break;
	case DG_ELT_RECIP: r = 1.0 / x; break;
	case DG_ELT_ABS: r = abs(x); break;
	case DG_ELT_SIGN: r = x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : 0.0; break;
	case DG_ELT_RELU: r = x > 0.0 ? x : 0.0; break;
	case DG_ELT_LEAKY: r = x > 0.0 ? x : p * x; break;
	case DG_ELT_ELU: r = x > 0.0 ? x : p * (exp(x) - 1.0); break;
	case DG_ELT_TANH: r = tanh(clamp(x, -15.0, 15.0)); break;  // no inf/inf inside
	case DG_ELT_SIGMOID: r = x >= 0.0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); break;
	case DG_ELT_SOFTPLUS: {
		float u = exp(-abs(x));
		r = max(x, 0.0) + (u < 1e-3 ? u - 0.5 * u * u : log(1.0 + u));
		break;
	}
	case DG_ELT_CLAMP: r = x < p ? p : x > q ? q : x; break;
	case DG_ELT_INRANGE: r = (x >= p && x <= q) ? 1.0 : 0.0; break;
	case DG_ELT_STEP: r = x > 0.0 ? 1.0 : 0.0; break;
	case DG_ELT_POWS: r = pows(x, p); break;
	case DG_ELT_CAST: r = x * p; break;  // x already converted
	case DG_ELT_ADD: r = x + v; break;
	case DG_ELT_SUB: r = x - v; break;
	case DG_ELT_MUL: r = x * v; break;
	case DG_ELT_DIV: r = x / v; break;
	case DG_ELT_MAX: r = x >= v ? x : v; break;
	case DG_ELT_MIN: r = x <= v ? x : v; break;
	case DG_ELT_GT: r = x > v ? 1.0 : 0.0; break;
	case DG_ELT_GE: r = x >= v ? 1.0 : 0.0; break;
	case DG_ELT_EQ: r = x == v ? 1.0 : 0.0; break;
	case DG_ELT_WHERE: r = x != 0.0 ? v : w; break;
	}
	return r;
}
