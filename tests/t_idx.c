/* t_idx.c — the IDX reader: every element type and several ranks, plain
 * and gzip'd, from memory and from files; truncation at every offset,
 * dims that disagree with the data, absurd dims, corrupt gzip. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "tap.h"
#include "dg.h"
#include "data/dataset_impl.h"

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put_be(struct buf *b, uint64_t v, unsigned size)
{
	uint8_t x[8];
	for (unsigned i = 0; i < size; i++)
		x[i] = (uint8_t)(v >> 8 * (size - 1 - i));
	put(b, x, size);
}

static void header(struct buf *b, uint8_t type, unsigned rank, const uint32_t *dims)
{
	uint8_t h[4] = {0, 0, type, (uint8_t)rank};
	put(b, h, 4);
	for (unsigned i = 0; i < rank; i++)
		put_be(b, dims[i], 4);
}

/* The value of element i for the tests: distinct, signed where possible. */
static double value(uint8_t type, uint64_t i)
{
	switch (type) {
	case 0x08: return (double)(i * 7 % 256);
	case 0x09: return (double)((int)(i * 7 % 256) - 128);
	case 0x0B: return (double)((int)(i * 1237 % 65536) - 32768);
	case 0x0C: return (double)((int64_t)(i * 2654435761u % 4294967296u) - 2147483648ll);
	case 0x0D: return (float)(i * 0.37 - 5.5);
	default:   return i * 0.123456789 - 77.25;
	}
}

static void body(struct buf *b, uint8_t type, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		double v = value(type, i);
		union { float f; uint32_t u; } f;
		union { double d; uint64_t u; } d;
		switch (type) {
		case 0x08: case 0x09: put_be(b, (uint64_t)(int64_t)v, 1); break;
		case 0x0B: put_be(b, (uint64_t)(int64_t)v, 2); break;
		case 0x0C: put_be(b, (uint64_t)(int64_t)v, 4); break;
		case 0x0D: f.f = (float)v; put_be(b, f.u, 4); break;
		default: d.d = v; put_be(b, d.u, 8); break;
		}
	}
}

static double got(const struct dg_array *a, uint64_t i)
{
	switch (a->dtype) {
	case DG_U8: return ((uint8_t *)a->data)[i];
	case DG_I8: return ((int8_t *)a->data)[i];
	case DG_I32: return ((int32_t *)a->data)[i];
	case DG_F32: return ((float *)a->data)[i];
	case DG_F64: return ((double *)a->data)[i];
	default: return -1e300;
	}
}

static struct buf gzip(const struct buf *in)
{
	struct buf out = {0};
	z_stream z = {0};

	deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	out.cap = deflateBound(&z, in->n) + 64;
	out.p = malloc(out.cap);
	z.next_in = in->p;
	z.avail_in = (uInt)in->n;
	z.next_out = out.p;
	z.avail_out = (uInt)out.cap;
	deflate(&z, Z_FINISH);
	out.n = out.cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

static char tmpdir[] = "/tmp/t_idx.XXXXXX";

static void write_file(const char *path, const struct buf *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(b->p, 1, n, f);
	fclose(f);
}

static void types_and_ranks(void)
{
	static const uint8_t types[] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E};
	static const int dtypes[] = {DG_U8, DG_I8, DG_I32, DG_I32, DG_F32, DG_F64};
	static const uint32_t shapes[4][4] = {{17}, {3, 5}, {2, 3, 4}, {2, 1, 3, 2}};

	for (unsigned t = 0; t < sizeof types; t++)
		for (unsigned r = 1; r <= 4; r++) {
			struct buf b = {0}, z;
			struct dg_array *a = NULL;
			uint64_t count = 1;
			int st, same = 1;
			char path[256];

			for (unsigned i = 0; i < r; i++)
				count *= shapes[r - 1][i];
			header(&b, types[t], r, shapes[r - 1]);
			body(&b, types[t], count);
			st = dg_idx_parse(b.p, b.n, "mem", 0, &a);
			ok(st == 0 && a && (int)a->dtype == dtypes[t] && a->rank == r &&
			   dg_array_count(a) == count, "type 0x%02x rank %u parses", types[t], r);
			for (uint64_t i = 0; a && i < count; i++)
				same &= got(a, i) == value(types[t], i);
			ok(a && same, "type 0x%02x rank %u values", types[t], r);
			dg_array_free(a);

			z = gzip(&b);
			st = dg_idx_parse(z.p, z.n, "mem.gz", 0, &a);
			same = st == 0 && a && dg_array_count(a) == count;
			for (uint64_t i = 0; same && i < count; i++)
				same &= got(a, i) == value(types[t], i);
			ok(same, "type 0x%02x rank %u gzip'd in memory", types[t], r);
			dg_array_free(a);

			snprintf(path, sizeof path, "%s/x-%u-%u.gz", tmpdir, t, r);
			write_file(path, &z, z.n);
			st = dg_idx_read(path, 0, &a);
			same = st == 0 && a && dg_array_count(a) == count;
			for (uint64_t i = 0; same && i < count; i++)
				same &= got(a, i) == value(types[t], i);
			ok(same, "type 0x%02x rank %u gzip'd file", types[t], r);
			dg_array_free(a);
			unlink(path);
			free(z.p);
			free(b.p);
		}
}

/* Every proper prefix of a file is refused (plain and gzip'd, memory and
 * file), with a message. */
static void truncation(void)
{
	static const uint32_t dims[3] = {3, 4, 5};
	struct buf b = {0}, z;
	char path[256];
	int bad = 0, bad_gz = 0, bad_file = 0, silent = 0;

	header(&b, 0x0C, 3, dims);
	body(&b, 0x0C, 60);
	z = gzip(&b);
	for (size_t n = 0; n < b.n; n++) {
		struct dg_array *a = NULL;
		int st = dg_idx_parse(b.p, n, "cut", 0, &a);
		bad += st != DG_EDATA || a;
		silent += !*dg_errmsg();
		dg_array_free(a);
	}
	for (size_t n = 0; n < z.n; n++) {
		struct dg_array *a = NULL;
		int st = dg_idx_parse(z.p, n, "cut.gz", 0, &a);
		bad_gz += st != DG_EDATA || a;
		dg_array_free(a);
	}
	snprintf(path, sizeof path, "%s/cut.gz", tmpdir);
	for (size_t n = 1; n < z.n; n++) {
		struct dg_array *a = NULL;
		int st;
		write_file(path, &z, n);
		st = dg_idx_read(path, 0, &a);
		bad_file += st != DG_EDATA || a;
		if (st != DG_EDATA)
			diag("file cut at %zu of %zu: status %d", n, z.n, st);
		dg_array_free(a);
	}
	unlink(path);
	is_int(bad, 0, "every truncation of a %zu-byte IDX is DG_EDATA", b.n);
	is_int(silent, 0, "each with a message");
	is_int(bad_gz, 0, "every truncation of its %zu-byte gzip in memory", z.n);
	is_int(bad_file, 0, "every truncation of the .gz file");
	{
		struct dg_array *a = NULL;
		int st = dg_idx_parse(z.p, z.n - 3, "cut.gz", 0, &a);
		ok(st == DG_EDATA && strstr(dg_errmsg(), "truncated gzip"), "message: %s",
		   dg_errmsg());
	}
	free(z.p);
	free(b.p);
}

static void expect(const void *p, size_t n, const char *want, const char *what)
{
	struct dg_array *a = NULL;
	int st = dg_idx_parse(p, n, "bad", 0, &a);
	ok(st == DG_EDATA && !a && strstr(dg_errmsg(), want), "%s: %s", what, dg_errmsg());
	dg_array_free(a);
}

static void hostile(void)
{
	struct buf b = {0};
	static const uint32_t d34[2] = {3, 4};
	static const uint32_t huge[8] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
					 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
	static const uint32_t big[3] = {1000, 1000, 1000};
	uint8_t bad_magic[] = {1, 0, 8, 1, 0, 0, 0, 1, 7};
	uint8_t bad_type[] = {0, 0, 7, 1, 0, 0, 0, 1, 7};
	uint8_t rank0[] = {0, 0, 8, 0};
	uint8_t rank9[4 + 36] = {0, 0, 8, 9};
	char path[256];
	struct dg_array *a;
	int st;

	header(&b, 0x08, 2, d34);
	body(&b, 0x08, 12);
	put(&b, "x", 1);
	expect(b.p, b.n - 2, "need 12 bytes of data, the file has 11", "one byte short");
	expect(b.p, b.n, "need 12 bytes of data, the file has 13", "one byte more");
	{
		struct buf z = gzip(&b);
		expect(z.p, z.n, "data continues after", "gzip'd with a byte more");
		free(z.p);
	}
	b.n = 0;
	header(&b, 0x0E, 8, huge);
	expect(b.p, b.n, "overflows", "8 dims of 2^32-1 overflow");
	b.n = 0;
	header(&b, 0x08, 3, big);
	put(&b, "0123456789", 10);
	expect(b.p, b.n, "need 1000000000 bytes of data, the file has 10",
	       "a 1 GB header on 10 bytes");
	st = dg_idx_parse(b.p, b.n, "bad", 1000, &a);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "limit"), "over max_bytes: %s", dg_errmsg());
	/* the same lie in a file: refused without allocating a gigabyte */
	snprintf(path, sizeof path, "%s/big", tmpdir);
	write_file(path, &b, b.n);
	st = dg_idx_read(path, 0, &a);
	ok(st == DG_EDATA && !a && strstr(dg_errmsg(), "the file has 10"), "file: %s",
	   dg_errmsg());
	unlink(path);
	expect(bad_magic, sizeof bad_magic, "bad magic", "bad magic");
	expect(bad_type, sizeof bad_type, "element type 0x07", "unknown type");
	expect(rank0, sizeof rank0, "rank 0", "rank 0");
	expect(rank9, sizeof rank9, "rank 9", "rank 9");
	expect("", 0, "bad magic", "empty");

	/* corrupt deflate data and a corrupt CRC */
	b.n = 0;
	header(&b, 0x08, 2, d34);
	body(&b, 0x08, 12);
	{
		struct buf z = gzip(&b);
		z.p[z.n - 6] ^= 0x55;   /* inside the CRC-32 */
		expect(z.p, z.n, "corrupt gzip", "bad gzip CRC");
		snprintf(path, sizeof path, "%s/crc.gz", tmpdir);
		write_file(path, &z, z.n);
		st = dg_idx_read(path, 0, &a);
		ok(st == DG_EDATA && !a && strstr(dg_errmsg(), "gzip"), "file: %s", dg_errmsg());
		unlink(path);
		z.p[z.n - 6] ^= 0x55;
		z.p[12] ^= 0xff;
		z.p[13] ^= 0xff;
		st = dg_idx_parse(z.p, z.n, "bad", 0, &a);
		ok(st == DG_EDATA && !a, "corrupt deflate data: %s", dg_errmsg());
		free(z.p);
	}
	st = dg_idx_read("/nonexistent/x-idx3-ubyte", 0, &a);
	ok(st == DG_ENOINPUT && !a, "missing file: %s", dg_errmsg());
	free(b.p);
}

/* Regression: every input kept from fuzzing (seeds and findings) parses
 * or fails cleanly, here without the fuzzer's instrumentation. */
static void fuzz_inputs(const char *sub)
{
	const char *src = getenv("DG_SRC");
	char dir[1024];
	DIR *d;
	struct dirent *e;
	int files = 0, bad = 0;

	snprintf(dir, sizeof dir, "%s/%s", src ? src : ".", sub);
	if (!(d = opendir(dir))) {
		ok(!strstr(sub, "corpus"), "%s exists", dir);
		return;
	}
	while ((e = readdir(d))) {
		char path[2048];
		FILE *f;
		long n;
		uint8_t *b;
		struct dg_array *a = NULL;
		int st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (!(f = fopen(path, "rb")))
			continue;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		b = malloc(n ? (size_t)n : 1);
		n = (long)fread(b, 1, (size_t)n, f);
		fclose(f);
		st = dg_idx_parse(b, (size_t)n, e->d_name, 16u << 20, &a);
		if (st ? (a || st != DG_EDATA || !*dg_errmsg()) : !a) {
			bad++;
			diag("%s: status %d %s", path, st, dg_errmsg());
		}
		dg_array_free(a);
		free(b);
		files++;
	}
	closedir(d);
	ok(files > 0 && !bad, "%d inputs of %s parse or fail cleanly", files, sub);
}

/* Reading only the first items: the rest is not read, so a file cut
 * after them still gives them, with the declared total. */
static void first_items(void)
{
	static const uint32_t dims[2] = {5, 3};
	struct buf b = {0}, z;
	char path[256];
	struct dg_array *a = NULL;
	uint64_t total = 0;
	int st, same;

	header(&b, 0x0C, 2, dims);
	body(&b, 0x0C, 15);
	z = gzip(&b);
	snprintf(path, sizeof path, "%s/first", tmpdir);
	write_file(path, &b, b.n - 30);   /* items 0..1 whole, 2 cut */
	st = dg__idx_read_first(path, 0, 2, &total, &a);
	same = st == 0 && a && a->dims[0] == 2 && a->dims[1] == 3 && total == 5;
	for (int i = 0; same && i < 6; i++)
		same = got(a, i) == value(0x0C, i);
	ok(same, "the first 2 of 5 items of a cut file (%s)", st ? dg_errmsg() : "");
	dg_array_free(a);
	st = dg__idx_read_first(path, 0, 3, &total, &a);
	ok(st == DG_EDATA && !a, "the first 3 are not all there: %s", dg_errmsg());
	st = dg__idx_read_first(path, 0, 0, &total, &a);
	ok(st == DG_EDATA && !a, "nor is the whole file");
	snprintf(path, sizeof path, "%s/first.gz", tmpdir);
	write_file(path, &z, z.n);
	st = dg__idx_read_first(path, 0, 9, &total, &a);
	ok(st == 0 && a && a->dims[0] == 5 && total == 5, "more than there are: all of them");
	dg_array_free(a);
	unlink(path);
	snprintf(path, sizeof path, "%s/first", tmpdir);
	unlink(path);
	free(z.p);
	free(b.p);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	types_and_ranks();
	truncation();
	hostile();
	first_items();
	fuzz_inputs("tests/fuzz/corpus/fuzz_idx");
	rmdir(tmpdir);
	return done_testing();
}
