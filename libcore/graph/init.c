/* graph/init.c — parameter initializers, drawn from Philox keyed by
 * (graph seed, variable stream), so values depend only on the seed and
 * the variable's index. */
#include <math.h>
#include <stdlib.h>
#include "dg/rng.h"
#include "graph/graph_impl.h"

static void fans(unsigned rank, const uint64_t *dims, double *fan_in, double *fan_out)
{
	double rf = 1;

	if (rank == 0) {
		*fan_in = *fan_out = 1;
		return;
	}
	if (rank == 1) {
		*fan_in = *fan_out = (double)dims[0];
		return;
	}
	for (unsigned i = 2; i < rank; i++)
		rf *= (double)dims[i];
	*fan_out = (double)dims[0] * rf;
	*fan_in = (double)dims[1] * rf;
}

static void uniform(float *v, uint64_t n, float lo, float hi, uint64_t seed, uint64_t stream)
{
	dg_rng_uniform(seed, stream, 0, v, n);
	for (uint64_t i = 0; i < n; i++)
		v[i] = lo + (hi - lo) * v[i];
}

static void normal(float *v, uint64_t n, float mean, float sd, uint64_t seed, uint64_t stream)
{
	dg_rng_normal(seed, stream, 0, v, n);
	for (uint64_t i = 0; i < n; i++)
		v[i] = mean + sd * v[i];
}

/* Orthonormal rows (rows <= cols) or columns, by modified Gram-Schmidt in
 * double on a Gaussian matrix; rank-deficient draws are practically
 * impossible, but are reported rather than divided by zero. */
static int orthogonal(float *v, uint64_t rows, uint64_t cols, float gain,
		      uint64_t seed, uint64_t stream)
{
	int by_rows = rows <= cols;
	uint64_t nvec = by_rows ? rows : cols, len = by_rows ? cols : rows;
	double *m = malloc(nvec * len * sizeof *m);

	if (!m)
		return dg_error_nomem("an orthogonal initializer", nvec * len * sizeof *m);
	normal(v, rows * cols, 0, 1, seed, stream);
	for (uint64_t i = 0; i < nvec; i++)
		for (uint64_t j = 0; j < len; j++)
			m[i * len + j] = by_rows ? v[i * cols + j] : v[j * cols + i];
	for (uint64_t i = 0; i < nvec; i++) {
		double *a = m + i * len, norm = 0;
		for (uint64_t k = 0; k < i; k++) {
			double *b = m + k * len, dot = 0;
			for (uint64_t j = 0; j < len; j++)
				dot += a[j] * b[j];
			for (uint64_t j = 0; j < len; j++)
				a[j] -= dot * b[j];
		}
		for (uint64_t j = 0; j < len; j++)
			norm += a[j] * a[j];
		if (norm < 1e-20) {
			free(m);
			return dg_error(DG_EINTERNAL, "orthogonal initializer: degenerate draw");
		}
		norm = 1 / sqrt(norm);
		for (uint64_t j = 0; j < len; j++)
			a[j] *= norm;
	}
	for (uint64_t i = 0; i < nvec; i++)
		for (uint64_t j = 0; j < len; j++)
			v[by_rows ? i * cols + j : j * cols + i] = (float)(gain * m[i * len + j]);
	free(m);
	return DG_OK;
}

int dg__init_check(unsigned rank, struct dg_init init)
{
	if (init.kind > DG_INIT_ORTHOGONAL)
		return dg_error(DG_EUSAGE, "unknown initializer %d", (int)init.kind);
	if (init.kind == DG_INIT_ORTHOGONAL && rank < 2)
		return dg_error(DG_EUSAGE, "orthogonal initializer needs rank >= 2");
	return DG_OK;
}

int dg__init_fill(float *v, unsigned rank, const uint64_t *dims, uint64_t count,
		  struct dg_init init, uint64_t seed, uint64_t stream)
{
	double fi, fo, gain = init.a;

	fans(rank, dims, &fi, &fo);
	switch (init.kind) {
	case DG_INIT_ZEROS:
	case DG_INIT_CONSTANT:
		for (uint64_t i = 0; i < count; i++)
			v[i] = init.kind == DG_INIT_ZEROS ? 0 : init.a;
		return DG_OK;
	case DG_INIT_NORMAL:
		normal(v, count, init.b, init.a, seed, stream);
		return DG_OK;
	case DG_INIT_UNIFORM:
		uniform(v, count, init.a, init.b, seed, stream);
		return DG_OK;
	case DG_INIT_GLOROT_UNIFORM: {
		float l = (float)((gain ? gain : 1) * sqrt(6 / (fi + fo)));
		uniform(v, count, -l, l, seed, stream);
		return DG_OK;
	}
	case DG_INIT_GLOROT_NORMAL:
		normal(v, count, 0, (float)((gain ? gain : 1) * sqrt(2 / (fi + fo))), seed, stream);
		return DG_OK;
	case DG_INIT_HE_UNIFORM: {
		float l = (float)((gain ? gain : sqrt(2)) * sqrt(3 / fi));
		uniform(v, count, -l, l, seed, stream);
		return DG_OK;
	}
	case DG_INIT_HE_NORMAL:
		normal(v, count, 0, (float)((gain ? gain : sqrt(2)) / sqrt(fi)), seed, stream);
		return DG_OK;
	case DG_INIT_ORTHOGONAL:
		if (rank < 2)
			return dg_error(DG_EUSAGE, "orthogonal initializer needs rank >= 2");
		return orthogonal(v, dims[0], count / dims[0], gain ? init.a : 1, seed, stream);
	}
	return dg_error(DG_EUSAGE, "unknown initializer %d", (int)init.kind);
}
