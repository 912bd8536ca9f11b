/* t_pixel_causal.c — causality of the autoregressive families, pixelcnn
 * (plugins/pixelcnn.c) and pixelrnn (plugins/pixelrnn.c): the property
 * that catches blind spots and leaks of autoregressive models.
 *
 * For each architecture (PixelCNN, Gated PixelCNN; Row LSTM, Diagonal
 * BiLSTM) and likelihood, the family is loaded as dg-train loads it, built
 * with random weights on 8×12 images (not square, so that rows and columns
 * cannot be confused), and its one-step-ahead predictions (translate(): a
 * function of each pixel's logits) are computed for a random image; then
 * one pixel i is changed at a time and the predictions computed again.
 * Every prediction at a pixel at or before i in raster order must stay
 * exactly what it was (a model that sees its own pixel or a later one
 * fails: a first layer masked 'B' instead of 'A', a vertical stack fed to
 * the horizontal one unshifted), some prediction after i must change (a
 * model that sees nothing passes the first check), and the batch's other
 * image must not move at all.  Then the shape of the context: the Diagonal
 * BiLSTM sees the rows above in full (a change two rows up at the right
 * edge reaches the first pixel of the row, through the right-to-left
 * direction, shifted down), which the Row LSTM's triangle does not; Gated
 * PixelCNN sees the pixel four columns to the right in the row above,
 * which the masked PixelCNN's blind spot hides from it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"
#include "tap.h"

#define N 2
#define HH 8
#define WW 12
#define HW (HH * WW)
/* The cpu device computes a position from the same values in the same
 * order whatever the other positions hold, so "unchanged" is bit for bit
 * and any difference at all is a dependence (at random initial weights a
 * far pixel's influence, through many gates, can be as small as 1e-7). */
#define SAME 0.0

struct model {
	const struct dg_family *f;
	struct dg_hparams *hp;
	struct dg_graph *g;
	struct dg_model m;
	struct dg_exec *e;
	int built;
};

static int open_model(struct model *md, const char *family, const char *const *sets)
{
	memset(md, 0, sizeof *md);
	int st = dg_family_load(family, &md->f) || dg_hparams_new(md->f, &md->hp);
	for (size_t i = 0; sets[i] && !st; i++)
		st = dg_hparams_set(md->hp, sets[i]);
	if (st)
		return st;
	md->g = dg_graph_new(7);
	struct dg_model_spec spec = {.channels = 1, .height = HH, .width = WW, .batch = N};
	if ((st = dg_model_build(md->f, &md->m, md->g, md->hp, &spec)))
		return st;
	md->built = 1;
	dg_tensor x = dg_input(md->g, "probe", DG_F32, DG_SHAPE(N, 1, HH, WW)), out;
	if ((st = md->f->translate(&md->m, x, DG_NONE, &out)))
		return st;
	return dg_compile(md->g, "cpu", 1, &out, 0, NULL, &md->e);
}

static void close_model(struct model *md)
{
	dg_exec_free(md->e);
	if (md->built)
		dg_model_release(md->f, &md->m);
	dg_graph_free(md->g);
	dg_hparams_free(md->hp);
}

static int predict(struct model *md, const float *x, float *out)
{
	return dg_exec_feed(md->e, "probe", DG_F32, x, N * HW) || dg_exec_run(md->e) ||
	       dg_exec_read(md->e, 0, out, N * HW);
}

/* Changes pixel p of image 0: a binary pixel flips, an 8-bit one moves
 * by half the range. */
static float perturbed(float v, int categorical)
{
	if (!categorical)
		return v > 0.5f ? 0 : 1;
	return v < 0.5f ? v + 0.5f : v - 0.5f;
}

/* Where a change at pixel (r + di, c + dj) must (reach) or must not reach
 * the prediction at (r, c). */
struct reach {
	int r, c, di, dj, reach;
	const char *why;
};

static void check(const char *label, const char *family, const char *const *sets,
		  int categorical, const struct reach *rc)
{
	struct model md;
	float x[N * HW], y[N * HW], base[N * HW], got[N * HW];
	unsigned seed = 12345;
	if (!ok(open_model(&md, family, sets) == 0, "%s: builds and compiles translate()", label)) {
		diag("  %s", dg_errmsg());
		close_model(&md);
		return;
	}
	for (int i = 0; i < N * HW; i++) {
		seed = seed * 1103515245u + 12345u;
		float u = (float)((seed >> 8) & 0xffff) / 65536.0f;
		x[i] = categorical ? roundf(u * 255) / 255 : (u > 0.5f);
	}
	if (!ok(predict(&md, x, base) == 0, "%s: predictions of a random image", label)) {
		close_model(&md);
		return;
	}
	double worst_before = 0, worst_other = 0;
	int missed = -1, all_moved = 1;
	for (int p = 0; p < HW; p++) {
		memcpy(y, x, sizeof x);
		y[p] = perturbed(x[p], categorical);
		if (predict(&md, y, got)) {
			ok(0, "%s: predictions with pixel %d changed", label, p);
			break;
		}
		double before = 0, after = 0, other = 0;
		for (int q = 0; q < HW; q++) {
			double d = fabs((double)got[q] - base[q]);
			if (q <= p)
				before = fmax(before, d);
			else
				after = fmax(after, d);
			other = fmax(other, fabs((double)got[HW + q] - base[HW + q]));
		}
		worst_before = fmax(worst_before, before);
		worst_other = fmax(worst_other, other);
		if (before > SAME && missed < 0)
			missed = p;
		if (p < HW - 1 && !(after > 0))
			all_moved = 0;
	}
	ok(worst_before <= SAME, "%s: changing pixel i moves no prediction at pixels <= i "
	   "(largest change %.3g over all %d pixels%s)", label, worst_before, HW,
	   missed >= 0 ? ", first leak below" : "");
	if (missed >= 0)
		diag("  first leak: pixel %d (row %d, column %d)", missed, missed / WW, missed % WW);
	ok(all_moved, "%s: changing any pixel but the last moves some later prediction", label);
	ok(worst_other == 0, "%s: the batch's other image never moves (%.3g)", label, worst_other);

	/* the shape of the context */
	int src = (rc->r + rc->di) * WW + rc->c + rc->dj, dst = rc->r * WW + rc->c;
	memcpy(y, x, sizeof x);
	y[src] = perturbed(x[src], categorical);
	double d = predict(&md, y, got) ? NAN : fabs((double)got[dst] - base[dst]);
	ok(rc->reach ? d > 0 : d == 0, "%s: pixel (%d, %d) %s pixel (%d, %d) (change %.3g): %s",
	   label, rc->r + rc->di, rc->c + rc->dj, rc->reach ? "reaches" : "does not reach",
	   rc->r, rc->c, d, rc->why);
	close_model(&md);
}

int main(void)
{
	if (!getenv("DG_PLUGIN_PATH")) {
		printf("1..0 # SKIP DG_PLUGIN_PATH is set by make check\n");
		return 0;
	}
	static const char *const row[] = {"arch=row", "hidden=8", "layers=2", "head=8", NULL};
	static const char *const row5[] = {"arch=row", "hidden=6", "layers=1", "kernel=5",
					   "head=8", "likelihood=categorical", NULL};
	static const char *const diag2[] = {"arch=diagonal", "hidden=8", "layers=2", "head=8",
					    NULL};
	static const char *const diagc[] = {"arch=diagonal", "hidden=4", "layers=1", "head=6",
					    "likelihood=categorical", NULL};
	static const char *const cnn[] = {"features=8", "layers=2", "out_hidden=8",
					  "binarize=0.5", NULL};
	static const char *const cnn8[] = {"features=6", "layers=1", "out_hidden=6", NULL};
	static const char *const gated[] = {"arch=gated", "features=6", "layers=2",
					    "out_hidden=8", "binarize=0.5", NULL};
	static const char *const gated8[] = {"arch=gated", "features=4", "layers=3",
					     "out_hidden=4", NULL};
	const struct reach full = {HH - 1, 0, -2, WW - 1, 1, "the right-to-left direction "
				   "sees the rows above in full"};
	const struct reach triangle = {HH - 1, 0, -2, WW - 1, 0, "the Row LSTM's triangular field"};
	const struct reach blind = {5, 4, -1, 4, 0, "the masked PixelCNN's blind spot"};
	const struct reach seen = {5, 4, -1, 4, 1, "Gated PixelCNN's vertical stack has no "
				   "blind spot"};
	check("row, 2 layers, bernoulli", "pixelrnn", row, 0, &triangle);
	check("row, k=5, categorical", "pixelrnn", row5, 1, &triangle);
	check("diagonal, 2 layers, bernoulli", "pixelrnn", diag2, 0, &full);
	check("diagonal, categorical", "pixelrnn", diagc, 1, &full);
	check("pixelcnn, 2 blocks, binarized", "pixelcnn", cnn, 0, &blind);
	check("pixelcnn, 256 levels", "pixelcnn", cnn8, 1, &blind);
	check("gated, 2 layers, binarized", "pixelcnn", gated, 0, &seen);
	check("gated, 3 layers, 256 levels", "pixelcnn", gated8, 1, &seen);
	return done_testing();
}
