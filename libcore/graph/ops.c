/* graph/ops.c — the op table: for each primitive op its name, shape
 * inference and backward rule (written with other ops, so gradients of
 * gradients work), and the public constructors that map onto one op.
 *
 * How to add an op:
 *  1. If it is a composition of existing ops, write it in graph/compose.c
 *     and stop: it gets gradients, both backends and tests for free.
 *  2. Otherwise add OP_X to enum dg_op (graph/graph_impl.h), an entry in
 *     dg_opdefs[] below (infer sets dtype and shape; backward appends the
 *     input gradients in terms of ops — or OPF_NODIFF), and a constructor.
 *  3. Write the cpu kernel (cpu/k_*.c, declared in cpu/kernels.h) and add
 *     it to dg_cpu_kernels[] in cpu/backend_cpu.c; a oneDNN plan for it, if
 *     any, goes in cpu/plans.c.  The vulkan backend (graph/backend_vk.c and
 *     shaders/graph_*.comp) refuses ops it lacks at compile time.
 *  4. Add a row to the op table at the top of tests/t_ops.c: a double
 *     reference, the shapes to try, and the tolerance. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "graph/graph_impl.h"

#define T(id) ((dg_tensor){(id)})

/* ---- node creation ------------------------------------------------------ */

uint32_t dg__op(struct dg_graph *g, enum dg_op op, unsigned nin, const uint32_t *in,
		const int64_t *ia, size_t nia, const float *fa, size_t nfa)
{
	const struct dg_opdef *d = &dg_opdefs[op];
	uint32_t id;

	if (g->status)
		return 0;
	for (unsigned i = 0; i < nin; i++)
		if (!in[i] || in[i] >= g->nnodes) {
			dg__fail(g, DG_EUSAGE, "%s: input %u is not a tensor", d->name, i);
			return 0;
		}
	if (!(id = dg__new_node(g)))
		return 0;
	struct dg_node *n = &g->nodes[id];
	n->op = (uint16_t)op;
	n->nin = (uint8_t)nin;
	if (nin)
		memcpy(n->in, in, nin * sizeof *in);
	if (nia)
		memcpy(n->ia, ia, nia * sizeof *ia);
	if (nfa)
		memcpy(n->fa, fa, nfa * sizeof *fa);
	n->dtype = DG_F32;
	int st = d->infer(g, n);
	if (!st) {
		uint64_t c = 1;
		for (unsigned i = 0; i < n->rank; i++)
			c *= n->dims[i];
		n->count = (d->flags & OPF_SIDE) ? 0 : c;
		return id;
	}
	g->nnodes--;
	dg__fail(g, st, "%s: %s", d->name, dg_errmsg());
	return 0;
}

uint32_t dg__op1(struct dg_graph *g, enum dg_op op, uint32_t x, float f0, float f1)
{
	float fa[2] = {f0, f1};
	return dg__op(g, op, 1, &x, NULL, 0, fa, 2);
}

uint32_t dg__op2(struct dg_graph *g, enum dg_op op, uint32_t a, uint32_t b)
{
	uint32_t in[2] = {a, b};
	return dg__op(g, op, 2, in, NULL, 0, NULL, 0);
}

static void pack_shape(int64_t *ia, unsigned rank, const uint64_t *dims)
{
	ia[0] = rank;
	for (unsigned i = 0; i < rank; i++)
		ia[1 + i] = (int64_t)dims[i];
}

static uint32_t shaped(struct dg_graph *g, enum dg_op op, uint32_t x, unsigned rank,
		       const uint64_t *dims)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	if (rank > DG_MAX_RANK) {
		dg__fail(g, DG_EUSAGE, "%s: rank %u too large", dg_opdefs[op].name, rank);
		return 0;
	}
	pack_shape(ia, rank, dims);
	return dg__op(g, op, 1, &x, ia, 1 + rank, NULL, 0);
}

static int same_shape(const struct dg_node *a, unsigned rank, const uint64_t *dims)
{
	if (a->rank != rank)
		return 0;
	for (unsigned i = 0; i < rank; i++)
		if (a->dims[i] != dims[i])
			return 0;
	return 1;
}

/* The dims passed to these often point into g->nodes, which creating a
 * node may move: they are copied first. */
uint32_t dg__sum_to(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims_)
{
	uint64_t dims[DG_MAX_RANK];
	if (g->status || rank > DG_MAX_RANK)
		return 0;
	memcpy(dims, dims_, rank * sizeof *dims);
	const struct dg_node *n = &g->nodes[x];
	if (same_shape(n, rank, dims))
		return x;
	/* Leading axes that broadcasting added are summed, then dropped. */
	if (n->rank > rank) {
		uint64_t full[DG_MAX_RANK];
		unsigned extra = n->rank - rank;
		for (unsigned i = 0; i < n->rank; i++)
			full[i] = i < extra ? 1 : dims[i - extra];
		uint32_t s = shaped(g, OP_SUM_TO, x, n->rank, full);
		return dg__reshape(g, s, rank, dims);
	}
	return shaped(g, OP_SUM_TO, x, rank, dims);
}

uint32_t dg__expand(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims_)
{
	uint64_t dims[DG_MAX_RANK];
	if (g->status || rank > DG_MAX_RANK)
		return 0;
	memcpy(dims, dims_, rank * sizeof *dims);
	if (same_shape(&g->nodes[x], rank, dims))
		return x;
	return shaped(g, OP_EXPAND, x, rank, dims);
}

uint32_t dg__reshape(struct dg_graph *g, uint32_t x, unsigned rank, const uint64_t *dims_)
{
	uint64_t dims[DG_MAX_RANK];
	if (g->status || rank > DG_MAX_RANK)
		return 0;
	memcpy(dims, dims_, rank * sizeof *dims);
	if (same_shape(&g->nodes[x], rank, dims))
		return x;
	return shaped(g, OP_RESHAPE, x, rank, dims);
}

uint32_t dg__matmul(struct dg_graph *g, uint32_t a, uint32_t b, int ta, int tb)
{
	int64_t ia[2] = {ta, tb};
	uint32_t in[2] = {a, b};
	return dg__op(g, OP_MATMUL, 2, in, ia, 2, NULL, 0);
}

uint32_t dg__conv(struct dg_graph *g, enum dg_op op, uint32_t a, uint32_t b,
		  const int64_t *conv3, unsigned rank, const uint64_t *dims)
{
	int64_t ia[2 * DG_MAX_RANK] = {conv3[0], conv3[1], conv3[2]};
	uint32_t in[2] = {a, b};
	if (rank)
		pack_shape(ia + 3, rank, dims);
	return dg__op(g, op, 2, in, ia, 3 + 1 + rank, NULL, 0);
}

/* ---- shape inference ------------------------------------------------------ */

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

static int infer_none(struct dg_graph *g, struct dg_node *n)
{
	(void)g;
	(void)n;
	return dg_error(DG_EINTERNAL, "a leaf is not built by dg__op");
}

static int infer_unary(struct dg_graph *g, struct dg_node *n)
{
	copy_shape(n, IN(g, n, 0));
	return need_f32(g, n, 0);
}

static int infer_cast(struct dg_graph *g, struct dg_node *n)
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

static int infer_binary(struct dg_graph *g, struct dg_node *n)
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

static int infer_reduce_to(struct dg_graph *g, struct dg_node *n)
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

static int infer_expand(struct dg_graph *g, struct dg_node *n)
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

static int infer_reshape(struct dg_graph *g, struct dg_node *n)
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

static int infer_permute(struct dg_graph *g, struct dg_node *n)
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

static int infer_slice(struct dg_graph *g, struct dg_node *n)
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

static int infer_pad(struct dg_graph *g, struct dg_node *n)
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

static int infer_matmul(struct dg_graph *g, struct dg_node *n)
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

static int infer_lastaxis(struct dg_graph *g, struct dg_node *n)
{
	copy_shape(n, IN(g, n, 0));
	if (n->rank < 1)
		return dg_error(DG_EUSAGE, "needs rank >= 1");
	return need_f32(g, n, 0);
}

static int infer_argmax(struct dg_graph *g, struct dg_node *n)
{
	int st = infer_lastaxis(g, n);
	n->dims[--n->rank] = 0;
	return st;
}

/* Output side of a convolution, 0 if the window does not fit. */
static uint64_t conv_out(uint64_t in, uint64_t k, int64_t s, int64_t p, int64_t d)
{
	int64_t span = d * ((int64_t)k - 1) + 1, room = (int64_t)in + 2 * p - span;
	return room < 0 ? 0 : (uint64_t)(room / s + 1);
}

static int conv_check(const int64_t *c3, const uint64_t *x, const uint64_t *w,
		      const uint64_t *y, uint64_t *ok_y)
{
	if (c3[0] < 1 || c3[1] < 0 || c3[2] < 1)
		return dg_error(DG_EUSAGE, "bad stride %lld, padding %lld or dilation %lld",
				(long long)c3[0], (long long)c3[1], (long long)c3[2]);
	if (w[1] != x[1])
		return dg_error(DG_EUSAGE, "weight expects %llu channels, input has %llu",
				(unsigned long long)w[1], (unsigned long long)x[1]);
	uint64_t oh = conv_out(x[2], w[2], c3[0], c3[1], c3[2]);
	uint64_t ow = conv_out(x[3], w[3], c3[0], c3[1], c3[2]);
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

static int infer_conv(struct dg_graph *g, struct dg_node *n)
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
	unpack_shape(n, n->ia + 3);
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

static int infer_gather(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *t = IN(g, n, 0), *idx = IN(g, n, 1);
	if (t->rank != 2 || !is_index(idx) || idx->rank + 1 > DG_MAX_RANK || t->dtype != DG_F32)
		return dg_error(DG_EUSAGE, "want an f32 V×D table and i32 indices");
	copy_shape(n, idx);
	n->dims[n->rank++] = t->dims[1];
	return DG_OK;
}

static int infer_scatter(struct dg_graph *g, struct dg_node *n)
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

static int infer_one_hot(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *idx = IN(g, n, 0);
	if (!is_index(idx) || idx->rank + 1 > DG_MAX_RANK || n->ia[0] < 1)
		return dg_error(DG_EUSAGE, "want i32 indices and k >= 1");
	copy_shape(n, idx);
	n->dims[n->rank++] = (uint64_t)n->ia[0];
	return DG_OK;
}

static int infer_pick(struct dg_graph *g, struct dg_node *n)
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

static int infer_place(struct dg_graph *g, struct dg_node *n)
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

static int infer_rng(struct dg_graph *g, struct dg_node *n)
{
	(void)g;
	unpack_shape(n, n->ia + 1);
	return DG_OK;
}

static int infer_update(struct dg_graph *g, struct dg_node *n)
{
	const struct dg_node *v = IN(g, n, 0), *x = IN(g, n, 1);
	if (v->op != OP_VAR)
		return dg_error(DG_EUSAGE, "the target is not a variable");
	if (!same_shape(x, v->rank, v->dims) || x->dtype != DG_F32)
		return dg_error(DG_EUSAGE, "value and variable shapes differ");
	copy_shape(n, v);
	return DG_OK;
}

/* ---- backward rules ------------------------------------------------------------ */

#define NODE(id) (&g->nodes[(id)])
static uint32_t add(struct dg_graph *g, uint32_t a, uint32_t b) { return dg__op2(g, OP_ADD, a, b); }
static uint32_t sub(struct dg_graph *g, uint32_t a, uint32_t b) { return dg__op2(g, OP_SUB, a, b); }
static uint32_t mul(struct dg_graph *g, uint32_t a, uint32_t b) { return dg__op2(g, OP_MUL, a, b); }
static uint32_t dv(struct dg_graph *g, uint32_t a, uint32_t b) { return dg__op2(g, OP_DIV, a, b); }
static uint32_t aff(struct dg_graph *g, uint32_t x, float a, float b) { return dg__op1(g, OP_AFFINE, x, a, b); }
static uint32_t un(struct dg_graph *g, enum dg_op op, uint32_t x) { return dg__op1(g, op, x, 0, 0); }
static uint32_t sum_like(struct dg_graph *g, uint32_t x, uint32_t like)
{
	if (g->status)
		return 0;
	return dg__sum_to(g, x, NODE(like)->rank, NODE(like)->dims);
}

static void bw_affine(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = aff(g, gy, NODE(id)->fa[0], 0);
}
static void bw_exp(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, id);
}
static void bw_log(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = dv(g, gy, NODE(id)->in[0]);
}
static void bw_sqrt(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = dv(g, aff(g, gy, 0.5f, 0), id);
}
static void bw_rsqrt(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	/* d x^-1/2 = -x^-3/2 / 2 = -(y / x) / 2 */
	gin[0] = mul(g, gy, aff(g, dv(g, id, NODE(id)->in[0]), -0.5f, 0));
}
static void bw_abs(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, un(g, OP_SIGN, NODE(id)->in[0]));
}
/* The masks of relu, leaky relu (slope > 0) and elu (alpha > 0) are taken
 * from the output, which has the sign of the input: then the input is not
 * needed by the backward pass, and the executor may fuse the activation
 * into the matmul that produces it. */
static void bw_relu(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, un(g, OP_STEP, id));
}
static void bw_leaky(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	float a = NODE(id)->fa[0];
	uint32_t from = a > 0 ? id : NODE(id)->in[0];
	gin[0] = mul(g, gy, aff(g, un(g, OP_STEP, from), 1 - a, a));
}
static void bw_elu(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	/* y' = 1 for x > 0, else alpha·e^x = y + alpha */
	float a = NODE(id)->fa[0];
	uint32_t s = un(g, OP_STEP, a > 0 ? id : NODE(id)->in[0]);
	uint32_t d = add(g, s, mul(g, aff(g, s, -1, 1), aff(g, id, 1, a)));
	gin[0] = mul(g, gy, d);
}
static void bw_tanh(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, aff(g, mul(g, id, id), -1, 1));
}
static void bw_sigmoid(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, mul(g, id, aff(g, id, -1, 1)));
}
static void bw_softplus(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, gy, un(g, OP_SIGMOID, NODE(id)->in[0]));
}
static void bw_clamp(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	gin[0] = mul(g, gy, dg__op1(g, OP_INRANGE, n->in[0], n->fa[0], n->fa[1]));
}
static void bw_pows(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	float p = NODE(id)->fa[0];
	uint32_t d = p == 1 ? 0 : aff(g, dg__op1(g, OP_POWS, NODE(id)->in[0], p - 1, 0), p, 0);
	gin[0] = d ? mul(g, gy, d) : gy;
}
static void bw_add(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = sum_like(g, gy, NODE(id)->in[0]);
	gin[1] = sum_like(g, gy, NODE(id)->in[1]);
}
static void bw_sub(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = sum_like(g, gy, NODE(id)->in[0]);
	gin[1] = sum_like(g, aff(g, gy, -1, 0), NODE(id)->in[1]);
}
static void bw_mul(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	uint32_t a = NODE(id)->in[0], b = NODE(id)->in[1];
	gin[0] = sum_like(g, mul(g, gy, b), a);
	gin[1] = a == b ? 0 : sum_like(g, mul(g, gy, a), b);
	if (a == b)
		gin[0] = aff(g, gin[0], 2, 0);
}
static void bw_div(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	uint32_t a = NODE(id)->in[0], b = NODE(id)->in[1];
	gin[0] = sum_like(g, dv(g, gy, b), a);
	/* d(a/b)/db = -y/b */
	gin[1] = sum_like(g, aff(g, dv(g, mul(g, gy, id), b), -1, 0), b);
}
static void bw_maxmin(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	uint32_t a = NODE(id)->in[0], b = NODE(id)->in[1];
	int mx = NODE(id)->op == OP_MAX;
	/* Ties go to a. */
	uint32_t ma = mx ? dg__op2(g, OP_GE, a, b) : dg__op2(g, OP_GE, b, a);
	gin[0] = sum_like(g, mul(g, gy, ma), a);
	gin[1] = sum_like(g, mul(g, gy, aff(g, ma, -1, 1)), b);
}
static void bw_where(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	uint32_t c = NODE(id)->in[0], a = NODE(id)->in[1], b = NODE(id)->in[2];
	uint32_t z = dg_scalar(g, 0).id;
	uint32_t in[3] = {c, gy, z};
	gin[1] = sum_like(g, dg__op(g, OP_WHERE, 3, in, NULL, 0, NULL, 0), a);
	in[1] = z;
	in[2] = gy;
	gin[2] = sum_like(g, dg__op(g, OP_WHERE, 3, in, NULL, 0, NULL, 0), b);
}
static void bw_sum_to(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *x = NODE(NODE(id)->in[0]);
	gin[0] = dg__expand(g, gy, x->rank, x->dims);
}
static void bw_expand(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *x = NODE(NODE(id)->in[0]);
	gin[0] = dg__sum_to(g, gy, x->rank, x->dims);
}
static void bw_max_to(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	/* Every element equal to the maximum receives the gradient. */
	uint32_t xid = NODE(id)->in[0];
	unsigned r = NODE(xid)->rank;
	uint64_t d[DG_MAX_RANK];
	memcpy(d, NODE(xid)->dims, sizeof d);
	uint32_t m = dg__op2(g, OP_EQ, xid, dg__expand(g, id, r, d));
	gin[0] = mul(g, dg__expand(g, gy, r, d), m);
}
static void bw_matmul(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	uint32_t a = n->in[0], b = n->in[1];
	int ta = (int)n->ia[0], tb = (int)n->ia[1];

	if (ta)
		gin[0] = tb ? dg__matmul(g, b, gy, 1, 1) : dg__matmul(g, b, gy, 0, 1);
	else
		gin[0] = dg__matmul(g, gy, b, 0, !tb);
	if (NODE(a)->rank == 3 && NODE(b)->rank == 2) {
		/* A shared b: fold the batch into the rows (ta is 0 here). */
		const struct dg_node *an = NODE(a), *yn = NODE(id);
		uint64_t ad[2] = {an->dims[0] * an->dims[1], an->dims[2]};
		uint64_t yd[2] = {yn->dims[0] * yn->dims[1], yn->dims[2]};
		uint32_t a2 = dg__reshape(g, a, 2, ad), g2 = dg__reshape(g, gy, 2, yd);
		gin[1] = tb ? dg__matmul(g, g2, a2, 1, 0) : dg__matmul(g, a2, g2, 1, 0);
		return;
	}
	if (tb)
		gin[1] = ta ? dg__matmul(g, gy, a, 1, 1) : dg__matmul(g, gy, a, 1, 0);
	else
		gin[1] = dg__matmul(g, a, gy, !ta, 0);
}
static void bw_reshape(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *x = NODE(NODE(id)->in[0]);
	gin[0] = dg__reshape(g, gy, x->rank, x->dims);
}
static void bw_permute(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	int64_t inv[2 * DG_MAX_RANK] = {0};
	for (unsigned i = 0; i < n->rank; i++)
		inv[n->ia[i]] = i;
	gin[0] = dg__op(g, OP_PERMUTE, 1, &gy, inv, DG_MAX_RANK, NULL, 0);
}
static void bw_slice(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id), *x = NODE(n->in[0]);
	int64_t ia[2 * DG_MAX_RANK] = {0};
	for (unsigned i = 0; i < n->rank; i++) {
		ia[i] = n->ia[i];
		ia[DG_MAX_RANK + i] = (int64_t)(x->dims[i] - n->dims[i]) - n->ia[i];
	}
	gin[0] = dg__op(g, OP_PAD, 1, &gy, ia, 2 * DG_MAX_RANK, NULL, 0);
}
static void bw_pad(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id), *x = NODE(n->in[0]);
	int64_t ia[2 * DG_MAX_RANK] = {0};
	for (unsigned i = 0; i < n->rank; i++) {
		ia[i] = n->ia[i];
		ia[DG_MAX_RANK + i] = (int64_t)x->dims[i];
	}
	gin[0] = dg__op(g, OP_SLICE, 1, &gy, ia, 2 * DG_MAX_RANK, NULL, 0);
}
static uint32_t sum_last(struct dg_graph *g, uint32_t x)
{
	const struct dg_node *n = NODE(x);
	uint64_t d[DG_MAX_RANK];
	memcpy(d, n->dims, sizeof d);
	d[n->rank - 1] = 1;
	return dg__sum_to(g, x, n->rank, d);
}
static void bw_softmax(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = mul(g, id, sub(g, gy, sum_last(g, mul(g, gy, id))));
}
static void bw_log_softmax(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	gin[0] = sub(g, gy, mul(g, un(g, OP_EXP, id), sum_last(g, gy)));
}
static void bw_conv(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	uint32_t a = n->in[0], b = n->in[1];
	const struct dg_node *an = NODE(a), *bn = NODE(b);
	int64_t c3[3] = {n->ia[0], n->ia[1], n->ia[2]};
	uint64_t ad[4], bd[4];
	memcpy(ad, an->dims, sizeof ad);
	memcpy(bd, bn->dims, sizeof bd);
	switch (n->op) {
	case OP_CONV:           /* y = conv(x, w) */
		gin[0] = dg__conv(g, OP_CONV_BWD_DATA, gy, b, c3, 4, ad);
		gin[1] = dg__conv(g, OP_CONV_BWD_FILTER, a, gy, c3, 4, bd);
		break;
	case OP_CONV_BWD_DATA:  /* y = D(dy, w), bilinear: <D(dy,w), h> = <dy, conv(h,w)> */
		gin[0] = dg__conv(g, OP_CONV, gy, b, c3, 0, NULL);
		gin[1] = dg__conv(g, OP_CONV_BWD_FILTER, gy, a, c3, 4, bd);
		break;
	default:                /* y = F(x, dy): <F(x,dy), h> = <dy, conv(x,h)> */
		gin[0] = dg__conv(g, OP_CONV_BWD_DATA, b, gy, c3, 4, ad);
		gin[1] = dg__conv(g, OP_CONV, a, gy, c3, 0, NULL);
		break;
	}
}
static void bw_gather(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	int64_t v = (int64_t)NODE(n->in[0])->dims[0];
	uint32_t in[2] = {gy, n->in[1]};
	gin[0] = dg__op(g, OP_SCATTER_ADD, 2, in, &v, 1, NULL, 0);
}
static void bw_pick(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	int64_t k = (int64_t)NODE(n->in[0])->dims[NODE(n->in[0])->rank - 1];
	uint32_t in[2] = {gy, n->in[1]};
	gin[0] = dg__op(g, OP_PLACE, 2, in, &k, 1, NULL, 0);
}
static void bw_place(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	uint32_t in[2] = {gy, n->in[1]};
	gin[0] = dg__op(g, OP_PICK, 2, in, NULL, 0, NULL, 0);
}
static void bw_scatter(struct dg_graph *g, uint32_t id, uint32_t gy, uint32_t *gin)
{
	const struct dg_node *n = NODE(id);
	uint32_t in[2] = {gy, n->in[1]};
	gin[0] = dg__op(g, OP_GATHER, 2, in, NULL, 0, NULL, 0);
}
/* ---- the table ------------------------------------------------------------------ */

#define U OPF_UNARY
#define B OPF_BINARY
#define ND OPF_NODIFF
const struct dg_opdef dg_opdefs[OP_COUNT] = {
	[OP_NONE] = {"none", 0, ND, infer_none, NULL},
	[OP_INPUT] = {"input", 0, OPF_LEAF | ND, infer_none, NULL},
	[OP_VAR] = {"variable", 0, OPF_LEAF, infer_none, NULL},
	[OP_CONST] = {"constant", 0, OPF_LEAF | ND, infer_none, NULL},
	[OP_FILL] = {"full", 0, OPF_LEAF | ND, infer_none, NULL},
	[OP_AFFINE] = {"affine", 1, U, infer_unary, bw_affine},
	[OP_EXP] = {"exp", 1, U, infer_unary, bw_exp},
	[OP_LOG] = {"log", 1, U, infer_unary, bw_log},
	[OP_SQRT] = {"sqrt", 1, U, infer_unary, bw_sqrt},
	[OP_RSQRT] = {"rsqrt", 1, U, infer_unary, bw_rsqrt},
	[OP_ABS] = {"abs", 1, U, infer_unary, bw_abs},
	[OP_SIGN] = {"sign", 1, U | ND, infer_unary, NULL},
	[OP_RELU] = {"relu", 1, U, infer_unary, bw_relu},
	[OP_LEAKY] = {"leaky_relu", 1, U, infer_unary, bw_leaky},
	[OP_ELU] = {"elu", 1, U, infer_unary, bw_elu},
	[OP_TANH] = {"tanh", 1, U, infer_unary, bw_tanh},
	[OP_SIGMOID] = {"sigmoid", 1, U, infer_unary, bw_sigmoid},
	[OP_SOFTPLUS] = {"softplus", 1, U, infer_unary, bw_softplus},
	[OP_CLAMP] = {"clamp", 1, U, infer_unary, bw_clamp},
	[OP_INRANGE] = {"inrange", 1, U | ND, infer_unary, NULL},
	[OP_STEP] = {"step", 1, U | ND, infer_unary, NULL},
	[OP_POWS] = {"pow", 1, U, infer_unary, bw_pows},
	[OP_STOPGRAD] = {"stop_gradient", 1, U | ND, infer_unary, NULL},
	[OP_CAST] = {"cast", 1, ND, infer_cast, NULL},
	[OP_ADD] = {"add", 2, B, infer_binary, bw_add},
	[OP_SUB] = {"sub", 2, B, infer_binary, bw_sub},
	[OP_MUL] = {"mul", 2, B, infer_binary, bw_mul},
	[OP_DIV] = {"div", 2, B, infer_binary, bw_div},
	[OP_MAX] = {"maximum", 2, B, infer_binary, bw_maxmin},
	[OP_MIN] = {"minimum", 2, B, infer_binary, bw_maxmin},
	[OP_GT] = {"greater", 2, B | ND, infer_binary, NULL},
	[OP_GE] = {"greater_equal", 2, B | ND, infer_binary, NULL},
	[OP_EQ] = {"equal", 2, B | ND, infer_binary, NULL},
	[OP_WHERE] = {"where", 3, 0, infer_binary, bw_where},
	[OP_SUM_TO] = {"sum", 1, 0, infer_reduce_to, bw_sum_to},
	[OP_MAX_TO] = {"max", 1, 0, infer_reduce_to, bw_max_to},
	[OP_EXPAND] = {"expand", 1, 0, infer_expand, bw_expand},
	[OP_MATMUL] = {"matmul", 2, 0, infer_matmul, bw_matmul},
	[OP_RESHAPE] = {"reshape", 1, 0, infer_reshape, bw_reshape},
	[OP_PERMUTE] = {"permute", 1, 0, infer_permute, bw_permute},
	[OP_SLICE] = {"slice", 1, 0, infer_slice, bw_slice},
	[OP_PAD] = {"pad", 1, 0, infer_pad, bw_pad},
	[OP_SOFTMAX] = {"softmax", 1, 0, infer_lastaxis, bw_softmax},
	[OP_LOG_SOFTMAX] = {"log_softmax", 1, 0, infer_lastaxis, bw_log_softmax},
	[OP_CONV] = {"conv2d", 2, 0, infer_conv, bw_conv},
	[OP_CONV_BWD_DATA] = {"conv2d_bwd_data", 2, 0, infer_conv, bw_conv},
	[OP_CONV_BWD_FILTER] = {"conv2d_bwd_filter", 2, 0, infer_conv, bw_conv},
	[OP_GATHER] = {"gather", 2, 0, infer_gather, bw_gather},
	[OP_SCATTER_ADD] = {"scatter_add", 2, 0, infer_scatter, bw_scatter},
	[OP_ONE_HOT] = {"one_hot", 1, ND, infer_one_hot, NULL},
	[OP_ARGMAX] = {"argmax", 1, ND, infer_argmax, NULL},
	[OP_PICK] = {"pick", 2, 0, infer_pick, bw_pick},
	[OP_PLACE] = {"place", 2, 0, infer_place, bw_place},
	[OP_RNG_UNIFORM] = {"random_uniform", 0, ND | OPF_RANDOM, infer_rng, NULL},
	[OP_RNG_NORMAL] = {"random_normal", 0, ND | OPF_RANDOM, infer_rng, NULL},
	[OP_UPD_SGD] = {"sgd_update", 2, ND | OPF_SIDE, infer_update, NULL},
	[OP_UPD_ADAM] = {"adam_update", 2, ND | OPF_SIDE, infer_update, NULL},
	[OP_UPD_RMSPROP] = {"rmsprop_update", 2, ND | OPF_SIDE, infer_update, NULL},
	[OP_ASSIGN] = {"assign", 2, ND | OPF_SIDE, infer_update, NULL},
	[OP_EMA] = {"ema_update", 2, ND | OPF_SIDE, infer_update, NULL},
};
#undef U
#undef B
#undef ND

/* ---- public constructors of primitive ops ------------------------------------- */

#define BIN(fn, op) \
	dg_tensor fn(struct dg_graph *g, dg_tensor a, dg_tensor b) \
	{ return T(dg__op2(g, op, a.id, b.id)); }
BIN(dg_add, OP_ADD)
BIN(dg_sub, OP_SUB)
BIN(dg_mul, OP_MUL)
BIN(dg_div, OP_DIV)
BIN(dg_maximum, OP_MAX)
BIN(dg_minimum, OP_MIN)
BIN(dg_greater, OP_GT)
BIN(dg_greater_equal, OP_GE)
BIN(dg_equal, OP_EQ)
#undef BIN

#define UN(fn, op) \
	dg_tensor fn(struct dg_graph *g, dg_tensor x) \
	{ return T(dg__op1(g, op, x.id, 0, 0)); }
UN(dg_exp, OP_EXP)
UN(dg_log, OP_LOG)
UN(dg_sqrt, OP_SQRT)
UN(dg_rsqrt, OP_RSQRT)
UN(dg_abs, OP_ABS)
UN(dg_sign, OP_SIGN)
UN(dg_relu, OP_RELU)
UN(dg_tanh, OP_TANH)
UN(dg_sigmoid, OP_SIGMOID)
UN(dg_softplus, OP_SOFTPLUS)
UN(dg_stop_gradient, OP_STOPGRAD)
UN(dg_softmax, OP_SOFTMAX)
UN(dg_log_softmax, OP_LOG_SOFTMAX)
UN(dg_argmax, OP_ARGMAX)
#undef UN

dg_tensor dg_affine(struct dg_graph *g, dg_tensor x, float a, float b)
{
	return T(dg__op1(g, OP_AFFINE, x.id, a, b));
}
dg_tensor dg_add_scalar(struct dg_graph *g, dg_tensor x, float s) { return dg_affine(g, x, 1, s); }
dg_tensor dg_mul_scalar(struct dg_graph *g, dg_tensor x, float s) { return dg_affine(g, x, s, 0); }
dg_tensor dg_neg(struct dg_graph *g, dg_tensor x) { return dg_affine(g, x, -1, 0); }
dg_tensor dg_square(struct dg_graph *g, dg_tensor x) { return dg_mul(g, x, x); }
dg_tensor dg_pow_scalar(struct dg_graph *g, dg_tensor x, float p)
{
	return T(dg__op1(g, OP_POWS, x.id, p, 0));
}
dg_tensor dg_leaky_relu(struct dg_graph *g, dg_tensor x, float slope)
{
	return T(dg__op1(g, OP_LEAKY, x.id, slope, 0));
}
dg_tensor dg_elu(struct dg_graph *g, dg_tensor x, float alpha)
{
	return T(dg__op1(g, OP_ELU, x.id, alpha, 0));
}
dg_tensor dg_clamp(struct dg_graph *g, dg_tensor x, float lo, float hi)
{
	return T(dg__op1(g, OP_CLAMP, x.id, lo, hi));
}
dg_tensor dg_cast(struct dg_graph *g, dg_tensor x, float scale)
{
	return T(dg__op1(g, OP_CAST, x.id, scale, 0));
}
dg_tensor dg_where(struct dg_graph *g, dg_tensor c, dg_tensor a, dg_tensor b)
{
	uint32_t in[3] = {c.id, a.id, b.id};
	return T(dg__op(g, OP_WHERE, 3, in, NULL, 0, NULL, 0));
}
dg_tensor dg_matmul(struct dg_graph *g, dg_tensor a, dg_tensor b, int ta, int tb)
{
	return T(dg__matmul(g, a.id, b.id, !!ta, !!tb));
}

dg_tensor dg_reshape(struct dg_graph *g, dg_tensor x, unsigned rank, const int64_t *dims)
{
	uint64_t d[DG_MAX_RANK], known = 1;
	int infer = -1;

	if (g->status)
		return DG_NONE;
	if (rank > DG_MAX_RANK || !x.id || x.id >= g->nnodes) {
		dg__fail(g, DG_EUSAGE, "reshape: bad rank or tensor");
		return DG_NONE;
	}
	for (unsigned i = 0; i < rank; i++) {
		if (dims[i] == -1 && infer < 0) {
			infer = (int)i;
			continue;
		}
		if (dims[i] < 1) {
			dg__fail(g, DG_EUSAGE, "reshape: bad dim %lld", (long long)dims[i]);
			return DG_NONE;
		}
		d[i] = (uint64_t)dims[i];
		known *= d[i];
	}
	if (infer >= 0)
		d[infer] = known ? g->nodes[x.id].count / known : 0;
	return T(shaped(g, OP_RESHAPE, x.id, rank, d));
}

dg_tensor dg_expand(struct dg_graph *g, dg_tensor x, unsigned rank, const uint64_t *dims)
{
	return T(shaped(g, OP_EXPAND, x.id, rank, dims));
}

dg_tensor dg_permute(struct dg_graph *g, dg_tensor x, const unsigned *perm)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	unsigned r = x.id && x.id < g->nnodes ? g->nodes[x.id].rank : 0;
	for (unsigned i = 0; i < r; i++)
		ia[i] = perm[i];
	return T(dg__op(g, OP_PERMUTE, 1, &x.id, ia, DG_MAX_RANK, NULL, 0));
}

static int axis_of(struct dg_graph *g, dg_tensor x, int axis, const char *what)
{
	int r = x.id && x.id < g->nnodes ? g->nodes[x.id].rank : 0;
	if (axis < 0)
		axis += r;
	if (axis < 0 || axis >= r) {
		dg__fail(g, DG_EUSAGE, "%s: no axis %d in a rank-%d tensor", what, axis, r);
		return -1;
	}
	return axis;
}

dg_tensor dg_slice(struct dg_graph *g, dg_tensor x, int axis, uint64_t start, uint64_t len)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	if (g->status || (axis = axis_of(g, x, axis, "slice")) < 0)
		return DG_NONE;
	const struct dg_node *n = &g->nodes[x.id];
	for (unsigned i = 0; i < n->rank; i++)
		ia[DG_MAX_RANK + i] = (int64_t)n->dims[i];
	ia[axis] = (int64_t)start;
	ia[DG_MAX_RANK + axis] = (int64_t)len;
	return T(dg__op(g, OP_SLICE, 1, &x.id, ia, 2 * DG_MAX_RANK, NULL, 0));
}

dg_tensor dg_pad(struct dg_graph *g, dg_tensor x, const uint64_t *before,
		 const uint64_t *after, float value)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	unsigned r = x.id && x.id < g->nnodes ? g->nodes[x.id].rank : 0;
	for (unsigned i = 0; i < r; i++) {
		ia[i] = (int64_t)before[i];
		ia[DG_MAX_RANK + i] = (int64_t)after[i];
	}
	return T(dg__op(g, OP_PAD, 1, &x.id, ia, 2 * DG_MAX_RANK, &value, 1));
}

dg_tensor dg_one_hot(struct dg_graph *g, dg_tensor idx, unsigned k)
{
	int64_t ia = k;
	return T(dg__op(g, OP_ONE_HOT, 1, &idx.id, &ia, 1, NULL, 0));
}

dg_tensor dg_pick(struct dg_graph *g, dg_tensor x, dg_tensor idx)
{
	return T(dg__op2(g, OP_PICK, x.id, idx.id));
}

dg_tensor dg_embedding(struct dg_graph *g, dg_tensor table, dg_tensor idx)
{
	return T(dg__op2(g, OP_GATHER, table.id, idx.id));
}

static dg_tensor rng(struct dg_graph *g, enum dg_op op, unsigned rank, const uint64_t *dims)
{
	int64_t ia[2 * DG_MAX_RANK] = {0};
	if (g->status)
		return DG_NONE;
	if (rank > DG_MAX_RANK) {
		dg__fail(g, DG_EUSAGE, "%s: rank %u too large", dg_opdefs[op].name, rank);
		return DG_NONE;
	}
	ia[0] = (int64_t)(DG_OP_STREAM | g->nstreams);
	pack_shape(ia + 1, rank, dims);
	uint32_t id = dg__op(g, op, 0, NULL, ia, 2 + rank, NULL, 0);
	if (id)
		g->nstreams++;
	return T(id);
}

dg_tensor dg_random_uniform(struct dg_graph *g, unsigned rank, const uint64_t *dims)
{
	return rng(g, OP_RNG_UNIFORM, rank, dims);
}

dg_tensor dg_random_normal(struct dg_graph *g, unsigned rank, const uint64_t *dims)
{
	return rng(g, OP_RNG_NORMAL, rank, dims);
}

static dg_tensor conv_common(struct dg_graph *g, enum dg_op op, dg_tensor x, dg_tensor w,
			     dg_tensor b, const struct dg_conv *p)
{
	int64_t c3[3] = {p && p->stride ? p->stride : 1, p ? p->pad : 0,
			 p && p->dilation ? p->dilation : 1};
	uint32_t y;

	if (g->status)
		return DG_NONE;
	if (op == OP_CONV) {
		y = dg__conv(g, OP_CONV, x.id, w.id, c3, 0, NULL);
	} else {
		const struct dg_node *xn = &g->nodes[x.id], *wn = &g->nodes[w.id];
		if (xn->rank != 4 || wn->rank != 4) {
			dg__fail(g, DG_EUSAGE, "conv_transpose2d: input and weight must be 4-d");
			return DG_NONE;
		}
		uint64_t span_h = (uint64_t)c3[2] * (wn->dims[2] - 1) + 1;
		uint64_t span_w = (uint64_t)c3[2] * (wn->dims[3] - 1) + 1;
		int64_t oh = (int64_t)((xn->dims[2] - 1) * c3[0] + span_h) - 2 * c3[1] +
			     (p ? p->output_padding : 0);
		int64_t ow = (int64_t)((xn->dims[3] - 1) * c3[0] + span_w) - 2 * c3[1] +
			     (p ? p->output_padding : 0);
		if (oh < 1 || ow < 1) {
			dg__fail(g, DG_EUSAGE, "conv_transpose2d: empty output");
			return DG_NONE;
		}
		uint64_t d[4] = {xn->dims[0], wn->dims[1], (uint64_t)oh, (uint64_t)ow};
		y = dg__conv(g, OP_CONV_BWD_DATA, x.id, w.id, c3, 4, d);
	}
	if (b.id && y) {
		uint64_t bd[4] = {1, g->nodes[y].dims[1], 1, 1};
		y = dg__op2(g, OP_ADD, y, dg__reshape(g, b.id, 4, bd));
	}
	return T(y);
}

dg_tensor dg_conv2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
		    const struct dg_conv *p)
{
	return conv_common(g, OP_CONV, x, w, b, p);
}

dg_tensor dg_conv_transpose2d(struct dg_graph *g, dg_tensor x, dg_tensor w, dg_tensor b,
			      const struct dg_conv *p)
{
	return conv_common(g, OP_CONV_BWD_DATA, x, w, b, p);
}
