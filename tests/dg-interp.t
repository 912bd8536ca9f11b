#!/bin/sh
# dg-interp.t — dg-interp on hand-made latent codes: path counts and exact
# endpoints, --loop, lerp and slerp values, the default by prior=, --grid
# counts and corners, --expr and --mean against hand computations, record
# sizes, fingerprints, and the refusals with their exit statuses.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
is() { [ "$1" = "$2" ]; r=$?; t $r "$3"; [ $r = 0 ] || echo "#   got '$1', want '$2'"; }
# status of a command that must fail: code, a message naming the tool,
# nothing on stdout
fails() {
	want=$1; shift
	"$@" > "$tmp/out" 2> "$tmp/err"
	st=$?
	[ $st = "$want" ] && head -1 "$tmp/err" | grep -q '^dg-interp: ' && [ ! -s "$tmp/out" ]
	r=$?
	[ $r = 0 ] || { echo "# status $st, stderr:"; sed 's/^/#   /' "$tmp/err"; }
	return $r
}

# dgs.py write OUT 'k=v k=v' 'x y z' ...: one f32 record of those codes;
# dgs.py read FILE: every code of every record, one line each (%.9g).
cat > "$tmp/dgs.py" <<'EOF'
import signal, struct, sys, zlib
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
def pad(k):
    return b"\0" * ((64 - k % 64) % 64)
if sys.argv[1] == "write":
    meta = "".join(kv + "\n" for kv in sys.argv[3].split())
    codes = [[float(x) for x in c.split()] for c in sys.argv[4:]]
    n, d = len(codes), len(codes[0])
    m = meta.encode()
    p = struct.pack("<%df" % (n * d), *[x for c in codes for x in c])
    h = bytearray(128)
    h[0:4] = b"DGST"
    struct.pack_into("<HBBI", h, 4, 1, 1, 2, 0)
    struct.pack_into("<I", h, 12, zlib.crc32(m + p))
    struct.pack_into("<QQQQ", h, 16, len(m), len(p), n, d)
    struct.pack_into("<I", h, 124, zlib.crc32(bytes(h[:124])))
    open(sys.argv[2], "ab").write(bytes(h) + m + pad(128 + len(m)) + p + pad(len(p)))
else:
    d = open(sys.argv[2], "rb").read()
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
EOF
# a version manager's python3 shim can cost a second a call; the
# interpreter it wraps is the same
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
mk() { $PY "$tmp/dgs.py" write "$@"; }
codes() { $PY "$tmp/dgs.py" read "$1"; }
row() { codes "$1" | sed -n "$2p"; }
# metadata value of key in the first record
meta() { dg-info --json "$1" | head -1 | jq -r ".meta[\"$2\"] // \"\""; }

M='space=latent model=0123456789abcdef family=vae prior=gaussian'
mk "$tmp/abc" "$M" '1 2 3 4' '0.5 -1 2 0'
mk "$tmp/abc" "$M" '3 3 3 3'
mk "$tmp/corners" "$M" '1 0 0 0' '0 1 0 0' '0 0 1 0' '0 0 0 1'

# ---- paths -----------------------------------------------------------------
dg-interp -n 5 "$tmp/abc" > "$tmp/p"
t $? "-n 5 over three codes in two records"
is "$(codes "$tmp/p" | wc -l)" 9 "(3-1)(5-1)+1 = 9 codes: shared ends written once"
is "$(row "$tmp/p" 1)" "1 2 3 4" "the first point is the first code, bit for bit"
is "$(row "$tmp/p" 5)" "0.5 -1 2 0" "point 5 is the second code"
is "$(row "$tmp/p" 9)" "3 3 3 3" "the last point is the last code"
is "$(meta "$tmp/p" model)" 0123456789abcdef "model= is kept"
is "$(meta "$tmp/p" interp)" slerp "prior=gaussian: slerp by default"
dg-interp -n 5 --loop "$tmp/abc" > "$tmp/l"
is "$(codes "$tmp/l" | wc -l)" 12 "--loop: 3 segments of 4 new points, the first code not repeated"
is "$(codes "$tmp/l" | head -9)" "$(codes "$tmp/p")" "--loop starts as the open path"
dg-interp -n 2 "$tmp/abc" > "$tmp/two"
is "$(codes "$tmp/two")" "$(codes "$tmp/abc")" "-n 2 gives back the codes themselves"
dg-interp < "$tmp/abc" > "$tmp/def"
is "$(codes "$tmp/def" | wc -l)" 15 "default -n 8 on standard input: 15 codes"

# lerp midpoint of a and b is (a + b)/2
mk "$tmp/ab" "$M" '1 2 3 4' '0.5 -1 2 0'
dg-interp -n 3 --lerp "$tmp/ab" > "$tmp/lm"
is "$(row "$tmp/lm" 2)" "0.75 0.5 2.5 2" "--lerp: the midpoint is the mean"
is "$(meta "$tmp/lm" interp)" lerp "interp=lerp is recorded"
# slerp of orthogonal codes of norms 2 and 4: at t = 1/3 the angle is 30
# degrees and the norm 2 + (4-2)/3
mk "$tmp/orth" "$M" '2 0' '0 4'
dg-interp -n 4 "$tmp/orth" > "$tmp/sl"
echo "$(row "$tmp/sl" 2)" | awk '{ r = sqrt($1*$1 + $2*$2); a = atan2($2, $1) * 180 / 3.14159265358979;
	exit !((r - 8/3.0)^2 < 1e-10 && (a - 30)^2 < 1e-8) }'
t $? "slerp: norm and angle move linearly (t = 1/3: norm 8/3, 30 degrees)"
mk "$tmp/anti" "$M" '1 2 3' '-1 -2 -3'
dg-interp -n 3 "$tmp/anti" > "$tmp/an"
row "$tmp/an" 2 | awk '{ for (i = 1; i <= NF; i++) if ($i != $i + 0 || $i ~ /nan|inf/) exit 1;
	exit !(($1*1 + $2*2 + $3*3)^2 < 1e-8 && ($1*$1 + $2*$2 + $3*$3 - 14)^2 < 1e-8) }'
t $? "slerp of antiparallel codes: a finite midpoint, perpendicular, same norm"
mk "$tmp/ae" 'space=latent model=fedcba9876543210 family=ae prior=none' '1 0' '0 1'
dg-interp -n 3 "$tmp/ae" > "$tmp/aem"
is "$(meta "$tmp/aem" interp) $(row "$tmp/aem" 2)" "lerp 0.5 0.5" "prior=none: lerp by default"
dg-interp -n 3 --slerp "$tmp/ae" > "$tmp/aes"
is "$(row "$tmp/aes" 2)" "0.707106769 0.707106769" "--slerp overrides the default"

# ---- record sizes ------------------------------------------------------------
dg-interp -n 5 --batch 4 "$tmp/abc" > "$tmp/b4"
is "$(dg-info --json "$tmp/b4" | jq -r '.shape[0]' | tr '\n' ' ')" "4 4 1 " "--batch 4: records of 4, 4 and 1 codes"
dg-interp -n 5 -c 3 --batch 4 "$tmp/abc" > "$tmp/cl"
is "$(dg-info --json "$tmp/cl" | jq -r '.meta.labels' | tr '\n' ' ')" "3,3,3,3 3,3,3,3 3 " "--class 3 labels every code"

# ---- grid --------------------------------------------------------------------
for mode in --lerp --slerp; do
	dg-interp --grid 3x2 $mode "$tmp/corners" > "$tmp/g"
	is "$(codes "$tmp/g" | wc -l)" 6 "--grid 3x2 $mode: 6 codes"
	is "$(codes "$tmp/g" | sed -n '1p;3p;4p;6p' | tr '\n' ';')" \
		"1 0 0 0;0 1 0 0;0 0 1 0;0 0 0 1;" "$mode: the corners, exactly, row by row"
done
dg-interp --grid 3x3 --lerp "$tmp/corners" > "$tmp/g3"
is "$(row "$tmp/g3" 5)" "0.25 0.25 0.25 0.25" "lerp grid: the centre is the corners' mean"
is "$(row "$tmp/g3" 2)" "0.5 0.5 0 0" "lerp grid: the top edge is between the top corners"
dg-interp --grid 3x3 --slerp "$tmp/corners" > "$tmp/g3s"
row "$tmp/g3s" 2 | awk '{ exit !(($1 - 0.70710678)^2 < 1e-12 && ($2 - 0.70710678)^2 < 1e-12 && $3 == 0 && $4 == 0) }'
t $? "slerp grid: the top edge is the slerp of the top corners"

# ---- expressions and the mean --------------------------------------------------
dg-interp --expr 'a - b + c' "$tmp/abc" > "$tmp/e1"
is "$(codes "$tmp/e1")" "3.5 6 4 7" "a - b + c, by hand (1 2 3 4) - (0.5 -1 2 0) + (3 3 3 3)"
dg-interp --expr '0.5*a + 0.5*b' "$tmp/abc" > "$tmp/e2"
is "$(codes "$tmp/e2")" "0.75 0.5 2.5 2" "0.5*a + 0.5*b"
dg-interp -e '2*(c - a)/4 - -b' "$tmp/abc" > "$tmp/e3"
is "$(codes "$tmp/e3")" "1.5 -0.5 2 -0.5" "2*(c - a)/4 - -b: parentheses and signs"
is "$(meta "$tmp/e3" model)" 0123456789abcdef "the expression's code keeps model="
dg-interp -e 'b' "$tmp/abc" > "$tmp/e4"
is "$(codes "$tmp/e4")" "0.5 -1 2 0" "codes after the last one named are ignored"
dg-interp --mean "$tmp/abc" > "$tmp/mean"
is "$(codes "$tmp/mean")" "1.5 1.33333337 2.66666675 2.33333325" "--mean of the three codes"

# ---- traversals ----------------------------------------------------------------------
mk "$tmp/two2" "$M" '1 2 3 4' '0.5 -1 2 0'
dg-interp --traverse 2 --range -2:2 -n 5 "$tmp/two2" > "$tmp/t2"
t $? "--traverse 2 --range -2:2 -n 5 over two codes"
is "$(codes "$tmp/t2" | tr '\n' ';')" "1 2 -2 4;1 2 -1 4;1 2 0 4;1 2 1 4;1 2 2 4;0.5 -1 -2 0;0.5 -1 -1 0;0.5 -1 0 0;0.5 -1 1 0;0.5 -1 2 0;" \
	"each code's coordinate 2 sweeps -2..2, the others kept, ends exact"
is "$(meta "$tmp/t2" traverse) $(meta "$tmp/t2" range)" "2 -2:2" "traverse= and range= recorded"
mk "$tmp/single" "$M" '1 2 3 4'
dg-interp --traverse all --range 0.5:-0.25 -n 4 "$tmp/single" > "$tmp/ta"
is "$(codes "$tmp/ta" | wc -l)" 16 "--traverse all: 4 coordinates × 4 values"
is "$(codes "$tmp/ta" | sed -n '1p;4p;5p;16p' | tr '\n' ';')" "0.5 2 3 4;-0.25 2 3 4;1 0.5 3 4;1 2 3 -0.25;" \
	"row k sweeps coordinate k, downwards when HI < LO"
dg-interp -t 0 "$tmp/single" > "$tmp/t9"
is "$(codes "$tmp/t9" | cut -d' ' -f1 | tr '\n' ' ')" "-3 -2.25 -1.5 -0.75 0 0.75 1.5 2.25 3 " "defaults: 9 values over -3:3"
fails 65 dg-interp --traverse 4 "$tmp/single"
t $? "--traverse beyond the code size: 65"
grep -q "0 to 3" "$tmp/err"
t $? "  naming the coordinates there are"
fails 64 dg-interp --traverse -1 "$tmp/single"
t $? "--traverse -1: 64"
fails 64 dg-interp --traverse 0 --range 3 "$tmp/single"
t $? "--range without a colon: 64"
fails 64 dg-interp --traverse 0 --range 1:1 "$tmp/single"
t $? "--range that sweeps nothing: 64"
fails 64 dg-interp --traverse 0 --range 0:inf "$tmp/single"
t $? "--range to infinity: 64"
fails 64 dg-interp --range -1:1 -n 3 "$tmp/abc"
t $? "--range without --traverse: 64"
fails 64 dg-interp --traverse 0 --mean "$tmp/abc"
t $? "--traverse with --mean: 64"
fails 64 dg-interp --traverse 0 --slerp "$tmp/abc"
t $? "--traverse with --slerp: 64"

# ---- fingerprints ------------------------------------------------------------------
mk "$tmp/other" 'space=latent model=1111111111111111 family=vae' '9 9 9 9'
fails 65 dg-interp -n 3 "$tmp/abc" "$tmp/other"
t $? "codes of two models: status 65"
grep -q "1111111111111111" "$tmp/err" && grep -q -- "--force" "$tmp/err"
t $? "naming the model and --force"
dg-interp -n 3 --force "$tmp/abc" "$tmp/other" > "$tmp/f"
t $? "--force mixes them"
is "$(meta "$tmp/f" model)" 0123456789abcdef "keeping the first model="

# ---- refusals ----------------------------------------------------------------------
mk "$tmp/img" 'space=image' '0 0.5 1 0.25'
fails 65 dg-interp -n 3 "$tmp/img"
t $? "image records: status 65"
grep -q "space=image" "$tmp/err" && grep -q "dg-encode -m" "$tmp/err"
t $? "saying what they are and what to do"
mk "$tmp/nospace" 'model=0123456789abcdef' '1 2 3 4'
fails 65 dg-interp -n 3 "$tmp/nospace"
t $? "records without space=latent: 65"
fails 64 dg-interp -e 'a + * b' "$tmp/abc"
t $? "--expr parse error: 64"
grep -q "column 5" "$tmp/err"
t $? "with the column"
fails 64 dg-interp -e 'a * b' "$tmp/abc"
t $? "--expr a code times a code: 64"
fails 65 dg-interp -e 'a + d' "$tmp/abc"
t $? "--expr naming a fourth code of three: 65"
mk "$tmp/one" "$M" '1 2 3 4'
fails 65 dg-interp -n 3 "$tmp/one"
t $? "a path of one code: 65"
fails 65 dg-interp --grid 2x2 "$tmp/abc"
t $? "--grid with 3 codes: 65"
fails 65 dg-interp --grid 2x2 "$tmp/abc" "$tmp/abc"
t $? "--grid with 6 codes: 65"
: > "$tmp/empty"
fails 65 dg-interp "$tmp/empty"
t $? "no codes at all: 65"
mk "$tmp/d3" "$M" '1 2 3'
fails 65 dg-interp "$tmp/abc" "$tmp/d3"
t $? "codes of two sizes: 65"
fails 66 dg-interp "$tmp/missing"
t $? "a missing file: 66"
fails 64 dg-interp -n 1 "$tmp/abc"
t $? "-n 1: 64"
fails 64 dg-interp --grid 3x "$tmp/corners"
t $? "--grid 3x: 64"
fails 64 dg-interp --grid 2x2 -n 4 "$tmp/corners"
t $? "--grid with -n: 64"
fails 64 dg-interp --expr a --lerp "$tmp/abc"
t $? "--expr with --lerp: 64"
fails 64 dg-interp --lerp --slerp "$tmp/abc"
t $? "--lerp with --slerp: 64"
head -c 100 "$tmp/abc" > "$tmp/cut"
fails 65 dg-interp "$tmp/cut"
t $? "a truncated stream: 65"
{ dg-interp -n 1000000 "$tmp/abc" 2> "$tmp/err"; echo $? > "$tmp/st"; } | head -c 100 > /dev/null
st=$(cat "$tmp/st")
{ [ "$st" = 141 ] || [ "$st" = 0 ]; } && [ ! -s "$tmp/err" ]
t $? "a closed pipe ends it quietly (status $st)"

echo "1..$n"
exit $fail
