/* nn/scope.c — scopes of the layer library: reading a plugin's structs
 * whatever their version, full names, and declaring a variable on its
 * first use and finding it again on later ones. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "dg/error.h"
#include "graph/graph_impl.h"
#include "nn/nn_impl.h"

/* The first version's sizes: every plugin's structs hold at least these. */
#define NN_SIZE_V1 (offsetof(struct dg_nn, prefix) + DG_NN_MAX_NAME)
#define OPT_SIZE_V1 (offsetof(struct dg_nn_opt, momentum) + sizeof(float))

/* Copies the first size bytes of a plugin's struct into a zeroed full
 * one: fields the plugin does not have keep their default, 0. */
static void read_struct(void *dst, size_t full, const void *src, size_t size)
{
	memset(dst, 0, full);
	memcpy(dst, src, size < full ? size : full);
}

int nn__valid(struct dg_graph *g, dg_tensor t)
{
	return !dg_graph_status(g) && t.id != 0 && dg_count(g, t) > 0;
}

int nn__scope(struct dg_nn *s, const struct dg_nn *nn)
{
	if (!nn || nn->struct_size < offsetof(struct dg_nn, g) + sizeof nn->g || !nn->g)
		return dg_error(DG_EUSAGE, "nn: a scope not set up by dg_nn_init");
	if (nn->struct_size < NN_SIZE_V1)
		return dg_graph_fail(nn->g, DG_EUSAGE, "nn: scope of %u bytes, want >= %zu "
				     "(set up by dg_nn_init)", nn->struct_size, NN_SIZE_V1);
	read_struct(s, sizeof *s, nn, nn->struct_size);
	s->struct_size = sizeof *s;
	if (memchr(s->prefix, 0, sizeof s->prefix) == NULL)
		return dg_graph_fail(nn->g, DG_EUSAGE, "nn: scope prefix not terminated");
	return dg_graph_status(nn->g);
}

/* A component of a name: 1 to 63 of [A-Za-z0-9_-]. */
static int good_component(const char *s, size_t len)
{
	if (len == 0 || len > 63)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Components separated by dots, each good. */
static int good_path(const char *s)
{
	const char *dot;
	while ((dot = strchr(s, '.')) != NULL) {
		if (!good_component(s, (size_t)(dot - s)))
			return 0;
		s = dot + 1;
	}
	return good_component(s, strlen(s));
}

/* out = prefix + name; 0, or -1 when too long. */
static int full_name(char out[DG_NN_MAX_NAME], const char *prefix, const char *name)
{
	int n = snprintf(out, DG_NN_MAX_NAME, "%s%s", prefix, name);
	return n < 0 || n >= DG_NN_MAX_NAME ? -1 : 0;
}

int dg_nn_init_(struct dg_nn *nn, size_t size, struct dg_graph *g, int training)
{
	if (size < NN_SIZE_V1) {
		if (g)
			return dg_graph_fail(g, DG_EUSAGE, "nn: scope of %zu bytes, want >= %zu",
					     size, NN_SIZE_V1);
		return dg_error(DG_EUSAGE, "nn: scope of %zu bytes and no graph", size);
	}
	memset(nn, 0, size);
	nn->struct_size = (uint32_t)size;
	nn->g = g;
	nn->training = training;
	return g ? dg_graph_status(g) : dg_error(DG_EUSAGE, "nn: no graph");
}

int dg_nn_scope(struct dg_nn *child, const struct dg_nn *parent, const char *name)
{
	struct dg_nn s;
	char prefix[DG_NN_MAX_NAME];
	int st = nn__scope(&s, parent);
	if (st)
		return st;
	if (!name || !good_component(name, strlen(name)))
		return dg_graph_fail(s.g, DG_EUSAGE, "nn: scope name '%s%s' is not 1 to 63 of "
				     "[A-Za-z0-9_-]", s.prefix, name ? name : "(null)");
	int n = snprintf(prefix, sizeof prefix, "%s%s.", s.prefix, name);
	if (n < 0 || n >= DG_NN_MAX_NAME - 2) /* room for a layer name */
		return dg_graph_fail(s.g, DG_EUSAGE, "nn: scope %s%s: name too long", s.prefix,
				     name);
	/* The plugin's own struct, all of it (fields this libdg does not
	 * know included), then the new prefix. */
	if (child != parent)
		memmove(child, parent, parent->struct_size);
	memcpy(child->prefix, prefix, sizeof prefix);
	return DG_OK;
}

int nn__layer(struct nn_layer *l, const struct dg_nn *nn, const char *name,
	      const struct dg_nn_opt *opt)
{
	int st = nn__scope(&l->s, nn);
	if (st)
		return st;
	l->g = l->s.g;
	if (opt && opt->struct_size < OPT_SIZE_V1)
		return dg_graph_fail(l->g, DG_EUSAGE, "nn: %s%s: options of %u bytes, want >= %zu "
				     "(write them with DG_NN_OPT)", l->s.prefix, name ? name : "",
				     opt->struct_size, OPT_SIZE_V1);
	if (opt)
		read_struct(&l->o, sizeof l->o, opt, opt->struct_size);
	else
		memset(&l->o, 0, sizeof l->o);
	l->o.struct_size = sizeof l->o;
	l->flags = l->s.flags | l->o.flags;
	if (!name) {
		size_t n = strlen(l->s.prefix);
		memcpy(l->name, l->s.prefix, n);
		l->name[n ? n - 1 : 0] = 0;
		return DG_OK;
	}
	if (!good_component(name, strlen(name)))
		return dg_graph_fail(l->g, DG_EUSAGE, "nn: layer name '%s%s' is not 1 to 63 of "
				     "[A-Za-z0-9_-]", l->s.prefix, name);
	if (full_name(l->name, l->s.prefix, name))
		return dg_graph_fail(l->g, DG_EUSAGE, "nn: %s%s: name longer than %d", l->s.prefix,
				     name, DG_NN_MAX_NAME - 1);
	return DG_OK;
}

void nn__rename(struct nn_layer *l, const char *name)
{
	if (snprintf(l->name, sizeof l->name, "%s%s", l->s.prefix, name ? name : "(null)") >=
	    (int)sizeof l->name)
		l->name[sizeof l->name - 1] = 0;
}

dg_tensor nn__fail(struct nn_layer *l, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dg_graph_fail(l->g, DG_EUSAGE, "%s: %s", l->name, msg);
	return DG_NONE;
}

dg_tensor nn__var(const struct dg_nn *s, const char *name, int buffer, unsigned rank,
		  const uint64_t *dims, struct dg_init init)
{
	struct dg_graph *g = s->g;
	char full[DG_NN_MAX_NAME], want[128], got[128];
	if (dg_graph_status(g))
		return DG_NONE;
	if (!name || !good_path(name)) {
		dg_graph_fail(g, DG_EUSAGE, "nn: variable name '%s%s' is not dot-separated "
			      "[A-Za-z0-9_-] words", s->prefix, name ? name : "(null)");
		return DG_NONE;
	}
	if (full_name(full, s->prefix, name)) {
		dg_graph_fail(g, DG_EUSAGE, "nn: %s%s: name longer than %d", s->prefix, name,
			      DG_NN_MAX_NAME - 1);
		return DG_NONE;
	}
	int32_t i = dg__find_var(g, full);
	if (i < 0 && buffer) {
		/* a buffer belongs to its scope's group too, so that an
		 * average of the group's weights can take its buffers
		 * (dg_optim_ema_buffers) */
		dg_tensor t = dg_buffer(g, full, rank, dims, init);
		if (t.id)
			g->vars[g->nodes[t.id].var].group = s->group;
		return t;
	}
	if (i < 0)
		return dg_param(g, full, rank, dims, init, s->group);
	/* Declared before: the same layer applied again, if it agrees. */
	const struct dg_var *v = &g->vars[i];
	int same = v->rank == rank;
	for (unsigned k = 0; same && k < rank; k++)
		same = v->dims[k] == dims[k];
	enum dg_var_kind kind = buffer ? DG_VAR_BUFFER : DG_VAR_PARAM;
	if (v->kind != kind || (!buffer && v->group != s->group) || !same) {
		dg_graph_fail(g, DG_EUSAGE, "%s: declared before as a %s %s%s%u, now wanted as a "
			      "%s %s in group %u", full,
			      v->kind == DG_VAR_PARAM ? "parameter" : v->kind == DG_VAR_BUFFER
			      ? "buffer" : "variable",
			      dg_shape_format(want, sizeof want, v->rank, v->dims),
			      " in group ", v->group, buffer ? "buffer" : "parameter",
			      dg_shape_format(got, sizeof got, rank, dims), s->group);
		return DG_NONE;
	}
	return (dg_tensor){v->node};
}

dg_tensor dg_nn_param(const struct dg_nn *nn, const char *name, unsigned rank,
		      const uint64_t *dims, struct dg_init init)
{
	struct dg_nn s;
	return nn__scope(&s, nn) ? DG_NONE : nn__var(&s, name, 0, rank, dims, init);
}

dg_tensor dg_nn_buffer(const struct dg_nn *nn, const char *name, unsigned rank,
		       const uint64_t *dims, struct dg_init init)
{
	struct dg_nn s;
	return nn__scope(&s, nn) ? DG_NONE : nn__var(&s, name, 1, rank, dims, init);
}
