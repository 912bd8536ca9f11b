# bench/torch_pixelrnn.py - PyTorch peer of dg's pixelrnn family's Row LSTM
# (plugins/pixelrnn.c, dg-pixelrnn(7)), the same architecture: a 7x7 type-A
# masked convolution to h channels; LSTM layers whose gates (i, f, o, g) are
# a row-wise k-wide convolution of the layer input with its taps right of the
# centre zero (k/2+1 taps) plus a 1-D k-wide convolution of the previous
# row's hidden state, rows in sequence from zero states; out = in + 1x1(h);
# ReLU, 1x1 to `head`, ReLU, 1x1 to one Bernoulli logit per pixel.  Weights
# and biases U(+-1/sqrt(fan_in)) (nn.Conv2d's), Adam lr 1e-3, the loss the
# batch mean of each image's NLL in nats, on Fashion-MNIST binarized at 0.5.
#
#   torch_pixelrnn.py                   throughput: images/s of training
#                                       steps, batch 64 (make bench)
#   torch_pixelrnn.py --train STEPS     train STEPS steps of batch 64 over
#                                       shuffled training images, then the
#                                       test set's NLL (nats, bits/dim)
#   torch_pixelrnn.py --sample [R]      images/s of sampling 64 images of
#                                       28x28 by the straightforward loop
#                                       (one full forward pass per pixel),
#                                       R times (1); make bench runs it once
#                                       after the training rate
#
# Environment: DG_THREADS (2), HIDDEN (32), LAYERS (1), HEAD (32), SEED (1),
# LIMIT (the first LIMIT training images; all 60000), TEST_LIMIT (the first
# TEST_LIMIT test images; all 10000); with --train, INIT=CK.dgm starts from
# dg's own initial draws, those of a checkpoint dg-train wrote after exactly
# one step (-n 64 -e 1 -b 64 --seed S; the step is undone from its Adam
# moments), and ORDER=dg visits the images in dg-train's order for SEED
# (libdg's permutation, a new one each epoch) instead of torch.randperm's.
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import dg_checkpoint
from torch_common import THREADS, report, time_calls

B = 64
HIDDEN = int(os.environ.get("HIDDEN") or 32)
LAYERS = int(os.environ.get("LAYERS") or 1)
HEAD = int(os.environ.get("HEAD") or 32)
K = 3
DATA = "/usr/share/datasets/fashion-mnist"


def conv_param(o, i, kh, kw, bias=True):
    bound = 1 / math.sqrt(i * kh * kw)
    w = nn.Parameter(torch.empty(o, i, kh, kw).uniform_(-bound, bound))
    b = nn.Parameter(torch.empty(o).uniform_(-bound, bound)) if bias else None
    return w, b


class RowLSTM(nn.Module):
    def __init__(self, h, layers, head):
        super().__init__()
        self.h = h
        self.in_w, self.in_b = conv_param(h, 1, 7, 7)
        mask = torch.ones(1, 1, 7, 7)
        mask[:, :, 3, 3:] = 0
        mask[:, :, 4:] = 0
        self.register_buffer("mask", mask)
        self.layers = nn.ParameterList()
        for _ in range(layers):
            for p in (conv_param(4 * h, h, 1, K // 2 + 1) + conv_param(4 * h, h, 1, K, False)[:1]
                      + conv_param(h, h, 1, 1)):
                self.layers.append(p)
        self.h1_w, self.h1_b = conv_param(head, h, 1, 1)
        self.h2_w, self.h2_b = conv_param(1, head, 1, 1)

    def lstm(self, x, isw, isb, ssw):
        n, h, hh, ww = x.shape
        zeros = torch.zeros(isw.shape[0], h, 1, K // 2)
        s = F.conv2d(x, torch.cat([isw, zeros], 3), isb, padding=(0, K // 2))
        hp = torch.zeros(n, h, ww)
        c = torch.zeros(n, h, ww)
        rows = []
        for i in range(hh):
            gates = s[:, :, i] + F.conv1d(hp, ssw[:, :, 0], padding=K // 2)
            gi, gf, go, gg = gates.chunk(4, 1)
            c = torch.sigmoid(gf) * c + torch.sigmoid(gi) * torch.tanh(gg)
            hp = torch.sigmoid(go) * torch.tanh(c)
            rows.append(hp)
        return torch.stack(rows, 2)

    def forward(self, x):
        a = F.conv2d(x, self.in_w * self.mask, self.in_b, padding=3)
        p = list(self.layers)
        for l in range(0, len(p), 5):
            isw, isb, ssw, ow, ob = p[l:l + 5]
            a = a + F.conv2d(self.lstm(a, isw, isb, ssw), ow, ob)
        hd = F.relu(F.conv2d(F.relu(a), self.h1_w, self.h1_b))
        return F.conv2d(hd, self.h2_w, self.h2_b)


def load_dg(model, arrays):
    """dg's parameters (names of plugins/pixelrnn.c) into the model."""
    names = {"in.w": "in_w", "in.b": "in_b", "head1.w": "h1_w", "head1.b": "h1_b",
             "head2.w": "h2_w", "head2.b": "h2_b"}
    for l in range(len(model.layers) // 5):
        for i, n in enumerate(("is.w", "is.b", "ss.w", "out.w", "out.b")):
            names["l%d.%s" % (l, n)] = "layers.%d" % (5 * l + i)
    own = dict(model.named_parameters())
    if set(arrays) != set(names) or set(names.values()) != set(own):
        sys.exit("dg's parameters %s are not the model's" % sorted(arrays))
    with torch.no_grad():
        for k, v in arrays.items():
            if tuple(own[names[k]].shape) != v.shape:
                sys.exit("%s: dg's shape %s, the model's %s" % (k, v.shape,
                                                             tuple(own[names[k]].shape)))
            own[names[k]].copy_(torch.from_numpy(v))


def nll(model, x):
    """Mean over the batch of each image's NLL in nats."""
    return F.binary_cross_entropy_with_logits(model(x), x, reduction="sum") / x.shape[0]


def idx_images(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    n, h, w = (int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    u8 = np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, h, w)
    return torch.from_numpy((u8.astype(np.float32) / 255 > 0.5).astype(np.float32))


def bench():
    torch.manual_seed(1)
    model = RowLSTM(HIDDEN, LAYERS, HEAD)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = (torch.rand(B, 1, 28, 28) > 0.5).float()

    def step():
        opt.zero_grad()
        nll(model, x).backward()
        opt.step()
    med, best = time_calls(step, 2.0)
    report("torch.rowlstm.train", B / med, "images/s",
           "Row LSTM h=%d layers=%d 28x28 batch %d, %d threads, best %.1f" %
           (HIDDEN, LAYERS, B, THREADS, B / best))


def sample(model, n, gen):
    """The straightforward loop: one full forward pass per pixel, each
    pixel drawn from its Bernoulli logit."""
    x = torch.zeros(n, 1, 28, 28)
    with torch.no_grad():
        for i in range(28):
            for j in range(28):
                logit = model(x)[:, 0, i, j]
                u = torch.rand(n, generator=gen)
                x[:, 0, i, j] = (u < torch.sigmoid(logit)).float()
    return x


def bench_sample(repeats):
    torch.manual_seed(1)
    model = RowLSTM(HIDDEN, LAYERS, HEAD)
    gen = torch.Generator().manual_seed(1)
    for _ in range(repeats):
        t0 = time.perf_counter()
        sample(model, 64, gen)
        t = time.perf_counter() - t0
        report("torch.rowlstm.sample", 64 / t, "images/s",
               "64 images of 28x28, a full forward pass per pixel, Row LSTM h=%d layers=%d, "
               "%d threads, %.1f s" % (HIDDEN, LAYERS, THREADS, t))


def train(steps):
    seed = int(os.environ.get("SEED") or 1)
    torch.manual_seed(seed)
    model = RowLSTM(HIDDEN, LAYERS, HEAD)
    if os.environ.get("INIT"):
        load_dg(model, dg_checkpoint.initial_params(os.environ["INIT"]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xtr = idx_images("train-images-idx3-ubyte.gz")[:int(os.environ.get("LIMIT") or 60000)]
    xte = idx_images("t10k-images-idx3-ubyte.gz")[:int(os.environ.get("TEST_LIMIT") or 10000)]
    g = torch.Generator().manual_seed(seed)
    epoch = 0

    def permutation():
        if os.environ.get("ORDER") == "dg":
            return torch.from_numpy(dg_checkpoint.order(len(xtr), seed, epoch))
        return torch.randperm(len(xtr), generator=g)
    order, at, t0, total = permutation(), 0, time.perf_counter(), 0.0
    for s in range(steps):
        if at + B > len(xtr):
            epoch += 1
            order, at = permutation(), 0
        x = xtr[order[at:at + B]]
        at += B
        opt.zero_grad()
        loss = nll(model, x)
        loss.backward()
        opt.step()
        total += loss.item()
        if (s + 1) % 10 == 0:
            print("step %d: train nll %.2f (last 10), %.1f images/s" %
                  (s + 1, total / 10, (s + 1) * B / (time.perf_counter() - t0)), flush=True)
            total = 0.0
    secs = time.perf_counter() - t0
    with torch.no_grad():
        per = torch.cat([F.binary_cross_entropy_with_logits(
            model(xte[i:i + 500]), xte[i:i + 500], reduction="none").sum((1, 2, 3))
            for i in range(0, len(xte), 500)])
    m = per.mean().item()
    print("torch Row LSTM h=%d layers=%d: %d steps of %d (%.2f epochs) in %.0f s (%.1f images/s); "
          "test nll %.2f nats (+- %.2f), %.4f bits/dim over %d images" %
          (HIDDEN, LAYERS, steps, B, steps * B / len(xtr), secs, steps * B / secs, m,
           per.std().item() / math.sqrt(len(per)), m / (784 * math.log(2)), len(per)))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--train":
        train(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--sample":
        bench_sample(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    else:
        bench()
        bench_sample(1)
