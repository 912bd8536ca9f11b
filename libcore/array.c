/* array.c — host arrays, dtypes, shapes and half-precision conversion. */
#include <stdlib.h>
#include <string.h>
#include "dg/array.h"
#include "dg/error.h"
#include "dg/stream.h"

static const struct {
	const char *name;
	size_t size;
} dtypes[] = {
	[DG_F32] = {"f32", 4}, [DG_F16] = {"f16", 2}, [DG_BF16] = {"bf16", 2},
	[DG_U8] = {"u8", 1},   [DG_I8] = {"i8", 1},   [DG_I32] = {"i32", 4},
	[DG_I64] = {"i64", 8}, [DG_F64] = {"f64", 8},
};
#define NDTYPES (sizeof dtypes / sizeof dtypes[0])

size_t dg_dtype_size(int dtype)
{
	return dtype > 0 && (size_t)dtype < NDTYPES ? dtypes[dtype].size : 0;
}

const char *dg_dtype_name(int dtype)
{
	return dg_dtype_size(dtype) ? dtypes[dtype].name : "?";
}

int dg_dtype_parse(const char *name)
{
	for (size_t i = 1; i < NDTYPES; i++)
		if (strcmp(name, dtypes[i].name) == 0)
			return (int)i;
	return 0;
}

int dg_shape_count(unsigned rank, const uint64_t *dims, int dtype,
		   uint64_t *count, uint64_t *bytes)
{
	uint64_t n = 1, size = dg_dtype_size(dtype);
	int empty = 0;

	if (rank > DG_MAX_RANK)
		return dg_error(DG_EDATA, "rank %u exceeds %d", rank, DG_MAX_RANK);
	if (!size)
		return dg_error(DG_EDATA, "unknown dtype %d", dtype);
	/* The product of the nonzero dims must fit, times the element size:
	 * the same verdict whatever the order of the dims (checking partial
	 * products would pass 0x2^40x2^40 and refuse 2^40x2^40x0), and no
	 * partial product of a shape accepted here can overflow later. */
	for (unsigned i = 0; i < rank; i++) {
		if (!dims[i]) {
			empty = 1;
			continue;
		}
		if (n > UINT64_MAX / dims[i])
			return dg_error(DG_EDATA, "shape overflows 64 bits");
		n *= dims[i];
	}
	if (n > UINT64_MAX / size)
		return dg_error(DG_EDATA, "size in bytes overflows 64 bits");
	if (empty)
		n = 0;
	if (count)
		*count = n;
	if (bytes)
		*bytes = n * size;
	return DG_OK;
}

void *dg_alloc(size_t bytes)
{
	void *p = NULL;
	size_t rounded = (bytes + 63) & ~(size_t)63;

	if (rounded < bytes || posix_memalign(&p, 64, rounded ? rounded : 64)) {
		dg_error_nomem("an array", bytes);
		return NULL;
	}
	return p;
}

void *dg_calloc(size_t bytes)
{
	void *p = dg_alloc(bytes);
	if (p)
		memset(p, 0, bytes);
	return p;
}

void dg_free(void *p)
{
	free(p);
}

struct dg_array *dg_array_new(int dtype, unsigned rank, const uint64_t *dims)
{
	uint64_t bytes;
	struct dg_array *a;

	if (dg_shape_count(rank, dims, dtype, NULL, &bytes))
		return NULL;
	if (bytes > SIZE_MAX) {
		dg_error_nomem("an array", bytes);
		return NULL;
	}
	a = calloc(1, sizeof *a);
	if (!a) {
		dg_error_nomem("an array", sizeof *a);
		return NULL;
	}
	a->dtype = dtype;
	a->rank = rank;
	for (unsigned i = 0; i < rank; i++)
		a->dims[i] = dims[i];
	a->data = dg_calloc(bytes);
	a->meta = dg_meta_new();
	if (!a->data || !a->meta) {
		dg_array_free(a);
		return NULL;
	}
	return a;
}

void dg_array_free(struct dg_array *a)
{
	if (!a)
		return;
	dg_free(a->data);
	dg_meta_free(a->meta);
	free(a);
}

uint64_t dg_array_count(const struct dg_array *a)
{
	uint64_t n = 1;
	for (unsigned i = 0; i < a->rank; i++)
		n *= a->dims[i];
	return n;
}

size_t dg_array_bytes(const struct dg_array *a)
{
	return (size_t)dg_array_count(a) * dg_dtype_size(a->dtype);
}

char *dg_shape_format(char *buf, size_t size, unsigned rank, const uint64_t *dims)
{
	size_t used = 0;

	if (!size)
		return buf;
	buf[0] = 0;
	if (rank == 0) {
		snprintf(buf, size, "scalar");
		return buf;
	}
	for (unsigned i = 0; i < rank && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%llu", i ? "x" : "",
				 (unsigned long long)dims[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* IEEE binary16 <-> binary32, round to nearest even, NaN kept quiet. */
float dg_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f,
		 man = h & 0x3ff, bits;
	float f;

	if (exp == 0x1f)
		bits = sign | 0x7f800000 | (man << 13) | (man ? 0x400000 : 0);
	else if (exp)
		bits = sign | ((exp + 112) << 23) | (man << 13);
	else if (man) {
		/* subnormal: normalize */
		int e = -1;
		do {
			e++;
			man <<= 1;
		} while (!(man & 0x400));
		bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
	} else
		bits = sign;
	memcpy(&f, &bits, 4);
	return f;
}

uint16_t dg_f32_to_f16(float f)
{
	uint32_t x, sign, man;
	int exp;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000;
	exp = (int)((x >> 23) & 0xff) - 127 + 15;
	man = x & 0x7fffff;
	if (((x >> 23) & 0xff) == 0xff)
		return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
	if (exp >= 0x1f)
		return (uint16_t)(sign | 0x7c00);
	if (exp <= 0) {
		uint32_t m, half, r;
		int shift;
		if (exp < -10)
			return (uint16_t)sign;
		m = man | 0x800000;
		shift = 14 - exp;
		half = 1u << (shift - 1);
		r = m >> shift;
		if ((m & ((1u << shift) - 1)) > half ||
		    ((m & ((1u << shift) - 1)) == half && (r & 1)))
			r++;
		return (uint16_t)(sign | r);
	}
	{
		uint32_t r = ((uint32_t)exp << 10) | (man >> 13);
		uint32_t rest = man & 0x1fff;
		if (rest > 0x1000 || (rest == 0x1000 && (r & 1)))
			r++; /* may carry into the exponent, which is right */
		return (uint16_t)(sign | r);
	}
}

float dg_bf16_to_f32(uint16_t h)
{
	uint32_t bits = (uint32_t)h << 16;
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

uint16_t dg_f32_to_bf16(float f)
{
	uint32_t x;
	memcpy(&x, &f, 4);
	if ((x & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((x >> 16) | 0x40);
	x += 0x7fff + ((x >> 16) & 1);
	return (uint16_t)(x >> 16);
}

void dg_to_f32(float *dst, const void *src, uint64_t n, int dtype, int scale_u8)
{
	for (uint64_t i = 0; i < n; i++) {
		switch (dtype) {
		case DG_F32: dst[i] = ((const float *)src)[i]; break;
		case DG_F16: dst[i] = dg_f16_to_f32(((const uint16_t *)src)[i]); break;
		case DG_BF16: dst[i] = dg_bf16_to_f32(((const uint16_t *)src)[i]); break;
		case DG_U8: dst[i] = ((const uint8_t *)src)[i] * (scale_u8 ? 1.0f / 255 : 1.0f); break;
		case DG_I8: dst[i] = ((const int8_t *)src)[i]; break;
		case DG_I32: dst[i] = (float)((const int32_t *)src)[i]; break;
		case DG_I64: dst[i] = (float)((const int64_t *)src)[i]; break;
		case DG_F64: dst[i] = (float)((const double *)src)[i]; break;
		}
	}
}

struct dg_array *dg_array_to_f32(const struct dg_array *a, int scale_u8)
{
	struct dg_array *b = dg_array_new(DG_F32, a->rank, a->dims);

	if (!b)
		return NULL;
	if (dg_meta_merge(b->meta, a->meta)) {
		dg_array_free(b);
		return NULL;
	}
	dg_to_f32(b->data, a->data, dg_array_count(a), a->dtype, scale_u8);
	return b;
}
