/* vk/backend_vk.c — the vulkan backend: devices, buffers, and the
 * compiled kernel list recorded once into one command buffer (a barrier
 * between calls), resubmitted each run.  What changes between runs (the
 * run counter of random draws, optimizer scalars) lives in a small
 * host-visible buffer of parameter words written before each submit;
 * kernels report bad indices through a status word in it.  DG_PROFILE=1
 * times each call with timestamp queries.  The kernels' recorders are in
 * vk_k_*.c, one per op family, found through the table the op list
 * generates (vk/vk_kernels.h). */
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "vk/vk_kernels.h"

struct vkdev {
	struct dg_vk *vk;
};

/* Open devices, shared by every graph of the process that asks for the
 * same index: pipelines are created once per process rather than once
 * per graph (lavapipe compiles each in up to a second), and memory blocks
 * are shared.  A struct dg_vk locks its queue, pipelines and memory
 * itself, so graphs on different threads may share one. */
static struct shared_dev {
	int index;
	unsigned users;
	struct dg_vk *vk;
} shared[8];
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

static int vk_open(const char *spec, void **dev)
{
	struct vkdev *d = calloc(1, sizeof *d);
	struct shared_dev *slot = NULL;
	long index = 0;
	int st = DG_OK;

	if (!d)
		return dg_error_nomem("a vulkan device", sizeof *d);
	if (spec && !strncmp(spec, "vulkan:", 7)) {
		char *end;
		index = strtol(spec + 7, &end, 10);
		if (*end || index < 0 || index > INT32_MAX) {
			free(d);
			return dg_error(DG_EUSAGE, "bad device name %s", spec);
		}
	}
	pthread_mutex_lock(&shared_lock);
	for (size_t i = 0; i < sizeof shared / sizeof *shared && !slot; i++)
		if (shared[i].users && shared[i].index == index)
			slot = &shared[i];
	if (!slot) {
		struct shared_dev *free_slot = NULL;
		for (size_t i = 0; i < sizeof shared / sizeof *shared && !free_slot; i++)
			if (!shared[i].users)
				free_slot = &shared[i];
		if (!free_slot)
			st = dg_error(DG_ENODEV, "more than %zu vulkan devices open at once",
				      sizeof shared / sizeof *shared);
		else if (!(st = dg_vk_open((int)index, 0, &free_slot->vk))) {
			slot = free_slot;
			slot->index = (int)index;
		}
	}
	if (slot) {
		slot->users++;
		d->vk = slot->vk;
	}
	pthread_mutex_unlock(&shared_lock);
	if (!slot) {
		free(d);
		return st;
	}
	*dev = d;
	return DG_OK;
}

static void vk_close(void *dev)
{
	struct vkdev *d = dev;

	pthread_mutex_lock(&shared_lock);
	for (size_t i = 0; i < sizeof shared / sizeof *shared; i++)
		if (shared[i].users && shared[i].vk == d->vk && !--shared[i].users) {
			dg_vk_close(shared[i].vk);
			shared[i].vk = NULL;
		}
	pthread_mutex_unlock(&shared_lock);
	free(d);
}

/* Where the host may read and write b directly, or NULL: then transfers
 * go through staging copies, as on a discrete GPU.  $DG_VK_FORCE_STAGING
 * takes that path on any device, so tests cover it on lavapipe. */
static void *host_map(const struct dg_vk_buffer *b)
{
	static int force = -1;
	if (force < 0)
		force = getenv("DG_VK_FORCE_STAGING") != NULL;
	return force ? NULL : b->map;
}

/* A one-off command for unmapped memory: a copy, or with src NULL a fill
 * of dst with zeros (bytes a multiple of 4). */
static int oneoff_copy(struct dg_vk *vk, const struct dg_vk_buffer *src, uint64_t soff,
		       const struct dg_vk_buffer *dst, uint64_t doff, uint64_t bytes)
{
	struct dg_vk_cmd *c;
	int st = dg_vk_cmd_create(vk, 0, &c);
	if (st)
		return st;
	if (!(st = dg_vk_cmd_begin(c))) {
		if (src)
			dg_vk_cmd_copy(c, src, soff, dst, doff, bytes);
		else
			dg_vk_cmd_fill(c, dst, doff, bytes, 0);
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
	if (host_map(b)) {
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
	if (host_map(b)) {
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
	/* Zeroed, as the interface promises: in place where mapped, else by
	 * the device (no staging buffer of zeros). */
	if (host_map(b)) {
		memset(b->map, 0, b->size);
		st = dg_vk_buffer_flush(vk, b);
	} else {
		st = oneoff_copy(vk, NULL, 0, b, 0, b->size);
	}
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
	struct dg_vk *vk = ((struct vkdev *)dev)->vk;
	if (!p)
		return;
	if (p->ns && p->runs)
		dg__profile_report("vulkan", p->calls, p->ncalls, p->ns, p->runs);
	dg_vk_cmd_destroy(p->cmd);
	dg_vk_descs_destroy(p->descs);
	dg_vk_buffer_destroy(vk, &p->params);
	dg_vk_buffer_destroy(vk, &p->scratch);
	free(p->slots);
	free(p->calls);
	free(p->ns);
	free(p);
}

static int vk_prepare(void *dev, const struct dg_plan *plan, void **out)
{
	struct dg_vk *vk = ((struct vkdev *)dev)->vk;
	struct vkprog *p = calloc(1, sizeof *p);
	const char *prof = getenv("DG_PROFILE");
	uint32_t nupd = 0;
	int st;

	*out = NULL;
	if (!p)
		return dg_error_nomem("a vulkan step", sizeof *p);
	p->seed = plan->seed;
	p->ncalls = plan->ncalls;
	p->profile = prof && *prof && strcmp(prof, "0");
	for (size_t i = 0; i < plan->ncalls; i++)
		nupd += (plan->calls[i].n.op >= OP_UPD_SGD && plan->calls[i].n.op <= OP_UPD_RMSPROP) ||
			plan->calls[i].n.op == OP_EMA;
	p->calls = malloc((plan->ncalls + 1) * sizeof *p->calls);
	p->ns = p->profile ? calloc(plan->ncalls + 1, sizeof *p->ns) : NULL;
	if (!p->calls || (p->profile && !p->ns)) {
		vk_unprepare(dev, p);
		return dg_error_nomem("a vulkan step", plan->ncalls * sizeof *p->calls);
	}
	memcpy(p->calls, plan->calls, plan->ncalls * sizeof *p->calls);
	/* Per-run words: run counter, status, four floats per update or EMA call. */
	if ((st = dg_vk_buffer_create(vk, 4 * (DG_VKP_SLOTS + 4 * (uint64_t)nupd),
				      DG_VK_MEM_UPLOAD, &p->params))) {
		vk_unprepare(dev, p);
		return st;
	}
	if (!p->params.map) {
		vk_unprepare(dev, p);
		return dg_error(DG_EINTERNAL, "vulkan backend: parameter words are not mapped");
	}
	memset(p->params.map, 0, p->params.size);
	/* Working memory for the calls that use some, one call at a time:
	 * the largest need.  Without it (no memory) they record forms that
	 * need none. */
	uint64_t scratch = 0;
	for (size_t i = 0; i < plan->ncalls; i++) {
		const struct dg_kcall *c = &plan->calls[i];
		uint64_t b = dg_vkk_recorders[c->n.op] == dg_vkk_gemm ? dg_vkk_gemm_scratch(vk, c) : 0;
		scratch = b > scratch ? b : scratch;
	}
	if (scratch)   /* on failure p->scratch stays zeroed */
		(void)dg_vk_buffer_create(vk, scratch, DG_VK_MEM_DEVICE, &p->scratch);
	uint32_t nts = p->profile ? (uint32_t)plan->ncalls + 1 : 0;
	if ((st = dg_vk_cmd_create(vk, nts, &p->cmd)) ||
	    (st = dg_vk_descs_create(vk, 64, &p->descs)) || (st = dg_vk_cmd_begin(p->cmd))) {
		vk_unprepare(dev, p);
		return st;
	}
	if (p->profile)
		dg_vk_cmd_timestamp(p->cmd);
	for (size_t i = 0, used = 0; i < plan->ncalls && !st; i += used) {
		/* a chain of elementwise calls is one dispatch (the profile
		 * gives its time to the first call, none to the others) */
		p->call = (uint32_t)i;
		if ((st = dg_vkk_chain(vk, p, plan->calls + i, plan->ncalls - i, &used)))
			break;
		const struct dg_kcall *c = &plan->calls[i];
		if (!used && !(st = dg_vkk_supports(c)) && !(st = dg_vkk_recorders[c->n.op](vk, p, c)))
			used = 1;
		if (st)
			break;
		dg_vk_cmd_barrier(p->cmd);
		for (size_t k = 0; p->profile && k < used; k++)
			dg_vk_cmd_timestamp(p->cmd);
	}
	if (st || (st = dg_vk_cmd_end(p->cmd))) {
		vk_unprepare(dev, p);
		return st;
	}
	*out = p;
	return DG_OK;
}

/* Writes the per-run words: the run counter, a clear status, and each
 * update's scalars derived as the cpu kernel derives them. */
static int write_params(struct dg_vk *vk, struct vkprog *p, uint64_t run)
{
	uint32_t *w = p->params.map;
	float *f = p->params.map;

	w[DG_VKP_RUN] = (uint32_t)run;
	w[DG_VKP_RUN + 1] = (uint32_t)(run >> 32);
	w[DG_VKP_STATUS] = DG_VKP_NONE;
	for (uint32_t s = 0; s < p->nslots; s++) {
		const struct vkslot *u = &p->slots[s];
		float lr = u->rt[0];
		float *o = f + DG_VKP_SLOTS + 4 * s;
		if (u->ema) {
			o[0] = u->rt[4];
			continue;
		}
		o[0] = lr;
		o[1] = lr / u->rt[1];
		o[2] = 1 / sqrtf(u->rt[2]);
		o[3] = u->decoupled ? 1 - lr * u->wd : 1;
	}
	return dg_vk_buffer_flush(vk, &p->params);
}

static int vk_execute(void *dev, void *prog, const struct dg_run_info *ri)
{
	struct dg_vk *vk = ((struct vkdev *)dev)->vk;
	struct vkprog *p = prog;
	int st;

	if ((st = write_params(vk, p, ri->run)) || (st = dg_vk_cmd_run(p->cmd)) ||
	    (st = dg_vk_buffer_invalidate(vk, &p->params)))
		return st;
	uint32_t bad = ((const uint32_t *)p->params.map)[DG_VKP_STATUS];
	if (bad != DG_VKP_NONE && bad < p->ncalls) {
		const struct dg_kcall *c = &p->calls[bad];
		return dg_error(DG_EDATA, "%s (node %u): index outside 0..%llu",
				dg_opdefs[c->n.op].name, c->id,
				(unsigned long long)(c->n.op == OP_GATHER ? c->in_node[0].dims[0]
						     : c->n.op == OP_PICK
						     ? c->in_node[0].dims[c->in_node[0].rank - 1]
						     : (uint64_t)c->n.ia[0]) - 1);
	}
	if (p->ns && ri->profile) {
		double *t = malloc((p->ncalls + 1) * sizeof *t);
		if (!t)
			return dg_error_nomem("timestamps", p->ncalls * sizeof *t);
		if (!(st = dg_vk_cmd_timestamps(p->cmd, t, (uint32_t)p->ncalls + 1))) {
			for (size_t i = 0; i < p->ncalls; i++)
				p->ns[i] += t[i + 1] - t[i];
			p->runs++;
		}
		free(t);
		if (st == DG_EINTERNAL) {   /* no timestamps on this queue: no profile */
			free(p->ns);
			p->ns = NULL;
			st = DG_OK;
		}
	}
	return st;
}

const struct dg_backend dg_vk_backend = {
	.name = "vulkan",
	.open = vk_open,
	.close = vk_close,
	.alloc = vk_alloc,
	.release = vk_release,
	.write = vk_write,
	.read = vk_read,
	.supports_op = dg_vkk_supports,
	.prepare = vk_prepare,
	.execute = vk_execute,
	.unprepare = vk_unprepare,
};
