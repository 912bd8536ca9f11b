#!/bin/sh
# tests/kill-resume.sh — the long form of dg-train-safety.t's kill test,
# run by hand (a few minutes): a run is killed with kill -9 at random
# moments KILLS times (default 20) and resumed each time; at the end its
# tensors must equal those of a run that was never killed, byte for byte,
# and each kill may have lost at most one save interval (--save-every 1e).
# Prints TAP.  Needs the tools on PATH (make check's environment, or
# PATH=build/bin:$PATH DG_PLUGIN_PATH=build/lib/dg).
set -u
kills=${KILLS:-20}
epochs=${EPOCHS:-80}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
tmp=$tmp . "$here/lib.sh"
cd "$tmp" || exit 1
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
dg-encode fashion-mnist --limit 640 > data.dgt || exit 1
train="-p vae --set hidden=64 -d data.dgt -b 32 --seed 11"
dg-train -q $train -o straight.dgm -e $epochs
t $? "$epochs epochs straight"
run="$train -o k.dgm"
for k in $(seq 1 "$kills"); do
	dg-train -q $run -e $epochs --save-every 1e --log log.csv 2> /dev/null &
	pid=$!
	# a random moment: 0.2 to 2 s into the run
	sleep "$(awk -v s="$k" 'BEGIN { srand(s * 7919); printf "%.2f", 0.2 + 1.8 * rand() }')"
	last=$(tail -n +2 log.csv 2> /dev/null | tail -1 | cut -d, -f1)
	kill -9 $pid 2> /dev/null
	wait $pid 2> /dev/null
	ep=$(manifest_key k.dgm epoch 2> /dev/null)
	[ -n "$ep" ] && [ "$ep" -ge "$(( ${last:-0} - 1 ))" ]
	t $? "kill $k: the log had reached epoch ${last:-0}, the checkpoint has epoch ${ep:-none}"
	[ -s k.dgm ] && run="--resume k.dgm -d data.dgt"
	[ "${ep:-0}" -ge "$epochs" ] && break
done
dg-train -q --resume k.dgm -d data.dgt -e $epochs 2> /dev/null
same_tensors straight.dgm k.dgm
t $? "after the kills, resumed to $epochs epochs: byte for byte the run never killed"
echo "1..$n"
