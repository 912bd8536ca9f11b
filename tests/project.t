#!/bin/sh
# project.t — dg-encode --project (GAN inversion) on a tiny GAN trained
# here: the pixel error falls with the steps; an image the GAN made from
# a known code is reproduced almost exactly, and the reported error is
# the decoded codes' own; real images project and interpolate through
# the pipeline; a classifier's features join the loss; an autoencoder is
# projected from its encoder's code; the same seed gives the same bytes;
# bad requests are refused with 64.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
dg-encode fashion-mnist --limit 512 > "$tmp/small.dgs" || { echo "Bail out! no data"; exit 1; }
cd "$tmp" || exit 1

# project_mse= of every record of a stream, one a line
mse() { dg-info "$1" | sed -n 's/.*project_mse=\([^ ,]*\).*/\1/p'; }
# The mean squared difference of the images of two raw image streams
# (python3 reads dg-stream(5)'s fixed header).
cat > msediff.py <<'EOF'
import sys
from dgstream import all_values
a, b = all_values(sys.argv[1]), all_values(sys.argv[2])
assert len(a) == len(b) and len(a) > 0
print("%.6g" % (sum((x - y) ** 2 for x, y in zip(a, b)) / len(a)))
EOF

dg-train -q -p gan -d small.dgs -o gan.dgm -e 2 -b 32 --set ngf=8 --set ndf=8 --set latent=16
t $? "a tiny DCGAN trains"

# ---- a generated image, from a known code --------------------------------------
dg-sample -m gan.dgm -n 8 -s 5 > z.dgs && dg-decode -m gan.dgm --raw < z.dgs > x.dgs
for s in 3 30 300; do
	dg-encode -m gan.dgm --project --steps $s x.dgs > p$s.dgs || echo failed > p$s.dgs
done
a=$(mse p3.dgs) b=$(mse p30.dgs) c=$(mse p300.dgs)
awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN { exit !(a > b && b > c && c < 1e-4) }'
t $? "generated images: the error falls with the steps ($a, $b, $c after 3, 30, 300) to < 1e-4"
dg-decode -m gan.dgm --raw < p300.dgs > back.dgs && d=$(python3 msediff.py back.dgs x.dgs) &&
	awk -v c="$c" -v d="$d" 'BEGIN { exit !(d <= 1.01 * c + 1e-9 && d >= 0.99 * c - 1e-9) }'
t $? "  the decoded codes' own error is the reported one ($d)"
dg-info p300.dgs | grep -q 'space=latent' && dg-info p300.dgs | grep -q 'encoding=project project_steps=300' &&
	dg-info p300.dgs | grep -q 'shape=8x16\|8x16'
t $? "  a latent record of 8 codes of 16, encoding=project project_steps=300"
dg-encode -m gan.dgm --project --steps 30 x.dgs | cmp -s - p30.dgs
t $? "  the same options and seed give the same bytes"
dg-encode -m gan.dgm --project --steps 30 -s 9 x.dgs | cmp -s - p30.dgs
t $((! $?)) "  another seed starts elsewhere"

# ---- real images ----------------------------------------------------------------
dg-encode -n 8 small.dgs > real.dgs
dg-encode -m gan.dgm --project --steps 5 real.dgs > r5.dgs && dg-encode -m gan.dgm --project --steps 100 real.dgs > r100.dgs
a=$(mse r5.dgs) b=$(mse r100.dgs)
awk -v a="$a" -v b="$b" 'BEGIN { exit !(b < a) }'
t $? "real images: the error falls from $a (5 steps) to $b (100)"
dg-encode -m gan.dgm -n 2 --project --steps 20 small.dgs | dg-interp -n 8 | dg-decode -m gan.dgm > walk.png &&
	pngcheck -q walk.png
t $? "dg-encode --project | dg-interp -n 8 | dg-decode: a PNG"

# ---- a classifier's features ------------------------------------------------------
dg-train -q -p classifier -d small.dgs -o clf.dgm -e 1 -b 32 --set width=4 --set features=16 &&
	dg-encode -m gan.dgm --project --steps 30 --features clf.dgm --feature-weight 0.01 x.dgs > f.dgs &&
	f=$(mse f.dgs) && awk -v f="$f" -v a="$(mse p3.dgs)" 'BEGIN { exit !(f < a) }' && ! cmp -s f.dgs p30.dgs
t $? "--features clf.dgm: the features join the loss (pixel error $f after 30 steps)"

# ---- a family that encodes ---------------------------------------------------------
dg-train -q -p ae -d small.dgs -o ae.dgm -e 1 -b 32 --set hidden=32 --set latent=8 &&
	dg-encode -m ae.dgm --project --steps 1 --lr 0.001 real.dgs > a1.dgs &&
	dg-encode -m ae.dgm --project --steps 100 --lr 0.01 real.dgs > a100.dgs &&
	dg-encode -m ae.dgm real.dgs > enc.dgs && dg-decode -m ae.dgm --raw < enc.dgs > encx.dgs &&
	e=$(python3 msediff.py encx.dgs real.dgs) && a=$(mse a1.dgs) && b=$(mse a100.dgs) &&
	awk -v e="$e" -v a="$a" -v b="$b" 'BEGIN { exit !(b < a && a < 1.05 * e) }'
t $? "ae: projected from its encoder's code (error $e), refined to $a after 1 step, $b after 100"

# ---- refusals ------------------------------------------------------------------------
refused() { # what, then the command; wants 64 and a message
	w=$1
	shift
	"$@" > out 2> err
	r=$?
	[ $r = 64 ] && [ -s err ] && [ ! -s out ]
	t $? "refused (64): $w: $(head -1 err)"
}
refused "--steps 0" dg-encode -m gan.dgm --project --steps 0 x.dgs
refused "--steps -3" dg-encode -m gan.dgm --project --steps -3 x.dgs
refused "--features naming a GAN" dg-encode -m gan.dgm --project --features gan.dgm x.dgs
refused "--project on a classifier" dg-encode -m clf.dgm --project x.dgs
refused "--steps without --project" dg-encode -m gan.dgm --steps 5 x.dgs
refused "--project with --sample" dg-encode -m ae.dgm --project --sample x.dgs
refused "--feature-weight without --features" dg-encode -m gan.dgm --project --feature-weight 2 x.dgs
refused "a GAN without --project" dg-encode -m gan.dgm x.dgs
grep -q -- '--project' err
t $? "  the GAN's refusal points to --project"

echo "1..$n"
exit $fail
