/* device.c — the compute devices dg can run on (the native cpu device and
 * every Vulkan device) and the choice among them (--device, DG_DEVICE). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include "dg/device.h"
#include "dg/error.h"
#include "cpu/dnnl.h"
#include "vk/vk.h"

/* The list is made once per process: creating a Vulkan instance to list
 * devices costs milliseconds, and devices do not come and go under a
 * running tool. */
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dg_device_info *devices;
static size_t device_count;
static const char *vulkan_status = "";

/* "model name : Intel(R) ..." from /proc/cpuinfo, else the machine type. */
static void cpu_name(char *buf, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, size, "cpu");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':'), *v, *end;
		if (strncmp(line, "model name", 10) || !colon)
			continue;
		v = colon + 1;
		while (isspace((unsigned char)*v))
			v++;
		end = v + strlen(v);
		while (end > v && isspace((unsigned char)end[-1]))
			*--end = 0;
		if (*v)
			snprintf(buf, size, "%s", v);
		break;
	}
	fclose(f);
}

static void cpu_device(struct dg_device_info *d)
{
	struct sysinfo si;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(d, 0, sizeof *d);
	d->kind = DG_DEVICE_CPU;
	d->index = -1;
	snprintf(d->id, sizeof d->id, "cpu");
	cpu_name(d->name, sizeof d->name);
	snprintf(d->type, sizeof d->type, "cpu");
	dg_dnnl_describe(d->driver, sizeof d->driver);   /* without loading it */
	if (sysinfo(&si) == 0)
		d->memory_bytes = (uint64_t)si.totalram * si.mem_unit;
	d->threads = n > 0 ? (unsigned)n : 1;
}

/* Fills the cached list under list_lock. */
static int make_list(void)
{
	struct dg_device_info *l;
	size_t n = 1;
	int st;

	if (devices)
		return 0;
	l = malloc(sizeof *l);
	if (!l)
		return dg_error_nomem("device list", sizeof *l);
	cpu_device(&l[0]);
	st = dg_vk_enumerate(&l, &n, &vulkan_status);
	if (st) {
		free(l);
		return st;
	}
	devices = l;
	device_count = n;
	return 0;
}

int dg_device_list(struct dg_device_info **list, size_t *n)
{
	int st;

	*list = NULL;
	*n = 0;
	pthread_mutex_lock(&list_lock);
	st = make_list();
	if (!st) {
		*list = malloc(device_count * sizeof **list);
		if (*list) {
			memcpy(*list, devices, device_count * sizeof **list);
			*n = device_count;
		} else {
			st = dg_error_nomem("device list", device_count * sizeof **list);
		}
	}
	pthread_mutex_unlock(&list_lock);
	return st;
}

const char *dg_device_vulkan_status(void)
{
	const char *s;

	pthread_mutex_lock(&list_lock);
	s = make_list() ? "cannot list devices" : vulkan_status;
	pthread_mutex_unlock(&list_lock);
	return s;
}

/* Whether a GPU Vulkan driver could find a device: every Linux GPU driver
 * works through a DRM render node or NVIDIA's device files.  Without any,
 * the default is cpu without creating a Vulkan instance, which costs
 * 40-90 ms with lavapipe (LLVM start-up) on every tool start.
 * $DG_DEVICE_SCAN=1 skips this shortcut (tests, diagnosis). */
static int may_have_gpu(void)
{
	const char *scan = getenv("DG_DEVICE_SCAN");
	DIR *d;
	struct dirent *e;
	int found = 0;

	if ((scan && !strcmp(scan, "1")) || access("/dev/nvidiactl", F_OK) == 0)
		return 1;
	d = opendir("/dev/dri");
	if (!d)
		return 0;
	while (!found && (e = readdir(d)))
		found = !strncmp(e->d_name, "renderD", 7);
	closedir(d);
	return found;
}

/* Parses "vulkan:N" (N decimal, no sign) into *index; -1 if malformed. */
static int parse_index(const char *s, int *index)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || v > 100000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*index = (int)v;
	return 0;
}

int dg_device_select(const char *spec, struct dg_device_info *out)
{
	const char *from = "";
	struct dg_device_info *list;
	size_t n, vk_count;
	int st, want = -1;

	if (!spec) {
		spec = getenv("DG_DEVICE");
		if (spec && *spec)
			from = " (from DG_DEVICE)";
		else
			spec = NULL;
	}
	if (spec && strcmp(spec, "cpu") && strcmp(spec, "vulkan") &&
	    (strncmp(spec, "vulkan:", 7) || parse_index(spec + 7, &want)))
		return dg_error(DG_EUSAGE, "unknown device '%s'%s: use cpu, vulkan or vulkan:N",
				spec, from);
	if ((!spec && !may_have_gpu()) || (spec && !strcmp(spec, "cpu"))) {
		/* no Vulkan needed: only the cpu entry */
		cpu_device(out);
		return 0;
	}
	st = dg_device_list(&list, &n);
	if (st)
		return st;
	vk_count = n - 1;
	if (!spec) {
		/* Default: a real GPU if there is one; lavapipe and other CPU
		 * drivers are slower than the native cpu backend. */
		*out = list[0];
		for (size_t i = 1; i < n; i++)
			if (!strcmp(list[i].type, "discrete-gpu") ||
			    !strcmp(list[i].type, "integrated-gpu")) {
				*out = list[i];
				break;
			}
	} else if (!strcmp(spec, "cpu")) {
		*out = list[0];
	} else if (vk_count == 0) {
		st = dg_error(DG_ENODEV, "no Vulkan device for '%s'%s: %s", spec, from,
			      dg_device_vulkan_status());
	} else {
		if (want < 0)
			want = 0;
		if ((size_t)want < vk_count)
			*out = list[1 + want];
		else
			st = dg_error(DG_ENODEV,
				      "no device vulkan:%d%s: there %s %zu Vulkan device%s "
				      "(dg-info --devices lists them); another GPU needs its "
				      "Vulkan driver (mesa-vulkan-drivers for Mesa)",
				      want, from, vk_count == 1 ? "is" : "are", vk_count,
				      vk_count == 1 ? "" : "s");
	}
	free(list);
	return st;
}
