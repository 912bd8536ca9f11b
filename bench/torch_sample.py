# bench/torch_sample.py - the whole-process peer of `dg-sample | dg-decode`:
# start Python, import torch, decode 64 standard-normal latents through a
# 20-400-784 MLP decoder (seeded random weights) and write an 8x8 grid of
# 28x28 images as an 8-bit grey PNG to the path given (default
# torch_sample.png).  Timed by bench/run.sh with hyperfine.
import struct
import sys
import zlib

import torch
import torch.nn.functional as F
from torch import nn

torch.set_num_threads(2)
torch.manual_seed(0)
fc3, fc4 = nn.Linear(20, 400), nn.Linear(400, 784)
with torch.no_grad():
    x = torch.sigmoid(fc4(F.relu(fc3(torch.randn(64, 20)))))
grid = (x.view(8, 8, 28, 28).permute(0, 2, 1, 3).reshape(224, 224) * 255).round().to(torch.uint8)
raw = b"".join(b"\0" + bytes(row) for row in grid.tolist())


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 224, 224, 8, 0, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
with open(sys.argv[1] if len(sys.argv) > 1 else "torch_sample.png", "wb") as f:
    f.write(png)
