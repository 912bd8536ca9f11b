#!/bin/sh
# bench/train_pixelrnn.sh — the pixelrnn family's Row LSTM at its defaults
# (hidden 32, 1 layer, k 3, head 32; plugins/pixelrnn.c, dg-pixelrnn(7)),
# batch 64, trained as users see it: dg-train's whole-epoch rate in images/s
# on 1024 Fashion-MNIST images, the median of epochs 2-3 of its log; then
# dg-sample's rate for 64 images of 28x28 drawn pixel by pixel with the
# Row LSTM's caches (dg-pixelrnn(7)), SAMPLE_ROUNDS times (1), and unless
# FULL=0 once with DG_PIXELRNN_FULL_STEPS=1 (a whole forward pass per
# pixel, as bench/torch_pixelrnn.py --sample's loop).  run.sh sets them
# beside bench/torch_pixelrnn.py (dg/torch rowlstm.epoch, rowlstm.sample).
#
# Environment: DG_THREADS, TMPDIR, SAMPLE_ROUNDS, FULL; the tools on PATH.
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
# dg-sample --progress ends with "N images in T s, R images/s"
rate() { tr '\r' '\n' < "$1" | sed -n 's/.* images in \([0-9.]*\) s, \([0-9.]*\) images\/s$/\2 \1/p' | tail -1; }
i=0
while [ $i -lt "${SAMPLE_ROUNDS:-1}" ]; do
	i=$((i + 1))
	dg-sample -m "$dir/rowlstm.dgm" -n 64 -s 1 --progress > /dev/null 2> "$dir/s1" &&
		set -- $(rate "$dir/s1") && [ $# = 2 ] &&
		printf "%-34s %10.2f %-8s # dg-sample -n 64, 28x28, cached steps, %.2f s\n" \
			dg.rowlstm.sample "$1" images/s "$2"
done
[ "${FULL:-1}" = 0 ] && exit 0
DG_PIXELRNN_FULL_STEPS=1 dg-sample -m "$dir/rowlstm.dgm" -n 64 -s 1 --progress > /dev/null \
	2> "$dir/s2" && set -- $(rate "$dir/s2") && [ $# = 2 ] &&
	printf "%-34s %10.2f %-8s # the same, a whole forward pass per pixel, %.1f s\n" \
		dg.rowlstm.sample_full "$1" images/s "$2"
exit 0
