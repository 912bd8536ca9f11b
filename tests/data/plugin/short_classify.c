/* short_classify.c — claims DG_CAP_CLASSIFY with a description that ends
 * before classify() (the size of ABI 2's first version): refused, as
 * libcore would read the function past the struct's end. */
#include <dg.h>

static int build(struct dg_model *m)
{
	return dg_graph_status(m->g);
}

static const struct dg_family family = {
	.abi_version = DG_PLUGIN_ABI,
	.struct_size = DG_FAMILY_SIZE_V2,
	.name = "shortclassify",
	.summary = "classify beyond its struct_size",
	.caps = DG_CAP_CLASSIFY,
	.build = build,
};

const struct dg_family *dg_family_entry(void)
{
	return &family;
}
