/* dg/rng.h — the one random generator: Philox4x32-10, counter based.
 *
 * A draw is a pure function of (seed, stream, counter): the same numbers
 * come out on the host and in shaders (shaders/philox.glsl), whatever the
 * batch size, thread count or backend.  The 128-bit Philox counter is
 * (counter low, counter high, stream low, stream high) and the key is the
 * 64-bit seed (low, high).  Block c gives four 32-bit words; element i of
 * a fill starting at counter c uses word i % 4 of block c + i / 4.  The
 * 64-bit counter wraps without carrying into the stream.
 *
 * Known answers: Random123's examples/kat_vectors (tests/t_rng.c).  The
 * float conversions use only correctly rounded +, -, * and bit
 * operations, so shaders reproduce them bit for bit (tests/t_vk_rng.c). */
#ifndef DG_RNG_H
#define DG_RNG_H

#include <stddef.h>
#include <stdint.h>

/* One Philox4x32-10 block: out = philox(ctr, key). */
void dg_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Uniform floats in (0, 1): (word >> 9) * 2^-23 + 2^-24, exactly; the
 * values are the odd multiples of 2^-24, symmetric about 1/2. */
float dg_rng_u01(uint32_t word);
void dg_rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter, float *out, size_t n);

/* Standard normals by Box–Muller over word pairs (0,1) and (2,3) of a
 * block: element 2k is r cos θ, element 2k+1 is r sin θ, where
 * r = sqrt(-2 ln u(w0)) and θ = 2π u(w1), u as dg_rng_u01.  |z| < 5.8.
 * log, sqrt, sin and cos are evaluated by fixed polynomial and Newton
 * steps (see rng.c), accurate to about 1e-7 relative. */
void dg_rng_box_muller(uint32_t w0, uint32_t w1, float *z0, float *z1);
void dg_rng_normal(uint64_t seed, uint64_t stream, uint64_t counter, float *out, size_t n);

/* A sequential generator for host-side use (shuffling, initializers).
 * Its state is (seed, stream, counter, used): counter is the next block
 * to compute and buf holds block counter - 1, of which `used` words are
 * consumed.  Save those four integers (a checkpoint does) and
 * dg_rng_restore() continues the sequence exactly; buf is recomputed. */
struct dg_rng {
	uint64_t seed, stream, counter;  /* counter counts blocks */
	uint32_t buf[4];
	unsigned used;                   /* words of buf consumed (4 = empty) */
};
void dg_rng_init(struct dg_rng *r, uint64_t seed, uint64_t stream);
void dg_rng_restore(struct dg_rng *r, uint64_t seed, uint64_t stream, uint64_t counter,
		    unsigned used);
uint32_t dg_rng_next_u32(struct dg_rng *r);
/* Uniform integer in [0, n) without modulo bias. */
uint32_t dg_rng_below(struct dg_rng *r, uint32_t n);
float dg_rng_next_uniform(struct dg_rng *r);
/* One normal from the next two words (the first of a fresh block when
 * fewer than two are left); its sine twin is not kept, so the state stays
 * the four integers above. */
float dg_rng_next_normal(struct dg_rng *r);

#endif
