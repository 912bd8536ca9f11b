#!/bin/bash
# gan-losses.sh — train the DCGAN of the gan family (dg-gan(7)) with each
# classic loss on Fashion-MNIST and compare: per loss, gan/<loss>.dgm, its
# log gan/<loss>.csv (loss_d, loss_g, D(x), D(G(z)) per epoch), a grid of
# samples from fixed codes after every epoch in gan/snap-<loss>/, and the
# last epoch's grid gan/<loss>.png from G's average, with gan/<loss>-t07.png
# the same codes truncated at 0.7.  Each loss trains with its own paper's
# optimizer.  Usage: examples/gan-losses.sh [EPOCHS] [LOSS...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-train > /dev/null && [ -x "$root/build/bin/dg-train" ]; then
	PATH=$root/build/bin:$PATH
fi
epochs=${1:-5}
shift || true
losses=${*:-ns minimax lsgan wgan wgan-gp hinge}
mkdir -p gan
for loss in $losses; do
	dg-train -p gan -d fashion-mnist --set loss="$loss" --epochs "$epochs" --seed 1 \
		--log "gan/$loss.csv" --snapshot "gan/snap-$loss" -o "gan/$loss.dgm"
	cp "gan/snap-$loss/samples-$(printf %04d "$epochs").png" "gan/$loss.png"
	dg-sample -m "gan/$loss.dgm" -n 64 -s 1 --truncation 0.7 |
		dg-decode -m "gan/$loss.dgm" > "gan/$loss-t07.png"
done
# The last line of each log holds the final epoch's terms.
for loss in $losses; do
	printf '%-8s %s\n' "$loss" "$(head -n 1 "gan/$loss.csv")"
	printf '%-8s %s\n' "" "$(tail -n 1 "gan/$loss.csv")"
done
