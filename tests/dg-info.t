#!/bin/sh
# dg-info.t — dg-info on the committed streams of tests/data/stream (made by
# t_stream_files' writer): text and JSON output, exit statuses, messages,
# devices, a closed pipe.
src=${DG_SRC:-.}
data=$src/tests/data/stream
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
# run CMD...: status in $st, stdout in $tmp/out, stderr in $tmp/err
run() { "$@" > "$tmp/out" 2> "$tmp/err"; st=$?; }
is() { [ "$1" = "$2" ]; t $? "$3 (got '$1', want '$2')"; }
json_ok() { if command -v jq > /dev/null; then jq -e . "$1" > /dev/null 2>&1
	else python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$1"; fi; }

# ---- known streams ---------------------------------------------------------
run dg-info "$data/mixed.dgs"
is $st 0 "mixed.dgs: exit 0"
cmp -s "$tmp/out" "$data/mixed.info"; t $? "mixed.dgs: text output as recorded in mixed.info"
[ ! -s "$tmp/err" ]; t $? "mixed.dgs: nothing on stderr"
grep -q '^   4  bf16  1x1x1x1x1x1x1x1          2  ok   long=x\{37\}\.\.\.$' "$tmp/out"
t $? "long metadata value cut to 40 characters"
grep -q 'quote=say "hi"\\ \\x09tab ünï$' "$tmp/out"; t $? "control characters escaped in text"

dg-info --json < "$data/mixed.dgs" > "$tmp/out"
is $? 0 "--json: exit 0"
cmp -s "$tmp/out" "$data/mixed.json"; t $? "--json output as recorded in mixed.json"
json_ok "$tmp/out"; t $? "--json output parses as JSON"
is "$(wc -l < "$tmp/out" | tr -d ' ')" 7 "--json: one line per record"
if command -v jq > /dev/null; then
	is "$(jq -c 'select(.index == 0) | .shape' "$tmp/out")" "[2,1,4,4]" "--json shape"
	is "$(jq -r 'select(.index == 5) | .meta.quote' "$tmp/out")" \
		"$(printf 'say "hi"\\ \ttab ünï')" "--json metadata survives escaping"
	is "$(jq -r 'select(.index == 3) | .shape | length' "$tmp/out")" 0 "scalar has shape []"
	is "$(jq -r '.checksum' "$tmp/out" | sort -u)" ok "--json: all checksums ok"
	is "$(dg-info --json "$data/mixed.dgs" | jq -r 'select(.index == 1) | .file')" \
		"$data/mixed.dgs" "--json names the file"
else
	for i in 1 2 3 4 5; do t 1 "jq is not installed (make deps)"; done
fi

dg-info < "$data/latent.dgs" > "$tmp/out" 2> "$tmp/err"
is $? 0 "stdin: exit 0"
is "$(cat "$tmp/out")" "   0  f32   2x3                    24  ok   space=latent" "stdin: latent.dgs"
cat "$data/latent.dgs" "$data/mixed.dgs" | dg-info - > "$tmp/out"
is "$(wc -l < "$tmp/out" | tr -d ' ')" 8 "a concatenation through a pipe: 1 + 7 records"
dg-info --json - < "$data/latent.dgs" > "$tmp/out"
grep -q '^{"file":"-","index":0,"offset":0,"dtype":"f32","shape":\[2,3\],"bytes":24,"meta":{"space":"latent"},"checksum":"ok"}$' "$tmp/out"
t $? "--json on stdin names it \"-\""
run dg-info "$data/latent.dgs" "$data/latent.dgs"
is "$(grep -c "^$data/latent.dgs:    0  f32" "$tmp/out")" 2 "several files: lines start with the file name"
long="$tmp/a-folder-name-long-enough-to-pass-the-metadata-cut/and-more"
mkdir -p "$long" && cp "$data/latent.dgs" "$long/latent.dgs"
run dg-info "$long/latent.dgs" "$data/latent.dgs"
is "$(grep -c "^$long/latent.dgs:    0  f32" "$tmp/out")" 1 "several files: a long file name is never cut"
run dg-info < /dev/null
is "$st:$(cat "$tmp/out" "$tmp/err")" "0:" "empty input is an empty stream"

run dg-info "$data/meta.dgs"
is "$(cat "$tmp/out")" "   0  u8    1                       1  ok   exact40=$(printf '%038d' 0 | tr 0 a)éé over40=$(printf '%037d' 0 | tr 0 b)... esc=\\x1b[31mred empty= eq=a=b=c" \
	"text: 40 characters shown whole, 41 cut, escape character escaped"
dg-info --json < "$data/meta.dgs" > "$tmp/out"
grep -q '"esc":"\\u001b\[31mred","empty":"","eq":"a=b=c"' "$tmp/out"; t $? "--json escapes control characters"
if command -v jq > /dev/null; then
	is "$(jq -r '.meta.over40' "$tmp/out")" "$(printf '%039d' 0 | tr 0 b)éé" "--json values are never cut"
else
	t 1 "jq is not installed (make deps)"
fi
odd="$tmp/$(printf 'odd\377name').dgs"
cp "$data/latent.dgs" "$odd"
dg-info --json "$odd" > "$tmp/out"
json_ok "$tmp/out"; t $? "--json is valid for a file name that is not UTF-8"
grep -q 'odd\\ufffdname' "$tmp/out"; t $? "the stray byte becomes U+FFFD"

# ---- bad input ---------------------------------------------------------------
printf junk | dg-info > "$tmp/out" 2> "$tmp/err"
is $? 65 "printf junk | dg-info exits 65"
is "$(cat "$tmp/err")" "dg-info: stdin: not a dg stream (starts with 6a 75 6e 6b; see dg-stream(5))" \
	"junk: one-line message"
[ ! -s "$tmp/out" ]; t $? "junk: nothing on stdout"

run dg-info "$data/truncated.dgs"
is $st 65 "truncated stream exits 65"
is "$(cat "$tmp/err")" "dg-info: $data/truncated.dgs: record 2: truncated payload (got 4 of 8 bytes)" \
	"truncated: message names the record"
is "$(wc -l < "$tmp/out" | tr -d ' ')" 2 "truncated: the 2 whole records are listed"
head -c 700 "$data/mixed.dgs" | dg-info > /dev/null 2> "$tmp/err"
is $? 65 "stream cut through a pipe exits 65"
grep -q '^dg-info: stdin: record 2: truncated' "$tmp/err"; t $? "cut stream: message names stdin and record 2"

run dg-info "$data/bad-checksum.dgs"
is $st 65 "bad checksum exits 65"
is "$(wc -l < "$tmp/out" | tr -d ' ')" 7 "bad checksum: every record still listed"
grep -q '^   1  f32   2x8                    64  bad  space=latent' "$tmp/out"; t $? "record 1 shown as bad"
is "$(grep -c '  ok\( \|$\)' "$tmp/out")" 6 "the other records are ok"
grep -q "^dg-info: $data/bad-checksum.dgs: record 1: checksum mismatch" "$tmp/err"; t $? "bad checksum message"
run dg-info --json "$data/bad-checksum.dgs"
is "$(grep -c '"checksum":"bad"' "$tmp/out")" 1 "--json: one bad checksum"

run dg-info "$tmp/missing.dgs"
is $st 66 "missing file exits 66"
is "$(cat "$tmp/err")" "dg-info: $tmp/missing.dgs: No such file or directory" "missing file message"
run dg-info "$tmp/missing.dgs" "$data/latent.dgs"
is "$st:$(wc -l < "$tmp/out" | tr -d ' ')" "66:1" "a missing file does not stop the others"
run dg-info "$data"
is $st 74 "a directory is an I/O error (74)"
grep -q "^dg-info: $data: read error: Is a directory" "$tmp/err"; t $? "directory message"

# ---- options -------------------------------------------------------------------
run dg-info --help
is $st 0 "--help exits 0"
grep -q '^Usage: dg-info' "$tmp/out"; t $? "--help prints usage"
run dg-info --version
grep -q '^dg-info (dg) [0-9]' "$tmp/out"; t $? "--version"
run dg-info --bogus
is $st 64 "unknown option exits 64"
grep -q "^dg-info: unknown option '--bogus'" "$tmp/err"; t $? "unknown option message"
run dg-info --device cpu
is $st 64 "--device without --devices is a usage error"
run dg-info --devices "$data/latent.dgs"
is $st 64 "--devices with a FILE is a usage error"

# ---- devices ---------------------------------------------------------------------
run dg-info --devices
is $st 0 "--devices exits 0"
grep -q '^cpu$' "$tmp/out"; t $? "--devices lists cpu"
grep -q '^  driver  *oneDNN' "$tmp/out"; t $? "cpu driver is oneDNN"
if command -v vulkaninfo > /dev/null && vulkaninfo --summary 2> /dev/null | grep -q llvmpipe; then
	grep -q '^vulkan:0$' "$tmp/out" && grep -q 'llvmpipe' "$tmp/out"
	t $? "--devices lists lavapipe (vulkaninfo sees llvmpipe)"
	grep -q '^  tuning  *gemm tile [0-9]*x[0-9]* ([0-9]*x[0-9]* invocations of [0-9]*x[0-9]*), subgroup [1-9]' "$tmp/out"
	t $? "--devices shows the vulkan GEMM tiles and subgroup size"
	DG_VK_GEMM_TILES=4x4/16x16 dg-info --devices --device vulkan:0 > "$tmp/out2"
	grep -q '^  tuning  *gemm tile 64x64 (16x16 invocations of 4x4)' "$tmp/out2"
	t $? "DG_VK_GEMM_TILES shows in the tuning line"
else
	grep -q '^vulkan: ' "$tmp/out"
	t $? "no Vulkan device: --devices says why"
fi
run dg-info --devices --json
json_ok "$tmp/out"; t $? "--devices --json parses"
grep -q '^{"id":"cpu","name":' "$tmp/out"; t $? "--devices --json has cpu"
run dg-info --devices --device cpu
is "$st:$(grep -c '^[a-z]' "$tmp/out")" "0:1" "--device cpu shows one device"
run dg-info --devices --device vulkan:99
is $st 69 "a missing device exits 69"
grep -q '^dg-info: no device vulkan:99' "$tmp/err"; t $? "missing device message"
run dg-info --devices --device gpu7
is $st 64 "a malformed device exits 64"

# ---- a closed pipe ends quietly ----------------------------------------------------
i=0; : > "$tmp/big.dgs"
while [ $i -lt 400 ]; do cat "$data/mixed.dgs" >> "$tmp/big.dgs"; i=$((i + 1)); done
{ dg-info "$tmp/big.dgs" 2> "$tmp/err"; echo $? > "$tmp/st"; } | head -n 1 > /dev/null
st=$(cat "$tmp/st")
[ "$st" = 0 ] || [ "$st" = 141 ]; t $? "closed pipe: status 0 or 141 (got $st)"
[ ! -s "$tmp/err" ]; t $? "closed pipe: no message"

# ---- the hex dump in dg-stream(5) is latent.dgs, byte for byte ----------------
python3 - "$src/man/dg-stream.5" "$data/latent.dgs" <<'EOF'
import re, sys
rows, out = {}, bytearray()
lines = [l for l in open(sys.argv[1]) if re.match(r"^([0-9a-f]{8}(  |$)|\*$)", l)]
for l in lines:
    if l.startswith("*"):
        continue
    addr = int(l[:8], 16)
    while len(out) < addr:          # after a "*" line: repeat the previous row
        out += out[-16:]
    out += bytes.fromhex(l[10:58])  # nothing on the last line, the length
sys.exit(0 if bytes(out) == open(sys.argv[2], "rb").read() else 1)
EOF
t $? "the hex dump in dg-stream(5) is latent.dgs"

# ---- the Python reader of dg-stream(5), on the same files ----------------------
# The example is cut from the man page; a stand-in for NumPy's frombuffer
# and reshape is used when NumPy is not installed.
sed -n '/^import struct/,/^\.Ed/p' "$src/man/dg-stream.5" | sed '$d' | sed 's/\\e/\\/g' > "$tmp/ex.py"
if ! python3 -c 'import numpy' 2> /dev/null; then
	mkdir -p "$tmp/py/numpy"
	cat > "$tmp/py/numpy/__init__.py" <<'EOF'
import struct
class A:
    def __init__(self, v, dt): self.v, self.dtype, self.shape = v, dt, (len(v),)
    def reshape(self, dims): self.shape = tuple(dims); return self
def frombuffer(data, dt):
    c = {"<f4": "f", "<f2": "e", "u1": "B", "i1": "b", "<i4": "i", "<i8": "q", "<f8": "d"}[dt]
    return A(struct.unpack("<%d%s" % (len(data) // struct.calcsize(c), c), data), dt)
EOF
fi
cat "$data/latent.dgs" "$data/mixed.dgs" | PYTHONPATH="$tmp/py" python3 "$tmp/ex.py" > "$tmp/out" 2> "$tmp/err"
is "$?:$(wc -l < "$tmp/out" | tr -d ' ')" "0:8" "the Python example of dg-stream(5) reads 8 records"
# (NumPy prints the dtype uint8; the stand-in prints the code it was given)
grep -Eq "^\(2, 1, 4, 4\) (uint8|u1) \{'space': 'image', 'labels': '3,7'\}$" "$tmp/out"
t $? "Python example: shape and metadata"
PYTHONPATH="$tmp/py" python3 "$tmp/ex.py" < "$data/bad-checksum.dgs" > /dev/null 2> "$tmp/err"
grep -q 'checksum mismatch' "$tmp/err"; t $? "Python example: checks the data CRC"

# ---- metadata the format allows, read by the page's reader and dg-info ------
# Written from Python as dg-stream(5) says ("the reverse"): a value holding
# characters that splitlines() would cut at, then a record whose metadata
# is invalid between two good ones.
python3 - "$tmp/odd.dgs" <<'EOF'
import struct, sys, zlib
def record(meta, payload=b"\x07"):
    h = bytearray(128)
    struct.pack_into("<4sHBBIIQQQ", h, 0, b"DGST", 1, 4, 1, 0,
                     zlib.crc32(meta + payload), len(meta), len(payload), 1)
    struct.pack_into("<I", h, 124, zlib.crc32(bytes(h[:124])))
    pad = lambda n: bytes(-n % 64)
    return bytes(h) + meta + pad(128 + len(meta)) + payload + pad(len(payload))
odd = "a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i=j"
with open(sys.argv[1], "wb") as f:
    f.write(record(("space=latent\nodd=" + odd + "\nlast=1").encode()))
    f.write(record(b"novalue\n"))
    f.write(record(b"k=v\n"))
EOF
run dg-info --json "$tmp/odd.dgs"
is $st 65 "a record with invalid metadata: exit 65"
is "$(grep -c '' "$tmp/out")" 3 "  all three records listed"
if command -v jq > /dev/null; then
	is "$(jq -r '.index' "$tmp/out" | tr '\n' ' ')" "0 1 2 " \
		"  their indexes in order (the bad one keeps its place)"
	is "$(jq -r 'select(.index == 1) | .checksum + " " + (.meta | length | tostring)' "$tmp/out")" \
		"bad 0" "  record 1: bad, no metadata"
	jq -r 'select(.index == 1) | .error' "$tmp/out" | grep -q "record 1: invalid metadata"
	t $? "  record 1: its error says why"
	jq -r 'select(.index == 0) | .meta.odd' "$tmp/out" > "$tmp/odd.info"
else
	for i in 1 2 3; do t 1 "jq is not installed (make deps)"; done
fi
dg-info "$tmp/odd.dgs" 2> /dev/null | grep -q '^   1  u8    1                       1  bad$'
t $? "  text: record 1 listed as bad"
PYTHONPATH="$tmp/py" python3 "$tmp/ex.py" < "$tmp/odd.dgs" > /dev/null 2> "$tmp/err"
grep -q 'ValueError' "$tmp/err"; t $? "the Python example refuses the invalid metadata too"
# the example's reader, on the first record only
head -c 256 "$tmp/odd.dgs" | PYTHONPATH="$tmp/py" python3 -c '
import sys
exec(open(sys.argv[1]).read().split("for array, meta in")[0])
for array, meta in records(sys.stdin.buffer):
    sys.stdout.write(meta["odd"] + "\n")
    print(sorted(meta))' "$tmp/ex.py" > "$tmp/odd.py"
is "$(sed -n 2p "$tmp/odd.py")" "['last', 'odd', 'space']" \
	"the Python example keeps the odd value whole (splitlines() cut it)"
if command -v jq > /dev/null; then
	head -1 "$tmp/odd.py" | cmp -s - "$tmp/odd.info"
	t $? "  the same value as dg-info --json"
else
	t 1 "jq is not installed (make deps)"
fi

# ---- the Python example of dg-checkpoint(5): seal and fingerprint ------------
sed -n '/^import struct, sys, tarfile/,/^\.Ed/p' "$src/man/dg-checkpoint.5" | sed '$d' |
	sed 's/\\e/\\/g' > "$tmp/fp.py"
for f in "$src"/tests/data/checkpoint/good-*.dgm; do
	fp=$(python3 "$tmp/fp.py" "$f")
	is "$fp" "$(dg-info "$f" | awk '$1 == "fingerprint" { print $2 }')" \
		"dg-checkpoint(5)'s Python fingerprint of $(basename "$f") is dg-info's"
done
# The manifest's last newline may be missing: the page's example and the
# tools read such a file alike.
python3 - "$src/tests/data/checkpoint/good-v1-plain.dgm" "$tmp/nonl.dgm" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1]) as t, \
     tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT) as o:
    for m in t.getmembers():
        data = t.extractfile(m).read()
        if m.name == "manifest":
            data = data.rstrip(b"\n")
            m.size = len(data)
        o.addfile(m, io.BytesIO(data))
EOF
run dg-info "$tmp/nonl.dgm"
is "$st:$(awk '$1 == "fingerprint" { print $2 }' "$tmp/out")" \
	"0:$(python3 "$tmp/fp.py" "$tmp/nonl.dgm")" \
	"a manifest without its final newline: read, the same fingerprint"

echo "1..$n"
exit $fail
