/* eval/extractor.c — where dg-eval's default feature extractor lives and
 * the recipe that makes it (dg/metrics.h). */
#include <stdio.h>
#include <stdlib.h>
#include "dg/metrics.h"
#include "dg/error.h"

/* The classifier family's defaults (width 16, 128 features, dropout 0.3,
 * flips), 15 epochs of Fashion-MNIST's 60000 training images: about 92.5%
 * on its test set (bench/RESULTS.md). */
static const struct dg_extractor_recipe recipe = {
	.family = "classifier",
	.data = "fashion-mnist",
	.test = "fashion-mnist-test",
	.epochs = 15,
	.batch = 128,
	.seed = 0,
	.fingerprint = NULL,
};

const struct dg_extractor_recipe *dg_extractor_recipe(void)
{
	return &recipe;
}

int dg_extractor_default_path(char *buf, size_t size)
{
	const char *env = getenv("DG_EXTRACTOR"), *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	int n;
	if (env && *env)
		n = snprintf(buf, size, "%s", env);
	else if (xdg && *xdg)
		n = snprintf(buf, size, "%s/dg/extractor-fashion-mnist.dgm", xdg);
	else if (home && *home)
		n = snprintf(buf, size, "%s/.local/share/dg/extractor-fashion-mnist.dgm", home);
	else
		return dg_error(DG_EUSAGE, "no default extractor: neither DG_EXTRACTOR, "
				"XDG_DATA_HOME nor HOME is set");
	if (n < 0 || (size_t)n >= size)
		return dg_error(DG_EUSAGE, "the default extractor's path is too long");
	return DG_OK;
}
