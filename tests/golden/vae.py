#!/usr/bin/python3
"""vae.py — golden references for dg's vae family (plugins/vae.c), written by
PyTorch: tests/data/golden/vae-<config>.dgt, which tests/t_golden.c checks
dg against (format and noise: golden.py).  Run it once after `make`, with
Debian's python3-torch:  /usr/bin/python3 tests/golden/vae.py

The model is written here from the family's description, with PyTorch's
own layers and losses, not from dg's code: an encoder (two 4x4 stride-2
convolutions of 32 and 64 channels for arch=conv, then a ReLU hidden layer)
giving the mean and log-variance of q(z|x); z = mu + exp(logvar/2)·eps with
eps from dg's generator; a decoder mirroring it to logits; a Bernoulli
likelihood (BCE with logits) or a Gaussian one with mean sigmoid(logits)
and log-variance clamp(10·dec.logvar, -7, 2); the analytic KL times beta;
with iwae_k = K > 1 the importance-weighted bound over K draws.  The one-hot
label is appended to the encoder's dense input and to z for the
conditional VAE.  The denoising VAE (noise=...) encodes a corrupted copy
of the batch (random op 0, golden.corrupt; eps is then op 1) and scores
the reconstruction against the clean batch.  The feature-consistent VAE
(dfc=...) adds dfc_weight * sum_l 0.5 |phi_l(x) - phi_l(xhat)|^2 per image,
xhat = sigmoid(logits), phi_l the ReLU outputs of a dg classifier's conv1,
conv2 and (after a 2x2 max pool) conv3, batch norm from its running
statistics; that classifier, tests/data/golden/vae-dfc-classifier.dgm, is
trained here by dg-train once (a 1x8x8 toy set) and read back with tarfile.  Small sizes (hidden 32, latent 4, 1x8x8 images, batch 8)
keep the files small. """
import math
import os
import struct
import subprocess
import tarfile
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch.distributions import Normal

import golden

torch.set_num_threads(1)

HIDDEN, LATENT, BATCH, C, H, W = 32, 4, 8, 1, 8, 8
D = C * H * W
CONV1, CONV2 = 32, 64

CONFIGS = [
    # name, --set assignments, classes, graph seed
    ("mlp", {}, 0, 101),
    ("cvae", {"conditional": "1", "beta": "2"}, 10, 102),
    ("iwae", {"iwae_k": "3"}, 0, 103),
    ("conv-gauss", {"arch": "conv", "likelihood": "gaussian"}, 0, 104),
    ("dvae", {"noise": "saltpepper", "noise_level": "0.3", "beta": "1.5"}, 0, 105),
    ("dvae-gauss", {"noise": "gauss", "noise_level": "0.25", "iwae_k": "2"}, 0, 106),
    ("dfc", {"dfc": "tests/data/golden/vae-dfc-classifier.dgm", "dfc_weight": "0.7",
             "beta": "0.5"}, 0, 107),
]
DFC_CLF = os.path.join(golden.ROOT, "tests", "data", "golden", "vae-dfc-classifier.dgm")


def dfc_classifier():
    """The fixed classifier of the dfc config: trained by dg-train once
    (64 random 8x8 images in 3 classes, width 2, one epoch of batches of 8,
    so that batch norm's running statistics moved), then its convolutions
    and batch norms by name."""
    if not os.path.exists(DFC_CLF):
        rng = np.random.default_rng(7)
        with tempfile.TemporaryDirectory() as d:
            x = rng.random((64, 1, 8, 8), dtype=np.float32)
            y = rng.integers(0, 3, 64)
            meta = {"space": "image", "classes": "a,b,c",
                    "labels": ",".join(str(int(v)) for v in y)}
            open(os.path.join(d, "t.dgs"), "wb").write(golden.record(x, meta))
            subprocess.run([os.path.join(golden.ROOT, "build", "bin", "dg-train"), "-q",
                            "-p", "classifier", "-d", os.path.join(d, "t.dgs"),
                            "--set", "width=2", "--set", "features=4", "-b", "8", "-e", "1",
                            "--seed", "3", "--plain", "--device", "cpu", "-o", DFC_CLF],
                           check=True)
    out = {}
    with tarfile.open(DFC_CLF) as tf:
        for m in tf.getmembers():
            if not m.name.startswith("params/") or not m.name.endswith(".dgt"):
                continue
            b = tf.extractfile(m).read()
            _, dtype, rank, _, _, ml, pl = struct.unpack_from("<HBBIIQQ", b, 4)
            dims = struct.unpack_from("<8Q", b, 32)[:rank]
            off = 128 + ml + (-(128 + ml) % 64)
            a = np.frombuffer(b[off:off + pl], np.float32).reshape(dims)
            out[m.name[7:-4]] = torch.from_numpy(a.copy())
    return out


def dfc_features(clf, x):
    """phi_1..3 of images x: conv (3x3, pad 1) + batch norm (running
    statistics, eps 1e-5) + ReLU, written with PyTorch's own batch_norm."""
    feats, h = [], x
    for i in (1, 2, 3):
        if i == 3:
            h = F.max_pool2d(h, 2)
        h = F.conv2d(h, clf["conv%d.w" % i], padding=1)
        h = F.relu(F.batch_norm(h, clf["bn%d.mean" % i], clf["bn%d.var" % i],
                                clf["bn%d.w" % i], clf["bn%d.b" % i], False, 0.0, 1e-5))
        feats.append(h)
    return feats


def params_for(conv, gaussian, classes, seed):
    """The family's parameters in its declaration order, initialized as
    it initializes them: dense layers as nn.Linear, convolutions He-uniform
    with zero biases, dec.logvar 0."""
    torch.manual_seed(seed)
    p = {}

    def dense(name, out, inp):
        lin = torch.nn.Linear(inp, out)
        p[name + ".w"], p[name + ".b"] = lin.weight, lin.bias

    def conv_w(name, a, b, nbias):   # conv: out x in; transposed: in x out
        w = torch.empty(a, b, 4, 4)
        torch.nn.init.kaiming_uniform_(w, nonlinearity="relu")
        p[name + ".w"], p[name + ".b"] = w, torch.zeros(nbias)

    flat = D
    if conv:
        conv_w("enc.conv1", CONV1, C, CONV1)
        conv_w("enc.conv2", CONV2, CONV1, CONV2)
        flat = CONV2 * (H // 4) * (W // 4)
    dense("enc.fc1", HIDDEN, flat + classes)
    dense("enc.mu", LATENT, HIDDEN)
    dense("enc.logvar", LATENT, HIDDEN)
    dense("dec.fc1", HIDDEN, LATENT + classes)
    if conv:
        dense("dec.fc2", flat, HIDDEN)
        conv_w("dec.deconv1", CONV2, CONV1, CONV1)
        conv_w("dec.deconv2", CONV1, C, C)
    else:
        dense("dec.out", D, HIDDEN)
    if gaussian:
        p["dec.logvar"] = torch.zeros(1)
    return {k: v.detach().clone().requires_grad_(True) for k, v in p.items()}


def encoder(p, conv, x, oh):
    h = x
    if conv:
        h = F.relu(F.conv2d(h, p["enc.conv1.w"], p["enc.conv1.b"], stride=2, padding=1))
        h = F.relu(F.conv2d(h, p["enc.conv2.w"], p["enc.conv2.b"], stride=2, padding=1))
    h = h.flatten(1)
    if oh is not None:
        h = torch.cat([h, oh], 1)
    h = F.relu(F.linear(h, p["enc.fc1.w"], p["enc.fc1.b"]))
    return (F.linear(h, p["enc.mu.w"], p["enc.mu.b"]),
            F.linear(h, p["enc.logvar.w"], p["enc.logvar.b"]))


def decoder(p, conv, z, oh):
    h = z if oh is None else torch.cat([z, oh], 1)
    h = F.relu(F.linear(h, p["dec.fc1.w"], p["dec.fc1.b"]))
    if not conv:
        return F.linear(h, p["dec.out.w"], p["dec.out.b"])
    h = F.relu(F.linear(h, p["dec.fc2.w"], p["dec.fc2.b"]))
    h = h.view(-1, CONV2, H // 4, W // 4)
    h = F.relu(F.conv_transpose2d(h, p["dec.deconv1.w"], p["dec.deconv1.b"], stride=2,
                                  padding=1))
    h = F.conv_transpose2d(h, p["dec.deconv2.w"], p["dec.deconv2.b"], stride=2, padding=1)
    return h.flatten(1)


def log_px(p, gaussian, logits, xf):
    """log p(x|z) summed over pixels (last axis)."""
    if not gaussian:
        return -F.binary_cross_entropy_with_logits(logits, xf.expand_as(logits),
                                                   reduction="none").sum(-1)
    lv = torch.clamp(10 * p["dec.logvar"], -7, 2)
    return Normal(torch.sigmoid(logits), torch.exp(0.5 * lv)).log_prob(xf).sum(-1)


def make_step(p, cfg, x, y, classes, seed):
    conv = cfg.get("arch") == "conv"
    gaussian = cfg.get("likelihood") == "gaussian"
    beta = float(cfg.get("beta", 1))
    k = int(cfg.get("iwae_k", 1))
    noise = cfg.get("noise")
    level = float(cfg.get("noise_level", 0))
    eps_op = 1 if noise else 0
    clf = dfc_classifier() if "dfc" in cfg else None
    dfc_w = float(cfg.get("dfc_weight", 1))
    xt = torch.from_numpy(x)
    xf = xt.flatten(1)
    oh = F.one_hot(torch.from_numpy(y).long(), classes).float() if classes else None
    n = x.shape[0]

    def step(run):
        xin = xt
        if noise:
            xin = torch.from_numpy(golden.corrupt(noise, level, x, golden.op_draw(seed, 0, run)))
        mu, logvar = encoder(p, conv, xin, oh)
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum() / n
        std = torch.exp(0.5 * logvar)
        if k == 1:
            eps = torch.from_numpy(golden.op_noise(seed, eps_op, run, (n, LATENT)))
            logits = decoder(p, conv, mu + std * eps, oh)
            if gaussian:
                rec = -log_px(p, gaussian, logits, xf).sum() / n
            else:
                rec = F.binary_cross_entropy_with_logits(logits, xf, reduction="sum") / n
            loss = rec + beta * kl
            if clf is not None:
                xhat = torch.sigmoid(logits).view(n, C, H, W)
                dfc = sum(0.5 * (a - b).pow(2).sum()
                          for a, b in zip(dfc_features(clf, xt), dfc_features(clf, xhat))) / n
                loss = loss + dfc_w * dfc
                return loss, {"recon": rec, "kl": kl, "dfc": dfc}
        else:
            eps = torch.from_numpy(golden.op_noise(seed, eps_op, run, (k, n, LATENT)))
            z = mu + std * eps                                   # k x n x latent
            ohk = None if oh is None else oh.repeat(k, 1)
            logits = decoder(p, conv, z.reshape(k * n, LATENT), ohk).view(k, n, D)
            lpx = log_px(p, gaussian, logits, xf)                # k x n
            lpz = Normal(0.0, 1.0).log_prob(z).sum(-1)
            lqz = Normal(mu, std).log_prob(z).sum(-1)
            logw = lpx + beta * (lpz - lqz)
            loss = -(torch.logsumexp(logw, 0) - math.log(k)).mean()
            rec = -lpx.mean()
        return loss, {"recon": rec, "kl": kl}
    return step


def main():
    for name, cfg, classes, seed in CONFIGS:
        conv = cfg.get("arch") == "conv"
        gaussian = cfg.get("likelihood") == "gaussian"
        k = int(cfg.get("iwae_k", 1))
        p = params_for(conv, gaussian, classes, seed)
        x, y = golden.data(seed, BATCH, C, H, W, classes)
        sets = ["hidden=%d" % HIDDEN, "latent=%d" % LATENT] + \
            ["%s=%s" % kv for kv in cfg.items()]
        noise = (BATCH, LATENT) if k == 1 else (k, BATCH, LATENT)
        if "noise" in cfg:
            dist = "normal" if cfg["noise"] == "gauss" else "uniform"
            noise = [(0, dist, (BATCH, C, H, W)), (1, "normal", noise)]
        golden.write(name, "vae", sets, seed, (C, H, W), classes, x, y, p,
                     make_step(p, cfg, x, y, classes, seed), noise)


if __name__ == "__main__":
    main()
