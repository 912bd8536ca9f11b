#version 450
// graph_optim.comp — side effects on variables on the vulkan backend, one
// invocation per element of the variable p (binding 0); OP (constant 0)
// is a DG_OPTIM_* code of libcore/vk/kernel_codes.h:
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
layout(std430, binding = 0) buffer Pv { float p[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer S0 { float s0[]; };
layout(std430, binding = 3) buffer S1 { float s1[]; };
layout(std430, binding = 4) readonly buffer Params { float params[]; };
layout(push_constant) uniform Push {
	uint n, offp, offg, slot;
	float b1, b2, eps, wd;
	float clip;
} pc;

void main()
{
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (i >= pc.n)
		return;
	uint ip = pc.offp + i;
	float gv = g[pc.offg + i];
	precise float pv = p[ip];
	if (OP == DG_OPTIM_SGD) {
		float lr = params[pc.slot];
		precise float gi = gv + pc.wd * pv;
		if (MOM != 0u) {
			precise float m = pc.b1 * s0[i] + gi;
			s0[i] = m;
			precise float stp = NESTEROV != 0u ? gi + pc.b1 * m : m;
			pv = pv - lr * stp;
		} else {
			pv = pv - lr * gi;
		}
	} else if (OP == DG_OPTIM_ADAM) {
		float stp = params[pc.slot + 1u], rc2 = params[pc.slot + 2u];
		float keep = params[pc.slot + 3u];
		precise float gi = gv + pc.wd * pv;
		precise float m = pc.b1 * s0[i] + (1.0 - pc.b1) * gi;
		precise float v = pc.b2 * s1[i] + ((1.0 - pc.b2) * gi) * gi;
		s0[i] = m;
		s1[i] = v;
		pv = keep * pv - (stp * m) / (sqrt(v) * rc2 + pc.eps);
	} else if (OP == DG_OPTIM_RMSPROP) {
		float lr = params[pc.slot];
		precise float gi = gv + pc.wd * pv;
		precise float v = pc.b2 * s0[i] + (1.0 - pc.b2) * gi * gi;
		s0[i] = v;
		precise float stp = gi / (sqrt(v) + pc.eps);
		if (MOM != 0u) {
			precise float m = pc.b1 * s1[i] + stp;
			s1[i] = m;
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
	p[ip] = pv;
}
