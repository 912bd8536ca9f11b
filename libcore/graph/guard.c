/* graph/guard.c — DG_GUARD=1: guard bytes around the buffers of compiled
 * steps, armed before each run and checked after it (graph/guard.h). */
#include <stdlib.h>
#include <string.h>
#include "graph/guard.h"

#define GUARD_BYTES 256
/* A quiet NaN whose payload no kernel computes (theirs are 0x7fc00000 or
 * 0xffc00000), stored little-endian as every buffer is. */
#define GUARD_WORD 0x7fdb6e5au

uint64_t dg__guard_bytes(void)
{
	const char *s = getenv("DG_GUARD");
	return s && *s && strcmp(s, "0") ? GUARD_BYTES : 0;
}

static unsigned char pattern_at(uint64_t off)
{
	return (unsigned char)(GUARD_WORD >> (8 * (off & 3)));
}

void dg__guard_fill(unsigned char *p, uint64_t off, uint64_t bytes)
{
	for (uint64_t i = 0; i < bytes; i++)
		p[i] = pattern_at(off + i);
}

int dg__guard_add(struct dg_guards *gs, struct dg_guard r)
{
	if (gs->n == gs->cap) {
		size_t cap = gs->cap ? 2 * gs->cap : 64;
		struct dg_guard *g = realloc(gs->g, cap * sizeof *g);
		if (!g)
			return dg_error_nomem("guards", cap * sizeof *g);
		gs->g = g;
		gs->cap = cap;
	}
	gs->g[gs->n++] = r;
	return DG_OK;
}

int dg__guard_arm(struct dg_guards *gs, const struct dg_backend *be, void *dev)
{
	unsigned char buf[GUARD_BYTES + 64];
	int st;

	if (gs->arena && (st = be->write(dev, gs->arena, 0, gs->img, gs->arena_bytes)))
		return st;
	for (size_t i = 0; i < gs->n; i++) {
		const struct dg_guard *r = &gs->g[i];
		if (!r->buf || r->bytes > sizeof buf)
			continue;
		dg__guard_fill(buf, r->off, r->bytes);
		if ((st = be->write(dev, r->buf, r->off, buf, r->bytes)))
			return st;
	}
	return DG_OK;
}

/* What the guard r borders, for the message. */
static int report(const struct dg_guard *r, const struct dg_graph *g, uint64_t at)
{
	const struct dg_node *n = &g->nodes[r->node];
	const char *where = r->before ? "before the start of" : "past the end of";
	const char *side = r->before ? "before its start" : "past its end";
	unsigned long long b = (unsigned long long)at;

	if (n->op == OP_VAR) {
		const struct dg_node *w = &g->nodes[r->writer];
		if (r->writer)
			return dg_error(DG_EINTERNAL, "guard: %s (node %u) wrote past the end of "
					"variable %s (first changed byte: %llu past its end)",
					dg_opdefs[w->op].name, r->writer, g->vars[n->var].name, b);
		return dg_error(DG_EINTERNAL, "guard: a kernel wrote past the end of variable %s "
				"(first changed byte: %llu past its end), which no call of the "
				"step writes", g->vars[n->var].name, b);
	}
	if (dg_opdefs[n->op].flags & OPF_LEAF)
		return dg_error(DG_EINTERNAL, "guard: a kernel wrote past the end of %s%s%s "
				"(node %u; first changed byte: %llu past its end), which no call "
				"writes", dg_opdefs[n->op].name, n->name ? " " : "",
				n->name ? n->name : "", r->node, b);
	if (r->alias)
		return dg_error(DG_EINTERNAL, "guard: %s (node %u) or %s (node %u, in place) wrote "
				"%s its output (first changed byte: %llu %s)",
				dg_opdefs[r->op].name, r->node, dg_opdefs[g->nodes[r->alias].op].name,
				r->alias, where, b, side);
	return dg_error(DG_EINTERNAL, "guard: %s (node %u) wrote %s its output (first changed "
			"byte: %llu %s)", dg_opdefs[r->op].name, r->node, where, b, side);
}

/* The first byte of r that lost the pattern, counted from the buffer's
 * edge (so 0 is the first byte past its end, or the last before its
 * start); -1 if none. */
static int64_t first_bad(const struct dg_guard *r, const unsigned char *p)
{
	for (uint64_t k = 0; k < r->bytes; k++) {
		uint64_t i = r->before ? r->bytes - 1 - k : k;
		if (p[i] != pattern_at(r->off + i))
			return (int64_t)k;
	}
	return -1;
}

int dg__guard_check(struct dg_guards *gs, const struct dg_graph *g,
		    const struct dg_backend *be, void *dev)
{
	unsigned char buf[GUARD_BYTES + 64];
	int st = DG_OK;

	if (gs->arena && (st = be->read(dev, gs->arena, 0, gs->img, gs->arena_bytes)))
		return st;
	for (size_t i = 0; i < gs->n; i++) {
		const struct dg_guard *r = &gs->g[i];
		const unsigned char *p = gs->img + r->off;
		if (r->buf) {
			if (r->bytes > sizeof buf)
				continue;
			if ((st = be->read(dev, r->buf, r->off, buf, r->bytes)))
				return st;
			p = buf;
		}
		int64_t bad = first_bad(r, p);
		if (bad >= 0) {
			st = report(r, g, (uint64_t)bad);
			break;
		}
	}
	/* The next arm writes the pattern everywhere again. */
	if (gs->img)
		dg__guard_fill(gs->img, 0, gs->arena_bytes);
	return st;
}

void dg__guard_free(struct dg_guards *gs)
{
	free(gs->g);
	free(gs->img);
	memset(gs, 0, sizeof *gs);
}
