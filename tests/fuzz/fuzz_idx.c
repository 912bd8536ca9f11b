/* fuzz_idx.c — libFuzzer target: the IDX parser on arbitrary bytes, plain
 * and gzip'd, must return a well-formed array or an error (with a message),
 * never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "dg/array.h"
#include "dg/dataset.h"
#include "dg/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that no input makes the fuzzer allocate much. */
#define MAX_BYTES (16u << 20)

static void check(const void *buf, size_t len)
{
	struct dg_array *a = NULL;
	int st = dg_idx_parse(buf, len, "fuzz", MAX_BYTES, &a);

	if (st) {
		if (a || st != DG_EDATA || !*dg_errmsg())
			abort();
		return;
	}
	/* a result holds exactly the elements its dims promise */
	if (!a || !a->rank || dg_array_bytes(a) > MAX_BYTES)
		abort();
	if (dg_array_bytes(a))
		((volatile uint8_t *)a->data)[dg_array_bytes(a) - 1];
	dg_array_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uLongf n;
	uint8_t *z;

	check(data, size);
	/* The same bytes gzip'd, so that mutations of the IDX content also
	 * reach the parser through the inflating reader. */
	if (size < 1 || size > 4096 || data[0] == 0x1f)
		return 0;
	n = compressBound(size) + 32;
	z = malloc(n);
	if (z) {
		z_stream s = {0};
		if (deflateInit2(&s, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
			s.next_in = (Bytef *)data;
			s.avail_in = (uInt)size;
			s.next_out = z;
			s.avail_out = (uInt)n;
			if (deflate(&s, Z_FINISH) == Z_STREAM_END)
				check(z, n - s.avail_out);
			deflateEnd(&s);
		}
		free(z);
	}
	return 0;
}
