#!/bin/sh
# bench/train_gan.sh — the gan family's DCGAN at its defaults for 28×28
# (non-saturating loss, one D and one G step per iteration, EMA of G),
# batch 64, trained as users see it: dg-train's whole-epoch rate in real
# images/s on 8192 Fashion-MNIST images, the median of epochs 2-4 of its
# log.  run.sh sets it beside bench/torch_dcgan.py (dg/torch dcgan.epoch).
#
# Environment: DG_THREADS, TMPDIR; the tools on PATH.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-gan.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
DG_DEVICE=${DG_DEVICE:-cpu}
export DG_DEVICE
if ! dg-train -p gan -d fashion-mnist --limit 8192 --epochs 4 -b 64 --seed 1 -q \
	--log "$dir/log.csv" -o "$dir/gan.dgm" 2> "$dir/err"; then
	echo "# dg-train -p gan failed: $(head -c 200 "$dir/err")"
	exit 0
fi
set -- $(awk -f "$(dirname "$0")/epoch_median.awk" "$dir/log.csv")
[ $# = 2 ] || { echo "# no epoch rates in dg-train's log"; exit 0; }
printf "%-34s %10.2f %-8s # dg-train -p gan (DCGAN 28x28, ns), batch 64, median of epochs 2-%d\n" \
	dg.dcgan.epoch "$1" images/s "$2"
