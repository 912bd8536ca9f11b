/* bad_default.c — a hyperparameter whose default is outside its own
 * range: refused at load time, not when a user first trains. */
#include <dg.h>

static int build(struct dg_model *m)
{
	return dg_graph_status(m->g);
}

static const struct dg_hparam hparams[] = {
	{"width", DG_HP_INT, "0", 1, 10, NULL, "a width"},
	{0},
};

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = sizeof(struct dg_family),
	.name = "baddefault",
	.summary = "default out of range",
	.hparams = hparams,
	.build = build,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
