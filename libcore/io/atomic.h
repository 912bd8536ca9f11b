/* atomic.h — replace a file atomically: write a temporary beside it, then
 * flush, fsync and rename, so readers see the old file or the new one. */
#ifndef DG_ATOMIC_H
#define DG_ATOMIC_H

#include <stdio.h>

/* An output in progress.  f is the stream to write; it belongs to the
 * struct (do not fclose it).  The other fields are private. */
struct dg_atomic {
	FILE *f;
	char *path;        /* the target */
	/* The temporary, "<dir>/.<base>.XXXXXX".  A process killed while
	 * writing leaves it behind, and the next dg_atomic_open() of the same
	 * target removes it; a signal handler may unlink() it
	 * (async-signal-safe) before exiting. */
	char *tmp;
	int mode;          /* permissions for the new file */
	/* Set to 1 after opening to skip both fsyncs: readers still see the
	 * old file or the whole new one, but a crash may leave the new name
	 * empty.  For outputs cheap to make again (dg-decode's images), where
	 * two fsyncs per file cost far more than the writing. */
	int nosync;
};

/* Creates a temporary file in the target's folder and returns it in *out,
 * holding a lock on it until it is committed or aborted; temporaries of
 * the same target that killed writers left behind (unlocked, older than
 * a few seconds) are removed first.
 * Errors: DG_ECANTCREAT (folder missing or not writable, path under a
 * regular file, ...) or DG_ENOMEM, with a message naming path. */
int dg_atomic_open(const char *path, struct dg_atomic **out);

/* Flushes and fsyncs the temporary, renames it over the target and fsyncs
 * the folder.  Always frees a.  On any failure before the rename the
 * temporary is removed and the old target, if any, is untouched; the
 * status is DG_EIO (or DG_ECANTCREAT for a failed rename) with a message
 * naming the target.  A failure to fsync the folder after the rename is
 * also DG_EIO, but the new file is already in place. */
int dg_atomic_commit(struct dg_atomic *a);

/* Closes and removes the temporary and frees a (NULL is allowed); the
 * target is untouched.  Keeps the current error message. */
void dg_atomic_abort(struct dg_atomic *a);

/* Test hook: when set to a stage, dg_atomic_commit() fails there as if
 * the system call had failed (1 = flush/fsync, 2 = rename).  0 in normal
 * use; only tests set it. */
extern int dg_atomic_fail_stage;

#endif
