#!/bin/sh
# bench/zoo.sh — the regularized autoencoders beside their plain
# counterparts on Fashion-MNIST (issue 16's must-show numbers): the
# denoising AE's denoising error at three noise levels of each corruption,
# the contractive AE's Jacobian norm, the denoising VAE's test -ELBO on
# clean data.  Every model is the default MLP of its family (784-400-20),
# trained EPOCHS epochs (default 5) at batch 128 with --seed 1 (the VAEs
# also 2) on the 60000
# training images and measured on the 10000 test images; only the option
# under study differs.  Prints one `what value ...` line per number;
# bench/RESULTS.md keeps them.  Not part of `make bench` (20-30 minutes on
# two shared cores).
#
# Denoising error: the test images corrupted by bench/denoise.py (the same
# corruption as training's, drawn at seed 7), reconstructed by dg-translate,
# compared with the clean images: squared error summed over the 784 pixels,
# mean over images ± standard error.
#
# Environment: EPOCHS, KEEP (a directory to keep the models in), PYTHON
# (/usr/bin/python3), the tools on PATH.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
EPOCHS=${EPOCHS:-5}
PYTHON=${PYTHON:-/usr/bin/python3}
dir=${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/dg-zoo.XXXXXX")}
mkdir -p "$dir"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$dir"' EXIT INT TERM
DG_DEVICE=${DG_DEVICE:-cpu}
export DG_DEVICE

seed=1
train() { # NAME FAMILY [--set ...], at $seed
	name=$1 fam=$2
	shift 2
	[ -e "$dir/$name.dgm" ] ||
		dg-train -q -p "$fam" "$@" -d fashion-mnist -e "$EPOCHS" -b 128 --seed "$seed" \
			-o "$dir/$name.dgm" --log "$dir/$name.csv"
	echo "# trained $name ($fam $*): $(tail -n 1 "$dir/$name.csv")"
}

dg-encode fashion-mnist-test > "$dir/test.dgs"
echo "# dg bench/zoo.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $EPOCHS epochs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- denoising AE ------------------------------------------------------------------
train ae ae
for spec in mask:0.1 mask:0.25 mask:0.5 gauss:0.1 gauss:0.25 gauss:0.5 \
	saltpepper:0.1 saltpepper:0.25 saltpepper:0.5; do
	kind=${spec%:*} level=${spec#*:}
	train "dae-$kind-$level" ae --set noise="$kind" --set noise_level="$level"
	"$PYTHON" "$here/denoise.py" corrupt "$kind" "$level" 7 < "$dir/test.dgs" > "$dir/noisy.dgs"
	noisy=$("$PYTHON" "$here/denoise.py" mse "$dir/test.dgs" "$dir/noisy.dgs")
	for m in ae "dae-$kind-$level"; do
		dg-translate -m "$dir/$m.dgm" "$dir/noisy.dgs" > "$dir/recon.dgs"
		echo "denoise $kind $level $m $("$PYTHON" "$here/denoise.py" mse "$dir/test.dgs" "$dir/recon.dgs") noisy-input $noisy"
	done
	dg-eval -m "$dir/dae-$kind-$level.dgm" -d "$dir/test.dgs" | sed -n "s/^rec  */clean-rec dae-$kind-$level /p"
done
dg-eval -m "$dir/ae.dgm" -d "$dir/test.dgs" | sed -n 's/^\(rec\|jac\)  */clean-\1 ae /p'

# ---- contractive AE ---------------------------------------------------------------------
for lam in 0.1 1; do
	train "cae-$lam" ae --set contractive="$lam"
	dg-eval -m "$dir/cae-$lam.dgm" -d "$dir/test.dgs" | sed -n "s/^\(rec\|jac\)  */clean-\1 cae-$lam /p"
done

# ---- denoising VAE ---------------------------------------------------------------------
# Two training seeds: the gaps are a few nats, the seed-to-seed spread of
# a 5-epoch VAE is part of what they are measured against.
for seed in 1 2; do
	sfx=$([ $seed = 1 ] || echo "-s$seed")
	train "vae$sfx" vae
	dg-eval -m "$dir/vae$sfx.dgm" -d "$dir/test.dgs" -k 10 |
		sed -n "s/^\(nelbo\|iwae\|rec\|kl\)  */\1 vae$sfx /p"
	for spec in saltpepper:0.02 saltpepper:0.1 gauss:0.05 gauss:0.25 mask:0.25; do
		kind=${spec%:*} level=${spec#*:}
		train "dvae-$kind-$level$sfx" vae --set noise="$kind" --set noise_level="$level"
		dg-eval -m "$dir/dvae-$kind-$level$sfx.dgm" -d "$dir/test.dgs" -k 10 |
			sed -n "s/^\(nelbo\|iwae\|rec\|kl\)  */\1 dvae-$kind-$level$sfx /p"
	done
done
