/* stream_format.h — the byte layout of a dg-stream(5) record header, shared
 * by the reader (stream.c) and the writer (stream_write.c).  Internal. */
#ifndef DG_STREAM_FORMAT_H
#define DG_STREAM_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Field offsets in the 128-byte header; see man/dg-stream.5. */
enum {
	HDR_MAGIC = 0,      /* 4 bytes "DGST" */
	HDR_VERSION = 4,    /* u16 */
	HDR_DTYPE = 6,      /* u8 */
	HDR_RANK = 7,       /* u8 */
	HDR_FLAGS = 8,      /* u32, must be 0 */
	HDR_DATA_CRC = 12,  /* u32 over metadata then payload */
	HDR_META_LEN = 16,  /* u64 */
	HDR_PAYLOAD_LEN = 24, /* u64 */
	HDR_DIMS = 32,      /* 8 x u64 */
	HDR_RESERVED = 96,  /* 28 zero bytes */
	HDR_CRC = 124,      /* u32 over bytes 0..123 */
};

#define DG_STREAM_MAGIC "DGST"

/* A compile-time constant, so byte swapping is an `if` the compiler
 * removes on little-endian hosts while still type-checking it. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define DG_BIG_ENDIAN 1
#else
#define DG_BIG_ENDIAN 0
#endif

static inline uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static inline void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

static inline void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Bytes of zero padding after n bytes to reach a multiple of 64. */
static inline uint64_t pad64(uint64_t n)
{
	return (64 - n % 64) % 64;
}

/* Reverses the bytes of each of the n elements of size bytes in buf:
 * host order <-> little-endian on big-endian hosts. */
static inline void swap_elements(void *buf, size_t n, size_t size)
{
	unsigned char *p = buf;
	for (size_t i = 0; size > 1 && i < n; i++, p += size)
		for (size_t a = 0, b = size - 1; a < b; a++, b--) {
			unsigned char t = p[a];
			p[a] = p[b];
			p[b] = t;
		}
}

#endif
