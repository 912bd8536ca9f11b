#!/bin/sh
# symbols.t — libdg exports its API and nothing else: every symbol libdg.so
# defines is dg_-prefixed and declared in a public header (libcore/include),
# every function a public header declares is exported, dg.h includes every
# public header (libcore/exports.h exports what dg.h declares), and tools
# and plugins include only public headers.
set -u
lib=$DG_BUILD/lib/libdg.so
inc=$DG_SRC/libcore/include
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/symbols.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

n=0
t() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
# diag FILE: its first lines as TAP comments
diag() { head -n 20 "$1" | sed 's/^/# /'; }
echo 1..6

nm -D --defined-only "$lib" | awk '{ print $NF }' | sort -u > "$tmp/exported"
[ "$(wc -l < "$tmp/exported")" -gt 100 ]
t $? "libdg.so exports its API ($(wc -l < "$tmp/exported") symbols)"

# A sanitizer build also exports dlclose (libcore/sanitize.c says why).
allow='^$'
nm -D --undefined-only "$lib" | grep -q '__asan_init' && allow='^dlclose$'
grep -v '^dg_' "$tmp/exported" | grep -v "$allow" > "$tmp/foreign"
[ ! -s "$tmp/foreign" ]
t $? "every exported symbol is dg_-prefixed"
diag "$tmp/foreign"

# Declared: a file naming every exported dg_ symbol compiles against the
# public headers alone.
{
	echo '#include "dg.h"'
	echo 'void *const dg_symbols_test[] = {'
	grep '^dg_' "$tmp/exported" | sed 's/.*/	(void *)\&&,/'
	echo '};'
} > "$tmp/names.c"
"$cc" -std=c11 -D_GNU_SOURCE -fsyntax-only -I"$inc" "$tmp/names.c" 2> "$tmp/err"
t $? "every exported symbol is declared in a public header"
grep -i 'undeclared' "$tmp/err" > "$tmp/undeclared"
diag "$tmp/undeclared"

# Exported: every function the public headers declare (after the
# preprocessor, so comments and macros do not count).
"$cc" -std=c11 -D_GNU_SOURCE -E -P -I"$inc" "$inc/dg.h" > "$tmp/pp" &&
	grep -oE '\bdg_[A-Za-z0-9_]+[[:space:]]*\(' "$tmp/pp" |
	sed 's/[[:space:](]*$//' | sort -u > "$tmp/declared"
comm -23 "$tmp/declared" "$tmp/exported" > "$tmp/unexported"
[ -s "$tmp/declared" ] && [ ! -s "$tmp/unexported" ]
t $? "every function a public header declares is exported ($(wc -l < "$tmp/declared") functions)"
diag "$tmp/unexported"

: > "$tmp/missing"
for h in "$inc"/dg/*.h; do
	grep -q "^#include \"dg/$(basename "$h")\"" "$inc/dg.h" || basename "$h" >> "$tmp/missing"
done
[ ! -s "$tmp/missing" ]
t $? "dg.h includes every public header"
diag "$tmp/missing"

cd "$DG_SRC" || exit 1
grep -n '^#include "' tools/*.c plugins/*.c $(ls plugins/*/*.c 2> /dev/null) |
	grep -v '#include "dg\.h"\|#include "dg/' > "$tmp/private"
[ ! -s "$tmp/private" ]
t $? "tools and plugins include only public headers"
diag "$tmp/private"
