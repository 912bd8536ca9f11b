/* t_inputs.c — inputs are read once: dg_input's peek and rewind, every kind
 * of dataset (stream, PNG, IDX plain and gzip'd, tar, tar.gz, zip) through
 * a pipe and a FIFO alike a file, standard input loaded into memory, a
 * second pass refused on a pipe, IDX images read a chunk at a time, the
 * limits of dg(7) ENVIRONMENT named when hit or malformed, and broken
 * links in folders skipped like FIFOs (issue 12). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "tap.h"
#include "dg.h"

static char tmp[] = "/tmp/t_inputs.XXXXXX";
static int warnings;

static void count_warning(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
	warnings++;
}

/* ---- bytes of each kind --------------------------------------------------- */

struct buf {
	char *p;
	size_t n;
};

static void write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "wb");
	fwrite(b->p, 1, b->n, f);
	fclose(f);
}

/* A u8 PNG of c×h×w whose pixels follow from id. */
static struct buf png_bytes(unsigned id, unsigned c, unsigned h, unsigned w)
{
	uint64_t dims[4] = {1, c, h, w};
	struct dg_array *a = dg_array_new(DG_U8, 4, dims);
	struct buf b = {0};
	FILE *f = open_memstream(&b.p, &b.n);

	for (size_t j = 0; j < (size_t)c * h * w; j++)
		((uint8_t *)a->data)[j] = (uint8_t)(id * 31 + j * 7);
	dg_png_write(f, "mem", a, 0, NULL);
	fclose(f);
	dg_array_free(a);
	return b;
}

/* A stream of two image records with labels and classes. */
static struct buf stream_bytes(void)
{
	struct buf b = {0};
	FILE *f = open_memstream(&b.p, &b.n);
	struct dg_writer *w = dg_writer_file(f, "mem");
	struct dg_meta *m = dg_meta_new();
	uint64_t d1[4] = {3, 1, 2, 2}, d2[4] = {2, 1, 2, 2};
	float a[12];
	uint8_t u[8];

	for (int i = 0; i < 12; i++)
		a[i] = (float)i / 16.0f;
	for (int i = 0; i < 8; i++)
		u[i] = (uint8_t)(100 + i);
	dg_meta_set(m, "space", "image");
	dg_meta_set(m, "classes", "a,b,c");
	dg_meta_set(m, "labels", "1,0,2");
	dg_write_record(w, DG_F32, 4, d1, m, a);
	dg_meta_set(m, "labels", "2,2");
	dg_write_record(w, DG_U8, 4, d2, m, u);
	dg_writer_close(w);
	fclose(f);
	dg_meta_free(m);
	return b;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* An IDX file: n images of h×w (×c, channels last, when c > 1) of the
 * given type (0x08 u8, 0x0D f32, 0x0E f64), value(i, j) at element j of
 * image i.  Values given as k/255 are exact in any type. */
static double value(uint64_t i, uint64_t j, int exact)
{
	return exact ? (double)((i * 7 + j * 3) % 256) / 255.0 : (double)((i + j) % 10) / 10.0 + 0.01;
}

static struct buf idx_bytes(unsigned type, uint32_t n, uint32_t h, uint32_t w, uint32_t c,
			    int exact)
{
	unsigned rank = c > 1 ? 4 : 3, size = type == 0x08 ? 1 : type == 0x0D ? 4 : 8;
	uint64_t per = (uint64_t)h * w * c;
	struct buf b;
	uint8_t *p;

	b.n = 4 + 4 * rank + n * per * size;
	b.p = malloc(b.n);
	p = (uint8_t *)b.p;
	p[0] = p[1] = 0;
	p[2] = (uint8_t)type;
	p[3] = (uint8_t)rank;
	put_be32(p + 4, n);
	put_be32(p + 8, h);
	put_be32(p + 12, w);
	if (rank == 4)
		put_be32(p + 16, c);
	p += 4 + 4 * rank;
	for (uint64_t i = 0; i < n; i++)
		for (uint64_t j = 0; j < per; j++, p += size) {
			double v = value(i, j, exact);
			if (type == 0x08) {
				*p = (uint8_t)(v * 255.0 + 0.5);
			} else if (type == 0x0D) {
				float f = (float)v;
				uint32_t u;
				memcpy(&u, &f, 4);
				put_be32(p, u);
			} else {
				uint64_t u;
				memcpy(&u, &v, 8);
				put_be32(p, (uint32_t)(u >> 32));
				put_be32(p + 4, (uint32_t)u);
			}
		}
	return b;
}

static struct buf gzip_bytes(const struct buf *in)
{
	struct buf b;
	z_stream z;

	memset(&z, 0, sizeof z);
	b.p = malloc(in->n + in->n / 100 + 1024);
	deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (Bytef *)in->p;
	z.avail_in = (uInt)in->n;
	z.next_out = (Bytef *)b.p;
	z.avail_out = (uInt)(in->n + in->n / 100 + 1024);
	deflate(&z, Z_FINISH);
	b.n = z.total_out;
	deflateEnd(&z);
	return b;
}

/* An archive (tar, tar.gz or zip) of PNGs in two class folders. */
static struct buf archive_bytes(int zip, int gz)
{
	static const char *const names[] = {"s/dog/1.png", "s/cat/2.png", "s/cat/3.png"};
	struct archive *a = archive_write_new();
	struct buf b = {0};
	size_t cap = 1 << 20, used = 0;

	b.p = malloc(cap);
	if (zip)
		archive_write_set_format_zip(a);
	else
		archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	archive_write_open_memory(a, b.p, cap, &used);
	for (unsigned i = 0; i < 3; i++) {
		struct archive_entry *e = archive_entry_new();
		struct buf png = png_bytes(20 + i, 1, 3, 2);
		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)png.n);
		archive_write_header(a, e);
		archive_write_data(a, png.p, png.n);
		archive_entry_free(e);
		free(png.p);
	}
	archive_write_close(a);
	archive_write_free(a);
	b.n = used;
	return b;
}

/* ---- pipes ---------------------------------------------------------------- */

/* A pipe fed with b by a child process; *path gets /dev/fd/N, as a shell
 * gives for <(...).  finish() closes it and reaps the child. */
static int feed(const struct buf *b, char *path, size_t size, pid_t *pid)
{
	int fd[2];

	if (pipe(fd) != 0)
		return -1;
	*pid = fork();
	if (*pid == 0) {
		const char *p = b->p;
		size_t left = b->n;
		close(fd[0]);
		while (left) {
			ssize_t k = write(fd[1], p, left);
			if (k <= 0)
				_exit(0);   /* the reader stopped early */
			p += k;
			left -= (size_t)k;
		}
		_exit(0);
	}
	close(fd[1]);
	snprintf(path, size, "/dev/fd/%d", fd[0]);
	return fd[0];
}

static void finish(int fd, pid_t pid)
{
	close(fd);
	waitpid(pid, NULL, 0);
}

/* Whether two in-memory sets hold the same images and labels. */
static int same_sets(const struct dg_dataset *a, const struct dg_dataset *b)
{
	const struct dg_dataset_info *x = dg_dataset_info(a), *y = dg_dataset_info(b);
	uint64_t per = (uint64_t)x->channels * x->height * x->width;
	int same;

	if (x->count != y->count || x->channels != y->channels || x->height != y->height ||
	    x->width != y->width || x->has_labels != y->has_labels || x->classes != y->classes)
		return 0;
	same = 1;
	for (uint64_t i = 0; i < x->count && same; i++) {
		float *p = malloc(per * sizeof *p), *q = malloc(per * sizeof *q);
		int32_t la, lb;
		same = !dg_dataset_gather(a, &i, 1, p, &la) && !dg_dataset_gather(b, &i, 1, q, &lb) &&
		       !memcmp(p, q, per * sizeof *p) && la == lb;
		free(p);
		free(q);
	}
	for (unsigned k = 0; k < x->classes && same; k++)
		same = !strcmp(dg_dataset_class(a, k), dg_dataset_class(b, k));
	return same;
}

/* ---- dg_input --------------------------------------------------------------- */

static void input_api(void)
{
	struct buf b = stream_bytes();
	char path[600], back[4096];
	struct dg_input *in;
	const void *head;
	size_t n, got;
	pid_t pid;
	int fd, st;

	/* a pipe: peeked bytes are read again, then it cannot be rewound */
	fd = feed(&b, path, sizeof path, &pid);
	st = dg_input_open(path, &in);
	ok(st == 0 && !dg_input_seekable(in), "a pipe opens, not seekable");
	st = dg_input_peek(in, 16, &head, &n);
	ok(st == 0 && n == 16 && !memcmp(head, b.p, 16), "peek 16 bytes");
	st = dg_input_peek(in, 300, &head, &n);
	ok(st == 0 && n == 300 && !memcmp(head, b.p, 300), "peek more: 300 bytes");
	ok(dg_input_rewind(in) == 0, "a rewind within the peeked bytes is free");
	st = dg_input_read(in, back, 100, &got);
	ok(st == 0 && got == 100 && !memcmp(back, b.p, 100), "reads start with the peeked bytes");
	st = dg_input_read(in, back + 100, sizeof back - 100, &got);
	ok(st == 0 && got == b.n - 100 && !memcmp(back, b.p, b.n), "then the rest, whole (%zu)",
	   got + 100);
	ok(dg_input_tell(in) == b.n, "tell: %llu bytes", (unsigned long long)dg_input_tell(in));
	st = dg_input_peek(in, 16, &head, &n);
	is_int(st, DG_EINTERNAL, "no peek once read past it");
	st = dg_input_rewind(in);
	ok(st == DG_EUSAGE && strstr(dg_errmsg(), path) && strstr(dg_errmsg(), "only once"),
	   "no rewind of a pipe: %s", dg_errmsg());
	dg_input_close(in);
	finish(fd, pid);

	/* a file rewinds */
	snprintf(path, sizeof path, "%s/s.dgs", tmp);
	write_file(path, &b);
	st = dg_input_open(path, &in);
	ok(st == 0 && dg_input_seekable(in), "a regular file is seekable");
	dg_input_peek(in, 10, &head, &n);
	dg_input_read(in, back, sizeof back, &got);
	st = dg_input_rewind(in);
	dg_input_read(in, back + 2000, 2000, &n);
	ok(st == 0 && got == b.n && !memcmp(back, back + 2000, b.n > 2000 ? 2000 : b.n),
	   "read, rewind, read again: the same bytes");
	dg_input_close(in);
	st = dg_input_open("/nonexistent/x", &in);
	ok(st == DG_ENOINPUT && !in, "missing: %s", dg_errmsg());
	free(b.p);
}

/* ---- every kind of dataset through a pipe -------------------------------------- */

static void kinds(void)
{
	static const char *const names[] = {"stream", "PNG", "IDX u8", "IDX f32 RGB gzip'd",
					    "tar", "tar.gz", "zip"};
	struct buf bufs[7];
	struct buf idx = idx_bytes(0x0D, 7, 3, 2, 3, 1);

	bufs[0] = stream_bytes();
	bufs[1] = png_bytes(5, 3, 4, 5);
	bufs[2] = idx_bytes(0x08, 9, 4, 3, 1, 1);
	bufs[3] = gzip_bytes(&idx);
	bufs[4] = archive_bytes(0, 0);
	bufs[5] = archive_bytes(0, 1);
	bufs[6] = archive_bytes(1, 0);
	free(idx.p);
	for (int k = 0; k < 7; k++) {
		struct dg_dataset *file = NULL, *pipe = NULL, *fifo = NULL;
		char path[600], fifo_path[600];
		pid_t pid;
		int fd, st;

		snprintf(path, sizeof path, "%s/kind%d", tmp, k);
		write_file(path, &bufs[k]);
		st = dg_dataset_open(path, NULL, &file);
		ok(st == 0, "%s from a file (%s)", names[k], st ? dg_errmsg() : "ok");
		fd = feed(&bufs[k], path, sizeof path, &pid);
		st = dg_dataset_open(path, NULL, &pipe);
		ok(st == 0 && file && same_sets(file, pipe), "%s from a pipe, the same (%s)",
		   names[k], st ? dg_errmsg() : "ok");
		finish(fd, pid);

		/* a named FIFO: opened once (a second open waited forever) */
		snprintf(fifo_path, sizeof fifo_path, "%s/fifo%d", tmp, k);
		mkfifo(fifo_path, 0600);
		pid = fork();
		if (pid == 0) {
			int out = open(fifo_path, O_WRONLY);
			const char *p = bufs[k].p;
			size_t left = bufs[k].n;
			while (out >= 0 && left) {
				ssize_t n = write(out, p, left);
				if (n <= 0)
					break;
				p += n;
				left -= (size_t)n;
			}
			_exit(0);
		}
		alarm(60);   /* a hang fails the test instead of blocking it */
		st = dg_dataset_open(fifo_path, NULL, &fifo);
		alarm(0);
		ok(st == 0 && file && same_sets(file, fifo), "%s from a FIFO, the same (%s)",
		   names[k], st ? dg_errmsg() : "ok");
		waitpid(pid, NULL, 0);
		unlink(fifo_path);
		dg_dataset_close(file);
		dg_dataset_close(pipe);
		dg_dataset_close(fifo);
		free(bufs[k].p);
	}
}

/* ---- standard input and second passes --------------------------------------- */

/* Makes fd standard input for a while; returns the old one. */
static int stdin_from(int fd)
{
	int saved = dup(STDIN_FILENO);
	dup2(fd, STDIN_FILENO);
	return saved;
}

static void stdin_restore(int saved)
{
	dup2(saved, STDIN_FILENO);
	close(saved);
}

static void standard_input(void)
{
	struct buf b = stream_bytes();
	struct dg_dataset *ds, *ref;
	struct dg_dataset_options opt = {0};
	struct dg_batcher *bt;
	char path[600];
	float x[5 * 4];
	int32_t y[5];
	size_t n;
	pid_t pid;
	int fd, saved, st;

	snprintf(path, sizeof path, "%s/s.dgs", tmp);
	write_file(path, &b);
	dg_dataset_open(path, NULL, &ref);

	/* "-" from a pipe: in memory, so it shuffles and gives epochs */
	fd = feed(&b, path, sizeof path, &pid);
	saved = stdin_from(fd);
	st = dg_dataset_open("-", &opt, &ds);
	stdin_restore(saved);
	finish(fd, pid);
	ok(st == 0 && !dg_dataset_info(ds)->sequential && same_sets(ds, ref),
	   "'-' on a pipe is loaded into memory (%s)", st ? dg_errmsg() : "ok");
	if (st == 0) {
		struct dg_batch_options bo = {.batch = 2, .shuffle = 1, .seed = 3};
		int epochs = 0, images = 0;
		dg_batcher_new(ds, &bo, &bt);
		while (epochs < 3 && !(st = dg_batcher_next(bt, x, y, &n)))
			if (n)
				images += (int)n;
			else
				epochs++;
		ok(st == 0 && epochs == 3 && images == 15, "three shuffled epochs of 5 (%d)",
		   images);
		dg_batcher_free(bt);
	}
	dg_dataset_close(ds);

	/* sequential from a pipe: one pass, then a clear refusal */
	fd = feed(&b, path, sizeof path, &pid);
	opt.sequential = 1;
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == 0 && dg_dataset_info(ds)->sequential, "a sequential pipe opens");
	if (st == 0) {
		struct dg_batch_options bo = {.batch = 2};
		int images = 0;
		dg_batcher_new(ds, &bo, &bt);
		while (!(st = dg_batcher_next(bt, x, y, &n)) && n)
			images += (int)n;
		ok(st == 0 && images == 5, "its one pass: 5 images");
		st = dg_batcher_next(bt, x, y, &n);
		ok(st == DG_EUSAGE && strstr(dg_errmsg(), "not a regular file") &&
		   strstr(dg_errmsg(), path), "a second epoch is refused: %s", dg_errmsg());
		dg_batcher_free(bt);
	}
	dg_dataset_close(ds);
	finish(fd, pid);

	/* sequential "-" redirected from a file can be rewound */
	snprintf(path, sizeof path, "%s/s.dgs", tmp);
	fd = open(path, O_RDONLY);
	saved = stdin_from(fd);
	st = dg_dataset_open("-", &opt, &ds);
	if (ok(st == 0, "'-' redirected from a file, sequential")) {
		struct dg_batch_options bo = {.batch = 2};
		int epochs = 0, images = 0;
		dg_batcher_new(ds, &bo, &bt);
		while (epochs < 2 && !(st = dg_batcher_next(bt, x, y, &n)))
			if (n)
				images += (int)n;
			else
				epochs++;
		ok(st == 0 && images == 10, "two epochs: the file is rewound (%s)",
		   st ? dg_errmsg() : "ok");
		dg_batcher_free(bt);
	}
	dg_dataset_close(ds);
	stdin_restore(saved);
	close(fd);
	dg_dataset_close(ref);
	free(b.p);
}

/* ---- IDX images a chunk at a time ------------------------------------------------ */

static void idx_chunks(void)
{
	/* 20000 RGB 4x5 f32 images are 4.8 MB of data, several chunks */
	static const struct {
		unsigned type;
		uint32_t n, c;
		int exact;
	} cases[] = {{0x0D, 20000, 3, 1}, {0x0E, 3000, 1, 0}, {0x08, 50000, 3, 1}};

	for (int k = 0; k < 3; k++) {
		struct buf b = idx_bytes(cases[k].type, cases[k].n, 4, 5, cases[k].c, cases[k].exact);
		struct buf z = gzip_bytes(&b);
		uint64_t per = 20 * cases[k].c;
		float *im = malloc(per * sizeof *im);
		struct dg_dataset *ds;
		char path[600];
		pid_t pid;
		int fd, st, good = 1;

		fd = feed(&z, path, sizeof path, &pid);
		st = dg_dataset_open(path, NULL, &ds);
		finish(fd, pid);
		ok(st == 0 && dg_dataset_info(ds)->count == cases[k].n &&
		   dg_dataset_info(ds)->channels == cases[k].c,
		   "IDX type 0x%02x of %u images, gzip'd through a pipe (%s)", cases[k].type,
		   cases[k].n, st ? dg_errmsg() : "ok");
		/* every value in place: planar from channels last */
		for (uint64_t i = 0; st == 0 && i < cases[k].n && good; i += 997) {
			dg_dataset_gather(ds, &i, 1, im, NULL);
			for (uint64_t ch = 0; ch < cases[k].c; ch++)
				for (uint64_t j = 0; j < 20; j++) {
					double v = value(i, j * cases[k].c + ch, cases[k].exact);
					float want = cases[k].type == 0x08 ? (float)(uint8_t)(v * 255.0 + 0.5) /
						     255.0f : (float)v;
					good &= im[ch * 20 + j] == want;
				}
		}
		ok(good, "values in place across chunks");
		/* read sequentially (dg-encode): the same images, in order */
		if (st == 0) {
			struct dg_dataset_options opt = {.sequential = 1};
			struct dg_dataset *sq;
			struct dg_array *a, *lb;
			uint64_t seen = 0;
			float *ref = malloc(per * sizeof *ref);
			fd = feed(&z, path, sizeof path, &pid);
			st = dg_dataset_open(path, &opt, &sq);
			good = st == 0 && dg_dataset_info(sq)->sequential;
			while (good && !(st = dg_dataset_read(sq, 333, &a, &lb)) && a) {
				for (uint64_t i = 0; i < a->dims[0] && good; i += 101) {
					uint64_t at = seen + i;
					dg_dataset_gather(ds, &at, 1, ref, NULL);
					good = !memcmp(ref, (float *)a->data + i * per, per * sizeof *ref);
				}
				good &= !lb;
				seen += a->dims[0];
				dg_array_free(a);
			}
			ok(good && st == 0 && seen == cases[k].n,
			   "  read sequentially from a pipe: the same %llu images (%s)",
			   (unsigned long long)seen, st ? dg_errmsg() : "ok");
			dg_dataset_close(sq);
			finish(fd, pid);
			free(ref);
		}
		dg_dataset_close(ds);
		free(im);
		free(b.p);
		free(z.p);
	}
}

/* An IDX file and its labels read sequentially, over two epochs (the
 * file is rewound; the labels were read once), and cut by a limit. */
static void idx_sequential(void)
{
	struct buf b = idx_bytes(0x08, 1000, 3, 3, 1, 1), l;
	struct dg_dataset_options opt = {.sequential = 1};
	struct dg_batch_options bo = {.batch = 64};
	struct dg_dataset *ds;
	struct dg_batcher *bt;
	char path[600], lpath[600];
	float x[64 * 9];
	int32_t y[64];
	size_t n;
	int st, good = 1, epochs = 0, images = 0;

	l.n = 8 + 1000;
	l.p = malloc(l.n);
	memcpy(l.p, "\0\0\x08\x01", 4);
	put_be32((uint8_t *)l.p + 4, 1000);
	for (int i = 0; i < 1000; i++)
		l.p[8 + i] = (char)(i % 10);
	snprintf(path, sizeof path, "%s/seq-images-idx3-ubyte", tmp);
	snprintf(lpath, sizeof lpath, "%s/seq-labels-idx1-ubyte", tmp);
	write_file(path, &b);
	write_file(lpath, &l);
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == 0 && dg_dataset_info(ds)->sequential && dg_dataset_info(ds)->has_labels,
	   "a sequential IDX file with its labels (%s)", st ? dg_errmsg() : "ok");
	if (st == 0) {
		dg_batcher_new(ds, &bo, &bt);
		while (epochs < 2 && !(st = dg_batcher_next(bt, x, y, &n))) {
			for (size_t i = 0; i < n; i++) {
				int at = images % 1000;
				good &= y[i] == at % 10 && x[i * 9 + 4] == (float)value((uint64_t)at, 4, 1);
				images++;
			}
			epochs += n == 0;
		}
		ok(st == 0 && images == 2000 && good, "two epochs of 1000, labels and images in "
		   "step (%s)", st ? dg_errmsg() : "ok");
		dg_batcher_free(bt);
	}
	dg_dataset_close(ds);
	opt.limit = 70;
	st = dg_dataset_open(path, &opt, &ds);
	if (st == 0) {
		struct dg_array *a, *lb;
		images = 0;
		while (!(st = dg_dataset_read(ds, 64, &a, &lb)) && a) {
			images += (int)a->dims[0];
			dg_array_free(a);
			dg_array_free(lb);
		}
	}
	ok(st == 0 && images == 70, "--limit 70: 70 images (%d)", images);
	dg_dataset_close(ds);
	free(b.p);
	free(l.p);
}

/* ---- limits -------------------------------------------------------------------- */

static void limits(void)
{
	struct buf s = stream_bytes(), png = png_bytes(1, 1, 8, 8), tar = archive_bytes(0, 0);
	struct buf idx = idx_bytes(0x08, 100, 10, 10, 1, 1);
	struct dg_dataset *ds;
	char path[600];
	int st;

	snprintf(path, sizeof path, "%s/s.dgs", tmp);
	write_file(path, &s);
	setenv("DG_DATASET_MAX_BYTES", "12x", 1);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == DG_EUSAGE && strstr(dg_errmsg(), "DG_DATASET_MAX_BYTES: '12x'"),
	   "malformed DG_DATASET_MAX_BYTES refused: %s", dg_errmsg());
	setenv("DG_DATASET_MAX_BYTES", "10", 1);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "limit of 10 bytes in memory (DG_DATASET_MAX_BYTES)"),
	   "a stream over DG_DATASET_MAX_BYTES: %s", dg_errmsg());
	/* IDX dims are judged before the data is read: the file stops
	 * after its header */
	idx.n = 16;
	snprintf(path, sizeof path, "%s/big-idx", tmp);
	write_file(path, &idx);
	setenv("DG_DATASET_MAX_BYTES", "9999", 1);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "need at least 10000 bytes") &&
	   strstr(dg_errmsg(), "(DG_DATASET_MAX_BYTES)"), "IDX dims over it: %s", dg_errmsg());
	/* read sequentially, nothing is held, but one image must fit: a
	 * header declaring one of 7 GB made fuzz_dataset allocate it */
	{
		struct dg_dataset_options seq = {.sequential = 1};
		struct buf one = idx_bytes(0x0D, 1, 100, 100, 1, 1);
		one.n = 16;
		write_file(path, &one);
		st = dg_dataset_open(path, &seq, &ds);
		ok(st == DG_EDATA && strstr(dg_errmsg(), "one IDX image of 100x100x1 needs 40000 "
					    "bytes") && strstr(dg_errmsg(), "(DG_DATASET_MAX_BYTES)"),
		   "sequentially, one image over it: %s", dg_errmsg());
		free(one.p);
	}
	unsetenv("DG_DATASET_MAX_BYTES");

	snprintf(path, sizeof path, "%s/p.png", tmp);
	write_file(path, &png);
	setenv("DG_FILE_MAX_BYTES", "20", 1);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "limit of 20 (DG_FILE_MAX_BYTES)"),
	   "a PNG over DG_FILE_MAX_BYTES: %s", dg_errmsg());
	snprintf(path, sizeof path, "%s/t.tar", tmp);
	write_file(path, &tar);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "(DG_FILE_MAX_BYTES)"),
	   "an archive member over it: %s", dg_errmsg());
	setenv("DG_FILE_MAX_BYTES", "-5", 1);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == DG_EUSAGE && strstr(dg_errmsg(), "DG_FILE_MAX_BYTES: '-5'"),
	   "a negative limit refused: %s", dg_errmsg());
	unsetenv("DG_FILE_MAX_BYTES");
	setenv("DG_ARCHIVE_MAX_MEMBERS", "2", 1);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "limit of 2 members (DG_ARCHIVE_MAX_MEMBERS)"),
	   "DG_ARCHIVE_MAX_MEMBERS: %s", dg_errmsg());
	unsetenv("DG_ARCHIVE_MAX_MEMBERS");
	setenv("DG_ARCHIVE_MAX_BYTES", "100", 1);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "limit of 100 bytes (DG_ARCHIVE_MAX_BYTES)"),
	   "DG_ARCHIVE_MAX_BYTES: %s", dg_errmsg());
	unsetenv("DG_ARCHIVE_MAX_BYTES");
	/* options given by the caller win over the environment */
	{
		struct dg_dataset_options opt = {.max_members = 100};
		setenv("DG_ARCHIVE_MAX_MEMBERS", "2", 1);
		st = dg_dataset_open(path, &opt, &ds);
		ok(st == 0, "an option overrides the variable (%s)", st ? dg_errmsg() : "ok");
		dg_dataset_close(ds);
		unsetenv("DG_ARCHIVE_MAX_MEMBERS");
	}
	free(s.p);
	free(png.p);
	free(tar.p);
	free(idx.p);
}

/* ---- folders: what is not a regular file ------------------------------------------ */

static void links(void)
{
	struct dg_dataset_options opt = {.warn = count_warning};
	struct dg_dataset *ds;
	struct buf png = png_bytes(3, 1, 4, 4);
	char dir[600], p[700];
	int st;

	snprintf(dir, sizeof dir, "%s/links", tmp);
	mkdir(dir, 0755);
	snprintf(p, sizeof p, "%s/a.png", dir);
	write_file(p, &png);
	snprintf(p, sizeof p, "%s/b.png", dir);
	symlink("nowhere.png", p);
	snprintf(p, sizeof p, "%s/c.png", dir);
	symlink("c.png", p);             /* a loop */
	snprintf(p, sizeof p, "%s/d.fifo", dir);
	mkfifo(p, 0600);
	warnings = 0;
	st = dg_dataset_open(dir, &opt, &ds);
	ok(st == 0 && dg_dataset_info(ds)->count == 1 && warnings == 3,
	   "a broken link, a link loop and a FIFO are skipped with warnings (%d; %s)", warnings,
	   st ? dg_errmsg() : "ok");
	dg_dataset_close(ds);
	opt.strict = 1;
	st = dg_dataset_open(dir, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "b.png: broken symbolic link"),
	   "--strict: the broken link is an error: %s", dg_errmsg());
	free(png.p);
}

/* ---- a message names the file once --------------------------------------------- */

static void messages(void)
{
	struct dg_writer *w;
	struct dg_meta *m = dg_meta_new();
	struct dg_dataset *ds;
	uint64_t d[4] = {2, 1, 2, 2};
	float a[8] = {0};
	char path[600];
	const char *first;
	int st;

	snprintf(path, sizeof path, "%s/x.dgs", tmp);
	w = dg_writer_open(path);
	dg_meta_set(m, "labels", "1,2,3");
	dg_write_record(w, DG_F32, 4, d, m, a);
	dg_writer_close(w);
	st = dg_dataset_open(path, NULL, &ds);
	first = strstr(dg_errmsg(), path);
	ok(st == DG_EDATA && first && !strstr(first + 1, path) && strstr(dg_errmsg(), "record 0"),
	   "the file named once: %s", dg_errmsg());
	dg_meta_free(m);
}

/* ---- regression: every input kept from fuzz_dataset ------------------------- */

static void fuzz_inputs(const char *sub)
{
	const char *src = getenv("DG_SRC");
	struct dg_dataset_options opt = {.max_bytes = 16u << 20, .max_member_bytes = 1u << 20,
					 .max_total_bytes = 4u << 20, .max_members = 1000};
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
		struct dg_dataset *ds = NULL;
		int st;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "README"))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		for (int seq = 0; seq < 2; seq++) {
			struct dg_array *a = NULL, *lb = NULL;
			opt.sequential = seq;
			st = dg_dataset_open(path, &opt, &ds);
			if (st ? (ds || !*dg_errmsg()) : !ds || (!seq && !dg_dataset_info(ds)->count)) {
				bad++;
				diag("%s: status %d %s", path, st, dg_errmsg());
			}
			while (!st && !(st = dg_dataset_read(ds, 7, &a, &lb)) && a) {
				dg_array_free(a);
				dg_array_free(lb);
			}
			dg_dataset_close(ds);
			ds = NULL;
		}
		files++;
	}
	closedir(d);
	ok(files > 0 && !bad, "%d inputs of %s open or fail cleanly", files, sub);
}

int main(void)
{
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	unsetenv("DG_DATASET_MAX_BYTES");
	unsetenv("DG_FILE_MAX_BYTES");
	unsetenv("DG_ARCHIVE_MAX_BYTES");
	unsetenv("DG_ARCHIVE_MAX_MEMBERS");
	input_api();
	kinds();
	standard_input();
	idx_chunks();
	idx_sequential();
	limits();
	links();
	messages();
	fuzz_inputs("tests/fuzz/corpus/fuzz_dataset");
	fuzz_inputs("tests/data/fuzz/fuzz_dataset");
	{
		char cmd[700];
		snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
		if (system(cmd) != 0)
			diag("could not remove %s", tmp);
	}
	return done_testing();
}
