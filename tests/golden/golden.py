"""golden.py — what the golden training-step scripts (vae.py, ae.py,
classifier.py) share: a writer of dg-stream(5) records, dg's noise, and the
loop that records one training step and the ten after it.

A golden file tests/data/golden/<family>-<config>.dgt is a dg stream whose
records say what they are in their metadata (kind=, name=):

  kind=config  a scalar whose metadata is the setup: family, sets (the
               --set assignments, space-separated), seed (the graph's),
               batch, shape (CxHxW), classes, steps, lr, torch
  kind=input   name=x (f32 batch x C x H x W) and name=y (i32 labels)
  kind=param   every parameter before the first step, in dg's declaration
               order, named as dg names them
  kind=noise   the first step's draws of the graph's random ops (stream=
               DG_OP_STREAM | op, counter=), as the script used them:
               standard normals, or with dist=uniform the uniforms of
               dg_rng_uniform (a denoising model's corruption)
  kind=loss    name=loss: the first step's loss
  kind=term    the family's other reported terms at the first step
  kind=grad    every parameter's gradient at the first step
  kind=losses  name=loss: the losses of the next `steps` steps (same batch)

Optimizer: dg's default, Adam with lr 1e-3, betas (0.9, 0.999), eps 1e-8
(libcore/run/train.c), the same update as torch.optim.Adam.

Noise: dg draws a random op's values inside the graph from Philox keyed by
(graph seed, stream DG_OP_STREAM | the op's index among the graph's random
ops, counter run << 32), run counting the graph's runs from 0
(libcore/graph/graph_impl.h, libcore/cpu/k_eltwise.c).  These scripts do
not reimplement the generator: they call libdg's public dg_rng_normal()
through ctypes (libdg.so from $DG_LIBDG, else build/lib/libdg.so of this
tree, so run `make` first).  The C test then fails if the graph draws other
numbers than the ones recorded here, or if its model differs from the
PyTorch one below. """
import ctypes
import os
import struct
import sys
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "data", "golden")

DG_OP_STREAM = 2 << 40
STEPS = 10
LR = 1e-3

# ---- dg-stream(5) records --------------------------------------------------

DTYPES = {np.dtype("float32"): 1, np.dtype("int32"): 6}


def record(array, meta):
    """One record: 128-byte header, metadata, payload, each padded to 64."""
    a = np.ascontiguousarray(array)
    dtype = DTYPES[a.dtype]
    payload = a.astype(a.dtype.newbyteorder("<")).tobytes()
    text = "".join("%s=%s\n" % (k, v) for k, v in meta.items()).encode()
    head = bytearray(128)
    head[0:4] = b"DGST"
    dims = list(a.shape) + [0] * (8 - a.ndim)
    struct.pack_into("<HBBIIQQ", head, 4, 1, dtype, a.ndim, 0,
                     zlib.crc32(text + payload), len(text), len(payload))
    struct.pack_into("<8Q", head, 32, *dims)
    struct.pack_into("<I", head, 124, zlib.crc32(bytes(head[:124])))
    pad = lambda n: b"\0" * (-n % 64)
    return bytes(head) + text + pad(128 + len(text)) + payload + pad(len(payload))


# ---- dg's noise -------------------------------------------------------------

_lib = None


def libdg():
    global _lib
    if _lib is None:
        path = os.environ.get("DG_LIBDG") or os.path.join(ROOT, "build", "lib", "libdg.so")
        if not os.path.exists(path):
            sys.exit("%s: no libdg at %s (run make, or set DG_LIBDG)" % (sys.argv[0], path))
        _lib = ctypes.CDLL(path)
        _lib.dg_rng_normal.argtypes = [ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64,
                                       ctypes.POINTER(ctypes.c_float), ctypes.c_size_t]
        _lib.dg_rng_normal.restype = None
        _lib.dg_rng_uniform.argtypes = _lib.dg_rng_normal.argtypes
        _lib.dg_rng_uniform.restype = None
    return _lib


def dg_normal(seed, stream, counter, shape):
    """dg_rng_normal(seed, stream, counter): float32 standard normals."""
    out = np.zeros(int(np.prod(shape)), np.float32)
    libdg().dg_rng_normal(seed, stream, counter,
                          out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size)
    return out.reshape(shape)


def dg_uniform(seed, stream, counter, shape):
    """dg_rng_uniform(seed, stream, counter): float32 uniforms in (0, 1)."""
    out = np.zeros(int(np.prod(shape)), np.float32)
    libdg().dg_rng_uniform(seed, stream, counter,
                           out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size)
    return out.reshape(shape)


def op_noise(seed, op, run, shape):
    """What dg's random_normal op number `op` draws at run `run`."""
    return dg_normal(seed, DG_OP_STREAM | op, run << 32, shape)


def op_uniform(seed, op, run, shape):
    """What dg's random_uniform op number `op` draws at run `run`."""
    return dg_uniform(seed, DG_OP_STREAM | op, run << 32, shape)


def corrupt(kind, level, x, draw):
    """x (float32) corrupted as dg_nn_corrupt (dg/nn.h) does, written from
    its description: draw(dist, shape) gives the random op's values
    ("normal" for gauss, else "uniform"), the thresholds are float32."""
    lv = np.float32(level)
    if kind == "gauss":
        return np.clip(x + draw("normal", x.shape) * lv, 0, 1).astype(np.float32)
    u = draw("uniform", x.shape)
    if kind == "mask":
        return x * (u > lv).astype(np.float32)
    half = lv / np.float32(2)
    out = np.where(u > np.float32(1) - half, np.float32(1), x)
    return np.where(u < half, np.float32(0), out).astype(np.float32)


def op_draw(seed, op, run):
    """A draw() for corrupt(): dg's random op number `op` at run `run`."""
    return lambda dist, shape: (op_uniform if dist == "uniform" else op_noise)(
        seed, op, run, shape)


# ---- the recording loop -----------------------------------------------------

def data(seed, n, c, h, w, classes):
    """A batch: pixels uniform in [0, 1), labels uniform over the classes."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, c, h, w), dtype=np.float32)
    y = rng.integers(0, classes, n).astype(np.int32) if classes else None
    return x, y


def write(name, family, sets, seed, shape, classes, x, y, params, step, noise_shape=None):
    """Runs step(params, run) -> (loss, {term: value}) once with gradients,
    then STEPS more Adam steps on the same batch, and writes the file.
    params: name -> leaf tensor requiring grad, in dg's declaration order.
    noise_shape: the shape of random op 0's normals, or a list of (op,
    dist, shape) for several ops, dist "normal" or "uniform"."""
    opt = torch.optim.Adam(list(params.values()), lr=LR, betas=(0.9, 0.999), eps=1e-8)
    init = {k: v.detach().numpy().copy() for k, v in params.items()}
    loss, terms = step(0)
    opt.zero_grad()
    loss.backward()
    grads = {k: v.grad.detach().numpy().copy() for k, v in params.items()}
    first = loss.item()
    opt.step()
    later = []
    for run in range(1, STEPS + 1):
        l, _ = step(run)
        opt.zero_grad()
        l.backward()
        later.append(l.item())
        opt.step()
    c, h, w = shape
    config = {"kind": "config", "family": family, "sets": " ".join(sets), "seed": seed,
              "batch": x.shape[0], "shape": "%dx%dx%d" % (c, h, w), "classes": classes,
              "steps": STEPS, "lr": LR, "torch": torch.__version__,
              "script": "tests/golden/%s.py" % family}
    out = [record(np.zeros((), np.float32), config),
           record(x, {"kind": "input", "name": "x"})]
    if y is not None:
        out.append(record(y, {"kind": "input", "name": "y"}))
    for k, v in init.items():
        out.append(record(v, {"kind": "param", "name": k}))
    if noise_shape is not None and not isinstance(noise_shape, list):
        noise_shape = [(0, "normal", noise_shape)]
    for op, dist, nshape in noise_shape or []:
        meta = {"kind": "noise", "name": "eps", "stream": DG_OP_STREAM | op, "counter": 0}
        if dist == "uniform":
            meta.update(name="u", dist="uniform")
        out.append(record(op_draw(seed, op, 0)(dist, nshape), meta))
    out.append(record(np.float32(first), {"kind": "loss", "name": "loss"}))
    for k, v in terms.items():
        out.append(record(np.float32(v.item()), {"kind": "term", "name": k}))
    for k, v in grads.items():
        out.append(record(v, {"kind": "grad", "name": k}))
    out.append(record(np.array(later, np.float32), {"kind": "losses", "name": "loss"}))
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "%s-%s.dgt" % (family, name))
    with open(path, "wb") as f:
        f.write(b"".join(out))
    print("%s: loss %.6f, then %s" % (path, first, " ".join("%.4f" % l for l in later)))


def write_phases(name, family, sets, seed, shape, x, params, phases, noise_shape=None,
                 classes=0, y=None):
    """The same for a family of several phases (a GAN), each run once per
    iteration in order on the same batch, graph run r being the r-th phase
    run overall.  phases: a list of (phase name, its parameter names,
    torch optimizer over them, step(run) -> (loss, {term: value}), after()
    called after the optimizer step, or None).  Records per phase p:
    kind=loss name=p, its terms, kind=grad name=p/<param> for the phase's
    own parameters at the first iteration, and kind=losses name=p, the
    phase's losses over the next STEPS iterations.  A conditional model
    gives its class count and the batch's labels y."""
    init = {k: v.detach().numpy().copy() for k, v in params.items()}
    first, terms, grads, later = {}, {}, {}, {p[0]: [] for p in phases}
    run = 0
    for it in range(STEPS + 1):
        for pname, names, opt, step, after in phases:
            for v in params.values():
                v.grad = None
            loss, t = step(run)
            loss.backward()
            if it == 0:
                first[pname] = loss.item()
                terms.update({k: v.item() for k, v in t.items()})
                for k in names:
                    g = params[k].grad
                    grads["%s/%s" % (pname, k)] = (np.zeros_like(init[k]) if g is None
                                                   else g.detach().numpy().copy())
            else:
                later[pname].append(loss.item())
            opt.step()
            if after:
                after()
            run += 1
    c, h, w = shape
    config = {"kind": "config", "family": family, "sets": " ".join(sets), "seed": seed,
              "batch": x.shape[0], "shape": "%dx%dx%d" % (c, h, w), "classes": classes,
              "steps": STEPS, "phases": " ".join(p[0] for p in phases),
              "torch": torch.__version__, "script": "tests/golden/%s.py" % family}
    out = [record(np.zeros((), np.float32), config),
           record(x, {"kind": "input", "name": "x"})]
    if y is not None:
        out.append(record(y, {"kind": "input", "name": "y"}))
    for k, v in init.items():
        out.append(record(v, {"kind": "param", "name": k}))
    if noise_shape is not None:
        out.append(record(op_noise(seed, 0, 0, noise_shape),
                          {"kind": "noise", "name": "z", "stream": DG_OP_STREAM,
                           "counter": 0}))
    for pname, *_ in phases:
        out.append(record(np.float32(first[pname]), {"kind": "loss", "name": pname}))
    for k, v in terms.items():
        out.append(record(np.float32(v), {"kind": "term", "name": k}))
    for k, v in grads.items():
        out.append(record(v, {"kind": "grad", "name": k}))
    for pname, *_ in phases:
        out.append(record(np.array(later[pname], np.float32),
                          {"kind": "losses", "name": pname}))
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "%s-%s.dgt" % (family, name))
    with open(path, "wb") as f:
        f.write(b"".join(out))
    print("%s: %s" % (path, ", ".join("%s %.6f then %s" % (
        p, first[p], " ".join("%.4f" % l for l in later[p])) for p in first)))
