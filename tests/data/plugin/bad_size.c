/* bad_size.c — a description shorter than ABI 2's struct: refused, as
 * libcore would read past its end. */
#include <dg.h>

static int build(struct dg_model *m)
{
	return dg_graph_status(m->g);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = 8,
	.name = "badsize",
	.summary = "struct too small",
	.build = build,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
