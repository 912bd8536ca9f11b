/* cpu/pool.h — the cpu backend's thread pool: a fixed partition of work
 * per thread, so every element is computed by the same code in the same
 * order whatever the timing (bit-identical results run to run). */
#ifndef DG_CPU_POOL_H
#define DG_CPU_POOL_H

#include <stddef.h>

/* Work on items [begin, end). */
typedef void (*dg_pool_fn)(void *ctx, size_t begin, size_t end);

/* Threads used: DG_THREADS if set (>= 1), else the online CPUs. */
unsigned dg_pool_threads(void);

/* Splits [0, n) into at most dg_pool_threads() contiguous chunks of at
 * least grain items and runs fn on each, the caller taking the first
 * chunk; returns when all are done.  Calls from several threads at once
 * are serialized. */
void dg_pool_for(size_t n, size_t grain, dg_pool_fn fn, void *ctx);

#endif
