/* t_stream_corrupt.c — the stream reader on bad input: truncation at every
 * byte, every single-bit flip, absurd headers, foreign bytes, and errors
 * that spoil one record but leave the stream readable. */
#include "tap.h"
#include "stream_util.h"

/* Two records: f32 2x3 "space=latent" (256 bytes) and u8 [3] without
 * metadata (192 bytes). */
static char *small_stream(size_t *n)
{
	const uint64_t d1[] = {2, 3}, d2[] = {3};
	const float v[6] = {1, 2, 3, 4, 5, 6};
	const unsigned char u[3] = {7, 8, 9};
	struct dg_meta *m = dg_meta_new();
	struct mem mem;

	dg_meta_set(m, "space", "latent");
	mem_writer(&mem);
	dg_write_record(mem.w, DG_F32, 2, d1, m, v);
	dg_write_record(mem.w, DG_U8, 1, d2, NULL, u);
	mem_finish(&mem);
	dg_meta_free(m);
	*n = mem.n;
	return mem.p;
}

/* Reads every record by skipping payloads (the dg-info path). */
static int skip_all(const void *bytes, size_t n, uint64_t *count)
{
	FILE *f = mem_file(bytes, n);
	struct dg_reader *r = dg_reader_file(f, "-");
	const struct dg_record *rec;
	int st;

	*count = 0;
	while (!(st = dg_reader_next(r, &rec)) && rec && !(st = dg_reader_skip(r)))
		++*count;
	dg_reader_close(r);
	fclose(f);
	return st;
}

static void test_truncation(void)
{
	size_t n, bad = 0;
	char *s = small_stream(&n);
	const size_t ends[] = {0, 256, 448};

	is_int((long long)n, 448, "small stream is 256 + 192 bytes");
	for (size_t k = 0; k < n; k++) {
		int boundary = k == ends[0] || k == ends[1];
		int want_rec = k < 256 ? 0 : 1;
		uint64_t count, count2;
		char want[64];
		int st = read_all(s, k, &count), st2;
		int msg_ok = 1;

		snprintf(want, sizeof want, "stdin: record %d: truncated ", want_rec);
		if (st)
			msg_ok = strstr(dg_errmsg(), want) != NULL;
		st2 = skip_all(s, k, &count2);
		if (st2)
			msg_ok &= strstr(dg_errmsg(), want) != NULL;
		if (boundary ? st || st2 || count != (uint64_t)want_rec ||
				       count2 != count
			     : st != DG_EDATA || st2 != DG_EDATA || !msg_ok ||
				       count != (uint64_t)want_rec) {
			if (bad++ < 5)
				diag("cut at %zu: status %d/%d, %llu records: %s", k, st,
				     st2, (unsigned long long)count, dg_errmsg());
		}
	}
	is_int((long long)bad, 0, "each of %zu truncations is a clean end at a "
	       "record boundary or 'record N: truncated ...'", n);
	free(s);
}

/* Every bit flip is caught; counts by the kind of message. */
static void test_bit_flips(void)
{
	size_t n, missed = 0, hdr = 0, data = 0, other = 0;
	char *s = small_stream(&n);

	for (size_t bit = 0; bit < 8 * n; bit++) {
		uint64_t count;
		int st;

		s[bit / 8] ^= (char)(1 << bit % 8);
		st = read_all(s, n, &count);
		s[bit / 8] ^= (char)(1 << bit % 8);
		if (st != DG_EDATA) {
			if (missed++ < 5)
				diag("flip of bit %zu: status %d", bit, st);
		} else if (strstr(dg_errmsg(), "header checksum mismatch")) {
			hdr++;
		} else if (strstr(dg_errmsg(), ": checksum mismatch")) {
			data++;
		} else {
			other++;
		}
	}
	is_int((long long)missed, 0, "all %zu single-bit flips are DG_EDATA", 8 * n);
	ok(hdr > 0 && data > 0 && other > 0, "caught by header CRC (%zu), data "
	   "CRC (%zu) and validation (%zu)", hdr, data, other);
	free(s);
}

/* A record with a crafted header and no payload bytes after it. */
static int read_header_only(unsigned char *h, const char *want, const char *what)
{
	uint64_t count;
	int st = read_all(h, 128, &count);
	int good = st == DG_EDATA && strstr(dg_errmsg(), want) != NULL;
	ok(good, "%s: %s", what, dg_errmsg());
	return good;
}

static void test_absurd_headers(void)
{
	unsigned char h[128];
	uint64_t dims[8] = {0};

	dims[0] = UINT64_C(1) << 32;
	dims[1] = (UINT64_C(1) << 32) + 1;
	craft_header(h, 1, DG_F32, 2, 0, dims, NULL, 0, NULL, 0);
	read_header_only(h, "shape overflows", "dims whose product overflows");

	dims[0] = UINT64_C(1) << 61;
	dims[1] = 2;
	craft_header(h, 1, DG_F64, 2, 0, dims, NULL, 0, NULL, 0);
	read_header_only(h, "size in bytes overflows", "bytes that overflow");

	dims[0] = 2;
	dims[1] = 3;
	craft_header(h, 1, DG_F32, 2, 0, dims, NULL, 0, NULL, 20);
	read_header_only(h, "payload length 20 disagrees with shape and dtype (24 bytes)",
			 "payload length disagreeing with dims");

	dims[0] = UINT64_MAX;
	dims[1] = 0;
	craft_header(h, 1, DG_U8, 1, 0, dims, NULL, 0, NULL, UINT64_MAX);
	read_header_only(h, "too large", "2^64-1 bytes");

	craft_header(h, 1, DG_F32, 9, 0, dims, NULL, 0, NULL, 0);
	read_header_only(h, "rank 9 exceeds 8", "rank 9");
	craft_header(h, 1, 0, 0, 0, NULL, NULL, 0, NULL, 0);
	read_header_only(h, "unknown dtype 0", "dtype 0");
	craft_header(h, 1, 9, 0, 0, NULL, NULL, 0, NULL, 0);
	read_header_only(h, "unknown dtype 9", "dtype 9");
	craft_header(h, 1, DG_F32, 0, 4, NULL, NULL, 0, NULL, 4);
	read_header_only(h, "unsupported flags 0x00000004", "nonzero flags");
	craft_header(h, 2, DG_F32, 0, 0, NULL, NULL, 0, NULL, 4);
	read_header_only(h, "stream version 2 is newer", "version 2");
	craft_header(h, 0, DG_F32, 0, 0, NULL, NULL, 0, NULL, 4);
	read_header_only(h, "invalid stream version 0", "version 0");

	/* A 0 among the dims: judged by the product of the others, in any
	 * order (partial products passed 0x2^40x2^40 and refused
	 * 2^40x2^40x0). */
	{
		static const uint64_t shapes[4][3] = {
			{0, UINT64_C(1) << 40, UINT64_C(1) << 40},
			{UINT64_C(1) << 40, UINT64_C(1) << 40, 0},
			{0, UINT64_C(1) << 20, UINT64_C(1) << 20},
			{UINT64_C(1) << 20, UINT64_C(1) << 20, 0},
		};
		for (int i = 0; i < 4; i++) {
			uint64_t count = 9, d[8] = {shapes[i][0], shapes[i][1], shapes[i][2]};
			int st;
			craft_header(h, 1, DG_F32, 3, 0, d, NULL, 0, NULL, 0);
			st = read_all(h, 128, &count);
			if (i < 2)
				ok(st == DG_EDATA && strstr(dg_errmsg(), "shape overflows"),
				   "empty shape %d, nonzero dims overflowing: refused (%s)", i,
				   dg_errmsg());
			else
				ok(st == 0 && count == 1, "empty shape %d of 2^40 elements "
				   "otherwise: one record of none (%s)", i, st ? dg_errmsg() : "");
		}
	}

	memset(dims, 0, sizeof dims);
	dims[0] = 1;
	dims[5] = 7;
	craft_header(h, 1, DG_U8, 1, 0, dims, NULL, 0, NULL, 1);
	read_header_only(h, "dimension 5 is set beyond rank 1", "dims beyond rank");

	craft_header(h, 1, DG_U8, 0, 0, NULL, NULL, 0, NULL, 1);
	h[100] = 1;
	fix_header_crc(h);
	read_header_only(h, "reserved header byte 100", "reserved byte set");

	craft_header(h, 1, DG_U8, 0, 0, NULL, NULL, 2u << 20, NULL, 1);
	read_header_only(h, "metadata of 2097152 bytes exceeds the limit",
			 "2 MiB of metadata");
	craft_header(h, 1, DG_U8, 0, 0, NULL, NULL, UINT64_MAX, NULL, 1);
	read_header_only(h, "exceeds the limit", "2^64-1 bytes of metadata");

	craft_header(h, 1, DG_U8, 0, 0, NULL, NULL, 0, NULL, 1);
	h[20] ^= 4;
	read_header_only(h, "header checksum mismatch", "header CRC");

	/* 2^40 f32 elements, consistent, no data: the header is fine, the
	 * payload is refused by the cap before any allocation (ASan would
	 * abort on a 4 TiB malloc), and skipping finds the truncation. */
	{
		const struct dg_record *rec;
		struct dg_reader *r;
		struct dg_array *a;
		FILE *f;
		int st;

		dims[0] = UINT64_C(1) << 20;
		dims[1] = UINT64_C(1) << 20;
		dims[5] = 0;
		craft_header(h, 1, DG_F32, 2, 0, dims, NULL, 0, NULL, UINT64_C(4) << 40);
		f = mem_file(h, 128);
		r = dg_reader_file(f, "huge");
		st = dg_reader_next(r, &rec);
		ok(st == 0 && rec && rec->count == UINT64_C(1) << 40,
		   "2^40-element header is accepted as a header");
		dg_reader_close(r);
		fclose(f);

		f = mem_file(h, 128);
		r = dg_reader_file(f, "huge");
		st = dg_read_array(r, &a);
		ok(st == DG_EDATA && strstr(dg_errmsg(), "huge: record 0: payload of "
					    "4398046511104 bytes exceeds the limit"),
		   "reading it as an array is refused: %s", dg_errmsg());
		st = dg_reader_skip(r);
		ok(st == DG_EDATA && strstr(dg_errmsg(), "truncated payload (got 0 of "
					    "4398046511104 bytes)"),
		   "skipping it finds the truncation: %s", dg_errmsg());
		ok(dg_reader_broken(r), "truncation breaks the reader");
		st = dg_reader_next(r, &rec);
		ok(st == DG_EDATA && strstr(dg_errmsg(), "truncated payload"),
		   "a broken reader repeats its error");
		dg_reader_close(r);
		fclose(f);
	}
}

static void test_foreign(void)
{
	size_t n;
	char *s = small_stream(&n), *t;
	uint64_t count;
	const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

	is_int(read_all("junk", 4, &count), DG_EDATA, "junk is DG_EDATA");
	is_str(dg_errmsg(), "stdin: not a dg stream (starts with 6a 75 6e 6b; see "
	       "dg-stream(5))", "junk message");
	is_int(read_all(png, sizeof png, &count), DG_EDATA, "a PNG is DG_EDATA");
	ok(strstr(dg_errmsg(), "starts with 89 50 4e 47") != NULL, "%s", dg_errmsg());
	is_int(read_all("x", 1, &count), DG_EDATA, "one byte is DG_EDATA");
	ok(strstr(dg_errmsg(), "not a dg stream (starts with 78;") != NULL, "%s",
	   dg_errmsg());

	t = malloc(n + 200);
	memcpy(t, s, n);
	memset(t + n, 'z', 200);
	is_int(read_all(t, n + 200, &count), DG_EDATA, "junk after two records");
	ok(strstr(dg_errmsg(), "stdin: record 2: bad magic (7a 7a 7a 7a) at byte 448") != NULL,
	   "%s", dg_errmsg());
	is_int((long long)count, 2, "the two records before it were read");
	free(t);
	free(s);
}

/* Sound framing, bad content: the record is reported and skipped. */
static void test_record_errors(void)
{
	const char *metas[] = {"novalue\n", "a=1\nb\0=2\n", "bad key=1\n", "a=1\na=2\n",
			       "v=\xff\xfe\n"};
	const size_t mlens[] = {8, 9, 10, 8, 5};
	const char *want[] = {"has no '='", "NUL byte", "invalid metadata key",
			      "repeated", "not one line of UTF-8"};

	for (int i = 0; i < 5; i++) {
		unsigned char rec[128 + 64 + 64 + 128 + 64];
		const uint64_t d[8] = {1};
		const struct dg_record *r0;
		struct dg_reader *r;
		FILE *f;
		int st;

		memset(rec, 0, sizeof rec);
		craft_header(rec, 1, DG_U8, 1, 0, d, metas[i], mlens[i], "A", 1);
		memcpy(rec + 128, metas[i], mlens[i]);
		rec[192] = 'A';
		craft_header(rec + 256, 1, DG_U8, 1, 0, d, NULL, 0, "B", 1);
		rec[384] = 'B';
		f = mem_file(rec, sizeof rec);
		r = dg_reader_file(f, NULL);
		st = dg_reader_next(r, &r0);
		ok(st == DG_EDATA && strstr(dg_errmsg(), "stdin: record 0: invalid "
					    "metadata") && strstr(dg_errmsg(), want[i]),
		   "metadata %d refused: %s", i, dg_errmsg());
		/* a lister (dg-info) shows it in its place, as bad */
		ok(r0 && r0->index == 0 && r0->payload_len == 1 && r0->meta &&
		   dg_meta_count(r0->meta) == 0 && !dg_reader_broken(r),
		   "metadata %d: the spoiled record's header is handed back", i);
		st = dg_reader_next(r, &r0);
		ok(st == 0 && r0 && r0->index == 1, "record after bad metadata %d is read", i);
		dg_reader_close(r);
		fclose(f);
	}

	/* Nonzero padding after metadata and after the payload. */
	for (int where = 0; where < 2; where++) {
		unsigned char rec[128 + 64 + 64];
		const uint64_t d[8] = {1};
		const struct dg_record *r0;
		struct dg_reader *r;
		FILE *f;
		int st;

		memset(rec, 0, sizeof rec);
		craft_header(rec, 1, DG_U8, 1, 0, d, "a=1\n", 4, "A", 1);
		memcpy(rec + 128, "a=1\n", 4);
		rec[192] = 'A';
		rec[where ? 200 : 150] = 1;
		f = mem_file(rec, sizeof rec);
		r = dg_reader_file(f, NULL);
		st = dg_reader_next(r, &r0);
		if (!st)
			st = dg_reader_skip(r);
		ok(st == DG_EDATA && strstr(dg_errmsg(), where ?
			"nonzero padding after the payload" :
			"nonzero padding after the metadata"),
		   "padding byte set: %s", dg_errmsg());
		ok(!dg_reader_broken(r), "padding error leaves the reader usable");
		st = dg_reader_next(r, &r0);
		ok(st == 0 && !r0, "then a clean end");
		dg_reader_close(r);
		fclose(f);
	}
}

int main(void)
{
	test_truncation();
	test_bit_flips();
	test_absurd_headers();
	test_foreign();
	test_record_errors();
	return done_testing();
}
