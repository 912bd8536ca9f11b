#!/usr/bin/python3
"""aae.py — golden references for dg's aae family (plugins/aae.c), written by
PyTorch: tests/data/golden/aae-<config>.dgt, which tests/t_golden.c checks
dg against phase by phase (format and noise: golden.py; phases:
golden.write_phases).

The model, from the family's description with PyTorch's layers: the
encoder x -> two ReLU layers -> a linear code, the decoder z -> two ReLU
layers -> logits, the discriminator z -> two ReLU layers -> one logit;
layers followed by a ReLU He-uniform, the others Glorot-uniform, biases
zero.  Each iteration runs three phases on the same batch:
"reconstruction" (encoder and decoder; BCE with logits or the squared
error of the sigmoid, summed over pixels, averaged over the batch; Adam
lr 1e-3), "discriminator" (BCE of D on prior codes as 1 and on the
encoder's detached codes as 0; Adam lr 2e-4, betas 0.5/0.999) and
"generator" (the encoder, -log D(e(x)); its own Adam, the same settings).

The prior's draws are the graph's random ops in the discriminator's
phase, graph run 3·iteration + 1: N(0, I) is op 0; the 10-Gaussian
mixture draws its component as floor(10u) from op 0's uniforms and its
normals from op 1, and is written here from the family's description
(component k at angle 2πk/10, radius 2, deviations 0.5 along the radius
and 0.1 across, the other coordinates N(0, 1)).
Run after `make`:  /usr/bin/python3 tests/golden/aae.py """
import math

import numpy as np
import torch
import torch.nn.functional as F

import golden

torch.set_num_threads(1)

HIDDEN, D_HIDDEN, LATENT, BATCH, C, H, W = 32, 16, 4, 8, 1, 8, 8
D = C * H * W

CONFIGS = [
    # name, prior, loss, graph seed
    ("gauss-bce", "gauss", "bce", 211),
    ("mog10-mse", "mog10", "mse", 212),
]


def params_for(seed):
    torch.manual_seed(seed)
    p = {}

    def dense(name, out, inp, relu):
        w = torch.empty(out, inp)
        if relu:
            torch.nn.init.kaiming_uniform_(w, nonlinearity="relu")
        else:
            torch.nn.init.xavier_uniform_(w)
        p[name + ".w"], p[name + ".b"] = w, torch.zeros(out)

    dense("enc.fc1", HIDDEN, D, True)
    dense("enc.fc2", HIDDEN, HIDDEN, True)
    dense("enc.code", LATENT, HIDDEN, False)
    dense("dec.fc1", HIDDEN, LATENT, True)
    dense("dec.fc2", HIDDEN, HIDDEN, True)
    dense("dec.out", D, HIDDEN, False)
    dense("D.fc1", D_HIDDEN, LATENT, True)
    dense("D.fc2", D_HIDDEN, D_HIDDEN, True)
    dense("D.out", 1, D_HIDDEN, False)
    return {k: v.clone().requires_grad_(True) for k, v in p.items()}


def mlp(p, net, names, x):
    for i, k in enumerate(names):
        x = F.linear(x, p["%s.%s.w" % (net, k)], p["%s.%s.b" % (net, k)])
        if i < len(names) - 1:
            x = F.relu(x)
    return x


def prior(kind, seed, run):
    if kind == "gauss":
        return torch.from_numpy(golden.op_noise(seed, 0, run, (BATCH, LATENT)))
    u10 = golden.op_uniform(seed, 0, run, (BATCH, 1)) * np.float32(10)
    eps = golden.op_noise(seed, 1, run, (BATCH, LATENT))
    k = np.floor(u10[:, 0]).astype(int)
    th = 2 * math.pi * k / 10
    c = np.cos(th).astype(np.float32)
    s = np.sin(th).astype(np.float32)
    r = 2 + 0.5 * eps[:, 0]
    q = 0.1 * eps[:, 1]
    z = eps.copy()
    z[:, 0] = c * r - s * q
    z[:, 1] = s * r + c * q
    return torch.from_numpy(z.astype(np.float32))


def main():
    for name, kind, loss, seed in CONFIGS:
        p = params_for(seed)
        x, _ = golden.data(seed, BATCH, C, H, W, 0)
        xf = torch.from_numpy(x).flatten(1)
        enc = lambda v: mlp(p, "enc", ["fc1", "fc2", "code"], v)
        dec = lambda z: mlp(p, "dec", ["fc1", "fc2", "out"], z)
        disc = lambda z: mlp(p, "D", ["fc1", "fc2", "out"], z)

        def rec_step(run):
            logits = dec(enc(xf))
            if loss == "bce":
                r = F.binary_cross_entropy_with_logits(logits, xf, reduction="sum") / BATCH
            else:
                r = F.mse_loss(torch.sigmoid(logits), xf, reduction="sum") / BATCH
            return r, {"recon": r}

        def d_step(run):
            sp, sc = disc(prior(kind, seed, run)), disc(enc(xf).detach())
            ld = F.softplus(-sp).mean() + F.softplus(sc).mean()
            return ld, {"loss_d": ld, "d_prior": torch.sigmoid(sp).mean(),
                        "d_code": torch.sigmoid(sc).mean()}

        def g_step(run):
            lg = F.softplus(-disc(enc(xf))).mean()
            return lg, {"loss_g": lg}

        names = lambda *nets: [k for k in p if k.split(".")[0] in nets]
        adam = lambda ks, lr, b1: torch.optim.Adam([p[k] for k in ks], lr=lr,
                                                   betas=(b1, 0.999), eps=1e-8)
        phases = [("reconstruction", names("enc", "dec"), adam(names("enc", "dec"), 1e-3, 0.9),
                   rec_step, None),
                  ("discriminator", names("D"), adam(names("D"), 2e-4, 0.5), d_step, None),
                  ("generator", names("enc"), adam(names("enc"), 2e-4, 0.5), g_step, None)]
        sets = ["prior=%s" % kind, "loss=%s" % loss, "latent=%d" % LATENT,
                "hidden=%d" % HIDDEN, "d_hidden=%d" % D_HIDDEN]
        # write_phases records op 0's normals at the first run; the
        # mixture's op 0 is uniform, checked through the losses instead
        golden.write_phases(name, "aae", sets, seed, (C, H, W), x, p, phases,
                            (BATCH, LATENT) if kind == "gauss" else None)


if __name__ == "__main__":
    main()
