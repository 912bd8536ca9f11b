/* t_device.c — device listing and selection: cpu always, lavapipe on this
 * machine, DG_DEVICE, error codes and hints, missing loader or driver
 * (simulated in child processes, since the list is made once per process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dg.h"
#include "tap.h"

static int has(const char *s, const char *sub)
{
	return strstr(s, sub) != NULL;
}

/* Child mode: with Vulkan made unavailable by the parent's environment,
 * only cpu is listed, the default is cpu, and asking for Vulkan gives 69
 * with the hint `hint`.  Returns the number of the first failed check. */
static int child(const char *hint)
{
	struct dg_device_info *l, d;
	size_t n;

	if (dg_device_list(&l, &n))
		return 1;
	if (n != 1 || l[0].kind != DG_DEVICE_CPU) {
		fprintf(stderr, "child: %zu devices\n", n);
		return 2;
	}
	free(l);
	if (!has(dg_device_vulkan_status(), hint)) {
		fprintf(stderr, "child: status '%s'\n", dg_device_vulkan_status());
		return 3;
	}
	if (dg_device_select(NULL, &d) || strcmp(d.id, "cpu"))
		return 4;
	if (dg_device_select("vulkan", &d) != DG_ENODEV || !has(dg_errmsg(), hint)) {
		fprintf(stderr, "child: message '%s'\n", dg_errmsg());
		return 5;
	}
	return 0;
}

static int run_child(const char *var, const char *value, const char *var2, const char *hint)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		setenv(var, value, 1);
		if (var2)
			setenv(var2, value, 1);
		execl("/proc/self/exe", "t_device", "child", hint, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	struct dg_device_info *l, d;
	size_t n;
	int lvp = -1, st;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (argc == 3 && !strcmp(argv[1], "child"))
		return child(argv[2]);
	unsetenv("DG_DEVICE");

	is_int(dg_device_list(&l, &n), 0, "dg_device_list succeeds");
	ok(n >= 1 && l[0].kind == DG_DEVICE_CPU && !strcmp(l[0].id, "cpu"), "cpu is listed first");
	is_int(l[0].threads, cpus, "cpu threads = online CPUs");
	ok(l[0].memory_bytes > (64u << 20), "cpu memory from sysinfo (%llu bytes)",
	   (unsigned long long)l[0].memory_bytes);
	ok(!strncmp(l[0].driver, "oneDNN ", 7) && l[0].driver[7] >= '0' && l[0].driver[7] <= '9',
	   "cpu driver names oneDNN's version (%s)", l[0].driver);
	ok(l[0].name[0] && strcmp(l[0].name, "cpu"), "cpu name from /proc/cpuinfo (%s)", l[0].name);
	for (size_t i = 1; i < n; i++) {
		diag("%s: %s [%s] %s, subgroup %u", l[i].id, l[i].name, l[i].type, l[i].driver,
		     l[i].subgroup_size);
		if (lvp < 0 && has(l[i].name, "llvmpipe"))
			lvp = (int)i;
	}
	/* lavapipe is a declared dependency (mesa-vulkan-drivers). */
	ok(lvp > 0, "lavapipe is listed (status: '%s')", dg_device_vulkan_status());
	if (lvp > 0) {
		struct dg_device_info *v = &l[lvp];
		ok(v->kind == DG_DEVICE_VULKAN && !strcmp(v->type, "cpu-driver"),
		   "lavapipe is a Vulkan cpu-driver");
		ok(v->subgroup_size >= 4 && (v->subgroup_size & (v->subgroup_size - 1)) == 0,
		   "subgroup size queried (%u)", v->subgroup_size);
		ok(v->max_storage_buffer_range >= (1u << 27) && v->max_allocation_size >= v->max_storage_buffer_range,
		   "storage range %llu and allocation size %llu recorded",
		   (unsigned long long)v->max_storage_buffer_range,
		   (unsigned long long)v->max_allocation_size);
		ok(v->max_workgroup_invocations >= 128 && v->max_shared_memory >= 16384,
		   "workgroup invocations %u, shared memory %u", v->max_workgroup_invocations,
		   v->max_shared_memory);
		ok(has(v->driver, "Mesa") && v->api_version[0] == '1', "driver '%s', API %s",
		   v->driver, v->api_version);
		ok(has(v->tuning, "gemm tile ") && has(v->tuning, " invocations of "),
		   "tuning names the GEMM tiles libdg chose: '%s'", v->tuning);
		is_str(dg_device_vulkan_status(), "", "no Vulkan status message when devices exist");
	}

	is_int(dg_device_select("cpu", &d), 0, "select cpu");
	is_str(d.id, "cpu", "cpu selected");
	is_int(dg_device_select("vulkan", &d), 0, "select vulkan");
	is_str(d.id, "vulkan:0", "vulkan means vulkan:0");
	is_int(dg_device_select("vulkan:0", &d), 0, "select vulkan:0");
	ok(d.kind == DG_DEVICE_VULKAN && d.index == 0, "vulkan:0 is Vulkan device 0");
	st = dg_device_select("vulkan:99", &d);
	is_int(st, DG_ENODEV, "vulkan:99 is a missing device (69)");
	ok(has(dg_errmsg(), "vulkan:99") && has(dg_errmsg(), "mesa-vulkan-drivers"),
	   "message names the device and the package: %s", dg_errmsg());
	is_int(dg_device_select("gpu", &d), DG_EUSAGE, "unknown name is a usage error");
	is_int(dg_device_select("vulkan:", &d), DG_EUSAGE, "vulkan: without N");
	is_int(dg_device_select("vulkan:-1", &d), DG_EUSAGE, "negative N");
	is_int(dg_device_select("vulkan:1x", &d), DG_EUSAGE, "trailing junk");
	is_int(dg_device_select("vulkan:99999999999", &d), DG_EUSAGE, "huge N");

	/* Default: lavapipe is a CPU driver, so the native cpu device wins,
	 * whether found by the shortcut (no GPU device files) or by a scan. */
	is_int(dg_device_select(NULL, &d), 0, "default selection");
	is_str(d.id, "cpu", "default is cpu on a machine whose only Vulkan device is a CPU driver");
	setenv("DG_DEVICE_SCAN", "1", 1);
	ok(dg_device_select(NULL, &d) == 0 && !strcmp(d.id, "cpu") && d.threads == cpus,
	   "the same with a full Vulkan scan (DG_DEVICE_SCAN=1)");
	unsetenv("DG_DEVICE_SCAN");
	setenv("DG_DEVICE", "vulkan", 1);
	ok(dg_device_select(NULL, &d) == 0 && !strcmp(d.id, "vulkan:0"), "DG_DEVICE=vulkan honoured");
	setenv("DG_DEVICE", "vulkan:99", 1);
	is_int(dg_device_select(NULL, &d), DG_ENODEV, "DG_DEVICE=vulkan:99 -> 69");
	ok(has(dg_errmsg(), "DG_DEVICE"), "message says the name came from DG_DEVICE");
	setenv("DG_DEVICE", "cpu", 1);
	ok(dg_device_select("vulkan", &d) == 0 && !strcmp(d.id, "vulkan:0"),
	   "an explicit spec overrides DG_DEVICE");
	setenv("DG_DEVICE", "", 1);
	ok(dg_device_select(NULL, &d) == 0 && !strcmp(d.id, "cpu"), "empty DG_DEVICE = unset");
	unsetenv("DG_DEVICE");
	free(l);

	is_int(run_child("DG_VULKAN_LOADER", "/nonexistent/libvulkan.so.1", NULL, "libvulkan1"), 0,
	       "no loader: cpu listed, default cpu, vulkan -> 69 naming libvulkan1");
	is_int(run_child("DG_VULKAN_LOADER", "/lib/x86_64-linux-gnu/libz.so.1", NULL, "libvulkan1"), 0,
	       "a library that is not a loader: the same");
	is_int(run_child("VK_ICD_FILENAMES", "/nonexistent.json", "VK_DRIVER_FILES",
			 "mesa-vulkan-drivers"), 0,
	       "loader but no driver: cpu listed, vulkan -> 69 naming mesa-vulkan-drivers");
	return done_testing();
}
