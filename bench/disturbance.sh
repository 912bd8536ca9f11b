#!/bin/sh
# bench/disturbance.sh — the disturbance experiment of Heusel et al. 2017
# (section 4): 10000 training images of Fashion-MNIST, disturbed ever more
# strongly in four ways (Gaussian noise, Gaussian blur, salt and pepper,
# rectangles swapped in from other images; tests/disturb.py), each against
# the 10000 test images in the extractor's features.  A sound metric rises
# with the disturbance in every column; the table shows FID, KID and where
# the Inception Score fails to move, and the last column says whether FID
# rose at every level.
#
# Usage: bench/disturbance.sh EXTRACTOR.dgm [N]  (N images, default 10000)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ext=${1:?usage: bench/disturbance.sh EXTRACTOR.dgm [N]}
n=${2:-10000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-disturb.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
export DG_DEVICE=${DG_DEVICE:-cpu}
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# extractor $ext ($(dg-info "$ext" | awk '$1 == "fingerprint" { print $2 }')), $n training images against the test set"
dg-encode fashion-mnist --limit "$n" > "$dir/base.dgs"

# kind, then the levels (0: the undisturbed images)
printf '%-11s %6s %10s %22s %18s\n' disturbance level fid kid is
for row in "gauss 0 0.05 0.1 0.2 0.3 0.5" "blur 0 0.5 1 1.5 2 3" \
	"saltpepper 0 0.02 0.05 0.1 0.2 0.3" "rects 0 1 2 4 8 16"; do
	set -- $row
	kind=$1
	shift
	last=-1 mono=yes
	for level in "$@"; do
		"$here/../tests/disturb.py" --seed 1 "$kind" "$level" < "$dir/base.dgs" |
			dg-eval -f "$ext" --metrics fid,kid,is --json > "$dir/j"
		fid=$(jq .metrics.fid.value "$dir/j")
		jq -r --arg k "$kind" --arg l "$level" '.metrics as $m | [$k, $l,
			($m.fid.value | . * 1000 | round / 1000),
			"\($m.kid.mean | . * 1e5 | round / 1e5) ± \($m.kid.std | . * 1e5 | round / 1e5)",
			"\($m.is.mean | . * 1000 | round / 1000) ± \($m.is.std | . * 1000 | round / 1000)"] | @tsv' "$dir/j" |
			awk -F'\t' '{ printf "%-11s %6s %10s %22s %18s\n", $1, $2, $3, $4, $5 }'
		awk -v a="$fid" -v b="$last" 'BEGIN { exit !(a > b) }' || mono=no
		last=$fid
	done
	echo "# $kind: FID rises at every level: $mono"
done
