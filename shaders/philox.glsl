// philox.glsl — Philox4x32-10 and dg's uniform and normal floats, bit for
// bit as libcore/rng.c computes them (#include "philox.glsl"; needs
// GL_GOOGLE_include_directive, which glslc enables).
//
// Counter layout as dg/rng.h: (counter lo, counter hi, stream lo, stream
// hi), key (seed lo, seed hi).  Every float step below is one correctly
// rounded +, - or * (Vulkan requires that of them; `precise` forbids
// fusing them into fma), so results equal the host's exactly.  Keep the
// two files in step: tests/t_vk_rng.c compares them.

uvec4 dg_philox4x32_10(uvec4 c, uvec2 k)
{
	for (int round = 0; round < 10; round++) {
		uint hi0, lo0, hi1, lo1;
		umulExtended(0xD2511F53u, c.x, hi0, lo0);
		umulExtended(0xCD9E8D57u, c.z, hi1, lo1);
		c = uvec4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
		k += uvec2(0x9E3779B9u, 0xBB67AE85u);
	}
	return c;
}

// Block counter + add of (seed, stream); 64-bit values as uvec2 (lo, hi).
// The counter wraps within its 64 bits, as on the host.
uvec4 dg_rng_block(uvec2 seed, uvec2 stream, uvec2 counter, uint add)
{
	uint lo, carry;
	lo = uaddCarry(counter.x, add, carry);
	return dg_philox4x32_10(uvec4(lo, counter.y + carry, stream), seed);
}

float dg_rng_u01(uint w)
{
	return float(w >> 9) * uintBitsToFloat(0x34000000u) + uintBitsToFloat(0x33800000u);
}

float dg_rng_recip_(float d)
{
	precise float y = uintBitsToFloat(0x3f7e19b9u) - uintBitsToFloat(0x3e78769fu) * d;
	for (int i = 0; i < 3; i++)
		y = y * (2.0 - d * y);
	return y;
}

float dg_rng_minus_two_log_(uint m1)
{
	int e = findMSB(m1);
	precise float m = float(m1) * uintBitsToFloat(uint(127 - e) << 23);
	if (m > uintBitsToFloat(0x3fb504f3u)) {
		m = m * 0.5;
		e = e + 1;
	}
	precise float s = (m - 1.0) * dg_rng_recip_(m + 1.0);
	precise float z = s * s;
	precise float t = 2.0 * s + 2.0 * s * z * (uintBitsToFloat(0x3eaaaaabu) + z *
		(uintBitsToFloat(0x3e4ccccdu) + z * (uintBitsToFloat(0x3e124925u) +
		z * uintBitsToFloat(0x3de38e39u))));
	precise float k = float(e - 24);
	precise float r = -2.0 * (k * uintBitsToFloat(0x3f317200u) +
		(k * uintBitsToFloat(0x35bfbe8eu) + t));
	return r;
}

float dg_rng_root_(float x)
{
	precise float y = uintBitsToFloat(0x5f3759dfu - (floatBitsToUint(x) >> 1));
	precise float h = 0.5 * x;
	for (int i = 0; i < 3; i++)
		y = y * (1.5 - h * y * y);
	precise float r = x * y;
	return r;
}

// Two standard normals from two words: (r cos θ, r sin θ).
vec2 dg_rng_box_muller(uint w0, uint w1)
{
	uint m1 = ((w0 >> 9) << 1) | 1u, m2 = ((w1 >> 9) << 1) | 1u;
	precise float r = dg_rng_root_(dg_rng_minus_two_log_(m1));
	uint n = (m2 + (1u << 21)) >> 22;
	precise float y = float(int(m2) - int(n << 22)) * uintBitsToFloat(0x34800000u);
	precise float p = y * uintBitsToFloat(0x3fc90fdbu);
	precise float z = p * p;
	precise float s = p + p * z * (uintBitsToFloat(0xbe2aaaabu) + z * (uintBitsToFloat(0x3c088889u) +
		z * (uintBitsToFloat(0xb9500d01u) + z * uintBitsToFloat(0x3638ef1du))));
	precise float c = 1.0 + z * (-0.5 + z * (uintBitsToFloat(0x3d2aaaabu) + z *
		(uintBitsToFloat(0xbab60b61u) + z * (uintBitsToFloat(0x37d00d01u) +
		z * uintBitsToFloat(0xb493f27eu)))));
	vec2 cs;
	switch (n & 3u) {
	case 0u: cs = vec2(c, s); break;
	case 1u: cs = vec2(-s, c); break;
	case 2u: cs = vec2(-c, -s); break;
	default: cs = vec2(s, -c); break;
	}
	precise vec2 out_ = r * cs;
	return out_;
}
