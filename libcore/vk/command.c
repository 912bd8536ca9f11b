/* vk/command.c — one command buffer recorded once and resubmitted:
 * dispatches, barriers, copies, staging transfers, timestamps; submit,
 * fence wait. */
#include <stdlib.h>
#include <string.h>
#include "dg/error.h"
#include "vk/vk.h"

/* Ten minutes: a step that takes longer is taken for a hung device. */
#define WAIT_NS (600ull * 1000000000ull)

enum state { INITIAL, RECORDING, EXECUTABLE, PENDING };

struct dg_vk_cmd {
	struct dg_vk *vk;
	VkCommandPool pool;
	VkCommandBuffer cb;
	VkFence fence;
	VkQueryPool queries;
	uint32_t max_queries, n_queries;
	enum state state;
	/* what is bound now, so that repeated binds are skipped */
	const struct dg_vk_pipeline *bound;
	VkDescriptorSet bound_set;
};

int dg_vk_cmd_create(struct dg_vk *vk, uint32_t max_timestamps, struct dg_vk_cmd **out)
{
	VkCommandPoolCreateInfo pi = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
		.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
		.queueFamilyIndex = vk->queue_family,
	};
	VkCommandBufferAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1,
	};
	VkFenceCreateInfo fi = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
	VkQueryPoolCreateInfo qi = {
		.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
		.queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = max_timestamps,
	};
	struct dg_vk_cmd *c = calloc(1, sizeof *c);
	int st;

	*out = NULL;
	if (!c)
		return dg_error_nomem("command buffer", sizeof *c);
	c->vk = vk;
	if ((st = dg_vk_check(vkCreateCommandPool(vk->dev, &pi, NULL, &c->pool), "vkCreateCommandPool")))
		goto fail;
	ai.commandPool = c->pool;
	if ((st = dg_vk_check(vkAllocateCommandBuffers(vk->dev, &ai, &c->cb), "vkAllocateCommandBuffers")) ||
	    (st = dg_vk_check(vkCreateFence(vk->dev, &fi, NULL, &c->fence), "vkCreateFence")))
		goto fail;
	if (max_timestamps && vk->timestamp_bits) {
		st = dg_vk_check(vkCreateQueryPool(vk->dev, &qi, NULL, &c->queries), "vkCreateQueryPool");
		if (st)
			goto fail;
		c->max_queries = max_timestamps;
	}
	*out = c;
	return 0;
fail:
	dg_vk_cmd_destroy(c);
	return st;
}

void dg_vk_cmd_destroy(struct dg_vk_cmd *c)
{
	if (!c)
		return;
	if (c->state == PENDING)
		(void)dg_vk_cmd_wait(c);
	if (c->queries)
		vkDestroyQueryPool(c->vk->dev, c->queries, NULL);
	if (c->fence)
		vkDestroyFence(c->vk->dev, c->fence, NULL);
	if (c->pool)   /* frees c->cb with it */
		vkDestroyCommandPool(c->vk->dev, c->pool, NULL);
	free(c);
}

int dg_vk_cmd_begin(struct dg_vk_cmd *c)
{
	/* No ONE_TIME_SUBMIT and no SIMULTANEOUS_USE: submitted again and
	 * again, one submission at a time. */
	VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
	int st;

	if (c->state == PENDING && (st = dg_vk_cmd_wait(c)))
		return st;
	st = dg_vk_check(vkResetCommandBuffer(c->cb, 0), "vkResetCommandBuffer");
	if (!st)
		st = dg_vk_check(vkBeginCommandBuffer(c->cb, &bi), "vkBeginCommandBuffer");
	if (st)
		return st;
	c->state = RECORDING;
	c->n_queries = 0;
	c->bound = NULL;
	c->bound_set = VK_NULL_HANDLE;
	if (c->queries)
		vkCmdResetQueryPool(c->cb, c->queries, 0, c->max_queries);
	return 0;
}

void dg_vk_cmd_dispatch(struct dg_vk_cmd *c, const struct dg_vk_pipeline *p, VkDescriptorSet set,
			const void *push, uint32_t gx, uint32_t gy, uint32_t gz)
{
	if (c->bound != p) {
		vkCmdBindPipeline(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
		c->bound = p;
		c->bound_set = VK_NULL_HANDLE;
	}
	if (p->n_bindings && set != c->bound_set) {
		c->bound_set = set;
		vkCmdBindDescriptorSets(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set,
					0, NULL);
	}
	if (p->push_size)
		vkCmdPushConstants(c->cb, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p->push_size, push);
	vkCmdDispatch(c->cb, gx, gy, gz);
}

#define STAGES (VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT)
#define WRITES (VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT)
#define ACCESSES (VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | \
		  VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT)

void dg_vk_cmd_barrier(struct dg_vk_cmd *c)
{
	VkMemoryBarrier m = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = WRITES,
		.dstAccessMask = ACCESSES,
	};
	vkCmdPipelineBarrier(c->cb, STAGES, STAGES, 0, 1, &m, 0, NULL, 0, NULL);
}

void dg_vk_cmd_buffer_barrier(struct dg_vk_cmd *c, const struct dg_vk_buffer *b,
			      VkDeviceSize offset, VkDeviceSize size)
{
	VkBufferMemoryBarrier m = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER, .srcAccessMask = WRITES,
		.dstAccessMask = ACCESSES, .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED, .buffer = b->buffer,
		.offset = offset, .size = size,
	};
	vkCmdPipelineBarrier(c->cb, STAGES, STAGES, 0, 0, NULL, 1, &m, 0, NULL);
}

void dg_vk_cmd_copy(struct dg_vk_cmd *c, const struct dg_vk_buffer *src, VkDeviceSize src_off,
		    const struct dg_vk_buffer *dst, VkDeviceSize dst_off, VkDeviceSize size)
{
	VkBufferCopy r = { src_off, dst_off, size };
	vkCmdCopyBuffer(c->cb, src->buffer, dst->buffer, 1, &r);
}

void dg_vk_cmd_fill(struct dg_vk_cmd *c, const struct dg_vk_buffer *b, VkDeviceSize off,
		    VkDeviceSize size, uint32_t word)
{
	vkCmdFillBuffer(c->cb, b->buffer, off, size, word);
}

void dg_vk_cmd_upload(struct dg_vk_cmd *c, const struct dg_vk_hostbuf *h)
{
	if (!h->stage.buffer)
		return;
	/* Earlier steps' reads of dev are complete (each submit waits for
	 * the previous one); the barrier after orders the copy before the
	 * shaders that read it. */
	dg_vk_cmd_copy(c, &h->stage, 0, &h->dev, 0, h->dev.size);
	dg_vk_cmd_buffer_barrier(c, &h->dev, 0, VK_WHOLE_SIZE);
}

void dg_vk_cmd_download(struct dg_vk_cmd *c, const struct dg_vk_hostbuf *h)
{
	if (!h->stage.buffer)
		return;
	dg_vk_cmd_buffer_barrier(c, &h->dev, 0, VK_WHOLE_SIZE);
	dg_vk_cmd_copy(c, &h->dev, 0, &h->stage, 0, h->dev.size);
}

int dg_vk_cmd_timestamp(struct dg_vk_cmd *c)
{
	if (!c->queries || c->n_queries >= c->max_queries)
		return -1;
	vkCmdWriteTimestamp(c->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, c->queries, c->n_queries);
	return (int)c->n_queries++;
}

int dg_vk_cmd_end(struct dg_vk_cmd *c)
{
	/* Device writes reach the host only through a dependency whose
	 * destination is the host stage; a fence wait alone does not make
	 * them visible. */
	VkMemoryBarrier m = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = WRITES,
		.dstAccessMask = VK_ACCESS_HOST_READ_BIT,
	};
	int st;

	if (c->state != RECORDING)
		return dg_error(DG_EINTERNAL, "dg_vk_cmd_end without dg_vk_cmd_begin");
	vkCmdPipelineBarrier(c->cb, STAGES, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &m, 0, NULL, 0, NULL);
	st = dg_vk_check(vkEndCommandBuffer(c->cb), "vkEndCommandBuffer");
	c->state = st ? INITIAL : EXECUTABLE;
	return st;
}

int dg_vk_cmd_submit(struct dg_vk_cmd *c)
{
	VkSubmitInfo si = {
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
		.pCommandBuffers = &c->cb,
	};
	int st;

	if (c->state == PENDING && (st = dg_vk_cmd_wait(c)))
		return st;
	if (c->state != EXECUTABLE)
		return dg_error(DG_EINTERNAL, "submitting a command buffer that is not recorded");
	if ((st = dg_vk_check(vkResetFences(c->vk->dev, 1, &c->fence), "vkResetFences")))
		return st;
	pthread_mutex_lock(&c->vk->lock);   /* the queue is externally synchronized */
	st = dg_vk_check(vkQueueSubmit(c->vk->queue, 1, &si, c->fence), "vkQueueSubmit");
	pthread_mutex_unlock(&c->vk->lock);
	if (!st)
		c->state = PENDING;
	return st;
}

int dg_vk_cmd_wait(struct dg_vk_cmd *c)
{
	VkResult r;

	if (c->state != PENDING)
		return 0;
	r = vkWaitForFences(c->vk->dev, 1, &c->fence, VK_TRUE, WAIT_NS);
	if (r == VK_TIMEOUT)
		return dg_error(DG_EINTERNAL, "Vulkan device did not finish in %llu s",
				WAIT_NS / 1000000000ull);
	c->state = EXECUTABLE;
	return dg_vk_check(r, "vkWaitForFences");
}

int dg_vk_cmd_run(struct dg_vk_cmd *c)
{
	int st = dg_vk_cmd_submit(c);
	return st ? st : dg_vk_cmd_wait(c);
}

int dg_vk_cmd_timestamps(struct dg_vk_cmd *c, double *ns, uint32_t n)
{
	uint64_t *t, mask;
	int st;

	if (n > c->n_queries || c->state != EXECUTABLE)
		return dg_error(DG_EINTERNAL, "timestamps: %u asked, %u recorded", n, c->n_queries);
	if (!n)
		return 0;
	if (!(t = malloc(n * sizeof *t)))
		return dg_error_nomem("timestamps", n * sizeof *t);
	st = dg_vk_check(vkGetQueryPoolResults(c->vk->dev, c->queries, 0, n, n * sizeof *t, t,
					       sizeof *t, VK_QUERY_RESULT_64_BIT |
					       VK_QUERY_RESULT_WAIT_BIT),
			 "vkGetQueryPoolResults");
	/* ticks wrap at timestampValidBits; differences stay right */
	mask = c->vk->timestamp_bits >= 64 ? ~0ull : (1ull << c->vk->timestamp_bits) - 1;
	for (uint32_t i = 0; i < n && !st; i++)
		ns[i] = (double)((t[i] - t[0]) & mask) * c->vk->props.timestamp_period;
	free(t);
	return st;
}
