#!/bin/sh
# bench/ssl.sh — semi-supervised classification on Fashion-MNIST (issue 16,
# item 3): test error of M2 and of M1+M2 (dg-train -p m2, --set m1=) with
# 10 and 100 labels per class, beside two supervised baselines trained on
# the same labelled images alone (the same --seed picks the same images):
# M2's own classifier q(y|x) (a 784-500-10 ReLU MLP: -p m2 --set
# generative=0, the same network, initialization, data order and
# optimizer), the same MLP on M1's codes (the baseline of M1+M2), and the
# conv classifier family.  M1 is the vae family's MLP VAE trained on all
# 60000 images without labels.  Prints one line per model: name, labels
# per class, epochs, seconds, load, test error (and for M2 and M1+M2 the
# error of the generative model's own class, dg-m2(7)'s gen_accuracy).
#
# Environment: SSL_EPOCHS (M2's epochs, default 10), SSL_MM_EPOCHS (M1+M2's
# and the MLP baselines', default 30), SSL_M1_EPOCHS (default 10),
# SSL_M1_HIDDEN and SSL_M1_LATENT (M1's sizes, default the vae family's 400
# and 20: a 50-d code, the paper's, did worse here; bench/RESULTS.md),
# SSL_ALPHA (M2's alpha, default 50: at these budgets the paper's
# balance, alpha 1, leaves q(y|x) far behind; bench/RESULTS.md),
# SSL_MM_ALPHA (M1+M2's, default 10: better than 1 at both label counts), SSL_M1_SAMPLE (M1+M2's m1_sample,
# default 0), SSL_LABELS (default "10 100"), SSL_MODELS (which
# to run, default "mlp mlp-m1 classifier m1+m2 m2"), SSL_DIR (where the
# models go, kept; an M1 already there is reused; default a temporary
# directory, removed), DG_THREADS; tools on PATH.
set -u
epochs=${SSL_EPOCHS:-10}
mm_epochs=${SSL_MM_EPOCHS:-30}
m1_epochs=${SSL_M1_EPOCHS:-10}
m1_hidden=${SSL_M1_HIDDEN:-400}
m1_latent=${SSL_M1_LATENT:-20}
alpha=${SSL_ALPHA:-50}
mm_alpha=${SSL_MM_ALPHA:-10}
m1_sample=${SSL_M1_SAMPLE:-0}
labels=${SSL_LABELS:-10 100}
models=${SSL_MODELS:-mlp mlp-m1 classifier m1+m2 m2}
DG_DEVICE=${DG_DEVICE:-cpu}
export DG_DEVICE
if [ -n "${SSL_DIR:-}" ]; then dir=$SSL_DIR; mkdir -p "$dir"
else dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-ssl.XXXXXX"); trap 'rm -rf "$dir"' EXIT INT TERM; fi

# test error in percent from dg-eval's accuracy line, and for M2 the
# generative model's own (gen_accuracy: the class of the lowest bound)
err() { dg-eval -m "$1" -d fashion-mnist-test | awk '$1 == "accuracy" { e = 100 * (1 - $2) }
	$1 == "gen_accuracy" { g = sprintf("  generative %.2f %%", 100 * (1 - $2)) }
	END { printf "%6.2f %%%s", e, g }'; }
run() { # name N epochs model args...
	name=$1 n=$2 e=$3 model=$4; shift 4
	t0=$(date +%s)
	if dg-train -q --seed 1 -o "$model" --log "$model.csv" "$@"; then
		printf "%-10s %4s labels/class %4s epochs  %5ss  load %5s  test error %s\n" "$name" "$n" \
			"$e" $(($(date +%s) - t0)) "$(cut -d' ' -f1 /proc/loadavg)" "$(err "$model")"
	else
		echo "# $name $n: dg-train failed"
	fi
}
want() { case " $models " in *" $1 "*) return 0;; esac; return 1; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg); alpha $alpha (M2), $mm_alpha (M1+M2), m1_sample $m1_sample"
m1="m1=$dir/m1.dgm m1_hidden=$m1_hidden m1_latent=$m1_latent"
if { want m1+m2 || want mlp-m1; } && [ ! -s "$dir/m1.dgm" ]; then
	t0=$(date +%s)
	dg-train -q --seed 1 -p vae -d fashion-mnist -e "$m1_epochs" --set hidden="$m1_hidden" \
		--set latent="$m1_latent" -o "$dir/m1.dgm" &&
		echo "# M1: vae 784-$m1_hidden-$m1_latent, $m1_epochs epochs, $(($(date +%s) - t0))s"
fi
sets() { for s in "$@"; do printf -- '--set %s ' "$s"; done; }
for n in $labels; do
	data="-d fashion-mnist --labels-per-class $n"
	# shellcheck disable=SC2086 # word splitting of the option lists is wanted
	{
	want mlp && run mlp "$n" "$mm_epochs" "$dir/mlp-$n.dgm" -p m2 $data -e "$mm_epochs" \
		--set generative=0
	want mlp-m1 && run mlp-m1 "$n" "$mm_epochs" "$dir/mlp-m1-$n.dgm" -p m2 $data \
		-e "$mm_epochs" --set generative=0 $(sets $m1)
	if want classifier; then
		# the conv family: N*10 images; batches of at most 100, about 600 steps
		b=$((n * 10 < 100 ? n * 10 / 2 : 100))
		ce=$((600 * b / (n * 10)))
		run classifier "$n" "$ce" "$dir/clf-$n.dgm" -p classifier $data -b "$b" -e "$ce"
	fi
	want m1+m2 && run m1+m2 "$n" "$mm_epochs" "$dir/m1m2-$n.dgm" -p m2 $data -e "$mm_epochs" \
		--set alpha="$mm_alpha" --set m1_sample="$m1_sample" $(sets $m1)
	want m2 && run m2 "$n" "$epochs" "$dir/m2-$n.dgm" -p m2 $data -e "$epochs" \
		--set alpha="$alpha"
	}
done
exit 0
