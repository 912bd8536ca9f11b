#!/bin/sh
# dg-train.t — dg-train with the out-of-tree tiny family (and vae when it is
# built): a checkpoint dg-info describes, the loss going down, --list and
# the family's --help, usage errors, --log, exact --resume, and SIGINT /
# SIGTERM saving a valid checkpoint.
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
# waits (up to ~20 s) for a line matching $2 in file $1
wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2> /dev/null; do
		i=$((i + 1)); [ $i -gt 400 ] && return 1; sleep 0.05
	done
}

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
${CC:-cc} -std=c11 -Wall -Wextra -Werror -shared -fPIC -I"$DG_SRC/libcore/include" \
	-o "$tmp/dg-tiny.so" "$DG_SRC/tests/data/plugin/tiny.c" -L"$DG_BUILD/lib" -ldg \
	-Wl,-rpath,"$DG_BUILD/lib" || { echo "Bail out! cannot build tiny"; exit 1; }
DG_PLUGIN_PATH=$tmp${DG_PLUGIN_PATH:+:$DG_PLUGIN_PATH}
export DG_PLUGIN_PATH
dg-encode fashion-mnist --limit 512 > "$tmp/small.dgs" || { echo "Bail out! no data"; exit 1; }
cd "$tmp" || exit 1

# ---- training --------------------------------------------------------------
dg-train -p tiny -d small.dgs -o m.dgm --epochs 4 --batch 64 --lr 0.01 --log log.csv \
	> out 2> err
t $? "dg-train -p tiny: 4 epochs on 512 images"
[ ! -s out ] && [ "$(grep -c '^epoch [1-4]/4: loss .* images/s, .* s$' err)" = 4 ]
t $? "  one line per epoch on stderr, nothing on stdout"
dg-info m.dgm > info && grep -q '^  family  *tiny$' info && grep -q '^  step  *32$' info &&
	grep -q '^  epoch  *4$' info && grep -q '^  hparam.hidden  *2$' info &&
	grep -q '^  data_shape  *1x28x28$' info && grep -q 'params/enc.w' info &&
	grep -q 'optim/enc.w.m' info
t $? "  dg-info describes the checkpoint (family, step, epoch, hparams, members)"
[ "$(head -1 log.csv)" = "epoch,step,loss,rec,images_per_s" ] && [ "$(wc -l < log.csv)" = 5 ]
t $? "  --log: a CSV header and 4 lines"
awk -F, 'NR == 2 { a = $3 } END { exit !($3 < a) }' log.csv
t $? "  the loss goes down ($(sed -n 2p log.csv | cut -d, -f3) -> $(tail -1 log.csv | cut -d, -f3))"
tar xzOf m.dgm log.csv | cmp -s - log.csv
t $? "  the checkpoint holds the same log"

dg-train -q -p tiny -d small.dgs -o q.dgm --epochs 1 --batch 64 > out 2> err && [ ! -s err ]
t $? "--quiet: nothing on stderr"
dg-train -p tiny --set hidden=5 --set act=tanh -d small.dgs -o h.dgm -e 1 -b 64 -q &&
	dg-info h.dgm | grep -q '^  hparam.hidden  *5$' && dg-info h.dgm | grep -q '^  hparam.act  *tanh$'
t $? "--set values reach the manifest"

dg-train -q -p tiny -d small.dgs -o sn.dgm -e 1 -b 64 --snapshot snapt &&
	[ "$(ls snapt)" = recon-0001.png ] && dg-encode snapt/recon-0001.png > /dev/null
t $? "--snapshot with a family without prior: reconstructions only"

fails 65 dg-train -p tiny -d small.dgs -o x.dgm -b 64 --val snapt/recon-0001.png &&
	grep -q 'validation images are' err
t $? "--val images of another shape: 65"

# ---- listing and help ----------------------------------------------------------
dg-train --list > out && grep -q '^tiny  *a linear autoencoder for tests$' out
t $? "--list shows tiny with its summary"
dg-train -p tiny --help > out && grep -q '^Usage: dg-train' out &&
	grep -q '^  hidden  *int  *2  *\[1, 64\]  *size of the code$' out &&
	grep -q '^  act  *choice  *linear  *linear|tanh' out
t $? "-p tiny --help: usage, then the hyperparameter table"
dg-train --help -p tiny | grep -q '^  scale  *float'
t $? "--help -p tiny: the same in either order"

# ---- errors -------------------------------------------------------------------
fails 64 dg-train -p tiny --set hidden=0 -d small.dgs -o x.dgm && grep -q 'out of range' err
t $? "bad --set: status 64, says why"
fails 64 dg-train -p tiny --set nope=1 -d small.dgs -o x.dgm && grep -q 'known: hidden' err
t $? "unknown --set name: 64, lists the known ones"
fails 66 dg-train -p nope -d small.dgs -o x.dgm && grep -q "$tmp" err
t $? "unknown family: 66, the message lists the search path"
fails 66 dg-train -p tiny -d missing.dgs -o x.dgm
t $? "missing data: 66"
fails 64 dg-train -p tiny -d small.dgs
t $? "no -o: 64"
fails 64 dg-train -p tiny -d small.dgs -o x.dgm --batch 1000 && grep -q 'fewer than one batch' err
t $? "a batch larger than the data: 64"
fails 64 dg-train --resume m.dgm --set hidden=3 -d small.dgs
t $? "--resume with --set: 64"
[ ! -e x.dgm ]
t $? "no checkpoint left behind by failures"

# ---- exact resume -----------------------------------------------------------------
dg-train -q -p tiny -d small.dgs -o s2.dgm --epochs 2 --batch 64 --seed 9 &&
	dg-train -q -p tiny -d small.dgs -o r1.dgm --epochs 1 --batch 64 --seed 9 &&
	dg-train -q --resume r1.dgm -d small.dgs -o r2.dgm --epochs 2
t $? "2 epochs straight; 1 epoch, then --resume to 2"
same_tensors s2.dgm r2.dgm
t $? "  every tensor is identical byte for byte"
[ "$(tar xzOf s2.dgm log.csv | cut -d, -f1-4)" = "$(tar xzOf r2.dgm log.csv | cut -d, -f1-4)" ]
t $? "  and so is the log (but for images/s)"
dg-train -q --resume r1.dgm -d small.dgs --epochs 2 && same_tensors s2.dgm r1.dgm
t $? "--resume without -o continues in place"
cp r1.dgm done.dgm && touch -d '2001-01-01 00:00' done.dgm
dg-train --resume done.dgm -d small.dgs --epochs 1 2> err
t $? "--resume of a finished run exits 0"
grep -q "nothing to do" err && cmp -s r1.dgm done.dgm &&
	[ "$(stat -c %Y done.dgm)" = "$(date -d '2001-01-01 00:00' +%s)" ]
t $? "  says there is nothing to do and leaves the file alone"

# ---- signals --------------------------------------------------------------------------
dg-train -p tiny -d small.dgs -o int.dgm --epochs 1000000 --batch 64 2> err &
pid=$!
wait_for err '^epoch 1/' && kill -INT $pid
wait $pid
st=$?
[ $st = 130 ]
t $? "SIGINT after the first epoch: status 130 ($st)"
dg-info int.dgm > info 2>&1 && grep -q 'interrupted: checkpoint saved to int.dgm' err
t $? "  a valid checkpoint was saved, and said so"
ep=$(sed -n 's/^  epoch  *//p' info)
dg-train -q --resume int.dgm -d small.dgs -o int2.dgm --epochs $((ep + 1)) &&
	dg-info int2.dgm | grep -q "^  epoch  *$((ep + 1))$"
t $? "  which resumes"

dg-train -q -p tiny -d small.dgs -o term.dgm --epochs 1000000 --batch 64 --log term.csv 2> err &
pid=$!
wait_for term.csv '^1,' && kill -TERM $pid
wait $pid
st=$?
[ $st = 143 ] && dg-info term.dgm > /dev/null
t $? "SIGTERM: status 143 and a valid checkpoint ($st)"

cp m.dgm twice.dgm
dg-train -q -p tiny -d small.dgs -o twice.dgm --epochs 1000000 --batch 64 --log twice.csv 2> err &
pid=$!
wait_for twice.csv '^1,' && kill -INT $pid && kill -INT $pid
wait $pid
st=$?
[ $st = 130 ] && dg-info twice.dgm > /dev/null && [ "$(ls -A | grep -c twice)" = 2 ]
t $? "two SIGINTs: 130, the file is still a valid checkpoint, no temporary left"

# ---- vae, when built -----------------------------------------------------------------
if [ -e "$DG_BUILD/lib/dg/dg-vae.so" ]; then
	dg-train -q -p vae -d small.dgs -o v.dgm --epochs 2 --batch 64 --log v.csv &&
		dg-info v.dgm | grep -q '^  family  *vae$'
	t $? "vae trains 2 epochs"
	dg-train -q -p vae -d small.dgs -o v1.dgm --epochs 1 --batch 64 &&
		dg-train -q --resume v1.dgm -d small.dgs --epochs 2 && same_tensors v.dgm v1.dgm
	t $? "  and resumes exactly (its noise included)"
	dg-train -q -p ae --set arch=conv -d small.dgs -o a3.dgm --epochs 3 --batch 64 &&
		dg-train -q -p ae --set arch=conv -d small.dgs -o a1.dgm --epochs 1 --batch 64 &&
		dg-train -q --resume a1.dgm -d small.dgs --epochs 3 && same_tensors a3.dgm a1.dgm
	t $? "ae (conv): 3 epochs = 1 + --resume to 3, byte for byte"
	dg-train -q -p vae -d small.dgs -o vl3.dgm --epochs 3 --batch 64 --lr vae=0.002 &&
		dg-train -q -p vae -d small.dgs -o vl1.dgm --epochs 1 --batch 64 --lr vae=0.002 &&
		dg-train -q --resume vl1.dgm -d small.dgs --epochs 3 && same_tensors vl3.dgm vl1.dgm &&
		tar xzOf vl1.dgm manifest | grep -q '^phase.vae=adam .* lr=0.00200000009 '
	t $? "vae --lr vae=0.002: 3 epochs = 1 + --resume to 3 (the phase's rate is kept)"
	dg-train -q -p vae -d small.dgs -o vs.dgm --epochs 2 --batch 64 --snapshot snap &&
		dg-encode snap/samples-0002.png snap/recon-0002.png | dg-info > info &&
		grep -q '1x1x242x242' info && grep -q '1x1x482x242' info
	t $? "  --snapshot: an 8x8 sample grid and 8x(8+8) reconstructions each epoch"
	same_tensors v.dgm vs.dgm
	t $? "  and the snapshots leave the training unchanged"
	dg-train -p vae -d small.dgs -o vv.dgm --epochs 2 --batch 64 --val small.dgs 2> err &&
		[ "$(grep -c '| val loss .* recon .* kl ' err)" = 2 ] && same_tensors v.dgm vv.dgm
	t $? "  --val: validation terms each epoch, the training unchanged"
else
	for i in 1 2 3 4 5 6 7; do n=$((n + 1)); echo "ok $n # SKIP vae not built"; done
fi

# IDX labels without class names (not Fashion-MNIST's): the classes are
# the largest label plus one, so the data trains a conditional model
if [ -f "$DG_BUILD/lib/dg/dg-vae.so" ]; then
	{ printf '\000\000\010\003\000\000\000\040\000\000\000\010\000\000\000\010'
	  head -c 2048 /dev/zero | tr '\000' '\177'; } > "$tmp/x-images-idx3-ubyte"
	{ printf '\000\000\010\001\000\000\000\040'
	  for i in 0 1 2 3 4 5 6 7; do printf '\000\001\002\001'; done; } > "$tmp/x-labels-idx1-ubyte"
	dg-train -q -p vae -d "$tmp/x-images-idx3-ubyte" --set conditional=1 -e 1 -b 16 \
		-o "$tmp/idx.dgm" 2> "$tmp/err"
	t $? "IDX labels without names train a conditional vae"
	dg-sample -m "$tmp/idx.dgm" -n 2 --class 2 > "$tmp/out" 2> /dev/null
	t $? "... whose three classes (labels 0..2) sample"
	dg-sample -m "$tmp/idx.dgm" -n 2 --class 3 > "$tmp/out" 2> /dev/null
	[ $? = 64 ]
	t $? "... and a fourth is refused"
fi

echo "1..$n"
exit $fail
