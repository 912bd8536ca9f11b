/* graph/infer.c — shape inference: each op's output dtype and shape from
 * its inputs and attributes (the op list names the rule of each op), with
 * a message naming what does not fit. */
#include <string.h>
#include "graph/graph_impl.h"

static const struct dg_node *IN(struct dg_graph *g, const struct dg_node *n, int i)
{
	return &g->nodes[n->in[i]];
}

static int need_f32(struct dg_graph *g, const struct dg_node *n, int i)
{
	if (IN(g, n, i)->dtype != DG_F32)
		return dg_error(DG_EUSAGE, "input %d is %s, not f32 (use dg_cast)", i,
				dg_dtype_name(IN(g, n, i)->dtype));
	return DG_OK;
}

static void copy_shape(struct dg_node *n, const struct dg_node *from)
{
	n->rank = from->rank;
	memcpy(n->dims, from->dims, sizeof n->dims);
}

int dg__infer_none(struct dg_graph *g, struct dg_node *n)
{
	(void)g;
	(void)n;
	return dg_error(DG_EINTERNAL, "a leaf is not built by dg__op");
}

int dg__infer_unary(struct dg_graph *g, struct dg_node *n)
{
	copy_shape(n, IN(g, n, 0));
	return need_f32(g, n, 0);
}

int dg__infer_cast(struct dg_graph *g, struct dg_node *n)
{
	copy_shape(n, IN(g, n, 0));
	return DG_OK;
}

int dg__broadcast(unsigned ra, const uint64_t *a, unsigned rb, const uint64_t *b,
		  unsigned *r, uint64_t *out)
{
	unsigned rank = ra > rb ? ra : rb;
	for (unsigned i = 0; i < rank; i++) {
		uint64_t da = i < rank - ra ? 1 : a[i - (rank - ra)];
		uint64_t db = i < rank - rb ? 1 : b[i - (rank - rb)];
		if (da != db && da != 1 && db != 1) {
			char sa[128], sb[128];
			return dg_error(DG_EUSAGE, "shapes %s and %s do not broadcast",
					dg_shape_format(sa, sizeof sa, ra, a),
					dg_shape_format(sb, sizeof sb, rb, b));
		}
		out[i] = da == 1 ? db : da;
	}
	*r = rank;
	return DG_OK;
}

int dg__infer_binary(struct dg_graph *g, struct dg_node *n)
{
	unsigned r = 0;
	uint64_t d[DG_MAX_RANK] = {0};   /* dims past the rank stay 0 */
	int st;

	copy_shape(n, IN(g, n, 0));
	for (unsigned i = 0; i < n->nin; i++) {
		if ((st = need_f32(g, n, i)))
			return st;
		if (i == 0)
			continue;
		if ((st = dg__broadcast(n->rank, n->dims, IN(g, n, i)->rank, IN(g, n, i)->dims, &r, d)))
			return st;
		n->rank = (uint8_t)r;
		memcpy(n->dims, d, sizeof d);
	}
	return DG_OK;
}

static void unpack_shape(struct dg_node *n, const int64_t *ia)
{
	n->rank = (uint8_t)ia[0];
	memset(n->dims, 0, sizeof n->dims);
	for (unsigned i = 0; i < n->rank; i++)
		n->dims[i] = (uint64_t)ia[1 + i];
}

int dg__infer_reduce_to(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *x = IN(g, n, 0);
	unpack_shape(n, n->ia);
	if (n->rank != x->rank)
		return dg_error(DG_EUSAGE, "target rank %u differs from input rank %u",
				n->rank, x->rank);
	for (unsigned i = 0; i < n->rank; i++)
		if (n->dims[i] != x->dims[i] && n->dims[i] != 1)
			return dg_error(DG_EUSAGE, "axis %u: cannot reduce %llu to %llu", i,
					(unsigned long long)x->dims[i], (unsigned long long)n->dims[i]);
	return need_f32(g, n, 0);
}

int dg__infer_expand(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *x = IN(g, n, 0);
	unpack_shape(n, n->ia);
	if (n->rank < x->rank)
		return dg_error(DG_EUSAGE, "cannot expand rank %u to rank %u", x->rank, n->rank);
	unsigned off = n->rank - x->rank;
	for (unsigned i = 0; i < x->rank; i++)
		if (x->dims[i] != n->dims[off + i] && x->dims[i] != 1)
			return dg_error(DG_EUSAGE, "axis %u: cannot expand %llu to %llu", i,
					(unsigned long long)x->dims[i],
					(unsigned long long)n->dims[off + i]);
	return need_f32(g, n, 0);
}

int dg__infer_reshape(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *x = IN(g, n, 0);
	uint64_t c = 1;
	unpack_shape(n, n->ia);
	for (unsigned i = 0; i < n->rank; i++)
		c *= n->dims[i];
	if (c != x->count)
		return dg_error(DG_EUSAGE, "%llu elements cannot be reshaped to %llu",
				(unsigned long long)x->count, (unsigned long long)c);
	n->dtype = x->dtype;
	return DG_OK;
}

int dg__infer_permute(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *x = IN(g, n, 0);
	unsigned seen = 0;
	n->rank = x->rank;
	for (unsigned i = 0; i < x->rank; i++) {
		int64_t p = n->ia[i];
		if (p < 0 || p >= x->rank || (seen & (1u << p)))
			return dg_error(DG_EUSAGE, "not a permutation of %u axes", x->rank);
		seen |= 1u << p;
		n->dims[i] = x->dims[p];
	}
	return need_f32(g, n, 0);
}

int dg__infer_slice(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *x = IN(g, n, 0);
	n->rank = x->rank;
	for (unsigned i = 0; i < x->rank; i++) {
		int64_t s = n->ia[i], len = n->ia[DG_MAX_RANK + i];
		if (s < 0 || len < 1 || (uint64_t)(s + len) > x->dims[i])
			return dg_error(DG_EUSAGE, "axis %u: [%lld, %lld) outside 0..%llu", i,
					(long long)s, (long long)(s + len),
					(unsigned long long)x->dims[i]);
		n->dims[i] = (uint64_t)len;
	}
	return need_f32(g, n, 0);
}

int dg__infer_pad(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *x = IN(g, n, 0);
	n->rank = x->rank;
	for (unsigned i = 0; i < x->rank; i++) {
		if (n->ia[i] < 0 || n->ia[DG_MAX_RANK + i] < 0)
			return dg_error(DG_EUSAGE, "negative padding");
		n->dims[i] = x->dims[i] + (uint64_t)n->ia[i] + (uint64_t)n->ia[DG_MAX_RANK + i];
	}
	return need_f32(g, n, 0);
}

int dg__infer_resample(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *x = IN(g, n, 0), *t = IN(g, n, 1);
	int st;
	if ((st = need_f32(g, n, 0)))
		return st;
	if (t->op != OP_CONST || t->count < 4)
		return dg_error(DG_EUSAGE, "the table must be a constant");
	unpack_shape(n, n->ia);
	if (n->rank != x->rank || n->rank < 2)
		return dg_error(DG_EUSAGE, "rank %u for an input of rank %u (want >= 2)",
				n->rank, x->rank);
	for (unsigned k = 0; k + 2 < n->rank; k++)
		if (n->dims[k] != x->dims[k])
			return dg_error(DG_EUSAGE, "axis %u: %llu, not the input's %llu", k,
					(unsigned long long)n->dims[k],
					(unsigned long long)x->dims[k]);
	/* The table is checked whole here, so kernels read it blindly. */
	for (unsigned a = 0; a < 2; a++) {
		const float *h = t->cdata + 2 * a;
		unsigned k = n->rank - 2 + a;
		uint64_t taps = (uint64_t)h[0], off = (uint64_t)h[1];
		if (h[0] == 0 && n->dims[k] == x->dims[k])
			continue;
		if (h[0] < 1 || h[0] != (float)taps || h[1] < 4 || h[1] != (float)off ||
		    off + 2 * taps * n->dims[k] > t->count)
			return dg_error(DG_EUSAGE, "axis %u: no map of %llu to %llu in the table", k,
					(unsigned long long)x->dims[k],
					(unsigned long long)n->dims[k]);
		for (uint64_t j = 0; j < taps * n->dims[k]; j++) {
			float i = t->cdata[off + 2 * j];
			if (i != (float)(int64_t)i || i < -1 || i >= (float)x->dims[k])
				return dg_error(DG_EUSAGE, "axis %u: a tap reads %g, outside 0..%llu", k,
						(double)i, (unsigned long long)x->dims[k] - 1);
		}
	}
	return DG_OK;
}

int dg__infer_matmul(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *a = IN(g, n, 0), *b = IN(g, n, 1);
	int st;
	if ((st = need_f32(g, n, 0)) || (st = need_f32(g, n, 1)))
		return st;
	if (a->rank < 2 || a->rank > 3 || b->rank < 2 || b->rank > 3 || b->rank > a->rank)
		return dg_error(DG_EUSAGE, "ranks %u and %u: want matrices, or a batch "
				"times a matrix or a batch", a->rank, b->rank);
	if (a->rank == 3 && b->rank == 3 && a->dims[0] != b->dims[0])
		return dg_error(DG_EUSAGE, "batch sizes %llu and %llu differ",
				(unsigned long long)a->dims[0], (unsigned long long)b->dims[0]);
	if (a->rank == 3 && b->rank == 2 && n->ia[0])
		return dg_error(DG_EUSAGE, "a transposed batch times a shared matrix is not supported");
	unsigned ar = a->rank, br = b->rank;
	uint64_t m = n->ia[0] ? a->dims[ar - 1] : a->dims[ar - 2];
	uint64_t k = n->ia[0] ? a->dims[ar - 2] : a->dims[ar - 1];
	uint64_t kb = n->ia[1] ? b->dims[br - 1] : b->dims[br - 2];
	uint64_t nn = n->ia[1] ? b->dims[br - 2] : b->dims[br - 1];
	if (k != kb)
		return dg_error(DG_EUSAGE, "inner sizes %llu and %llu differ",
				(unsigned long long)k, (unsigned long long)kb);
	n->rank = (uint8_t)ar;
	if (ar == 3)
		n->dims[0] = a->dims[0];
	n->dims[ar - 2] = m;
	n->dims[ar - 1] = nn;
	return DG_OK;
}

int dg__infer_lastaxis(struct dg_graph *g, struct dg_node *n)
{
	copy_shape(n, IN(g, n, 0));
	if (n->rank < 1)
		return dg_error(DG_EUSAGE, "needs rank >= 1");
	return need_f32(g, n, 0);
}

int dg__infer_softmax(struct dg_graph *g, struct dg_node *n)
{
	int st = dg__infer_lastaxis(g, n);
	if (!st && (n->ia[0] < 0 || n->ia[0] >= n->rank))
		return dg_error(DG_EUSAGE, "no axis %lld from the end in a rank-%u tensor",
				(long long)n->ia[0], n->rank);
	return st;
}

/* gate (x) -> x with axis ia0 halved; gate_bwd (x, dy) -> x's shape,
 * dy being gate(x)'s. */
int dg__infer_gate(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *x = IN(g, n, 0);
	int64_t ax = n->ia[0];
	if (ax < 0 || ax >= x->rank || x->dims[ax] % 2)
		return dg_error(DG_EUSAGE, "want an axis of even size (axis %lld of a rank-%u "
				"tensor)", (long long)ax, x->rank);
	copy_shape(n, x);
	if (n->op == OP_GATE_BWD) {
		const struct dg_node *dy = IN(g, n, 1);
		int ok = dy->rank == x->rank;
		for (unsigned i = 0; ok && i < x->rank; i++)
			ok = dy->dims[i] == (i == ax ? x->dims[i] / 2 : x->dims[i]);
		if (!ok)
			return dg_error(DG_EUSAGE, "the gradient's shape is not the gate's output's");
		if (need_f32(g, n, 1))
			return DG_EUSAGE;
	} else {
		n->dims[ax] /= 2;
	}
	return need_f32(g, n, 0);
}

int dg__infer_argmax(struct dg_graph *g, struct dg_node *n)
{
	int st = dg__infer_lastaxis(g, n);
	n->dims[--n->rank] = 0;
	return st;
}

/* Output side of a convolution over an input side padded by lo and hi,
 * 0 if the window does not fit. */
static uint64_t conv_out(uint64_t in, uint64_t k, int64_t s, int64_t lo, int64_t hi, int64_t d)
{
	int64_t span = d * ((int64_t)k - 1) + 1, room = (int64_t)in + lo + hi - span;
	return room < 0 ? 0 : (uint64_t)(room / s + 1);
}

static int conv_check(const int64_t *ca, const uint64_t *x, const uint64_t *w,
		      const uint64_t *y, uint64_t *ok_y)
{
	if (ca[DG_CA_STRIDE] < 1 || ca[DG_CA_DIL] < 1 || ca[DG_CA_TOP] < 0 ||
	    ca[DG_CA_BOTTOM] < 0 || ca[DG_CA_LEFT] < 0 || ca[DG_CA_RIGHT] < 0)
		return dg_error(DG_EUSAGE, "bad stride %lld, dilation %lld or padding %lld %lld "
				"%lld %lld", (long long)ca[DG_CA_STRIDE], (long long)ca[DG_CA_DIL],
				(long long)ca[DG_CA_TOP], (long long)ca[DG_CA_BOTTOM],
				(long long)ca[DG_CA_LEFT], (long long)ca[DG_CA_RIGHT]);
	if (w[1] != x[1])
		return dg_error(DG_EUSAGE, "weight expects %llu channels, input has %llu",
				(unsigned long long)w[1], (unsigned long long)x[1]);
	uint64_t oh = conv_out(x[2], w[2], ca[DG_CA_STRIDE], ca[DG_CA_TOP], ca[DG_CA_BOTTOM],
			       ca[DG_CA_DIL]);
	uint64_t ow = conv_out(x[3], w[3], ca[DG_CA_STRIDE], ca[DG_CA_LEFT], ca[DG_CA_RIGHT],
			       ca[DG_CA_DIL]);
	if (!oh || !ow)
		return dg_error(DG_EUSAGE, "kernel %llux%llu larger than padded input %llux%llu",
				(unsigned long long)w[2], (unsigned long long)w[3],
				(unsigned long long)x[2], (unsigned long long)x[3]);
	uint64_t want[4] = {x[0], w[0], oh, ow};
	if (ok_y)
		memcpy(ok_y, want, sizeof want);
	if (y && memcmp(y, want, sizeof want))
		return dg_error(DG_EUSAGE, "shapes do not match a convolution");
	return DG_OK;
}

int dg__infer_conv(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *a = IN(g, n, 0), *b = IN(g, n, 1);
	int st;
	if ((st = need_f32(g, n, 0)) || (st = need_f32(g, n, 1)))
		return st;
	if (n->op == OP_CONV) {
		if (a->rank != 4 || b->rank != 4)
			return dg_error(DG_EUSAGE, "input and weight must be 4-d");
		n->rank = 4;
		return conv_check(n->ia, a->dims, b->dims, NULL, n->dims);
	}
	unpack_shape(n, n->ia + DG_CA_SHAPE);
	if (n->rank != 4 || a->rank != 4 || b->rank != 4)
		return dg_error(DG_EUSAGE, "all shapes must be 4-d");
	if (n->op == OP_CONV_BWD_DATA)   /* (dy, w) -> x */
		return conv_check(n->ia, n->dims, b->dims, a->dims, NULL);
	return conv_check(n->ia, a->dims, n->dims, b->dims, NULL);  /* (x, dy) -> w */
}

static int is_index(const struct dg_node *x)
{
	return x->dtype == DG_I32 || x->dtype == DG_F32;
}

int dg__infer_gather(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *t = IN(g, n, 0), *idx = IN(g, n, 1);
	if (t->rank != 2 || !is_index(idx) || idx->rank + 1 > DG_MAX_RANK || t->dtype != DG_F32)
		return dg_error(DG_EUSAGE, "want an f32 V×D table and i32 indices");
	copy_shape(n, idx);
	n->dims[n->rank++] = t->dims[1];
	return DG_OK;
}

int dg__infer_scatter(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *s = IN(g, n, 0), *idx = IN(g, n, 1);
	if (!is_index(idx) || s->rank != idx->rank + 1 || n->ia[0] < 1)
		return dg_error(DG_EUSAGE, "want S×D values and indices of shape S");
	for (unsigned i = 0; i < idx->rank; i++)
		if (s->dims[i] != idx->dims[i])
			return dg_error(DG_EUSAGE, "values and indices disagree on axis %u", i);
	n->rank = 2;
	n->dims[0] = (uint64_t)n->ia[0];
	n->dims[1] = s->dims[s->rank - 1];
	return need_f32(g, n, 0);
}

int dg__infer_one_hot(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *idx = IN(g, n, 0);
	if (!is_index(idx) || idx->rank + 1 > DG_MAX_RANK || n->ia[0] < 1)
		return dg_error(DG_EUSAGE, "want i32 indices and k >= 1");
	copy_shape(n, idx);
	n->dims[n->rank++] = (uint64_t)n->ia[0];
	return DG_OK;
}

int dg__infer_pick(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *x = IN(g, n, 0), *idx = IN(g, n, 1);
	if (x->rank < 1 || !is_index(idx) || idx->rank != x->rank - 1 || x->dtype != DG_F32)
		return dg_error(DG_EUSAGE, "want f32 S×K values and indices of shape S");
	for (unsigned i = 0; i < idx->rank; i++)
		if (idx->dims[i] != x->dims[i])
			return dg_error(DG_EUSAGE, "values and indices disagree on axis %u", i);
	copy_shape(n, idx);
	return DG_OK;
}

int dg__infer_place(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *src = IN(g, n, 0), *idx = IN(g, n, 1);
	if (!is_index(idx) || src->rank != idx->rank || src->rank + 1 > DG_MAX_RANK || n->ia[0] < 1)
		return dg_error(DG_EUSAGE, "want values and indices of one shape, and K >= 1");
	for (unsigned i = 0; i < idx->rank; i++)
		if (src->dims[i] != idx->dims[i])
			return dg_error(DG_EUSAGE, "values and indices disagree on axis %u", i);
	copy_shape(n, src);
	n->dims[n->rank++] = (uint64_t)n->ia[0];
	return need_f32(g, n, 0);
}

int dg__infer_rng(struct dg_graph *g, struct dg_node *n)
{
	(void)g;
	unpack_shape(n, n->ia + 1);
	return DG_OK;
}

int dg__infer_update(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *v = IN(g, n, 0), *x = IN(g, n, 1);
	if (v->op != OP_VAR)
		return dg_error(DG_EUSAGE, "the target is not a variable");
	if (!dg__same_shape(x, v->rank, v->dims) || x->dtype != DG_F32)
		return dg_error(DG_EUSAGE, "value and variable shapes differ");
	copy_shape(n, v);
	return DG_OK;
}

/* ---- general convolutions and pooling ----------------------------------- */

_Static_assert(DG_CIA_SHAPE + 6 <= 2 * DG_MAX_RANK && DG_PIA_SHAPE + 6 <= 2 * DG_MAX_RANK,
	       "a 5-d shape fits after the attributes");

/* Spatial axes 0..2 (depth, height, width) of an image of rank 4 or 5:
 * its dims from axis 2 on, with depth 1 for rank 4. */
static void spatial(unsigned rank, const uint64_t *dims, uint64_t *sp)
{
	sp[0] = rank == 5 ? dims[2] : 1;
	sp[1] = dims[rank - 2];
	sp[2] = dims[rank - 1];
}

/* The attributes' depth part of a 2-d op must say "no depth". */
static int flat_depth(unsigned rank, const int64_t *s, const int64_t *p, const int64_t *d)
{
	return rank == 5 || (s[0] == 1 && p[0] == 0 && (!d || d[0] == 1));
}

/* y's dims of a general convolution of x by w (N×C×.. and O×C/G×..),
 * or an error saying what does not fit. */
static int conv_nd_out(const int64_t *ia, unsigned rank, const uint64_t *x, const uint64_t *w,
		       uint64_t *y)
{
	const int64_t *s = ia + DG_CIA_STRIDE, *p = ia + DG_CIA_PAD, *d = ia + DG_CIA_DIL;
	int64_t groups = ia[DG_CIA_GROUPS];
	uint64_t xs[3], ks[3];
	if (rank != 4 && rank != 5)
		return dg_error(DG_EUSAGE, "want N×C×H×W or N×C×D×H×W images, not rank %u", rank);
	for (int i = 0; i < 3; i++)
		if (s[i] < 1 || p[i] < 0 || d[i] < 1)
			return dg_error(DG_EUSAGE, "bad stride %lld, padding %lld or dilation %lld",
					(long long)s[i], (long long)p[i], (long long)d[i]);
	if (!flat_depth(rank, s, p, d))
		return dg_error(DG_EUSAGE, "a 2-d convolution has no depth stride or padding");
	if (groups < 1 || x[1] % (uint64_t)groups || w[0] % (uint64_t)groups)
		return dg_error(DG_EUSAGE, "%lld groups do not divide %llu input and %llu output "
				"channels", (long long)groups, (unsigned long long)x[1],
				(unsigned long long)w[0]);
	if (w[1] * (uint64_t)groups != x[1])
		return dg_error(DG_EUSAGE, "weight expects %llu channels per group, input has %llu "
				"in %lld groups", (unsigned long long)w[1],
				(unsigned long long)x[1], (long long)groups);
	spatial(rank, x, xs);
	spatial(rank, w, ks);
	y[0] = x[0];
	y[1] = w[0];
	for (int i = 5 - (int)rank; i < 3; i++) {
		uint64_t o = dg__window_out(xs[i], ks[i], s[i], p[i], d[i]);
		if (!o)
			return dg_error(DG_EUSAGE, "kernel side %llu (dilation %lld) larger than "
					"the padded input side %llu", (unsigned long long)ks[i],
					(long long)d[i], (unsigned long long)(xs[i] + 2 * (uint64_t)p[i]));
		y[rank - 3 + i] = o;
	}
	return DG_OK;
}

int dg__infer_conv_nd(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *a = IN(g, n, 0), *b = IN(g, n, 1);
	uint64_t want[DG_MAX_RANK];
	int st;
	if ((st = need_f32(g, n, 0)) || (st = need_f32(g, n, 1)))
		return st;
	if (a->rank != b->rank)
		return dg_error(DG_EUSAGE, "inputs of ranks %u and %u", a->rank, b->rank);
	if (n->op == OP_CONV_ND) {
		n->rank = a->rank;
		return conv_nd_out(n->ia, a->rank, a->dims, b->dims, n->dims);
	}
	unpack_shape(n, n->ia + DG_CIA_SHAPE);
	if (n->rank != a->rank)
		return dg_error(DG_EUSAGE, "output rank %u, inputs %u", n->rank, a->rank);
	/* bwd_data (dy, w) -> x; bwd_filter (x, dy) -> w */
	const uint64_t *x = n->op == OP_CONV_ND_BWD_DATA ? n->dims : a->dims;
	const uint64_t *w = n->op == OP_CONV_ND_BWD_DATA ? b->dims : n->dims;
	const uint64_t *y = n->op == OP_CONV_ND_BWD_DATA ? a->dims : b->dims;
	if ((st = conv_nd_out(n->ia, n->rank, x, w, want)))
		return st;
	if (memcmp(y, want, n->rank * sizeof *y))
		return dg_error(DG_EUSAGE, "shapes do not match a convolution");
	return DG_OK;
}

/* The pooled dims of x (rank 4 or 5), or an error. */
static int pool_out(const int64_t *ia, unsigned rank, const uint64_t *x, uint64_t *y)
{
	const int64_t *k = ia + DG_PIA_KERNEL, *s = ia + DG_PIA_STRIDE, *p = ia + DG_PIA_PAD;
	uint64_t xs[3];
	if (rank != 4 && rank != 5)
		return dg_error(DG_EUSAGE, "want N×C×H×W or N×C×D×H×W images, not rank %u", rank);
	for (int i = 0; i < 3; i++)
		if (k[i] < 1 || s[i] < 1 || p[i] < 0 || 2 * p[i] > k[i])
			return dg_error(DG_EUSAGE, "bad window %lld, stride %lld or padding %lld "
					"(at most half the window)", (long long)k[i],
					(long long)s[i], (long long)p[i]);
	if (rank == 4 && k[0] != 1)
		return dg_error(DG_EUSAGE, "a 2-d pooling has no depth window");
	spatial(rank, x, xs);
	y[0] = x[0];
	y[1] = x[1];
	for (int i = 5 - (int)rank; i < 3; i++) {
		uint64_t o = dg__window_out(xs[i], (uint64_t)k[i], s[i], p[i], 1);
		if (!o)
			return dg_error(DG_EUSAGE, "window %lld larger than the padded input side %llu",
					(long long)k[i], (unsigned long long)(xs[i] + 2 * (uint64_t)p[i]));
		y[rank - 3 + i] = o;
	}
	return DG_OK;
}

int dg__infer_pool(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *a = IN(g, n, 0);
	uint64_t want[DG_MAX_RANK];
	int st;
	for (unsigned i = 0; i < n->nin; i++)
		if ((st = need_f32(g, n, (int)i)))
			return st;
	switch (n->op) {
	case OP_MAX_POOL:
	case OP_AVG_POOL:
		n->rank = a->rank;
		return pool_out(n->ia, a->rank, a->dims, n->dims);
	case OP_MAX_POOL_PICK:          /* (x, h) -> pooled */
		if (!dg__same_shape(IN(g, n, 1), a->rank, a->dims))
			return dg_error(DG_EUSAGE, "x and h differ in shape");
		n->rank = a->rank;
		return pool_out(n->ia, a->rank, a->dims, n->dims);
	case OP_MAX_POOL_BWD:           /* (x, dy) -> x */
		copy_shape(n, a);
		a = IN(g, n, 1);
		break;
	default:                        /* (dy) -> dims given */
		unpack_shape(n, n->ia + DG_PIA_SHAPE);
		break;
	}
	if ((st = pool_out(n->ia, n->rank, n->dims, want)))
		return st;
	if (!dg__same_shape(a, n->rank, want))
		return dg_error(DG_EUSAGE, "the gradient's shape does not match the pooling");
	return DG_OK;
}
