/* cpu/dnnl_matmul.c — matmul plans (linear layers and their backward
 * pieces), broadcasting binary ops and axis reductions. */
#include "dg/error.h"
#include "cpu/dnnl_impl.h"

/* A row-major rows×cols matrix (batch of them when batch > 0) read
 * transposed when trans: the same bytes seen as cols×rows. */
static int md_matrix(dnnl_memory_desc_t *md, int64_t batch, int64_t rows,
		     int64_t cols, int trans)
{
	dnnl_dims_t d, s;
	int nd = batch ? 3 : 2, o = batch ? 1 : 0;

	if (rows < 1 || cols < 1 || (batch && batch < 1))
		return dg_error(DG_EUSAGE, "oneDNN matmul: bad shape %lldx%lld",
				(long long)rows, (long long)cols);
	/* Logical shape is rows×cols; physical storage is cols×rows when
	 * transposed. */
	d[o] = rows;
	d[o + 1] = cols;
	s[o] = trans ? 1 : cols;
	s[o + 1] = trans ? rows : 1;
	if (batch) {
		d[0] = batch;
		s[0] = rows * cols;
	}
	return dgd_fail(DNNL(memory_desc_init_by_strides)(md, nd, d, dnnl_f32, s),
			"matmul descriptor");
}

int dg_dnnl_matmul_plan(struct dg_dnnl_plan **out, int64_t batch,
			int64_t m, int64_t n, int64_t k, unsigned flags,
			int broadcast_b, enum dg_dnnl_act act, float alpha)
{
	static const int args_bias[] = { DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS,
					 DNNL_ARG_DST };
	static const int args_nobias[] = { DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, 0, DNNL_ARG_DST };
	dnnl_memory_desc_t a, b, bias, c;
	dnnl_matmul_desc_t desc;
	dnnl_post_ops_t po = NULL;
	int64_t nb = batch > 1 ? batch : 0;
	int has_bias = !!(flags & DG_DNNL_BIAS), st;

	*out = NULL;
	if ((st = dgd_ready()))
		return st;
	if (batch < 1)
		return dg_error(DG_EUSAGE, "oneDNN matmul: batch %lld", (long long)batch);
	if ((st = md_matrix(&a, nb, m, k, !!(flags & DG_DNNL_TRANS_A))) ||
	    (st = md_matrix(&b, nb ? (broadcast_b ? 1 : nb) : 0, k, n,
			    !!(flags & DG_DNNL_TRANS_B))) ||
	    (st = md_matrix(&c, nb, m, n, 0)) ||
	    (has_bias && (st = md_matrix(&bias, nb ? 1 : 0, 1, n, 0))))
		return st;
	if ((st = dgd_fail(DNNL(matmul_desc_init)(&desc, &a, &b, has_bias ? &bias : NULL, &c),
			   "matmul")))
		return st;
	if ((st = dgd_epilogue(&po, act, alpha, !!(flags & DG_DNNL_ACCUMULATE))))
		return st;
	st = dgd_plan_make(out, &desc, po, NULL, has_bias ? args_bias : args_nobias, 4,
			   "matmul");
	if (po)
		DNNL(post_ops_destroy)(po);
	return st;
}

static int check_dims(int rank, const int64_t *dims, const char *what)
{
	if (rank < 1 || rank > 6)
		return dg_error(DG_EUSAGE, "oneDNN %s: rank %d not in 1..6", what, rank);
	for (int i = 0; i < rank; i++)
		if (dims[i] < 1)
			return dg_error(DG_EUSAGE, "oneDNN %s: dimension %d is %lld", what, i,
					(long long)dims[i]);
	return DG_OK;
}

int dg_dnnl_binary_plan(struct dg_dnnl_plan **out, enum dg_dnnl_binop op,
			int rank, const int64_t *adims, const int64_t *bdims,
			const int64_t *dims)
{
	static const dnnl_alg_kind_t algs[] = {
		[DG_DNNL_ADD] = dnnl_binary_add, [DG_DNNL_SUB] = dnnl_binary_sub,
		[DG_DNNL_MUL] = dnnl_binary_mul, [DG_DNNL_DIV] = dnnl_binary_div,
		[DG_DNNL_MAX] = dnnl_binary_max, [DG_DNNL_MIN] = dnnl_binary_min,
	};
	static const int straight[] = { DNNL_ARG_SRC_0, DNNL_ARG_SRC_1, DNNL_ARG_DST };
	static const int swapped[] = { DNNL_ARG_SRC_1, DNNL_ARG_SRC_0, DNNL_ARG_DST };
	dnnl_memory_desc_t a, b, d;
	dnnl_binary_desc_t desc;
	int a_full = 1, st;

	*out = NULL;
	if (op < DG_DNNL_ADD || op > DG_DNNL_MIN)
		return dg_error(DG_EUSAGE, "oneDNN binary: unknown op %d", (int)op);
	if ((st = check_dims(rank, adims, "binary")) || (st = check_dims(rank, bdims, "binary")) ||
	    (st = check_dims(rank, dims, "binary")))
		return st;
	for (int i = 0; i < rank; i++) {
		if ((adims[i] != dims[i] && adims[i] != 1) || (bdims[i] != dims[i] && bdims[i] != 1))
			return dg_error(DG_EUSAGE, "oneDNN binary: shapes do not broadcast");
		a_full &= adims[i] == dims[i];
	}
	/* oneDNN 2.6 broadcasts only src1, so a broadcast first operand of a
	 * commutative op becomes the second one. */
	int swap = !a_full;
	if (swap) {
		for (int i = 0; i < rank; i++)
			if (bdims[i] != dims[i])
				return dg_error(DG_EUSAGE, "oneDNN binary: both operands broadcast");
		if (op == DG_DNNL_SUB || op == DG_DNNL_DIV)
			return dg_error(DG_EUSAGE,
					"oneDNN binary: broadcast first operand of sub/div");
	}
	if ((st = dgd_md_plain(&a, rank, swap ? bdims : adims)) ||
	    (st = dgd_md_plain(&b, rank, swap ? adims : bdims)) ||
	    (st = dgd_md_plain(&d, rank, dims)))
		return st;
	if ((st = dgd_fail(DNNL(binary_desc_init)(&desc, algs[op], &a, &b, &d), "binary")))
		return st;
	return dgd_plan_make(out, &desc, NULL, NULL, swap ? swapped : straight, 3, "binary");
}

int dg_dnnl_reduce_plan(struct dg_dnnl_plan **out, int rank,
			const int64_t *sdims, const int64_t *ddims, int mean)
{
	static const int args[] = { DNNL_ARG_SRC, DNNL_ARG_DST };
	dnnl_memory_desc_t s, d;
	dnnl_reduction_desc_t desc;
	int st;

	*out = NULL;
	if ((st = check_dims(rank, sdims, "reduction")) ||
	    (st = check_dims(rank, ddims, "reduction")))
		return st;
	for (int i = 0; i < rank; i++)
		if (ddims[i] != sdims[i] && ddims[i] != 1)
			return dg_error(DG_EUSAGE, "oneDNN reduction: dst dim %d must be %lld or 1",
					i, (long long)sdims[i]);
	if ((st = dgd_md_plain(&s, rank, sdims)) || (st = dgd_md_plain(&d, rank, ddims)))
		return st;
	if ((st = dgd_fail(DNNL(reduction_desc_init)(&desc, mean ? dnnl_reduction_mean
							    : dnnl_reduction_sum,
						     &s, &d, 0.0f, 0.0f), "reduction")))
		return st;
	return dgd_plan_make(out, &desc, NULL, NULL, args, 2, "reduction");
}
