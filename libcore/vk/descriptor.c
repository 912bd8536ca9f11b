/* vk/descriptor.c — descriptor sets from an arena of pools whose totals
 * (sets, storage-buffer descriptors) are counted here, never overrun. */
#include <stdlib.h>
#include "dg/error.h"
#include "vk/vk.h"

struct pool {
	VkDescriptorPool pool;
	uint32_t sets_left, storage_left, texel_left;
	struct pool *next;
};

struct dg_vk_descs {
	struct dg_vk *vk;
	VkBufferView *views;  /* made for texel bindings, destroyed with the arena */
	size_t n_views, cap_views;
	uint32_t sets_per_pool, storage_per_pool, texel_per_pool;
	struct pool *pools;   /* newest first */
};

int dg_vk_descs_create(struct dg_vk *vk, uint32_t sets_per_pool, struct dg_vk_descs **out)
{
	struct dg_vk_descs *d = calloc(1, sizeof *d);

	*out = NULL;
	if (!d)
		return dg_error_nomem("descriptor arena", sizeof *d);
	d->vk = vk;
	d->sets_per_pool = sets_per_pool ? sets_per_pool : 64;
	/* Ops bind two to four buffers; a pool holds four storage and two
	 * texel buffers per set on average, and at least one set of the most
	 * a pipeline may have of each. */
	d->storage_per_pool = 4 * d->sets_per_pool;
	d->texel_per_pool = 2 * d->sets_per_pool;
	if (d->storage_per_pool < DG_VK_MAX_BINDINGS)
		d->storage_per_pool = DG_VK_MAX_BINDINGS;
	if (d->texel_per_pool < DG_VK_MAX_BINDINGS)
		d->texel_per_pool = DG_VK_MAX_BINDINGS;
	*out = d;
	return 0;
}

static int grow(struct dg_vk_descs *d)
{
	VkDescriptorPoolSize size[2] = {
		{ VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, d->storage_per_pool },
		{ VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, d->texel_per_pool },
	};
	VkDescriptorPoolCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
		.maxSets = d->sets_per_pool, .poolSizeCount = 2, .pPoolSizes = size,
	};
	struct pool *p = calloc(1, sizeof *p);
	int st;

	if (!p)
		return dg_error_nomem("descriptor pool", sizeof *p);
	st = dg_vk_check(vkCreateDescriptorPool(d->vk->dev, &ci, NULL, &p->pool),
			 "vkCreateDescriptorPool");
	if (st) {
		free(p);
		return st;
	}
	p->sets_left = d->sets_per_pool;
	p->storage_left = d->storage_per_pool;
	p->texel_left = d->texel_per_pool;
	p->next = d->pools;
	d->pools = p;
	return 0;
}

/* A view for a texel binding, kept in the arena. */
static int add_view(struct dg_vk_descs *d, const struct dg_vk_buffer *b, char kind,
		    VkDeviceSize off, VkDeviceSize range, VkBufferView *out)
{
	VkFormat f = kind == 'q' ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT;
	int st;

	if (d->n_views == d->cap_views) {
		size_t cap = d->cap_views ? 2 * d->cap_views : 16;
		VkBufferView *g = realloc(d->views, cap * sizeof *g);
		if (!g)
			return dg_error_nomem("buffer views", cap * sizeof *g);
		d->views = g;
		d->cap_views = cap;
	}
	if ((st = dg_vk_buffer_view(d->vk, b, f, off, range, out)))
		return st;
	d->views[d->n_views++] = *out;
	return 0;
}

int dg_vk_descs_alloc(struct dg_vk_descs *d, const struct dg_vk_pipeline *pl,
		      const struct dg_vk_bind *binds, VkDescriptorSet *out)
{
	VkDescriptorBufferInfo info[DG_VK_MAX_BINDINGS];
	VkBufferView views[DG_VK_MAX_BINDINGS];
	VkWriteDescriptorSet w[DG_VK_MAX_BINDINGS];
	VkDescriptorSetAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorSetCount = 1,
		.pSetLayouts = &pl->set_layout,
	};
	const struct dg_vk_props *pr = &d->vk->props;
	uint32_t n = pl->n_bindings, n_texel = 0;
	int st;

	*out = VK_NULL_HANDLE;
	for (uint32_t i = 0; i < n; i++) {
		const struct dg_vk_buffer *b = binds[i].buf;
		VkDeviceSize range;

		if (!b || binds[i].offset >= b->size)
			return dg_error(DG_EINTERNAL, "binding %u of %s: no buffer, or offset past it",
					i, pl->shader);
		range = binds[i].range ? binds[i].range : b->size - binds[i].offset;
		if (pl->kinds[i] != 's') {
			if ((st = add_view(d, b, pl->kinds[i], binds[i].offset, range, &views[i])))
				return dg_error_context(st, "binding %u of %s", i, pl->shader);
			w[i] = (VkWriteDescriptorSet){
				.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstBinding = i,
				.descriptorCount = 1,
				.descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
				.pTexelBufferView = &views[i],
			};
			n_texel++;
			continue;
		}
		if (binds[i].offset % pr->min_storage_offset_align || binds[i].offset >= b->size ||
		    range > b->size - binds[i].offset || range > pr->max_storage_buffer_range)
			return dg_error(DG_EINTERNAL, "binding %u of %s: range [%llu, +%llu) of a "
					"%llu-byte buffer is not allowed (offset alignment %llu)",
					i, pl->shader, (unsigned long long)binds[i].offset,
					(unsigned long long)range, (unsigned long long)b->size,
					(unsigned long long)pr->min_storage_offset_align);
		info[i] = (VkDescriptorBufferInfo){ b->buffer, binds[i].offset, range };
		w[i] = (VkWriteDescriptorSet){
			.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstBinding = i,
			.descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
			.pBufferInfo = &info[i],
		};
	}
	if (!d->pools || !d->pools->sets_left || d->pools->storage_left < n - n_texel ||
	    d->pools->texel_left < n_texel)
		if ((st = grow(d)))
			return st;
	ai.descriptorPool = d->pools->pool;
	st = dg_vk_check(vkAllocateDescriptorSets(d->vk->dev, &ai, out), "vkAllocateDescriptorSets");
	if (st)
		return st;
	d->pools->sets_left--;
	d->pools->storage_left -= n - n_texel;
	d->pools->texel_left -= n_texel;
	for (uint32_t i = 0; i < n; i++)
		w[i].dstSet = *out;
	if (n)
		vkUpdateDescriptorSets(d->vk->dev, n, w, 0, NULL);
	return 0;
}

void dg_vk_descs_destroy(struct dg_vk_descs *d)
{
	if (!d)
		return;
	while (d->pools) {
		struct pool *p = d->pools;
		d->pools = p->next;
		vkDestroyDescriptorPool(d->vk->dev, p->pool, NULL);
		free(p);
	}
	for (size_t i = 0; i < d->n_views; i++)
		vkDestroyBufferView(d->vk->dev, d->views[i], NULL);
	free(d->views);
	free(d);
}
