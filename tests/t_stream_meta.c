/* t_stream_meta.c — record metadata (libcore/io/meta.c): order, replace,
 * unset, repeated keys, and a megabyte of tiny lines parsed in linear time
 * (it once took minutes: a reader could be stalled by one record). */
#include <time.h>
#include "tap.h"
#include "stream_util.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_many_keys(void)
{
	struct dg_meta *m = dg_meta_new();
	char key[32], val[32];
	int found = 0, ordered = 1, gone = 0;

	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		snprintf(val, sizeof val, "%d", i * 3);
		dg_meta_set(m, key, val);
	}
	dg_meta_set(m, "k17", "replaced");
	is_int((long long)dg_meta_count(m), 5000, "5000 keys");
	is_str(dg_meta_get(m, "k17"), "replaced", "set replaces a value in place");
	is_str(dg_meta_key(m, 17), "k17", "replacing keeps the position");
	for (int i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof key, "k%d", i);
		dg_meta_unset(m, key);
	}
	for (int i = 0; i < 5000; i++) {
		const char *v;
		snprintf(key, sizeof key, "k%d", i);
		v = dg_meta_get(m, key);
		if (i % 2 == 0) {
			gone += v == NULL;
			continue;
		}
		snprintf(val, sizeof val, "%d", i * 3);
		found += v && (i == 17 || strcmp(v, val) == 0);
	}
	for (size_t i = 0; i < dg_meta_count(m); i++) {
		snprintf(key, sizeof key, "k%zu", 2 * i + 1);
		ordered &= strcmp(dg_meta_key(m, i), key) == 0;
	}
	is_int(gone, 2500, "unset keys are gone");
	is_int(found, 2500, "the other keys keep their values");
	ok(ordered, "insertion order is kept after unsets");
	ok(dg_meta_get(m, "k") == NULL && dg_meta_get(m, "k11x") == NULL,
	   "prefixes and extensions of keys are not found");
	dg_meta_free(m);
}

static void test_parse(void)
{
	size_t cap = DG_STREAM_MAX_META, len = 0;
	char *text = malloc(cap + 32);
	struct dg_meta *m = dg_meta_new();
	double t;
	int st, i;

	for (i = 0; len + 16 < cap; i++)
		len += (size_t)sprintf(text + len, "%x=\n", i);
	t = now();
	st = dg_meta_parse(m, text, len);
	t = now() - t;
	is_int(st, 0, "1 MiB of %d tiny lines parses", i);
	is_int((long long)dg_meta_count(m), i, "every line is a key");
	ok(t < 5, "in linear time (%.3f s)", t);
	dg_meta_free(m);

	/* The same key twice, far apart, is still caught. */
	len += (size_t)sprintf(text + len, "1ff=\n");
	m = dg_meta_new();
	st = dg_meta_parse(m, text, len);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "metadata key '1ff' repeated"),
	   "a repeated key is an error: %s", dg_errmsg());
	dg_meta_free(m);
	free(text);
}

/* The same megabyte as a record, through the reader. */
static void test_record(void)
{
	struct dg_meta *m = dg_meta_new();
	const uint64_t d[] = {1};
	const unsigned char v = 1;
	char key[16];
	struct mem mem;
	struct dg_array *a;
	FILE *f;
	struct dg_reader *r;
	size_t bytes = 0;
	int i;

	for (i = 0; bytes + 16 < DG_STREAM_MAX_META; i++) {
		bytes += (size_t)snprintf(key, sizeof key, "%x", i) + 2;
		dg_meta_set(m, key, "");
	}
	mem_writer(&mem);
	is_int(dg_write_record(mem.w, DG_U8, 1, d, m, &v), 0, "a record with %d keys", i);
	mem_finish(&mem);
	f = mem_file(mem.p, mem.n);
	r = dg_reader_file(f, NULL);
	ok(dg_read_array(r, &a) == 0 && a && dg_meta_count(a->meta) == (size_t)i,
	   "is read back with every key");
	dg_array_free(a);
	dg_reader_close(r);
	fclose(f);
	free(mem.p);

	dg_meta_set(m, "one-more-key-to-go-over", "the limit of a megabyte");
	mem_writer(&mem);
	is_int(dg_write_record(mem.w, DG_U8, 1, d, m, &v), DG_EUSAGE,
	       "the writer refuses metadata over 1 MiB");
	mem_finish(&mem);
	free(mem.p);
	dg_meta_free(m);
}

/* labels= of a record: written from ints, read back, refused when they
 * are not exactly n labels. */
static void test_labels(void)
{
	struct dg_meta *m = dg_meta_new();
	int32_t y[4] = {3, 0, 2147483647, 7}, back[4] = {-1, -1, -1, -1};
	int found = 1;

	is_int(dg_meta_get_labels(m, 4, back, &found), 0, "labels: absent is not an error");
	ok(!found && back[0] == -1, "  found = 0, nothing written");
	is_int(dg_meta_set_labels(m, y, 4), 0, "labels: set 4");
	is_str(dg_meta_get(m, "labels"), "3,0,2147483647,7", "  as text");
	ok(dg_meta_get_labels(m, 4, back, &found) == 0 && found &&
		   !memcmp(back, y, sizeof y), "  read back");
	is_int(dg_meta_get_labels(m, 3, back, &found), DG_EDATA, "  4 labels are not 3");
	is_int(dg_meta_get_labels(m, 5, back, &found), DG_EDATA, "  nor 5");
	static const char *const bad[] = {"1,,2", "1,2,", "-1", "1,x", "2147483648", " 1", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		dg_meta_set(m, "labels", bad[i]);
		is_int(dg_meta_get_labels(m, bad[i][0] && strchr(bad[i], ',') ? 3 : 1, back, &found),
		       DG_EDATA, "  '%s' refused", bad[i]);
	}
	dg_meta_free(m);
}

int main(void)
{
	test_labels();
	test_many_keys();
	test_parse();
	test_record();
	return done_testing();
}
