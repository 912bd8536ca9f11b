#!/bin/sh
# checkpoint.t — dg-info on checkpoints (.dgm): the manifest and tensor
# table, --json checked with jq, and exit status 65 with a one-line
# message naming the member for damaged files.
src=${DG_SRC:-.}
data=$src/tests/data/checkpoint
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
is() { [ "$1" = "$2" ]; r=$?; t $r "$3"; [ $r = 0 ] || echo "#   got '$1', want '$2'"; }

# ---- text ----------------------------------------------------------------
dg-info "$data/good-v1.dgm" > "$tmp/out" 2> "$tmp/err"
t $? "dg-info good-v1.dgm succeeds"
[ ! -s "$tmp/err" ]
t $? "nothing on stderr"
is "$(awk '$1 == "family" { print $2 }' "$tmp/out")" vae "manifest: family"
is "$(awk '$1 == "hparam.latent" { print $2 }' "$tmp/out")" 20 "manifest: hyperparameter"
is "$(awk '$1 == "format_version" { print $2 }' "$tmp/out")" 1 "manifest: format version"
is "$(awk '$1 == "params/enc.fc1.weight" { print $2, $3, $4 }' "$tmp/out")" "f32 4x7 28" \
   "table row: name dtype shape parameters"
is "$(awk '$1 == "optim/step" { print $2, $3, $4 }' "$tmp/out")" "i64 scalar 1" "scalar row"
is "$(awk '$1 == "log.csv" { print $2 }' "$tmp/out")" bytes "byte member listed"
is "$(grep -c '^  member\.' "$tmp/out")" 0 "member lines are in the table, not the manifest"
is "$(sed -n 's/.*total parameters (params\/): //p' "$tmp/out")" 57 "total of params/ tensors"

dg-info "$data/good-v1-plain.dgm" > "$tmp/plain"
t $? "uncompressed tar"
is "$(tail -n +2 "$tmp/plain" | cksum)" "$(tail -n +2 "$tmp/out" | cksum)" \
   "plain and gzip'd describe alike"
dg-info < "$data/good-v1.dgm" > "$tmp/stdin"
t $? "checkpoint on standard input"
is "$(tail -n +2 "$tmp/stdin" | cksum)" "$(tail -n +2 "$tmp/out" | cksum)" "stdin describes alike"

# ---- json ----------------------------------------------------------------
dg-info --json "$data/good-v1.dgm" > "$tmp/json"
t $? "--json succeeds"
is "$(wc -l < "$tmp/json" | tr -d ' ')" 1 "one JSON object on one line"
is "$(jq -r .kind "$tmp/json")" checkpoint "kind"
is "$(jq -r .manifest.family "$tmp/json")" vae "manifest.family"
is "$(jq -r .manifest.rng "$tmp/json")" 42:0:77 "manifest.rng"
is "$(jq -r .parameters "$tmp/json")" 57 "parameters"
is "$(jq -r '.tensors | length' "$tmp/json")" 9 "nine tensors"
is "$(jq -c '.tensors[] | select(.name == "params/dec.w") | [.dtype, .shape, .count]' "$tmp/json")" \
   '["f16",[3,5],15]' "one tensor's dtype, shape, count"
is "$(jq -c '.tensors[] | select(.name == "optim/step") | .shape' "$tmp/json")" '[]' "scalar shape"
is "$(jq -r '[.tensors[] | select(.name | startswith("params/")) | .count] | add' "$tmp/json")" 57 \
   "parameters = sum of params/ counts"
is "$(jq -c '.members' "$tmp/json")" '[{"name":"log.csv","bytes":41},{"name":"notes/empty","bytes":0}]' \
   "byte members"
is "$(jq -r '.manifest | keys | map(select(startswith("member."))) | length' "$tmp/json")" 0 \
   "no member lines in the manifest object"

# ---- refusals ------------------------------------------------------------
refuse() {   # file, expected status, text the message must contain, name
	dg-info "$1" > "$tmp/o" 2> "$tmp/e"
	is $? "$2" "$4: exit $2"
	is "$(wc -l < "$tmp/e" | tr -d ' ')" 1 "$4: one line on stderr"
	grep -q "^dg-info: .*$3" "$tmp/e"
	t $? "$4: message has '$3'"
	[ "$2" != 65 ] || [ ! -s "$tmp/o" ]
	t $? "$4: nothing on stdout"
}
refuse "$data/bad-version2.dgm" 65 "checkpoint format 2 is newer than this dg (1); upgrade dg" \
	"newer format"
refuse "$data/bad-crc.dgm" 65 "member 'params/dec.w.dgt': CRC" "altered member"
refuse "$data/bad-missing.dgm" 65 "member 'notes/empty' missing" "missing member"
head -c 1000 "$data/good-v1.dgm" > "$tmp/cut.dgm"
refuse "$tmp/cut.dgm" 65 "cut.dgm" "truncated file"
head -c 3000 "$data/good-v1-plain.dgm" > "$tmp/cut-plain.dgm"
refuse "$tmp/cut-plain.dgm" 65 "member 'params/" "truncated plain tar"
refuse "$tmp/none.dgm" 66 "none.dgm" "missing file"

dg-info "$data/good-v1.dgm" "$data/bad-crc.dgm" > "$tmp/o" 2> "$tmp/e"
is $? 65 "a good and a bad file: status of the bad one"
grep -q "params/enc.fc1.weight" "$tmp/o"
t $? "the good one is still described"

# ---- a model of ABI 1 (dg 0.1.0, before several phases) ---------------------
# good-abi1-vae-e1.dgm and -e2.dgm: dg 0.1.0 (commit 010b043) trained a vae
# (hidden 4, latent 2) on streamtool's 64 1x8x8 images for 1 and 2 epochs
# (batch 16, seed 3).  This dg samples from it, and resumes it exactly as
# dg 0.1.0 went on: the same tensors as its own second epoch.
if [ -n "$DG_BUILD" ] && [ -e "$DG_BUILD/lib/dg/dg-vae.so" ]; then
	python3 "$src/tests/data/png/streamtool.py" write f32 64x1x8x8 space=image > "$tmp/img8.dgt"
	dg-sample -m "$data/good-abi1-vae-e1.dgm" -n 4 | dg-decode -m "$data/good-abi1-vae-e1.dgm" > "$tmp/a1.png"
	t $? "an ABI 1 checkpoint: dg-sample | dg-decode"
	cp "$data/good-abi1-vae-e1.dgm" "$tmp/r.dgm"
	dg-train -q --resume "$tmp/r.dgm" -d "$tmp/img8.dgt" -e 2 &&
		mkdir "$tmp/x1" "$tmp/x2" && tar xzf "$tmp/r.dgm" -C "$tmp/x1" &&
		tar xzf "$data/good-abi1-vae-e2.dgm" -C "$tmp/x2" &&
		(cd "$tmp" && find x2/params x2/optim -name '*.dgt' | sed 's|^x2/||') |
		python3 -c '
# Each tensor within 1e-6 of the largest magnitude of dg 0.1.0s: built
# with gcc as 0.1.0 was, they are byte for byte the same; clang rounds a
# few of the last bits differently.  A resume that lost the optimizer
# state, the step or the batch order differs by far more.
import struct, sys
def floats(path):
    b = open(path, "rb").read()
    n = struct.unpack_from("<Q", b, 24)[0]
    end = len(b) - (-n) % 64
    return struct.unpack("<%df" % (n // 4), b[end - n:end])
bad = 0
for m in sys.stdin.read().split():
    a, b = floats(sys.argv[1] + "/" + m), floats(sys.argv[2] + "/" + m)
    top = max(max(abs(v) for v in b), 1e-30)
    d = max(abs(u - v) for u, v in zip(a, b)) if len(a) == len(b) else float("inf")
    if d > 1e-6 * top:
        print("# %s differs by %g (largest %g)" % (m, d, top))
        bad = 1
sys.exit(bad)
' "$tmp/x1" "$tmp/x2"
	t $? "  --resume to 2 epochs: dg 0.1.0's own second epoch, to the last bits' rounding"
	tar xzOf "$tmp/r.dgm" manifest | grep -q '^phase.vae=adam .* lr=0.00100000005 ' &&
		tar xzOf "$tmp/r.dgm" manifest | grep -q '^plugin_abi=2$'
	t $? "  saved as ABI 2, the phase's rate from its train.lr"
else
	for i in 1 2 3; do n=$((n + 1)); echo "ok $n # SKIP the vae family is not built"; done
fi

echo "1..$n"
exit $fail
