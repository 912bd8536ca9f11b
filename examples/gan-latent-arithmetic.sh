#!/bin/bash
# gan-latent-arithmetic.sh — vector arithmetic in a GAN's latent space in
# the manner of the DCGAN paper (Radford et al. 2016, section 6.3.2): draw
# N codes, decode them, let a classifier name each sample's class, average
# the codes of the samples of classes A, B and C, and decode
# mean(A) - mean(B) + mean(C).  arithmetic.png: one row, the three means
# decoded, then the result; classes.png: eight samples of A, B and C, a
# row each.
# Usage: examples/gan-latent-arithmetic.sh [MODEL.dgm [CLASSIFIER.dgm [A B C [N]]]]
# MODEL defaults to gan.dgm (a DCGAN trained for two epochs if missing),
# CLASSIFIER to clf.dgm (trained for three epochs if missing); A B C default
# to 9 7 5: ankle boot - sneaker + sandal, a sandal with a boot's shaft;
# N (default 500) codes are drawn, one dg-sample seed each.
set -euo pipefail
# the tools of the build tree when dg is not installed
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-encode > /dev/null && [ -x "$root/build/bin/dg-encode" ]; then
	PATH=$root/build/bin:$PATH
fi
model=${1:-gan.dgm}
clf=${2:-clf.dgm}
a=${3:-9}
b=${4:-7}
c=${5:-5}
n=${6:-500}
[ -e "$model" ] || dg-train -p gan -d fashion-mnist --epochs 2 --seed 1 -o "$model"
[ -e "$clf" ] || dg-train -p classifier -d fashion-mnist --epochs 3 --seed 1 -o "$clf"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# one record per code, so that a class's codes can be picked by seed
for s in $(seq 1 "$n"); do dg-sample -m "$model" -n 1 -s "$s" > "$work/z$s.dgs"; done
for s in $(seq 1 "$n"); do cat "$work/z$s.dgs"; done > "$work/all.dgs"
dg-decode -m "$model" --raw < "$work/all.dgs" > "$work/x.dgs"
for k in "$a" "$b" "$c"; do
	# every sample labelled k (dg-interp -n 2 passes the codes through):
	# "correct" is 1 where the classifier's likeliest class is k
	dg-interp -c "$k" -n 2 < "$work/all.dgs" | dg-decode -m "$model" --raw |
		dg-eval -m "$clf" --per-image --json |
		sed -n 's/.*"image":\([0-9]*\),.*"correct":1[,}].*/\1/p' > "$work/class$k"
	count=$(wc -l < "$work/class$k")
	[ "$count" -gt 0 ] || { echo "no sample of class $k among $n: draw more (N)" >&2; exit 1; }
	echo "class $k: $count of $n samples"
	while read -r i; do cat "$work/z$((i + 1)).dgs"; done < "$work/class$k" |
		dg-interp --mean > "$work/mean$k.dgs"
	head -8 "$work/class$k" | while read -r i; do cat "$work/z$((i + 1)).dgs"; done |
		dg-decode -m "$model" --raw > "$work/some$k.dgs"
done
cat "$work/mean$a.dgs" "$work/mean$b.dgs" "$work/mean$c.dgs" > "$work/means.dgs"
cat "$work/means.dgs" <(dg-interp -e 'a - b + c' < "$work/means.dgs") |
	dg-decode -m "$model" --grid 4x1 --scale 2 > arithmetic.png
cat "$work/some$a.dgs" "$work/some$b.dgs" "$work/some$c.dgs" |
	dg-decode --grid 8x3 --scale 2 > classes.png
echo "arithmetic.png: mean($a), mean($b), mean($c), mean($a) - mean($b) + mean($c)"
echo "classes.png: eight samples of classes $a, $b and $c"
