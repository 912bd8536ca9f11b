#!/bin/sh
# dg-eval-samples.t — dg-eval's sample metrics with a small classifier
# trained here (1 epoch on 4096 images): FID small for training images
# against the test set and very large for noise and shuffled pixels; KID
# near zero for two halves of the test set; precision and recall high for
# test against training images and recall low for one class; the Inception
# Score of an unconfident classifier far below the number of classes; the
# disturbance experiment of Heusel et al. in small (FID grows with each of
# four disturbances); the reference cache; --json; the refusals (exit 65,
# nothing on stdout); --setup in small; one score per image and the AUROC
# of --anomaly against a count of pairs; examples/anomaly.sh for one class.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
is() { [ "$1" = "$2" ]; r=$?; t $r "$3"; [ $r = 0 ] || echo "#   got '$1', want '$2'"; }
# field 2 of the line whose first field is $1, in file $2
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
# field 4 (the spread after ±) of that line
spread() { awk -v k="$1" '$1 == k { print $4 }' "$2"; }
# awk's exit status of a numeric condition on a=$1, b=$2, c=$3
cond() { awk -v a="$1" -v b="$2" -v c="${3:-0}" "BEGIN { exit !($4) }"; }
export DG_DEVICE=cpu
disturb="$DG_SRC/tests/disturb.py"
py=/usr/bin/python3

dg-train -q -p classifier -s width=8 -d fashion-mnist --limit 4096 --epochs 1 --seed 1 \
	-o "$tmp/clf.dgm"
t $? "a small classifier trains (width 8, 4096 images, 1 epoch)"
dg-eval -m "$tmp/clf.dgm" -d fashion-mnist-test --limit 1000 > "$tmp/acc"
acc=$(val accuracy "$tmp/acc")
cond "$acc" 0.6 0 'a > b && a <= 1'
t $? "dg-eval -m reports its accuracy on the test set ($acc)"
grep -q "^nll " "$tmp/acc" && grep -q "^entropy " "$tmp/acc"
t $? "  and its cross-entropy and entropy"

# the common options: a 2000-image reference, fewer KID subsets
E="-f $tmp/clf.dgm --ref-limit 2000 --kid-subsets 20"

# ---- training images against the test set -------------------------------------
dg-eval $E -n 2000 fashion-mnist > "$tmp/train" 2> "$tmp/err"
t $? "2000 training images against 2000 of the test set"
[ ! -s "$tmp/err" ]
t $? "  nothing on stderr"
fid_train=$(val fid "$tmp/train")
cond "$fid_train" 2 0 'a >= 0 && a < b'
t $? "  FID small: $fid_train"
grep -q "features computed" "$tmp/train"
t $? "  the reference's features computed the first time"
ls "$tmp"/clf.dgm.ref-*-*.dgs > /dev/null 2>&1
t $? "  and cached beside the extractor"
fp=$(dg-info "$tmp/clf.dgm" | awk '$1 == "fingerprint" { print $2 }')
ls "$tmp"/clf.dgm.ref-"$fp"-*.dgs > /dev/null 2>&1
t $? "  under the extractor's fingerprint ($fp) and the images'"
grep -q "^fid .*2000 samples vs 2000 of fashion-mnist-test, extractor $fp" "$tmp/train"
t $? "  the FID line names the sample count, the reference and the extractor"
for m in kid is precision recall; do
	grep -q "^$m .*extractor $fp" "$tmp/train"
	t $? "  a $m line, naming them too"
done
p=$(val precision "$tmp/train") rec_all=$(val recall "$tmp/train")
cond "$p" "$rec_all" 0 'a > 0.7 && a <= 1 && b > 0.7 && b <= 1'
t $? "  precision $p and recall $rec_all near 1"
is_test=$(val is "$tmp/train")
cond "$is_test" 1 0 'a > 1 && a < 5'
t $? "  IS $is_test: far below 10 classes, as this classifier is not confident"

dg-eval $E -n 2000 fashion-mnist > "$tmp/train2"
grep -q "features from the cache" "$tmp/train2"
t $? "a second run reads the reference's features from the cache"
is "$(tail -n +3 "$tmp/train2" | sed 's/ (features .*//')" \
	"$(tail -n +3 "$tmp/train" | sed 's/ (features .*//')" "  with the same numbers"
dg-eval $E -n 2000 --no-cache fashion-mnist > "$tmp/train3"
grep -q "features computed" "$tmp/train3" &&
	[ "$(val fid "$tmp/train3")" = "$fid_train" ]
t $? "--no-cache computes them again, with the same FID"

# ---- noise and shuffled pixels ----------------------------------------------------
dg-encode fashion-mnist --limit 2000 | "$disturb" noise 0 > "$tmp/noise.dgs"
t $? "disturb.py makes 2000 images of noise"
dg-eval $E --metrics fid,is "$tmp/noise.dgs" > "$tmp/noise"
fid_noise=$(val fid "$tmp/noise")
cond "$fid_noise" "$fid_train" 0 'a > 50 * b && a > 10'
t $? "FID of noise very large: $fid_noise (training images: $fid_train)"
dg-encode fashion-mnist --limit 2000 | "$disturb" shuffle 1 |
	dg-eval $E --metrics fid > "$tmp/shuffled"
fid_shuf=$(val fid "$tmp/shuffled")
cond "$fid_shuf" "$fid_train" 0 'a > 50 * b && a > 10'
t $? "FID of training images with their pixels shuffled very large: $fid_shuf"

# ---- KID, precision and recall ------------------------------------------------------
dg-encode fashion-mnist-test --skip 2000 --limit 2000 > "$tmp/half2.dgs"
dg-encode fashion-mnist-test --limit 2000 |
	dg-eval -f "$tmp/clf.dgm" -r "$tmp/half2.dgs" --metrics kid > "$tmp/halves"
kid=$(val kid "$tmp/halves") sd=$(spread kid "$tmp/halves")
cond "$kid" "$sd" 0 'b > 0 && (a < 0 ? -a : a) < 3 * b && (a < 0 ? -a : a) < 0.01'
t $? "KID of two halves of the test set near 0: $kid ± $sd"
dg-encode fashion-mnist -c 1 --limit 2000 | dg-eval $E --metrics pr > "$tmp/one"
r1=$(val recall "$tmp/one") p1=$(val precision "$tmp/one")
cond "$r1" "$rec_all" "$p1" 'a < 0.5 * b && c > 0.5'
t $? "one class (trousers): recall drops to $r1 (all classes $rec_all), precision stays $p1"

# ---- the disturbance experiment, in small ----------------------------------------------
dg-encode fashion-mnist --limit 1000 > "$tmp/base.dgs"
for kind in "gauss 0.05 0.1 0.2" "blur 0.5 1 2" "saltpepper 0.02 0.05 0.2" "rects 1 2 4"; do
	set -- $kind
	what=$1
	shift
	last=$(dg-eval $E --metrics fid "$tmp/base.dgs" | awk '$1 == "fid" { print $2 }')
	row="$last" mono=0
	for level in "$@"; do
		f=$("$disturb" "$what" "$level" < "$tmp/base.dgs" |
			dg-eval $E --metrics fid | awk '$1 == "fid" { print $2 }')
		cond "$f" "$last" 0 'a > b' || mono=1
		row="$row $f"
		last=$f
	done
	t $mono "FID grows with $what ($*): $row"
done

# ---- --json -----------------------------------------------------------------------------
dg-eval $E -n 2000 --json fashion-mnist > "$tmp/j"
t $? "--json"
if command -v jq > /dev/null 2>&1; then
	is "$(jq -r '.metrics | keys_unsorted | join(",")' "$tmp/j")" \
		"fid,kid,is,precision,recall" "  fid, kid, is, precision, recall"
	is "$(jq -r '[.extractor.fingerprint, .samples.images, .reference.images, .reference.source, .reference.cached] | join(" ")' "$tmp/j")" \
		"$fp 2000 2000 fashion-mnist-test true" "  extractor, counts, reference, cached"
	is "$(jq -r '.metrics.fid.value' "$tmp/j" | awk '{ printf "%.4f", $1 }')" "$fid_train" \
		"  the same FID as the text"
else
	$py -c 'import json, sys; json.load(sys.stdin)' < "$tmp/j"
	t $? "  it parses"
fi

# ---- refusals ------------------------------------------------------------------------------
dg-train -q -p vae -d fashion-mnist --limit 256 --epochs 1 -o "$tmp/v.dgm"
dg-eval -f "$tmp/v.dgm" -n 500 fashion-mnist > "$tmp/o" 2> "$tmp/err"
is $? 65 "an extractor that is no classifier (a vae): 65"
grep -q "not a classifier" "$tmp/err" && [ ! -s "$tmp/o" ]
t $? "  saying so, nothing on stdout"
dg-sample -m "$tmp/v.dgm" -n 4 | dg-decode -m "$tmp/v.dgm" > "$tmp/grid.png"
dg-eval $E "$tmp/grid.png" > "$tmp/o" 2> "$tmp/err"
is $? 65 "samples of another shape (a 2x2 grid PNG): 65"
grep -q "1x28x28" "$tmp/err" && [ ! -s "$tmp/o" ]
t $? "  naming the extractor's shape, nothing on stdout"
dg-eval $E -n 100 fashion-mnist > "$tmp/o" 2> "$tmp/err"
is $? 65 "FID of 100 images of 128 features: 65"
grep -q "more images than" "$tmp/err" && [ ! -s "$tmp/o" ] && ! grep -qi nan "$tmp/o"
t $? "  saying why, no number printed"
dg-eval $E -n 100 --metrics kid,pr fashion-mnist > "$tmp/o"
t $? "  the other metrics of 100 images still work"
dg-eval $E --metrics fid,lpips fashion-mnist > "$tmp/o" 2> /dev/null
is $? 64 "--metrics with an unknown name: 64"
dg-eval -f "$tmp/clf.dgm" -r - < "$tmp/half2.dgs" > "$tmp/o" 2> /dev/null
is $? 64 "samples and reference both on standard input: 64"
DG_EXTRACTOR="$tmp/none.dgm" dg-eval -n 500 fashion-mnist > "$tmp/o" 2> "$tmp/err"
is $? 66 "no default extractor: 66"
grep -q "dg-eval --setup" "$tmp/err"
t $? "  saying how to make it"

# ---- --setup, in small ---------------------------------------------------------------------
dg-eval --setup -q -f "$tmp/setup/clf.dgm" --limit 512 --epochs 1 > "$tmp/s" 2> "$tmp/err"
t $? "--setup -f PATH --limit 512 --epochs 1 trains a classifier there"
[ -f "$tmp/setup/clf.dgm" ] && grep -q "^fingerprint [0-9a-f]\{16\}$" "$tmp/s" &&
	grep -q "^accuracy .* of fashion-mnist-test" "$tmp/s"
t $? "  and reports its fingerprint and test accuracy"
grep -q "not the default recipe's" "$tmp/err"
t $? "  warning that a shortened recipe is a classifier of its own"
DG_EXTRACTOR="$tmp/setup/clf.dgm" dg-eval --metrics fid --ref-limit 1000 -n 1000 fashion-mnist \
	> "$tmp/o"
t $? "  which DG_EXTRACTOR makes the default"

# ---- one score per image, and --anomaly ----------------------------------------------------
dg-train -q -p vae -d fashion-mnist --limit 2048 --epochs 1 --seed 2 -o "$tmp/v2.dgm"
dg-eval -m "$tmp/v2.dgm" -d fashion-mnist-test --limit 300 > "$tmp/mean"
dg-eval -m "$tmp/v2.dgm" -d fashion-mnist-test --limit 300 --per-image --json > "$tmp/pi"
t $? "--per-image --json"
is "$(wc -l < "$tmp/pi" | tr -d ' ')" 300 "  one line per image"
avg=$(sed 's/.*"nelbo":\([^,}]*\).*/\1/' "$tmp/pi" | awk '{ s += $1 } END { printf "%.3f", s / NR }')
is "$avg" "$(val nelbo "$tmp/mean")" "  their mean -ELBO is the one reported"
dg-eval -m "$tmp/v2.dgm" -d fashion-mnist-test --limit 300 --per-image > "$tmp/pi.dgs"
t $? "--per-image: records"
dg-info "$tmp/pi.dgs" > "$tmp/info" 2>&1
grep -q "space=score" "$tmp/info" && grep -q "score=nelbo" "$tmp/info"
t $? "  of space=score, score=nelbo"
if command -v script > /dev/null 2>&1; then
	script -qec "dg-eval -m '$tmp/v2.dgm' -d fashion-mnist-test --limit 10 --per-image" \
		/dev/null > "$tmp/tty" 2>&1
	is $? 64 "  refused to a terminal: 64"
else
	echo "ok $((n = n + 1)) # skip script(1) not installed"
fi

dg-eval -m "$tmp/v2.dgm" -d fashion-mnist-test --limit 2000 --anomaly 1 > "$tmp/an"
t $? "--anomaly 1"
auc=$(awk '$1 == "auroc" { print $2 }' "$tmp/an")
cond "$auc" 0 0 'a > 0 && a < 1'
t $? "  an AUROC ($auc)"
grep -q "class 1 (Trouser)" "$tmp/an" && grep -q "by nelbo" "$tmp/an"
t $? "  naming the class and the score"
dg-eval -m "$tmp/v2.dgm" -d fashion-mnist-test --limit 2000 --per-image --json |
	$py -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
pos = [r["nelbo"] for r in rows if r["label"] == 1]
neg = [r["nelbo"] for r in rows if r["label"] != 1]
s = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
print("%.4f" % (s / len(pos) / len(neg)))' > "$tmp/pairs"
is "$(cat "$tmp/pairs")" "$auc" "  the AUROC counted over pairs of --per-image scores"
is "$(dg-eval -m "$tmp/v2.dgm" -d fashion-mnist-test --limit 2000 --anomaly Trouser |
	awk '$1 == "auroc" { print $2 }')" "$auc" "  the class by name: the same"
dg-eval -m "$tmp/v2.dgm" -d fashion-mnist-test --limit 200 --anomaly 12 > "$tmp/o" 2> /dev/null
is $? 64 "  a class that is not there: 64"
dg-sample -m "$tmp/v2.dgm" -n 20 | dg-decode -m "$tmp/v2.dgm" --raw > "$tmp/nolab.dgs"
dg-eval -m "$tmp/v2.dgm" -d "$tmp/nolab.dgs" --anomaly 1 > "$tmp/o" 2> "$tmp/err"
is $? 64 "  images without labels: 64"
grep -q "no labels" "$tmp/err"
t $? "  saying so"
dg-eval -m "$tmp/v2.dgm" -d fashion-mnist-test --limit 200 --anomaly 1 --score kl > "$tmp/kl"
grep -q "by kl" "$tmp/kl"
t $? "--score kl: the AUROC by the KL term"
dg-eval -m "$tmp/v2.dgm" -d fashion-mnist-test --limit 20 --per-image --score lpips \
	> "$tmp/o" 2> "$tmp/err"
is $? 64 "--score of a term the family lacks: 64"
grep -q "nelbo, rec, kl" "$tmp/err"
t $? "  listing the family's"

# examples/anomaly.sh, one epoch: class 9's name has a space ("Ankle boot"), which once
# landed in the number's column (printf: invalid number)
(cd "$tmp" && "$DG_SRC/examples/anomaly.sh" 1 9) > "$tmp/anom" 2> "$tmp/err"
t $? "examples/anomaly.sh 1 9 (one epoch, class 9 held out)"
grep -Eq "^9 +Ankle boot +0\.[0-9]{4} +10000$" "$tmp/anom" && [ ! -s "$tmp/err" ]
t $? "  one line: the class, its two-word name, the AUROC, the images"

echo "1..$n"
exit $fail
