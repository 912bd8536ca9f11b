/* dg/rng.h — the one random generator: Philox4x32-10, counter based.
 *
 * A draw is a pure function of (seed, stream, counter): the same numbers
 * come out on the host and in shaders (shaders/philox.glsl), whatever the
 * batch size, thread count or backend.  The 128-bit Philox counter is
 * (counter low, counter high, stream low, stream high) and the key is the
 * 64-bit seed (low, high).  Block c gives four 32-bit words; element i of
 * a fill starting at counter c uses word i % 4 of block c + i / 4. */
#ifndef DG_RNG_H
#define DG_RNG_H

#include <stddef.h>
#include <stdint.h>

/* One Philox4x32-10 block: out = philox(ctr, key). */
void dg_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Uniform floats in (0, 1): (word >> 8) * 2^-24 + 2^-25. */
void dg_rng_uniform(uint64_t seed, uint64_t stream, uint64_t counter, float *out, size_t n);

/* Standard normals by Box–Muller over word pairs (0,1) and (2,3) of a
 * block: element 2k is r cos θ, element 2k+1 is r sin θ. */
void dg_rng_normal(uint64_t seed, uint64_t stream, uint64_t counter, float *out, size_t n);

/* A sequential generator for host-side use (shuffling, initializers).
 * Its state is three integers, saved in checkpoints for exact resume. */
struct dg_rng {
	uint64_t seed, stream, counter;  /* counter counts blocks */
	uint32_t buf[4];
	unsigned used;                   /* words of buf consumed (4 = empty) */
};
void dg_rng_init(struct dg_rng *r, uint64_t seed, uint64_t stream);
uint32_t dg_rng_next_u32(struct dg_rng *r);
/* Uniform integer in [0, n) without modulo bias. */
uint32_t dg_rng_below(struct dg_rng *r, uint32_t n);
float dg_rng_next_uniform(struct dg_rng *r);
float dg_rng_next_normal(struct dg_rng *r);

#endif
