#!/usr/bin/python3
"""denoise.py — the denoising autoencoders' test metric (bench/zoo.sh):
corrupt a stream of clean images as dg_nn_corrupt does in training, and
measure a reconstruction against the clean images.

  denoise.py corrupt KIND LEVEL SEED < clean.dgs > noisy.dgs
      KIND mask|gauss|saltpepper at LEVEL, record r drawn from libdg's
      generator at (SEED, stream 1, counter r << 32): tests/golden/golden.py's
      corrupt(), the reference the golden tests hold dg's training graph to.
  denoise.py mse clean.dgs recon.dgs
      the squared error between the two streams' images, summed over
      pixels and averaged over images (dg-eval's unit for an ae's rec),
      with its standard error, and the same per pixel.

Streams are dg-stream(5) records of f32 or u8 images, read whole. """
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "tests", "golden"))
import golden  # noqa: E402

DTYPES = {1: np.float32, 4: np.uint8}


def records(data):
    """(array, metadata text) of each record of a stream's bytes."""
    pos, pad = 0, lambda n: -n % 64
    while pos < len(data):
        head = data[pos:pos + 128]
        if head[:4] != b"DGST":
            sys.exit("denoise.py: not a dg stream at byte %d" % pos)
        _, dtype, rank, _, _, metalen, paylen = struct.unpack_from("<HBBIIQQ", head, 4)
        dims = struct.unpack_from("<8Q", head, 32)[:rank]
        meta = data[pos + 128:pos + 128 + metalen]
        start = pos + 128 + metalen + pad(128 + metalen)
        a = np.frombuffer(data[start:start + paylen], DTYPES[dtype]).reshape(dims)
        if dtype == 4:
            a = a.astype(np.float32) / 255
        yield a.astype(np.float32), meta.decode()
        pos = start + paylen + pad(paylen)


def images(path):
    with open(path, "rb") as f:
        return np.concatenate([a for a, _ in records(f.read())])


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "corrupt":
        kind, level, seed = sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
        out = sys.stdout.buffer
        for r, (x, meta) in enumerate(records(sys.stdin.buffer.read())):
            draw = lambda dist, shape, r=r: (golden.dg_uniform if dist == "uniform" else
                                             golden.dg_normal)(seed, 1, r << 32, shape)
            noisy = golden.corrupt(kind, level, x, draw)
            keep = dict(l.split("=", 1) for l in meta.splitlines() if "=" in l)
            keep["corruption"] = "%s:%g" % (kind, level)
            out.write(golden.record(noisy, keep))
    elif len(sys.argv) == 4 and sys.argv[1] == "mse":
        a, b = images(sys.argv[2]), images(sys.argv[3])
        if a.shape != b.shape:
            sys.exit("denoise.py: %s is %s, %s is %s" % (sys.argv[2], a.shape, sys.argv[3],
                                                        b.shape))
        e = ((a.astype(np.float64) - b) ** 2).reshape(len(a), -1).sum(1)
        print("%.4f %.4f %.6f %d" % (e.mean(), e.std(ddof=1) / np.sqrt(len(e)),
                                     e.mean() / a[0].size, len(e)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
