/* checkpoint.c — a checkpoint in memory: manifest, members, lookups and
 * the parameter fingerprint.  Writing and reading live in
 * checkpoint_write.c and checkpoint_read.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/checkpoint_int.h"
#include "dg/error.h"
#include "io/limits.h"

struct dg_checkpoint *dg_checkpoint_new(const char *family)
{
	struct dg_checkpoint *ck = calloc(1, sizeof *ck);

	if (!ck) {
		dg_error_nomem("a checkpoint", sizeof *ck);
		return NULL;
	}
	ck->meta = dg_meta_new();
	ck->source = strdup("");
	if (!ck->meta || !ck->source) {
		dg_checkpoint_free(ck);
		dg_error_nomem("a checkpoint", 64);
		return NULL;
	}
	if (family && (!*family || dg_meta_set(ck->meta, "family", family))) {
		dg_error(DG_EUSAGE, "bad model family name '%s'", family);
		dg_checkpoint_free(ck);
		return NULL;
	}
	/* family is a key like any other; its value must also be a valid key
	 * because plugins are found by it. */
	if (family && strspn(family, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			     "0123456789_.-") != strlen(family)) {
		dg_error(DG_EUSAGE, "bad model family name '%s'", family);
		dg_checkpoint_free(ck);
		return NULL;
	}
	return ck;
}

static void member_clear(struct ck_member *m)
{
	free(m->name);
	dg_array_free(m->tensor);
	free(m->bytes);
}

void dg_checkpoint_free(struct dg_checkpoint *ck)
{
	if (!ck)
		return;
	for (size_t i = 0; i < ck->n; i++)
		member_clear(&ck->m[i]);
	free(ck->m);
	dg_meta_free(ck->meta);
	free(ck->source);
	free(ck);
}

struct dg_meta *dg_checkpoint_meta(struct dg_checkpoint *ck)
{
	return ck->meta;
}

const struct dg_meta *dg_checkpoint_cmeta(const struct dg_checkpoint *ck)
{
	return ck->meta;
}

const char *dg_checkpoint_family(const struct dg_checkpoint *ck)
{
	const char *f = dg_meta_get(ck->meta, "family");
	return f ? f : "";
}

const char *dg_checkpoint_source(const struct dg_checkpoint *ck)
{
	return ck->source;
}

int dg_checkpoint_get_u64(const struct dg_checkpoint *ck, const char *key,
			  uint64_t *out)
{
	const char *v = dg_meta_get(ck->meta, key);
	char *end;
	unsigned long long x;

	if (!v)
		return dg_error(DG_EDATA, "%s: manifest has no '%s'", ck->source, key);
	errno = 0;
	x = strtoull(v, &end, 10);
	if (!*v || *end || errno || *v < '0' || *v > '9')
		return dg_error(DG_EDATA, "%s: manifest '%s=%s' is not an unsigned "
				"integer", ck->source, key, v);
	*out = x;
	return DG_OK;
}

int dg__ck_strict_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (len > 1 && s[0] == '0')
		return -1;
	*out = v;
	return 0;
}

/* "scalar" or "AxBxC" into rank and dims. */
int dg__ck_parse_shape(const char *s, size_t len, unsigned *rank, uint64_t *dims)
{
	size_t start = 0;

	*rank = 0;
	if (len == 6 && memcmp(s, "scalar", 6) == 0)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != 'x')
			continue;
		if (*rank == DG_MAX_RANK || dg__ck_strict_u64(s + start, i - start, &dims[*rank]))
			return -1;
		(*rank)++;
		start = i + 1;
	}
	return 0;
}

int dg_checkpoint_get_shape(const struct dg_checkpoint *ck, const char *key,
			    unsigned *rank, uint64_t dims[DG_MAX_RANK])
{
	const char *v = dg_meta_get(ck->meta, key);

	if (!v)
		return dg_error(DG_EDATA, "%s: manifest has no '%s'",
				*ck->source ? ck->source : "checkpoint", key);
	memset(dims, 0, DG_MAX_RANK * sizeof *dims);
	if (dg__ck_parse_shape(v, strlen(v), rank, dims))
		return dg_error(DG_EDATA, "%s: manifest '%s=%s' is not a shape like 1x28x28",
				*ck->source ? ck->source : "checkpoint", key, v);
	return DG_OK;
}

const char *dg__ck_quote(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s && o + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = 0;
	return buf;
}

int dg__ck_reserved_key(const char *key)
{
	static const char *const reserved[] = {
		"format", "format_version", "created", "tool_version",
		"fingerprint", "members", "checksum",
	};
	for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
		if (strcmp(key, reserved[i]) == 0)
			return 1;
	return strncmp(key, "member.", 7) == 0;
}

int dg__ck_max_bytes(uint64_t *out)
{
	return dg__env_limit(DG_ENV_CHECKPOINT_MAX, DG_CHECKPOINT_MAX_BYTES, out);
}

int dg__ck_check_name(const char *name, size_t len)
{
	size_t comp = 0;   /* length of the current path component */

	if (len == 0 || len > DG_CHECKPOINT_MAX_NAME)
		return dg_error(DG_EDATA, "member name '%.*s' is empty or longer than %d bytes",
				(int)(len > 120 ? 120 : len), name, DG_CHECKPOINT_MAX_NAME);
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? name[i] : '/';
		if (c == '/') {
			/* empty, "." and ".." components (and so leading or
			 * trailing slashes) could mean other files on disk. */
			if (comp == 0 || (comp == 1 && name[i - 1] == '.') ||
			    (comp == 2 && name[i - 1] == '.' && name[i - 2] == '.'))
				return dg_error(DG_EDATA, "member name '%.*s' has an empty, "
						"'.' or '..' component", (int)len, name);
			comp = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-') {
			comp++;
		} else {
			return dg_error(DG_EDATA, "member name '%.*s' has a character "
					"other than [A-Za-z0-9_.-/]", (int)len, name);
		}
	}
	if (len == 8 && memcmp(name, "manifest", 8) == 0)
		return dg_error(DG_EDATA, "member name 'manifest' is reserved");
	return DG_OK;
}

long dg__ck_find(const struct dg_checkpoint *ck, const char *name)
{
	for (size_t i = 0; i < ck->n; i++)
		if (strcmp(ck->m[i].name, name) == 0)
			return (long)i;
	return -1;
}

int dg__ck_put(struct dg_checkpoint *ck, const char *name, struct dg_array *tensor,
	       unsigned char *bytes, size_t len)
{
	return dg__ck_put_at(ck, dg__ck_find(ck, name), name, tensor, bytes, len);
}

int dg__ck_put_at(struct dg_checkpoint *ck, long at, const char *name,
		  struct dg_array *tensor, unsigned char *bytes, size_t len)
{
	struct ck_member m = {0};

	m.name = strdup(name);
	m.tensor = tensor;
	m.bytes = bytes;
	m.len = len;
	if (!m.name) {
		member_clear(&m);
		return dg_error_nomem("a member name", strlen(name));
	}
	if (at >= 0) {
		member_clear(&ck->m[at]);
		ck->m[at] = m;
		return DG_OK;
	}
	if (ck->n == ck->cap) {
		size_t cap = ck->cap ? 2 * ck->cap : 16;
		struct ck_member *p = realloc(ck->m, cap * sizeof *p);
		if (!p) {
			member_clear(&m);
			return dg_error_nomem("checkpoint members", cap * sizeof *p);
		}
		ck->m = p;
		ck->cap = cap;
	}
	ck->m[ck->n++] = m;
	return DG_OK;
}

/* The caller's name rules, reported as a usage error: a bad name from a
 * caller is a bug in the caller, not bad data. */
static int check_caller_name(const char *name, int tensor)
{
	size_t len = strlen(name), sl = strlen(CK_TENSOR_SUFFIX);

	if (dg__ck_check_name(name, len))
		return DG_EUSAGE;
	if (!tensor && len >= sl && strcmp(name + len - sl, CK_TENSOR_SUFFIX) == 0)
		return dg_error(DG_EUSAGE, "byte member '%s' must not end in %s",
				name, CK_TENSOR_SUFFIX);
	return DG_OK;
}

int dg_checkpoint_take_tensor(struct dg_checkpoint *ck, const char *name,
			      struct dg_array *a)
{
	int st = check_caller_name(name, 1);

	if (!st && (!a || !dg_dtype_size(a->dtype) || a->rank > DG_MAX_RANK))
		st = dg_error(DG_EUSAGE, "tensor '%s' is not a valid array", name);
	if (st) {
		dg_array_free(a);
		return st;
	}
	return dg__ck_put(ck, name, a, NULL, 0);
}

int dg_checkpoint_add_tensor(struct dg_checkpoint *ck, const char *name,
			     const struct dg_array *a)
{
	struct dg_array *copy;
	int st = check_caller_name(name, 1);

	if (st)
		return st;
	if (!a || !dg_dtype_size(a->dtype) || a->rank > DG_MAX_RANK)
		return dg_error(DG_EUSAGE, "tensor '%s' is not a valid array", name);
	copy = dg_array_new(a->dtype, a->rank, a->dims);
	if (!copy)
		return dg_error_context(DG_ENOMEM, "tensor '%s'", name);
	memcpy(copy->data, a->data, dg_array_bytes(a));
	if (a->meta && dg_meta_merge(copy->meta, a->meta)) {
		dg_array_free(copy);
		return dg_error_context(DG_ENOMEM, "tensor '%s'", name);
	}
	return dg__ck_put(ck, name, copy, NULL, 0);
}

int dg_checkpoint_add_bytes(struct dg_checkpoint *ck, const char *name,
			    const void *bytes, size_t len)
{
	unsigned char *copy;
	int st = check_caller_name(name, 0);

	if (st)
		return st;
	copy = malloc(len + 1);
	if (!copy)
		return dg_error_nomem(name, len + 1);
	if (len)
		memcpy(copy, bytes, len);
	copy[len] = 0;
	return dg__ck_put(ck, name, NULL, copy, len);
}

void dg_checkpoint_remove(struct dg_checkpoint *ck, const char *name)
{
	long at = dg__ck_find(ck, name);

	if (at < 0)
		return;
	member_clear(&ck->m[at]);
	memmove(ck->m + at, ck->m + at + 1, (ck->n - (size_t)at - 1) * sizeof *ck->m);
	ck->n--;
}

const struct dg_array *dg_checkpoint_tensor(const struct dg_checkpoint *ck,
					    const char *name)
{
	long at = dg__ck_find(ck, name);

	if (at < 0 || !ck->m[at].tensor) {
		dg_error(DG_EDATA, "%s has no tensor '%s'",
			 *ck->source ? ck->source : "checkpoint", name);
		return NULL;
	}
	return ck->m[at].tensor;
}

const void *dg_checkpoint_bytes(const struct dg_checkpoint *ck, const char *name,
				size_t *len)
{
	long at = dg__ck_find(ck, name);

	if (at < 0 || !ck->m[at].bytes) {
		dg_error(DG_EDATA, "%s has no member '%s'",
			 *ck->source ? ck->source : "checkpoint", name);
		return NULL;
	}
	if (len)
		*len = ck->m[at].len;
	return ck->m[at].bytes;
}

size_t dg_checkpoint_count(const struct dg_checkpoint *ck)
{
	return ck->n;
}

const char *dg_checkpoint_name_at(const struct dg_checkpoint *ck, size_t i)
{
	return i < ck->n ? ck->m[i].name : NULL;
}

const struct dg_array *dg_checkpoint_tensor_at(const struct dg_checkpoint *ck, size_t i)
{
	return i < ck->n ? ck->m[i].tensor : NULL;
}

const void *dg_checkpoint_bytes_at(const struct dg_checkpoint *ck, size_t i,
				   size_t *len)
{
	if (i >= ck->n || !ck->m[i].bytes)
		return NULL;
	if (len)
		*len = ck->m[i].len;
	return ck->m[i].bytes;
}

int dg_checkpoint_family_error(const struct dg_checkpoint *ck, const char *why)
{
	return dg_error(DG_ENODEV, "%s: model family '%s' %s",
			*ck->source ? ck->source : "checkpoint",
			dg_checkpoint_family(ck), why);
}

/* ---- fingerprint ------------------------------------------------------ *
 * The byte string of dg-checkpoint(5) is hashed as little-endian 64-bit
 * words (the last one zero-padded): h = (h ^ w) * K; h ^= h >> 32, then
 * the length is mixed in and the splitmix64 finalizer spreads the bits. */

struct fp {
	uint64_t h, len;
	unsigned char part[8];
	unsigned n;
};

static uint64_t load_le64(const unsigned char *p)
{
	uint64_t w = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(&w, p, sizeof w);    /* one load; the byte loop below is 8 */
#else
	for (int i = 7; i >= 0; i--)
		w = (w << 8) | p[i];
#endif
	return w;
}

static void fp_word(struct fp *f, uint64_t w)
{
	f->h = (f->h ^ w) * 0x9e3779b97f4a7c15ull;
	f->h ^= f->h >> 32;
}

static void fp_feed(struct fp *f, const void *data, size_t len)
{
	const unsigned char *p = data;

	f->len += len;
	while (len && f->n) {
		f->part[f->n++] = *p++;
		len--;
		if (f->n == 8) {
			fp_word(f, load_le64(f->part));
			f->n = 0;
		}
	}
	/* the hash in a register: a store per word would double the chain */
	uint64_t h = f->h;
	for (; len >= 8; p += 8, len -= 8) {
		h = (h ^ load_le64(p)) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	f->h = h;
	while (len--)
		f->part[f->n++] = *p++;
}

static uint64_t fp_end(struct fp *f)
{
	uint64_t h;

	if (f->n) {
		memset(f->part + f->n, 0, 8 - f->n);
		fp_word(f, load_le64(f->part));
	}
	h = f->h ^ f->len;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

static void fp_tensor(struct fp *f, const struct ck_member *m)
{
	const struct dg_array *a = m->tensor;
	unsigned char head[2 + 8 * DG_MAX_RANK];
	size_t size = dg_dtype_size(a->dtype), count = dg_array_count(a);

	fp_feed(f, m->name, strlen(m->name) + 1);
	head[0] = (unsigned char)a->dtype;
	head[1] = (unsigned char)a->rank;
	for (unsigned d = 0; d < a->rank; d++)
		for (int b = 0; b < 8; b++)
			head[2 + 8 * d + b] = (unsigned char)(a->dims[d] >> (8 * b));
	fp_feed(f, head, 2 + 8 * (size_t)a->rank);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	/* Elements are hashed in little-endian order, as stored. */
	for (size_t i = 0; i < count; i++) {
		unsigned char e[8];
		const unsigned char *src = (const unsigned char *)a->data + i * size;
		for (size_t b = 0; b < size; b++)
			e[b] = src[size - 1 - b];
		fp_feed(f, e, size);
	}
#else
	fp_feed(f, a->data, count * size);
#endif
}

static int by_name(const void *a, const void *b)
{
	const struct ck_member *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static int is_param(const struct ck_member *m)
{
	return m->tensor && strncmp(m->name, "params/", 7) == 0;
}

uint64_t dg_checkpoint_fingerprint(const struct dg_checkpoint *ck)
{
	struct fp f = {.h = 0xcbf29ce484222325ull};
	const struct ck_member **sorted = malloc((ck->n ? ck->n : 1) * sizeof *sorted);
	const char *last = NULL;
	size_t n = 0;

	/* Parameters in name order. */
	if (sorted) {
		for (size_t i = 0; i < ck->n; i++)
			if (is_param(&ck->m[i]))
				sorted[n++] = &ck->m[i];
		qsort(sorted, n, sizeof *sorted, by_name);
		for (size_t i = 0; i < n; i++)
			fp_tensor(&f, sorted[i]);
		free(sorted);
		return fp_end(&f);
	}
	/* No memory for sorting: repeated selection, slower but the same
	 * order, so that this function cannot fail. */
	for (;;) {
		const struct ck_member *next = NULL;
		for (size_t i = 0; i < ck->n; i++) {
			const struct ck_member *m = &ck->m[i];
			if (!is_param(m) || (last && strcmp(m->name, last) <= 0))
				continue;
			if (!next || strcmp(m->name, next->name) < 0)
				next = m;
		}
		if (!next)
			break;
		fp_tensor(&f, next);
		last = next->name;
	}
	return fp_end(&f);
}

char *dg_checkpoint_fingerprint_hex(const struct dg_checkpoint *ck, char buf[17])
{
	uint64_t h = dg_checkpoint_fingerprint(ck);
	static const char hex[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--, h >>= 4)
		buf[i] = hex[h & 15];
	buf[16] = 0;
	return buf;
}
