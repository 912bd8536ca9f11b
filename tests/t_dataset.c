/* t_dataset.c — datasets: fashion-mnist from the Debian package, IDX with
 * labels, PNG folders and tar/tar.gz/zip archives (classes, labels,
 * non-PNG files, mixed sizes, hostile members and zip bombs), streams,
 * permutations, splits, batches and dynamic binarization. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"
#include "dg.h"
#include "io/archive_members.h"

static char tmp[] = "/tmp/t_dataset.XXXXXX";
static int warnings;

static void count_warning(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
	warnings++;
}

/* A u8 PNG of c×h×w whose first pixel is id and whose others follow from
 * it, so an image read back can be recognised. */
static uint8_t px(unsigned id, size_t j)
{
	return j ? (uint8_t)(id * 31 + j * 7) : (uint8_t)id;
}

static void png_bytes(unsigned id, unsigned c, unsigned h, unsigned w, char **buf, size_t *len)
{
	uint64_t dims[4] = {1, c, h, w};
	struct dg_array *a = dg_array_new(DG_U8, 4, dims);
	FILE *f = open_memstream(buf, len);

	for (size_t j = 0; j < (size_t)c * h * w; j++)
		((uint8_t *)a->data)[j] = px(id, j);
	if (dg_png_write(f, "mem", a, 0, NULL))
		diag("png write: %s", dg_errmsg());
	fclose(f);
	dg_array_free(a);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(p, 1, n, f);
	fclose(f);
}

static void write_png(const char *path, unsigned id, unsigned c, unsigned h, unsigned w)
{
	char *b;
	size_t n;
	png_bytes(id, c, h, w, &b, &n);
	write_bytes(path, b, n);
	free(b);
}

/* Whether image i of a batch (f32) is PNG id of c×h×w. */
static int is_image(const float *im, unsigned id, size_t per)
{
	for (size_t j = 0; j < per; j++)
		if (im[j] != px(id, j) / 255.0f)
			return 0;
	return 1;
}

static int sh(const char *cmd)
{
	return system(cmd);
}

static void fashion(void)
{
	struct dg_dataset *ds;
	const struct dg_dataset_info *in;
	int st, bad = 0;
	uint64_t idx[2] = {0, 59999};
	float im[2 * 784];
	int32_t lb[2];

	st = dg_dataset_open("fashion-mnist", NULL, &ds);
	if (!ok(st == 0, "fashion-mnist opens (%s)", st ? dg_errmsg() : "")) {
		return;
	}
	in = dg_dataset_info(ds);
	ok(in->count == 60000 && in->channels == 1 && in->height == 28 && in->width == 28,
	   "60000 images of 1x28x28");
	ok(in->has_labels && in->classes == 10, "labels and ten classes");
	is_str(dg_dataset_class(ds, 9), "Ankle boot", "class 9 is Ankle boot");
	is_str(dg_dataset_class(ds, 0), "T-shirt/top", "class 0 is T-shirt/top");
	st = dg_dataset_gather(ds, idx, 2, im, lb);
	is_int(lb[0], 9, "the first training image is an ankle boot");
	for (int j = 0; j < 2 * 784; j++)
		bad += !(im[j] >= 0 && im[j] <= 1);
	ok(st == 0 && !bad, "pixels in [0,1]");
	{
		/* every label in 0..9, and each class 6000 times */
		int hist[10] = {0}, off = 0;
		uint64_t *all = malloc(60000 * sizeof *all);
		int32_t *labels = malloc(60000 * sizeof *labels);
		float *one = malloc(784 * sizeof *one);
		for (uint64_t i = 0; i < 60000; i++) {
			dg_dataset_gather(ds, &i, 1, one, labels + i);
			if (labels[i] < 0 || labels[i] > 9)
				off++;
			else
				hist[labels[i]]++;
		}
		for (int k = 0; k < 10; k++)
			off += hist[k] != 6000;
		is_int(off, 0, "labels 0..9, 6000 of each");
		free(all);
		free(labels);
		free(one);
	}
	dg_dataset_close(ds);
	st = dg_dataset_open("fashion-mnist-test", NULL, &ds);
	ok(st == 0 && dg_dataset_info(ds)->count == 10000 && dg_dataset_info(ds)->has_labels,
	   "fashion-mnist-test: 10000 labelled images");
	dg_dataset_close(ds);

	setenv("DG_DATA_DIR", "/nonexistent", 1);
	st = dg_dataset_open("fashion-mnist", NULL, &ds);
	ok(st == DG_ENOINPUT && !ds && strstr(dg_errmsg(), "dataset-fashion-mnist"),
	   "missing data: %s", dg_errmsg());
	unsetenv("DG_DATA_DIR");
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void idx_files(void)
{
	uint8_t img[16 + 5 * 4 * 3], lab[8 + 5], lab4[8 + 4];
	char path[512], lpath[512], other[512];
	struct dg_dataset *ds;
	struct dg_dataset_options opt = {0};
	int32_t lb[5];
	float im[5 * 12];
	uint64_t idx[5] = {0, 1, 2, 3, 4};
	int st;

	memcpy(img, "\0\0\x08\x03", 4);
	put_be32(img + 4, 5);
	put_be32(img + 8, 4);
	put_be32(img + 12, 3);
	for (int i = 0; i < 60; i++)
		img[16 + i] = (uint8_t)(i * 4);
	memcpy(lab, "\0\0\x08\x01", 4);
	put_be32(lab + 4, 5);
	memcpy(lab + 8, "\x04\x03\x02\x01\x00", 5);
	memcpy(lab4, lab, 8);
	put_be32(lab4 + 4, 4);
	snprintf(path, sizeof path, "%s/my-images-idx3-ubyte", tmp);
	snprintf(lpath, sizeof lpath, "%s/my-labels-idx1-ubyte", tmp);
	snprintf(other, sizeof other, "%s/other-labels", tmp);
	write_bytes(path, img, sizeof img);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == 0 && dg_dataset_info(ds)->count == 5 && !dg_dataset_info(ds)->has_labels &&
	   dg_dataset_info(ds)->height == 4 && dg_dataset_info(ds)->width == 3,
	   "IDX images without a labels file: 5 of 4x3, no labels");
	dg_dataset_close(ds);
	write_bytes(lpath, lab, sizeof lab);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == 0 && dg_dataset_info(ds)->has_labels, "the matching labels file is found");
	st = dg_dataset_gather(ds, idx, 5, im, lb);
	ok(st == 0 && lb[0] == 4 && lb[4] == 0, "labels in order");
	is_near(im[12 * 2 + 5], (12 * 2 + 5) * 4 / 255.0, 1e-7, "pixel value /255");
	dg_dataset_close(ds);
	write_bytes(other, lab4, sizeof lab4);
	opt.labels = other;
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "4 labels for 5 images"),
	   "an explicit labels file of the wrong length: %s", dg_errmsg());
	opt.labels = "/nonexistent/labels";
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == DG_ENOINPUT, "a missing explicit labels file: %s", dg_errmsg());
	/* gzip'd images (found by content, whatever the name) with .gz labels */
	snprintf(other, sizeof other, "cd %s && gzip -k my-images-idx3-ubyte my-labels-idx1-ubyte "
		 "&& mv my-images-idx3-ubyte.gz x-images-idx3-ubyte.gz && "
		 "mv my-labels-idx1-ubyte.gz x-labels-idx1-ubyte.gz", tmp);
	sh(other);
	snprintf(path, sizeof path, "%s/x-images-idx3-ubyte.gz", tmp);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == 0 && dg_dataset_info(ds)->count == 5 && dg_dataset_info(ds)->has_labels,
	   "gzip'd IDX with gzip'd labels");
	dg_dataset_close(ds);
	opt.labels = NULL;
	opt.limit = 2;
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == 0 && dg_dataset_info(ds)->count == 2, "--limit 2");
	dg_dataset_close(ds);
}

static void mkdirs(const char *fmt, const char *sub)
{
	char p[512];
	snprintf(p, sizeof p, fmt, tmp, sub);
	mkdir(p, 0755);
}

static void folders(void)
{
	char root[256], p[512];
	struct dg_dataset *ds;
	struct dg_dataset_options opt = {.warn = count_warning};
	int st;
	float im[6 * 3 * 5 * 4];
	int32_t lb[6];
	uint64_t idx[6] = {0, 1, 2, 3, 4, 5};

	snprintf(root, sizeof root, "%s/pngs", tmp);
	mkdir(root, 0755);
	/* classes created out of order; images named so that sorted order
	 * is known: zeta/1 zeta/2 alpha/9 mid/3 */
	mkdirs("%s/pngs/%s", "zeta");
	mkdirs("%s/pngs/%s", "alpha");
	mkdirs("%s/pngs/%s", "mid");
	snprintf(p, sizeof p, "%s/zeta/b.png", root);
	write_png(p, 2, 1, 5, 4);
	snprintf(p, sizeof p, "%s/zeta/a.png", root);
	write_png(p, 1, 1, 5, 4);
	snprintf(p, sizeof p, "%s/alpha/x.png", root);
	write_png(p, 9, 1, 5, 4);
	snprintf(p, sizeof p, "%s/mid/y.png", root);
	write_png(p, 3, 1, 5, 4);
	snprintf(p, sizeof p, "%s/mid/notes.txt", root);
	write_bytes(p, "hello\n", 6);

	warnings = 0;
	st = dg_dataset_open(root, &opt, &ds);
	if (!ok(st == 0, "a folder of class folders opens (%s)", st ? dg_errmsg() : ""))
		return;
	ok(dg_dataset_info(ds)->count == 4 && dg_dataset_info(ds)->classes == 3,
	   "4 images, 3 classes");
	is_int(warnings, 1, "the text file is skipped with a warning");
	is_int((long long)dg_dataset_info(ds)->skipped, 1, "and counted");
	ok(dg_dataset_class(ds, 0) && !strcmp(dg_dataset_class(ds, 0), "alpha") &&
	   !strcmp(dg_dataset_class(ds, 1), "mid") && !strcmp(dg_dataset_class(ds, 2), "zeta"),
	   "classes sorted: alpha mid zeta");
	st = dg_dataset_gather(ds, idx, 4, im, lb);
	/* files in sorted path order: alpha/x mid/y zeta/a zeta/b */
	ok(st == 0 && is_image(im, 9, 20) && is_image(im + 20, 3, 20) &&
	   is_image(im + 40, 1, 20) && is_image(im + 60, 2, 20), "images in sorted path order");
	ok(lb[0] == 0 && lb[1] == 1 && lb[2] == 2 && lb[3] == 2, "labels match the folders");
	dg_dataset_close(ds);

	opt.strict = 1;
	st = dg_dataset_open(root, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "notes.txt: not a PNG"), "--strict: %s",
	   dg_errmsg());
	opt.strict = 0;

	/* an RGB image joins gray ones: all become RGB (gray replicated) */
	snprintf(p, sizeof p, "%s/mid/z.png", root);
	write_png(p, 4, 3, 5, 4);
	st = dg_dataset_open(root, &opt, &ds);
	ok(st == 0 && dg_dataset_info(ds)->channels == 3 && dg_dataset_info(ds)->count == 5,
	   "gray and RGB mix into RGB");
	if (st == 0) {
		st = dg_dataset_gather(ds, idx, 5, im, lb);
		ok(st == 0 && is_image(im + 2 * 60, 4, 60) && is_image(im, 9, 20) &&
		   is_image(im + 20, 9, 20) && is_image(im + 40, 9, 20),
		   "RGB kept, gray replicated into three channels");
	}
	dg_dataset_close(ds);
	unlink(p);

	/* a different size is an error naming the file */
	snprintf(p, sizeof p, "%s/zeta/c.png", root);
	write_png(p, 5, 1, 6, 4);
	st = dg_dataset_open(root, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "zeta/c.png: 4x6 image, earlier images are 4x5"),
	   "mixed sizes: %s", dg_errmsg());
	unlink(p);

	/* one PNG file; an image at the top level has no class */
	snprintf(p, sizeof p, "%s/top.png", root);
	write_png(p, 7, 1, 5, 4);
	st = dg_dataset_open(p, &opt, &ds);
	ok(st == 0 && dg_dataset_info(ds)->count == 1 && !dg_dataset_info(ds)->has_labels,
	   "a single PNG file: one image, no labels");
	dg_dataset_close(ds);
	warnings = 0;
	st = dg_dataset_open(root, &opt, &ds);
	ok(st == 0 && dg_dataset_info(ds)->count == 5 && !dg_dataset_info(ds)->has_labels &&
	   warnings == 2, "an image outside the class folders drops labels with a warning");
	dg_dataset_close(ds);
	unlink(p);

	/* 16-bit images are kept as f32, not rounded to 8 bits; 8-bit ones in
	 * the same folder join them */
	{
		uint64_t dims[4] = {1, 1, 1, 2};
		struct dg_array *a16 = dg_array_new(DG_F32, 4, dims);
		struct dg_png_options po = {.bit_depth = 16};
		FILE *f;
		char dir[300];

		snprintf(dir, sizeof dir, "%s/deep", tmp);
		mkdir(dir, 0755);
		((float *)a16->data)[0] = 0.3f;
		((float *)a16->data)[1] = 1.0f;
		snprintf(p, sizeof p, "%s/a.png", dir);
		write_png(p, 40, 1, 1, 2);
		snprintf(p, sizeof p, "%s/b.png", dir);
		f = fopen(p, "wb");
		dg_png_write(f, p, a16, 0, &po);
		fclose(f);
		dg_array_free(a16);
		st = dg_dataset_open(dir, &opt, &ds);
		ok(st == 0 && dg_dataset_info(ds)->count == 2, "8- and 16-bit PNGs (%s)",
		   st ? dg_errmsg() : "");
		if (st == 0) {
			st = dg_dataset_gather(ds, idx, 2, im, NULL);
			ok(st == 0 && im[0] == 40 / 255.0f && im[2] == 19661 / 65535.0f && im[3] == 1.0f,
			   "16-bit values kept exactly (%.9g), 8-bit too", im[2]);
		}
		dg_dataset_close(ds);
	}

	st = dg_dataset_open("/nonexistent/folder", &opt, &ds);
	ok(st == DG_ENOINPUT && !ds, "missing source: %s", dg_errmsg());
	snprintf(p, sizeof p, "%s/junk", tmp);
	write_bytes(p, "this is not an image", 20);
	st = dg_dataset_open(p, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "not a PNG, IDX, stream or archive"),
	   "unknown file: %s", dg_errmsg());
	snprintf(p, sizeof p, "%s/empty", tmp);
	mkdir(p, 0755);
	st = dg_dataset_open(p, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "no images"), "empty folder: %s", dg_errmsg());
}

/* ---- archives ------------------------------------------------------------ */

struct member {
	const char *path;
	unsigned id;         /* PNG id, or 0 for text */
	unsigned h;
};

static void make_archive(const char *path, int format, int gz, const struct member *m, int n)
{
	struct archive *a = archive_write_new();

	if (format == 'z')
		archive_write_set_format_zip(a);
	else
		archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	archive_write_open_filename(a, path);
	for (int i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		char *b = NULL;
		size_t len;
		if (m[i].id) {
			png_bytes(m[i].id, 1, m[i].h ? m[i].h : 3, 2, &b, &len);
		} else {
			b = strdup("plain text");
			len = strlen(b);
		}
		archive_entry_set_pathname(e, m[i].path);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)len);
		archive_write_header(a, e);
		archive_write_data(a, b, len);
		archive_entry_free(e);
		free(b);
	}
	archive_write_close(a);
	archive_write_free(a);
}

static void archives(void)
{
	static const struct member ms[] = {
		{"set/dog/1.png", 11, 0}, {"set/cat/2.png", 12, 0}, {"set/readme.txt", 0, 0},
		{"set/ant/3.png", 13, 0}, {"set/cat/4.png", 14, 0},
	};
	static const char *const kinds[] = {"tar", "tar.gz", "zip"};
	char path[512], evil[512];
	struct dg_dataset *ds;
	struct dg_dataset_options opt = {.warn = count_warning};
	uint64_t idx[4] = {0, 1, 2, 3};
	float im[4 * 6];
	int32_t lb[4];
	int st;

	for (int k = 0; k < 3; k++) {
		snprintf(path, sizeof path, "%s/set.%s", tmp, kinds[k]);
		make_archive(path, k == 2 ? 'z' : 't', k == 1, ms, 5);
		warnings = 0;
		st = dg_dataset_open(path, &opt, &ds);
		if (!ok(st == 0, "%s opens (%s)", kinds[k], st ? dg_errmsg() : ""))
			continue;
		ok(dg_dataset_info(ds)->count == 4 && dg_dataset_info(ds)->classes == 3 &&
		   warnings == 1, "%s: 4 images, 3 classes, the text member skipped", kinds[k]);
		ok(!strcmp(dg_dataset_class(ds, 0), "ant") && !strcmp(dg_dataset_class(ds, 1), "cat") &&
		   !strcmp(dg_dataset_class(ds, 2), "dog"), "%s: classes sorted", kinds[k]);
		st = dg_dataset_gather(ds, idx, 4, im, lb);
		/* archive order: dog cat ant cat */
		ok(st == 0 && lb[0] == 2 && lb[1] == 1 && lb[2] == 0 && lb[3] == 1 &&
		   is_image(im, 11, 6) && is_image(im + 18, 14, 6),
		   "%s: images in archive order with their labels", kinds[k]);
		dg_dataset_close(ds);
		opt.strict = 1;
		st = dg_dataset_open(path, &opt, &ds);
		ok(st == DG_EDATA && strstr(dg_errmsg(), "readme.txt: not a PNG"),
		   "%s --strict: %s", kinds[k], dg_errmsg());
		opt.strict = 0;
	}

	/* absolute paths and "..": read into memory, never written anywhere */
	snprintf(evil, sizeof evil, "%s/evil-%d", tmp, (int)getpid());
	{
		char abs[600], up[600];
		struct member bad[2];
		snprintf(abs, sizeof abs, "%s/abs/1.png", evil);
		snprintf(up, sizeof up, "../../../../%s/up/2.png", evil + 1);
		bad[0] = (struct member){abs, 21, 0};
		bad[1] = (struct member){up, 22, 0};
		snprintf(path, sizeof path, "%s/evil.tar", tmp);
		make_archive(path, 't', 0, bad, 2);
		st = dg_dataset_open(path, &opt, &ds);
		ok(st == 0 && dg_dataset_info(ds)->count == 2 && dg_dataset_info(ds)->classes == 2,
		   "members with an absolute path and '..' are read (%s)", st ? dg_errmsg() : "");
		ok(st == 0 && !strcmp(dg_dataset_class(ds, 0), "abs") &&
		   !strcmp(dg_dataset_class(ds, 1), "up"), "their classes are their folders");
		ok(access(evil, F_OK) != 0, "and nothing is written where they point");
		dg_dataset_close(ds);
	}

	/* limits: member count, one member's declared size, the total */
	snprintf(path, sizeof path, "%s/set.tar", tmp);
	opt.max_members = 3;
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "more than the limit of 3 members"),
	   "member count limit: %s", dg_errmsg());
	opt.max_members = 0;
	opt.max_member_bytes = 40;
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "declares") && strstr(dg_errmsg(), "limit of 40"),
	   "member size limit (declared size): %s", dg_errmsg());
	opt.max_member_bytes = 0;
	opt.max_total_bytes = 150;
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "total more than the limit of 150"),
	   "total size limit: %s", dg_errmsg());
	opt.max_total_bytes = 0;

	/* a truncated archive */
	{
		FILE *f;
		char *b;
		long n;
		snprintf(path, sizeof path, "%s/set.tar.gz", tmp);
		f = fopen(path, "rb");
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		b = malloc(n);
		if (fread(b, 1, n, f) != (size_t)n)
			diag("short read");
		fclose(f);
		snprintf(path, sizeof path, "%s/cut.tar.gz", tmp);
		write_bytes(path, b, n / 2);
		st = dg_dataset_open(path, &opt, &ds);
		ok(st == DG_EDATA && !ds, "a truncated tar.gz: %s", dg_errmsg());
		free(b);
	}
}

static int never(void *ctx, const char *path, const void *data, size_t len)
{
	(void)ctx;
	(void)data;
	return dg_error(DG_EINTERNAL, "member '%s' of %zu bytes passed the limits", path, len);
}

/* A zip whose one member is 257 MiB of zeros, written streaming without a
 * declared size: small on disk, refused by the default member limit while
 * inflating. */
static void zip_bomb(void)
{
	char path[512];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	struct dg_dataset *ds;
	struct stat sb;
	char *zeros = calloc(1, 1 << 16);
	int st;

	snprintf(path, sizeof path, "%s/bomb.zip", tmp);
	archive_write_set_format_zip(a);
	archive_write_open_filename(a, path);
	archive_entry_set_pathname(e, "boom/zeros.png");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_write_header(a, e);
	for (int i = 0; i < (257 << 4); i++)
		archive_write_data(a, zeros, 1 << 16);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	free(zeros);
	stat(path, &sb);
	ok(sb.st_size < (2 << 20), "the zip bomb is %lld bytes on disk", (long long)sb.st_size);
	st = dg_dataset_open(path, NULL, &ds);
	ok(st == DG_EDATA && !ds && strstr(dg_errmsg(), "limit of 268435456"),
	   "refused by the member limit: %s", dg_errmsg());
	/* Through a pipe libarchive cannot seek to the central directory, so
	 * the size is unknown until the inflated bytes are counted. */
	{
		char fifo[600];
		pid_t pid;
		snprintf(fifo, sizeof fifo, "%s/bomb.fifo", tmp);
		mkfifo(fifo, 0600);
		pid = fork();
		if (pid == 0) {
			FILE *in = fopen(path, "rb"), *out = fopen(fifo, "wb");
			char b[4096];
			size_t n;
			while (in && out && (n = fread(b, 1, sizeof b, in)) > 0 &&
			       fwrite(b, 1, n, out) == n)
				;
			if (out)
				fclose(out);
			_exit(0);
		}
		st = dg_archive_walk_file(fifo, NULL, never, NULL);
		ok(st == DG_EDATA && strstr(dg_errmsg(), "larger than the limit of 268435456"),
		   "streamed: refused while inflating: %s", dg_errmsg());
		waitpid(pid, NULL, 0);
		unlink(fifo);
	}
	unlink(path);
}

/* ---- streams -------------------------------------------------------------- */

static void streams(void)
{
	char path[512];
	struct dg_writer *w;
	struct dg_meta *m = dg_meta_new();
	uint64_t d1[4] = {3, 1, 2, 2}, d2[4] = {2, 1, 2, 2}, d3[4] = {2, 1, 3, 3};
	float a[12], c[18];
	uint8_t b[8];
	struct dg_dataset *ds;
	struct dg_dataset_options opt = {0};
	struct dg_array *im, *lb;
	uint64_t idx[5] = {0, 1, 2, 3, 4};
	float out[5 * 4];
	int32_t lbo[5];
	int st;

	for (int i = 0; i < 12; i++)
		a[i] = i / 16.0f;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(200 + i);
	for (int i = 0; i < 18; i++)
		c[i] = 0.5f;
	snprintf(path, sizeof path, "%s/s.dgs", tmp);
	w = dg_writer_open(path);
	dg_meta_set(m, "space", "image");
	dg_meta_set(m, "labels", "1,0,2");
	dg_meta_set(m, "classes", "a%2Cb,c%25,d");
	dg_write_record(w, DG_F32, 4, d1, m, a);
	dg_meta_set(m, "labels", "2,2");
	dg_write_record(w, DG_U8, 4, d2, m, b);
	dg_writer_close(w);

	st = dg_dataset_open(path, &opt, &ds);
	if (ok(st == 0, "a stream file loads (%s)", st ? dg_errmsg() : "")) {
		ok(dg_dataset_info(ds)->count == 5 && dg_dataset_info(ds)->has_labels &&
		   dg_dataset_info(ds)->classes == 3, "5 images, labels, 3 classes");
		is_str(dg_dataset_class(ds, 0), "a,b", "escaped class names decoded");
		is_str(dg_dataset_class(ds, 1), "c%", "and the percent sign");
		st = dg_dataset_gather(ds, idx, 5, out, lbo);
		ok(st == 0 && out[5] == 5 / 16.0f && out[12] == 200 / 255.0f && lbo[0] == 1 &&
		   lbo[4] == 2, "f32 and u8 records, labels in order");
	}
	dg_dataset_close(ds);

	/* sequential: batches cross records but not a change of shape */
	w = dg_writer_open(path);
	dg_meta_unset(m, "labels");
	dg_meta_unset(m, "classes");
	dg_write_record(w, DG_F32, 4, d1, m, a);
	dg_write_record(w, DG_U8, 4, d2, m, b);
	dg_write_record(w, DG_F32, 4, d3, m, c);
	dg_writer_close(w);
	opt.sequential = 1;
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == 0 && dg_dataset_info(ds)->sequential, "sequential open");
	if (st == 0) {
		uint64_t sizes[4] = {0}, k = 0;
		while (k < 4 && !(st = dg_dataset_read(ds, 4, &im, &lb)) && im) {
			sizes[k++] = im->dims[0] * 100 + im->dims[2];
			ok(!lb, "no labels in an unlabelled stream");
			dg_array_free(im);
		}
		ok(st == 0 && k == 3 && sizes[0] == 402 && sizes[1] == 102 && sizes[2] == 203,
		   "batches of 4 then 1 (2x2), then 2 (3x3): %llu %llu %llu",
		   (unsigned long long)sizes[0], (unsigned long long)sizes[1],
		   (unsigned long long)sizes[2]);
		ok(dg_dataset_gather(ds, idx, 1, out, NULL) == DG_EUSAGE,
		   "a sequential set cannot be indexed");
	}
	dg_dataset_close(ds);

	/* a batcher over a sequential stream: in order, epoch after epoch
	 * (the file is reopened), seekable for resume, never shuffled */
	w = dg_writer_open(path);
	dg_write_record(w, DG_F32, 4, d1, m, a);
	dg_write_record(w, DG_U8, 4, d2, m, b);
	dg_writer_close(w);
	opt.sequential = 1;
	st = dg_dataset_open(path, &opt, &ds);
	if (ok(st == 0, "sequential stream for a batcher")) {
		struct dg_batch_options bo = {.batch = 2, .shuffle = 1};
		struct dg_batcher *bt;
		float x[2 * 4], first[3][2 * 4];
		size_t got[4], n;
		int good = 1;

		ok(dg_batcher_new(ds, &bo, &bt) == DG_EUSAGE, "it cannot be shuffled");
		bo.shuffle = 0;
		dg_batcher_new(ds, &bo, &bt);
		for (int ep = 0; ep < 2; ep++)
			for (int k = 0; k < 4; k++) {
				st = dg_batcher_next(bt, x, NULL, &got[k]);
				if (k < 3 && ep == 0)
					memcpy(first[k], x, sizeof x);
				else if (k < 3)
					good &= !memcmp(first[k], x, got[k] * 4 * sizeof *x);
				good &= st == 0 && got[k] == (size_t)(k < 2 ? 2 : k == 2 ? 1 : 0);
			}
		ok(good, "two epochs of batches 2, 2, 1, end; the same images in each");
		ok(first[0][0] == a[0] && first[1][4] == 200 / 255.0f, "in stream order");
		dg_batcher_seek(bt, 3, 1);
		dg_batcher_next(bt, x, NULL, &n);
		ok(n == 2 && !memcmp(x, first[1], sizeof x), "seek to (epoch 3, batch 1)");
		dg_batcher_free(bt);
	}
	dg_dataset_close(ds);
	opt.sequential = 0;
	w = dg_writer_open(path);
	dg_write_record(w, DG_F32, 4, d1, m, a);
	dg_write_record(w, DG_U8, 4, d2, m, b);
	dg_write_record(w, DG_F32, 4, d3, m, c);
	dg_writer_close(w);
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "record 2: 3x3 image, earlier images are 2x2"),
	   "loaded whole, a change of shape is an error: %s", dg_errmsg());

	/* hostile records */
	w = dg_writer_open(path);
	dg_meta_set(m, "labels", "1,2");
	dg_write_record(w, DG_F32, 4, d1, m, a);
	dg_writer_close(w);
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "record 0") && strstr(dg_errmsg(), "3 labels"),
	   "labels= of the wrong length: %s", dg_errmsg());
	w = dg_writer_open(path);
	dg_meta_set(m, "space", "latent");
	dg_meta_unset(m, "labels");
	dg_write_record(w, DG_F32, 4, d1, m, a);
	dg_writer_close(w);
	st = dg_dataset_open(path, &opt, &ds);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "space=latent"), "latent records: %s",
	   dg_errmsg());
	dg_meta_free(m);
}

/* ---- order, splits, batches ------------------------------------------------ */

static struct dg_dataset *small_set(void)
{
	char path[512];
	uint8_t img[16 + 103 * 4];
	struct dg_dataset *ds = NULL;

	memcpy(img, "\0\0\x08\x03", 4);
	put_be32(img + 4, 103);
	put_be32(img + 8, 2);
	put_be32(img + 12, 2);
	for (int i = 0; i < 103 * 4; i++)
		img[16 + i] = (uint8_t)(i % 4 == 0 ? i / 4 : i * 37 % 256);
	snprintf(path, sizeof path, "%s/small-images", tmp);
	write_bytes(path, img, sizeof img);
	if (dg_dataset_open(path, NULL, &ds))
		diag("small set: %s", dg_errmsg());
	return ds;
}

static int is_perm(const uint64_t *o, uint64_t n)
{
	char *seen = calloc(n, 1);
	int good = 1;
	for (uint64_t i = 0; i < n; i++) {
		if (o[i] >= n || seen[o[i]])
			good = 0;
		else
			seen[o[i]] = 1;
	}
	free(seen);
	return good;
}

static void order(void)
{
	enum { N = 1000 };
	static uint64_t a[N], b[N], c[N], d[N];
	uint64_t fixed = 0;

	dg_dataset_permutation(N, 42, 0, a);
	dg_dataset_permutation(N, 42, 0, b);
	dg_dataset_permutation(N, 42, 1, c);
	dg_dataset_permutation(N, 43, 0, d);
	ok(is_perm(a, N) && is_perm(c, N), "a permutation of 0..999");
	ok(!memcmp(a, b, sizeof a), "the same for the same (seed, epoch)");
	ok(memcmp(a, c, sizeof a) && memcmp(a, d, sizeof a), "different across epochs and seeds");
	for (int i = 0; i < N; i++)
		fixed += a[i] == (uint64_t)i;
	ok(fixed < 10, "not near the identity (%llu fixed points)", (unsigned long long)fixed);
}

static void splits(void)
{
	struct dg_dataset *ds = small_set(), *tr, *va, *tr2, *va2;
	float im[103 * 4], im2[103 * 4];
	uint64_t idx[103];
	char seen[256] = {0};
	int st, good = 1;

	if (!ds)
		return;
	st = dg_dataset_split(ds, 20, 7, &tr, &va);
	ok(st == 0 && dg_dataset_info(tr)->count == 83 && dg_dataset_info(va)->count == 20,
	   "split 83 + 20");
	for (int i = 0; i < 103; i++)
		idx[i] = (uint64_t)i;
	/* pixel 0 of image i is i: the two parts must cover 0..102 once */
	dg_dataset_gather(tr, idx, 83, im, NULL);
	dg_dataset_gather(va, idx, 20, im + 83 * 4, NULL);
	for (int i = 0; i < 103; i++) {
		int id = (int)(im[i * 4] * 255.0f + 0.5f);
		good &= !seen[id];
		seen[id] = 1;
	}
	ok(good, "disjoint and complete");
	dg_dataset_close(ds);   /* the parts outlive it */
	ds = small_set();
	dg_dataset_split(ds, 20, 7, &tr2, &va2);
	dg_dataset_gather(va2, idx, 20, im2, NULL);
	ok(!memcmp(im + 83 * 4, im2, 20 * 4 * sizeof *im), "the same for the same seed");
	dg_dataset_close(tr);
	dg_dataset_close(va);
	ok(dg_dataset_split(ds, 104, 7, &tr, &va) == DG_EUSAGE && !tr && !va,
	   "more than all is refused");
	dg_dataset_close(tr2);
	dg_dataset_close(va2);
	dg_dataset_close(ds);
}

/* Runs one epoch; returns the images seen (pixel 0 = id). */
static int epoch(struct dg_batcher *b, size_t bs, int *ids, float *all)
{
	float im[64 * 4];
	size_t n;
	int k = 0;

	while (!dg_batcher_next(b, im, NULL, &n) && n) {
		for (size_t i = 0; i < n; i++) {
			ids[k] = (int)(im[i * 4] * 255.0f + 0.5f);
			if (all)
				memcpy(all + k * 4, im + i * 4, 4 * sizeof *im);
			k++;
		}
		if (n != bs && n != 103 % bs)
			return -1;
	}
	return k;
}

static void batches(void)
{
	struct dg_dataset *ds = small_set();
	struct dg_batch_options o = {.batch = 10, .seed = 5, .shuffle = 1};
	struct dg_batcher *b, *b2;
	int ids[103], ids2[103], ids3[103], seen[103] = {0}, good = 1, k;
	uint64_t e, bi;
	static float x1[103 * 4], x2[103 * 4], x3[103 * 4];
	float im[10 * 4];
	size_t n;

	if (!ds)
		return;
	dg_batcher_new(ds, &o, &b);
	k = epoch(b, 10, ids, NULL);
	for (int i = 0; i < 103 && k == 103; i++)
		seen[ids[i]]++;
	for (int i = 0; i < 103; i++)
		good &= seen[i] == 1;
	ok(k == 103 && good, "an epoch sees each image once, the last batch partial");
	dg_batcher_tell(b, &e, &bi);
	ok(e == 1 && bi == 0, "then the next epoch starts");
	epoch(b, 10, ids2, NULL);
	ok(memcmp(ids, ids2, sizeof ids), "in another order");
	/* resume: a new batcher sought to epoch 1, batch 4 continues exactly */
	dg_batcher_new(ds, &o, &b2);
	dg_batcher_seek(b2, 1, 4);
	dg_batcher_next(b2, im, NULL, &n);
	ok(n == 10 && (int)(im[0] * 255.0f + 0.5f) == ids2[40], "seek to (epoch 1, batch 4)");
	dg_batcher_free(b2);
	dg_batcher_free(b);

	o.drop_last = 1;
	dg_batcher_new(ds, &o, &b);
	is_int(epoch(b, 10, ids3, NULL), 100, "drop_last: 100 of 103");
	dg_batcher_free(b);

	/* binarization: 0/1, deterministic, the same whatever the batch size,
	 * new each epoch, mean near the mean of the pixels */
	o = (struct dg_batch_options){.batch = 7, .seed = 9, .binarize = 1};
	dg_batcher_new(ds, &o, &b);
	epoch(b, 7, ids, x1);
	epoch(b, 7, ids, x3);
	dg_batcher_free(b);
	o.batch = 13;
	dg_batcher_new(ds, &o, &b);
	epoch(b, 13, ids, x2);
	dg_batcher_free(b);
	good = 1;
	for (int i = 0; i < 103 * 4; i++)
		good &= x1[i] == 0.0f || x1[i] == 1.0f;
	ok(good, "binarized pixels are 0 or 1");
	ok(!memcmp(x1, x2, sizeof x1), "the same draws for batches of 7 and 13");
	ok(memcmp(x1, x3, sizeof x1), "new draws in the next epoch");
	{
		/* over 20 epochs each pixel's mean approaches its value */
		static float acc[103 * 4], ref[103 * 4];
		uint64_t idx[103];
		double err = 0;
		for (int i = 0; i < 103; i++)
			idx[i] = (uint64_t)i;
		dg_dataset_gather(ds, idx, 103, ref, NULL);
		o.batch = 50;
		dg_batcher_new(ds, &o, &b);
		for (int ep = 0; ep < 200; ep++) {
			epoch(b, 50, ids, x1);
			for (int i = 0; i < 103 * 4; i++)
				acc[i] += x1[i] / 200.0f;
		}
		dg_batcher_free(b);
		for (int i = 0; i < 103 * 4; i++)
			err += (acc[i] - ref[i]) * (acc[i] - ref[i]);
		err = sqrt(err / (103 * 4));
		ok(err < 0.05, "mean of 200 epochs matches the pixels (rms error %.4f)", err);
	}
	o = (struct dg_batch_options){0};
	ok(dg_batcher_new(ds, &o, &b) == DG_EUSAGE, "a batch of 0 is refused");
	dg_dataset_close(ds);
}

static void classes_text(void)
{
	const char *names[] = {"plain", "a,b", "50%", "new\nline", ""};
	char *text, **back;
	unsigned n;
	int good;

	dg_classes_format(names, 5, &text);
	is_str(text, "plain,a%2Cb,50%25,new%0Aline,", "classes= escaping");
	good = dg_classes_parse(text, &back, &n) == 0 && n == 5;
	for (unsigned i = 0; good && i < 5; i++)
		good = !strcmp(back[i], names[i]);
	ok(good, "and back");
	free(text);
	free(back);
	ok(dg_classes_parse("a%2", &back, &n) == DG_EDATA, "a cut escape is refused");
	ok(dg_classes_parse("a%00", &back, &n) == DG_EDATA, "so is %%00");
}

static int touch(void *ctx, const char *path, const void *data, size_t len)
{
	(void)path;
	if (len)
		*(int *)ctx += ((const uint8_t *)data)[len - 1] != 0;
	return 0;
}

/* Regression: the archive inputs kept from fuzzing are read or refused
 * cleanly, here without the fuzzer's instrumentation. */
static void fuzz_inputs(const char *sub)
{
	const struct dg_archive_limits lim = {1u << 20, 4u << 20, 1000};
	const char *src = getenv("DG_SRC");
	char dir[1024];
	DIR *d;
	struct dirent *e;
	int files = 0, bad = 0, sink = 0;

	snprintf(dir, sizeof dir, "%s/%s", src ? src : ".", sub);
	if (!ok((d = opendir(dir)) != NULL, "%s exists", dir))
		return;
	while ((e = readdir(d))) {
		char path[2048];
		FILE *f;
		long n;
		uint8_t *b;
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
		st = dg_archive_walk_memory(b, (size_t)n, e->d_name, &lim, touch, &sink);
		if (st && (st != DG_EDATA || !*dg_errmsg())) {
			bad++;
			diag("%s: status %d %s", path, st, dg_errmsg());
		}
		free(b);
		files++;
	}
	closedir(d);
	ok(files > 0 && !bad, "%d inputs of %s read or fail cleanly", files, sub);
}

int main(void)
{
	char cmd[600];

	if (!mkdtemp(tmp))
		return 1;
	fashion();
	idx_files();
	folders();
	archives();
	zip_bomb();
	streams();
	order();
	splits();
	batches();
	classes_text();
	fuzz_inputs("tests/fuzz/corpus/fuzz_archive");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	sh(cmd);
	return done_testing();
}
