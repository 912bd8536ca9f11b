#!/bin/sh
# bench/dfc.sh — the feature-consistent VAE (vae family, dfc=) beside the
# plain VAE of the same architecture and budget (issue 16, item 4): FID of
# 10000 samples each against fashion-mnist-test in dg-eval's features, and
# the side-by-side grid bench/figures/dfc-vs-vae.png (64 samples each from
# the same codes).  The perceptual loss uses a classifier trained with
# --seed 2; FID uses another one (dg-eval --setup's recipe, --seed 1 of
# dg-eval's own), so the model is not scored by its training loss.  Both
# are the classifier family, so the two feature spaces are alike: the
# FID still favours what the perceptual term rewards more than an
# independent network would.
#
# Environment: DFC_EPOCHS (default 3), DFC_WEIGHT (default 0.5),
# DFC_CLF_EPOCHS (each classifier's, default 3), DFC_DIR (default a
# temporary directory, removed), FIGURE (default bench/figures/dfc-vs-vae.png).
set -u
here=$(cd "$(dirname "$0")" && pwd)
epochs=${DFC_EPOCHS:-3}
weight=${DFC_WEIGHT:-0.5}
ce=${DFC_CLF_EPOCHS:-3}
figure=${FIGURE:-$here/figures/dfc-vs-vae.png}
DG_DEVICE=${DG_DEVICE:-cpu}
export DG_DEVICE
if [ -n "${DFC_DIR:-}" ]; then dir=$DFC_DIR; mkdir -p "$dir"
else dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-dfc.XXXXXX"); trap 'rm -rf "$dir"' EXIT INT TERM; fi
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
[ -f "$dir/ext.dgm" ] || dg-eval --setup -q -f "$dir/ext.dgm" -e "$ce" > /dev/null || exit 1
[ -f "$dir/clf.dgm" ] || dg-train -q -p classifier -d fashion-mnist --seed 2 -e "$ce" \
	-o "$dir/clf.dgm" || exit 1
echo "# classifiers: FID's $(dg-eval -m "$dir/ext.dgm" -d fashion-mnist-test | awk '$1 == "accuracy" { print $2 }'),"\
	"the loss's $(dg-eval -m "$dir/clf.dgm" -d fashion-mnist-test | awk '$1 == "accuracy" { print $2 }') test accuracy"
for m in vae dfc; do
	set --
	[ $m = dfc ] && set -- --set dfc="$dir/clf.dgm" --set dfc_weight="$weight"
	t0=$(date +%s)
	dg-train -q -p vae -d fashion-mnist --seed 1 -e "$epochs" "$@" -o "$dir/$m.dgm" \
		--log "$dir/$m.csv" || exit 1
	t1=$(date +%s)
	dg-sample -m "$dir/$m.dgm" -n 10000 --seed 1 | dg-decode -m "$dir/$m.dgm" --raw > "$dir/$m.dgs"
	fid=$(dg-eval -f "$dir/ext.dgm" --metrics fid "$dir/$m.dgs" | awk '$1 == "fid" { print $2 }')
	nelbo=$(dg-eval -m "$dir/$m.dgm" -d fashion-mnist-test | awk '$1 == "nelbo" { print $2 }')
	printf "%-4s %s epochs  FID %8s  test -ELBO %8s  train %4ss  load %s  last epoch: %s\n" "$m" \
		"$epochs" "$fid" "$nelbo" $((t1 - t0)) "$(cut -d' ' -f1 /proc/loadavg)" "$(tail -1 "$dir/$m.csv")"
	dg-sample -m "$dir/$m.dgm" -n 64 --seed 7 | dg-decode -m "$dir/$m.dgm" -g 8x8 > "$dir/$m.png"
done
mkdir -p "$(dirname "$figure")"
convert "$dir/vae.png" "$dir/dfc.png" -background white -splice 8x0 +append -chop 8x0 "$figure" &&
	echo "# $figure: VAE (left), DFC-VAE dfc_weight=$weight (right), the same 64 codes"
