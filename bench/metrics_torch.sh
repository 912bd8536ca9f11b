#!/bin/sh
# bench/metrics_torch.sh — dg-eval's sample metrics against PyTorch on the
# same features (bench/metrics_torch.py): 10000 training images as samples
# against the 10000 test images.  Running dg-eval once with the training
# images as the reference caches their features beside the extractor, so
# both sides read the very features dg-eval compared.
#
# Usage: bench/metrics_torch.sh EXTRACTOR.dgm   (PYTHON: /usr/bin/python3)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ext=${1:?usage: bench/metrics_torch.sh EXTRACTOR.dgm}
PYTHON=${PYTHON:-/usr/bin/python3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-mtorch.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
export DG_DEVICE=${DG_DEVICE:-cpu}
efp=$(dg-info "$ext" | awk '$1 == "fingerprint" { print $2 }')
dg-encode fashion-mnist --limit 10000 > "$dir/train.dgs"
tfp=$(dg-eval -f "$ext" -r "$dir/train.dgs" --metrics fid --json fashion-mnist-test |
	jq -r .reference.fingerprint)
dg-eval -f "$ext" --json "$dir/train.dgs" > "$dir/dg.json"
rfp=$(jq -r .reference.fingerprint "$dir/dg.json")
"$PYTHON" "$here/metrics_torch.py" "$ext.ref-$efp-$tfp.dgs" "$ext.ref-$efp-$rfp.dgs" \
	100 1000 0 3 10 > "$dir/torch.txt"
jq -r '.metrics | "fid \(.fid.value)\nkid \(.kid.mean) \(.kid.std)\nis \(.is.mean) \(.is.std)\nprecision_recall \(.precision.value) \(.recall.value)"' \
	"$dir/dg.json" > "$dir/dg.txt"
echo "# extractor $efp; 10000 training images against the 10000 test images"
printf '%-18s %-34s %s\n' metric dg-eval "PyTorch (float64)"
awk 'NR == FNR { d[$1] = $2 " " $3; next } { t[$1] = $3 == "" ? $2 : $2 " " $3 }
	END {
		printf "%-18s %-34s %s (geev), %s (eigh), max |imag| %s\n", "fid", d["fid"],
			t["fid.geev"], t["fid.eigh"], t["fid.geev_max_imag"]
		printf "%-18s %-34s %s\n", "kid (mean std)", d["kid"], t["kid"]
		printf "%-18s %-34s %s\n", "is (mean std)", d["is"], t["is"]
		printf "%-18s %-34s %s\n", "precision recall", d["precision_recall"], t["precision_recall"]
	}' "$dir/dg.txt" "$dir/torch.txt"
