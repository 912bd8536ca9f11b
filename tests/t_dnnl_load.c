/* t_dnnl_load.c — oneDNN is loaded only when the cpu backend first wants a
 * plan: not at start, not for a step without a matrix product, not with
 * DG_NO_DNNL=1; loading sets OMP_WAIT_POLICY=passive unless the user set
 * it; and where libdnnl cannot be loaded, dg's own C kernels compute the
 * same results and DG_DEBUG says so once.  The last two run in child
 * processes (this program re-executed), since loading happens once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dg.h"
#include "tap.h"

/* Whether libdnnl is mapped into this process. */
static int dnnl_loaded(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int found = 0;

	while (f && !found && fgets(line, sizeof line, f))
		found = strstr(line, "/libdnnl.so") != NULL;
	if (f)
		fclose(f);
	return found;
}

/* y = x·w for x 3×4 and w 4×2 of small integers on cpu; 0 when y is exact. */
static int matmul_step(void)
{
	struct dg_graph *g = dg_graph_new(1);
	float x[12], w[8], y[6];
	struct dg_exec *e = NULL;
	int st, bad = 0;

	for (int i = 0; i < 12; i++)
		x[i] = (float)(i % 5 - 2);
	for (int i = 0; i < 8; i++)
		w[i] = (float)(i % 3 - 1);
	dg_tensor out = dg_matmul(g, dg_constant(g, DG_SHAPE(3, 4), x),
				  dg_constant(g, DG_SHAPE(4, 2), w), 0, 0);
	st = dg_compile(g, "cpu", 1, &out, 0, NULL, &e);
	if (!st)
		st = dg_exec_run(e);
	if (!st)
		st = dg_exec_read(e, 0, y, 6);
	for (int i = 0; i < 3 && !st; i++)
		for (int j = 0; j < 2; j++) {
			float s = 0;
			for (int k = 0; k < 4; k++)
				s += x[i * 4 + k] * w[k * 2 + j];
			bad |= y[i * 2 + j] != s;
		}
	dg_exec_free(e);
	dg_graph_free(g);
	return st ? st : bad ? -1 : 0;
}

/* A step oneDNN has nothing to do in: a random draw through tanh. */
static int small_step(void)
{
	struct dg_graph *g = dg_graph_new(1);
	struct dg_exec *e = NULL;
	dg_tensor y = dg_tanh(g, dg_random_normal(g, DG_SHAPE(4, 5)));
	int st = dg_compile(g, "cpu", 1, &y, 0, NULL, &e);
	if (!st)
		st = dg_exec_run(e);
	dg_exec_free(e);
	dg_graph_free(g);
	return st;
}

/* Runs this program as `self mode` with one extra variable set and its
 * stderr in err (a file); returns its exit status, or -1. */
static int child(const char *self, const char *mode, const char *var, const char *value,
		 const char *err)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		FILE *f = freopen(err, "w", stderr);
		(void)f;
		setenv(var, value, 1);
		execl(self, self, mode, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int count_lines(const char *path, const char *what)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n = 0;

	while (f && fgets(line, sizeof line, f))
		n += strstr(line, what) != NULL;
	if (f)
		fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "policy")) {
		/* OMP_WAIT_POLICY=active set by the parent: kept */
		int st = matmul_step();
		const char *p = getenv("OMP_WAIT_POLICY");
		return !st && dnnl_loaded() && p && !strcmp(p, "active") ? 0 : 1;
	}
	if (argc > 1 && !strcmp(argv[1], "fallback")) {
		/* no libdnnl: two steps with matrix products, right, on C kernels */
		struct dg_device_info d;
		int st = matmul_step() || matmul_step();
		int described = !dg_device_select("cpu", &d) && strstr(d.driver, "oneDNN not loaded");
		return !st && !dnnl_loaded() && described ? 0 : 1;
	}

	unsetenv("OMP_WAIT_POLICY");
	ok(!dnnl_loaded(), "oneDNN is not loaded at start");
	struct dg_device_info d;
	ok(!dg_device_select("cpu", &d) && !strncmp(d.driver, "oneDNN ", 7) && !dnnl_loaded(),
	   "the cpu device names oneDNN (%s) without loading it", d.driver);
	ok(!small_step() && !dnnl_loaded(), "a cpu step without a matrix product does not load it");
	setenv("DG_NO_DNNL", "1", 1);
	ok(!matmul_step() && !dnnl_loaded(), "nor does a matrix product with DG_NO_DNNL=1");
	unsetenv("DG_NO_DNNL");
	ok(!matmul_step() && dnnl_loaded(), "the first cpu plan loads oneDNN");
	const char *p = getenv("OMP_WAIT_POLICY");
	ok(p && !strcmp(p, "passive"), "loading it set OMP_WAIT_POLICY=passive (%s)", p ? p : "unset");

	char err[] = "/tmp/t_dnnl_load.XXXXXX";
	int fd = mkstemp(err);
	if (fd >= 0)
		close(fd);
	is_int(child(argv[0], "policy", "OMP_WAIT_POLICY", "active", err), 0,
	       "a policy the user set is kept");
	setenv("DG_DEBUG", "1", 1);
	is_int(child(argv[0], "fallback", "DG_DNNL_LIBRARY", "/nonexistent/libdnnl.so.2", err), 0,
	       "without libdnnl, dg's C kernels compute matrix products, and the device says so");
	unsetenv("DG_DEBUG");
	is_int(count_lines(err, "oneDNN not loaded"), 1, "DG_DEBUG says so once");
	unlink(err);
	return done_testing();
}
