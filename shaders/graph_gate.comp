#version 450
// graph_gate.comp — Gated PixelCNN's gate on the vulkan backend, x viewed
// as [outer][2][m] (halves a and b), one invocation per element i =
// o·m + j of the output's half (n = outer·m):
//   DG_GATE_FWD  y[i] = tanh(a)·σ(b)
//   DG_GATE_BWD  dx[o][0][j] = dy[i]·σ(b)·(1 - tanh²(a)),
//                dx[o][1][j] = dy[i]·tanh(a)·σ(b)(1 - σ(b))
// tanh and σ as graph_eltwise.comp computes them (eltwise_ops.glsl).
#include "vk/kernel_codes.h"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer D { float dy[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
	uint n, m, offx, offd, offy;
} pc;

void main()
{
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (i >= pc.n)
		return;
	uint o = i / pc.m, j = i % pc.m, ia = 2u * o * pc.m + j;
	float a = x[pc.offx + ia], b = x[pc.offx + ia + pc.m];
	float t = tanh(clamp(a, -15.0, 15.0));
	float s = b >= 0.0 ? 1.0 / (1.0 + exp(-b)) : exp(b) / (1.0 + exp(b));
	if (MODE == DG_GATE_FWD) {
		y[pc.offy + i] = t * s;
	} else {
		float d = dy[pc.offd + i];
		y[pc.offy + ia] = d * s * (1.0 - t * t);
		y[pc.offy + ia + pc.m] = d * t * (s * (1.0 - s));
	}
}
