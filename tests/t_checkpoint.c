/* t_checkpoint.c — checkpoints (.dgm): exact round trips, reproducible
 * bytes, the fingerprint against an independent reference, atomic
 * replacement, and every kind of hostile file (each must fail with a
 * one-line message, never crash).  With --make-data DIR it writes the
 * fixtures of tests/data/checkpoint/ instead. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include "tap.h"
#include "io/atomic.h"
#include "dg.h"

/* ---- building test checkpoints --------------------------------------- */

static struct dg_array *filled(int dtype, unsigned rank, const uint64_t *dims,
			       unsigned seed)
{
	struct dg_array *a = dg_array_new(dtype, rank, dims);
	unsigned char *p = a->data;
	uint32_t x = seed * 2654435761u + 1;

	/* Arbitrary bit patterns (NaNs, denormals, -0 included): a round
	 * trip must keep every bit, not just the values. */
	for (size_t i = 0; i < dg_array_bytes(a); i++) {
		x = x * 1664525u + 1013904223u;
		p[i] = (unsigned char)(x >> 24);
	}
	return a;
}

static const char log_csv[] = "epoch,step,loss\n1,469,251.5\n2,938,240.25\n";

/* A small but varied checkpoint; reversed adds the members backwards. */
static struct dg_checkpoint *make_ck(int reversed)
{
	struct dg_checkpoint *ck = dg_checkpoint_new("vae");
	struct dg_meta *m = dg_checkpoint_meta(ck);
	static const uint64_t d_w[] = {4, 7}, d_b[] = {4}, d_h[] = {3, 5},
		d_e[] = {2, 3, 2}, d_u[] = {10}, d_z[] = {2, 0};
	struct {
		const char *name;
		int dtype;
		unsigned rank;
		const uint64_t *dims;
	} t[] = {
		{"params/enc.fc1.weight", DG_F32, 2, d_w},
		{"params/enc.fc1.bias", DG_F32, 1, d_b},
		{"params/dec.w", DG_F16, 2, d_h},
		{"params/emb", DG_U8, 1, d_u},
		{"params/empty", DG_I8, 2, d_z},
		{"optim/adam.m/enc.fc1.weight", DG_F64, 2, d_w},
		{"optim/step", DG_I64, 0, NULL},
		{"ema/enc.fc1.weight", DG_BF16, 3, d_e},
		{"optim/count", DG_I32, 1, d_b},
	};
	size_t n = sizeof t / sizeof *t;

	dg_meta_set(m, "plugin_abi", "1");
	dg_meta_set(m, "hparam.latent", "20");
	dg_meta_set(m, "hparam.arch", "mlp");
	dg_meta_set(m, "data_shape", "1x28x28");
	dg_meta_set(m, "step", "938");
	dg_meta_set(m, "epoch", "2");
	dg_meta_set(m, "rng", "42:0:77");
	for (size_t k = 0; k < n; k++) {
		size_t i = reversed ? n - 1 - k : k;
		struct dg_array *a = filled(t[i].dtype, t[i].rank, t[i].dims, (unsigned)i + 1);
		dg_meta_set(a->meta, "note", "kept");
		dg_checkpoint_add_tensor(ck, t[i].name, a);
		dg_array_free(a);
	}
	dg_checkpoint_add_bytes(ck, "log.csv", log_csv, strlen(log_csv));
	dg_checkpoint_add_bytes(ck, "notes/empty", "", 0);
	return ck;
}

/* Whether b holds the same members, bit for bit, as a. */
static int same_content(const struct dg_checkpoint *a, const struct dg_checkpoint *b)
{
	if (dg_checkpoint_count(a) != dg_checkpoint_count(b))
		return 0;
	for (size_t i = 0; i < dg_checkpoint_count(a); i++) {
		const char *name = dg_checkpoint_name_at(a, i);
		const struct dg_array *x = dg_checkpoint_tensor_at(a, i), *y;
		size_t la, lb;
		const void *ba, *bb;
		if (strcmp(name, dg_checkpoint_name_at(b, i)) != 0)
			return 0;
		if (!x) {
			ba = dg_checkpoint_bytes_at(a, i, &la);
			bb = dg_checkpoint_bytes_at(b, i, &lb);
			if (!bb || la != lb || memcmp(ba, bb, la) != 0)
				return 0;
			continue;
		}
		y = dg_checkpoint_tensor_at(b, i);
		if (!y || x->dtype != y->dtype || x->rank != y->rank ||
		    memcmp(x->dims, y->dims, sizeof x->dims) != 0 ||
		    memcmp(x->data, y->data, dg_array_bytes(x)) != 0)
			return 0;
	}
	return 1;
}

static int one_line(const char *msg)
{
	return *msg && !strchr(msg, '\n');
}

/* ---- an independent fingerprint, straight from dg-checkpoint(5) ------ */

static uint64_t ref_fingerprint(const struct dg_checkpoint *ck)
{
	unsigned char *s = NULL;
	size_t len = 0, cap = 0;
	const char *names[64];
	size_t n = 0;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < dg_checkpoint_count(ck); i++)
		if (dg_checkpoint_tensor_at(ck, i) &&
		    strncmp(dg_checkpoint_name_at(ck, i), "params/", 7) == 0)
			names[n++] = dg_checkpoint_name_at(ck, i);
	for (size_t i = 1; i < n; i++)          /* insertion sort by name */
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		const struct dg_array *a = dg_checkpoint_tensor(ck, names[i]);
		size_t need = strlen(names[i]) + 1 + 2 + 8 * a->rank + dg_array_bytes(a);
		if (len + need > cap) {
			cap = 2 * (len + need);
			s = realloc(s, cap);
		}
		memcpy(s + len, names[i], strlen(names[i]) + 1);
		len += strlen(names[i]) + 1;
		s[len++] = (unsigned char)a->dtype;
		s[len++] = (unsigned char)a->rank;
		for (unsigned d = 0; d < a->rank; d++)
			for (int b = 0; b < 8; b++)
				s[len++] = (unsigned char)(a->dims[d] >> (8 * b));
		memcpy(s + len, a->data, dg_array_bytes(a));   /* little-endian host */
		len += dg_array_bytes(a);
	}
	for (size_t at = 0; at < len; at += 8) {
		uint64_t w = 0;
		for (size_t b = 0; b < 8 && at + b < len; b++)
			w |= (uint64_t)s[at + b] << (8 * b);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	free(s);
	h ^= len;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

/* ---- taking archives apart and putting them together again ----------- */

#define MAXENT 64

struct ent {
	char name[256];
	unsigned char *data;
	size_t len;
	int type;            /* AE_IFREG, AE_IFDIR, ... */
	int64_t size;        /* declared size (may lie); -1 = len */
};

static size_t unpack(const void *buf, size_t len, struct ent *e)
{
	struct archive *ar = archive_read_new();
	struct archive_entry *ae;
	size_t n = 0;

	archive_read_support_filter_gzip(ar);
	archive_read_support_format_tar(ar);
	archive_read_open_memory(ar, buf, len);
	while (n < MAXENT && archive_read_next_header(ar, &ae) == ARCHIVE_OK) {
		struct ent *x = &e[n++];
		snprintf(x->name, sizeof x->name, "%s", archive_entry_pathname(ae));
		x->len = (size_t)archive_entry_size(ae);
		x->data = malloc(x->len + 1);
		x->type = AE_IFREG;
		x->size = -1;
		if (archive_read_data(ar, x->data, x->len) != (la_ssize_t)x->len)
			diag("short member %s", x->name);
		x->data[x->len] = 0;
	}
	archive_read_free(ar);
	return n;
}

static void free_ents(struct ent *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].data);
}

static la_ssize_t to_mem(struct archive *a, void *client, const void *buf, size_t len)
{
	FILE *f = client;
	(void)a;
	return (la_ssize_t)fwrite(buf, 1, len, f);
}

/* Compresses buf into a new gzip buffer (replacing *buf). */
static void gzip_buf(char **buf, size_t *len)
{
	z_stream z;
	size_t cap = *len + *len / 100 + 1024;
	unsigned char *out = malloc(cap);

	memset(&z, 0, sizeof z);
	deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (unsigned char *)*buf;
	z.avail_in = (uInt)*len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	free(*buf);
	*buf = (char *)out;
	*len = cap - z.avail_out;
	deflateEnd(&z);
}

/* Rewrites the size field of every ustar header in a plain tar whose
 * entry has a declared size (e[i].size >= 0) other than its data, and
 * fixes the header checksum: a lying archive, without writing the
 * gigabytes it claims. */
static void lie_sizes(const struct ent *e, size_t n, unsigned char *t, size_t len)
{
	size_t off = 0;

	for (size_t i = 0; i < n && off + 512 <= len; i++) {
		size_t real = e[i].type == AE_IFREG ? e[i].len : 0;
		if (e[i].size >= 0) {
			unsigned sum = 0;
			snprintf((char *)t + off + 124, 12, "%011llo",
				 (unsigned long long)e[i].size & 077777777777ull);
			memset(t + off + 148, ' ', 8);
			for (int k = 0; k < 512; k++)
				sum += t[off + k];
			snprintf((char *)t + off + 148, 8, "%06o", sum);
		}
		off += 512 + (real + 511) / 512 * 512;
	}
}

/* A ustar archive of the entries (gzip'd if gz); declared sizes that
 * differ from the data are patched in afterwards. */
static void pack(const struct ent *e, size_t n, int gz, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	struct archive *ar = archive_write_new();

	archive_write_set_format_ustar(ar);
	archive_write_set_bytes_in_last_block(ar, 1);
	archive_write_open(ar, f, NULL, to_mem, NULL);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_filetype(ae, (unsigned)e[i].type);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, e[i].type == AE_IFREG ? (int64_t)e[i].len : 0);
		archive_write_header(ar, ae);
		if (e[i].type == AE_IFREG)
			archive_write_data(ar, e[i].data, e[i].len);
		archive_entry_free(ae);
	}
	archive_write_close(ar);
	archive_write_free(ar);
	fclose(f);
	lie_sizes(e, n, (unsigned char *)*buf, *len);
	if (gz)
		gzip_buf(buf, len);
}

static struct ent *find_ent(struct ent *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0)
			return &e[i];
	return NULL;
}

/* Replaces the manifest line "key=..." by "key=value" (value NULL
 * removes it; a missing key is appended). */
static void set_line(struct ent *m, const char *key, const char *value)
{
	char *text = (char *)m->data, *out = malloc(m->len + 512), *p = text;
	size_t klen = strlen(key), o = 0;
	int done = 0;

	while (*p) {
		char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) + 1 : strlen(p);
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			if (value)
				o += (size_t)sprintf(out + o, "%s=%s\n", key, value);
			done = 1;
		} else {
			memcpy(out + o, p, l);
			o += l;
		}
		p += l;
	}
	if (!done && value)
		o += (size_t)sprintf(out + o, "%s=%s\n", key, value);
	out[o] = 0;
	free(m->data);
	m->data = (unsigned char *)out;
	m->len = o;
}

/* The value of a manifest line, in a static buffer. */
static const char *get_line(const struct ent *m, const char *key)
{
	static char v[512];
	char pat[128];
	const char *p;

	snprintf(pat, sizeof pat, "\n%s=", key);
	p = strstr((const char *)m->data, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	snprintf(v, sizeof v, "%.*s", (int)strcspn(p, "\n"), p);
	return v;
}

/* Recomputes the manifest's last line, checksum=<CRC-32 of the rest>, so
 * that an edited manifest gets past the checksum to the check under test. */
static void reseal(struct ent *m)
{
	char *text = (char *)m->data, *last;
	char line[32];

	m->data[m->len] = 0;
	last = strstr(text, "checksum=");
	if (!last)
		return;
	*last = 0;
	m->len = (size_t)(last - text);
	snprintf(line, sizeof line, "checksum=%08lx\n",
		 (unsigned long)crc32(0, m->data, (uInt)m->len));
	m->data = realloc(m->data, m->len + strlen(line) + 1);
	strcpy((char *)m->data + m->len, line);
	m->len += strlen(line);
}

/* ---- hostile cases ---------------------------------------------------- */

static char *good;      /* a valid plain tar */
static int keep_seal;   /* leave the manifest's checksum line as it is */
static size_t good_len;

/* Reads a mutated copy of the good archive; it must fail with DG_EDATA
 * and a one-line message containing want. */
static void expect_bad(struct ent *e, size_t n, int gz, const char *want, const char *what)
{
	char *buf;
	size_t len;
	struct dg_checkpoint *ck = (struct dg_checkpoint *)1;
	int st;

	if (n && strcmp(e[0].name, "manifest") == 0 && !keep_seal)
		reseal(&e[0]);
	pack(e, n, gz, &buf, &len);
	st = dg_checkpoint_read_mem(buf, len, "bad.dgm", &ck);
	if (!is_int(st, DG_EDATA, "%s refused", what))
		dg_checkpoint_free(ck);
	ok(ck == NULL, "%s: no checkpoint returned", what);
	ok(one_line(dg_errmsg()) && strstr(dg_errmsg(), want) &&
	   strncmp(dg_errmsg(), "bad.dgm: ", 9) == 0,
	   "%s: message '%s'", what, dg_errmsg());
	free(buf);
}

static size_t fresh(struct ent *e)
{
	return unpack(good, good_len, e);
}

static void hostile(void)
{
	struct ent e[MAXENT];
	size_t n;
	char v[512];
	const char *w;

	n = fresh(e);
	set_line(&e[0], "format_version", "2");
	expect_bad(e, n, 1, "checkpoint format 2 is newer than this dg (1); upgrade dg",
		   "newer format version");
	free_ents(e, n);

	n = fresh(e);
	set_line(&e[0], "hparam.latent", "21");
	keep_seal = 1;
	expect_bad(e, n, 0, "member 'manifest': checksum mismatch", "edited manifest");
	keep_seal = 0;
	free_ents(e, n);

	n = fresh(e);
	set_line(&e[0], "checksum", NULL);
	keep_seal = 1;
	expect_bad(e, n, 0, "member 'manifest': no checksum line", "manifest without checksum");
	keep_seal = 0;
	free_ents(e, n);

	n = fresh(e);
	set_line(&e[0], "format", "something-else");
	expect_bad(e, n, 0, "not a dg checkpoint", "foreign format");
	free_ents(e, n);

	n = fresh(e);
	set_line(&e[0], "format_version", "x1");
	expect_bad(e, n, 0, "format_version", "malformed format version");
	free_ents(e, n);

	n = fresh(e);   /* drop params/enc.fc1.bias.dgt */
	{
		struct ent *x = find_ent(e, n, "params/enc.fc1.bias.dgt");
		free(x->data);
		memmove(x, x + 1, (size_t)(e + n - x - 1) * sizeof *x);
		n--;
	}
	expect_bad(e, n, 1, "member 'params/enc.fc1.bias.dgt' missing", "missing member");
	free_ents(e, n);

	n = fresh(e);
	snprintf(e[n].name, sizeof e[n].name, "evil/../../etc/passwd");
	e[n].data = (unsigned char *)strdup("root::0:0\n");
	e[n].len = 10;
	e[n].type = AE_IFREG;
	e[n].size = -1;
	n++;
	expect_bad(e, n, 1, "unexpected member 'evil/../../etc/passwd'", "extra member");
	free_ents(e, n);

	n = fresh(e);   /* a name with a newline must not break the message */
	snprintf(e[n].name, sizeof e[n].name, "log\nforged: line");
	e[n].data = (unsigned char *)strdup("x");
	e[n].len = 1;
	e[n].type = AE_IFREG;
	e[n].size = -1;
	n++;
	expect_bad(e, n, 0, "unexpected member 'log\\x0aforged: line'", "newline in a name");
	free_ents(e, n);

	n = fresh(e);   /* the same member twice */
	e[n] = e[1];
	e[n].data = malloc(e[1].len + 1);
	memcpy(e[n].data, e[1].data, e[1].len + 1);
	n++;
	expect_bad(e, n, 0, "repeated", "repeated member");
	free_ents(e, n);

	n = fresh(e);   /* a directory where a member is listed */
	e[2].type = AE_IFDIR;
	expect_bad(e, n, 0, "member 'params/enc.fc1.bias.dgt/' is not a regular file",
		   "directory entry");
	free_ents(e, n);

	n = fresh(e);   /* manifest not first */
	{
		struct ent t = e[0];
		e[0] = e[1];
		e[1] = t;
	}
	expect_bad(e, n, 0, "first member is not 'manifest'", "manifest not first");
	free_ents(e, n);

	/* Tensor of a wrong shape (and dtype) against the manifest: the record
	 * says 4x7 f32; the manifest is edited to disagree. */
	n = fresh(e);
	w = get_line(&e[0], "member.0");
	ok(w && strstr(w, "params/enc.fc1.weight.dgt f32 4x7 "), "member.0 line: %s", w);
	snprintf(v, sizeof v, "params/enc.fc1.weight.dgt f32 7x4 %s", w + strlen("params/enc.fc1.weight.dgt f32 4x7 "));
	set_line(&e[0], "member.0", v);
	expect_bad(e, n, 1, "member 'params/enc.fc1.weight.dgt': shape 4x7, manifest says 7x4",
		   "wrong shape");
	free_ents(e, n);

	n = fresh(e);
	w = get_line(&e[0], "member.0");
	snprintf(v, sizeof v, "params/enc.fc1.weight.dgt i32 4x7 %s", w + strlen("params/enc.fc1.weight.dgt f32 4x7 "));
	set_line(&e[0], "member.0", v);
	expect_bad(e, n, 0, "dtype f32, manifest says i32", "wrong dtype");
	free_ents(e, n);

	/* A record replaced by another of a different shape, with the
	 * manifest's CRC and size updated to match: the shape check alone
	 * must catch it. */
	n = fresh(e);
	{
		struct ent *x = find_ent(e, n, "params/enc.fc1.bias.dgt");
		struct ent *z = find_ent(e, n, "params/enc.fc1.weight.dgt");
		char line[512];
		free(x->data);
		x->data = malloc(z->len + 1);
		memcpy(x->data, z->data, z->len + 1);
		x->len = z->len;
		snprintf(line, sizeof line, "params/enc.fc1.bias.dgt f32 4 %08lx %zu",
			 (unsigned long)crc32(0, x->data, (uInt)x->len), x->len);
		for (int i = 0; i < 20; i++) {
			char key[32];
			snprintf(key, sizeof key, "member.%d", i);
			w = get_line(&e[0], key);
			if (w && strncmp(w, "params/enc.fc1.bias.dgt ", 24) == 0) {
				set_line(&e[0], key, line);
				break;
			}
		}
	}
	expect_bad(e, n, 0, "member 'params/enc.fc1.bias.dgt': shape 4x7, manifest says 4",
		   "swapped record of another shape");
	free_ents(e, n);

	n = fresh(e);   /* one flipped payload bit: CRC */
	{
		struct ent *x = find_ent(e, n, "params/dec.w.dgt");
		x->data[x->len - 70] ^= 4;
	}
	expect_bad(e, n, 0, "member 'params/dec.w.dgt': CRC", "altered member bytes");
	free_ents(e, n);

	n = fresh(e);   /* log altered */
	find_ent(e, n, "log.csv")->data[3] ^= 1;
	expect_bad(e, n, 1, "member 'log.csv': CRC", "altered text member");
	free_ents(e, n);

	n = fresh(e);
	set_line(&e[0], "fingerprint", "0123456789abcdef");
	expect_bad(e, n, 0, "fingerprint", "wrong fingerprint");
	free_ents(e, n);

	n = fresh(e);
	set_line(&e[0], "fingerprint", NULL);
	expect_bad(e, n, 0, "fingerprint (missing", "no fingerprint");
	free_ents(e, n);

	n = fresh(e);
	set_line(&e[0], "members", "12");
	expect_bad(e, n, 0, "members=12", "member count off");
	free_ents(e, n);

	n = fresh(e);
	set_line(&e[0], "member.1", "../x.dgt f32 4 00000000 10");
	expect_bad(e, n, 0, "'.' or '..'", "member name with ..");
	free_ents(e, n);

	n = fresh(e);
	set_line(&e[0], "member.1", "params/enc.fc1.bias.dgt f32 4");
	expect_bad(e, n, 0, "expected 'name dtype shape crc size'", "short member line");
	free_ents(e, n);

	n = fresh(e);
	set_line(&e[0], "family", NULL);
	expect_bad(e, n, 0, "family", "no family");
	free_ents(e, n);

	n = fresh(e);
	{
		unsigned char *t = malloc(e[0].len + 32);
		memcpy(t, "no equals sign\n", 15);
		memcpy(t + 15, e[0].data, e[0].len + 1);
		free(e[0].data);
		e[0].data = t;
		e[0].len += 15;
	}
	expect_bad(e, n, 0, "member 'manifest'", "manifest line without '='");
	free_ents(e, n);

	/* Bombs: a member declaring a huge size, in the manifest and the tar
	 * header alike; refused before anything is allocated. */
	n = fresh(e);
	w = get_line(&e[0], "member.1");
	{
		char line[512];
		snprintf(line, sizeof line, "%.*s 1099511627776", (int)(strrchr(w, ' ') - w), w);
		set_line(&e[0], "member.1", line);
	}
	e[2].size = 6ll << 30;   /* ustar's size field holds up to 8 GiB */
	expect_bad(e, 3, 1, "exceed the limit", "declared 1 TiB member");
	free_ents(e, n);

	n = fresh(e);   /* the tar header alone lies */
	e[1].size = 6ll << 30;
	expect_bad(e, 2, 0, "manifest says", "tar header declaring 6 GiB");
	free_ents(e, n);

	n = fresh(e);   /* both claim 3 GiB, under the limit: data runs out */
	w = get_line(&e[0], "member.0");
	{
		char line[512];
		snprintf(line, sizeof line, "%.*s 3221225472", (int)(strrchr(w, ' ') - w), w);
		set_line(&e[0], "member.0", line);
	}
	e[1].size = 3ll << 30;
	expect_bad(e, 2, 1, "member 'params/enc.fc1.weight.dgt'", "3 GiB claimed, 320 B present");
	free_ents(e, n);

	n = fresh(e);   /* too many lines, refused before parsing */
	{
		size_t extra = DG_CHECKPOINT_MAX_LINES + 1;
		unsigned char *t = malloc(e[0].len + 16 * extra + 1);
		size_t o = 0;
		for (size_t i = 0; i < extra; i++)
			o += (size_t)sprintf((char *)t + o, "x%zu=1\n", i);
		memcpy(t + o, e[0].data, e[0].len + 1);
		free(e[0].data);
		e[0].data = t;
		e[0].len += o;
	}
	expect_bad(e, n, 1, "member 'manifest': more than 12000 lines", "12001-line manifest");
	free_ents(e, n);

	n = fresh(e);   /* the manifest itself is huge */
	e[0].size = 6ll << 30;
	keep_seal = 1;
	expect_bad(e, 1, 1, "member 'manifest'", "6 GiB manifest");
	keep_seal = 0;
	free_ents(e, n);
}

/* Feeds len bytes to a pipe from a child process; returns the read end. */
static int pipe_from(const void *buf, size_t len, pid_t *pid)
{
	int fd[2];

	if (pipe(fd) != 0)
		return -1;
	*pid = fork();
	if (*pid == 0) {
		const char *p = buf;
		close(fd[0]);
		while (len) {
			ssize_t k = write(fd[1], p, len);
			if (k <= 0)
				_exit(1);
			p += k;
			len -= (size_t)k;
		}
		_exit(0);
	}
	close(fd[1]);
	return fd[0];
}

/* Where dg-checkpoint(5) and the reader disagreed (issue 12): each is
 * now what the page says. */
static void spec_edges(const char *dir)
{
	struct dg_checkpoint *ck = NULL, *ref = NULL;
	struct ent e[MAXENT];
	char *buf, path[512];
	size_t n, len;
	FILE *f;
	int st;

	n = fresh(e);
	set_line(&e[0], "format_version", "0");
	expect_bad(e, n, 0, "bad format_version '0'", "format_version 0");
	free_ents(e, n);

	/* the checksum line's newline may be missing, as any metadata's last */
	n = fresh(e);
	reseal(&e[0]);
	e[0].data[--e[0].len] = 0;
	pack(e, n, 1, &buf, &len);
	st = dg_checkpoint_read_mem(buf, len, "nonl.dgm", &ck);
	ok(st == 0 && ck, "a manifest without its final newline is read (%s)",
	   st ? dg_errmsg() : "ok");
	dg_checkpoint_free(ck);
	ck = NULL;
	free(buf);
	free_ents(e, n);

	/* a malformed limit is refused, naming it, never silently replaced */
	setenv("DG_CHECKPOINT_MAX_BYTES", "abc", 1);
	st = dg_checkpoint_read_mem(good, good_len, "good.dgm", &ck);
	ok(st == DG_EUSAGE && !ck && strstr(dg_errmsg(), "DG_CHECKPOINT_MAX_BYTES: 'abc'"),
	   "DG_CHECKPOINT_MAX_BYTES=abc refused: %s", dg_errmsg());
	setenv("DG_CHECKPOINT_MAX_BYTES", "0", 1);
	ok(dg_checkpoint_read_mem(good, good_len, "good.dgm", &ck) == DG_EUSAGE,
	   "DG_CHECKPOINT_MAX_BYTES=0 refused");
	setenv("DG_CHECKPOINT_MAX_BYTES", "100", 1);
	st = dg_checkpoint_read_mem(good, good_len, "good.dgm", &ck);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "(DG_CHECKPOINT_MAX_BYTES)"),
	   "over DG_CHECKPOINT_MAX_BYTES=100: %s", dg_errmsg());
	unsetenv("DG_CHECKPOINT_MAX_BYTES");

	/* A model-only reader checks nothing after the last member it
	 * needs: there an unlisted member passes it, not a full read. */
	n = fresh(e);
	snprintf(e[n].name, sizeof e[n].name, "unlisted.txt");
	e[n].data = (unsigned char *)strdup("x");
	e[n].len = 1;
	e[n].type = AE_IFREG;
	e[n].size = -1;
	n++;
	ok(strncmp(e[n - 2].name, "optim/", 6) == 0, "the writer put optim/ last (%s)",
	   e[n - 2].name);
	reseal(&e[0]);
	pack(e, n, 1, &buf, &len);
	snprintf(path, sizeof path, "%s/tail.dgm", dir);
	f = fopen(path, "wb");
	fwrite(buf, 1, len, f);
	fclose(f);
	st = dg_checkpoint_read_flags(path, DG_CHECKPOINT_NO_OPTIM, &ck);
	ok(st == 0, "model-only read: an unlisted member after the last needed one is not "
	   "read (%s)", st ? dg_errmsg() : "ok");
	dg_checkpoint_free(ck);
	ck = NULL;
	st = dg_checkpoint_read(path, &ck);
	ok(st == DG_EDATA && strstr(dg_errmsg(), "unexpected member 'unlisted.txt'"),
	   "a full read refuses it: %s", dg_errmsg());
	unlink(path);
	free(buf);
	free_ents(e, n);

	/* From a pipe, read once (dg-info <(...), dg-sample -m <(...)). */
	for (int gz = 0; gz < 2; gz++) {
		struct dg_input *in;
		pid_t pid = -1;
		int fd;
		buf = malloc(good_len);
		memcpy(buf, good, good_len);
		len = good_len;
		if (gz)
			gzip_buf(&buf, &len);
		fd = pipe_from(buf, len, &pid);
		dg_checkpoint_read_mem(good, good_len, "good.dgm", &ref);
		st = dg_input_fd(fd, "pipe", &in);
		if (!st) {
			const void *head;
			size_t got;
			/* peeked at first, as dg-info does to recognise it */
			st = dg_input_peek(in, 1024, &head, &got);
			if (!st && !dg_checkpoint_sniff(head, got))
				st = -1;
			if (!st)
				st = dg_checkpoint_read_input(in, 0, &ck);
			dg_input_close(in);
		}
		ok(st == 0 && ck && ref && same_content(ref, ck),
		   "a %s checkpoint from a pipe, sniffed then read (%s)", gz ? "gzip'd" : "plain",
		   st ? dg_errmsg() : "ok");
		is_str(ck ? dg_checkpoint_source(ck) : NULL, "pipe", "named by the input");
		dg_checkpoint_free(ck);
		dg_checkpoint_free(ref);
		ck = ref = NULL;
		close(fd);
		waitpid(pid, NULL, 0);
		free(buf);
	}
}

/* Real decompression bomb: 8 MB of zeros shrink to a few KB of gzip. */
static void bomb(void)
{
	struct dg_checkpoint *ck = dg_checkpoint_new("ae"), *back = NULL;
	uint64_t dims[] = {2048, 1024};
	struct dg_array *a = dg_array_new(DG_F32, 2, dims);
	void *buf;
	size_t len;
	int st;

	dg_checkpoint_take_tensor(ck, "params/zeros", a);
	is_int(dg_checkpoint_write_mem(ck, 0, &buf, &len), 0, "write an 8 MiB tensor");
	ok(len < 64 * 1024, "it compresses to %zu bytes", len);
	setenv("DG_CHECKPOINT_MAX_BYTES", "1000000", 1);
	st = dg_checkpoint_read_mem(buf, len, "bomb.dgm", &back);
	unsetenv("DG_CHECKPOINT_MAX_BYTES");
	is_int(st, DG_EDATA, "refused under a 1 MB limit");
	ok(strstr(dg_errmsg(), "exceed the limit") && one_line(dg_errmsg()),
	   "bomb message: %s", dg_errmsg());
	st = dg_checkpoint_read_mem(buf, len, "bomb.dgm", &back);
	is_int(st, 0, "read under the default limit");
	dg_checkpoint_free(back);
	free(buf);
	dg_checkpoint_free(ck);
}

/* Offset just past the data of the last member of a plain tar. */
static size_t tar_data_end(const unsigned char *t, size_t len)
{
	size_t off = 0;

	while (off + 512 <= len && t[off]) {
		size_t size = strtoul((const char *)t + off + 124, NULL, 8);
		off += 512 + (size + 511) / 512 * 512;
	}
	return off;
}

/* Bit flips and truncations: an error with a one-line message, or (for
 * bytes nothing depends on) the very same content.  Never a crash. */
static void damage(const struct dg_checkpoint *orig, const char *buf, size_t len,
		   const char *what, size_t must_fail_below, int min_percent)
{
	unsigned char *copy = malloc(len);
	size_t flips = 0, flip_err = 0, cuts = 0, cut_err = 0, bad = 0, stride;

	/* About 400 offsets of each kind keep this fast under ASan; the
	 * fuzzer covers the rest. */
	stride = len / 400 + 1;
	for (size_t off = 0; off < len; off += stride) {
		struct dg_checkpoint *ck = NULL;
		int st;
		memcpy(copy, buf, len);
		copy[off] ^= (unsigned char)(1u << (off % 8));
		st = dg_checkpoint_read_mem(copy, len, "x", &ck);
		flips++;
		if (st) {
			flip_err++;
			if (!one_line(dg_errmsg()) || st != DG_EDATA)
				bad++;
		} else if (!same_content(orig, ck)) {
			diag("%s: flip at %zu accepted with different content", what, off);
			bad++;
		}
		dg_checkpoint_free(ck);
	}
	for (size_t cut = 0; cut < len; cut += stride) {
		struct dg_checkpoint *ck = NULL;
		int st = dg_checkpoint_read_mem(buf, cut, "x", &ck);
		cuts++;
		if (st) {
			cut_err++;
			if (!one_line(dg_errmsg()) || st != DG_EDATA)
				bad++;
		} else if (cut < must_fail_below || !same_content(orig, ck)) {
			diag("%s: truncation at %zu accepted", what, cut);
			bad++;
		}
		dg_checkpoint_free(ck);
	}
	is_int((long long)bad, 0, "%s: %zu bit flips (%zu refused), %zu truncations (%zu "
	       "refused): all refused cleanly or harmless", what, flips, flip_err, cuts, cut_err);
	ok(flip_err * 100 >= flips * (size_t)min_percent, "%s: at least %d%% of flips "
	   "detected (%zu of %zu)", what, min_percent, flip_err, flips);
	free(copy);
}

/* ---- fixtures and regression files ------------------------------------ */

static int make_data(const char *dir)
{
	struct dg_checkpoint *ck = make_ck(0);
	char path[1024];
	struct ent e[MAXENT];
	size_t n;
	char *buf;
	size_t len;
	FILE *f;

	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	snprintf(path, sizeof path, "%s/good-v1.dgm", dir);
	if (dg_checkpoint_write(ck, path, 0))
		return fprintf(stderr, "%s\n", dg_errmsg()), 1;
	snprintf(path, sizeof path, "%s/good-v1-plain.dgm", dir);
	if (dg_checkpoint_write(ck, path, DG_CHECKPOINT_PLAIN))
		return fprintf(stderr, "%s\n", dg_errmsg()), 1;
	dg_checkpoint_write_mem(ck, DG_CHECKPOINT_PLAIN, (void **)&good, &good_len);
	dg_checkpoint_free(ck);

	/* One of each refusal dg-info must report by exit status 65. */
	n = fresh(e);
	set_line(&e[0], "format_version", "2");
	reseal(&e[0]);
	pack(e, n, 1, &buf, &len);
	snprintf(path, sizeof path, "%s/bad-version2.dgm", dir);
	f = fopen(path, "wb");
	fwrite(buf, 1, len, f);
	fclose(f);
	free(buf);
	free_ents(e, n);

	n = fresh(e);
	find_ent(e, n, "params/dec.w.dgt")->data[200] ^= 1;
	pack(e, n, 1, &buf, &len);
	snprintf(path, sizeof path, "%s/bad-crc.dgm", dir);
	f = fopen(path, "wb");
	fwrite(buf, 1, len, f);
	fclose(f);
	free(buf);
	free_ents(e, n);

	n = fresh(e);
	pack(e, n - 1, 1, &buf, &len);   /* the last member dropped */
	snprintf(path, sizeof path, "%s/bad-missing.dgm", dir);
	f = fopen(path, "wb");
	fwrite(buf, 1, len, f);
	fclose(f);
	free(buf);
	free_ents(e, n);
	free(good);
	return 0;
}

/* Every file in a folder: good-* must read, anything else must fail with
 * a one-line message; none may crash. */
static void regress(const char *dir, int all_bad)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0;

	if (!d) {
		ok(all_bad, "open %s", dir);   /* no fuzz findings is fine */
		return;
	}
	while ((de = readdir(d))) {
		char path[1024];
		struct dg_checkpoint *ck = NULL;
		int st, want_good;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		want_good = !all_bad && strncmp(de->d_name, "good-", 5) == 0;
		st = dg_checkpoint_read(path, &ck);
		files++;
		if (want_good)
			is_int(st, 0, "%s reads (%s)", de->d_name, st ? dg_errmsg() : "ok");
		else if (all_bad && st == 0)
			ok(1, "%s: no crash (accepted)", de->d_name);
		else
			ok(st != 0 && one_line(dg_errmsg()), "%s refused: %s", de->d_name,
			   dg_errmsg());
		dg_checkpoint_free(ck);
	}
	closedir(d);
	ok(files > 0 || all_bad, "%s: %d files", dir, files);
}

/* ---- main ------------------------------------------------------------- */

static int count_temporaries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)))
		if (strncmp(de->d_name, ".m.dgm.", 7) == 0)
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	struct dg_checkpoint *ck, *back = NULL, *rev;
	char dir[256], path[512], fp[17];
	const char *src = getenv("DG_SRC");
	void *gz, *gz2;
	size_t gz_len, gz2_len;
	uint64_t u;

	if (argc == 3 && strcmp(argv[1], "--make-data") == 0)
		return make_data(argv[2]);
	unsetenv("DG_CHECKPOINT_MAX_BYTES");
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	snprintf(dir, sizeof dir, "%s/t_checkpoint.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}

	/* Round trips, gzip'd and plain. */
	ck = make_ck(0);
	is_int(dg_checkpoint_write_mem(ck, 0, &gz, &gz_len), 0, "write gzip'd to memory");
	ok(dg_checkpoint_sniff(gz, gz_len), "sniff recognizes tar.gz");
	is_int(dg_checkpoint_read_mem(gz, gz_len, "mem.dgm", &back), 0, "read it back: %s",
	       dg_errmsg());
	ok(back && same_content(ck, back), "every member bit-identical (gzip)");
	is_str(dg_checkpoint_family(back), "vae", "family");
	is_str(dg_meta_get(dg_checkpoint_cmeta(back), "hparam.latent"), "20", "hparam kept");
	is_str(dg_meta_get(dg_checkpoint_cmeta(back), "rng"), "42:0:77", "rng kept");
	is_str(dg_meta_get(dg_checkpoint_cmeta(back), "format"), "dg-checkpoint", "format key");
	is_str(dg_meta_get(dg_checkpoint_cmeta(back), "format_version"), "1", "format_version");
	is_str(dg_meta_get(dg_checkpoint_cmeta(back), "created"), "2023-11-14T22:13:20Z",
	       "created from SOURCE_DATE_EPOCH");
	is_str(dg_meta_get(dg_checkpoint_cmeta(back), "tool_version"), DG_VERSION, "tool_version");
	is_int(dg_checkpoint_get_u64(back, "step", &u), 0, "step as integer");
	is_int((long long)u, 938, "step value");
	is_int(dg_checkpoint_get_u64(back, "hparam.arch", &u), DG_EDATA, "non-integer refused");
	ok(strstr(dg_errmsg(), "hparam.arch") != NULL, "message names the key");
	{
		unsigned rank = 9;
		uint64_t dims[DG_MAX_RANK];
		is_int(dg_checkpoint_get_shape(back, "data_shape", &rank, dims), 0, "data_shape");
		ok(rank == 3 && dims[0] == 1 && dims[1] == 28 && dims[2] == 28 && dims[3] == 0,
		   "data_shape is 1x28x28");
		is_int(dg_checkpoint_get_shape(back, "hparam.arch", &rank, dims), DG_EDATA,
		       "'mlp' is not a shape");
		is_int(dg_checkpoint_get_shape(back, "nothing", &rank, dims), DG_EDATA,
		       "missing key: %s", dg_errmsg());
	}
	is_str(dg_checkpoint_source(back), "mem.dgm", "source name");
	is_str(dg_meta_get(dg_checkpoint_tensor(back, "params/dec.w")->meta, "note"), "kept",
	       "tensor metadata kept");
	is_str(dg_meta_get(dg_checkpoint_tensor(back, "params/dec.w")->meta, "name"),
	       "params/dec.w", "record names its tensor");
	{
		size_t l;
		const char *t = dg_checkpoint_bytes(back, "log.csv", &l);
		ok(t && l == strlen(log_csv) && strcmp(t, log_csv) == 0, "log.csv intact");
		t = dg_checkpoint_bytes(back, "notes/empty", &l);
		ok(t && l == 0 && *t == 0, "empty member intact");
	}
	ok(dg_checkpoint_tensor(back, "params/nothing") == NULL &&
	   strstr(dg_errmsg(), "params/nothing"), "missing tensor lookup: %s", dg_errmsg());
	ok(dg_checkpoint_tensor(back, "log.csv") == NULL, "bytes are not a tensor");
	ok(dg_checkpoint_bytes(back, "params/dec.w", NULL) == NULL, "a tensor is not bytes");
	ok(dg_checkpoint_bytes_at(back, 0, NULL) == NULL &&
	   dg_checkpoint_tensor_at(back, 99) == NULL && dg_checkpoint_name_at(back, 99) == NULL,
	   "out-of-range iteration is NULL");
	dg_checkpoint_free(back);
	back = NULL;

	is_int(dg_checkpoint_write_mem(ck, DG_CHECKPOINT_PLAIN, (void **)&good, &good_len), 0,
	       "write plain tar");
	ok(good_len % 512 == 0 && memcmp(good, "manifest", 9) == 0 &&
	   memcmp(good + 257, "ustar", 5) == 0, "plain: ustar, manifest first");
	ok(dg_checkpoint_sniff(good, good_len) && !dg_checkpoint_sniff(good, 100) &&
	   !dg_checkpoint_sniff("hello", 5), "sniff plain, short, foreign");
	is_int(dg_checkpoint_read_mem(good, good_len, "plain.dgm", &back), 0, "read plain");
	ok(back && same_content(ck, back), "every member bit-identical (plain)");
	dg_checkpoint_free(back);
	back = NULL;

	/* Reproducible bytes. */
	is_int(dg_checkpoint_write_mem(ck, 0, &gz2, &gz2_len), 0, "write again");
	ok(gz_len == gz2_len && memcmp(gz, gz2, gz_len) == 0, "same content, same bytes (gzip)");
	free(gz2);
	rev = make_ck(0);
	dg_checkpoint_write_mem(rev, 0, &gz2, &gz2_len);
	ok(gz_len == gz2_len && memcmp(gz, gz2, gz_len) == 0,
	   "an equal checkpoint built separately gives the same bytes");
	free(gz2);
	dg_checkpoint_free(rev);
	{
		void *f1;
		size_t l1;
		dg_checkpoint_write_mem(ck, DG_CHECKPOINT_FAST, &f1, &l1);
		is_int(dg_checkpoint_read_mem(f1, l1, "fast", &back), 0, "fast gzip reads");
		ok(back && same_content(ck, back), "fast gzip round trip");
		dg_checkpoint_free(back);
		back = NULL;
		free(f1);
	}
	setenv("SOURCE_DATE_EPOCH", "soon", 1);
	ok(dg_checkpoint_write_mem(ck, 0, &gz2, &gz2_len) == DG_EUSAGE &&
	   strstr(dg_errmsg(), "SOURCE_DATE_EPOCH"), "bad SOURCE_DATE_EPOCH refused");
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);

	/* Fingerprint: the independent reference; depends on parameters only,
	 * not on insertion order or optimizer state. */
	rev = make_ck(1);
	ok(dg_checkpoint_fingerprint(ck) == ref_fingerprint(ck), "fingerprint matches the "
	   "reference (%s)", dg_checkpoint_fingerprint_hex(ck, fp));
	is_int((long long)dg_checkpoint_fingerprint(rev), (long long)dg_checkpoint_fingerprint(ck),
	       "fingerprint ignores insertion order");
	is_str(dg_meta_get(dg_checkpoint_cmeta(ck), "fingerprint"), fp, "written in the manifest");
	{
		uint64_t before = dg_checkpoint_fingerprint(rev);
		struct dg_array *a = (struct dg_array *)dg_checkpoint_tensor(rev, "optim/count");
		((unsigned char *)a->data)[0] ^= 1;
		ok(dg_checkpoint_fingerprint(rev) == before, "optimizer state does not count");
		a = (struct dg_array *)dg_checkpoint_tensor(rev, "params/enc.fc1.bias");
		((unsigned char *)a->data)[3] ^= 0x80;   /* a sign bit */
		ok(dg_checkpoint_fingerprint(rev) != before, "one sign bit of a parameter counts");
		ok(dg_checkpoint_fingerprint(rev) == ref_fingerprint(rev), "reference agrees");
		((unsigned char *)a->data)[3] ^= 0x80;
		((unsigned char *)a->data)[11] ^= 0x80;
		ok(dg_checkpoint_fingerprint(rev) != before, "another sign bit counts");
		((unsigned char *)a->data)[3] ^= 0x80;
		ok(dg_checkpoint_fingerprint(rev) != before, "two sign bits do not cancel");
	}
	dg_checkpoint_free(rev);

	/* Names and arguments. */
	{
		const char *badn[] = {"../x", "/abs", "a//b", "a/./b", "a/", "manifest", "sp ace",
				      "", "a/..", "tab\there"};
		struct dg_array *a = filled(DG_F32, 0, NULL, 1);
		char longname[200];
		for (size_t i = 0; i < sizeof badn / sizeof *badn; i++)
			is_int(dg_checkpoint_add_tensor(ck, badn[i], a), DG_EUSAGE,
			       "bad name '%s' refused", badn[i]);
		memset(longname, 'a', sizeof longname);
		longname[DG_CHECKPOINT_MAX_NAME + 1] = 0;
		is_int(dg_checkpoint_add_tensor(ck, longname, a), DG_EUSAGE, "96-byte name refused");
		longname[DG_CHECKPOINT_MAX_NAME] = 0;
		is_int(dg_checkpoint_add_tensor(ck, longname, a), 0, "95-byte name accepted");
		dg_checkpoint_remove(ck, longname);
		is_int(dg_checkpoint_add_bytes(ck, "x.dgt", "a", 1), DG_EUSAGE,
		       "byte member ending in .dgt refused");
		ok(dg_checkpoint_new("bad family") == NULL && dg_checkpoint_new("") == NULL,
		   "bad family names refused");
		/* Replacing a member keeps one copy, in place. */
		size_t before = dg_checkpoint_count(ck);
		is_int(dg_checkpoint_add_tensor(ck, "params/emb", a), 0, "replace a tensor");
		is_int((long long)dg_checkpoint_count(ck), (long long)before, "no duplicate");
		is_int(dg_checkpoint_tensor(ck, "params/emb")->rank, 0, "replacement in place");
		dg_checkpoint_free(ck);
		ck = make_ck(0);
		dg_array_free(a);
	}
	{
		struct dg_checkpoint *nf = dg_checkpoint_new(NULL);
		void *b;
		size_t l;
		is_int(dg_checkpoint_write_mem(nf, 0, &b, &l), DG_EUSAGE, "no family, no write");
		dg_checkpoint_free(nf);
		is_int(dg_checkpoint_family_error(ck, "is not installed"), DG_ENODEV,
		       "family error status");
		ok(strstr(dg_errmsg(), "model family 'vae' is not installed") != NULL,
		   "family error message: %s", dg_errmsg());
	}

	/* Files: atomic replacement. */
	snprintf(path, sizeof path, "%s/m.dgm", dir);
	is_int(dg_checkpoint_write(ck, path, 0), 0, "write to a file");
	is_int(dg_checkpoint_read(path, &back), 0, "read the file");
	ok(back && same_content(ck, back), "file round trip");
	is_str(back ? dg_checkpoint_source(back) : NULL, path, "source is the path");
	dg_checkpoint_free(back);
	back = NULL;
	{
		size_t l1, l2;
		char *before = slurp(path, &l1), *after;
		struct dg_checkpoint *other = dg_checkpoint_new("ae");
		dg_checkpoint_add_bytes(other, "log.csv", "x", 1);
		dg_atomic_fail_stage = 2;
		ok(dg_checkpoint_write(other, path, 0) != 0, "failing write reported: %s",
		   dg_errmsg());
		dg_atomic_fail_stage = 1;
		ok(dg_checkpoint_write(other, path, 0) != 0, "failing fsync reported");
		dg_atomic_fail_stage = 0;
		after = slurp(path, &l2);
		ok(l1 == l2 && memcmp(before, after, l1) == 0, "previous file byte-identical");
		is_int(count_temporaries(dir), 0, "no temporary left");
		is_int(dg_checkpoint_write(other, path, 0), 0, "a working write replaces it");
		is_int(dg_checkpoint_read(path, &back), 0, "and reads");
		is_str(back ? dg_checkpoint_family(back) : NULL, "ae", "the new content");
		dg_checkpoint_free(back);
		back = NULL;
		snprintf(path, sizeof path, "%s/m.dgm/under", dir);
		is_int(dg_checkpoint_write(other, path, 0), DG_ECANTCREAT, "path under a file");
		free(before);
		free(after);
		dg_checkpoint_free(other);
		snprintf(path, sizeof path, "%s/m.dgm", dir);
		unlink(path);
	}
	{
		/* Reading without optimizer state: present but not loaded. */
		struct ent e[MAXENT];
		size_t n = fresh(e);
		char *buf;
		size_t len;
		FILE *f;
		snprintf(path, sizeof path, "%s/m.dgm", dir);
		dg_checkpoint_write(ck, path, 0);
		is_int(dg_checkpoint_read_flags(path, DG_CHECKPOINT_NO_OPTIM, &back), 0,
		       "read without optim/");
		ok(back && dg_checkpoint_count(back) == dg_checkpoint_count(ck) - 3 &&
		   !dg_checkpoint_tensor(back, "optim/step") &&
		   dg_checkpoint_tensor(back, "ema/enc.fc1.weight") &&
		   dg_checkpoint_bytes(back, "log.csv", NULL), "optim/ left out, the rest kept");
		ok(back && dg_checkpoint_fingerprint(back) == dg_checkpoint_fingerprint(ck),
		   "same fingerprint");
		dg_checkpoint_free(back);
		back = NULL;
		/* A missing optim/ member is still refused. */
		for (size_t i = 0; i < n; i++)
			if (strcmp(e[i].name, "optim/step.dgt") == 0) {
				free(e[i].data);
				memmove(e + i, e + i + 1, (n - i - 1) * sizeof *e);
				n--;
				break;
			}
		reseal(&e[0]);
		pack(e, n, 1, &buf, &len);
		f = fopen(path, "wb");
		fwrite(buf, 1, len, f);
		fclose(f);
		/* A model-only read stops before the optimizer state, so it
		 * does not notice; training (a full read) refuses the file. */
		is_int(dg_checkpoint_read_flags(path, DG_CHECKPOINT_NO_OPTIM, &back), DG_OK,
		       "missing optim/ member: the model still reads without optim/");
		dg_checkpoint_free(back);
		back = NULL;
		is_int(dg_checkpoint_read(path, &back), DG_EDATA,
		       "missing optim/ member refused by a full read: %s", dg_errmsg());
		free(buf);
		free_ents(e, n);
		unlink(path);
	}
	is_int(dg_checkpoint_read("/nonexistent/m.dgm", &back), DG_ENOINPUT, "missing file");
	ok(strstr(dg_errmsg(), "/nonexistent/m.dgm") != NULL, "message names it");
	is_int(dg_checkpoint_read_mem("", 0, "empty", &back), DG_EDATA, "empty input refused");
	is_int(dg_checkpoint_read_mem("this is not a tar archive at all\n", 33, "text", &back),
	       DG_EDATA, "text refused: %s", dg_errmsg());
	{
		/* A gzip'd non-tar. */
		unsigned char z[256];
		uLongf zl = sizeof z;
		compress2(z, &zl, (const unsigned char *)"hello hello hello", 17, 6);
		is_int(dg_checkpoint_read_mem(z, zl, "zlib", &back), DG_EDATA, "zlib data refused");
	}

	hostile();
	spec_edges(dir);
	bomb();
	/* In a plain tar, flips in the zero padding of 512-byte records and in
	 * header fields dg ignores are harmless; a gzip'd file has none. */
	damage(ck, gz, gz_len, "gzip", 0, 95);
	damage(ck, good, good_len, "plain", tar_data_end((unsigned char *)good, good_len), 60);

	if (src) {
		char d1[1024], d2[1024];
		snprintf(d1, sizeof d1, "%s/tests/data/checkpoint", src);
		snprintf(d2, sizeof d2, "%s/tests/data/fuzz/fuzz_checkpoint", src);
		regress(d1, 0);
		regress(d2, 1);
	} else {
		diag("DG_SRC not set: fixtures not checked");
	}

	free(gz);
	free(good);
	dg_checkpoint_free(ck);
	ok(rmdir(dir) == 0, "temporary folder empty");
	return done_testing();
}
