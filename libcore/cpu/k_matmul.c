/* cpu/k_matmul.c — C[b] = op(A[b])·op(B[b]): A M×K (K×M if transposed),
 * B K×N (N×K if transposed), C M×N, b over an optional batch (B may be
 * shared).  Plain C: a transposed B is first copied to K×N in scratch;
 * then four rows of C at a time accumulate rows of B (axpy form, which
 * compilers vectorize), k ascending, so each element's sum has one fixed
 * order.  oneDNN's plan replaces this when available (cpu/backend_cpu.c). */
#include <string.h>
#include "cpu/kernels.h"
#include "cpu/pool.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

struct mm {
	const float *A, *B, *bias;
	float *C;
	uint64_t m, n, k;
	int ta, act;
	float alpha;
};

/* The fused epilogue on finished rows. */
static void epilogue(const struct mm *p, float *c)
{
	if (p->bias)
		for (uint64_t j = 0; j < p->n; j++)
			c[j] += p->bias[j];
	if (p->act)
		for (uint64_t j = 0; j < p->n; j++)
			c[j] = dg_act_apply(p->act, p->alpha, c[j]);
}

static void mm_rows(void *ctx, size_t r0, size_t r1)
{
	const struct mm *p = ctx;
	uint64_t n = p->n, k = p->k, m = p->m;
	const float *A = p->A, *B = p->B;

	for (size_t i = r0; i < r1; i += 4) {
		size_t rows = r1 - i < 4 ? r1 - i : 4;
		float *c[4];
		for (size_t r = 0; r < 4; r++)
			c[r] = p->C + (i + (r < rows ? r : 0)) * n;
		for (size_t r = 0; r < rows; r++)
			memset(c[r], 0, n * sizeof(float));
		for (uint64_t kk = 0; kk < k; kk++) {
			const float *b = B + kk * n;
			float a[4];
			for (size_t r = 0; r < 4; r++) {
				size_t row = i + (r < rows ? r : 0);
				a[r] = p->ta ? A[kk * m + row] : A[row * k + kk];
			}
			if (rows == 4) {
				float *restrict c0 = c[0], *restrict c1 = c[1];
				float *restrict c2 = c[2], *restrict c3 = c[3];
				for (uint64_t j = 0; j < n; j++) {
					float bj = b[j];
					c0[j] += a[0] * bj;
					c1[j] += a[1] * bj;
					c2[j] += a[2] * bj;
					c3[j] += a[3] * bj;
				}
			} else {
				for (size_t r = 0; r < rows; r++) {
					float *restrict cr = c[r];
					for (uint64_t j = 0; j < n; j++)
						cr[j] += a[r] * b[j];
				}
			}
		}
		for (size_t r = 0; r < rows; r++)
			epilogue(p, c[r]);
	}
}

struct tr {
	const float *src;
	float *dst;
	uint64_t rows, cols;    /* of src */
};

static void tr_rows(void *ctx, size_t b, size_t e)
{
	const struct tr *t = ctx;
	for (size_t j = b; j < e; j++)          /* dst row j = src column j */
		for (uint64_t i = 0; i < t->rows; i++)
			t->dst[j * t->rows + i] = t->src[i * t->cols + j];
}

static void shape(const struct dg_kcall *c, uint64_t *batch, uint64_t *m, uint64_t *n,
		  uint64_t *k, int *shared)
{
	const struct dg_node *a = &c->in_node[0], *b = &c->in_node[1];
	unsigned ar = a->rank, br = b->rank;
	*batch = ar == 3 ? a->dims[0] : 1;
	*shared = br == 2;
	*m = c->n.dims[c->n.rank - 2];
	*n = c->n.dims[c->n.rank - 1];
	*k = c->n.ia[0] ? a->dims[ar - 2] : a->dims[ar - 1];
	(void)br;
}

uint64_t dg_cpu_scratch(const struct dg_kcall *c)
{
	uint64_t batch, m, n, k;
	int shared;
	if (c->n.op != OP_MATMUL || !c->n.ia[1])
		return 0;
	shape(c, &batch, &m, &n, &k, &shared);
	return k * n;
}

int dg_k_matmul(const struct dg_kargs *a)
{
	uint64_t batch, m, n, k;
	int shared;
	shape(a->c, &batch, &m, &n, &k, &shared);
	for (uint64_t bi = 0; bi < batch; bi++) {
		const float *A = (const float *)a->x[0] + bi * m * k;
		const float *B = (const float *)a->x[1] + (shared ? 0 : bi * k * n);
		if (a->c->n.ia[1]) {
			struct tr t = {B, a->scratch, n, k};
			dg_pool_for(k, 16, tr_rows, &t);
			B = a->scratch;
		}
		struct mm p = {A, B, a->bias, a->y + bi * m * n, m, n, k, (int)a->c->n.ia[0],
			       a->c->act, a->c->alpha};
		/* Each element's sum runs over k in order whatever the chunks. */
		dg_pool_for(m, 4 + 65536 / (n * k + 1), mm_rows, &p);
	}
	return DG_OK;
}
