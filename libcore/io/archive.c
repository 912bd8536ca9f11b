/* archive.c — reads the members of tar (plain, gzip, bzip2, xz) and zip
 * archives into memory through libarchive, bounded by limits against zip
 * bombs.  Nothing is ever extracted to disk, so member paths need no
 * sanitising. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "io/archive_members.h"
#include "io/input_impl.h"
#include "io/limits.h"
#include "dg/dataset.h"
#include "dg/error.h"

static int lib_error(struct archive *a, const char *name, const char *what)
{
	const char *m = archive_error_string(a);
	int e = archive_errno(a);

	if (e == ENOENT)
		return dg_error(DG_ENOINPUT, "%s: %s", name, m ? m : "no such file");
	return dg_error(DG_EDATA, "%s: %s%s%s", name, what, m ? ": " : "", m ? m : "");
}

/* Reads the current member into *buf (grown with realloc), counting
 * against both limits as bytes arrive: a declared size may be absent or
 * a lie.  Reads are of at most CHUNK bytes: libarchive's streaming zip
 * reader has been seen to fail on large odd-sized reads. */
#define CHUNK (1u << 16)
static int read_member(struct archive *a, const char *name, const char *path,
		       const struct dg_archive_limits *lim, uint64_t *total,
		       uint8_t **buf, size_t *cap, size_t *len)
{
	*len = 0;
	for (;;) {
		la_ssize_t k;

		if (*cap - *len < CHUNK) {
			/* at most one chunk beyond the limit is ever allocated */
			size_t want = *cap ? *cap * 2 : CHUNK;
			uint8_t *p;

			if (want > lim->max_member + CHUNK)
				want = (size_t)lim->max_member + CHUNK;
			if (want < *len + CHUNK)
				want = *len + CHUNK;
			p = realloc(*buf, want);
			if (!p)
				return dg_error_nomem("an archive member", want);
			*buf = p;
			*cap = want;
		}
		k = archive_read_data(a, *buf + *len, CHUNK);
		if (k < 0)
			return dg_error_context(lib_error(a, name, "reading"), "member '%s'", path);
		if (k == 0)
			return DG_OK;
		*len += (size_t)k;
		*total += (uint64_t)k;
		if (*len > lim->max_member)
			return dg_error(DG_EDATA, "%s: member '%s' is larger than the limit of %llu "
					"bytes (%s)", name, path, (unsigned long long)lim->max_member,
					DG_ENV_FILE_MAX);
		if (*total > lim->max_total)
			return dg_error(DG_EDATA, "%s: members total more than the limit of %llu bytes "
					"(%s) at '%s'", name, (unsigned long long)lim->max_total,
					DG_ENV_ARCHIVE_MAX, path);
	}
}

static int walk(struct archive *a, const char *name, const struct dg_archive_limits *given,
		dg_archive_member_fn fn, void *ctx)
{
	struct dg_archive_limits lim = {DG_ARCHIVE_MAX_MEMBER, DG_ARCHIVE_MAX_TOTAL,
					DG_ARCHIVE_MAX_MEMBERS};
	struct archive_entry *e;
	uint64_t members = 0, total = 0;
	uint8_t *buf = NULL;
	size_t cap = 0, len;
	int st = DG_OK, rc;

	if (given) {
		if (given->max_member)
			lim.max_member = given->max_member;
		if (given->max_total)
			lim.max_total = given->max_total;
		if (given->max_members)
			lim.max_members = given->max_members;
	}
	while ((rc = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		const char *path;

		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			st = lib_error(a, name, members ? "reading" : "not a readable archive");
			break;
		}
		path = archive_entry_pathname(e);
		if (!path)
			path = "(unnamed)";
		if (++members > lim.max_members) {
			st = dg_error(DG_EDATA, "%s: more than the limit of %llu members (%s)", name,
				      (unsigned long long)lim.max_members, DG_ENV_ARCHIVE_MEMBERS);
			break;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;   /* libarchive skips unread data itself */
		if (archive_entry_size_is_set(e) &&
		    (uint64_t)archive_entry_size(e) > lim.max_member) {
			st = dg_error(DG_EDATA, "%s: member '%s' declares %lld bytes, more than the "
				      "limit of %llu (%s)", name, path,
				      (long long)archive_entry_size(e),
				      (unsigned long long)lim.max_member, DG_ENV_FILE_MAX);
			break;
		}
		st = read_member(a, name, path, &lim, &total, &buf, &cap, &len);
		if (st)
			break;
		st = fn(ctx, path, buf, len);
		if (st)
			break;
	}
	free(buf);
	return st == DG_ARCHIVE_STOP ? DG_OK : st;
}

static struct archive *reader(void)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	/* Only what dg documents, and only in-process decompressors:
	 * "all" would add formats such as mtree, which reads files named
	 * inside the archive from the local disk, and filters that run
	 * external programs on hostile input. */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_zip(a);
	return a;
}

int dg_archive_walk_memory(const void *buf, size_t len, const char *name,
			   const struct dg_archive_limits *lim, dg_archive_member_fn fn,
			   void *ctx)
{
	struct archive *a = reader();
	int st;

	if (!a)
		return dg_error_nomem("libarchive", 0);
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
		st = lib_error(a, name, "not a readable archive");
	else
		st = walk(a, name, lim, fn, ctx);
	archive_read_free(a);
	return st;
}

int dg_archive_walk_input(struct dg_input *in, const struct dg_archive_limits *lim,
			  dg_archive_member_fn fn, void *ctx)
{
	struct archive *a = reader();
	const char *name = dg_input_name(in);
	int st;

	if (!a)
		return dg_error_nomem("libarchive", 0);
	if (dg__archive_open_input(a, in) != ARCHIVE_OK)
		st = lib_error(a, name, "not a readable archive");
	else
		st = walk(a, name, lim, fn, ctx);
	archive_read_free(a);
	return st;
}

int dg_archive_walk_file(const char *path, const struct dg_archive_limits *lim,
			 dg_archive_member_fn fn, void *ctx)
{
	struct dg_input *in;
	int st;

	if ((st = dg_input_open(path, &in)))
		return st;
	st = dg_archive_walk_input(in, lim, fn, ctx);
	dg_input_close(in);
	return st;
}
