#!/bin/sh
# bench/train_gan.sh — the gan family's DCGAN at its defaults for 28×28
# (non-saturating loss, one D and one G step per iteration, EMA of G),
# batch 64, trained as users see it: dg-train's whole-epoch rate in real
# images/s on 8192 Fashion-MNIST images, the median of epochs 2-4 of its
# log.  Then the same with loss=wgan-gp (a layer-normed critic, 5 critic
# steps on fresh batches, the gradient penalty by double backward) on 4096
# images, as generator steps per second: an iteration draws 5 batches, so
# G steps/s = images/s / (5·64).  run.sh sets them beside
# bench/torch_dcgan.py and bench/torch_wgangp.py (dg/torch dcgan.epoch,
# dg/torch wgangp.gsteps).
#
# Environment: DG_THREADS, TMPDIR, BENCH_GAN (the losses to measure,
# default "ns wgan-gp"); the tools on PATH.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-gan.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
DG_DEVICE=${DG_DEVICE:-cpu}
export DG_DEVICE

# train NAME LIMIT [OPTIONS]: 4 epochs into $dir/NAME.csv, then prints
# "MEDIAN LAST" of its images/s, or a comment and fails
train() {
	name=$1 limit=$2
	shift 2
	if ! dg-train -p gan -d fashion-mnist --limit "$limit" --epochs 4 -b 64 --seed 1 -q \
		--log "$dir/$name.csv" -o "$dir/$name.dgm" "$@" 2> "$dir/err"; then
		echo "# dg-train -p gan $*failed: $(head -c 200 "$dir/err")" >&2
		return 1
	fi
	awk -f "$(dirname "$0")/epoch_median.awk" "$dir/$name.csv"
}

losses=${BENCH_GAN:-ns wgan-gp}
if ! echo " $losses " | grep -q ' ns '; then
	:
elif set -- $(train ns 8192) && [ $# = 2 ]; then
	printf "%-34s %10.2f %-8s # dg-train -p gan (DCGAN 28x28, ns), batch 64, median of epochs 2-%d\n" \
		dg.dcgan.epoch "$1" images/s "$2"
else
	echo "# no epoch rates for ns"
fi
if ! echo " $losses " | grep -q ' wgan-gp '; then
	:
elif set -- $(train wgangp 4096 --set loss=wgan-gp) && [ $# = 2 ]; then
	awk -v r="$1" -v e="$2" 'BEGIN { printf "%-34s %10.2f %-8s # dg-train -p gan --set loss=wgan-gp (DCGAN 28x28, 5 critic steps, GP), batch 64, %.1f images/s, median of epochs 2-%d\n", "dg.wgangp.epoch", r / 320, "gsteps/s", r, e }'
else
	echo "# no epoch rates for wgan-gp"
fi
