#version 450
// graph_index.comp — ops driven by integer indices on the vulkan backend.
// IDX (constant 1) is the index tensor's type: 0 f32 (rounded to nearest
// even; non-finite is invalid, as the cpu's lrintf), 1 i32.  MODE
// (constant 0, DG_INDEX_* of libcore/vk/kernel_codes.h), with rows of d
// elements and indices bounded by v:
//   GATHER        y[s,j] = x[idx[s], j]               (per output element)
//   SCATTER       y[r,j] = Σ_{s: idx[s] = r} x[s,j], s ascending (per
//                 output element: V·D invocations each reading all S
//                 indices)
//   SCATTER_COLS  the same, one invocation per column j owning y[·, j]
//                 (S·D work, for large V); both add in the cpu's order
//   ONE_HOT       y[s,k] = idx[s] == k                (per output element)
//   PICK          y[s] = x[s, idx[s]]                 (per s)
//   PLACE         y[s,k] = idx[s] == k ? x[s] : 0      (per output element)
// An index outside 0..v-1 (SCATTER skips them, as on the cpu) writes 0
// and lowers the step's status word to this call's number (atomicMin:
// integer, so the result is the same every run), which the host reports.
#include "vk/kernel_codes.h"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;
layout(constant_id = 1) const uint IDX = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer I { uint idx[]; };
layout(std430, binding = 2) buffer Y { float y[]; };   // mode 2 reads its sums back
layout(std430, binding = 3) buffer P { uint params[]; };
layout(push_constant) uniform Push {
	uint n, offx, offi, offy;
	uint d, v, s, call;
} pc;

// The index at s, or -1 when invalid (outside 0..v-1 or not finite).
int index_at(uint s)
{
	uint w = idx[pc.offi + s];
	if (IDX == 1u) {
		int r = int(w);
		return r >= 0 && uint(r) < pc.v ? r : -1;
	}
	float f = uintBitsToFloat(w);
	if (isnan(f) || isinf(f))
		return -1;
	f = roundEven(f);
	return f >= 0.0 && f < float(pc.v) ? int(f) : -1;
}

void bad()
{
	atomicMin(params[DG_VKP_STATUS], pc.call);
}

void main()
{
	uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 64u;
	if (i >= pc.n)
		return;
	uint row = i / pc.d, col = i % pc.d;
	if (MODE == DG_INDEX_GATHER) {
		int r = index_at(row);
		if (r < 0 && col == 0u)
			bad();
		y[pc.offy + i] = r < 0 ? 0.0 : x[pc.offx + uint(r) * pc.d + col];
	} else if (MODE == DG_INDEX_SCATTER) {
		float acc = 0.0;
		for (uint s = 0u; s < pc.s; s++)
			if (index_at(s) == int(row))
				acc += x[pc.offx + s * pc.d + col];
		y[pc.offy + i] = acc;
	} else if (MODE == DG_INDEX_SCATTER_COLS) {
		// i is the column; this invocation alone touches y[·, i]
		for (uint r = 0u; r < pc.v; r++)
			y[pc.offy + r * pc.d + i] = 0.0;
		for (uint s = 0u; s < pc.s; s++) {
			int r = index_at(s);
			if (r >= 0) {
				uint at = pc.offy + uint(r) * pc.d + i;
				y[at] = y[at] + x[pc.offx + s * pc.d + i];
			}
		}
	} else if (MODE == DG_INDEX_PICK) {
		int r = index_at(i);
		if (r < 0)
			bad();
		y[pc.offy + i] = r < 0 ? 0.0 : x[pc.offx + i * pc.d + uint(r)];
	} else {
		int r = index_at(row);
		if (r < 0 && col == 0u)
			bad();
		float on = MODE == DG_INDEX_ONE_HOT ? 1.0 : x[pc.offx + row];
		y[pc.offy + i] = r == int(col) ? on : 0.0;
	}
}
