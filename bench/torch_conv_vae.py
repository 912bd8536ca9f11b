# bench/torch_conv_vae.py - PyTorch peer of `dg-train -p vae --set arch=conv`
# layer for layer (plugins/vae.c, dg_nn_encoder/decoder in libcore/nn/blocks.c):
#   encoder: conv1 1->32 and conv2 32->64 (4x4, stride 2, pad 1, ReLU),
#            flatten (64*7*7), fc1 -> 400 (ReLU), mu and logvar 400 -> 20;
#   decoder: fc1 20 -> 400, fc2 400 -> 64*7*7 (ReLU), deconv1 64->32
#            (ReLU), deconv2 32->1 (4x4, stride 2, pad 1), Bernoulli logits;
#   init:    dense layers as nn.Linear's default (dg's DG_NN_INIT_TORCH),
#            convolutions He-uniform (kaiming_uniform_, relu gain) with zero
#            biases (dg's DG_NN_INIT_HE_UNIFORM);
#   loss:    BCE-with-logits summed over pixels + analytic KL, mean over the
#            batch; Adam lr 1e-3; batch 128, shuffled each epoch, the last
#            partial batch dropped (dg-train's defaults), intensities in
#            [0,1] (no binarization).
# Trains EPOCHS epochs (argv[1], default 10) on Fashion-MNIST's training
# set, then prints the test set's -ELBO in nats per image (one z draw per
# image, analytic KL: dg-eval's default), the training images/s of each
# epoch and their median, as `name value unit # note` lines.
# Usage: DG_THREADS=2 python3 torch_conv_vae.py [EPOCHS]
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim

from torch_common import THREADS, report

DATA = os.environ.get("DG_DATA_DIR") or "/usr/share/datasets/fashion-mnist"


def images(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16)
    return torch.from_numpy(raw.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)


class ConvVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 4, 2, 1)
        self.conv2 = nn.Conv2d(32, 64, 4, 2, 1)
        self.efc1 = nn.Linear(64 * 7 * 7, 400)
        self.mu = nn.Linear(400, 20)
        self.logvar = nn.Linear(400, 20)
        self.dfc1 = nn.Linear(20, 400)
        self.dfc2 = nn.Linear(400, 64 * 7 * 7)
        self.deconv1 = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.deconv2 = nn.ConvTranspose2d(32, 1, 4, 2, 1)
        for c in (self.conv1, self.conv2, self.deconv1, self.deconv2):
            nn.init.kaiming_uniform_(c.weight, nonlinearity="relu")
            nn.init.zeros_(c.bias)

    def encode(self, x):
        h = F.relu(self.conv2(F.relu(self.conv1(x))))
        h = F.relu(self.efc1(h.flatten(1)))
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        h = F.relu(self.dfc2(F.relu(self.dfc1(z))))
        h = F.relu(self.deconv1(h.view(-1, 64, 7, 7)))
        return self.deconv2(h)


def nelbo(model, x):
    """-ELBO per image: BCE summed over pixels + analytic KL."""
    mu, logvar = model.encode(x)
    z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
    rec = F.binary_cross_entropy_with_logits(model.decode(z), x, reduction="none")
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
    return rec.flatten(1).sum(1) + kl


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    torch.manual_seed(1)
    train, test = images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")
    model = ConvVAE()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    batch = 128
    rates = []
    for epoch in range(epochs):
        order = torch.randperm(len(train))
        steps = len(train) // batch
        t0 = time.perf_counter()
        total = 0.0
        for s in range(steps):
            x = train[order[s * batch:(s + 1) * batch]]
            opt.zero_grad()
            loss = nelbo(model, x).mean()
            loss.backward()
            opt.step()
            total += loss.item()
        dt = time.perf_counter() - t0
        rates.append(steps * batch / dt)
        report("torch.convvae.epoch%d" % (epoch + 1), rates[-1], "images/s",
               "train -ELBO %.2f" % (total / steps))
    with torch.no_grad():
        test_nelbo = torch.cat([nelbo(model, test[i:i + 100])
                                for i in range(0, len(test), 100)]).mean().item()
    med = statistics.median(rates[1:] if len(rates) > 1 else rates)
    report("torch.convvae.epoch", med, "images/s",
           "conv VAE, batch 128, %d threads, median of epochs 2-%d" % (THREADS, epochs))
    report("torch.convvae.test_nelbo", test_nelbo, "nats",
           "Fashion-MNIST test, after %d epochs" % epochs)


main()
