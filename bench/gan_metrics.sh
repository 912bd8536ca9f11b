#!/bin/sh
# bench/gan_metrics.sh — dg-eval's sample metrics of a GAN beside the MLP
# VAE's, in bench/sample_metrics.sh's protocol: 10000 samples (seed 1) of
# each against the 10000 test images in the default extractor's features,
# KID over 100 subsets of 1000, IS over 10 splits, precision/recall with
# k = 3.  The GAN's sets: G's weight average (what dg-decode uses), its
# raw weights (--no-ema), and the average with codes truncated at 1.0,
# 0.7 and 0.5 standard deviations (dg-sample --truncation).
#
# Usage: bench/gan_metrics.sh EXTRACTOR.dgm GAN.dgm [VAE.dgm] [DIR]
# DIR keeps the image sets (default: a temporary folder).  The tools on
# PATH; DG_THREADS as the machine has cores.
set -eu
use="usage: bench/gan_metrics.sh EXTRACTOR.dgm GAN.dgm [VAE.dgm] [DIR]"
ext=${1:?$use}
gan=${2:?$use}
vae=${3:-}
dir=${4:-$(mktemp -d "${TMPDIR:-/tmp}/dg-ganmetrics.XXXXXX")}
mkdir -p "$dir"
export DG_DEVICE=${DG_DEVICE:-cpu}
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# extractor $ext ($(dg-info "$ext" | awk '$1 == "fingerprint" { print $2 }')), gan $gan ($(dg-info "$gan" | awk '$1 == "fingerprint" { print $2 }'))"

# set NAME MODEL [SAMPLE OPTIONS] -- [DECODE OPTIONS]: 10000 images in $dir/NAME.dgs
set_of() {
	name=$1 model=$2
	shift 2
	sopt= dopt= side=s
	for a in "$@"; do
		if [ "$a" = -- ]; then side=d; elif [ $side = s ]; then sopt="$sopt $a"; else dopt="$dopt $a"; fi
	done
	# shellcheck disable=SC2086
	dg-sample -m "$model" -n 10000 --seed 1 $sopt | dg-decode -m "$model" --raw $dopt > "$dir/$name.dgs"
}
sets=
if [ -n "$vae" ]; then set_of vae "$vae"; sets=vae; fi
set_of gan-ema "$gan"
set_of gan-raw "$gan" -- --no-ema
for t in 1.0 0.7 0.5; do set_of "gan-t$t" "$gan" --truncation "$t"; done
sets="$sets gan-ema gan-raw gan-t1.0 gan-t0.7 gan-t0.5"

printf '%-22s %10s %22s %18s %10s %10s\n' set fid kid is precision recall
for set in $sets; do
	dg-eval -f "$ext" --json "$dir/$set.dgs" |
		jq -r --arg set "$set" '.metrics as $m | [$set, ($m.fid.value | . * 10000 | round / 10000),
			"\($m.kid.mean | . * 1e6 | round / 1e6) ± \($m.kid.std | . * 1e6 | round / 1e6)",
			"\($m.is.mean | . * 1000 | round / 1000) ± \($m.is.std | . * 1000 | round / 1000)",
			($m.precision.value | . * 10000 | round / 10000),
			($m.recall.value | . * 10000 | round / 10000)] | @tsv' |
		awk -F'\t' '{ printf "%-22s %10s %22s %18s %10s %10s\n", $1 " (10000)", $2, $3, $4, $5, $6 }'
done
