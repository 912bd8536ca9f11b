/* vk/instance.c — loading the Vulkan loader through volk, reading device
 * properties, and listing Vulkan devices for dg_device_list(). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg/error.h"
#include "vk/gemm_tiles.h"
#include "vk/vk.h"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_status;
static char load_message[512];

static void load(void)
{
	const char *path = getenv("DG_VULKAN_LOADER");
	PFN_vkGetInstanceProcAddr gipa;
	void *h;

	if (!path || !*path) {
		if (volkInitialize() != VK_SUCCESS) {
			load_status = DG_ENODEV;
			snprintf(load_message, sizeof load_message,
				 "no Vulkan loader (libvulkan.so.1); install libvulkan1");
		} else if (volkGetInstanceVersion() < VK_API_VERSION_1_1) {
			load_status = DG_ENODEV;
			snprintf(load_message, sizeof load_message,
				 "the Vulkan loader is older than 1.1; upgrade libvulkan1");
		}
		return;
	}
	/* The handle stays open for the life of the process, as volk's own. */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	gipa = h ? (PFN_vkGetInstanceProcAddr)(uintptr_t)dlsym(h, "vkGetInstanceProcAddr") : NULL;
	if (!gipa) {
		load_status = DG_ENODEV;
		snprintf(load_message, sizeof load_message,
			 "cannot load the Vulkan loader %s (DG_VULKAN_LOADER): %s; install libvulkan1",
			 path, h ? "no vkGetInstanceProcAddr" : dlerror());
		if (h)
			dlclose(h);
		return;
	}
	volkInitializeCustom(gipa);
	if (volkGetInstanceVersion() < VK_API_VERSION_1_1) {
		load_status = DG_ENODEV;
		snprintf(load_message, sizeof load_message,
			 "the Vulkan loader %s is older than 1.1", path);
	}
}

int dg_vk_load(void)
{
	pthread_once(&load_once, load);
	if (load_status)
		return dg_error(load_status, "%s", load_message);
	return 0;
}

const char *dg_vk_result_name(VkResult r)
{
	switch (r) {
	case VK_SUCCESS: return "VK_SUCCESS";
	case VK_NOT_READY: return "VK_NOT_READY";
	case VK_TIMEOUT: return "VK_TIMEOUT";
	case VK_INCOMPLETE: return "VK_INCOMPLETE";
	case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
	case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
	case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
	case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
	case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
	case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
	case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
	case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
	case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
	case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
	case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
	case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
	case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
	case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV";
	default: return "VkResult (unknown)";
	}
}

int dg_vk_check(VkResult r, const char *what)
{
	if (r == VK_SUCCESS)
		return 0;
	if (r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY)
		return dg_error(DG_ENOMEM, "%s: %s", what, dg_vk_result_name(r));
	return dg_error(DG_EINTERNAL, "%s: %s", what, dg_vk_result_name(r));
}

/* Reads what dg uses of a physical device (needs Vulkan 1.1 for the
 * chained structures, which dg_vk_enumerate and dg_vk_open ensure). */
uint32_t dg_vk_instance_api(void)
{
	uint32_t v = volkGetInstanceVersion();
	return v >= VK_API_VERSION_1_2 ? VK_API_VERSION_1_2 : VK_API_VERSION_1_1;
}

void dg_vk_query_props(VkPhysicalDevice pd, uint32_t instance_api, struct dg_vk_props *p)
{
	VkPhysicalDeviceDriverProperties drv = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES };
	VkPhysicalDeviceMaintenance3Properties m3 = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES };
	VkPhysicalDeviceSubgroupProperties sg = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &m3 };
	VkPhysicalDeviceProperties2 p2 = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg };
	VkPhysicalDeviceProperties base;
	VkPhysicalDeviceMemoryProperties mem;
	const VkPhysicalDeviceLimits *l;
	uint32_t v;

	memset(p, 0, sizeof *p);
	vkGetPhysicalDeviceProperties(pd, &base);
	/* VkPhysicalDeviceDriverProperties is core in 1.2 only; chaining an
	 * unknown structure is not allowed, so ask only when it is known. */
	int driver_props = base.apiVersion >= VK_API_VERSION_1_2 &&
			   instance_api >= VK_API_VERSION_1_2;

	if (driver_props)
		m3.pNext = &drv;
	vkGetPhysicalDeviceProperties2(pd, &p2);
	l = &p2.properties.limits;
	snprintf(p->name, sizeof p->name, "%s", base.deviceName);
	v = base.apiVersion;
	p->api_version = v;
	snprintf(p->api, sizeof p->api, "%u.%u.%u", VK_API_VERSION_MAJOR(v),
		 VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
	if (driver_props && drv.driverName[0])
		snprintf(p->driver, sizeof p->driver, "%.120s %.120s", drv.driverName, drv.driverInfo);
	else
		snprintf(p->driver, sizeof p->driver, "vendor 0x%04x driver 0x%08x",
			 base.vendorID, base.driverVersion);
	p->type = base.deviceType;
	p->vendor_id = base.vendorID;
	p->device_id = base.deviceID;
	memcpy(p->pipeline_cache_uuid, base.pipelineCacheUUID, VK_UUID_SIZE);
	p->subgroup_size = sg.subgroupSize;
	p->max_storage_buffer_range = l->maxStorageBufferRange;
	p->max_allocation_size = m3.maxMemoryAllocationSize;
	p->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
	memcpy(p->max_workgroup_size, l->maxComputeWorkGroupSize, sizeof p->max_workgroup_size);
	memcpy(p->max_workgroup_count, l->maxComputeWorkGroupCount, sizeof p->max_workgroup_count);
	p->max_shared_memory = l->maxComputeSharedMemorySize;
	p->max_push_constants = l->maxPushConstantsSize;
	p->max_bound_sets = l->maxBoundDescriptorSets;
	p->max_storage_buffers_per_stage = l->maxPerStageDescriptorStorageBuffers;
	p->max_texel_buffers_per_stage = l->maxPerStageDescriptorSampledImages;
	p->max_texel_buffer_elements = l->maxTexelBufferElements;
	p->min_texel_offset_align = l->minTexelBufferOffsetAlignment;
	p->min_storage_offset_align = l->minStorageBufferOffsetAlignment;
	p->non_coherent_atom = l->nonCoherentAtomSize;
	p->timestamp_period = l->timestampPeriod;
	vkGetPhysicalDeviceMemoryProperties(pd, &mem);
	for (uint32_t i = 0; i < mem.memoryHeapCount; i++)
		if ((mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
		    mem.memoryHeaps[i].size > p->device_local_bytes)
			p->device_local_bytes = mem.memoryHeaps[i].size;
}

static const char *type_name(VkPhysicalDeviceType t)
{
	switch (t) {
	case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete-gpu";
	case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated-gpu";
	case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual-gpu";
	case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu-driver";
	default: return "other";
	}
}

/* Creates a bare instance for listing (no layers, no extensions). */
static VkResult list_instance(VkInstance *inst)
{
	VkApplicationInfo app = {
		.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
		.pApplicationName = "dg", .pEngineName = "dg",
		.apiVersion = dg_vk_instance_api(),
	};
	VkInstanceCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app,
	};
	return vkCreateInstance(&ci, NULL, inst);
}

int dg_vk_enumerate(struct dg_device_info **list, size_t *n, const char **status)
{
	static const char *no_driver =
		"no Vulkan driver found; install mesa-vulkan-drivers (lavapipe, a CPU driver) "
		"or your GPU's Vulkan driver";
	static const char *no_loader = "no Vulkan loader (libvulkan.so.1); install libvulkan1";
	static const char *failed = "the Vulkan loader failed to create an instance";
	VkPhysicalDevice *pds = NULL;
	VkInstance inst;
	uint32_t count = 0, used = 0;
	VkResult r;
	int st = 0;

	if (dg_vk_load()) {
		*status = getenv("DG_VULKAN_LOADER") ? "the Vulkan loader named by DG_VULKAN_LOADER "
			"cannot be loaded; install libvulkan1" : no_loader;
		return 0;
	}
	r = list_instance(&inst);
	if (r != VK_SUCCESS) {
		*status = r == VK_ERROR_INCOMPATIBLE_DRIVER ? no_driver : failed;
		return 0;
	}
	volkLoadInstanceOnly(inst);
	if (vkEnumeratePhysicalDevices(inst, &count, NULL) != VK_SUCCESS)
		count = 0;
	if (count) {
		pds = calloc(count, sizeof *pds);
		if (!pds) {
			vkDestroyInstance(inst, NULL);
			return dg_error_nomem("Vulkan device list", count * sizeof *pds);
		}
		if (vkEnumeratePhysicalDevices(inst, &count, pds) < 0)
			count = 0;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct dg_device_info *grown, *d;
		struct dg_vk_props p;

		dg_vk_query_props(pds[i], dg_vk_instance_api(), &p);
		/* dg's SPIR-V is built for Vulkan 1.1. */
		if (p.api_version < VK_API_VERSION_1_1)
			continue;
		grown = realloc(*list, (*n + 1) * sizeof **list);
		if (!grown) {
			st = dg_error_nomem("Vulkan device list", (*n + 1) * sizeof **list);
			break;
		}
		*list = grown;
		d = &grown[(*n)++];
		memset(d, 0, sizeof *d);
		d->kind = DG_DEVICE_VULKAN;
		d->index = (int)used;
		snprintf(d->id, sizeof d->id, "vulkan:%u", used++);
		snprintf(d->name, sizeof d->name, "%s", p.name);
		snprintf(d->type, sizeof d->type, "%s", type_name(p.type));
		snprintf(d->driver, sizeof d->driver, "%s", p.driver);
		snprintf(d->api_version, sizeof d->api_version, "%s", p.api);
		d->memory_bytes = p.device_local_bytes;
		d->subgroup_size = p.subgroup_size;
		d->max_workgroup_invocations = p.max_workgroup_invocations;
		d->max_shared_memory = p.max_shared_memory;
		d->max_storage_buffer_range = p.max_storage_buffer_range;
		d->max_allocation_size = p.max_allocation_size;
		/* the GEMM/convolution tiles the recorder will use here */
		struct dg_vk_gemm_tiles t;
		dg_vk_gemm_tiles(p.type == VK_PHYSICAL_DEVICE_TYPE_CPU, p.subgroup_size,
				 p.max_workgroup_invocations, &t);
		dg_vk_gemm_tiles_describe(&t, p.subgroup_size, d->tuning, sizeof d->tuning);
	}
	free(pds);
	vkDestroyInstance(inst, NULL);
	*status = used ? "" : count ? "no Vulkan 1.1 device; dg needs Vulkan 1.1" : no_driver;
	return st;
}
