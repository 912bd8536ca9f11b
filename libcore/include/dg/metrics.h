/* dg/metrics.h — sample-quality metrics over the features of a classifier
 * (FID, KID, Inception Score, precision and recall), the symmetric
 * eigendecomposition and matrix square root FID rests on, and the AUROC
 * of anomaly scores (dg-eval(1) says what each metric means).
 *
 * Features are rows of f32 (n×d, row-major) as a classifier family's
 * classify() gives them (dg_inference_classify); class probabilities
 * rows of k that sum to 1.  Everything here is computed in double on the
 * host, except the pairwise dot products of KID and of precision and
 * recall, which run as f32 matrix products on the cpu device (oneDNN)
 * and are summed in double.  Every function returns a status; none of
 * them returns a NaN as a result: degenerate input (too few rows,
 * non-finite values) is DG_EDATA with a message. */
#ifndef DG_METRICS_H
#define DG_METRICS_H

#include <stdint.h>
#include "dg/array.h"
#include "dg/dataset.h"
#include "dg/inference.h"

/* ---- linear algebra ------------------------------------------------------- */

/* Eigendecomposition of the symmetric n×n matrix a (row-major; only its
 * values are read, a is not changed): a = V·diag(w)·Vᵀ, eigenvalues w
 * ascending, V's columns the eigenvectors (v: n×n row-major, may be NULL
 * when only the eigenvalues are wanted).  Cyclic Jacobi rotations until
 * the off-diagonal part vanishes against the diagonal: slower than
 * LAPACK's dsyevd (O(n³) per sweep, 6-10 sweeps) but short, dependency-
 * free and accurate to a few ulps of ‖a‖ in every eigenvalue, small ones
 * included.  DG_EDATA for a non-finite entry, DG_ENOMEM. */
int dg_eigh(unsigned n, const double *a, double *w, double *v);

/* The square root of a symmetric positive semi-definite matrix:
 * V·diag(√max(w, 0))·Vᵀ from dg_eigh; eigenvalues that rounding made
 * slightly negative count as zero.  out is n×n (not a). */
int dg_sqrtm_psd(unsigned n, const double *a, double *out);

/* tr √(A·B) for symmetric PSD A and B, as tr √(A^½·B·A^½): the product
 * A^½BA^½ is symmetric PSD, so its square root comes from a second
 * symmetric eigendecomposition and is real, where a general matrix
 * square root of the non-symmetric A·B (Schur-based, as scipy's sqrtm
 * used by common FID code) can return complex parts from rounding. */
int dg_trace_sqrt_product(unsigned n, const double *a, const double *b, double *out);

/* ---- Gaussian fits and FID ------------------------------------------------- */

/* The mean and covariance of n feature rows of d values. */
struct dg_gauss {
	unsigned dim;
	uint64_t count;
	double *mean;            /* dim */
	double *cov;             /* dim×dim, unbiased (divided by count - 1) */
};
/* Fits x (n×d); DG_EDATA when n < 2 or a value is not finite.  Free the
 * result with dg_gauss_free (the struct itself is the caller's). */
int dg_gauss_fit(const float *x, uint64_t n, unsigned d, struct dg_gauss *out);
void dg_gauss_free(struct dg_gauss *g);

/* The Fréchet distance of two Gaussians (Heusel et al. 2017):
 *   ‖μ₁ - μ₂‖² + tr Σ₁ + tr Σ₂ - 2 tr √(Σ₁Σ₂),
 * the last term by dg_trace_sqrt_product.  DG_EDATA for dimensions that
 * differ, or a fit of no more rows than dimensions (its covariance is
 * singular and the distance mostly measures the sample count). */
int dg_fid(const struct dg_gauss *a, const struct dg_gauss *b, double *out);

/* ---- KID -------------------------------------------------------------------- */

struct dg_kid_options {
	unsigned subsets;        /* 0: 100 */
	uint64_t subset_size;    /* 0: 1000; at most the smaller set */
	uint64_t seed;           /* which rows each subset draws */
};
/* The Kernel Inception Distance (Bińkowski et al. 2018): the unbiased
 * estimate of MMD² between x (nx×d) and y (ny×d) under the kernel
 * k(a, b) = (aᵀb/d + 1)³, on each of `subsets` pairs of random subsets
 * of subset_size rows drawn without replacement (a Philox permutation of
 * (seed, subset)); *mean and *std (population) over the subsets.
 * DG_EDATA when either set has fewer than 2 rows. */
int dg_kid(const float *x, uint64_t nx, const float *y, uint64_t ny, unsigned d,
	   const struct dg_kid_options *opt, double *mean, double *std);

/* ---- Inception Score ---------------------------------------------------------- */

/* exp(E_x KL(p(y|x) ‖ p(y))) on each of `splits` consecutive parts of
 * the n rows of probs (n×k), p(y) the part's mean (Salimans et al. 2016);
 * *mean and *std (population) over the parts.  DG_EDATA when n < splits
 * or a row is not a distribution (negative, or a sum off 1 by 1e-3). */
int dg_inception_score(const float *probs, uint64_t n, unsigned k, unsigned splits,
		       double *mean, double *std);

/* ---- precision and recall ------------------------------------------------------ */

/* The distance from each row of x (n×d) to its k-th nearest other row
 * (Euclidean; the row itself excluded by index, so duplicates count as
 * neighbours at distance 0): the radii of the k-NN manifold estimate.
 * DG_EDATA when n <= k. */
int dg_knn_radii(const float *x, uint64_t n, unsigned d, unsigned k, float *radii);

/* Improved precision and recall (Kynkäänniemi et al. 2019): the manifold
 * of a set is the union of balls around its rows of their k-NN radii.
 * *precision: the fraction of the generated rows g (ng×d) inside the
 * real set's manifold; *recall: the fraction of the real rows r (nr×d)
 * inside the generated set's.  r_radii and g_radii from dg_knn_radii. */
int dg_precision_recall(const float *r, const float *r_radii, uint64_t nr, const float *g,
			const float *g_radii, uint64_t ng, unsigned d, double *precision,
			double *recall);

/* ---- anomaly scores ---------------------------------------------------------- */

/* The area under the ROC curve of telling the rows with positive[i] != 0
 * from the others by score (higher: more likely positive): the
 * probability that a random positive scores above a random negative,
 * ties counting one half (the Mann-Whitney U statistic over n_pos·n_neg).
 * DG_EDATA when a class is empty or a score is not finite. */
int dg_auroc(const double *score, const unsigned char *positive, uint64_t n, double *auc);

/* ---- feature sets: what a classifier makes of a set of images ----------------- */

/* The features and class probabilities of n images, and a fingerprint of
 * the images (a 64-bit hash of their shape and f32 values, in order). */
struct dg_featset {
	uint64_t n;
	unsigned dim, classes;
	unsigned channels, height, width;  /* the images' shape */
	float *features;         /* n×dim */
	float *probs;            /* n×classes */
	uint64_t fingerprint;
	/* The k-NN radii of the features (radii_k = k), or NULL until
	 * dg_featset_radii() computes them. */
	float *radii;
	unsigned radii_k;
	/* The Gaussian fit (gauss.count = n once computed, 0 before). */
	struct dg_gauss gauss;
};
void dg_featset_free(struct dg_featset *fs);
/* Computes fs->radii for k (if not there for that k) and fs->gauss (if
 * not there). */
int dg_featset_radii(struct dg_featset *fs, unsigned k);
int dg_featset_gauss(struct dg_featset *fs);

/* A 64-bit fingerprint of images (n×C×H×W f32), chained: pass 0 first,
 * then the previous value, batch after batch; the result does not depend
 * on how the images are split into batches. */
struct dg_image_hash {
	uint64_t h, words, count;
	unsigned channels, height, width;
};
void dg_image_hash_init(struct dg_image_hash *ih);
void dg_image_hash_add(struct dg_image_hash *ih, const float *x, uint64_t n, unsigned c,
		       unsigned h, unsigned w);
uint64_t dg_image_hash_end(const struct dg_image_hash *ih);

/* Reads every image of ds (from where it is, to its end, at most limit
 * when limit > 0) through the classifier inf in batches of its batch
 * size, into a new feature set.  DG_EDATA when the images' shape is not
 * the classifier's (the message names both) or there are none;
 * DG_EUSAGE when inf is no classifier. */
int dg_featset_extract(struct dg_inference *inf, struct dg_dataset *ds, uint64_t limit,
		       struct dg_featset **out);
/* The same for n images in memory (n×C×H×W f32 of the classifier's
 * shape). */
int dg_featset_extract_array(struct dg_inference *inf, const float *x, uint64_t n,
			     struct dg_featset **out);

/* A reference set's features, cached: the file "<dir>/<base>.ref-<E>-<D>.dgs"
 * beside the extractor's checkpoint extractor_path (E its fingerprint,
 * D the images' fingerprint, both 16 hex digits) holds the features,
 * probabilities, the k-NN radii for k and the Gaussian fit, so that a
 * second evaluation against the same reference with the same extractor
 * reads them instead of running the classifier.  dg_featset_cache_load
 * returns DG_ENOINPUT when there is no such file (a stale or damaged one
 * is DG_EDATA: the caller recomputes and overwrites it). */
int dg_featset_cache_path(const char *extractor_path, uint64_t extractor_fp,
			  uint64_t images_fp, char *buf, size_t size);
int dg_featset_cache_load(const char *path, uint64_t extractor_fp, uint64_t images_fp,
			  struct dg_featset **out);
/* Writes fs (radii and fit included when computed) atomically. */
int dg_featset_cache_save(const char *path, uint64_t extractor_fp,
			  const struct dg_featset *fs);

/* ---- the default extractor ---------------------------------------------------- */

/* How dg-eval --setup trains the default feature extractor, so that two
 * machines that run it get the same classifier (and comparable FIDs):
 * the family with its default hyperparameters, trained on data for
 * epochs epochs of batch images from seed on the cpu device, checked on
 * test.  fingerprint is the checkpoint's parameter fingerprint that the
 * recipe gave where it was recorded (bench/RESULTS.md); another machine
 * whose CPU takes another code path in oneDNN (another vector width)
 * rounds differently and may end with another model, which dg-eval
 * --setup reports. */
struct dg_extractor_recipe {
	const char *family, *data, *test;
	uint64_t epochs, batch, seed;
	const char *fingerprint;
};
const struct dg_extractor_recipe *dg_extractor_recipe(void);

/* The default extractor's path: $DG_EXTRACTOR if set and not empty, else
 * $XDG_DATA_HOME/dg/extractor-fashion-mnist.dgm, else
 * $HOME/.local/share/dg/extractor-fashion-mnist.dgm.  DG_EUSAGE when none
 * of these variables is set, or the path does not fit size bytes. */
int dg_extractor_default_path(char *buf, size_t size);

#endif
