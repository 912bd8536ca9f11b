/* t_inference.c — the one inference path (dg/inference.h) on cpu and
 * vulkan: data-space sampling by a step run repeatedly on a canvas (the
 * out-of-tree canvas family, whose samples are known exactly), completion
 * of images, and for a trained vae: translation equal to decoding the
 * encoded mean, requests of any size padded to the batch without changing
 * their rows, likelihood terms, draws from the posterior, and refusals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg.h"
#include "tap.h"

#define C 1
#define H 4
#define W 5
#define HW (H * W)
#define NIMG 96

static char tmp[] = "/tmp/dg-t-inference-XXXXXX";

/* A stream of NIMG random images in [0,1], C×H×W. */
static int write_images(const char *path)
{
	struct dg_writer *w = dg_writer_open(path);
	float *x = malloc(NIMG * HW * sizeof *x);
	int st = !w || !x;
	dg_rng_uniform(11, 0, 0, x, NIMG * HW);
	if (!st)
		st = dg_write_record(w, DG_F32, 4, (const uint64_t[]){NIMG, C, H, W}, NULL, x);
	if (w && dg_writer_close(w))
		st = 1;
	free(x);
	return st;
}

/* A checkpoint of family trained one epoch on the images (NULL on error). */
static struct dg_checkpoint *train(const char *family, const char *const *sets)
{
	const struct dg_family *f;
	struct dg_hparams *hp = NULL;
	struct dg_dataset *ds = NULL;
	struct dg_trainer *t = NULL;
	struct dg_checkpoint *ck = NULL;
	char path[600];
	struct dg_train_config cfg = {.batch = 16, .device = "cpu"};
	snprintf(path, sizeof path, "%s/images.dgt", tmp);
	int st = dg_family_load(family, &f) || dg_hparams_new(f, &hp);
	for (; !st && sets && *sets; sets++)
		st = dg_hparams_set(hp, *sets);
	st = st || dg_dataset_open(path, NULL, &ds) || dg_trainer_new(f, hp, ds, &cfg, &t) ||
	     dg_trainer_run(t, 1, NULL, NULL, NULL) || dg_trainer_checkpoint(t, &ck);
	if (st)
		diag("train %s: %s", family, dg_errmsg());
	dg_trainer_free(t);
	dg_dataset_close(ds);
	dg_hparams_free(hp);
	return ck;
}

/* The canvas family: pixel k of a sample is pixel k-1 plus t/HW. */
static void test_steps(const struct dg_checkpoint *ck, const char *device)
{
	struct dg_inference_options io = {.device = device, .batch = 2};
	struct dg_inference *inf = NULL;
	struct dg_array *a = NULL;
	int st = dg_inference_open(ck, &io, &inf);
	if (!ok(st == 0, "%s: canvas model opens", device)) {
		diag("  %s", dg_errmsg());
		return;
	}
	st = dg_inference_sample(inf, 3, 1, NULL, &a);
	int good = st == 0 && a->rank == 4 && a->dims[0] == 3 && a->dims[2] == H &&
		   a->dims[3] == W;
	for (int i = 0; good && i < 3; i++) {
		float v = 0;
		for (int k = 0; k < HW; k++) {
			v += 1.0f / HW;
			good &= ((float *)a->data)[i * HW + k] == v;
		}
	}
	ok(good, "%s: 3 samples in batches of 2, %d steps each: every step saw the last", device,
	   HW);
	dg_array_free(a);

	st = dg_inference_sample(inf, 1, 0.5f, NULL, &a);
	ok(st == 0 && fabsf(((float *)a->data)[HW - 1] - 0.5f) < 1e-6f,
	   "%s: temperature 0.5 halves each step", device);
	dg_array_free(a);

	float x[2 * HW];
	dg_rng_uniform(3, 1, 0, x, 2 * HW);
	st = dg_inference_complete(inf, 2, x, 2, 1, NULL, &a);
	good = st == 0;
	for (int i = 0; good && i < 2; i++) {
		const float *o = (float *)a->data + i * HW;
		float v = x[i * HW + 2 * W - 1];
		for (int k = 0; k < HW; k++) {
			if (k >= 2 * W)
				v += 1.0f / HW;
			good &= o[k] == (k < 2 * W ? x[i * HW + k] : v);
		}
	}
	ok(good, "%s: completion keeps 2 rows and draws the rest from them", device);
	dg_array_free(a);
	is_int(dg_inference_complete(inf, 1, x, H + 1, 1, NULL, &a), DG_EUSAGE,
	       "%s: keeping more rows than the image has is refused", device);
	is_int(dg_inference_decode(inf, 1, x, NULL, &a), DG_EUSAGE,
	       "%s: a family without latents cannot decode", device);
	dg_inference_free(inf);
}

static float maxdiff(const struct dg_array *a, const struct dg_array *b)
{
	float m = 0;
	uint64_t count = 1;
	for (unsigned i = 0; i < a->rank; i++)
		count *= a->dims[i];
	for (uint64_t i = 0; i < count; i++) {
		float d = fabsf(((float *)a->data)[i] - ((float *)b->data)[i]);
		m = d > m || isnan(d) ? d : m;
	}
	return m;
}

static void test_vae(const struct dg_checkpoint *ck, const char *device)
{
	struct dg_inference_options io = {.device = device, .batch = 4, .seed = 1};
	struct dg_inference_options big = {.device = device, .batch = 64, .seed = 1};
	struct dg_inference *inf = NULL, *inf64 = NULL;
	struct dg_array *mean = NULL, *drawn = NULL, *img = NULL, *tr = NULL, *img64 = NULL;
	struct dg_array *ll = NULL;
	const char *const *names = NULL;
	unsigned nt = 0;
	float x[7 * HW];
	dg_rng_uniform(5, 2, 0, x, 7 * HW);

	int st = dg_inference_open(ck, &io, &inf) || dg_inference_open(ck, &big, &inf64);
	if (!ok(st == 0, "%s: vae model opens", device)) {
		diag("  %s", dg_errmsg());
		return;
	}
	const struct dg_model_info *mi = dg_inference_info(inf);
	ok(mi->latent_dim == 2 && mi->channels == C && mi->height == H && mi->width == W &&
		   !mi->ema && !strcmp(mi->family->name, "vae"),
	   "%s: info: latent 2, %dx%dx%d, no EMA", device, C, H, W);
	st = dg_inference_encode(inf, 7, x, NULL, &mean, &drawn);
	ok(st == 0 && mean->dims[0] == 7 && mean->dims[1] == 2 && drawn && maxdiff(mean, drawn) > 0,
	   "%s: encode 7 images in batches of 4: means and posterior draws", device);
	st = st || dg_inference_decode(inf, 7, (float *)mean->data, NULL, &img) ||
	     dg_inference_translate(inf, 7, x, NULL, &tr) ||
	     dg_inference_decode(inf64, 7, (float *)mean->data, NULL, &img64);
	ok(st == 0 && img->rank == 4 && img->dims[0] == 7 && img->dims[1] == C,
	   "%s: decode the means", device);
	if (!st) {
		float d = maxdiff(img, tr);
		ok(d < 1e-5f, "%s: translate = decode(encode mean) (max diff %g)", device, d);
		d = maxdiff(img, img64);
		ok(d < 1e-5f, "%s: rows do not depend on the batch they are padded into (%g)",
		   device, d);
	}
	st = dg_inference_loglik(inf, 7, x, NULL, 3, &ll, &names, &nt);
	ok(st == 0 && nt == 4 && !strcmp(names[0], "nelbo") && !strcmp(names[3], "iwae") &&
		   ll->dims[0] == 4 && ll->dims[1] == 7,
	   "%s: loglik with k 3: nelbo, rec, kl, iwae for 7 images", device);
	if (!st) {
		const float *v = (const float *)ll->data;
		int sums = 1;
		for (int i = 0; i < 7; i++)
			sums &= fabsf(v[i] - v[7 + i] - v[14 + i]) < 1e-3f * fabsf(v[i]);
		ok(sums, "%s: nelbo = rec + kl per image", device);
	}
	dg_array_free(ll);
	struct dg_array *s = NULL;
	is_int(dg_inference_complete(inf, 1, x, 1, 1, NULL, &s), DG_EUSAGE,
	       "%s: a vae cannot complete images", device);
	ok(dg_inference_sample(inf, 5, 1, NULL, &s) == 0 && s->rank == 2 && s->dims[1] == 2,
	   "%s: sample gives latent codes", device);
	dg_array_free(s);
	dg_array_free(mean);
	dg_array_free(drawn);
	dg_array_free(img);
	dg_array_free(img64);
	dg_array_free(tr);
	dg_inference_free(inf);
	dg_inference_free(inf64);
}

/* A family refusing a request (an autoencoder asked to sample) leaves
 * the model usable for the next requests. */
static void test_refusal(const struct dg_checkpoint *ck, const char *device)
{
	struct dg_inference_options io = {.device = device, .batch = 4};
	struct dg_inference *inf = NULL;
	struct dg_array *a = NULL, *mean = NULL;
	float x[3 * HW];
	dg_rng_uniform(7, 1, 0, x, 3 * HW);

	if (!ok(dg_inference_open(ck, &io, &inf) == 0, "%s: ae model opens", device)) {
		diag("  %s", dg_errmsg());
		return;
	}
	is_int(dg_inference_sample(inf, 2, 1, NULL, &a), DG_EUSAGE,
	       "%s: an autoencoder refuses to sample", device);
	ok(strstr(dg_errmsg(), "no prior") != NULL, "%s:   with the family's reason", device);
	int st = dg_inference_encode(inf, 3, x, NULL, &mean, NULL);
	ok(st == 0 && mean->dims[0] == 3, "%s: then encodes as before (%s)", device,
	   st ? dg_errmsg() : "ok");
	is_int(dg_inference_sample(inf, 2, 1, NULL, &a), DG_EUSAGE,
	       "%s: and refuses again with the same status", device);
	dg_array_free(mean);
	dg_inference_free(inf);
}

/* A model holding a NaN is refused by inference and by --resume unless
 * DG_ALLOW_NONFINITE=1, and a run never saves one. */
static void test_nonfinite(struct dg_checkpoint *ck)
{
	const struct dg_array *b = dg_checkpoint_tensor(ck, "params/enc.fc1.b");
	struct dg_array *bad = b ? dg_array_new(DG_F32, b->rank, b->dims) : NULL;
	struct dg_inference *inf = NULL;
	struct dg_dataset *ds = NULL;
	struct dg_trainer *t = NULL;
	struct dg_checkpoint *out = NULL;
	char path[600];

	if (!ok(bad != NULL, "a bias to spoil")) {
		dg_array_free(bad);
		return;
	}
	memcpy(bad->data, b->data, b->dims[0] * sizeof(float));
	((float *)bad->data)[3] = NAN;
	dg_checkpoint_take_tensor(ck, "params/enc.fc1.b", bad);
	unsetenv("DG_ALLOW_NONFINITE");
	is_int(dg_inference_open(ck, NULL, &inf), DG_EDATA, "a NaN in a bias: refused");
	ok(strstr(dg_errmsg(), "params/enc.fc1.b holds nan at element 3") != NULL,
	   "  naming the member and the element (%s)", dg_errmsg());
	snprintf(path, sizeof path, "%s/images.dgt", tmp);
	struct dg_train_config cfg = {.device = "cpu"};
	is_int(dg_dataset_open(path, NULL, &ds), 0, "the training images");
	is_int(dg_trainer_resume(ck, ds, &cfg, &t), DG_EDATA, "--resume refuses it too");
	setenv("DG_ALLOW_NONFINITE", "1", 1);
	is_int(dg_inference_open(ck, NULL, &inf), 0, "DG_ALLOW_NONFINITE=1 loads it");
	dg_inference_free(inf);
	is_int(dg_trainer_resume(ck, ds, &cfg, &t), 0, "  and resumes it");
	unsetenv("DG_ALLOW_NONFINITE");
	is_int(t ? dg_trainer_checkpoint(t, &out) : -1, DG_EDATA, "but a run does not save it");
	ok(strstr(dg_errmsg(), "not saved: the last checkpoint is kept") &&
		   strstr(dg_errmsg(), "params/enc.fc1.b holds nan"),
	   "  saying which and why (%s)", dg_errmsg());
	dg_checkpoint_free(out);
	dg_trainer_free(t);
	dg_dataset_close(ds);
}

int main(void)
{
	const char *src = getenv("DG_SRC"), *build = getenv("DG_BUILD"), *cc = getenv("CC");
	char cmd[4096], path[600];
	struct dg_device_info dev;

	if (!src || !build) {
		printf("1..0 # SKIP DG_SRC and DG_BUILD are set by make check\n");
		return 0;
	}
	if (!mkdtemp(tmp)) {
		printf("Bail out! no temporary directory\n");
		return 1;
	}
	snprintf(cmd, sizeof cmd,
		 "%s -std=c11 -Wall -Wextra -Werror -shared -fPIC -I'%s/libcore/include' "
		 "-o '%s/dg-canvas.so' '%s/tests/data/plugin/canvas.c' -L'%s/lib' -ldg "
		 "-Wl,-rpath,'%s/lib'", cc && *cc ? cc : "cc", src, tmp, src, build, build);
	snprintf(path, sizeof path, "%s/images.dgt", tmp);
	if (system(cmd) != 0 || write_images(path)) {
		printf("Bail out! cannot build the canvas plugin or its data\n");
		return 1;
	}
	snprintf(cmd, sizeof cmd, "%s:%s/lib/dg", tmp, build);
	setenv("DG_PLUGIN_PATH", cmd, 1);

	static const char *const vae_sets[] = {"hidden=8", "latent=2", NULL};
	static const char *const ae_sets[] = {"hidden=8", "latent=2", NULL};
	struct dg_checkpoint *canvas = train("canvas", NULL), *vae = train("vae", vae_sets);
	struct dg_checkpoint *ae = train("ae", ae_sets);
	if (!canvas || !vae || !ae) {
		printf("Bail out! cannot train the models\n");
		return 1;
	}
	test_steps(canvas, "cpu");
	test_vae(vae, "cpu");
	test_refusal(ae, "cpu");
	if (!dg_device_select("vulkan", &dev)) {
		test_steps(canvas, "vulkan");
		test_vae(vae, "vulkan");
	} else {
		diag("no Vulkan device: %s", dg_errmsg());
		ok(0, "a Vulkan device (lavapipe) for the tests");
	}
	test_nonfinite(vae);
	dg_checkpoint_free(canvas);
	dg_checkpoint_free(vae);
	dg_checkpoint_free(ae);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		diag("could not remove %s", tmp);
	return done_testing();
}
