#version 450
// graph_resample.comp — the resample op on the vulkan backend, one
// invocation per output element (p, i, j) of planes × OH × OW:
// Σ_a Σ_b wh[i,a]·ww[j,b]·x[p, ih[i,a], iw[j,b]].  The table t holds a
// header (taps, offset) for H then W — taps 0: the axis is copied — and at
// each offset, per output coordinate, taps pairs (index, weight), index
// -1 for none (libcore/graph/resample.c, which checked it).
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer T { float t[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
	uint n, ih, iw, oh, ow, offx, offy, offt;
} pc;

void main()
{
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (i >= pc.n)
		return;
	uint j = i % pc.ow, r = i / pc.ow, row = r % pc.oh, plane = r / pc.oh;
	uint th = uint(t[pc.offt]), tw = uint(t[pc.offt + 2u]);
	uint hb = pc.offt + uint(t[pc.offt + 1u]) + 2u * row * th;
	uint wb = pc.offt + uint(t[pc.offt + 3u]) + 2u * j * tw;
	uint xb = pc.offx + plane * pc.ih * pc.iw;
	float acc = 0.0;
	for (uint a = 0u; a < max(th, 1u); a++) {
		float ia = th == 0u ? float(row) : t[hb + 2u * a];
		float wa = th == 0u ? 1.0 : t[hb + 2u * a + 1u];
		if (ia < 0.0)
			continue;
		uint xr = xb + uint(ia) * pc.iw;
		for (uint b = 0u; b < max(tw, 1u); b++) {
			float ib = tw == 0u ? float(j) : t[wb + 2u * b];
			float wb_ = tw == 0u ? 1.0 : t[wb + 2u * b + 1u];
			if (ib >= 0.0)
				acc += (wa * wb_) * x[xr + uint(ib)];
		}
	}
	y[pc.offy + i] = acc;
}
