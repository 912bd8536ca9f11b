/* fuzz_archive.c — libFuzzer target: the archive member reader (tar,
 * tar.gz, zip... through libarchive) on arbitrary bytes, with small
 * limits: every member handed over is readable and within the limits,
 * every failure is a status with a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "io/archive_members.h"
#include "dg/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct dg_archive_limits limits = {1u << 20, 4u << 20, 1000};

struct seen {
	uint64_t members, total;
};

static int member(void *ctx, const char *path, const void *data, size_t len)
{
	struct seen *s = ctx;
	volatile uint8_t sum = 0;

	if (!path || len > limits.max_member)
		abort();
	for (size_t i = 0; i < len; i++)
		sum ^= ((const uint8_t *)data)[i];
	(void)strlen(path);
	s->members++;
	s->total += len;
	if (s->members > limits.max_members || s->total > limits.max_total)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = {0};
	int st = dg_archive_walk_memory(data, size, "fuzz", &limits, member, &s);

	if (st && (st != DG_EDATA || !*dg_errmsg()))
		abort();
	return 0;
}
