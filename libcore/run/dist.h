/* run/dist.h — the trainer's view of the MPI job it may run in: rank,
 * size and the few collectives data-parallel training needs.  libdg
 * itself never links MPI (every tool would load Open MPI's libraries at
 * start): dist.c opens the module mpi.so (dist_mpi.c, built when Open MPI
 * is found) from the plugin directories when a launcher started the
 * process, and forwards to its table. */
#ifndef DG_RUN_DIST_H
#define DG_RUN_DIST_H

#include <stdint.h>

/* 1 when dg_dist_init joined a job (mpirun, any size, 1 included):
 * training then goes by shards (train_dist.c). */
int dg__dist_active(void);
int dg__dist_rank(void);
int dg__dist_size(void);
/* recv[0..sum(counts)) := every rank's send, in rank order; rank r sends
 * counts[r] floats (counts known to all ranks). */
int dg__dist_allgatherv(const float *send, float *recv, const uint64_t *counts);
/* buf := the element-wise sum over ranks (MPI_Allreduce: the order of
 * the additions is Open MPI's, so not reproducible across rank counts). */
int dg__dist_allreduce_sum(float *buf, uint64_t n);
/* buf := root's buf. */
int dg__dist_bcast(float *buf, uint64_t n, int root);
/* The logical or of flag over the ranks. */
int dg__dist_any(int flag);

/* What the module mpi.so exports as dg_dist_module(): the collectives
 * above, and joining and leaving the job. */
struct dg_dist_ops {
	int (*init)(int *rank, int *size);
	void (*finish)(void);
	void (*abort)(int status);
	int (*allgatherv)(const float *send, float *recv, const uint64_t *counts);
	int (*allreduce_sum)(float *buf, uint64_t n);
	int (*bcast)(float *buf, uint64_t n, int root);
	int (*any)(int flag);
};
#define DG_DIST_MODULE "mpi.so"
#define DG_DIST_ENTRY "dg_dist_module"
typedef const struct dg_dist_ops *(*dg_dist_entry_fn)(void);

#endif
