/* dataset_png.c — datasets of PNG images: one file, a folder tree, or the
 * members of an archive; an image's class is the name of the folder that
 * holds it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/archive_members.h"
#include "io/input_impl.h"
#include "io/limits.h"
#include "data/dataset_impl.h"
#include "dg/image.h"

#define MAX_DEPTH 64

static int is_png(const void *buf, size_t len)
{
	return len >= 8 && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0;
}

static int full(const struct dg_dataset *ds)
{
	return ds->opt.limit && ds->store->n >= ds->opt.limit;
}

/* The class of an image at path (relative to the set's root): the last
 * folder component, or none ("" returned as NULL) at the top level.  The
 * name is copied into buf. */
static const char *class_of(const char *path, char *buf, size_t size)
{
	const char *end = path + strlen(path), *start;

	while (end > path && end[-1] != '/')   /* the file name */
		end--;
	while (end > path && end[-1] == '/')
		end--;
	start = end;
	while (start > path && start[-1] != '/')
		start--;
	if (end == start || (end - start == 1 && *start == '.') || (size_t)(end - start) >= size)
		return NULL;
	memcpy(buf, start, (size_t)(end - start));
	buf[end - start] = 0;
	return buf;
}

/* Decodes one PNG (or skips / refuses a file that is not one) and adds it
 * with the class of rel. */
static int add(struct dg_dataset *ds, const char *name, const char *rel, const void *buf,
	       size_t len)
{
	struct dg_array *img;
	char cls[1024];
	const char *c;
	int st;

	if (!is_png(buf, len)) {
		if (ds->opt.strict)
			return dg_error(DG_EDATA, "%s: not a PNG file", name);
		dg__warn(ds, "%s: not a PNG file, skipped", name);
		return DG_OK;
	}
	st = dg_png_decode(buf, len, name, &img);
	if (st)
		return st;
	st = dg__store_append(ds->store, DG_F32, img->data, 1, (unsigned)img->dims[1],
			      (unsigned)img->dims[2], (unsigned)img->dims[3], NULL, name);
	dg_array_free(img);
	if (!st && (c = class_of(rel, cls, sizeof cls)))
		st = dg__store_class(ds->store, c);
	return st;
}

/* Adds the file path of a folder.  It is opened without blocking, so a
 * file replaced by a FIFO since the folder was listed cannot hang the
 * load, and must still be a regular file. */
static int add_file(struct dg_dataset *ds, const char *path, const char *rel)
{
	struct dg_input *in;
	struct stat sb;
	void *buf;
	size_t len = 0;
	int fd, st;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return dg_error_errno("%s", path);
	if (fstat(fd, &sb) != 0) {
		st = dg_error_errno("%s", path);
		close(fd);
		return st;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return dg_error(DG_EDATA, "%s: not a regular file", path);
	}
	if ((st = dg_input_fd(fd, path, &in))) {
		close(fd);
		return st;
	}
	st = dg__input_slurp(in, ds->opt.max_member_bytes, DG_ENV_FILE_MAX, &buf, &len);
	dg_input_close(in);
	close(fd);
	if (st)
		return st;
	st = add(ds, path, rel, buf, len);
	free(buf);
	return st;
}

int dg__load_png_file(struct dg_dataset *ds, struct dg_input *in)
{
	void *buf;
	size_t len = 0;
	int st;

	ds->store = dg__store_new(ds->opt.max_bytes);
	if (!ds->store)
		return DG_ENOMEM;
	if ((st = dg__input_slurp(in, ds->opt.max_member_bytes, DG_ENV_FILE_MAX, &buf, &len)))
		return st;
	st = add(ds, dg_input_name(in), "", buf, len);
	free(buf);
	return st ? st : dg__store_finish(ds->store, ds);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Visits dir (root + "/" + rel) in sorted order, depth first. */
static int walk(struct dg_dataset *ds, const char *root, const char *rel, int depth)
{
	char dir[4096];
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int st = DG_OK;

	if (depth > MAX_DEPTH)
		return dg_error(DG_EDATA, "%s/%s: folders nested deeper than %d", root, rel, MAX_DEPTH);
	snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
	if (!(d = opendir(dir)))
		return dg_error_errno("%s", dir);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *v);
			if (!v) {
				st = dg_error_nomem("a folder listing", cap);
				break;
			}
			names = v;
		}
		if (!(names[n] = strdup(e->d_name))) {
			st = dg_error_nomem("a folder listing", 0);
			break;
		}
		n++;
	}
	closedir(d);
	if (!st && n > 1)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n && !st && !full(ds); i++) {
		char path[4096], sub[4096];
		struct stat sb, lb;

		if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", names[i]) >=
			    sizeof sub ||
		    (size_t)snprintf(path, sizeof path, "%s/%s", root, sub) >= sizeof path) {
			st = dg_error(DG_EDATA, "%s/%s: path too long", dir, names[i]);
			break;
		}
		if (stat(path, &sb) != 0) {
			int e = errno;
			/* a link to nothing (or to itself) is no image, like a
			 * FIFO: skipped unless strict */
			if (lstat(path, &lb) != 0 || !S_ISLNK(lb.st_mode)) {
				errno = e;
				st = dg_error_errno("%s", path);
			} else if (ds->opt.strict) {
				st = dg_error(DG_EDATA, "%s: broken symbolic link (%s)", path,
					      strerror(e));
			} else {
				dg__warn(ds, "%s: broken symbolic link (%s), skipped", path,
					 strerror(e));
			}
		} else if (S_ISDIR(sb.st_mode)) {
			/* symbolic links to folders are not followed: a link to
			 * an ancestor would loop */
			if (lstat(path, &lb) == 0 && S_ISLNK(lb.st_mode))
				dg__warn(ds, "%s: link to a folder, skipped", path);
			else
				st = walk(ds, root, sub, depth + 1);
		} else if (S_ISREG(sb.st_mode)) {
			st = add_file(ds, path, sub);
		} else {
			if (ds->opt.strict)
				st = dg_error(DG_EDATA, "%s: not a regular file", path);
			else
				dg__warn(ds, "%s: not a regular file, skipped", path);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return st;
}

int dg__load_folder(struct dg_dataset *ds, const char *path)
{
	char root[4096];
	size_t len = strlen(path);
	int st;

	ds->store = dg__store_new(ds->opt.max_bytes);
	if (!ds->store)
		return DG_ENOMEM;
	if (len >= sizeof root)
		return dg_error(DG_EDATA, "%s: path too long", path);
	memcpy(root, path, len + 1);
	while (len > 1 && root[len - 1] == '/')
		root[--len] = 0;
	st = walk(ds, root, "", 0);
	return st ? st : dg__store_finish(ds->store, ds);
}

struct member_ctx {
	struct dg_dataset *ds;
	const char *archive;
};

static int member(void *ctx, const char *path, const void *data, size_t len)
{
	struct member_ctx *m = ctx;
	char name[4096];
	int st;

	snprintf(name, sizeof name, "%s: %s", m->archive, path);
	st = add(m->ds, name, path, data, len);
	if (!st && full(m->ds))
		return DG_ARCHIVE_STOP;
	return st;
}

int dg__load_archive(struct dg_dataset *ds, struct dg_input *in)
{
	struct dg_archive_limits lim = {ds->opt.max_member_bytes, ds->opt.max_total_bytes,
					ds->opt.max_members};
	struct member_ctx m = {ds, dg_input_name(in)};
	int st;

	ds->store = dg__store_new(ds->opt.max_bytes);
	if (!ds->store)
		return DG_ENOMEM;
	st = dg_archive_walk_input(in, &lim, member, &m);
	/* libarchive's word for a file it does not know */
	if (st == DG_EDATA && !ds->store->n && strstr(dg_errmsg(), "Unrecognized archive format"))
		return dg_error(DG_EDATA, "%s: not a PNG, IDX, stream or archive file",
				dg_input_name(in));
	return st ? st : dg__store_finish(ds->store, ds);
}
