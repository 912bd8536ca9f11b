# bench/torch_dcgan.py - PyTorch peer of dg's gan family at its defaults for
# 28x28 images (plugins/gan.c, dg-gan(7)): G z(100) -> dense without bias
# to 128x7x7, BN, ReLU -> 4x4 stride-2 transposed conv to 64 (no bias), BN,
# ReLU -> the same to 1 channel with tanh; D 1 -> 64 4x4 stride 2 with
# LeakyReLU(0.2) -> 128 (no bias), BN, LeakyReLU -> dense to a score; the
# non-saturating loss, Adam 2e-4 (0.5, 0.999) for both, one D step then one
# G step per iteration, each on fresh noise, and the EMA of G's weights
# (decay 0.99) after G's step, as dg does.  Batch 64, DG_THREADS threads;
# prints real images/s (one batch of real images per iteration).  Data are
# random pixels in [-1, 1): the arithmetic does not depend on them.
import copy

import torch
import torch.nn.functional as F
from torch import nn, optim

from torch_common import THREADS, report, time_calls

B, Z = 64, 100


class G(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(Z, 128 * 7 * 7, bias=False)
        self.bn0 = nn.BatchNorm2d(128)
        self.up1 = nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.up2 = nn.ConvTranspose2d(64, 1, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.bn0(self.proj(z).view(-1, 128, 7, 7)))
        h = F.relu(self.bn1(self.up1(h)))
        return torch.tanh(self.up2(h))


class D(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 4, 2, 1)
        self.conv2 = nn.Conv2d(64, 128, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(128)
        self.out = nn.Linear(128 * 7 * 7, 1)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.bn2(self.conv2(h)), 0.2)
        return self.out(h.flatten(1))


def init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


# (bench/torch_wgangp.py imports G, D and init)
if __name__ == "__main__":
    torch.manual_seed(1)
    g, d = G(), D()
    g.apply(init)
    d.apply(init)
    ema = copy.deepcopy(g).requires_grad_(False)
    og = optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(B, 1, 28, 28) * 2 - 1
    ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)

    def iteration():
        od.zero_grad()
        fake = g(torch.randn(B, Z)).detach()
        ld = (F.binary_cross_entropy_with_logits(d(real), ones)
              + F.binary_cross_entropy_with_logits(d(fake), zeros))
        ld.backward()
        od.step()
        og.zero_grad()
        lg = F.binary_cross_entropy_with_logits(d(g(torch.randn(B, Z))), ones)
        lg.backward()
        og.step()
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), g.parameters()):
                pe.mul_(0.99).add_(p, alpha=0.01)

    med, best = time_calls(iteration, 2.0)
    report("torch.dcgan.train", B / med, "images/s",
           "DCGAN 28x28 (dg's gan defaults), ns loss, batch 64, %d threads; %.2f ms per D+G "
           "iteration; best %.0f images/s" % (THREADS, med * 1e3, B / best))
