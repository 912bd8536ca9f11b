#version 450
// conv_direct.comp — the general convolutions on the vulkan backend
// (grouped, 2-d or 3-d, per-axis stride, padding, dilation), computed
// directly.  Images are N×C×D×H×W (depth 1 for 2-d), weights
// O×(C/G)×KD×KH×KW; output channel o of group g = o/(O/G) reads input
// channels g·C/G.. (libcore/cpu/k_conv_nd.c is the same in C).  MODE
// (constant 0, DG_CONV_* of libcore/vk/kernel_codes.h):
//   FWD         (x, w) -> y, one invocation per output element
//   BWD_DATA    (dy, w) -> dx, one invocation per dx element, gathering
//               the (o, tap) pairs that read it
//   BWD_FILTER  (x, dy) -> dw, one 64-wide workgroup per dw element:
//               lanes take every 64th row (n, od, oh) of the sum, then a
//               tree in shared memory (fixed order, no atomics)
// Push constants: offsets in floats of the two inputs and the output,
// the invocations (or workgroups) wanted, then the geometry; dims.w
// holds per-group channel counts.
#include "vk/kernel_codes.h"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
	uint offa, offb, offy, count;
	uint n, c, o, pad0;
	ivec4 xs;       // input sides D, H, W; w: input channels per group
	ivec4 ys;       // output sides; w: output channels per group
	ivec4 ks;       // kernel sides
	ivec4 st, pd, dl;
} pc;

shared float part[64];

// Input position of output position i at tap u on each axis.
ivec3 at_input(ivec3 i, ivec3 u)
{
	return i * pc.st.xyz - pc.pd.xyz + u * pc.dl.xyz;
}

bool inside(ivec3 v, ivec3 lim)
{
	return all(greaterThanEqual(v, ivec3(0))) && all(lessThan(v, lim));
}

uint vol(ivec4 s)
{
	return uint(s.x * s.y * s.z);
}

uint idx3(ivec3 v, ivec4 s)
{
	return uint((v.x * s.y + v.y) * s.z + v.z);
}

void forward(uint i)
{
	ivec3 pos;
	pos.z = int(i % uint(pc.ys.z));
	uint q = i / uint(pc.ys.z);
	pos.y = int(q % uint(pc.ys.y));
	q /= uint(pc.ys.y);
	pos.x = int(q % uint(pc.ys.x));
	q /= uint(pc.ys.x);
	uint oc = q % pc.o, n = q / pc.o;
	uint cg = uint(pc.xs.w), grp = oc / uint(pc.ys.w);
	uint xbase = pc.offa + (n * pc.c + grp * cg) * vol(pc.xs);
	uint wbase = pc.offb + oc * cg * vol(pc.ks);
	float acc = 0.0;
	for (uint c = 0u; c < cg; c++) {
		uint xc = xbase + c * vol(pc.xs), wc = wbase + c * vol(pc.ks);
		for (int u = 0; u < pc.ks.x; u++)
			for (int v = 0; v < pc.ks.y; v++)
				for (int t = 0; t < pc.ks.z; t++) {
					ivec3 tap = ivec3(u, v, t), src = at_input(pos, tap);
					if (inside(src, pc.xs.xyz))
						acc += a[xc + idx3(src, pc.xs)] * b[wc + idx3(tap, pc.ks)];
				}
	}
	y[pc.offy + i] = acc;
}

// The output position that reads input position x at tap u on one axis,
// or -1.
int reader(int x, int u, int s, int p, int d, int lim)
{
	int t = x + p - u * d;
	if (t < 0 || t % s != 0 || t / s >= lim)
		return -1;
	return t / s;
}

void backward_data(uint i)
{
	ivec3 pos;
	pos.z = int(i % uint(pc.xs.z));
	uint q = i / uint(pc.xs.z);
	pos.y = int(q % uint(pc.xs.y));
	q /= uint(pc.xs.y);
	pos.x = int(q % uint(pc.xs.x));
	q /= uint(pc.xs.x);
	uint c = q % pc.c, n = q / pc.c;
	uint cg = uint(pc.xs.w), og = uint(pc.ys.w), grp = c / cg, cl = c % cg;
	float acc = 0.0;
	for (uint ol = 0u; ol < og; ol++) {
		uint oc = grp * og + ol;
		uint ybase = pc.offa + (n * pc.o + oc) * vol(pc.ys);
		uint wbase = pc.offb + (oc * cg + cl) * vol(pc.ks);
		for (int u = 0; u < pc.ks.x; u++) {
			int od = reader(pos.x, u, pc.st.x, pc.pd.x, pc.dl.x, pc.ys.x);
			if (od < 0)
				continue;
			for (int v = 0; v < pc.ks.y; v++) {
				int oh = reader(pos.y, v, pc.st.y, pc.pd.y, pc.dl.y, pc.ys.y);
				if (oh < 0)
					continue;
				for (int t = 0; t < pc.ks.z; t++) {
					int ow = reader(pos.z, t, pc.st.z, pc.pd.z, pc.dl.z, pc.ys.z);
					if (ow >= 0)
						acc += a[ybase + idx3(ivec3(od, oh, ow), pc.ys)] *
						       b[wbase + idx3(ivec3(u, v, t), pc.ks)];
				}
			}
		}
	}
	y[pc.offy + i] = acc;
}

void backward_filter(uint f, uint lane)
{
	ivec3 tap;
	tap.z = int(f % uint(pc.ks.z));
	uint q = f / uint(pc.ks.z);
	tap.y = int(q % uint(pc.ks.y));
	q /= uint(pc.ks.y);
	tap.x = int(q % uint(pc.ks.x));
	q /= uint(pc.ks.x);
	uint cg = uint(pc.xs.w), cl = q % cg, oc = q / cg, grp = oc / uint(pc.ys.w);
	uint rows = pc.n * uint(pc.ys.x * pc.ys.y);
	float acc = 0.0;
	for (uint r = lane; r < rows; r += 64u) {
		int oh = int(r % uint(pc.ys.y));
		uint q2 = r / uint(pc.ys.y);
		int od = int(q2 % uint(pc.ys.x));
		uint n = q2 / uint(pc.ys.x);
		ivec3 src = at_input(ivec3(od, oh, 0), tap);
		if (src.x < 0 || src.x >= pc.xs.x || src.y < 0 || src.y >= pc.xs.y)
			continue;
		uint xrow = pc.offa + (n * pc.c + grp * cg + cl) * vol(pc.xs) +
			    uint((src.x * pc.xs.y + src.y) * pc.xs.z);
		uint yrow = pc.offb + (n * pc.o + oc) * vol(pc.ys) + uint((od * pc.ys.y + oh) * pc.ys.z);
		for (int ow = 0; ow < pc.ys.z; ow++) {
			int iw = ow * pc.st.z - pc.pd.z + tap.z * pc.dl.z;
			if (iw >= 0 && iw < pc.xs.z)
				acc += b[yrow + uint(ow)] * a[xrow + uint(iw)];
		}
	}
	part[lane] = acc;
	barrier();
	for (uint h = 32u; h > 0u; h >>= 1) {
		if (lane < h)
			part[lane] += part[lane + h];
		barrier();
	}
	if (lane == 0u)
		y[pc.offy + f] = part[0];
}

void main()
{
	if (MODE == DG_CONV_BWD_FILTER) {
		uint f = gl_WorkGroupID.x + gl_WorkGroupID.y * 65535u;
		// uniform per workgroup: all lanes return together or none
		if (f >= pc.count)
			return;
		backward_filter(f, gl_LocalInvocationID.x);
		return;
	}
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (i >= pc.count)
		return;
	if (MODE == DG_CONV_FWD)
		forward(i);
	else
		backward_data(i);
}
