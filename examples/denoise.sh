#!/bin/bash
# denoise.sh — a denoising autoencoder cleaning real Fashion-MNIST test
# images through the pipeline: corrupt 16 test images (each pixel dropped
# with probability LEVEL, as the model saw in training), then encode the
# noisy ones with the DAE and decode them (dae.png).  Also writes
# denoise.png: the clean images, the noisy ones, the DAE's reconstructions
# and a plain AE's of the same noisy images (dg-translate), one row each.
# Usage: examples/denoise.sh [LEVEL]   (default 0.5)
# Trains dae.dgm and ae.dgm (3 epochs each) if they are missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-encode > /dev/null && [ -x "$root/build/bin/dg-encode" ]; then
	PATH=$root/build/bin:$PATH
fi
level=${1:-0.5}
[ -e dae.dgm ] || dg-train -p ae --set noise=mask --set noise_level="$level" \
	-d fashion-mnist --epochs 3 --seed 1 -o dae.dgm
[ -e ae.dgm ] || dg-train -p ae -d fashion-mnist --epochs 3 --seed 1 -o ae.dgm
dg-encode -n 16 fashion-mnist-test > clean.dgs
# the corruption of training (dg_nn_corrupt), drawn at seed 7
/usr/bin/python3 "$root/bench/denoise.py" corrupt mask "$level" 7 < clean.dgs > noisy.dgs
dg-encode -m dae.dgm noisy.dgs | dg-decode -m dae.dgm --grid 16x1 --scale 2 > dae.png
{
	cat clean.dgs noisy.dgs
	dg-translate -m dae.dgm noisy.dgs
	dg-translate -m ae.dgm noisy.dgs
} | dg-decode --grid 16x4 --scale 2 > denoise.png
echo "dae.png: the DAE's reconstructions of 16 test images with mask noise $level"
echo "denoise.png: rows clean, noisy, DAE, plain AE"
