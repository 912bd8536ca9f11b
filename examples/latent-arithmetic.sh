#!/bin/bash
# latent-arithmetic.sh — arithmetic with class means in a VAE's latent
# space: the mean code of 200 test images of class A and of class B, then
# eight other images of class A each moved by mean(B) - mean(A), that is
# x - a + b.  arithmetic.png holds three rows: the eight images as the
# model reconstructs them, the same codes moved, and the two class means.
# Usage: examples/latent-arithmetic.sh [MODEL.dgm [A B]]
# MODEL defaults to vae.dgm, trained first (two epochs) if it is missing;
# A and B default to 5 and 7, sandals to sneakers.
set -euo pipefail
# the tools of the build tree when dg is not installed
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-encode > /dev/null && [ -x "$root/build/bin/dg-encode" ]; then
	PATH=$root/build/bin:$PATH
fi
model=${1:-vae.dgm}
a=${2:-5}
b=${3:-7}
[ -e "$model" ] || dg-train -p vae -d fashion-mnist --epochs 2 --seed 1 -o "$model"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for k in "$a" "$b"; do
	dg-encode -m "$model" -c "$k" -n 200 fashion-mnist-test | dg-interp --mean > "$work/mean$k.dgs"
done
# images 200..207 of class A: not among those averaged
dg-encode -m "$model" -c "$a" --skip 200 -n 8 fashion-mnist-test > "$work/x.dgs"
for s in 0 1 2 3 4 5 6 7; do
	dg-encode -m "$model" -c "$a" --skip $((200 + s)) -n 1 fashion-mnist-test |
		cat "$work/mean$a.dgs" "$work/mean$b.dgs" - | dg-interp -e 'c - a + b'
done > "$work/moved.dgs"
cat "$work/x.dgs" "$work/moved.dgs" "$work/mean$a.dgs" "$work/mean$b.dgs" |
	dg-decode -m "$model" --grid 8x3 --scale 2 > arithmetic.png
echo "arithmetic.png: class $a images, the same moved by mean($b) - mean($a), and the two means"
