/* eval/gram.c — a tile of a·bᵀ as one compiled matrix product on the cpu
 * device (oneDNN's sgemm, when present): the metrics' pairwise work is
 * tens of GFLOP for sets of 10000, seconds in plain loops (eval/gram.h). */
#include <stdlib.h>
#include <string.h>
#include "eval/gram.h"
#include "dg/error.h"
#include "dg/graph.h"

struct dg_gram {
	struct dg_graph *g;
	struct dg_exec *e;
	uint64_t rows, cols;
	unsigned d;
	float *pad, *res;          /* a padded input, the whole tile's output */
	uint64_t cb;               /* rows of b set */
};

int dg__gram_new(uint64_t rows, uint64_t cols, unsigned d, struct dg_gram **out)
{
	struct dg_gram *g = calloc(1, sizeof *g);
	uint64_t most = rows > cols ? rows : cols;
	*out = NULL;
	if (!g || !(g->g = dg_graph_new(0)) ||
	    !(g->pad = malloc(most * d * sizeof *g->pad)) ||
	    !(g->res = malloc(rows * cols * sizeof *g->res))) {
		dg__gram_free(g);
		return dg_error_nomem("a tile of products", rows * cols * sizeof(float));
	}
	g->rows = rows;
	g->cols = cols;
	g->d = d;
	dg_tensor a = dg_input(g->g, "a", DG_F32, DG_SHAPE(rows, d));
	dg_tensor b = dg_input(g->g, "b", DG_F32, DG_SHAPE(cols, d));
	dg_tensor p = dg_matmul(g->g, a, b, 0, 1);
	int st = dg_compile(g->g, "cpu", 1, &p, 0, NULL, &g->e);
	if (st) {
		dg__gram_free(g);
		return st;
	}
	*out = g;
	return DG_OK;
}

void dg__gram_free(struct dg_gram *g)
{
	if (!g)
		return;
	dg_exec_free(g->e);
	dg_graph_free(g->g);
	free(g->pad);
	free(g->res);
	free(g);
}

/* Feeds n rows of src into input name of `rows` rows, zero-padded. */
static int feed(struct dg_gram *g, const char *name, const float *src, uint64_t n,
		uint64_t rows)
{
	size_t per = g->d;
	if (n == rows)
		return dg_exec_feed(g->e, name, DG_F32, src, rows * per);
	memcpy(g->pad, src, n * per * sizeof *src);
	memset(g->pad + n * per, 0, (rows - n) * per * sizeof *src);
	return dg_exec_feed(g->e, name, DG_F32, g->pad, rows * per);
}

int dg__gram_set_b(struct dg_gram *g, const float *b, uint64_t cb)
{
	if (cb > g->cols)
		return dg_error(DG_EINTERNAL, "gram tile of %llu columns given %llu",
				(unsigned long long)g->cols, (unsigned long long)cb);
	g->cb = cb;
	return feed(g, "b", b, cb, g->cols);
}

int dg__gram_run(struct dg_gram *g, const float *a, uint64_t ra, float *out)
{
	int st;
	if (ra > g->rows)
		return dg_error(DG_EINTERNAL, "gram tile of %llu rows given %llu",
				(unsigned long long)g->rows, (unsigned long long)ra);
	if ((st = feed(g, "a", a, ra, g->rows)) || (st = dg_exec_run(g->e)) ||
	    (st = dg_exec_read(g->e, 0, g->res, g->rows * g->cols)))
		return st;
	for (uint64_t i = 0; i < ra; i++)
		memcpy(out + i * g->cb, g->res + i * g->cols, g->cb * sizeof *out);
	return DG_OK;
}
