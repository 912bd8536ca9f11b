/* t_causal.c — the causality of PixelCNN's convolutions, checked with
 * gradients on cpu and vulkan: an output of colour group g at pixel (i, j)
 * must not depend on any input at or after (i, j, g) in raster order (row,
 * column, then colour group), which is where the gradient of that output
 * with respect to the image must be exactly zero; and it must depend on
 * what the mask allows (no blind spot where the architecture has none).
 *
 * Each case builds a network of 1×C×H×W images with random weights and a
 * selector s of the output's shape, differentiates Σ s·y with respect to
 * the image, and runs it once per output pixel and colour group with s
 * one there.  A case whose construction is wrong on purpose (the vertical
 * stack added to the horizontal one without its shift) must be caught. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"
#include "tap.h"

enum { H = 5, W = 6 };

/* Raster order: what (i, j, g) may see of (ii, jj, gg); "B" allows its
 * own colour group and those before it at its own pixel. */
static int allowed(int i, int j, int g, int ii, int jj, int gg, int b)
{
	if (ii != i)
		return ii < i;
	if (jj != j)
		return jj < j;
	return b ? gg <= g : gg < g;
}

struct net {
	struct dg_graph *g;
	dg_tensor x, y;
	unsigned c, oc, groups;
	int mask_b;             /* the whole network's own-pixel rule is 'B' */
	const char *name;
	/* Where the output at an interior pixel must see the input, relative
	 * to the pixel (rows, columns), to show there is no blind spot. */
	int reach_di, reach_dj;
};

static dg_tensor param(struct dg_graph *g, const char *name, uint64_t o, uint64_t c,
		       uint64_t kh, uint64_t kw)
{
	return dg_param(g, name, DG_SHAPE(o, c, kh, kw), (struct dg_init){DG_INIT_NORMAL, 1, 0}, 0);
}

static dg_tensor shift_down(struct dg_graph *g, dg_tensor v)
{
	uint64_t before[4] = {0, 0, 1, 0}, after[4] = {0};
	return dg_slice(g, dg_pad(g, v, before, after, 0), 2, 0, H);
}

/* Gated PixelCNN, two layers (van den Oord et al. 2016, fig. 2): vertical
 * stacks 2×3 (rows above and the own row), horizontal stacks 1×2 'A' then
 * 'B' with RGB groups, the vertical stack feeding the horizontal one
 * shifted down a row, or (wrong) not shifted. */
static dg_tensor gated_pixelcnn(struct dg_graph *g, dg_tensor x, int shifted)
{
	struct dg_conv one = {0};
	dg_tensor v = x, h = x;
	const unsigned f = 6;   /* features of each half, two per colour */
	for (int l = 0; l < 2; l++) {
		char nm[32];
		unsigned cin = l ? f : 3;
		snprintf(nm, sizeof nm, "v%d", l);
		dg_tensor vo = dg_causal_conv2d(g, v, param(g, nm, 2 * f, cin, 2, 3), DG_NONE,
						DG_CAUSAL_VERTICAL, 0);
		snprintf(nm, sizeof nm, "v2h%d", l);
		dg_tensor down = shifted ? shift_down(g, vo) : vo;
		dg_tensor v2h = dg_conv2d(g, down, param(g, nm, 2 * f, 2 * f, 1, 1), DG_NONE, &one);
		enum dg_causal hk = l ? DG_CAUSAL_HORIZONTAL_B : DG_CAUSAL_HORIZONTAL_A;
		/* Each half of the gate in colour groups of its own, so that
		 * channel k of the tanh half pairs with channel k of the other. */
		snprintf(nm, sizeof nm, "ha%d", l);
		dg_tensor ha = dg_causal_conv2d(g, h, param(g, nm, f, cin, 1, 2), DG_NONE, hk, 3);
		snprintf(nm, sizeof nm, "hb%d", l);
		dg_tensor hb = dg_causal_conv2d(g, h, param(g, nm, f, cin, 1, 2), DG_NONE, hk, 3);
		dg_tensor hz = dg_add(g, dg_concat(g, ha, hb, 1), v2h);
		/* v2h mixes colours, but only from rows above. */
		v = dg_gated_activation(g, vo, 1);
		h = dg_gated_activation(g, hz, 1);
	}
	return dg_causal_conv2d(g, h, param(g, "out", 3, f, 1, 1), DG_NONE,
				DG_CAUSAL_HORIZONTAL_B, 3);
}

enum { MASKED_A, MASKED_B_RGB, MASKED_A_RGB, GATED, GATED_UNSHIFTED, VERTICAL_SHIFTED };

static int build(struct net *n, int kind)
{
	struct dg_conv pad2 = {1, 2, 1, 0};
	struct dg_graph *g = dg_graph_new(7);
	*n = (struct net){.g = g, .c = kind == MASKED_A ? 2 : 3, .groups = kind == MASKED_A ? 1 : 3};
	n->x = dg_input(g, "x", DG_F32, DG_SHAPE(1, n->c, H, W));
	switch (kind) {
	case MASKED_A:
		n->name = "masked_conv2d 'A' 5×5";
		n->oc = 3;
		n->y = dg_masked_conv2d(g, n->x, param(g, "w", 3, 2, 5, 5), DG_NONE, &pad2, 'A', 1);
		n->reach_di = -2, n->reach_dj = 2;
		break;
	case MASKED_B_RGB:
		n->name = "masked_conv2d 'B' 5×5, RGB";
		n->oc = 6, n->mask_b = 1;
		n->y = dg_masked_conv2d(g, n->x, param(g, "w", 6, 3, 5, 5), DG_NONE, &pad2, 'B', 3);
		n->reach_di = -1, n->reach_dj = -2;
		break;
	case MASKED_A_RGB:
		n->name = "masked_conv2d 'A' 5×5, RGB";
		n->oc = 6;
		n->y = dg_masked_conv2d(g, n->x, param(g, "w", 6, 3, 5, 5), DG_NONE, &pad2, 'A', 3);
		n->reach_di = 0, n->reach_dj = -2;
		break;
	case GATED:
	case GATED_UNSHIFTED:
		n->name = kind == GATED ? "Gated PixelCNN, 2 layers, RGB"
					: "Gated PixelCNN without the vertical shift";
		n->oc = 3;
		n->y = gated_pixelcnn(g, n->x, kind == GATED);
		/* The vertical stacks see two columns either side of the row
		 * above: the up-right pixel a masked-conv PixelCNN misses. */
		n->reach_di = -1, n->reach_dj = 2;
		break;
	case VERTICAL_SHIFTED:
		/* Strictly the rows above: allowed for any colour of the pixel. */
		n->name = "causal_conv2d vertical, shifted, 3×3";
		n->oc = 3;
		n->y = dg_causal_conv2d(g, n->x, param(g, "w", 3, 3, 3, 3), DG_NONE,
					DG_CAUSAL_VERTICAL_SHIFTED, 0);
		n->reach_di = -3, n->reach_dj = 1;
		break;
	}
	return dg_graph_status(g);
}

/* Runs the case on device; returns the number of (output, input) pairs
 * that break causality, and sets *reached if the designated input is seen
 * by an interior output. */
static long check(int kind, const char *device, const char **name, int *reached, int *failed)
{
	struct net n;
	struct dg_exec *e = NULL;
	long bad = 0;
	*reached = 0;
	*failed = 1;
	int st = build(&n, kind);
	*name = n.name;
	if (st) {
		diag("%s: %s", n.name, dg_graph_error(n.g));
		dg_graph_free(n.g);
		return -1;
	}
	struct dg_graph *g = n.g;
	dg_tensor s = dg_input(g, "s", DG_F32, DG_SHAPE(1, n.oc, H, W));
	dg_tensor loss = dg_sum(g, dg_mul(g, n.y, s), DG_AXES_ALL, 0);
	dg_tensor gx = dg_grad(g, loss, n.x);
	uint64_t nx = (uint64_t)n.c * H * W, ny = (uint64_t)n.oc * H * W;
	float *xv = malloc(nx * sizeof *xv), *sv = calloc(ny, sizeof *sv), *gv = malloc(nx * 4);
	for (uint64_t i = 0; i < nx; i++)
		xv[i] = (float)sin(1.7 * (double)i + 0.3);
	if (dg_compile(g, device, 1, &gx, 0, NULL, &e) ||
	    dg_exec_feed(e, "x", DG_F32, xv, nx)) {
		diag("%s: %s", n.name, dg_errmsg());
		goto out;
	}
	unsigned ocg = n.oc / n.groups, cg = n.c / n.groups;
	for (int i = 0; i < H; i++)
		for (int j = 0; j < W; j++)
			for (unsigned og = 0; og < n.groups; og++) {
				memset(sv, 0, ny * sizeof *sv);
				for (unsigned k = 0; k < ocg; k++)
					sv[((og * ocg + k) * H + (unsigned)i) * W + (unsigned)j] = 1;
				if (dg_exec_feed(e, "s", DG_F32, sv, ny) || dg_exec_run(e) ||
				    dg_exec_read(e, 0, gv, nx)) {
					diag("%s: %s", n.name, dg_errmsg());
					goto out;
				}
				for (unsigned c = 0; c < n.c; c++)
					for (int ii = 0; ii < H; ii++)
						for (int jj = 0; jj < W; jj++) {
							float v = gv[(c * H + (unsigned)ii) * W + (unsigned)jj];
							if (v != 0 && !allowed(i, j, (int)og, ii, jj,
									       (int)(c / cg), n.mask_b))
								bad++;
							if (v != 0 && i == 3 && j == 2 &&
							    ii == i + n.reach_di && jj == j + n.reach_dj)
								*reached |= 1;
							/* the last colour at its own pixel sees the one
							 * before it ('A') or itself ('B') */
							if (v != 0 && i == 3 && j == 2 && ii == i && jj == j &&
							    og == n.groups - 1 &&
							    c / cg == og - !n.mask_b)
								*reached |= 2;
						}
			}
	*failed = 0;
out:
	dg_exec_free(e);
	dg_graph_free(g);
	free(xv);
	free(sv);
	free(gv);
	return bad;
}

int main(void)
{
	const char *devices[2] = {"cpu", "vulkan"};
	struct dg_device_info dev;
	int ndev = dg_device_select("vulkan", &dev) ? 1 : 2;

	setenv("LP_NUM_THREADS", "0", 0);
	if (ndev == 1)
		diag("no Vulkan device: %s", dg_errmsg());
	for (int d = 0; d < ndev; d++)
		for (int kind = MASKED_A; kind <= VERTICAL_SHIFTED; kind++) {
			const char *name;
			int reached, failed;
			long bad = check(kind, devices[d], &name, &reached, &failed);
			if (!ok(!failed, "[%s] %s: runs", devices[d], name))
				continue;
			if (kind == GATED_UNSHIFTED) {
				ok(bad > 0, "[%s] %s: caught (%ld dependences on the future)",
				   devices[d], name, bad);
				continue;
			}
			ok(bad == 0, "[%s] %s: no output depends on its own or a later input "
			   "(%ld dependences)", devices[d], name, bad);
			ok(reached & 1, "[%s] %s: the output at (3, 2) sees the input the mask "
			   "allows farthest up or right", devices[d], name);
			if (kind == MASKED_B_RGB || kind == MASKED_A_RGB || kind == GATED)
				ok(reached & 2, "[%s] %s: its blue output sees the %s input of its "
				   "pixel", devices[d], name, kind == MASKED_B_RGB ? "blue" : "green");
		}
	return done_testing();
}
