/* meta.c — record metadata: an ordered list of unique key=value pairs. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg/error.h"
#include "dg/stream.h"

#define MAX_KEY 64

struct dg_meta {
	size_t n, cap;
	char **keys, **values;
	/* Hash index of keys (open addressing, index + 1, 0 = empty), so
	 * that parsing a megabyte of tiny lines stays linear. */
	size_t *slots, nslots;
};

struct dg_meta *dg_meta_new(void)
{
	struct dg_meta *m = calloc(1, sizeof *m);
	if (!m)
		dg_error_nomem("metadata", sizeof *m);
	return m;
}

void dg_meta_free(struct dg_meta *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->keys[i]);
		free(m->values[i]);
	}
	free(m->keys);
	free(m->values);
	free(m->slots);
	free(m);
}

static int key_valid(const char *k, size_t len)
{
	if (len == 0 || len > MAX_KEY)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = k[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), and no NUL,
 * CR or LF, which would break the line format. */
static int value_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i], need, min, cp;
		if (c < 0x80) {
			if (c == 0 || c == '\n' || c == '\r')
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; cp = c & 0x07; }
		else
			return 0;
		if (len - i <= need)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/* FNV-1a */
static size_t hash(const char *key, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
	return (size_t)h;
}

static long find(const struct dg_meta *m, const char *key, size_t len)
{
	size_t mask = m->nslots - 1;

	if (!m->nslots)
		return -1;
	for (size_t s = hash(key, len) & mask; m->slots[s]; s = (s + 1) & mask) {
		const char *k = m->keys[m->slots[s] - 1];
		if (strncmp(k, key, len) == 0 && k[len] == 0)
			return (long)(m->slots[s] - 1);
	}
	return -1;
}

static void place(struct dg_meta *m, size_t i)
{
	size_t mask = m->nslots - 1, s = hash(m->keys[i], strlen(m->keys[i])) & mask;
	while (m->slots[s])
		s = (s + 1) & mask;
	m->slots[s] = i + 1;
}

/* Rebuilds the index with room for at least `want` keys at half load.
 * It never shrinks, so a rebuild for fewer keys cannot fail. */
static int reindex(struct dg_meta *m, size_t want)
{
	size_t n = m->nslots ? m->nslots : 16;
	size_t *slots;

	while (n < 2 * want)
		n *= 2;
	if (n != m->nslots) {
		slots = calloc(n, sizeof *slots);
		if (!slots)
			return dg_error_nomem("metadata", n * sizeof *slots);
		free(m->slots);
		m->slots = slots;
		m->nslots = n;
	} else {
		memset(m->slots, 0, n * sizeof *m->slots);
	}
	for (size_t i = 0; i < m->n; i++)
		place(m, i);
	return DG_OK;
}

static int set_n(struct dg_meta *m, const char *key, size_t klen,
		 const char *value, size_t vlen, int allow_replace)
{
	long at;
	char *v;

	if (!key_valid(key, klen))
		return dg_error(DG_EDATA, "invalid metadata key '%.*s'",
				(int)(klen > MAX_KEY ? MAX_KEY : klen), key);
	if (!value_valid((const unsigned char *)value, vlen))
		return dg_error(DG_EDATA, "metadata value of '%.*s' is not one line "
				"of UTF-8", (int)klen, key);
	at = find(m, key, klen);
	if (at >= 0 && !allow_replace)
		return dg_error(DG_EDATA, "metadata key '%.*s' repeated", (int)klen, key);
	v = strndup(value, vlen);
	if (!v)
		return dg_error_nomem("metadata", vlen);
	if (at >= 0) {
		free(m->values[at]);
		m->values[at] = v;
		return DG_OK;
	}
	if (2 * (m->n + 1) > m->nslots && reindex(m, m->n + 1)) {
		free(v);
		return DG_ENOMEM;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 8;
		char **k = realloc(m->keys, cap * sizeof *k);
		if (k)
			m->keys = k;
		char **vv = k ? realloc(m->values, cap * sizeof *vv) : NULL;
		if (!vv) {
			free(v);
			return dg_error_nomem("metadata", cap * sizeof *vv);
		}
		m->values = vv;
		m->cap = cap;
	}
	m->keys[m->n] = strndup(key, klen);
	if (!m->keys[m->n]) {
		free(v);
		return dg_error_nomem("metadata", klen);
	}
	m->values[m->n] = v;
	place(m, m->n++);
	return DG_OK;
}

int dg_meta_set(struct dg_meta *m, const char *key, const char *value)
{
	return set_n(m, key, strlen(key), value, strlen(value), 1);
}

int dg_meta_setf(struct dg_meta *m, const char *key, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf)
		return dg_error(DG_EINTERNAL, "metadata value of '%s' too long", key);
	return dg_meta_set(m, key, buf);
}

void dg_meta_unset(struct dg_meta *m, const char *key)
{
	long at = find(m, key, strlen(key));
	if (at < 0)
		return;
	free(m->keys[at]);
	free(m->values[at]);
	memmove(m->keys + at, m->keys + at + 1, (m->n - at - 1) * sizeof *m->keys);
	memmove(m->values + at, m->values + at + 1, (m->n - at - 1) * sizeof *m->values);
	m->n--;
	/* Indices moved: rebuild in place (this cannot fail). */
	reindex(m, m->n);
}

const char *dg_meta_get(const struct dg_meta *m, const char *key)
{
	long at = m ? find(m, key, strlen(key)) : -1;
	return at < 0 ? NULL : m->values[at];
}

size_t dg_meta_count(const struct dg_meta *m)
{
	return m ? m->n : 0;
}

const char *dg_meta_key(const struct dg_meta *m, size_t i)
{
	return i < m->n ? m->keys[i] : NULL;
}

const char *dg_meta_value(const struct dg_meta *m, size_t i)
{
	return i < m->n ? m->values[i] : NULL;
}

struct dg_meta *dg_meta_dup(const struct dg_meta *m)
{
	struct dg_meta *d = dg_meta_new();
	if (d && m && dg_meta_merge(d, m)) {
		dg_meta_free(d);
		return NULL;
	}
	return d;
}

int dg_meta_merge(struct dg_meta *dst, const struct dg_meta *src)
{
	for (size_t i = 0; src && i < src->n; i++) {
		int st = dg_meta_set(dst, src->keys[i], src->values[i]);
		if (st)
			return st;
	}
	return DG_OK;
}

int dg_meta_parse(struct dg_meta *m, const char *text, size_t len)
{
	size_t pos = 0, line = 0;

	while (pos < len) {
		const char *start = text + pos, *nl, *eq;
		size_t l;
		int st;

		line++;
		nl = memchr(start, '\n', len - pos);
		l = nl ? (size_t)(nl - start) : len - pos;
		eq = memchr(start, '=', l);
		if (!eq)
			return dg_error(DG_EDATA, "metadata line %zu has no '='", line);
		st = set_n(m, start, (size_t)(eq - start), eq + 1,
			   l - (size_t)(eq - start) - 1, 0);
		if (st)
			return dg_error_context(st, "metadata line %zu", line);
		pos += l + (nl ? 1 : 0);
	}
	return DG_OK;
}

int dg_meta_format(const struct dg_meta *m, char **text, size_t *len)
{
	size_t total = 0, at = 0;
	char *buf;

	for (size_t i = 0; m && i < m->n; i++)
		total += strlen(m->keys[i]) + strlen(m->values[i]) + 2;
	buf = malloc(total + 1);
	if (!buf)
		return dg_error_nomem("metadata", total + 1);
	for (size_t i = 0; m && i < m->n; i++)
		at += (size_t)sprintf(buf + at, "%s=%s\n", m->keys[i], m->values[i]);
	buf[at] = 0;
	*text = buf;
	*len = at;
	return DG_OK;
}

int dg_meta_set_labels(struct dg_meta *m, const int32_t *y, uint64_t n)
{
	size_t cap = n * 12 + 1;
	char *text = malloc(cap), *p = text;
	int st;

	if (!text)
		return dg_error_nomem("labels", cap);
	*p = 0;
	for (uint64_t i = 0; i < n; i++)
		p += sprintf(p, "%s%ld", i ? "," : "", (long)y[i]);
	st = dg_meta_set(m, "labels", text);
	free(text);
	return st;
}

int dg_meta_get_labels(const struct dg_meta *m, uint64_t n, int32_t *y, int *found)
{
	const char *p = dg_meta_get(m, "labels");

	*found = p != NULL;
	for (uint64_t i = 0; p && i < n; i++) {
		char *end;
		long x;
		errno = 0;
		x = strtol(p, &end, 10);
		if (end == p || errno || x < 0 || x > INT32_MAX || *p < '0' || *p > '9' ||
		    (i + 1 < n ? *end != ',' : *end != 0))
			return dg_error(DG_EDATA, "labels= does not hold %llu labels (0..2^31-1)",
					(unsigned long long)n);
		y[i] = (int32_t)x;
		p = end + 1;
	}
	if (p && n == 0 && *p)
		return dg_error(DG_EDATA, "labels= does not hold 0 labels");
	return DG_OK;
}
