# bench/torch_gemm.py - PyTorch peer of b_gemm: torch.mm GFLOP/s at the same
# shapes (M x N x K), DG_THREADS threads (default 2).  Run it with
# LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread so that
# Debian's torch (BLAS_INFO=generic: it calls libblas.so.3) gets OpenBLAS.
import torch

from torch_common import THREADS, blas_library, report, time_calls

torch.manual_seed(0)
report("torch.threads", THREADS, "threads", "torch.set_num_threads")
shapes = [  # name suffix, m, n, k, transposed a, transposed b
    ("128x400x784", 128, 400, 784, False, False),
    ("128x400x784.tb", 128, 400, 784, False, True),
    ("128x784x400", 128, 784, 400, False, False),
    ("400x784x128.ta", 400, 784, 128, True, False),
    ("512x512x512", 512, 512, 512, False, False),
]
for name, m, n, k, ta, tb in shapes:
    a = torch.rand(k, m).t() if ta else torch.rand(m, k)
    b = torch.rand(n, k).t() if tb else torch.rand(k, n)
    c = torch.empty(m, n)
    med, best = time_calls(lambda: torch.mm(a, b, out=c))
    flop = 2.0 * m * n * k
    report("torch.mm." + name, flop / med / 1e9, "GFLOP/s",
           "best %.1f; BLAS %s" % (flop / best / 1e9, blas_library()))
