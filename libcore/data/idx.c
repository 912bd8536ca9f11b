/* idx.c — IDX files (the MNIST format), plain or gzip'd, from memory or a
 * file; one parser over a small byte-source interface. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "dg/dataset.h"
#include "dg/error.h"
#include "data/dataset_impl.h"

/* A source of (decompressed) bytes: read() returns the bytes it got,
 * fewer only at the end, or -1 with the message set. */
struct src {
	long long (*read)(struct src *s, void *buf, size_t n);
	const char *name;
	/* memory */
	const uint8_t *mem;
	size_t len, pos;
	z_stream z;
	int gz, z_done;
	/* file */
	gzFile f;
};

static long long mem_read(struct src *s, void *buf, size_t n)
{
	size_t k = s->len - s->pos < n ? s->len - s->pos : n;

	memcpy(buf, s->mem + s->pos, k);
	s->pos += k;
	return (long long)k;
}

/* Inflates into buf.  Output is limited to what the caller asks for, so
 * a gzip bomb costs only the time to inflate the bytes the header
 * declared (plus one, to see whether anything follows). */
static long long gz_mem_read(struct src *s, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n && !s->z_done) {
		size_t chunk = n - got > (1u << 30) ? (1u << 30) : n - got;
		int rc;

		s->z.next_out = (Bytef *)buf + got;
		s->z.avail_out = (uInt)chunk;
		rc = inflate(&s->z, Z_NO_FLUSH);
		got += chunk - s->z.avail_out;
		if (rc == Z_STREAM_END) {
			s->z_done = 1;
		} else if (rc == Z_BUF_ERROR || (rc == Z_OK && s->z.avail_in == 0 &&
						 s->z.avail_out)) {
			dg_error(DG_EDATA, "%s: truncated gzip data", s->name);
			return -1;
		} else if (rc != Z_OK) {
			dg_error(DG_EDATA, "%s: corrupt gzip data (%s)", s->name,
				 s->z.msg ? s->z.msg : "inflate failed");
			return -1;
		}
	}
	return (long long)got;
}

static long long file_read(struct src *s, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		unsigned chunk = n - got > (1u << 30) ? (1u << 30) : (unsigned)(n - got);
		int k = gzread(s->f, (char *)buf + got, chunk);
		int err;
		const char *msg = gzerror(s->f, &err);

		if (k < 0 || (err != Z_OK && err != Z_BUF_ERROR)) {
			if (err == Z_ERRNO)
				dg_error_errno("%s", s->name);
			else
				dg_error(DG_EDATA, "%s: corrupt gzip data (%s)", s->name, msg);
			return -1;
		}
		if (err == Z_BUF_ERROR) {
			/* zlib's "unexpected end of file": a truncated .gz */
			dg_error(DG_EDATA, "%s: truncated gzip data", s->name);
			return -1;
		}
		got += (size_t)k;
		if ((unsigned)k < chunk)
			break;
	}
	return (long long)got;
}

static const struct {
	uint8_t code;
	int dtype;          /* what it becomes in memory */
	unsigned size;      /* bytes per element in the file */
	const char *name;
} idx_types[] = {
	{0x08, DG_U8, 1, "u8"},   {0x09, DG_I8, 1, "i8"},   {0x0B, DG_I32, 2, "i16"},
	{0x0C, DG_I32, 4, "i32"}, {0x0D, DG_F32, 4, "f32"}, {0x0E, DG_F64, 8, "f64"},
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Converts count big-endian elements of size sz in place (i16 widens into
 * the i32 buffer: done backwards so nothing is overwritten early). */
static void from_be(uint8_t *d, uint64_t count, unsigned code)
{
	switch (code) {
	case 0x0B:
		for (uint64_t i = count; i-- > 0;) {
			int16_t v = (int16_t)((uint16_t)d[2 * i] << 8 | d[2 * i + 1]);
			((int32_t *)(void *)d)[i] = v;
		}
		break;
	case 0x0C:
	case 0x0D:
		for (uint64_t i = 0; i < count; i++) {
			uint32_t v = be32(d + 4 * i);
			memcpy(d + 4 * i, &v, 4);
		}
		break;
	case 0x0E:
		for (uint64_t i = 0; i < count; i++) {
			uint64_t v = (uint64_t)be32(d + 8 * i) << 32 | be32(d + 8 * i + 4);
			memcpy(d + 8 * i, &v, 8);
		}
		break;
	}
}

/* Reads up to want bytes into a new dg_alloc() block of cap bytes (cap >=
 * want: i16 widens later).  The block grows as data arrives, so a header
 * that promises gigabytes costs only what the file really holds.
 * Returns the bytes read or -1 (message set); *out is set either way. */
static long long read_payload(struct src *s, uint64_t want, uint64_t cap, void **out)
{
	uint64_t have = 0, size = cap < (1u << 20) ? cap : (1u << 20);
	uint8_t *buf = dg_alloc(size ? size : 1);

	*out = buf;
	if (!buf)
		return -1;
	for (;;) {
		uint64_t step = (size < want ? size : want) - have;
		long long k = s->read(s, buf + have, step);
		uint8_t *bigger;

		if (k < 0)
			return -1;
		have += (uint64_t)k;
		if ((uint64_t)k < step || (have == want && size == cap))
			return (long long)have;
		size = have == want || size * 2 > cap ? cap : size * 2;
		bigger = dg_alloc(size);
		if (!bigger)
			return -1;
		memcpy(bigger, buf, have);
		dg_free(buf);
		*out = buf = bigger;
	}
}

/* Parses a whole IDX file, or with first > 0 only its first items along
 * the outermost dim (what follows is then not read, so not checked);
 * *total gets the outermost dim the header declares. */
static int parse(struct src *s, uint64_t max_bytes, uint64_t first, uint64_t *total,
		 struct dg_array **out)
{
	int partial = 0;
	uint8_t head[4], dimbuf[4 * DG_MAX_RANK], extra;
	uint64_t dims[DG_MAX_RANK], count, bytes = 0;
	unsigned rank, t;
	long long k;
	struct dg_array *a;
	char shape[160];

	*out = NULL;
	if (!max_bytes)
		max_bytes = DG_DATASET_MAX_BYTES;
	k = s->read(s, head, 4);
	if (k < 0)
		return DG_EDATA;
	if (k < 4 || head[0] || head[1])
		return dg_error(DG_EDATA, "%s: not an IDX file (bad magic)", s->name);
	for (t = 0; t < sizeof idx_types / sizeof *idx_types; t++)
		if (idx_types[t].code == head[2])
			break;
	if (t == sizeof idx_types / sizeof *idx_types)
		return dg_error(DG_EDATA, "%s: unknown IDX element type 0x%02x", s->name, head[2]);
	rank = head[3];
	if (rank < 1 || rank > DG_MAX_RANK)
		return dg_error(DG_EDATA, "%s: IDX rank %u not in 1..%d", s->name, rank, DG_MAX_RANK);
	k = s->read(s, dimbuf, 4 * rank);
	if (k < 0)
		return DG_EDATA;
	if (k < 4 * rank)
		return dg_error(DG_EDATA, "%s: truncated IDX header", s->name);
	for (unsigned i = 0; i < rank; i++)
		dims[i] = be32(dimbuf + 4 * i);
	dg_shape_format(shape, sizeof shape, rank, dims);
	if (total)
		*total = dims[0];
	if (first && first < dims[0]) {
		dims[0] = first;
		partial = 1;
	}
	/* dims are 32-bit, so count*8 cannot overflow 64 bits for rank <= 2
	 * but can for more: check through dg_shape_count. */
	if (dg_shape_count(rank, dims, idx_types[t].dtype, &count, &bytes))
		return dg_error_context(DG_EDATA, "%s: IDX dims %s", s->name, shape);
	if (bytes > max_bytes || bytes > SIZE_MAX / 2)
		return dg_error(DG_EDATA, "%s: IDX dims %s need %llu bytes, more than the limit of %llu",
				s->name, shape, (unsigned long long)bytes,
				(unsigned long long)max_bytes);
	/* The file's own size must match before anything is allocated, when
	 * it is known (plain data in memory). */
	if (s->mem && !s->gz && (partial ? s->len - s->pos < count * idx_types[t].size
					  : s->len - s->pos != count * idx_types[t].size))
		return dg_error(DG_EDATA, "%s: IDX dims %s need %llu bytes of data, the file has %llu",
				s->name, shape,
				(unsigned long long)(count * idx_types[t].size),
				(unsigned long long)(s->len - s->pos));
	a = dg_array_new(idx_types[t].dtype, 0, NULL);
	if (!a)
		return dg_error_context(DG_ENOMEM, "%s", s->name);
	a->rank = rank;
	memcpy(a->dims, dims, sizeof dims);
	dg_free(a->data);
	a->data = NULL;
	k = read_payload(s, count * idx_types[t].size, bytes, &a->data);
	if (k >= 0 && (uint64_t)k < count * idx_types[t].size) {
		dg_error(DG_EDATA, "%s: IDX dims %s need %llu bytes of data, the file has %llu",
			 s->name, shape, (unsigned long long)(count * idx_types[t].size),
			 (unsigned long long)k);
		k = -1;
	}
	if (k >= 0 && !partial) {
		k = s->read(s, &extra, 1);
		if (k > 0) {
			dg_error(DG_EDATA, "%s: data continues after the IDX dims %s", s->name, shape);
			k = -1;
		}
	}
	if (k < 0) {
		dg_array_free(a);
		return DG_EDATA;
	}
	from_be(a->data, count, idx_types[t].code);
	*out = a;
	return DG_OK;
}

int dg_idx_parse(const void *buf, size_t len, const char *name, uint64_t max_bytes,
		 struct dg_array **out)
{
	struct src s = {.read = mem_read, .name = name ? name : "IDX data",
			.mem = buf, .len = len};
	int st;

	*out = NULL;
	if (len >= 2 && s.mem[0] == 0x1f && s.mem[1] == 0x8b) {
		s.gz = 1;
		s.read = gz_mem_read;
		s.z.next_in = (Bytef *)(uintptr_t)buf;
		/* zlib counts input in uInt: more than 4 GiB of .gz is refused */
		if (len > UINT32_MAX)
			return dg_error(DG_EDATA, "%s: gzip data over 4 GiB", s.name);
		s.z.avail_in = (uInt)len;
		if (inflateInit2(&s.z, 15 + 16) != Z_OK)
			return dg_error(DG_ENOMEM, "%s: cannot start zlib", s.name);
	}
	st = parse(&s, max_bytes, 0, NULL, out);
	if (s.gz)
		inflateEnd(&s.z);
	return st;
}

int dg__idx_read_first(const char *path, uint64_t max_bytes, uint64_t first,
		       uint64_t *total, struct dg_array **out)
{
	struct src s = {.read = file_read, .name = path};
	int st;

	*out = NULL;
	s.f = gzopen(path, "rb");
	if (!s.f)
		return dg_error_errno("%s", path);
	gzbuffer(s.f, 1 << 16);
	st = parse(&s, max_bytes, first, total, out);
	gzclose(s.f);
	return st;
}

int dg_idx_read(const char *path, uint64_t max_bytes, struct dg_array **out)
{
	return dg__idx_read_first(path, max_bytes, 0, NULL, out);
}
