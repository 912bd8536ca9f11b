/* vk/vk_k_eltwise.c — elementwise calls on vulkan (graph_eltwise.comp):
 * unary ops, casts of f32/u8/i32, broadcasting binary ops, where, expand.
 * Output shape: the call's; inputs right-aligned and broadcast (NumPy).
 * Axes of size 1 are dropped and neighbours broadcast alike are merged,
 * so the shader decodes few coordinates. */
#include <stdlib.h>
#include "vk/vk_kernels.h"

struct push {
	uint32_t n, rank, off[3], offy;
	uint32_t p, q;
	uint32_t mask[3], pad;
	uint32_t dims[8];
};

int dg_vkk_eltwise(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *c)
{
	const struct dg_node *y = &c->n;
	unsigned nin = y->nin;
	struct push pc = {0};
	uint32_t spec[4] = {dg_vkk_codes[y->op], 0, 0, 0};
	unsigned bits[DG_MAX_RANK];   /* per kept axis: which inputs broadcast */
	uint64_t dims[DG_MAX_RANK];
	unsigned r = 0;

	if (!y->count)
		return DG_OK;
	for (unsigned k = 0; k < y->rank; k++) {
		unsigned b = 0;
		if (y->dims[k] == 1)
			continue;
		for (unsigned j = 0; j < nin; j++) {
			const struct dg_node *x = &c->in_node[j];
			unsigned off = y->rank - x->rank;
			if (k < off || x->dims[k - off] == 1)
				b |= 1u << j;
		}
		if (r && bits[r - 1] == b) {
			dims[r - 1] *= y->dims[k];
		} else {
			bits[r] = b;
			dims[r++] = y->dims[k];
		}
	}
	pc.n = (uint32_t)y->count;
	pc.rank = r;
	for (unsigned k = 0; k < r; k++) {
		pc.dims[k] = (uint32_t)dims[k];
		for (unsigned j = 0; j < nin; j++)
			if (bits[k] >> j & 1)
				pc.mask[j] |= 1u << k;
	}
	for (unsigned j = 0; j < nin; j++) {
		unsigned all = r ? (1u << r) - 1 : 0;
		if (pc.mask[j] && pc.mask[j] != all)
			spec[2] = 1;                    /* broadcast along some axes only */
		if (!r)
			pc.mask[j] = 0;
	}
	const struct dg_node *x0 = &c->in_node[0];
	spec[1] = x0->dtype == DG_U8 ? 1 : x0->dtype == DG_I32 ? 2 : 0;
	const struct dg_vk_buffer *binds[4];
	for (unsigned j = 0; j < 3; j++) {
		unsigned s = j < nin ? j : 0;
		binds[j] = c->in[s].buf;
		pc.off[j] = j == 0 && spec[1] == 1 ? (uint32_t)c->in[0].off : dg_vkk_elems(c->in[s]);
		if (j >= nin)
			pc.mask[j] = pc.mask[0];
	}
	binds[3] = c->out.buf;
	pc.offy = dg_vkk_elems(c->out);
	pc.p = dg_vkk_f2u(y->fa[0]);
	pc.q = dg_vkk_f2u(y->fa[1]);
	/* Four outputs per invocation: f32 inputs each of the output's shape
	 * or one element, counts and offsets multiples of 4. */
	int vec = !spec[1] && !spec[2] && y->count % 4 == 0 && pc.offy % 4 == 0;
	for (unsigned j = 0; j < 3; j++)
		vec = vec && (pc.mask[j] || pc.off[j] % 4 == 0) &&
		      (j >= nin || c->in_node[j].dtype == DG_F32);
	spec[3] = (uint32_t)vec;
	uint32_t gx, gy;
	dg_vkk_grid(vec ? y->count / 4 : y->count, &gx, &gy);
	return dg_vkk_record(vk, p, "graph_eltwise", binds, 4, &pc, sizeof pc, spec, 4, gx, gy);
}

/* ---- chains: consecutive elementwise calls in one dispatch ------------- */

enum { CHAIN_STEPS = 6, CHAIN_SLOT0 = 19, CHAIN_WORDS = 32, CHAIN_READS = 3 * CHAIN_STEPS };

/* Whether call c can be a step of a chain of n elements: an elementwise
 * op of f32 tensors whose inputs have n elements or one (and whose
 * DG_ELT_* code fits a step's 5 bits in graph_chain.comp). */
static int chainable(const struct dg_kcall *c, uint64_t n)
{
	if (dg_vkk_recorders[c->n.op] != dg_vkk_eltwise || dg_vkk_codes[c->n.op] >= 32 ||
	    c->n.op == OP_CAST || c->act || c->n.dtype != DG_F32 ||
	    c->n.count != n || !n || n >= 1ull << 31)
		return 0;
	for (unsigned j = 0; j < c->n.nin; j++)
		if (c->in_node[j].dtype != DG_F32 ||
		    (c->in_node[j].count != n && c->in_node[j].count != 1))
			return 0;
	return 1;
}

/* Byte ranges [a.off, +na) and [b.off, +nb) of one buffer meet. */
static int meet(struct dg_bref a, uint64_t na, struct dg_bref b, uint64_t nb)
{
	return a.buf == b.buf && a.off < b.off + nb && b.off < a.off + na;
}

/* The binding (0, 1) of buffer b among the chain's, added if there is
 * room; -1 if not. */
static int binding(const struct dg_vk_buffer **bufs, const struct dg_vk_buffer *b)
{
	for (int i = 0; i < 2; i++) {
		if (!bufs[i])
			bufs[i] = b;
		if (bufs[i] == b)
			return i;
	}
	return -1;
}

/* A read from memory by a step of the chain: a tensor (element i read by
 * the invocation of element i) or one element (read by all). */
struct chain_read {
	struct dg_bref at;
	int one;
};

/* Whether a step writing `out` keeps the chain equal to the calls one
 * after another: each earlier write and every read is elsewhere, or (a
 * tensor's) at exactly its place — then only the element's own invocation
 * touches it, in the calls' order. */
static int write_ok(struct dg_bref out, uint64_t bytes, const struct chain_read *r, unsigned nr,
		    const struct dg_kcall *calls, unsigned k)
{
	for (unsigned i = 0; i < nr; i++)
		if (meet(out, bytes, r[i].at, r[i].one ? sizeof(float) : bytes) &&
		    (r[i].one || r[i].at.off != out.off))
			return 0;
	for (unsigned s = 0; s < k; s++)
		if (meet(out, bytes, calls[s].out, bytes) && calls[s].out.off != out.off)
			return 0;
	return 1;
}

int dg_vkk_chain(struct dg_vk *vk, struct vkprog *p, const struct dg_kcall *calls, size_t ncalls,
		 size_t *used)
{
	uint64_t n = calls[0].n.count, bytes = n * sizeof(float);
	uint32_t w[CHAIN_WORDS] = {0}, spec[2 + CHAIN_STEPS] = {0};
	const struct dg_vk_buffer *bufs[2] = {NULL, NULL};
	struct chain_read reads[CHAIN_READS];
	unsigned nslot = CHAIN_SLOT0, nread = 0, k;
	int vec = n % 4 == 0;
	const char *off = getenv("DG_NO_FUSION");

	*used = 0;
	if (off && *off && strcmp(off, "0"))
		return DG_OK;
	for (k = 0; k < ncalls && k < CHAIN_STEPS && chainable(&calls[k], n); k++) {
		const struct dg_kcall *c = &calls[k];
		const struct dg_vk_buffer *b2[2] = {bufs[0], bufs[1]};
		uint32_t field[3] = {0, 0, 0};
		unsigned ns = nslot, nr = nread;
		int ok = 1, v2 = vec && c->out.off % 16 == 0;
		for (unsigned j = 0; j < c->n.nin && ok; j++) {
			struct dg_bref r = c->in[j];
			int one = c->in_node[j].count == 1 && n > 1, from = -1, bi;
			/* the latest earlier step that wrote exactly here: a register */
			for (unsigned s = k; !one && s-- > 0;)
				if (calls[s].out.buf == r.buf && calls[s].out.off == r.off) {
					from = (int)s;
					break;
				}
			if (from >= 0) {
				field[j] = 3u | (uint32_t)from << 3;
				continue;
			}
			/* else from memory, which no earlier step may have written
			 * (but at exactly its place: then it is a register above) */
			for (unsigned s = 0; s < k && ok; s++)
				ok = !meet(r, one ? sizeof(float) : bytes, calls[s].out, bytes);
			bi = binding(b2, r.buf);
			if (!ok || bi < 0 || ns >= CHAIN_WORDS) {
				ok = 0;
				break;
			}
			v2 = v2 && (one || r.off % 16 == 0);
			w[ns] = dg_vkk_elems(r);
			field[j] = (one ? 2u : 1u) | (uint32_t)bi << 2 | ns++ << 3;
			reads[nr++] = (struct chain_read){r, one};
		}
		int bo = ok ? binding(b2, c->out.buf) : -1;
		if (!ok || bo < 0 || !write_ok(c->out, bytes, reads, nr, calls, k))
			break;
		spec[2 + k] = dg_vkk_codes[c->n.op] | field[0] << 5 | field[1] << 13 |
			      field[2] << 21 | 1u << 29 | (uint32_t)bo << 30;
		w[1 + k] = dg_vkk_elems(c->out);
		w[7 + 2 * k] = dg_vkk_f2u(c->n.fa[0]);
		w[8 + 2 * k] = dg_vkk_f2u(c->n.fa[1]);
		bufs[0] = b2[0], bufs[1] = b2[1];
		nslot = ns, nread = nr, vec = v2;
	}
	if (k < 2)
		return DG_OK;
	/* A store that a later step of the chain overwrites is dead. */
	for (unsigned s = 0; s < k; s++)
		for (unsigned t = s + 1; t < k; t++)
			if (calls[t].out.buf == calls[s].out.buf && calls[t].out.off == calls[s].out.off)
				spec[2 + s] &= ~(1u << 29);
	spec[0] = k;
	spec[1] = (uint32_t)vec;
	w[0] = (uint32_t)n;
	const struct dg_vk_buffer *binds[2] = {bufs[0], bufs[1] ? bufs[1] : bufs[0]};
	uint32_t gx, gy;
	dg_vkk_grid(vec ? n / 4 : n, &gx, &gy);
	int st = dg_vkk_record(vk, p, "graph_chain", binds, 2, w, sizeof w, spec, 2 + CHAIN_STEPS,
			       gx, gy);
	if (!st)
		*used = k;
	return st;
}
