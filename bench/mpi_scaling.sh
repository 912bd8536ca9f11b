#!/bin/sh
# bench/mpi_scaling.sh — dg-train data-parallel on one machine: for the
# MLP VAE, the conv VAE and the DCGAN, a plain run and mpirun with 1, 2
# and 4 ranks (exact shards, and --mpi-fast), ranks × threads = CORES
# (OMP_NUM_THREADS and DG_THREADS = CORES / ranks, at least 1), each the
# median epoch rate of epochs 2-4 from rank 0's log, with rank 0's
# seconds computing and combining gradients, and each model's parameter
# count (the gradient floats a step exchanges).  Not part of make bench:
# it needs Open MPI and several minutes.  Prints one line per run.
#
# Environment: CORES (default: the online processors), N (images per
# epoch, default 4096), EPOCHS (4); the tools on PATH.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-mpi.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
cores=${CORES:-$(getconf _NPROCESSORS_ONLN)}
n=${N:-4096}
epochs=${EPOCHS:-4}
export DG_DEVICE=cpu OMP_WAIT_POLICY=passive
dg-encode fashion-mnist --limit "$n" > "$dir/data.dgs" || exit 1
here=$(dirname "$0")

# run NAME RANKS ARGS...: RANKS 0 is a plain run
run() {
	label=$1 np=$2
	shift 2
	th=$((cores / (np > 0 ? np : 1)))
	[ $th -ge 1 ] || th=1
	rm -f "$dir/log.csv"
	if [ "$np" = 0 ]; then
		OMP_NUM_THREADS=$th DG_THREADS=$th dg-train "$@" -d "$dir/data.dgs" -e "$epochs" \
			--seed 1 --log "$dir/log.csv" -o "$dir/m.dgm" > /dev/null 2> "$dir/err"
	else
		OMP_NUM_THREADS=$th DG_THREADS=$th mpirun --oversubscribe --allow-run-as-root \
			--bind-to none -x OMP_NUM_THREADS -x DG_THREADS -np "$np" \
			dg-train "$@" -d "$dir/data.dgs" -e "$epochs" --seed 1 \
			--log "$dir/log.csv" -o "$dir/m.dgm" > /dev/null 2> "$dir/err"
	fi
	set -- $(awk -f "$here/epoch_median.awk" "$dir/log.csv" 2> /dev/null)
	times=$(sed -n 's/.*computed its shards. gradients for \([0-9.]*\) s and combined them with the others. for \([0-9.]*\) s/\1 \2/p' "$dir/err")
	params=$(dg-info "$dir/m.dgm" 2> /dev/null | sed -n 's/.*total parameters (params\/): //p')
	printf "%-22s ranks %d threads %d  %8s images/s  compute/combine s %-12s params %s\n" \
		"$label" "$np" "$th" "${1:-?}" "${times:--}" "${params:-?}"
}

for model in "vae-mlp:-p vae" "vae-conv:-p vae -s arch=conv" "dcgan:-p gan -b 64"; do
	name=${model%%:*}
	args=${model#*:}
	run "$name plain" 0 $args
	for np in 1 2 4; do
		run "$name exact" $np $args
	done
	run "$name fast" 2 $args --mpi-fast
done
