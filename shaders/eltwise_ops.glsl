// eltwise_ops.glsl — the elementwise functions of the graph engine's ops,
// shared by graph_eltwise.comp (one op per dispatch) and graph_chain.comp
// (several): elt(op, x, v, w, p, q) with x from the first input, v the
// second, w the third (where), p and q the op's parameters; the op codes
// are set by libcore/graph/vk_k_eltwise.c.

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
	case 0: r = x; break;                            // copy, expand
	case 1: r = p * x + q; break;                    // affine
	case 2: r = exp(x); break;
	case 3: r = log(x); break;
	case 4: r = sqrt(x); break;
	case 5: r = inversesqrt(x); break;
	case 6: r = abs(x); break;
	case 7: r = x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : 0.0; break;
	case 8: r = x > 0.0 ? x : 0.0; break;            // relu
	case 9: r = x > 0.0 ? x : p * x; break;          // leaky relu
	case 10: r = x > 0.0 ? x : p * (exp(x) - 1.0); break; // elu
	case 11: r = tanh(clamp(x, -15.0, 15.0)); break; // no inf/inf inside
	case 12: r = x >= 0.0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); break;
	case 13: {                                       // softplus
		float u = exp(-abs(x));
		r = max(x, 0.0) + (u < 1e-3 ? u - 0.5 * u * u : log(1.0 + u));
		break;
	}
	case 14: r = x < p ? p : x > q ? q : x; break;   // clamp
	case 15: r = (x >= p && x <= q) ? 1.0 : 0.0; break; // inrange
	case 16: r = x > 0.0 ? 1.0 : 0.0; break;         // step
	case 17: r = pows(x, p); break;
	case 18: r = x * p; break;                       // cast (x already converted)
	case 20: r = x + v; break;
	case 21: r = x - v; break;
	case 22: r = x * v; break;
	case 23: r = x / v; break;
	case 24: r = x >= v ? x : v; break;
	case 25: r = x <= v ? x : v; break;
	case 26: r = x > v ? 1.0 : 0.0; break;
	case 27: r = x >= v ? 1.0 : 0.0; break;
	case 28: r = x == v ? 1.0 : 0.0; break;
	case 29: r = x != 0.0 ? v : w; break;            // where
	}
	return r;
}
