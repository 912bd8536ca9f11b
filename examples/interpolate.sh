#!/bin/bash
# interpolate.sh — a walk through a VAE's latent space between two real
# Fashion-MNIST test images: encode both, put ten points on the great
# circle between their codes (dg-interp's slerp), decode them into one row,
# interp.png, with the two originals beside it in ends.png.
# Usage: examples/interpolate.sh [MODEL.dgm [I J]]
# MODEL defaults to vae.dgm, trained first (two epochs) if it is missing;
# I and J are test images by number (default 0 and 1: an ankle boot and a
# pullover).
set -euo pipefail
# the tools of the build tree when dg is not installed
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-encode > /dev/null && [ -x "$root/build/bin/dg-encode" ]; then
	PATH=$root/build/bin:$PATH
fi
model=${1:-vae.dgm}
i=${2:-0}
j=${3:-1}
[ -e "$model" ] || dg-train -p vae -d fashion-mnist --epochs 2 --seed 1 -o "$model"
{
	dg-encode -m "$model" --skip "$i" -n 1 fashion-mnist-test
	dg-encode -m "$model" --skip "$j" -n 1 fashion-mnist-test
} | dg-interp -n 10 | dg-decode -m "$model" --grid 10x1 --scale 2 > interp.png
{
	dg-encode --skip "$i" -n 1 fashion-mnist-test
	dg-encode --skip "$j" -n 1 fashion-mnist-test
} | dg-decode --grid 2x1 --scale 2 > ends.png
echo "interp.png: test image $i to test image $j in 10 steps (originals in ends.png)"
