/* archive_members.h — internal: reading the members of an archive (tar,
 * plain or gzip/bzip2/xz-compressed, and zip) into memory, within limits. */
#ifndef DG_ARCHIVE_H
#define DG_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

struct dg_archive_limits {
	uint64_t max_member;     /* bytes of one member (0: DG_ARCHIVE_MAX_MEMBER) */
	uint64_t max_total;      /* uncompressed bytes of all members (0: DG_ARCHIVE_MAX_TOTAL) */
	uint64_t max_members;    /* entries, directories included (0: DG_ARCHIVE_MAX_MEMBERS) */
};

/* Called for each regular-file member, in archive order, with its path as
 * stored (absolute paths and ".." included: the member is only handed
 * over in memory, never written) and its contents, valid only during the
 * call.  A non-zero return stops the walk and is returned; a return of
 * DG_ARCHIVE_STOP stops it quietly (dg_archive_* then return DG_OK). */
typedef int (*dg_archive_member_fn)(void *ctx, const char *path, const void *data,
				    size_t len);
#define DG_ARCHIVE_STOP (-1)

/* Walks an archive held in memory / in a file.  name is for messages.
 * DG_EDATA for what libarchive cannot read and for a member or a total
 * over the limits (refused before or while reading, never after
 * allocating more than the limit); DG_ENOINPUT / DG_EIO for the file. */
int dg_archive_walk_memory(const void *buf, size_t len, const char *name,
			   const struct dg_archive_limits *lim, dg_archive_member_fn fn,
			   void *ctx);
int dg_archive_walk_file(const char *path, const struct dg_archive_limits *lim,
			 dg_archive_member_fn fn, void *ctx);
/* The same from an input (a file or a pipe, its first bytes peeked at or
 * not), which is read once and left open. */
struct dg_input;
int dg_archive_walk_input(struct dg_input *in, const struct dg_archive_limits *lim,
			  dg_archive_member_fn fn, void *ctx);

#endif
