/* cpu/chain.h — runs of consecutive elementwise calls executed as one
 * pass over the elements (cpu/chain.c). */
#ifndef DG_CPU_CHAIN_H
#define DG_CPU_CHAIN_H

#include "cpu/kernels.h"

/* How many of calls[0..ncalls) (with their prepared args) run as one
 * chain, each step's per-range kernel in range[]: those whose every
 * element i depends only on element i of the earlier steps' outputs and
 * on memory no step writes, so running them block by block equals
 * running them one after another (bit for bit).  At most 16. */
size_t dg_cpu_chain_len(const struct dg_kcall *calls, const struct dg_kargs *args, size_t ncalls,
			dg_pool_fn *range);

/* Runs the k steps over their elements, each thread its share. */
void dg_cpu_chain_run(const struct dg_kargs *args, const dg_pool_fn *range, size_t k);

#endif
