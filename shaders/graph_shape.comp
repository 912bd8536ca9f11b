#version 450
// graph_shape.comp — data movement on the vulkan backend, one invocation
// per output element: y[i] = x[offx + Σ c_k·st[k]] over y's coordinates
// c_k (MODE DG_SHAPE_MOVE, for PERMUTE: st[k] is the stride of the input
// axis that output axis k takes; for SLICE: x's own strides, the start
// folded into offx); MODE DG_SHAPE_PAD reads x at c_k - sh[k] on every axis and writes the fill value outside
// x, whose dims are recovered from its strides (st[k-1] / st[k], and
// xcount / st[0] on axis 0).
#include "vk/kernel_codes.h"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
	uint n, rank, offx, offy;
	float value;
	uint xcount, pad0, pad1;
	uvec4 dims[2], st[2], sh[2];
} pc;

uint at(uvec4 v[2], uint k) { return v[k >> 2][k & 3]; }

void main()
{
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (i >= pc.n)
		return;
	uint q = i, off = 0u;
	bool inside = true;
	for (int k = int(pc.rank) - 1; k >= 0; k--) {
		uint d = at(pc.dims, uint(k)), c = q % d, s = at(pc.st, uint(k));
		q /= d;
		if (MODE == DG_SHAPE_PAD) {
			int xc = int(c) - int(at(pc.sh, uint(k)));
			uint lim = k == 0 ? pc.xcount / s : at(pc.st, uint(k - 1)) / s;
			if (xc < 0 || uint(xc) >= lim)
				inside = false;
			else
				off += uint(xc) * s;
		} else {
			off += c * s;
		}
	}
	y[pc.offy + i] = inside ? x[pc.offx + off] : pc.value;
}
