/* nn/layers.c — the layers of dg/nn.h: dense, convolutions (plain,
 * grouped, 2-d and 3-d, transposed, masked), batch, instance and layer
 * norm, embeddings.  Each declares its variables through nn/weight.c
 * and appends graph ops. */
#include <stdio.h>
#include <string.h>
#include "nn/nn_impl.h"

/* The shape of x, which must have rank want (0: at least 2). */
static unsigned input(struct nn_layer *l, dg_tensor x, unsigned want, const char *what,
		      uint64_t dims[DG_MAX_RANK])
{
	if (!nn__valid(l->g, x))
		return 0;
	unsigned r = dg_shape(l->g, x, dims);
	if (want ? r != want : r < 2) {
		nn__fail(l, "x has %u axes, want %s", r, what);
		return 0;
	}
	return r;
}

dg_tensor dg_nn_dense(const struct dg_nn *nn, const char *name, dg_tensor x, uint64_t out,
		      const struct dg_nn_opt *opt)
{
	struct nn_layer l;
	uint64_t d[DG_MAX_RANK];
	unsigned r;
	if (nn__layer(&l, nn, name, opt) || !(r = input(&l, x, 0, "N×in", d)))
		return DG_NONE;
	uint64_t wd[2] = {out, d[r - 1]};
	dg_tensor w = nn__weight(&l, 2, wd, 0);
	dg_tensor b = nn__bias(&l, out, 2, wd);
	if (!nn__valid(l.g, w))
		return DG_NONE;
	return dg_linear(l.g, x, w, b, l.o.act, l.o.alpha);
}

/* Convolutions and their transposes on images of rank 4 or 5: w
 * out×(C/G)×k.. or C×(out/G)×k.. */
static dg_tensor conv(const struct dg_nn *nn, const char *name, dg_tensor x, uint64_t out,
		      unsigned k, unsigned stride, unsigned pad, const struct dg_nn_opt *opt,
		      int transposed, unsigned rank)
{
	struct nn_layer l;
	uint64_t d[DG_MAX_RANK];
	if (nn__layer(&l, nn, name, opt) ||
	    !input(&l, x, rank, rank == 4 ? "N×C×H×W" : "N×C×D×H×W", d))
		return DG_NONE;
	uint64_t groups = l.o.groups ? l.o.groups : 1;
	if (!k || !out)
		return nn__fail(&l, "kernel size and channels must be positive");
	if (d[1] % groups || out % groups)
		return nn__fail(&l, "%llu groups do not divide %llu input and %llu output channels",
				(unsigned long long)groups, (unsigned long long)d[1],
				(unsigned long long)out);
	uint64_t wd[5] = {transposed ? d[1] : out, transposed ? out / groups : d[1] / groups,
			  k, k, k};
	dg_tensor w = nn__weight(&l, rank, wd, transposed ? 1 : 0);
	dg_tensor b = nn__bias(&l, out, rank, wd);
	if (!nn__valid(l.g, w))
		return DG_NONE;
	struct dg_conv_opt p = {.struct_size = sizeof p, .groups = (unsigned)groups};
	for (unsigned i = 0; i < 3; i++) {
		p.stride[i] = stride;
		p.pad[i] = pad;
		p.dilation[i] = l.o.dilation;
		p.output_padding[i] = transposed ? l.o.output_padding : 0;
	}
	dg_tensor y = transposed ? dg_conv_transpose_nd(l.g, x, w, b, &p)
				 : dg_conv_nd(l.g, x, w, b, &p);
	return nn__act(&l, y);
}

dg_tensor dg_nn_conv2d(const struct dg_nn *nn, const char *name, dg_tensor x, uint64_t out,
		       unsigned kernel, unsigned stride, unsigned pad, const struct dg_nn_opt *opt)
{
	return conv(nn, name, x, out, kernel, stride, pad, opt, 0, 4);
}

dg_tensor dg_nn_conv_transpose2d(const struct dg_nn *nn, const char *name, dg_tensor x,
				 uint64_t out, unsigned kernel, unsigned stride, unsigned pad,
				 const struct dg_nn_opt *opt)
{
	return conv(nn, name, x, out, kernel, stride, pad, opt, 1, 4);
}

dg_tensor dg_nn_conv3d(const struct dg_nn *nn, const char *name, dg_tensor x, uint64_t out,
		       unsigned kernel, unsigned stride, unsigned pad, const struct dg_nn_opt *opt)
{
	return conv(nn, name, x, out, kernel, stride, pad, opt, 0, 5);
}

dg_tensor dg_nn_conv_transpose3d(const struct dg_nn *nn, const char *name, dg_tensor x,
				 uint64_t out, unsigned kernel, unsigned stride, unsigned pad,
				 const struct dg_nn_opt *opt)
{
	return conv(nn, name, x, out, kernel, stride, pad, opt, 1, 5);
}

dg_tensor dg_nn_masked_conv2d(const struct dg_nn *nn, const char *name, dg_tensor x,
			      uint64_t out, unsigned kernel, char mask, unsigned color_groups,
			      const struct dg_nn_opt *opt)
{
	struct nn_layer l;
	uint64_t d[DG_MAX_RANK];
	if (nn__layer(&l, nn, name, opt) || !input(&l, x, 4, "N×C×H×W", d))
		return DG_NONE;
	if (!out || kernel % 2 == 0)
		return nn__fail(&l, "a masked convolution needs an odd kernel and channels");
	uint64_t wd[4] = {out, d[1], kernel, kernel};
	dg_tensor w = nn__weight(&l, 4, wd, 0);
	dg_tensor b = nn__bias(&l, out, 4, wd);
	if (!nn__valid(l.g, w))
		return DG_NONE;
	struct dg_conv p = {.stride = 1, .pad = kernel / 2, .dilation = l.o.dilation};
	if (l.o.dilation > 1)
		p.pad = kernel / 2 * l.o.dilation;
	return nn__act(&l, dg_masked_conv2d(l.g, x, w, b, &p, mask, color_groups));
}

/* ---- normalization --------------------------------------------------------------- */

static const struct dg_init ONES = {DG_INIT_CONSTANT, 1, 0};
static const struct dg_init ZEROS = {DG_INIT_ZEROS, 0, 0};

/* The learned scale "w" and shift "b" of shape dims, if on. */
static void affine(struct nn_layer *l, int on, unsigned rank, const uint64_t *dims,
		   dg_tensor *w, dg_tensor *b)
{
	char name[DG_NN_MAX_NAME + 2];
	const char *rel = l->name + strlen(l->s.prefix);
	*w = *b = DG_NONE;
	if (!on)
		return;
	snprintf(name, sizeof name, "%s.w", rel);
	*w = nn__var(&l->s, name, 0, rank, dims, ONES);
	snprintf(name, sizeof name, "%s.b", rel);
	*b = nn__var(&l->s, name, 0, rank, dims, ZEROS);
}

static float eps(const struct nn_layer *l)
{
	return l->o.eps > 0 ? l->o.eps : 1e-5f;
}

dg_tensor dg_nn_batch_norm(const struct dg_nn *nn, const char *name, dg_tensor x,
			   const struct dg_nn_opt *opt)
{
	struct nn_layer l;
	uint64_t d[DG_MAX_RANK];
	unsigned r;
	dg_tensor w, b;
	char buf[DG_NN_MAX_NAME + 8];
	if (nn__layer(&l, nn, name, opt) || !(r = input(&l, x, 0, "N×C or N×C×H×W", d)))
		return DG_NONE;
	if (r != 2 && r != 4)
		return nn__fail(&l, "x has %u axes, want N×C or N×C×H×W", r);
	affine(&l, l.o.affine >= 0, 1, &d[1], &w, &b);
	snprintf(buf, sizeof buf, "%s.mean", name);
	dg_tensor mean = nn__var(&l.s, buf, 1, 1, &d[1], ZEROS);
	snprintf(buf, sizeof buf, "%s.var", name);
	dg_tensor var = nn__var(&l.s, buf, 1, 1, &d[1], ONES);
	if (dg_graph_status(l.g))
		return DG_NONE;
	float momentum = l.o.momentum > 0 ? l.o.momentum : 0.1f;
	return nn__act(&l, dg_batch_norm(l.g, x, w, b, mean, var, l.s.training, momentum,
					 eps(&l)));
}

dg_tensor dg_nn_instance_norm(const struct dg_nn *nn, const char *name, dg_tensor x,
			      const struct dg_nn_opt *opt)
{
	struct nn_layer l;
	uint64_t d[DG_MAX_RANK];
	dg_tensor w, b;
	if (nn__layer(&l, nn, name, opt) || !input(&l, x, 4, "N×C×H×W", d))
		return DG_NONE;
	affine(&l, l.o.affine > 0, 1, &d[1], &w, &b);
	if (dg_graph_status(l.g))
		return DG_NONE;
	return nn__act(&l, dg_instance_norm(l.g, x, w, b, eps(&l)));
}

dg_tensor dg_nn_layer_norm(const struct dg_nn *nn, const char *name, dg_tensor x,
			   const struct dg_nn_opt *opt)
{
	struct nn_layer l;
	uint64_t d[DG_MAX_RANK];
	unsigned r;
	dg_tensor w, b;
	if (nn__layer(&l, nn, name, opt) || !(r = input(&l, x, 0, "N×...", d)))
		return DG_NONE;
	affine(&l, l.o.affine >= 0, r - 1, &d[1], &w, &b);
	if (dg_graph_status(l.g))
		return DG_NONE;
	return nn__act(&l, dg_layer_norm(l.g, x, w, b, eps(&l)));
}

/* ---- embeddings ------------------------------------------------------------------ */

dg_tensor dg_nn_embedding(const struct dg_nn *nn, const char *name, dg_tensor idx,
			  uint64_t count, uint64_t dim, const struct dg_nn_opt *opt)
{
	struct nn_layer l;
	if (nn__layer(&l, nn, name, opt) || !nn__valid(l.g, idx))
		return DG_NONE;
	/* PyTorch's N(0, 1) unless this layer asks for another; a lookup
	 * has no fan-in, so no equalized learning rate */
	l.s.init = DG_NN_INIT_NORMAL;
	l.s.init_scale = 1;
	l.flags &= ~(unsigned)DG_NN_EQUALIZED_LR;
	uint64_t wd[2] = {count, dim};
	dg_tensor w = nn__weight(&l, 2, wd, 0);
	if (!nn__valid(l.g, w))
		return DG_NONE;
	return nn__act(&l, dg_embedding(l.g, w, idx));
}
