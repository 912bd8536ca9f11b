/* t_stream.c — dg-stream(5) round trips: every dtype and rank, layout
 * against a hand-built record, concatenation, chunked reads, pipes. */
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"
#include "stream_util.h"

static const int all_dtypes[] = {DG_F32, DG_F16, DG_BF16, DG_U8, DG_I8,
				 DG_I32, DG_I64, DG_F64};
#define NDT (int)(sizeof all_dtypes / sizeof all_dtypes[0])

/* Deterministic bytes that differ per record. */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		p[i] = (unsigned char)(x >> 24);
	}
}

static struct dg_array *make_array(int dtype, unsigned rank, unsigned seed)
{
	uint64_t dims[DG_MAX_RANK] = {0};
	struct dg_array *a;

	for (unsigned i = 0; i < rank; i++)
		dims[i] = 1 + (seed + 2 * i) % 4;
	a = dg_array_new(dtype, rank, dims);
	fill(a->data, dg_array_bytes(a), seed);
	dg_meta_set(a->meta, "space", "image");
	dg_meta_setf(a->meta, "seed", "%u", seed);
	dg_meta_set(a->meta, "note", "ünïcödé ✓ = fine");
	return a;
}

static int same_array(const struct dg_array *a, const struct dg_array *b)
{
	if (a->dtype != b->dtype || a->rank != b->rank ||
	    memcmp(a->dims, b->dims, sizeof a->dims) ||
	    memcmp(a->data, b->data, dg_array_bytes(a)) ||
	    dg_meta_count(a->meta) != dg_meta_count(b->meta))
		return 0;
	for (size_t i = 0; i < dg_meta_count(a->meta); i++)
		if (strcmp(dg_meta_key(a->meta, i), dg_meta_key(b->meta, i)) ||
		    strcmp(dg_meta_value(a->meta, i), dg_meta_value(b->meta, i)))
			return 0;
	return 1;
}

/* Every dtype at ranks 0-5 and 8, in one stream, read back exactly;
 * every record starts at a multiple of 64. */
static void test_round_trip(void)
{
	static const unsigned ranks[] = {0, 1, 2, 3, 4, 5, 8};
	struct dg_array *want[NDT * 7];
	struct mem m;
	struct dg_reader *r;
	FILE *f;
	int n = 0, good = 0, aligned = 1, st;

	mem_writer(&m);
	for (int d = 0; d < NDT; d++)
		for (int k = 0; k < 7; k++) {
			want[n] = make_array(all_dtypes[d], ranks[k], (unsigned)n);
			st = dg_write_array(m.w, want[n]);
			if (st)
				diag("write: %s", dg_errmsg());
			n++;
		}
	is_int(mem_finish(&m), 0, "writer closes cleanly");
	ok(m.n % 64 == 0, "stream length %zu is a multiple of 64", m.n);

	f = mem_file(m.p, m.n);
	r = dg_reader_file(f, "memory");
	for (int i = 0; i < n; i++) {
		const struct dg_record *rec;
		struct dg_array *a;
		st = dg_reader_next(r, &rec);
		if (st || !rec) {
			diag("record %d: %s", i, dg_errmsg());
			break;
		}
		if (rec->offset % 64 || rec->index != (uint64_t)i)
			aligned = 0;
		a = calloc(1, sizeof *a);
		a->dtype = rec->dtype;
		a->rank = rec->rank;
		memcpy(a->dims, rec->dims, sizeof a->dims);
		a->meta = dg_meta_dup(rec->meta);
		st = dg_reader_payload(r, &a->data);
		if (!st && same_array(a, want[i]))
			good++;
		else
			diag("record %d (%s rank %u) differs: %s", i,
			     dg_dtype_name(want[i]->dtype), want[i]->rank, dg_errmsg());
		dg_array_free(a);
	}
	is_int(good, n, "all %d records (8 dtypes x ranks 0-5, 8) round-trip", n);
	ok(aligned, "record offsets are multiples of 64 and indices count up");
	{
		const struct dg_record *rec = (void *)1;
		is_int(dg_reader_next(r, &rec), 0, "clean end after the last record");
		ok(rec == NULL, "end of stream gives no record");
		is_int(dg_reader_next(r, &rec), 0, "end of stream is sticky");
	}
	dg_reader_close(r);
	fclose(f);
	for (int i = 0; i < n; i++)
		dg_array_free(want[i]);
	free(m.p);
}

/* The writer's bytes against a record assembled here from the spec:
 * f32 2x3 with metadata "space=latent\n". */
static void test_layout(void)
{
	const uint64_t dims[8] = {2, 3};
	const float v[6] = {0, 0.5f, -1, 2, 3.25f, 1e-3f};
	const char *meta = "space=latent\n";
	unsigned char want[128 + 64 + 64];
	struct dg_meta *dm = dg_meta_new();
	struct mem m;

	memset(want, 0, sizeof want);
	craft_header(want, 1, DG_F32, 2, 0, dims, meta, strlen(meta), v, sizeof v);
	memcpy(want + 128, meta, strlen(meta));
	memcpy(want + 192, v, sizeof v); /* x86: host order is little-endian */
	dg_meta_set(dm, "space", "latent");
	mem_writer(&m);
	is_int(dg_write_record(m.w, DG_F32, 2, dims, dm, v), 0, "write f32 2x3");
	mem_finish(&m);
	is_int((long long)m.n, (long long)sizeof want, "record is 256 bytes");
	ok(m.n == sizeof want && memcmp(m.p, want, sizeof want) == 0,
	   "bytes match the layout of dg-stream(5)");
	free(m.p);
	dg_meta_free(dm);
}

/* cat of two streams is a stream; empty input is an empty stream. */
static void test_concat(void)
{
	struct mem a, b;
	char *both;
	uint64_t count;
	struct dg_array *x = make_array(DG_U8, 3, 7), *y = make_array(DG_F16, 1, 8);

	mem_writer(&a);
	dg_write_array(a.w, x);
	dg_write_array(a.w, y);
	mem_finish(&a);
	mem_writer(&b);
	dg_write_array(b.w, y);
	mem_finish(&b);
	both = malloc(a.n + b.n);
	memcpy(both, a.p, a.n);
	memcpy(both + a.n, b.p, b.n);
	is_int(read_all(both, a.n + b.n, &count), 0, "concatenation reads cleanly");
	is_int((long long)count, 3, "concatenation has 2 + 1 records");
	is_int(read_all(both, 0, &count), 0, "empty input is a clean end");
	is_int((long long)count, 0, "empty input has no records");
	free(both);
	free(a.p);
	free(b.p);
	dg_array_free(x);
	dg_array_free(y);
}

/* Payloads read in odd-sized chunks; a record skipped unread; a corrupt
 * payload caught at the last chunk without breaking the reader. */
static void test_chunks(void)
{
	static const size_t sizes[] = {1, 3, 7, 13, 64, 100, 1000};
	uint64_t dims[1] = {3001};
	unsigned char *data = malloc(3001 * 4), *back = malloc(3001 * 4);
	struct mem m;
	FILE *f;
	struct dg_reader *r;
	const struct dg_record *rec;
	int good = 0;

	fill(data, 3001 * 4, 99);
	mem_writer(&m);
	for (size_t s = 0; s < 7; s++)
		dg_write_record(m.w, DG_I32, 1, dims, NULL, data);
	mem_finish(&m);

	f = mem_file(m.p, m.n);
	r = dg_reader_file(f, NULL);
	for (size_t s = 0; s < 7; s++) {
		size_t at = 0;
		int st = dg_reader_next(r, &rec);
		while (!st && rec && at < rec->payload_len) {
			size_t k = rec->payload_len - at < sizes[s] ? rec->payload_len - at : sizes[s];
			st = dg_reader_read(r, back + at, k);
			at += k;
		}
		if (!st && at == 3001 * 4 && memcmp(back, data, at) == 0)
			good++;
		else
			diag("chunk size %zu: %s", sizes[s], dg_errmsg());
	}
	is_int(good, 7, "chunked reads of 1, 3, 7, 13, 64, 100, 1000 bytes");
	dg_reader_close(r);
	fclose(f);

	/* Corrupt one payload byte of record 1 of 3: reading it in chunks
	 * fails at the last chunk; record 2 is still there. */
	{
		size_t rec_len = 128 + (3001 * 4 + 63) / 64 * 64;
		int st, last = 0;
		m.p[rec_len + 128 + 5] ^= 0x10;
		f = mem_file(m.p, 3 * rec_len);
		r = dg_reader_file(f, NULL);
		dg_reader_next(r, &rec);
		is_int(dg_reader_skip(r), 0, "record 0 skipped, checksum fine");
		st = dg_reader_next(r, &rec);
		is_int(st, 0, "record 1 header is fine");
		for (size_t at = 0; !st && at < 3001 * 4; at += 1001 * 4) {
			st = dg_reader_read(r, back, 1001 * 4 > 3001 * 4 - at ? 3001 * 4 - at : 1001 * 4);
			last = at + 1001 * 4 >= 3001 * 4;
		}
		is_int(st, DG_EDATA, "corrupt payload: DG_EDATA");
		ok(last, "reported at the last chunk");
		ok(strstr(dg_errmsg(), "stdin: record 1: checksum mismatch") != NULL,
		   "message names stream and record: %s", dg_errmsg());
		ok(!dg_reader_broken(r), "a checksum mismatch leaves the reader usable");
		st = dg_reader_next(r, &rec);
		ok(st == 0 && rec && rec->index == 2, "record 2 read after the bad one");
		is_int(dg_reader_skip(r), 0, "record 2 checksum fine");
		st = dg_reader_next(r, &rec);
		ok(st == 0 && !rec, "then a clean end");
		dg_reader_close(r);
		fclose(f);
	}
	free(m.p);
	free(data);
	free(back);
}

/* A pipe: the writer side trickles the stream in odd pieces; the reader
 * reads some payloads and skips others (no seeking). */
static void test_pipe(void)
{
	struct mem m;
	int fds[2], status, good = 0, st;
	uint64_t dims[2] = {17, 33};
	unsigned char data[17 * 33 * 8], back[17 * 33 * 8];
	pid_t pid;
	struct dg_reader *r;
	const struct dg_record *rec;

	fill(data, sizeof data, 5);
	mem_writer(&m);
	for (int i = 0; i < 6; i++)
		dg_write_record(m.w, DG_F64, 2, dims, NULL, data);
	mem_finish(&m);
	if (pipe(fds)) {
		ok(0, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		size_t at = 0, k = 1;
		close(fds[0]);
		while (at < m.n) {
			size_t n = k < m.n - at ? k : m.n - at;
			if (write(fds[1], m.p + at, n) != (ssize_t)n)
				_exit(1);
			at += n;
			k = k * 7 % 1009 + 1;
		}
		_exit(0);
	}
	close(fds[1]);
	r = dg_reader_fd(fds[0], "pipe");
	for (int i = 0; (st = dg_reader_next(r, &rec)) == 0 && rec; i++) {
		if (i % 2) {
			good += dg_reader_skip(r) == 0;
			continue;
		}
		st = dg_reader_read(r, back, sizeof back);
		good += st == 0 && memcmp(back, data, sizeof back) == 0;
	}
	is_int(st, 0, "pipe: clean end");
	is_int(good, 6, "pipe: 3 records read and 3 skipped, all intact");
	dg_reader_close(r);
	close(fds[0]);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pipe writer exited");
	free(m.p);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* Starts a 1 ms interval timer whose signal interrupts system calls
 * (no SA_RESTART), so reads and writes on slow pipes see EINTR. */
static void interrupt_often(int on)
{
	struct sigaction sa;
	struct itimerval it = {{0, on ? 1000 : 0}, {0, on ? 1000 : 0}};

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on ? on_alarm : SIG_DFL;
	/* Handler before timer when starting, timer before handler when
	 * stopping: a tick between the two would otherwise kill the test. */
	if (on)
		sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	if (!on)
		sigaction(SIGALRM, &sa, NULL);
}

/* Reads and writes through pipes fed or drained slowly while signals
 * arrive: EINTR and partial transfers must not lose or break anything. */
static void test_eintr(void)
{
	enum { RECS = 12, N = 40000 };
	uint64_t dims[1] = {N};
	static unsigned char data[N * 4], back[N * 4];
	struct mem m;
	int fds[2], status, good = 0, st;
	pid_t pid;
	const struct dg_record *rec;

	fill(data, sizeof data, 11);
	mem_writer(&m);
	for (int i = 0; i < RECS; i++)
		dg_write_record(m.w, DG_F32, 1, dims, NULL, data);
	mem_finish(&m);

	/* Reader side interrupted: the child trickles the stream. */
	if (pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		for (size_t at = 0; at < m.n; at += 20000) {
			size_t k = m.n - at < 20000 ? m.n - at : 20000;
			if (write(fds[1], m.p + at, k) != (ssize_t)k)
				_exit(1);
			usleep(300);
		}
		_exit(0);
	}
	close(fds[1]);
	alarms = 0;
	interrupt_often(1);
	{
		FILE *f = fdopen(fds[0], "r");
		struct dg_reader *r = dg_reader_file(f, "slow pipe");
		while ((st = dg_reader_next(r, &rec)) == 0 && rec) {
			st = dg_reader_read(r, back, sizeof back);
			good += st == 0 && memcmp(back, data, sizeof back) == 0;
		}
		interrupt_often(0);
		is_int(st, 0, "interrupted FILE reads: clean end (%s)", st ? dg_errmsg() : "ok");
		is_int(good, RECS, "interrupted FILE reads: all records intact");
		dg_reader_close(r);
		fclose(f);
	}
	waitpid(pid, &status, 0);
	diag("%d signals during the read", (int)alarms);

	/* Writer side interrupted: the child drains slowly and checks. */
	if (pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		struct dg_reader *r;
		int n = 0;
		close(fds[1]);
		usleep(20000);
		r = dg_reader_fd(fds[0], "pipe");
		while ((st = dg_reader_next(r, &rec)) == 0 && rec) {
			usleep(2000);
			if (dg_reader_read(r, back, sizeof back) ||
			    memcmp(back, data, sizeof back))
				_exit(2);
			n++;
		}
		_exit(st || n != RECS ? 3 : 0);
	}
	close(fds[0]);
	alarms = 0;
	interrupt_often(1);
	{
		struct dg_writer *w = dg_writer_fd(fds[1], "slow pipe");
		st = 0;
		for (int i = 0; i < RECS && !st; i++)
			st = dg_write_record(w, DG_F32, 1, dims, NULL, data);
		if (!st)
			st = dg_writer_close(w);
		else
			dg_writer_close(w);
		interrupt_often(0);
		is_int(st, 0, "interrupted fd writes succeed (%s)", st ? dg_errmsg() : "ok");
	}
	close(fds[1]);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "the slow reader got every record intact (status %d)", status);
	diag("%d signals during the write", (int)alarms);
	free(m.p);
}

/* Bytes given back with dg_reader_unread are read first (sniffing). */
static void test_unread(void)
{
	struct mem m;
	struct dg_array *x = make_array(DG_BF16, 2, 3), *y;
	struct dg_reader *r;
	FILE *f;

	mem_writer(&m);
	dg_write_array(m.w, x);
	mem_finish(&m);
	f = mem_file(m.p + 10, m.n - 10);
	r = dg_reader_file(f, "sniffed");
	is_int(dg_reader_unread(r, m.p, 10), 0, "unread 10 sniffed bytes");
	is_int(dg_read_array(r, &y), 0, "record read across the pushback");
	ok(y && same_array(x, y), "record intact");
	dg_array_free(y);
	dg_reader_close(r);
	fclose(f);
	free(m.p);
	dg_array_free(x);
}

/* dg_reader_payload_f32: every dtype's payload as the f32 that
 * dg_array_to_f32 makes of it (u8 unscaled). */
static void test_payload_f32(void)
{
	for (int i = 0; i < NDT; i++) {
		struct dg_array *x = make_array(all_dtypes[i], 2, 40 + i), *want;
		const struct dg_record *rec;
		struct dg_reader *r;
		struct mem m;
		float *got = NULL;
		FILE *f;
		int st;

		mem_writer(&m);
		dg_write_array(m.w, x);
		mem_finish(&m);
		f = mem_file(m.p, m.n);
		r = dg_reader_file(f, "f32");
		want = dg_array_to_f32(x, 0);
		st = dg_reader_next(r, &rec);
		if (!st)
			st = dg_reader_payload_f32(r, &got);
		ok(!st && got && want &&
		   !memcmp(got, want->data, dg_array_count(x) * sizeof(float)),
		   "payload of %s as f32", dg_dtype_name(all_dtypes[i]));
		dg_free(got);
		dg_array_free(want);
		dg_reader_close(r);
		fclose(f);
		free(m.p);
		dg_array_free(x);
	}
}

/* Writer errors: a full disk, a bad shape; the reader's byte limit. */
static void test_limits(void)
{
	struct dg_writer *w = dg_writer_open("/dev/full");
	struct dg_array *x = make_array(DG_F32, 4, 1), *y;
	uint64_t dims[2] = {UINT64_C(1) << 40, UINT64_C(1) << 40};
	struct mem m;
	struct dg_reader *r;
	const struct dg_record *rec0;
	FILE *f;
	int st;

	ok(w != NULL, "open /dev/full");
	st = dg_write_array(w, x);
	if (!st)
		st = dg_writer_close(w);
	else
		dg_writer_close(w);
	is_int(st, DG_EIO, "writing to a full disk is DG_EIO");
	ok(strstr(dg_errmsg(), "/dev/full: write error") != NULL, "message: %s", dg_errmsg());
	ok(dg_writer_open("/nonexistent/dir/x.dgs") == NULL, "uncreatable path");
	ok(strstr(dg_errmsg(), "cannot create") != NULL, "message: %s", dg_errmsg());

	mem_writer(&m);
	is_int(dg_write_record(m.w, DG_U8, 2, dims, NULL, x->data), DG_EUSAGE,
	       "writer refuses a shape that overflows");
	is_int(dg_write_record(m.w, 0, 1, dims, NULL, x->data), DG_EUSAGE,
	       "writer refuses dtype 0");
	is_int(dg_write_record(m.w, DG_U8, 9, dims, NULL, x->data), DG_EUSAGE,
	       "writer refuses rank 9");
	dg_write_array(m.w, x);
	mem_finish(&m);

	f = mem_file(m.p, m.n);
	r = dg_reader_file(f, NULL);
	dg_reader_set_max_payload(r, dg_array_bytes(x) - 1);
	is_int(dg_read_array(r, &y), DG_EDATA, "payload over the limit refused");
	ok(strstr(dg_errmsg(), "exceeds the limit") != NULL, "message: %s", dg_errmsg());
	dg_reader_close(r);
	fclose(f);

	setenv("DG_STREAM_MAX_BYTES", "12x", 1);
	f = mem_file(m.p, m.n);
	r = dg_reader_file(f, NULL);
	is_int(dg_read_array(r, &y), DG_EUSAGE, "malformed DG_STREAM_MAX_BYTES refused");
	is_str(dg_errmsg(), "DG_STREAM_MAX_BYTES: '12x' is not a positive decimal number (a limit, see dg(7))",
	       "message names the variable");
	dg_reader_close(r);
	fclose(f);
	f = mem_file(m.p, m.n);
	r = dg_reader_file(f, NULL);
	is_int(dg_reader_next(r, &rec0), 0,
	       "a reader that only skips does not need the limit");
	is_int(dg_reader_skip(r), 0, "and skips the record");
	dg_reader_close(r);
	fclose(f);
	setenv("DG_STREAM_MAX_BYTES", "100", 1);
	f = mem_file(m.p, m.n);
	r = dg_reader_file(f, NULL);
	is_int(dg_read_array(r, &y), DG_EDATA, "DG_STREAM_MAX_BYTES=100 limits payloads");
	dg_reader_close(r);
	fclose(f);
	unsetenv("DG_STREAM_MAX_BYTES");
	free(m.p);
	dg_array_free(x);
}

int main(void)
{
	test_round_trip();
	test_layout();
	test_concat();
	test_chunks();
	test_pipe();
	test_eintr();
	test_unread();
	test_payload_f32();
	test_limits();
	return done_testing();
}
