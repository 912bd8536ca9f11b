/* t_png.c — PNG decoding of every colour type and depth against values
 * computed here, lossless round trips, hostile files, and grid geometry. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <png.h>
#include <zlib.h>
#include "tap.h"
#include "dg/error.h"
#include "dg/image.h"
#include "dg/stream.h"

/* ---- a PNG writer made with libpng directly, independent of png.c ---- */

struct membuf {
	unsigned char *p;
	size_t len, cap;
};

static void mem_write(png_structp png, png_bytep data, size_t n)
{
	struct membuf *b = png_get_io_ptr(png);
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void mem_flush(png_structp png)
{
	(void)png;
}

/* A test image: samples[(y*w + x)*ch + k] at the given depth, ch the
 * channels of the colour type (1 index for palette). */
struct spec {
	int type, depth, interlace;
	unsigned w, h;
	unsigned *samples;
	png_color pal[256];
	int npal;
	png_byte trns[256];   /* palette alpha */
	int ntrns;
	int has_trns_color;   /* gray/RGB tRNS */
	png_color_16 trns_color;
	int level;            /* zlib level + 1; 0 for libpng's default */
};

static unsigned type_channels(int type)
{
	switch (type) {
	case PNG_COLOR_TYPE_GRAY: return 1;
	case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
	case PNG_COLOR_TYPE_RGB: return 3;
	case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
	default: return 1;  /* palette index */
	}
}

/* Packs samples MSB first, as PNG stores them. */
static void pack_row(const struct spec *s, unsigned y, unsigned char *row)
{
	unsigned ch = type_channels(s->type), n = s->w * ch;
	memset(row, 0, ((size_t)n * s->depth + 7) / 8);
	for (unsigned i = 0; i < n; i++) {
		unsigned v = s->samples[(size_t)y * n + i];
		if (s->depth == 16) {
			row[2 * i] = (unsigned char)(v >> 8);
			row[2 * i + 1] = (unsigned char)v;
		} else if (s->depth == 8) {
			row[i] = (unsigned char)v;
		} else {
			unsigned bit = i * s->depth;
			row[bit / 8] |= (unsigned char)(v << (8 - s->depth - bit % 8));
		}
	}
}

static struct membuf make_png(const struct spec *s)
{
	struct membuf b = {0};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	unsigned char *row = malloc((size_t)s->w * 8 + 8);
	int passes;

	if (setjmp(png_jmpbuf(png)))
		abort();
	png_set_write_fn(png, &b, mem_write, mem_flush);
	if (s->level)
		png_set_compression_level(png, s->level - 1);
	png_set_IHDR(png, info, s->w, s->h, s->depth, s->type, s->interlace,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (s->type == PNG_COLOR_TYPE_PALETTE)
		png_set_PLTE(png, info, s->pal, s->npal);
	if (s->ntrns)
		png_set_tRNS(png, info, s->trns, s->ntrns, NULL);
	if (s->has_trns_color)
		png_set_tRNS(png, info, NULL, 0, (png_color_16p)&s->trns_color);
	png_write_info(png, info);
	passes = png_set_interlace_handling(png);
	for (int p = 0; p < passes; p++)
		for (unsigned y = 0; y < s->h; y++) {
			pack_row(s, y, row);
			png_write_row(png, row);
		}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(row);
	return b;
}

static uint32_t lcg_state = 12345;
static unsigned rnd(unsigned mod)
{
	lcg_state = lcg_state * 1664525u + 1013904223u;
	return (lcg_state >> 8) % mod;
}

/* The value png.c documents for pixel (x,y), channel k of the output. */
static float expected(const struct spec *s, unsigned x, unsigned y, unsigned k)
{
	unsigned ch = type_channels(s->type), max = (1u << s->depth) - 1;
	const unsigned *px = s->samples + ((size_t)y * s->w + x) * ch;
	unsigned c, a;
	int alpha;

	if (s->type == PNG_COLOR_TYPE_PALETTE) {
		const png_color *e = &s->pal[px[0]];
		c = k == 0 ? e->red : k == 1 ? e->green : e->blue;
		alpha = s->ntrns > 0;
		a = (int)px[0] < s->ntrns ? s->trns[px[0]] : 255;
		max = 255;
	} else {
		c = px[ch >= 3 ? k : 0];
		alpha = !(ch & 1) || s->has_trns_color;
		if (!(ch & 1))
			a = px[ch - 1];
		else if (ch == 1)
			a = s->has_trns_color && c == s->trns_color.gray ? 0 : max;
		else
			a = s->has_trns_color && px[0] == s->trns_color.red &&
			    px[1] == s->trns_color.green && px[2] == s->trns_color.blue ? 0 : max;
		/* gray below 8 bits is widened to 8 bits by replication */
		if (s->depth < 8) {
			c = c * (255 / max);
			a = a * (255 / max);
			max = 255;
		}
	}
	if (alpha)
		return (float)((double)c * a / ((double)max * max));
	return (float)c / (float)max;
}

static void check_decode(struct spec *s, const char *what)
{
	unsigned ch = type_channels(s->type), max = (1u << s->depth) - 1;
	unsigned cout = s->type & PNG_COLOR_MASK_COLOR ? 3 : 1;
	size_t n = (size_t)s->w * s->h * ch;
	struct membuf b;
	struct dg_array *a = NULL;
	int st, bad = 0;

	s->samples = malloc(n * sizeof *s->samples);
	for (size_t i = 0; i < n; i++)
		s->samples[i] = s->type == PNG_COLOR_TYPE_PALETTE ? rnd((unsigned)s->npal)
								  : rnd(max + 1);
	/* make the transparent colour occur */
	if (s->has_trns_color) {
		for (unsigned k = 0; k < ch; k++)
			s->samples[k] = k == 0 ? (ch == 1 ? s->trns_color.gray : s->trns_color.red)
					       : k == 1 ? s->trns_color.green : s->trns_color.blue;
	}
	b = make_png(s);
	st = dg_png_decode(b.p, b.len, what, &a);
	if (!is_int(st, 0, "%s: decodes", what)) {
		diag("%s", dg_errmsg());
		goto out;
	}
	ok(a->dtype == DG_F32 && a->rank == 4 && a->dims[0] == 1 && a->dims[1] == cout &&
	   a->dims[2] == s->h && a->dims[3] == s->w, "%s: 1x%ux%ux%u f32", what,
	   cout, s->h, s->w);
	for (unsigned k = 0; k < cout && !bad; k++)
		for (unsigned y = 0; y < s->h && !bad; y++)
			for (unsigned x = 0; x < s->w && !bad; x++) {
				float got = ((float *)a->data)[((size_t)k * s->h + y) * s->w + x];
				float want = expected(s, x, y, k);
				if (memcmp(&got, &want, sizeof got)) {
					diag("(%u,%u,%u): got %.9g want %.9g", x, y, k, got, want);
					bad = 1;
				}
			}
	ok(!bad, "%s: every value exact", what);
	is_str(dg_meta_get(a->meta, "space"), "image", "%s: space=image", what);
out:
	dg_array_free(a);
	free(b.p);
	free(s->samples);
}

static void test_colour_types(void)
{
	static const struct { int type, depth; const char *name; } cases[] = {
		{PNG_COLOR_TYPE_GRAY, 1, "gray1"},   {PNG_COLOR_TYPE_GRAY, 2, "gray2"},
		{PNG_COLOR_TYPE_GRAY, 4, "gray4"},   {PNG_COLOR_TYPE_GRAY, 8, "gray8"},
		{PNG_COLOR_TYPE_GRAY, 16, "gray16"},
		{PNG_COLOR_TYPE_GRAY_ALPHA, 8, "ga8"}, {PNG_COLOR_TYPE_GRAY_ALPHA, 16, "ga16"},
		{PNG_COLOR_TYPE_RGB, 8, "rgb8"},     {PNG_COLOR_TYPE_RGB, 16, "rgb16"},
		{PNG_COLOR_TYPE_RGB_ALPHA, 8, "rgba8"}, {PNG_COLOR_TYPE_RGB_ALPHA, 16, "rgba16"},
		{PNG_COLOR_TYPE_PALETTE, 1, "pal1"}, {PNG_COLOR_TYPE_PALETTE, 4, "pal4"},
		{PNG_COLOR_TYPE_PALETTE, 8, "pal8"},
	};
	char name[64];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (int il = 0; il < 2; il++)
			for (int trns = 0; trns < 2; trns++) {
				struct spec s;
				int pal = cases[i].type == PNG_COLOR_TYPE_PALETTE;
				if (trns && !pal && (cases[i].type & PNG_COLOR_MASK_ALPHA))
					continue;
				memset(&s, 0, sizeof s);
				s.type = cases[i].type;
				s.depth = cases[i].depth;
				s.interlace = il ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE;
				s.w = 13;  /* odd sizes leave Adam7 passes uneven */
				s.h = 7;
				if (pal) {
					s.npal = 1 << (s.depth < 8 ? s.depth : 7);
					for (int k = 0; k < s.npal; k++) {
						s.pal[k].red = (png_byte)rnd(256);
						s.pal[k].green = (png_byte)rnd(256);
						s.pal[k].blue = (png_byte)rnd(256);
					}
					if (trns) {
						s.ntrns = s.npal > 2 ? s.npal / 2 : 1;
						for (int k = 0; k < s.ntrns; k++)
							s.trns[k] = (png_byte)rnd(256);
					}
				} else if (trns) {
					unsigned max = (1u << s.depth) - 1;
					s.has_trns_color = 1;
					s.trns_color.gray = (png_uint_16)rnd(max + 1);
					s.trns_color.red = (png_uint_16)rnd(max + 1);
					s.trns_color.green = (png_uint_16)rnd(max + 1);
					s.trns_color.blue = (png_uint_16)rnd(max + 1);
				}
				snprintf(name, sizeof name, "%s%s%s", cases[i].name,
					 il ? " interlaced" : "", trns ? " tRNS" : "");
				check_decode(&s, name);
			}
}

/* ---- writing ---------------------------------------------------------- */

/* Writes image i of a to memory through dg_png_write. */
static int write_mem(const struct dg_array *a, size_t i, int depth, char **buf, size_t *len)
{
	struct dg_png_options o = {.bit_depth = depth};
	FILE *f = open_memstream(buf, len);
	int st = dg_png_write(f, "mem", a, i, &o);
	fclose(f);
	return st;
}

static struct dg_array *random_u8(unsigned n, unsigned c, unsigned h, unsigned w)
{
	uint64_t d[4] = {n, c, h, w};
	struct dg_array *a = dg_array_new(DG_U8, 4, d);
	for (size_t i = 0; i < dg_array_count(a); i++)
		((unsigned char *)a->data)[i] = (unsigned char)rnd(256);
	return a;
}

static void test_round_trip(void)
{
	for (unsigned c = 1; c <= 3; c += 2) {
		struct dg_array *u = random_u8(3, c, 9, 17), *f = dg_array_to_f32(u, 1), *back = NULL;
		char *b1 = NULL, *b2 = NULL, *b3 = NULL;
		size_t l1, l2, l3;
		int same = 1;

		is_int(write_mem(u, 2, 8, &b1, &l1), 0, "C=%u: u8 image 2 written", c);
		is_int(write_mem(f, 2, 8, &b2, &l2), 0, "C=%u: f32 image 2 written", c);
		ok(l1 == l2 && !memcmp(b1, b2, l1), "C=%u: f32 v/255 and u8 v give the same bytes", c);
		is_int(write_mem(f, 2, 8, &b3, &l3), 0, "C=%u: written again", c);
		ok(l1 == l3 && !memcmp(b1, b3, l1), "C=%u: output is deterministic", c);
		ok(!memmem(b1, l1, "tIME", 4), "C=%u: no tIME chunk", c);
		is_int(dg_png_decode(b1, l1, "rt", &back), 0, "C=%u: read back", c);
		if (back) {
			ok(back->dims[1] == c && back->dims[2] == 9 && back->dims[3] == 17,
			   "C=%u: shape kept", c);
			for (size_t i = 0; i < (size_t)c * 9 * 17; i++) {
				unsigned v = ((unsigned char *)u->data)[2 * c * 9 * 17 + i];
				float g = ((float *)back->data)[i];
				if (g != (float)v / 255.0f || (unsigned)(g * 255 + 0.5f) != v)
					same = 0;
			}
			ok(same, "C=%u: 8-bit round trip is lossless", c);
		}
		dg_array_free(back);
		back = NULL;
		free(b1);
		free(b2);
		free(b3);
		/* 16 bits: every value k/65535 survives */
		{
			uint64_t d[3] = {c, 5, 300};
			struct dg_array *s = dg_array_new(DG_F32, 3, d);
			float *p = s->data;
			char *b = NULL;
			size_t l;
			same = 1;
			for (size_t i = 0; i < dg_array_count(s); i++)
				p[i] = (float)((i * 7919) % 65536) / 65535.0f;
			is_int(write_mem(s, 0, 16, &b, &l), 0, "C=%u: 16-bit written", c);
			is_int(dg_png_decode(b, l, "rt16", &back), 0, "C=%u: 16-bit read back", c);
			for (size_t i = 0; back && i < dg_array_count(s); i++)
				if (((float *)back->data)[i] != p[i])
					same = 0;
			ok(back && same, "C=%u: 16-bit round trip is lossless", c);
			dg_array_free(back);
			back = NULL;
			dg_array_free(s);
			free(b);
		}
		dg_array_free(u);
		dg_array_free(f);
	}
}

/* dg_png_write_file replaces a file atomically: the old file until the
 * new one is whole, no temporary left behind, the old file kept when the
 * write fails. */
static void test_write_file(void)
{
	char dir[] = "/tmp/t_png.XXXXXX", path[64], bad[96];
	struct dg_array *u = random_u8(2, 3, 5, 7), *back = NULL;
	char *mem = NULL, *file = NULL;
	size_t lm = 0, lf = 0;

	if (!mkdtemp(dir)) {
		ok(0, "temporary folder");
		return;
	}
	snprintf(path, sizeof path, "%s/x.png", dir);
	FILE *old = fopen(path, "w");
	fputs("old contents", old);
	fclose(old);
	is_int(dg_png_write_file(path, u, 1, NULL), 0, "image 1 written over an existing file");
	write_mem(u, 1, 8, &mem, &lm);
	FILE *f = fopen(path, "rb");
	if (f) {
		file = malloc(lm + 1);
		lf = fread(file, 1, lm + 1, f);
		fclose(f);
	}
	ok(file && lf == lm && !memcmp(file, mem, lm), "the file holds what dg_png_write writes");
	is_int(dg_png_read(path, &back), 0, "and reads back");
	dg_array_free(back);
	back = NULL;
	DIR *d = opendir(dir);
	int entries = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	is_int(entries, 1, "no temporary file left beside it");
	uint64_t bd[3] = {2, 5, 7};   /* 2 channels: refused */
	struct dg_array *two = dg_array_new(DG_U8, 3, bd);
	ok(dg_png_write_file(path, two, 0, NULL) == DG_EUSAGE, "a bad image is refused");
	is_int(dg_png_read(path, &back), 0, "and the file is untouched");
	snprintf(bad, sizeof bad, "%s/missing/x.png", dir);
	ok(dg_png_write_file(bad, u, 0, NULL) == DG_ECANTCREAT && strstr(dg_errmsg(), "missing"),
	   "a missing folder: %s", dg_errmsg());
	dg_array_free(back);
	dg_array_free(two);
	dg_array_free(u);
	free(mem);
	free(file);
	unlink(path);
	rmdir(dir);
}

static void test_clamp(void)
{
	uint64_t d[4] = {1, 1, 1, 7};
	struct dg_array *a = dg_array_new(DG_F32, 4, d), *back = NULL;
	float in[7] = {-0.5f, 1.5f, NAN, 0.5f, 1.0f / 510, 0.999f, INFINITY};
	unsigned want[7] = {0, 255, 0, 128, 1, 255, 255};
	char *b = NULL;
	size_t l;
	int good = 1;

	memcpy(a->data, in, sizeof in);
	is_int(write_mem(a, 0, 8, &b, &l), 0, "clamp: written");
	is_int(dg_png_decode(b, l, "clamp", &back), 0, "clamp: read back");
	for (int i = 0; back && i < 7; i++) {
		unsigned v = (unsigned)(((float *)back->data)[i] * 255 + 0.5f);
		if (v != want[i]) {
			diag("value %g became %u, want %u", in[i], v, want[i]);
			good = 0;
		}
	}
	ok(back && good, "clamp: values clamped to [0,1] and rounded to nearest");
	dg_array_free(back);
	free(b);
	/* bad arrays are refused */
	b = NULL;
	{
		uint64_t d2[4] = {1, 2, 3, 3};
		struct dg_array *two = dg_array_new(DG_F32, 4, d2);
		is_int(write_mem(two, 0, 8, &b, &l), DG_EUSAGE, "2 channels refused");
		free(b);
		b = NULL;
		is_int(write_mem(a, 1, 8, &b, &l), DG_EUSAGE, "image index out of range refused");
		free(b);
		b = NULL;
		is_int(write_mem(a, 0, 12, &b, &l), DG_EUSAGE, "bit depth 12 refused");
		free(b);
		dg_array_free(two);
	}
	dg_array_free(a);
}

/* ---- hostile input ---------------------------------------------------- */

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Signature + IHDR (with a correct CRC) declaring w×h 8-bit gray. */
static size_t ihdr_only(unsigned char *p, uint32_t w, uint32_t h)
{
	static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
	memcpy(p, sig, 8);
	put32(p + 8, 13);
	memcpy(p + 12, "IHDR", 4);
	put32(p + 16, w);
	put32(p + 20, h);
	p[24] = 8;
	p[25] = 0;
	p[26] = p[27] = p[28] = 0;
	put32(p + 29, (uint32_t)crc32(0, p + 12, 17));
	return 33;
}

static int refused(const void *buf, size_t len, const char *name, const char *what)
{
	struct dg_array *a = (struct dg_array *)1;
	int st = dg_png_decode(buf, len, name, &a);
	if (st == 0 || a != NULL || !strstr(dg_errmsg(), name)) {
		diag("%s: status %d, message '%s'", what, st, dg_errmsg());
		dg_array_free(st == 0 ? a : NULL);
		return 0;
	}
	return 1;
}

static void test_hostile(void)
{
	struct spec s;
	struct membuf b;
	unsigned char hdr[64];
	size_t n, bad = 0;
	struct dg_array *a = NULL;

	memset(&s, 0, sizeof s);
	s.type = PNG_COLOR_TYPE_RGB;
	s.depth = 8;
	s.w = 6;
	s.h = 5;
	s.interlace = PNG_INTERLACE_ADAM7;
	s.samples = malloc(6 * 5 * 3 * sizeof *s.samples);
	for (int i = 0; i < 90; i++)
		s.samples[i] = rnd(256);
	b = make_png(&s);
	free(s.samples);
	is_int(dg_png_decode(b.p, b.len, "whole.png", &a), 0, "the intact file decodes");
	dg_array_free(a);
	for (size_t cut = 0; cut < b.len; cut++)
		if (!refused(b.p, cut, "cut.png", "truncated"))
			bad++;
	ok(!bad, "truncated at each of %zu offsets: refused with a message", b.len);
	diag("e.g. %s", (refused(b.p, b.len - 5, "cut.png", "t"), dg_errmsg()));
	/* flip a bit in each byte past the signature: CRCs catch all of it,
	 * except bits libpng does not check at all (none in critical chunks) */
	bad = 0;
	for (size_t i = 8; i < b.len; i++) {
		b.p[i] ^= 0x10;
		if (!refused(b.p, b.len, "flip.png", "bit flip"))
			bad++;
		b.p[i] ^= 0x10;
	}
	ok(!bad, "a flipped bit anywhere in a chunk is refused (%zu escaped)", bad);
	b.p[b.len - 13] ^= 1;  /* last IDAT's CRC */
	ok(refused(b.p, b.len, "crc.png", "bad CRC") && strstr(dg_errmsg(), "CRC"),
	   "bad IDAT CRC: %s", dg_errmsg());
	free(b.p);

	n = ihdr_only(hdr, 100000, 100000);
	ok(refused(hdr, n, "huge.png", "huge") && strstr(dg_errmsg(), "limit"),
	   "100000x100000 refused from the IHDR: %s", dg_errmsg());
	n = ihdr_only(hdr, DG_PNG_MAX_SIDE + 1, 1);
	ok(refused(hdr, n, "wide.png", "wide") && strstr(dg_errmsg(), "limit"),
	   "one pixel too wide refused: %s", dg_errmsg());
	n = ihdr_only(hdr, 8192, 8193);
	ok(refused(hdr, n, "many.png", "many") && strstr(dg_errmsg(), "limit"),
	   "one row too many pixels refused: %s", dg_errmsg());
	n = ihdr_only(hdr, 16384, 4096);
	ok(refused(hdr, n, "bomb.png", "bomb") && strstr(dg_errmsg(), "cannot hold"),
	   "64M pixels declared in 33 bytes refused before allocating: %s", dg_errmsg());
	/* ...while the most compressible real image still passes that check */
	memset(&s, 0, sizeof s);
	s.type = PNG_COLOR_TYPE_GRAY;
	s.depth = 1;
	s.w = s.h = 4096;
	s.level = 10;
	s.samples = calloc((size_t)s.w * s.h, sizeof *s.samples);
	b = make_png(&s);
	free(s.samples);
	is_int(dg_png_decode(b.p, b.len, "zeros.png", &a), 0,
	       "a 4096x4096 1-bit black image (%zu bytes, %.0f:1) decodes", b.len,
	       4096.0 * 513 / b.len);
	dg_array_free(a);
	free(b.p);
	n = ihdr_only(hdr, 0, 5);
	ok(refused(hdr, n, "zero.png", "zero"), "zero width refused: %s", dg_errmsg());
	ok(refused("GIF89a\0\0\0\0\0\0", 12, "gif.png", "gif") &&
	   strstr(dg_errmsg(), "not a PNG"), "not a PNG: %s", dg_errmsg());
	ok(refused("", 0, "empty.png", "empty"), "zero length: %s", dg_errmsg());
	ok(refused(NULL, 0, "null.png", "null"), "NULL, 0 refused");
	is_int(dg_png_read("/nonexistent/x.png", &a), DG_ENOINPUT, "missing file: DG_ENOINPUT");
	ok(a == NULL && strstr(dg_errmsg(), "/nonexistent/x.png") != NULL,
	   "missing file named: %s", dg_errmsg());
}

/* ---- grids ------------------------------------------------------------ */

static void test_grid(void)
{
	struct dg_grid_options o = {.cols = 8, .rows = 8, .pad = 2, .pad_value = 0.25f, .scale = 2};
	uint64_t d[4] = {70, 1, 28, 28}, gh, gw;
	struct dg_array *im = dg_array_new(DG_F32, 4, d), *g = NULL;
	unsigned c, r;
	int bad = 0;

	for (size_t i = 0; i < dg_array_count(im); i++)
		((float *)im->data)[i] = (float)rnd(1000) / 999.0f;
	is_int(dg_grid_layout(&o, 64, 28, 28, &c, &r, &gh, &gw), 0, "8x8 layout");
	ok(c == 8 && r == 8 && gh == 466 && gw == 466, "64 of 28x28, pad 2, scale 2: 466x466 (%llux%llu)",
	   (unsigned long long)gw, (unsigned long long)gh);
	is_int(dg_image_grid(im, 3, 64, &o, &g), 0, "grid of images 3..66");
	ok(g && g->dims[0] == 1 && g->dims[1] == 1 && g->dims[2] == 466 && g->dims[3] == 466,
	   "grid array is 1x1x466x466");
	for (size_t y = 0; g && y < 466 && !bad; y++)
		for (size_t x = 0; x < 466 && !bad; x++) {
			float want = o.pad_value, got = ((float *)g->data)[y * 466 + x];
			size_t cy = y % 58, cx = x % 58;  /* 58 = pad + 56 */
			if (cy >= 2 && cx >= 2 && y < 464 && x < 464) {
				size_t k = (y / 58) * 8 + x / 58;
				want = ((float *)im->data)[(3 + k) * 784 + (cy - 2) / 2 * 28 + (cx - 2) / 2];
			}
			if (got != want) {
				diag("(%zu,%zu): got %g want %g", x, y, got, want);
				bad = 1;
			}
		}
	ok(g && !bad, "every grid pixel is its image's nearest neighbour or padding");
	dg_array_free(g);
	g = NULL;

	o = (struct dg_grid_options){0};
	is_int(dg_grid_layout(&o, 10, 28, 28, &c, &r, &gh, &gw), 0, "auto layout of 10");
	ok(c == 4 && r == 3 && gw == 112 && gh == 84, "10 -> 4x3, no pad: 112x84");
	is_int(dg_grid_layout(&o, 64, 28, 28, &c, &r, &gh, &gw), 0, "auto layout of 64");
	ok(c == 8 && r == 8, "64 -> 8x8");
	is_int(dg_grid_layout(&o, 1, 5, 7, &c, &r, &gh, &gw), 0, "auto layout of 1");
	ok(c == 1 && r == 1 && gh == 5 && gw == 7, "1 -> 1x1, the image itself");
	o.cols = 3;
	dg_grid_layout(&o, 10, 28, 28, &c, &r, &gh, &gw);
	ok(c == 3 && r == 4, "10 with 3 columns -> 4 rows");
	o.cols = 0;
	o.rows = 2;
	dg_grid_layout(&o, 10, 28, 28, &c, &r, &gh, &gw);
	ok(c == 5 && r == 2, "10 with 2 rows -> 5 columns");
	o.cols = 3;
	o.rows = 3;
	is_int(dg_grid_layout(&o, 10, 28, 28, &c, &r, &gh, &gw), DG_EUSAGE,
	       "10 in 3x3 refused: %s", dg_errmsg());
	is_int(dg_grid_layout(&o, 0, 28, 28, &c, &r, &gh, &gw), DG_EUSAGE, "no images refused");
	o.scale = 1000;
	is_int(dg_grid_layout(&o, 9, 28, 28, &c, &r, &gh, &gw), DG_EUSAGE,
	       "a grid beyond the PNG limits refused: %s", dg_errmsg());
	o.scale = 4000000000u;
	o.pad = 4000000000u;
	is_int(dg_grid_layout(&o, 9, 28, 28, &c, &r, &gh, &gw), DG_EUSAGE,
	       "huge scale and pad do not wrap around");
	dg_array_free(im);

	/* u8 in, u8 out; unused cells padded; padding rounded */
	{
		struct dg_array *u = random_u8(5, 3, 2, 3);
		struct dg_grid_options q = {.cols = 3, .rows = 2, .pad = 1, .pad_value = 0.5f, .scale = 1};
		const unsigned char *p, *s = u->data;
		is_int(dg_image_grid(u, 0, 5, &q, &g), 0, "u8 grid of 5 in 3x2");
		ok(g && g->dtype == DG_U8 && g->dims[1] == 3 && g->dims[2] == 7 && g->dims[3] == 13,
		   "u8 grid is 1x3x7x13 u8");
		p = g ? g->data : NULL;
		ok(p && p[0] == 128 && p[13 * 4 + 9 + 0] == 128 && p[13 * 5 + 10] == 128,
		   "padding and the empty sixth cell hold 128");
		/* image 4 (row 1, col 1), channel 2, pixel (1,2) */
		ok(p && p[(2 * 7 + 1 + 3 + 1) * 13 + 1 + 4 + 2] == s[(4 * 3 + 2) * 6 + 1 * 3 + 2],
		   "u8 pixel lands in its cell");
		is_int(dg_image_grid(u, 3, 3, &q, &(struct dg_array *){NULL}), DG_EUSAGE,
		       "images past the end refused");
		dg_array_free(g);
		dg_array_free(u);
	}
}

/* ---- files: the fuzzer's seeds decode, its findings fail cleanly ------ */

/* Decodes every file in DG_SRC/dir; want_ok says whether all must decode.
 * Returns how many files there were. */
static int decode_folder(const char *dir, int want_ok)
{
	const char *src = getenv("DG_SRC");
	char path[4096];
	DIR *d;
	struct dirent *e;
	int files = 0;

	snprintf(path, sizeof path, "%s/%s", src ? src : ".", dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct dg_array *a = NULL;
		int st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s/%s", src ? src : ".", dir, e->d_name);
		st = dg_png_read(path, &a);
		files++;
		if (want_ok)
			ok(st == 0 && a && a->rank == 4, "%s decodes", e->d_name);
		else
			ok(st ? a == NULL && strstr(dg_errmsg(), e->d_name) != NULL : a != NULL,
			   "%s: %s", e->d_name, st ? dg_errmsg() : "decodes");
		dg_array_free(a);
	}
	closedir(d);
	return files;
}

int main(void)
{
	test_colour_types();
	test_round_trip();
	test_write_file();
	test_clamp();
	test_hostile();
	test_grid();
	ok(decode_folder("tests/fuzz/corpus/fuzz_png", 1) >= 20, "seed corpus found (DG_SRC)");
	ok(decode_folder("tests/data/fuzz/fuzz_png", 0) >= 1, "fuzz regression inputs found");
	return done_testing();
}
