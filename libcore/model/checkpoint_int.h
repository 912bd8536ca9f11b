/* checkpoint_int.h — what the checkpoint files (model, writer, reader)
 * share inside libdg. */
#ifndef DG_CHECKPOINT_INT_H
#define DG_CHECKPOINT_INT_H

#include "dg/error.h"   /* before stream.h, which uses DG_PRINTF */
#include "dg/checkpoint.h"
#include "dg/stream.h"

#define CK_TENSOR_SUFFIX ".dgt"
/* Optimizer state members, written last (dg_checkpoint_read_flags with
 * DG_CHECKPOINT_NO_OPTIM stops before them). */
#define CK_OPTIM_PREFIX "optim/"

struct ck_member {
	char *name;                 /* as callers name it, without ".dgt" */
	struct dg_array *tensor;    /* a tensor member, or NULL */
	unsigned char *bytes;       /* a byte member (NUL-terminated), or NULL */
	size_t len;
};

struct dg_checkpoint {
	struct dg_meta *meta;
	char *source;
	struct ck_member *m;
	size_t n, cap;
};

/* DG_OK if name is a valid member name (rules in dg/checkpoint.h), else
 * DG_EDATA with a message naming it.  Tensor names are given without the
 * suffix. */
int dg__ck_check_name(const char *name, size_t len);

/* Index of the member called name, or -1. */
long dg__ck_find(const struct dg_checkpoint *ck, const char *name);

/* Appends or replaces a member; takes ownership of tensor or bytes (both
 * are freed on failure). */
int dg__ck_put(struct dg_checkpoint *ck, const char *name, struct dg_array *tensor,
	       unsigned char *bytes, size_t len);
/* The same when the caller knows the index of the member to replace, or
 * -1 to append (readers, whose names are known to be unique). */
int dg__ck_put_at(struct dg_checkpoint *ck, long at, const char *name,
		  struct dg_array *tensor, unsigned char *bytes, size_t len);

/* The total byte limit: DG_CHECKPOINT_MAX_BYTES or the environment's
 * (DG_EUSAGE naming the variable when that is malformed). */
int dg__ck_max_bytes(uint64_t *out);

/* Strict decimal (no sign, no leading zero, no overflow) of len bytes;
 * 0 or -1. */
int dg__ck_strict_u64(const char *s, size_t len, uint64_t *out);
/* "scalar" or "AxBxC" (rank <= DG_MAX_RANK) of len bytes; 0 or -1. */
int dg__ck_parse_shape(const char *s, size_t len, unsigned *rank, uint64_t *dims);

/* s as it may appear in a one-line message: bytes outside printable
 * ASCII (and backslash) become \xNN, cut to fit size.  Returns buf.
 * For names taken from an archive, which may hold anything. */
const char *dg__ck_quote(const char *s, char *buf, size_t size);

/* Whether a manifest key is one the writer owns. */
int dg__ck_reserved_key(const char *key);

#endif
