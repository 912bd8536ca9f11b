// gemm.glsl — the body of the register-blocked GEMM and implicit-GEMM
// convolutions, included by gemm_texel.comp (operands through texel
// buffers) and gemm_storage.comp (through storage buffers).  The includer
// defines LDA(i) and LDB(i), loads of float i of operand A / B, and
// LDA4(i), LDB4(i), loads of their vec4 i.
//
//   C[z][i][j] = act(Σ_k A(i,k)·B(k,j) + bias),  i < M, j < N, k < K
//
// MODE 0 matmul: A = op(a) M×K, B = op(b) K×N (TA, TB transpose), batch z
//   (strides stra, strb, strc; strb 0 for a shared b), bias per column.
// MODE 1 conv forward, per image z: A = w as O×(C·KH·KW), B = im2col(x)
//   (C·KH·KW)×(OH·OW), C = y[z] as O×(OH·OW), bias per row (channel).
// MODE 2 conv backward-data, per image z and output phase (h mod s,
//   w mod s): A(c, (o,u,v)) = w[o,c,u,v], B((o,u,v), (h,w)) = dy[z,o,i,j]
//   where h = i·s-P+u·D, w = j·s-P+v·D, over the taps that reach the
//   phase; C = the phase's pixels of dx[z] (C × its pixels).
// MODE 3 conv backward-filter: A(o, (n,i,j)) = dy[n,o,i,j],
//   B((n,i,j), (c,u,v)) = x[n,c,i·s-P+u·D, j·s-P+v·D], C = dw as O×(C·KH·KW).
// MODE 4 convolution over channels-last copies, vec4 along channels: A =
//   rows of [tap][channel quad], B(k, j) = images padded with zero borders
//   (NHWC, channels padded to 4: shaders/conv_layout.comp made both),
//   column j = (image, pixel of the column grid), no batch (z = 0).  The
//   forward (A = w, B = x), backward-data per output phase (A = w by input
//   channel, B = dy) and backward-filter (a convolution whose channels are
//   the images: A = dy by output channel, B = x by input channel, the
//   columns (c, u, v) of dw) are all of this form.
//
// Layout: a workgroup is WGM×WGN invocations; invocation (x, y) owns the
// TM×TN block of C at rows (group.y·WGM + x)·TM, columns (group.x·WGN +
// y)·TN.  Invocations next to each other in x (one SIMD vector on a CPU
// driver) share their columns, so their B loads are at the same address,
// and each holds TM·TN accumulators that every loaded value is used for:
// that ratio of FMAs to loads is what makes it fast on lavapipe, where a
// load whose address differs per invocation costs a scalar loop over the
// SIMD lanes (shared memory would add such loads, so there is none).  Rows
// and columns past M, N are clamped to the last one (computed, not
// stored), so the k loop has no edge branches.  No integer division
// happens per k (x86 has no vector one): backward-data runs one dispatch
// per output phase instead of testing which taps divide.  MODE 4 is the
// fast convolution: its loop is the vec4 matmul's, with one address per
// column computed before the k loop and one offset per tap.
#include "vk/kernel_codes.h"   // MODE 0-4: DG_GEMM_*; ACT: DG_EPI_*
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 0) const uint WGM = 8;
layout(constant_id = 1) const uint WGN = 2;
layout(constant_id = 2) const uint TM = 8;
layout(constant_id = 3) const uint TN = 12;
layout(constant_id = 4) const uint MODE = 0;
layout(constant_id = 5) const bool TA = false;
layout(constant_id = 6) const bool TB = false;
layout(constant_id = 7) const bool VEC4 = false;
// The epilogue: ACT (enum dg_act) and BIAS are constants because a CPU
// driver runs every case of a switch under a lane mask (all the exp and
// tanh of every activation, per element) unless it is resolved here.
layout(constant_id = 8) const uint ACT = 0;
layout(constant_id = 9) const bool BIAS = false;
// OUT4: every four columns from a multiple of 4 are stored at consecutive,
// 16-byte aligned places (the recorder checks): vec4 stores, a quarter of
// the per-lane store loops a CPU driver runs.
layout(constant_id = 10) const bool OUT4 = false;
// TC: the matmul computed is Cᵀ (the recorder swapped A and B), stored
// transposed: element (i, j) at j·M + i.
layout(constant_id = 11) const bool TC = false;

layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer Out { float c[]; };
layout(std430, binding = 3) writeonly buffer Out4 { vec4 c4[]; };
layout(push_constant) uniform Push {
	uint m, n, k, pad0;
	uint offa, offb, offbias, offc;   // in floats
	uint stra, strb, strc;      // batch strides in floats
	float alpha;
	// convolutions, per mode (unpacked by name where they are used):
	// MODE 1-3: input channels, input and output sides, kernel, padding
	//   above | left << 16, dilation, output channels, stride; for backward-data, per phase:
	//   the phase (h mod s) | (w mod s) << 16, the phase grid's width, the
	//   taps u0 | nu << 10 | ustep << 20 and the dy-row offset qh0 - t·dqh
	//   of tap t, the same for columns.
	// MODE 4: see its block.
	int e[20];
} pc;

// MODE 1-3's parameters by name.
#define cv_ci pc.e[0]
#define cv_h pc.e[1]
#define cv_w pc.e[2]
#define cv_oh pc.e[3]
#define cv_ow pc.e[4]
#define cv_kh pc.e[5]
#define cv_kw pc.e[6]
#define cv_ph (pc.e[7] & 0xffff)
#define cv_pw (pc.e[7] >> 16)
#define cv_d pc.e[8]
#define cv_co pc.e[9]
#define cv_s pc.e[10]
#define cv_phase pc.e[11]
#define cv_wp pc.e[12]
#define cv_tapu pc.e[13]
#define cv_qh0 pc.e[14]
#define cv_dqh pc.e[15]
#define cv_tapv pc.e[16]
#define cv_qw0 pc.e[17]
#define cv_dqw pc.e[18]

float act(float s)
{
	switch (ACT) {
	case DG_EPI_RELU: return max(s, 0.0);
	case DG_EPI_LEAKY_RELU: return s > 0 ? s : pc.alpha * s;
	case DG_EPI_ELU: return s > 0 ? s : pc.alpha * (exp(s) - 1);
	case DG_EPI_TANH: return tanh(clamp(s, -15.0, 15.0));   // exp(2s) overflows past 44
	case DG_EPI_SIGMOID: return s >= 0 ? 1 / (1 + exp(-s)) : exp(s) / (1 + exp(s));
	case DG_EPI_SOFTPLUS: return max(s, 0.0) + log(1 + exp(-abs(s)));   // softplus, overflow-free
	}
	return s;
}

// One vec4 step of k in the vec4 modes: av[t][r], bv[t][q] hold A(row
// r, k+t) and B(k+t, column q).  Rows' (columns') four k from one fetch
// along k at vec4 index IDX (an expression of r or q), or, for an operand
// whose vec4 runs along the block's rows (columns), fetch IDX of (t, r/4)
// or (t, q/4).  Then every accumulator adds its four products, k
// ascending, as the scalar loops do.
#define LOAD_A_K(IDX) \
	for (uint r = 0; r < TM; r++) { \
		vec4 v_ = LDA4(IDX); \
		av[0][r] = v_.x, av[1][r] = v_.y, av[2][r] = v_.z, av[3][r] = v_.w; \
	}
#define LOAD_B_K(IDX) \
	for (uint q = 0; q < TN; q++) { \
		vec4 v_ = LDB4(IDX); \
		bv[0][q] = v_.x, bv[1][q] = v_.y, bv[2][q] = v_.z, bv[3][q] = v_.w; \
	}
#define LOAD_B_N(IDX) \
	for (uint t = 0; t < 4; t++) \
		for (uint q = 0; q < TN / 4; q++) { \
			vec4 v_ = LDB4(IDX); \
			bv[t][4 * q] = v_.x, bv[t][4 * q + 1] = v_.y; \
			bv[t][4 * q + 2] = v_.z, bv[t][4 * q + 3] = v_.w; \
		}
#define FMA4() \
	for (uint r = 0; r < TM; r++) \
		for (uint q = 0; q < TN; q++) { \
			float s_ = acc[r][q]; \
			for (uint t = 0; t < 4; t++) \
				s_ = fma(av[t][r], bv[t][q], s_); \
			acc[r][q] = s_; \
		}

void main()
{
	const uint i0 = (gl_WorkGroupID.y * WGM + gl_LocalInvocationID.x) * TM;
	const uint j0 = (gl_WorkGroupID.x * WGN + gl_LocalInvocationID.y) * TN;
	const uint z = gl_WorkGroupID.z;
	// No early exit for the rows and columns past M, N: they are clamped
	// (computed, not stored), which keeps every lane active through the
	// loops — on a CPU driver a lane that has left makes each later store
	// to a local variable a blend under the execution mask.
	float acc[TM][TN];
	for (uint r = 0; r < TM; r++)
		for (uint q = 0; q < TN; q++)
			acc[r][q] = 0;
	uint ra[TM];       // per row: where A(row, 0) is
	for (uint r = 0; r < TM; r++) {
		uint i = min(i0 + r, pc.m - 1);
		ra[r] = pc.offa + z * pc.stra +
			(MODE == DG_GEMM_BWD_DATA ? i * uint(cv_kh * cv_kw) :
			 MODE == DG_GEMM_BWD_FILTER ? i * uint(cv_oh * cv_ow) : TA ? i : i * pc.k);
	}
	if (MODE == DG_GEMM_MATMUL && VEC4) {
		// A and B as vec4 texels: one fetch brings four floats, along k
		// for an operand stored k-contiguous (A, Bᵀ), else along the
		// block's rows or columns (Aᵀ, B: TM, TN multiples of 4).  The
		// recorder picks this only when K, the contiguous sides and the
		// offsets are multiples of 4; k advances four at a time.
		const uint m4 = pc.m / 4, n4 = pc.n / 4, kq4 = pc.k / 4;
		uint qa[TM], qb[TN];   // vec4 index of each row's / column's start
		for (uint r = 0; r < TM; r++)
			qa[r] = TA ? pc.offa / 4 + z * (pc.stra / 4) + min(i0 / 4 + r, m4 - 1)
				   : ra[r] / 4;
		for (uint q = 0; q < TN; q++) {
			uint j = min(j0 + q, pc.n - 1);
			qb[q] = pc.offb / 4 + z * (pc.strb / 4) +
				(TB ? j * kq4 : min(j0 / 4 + q, n4 - 1));
		}
		for (uint kq = 0; kq < kq4; kq++) {
			float av[4][TM], bv[4][TN];
			if (!TA) {
				LOAD_A_K(qa[r] + kq)
			} else {
				for (uint t = 0; t < 4; t++)
					for (uint r = 0; r < TM / 4; r++) {
						vec4 v = LDA4(qa[r] + (4 * kq + t) * m4);
						av[t][4 * r] = v.x, av[t][4 * r + 1] = v.y;
						av[t][4 * r + 2] = v.z, av[t][4 * r + 3] = v.w;
					}
			}
			if (TB) {
				LOAD_B_K(qb[q] + kq)
			} else {
				LOAD_B_N(qb[q] + (4 * kq + t) * n4)
			}
			FMA4()
		}
	} else if (MODE == DG_GEMM_CONV_VEC4) {
		// e: channel quads CQ of the k side, the padded image's width and
		// size in pixels, A's row stride (vec4s), KW, the taps u0 | nu <<
		// 10 | ustep << 20 and those of v, tap (tu, tv)'s pixel in B
		// relative to a column's
		// corner: row bh0 + tu·bhs, column bw0 + tv·bws; the column grid's
		// width and size (pixels per image), the corner step cs (pixel
		// (r, c) of the grid starts at padded (r·cs, c·cs)); then the
		// epilogue's (below).  A row is [KH·KW][CQ] vec4s.
		const int cq = pc.e[0], wpad = pc.e[1], hwpad = pc.e[2], kw = pc.e[4];
		const int u0 = pc.e[5] & 1023, nu = (pc.e[5] >> 10) & 1023, us = pc.e[5] >> 20;
		const int v0 = pc.e[6] & 1023, nv = (pc.e[6] >> 10) & 1023, vs = pc.e[6] >> 20;
		const int bh0 = pc.e[7], bhs = pc.e[8], bw0 = pc.e[9], bws = pc.e[10];
		const int gw = pc.e[11], gp = pc.e[12], cs = pc.e[13];
		uint qa[TM], qb[TN];
		for (uint r = 0; r < TM; r++)
			qa[r] = pc.offa / 4 + min(i0 + r, pc.m - 1) * uint(pc.e[3]);
		for (uint q = 0; q < TN; q++) {
			int j = int(min(j0 + q, pc.n - 1)), img = j / gp, pix = j - img * gp;
			int pr = pix / gw, pcl = pix - pr * gw;
			qb[q] = pc.offb / 4 + uint((img * hwpad + (pr * wpad + pcl) * cs) * cq);
		}
		for (int tu = 0; tu < nu; tu++)
			for (int tv = 0; tv < nv; tv++) {
				uint ka = uint(((u0 + tu * us) * kw + v0 + tv * vs) * cq);
				uint kb = uint(((bh0 + tu * bhs) * wpad + bw0 + tv * bws) * cq);
				for (uint c = 0; c < uint(cq); c++) {
					float av[4][TM], bv[4][TN];
					LOAD_A_K(qa[r] + ka + c)
					LOAD_B_K(qb[q] + kb + c)
					FMA4()
				}
			}
	} else if (MODE == DG_GEMM_MATMUL) {
		uint cb[TN];
		for (uint q = 0; q < TN; q++) {
			uint j = min(j0 + q, pc.n - 1);
			cb[q] = pc.offb + z * pc.strb + (TB ? j * pc.k : j);
		}
		const uint sa = TA ? pc.m : 1, sb = TB ? 1 : pc.n;
		for (uint kk = 0; kk < pc.k; kk++) {
			float av[TM], bv[TN];
			for (uint r = 0; r < TM; r++)
				av[r] = LDA(ra[r] + kk * sa);
			for (uint q = 0; q < TN; q++)
				bv[q] = LDB(cb[q] + kk * sb);
			for (uint r = 0; r < TM; r++)
				for (uint q = 0; q < TN; q++)
					acc[r][q] = fma(av[r], bv[q], acc[r][q]);
		}
	} else if (MODE == DG_GEMM_CONV) {
		int hb[TN], wb[TN];   // per column: the input corner (oh·s-ph, ow·s-pw)
		for (uint q = 0; q < TN; q++) {
			int j = int(min(j0 + q, pc.n - 1));
			hb[q] = (j / cv_ow) * cv_s - cv_ph;
			wb[q] = (j % cv_ow) * cv_s - cv_pw;
		}
		uint xb = pc.offb + z * uint(cv_ci * cv_h * cv_w), kk = 0;
		for (int ch = 0; ch < cv_ci; ch++, xb += uint(cv_h * cv_w))
			for (int u = 0; u < cv_kh; u++)
				for (int v = 0; v < cv_kw; v++, kk++) {
					float av[TM], bv[TN];
					for (uint r = 0; r < TM; r++)
						av[r] = LDA(ra[r] + kk);
					for (uint q = 0; q < TN; q++) {
						int hh = hb[q] + u * cv_d, ww = wb[q] + v * cv_d;
						bool ok = hh >= 0 && hh < cv_h && ww >= 0 && ww < cv_w;
						float x = LDB(ok ? xb + uint(hh * cv_w + ww) : xb);
						bv[q] = ok ? x : 0.0;
					}
					for (uint r = 0; r < TM; r++)
						for (uint q = 0; q < TN; q++)
							acc[r][q] = fma(av[r], bv[q], acc[r][q]);
				}
	} else if (MODE == DG_GEMM_BWD_DATA) {
		// One dispatch per output phase (h mod s, w mod s): only the taps
		// (u, v) with u·D ≡ h+ph (mod s) reach such a pixel, so they are
		// enumerated directly (u0 + t·ustep, nu of them, i = hs + qh0 -
		// t·dqh) instead of testing all KH·KW with a division each.
		int hs[TN], ws[TN];   // per column: its place on the phase's grid
		for (uint q = 0; q < TN; q++) {
			int j = int(min(j0 + q, pc.n - 1));
			hs[q] = j / cv_wp;
			ws[q] = j % cv_wp;
		}
		const int u0 = cv_tapu & 1023, nu = (cv_tapu >> 10) & 1023, us = cv_tapu >> 20;
		const int v0 = cv_tapv & 1023, nv = (cv_tapv >> 10) & 1023, vs = cv_tapv >> 20;
		uint yb = pc.offb + z * uint(cv_co * cv_oh * cv_ow);
		const uint wstep = uint(cv_ci * cv_kh * cv_kw);   // A: next o
		for (int o = 0; o < cv_co; o++, yb += uint(cv_oh * cv_ow))
			for (int tu = 0; tu < nu; tu++)
				for (int tv = 0; tv < nv; tv++) {
					float av[TM], bv[TN];
					int u = u0 + tu * us, v = v0 + tv * vs;
					int di = cv_qh0 - tu * cv_dqh, dj = cv_qw0 - tv * cv_dqw;
					uint ka = uint(o) * wstep + uint(u * cv_kw + v);
					for (uint r = 0; r < TM; r++)
						av[r] = LDA(ra[r] + ka);
					for (uint q = 0; q < TN; q++) {
						int i = hs[q] + di, jj = ws[q] + dj;
						bool ok = i >= 0 && jj >= 0 && i < cv_oh && jj < cv_ow;
						float y = LDB(ok ? yb + uint(i * cv_ow + jj) : yb);
						bv[q] = ok ? y : 0.0;
					}
					for (uint r = 0; r < TM; r++)
						for (uint q = 0; q < TN; q++)
							acc[r][q] = fma(av[r], bv[q], acc[r][q]);
				}
	} else {
		int cb[TN], uo[TN], vo[TN];   // per column (c,u,v): c·H·W, u·D-ph, v·D-pw
		const int khw = cv_kh * cv_kw;
		for (uint q = 0; q < TN; q++) {
			int j = int(min(j0 + q, pc.n - 1)), uv = j % khw;
			cb[q] = (j / khw) * cv_h * cv_w;
			uo[q] = (uv / cv_kw) * cv_d - cv_ph;
			vo[q] = (uv % cv_kw) * cv_d - cv_pw;
		}
		const uint nimg = pc.k / uint(cv_oh * cv_ow);
		uint xb = pc.offb, ka = 0;
		for (uint nn = 0; nn < nimg; nn++, xb += uint(cv_ci * cv_h * cv_w)) {
			for (int i = 0; i < cv_oh; i++)
				for (int jj = 0; jj < cv_ow; jj++, ka++) {
					float av[TM], bv[TN];
					for (uint r = 0; r < TM; r++)
						av[r] = LDA(ra[r] + nn * uint(cv_co * cv_oh * cv_ow) +
							   uint(i * cv_ow + jj));
					for (uint q = 0; q < TN; q++) {
						int hh = i * cv_s + uo[q], ww = jj * cv_s + vo[q];
						bool ok = hh >= 0 && hh < cv_h && ww >= 0 && ww < cv_w;
						float x = LDB(ok ? xb + uint(cb[q] + hh * cv_w + ww) : xb);
						bv[q] = ok ? x : 0.0;
					}
					for (uint r = 0; r < TM; r++)
						for (uint q = 0; q < TN; q++)
							acc[r][q] = fma(av[r], bv[q], acc[r][q]);
				}
		}
	}
	// The epilogue: bias per column (matmul) or per row (conv forward),
	// the activation, and the stores of the rows and columns that exist.
	const uint cz = pc.offc + z * pc.strc;
	// Where row i, column j is stored: cz + i·rs + cs[j], column j being
	// j of the row (or of the transposed row: TC), or a pixel of an output
	// plane (backward-data's phase, MODE 4's image and pixel).
	uint rs = pc.n;
	uint cs[TN];
	bool keep[TN];
	for (uint q = 0; q < TN; q++) {
		uint j = j0 + q;
		keep[q] = j < pc.n;
		cs[q] = j;
		if (TC) {
			rs = 1;
			cs[q] = j * pc.m;
		} else if (MODE == DG_GEMM_BWD_DATA) {
			rs = uint(cv_h * cv_w);
			cs[q] = uint(((int(j) / cv_wp) * cv_s + (cv_phase & 65535)) * cv_w +
				     (int(j) % cv_wp) * cv_s + (cv_phase >> 16));
		} else if (MODE == DG_GEMM_CONV_VEC4) {
			// e: output step so, phase ph | pw << 16, output width,
			// plane (and strc: an image's output)
			const int gw = pc.e[11], gp = pc.e[12], so = pc.e[14];
			int jc = int(min(j, pc.n - 1)), img = jc / gp, pix = jc - img * gp;
			int pr = pix / gw, pcl = pix - pr * gw;
			rs = uint(pc.e[17]);
			cs[q] = uint(img) * pc.strc + uint((pr * so + (pc.e[15] & 65535)) * pc.e[16] +
							   pcl * so + (pc.e[15] >> 16));
		}
	}
	for (uint r = 0; r < TM; r++) {
		uint i = i0 + r;
		if (i >= pc.m)
			continue;
		float rb = BIAS && (MODE == DG_GEMM_CONV || MODE == DG_GEMM_CONV_VEC4) ?
				   bias[pc.offbias + i] : 0.0;
		float v[TN];
		for (uint q = 0; q < TN; q++) {
			float s = acc[r][q] + rb;
			if (BIAS && MODE == DG_GEMM_MATMUL)
				s += bias[pc.offbias + min(j0 + q, pc.n - 1)];
			v[q] = act(s);
		}
		for (uint q4 = 0; q4 < (TN + 3) / 4; q4++) {
			uint q = 4 * q4;
			if (OUT4 && q + 3 < TN && keep[q + 3]) {
				c4[(cz + i * rs + cs[q]) / 4] = vec4(v[q], v[q + 1], v[q + 2], v[q + 3]);
			} else {
				for (uint e = 0; e < 4; e++)
					if (q + e < TN && keep[q + e])
						c[cz + i * rs + cs[q + e]] = v[q + e];
			}
		}
	}
}
