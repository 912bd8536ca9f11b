/* t_lsan.c — in a sanitizer build (make check SANITIZE=1), LeakSanitizer
 * stays able to see dg's own leaks while the Vulkan driver's one-time
 * blocks do not fail the build (libcore/sanitize.c says how).
 *
 * The test runs itself twice as a child that opens the Vulkan devices:
 * once freeing everything, which must exit 0, and once losing a block
 * that libdg allocated, which LeakSanitizer must report by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"
#include "dg.h"

static int child(const char *mode)
{
	struct dg_device_info *list = NULL;
	size_t n = 0;
	if (dg_device_list(&list, &n))
		return 2;
	free(list);
	if (!strcmp(mode, "leak")) {
		struct dg_array *a = dg_array_new(DG_F32, 1, (const uint64_t[]){1000});
		a = NULL;   /* lost: LeakSanitizer must say so */
		(void)a;
	}
	return 0;
}

#ifdef DG_SANITIZE
/* Runs "self mode" with stderr captured into err; returns the exit status. */
static int run(const char *self, const char *mode, char *err, size_t size)
{
	char path[] = "/tmp/dg-lsan.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd, 2);
		execl(self, self, mode, (char *)NULL);
		_exit(127);
	}
	int ws = 0;
	waitpid(pid, &ws, 0);
	ssize_t got = pread(fd, err, size - 1, 0);
	err[got > 0 ? got : 0] = 0;
	close(fd);
	unlink(path);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

#endif

int main(int argc, char **argv)
{
	if (argc == 2)
		return child(argv[1]);
#ifndef DG_SANITIZE
	printf("1..0 # SKIP not a sanitizer build (make check SANITIZE=1 runs it)\n");
	(void)done_testing;
	return 0;
#else
	static char err[1 << 16];
	int st = run(argv[0], "clean", err, sizeof err);
	if (!ok(st == 0, "a process that opens Vulkan and frees what it allocates exits 0"))
		diag("exit %d: %.2000s", st, err);
	st = run(argv[0], "leak", err, sizeof err);
	ok(st != 0, "a lost block of dg's fails the process (exit %d)", st);
	ok(strstr(err, "LeakSanitizer") != NULL, "LeakSanitizer reports it");
	if (!ok(strstr(err, "dg_array_new") != NULL, "the report names dg_array_new"))
		diag("%.2000s", err);
	return done_testing();
#endif
}
