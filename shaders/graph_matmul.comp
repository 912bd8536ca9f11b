#version 450
// graph_matmul.comp — C[z] = act(op(A[z])·op(B[z]) + bias) for the graph
// engine's minimal vulkan path: one invocation per element of C, a plain
// loop over k (issue 5 brings the register-blocked texel-buffer GEMM).
// op transposes when TA/TB in flags; offsets and batch strides in floats.
layout(local_size_x = 8, local_size_y = 8) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push {
	uint m, n, k, flags;       // flags: 1 TA, 2 TB, 4 bias; activation in bits 8..15
	uint offa, offb, offbias, offc;
	uint stra, strb, strc;
	float alpha;
} pc;

void main()
{
	uint j = gl_GlobalInvocationID.x, i = gl_GlobalInvocationID.y, z = gl_GlobalInvocationID.z;
	if (i >= pc.m || j >= pc.n)
		return;
	bool ta = (pc.flags & 1u) != 0, tb = (pc.flags & 2u) != 0;
	uint oa = pc.offa + z * pc.stra, ob = pc.offb + z * pc.strb;
	float s = 0;
	for (uint l = 0; l < pc.k; l++) {
		float x = ta ? a[oa + l * pc.m + i] : a[oa + i * pc.k + l];
		float y = tb ? b[ob + j * pc.k + l] : b[ob + l * pc.n + j];
		s += x * y;
	}
	if ((pc.flags & 4u) != 0)
		s += bias[pc.offbias + j];
	switch ((pc.flags >> 8) & 255u) {   // enum dg_act
	case 1: s = max(s, 0.0); break;
	case 2: s = s > 0 ? s : pc.alpha * s; break;
	case 3: s = s > 0 ? s : pc.alpha * (exp(s) - 1); break;
	case 4: s = tanh(s); break;
	case 5: s = s >= 0 ? 1 / (1 + exp(-s)) : exp(s) / (1 + exp(s)); break;
	}
	c[pc.offc + z * pc.strc + i * pc.n + j] = s;
}
