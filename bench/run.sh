#!/bin/sh
# bench/run.sh — runs every C benchmark ($DG_BUILD/bench/b_*) and, when
# Debian's python3-torch is installed, the PyTorch peers, then prints the
# dg/PyTorch ratios from this one run.  Called by `make bench`; the numbers
# and what they mean are kept in bench/RESULTS.md.
#
# Environment: DG_BUILD (set by make), DG_THREADS (threads for both sides,
# default 2), BENCH_REPEATS (timed samples per figure, default 7; medians
# are reported), PYTHON (default /usr/bin/python3: Debian's torch is not
# visible to other interpreters).
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${DG_BUILD:?DG_BUILD must name the build directory (make bench sets it)}
DG_THREADS=${DG_THREADS:-2}
# libgomp (oneDNN's and PyTorch's OpenMP) spins actively at barriers by
# default; on a shared machine a descheduled partner thread then costs
# 3-5x (measured, see RESULTS.md).  Passive waiting is the robust default
# for both sides; set OMP_WAIT_POLICY=active to measure an idle machine.
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export DG_THREADS OMP_WAIT_POLICY
PYTHON=${PYTHON:-/usr/bin/python3}
out=$(mktemp "${TMPDIR:-/tmp}/dg-bench.XXXXXX")
trap 'rm -f "$out" "$out.png"' EXIT INT TERM

echo "# dg benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, DG_THREADS=$DG_THREADS OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared: compare medians and bests)"
status=0
for b in "$build"/bench/b_*; do
	[ -x "$b" ] || continue
	echo "## $(basename "$b")"
	"$b" | tee -a "$out" || status=1
done

if "$PYTHON" -c 'import torch' 2>/dev/null; then
	# Debian's torch calls libblas.so.3; point it at OpenBLAS (pthreads)
	# whatever the system alternative says.
	# OpenBLAS on one thread: torch runs DG_THREADS threads of its own,
	# and with as many OpenBLAS threads under each the MLP VAE step was 3x
	# slower (4,600 images/s against 13,000-15,000 with OpenBLAS on one
	# thread, or torch on one thread over a 2-thread OpenBLAS, which was
	# the best by up to 10%: bench/RESULTS.md, "Issue 11 closed").
	LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	OPENBLAS_NUM_THREADS=1
	export LD_LIBRARY_PATH OPENBLAS_NUM_THREADS
	for s in torch_gemm torch_conv torch_vae torch_dcgan torch_wgangp torch_pixelcnn; do
		echo "## $s.py"
		PYTHONPATH=$here "$PYTHON" "$here/$s.py" | tee -a "$out" || status=1
	done
	if command -v hyperfine >/dev/null 2>&1; then
		echo "## whole process: python + torch, decode 64 latents, write a PNG"
		hyperfine -N --warmup 1 --runs "${BENCH_REPEATS:-7}" --export-json "$out.json" \
			"$PYTHON $here/torch_sample.py $out.png" >/dev/null 2>&1 &&
		jq -r '.results[0] | "torch.sample.process \(.median * 1000) ms # hyperfine median of \(.times | length) runs, min \(.min * 1000)"' \
			"$out.json" | awk '{ printf "%-34s %10.2f %-8s", $1, $2, $3; $1 = $2 = $3 = ""; print $0 }' |
			tee -a "$out"
		rm -f "$out.json"
		# The dg peer: dg-sample -n 64 | dg-decode -m > x.png on a small
		# VAE trained here, and its parts; dg.sample.process is the ratio's.
		echo "## whole process: dg-sample | dg-decode (bench/pipeline.sh)"
		sh "$here/pipeline.sh" | tee -a "$out"
	fi
else
	echo "# python3-torch not importable by $PYTHON: no PyTorch peers"
fi
# dg-train's whole-epoch rate, set beside torch_vae.py's optimizer steps
# (which leave out batching, shuffling and logging: the comparison
# favours PyTorch).
echo "## whole epochs: dg-train -p vae (bench/train_epoch.sh)"
sh "$here/train_epoch.sh" | tee -a "$out"
echo "## whole epochs: dg-train -p gan (bench/train_gan.sh)"
sh "$here/train_gan.sh" | tee -a "$out"
echo "## whole epochs and sampling: dg-train -p pixelcnn, dg-sample (bench/train_pixelcnn.sh)"
sh "$here/train_pixelcnn.sh" | tee -a "$out"
# The pixelrnn family's Row LSTM beside the same model in PyTorch.
echo "## whole epochs and sampling: dg-train -p pixelrnn, dg-sample (bench/train_pixelrnn.sh)"
sh "$here/train_pixelrnn.sh" | tee -a "$out"
if "$PYTHON" -c 'import torch' 2>/dev/null; then
	echo "## torch_pixelrnn.py"
	PYTHONPATH=$here "$PYTHON" "$here/torch_pixelrnn.py" | tee -a "$out" || status=1
fi

# The conv VAE beside the same model in PyTorch, whole epochs both
# (CONVVAE_EPOCHS=10 sh bench/conv_vae.sh is the quality comparison).
echo "## whole epochs: conv vae, dg-train and PyTorch (bench/conv_vae.sh)"
CONVVAE_EPOCHS=${CONVVAE_EPOCHS:-3} sh "$here/conv_vae.sh" | tee -a "$out"

# Ratios from this run: dg's figure over PyTorch's (> 1: dg is faster).
# The engine's MLP VAE benchmark (bench/b_vae.c) prints dg.vae.train in
# images/s, beside torch_vae.py's torch.vae.train.
echo "## ratios (this run, medians)"
awk '
	{ v[$1] = $2 }
	function ratio(label, a, b, higher_better) {
		if (!(a in v) || !(b in v) || v[b] == 0 || v[a] == 0) return
		printf "%-34s %10.3f  # %s / %s\n", label, higher_better ? v[a] / v[b] : v[b] / v[a], a, b
	}
	END {
		n = split("128x400x784 128x400x784.tb 128x784x400 400x784x128.ta 512x512x512", s, " ")
		for (i = 1; i <= n; i++) {
			ratio("plan/torch.mm " s[i], "gemm.plan." s[i], "torch.mm." s[i], 1)
		}
		ratio("plan/peak 512x512x512", "gemm.plan.512x512x512", "peak.measured", 1)
		split("conv.fwd conv.bwd_data conv.bwd_weights deconv.fwd deconv.bwd_data deconv.bwd_weights", c, " ")
		for (i = 1; i <= 6; i++) ratio("dg/torch " c[i], c[i], "torch." c[i], 1)
		n = split("conv_dw conv_g32 conv3d", c, " ")
		for (i = 1; i <= n; i++)
			for (j = 1; j <= 3; j++) {
				p = c[i] "." (j == 1 ? "fwd" : j == 2 ? "bwd_data" : "bwd_weights")
				ratio("dg/torch " p, p, "torch." p, 1)
			}
		ratio("dg/torch vae.train", "dg.vae.train", "torch.vae.train", 1)
		ratio("dg/torch vae.epoch", "dg.vae.epoch", "torch.vae.train", 1)
		ratio("dg-train epoch/peak", "dg.vae.epoch.gflops", "peak.measured", 1)
		ratio("dg/torch dcgan.epoch", "dg.dcgan.epoch", "torch.dcgan.train", 1)
		ratio("dg/torch rowlstm.epoch", "dg.rowlstm.epoch", "torch.rowlstm.train", 1)
		ratio("dg/torch rowlstm.sample", "dg.rowlstm.sample", "torch.rowlstm.sample", 1)
		ratio("dg cached/full rowlstm.sample", "dg.rowlstm.sample", "dg.rowlstm.sample_full", 1)
		ratio("dg/torch convvae.epoch", "dg.convvae.epoch", "torch.convvae.epoch", 1)
		ratio("dg/torch wgangp.gsteps", "dg.wgangp.epoch", "torch.wgangp.train", 1)
		ratio("dg/torch sample process", "dg.sample.process", "torch.sample.process", 0)
		ratio("dg/torch pixelcnn.epoch", "dg.pixelcnn.epoch", "torch.pixelcnn.train", 1)
		ratio("dg/torch gated.epoch", "dg.gated.epoch", "torch.gated.train", 1)
		ratio("dg/torch pixelcnn.sample", "dg.pixelcnn.sample", "torch.pixelcnn.sample", 1)
		ratio("dg cached/full pixelcnn.sample", "dg.pixelcnn.sample", "dg.pixelcnn.sample_full", 1)
		ratio("dg/torch gated.sample", "dg.gated.sample", "torch.gated.sample", 1)
	}' "$out"
exit $status
