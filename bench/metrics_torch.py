#!/usr/bin/python3
"""metrics_torch.py — dg-eval's sample metrics recomputed in PyTorch
(float64) from the same features, as a cross-check: FID with LAPACK's
general eigensolver on the non-symmetric product S1·S2 (torch.linalg.eigvals;
tr sqrt(S1 S2) is the sum of the square roots of its eigenvalues) and with a
symmetric eigh of S1^1/2 S2 S1^1/2, KID on the very subsets dg draws (its
Philox permutations, called through libdg with ctypes), the Inception Score,
and precision and recall from torch.cdist.  Used by bench/metrics_torch.sh.

Usage: metrics_torch.py SAMPLES_CACHE REFERENCE_CACHE KID_SUBSETS KID_SIZE SEED K SPLITS
where the caches are the files dg-eval writes beside the extractor (a
stream of records kind=features, probs, ...; dg-stream(5)).  Prints one
`name value` line per metric.  $DG_LIBDG names libdg.so (default: this
tree's build/lib/libdg.so). """
import ctypes
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def records(path):
    """kind -> array for each record of a dg stream file."""
    out = {}
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off < len(data):
        head = data[off:off + 128]
        _, dtype, rank, _, _, mlen, plen = struct.unpack_from("<HBBIIQQ", head, 4)
        dims = struct.unpack_from("<8Q", head, 32)[:rank]
        meta = data[off + 128:off + 128 + mlen].decode()
        off += 128 + mlen + (-(128 + mlen) % 64)
        kind = dict(l.split("=", 1) for l in meta.splitlines())["kind"]
        np_type = {1: "<f4", 8: "<f8"}[dtype]
        out[kind] = np.frombuffer(data[off:off + plen], np_type).reshape(dims)
        off += plen + (-plen % 64)
    return out


def fid(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = torch.cov(a.T), torch.cov(b.T)
    # general eigenvalues of the non-symmetric product (LAPACK geev)
    ev = torch.linalg.eigvals(s1 @ s2)
    tr_geev = ev.real.clamp(min=0).sqrt().sum()
    # the symmetric route, by torch's eigh
    w, v = torch.linalg.eigh(s1)
    r1 = (v * w.clamp(min=0).sqrt()) @ v.T
    tr_eigh = torch.linalg.eigvalsh(r1 @ s2 @ r1).clamp(min=0).sqrt().sum()
    base = ((mu1 - mu2) ** 2).sum() + s1.trace() + s2.trace()
    return (base - 2 * tr_geev).item(), (base - 2 * tr_eigh).item(), ev.imag.abs().max().item()


def permutation(lib, n, seed, which):
    out = (ctypes.c_uint64 * n)()
    if lib.dg_dataset_permutation(ctypes.c_uint64(n), ctypes.c_uint64(seed),
                                  ctypes.c_uint64(which), out):
        sys.exit("dg_dataset_permutation failed")
    return torch.tensor(list(out), dtype=torch.long)


def kid(lib, x, y, subsets, size, seed):
    d = x.shape[1]
    m = min(size, x.shape[0], y.shape[0])
    vals = []
    for s in range(subsets):
        a = x[permutation(lib, x.shape[0], seed, 2 * s)[:m]]
        b = y[permutation(lib, y.shape[0], seed, 2 * s + 1)[:m]]
        kxx = (a @ a.T / d + 1) ** 3
        kyy = (b @ b.T / d + 1) ** 3
        kxy = (a @ b.T / d + 1) ** 3
        v = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1)) + \
            (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * kxy.mean()
        vals.append(v.item())
    t = torch.tensor(vals, dtype=torch.float64)
    return t.mean().item(), t.std(unbiased=False).item()


def inception_score(p, splits):
    n = p.shape[0]
    scores = []
    for s in range(splits):
        q = p[n * s // splits:n * (s + 1) // splits]
        py = q.mean(0, keepdim=True)
        kl = torch.where(q > 0, q * (q.log() - py.log()), torch.zeros_like(q)).sum(1)
        scores.append(kl.mean().exp().item())
    t = torch.tensor(scores, dtype=torch.float64)
    return t.mean().item(), t.std(unbiased=False).item()


def radii(x, k):
    r = torch.empty(x.shape[0], dtype=torch.float64)
    for i in range(0, x.shape[0], 1000):
        d = torch.cdist(x[i:i + 1000], x)
        d[torch.arange(d.shape[0]), torch.arange(i, i + d.shape[0])] = float("inf")
        r[i:i + 1000] = d.kthvalue(k, 1).values
    return r


def precision_recall(real, fake, k):
    rr, rf = radii(real, k), radii(fake, k)
    inside_real = torch.zeros(fake.shape[0], dtype=torch.bool)
    inside_fake = torch.zeros(real.shape[0], dtype=torch.bool)
    for i in range(0, fake.shape[0], 1000):
        d = torch.cdist(fake[i:i + 1000], real)
        inside_real[i:i + 1000] = (d <= rr[None, :]).any(1)
        inside_fake |= (d <= rf[i:i + 1000, None]).any(0)
    return inside_real.double().mean().item(), inside_fake.double().mean().item()


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    torch.set_num_threads(int(os.environ.get("DG_THREADS", "2")))
    lib = ctypes.CDLL(os.environ.get("DG_LIBDG") or
                      os.path.join(HERE, "..", "build", "lib", "libdg.so"))
    lib.dg_dataset_permutation.restype = ctypes.c_int
    g, r = records(sys.argv[1]), records(sys.argv[2])
    subsets, size, seed, k, splits = (int(v) for v in sys.argv[3:])
    gf = torch.from_numpy(g["features"].astype(np.float64))
    rf = torch.from_numpy(r["features"].astype(np.float64))
    f_geev, f_eigh, imag = fid(gf, rf)
    print("fid.geev %.9g" % f_geev)
    print("fid.eigh %.9g" % f_eigh)
    print("fid.geev_max_imag %.3g" % imag)
    print("kid %.9g %.9g" % kid(lib, gf, rf, subsets, size, seed))
    print("is %.9g %.9g" % inception_score(torch.from_numpy(g["probs"].astype(np.float64)),
                                            splits))
    print("precision_recall %.9g %.9g" % precision_recall(rf, gf, k))


if __name__ == "__main__":
    main()
