/* graph/exec.c — compile a graph into an executable step: pick the nodes
 * the outputs and updates need, schedule them, plan intermediate memory by
 * liveness, hand the kernel list to the backend; then feed, run, read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/backend.h"
#include "graph/graph_impl.h"
#include "graph/guard.h"

struct exec_input {
	const char *name;       /* the node's name */
	uint32_t node;
	int dtype;
	uint64_t count;
	void *buf;
};

struct dg_exec {
	struct dg_graph *g;
	void *prog;
	void *arena;
	struct exec_input *inputs;
	size_t ninputs;
	void **consts;
	size_t nconsts;
	struct dg_bref *outs;
	uint32_t *out_nodes;
	size_t nouts;
	int *upd;               /* update ids run by this step */
	float (*rt)[DG_RT_COUNT]; /* their per-run scalars */
	size_t nupd;
	int profile;
	struct dg_exec_stats stats;
	struct dg_guards guards;        /* DG_GUARD (graph/guard.h) */
};

static const struct dg_backend *pick_backend(const char *spec)
{
	if (!spec || !strcmp(spec, "cpu"))
		return &dg_cpu_backend;
	if (!strcmp(spec, "vulkan") || !strncmp(spec, "vulkan:", 7))
		return &dg_vk_backend;
	return NULL;
}

/* A variable's buffer with DG_GUARD's guard after its values. */
static int alloc_guarded(struct dg_graph *g, struct dg_var *v, uint64_t gb)
{
	uint64_t bytes = v->count * sizeof(float);
	unsigned char *pat = malloc(gb);
	int st;

	if (!pat)
		return dg_error_nomem("a guard", gb);
	dg__guard_fill(pat, bytes, gb);
	if (!(st = g->be->alloc(g->dev, bytes + gb, &v->buf)))
		st = g->be->write(g->dev, v->buf, bytes, pat, gb);
	free(pat);
	v->guard = st ? 0 : gb;
	return st;
}

static int bind_used(struct dg_graph *g, const struct dg_backend *be, const char *spec,
		     const uint8_t *use)
{
	uint64_t gb = dg__guard_bytes();
	int st;

	if (g->dev && be != g->be)
		return dg_error(DG_EUSAGE, "graph already compiled for device %s", g->be->name);
	if (!g->dev) {
		if ((st = be->open(spec, &g->dev)))
			return st;
		g->be = be;
	}
	for (size_t i = 0; i < g->nvars; i++) {
		struct dg_var *v = &g->vars[i];
		if (v->kind == DG_VAR_COUNTER || v->buf || !use[i])
			continue;
		if ((st = dg__var_host(g, v, 1)))
			return st;
		if (gb) {
			if ((st = alloc_guarded(g, v, gb)) ||
			    (st = be->write(g->dev, v->buf, 0, v->host, v->count * sizeof(float)))) {
				if (v->buf)
					be->release(g->dev, v->buf);
				v->buf = NULL;
				return st;
			}
			dg_free(v->host);
			v->host = NULL;
			continue;
		}
		if (be->adopt) {
			if ((st = be->adopt(g->dev, v->host, v->count * sizeof(float), &v->buf)))
				return st;
			v->host = NULL;
			continue;
		}
		if ((st = be->alloc(g->dev, v->count * sizeof(float), &v->buf)) ||
		    (st = be->write(g->dev, v->buf, 0, v->host, v->count * sizeof(float)))) {
			if (v->buf)
				be->release(g->dev, v->buf);
			v->buf = NULL;
			return st;
		}
		dg_free(v->host);
		v->host = NULL;
	}
	return DG_OK;
}

/* Binds the graph to a device on first use and gives a device buffer to
 * every variable the step reads or updates (need[] marks its nodes).
 * Variables no step has needed yet stay on the host, undrawn: a tool that
 * only samples from a VAE's prior never touches its decoder's weights. */
static int bind(struct dg_graph *g, const struct dg_backend *be, const char *spec,
		const uint8_t *need)
{
	uint8_t *use = calloc(g->nvars ? g->nvars : 1, 1);
	int st;

	if (!use)
		return dg_error_nomem("a compiled step", g->nvars);
	for (size_t id = 1; id < g->nnodes; id++) {
		const struct dg_node *n = &g->nodes[id];
		if (!need[id])
			continue;
		if (n->op == OP_VAR)
			use[n->var] = 1;
		for (unsigned k = 0; k < 3; k++)
			if (n->state[k] >= 0 && (dg_opdefs[n->op].flags & OPF_SIDE))
				use[n->state[k]] = 1;
	}
	st = bind_used(g, be, spec, use);
	free(use);
	return st;
}

void dg_exec_free(struct dg_exec *e)
{
	if (!e)
		return;
	struct dg_graph *g = e->g;
	if (e->prog)
		g->be->unprepare(g->dev, e->prog);
	if (e->arena)
		g->be->release(g->dev, e->arena);
	for (size_t i = 0; i < e->ninputs; i++)
		if (e->inputs[i].buf)
			g->be->release(g->dev, e->inputs[i].buf);
	for (size_t i = 0; i < e->nconsts; i++)
		if (e->consts[i])
			g->be->release(g->dev, e->consts[i]);
	free(e->inputs);
	free(e->consts);
	free(e->outs);
	free(e->out_nodes);
	free(e->upd);
	free(e->rt);
	dg__guard_free(&e->guards);
	g->nexec--;
	free(e);
}

struct block {
	uint64_t off, size;
	size_t last;
};

/* First-fit placement among the live blocks (sorted by offset). */
static uint64_t place(struct block *live, size_t *nlive, uint64_t size, size_t last)
{
	uint64_t off = 0;
	size_t i;
	for (i = 0; i < *nlive; i++) {
		if (live[i].off >= off + size)
			break;
		if (live[i].off + live[i].size > off)
			off = live[i].off + live[i].size;
	}
	memmove(&live[i + 1], &live[i], (*nlive - i) * sizeof *live);
	live[i] = (struct block){off, size, last};
	(*nlive)++;
	return off;
}

/* DG_GUARD's placement: every block after the last one, between guards
 * of gb bytes, so that no block is ever written over another's guard. */
static uint64_t place_guarded(struct block *live, size_t *nlive, uint64_t size, size_t last,
			      uint64_t *end, uint64_t gb)
{
	uint64_t off = *end + gb;
	live[(*nlive)++] = (struct block){off, size, last};
	*end = off + size + gb;
	return off;
}

static void print_node(const struct dg_graph *g, uint32_t id, const struct dg_bref *r,
		       const void *arena)
{
	const struct dg_node *n = &g->nodes[id];
	char shape[128];
	fprintf(stderr, "  %%%u = %s(", id, dg_opdefs[n->op].name);
	for (unsigned k = 0; k < n->nin; k++)
		fprintf(stderr, "%s%%%u", k ? ", " : "", n->in[k]);
	fprintf(stderr, ") %s %s", dg_dtype_name(n->dtype),
		dg_shape_format(shape, sizeof shape, n->rank, n->dims));
	if (n->name)
		fprintf(stderr, " \"%s\"", n->name);
	if (r && r->buf == arena)
		fprintf(stderr, " @%llu", (unsigned long long)r->off);
	fputc('\n', stderr);
}

/* Epilogue fusion: a 2-d matmul (or a convolution) whose only reader adds
 * a bias of N columns (of C channels), optionally followed by an
 * activation that is the only reader of the sum, runs as one kernel call.  fuse[final] names the
 * matmul; skip[] marks the nodes folded away. */
struct fusion {
	uint32_t mm, bias;
	uint8_t act;
	float alpha;
};

static int act_of(const struct dg_node *n, float *alpha)
{
	*alpha = n->fa[0];
	switch (n->op) {
	case OP_RELU: return DG_ACT_RELU;
	case OP_LEAKY: return DG_ACT_LEAKY_RELU;
	case OP_ELU: return DG_ACT_ELU;
	case OP_TANH: return DG_ACT_TANH;
	case OP_SIGMOID: return DG_ACT_SIGMOID;
	}
	return 0;
}

static void fuse_epilogues(const struct dg_graph *g, const uint8_t *need, size_t nn,
			   size_t nout, const dg_tensor *outs, uint8_t *skip, struct fusion *fuse)
{
	uint32_t *uses = calloc(nn, sizeof *uses), *reader = calloc(nn, sizeof *reader);
	const char *env = getenv("DG_NO_FUSION");

	if (!uses || !reader || (env && *env && strcmp(env, "0"))) {
		free(uses);
		free(reader);
		return;   /* fusion is an optimization: without memory, skip it */
	}
	for (size_t id = 1; id < nn; id++)
		if (need[id])
			for (unsigned k = 0; k < g->nodes[id].nin; k++) {
				uses[g->nodes[id].in[k]]++;
				reader[g->nodes[id].in[k]] = (uint32_t)id;
			}
	for (size_t i = 0; i < nout; i++)
		uses[outs[i].id] += 2;
	for (size_t id = 1; id < nn; id++) {
		const struct dg_node *m = &g->nodes[id];
		int conv = m->op == OP_CONV;
		if (!need[id] || !((m->op == OP_MATMUL && m->rank == 2) || conv) || uses[id] != 1)
			continue;
		const struct dg_node *a = &g->nodes[reader[id]];
		if (a->op != OP_ADD || a->rank != m->rank || memcmp(a->dims, m->dims, m->rank * sizeof *a->dims) ||
		    a->in[0] == a->in[1])
			continue;
		uint32_t b = a->in[0] == id ? a->in[1] : a->in[0];
		const struct dg_node *bn = &g->nodes[b];
		/* A bias over the columns of a matrix (N or 1×N), or over the
		 * channels of an image (1×C×1×1).  It must stay a tensor of its
		 * own: not a product that could be fused away itself (as in a sum
		 * of two gradients). */
		uint64_t nb = conv ? m->dims[1] : m->dims[1];
		int shape_ok = conv ? bn->rank == 4 && bn->dims[0] == 1 && bn->dims[2] == 1 &&
					      bn->dims[3] == 1
				    : bn->rank == 1 || (bn->rank == 2 && bn->dims[0] == 1);
		if (bn->count != nb || !shape_ok || bn->op == OP_MATMUL || bn->op == OP_CONV || skip[b])
			continue;
		uint32_t final = reader[id];
		struct fusion f = {(uint32_t)id, b, 0, 0};
		if (uses[final] == 1) {
			const struct dg_node *act = &g->nodes[reader[final]];
			float alpha;
			int code = act_of(act, &alpha);
			if (code) {
				skip[final] = 1;
				final = reader[final];
				f.act = (uint8_t)code;
				f.alpha = alpha;
			}
		}
		skip[id] = 1;
		fuse[final] = f;
	}
	free(uses);
	free(reader);
}

/* DG_GUARD: the arena's host image (all pattern) and the guards of the
 * variables the step uses, each with the call that writes it if any. */
static int guard_arena_and_vars(struct dg_exec *e, const uint8_t *need, const uint32_t *sched,
				size_t nsched)
{
	struct dg_graph *g = e->g;
	struct dg_guards *gs = &e->guards;
	uint32_t *writer = calloc(g->nvars + 1, sizeof *writer);
	int st = DG_OK;

	gs->arena = e->arena;
	gs->arena_bytes = e->stats.peak_bytes;
	if (!writer || !(gs->img = malloc(gs->arena_bytes ? gs->arena_bytes : 1))) {
		free(writer);
		return dg_error_nomem("guards", gs->arena_bytes);
	}
	dg__guard_fill(gs->img, 0, gs->arena_bytes);
	for (size_t p = 0; p < nsched; p++) {
		const struct dg_node *n = &g->nodes[sched[p]];
		if (!(dg_opdefs[n->op].flags & OPF_SIDE))
			continue;
		writer[g->nodes[n->in[0]].var] = sched[p];
		for (int k = 0; k < 3; k++)
			if (n->state[k] >= 0)
				writer[n->state[k]] = sched[p];
	}
	for (size_t i = 0; i < g->nvars && !st; i++) {
		const struct dg_var *v = &g->vars[i];
		if (v->buf && v->guard && (need[v->node] || writer[i]))
			st = dg__guard_add(gs, (struct dg_guard){.buf = v->buf,
				.off = v->count * sizeof(float), .bytes = v->guard, .node = v->node,
				.writer = writer[i], .op = OP_VAR});
	}
	free(writer);
	return st;
}

static int compile(struct dg_exec *e, const char *device, size_t nout, const dg_tensor *outs,
		   size_t nupd, const int *upds)
{
	struct dg_graph *g = e->g;
	size_t nn = g->nnodes, nsched = 0, nlive = 0, ncalls = 0;
	uint8_t *need = calloc(nn, 1);
	uint32_t *sched = malloc(nn * sizeof *sched), *root = calloc(nn, sizeof *root);
	size_t *last = calloc(nn, sizeof *last), *pos = calloc(nn, sizeof *pos);
	struct dg_bref *ref = calloc(nn, sizeof *ref);
	struct block *live = malloc(nn * sizeof *live);
	struct dg_kcall *calls = calloc(nn, sizeof *calls);
	uint8_t *skip = calloc(nn, 1), *in_arena = calloc(nn, 1);
	struct fusion *fuse = calloc(nn, sizeof *fuse);
	const struct dg_backend *be = pick_backend(device);
	uint64_t gb = dg__guard_bytes(), gend = 0;
	size_t *gidx = gb ? calloc(nn, sizeof *gidx) : NULL;
	int st = DG_OK;

	if (!need || !sched || !root || !last || !pos || !ref || !live || !calls || !skip || !fuse ||
	    !in_arena || (gb && !gidx)) {
		st = dg_error_nomem("a compiled step", nn * 64);
		goto out;
	}
	if (!be) {
		st = dg_error(DG_EUSAGE, "device %s: not a device name (cpu, vulkan, vulkan:N)",
			      device);
		goto out;
	}
	for (size_t i = 0; i < nout; i++) {
		if (!outs[i].id || outs[i].id >= nn) {
			st = dg_error(DG_EUSAGE, "compile: output %zu is not a tensor", i);
			goto out;
		}
		need[outs[i].id] = 1;
	}
	for (size_t i = 0; i < nupd; i++)
		if (upds[i] <= 0 || (size_t)upds[i] >= g->nupds) {
			st = dg_error(DG_EUSAGE, "compile: %d is not an update id", upds[i]);
			goto out;
		}
	for (size_t id = 1; id < nn; id++) {
		const struct dg_node *n = &g->nodes[id];
		if (n->op >= OP_UPD_SGD && n->op <= OP_EMA && n->op != OP_ASSIGN)
			for (size_t i = 0; i < nupd; i++)
				if (n->ia[0] == upds[i])
					need[id] = 1;
	}
	/* Mark what the roots need; assignments (running statistics) come
	 * along with the tensor that triggers them. */
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t id = nn - 1; id > 0; id--)
			if (need[id])
				for (unsigned k = 0; k < g->nodes[id].nin; k++)
					need[g->nodes[id].in[k]] = 1;
		for (size_t id = 1; id < nn; id++)
			if (g->nodes[id].op == OP_ASSIGN && !need[id] &&
			    need[g->nodes[id].ia[0]]) {
				need[id] = 1;
				changed = 1;
			}
	}
	fuse_epilogues(g, need, nn, nout, outs, skip, fuse);
	/* Schedule: creation order (a topological order), side effects last
	 * so every read of a variable happens before it is updated. */
	for (int side = 0; side < 2; side++)
		for (size_t id = 1; id < nn; id++)
			if (need[id] && !skip[id] &&
			    !!(dg_opdefs[g->nodes[id].op].flags & OPF_SIDE) == side) {
				pos[id] = nsched;
				sched[nsched++] = (uint32_t)id;
			}
	/* Liveness over alias roots (a reshape shares its input's buffer). */
	for (size_t p = 0; p < nsched; p++) {
		uint32_t id = sched[p], vin[DG_NODE_MAXIN];
		const struct dg_node *n = &g->nodes[id];
		unsigned nvin = n->nin;
		memcpy(vin, n->in, sizeof vin);
		if (fuse[id].mm) {      /* a fused call reads the matmul's inputs and the bias */
			vin[0] = g->nodes[fuse[id].mm].in[0];
			vin[1] = g->nodes[fuse[id].mm].in[1];
			vin[2] = fuse[id].bias;
			nvin = 3;
		}
		root[id] = n->op == OP_RESHAPE ? root[n->in[0]] : id;
		for (unsigned k = 0; k < nvin; k++) {
			if (!need[vin[k]] || skip[vin[k]]) {
				st = dg_error(DG_EINTERNAL, "compile: %%%u reads %%%u, which is not scheduled",
					      id, vin[k]);
				goto out;
			}
			if (last[root[vin[k]]] < p)
				last[root[vin[k]]] = p;
		}
	}
	for (size_t i = 0; i < nout; i++)
		last[root[outs[i].id]] = SIZE_MAX;
	/* The kernel list, and whether the backend runs every call: asked
	 * before anything is bound, so a refusal leaves the graph free. */
	for (size_t p = 0; p < nsched && !st; p++) {
		uint32_t id = sched[p];
		const struct dg_node *n = &g->nodes[id];
		if (dg_opdefs[n->op].flags & (OPF_LEAF | OPF_ALIAS))
			continue;
		struct dg_kcall *c = &calls[ncalls++];
		c->n = *n;
		c->id = id;
		if (fuse[id].mm) {
			c->n = g->nodes[fuse[id].mm];
			c->act = fuse[id].act;
			c->alpha = fuse[id].alpha;
		}
		for (unsigned k = 0; k < c->n.nin; k++)
			c->in_node[k] = g->nodes[c->n.in[k]];
		st = be->supports_op(c);
	}
	if (st || (st = bind(g, be, device, need)))
		goto out;
	/* Leaves get buffers of their own; intermediates get arena offsets. */
	for (size_t p = 0; p < nsched && !st; p++) {
		uint32_t id = sched[p];
		struct dg_node *n = &g->nodes[id];
		uint64_t bytes = n->count * dg_dtype_size(n->dtype);
		void *buf = NULL;
		switch (n->op) {
		case OP_VAR:
			ref[id].buf = g->vars[n->var].buf;
			continue;
		case OP_RESHAPE:
			ref[id] = ref[n->in[0]];
			continue;
		case OP_INPUT:
		case OP_CONST:
		case OP_FILL:
			if ((st = g->be->alloc(g->dev, bytes + gb, &buf)))
				break;
			ref[id].buf = buf;
			if (gb && (st = dg__guard_add(&e->guards, (struct dg_guard){
					.buf = buf, .off = bytes, .bytes = gb, .node = id, .op = n->op}))) {
				g->be->release(g->dev, buf);
				break;
			}
			if (n->op == OP_INPUT) {
				struct exec_input *in = realloc(e->inputs, (e->ninputs + 1) * sizeof *in);
				if (!in) {
					g->be->release(g->dev, buf);
					st = dg_error_nomem("inputs", 0);
					break;
				}
				e->inputs = in;
				in[e->ninputs++] = (struct exec_input){n->name, id, n->dtype, n->count, buf};
				continue;
			}
			void **c = realloc(e->consts, (e->nconsts + 1) * sizeof *c);
			if (!c) {
				g->be->release(g->dev, buf);
				st = dg_error_nomem("constants", 0);
				break;
			}
			e->consts = c;
			c[e->nconsts++] = buf;
			if (n->op == OP_CONST) {
				st = g->be->write(g->dev, buf, 0, n->cdata, bytes);
			} else {
				float *f = malloc(bytes ? bytes : 4);
				if (!f) {
					st = dg_error_nomem("constants", bytes);
					break;
				}
				for (uint64_t k = 0; k < n->count; k++)
					f[k] = n->fa[0];
				st = g->be->write(g->dev, buf, 0, f, bytes);
				free(f);
			}
			continue;
		default:
			break;
		}
		if (st || !bytes)
			continue;
		/* Free the blocks whose last reader ran before this node. */
		size_t j = 0;
		for (size_t i = 0; i < nlive; i++)
			if (live[i].last >= p)
				live[j++] = live[i];
		nlive = j;
		uint64_t size = (bytes + 63) & ~(uint64_t)63;
		e->stats.intermediate_bytes += size;
		ref[id].buf = NULL;     /* the arena, filled in below */
		/* In place: an elementwise op may write over a same-sized input
		 * that it reads last (element i is read before it is written). */
		int inplace = 0;
		if (!fuse[id].mm && (dg_opdefs[n->op].flags & (OPF_UNARY | OPF_BINARY)))
			for (unsigned k = 0; k < n->nin && !inplace; k++) {
				uint32_t r = root[n->in[k]];
				if (!in_arena[r] || last[r] != p || g->nodes[r].count != n->count)
					continue;
				for (size_t i = 0; i < nlive; i++)
					if (live[i].off == ref[r].off) {
						live[i].last = last[id];
						ref[id].off = ref[r].off;
						inplace = 1;
						if (gb) {
							gidx[id] = gidx[r];
							e->guards.g[gidx[r]].alias = id;
							e->guards.g[gidx[r] + 1].alias = id;
						}
						break;
					}
			}
		if (!inplace && !gb)
			ref[id].off = place(live, &nlive, size, last[id]);
		if (!inplace && gb) {
			uint64_t off = place_guarded(live, &nlive, size, last[id], &gend, gb);
			uint16_t op = fuse[id].mm ? g->nodes[fuse[id].mm].op : n->op;
			ref[id].off = off;
			gidx[id] = e->guards.n;
			if ((st = dg__guard_add(&e->guards, (struct dg_guard){
					.off = off - gb, .bytes = gb, .node = id, .op = op, .before = 1})) ||
			    (st = dg__guard_add(&e->guards, (struct dg_guard){
					.off = off + bytes, .bytes = size - bytes + gb, .node = id,
					.op = op})))
				break;
		}
		in_arena[id] = 1;
		if (ref[id].off + size + gb > e->stats.peak_bytes)
			e->stats.peak_bytes = ref[id].off + size + gb;
	}
	if (st)
		goto out;
	if ((st = g->be->alloc(g->dev, e->stats.peak_bytes ? e->stats.peak_bytes : 64, &e->arena)))
		goto out;
	if (gb && (st = guard_arena_and_vars(e, need, sched, nsched)))
		goto out;
	for (size_t p = 0; p < nsched; p++) {
		uint32_t id = sched[p];
		uint16_t op = g->nodes[id].op;
		if (op == OP_RESHAPE)
			ref[id] = ref[g->nodes[id].in[0]];
		else if (!ref[id].buf && !(dg_opdefs[op].flags & OPF_SIDE) && op != OP_VAR)
			ref[id].buf = e->arena;
	}
	/* Updates' per-run scalars. */
	e->upd = malloc((nupd + 1) * sizeof *e->upd);
	e->rt = calloc(nupd + 1, sizeof *e->rt);
	if (!e->upd || !e->rt) {
		st = dg_error_nomem("updates", 0);
		goto out;
	}
	e->nupd = nupd;
	if (nupd)
		memcpy(e->upd, upds, nupd * sizeof *upds);
	/* Where each call's tensors live. */
	for (size_t i = 0; i < ncalls; i++) {
		struct dg_kcall *c = &calls[i];
		const struct dg_node *n = &c->n;
		c->out = ref[c->id];
		if (fuse[c->id].mm)
			c->bias = ref[fuse[c->id].bias];
		for (unsigned k = 0; k < n->nin; k++)
			c->in[k] = ref[n->in[k]];
		for (int k = 0; k < 3; k++)
			if (n->state[k] >= 0)
				c->st[k] = (struct dg_bref){g->vars[n->state[k]].buf, 0};
		if ((n->op >= OP_UPD_SGD && n->op <= OP_UPD_RMSPROP) || n->op == OP_EMA)
			for (size_t i = 0; i < nupd; i++)
				if (upds[i] == n->ia[0])
					c->rt = e->rt[i];
	}
	e->stats.kernels = ncalls;
	for (size_t i = 0; i < g->nvars; i++)
		e->stats.variable_bytes += g->vars[i].count * sizeof(float);
	const char *dbg = getenv("DG_DEBUG");
	if (dbg && strstr(dbg, "graph")) {
		fprintf(stderr, "dg: graph: %zu nodes, %zu scheduled, %zu kernels, "
			"intermediates %llu bytes planned into %llu\n", nn - 1, nsched, ncalls,
			(unsigned long long)e->stats.intermediate_bytes,
			(unsigned long long)e->stats.peak_bytes);
		for (size_t p = 0; p < nsched; p++) {
			uint32_t id = sched[p];
			print_node(g, id, &ref[id], e->arena);
			if (fuse[id].mm)
				fprintf(stderr, "      (one call: matmul %%%u + bias %%%u%s)\n", fuse[id].mm,
					fuse[id].bias, fuse[id].act ? " + activation" : "");
		}
	}
	e->outs = malloc((nout + 1) * sizeof *e->outs);
	e->out_nodes = malloc((nout + 1) * sizeof *e->out_nodes);
	if (!e->outs || !e->out_nodes) {
		st = dg_error_nomem("outputs", 0);
		goto out;
	}
	e->nouts = nout;
	for (size_t i = 0; i < nout; i++) {
		e->outs[i] = ref[outs[i].id];
		e->out_nodes[i] = outs[i].id;
	}
	struct dg_plan plan = {calls, ncalls, g->seed};
	st = g->be->prepare(g->dev, &plan, &e->prog);
out:
	free(need);
	free(sched);
	free(root);
	free(last);
	free(pos);
	free(ref);
	free(live);
	free(calls);
	free(skip);
	free(in_arena);
	free(fuse);
	free(gidx);
	return st;
}

int dg_compile(struct dg_graph *g, const char *device, size_t nout, const dg_tensor *outputs,
	       size_t nupd, const int *updates, struct dg_exec **out)
{
	struct dg_exec *e;
	int st;

	*out = NULL;
	if (g->status)
		return dg_error(g->status, "%s", g->err);
	if (!(e = calloc(1, sizeof *e)))
		return dg_error_nomem("a compiled step", sizeof *e);
	e->g = g;
	g->nexec++;
	const char *prof = getenv("DG_PROFILE");
	e->profile = prof && *prof && strcmp(prof, "0");
	if ((st = compile(e, device, nout, outputs, nupd, updates))) {
		dg_exec_free(e);
		return st;
	}
	*out = e;
	return DG_OK;
}

int dg_exec_feed(struct dg_exec *e, const char *name, int dtype, const void *data,
		 uint64_t count)
{
	struct dg_graph *g = e->g;
	for (size_t i = 0; i < e->ninputs; i++) {
		struct exec_input *in = &e->inputs[i];
		if (strcmp(in->name, name))
			continue;
		if (dtype != in->dtype || count != in->count)
			return dg_error(DG_EDATA, "input %s: want %llu %s values, got %llu %s", name,
					(unsigned long long)in->count, dg_dtype_name(in->dtype),
					(unsigned long long)count, dg_dtype_name(dtype));
		return g->be->write(g->dev, in->buf, 0, data, count * dg_dtype_size(dtype));
	}
	for (size_t id = 1; id < g->nnodes; id++)
		if (g->nodes[id].op == OP_INPUT && !strcmp(g->nodes[id].name, name))
			return DG_OK;   /* this step does not use it */
	return dg_error(DG_EUSAGE, "no input named %s", name);
}

int dg_exec_feed_array(struct dg_exec *e, const char *name, const struct dg_array *a)
{
	return dg_exec_feed(e, name, a->dtype, a->data, dg_array_count(a));
}

int dg_exec_run(struct dg_exec *e)
{
	struct dg_graph *g = e->g;
	struct dg_var *runs = &g->vars[g->runs_var];
	int st;

	for (size_t i = 0; i < e->nupd; i++) {
		struct dg_update *u = &g->upds[e->upd[i]];
		int64_t t = g->vars[u->tvar].counter + 1;
		e->rt[i][0] = (float)dg_schedule_lr(&u->opt, (uint64_t)t);
		e->rt[i][1] = (float)(1 - pow(u->opt.beta1, (double)t));
		e->rt[i][2] = (float)(1 - pow(u->opt.beta2, (double)t));
		e->rt[i][3] = (float)t;
		e->rt[i][4] = dg__ema_decay(u, (uint64_t)t);
	}
	struct dg_run_info ri = {(uint64_t)runs->counter, e->profile};
	if (e->guards.n && (st = dg__guard_arm(&e->guards, g->be, g->dev)))
		return st;
	if ((st = g->be->execute(g->dev, e->prog, &ri)))
		return st;
	if (e->guards.n && (st = dg__guard_check(&e->guards, g, g->be, g->dev)))
		return st;
	runs->counter++;
	for (size_t i = 0; i < e->nupd; i++)
		g->vars[g->upds[e->upd[i]].tvar].counter++;
	return DG_OK;
}

int dg_exec_read(struct dg_exec *e, size_t i, float *dst, uint64_t count)
{
	struct dg_graph *g = e->g;
	if (i >= e->nouts)
		return dg_error(DG_EUSAGE, "no output %zu", i);
	const struct dg_node *n = &g->nodes[e->out_nodes[i]];
	if (n->dtype != DG_F32 || count != n->count)
		return dg_error(DG_EUSAGE, "output %zu holds %llu %s values, not %llu f32", i,
				(unsigned long long)n->count, dg_dtype_name(n->dtype),
				(unsigned long long)count);
	return g->be->read(g->dev, e->outs[i].buf, e->outs[i].off, dst, count * sizeof(float));
}

int dg_exec_output(struct dg_exec *e, size_t i, struct dg_array **out)
{
	*out = NULL;
	if (i >= e->nouts)
		return dg_error(DG_EUSAGE, "no output %zu", i);
	const struct dg_node *n = &e->g->nodes[e->out_nodes[i]];
	struct dg_array *a = dg_array_new(DG_F32, n->rank, n->dims);
	if (!a)
		return DG_ENOMEM;
	int st = dg_exec_read(e, i, a->data, n->count);
	if (st) {
		dg_array_free(a);
		return st;
	}
	*out = a;
	return DG_OK;
}

float dg_exec_scalar(struct dg_exec *e, size_t i)
{
	float v = NAN;
	if (i < e->nouts && e->g->nodes[e->out_nodes[i]].count >= 1) {
		struct dg_bref r = e->outs[i];
		if (e->g->be->read(e->g->dev, r.buf, r.off, &v, sizeof v))
			return NAN;
	}
	return v;
}

void dg_exec_stats(const struct dg_exec *e, struct dg_exec_stats *st)
{
	*st = e->stats;
}
