#!/bin/bash
# gan-project.sh — GAN inversion: a GAN has no encoder, so dg-encode
# --project finds the code of each of eight real Fashion-MNIST test images
# by gradient descent through the generator, then walks between the codes
# of the first two.  projection.png: the eight test images above, their
# projections below; projected-interp.png: ten steps from the first
# projection to the second (slerp, as the codes say prior=gaussian).
# Usage: examples/gan-project.sh [MODEL.dgm [FIRST [STEPS [CLASSIFIER.dgm]]]]
# MODEL defaults to gan.dgm, trained first (a DCGAN, two epochs) if it is
# missing; FIRST is the first test image (default 0), STEPS the Adam steps
# (default 300); with CLASSIFIER its features join the pixel loss
# (weight 0.01).
set -euo pipefail
# the tools of the build tree when dg is not installed
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-encode > /dev/null && [ -x "$root/build/bin/dg-encode" ]; then
	PATH=$root/build/bin:$PATH
fi
model=${1:-gan.dgm}
first=${2:-0}
steps=${3:-300}
features=()
[ -n "${4:-}" ] && features=(--features "$4" --feature-weight 0.01)
[ -e "$model" ] || dg-train -p gan -d fashion-mnist --epochs 2 --seed 1 -o "$model"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dg-encode --skip "$first" -n 8 fashion-mnist-test > "$work/real.dgs"
dg-encode -m "$model" --project --steps "$steps" "${features[@]}" "$work/real.dgs" > "$work/z.dgs"
dg-info "$work/z.dgs" | sed -n 's/.*\(project_mse=[^ ]*\).*/mean squared pixel error: \1/p'
cat "$work/real.dgs" <(dg-decode -m "$model" --raw < "$work/z.dgs") |
	dg-decode --grid 8x2 --scale 2 > projection.png
# the first two codes: a two-code path of ten points
dg-interp -e a < "$work/z.dgs" > "$work/a.dgs"
dg-interp -e b < "$work/z.dgs" > "$work/b.dgs"
cat "$work/a.dgs" "$work/b.dgs" | dg-interp -n 10 | dg-decode -m "$model" --grid 10x1 --scale 2 \
	> projected-interp.png
echo "projection.png: test images $first..$((first + 7)) and their projections ($steps steps)"
echo "projected-interp.png: from the projection of test image $first to that of $((first + 1))"
