#!/bin/sh
# dg-encode.t — dg-encode without a model: fashion-mnist, PNG files, folders
# and archives, IDX, streams; labels and classes metadata; batching, limits,
# --skip and --class; hostile input gives a non-zero status and a one-line
# message.  With -m: codes from tiny trained models, their metadata, the
# mean and --sample, conditional models, refusals, and the vulkan device.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
# status of a command that must fail: code, one line on stderr naming the
# tool (usage errors add the "Try --help" hint), nothing on stdout
fails() {
	want=$1; shift
	"$@" > "$tmp/out" 2> "$tmp/err"
	st=$?
	lines=1; [ "$want" = 64 ] && lines=2
	[ $st = "$want" ] && [ "$(wc -l < "$tmp/err")" = $lines ] && head -1 "$tmp/err" | grep -q '^dg-encode: ' &&
		[ ! -s "$tmp/out" ]
	r=$?
	[ $r = 0 ] || { echo "# status $st, stderr:"; sed 's/^/#   /' "$tmp/err"; }
	return $r
}
# a refusal at run time (not of the command line): the status, one line
# naming the tool, nothing on stdout
refused() {
	want=$1; shift
	"$@" > "$tmp/out" 2> "$tmp/err"
	st=$?
	[ $st = "$want" ] && [ "$(wc -l < "$tmp/err")" = 1 ] && grep -q '^dg-encode: ' "$tmp/err" &&
		[ ! -s "$tmp/out" ]
	r=$?
	[ $r = 0 ] || { echo "# status $st, stderr:"; sed 's/^/#   /' "$tmp/err"; }
	return $r
}
# images, records and the labels of a stream, from dg-info --json
summary() {
	dg-info --json "$@" | jq -s -r '[(map(.shape[0]) | add), length,
		(map(.meta.labels // "") | join(","))] | @tsv'
}

# ---- fashion-mnist ----------------------------------------------------------
dg-encode fashion-mnist --limit 100 > "$tmp/fm.dgs"
t $? "dg-encode fashion-mnist --limit 100"
dg-info --json "$tmp/fm.dgs" | jq -s -e 'map(.shape[0]) | add == 100' > /dev/null
t $? "records total 100 images"
dg-info --json "$tmp/fm.dgs" | jq -s -e 'all(.shape[1:] == [1,28,28] and .dtype == "f32"
	and .meta.space == "image")' > /dev/null
t $? "of f32 1x28x28, space=image"
dg-info --json "$tmp/fm.dgs" | jq -s -r 'map(.meta.labels) | join(",")' > "$tmp/labels"
[ "$(tr ',' '\n' < "$tmp/labels" | grep -c '^[0-9]$')" = 100 ]
t $? "with 100 labels 0..9"
[ "$(cut -d, -f1-10 "$tmp/labels")" = "9,0,0,3,0,2,7,2,5,5" ]
t $? "the known first ten labels of the training set"
dg-info --json "$tmp/fm.dgs" | jq -s -e '.[0].meta.classes ==
	"T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"' > /dev/null
t $? "classes= lists the ten names"
[ "$(summary "$tmp/fm.dgs" | cut -f2)" = 2 ]
t $? "default batch 64: two records"
[ "$(dg-encode fashion-mnist-test --limit 70 --batch 30 | summary | cut -f1,2)" = "$(printf '70\t3')" ]
t $? "--batch 30 --limit 70: 70 images in 3 records"
DG_DATA_DIR=$tmp/none fails 66 dg-encode fashion-mnist
t $? "missing fashion-mnist: status 66"
grep -q 'dataset-fashion-mnist' "$tmp/err"
t $? "the message names the package"

# ---- PNG round trips (dg-decode) ----------------------------------------------
mkdir -p "$tmp/png/bag" "$tmp/png/boot" "$tmp/back"
dg-encode fashion-mnist-test --limit 4 | dg-decode -o "$tmp/png/bag/%d.png"
t $? "fashion images to PNG files"
dg-encode "$tmp/png/bag/0.png" "$tmp/png/bag/1.png" | dg-decode -o "$tmp/back/%d.png"
cmp -s "$tmp/png/bag/0.png" "$tmp/back/0.png" && cmp -s "$tmp/png/bag/1.png" "$tmp/back/1.png"
t $? "gray PNG -> records -> PNG is lossless"
python3 - "$tmp/rgb.png" <<'EOF'
import struct, sys, zlib
w, h = 5, 3
rows = b"".join(b"\0" + bytes((x * 50 + y * 7 + c * 90) % 256 for x in range(w) for c in range(3)) for y in range(h))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
EOF
dg-encode "$tmp/rgb.png" > "$tmp/rgb.dgs" && dg-decode -o "$tmp/back/rgb%d.png" "$tmp/rgb.dgs"
t $? "RGB PNG -> records -> PNG"
python3 - "$tmp/rgb.png" "$tmp/back/rgb0.png" <<'EOF'
import struct, sys, zlib
def pixels(p):
    d = open(p, "rb").read(); i = 8; idat = b""
    while i < len(d):
        n, t = struct.unpack(">I4s", d[i:i + 8]); body = d[i + 8:i + 8 + n]
        if t == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        if t == b"IDAT": idat += body
        i += 12 + n
    raw = zlib.decompress(idat); bpp = 3; stride = w * bpp; out = []; prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]; row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = row[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
            if f == 1: row[x] = (row[x] + a) & 255
            elif f == 2: row[x] = (row[x] + b) & 255
            elif f == 3: row[x] = (row[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(bytes(row)); prev = row
    return (w, h, ctype, b"".join(out))
sys.exit(0 if pixels(sys.argv[1]) == pixels(sys.argv[2]) else 1)
EOF
t $? "RGB round trip is lossless (same size, type and pixels)"
dg-info --json "$tmp/rgb.dgs" | jq -e '.shape == [1,3,3,5] and (.meta.labels == null)' > /dev/null
t $? "an RGB PNG is one 1x3x3x5 record without labels"
dg-encode fashion-mnist --limit 64 | dg-decode --grid 8x8 --scale 2 > "$tmp/grid.png" &&
	pngcheck -q "$tmp/grid.png" > /dev/null
t $? "fashion-mnist --limit 64 | dg-decode --grid 8x8 --scale 2: pngcheck accepts it"

# ---- folders and archives -----------------------------------------------------
cp "$tmp/png/bag/2.png" "$tmp/png/boot/a.png"
cp "$tmp/png/bag/3.png" "$tmp/png/boot/b.png"
[ "$(dg-encode "$tmp/png" | summary | cut -f1,3)" = "$(printf '6\t0,0,0,0,1,1')" ]
t $? "a folder of class folders: labels by folder"
dg-encode "$tmp/png" | dg-info --json | jq -e '.meta.classes == "bag,boot"' > /dev/null
t $? "classes= bag,boot (sorted)"
echo "not an image" > "$tmp/png/boot/notes.txt"
dg-encode "$tmp/png" > "$tmp/out" 2> "$tmp/err"
t $? "a text file in the folder: still status 0"
grep -q "^dg-encode: warning: .*notes.txt: not a PNG file, skipped" "$tmp/err"
t $? "with a warning naming it"
dg-encode -q "$tmp/png" > "$tmp/out" 2> "$tmp/err" && [ ! -s "$tmp/err" ]
t $? "-q silences the warning"
fails 65 dg-encode --strict "$tmp/png"
t $? "--strict: status 65"
rm "$tmp/png/boot/notes.txt"
(cd "$tmp/png" && tar cf "$tmp/set.tar" bag boot && tar czf "$tmp/set.tgz" bag boot)
for a in set.tar set.tgz; do
	[ "$(dg-encode "$tmp/$a" | summary | cut -f1)" = 6 ]
	t $? "$a: 6 images"
done
for z in bzip2:j xz:J; do
	command -v ${z%:*} > /dev/null || continue
	(cd "$tmp/png" && tar c${z#*:}f "$tmp/set.tar.${z%:*}" bag boot)
	[ "$(dg-encode "$tmp/set.tar.${z%:*}" | summary | cut -f1)" = 6 ]
	t $? "set.tar.${z%:*}: 6 images"
done
if command -v zip > /dev/null; then
	(cd "$tmp/png" && zip -qr "$tmp/set.zip" bag boot)
	[ "$(dg-encode "$tmp/set.zip" | summary | cut -f1)" = 6 ]
	t $? "set.zip: 6 images"
fi
dg-encode "$tmp/set.tar" | dg-info --json | jq -e '.meta.classes == "bag,boot"' > /dev/null
t $? "an archive's classes come from its folders"
head -c $(($(wc -c < "$tmp/set.tgz") / 2)) "$tmp/set.tgz" > "$tmp/cut.tgz"
fails 65 dg-encode "$tmp/cut.tgz"
t $? "a truncated tar.gz: status 65"

# ---- mixed sizes, several sources -----------------------------------------------
dg-encode "$tmp/png/bag/0.png" "$tmp/rgb.png" "$tmp/png/bag/1.png" > "$tmp/mix.dgs"
t $? "PNGs of different sizes as separate sources"
[ "$(dg-info --json "$tmp/mix.dgs" | jq -s -c 'map(.shape)')" = '[[1,1,28,28],[1,3,3,5],[1,1,28,28]]' ]
t $? "one record per source"
mkdir "$tmp/mixed" && cp "$tmp/png/bag/0.png" "$tmp/rgb.png" "$tmp/mixed/"
fails 65 dg-encode "$tmp/mixed"
t $? "a folder of mixed sizes: status 65"
grep -q "rgb.png: 5x3 image, earlier images are 28x28" "$tmp/err"
t $? "naming the file and both sizes"

# ---- streams and IDX ---------------------------------------------------------------
[ "$(dg-encode fashion-mnist --limit 10 | dg-encode --batch 4 - | summary)" = \
  "$(printf '10\t3\t9,0,0,3,0,2,7,2,5,5')" ]
t $? "a stream on stdin is re-batched, labels kept"
dg-encode fashion-mnist --limit 5 > "$tmp/five.dgs"
[ "$(dg-encode "$tmp/five.dgs" "$tmp/five.dgs" --limit 8 | summary | cut -f1,2)" = "$(printf '8\t2')" ]
t $? "--limit counts across sources"
gzip -dc /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz | head -c 7856 > "$tmp/t10k-images-idx3-ubyte"
fails 65 dg-encode "$tmp/t10k-images-idx3-ubyte"
t $? "a truncated IDX file: status 65"
grep -q "IDX dims 10000x28x28 need 7840000 bytes of data, the file has 7840" "$tmp/err"
t $? "the message gives dims and sizes"
[ "$(dg-encode --limit 9 "$tmp/t10k-images-idx3-ubyte" | summary | cut -f1)" = 9 ]
t $? "with --limit only the first images are read"
head -c 100000 /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz > "$tmp/cut-images-idx3-ubyte.gz"
fails 65 dg-encode "$tmp/cut-images-idx3-ubyte.gz"
t $? "a truncated .gz IDX file: status 65"
printf '\0\0\10\3\0\0\0\2\0\0\0\2\0\0\0\2abcdefgh' > "$tmp/my-images-idx3-ubyte"
printf '\0\0\10\1\0\0\0\2\7\3' > "$tmp/lab"
[ "$(dg-encode --labels "$tmp/lab" "$tmp/my-images-idx3-ubyte" | summary)" = "$(printf '2\t1\t7,3')" ]
t $? "--labels FILE"
fails 65 dg-encode --labels "$tmp/my-images-idx3-ubyte" "$tmp/my-images-idx3-ubyte"
t $? "--labels of the wrong kind: status 65"

# ---- usage -----------------------------------------------------------------------
fails 66 dg-encode -m "$tmp/no-model.dgm" fashion-mnist-test
t $? "-m with a missing model: 66"
fails 64 dg-encode --sample fashion-mnist-test
t $? "--sample without -m: 64"
fails 64 dg-encode --device cpu fashion-mnist-test
t $? "--device without -m: 64"
fails 64 dg-encode --skip -1 fashion-mnist-test
t $? "--skip -1: 64"
fails 65 dg-encode --class 3 "$tmp/rgb.png"
t $? "--class on a source without labels: 65"
# without a SOURCE: standard input, unless it is a terminal (script(1)
# gives one)
if command -v script > /dev/null 2>&1; then
	script -qec "dg-encode" /dev/null > "$tmp/tty" 2>&1
	is_tty=$?
	[ $is_tty = 64 ] && grep -q "terminal" "$tmp/tty"
	t $? "no SOURCE and a terminal on stdin: 64, saying so"
else
	echo "ok $((n = n + 1)) # skip script(1) not installed"
fi
dg-encode fashion-mnist-test --limit 5 > "$tmp/five.dgt" &&
	dg-encode < "$tmp/five.dgt" > "$tmp/five-stdin.dgt" &&
	dg-encode - < "$tmp/five.dgt" > "$tmp/five-dash.dgt" &&
	cmp -s "$tmp/five-stdin.dgt" "$tmp/five-dash.dgt"
t $? "no SOURCE reads a stream from standard input, as '-' does"
fails 64 dg-encode --batch 0 fashion-mnist
t $? "--batch 0: 64"
fails 66 dg-encode "$tmp/nonexistent.png"
t $? "a missing file: 66"
# an mtree "archive" names files on the local disk: not an archive format
# dg reads, so nothing outside the archive is ever read
printf '#mtree\n./secret.png type=file contents=%s\n' "$tmp/png/bag/0.png" > "$tmp/list.mtree"
fails 65 dg-encode "$tmp/list.mtree"
t $? "an mtree list of local files is refused: 65"
echo "plain text" > "$tmp/text"
fails 65 dg-encode "$tmp/text"
t $? "a file of unknown kind: 65"
{ dg-encode fashion-mnist --limit 1000 2> "$tmp/err"; echo $? > "$tmp/st"; } | head -c 100 > /dev/null
st=$(cat "$tmp/st")
{ [ "$st" = 141 ] || [ "$st" = 0 ]; } && [ ! -s "$tmp/err" ]
t $? "a closed pipe ends it quietly (status $st)"

# ---- selecting images: --skip and --class ---------------------------------------
[ "$(dg-encode fashion-mnist-test --skip 3 --limit 4 | summary)" = "$(printf '4\t1\t1,6,1,4')" ]
t $? "--skip 3 --limit 4: test images 3..6"
[ "$(dg-encode fashion-mnist-test --class 7 --limit 5 --batch 2 | summary)" = "$(printf '5\t3\t7,7,7,7,7')" ]
t $? "--class 7 --limit 5 --batch 2: five sneakers in records of 2"
dg-encode fashion-mnist-test --class 1 --skip 1 --limit 1 | dg-decode -o "$tmp/sel%d.png"
dg-encode fashion-mnist-test --skip 3 --limit 1 | dg-decode -o "$tmp/third%d.png"
cmp -s "$tmp/sel0.png" "$tmp/third0.png"
t $? "--class 1 --skip 1 picks the second trouser, test image 3"

# ---- -m: images to latent codes ----------------------------------------------------
# Models trained in a second (512 images, one epoch) encode well enough to
# test the plumbing: shapes, metadata, randomness, refusals.
export DG_DEVICE=cpu
# dgs.py FILE: the codes of a stream of f32 records, one line each
cat > "$tmp/dgs.py" <<'PY'
import signal, struct, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
d = open(sys.argv[1], "rb").read()
i = 0
while i < len(d):
    rank = d[i + 7]
    mlen, plen = struct.unpack_from("<QQ", d, i + 16)
    dims = struct.unpack_from("<%dQ" % rank, d, i + 32)
    p = i + 128 + mlen
    p += (64 - p % 64) % 64
    v = struct.unpack_from("<%df" % (plen // 4), d, p)
    for r in range(dims[0]):
        print(" ".join("%.9g" % x for x in v[r * dims[1]:(r + 1) * dims[1]]))
    i = p + plen + (64 - plen % 64) % 64
PY
# a version manager's python3 shim can cost a second a call
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
codes() { $PY "$tmp/dgs.py" "$1"; }
# the values of a metadata key over the records, joined by ';'
jmeta() { dg-info --json "$1" | jq -r -s "map(.meta[\"$2\"] // \"\") | join(\";\")"; }
shapes() { dg-info --json "$1" | jq -r -s 'map(.shape | map(tostring) | join("x")) | join(" ")'; }
# mean squared difference of two files of codes is below $3 (and, with
# $4 = nonzero, above 0)
msd_below() {
	paste -d '\n' "$1" "$2" | awk -v lim="$3" -v nz="${4:-}" 'NR % 2 { split($0, a); next }
		{ for (i = 1; i <= NF; i++) { d = a[i] - $i; s += d * d; k++ } }
		END { exit !(k > 0 && s / k < lim && (nz == "" || s > 0)) }'
}
dg-train -p vae -d fashion-mnist --limit 512 --batch 128 --epochs 1 --seed 1 \
	-o "$tmp/vae.dgm" 2> /dev/null
t $? "a small vae trains"
dg-train -p ae -d fashion-mnist --limit 512 --batch 128 --epochs 1 \
	-o "$tmp/ae.dgm" 2> /dev/null
t $? "a small ae trains"
dg-train -p vae -d fashion-mnist --limit 512 --batch 128 --epochs 1 --set conditional=1 \
	-o "$tmp/cvae.dgm" 2> /dev/null
t $? "a small conditional vae trains"

dg-encode -m "$tmp/vae.dgm" fashion-mnist-test --limit 100 > "$tmp/z"
t $? "dg-encode -m vae.dgm fashion-mnist-test --limit 100"
[ "$(shapes "$tmp/z")" = "64x20 36x20" ]
t $? "records of 64 and 36 codes of 20 (got $(shapes "$tmp/z"))"
fp=$(dg-sample -m "$tmp/vae.dgm" -n 1 | dg-info --json | jq -r .meta.model)
[ "$(jmeta "$tmp/z" model)" = "$fp;$fp" ] && [ "$(jmeta "$tmp/z" space)" = "latent;latent" ]
t $? "space=latent and the model's fingerprint, as dg-sample writes them"
[ "$(jmeta "$tmp/z" prior)" = "gaussian;gaussian" ] && [ "$(jmeta "$tmp/z" encoding)" = "mean;mean" ]
t $? "prior=gaussian, encoding=mean"
[ "$(jmeta "$tmp/z" labels | tr ';' ',' | cut -d, -f1-10)" = "9,2,1,1,6,1,4,6,5,7" ]
t $? "the test set's labels travel with the codes"
dg-decode -m "$tmp/vae.dgm" --raw < "$tmp/z" > "$tmp/zr"
t $? "dg-decode -m accepts them"
dg-encode fashion-mnist-test --limit 2 > "$tmp/two.dgt" &&
	dg-encode -m "$tmp/vae.dgm" < "$tmp/two.dgt" | dg-interp -n 8 |
	dg-decode -m "$tmp/vae.dgm" > "$tmp/interp.png" && pngcheck -q "$tmp/interp.png" > /dev/null
t $? "dg-encode -m reads images from standard input: encode < two.dgt | interp | decode"
[ "$(shapes "$tmp/zr")" = "64x1x28x28 36x1x28x28" ]
t $? "round trip: 100 images of 1x28x28 again"
dg-encode -m "$tmp/vae.dgm" fashion-mnist-test --limit 2 | dg-interp -n 10 |
	dg-decode -m "$tmp/vae.dgm" > "$tmp/walk.png" && pngcheck -q "$tmp/walk.png" > /dev/null
t $? "encode | interp | decode makes a PNG"
dg-encode -m "$tmp/vae.dgm" fashion-mnist-test --limit 70 --batch 30 > "$tmp/z70"
[ "$(shapes "$tmp/z70")" = "30x20 30x20 10x20" ]
t $? "--batch 30: records of 30, 30, 10"
dg-encode -m "$tmp/vae.dgm" fashion-mnist-test --limit 3 --batch 30 > "$tmp/z3"
dg-encode -m "$tmp/vae.dgm" fashion-mnist-test --limit 3 --batch 1 > "$tmp/z1"
codes "$tmp/z3" > "$tmp/m.txt"
codes "$tmp/z1" > "$tmp/m1.txt"
[ -s "$tmp/m.txt" ] && msd_below "$tmp/m.txt" "$tmp/m1.txt" 1e-10
t $? "the mean does not depend on --batch"
dg-encode -m "$tmp/vae.dgm" fashion-mnist-test --skip 2 --limit 1 > "$tmp/zs"
codes "$tmp/zs" > "$tmp/s.txt"
sed -n 3p "$tmp/m.txt" > "$tmp/m3.txt"
msd_below "$tmp/s.txt" "$tmp/m3.txt" 1e-10
t $? "--skip 2 --limit 1 is the third code"

dg-encode -m "$tmp/vae.dgm" --sample fashion-mnist-test --limit 3 > "$tmp/s1"
dg-encode -m "$tmp/vae.dgm" --sample fashion-mnist-test --limit 3 > "$tmp/s2"
dg-encode -m "$tmp/vae.dgm" --sample --seed 5 fashion-mnist-test --limit 3 > "$tmp/s3"
codes "$tmp/s1" > "$tmp/s.txt"
! cmp -s "$tmp/s.txt" "$tmp/m.txt"
t $? "--sample differs from the mean"
msd_below "$tmp/m.txt" "$tmp/s.txt" 25 nonzero
t $? "but the draws stay near it"
cmp -s "$tmp/s1" "$tmp/s2"
t $? "--sample with the same seed: the same bytes"
! cmp -s "$tmp/s1" "$tmp/s3"
t $? "--sample --seed 5: other codes"
[ "$(jmeta "$tmp/s1" encoding)" = sample ]
t $? "encoding=sample"

# the ae: deterministic codes, no posterior
dg-encode -m "$tmp/ae.dgm" fashion-mnist-test --limit 4 > "$tmp/za"
t $? "an ae encodes"
[ "$(jmeta "$tmp/za" prior)" = none ] &&
	[ "$(dg-interp -n 3 < "$tmp/za" | dg-info --json | jq -r .meta.interp)" = lerp ]
t $? "prior=none, so dg-interp takes the straight line"
refused 64 dg-encode -m "$tmp/ae.dgm" --sample fashion-mnist-test --limit 4
t $? "ae --sample: 64"
grep -q "deterministic" "$tmp/err"
t $? "saying its encoder is deterministic"
fails 64 dg-encode -m "$tmp/vae.dgm" --seed 3 fashion-mnist-test
t $? "--seed without --sample: 64"

# conditional: the labels feed the encoder
dg-encode -m "$tmp/cvae.dgm" fashion-mnist-test --limit 8 > "$tmp/zc"
t $? "a conditional vae encodes labelled images"
dg-decode -m "$tmp/cvae.dgm" < "$tmp/zc" > "$tmp/zc.png"
t $? "and dg-decode -m takes the codes with their labels"
refused 64 dg-encode -m "$tmp/cvae.dgm" "$tmp/png/bag/0.png"
t $? "a conditional vae refuses images without labels: 64"
grep -q "labels" "$tmp/err"
t $? "saying it needs labels"

# refusals of data
fails 65 dg-encode -m "$tmp/vae.dgm" "$tmp/rgb.png"
t $? "images of another size than the model's: 65"
grep -q "3x3x5" "$tmp/err" && grep -q "1x28x28" "$tmp/err"
t $? "naming both shapes"
fails 65 dg-encode -m "$tmp/vae.dgm" --class 3 --skip 1000 fashion-mnist-test
t $? "nothing left to encode: 65"
fails 65 dg-encode -m "$tmp/vae.dgm" - < "$tmp/z3"
t $? "latent records as input: 65"

# vulkan: the cpu's codes within float tolerance, or a clean refusal
if dg-info --devices 2> /dev/null | grep -q '^vulkan'; then
	dg-encode -m "$tmp/vae.dgm" --device vulkan fashion-mnist-test --limit 3 > "$tmp/zv" 2> "$tmp/err"
	st=$?
	if [ $st = 0 ]; then
		codes "$tmp/zv" > "$tmp/v.txt"
		[ "$(wc -l < "$tmp/v.txt")" = 3 ] && msd_below "$tmp/m.txt" "$tmp/v.txt" 1e-6
		t $? "--device vulkan: the cpu's codes within float tolerance"
	else
		[ $st = 69 ] && grep -q '^dg-encode: ' "$tmp/err"
		t $? "--device vulkan: status 69 with a message (got $st)"
	fi
	dg-train -p vae -d fashion-mnist --limit 256 --batch 128 --epochs 1 --set arch=conv \
		-o "$tmp/conv.dgm" 2> /dev/null
	dg-encode -m "$tmp/conv.dgm" --device vulkan fashion-mnist-test --limit 2 > "$tmp/zv" 2> "$tmp/err"
	st=$?
	{ [ $st = 0 ] && [ "$(codes "$tmp/zv" | wc -l)" = 2 ]; } ||
		{ [ $st = 69 ] && grep -q '^dg-encode: ' "$tmp/err"; }
	t $? "--device vulkan, arch=conv: codes or a clean 69 (got $st)"
else
	n=$((n + 1)); echo "ok $n # skip no Vulkan device"
fi

echo "1..$n"
exit $fail
