/* t_train.c — the training loop of dg/train.h, driven through the API
 * with the out-of-tree tiny family (tests/data/plugin/tiny.c, compiled
 * here as a third party would) on a small synthetic stream file.
 *
 * Checks: the loss goes down, the callback sees every iteration and epoch,
 * the checkpoint holds what dg-checkpoint(5) promises, and resuming —
 * after a whole epoch or in the middle of one — gives tensors equal byte
 * for byte to those of an uninterrupted run (cpu backend). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg.h"
#include "tap.h"

static char tmp[] = "/tmp/dg-t-train-XXXXXX";
static char data[600], data_big[600];

static int cc_tiny(const char *src, const char *build)
{
	const char *cc = getenv("CC");
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
		 "%s -std=c11 -Wall -Wextra -Werror -shared -fPIC -I'%s/libcore/include' "
		 "-o '%s/dg-tiny.so' '%s/tests/data/plugin/tiny.c' -L'%s/lib' -ldg "
		 "-Wl,-rpath,'%s/lib'",
		 cc && *cc ? cc : "cc", src, tmp, src, build, build);
	int st = system(cmd);
	if (st)
		diag("failed: %s", cmd);
	return st;
}

/* n images of side×side: smooth blobs with a little seeded noise, so a
 * linear autoencoder has something to learn. */
static int write_data(const char *path, uint64_t n, unsigned side)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return 1;
	struct dg_writer *w = dg_writer_file(f, path);
	struct dg_array *a = dg_array_new(DG_F32, 4, (const uint64_t[]){n, 1, side, side});
	uint32_t r = 12345;
	float *px = a->data;
	for (uint64_t i = 0; i < n; i++)
		for (unsigned y = 0; y < side; y++)
			for (unsigned x = 0; x < side; x++) {
				r = r * 1664525u + 1013904223u;
				float cx = (float)(i % 5), v = expf(-((x - cx) * (x - cx) +
								     (float)(y * y)) / 8.0f);
				*px++ = fminf(1, v + (float)(r >> 8) / 16777216.0f * 0.1f);
			}
	dg_meta_set(a->meta, "space", "image");
	int st = dg_write_array(w, a) || dg_writer_close(w);
	dg_array_free(a);
	return fclose(f) || st;
}

struct seen {
	int iterations, epochs, stop_after;
	double first, last;
};

static int watch(void *ctx, const struct dg_train_progress *p)
{
	struct seen *s = ctx;
	if (p->end_of_epoch) {
		if (s->epochs++ == 0)
			s->first = p->terms[0];
		s->last = p->terms[0];
		return 0;
	}
	s->iterations++;
	return s->stop_after && s->iterations >= s->stop_after;
}

static struct dg_dataset *open_data(const char *path)
{
	struct dg_dataset *ds = NULL;
	if (dg_dataset_open(path, NULL, &ds))
		diag("%s", dg_errmsg());
	return ds;
}

/* Every member of a and b equal: names, order, dtypes, shapes, bytes. */
static int same_tensors(const struct dg_checkpoint *a, const struct dg_checkpoint *b)
{
	size_t n = dg_checkpoint_count(a), tensors = 0;
	if (n != dg_checkpoint_count(b))
		return diag("  %zu members against %zu", n, dg_checkpoint_count(b)), 0;
	for (size_t i = 0; i < n; i++) {
		const struct dg_array *x = dg_checkpoint_tensor_at(a, i);
		const struct dg_array *y = dg_checkpoint_tensor_at(b, i);
		if (strcmp(dg_checkpoint_name_at(a, i), dg_checkpoint_name_at(b, i)))
			return diag("  member %zu: %s against %s", i, dg_checkpoint_name_at(a, i),
				    dg_checkpoint_name_at(b, i)), 0;
		if (!x || !y)
			continue;
		tensors++;
		if (x->dtype != y->dtype || x->rank != y->rank ||
		    memcmp(x->dims, y->dims, sizeof x->dims) ||
		    memcmp(x->data, y->data, dg_array_bytes(x)))
			return diag("  %s differs", dg_checkpoint_name_at(a, i)), 0;
	}
	return tensors > 0;
}

static const struct dg_train_config cfg = {.batch = 16, .lr = 0.02, .seed = 5,
					   .seed_set = 1, .device = "cpu"};

/* A run of epochs epochs from scratch; its checkpoint. */
static struct dg_checkpoint *straight(const struct dg_family *f, const struct dg_hparams *hp,
				      uint64_t epochs, struct seen *s)
{
	struct dg_dataset *ds = open_data(data);
	struct dg_trainer *t = NULL;
	struct dg_checkpoint *ck = NULL;
	int st = ds ? dg_trainer_new(f, hp, ds, &cfg, &t) : 1;
	if (!st)
		st = dg_trainer_run(t, epochs, watch, s, NULL);
	if (!st)
		st = dg_trainer_checkpoint(t, &ck);
	if (st)
		diag("  %s", dg_errmsg());
	dg_trainer_free(t);
	dg_dataset_close(ds);
	return ck;
}

/* Stops after stop_after iterations, saves to a file, reads it back and
 * resumes up to epochs; the final checkpoint. */
static struct dg_checkpoint *interrupted(const struct dg_family *f,
					 const struct dg_hparams *hp, int stop_after,
					 uint64_t epochs)
{
	char path[700];
	struct seen s = {.stop_after = stop_after};
	struct dg_dataset *ds = open_data(data);
	struct dg_trainer *t = NULL;
	struct dg_checkpoint *ck = NULL, *out = NULL;
	snprintf(path, sizeof path, "%s/part.dgm", tmp);
	int st = ds ? dg_trainer_new(f, hp, ds, &cfg, &t) : 1;
	if (!st)
		st = dg_trainer_run(t, epochs, watch, &s, NULL);
	if (!st && dg_trainer_done(t, epochs)) {
		diag("  the run did not stop");
		st = 1;
	}
	if (!st)
		st = dg_trainer_save(t, path, 0);
	dg_trainer_free(t);
	t = NULL;
	if (!st)
		st = dg_checkpoint_read(path, &ck);
	/* a fresh process would give nothing but the device */
	static const struct dg_train_config dev = {.device = "cpu"};
	if (!st)
		st = dg_trainer_resume(ck, ds, &dev, &t);
	if (!st)
		st = dg_trainer_run(t, epochs, NULL, NULL, NULL);
	if (!st)
		st = dg_trainer_checkpoint(t, &out);
	if (st)
		diag("  %s", dg_errmsg());
	dg_trainer_free(t);
	dg_checkpoint_free(ck);
	dg_dataset_close(ds);
	return out;
}

int main(void)
{
	const char *src = getenv("DG_SRC"), *build = getenv("DG_BUILD");
	if (!src || !build) {
		printf("1..0 # SKIP DG_SRC and DG_BUILD are set by make check\n");
		return 0;
	}
	if (!mkdtemp(tmp) || cc_tiny(src, build)) {
		printf("Bail out! cannot build the tiny plugin\n");
		return 1;
	}
	setenv("DG_PLUGIN_PATH", tmp, 1);
	snprintf(data, sizeof data, "%s/d.dgs", tmp);
	snprintf(data_big, sizeof data_big, "%s/big.dgs", tmp);
	if (write_data(data, 100, 6) || write_data(data_big, 100, 7)) {
		printf("Bail out! cannot write the data\n");
		return 1;
	}

	const struct dg_family *f;
	struct dg_hparams *hp;
	if (dg_family_load("tiny", &f) || dg_hparams_new(f, &hp)) {
		printf("Bail out! %s\n", dg_errmsg());
		return 1;
	}
	dg_hparams_set(hp, "hidden=3");

	/* ---- a plain run ---- */
	struct seen s = {0};
	struct dg_checkpoint *a = straight(f, hp, 3, &s);
	ok(a != NULL, "3 epochs of tiny train");
	is_int(s.epochs, 3, "  the callback sees 3 epoch ends");
	is_int(s.iterations, 3 * 6, "  and 6 iterations each (100 images, batch 16, "
	       "the partial batch dropped)");
	ok(s.last < s.first, "  the loss goes down (%g -> %g)", s.first, s.last);
	if (a) {
		const struct dg_meta *mf = dg_checkpoint_cmeta(a);
		is_str(dg_checkpoint_family(a), "tiny", "  checkpoint of family tiny");
		is_str(dg_meta_get(mf, "hparam.hidden"), "3", "  hparam.hidden=3");
		is_str(dg_meta_get(mf, "hparam.bias"), "0", "  hparam.bias canonical 0");
		is_str(dg_meta_get(mf, "data_shape"), "1x6x6", "  data_shape");
		is_str(dg_meta_get(mf, "step"), "18", "  step 18");
		is_str(dg_meta_get(mf, "epoch"), "3", "  epoch 3");
		is_str(dg_meta_get(mf, "plugin_abi"), "2", "  plugin_abi");
		ok(dg_checkpoint_tensor(a, "params/enc.w") != NULL, "  params/enc.w");
		ok(dg_checkpoint_tensor(a, "optim/enc.w.m") != NULL, "  optim/enc.w.m (Adam)");
		ok(dg_checkpoint_tensor(a, "optim/graph.runs") != NULL, "  optim/graph.runs");
		size_t len = 0;
		const char *log = dg_checkpoint_bytes(a, "log.csv", &len);
		static const char head[] = "epoch,step,loss,rec,images_per_s\n";
		ok(log && strncmp(log, head, sizeof head - 1) == 0,
		   "  log.csv header");
		int lines = 0;
		for (size_t i = 0; log && i < len; i++)
			lines += log[i] == '\n';
		is_int(lines, 4, "  and 3 epoch lines");
	}

	/* ---- exact resume ---- */
	struct dg_checkpoint *b = interrupted(f, hp, 6, 3);
	ok(b && a && same_tensors(a, b), "stopped after epoch 1 and resumed: equal tensors");
	dg_checkpoint_free(b);
	b = interrupted(f, hp, 8, 3);
	ok(b && a && same_tensors(a, b), "stopped mid-epoch 2 and resumed: equal tensors");
	if (b)
		is_str(dg_meta_get(dg_checkpoint_cmeta(b), "step"), "18", "  step 18 again");
	dg_checkpoint_free(b);

	/* ---- snapshots ---- */
	{
		struct dg_dataset *ds = open_data(data);
		struct dg_trainer *t = NULL;
		struct dg_train_config sc = cfg;
		struct dg_array *smp = NULL, *rec = NULL;
		sc.snapshot = 64;
		int st = ds ? dg_trainer_new(f, hp, ds, &sc, &t) : 1;
		is_int(st, 0, "a trainer with snapshots");
		if (!st) {
			is_int(dg_trainer_snapshot(t, &smp, &rec), 0, "  snapshot before training");
			ok(smp == NULL, "  no samples from a family without prior");
			ok(rec && rec->rank == 4 && rec->dims[0] == 128 && rec->dims[3] == 6,
			   "  64 originals and 64 reconstructions");
			ok(rec && memcmp(rec->data, (float *)rec->data + 8 * 36, 8 * 36 * 4) != 0,
			   "  the second row differs from the first");
			dg_array_free(rec);
			struct dg_checkpoint *c = NULL;
			st = dg_trainer_run(t, 3, NULL, NULL, NULL) ||
			     dg_trainer_snapshot(t, &smp, &rec) || dg_trainer_checkpoint(t, &c);
			double v[DG_MAX_TERMS];
			unsigned nv = 0;
			struct dg_dataset *vs = open_data(data);
			ok(vs && dg_trainer_set_validation(t, vs) == 0 &&
			   dg_trainer_validate(t, v, &nv) == 0 && nv == 2 && isfinite(v[0]) &&
			   v[0] == v[1], "  validation gives the two terms (%g)", v[0]);
			ok(!st && c && a && same_tensors(a, c), "  training around snapshots is unchanged");
			dg_checkpoint_free(c);
			c = NULL;
			dg_trainer_checkpoint(t, &c);
			ok(c && a && same_tensors(a, c), "  and validating changes nothing either");
			dg_dataset_close(vs);
			dg_array_free(rec);
			dg_checkpoint_free(c);
		}
		dg_trainer_free(t);
		dg_dataset_close(ds);
	}

	/* ---- refusals ---- */
	struct dg_dataset *ds = open_data(data);
	struct dg_trainer *t = NULL;
	struct dg_train_config big = cfg;
	big.batch = 101;
	is_int(dg_trainer_new(f, hp, ds, &big, &t), DG_EUSAGE, "a batch larger than the set");
	ok(strstr(dg_errmsg(), "fewer than one batch") != NULL, "  says so");
	dg_dataset_close(ds);
	ds = open_data(data_big);
	is_int(a ? dg_trainer_resume(a, ds, NULL, &t) : -1, DG_EDATA,
	       "resuming on images of another shape");
	ok(strstr(dg_errmsg(), "7x7") != NULL, "  names the shapes");
	dg_dataset_close(ds);

	dg_checkpoint_free(a);
	dg_hparams_free(hp);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd))
		diag("could not remove %s", tmp);
	return done_testing();
}
