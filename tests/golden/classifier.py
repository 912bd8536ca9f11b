#!/usr/bin/python3
"""classifier.py — golden references for dg's classifier family
(plugins/classifier.c), written by PyTorch: tests/data/golden/classifier-<config>.dgt,
which tests/t_golden.c checks dg against (format and noise: golden.py).  Run
it once after `make`, with Debian's python3-torch:
    /usr/bin/python3 tests/golden/classifier.py

The model, from the family's description with PyTorch's own layers: two
stages of two 3x3 convolutions (no bias) each followed by batch norm (batch
statistics, as in training) and a ReLU, each stage ending in a 2x2 max pool;
a dense layer (no bias) to the features, batch norm and ReLU; dropout; a
dense layer to the class logits; the mean softmax cross-entropy of the
labels.  The reported accuracy is the fraction of the batch whose largest
logit is its label.  "noise" also flips images left-right where dg's
uniform draw u of op 0 (one per image) has 0.5 - u > 0, and drops features
where the draw of op 1 has 0.5 - u <= 0 (scaling the rest by 2), with the
uniforms of dg's generator for each run.  Small sizes (width 3, 8 features,
1x8x8 images, 5 classes, batch 8) keep the files small. """
import numpy as np
import torch
import torch.nn.functional as F

import golden

torch.set_num_threads(1)

WIDTH, FEATURES, CLASSES, BATCH, C, H, W = 3, 8, 5, 8, 1, 8, 8

CONFIGS = [
    # name, --set assignments, graph seed
    ("plain", {"dropout": "0", "flip": "0"}, 301),
    ("noise", {"dropout": "0.5", "flip": "1"}, 302),
]


def params_for(seed):
    """The family's parameters in its declaration order, initialized as it
    initializes them: convolutions and fc He-uniform, batch norms 1 and 0,
    the class layer as nn.Linear."""
    torch.manual_seed(seed)
    p = {}

    def he(name, shape):
        w = torch.empty(*shape)
        torch.nn.init.kaiming_uniform_(w, nonlinearity="relu")
        p[name + ".w"] = w

    def bn(name, c):
        p[name + ".w"], p[name + ".b"] = torch.ones(c), torch.zeros(c)

    chans = [(C, WIDTH), (WIDTH, WIDTH), (WIDTH, 2 * WIDTH), (2 * WIDTH, 2 * WIDTH)]
    for i, (cin, cout) in enumerate(chans, 1):
        he("conv%d" % i, (cout, cin, 3, 3))
        bn("bn%d" % i, cout)
    he("fc", (FEATURES, 2 * WIDTH * (H // 4) * (W // 4)))
    bn("bn5", FEATURES)
    lin = torch.nn.Linear(FEATURES, CLASSES)
    p["out.w"], p["out.b"] = lin.weight, lin.bias
    return {k: v.detach().clone().requires_grad_(True) for k, v in p.items()}


def keep(seed, op, run, shape, prob):
    """dg's Bernoulli(prob): 1 where prob - u > 0, u from op's uniforms."""
    u = golden.op_uniform(seed, op, run, shape)
    return torch.from_numpy(((np.float32(prob) - u) > 0).astype(np.float32))


def make_step(p, cfg, x, y, seed):
    dropout = float(cfg["dropout"])
    flip = cfg["flip"] == "1"
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
    n = x.shape[0]

    def conv_bn(h, i):
        h = F.conv2d(h, p["conv%d.w" % i], None, padding=1)
        h = F.batch_norm(h, None, None, p["bn%d.w" % i], p["bn%d.b" % i], training=True)
        return F.relu(h)

    def step(run):
        h = xt
        op = 0
        if flip:
            which = keep(seed, op, run, (n, 1, 1, 1), 0.5)
            h = torch.where(which > 0, h.flip(-1), h)
            op += 1
        h = F.max_pool2d(conv_bn(conv_bn(h, 1), 2), 2)
        h = F.max_pool2d(conv_bn(conv_bn(h, 3), 4), 2)
        h = F.linear(h.flatten(1), p["fc.w"])
        h = F.relu(F.batch_norm(h, None, None, p["bn5.w"], p["bn5.b"], training=True))
        if dropout > 0:
            h = h * keep(seed, op, run, (n, FEATURES), 1 - dropout) * (1 / (1 - dropout))
        logits = F.linear(h, p["out.w"], p["out.b"])
        loss = F.cross_entropy(logits, yt)
        accuracy = (logits.argmax(1) == yt).float().mean()
        return loss, {"accuracy": accuracy}
    return step


def main():
    for name, cfg, seed in CONFIGS:
        p = params_for(seed)
        x, y = golden.data(seed, BATCH, C, H, W, CLASSES)
        sets = ["width=%d" % WIDTH, "features=%d" % FEATURES] + \
            ["%s=%s" % kv for kv in cfg.items()]
        golden.write(name, "classifier", sets, seed, (C, H, W), CLASSES, x, y, p,
                     make_step(p, cfg, x, y, seed))


if __name__ == "__main__":
    main()
