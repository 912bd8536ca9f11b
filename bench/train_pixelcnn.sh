#!/bin/sh
# bench/train_pixelcnn.sh — the pixelcnn family at its defaults (PixelCNN,
# 5 blocks of 32 channels) on Fashion-MNIST binarized at 0.5, as users
# run it: dg-train's whole-epoch rate in real images/s on 4096 images,
# the median of epochs 2-3 of its log; then dg-sample's rate for 64
# images of 28x28 drawn pixel by pixel with cached activations
# (dg-pixelcnn(7)), and the same with DG_PIXELCNN_FULL_STEPS=1 (a whole
# forward pass per pixel, as bench/torch_pixelcnn.py's loop); then Gated
# PixelCNN's whole-epoch rate (arch=gated features=16, 2048 images) and
# its cached sampling rate for 16 images (dg.gated.sample).
# run.sh sets them beside bench/torch_pixelcnn.py (dg/torch pixelcnn.epoch,
# pixelcnn.sample, gated.epoch, gated.sample).
#
# Environment: DG_THREADS, TMPDIR; the tools on PATH; BENCH_SAMPLE=0
# leaves sampling out.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-pixelcnn.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
DG_DEVICE=${DG_DEVICE:-cpu}
export DG_DEVICE
if ! dg-train -p pixelcnn -d fashion-mnist --set binarize=0.5 --limit 4096 --epochs 3 -b 64 \
	--seed 1 -q --log "$dir/log.csv" -o "$dir/p.dgm" 2> "$dir/err"; then
	echo "# dg-train -p pixelcnn failed: $(head -c 200 "$dir/err")"
	exit 0
fi
set -- $(awk -f "$(dirname "$0")/epoch_median.awk" "$dir/log.csv")
[ $# = 2 ] && printf "%-34s %10.2f %-8s # dg-train -p pixelcnn binarize=0.5, batch 64, median of epochs 2-%d\n" \
	dg.pixelcnn.epoch "$1" images/s "$2"
dg-train -p pixelcnn -d fashion-mnist --set binarize=0.5 --set arch=gated --set features=16 \
	--limit 2048 --epochs 3 -b 64 --seed 1 -q --log "$dir/glog.csv" -o "$dir/g.dgm" 2> "$dir/err" &&
	set -- $(awk -f "$(dirname "$0")/epoch_median.awk" "$dir/glog.csv") && [ $# = 2 ] &&
	printf "%-34s %10.2f %-8s # dg-train -p pixelcnn arch=gated features=16 binarize=0.5, batch 64, median of epochs 2-%d\n" \
		dg.gated.epoch "$1" images/s "$2"
[ "${BENCH_SAMPLE:-1}" = 0 ] && exit 0
# dg-sample --progress ends with "N images in T s, R images/s"
rate() { tr '\r' '\n' < "$1" | sed -n 's/.* images in \([0-9.]*\) s, \([0-9.]*\) images\/s$/\2 \1/p' | tail -1; }
dg-sample -m "$dir/p.dgm" -n 64 -s 1 --progress > /dev/null 2> "$dir/s1" &&
	set -- $(rate "$dir/s1") && [ $# = 2 ] &&
	printf "%-34s %10.2f %-8s # dg-sample -n 64, 28x28, cached steps, %.1f s\n" \
		dg.pixelcnn.sample "$1" images/s "$2"
DG_PIXELCNN_FULL_STEPS=1 dg-sample -m "$dir/p.dgm" -n 64 -s 1 --progress > /dev/null 2> "$dir/s2" &&
	set -- $(rate "$dir/s2") && [ $# = 2 ] &&
	printf "%-34s %10.2f %-8s # the same, a whole forward pass per pixel, %.1f s\n" \
		dg.pixelcnn.sample_full "$1" images/s "$2"
[ -e "$dir/g.dgm" ] && dg-sample -m "$dir/g.dgm" -n 16 -s 1 --progress > /dev/null 2> "$dir/s3" &&
	set -- $(rate "$dir/s3") && [ $# = 2 ] &&
	printf "%-34s %10.2f %-8s # dg-sample -n 16, 28x28, arch=gated features=16, cached steps, %.1f s\n" \
		dg.gated.sample "$1" images/s "$2"
exit 0
