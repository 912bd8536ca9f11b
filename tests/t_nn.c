/* t_nn.c — the layer library (dg/nn.h): the names, shapes, kinds and
 * groups each layer declares, reuse by name and the errors; initializer
 * statistics; and, on the cpu device and on Vulkan, the numbers: the
 * equalized learning rate's scale and gradient, spectral normalization
 * against a double-precision power iteration and Jacobi eigenvalues
 * (σ(W_sn) -> 1, u kept across runs and executables, untouched in
 * inference, PyTorch's gradient), batch norm in training and inference,
 * instance and layer norm, residual blocks and embeddings against double
 * C references. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dg.h"
#include "tap.h"

static const char *devices[2] = {"cpu", NULL};
static struct dg_init INIT0 = {DG_INIT_ZEROS, 0, 0};

/* ---- helpers --------------------------------------------------------------------- */

static int contains(const char *hay, const char *needle)
{
	int r = hay && strstr(hay, needle) != NULL;
	if (!r)
		diag("  '%s' lacks '%s'", hay ? hay : "(null)", needle);
	return r;
}

/* Deterministic values in [-1, 1). */
static void fill(float *v, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (float)sin(0.7 * (double)i + 1.3 * seed) * (float)cos(0.31 * (double)i * seed);
}

/* The variable's values (caller frees), or NULL. */
static struct dg_array *var(struct dg_graph *g, const char *name)
{
	struct dg_array *a = NULL;
	if (dg_var_get(g, name, &a))
		return NULL;
	return a;
}

static int set_var(struct dg_graph *g, const char *name, const float *v)
{
	struct dg_array *a = var(g, name);
	if (!a)
		return -1;
	memcpy(a->data, v, dg_array_bytes(a));
	int st = dg_var_set(g, name, a);
	dg_array_free(a);
	return st;
}

/* Whether variable i of g is name, of kind and shape "AxBxC". */
static int is_var(struct dg_graph *g, size_t i, const char *name, enum dg_var_kind kind,
		  const char *shape)
{
	char got[128] = "?";
	const char *n = dg_var_name(g, i);
	struct dg_array *a = n ? var(g, n) : NULL;
	if (a)
		dg_shape_format(got, sizeof got, a->rank, a->dims);
	int r = n && !strcmp(n, name) && dg_var_kind(g, i) == kind && !strcmp(got, shape);
	if (!r)
		diag("  variable %zu: got %s (kind %d) %s, want %s (kind %d) %s", i,
		     n ? n : "(none)", (int)dg_var_kind(g, i), got, name, (int)kind, shape);
	dg_array_free(a);
	return r;
}

/* Checks that the variables of g after the run counter are exactly want
 * ({name, kind, shape}), in order. */
struct want {
	const char *name;
	enum dg_var_kind kind;
	const char *shape;
};
static int vars_are(struct dg_graph *g, const struct want *w, size_t n)
{
	int r = dg_var_count(g) == n + 1;
	if (!r)
		diag("  %zu variables, want %zu", dg_var_count(g) - 1, n);
	for (size_t i = 0; i < n && i + 1 < dg_var_count(g); i++)
		r &= is_var(g, i + 1, w[i].name, w[i].kind, w[i].shape);
	return r;
}

static dg_tensor input(struct dg_graph *g, const char *name, unsigned rank,
		       const uint64_t *dims)
{
	return dg_input(g, name, DG_F32, rank, dims);
}

/* Compiles outs on dev, feeds x (if not NULL) as input "x", runs n
 * times and reads output i into outv[i] (sized by the caller). */
static int run(struct dg_graph *g, const char *dev, size_t nout, const dg_tensor *outs,
	       const float *x, uint64_t nx, unsigned n, float **outv)
{
	struct dg_exec *e = NULL;
	int st = dg_compile(g, dev, nout, outs, 0, NULL, &e);
	if (!st && x)
		st = dg_exec_feed(e, "x", DG_F32, x, nx);
	for (unsigned r = 0; r < n && !st; r++)
		st = dg_exec_run(e);
	for (size_t i = 0; i < nout && !st; i++)
		st = dg_exec_read(e, i, outv[i], dg_count(g, outs[i]));
	if (st)
		diag("  %s: %s", dev, dg_errmsg());
	dg_exec_free(e);
	return st;
}

static double max_err(const float *a, const double *b, size_t n, double *scale)
{
	double e = 0, s = 0;
	for (size_t i = 0; i < n; i++) {
		e = fmax(e, fabs(a[i] - b[i]));
		s = fmax(s, fabs(b[i]));
	}
	if (scale)
		*scale = s;
	return e;
}

/* ---- double references -------------------------------------------------------------- */

/* y = conv2d(x, w) + b: x n×c×h×w, w o×c×k×k, y n×o×oh×ow. */
static void ref_conv(const double *x, unsigned n, unsigned c, unsigned h, unsigned w,
		     const double *wt, const double *b, unsigned o, unsigned k, unsigned stride,
		     unsigned pad, double *y, unsigned *oh_out, unsigned *ow_out)
{
	unsigned oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
	for (unsigned i = 0; i < n; i++)
		for (unsigned f = 0; f < o; f++)
			for (unsigned p = 0; p < oh; p++)
				for (unsigned q = 0; q < ow; q++) {
					double s = b ? b[f] : 0;
					for (unsigned ch = 0; ch < c; ch++)
						for (unsigned a = 0; a < k; a++)
							for (unsigned bb = 0; bb < k; bb++) {
								int yy = (int)(p * stride + a) - (int)pad;
								int xx = (int)(q * stride + bb) - (int)pad;
								if (yy < 0 || xx < 0 || yy >= (int)h ||
								    xx >= (int)w)
									continue;
								s += wt[((f * c + ch) * k + a) * k + bb] *
								     x[((i * c + ch) * h + (unsigned)yy) * w +
								       (unsigned)xx];
							}
					y[((i * o + f) * oh + p) * ow + q] = s;
				}
	*oh_out = oh;
	*ow_out = ow;
}

static double *to_double(const float *v, size_t n)
{
	double *d = malloc(n * sizeof *d);
	for (size_t i = 0; i < n; i++)
		d[i] = v[i];
	return d;
}

/* The largest eigenvalue of the symmetric n×n matrix a (destroyed), by
 * cyclic Jacobi rotations. */
static double max_eigen(double *a, int n)
{
	for (int sweep = 0; sweep < 60; sweep++) {
		double off = 0, diag2 = 0;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				*(i == j ? &diag2 : &off) += a[i * n + j] * a[i * n + j];
		if (off <= 1e-28 * diag2)
			break;
		for (int p = 0; p < n; p++)
			for (int q = p + 1; q < n; q++) {
				double apq = a[p * n + q];
				if (fabs(apq) < 1e-300)
					continue;
				double th = (a[q * n + q] - a[p * n + p]) / (2 * apq);
				double t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
				double c = 1 / sqrt(t * t + 1), s = t * c;
				for (int k = 0; k < n; k++) {
					double kp = a[k * n + p], kq = a[k * n + q];
					a[k * n + p] = c * kp - s * kq;
					a[k * n + q] = s * kp + c * kq;
				}
				for (int k = 0; k < n; k++) {
					double pk = a[p * n + k], qk = a[q * n + k];
					a[p * n + k] = c * pk - s * qk;
					a[q * n + k] = s * pk + c * qk;
				}
			}
	}
	double m = a[0];
	for (int i = 1; i < n; i++)
		m = fmax(m, a[i * n + i]);
	return m;
}

/* σ_max of the m×n matrix w: √(largest eigenvalue of w·wᵀ). */
static double sigma_max(const double *w, int m, int n)
{
	double *a = calloc((size_t)m * m, sizeof *a);
	for (int i = 0; i < m; i++)
		for (int j = 0; j < m; j++)
			for (int k = 0; k < n; k++)
				a[i * m + j] += w[i * n + k] * w[j * n + k];
	double e = max_eigen(a, m);
	free(a);
	return sqrt(e);
}

static void unit(double *v, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += v[i] * v[i];
	s = 1 / fmax(sqrt(s), 1e-12);
	for (int i = 0; i < n; i++)
		v[i] *= s;
}

/* One power iteration on the m×n matrix w from u (m): v = Wᵀu/‖·‖, u =
 * Wv/‖·‖; returns σ = uᵀWv; fills v if not NULL. */
static double power_step(const double *w, int m, int n, double *u, double *v_out)
{
	double *v = calloc((size_t)n, sizeof *v), *wv = calloc((size_t)m, sizeof *wv), s = 0;
	for (int j = 0; j < n; j++)
		for (int i = 0; i < m; i++)
			v[j] += w[i * n + j] * u[i];
	unit(v, n);
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++)
			wv[i] += w[i * n + j] * v[j];
	memcpy(u, wv, (size_t)m * sizeof *u);
	unit(u, m);
	for (int i = 0; i < m; i++)
		s += u[i] * wv[i];
	if (v_out)
		memcpy(v_out, v, (size_t)n * sizeof *v);
	free(v);
	free(wv);
	return s;
}

/* ---- names, shapes, reuse, errors -------------------------------------------------- */

static void test_names(void)
{
	struct dg_graph *g = dg_graph_new(1);
	struct dg_nn root, enc, D, blk;
	is_int(dg_nn_init(&root, g, 1), 0, "root scope");
	is_int(root.struct_size, sizeof root, "  struct_size set");
	dg_nn_scope(&enc, &root, "enc");
	is_str(enc.prefix, "enc.", "scope 'enc' has prefix 'enc.'");
	dg_nn_scope(&D, &root, "D");
	D.group = 1;
	D.flags = DG_NN_SPECTRAL_NORM;
	dg_nn_scope(&blk, &enc, "block1");
	is_str(blk.prefix, "enc.block1.", "nested scope 'enc.block1.'");

	dg_tensor x = input(g, "x", DG_SHAPE(4, 10));
	dg_tensor y = dg_nn_dense(&enc, "fc1", x, 7, DG_NN_OPT(.act = DG_ACT_RELU));
	is_int((long long)dg_dim(g, y, 1), 7, "dense 10 -> 7");
	dg_tensor im = input(g, "im", DG_SHAPE(2, 3, 8, 8));
	dg_tensor c = dg_nn_conv2d(&enc, "conv1", im, 5, 3, 1, 1, NULL);
	uint64_t d[DG_MAX_RANK];
	ok(dg_shape(g, c, d) == 4 && d[1] == 5 && d[2] == 8 && d[3] == 8, "conv2d 3x3 pad 1: 2x5x8x8");
	dg_tensor t = dg_nn_conv_transpose2d(&enc, "up", c, 4, 4, 2, 1, NULL);
	ok(dg_shape(g, t, d) == 4 && d[1] == 4 && d[2] == 16 && d[3] == 16,
	   "conv_transpose2d 4x4 stride 2: 2x4x16x16");
	dg_nn_batch_norm(&enc, "bn", c, NULL);
	dg_nn_instance_norm(&enc, "in", c, NULL);
	dg_nn_instance_norm(&enc, "in2", c, DG_NN_OPT(.affine = 1));
	dg_nn_layer_norm(&enc, "ln", c, NULL);
	dg_tensor idx = dg_input(g, "idx", DG_I32, DG_SHAPE(6));
	dg_tensor e = dg_nn_embedding(&enc, "emb", idx, 10, 3, NULL);
	ok(dg_shape(g, e, d) == 2 && d[0] == 6 && d[1] == 3, "embedding: 6 indices -> 6x3");
	dg_tensor mc = dg_nn_masked_conv2d(&enc, "mc", im, 6, 5, 'A', 1, NULL);
	ok(dg_shape(g, mc, d) == 4 && d[1] == 6 && d[2] == 8, "masked conv keeps 8x8");
	dg_nn_dense(&blk, "fc", x, 2, DG_NN_OPT(.flags = DG_NN_NO_BIAS));
	dg_nn_dense(&D, "fc", x, 3, NULL);
	dg_nn_dense(&D, "eq", x, 3, NULL);
	dg_nn_param(&enc, "extra.scale", DG_SHAPE(1), INIT0);
	is_int(dg_graph_status(g), 0, "every layer builds");
	if (dg_graph_status(g))
		diag("  %s", dg_graph_error(g));
	static const struct want w[] = {
		{"enc.fc1.w", DG_VAR_PARAM, "7x10"},     {"enc.fc1.b", DG_VAR_PARAM, "7"},
		{"enc.conv1.w", DG_VAR_PARAM, "5x3x3x3"}, {"enc.conv1.b", DG_VAR_PARAM, "5"},
		{"enc.up.w", DG_VAR_PARAM, "5x4x4x4"},    {"enc.up.b", DG_VAR_PARAM, "4"},
		{"enc.bn.w", DG_VAR_PARAM, "5"},          {"enc.bn.b", DG_VAR_PARAM, "5"},
		{"enc.bn.mean", DG_VAR_BUFFER, "5"},      {"enc.bn.var", DG_VAR_BUFFER, "5"},
		{"enc.in2.w", DG_VAR_PARAM, "5"},         {"enc.in2.b", DG_VAR_PARAM, "5"},
		{"enc.ln.w", DG_VAR_PARAM, "5x8x8"},      {"enc.ln.b", DG_VAR_PARAM, "5x8x8"},
		{"enc.emb.w", DG_VAR_PARAM, "10x3"},      {"enc.mc.w", DG_VAR_PARAM, "6x3x5x5"},
		{"enc.mc.b", DG_VAR_PARAM, "6"},          {"enc.block1.fc.w", DG_VAR_PARAM, "2x10"},
		{"D.fc.w", DG_VAR_PARAM, "3x10"},         {"D.fc.w_u", DG_VAR_BUFFER, "3"},
		{"D.fc.b", DG_VAR_PARAM, "3"},            {"D.eq.w", DG_VAR_PARAM, "3x10"},
		{"D.eq.w_u", DG_VAR_BUFFER, "3"},         {"D.eq.b", DG_VAR_PARAM, "3"},
		{"enc.extra.scale", DG_VAR_PARAM, "1"},
	};
	ok(vars_are(g, w, sizeof w / sizeof w[0]),
	   "names, kinds, shapes and order of every variable declared");

	/* the same names again: the same parameters, nothing declared */
	size_t nv = dg_var_count(g);
	dg_tensor x3 = input(g, "x3", DG_SHAPE(3, 10));
	dg_tensor y3 = dg_nn_dense(&enc, "fc1", x3, 7, NULL);
	dg_nn_conv2d(&enc, "conv1", im, 5, 3, 1, 1, NULL);
	dg_nn_batch_norm(&enc, "bn", c, NULL);
	ok(y3.id && dg_dim(g, y3, 0) == 3 && dg_var_count(g) == nv,
	   "a layer applied again reuses its parameters (no new variable)");
	ok(dg_var_tensor(g, "enc.fc1.w").id && !dg_var_tensor(g, "enc.fc1.w.m").id &&
		   !dg_var_tensor(g, "nothing").id,
	   "dg_var_tensor finds parameters and buffers only");
	dg_tensor x11 = input(g, "x11", DG_SHAPE(3, 11));
	ok(!dg_nn_dense(&enc, "fc1", x11, 7, NULL).id && dg_graph_status(g) == DG_EUSAGE,
	   "the same name with another input size is refused");
	ok(contains(dg_graph_error(g), "enc.fc1.w: declared before as a parameter 7x10"),
	   "  naming the parameter and both shapes");
	ok(!dg_nn_dense(&enc, "fc9", x, 7, NULL).id && dg_var_count(g) == nv,
	   "  and the graph is sticky: later layers return DG_NONE and declare nothing");
	dg_graph_free(g);

	/* refusals, each on a fresh graph */
	struct {
		const char *what, *needle;
		int kind;
	} cases[] = {
		{"a layer name with a dot", "not 1 to 63", 0},
		{"an empty scope name", "not 1 to 63", 1},
		{"a name too long", "longer than", 2},
		{"options without struct_size", "DG_NN_OPT", 3},
		{"spectral norm with the equalized lr", "do not go together", 4},
		{"a parameter in another group", "in group 1", 5},
		{"dense on a vector", "want N×in", 6},
		{"assign to a parameter", "dg_buffer", 7},
		{"an encoder whose sides do not divide", "divisible by 4", 8},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		g = dg_graph_new(1);
		dg_nn_init(&root, g, 1);
		x = input(g, "x", DG_SHAPE(4, 10));
		struct dg_nn_opt bad = {0};
		switch (cases[i].kind) {
		case 0: dg_nn_dense(&root, "fc.1", x, 2, NULL); break;
		case 1: dg_nn_scope(&enc, &root, ""); break;
		case 2:
			dg_nn_scope(&enc, &root, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
			dg_nn_dense(&enc, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", x, 2, NULL);
			break;
		case 3: dg_nn_dense(&root, "fc", x, 2, &bad); break;
		case 4:
			dg_nn_dense(&root, "fc", x, 2,
				    DG_NN_OPT(.flags = DG_NN_SPECTRAL_NORM | DG_NN_EQUALIZED_LR));
			break;
		case 5:
			dg_nn_dense(&root, "fc", x, 2, NULL);
			root.group = 1;
			dg_nn_dense(&root, "fc", x, 2, NULL);
			break;
		case 6: dg_nn_dense(&root, "fc", input(g, "v", DG_SHAPE(10)), 2, NULL); break;
		case 7: {
			dg_tensor p = dg_nn_param(&root, "p", DG_SHAPE(10), INIT0);
			dg_assign(g, p, dg_full(g, DG_SHAPE(10), 1), p);
			break;
		}
		case 8: {
			struct dg_nn_coder cd = {.struct_size = sizeof cd, .channels = 1, .height = 6,
						 .width = 6, .hidden = 8, .conv = {4, 8}};
			dg_nn_encoder(&root, &cd, input(g, "im", DG_SHAPE(2, 1, 6, 6)), DG_NONE);
			break;
		}
		}
		ok(dg_graph_status(g) == DG_EUSAGE && contains(dg_graph_error(g), cases[i].needle),
		   "refused: %s", cases[i].what);
		dg_graph_free(g);
	}
}

/* ---- initializers ----------------------------------------------------------------- */

struct stats {
	double mean, sd, absmax;
	size_t n, zeros;
};

static struct stats stats_of(struct dg_graph *g, const char *name)
{
	struct stats s = {0};
	struct dg_array *a = var(g, name);
	if (!a) {
		diag("  no variable %s", name);
		return s;
	}
	const float *v = a->data;
	double sum = 0, sq = 0;
	s.n = dg_array_count(a);
	for (size_t i = 0; i < s.n; i++) {
		sum += v[i];
		sq += (double)v[i] * v[i];
		s.absmax = fmax(s.absmax, fabs(v[i]));
		s.zeros += v[i] == 0;
	}
	s.mean = sum / (double)s.n;
	s.sd = sqrt(fmax(0, sq / (double)s.n - s.mean * s.mean));
	dg_array_free(a);
	return s;
}

/* Uniform in ±bound: inside, reaching near it, sd bound/√3 within rel,
 * mean within five standard errors. */
static int uniform_ok(struct stats s, double bound, double rel)
{
	int r = s.n && s.absmax <= bound * (1 + 1e-6) && s.absmax > 0.98 * bound &&
		fabs(s.sd / (bound / sqrt(3)) - 1) < rel &&
		fabs(s.mean) < 5 * s.sd / sqrt((double)s.n);
	if (!r)
		diag("  n %zu, max |w| %.6g (bound %.6g), sd %.6g (want %.6g), mean %.3g", s.n,
		     s.absmax, bound, s.sd, bound / sqrt(3), s.mean);
	return r;
}

static int normal_ok(struct stats s, double sd, double rel)
{
	int r = s.n && fabs(s.sd / sd - 1) < rel && fabs(s.mean) < 5 * sd / sqrt((double)s.n);
	if (!r)
		diag("  n %zu, sd %.6g (want %.6g), mean %.3g", s.n, s.sd, sd, s.mean);
	return r;
}

/* max |W·Wᵀ - g²I| (rows) or |WᵀW - g²I| (columns) of a variable rows×cols. */
static double orth_err(struct dg_graph *g, const char *name, int by_rows, double gain)
{
	struct dg_array *a = var(g, name);
	if (!a)
		return INFINITY;
	size_t m = a->dims[0], n = dg_array_count(a) / m, k = by_rows ? m : n, len = by_rows ? n : m;
	const float *w = a->data;
	double e = 0;
	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < k; j++) {
			double s = 0;
			for (size_t l = 0; l < len; l++)
				s += by_rows ? (double)w[i * n + l] * w[j * n + l]
					     : (double)w[l * n + i] * w[l * n + j];
			e = fmax(e, fabs(s - (i == j ? gain * gain : 0)));
		}
	dg_array_free(a);
	return e;
}

/* Sample sizes: 300×200 = 60000 weights, whose sample sd has a relative
 * standard error of 0.2% (uniform) to 0.3% (normal): 2% is more than
 * five of them. */
static void test_init(void)
{
	struct dg_graph *g = dg_graph_new(7);
	struct dg_nn nn;
	dg_nn_init(&nn, g, 1);
	dg_tensor x = input(g, "x", DG_SHAPE(2, 300)), x20 = input(g, "x20", DG_SHAPE(2, 20));
	dg_tensor x10 = input(g, "x10", DG_SHAPE(2, 10));
	dg_tensor im = input(g, "im", DG_SHAPE(2, 16, 4, 4)), im3 = input(g, "im3", DG_SHAPE(2, 3, 5, 5));
	dg_nn_dense(&nn, "torch", x, 200, NULL);
	dg_nn_conv_transpose2d(&nn, "tconv", im, 8, 3, 1, 1, NULL);
	dg_nn_dense(&nn, "normal", x, 200, DG_NN_OPT(.init = DG_NN_INIT_NORMAL));
	dg_nn_dense(&nn, "normal5", x, 200, DG_NN_OPT(.init = DG_NN_INIT_NORMAL, .init_scale = 0.5f));
	dg_nn_dense(&nn, "he_u", x, 200, DG_NN_OPT(.init = DG_NN_INIT_HE_UNIFORM));
	dg_nn_dense(&nn, "he_n", x, 200, DG_NN_OPT(.init = DG_NN_INIT_HE_NORMAL));
	dg_nn_dense(&nn, "gl_u", x, 200, DG_NN_OPT(.init = DG_NN_INIT_GLOROT_UNIFORM));
	dg_nn_dense(&nn, "gl_n", x, 200, DG_NN_OPT(.init = DG_NN_INIT_GLOROT_NORMAL));
	dg_nn_dense(&nn, "zeros", x, 20, DG_NN_OPT(.init = DG_NN_INIT_ZEROS));
	dg_nn_dense(&nn, "orth_wide", x20, 8, DG_NN_OPT(.init = DG_NN_INIT_ORTHOGONAL));
	dg_nn_dense(&nn, "orth_tall", x20, 50, DG_NN_OPT(.init = DG_NN_INIT_ORTHOGONAL));
	dg_nn_dense(&nn, "orth_gain", x20, 8,
		    DG_NN_OPT(.init = DG_NN_INIT_ORTHOGONAL, .init_scale = 2));
	dg_nn_conv2d(&nn, "orth_conv", im3, 8, 3, 1, 1, DG_NN_OPT(.init = DG_NN_INIT_ORTHOGONAL));
	dg_nn_dense(&nn, "bias_n", x10, 6000, DG_NN_OPT(.bias_init = DG_NN_INIT_NORMAL,
							   .bias_scale = 0.1f));
	struct dg_nn dc = nn;
	dc.init = DG_NN_INIT_NORMAL;
	dg_nn_dense(&dc, "scoped", x, 200, NULL);
	dg_nn_dense(&dc, "override", x, 200, DG_NN_OPT(.init = DG_NN_INIT_HE_NORMAL));
	if (!ok(dg_graph_status(g) == 0, "initializer layers build"))
		diag("  %s", dg_graph_error(g));

	double r = 1 / sqrt(300);
	ok(uniform_ok(stats_of(g, "torch.w"), r, 0.02),
	   "TORCH (the default): weights U(±1/√fan_in) as nn.Linear");
	ok(uniform_ok(stats_of(g, "torch.b"), r, 0.15), "  and biases U(±1/√fan_in) as well");
	ok(uniform_ok(stats_of(g, "tconv.w"), 1 / sqrt(8 * 9), 0.03) &&
		   stats_of(g, "tconv.b").absmax <= 1 / sqrt(8 * 9),
	   "TORCH on a transposed conv: fan_in = out·k·k (PyTorch's ConvTranspose2d)");
	struct stats z = stats_of(g, "normal.b");
	ok(normal_ok(stats_of(g, "normal.w"), 0.02, 0.02) && z.zeros == z.n,
	   "NORMAL: N(0, 0.02²) (DCGAN), zero bias");
	ok(normal_ok(stats_of(g, "normal5.w"), 0.5, 0.02), "NORMAL with init_scale 0.5");
	ok(uniform_ok(stats_of(g, "he_u.w"), sqrt(6.0 / 300), 0.02), "HE_UNIFORM: U(±√(6/fan_in))");
	ok(normal_ok(stats_of(g, "he_n.w"), sqrt(2.0 / 300), 0.02), "HE_NORMAL: N(0, 2/fan_in)");
	ok(uniform_ok(stats_of(g, "gl_u.w"), sqrt(6.0 / 500), 0.02),
	   "GLOROT_UNIFORM: U(±√(6/(fan_in+fan_out)))");
	ok(normal_ok(stats_of(g, "gl_n.w"), sqrt(2.0 / 500), 0.02),
	   "GLOROT_NORMAL: N(0, 2/(fan_in+fan_out))");
	z = stats_of(g, "zeros.w");
	ok(z.n == 6000 && z.zeros == z.n, "ZEROS");
	double e1 = orth_err(g, "orth_wide.w", 1, 1), e2 = orth_err(g, "orth_tall.w", 0, 1);
	double e3 = orth_err(g, "orth_gain.w", 1, 2), e4 = orth_err(g, "orth_conv.w", 1, 1);
	ok(e1 < 1e-5 && e2 < 1e-5 && e3 < 4e-5 && e4 < 1e-5,
	   "ORTHOGONAL: W·Wᵀ = I (8x20), WᵀW = I (50x20), 4I with gain 2, conv 8x27 "
	   "(errors %.1g %.1g %.1g %.1g)", e1, e2, e3, e4);
	ok(normal_ok(stats_of(g, "bias_n.b"), 0.1, 0.05), "bias_init NORMAL with bias_scale 0.1");
	ok(normal_ok(stats_of(g, "scoped.w"), 0.02, 0.02) &&
		   normal_ok(stats_of(g, "override.w"), sqrt(2.0 / 300), 0.02),
	   "a scope's init applies to its layers; a layer's own overrides it");
	dg_graph_free(g);
}

/* ---- equalized learning rate ------------------------------------------------------- */

static void test_eqlr(const char *dev)
{
	enum { N = 4, IN = 200, OUT = 100 };
	struct dg_graph *g = dg_graph_new(3);
	struct dg_nn nn;
	dg_nn_init(&nn, g, 1);
	nn.flags = DG_NN_EQUALIZED_LR;
	dg_tensor x = input(g, "x", DG_SHAPE(N, IN));
	dg_tensor y = dg_nn_dense(&nn, "fc", x, OUT, NULL);
	dg_tensor y1 = dg_nn_dense(&nn, "fc1", x, OUT, DG_NN_OPT(.eq_gain = 1));
	static float xv[N * IN], rv[N * OUT], im[2 * 4 * 3 * 3];
	fill(xv, N * IN, 1);
	fill(rv, N * OUT, 2);
	fill(im, 2 * 4 * 3 * 3, 3);
	dg_tensor loss = dg_sum(g, dg_mul(g, y, dg_constant(g, DG_SHAPE(N, OUT), rv)), DG_AXES_ALL, 0);
	dg_tensor gw = dg_grad(g, loss, dg_var_tensor(g, "fc.w"));
	/* a transposed conv's fan-in is in·k·k: compare with the scale applied by hand */
	dg_tensor xi = dg_constant(g, DG_SHAPE(2, 4, 3, 3), im);
	dg_tensor t = dg_nn_conv_transpose2d(&nn, "tc", xi, 2, 4, 2, 1, NULL);
	struct dg_conv p = {.stride = 2, .pad = 1};
	dg_tensor th = dg_conv_transpose2d(g, xi, dg_mul_scalar(g, dg_var_tensor(g, "tc.w"),
								 (float)(sqrt(2) / sqrt(4 * 16))),
					   DG_NONE, &p);
	dg_tensor outs[5] = {y, y1, gw, t, th};
	static float yv[N * OUT], y1v[N * OUT], gv[OUT * IN], tv[2 * 2 * 6 * 6], thv[2 * 2 * 6 * 6];
	float *o[5] = {yv, y1v, gv, tv, thv};
	if (dev == devices[0]) {
		struct stats s = stats_of(g, "fc.w"), b = stats_of(g, "fc.b");
		ok(normal_ok(s, 1, 0.03) && b.zeros == b.n,
		   "equalized lr: weights stored N(0, 1), biases 0");
	}
	struct dg_array *w = var(g, "fc.w"), *w1 = var(g, "fc1.w");
	int st = !w || !w1 || run(g, dev, 5, outs, xv, N * IN, 1, o);
	ok(!st, "[%s] equalized-lr layers run", dev);
	if (!st) {
		static double ry[N * OUT], ry1[N * OUT], rg[OUT * IN];
		const float *wv = w->data, *w1v = w1->data;
		double c = sqrt(2.0 / IN), c1 = 1 / sqrt((double)IN), sc;
		for (int i = 0; i < N; i++)
			for (int j = 0; j < OUT; j++) {
				double s = 0, s1 = 0;
				for (int k = 0; k < IN; k++) {
					s += (double)xv[i * IN + k] * wv[j * IN + k];
					s1 += (double)xv[i * IN + k] * w1v[j * IN + k];
				}
				ry[i * OUT + j] = c * s;
				ry1[i * OUT + j] = c1 * s1;
			}
		for (int j = 0; j < OUT; j++)
			for (int k = 0; k < IN; k++) {
				double s = 0;
				for (int i = 0; i < N; i++)
					s += (double)rv[i * OUT + j] * xv[i * IN + k];
				rg[j * IN + k] = c * s;
			}
		double e = max_err(yv, ry, N * OUT, &sc);
		ok(e < 1e-5 * sc, "[%s] y = x·(√(2/fan_in)·W)ᵀ (max error %.2g of %.3g)", dev, e, sc);
		e = max_err(y1v, ry1, N * OUT, &sc);
		ok(e < 1e-5 * sc, "[%s] eq_gain 1: y = x·(W/√fan_in)ᵀ (max error %.2g)", dev, e);
		e = max_err(gv, rg, OUT * IN, &sc);
		ok(e < 1e-5 * sc, "[%s] the stored weight's gradient is scaled too (max error %.2g "
		   "of %.3g)", dev, e, sc);
		double te = 0;
		for (int i = 0; i < 2 * 2 * 6 * 6; i++)
			te = fmax(te, fabs(tv[i] - thv[i]));
		ok(te == 0, "[%s] transposed conv: scale √2/√(in·k·k) (difference %.2g)", dev, te);
	}
	dg_array_free(w);
	dg_array_free(w1);
	dg_graph_free(g);
}

/* ---- spectral normalization -------------------------------------------------------- */

enum { SM = 12, SN = 20 };

/* Reads a variable into doubles (n values). */
static int var_d(struct dg_graph *g, const char *name, double *out, size_t n)
{
	struct dg_array *a = var(g, name);
	if (!a || dg_array_count(a) != n) {
		dg_array_free(a);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = ((float *)a->data)[i];
	dg_array_free(a);
	return 0;
}

/* The m×n matricization of a 4-d weight o×i×k×k (out_axis 0) or
 * i×o×k×k (out_axis 1, rows are axis 1). */
static void matricize(const float *w, const uint64_t *d, unsigned out_axis, double *m)
{
	uint64_t kk = d[2] * d[3];
	for (uint64_t a = 0; a < d[0]; a++)
		for (uint64_t b = 0; b < d[1]; b++)
			for (uint64_t k = 0; k < kk; k++) {
				double v = w[(a * d[1] + b) * kk + k];
				if (out_axis == 0)
					m[a * d[1] * kk + b * kk + k] = v;
				else
					m[b * d[0] * kk + a * kk + k] = v;
			}
}

static void test_spectral(const char *dev)
{
	struct dg_graph *g = dg_graph_new(5);
	struct dg_nn D;
	dg_nn_init(&D, g, 1);
	D.flags = DG_NN_SPECTRAL_NORM;
	static float rv[SM * SN];
	fill(rv, SM * SN, 4);
	dg_tensor wsn = dg_nn_weight(&D, "fc.w", DG_SHAPE(SM, SN), 0, NULL);
	dg_tensor loss = dg_sum(g, dg_mul(g, wsn, dg_constant(g, DG_SHAPE(SM, SN), rv)),
				DG_AXES_ALL, 0);
	dg_tensor gw = dg_grad(g, loss, dg_var_tensor(g, "fc.w"));
	uint64_t cd[4] = {6, 4, 3, 3}, td[4] = {4, 6, 3, 3};
	dg_tensor wc = dg_nn_weight(&D, "c.w", 4, cd, 0, NULL);
	dg_tensor wt = dg_nn_weight(&D, "t.w", 4, td, 1, NULL);
	ok(dg_var_kind(g, 2) == DG_VAR_BUFFER && !strcmp(dg_var_name(g, 2), "fc.w_u"),
	   "[%s] spectral norm keeps u as the buffer fc.w_u (saved with the model)", dev);
	static double w[SM * SN], u[SM], v[SN], ref[SM * SN], rg[SM * SN];
	int st = var_d(g, "fc.w", w, SM * SN) || var_d(g, "fc.w_u", u, SM);
	unit(u, SM);
	double sigma = power_step(w, SM, SN, u, v);
	/* d/dW Σ R⊙W/σ with σ = uᵀWv, u and v constants */
	double rw = 0;
	for (int i = 0; i < SM * SN; i++)
		rw += rv[i] * w[i];
	for (int i = 0; i < SM; i++)
		for (int j = 0; j < SN; j++) {
			ref[i * SN + j] = w[i * SN + j] / sigma;
			rg[i * SN + j] = rv[i * SN + j] / sigma - rw / (sigma * sigma) * u[i] * v[j];
		}
	struct dg_exec *e = NULL;
	dg_tensor outs[4] = {wsn, gw, wc, wt};
	st = st || dg_compile(g, dev, 4, outs, 0, NULL, &e) || dg_exec_run(e);
	static float ow[SM * SN], og[SM * SN], oc[6 * 36], ot[4 * 54];
	st = st || dg_exec_read(e, 0, ow, SM * SN) || dg_exec_read(e, 1, og, SM * SN);
	if (!ok(!st, "[%s] a spectrally normalized weight runs", dev)) {
		diag("  %s", dg_errmsg());
		dg_exec_free(e);
		dg_graph_free(g);
		return;
	}
	double sc, err = max_err(ow, ref, SM * SN, &sc);
	ok(err < 1e-5 * sc, "[%s] run 1: W/σ with σ = uᵀWv after one power iteration from the "
	   "stored u (max error %.2g of %.3g)", dev, err, sc);
	static double du[SM];
	var_d(g, "fc.w_u", du, SM);
	double ue = 0;
	for (int i = 0; i < SM; i++)
		ue = fmax(ue, fabs(du[i] - u[i]));
	ok(ue < 1e-5, "[%s]   and u := Wv/‖Wv‖ stored at the end of the run (max error %.2g)", dev,
	   ue);
	err = max_err(og, rg, SM * SN, &sc);
	ok(err < 1e-4 * sc, "[%s]   gradient R/σ - (ΣR⊙W/σ²)·u·vᵀ, u and v not differentiated "
	   "(max error %.2g of %.3g)", dev, err, sc);
	for (int r = 1; r < 60 && !st; r++) {
		st = dg_exec_run(e);
		sigma = power_step(w, SM, SN, u, NULL);
	}
	st = st || dg_exec_read(e, 0, ow, SM * SN) || dg_exec_read(e, 2, oc, 6 * 36) ||
	     dg_exec_read(e, 3, ot, 4 * 54);
	for (int i = 0; i < SM * SN; i++)
		ref[i] = w[i] / sigma;
	err = max_err(ow, ref, SM * SN, &sc);
	var_d(g, "fc.w_u", du, SM);
	ue = 0;
	for (int i = 0; i < SM; i++)
		ue = fmax(ue, fabs(du[i] - u[i]));
	ok(!st && err < 1e-5 * sc && ue < 1e-5,
	   "[%s] run 60: u carried across runs, W/σ and u as 60 iterations in double "
	   "(errors %.2g, %.2g)", dev, err, ue);
	static double m[SM * SN];
	for (int i = 0; i < SM * SN; i++)
		m[i] = ow[i];
	double s_sn = sigma_max(m, SM, SN), s_w = sigma_max(w, SM, SN);
	ok(fabs(s_sn - 1) < 1e-4, "[%s] σ_max(W_sn) = %.7f by Jacobi eigenvalues of W·Wᵀ", dev, s_sn);
	ok(fabs(sigma / s_w - 1) < 1e-5, "[%s] the power-iteration σ %.7f converged to σ_max(W) "
	   "%.7f", dev, sigma, s_w);
	static double mc[6 * 36], mt[6 * 36];
	matricize(oc, cd, 0, mc);
	matricize(ot, td, 1, mt);
	double s_c = sigma_max(mc, 6, 36), s_t = sigma_max(mt, 6, 36);
	ok(fabs(s_c - 1) < 1e-4 && fabs(s_t - 1) < 1e-4,
	   "[%s] conv weight as out×(C·k·k) and transposed as out(axis 1)×(rest): σ_max %.6f, "
	   "%.6f", dev, s_c, s_t);
	dg_exec_free(e);

	/* the buffer belongs to the graph: another executable goes on from it */
	e = NULL;
	st = dg_compile(g, dev, 1, &wsn, 0, NULL, &e) || dg_exec_run(e) ||
	     dg_exec_read(e, 0, ow, SM * SN);
	power_step(w, SM, SN, u, NULL);
	var_d(g, "fc.w_u", du, SM);
	ue = 0;
	for (int i = 0; i < SM; i++)
		ue = fmax(ue, fabs(du[i] - u[i]));
	ok(!st && ue < 1e-5, "[%s] a second executable continues from the stored u (error %.2g)",
	   dev, ue);
	dg_exec_free(e);

	/* inference: u read, never written; v recomputed from it */
	struct dg_graph *gi = dg_graph_new(5);
	struct dg_nn Di;
	dg_nn_init(&Di, gi, 0);
	Di.flags = DG_NN_SPECTRAL_NORM;
	dg_tensor wi = dg_nn_weight(&Di, "fc.w", DG_SHAPE(SM, SN), 0, NULL);
	static float wf[SM * SN], uf[SM], u_after[SM];
	for (int i = 0; i < SM * SN; i++)
		wf[i] = (float)w[i];
	for (int i = 0; i < SM; i++)
		uf[i] = (float)(3 * du[i]); /* not a unit vector: the scale must not matter */
	st = set_var(gi, "fc.w", wf) || set_var(gi, "fc.w_u", uf);
	float *oi[1] = {ow};
	st = st || run(gi, dev, 1, &wi, NULL, 0, 2, oi);
	struct dg_array *ua = var(gi, "fc.w_u");
	if (ua)
		memcpy(u_after, ua->data, sizeof u_after);
	dg_array_free(ua);
	double vv[SN] = {0}, un[SM], s_inf = 0;
	for (int i = 0; i < SM; i++)
		un[i] = uf[i];
	unit(un, SM);
	for (int j = 0; j < SN; j++)
		for (int i = 0; i < SM; i++)
			vv[j] += w[i * SN + j] * un[i];
	for (int j = 0; j < SN; j++)
		s_inf += vv[j] * vv[j];
	s_inf = sqrt(s_inf); /* ûᵀW·(Wᵀû/‖Wᵀû‖) = ‖Wᵀû‖ */
	for (int i = 0; i < SM * SN; i++)
		ref[i] = w[i] / s_inf;
	err = max_err(ow, ref, SM * SN, &sc);
	ok(!st && err < 1e-5 * sc && !memcmp(u_after, uf, sizeof uf),
	   "[%s] inference: W/‖Wᵀû‖ from the stored u, which two runs leave as it was "
	   "(error %.2g)", dev, err);
	dg_graph_free(gi);
	dg_graph_free(g);
}

/* ---- batch, instance and layer norm -------------------------------------------------- */

enum { BN = 8, BC = 3, BH = 4, BW = 4, BHW = BH * BW };

/* Per-channel mean and biased variance of x BN×BC×BH×BW. */
static void channel_stats(const float *x, double *mean, double *var)
{
	for (int c = 0; c < BC; c++) {
		double s = 0, q = 0;
		for (int n = 0; n < BN; n++)
			for (int i = 0; i < BHW; i++)
				s += x[(n * BC + c) * BHW + i];
		mean[c] = s / (BN * BHW);
		for (int n = 0; n < BN; n++)
			for (int i = 0; i < BHW; i++) {
				double d = x[(n * BC + c) * BHW + i] - mean[c];
				q += d * d;
			}
		var[c] = q / (BN * BHW);
	}
}

static void test_batch_norm(const char *dev)
{
	static float xv[BN * BC * BHW], y[BN * BC * BHW];
	static double ref[BN * BC * BHW];
	const float gw[BC] = {1.5f, 0.5f, 2}, gb[BC] = {0.1f, -0.2f, 0.3f};
	const float rm[BC] = {0.2f, -0.1f, 0.5f}, rvv[BC] = {2, 0.5f, 1.5f};
	double mean[BC], varb[BC];
	fill(xv, BN * BC * BHW, 5);
	channel_stats(xv, mean, varb);
	for (int mode = 1; mode >= 0; mode--) {
		struct dg_graph *g = dg_graph_new(1);
		struct dg_nn nn;
		dg_nn_init(&nn, g, mode);
		dg_tensor x = input(g, "x", DG_SHAPE(BN, BC, BH, BW));
		dg_tensor out = dg_nn_batch_norm(&nn, "bn", x, DG_NN_OPT(.momentum = 0.3f));
		int st = set_var(g, "bn.w", gw) || set_var(g, "bn.b", gb);
		if (!mode)
			st = st || set_var(g, "bn.mean", rm) || set_var(g, "bn.var", rvv);
		float *o[1] = {y};
		st = st || run(g, dev, 1, &out, xv, BN * BC * BHW, 2, o);
		double m[BC], v[BC];
		for (int c = 0; c < BC; c++) {
			m[c] = mode ? mean[c] : rm[c];
			v[c] = mode ? varb[c] : rvv[c];
		}
		for (int n = 0; n < BN; n++)
			for (int c = 0; c < BC; c++)
				for (int i = 0; i < BHW; i++) {
					int k = (n * BC + c) * BHW + i;
					ref[k] = (xv[k] - m[c]) / sqrt(v[c] + 1e-5) * gw[c] + gb[c];
				}
		double sc, err = max_err(y, ref, BN * BC * BHW, &sc);
		ok(!st && err < 1e-5 * sc, "[%s] batch norm, %s: (x - %s)/√(var + ε)·w + b (max "
		   "error %.2g)", dev, mode ? "training" : "inference",
		   mode ? "batch mean, biased batch var" : "running mean, running var", err);
		double am[BC], av[BC];
		st = st || var_d(g, "bn.mean", am, BC) || var_d(g, "bn.var", av, BC);
		double em = 0, ev = 0, nb = BN * BHW;
		for (int c = 0; c < BC; c++) {
			/* two runs on the same batch, momentum 0.3: r = 0.49·r0 + 0.51·stat */
			double wm = mode ? 0.51 * mean[c] : rm[c];
			double wv = mode ? 0.49 + 0.51 * varb[c] * nb / (nb - 1) : rvv[c];
			em = fmax(em, fabs(am[c] - wm));
			ev = fmax(ev, fabs(av[c] - wv));
		}
		if (mode)
			ok(!st && em < 1e-6 && ev < 1e-5, "[%s]   running statistics after two runs: "
			   "momentum 0.3, unbiased variance (errors %.2g, %.2g)", dev, em, ev);
		else
			ok(!st && em == 0 && ev == 0, "[%s]   running statistics untouched", dev);
		dg_graph_free(g);
	}
}

static void test_norms(const char *dev)
{
	enum { n = BN * BC * BHW };
	static float xv[n], yi[n], yl[n];
	static double ri[n], rl[n];
	float lw[BC * BHW], lb[BC * BHW], iw[BC] = {2, 1, 0.5f}, ib[BC] = {0, 1, -1};
	fill(xv, n, 6);
	fill(lw, BC * BHW, 7);
	fill(lb, BC * BHW, 8);
	struct dg_graph *g = dg_graph_new(1);
	struct dg_nn nn;
	dg_nn_init(&nn, g, 1);
	dg_tensor x = input(g, "x", DG_SHAPE(BN, BC, BH, BW));
	dg_tensor outs[2] = {dg_nn_instance_norm(&nn, "in", x, DG_NN_OPT(.affine = 1)),
			     dg_nn_layer_norm(&nn, "ln", x, NULL)};
	int st = set_var(g, "in.w", iw) || set_var(g, "in.b", ib) || set_var(g, "ln.w", lw) ||
		 set_var(g, "ln.b", lb);
	float *o[2] = {yi, yl};
	st = st || run(g, dev, 2, outs, xv, n, 1, o);
	for (int s = 0; s < BN; s++) {
		double ls = 0, lq = 0;
		for (int c = 0; c < BC; c++) {
			double ms = 0, mq = 0;
			const float *p = xv + (s * BC + c) * BHW;
			for (int i = 0; i < BHW; i++)
				ms += p[i];
			ms /= BHW;
			for (int i = 0; i < BHW; i++)
				mq += (p[i] - ms) * (p[i] - ms);
			mq /= BHW;
			for (int i = 0; i < BHW; i++)
				ri[(s * BC + c) * BHW + i] = (p[i] - ms) / sqrt(mq + 1e-5) * iw[c] + ib[c];
		}
		const float *p = xv + s * BC * BHW;
		for (int i = 0; i < BC * BHW; i++)
			ls += p[i];
		ls /= BC * BHW;
		for (int i = 0; i < BC * BHW; i++)
			lq += (p[i] - ls) * (p[i] - ls);
		lq /= BC * BHW;
		for (int i = 0; i < BC * BHW; i++)
			rl[s * BC * BHW + i] = (p[i] - ls) / sqrt(lq + 1e-5) * lw[i] + lb[i];
	}
	double si, sl, ei = max_err(yi, ri, n, &si), el = max_err(yl, rl, n, &sl);
	ok(!st && ei < 1e-5 * si, "[%s] instance norm over H, W with w, b per channel (max error "
	   "%.2g)", dev, ei);
	ok(!st && el < 1e-5 * sl, "[%s] layer norm over C, H, W with elementwise w, b (max error "
	   "%.2g)", dev, el);
	dg_graph_free(g);
}

/* ---- residual blocks, embeddings, masked convolutions ---------------------------------- */

static void test_residual(const char *dev)
{
	enum { N = 2, C = 4, H = 6, W = 6, n = N * C * H * W };
	struct dg_graph *g = dg_graph_new(9);
	struct dg_nn nn;
	dg_nn_init(&nn, g, 1);
	dg_tensor x = input(g, "x", DG_SHAPE(N, C, H, W));
	dg_tensor r1 = dg_nn_residual(&nn, "r1", x, C, 1, DG_NN_OPT(.act = DG_ACT_RELU));
	dg_tensor r2 = dg_nn_residual(&nn, "r2", r1, 6, 2,
				      DG_NN_OPT(.act = DG_ACT_RELU, .norm = DG_NN_NORM_BATCH));
	dg_tensor r3 = dg_nn_residual(&nn, "r3", x, C, 1,
				      DG_NN_OPT(.act = DG_ACT_LEAKY_RELU, .alpha = 0.2f,
						.norm = DG_NN_NORM_INSTANCE));
	uint64_t d[DG_MAX_RANK];
	ok(dg_shape(g, r1, d) == 4 && d[1] == C && d[2] == H && dg_shape(g, r2, d) == 4 &&
		   d[1] == 6 && d[2] == 3 && d[3] == 3 && dg_dim(g, r3, 1) == C,
	   "[%s] residual blocks: 2x4x6x6 -> 2x4x6x6 -> (stride 2) 2x6x3x3", dev);
	if (dev == devices[0]) {
		static const struct want w[] = {
			{"r1.conv1.w", DG_VAR_PARAM, "4x4x3x3"}, {"r1.conv1.b", DG_VAR_PARAM, "4"},
			{"r1.conv2.w", DG_VAR_PARAM, "4x4x3x3"}, {"r1.conv2.b", DG_VAR_PARAM, "4"},
			{"r2.conv1.w", DG_VAR_PARAM, "6x4x3x3"}, {"r2.norm1.w", DG_VAR_PARAM, "6"},
			{"r2.norm1.b", DG_VAR_PARAM, "6"},       {"r2.norm1.mean", DG_VAR_BUFFER, "6"},
			{"r2.norm1.var", DG_VAR_BUFFER, "6"},    {"r2.conv2.w", DG_VAR_PARAM, "6x6x3x3"},
			{"r2.norm2.w", DG_VAR_PARAM, "6"},       {"r2.norm2.b", DG_VAR_PARAM, "6"},
			{"r2.norm2.mean", DG_VAR_BUFFER, "6"},   {"r2.norm2.var", DG_VAR_BUFFER, "6"},
			{"r2.skip.w", DG_VAR_PARAM, "6x4x1x1"},  {"r2.skip_norm.w", DG_VAR_PARAM, "6"},
			{"r2.skip_norm.b", DG_VAR_PARAM, "6"},   {"r2.skip_norm.mean", DG_VAR_BUFFER, "6"},
			{"r2.skip_norm.var", DG_VAR_BUFFER, "6"}, {"r3.conv1.w", DG_VAR_PARAM, "4x4x3x3"},
			{"r3.conv2.w", DG_VAR_PARAM, "4x4x3x3"},
		};
		ok(vars_are(g, w, sizeof w / sizeof w[0]),
		   "  identity skip without parameters; projection and norms when shapes change; "
		   "no conv bias before a norm");
	}
	static float xv[n], y[n];
	fill(xv, n, 10);
	float *o[1] = {y};
	struct dg_array *a[4] = {var(g, "r1.conv1.w"), var(g, "r1.conv1.b"), var(g, "r1.conv2.w"),
				 var(g, "r1.conv2.b")};
	int st = !a[0] || !a[1] || !a[2] || !a[3] || run(g, dev, 1, &r1, xv, n, 1, o);
	double ref[n] = {0};
	if (!st) {
		double *xd = to_double(xv, n), *w1 = to_double(a[0]->data, C * C * 9);
		double *b1 = to_double(a[1]->data, C), *w2 = to_double(a[2]->data, C * C * 9);
		double *b2 = to_double(a[3]->data, C), h[n], h2[n];
		unsigned oh, ow;
		ref_conv(xd, N, C, H, W, w1, b1, C, 3, 1, 1, h, &oh, &ow);
		for (int i = 0; i < n; i++)
			h[i] = fmax(h[i], 0);
		ref_conv(h, N, C, H, W, w2, b2, C, 3, 1, 1, h2, &oh, &ow);
		for (int i = 0; i < n; i++)
			ref[i] = fmax(h2[i] + xd[i], 0);
		free(xd), free(w1), free(b1), free(w2), free(b2);
	}
	double sc, err = max_err(y, ref, n, &sc);
	ok(!st && err < 1e-5 * sc, "[%s] relu(conv2(relu(conv1(x))) + x) against a double "
	   "reference (max error %.2g of %.3g)", dev, err, sc);
	for (int i = 0; i < 4; i++)
		dg_array_free(a[i]);
	dg_graph_free(g);
}

static void test_embedding_masked(const char *dev)
{
	struct dg_graph *g = dg_graph_new(2);
	struct dg_nn nn;
	dg_nn_init(&nn, g, 1);
	const int32_t iv[5] = {3, 0, 9, 3, 7};
	dg_tensor idx = dg_input(g, "idx", DG_I32, DG_SHAPE(5));
	dg_tensor e = dg_nn_embedding(&nn, "emb", idx, 10, 4, NULL);
	dg_tensor x = input(g, "x", DG_SHAPE(2, 3, 5, 5));
	dg_tensor mc = dg_nn_masked_conv2d(&nn, "mc", x, 6, 3, 'B', 3, NULL);
	struct dg_conv p = {.stride = 1, .pad = 1};
	dg_tensor mh = dg_masked_conv2d(g, x, dg_var_tensor(g, "mc.w"), dg_var_tensor(g, "mc.b"),
					&p, 'B', 3);
	static float ev[20], xv[150], mv[300], mhv[300];
	fill(xv, 150, 11);
	struct dg_array *t = var(g, "emb.w");
	struct dg_exec *ex = NULL;
	dg_tensor outs[3] = {e, mc, mh};
	int st = !t || dg_compile(g, dev, 3, outs, 0, NULL, &ex) ||
		 dg_exec_feed(ex, "idx", DG_I32, iv, 5) || dg_exec_feed(ex, "x", DG_F32, xv, 150) ||
		 dg_exec_run(ex) || dg_exec_read(ex, 0, ev, 20) || dg_exec_read(ex, 1, mv, 300) ||
		 dg_exec_read(ex, 2, mhv, 300);
	int same = !st;
	for (int i = 0; i < 5 && same; i++)
		same = !memcmp(ev + 4 * i, (float *)t->data + 4 * iv[i], 16);
	ok(same, "[%s] embedding: row idx[i] of the table", dev);
	if (dev == devices[0] && t)
		ok(normal_ok(stats_of(g, "emb.w"), 1, 0.35), "  table drawn N(0, 1) (nn.Embedding)");
	ok(!st && !memcmp(mv, mhv, sizeof mv), "[%s] masked conv = dg_masked_conv2d, stride 1, "
	   "padding k/2", dev);
	dg_array_free(t);
	dg_exec_free(ex);
	dg_graph_free(g);
}

/* ---- grouped and 3-d convolution layers ----------------------------------------------- */

/* A convolution (or with transposed, its transpose) in double on
 * N×C×D×H×W, k×k×k kernels (depth 1 when kd is 1), groups: w o×(c/g)×k..
 * (transposed: c×(o/g)×k..); y's sides in yd[2..4]. */
static void ref_conv_g(const double *x, const unsigned *xd, const double *w, const double *b,
		       unsigned o, unsigned groups, unsigned kd, unsigned k, unsigned stride,
		       unsigned pad, int transposed, double *y, unsigned *yd)
{
	unsigned n = xd[0], c = xd[1], cg = c / groups, og = o / groups;
	unsigned ks[3] = {kd, k, k}, ps[3] = {kd > 1 ? pad : 0, pad, pad};
	unsigned ss[3] = {kd > 1 ? stride : 1, stride, stride};
	yd[0] = n, yd[1] = o;
	for (int a = 0; a < 3; a++)
		yd[2 + a] = transposed ? (xd[2 + a] - 1) * ss[a] + ks[a] - 2 * ps[a]
				       : (xd[2 + a] + 2 * ps[a] - ks[a]) / ss[a] + 1;
	/* the convolution's small side (y; transposed: x) and big side */
	const unsigned *sm = transposed ? xd : yd, *bg = transposed ? yd : xd;
	size_t vs = (size_t)sm[2] * sm[3] * sm[4], vb = (size_t)bg[2] * bg[3] * bg[4];
	size_t ny = (size_t)n * o * yd[2] * yd[3] * yd[4];
	for (size_t i = 0; i < ny; i++)
		y[i] = b ? b[i / ((size_t)yd[2] * yd[3] * yd[4]) % o] : 0;
	unsigned cs = transposed ? c : o, cb = transposed ? o : c;   /* channels of each side */
	unsigned gs = transposed ? cg : og, gb = transposed ? og : cg;
	for (unsigned i = 0; i < n; i++)
		for (unsigned f = 0; f < cs; f++)
			for (size_t q = 0; q < vs; q++) {
				int p3[3] = {(int)(q / ((size_t)sm[3] * sm[4])), (int)(q / sm[4] % sm[3]),
					     (int)(q % sm[4])};
				unsigned grp = f / gs;
				for (unsigned e = 0; e < gb; e++)
					for (unsigned u = 0; u < ks[0] * ks[1] * ks[2]; u++) {
						int t[3] = {(int)(u / (ks[1] * ks[2])), (int)(u / ks[2] % ks[1]),
							    (int)(u % ks[2])}, at[3];
						int in = 1;
						for (int a = 0; a < 3; a++) {
							at[a] = p3[a] * (int)ss[a] - (int)ps[a] + t[a];
							in &= at[a] >= 0 && at[a] < (int)bg[2 + a];
						}
						if (!in)
							continue;
						size_t bi = ((size_t)i * cb + grp * gb + e) * vb +
							    ((size_t)at[0] * bg[3] + (size_t)at[1]) * bg[4] + (size_t)at[2];
						size_t si = ((size_t)i * cs + f) * vs + q;
						size_t wi = ((size_t)f * gb + e) * ks[0] * ks[1] * ks[2] + u;
						if (transposed)
							y[bi] += x[si] * w[wi];
						else
							y[si] += x[bi] * w[wi];
					}
			}
}

static void test_conv_layers(const char *dev)
{
	/* 2-d: grouped (relu), depthwise (no bias), grouped transposed */
	enum { N = 2, C = 4, H = 7, W = 6, n = N * C * H * W };
	struct dg_graph *g = dg_graph_new(4);
	struct dg_nn nn;
	dg_nn_init(&nn, g, 1);
	dg_tensor x = input(g, "x", DG_SHAPE(N, C, H, W));
	dg_tensor y[3] = {
		dg_nn_conv2d(&nn, "gconv", x, 12, 3, 2, 1, DG_NN_OPT(.groups = 2, .act = DG_ACT_RELU)),
		dg_nn_conv2d(&nn, "dw", x, C, 3, 1, 1, DG_NN_OPT(.groups = C, .flags = DG_NN_NO_BIAS)),
		dg_nn_conv_transpose2d(&nn, "gt", x, 6, 4, 2, 1, DG_NN_OPT(.groups = 2)),
	};
	uint64_t d[DG_MAX_RANK];
	ok(dg_graph_status(g) == 0 && dg_shape(g, y[0], d) == 4 && d[1] == 12 && d[2] == 4 &&
		   d[3] == 3 && dg_dim(g, y[1], 1) == C && dg_dim(g, y[1], 2) == H &&
		   dg_shape(g, y[2], d) == 4 && d[1] == 6 && d[2] == 14 && d[3] == 12,
	   "[%s] grouped conv2d 2x4x7x6 -> 2x12x4x3, depthwise keeps 2x4x7x6, grouped "
	   "transposed -> 2x6x14x12", dev);
	if (dev == devices[0]) {
		static const struct want w[] = {
			{"gconv.w", DG_VAR_PARAM, "12x2x3x3"}, {"gconv.b", DG_VAR_PARAM, "12"},
			{"dw.w", DG_VAR_PARAM, "4x1x3x3"},     {"gt.w", DG_VAR_PARAM, "4x3x4x4"},
			{"gt.b", DG_VAR_PARAM, "6"},
		};
		ok(vars_are(g, w, sizeof w / sizeof w[0]),
		   "  weights out×(C/groups)×k×k, transposed C×(out/groups)×k×k");
		ok(uniform_ok(stats_of(g, "gconv.w"), 1 / sqrt(2 * 9), 0.15) &&
			   uniform_ok(stats_of(g, "gt.w"), 1 / sqrt(3 * 16), 0.15),
		   "  TORCH init: fan_in = C/groups·k·k (transposed: out/groups·k·k), as PyTorch");
	}
	static float xv[n], o0[N * 12 * 4 * 3], o1[n], o2[N * 6 * 14 * 12];
	fill(xv, n, 5);
	float *outs[3] = {o0, o1, o2};
	const char *wn[3] = {"gconv.w", "dw.w", "gt.w"}, *bn[3] = {"gconv.b", NULL, "gt.b"};
	unsigned oc[3] = {12, C, 6}, gr[3] = {2, C, 2}, k[3] = {3, 3, 4}, s[3] = {2, 1, 2};
	int st = run(g, dev, 3, y, xv, n, 1, outs);
	unsigned xd[5] = {N, C, 1, H, W};
	for (int l = 0; l < 3; l++) {
		struct dg_array *wa = var(g, wn[l]), *ba = bn[l] ? var(g, bn[l]) : NULL;
		double *xdv = to_double(xv, n), *wd = wa ? to_double(wa->data, dg_array_count(wa)) : NULL;
		double *bd = ba ? to_double(ba->data, dg_array_count(ba)) : NULL;
		size_t ny = dg_count(g, y[l]);
		double *ref = calloc(ny, sizeof *ref);
		unsigned yd[5];
		if (wd)
			ref_conv_g(xdv, xd, wd, bd, oc[l], gr[l], 1, k[l], s[l], 1, l == 2, ref, yd);
		for (size_t i = 0; l == 0 && i < ny; i++)
			ref[i] = fmax(ref[i], 0);
		double sc, err = max_err(outs[l], ref, ny, &sc);
		ok(!st && wd && err < 1e-5 * sc, "[%s] %s layer against a double reference "
		   "(max error %.2g of %.3g)", dev, wn[l], err, sc);
		free(xdv), free(wd), free(bd), free(ref);
		dg_array_free(wa), dg_array_free(ba);
	}
	dg_graph_free(g);

	/* 3-d: conv3d stride 2, then its transpose back up */
	enum { D3 = 5, H3 = 6, W3 = 7, n3 = 1 * 3 * D3 * H3 * W3 };
	g = dg_graph_new(5);
	dg_nn_init(&nn, g, 1);
	x = input(g, "x", DG_SHAPE(1, 3, D3, H3, W3));
	dg_tensor c3 = dg_nn_conv3d(&nn, "c3", x, 4, 3, 2, 1, NULL);
	dg_tensor t3 = dg_nn_conv_transpose3d(&nn, "t3", c3, 3, 4, 2, 1, NULL);
	ok(dg_graph_status(g) == 0 && dg_shape(g, c3, d) == 5 && d[1] == 4 && d[2] == 3 &&
		   d[3] == 3 && d[4] == 4 && dg_shape(g, t3, d) == 5 && d[1] == 3 && d[2] == 6 &&
		   d[3] == 6 && d[4] == 8,
	   "[%s] conv3d k3 s2 p1 1x3x5x6x7 -> 1x4x3x3x4, conv_transpose3d k4 s2 p1 -> 1x3x6x6x8",
	   dev);
	if (dev == devices[0]) {
		static const struct want w[] = {
			{"c3.w", DG_VAR_PARAM, "4x3x3x3x3"}, {"c3.b", DG_VAR_PARAM, "4"},
			{"t3.w", DG_VAR_PARAM, "4x3x4x4x4"}, {"t3.b", DG_VAR_PARAM, "3"},
		};
		ok(vars_are(g, w, sizeof w / sizeof w[0]), "  w out×C×k×k×k and C×out×k×k×k");
		ok(uniform_ok(stats_of(g, "c3.w"), 1 / sqrt(3 * 27), 0.15),
		   "  TORCH init: fan_in = C·k³");
	}
	static float x3[n3], a3[4 * 3 * 3 * 4], b3[3 * 6 * 6 * 8];
	fill(x3, n3, 6);
	float *outs3[2] = {a3, b3};
	dg_tensor y3[2] = {c3, t3};
	st = run(g, dev, 2, y3, x3, n3, 1, outs3);
	struct dg_array *v[4] = {var(g, "c3.w"), var(g, "c3.b"), var(g, "t3.w"), var(g, "t3.b")};
	double *r1 = calloc(4 * 3 * 3 * 4, sizeof *r1), *r2 = calloc(3 * 6 * 6 * 8, sizeof *r2);
	int have = v[0] && v[1] && v[2] && v[3];
	if (have) {
		double *xdv = to_double(x3, n3), *w1 = to_double(v[0]->data, 324);
		double *b1 = to_double(v[1]->data, 4), *w2 = to_double(v[2]->data, 768);
		double *b2 = to_double(v[3]->data, 3);
		unsigned xd3[5] = {1, 3, D3, H3, W3}, yd[5], yd2[5];
		ref_conv_g(xdv, xd3, w1, b1, 4, 1, 3, 3, 2, 1, 0, r1, yd);
		ref_conv_g(r1, yd, w2, b2, 3, 1, 4, 4, 2, 1, 1, r2, yd2);
		free(xdv), free(w1), free(b1), free(w2), free(b2);
	}
	double sc, err = max_err(a3, r1, 4 * 3 * 3 * 4, &sc);
	ok(!st && have && err < 1e-5 * sc, "[%s] conv3d layer against a double reference (max "
	   "error %.2g of %.3g)", dev, err, sc);
	err = max_err(b3, r2, 3 * 6 * 6 * 8, &sc);
	ok(!st && have && err < 1e-5 * sc, "[%s] conv_transpose3d layer after it (max error "
	   "%.2g of %.3g)", dev, err, sc);
	for (int i = 0; i < 4; i++)
		dg_array_free(v[i]);
	free(r1), free(r2);
	dg_graph_free(g);

	/* groups that do not divide the channels */
	g = dg_graph_new(1);
	dg_nn_init(&nn, g, 1);
	x = input(g, "x", DG_SHAPE(1, 4, 5, 5));
	ok(!dg_nn_conv2d(&nn, "bad", x, 6, 3, 1, 1, DG_NN_OPT(.groups = 3)).id &&
		   contains(dg_graph_error(g), "bad: 3 groups do not divide 4 input"),
	   "[%s] groups must divide the channels, the message names the layer", dev);
	dg_graph_free(g);
}

/* ---- the autoencoder bodies --------------------------------------------------------- */

static void test_coder(void)
{
	for (int conv = 0; conv < 2; conv++) {
		struct dg_graph *g = dg_graph_new(1);
		struct dg_nn root, enc, dec;
		dg_nn_init(&root, g, 1);
		dg_nn_scope(&enc, &root, "enc");
		dg_nn_scope(&dec, &root, "dec");
		struct dg_nn_coder cd = {.struct_size = sizeof cd, .channels = 1, .height = 8,
					 .width = 8, .hidden = 16, .conv = {conv ? 4 : 0, 8}};
		dg_tensor x = input(g, "x", DG_SHAPE(2, 1, 8, 8)), c = input(g, "c", DG_SHAPE(2, 3));
		dg_tensor h = dg_nn_encoder(&enc, &cd, x, c);
		dg_tensor z = input(g, "z", DG_SHAPE(2, 5));
		dg_tensor out = dg_nn_decoder(&dec, &cd, z, c);
		ok(dg_graph_status(g) == 0 && dg_dim(g, h, 1) == 16 && dg_dim(g, out, 0) == 2 &&
			   dg_dim(g, out, 1) == 64,
		   "%s bodies: 2x1x8x8 -> 2x16; 2x5 -> 2x64 logits", conv ? "conv" : "mlp");
		static const struct want mlp[] = {
			{"enc.fc1.w", DG_VAR_PARAM, "16x67"}, {"enc.fc1.b", DG_VAR_PARAM, "16"},
			{"dec.fc1.w", DG_VAR_PARAM, "16x8"},  {"dec.fc1.b", DG_VAR_PARAM, "16"},
			{"dec.out.w", DG_VAR_PARAM, "64x16"}, {"dec.out.b", DG_VAR_PARAM, "64"},
		};
		static const struct want cv[] = {
			{"enc.conv1.w", DG_VAR_PARAM, "4x1x4x4"},   {"enc.conv1.b", DG_VAR_PARAM, "4"},
			{"enc.conv2.w", DG_VAR_PARAM, "8x4x4x4"},   {"enc.conv2.b", DG_VAR_PARAM, "8"},
			{"enc.fc1.w", DG_VAR_PARAM, "16x35"},       {"enc.fc1.b", DG_VAR_PARAM, "16"},
			{"dec.fc1.w", DG_VAR_PARAM, "16x8"},        {"dec.fc1.b", DG_VAR_PARAM, "16"},
			{"dec.fc2.w", DG_VAR_PARAM, "32x16"},       {"dec.fc2.b", DG_VAR_PARAM, "32"},
			{"dec.deconv1.w", DG_VAR_PARAM, "8x4x4x4"}, {"dec.deconv1.b", DG_VAR_PARAM, "4"},
			{"dec.deconv2.w", DG_VAR_PARAM, "4x1x4x4"}, {"dec.deconv2.b", DG_VAR_PARAM, "1"},
		};
		ok(conv ? vars_are(g, cv, sizeof cv / sizeof cv[0])
			: vars_are(g, mlp, sizeof mlp / sizeof mlp[0]),
		   "  their parameters, in order (the label appended to the dense inputs)");
		dg_graph_free(g);
	}
}

/* ---- parameter groups -------------------------------------------------------------- */

static void test_groups(void)
{
	struct dg_graph *g = dg_graph_new(1);
	struct dg_nn root, G, D;
	dg_nn_init(&root, g, 1);
	dg_nn_scope(&G, &root, "G");
	dg_nn_scope(&D, &root, "D");
	D.group = 1;
	dg_tensor x = input(g, "x", DG_SHAPE(2, 3));
	dg_tensor y = dg_nn_dense(&D, "fc", dg_nn_dense(&G, "fc", x, 3, NULL), 1, NULL);
	dg_tensor loss = dg_sum(g, y, DG_AXES_ALL, 0);
	struct dg_optim opt = {.kind = DG_SGD, .lr = 0.1f};
	int u = dg_optimize(g, loss, DG_GROUP(0), &opt);
	struct dg_array *g0 = var(g, "G.fc.w"), *d0 = var(g, "D.fc.w"), *g1 = NULL, *d1 = NULL;
	struct dg_exec *e = NULL;
	float xv[6] = {1, 2, 3, 4, 5, 6};
	int st = u <= 0 || dg_compile(g, "cpu", 1, &loss, 1, &u, &e) ||
		 dg_exec_feed(e, "x", DG_F32, xv, 6) || dg_exec_run(e);
	g1 = var(g, "G.fc.w");
	d1 = var(g, "D.fc.w");
	ok(!st && g0 && g1 && d0 && d1 && memcmp(g0->data, g1->data, dg_array_bytes(g0)) &&
		   !memcmp(d0->data, d1->data, dg_array_bytes(d0)),
	   "a scope's group is its parameters' group: a step on group 0 moves G, not D");
	dg_array_free(g0), dg_array_free(g1), dg_array_free(d0), dg_array_free(d1);
	dg_exec_free(e);
	dg_graph_free(g);
}

int main(void)
{
	struct dg_device_info dev;
	if (!dg_device_select("vulkan", &dev))
		devices[1] = "vulkan";
	else
		diag("no Vulkan device (%s): the cpu device only", dg_errmsg());
	test_names();
	test_init();
	test_coder();
	test_groups();
	for (int i = 0; i < 2 && devices[i]; i++) {
		test_eqlr(devices[i]);
		test_spectral(devices[i]);
		test_batch_norm(devices[i]);
		test_norms(devices[i]);
		test_residual(devices[i]);
		test_embedding_masked(devices[i]);
		test_conv_layers(devices[i]);
	}
	return done_testing();
}
