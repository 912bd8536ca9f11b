/* dg/device.h — compute devices: the native cpu device and every Vulkan
 * physical device, enumerated through volk.
 *
 * Names: "cpu", "vulkan" (the first Vulkan device), "vulkan:N".  The
 * default (no --device, no DG_DEVICE) is the first discrete or integrated
 * GPU, else "cpu".  A missing Vulkan loader or driver is not an error for
 * listing: the cpu device is always there. */
#ifndef DG_DEVICE_H
#define DG_DEVICE_H

#include <stddef.h>
#include <stdint.h>

enum dg_device_kind { DG_DEVICE_CPU = 1, DG_DEVICE_VULKAN = 2 };

struct dg_device_info {
	enum dg_device_kind kind;
	int index;                 /* N of vulkan:N; -1 for cpu */
	char id[32];               /* "cpu", "vulkan:0" */
	char name[256];            /* "llvmpipe (LLVM 15.0.6, 256 bits)" */
	char type[32];             /* "cpu", "discrete-gpu", "integrated-gpu",
				      "virtual-gpu", "cpu-driver", "other" */
	char driver[256];          /* "llvmpipe Mesa 22.3.6 (LLVM 15.0.6)", "oneDNN 2.6.3" */
	char api_version[32];      /* Vulkan "1.3.230"; empty for cpu */
	uint64_t memory_bytes;     /* largest device-local heap, or RAM for cpu */
	unsigned threads;          /* cpu: threads used; vulkan: 0 */
	uint32_t subgroup_size;    /* vulkan; 0 for cpu */
	uint32_t max_workgroup_invocations;
	uint32_t max_shared_memory;
	uint64_t max_storage_buffer_range;
	uint64_t max_allocation_size;
	char tuning[128];          /* the kernel parameters libdg chose for the device:
				      vulkan "gemm tile 64x24 (8x2 invocations of
				      8x12), subgroup 8"; empty for cpu */
};

/* Lists every device, cpu first.  *list is malloc'd; free() it.  Never
 * fails for lack of Vulkan (that only shortens the list); a note of why
 * Vulkan is unavailable is kept for dg_device_vulkan_status(). */
int dg_device_list(struct dg_device_info **list, size_t *n);

/* Why there are no Vulkan devices ("" when there are some). */
const char *dg_device_vulkan_status(void);

/* Resolves spec ("cpu", "vulkan", "vulkan:N"; NULL means $DG_DEVICE, then
 * the default) to a device.  DG_EUSAGE for a malformed spec, DG_ENODEV
 * (with a hint naming the package to install) for a missing device.
 * "cpu", and the default on a machine without GPU device files
 * (/dev/dri/renderD*, /dev/nvidiactl), never load Vulkan: creating an
 * instance costs 40-90 ms with lavapipe.  $DG_VULKAN_LOADER names
 * another loader library (tests use it to simulate a missing one). */
int dg_device_select(const char *spec, struct dg_device_info *out);

#endif
