/* vk/pipeline.c — compute pipelines made lazily from the SPIR-V embedded
 * in libdg (build/gen/shaders.h), keyed by shader and specialization
 * constants, and the VkPipelineCache kept on disk between runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "io/atomic.h"
#include "dg/error.h"
#include "shaders.h"
#include "vk/vk.h"

#define CACHE_MAX_BYTES (256u << 20)

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int module(struct dg_vk *vk, const char *shader, VkShaderModule *out)
{
	size_t i;

	for (i = 0; i < dg_shader_blob_count; i++)
		if (!strcmp(dg_shader_blobs[i].name, shader))
			break;
	if (i == dg_shader_blob_count)
		return dg_error(DG_EINTERNAL, "no shader named '%s' in libdg", shader);
	if (!vk->modules) {
		vk->modules = calloc(dg_shader_blob_count, sizeof *vk->modules);
		if (!vk->modules)
			return dg_error_nomem("shader modules", dg_shader_blob_count * sizeof *vk->modules);
	}
	if (!vk->modules[i]) {
		VkShaderModuleCreateInfo ci = {
			.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
			.codeSize = dg_shader_blobs[i].size, .pCode = dg_shader_blobs[i].code,
		};
		int st = dg_vk_check(vkCreateShaderModule(vk->dev, &ci, NULL, &vk->modules[i]),
				     "vkCreateShaderModule");
		if (st)
			return dg_error_context(st, "shader %s", shader);
	}
	*out = vk->modules[i];
	return 0;
}

static void destroy_one(struct dg_vk *vk, struct dg_vk_pipeline *p)
{
	if (p->pipeline)
		vkDestroyPipeline(vk->dev, p->pipeline, NULL);
	if (p->layout)
		vkDestroyPipelineLayout(vk->dev, p->layout, NULL);
	if (p->set_layout)
		vkDestroyDescriptorSetLayout(vk->dev, p->set_layout, NULL);
	free(p);
}

static int create(struct dg_vk *vk, struct dg_vk_pipeline *p)
{
	VkDescriptorSetLayoutBinding b[DG_VK_MAX_BINDINGS];
	VkSpecializationMapEntry map[DG_VK_MAX_SPEC];
	VkSpecializationInfo spec = {
		.mapEntryCount = p->n_spec, .pMapEntries = map,
		.dataSize = p->n_spec * sizeof(uint32_t), .pData = p->spec,
	};
	VkDescriptorSetLayoutCreateInfo sci = {
		.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
		.bindingCount = p->n_bindings, .pBindings = b,
	};
	VkPushConstantRange push = {
		.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = p->push_size,
	};
	VkPipelineLayoutCreateInfo lci = {
		.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
		.pushConstantRangeCount = p->push_size ? 1 : 0, .pPushConstantRanges = &push,
	};
	VkComputePipelineCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
		.stage = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
			.stage = VK_SHADER_STAGE_COMPUTE_BIT, .pName = "main",
			.pSpecializationInfo = p->n_spec ? &spec : NULL,
		},
	};
	double t0;
	int st;

	if ((st = module(vk, p->shader, &ci.stage.module)))
		return st;
	for (uint32_t i = 0; i < p->n_bindings; i++)
		b[i] = (VkDescriptorSetLayoutBinding){
			.binding = i,
			.descriptorType = p->kinds[i] == 's' ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
							     : VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
			.descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
		};
	for (uint32_t i = 0; i < p->n_spec; i++)
		map[i] = (VkSpecializationMapEntry){ i, i * 4, 4 };
	st = dg_vk_check(vkCreateDescriptorSetLayout(vk->dev, &sci, NULL, &p->set_layout),
			 "vkCreateDescriptorSetLayout");
	if (st)
		return st;
	lci.pSetLayouts = &p->set_layout;
	st = dg_vk_check(vkCreatePipelineLayout(vk->dev, &lci, NULL, &p->layout),
			 "vkCreatePipelineLayout");
	if (st)
		return st;
	ci.layout = p->layout;
	t0 = now_ms();
	st = dg_vk_check(vkCreateComputePipelines(vk->dev, vk->cache, 1, &ci, NULL, &p->pipeline),
			 "vkCreateComputePipelines");
	p->create_ms = now_ms() - t0;
	vk->cache_dirty |= vk->cache && vk->cache_path;
	return st;
}

int dg_vk_pipeline_get(struct dg_vk *vk, const char *shader, uint32_t n_bindings,
		       uint32_t push_size, const uint32_t *spec, uint32_t n_spec,
		       const struct dg_vk_pipeline **out)
{
	char kinds[DG_VK_MAX_BINDINGS + 2];

	*out = NULL;
	if (n_bindings > DG_VK_MAX_BINDINGS)
		return dg_error(DG_EINTERNAL, "pipeline %s: %u bindings, dg allows %d", shader,
				n_bindings, DG_VK_MAX_BINDINGS);
	memset(kinds, 's', n_bindings);
	kinds[n_bindings] = 0;
	return dg_vk_pipeline_get_kinds(vk, shader, kinds, push_size, spec, n_spec, out);
}

int dg_vk_pipeline_get_kinds(struct dg_vk *vk, const char *shader, const char *kinds,
			     uint32_t push_size, const uint32_t *spec, uint32_t n_spec,
			     const struct dg_vk_pipeline **out)
{
	size_t n_bindings = strlen(kinds), n_texel = 0;
	struct dg_vk_pipeline *p;
	int st = 0;

	*out = NULL;
	for (size_t i = 0; i < n_bindings; i++) {
		if (!strchr("stq", kinds[i]))
			return dg_error(DG_EINTERNAL, "pipeline %s: binding kind '%c'", shader, kinds[i]);
		n_texel += kinds[i] != 's';
	}
	if (n_bindings > DG_VK_MAX_BINDINGS || n_spec > DG_VK_MAX_SPEC || push_size % 4 ||
	    push_size > vk->props.max_push_constants ||
	    n_bindings - n_texel > vk->props.max_storage_buffers_per_stage ||
	    n_texel > vk->props.max_texel_buffers_per_stage)
		return dg_error(DG_EINTERNAL, "pipeline %s: bindings '%s', %u push bytes, %u "
				"constants exceed dg's or the device's limits",
				shader, kinds, push_size, n_spec);
	pthread_mutex_lock(&vk->lock);
	for (p = vk->pipelines; p; p = p->next)
		if (!strcmp(p->shader, shader) && p->n_spec == n_spec &&
		    (!n_spec || !memcmp(p->spec, spec, n_spec * sizeof *spec)))
			break;
	if (p) {
		if (strcmp(p->kinds, kinds) || p->push_size != push_size)
			st = dg_error(DG_EINTERNAL, "pipeline %s asked for with two layouts", shader);
	} else if (!(p = calloc(1, sizeof *p))) {
		st = dg_error_nomem("pipeline", sizeof *p);
	} else {
		p->shader = shader;
		p->n_bindings = (uint32_t)n_bindings;
		memcpy(p->kinds, kinds, n_bindings + 1);
		p->push_size = push_size;
		p->n_spec = n_spec;
		if (n_spec)
			memcpy(p->spec, spec, n_spec * sizeof *spec);
		st = create(vk, p);
		if (st) {
			destroy_one(vk, p);
			p = NULL;
		} else {
			/* the name must outlive the caller's string */
			for (size_t i = 0; i < dg_shader_blob_count; i++)
				if (!strcmp(dg_shader_blobs[i].name, shader))
					p->shader = dg_shader_blobs[i].name;
			p->next = vk->pipelines;
			vk->pipelines = p;
		}
	}
	pthread_mutex_unlock(&vk->lock);
	if (!st)
		*out = p;
	return st;
}

void dg_vk_pipelines_destroy(struct dg_vk *vk)
{
	while (vk->pipelines) {
		struct dg_vk_pipeline *p = vk->pipelines;
		vk->pipelines = p->next;
		destroy_one(vk, p);
	}
	for (size_t i = 0; vk->modules && i < dg_shader_blob_count; i++)
		if (vk->modules[i])
			vkDestroyShaderModule(vk->dev, vk->modules[i], NULL);
	free(vk->modules);
	vk->modules = NULL;
	if (vk->cache)
		vkDestroyPipelineCache(vk->dev, vk->cache, NULL);
	vk->cache = VK_NULL_HANDLE;
}

/* $XDG_CACHE_HOME/dg/vk-....cache, else ~/.cache/dg/...; NULL if
 * neither variable is set or caching is off for this device. */
static char *cache_path(const struct dg_vk *vk)
{
	const char *mode = getenv("DG_VK_PIPELINE_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char uuid[2 * VK_UUID_SIZE + 1], *path;
	size_t n;

	if (mode && !strcmp(mode, "0"))
		return NULL;
	if (vk->props.type == VK_PHYSICAL_DEVICE_TYPE_CPU && !(mode && !strcmp(mode, "1")))
		return NULL;
	for (unsigned i = 0; i < VK_UUID_SIZE; i++)
		sprintf(uuid + 2 * i, "%02x", vk->props.pipeline_cache_uuid[i]);
	n = (xdg && *xdg ? strlen(xdg) : home ? strlen(home) + 7 : 0) + 100;
	if (!(xdg && *xdg) && !(home && *home))
		return NULL;
	path = malloc(n);
	if (!path)
		return NULL;
	if (xdg && *xdg)
		snprintf(path, n, "%s/dg/vk-%04x-%04x-%s.cache", xdg, vk->props.vendor_id,
			 vk->props.device_id, uuid);
	else
		snprintf(path, n, "%s/.cache/dg/vk-%04x-%04x-%s.cache", home, vk->props.vendor_id,
			 vk->props.device_id, uuid);
	return path;
}

/* Reads the file if its header (VkPipelineCacheHeaderVersionOne) is for
 * this device and driver; the driver then checks the rest. */
static void *read_cache(const struct dg_vk *vk, const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	unsigned char *d = NULL;
	uint32_t h[4];
	long n;

	*size = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 32 || n > (long)CACHE_MAX_BYTES ||
	    fseek(f, 0, SEEK_SET) || !(d = malloc((size_t)n)) || fread(d, 1, (size_t)n, f) != (size_t)n)
		goto bad;
	memcpy(h, d, sizeof h);
	if (h[0] < 32 || h[1] != VK_PIPELINE_CACHE_HEADER_VERSION_ONE || h[2] != vk->props.vendor_id ||
	    h[3] != vk->props.device_id || memcmp(d + 16, vk->props.pipeline_cache_uuid, VK_UUID_SIZE))
		goto bad;
	fclose(f);
	*size = (size_t)n;
	return d;
bad:
	free(d);
	fclose(f);
	return NULL;
}

int dg_vk_pipeline_cache_open(struct dg_vk *vk)
{
	VkPipelineCacheCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO };
	void *data = NULL;
	size_t size = 0;
	VkResult r;

	vk->cache_path = cache_path(vk);
	if (vk->cache_path)
		data = read_cache(vk, vk->cache_path, &size);
	ci.initialDataSize = size;
	ci.pInitialData = data;
	r = vkCreatePipelineCache(vk->dev, &ci, NULL, &vk->cache);
	if (r != VK_SUCCESS && data) {
		/* a driver may still refuse the contents: start empty */
		ci.initialDataSize = 0;
		ci.pInitialData = NULL;
		r = vkCreatePipelineCache(vk->dev, &ci, NULL, &vk->cache);
	}
	free(data);
	if (r != VK_SUCCESS)
		vk->cache = VK_NULL_HANDLE;   /* pipelines work without one */
	return 0;
}

/* mkdir -p of path's folder. */
static int make_dirs(const char *path)
{
	char *d = strdup(path), *s;
	int bad = !d;

	for (s = d ? strchr(d + 1, '/') : NULL; s && !bad; s = strchr(s + 1, '/')) {
		*s = 0;
		bad = mkdir(d, 0700) && errno != EEXIST;
		*s = '/';
	}
	free(d);
	return bad ? -1 : 0;
}

void dg_vk_pipeline_cache_close(struct dg_vk *vk)
{
	char saved[1024];
	struct dg_atomic *a;
	size_t size = 0;
	void *data = NULL;

	if (vk->cache && vk->cache_path && vk->cache_dirty &&
	    vkGetPipelineCacheData(vk->dev, vk->cache, &size, NULL) == VK_SUCCESS && size &&
	    (data = malloc(size)) &&
	    vkGetPipelineCacheData(vk->dev, vk->cache, &size, data) == VK_SUCCESS &&
	    !make_dirs(vk->cache_path)) {
		/* A cache that cannot be written is not worth a failure, nor
		 * may it replace the caller's error message. */
		snprintf(saved, sizeof saved, "%s", dg_errmsg());
		if (!dg_atomic_open(vk->cache_path, &a)) {
			if (fwrite(data, 1, size, a->f) == size)
				dg_atomic_commit(a);
			else
				dg_atomic_abort(a);
		}
		dg_error(0, "%s", saved);
	}
	free(data);
	free(vk->cache_path);
	vk->cache_path = NULL;
	vk->cache_dirty = 0;
}
