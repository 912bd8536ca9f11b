/* bad_abi.c — a plugin built for an ABI that does not exist yet: refused. */
#include <dg.h>

static int build(struct dg_model *m)
{
	return dg_graph_status(m->g);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI + 98,
	.struct_size = sizeof(struct dg_family),
	.name = "badabi",
	.summary = "wrong ABI version",
	.build = build,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
