/* graph/resample.c — the resample op's tables, its adjoint, and the
 * public functions built on it: bilinear upsampling and reflection and
 * replication padding.
 *
 * The op resamples the last two axes (H, W) of a tensor of rank >= 2,
 * plane by plane.  Its table (an f32 constant, input 1) holds a header of
 * two pairs (taps, offset), for H then W — taps 0: the axis is copied —
 * and at each offset, for each output coordinate of that axis, taps pairs
 * (source index, weight), index -1 for none.  Output (i, j) of a plane is
 * Σ_a Σ_b wh[i,a]·ww[j,b]·x[ih[i,a], iw[j,b]]: separable maps, such as
 * bilinear interpolation (two taps each way) or a padding (one tap).  The
 * adjoint is a resample by the transposed maps, built here from the
 * constant when autograd asks. */
#include <stdlib.h>
#include <string.h>
#include "graph/graph_impl.h"

#define T(id) ((dg_tensor){(id)})

uint32_t dg__resample(struct dg_graph *g, uint32_t x, const struct dg_axis_map maps[2])
{
	uint64_t dims[DG_MAX_RANK], n = 4, off = 4;
	int64_t ia[2 * DG_MAX_RANK] = {0};

	if (g->status)
		return 0;
	const struct dg_node *xn = &g->nodes[x];
	unsigned r = xn->rank;
	if (r < 2) {
		dg__fail(g, DG_EUSAGE, "resample: want rank >= 2");
		return 0;
	}
	memcpy(dims, xn->dims, sizeof dims);
	for (unsigned a = 0; a < 2; a++) {
		if (maps[a].taps)
			dims[r - 2 + a] = maps[a].out;
		n += 2 * (uint64_t)maps[a].taps * maps[a].out;
	}
	float *t = calloc(n, sizeof *t);
	if (!t) {
		dg__fail(g, DG_ENOMEM, "resample: out of memory for a table of %llu",
			 (unsigned long long)n);
		return 0;
	}
	for (unsigned a = 0; a < 2; a++) {
		uint64_t len = 2 * (uint64_t)maps[a].taps * maps[a].out;
		t[2 * a] = (float)maps[a].taps;
		t[2 * a + 1] = maps[a].taps ? (float)off : 0;
		if (len)
			memcpy(t + off, maps[a].t, len * sizeof *t);
		off += len;
	}
	uint64_t td[1] = {n};
	uint32_t in[2] = {x, dg_constant(g, 1, td, t).id};
	free(t);
	dg__pack_shape(ia, r, dims);
	return dg__op(g, OP_RESAMPLE, 2, in, ia, 1 + r, NULL, 0);
}

/* The transpose of one axis's map (out coordinates -> in): for each input
 * coordinate, the output coordinates that read it with a weight other
 * than 0, in order. */
static float *transpose(const float *t, unsigned taps, uint64_t out, uint64_t in,
			unsigned *taps_t)
{
	unsigned *cnt = calloc(in ? in : 1, sizeof *cnt), most = 0;
	float *r = NULL;

	if (!cnt)
		return NULL;
	for (uint64_t j = 0; j < out * taps; j++)
		if (t[2 * j] >= 0 && t[2 * j + 1] != 0 && ++cnt[(uint64_t)t[2 * j]] > most)
			most = cnt[(uint64_t)t[2 * j]];
	most = most ? most : 1;
	if ((r = malloc(2 * in * most * sizeof *r))) {
		for (uint64_t j = 0; j < in * most; j++) {
			r[2 * j] = -1;
			r[2 * j + 1] = 0;
		}
		memset(cnt, 0, in * sizeof *cnt);
		for (uint64_t j = 0; j < out * taps; j++) {
			if (t[2 * j] < 0 || t[2 * j + 1] == 0)
				continue;
			uint64_t i = (uint64_t)t[2 * j], slot = i * most + cnt[i]++;
			r[2 * slot] = (float)(j / taps);
			r[2 * slot + 1] = t[2 * j + 1];
		}
	}
	free(cnt);
	*taps_t = most;
	return r;
}

uint32_t dg__resample_adjoint(struct dg_graph *g, uint32_t id, uint32_t gy)
{
	struct dg_axis_map maps[2] = {{0}};
	float *owned[2] = {0};
	uint32_t r = 0;

	if (g->status)
		return 0;
	const struct dg_node *y = &g->nodes[id], *x = &g->nodes[y->in[0]];
	const float *tab = g->nodes[y->in[1]].cdata;
	for (unsigned a = 0; a < 2; a++) {
		unsigned taps = (unsigned)tab[2 * a], k = y->rank - 2 + a;
		if (!taps)
			continue;
		owned[a] = transpose(tab + (uint64_t)tab[2 * a + 1], taps, y->dims[k], x->dims[k],
				     &maps[a].taps);
		maps[a].out = x->dims[k];
		maps[a].t = owned[a];
		if (!owned[a]) {
			dg__fail(g, DG_ENOMEM, "resample: out of memory for an adjoint table");
			goto out;
		}
	}
	r = dg__resample(g, gy, maps);
out:
	free(owned[0]);
	free(owned[1]);
	return r;
}

/* ---- public functions ------------------------------------------------------ */

/* Bilinear interpolation by f along an axis of n, align_corners=false:
 * output i samples (i + 1/2)/f - 1/2, clamped to the first element below,
 * from its two neighbours (the last one twice at the far edge). */
static float *bilinear(uint64_t n, unsigned f)
{
	float *t = malloc(4 * n * f * sizeof *t);
	for (uint64_t i = 0; t && i < n * f; i++) {
		double src = ((double)i + 0.5) / f - 0.5;
		src = src < 0 ? 0 : src;
		uint64_t i0 = (uint64_t)src, i1 = i0 + (i0 < n - 1);
		double l = src - (double)i0;
		t[4 * i] = (float)i0;
		t[4 * i + 1] = (float)(1 - l);
		t[4 * i + 2] = (float)i1;
		t[4 * i + 3] = (float)l;
	}
	return t;
}

/* Padding of an axis of n by before and after: reflected about the edge
 * elements (not repeating them), or the edge elements replicated. */
static float *edge_pad(uint64_t n, uint64_t before, uint64_t after, int reflect)
{
	uint64_t out = n + before + after;
	float *t = malloc(2 * out * sizeof *t);
	for (uint64_t c = 0; t && c < out; c++) {
		int64_t s = (int64_t)c - (int64_t)before, last = (int64_t)n - 1;
		if (reflect)
			s = s < 0 ? -s : s > last ? 2 * last - s : s;
		else
			s = s < 0 ? 0 : s > last ? last : s;
		t[2 * c] = (float)s;
		t[2 * c + 1] = 1;
	}
	return t;
}

/* x resampled on its last two axes by the maps h (height) and w. */
static dg_tensor last_two(struct dg_graph *g, dg_tensor x, const char *what, float *h,
			  unsigned th, uint64_t oh, float *w, unsigned tw, uint64_t ow)
{
	uint32_t y = 0;
	if (!h || !w) {
		dg__fail(g, DG_ENOMEM, "%s: out of memory", what);
	} else {
		struct dg_axis_map maps[2] = {{th, oh, h}, {tw, ow, w}};
		y = dg__resample(g, x.id, maps);
	}
	free(h);
	free(w);
	return T(y);
}

static int image_like(struct dg_graph *g, dg_tensor x, const char *what, uint64_t *h, uint64_t *w)
{
	if (g->status)
		return 0;
	if (!x.id || x.id >= g->nnodes || g->nodes[x.id].rank < 2) {
		dg__fail(g, DG_EUSAGE, "%s: want a tensor of rank >= 2 (N×C×H×W)", what);
		return 0;
	}
	*h = g->nodes[x.id].dims[g->nodes[x.id].rank - 2];
	*w = g->nodes[x.id].dims[g->nodes[x.id].rank - 1];
	return 1;
}

dg_tensor dg_upsample_bilinear(struct dg_graph *g, dg_tensor x, unsigned f)
{
	uint64_t h, w;
	if (!image_like(g, x, "upsample_bilinear", &h, &w))
		return DG_NONE;
	if (g->nodes[x.id].rank != 4 || !f) {
		dg__fail(g, DG_EUSAGE, "upsample_bilinear: want N×C×H×W and a factor >= 1");
		return DG_NONE;
	}
	return last_two(g, x, "upsample_bilinear", bilinear(h, f), 2, h * f, bilinear(w, f), 2,
			w * f);
}

static dg_tensor pad2d(struct dg_graph *g, dg_tensor x, unsigned left, unsigned right,
		       unsigned top, unsigned bottom, int reflect)
{
	const char *what = reflect ? "reflection_pad2d" : "replication_pad2d";
	uint64_t h, w;
	if (!image_like(g, x, what, &h, &w))
		return DG_NONE;
	if (reflect && (left >= w || right >= w || top >= h || bottom >= h)) {
		dg__fail(g, DG_EUSAGE, "%s: padding (%u, %u, %u, %u) must be below the input's "
			 "%llu×%llu", what, left, right, top, bottom, (unsigned long long)h,
			 (unsigned long long)w);
		return DG_NONE;
	}
	return last_two(g, x, what, edge_pad(h, top, bottom, reflect), 1, h + top + bottom,
			edge_pad(w, left, right, reflect), 1, w + left + right);
}

dg_tensor dg_reflection_pad2d(struct dg_graph *g, dg_tensor x, unsigned left, unsigned right,
			      unsigned top, unsigned bottom)
{
	return pad2d(g, x, left, right, top, bottom, 1);
}

dg_tensor dg_replication_pad2d(struct dg_graph *g, dg_tensor x, unsigned left, unsigned right,
			       unsigned top, unsigned bottom)
{
	return pad2d(g, x, left, right, top, bottom, 0);
}
