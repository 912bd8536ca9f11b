/* t_atomic.c — the atomic file replacement of libcore/io/atomic.c: success,
 * abort and every failure leave either the old file or the new one, and
 * never a temporary behind. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"
#include "io/atomic.h"
#include "dg/error.h"

static char dir[256];

/* Whole file into a malloc'd buffer (NUL-terminated); NULL if missing. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = 0;
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static int file_is(const char *path, const char *want)
{
	char *got = slurp(path, NULL);
	int same = got && strcmp(got, want) == 0;
	free(got);
	return same;
}

/* Number of entries in dir whose names start with '.' + base + '.'. */
static int temporaries(const char *base)
{
	char prefix[128];
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	snprintf(prefix, sizeof prefix, ".%s.", base);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static int write_file(const char *path, const char *text)
{
	struct dg_atomic *a;
	int st = dg_atomic_open(path, &a);
	if (st)
		return st;
	fputs(text, a->f);
	return dg_atomic_commit(a);
}

int main(void)
{
	char path[512], sub[512];
	struct dg_atomic *a;
	struct stat sb;
	int st;

	snprintf(dir, sizeof dir, "%s/t_atomic.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(path, sizeof path, "%s/out.txt", dir);

	/* A new file. */
	is_int(write_file(path, "first\n"), 0, "create a new file");
	ok(file_is(path, "first\n"), "new file has the content");
	is_int(temporaries("out.txt"), 0, "no temporary left after create");

	/* Replacing keeps the old file's permissions. */
	chmod(path, 0640);
	is_int(write_file(path, "second\n"), 0, "replace a file");
	ok(file_is(path, "second\n"), "replaced file has the new content");
	ok(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0640,
	   "replacement keeps mode 0640 (got %o)", sb.st_mode & 07777);

	/* Abort: the old file stays; the temporary existed and is gone. */
	st = dg_atomic_open(path, &a);
	is_int(st, 0, "open for abort");
	fputs("never", a->f);
	fflush(a->f);
	is_int(temporaries("out.txt"), 1, "a temporary exists while writing");
	ok(file_is(path, "second\n"), "target untouched while writing");
	dg_atomic_abort(a);
	ok(file_is(path, "second\n"), "abort leaves the old file");
	is_int(temporaries("out.txt"), 0, "abort removes the temporary");
	dg_atomic_abort(NULL);

	/* Injected failures at fsync and at rename. */
	for (int stage = 1; stage <= 2; stage++) {
		dg_atomic_fail_stage = stage;
		st = write_file(path, "third\n");
		dg_atomic_fail_stage = 0;
		ok(st == DG_EIO || st == DG_ECANTCREAT, "failure at stage %d reported (%d: %s)",
		   stage, st, dg_errmsg());
		ok(strstr(dg_errmsg(), "out.txt") != NULL, "message names the target");
		ok(file_is(path, "second\n"), "stage %d: old file byte-identical", stage);
		is_int(temporaries("out.txt"), 0, "stage %d: no temporary left", stage);
	}

	/* A real write failure: the file size limit makes the write fail with
	 * EFBIG (root is not exempt).  The old file must survive. */
	{
		struct rlimit old, lim;
		char big[8192];

		memset(big, 'x', sizeof big - 1);
		big[sizeof big - 1] = 0;
		getrlimit(RLIMIT_FSIZE, &old);
		signal(SIGXFSZ, SIG_IGN);
		lim = old;
		lim.rlim_cur = 1024;
		setrlimit(RLIMIT_FSIZE, &lim);
		st = write_file(path, big);
		setrlimit(RLIMIT_FSIZE, &old);
		is_int(st, DG_EIO, "write beyond RLIMIT_FSIZE fails: %s", dg_errmsg());
		ok(file_is(path, "second\n"), "old file survives a failed write");
		is_int(temporaries("out.txt"), 0, "no temporary after a failed write");
	}

	/* The target is a folder: the rename fails after a full write. */
	snprintf(sub, sizeof sub, "%s/folder", dir);
	mkdir(sub, 0755);
	st = write_file(sub, "data\n");
	is_int(st, DG_ECANTCREAT, "replacing a folder fails: %s", dg_errmsg());
	is_int(temporaries("folder"), 0, "no temporary after a failed rename");
	ok(stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode), "folder still there");
	rmdir(sub);

	/* A path under a regular file: no temporary can be made. */
	snprintf(sub, sizeof sub, "%s/out.txt/inner", dir);
	is_int(dg_atomic_open(sub, &a), DG_ECANTCREAT, "path under a file: %s", dg_errmsg());
	ok(a == NULL, "no handle on failure");
	is_int(dg_atomic_open("/nonexistent-dg-dir/x", &a), DG_ECANTCREAT,
	       "missing folder refused");
	is_int(dg_atomic_open("somedir/", &a), DG_ECANTCREAT, "name ending in / refused");

	/* A bare file name goes to the current folder. */
	{
		char cwd[512];
		if (getcwd(cwd, sizeof cwd) && chdir(dir) == 0) {
			is_int(write_file("bare.txt", "bare\n"), 0, "bare name");
			ok(file_is("bare.txt", "bare\n"), "bare name written in cwd");
			is_int(temporaries("bare.txt"), 0, "no temporary for bare name");
			unlink("bare.txt");
			if (chdir(cwd) != 0)
				diag("cannot return to %s", cwd);
		}
	}

	/* A writer killed mid-write leaves its temporary; the next write of
	 * the same target removes it, but never a live writer's. */
	{
		char tname[600];
		pid_t pid = fork();
		if (pid == 0) {
			struct dg_atomic *k;
			if (dg_atomic_open(path, &k) == 0) {
				fputs("half", k->f);
				fflush(k->f);
			}
			kill(getpid(), SIGKILL);
			_exit(1);
		}
		waitpid(pid, NULL, 0);
		is_int(temporaries("out.txt"), 1, "a killed writer leaves its temporary");
		/* backdate it: a temporary only seconds old is left alone */
		DIR *d = opendir(dir);
		struct dirent *e;
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, ".out.txt.", 9)) {
				struct timespec t[2] = {{time(NULL) - 60, 0}, {time(NULL) - 60, 0}};
				snprintf(tname, sizeof tname, "%s/%s", dir, e->d_name);
				utimensat(AT_FDCWD, tname, t, 0);
			}
		closedir(d);
		st = dg_atomic_open(path, &a);
		is_int(st, 0, "open while a live writer writes");
		fputs("live", a->f);
		fflush(a->f);
		DIR *d2 = opendir(dir);
		while ((e = readdir(d2)))
			if (!strncmp(e->d_name, ".out.txt.", 9)) {
				struct timespec t[2] = {{time(NULL) - 60, 0}, {time(NULL) - 60, 0}};
				snprintf(tname, sizeof tname, "%s/%s", dir, e->d_name);
				utimensat(AT_FDCWD, tname, t, 0);
			}
		closedir(d2);
		is_int(temporaries("out.txt"), 1, "the killed writer's temporary is gone, ours is there");
		is_int(write_file(path, "after\n"), 0, "another write of the target");
		is_int(temporaries("out.txt"), 1, "  leaves the live writer's temporary alone");
		dg_atomic_abort(a);
		is_int(temporaries("out.txt"), 0, "  which its abort removes");
	}

	unlink(path);
	ok(rmdir(dir) == 0, "test folder empty at the end");
	return done_testing();
}
