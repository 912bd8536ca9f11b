#!/bin/sh
# pixelcnn-figures.sh — the PixelRNN paper's occlusion figure and a
# class-conditional grid from trained pixelcnn models:
#   pixelcnn-completion.png   one test image per row: the original
#                             (binarized at 0.5, as a binarize=0.5 model
#                             sees it), its bottom half occluded (grey),
#                             then three completions of the top 14 rows
#   gated-pixelcnn-classes.png  (with a conditional gated model) one
#                             Fashion-MNIST class per row, 8 samples each
# Usage: pixelcnn-figures.sh PIXELCNN.dgm [GATED.dgm] [OUTDIR]
set -eu
model=$1
gated=${2:-}
out=${3:-.}
rows=6
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pixelcnn-fig.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
dg-encode fashion-mnist-test --limit $rows | dg-decode -o "$tmp/g%d.png"
i=0
set --
while [ $i -lt $rows ]; do
	convert "$tmp/g$i.png" -threshold 50% "$tmp/o$i.png"
	set -- "$@" "$tmp/o$i.png"
	i=$((i + 1))
done
dg-encode "$@" > "$tmp/orig.dgs"
dg-sample -m "$model" --complete "$tmp/orig.dgs" --keep-rows 14 -n 3 -s 1 > "$tmp/done.dgt"
dg-decode -o "$tmp/c%d.png" < "$tmp/done.dgt"
i=0
set --
while [ $i -lt $rows ]; do
	convert "$tmp/o$i.png" -fill gray50 -draw 'rectangle 0,14 27,27' "$tmp/h$i.png"
	set -- "$@" "$tmp/o$i.png" "$tmp/h$i.png" "$tmp/c$((3 * i)).png" \
		"$tmp/c$((3 * i + 1)).png" "$tmp/c$((3 * i + 2)).png"
	i=$((i + 1))
done
dg-encode "$@" | dg-decode -g 5x$rows -s 3 --pad-value 1 > "$out/pixelcnn-completion.png"
if [ -n "$gated" ]; then
	for k in 0 1 2 3 4 5 6 7 8 9; do dg-sample -m "$gated" -n 8 -c $k -s $k; done |
		dg-decode -g 8x10 -s 2 --pad-value 1 > "$out/gated-pixelcnn-classes.png"
fi
