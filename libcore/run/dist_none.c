/* dist_none.c — run/dist.h in a build without MPI: one process, and a
 * refusal to be one of several ranks (each would train alone and all
 * would write the same file). */
#include <stdlib.h>
#include <string.h>
#include "run/dist.h"
#include "dg/error.h"
#include "dg/train.h"

int dg_dist_init(int *rank, int *size)
{
	/* Open MPI's launcher, else PMI's (MPICH, Slurm) */
	const char *n = getenv("OMPI_COMM_WORLD_SIZE");
	if (!n)
		n = getenv("PMI_SIZE");
	*rank = 0;
	*size = 1;
	if (n && strtol(n, NULL, 10) > 1)
		return dg_error(DG_EUSAGE, "started by mpirun as one of %s processes, but this "
				"dg was built without MPI (build it with make MPI=1 and Open "
				"MPI's libopenmpi-dev)", n);
	return DG_OK;
}

void dg_dist_finish(void)
{
}

void dg_dist_abort(int status)
{
	(void)status;
}

int dg__dist_active(void)
{
	return 0;
}

int dg__dist_rank(void)
{
	return 0;
}

int dg__dist_size(void)
{
	return 1;
}

int dg__dist_allgatherv(const float *send, float *recv, const uint64_t *counts)
{
	memmove(recv, send, counts[0] * sizeof *recv);
	return DG_OK;
}

int dg__dist_allreduce_sum(float *buf, uint64_t n)
{
	(void)buf;
	(void)n;
	return DG_OK;
}

int dg__dist_bcast(float *buf, uint64_t n, int root)
{
	(void)buf;
	(void)n;
	(void)root;
	return DG_OK;
}

int dg__dist_any(int flag)
{
	return flag != 0;
}
