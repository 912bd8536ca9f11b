#version 450
// graph_reduce.comp — y = sum (MAX: max) of x over the axes where y's dim
// is 1, same rank; one invocation per output element, summing in a fixed
// order (no atomics), for the graph engine's minimal vulkan path.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MAX = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
	uint nout, rank, per, offx, offy, pad0, pad1, pad2;
	uvec4 xd[2];
	uvec4 yd[2];
} pc;

uint at(uvec4 v[2], uint k) { return v[k >> 2][k & 3]; }

void main()
{
	uint o = gl_GlobalInvocationID.x;
	if (o >= pc.nout)
		return;
	float acc = MAX != 0 ? -1.0 / 0.0 : 0.0;
	for (uint r = 0; r < pc.per; r++) {
		// coordinates: kept axes from o, reduced axes from r
		uint qo = o, qr = r, idx = 0, stride = 1;
		for (int k = int(pc.rank) - 1; k >= 0; k--) {
			uint d = at(pc.xd, uint(k)), c;
			if (at(pc.yd, uint(k)) == 1u && d != 1u) {
				c = qr % d;
				qr /= d;
			} else {
				c = qo % d;
				qo /= d;
			}
			idx += c * stride;
			stride *= d;
		}
		float v = x[pc.offx + idx];
		acc = MAX != 0 ? max(acc, v) : acc + v;
	}
	y[pc.offy + o] = acc;
}
