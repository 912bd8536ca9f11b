#!/bin/bash
# infogan-sweep.sh — what InfoGAN's codes (Chen et al. 2016) learned on
# Fashion-MNIST: the paper's MNIST networks (a DCGAN with fc=1024, z of 62,
# G's learning rate 1e-3) with a 10-way categorical code and two continuous
# ones, then grids that sweep one code with everything else fixed.
#   infogan/cat.png   row k: --code cat=k; column j: the j-th draw of z and
#                     of the continuous codes, the same in every row (same
#                     seed), so only the categorical code changes down a column
#   infogan/cI.png    row k: cat=k; columns: cI from -2 to 2 (beyond the
#                     prior's [-1, 1] at the ends), z and the other code fixed
# Usage: examples/infogan-sweep.sh [EPOCHS [MODEL]]  (an existing MODEL is
# swept without training)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-train > /dev/null && [ -x "$root/build/bin/dg-train" ]; then
	PATH=$root/build/bin:$PATH
fi
epochs=${1:-3}
model=${2:-infogan/infogan.dgm}
mkdir -p infogan
if [ ! -e "$model" ]; then
	dg-train -p gan -d fashion-mnist --set info_cat=10 --set info_cont=2 \
		--set fc=1024 --set latent=62 --lr generator=1e-3 \
		--epochs "$epochs" --seed 1 -o "$model"
fi
for k in 0 1 2 3 4 5 6 7 8 9; do
	dg-sample -m "$model" -n 10 --seed 7 --code cat=$k
done | dg-decode -m "$model" --grid 10x10 > infogan/cat.png
echo "infogan/cat.png: rows are the categorical code's values"
values="-2 -1.5 -1 -0.5 0 0.5 1 1.5 2"
for i in 1 2; do
	for k in 0 1 2 3 4 5 6 7 8 9; do
		for v in $values; do
			dg-sample -m "$model" -n 1 --seed 7 --code cat=$k --code c$i=$v
		done
	done | dg-decode -m "$model" --grid 9x10 > "infogan/c$i.png"
	echo "infogan/c$i.png: c$i from -2 to 2 along each row"
done
