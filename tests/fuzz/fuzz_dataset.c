/* fuzz_dataset.c — libFuzzer target: dg_dataset_open on arbitrary bytes
 * through the input layer, as a regular file (memfd: seekable, libarchive
 * may seek) and as a pipe (peeked bytes read again, never reopened), in
 * memory and sequentially.  Every loader is reached by sniffing: PNG, IDX
 * (plain and gzip'd, read a chunk at a time into the store), streams,
 * archives.  A refusal is a status with a message; a set that opens holds
 * what it says, and the file and the pipe agree. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "dg/array.h"
#include "dg/dataset.h"
#include "dg/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limits: the fuzzer's memory ceiling is not the point. */
static const struct dg_dataset_options base = {
	.max_bytes = 16u << 20, .max_member_bytes = 1u << 20,
	.max_total_bytes = 4u << 20, .max_members = 1000,
};

/* Opens path and reads every image; returns the status and the images
 * read (a checksum of them in *sum). */
static int load(const char *path, int sequential, uint64_t *count, double *sum)
{
	struct dg_dataset_options opt = base;
	struct dg_dataset *ds;
	struct dg_array *im, *lb;
	int st;

	opt.sequential = sequential;
	*count = 0;
	*sum = 0;
	st = dg_dataset_open(path, &opt, &ds);
	if (st) {
		if (ds || !*dg_errmsg())
			abort();
		return st;
	}
	while (!(st = dg_dataset_read(ds, 7, &im, &lb)) && im) {
		const struct dg_dataset_info *di = dg_dataset_info(ds);
		uint64_t n = dg_array_count(im);
		if (im->rank != 4 || !im->dims[0] || im->dims[0] > 7 || im->dtype != DG_F32 ||
		    !im->dims[1] || im->dims[1] > 4 || (lb && lb->dims[0] != im->dims[0]) ||
		    (!di->sequential && !lb != !di->has_labels))
			abort();
		for (uint64_t i = 0; i < n; i++)
			*sum += ((const float *)im->data)[i];
		*count += im->dims[0];
		dg_array_free(im);
		dg_array_free(lb);
	}
	if (st && !*dg_errmsg())
		abort();
	if (!dg_dataset_info(ds)->sequential && !st && *count != dg_dataset_info(ds)->count)
		abort();
	dg_dataset_close(ds);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = memfd_create("fuzz", 0), p[2];
	uint64_t fcount[2] = {0}, pcount;
	double fsum[2] = {0}, psum;
	int fst[2];

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof path, "/dev/fd/%d", fd);
	for (int seq = 0; seq < 2; seq++) {
		lseek(fd, 0, SEEK_SET);
		fst[seq] = load(path, seq, &fcount[seq], &fsum[seq]);
	}
	close(fd);
	/* The same bytes through a pipe (whole in its buffer): the same
	 * verdict and the same images as the file. */
	/* (Not a zip: read from a file, libarchive seeks to its central
	 * directory, found at the end whatever comes first; from a pipe it
	 * reads the local headers from the start, and bytes before the first
	 * one or a hostile directory make them disagree.) */
	if (size <= 60000 && !memmem(data, size, "PK\x05\x06", 4) &&
	    !(size >= 2 && data[0] == 'P' && data[1] == 'K') && pipe(p) == 0) {
		int ok = write(p[1], data, size) == (ssize_t)size;
		close(p[1]);
		if (ok) {
			int st;
			snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
			st = load(path, 0, &pcount, &psum);
			if (!st != !fst[0] || (!st && (pcount != fcount[0] || psum != fsum[0])))
				abort();
		}
		close(p[0]);
	}
	return 0;
}
