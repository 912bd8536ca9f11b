/* checkpoint_read.c — reads and validates a checkpoint: manifest first,
 * then every listed member exactly once, each checked against the
 * manifest (size, CRC-32, dtype, shape) within size limits.  Members are
 * only ever read into memory, never extracted to disk. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include "model/checkpoint_int.h"
#include "dg/error.h"
#include "dg/input.h"
#include "io/input_impl.h"
#include "io/stream_reader.h"

/* A member as the manifest announces it. */
struct expect {
	char *path;            /* the archive member name */
	int dtype;             /* 0 for a byte member */
	unsigned rank;
	uint64_t dims[DG_MAX_RANK];
	uint32_t crc;
	uint64_t size;
	int seen;
	int skipped;           /* not loaded (DG_CHECKPOINT_NO_OPTIM) */
	struct dg_array *tensor;
	unsigned char *bytes;  /* byte members, NUL-terminated */
};

struct rd {
	const char *src;       /* for messages */
	struct archive *ar;
	struct dg_meta *manifest;
	struct expect *ex;
	struct expect **sorted;  /* ex by path */
	size_t n;
	uint64_t max;          /* byte limit, all members together */
	int flags;             /* DG_CHECKPOINT_NO_OPTIM */
};

static int is_optim(const char *path)
{
	return strncmp(path, CK_OPTIM_PREFIX, strlen(CK_OPTIM_PREFIX)) == 0;
}

/* libarchive's message for the last error, quoted for one line (it may
 * quote a member name).  In a per-thread buffer, valid until the next
 * call. */
static const char *ar_msg(struct archive *ar)
{
	static _Thread_local char buf[256];
	const char *m = archive_error_string(ar);
	return dg__ck_quote(m ? m : "read error", buf, sizeof buf);
}

/* member.<i>: "<path> <dtype|bytes> <shape|-> <crc32 hex> <size>". */
static int parse_member(struct rd *r, size_t i, const char *v)
{
	struct expect *e = &r->ex[i];
	const char *f[5];
	size_t fl[5], nf = 0, sl = strlen(CK_TENSOR_SUFFIX), plen;
	const char *p = v;
	uint64_t crc;

	while (nf < 5) {
		const char *sp = strchr(p, ' ');
		f[nf] = p;
		fl[nf] = sp ? (size_t)(sp - p) : strlen(p);
		nf++;
		if (!sp)
			break;
		p = sp + 1;
	}
	if (nf != 5 || strchr(f[4], ' '))
		return dg_error(DG_EDATA, "manifest member.%zu: expected 'name dtype shape "
				"crc size'", i);
	plen = fl[0];
	e->path = strndup(f[0], plen);
	if (!e->path)
		return dg_error_nomem("a member name", plen);
	if (fl[1] == 5 && memcmp(f[1], "bytes", 5) == 0) {
		e->dtype = 0;
		if (fl[2] != 1 || f[2][0] != '-')
			return dg_error(DG_EDATA, "manifest member.%zu: byte member with a "
					"shape", i);
		if (plen >= sl && memcmp(e->path + plen - sl, CK_TENSOR_SUFFIX, sl) == 0)
			return dg_error(DG_EDATA, "manifest member.%zu: '%s' is listed as "
					"bytes", i, e->path);
		if (dg__ck_check_name(e->path, plen))
			return dg_error_context(DG_EDATA, "manifest member.%zu", i);
	} else {
		char dt[16];
		uint64_t bytes;
		if (fl[1] >= sizeof dt)
			return dg_error(DG_EDATA, "manifest member.%zu: bad dtype", i);
		memcpy(dt, f[1], fl[1]);
		dt[fl[1]] = 0;
		e->dtype = dg_dtype_parse(dt);
		if (!e->dtype)
			return dg_error(DG_EDATA, "manifest member.%zu: unknown dtype '%s'", i, dt);
		if (plen <= sl || memcmp(e->path + plen - sl, CK_TENSOR_SUFFIX, sl) != 0)
			return dg_error(DG_EDATA, "manifest member.%zu: tensor '%s' does not "
					"end in %s", i, e->path, CK_TENSOR_SUFFIX);
		if (dg__ck_check_name(e->path, plen - sl))
			return dg_error_context(DG_EDATA, "manifest member.%zu", i);
		if (dg__ck_parse_shape(f[2], fl[2], &e->rank, e->dims) ||
		    dg_shape_count(e->rank, e->dims, e->dtype, NULL, &bytes))
			return dg_error(DG_EDATA, "manifest member.%zu: bad shape '%.*s'", i,
					(int)fl[2], f[2]);
	}
	if (fl[3] != 8 || strspn(f[3], "0123456789abcdef") < 8)
		return dg_error(DG_EDATA, "manifest member.%zu: bad CRC '%.*s'", i,
				(int)fl[3], f[3]);
	crc = strtoull(f[3], NULL, 16);
	e->crc = (uint32_t)crc;
	if (dg__ck_strict_u64(f[4], fl[4], &e->size))
		return dg_error(DG_EDATA, "manifest member.%zu: bad size '%s'", i, f[4]);
	return DG_OK;
}

static int by_path(const void *a, const void *b)
{
	const struct expect *const *x = a, *const *y = b;
	return strcmp((*x)->path, (*y)->path);
}

/* The expected members sorted by path, for lookups in O(log n): a
 * hostile manifest may list 100000 members. */
static int index_members(struct rd *r)
{
	r->sorted = malloc((r->n ? r->n : 1) * sizeof *r->sorted);
	if (!r->sorted)
		return dg_error_nomem("the member index", r->n * sizeof *r->sorted);
	for (size_t i = 0; i < r->n; i++)
		r->sorted[i] = &r->ex[i];
	qsort(r->sorted, r->n, sizeof *r->sorted, by_path);
	for (size_t i = 1; i < r->n; i++)
		if (strcmp(r->sorted[i - 1]->path, r->sorted[i]->path) == 0)
			return dg_error(DG_EDATA, "manifest lists member '%s' twice",
					r->sorted[i]->path);
	return DG_OK;
}

static struct expect *find_member(const struct rd *r, const char *path)
{
	struct expect key = {.path = (char *)path}, *pk = &key, **hit;

	hit = bsearch(&pk, r->sorted, r->n, sizeof *r->sorted, by_path);
	return hit ? *hit : NULL;
}

static int check_manifest(struct rd *r)
{
	const struct dg_meta *m = r->manifest;
	const char *format = dg_meta_get(m, "format");
	const char *version = dg_meta_get(m, "format_version");
	const char *family = dg_meta_get(m, "family");
	const char *members = dg_meta_get(m, "members");
	uint64_t ver, n, listed = 0, total = 0;

	if (!format || strcmp(format, "dg-checkpoint") != 0)
		return dg_error(DG_EDATA, "not a dg checkpoint (manifest format is '%s')",
				format ? format : "missing");
	if (!version || dg__ck_strict_u64(version, strlen(version), &ver) || ver == 0)
		return dg_error(DG_EDATA, "manifest: bad format_version '%s'",
				version ? version : "missing");
	if (ver > DG_CHECKPOINT_VERSION)
		return dg_error(DG_EDATA, "checkpoint format %s is newer than this dg (%d); "
				"upgrade dg", version, DG_CHECKPOINT_VERSION);
	if (!family || !*family ||
	    strspn(family, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789_.-") != strlen(family))
		return dg_error(DG_EDATA, "manifest: bad or missing family");
	if (!members || dg__ck_strict_u64(members, strlen(members), &n) ||
	    n > DG_CHECKPOINT_MAX_MEMBERS)
		return dg_error(DG_EDATA, "manifest: bad member count '%s' (at most %d)",
				members ? members : "missing", DG_CHECKPOINT_MAX_MEMBERS);
	for (size_t i = 0; i < dg_meta_count(m); i++)
		if (strncmp(dg_meta_key(m, i), "member.", 7) == 0)
			listed++;
	if (listed != n)
		return dg_error(DG_EDATA, "manifest: members=%s but %llu member lines",
				members, (unsigned long long)listed);
	r->ex = calloc(n ? n : 1, sizeof *r->ex);
	if (!r->ex)
		return dg_error_nomem("the member list", n * sizeof *r->ex);
	r->n = n;
	/* One pass over the keys (not a lookup per member, which would be
	 * quadratic): member.<i> with i < n in strict decimal.  Keys are
	 * unique, so n of them fill every slot once. */
	for (size_t k = 0; k < dg_meta_count(m); k++) {
		const char *key = dg_meta_key(m, k);
		uint64_t i;
		int st;
		if (strncmp(key, "member.", 7) != 0)
			continue;
		if (dg__ck_strict_u64(key + 7, strlen(key + 7), &i) || i >= n)
			return dg_error(DG_EDATA, "manifest: unexpected key '%s' (members=%s)",
					key, members);
		if ((st = parse_member(r, (size_t)i, dg_meta_value(m, k))))
			return st;
		if (r->ex[i].size > r->max - total)
			return dg_error(DG_EDATA, "member '%s': %llu bytes exceed the limit "
					"of %llu for the checkpoint (DG_CHECKPOINT_MAX_BYTES)",
					r->ex[i].path, (unsigned long long)r->ex[i].size,
					(unsigned long long)r->max);
		total += r->ex[i].size;
	}
	return index_members(r);
}

/* Reads the current entry's data, exactly size bytes.  The buffer grows
 * with the data actually present, never with what a header claims. */
static int read_data(struct rd *r, const char *path, uint64_t size, unsigned char **out)
{
	/* Sized from the (checked) header in one go up to 64 MiB, so common
	 * members are read without reallocation; beyond that the buffer grows
	 * with the data actually read, so a header claiming gigabytes over a
	 * short file costs nothing. */
	size_t cap = size < (64u << 20) ? (size_t)size + 1 : (64u << 20), got = 0;
	unsigned char *buf = malloc(cap);

	*out = NULL;
	if (!buf)
		return dg_error_nomem(path, cap);
	for (;;) {
		la_ssize_t k;
		if (got == cap - 1 && got < size) {
			size_t ncap = (size - got > cap) ? 2 * cap : (size_t)size + 1;
			unsigned char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				return dg_error_nomem(path, ncap);
			}
			buf = nb;
			cap = ncap;
		}
		k = archive_read_data(r->ar, buf + got, cap - 1 - got);
		if (k < 0) {
			free(buf);
			return dg_error(DG_EDATA, "member '%s': %s", path,
					ar_msg(r->ar));
		}
		if (k == 0)
			break;
		got += (size_t)k;
		if (got > size) {
			free(buf);
			return dg_error(DG_EDATA, "member '%s': more data than its header says",
					path);
		}
	}
	if (got != size) {
		free(buf);
		return dg_error(DG_EDATA, "member '%s': truncated (%zu of %llu bytes)", path,
				got, (unsigned long long)size);
	}
	buf[got] = 0;
	*out = buf;
	return DG_OK;
}

/* Checks a parsed record against the manifest's dtype and shape. */
static int check_tensor(const struct expect *e, const struct dg_array *a)
{
	char got[256], want[256];

	if ((int)a->dtype != e->dtype)
		return dg_error(DG_EDATA, "member '%s': dtype %s, manifest says %s",
				e->path, dg_dtype_name(a->dtype), dg_dtype_name(e->dtype));
	if (a->rank == e->rank && memcmp(a->dims, e->dims, e->rank * sizeof *e->dims) == 0)
		return DG_OK;
	dg_shape_format(got, sizeof got, a->rank, a->dims);
	dg_shape_format(want, sizeof want, e->rank, e->dims);
	return dg_error(DG_EDATA, "member '%s': shape %s, manifest says %s", e->path,
			got, want);
}

/* A tensor member is parsed straight from libarchive through a stdio
 * cookie, so its payload lands once, in the tensor, instead of being
 * copied through a whole-member buffer: loading a model faults half as
 * many fresh pages.  The cookie counts the bytes and runs the member's
 * CRC on the way. */
struct member_src {
	struct archive *ar;
	uint64_t left;          /* bytes the header announces, not yet read */
	uint32_t crc;
	int failed;             /* libarchive reported an error */
};

static ssize_t member_read(void *cookie, char *buf, size_t size)
{
	struct member_src *m = cookie;
	la_ssize_t k;

	if (m->failed || !m->left)
		return 0;
	if (size > m->left)
		size = (size_t)m->left;
	k = archive_read_data(m->ar, buf, size);
	if (k < 0) {
		m->failed = 1;
		errno = EIO;
		return -1;
	}
	m->crc = (uint32_t)crc32_z(m->crc, (const unsigned char *)buf, (size_t)k);
	m->left -= (uint64_t)k;
	return k;
}

/* Reads what the parser left of the member, for its CRC. */
static void member_drain(struct member_src *m)
{
	char scratch[16384];
	while (member_read(m, scratch, sizeof scratch) > 0)
		;
}

/* One stream record -> a tensor matching the manifest.  The stream
 * reader's messages name the member (it is the stream's name); a member
 * whose bytes disagree with the manifest's CRC is reported as such
 * whatever the parser made of them. */
static int read_tensor(struct rd *r, struct expect *e)
{
	static const cookie_io_functions_t io = {.read = member_read};
	struct member_src m = {.ar = r->ar, .left = e->size};
	struct dg_array *a = NULL, *extra = NULL;
	struct dg_reader *rd;
	FILE *f;
	int st;

	if (e->size == 0)
		return dg_error(DG_EDATA, "member '%s' is empty", e->path);
	if (!(f = fopencookie(&m, "rb", io)))
		return dg_error_errno("member '%s'", e->path);
	rd = dg_reader_file(f, e->path);
	if (!rd) {
		fclose(f);
		return DG_ENOMEM;
	}
	dg_reader_set_max_payload(rd, e->size);
	/* the member's CRC, run by member_read, covers the whole record */
	dg__reader_crc_by_container(rd);
	st = dg_read_array(rd, &a);
	if (!st && !a)
		st = dg_error(DG_EDATA, "member '%s' holds no record", e->path);
	if (!st)
		st = check_tensor(e, a);
	if (!st)
		st = dg_read_array(rd, &extra);
	if (!st && extra)
		st = dg_error(DG_EDATA, "member '%s' holds more than one record", e->path);
	dg_array_free(extra);
	dg_reader_close(rd);
	fclose(f);
	member_drain(&m);
	if (m.failed)
		st = dg_error(DG_EDATA, "member '%s': %s", e->path, ar_msg(r->ar));
	else if (m.left)
		st = dg_error(DG_EDATA, "member '%s': truncated (%llu of %llu bytes)", e->path,
			      (unsigned long long)(e->size - m.left),
			      (unsigned long long)e->size);
	else if (m.crc != e->crc)
		st = dg_error(DG_EDATA, "member '%s': CRC %08lx, manifest says %08lx", e->path,
			      (unsigned long)m.crc, (unsigned long)e->crc);
	if (st) {
		dg_array_free(a);
		return st;
	}
	e->tensor = a;
	return DG_OK;
}

static int read_member(struct rd *r, struct archive_entry *ent)
{
	const char *path = archive_entry_pathname(ent);
	struct expect *e = NULL;
	char q[160];
	unsigned char *buf;
	uint32_t crc;
	int st;

	if (!path)
		return dg_error(DG_EDATA, "a member without a name");
	if (archive_entry_filetype(ent) != AE_IFREG)
		return dg_error(DG_EDATA, "member '%s' is not a regular file",
				dg__ck_quote(path, q, sizeof q));
	e = find_member(r, path);
	if (!e)
		return dg_error(DG_EDATA, "unexpected member '%s' (not in the manifest)",
				dg__ck_quote(path, q, sizeof q));
	if (e->seen)
		return dg_error(DG_EDATA, "member '%s' repeated", path);
	e->seen = 1;
	if (!archive_entry_size_is_set(ent) || archive_entry_size(ent) < 0 ||
	    (uint64_t)archive_entry_size(ent) != e->size)
		return dg_error(DG_EDATA, "member '%s': %lld bytes, manifest says %llu", path,
				(long long)archive_entry_size(ent), (unsigned long long)e->size);
	if ((r->flags & DG_CHECKPOINT_NO_OPTIM) && is_optim(path)) {
		/* Present and of the right size; its bytes are not even read
		 * where the source can seek. */
		e->skipped = 1;
		if (archive_read_data_skip(r->ar) != ARCHIVE_OK)
			return dg_error(DG_EDATA, "member '%s': %s", path,
					ar_msg(r->ar));
		return DG_OK;
	}
	if (e->dtype)
		return read_tensor(r, e);
	if ((st = read_data(r, e->path, e->size, &buf)))
		return st;
	crc = (uint32_t)crc32_z(0, buf, (size_t)e->size);
	if (crc != e->crc) {
		free(buf);
		return dg_error(DG_EDATA, "member '%s': CRC %08lx, manifest says %08lx",
				path, (unsigned long)crc, (unsigned long)e->crc);
	}
	e->bytes = buf;
	return DG_OK;
}

/* A bound on the lines, before parsing: the metadata parser checks each
 * key against those before it. */
static int check_lines(const char *text, size_t len)
{
	size_t lines = 0;

	for (const char *p = text; (p = memchr(p, '\n', len - (size_t)(p - text))); p++)
		if (++lines > DG_CHECKPOINT_MAX_LINES)
			return dg_error(DG_EDATA, "member 'manifest': more than %d lines",
					DG_CHECKPOINT_MAX_LINES);
	return DG_OK;
}

/* The last line must be "checksum=<8 hex>", the CRC-32 of the text
 * before it; its newline, as every line's at the end of metadata
 * (dg-stream(5)), may be missing. */
static int check_seal(const char *text, size_t len)
{
	size_t start, end = len && text[len - 1] == '\n' ? len - 1 : len;
	unsigned long want;

	if (end < 17)
		return dg_error(DG_EDATA, "member 'manifest': no checksum line");
	start = end - 17;
	if ((start > 0 && text[start - 1] != '\n') || memcmp(text + start, "checksum=", 9) != 0 ||
	    strspn(text + start + 9, "0123456789abcdef") != 8)
		return dg_error(DG_EDATA, "member 'manifest': no checksum line at its end");
	want = strtoul(text + start + 9, NULL, 16);
	if (crc32_z(0, (const unsigned char *)text, start) != want)
		return dg_error(DG_EDATA, "member 'manifest': checksum mismatch (damaged)");
	return DG_OK;
}

static int read_manifest(struct rd *r)
{
	struct archive_entry *ent;
	unsigned char *text;
	int ret = archive_read_next_header(r->ar, &ent), st;

	if (ret == ARCHIVE_EOF)
		return dg_error(DG_EDATA, "not a dg checkpoint (empty archive)");
	if (ret != ARCHIVE_OK)
		return dg_error(DG_EDATA, "not a dg checkpoint (%s)",
				ar_msg(r->ar));
	if (!archive_entry_pathname(ent) || strcmp(archive_entry_pathname(ent), "manifest") != 0)
		return dg_error(DG_EDATA, "not a dg checkpoint (first member is not "
				"'manifest')");
	if (archive_entry_filetype(ent) != AE_IFREG || !archive_entry_size_is_set(ent) ||
	    archive_entry_size(ent) < 0 ||
	    archive_entry_size(ent) > (la_int64_t)DG_CHECKPOINT_MAX_MANIFEST)
		return dg_error(DG_EDATA, "member 'manifest': not a file of at most %u bytes",
				DG_CHECKPOINT_MAX_MANIFEST);
	if ((st = read_data(r, "manifest", (uint64_t)archive_entry_size(ent), &text)))
		return st;
	if ((st = check_lines((const char *)text, (size_t)archive_entry_size(ent))) ||
	    (st = check_seal((const char *)text, (size_t)archive_entry_size(ent)))) {
		free(text);
		return st;
	}
	r->manifest = dg_meta_new();
	st = r->manifest ? dg_meta_parse(r->manifest, (const char *)text,
					 (size_t)archive_entry_size(ent))
			 : DG_ENOMEM;
	free(text);
	if (st)
		return dg_error_context(st, "member 'manifest'");
	return check_manifest(r);
}

/* Everything after opening: manifest, members, completeness, fingerprint. */
static int read_archive(struct rd *r, struct dg_checkpoint **out)
{
	struct archive_entry *ent;
	struct dg_checkpoint *ck;
	char fp[17];
	const char *want, *last;
	char after[DG_CHECKPOINT_MAX_NAME + 32] = "manifest";
	int ret = ARCHIVE_EOF, st;

	if ((st = read_manifest(r)))
		return st;
	/* Without the optimizer state, reading ends once every other member
	 * is in: dg writes optim/ members last, so the rest of the file (most
	 * of it, after training with Adam) is neither read nor inflated. */
	int no_optim = (r->flags & DG_CHECKPOINT_NO_OPTIM) != 0;
	size_t wanted = 0;
	for (size_t i = 0; i < r->n; i++)
		wanted += !(no_optim && is_optim(r->ex[i].path));
	while ((!no_optim || wanted) &&
	       (ret = archive_read_next_header(r->ar, &ent)) == ARCHIVE_OK) {
		if ((st = read_member(r, ent)))
			return st;
		last = archive_entry_pathname(ent);
		snprintf(after, sizeof after, "%s", last ? last : "?");
		wanted -= !(no_optim && last && is_optim(last));
	}
	if ((!no_optim || wanted) && ret != ARCHIVE_EOF)
		return dg_error(DG_EDATA, "after member '%s': %s", after,
				ar_msg(r->ar));
	for (size_t i = 0; i < r->n; i++) {
		if (no_optim && is_optim(r->ex[i].path))
			r->ex[i].skipped = 1;
		else if (!r->ex[i].seen)
			return dg_error(DG_EDATA, "member '%s' missing", r->ex[i].path);
	}

	ck = dg_checkpoint_new(NULL);
	if (!ck)
		return DG_ENOMEM;
	dg_meta_free(ck->meta);
	ck->meta = r->manifest;
	r->manifest = NULL;
	for (size_t i = 0; i < r->n; i++) {
		struct expect *e = &r->ex[i];
		if (e->skipped)
			continue;
		if (e->dtype)
			e->path[strlen(e->path) - strlen(CK_TENSOR_SUFFIX)] = 0;
		st = dg__ck_put_at(ck, -1, e->path, e->tensor, e->bytes, e->bytes ? e->size : 0);
		e->tensor = NULL;
		e->bytes = NULL;
		if (st) {
			dg_checkpoint_free(ck);
			return st;
		}
	}
	want = dg_meta_get(ck->meta, "fingerprint");
	dg_checkpoint_fingerprint_hex(ck, fp);
	if (!want || strcmp(want, fp) != 0) {
		st = dg_error(DG_EDATA, "parameters do not match the manifest's "
			      "fingerprint (%s, computed %s)", want ? want : "missing", fp);
		dg_checkpoint_free(ck);
		return st;
	}
	*out = ck;
	return DG_OK;
}

static struct archive *reader_new(void)
{
	struct archive *ar = archive_read_new();

	/* Only what dg writes: tar, plain or gzip'd.  Fewer decoders, less
	 * to attack. */
	if (ar && (archive_read_support_filter_gzip(ar) != ARCHIVE_OK ||
		   archive_read_support_format_tar(ar) != ARCHIVE_OK)) {
		archive_read_free(ar);
		ar = NULL;
	}
	if (!ar)
		dg_error(DG_ENOMEM, "cannot create an archive reader");
	return ar;
}

static void rd_release(struct rd *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->ex[i].path);
		dg_array_free(r->ex[i].tensor);
		free(r->ex[i].bytes);
	}
	free(r->ex);
	free(r->sorted);
	dg_meta_free(r->manifest);
	if (r->ar)
		archive_read_free(r->ar);
}

/* Opens with open_fn, reads, names src in the message on failure. */
static int read_common(struct rd *r, struct dg_checkpoint **out)
{
	int st = read_archive(r, out);

	if (!st) {
		char *s = strdup(r->src);
		if (!s) {
			dg_checkpoint_free(*out);
			*out = NULL;
			st = dg_error_nomem("a file name", strlen(r->src));
		} else {
			free((*out)->source);
			(*out)->source = s;
		}
	}
	if (st)
		dg_error_context(st, "%s", r->src);
	rd_release(r);
	return st;
}

int dg_checkpoint_read(const char *path, struct dg_checkpoint **out)
{
	return dg_checkpoint_read_flags(path, 0, out);
}

int dg_checkpoint_read_flags(const char *path, int flags, struct dg_checkpoint **out)
{
	struct dg_input *in;
	int st;

	*out = NULL;
	if ((st = dg_input_open(path, &in)))
		return st;
	st = dg_checkpoint_read_input(in, flags, out);
	dg_input_close(in);
	return st;
}

int dg_checkpoint_read_input(struct dg_input *in, int flags, struct dg_checkpoint **out)
{
	struct rd r = {.src = dg_input_name(in), .flags = flags};
	int st;

	*out = NULL;
	if ((st = dg__ck_max_bytes(&r.max)))
		return st;
	r.ar = reader_new();
	if (!r.ar)
		return DG_ENOMEM;
	if (dg__archive_open_input(r.ar, in) != ARCHIVE_OK) {
		st = dg_error(DG_EDATA, "%s: not a dg checkpoint (%s)", r.src, ar_msg(r.ar));
		rd_release(&r);
		return st;
	}
	return read_common(&r, out);
}

int dg_checkpoint_read_mem(const void *bytes, size_t len, const char *name,
			   struct dg_checkpoint **out)
{
	struct rd r = {.src = name ? name : "checkpoint"};
	int st;

	*out = NULL;
	if ((st = dg__ck_max_bytes(&r.max)))
		return st;
	r.ar = reader_new();
	if (!r.ar)
		return DG_ENOMEM;
	if (archive_read_open_memory(r.ar, bytes, len) != ARCHIVE_OK) {
		st = dg_error(DG_EDATA, "%s: not a dg checkpoint (%s)", r.src, ar_msg(r.ar));
		rd_release(&r);
		return st;
	}
	return read_common(&r, out);
}

int dg_checkpoint_sniff(const void *bytes, size_t len)
{
	const unsigned char *b = bytes;
	unsigned char head[512];
	size_t got;

	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
		z_stream z;
		memset(&z, 0, sizeof z);
		if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
			return 0;
		z.next_in = (unsigned char *)b;
		z.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
		z.next_out = head;
		z.avail_out = sizeof head;
		inflate(&z, Z_SYNC_FLUSH);
		got = sizeof head - z.avail_out;
		inflateEnd(&z);
	} else {
		got = len < sizeof head ? len : sizeof head;
		memcpy(head, b, got);
	}
	return got >= 263 && memcmp(head, "manifest", 9) == 0 &&
	       memcmp(head + 257, "ustar", 5) == 0;
}
