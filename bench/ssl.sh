#!/bin/sh
# bench/ssl.sh — semi-supervised classification on Fashion-MNIST (issue 16,
# item 3): test error of M2 and of M1+M2 (dg-train -p m2, --set m1=) with
# 10 and 100 labels per class, beside the classifier family trained on the
# same labelled images alone (dg-train -p classifier --labels-per-class N:
# the same --seed picks the same images).  M1 is the vae family's MLP VAE
# (784-400-20) trained on all 60000 images without labels.  Prints one
# line per model: name, labels per class, epochs, test error, seconds.
#
# Environment: SSL_EPOCHS (M2's and M1+M2's epochs, default 3), SSL_M1_EPOCHS
# (default 10), SSL_LABELS (default "10 100"), SSL_DIR (where the models
# go; default a temporary directory, removed), DG_THREADS; tools on PATH.
set -u
epochs=${SSL_EPOCHS:-3}
m1_epochs=${SSL_M1_EPOCHS:-10}
labels=${SSL_LABELS:-10 100}
DG_DEVICE=${DG_DEVICE:-cpu}
export DG_DEVICE
if [ -n "${SSL_DIR:-}" ]; then dir=$SSL_DIR; mkdir -p "$dir"
else dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-ssl.XXXXXX"); trap 'rm -rf "$dir"' EXIT INT TERM; fi

# test error in percent from dg-eval's accuracy line
err() { dg-eval -m "$1" -d fashion-mnist-test | awk '$1 == "accuracy" { printf "%.2f", 100 * (1 - $2) }'; }
run() { # name N epochs model args...
	name=$1 n=$2 e=$3 model=$4; shift 4
	t0=$(date +%s)
	if dg-train -q --seed 1 -o "$model" --log "$model.csv" "$@"; then
		printf "%-10s %4s labels/class %4s epochs  test error %6s %%  %5ss  load %s\n" "$name" "$n" \
			"$e" "$(err "$model")" $(($(date +%s) - t0)) "$(cut -d' ' -f1 /proc/loadavg)"
	else
		echo "# $name $n: dg-train failed"
	fi
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s)
dg-train -q --seed 1 -p vae -d fashion-mnist -e "$m1_epochs" -o "$dir/m1.dgm" &&
	echo "# M1: vae 784-400-20, $m1_epochs epochs, $(($(date +%s) - t0))s"
for n in $labels; do
	# the classifier alone: N*10 images; batches of at most 100, about 600 steps
	b=$((n * 10 < 100 ? n * 10 / 2 : 100))
	ce=$((600 * b / (n * 10)))
	run classifier "$n" "$ce" "$dir/clf-$n.dgm" -p classifier -d fashion-mnist \
		--labels-per-class "$n" -b "$b" -e "$ce"
	run m1+m2 "$n" "$epochs" "$dir/m1m2-$n.dgm" -p m2 -d fashion-mnist --labels-per-class "$n" \
		-e "$epochs" --set m1="$dir/m1.dgm"
	run m2 "$n" "$epochs" "$dir/m2-$n.dgm" -p m2 -d fashion-mnist --labels-per-class "$n" \
		-e "$epochs"
done
