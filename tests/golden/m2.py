#!/usr/bin/python3
"""m2.py — golden references for dg's m2 family (plugins/m2.c), the
semi-supervised VAE of Kingma et al. (2014), written by PyTorch:
tests/data/golden/m2-<config>.dgt, which tests/t_golden.c checks dg against
(format and noise: golden.py).  Run it once after `make`, with Debian's
python3-torch:  /usr/bin/python3 tests/golden/m2.py

The model, written here from the family's description: a classifier
q(y|x) (a ReLU hidden layer, then K logits), an encoder q(z|x,y) (the
one-hot class appended to the flat image, a ReLU hidden layer, then mean
and log-variance) and a decoder p(x|y,z) (the one-hot appended to z, a ReLU
hidden layer, Bernoulli logits).  Every image is paired with every class,
class-major (row c*n + i: image i, class c), with one z each from dg's
generator (random op 0, (K*n) x latent).  L(x,y) = BCE + KL + log K;
labelled images (y >= 0) add alpha * -log q(y|x) to L(x,y), unlabelled ones
(y = -1) score sum_y q(y|x) (L(x,y) + log q(y|x)); the loss is the batch
mean.  Configurations: a batch all labelled, one all unlabelled, and a
mixed one.  Small sizes (hidden 16, latent 4, 1x8x8, 3 classes, batch 8). """
import math

import numpy as np
import torch
import torch.nn.functional as F

import golden

torch.set_num_threads(1)

HIDDEN, LATENT, BATCH, C, H, W, K = 16, 4, 8, 1, 8, 8, 3
D = C * H * W

CONFIGS = [
    # name, --set assignments, which labels are hidden (-1), graph seed
    ("labelled", {"alpha": "1"}, [], 201),
    ("unlabelled", {}, list(range(BATCH)), 202),
    ("mixed", {"alpha": "2.5"}, [0, 2, 3, 6], 203),
]


def params_for(seed):
    """dg's declaration order: the encoder and decoder (applied first, in
    the bounds), then the classifier; every layer as nn.Linear."""
    torch.manual_seed(seed)
    p = {}
    for name, out, inp in [("enc.fc1", HIDDEN, D + K), ("enc.mu", LATENT, HIDDEN),
                           ("enc.logvar", LATENT, HIDDEN), ("dec.fc1", HIDDEN, LATENT + K),
                           ("dec.out", D, HIDDEN), ("cls.fc1", HIDDEN, D),
                           ("cls.out", K, HIDDEN)]:
        lin = torch.nn.Linear(inp, out)
        p[name + ".w"], p[name + ".b"] = lin.weight, lin.bias
    return {k: v.detach().clone().requires_grad_(True) for k, v in p.items()}


def lin(p, name, h):
    return F.linear(h, p[name + ".w"], p[name + ".b"])


def make_step(p, cfg, x, y, seed):
    alpha = float(cfg.get("alpha", 1))
    xf = torch.from_numpy(x).flatten(1)
    yt = torch.from_numpy(y).long()
    n = x.shape[0]
    lab = (yt >= 0).float()
    oh_lab = F.one_hot(yt.clamp(min=0), K).float() * lab[:, None]
    xk = xf.repeat(K, 1)
    ohk = F.one_hot(torch.arange(K).repeat_interleave(n), K).float()

    def step(run):
        h = F.relu(lin(p, "enc.fc1", torch.cat([xk, ohk], 1)))
        mu, logvar = lin(p, "enc.mu", h), lin(p, "enc.logvar", h)
        eps = torch.from_numpy(golden.op_noise(seed, 0, run, (K * n, LATENT)))
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = lin(p, "dec.out", F.relu(lin(p, "dec.fc1", torch.cat([z, ohk], 1))))
        rec = F.binary_cross_entropy_with_logits(logits, xk, reduction="none").sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        bound = (rec + kl + math.log(K)).view(K, n).t()          # n x K
        logp = F.log_softmax(lin(p, "cls.out", F.relu(lin(p, "cls.fc1", xf))), 1)
        q = logp.exp()
        lab_bound = (oh_lab * bound).sum(1)
        lab_cls = -(oh_lab * logp).sum(1)
        unl = (q * (bound + logp)).sum(1)
        per = lab_bound + (1 - lab) * unl
        loss = (per + alpha * lab_cls).mean()
        right = lab * (logp.argmax(1) == yt).float()
        acc = right.sum() / lab.sum().clamp(min=1)
        return loss, {"bound": per.mean(), "labelled": lab.mean(), "accuracy": acc}
    return step


def main():
    for name, cfg, hidden, seed in CONFIGS:
        p = params_for(seed)
        x, y = golden.data(seed, BATCH, C, H, W, K)
        y[hidden] = -1
        sets = ["hidden=%d" % HIDDEN, "latent=%d" % LATENT] + \
            ["%s=%s" % kv for kv in cfg.items()]
        golden.write(name, "m2", sets, seed, (C, H, W), K, x, y, p,
                     make_step(p, cfg, x, y, seed), (K * BATCH, LATENT))


if __name__ == "__main__":
    main()
