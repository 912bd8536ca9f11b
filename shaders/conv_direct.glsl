// conv_direct.glsl — the general convolutions on the vulkan backend
// (grouped, 2-d or 3-d, per-axis stride, padding, dilation), computed
// directly.  Images are N×C×D×H×W (depth 1 for 2-d), weights
// O×(C/G)×KD×KH×KW; output channel o of group g = o/(O/G) reads input
// channels g·C/G.. (libcore/cpu/k_conv_nd.c is the same in C).
//
// Each invocation computes a block: TB channels (constant 1: 1, 2, 4 or
// 8, all of one group) times 4 neighbours along the innermost axis, so
// each load feeds several products (on lavapipe, loads whose address
// differs per invocation are what costs).  MODE (constant 0, DG_CONV_*
// of libcore/vk/kernel_codes.h):
//   FWD         (x, w) -> y: grid (4 neighbours along W of a row of y,
//               TB output channels, image)
//   BWD_DATA    (dy, w) -> dx: (4 neighbours along W of dx, TB input
//               channels, image), gathering the (o, tap) pairs that read
//               each position
//   BWD_FILTER  (x, dy) -> dw: (input channel of the group and 4 taps
//               along KW, TB output channels), summing over images and
//               positions
// Every sum runs in a fixed order: the same bits every run.
//
// The including shader declares the two inputs and LDA(i), LDB(i) that
// read float i of each: conv_direct_texel.comp through texel buffers
// (about twice as fast on lavapipe), conv_direct_storage.comp through
// storage buffers where a texel view cannot be made.
#include "vk/kernel_codes.h"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;
layout(constant_id = 1) const uint TB = 1;
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
	uint offa, offb, offy, n;
	uint c, o, cg, og;      // channels, and per group
	ivec4 xs;               // input sides D, H, W
	ivec4 ys;               // output sides
	ivec4 ks;               // kernel sides
	ivec4 st, pd, dl;
} pc;

uint vol(ivec4 s)
{
	return uint(s.x * s.y * s.z);
}

// TB values of buf at base + t·stride (t < TB; zeros beyond), in
// straight-line code: the compiler sees TB only when the pipeline is
// made, and an array indexed in a loop would live in memory.
#define LOAD8(ld, base, stride, lo, hi) { \
	lo = vec4(ld(base), TB > 1u ? ld((base) + (stride)) : 0.0, \
		  TB > 2u ? ld((base) + 2u * (stride)) : 0.0, \
		  TB > 2u ? ld((base) + 3u * (stride)) : 0.0); \
	hi = TB > 4u ? vec4(ld((base) + 4u * (stride)), ld((base) + 5u * (stride)), \
			    ld((base) + 6u * (stride)), ld((base) + 7u * (stride))) : vec4(0.0); }
// Writes the TB sums lo, hi to buf at base + t·stride.
#define STORE8(buf, base, stride, lo, hi) { \
	buf[base] = lo.x; \
	if (TB > 1u) buf[(base) + (stride)] = lo.y; \
	if (TB > 2u) { buf[(base) + 2u * (stride)] = lo.z; buf[(base) + 3u * (stride)] = lo.w; } \
	if (TB > 4u) { buf[(base) + 4u * (stride)] = hi.x; buf[(base) + 5u * (stride)] = hi.y; \
		       buf[(base) + 6u * (stride)] = hi.z; buf[(base) + 7u * (stride)] = hi.w; } }
// The four neighbours' sums: l0..l3, h0..h3 += v_j · (wl, wh).
#define FMA4(v0, v1, v2, v3, wl, wh) { \
	l0 += v0 * wl; h0 += v0 * wh; l1 += v1 * wl; h1 += v1 * wh; \
	l2 += v2 * wl; h2 += v2 * wh; l3 += v3 * wl; h3 += v3 * wh; }

// x's row `row` (an index, or -1 outside) at column i, zero outside.
float xat(int row, int i)
{
	return row >= 0 && i >= 0 && i < pc.xs.z ? LDA(uint(row + i)) : 0.0;
}

void forward(uint lane)
{
	uint nb = uint(pc.ys.z + 3) / 4u;
	if (lane >= uint(pc.ys.x * pc.ys.y) * nb)
		return;
	int ow0 = int(lane % nb) * 4, oh = int(lane / nb) % pc.ys.y, od = int(lane / nb) / pc.ys.y;
	uint n = gl_WorkGroupID.z, oc0 = gl_WorkGroupID.y * TB, grp = oc0 / pc.og;
	uint kvol = vol(pc.ks), wstride = pc.cg * kvol;
	vec4 l0 = vec4(0.0), l1 = l0, l2 = l0, l3 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0;
	for (uint c = 0u; c < pc.cg; c++) {
		int xc = int(pc.offa + (n * pc.c + grp * pc.cg + c) * vol(pc.xs));
		uint wc = pc.offb + (oc0 * pc.cg + c) * kvol;
		for (int u = 0; u < pc.ks.x; u++) {
			int id = od * pc.st.x - pc.pd.x + u * pc.dl.x;
			for (int v = 0; v < pc.ks.y; v++) {
				int ih = oh * pc.st.y - pc.pd.y + v * pc.dl.y;
				/* rows in the padding add nothing: skip their taps */
				if (id < 0 || id >= pc.xs.x || ih < 0 || ih >= pc.xs.y)
					continue;
				int row = xc + (id * pc.xs.y + ih) * pc.xs.z;
				uint tap = uint((u * pc.ks.y + v) * pc.ks.z);
				for (int w = 0; w < pc.ks.z; w++, tap++) {
					int iw = ow0 * pc.st.z - pc.pd.z + w * pc.dl.z;
					float x0 = xat(row, iw), x1 = xat(row, iw + pc.st.z);
					float x2 = xat(row, iw + 2 * pc.st.z), x3 = xat(row, iw + 3 * pc.st.z);
					vec4 wl, wh;
					LOAD8(LDB, wc + tap, wstride, wl, wh);
					FMA4(x0, x1, x2, x3, wl, wh);
				}
			}
		}
	}
	uint at = pc.offy + (n * pc.o + oc0) * vol(pc.ys) + uint((od * pc.ys.y + oh) * pc.ys.z + ow0);
	uint vy = vol(pc.ys);
	STORE8(y, at, vy, l0, h0);
	if (ow0 + 1 < pc.ys.z)
		STORE8(y, at + 1u, vy, l1, h1);
	if (ow0 + 2 < pc.ys.z)
		STORE8(y, at + 2u, vy, l2, h2);
	if (ow0 + 3 < pc.ys.z)
		STORE8(y, at + 3u, vy, l3, h3);
}

// The output position that reads input position x at tap u on one axis,
// or -1.
int reader(int x, int u, int s, int p, int d, int lim)
{
	int t = x + p - u * d;
	/* No integer division: lavapipe does it lane by lane.  The float
	 * quotient rounded is t/s whenever s divides t (t < 2^23), which
	 * q·s == t then checks. */
	int q = s == 1 ? t : int(float(t) / float(s) + 0.5);
	return t >= 0 && q * s == t && q < lim ? q : -1;
}

// dy's row `row` (or -1) at the column reading input column iw at tap w.
float dyat(int row, int iw, int w)
{
	int ow = reader(iw, w, pc.st.z, pc.pd.z, pc.dl.z, pc.ys.z);
	return row >= 0 && ow >= 0 ? LDA(uint(row + ow)) : 0.0;
}

// Row r of an axis of n rows in phase-major order (the rows ≡ 0 mod s,
// then those ≡ 1...): with a stride, neighbouring invocations then take
// rows of one phase, which the same taps reach, and skip the others
// together instead of idling half of each SIMD vector.
int phase_major(int r, int s, int n)
{
	int ph = 0;
	for (int cnt = (n + s - 1) / s; r >= cnt && ph < s - 1; cnt = (n - ph + s - 1) / s) {
		r -= cnt;
		ph++;
	}
	return ph + r * s;
}

void backward_data(uint lane)
{
	uint nb = uint(pc.xs.z + 3) / 4u;
	if (lane >= uint(pc.xs.x * pc.xs.y) * nb)
		return;
	int iw0 = int(lane % nb) * 4;
	int ih = phase_major(int(lane / nb) % pc.xs.y, pc.st.y, pc.xs.y);
	int id = phase_major(int(lane / nb) / pc.xs.y, pc.st.x, pc.xs.x);
	uint n = gl_WorkGroupID.z, c0 = gl_WorkGroupID.y * TB;
	uint grp = c0 / pc.cg, cl0 = c0 % pc.cg, kvol = vol(pc.ks);
	vec4 l0 = vec4(0.0), l1 = l0, l2 = l0, l3 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0;
	for (uint ol = 0u; ol < pc.og; ol++) {
		uint oc = grp * pc.og + ol;
		int ybase = int(pc.offa + (n * pc.o + oc) * vol(pc.ys));
		uint wbase = pc.offb + (oc * pc.cg + cl0) * kvol;
		for (int u = 0; u < pc.ks.x; u++) {
			int od = reader(id, u, pc.st.x, pc.pd.x, pc.dl.x, pc.ys.x);
			for (int v = 0; v < pc.ks.y; v++) {
				int oh = reader(ih, v, pc.st.y, pc.pd.y, pc.dl.y, pc.ys.y);
				/* rows no output reads (a stride's other phases) add
				 * nothing: skip their taps */
				if (od < 0 || oh < 0)
					continue;
				int row = ybase + (od * pc.ys.y + oh) * pc.ys.z;
				uint tap = uint((u * pc.ks.y + v) * pc.ks.z);
				for (int w = 0; w < pc.ks.z; w++, tap++) {
					float d0 = dyat(row, iw0, w), d1 = dyat(row, iw0 + 1, w);
					float d2 = dyat(row, iw0 + 2, w), d3 = dyat(row, iw0 + 3, w);
					vec4 wl, wh;
					LOAD8(LDB, wbase + tap, kvol, wl, wh);
					FMA4(d0, d1, d2, d3, wl, wh);
				}
			}
		}
	}
	uint at = pc.offy + (n * pc.c + c0) * vol(pc.xs) + uint((id * pc.xs.y + ih) * pc.xs.z + iw0);
	uint vx = vol(pc.xs);
	STORE8(y, at, vx, l0, h0);
	if (iw0 + 1 < pc.xs.z)
		STORE8(y, at + 1u, vx, l1, h1);
	if (iw0 + 2 < pc.xs.z)
		STORE8(y, at + 2u, vx, l2, h2);
	if (iw0 + 3 < pc.xs.z)
		STORE8(y, at + 3u, vx, l3, h3);
}

void backward_filter(uint lane)
{
	uint nb = uint(pc.ks.z + 3) / 4u;
	if (lane >= pc.cg * uint(pc.ks.x * pc.ks.y) * nb)
		return;
	int w0 = int(lane % nb) * 4;
	uint q = lane / nb;
	int v = int(q % uint(pc.ks.y)), u = int(q / uint(pc.ks.y)) % pc.ks.x;
	uint cl = q / uint(pc.ks.y * pc.ks.x);
	uint oc0 = gl_WorkGroupID.y * TB, grp = oc0 / pc.og, vy = vol(pc.ys);
	vec4 l0 = vec4(0.0), l1 = l0, l2 = l0, l3 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0;
	for (uint n = 0u; n < pc.n; n++) {
		int xc = int(pc.offa + (n * pc.c + grp * pc.cg + cl) * vol(pc.xs));
		uint yb = pc.offb + (n * pc.o + oc0) * vy, p = 0u;
		for (int od = 0; od < pc.ys.x; od++) {
			int id = od * pc.st.x - pc.pd.x + u * pc.dl.x;
			for (int oh = 0; oh < pc.ys.y; oh++) {
				int ih = oh * pc.st.y - pc.pd.y + v * pc.dl.y;
				bool in_row = id >= 0 && id < pc.xs.x && ih >= 0 && ih < pc.xs.y;
				int row = in_row ? xc + (id * pc.xs.y + ih) * pc.xs.z : -1;
				for (int ow = 0; ow < pc.ys.z; ow++, p++) {
					int iw = ow * pc.st.z - pc.pd.z + w0 * pc.dl.z;
					/* taps past KW read zeros: their sums are not stored */
					float x0 = xat(row, iw), x1 = w0 + 1 < pc.ks.z ? xat(row, iw + pc.dl.z) : 0.0;
					float x2 = w0 + 2 < pc.ks.z ? xat(row, iw + 2 * pc.dl.z) : 0.0;
					float x3 = w0 + 3 < pc.ks.z ? xat(row, iw + 3 * pc.dl.z) : 0.0;
					vec4 dl, dh;
					LOAD8(LDB, yb + p, vy, dl, dh);
					FMA4(x0, x1, x2, x3, dl, dh);
				}
			}
		}
	}
	uint kvol = vol(pc.ks), ws = pc.cg * kvol;
	uint at = pc.offy + (oc0 * pc.cg + cl) * kvol + uint((u * pc.ks.y + v) * pc.ks.z + w0);
	STORE8(y, at, ws, l0, h0);
	if (w0 + 1 < pc.ks.z)
		STORE8(y, at + 1u, ws, l1, h1);
	if (w0 + 2 < pc.ks.z)
		STORE8(y, at + 2u, ws, l2, h2);
	if (w0 + 3 < pc.ks.z)
		STORE8(y, at + 3u, ws, l3, h3);
}

void main()
{
	uint lane = gl_GlobalInvocationID.x;
	if (MODE == DG_CONV_FWD)
		forward(lane);
	else if (MODE == DG_CONV_BWD_DATA)
		backward_data(lane);
	else
		backward_filter(lane);
}
