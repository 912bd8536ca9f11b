#!/bin/sh
# bench/train_pixelrnn.sh — the pixelrnn family's Row LSTM at its defaults
# (hidden 32, 1 layer, k 3, head 32; plugins/pixelrnn.c, dg-pixelrnn(7)),
# batch 64, trained as users see it: dg-train's whole-epoch rate in images/s
# on 1024 Fashion-MNIST images, the median of epochs 2-3 of its log.  run.sh
# sets it beside bench/torch_pixelrnn.py (dg/torch rowlstm.epoch).
#
# Environment: DG_THREADS, TMPDIR; the tools on PATH.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-pixelrnn.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
DG_DEVICE=${DG_DEVICE:-cpu}
export DG_DEVICE
if ! dg-train -p pixelrnn -d fashion-mnist --limit 1024 --epochs 3 -b 64 --seed 1 -q \
	--log "$dir/log.csv" -o "$dir/rowlstm.dgm" 2> "$dir/err"; then
	echo "# dg-train -p pixelrnn failed: $(head -c 200 "$dir/err")"
	exit 0
fi
set -- $(awk -f "$(dirname "$0")/epoch_median.awk" "$dir/log.csv")
[ $# = 2 ] || { echo "# no epoch rates in dg-train's log"; exit 0; }
printf "%-34s %10.2f %-8s # dg-train -p pixelrnn (Row LSTM h=32 28x28), batch 64, median of epochs 2-%d\n" \
	dg.rowlstm.epoch "$1" images/s "$2"
