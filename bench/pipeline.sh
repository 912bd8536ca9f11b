#!/bin/sh
# bench/pipeline.sh — the whole-process cost of
#   dg-sample -m vae.dgm -n 64 | dg-decode -m vae.dgm > x.png
# timed by hyperfine (medians), beside its parts: a process that only
# starts (dynamic loading), each tool alone, and the same pipeline on a
# gzip'd checkpoint.  The model is the default MLP VAE (784-400-20, the
# shape of torch_sample.py's decoder) trained once for one epoch on 1024
# images, written with --plain (uncompressed) and, for comparison, gzip'd
# as dg-train writes by default.  Called by run.sh; also runs alone with
# the tools on PATH.  Prints `name value ms # note` lines; the one that
# run.sh's ratio uses is dg.sample.process.
#
# Environment: BENCH_REPEATS_PIPELINE (runs per figure, default 21: a run
# takes 20 ms, and the median of 7 moved by 2-3 ms between runs), TMPDIR.
set -u
runs=${BENCH_REPEATS_PIPELINE:-21}
dir=$(mktemp -d "${TMPDIR:-/tmp}/dg-pipeline.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM

if ! command -v hyperfine > /dev/null 2>&1 || ! command -v jq > /dev/null 2>&1; then
	echo "# hyperfine or jq missing: no pipeline figures"
	exit 0
fi
# the cpu device whatever the machine has: the figure is about start-up
DG_DEVICE=${DG_DEVICE:-cpu}
export DG_DEVICE
if ! dg-train -p vae -d fashion-mnist --limit 1024 --epochs 1 --seed 1 --plain -q \
	-o "$dir/vae.dgm" 2> "$dir/err"; then
	echo "# no model to time (dg-train: $(head -c 200 "$dir/err"))"
	exit 0
fi
gzip -1 -n < "$dir/vae.dgm" > "$dir/vae-gz.dgm"
dg-sample -m "$dir/vae.dgm" -n 64 > "$dir/z.dgs"

# time NAME NOTE COMMAND: one hyperfine figure, median in ms
time_it() {
	name=$1 note=$2
	shift 2
	hyperfine -N --warmup 2 --runs "$runs" --export-json "$dir/t.json" "$@" \
		> /dev/null 2>&1 || { echo "# $name: hyperfine failed"; return; }
	# CPU time (user + system, mean) beside the wall-clock median: on a
	# shared machine the wall clock mostly measures waiting for a core
	jq -r --arg n "$name" --arg note "$note" '.results[0] |
		"\($n) \(.median * 1000) ms \(.min * 1000) \((.user + .system) * 1000) \(.times | length) \($note)"' \
		"$dir/t.json" | awk '{ printf "%-34s %10.2f %-8s # min %.1f, cpu %.1f ms, %d runs;", $1, $2, $3, $4, $5, $6
			$1 = $2 = $3 = $4 = $5 = $6 = ""; sub(/^ +/, " "); print $0 }'
}

echo "# $(cut -d' ' -f1-3 /proc/loadavg) load; checkpoint $(wc -c < "$dir/vae.dgm") bytes plain, $(wc -c < "$dir/vae-gz.dgm") gzip'd"
time_it dg.process.start "dg-sample --version: exec + dynamic loading" \
	"dg-sample --version"
time_it dg.sample.alone "dg-sample -n 64, plain checkpoint, to a file" \
	--output "$dir/z2.dgs" "dg-sample -m $dir/vae.dgm -n 64"
time_it dg.decode.alone "dg-decode -m of 64 latents to PNG, plain checkpoint" \
	"sh -c 'dg-decode -m $dir/vae.dgm < $dir/z.dgs > $dir/x.png'"
time_it dg.sample.process.gzip "the pipeline on the gzip'd checkpoint" \
	"sh -c 'dg-sample -m $dir/vae-gz.dgm -n 64 | dg-decode -m $dir/vae-gz.dgm > $dir/x.png'"
time_it dg.sample.process "dg-sample -n 64 | dg-decode -m > x.png, plain" \
	"sh -c 'dg-sample -m $dir/vae.dgm -n 64 | dg-decode -m $dir/vae.dgm > $dir/x.png'"
