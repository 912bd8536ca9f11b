/* dg/array.h — host arrays: an n-d tensor in ordinary memory.
 *
 * This is what streams, images, datasets and checkpoints exchange.  It is
 * deliberately not the graph engine's tensor type: device tensors live
 * behind the graph API and are never handed out as host pointers. */
#ifndef DG_ARRAY_H
#define DG_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#define DG_MAX_RANK 8

/* Element types.  Values are fixed: they are written into streams. */
enum dg_dtype {
	DG_F32 = 1,
	DG_F16 = 2,
	DG_BF16 = 3,
	DG_U8 = 4,
	DG_I8 = 5,
	DG_I32 = 6,
	DG_I64 = 7,
	DG_F64 = 8,
};

/* Size in bytes of one element, 0 for an unknown dtype. */
size_t dg_dtype_size(int dtype);
/* "f32", "u8", ...; "?" for an unknown dtype. */
const char *dg_dtype_name(int dtype);
/* Inverse of dg_dtype_name; 0 if the name is unknown. */
int dg_dtype_parse(const char *name);

struct dg_meta;

struct dg_array {
	enum dg_dtype dtype;
	unsigned rank;                 /* 0 (scalar) .. DG_MAX_RANK */
	uint64_t dims[DG_MAX_RANK];    /* outermost first; unused dims are 0 */
	void *data;                    /* owned; 64-byte aligned */
	struct dg_meta *meta;          /* owned; never NULL for arrays made here */
};

/* Product of dims (1 for rank 0).  Returns 0 and sets *count, or DG_EDATA
 * if the product of the nonzero dims, or that times the element size,
 * overflows 64 bits (so a shape holding a 0 is judged alike whatever the
 * order of its dims). */
int dg_shape_count(unsigned rank, const uint64_t *dims, int dtype,
		   uint64_t *count, uint64_t *bytes);

/* Allocates a zeroed array with empty metadata; NULL on failure (message
 * set).  dims may be NULL when rank is 0. */
struct dg_array *dg_array_new(int dtype, unsigned rank, const uint64_t *dims);
void dg_array_free(struct dg_array *a);
uint64_t dg_array_count(const struct dg_array *a);
size_t dg_array_bytes(const struct dg_array *a);

/* Formats a shape as "64x1x28x28" ("scalar" for rank 0) into buf. */
char *dg_shape_format(char *buf, size_t size, unsigned rank, const uint64_t *dims);

/* Half-precision conversions (round to nearest even). */
float dg_f16_to_f32(uint16_t h);
uint16_t dg_f32_to_f16(float f);
float dg_bf16_to_f32(uint16_t h);
uint16_t dg_f32_to_bf16(float f);

/* Converts n elements of dtype at src to f32 at dst (u8 is scaled by
 * 1/255 only if scale_u8 is set). */
void dg_to_f32(float *dst, const void *src, uint64_t n, int dtype, int scale_u8);

/* Converts an array to f32 (u8 is scaled by 1/255 only if scale_u8 is
 * set).  Returns a new array with a copy of the metadata, or NULL. */
struct dg_array *dg_array_to_f32(const struct dg_array *a, int scale_u8);

/* Aligned allocation helpers used across libdg (64-byte alignment). */
void *dg_alloc(size_t bytes);        /* uninitialized; NULL + message on failure */
void *dg_calloc(size_t bytes);       /* zeroed */
void dg_free(void *p);

#endif
