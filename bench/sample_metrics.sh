#!/bin/sh
# bench/sample_metrics.sh — dg-eval's sample metrics at full size: 10000
# samples of a VAE, 10000 training images and 10000 images of noise, each
# against the 10000 test images in the default extractor's features; then
# how long a FID of 10000 samples takes as a whole process once the
# reference's statistics are cached (hyperfine, median), alone and with
# every metric, and the whole pipeline from sampling on.
#
# Usage: bench/sample_metrics.sh EXTRACTOR.dgm VAE.dgm [DIR]
# (the extractor from dg-eval --setup, the VAE from
#  dg-train -p vae -d fashion-mnist --epochs 20 --seed 1 -o VAE.dgm).
# DIR keeps the image sets (default: a temporary folder).  The tools on
# PATH; DG_THREADS as the machine has cores.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ext=${1:?usage: bench/sample_metrics.sh EXTRACTOR.dgm VAE.dgm [DIR]}
vae=${2:?usage: bench/sample_metrics.sh EXTRACTOR.dgm VAE.dgm [DIR]}
dir=${3:-$(mktemp -d "${TMPDIR:-/tmp}/dg-metrics.XXXXXX")}
mkdir -p "$dir"
export DG_DEVICE=${DG_DEVICE:-cpu}
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# extractor $ext ($(dg-info "$ext" | awk '$1 == "fingerprint" { print $2 }')), vae $vae"

dg-sample -m "$vae" -n 10000 --seed 1 | dg-decode -m "$vae" --raw > "$dir/vae.dgs"
dg-encode fashion-mnist --limit 10000 > "$dir/train.dgs"
"$here/../tests/disturb.py" noise 0 < "$dir/train.dgs" > "$dir/noise.dgs"
# the first run computes and caches the reference's statistics
dg-eval -f "$ext" --metrics fid "$dir/train.dgs" > /dev/null

printf '%-22s %10s %22s %18s %10s %10s\n' set fid kid is precision recall
for set in vae train noise; do
	dg-eval -f "$ext" --json "$dir/$set.dgs" |
		jq -r --arg set "$set" '.metrics as $m | [$set, ($m.fid.value | . * 10000 | round / 10000),
			"\($m.kid.mean | . * 1e6 | round / 1e6) ± \($m.kid.std | . * 1e6 | round / 1e6)",
			"\($m.is.mean | . * 1000 | round / 1000) ± \($m.is.std | . * 1000 | round / 1000)",
			($m.precision.value | . * 10000 | round / 10000),
			($m.recall.value | . * 10000 | round / 10000)] | @tsv' |
		awk -F'\t' '{ printf "%-22s %10s %22s %18s %10s %10s\n", $1 " (10000)", $2, $3, $4, $5, $6 }'
done
dg-eval -f "$ext" --metrics is -r "$dir/train.dgs" fashion-mnist-test |
	awk '$1 == "is" { printf "# IS of the test set itself: %s ± %s\n", $2, $4 }'

if command -v hyperfine > /dev/null 2>&1; then
	for m in fid fid,kid,is,pr; do
		hyperfine -N --warmup 1 --runs "${BENCH_REPEATS:-5}" --export-json "$dir/t.json" \
			"dg-eval -f $ext --metrics $m $dir/vae.dgs" > /dev/null 2>&1
		jq -r --arg m "$m" '.results[0] | "dg-eval --metrics \($m), 10000 samples, cached reference: median \(.median | . * 100 | round / 100) s, min \(.min | . * 100 | round / 100) s, user \(.user | . * 100 | round / 100) s (\(.times | length) runs)"' "$dir/t.json"
	done
	hyperfine --warmup 1 --runs "${BENCH_REPEATS:-5}" --export-json "$dir/t.json" \
		"dg-sample -m $vae -n 10000 | dg-decode -m $vae --raw | dg-eval -f $ext --metrics fid" \
		> /dev/null 2>&1
	jq -r '.results[0] | "dg-sample -n 10000 | dg-decode --raw | dg-eval --metrics fid: median \(.median | . * 100 | round / 100) s, min \(.min | . * 100 | round / 100) s"' "$dir/t.json"
fi
