/* vk/memory.c — device memory: buffers sub-allocated from a few large
 * blocks per memory type (first fit, coalescing free list), large ones in
 * their own allocation, within maxStorageBufferRange and
 * maxMemoryAllocationSize; host-visible blocks stay mapped. */
#include <stdlib.h>
#include <string.h>
#include "dg/error.h"
#include "vk/vk.h"

struct range {
	VkDeviceSize off, size;
};

struct dg_vk_block {
	VkDeviceMemory mem;
	uint32_t type;
	VkDeviceSize size, used;
	void *map;
	int dedicated;
	struct range *free;       /* sorted by offset, never adjacent */
	size_t nfree, cap;
	struct dg_vk_block *next;
};

static VkDeviceSize round_up(VkDeviceSize v, VkDeviceSize a)
{
	return (v + a - 1) / a * a;
}

/* The first type allowed by bits with all of `need`, preferring one that
 * also has all of `want`; -1 if none.  Drivers list types in their order
 * of preference, so first means best among equals. */
static int choose_type(const struct dg_vk *vk, uint32_t bits, VkMemoryPropertyFlags need,
		       VkMemoryPropertyFlags want)
{
	int fallback = -1;

	for (uint32_t i = 0; i < vk->mem.memoryTypeCount; i++) {
		VkMemoryPropertyFlags f = vk->mem.memoryTypes[i].propertyFlags;
		if (!(bits & (1u << i)) || (f & need) != need)
			continue;
		if ((f & want) == want)
			return (int)i;
		if (fallback < 0)
			fallback = (int)i;
	}
	return fallback;
}

static int memory_type(const struct dg_vk *vk, uint32_t bits, enum dg_vk_mem kind)
{
	const VkMemoryPropertyFlags visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
	const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	const VkMemoryPropertyFlags cached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
	int t;

	switch (kind) {
	case DG_VK_MEM_DEVICE:
		t = choose_type(vk, bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
		return t >= 0 ? t : choose_type(vk, bits, 0, 0);
	case DG_VK_MEM_UPLOAD:
		return choose_type(vk, bits, visible | coherent, 0);
	default:
		t = choose_type(vk, bits, visible | cached, coherent);
		return t >= 0 ? t : choose_type(vk, bits, visible, coherent);
	}
}

static int new_block(struct dg_vk *vk, uint32_t type, VkDeviceSize size, int dedicated,
		     struct dg_vk_block **out)
{
	VkMemoryAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = size,
		.memoryTypeIndex = type,
	};
	struct dg_vk_block *b = calloc(1, sizeof *b);
	VkResult r;

	if (!b || !(b->free = malloc(4 * sizeof *b->free))) {
		free(b);
		return dg_error_nomem("Vulkan memory block", sizeof *b);
	}
	r = vkAllocateMemory(vk->dev, &ai, NULL, &b->mem);
	if (r == VK_SUCCESS && (vk->mem.memoryTypes[type].propertyFlags &
				VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
		r = vkMapMemory(vk->dev, b->mem, 0, VK_WHOLE_SIZE, 0, &b->map);
	if (r != VK_SUCCESS) {
		if (b->mem)
			vkFreeMemory(vk->dev, b->mem, NULL);
		free(b->free);
		free(b);
		return dg_error(DG_ENOMEM, "cannot allocate %llu bytes of Vulkan memory (type %u): %s",
				(unsigned long long)size, type, dg_vk_result_name(r));
	}
	b->type = type;
	b->size = size;
	b->dedicated = dedicated;
	b->cap = 4;
	b->nfree = 1;
	b->free[0] = (struct range){ 0, size };
	b->next = vk->blocks;
	vk->blocks = b;
	*out = b;
	return 0;
}

static void free_block(struct dg_vk *vk, struct dg_vk_block *b)
{
	struct dg_vk_block **p = &vk->blocks;

	while (*p && *p != b)
		p = &(*p)->next;
	if (*p)
		*p = b->next;
	if (b->map)
		vkUnmapMemory(vk->dev, b->mem);
	vkFreeMemory(vk->dev, b->mem, NULL);
	free(b->free);
	free(b);
}

/* First fit of span bytes aligned to align; *off on success. */
static int carve(struct dg_vk_block *b, VkDeviceSize span, VkDeviceSize align, VkDeviceSize *off)
{
	for (size_t i = 0; i < b->nfree; i++) {
		struct range r = b->free[i];
		VkDeviceSize start = round_up(r.off, align), end = r.off + r.size;

		if (start + span > end)
			continue;
		if (start > r.off && start + span < end) {
			/* splits in two: needs one more slot */
			if (b->nfree == b->cap) {
				struct range *g = realloc(b->free, 2 * b->cap * sizeof *g);
				if (!g)
					return -1;
				b->free = g;
				b->cap *= 2;
			}
			memmove(&b->free[i + 2], &b->free[i + 1], (b->nfree - i - 1) * sizeof *b->free);
			b->nfree++;
			b->free[i] = (struct range){ r.off, start - r.off };
			b->free[i + 1] = (struct range){ start + span, end - start - span };
		} else if (start > r.off) {
			b->free[i].size = start - r.off;
		} else if (start + span < end) {
			b->free[i] = (struct range){ start + span, end - start - span };
		} else {
			memmove(&b->free[i], &b->free[i + 1], (b->nfree - i - 1) * sizeof *b->free);
			b->nfree--;
		}
		b->used += span;
		*off = start;
		return 0;
	}
	return -1;
}

/* Returns [off, off + span) to the free list, merging neighbours.  The
 * list only shrinks or keeps its length here unless nothing merges. */
static int give_back(struct dg_vk_block *b, VkDeviceSize off, VkDeviceSize span)
{
	size_t i = 0;
	int left, right;

	while (i < b->nfree && b->free[i].off < off)
		i++;
	left = i > 0 && b->free[i - 1].off + b->free[i - 1].size == off;
	right = i < b->nfree && off + span == b->free[i].off;
	b->used -= span;
	if (left && right) {
		b->free[i - 1].size += span + b->free[i].size;
		memmove(&b->free[i], &b->free[i + 1], (b->nfree - i - 1) * sizeof *b->free);
		b->nfree--;
	} else if (left) {
		b->free[i - 1].size += span;
	} else if (right) {
		b->free[i].off = off;
		b->free[i].size += span;
	} else {
		if (b->nfree == b->cap) {
			struct range *g = realloc(b->free, 2 * b->cap * sizeof *g);
			if (!g)
				return -1;
			b->free = g;
			b->cap *= 2;
		}
		memmove(&b->free[i + 1], &b->free[i], (b->nfree - i) * sizeof *b->free);
		b->free[i] = (struct range){ off, span };
		b->nfree++;
	}
	return 0;
}

int dg_vk_buffer_create(struct dg_vk *vk, VkDeviceSize size, enum dg_vk_mem kind,
			struct dg_vk_buffer *out)
{
	VkBufferCreateInfo bi = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
		.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
			 VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
			 VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
		.sharingMode = VK_SHARING_MODE_EXCLUSIVE,
	};
	VkMemoryRequirements req;
	VkMemoryPropertyFlags flags;
	VkDeviceSize align, span, off = 0;
	struct dg_vk_block *b;
	int type, st = 0;

	memset(out, 0, sizeof *out);
	if (size == 0)
		return dg_error(DG_EINTERNAL, "Vulkan buffer of 0 bytes");
	/* A shader sees a storage buffer through one descriptor, whose range
	 * cannot exceed maxStorageBufferRange (128 MiB on lavapipe). */
	if (size > vk->props.max_storage_buffer_range)
		return dg_error(DG_ENOMEM, "a tensor of %llu bytes does not fit in one storage "
				"buffer of %s (maxStorageBufferRange is %llu bytes)",
				(unsigned long long)size, vk->props.name,
				(unsigned long long)vk->props.max_storage_buffer_range);
	st = dg_vk_check(vkCreateBuffer(vk->dev, &bi, NULL, &out->buffer), "vkCreateBuffer");
	if (st)
		return st;
	vkGetBufferMemoryRequirements(vk->dev, out->buffer, &req);
	type = memory_type(vk, req.memoryTypeBits, kind);
	if (type < 0) {
		st = dg_error(DG_ENODEV, "%s has no %s memory for buffers", vk->props.name,
			      kind == DG_VK_MEM_DEVICE ? "device" : "host-visible");
		goto fail;
	}
	flags = vk->mem.memoryTypes[type].propertyFlags;
	align = req.alignment ? req.alignment : 1;
	/* Flushes of non-coherent memory work in whole atoms: keep
	 * neighbours out of this buffer's atoms. */
	if ((flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
	    !(flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) &&
	    vk->props.non_coherent_atom > align)
		align = vk->props.non_coherent_atom;
	span = round_up(req.size, align);
	if (span > vk->props.max_allocation_size) {
		st = dg_error(DG_ENOMEM, "a tensor of %llu bytes exceeds the largest allocation of "
			      "%s (maxMemoryAllocationSize is %llu bytes)", (unsigned long long)size,
			      vk->props.name, (unsigned long long)vk->props.max_allocation_size);
		goto fail;
	}
	pthread_mutex_lock(&vk->lock);
	if (span > vk->block_bytes / 2) {
		st = new_block(vk, (uint32_t)type, span, 1, &b);
		if (!st)
			st = carve(b, span, 1, &off) ? dg_error_nomem("free list", 0) : 0;
	} else {
		for (b = vk->blocks; b; b = b->next)
			if (!b->dedicated && b->type == (uint32_t)type && !carve(b, span, align, &off))
				break;
		if (!b && !(st = new_block(vk, (uint32_t)type, vk->block_bytes, 0, &b)))
			st = carve(b, span, align, &off) ? dg_error_nomem("free list", 0) : 0;
	}
	pthread_mutex_unlock(&vk->lock);
	if (st)
		goto fail;
	out->block = b;
	out->offset = off;
	out->span = span;
	out->size = size;
	out->flags = flags;
	out->coherent = (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
	out->map = b->map ? (char *)b->map + off : NULL;
	st = dg_vk_check(vkBindBufferMemory(vk->dev, out->buffer, b->mem, off), "vkBindBufferMemory");
	if (st) {
		dg_vk_buffer_destroy(vk, out);
		return st;
	}
	return 0;
fail:
	vkDestroyBuffer(vk->dev, out->buffer, NULL);
	memset(out, 0, sizeof *out);
	return st;
}

void dg_vk_buffer_destroy(struct dg_vk *vk, struct dg_vk_buffer *b)
{
	if (!b || !b->buffer)
		return;
	vkDestroyBuffer(vk->dev, b->buffer, NULL);
	if (b->block) {
		pthread_mutex_lock(&vk->lock);
		/* On a failed list growth the range is lost until the block
		 * goes; an empty block is freed, returning its memory. */
		(void)give_back(b->block, b->offset, b->span);
		if (b->block->used == 0)
			free_block(vk, b->block);
		pthread_mutex_unlock(&vk->lock);
	}
	memset(b, 0, sizeof *b);
}

/* The atom-aligned memory range of b, for flush and invalidate. */
static VkMappedMemoryRange mapped_range(const struct dg_vk *vk, const struct dg_vk_buffer *b)
{
	VkDeviceSize atom = vk->props.non_coherent_atom ? vk->props.non_coherent_atom : 1;
	VkDeviceSize start = b->offset / atom * atom, end = round_up(b->offset + b->size, atom);
	VkMappedMemoryRange r = {
		.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, .memory = b->block->mem,
		.offset = start, .size = end > b->block->size ? VK_WHOLE_SIZE : end - start,
	};
	return r;
}

int dg_vk_buffer_flush(struct dg_vk *vk, const struct dg_vk_buffer *b)
{
	VkMappedMemoryRange r;

	if (!b->map || b->coherent)
		return 0;
	r = mapped_range(vk, b);
	return dg_vk_check(vkFlushMappedMemoryRanges(vk->dev, 1, &r), "vkFlushMappedMemoryRanges");
}

int dg_vk_buffer_invalidate(struct dg_vk *vk, const struct dg_vk_buffer *b)
{
	VkMappedMemoryRange r;

	if (!b->map || b->coherent)
		return 0;
	r = mapped_range(vk, b);
	return dg_vk_check(vkInvalidateMappedMemoryRanges(vk->dev, 1, &r),
			   "vkInvalidateMappedMemoryRanges");
}

int dg_vk_hostbuf_create(struct dg_vk *vk, VkDeviceSize size, int output, struct dg_vk_hostbuf *h)
{
	int st, direct;

	memset(h, 0, sizeof *h);
	h->output = output;
	if ((st = dg_vk_buffer_create(vk, size, DG_VK_MEM_DEVICE, &h->dev)))
		return st;
	/* Reading uncached memory from the host is very slow; writing it
	 * (write-combined) is fine. */
	direct = h->dev.map && (!output || (h->dev.flags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT));
	if (getenv("DG_VK_FORCE_STAGING"))   /* tests: the discrete-GPU path */
		direct = 0;
	if (direct) {
		h->map = h->dev.map;
		return 0;
	}
	st = dg_vk_buffer_create(vk, size, output ? DG_VK_MEM_READBACK : DG_VK_MEM_UPLOAD, &h->stage);
	if (st) {
		dg_vk_buffer_destroy(vk, &h->dev);
		return st;
	}
	h->map = h->stage.map;
	return 0;
}

void dg_vk_hostbuf_destroy(struct dg_vk *vk, struct dg_vk_hostbuf *h)
{
	dg_vk_buffer_destroy(vk, &h->stage);
	dg_vk_buffer_destroy(vk, &h->dev);
	h->map = NULL;
}

/* Bytes per element of the formats dg uses; 0 for others. */
static uint32_t format_bytes(VkFormat f)
{
	switch (f) {
	case VK_FORMAT_R32_SFLOAT: case VK_FORMAT_R32_UINT: case VK_FORMAT_R32_SINT: return 4;
	case VK_FORMAT_R32G32_SFLOAT: case VK_FORMAT_R16G16B16A16_SFLOAT: return 8;
	case VK_FORMAT_R32G32B32A32_SFLOAT: case VK_FORMAT_R32G32B32A32_UINT: return 16;
	case VK_FORMAT_R16_SFLOAT: return 2;
	default: return 0;
	}
}

int dg_vk_buffer_view(struct dg_vk *vk, const struct dg_vk_buffer *b, VkFormat fmt,
		      VkDeviceSize offset, VkDeviceSize range, VkBufferView *out)
{
	VkBufferViewCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO, .buffer = b->buffer,
		.format = fmt, .offset = offset, .range = range,
	};
	VkFormatProperties fp;
	uint32_t eb = format_bytes(fmt);

	*out = VK_NULL_HANDLE;
	vkGetPhysicalDeviceFormatProperties(vk->phys, fmt, &fp);
	if (!eb || !(fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT))
		return dg_error(DG_EINTERNAL, "%s cannot read format %d through texel buffers",
				vk->props.name, (int)fmt);
	if (offset % vk->props.min_texel_offset_align || range % eb || range == 0 ||
	    offset > b->size || range > b->size - offset ||
	    range / eb > vk->props.max_texel_buffer_elements)
		return dg_error(DG_EINTERNAL, "texel view [%llu, +%llu) of a %llu-byte buffer: "
				"offset alignment is %llu, at most %u elements",
				(unsigned long long)offset, (unsigned long long)range,
				(unsigned long long)b->size,
				(unsigned long long)vk->props.min_texel_offset_align,
				vk->props.max_texel_buffer_elements);
	return dg_vk_check(vkCreateBufferView(vk->dev, &ci, NULL, out), "vkCreateBufferView");
}

void dg_vk_buffer_view_destroy(struct dg_vk *vk, VkBufferView view)
{
	if (view)
		vkDestroyBufferView(vk->dev, view, NULL);
}

void dg_vk_memory_destroy(struct dg_vk *vk)
{
	while (vk->blocks)
		free_block(vk, vk->blocks);
}

void dg_vk_memory_usage(struct dg_vk *vk, uint64_t *allocated, uint64_t *used)
{
	*allocated = *used = 0;
	pthread_mutex_lock(&vk->lock);
	for (struct dg_vk_block *b = vk->blocks; b; b = b->next) {
		*allocated += b->size;
		*used += b->used;
	}
	pthread_mutex_unlock(&vk->lock);
}

int dg_vk_hostbuf_flush(struct dg_vk *vk, const struct dg_vk_hostbuf *h)
{
	return dg_vk_buffer_flush(vk, h->stage.buffer ? &h->stage : &h->dev);
}

int dg_vk_hostbuf_invalidate(struct dg_vk *vk, const struct dg_vk_hostbuf *h)
{
	return dg_vk_buffer_invalidate(vk, h->stage.buffer ? &h->stage : &h->dev);
}
