#version 450
// graph_optim.comp — side effects on variables on the vulkan backend, one
// invocation per element of the variable p (binding 0), or per four (VEC);
// OP (constant 0) is a DG_OPTIM_* code of libcore/vk/kernel_codes.h:
//   SGD       g += wd·p; with momentum (MOM) m = β1·m + g and a step of
//                 m, or g + β1·m (NESTEROV)
//   ADAM      g += l2·p; m, v moments; p = keep·p - (step·m)/(√v·rc2 + ε)
//   RMSPROP   g += wd·p; v = β2·v + (1-β2)·g²; s = g/(√v + ε); with
//                 momentum (MOM) m = β1·m + s, a step of m
//   ASSIGN    p = g;  EMA  p = d·p + (1-d)·g  (d: this run's, at slot)
// then clipping to [-clip, clip] when clip > 0.  The per-run scalars (lr,
// step = lr/(1-β1^t), rc2 = 1/√(1-β2^t), keep = 1 - lr·wd or 1) are read
// from the step's parameter words at slot, rewritten each run.  Every
// operation is `precise` and in the cpu kernel's order (cpu/k_optim.c),
// so a device with correctly rounded sqrt and division gives its bits.
#include "vk/kernel_codes.h"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint OP = 0;
layout(constant_id = 1) const uint MOM = 0;
layout(constant_id = 2) const uint NESTEROV = 0;
// VEC: each invocation updates four elements through vec4 views of the
// same buffers (the host checks n and the offsets are multiples of 4): a
// CPU driver loads four floats for the price of one.
layout(constant_id = 3) const bool VEC = false;
layout(std430, binding = 0) buffer Pv { float p[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer S0 { float s0[]; };
layout(std430, binding = 3) buffer S1 { float s1[]; };
layout(std430, binding = 4) readonly buffer Params { float params[]; };
layout(std430, binding = 0) buffer Pv4 { vec4 p4[]; };
layout(std430, binding = 1) readonly buffer G4 { vec4 g4[]; };
layout(std430, binding = 2) buffer S04 { vec4 s04[]; };
layout(std430, binding = 3) buffer S14 { vec4 s14[]; };
layout(push_constant) uniform Push {
	uint n, offp, offg, slot;
	float b1, b2, eps, wd;
	float clip;
} pc;

// Which state each op keeps: s0 (momentum, Adam's m, RMSProp's average),
// s1 (Adam's v, RMSProp's momentum).
#define USE0 ((OP == DG_OPTIM_SGD && MOM != 0u) || OP == DG_OPTIM_ADAM || OP == DG_OPTIM_RMSPROP)
#define USE1 (OP == DG_OPTIM_ADAM || (OP == DG_OPTIM_RMSPROP && MOM != 0u))

// The new value of one element p given its gradient and state.
float update(float pin, float gv, inout float st0, inout float st1)
{
	precise float pv = pin;
	if (OP == DG_OPTIM_SGD) {
		float lr = params[pc.slot];
		precise float gi = gv + pc.wd * pv;
		if (MOM != 0u) {
			precise float m = pc.b1 * st0 + gi;
			st0 = m;
			precise float stp = NESTEROV != 0u ? gi + pc.b1 * m : m;
			pv = pv - lr * stp;
		} else {
			pv = pv - lr * gi;
		}
	} else if (OP == DG_OPTIM_ADAM) {
		float stp = params[pc.slot + 1u], rc2 = params[pc.slot + 2u];
		float keep = params[pc.slot + 3u];
		precise float gi = gv + pc.wd * pv;
		precise float m = pc.b1 * st0 + (1.0 - pc.b1) * gi;
		precise float v = pc.b2 * st1 + ((1.0 - pc.b2) * gi) * gi;
		st0 = m;
		st1 = v;
		pv = keep * pv - (stp * m) / (sqrt(v) * rc2 + pc.eps);
	} else if (OP == DG_OPTIM_RMSPROP) {
		float lr = params[pc.slot];
		precise float gi = gv + pc.wd * pv;
		precise float v = pc.b2 * st0 + (1.0 - pc.b2) * gi * gi;
		st0 = v;
		precise float stp = gi / (sqrt(v) + pc.eps);
		if (MOM != 0u) {
			precise float m = pc.b1 * st1 + stp;
			st1 = m;
			stp = m;
		}
		pv = pv - lr * stp;
	} else if (OP == DG_OPTIM_ASSIGN) {
		pv = gv;
	} else {
		float d = params[pc.slot];
		pv = d * pv + (1.0 - d) * gv;
	}
	if (pc.clip > 0.0)
		pv = pv < -pc.clip ? -pc.clip : pv > pc.clip ? pc.clip : pv;
	return pv;
}

void main()
{
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (VEC) {
		if (4u * i >= pc.n)
			return;
		vec4 pv = p4[pc.offp / 4u + i], gv = g4[pc.offg / 4u + i];
		vec4 a = USE0 ? s04[i] : vec4(0.0), b = USE1 ? s14[i] : vec4(0.0);
		for (uint e = 0u; e < 4u; e++) {
			float x = a[e], y = b[e];
			pv[e] = update(pv[e], gv[e], x, y);
			a[e] = x, b[e] = y;
		}
		if (USE0)
			s04[i] = a;
		if (USE1)
			s14[i] = b;
		p4[pc.offp / 4u + i] = pv;
		return;
	}
	if (i >= pc.n)
		return;
	uint ip = pc.offp + i;
	float x = USE0 ? s0[i] : 0.0, y = USE1 ? s1[i] : 0.0;
	float pv = update(p[ip], g[pc.offg + i], x, y);
	if (USE0)
		s0[i] = x;
	if (USE1)
		s1[i] = y;
	p[ip] = pv;
}
