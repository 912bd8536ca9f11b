#!/usr/bin/env python3
# ckedit.py — test helper: rewrites manifest keys of a dg checkpoint
# (dg-checkpoint(5)), as a hostile or damaged file would have them, and
# keeps the file otherwise valid: the manifest's checksum line is
# recomputed, the members are copied as they are, the output is a plain
# tar.
#
#   ckedit.py IN.dgm OUT.dgm key=value...
import io
import sys
import tarfile
import zlib


def main():
    src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tarfile.open(src, "r:*") as tin:
        members = [(m, tin.extractfile(m).read()) for m in tin.getmembers()]
    out = []
    for m, data in members:
        if m.name == "manifest":
            lines = [l for l in data.decode().split("\n") if l and not l.startswith("checksum=")]
            for e in edits:
                key = e.split("=", 1)[0]
                lines = [l for l in lines if not l.startswith(key + "=")] if e.endswith("=") \
                    else [e if l.startswith(key + "=") else l for l in lines]
                if not e.endswith("=") and not any(l.startswith(key + "=") for l in lines):
                    lines.insert(3, e)
            text = "".join(l + "\n" for l in lines)
            text += "checksum=%08x\n" % (zlib.crc32(text.encode()) & 0xFFFFFFFF)
            data = text.encode()
            m.size = len(data)
        out.append((m, data))
    with tarfile.open(dst, "w", format=tarfile.USTAR_FORMAT) as tout:
        for m, data in out:
            tout.addfile(m, io.BytesIO(data))


main()
