/* eval/gram.h — tiles of dot products between rows of two f32 matrices
 * (a·bᵀ), as one matrix product compiled once on the cpu device, for the
 * pairwise kernels and distances of KID and of precision and recall. */
#ifndef DG_EVAL_GRAM_H
#define DG_EVAL_GRAM_H

#include <stdint.h>

struct dg_gram;

/* A tile of at most rows × cols products of d-vectors. */
int dg__gram_new(uint64_t rows, uint64_t cols, unsigned d, struct dg_gram **out);
void dg__gram_free(struct dg_gram *g);
/* Sets b (cb×d, cb <= cols) for the following runs. */
int dg__gram_set_b(struct dg_gram *g, const float *b, uint64_t cb);
/* out (ra × cb, row-major) = a·bᵀ for a: ra×d, ra <= rows, and the b
 * last set (the tile is padded with zeros). */
int dg__gram_run(struct dg_gram *g, const float *a, uint64_t ra, float *out);

#endif
