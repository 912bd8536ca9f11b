/* limits.h — internal: the size limits that bound what hostile input can
 * make dg allocate, each a default that an environment variable
 * overrides (listed in dg(7) ENVIRONMENT). */
#ifndef DG_LIMITS_H
#define DG_LIMITS_H

#include <stdint.h>

/* The variables (the defaults are in the public headers). */
#define DG_ENV_STREAM_MAX "DG_STREAM_MAX_BYTES"
#define DG_ENV_CHECKPOINT_MAX "DG_CHECKPOINT_MAX_BYTES"
#define DG_ENV_DATASET_MAX "DG_DATASET_MAX_BYTES"
#define DG_ENV_FILE_MAX "DG_FILE_MAX_BYTES"
#define DG_ENV_ARCHIVE_MAX "DG_ARCHIVE_MAX_BYTES"
#define DG_ENV_ARCHIVE_MEMBERS "DG_ARCHIVE_MAX_MEMBERS"

/* The limit in variable var (a positive decimal number), else def when
 * it is unset or empty.  DG_EUSAGE, with a message naming var, when it is
 * malformed: a limit the user set is never silently replaced. */
int dg__env_limit(const char *var, uint64_t def, uint64_t *out);

#endif
