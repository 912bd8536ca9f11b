/* vk/device.c — opening a Vulkan device for compute: instance (optionally
 * with the validation layer and a counting messenger), physical device,
 * one compute queue; and closing it again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg/error.h"
#include "vk/vk.h"

#define BLOCK_BYTES (64ull << 20)

static const char *validation_layer = "VK_LAYER_KHRONOS_validation";

/* Counts what the validation layer reports and prints it on stderr: the
 * user asked for validation, so its findings are the diagnostics. */
static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
						 VkDebugUtilsMessageTypeFlagsEXT type,
						 const VkDebugUtilsMessengerCallbackDataEXT *data,
						 void *user)
{
	struct dg_vk *vk = user;
	int error = (sev & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) != 0;

	(void)type;
	__atomic_fetch_add(error ? &vk->validation_errors : &vk->validation_warnings, 1,
			   __ATOMIC_RELAXED);
	fprintf(stderr, "dg: vulkan validation %s: %s\n", error ? "error" : "warning",
		data && data->pMessage ? data->pMessage : "(no message)");
	return VK_FALSE;
}

static int has_layer(const char *name)
{
	VkLayerProperties *l;
	uint32_t n = 0;
	int found = 0;

	if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || !n)
		return 0;
	l = calloc(n, sizeof *l);
	if (l && vkEnumerateInstanceLayerProperties(&n, l) >= 0)
		for (uint32_t i = 0; i < n; i++)
			found |= !strcmp(l[i].layerName, name);
	free(l);
	return found;
}

static int create_instance(struct dg_vk *vk, int validate)
{
	const char *ext[] = { VK_EXT_DEBUG_UTILS_EXTENSION_NAME,
			      VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME };
	/* Synchronization validation checks the barriers between
	 * dispatches, which lavapipe (executing in order) would forgive. */
	VkValidationFeatureEnableEXT enables[] = {
		VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT,
	};
	VkValidationFeaturesEXT features = {
		.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
		.enabledValidationFeatureCount = 1, .pEnabledValidationFeatures = enables,
	};
	VkApplicationInfo app = {
		.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
		.pApplicationName = "dg", .pEngineName = "dg",
		.apiVersion = dg_vk_instance_api(),
	};
	VkDebugUtilsMessengerCreateInfoEXT mi = {
		.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
		.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
				   VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
		.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
			       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
			       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
		.pfnUserCallback = on_message, .pUserData = vk,
	};
	VkInstanceCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app,
	};
	VkResult r;

	if (validate) {
		if (!has_layer(validation_layer))
			return dg_error(DG_ENODEV, "Vulkan validation asked for, but %s is not "
					"installed; install vulkan-validationlayers", validation_layer);
		ci.enabledLayerCount = 1;
		ci.ppEnabledLayerNames = &validation_layer;
		ci.enabledExtensionCount = 2;
		ci.ppEnabledExtensionNames = ext;
		/* The messenger also catches messages about instance
		 * creation itself. */
		features.pNext = &mi;
		ci.pNext = &features;
	}
	r = vkCreateInstance(&ci, NULL, &vk->instance);
	if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
		return dg_error(DG_ENODEV, "no Vulkan driver found; install mesa-vulkan-drivers "
				"(lavapipe, a CPU driver) or your GPU's Vulkan driver");
	if (r != VK_SUCCESS)
		return dg_vk_check(r, "vkCreateInstance");
	volkLoadInstance(vk->instance);
	if (validate)
		return dg_vk_check(vkCreateDebugUtilsMessengerEXT(vk->instance, &mi, NULL,
								  &vk->messenger),
				   "vkCreateDebugUtilsMessengerEXT");
	return 0;
}

/* Physical device `index`, counting only Vulkan 1.1 devices as
 * dg_vk_enumerate does, so vulkan:N means the same device in both. */
static int pick_physical(struct dg_vk *vk, int index)
{
	VkPhysicalDevice *pds;
	uint32_t n = 0;
	int seen = 0;

	if (vkEnumeratePhysicalDevices(vk->instance, &n, NULL) != VK_SUCCESS)
		n = 0;
	pds = calloc(n ? n : 1, sizeof *pds);
	if (!pds)
		return dg_error_nomem("Vulkan devices", n * sizeof *pds);
	if (n && vkEnumeratePhysicalDevices(vk->instance, &n, pds) < 0)
		n = 0;
	for (uint32_t i = 0; i < n && !vk->phys; i++) {
		VkPhysicalDeviceProperties p;
		vkGetPhysicalDeviceProperties(pds[i], &p);
		if (p.apiVersion >= VK_API_VERSION_1_1 && seen++ == index)
			vk->phys = pds[i];
	}
	free(pds);
	if (!vk->phys)
		return dg_error(DG_ENODEV, "no device vulkan:%d: there %s %d Vulkan device%s; "
				"another GPU needs its Vulkan driver (mesa-vulkan-drivers for Mesa)",
				index, seen == 1 ? "is" : "are", seen, seen == 1 ? "" : "s");
	dg_vk_query_props(vk->phys, dg_vk_instance_api(), &vk->props);
	vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->mem);
	return 0;
}

/* A compute queue family, preferring one with timestamps. */
static int pick_queue(struct dg_vk *vk)
{
	VkQueueFamilyProperties q[32];
	uint32_t n = 32;
	int best = -1;

	vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &n, q);
	for (uint32_t i = 0; i < n; i++) {
		if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || !q[i].queueCount)
			continue;
		if (best < 0 || (!q[best].timestampValidBits && q[i].timestampValidBits))
			best = (int)i;
	}
	if (best < 0)
		return dg_error(DG_ENODEV, "Vulkan device %s has no compute queue", vk->props.name);
	vk->queue_family = (uint32_t)best;
	vk->timestamp_bits = q[best].timestampValidBits;
	return 0;
}

int dg_vk_open(int index, unsigned flags, struct dg_vk **out)
{
	const char *env = getenv("DG_VK_VALIDATION");
	int validate = (flags & DG_VK_VALIDATE) || (env && !strcmp(env, "1"));
	float priority = 1.0f;
	VkDeviceQueueCreateInfo qi = {
		.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueCount = 1,
		.pQueuePriorities = &priority,
	};
	VkDeviceCreateInfo di = {
		.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
		.pQueueCreateInfos = &qi,
	};
	struct dg_vk *vk;
	int st;

	*out = NULL;
	if ((st = dg_vk_load()))
		return st;
	vk = calloc(1, sizeof *vk);
	if (!vk)
		return dg_error_nomem("Vulkan context", sizeof *vk);
	vk->index = index;
	pthread_mutex_init(&vk->lock, NULL);
	if ((st = create_instance(vk, validate)) || (st = pick_physical(vk, index)) ||
	    (st = pick_queue(vk)))
		goto fail;
	qi.queueFamilyIndex = vk->queue_family;
	st = dg_vk_check(vkCreateDevice(vk->phys, &di, NULL, &vk->dev), "vkCreateDevice");
	if (st)
		goto fail;
	vkGetDeviceQueue(vk->dev, vk->queue_family, 0, &vk->queue);
	vk->block_bytes = BLOCK_BYTES < vk->props.max_allocation_size ? BLOCK_BYTES
								       : vk->props.max_allocation_size;
	if ((st = dg_vk_pipeline_cache_open(vk)))
		goto fail;
	*out = vk;
	return 0;
fail:
	dg_error_context(st, "vulkan:%d", index);
	dg_vk_close(vk);
	return st;
}

void dg_vk_close(struct dg_vk *vk)
{
	if (!vk)
		return;
	if (vk->dev) {
		vkDeviceWaitIdle(vk->dev);
		dg_vk_pipeline_cache_close(vk);
		dg_vk_pipelines_destroy(vk);
		dg_vk_memory_destroy(vk);
		vkDestroyDevice(vk->dev, NULL);
	}
	if (vk->messenger)
		vkDestroyDebugUtilsMessengerEXT(vk->instance, vk->messenger, NULL);
	if (vk->instance)
		vkDestroyInstance(vk->instance, NULL);
	pthread_mutex_destroy(&vk->lock);
	free(vk);
}
