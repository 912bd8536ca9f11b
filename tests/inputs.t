#!/bin/bash
# inputs.t — the tools on standard input, pipes (<(...)), named FIFOs and
# hostile sizes (issue 12): -d - trains and shuffles, every reader takes a
# pipe as it takes a file, checkpoints and images included; dg-encode's
# memory follows its images, not a batch of the largest; limits are named
# when hit and malformed ones refused.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
# run CMD...: status in $st, stdout in $tmp/out, stderr in $tmp/err
run() { "$@" > "$tmp/out" 2> "$tmp/err"; st=$?; }
# a command's status and message: want STATUS TEXT CMD...
want() {
	w=$1 text=$2; shift 2
	run "$@"
	[ "$st" = "$w" ] && grep -q -- "$text" "$tmp/err"
	r=$?
	[ $r = 0 ] || { echo "# status $st, stderr:"; sed 's/^/#   /' "$tmp/err"; }
	return $r
}
# a FIFO fed with file $2 in the background: fifo NAME FILE
fifo() { rm -f "$1"; mkfifo "$1" && { cat "$2" > "$1" & }; }

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
${CC:-cc} -std=c11 -Wall -Wextra -Werror -shared -fPIC -I"$DG_SRC/libcore/include" \
	-o "$tmp/dg-tiny.so" "$DG_SRC/tests/data/plugin/tiny.c" -L"$DG_BUILD/lib" -ldg \
	-Wl,-rpath,"$DG_BUILD/lib" || { echo "Bail out! cannot build tiny"; exit 1; }
DG_PLUGIN_PATH=$tmp${DG_PLUGIN_PATH:+:$DG_PLUGIN_PATH}
export DG_PLUGIN_PATH
# a sanitizer build reserves terabytes of address space: memory is bounded
# there by the largest allocation instead of ulimit -v
asan=0
nm -D "$DG_BUILD/lib/libdg.so" 2> /dev/null | grep -q __asan_init && asan=1
cd "$tmp" || exit 1
dg-encode fashion-mnist --limit 256 > small.dgs || { echo "Bail out! no data"; exit 1; }

# ---- -d - and pipes train (items 4 and 5) ---------------------------------
train() { dg-train -q -p tiny --epochs 2 --batch 64 --lr 0.01 "$@"; }
train -d small.dgs -o file.dgm
t $? "dg-train on a file: 2 epochs"
dg-encode fashion-mnist --limit 256 | train -d - -o stdin.dgm 2> err
t $? "dg-encode | dg-train -d -: 2 epochs ($(head -c 200 err))"
same_tensors file.dgm stdin.dgm
t $? "  the same model as from the file, byte for byte (shuffled alike)"
[ "$(manifest_key stdin.dgm epoch)" = 2 ]
t $? "  epoch=2 in its manifest"
train -d <(cat small.dgs) -o pipe.dgm && same_tensors file.dgm pipe.dgm
t $? "dg-train -d <(...): the same model"
fifo ff small.dgs
timeout 120 dg-train -q -p tiny --epochs 2 --batch 64 --lr 0.01 -d ff -o fifo.dgm &&
	same_tensors file.dgm fifo.dgm
t $? "dg-train -d FIFO: the same model (no hang)"
wait
train -d - -o r1.dgm --epochs 1 < small.dgs &&
	dg-train -q --resume r1.dgm -d - -o r2.dgm --epochs 2 < small.dgs &&
	same_tensors file.dgm r2.dgm
t $? "--resume with -d - continues exactly"
want 65 'DG_DATASET_MAX_BYTES' env DG_DATASET_MAX_BYTES=100000 \
	dg-train -q -p tiny -d - -o big.dgm < small.dgs
t $? "stdin over DG_DATASET_MAX_BYTES: 65, the limit named"
[ ! -e big.dgm ]
t $? "  and no checkpoint"
want 64 "DG_DATASET_MAX_BYTES: 'lots'" env DG_DATASET_MAX_BYTES=lots \
	dg-train -q -p tiny -d small.dgs -o big.dgm
t $? "a malformed DG_DATASET_MAX_BYTES: 64, naming it"

# ---- every reader takes a pipe as a file (item 5) ----------------------------
dg-train -q -p vae --set hidden=32 --set latent=4 -d small.dgs -o vae.dgm --epochs 1 --batch 64
t $? "a small vae to read back"
dg-eval -m vae.dgm -d small.dgs --batch 64 > eval.file &&
	dg-eval -m vae.dgm -d <(cat small.dgs) --batch 64 > eval.pipe &&
	[ "$(tail -n +2 eval.file)" = "$(tail -n +2 eval.pipe)" ]
t $? "dg-eval -d <(...): the same numbers"
fifo ff small.dgs
timeout 120 dg-eval -m vae.dgm -d ff --batch 64 > eval.fifo &&
	[ "$(tail -n +2 eval.file)" = "$(tail -n +2 eval.fifo)" ]
t $? "dg-eval -d FIFO: the same numbers"
wait
dg-encode small.dgs --limit 3 | dg-decode > a.png &&
	dg-encode a.png | dg-decode > b.png &&
	dg-encode <(cat a.png) | dg-decode > c.png && cmp -s b.png c.png
t $? "dg-encode <(cat a.png): the same image"
FM=${DG_DATA_DIR:-/usr/share/datasets}/fashion-mnist
dg-encode "$FM/t10k-images-idx3-ubyte.gz" --limit 5 | dg-decode > idx.png &&
	dg-encode <(cat "$FM/t10k-images-idx3-ubyte.gz") --limit 5 | dg-decode > idx-pipe.png &&
	cmp -s idx.png idx-pipe.png
t $? "dg-encode <(gzip'd IDX): the same images"
gzip -dc "$FM/t10k-images-idx3-ubyte.gz" > plain-images-idx3-ubyte
dg-encode <(cat plain-images-idx3-ubyte) --limit 5 | dg-decode > idx-plain.png &&
	cmp -s idx.png idx-plain.png
t $? "dg-encode <(plain IDX): the same images"
mkdir -p set/a set/b && cp a.png set/a/1.png && cp a.png set/b/2.png &&
	tar cf set.tar set && tar czf set.tgz set &&
	dg-encode set.tar | dg-decode > set.png &&
	dg-encode <(cat set.tar) | dg-decode > set-pipe.png && cmp -s set.png set-pipe.png &&
	dg-encode <(cat set.tgz) | dg-decode > set-pipe2.png && cmp -s set.png set-pipe2.png
t $? "dg-encode <(tar), <(tar.gz): the same images"
python3 -c 'import zipfile, sys
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.write("set/a/1.png"); z.write("set/b/2.png")' set.zip &&
	dg-encode <(cat set.zip) | dg-decode > set-zip.png && cmp -s set.png set-zip.png
t $? "dg-encode <(zip): the same images"
fifo ff a.png
timeout 60 dg-encode ff | dg-decode > d.png && cmp -s b.png d.png
t $? "dg-encode FIFO: the same image (no hang)"
wait

dg-info file.dgm > info.file && dg-info <(cat file.dgm) > info.pipe &&
	[ "$(tail -n +2 info.file)" = "$(tail -n +2 info.pipe)" ]
t $? "dg-info <(checkpoint): described alike"
fifo ff file.dgm
timeout 60 dg-info ff > info.fifo && [ "$(tail -n +2 info.file)" = "$(tail -n +2 info.fifo)" ]
t $? "dg-info FIFO holding a checkpoint: described alike"
wait
dg-info small.dgs > s.file && dg-info <(cat small.dgs) > s.pipe &&
	cmp -s s.file s.pipe
t $? "dg-info <(stream): the same lines"
dg-sample -m vae.dgm -n 3 -s 1 > z.file && dg-sample -m <(cat vae.dgm) -n 3 -s 1 > z.pipe &&
	cmp -s z.file z.pipe
t $? "dg-sample -m <(checkpoint): the same codes"
dg-decode -m <(cat vae.dgm) < z.file > v.png && dg-decode -m vae.dgm < z.file > v2.png &&
	cmp -s v.png v2.png
t $? "dg-decode -m <(checkpoint): the same images"
dg-encode -m <(cat file.dgm) small.dgs --limit 4 > e.pipe &&
	dg-encode -m file.dgm small.dgs --limit 4 > e.file && cmp -s e.pipe e.file
t $? "dg-encode -m <(checkpoint): the same codes"

# ---- memory follows the images (item 8) -------------------------------------
# 2048x2048 RGBA16 zeros: 28 KB of PNG, 48 MiB as f32 RGB.  A batch of 64
# of them (3 GiB) was allocated up front; now one image is.
python3 - big.png <<'EOF'
import struct, sys, zlib
w = h = 2048
row = b"\0" * (1 + w * 8)
z = zlib.compressobj(9)
data = b"".join(z.compress(row) for _ in range(h)) + z.flush()
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" +
    chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 0)) +
    chunk(b"IDAT", data) + chunk(b"IEND", b""))
EOF
# at most 1 GiB of address space, or no allocation over 300 MiB (ASan)
bounded() {
	if [ $asan = 1 ]; then
		ASAN_OPTIONS="$ASAN_OPTIONS:max_allocation_size_mb=300:allocator_may_return_null=1" "$@"
	else
		(ulimit -v 1048576; "$@")
	fi
}
bounded dg-encode big.png > big.dgs 2> err
t $? "dg-encode of a 2048x2048 RGBA16 PNG within 1 GiB ($(head -c 200 err))"
dg-info big.dgs > big.info && grep -q '^   0  f32   1x3x2048x2048 *50331648  ok' big.info
t $? "  one record of 1x3x2048x2048"
# an f32 IDX declaring 128 MiB, gzip'd to a few hundred KB: its 128 MiB
# were held whole beside the images; dg-encode now reads it a chunk at a
# time
python3 - zero-images-idx3-ubyte.gz <<'EOF'
import struct, sys, zlib
n = (128 << 20) // (4 * 784)
z = zlib.compressobj(9, zlib.DEFLATED, 31)
out = [z.compress(struct.pack(">BBBBIII", 0, 0, 0x0D, 3, n, 28, 28))]
block = b"\0" * (4 * 784 * 1024)
left = 4 * 784 * n
while left:
    k = min(left, len(block)); out.append(z.compress(block[:k])); left -= k
out.append(z.flush())
open(sys.argv[1], "wb").write(b"".join(out))
EOF
if [ $asan = 1 ]; then
	ASAN_OPTIONS="$ASAN_OPTIONS:max_allocation_size_mb=100:allocator_may_return_null=1" \
		dg-encode zero-images-idx3-ubyte.gz > /dev/null 2> err
else
	(ulimit -v 204800; dg-encode zero-images-idx3-ubyte.gz > /dev/null 2> err)
fi
t $? "dg-encode of a gzip'd f32 IDX declaring 128 MiB within 200 MiB ($(head -c 200 err))"
want 65 'need at least .* (DG_DATASET_MAX_BYTES)' env DG_DATASET_MAX_BYTES=1000000 \
	dg-train -q -p tiny -d zero-images-idx3-ubyte.gz -o no.dgm
t $? "  held whole for training over DG_DATASET_MAX_BYTES: refused from the header"
# records stay readable: within DG_STREAM_MAX_BYTES
DG_STREAM_MAX_BYTES=10000 dg-encode fashion-mnist --limit 10 > split.dgs &&
	dg-info --json split.dgs > split.json &&
	[ "$(grep -c '"shape":\[3,1,28,28\]' split.json)" = 3 ] &&
	[ "$(grep -c '"shape":\[1,1,28,28\]' split.json)" = 1 ]
t $? "records split at DG_STREAM_MAX_BYTES=10000: 3+3+3+1 images"
want 64 "DG_STREAM_MAX_BYTES: '2G'" env DG_STREAM_MAX_BYTES=2G dg-encode small.dgs
t $? "DG_STREAM_MAX_BYTES=2G: 64, naming it"

# ---- limits named, malformed ones refused (items 8, 9) ------------------------
want 64 "DG_CHECKPOINT_MAX_BYTES: 'abc'" env DG_CHECKPOINT_MAX_BYTES=abc dg-info file.dgm
t $? "DG_CHECKPOINT_MAX_BYTES=abc: 64, naming it (it was the default, silently)"
want 64 "DG_CHECKPOINT_MAX_BYTES: 'abc'" env DG_CHECKPOINT_MAX_BYTES=abc \
	dg-sample -m vae.dgm -n 1
t $? "  dg-sample too"
want 65 "(DG_CHECKPOINT_MAX_BYTES)" env DG_CHECKPOINT_MAX_BYTES=1000 dg-info file.dgm
t $? "a checkpoint over DG_CHECKPOINT_MAX_BYTES: 65, the limit named"
want 65 "(DG_FILE_MAX_BYTES)" env DG_FILE_MAX_BYTES=100 dg-encode a.png
t $? "a PNG over DG_FILE_MAX_BYTES: 65, the limit named"
want 65 "(DG_ARCHIVE_MAX_MEMBERS)" env DG_ARCHIVE_MAX_MEMBERS=2 dg-encode set.tar
t $? "DG_ARCHIVE_MAX_MEMBERS: 65, the limit named"
want 65 "(DG_ARCHIVE_MAX_BYTES)" env DG_ARCHIVE_MAX_BYTES=100 dg-encode set.tar
t $? "DG_ARCHIVE_MAX_BYTES: 65, the limit named"

# ---- folders: links and FIFOs alike (item 9) ----------------------------------
mkdir -p links && cp a.png links/a.png && ln -s nowhere.png links/b.png && mkfifo links/c.fifo
run dg-encode links
[ $st = 0 ] && grep -q 'b.png: broken symbolic link' "$tmp/err" && grep -q 'c.fifo: not a regular file' "$tmp/err"
t $? "a broken link and a FIFO in a folder: skipped with a warning each"
want 65 'b.png: broken symbolic link' dg-encode --strict links
t $? "  --strict: the link is an error (it aborted the load without --strict)"
printf 'DGST' > x.dgs
want 65 '^dg-encode: x.dgs: record 0: truncated header' dg-encode x.dgs
[ $? = 0 ] && [ "$(grep -o 'x\.dgs' err | wc -l)" = 1 ]
t $? "a message names the file once"
want 65 '^dg-train: /dev/fd/[0-9]*: record 0: truncated header' train -d <(printf 'DGST') -o no.dgm
[ $? = 0 ] && [ "$(grep -o '/dev/fd' err | wc -l)" = 1 ]
t $? "  and a pipe's too"

echo "1..$n"
exit $fail
