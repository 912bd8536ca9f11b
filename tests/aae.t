#!/bin/sh
# aae.t — the aae family (plugins/aae.c) on a small part of Fashion-MNIST:
# both priors train in three phases with their optimizers and report
# their terms; the reconstruction improves; dg-sample draws codes from the
# prior (the mixture's on its circle), which dg-decode turns into a PNG;
# dg-encode | dg-interp | dg-decode and dg-translate work; a prior that
# cannot fit the code is refused.  Small networks keep it to seconds.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
dg-encode fashion-mnist --limit 512 > "$tmp/small.dgs" || { echo "Bail out! no data"; exit 1; }
cd "$tmp" || exit 1
small="--set hidden=64 --set d_hidden=32"

# The float32 values of every record of a stream, as "rows cols" then
# one row per line (python3 reads dg-stream(5)'s fixed header).
cat > rows.py <<'EOF'
import sys
from dgstream import records
for dims, v in records(sys.argv[1]):
    cols = len(v) // dims[0]
    for i in range(dims[0]):
        print(" ".join("%.6g" % x for x in v[i * cols:(i + 1) * cols]))
EOF

# ---- training -----------------------------------------------------------------
for prior in gauss mog10; do
	dg-train -q -p aae -d small.dgs -o $prior.dgm -e 3 -b 32 $small --set prior=$prior \
		--set latent=4 --log $prior.csv
	r=$?
	[ $r = 0 ] && [ "$(head -1 $prior.csv)" = "epoch,step,recon,loss_d,d_prior,d_code,loss_g,images_per_s" ] &&
		awk -F, 'NR > 1 { for (i = 3; i < NF; i++) if ($i != $i + 0 || $i ~ /nan|inf/) exit 1 } END { exit NR != 4 }' $prior.csv
	t $? "prior=$prior: three epochs, log $(sed -n 4p $prior.csv)"
	awk -F, 'NR == 2 { a = $3 } NR == 4 { b = $3 } END { exit !(b < a) }' $prior.csv
	t $? "  the reconstruction falls: $(awk -F, 'NR == 2 || NR == 4 { printf "%s ", $3 }' $prior.csv)"
done
case "$(manifest_key gauss.dgm phase.reconstruction)" in "adam schedule=constant lr=0.00100000005 beta1=0.899999976 "*) r=0 ;; *) r=1 ;; esac
[ $r = 0 ] && case "$(manifest_key gauss.dgm phase.discriminator)" in "adam schedule=constant lr=0.000199999995 beta1=0.5 "*) r=0 ;; *) r=1 ;; esac
[ $r = 0 ] && case "$(manifest_key gauss.dgm phase.generator)" in "adam schedule=constant lr=0.000199999995 beta1=0.5 "*) r=0 ;; *) r=1 ;; esac
t $r "phases reconstruction (Adam 1e-3), discriminator and generator (Adam 2e-4, beta1 0.5)"
dg-info gauss.dgm > info && grep -q 'params/enc.code.w' info && grep -q 'params/dec.out.w' info &&
	grep -q 'params/D.out.w' info && grep -q 'optim/enc.code.w' info
t $? "the encoder, decoder and latent discriminator are checkpoint members"

# ---- sampling from the prior --------------------------------------------------
dg-sample -m gauss.dgm -n 64 -s 1 | dg-decode -m gauss.dgm > s.png && pngcheck -q s.png &&
	[ "$(identify -format %wx%h s.png)" = 242x242 ]
t $? "dg-sample -n 64 | dg-decode > s.png: a PNG grid of 8x8 images"
dg-sample -m gauss.dgm -n 4 -s 1 | dg-info - | grep -q 'prior=gaussian'
t $? "  gauss: the codes say prior=gaussian (dg-interp's slerp)"
dg-sample -m mog10.dgm -n 2000 -s 2 > mog.dgs && python3 rows.py mog.dgs > mog.txt &&
	awk '{ r = sqrt($1 * $1 + $2 * $2); s += r; a = atan2($2, $1); k = int((a < 0 ? a + 6.2832 : a) / 0.62832 + 0.5) % 10; c[k]++; e += $3 * $3 + $4 * $4 }
	     END { for (k = 0; k < 10; k++) if (c[k] < 140 || c[k] > 260) exit 1; printf "%.3f %.3f\n", s / NR, e / (2 * NR) > "stats"; exit !(NR == 2000 && s / NR > 1.95 && s / NR < 2.05 && e / (2 * NR) > 0.9 && e / (2 * NR) < 1.1) }' mog.txt
t $? "mog10: 2000 codes at mean radius $(cut -d' ' -f1 stats) in 10 petals of 140-260, the other coordinates' variance $(cut -d' ' -f2 stats)"
dg-sample -m mog10.dgm -n 16 -s 2 | dg-decode -m mog10.dgm > m.png && pngcheck -q m.png
t $? "  mog10 codes decode to a PNG"
dg-sample -m mog10.dgm -n 4 -s 1 | dg-info - | grep -q 'prior=other'
t $? "  mog10: the codes say prior=other (dg-interp's lerp)"
# snapshots draw their fixed codes from the family's own prior, once,
# without moving training's random draws
dg-train -q -p aae -d small.dgs -o snap.dgm -e 1 -b 32 $small --set prior=mog10 --snapshot snaps &&
	dg-train -q -p aae -d small.dgs -o nosnap.dgm -e 1 -b 32 $small --set prior=mog10 &&
	pngcheck -q snaps/samples-0001.png &&
	[ "$(dg-info snap.dgm | awk '$1 == "fingerprint"')" = "$(dg-info nosnap.dgm | awk '$1 == "fingerprint"')" ]
t $? "  mog10 --snapshot: samples-0001.png, and the same weights as without snapshots"

# ---- encoding, interpolation, reconstruction ---------------------------------
dg-encode -m gauss.dgm -n 2 small.dgs > two.dgs && dg-interp -n 10 < two.dgs > walk.dgs &&
	dg-decode -m gauss.dgm < walk.dgs > walk.png && pngcheck -q walk.png &&
	dg-decode -m gauss.dgm --raw < walk.dgs | python3 rows.py /dev/stdin > walk.txt &&
	[ "$(wc -l < walk.txt)" = 10 ] && [ "$(awk '{ print NF }' walk.txt | sort -u)" = 784 ]
t $? "dg-encode | dg-interp -n 10 | dg-decode: 10 images of 28x28"
dg-encode -m gauss.dgm -n 64 small.dgs | python3 rows.py /dev/stdin > codes.txt &&
	awk '{ for (i = 1; i <= NF; i++) { s += $i; q += $i * $i; k++ } } END { m = s / k; v = q / k - m * m; printf "%.3f %.3f\n", m, v > "cstats"; exit !(NF == 4 && NR == 64 && v > 0.05 && v < 20) }' codes.txt
t $? "  the encoder's codes: 64 of 4 values, mean and variance $(cat cstats)"
dg-encode -n 8 small.dgs | dg-translate -m gauss.dgm | dg-decode > rec.png && pngcheck -q rec.png
t $? "dg-translate: the reconstructions"

# ---- refusals -----------------------------------------------------------------
dg-train -q -p aae -d small.dgs -o bad.dgm -e 1 $small --set prior=mog10 --set latent=1 2> err
r=$?
[ $r = 64 ] && grep -q 'latent >= 2' err && [ ! -e bad.dgm ]
t $? "prior=mog10 with latent=1: refused (64): $(head -1 err)"

echo "1..$n"
exit $fail
