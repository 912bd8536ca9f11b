#version 450
// conv_layout.comp — copies a tensor into the channels-last layout that
// the vec4 convolutions of gemm.glsl (MODE 4, 5) read, in the working
// memory of the call (vk/vk_k_gemm.c):
//
//   d[d0][y][x][c] = s[off + d0·s0 + c·sc + (y-PT)·sy + (x-PL)]
//
// (d0 planes DPLANE vec4s apart) for d0 < D0 (grid z), y < HP (grid y),
// x < WP, c < 4·CQ, and 0 where
// c >= C or (y-PT, x-PL) is outside the source's H×W: channels padded to
// a multiple of 4, zero borders so that the GEMM needs no bounds tests.
// An activation x[n][c][h][w] is (d0, c, y, x) = (n, c, h, w); a weight
// w[o][c][u][v] becomes rows o of [u][v][c] with (o, c, u, v), or rows c
// of [u][v][o] with (c, o, u, v).  One invocation per (d0, y, x-quad,
// c-quad): four channels × four consecutive source x (vec4 loads when
// VEC4: the host checks that W, sy, sc, s0 and off are multiples of 4),
// written as four pixels of four channels; the first and last quads of a
// row write its borders, rows outside the source are all zeros.  Loads
// and stores of 4 floats cost a CPU driver what one float does.
layout(local_size_x = 64) in;
layout(constant_id = 0) const bool VEC4 = false;
layout(std430, binding = 0) readonly buffer S { float s[]; };
layout(std430, binding = 1) readonly buffer S4 { vec4 s4[]; };   // the same range
layout(std430, binding = 2) writeonly buffer D { vec4 d[]; };
layout(push_constant) uniform Push {
	uint off, offd;          // floats into s, vec4s into d
	uint s0, sc, sy;         // source strides in floats (x's is 1)
	uint C, H, W;            // source channels, rows, columns
	uint cq, xq;             // channel quads, source x quads (⌈W/4⌉)
	uint hp, wp, pt, pl;     // destination rows, columns, top and left borders
	uint dplane;             // vec4s from one d0 to the next (>= hp·wp·cq)
} pc;

void main()
{
	const uint g = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y;
	const uint d0 = gl_GlobalInvocationID.z;
	if (g >= pc.cq * pc.xq)
		return;
	const uint q = g / pc.cq, cq = g - q * pc.cq;   // x quad, channel quad
	const uint at0 = pc.offd + d0 * pc.dplane + y * pc.wp * pc.cq + cq;   // (d0, y, 0, cq)
	const int sy = int(y) - int(pc.pt);
	const bool inside = sy >= 0 && sy < int(pc.H);
	vec4 v[4];   // v[t]: channel 4·cq + t at source x 4q..4q+3
	for (uint t = 0; t < 4; t++) {
		uint ch = 4 * cq + t;
		v[t] = vec4(0);
		if (!inside || ch >= pc.C)
			continue;
		uint at = pc.off + d0 * pc.s0 + ch * pc.sc + uint(sy) * pc.sy + 4 * q;
		if (VEC4) {
			v[t] = s4[at / 4];
		} else {
			for (uint e = 0; e < 4; e++)
				if (4 * q + e < pc.W)
					v[t][e] = s[at + e];
		}
	}
	for (uint e = 0; e < 4; e++)
		if (4 * q + e < pc.W)
			d[at0 + (pc.pl + 4 * q + e) * pc.cq] =
				vec4(v[0][e], v[1][e], v[2][e], v[3][e]);
	if (q == 0)
		for (uint x = 0; x < pc.pl; x++)
			d[at0 + x * pc.cq] = vec4(0);
	if (q == pc.xq - 1)
		for (uint x = pc.pl + pc.W; x < pc.wp; x++)
			d[at0 + x * pc.cq] = vec4(0);
}
