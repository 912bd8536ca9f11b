/* limits.c — limits from the environment, parsed strictly. */
#include <errno.h>
#include <stdlib.h>
#include "dg/error.h"
#include "io/limits.h"

int dg__env_limit(const char *var, uint64_t def, uint64_t *out)
{
	const char *s = getenv(var);
	unsigned long long v;
	char *end;

	*out = def;
	if (!s || !*s)
		return DG_OK;
	errno = 0;
	v = strtoull(s, &end, 10);
	/* strtoull takes leading blanks, a sign and "-1" as 2^64-1 */
	if (*end || errno || *s < '0' || *s > '9' || !v)
		return dg_error(DG_EUSAGE, "%s: '%s' is not a positive decimal number (a "
				"limit, see dg(7))", var, s);
	*out = v;
	return DG_OK;
}
