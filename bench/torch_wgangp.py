# bench/torch_wgangp.py - PyTorch peer of dg's gan family with loss=wgan-gp
# at its defaults for 28x28 (plugins/gan.c, dg-gan(7)): bench/torch_dcgan.py's
# G, and its D with layer norm over C x H x W (elementwise affine) in place
# of batch norm, as d_norm=auto gives a WGAN-GP critic; 5 critic steps per
# generator step, each on a fresh batch of real images and fresh noise,
# with the gradient penalty 10 E(|grad D(x^)| - 1)^2 at random
# interpolates, by double backward (create_graph); Adam 1e-4, betas
# (0, 0.9) for both; the EMA of G (0.99) after G's step.  Batch 64,
# DG_THREADS threads; prints generator steps per second.  Data are random
# pixels in [-1, 1): the arithmetic does not depend on them.
import copy

import torch
import torch.nn.functional as F
from torch import nn, optim

from torch_common import THREADS, report, time_calls
from torch_dcgan import B, Z, G, init

DSTEPS, LAMBDA = 5, 10.0


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 4, 2, 1)
        self.conv2 = nn.Conv2d(64, 128, 4, 2, 1, bias=False)
        self.ln2 = nn.LayerNorm([128, 7, 7])
        self.out = nn.Linear(128 * 7 * 7, 1)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.ln2(self.conv2(h)), 0.2)
        return self.out(h.flatten(1))


torch.manual_seed(1)
g, d = G(), Critic()
g.apply(init)
d.apply(init)
ema = copy.deepcopy(g).requires_grad_(False)
og = optim.Adam(g.parameters(), lr=1e-4, betas=(0.0, 0.9))
od = optim.Adam(d.parameters(), lr=1e-4, betas=(0.0, 0.9))
reals = [torch.rand(B, 1, 28, 28) * 2 - 1 for _ in range(DSTEPS)]


def penalty(xr, xf):
    e = torch.rand(B, 1, 1, 1)
    xh = (e * xr + (1 - e) * xf).requires_grad_(True)
    grad, = torch.autograd.grad(d(xh).sum(), xh, create_graph=True)
    return LAMBDA * ((grad.flatten(1).square().sum(1) + 1e-12).sqrt() - 1).square().mean()


def iteration():
    for real in reals:
        od.zero_grad()
        fake = g(torch.randn(B, Z)).detach()
        ld = d(fake).mean() - d(real).mean() + penalty(real, fake)
        ld.backward()
        od.step()
    og.zero_grad()
    lg = -d(g(torch.randn(B, Z))).mean()
    lg.backward()
    og.step()
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), g.parameters()):
            pe.mul_(0.99).add_(p, alpha=0.01)


med, best = time_calls(iteration, 2.0)
report("torch.wgangp.train", 1 / med, "gsteps/s",
       "DCGAN 28x28 WGAN-GP (dg's gan loss=wgan-gp), 5 critic steps with double-backward "
       "penalty, batch 64, %d threads; %.1f ms per G step; best %.2f G steps/s"
       % (THREADS, med * 1e3, 1 / best))
