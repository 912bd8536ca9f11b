#!/bin/sh
# bench/train_gan.sh — the gan family's DCGAN at its defaults for 28×28
# (non-saturating loss, one D and one G step per iteration, EMA of G),
# batch 64, trained as users see it: dg-train's whole-epoch rate in real
# images/s on 8192 Fashion-MNIST images, the median of epochs 2-4 of its
# log.  run.sh sets it beside bench/torch_dcgan.py (dg/torch dcgan.epoch).
#
# Environment: DG_THREADS, TMPDIR; the tools on PATH.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-gan.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
DG_DEVICE=${DG_DEVICE:-cpu}
export DG_DEVICE
if ! dg-train -p gan -d fashion-mnist --limit 8192 --epochs 4 -b 64 --seed 1 -q \
	--log "$dir/log.csv" -o "$dir/gan.dgm" 2> "$dir/err"; then
	echo "# dg-train -p gan failed: $(head -c 200 "$dir/err")"
	exit 0
fi
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "images_per_s") c = i; next }
	NR > 2 { r[n++] = $c }
	END {
		if (n < 1 || !c) exit 1
		for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
		printf "%-34s %10.2f %-8s # dg-train -p gan (DCGAN 28x28, ns), batch 64, median of epochs 2-%d\n",
			"dg.dcgan.epoch", r[int(n / 2)], "images/s", n + 1
	}' "$dir/log.csv"
