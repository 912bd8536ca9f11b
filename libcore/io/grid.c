/* grid.c — laying out a batch of images as one picture: cells, padding,
 * nearest-neighbour upscaling. */
#include <math.h>
#include <string.h>
#include "dg/error.h"
#include "dg/image.h"
#include "dg/stream.h"

/* n cells of size cell (already scaled) with pad between and around. */
static uint64_t extent(unsigned n, uint64_t cell, unsigned pad)
{
	return n * cell + (uint64_t)(n + 1) * pad;
}

int dg_grid_layout(const struct dg_grid_options *opt, size_t count,
		   uint64_t h, uint64_t w, unsigned *cols, unsigned *rows,
		   uint64_t *gh, uint64_t *gw)
{
	unsigned c = opt->cols, r = opt->rows, s = opt->scale ? opt->scale : 1;
	uint64_t y, x;

	if (!count)
		return dg_error(DG_EUSAGE, "a grid of no images");
	if (!h || !w)
		return dg_error(DG_EUSAGE, "a grid of empty images");
	if (count > DG_PNG_MAX_PIXELS)
		return dg_error(DG_EUSAGE, "%zu images are too many for one grid", count);
	if (!c && !r) {
		c = (unsigned)ceil(sqrt((double)count));
		/* sqrt in floating point may land one off for large squares. */
		while ((uint64_t)c * c < count)
			c++;
		while (c > 1 && (uint64_t)(c - 1) * (c - 1) >= count)
			c--;
	}
	if (!r)
		r = (unsigned)((count + c - 1) / c);
	else if (!c)
		c = (unsigned)((count + r - 1) / r);
	if ((uint64_t)c * r < count)
		return dg_error(DG_EUSAGE, "%zu images do not fit a %ux%u grid",
				count, c, r);
	/* Every factor is bounded before multiplying, so nothing wraps. */
	if (h > DG_PNG_MAX_SIDE || w > DG_PNG_MAX_SIDE || s > DG_PNG_MAX_SIDE ||
	    opt->pad > DG_PNG_MAX_SIDE || c > DG_PNG_MAX_SIDE || r > DG_PNG_MAX_SIDE)
		goto too_big;
	y = extent(r, h * s, opt->pad);
	x = extent(c, w * s, opt->pad);
	if (y > DG_PNG_MAX_SIDE || x > DG_PNG_MAX_SIDE || y * x > DG_PNG_MAX_PIXELS)
		goto too_big;
	*cols = c;
	*rows = r;
	*gh = y;
	*gw = x;
	return DG_OK;
too_big:
	return dg_error(DG_EUSAGE, "a %ux%u grid of %llux%llu images at scale %u "
			"exceeds the PNG limits (%d pixels per side, %u in all)",
			c, r, (unsigned long long)w, (unsigned long long)h, s,
			DG_PNG_MAX_SIDE, (unsigned)DG_PNG_MAX_PIXELS);
}

int dg_image_grid(const struct dg_array *images, size_t first, size_t count,
		  const struct dg_grid_options *opt, struct dg_array **out)
{
	unsigned rank = images->rank, cols, rows, s = opt->scale ? opt->scale : 1;
	const uint64_t *d = images->dims + (rank == 4);
	uint64_t n = rank == 4 ? images->dims[0] : 1, gh, gw, dims[4];
	size_t ch, h, w, esize = dg_dtype_size(images->dtype);
	struct dg_array *g;
	unsigned char *dst;
	const unsigned char *src;
	unsigned char pad[4];

	*out = NULL;
	if (rank != 3 && rank != 4)
		return dg_error(DG_EUSAGE, "grid: images must be N×C×H×W or C×H×W, "
				"not rank %u", rank);
	if (images->dtype != DG_F32 && images->dtype != DG_U8)
		return dg_error(DG_EUSAGE, "grid: images must be f32 or u8, not %s",
				dg_dtype_name(images->dtype));
	if (first > n || count > n - first)
		return dg_error(DG_EUSAGE, "grid: images %zu..%zu of %llu", first,
				first + count, (unsigned long long)n);
	if (dg_grid_layout(opt, count, d[1], d[2], &cols, &rows, &gh, &gw))
		return dg_error_context(DG_EUSAGE, "grid");
	ch = (size_t)d[0];
	h = (size_t)d[1];
	w = (size_t)d[2];
	dims[0] = 1;
	dims[1] = ch;
	dims[2] = gh;
	dims[3] = gw;
	g = dg_array_new(images->dtype, 4, dims);
	if (!g || dg_meta_set(g->meta, "space", "image")) {
		dg_array_free(g);
		return DG_ENOMEM;
	}
	if (images->dtype == DG_U8) {
		float v = opt->pad_value;
		pad[0] = !(v > 0) ? 0 : v >= 1 ? 255 : (unsigned char)(v * 255 + 0.5f);
	} else {
		memcpy(pad, &opt->pad_value, sizeof(float));
	}
	dst = g->data;
	for (size_t i = 0; i < ch * gh * gw; i++)
		memcpy(dst + i * esize, pad, esize);
	src = images->data;
	for (size_t k = 0; k < count; k++) {
		size_t r = k / cols, c = k % cols;
		size_t y0 = opt->pad + r * (h * s + opt->pad);
		size_t x0 = opt->pad + c * (w * s + opt->pad);
		const unsigned char *img = src + (first + k) * ch * h * w * esize;
		for (size_t p = 0; p < ch; p++)
			for (size_t y = 0; y < h * s; y++) {
				const unsigned char *srow = img + ((p * h + y / s) * w) * esize;
				unsigned char *drow = dst + ((p * gh + y0 + y) * gw + x0) * esize;
				if (s == 1) {
					memcpy(drow, srow, w * esize);
					continue;
				}
				for (size_t x = 0; x < w * s; x++)
					memcpy(drow + x * esize, srow + (x / s) * esize, esize);
			}
	}
	*out = g;
	return DG_OK;
}
