#!/usr/bin/env python3
# streamtool.py — test helper for dg-decode.t and toygan.t: writes
# dg-stream(5) records from man/dg-stream.5 (independently of libdg) and
# reads PNG pixels back.
#
#   streamtool.py write DTYPE DIMS [key=value...]  record to stdout; element
#                                                  i holds (37*i + 11) % 256
#                                                  (divided by 255 for floats)
#   streamtool.py image DIMS K    sha256 of image K of such a record, as
#                                 interleaved 8-bit samples
#   streamtool.py png FILE        "W H COLOURTYPE DEPTH sha256" of a PNG's
#                                 samples (8-bit, non-interlaced)
#   streamtool.py points N SEED [flip]
#                                 N points of eight Gaussian blobs on a ring
#                                 in [0,1]^2 as one N×1×1×2 f32 image
#                                 record; flip writes 1 - each point
import hashlib
import struct
import sys
import zlib

DTYPES = {"f32": (1, "<f"), "f16": (2, "<e"), "u8": (4, "B"), "f64": (8, "<d"),
          "i32": (6, "<i")}


def value(i):
    return (37 * i + 11) % 256


def write(dtype, dims, meta, vals=None):
    code, fmt = DTYPES[dtype]
    count = 1
    for d in dims:
        count *= d
    if vals is None:
        vals = [value(i) for i in range(count)]
        if fmt != "B" and fmt != "<i":
            vals = [v / 255.0 for v in vals]
    payload = b"".join(struct.pack(fmt, v) for v in vals)
    text = "".join(m + "\n" for m in meta).encode()
    crc = zlib.crc32(payload, zlib.crc32(text))
    dimbytes = b"".join(struct.pack("<Q", d) for d in dims) + bytes(8 * (8 - len(dims)))
    h = b"DGST" + struct.pack("<HBBII", 1, code, len(dims), 0, crc)
    h += struct.pack("<QQ", len(text), len(payload)) + dimbytes + bytes(28)
    h += struct.pack("<I", zlib.crc32(h))
    assert len(h) == 128
    out = h + text + bytes(-(128 + len(text)) % 64) + payload + bytes(-len(payload) % 64)
    sys.stdout.buffer.write(out)


def image(dims, k):
    n, c, h, w = dims
    base = k * c * h * w
    samples = bytearray()
    for y in range(h):
        for x in range(w):
            for ch in range(c):
                samples.append(value(base + (ch * h + y) * w + x))
    return hashlib.sha256(bytes(samples)).hexdigest()


def png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert depth == 8 and interlace == 0 and ctype in (0, 2)
    ch = 3 if ctype == 2 else 1
    raw = zlib.decompress(idat)
    stride = w * ch
    prev = bytearray(stride)
    out = bytearray()
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b = prev[i]
            c = prev[i - ch] if i >= ch else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        out += line
        prev = line
    print(w, h, ctype, depth, hashlib.sha256(bytes(out)).hexdigest())


def points(n, seed, flip):
    import math
    import random
    rng = random.Random(seed)
    vals = []
    for _ in range(n):
        a = 2 * math.pi * rng.randrange(8) / 8
        for v in (0.5 + 0.35 * math.cos(a), 0.5 + 0.35 * math.sin(a)):
            v = min(1.0, max(0.0, v + rng.gauss(0, 0.02)))
            # 1 - v of the stored float, so that x2 = 1 - x holds exactly
            v = struct.unpack("<f", struct.pack("<f", v))[0]
            vals.append(1 - v if flip else v)
    write("f32", [n, 1, 1, 2], ["space=image"], vals)


def dims_of(s):
    return [int(d) for d in s.split("x")]


if sys.argv[1] == "write":
    write(sys.argv[2], dims_of(sys.argv[3]), sys.argv[4:])
elif sys.argv[1] == "image":
    print(image(dims_of(sys.argv[2]), int(sys.argv[3])))
elif sys.argv[1] == "png":
    png(sys.argv[2])
elif sys.argv[1] == "points":
    points(int(sys.argv[2]), int(sys.argv[3]), len(sys.argv) > 4 and sys.argv[4] == "flip")
