# bench/torch_common.py - shared by the PyTorch peers of dg's benchmarks:
# thread count (DG_THREADS, default 2), timing medians, and the output line
# format bench/run.sh parses ("name value unit # note").
import os
import statistics
import time

import torch

THREADS = int(os.environ.get("DG_THREADS") or 2)
torch.set_num_threads(THREADS)
REPEATS = int(os.environ.get("BENCH_REPEATS") or 7)


def time_calls(fn, min_s=0.3):
    """Median and best seconds per call of fn(), after warm-up."""
    fn()
    iters, t0 = 1, time.perf_counter()
    while time.perf_counter() - t0 < min_s / 4:
        for _ in range(iters):
            fn()
        iters *= 2
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    per = (time.perf_counter() - t0) / iters
    n = int(min_s / per) + 1 if per > 0 else 1
    samples = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples), min(samples)


def report(name, value, unit, note):
    print("%-34s %10.2f %-8s # %s" % (name, value, unit, note), flush=True)


def blas_library():
    """The BLAS shared object this process actually mapped (after a mm)."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower()}
    return ",".join(sorted(os.path.basename(l) for l in libs)) or "none mapped"
