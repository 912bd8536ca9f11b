/* graph/guard.h — DG_GUARD=1: guard bytes around every buffer of a
 * compiled step, filled with a pattern before each run and checked after
 * it, so that a kernel writing past the end (or before the start) of its
 * output is reported by name instead of silently corrupting a neighbour.
 *
 * With guards on, the memory planner gives every intermediate a place of
 * its own ([guard][data][guard], no reuse by liveness; elementwise ops
 * still write in place over a dying input), leaves and variables are
 * allocated with a guard after their data, and the arena is filled with
 * the pattern (a quiet NaN with a payload) before each run, so a kernel
 * that reads what nothing wrote sees NaNs too.  Debugging only: memory
 * grows and every run reads the arena back. */
#ifndef DG_GRAPH_GUARD_H
#define DG_GRAPH_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include "graph/backend.h"

/* Bytes of each guard: 0 unless DG_GUARD is set to something other than
 * "0" (read at each compile).  A multiple of 64, so arena offsets stay
 * aligned. */
uint64_t dg__guard_bytes(void);

/* Fills p[0..bytes) with the pattern as it lies at offset off of its
 * buffer (the pattern is a 32-bit word repeated from offset 0). */
void dg__guard_fill(unsigned char *p, uint64_t off, uint64_t bytes);

/* One guarded range of a backend buffer, and whose buffer it borders. */
struct dg_guard {
	void *buf;              /* NULL: in the arena */
	uint64_t off, bytes;
	uint32_t node;          /* the buffer's node (a call's, or a leaf) */
	uint32_t alias;         /* a later call writing the buffer in place, or 0 */
	uint32_t writer;        /* variables: the side-effect call writing it, or 0 */
	uint16_t op;            /* the op of node's call (a fused matmul's, not its epilogue's) */
	uint8_t before;         /* 1: the range precedes the buffer */
};

struct dg_guards {
	struct dg_guard *g;
	size_t n, cap;
	void *arena;            /* the step's arena and a host image of it */
	uint64_t arena_bytes;
	unsigned char *img;
};

/* Adds a range; DG_ENOMEM. */
int dg__guard_add(struct dg_guards *gs, struct dg_guard r);
/* Before a run: the arena filled with the pattern in one write, every
 * other range rewritten. */
int dg__guard_arm(struct dg_guards *gs, const struct dg_backend *be, void *dev);
/* After a run: DG_EINTERNAL naming the op whose buffer's guard changed
 * (and the variable, input or constant), or DG_OK. */
int dg__guard_check(struct dg_guards *gs, const struct dg_graph *g,
		    const struct dg_backend *be, void *dev);
void dg__guard_free(struct dg_guards *gs);

#endif
