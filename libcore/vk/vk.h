/* vk/vk.h — dg's Vulkan runtime (internal to libdg): loader and devices,
 * memory, descriptors, pipelines from the embedded SPIR-V, commands.
 *
 * The model is the one issue 5's backend needs: open a device once; make
 * buffers (sub-allocated from a few large blocks); get pipelines (created
 * lazily, cached on disk); record a whole step into one command buffer
 * (dispatches, barriers, copies, timestamps); then submit, wait and
 * resubmit that same buffer every step.
 *
 * Threads: a struct dg_vk may be used from several threads (pipeline,
 * memory and queue access lock internally); one dg_vk_cmd and one
 * dg_vk_descs belong to one thread at a time.  dg_vk_open reloads volk's
 * global function pointers, so open devices before starting threads.
 * Every function that can fail returns a dg status with a message
 * (dg/error.h).  volk's vk* function pointers are hidden symbols of
 * libdg: code outside it (tests, tools) reaches Vulkan only through this
 * API and the handles in struct dg_vk.
 *
 * Costs on lavapipe (Mesa 22.3, 2 cores, busy machine; bench/b_vk_runtime):
 * dg_vk_open+close 35-45 ms; first submit of a device 9 ms; a pipeline
 * 11 ms to create plus about 8 ms at its first dispatch (compiled late),
 * with no gain from a VkPipelineCache or Mesa's disk cache; submit+wait
 * 30-55 us; inside one command buffer about 20 us per small dispatch
 * with lavapipe's worker threads, 1.5-2 us with LP_NUM_THREADS=0. */
#ifndef DG_VK_H
#define DG_VK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <volk.h>
#include "dg/device.h"

/* ---- loader and enumeration (instance.c) ---------------------------- */

/* Loads the Vulkan loader once per process: $DG_VULKAN_LOADER (a path,
 * for tests simulating a missing or broken loader) or libvulkan.so.1.
 * DG_ENODEV with a hint naming libvulkan1 when it cannot be loaded. */
int dg_vk_load(void);

/* Properties of one physical device that dg uses. */
struct dg_vk_props {
	char name[256], driver[256], api[32];
	VkPhysicalDeviceType type;
	uint32_t api_version, vendor_id, device_id;
	uint8_t pipeline_cache_uuid[VK_UUID_SIZE];
	uint32_t subgroup_size;            /* VkPhysicalDeviceSubgroupProperties */
	uint64_t max_storage_buffer_range;
	uint64_t max_allocation_size;      /* VkPhysicalDeviceMaintenance3Properties */
	uint32_t max_workgroup_invocations, max_workgroup_size[3], max_workgroup_count[3];
	uint32_t max_shared_memory, max_push_constants, max_bound_sets;
	uint32_t max_storage_buffers_per_stage, max_texel_buffers_per_stage;
	uint32_t max_texel_buffer_elements;
	uint64_t min_texel_offset_align;
	uint64_t min_storage_offset_align, non_coherent_atom;
	float timestamp_period;            /* ns per tick */
	uint64_t device_local_bytes;       /* largest device-local heap */
};

/* Reads p for pd (Vulkan 1.1 or later), using structures of versions up
 * to instance_api (the apiVersion its instance was created with). */
void dg_vk_query_props(VkPhysicalDevice pd, uint32_t instance_api, struct dg_vk_props *p);
/* The apiVersion dg asks for: the loader's, at most 1.2. */
uint32_t dg_vk_instance_api(void);

/* Appends every usable Vulkan device (API 1.1 or later) to *list as
 * "vulkan:N" entries, N counting from 0 in enumeration order.  Missing
 * loader or driver only leaves the list unchanged; *status then says why
 * (a static string, "" when devices were found).  DG_ENOMEM only. */
int dg_vk_enumerate(struct dg_device_info **list, size_t *n, const char **status);

/* ---- context (device.c) ---------------------------------------------- */

struct dg_vk_pipeline;
struct dg_vk_block;

struct dg_vk {
	VkInstance instance;
	VkPhysicalDevice phys;
	VkDevice dev;
	VkQueue queue;
	uint32_t queue_family;
	uint32_t timestamp_bits;           /* of the queue family; 0 = none */
	int index;                         /* N of vulkan:N */
	struct dg_vk_props props;
	VkPhysicalDeviceMemoryProperties mem;
	VkDebugUtilsMessengerEXT messenger;
	unsigned validation_errors;        /* counted by the messenger */
	unsigned validation_warnings;
	pthread_mutex_t lock;              /* queue, pipelines, blocks */
	/* pipeline.c */
	VkPipelineCache cache;
	char *cache_path;                  /* NULL when not persisted */
	int cache_dirty;
	struct dg_vk_pipeline *pipelines;  /* created so far, a list */
	VkShaderModule *modules;           /* one per dg_shader_blobs entry, lazily */
	/* memory.c */
	struct dg_vk_block *blocks;
	uint64_t block_bytes;              /* size of a new shared block */
};

/* dg_vk_open flags. */
enum {
	/* Enables VK_LAYER_KHRONOS_validation with a debug-utils messenger
	 * that counts errors and warnings (also set by $DG_VK_VALIDATION=1).
	 * DG_ENODEV when the layer is not installed. */
	DG_VK_VALIDATE = 1,
};

/* Opens Vulkan device index (vulkan:N): instance, logical device with one
 * compute queue, properties, pipeline cache.  *out is freed with
 * dg_vk_close.  DG_ENODEV for a missing device, DG_EINTERNAL when the
 * driver fails. */
int dg_vk_open(int index, unsigned flags, struct dg_vk **out);

/* Waits for the device to go idle, saves the pipeline cache if it grew,
 * frees everything.  Buffers, commands and descriptor arenas made from
 * vk must be destroyed before.  NULL is allowed. */
void dg_vk_close(struct dg_vk *vk);

/* DG_EINTERNAL with message "what: VkResult name" unless r is VK_SUCCESS. */
int dg_vk_check(VkResult r, const char *what);
const char *dg_vk_result_name(VkResult r);

/* ---- memory (memory.c) ----------------------------------------------- */

enum dg_vk_mem {
	DG_VK_MEM_DEVICE,    /* device-local; mapped too when the device allows */
	DG_VK_MEM_UPLOAD,    /* host-visible, coherent; for staging inputs */
	DG_VK_MEM_READBACK,  /* host-visible, cached if possible; for outputs */
};

/* A storage and uniform texel buffer (also a transfer source and
 * destination) bound at an
 * offset inside a shared block, or to its own allocation when large. */
struct dg_vk_buffer {
	VkBuffer buffer;
	VkDeviceSize size;
	void *map;                   /* persistently mapped, or NULL */
	int coherent;                /* host writes need no flush */
	VkMemoryPropertyFlags flags; /* of its memory type */
	/* private */
	struct dg_vk_block *block;
	VkDeviceSize offset, span;
};

/* Creates a buffer of size bytes (> 0).  DG_ENOMEM with a message naming
 * the limit when size exceeds maxStorageBufferRange or memory runs out.
 * On failure *b is zeroed. */
int dg_vk_buffer_create(struct dg_vk *vk, VkDeviceSize size, enum dg_vk_mem kind,
			struct dg_vk_buffer *b);
/* Frees b (a zeroed buffer is allowed); the device must not be using it. */
void dg_vk_buffer_destroy(struct dg_vk *vk, struct dg_vk_buffer *b);
/* Makes host writes to a mapped buffer visible to the device / device
 * writes visible to the host; no-ops for coherent memory. */
int dg_vk_buffer_flush(struct dg_vk *vk, const struct dg_vk_buffer *b);
int dg_vk_buffer_invalidate(struct dg_vk *vk, const struct dg_vk_buffer *b);

/* A tensor the host writes (input) or reads (output): a device buffer,
 * plus a staging buffer only when the device buffer cannot be mapped (or,
 * for outputs, would be slow to read: uncached).  map is where the host
 * reads or writes in every case.  Per step: write map, hostbuf_flush,
 * submit a command buffer that has dg_vk_cmd_upload/download recorded,
 * wait, hostbuf_invalidate, read map.  $DG_VK_FORCE_STAGING (tests)
 * forces the staging path, as on a discrete GPU. */
struct dg_vk_hostbuf {
	struct dg_vk_buffer dev, stage;  /* stage.buffer is 0 when unused */
	void *map;
	int output;
};
int dg_vk_hostbuf_create(struct dg_vk *vk, VkDeviceSize size, int output,
			 struct dg_vk_hostbuf *h);
void dg_vk_hostbuf_destroy(struct dg_vk *vk, struct dg_vk_hostbuf *h);
int dg_vk_hostbuf_flush(struct dg_vk *vk, const struct dg_vk_hostbuf *h);
int dg_vk_hostbuf_invalidate(struct dg_vk *vk, const struct dg_vk_hostbuf *h);

/* A texel view of elements of format fmt (VK_FORMAT_R32_SFLOAT,
 * R32G32B32A32_SFLOAT, ...) over bytes [offset, offset + range) of b, for
 * 't' bindings.  DG_EINTERNAL when the device cannot (format without
 * uniform-texel-buffer support, misaligned offset, more than
 * maxTexelBufferElements elements).  Destroy before the buffer. */
int dg_vk_buffer_view(struct dg_vk *vk, const struct dg_vk_buffer *b, VkFormat fmt,
		      VkDeviceSize offset, VkDeviceSize range, VkBufferView *out);
void dg_vk_buffer_view_destroy(struct dg_vk *vk, VkBufferView view);

/* Frees every block (dg_vk_close calls it; buffers left are a bug). */
void dg_vk_memory_destroy(struct dg_vk *vk);

/* Bytes of device memory allocated in blocks and in use, for reports. */
void dg_vk_memory_usage(struct dg_vk *vk, uint64_t *allocated, uint64_t *used);

/* ---- pipelines (pipeline.c) ------------------------------------------ */

#define DG_VK_MAX_BINDINGS 16
#define DG_VK_MAX_SPEC 16

/* A compute pipeline: shader name + specialization constants.  Its
 * descriptor set 0 holds n_bindings buffers at bindings 0..n-1, of the
 * kinds kinds[i]: 's' a storage buffer; 't' a uniform texel buffer of
 * floats (GLSL samplerBuffer over VK_FORMAT_R32_SFLOAT; lavapipe loads
 * those about twice as fast), 'q' the same of vec4s (R32G32B32A32).  Push constants are push_size bytes at offset 0.
 * Owned by vk. */
struct dg_vk_pipeline {
	VkPipeline pipeline;
	VkPipelineLayout layout;
	VkDescriptorSetLayout set_layout;
	uint32_t n_bindings, push_size;
	char kinds[DG_VK_MAX_BINDINGS + 1];
	/* private: the key */
	struct dg_vk_pipeline *next;
	const char *shader;
	uint32_t n_spec, spec[DG_VK_MAX_SPEC];
	double create_ms;                  /* time vkCreateComputePipelines took */
};

/* Returns the pipeline for shader (a dg_shader_blobs name, e.g. "add")
 * with specialization constants spec[0..n_spec-1] (constant_id i gets
 * spec[i], each a 32-bit value), creating it on first use.  The layout
 * (n_bindings, push_size) must be the same at every call for one key.
 * DG_EINTERNAL for an unknown shader or a driver failure. */
int dg_vk_pipeline_get(struct dg_vk *vk, const char *shader, uint32_t n_bindings,
		       uint32_t push_size, const uint32_t *spec, uint32_t n_spec,
		       const struct dg_vk_pipeline **out);
/* The same with binding kinds given as a string ("tts": two texel
 * buffers, then a storage buffer); dg_vk_pipeline_get means all 's'.
 * A texel binding's range must hold whole elements, at most
 * maxTexelBufferElements, at an offset aligned to
 * minTexelBufferOffsetAlignment. */
int dg_vk_pipeline_get_kinds(struct dg_vk *vk, const char *shader, const char *kinds,
			     uint32_t push_size, const uint32_t *spec, uint32_t n_spec,
			     const struct dg_vk_pipeline **out);

/* Opens the on-disk pipeline cache (called by dg_vk_open) and writes it
 * back atomically if it grew (dg_vk_close).  The file is
 * $XDG_CACHE_HOME/dg/vk-VENDOR-DEVICE-UUID.cache (else ~/.cache/dg/),
 * the UUID being the driver's pipelineCacheUUID, so a new driver starts a
 * new file.  Persisted for GPU drivers; for CPU drivers (whose Mesa
 * shader cache already serves) only when $DG_VK_PIPELINE_CACHE=1, and
 * never when it is 0.  Failures to read or write it are not errors. */
int dg_vk_pipeline_cache_open(struct dg_vk *vk);
void dg_vk_pipeline_cache_close(struct dg_vk *vk);
/* Destroys every pipeline and shader module (dg_vk_close calls it). */
void dg_vk_pipelines_destroy(struct dg_vk *vk);

/* ---- descriptor sets (descriptor.c) ---------------------------------- */

/* A range of a buffer for one binding; range 0 means "to the end".  For
 * texel bindings the arena makes the VkBufferView itself. */
struct dg_vk_bind {
	const struct dg_vk_buffer *buf;
	VkDeviceSize offset, range;
};

/* An arena of descriptor sets, freed all at once: a chain of pools, each
 * sized for sets_per_pool sets and their storage-buffer and texel-buffer
 * descriptors in total; the arena counts what it hands out and starts a new pool before
 * either total would be exceeded, so it never relies on a driver
 * tolerating an over-full pool. */
struct dg_vk_descs;
int dg_vk_descs_create(struct dg_vk *vk, uint32_t sets_per_pool, struct dg_vk_descs **out);
/* Allocates and writes a set for p: binds[i] goes to binding i, for i <
 * p->n_bindings (texel bindings get views owned by the arena).  The set
 * lives as long as the arena. */
int dg_vk_descs_alloc(struct dg_vk_descs *d, const struct dg_vk_pipeline *p,
		      const struct dg_vk_bind *binds, VkDescriptorSet *out);
void dg_vk_descs_destroy(struct dg_vk_descs *d);

/* ---- command buffers (command.c) ------------------------------------- */

/* One primary command buffer with its own pool, fence and (if the queue
 * supports them) max_timestamps timestamp queries.  Recorded once, then
 * submitted any number of times; a submit waits for the previous one. */
struct dg_vk_cmd;
int dg_vk_cmd_create(struct dg_vk *vk, uint32_t max_timestamps, struct dg_vk_cmd **out);
void dg_vk_cmd_destroy(struct dg_vk_cmd *c);   /* waits if pending */

/* Starts (re)recording; the previous recording is discarded. */
int dg_vk_cmd_begin(struct dg_vk_cmd *c);
/* Binds p and set, pushes push (p->push_size bytes) and dispatches
 * gx*gy*gz workgroups. */
void dg_vk_cmd_dispatch(struct dg_vk_cmd *c, const struct dg_vk_pipeline *p,
			VkDescriptorSet set, const void *push,
			uint32_t gx, uint32_t gy, uint32_t gz);
/* Makes every earlier shader or transfer write visible to every later
 * shader or transfer access (a global memory barrier: the cheap, correct
 * choice between dependent dispatches). */
void dg_vk_cmd_barrier(struct dg_vk_cmd *c);
/* The same for one buffer range only (size VK_WHOLE_SIZE for all). */
void dg_vk_cmd_buffer_barrier(struct dg_vk_cmd *c, const struct dg_vk_buffer *b,
			      VkDeviceSize offset, VkDeviceSize size);
void dg_vk_cmd_copy(struct dg_vk_cmd *c, const struct dg_vk_buffer *src, VkDeviceSize src_off,
		    const struct dg_vk_buffer *dst, VkDeviceSize dst_off, VkDeviceSize size);
/* Fills size bytes (a multiple of 4, or VK_WHOLE_SIZE) with word. */
void dg_vk_cmd_fill(struct dg_vk_cmd *c, const struct dg_vk_buffer *b, VkDeviceSize off,
		    VkDeviceSize size, uint32_t word);
/* Records the staging copy of an input (before its first use) or an
 * output (after its last write), with the barriers around it; nothing
 * when the tensor is mapped directly. */
void dg_vk_cmd_upload(struct dg_vk_cmd *c, const struct dg_vk_hostbuf *h);
void dg_vk_cmd_download(struct dg_vk_cmd *c, const struct dg_vk_hostbuf *h);
/* Writes a timestamp after all earlier commands; returns its index, or
 * -1 when the queue has no timestamps or max_timestamps are used. */
int dg_vk_cmd_timestamp(struct dg_vk_cmd *c);
/* Ends recording, adding the barrier that makes device writes visible to
 * the host after the fence (required by the spec, not just by GPUs). */
int dg_vk_cmd_end(struct dg_vk_cmd *c);
int dg_vk_cmd_submit(struct dg_vk_cmd *c);
int dg_vk_cmd_wait(struct dg_vk_cmd *c);
int dg_vk_cmd_run(struct dg_vk_cmd *c);        /* submit + wait */
/* After a wait: ns[i] = time of timestamp i minus timestamp 0, for the
 * n recorded (n <= max). */
int dg_vk_cmd_timestamps(struct dg_vk_cmd *c, double *ns, uint32_t n);

#endif
