#version 450
// graph_pool.comp — max and average pooling on the vulkan backend and
// their adjoints, on planes of D×H×W (depth 1 for 2-d), windows k moved
// by stride s over the plane padded by p; the same arithmetic in the same
// order as libcore/cpu/k_pool.c.  MODE (constant 0, DG_POOL_*):
//   MAX       y[i] = the first maximum of x's window i   (per output)
//   MAX_PICK  y[i] = h at that place                       (per output)
//   AVG       y[i] = Σ window / divisor                    (per output)
//   MAX_BWD   dx[e] = Σ dy[i] over windows i whose first maximum is e,
//             i ascending                                  (per element)
//   AVG_BWD   dx[e] = Σ dy[i] / divisor(i) over windows i holding e
//                                                          (per element)
// Binding 0 is x (AVG_BWD: dy), binding 1 the second operand (h or dy;
// the first again for ops of one input).
#include "vk/kernel_codes.h"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer H { float h[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
	uint offx, offh, offy, count;
	ivec4 xs;       // plane sides D, H, W; w: count_include_pad
	ivec4 ys;       // pooled sides
	ivec4 ks, st, pd;
} pc;

uint vol(ivec4 s)
{
	return uint(s.x * s.y * s.z);
}

ivec3 coords(uint i, ivec4 s)
{
	ivec3 c;
	c.z = int(i % uint(s.z));
	i /= uint(s.z);
	c.y = int(i % uint(s.y));
	c.x = int(i / uint(s.y));
	return c;
}

// Window i's bounds clipped to the plane: [lo, hi).
void bounds(ivec3 i, out ivec3 lo, out ivec3 hi)
{
	ivec3 start = i * pc.st.xyz - pc.pd.xyz;
	lo = max(start, ivec3(0));
	hi = min(start + pc.ks.xyz, pc.xs.xyz);
}

// The first maximum of window i of the plane at base (its index in the
// plane): padding never wins, a NaN does.
uint argmax(uint base, ivec3 i)
{
	ivec3 lo, hi;
	bounds(i, lo, hi);
	uint best = 0xffffffffu;
	float m = 0.0;
	for (int d = lo.x; d < hi.x; d++)
		for (int r = lo.y; r < hi.y; r++)
			for (int c = lo.z; c < hi.z; c++) {
				uint at = uint((d * pc.xs.y + r) * pc.xs.z + c);
				float v = x[base + at];
				if (best == 0xffffffffu || v > m || isnan(v)) {
					m = v;
					best = at;
				}
			}
	return best;
}

float divisor(ivec3 lo, ivec3 hi)
{
	if (pc.xs.w != 0)
		return float(pc.ks.x * pc.ks.y * pc.ks.z);
	ivec3 e = hi - lo;
	return float(e.x * e.y * e.z);
}

// The windows holding position e on one axis: [first, last].
ivec2 holders(int e, int k, int s, int p, int lim)
{
	int t = e + p - k + 1;
	int first = t <= 0 ? 0 : (t + s - 1) / s;
	int last = min((e + p) / s, lim - 1);
	return ivec2(first, last);
}

void main()
{
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (i >= pc.count)
		return;
	if (MODE == DG_POOL_MAX || MODE == DG_POOL_MAX_PICK || MODE == DG_POOL_AVG) {
		uint plane = i / vol(pc.ys), base = plane * vol(pc.xs);
		ivec3 o = coords(i % vol(pc.ys), pc.ys);
		float r;
		if (MODE == DG_POOL_MAX) {
			r = x[pc.offx + base + argmax(pc.offx + base, o)];
		} else if (MODE == DG_POOL_MAX_PICK) {
			r = h[pc.offh + base + argmax(pc.offx + base, o)];
		} else {
			ivec3 lo, hi;
			bounds(o, lo, hi);
			float acc = 0.0;
			for (int d = lo.x; d < hi.x; d++)
				for (int rr = lo.y; rr < hi.y; rr++)
					for (int c = lo.z; c < hi.z; c++)
						acc += x[pc.offx + base + uint((d * pc.xs.y + rr) * pc.xs.z + c)];
			r = acc / divisor(lo, hi);
		}
		y[pc.offy + i] = r;
		return;
	}
	uint plane = i / vol(pc.xs), e = i % vol(pc.xs);
	ivec3 pos = coords(e, pc.xs);
	ivec2 rd = holders(pos.x, pc.ks.x, pc.st.x, pc.pd.x, pc.ys.x);
	ivec2 rh = holders(pos.y, pc.ks.y, pc.st.y, pc.pd.y, pc.ys.y);
	ivec2 rw = holders(pos.z, pc.ks.z, pc.st.z, pc.pd.z, pc.ys.z);
	uint ybase = plane * vol(pc.ys);
	float acc = 0.0;
	for (int d = rd.x; d <= rd.y; d++)
		for (int r = rh.x; r <= rh.y; r++)
			for (int c = rw.x; c <= rw.y; c++) {
				ivec3 o = ivec3(d, r, c);
				uint oi = ybase + uint((d * pc.ys.y + r) * pc.ys.z + c);
				if (MODE == DG_POOL_MAX_BWD) {
					if (argmax(pc.offx + plane * vol(pc.xs), o) == e)
						acc += h[pc.offh + oi];
				} else {
					ivec3 lo, hi;
					bounds(o, lo, hi);
					acc += x[pc.offx + oi] / divisor(lo, hi);
				}
			}
	y[pc.offy + i] = acc;
}
