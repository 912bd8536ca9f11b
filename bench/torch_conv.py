# bench/torch_conv.py - PyTorch peer of b_conv: the DCGAN layer (batch 64,
# 64 -> 128 channels, 16x16 -> 8x8, 4x4 kernel, stride 2, padding 1) forward
# with bias and leaky relu, backward-data, backward-weights (+ bias), and its
# transposed counterpart, in GFLOP/s with DG_THREADS threads (default 2).
import torch
import torch.nn.functional as F

from torch_common import THREADS, report, time_calls

torch.manual_seed(0)
report("torch.conv.threads", THREADS, "threads",
       "mkldnn %s" % torch.backends.mkldnn.is_available())
flop = 2.0 * 64 * 128 * 8 * 8 * 64 * 16


def layer(prefix, fwd, x, w, b):
    med, best = time_calls(lambda: fwd(x, w, b))
    report(prefix + ".fwd", flop / med / 1e9, "GFLOP/s", "best %.1f" % (flop / best / 1e9))
    xg = x.clone().requires_grad_(True)
    y = fwd(xg, w, b)
    g = torch.rand_like(y)
    med, best = time_calls(lambda: torch.autograd.grad(y, xg, g, retain_graph=True))
    report(prefix + ".bwd_data", flop / med / 1e9, "GFLOP/s",
           "best %.1f; includes the activation's backward" % (flop / best / 1e9))
    wg, bg = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
    y = fwd(x, wg, bg)
    med, best = time_calls(lambda: torch.autograd.grad(y, (wg, bg), g, retain_graph=True))
    report(prefix + ".bwd_weights", flop / med / 1e9, "GFLOP/s",
           "best %.1f; dW and db" % (flop / best / 1e9))


layer("torch.conv",
      lambda x, w, b: F.leaky_relu(F.conv2d(x, w, b, stride=2, padding=1), 0.2),
      torch.rand(64, 64, 16, 16), torch.rand(128, 64, 4, 4), torch.rand(128))
layer("torch.deconv",
      lambda x, w, b: F.relu(F.conv_transpose2d(x, w, b, stride=2, padding=1)),
      torch.rand(64, 128, 8, 8), torch.rand(128, 64, 4, 4), torch.rand(64))
