#!/bin/bash
# traverse.sh — latent traversals of a VAE and a β-VAE side by side, the
# β-VAE paper's figure (Higgins et al. 2017): from the prior's mean, each
# row moves one latent coordinate from -3 to 3 with the others held at 0.
# With β = 4 fewer coordinates change the image, and those that do tend to
# change one thing each (width, brightness, shape); with β = 1 more rows
# move, each several things at once.  A latent of 10 keeps the figure
# readable.  Writes traverse/beta-<β>.dgm and traverse/beta-<β>.png (10
# rows of 9), and traverse/side-by-side.png when ImageMagick is installed.
# Usage: examples/traverse.sh [EPOCHS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-train > /dev/null && [ -x "$root/build/bin/dg-train" ]; then
	PATH=$root/build/bin:$PATH
fi
epochs=${1:-10}
latent=10
mkdir -p traverse
for beta in 1 4; do
	dg-train -p vae -d fashion-mnist --set beta=$beta --set latent=$latent \
		--epochs "$epochs" --seed 1 -q -o "traverse/beta-$beta.dgm"
	dg-sample -m "traverse/beta-$beta.dgm" -t 0 -n 1 |
		dg-interp --traverse all --range -3:3 -n 9 |
		dg-decode -m "traverse/beta-$beta.dgm" --grid 9x$latent > "traverse/beta-$beta.png"
	# the price: β = 4 gives up reconstruction for a smaller KL term
	echo "beta=$beta: $(dg-eval -m "traverse/beta-$beta.dgm" -d fashion-mnist-test | tr '\n' ' ')"
done
if command -v convert > /dev/null; then
	convert traverse/beta-1.png traverse/beta-4.png -background white -splice 8x0 +append \
		traverse/side-by-side.png
	echo "traverse/side-by-side.png: beta 1 (left), beta 4 (right)"
fi
