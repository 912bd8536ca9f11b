#!/bin/sh
# bench/pixel_nll.sh — the autoregressive families' test NLL beside their
# PyTorch peers (bench/torch_pixelcnn.py, bench/torch_pixelrnn.py: the
# same architectures, initializer distributions, batch 64, Adam 1e-3,
# static binarization x > 0.5, the last partial batch dropped), trained on
# the same images for the same epochs, one after the other in this call;
# then each side's exact NLL of the test images in nats per image and
# bits per dimension.
#
# Usage: bench/pixel_nll.sh MODEL [SEED]
#   MODEL  pixelcnn (defaults: features 32, 5 residual blocks),
#          gated (features 16, 5 layers, class-conditional biases) or
#          rowlstm (h 32, one layer, kernel 3, head 32)
# Environment: PIXEL_EPOCHS (1), PIXEL_LIMIT (training images, 60000),
# PIXEL_TEST (test images, 10000), DG_THREADS (2), PYTHON, TMPDIR; the
# tools on PATH.  PIXEL_DRAWS=dg: the PyTorch side starts from dg's own
# initial weights for SEED and visits the images in dg-train's order
# (torch_pixel*.py's INIT and ORDER=dg, libdg.so beside the tools), so
# that only rounding tells the two runs apart; by default each side
# draws its own.
set -u
here=$(cd "$(dirname "$0")" && pwd)
model=${1:?usage: bench/pixel_nll.sh pixelcnn|gated|rowlstm [SEED]}
seed=${2:-1}
epochs=${PIXEL_EPOCHS:-1}
limit=${PIXEL_LIMIT:-60000}
ntest=${PIXEL_TEST:-10000}
DG_THREADS=${DG_THREADS:-2}
DG_DEVICE=${DG_DEVICE:-cpu}
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
PYTHON=${PYTHON:-/usr/bin/python3}
export DG_THREADS DG_DEVICE OMP_WAIT_POLICY
case $model in
pixelcnn) family=pixelcnn sets="--set binarize=0.5" ;;
gated) family=pixelcnn sets="--set binarize=0.5 --set arch=gated --set features=16 --set conditional=1" ;;
rowlstm) family=pixelrnn sets="--set arch=row" ;;
*) echo "pixel_nll.sh: $model: not pixelcnn, gated or rowlstm" >&2; exit 64 ;;
esac
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-pixelnll.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM

echo "# $model, seed $seed: $limit training images, $epochs epochs, batch 64; test NLL of $ntest images"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
# shellcheck disable=SC2086
if dg-train -p $family -d fashion-mnist -n "$limit" -e "$epochs" -b 64 --seed "$seed" $sets -q \
	--log "$dir/log.csv" -o "$dir/m.dgm" 2> "$dir/err"; then
	echo "# dg-train: $(($(date +%s) - start)) s; log: $(tail -n 1 "$dir/log.csv")"
	dg-eval -m "$dir/m.dgm" -d fashion-mnist-test -n "$ntest" | sed 's/^/dg  /'
else
	echo "# dg-train failed: $(head -c 300 "$dir/err")"
fi
echo "# load average between: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${PIXEL_DRAWS:-}" = dg ]; then
	# dg's initial weights: a checkpoint after one step, which the peer undoes
	# shellcheck disable=SC2086
	dg-train -p $family -d fashion-mnist -n 64 -e 1 -b 64 --seed "$seed" $sets -q \
		-o "$dir/init.dgm" || exit 1
	INIT=$dir/init.dgm ORDER=dg DG_LIBDG=$(dirname "$(command -v dg-train)")/../lib/libdg.so
	export INIT ORDER DG_LIBDG
	echo "# torch from dg's draws (initial weights and image order)"
fi
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
OPENBLAS_NUM_THREADS=1
export LD_LIBRARY_PATH OPENBLAS_NUM_THREADS
start=$(date +%s)
case $model in
pixelcnn) SEED=$seed LIMIT=$limit LIMIT_TEST=$ntest "$PYTHON" "$here/torch_pixelcnn.py" train "$epochs" ;;
gated) SEED=$seed LIMIT=$limit LIMIT_TEST=$ntest "$PYTHON" "$here/torch_pixelcnn.py" train "$epochs" \
	arch=gated features=16 conditional=1 ;;
rowlstm) SEED=$seed LIMIT=$limit TEST_LIMIT=$ntest "$PYTHON" "$here/torch_pixelrnn.py" --train \
	$((limit / 64 * epochs)) | grep -v '^step' ;;
esac | sed 's/^/torch  /'
echo "# torch: $(($(date +%s) - start)) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
