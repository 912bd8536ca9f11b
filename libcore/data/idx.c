/* idx.c — IDX files (the MNIST format), plain or gzip'd, from memory or an
 * input (a file or a pipe): one header parser and one element reader over
 * a small byte source that inflates as it goes, so a file is read once,
 * item by item if the caller wants, and never held whole in memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "dg/dataset.h"
#include "dg/error.h"
#include "dg/input.h"
#include "data/dataset_impl.h"
#include "io/limits.h"

#define ZCHUNK (1u << 16)

/* A source of (decompressed) bytes. */
struct src {
	const char *name;
	/* the raw bytes: memory, or an input */
	const uint8_t *mem;
	size_t len, pos;
	struct dg_input *in;
	/* gzip */
	int gz, z_done, z_init;
	z_stream z;
	uint8_t *zbuf;              /* input chunk (inputs only) */
};

struct dg_idx {
	struct src s;
	struct dg_input *own_in;    /* opened by path */
	unsigned t;                 /* index into idx_types */
	unsigned rank;
	uint64_t dims[DG_MAX_RANK]; /* dims[0] cut to first when partial */
	uint64_t total;             /* dims[0] as declared */
	uint64_t item;              /* elements per outermost item */
	uint64_t done;              /* outermost items read */
	int partial;
	char shape[160];
};

static const struct {
	uint8_t code;
	int dtype;          /* what it becomes in memory */
	unsigned size;      /* bytes per element in the file */
} idx_types[] = {
	{0x08, DG_U8, 1}, {0x09, DG_I8, 1},  {0x0B, DG_I32, 2},
	{0x0C, DG_I32, 4}, {0x0D, DG_F32, 4}, {0x0E, DG_F64, 8},
};
#define NTYPES (sizeof idx_types / sizeof *idx_types)

/* Up to n raw bytes: *got < n only at the end.  -1 with the message set. */
static int raw_read(struct src *s, void *buf, size_t n, size_t *got)
{
	if (s->in)
		return dg_input_read(s->in, buf, n, got) ? -1 : 0;
	*got = s->len - s->pos < n ? s->len - s->pos : n;
	memcpy(buf, s->mem + s->pos, *got);
	s->pos += *got;
	return 0;
}

/* Feeds the inflater more raw bytes; 0 at the end of them. */
static long long refill(struct src *s)
{
	size_t got;

	if (!s->in) {
		/* zlib counts input in uInt: memory is fed in pieces */
		got = s->len - s->pos < (1u << 30) ? s->len - s->pos : (1u << 30);
		s->z.next_in = (Bytef *)(uintptr_t)(s->mem + s->pos);
		s->pos += got;
	} else {
		if (raw_read(s, s->zbuf, ZCHUNK, &got))
			return -1;
		s->z.next_in = s->zbuf;
	}
	s->z.avail_in = (uInt)got;
	return (long long)got;
}

/* Inflates into buf.  Output is limited to what the caller asks for, so
 * a gzip bomb costs only the time to inflate the bytes the header
 * declared (plus one, to see whether anything follows).  Members of a
 * multi-member gzip file follow one another, as with gzip -d. */
static long long gz_read(struct src *s, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n && !s->z_done) {
		size_t chunk = n - got > (1u << 30) ? (1u << 30) : n - got;
		int rc;

		if (!s->z.avail_in) {
			long long k = refill(s);
			if (k < 0)
				return -1;
			if (k == 0) {
				dg_error(DG_EDATA, "%s: truncated gzip data", s->name);
				return -1;
			}
		}
		s->z.next_out = (Bytef *)buf + got;
		s->z.avail_out = (uInt)chunk;
		rc = inflate(&s->z, Z_NO_FLUSH);
		got += chunk - s->z.avail_out;
		if (rc == Z_STREAM_END) {
			/* another member follows, or the end (anything else
			 * after the last member is ignored, as gzip does) */
			if (!s->z.avail_in && refill(s) < 0)
				return -1;
			if (s->z.avail_in >= 2 && s->z.next_in[0] == 0x1f && s->z.next_in[1] == 0x8b)
				inflateReset(&s->z);
			else
				s->z_done = 1;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			dg_error(DG_EDATA, "%s: corrupt gzip data (%s)", s->name,
				 s->z.msg ? s->z.msg : "inflate failed");
			return -1;
		}
	}
	return (long long)got;
}

/* Up to n (decompressed) bytes; fewer only at the end.  -1: message set. */
static long long src_read(struct src *s, void *buf, size_t n)
{
	size_t got;

	if (s->gz)
		return gz_read(s, buf, n);
	return raw_read(s, buf, n, &got) ? -1 : (long long)got;
}

/* Starts the source, inflating when the first bytes are gzip's magic. */
static int src_start(struct src *s)
{
	if (s->in) {
		const void *p;
		size_t n;
		if (dg_input_peek(s->in, 2, &p, &n))
			return DG_EIO;
		s->gz = n == 2 && ((const uint8_t *)p)[0] == 0x1f && ((const uint8_t *)p)[1] == 0x8b;
	} else {
		s->gz = s->len >= 2 && s->mem[0] == 0x1f && s->mem[1] == 0x8b;
	}
	if (!s->gz)
		return DG_OK;
	if (s->in && !(s->zbuf = malloc(ZCHUNK)))
		return dg_error_nomem("an IDX reader", ZCHUNK);
	if (inflateInit2(&s->z, 15 + 16) != Z_OK)
		return dg_error(DG_ENOMEM, "%s: cannot start zlib", s->name);
	s->z_init = 1;
	return DG_OK;
}

static void src_end(struct src *s)
{
	if (s->z_init)
		inflateEnd(&s->z);
	free(s->zbuf);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Converts count big-endian elements in place (i16 widens into the i32
 * buffer: done backwards so nothing is overwritten early). */
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

/* The header; with first > 0 only the first items along the outermost
 * dim are to be read (what follows them is then not read, so not
 * checked).  The sizes are checked to fit 64 bits, nothing more: callers
 * hold them to their limits. */
static int parse_head(struct dg_idx *x, uint64_t first)
{
	struct src *s = &x->s;
	uint8_t head[4], dimbuf[4 * DG_MAX_RANK];
	uint64_t count, bytes;
	long long k;

	k = src_read(s, head, 4);
	if (k < 0)
		return DG_EDATA;
	if (k < 4 || head[0] || head[1])
		return dg_error(DG_EDATA, "%s: not an IDX file (bad magic)", s->name);
	for (x->t = 0; x->t < NTYPES; x->t++)
		if (idx_types[x->t].code == head[2])
			break;
	if (x->t == NTYPES)
		return dg_error(DG_EDATA, "%s: unknown IDX element type 0x%02x", s->name, head[2]);
	x->rank = head[3];
	if (x->rank < 1 || x->rank > DG_MAX_RANK)
		return dg_error(DG_EDATA, "%s: IDX rank %u not in 1..%d", s->name, x->rank,
				DG_MAX_RANK);
	k = src_read(s, dimbuf, 4 * x->rank);
	if (k < 0)
		return DG_EDATA;
	if (k < 4 * x->rank)
		return dg_error(DG_EDATA, "%s: truncated IDX header", s->name);
	for (unsigned i = 0; i < x->rank; i++)
		x->dims[i] = be32(dimbuf + 4 * i);
	dg_shape_format(x->shape, sizeof x->shape, x->rank, x->dims);
	x->total = x->dims[0];
	if (first && first < x->dims[0]) {
		x->dims[0] = first;
		x->partial = 1;
	}
	/* dims are 32-bit, so count*8 cannot overflow 64 bits for rank <= 2
	 * but can for more */
	if (dg_shape_count(x->rank, x->dims, idx_types[x->t].dtype, &count, &bytes))
		return dg_error_context(DG_EDATA, "%s: IDX dims %s", s->name, x->shape);
	x->item = x->dims[0] ? count / x->dims[0] : 0;
	if (!x->dims[0] && dg_shape_count(x->rank - 1, x->dims + 1, DG_U8, &x->item, NULL))
		return dg_error_context(DG_EDATA, "%s: IDX dims %s", s->name, x->shape);
	(void)bytes;
	return DG_OK;
}

static int idx_start(struct dg_idx *x, uint64_t first)
{
	int st = src_start(&x->s);
	return st ? st : parse_head(x, first);
}

int dg__idx_open(struct dg_input *in, uint64_t first, struct dg_idx **out)
{
	struct dg_idx *x = calloc(1, sizeof *x);
	int st;

	*out = NULL;
	if (!x)
		return dg_error_nomem("an IDX reader", sizeof *x);
	x->s.in = in;
	x->s.name = dg_input_name(in);
	if ((st = idx_start(x, first))) {
		dg__idx_close(x);
		return st;
	}
	*out = x;
	return DG_OK;
}

void dg__idx_close(struct dg_idx *x)
{
	if (!x)
		return;
	src_end(&x->s);
	dg_input_close(x->own_in);
	free(x);
}

void dg__idx_shape(const struct dg_idx *x, int *dtype, unsigned *rank, uint64_t *dims,
		   uint64_t *total)
{
	*dtype = idx_types[x->t].dtype;
	*rank = x->rank;
	memcpy(dims, x->dims, sizeof x->dims);
	if (total)
		*total = x->total;
}

uint64_t dg__idx_done(const struct dg_idx *x)
{
	return x->done;
}

/* What is left of the data is shorter than the header says. */
static int short_data(struct dg_idx *x, uint64_t got)
{
	uint64_t need = x->dims[0] * x->item * idx_types[x->t].size;
	return dg_error(DG_EDATA, "%s: IDX dims %s need %llu bytes of data, the file has %llu",
			x->s.name, x->shape, (unsigned long long)need, (unsigned long long)got);
}

/* Reads up to want bytes into a new dg_alloc() block of cap bytes (cap >=
 * want: i16 widens later).  The block grows as data arrives, so a header
 * that promises gigabytes costs only what the file really holds.
 * Returns the bytes read, or -1 for bad data, -2 out of memory (message
 * set); *out is set either way. */
static long long read_payload(struct src *s, uint64_t want, uint64_t cap, void **out)
{
	uint64_t have = 0, size = cap < (1u << 20) ? cap : (1u << 20);
	uint8_t *buf = dg_alloc(size ? size : 1);

	*out = buf;
	if (!buf)
		return -2;
	for (;;) {
		uint64_t step = (size < want ? size : want) - have;
		long long k = src_read(s, buf + have, step);
		uint8_t *bigger;

		if (k < 0)
			return -1;
		have += (uint64_t)k;
		if ((uint64_t)k < step || (have == want && size == cap))
			return (long long)have;
		size = have == want || size * 2 > cap ? cap : size * 2;
		bigger = dg_alloc(size);
		if (!bigger)
			return -2;
		memcpy(bigger, buf, have);
		dg_free(buf);
		*out = buf = bigger;
	}
}

int dg__idx_items(struct dg_idx *x, uint64_t n, void **buf)
{
	unsigned size = idx_types[x->t].size;
	uint64_t bytes = n * x->item * size;
	long long k;

	*buf = NULL;
	if (n > x->dims[0] - x->done)
		return dg_error(DG_EINTERNAL, "%s: read past the IDX items", x->s.name);
	k = read_payload(&x->s, bytes, n * x->item * dg_dtype_size(idx_types[x->t].dtype), buf);
	if (k >= 0 && (uint64_t)k < bytes) {
		short_data(x, x->done * x->item * size + (uint64_t)k);
		k = -1;
	}
	if (k < 0) {
		dg_free(*buf);
		*buf = NULL;
		return k == -2 ? DG_ENOMEM : DG_EDATA;
	}
	from_be(*buf, n * x->item, idx_types[x->t].code);
	x->done += n;
	return DG_OK;
}

int dg__idx_finish(struct dg_idx *x)
{
	uint8_t extra;
	long long k;

	if (x->partial)
		return DG_OK;
	k = src_read(&x->s, &extra, 1);
	if (k < 0)
		return DG_EDATA;
	if (k > 0)
		return dg_error(DG_EDATA, "%s: data continues after the IDX dims %s", x->s.name,
				x->shape);
	return DG_OK;
}

/* The items of the header (all of them, or the first) as one array, the
 * size in memory held to max_bytes (0: DG_DATASET_MAX_BYTES or its
 * variable). */
static int whole(struct dg_idx *x, uint64_t max_bytes, struct dg_array **out)
{
	uint64_t count, bytes;
	struct dg_array *a;
	long long k;
	int st;

	*out = NULL;
	if (!max_bytes && (st = dg__env_limit(DG_ENV_DATASET_MAX, DG_DATASET_MAX_BYTES,
					      &max_bytes)))
		return st;
	dg_shape_count(x->rank, x->dims, idx_types[x->t].dtype, &count, &bytes);
	if (bytes > max_bytes || bytes > SIZE_MAX / 2)
		return dg_error(DG_EDATA, "%s: IDX dims %s need %llu bytes, more than the limit "
				"of %llu (%s)", x->s.name, x->shape, (unsigned long long)bytes,
				(unsigned long long)max_bytes, DG_ENV_DATASET_MAX);
	/* the data must match, when its size is known (plain, in memory),
	 * before anything is allocated */
	if (x->s.mem && !x->s.gz &&
	    (x->partial ? x->s.len - x->s.pos < count * idx_types[x->t].size
			: x->s.len - x->s.pos != count * idx_types[x->t].size))
		return short_data(x, x->s.len - x->s.pos);
	a = dg_array_new(idx_types[x->t].dtype, 0, NULL);
	if (!a)
		return dg_error_context(DG_ENOMEM, "%s", x->s.name);
	a->rank = x->rank;
	memcpy(a->dims, x->dims, sizeof x->dims);
	dg_free(a->data);
	a->data = NULL;
	k = read_payload(&x->s, count * idx_types[x->t].size, bytes, &a->data);
	if (k >= 0 && (uint64_t)k < count * idx_types[x->t].size) {
		short_data(x, (uint64_t)k);
		k = -1;
	}
	x->done = x->dims[0];
	if (k < 0 || dg__idx_finish(x)) {
		dg_array_free(a);
		return k == -2 ? DG_ENOMEM : DG_EDATA;
	}
	from_be(a->data, count, idx_types[x->t].code);
	*out = a;
	return DG_OK;
}

int dg_idx_parse(const void *buf, size_t len, const char *name, uint64_t max_bytes,
		 struct dg_array **out)
{
	struct dg_idx x = {.s = {.name = name ? name : "IDX data", .mem = buf, .len = len}};
	int st;

	*out = NULL;
	st = idx_start(&x, 0);
	if (!st)
		st = whole(&x, max_bytes, out);
	src_end(&x.s);
	return st;
}

int dg__idx_read_first(const char *path, uint64_t max_bytes, uint64_t first,
		       uint64_t *total, struct dg_array **out)
{
	struct dg_input *in;
	struct dg_idx *x;
	int st;

	*out = NULL;
	if ((st = dg_input_open(path, &in)))
		return st;
	if ((st = dg__idx_open(in, first, &x))) {
		dg_input_close(in);
		return st;
	}
	x->own_in = in;
	if (total)
		*total = x->total;
	st = whole(x, max_bytes, out);
	dg__idx_close(x);
	return st;
}

int dg_idx_read(const char *path, uint64_t max_bytes, struct dg_array **out)
{
	return dg__idx_read_first(path, max_bytes, 0, NULL, out);
}
