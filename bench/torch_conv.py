# bench/torch_conv.py - PyTorch peer of b_conv: the DCGAN layer (batch 64,
# 64 -> 128 channels, 16x16 -> 8x8, 4x4 kernel, stride 2, padding 1) forward
# with bias and leaky relu, backward-data, backward-weights (+ bias), and its
# transposed counterpart, in GFLOP/s with DG_THREADS threads (default 2);
# then grouped and 3-d convolutions without bias, as b_conv.c's.
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


def passes(prefix, conv, x, w, flop, note):
    """Forward, input gradient and weight gradient of y = conv(x, w)."""
    med, best = time_calls(lambda: conv(x, w))
    report(prefix + ".fwd", flop / med / 1e9, "GFLOP/s", "%s; best %.1f" % (note, flop / best / 1e9))
    xg = x.clone().requires_grad_(True)
    y = conv(xg, w)
    g = torch.rand_like(y)
    med, best = time_calls(lambda: torch.autograd.grad(y, xg, g, retain_graph=True))
    report(prefix + ".bwd_data", flop / med / 1e9, "GFLOP/s", "best %.1f" % (flop / best / 1e9))
    wg = w.clone().requires_grad_(True)
    y = conv(x, wg)
    med, best = time_calls(lambda: torch.autograd.grad(y, wg, g, retain_graph=True))
    report(prefix + ".bwd_weights", flop / med / 1e9, "GFLOP/s", "best %.1f" % (flop / best / 1e9))


x = torch.rand(32, 128, 28, 28)
w = torch.rand(128, 1, 3, 3)
passes("torch.conv_dw", lambda a, b: F.conv2d(a, b, None, 1, 1, 1, 128), x, w,
       2.0 * 32 * 128 * 28 * 28 * 9, "32x128x28x28 depthwise k3 s1 p1")
x = torch.rand(16, 128, 28, 28)
w = torch.rand(128, 4, 3, 3)
passes("torch.conv_g32", lambda a, b: F.conv2d(a, b, None, 1, 1, 1, 32), x, w,
       2.0 * 16 * 128 * 28 * 28 * 36, "16x128x28x28 -> 128, 32 groups, k3 s1 p1")
x = torch.rand(8, 32, 8, 16, 16)
w = torch.rand(64, 32, 3, 3, 3)
passes("torch.conv3d", lambda a, b: F.conv3d(a, b, None, 1, 1), x, w,
       2.0 * 8 * 64 * 8 * 16 * 16 * 32 * 27, "8x32x8x16x16 -> 64, k3 s1 p1")
