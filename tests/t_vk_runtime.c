/* t_vk_runtime.c — the Vulkan runtime on lavapipe: add.comp against C on
 * odd sizes (mapped and staged transfers), resubmission of one recorded
 * buffer, dependent dispatches with barriers, sub-allocation and its
 * limits, descriptor arenas, lazy pipelines and the on-disk cache,
 * timestamps.  With DG_VK_VALIDATION=1 (tests/vk-validation.t) it also
 * asserts that the validation layer reported nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg/error.h"
#include "dg/rng.h"
#include "vk/vk.h"
#include "tap.h"

static struct dg_vk *vk;

static const struct dg_vk_pipeline *add_pipeline(void)
{
	const struct dg_vk_pipeline *p = NULL;
	if (dg_vk_pipeline_get(vk, "add", 3, 4, NULL, 0, &p))
		diag("add pipeline: %s", dg_errmsg());
	return p;
}

/* c = a + b on the device for n floats, recorded once and run `runs`
 * times with new inputs each time; returns the number of wrong elements
 * (compared bit for bit with the host's float addition), -1 on error. */
static long run_add(uint32_t n, int runs)
{
	struct dg_vk_hostbuf a, b, c;
	const struct dg_vk_pipeline *p = add_pipeline();
	struct dg_vk_descs *d = NULL;
	struct dg_vk_cmd *cmd = NULL;
	struct dg_vk_bind binds[3];
	VkDescriptorSet set;
	long bad = -1;
	int st;

	if (!p)
		return -1;
	st = dg_vk_hostbuf_create(vk, 4ull * n, 0, &a);
	st = st ? st : dg_vk_hostbuf_create(vk, 4ull * n, 0, &b);
	st = st ? st : dg_vk_hostbuf_create(vk, 4ull * n, 1, &c);
	if (st) {
		diag("buffers: %s", dg_errmsg());
		return -1;
	}
	binds[0] = (struct dg_vk_bind){ &a.dev, 0, 0 };
	binds[1] = (struct dg_vk_bind){ &b.dev, 0, 0 };
	binds[2] = (struct dg_vk_bind){ &c.dev, 0, 0 };
	if (dg_vk_descs_create(vk, 8, &d) || dg_vk_descs_alloc(d, p, binds, &set) ||
	    dg_vk_cmd_create(vk, 0, &cmd) || dg_vk_cmd_begin(cmd))
		goto out;
	dg_vk_cmd_upload(cmd, &a);
	dg_vk_cmd_upload(cmd, &b);
	dg_vk_cmd_dispatch(cmd, p, set, &n, (n + 63) / 64, 1, 1);
	dg_vk_cmd_download(cmd, &c);
	if (dg_vk_cmd_end(cmd))
		goto out;
	bad = 0;
	for (int r = 0; r < runs; r++) {
		float *fa = a.map, *fb = b.map, *fc = c.map;
		dg_rng_normal(7, r, 0, fa, n);
		dg_rng_uniform(8, r, 0, fb, n);
		memset(fc, 0xff, 4ull * n);   /* NaN: nothing stale can pass */
		if (dg_vk_hostbuf_flush(vk, &a) || dg_vk_hostbuf_flush(vk, &b) ||
		    dg_vk_cmd_run(cmd) || dg_vk_hostbuf_invalidate(vk, &c)) {
			bad = -1;
			break;
		}
		for (uint32_t i = 0; i < n; i++) {
			float want = fa[i] + fb[i];
			bad += memcmp(&fc[i], &want, 4) != 0;
		}
	}
out:
	if (bad < 0)
		diag("add: %s", dg_errmsg());
	dg_vk_cmd_destroy(cmd);
	dg_vk_descs_destroy(d);
	dg_vk_hostbuf_destroy(vk, &a);
	dg_vk_hostbuf_destroy(vk, &b);
	dg_vk_hostbuf_destroy(vk, &c);
	return bad;
}

/* x <- x + a, `steps` times, ping-ponging between two buffers in one
 * command buffer with a barrier between dependent dispatches. */
static void test_chain(void)
{
	enum { N = 4099, STEPS = 100 };
	const struct dg_vk_pipeline *p = add_pipeline();
	struct dg_vk_hostbuf a, x;
	struct dg_vk_buffer y;
	struct dg_vk_descs *d = NULL;
	struct dg_vk_cmd *cmd = NULL;
	float want[N];
	uint32_t n = N;
	long bad = 0;
	double ns[2] = { 0, 0 };
	int st;

	st = dg_vk_hostbuf_create(vk, 4 * N, 0, &a);
	st = st ? st : dg_vk_hostbuf_create(vk, 4 * N, 1, &x);
	st = st ? st : dg_vk_buffer_create(vk, 4 * N, DG_VK_MEM_DEVICE, &y);
	st = st ? st : dg_vk_descs_create(vk, 16, &d);
	st = st ? st : dg_vk_cmd_create(vk, 4, &cmd);
	st = st ? st : dg_vk_cmd_begin(cmd);
	ok(!st, "chain setup%s%s", st ? ": " : "", st ? dg_errmsg() : "");
	if (st)
		goto out;
	dg_rng_uniform(1, 2, 3, a.map, N);
	dg_vk_hostbuf_flush(vk, &a);
	dg_vk_cmd_upload(cmd, &a);
	dg_vk_cmd_fill(cmd, &x.dev, 0, VK_WHOLE_SIZE, 0);
	dg_vk_cmd_barrier(cmd);
	dg_vk_cmd_timestamp(cmd);
	for (int s = 0; s < STEPS && !st; s++) {
		const struct dg_vk_buffer *src = s % 2 ? &y : &x.dev, *dst = s % 2 ? &x.dev : &y;
		struct dg_vk_bind bind[3] = { { src, 0, 0 }, { &a.dev, 0, 0 }, { dst, 0, 0 } };
		VkDescriptorSet set;
		st = dg_vk_descs_alloc(d, p, bind, &set);
		if (!st) {
			dg_vk_cmd_dispatch(cmd, p, set, &n, (N + 63) / 64, 1, 1);
			dg_vk_cmd_barrier(cmd);
		}
	}
	dg_vk_cmd_timestamp(cmd);
	dg_vk_cmd_download(cmd, &x);
	st = st ? st : dg_vk_cmd_end(cmd);
	st = st ? st : dg_vk_cmd_run(cmd);
	st = st ? st : dg_vk_hostbuf_invalidate(vk, &x);
	ok(!st, "100 dependent dispatches in one command buffer run%s%s", st ? ": " : "",
	   st ? dg_errmsg() : "");
	for (int i = 0; i < N; i++) {
		float v = 0, ai = ((float *)a.map)[i];
		for (int s = 0; s < STEPS; s++)
			v = v + ai;
		want[i] = v;
	}
	for (int i = 0; i < N && !st; i++)
		bad += memcmp(&want[i], (float *)x.map + i, 4) != 0;
	is_int(bad, 0, "barriers order the chain: x = a + a + ... (100 times) exactly");
	st = dg_vk_cmd_timestamps(cmd, ns, 2);
	ok(!st && ns[1] > 1000,
	   "timestamps around the chain: %.1f us for 100 dispatches (period %g ns)", ns[1] / 1e3, vk->props.timestamp_period);
out:
	dg_vk_cmd_destroy(cmd);
	dg_vk_descs_destroy(d);
	dg_vk_hostbuf_destroy(vk, &a);
	dg_vk_hostbuf_destroy(vk, &x);
	dg_vk_buffer_destroy(vk, &y);
}

static void test_memory(void)
{
	enum { N = 200 };
	struct dg_vk_buffer *b = calloc(N, sizeof *b), big, huge;
	uint64_t alloc, used;
	int st = 0, overlap = 0, mapped = 1;
	struct dg_rng r;

	dg_rng_init(&r, 11, 0);
	for (int i = 0; i < N && !st; i++)
		st = dg_vk_buffer_create(vk, 1 + dg_rng_below(&r, 200000), DG_VK_MEM_DEVICE, &b[i]);
	ok(!st, "200 buffers of 1..200000 bytes%s%s", st ? ": " : "", st ? dg_errmsg() : "");
	dg_vk_memory_usage(vk, &alloc, &used);
	ok(alloc == vk->block_bytes, "they share one %llu-byte block (allocated %llu, used %llu)",
	   (unsigned long long)vk->block_bytes, (unsigned long long)alloc, (unsigned long long)used);
	/* No two buffers of one block overlap, and offsets are aligned. */
	for (int i = 0; i < N; i++) {
		mapped &= b[i].map != NULL;
		overlap += b[i].offset % vk->props.min_storage_offset_align != 0;
		for (int j = 0; j < i; j++)
			if (b[i].block == b[j].block && b[i].offset < b[j].offset + b[j].span &&
			    b[j].offset < b[i].offset + b[i].span)
				overlap++;
	}
	is_int(overlap, 0, "sub-allocations are disjoint and aligned");
	ok(mapped, "lavapipe's device-local memory is mapped persistently");
	/* Free every other one, then fill the holes again. */
	for (int i = 0; i < N; i += 2)
		dg_vk_buffer_destroy(vk, &b[i]);
	for (int i = 0; i < N && !st; i += 2)
		st = dg_vk_buffer_create(vk, 1 + dg_rng_below(&r, 100000), DG_VK_MEM_DEVICE, &b[i]);
	dg_vk_memory_usage(vk, &alloc, &used);
	ok(!st && alloc == vk->block_bytes, "freed ranges are reused (allocated %llu)",
	   (unsigned long long)alloc);
	for (int i = N - 1; i >= 0; i--)
		dg_vk_buffer_destroy(vk, &b[i]);
	dg_vk_memory_usage(vk, &alloc, &used);
	ok(alloc == 0 && used == 0, "all freed: blocks returned (allocated %llu, used %llu)",
	   (unsigned long long)alloc, (unsigned long long)used);
	free(b);

	st = dg_vk_buffer_create(vk, vk->block_bytes, DG_VK_MEM_DEVICE, &big);
	dg_vk_memory_usage(vk, &alloc, &used);
	ok(!st && big.offset == 0 && alloc == big.span, "a large tensor gets its own allocation");
	dg_vk_buffer_destroy(vk, &big);
	st = dg_vk_buffer_create(vk, vk->props.max_storage_buffer_range + 4, DG_VK_MEM_DEVICE, &huge);
	is_int(st, DG_ENOMEM, "a tensor beyond maxStorageBufferRange is refused");
	ok(strstr(dg_errmsg(), "maxStorageBufferRange") != NULL && huge.buffer == VK_NULL_HANDLE,
	   "with a message naming the limit: %s", dg_errmsg());
	is_int(dg_vk_buffer_create(vk, 0, DG_VK_MEM_DEVICE, &huge), DG_EINTERNAL, "0 bytes is a bug");
	{
		/* GPUs may allow less in one allocation than in one buffer
		 * range; pretend this one does. */
		uint64_t saved = vk->props.max_allocation_size;
		vk->props.max_allocation_size = 48u << 20;
		st = dg_vk_buffer_create(vk, 64u << 20, DG_VK_MEM_DEVICE, &huge);
		vk->props.max_allocation_size = saved;
		ok(st == DG_ENOMEM && strstr(dg_errmsg(), "maxMemoryAllocationSize"),
		   "a tensor beyond maxMemoryAllocationSize is refused: %s", dg_errmsg());
		dg_vk_memory_usage(vk, &alloc, &used);
		ok(alloc == 0 && huge.buffer == VK_NULL_HANDLE, "and nothing is left allocated");
	}
}

static void test_descriptors(void)
{
	const struct dg_vk_pipeline *p = add_pipeline();
	struct dg_vk_buffer buf;
	struct dg_vk_descs *d;
	VkDescriptorSet set[10];
	int st = dg_vk_buffer_create(vk, 4096, DG_VK_MEM_DEVICE, &buf), distinct = 1;

	st = st ? st : dg_vk_descs_create(vk, 4, &d);
	for (int i = 0; i < 10 && !st; i++) {
		struct dg_vk_bind bind[3] = { { &buf, 0, 256 }, { &buf, 256, 256 }, { &buf, 1024, 0 } };
		st = dg_vk_descs_alloc(d, p, bind, &set[i]);
		for (int j = 0; j < i; j++)
			distinct &= set[i] != set[j];
	}
	ok(!st && distinct, "10 sets from pools of 4 (a new pool when one is full)");
	if (!st) {
		struct dg_vk_bind odd[3] = { { &buf, 4, 16 }, { &buf, 0, 0 }, { &buf, 0, 0 } };
		VkDescriptorSet s;
		is_int(dg_vk_descs_alloc(d, p, odd, &s), DG_EINTERNAL,
		       "a misaligned offset is refused before the driver sees it");
		dg_vk_descs_destroy(d);
	}
	dg_vk_buffer_destroy(vk, &buf);
}

/* 't' bindings: add_texel.comp reads a and b through R32_SFLOAT views
 * (made by the descriptor arena), here two ranges of one buffer. */
static void test_texel(void)
{
	enum { N = 1001 };
	const struct dg_vk_pipeline *p;
	struct dg_vk_hostbuf in, out;
	struct dg_vk_descs *d = NULL;
	struct dg_vk_cmd *cmd = NULL;
	VkBufferView bad;
	VkDescriptorSet set;
	VkDeviceSize boff = vk->props.min_texel_offset_align;
	uint32_t n = N;
	long wrong = 0;
	int st;

	while (boff < 4 * N)
		boff *= 2;
	st = dg_vk_pipeline_get_kinds(vk, "add_texel", "tts", 4, NULL, 0, &p);
	st = st ? st : dg_vk_hostbuf_create(vk, boff + 4 * N, 0, &in);
	st = st ? st : dg_vk_hostbuf_create(vk, 4 * N, 1, &out);
	if (!st) {
		struct dg_vk_bind bind[3] = { { &in.dev, 0, 4 * N }, { &in.dev, boff, 4 * N },
					      { &out.dev, 0, 0 } };
		float *f = in.map;
		dg_rng_normal(3, 0, 0, f, N);
		dg_rng_normal(3, 1, 0, (float *)((char *)in.map + boff), N);
		st = dg_vk_hostbuf_flush(vk, &in);
		st = st ? st : dg_vk_descs_create(vk, 2, &d);
		st = st ? st : dg_vk_descs_alloc(d, p, bind, &set);
		st = st ? st : dg_vk_cmd_create(vk, 0, &cmd);
		st = st ? st : dg_vk_cmd_begin(cmd);
		if (!st) {
			dg_vk_cmd_upload(cmd, &in);
			dg_vk_cmd_dispatch(cmd, p, set, &n, (N + 63) / 64, 1, 1);
			dg_vk_cmd_download(cmd, &out);
			st = dg_vk_cmd_end(cmd);
		}
		st = st ? st : dg_vk_cmd_run(cmd);
		st = st ? st : dg_vk_hostbuf_invalidate(vk, &out);
		for (int i = 0; i < N && !st; i++) {
			float want = f[i] + ((float *)((char *)in.map + boff))[i];
			wrong += memcmp(&want, (float *)out.map + i, 4) != 0;
		}
	}
	ok(!st, "texel-buffer pipeline runs%s%s", st ? ": " : "", st ? dg_errmsg() : "");
	is_int(wrong, 0, "add through two texel views of one buffer matches C");
	is_int(dg_vk_buffer_view(vk, &out.dev, VK_FORMAT_R32_SFLOAT, 4, 64, &bad), DG_EINTERNAL,
	       "a view at a misaligned offset is refused");
	is_int(dg_vk_pipeline_get_kinds(vk, "add_texel", "ttx", 4, NULL, 0, &p), DG_EINTERNAL,
	       "an unknown binding kind is refused");
	dg_vk_cmd_destroy(cmd);
	dg_vk_descs_destroy(d);
	dg_vk_hostbuf_destroy(vk, &in);
	dg_vk_hostbuf_destroy(vk, &out);
}

static void test_pipelines(void)
{
	const struct dg_vk_pipeline *p1, *p2, *p3, *p4;
	uint32_t mode = 1, other = 2;

	ok(!dg_vk_pipeline_get(vk, "add", 3, 4, NULL, 0, &p1) &&
	   !dg_vk_pipeline_get(vk, "add", 3, 4, NULL, 0, &p2) && p1 == p2,
	   "a pipeline is created once and then found");
	ok(!dg_vk_pipeline_get(vk, "rng", 1, 32, &mode, 1, &p3) &&
	   !dg_vk_pipeline_get(vk, "rng", 1, 32, &other, 1, &p4) && p3 != p4,
	   "specialization constants make distinct pipelines");
	is_int(dg_vk_pipeline_get(vk, "no-such-shader", 1, 0, NULL, 0, &p1), DG_EINTERNAL,
	       "an unknown shader is an internal error");
	is_int(dg_vk_pipeline_get(vk, "add", 2, 4, NULL, 0, &p1), DG_EINTERNAL,
	       "one key with two layouts is refused");
}

static void test_cache(void)
{
	char dir[] = "/tmp/dg-vk-cache-XXXXXX", path[512];
	struct dg_vk *v2;
	const struct dg_vk_pipeline *p;
	FILE *f;
	uint32_t h[4] = { 0 };
	int found = 0, st;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	setenv("XDG_CACHE_HOME", dir, 1);
	setenv("DG_VK_PIPELINE_CACHE", "1", 1);   /* lavapipe is a CPU driver */
	st = dg_vk_open(0, 0, &v2);
	st = st ? st : dg_vk_pipeline_get(v2, "add", 3, 4, NULL, 0, &p);
	if (!st) {
		snprintf(path, sizeof path, "%s", v2->cache_path ? v2->cache_path : "");
		dg_vk_close(v2);
	}
	ok(!st && strncmp(path, dir, strlen(dir)) == 0 && strstr(path, "/dg/vk-"),
	   "cache path under $XDG_CACHE_HOME/dg: %s", path);
	f = fopen(path, "rb");
	if (f) {
		found = fread(h, 4, 4, f) == 4;
		fclose(f);
	}
	ok(found && h[1] == 1 && h[2] == vk->props.vendor_id && h[3] == vk->props.device_id,
	   "the cache was written with a header for this device");
	/* A corrupt cache is ignored; pipelines still come. */
	f = fopen(path, "r+b");
	if (f) {
		fwrite("garbage!", 1, 8, f);
		fclose(f);
	}
	st = dg_vk_open(0, 0, &v2);
	st = st ? st : dg_vk_pipeline_get(v2, "add", 3, 4, NULL, 0, &p);
	ok(!st, "a corrupt cache file is ignored%s%s", st ? ": " : "", st ? dg_errmsg() : "");
	if (!st)
		dg_vk_close(v2);
	setenv("DG_VK_PIPELINE_CACHE", "0", 1);
	st = dg_vk_open(0, 0, &v2);
	ok(!st && v2->cache_path == NULL, "DG_VK_PIPELINE_CACHE=0 turns it off");
	dg_vk_close(v2);
	unsetenv("DG_VK_PIPELINE_CACHE");
	unlink(path);
	snprintf(path, sizeof path, "%s/dg", dir);
	rmdir(path);
	rmdir(dir);
}

/* The messenger really counts: a deliberate misuse on a validated device
 * (a copy past the end of a buffer, recorded but never submitted). */
static void test_validation_counts(void)
{
	struct dg_vk *v2;
	struct dg_vk_buffer b;
	struct dg_vk_cmd *cmd;

	if (dg_vk_open(0, DG_VK_VALIDATE, &v2)) {
		ok(0, "open with validation: %s", dg_errmsg());
		return;
	}
	if (!dg_vk_buffer_create(v2, 4096, DG_VK_MEM_DEVICE, &b) && !dg_vk_cmd_create(v2, 0, &cmd)) {
		fprintf(stderr, "t_vk_runtime: an expected validation error follows\n");
		if (!dg_vk_cmd_begin(cmd)) {
			dg_vk_cmd_copy(cmd, &b, 4092, &b, 0, 8);
			(void)dg_vk_cmd_end(cmd);
		}
		dg_vk_cmd_destroy(cmd);
	}
	ok(v2->validation_errors >= 1, "the messenger counted a deliberate misuse (%u)",
	   v2->validation_errors);
	dg_vk_buffer_destroy(v2, &b);
	dg_vk_close(v2);
}

/* Validation asked for without the layer: 69 with the package's name. */
static void test_no_layer(void)
{
	struct dg_vk *v2 = NULL;
	int st;

	setenv("VK_LAYER_PATH", "/nonexistent", 1);   /* the loader searches only there */
	st = dg_vk_open(0, DG_VK_VALIDATE, &v2);
	unsetenv("VK_LAYER_PATH");
	is_int(st, DG_ENODEV, "validation without the layer installed -> 69");
	ok(strstr(dg_errmsg(), "vulkan-validationlayers") != NULL, "naming the package: %s",
	   dg_errmsg());
	dg_vk_close(v2);
}

int main(void)
{
	const char *validating = getenv("DG_VK_VALIDATION");
	int st = dg_vk_open(0, 0, &vk);

	if (!is_int(st, 0, "open vulkan:0 (%s)", st ? dg_errmsg() : "ok"))
		return done_testing();
	diag("%s, %s; subgroup %u, storage range %llu, allocation %llu, shared %u",
	     vk->props.name, vk->props.driver, vk->props.subgroup_size,
	     (unsigned long long)vk->props.max_storage_buffer_range,
	     (unsigned long long)vk->props.max_allocation_size, vk->props.max_shared_memory);
	ok(vk->props.subgroup_size > 0 && vk->props.timestamp_period > 0 && vk->timestamp_bits > 0,
	   "subgroup size, timestamp period and bits recorded");
	is_int(run_add(1, 1), 0, "add, n = 1, mapped");
	is_int(run_add(7, 1), 0, "add, n = 7, mapped");
	is_int(run_add(1000003, 1), 0, "add, n = 1000003, mapped");
	is_int(run_add(1000, 3), 0, "one recorded buffer resubmitted 3 times with new inputs");
	setenv("DG_VK_FORCE_STAGING", "1", 1);
	is_int(run_add(7, 1), 0, "add, n = 7, through staging buffers");
	is_int(run_add(1000003, 2), 0, "add, n = 1000003, staged, resubmitted");
	unsetenv("DG_VK_FORCE_STAGING");
	test_chain();
	test_memory();
	test_descriptors();
	test_texel();
	test_pipelines();
	test_cache();
	test_no_layer();
	if (validating && !strcmp(validating, "1")) {
		is_int(vk->validation_errors, 0, "validation layer: no errors");
		is_int(vk->validation_warnings, 0, "validation layer: no warnings");
		test_validation_counts();
	}
	dg_vk_close(vk);
	return done_testing();
}
