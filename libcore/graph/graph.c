/* graph/graph.c — graph lifetime, the sticky error, leaves and variables
 * (parameters, buffers, optimizer state) with their host transfers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg/graph.h"
#include "graph/backend.h"
#include "graph/graph_impl.h"

struct dg_graph *dg_graph_new(uint64_t seed)
{
	struct dg_graph *g = calloc(1, sizeof *g);
	uint64_t none = 0;

	if (!g) {
		dg_error_nomem("a graph", sizeof *g);
		return NULL;
	}
	g->seed = seed;
	g->nupds = 1;
	g->runs_var = -1;
	if (dg__new_node(g) != 0 || g->status) {   /* slot 0: id 0 stays invalid */
		free(g->nodes);
		free(g);
		dg_error_nomem("a graph", 0);
		return NULL;
	}
	g->runs_var = dg__new_var(g, "graph.runs", DG_VAR_COUNTER, 0, 0, &none,
				  (struct dg_init){0});
	if (g->runs_var < 0) {
		dg_graph_free(g);
		return NULL;
	}
	return g;
}

void dg_graph_free(struct dg_graph *g)
{
	if (!g)
		return;
	for (size_t i = 1; i < g->nnodes; i++) {
		free(g->nodes[i].name);
		free(g->nodes[i].cdata);
	}
	for (size_t i = 0; i < g->nvars; i++) {
		free(g->vars[i].name);
		dg_free(g->vars[i].host);
		if (g->vars[i].buf)
			g->be->release(g->dev, g->vars[i].buf);
	}
	if (g->dev)
		g->be->close(g->dev);
	free(g->nodes);
	free(g->vars);
	free(g->upds);
	free(g);
}

int dg_graph_status(const struct dg_graph *g)
{
	return g->status;
}

const char *dg_graph_error(const struct dg_graph *g)
{
	return g->err;
}

int dg__fail(struct dg_graph *g, int status, const char *fmt, ...)
{
	va_list ap;

	if (g->status)
		return g->status;
	g->status = status;
	va_start(ap, fmt);
	vsnprintf(g->err, sizeof g->err, fmt, ap);
	va_end(ap);
	return status;
}

void dg__graph_bn_momentum(struct dg_graph *g, float momentum)
{
	g->bn_momentum = momentum;
}

void dg__graph_clear_error(struct dg_graph *g)
{
	g->status = DG_OK;
	g->err[0] = '\0';
}

int dg_graph_fail(struct dg_graph *g, int status, const char *fmt, ...)
{
	va_list ap;

	if (g->status)
		return g->status;
	g->status = status;
	va_start(ap, fmt);
	vsnprintf(g->err, sizeof g->err, fmt, ap);
	va_end(ap);
	return status;
}

uint32_t dg__new_node(struct dg_graph *g)
{
	if (g->nnodes >= UINT32_MAX - 1) {
		dg__fail(g, DG_EUSAGE, "graph: too many nodes");
		return 0;
	}
	if (g->nnodes == g->capnodes) {
		size_t cap = g->capnodes ? 2 * g->capnodes : 256;
		struct dg_node *n = realloc(g->nodes, cap * sizeof *n);
		if (!n) {
			dg__fail(g, DG_ENOMEM, "graph: out of memory");
			return 0;
		}
		g->nodes = n;
		g->capnodes = cap;
	}
	memset(&g->nodes[g->nnodes], 0, sizeof g->nodes[0]);
	g->nodes[g->nnodes].var = -1;
	for (int i = 0; i < 3; i++)
		g->nodes[g->nnodes].state[i] = -1;
	return (uint32_t)g->nnodes++;
}

static int valid(const struct dg_graph *g, dg_tensor t)
{
	return t.id > 0 && t.id < g->nnodes;
}

unsigned dg_shape(const struct dg_graph *g, dg_tensor t, uint64_t dims[DG_MAX_RANK])
{
	if (!valid(g, t))
		return 0;
	if (dims)
		memcpy(dims, g->nodes[t.id].dims, sizeof g->nodes[t.id].dims);
	return g->nodes[t.id].rank;
}

uint64_t dg_dim(const struct dg_graph *g, dg_tensor t, int axis)
{
	if (!valid(g, t))
		return 0;
	const struct dg_node *n = &g->nodes[t.id];
	if (axis < 0)
		axis += n->rank;
	return axis >= 0 && axis < n->rank ? n->dims[axis] : 0;
}

uint64_t dg_count(const struct dg_graph *g, dg_tensor t)
{
	return valid(g, t) ? g->nodes[t.id].count : 0;
}

dg_tensor dg_name(struct dg_graph *g, dg_tensor t, const char *name)
{
	if (!valid(g, t) || g->nodes[t.id].op == OP_INPUT)
		return t;
	char *s = strdup(name);
	if (!s) {
		dg__fail(g, DG_ENOMEM, "name: out of memory");
		return DG_NONE;
	}
	free(g->nodes[t.id].name);
	g->nodes[t.id].name = s;
	return t;
}

static int check_shape(struct dg_graph *g, const char *what, unsigned rank,
		       const uint64_t *dims, uint64_t *count)
{
	uint64_t n = 1;

	if (rank > DG_MAX_RANK)
		return dg__fail(g, DG_EUSAGE, "%s: rank %u exceeds %d", what, rank, DG_MAX_RANK);
	for (unsigned i = 0; i < rank; i++) {
		if (!dims[i] || dims[i] > (1ull << 40) / n)
			return dg__fail(g, DG_EUSAGE, "%s: bad dim %llu on axis %u", what,
					(unsigned long long)dims[i], i);
		n *= dims[i];
	}
	*count = n;
	return DG_OK;
}

static uint32_t leaf(struct dg_graph *g, enum dg_op op, const char *what, int dtype,
		     unsigned rank, const uint64_t *dims)
{
	uint64_t count;
	uint32_t id;

	if (g->status || check_shape(g, what, rank, dims, &count))
		return 0;
	if (!(id = dg__new_node(g)))
		return 0;
	struct dg_node *n = &g->nodes[id];
	n->op = op;
	n->dtype = (uint8_t)dtype;
	n->rank = (uint8_t)rank;
	for (unsigned i = 0; i < rank; i++)
		n->dims[i] = dims[i];
	n->count = count;
	return id;
}

dg_tensor dg_input(struct dg_graph *g, const char *name, int dtype, unsigned rank,
		   const uint64_t *dims)
{
	uint32_t id;

	if (g->status)
		return DG_NONE;
	if (dtype != DG_F32 && dtype != DG_U8 && dtype != DG_I32) {
		dg__fail(g, DG_EUSAGE, "input %s: dtype %s is not f32, u8 or i32", name,
			 dg_dtype_name(dtype));
		return DG_NONE;
	}
	for (size_t i = 1; i < g->nnodes; i++)
		if (g->nodes[i].op == OP_INPUT && strcmp(g->nodes[i].name, name) == 0) {
			dg__fail(g, DG_EUSAGE, "input %s: name already used", name);
			return DG_NONE;
		}
	if (!(id = leaf(g, OP_INPUT, "input", dtype, rank, dims)))
		return DG_NONE;
	if (!(g->nodes[id].name = strdup(name))) {
		dg__fail(g, DG_ENOMEM, "input: out of memory");
		return DG_NONE;
	}
	return (dg_tensor){id};
}

int32_t dg__find_var(const struct dg_graph *g, const char *name)
{
	for (size_t i = 0; i < g->nvars; i++)
		if (strcmp(g->vars[i].name, name) == 0)
			return (int32_t)i;
	return -1;
}

int32_t dg__new_var(struct dg_graph *g, const char *name, enum dg_var_kind kind,
		    unsigned group, unsigned rank, const uint64_t *dims, struct dg_init init)
{
	uint64_t count;
	uint32_t id = 0;

	if (g->status || check_shape(g, name, rank, dims, &count))
		return -1;
	if (dg__find_var(g, name) >= 0) {
		dg__fail(g, DG_EUSAGE, "variable %s: name already used", name);
		return -1;
	}
	if (g->nvars == g->capvars) {
		size_t cap = g->capvars ? 2 * g->capvars : 64;
		struct dg_var *v = realloc(g->vars, cap * sizeof *v);
		if (!v) {
			dg__fail(g, DG_ENOMEM, "variable %s: out of memory", name);
			return -1;
		}
		g->vars = v;
		g->capvars = cap;
	}
	struct dg_var *v = &g->vars[g->nvars];
	memset(v, 0, sizeof *v);
	v->ema = -1;
	v->kind = kind;
	v->group = group;
	v->rank = rank;
	memcpy(v->dims, dims, rank * sizeof *dims);
	v->count = count;
	if (!(v->name = strdup(name))) {
		dg__fail(g, DG_ENOMEM, "variable %s: out of memory", name);
		return -1;
	}
	if (kind != DG_VAR_COUNTER) {
		int st = dg__init_check(rank, init);
		v->init = init;
		v->init_stream = DG_VAR_STREAM | g->nvars;
		if (st || !(id = leaf(g, OP_VAR, name, DG_F32, rank, dims))) {
			free(v->name);
			if (st)
				dg__fail(g, st, "variable %s: %s", name, dg_errmsg());
			return -1;
		}
		g->nodes[id].var = (int32_t)g->nvars;
		v->node = id;
	}
	return (int32_t)g->nvars++;
}

dg_tensor dg_param(struct dg_graph *g, const char *name, unsigned rank,
		   const uint64_t *dims, struct dg_init init, unsigned group)
{
	if (!g->status && group >= DG_MAX_GROUPS) {
		dg__fail(g, DG_EUSAGE, "param %s: group %u >= %d", name, group, DG_MAX_GROUPS);
		return DG_NONE;
	}
	int32_t v = dg__new_var(g, name, DG_VAR_PARAM, group, rank, dims, init);
	return v < 0 ? DG_NONE : (dg_tensor){g->vars[v].node};
}

dg_tensor dg_variable(struct dg_graph *g, const char *name, unsigned rank,
		      const uint64_t *dims)
{
	int32_t v = dg__new_var(g, name, DG_VAR_SCRATCH, 0, rank, dims,
				(struct dg_init){DG_INIT_ZEROS, 0, 0});
	return v < 0 ? DG_NONE : (dg_tensor){g->vars[v].node};
}

dg_tensor dg_buffer(struct dg_graph *g, const char *name, unsigned rank,
		    const uint64_t *dims, struct dg_init init)
{
	int32_t v = dg__new_var(g, name, DG_VAR_BUFFER, 0, rank, dims, init);
	return v < 0 ? DG_NONE : (dg_tensor){g->vars[v].node};
}

dg_tensor dg_full(struct dg_graph *g, unsigned rank, const uint64_t *dims, float v)
{
	uint32_t id = leaf(g, OP_FILL, "full", DG_F32, rank, dims);
	if (id)
		g->nodes[id].fa[0] = v;
	return (dg_tensor){id};
}

dg_tensor dg_scalar(struct dg_graph *g, float v)
{
	return dg_full(g, 0, NULL, v);
}

dg_tensor dg_constant(struct dg_graph *g, unsigned rank, const uint64_t *dims,
		      const float *data)
{
	uint32_t id = leaf(g, OP_CONST, "constant", DG_F32, rank, dims);
	if (!id)
		return DG_NONE;
	struct dg_node *n = &g->nodes[id];
	if (!(n->cdata = malloc(n->count * sizeof(float)))) {
		dg__fail(g, DG_ENOMEM, "constant: out of memory");
		return DG_NONE;
	}
	memcpy(n->cdata, data, n->count * sizeof(float));
	return (dg_tensor){id};
}

/* ---- variables on the host side ------------------------------------------ */

int dg__var_host(struct dg_graph *g, struct dg_var *v, int fill)
{
	int st;

	if (!v->host && !(v->host = dg_alloc(v->count * sizeof(float))))
		return DG_ENOMEM;
	if (fill && !v->initialized) {
		/* the graph's seed and the variable's own stream: the values do
		 * not depend on when they are drawn */
		if ((st = dg__init_fill(v->host, v->rank, v->dims, v->count, v->init, g->seed,
					v->init_stream)))
			return dg_error_context(st, "variable %s", v->name);
	}
	v->initialized = 1;
	return DG_OK;
}

size_t dg_var_count(const struct dg_graph *g)
{
	return g->nvars;
}

const char *dg_var_name(const struct dg_graph *g, size_t i)
{
	return i < g->nvars ? g->vars[i].name : NULL;
}

enum dg_var_kind dg_var_kind(const struct dg_graph *g, size_t i)
{
	return i < g->nvars ? g->vars[i].kind : 0;
}

unsigned dg_var_shape(const struct dg_graph *g, size_t i, uint64_t dims[DG_MAX_RANK])
{
	if (i >= g->nvars)
		return 0;
	if (dims)
		memcpy(dims, g->vars[i].dims, g->vars[i].rank * sizeof *dims);
	return g->vars[i].rank;
}

dg_tensor dg_var_tensor(const struct dg_graph *g, const char *name)
{
	int32_t i = dg__find_var(g, name);
	if (i < 0 || (g->vars[i].kind != DG_VAR_PARAM && g->vars[i].kind != DG_VAR_BUFFER))
		return DG_NONE;
	return (dg_tensor){g->vars[i].node};
}

int dg_var_get(struct dg_graph *g, const char *name, struct dg_array **out)
{
	int32_t i = dg__find_var(g, name);
	struct dg_array *a;
	int st = DG_OK;

	*out = NULL;
	if (i < 0)
		return dg_error(DG_ENOINPUT, "no variable named %s", name);
	struct dg_var *v = &g->vars[i];
	if (v->kind == DG_VAR_COUNTER) {
		if (!(a = dg_array_new(DG_I64, 0, NULL)))
			return DG_ENOMEM;
		*(int64_t *)a->data = v->counter;
		*out = a;
		return DG_OK;
	}
	if (!(a = dg_array_new(DG_F32, v->rank, v->dims)))
		return DG_ENOMEM;
	if (v->buf)
		st = g->be->read(g->dev, v->buf, 0, a->data, v->count * sizeof(float));
	else if (!(st = dg__var_host(g, v, 1)))
		memcpy(a->data, v->host, v->count * sizeof(float));
	if (st) {
		dg_array_free(a);
		return st;
	}
	*out = a;
	return DG_OK;
}

int dg_var_set(struct dg_graph *g, const char *name, const struct dg_array *a)
{
	int32_t i = dg__find_var(g, name);
	char want[128], got[128];
	int st;

	if (i < 0)
		return dg_error(DG_ENOINPUT, "no variable named %s", name);
	struct dg_var *v = &g->vars[i];
	int dtype = v->kind == DG_VAR_COUNTER ? DG_I64 : DG_F32;
	int same = a->dtype == (enum dg_dtype)dtype && a->rank == v->rank;
	for (unsigned k = 0; same && k < v->rank; k++)
		same = a->dims[k] == v->dims[k];
	if (!same)
		return dg_error(DG_EDATA, "variable %s: is %s %s, got %s %s", name,
				dg_dtype_name(dtype), dg_shape_format(want, sizeof want, v->rank, v->dims),
				dg_dtype_name(a->dtype), dg_shape_format(got, sizeof got, a->rank, a->dims));
	if (v->kind == DG_VAR_COUNTER) {
		v->counter = *(const int64_t *)a->data;
		return DG_OK;
	}
	if (v->buf)
		return g->be->write(g->dev, v->buf, 0, a->data, v->count * sizeof(float));
	if ((st = dg__var_host(g, v, 0)))
		return st;
	memcpy(v->host, a->data, v->count * sizeof(float));
	return DG_OK;
}

int dg_graph_swap_ema(struct dg_graph *g)
{
	for (size_t i = 0; i < g->nvars; i++) {
		struct dg_array *p = NULL, *e = NULL;
		int st;
		if (g->vars[i].ema < 0)
			continue;
		const char *en = g->vars[g->vars[i].ema].name;
		if (!(st = dg_var_get(g, g->vars[i].name, &p)) && !(st = dg_var_get(g, en, &e)) &&
		    !(st = dg_var_set(g, g->vars[i].name, e)))
			st = dg_var_set(g, en, p);
		dg_array_free(p);
		dg_array_free(e);
		if (st)
			return st;
	}
	return DG_OK;
}

int dg_graph_use_ema(struct dg_graph *g)
{
	for (size_t i = 0; i < g->nvars; i++) {
		struct dg_array *a;
		int st;
		if (g->vars[i].ema < 0)
			continue;
		if ((st = dg_var_get(g, g->vars[g->vars[i].ema].name, &a)))
			return st;
		st = dg_var_set(g, g->vars[i].name, a);
		dg_array_free(a);
		if (st)
			return st;
	}
	return DG_OK;
}
