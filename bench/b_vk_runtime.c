/* bench/b_vk_runtime.c — costs of the Vulkan runtime on vulkan:0 (lavapipe
 * here): instance+device creation, pipeline creation cold / through dg's
 * VkPipelineCache / through Mesa's shader cache, submit+wait of an empty
 * and a one-dispatch buffer, and the cost per dispatch inside one
 * recorded command buffer (1000 tiny dispatches, with and without
 * barriers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"
#include "dg/error.h"
#include "vk/vk.h"

static struct dg_vk *vk;

static _Noreturn void fail(const char *what)
{
	fprintf(stderr, "b_vk_runtime: %s: %s\n", what, dg_errmsg());
	exit(1);
}

static void open_close(void *arg)
{
	struct dg_vk *v;
	(void)arg;
	if (dg_vk_open(0, 0, &v))
		fail("open");
	dg_vk_close(v);
}

/* Creation time of the normal-fill pipeline (the largest shader) in a
 * fresh device, under the environment the caller set. */
static double pipeline_ms(void)
{
	struct dg_vk *v;
	const struct dg_vk_pipeline *p;
	uint32_t mode = 2;
	double ms;

	if (dg_vk_open(0, 0, &v) || dg_vk_pipeline_get(v, "rng", 1, 32, &mode, 1, &p))
		fail("pipeline");
	ms = p->create_ms;
	dg_vk_close(v);
	return ms;
}

static void run(void *arg)
{
	if (dg_vk_cmd_run(arg))
		fail("run");
}

/* A command buffer of `n` one-workgroup add dispatches over 64 floats. */
static struct dg_vk_cmd *record(struct dg_vk_buffer *b, struct dg_vk_descs *d, int n, int barriers)
{
	const struct dg_vk_pipeline *p;
	struct dg_vk_bind bind[3] = { { b, 0, 256 }, { b, 256, 256 }, { b, 512, 256 } };
	struct dg_vk_cmd *c;
	VkDescriptorSet set;
	uint32_t count = 64;

	if (dg_vk_pipeline_get(vk, "add", 3, 4, NULL, 0, &p) || dg_vk_descs_alloc(d, p, bind, &set) ||
	    dg_vk_cmd_create(vk, 0, &c) || dg_vk_cmd_begin(c))
		fail("record");
	for (int i = 0; i < n; i++) {
		dg_vk_cmd_dispatch(c, p, set, &count, 1, 1, 1);
		if (barriers)
			dg_vk_cmd_barrier(c);
	}
	if (dg_vk_cmd_end(c))
		fail("end");
	return c;
}

int main(void)
{
	char dir[] = "/tmp/dg-bench-vk-XXXXXX", mesa[600], rm[700];
	struct timing t;
	struct dg_vk_buffer b;
	struct dg_vk_descs *d;
	struct dg_vk_cmd *empty, *one, *many, *loose;
	double cold[101], warm[101], mesa_warm[101];
	int reps = bench_repeats();

	t = time_calls(open_close, NULL, 0.5);
	report("vk instance+device create+destroy", t.median * 1e3, "ms", "best %.2f ms",
	       t.best * 1e3);

	if (!mkdtemp(dir))
		return 1;
	snprintf(mesa, sizeof mesa, "%s/mesa", dir);
	setenv("XDG_CACHE_HOME", dir, 1);
	setenv("MESA_SHADER_CACHE_DIR", mesa, 1);
	for (int i = 0; i < reps; i++) {
		/* cold: no cache of either kind */
		setenv("MESA_SHADER_CACHE_DISABLE", "true", 1);
		setenv("DG_VK_PIPELINE_CACHE", "0", 1);
		cold[i] = pipeline_ms();
		/* dg's VkPipelineCache: fill it, then use it */
		setenv("DG_VK_PIPELINE_CACHE", "1", 1);
		(void)pipeline_ms();
		warm[i] = pipeline_ms();
		/* Mesa's disk cache alone (the default for lavapipe) */
		setenv("DG_VK_PIPELINE_CACHE", "0", 1);
		unsetenv("MESA_SHADER_CACHE_DISABLE");
		(void)pipeline_ms();
		mesa_warm[i] = pipeline_ms();
	}
	report("vk pipeline create, cold", median(cold, reps), "ms", "rng.comp normal fill");
	report("vk pipeline create, VkPipelineCache", median(warm, reps), "ms", "dg's on-disk cache");
	report("vk pipeline create, Mesa cache", median(mesa_warm, reps), "ms", "Mesa's shader cache");
	snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
	if (system(rm) != 0)
		fprintf(stderr, "b_vk_runtime: could not remove %s\n", dir);
	unsetenv("DG_VK_PIPELINE_CACHE");
	unsetenv("XDG_CACHE_HOME");
	unsetenv("MESA_SHADER_CACHE_DIR");

	if (dg_vk_open(0, 0, &vk) || dg_vk_buffer_create(vk, 1024, DG_VK_MEM_DEVICE, &b) ||
	    dg_vk_descs_create(vk, 4, &d))
		fail("setup");
	empty = record(&b, d, 0, 0);
	one = record(&b, d, 1, 0);
	{
		/* A driver may compile at first use rather than at creation. */
		double t0 = now_s();
		run(empty);
		report("vk first submit of a device", (now_s() - t0) * 1e3, "ms",
		       "empty command buffer");
		t0 = now_s();
		run(one);
		report("vk first run of a new pipeline", (now_s() - t0) * 1e3, "ms",
		       "add.comp, one dispatch, includes any deferred compile");
	}
	many = record(&b, d, 1000, 1);
	loose = record(&b, d, 1000, 0);
	t = time_calls(run, empty, 0.3);
	report("vk submit+wait, empty buffer", t.median * 1e6, "us", "best %.1f us", t.best * 1e6);
	double base = t.median;
	t = time_calls(run, one, 0.3);
	report("vk submit+wait, one dispatch", t.median * 1e6, "us", "best %.1f us", t.best * 1e6);
	t = time_calls(run, many, 0.5);
	report("vk dispatch+barrier in one buffer", (t.median - base) / 1000 * 1e6, "us",
	       "1000 one-workgroup dispatches, each followed by a barrier; best %.1f us",
	       (t.best - base) / 1000 * 1e6);
	t = time_calls(run, loose, 0.5);
	report("vk dispatch in one buffer", (t.median - base) / 1000 * 1e6, "us",
	       "1000 independent one-workgroup dispatches; best %.1f us",
	       (t.best - base) / 1000 * 1e6);
	dg_vk_cmd_destroy(empty);
	dg_vk_cmd_destroy(one);
	dg_vk_cmd_destroy(many);
	dg_vk_cmd_destroy(loose);
	dg_vk_descs_destroy(d);
	dg_vk_buffer_destroy(vk, &b);
	dg_vk_close(vk);
	return 0;
}
