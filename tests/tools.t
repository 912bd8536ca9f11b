#!/bin/sh
# tools.t — the manners every tool shares (DESIGN.md "Tools' manners"):
# --help and --version on stdout with status 0, an unknown option is a
# usage error (64) with a one-line message naming the tool and a hint.
src=${DG_SRC:-.}
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"

for src_file in "$src"/tools/dg-*.c; do
	[ -e "$src_file" ] || continue
	tool=$(basename "$src_file" .c)
	"$tool" --help > "$tmp/out" 2> "$tmp/err"
	t $? "$tool --help exits 0"
	grep -q "Usage: $tool" "$tmp/out"
	t $? "$tool --help prints usage on stdout"
	[ ! -s "$tmp/err" ]
	t $? "$tool --help is silent on stderr"
	"$tool" --version > "$tmp/out" 2> "$tmp/err"
	t $? "$tool --version exits 0"
	grep -q "^$tool (dg) [0-9]" "$tmp/out"
	t $? "$tool --version names tool and version"
	"$tool" --no-such-option > "$tmp/out" 2> "$tmp/err" < /dev/null
	st=$?
	[ $st = 64 ]
	t $? "$tool --no-such-option exits 64 (got $st)"
	grep -q "^$tool: " "$tmp/err"
	t $? "$tool usage error names the tool on stderr"
	[ ! -s "$tmp/out" ]
	t $? "$tool usage error writes nothing to stdout"
done
echo "1..$n"
exit $fail
