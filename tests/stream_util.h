/* stream_util.h — helpers for the stream tests: streams in memory, reading
 * a whole stream, crafting headers byte by byte from dg-stream(5). */
#ifndef DG_TEST_STREAM_UTIL_H
#define DG_TEST_STREAM_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "dg.h"

/* Bytes in memory, grown by the writer through open_memstream(). */
struct mem {
	char *p;
	size_t n;
	FILE *f;
	struct dg_writer *w;
};

static __attribute__((unused)) struct dg_writer *mem_writer(struct mem *m)
{
	m->p = NULL;
	m->n = 0;
	m->f = open_memstream(&m->p, &m->n);
	m->w = m->f ? dg_writer_file(m->f, "memory") : NULL;
	return m->w;
}

/* Closes the writer; m->p/m->n then hold the stream (free(m->p)). */
static __attribute__((unused)) int mem_finish(struct mem *m)
{
	int st = dg_writer_close(m->w);
	fclose(m->f);
	return st;
}

/* A FILE reading n bytes at p (fmemopen refuses size 0). */
static FILE *mem_file(const void *p, size_t n)
{
	return n ? fmemopen((void *)p, n, "r") : fopen("/dev/null", "r");
}

/* Reads every record of bytes as arrays, checking each payload; returns
 * the final status and the number of records read in *count. */
static __attribute__((unused)) int read_all(const void *bytes, size_t n, uint64_t *count)
{
	FILE *f = mem_file(bytes, n);
	struct dg_reader *r = dg_reader_file(f, "-");
	struct dg_array *a;
	int st;

	*count = 0;
	while (!(st = dg_read_array(r, &a)) && a) {
		dg_array_free(a);
		++*count;
	}
	dg_reader_close(r);
	fclose(f);
	return st;
}

/* Writes a 128-byte header as the spec describes it, with both CRCs
 * computed over meta (mlen bytes) and payload (plen bytes).  dims is NULL
 * or holds all 8 entries (so that tests can set some beyond rank). */
static __attribute__((unused)) void craft_header(unsigned char *h, unsigned version, unsigned dtype,
			 unsigned rank, uint32_t flags, const uint64_t *dims,
			 const char *meta, uint64_t mlen, const void *payload,
			 uint64_t plen)
{
	uLong crc = crc32(0, NULL, 0);
	memset(h, 0, 128);
	memcpy(h, "DGST", 4);
	h[4] = (unsigned char)version;
	h[5] = (unsigned char)(version >> 8);
	h[6] = (unsigned char)dtype;
	h[7] = (unsigned char)rank;
	for (int i = 0; i < 4; i++)
		h[8 + i] = (unsigned char)(flags >> 8 * i);
	if (meta)
		crc = crc32(crc, (const unsigned char *)meta, (uInt)mlen);
	if (payload)
		crc = crc32(crc, payload, (uInt)plen);
	for (int i = 0; i < 4; i++)
		h[12 + i] = (unsigned char)(crc >> 8 * i);
	for (int i = 0; i < 8; i++) {
		h[16 + i] = (unsigned char)(mlen >> 8 * i);
		h[24 + i] = (unsigned char)(plen >> 8 * i);
	}
	for (unsigned d = 0; d < 8 && dims; d++)
		for (int i = 0; i < 8; i++)
			h[32 + 8 * d + i] = (unsigned char)(dims[d] >> 8 * i);
	crc = crc32(0, h, 124);
	for (int i = 0; i < 4; i++)
		h[124 + i] = (unsigned char)(crc >> 8 * i);
}

/* Recomputes the header CRC of h after a test changed a field. */
static __attribute__((unused)) void fix_header_crc(unsigned char *h)
{
	uLong crc = crc32(0, h, 124);
	for (int i = 0; i < 4; i++)
		h[124 + i] = (unsigned char)(crc >> 8 * i);
}

#endif
