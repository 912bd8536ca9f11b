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
// per output phase instead of testing which taps divide.
#include "vk/kernel_codes.h"   // MODE 0-3: DG_GEMM_*; ACT: DG_EPI_*
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

layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer Out { float c[]; };
layout(push_constant) uniform Push {
	uint m, n, k, pad0;
	uint offa, offb, offbias, offc;   // in floats
	uint stra, strb, strc;      // batch strides in floats
	float alpha;
	// convolutions: input channels, input and output sides, kernel,
	// padding, dilation, output channels, stride
	int ci, h, w, oh, ow, kh, kw, p, d, co, s;
	// backward-data, per phase: the phase (h mod s) | (w mod s) << 16, the
	// phase grid's width, the taps u0 | nu << 10 | ustep << 20 and the
	// dy-row offset qh0 - t·dqh of tap t, the same for columns
	int phase, wp, tapu, qh0, dqh, tapv, qw0, dqw;
} pc;

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

void main()
{
	const uint i0 = (gl_WorkGroupID.y * WGM + gl_LocalInvocationID.x) * TM;
	const uint j0 = (gl_WorkGroupID.x * WGN + gl_LocalInvocationID.y) * TN;
	const uint z = gl_WorkGroupID.z;
	if (i0 >= pc.m || j0 >= pc.n)
		return;
	float acc[TM][TN];
	for (uint r = 0; r < TM; r++)
		for (uint q = 0; q < TN; q++)
			acc[r][q] = 0;
	uint ra[TM];       // per row: where A(row, 0) is
	for (uint r = 0; r < TM; r++) {
		uint i = min(i0 + r, pc.m - 1);
		ra[r] = pc.offa + z * pc.stra +
			(MODE == DG_GEMM_BWD_DATA ? i * uint(pc.kh * pc.kw) :
			 MODE == DG_GEMM_BWD_FILTER ? i * uint(pc.oh * pc.ow) : TA ? i : i * pc.k);
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
				for (uint r = 0; r < TM; r++) {
					vec4 v = LDA4(qa[r] + kq);
					av[0][r] = v.x, av[1][r] = v.y, av[2][r] = v.z, av[3][r] = v.w;
				}
			} else {
				for (uint t = 0; t < 4; t++)
					for (uint r = 0; r < TM / 4; r++) {
						vec4 v = LDA4(qa[r] + (4 * kq + t) * m4);
						av[t][4 * r] = v.x, av[t][4 * r + 1] = v.y;
						av[t][4 * r + 2] = v.z, av[t][4 * r + 3] = v.w;
					}
			}
			if (TB) {
				for (uint q = 0; q < TN; q++) {
					vec4 v = LDB4(qb[q] + kq);
					bv[0][q] = v.x, bv[1][q] = v.y, bv[2][q] = v.z, bv[3][q] = v.w;
				}
			} else {
				for (uint t = 0; t < 4; t++)
					for (uint q = 0; q < TN / 4; q++) {
						vec4 v = LDB4(qb[q] + (4 * kq + t) * n4);
						bv[t][4 * q] = v.x, bv[t][4 * q + 1] = v.y;
						bv[t][4 * q + 2] = v.z, bv[t][4 * q + 3] = v.w;
					}
			}
			// k ascending for every element, as in the scalar loop.
			for (uint r = 0; r < TM; r++)
				for (uint q = 0; q < TN; q++) {
					float s = acc[r][q];
					for (uint t = 0; t < 4; t++)
						s = fma(av[t][r], bv[t][q], s);
					acc[r][q] = s;
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
		int hb[TN], wb[TN];   // per column: the input corner (oh·s-P, ow·s-P)
		for (uint q = 0; q < TN; q++) {
			int j = int(min(j0 + q, pc.n - 1));
			hb[q] = (j / pc.ow) * pc.s - pc.p;
			wb[q] = (j % pc.ow) * pc.s - pc.p;
		}
		uint xb = pc.offb + z * uint(pc.ci * pc.h * pc.w), kk = 0;
		for (int ch = 0; ch < pc.ci; ch++, xb += uint(pc.h * pc.w))
			for (int u = 0; u < pc.kh; u++)
				for (int v = 0; v < pc.kw; v++, kk++) {
					float av[TM], bv[TN];
					for (uint r = 0; r < TM; r++)
						av[r] = LDA(ra[r] + kk);
					for (uint q = 0; q < TN; q++) {
						int hh = hb[q] + u * pc.d, ww = wb[q] + v * pc.d;
						bool ok = hh >= 0 && hh < pc.h && ww >= 0 && ww < pc.w;
						float x = LDB(ok ? xb + uint(hh * pc.w + ww) : xb);
						bv[q] = ok ? x : 0.0;
					}
					for (uint r = 0; r < TM; r++)
						for (uint q = 0; q < TN; q++)
							acc[r][q] = fma(av[r], bv[q], acc[r][q]);
				}
	} else if (MODE == DG_GEMM_BWD_DATA) {
		// One dispatch per output phase (h mod s, w mod s): only the taps
		// (u, v) with u·D ≡ h+P (mod s) reach such a pixel, so they are
		// enumerated directly (u0 + t·ustep, nu of them, i = hs + qh0 -
		// t·dqh) instead of testing all KH·KW with a division each.
		int hs[TN], ws[TN];   // per column: its place on the phase's grid
		for (uint q = 0; q < TN; q++) {
			int j = int(min(j0 + q, pc.n - 1));
			hs[q] = j / pc.wp;
			ws[q] = j % pc.wp;
		}
		const int u0 = pc.tapu & 1023, nu = (pc.tapu >> 10) & 1023, us = pc.tapu >> 20;
		const int v0 = pc.tapv & 1023, nv = (pc.tapv >> 10) & 1023, vs = pc.tapv >> 20;
		uint yb = pc.offb + z * uint(pc.co * pc.oh * pc.ow);
		const uint wstep = uint(pc.ci * pc.kh * pc.kw);   // A: next o
		for (int o = 0; o < pc.co; o++, yb += uint(pc.oh * pc.ow))
			for (int tu = 0; tu < nu; tu++)
				for (int tv = 0; tv < nv; tv++) {
					float av[TM], bv[TN];
					int u = u0 + tu * us, v = v0 + tv * vs;
					int di = pc.qh0 - tu * pc.dqh, dj = pc.qw0 - tv * pc.dqw;
					uint ka = uint(o) * wstep + uint(u * pc.kw + v);
					for (uint r = 0; r < TM; r++)
						av[r] = LDA(ra[r] + ka);
					for (uint q = 0; q < TN; q++) {
						int i = hs[q] + di, jj = ws[q] + dj;
						bool ok = i >= 0 && jj >= 0 && i < pc.oh && jj < pc.ow;
						float y = LDB(ok ? yb + uint(i * pc.ow + jj) : yb);
						bv[q] = ok ? y : 0.0;
					}
					for (uint r = 0; r < TM; r++)
						for (uint q = 0; q < TN; q++)
							acc[r][q] = fma(av[r], bv[q], acc[r][q]);
				}
	} else {
		int cb[TN], uo[TN], vo[TN];   // per column (c,u,v): c·H·W, u·D-P, v·D-P
		const int khw = pc.kh * pc.kw;
		for (uint q = 0; q < TN; q++) {
			int j = int(min(j0 + q, pc.n - 1)), uv = j % khw;
			cb[q] = (j / khw) * pc.h * pc.w;
			uo[q] = (uv / pc.kw) * pc.d - pc.p;
			vo[q] = (uv % pc.kw) * pc.d - pc.p;
		}
		const uint nimg = pc.k / uint(pc.oh * pc.ow);
		uint xb = pc.offb, ka = 0;
		for (uint nn = 0; nn < nimg; nn++, xb += uint(pc.ci * pc.h * pc.w)) {
			for (int i = 0; i < pc.oh; i++)
				for (int jj = 0; jj < pc.ow; jj++, ka++) {
					float av[TM], bv[TN];
					for (uint r = 0; r < TM; r++)
						av[r] = LDA(ra[r] + nn * uint(pc.co * pc.oh * pc.ow) +
							   uint(i * pc.ow + jj));
					for (uint q = 0; q < TN; q++) {
						int hh = i * pc.s + uo[q], ww = jj * pc.s + vo[q];
						bool ok = hh >= 0 && hh < pc.h && ww >= 0 && ww < pc.w;
						float x = LDB(ok ? xb + uint(cb[q] + hh * pc.w + ww) : xb);
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
	// Where column j is stored: j, or for backward-data its pixel
	// (hs·s + phase, ws·s + phase) of the H×W plane.
	const uint rs = MODE == DG_GEMM_BWD_DATA ? uint(pc.h * pc.w) : pc.n;
	uint cs[TN];
	for (uint q = 0; q < TN; q++) {
		uint j = j0 + q;
		cs[q] = MODE != DG_GEMM_BWD_DATA ? j : uint(((int(j) / pc.wp) * pc.s + (pc.phase & 65535)) * pc.w +
					     (int(j) % pc.wp) * pc.s + (pc.phase >> 16));
	}
	for (uint r = 0; r < TM; r++) {
		uint i = i0 + r;
		if (i >= pc.m)
			break;
		float rb = BIAS && MODE == DG_GEMM_CONV ? bias[pc.offbias + i] : 0.0;
		for (uint q = 0; q < TN; q++) {
			uint j = j0 + q;
			if (j >= pc.n)
				break;
			float s = acc[r][q] + rb;
			if (BIAS && MODE == DG_GEMM_MATMUL)
				s += bias[pc.offbias + j];
			c[cz + i * rs + cs[q]] = act(s);
		}
	}
}
