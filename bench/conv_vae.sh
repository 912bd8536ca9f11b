#!/bin/sh
# bench/conv_vae.sh — the conv VAE (dg-train -p vae --set arch=conv) beside
# bench/torch_conv_vae.py, the same architecture, initialization, data,
# batch (128), optimizer (Adam 1e-3) and epochs, run one after the other
# in this one call: each side's training images/s (median of epochs 2 and
# later) and, after training, its test -ELBO on fashion-mnist-test (one z
# draw per image, analytic KL; dg-eval's default).  run.sh sets the rates
# side by side (dg/torch convvae.epoch).
#
# Environment: CONVVAE_EPOCHS (default 10: the quality comparison of issue
# 16; run.sh uses 3 for the rate alone), DG_THREADS, PYTHON, TMPDIR; the
# tools on PATH.
set -u
here=$(cd "$(dirname "$0")" && pwd)
epochs=${CONVVAE_EPOCHS:-10}
DG_THREADS=${DG_THREADS:-2}
DG_DEVICE=${DG_DEVICE:-cpu}
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
PYTHON=${PYTHON:-/usr/bin/python3}
export DG_THREADS DG_DEVICE OMP_WAIT_POLICY
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-convvae.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if dg-train -p vae --set arch=conv -d fashion-mnist --epochs "$epochs" --seed 1 -q \
	--log "$dir/log.csv" -o "$dir/conv.dgm" 2> "$dir/err"; then
	set -- $(awk -f "$here/epoch_median.awk" "$dir/log.csv")
	[ $# = 2 ] && printf "%-34s %10.2f %-8s # dg-train -p vae --set arch=conv, batch 128, median of epochs 2-%d\n" \
		dg.convvae.epoch "$1" images/s "$2"
	nelbo=$(dg-eval -m "$dir/conv.dgm" -d fashion-mnist-test | awk '$1 == "nelbo" { print $2 }')
	printf "%-34s %10.2f %-8s # Fashion-MNIST test, after %d epochs (dg-eval)\n" \
		dg.convvae.test_nelbo "$nelbo" nats "$epochs"
else
	echo "# dg-train failed: $(head -c 200 "$dir/err")"
fi
echo "# load average between: $(cut -d' ' -f1-3 /proc/loadavg)"
if "$PYTHON" -c 'import torch' 2>/dev/null; then
	LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	OPENBLAS_NUM_THREADS=$DG_THREADS
	export LD_LIBRARY_PATH OPENBLAS_NUM_THREADS
	PYTHONPATH=$here "$PYTHON" "$here/torch_conv_vae.py" "$epochs" | grep -v 'epoch[0-9]'
else
	echo "# python3-torch not importable by $PYTHON: no PyTorch peer"
fi
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
