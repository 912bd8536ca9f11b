#!/usr/bin/python3
"""gan.py — golden references for dg's gan family (plugins/gan.c), written by
PyTorch: tests/data/golden/gan-<config>.dgt, which tests/t_golden.c checks
dg against (format and noise: golden.py; several phases: write_phases).

The model is written here from the family's description with PyTorch's
layers, as the DCGAN reference implementation (pytorch/examples dcgan)
writes it: G projects z by a bias-free dense layer to ngf·2 maps of 4×4,
batch norm, ReLU, a bias-free 4×4 stride-2 transposed convolution to ngf
maps, batch norm, ReLU, and one to C channels with a bias and a tanh; D
sees 2x - 1 through a 4×4 stride-2 convolution with a bias and a
LeakyReLU(0.2), a bias-free one with batch norm (layer norm over C×H×W
for WGAN-GP) and a LeakyReLU(0.2), then a dense layer to one score.
Weights N(0, 0.02), biases 0, norm scales 1.

Each iteration runs D's step on z drawn by the graph's first random op,
then G's on a fresh z (the last op); WGAN-GP's interpolation weights are
the uniform op between them.  Each network has the optimizer of its loss's
paper: Adam (2e-4, β 0.5/0.999) for ns and hinge, RMSProp (5e-5) with D's
parameters clamped to ±0.01 after each step for wgan, Adam (1e-4, β 0/0.9)
for wgan-gp.  dsteps=1 keeps one D step per iteration (the family's steps
on fresh batches are the trainer's business, tested in tests/gan.t).
The stabilizers are written here independently: one-sided label smoothing
as BCE against 1 - s, the minibatch stddev layer, BigGAN's orthogonal
penalty with its mask, and R1 as a third phase with an optimizer of its
own (run every iteration here; r1_every only scales it).
Conditional models (cond=, 3 classes, the batch's labels for generated
images too) prepend to G's code the embedding of the class; concat
appends D's embedding to its input as maps, projection adds
<embed(y), features> to D's score, acgan adds a class head on D's
features and the softmax cross-entropy of real and fake (D) or fake (G)
images (the fake term weighted by cls_fake for D).  InfoGAN's codes
follow z: one-hot of the argmax of info_cat uniforms (the random op after
z), then 2u - 1 (the next op); a head Q on D's features (a bias-free
dense layer of info_hidden units, batch norm, LeakyReLU(0.2), then the
dense outputs; or the outputs alone with info_hidden=0), λ (cross-entropy
+ ½ Σ (c - mu)²) added to both losses.  fc= (InfoGAN's MNIST networks)
puts a bias-free dense layer of fc units with batch norm and ReLU before
G's projection, and one with batch norm and LeakyReLU(0.2) after D's
flattened features, which D's score and heads then read.
Small sizes (1x16x16 images, batch 8, latent 8, ngf = ndf = 4) keep the
files small.  Run after `make`:  /usr/bin/python3 tests/golden/gan.py
[CONFIG...] (all configurations without arguments) """
import sys

import numpy as np
import torch
import torch.nn.functional as F

import golden

torch.set_num_threads(1)

LATENT, NGF, NDF, BATCH, C, H, W = 8, 4, 4, 8, 1, 16, 16
CLASSES = 3
FEAT = 2 * NDF * (H // 4) * (W // 4)    # D's flattened features

CONFIGS = [
    # name, loss, graph seed, stabilizers
    ("ns", "ns", 201, {}),
    ("wgan-gp", "wgan-gp", 202, {}),
    ("wgan", "wgan", 203, {}),
    ("hinge", "hinge", 204, {}),
    ("minimax", "minimax", 205, {}),
    ("lsgan", "lsgan", 206, {"smooth": "0.1"}),
    # ortho=100: at these weights' scale the penalty then weighs as much
    # as the loss, so its gradient is checked too
    ("ns-stab", "ns", 207, {"smooth": "0.1", "ortho": "100", "r1": "10",
                            "r1_every": "2"}),
    # mbstd apart from r1: R1's gradient of a gradient through the layer's
    # sqrt(var + 1e-8) amplifies float32 rounding near zero variance (on
    # vulkan the two drifted 1e-5 apart by the fifth iteration here)
    ("lsgan-mbstd", "lsgan", 208, {"mbstd": "4"}),
    # conditional models and InfoGAN
    ("cgan-concat", "ns", 209, {"cond": "concat", "embed": "5"}),
    ("cgan-projection", "hinge", 210, {"cond": "projection"}),
    ("acgan", "ns", 211, {"cond": "acgan"}),
    ("acgan-clsfake", "ns", 213, {"cond": "acgan", "cls_fake": "0.25"}),
    ("infogan", "ns", 212, {"info_cat": "3", "info_cont": "2", "info_lambda": "0.5",
                            "info_hidden": "6"}),
    ("infogan-nohidden", "ns", 214, {"info_cat": "3", "info_cont": "1",
                                     "info_hidden": "0"}),
    # InfoGAN's MNIST networks: dense hidden layers in G and D (fc=).  With
    # seed 215 vulkan drifted from PyTorch past 1e-5 (to 8e-5) over the later
    # iterations, its first step as close as cpu's; seeds 216 and 217 hold
    ("infogan-fc", "ns", 217, {"info_cat": "3", "info_cont": "1", "info_hidden": "6",
                               "fc": "10"}),
]


class Setup:
    """What a configuration's stabilizers and conditioning make of the
    model: cond, embedding size, InfoGAN's code sizes and weight."""

    def __init__(self, stab):
        self.cond = stab.get("cond", "none")
        self.embed = int(stab.get("embed", 0)) or CLASSES
        self.cat = int(stab.get("info_cat", 0))
        self.cont = int(stab.get("info_cont", 0))
        self.lam = float(stab.get("info_lambda", 1))
        self.qh = int(stab.get("info_hidden", 128))
        self.cls_fake = float(stab.get("cls_fake", 1))
        self.fc = int(stab.get("fc", 0))
        self.feat = self.fc or FEAT      # what D's score and heads read
        self.classes = CLASSES if self.cond != "none" else 0


def params_for(loss, seed, mbstd, su):
    torch.manual_seed(seed)
    p = {}
    if su.cond != "none":
        p["G.embed.w"] = torch.randn(CLASSES, su.embed)
    zin = LATENT + (su.embed if su.cond != "none" else 0) + su.cat + su.cont

    def normal(name, *shape):
        p[name] = torch.randn(*shape) * 0.02

    def norm(name, *shape):
        p[name + ".w"], p[name + ".b"] = torch.ones(*shape), torch.zeros(*shape)

    if su.fc:
        normal("G.fc.w", su.fc, zin)
        norm("G.fc_bn", su.fc)
    normal("G.proj.w", 2 * NGF * 4 * 4, su.fc or zin)
    norm("G.proj_bn", 2 * NGF)
    normal("G.up1.w", 2 * NGF, NGF, 4, 4)
    norm("G.up1_bn", NGF)
    normal("G.up2.w", NGF, C, 4, 4)
    p["G.up2.b"] = torch.zeros(C)
    if su.cond == "concat":
        p["D.embed.w"] = torch.randn(CLASSES, su.embed)
    normal("D.conv1.w", NDF, C + (su.embed if su.cond == "concat" else 0), 4, 4)
    p["D.conv1.b"] = torch.zeros(NDF)
    normal("D.conv2.w", 2 * NDF, NDF, 4, 4)
    if loss == "wgan-gp":
        norm("D.conv2_norm", 2 * NDF, H // 4, W // 4)
    else:
        norm("D.conv2_norm", 2 * NDF)
    flat = (2 * NDF + (1 if mbstd else 0)) * (H // 4) * (W // 4)
    if su.fc:
        normal("D.fc.w", su.fc, flat)
        norm("D.fc_norm", su.fc)
    normal("D.out.w", 1, su.fc or flat)
    p["D.out.b"] = torch.zeros(1)
    if su.cond == "projection":
        p["D.embed.w"] = torch.randn(CLASSES, su.feat)
    if su.cond == "acgan":
        normal("D.cls.w", CLASSES, su.feat)
        p["D.cls.b"] = torch.zeros(CLASSES)
    if su.cat + su.cont and su.qh:
        normal("D.q_fc.w", su.qh, su.feat)
        norm("D.q_bn", su.qh)
    if su.cat + su.cont:
        normal("D.q.w", su.cat + su.cont, su.qh or su.feat)
        p["D.q.b"] = torch.zeros(su.cat + su.cont)
    return {k: v.detach().clone().requires_grad_(True) for k, v in p.items()}


def generator(p, z, y=None):
    if "G.embed.w" in p:
        z = torch.cat([z, F.embedding(y, p["G.embed.w"])], 1)
    if "G.fc.w" in p:
        z = F.linear(z, p["G.fc.w"])
        z = F.relu(F.batch_norm(z, None, None, p["G.fc_bn.w"], p["G.fc_bn.b"], True))
    h = F.linear(z, p["G.proj.w"]).view(-1, 2 * NGF, H // 4, W // 4)
    h = F.relu(F.batch_norm(h, None, None, p["G.proj_bn.w"], p["G.proj_bn.b"], True))
    h = F.conv_transpose2d(h, p["G.up1.w"], stride=2, padding=1)
    h = F.relu(F.batch_norm(h, None, None, p["G.up1_bn.w"], p["G.up1_bn.b"], True))
    return torch.tanh(F.conv_transpose2d(h, p["G.up2.w"], p["G.up2.b"], stride=2, padding=1))


def minibatch_stddev(x, group):
    """ProGAN's layer as dg documents it: groups are examples n, n+M, ...
    (M = N/group); one more channel, each example's group's standard
    deviation of every feature, sqrt(biased variance + 1e-8), averaged."""
    n, c, h, w = x.shape
    m = n // group
    s = torch.sqrt(x.view(group, m, c, h, w).var(0, unbiased=False) + 1e-8).mean([1, 2, 3])
    return torch.cat([x, s.repeat(group).view(n, 1, 1, 1).expand(n, 1, h, w)], 1)


def ortho(p):
    """BigGAN's orthogonal regularization over G's weights of rank >= 2,
    with the smaller Gram matrix, masked as the paper writes it."""
    total = 0
    for k, v in p.items():
        if not k.startswith("G.") or v.dim() < 2:
            continue
        w = v.reshape(v.shape[0], -1)
        gram = w @ w.t() if w.shape[0] <= w.shape[1] else w.t() @ w
        total = total + ((gram * (1 - torch.eye(gram.shape[0]))) ** 2).sum()
    return total


def discriminator(p, loss, x, mbstd=0, y=None, cond="none", heads=None):
    """D's scores; with heads (a dict), also its class logits ("cls") and
    Q's outputs ("q") where the model has them."""
    if cond == "concat":
        e = F.embedding(y, p["D.embed.w"])
        x = torch.cat([x, e[:, :, None, None].expand(-1, -1, H, W)], 1)
    h = F.leaky_relu(F.conv2d(x, p["D.conv1.w"], p["D.conv1.b"], stride=2, padding=1), 0.2)
    h = F.conv2d(h, p["D.conv2.w"], stride=2, padding=1)
    w, b = p["D.conv2_norm.w"], p["D.conv2_norm.b"]
    if loss == "wgan-gp":
        h = F.layer_norm(h, h.shape[1:], w, b)
    else:
        h = F.batch_norm(h, None, None, w, b, True)
    h = F.leaky_relu(h, 0.2)
    if mbstd:
        h = minibatch_stddev(h, mbstd)
    f = h.flatten(1)
    if "D.fc.w" in p:   # batch norm: the dense layer has no bias
        f = F.linear(f, p["D.fc.w"])
        f = F.batch_norm(f, None, None, p["D.fc_norm.w"], p["D.fc_norm.b"], True)
        f = F.leaky_relu(f, 0.2)
    s = F.linear(f, p["D.out.w"], p["D.out.b"])
    if cond == "projection":
        s = s + (F.embedding(y, p["D.embed.w"]) * f).sum(1, keepdim=True)
    if heads is not None:
        if "D.cls.w" in p:
            heads["cls"] = F.linear(f, p["D.cls.w"], p["D.cls.b"])
        if "D.q_fc.w" in p:   # Q's hidden layer
            f = F.linear(f, p["D.q_fc.w"])
            f = F.batch_norm(f, None, None, p["D.q_bn.w"], p["D.q_bn.b"], True)
            f = F.leaky_relu(f, 0.2)
        if "D.q.w" in p:
            heads["q"] = F.linear(f, p["D.q.w"], p["D.q.b"])
    return s


def info_loss(su, q, cat, cont):
    """InfoGAN's L_I: the categorical code's cross-entropy plus the
    continuous codes' unit-variance Gaussian NLL without its constant."""
    li = 0
    if su.cat:
        li = li + F.cross_entropy(q[:, :su.cat], cat)
    if su.cont:
        li = li + 0.5 * ((q[:, su.cat:] - cont) ** 2).sum(1).mean()
    return li


def losses(loss, r, f, smooth=0.0):
    """(D's loss, G's loss of f, D(x) term, D(G(z)) term); real images'
    target 1 - smooth."""
    if loss in ("ns", "minimax"):
        ld = (F.binary_cross_entropy_with_logits(r, torch.full_like(r, 1 - smooth)) +
              F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
        lg = F.softplus(-f).mean() if loss == "ns" else torch.log1p(-torch.sigmoid(f)).mean()
        return ld, lg, torch.sigmoid(r).mean(), torch.sigmoid(f).mean()
    if loss == "lsgan":
        return (0.5 * ((r - (1 - smooth)) ** 2).mean() + 0.5 * (f ** 2).mean(),
                0.5 * ((f - 1) ** 2).mean(), r.mean(), f.mean())
    if loss == "hinge":
        return F.relu(1 - r).mean() + F.relu(1 + f).mean(), -f.mean(), r.mean(), f.mean()
    return f.mean() - r.mean(), -f.mean(), r.mean(), f.mean()   # wgan, wgan-gp


def codes(su, seed, op, run):
    """z and InfoGAN's codes drawn by dg's random ops from number op on:
    (G's input, the categorical code's values, the continuous codes, the
    next op's number)."""
    z = torch.from_numpy(golden.op_noise(seed, op, run, (BATCH, LATENT)))
    op += 1
    cat = cont = None
    if su.cat:
        u = golden.op_uniform(seed, op, run, (BATCH, su.cat))
        cat = torch.from_numpy(u.argmax(1)).long()
        z = torch.cat([z, F.one_hot(cat, su.cat).float()], 1)
        op += 1
    if su.cont:
        cont = torch.from_numpy(golden.op_uniform(seed, op, run, (BATCH, su.cont)) * 2 - 1)
        z = torch.cat([z, cont], 1)
        op += 1
    return z, cat, cont, op


def main():
    only = sys.argv[1:]
    for name, loss, seed, stab in CONFIGS:
        if only and name not in only:
            continue
        su = Setup(stab)
        smooth = float(stab.get("smooth", 0))
        mbstd = int(stab.get("mbstd", 0))
        beta = float(stab.get("ortho", 0))
        gamma = float(stab.get("r1", 0))
        every = int(stab.get("r1_every", 16))
        p = params_for(loss, seed, mbstd, su)
        x, yl = golden.data(seed, BATCH, C, H, W, su.classes)
        xr = torch.from_numpy(x) * 2 - 1
        y = torch.from_numpy(yl).long() if yl is not None else None
        gnames = [k for k in p if k.startswith("G.")]
        dnames = [k for k in p if k.startswith("D.")]
        d_ops = 1 + (su.cat > 0) + (su.cont > 0)
        gp_op = d_ops if loss == "wgan-gp" else None
        g_op = d_ops + (1 if loss == "wgan-gp" else 0)
        if loss == "wgan":
            mk = lambda names: torch.optim.RMSprop([p[k] for k in names], lr=5e-5,
                                                   alpha=0.99, eps=1e-8)
        elif loss == "wgan-gp":
            mk = lambda names: torch.optim.Adam([p[k] for k in names], lr=1e-4,
                                                betas=(0.0, 0.9), eps=1e-8)
        else:
            mk = lambda names: torch.optim.Adam([p[k] for k in names], lr=2e-4,
                                                betas=(0.5, 0.999), eps=1e-8)

        def D(x, heads=None):
            return discriminator(p, loss, x, mbstd, y, su.cond, heads)

        def d_step(run):
            z, cat, cont, _ = codes(su, seed, 0, run)
            fake = generator(p, z, y).detach()
            hr, hf = {}, {}
            r, f = D(xr, hr), D(fake, hf)
            ld, _, dx, dgz = losses(loss, r, f, smooth)
            terms = {"loss_d": ld, "d_x": dx, "d_gz": dgz}
            if gp_op is not None:
                e = torch.from_numpy(golden.op_uniform(seed, gp_op, run, (BATCH, 1, 1, 1)))
                xh = (e * xr + (1 - e) * fake).requires_grad_(True)
                grad, = torch.autograd.grad(D(xh).sum(), xh, create_graph=True)
                gp = 10 * ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
                ld = ld + gp
                terms["loss_d"], terms["gp"] = ld, gp
            total = ld
            if su.cond == "acgan":
                ce = F.cross_entropy(hr["cls"], y) + su.cls_fake * F.cross_entropy(hf["cls"], y)
                terms["cls_d"], total = ce, total + ce
            if su.cat + su.cont:
                li = info_loss(su, hf["q"], cat, cont)
                terms["info_d"], total = li, total + su.lam * li
            return total, terms

        def g_step(run):
            z, cat, cont, _ = codes(su, seed, g_op, run)
            hf = {}
            lg = losses(loss, xr[:1], D(generator(p, z, y), hf))[1]
            terms, total = {"loss_g": lg}, lg
            if beta:
                o = beta * ortho(p)
                terms["ortho"], total = o, total + o
            if su.cond == "acgan":
                ce = F.cross_entropy(hf["cls"], y)
                terms["cls_g"], total = ce, total + ce
            if su.cat + su.cont:
                li = info_loss(su, hf["q"], cat, cont)
                terms["info_g"], total = li, total + su.lam * li
            return total, terms

        def r1_step(run):
            xg = xr.clone().requires_grad_(True)
            grad, = torch.autograd.grad(D(xg).sum(), xg, create_graph=True)
            r1 = 0.5 * gamma * every / BATCH * (grad ** 2).sum()
            return r1, {"r1": r1}

        def clip():
            with torch.no_grad():
                for k in dnames:
                    p[k].clamp_(-0.01, 0.01)

        sets = ["loss=%s" % loss, "latent=%d" % LATENT, "ngf=%d" % NGF, "ndf=%d" % NDF,
                "dsteps=1", "ema=0"] + ["%s=%s" % kv for kv in stab.items()]
        phases = [("discriminator", dnames, mk(dnames), d_step,
                   clip if loss == "wgan" else None),
                  ("generator", gnames, mk(gnames), g_step, None)]
        if gamma:   # its own optimizer state, as dg keeps for a second phase of D
            phases.append(("r1", dnames, mk(dnames), r1_step, None))
        golden.write_phases(name, "gan", sets, seed, (C, H, W), x, p, phases,
                            (BATCH, LATENT), su.classes, yl)


if __name__ == "__main__":
    main()
