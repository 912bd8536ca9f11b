/* fuzz_png.c — libFuzzer target: dg_png_decode on arbitrary bytes must
 * return an image or an error, never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "dg/error.h"
#include "dg/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rewrites the CRC of every whole chunk, so that mutations reach the
 * decoder behind the checksums instead of all failing at the first one. */
static void fix_crcs(uint8_t *p, size_t n)
{
	size_t at = 8;

	while (at + 12 <= n) {
		uint32_t len = (uint32_t)p[at] << 24 | (uint32_t)p[at + 1] << 16 |
			       (uint32_t)p[at + 2] << 8 | p[at + 3];
		uint32_t crc;
		if (len > n - at - 12)
			break;
		crc = (uint32_t)crc32(0, p + at + 4, len + 4);
		p[at + 8 + len] = (uint8_t)(crc >> 24);
		p[at + 9 + len] = (uint8_t)(crc >> 16);
		p[at + 10 + len] = (uint8_t)(crc >> 8);
		p[at + 11 + len] = (uint8_t)crc;
		at += 12 + (size_t)len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dg_array *a = NULL;
	uint8_t *copy = NULL;
	int st;

	/* Odd lengths get their CRCs repaired: half the inputs test the
	 * checksums, half what lies behind them. */
	if (size & 1) {
		copy = malloc(size);
		if (!copy)
			return 0;
		memcpy(copy, data, size);
		fix_crcs(copy, size);
		data = copy;
	}
	st = dg_png_decode(data, size, "fuzz", &a);
	if (st == DG_OK) {
		/* the contract: a 1×C×H×W f32 image within the limits, [0,1] */
		const float *p = a->data;
		uint64_t n = a->dims[1] * a->dims[2] * a->dims[3];
		if (a->rank != 4 || a->dims[0] != 1 || (a->dims[1] != 1 && a->dims[1] != 3) ||
		    a->dims[2] * a->dims[3] > DG_PNG_MAX_PIXELS)
			__builtin_trap();
		for (uint64_t i = 0; i < n; i++)
			if (!(p[i] >= 0 && p[i] <= 1))
				__builtin_trap();
		dg_array_free(a);
	} else if (a != NULL || !*dg_errmsg()) {
		__builtin_trap();
	}
	free(copy);
	return 0;
}
