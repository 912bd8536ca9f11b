#!/bin/sh
# dg-encode.t — dg-encode without a model: fashion-mnist, PNG files, folders
# and archives, IDX, streams; labels and classes metadata; batching and
# limits; hostile input gives a non-zero status and a one-line message.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
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
fails 64 dg-encode -m model.dgm a.png
t $? "-m is refused for now (64)"
grep -q "not yet supported" "$tmp/err"
t $? "saying why"
fails 64 dg-encode
t $? "no SOURCE: 64"
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

echo "1..$n"
exit $fail
