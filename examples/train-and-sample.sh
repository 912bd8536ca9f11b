#!/bin/bash
# train-and-sample.sh — the whole life of a model in four commands: train
# the classic MLP VAE, draw from its prior at two temperatures, look at how
# well it reconstructs real test images, and measure it in nats.
# Writes vae.dgm, samples.png, samples-cold.png, real.png, recon.png.
# Usage: examples/train-and-sample.sh [EPOCHS [DEVICE]]
# DEVICE is cpu or vulkan (default: dg's choice, see dg(7)).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-train > /dev/null && [ -x "$root/build/bin/dg-train" ]; then
	PATH=$root/build/bin:$PATH
fi
epochs=${1:-5}
[ $# -ge 2 ] && export DG_DEVICE=$2
dg-train -p vae -d fashion-mnist -o vae.dgm --epochs "$epochs" --seed 1
# 64 codes from N(0, I), decoded into an 8x8 grid; then colder codes
# (temperature 0.5: closer to the prior's mode, less varied, sharper)
dg-sample -m vae.dgm -n 64 --seed 7 | dg-decode -m vae.dgm > samples.png
dg-sample -m vae.dgm -n 64 --seed 7 --temperature 0.5 | dg-decode -m vae.dgm > samples-cold.png
# 16 real test images beside their reconstructions (posterior means)
dg-encode -n 16 fashion-mnist-test | dg-decode --grid 16x1 > real.png
dg-encode -m vae.dgm -n 16 fashion-mnist-test | dg-decode -m vae.dgm --grid 16x1 > recon.png
dg-eval -m vae.dgm -d fashion-mnist-test
