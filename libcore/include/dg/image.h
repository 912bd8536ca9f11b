/* dg/image.h — PNG images and image grids (libpng).
 *
 * Image tensors are f32 arrays N×C×H×W with values in [0,1] and C = 1
 * (gray) or 3 (RGB); metadata space=image.  Alpha is composited onto black
 * when read (documented in dg-encode(1)); palette and 16-bit images are
 * expanded. */
#ifndef DG_IMAGE_H
#define DG_IMAGE_H

#include <stddef.h>
#include <stdio.h>
#include "dg/array.h"

/* Largest width or height accepted, and largest pixel count, checked
 * before anything is allocated. */
#define DG_PNG_MAX_SIDE 16384
#define DG_PNG_MAX_PIXELS (64u << 20)

/* Decodes one PNG held in memory into a 1×C×H×W f32 array (metadata
 * space=image) that the caller frees.  C is 1 for gray and gray+alpha
 * sources, 3 for RGB, RGBA and palette ones.  8-bit samples become v/255,
 * 16-bit ones v/65535 (both as float divisions, exact to the last bit);
 * alpha is composited onto black, colour·alpha computed in double.  Width,
 * height and pixel count are checked against the limits above from the
 * IHDR, before anything is allocated.  name is for messages (NULL: "PNG").
 * Errors: DG_EDATA naming name for anything that is not a valid PNG
 * (libpng's own message when it has one), DG_ENOMEM.  Warnings about
 * ancillary chunks are ignored. */
int dg_png_decode(const void *buf, size_t len, const char *name, struct dg_array **out);

/* Reads a PNG file into memory and decodes it as above; DG_ENOINPUT or
 * DG_EIO when the file cannot be read. */
int dg_png_read(const char *path, struct dg_array **out);

/* Options for writing. */
struct dg_png_options {
	int bit_depth;      /* 8 (default when 0) or 16 */
};

/* Encodes image i of an N×C×H×W (or C×H×W, i = 0) array as a gray (C=1)
 * or RGB (C=3), non-interlaced PNG written to f at the current position.
 * f32 values are clamped to [0,1] (NaN as 0) and rounded to nearest; u8
 * values are exact (×257 at 16 bits).  No time or text chunk is written,
 * so the same pixels always give the same bytes.  f stays open and is not
 * flushed.  Errors: DG_EUSAGE for a bad array or option, DG_EIO when
 * writing fails (name is used in messages). */
int dg_png_write(FILE *f, const char *name, const struct dg_array *images,
		 size_t i, const struct dg_png_options *opt);

/* Writes image i as above to the file path, replacing it atomically: a
 * temporary file beside it is renamed over it, so readers see the old
 * file or the whole new one, never a part.  Not fsynced (an image is
 * cheap to make again; two fsyncs per file would cost far more than the
 * writing): after a system crash the new name may be empty.  Errors as
 * dg_png_write, and DG_ECANTCREAT (folder missing or not writable) or
 * DG_EIO naming path; on failure path is untouched. */
int dg_png_write_file(const char *path, const struct dg_array *images, size_t i,
		      const struct dg_png_options *opt);

/* Lays out images as a grid: cols×rows cells of H×W, pad pixels between
 * cells and around the edge filled with pad_value, each image scaled by an
 * integer factor (nearest neighbour).  cols or rows 0 picks a near-square
 * layout.  Returns a 1×C×H'×W' array. */
struct dg_grid_options {
	unsigned cols, rows;
	unsigned pad;
	float pad_value;
	unsigned scale;     /* 1 when 0 */
};

/* The layout dg_image_grid() uses for count images of h×w pixels: with
 * cols and rows both 0, cols = ceil(sqrt(count)) and rows as needed; with
 * one of them 0, the other as needed.  Sets *cols, *rows and the grid's
 * size *gh × *gw = (n·h·scale + (n+1)·pad) each way.  Errors (DG_EUSAGE):
 * count is 0, count exceeds a fully given cols×rows, or the grid would
 * break the PNG limits above (a grid is meant to be written and read back
 * as a PNG). */
int dg_grid_layout(const struct dg_grid_options *opt, size_t count,
		   uint64_t h, uint64_t w, unsigned *cols, unsigned *rows,
		   uint64_t *gh, uint64_t *gw);

/* Images first .. first+count-1 of an N×C×H×W (or C×H×W) f32 or u8 array
 * laid out row by row; cells past count hold pad_value.  The result has
 * the dtype of images (pad_value is rounded to 0..255 for u8) and empty
 * metadata but space=image; the caller frees it.  Errors: DG_EUSAGE for a
 * bad shape, dtype or range (see dg_grid_layout), DG_ENOMEM. */
int dg_image_grid(const struct dg_array *images, size_t first, size_t count,
		  const struct dg_grid_options *opt, struct dg_array **out);

#endif
