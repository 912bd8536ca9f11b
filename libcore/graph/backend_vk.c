/* graph/backend_vk.c — the vulkan backend: devices, buffers, and the
 * compiled kernel list recorded once into one command buffer (a barrier
 * between calls), resubmitted each run.  The kernels' recorders are in
 * vk_k_*.c (graph/vk_kernels.h). */
#include <stdlib.h>
#include <string.h>
#include "graph/vk_kernels.h"

struct vkdev {
	struct dg_vk *vk;
};

static int vk_open(const char *spec, void **dev)
{
	struct vkdev *d = calloc(1, sizeof *d);
	long index = 0;
	int st;

	if (!d)
		return dg_error_nomem("a vulkan device", sizeof *d);
	if (spec && !strncmp(spec, "vulkan:", 7)) {
		char *end;
		index = strtol(spec + 7, &end, 10);
		if (*end || index < 0) {
			free(d);
			return dg_error(DG_EUSAGE, "bad device name %s", spec);
		}
	}
	if ((st = dg_vk_open((int)index, 0, &d->vk))) {
		free(d);
		return st;
	}
	*dev = d;
	return DG_OK;
}

static void vk_close(void *dev)
{
	struct vkdev *d = dev;
	dg_vk_close(d->vk);
	free(d);
}

/* A one-off command (transfers for unmapped memory, fills). */
static int oneoff_copy(struct dg_vk *vk, const struct dg_vk_buffer *src, uint64_t soff,
		       const struct dg_vk_buffer *dst, uint64_t doff, uint64_t bytes)
{
	struct dg_vk_cmd *c;
	int st = dg_vk_cmd_create(vk, 0, &c);
	if (st)
		return st;
	if (!(st = dg_vk_cmd_begin(c))) {
		dg_vk_cmd_copy(c, src, soff, dst, doff, bytes);
		if (!(st = dg_vk_cmd_end(c)))
			st = dg_vk_cmd_run(c);
	}
	dg_vk_cmd_destroy(c);
	return st;
}

static int vk_write(void *dev, void *buf, uint64_t off, const void *src, uint64_t bytes)
{
	struct dg_vk *vk = ((struct vkdev *)dev)->vk;
	struct dg_vk_buffer *b = buf, stage;
	int st;

	if (!bytes)
		return DG_OK;
	if (b->map) {
		memcpy((char *)b->map + off, src, bytes);
		return dg_vk_buffer_flush(vk, b);
	}
	if ((st = dg_vk_buffer_create(vk, bytes, DG_VK_MEM_UPLOAD, &stage)))
		return st;
	memcpy(stage.map, src, bytes);
	if (!(st = dg_vk_buffer_flush(vk, &stage)))
		st = oneoff_copy(vk, &stage, 0, b, off, bytes);
	dg_vk_buffer_destroy(vk, &stage);
	return st;
}

static int vk_read(void *dev, void *buf, uint64_t off, void *dst, uint64_t bytes)
{
	struct dg_vk *vk = ((struct vkdev *)dev)->vk;
	struct dg_vk_buffer *b = buf, stage;
	int st;

	if (!bytes)
		return DG_OK;
	if (b->map) {
		if ((st = dg_vk_buffer_invalidate(vk, b)))
			return st;
		memcpy(dst, (const char *)b->map + off, bytes);
		return DG_OK;
	}
	if ((st = dg_vk_buffer_create(vk, bytes, DG_VK_MEM_READBACK, &stage)))
		return st;
	if (!(st = oneoff_copy(vk, b, off, &stage, 0, bytes)) &&
	    !(st = dg_vk_buffer_invalidate(vk, &stage)))
		memcpy(dst, stage.map, bytes);
	dg_vk_buffer_destroy(vk, &stage);
	return st;
}

static int vk_alloc(void *dev, uint64_t bytes, void **out)
{
	struct dg_vk *vk = ((struct vkdev *)dev)->vk;
	struct dg_vk_buffer *b = calloc(1, sizeof *b);
	int st;

	if (!b)
		return dg_error_nomem("a vulkan buffer", sizeof *b);
	bytes = (bytes + 15) & ~(uint64_t)15;
	if ((st = dg_vk_buffer_create(vk, bytes ? bytes : 16, DG_VK_MEM_DEVICE, b))) {
		free(b);
		return st;
	}
	/* Zeroed, as the interface promises. */
	void *zero = calloc(1, b->size);
	st = zero ? vk_write(dev, b, 0, zero, b->size) : dg_error_nomem("zeros", b->size);
	free(zero);
	if (st) {
		dg_vk_buffer_destroy(vk, b);
		free(b);
		return st;
	}
	*out = b;
	return DG_OK;
}

static void vk_release(void *dev, void *buf)
{
	dg_vk_buffer_destroy(((struct vkdev *)dev)->vk, buf);
	free(buf);
}

static void vk_unprepare(void *dev, void *prog)
{
	struct vkprog *p = prog;
	(void)dev;
	if (!p)
		return;
	dg_vk_cmd_destroy(p->cmd);
	dg_vk_descs_destroy(p->descs);
	free(p);
}

static int record(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	switch (c->n.op) {
	case OP_MATMUL: case OP_CONV: case OP_CONV_BWD_DATA: case OP_CONV_BWD_FILTER:
		return dg_vkk_gemm(vk, p, c);
	default:
		return dg_vkk_ops(vk, p, c);
	}
}

static int vk_prepare(void *dev, const struct dg_plan *plan, void **out)
{
	struct dg_vk *vk = ((struct vkdev *)dev)->vk;
	struct vkprog *p = calloc(1, sizeof *p);
	int st;

	*out = NULL;
	if (!p)
		return dg_error_nomem("a vulkan step", sizeof *p);
	if ((st = dg_vk_cmd_create(vk, 0, &p->cmd)) ||
	    (st = dg_vk_descs_create(vk, 64, &p->descs)) || (st = dg_vk_cmd_begin(p->cmd))) {
		vk_unprepare(dev, p);
		return st;
	}
	for (size_t i = 0; i < plan->ncalls && !st; i++) {
		if ((st = record(vk, p, &plan->calls[i])))
			break;
		dg_vk_cmd_barrier(p->cmd);
	}
	if (st || (st = dg_vk_cmd_end(p->cmd))) {
		vk_unprepare(dev, p);
		return st;
	}
	*out = p;
	return DG_OK;
}

static int vk_execute(void *dev, void *prog, const struct dg_run_info *ri)
{
	struct vkprog *p = prog;
	(void)dev;
	(void)ri;
	return dg_vk_cmd_run(p->cmd);
}

const struct dg_backend dg_vk_backend = {
	.name = "vulkan",
	.open = vk_open,
	.close = vk_close,
	.alloc = vk_alloc,
	.release = vk_release,
	.write = vk_write,
	.read = vk_read,
	.prepare = vk_prepare,
	.execute = vk_execute,
	.unprepare = vk_unprepare,
};
