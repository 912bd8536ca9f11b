#!/bin/sh
# dg-train-safety.t — a run is never lost: periodic checkpoints that a
# run killed with kill -9 resumes from exactly; SIGHUP saves like SIGINT;
# a failing --log is a warning; outputs that are not dg's to replace are
# refused before training; hostile manifests (a model claimed far larger
# than its tensors, positions past the run) are refused at once, in
# bounded memory.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
fails() {
	want=$1; shift
	"$@" > "$tmp/out" 2> "$tmp/err"
	st=$?
	[ $st = "$want" ] && grep -q '^dg-train: ' "$tmp/err" && [ ! -s "$tmp/out" ]
	r=$?
	[ $r = 0 ] || { echo "# status $st, stderr:"; sed 's/^/#   /' "$tmp/err"; }
	return $r
}
# waits (up to ~60 s) for a line matching $2 in file $1; on a timeout
# the training process $3 is killed, so that a failure cannot hang the test
wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2> /dev/null; do
		i=$((i + 1))
		[ $i -gt 1200 ] && { echo "# timed out waiting for $2 in $1"; kill -9 "$3"; return 1; }
		sleep 0.05
	done
}
if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
cd "$tmp" || exit 1
dg-encode fashion-mnist --limit 320 > small.dgt || { echo "Bail out! no data"; exit 1; }
train="-p vae --set hidden=32 -d small.dgt -b 32 --seed 4"

# ---- kill -9, resumed, three times: the same model as a run never killed --------
dg-train -q $train -o straight.dgm -e 12
t $? "12 epochs straight"
run="$train -o k.dgm"
for k in 1 2 3; do
	dg-train -q $run -e 12 --save-every 1e --log k$k.csv 2> /dev/null &
	pid=$!
	wait_for k$k.csv "^$((3 * k))," $pid
	kill -9 $pid
	wait $pid 2> /dev/null
	ep=$(manifest_key k.dgm epoch)
	[ -n "$ep" ] && [ "$ep" -ge $((3 * k - 1)) ]
	t $? "kill -9 number $k after epoch $((3 * k)): the checkpoint has epoch $ep (at most one interval lost)"
	run="--resume k.dgm -d small.dgt"
done
sleep 3   # the killed saves' temporaries are now old enough to be cleaned
dg-train -q --resume k.dgm -d small.dgt -e 12 && same_tensors straight.dgm k.dgm
t $? "resumed after the third kill to 12 epochs: byte for byte the run never killed"
[ "$(find . -name '.k.dgm.*' | wc -l)" = 0 ]
t $? "no temporary of a killed save left behind"

# ---- SIGHUP saves like SIGINT ---------------------------------------------------
dg-train $train -o hup.dgm -e 1000000 --log hup.csv 2> err &
pid=$!
wait_for hup.csv '^1,' $pid && kill -HUP $pid
wait $pid
st=$?
[ $st = 129 ] && dg-info hup.dgm > /dev/null && grep -q 'hung up: checkpoint saved to hup.dgm' err
t $? "SIGHUP: status 129, a valid checkpoint, and it says so ($st)"

# ---- the log is secondary -------------------------------------------------------------
mkdir logs
dg-train $train -o lg.dgm -e 1000000 --log logs/l.csv --save-every 0 2> err &
pid=$!
# (rm races with the log's next temporary, written every few milliseconds:
# "Directory not empty" on a loaded machine, so rm until the folder is gone)
wait_for logs/l.csv '^1,' $pid
i=0
while [ -d logs ] && [ $i -lt 400 ]; do rm -rf logs 2> /dev/null; i=$((i + 1)); done
sleep 1
kill -INT $pid
wait $pid
st=$?
[ $st = 130 ] && dg-info lg.dgm > /dev/null && grep -q 'warning: --log: .*(training goes on)' err
t $? "a log folder removed during training: a warning, the checkpoint saved ($st)"

# ---- outputs that are not dg-train's to replace ------------------------------------
fails 64 dg-train $train -o /dev/null -e 1 && [ -c /dev/null ] && grep -q 'not a regular file' err
t $? "-o /dev/null: refused, the device left alone"
ln -s lg.dgm link.dgm
fails 64 dg-train $train -o link.dgm -e 1 && [ -L link.dgm ]
t $? "-o a symbolic link: refused"
fails 64 dg-train $train -o small.dgt -e 1 && dg-info small.dgt > /dev/null &&
	grep -q 'an input of this run\|not a dg checkpoint' err
t $? "-o the training data: refused, the data intact"
printf 'my notes\n' > notes.txt
fails 64 dg-train $train -o notes.txt -e 1 && [ "$(cat notes.txt)" = "my notes" ]
t $? "-o an existing file that is not a checkpoint: refused"
mkdir adir
fails 64 dg-train $train -o adir -e 1
t $? "-o a folder: refused before training"
fails 64 dg-train --resume lg.dgm -d small.dgt -e 9 --log lg.dgm && dg-info lg.dgm > /dev/null
t $? "--log onto the checkpoint being resumed: refused"
fails 64 dg-train $train -o x.dgm --log x.dgm -e 1
t $? "--log onto -o: refused"
fails 73 dg-train $train -o nodir/x.dgm -e 1 && grep -q 'cannot write in nodir' err
t $? "-o in a missing folder: refused before training (73)"

# ---- hostile manifests ----------------------------------------------------------------
ck="python3 $DG_SRC/tests/ckedit.py"
$ck lg.dgm big.dgm hparam.hidden=65536
# the peak resident memory of a command, in KB, into rss (its status kept)
peak() {
	python3 -c 'import resource, subprocess, sys
st = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=open("err", "w")).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(st)' "$@" > rss
}
peak dg-train --resume big.dgm -d small.dgt -e 99
st=$?
[ $st = 65 ] && grep -q 'enc.fc1.w is f32 32x784, the model built from its hyperparameters wants f32 65536x784' err &&
	[ "$(cat rss)" -lt 400000 ]
t $? "a manifest claiming hidden=65536: refused (65) in $(cat rss) KB, before any allocation"
$ck lg.dgm bi.dgm train.batch_index=18446744073709551615
fails 65 dg-train --resume bi.dgm -d small.dgt -e 99 && grep -q 'not a position of this run' err
t $? "train.batch_index = 2^64-1: refused"
$ck lg.dgm step.dgm step=18446744073709551615
fails 65 dg-train --resume step.dgm -d small.dgt -e 99
t $? "step = 2^64-1: refused"
dg-sample -m big.dgm -n 1 > /dev/null 2> err; st=$?
[ $st = 65 ]
t $? "the same file refused by dg-sample ($st)"

echo "1..$n"
exit $fail
