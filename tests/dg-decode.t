#!/bin/sh
# dg-decode.t — model-free dg-decode: image records in, a PNG grid or
# numbered PNG files out; pixels checked by an independent reader
# (tests/data/png/streamtool.py), sizes from the IHDR, errors by status.
src=${DG_SRC:-.}
st="python3 $src/tests/data/png/streamtool.py"
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
is() { [ "$1" = "$2" ]; r=$?; t $r "$3"; [ $r = 0 ] || echo "#   got '$1', want '$2'"; }
# width x height from the IHDR (bytes 16..23, big-endian)
size() { od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%dx%d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8 }'; }
depth() { od -An -tu1 -j24 -N1 "$1" | tr -d ' '; }

# ---- one grid on stdout ---------------------------------------------------
$st write u8 64x1x28x28 space=image labels=1,2,3 > "$tmp/64.st"
dg-decode --grid 8x8 --scale 2 < "$tmp/64.st" > "$tmp/g.png" 2> "$tmp/err"
t $? "64 images 28x28 --grid 8x8 --scale 2"
pngcheck -q "$tmp/g.png" > /dev/null
t $? "the grid passes pngcheck"
is "$(size "$tmp/g.png")" "466x466" "grid is 8*56 + 9*2 = 466 square"
[ ! -s "$tmp/err" ]
t $? "nothing on stderr"
dg-decode --pad 0 "$tmp/64.st" > "$tmp/g0.png"
is "$(size "$tmp/g0.png")" "224x224" "default layout of 64 is 8x8; --pad 0"
dg-decode --grid 16x "$tmp/64.st" > "$tmp/g16.png"
is "$(size "$tmp/g16.png")" "482x122" "--grid 16x: 16 columns, rows as needed"
dg-decode --grid x2 --pad 1 "$tmp/64.st" > "$tmp/gx2.png"
is "$(size "$tmp/gx2.png")" "929x59" "--grid x2: 2 rows, columns as needed"

$st write f32 2x3x5x7 space=image > "$tmp/rgb.st"
dg-decode < "$tmp/rgb.st" > "$tmp/rgb.png"
is "$($st png "$tmp/rgb.png" | cut -d' ' -f1-4)" "20 9 2 8" "2 RGB 5x7 images: 20x9 8-bit RGB"
dg-decode --depth 16 < "$tmp/rgb.st" > "$tmp/rgb16.png"
is "$(depth "$tmp/rgb16.png")" 16 "--depth 16 writes 16-bit samples"
pngcheck -q "$tmp/rgb16.png" > /dev/null
t $? "the 16-bit PNG passes pngcheck"

# the grid of a single image with --pad 0 is the image itself
$st write u8 1x3x6x9 space=image > "$tmp/one.st"
dg-decode --pad 0 "$tmp/one.st" > "$tmp/one.png"
is "$($st png "$tmp/one.png")" "9 6 2 8 $($st image 1x3x6x9 0)" "one RGB image: pixels exact"

# more images than a full --grid holds: the rest is dropped, with a warning
dg-decode --grid 2x2 "$tmp/64.st" > "$tmp/g22.png" 2> "$tmp/err"
t $? "more images than --grid 2x2 holds: still a grid"
is "$(size "$tmp/g22.png")" "62x62" "only the 2x2 grid is written"
grep -q "^dg-decode: warning: .*grid is full" "$tmp/err"
t $? "a warning says the rest was dropped"

# --limit
dg-decode --limit 3 --pad 0 "$tmp/64.st" > "$tmp/l3.png"
is "$(size "$tmp/l3.png")" "56x56" "--limit 3: 2x2 layout of 3 images"

# a rank-3 record (C×H×W) is one image; several inputs join one grid
$st write u8 1x28x28 space=image > "$tmp/r3.st"
dg-decode --pad 0 "$tmp/r3.st" - "$tmp/r3.st" < "$tmp/r3.st" > "$tmp/r3.png"
is "$(size "$tmp/r3.png")" "56x56" "three rank-3 records from files and stdin: 2x2 grid"
# a record without space= is taken as images
$st write u8 1x1x4x4 > "$tmp/nospace.st"
dg-decode "$tmp/nospace.st" > "$tmp/ns.png"
t $? "a record without space= is decoded as images"

# ---- -o: one file per image ---------------------------------------------
mkdir "$tmp/out"
$st write f32 3x1x28x28 space=image > "$tmp/f3.st"
cat "$tmp/f3.st" "$tmp/one.st" | dg-decode -o "$tmp/out/%04d.png"
t $? "-o writes files"
is "$(ls "$tmp/out" | tr '\n' ' ')" "0000.png 0001.png 0002.png 0003.png " "numbered from 0 across records, no temporaries left"
good=0
for k in 0 1 2; do
	[ "$($st png "$tmp/out/000$k.png")" = "28 28 0 8 $($st image 3x1x28x28 $k)" ] || good=1
done
t $good "f32 gray images k/255 come back exactly"
is "$($st png "$tmp/out/0003.png")" "9 6 2 8 $($st image 1x3x6x9 0)" "RGB u8 image of another shape: exact"
dg-decode -o "$tmp/out/%d-x2.png" --scale 2 --limit 1 "$tmp/f3.st"
is "$(ls "$tmp/out" | grep -c x2)" 1 "--limit 1 writes one file"
is "$(size "$tmp/out/0-x2.png")" "56x56" "--scale 2 with -o: 56x56, no padding"
echo old > "$tmp/out/0000.png"
dg-decode -o "$tmp/out/%04d.png" --limit 1 "$tmp/f3.st"
is "$(size "$tmp/out/0000.png")" "28x28" "an existing file is replaced"
mkdir "$tmp/grids"
dg-decode -o "$tmp/grids/g%d.png" --grid 2x1 --pad 1 "$tmp/f3.st"
is "$(ls "$tmp/grids" | tr '\n' ' ')" "g0.png g1.png " "-o with --grid 2x1: 3 images make 2 grids"
is "$(size "$tmp/grids/g1.png")" "59x30" "the last grid is padded out"
dg-decode -o "$tmp/out/100%%-%d.png" --limit 1 "$tmp/f3.st"
[ -f "$tmp/out/100%-0.png" ]
t $? "%% in a pattern is a percent sign"

# ---- round trips through dg-encode: PNG -> records -> PNG is lossless ------
if command -v dg-encode > /dev/null 2>&1; then
	$st write u8 2x1x28x28 space=image > "$tmp/g2.st"
	for s in g2 one; do
		dg-decode --pad 0 "$tmp/$s.st" > "$tmp/$s-a.png"
		dg-encode "$tmp/$s-a.png" | dg-decode --pad 0 > "$tmp/$s-b.png"
		cmp -s "$tmp/$s-a.png" "$tmp/$s-b.png"
		t $? "$s: PNG -> dg-encode -> dg-decode gives the same bytes"
	done
	dg-encode "$tmp/out/0003.png" "$tmp/one-a.png" | dg-decode -o "$tmp/rt%d.png"
	is "$($st png "$tmp/rt1.png")" "9 6 2 8 $($st image 1x3x6x9 0)" "RGB through dg-encode and -o: pixels exact"
	dg-encode fashion-mnist --limit 64 2> /dev/null | dg-decode --grid 8x8 --scale 2 > "$tmp/fm.png" 2> /dev/null
	if [ -s "$tmp/fm.png" ]; then
		is "$(size "$tmp/fm.png")" "466x466" "fashion-mnist 8x8 grid at scale 2 is 466x466"
	else
		echo "ok $((n = n + 1)) # skip dataset-fashion-mnist not installed"
	fi
else
	echo "ok $((n = n + 1)) # skip dg-encode not built"
fi

# ---- errors -------------------------------------------------------------
# expect STATUS MESSAGE-REGEX DESCRIPTION -- command...
expect() {
	want=$1 re=$2 what=$3
	shift 4
	"$@" > "$tmp/out.png" 2> "$tmp/err"
	got=$?
	is "$got" "$want" "$what: exit $want"
	grep -q "^dg-decode: .*$re" "$tmp/err"
	t $? "$what: message"
	[ "$(wc -l < "$tmp/err")" -le 2 ] || { echo "# long message:"; sed 's/^/#   /' "$tmp/err"; }
}
for p in 'x.png' '%d%d.png' '%s.png' '%' '%.3d.png' '%ld.png'; do
	expect 64 "needs exactly one integer" "-o '$p'" -- dg-decode -o "$p" "$tmp/f3.st"
done
expect 66 "no-model.dgm" "-m with a missing model" -- dg-decode -m "$tmp/no-model.dgm" "$tmp/f3.st"
expect 64 "need -m MODEL" "--raw without -m" -- dg-decode --raw "$tmp/f3.st"
expect 64 "COLSxROWS" "--grid 8y8" -- dg-decode --grid 8y8 "$tmp/f3.st"
expect 64 "COLSxROWS" "--grid 0x3" -- dg-decode --grid 0x3 "$tmp/f3.st"
expect 64 "both COLS and ROWS" "-o with --grid 8x" -- dg-decode --grid 8x -o "$tmp/%d.png" "$tmp/f3.st"
expect 64 "8 or 16" "--depth 12" -- dg-decode --depth 12 "$tmp/f3.st"
expect 64 "scale" "--scale 0" -- dg-decode --scale 0 "$tmp/f3.st"
expect 64 "pad-value" "--pad-value 2" -- dg-decode --pad-value 2 "$tmp/f3.st"
expect 64 "too large for one PNG" "grid beyond the PNG limits" -- dg-decode --scale 600 "$tmp/64.st"
$st write f32 4x8 space=latent > "$tmp/lat.st"
expect 65 "latent codes.*needs a model" "latent records" -- dg-decode "$tmp/lat.st"
$st write u8 4 space=label > "$tmp/lab.st"
expect 65 "space=label is not images" "label records" -- dg-decode "$tmp/lab.st"
$st write i32 1x1x2x2 space=image > "$tmp/i32.st"
expect 65 "dtype i32" "i32 records" -- dg-decode "$tmp/i32.st"
$st write u8 1x2x3x3 space=image > "$tmp/c2.st"
expect 65 "shape 1x2x3x3" "2 channels" -- dg-decode "$tmp/c2.st"
expect 65 "cannot share a grid" "mixed shapes in one grid" -- dg-decode "$tmp/f3.st" "$tmp/one.st"
expect 66 "nonexistent" "missing input" -- dg-decode "$tmp/nonexistent.st"
: > "$tmp/empty.st"
expect 65 "no images" "empty input" -- dg-decode "$tmp/empty.st"
head -c 1000 "$tmp/64.st" > "$tmp/cut.st"
expect 65 "" "truncated stream" -- dg-decode "$tmp/cut.st"
printf 'P5 2 2 255\n....' > "$tmp/pgm.st"
expect 65 "" "a file that is no stream" -- dg-decode "$tmp/pgm.st"
cat "$tmp/f3.st" "$tmp/pgm.st" | dg-decode --limit 3 > /dev/null
t $? "--limit stops before reading further (trailing garbage unread)"
expect 65 "" "the same without --limit reads the garbage" -- sh -c "cat '$tmp/f3.st' '$tmp/pgm.st' | dg-decode"
expect 73 "nodir" "-o into a missing folder" -- dg-decode -o "$tmp/nodir/%d.png" "$tmp/f3.st"
: > "$tmp/empty2.st"
dg-decode -o "$tmp/out/e%d.png" "$tmp/empty2.st"
t $? "-o with no images writes no file and succeeds"

# a terminal on stdout is refused (script(1) gives us one)
if command -v script > /dev/null 2>&1; then
	script -qec "dg-decode '$tmp/f3.st'" /dev/null > "$tmp/tty" 2>&1
	is "$?" 64 "a terminal on stdout is refused with 64"
	grep -q "terminal" "$tmp/tty"
	t $? "the refusal says why"
else
	echo "ok $((n = n + 1)) # skip script(1) not installed"
fi

echo "1..$n"
exit $fail
