/* nn/corrupt.c — input corruption for denoising autoencoders (dg/nn.h's
 * dg_nn_corrupt): masking, Gaussian and salt-and-pepper noise drawn by
 * the graph's own random ops. */
#include <math.h>
#include <string.h>
#include "dg/nn.h"

static const char *const kinds[] = {
	[DG_NN_NOISE_NONE] = "none",
	[DG_NN_NOISE_MASK] = "mask",
	[DG_NN_NOISE_GAUSS] = "gauss",
	[DG_NN_NOISE_SALTPEPPER] = "saltpepper",
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

int dg_nn_noise_kind(const char *name)
{
	for (size_t i = 0; name && i < NKINDS; i++)
		if (!strcmp(name, kinds[i]))
			return (int)i;
	return -1;
}

dg_tensor dg_nn_corrupt(struct dg_graph *g, dg_tensor x, enum dg_nn_noise kind, float level)
{
	uint64_t d[DG_MAX_RANK];
	if (dg_graph_status(g) || !x.id)
		return DG_NONE;
	if ((unsigned)kind >= NKINDS) {
		dg_graph_fail(g, DG_EUSAGE, "corruption: unknown noise kind %d", (int)kind);
		return DG_NONE;
	}
	if (!isfinite(level) || level < 0 ||
	    (level > 1 && kind != DG_NN_NOISE_GAUSS && kind != DG_NN_NOISE_NONE)) {
		dg_graph_fail(g, DG_EUSAGE, "noise=%s: noise_level %g must be %s", kinds[kind],
			      (double)level, kind == DG_NN_NOISE_GAUSS ?
			      "a finite standard deviation >= 0" :
			      "a probability in [0, 1]");
		return DG_NONE;
	}
	if (kind == DG_NN_NOISE_NONE || level == 0)
		return x;
	unsigned r = dg_shape(g, x, d);
	if (kind == DG_NN_NOISE_GAUSS) {
		dg_tensor eps = dg_random_normal(g, r, d);
		return dg_clamp(g, dg_add(g, x, dg_mul_scalar(g, eps, level)), 0, 1);
	}
	dg_tensor u = dg_random_uniform(g, r, d);
	if (kind == DG_NN_NOISE_MASK)
		return dg_mul(g, x, dg_greater(g, u, dg_scalar(g, level)));
	dg_tensor pepper = dg_greater(g, dg_scalar(g, level / 2), u);
	dg_tensor salt = dg_greater(g, u, dg_scalar(g, 1 - level / 2));
	return dg_where(g, pepper, dg_scalar(g, 0),
			dg_where(g, salt, dg_scalar(g, 1), x));
}
