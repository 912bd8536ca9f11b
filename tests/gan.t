#!/bin/sh
# gan.t — the gan family (plugins/gan.c) on a small part of Fashion-MNIST:
# each loss trains with its paper's optimizer and reports both losses and
# D's mean scores; the MLP architecture trains; training resumes byte for
# byte, across D's five steps per iteration too; the generator's average
# warms up, with G's batch-norm statistics, and is what dg-sample |
# dg-decode use (older checkpoints too); the stabilizers
# (spectral norm, minibatch stddev, orthogonal init, label smoothing, lazy
# R1) train; the pipeline writes a PNG.  Small networks keep the whole
# test to seconds.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
dg-encode fashion-mnist --limit 256 > "$tmp/small.dgs" || { echo "Bail out! no data"; exit 1; }
cd "$tmp" || exit 1
small="--set ngf=8 --set ndf=8 --set latent=16"
mlp="--set arch=mlp --set hidden=64 --set d_hidden=16 --set maxout=3 --set latent=16"

# ---- every loss ---------------------------------------------------------------
for loss in ns minimax lsgan wgan wgan-gp hinge; do
	dg-train -q -p gan -d small.dgs -o $loss.dgm -e 1 -b 32 $small --set loss=$loss --log $loss.csv
	r=$?
	want="epoch,step,loss_d,d_x,d_gz,loss_g,diversity,images_per_s"
	[ $loss = wgan-gp ] && want="epoch,step,loss_d,d_x,d_gz,gp,loss_g,diversity,images_per_s"
	[ $r = 0 ] && [ "$(head -1 $loss.csv)" = "$want" ] &&
		awk -F, 'NR == 2 { for (i = 3; i < NF; i++) if ($i != $i + 0 || $i ~ /nan|inf/) exit 1 } END { exit NR != 2 }' $loss.csv
	t $? "loss=$loss: one epoch, log $(sed -n 2p $loss.csv)"
done
case "$(manifest_key ns.dgm phase.discriminator)" in "adam schedule=constant lr=0.000199999995 beta1=0.5 "*" steps=1 every=1") r=0 ;; *) r=1 ;; esac
[ $r = 0 ] && case "$(manifest_key ns.dgm phase.generator)" in "adam schedule=constant lr=0.000199999995 beta1=0.5 "*" ema_decay=0.99000001 "*) r=0 ;; *) r=1 ;; esac
t $r "  ns: DCGAN's Adam (2e-4, beta1 0.5) for both, an EMA of G"
case "$(manifest_key wgan.dgm phase.discriminator)" in "rmsprop schedule=constant lr=4.99999987e-05 "*" clip_value=0.00999999978 "*" steps=5 every=1") r=0 ;; *) r=1 ;; esac
[ $r = 0 ] && case "$(manifest_key wgan.dgm phase.generator)" in "rmsprop "*" clip_value=0 "*" steps=1 "*) r=0 ;; *) r=1 ;; esac
t $r "  wgan: RMSProp 5e-5, D clipped to 0.01, 5 D steps"
case "$(manifest_key wgan-gp.dgm phase.discriminator)" in "adam schedule=constant lr=9.99999975e-05 beta1=0 beta2=0.899999976 "*" steps=5 every=1") r=0 ;; *) r=1 ;; esac
t $r "  wgan-gp: Adam 1e-4, beta (0, 0.9), 5 D steps"
dg-info wgan-gp.dgm > info && grep -q 'params/D.conv2_norm.w .* 16x7x7' info &&
	! grep -q 'D.conv2_norm.mean' info && dg-info ns.dgm | grep -q 'params/D.conv2_norm.mean'
t $? "  wgan-gp's critic has layer norm, ns's D batch norm"
dg-info ns.dgm > info && grep -q 'ema/G.proj.w' info && ! grep -q 'ema/D\.' info
t $? "  ema/ members for G only"
# |ema/G.proj_bn.b| / |params/G.proj_bn.b| (both start at 0): about
# 1 - 0.99^8 = 0.077 after 8 steps of a constant decay, near 1 warmed up
mkdir ns && tar xzf ns.dgm -C ns && python3 - ns/params/G.proj_bn.b.dgt ns/ema/G.proj_bn.b.dgt > ratio <<'EOF'
import sys
from dgstream import values
norm = lambda v: sum(x * x for x in v) ** 0.5
print("%.3f" % (norm(values(sys.argv[2])) / norm(values(sys.argv[1]))))
EOF
awk '{ exit !($1 > 0.5 && $1 < 1.5) }' ratio
t $? "  G's average warms up: |ema| / |params| of G.proj_bn.b $(cat ratio) after 8 steps"
# G's batch-norm statistics are averaged with its weights (D's are not):
# after 8 steps the averages differ from the running statistics
cat > maxdiff.py <<'EOF'
# the largest difference between the first records of two streams
import sys
from dgstream import values
a, e = values(sys.argv[1]), values(sys.argv[2])
print("%.3g" % max(abs(x - y) for x, y in zip(a, e)))
EOF
grep -q 'ema/G.proj_bn.mean' info && grep -q 'ema/G.up1_bn.var' info &&
	python3 maxdiff.py ns/params/G.proj_bn.var.dgt ns/ema/G.proj_bn.var.dgt > vdiff
awk '{ exit !($1 > 0) }' vdiff
t $? "  G's batch-norm statistics averaged too: max |ema - params| of G.proj_bn.var $(cat vdiff)"
# standing statistics (ema_stats=standing, the default): the checkpoint's
# ema/ statistics are measured on the averaged G.  G's first layer is a
# dense map without bias from z ~ N(0, I): channel c's variance over the
# batch and its P positions is mean_p |W[c,p,:]|^2, from ema/G.proj.w;
# the averaged running statistics of ema_stats=average are far from it
# after 8 steps (they start at 1); the trained weights stay as they were.
cat > standvar.py <<'EOF'
import sys
from dgstream import values
w, var = values(sys.argv[1]), values(sys.argv[2])
c_, l_ = len(var), int(sys.argv[3])
p_ = len(w) // (c_ * l_)
rel = [abs(var[c] / (sum(w[o * l_ + j] ** 2 for o in range(c * p_, (c + 1) * p_)
                         for j in range(l_)) / p_) - 1) for c in range(c_)]
print("%.3f" % max(rel))
EOF
for s in standing average; do
	dg-train -q -p gan -d small.dgs -o st-$s.dgm -e 1 -b 32 $small --lr generator=0.01 \
		--set ema_stats=$s && mkdir st-$s && tar xzf st-$s.dgm -C st-$s &&
		python3 standvar.py st-$s/ema/G.proj.w.dgt st-$s/ema/G.proj_bn.var.dgt 16 > rel-$s ||
		echo 9 > rel-$s
done
awk '{ exit !($1 < 0.06) }' rel-standing && awk '{ exit !($1 > 0.5) }' rel-average
t $? "  ema_stats=standing: the averaged G's variances measured, largest relative error $(cat rel-standing) (average: $(cat rel-average))"
r=0
diff -r st-standing/params st-average/params && diff -r st-standing/optim st-average/optim || r=1
for f in st-standing/ema/*; do
	case $f in
	*_bn.mean.dgt | *_bn.var.dgt) ! cmp -s $f st-average/ema/${f##*/} || r=1 ;;
	*) cmp -s $f st-average/ema/${f##*/} || r=1 ;;
	esac
done
t $r "  measuring leaves training as it was: the same parameters, optimizer and averaged weights"
# sampling uses them: with G frozen (lr 1e-12) the averaged weights are
# the trained ones to float rounding, so only the statistics tell the
# average from the trained G (before them: 6e-8 apart, here 1e-3)
dg-train -q -p gan -d small.dgs -o fz.dgm -e 1 -b 32 $small --lr generator=1e-12 2>/dev/null &&
	dg-sample -m fz.dgm -n 16 -s 3 | dg-decode -m fz.dgm --raw > fe.dgt &&
	dg-sample -m fz.dgm -n 16 -s 3 | dg-decode -m fz.dgm --raw --no-ema > fr.dgt &&
	python3 maxdiff.py fe.dgt fr.dgt > fdiff
awk '{ exit !($1 > 1e-4) }' fdiff
t $? "  dg-decode normalizes the average with the averaged statistics: frozen G, EMA and raw $(cat fdiff) apart"
# a checkpoint written before (no ema/ of buffers; tests/data/checkpoint)
# samples with the running statistics and resumes, its averages starting there
old="$DG_SRC/tests/data/checkpoint/good-gan-v0-ema.dgm"
dg-info "$old" > oinfo && grep -q 'ema/G.proj.w' oinfo && ! grep -q 'ema/G.proj_bn.mean' oinfo &&
	dg-sample -m "$old" -n 8 -s 3 | dg-decode -m "$old" > old.png &&
	dg-train -q --resume "$old" -d small.dgs -o old2.dgm -e 2 &&
	dg-info old2.dgm | grep -q 'ema/G.proj_bn.mean'
t $? "  a checkpoint without them samples (with the running statistics) and resumes"
dg-train -q -p gan -d small.dgs -o k.dgm -e 1 -b 32 $small --set dsteps=3 &&
	case "$(manifest_key k.dgm phase.discriminator)" in *" steps=3 every=1") true ;; *) false ;; esac
t $? "dsteps=3: three D steps per iteration"
dg-train -q -p gan -d small.dgs -o x.dgm -b 32 $small --set loss=wgan-gp --set d_norm=batch \
	2> err; r=$?
[ $r = 64 ] && grep -q 'batch norm' err && [ ! -e x.dgm ]
t $? "wgan-gp with a batch-normed critic: 64"

# ---- stabilizers ----------------------------------------------------------------------
dg-train -q -p gan -d small.dgs -o sn.dgm -e 1 -b 32 $small --set sn=1 --set d_norm=none \
	--set loss=hinge && dg-info sn.dgm > info && grep -q 'params/D.conv1.w_u ' info &&
	grep -q 'params/D.out.w_u ' info && ! grep -q 'G.up1.w_u' info
t $? "sn=1: spectral normalization of D's layers (their w_u vectors saved)"
dg-train -q -p gan -d small.dgs -o mb.dgm -e 1 -b 32 $small --set mbstd=4 &&
	dg-info mb.dgm | grep -q 'params/D.out.w .* 1x833 '
t $? "mbstd=4: D's output sees 16+1 maps of 7x7"
dg-train -q -p gan -d small.dgs -o o.dgm -e 1 -b 32 $small --set init=orthogonal &&
	dg-train -q -p gan -d small.dgs -o ls.dgm -e 1 -b 32 $small --set smooth=0.1
t $? "init=orthogonal and smooth=0.1 train"
dg-train -q -p gan -d small.dgs -o or.dgm -e 1 -b 32 $small --set ortho=1e-4 --log or.csv &&
	dg-train -q -p gan -d small.dgs -o or2.dgm -e 1 -b 32 $small --set ortho=1e-4 \
		--set init=orthogonal --log or2.csv &&
	[ "$(head -1 or.csv)" = "epoch,step,loss_d,d_x,d_gz,loss_g,ortho,diversity,images_per_s" ] &&
	awk -F, 'NR == 2 { a = $7 } END { exit !(a > 0) }' or.csv &&
	paste -d, or.csv or2.csv | awk -F, 'NR == 2 { exit !($16 < $7 / 100) }'
t $? "ortho=1e-4: G's orthogonality penalty, far smaller from orthogonal weights ($(sed -n 2p or.csv | cut -d, -f7) vs $(sed -n 2p or2.csv | cut -d, -f7))"
dg-train -q -p gan -d small.dgs -o r1.dgm -e 2 -b 32 $small --set r1=10 --set r1_every=4 \
	--set d_norm=none --log r1.csv &&
	[ "$(head -1 r1.csv)" = "epoch,step,loss_d,d_x,d_gz,loss_g,r1,diversity,images_per_s" ] &&
	case "$(manifest_key r1.dgm phase.r1)" in "adam "*" steps=1 every=4") true ;; *) false ;; esac
t $? "r1=10: a lazy R1 phase every 4 iterations, $(sed -n 3p r1.csv)"
dg-train -q -p gan -d small.dgs -o x.dgm -b 32 $small --set loss=wgan --set smooth=0.1 2> err
[ $? = 64 ] && grep -q 'minimax, ns and lsgan' err
t $? "smooth= with a Wasserstein loss: 64"
dg-train -q -p gan -d small.dgs -o x.dgm -b 30 $small --set mbstd=4 2> err
[ $? = 64 ] && grep -q 'multiple of the group' err && [ ! -e x.dgm ]
t $? "mbstd=4 with batches of 30: 64"

# ---- the 2014 MLPs -----------------------------------------------------------------
dg-train -q -p gan -d small.dgs -o mlp.dgm -e 1 -b 32 $mlp --log mlp.csv &&
	dg-info mlp.dgm | grep -q 'params/D.fc1.w .* 48x784'
t $? "arch=mlp: maxout D (16 units of 3 pieces), $(sed -n 2p mlp.csv)"

# ---- InfoGAN's MNIST networks (fc=) ------------------------------------------------
dg-train -q -p gan -d small.dgs -o fc.dgm -e 1 -b 32 $small --set fc=24 --set info_cat=3 \
	--log fc.csv && dg-info fc.dgm > info &&
	grep -q 'params/G.fc.w .* 24x19 ' info && grep -q 'params/G.fc_bn.mean ' info &&
	grep -q 'params/G.proj.w .* 784x24 ' info && grep -q 'params/D.fc.w .* 24x784 ' info &&
	grep -q 'params/D.fc_norm.var ' info && ! grep -q 'params/D.fc.b ' info &&
	grep -q 'params/D.out.w .* 1x24 ' info && grep -q 'params/D.q_fc.w .* 128x24 ' info
t $? "fc=24: dense layers at G's input (z+cat 19 -> 24 -> 16 maps of 7x7) and D's output, Q on it, $(sed -n 2p fc.csv)"
dg-sample -m fc.dgm -n 4 --code cat=1 | dg-decode -m fc.dgm > fc.png && pngcheck -q fc.png > /dev/null
t $? "  samples to a PNG"
dg-train -q -p gan -d small.dgs -o fcn.dgm -e 1 -b 32 $small --set fc=24 --set d_norm=none &&
	dg-info fcn.dgm | grep -q 'params/D.fc.b .* 24 ' &&
	dg-train -q -p gan -d small.dgs -o fcl.dgm -e 1 -b 32 $small --set fc=24 --set loss=wgan-gp &&
	dg-info fcl.dgm | grep -q 'params/D.fc_norm.w .* 24 '
t $? "  D's fc layer takes D's norm: none (a bias), layer (wgan-gp)"
dg-train -q -p gan -d small.dgs -o x.dgm -b 32 $mlp --set fc=24 2> err
[ $? = 64 ] && grep -q 'arch=dcgan' err && [ ! -e x.dgm ]
t $? "fc= with arch=mlp: 64"

# ---- exact resume --------------------------------------------------------------------
for loss in ns wgan-gp; do
	dg-train -q -p gan -d small.dgs -o a.dgm -e 3 -b 32 $small --set loss=$loss &&
		dg-train -q -p gan -d small.dgs -o h.dgm -e 1 -b 32 $small --set loss=$loss &&
		dg-train -q --resume h.dgm -d small.dgs -o r.dgm -e 3 && same_tensors a.dgm r.dgm
	t $? "loss=$loss: 3 epochs = 1 + --resume to 3, byte for byte"
done
stab="--set r1=10 --set r1_every=3 --set d_norm=none --set sn=1 --set mbstd=4 --set ortho=1e-4"
dg-train -q -p gan -d small.dgs -o a.dgm -e 3 -b 32 $small $stab &&
	dg-train -q -p gan -d small.dgs -o h.dgm -e 1 -b 32 $small $stab &&
	dg-train -q --resume h.dgm -d small.dgs -o r.dgm -e 3 && same_tensors a.dgm r.dgm
t $? "every stabilizer at once (lazy R1 every 3, spectral norm's vectors): 3 = 1 + --resume to 3"
dg-train -q -p gan -d small.dgs -o a.dgm -e 2 -b 32 $mlp &&
	dg-train -q -p gan -d small.dgs -o h.dgm -e 1 -b 32 $mlp &&
	dg-train -q --resume h.dgm -d small.dgs -o r.dgm -e 2 && same_tensors a.dgm r.dgm
t $? "arch=mlp (dropout): 2 epochs = 1 + --resume to 2"

# ---- sampling -----------------------------------------------------------------------------
dg-sample -m ns.dgm -n 64 -s 1 | dg-decode -m ns.dgm > s.png && pngcheck -q s.png &&
	[ "$(identify -format %wx%h s.png)" = 242x242 ]
t $? "dg-sample -n 64 | dg-decode > s.png: a PNG grid of 8x8 images"
dg-sample -m ns.dgm -n 16 -s 3 | dg-decode -m ns.dgm --raw > ema.dgt &&
	dg-sample -m ns.dgm -n 16 -s 3 --no-ema | dg-decode -m ns.dgm --raw --no-ema > raw.dgt &&
	! cmp -s ema.dgt raw.dgt && dg-info ema.dgt | grep -q ' weights=ema$' &&
	dg-info raw.dgt | grep -q ' weights=raw$'
t $? "  the EMA by default, the trained weights with --no-ema, each saying which (weights=)"
cat > absmax.py <<'EOF'
import sys
from dgstream import all_values
print("%.4f" % max(abs(x) for x in all_values(sys.argv[1])))
EOF
dg-sample -m ns.dgm -n 100 -s 2 --truncation 0.7 > tr.dgt &&
	dg-sample -m ns.dgm -n 100 -s 2 --truncation 0.7 | cmp -s - tr.dgt &&
	dg-info tr.dgt | grep -q ' truncation=0.7$' &&
	awk '{ exit !($1 <= 0.7) }' "$(python3 absmax.py tr.dgt > m && echo m)" &&
	dg-decode -m ns.dgm < tr.dgt > tr.png && pngcheck -q tr.png
t $? "dg-sample --truncation 0.7: codes within 0.7 ($(cat m)), the same for the same seed, decoded"
dg-sample -m mlp.dgm -n 4 | dg-decode -m mlp.dgm > m.png && pngcheck -q m.png
t $? "  and from the MLP"

# ---- other sizes ----------------------------------------------------------------------------
if command -v convert > /dev/null; then
	mkdir rgb && for i in 0 1 2 3 4 5 6 7; do convert -size 32x32 -seed $i plasma: rgb/$i.png; done &&
		convert -size 5x5 xc:gray five.png && dg-encode rgb/*.png > rgb.dgs &&
		dg-encode five.png > five.dgs || { echo "Bail out! cannot make images"; exit 1; }
	dg-train -q -p gan -d rgb.dgs -o rgb.dgm -e 1 -b 4 $small && dg-info rgb.dgm > info &&
		grep -q 'params/G.proj.w .* 512x16 ' info && grep -q 'params/G.up3.w .* 8x3x4x4 ' info &&
		dg-sample -m rgb.dgm -n 4 | dg-decode -m rgb.dgm > rgb.png && pngcheck -q rgb.png
	t $? "3x32x32 images: three stride-2 layers from 4x4 maps, RGB samples"
	dg-train -q -p gan -d five.dgs -o x.dgm -b 1 2> err
	[ $? = 64 ] && grep -q 'sides b\*2^depth' err
	t $? "5x5 images: 64, arch=dcgan needs sides b*2^depth"
fi

# ---- vulkan --------------------------------------------------------------------------------
if dg-info --devices 2> /dev/null | grep -q vulkan; then
	dg-encode fashion-mnist --limit 64 > tiny.dgs &&
		dg-train -q -p gan -d tiny.dgs -o v.dgm -e 1 -b 32 --set ngf=4 --set ndf=4 \
			--set latent=8 --device vulkan --log v.csv &&
		dg-sample -m v.dgm -n 4 | dg-decode -m v.dgm > v.png && pngcheck -q v.png
	t $? "on vulkan: one epoch and samples, $(sed -n 2p v.csv)"
	dg-train -q -p gan -d tiny.dgs -o vf.dgm -e 1 -b 32 --set ngf=4 --set ndf=4 \
		--set latent=8 --device vulkan --lr generator=1e-12 2>/dev/null &&
		dg-sample -m vf.dgm -n 8 -s 3 | dg-decode -m vf.dgm --raw --device vulkan > ve.dgt &&
		dg-sample -m vf.dgm -n 8 -s 3 | dg-decode -m vf.dgm --raw --device vulkan --no-ema > vr.dgt &&
		python3 maxdiff.py ve.dgt vr.dgt > vdiff && awk '{ exit !($1 > 1e-6) }' vdiff
	# (two steps of a tiny G: 7e-5 apart; 0 when only weights were averaged)
	t $? "  on vulkan G's batch-norm statistics are averaged: frozen G, EMA and raw $(cat vdiff) apart"
fi

echo "1..$n"
exit $fail
