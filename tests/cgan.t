#!/bin/sh
# cgan.t — the gan family's conditional models and InfoGAN codes on a small
# part of Fashion-MNIST: cond=concat|projection|acgan train on labelled data
# and refuse unlabelled data; dg-sample --class K writes labels=K that
# dg-decode -m draws that class from; dg-sample --code fixes InfoGAN's
# codes in the latent values (one-hot categorical, continuous) and refuses
# unknown names, values out of range and models without codes, with a
# message and status 64.  Small networks keep it to seconds.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
is() { [ "$1" = "$2" ]; r=$?; t $r "$3"; [ $r = 0 ] || echo "#   got '$1', want '$2'"; }

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
export DG_DEVICE=cpu
dg-encode fashion-mnist --limit 256 > "$tmp/small.dgs" || { echo "Bail out! no data"; exit 1; }
cd "$tmp" || exit 1
small="--set ngf=8 --set ndf=8 --set latent=8"

# The float32 values of the first record of stream $1, one per line: the
# payload follows the 128-byte header and the metadata (length at byte
# 16), each padded to 64 bytes.
values() {
	ml=$(od -An -tu8 -j16 -N8 "$1" | tr -d ' ')
	pl=$(od -An -tu8 -j24 -N8 "$1" | tr -d ' ')
	off=$(( (128 + ml + 63) / 64 * 64 ))
	od -An -v -tf4 -w4 -j$off -N$pl "$1" | awk '{ print $1 + 0 }'
}

# ---- conditional models ------------------------------------------------------
for cond in concat projection acgan; do
	dg-train -q -p gan -d small.dgs -o $cond.dgm -e 1 -b 32 $small --set cond=$cond \
		--log $cond.csv
	r=$?
	[ $r = 0 ] && awk -F, 'NR == 2 { for (i = 3; i < NF; i++) if ($i != $i + 0 || $i ~ /nan|inf/) exit 1 } END { exit NR != 2 }' $cond.csv
	t $? "cond=$cond trains: $(head -1 $cond.csv)"
done
grep -q "cls_d" acgan.csv && grep -q "cls_g" acgan.csv
t $? "  acgan logs the class cross-entropies cls_d and cls_g"
dg-train -q -p gan -d small.dgs -o mlp.dgm -e 1 -b 32 --set arch=mlp --set hidden=32 \
	--set d_hidden=16 --set maxout=2 --set latent=8 --set cond=concat
t $? "cond=concat trains the MLP architecture"

mkdir img
dg-decode -n 32 -o 'img/%02d.png' small.dgs
dg-train -q -p gan -d img -o nolabels.dgm -e 1 -b 16 $small --set cond=concat 2> err
is $? 64 "cond=concat on unlabelled images: status 64"
grep -q "needs labelled data" err
t $? "  and says so: $(cat err)"

# ---- dg-sample --class ----------------------------------------------------------
dg-sample -m concat.dgm -n 6 --class 3 > c3.dgs
t $? "dg-sample --class 3"
dg-info c3.dgs | grep -q "labels=3,3,3,3,3,3"
t $? "  the record says labels=3 for each code"
dg-decode -m concat.dgm --raw < c3.dgs > c3.img && dg-sample -m concat.dgm -n 6 | \
	dg-decode -m concat.dgm --raw > cyc.img
t $? "dg-decode -m draws them, and cycling labels without --class"
! cmp -s c3.img cyc.img
t $? "  the class changes the images of the same codes"
dg-sample -m projection.dgm -n 4 --class 9 | dg-decode -m projection.dgm > p.png &&
	pngcheck -q p.png > /dev/null
t $? "cond=projection: --class 9 to a PNG"
dg-sample -m acgan.dgm -n 10 --class 10 > /dev/null 2> err
is $? 64 "--class 10 of 10 classes: status 64"
grep -q "not below the model's 10 classes" err
t $? "  and says so: $(cat err)"

# ---- InfoGAN and dg-sample --code -------------------------------------------------
dg-train -q -p gan -d small.dgs -o info.dgm -e 1 -b 32 $small --set info_cat=4 \
	--set info_cont=2 --log info.csv
t $? "InfoGAN trains (info_cat=4, info_cont=2): $(sed -n 2p info.csv)"
grep -q "info_d" info.csv && grep -q "info_g" info.csv
t $? "  and logs L_I as info_d and info_g"
dg-sample -m info.dgm -n 3 > free.dgs
is "$(dg-info free.dgs | awk '/space=latent/ { print $3 }')" "3x14" "codes are z (8), cat (4), c1, c2"
is "$(values free.dgs | awk 'NR % 14 >= 9 && NR % 14 <= 12 { s += $1; if ($1 != 0 && $1 != 1) bad = 1 }
	END { print bad ? "not one-hot" : s }')" 3 "  the categorical code is one-hot in each row"
dg-sample -m info.dgm -n 3 --code cat=2 --code c2=0.5 > fixed.dgs
t $? "--code cat=2 --code c2=0.5"
is "$(values fixed.dgs | awk '{ r = (NR - 1) % 14 } r >= 8 && r <= 11 { printf "%s ", $1 } r == 13 { printf "%s|", $1 }')" \
	"0 0 1 0 0.5|0 0 1 0 0.5|0 0 1 0 0.5|" "  each row has the one-hot of 2 and c2 = 0.5"
is "$(values fixed.dgs | awk '(NR - 1) % 14 < 8' | md5sum)" "$(values free.dgs | awk '(NR - 1) % 14 < 8' | md5sum)" \
	"  z is drawn as without --code"
dg-decode -m info.dgm < fixed.dgs > fixed.png && pngcheck -q fixed.png > /dev/null
t $? "  and dg-decode -m makes a PNG of them"

bad() { # bad ARG WANT-IN-MESSAGE MODEL
	dg-sample -m "${3:-info.dgm}" -n 2 --code "$1" > /dev/null 2> err
	r=$?
	[ $r = 64 ] && grep -q -- "$2" err
	t $? "--code $1: status 64 ($r), $(cat err)"
}
bad cat=4 "out of range \[0, 3\]"
bad cat=x "not an integer"
bad c3=0 "unknown code 'c3'; the model info.dgm has cat (0..3) c1..c2"
bad c0=1 "unknown code 'c0'"
bad foo=1 "unknown code 'foo'"
bad c1=2.5 "out of range \[-2, 2\]"
bad c1=nan "not a number"
bad cat "expected NAME=VALUE"
bad cat=1 "has no InfoGAN codes" concat.dgm

[ $fail = 0 ] && [ $n -gt 0 ]
echo "1..$n"
exit $fail
