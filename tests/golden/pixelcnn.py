#!/usr/bin/python3
"""pixelcnn.py — golden references for dg's pixelcnn family
(plugins/pixelcnn.c), written by PyTorch: tests/data/golden/pixelcnn-<config>.dgt,
which tests/t_golden.c checks dg against (format: golden.py).  Run it once
after `make`, with Debian's python3-torch:  /usr/bin/python3 tests/golden/pixelcnn.py

The model is written here from the family's description (man/dg-pixelcnn.7)
with PyTorch's own convolutions, padding and losses; bench/torch_pixelcnn.py
trains and samples this same code, so what passes here is the model the
benchmark compares against.

  masks      a k×k masked convolution multiplies its weight by the mask of
             van den Oord et al.: rows above the centre, columns left of it
             in the centre row, and at the centre input colour group gi
             reaching output group go if gi < go (type A) or gi <= go (B);
             one group for a single channel
  pixelcnn   in (7×7 A), blocks x + up(relu(mid(relu(down(relu(x)))))),
             relu, out1 (1×1 B), relu, out2 (1×1 B)
  gated      vertical stack: zero-pad k/2 left and right and k/2 on top,
             a (k/2+1)×k convolution; horizontal: pad k/2 on the left, a
             1×(k/2+1) convolution whose last column is masked as a centre
             (A at layer 0); the vertical features reach the horizontal
             stack shifted down one row through a 1×1 convolution; gates
             tanh(a)·sigmoid(b) over the two channel halves; class biases
             Linear(classes, 2F, bias=False) of the one-hot label
  outputs    binarize=T: targets x > T, BCE with logits summed; else
             labels round(255·x), softmax over 256 logits per channel
             (channel c's are c·256..c·256+255), cross-entropy summed;
             both averaged over the batch. """
import math

import numpy as np
import torch
import torch.nn.functional as F

LEVELS = 256


def conv_mask(out, inp, k, kind, groups):
    """The masked convolution's 0/1 mask, out×inp×k×k."""
    m = torch.zeros(out, inp, k, k)
    c = k // 2
    m[:, :, :c, :] = 1
    m[:, :, c, :c] = 1
    go = torch.arange(out) // (out // groups)
    gi = torch.arange(inp) // (inp // groups)
    centre = (gi[None, :] < go[:, None]) if kind == "A" else (gi[None, :] <= go[:, None])
    m[:, :, c, c] = centre.float()
    return m


def mconv(p, name, x, kind, groups):
    w = p[name + ".w"]
    k = w.shape[-1]
    mask = conv_mask(w.shape[0], w.shape[1], k, kind, groups)
    return F.conv2d(x, w * mask, p[name + ".b"], padding=k // 2)


def vconv(p, name, x):
    w = p[name + ".w"]
    kh, kw = w.shape[2], w.shape[3]
    return F.conv2d(F.pad(x, (kw // 2, kw // 2, kh - 1, 0)), w, p[name + ".b"])


def hconv(p, name, x, kind):
    w = p[name + ".w"]
    kw = w.shape[3]
    if kind == "A":
        m = torch.ones_like(w)
        m[:, :, :, -1] = 0
        w = w * m
    return F.conv2d(F.pad(x, (kw - 1, 0, 0, 0)), w, p[name + ".b"])


def gate(x):
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


def network(p, cfg, x, onehot=None):
    """x: N×C×H×W network input -> N×outc×H×W logits."""
    groups = 3 if cfg["channels"] == 3 else 1
    if cfg["arch"] == "gated":
        v = h = x
        for l in range(cfg["layers"]):
            g = "g%d_" % l
            vc = vconv(p, g + "v", v)
            if onehot is not None:
                vc = vc + F.linear(onehot, p[g + "cv.w"])[:, :, None, None]
            hc = hconv(p, g + "h", h, "A" if l == 0 else "B")
            shifted = F.pad(vc, (0, 0, 1, 0))[:, :, :-1, :]
            hc = hc + F.conv2d(shifted, p[g + "v2h.w"], p[g + "v2h.b"])
            if onehot is not None:
                hc = hc + F.linear(onehot, p[g + "ch.w"])[:, :, None, None]
            v = gate(vc)
            ho = F.conv2d(gate(hc), p[g + "hout.w"], p[g + "hout.b"])
            h = h + ho if l else ho
    else:
        h = mconv(p, "in", x, "A", groups)
        for l in range(cfg["layers"]):
            b = "block%d_" % l
            t = mconv(p, b + "down", F.relu(h), "B", groups)
            t = mconv(p, b + "mid", F.relu(t), "B", groups)
            t = mconv(p, b + "up", F.relu(t), "B", groups)
            h = h + t
    h = mconv(p, "out1", F.relu(h), "B", groups)
    return mconv(p, "out2", F.relu(h), "B", groups)


def net_input(cfg, x):
    if cfg["binarize"] > 0:
        return (x > cfg["binarize"]).float()
    return x


def nll_per_image(cfg, x, logits):
    """-log p(x) per image, in nats."""
    if cfg["binarize"] > 0:
        t = net_input(cfg, x)
        e = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    else:
        n, c, h, w = x.shape
        lv = logits.reshape(n, c, LEVELS, h, w)
        labels = torch.round(x.clamp(0, 1) * (LEVELS - 1)).long()
        e = F.cross_entropy(lv.transpose(1, 2), labels, reduction="none")
    return e.flatten(1).sum(1)


def params(cfg, classes, seed):
    """Parameters named and shaped as dg declares them, PyTorch's Conv2d
    and Linear initializers."""
    torch.manual_seed(seed)
    c, f, oh = cfg["channels"], cfg["features"], cfg["out_hidden"]
    outc = c if cfg["binarize"] > 0 else LEVELS * c
    p = {}

    def conv(name, o, i, kh, kw, bias=True):
        m = torch.nn.Conv2d(i, o, (kh, kw), bias=bias)
        p[name + ".w"] = m.weight.detach().clone()
        if bias:
            p[name + ".b"] = m.bias.detach().clone()

    def linear(name, o, i):
        p[name + ".w"] = torch.nn.Linear(i, o, bias=False).weight.detach().clone()

    if cfg["arch"] == "gated":
        for l in range(cfg["layers"]):
            k, cin, g = (7 if l == 0 else 3), (c if l == 0 else f), "g%d_" % l
            conv(g + "v", 2 * f, cin, k // 2 + 1, k)
            if classes:
                linear(g + "cv", 2 * f, classes)
            conv(g + "h", 2 * f, cin, 1, k // 2 + 1)
            conv(g + "v2h", 2 * f, 2 * f, 1, 1)
            if classes:
                linear(g + "ch", 2 * f, classes)
            conv(g + "hout", f, f, 1, 1)
    else:
        conv("in", f, c, 7, 7)
        for l in range(cfg["layers"]):
            b = "block%d_" % l
            conv(b + "down", f // 2, f, 1, 1)
            conv(b + "mid", f // 2, f // 2, 3, 3)
            conv(b + "up", f, f // 2, 1, 1)
    conv("out1", oh, f, 1, 1)
    conv("out2", outc, oh, 1, 1)
    return {k: v.requires_grad_(True) for k, v in p.items()}


# ---- golden references -------------------------------------------------------

CONFIGS = [
    # name, hyperparameters, shape (C, H, W), classes, batch, graph seed
    ("bin", {"arch": "pixelcnn", "features": 8, "layers": 2, "out_hidden": 8,
             "binarize": 0.5}, (1, 8, 8), 0, 4, 301),
    ("rgb", {"arch": "pixelcnn", "features": 6, "layers": 1, "out_hidden": 6,
             "binarize": 0.0}, (3, 6, 5), 0, 2, 302),
    ("gated", {"arch": "gated", "features": 6, "layers": 3, "out_hidden": 8,
               "binarize": 0.5, "conditional": 1}, (1, 8, 7), 3, 4, 303),
    ("gated-levels", {"arch": "gated", "features": 4, "layers": 2, "out_hidden": 4,
                      "binarize": 0.0}, (1, 6, 6), 0, 2, 304),
]


def main():
    import golden
    torch.set_num_threads(1)
    for name, hp, shape, classes, batch, seed in CONFIGS:
        cfg = dict(hp, channels=shape[0])
        p = params(cfg, classes, seed)
        x, y = golden.data(seed, batch, *shape, classes)
        xt = torch.from_numpy(x)
        onehot = F.one_hot(torch.from_numpy(y).long(), classes).float() if classes else None
        d = shape[0] * shape[1] * shape[2]

        def step(run):
            loss = nll_per_image(cfg, xt, network(p, cfg, net_input(cfg, xt), onehot)).mean()
            return loss, {"nll": loss, "bpd": loss / (math.log(2) * d)}

        sets = ["%s=%s" % (k, v) for k, v in hp.items()]
        golden.write(name, "pixelcnn", sets, seed, shape, classes, x, y, p, step)


if __name__ == "__main__":
    main()
