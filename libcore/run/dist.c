/* run/dist.c — run/dist.h for every build: outside a job started by a
 * launcher, one process and nothing else; inside one, the module mpi.so
 * (run/dist_mpi.c over Open MPI), opened from the plugin directories so
 * that libdg and the tools that never train on several ranks do not load
 * Open MPI's libraries.  Without the module, one of several ranks is
 * refused (each would train alone and all would write the same file). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/dist.h"
#include "dg/error.h"
#include "dg/plugin.h"
#include "dg/train.h"

static const struct dg_dist_ops *ops;   /* set while in a job */
static int my_rank, nranks = 1;

/* The launcher's size of the job (Open MPI's, else PMIx's or PMI's), or
 * NULL outside one. */
static const char *launcher_size(void)
{
	const char *n = getenv("OMPI_COMM_WORLD_SIZE");
	if (!n)
		n = getenv("PMIX_SIZE");
	if (!n)
		n = getenv("PMI_SIZE");
	if (!n && getenv("PMIX_RANK"))
		n = "?";
	return n;
}

/* The module's table from the first plugin directory that has it. */
static const struct dg_dist_ops *open_module(void)
{
	char **dirs = dg_plugin_dirs();
	const struct dg_dist_ops *t = NULL;

	for (size_t i = 0; dirs && dirs[i] && !t; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dirs[i], DG_DIST_MODULE);
		/* global: Open MPI's own components find libmpi's symbols */
		void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
		if (!h)
			continue;
		union { void *p; dg_dist_entry_fn f; } u = {dlsym(h, DG_DIST_ENTRY)};
		if (u.p)
			t = u.f();
		if (!t)
			dlclose(h);
	}
	free(dirs);
	return t;
}

int dg_dist_init(int *rank, int *size)
{
	const char *n = launcher_size();
	int st;

	*rank = my_rank;
	*size = nranks;
	if (ops || !n)
		return DG_OK;
	const struct dg_dist_ops *t = open_module();
	if (!t) {
		if (strcmp(n, "1") == 0)
			return DG_OK;
		return dg_error(DG_EUSAGE, "started by mpirun as one of %s processes, but this "
				"dg has no MPI module (%s in its plugin directory: build dg "
				"with Open MPI's libopenmpi-dev installed, or make MPI=1)", n,
				DG_DIST_MODULE);
	}
	if ((st = t->init(&my_rank, &nranks)))
		return st;
	ops = t;
	*rank = my_rank;
	*size = nranks;
	return DG_OK;
}

void dg_dist_finish(void)
{
	if (ops)
		ops->finish();
	ops = NULL;
	my_rank = 0;
	nranks = 1;
}

void dg_dist_abort(int status)
{
	if (ops && nranks > 1)
		ops->abort(status);
}

int dg__dist_active(void)
{
	return ops != NULL;
}

int dg__dist_rank(void)
{
	return my_rank;
}

int dg__dist_size(void)
{
	return nranks;
}

int dg__dist_allgatherv(const float *send, float *recv, const uint64_t *counts)
{
	if (ops)
		return ops->allgatherv(send, recv, counts);
	memmove(recv, send, counts[0] * sizeof *recv);
	return DG_OK;
}

int dg__dist_allreduce_sum(float *buf, uint64_t n)
{
	return ops ? ops->allreduce_sum(buf, n) : DG_OK;
}

int dg__dist_bcast(float *buf, uint64_t n, int root)
{
	return ops ? ops->bcast(buf, n, root) : DG_OK;
}

int dg__dist_any(int flag)
{
	return ops ? ops->any(flag) : flag != 0;
}
