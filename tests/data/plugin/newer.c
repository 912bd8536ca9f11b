/* newer.c — a plugin built against a future minor version of the ABI:
 * its description is longer than this dg knows (fields appended later).
 * The loader must accept it and ignore the tail. */
#include <dg.h>

static int build(struct dg_model *m)
{
	dg_model_phase(m, "fit", dg_scalar(m->g, 0), DG_GROUP(0));
	return dg_graph_status(m->g);
}

/* What a later dg_family might look like: the same start, more after. */
static const struct {
	struct dg_family base;
	void (*added_later)(void);
	uint64_t also_added;
} family = {
	.base = {
		.abi_version = DG_PLUGIN_ABI,
		.struct_size = sizeof family,
		.name = "newer",
		.summary = "built for a later minor version",
		.build = build,
	},
};

const struct dg_family *dg_family_entry(void)
{
	return &family.base;
}
