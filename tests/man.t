#!/bin/sh
# man.t — every man page passes mandoc's lint (nothing above style level)
# and every tool has its page.
src=${DG_SRC:-.}
n=0
fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"

for page in "$src"/man/*.[1-8]; do
	[ -e "$page" ] || continue
	mandoc -Tlint -Wwarning "$page" > "$out" 2>&1
	if [ -s "$out" ]; then sed 's/^/# /' "$out"; t 1 "mandoc lint $(basename "$page")"
	else t 0 "mandoc lint $(basename "$page")"; fi
	mandoc -Tutf8 "$page" > /dev/null 2>&1
	t $? "renders $(basename "$page")"
done
for tool in "$src"/tools/dg-*.c; do
	[ -e "$tool" ] || continue
	name=$(basename "$tool" .c)
	[ -f "$src/man/$name.1" ]
	t $? "$name has a man page"
done
echo "1..$n"
exit $fail
