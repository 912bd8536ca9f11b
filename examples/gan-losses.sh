#!/bin/bash
# gan-losses.sh — train the DCGAN of the gan family (dg-gan(7)) with each
# classic loss on Fashion-MNIST and compare: per loss, gan/<loss>.dgm, its
# log gan/<loss>.csv (loss_d, loss_g, D(x), D(G(z)) per epoch), a grid of
# samples from fixed codes after every epoch in gan/snap-<loss>/, and the
# last epoch's grid gan/<loss>.png from G's average, with gan/<loss>-t07.png
# the same codes truncated at 0.7.  Each loss trains with its own paper's
# optimizer (dg-gan(7), Losses):
#   ns       non-saturating, -log D(G(z)) for G; Adam 2e-4, beta1 0.5
#   minimax  the 2014 paper's log(1 - D(G(z))), which saturates; same Adam
#   lsgan    least squares, targets 0 and 1; same Adam
#   wgan     Wasserstein, critic clipped to +-0.01, 5 critic steps; RMSProp 5e-5
#   wgan-gp  Wasserstein with a gradient penalty (lambda 10), layer-normed
#            critic, 5 critic steps; Adam 1e-4, betas (0, 0.9)
#   hinge    hinge loss for D, -D(G(z)) for G; Adam 2e-4, beta1 0.5
# One loss alone: examples/gan-losses.sh 5 wgan-gp.  dg-train warns on
# stderr if D wins or the samples collapse (dg-gan(7), Warnings); the
# log's diversity column is G's spread over the data's.
# Usage: examples/gan-losses.sh [EPOCHS] [LOSS...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-train > /dev/null && [ -x "$root/build/bin/dg-train" ]; then
	PATH=$root/build/bin:$PATH
fi
epochs=${1:-5}
shift || true
losses=${*:-ns minimax lsgan wgan wgan-gp hinge}
for loss in $losses; do
	case $loss in
	ns | minimax | lsgan | wgan | wgan-gp | hinge) ;;
	*) echo "gan-losses.sh: $loss: not a loss (ns minimax lsgan wgan wgan-gp hinge)" >&2; exit 64 ;;
	esac
done
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
