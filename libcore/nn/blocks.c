/* nn/blocks.c — blocks made of the library's layers: the residual block
 * and the encoder and decoder bodies of the autoencoder families. */
#include <stdio.h>
#include <string.h>
#include "nn/nn_impl.h"

/* ---- residual block ---------------------------------------------------------------- */

static dg_tensor norm(const struct dg_nn *s, const char *name, dg_tensor x,
		      const struct dg_nn_opt *o)
{
	switch (o->norm) {
	case DG_NN_NORM_NONE: return x;
	case DG_NN_NORM_BATCH: return dg_nn_batch_norm(s, name, x, o);
	case DG_NN_NORM_INSTANCE: return dg_nn_instance_norm(s, name, x, o);
	case DG_NN_NORM_LAYER: return dg_nn_layer_norm(s, name, x, o);
	}
	dg_graph_fail(s->g, DG_EUSAGE, "%s%s: unknown norm %d", s->prefix, name, (int)o->norm);
	return DG_NONE;
}

dg_tensor dg_nn_residual(const struct dg_nn *nn, const char *name, dg_tensor x, uint64_t out,
			 unsigned stride, const struct dg_nn_opt *opt)
{
	struct nn_layer l;
	struct dg_nn s;
	uint64_t d[DG_MAX_RANK];
	if (nn__layer(&l, nn, name, opt) || !nn__valid(l.g, x))
		return DG_NONE;
	if (dg_shape(l.g, x, d) != 4)
		return nn__fail(&l, "x has %u axes, want N×C×H×W", dg_shape(l.g, x, NULL));
	if (dg_nn_scope(&s, &l.s, name))
		return DG_NONE;
	if (!stride)
		stride = 1;
	/* convolutions: no activation of their own, and no bias before a
	 * norm that would subtract it again; norms: no activation */
	struct dg_nn_opt c = l.o, n = l.o;
	c.act = n.act = DG_ACT_NONE;
	if (l.o.norm != DG_NN_NORM_NONE)
		c.flags |= DG_NN_NO_BIAS;
	dg_tensor h = dg_nn_conv2d(&s, "conv1", x, out, 3, stride, 1, &c);
	h = nn__act(&l, norm(&s, "norm1", h, &n));
	h = dg_nn_conv2d(&s, "conv2", h, out, 3, 1, 1, &c);
	h = norm(&s, "norm2", h, &n);
	dg_tensor skip = x;
	if (out != d[1] || stride != 1)
		skip = norm(&s, "skip_norm", dg_nn_conv2d(&s, "skip", x, out, 1, stride, 0, &c), &n);
	if (!nn__valid(l.g, h) || !nn__valid(l.g, skip))
		return DG_NONE;
	return nn__act(&l, dg_add(l.g, h, skip));
}

/* ---- encoder and decoder bodies ------------------------------------------------------- */

#define CODER_SIZE_V1 (offsetof(struct dg_nn_coder, out) + sizeof(void *))

/* The coder read whole, its convolution count, and options with the
 * coder's activation (dense, convs) or the output layer's own (out). */
struct coder {
	struct dg_nn_coder c;
	unsigned k;
	struct dg_nn_opt dense, convs, last, out;
};

static void opt_with(struct dg_nn_opt *dst, const struct dg_nn_opt *src, enum dg_act act,
		     float alpha)
{
	memset(dst, 0, sizeof *dst);
	if (src)
		memcpy(dst, src, src->struct_size < sizeof *dst ? src->struct_size : sizeof *dst);
	dst->struct_size = sizeof *dst;
	dst->act = act;
	dst->alpha = alpha;
}

static int coder_read(struct coder *k, const struct dg_nn *nn, const struct dg_nn_coder *c,
		      const char *what)
{
	struct dg_nn s;
	int st = nn__scope(&s, nn);
	if (st)
		return st;
	if (!c || c->struct_size < CODER_SIZE_V1)
		return dg_graph_fail(s.g, DG_EUSAGE, "%s%s: a struct dg_nn_coder without its "
				     "struct_size", s.prefix, what);
	memset(k, 0, sizeof *k);
	memcpy(&k->c, c, c->struct_size < sizeof k->c ? c->struct_size : sizeof k->c);
	const struct dg_nn_opt *opts[3] = {k->c.dense, k->c.convs, k->c.out};
	for (int i = 0; i < 3; i++)
		if (opts[i] && opts[i]->struct_size < offsetof(struct dg_nn_opt, momentum) +
							      sizeof(float))
			return dg_graph_fail(s.g, DG_EUSAGE, "%s%s: options without their "
					     "struct_size (write them with DG_NN_OPT)", s.prefix,
					     what);
	while (k->k < DG_NN_CODER_MAX_CONV && k->c.conv[k->k])
		k->k++;
	enum dg_act act = k->c.act != DG_ACT_NONE ? k->c.act : DG_ACT_RELU;
	opt_with(&k->dense, k->c.dense, act, k->c.alpha);
	opt_with(&k->convs, k->c.convs, act, k->c.alpha);
	opt_with(&k->last, k->c.convs, DG_ACT_NONE, 0);
	opt_with(&k->out, k->c.out, k->c.out ? k->c.out->act : DG_ACT_NONE,
		 k->c.out ? k->c.out->alpha : 0);
	unsigned div = 1u << k->k;
	if (!k->c.channels || !k->c.height || !k->c.width || !k->c.hidden ||
	    k->c.height % div || k->c.width % div)
		return dg_graph_fail(s.g, DG_EUSAGE, "%s%s: %u convolutions need image sides "
				     "divisible by %u (got %ux%ux%u)", s.prefix, what, k->k, div,
				     k->c.channels, k->c.height, k->c.width);
	return DG_OK;
}

dg_tensor dg_nn_encoder(const struct dg_nn *nn, const struct dg_nn_coder *c, dg_tensor x,
			dg_tensor cond)
{
	struct coder k;
	char name[16];
	if (coder_read(&k, nn, c, "encoder"))
		return DG_NONE;
	struct dg_graph *g = nn->g;
	dg_tensor h = x;
	for (unsigned i = 0; i < k.k; i++) {
		snprintf(name, sizeof name, "conv%u", i + 1);
		h = dg_nn_conv2d(nn, name, h, k.c.conv[i], 4, 2, 1, &k.convs);
	}
	h = dg_flatten(g, h);
	if (cond.id)
		h = dg_concat(g, h, cond, 1);
	return dg_nn_dense(nn, "fc1", h, k.c.hidden, &k.dense);
}

dg_tensor dg_nn_decoder(const struct dg_nn *nn, const struct dg_nn_coder *c, dg_tensor z,
			dg_tensor cond)
{
	struct coder k;
	char name[16];
	if (coder_read(&k, nn, c, "decoder"))
		return DG_NONE;
	struct dg_graph *g = nn->g;
	dg_tensor h = cond.id ? dg_concat(g, z, cond, 1) : z;
	h = dg_nn_dense(nn, "fc1", h, k.c.hidden, &k.dense);
	if (!k.k)
		return dg_nn_dense(nn, "out", h, (uint64_t)k.c.channels * k.c.height * k.c.width,
				   &k.out);
	uint64_t fh = k.c.height >> k.k, fw = k.c.width >> k.k, top = k.c.conv[k.k - 1];
	h = dg_nn_dense(nn, "fc2", h, top * fh * fw, &k.dense);
	int64_t map[4] = {-1, (int64_t)top, (int64_t)fh, (int64_t)fw};
	h = dg_reshape(g, h, 4, map);
	for (unsigned i = 1; i <= k.k; i++) {
		uint64_t oc = i < k.k ? k.c.conv[k.k - 1 - i] : k.c.channels;
		snprintf(name, sizeof name, "deconv%u", i);
		h = dg_nn_conv_transpose2d(nn, name, h, oc, 4, 2, 1, i < k.k ? &k.convs : &k.last);
	}
	return dg_flatten(g, h);
}
