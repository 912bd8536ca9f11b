#!/bin/sh
# mpi.t — dg-train under mpirun (run by make check in a build with MPI):
# 1, 2 and 4 ranks train byte-identical models (an MLP VAE, and a DCGAN
# whose batch norms keep running statistics), also across a --resume that
# changes the number of ranks; --mpi-fast trains; bad --shards are usage
# errors; a killed rank stops the whole job promptly, naming it; SIGINT
# to mpirun saves the checkpoint.
n=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
echo 1..16
# one thread per rank: 4 ranks on a small machine
export OMP_NUM_THREADS=1 DG_THREADS=1 DG_DEVICE=cpu
# shared-memory transfers by plain copies: a container (CI) may forbid
# the cross-process reads (ptrace) of Open MPI's default single copy
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# under SANITIZE=1: Open MPI's own leaks at exit are not dg's
LSAN_OPTIONS="suppressions=$DG_SRC/tests/data/mpi/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
mpirun="mpirun --oversubscribe --allow-run-as-root --bind-to none"
mpi() { $mpirun "$@"; }
# a watchdog: if job $1 still runs after $2 seconds, it and its ranks
# are killed (a hang fails the test instead of blocking it); it ends
# within a second of the job
watchdog() {
	(
		i=0
		while [ $i -lt "$2" ] && kill -0 "$1"; do sleep 1; i=$((i + 1)); done
		kill -0 "$1" && { pkill -9 -P "$1"; kill -9 "$1"; }
	) 2> /dev/null &
}
dg-encode fashion-mnist --limit 256 > "$tmp/small.dgs" || { echo "Bail out! no data"; exit 1; }
cd "$tmp" || exit 1
vae="-p vae -d small.dgs -b 32 --seed 1 -q"

# ---- byte-identical across rank counts --------------------------------------
for np in 1 2 4; do
	mpi -np $np dg-train $vae -e 2 -o v$np.dgm 2> err$np || { echo "# np $np:"; sed 's/^/#   /' err$np; }
done
same_tensors v1.dgm v2.dgm
t $? "vae: 2 ranks train the model 1 rank trains, byte for byte"
same_tensors v1.dgm v4.dgm
t $? "vae: 4 ranks too"
[ "$(manifest_key v1.dgm train.shards)" = 8 ]
t $? "the checkpoint records the shards (8 by default)"

# shards that do not split evenly: 3 ranks hold shards [0,2), [2,5) and
# [5,8) of 8, sent as the tree's nodes (0,2); (2,4), (4,5); (5,6), (6,8)
odd="-p vae -d small.dgs -b 64 --seed 1 -q -e 1"
mpi -np 1 dg-train $odd -o o1.dgm 2> err && mpi -np 3 dg-train $odd -o o3.dgm 2>> err || sed 's/^/#   /' err
same_tensors o1.dgm o3.dgm
t $? "8 shards over 3 ranks (2, 3, 3 each) as over 1"

# a run cut after epoch 1 with 2 ranks, continued with 4 (and with 1)
mpi -np 2 dg-train $vae -e 1 -o r.dgm 2> err && mpi -np 4 dg-train --resume r.dgm -d small.dgs -e 2 -o r4.dgm -q 2>> err &&
	mpi -np 1 dg-train --resume r.dgm -d small.dgs -e 2 -o r1.dgm -q 2>> err || sed 's/^/#   /' err
same_tensors v1.dgm r4.dgm
t $? "--resume with 4 ranks of a 2-rank run: the uninterrupted model"
same_tensors v1.dgm r1.dgm
t $? "--resume with 1 rank of a 2-rank run: the same"

# batch norms' running statistics (buffers), two phases, weight averages
gan="-p gan -s ngf=8 -s ndf=8 -s latent=16 -d small.dgs -b 32 --seed 2 -e 1 -q"
mpi -np 1 dg-train $gan -o g1.dgm 2> err && mpi -np 2 dg-train $gan -o g2.dgm 2>> err || sed 's/^/#   /' err
same_tensors g1.dgm g2.dgm
t $? "dcgan (batch norm, EMA): 2 ranks as 1"

# snapshots are rank 0's, and change nothing
mpi -np 2 dg-train $vae -e 2 --snapshot snap -o sn.dgm 2> err || sed 's/^/#   /' err
same_tensors v1.dgm sn.dgm && [ -s snap/samples-0002.png ] && [ -s snap/recon-0002.png ]
t $? "--snapshot under mpirun: pictures, the same model"

# ---- the fast path and usage -------------------------------------------------
mpi -np 2 dg-train $vae -e 1 --mpi-fast -o f.dgm 2> err && dg-info f.dgm > /dev/null
t $? "--mpi-fast trains a model"
mpi -np 2 dg-train $vae -e 1 --shards 5 -o x.dgm > out 2> err
st=$?
[ $st != 0 ] && grep -q "not a multiple of 5 shards" err && [ ! -e x.dgm ]
t $? "--shards that do not divide the batch: refused ($st)"
mpi -np 4 dg-train $vae -e 1 --shards 2 -o x.dgm > out 2> err
[ $? != 0 ] && grep -q "4 ranks for 2 shards" err && [ ! -e x.dgm ]
t $? "fewer shards than ranks: refused"
# a plain run (no mpirun) is not sharded: no train.shards in its checkpoint
dg-train $vae -e 1 -o p.dgm && [ -z "$(manifest_key p.dgm train.shards)" ]
t $? "outside mpirun, dg-train trains as it always has"

# ---- failures and signals ----------------------------------------------------
# a rank killed mid-training: the job ends at once (not a hang), non-zero
$mpirun -np 2 dg-train $vae -e 100000 -o k.dgm > out 2> err &
job=$!
watchdog $job 60
i=0
while [ $i -lt 100 ] && [ "$(pgrep -P $job -c dg-train)" != 2 ]; do sleep 0.1; i=$((i + 1)); done
sleep 2
victim=
for p in $(pgrep -P $job dg-train); do
	tr '\0' '\n' < /proc/$p/environ | grep -qx OMPI_COMM_WORLD_RANK=1 && victim=$p
done
kill -9 $victim
start=$(date +%s)
wait $job
st=$?
took=$(($(date +%s) - start))
[ -n "$victim" ] && [ $st != 0 ] && [ $took -lt 25 ]
t $? "a killed rank stops the job (status $st after ${took}s)"
grep -q "rank 1 .*exited on signal 9" err
t $? "mpirun names the rank"
[ -z "$(pgrep -P $job)" ] && ! pgrep -f "dg-train $vae -e 100000" > /dev/null
t $? "no rank is left running"

# SIGINT to mpirun: Open MPI sends SIGTERM to the ranks after its
# odls_base_sigkill_timeout, and SIGKILL as long again after that
$mpirun --mca odls_base_sigkill_timeout 8 -np 2 dg-train $vae -e 100000 --log log.csv -o s.dgm > out 2> err &
job=$!
watchdog $job 60
i=0
while [ $i -lt 300 ] && [ "$(cat log.csv 2> /dev/null | wc -l)" != 3 ]; do sleep 0.1; i=$((i + 1)); done
kill -INT $job
wait $job
st=$?
step=$(manifest_key s.dgm step)
grep -q "rank 0 of 2): terminated: checkpoint saved to s.dgm" err && [ "${step:-0}" -ge 16 ] &&
	mpi -np 1 dg-train --resume s.dgm -d small.dgs -e $((step / 8 + 1)) -o s2.dgm -q 2> err2
t $? "SIGINT to mpirun: saved after step $step (status $st), and it resumes"
