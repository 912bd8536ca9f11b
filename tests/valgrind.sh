#!/bin/sh
# tests/valgrind.sh — the pipeline's tools under valgrind's memcheck, as
# TAP: no invalid access, no use of uninitialized values, no definite
# leak.  Run by `make valgrind` (not by `make check`: about a minute).
#
# DG_NO_DNNL=1 runs the cpu backend on dg's own C kernels: oneDNN's JIT
# kernels read whole vectors past the ends of oneDNN's own scratch blocks
# (masked lanes), which memcheck reports though nothing is wrong; dg's
# code around them is what this checks.  Vulkan is left out: Mesa's JIT
# has the same habit.
set -u
: "${DG_BUILD:?run through make valgrind}"
export DG_DEVICE=cpu DG_NO_DNNL=1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-valgrind.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0 bad=0

vg() {
	name=$1
	shift
	n=$((n + 1))
	if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$@" > "$tmp/out" 2> "$tmp/err"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		sed 's/^/# /' "$tmp/err" | head -40
		bad=1
	fi
}

dg-train -q -p vae -d fashion-mnist --limit 512 --epochs 1 --plain -o "$tmp/m.dgm" || exit 1
dg-sample -m "$tmp/m.dgm" -n 8 > "$tmp/z.dgs"
dg-sample -m "$tmp/m.dgm" -n 4 > "$tmp/z4.dgs"
vg "dg-train (vae, 1 small epoch)" dg-train -q -p vae -d fashion-mnist --limit 256 --epochs 1 \
	-o "$tmp/v.dgm"
vg "dg-train -p ae --set arch=conv" dg-train -q -p ae --set arch=conv -d fashion-mnist \
	--limit 128 --epochs 1 -o "$tmp/a.dgm"
vg "dg-sample" dg-sample -m "$tmp/m.dgm" -n 8
vg "dg-decode -m" dg-decode -m "$tmp/m.dgm" "$tmp/z.dgs"
vg "dg-encode -m" dg-encode -m "$tmp/m.dgm" -n 8 fashion-mnist-test
vg "dg-interp --grid" dg-interp --grid 3x3 "$tmp/z4.dgs"
vg "dg-interp --expr" dg-interp --expr 'a - b + 0.5*(c + d)' "$tmp/z.dgs"
vg "dg-eval -k 4" dg-eval -m "$tmp/m.dgm" -d fashion-mnist-test -n 64 -k 4 --json
vg "dg-info (checkpoint)" dg-info "$tmp/m.dgm"
vg "dg-encode | images" dg-encode -n 16 fashion-mnist
vg "dg-decode (grid PNG)" sh -c "dg-encode -n 16 fashion-mnist | valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite dg-decode --grid 4x4"
# Inputs read once, through pipes (issue 12): standard input loaded into
# memory for training, a gzip'd IDX, a tar.gz of PNGs and a checkpoint
# read from a pipe after their first bytes were peeked at.
VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
fm=${DG_DATA_DIR:-/usr/share/datasets}/fashion-mnist
mkdir -p "$tmp/set/a" "$tmp/set/b"
dg-encode -n 4 fashion-mnist | dg-decode -o "$tmp/set/a/%d.png"
dg-encode -n 4 fashion-mnist-test | dg-decode -o "$tmp/set/b/%d.png"
tar czf "$tmp/set.tgz" -C "$tmp" set
vg "dg-train -d - (stdin in memory, 2 epochs)" sh -c "dg-encode -n 128 fashion-mnist |
	$VG dg-train -q -p vae -d - --epochs 2 --batch 64 -o $tmp/s.dgm"
vg "dg-encode - (gzip'd IDX from a pipe)" sh -c "cat $fm/t10k-images-idx3-ubyte.gz |
	$VG dg-encode -n 64 -"
vg "dg-encode - (tar.gz of PNGs from a pipe)" sh -c "cat $tmp/set.tgz | $VG dg-encode -"
vg "dg-info - (checkpoint from a pipe)" sh -c "cat $tmp/m.dgm | $VG dg-info -"
echo "1..$n"
exit $bad
