/* atomic.c — write-to-temporary, fsync, rename: an interrupted or failed
 * write never destroys the file it was meant to replace. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "io/atomic.h"
#include "dg/error.h"
#include "dg/tool.h"

int dg_atomic_fail_stage;

/* The folder part of path: "." for a bare name, "/" for "/name".
 * Caller frees. */
static char *folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Permissions the new file gets: those of the file it replaces, else
 * what open(2) would give (0666 less the umask).  umask() can only be read
 * by setting it; the window is two system calls long. */
static int new_mode(const char *path)
{
	struct stat st;
	mode_t mask;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return (int)(st.st_mode & 07777);
	mask = umask(022);
	umask(mask);
	return (int)(0666 & ~mask);
}

static void release(struct dg_atomic *a)
{
	free(a->path);
	free(a->tmp);
	free(a);
}

/* A temporary of ours for base: ".<base>." and six characters. */
static int is_temp_of(const char *name, const char *base)
{
	size_t n = strlen(base);
	return name[0] == '.' && strncmp(name + 1, base, n) == 0 && name[1 + n] == '.' &&
	       strlen(name + 2 + n) == 6;
}

/* Removes the temporaries that writers of path killed mid-write left in
 * dir.  A writer holds an exclusive lock on its temporary until it
 * renames or removes it, and the system drops the lock when the writer
 * dies: a temporary whose lock can be taken has no writer.  One younger
 * than a few seconds is left alone, as its writer may not have locked it
 * yet. */
static void clean_stale(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	time_t now = time(NULL);

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;
		if (!is_temp_of(e->d_name, base))
			continue;
		int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > 2 &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlinkat(dirfd(d), e->d_name, 0);
		close(fd);
	}
	closedir(d);
}

int dg_atomic_open(const char *path, struct dg_atomic **out)
{
	struct dg_atomic *a;
	const char *base = strrchr(path, '/');
	char *dir;
	int fd;

	*out = NULL;
	base = base ? base + 1 : path;
	if (!*base)
		return dg_error(DG_ECANTCREAT, "%s: not a file name", path);
	a = calloc(1, sizeof *a);
	dir = folder_of(path);
	if (!a || !dir) {
		free(a);
		free(dir);
		return dg_error_nomem("a file name", strlen(path));
	}
	a->path = strdup(path);
	if (a->path && asprintf(&a->tmp, "%s/.%s.XXXXXX", dir, base) < 0)
		a->tmp = NULL;
	if (!a->path || !a->tmp) {
		free(dir);
		release(a);
		return dg_error_nomem("a file name", strlen(path));
	}
	a->mode = new_mode(path);
	clean_stale(dir, base);
	free(dir);
	fd = mkostemp(a->tmp, O_CLOEXEC);
	if (fd >= 0)
		flock(fd, LOCK_EX);     /* ours while we live: see clean_stale() */
	if (fd < 0) {
		dg_error_errno("%s: cannot create a temporary file beside it", path);
		release(a);
		return DG_ECANTCREAT;
	}
	a->f = fdopen(fd, "wb");
	if (!a->f) {
		dg_error_errno("%s", path);
		close(fd);
		unlink(a->tmp);
		release(a);
		return DG_ENOMEM;
	}
	*out = a;
	return DG_OK;
}

void dg_atomic_abort(struct dg_atomic *a)
{
	int saved = errno;

	if (!a)
		return;
	if (a->f)
		fclose(a->f);
	unlink(a->tmp);
	release(a);
	errno = saved;
}

/* fsync the folder so that the rename itself survives a crash. */
static int sync_folder(const char *path)
{
	char *dir = folder_of(path);
	int fd, st = 0;

	if (!dir)
		return dg_error_nomem("a file name", strlen(path));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* Some file systems refuse fsync on a folder (EINVAL); the data is
	 * then as safe as that file system makes it. */
	if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL && errno != EROFS))
		st = dg_error_errno("%s: syncing folder %s", path, dir);
	if (fd >= 0)
		close(fd);
	free(dir);
	return st;
}

int dg_atomic_commit(struct dg_atomic *a)
{
	int fd = fileno(a->f), st;

	if (fflush(a->f) != 0 || ferror(a->f) || fchmod(fd, (mode_t)a->mode) != 0 ||
	    (!a->nosync && fsync(fd) != 0) || dg_atomic_fail_stage == 1) {
		if (dg_atomic_fail_stage == 1)
			errno = EIO;
		dg_error_errno("%s: writing", a->path);
		dg_atomic_abort(a);
		return DG_EIO;
	}
	st = fclose(a->f);
	a->f = NULL;
	if (st != 0) {
		dg_error_errno("%s: writing", a->path);
		dg_atomic_abort(a);
		return DG_EIO;
	}
	if (dg_atomic_fail_stage == 2 || rename(a->tmp, a->path) != 0) {
		if (dg_atomic_fail_stage == 2)
			errno = EACCES;
		dg_error_errno("%s: replacing", a->path);
		dg_atomic_abort(a);
		return DG_ECANTCREAT;
	}
	st = !a->nosync && sync_folder(a->path) ? DG_EIO : DG_OK;
	release(a);
	return st;
}

int dg_file_replace(const char *path, const void *bytes, size_t len)
{
	struct dg_atomic *a;
	int st = dg_atomic_open(path, &a);
	if (st)
		return st;
	if (len && fwrite(bytes, 1, len, a->f) != len) {
		dg_error_errno("%s: writing", path);
		dg_atomic_abort(a);
		return DG_EIO;
	}
	return dg_atomic_commit(a);
}
