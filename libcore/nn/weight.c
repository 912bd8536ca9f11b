/* nn/weight.c — weights and biases as layers use them: initializers
 * chosen per scope or layer, the equalized learning rate's run-time
 * scale, and spectral normalization by power iteration. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "nn/nn_impl.h"

/* PyTorch's fan-in of a weight: dims[1] times the kernel area. */
static uint64_t torch_fan_in(unsigned rank, const uint64_t *dims)
{
	uint64_t f = rank > 1 ? dims[1] : rank ? dims[0] : 1;
	for (unsigned i = 2; i < rank; i++)
		f *= dims[i];
	return f;
}

/* U(±1/√fan_in), computed in float as the families always have. */
static struct dg_init torch_uniform(unsigned rank, const uint64_t *dims)
{
	float r = 1.0f / sqrtf((float)torch_fan_in(rank, dims));
	return (struct dg_init){DG_INIT_UNIFORM, -r, r};
}

/* The weight's initializer kind and scale: the layer's, else the
 * scope's, else PyTorch's. */
static enum dg_nn_init weight_kind(const struct nn_layer *l, float *scale)
{
	if (l->o.init != DG_NN_INIT_DEFAULT) {
		*scale = l->o.init_scale;
		return l->o.init;
	}
	*scale = l->s.init_scale;
	return l->s.init != DG_NN_INIT_DEFAULT ? l->s.init : DG_NN_INIT_TORCH;
}

/* dg_init of a weight of dims; -1 kind on an unknown one. */
static int weight_init(enum dg_nn_init kind, float scale, unsigned rank, const uint64_t *dims,
		       struct dg_init *out)
{
	switch (kind) {
	case DG_NN_INIT_DEFAULT:
	case DG_NN_INIT_TORCH: *out = torch_uniform(rank, dims); return 0;
	case DG_NN_INIT_NORMAL:
		*out = (struct dg_init){DG_INIT_NORMAL, scale ? scale : 0.02f, 0};
		return 0;
	case DG_NN_INIT_HE_UNIFORM: *out = (struct dg_init){DG_INIT_HE_UNIFORM, scale, 0}; return 0;
	case DG_NN_INIT_HE_NORMAL: *out = (struct dg_init){DG_INIT_HE_NORMAL, scale, 0}; return 0;
	case DG_NN_INIT_GLOROT_UNIFORM:
		*out = (struct dg_init){DG_INIT_GLOROT_UNIFORM, scale, 0};
		return 0;
	case DG_NN_INIT_GLOROT_NORMAL:
		*out = (struct dg_init){DG_INIT_GLOROT_NORMAL, scale, 0};
		return 0;
	case DG_NN_INIT_ORTHOGONAL: *out = (struct dg_init){DG_INIT_ORTHOGONAL, scale, 0}; return 0;
	case DG_NN_INIT_ZEROS: *out = (struct dg_init){DG_INIT_ZEROS, 0, 0}; return 0;
	}
	return -1;
}

/* The weight of dims at full name (relative to the scope) with the
 * layer's initializer and flags. */
static dg_tensor weight(struct nn_layer *l, const char *name, unsigned rank, const uint64_t *dims,
			unsigned out_axis)
{
	struct dg_init init;
	float scale;
	enum dg_nn_init kind = weight_kind(l, &scale);
	int eq = !!(l->flags & DG_NN_EQUALIZED_LR), sn = !!(l->flags & DG_NN_SPECTRAL_NORM);
	if (rank < 2 || rank > DG_MAX_RANK || out_axis >= rank)
		return nn__fail(l, "a weight needs rank >= 2 and its output axis among them");
	if (eq && sn)
		return nn__fail(l, "spectral normalization and the equalized learning rate "
			     "do not go together (σ would undo the scale)");
	if (eq)
		init = (struct dg_init){DG_INIT_NORMAL, 1, 0};
	else if (weight_init(kind, scale, rank, dims, &init))
		return nn__fail(l, "unknown initializer %d", (int)kind);
	dg_tensor w = nn__var(&l->s, name, 0, rank, dims, init);
	if (!nn__valid(l->g, w))
		return DG_NONE;
	if (eq) {
		double fan_in = (double)dg_count(l->g, w) / (double)dims[out_axis];
		double gain = l->o.eq_gain ? l->o.eq_gain : l->s.eq_gain ? l->s.eq_gain : sqrt(2);
		return dg_mul_scalar(l->g, w, (float)(gain / sqrt(fan_in)));
	}
	if (sn) {
		char u[DG_NN_MAX_NAME + 2];
		snprintf(u, sizeof u, "%s_u", name);
		return dg_nn_spectral_norm(&l->s, u, w, out_axis);
	}
	return w;
}

dg_tensor nn__weight(struct nn_layer *l, unsigned rank, const uint64_t *dims, unsigned out_axis)
{
	char name[DG_NN_MAX_NAME + 2];
	snprintf(name, sizeof name, "%s.w", l->name + strlen(l->s.prefix));
	return weight(l, name, rank, dims, out_axis);
}

dg_tensor nn__bias(struct nn_layer *l, uint64_t n, unsigned wrank, const uint64_t *wdims)
{
	char name[DG_NN_MAX_NAME + 2];
	struct dg_init init = {DG_INIT_ZEROS, 0, 0};
	float scale;
	if (l->flags & DG_NN_NO_BIAS)
		return DG_NONE;
	switch (l->o.bias_init) {
	case DG_NN_INIT_DEFAULT:
		/* PyTorch's layers draw their bias like their weight; the
		 * other schemes (and the equalized learning rate) start at 0 */
		if (!(l->flags & DG_NN_EQUALIZED_LR) &&
		    weight_kind(l, &scale) == DG_NN_INIT_TORCH)
			init = torch_uniform(wrank, wdims);
		break;
	case DG_NN_INIT_TORCH: init = torch_uniform(wrank, wdims); break;
	case DG_NN_INIT_NORMAL:
		init = (struct dg_init){DG_INIT_NORMAL, l->o.bias_scale ? l->o.bias_scale : 0.02f, 0};
		break;
	case DG_NN_INIT_ZEROS: break;
	default:
		return nn__fail(l, "bias_init must be DEFAULT, TORCH, NORMAL or ZEROS");
	}
	snprintf(name, sizeof name, "%s.b", l->name + strlen(l->s.prefix));
	return nn__var(&l->s, name, 0, 1, &n, init);
}

dg_tensor nn__act(struct nn_layer *l, dg_tensor y)
{
	return dg_activate(l->g, y, l->o.act, l->o.alpha);
}

dg_tensor dg_nn_weight(const struct dg_nn *nn, const char *name, unsigned rank,
		       const uint64_t *dims, unsigned out_axis, const struct dg_nn_opt *opt)
{
	struct nn_layer l;
	if (nn__layer(&l, nn, NULL, opt))
		return DG_NONE;
	/* messages name the weight */
	nn__rename(&l, name);
	return weight(&l, name, rank, dims, out_axis);
}

/* ---- spectral normalization ------------------------------------------------------ */

/* x/max(‖x‖, 1e-12) over all of x (F.normalize's clamp). */
static dg_tensor normalize(struct dg_graph *g, dg_tensor x)
{
	dg_tensor n = dg_sqrt(g, dg_sum(g, dg_square(g, x), DG_AXES_ALL, 1));
	return dg_div(g, x, dg_clamp(g, n, 1e-12f, FLT_MAX));
}

dg_tensor dg_nn_spectral_norm(const struct dg_nn *nn, const char *name, dg_tensor w,
			      unsigned out_axis)
{
	struct nn_layer l;
	uint64_t dims[DG_MAX_RANK];
	if (nn__layer(&l, nn, NULL, NULL))
		return DG_NONE;
	nn__rename(&l, name);
	struct dg_graph *g = l.g;
	if (!nn__valid(g, w))
		return DG_NONE;
	unsigned rank = dg_shape(g, w, dims);
	if (rank < 2 || out_axis >= rank)
		return nn__fail(&l, "spectral norm needs a weight of rank >= 2 and its output "
				"axis among them");
	/* W: the output axis first, the rest flattened (PyTorch's dim) */
	uint64_t rows = dims[out_axis], cols = dg_count(g, w) / rows;
	dg_tensor m = w;
	if (out_axis) {
		unsigned perm[DG_MAX_RANK], k = 1;
		perm[0] = out_axis;
		for (unsigned i = 0; i < rank; i++)
			if (i != out_axis)
				perm[k++] = i;
		m = dg_permute(g, w, perm);
	}
	int64_t mat[2] = {(int64_t)rows, (int64_t)cols}, row[2] = {1, (int64_t)rows};
	int64_t flat[1] = {(int64_t)rows};
	m = dg_reshape(g, m, 2, mat);
	dg_tensor u = nn__var(&l.s, name, 1, 1, &rows, (struct dg_init){DG_INIT_NORMAL, 1, 0});
	dg_tensor ur = dg_reshape(g, u, 2, row);
	/* v = Wᵀu/‖Wᵀu‖ as a row (1×cols), then Wv as a row (1×rows) */
	dg_tensor v = dg_stop_gradient(g, normalize(g, dg_matmul(g, ur, m, 0, 0)));
	dg_tensor wv = dg_matmul(g, v, m, 0, 1);
	dg_tensor un = l.s.training ? dg_stop_gradient(g, normalize(g, wv)) : normalize(g, ur);
	dg_tensor sigma = dg_sum(g, dg_mul(g, un, wv), DG_AXES_ALL, 0);
	dg_tensor out = dg_div(g, w, sigma);
	if (l.s.training && nn__valid(g, out))
		dg_assign(g, u, dg_reshape(g, un, 1, flat), out);
	return nn__valid(g, out) ? out : DG_NONE;
}
