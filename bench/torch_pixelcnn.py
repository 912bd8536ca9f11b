# bench/torch_pixelcnn.py - PyTorch peer of dg's pixelcnn family: the very
# model of tests/golden/pixelcnn.py (which the golden test holds dg's to),
# trained and sampled the way dg-train and dg-sample do it.
#
#   torch_pixelcnn.py bench [SETS...]
#       training images/s (Adam steps on one batch of 64, median) and the
#       straightforward sampling loop's images/s: 64 images of 28x28, one
#       full forward pass per pixel, Bernoulli draws (make bench); then,
#       without SETS, Gated PixelCNN's training images/s at features=16
#       (torch.gated.train, bench/train_pixelcnn.sh's dg.gated.epoch) and
#       its sampling loop on GATED_SAMPLE_N images (16; torch.gated.sample,
#       beside dg.gated.sample).  BENCH_SAMPLE=0 leaves the sampling loops
#       out; SAMPLE_N: the images of the first loop (64).
#   torch_pixelcnn.py train EPOCHS [SETS...]
#       trains on Fashion-MNIST statically binarized at 0.5 (x > 0.5),
#       batch 64, Adam lr 1e-3, data shuffled each epoch, the last partial
#       batch dropped (as dg-train), weights with PyTorch's initializers;
#       prints each epoch's mean training NLL and images/s, then the test
#       set's NLL in nats per image and bits per dimension.  LIMIT: the
#       first LIMIT training images only; LIMIT_TEST: the first test images;
#       SEED: the seed of weights and data order (1).
#       conditional=1 feeds the labels (class biases).  INIT=CK.dgm: start
#       from dg's own initial draws instead, those of a checkpoint that
#       dg-train wrote after exactly one step (-n 64 -e 1 -b 64 --seed S:
#       the step is undone from its saved Adam moments); ORDER=dg: visit
#       the images in dg-train's order for the same seed (libdg's
#       permutation) instead of torch.randperm's.
#   torch_pixelcnn.py eval CK.dgm [SETS...]
#       the test NLL (LIMIT_TEST images) of the weights of dg's checkpoint
#       CK.dgm in this PyTorch model: beside dg-eval's of the same file, it
#       says whether the two evaluate alike.
#
# SETS are dg's hyperparameters (arch=gated features=32 layers=5
# out_hidden=32, binarize is 0.5 here); DG_THREADS threads (default 2).
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import dg_checkpoint  # noqa: E402
from torch_common import THREADS, report, time_calls

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "golden"))
import pixelcnn as model  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
BATCH = 64


def config(args):
    cfg = {"arch": "pixelcnn", "features": 32, "layers": 5, "out_hidden": 32,
           "binarize": 0.5, "channels": 1}
    for a in args:
        k, v = a.split("=", 1)
        cfg[k] = v if k == "arch" else float(v) if k == "binarize" else int(v)
    return cfg


def idx_images(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    n, h, w = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
    x = np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, h, w)
    return torch.from_numpy(x.astype(np.float32) / 255)


def idx_labels(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    return torch.from_numpy(np.frombuffer(raw, np.uint8, offset=8).astype(np.int64))


def loss_of(p, cfg, x, y=None):
    oh = F.one_hot(y, 10).float() if y is not None else None
    logits = model.network(p, cfg, model.net_input(cfg, x), oh)
    return model.nll_per_image(cfg, x, logits)


def sample(p, cfg, n, h, w, gen):
    """The straightforward loop: one full forward pass per pixel."""
    x = torch.zeros(n, 1, h, w)
    with torch.no_grad():
        for i in range(h):
            for j in range(w):
                logits = model.network(p, cfg, x)[:, 0, i, j]
                u = torch.rand(n, generator=gen)
                x[:, 0, i, j] = (u < torch.sigmoid(logits)).float()
    return x


def bench_train(cfg):
    p = model.params(cfg, 0, 1)
    opt = torch.optim.Adam(list(p.values()), lr=1e-3)
    x = (torch.rand(BATCH, 1, 28, 28) > 0.5).float()

    def step():
        opt.zero_grad()
        loss_of(p, cfg, x).mean().backward()
        opt.step()
    med, best = time_calls(step, 1.0)
    name = "torch.%s.train" % cfg["arch"]
    report(name, BATCH / med, "images/s", "Adam steps, batch %d of 28x28, features=%d, best %.1f, "
           "%d threads" % (BATCH, cfg["features"], BATCH / best, THREADS))
    return p


def bench_sample(p, cfg, n):
    gen = torch.Generator().manual_seed(1)
    t0 = time.perf_counter()
    sample(p, cfg, n, 28, 28, gen)
    t = time.perf_counter() - t0
    report("torch.%s.sample" % cfg["arch"], n / t, "images/s",
           "%d images of 28x28, features=%d, a full forward pass per pixel, %.1f s"
           % (n, cfg["features"], t))


def bench(args):
    cfg = config(args)
    p = bench_train(cfg)
    gated = config(["arch=gated", "features=16"])
    pg = bench_train(gated) if not args else None
    if os.environ.get("BENCH_SAMPLE", "1") == "0":
        return
    bench_sample(p, cfg, int(os.environ.get("SAMPLE_N") or 64))
    if pg is not None:
        bench_sample(pg, gated, int(os.environ.get("GATED_SAMPLE_N") or 16))


def train(args):
    epochs, cfg = int(args[0]), config(args[1:])
    seed = int(os.environ.get("SEED") or 1)
    cond = cfg.get("conditional", 0)
    p = model.params(cfg, 10 if cond else 0, seed)  # seeds the data order too
    if os.environ.get("INIT"):
        p = from_dg(dg_checkpoint.initial_params(os.environ["INIT"]), p)
    opt = torch.optim.Adam(list(p.values()), lr=1e-3)
    xs, ys = idx_images("train-images-idx3-ubyte.gz"), idx_labels("train-labels-idx1-ubyte.gz")
    limit = int(os.environ.get("LIMIT") or 0)
    if limit:
        xs, ys = xs[:limit], ys[:limit]
    print("# %s, %d training images, %d epochs, batch %d, %d threads" %
          (" ".join("%s=%s" % kv for kv in cfg.items()), len(xs), epochs, BATCH, THREADS),
          flush=True)
    for e in range(epochs):
        perm = torch.randperm(len(xs))
        if os.environ.get("ORDER") == "dg":
            perm = torch.from_numpy(dg_checkpoint.order(len(xs), seed, e))
        t0, total, steps = time.perf_counter(), 0.0, 0
        for s in range(len(xs) // BATCH):
            b = perm[s * BATCH:(s + 1) * BATCH]
            opt.zero_grad()
            loss = loss_of(p, cfg, xs[b], ys[b] if cond else None).mean()
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        t = time.perf_counter() - t0
        print("epoch %d/%d: nll %.3f, %.1f images/s, %.1f s" %
              (e + 1, epochs, total / steps, steps * BATCH / t, t), flush=True)
    test(p, cfg, cond)


def test_data():
    xt, yt = idx_images("t10k-images-idx3-ubyte.gz"), idx_labels("t10k-labels-idx1-ubyte.gz")
    limit = int(os.environ.get("LIMIT_TEST") or 0)
    return (xt[:limit], yt[:limit]) if limit else (xt, yt)


def test(p, cfg, cond):
    xt, yt = test_data()
    with torch.no_grad():
        nll = torch.cat([loss_of(p, cfg, xt[i:i + 500], yt[i:i + 500] if cond else None)
                         for i in range(0, len(xt), 500)])
    m = nll.mean().item()
    print("test nll %.3f nats/image (± %.3f), %.4f bits/dim, %d images" %
          (m, nll.std().item() / math.sqrt(len(nll)), m / (28 * 28 * math.log(2)), len(nll)),
          flush=True)


def from_dg(arrays, like):
    """dg's parameters as this model's: the same names and shapes."""
    if set(arrays) != set(like):
        sys.exit("dg's parameters %s are not the model's %s" % (sorted(arrays), sorted(like)))
    for k, v in like.items():
        if tuple(v.shape) != arrays[k].shape:
            sys.exit("%s: dg's shape %s, the model's %s" % (k, arrays[k].shape, tuple(v.shape)))
    return {k: torch.from_numpy(arrays[k].copy()).requires_grad_(True) for k in like}


def evaluate(args):
    cfg = config(args[1:])
    cond = cfg.get("conditional", 0)
    p = from_dg(dg_checkpoint.params(args[0]), model.params(cfg, 10 if cond else 0, 1))
    test(p, cfg, cond)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "train":
        train(sys.argv[2:])
    elif len(sys.argv) > 2 and sys.argv[1] == "eval":
        evaluate(sys.argv[2:])
    else:
        bench(sys.argv[2:] if len(sys.argv) > 1 and sys.argv[1] == "bench" else [])
