#!/bin/sh
# toygan.t — plugin ABI 2 through an out-of-tree GAN on 2-D points
# (tests/data/plugin/toygan.c): two networks trained by phases of their
# own, each with the family's optimizer and rate (saved, resumed, set by
# --lr PHASE=X), k critic steps on fresh batches, a lazy R1 phase every N
# iterations, an EMA of the generator that the inference tools use unless
# --no-ema, and, in toygan2, a paired and an unpaired data input.  Every
# resume is checked byte for byte against the run that did not stop, on
# cpu and on vulkan.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
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
for v in "toygan" "toygan2 -DTOYGAN_INPUTS -DTOYGAN_NAME=\"toygan2\""; do
	set -- $v
	name=$1; shift
	${CC:-cc} -std=c11 -Wall -Wextra -Werror -shared -fPIC -I"$DG_SRC/libcore/include" "$@" \
		-o "$tmp/dg-$name.so" "$DG_SRC/tests/data/plugin/toygan.c" -L"$DG_BUILD/lib" -ldg \
		-Wl,-rpath,"$DG_BUILD/lib" || { echo "Bail out! cannot build $name"; exit 1; }
done
DG_PLUGIN_PATH=$tmp${DG_PLUGIN_PATH:+:$DG_PLUGIN_PATH}
export DG_PLUGIN_PATH
stool="python3 $DG_SRC/tests/data/png/streamtool.py"
cd "$tmp" || exit 1
$stool points 640 1 > p.dgt && $stool points 640 1 flip > q.dgt && $stool points 300 2 > b.dgt ||
	{ echo "Bail out! no points"; exit 1; }

# ---- two phases, k critic steps, a lazy phase, EMA --------------------------------
# 640 points in batches of 64: 10 batches an epoch, 3 per iteration (the
# critic's 3 steps), so epochs end inside iterations.
opts="-b 64 --set critic_steps=3 --set r1_every=4 --set ema=0.9 --seed 5"
dg-train -p toygan -d p.dgt -o a.dgm -e 4 $opts --log a.csv 2> err
t $? "dg-train -p toygan: critic (3 steps), generator and lazy r1 phases, 4 epochs"
[ "$(head -1 a.csv)" = "epoch,step,d_loss,g_loss,r1,images_per_s" ] && [ "$(wc -l < a.csv)" = 5 ]
t $? "  the log has each phase's terms"
case "$(manifest_key a.dgm phase.critic)" in "adam schedule=constant lr=0.00200000009 beta1=0.5 "*" steps=3 every=1") r=0 ;; *) r=1 ;; esac
t $? "  phase.critic: the family's Adam, lr 2e-3, 3 steps"
case "$(manifest_key a.dgm phase.generator)" in "adam schedule=constant lr=0.00100000005 "*"ema_decay=0.899999976 "*) r=0 ;; *) r=1 ;; esac
t $? "  phase.generator: its own rate (1e-3) and EMA decay"
case "$(manifest_key a.dgm phase.r1)" in *" every=4") r=0 ;; *) r=1 ;; esac
t $? "  phase.r1: every 4 iterations"
[ "$(manifest_key a.dgm step)" = 14 ] && [ "$(manifest_key a.dgm epoch)" = 4 ] &&
	[ "$(manifest_key a.dgm train.batch_index)" = 2 ]
t $? "  14 iterations: 42 batches drawn, 4 epochs of 10 and 2 of the fifth"
dg-info a.dgm > info && grep -q 'ema/G.fc1.w' info && grep -q 'ema/G.out.b' info &&
	! grep -q 'ema/D\.' info && grep -q 'optim/D.fc1.w.m.u' info
t $? "  members: ema/ for G only; r1 keeps Adam moments of its own"

# ---- exact resume --------------------------------------------------------------------
dg-train -q -p toygan -d p.dgt -o h.dgm -e 2 $opts &&
	dg-train -q --resume h.dgm -d p.dgt -o r.dgm -e 4 && same_tensors a.dgm r.dgm
t $? "4 epochs = 2 epochs + --resume to 4, byte for byte (family rates, across an iteration)"
[ "$(cut -d, -f1-5 a.csv)" = "$(tar xzOf r.dgm log.csv | cut -d, -f1-5)" ]
t $? "  and the same log"
dg-train -q -p toygan -d p.dgt -o c4.dgm -e 4 $opts --lr critic=0.004 &&
	dg-train -q -p toygan -d p.dgt -o c2.dgm -e 2 $opts --lr critic=0.004 &&
	dg-train -q --resume c2.dgm -d p.dgt -e 4 && same_tensors c4.dgm c2.dgm
t $? "--lr critic=0.004: 4 epochs = 2 + --resume to 4 (the rate is saved)"
case "$(manifest_key c2.dgm phase.critic)" in *" lr=0.00400000019 "*) r=0 ;; *) r=1 ;; esac
[ $r = 0 ] && case "$(manifest_key c2.dgm phase.generator)" in *" lr=0.00100000005 "*) r=0 ;; *) r=1 ;; esac
t $? "  phase.critic has 4e-3, the generator keeps its own"
! same_tensors a.dgm c4.dgm > /dev/null
t $? "  and the rate matters"
dg-train -q -p toygan -d p.dgt -o l4.dgm -e 2 $opts --lr 0.0005 &&
	case "$(manifest_key l4.dgm phase.generator)" in *" lr=0.000500000024 "*) true ;; *) false ;; esac &&
	case "$(manifest_key l4.dgm phase.r1)" in *" lr=0.000500000024 "*) true ;; *) false ;; esac
t $? "--lr X sets every phase"
fails 64 dg-train -p toygan -d p.dgt -o x.dgm $opts --lr gen=0.1 &&
	grep -q "no phase 'gen' (its phases: critic, generator, r1)" err
t $? "--lr of an unknown phase: 64, listing the phases"
fails 64 dg-train -p toygan -d p.dgt -o x.dgm --lr critic=fast
t $? "--lr PHASE=X with a bad rate: 64"

dg-train -q -p toygan -d p.dgt -o v4.dgm -e 4 $opts --device vulkan &&
	dg-train -q -p toygan -d p.dgt -o v2.dgm -e 2 $opts --device vulkan &&
	dg-train -q --resume v2.dgm -d p.dgt -e 4 --device vulkan && same_tensors v4.dgm v2.dgm
t $? "on vulkan: 4 epochs = 2 + --resume to 4, byte for byte"

# ---- the generator's average in the inference tools -------------------------------------
dg-sample -m a.dgm -n 16 -s 3 | dg-decode -m a.dgm --raw > ema.dgt &&
	dg-sample -m a.dgm -n 16 -s 3 --no-ema | dg-decode -m a.dgm --raw --no-ema > raw.dgt &&
	! cmp -s ema.dgt raw.dgt
t $? "dg-sample | dg-decode use the EMA by default, the trained weights with --no-ema"
dg-train -q -p toygan -d p.dgt -o ne.dgm -e 1 -b 64 &&
	dg-sample -m ne.dgm -n 16 | dg-decode -m ne.dgm --raw > e1.dgt &&
	dg-sample -m ne.dgm -n 16 | dg-decode -m ne.dgm --raw --no-ema > e2.dgt && cmp -s e1.dgt e2.dgt &&
	! dg-info ne.dgm | grep -q 'ema/'
t $? "  a model without an average: no ema/ members, --no-ema changes nothing"
dg-decode -m a.dgm < ema.dgt > /dev/null 2> err; r=$?
[ $r = 65 ]
t $? "  image records are not codes for dg-decode -m (65)"

# ---- more inputs: a paired set and an unpaired one -------------------------------------------
dg-train -p toygan2 --help > out && grep -q '^  x2  *paired with each image, 1 - x' out &&
	grep -q '^  b  *a set of its own' out
t $? "-p toygan2 --help lists its inputs"
dg-train -q -p toygan2 -d p.dgt -d x2=q.dgt -d b=b.dgt -o i.dgm -e 2 -b 64 --log i.csv
t $? "dg-train -d p -d x2=q -d b=b: three data sets"
awk -F, 'NR > 1 && $4 != 0 { bad = 1 } END { exit bad }' i.csv
t $? "  x2 arrives paired with x (pair_err 0 in every epoch)"
awk -F, 'NR > 1 && !($5 > 0.2 && $5 < 0.8) { bad = 1 } END { exit bad }' i.csv
t $? "  and b is fed (its mean near 1/2)"
[ "$(manifest_key i.dgm input.x2)" = 1x1x2 ] && [ "$(manifest_key i.dgm input.b)" = 1x1x2 ] &&
	case "$(manifest_key i.dgm train.input.b)" in *:*) true ;; *) false ;; esac
t $? "  the manifest has their shapes and b's position"
dg-train -q -p toygan2 -d p.dgt -d q.dgt -d b.dgt -o j.dgm -e 2 -b 64 && same_tensors i.dgm j.dgm
t $? "  -d in the family's order does the same"
dg-train -q -p toygan2 -d p.dgt -d b=b.dgt -d x2=q.dgt -o j2.dgm -e 2 -b 64 && same_tensors i.dgm j2.dgm
t $? "  and so do named inputs in another order"
dg-train -q -p toygan2 -d p.dgt -d x2=q.dgt -d b=b.dgt -o k1.dgm -e 1 -b 64 &&
	dg-train -q --resume k1.dgm -d p.dgt -d x2=q.dgt -d b=b.dgt -e 2 && same_tensors i.dgm k1.dgm
t $? "  and resumes exactly"
fails 64 dg-train -p toygan2 -d p.dgt -o x.dgm -b 64 && grep -q 'needs data for its input x2' err
t $? "a missing input: 64, naming it"
fails 65 dg-train -p toygan2 -d p.dgt -d x2=b.dgt -d b=q.dgt -o x.dgm -b 64 &&
	grep -q 'paired one to one' err
t $? "a paired input of another count: 65"
fails 64 dg-train --resume k1.dgm -d p.dgt -e 2 && grep -q 'needs data for its input x2' err
t $? "--resume without the inputs: 64"
fails 64 dg-train -p toygan -d p.dgt -d q.dgt -o x.dgm
t $? "a second -d for a family without inputs: 64"
[ ! -e x.dgm ]
t $? "no checkpoint left behind by failures"

echo "1..$n"
exit $fail
