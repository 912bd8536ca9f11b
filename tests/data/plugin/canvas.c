/* canvas.c — a family that draws images step by step (ABI 2's data-space
 * sampling), built out of tree by tests/t_inference.c.  Its "model" is a
 * counter: step pos writes pixel pos as the pixel before it plus t/steps,
 * so a sample from a blank canvas is the ramp (k+1)/steps and a completion
 * continues the ramp from the last kept pixel.  Every step must see the
 * canvas the previous one left, on the device, for that to come out.
 *
 * It trains a single scalar (the mean pixel) so that dg-train can make a
 * checkpoint of it. */
#include <dg.h>
#include <stdlib.h>

static int build(struct dg_model *m)
{
	struct dg_graph *g = m->g;
	dg_tensor mean = dg_param(g, "mean", DG_SHAPE(1), (struct dg_init){DG_INIT_ZEROS, 0, 0}, 0);
	dg_tensor loss = dg_mse_loss(g, dg_flatten(g, m->x), mean, DG_MEAN);
	struct dg_phase *p = dg_model_phase(m, "fit", loss, DG_GROUP(0));
	dg_model_term(m, p, "mse", loss);
	return dg_graph_status(g);
}

static int sample_step(struct dg_model *m, dg_tensor canvas, dg_tensor pos, float t,
		       dg_tensor y, struct dg_step_sampler *out)
{
	struct dg_graph *g = m->g;
	uint64_t n = dg_dim(g, canvas, 0), hw = (uint64_t)m->height * m->width;
	float *idx = malloc(hw * sizeof *idx);
	(void)y;
	if (!idx || m->channels != 1)
		return dg_graph_fail(g, idx ? DG_EUSAGE : DG_ENOMEM, "one channel only");
	for (uint64_t i = 0; i < hw; i++)
		idx[i] = (float)i;
	dg_tensor at = dg_constant(g, DG_SHAPE(1, hw), idx);
	free(idx);
	dg_tensor p = dg_cast(g, pos, 1);
	int64_t flat[2] = {(int64_t)n, (int64_t)hw};
	dg_tensor c = dg_reshape(g, canvas, 2, flat);
	dg_tensor before = dg_equal(g, at, dg_add_scalar(g, p, -1));
	dg_tensor prev = dg_sum(g, dg_mul(g, c, before), 2, 1);       /* n×1 */
	dg_tensor v = dg_add_scalar(g, prev, t / (float)hw);
	dg_tensor next = dg_where(g, dg_equal(g, at, p), v, c);
	int64_t shape[4] = {(int64_t)n, 1, m->height, m->width};
	out->next = dg_reshape(g, next, 4, shape);
	out->steps = hw;
	out->steps_per_row = m->width;
	return dg_graph_status(g);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = sizeof(struct dg_family),
	.name = "canvas",
	.summary = "a counter drawn pixel by pixel, for tests",
	.caps = DG_CAP_SAMPLE_STEPS,
	.build = build,
	.sample_step = sample_step,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
