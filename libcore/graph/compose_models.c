/* graph/compose_models.c — compositions the model families need beyond
 * the basic layers: pixel norm, adaptive instance norm and the minibatch
 * standard deviation (progressive and style-based GANs).  Built from primitive ops: no kernels or
 * backward rules of their own. */
#include "graph/graph_impl.h"

static int valid(const struct dg_graph *g, dg_tensor t)
{
	return !g->status && t.id > 0 && t.id < g->nnodes;
}

static dg_tensor fail(struct dg_graph *g, const char *what, const char *why)
{
	if (!g->status)
		dg__fail(g, DG_EUSAGE, "%s: %s", what, why);
	return DG_NONE;
}

/* ---- normalization ------------------------------------------------------ */

dg_tensor dg_pixel_norm(struct dg_graph *g, dg_tensor x, float eps)
{
	if (!valid(g, x))
		return DG_NONE;
	if (dg_shape(g, x, NULL) < 2)
		return fail(g, "pixel_norm", "want N×C or N×C×H×W");
	dg_tensor ms = dg_mean(g, dg_square(g, x), 1u << 1, 1);
	return dg_mul(g, x, dg_rsqrt(g, dg_add_scalar(g, ms, eps)));
}

dg_tensor dg_adain(struct dg_graph *g, dg_tensor x, dg_tensor scale, dg_tensor bias, float eps)
{
	uint64_t d[DG_MAX_RANK], sd[DG_MAX_RANK], bd[DG_MAX_RANK];
	if (!valid(g, x) || !valid(g, scale) || !valid(g, bias))
		return DG_NONE;
	if (dg_shape(g, x, d) != 4 || dg_shape(g, scale, sd) != 2 || dg_shape(g, bias, bd) != 2 ||
	    sd[0] != d[0] || sd[1] != d[1] || bd[0] != d[0] || bd[1] != d[1])
		return fail(g, "adain", "want x N×C×H×W and scale and bias N×C");
	int64_t nc11[4] = {(int64_t)d[0], (int64_t)d[1], 1, 1};
	dg_tensor y = dg_instance_norm(g, x, DG_NONE, DG_NONE, eps);
	y = dg_mul(g, y, dg_reshape(g, scale, 4, nc11));
	return dg_add(g, y, dg_reshape(g, bias, 4, nc11));
}

dg_tensor dg_minibatch_stddev(struct dg_graph *g, dg_tensor x, unsigned group)
{
	uint64_t d[DG_MAX_RANK];
	if (!valid(g, x))
		return DG_NONE;
	if (dg_shape(g, x, d) != 4)
		return fail(g, "minibatch_stddev", "want N×C×H×W");
	uint64_t n = d[0], gs = !group || group > n ? n : group;
	if (n % gs)
		return fail(g, "minibatch_stddev", "the batch is not a multiple of the group size");
	/* As ProGAN's reshape to [G, M, C, H, W]: sample n is in group n % M. */
	uint64_t m = n / gs;
	int64_t r5[5] = {(int64_t)gs, (int64_t)m, (int64_t)d[1], (int64_t)d[2], (int64_t)d[3]};
	dg_tensor y = dg_reshape(g, x, 5, r5);
	dg_tensor c = dg_sub(g, y, dg_mean(g, y, 1u << 0, 1));
	dg_tensor sd = dg_sqrt(g, dg_add_scalar(g, dg_mean(g, dg_square(g, c), 1u << 0, 1), 1e-8f));
	dg_tensor s = dg_mean(g, sd, (1u << 2) | (1u << 3) | (1u << 4), 1);     /* 1×M×1×1×1 */
	uint64_t e5[5] = {gs, m, 1, d[2], d[3]};
	int64_t r4[4] = {(int64_t)n, 1, (int64_t)d[2], (int64_t)d[3]};
	return dg_concat(g, x, dg_reshape(g, dg_expand(g, s, 5, e5), 4, r4), 1);
}
