/* fuzz_stream.c — libFuzzer target: arbitrary bytes through the stream
 * reader, whole records and odd-sized chunks, via fmemopen and pushback,
 * and through the input layer from a pipe whose first bytes were peeked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "dg.h"

/* Small enough that a header claiming a huge payload is refused by the
 * cap instead of exhausting the fuzzer's memory. */
#define FUZZ_MAX_PAYLOAD (1u << 20)

/* Reads every record as arrays, going on past record-level errors as
 * dg-info does. */
static void read_arrays(struct dg_reader *r)
{
	for (int guard = 0; guard < 100000; guard++) {
		struct dg_array *a = NULL;
		int st = dg_read_array(r, &a);
		if (a) {
			/* Touch the payload so ASan checks its extent. */
			size_t n = dg_array_bytes(a);
			volatile unsigned char sink = 0;
			for (size_t i = 0; i < n; i += 61)
				sink ^= ((unsigned char *)a->data)[i];
			(void)dg_meta_get(a->meta, "space");
			dg_array_free(a);
			continue;
		}
		if (!st || dg_reader_broken(r))
			return;
	}
}

/* Reads payloads in chunks of a size taken from the data, or skips. */
static void read_chunks(struct dg_reader *r, size_t chunk)
{
	unsigned char buf[257];
	const struct dg_record *rec;

	for (int guard = 0; guard < 100000; guard++) {
		int st = dg_reader_next(r, &rec);
		if (st) {
			if (dg_reader_broken(r))
				return;
			continue;
		}
		if (!rec)
			return;
		if (rec->index % 3 == 2) {
			dg_reader_skip(r);
			continue;
		}
		for (uint64_t left = rec->payload_len; left;) {
			size_t k = left < chunk ? (size_t)left : chunk;
			if (dg_reader_read(r, buf, k))
				break;
			left -= k;
		}
	}
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

/* Makes both CRCs of every record right, walking the framing as the
 * reader does, so that mutations reach the checks behind the CRCs
 * (random bytes almost never have a matching CRC-32). */
static void fix_crcs(uint8_t *b, size_t size)
{
	size_t at = 0;

	while (size - at >= 128 && memcmp(b + at, "DGST", 4) == 0) {
		uint8_t *h = b + at;
		uint64_t mlen = le64(h + 16), plen = le64(h + 24), ps;
		int whole = mlen <= size && plen <= size;

		ps = whole ? at + (128 + mlen + 63) / 64 * 64 : 0;
		if (whole && ps <= size && plen <= size - ps) {
			uLong crc = crc32(0, b + at + 128, (uInt)mlen);
			put32(h + 12, (uint32_t)crc32(crc, b + ps, (uInt)plen));
		} else {
			whole = 0;
		}
		put32(h + 124, (uint32_t)crc32(0, h, 124));
		if (!whole)
			return;
		at = (size_t)(ps + (plen + 63) / 64 * 64);
		if (at >= size)
			return;
	}
}

static void read_whole(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	struct dg_reader *r;

	if (!f)
		return;
	r = dg_reader_file(f, "fuzz");
	if (r) {
		dg_reader_set_max_payload(r, FUZZ_MAX_PAYLOAD);
		read_arrays(r);
		dg_reader_close(r);
	}
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dg_reader *r;
	FILE *f;
	size_t split, chunk;

	if (size == 0)
		return 0;
	read_whole(data, size);

	/* With the CRCs made right when the first byte is odd (half the
	 * runs), so both the CRC checks and what lies behind them are
	 * explored. */
	if (data[0] & 1) {
		uint8_t *copy = malloc(size);
		if (copy) {
			memcpy(copy, data, size);
			fix_crcs(copy, size);
			read_whole(copy, size);
			free(copy);
		}
	}

	/* Again in chunks, with the first bytes given back as a sniffing
	 * tool would. */
	chunk = 1 + data[0] % 256;
	split = size < 7 ? size : 7;
	f = split < size ? fmemopen((void *)(data + split), size - split, "r")
			 : fopen("/dev/null", "r");
	if (!f)
		return 0;
	r = dg_reader_file(f, "fuzz");
	if (r && dg_reader_unread(r, data, split) == 0)
		read_chunks(r, chunk);
	dg_reader_close(r);
	fclose(f);

	/* And through the input layer, its first bytes peeked at as the
	 * tools sniff them (a pipe's path: held, then read again). */
	{
		int p[2];
		struct dg_input *in;
		if (size <= 60000 && pipe(p) == 0) {
			int whole = write(p[1], data, size) == (ssize_t)size;
			close(p[1]);
			if (whole && !dg_input_fd(p[0], "fuzz", &in)) {
				const void *head;
				size_t got;
				dg_input_peek(in, chunk * 3, &head, &got);
				if ((r = dg_reader_input(in))) {
					dg_reader_set_max_payload(r, FUZZ_MAX_PAYLOAD);
					read_arrays(r);
					dg_reader_close(r);
				}
				dg_input_close(in);
			}
			close(p[0]);
		}
	}
	return 0;
}
