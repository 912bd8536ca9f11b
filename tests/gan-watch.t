#!/bin/sh
# gan-watch.t — dg-train's warnings of a failing GAN (dg-gan(7) and dg-train(1),
# Warnings and Progress): D's loss near its floor for a whole epoch (D wins), forced by
# a frozen G against a D with a large rate, and G's samples barely varying
# across a batch (mode collapse), forced by an MLP generator with a rate
# so large that its sigmoid outputs saturate.  Each warns once for a run of
# such epochs, names the epoch and goes to stderr only; a normal run does
# not warn.  Small networks on 512 images keep the test to seconds.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
dg-encode fashion-mnist --limit 512 > "$tmp/small.dgs" || { echo "Bail out! no data"; exit 1; }
cd "$tmp" || exit 1
run="dg-train -q -p gan -d small.dgs -e 3 -b 64 --seed 1 --set latent=16"
dcgan="--set ngf=16 --set ndf=16"
echo 1..9

# warned NAME: the warning lines of NAME.err about a term
warned() { grep -c "^dg-train: warning: epoch [0-9]*: $2 stayed below" "$1.err"; }

$run $dcgan -o normal.dgm --log normal.csv > normal.out 2> normal.err
t $? "a normal run trains 3 epochs"
[ ! -s normal.err ] && [ ! -s normal.out ]
t $? "  and warns of nothing (diversity $(tail -1 normal.csv | cut -d, -f7))"

$run $dcgan --lr generator=1e-12 --lr discriminator=1e-2 -o dwins.dgm --log dwins.csv \
	> dwins.out 2> dwins.err
t $? "a frozen G against a fast D trains 3 epochs"
[ "$(warned dwins loss_d)" = 1 ] && [ "$(grep -c . dwins.err)" = 1 ] && [ ! -s dwins.out ]
t $? "  one warning for the run of epochs: $(cat dwins.err)"
# the epoch it names is the first whose every loss_d was below 0.05: its
# mean is too, and the epoch before's mean is not
e=$(sed -n 's/^dg-train: warning: epoch \([0-9]*\): loss_d.*/\1/p' dwins.err)
awk -F, -v e="$e" 'NR == e + 1 && $3 >= 0.05 { exit 1 } NR == e && NR > 1 && $3 < 0.05 { exit 1 }
	NR == 4 && $3 >= 0.05 { exit 1 }' dwins.csv && grep -q 'D wins' dwins.err
t $? "  epoch $e is the first with loss_d below 0.05, which lasts; the reason says D wins"

$run --set arch=mlp --set hidden=64 --set d_hidden=32 --lr generator=0.1 -o collapse.dgm \
	--log collapse.csv > collapse.out 2> collapse.err
t $? "an MLP G with rate 0.1 trains 3 epochs"
[ "$(warned collapse diversity)" = 1 ] && [ "$(grep -c . collapse.err)" = 1 ] &&
	grep -q 'mode collapse' collapse.err
t $? "  one warning of mode collapse: $(cat collapse.err)"
awk -F, 'NR == 4 { exit !($7 < 0.1) }' collapse.csv
t $? "  its last epoch's diversity $(tail -1 collapse.csv | cut -d, -f7) is below 0.1"

# a Wasserstein critic's loss has no floor: only its diversity is watched
$run $dcgan --set loss=wgan-gp --set dsteps=1 --lr generator=1e-12 --lr discriminator=1e-2 \
	-o wgp.dgm > wgp.out 2> wgp.err
st=$?
[ $st = 0 ] && [ "$(warned wgp loss_d)" = 0 ]
t $? "wgan-gp against a frozen G: no warning about its loss"

exit $fail
