#version 450
// graph_eltwise.comp — the graph engine's elementwise ops on the vulkan
// backend: c = f(a) or f(a, b) with NumPy broadcasting, one invocation per
// output element.  OP (a specialization constant) picks f; the codes are
// set by libcore/graph/backend_vk.c.  Offsets and strides are in floats;
// strides are per output axis, 0 where the input is broadcast.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint OP = 0;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push {
	uint n, rank, offa, offb, offc;
	float p, q;
	uint pad;
	uvec4 dims[2];
	uvec4 sa[2];
	uvec4 sb[2];
} pc;

uint at(uvec4 v[2], uint k) { return v[k >> 2][k & 3]; }

void main()
{
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (i >= pc.n)
		return;
	uint ia = 0, ib = 0, q = i;
	for (int k = int(pc.rank) - 1; k >= 0; k--) {
		uint d = at(pc.dims, uint(k)), ck = q % d;
		q /= d;
		ia += ck * at(pc.sa, uint(k));
		ib += ck * at(pc.sb, uint(k));
	}
	float x = a[pc.offa + ia], y = b[pc.offb + ib], r = 0;
	switch (OP) {
	case 0: r = x; break;                                   // copy, expand
	case 1: r = pc.p * x + pc.q; break;                     // affine
	case 2: r = exp(x); break;
	case 3: r = log(x); break;
	case 4: r = sqrt(x); break;
	case 5: r = inversesqrt(x); break;
	case 6: r = abs(x); break;
	case 7: r = sign(x); break;
	case 8: r = max(x, 0.0); break;                         // relu
	case 9: r = x > 0 ? x : pc.p * x; break;                // leaky relu
	case 10: r = x > 0 ? x : pc.p * (exp(x) - 1); break;    // elu
	case 11: r = tanh(x); break;
	case 12: r = x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); break;
	case 13: r = x > 0 ? x + log(1 + exp(-x)) : log(1 + exp(x)); break;
	case 14: r = clamp(x, pc.p, pc.q); break;
	case 15: r = (x >= pc.p && x <= pc.q) ? 1 : 0; break;   // inrange
	case 16: r = x > 0 ? 1 : 0; break;                      // step
	case 17: r = pow(x, pc.p); break;
	case 20: r = x + y; break;
	case 21: r = x - y; break;
	case 22: r = x * y; break;
	case 23: r = x / y; break;
	case 24: r = x >= y ? x : y; break;
	case 25: r = x <= y ? x : y; break;
	case 26: r = x > y ? 1 : 0; break;
	case 27: r = x >= y ? 1 : 0; break;
	case 28: r = x == y ? 1 : 0; break;
	}
	c[pc.offc + i] = r;
}
