#!/bin/sh
# dg-eval.t — dg-eval on small, quickly trained models: the metric lines
# and their arithmetic (-ELBO = rec + kl, the IWAE bound below -ELBO),
# --json, reproducibility, padding of a last partial batch, stdin,
# binarization from the checkpoint, the ae's reconstruction error, and
# the refusals with their exit statuses.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
is() { [ "$1" = "$2" ]; r=$?; t $r "$3"; [ $r = 0 ] || echo "#   got '$1', want '$2'"; }
# field 2 of the line whose first field is $1, in file $2
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
# awk's exit status of a numeric condition on a=$1, b=$2, c=$3
cond() { awk -v a="$1" -v b="$2" -v c="${3:-0}" "BEGIN { exit !($4) }"; }
# the JSON on stdin parses; prints the value of a jq path when jq exists
json() {
	if command -v jq > /dev/null 2>&1; then jq -e -r "$1"
	else python3 -c 'import json, sys; json.load(sys.stdin); print("parsed")'; fi
}
export DG_DEVICE=cpu
test_data=fashion-mnist-test

dg-train -p vae -d fashion-mnist --limit 512 --batch 128 --epochs 1 --seed 1 \
	-o "$tmp/v.dgm" 2> /dev/null
t $? "a small vae trains"
dg-train -p ae -d fashion-mnist --limit 512 --batch 128 --epochs 1 --seed 1 \
	--plain -o "$tmp/ae.dgm" 2> /dev/null
t $? "a small ae trains (--plain)"
is "$(head -c 8 "$tmp/ae.dgm")" manifest "  --plain writes an uncompressed tar"
dg-train -p vae -d fashion-mnist --limit 256 --batch 128 --epochs 1 --seed 1 \
	--binarize -o "$tmp/bin.dgm" 2> /dev/null
t $? "a small vae trains on binarized pixels"

# ---- the vae's lines -----------------------------------------------------------
dg-eval -m "$tmp/v.dgm" -d $test_data --limit 200 > "$tmp/e1" 2> "$tmp/err"
t $? "dg-eval -m vae -d fashion-mnist-test --limit 200"
[ ! -s "$tmp/err" ]
t $? "  nothing on stderr"
is "$(awk '$1 == "images" { print $2 }' "$tmp/e1")" 200 "  200 images evaluated"
grep -q "\[0,1\] intensities" "$tmp/e1"
t $? "  on intensities, as the model was trained"
nelbo=$(val nelbo "$tmp/e1") rec=$(val rec "$tmp/e1") kl=$(val kl "$tmp/e1")
[ -n "$nelbo" ] && [ -n "$rec" ] && [ -n "$kl" ]
t $? "  nelbo, rec and kl lines ($nelbo = $rec + $kl)"
cond "$nelbo" "$rec" "$kl" 'a - b - c < 0.002 && b + c - a < 0.002'
t $? "  -ELBO = rec + kl within rounding"
cond "$nelbo" 100 0 'a > b && a < 2000'
t $? "  -ELBO is a plausible number of nats per image ($nelbo)"
! grep -q "^iwae" "$tmp/e1"
t $? "  k=1: no IWAE line (it would be the ELBO again)"

dg-eval -m "$tmp/v.dgm" -d $test_data --limit 200 -k 50 > "$tmp/e50"
t $? "-k 50"
nelbo50=$(val nelbo "$tmp/e50") iwae=$(val iwae "$tmp/e50")
[ -n "$iwae" ]
t $? "  an iwae line ($iwae)"
# the bound at k=50 is tighter than the ELBO by nats; 0.05 is slack for
# the ELBO's own Monte Carlo error over 50 draws of 200 images
cond "$iwae" "$nelbo50" 0 'a <= b + 0.05'
t $? "  IWAE(50) $iwae <= -ELBO $nelbo50"
grep -q "k=50" "$tmp/e50"
t $? "  the line names k"

# ---- reproducibility -------------------------------------------------------------
dg-eval -m "$tmp/v.dgm" -d $test_data --limit 200 -k 50 > "$tmp/e50b"
cmp -s "$tmp/e50" "$tmp/e50b"
t $? "same seed, same numbers"
dg-eval -m "$tmp/v.dgm" -d $test_data --limit 200 -k 50 --seed 9 > "$tmp/e50c"
! cmp -s "$tmp/e50" "$tmp/e50c"
t $? "another seed, other draws"
is "$(val kl "$tmp/e50c")" "$(val kl "$tmp/e50")" "  but the same analytic KL"

# ---- a plain checkpoint is the same model ------------------------------------------
gunzip < "$tmp/v.dgm" > "$tmp/vp.dgm"
dg-eval -m "$tmp/vp.dgm" -d $test_data --limit 200 -k 50 > "$tmp/e50p"
t $? "gunzip < model.dgm makes a plain checkpoint dg-eval reads"
is "$(tail -n +2 "$tmp/e50p")" "$(tail -n +2 "$tmp/e50")" "  with the same numbers"

# ---- batches: a last partial batch is padded, and the padding not counted ----
dg-eval -m "$tmp/v.dgm" -d $test_data --limit 10 --batch 3 > "$tmp/b3"
t $? "--batch 3 on 10 images (a last batch of 1)"
dg-eval -m "$tmp/v.dgm" -d $test_data --limit 10 --batch 10 > "$tmp/b10"
is "$(val kl "$tmp/b3")" "$(val kl "$tmp/b10")" "  the KL (noise-free) agrees with --batch 10"
is "$(awk '$1 == "images" { print $2 }' "$tmp/b3")" 10 "  10 images counted"

# ---- standard input -----------------------------------------------------------------
dg-sample -m "$tmp/v.dgm" -n 10 | dg-decode -m "$tmp/v.dgm" --raw > "$tmp/imgs"
dg-eval -m "$tmp/v.dgm" -d - --batch 4 < "$tmp/imgs" > "$tmp/s"
t $? "a stream on stdin (-d -)"
is "$(awk '$1 == "images" { print $2 }' "$tmp/s")" 10 "  10 images"
dg-eval -m "$tmp/v.dgm" -d "$tmp/imgs" --batch 4 > "$tmp/f"
is "$(val kl "$tmp/s")" "$(val kl "$tmp/f")" "  the same KL as from the file"

# ---- --json ---------------------------------------------------------------------------
dg-eval -m "$tmp/v.dgm" -d $test_data --limit 200 -k 50 --json > "$tmp/j"
t $? "--json"
is "$(wc -l < "$tmp/j" | tr -d ' ')" 1 "  one line"
json . < "$tmp/j" > /dev/null
t $? "  it parses"
if command -v jq > /dev/null 2>&1; then
	is "$(jq -r '.metrics | keys_unsorted | join(",")' "$tmp/j")" "nelbo,rec,kl,iwae" \
		"  metrics nelbo, rec, kl, iwae in order"
	is "$(jq -r '[.family, .images, .k, .binarized, .metrics.nelbo.unit] | join(" ")' "$tmp/j")" \
		"vae 200 50 false nats" "  family, images, k, binarized, unit"
	cond "$(jq .metrics.nelbo.mean "$tmp/j")" "$nelbo50" 0 'a - b < 0.001 && b - a < 0.001'
	t $? "  the same -ELBO as the text"
fi

# ---- binarization follows the checkpoint ------------------------------------------------
dg-eval -m "$tmp/bin.dgm" -d $test_data --limit 50 > "$tmp/bz"
grep -q "binarized pixels" "$tmp/bz"
t $? "a model trained with --binarize is evaluated on binarized pixels"
dg-eval -m "$tmp/bin.dgm" -d $test_data --limit 50 --no-binarize > "$tmp/bn"
grep -q "\[0,1\] intensities" "$tmp/bn"
t $? "  --no-binarize overrides it"
dg-eval -m "$tmp/v.dgm" -d $test_data --limit 50 --binarize --json | json .binarized > "$tmp/bj"
is "$(cat "$tmp/bj")" "$(command -v jq > /dev/null 2>&1 && echo true || echo parsed)" \
	"  --binarize forces it"

# ---- the ae -------------------------------------------------------------------------------
dg-eval -m "$tmp/ae.dgm" -d $test_data --limit 100 > "$tmp/a"
t $? "an ae evaluates"
rec=$(val rec "$tmp/a")
cond "$rec" 0 0 'a > b'
t $? "  its reconstruction error ($rec)"
grep -q "squared error" "$tmp/a" && ! grep -q "^nelbo" "$tmp/a"
t $? "  as squared error, no ELBO"

# ---- refusals -------------------------------------------------------------------------------
DG_EXTRACTOR="$tmp/none.dgm" dg-eval -d $test_data > "$tmp/o" 2> "$tmp/err"
is $? 66 "-m missing: sample metrics, and without a feature extractor 66"
grep -q "^dg-eval: .*dg-eval --setup" "$tmp/err"
t $? "  the message names the tool and says how to get one"
dg-eval -m "$tmp/v.dgm" -d $test_data extra > "$tmp/o" 2> "$tmp/err"
is $? 64 "-m with a stray argument: 64"
if command -v script > /dev/null 2>&1; then
	script -qec "dg-eval -m '$tmp/v.dgm'" /dev/null > "$tmp/tty" 2>&1
	is $? 64 "-d missing and a terminal on stdin: 64"
else
	echo "ok $((n = n + 1)) # skip script(1) not installed"
fi
dg-encode $test_data --limit 30 | dg-eval -m "$tmp/v.dgm" --json > "$tmp/o" &&
	dg-eval -m "$tmp/v.dgm" -d $test_data --limit 30 --json > "$tmp/o2" &&
	[ "$(jq .metrics "$tmp/o")" = "$(jq .metrics "$tmp/o2")" ]
t $? "-d missing: the images on standard input give the same metrics"
dg-eval -m "$tmp/v.dgm" -d $test_data -k 0 > "$tmp/o" 2> /dev/null
is $? 64 "-k 0: 64"
dg-eval -m "$tmp/v.dgm" -d $test_data -k many > "$tmp/o" 2> /dev/null
is $? 64 "-k many: 64"
dg-eval -m "$tmp/v.dgm" -d $test_data --batch 0 > "$tmp/o" 2> /dev/null
is $? 64 "--batch 0: 64"
dg-eval -m "$tmp/ae.dgm" -d $test_data -k 5 > "$tmp/o" 2> "$tmp/err"
is $? 64 "an ae with -k 5: 64"
grep -q "no likelihood" "$tmp/err"
t $? "  saying it has no likelihood"
dg-eval -m "$tmp/nothing.dgm" -d $test_data > "$tmp/o" 2> /dev/null
is $? 66 "a missing model: 66"
dg-eval -m "$tmp/v.dgm" -d "$tmp/nothing" > "$tmp/o" 2> /dev/null
is $? 66 "missing data: 66"
dg-sample -m "$tmp/v.dgm" -n 4 | dg-decode -m "$tmp/v.dgm" > "$tmp/grid.png"
dg-eval -m "$tmp/v.dgm" -d "$tmp/grid.png" > "$tmp/o" 2> "$tmp/err"
is $? 65 "images of another shape (a 2x2 grid PNG): 65"
grep -q "28x28" "$tmp/err"
t $? "  naming the model's shape"
[ ! -s "$tmp/o" ]
t $? "  and nothing on stdout"
printf 'not a model' > "$tmp/bad.dgm"
dg-eval -m "$tmp/bad.dgm" -d $test_data > "$tmp/o" 2> /dev/null
is $? 65 "a file that is not a checkpoint: 65"

echo "1..$n"
exit $fail
