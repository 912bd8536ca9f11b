/* t_stream_files.c — the committed streams: tests/data/stream/ must be what
 * the writer makes today (the format is stable), and every input the
 * fuzzer ever crashed on (tests/data/fuzz/fuzz_stream/) reads safely.
 *
 * DG_REGEN=1 rewrites tests/data/stream/ (and the fuzz seed corpus) after
 * a deliberate format change; review the diff and dg-stream(5). */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include "tap.h"
#include "stream_util.h"

static const char *src_dir(void)
{
	const char *s = getenv("DG_SRC");
	return s && *s ? s : ".";
}

/* latent.dgs: the record shown byte by byte in dg-stream(5). */
static void make_latent(struct dg_writer *w)
{
	const uint64_t dims[] = {2, 3};
	const float v[6] = {0, 0.5f, -1, 2, 3.25f, 1e-3f};
	struct dg_meta *m = dg_meta_new();
	dg_meta_set(m, "space", "latent");
	dg_write_record(w, DG_F32, 2, dims, m, v);
	dg_meta_free(m);
}

/* mixed.dgs: one record of most dtypes, ranks 0-8, metadata that needs
 * escaping in JSON and truncating in text. */
static void make_mixed(struct dg_writer *w)
{
	struct dg_meta *m = dg_meta_new();
	unsigned char img[2 * 4 * 4];
	float lat[2 * 8];
	int32_t lab[2] = {3, 7};
	uint16_t h = dg_f32_to_f16(1.5f), b[1] = {dg_f32_to_bf16(-2)};
	double d[3] = {1.0 / 3, -0.0, 1e300};
	int64_t big[2] = {INT64_MIN, INT64_MAX};
	char longv[201];
	const uint64_t dimg[] = {2, 1, 4, 4}, dlat[] = {2, 8}, dlab[] = {2},
		       d8[] = {1, 1, 1, 1, 1, 1, 1, 1}, dd[] = {1, 3}, dbig[] = {2};

	for (unsigned i = 0; i < sizeof img; i++)
		img[i] = (unsigned char)(i * 8);
	for (unsigned i = 0; i < 16; i++)
		lat[i] = (float)i / 8 - 1;
	dg_meta_set(m, "space", "image");
	dg_meta_set(m, "labels", "3,7");
	dg_write_record(w, DG_U8, 4, dimg, m, img);
	dg_meta_free(m);

	m = dg_meta_new();
	dg_meta_set(m, "space", "latent");
	dg_meta_set(m, "model", "5f3a9c0e12d4b7a8");
	dg_write_record(w, DG_F32, 2, dlat, m, lat);
	dg_meta_free(m);

	m = dg_meta_new();
	dg_meta_set(m, "space", "label");
	dg_write_record(w, DG_I32, 1, dlab, m, lab);
	dg_meta_free(m);

	dg_write_record(w, DG_F16, 0, NULL, NULL, &h);

	m = dg_meta_new();
	memset(longv, 'x', 200);
	longv[200] = 0;
	dg_meta_set(m, "long", longv);
	dg_write_record(w, DG_BF16, 8, d8, m, b);
	dg_meta_free(m);

	m = dg_meta_new();
	dg_meta_set(m, "quote", "say \"hi\"\\ \ttab ünï");
	dg_write_record(w, DG_F64, 2, dd, m, d);
	dg_meta_free(m);

	dg_write_record(w, DG_I64, 1, dbig, NULL, big);
}

/* meta.dgs: metadata values at the edges of dg-info's text display. */
static void make_meta(struct dg_writer *w)
{
	struct dg_meta *m = dg_meta_new();
	const uint64_t d[] = {1};
	const unsigned char v = 42;

	/* 40 characters (42 bytes) are shown whole, 41 are cut */
	dg_meta_set(m, "exact40", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\xc3\xa9");
	dg_meta_set(m, "over40", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\xc3\xa9\xc3\xa9");
	dg_meta_set(m, "esc", "\x1b[31mred");
	dg_meta_set(m, "empty", "");
	dg_meta_set(m, "eq", "a=b=c");
	dg_write_record(w, DG_U8, 1, d, m, &v);
	dg_meta_free(m);
}

struct golden {
	const char *name;
	void (*make)(struct dg_writer *);
	/* If >= 0: flip bit 0 of payload byte 5 of this record, or cut the
	 * stream 4 bytes into this record's payload. */
	int flip_rec, cut_rec;
	int records, status; /* read_all(): records read, final status */
};

static const struct golden goldens[] = {
	{"latent.dgs", make_latent, -1, -1, 1, 0},
	{"mixed.dgs", make_mixed, -1, -1, 7, 0},
	{"meta.dgs", make_meta, -1, -1, 1, 0},
	{"bad-checksum.dgs", make_mixed, 1, -1, 1, DG_EDATA},
	{"truncated.dgs", make_mixed, -1, 2, 2, DG_EDATA},
};

/* Offset of record k's payload in a stream, from the header fields. */
static size_t payload_at(const unsigned char *p, size_t n, int k)
{
	size_t at = 0;
	for (;;) {
		uint64_t mlen = 0, plen = 0;
		size_t start;
		for (int i = 7; i >= 0; i--) {
			mlen = mlen << 8 | p[at + 16 + i];
			plen = plen << 8 | p[at + 24 + i];
		}
		start = at + (128 + mlen + 63) / 64 * 64;
		if (k-- == 0 || start >= n)
			return start;
		at = start + (plen + 63) / 64 * 64;
	}
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int st = !f || fwrite(p, 1, n, f) != n;
	if (f && fclose(f))
		st = 1;
	return st;
}

static char *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)len + 1)) &&
	    fread(p, 1, (size_t)len, f) == (size_t)len) {
		*n = (size_t)len;
	} else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

static void test_goldens(int regen)
{
	char path[4096];

	for (size_t g = 0; g < sizeof goldens / sizeof goldens[0]; g++) {
		const struct golden *gd = &goldens[g];
		struct mem m;
		size_t n, have_n = 0;
		char *have;
		uint64_t count;
		int st;

		mem_writer(&m);
		gd->make(m.w);
		mem_finish(&m);
		n = m.n;
		if (gd->cut_rec >= 0)
			n = payload_at((unsigned char *)m.p, m.n, gd->cut_rec) + 4;
		if (gd->flip_rec >= 0)
			m.p[payload_at((unsigned char *)m.p, m.n, gd->flip_rec) + 5] ^= 1;
		snprintf(path, sizeof path, "%s/tests/data/stream/%s", src_dir(), gd->name);
		if (regen) {
			ok(write_file(path, m.p, n) == 0, "wrote %s", path);
			if (gd->cut_rec < 0 && gd->flip_rec < 0) {
				snprintf(path, sizeof path, "%s/tests/fuzz/corpus/"
					 "fuzz_stream/%s", src_dir(), gd->name);
				ok(write_file(path, m.p, n) == 0, "wrote %s", path);
			}
		}
		have = read_file(path, &have_n);
		ok(have && have_n == n && memcmp(have, m.p, n) == 0,
		   "%s is what the writer makes (%zu bytes)", gd->name, n);
		st = read_all(m.p, n, &count);
		is_int(st, gd->status, "%s: read status", gd->name);
		if (st)
			diag("%s", dg_errmsg());
		is_int((long long)count, gd->records, "%s: records read", gd->name);
		free(have);
		free(m.p);
	}
}

/* Reads as dg-info does: on past errors that spoil one record, until the
 * end or an error that breaks the stream.  Returns the first error. */
static int read_on(const void *bytes, size_t n, uint64_t *count)
{
	FILE *f = mem_file(bytes, n);
	struct dg_reader *r = dg_reader_file(f, "-");
	int first = 0;

	*count = 0;
	for (;;) {
		struct dg_array *a;
		int st = dg_read_array(r, &a);
		if (a) {
			dg_array_free(a);
			++*count;
			continue;
		}
		if (st && !first)
			first = st;
		if (!st || dg_reader_broken(r))
			break;
	}
	dg_reader_close(r);
	fclose(f);
	return first;
}

/* Every file in tests/data/fuzz/fuzz_stream: reading ends (cleanly or with
 * a status), under the sanitizers, within a payload cap. */
static void test_fuzz_regressions(void)
{
	char dir[4096], path[8192];
	DIR *d;
	struct dirent *e;
	int files = 0;

	snprintf(dir, sizeof dir, "%s/tests/data/fuzz/fuzz_stream", src_dir());
	d = opendir(dir);
	if (!d) {
		ok(0, "open %s: %s", dir, strerror(errno));
		return;
	}
	setenv("DG_STREAM_MAX_BYTES", "1048576", 1);
	while ((e = readdir(d))) {
		size_t n;
		char *p;
		uint64_t count;
		int st;

		if (e->d_name[0] == '.' || strcmp(e->d_name, "README") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		p = read_file(path, &n);
		if (!p) {
			ok(0, "read %s", path);
			continue;
		}
		st = read_on(p, n, &count);
		ok(st == 0 || st == DG_EDATA, "fuzz input %s: status %d after %llu "
		   "records", e->d_name, st, (unsigned long long)count);
		free(p);
		files++;
	}
	closedir(d);
	unsetenv("DG_STREAM_MAX_BYTES");
	ok(files > 0, "%d fuzz regression inputs read", files);
}

int main(void)
{
	const char *regen = getenv("DG_REGEN");
	test_goldens(regen && *regen == '1');
	test_fuzz_regressions();
	return done_testing();
}
