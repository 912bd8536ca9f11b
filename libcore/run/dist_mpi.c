/* run/dist_mpi.c — the module mpi.so: run/dist.h's collectives over Open
 * MPI, which run/dist.c opens only when a launcher started the process
 * (so a plain run never loads or initializes MPI).  Every collective is on
 * MPI_COMM_WORLD, with MPI's own error handling: a rank that dies makes
 * mpirun stop the job. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include "run/dist.h"
#include "dg/error.h"
#include "dg/train.h"

static int joined, my_rank, nranks = 1;

/* MPI counts are int: big buffers go in pieces. */
#define CHUNK ((uint64_t)1 << 30)

static int mpi_fail(int rc, const char *what)
{
	char msg[MPI_MAX_ERROR_STRING];
	int len = 0;
	MPI_Error_string(rc, msg, &len);
	return dg_error(DG_EINTERNAL, "MPI: %s on rank %d: %.*s", what, my_rank, len, msg);
}

static int mpi_init(int *rank, int *size)
{
	*rank = 0;
	*size = 1;
	if (joined)
		goto out;
	if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_SIZE"))
		return DG_OK;
	int rc = MPI_Init(NULL, NULL);
	if (rc != MPI_SUCCESS)
		return mpi_fail(rc, "MPI_Init");
	/* errors come back as codes, reported with the rank, and the tool
	 * then stops the job with dg_dist_abort */
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	joined = 1;
out:
	*rank = my_rank;
	*size = nranks;
	return DG_OK;
}

static void mpi_finish(void)
{
	if (joined)
		MPI_Finalize();
	joined = 0;
}

static void mpi_abort(int status)
{
	if (joined && nranks > 1)
		MPI_Abort(MPI_COMM_WORLD, status ? status : 1);
}

static int mpi_allgatherv(const float *send, float *recv, const uint64_t *counts)
{
	int *cnt = malloc(2 * (size_t)nranks * sizeof *cnt), rc;
	uint64_t total = 0;
	if (!cnt)
		return dg_error_nomem("MPI counts", 2 * (size_t)nranks * sizeof *cnt);
	for (int r = 0; r < nranks; r++) {
		cnt[nranks + r] = (int)total;
		cnt[r] = (int)counts[r];
		total += counts[r];
	}
	if (total > INT_MAX) {
		free(cnt);
		return dg_error(DG_EUSAGE, "MPI: %llu floats of gradients to gather, more than "
				"MPI's int counts hold (try fewer --shards or --mpi-fast)",
				(unsigned long long)total);
	}
	rc = MPI_Allgatherv(send, cnt[my_rank], MPI_FLOAT, recv, cnt, cnt + nranks, MPI_FLOAT,
			    MPI_COMM_WORLD);
	free(cnt);
	return rc == MPI_SUCCESS ? DG_OK : mpi_fail(rc, "MPI_Allgatherv");
}

static int mpi_allreduce_sum(float *buf, uint64_t n)
{
	for (uint64_t at = 0; at < n; at += CHUNK) {
		int k = (int)(n - at < CHUNK ? n - at : CHUNK);
		int rc = MPI_Allreduce(MPI_IN_PLACE, buf + at, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
		if (rc != MPI_SUCCESS)
			return mpi_fail(rc, "MPI_Allreduce");
	}
	return DG_OK;
}

static int mpi_bcast(float *buf, uint64_t n, int root)
{
	for (uint64_t at = 0; at < n; at += CHUNK) {
		int k = (int)(n - at < CHUNK ? n - at : CHUNK);
		int rc = MPI_Bcast(buf + at, k, MPI_FLOAT, root, MPI_COMM_WORLD);
		if (rc != MPI_SUCCESS)
			return mpi_fail(rc, "MPI_Bcast");
	}
	return DG_OK;
}

static int mpi_any(int flag)
{
	int in = flag != 0, out = in;
	if (joined && nranks > 1 &&
	    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD) != MPI_SUCCESS)
		return 1;  /* a job that cannot agree stops */
	return out;
}

static const struct dg_dist_ops table = {
	.init = mpi_init,
	.finish = mpi_finish,
	.abort = mpi_abort,
	.allgatherv = mpi_allgatherv,
	.allreduce_sum = mpi_allreduce_sum,
	.bcast = mpi_bcast,
	.any = mpi_any,
};

/* The module's one entry (run/dist.h: DG_DIST_ENTRY). */
__attribute__((visibility("default"))) const struct dg_dist_ops *dg_dist_module(void);
const struct dg_dist_ops *dg_dist_module(void)
{
	return &table;
}
