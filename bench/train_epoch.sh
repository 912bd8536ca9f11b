#!/bin/sh
# bench/train_epoch.sh — MLP VAE training as users see it: dg-train's
# whole-epoch rate on Fashion-MNIST (batching, shuffling, feeding,
# reading the terms and logging included), from the log of a 4-epoch run
# (the median of epochs 2-4: the first pays for loading and compiling),
# and what it means against the processor: the step's floating-point
# operations per second over the measured peak of b_peak when run.sh has
# it.  Prints `name value unit # note` lines for run.sh, whose ratio
# dg/torch vae.epoch sets this beside torch_vae.py's optimizer-step rate.
#
# Environment: DG_THREADS, TMPDIR; the tools on PATH.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-epoch.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
DG_DEVICE=${DG_DEVICE:-cpu}
export DG_DEVICE
if ! dg-train -p vae -d fashion-mnist --epochs 4 --seed 1 -q --log "$dir/log.csv" \
	-o "$dir/vae.dgm" 2> "$dir/err"; then
	echo "# dg-train failed: $(head -c 200 "$dir/err")"
	exit 0
fi
# 784-400-20 (mu, logvar)-400-784: forward 651200 multiply-adds per image;
# backward a weight gradient for each layer and an input gradient for all
# but the first: 3.28 MFLOP per image and step.
set -- $(awk -f "$(dirname "$0")/epoch_median.awk" "$dir/log.csv")
[ $# = 2 ] || { echo "# no epoch rates in dg-train's log"; exit 0; }
printf "%-34s %10.2f %-8s # dg-train -p vae, median of epochs 2-%d (%s)\n" dg.vae.epoch "$1" \
	images/s "$2" "whole epochs: batching, feeding, terms, log"
awk -v m="$1" 'BEGIN { printf "%-34s %10.2f %-8s # 3.28 MFLOP per image and step\n",
	"dg.vae.epoch.gflops", m * 3.28e6 / 1e9, "GFLOP/s" }'
