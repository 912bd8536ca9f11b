#version 450
// graph_reduce.comp — reductions on the vulkan backend, each output
// reduced in a fixed order (no atomics: the same bits every run).
//
// MODE (constant 0, codes of libcore/vk/kernel_codes.h): DG_REDUCE_SUM or
// DG_REDUCE_MAX of x over its reduced axes (SUM_TO and MAX_TO); softmax,
// log-softmax, argmax over rows of K = kd[0] elements ks[0] apart (ks[0]
// the product of the dims after the axis: row o starts at
// (o / ks[0])·K·ks[0] + o % ks[0]).  For sum
// and max the host has merged x's axes into
// alternating kept (kd, ks: dims, strides) and reduced (rd, rs) groups,
// at most four of each, outermost first.  WG (constant 1): 0 one
// invocation per output; 1 one 64-wide workgroup per output (long
// reductions to few outputs), lanes taking every 64th element, then a
// tree in shared memory.  Sums are compensated (Kahan), `precise` so the
// compiler keeps the correction.  VEC (constant 2) reads vec4s, which a
// CPU driver loads for the price of a float (the host checks alignment):
// with WG, the reduced elements are one contiguous run, each lane taking
// every 64th vec4; without, an invocation computes four neighbouring
// outputs (innermost kept axis contiguous).
#include "vk/kernel_codes.h"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;
layout(constant_id = 1) const uint WG = 0;
layout(constant_id = 2) const bool VEC = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(push_constant) uniform Push {
	uint nout, offx, offy, nk, nr, per, pad0, pad1;
	uvec4 kd, ks, rd, rs;
} pc;

shared float part[64];

float combine(float acc, float v)
{
	// as the cpu: NaN wins, else the larger
	return (v > acc || isnan(v)) ? v : acc;
}

uint base_of(uint o)
{
	uint base = 0u, q = o;
	for (int k = int(pc.nk) - 1; k >= 0; k--) {
		base += (q % pc.kd[k]) * pc.ks[k];
		q /= pc.kd[k];
	}
	return base;
}

uint roff(uint r)
{
	uint off = 0u;
	for (int k = int(pc.nr) - 1; k >= 0; k--) {
		off += (r % pc.rd[k]) * pc.rs[k];
		r /= pc.rd[k];
	}
	return off;
}

void reduce_one(uint o)
{
	uint base = pc.offx + base_of(o);
	precise float acc = MODE == DG_REDUCE_MAX ? -1.0 / 0.0 : 0.0, comp = 0.0;
	uint inner = pc.nr > 0u ? pc.rd[pc.nr - 1u] : 1u;
	uint istr = pc.nr > 0u ? pc.rs[pc.nr - 1u] : 0u;
	uint outer = pc.per / inner;
	for (uint ro = 0u; ro < outer; ro++) {
		uint off = base, q = ro;
		for (int k = int(pc.nr) - 2; k >= 0; k--) {
			off += (q % pc.rd[k]) * pc.rs[k];
			q /= pc.rd[k];
		}
		for (uint t = 0u; t < inner; t++) {
			float v = x[off + t * istr];
			if (MODE == DG_REDUCE_MAX) {
				acc = combine(acc, v);
			} else {
				precise float yk = v - comp;
				precise float tk = acc + yk;
				comp = (tk - acc) - yk;
				acc = tk;
			}
		}
	}
	y[pc.offy + o] = acc;
}

// Outputs 4·q .. 4·q + 3 (VEC): the same loops as reduce_one over vec4s.
void reduce_four(uint q)
{
	uint base = pc.offx + base_of(4u * q);
	precise vec4 acc = vec4(MODE == DG_REDUCE_MAX ? -1.0 / 0.0 : 0.0), comp = vec4(0.0);
	uint inner = pc.nr > 0u ? pc.rd[pc.nr - 1u] : 1u;
	uint istr = pc.nr > 0u ? pc.rs[pc.nr - 1u] : 0u;
	uint outer = pc.per / inner;
	for (uint ro = 0u; ro < outer; ro++) {
		uint off = base, r = ro;
		for (int k = int(pc.nr) - 2; k >= 0; k--) {
			off += (r % pc.rd[k]) * pc.rs[k];
			r /= pc.rd[k];
		}
		for (uint t = 0u; t < inner; t++) {
			vec4 v = x4[(off + t * istr) / 4u];
			for (uint e = 0u; e < 4u; e++) {
				if (MODE == DG_REDUCE_MAX) {
					acc[e] = combine(acc[e], v[e]);
				} else {
					precise float yk = v[e] - comp[e];
					precise float tk = acc[e] + yk;
					comp[e] = (tk - acc[e]) - yk;
					acc[e] = tk;
				}
			}
		}
	}
	for (uint e = 0u; e < 4u; e++)
		y[pc.offy + 4u * q + e] = acc[e];
}

void reduce_group(uint o)
{
	uint lane = gl_LocalInvocationID.x, base = pc.offx + base_of(o);
	precise float acc = MODE == DG_REDUCE_MAX ? -1.0 / 0.0 : 0.0, comp = 0.0;
	if (VEC) {
		// one contiguous run of per elements at base, a multiple of 4
		for (uint r = lane; r < pc.per / 4u; r += 64u) {
			vec4 v = x4[base / 4u + r];
			for (uint e = 0u; e < 4u; e++) {
				if (MODE == DG_REDUCE_MAX) {
					acc = combine(acc, v[e]);
				} else {
					precise float yk = v[e] - comp;
					precise float tk = acc + yk;
					comp = (tk - acc) - yk;
					acc = tk;
				}
			}
		}
	}
	for (uint r = lane; !VEC && r < pc.per; r += 64u) {
		float v = x[base + roff(r)];
		if (MODE == DG_REDUCE_MAX) {
			acc = combine(acc, v);
		} else {
			precise float yk = v - comp;
			precise float tk = acc + yk;
			comp = (tk - acc) - yk;
			acc = tk;
		}
	}
	part[lane] = acc;
	barrier();
	for (uint h = 32u; h > 0u; h >>= 1) {
		if (lane < h) {
			float u = part[lane], v = part[lane + h];
			part[lane] = MODE == DG_REDUCE_MAX ? combine(u, v) : u + v;
		}
		barrier();
	}
	if (lane == 0u)
		y[pc.offy + o] = part[0];
}

void row(uint o)
{
	uint k = pc.kd[0], sp = pc.ks[0], start = o / sp * k * sp + o % sp;
	uint b = pc.offx + start, yb = pc.offy + start;
	if (MODE == DG_REDUCE_ARGMAX) {
		uint best = 0u;
		for (uint i = 1u; i < k; i++)
			if (x[b + i * sp] > x[b + best * sp])
				best = i;
		y[pc.offy + o] = float(best);
		return;
	}
	float m = -1.0 / 0.0;
	for (uint i = 0u; i < k; i++)
		m = x[b + i * sp] > m ? x[b + i * sp] : m;
	precise float s = 0.0, comp = 0.0;
	for (uint i = 0u; i < k; i++) {
		precise float yk = exp(x[b + i * sp] - m) - comp;
		precise float tk = s + yk;
		comp = (tk - s) - yk;
		s = tk;
	}
	if (MODE == DG_REDUCE_LOG_SOFTMAX) {
		float ls = log(s);
		for (uint i = 0u; i < k; i++)
			y[yb + i * sp] = (x[b + i * sp] - m) - ls;
	} else {
		float inv = 1.0 / s;
		for (uint i = 0u; i < k; i++)
			y[yb + i * sp] = exp(x[b + i * sp] - m) * inv;
	}
}

void main()
{
	if (WG != 0u) {
		uint o = gl_WorkGroupID.x + gl_WorkGroupID.y * 65535u;
		if (o < pc.nout)     // uniform per workgroup: barriers stay in uniform flow
			reduce_group(o);
		return;
	}
	uint o = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (VEC) {
		if (4u * o < pc.nout)
			reduce_four(o);
		return;
	}
	if (o >= pc.nout)
		return;
	if (MODE >= DG_REDUCE_SOFTMAX)
		row(o);
	else
		reduce_one(o);
}
