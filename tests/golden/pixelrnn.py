#!/usr/bin/python3
"""pixelrnn.py — golden references for dg's pixelrnn family
(plugins/pixelrnn.c), written by PyTorch: tests/data/golden/pixelrnn-<config>.dgt,
which tests/t_golden.c checks dg against (format: golden.py).  Run it once
after `make`, with Debian's python3-torch:  /usr/bin/python3 tests/golden/pixelrnn.py

The models, from the PixelRNN paper as dg-pixelrnn(7) describes them,
written the direct way with PyTorch's own ops: a 7x7 convolution whose
weight is multiplied by a type-A mask; LSTM layers whose gates (i, f, o, g)
come from a row-wise k-wide convolution of the input whose taps right of
the centre are zero plus a 1-D convolution of the previous row's state
(Row LSTM, rows in a Python loop), or from a 1x1 convolution of the input
skewed by copying each row i to columns i..i+W-1 of a wider map, plus a
2x1 convolution of the previous column's state over rows i-1 and i
(Diagonal BiLSTM, columns in a loop; the second direction on torch.flip'ed
maps, flipped back and padded one row down); residual 1x1 convolutions;
ReLU, 1x1, ReLU, 1x1 to Bernoulli logits on x > 0.5 or to 256-way logits
on 8-bit levels.  The loss is the mean over the batch of each image's
negative log-likelihood in nats (binary_cross_entropy_with_logits and
cross_entropy, summed).  dg builds the same things differently (weights
cut per gate, a padded-and-reshaped skew, a mirror by matrix product), so
agreement checks those constructions.  Weights and biases are
U(+-1/sqrt(fan_in)), nn.Conv2d's. """
import math

import numpy as np
import torch
import torch.nn.functional as F

import golden

torch.set_num_threads(1)

BATCH, C, H, W = 4, 1, 6, 7

CONFIGS = [
    # name, --set assignments, graph seed
    ("row", {"arch": "row", "hidden": 8, "layers": 2, "kernel": 3, "head": 8}, 301),
    ("row-k5-cat", {"arch": "row", "hidden": 6, "layers": 1, "kernel": 5, "head": 8,
                    "likelihood": "categorical"}, 302),
    ("diagonal", {"arch": "diagonal", "hidden": 8, "layers": 2, "head": 8}, 303),
    ("diagonal-cat", {"arch": "diagonal", "hidden": 4, "layers": 1, "head": 6,
                      "likelihood": "categorical"}, 304),
]


def params_for(seed, cfg):
    torch.manual_seed(seed)
    h, k, hd = cfg["hidden"], cfg.get("kernel", 3), cfg["head"]
    diag = cfg["arch"] == "diagonal"
    out = 256 if cfg.get("likelihood") == "categorical" else C
    p = {}

    def conv(name, o, i, kh, kw, bias=True):
        bound = 1 / math.sqrt(i * kh * kw)
        p[name + ".w"] = torch.empty(o, i, kh, kw).uniform_(-bound, bound)
        if bias:
            p[name + ".b"] = torch.empty(o).uniform_(-bound, bound)

    conv("in", h, C, 7, 7)
    for l in range(cfg["layers"]):
        for d in (["fwd", "rev"] if diag else [""]):
            pre = "l%d.%s" % (l, d + "." if d else "")
            if diag:
                conv(pre + "is", 4 * h, h, 1, 1)
                conv(pre + "ss", 4 * h, h, 2, 1, bias=False)
            else:
                conv(pre + "is", 4 * h, h, 1, k // 2 + 1)
                conv(pre + "ss", 4 * h, h, 1, k, bias=False)
        conv("l%d.out" % l, h, h, 1, 1)
    conv("head1", hd, h, 1, 1)
    conv("head2", out, hd, 1, 1)
    return {k: v.clone().requires_grad_(True) for k, v in p.items()}


def mask_a(k):
    m = torch.ones(1, 1, k, k)
    m[:, :, k // 2, k // 2:] = 0
    m[:, :, k // 2 + 1:] = 0
    return m


def cell(gates, c):
    i, f, o, g = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def row_lstm(x, isw, isb, ssw, k):
    n, h, hh, ww = x.shape
    zeros = torch.zeros(isw.shape[0], h, 1, k // 2)
    s = F.conv2d(x, torch.cat([isw, zeros], 3), isb, padding=(0, k // 2))
    hp = torch.zeros(n, h, ww)
    c = torch.zeros(n, h, ww)
    rows = []
    for i in range(hh):
        hp, c = cell(s[:, :, i] + F.conv1d(hp, ssw[:, :, 0], padding=k // 2), c)
        rows.append(hp)
    return torch.stack(rows, 2)


def skew(x):
    n, ch, hh, ww = x.shape
    return torch.stack([F.pad(x[:, :, i], (i, hh - 1 - i)) for i in range(hh)], 2)


def unskew(y, ww):
    return torch.stack([y[:, :, i, i:i + ww] for i in range(y.shape[2])], 2)


def diagonal_lstm(x, isw, isb, ssw):
    n, h, hh, ww = x.shape
    s = skew(F.conv2d(x, isw, isb))
    hp = torch.zeros(n, h, hh)
    c = torch.zeros(n, h, hh)
    cols = []
    for d in range(s.shape[3]):
        hp, c = cell(s[:, :, :, d] + F.conv1d(F.pad(hp, (1, 0)), ssw[:, :, :, 0]), c)
        cols.append(hp)
    return unskew(torch.stack(cols, 3), ww)


def network(p, cfg, xin):
    k = cfg.get("kernel", 3)
    a = F.conv2d(xin, p["in.w"] * mask_a(7), p["in.b"], padding=3)
    for l in range(cfg["layers"]):
        pre = "l%d." % l
        if cfg["arch"] == "row":
            s = row_lstm(a, p[pre + "is.w"], p[pre + "is.b"], p[pre + "ss.w"], k)
        else:
            fwd = diagonal_lstm(a, p[pre + "fwd.is.w"], p[pre + "fwd.is.b"],
                                p[pre + "fwd.ss.w"])
            rev = diagonal_lstm(a.flip(3), p[pre + "rev.is.w"], p[pre + "rev.is.b"],
                                p[pre + "rev.ss.w"]).flip(3)
            s = fwd + F.pad(rev, (0, 0, 1, 0))[:, :, :a.shape[2]]
        a = a + F.conv2d(s, p[pre + "out.w"], p[pre + "out.b"])
    hd = F.relu(F.conv2d(F.relu(a), p["head1.w"], p["head1.b"]))
    return F.conv2d(hd, p["head2.w"], p["head2.b"])


def make_step(p, cfg, x):
    cat = cfg.get("likelihood") == "categorical"
    xt = torch.from_numpy(x)
    n = x.shape[0]
    xin = xt if cat else (xt > 0.5).float()
    target = torch.round(xt * 255).long()[:, 0] if cat else xin

    def step(run):
        logits = network(p, cfg, xin)
        if cat:
            nll = F.cross_entropy(logits, target, reduction="sum") / n
        else:
            nll = F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / n
        return nll, {"nll": nll, "bpd": nll / (C * H * W * math.log(2))}
    return step


def main():
    for name, cfg, seed in CONFIGS:
        p = params_for(seed, cfg)
        x, _ = golden.data(seed, BATCH, C, H, W, 0)
        if cfg.get("likelihood") == "categorical":
            x = (np.round(x * 255) / 255).astype(np.float32)
        sets = ["%s=%s" % kv for kv in cfg.items()]
        golden.write(name, "pixelrnn", sets, seed, (C, H, W), 0, x, None, p,
                     make_step(p, cfg, x))


if __name__ == "__main__":
    main()
