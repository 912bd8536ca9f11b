"""tests/dgstream.py — the shell tests' reader of dg-stream(5) files, with
python3's standard library alone: each record's dims and values (after
its 128-byte header and its metadata, both padded to 64 bytes).  A test
runs its checks with PYTHONPATH="$DG_SRC/tests" and imports it."""
import array
import struct

TYPECODES = {1: "f", 4: "B"}    # f32, u8


def records(path):
    """[(dims, values)] of every record of the stream file path."""
    b, pos, out = open(path, "rb").read(), 0, []
    while pos < len(b):
        if b[pos:pos + 4] != b"DGST":
            raise ValueError("%s: no record at byte %d" % (path, pos))
        rank = b[pos + 7]
        ml, pl = struct.unpack_from("<QQ", b, pos + 16)
        dims = struct.unpack_from("<%dQ" % rank, b, pos + 32)
        off = pos + 128 + ml + (-(128 + ml) % 64)
        out.append((dims, array.array(TYPECODES[b[pos + 6]], b[off:off + pl])))
        pos = off + pl + (-pl % 64)
    return out


def values(path):
    """The first record's values."""
    return records(path)[0][1]


def all_values(path):
    """Every record's values, one after another."""
    out = array.array("f")
    for _, v in records(path):
        out.extend(v)
    return out
