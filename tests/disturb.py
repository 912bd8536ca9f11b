#!/usr/bin/python3
"""disturb.py — image records (dg-stream(5)) on stdin, the same images
disturbed on stdout: the disturbances of Heusel et al. 2017 (section 4 and
appendix A2) with which FID is checked to grow with the disturbance, used by
tests/dg-eval-samples.t and bench/disturbance.sh:

    dg-encode fashion-mnist-test | tests/disturb.py blur 1.5 | dg-eval ...

KIND LEVEL:
  gauss S       add N(0, S^2) noise to every pixel, clipped to [0, 1]
  blur S        Gaussian blur of standard deviation S pixels (edges reflected)
  saltpepper P  a fraction P of the pixels set to 0 or 1 (half each)
  rects N       N rectangles of 8x8 pixels, each copied from the same place
                of another image of the stream (swapped in)
  shuffle P     the pixels of each image permuted at random (P = 1: all of
                them; P < 1: a random fraction P of them among themselves)
  noise 0       images of uniform noise instead
  none 0        the images as they are (f32)

--seed S (default 0) seeds numpy's generator.  Records may be f32 in [0, 1]
or u8; all are written as f32 N x C x H x W with space=image and the input
record's labels= when it has them.  Needs numpy (python3-numpy). """
import struct
import sys
import zlib

import numpy as np

HEAD = 128
ALIGN = 64


def read_exact(f, n):
    b = f.read(n)
    if len(b) != n:
        sys.exit("disturb.py: truncated stream")
    return b


def records(f):
    """(metadata dict, array) for each record of the stream f."""
    while True:
        head = f.read(HEAD)
        if not head:
            return
        if len(head) != HEAD or head[:4] != b"DGST":
            sys.exit("disturb.py: not a dg stream")
        _, dtype, rank, _, _, meta_len, payload_len = struct.unpack_from("<HBBIIQQ", head, 4)
        dims = struct.unpack_from("<8Q", head, 32)[:rank]
        text = read_exact(f, meta_len)
        read_exact(f, -(HEAD + meta_len) % ALIGN)
        payload = read_exact(f, payload_len)
        read_exact(f, -payload_len % ALIGN)
        meta = dict(line.split("=", 1) for line in text.decode().splitlines() if "=" in line)
        if dtype == 1:
            a = np.frombuffer(payload, "<f4").reshape(dims).astype(np.float32)
        elif dtype == 4:
            a = np.frombuffer(payload, np.uint8).reshape(dims).astype(np.float32) / 255
        else:
            sys.exit("disturb.py: record of dtype %d, want f32 or u8 images" % dtype)
        yield meta, a


def record(a, meta):
    """One record: header, metadata, payload, each padded to 64 bytes."""
    a = np.ascontiguousarray(a, "<f4")
    payload = a.tobytes()
    text = "".join("%s=%s\n" % kv for kv in meta.items()).encode()
    head = bytearray(HEAD)
    head[0:4] = b"DGST"
    struct.pack_into("<HBBIIQQ", head, 4, 1, 1, a.ndim, 0, zlib.crc32(text + payload),
                     len(text), len(payload))
    struct.pack_into("<8Q", head, 32, *(list(a.shape) + [0] * (8 - a.ndim)))
    struct.pack_into("<I", head, 124, zlib.crc32(bytes(head[:124])))
    return bytes(head) + text + b"\0" * (-(HEAD + len(text)) % ALIGN) + payload + \
        b"\0" * (-len(payload) % ALIGN)


def blur(x, s):
    """Separable Gaussian blur of the last two axes, edges reflected."""
    if s <= 0:
        return x
    r = max(1, int(np.ceil(3 * s)))
    w = np.exp(-0.5 * (np.arange(-r, r + 1) / s) ** 2)
    w /= w.sum()
    for axis in (-2, -1):
        pad = [(0, 0)] * x.ndim
        pad[axis] = (r, r)
        p = np.pad(x, pad, mode="reflect")
        n = x.shape[axis]
        out = np.zeros_like(x)
        for k in range(2 * r + 1):
            out += w[k] * np.take(p, range(k, k + n), axis=axis)
        x = out
    return x


def disturb(x, kind, level, rng, pool):
    n = x.shape[0]
    if kind == "none":
        return x
    if kind == "gauss":
        return np.clip(x + rng.normal(0, level, x.shape), 0, 1)
    if kind == "blur":
        return blur(x, level)
    if kind == "saltpepper":
        hit = rng.random(x.shape) < level
        return np.where(hit, (rng.random(x.shape) < 0.5).astype(np.float32), x)
    if kind == "noise":
        return rng.random(x.shape)
    if kind == "shuffle":
        flat = x.reshape(n, -1).copy()
        d = flat.shape[1]
        for i in range(n):
            idx = np.flatnonzero(rng.random(d) < level) if level < 1 else np.arange(d)
            flat[i, idx] = flat[i, rng.permutation(idx)]
        return flat.reshape(x.shape)
    if kind == "rects":
        out = x.copy()
        h, w = x.shape[-2:]
        for i in range(n):
            for _ in range(int(level)):
                other = pool[rng.integers(len(pool))]
                t, l = rng.integers(0, h - 8 + 1), rng.integers(0, w - 8 + 1)
                out[i, ..., t:t + 8, l:l + 8] = other[..., t:t + 8, l:l + 8]
        return out
    sys.exit("disturb.py: unknown kind %s" % kind)


def main():
    args = sys.argv[1:]
    seed = 0
    if len(args) >= 2 and args[0] == "--seed":
        seed = int(args[1])
        args = args[2:]
    if len(args) != 2:
        sys.exit(__doc__)
    kind, level = args[0], float(args[1])
    rng = np.random.default_rng(seed)
    inp = sys.stdin.buffer
    out = sys.stdout.buffer
    # rects swap in pieces of other images: keep a pool of the images seen
    pool = []
    for meta, a in records(inp):
        if a.ndim != 4:
            sys.exit("disturb.py: a record of rank %d, want N x C x H x W images" % a.ndim)
        if kind == "rects":
            pool.extend(a[:256])
            pool = pool[-4096:]
        b = disturb(a, kind, level, rng, pool).astype(np.float32)
        m = {"space": "image"}
        if "labels" in meta:
            m["labels"] = meta["labels"]
        if "classes" in meta:
            m["classes"] = meta["classes"]
        out.write(record(b, m))


if __name__ == "__main__":
    main()
