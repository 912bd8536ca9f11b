#!/usr/bin/python3
"""ae.py — golden references for dg's ae family (plugins/ae.c), written by
PyTorch: tests/data/golden/ae-<config>.dgt, which tests/t_golden.c checks
dg against (format: golden.py).  Run it once after `make`, with Debian's
python3-torch:  /usr/bin/python3 tests/golden/ae.py

The model, from the family's description with PyTorch's own layers and
losses: x -> ReLU hidden layer -> a linear code -> ReLU hidden layer ->
logits; the loss is the squared error of sigmoid(logits) (loss=mse) or the
binary cross-entropy with logits (loss=bce), summed over pixels and averaged
over the batch.  Layers followed by a ReLU are He-uniform, the others
Glorot-uniform, biases zero, as the family initializes them.  The
conv architecture's bodies are the layer library's, shared with the vae
and covered by vae-conv-gauss.

The denoising AE (noise=...) encodes a corrupted copy of the batch (the
graph's random op 0, drawn through libdg: golden.corrupt) and is scored
against the clean one.  The contractive AE's penalty is computed here the
slow, general way: each example's Jacobian of the code by PyTorch's
autograd (torch.autograd.functional.jacobian, with create_graph so that the
penalty has gradients), squared and summed, averaged over the batch; dg
uses a closed form, so agreement checks the algebra too. """
import torch
import torch.nn.functional as F

import golden

torch.set_num_threads(1)

HIDDEN, LATENT, BATCH, C, H, W = 32, 4, 8, 1, 8, 8
D = C * H * W

CONFIGS = [
    # name, --set assignments, graph seed
    ("mlp", {"loss": "mse"}, 201),
    ("bce", {"loss": "bce"}, 202),
    ("dae-mask", {"loss": "bce", "noise": "mask", "noise_level": "0.3"}, 203),
    ("dae-gauss", {"loss": "mse", "noise": "gauss", "noise_level": "0.2"}, 204),
    ("dae-saltpepper", {"loss": "bce", "noise": "saltpepper", "noise_level": "0.4"}, 205),
    ("cae", {"loss": "mse", "contractive": "0.5"}, 206),
    ("cdae", {"loss": "bce", "noise": "mask", "noise_level": "0.2", "contractive": "2"}, 207),
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
    dense("enc.code", LATENT, HIDDEN, False)
    dense("dec.fc1", HIDDEN, LATENT, True)
    dense("dec.out", D, HIDDEN, False)
    return {k: v.clone().requires_grad_(True) for k, v in p.items()}


def encode(p, x):
    h = F.relu(F.linear(x, p["enc.fc1.w"], p["enc.fc1.b"]))
    return F.linear(h, p["enc.code.w"], p["enc.code.b"])


def make_step(p, cfg, x, seed):
    bce = cfg["loss"] == "bce"
    noise = cfg.get("noise")
    level = float(cfg.get("noise_level", 0))
    lam = float(cfg.get("contractive", 0))
    xf = torch.from_numpy(x).flatten(1)
    n = x.shape[0]

    def step(run):
        xin = xf
        if noise:
            xin = torch.from_numpy(golden.corrupt(noise, level, x, golden.op_draw(seed, 0, run)))
            xin = xin.flatten(1)
        z = encode(p, xin)
        h = F.relu(F.linear(z, p["dec.fc1.w"], p["dec.fc1.b"]))
        logits = F.linear(h, p["dec.out.w"], p["dec.out.b"])
        if bce:
            rec = F.binary_cross_entropy_with_logits(logits, xf, reduction="sum") / n
        else:
            rec = F.mse_loss(torch.sigmoid(logits), xf, reduction="sum") / n
        if not lam:
            return rec, {"recon": rec}
        jac = sum(torch.autograd.functional.jacobian(lambda v: encode(p, v), xin[i],
                                                     create_graph=True).pow(2).sum()
                  for i in range(n)) / n
        return rec + lam * jac, {"recon": rec, "jac": jac}
    return step


def main():
    for name, cfg, seed in CONFIGS:
        p = params_for(seed)
        x, _ = golden.data(seed, BATCH, C, H, W, 0)
        sets = ["hidden=%d" % HIDDEN, "latent=%d" % LATENT] + \
            ["%s=%s" % kv for kv in cfg.items()]
        noise = None
        if "noise" in cfg:
            noise = [(0, "normal" if cfg["noise"] == "gauss" else "uniform", (BATCH, C, H, W))]
        golden.write(name, "ae", sets, seed, (C, H, W), 0, x, None, p,
                     make_step(p, cfg, x, seed), noise)


if __name__ == "__main__":
    main()
