# bench/torch_vae.py - PyTorch peer of the engine's MLP VAE benchmark: the
# VAE of PyTorch's examples repository (784-400-20, relu, sigmoid output,
# BCE summed + KL divergence, Adam lr 1e-3), batch 128, DG_THREADS threads
# (default 2); prints training images/s.  Data are random pixels in [0, 1):
# the arithmetic per step does not depend on them.
import torch
import torch.nn.functional as F
from torch import nn, optim

from torch_common import THREADS, report, time_calls


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def loss_function(recon, x, mu, logvar):
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


torch.manual_seed(1)
model = VAE()
opt = optim.Adam(model.parameters(), lr=1e-3)
batch = torch.rand(128, 784)


def step():
    opt.zero_grad()
    recon, mu, logvar = model(batch)
    loss = loss_function(recon, batch, mu, logvar)
    loss.backward()
    opt.step()


med, best = time_calls(step, 1.0)
report("torch.vae.train", 128 / med, "images/s",
       "MLP VAE 784-400-20 batch 128 Adam, %d threads; %.3f ms/step; best %.0f images/s"
       % (THREADS, med * 1e3, 128 / best))
with torch.no_grad():
    z = torch.randn(128, 20)
    med, best = time_calls(lambda: torch.sigmoid(model.fc4(F.relu(model.fc3(z)))))
report("torch.vae.decode", 128 / med, "images/s",
       "decoder 20-400-784 batch 128, no grad; best %.0f" % (128 / best))
