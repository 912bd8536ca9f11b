# bench/dg_checkpoint.py - reads a dg checkpoint (dg-checkpoint(5): a tar,
# gzipped or not, of dg-stream(5) records) into numpy arrays, so that the
# PyTorch peers can evaluate dg's trained weights or start from dg's own
# initial draws.
import struct
import tarfile

import numpy as np

DTYPES = {1: np.float32, 4: np.uint8, 5: np.int8, 6: np.int32, 7: np.int64, 8: np.float64}


def record(b):
    """The array of one dg-stream(5) record (bytes of the whole member)."""
    if b[:4] != b"DGST":
        raise ValueError("not a dg-stream record")
    dtype, rank = DTYPES[b[6]], b[7]
    meta_len, payload_len = struct.unpack_from("<QQ", b, 16)
    dims = struct.unpack_from("<%dQ" % rank, b, 32)
    off = 128 + meta_len + (-(128 + meta_len) % 64)
    a = np.frombuffer(b, np.dtype(dtype).newbyteorder("<"), int(np.prod(dims, dtype=np.int64)), off)
    return a.reshape(dims).astype(dtype)


def read(path):
    """(manifest as a dict, {member name without .dgt: array})."""
    manifest, arrays = {}, {}
    with tarfile.open(path, "r:*") as t:
        for m in t.getmembers():
            data = t.extractfile(m).read()
            if m.name == "manifest":
                for line in data.decode().splitlines():
                    k, _, v = line.partition("=")
                    manifest[k] = v
            elif m.name.endswith(".dgt"):
                arrays[m.name[:-4]] = record(data)
    return manifest, arrays


def params(path):
    """The parameters {name: float32 array} as dg names them (in.w, ...)."""
    _, a = read(path)
    return {k[len("params/"):]: v for k, v in a.items() if k.startswith("params/")}


def initial_params(path):
    """The parameters before the first step of a checkpoint taken after
    exactly one Adam step (dg-train -n BATCH -e 1): that step moved each
    parameter by lr·m̂/(√v̂ + ε) with m̂ = m/(1-β1), v̂ = v/(1-β2), which the
    saved moments give back."""
    man, a = read(path)
    if man.get("step") != "1":
        raise ValueError("%s: step %s, not 1" % (path, man.get("step")))
    opt = dict(kv.split("=", 1) for kv in man["phase.nll"].split()[1:])
    lr, b1, b2, eps = (float(opt[k]) for k in ("lr", "beta1", "beta2", "eps"))
    out = {}
    for k, p in a.items():
        if not k.startswith("params/"):
            continue
        name = k[len("params/"):]
        m = a["optim/%s.m" % name].astype(np.float64) / (1 - b1)
        v = a["optim/%s.v" % name].astype(np.float64) / (1 - b2)
        out[name] = (p.astype(np.float64) + lr * m / (np.sqrt(v) + eps)).astype(np.float32)
    return out


def order(count, seed, epoch, lib=None):
    """dg-train's order of the images in epoch (0 first) for --seed seed:
    libdg's own dg_dataset_permutation (libdg.so from $DG_LIBDG, else this
    tree's build/lib), so a peer can visit the images as dg does."""
    import ctypes
    import os
    path = lib or os.environ.get("DG_LIBDG") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "build", "lib", "libdg.so")
    dg = ctypes.CDLL(path)
    dg.dg_dataset_permutation.argtypes = [ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64,
                                          ctypes.POINTER(ctypes.c_uint64)]
    dg.dg_dataset_permutation.restype = ctypes.c_int
    out = np.zeros(count, np.uint64)
    if dg.dg_dataset_permutation(count, seed, epoch,
                                 out.ctypes.data_as(ctypes.POINTER(ctypes.c_uint64))):
        raise RuntimeError("dg_dataset_permutation failed")
    return out.astype(np.int64)
