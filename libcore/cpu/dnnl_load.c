/* cpu/dnnl_load.c — oneDNN opened at run time, at the first plan the cpu
 * backend wants, instead of linked: a tool that does not compute on the
 * cpu backend does not pay for loading and relocating it (about 40 MB,
 * with libgomp), and dg runs with its own C kernels where it is missing. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg/error.h"
#include "cpu/dnnl_impl.h"

/* The soname dg was built for: libdnnl.so.<major>. */
#define STR_(x) #x
#define STR(x) STR_(x)
#define LIBDNNL "libdnnl.so." STR(DNNL_VERSION_MAJOR)

struct dgd_api dgd_api;
_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "dlsym gives functions as void *");

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int state;               /* 0 not tried, 1 loaded, -1 failed (atomic) */
static char why[200];           /* written once, before state */

static void load(void)
{
	/* $DG_DNNL_LIBRARY names another library (tests use it to simulate
	 * a missing one). */
	const char *name = getenv("DG_DNNL_LIBRARY");
	void *h;

	if (!name || !*name)
		name = LIBDNNL;
	/* libgomp, which libdnnl loads, reads OMP_WAIT_POLICY once, when it
	 * is loaded: spinning at its barriers was 3-5x slower on a machine
	 * shared with other busy processes (bench/RESULTS.md), and passive
	 * waiting costs a few microseconds per call on an idle one.  The
	 * user's setting wins. */
	setenv("OMP_WAIT_POLICY", "passive", 0);
	if (!(h = dlopen(name, RTLD_NOW | RTLD_LOCAL))) {
		snprintf(why, sizeof why, "%s", dlerror());
	} else {
		/* dlsym's result is the function (POSIX); memcpy converts it
		 * without an object-to-function pointer cast. */
#define X(f)                                                                    \
		if (!why[0]) {                                                  \
			void *p = dlsym(h, "dnnl_" #f);                         \
			if (!p)                                                 \
				snprintf(why, sizeof why, "%s: no dnnl_%s", name, #f); \
			memcpy(&dgd_api.f, &p, sizeof p);                       \
		}
		DGD_FUNCTIONS(X)
#undef X
	}
	/* The library stays loaded for the life of the process (plans and
	 * libgomp's threads outlive any caller). */
	__atomic_store_n(&state, why[0] ? -1 : 1, __ATOMIC_RELEASE);
	if (why[0]) {
		const char *dbg = getenv("DG_DEBUG");
		if (dbg && *dbg)
			fprintf(stderr, "dg: cpu: oneDNN not loaded (%s): dg's own C kernels "
				"run instead\n", why);
	}
}

int dgd_load(void)
{
	pthread_once(&once, load);
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) < 0)
		return dg_error(DG_ENODEV, "oneDNN not available: %s", why);
	return DG_OK;
}

void dg_dnnl_describe(char *buf, size_t size)
{
	int st = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
	if (st > 0) {
		const dnnl_version_t *v = DNNL(version)();
		snprintf(buf, size, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
	} else if (st < 0) {
		snprintf(buf, size, "dg C kernels (oneDNN not loaded: %.80s)", why);
	} else {
		snprintf(buf, size, "oneDNN %d.%d.%d", DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR,
			 DNNL_VERSION_PATCH);
	}
}
