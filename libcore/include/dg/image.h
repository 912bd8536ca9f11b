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

/* Decodes one PNG held in memory into a 1×C×H×W f32 array.  name is for
 * messages.  DG_EDATA for anything that is not a valid PNG. */
int dg_png_decode(const void *buf, size_t len, const char *name, struct dg_array **out);

/* Reads a PNG file. */
int dg_png_read(const char *path, struct dg_array **out);

/* Options for writing. */
struct dg_png_options {
	int bit_depth;      /* 8 (default when 0) or 16 */
};

/* Encodes image i of an N×C×H×W array (f32 in [0,1], clamped; or u8) as a
 * gray (C=1) or RGB (C=3) PNG to f. */
int dg_png_write(FILE *f, const char *name, const struct dg_array *images,
		 size_t i, const struct dg_png_options *opt);

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
int dg_image_grid(const struct dg_array *images, size_t first, size_t count,
		  const struct dg_grid_options *opt, struct dg_array **out);

#endif
