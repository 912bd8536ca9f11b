#!/bin/sh
# zoo.t — the regularized autoencoders through the tools: the denoising
# and contractive options of ae and the denoising VAE (noise=,
# noise_level=, contractive=), their refusals (exit 64, saying why), exact
# --resume with the corruption drawn inside the graph, clean inputs at
# inference, and the reported terms (jac in the log and in dg-eval).
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
# a command that must fail with a status and a dg-train: message
fails() {
	want=$1; shift
	"$@" > "$tmp/out" 2> "$tmp/err"
	st=$?
	[ $st = "$want" ] && head -1 "$tmp/err" | grep -q '^dg-train: ' && [ ! -s "$tmp/out" ]
	r=$?
	[ $r = 0 ] || { echo "# status $st, stderr:"; sed 's/^/#   /' "$tmp/err"; }
	return $r
}

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
if [ ! -e "$DG_BUILD/lib/dg/dg-ae.so" ] || [ ! -e "$DG_BUILD/lib/dg/dg-vae.so" ]; then
	echo "1..0 # SKIP the ae and vae families are not built"; exit 0
fi
dg-encode fashion-mnist --limit 512 > "$tmp/small.dgs" || { echo "Bail out! no data"; exit 1; }
cd "$tmp" || exit 1
tr() { dg-train -q -d small.dgs --batch 64 "$@"; }

# ---- options ----------------------------------------------------------------------
for fam in ae vae; do
	dg-train -p $fam --help > out &&
		grep -q '^  noise  *choice  *none  .*mask|gauss|saltpepper' out &&
		grep -q '^  noise_level  *float  *0.25 ' out
	t $? "$fam --help lists noise (none|mask|gauss|saltpepper) and noise_level"
done
dg-train -p ae --help | grep -q '^  contractive  *float  *0 '
t $? "ae --help lists contractive"

tr -p ae --set noise=mask --set noise_level=0.3 -o dae.dgm -e 2 --log dae.csv &&
	[ "$(manifest_key dae.dgm hparam.noise)" = mask ] &&
	[ "$(manifest_key dae.dgm hparam.noise_level)" = 0.3 ] &&
	head -1 dae.csv | grep -q 'recon'
t $? "a denoising ae trains; noise and noise_level reach the manifest"
tr -p ae -o ae.dgm -e 2 && ! same_tensors ae.dgm dae.dgm > /dev/null
t $? "  and differs from the plain ae of the same seed"
tr -p ae --set noise=gauss --set noise_level=0 -o dae0.dgm -e 2 && same_tensors ae.dgm dae0.dgm
t $? "  noise_level=0 is the plain ae, byte for byte (no draw at all)"
for kind in gauss saltpepper; do
	tr -p ae --set noise=$kind --set noise_level=0.2 -o dae-$kind.dgm -e 1
	t $? "  noise=$kind trains"
done

tr -p ae --set contractive=0.5 -o cae.dgm -e 2 --log cae.csv &&
	head -1 cae.csv | grep -q ',jac' && awk -F, 'NR > 1 && $5 + 0 <= 0 { exit 1 }' cae.csv
t $? "a contractive ae logs its term jac"
dg-eval -m cae.dgm -d small.dgs > eval && grep -q '^jac  *[0-9.]* ± [0-9.]*  *squared norm/image' eval &&
	dg-eval -m ae.dgm -d small.dgs | grep -q '^jac '
t $? "  dg-eval reports jac, ‖J_f(x)‖²_F, for contractive and plain ae alike"
ja=$(dg-eval -m ae.dgm -d small.dgs | awk '$1 == "jac" { print $2 }')
jc=$(awk '$1 == "jac" { print $2 }' eval)
awk -v a="$ja" -v c="$jc" 'BEGIN { exit !(c < a) }'
t $? "  and the contractive ae's is the smaller ($jc against $ja)"

tr -p vae --set noise=saltpepper --set noise_level=0.2 -o dvae.dgm -e 2 &&
	dg-eval -m dvae.dgm -d small.dgs > eval && grep -q '^nelbo ' eval
t $? "a denoising vae trains; dg-eval reports its -ELBO"

# ---- refusals -----------------------------------------------------------------------
for fam in ae vae; do
	fails 64 dg-train -p $fam --set noise=blur -d small.dgs -o x.dgm &&
		grep -q 'noise=blur: not one of none|mask|gauss|saltpepper' err
	t $? "$fam: unknown noise kind: 64, lists the kinds"
	fails 64 dg-train -p $fam --set noise=gauss --set noise_level=-0.1 -d small.dgs -o x.dgm &&
		grep -q 'noise_level=-0.1: out of range \[0, 100\]' err
	t $? "$fam: negative noise_level: 64, says the range"
	fails 64 dg-train -p $fam --set noise=saltpepper --set noise_level=1.5 -d small.dgs -o x.dgm &&
		grep -q 'noise=saltpepper: noise_level 1.5 must be a probability in \[0, 1\]' err
	t $? "$fam: noise_level above 1 for a probability: 64, says why"
done
fails 64 dg-train -p ae --set arch=conv --set contractive=1 -d small.dgs -o x.dgm &&
	grep -q 'contractive=1 needs arch=mlp' err
t $? "contractive with arch=conv: 64, says it needs the MLP"
fails 64 dg-train -p ae --set contractive=-1 -d small.dgs -o x.dgm && grep -q 'out of range' err
t $? "negative contractive: 64"
[ ! -e x.dgm ]
t $? "  and no refusal wrote a model"

# ---- exact resume: the corruption is the graph's, keyed by seed and step ---------------
tr -p ae --set noise=mask -o r3.dgm -e 3 && tr -p ae --set noise=mask -o r1.dgm -e 1 &&
	tr --resume r1.dgm -e 3 && same_tensors r3.dgm r1.dgm
t $? "denoising ae (mask): 3 epochs = 1 + --resume to 3, byte for byte"
tr -p ae --set noise=saltpepper --set contractive=0.1 -o c3.dgm -e 3 &&
	tr -p ae --set noise=saltpepper --set contractive=0.1 -o c1.dgm -e 1 &&
	tr --resume c1.dgm -e 3 && same_tensors c3.dgm c1.dgm
t $? "contractive denoising ae: the same"
tr -p vae --set noise=gauss --set noise_level=0.3 -o v2.dgm -e 2 &&
	tr -p vae --set noise=gauss --set noise_level=0.3 -o v1.dgm -e 1 &&
	tr --resume v1.dgm -e 2 && same_tensors v2.dgm v1.dgm
t $? "denoising vae (gauss): 2 epochs = 1 + --resume to 2, byte for byte"
tr -p ae --set noise=mask -o r3b.dgm -e 3 --seed 0 && same_tensors r3.dgm r3b.dgm &&
	tr -p ae --set noise=mask -o r3c.dgm -e 3 --seed 5 && ! same_tensors r3.dgm r3c.dgm > /dev/null
t $? "the same seed repeats a denoising run exactly, another seed does not"

# ---- inference sees the clean input -------------------------------------------------------
dg-translate -m dae.dgm -s 1 small.dgs > t1.dgs && dg-translate -m dae.dgm -s 2 small.dgs > t2.dgs &&
	cmp -s t1.dgs t2.dgs
t $? "a denoising ae reconstructs without noise: the same output for any --seed"
dg-eval -m dae.dgm -d small.dgs -s 1 > e1 && dg-eval -m dae.dgm -d small.dgs -s 2 > e2 &&
	sed 1d e1 > e1b && sed 1d e2 > e2b && cmp -s e1b e2b
t $? "  and dg-eval's reconstruction error is on the clean images (seed-free)"
dg-encode -m dvae.dgm small.dgs > m1.dgs && dg-encode -m dvae.dgm small.dgs > m2.dgs &&
	cmp -s m1.dgs m2.dgs
t $? "a denoising vae encodes the clean image: its posterior means repeat"

echo "1..$n"
exit $fail
