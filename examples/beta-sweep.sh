#!/bin/bash
# beta-sweep.sh — train a β-VAE for several β and compare what the KL
# pressure does: larger β gives smoother, blurrier samples and a smaller KL
# term.  Writes sweep/beta-<β>.dgm, sweep/beta-<β>.csv and the last epoch's
# sample grid sweep/beta-<β>.png.  Usage: examples/beta-sweep.sh [EPOCHS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-train > /dev/null && [ -x "$root/build/bin/dg-train" ]; then
	PATH=$root/build/bin:$PATH
fi
epochs=${1:-3}
mkdir -p sweep
for beta in 0.5 1 2 4; do
	dg-train -p vae -d fashion-mnist --set beta=$beta --epochs "$epochs" --seed 1 \
		--log "sweep/beta-$beta.csv" --snapshot "sweep/snap-$beta" -o "sweep/beta-$beta.dgm"
	cp "sweep/snap-$beta/samples-$(printf %04d "$epochs").png" "sweep/beta-$beta.png"
done
# The last line of each log holds the final epoch's terms.
for beta in 0.5 1 2 4; do
	printf 'beta=%-4s %s\n' "$beta" "$(tail -n 1 "sweep/beta-$beta.csv")"
done
