#!/bin/bash
# anomaly.sh — "understand normality to detect anomalies": for a held-out
# class of Fashion-MNIST, train a VAE on the other nine classes only, then
# ask how well its per-image bound (-ELBO, in nats) tells the held-out
# class apart in the test set: the AUROC of dg-eval --anomaly (1 perfect,
# 0.5 chance, below 0.5 the model finds the class more normal than the
# rest).  Writes anomaly/vae-without-<c>.dgm and prints one line per class.
# Usage: examples/anomaly.sh [EPOCHS [CLASS...]]  (default 10 epochs, all
# ten classes in turn: about 2 minutes a class on two cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-train > /dev/null && [ -x "$root/build/bin/dg-train" ]; then
	PATH=$root/build/bin:$PATH
fi
epochs=${1:-10}
shift || true
classes=${*:-0 1 2 3 4 5 6 7 8 9}
mkdir -p anomaly
printf '%-5s %-12s %8s %8s\n' class name auroc images
for c in $classes; do
	# the nine other classes of the training set, as one stream
	for k in 0 1 2 3 4 5 6 7 8 9; do
		[ "$k" = "$c" ] || dg-encode -q fashion-mnist -c "$k"
	done > "anomaly/nine-$c.dgs"
	dg-train -q -p vae -d "anomaly/nine-$c.dgs" --epochs "$epochs" --seed 1 \
		-o "anomaly/vae-without-$c.dgm"
	rm -f "anomaly/nine-$c.dgs"
	dg-eval -m "anomaly/vae-without-$c.dgm" -d fashion-mnist-test --anomaly "$c" --json |
		sed 's/.*"class_name":"\([^"]*\)".*"images":\([0-9]*\).*"auroc":\([0-9.e-]*\).*/\2 \3 \1/' |
		while read -r images auc name; do  # the name last: "Ankle boot" has a space
			printf '%-5s %-12s %8.4f %8s\n' "$c" "$name" "$auc" "$images"
		done
done
