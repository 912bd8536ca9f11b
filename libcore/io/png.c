/* png.c — PNG reading and writing through libpng, with libpng's errors
 * caught (setjmp) and turned into dg errors; no path leaks memory. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include "dg/error.h"
#include "dg/image.h"
#include "dg/stream.h"
#include "io/atomic.h"

/* Largest PNG file dg_png_read() loads: a maximal image (DG_PNG_MAX_PIXELS
 * RGBA at 16 bits) stored without any compression, plus room for chunks. */
#define PNG_MAX_FILE ((uint64_t)DG_PNG_MAX_PIXELS * 8 + ((uint64_t)64 << 20))

/* Largest ancillary chunk (text, ICC profile...) libpng may allocate,
 * decompressed; keeps a zTXt bomb from costing more than this. */
#define PNG_MAX_CHUNK (8u << 20)

/* Everything one decode or encode owns.  It lives in the frame of the
 * function that calls the setjmp'ing one, so a longjmp cannot leave its
 * fields indeterminate (C11 7.13.2.1). */
struct png_ctx {
	jmp_buf jmp;
	const char *name;
	char msg[256];            /* libpng's error message */
	int status;               /* status for msg, DG_EDATA unless set */
	png_structp png;
	png_infop info;
	unsigned char *rows;      /* decoded rows (one row unless interlaced) */
	unsigned char *row;       /* encoder's row */
	struct dg_array *out;
	/* memory source */
	const unsigned char *buf;
	size_t len, pos;
	/* file sink */
	FILE *f;
};

static void on_error(png_structp png, png_const_charp msg)
{
	struct png_ctx *c = png_get_error_ptr(png);

	if (!c->msg[0])
		snprintf(c->msg, sizeof c->msg, "%s", msg);
	longjmp(c->jmp, 1);
}

/* Warnings (a bad ancillary chunk, an unknown sRGB profile...) do not make
 * an image wrong, and libcore never prints; they are dropped. */
static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* Fails from inside a libpng callback with our own message and status. */
static void fail(struct png_ctx *c, int status, const char *msg)
{
	c->status = status;
	snprintf(c->msg, sizeof c->msg, "%s", msg);
	longjmp(c->jmp, 1);
}

static void read_mem(png_structp png, png_bytep data, size_t n)
{
	struct png_ctx *c = png_get_io_ptr(png);

	if (n > c->len - c->pos)
		fail(c, DG_EDATA, "truncated file");
	memcpy(data, c->buf + c->pos, n);
	c->pos += n;
}

/* ---- decoding --------------------------------------------------------- */

/* Converts decoded row y (8- or 16-bit big-endian samples, nch channels
 * interleaved, alpha last when present) into the planar f32 output.
 * Alpha is composited onto black: out = colour * alpha. */
static void convert_row(const struct png_ctx *c, const unsigned char *src,
			unsigned y, unsigned w, unsigned nch, unsigned depth)
{
	unsigned cout = nch >= 3 ? 3 : 1, has_alpha = !(nch & 1);
	size_t plane = (size_t)c->out->dims[2] * w;
	float *dst = (float *)c->out->data + (size_t)y * w;
	double max = depth == 16 ? 65535.0 : 255.0;

	for (unsigned x = 0; x < w; x++) {
		unsigned v[4];
		for (unsigned k = 0; k < nch; k++) {
			const unsigned char *p = src + ((size_t)x * nch + k) * (depth / 8);
			v[k] = depth == 16 ? (unsigned)p[0] << 8 | p[1] : p[0];
		}
		for (unsigned k = 0; k < cout; k++) {
			float f;
			if (has_alpha)
				f = (float)((double)v[k] * v[nch - 1] / (max * max));
			else
				f = (float)v[k] / (float)max;
			dst[k * plane + x] = f;
		}
	}
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Whether w×h breaks the limits; if so the message is set. */
static int too_big(struct png_ctx *c, uint32_t w, uint32_t h)
{
	if (w <= DG_PNG_MAX_SIDE && h <= DG_PNG_MAX_SIDE &&
	    (uint64_t)w * h <= DG_PNG_MAX_PIXELS)
		return 0;
	snprintf(c->msg, sizeof c->msg, "image of %lux%lu pixels exceeds the "
		 "limit of %d pixels per side and %u pixels in all",
		 (unsigned long)w, (unsigned long)h, DG_PNG_MAX_SIDE,
		 (unsigned)DG_PNG_MAX_PIXELS);
	return 1;
}

/* Whether the file is too small to hold the pixels its IHDR declares.
 * Deflate packs at most 258 bytes into 2 bits (1032:1), so this refuses
 * what cannot be a whole image before its rows are allocated: a few
 * hundred bytes cannot make us claim a gigabyte.  An IHDR that makes no
 * sense is left for libpng to refuse. */
static int too_short(struct png_ctx *c, uint32_t w, uint32_t h, unsigned depth,
		     unsigned type)
{
	static const unsigned channels[7] = {1, 0, 3, 1, 2, 0, 4};
	uint64_t raw;

	if (type > 6 || !channels[type] || depth > 16)
		return 0;
	raw = (uint64_t)h * (((uint64_t)w * channels[type] * depth + 7) / 8 + 1);
	if ((uint64_t)c->len * 1032 + 4096 >= raw)
		return 0;
	snprintf(c->msg, sizeof c->msg, "truncated file: %zu bytes cannot hold "
		 "the %llu bytes of a %lux%lu image", c->len,
		 (unsigned long long)raw, (unsigned long)w, (unsigned long)h);
	return 1;
}

static int decode(struct png_ctx *c)
{
	png_uint_32 w, h;
	int depth, type, interlace, passes;
	unsigned nch;
	size_t rowbytes;
	uint64_t dims[4];

	if (setjmp(c->jmp))
		return c->status ? c->status : DG_EDATA;
	c->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
	if (!c->png)
		return dg_error(DG_ENOMEM, "out of memory for libpng");
	c->info = png_create_info_struct(c->png);
	if (!c->info)
		return dg_error(DG_ENOMEM, "out of memory for libpng");
	png_set_read_fn(c->png, c, read_mem);
	/* Our limits are checked below with a clearer message; libpng's own
	 * are a second fence. */
	png_set_user_limits(c->png, DG_PNG_MAX_SIDE, DG_PNG_MAX_SIDE);
	png_set_chunk_malloc_max(c->png, PNG_MAX_CHUNK);
	/* The IHDR must come first, so its size can be judged before libpng
	 * reads (and allocates for) anything else. */
	if (c->len >= 26 && !memcmp(c->buf + 12, "IHDR", 4) &&
	    (too_big(c, get32(c->buf + 16), get32(c->buf + 20)) ||
	     too_short(c, get32(c->buf + 16), get32(c->buf + 20), c->buf[24], c->buf[25])))
		return DG_EDATA;
	png_read_info(c->png, c->info);
	png_get_IHDR(c->png, c->info, &w, &h, &depth, &type, &interlace, NULL, NULL);
	if (too_big(c, w, h))
		return DG_EDATA;
	/* Palette -> RGB, gray below 8 bits -> 8 bits, tRNS -> alpha; 16-bit
	 * samples are kept and scaled exactly below. */
	png_set_expand(c->png);
	passes = png_set_interlace_handling(c->png);
	png_read_update_info(c->png, c->info);
	nch = png_get_channels(c->png, c->info);
	depth = png_get_bit_depth(c->png, c->info);
	rowbytes = png_get_rowbytes(c->png, c->info);
	if (nch < 1 || nch > 4 || (depth != 8 && depth != 16) ||
	    rowbytes != (size_t)w * nch * (unsigned)depth / 8) {
		snprintf(c->msg, sizeof c->msg, "unexpected layout after expansion "
			 "(%u channels, %d bits)", nch, depth);
		return DG_EINTERNAL;
	}
	dims[0] = 1;
	dims[1] = nch >= 3 ? 3 : 1;
	dims[2] = h;
	dims[3] = w;
	c->out = dg_array_new(DG_F32, 4, dims);
	/* An interlaced image arrives in passes over the whole frame, so it
	 * needs every row; otherwise one row at a time. */
	c->rows = calloc(passes > 1 ? h : 1, rowbytes);
	if (!c->out || !c->rows || dg_meta_set(c->out->meta, "space", "image")) {
		c->status = DG_ENOMEM;
		snprintf(c->msg, sizeof c->msg, "out of memory for a %lux%lu image",
			 (unsigned long)w, (unsigned long)h);
		return DG_ENOMEM;
	}
	for (int p = 0; p < passes; p++)
		for (png_uint_32 y = 0; y < h; y++) {
			unsigned char *row = c->rows + (passes > 1 ? rowbytes * y : 0);
			png_read_row(c->png, row, NULL);
			if (passes == 1)
				convert_row(c, row, y, w, nch, (unsigned)depth);
		}
	if (passes > 1)
		for (png_uint_32 y = 0; y < h; y++)
			convert_row(c, c->rows + rowbytes * y, y, w, nch, (unsigned)depth);
	/* Reads up to IEND, so a file cut after its pixels is still refused. */
	png_read_end(c->png, NULL);
	return DG_OK;
}

int dg_png_decode(const void *buf, size_t len, const char *name, struct dg_array **out)
{
	struct png_ctx c;
	int st;

	memset(&c, 0, sizeof c);
	*out = NULL;
	name = name ? name : "PNG";
	if (len < 8 || png_sig_cmp(buf, 0, 8))
		return dg_error(DG_EDATA, "%s: not a PNG file", name);
	c.name = name;
	c.buf = buf;
	c.len = len;
	st = decode(&c);
	if (st && c.msg[0])
		dg_error(st, "%s: %s", name, c.msg);
	else if (st)
		dg_error_context(st, "%s", name);
	png_destroy_read_struct(&c.png, c.info ? &c.info : NULL, NULL);
	free(c.rows);
	if (st) {
		dg_array_free(c.out);
		return st;
	}
	*out = c.out;
	return DG_OK;
}

int dg_png_read(const char *path, struct dg_array **out)
{
	FILE *f;
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int st;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f)
		return dg_error_errno("%s", path);
	for (;;) {
		size_t n;
		if (len == cap) {
			unsigned char *nb;
			if (cap >= PNG_MAX_FILE) {
				free(buf);
				fclose(f);
				return dg_error(DG_EDATA, "%s: file larger than any PNG "
						"dg accepts", path);
			}
			cap = cap ? cap * 2 : 1 << 16;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return dg_error_nomem(path, cap);
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		st = dg_error_errno("%s: read error", path);
		free(buf);
		fclose(f);
		return st;
	}
	fclose(f);
	st = dg_png_decode(buf, len, path, out);
	free(buf);
	return st;
}

/* ---- encoding --------------------------------------------------------- */

static void write_file(png_structp png, png_bytep data, size_t n)
{
	struct png_ctx *c = png_get_io_ptr(png);
	char msg[200];

	if (fwrite(data, 1, n, c->f) != n) {
		snprintf(msg, sizeof msg, "write error: %s", strerror(errno));
		fail(c, DG_EIO, msg);
	}
}

static void flush_file(png_structp png)
{
	(void)png;  /* the caller flushes f when it is done with it */
}

/* Sample k of image element j as an integer of the output depth: f32 is
 * clamped to [0,1] (NaN -> 0) and rounded to nearest; u8 is exact. */
static unsigned sample(const struct dg_array *a, size_t j, unsigned depth)
{
	unsigned max = depth == 16 ? 65535 : 255;

	if (a->dtype == DG_U8) {
		unsigned v = ((const unsigned char *)a->data)[j];
		return depth == 16 ? v * 257 : v;
	} else {
		float v = ((const float *)a->data)[j];
		if (!(v > 0))
			return 0;
		if (v >= 1)
			return max;
		return (unsigned)(v * (float)max + 0.5f);
	}
}

static int encode(struct png_ctx *c, const struct dg_array *a, size_t i,
		  unsigned depth)
{
	unsigned rank = a->rank, ch = (unsigned)a->dims[rank - 3];
	png_uint_32 h = (png_uint_32)a->dims[rank - 2], w = (png_uint_32)a->dims[rank - 1];
	size_t plane = (size_t)h * w, base = i * ch * plane;

	if (setjmp(c->jmp))
		return c->status ? c->status : DG_EDATA;
	c->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
	if (!c->png)
		return dg_error(DG_ENOMEM, "out of memory for libpng");
	c->info = png_create_info_struct(c->png);
	if (!c->info)
		return dg_error(DG_ENOMEM, "out of memory for libpng");
	c->row = malloc((size_t)w * ch * depth / 8);
	if (!c->row)
		return dg_error_nomem("a PNG row", (unsigned long long)w * ch * depth / 8);
	png_set_write_fn(c->png, c, write_file, flush_file);
	/* No tIME or text chunk: the same pixels give the same bytes. */
	png_set_IHDR(c->png, c->info, w, h, (int)depth,
		     ch == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_write_info(c->png, c->info);
	for (png_uint_32 y = 0; y < h; y++) {
		for (png_uint_32 x = 0; x < w; x++)
			for (unsigned k = 0; k < ch; k++) {
				unsigned v = sample(a, base + k * plane + (size_t)y * w + x, depth);
				unsigned char *p = c->row + ((size_t)x * ch + k) * (depth / 8);
				if (depth == 16) {
					p[0] = (unsigned char)(v >> 8);
					p[1] = (unsigned char)v;
				} else {
					p[0] = (unsigned char)v;
				}
			}
		png_write_row(c->png, c->row);
	}
	png_write_end(c->png, NULL);
	return DG_OK;
}

int dg_png_write(FILE *f, const char *name, const struct dg_array *images,
		 size_t i, const struct dg_png_options *opt)
{
	struct png_ctx c;
	unsigned depth = opt && opt->bit_depth ? (unsigned)opt->bit_depth : 8;
	const uint64_t *d = images->dims + (images->rank == 4);
	uint64_t n = images->rank == 4 ? images->dims[0] : 1;
	int st;

	name = name ? name : "PNG";
	if (images->rank != 3 && images->rank != 4)
		return dg_error(DG_EUSAGE, "%s: images must be N×C×H×W or C×H×W, "
				"not rank %u", name, images->rank);
	if (images->dtype != DG_F32 && images->dtype != DG_U8)
		return dg_error(DG_EUSAGE, "%s: images must be f32 or u8, not %s",
				name, dg_dtype_name(images->dtype));
	if (d[0] != 1 && d[0] != 3)
		return dg_error(DG_EUSAGE, "%s: images must have 1 (gray) or 3 (RGB) "
				"channels, not %llu", name, (unsigned long long)d[0]);
	if (!d[1] || !d[2] || d[1] > 0x7fffffff || d[2] > 0x7fffffff)
		return dg_error(DG_EUSAGE, "%s: cannot write a %llux%llu PNG", name,
				(unsigned long long)d[2], (unsigned long long)d[1]);
	if (i >= n)
		return dg_error(DG_EUSAGE, "%s: image %zu of %llu", name, i,
				(unsigned long long)n);
	if (depth != 8 && depth != 16)
		return dg_error(DG_EUSAGE, "%s: bit depth must be 8 or 16, not %u",
				name, depth);
	memset(&c, 0, sizeof c);
	c.name = name;
	c.f = f;
	st = encode(&c, images, i, depth);
	if (st && c.msg[0])
		dg_error(st, "%s: %s", name, c.msg);
	png_destroy_write_struct(&c.png, c.info ? &c.info : NULL);
	free(c.row);
	return st;
}

int dg_png_write_file(const char *path, const struct dg_array *images, size_t i,
		      const struct dg_png_options *opt)
{
	struct dg_atomic *a;
	int st;

	if ((st = dg_atomic_open(path, &a)))
		return st;
	/* the rename alone keeps readers from half files */
	a->nosync = 1;
	if ((st = dg_png_write(a->f, path, images, i, opt))) {
		dg_atomic_abort(a);
		return st;
	}
	return dg_atomic_commit(a);
}
