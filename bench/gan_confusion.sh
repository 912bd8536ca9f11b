#!/bin/sh
# bench/gan_confusion.sh — which garment a conditional GAN or an InfoGAN
# draws for each value of its class (dg-sample --class k) or categorical
# code (--code cat=k), as the classifier EXTRACTOR (dg-eval's default
# extractor is one) sees it: a confusion matrix, one row per value, one
# column per predicted class, and each row's most common class and share.
#
# Usage: bench/gan_confusion.sh EXTRACTOR.dgm MODEL.dgm class|cat [N [VALUES]]
# N samples per value (default 100, seed 1), VALUES values (default 10).
# dg-eval reports whether each image's label is its likeliest class; so
# every image goes in ten times, once in each of ten class folders, and
# the copy whose label is right names the prediction.  The tools on PATH.
set -eu
use="usage: bench/gan_confusion.sh EXTRACTOR.dgm MODEL.dgm class|cat [N [VALUES]]"
ext=${1:?$use}
model=${2:?$use}
kind=${3:?$use}
n=${4:-100}
values=${5:-10}
case $kind in
class) opt=--class ;;
cat) opt=--code ;;
*) echo "$use" >&2; exit 64 ;;
esac
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-confusion.XXXXXX")
trap 'rm -rf "$dir"' EXIT
export DG_DEVICE=${DG_DEVICE:-cpu}
mkdir -p "$dir/img"
k=0
while [ $k -lt "$values" ]; do
	if [ $kind = class ]; then v=$k; else v=cat=$k; fi
	dg-sample -m "$model" -n "$n" --seed 1 $opt "$v"
	k=$((k + 1))
done | dg-decode -m "$model" -o "$dir/img/%05d.png"
j=0
while [ $j -lt 10 ]; do
	mkdir "$dir/set/c$j" 2>/dev/null || mkdir -p "$dir/set/c$j"
	for f in "$dir"/img/*.png; do ln -s "$f" "$dir/set/c$j/"; done
	j=$((j + 1))
done
total=$((n * values))
echo "# $model ($(dg-info "$model" | awk '$1 == "fingerprint" { print $2 }')), $n samples per $kind value, seed 1, classifier $ext"
dg-eval -m "$ext" --per-image -j -d "$dir/set" |
	jq -r 'select(.correct == 1) | "\(.image) \(.label)"' |
	awk -v n="$n" -v total="$total" -v values="$values" -v kind="$kind" '
	{ i = $1 % total; c[int(i / n), $2]++ }
	END {
		printf "| %s |", kind
		for (j = 0; j < 10; j++) printf " %d |", j
		printf " most | share |\n|---|"
		for (j = 0; j < 12; j++) printf "---|"
		printf "\n"
		for (k = 0; k < values; k++) {
			best = 0
			printf "| %d |", k
			for (j = 0; j < 10; j++) {
				printf " %d |", c[k, j]
				if (c[k, j] > c[k, best]) best = j
			}
			diag += c[k, k]
			printf " %d | %.2f |\n", best, c[k, best] / n
		}
		if (kind == "class")
			printf "\nlabel accuracy (the diagonal): %.3f\n", diag / total
	}'
