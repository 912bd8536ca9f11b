/* t_error.c — libdg's per-thread error message: formatting with the
 * current message as an argument, context prefixes, and truncation. */
#include <string.h>
#include "dg.h"
#include "tap.h"

int main(void)
{
	char longer[3000];

	dg_error(DG_EUSAGE, "bad value %d", 7);
	is_int(dg_error(DG_EIO, "%s (again)", dg_errmsg()), DG_EIO, "dg_error returns its status");
	ok(!strcmp(dg_errmsg(), "bad value 7 (again)"),
	   "the message may be an argument of the next one: '%s'", dg_errmsg());
	dg_error_context(DG_EIO, "reading %s", "a.dgt");
	ok(!strcmp(dg_errmsg(), "reading a.dgt: bad value 7 (again)"),
	   "context goes before the message: '%s'", dg_errmsg());
	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = 0;
	dg_error(DG_EUSAGE, "%s", longer);
	ok(strlen(dg_errmsg()) > 500 && strlen(dg_errmsg()) < sizeof longer,
	   "a long message is truncated (%zu bytes)", strlen(dg_errmsg()));
	return done_testing();
}
