/* checkpoint_write.c — serializes a checkpoint: members as stream records,
 * the manifest listing them, one ustar archive (gzip'd) with fixed headers
 * so that equal content gives equal bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include "io/atomic.h"
#include "model/checkpoint_int.h"
#include "dg/error.h"

/* One member as it goes into the archive. */
struct blob {
	char path[DG_CHECKPOINT_MAX_NAME + sizeof CK_TENSOR_SUFFIX];
	char *data;      /* owned for tensors (the record), borrowed otherwise */
	size_t len;
	int owned;
};

/* The time to record: SOURCE_DATE_EPOCH (reproducible-builds.org) or
 * now. */
static int creation_time(time_t *out)
{
	const char *env = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (!env || !*env) {
		*out = time(NULL);
		return DG_OK;
	}
	errno = 0;
	v = strtoll(env, &end, 10);
	if (*end || errno || v < 0 || (long long)(time_t)v != v)
		return dg_error(DG_EUSAGE, "SOURCE_DATE_EPOCH='%s' is not a time in "
				"seconds since 1970", env);
	*out = (time_t)v;
	return DG_OK;
}

/* A tensor as one stream record in memory, with name=<name> added to its
 * metadata so that the record describes itself when extracted. */
static int serialize_tensor(const struct ck_member *m, struct blob *b)
{
	const struct dg_array *a = m->tensor;
	struct dg_meta *meta = dg_meta_dup(a->meta);
	struct dg_writer *w;
	FILE *f;
	int st;

	if (!meta)
		return DG_ENOMEM;
	st = dg_meta_set(meta, "name", m->name);
	f = st ? NULL : open_memstream(&b->data, &b->len);
	if (!st && !f)
		st = dg_error_errno("tensor '%s'", m->name);
	w = f ? dg_writer_file(f, m->name) : NULL;
	if (f && !w)
		st = DG_ENOMEM;
	if (w)
		st = dg_write_record(w, a->dtype, a->rank, a->dims, meta, a->data);
	if (w && dg_writer_close(w) && !st)
		st = DG_EIO;
	if (f && fclose(f) && !st)
		st = dg_error_errno("tensor '%s'", m->name);
	dg_meta_free(meta);
	b->owned = f != NULL;
	if (st)
		return dg_error_context(st, "tensor '%s'", m->name);
	return DG_OK;
}

/* The manifest as written: fixed keys first, then the caller's in their
 * order, then what the writer computed, then the member list. */
static int build_manifest(struct dg_checkpoint *ck, const struct blob *blobs,
			  time_t created, struct dg_meta **out)
{
	struct dg_meta *m = dg_meta_new();
	const char *family = dg_meta_get(ck->meta, "family");
	char when[32], fp[17];
	struct tm tm;
	int st;

	*out = NULL;
	if (!m)
		return DG_ENOMEM;
	if (!family || !*family) {
		dg_meta_free(m);
		return dg_error(DG_EUSAGE, "checkpoint has no model family");
	}
	gmtime_r(&created, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	st = dg_meta_set(m, "format", "dg-checkpoint");
	if (!st)
		st = dg_meta_setf(m, "format_version", "%d", DG_CHECKPOINT_VERSION);
	if (!st)
		st = dg_meta_set(m, "family", family);
	for (size_t i = 0; !st && i < dg_meta_count(ck->meta); i++) {
		const char *k = dg_meta_key(ck->meta, i);
		if (!dg__ck_reserved_key(k) && strcmp(k, "family") != 0)
			st = dg_meta_set(m, k, dg_meta_value(ck->meta, i));
	}
	if (!st)
		st = dg_meta_set(m, "created", when);
	if (!st)
		st = dg_meta_set(m, "tool_version", DG_VERSION);
	if (!st)
		st = dg_meta_set(m, "fingerprint", dg_checkpoint_fingerprint_hex(ck, fp));
	if (!st)
		st = dg_meta_setf(m, "members", "%zu", ck->n);
	for (size_t i = 0; !st && i < ck->n; i++) {
		const struct dg_array *a = ck->m[i].tensor;
		char shape[256], key[32];
		snprintf(key, sizeof key, "member.%zu", i);
		if (a)
			dg_shape_format(shape, sizeof shape, a->rank, a->dims);
		st = dg_meta_setf(m, key, "%s %s %s %08lx %zu", blobs[i].path,
				  a ? dg_dtype_name(a->dtype) : "bytes", a ? shape : "-",
				  (unsigned long)crc32_z(0, (const unsigned char *)blobs[i].data,
							 blobs[i].len),
				  blobs[i].len);
	}
	if (st) {
		dg_meta_free(m);
		return st;
	}
	*out = m;
	return DG_OK;
}

/* The manifest's text, ending in "checksum=<CRC-32 of the lines before
 * it>", so that a damaged manifest is detected even in a plain tar. */
static int seal_manifest(struct dg_meta *manifest, char **text, size_t *len)
{
	char *t, *sealed, hex[9];
	size_t l;
	int st = dg_meta_format(manifest, &t, &l);

	if (st)
		return st;
	snprintf(hex, sizeof hex, "%08lx", (unsigned long)crc32_z(0, (unsigned char *)t, l));
	sealed = realloc(t, l + 32);
	if (!sealed) {
		free(t);
		return dg_error_nomem("the manifest", l + 32);
	}
	l += (size_t)snprintf(sealed + l, 32, "checksum=%s\n", hex);
	*text = sealed;
	*len = l;
	/* ck's manifest shows the checksum too, as a read one would. */
	return dg_meta_set(manifest, "checksum", hex);
}

static la_ssize_t to_file(struct archive *a, void *client, const void *buf, size_t len)
{
	FILE *f = client;

	if (fwrite(buf, 1, len, f) != len) {
		archive_set_error(a, errno ? errno : EIO, "%s", strerror(errno ? errno : EIO));
		return -1;
	}
	return (la_ssize_t)len;
}

static int add_entry(struct archive *ar, const char *path, const void *data,
		     size_t len, time_t mtime)
{
	struct archive_entry *e = archive_entry_new();
	const char *p = data;
	int st = DG_OK;

	if (!e)
		return dg_error_nomem("a tar header", 512);
	/* Only what the content determines: no owner names, ids or current
	 * times, so equal checkpoints are equal files. */
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, mtime, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(ar, e) != ARCHIVE_OK)
		st = dg_error(DG_EIO, "member '%s': %s", path, archive_error_string(ar));
	while (!st && len) {
		la_ssize_t n = archive_write_data(ar, p, len);
		if (n <= 0)
			st = dg_error(DG_EIO, "member '%s': %s", path,
				      archive_error_string(ar) ? archive_error_string(ar)
							       : "write failed");
		else {
			p += n;
			len -= (size_t)n;
		}
	}
	archive_entry_free(e);
	return st;
}

static int write_archive(FILE *f, int flags, const char *manifest, size_t mlen,
			 const struct blob *blobs, size_t n, time_t mtime)
{
	struct archive *ar = archive_write_new();
	int st = DG_OK;

	if (!ar)
		return dg_error_nomem("an archive writer", 0);
	if (archive_write_set_format_ustar(ar) != ARCHIVE_OK)
		st = DG_EINTERNAL;
	if (!st && !(flags & DG_CHECKPOINT_PLAIN)) {
		/* "!timestamp" keeps the time out of the gzip header. */
		if (archive_write_add_filter_gzip(ar) != ARCHIVE_OK ||
		    archive_write_set_filter_option(ar, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
		    archive_write_set_filter_option(ar, "gzip", "compression-level",
						    (flags & DG_CHECKPOINT_FAST) ? "1" : "6")
			    != ARCHIVE_OK)
			st = DG_EINTERNAL;
	}
	if (st) {
		dg_error(st, "setting up the archive writer: %s", archive_error_string(ar));
		archive_write_free(ar);
		return st;
	}
	/* No padding to 10 KiB blocks: tar needs only its 512-byte records,
	 * and a gzip'd file with trailing zeros is just longer. */
	if (archive_write_set_bytes_in_last_block(ar, 1) != ARCHIVE_OK ||
	    archive_write_open(ar, f, NULL, to_file, NULL) != ARCHIVE_OK)
		st = dg_error(DG_EIO, "%s", archive_error_string(ar));
	if (!st)
		st = add_entry(ar, "manifest", manifest, mlen, mtime);
	for (size_t i = 0; !st && i < n; i++)
		st = add_entry(ar, blobs[i].path, blobs[i].data, blobs[i].len, mtime);
	if (archive_write_close(ar) != ARCHIVE_OK && !st)
		st = dg_error(DG_EIO, "%s", archive_error_string(ar));
	archive_write_free(ar);
	return st;
}

/* Puts the optimizer state members after all others (keeping both groups'
 * order), in ck itself so the manifest lists what the archive holds: a
 * reader that needs only the model (sampling, decoding) stops before them,
 * sparing most of the reading and inflating.  Without memory for the
 * shuffle the order stays as it is, which is just slower to read. */
static void optim_last(struct dg_checkpoint *ck)
{
	struct ck_member *t;
	size_t k = 0;

	if (ck->n < 2 || !(t = malloc(ck->n * sizeof *t)))
		return;
	for (int optim = 0; optim < 2; optim++)
		for (size_t i = 0; i < ck->n; i++)
			if ((strncmp(ck->m[i].name, CK_OPTIM_PREFIX, strlen(CK_OPTIM_PREFIX)) == 0) ==
			    optim)
				t[k++] = ck->m[i];
	memcpy(ck->m, t, ck->n * sizeof *t);
	free(t);
}

/* Serializes ck into f (the whole body of dg_checkpoint_write). */
static int write_to(struct dg_checkpoint *ck, FILE *f, int flags)
{
	struct blob *blobs = calloc(ck->n ? ck->n : 1, sizeof *blobs);
	struct dg_meta *manifest = NULL;
	char *text = NULL;
	size_t tlen = 0;
	time_t created = 0;
	int st;

	if (!blobs)
		return dg_error_nomem("checkpoint members", ck->n * sizeof *blobs);
	optim_last(ck);
	st = creation_time(&created);
	for (size_t i = 0; !st && i < ck->n; i++) {
		const struct ck_member *m = &ck->m[i];
		snprintf(blobs[i].path, sizeof blobs[i].path, "%s%s", m->name,
			 m->tensor ? CK_TENSOR_SUFFIX : "");
		if (m->tensor) {
			st = serialize_tensor(m, &blobs[i]);
		} else {
			blobs[i].data = (char *)m->bytes;
			blobs[i].len = m->len;
		}
	}
	if (!st)
		st = build_manifest(ck, blobs, created, &manifest);
	if (!st)
		st = seal_manifest(manifest, &text, &tlen);
	if (!st)
		st = write_archive(f, flags, text, tlen, blobs, ck->n, created);
	if (!st) {
		/* ck now describes what was written. */
		dg_meta_free(ck->meta);
		ck->meta = manifest;
		manifest = NULL;
	}
	free(text);
	dg_meta_free(manifest);
	for (size_t i = 0; i < ck->n; i++)
		if (blobs[i].owned)
			free(blobs[i].data);
	free(blobs);
	return st;
}

int dg_checkpoint_write(struct dg_checkpoint *ck, const char *path, int flags)
{
	struct dg_atomic *a;
	int st = dg_atomic_open(path, &a);

	if (st)
		return st;
	st = write_to(ck, a->f, flags);
	if (st) {
		dg_error_context(st, "%s", path);
		dg_atomic_abort(a);
		return st;
	}
	return dg_atomic_commit(a);
}

int dg_checkpoint_write_mem(struct dg_checkpoint *ck, int flags, void **bytes,
			    size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	int st;

	*bytes = NULL;
	*len = 0;
	if (!f)
		return dg_error_errno("checkpoint in memory");
	st = write_to(ck, f, flags);
	if (fclose(f) != 0 && !st)
		st = dg_error_errno("checkpoint in memory");
	if (st) {
		free(buf);
		return st;
	}
	*bytes = buf;
	*len = n;
	return DG_OK;
}
