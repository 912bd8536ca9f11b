#!/bin/sh
# pixelcnn.t — the pixelcnn family (plugins/pixelcnn.c) through the tools,
# with tiny networks on a little Fashion-MNIST: training reports the NLL in
# nats and bits/dim; dg-sample draws binary images, the same for the same
# seed; each cached step gives the very draws of the whole image's
# (DG_PIXELCNN_FULL_STEPS=1), for PixelCNN, Gated PixelCNN (conditional or
# not, binarized or 8-bit, completions, on cpu and vulkan) and 8-bit RGB;
# completion keeps the top rows and, the model being causal, does not
# depend on the rows it redraws; dg-eval's exact likelihood; dg-translate's
# one-step-ahead predictions; class labels;
# the refusals; Ctrl-C leaves whole records.
n=0
fail=0
tmp=$(mktemp -d)
pid=
trap 'rm -rf "$tmp"; [ -n "$pid" ] && kill "$pid" 2>/dev/null' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
dg-encode fashion-mnist --limit 128 > "$tmp/small.dgs" || { echo "Bail out! no data"; exit 1; }
cd "$tmp" || exit 1
DG_DEVICE=cpu
export DG_DEVICE
tiny="--set features=4 --set layers=1 --set out_hidden=4 --set binarize=0.5"

# records.py FILE [rows K]: "N C H W" per record, and checks; with
# "binary" that every value is 0 or 1; "check" that the file is whole records.
cat > records.py <<'EOF'
import array, struct, sys
b = open(sys.argv[1], "rb").read()
pos, out, vals = 0, [], []
while pos < len(b):
    if b[pos:pos + 4] != b"DGST":
        sys.exit("no record at byte %d" % pos)
    rank = b[pos + 7]
    ml, pl = struct.unpack_from("<QQ", b, pos + 16)
    dims = struct.unpack_from("<%dQ" % rank, b, pos + 32)
    off = pos + 128 + ml + (-(128 + ml) % 64)
    if off + pl > len(b):
        sys.exit("a truncated record at byte %d" % pos)
    vals.append(array.array("f", b[off:off + pl]))
    out.append(" ".join(str(d) for d in dims))
    pos = off + pl + (-pl % 64)
mode = sys.argv[2] if len(sys.argv) > 2 else ""
if mode == "binary" and any(v not in (0.0, 1.0) for r in vals for v in r):
    sys.exit("values other than 0 and 1")
if mode == "levels" and any(abs(v * 255 - round(v * 255)) > 1e-4 for r in vals for v in r):
    sys.exit("values off the 8-bit levels")
if mode == "unit" and any(not 0 <= v <= 1 for r in vals for v in r):
    sys.exit("values outside [0,1]")
if mode == "rows":  # the top K rows of each image equal those of image i // N of FILE2
    k, n, ref = int(sys.argv[3]), int(sys.argv[4]), open(sys.argv[5], "rb").read()
    rml, rpl = struct.unpack_from("<QQ", ref, 16)
    roff = 128 + rml + (-(128 + rml) % 64)
    rv = array.array("B" if ref[6] == 4 else "f", ref[roff:roff + rpl])
    scale = 255.0 if ref[6] == 4 else 1.0
    d = [int(x) for x in out[0].split()]
    per, row = d[1] * d[2] * d[3], d[3]
    for i in range(d[0]):
        for j in range(k * row):
            if abs(vals[0][i * per + j] - rv[i // n * per + j] / scale) > 1e-6:
                sys.exit("image %d differs from its original at %d" % (i, j))
print("; ".join(out))
EOF

# ---- training and likelihood ------------------------------------------------------
dg-train -q -p pixelcnn -d small.dgs -o p.dgm -e 1 -b 32 $tiny --log p.csv &&
	[ "$(head -1 p.csv)" = "epoch,step,nll,bpd,images_per_s" ] &&
	awk -F, 'NR == 2 { exit !($3 > 100 && $3 < 1000 && ($4 - $3 / (784 * log(2)))^2 < 1e-6) }' p.csv
t $? "a binarized PixelCNN trains, nll in nats and bpd = nll / (784 ln 2): $(sed -n 2p p.csv)"
dg-eval -m p.dgm -d small.dgs -n 64 > ev 2>&1 && grep -q '^nll ' ev && grep -q '^bpd ' ev &&
	awk '/^nll / { a = $2 } /^bpd / { b = $2 } END { exit !(a > 100 && (b - a / (784 * log(2)))^2 < 1e-5) }' ev
t $? "dg-eval: the exact NLL per image and bits/dim ($(grep '^nll ' ev | tr -s ' '))"
dg-eval -m p.dgm -d small.dgs -n 8 --per-image > per 2>&1 && [ "$(grep -c . per)" -ge 8 ]
t $? "  and per image"
dg-translate -m p.dgm small.dgs > tr.dgt 2> err && python3 records.py tr.dgt unit > recs &&
	[ "$(tr ';' '\n' < recs | awk '{ n += $1 } END { print n }')" = 128 ] && grep -q ' 1 28 28' recs
t $? "dg-translate: each pixel's one-step-ahead probability, in [0,1] ($(head -c 40 recs))"

# ---- sampling -----------------------------------------------------------------------
dg-sample -m p.dgm -n 5 -b 4 -s 3 > s1.dgt && dg-sample -m p.dgm -n 5 -b 4 -s 3 > s2.dgt &&
	cmp -s s1.dgt s2.dgt && [ "$(python3 records.py s1.dgt binary)" = "4 1 28 28; 1 1 28 28" ]
t $? "dg-sample -n 5 -b 4: records of 4 and 1 binary 28x28 images, the same for the same seed"
dg-sample -m p.dgm -n 5 -b 4 -s 4 | cmp -s - s1.dgt
t $((!$?)) "  another seed, other images"
DG_PIXELCNN_FULL_STEPS=1 dg-sample -m p.dgm -n 5 -b 4 -s 3 | cmp -s - s1.dgt
t $? "  caches (PixelCNN) draw what the whole image does"
dg-sample -m p.dgm -n 2 -s 3 -t 0.5 | cmp -s - s1.dgt
t $((!$?)) "  --temperature 0.5 draws other images"
dg-sample -m p.dgm -n 2 -s 3 --progress > /dev/null 2> err && grep -q 'images/s' err
t $? "  --progress: a display and the rate ($(tr '\r' '\n' < err | tail -1))"
dg-sample -m p.dgm -n 2 -s 3 -q < /dev/null > /dev/null 2> err && [ ! -s err ]
t $? "  -q: nothing on stderr"

dg-train -q -p pixelcnn -d small.dgs -o g.dgm -e 1 -b 32 $tiny --set arch=gated --set layers=2 \
	--set conditional=1 --log g.csv && dg-sample -m g.dgm -n 3 -s 2 --class 7 > g1.dgt &&
	DG_PIXELCNN_FULL_STEPS=1 dg-sample -m g.dgm -n 3 -s 2 --class 7 | cmp -s - g1.dgt &&
	dg-info g1.dgt | grep -q 'labels=7,7,7' && [ "$(python3 records.py g1.dgt binary)" = "3 1 28 28" ]
t $? "Gated PixelCNN with class biases: --class 7 samples, the caches' the whole image's"
dg-sample -m g.dgm -n 3 -s 2 --class 3 | cmp -s - g1.dgt
t $((!$?)) "  another class, other images"

# ---- Gated PixelCNN's caches ----------------------------------------------------------
# Models trained briefly at a high learning rate, so that the draws depend
# on what the caches hold (an untrained model's hardly do): each cached
# step draws what the whole image's does.
gated="--set arch=gated --set features=8 --set out_hidden=8 --lr 0.02 -e 2 -b 32"
same() { # same "what" dg-sample args...: cached and whole-image draws agree
	d=$1
	shift
	dg-sample "$@" > same.dgt && DG_PIXELCNN_FULL_STEPS=1 dg-sample "$@" | cmp -s - same.dgt &&
		python3 records.py same.dgt > /dev/null
	t $? "$d"
}
dg-encode fashion-mnist --limit 2 > two.dgs
dg-train -q -p pixelcnn -d small.dgs -o gc.dgm $gated --set layers=3 --set binarize=0.5 \
	--set conditional=1 || echo "Bail out! cannot train a gated model"
same "gated, 3 layers, class biases, binarized: the caches draw the whole image's" \
	-m gc.dgm -n 3 -s 2 --class 7
same "  completions (--keep-rows 14, the kept steps filling the caches)" \
	-m gc.dgm --complete two.dgs --keep-rows 14 -n 2 -s 5 --class 1
dg-train -q -p pixelcnn -d small.dgs -o gl.dgm $gated --set layers=2 --set binarize=0 ||
	echo "Bail out! cannot train a gated model"
same "gated, 2 layers, 8-bit: the caches draw the whole image's" -m gl.dgm -n 2 -s 3 -t 0.8
same "  completions" -m gl.dgm --complete two.dgs --keep-rows 14 -n 1 -s 4
dg-train -q -p pixelcnn -d small.dgs -o g1.dgm $gated --set layers=1 --set binarize=0.5 ||
	echo "Bail out! cannot train a gated model"
same "gated, 1 layer, binarized: the caches draw the whole image's" -m g1.dgm -n 2 -s 3
if dg-info --devices 2> /dev/null | grep -q vulkan; then
	# 14x14 images (half.py) keep the whole-image loop short on lavapipe
	cat > half.py <<'EOF2'
# half.py IN OUT: the first record of stream IN at half the size (each
# pixel the mean of a 2x2 block), its metadata (labels, classes) kept,
# written to OUT as a stream of one record (dg-stream(5)).
import array, struct, sys, zlib
b = open(sys.argv[1], "rb").read()
ml, pl = struct.unpack_from("<QQ", b, 16)
n, c, h, w = struct.unpack_from("<4Q", b, 32)
meta = b[128:128 + ml]
off = 128 + ml + (-(128 + ml) % 64)
v = array.array("f", b[off:off + pl])
out = array.array("f")
for i in range(n * c):
    for r in range(0, h, 2):
        for j in range(0, w, 2):
            out.append(sum(v[i * h * w + (r + a) * w + j + d] for a in (0, 1) for d in (0, 1)) / 4)
pay = out.tobytes()
hd = bytearray(b[:128])
struct.pack_into("<IQQ4Q", hd, 12, zlib.crc32(meta + pay), ml, len(pay), n, c, h // 2, w // 2)
struct.pack_into("<I", hd, 124, zlib.crc32(bytes(hd[:124])))
pad = lambda k: bytes(-k % 64)
open(sys.argv[2], "wb").write(bytes(hd) + meta + pad(128 + ml) + pay + pad(len(pay)))
EOF2
	python3 half.py small.dgs s14.dgs && python3 half.py two.dgs two14.dgs &&
		dg-train -q -p pixelcnn -d s14.dgs -o vc.dgm $gated -e 4 -b 16 --set layers=3 \
			--set binarize=0.5 --set conditional=1 &&
		dg-train -q -p pixelcnn -d s14.dgs -o vl.dgm $gated -e 4 -b 16 --set layers=2 \
			--set binarize=0 || echo "Bail out! cannot train gated models on 14x14 images"
	same "on vulkan (14x14): gated, class biases, binarized, the caches' the whole image's" \
		--device vulkan -m vc.dgm -n 2 -s 2 --class 7
	same "  completions" --device vulkan -m vc.dgm --complete two14.dgs --keep-rows 7 -n 1 -s 5 --class 1
	same "  8-bit" --device vulkan -m vl.dgm -n 2 -s 3
fi

if command -v convert > /dev/null; then
	mkdir rgb && for i in 0 1 2 3 4 5 6 7; do convert -size 7x6 -seed $i plasma: rgb/$i.png; done &&
		dg-encode rgb/*.png > rgb.dgs || { echo "Bail out! cannot make images"; exit 1; }
	dg-train -q -p pixelcnn -d rgb.dgs -o rgb.dgm -e 1 -b 4 --set features=6 --set out_hidden=3 \
		--set layers=1 --log rgb.csv && dg-sample -m rgb.dgm -n 2 -s 1 > r1.dgt &&
		DG_PIXELCNN_FULL_STEPS=1 dg-sample -m rgb.dgm -n 2 -s 1 | cmp -s - r1.dgt &&
		[ "$(python3 records.py r1.dgt levels)" = "2 3 6 7" ]
	t $? "8-bit RGB (R, G, B ordered within a pixel): 256 levels per channel, $(sed -n 2p rgb.csv)"
	dg-train -q -p pixelcnn -d rgb.dgs -o x.dgm -b 4 --set features=8 2> err
	[ $? = 64 ] && grep -q 'divide by 6' err
	t $? "  RGB with features=8: 64"
	convert -size 28x28 xc:gray five.png && convert -size 20x20 xc:gray small.png
fi

# ---- completion ------------------------------------------------------------------------
dg-sample -m p.dgm --complete two.dgs --keep-rows 14 -n 3 -s 5 > c.dgt &&
	[ "$(python3 records.py c.dgt rows 14 3 two.dgs)" = "6 1 28 28" ] &&
	dg-info c.dgt | grep -q 'keep_rows=14'
t $? "--complete --keep-rows 14 -n 3: three completions of each image keep its top 14 rows"
dg-sample -m p.dgm --complete two.dgs --keep-rows 28 -n 1 > all.dgt &&
	python3 records.py all.dgt rows 28 1 two.dgs > /dev/null
t $? "  --keep-rows 28 keeps the whole image"
# the same top rows, the bottom ones blacked out: a causal model redraws them alike
mkdir png && dg-decode -o png/%d.png < two.dgs &&
	for i in 0 1; do convert png/$i.png -fill black -draw 'rectangle 0,14 27,27' png/b$i.png; done &&
	dg-encode png/0.png png/1.png > orig.dgs && dg-encode png/b0.png png/b1.png > black.dgs &&
	dg-sample -m p.dgm --complete orig.dgs --keep-rows 14 -n 2 -s 9 > o.dgt &&
	dg-sample -m p.dgm --complete black.dgs --keep-rows 14 -n 2 -s 9 | cmp -s - o.dgt &&
	dg-sample -m g.dgm --complete orig.dgs --keep-rows 10 -n 1 -s 9 --class 1 > o.dgt &&
	dg-sample -m g.dgm --complete black.dgs --keep-rows 10 -n 1 -s 9 --class 1 | cmp -s - o.dgt
t $? "  causal: what lies below the kept rows does not change the completions (PixelCNN, gated)"

# ---- refusals ------------------------------------------------------------------------------
dg-sample -m p.dgm --complete two.dgs --keep-rows 29 -n 1 > out 2> err
[ $? = 64 ] && grep -q 'keep-rows 29.*28 rows' err && [ ! -s out ]
t $? "--keep-rows beyond the height: 64 ($(cat err))"
dg-sample -m p.dgm -n 1 -t 0 > out 2> err
[ $? = 64 ] && grep -q 'T > 0' err && [ ! -s out ]
t $? "--temperature 0: 64 ($(cat err))"
dg-sample -m p.dgm -n 1 -t -1 > out 2> err
[ $? = 64 ] && [ ! -s out ]
t $? "--temperature -1: 64"
dg-sample -m p.dgm -n 1 --keep-rows 3 > out 2> err
[ $? = 64 ] && grep -q 'with --complete' err
t $? "--keep-rows without --complete: 64"
if [ -e small.png ]; then
	dg-encode small.png > small20.dgs && dg-sample -m p.dgm --complete small20.dgs -n 1 > out 2> err
	[ $? = 65 ] && grep -q 'another shape' err && [ ! -s out ]
	t $? "completion images of another shape: 65 ($(cat err))"
fi
dg-sample -m p.dgm --complete nosuch.dgs -n 1 > out 2> err
[ $? = 66 ]
t $? "a missing completion file: 66"
dg-sample -m g.dgm -n 1 --class 10 > out 2> err
[ $? = 64 ] && grep -q 'not below' err
t $? "--class beyond the classes: 64"

# ---- Ctrl-C -----------------------------------------------------------------------------------
dg-sample -m p.dgm -n 100000 -b 2 -s 1 > int.dgt 2> err &
pid=$!
sleep 3
kill -INT $pid
wait $pid
r=$?
pid=
[ $r = 130 ] && grep -q interrupted err && python3 records.py int.dgt binary > recs
t $? "SIGINT: exit 130, $(grep -c . recs 2>/dev/null) line of whole records ($(head -c 60 recs))"

# ---- vulkan -------------------------------------------------------------------------------------
if dg-info --devices 2> /dev/null | grep -q vulkan; then
	dg-sample -m p.dgm -n 2 -s 3 --device vulkan > v.dgt &&
		DG_PIXELCNN_FULL_STEPS=1 dg-sample -m p.dgm -n 2 -s 3 --device vulkan | cmp -s - v.dgt &&
		[ "$(python3 records.py v.dgt binary)" = "2 1 28 28" ]
	t $? "on vulkan: samples, the cached steps draw what the whole image does"
fi

echo "1..$n"
exit $fail
