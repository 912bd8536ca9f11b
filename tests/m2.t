#!/bin/sh
# m2.t — the semi-supervised VAE (plugins/m2.c) and dg-train
# --labels-per-class on a small part of Fashion-MNIST: M2 trains on
# labelled and unlabelled images together (about a tenth labelled), dg-eval
# reports its classifier's accuracy, it samples by class; M1+M2 trains on a
# vae's codes (or draws of them, m1_sample) and keeps M1 in its own
# checkpoint; the classifier family, and M2's q(y|x) with generative=0,
# train on the labelled images alone; and the refusals (too few images in
# a class, no labels, an M1 that is not an MLP vae).  Small networks keep
# it to seconds.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
dg-encode fashion-mnist --limit 600 > "$tmp/small.dgs" || { echo "Bail out! no data"; exit 1; }
cd "$tmp" || exit 1
small="--set hidden=32 --set latent=4"

# ---- M2 ---------------------------------------------------------------------------
dg-train -q -p m2 -d small.dgs --labels-per-class 5 -e 1 -b 50 $small -o m2.dgm --log m2.csv
t $? "M2 trains one epoch with 5 labels per class"
[ "$(head -1 m2.csv)" = "epoch,step,loss,bound,labelled,accuracy,images_per_s" ] &&
	awk -F, 'NR == 2 { exit !($5 > 0.05 && $5 < 0.2 && $3 == $3 + 0) }' m2.csv
t $? "  log: loss, bound, labelled share near 0.1 ($(sed -n 2p m2.csv))"
# 550 unlabelled + 50 labelled x round(550 * 0.1 / 0.9 / 50) = 1 copy: 600 images, 12 steps
awk -F, 'NR == 2 { exit $2 != 12 }' m2.csv
t $? "  an epoch of 600 images: 550 unlabelled and the 50 labelled once"
dg-eval -m m2.dgm -d fashion-mnist-test -n 200 > eval.txt &&
	grep -q '^accuracy ' eval.txt && grep -q '^nelbo ' eval.txt &&
	grep -q '^nll .*cross-entropy' eval.txt &&
	awk '$1 == "gen_accuracy" { f = $2 >= 0 && $2 <= 1 && $5 == "fraction" } END { exit !f }' \
		eval.txt
t $? "  dg-eval reports the classifier's accuracy, nll, the bound and the generative accuracy"
dg-sample -m m2.dgm -n 8 --class 7 | dg-decode -m m2.dgm > s.png && [ -s s.png ]
t $? "  samples by class: dg-sample --class 7 | dg-decode"
dg-sample -m m2.dgm -n 8 | dg-decode -m m2.dgm > s2.png
t $? "  without --class the classes cycle"
dg-encode -m m2.dgm small.dgs --limit 8 | dg-decode -m m2.dgm > r.png
t $? "  encodes with the labels and decodes"

# the same seed keeps the same labelled images: two runs are byte-identical
dg-train -q -p m2 -d small.dgs --labels-per-class 5 -e 1 -b 50 $small -o m2b.dgm &&
	same_tensors m2.dgm m2b.dgm
t $? "  the same seed, the same model"

# ---- M1+M2 -------------------------------------------------------------------------
dg-train -q -p vae -d small.dgs -e 1 -b 50 --set hidden=32 --set latent=6 -o m1.dgm &&
	dg-train -q -p m2 -d small.dgs --labels-per-class 5 -e 1 -b 50 $small --set m1=m1.dgm \
		--set m1_hidden=32 --set m1_latent=6 -o m1m2.dgm
t $? "M1+M2 trains on a vae's codes"
dg-info m1m2.dgm | grep -q 'm1.enc.fc1.w .*32x784'
t $? "  M1's layers are buffers of the checkpoint"
mv m1.dgm m1-elsewhere.dgm
cp m1m2.dgm m1m2-kept.dgm
dg-eval -m m1m2.dgm -d fashion-mnist-test -n 200 | grep -q '^accuracy ' &&
	dg-sample -m m1m2.dgm -n 4 --class 1 | dg-decode -m m1m2.dgm > m.png && [ -s m.png ]
t $? "  evaluates and samples without M1's file"
dg-train -q -p vae -d small.dgs -e 1 -b 50 --set arch=conv --set hidden=32 -o conv.dgm
dg-train -q -p m2 -d small.dgs --labels-per-class 5 -e 1 -b 50 $small --set m1=conv.dgm \
	-o x.dgm 2> err
r=$?
[ $r = 64 ] && grep -q 'arch=mlp' err
t $? "  refuses a conv M1 with 64 ($r: $(cat err))"
dg-train -q -p m2 -d small.dgs --labels-per-class 5 -e 1 -b 50 $small --set m1=m1-elsewhere.dgm \
	-o x.dgm 2> err
r=$?
[ $r = 64 ] && grep -q 'm1_hidden' err
t $? "  refuses an M1 of other sizes than m1_hidden, m1_latent say ($r)"

dg-train -q -p m2 -d small.dgs --labels-per-class 5 -e 1 -b 50 $small --set m1=m1-elsewhere.dgm \
	--set m1_hidden=32 --set m1_latent=6 --set m1_sample=1 -o m1m2s.dgm &&
	dg-eval -m m1m2s.dgm -d fashion-mnist-test -n 200 | grep -q '^accuracy ' &&
	! same_tensors m1m2-kept.dgm m1m2s.dgm > /dev/null
t $? "  m1_sample=1 trains on draws of M1's codes (another model than on the means)"

# ---- the supervised baselines and refusals --------------------------------------------
dg-train -q -p m2 -d small.dgs --labels-per-class 5 -e 10 -b 50 $small --set generative=0 \
	-o sup.dgm --log sup.csv
t $? "generative=0: q(y|x) alone trains on the labelled images"
[ "$(head -1 sup.csv)" = "epoch,step,loss,labelled,accuracy,images_per_s" ] &&
	awk -F, 'NR == 2 { l = $3 } END { exit !($3 < l && $5 > 0.6) }' sup.csv
t $? "  its cross-entropy falls and it fits its labelled images ($(tail -1 sup.csv))"
dg-info sup.dgm > info.txt && grep -q 'params/cls.fc1.w .*32x784' info.txt &&
	! grep -q 'params/enc\.' info.txt
t $? "  only the classifier's parameters, of M2's q(y|x) shape"
dg-eval -m sup.dgm -d fashion-mnist-test -n 200 > eval.txt && grep -q '^accuracy ' eval.txt &&
	! grep -q '^nelbo ' eval.txt && ! grep -q '^gen_accuracy ' eval.txt
t $? "  dg-eval reports its accuracy, and no bound"
dg-sample -m sup.dgm -n 4 --class 1 > x.dgs 2> err
r=$?
[ $r = 64 ] && grep -q 'generative=0' err
t $? "  refuses to sample: 64 ($r: $(cat err))"
dg-train -q -p classifier -d small.dgs --labels-per-class 5 -e 2 -b 10 --set width=4 \
	--set features=16 -o clf.dgm --log clf.csv
t $? "the classifier trains on the labelled images alone"
awk -F, 'END { exit $2 != 10 }' clf.csv
t $? "  5 steps of 10 per epoch: 50 images ($(tail -1 clf.csv | cut -d, -f1-2))"
dg-train -q -p m2 -d small.dgs --labels-per-class 100 -e 1 $small -o x.dgm 2> err
r=$?
[ $r = 65 ] && grep -q 'fewer than the 100 per class' err
t $? "too few images in a class: 65 ($(cat err))"
gzip -dc /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz > unlabelled-images 2>/dev/null ||
	dg-decode small.dgs > /dev/null
dg-train -q -p m2 -d unlabelled-images -n 100 --labels-per-class 1 -e 1 $small -o x.dgm 2> err
r=$?
[ $r = 65 ] && grep -q 'no labels' err
t $? "data without labels: 65 ($(cat err))"
dg-train -q -p m2 -d unlabelled-images -n 100 -b 50 -e 1 $small -o x.dgm 2> err
r=$?
[ $r = 64 ] && grep -q 'labelled data' err
t $? "M2 without labels at all: 64 ($(cat err))"
dg-train -q -p m2 -d small.dgs --labels-per-class 0 -o x.dgm 2> err
t $(( $? != 64 )) "--labels-per-class 0: 64"

echo "1..$n"
exit $fail
