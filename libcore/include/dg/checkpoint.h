/* dg/checkpoint.h — model checkpoints (.dgm, dg-checkpoint(5)): a tar
 * archive, gzip-compressed by default, of a manifest and named members.
 *
 * A checkpoint in memory is a manifest (struct dg_meta) plus an ordered
 * list of members.  A member is either a tensor (params/..., optim/...,
 * ema/...; stored as one dg-stream(5) record "<name>.dgt") or a blob of
 * bytes (log.csv, ...).  Readers validate everything before returning, so
 * a checkpoint in hand is complete and consistent. */
#ifndef DG_CHECKPOINT_H
#define DG_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include "dg/array.h"

#define DG_CHECKPOINT_VERSION 1
/* Longest member name (tar's ustar name field, less ".dgt"). */
#define DG_CHECKPOINT_MAX_NAME 95
/* Default bound on the uncompressed size of all members together, against
 * decompression bombs; DG_CHECKPOINT_MAX_BYTES in the environment
 * overrides it (a malformed value makes readers fail with DG_EUSAGE).  No
 * single member may exceed it either. */
#define DG_CHECKPOINT_MAX_BYTES (4ull << 30)
#define DG_CHECKPOINT_MAX_MEMBERS 10000
/* Bounds on the manifest: its bytes, and its lines (members and 2000
 * other keys), checked before it is parsed. */
#define DG_CHECKPOINT_MAX_MANIFEST (4u << 20)
#define DG_CHECKPOINT_MAX_LINES (DG_CHECKPOINT_MAX_MEMBERS + 2000)

/* Flags for dg_checkpoint_write() and dg_checkpoint_read_flags(). */
enum {
	DG_CHECKPOINT_PLAIN = 1,     /* write: uncompressed tar, not tar.gz */
	DG_CHECKPOINT_FAST = 2,      /* write: gzip level 1 instead of 6 */
	DG_CHECKPOINT_NO_OPTIM = 4,  /* read: skip the optim/ members */
};

struct dg_checkpoint;

/* A new, empty checkpoint of a model family (e.g. "vae"), with
 * family=<family> in its manifest.  NULL (message set) on bad input or
 * out of memory; family is 1..64 bytes of [A-Za-z0-9_.-]. */
struct dg_checkpoint *dg_checkpoint_new(const char *family);
void dg_checkpoint_free(struct dg_checkpoint *ck);

/* The manifest, owned by ck.  Callers add their keys (plugin_abi,
 * hparam.<name>, data_shape, step, epoch, rng, ...).  The writer sets the
 * reserved keys itself (format, format_version, created, tool_version,
 * fingerprint, members, member.<i>) and ignores caller values for them.
 * After dg_checkpoint_read() it holds the manifest as stored. */
struct dg_meta *dg_checkpoint_meta(struct dg_checkpoint *ck);
const struct dg_meta *dg_checkpoint_cmeta(const struct dg_checkpoint *ck);
const char *dg_checkpoint_family(const struct dg_checkpoint *ck);
/* The path or name the checkpoint was read from ("" for new ones). */
const char *dg_checkpoint_source(const struct dg_checkpoint *ck);

/* Manifest key as an unsigned integer (strict decimal).  DG_EDATA with a
 * message naming the key when it is missing or malformed. */
int dg_checkpoint_get_u64(const struct dg_checkpoint *ck, const char *key,
			  uint64_t *out);

/* Manifest key as a shape ("1x28x28", "scalar"), e.g. data_shape; unused
 * dims are set to 0.  DG_EDATA with a message naming the key. */
int dg_checkpoint_get_shape(const struct dg_checkpoint *ck, const char *key,
			    unsigned *rank, uint64_t dims[DG_MAX_RANK]);

/* Adds a tensor member, copying a (data and metadata); an existing member
 * of the same name is replaced.  name is a relative path of 1..95 bytes of
 * [A-Za-z0-9_.-/] without empty, "." or ".." components, e.g.
 * "params/enc.fc1.weight".  DG_EUSAGE for a bad name, DG_ENOMEM. */
int dg_checkpoint_add_tensor(struct dg_checkpoint *ck, const char *name,
			     const struct dg_array *a);
/* The same, taking ownership of a (freed by ck, also on failure). */
int dg_checkpoint_take_tensor(struct dg_checkpoint *ck, const char *name,
			      struct dg_array *a);
/* Adds a member of free-form bytes (copied), e.g. "log.csv".  The name
 * follows the rules above and must not end in ".dgt". */
int dg_checkpoint_add_bytes(struct dg_checkpoint *ck, const char *name,
			    const void *bytes, size_t len);
/* Removes a member if present. */
void dg_checkpoint_remove(struct dg_checkpoint *ck, const char *name);

/* Lookups by name; the results belong to ck.  NULL (message set, naming
 * the member and the checkpoint) when there is no such member of that
 * kind.  Bytes are followed by a NUL that is not counted in *len. */
const struct dg_array *dg_checkpoint_tensor(const struct dg_checkpoint *ck,
					    const char *name);
const void *dg_checkpoint_bytes(const struct dg_checkpoint *ck, const char *name,
				size_t *len);

/* Iteration over members in their order: 0 <= i < count.  _tensor_at is
 * NULL for byte members, _bytes_at NULL for tensors. */
size_t dg_checkpoint_count(const struct dg_checkpoint *ck);
const char *dg_checkpoint_name_at(const struct dg_checkpoint *ck, size_t i);
const struct dg_array *dg_checkpoint_tensor_at(const struct dg_checkpoint *ck, size_t i);
const void *dg_checkpoint_bytes_at(const struct dg_checkpoint *ck, size_t i,
				   size_t *len);

/* A 64-bit hash of the parameters: names, dtypes, shapes and bytes of
 * every params/ tensor, in name order (dg-checkpoint(5) defines it).  It
 * identifies the model that made a latent code.  _hex writes 16 lower-case
 * hex digits and a NUL into buf (17 bytes) and returns buf. */
uint64_t dg_checkpoint_fingerprint(const struct dg_checkpoint *ck);
char *dg_checkpoint_fingerprint_hex(const struct dg_checkpoint *ck, char buf[17]);

/* Writes ck atomically to path (temporary file, fsync, rename): on any
 * failure the previous file at path is untouched.  Sets the reserved
 * manifest keys in ck.  created= is the current UTC time, or
 * SOURCE_DATE_EPOCH when set, so equal content gives equal bytes.
 * Errors: DG_ECANTCREAT, DG_EIO, DG_ENOMEM, DG_EUSAGE (bad
 * SOURCE_DATE_EPOCH). */
int dg_checkpoint_write(struct dg_checkpoint *ck, const char *path, int flags);
/* The same into a new malloc'd buffer (caller frees *bytes with free()). */
int dg_checkpoint_write_mem(struct dg_checkpoint *ck, int flags, void **bytes,
			    size_t *len);

/* Reads and validates a checkpoint (see dg-checkpoint(5)); *out is NULL on
 * failure.  Errors: DG_ENOINPUT (no such file), DG_EIO, DG_ENOMEM, and
 * DG_EDATA for anything malformed: not a checkpoint, a newer format
 * version, a member missing, repeated, unexpected, oversized or corrupt
 * (CRC, shape or dtype against the manifest), a wrong fingerprint.  The
 * message is one line naming the file and the member. */
int dg_checkpoint_read(const char *path, struct dg_checkpoint **out);
/* The same with flags: DG_CHECKPOINT_NO_OPTIM leaves the optim/ members
 * out (for tools that only use the model): reading stops once every
 * other member is in, so optimizer state written last (as dg writes it)
 * is neither read nor checked; state found earlier is skipped unread. */
int dg_checkpoint_read_flags(const char *path, int flags, struct dg_checkpoint **out);
/* The same from an input (a file, a pipe or standard input, whose first
 * bytes may have been peeked at to recognise it), read once; in is left
 * open. */
struct dg_input;
int dg_checkpoint_read_input(struct dg_input *in, int flags, struct dg_checkpoint **out);
/* The same from memory; name is used in messages. */
int dg_checkpoint_read_mem(const void *bytes, size_t len, const char *name,
			   struct dg_checkpoint **out);

/* Whether the first bytes of a file look like a checkpoint: a tar (or a
 * gzip'd tar) whose first member is "manifest".  Needs about 600 bytes of
 * a gzip'd file, 263 of a plain one; never fails. */
int dg_checkpoint_sniff(const void *bytes, size_t len);

/* For the plugin loader: DG_ENODEV with "<source>: model family '<f>'
 * <why>", e.g. why = "is not installed (searched DG_PLUGIN_PATH ...)". */
int dg_checkpoint_family_error(const struct dg_checkpoint *ck, const char *why);

#endif
