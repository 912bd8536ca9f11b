#!/bin/sh
# dg-translate.t — image records through a model's translation (an
# autoencoder's reconstruction here): one record out per record in, with
# its labels and source; the same images dg-encode -m | dg-decode -m make;
# any record size; u8 input; standard input; refusals.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
fails() {
	want=$1; shift
	"$@" > "$tmp/out" 2> "$tmp/err"
	st=$?
	[ $st = "$want" ] && grep -q '^dg-translate: ' "$tmp/err" && [ ! -s "$tmp/out" ]
	r=$?
	[ $r = 0 ] || { echo "# status $st, stderr:"; sed 's/^/#   /' "$tmp/err"; }
	return $r
}
if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
${CC:-cc} -std=c11 -Wall -Wextra -Werror -shared -fPIC -I"$DG_SRC/libcore/include" \
	-o "$tmp/dg-tiny.so" "$DG_SRC/tests/data/plugin/tiny.c" -L"$DG_BUILD/lib" -ldg \
	-Wl,-rpath,"$DG_BUILD/lib" || { echo "Bail out! cannot build tiny"; exit 1; }
DG_PLUGIN_PATH=$tmp${DG_PLUGIN_PATH:+:$DG_PLUGIN_PATH}
export DG_PLUGIN_PATH
stool="python3 $DG_SRC/tests/data/png/streamtool.py"
cd "$tmp" || exit 1
dg-encode fashion-mnist --limit 512 > small.dgt &&
	dg-train -q -p ae -d small.dgt -o ae.dgm -e 1 -b 64 &&
	dg-train -q -p vae -d small.dgt -o vae.dgm -e 1 -b 64 &&
	dg-train -q -p tiny -d small.dgt -o tiny.dgm -e 1 -b 64 || { echo "Bail out! cannot train"; exit 1; }
dg-encode fashion-mnist-test --limit 8 > eight.dgt

dg-translate -m ae.dgm eight.dgt > r.dgt
t $? "dg-translate -m ae.dgm eight.dgt"
dg-info --json r.dgt > info && [ "$(jq -s length info)" = 1 ] &&
	[ "$(jq -r '.shape | map(tostring) | join("x")' info)" = 8x1x28x28 ] &&
	[ "$(jq -r .meta.space info)" = image ] && [ "$(jq -r .meta.family info)" = ae ] &&
	[ "$(jq -r .meta.labels info)" = "$(dg-info --json eight.dgt | jq -r .meta.labels)" ] &&
	[ "$(jq -r .meta.model info)" = "$(dg-encode -m ae.dgm eight.dgt | dg-info --json | jq -r .meta.model)" ]
t $? "  one 8x1x28x28 image record: family, the model's fingerprint, the labels kept"
dg-decode < r.dgt > r.png && dg-encode -m ae.dgm eight.dgt | dg-decode -m ae.dgm > d.png && cmp -s r.png d.png
t $? "  the same images as dg-encode -m | dg-decode -m (reconstructions)"
dg-translate -m ae.dgm < eight.dgt | cmp -s - r.dgt
t $? "  standard input without FILE: the same bytes"
dg-translate -m vae.dgm eight.dgt | dg-decode > v.png && dg-encode -m vae.dgm eight.dgt |
	dg-decode -m vae.dgm > vd.png && cmp -s v.png vd.png
t $? "  a vae translates through its posterior mean"
dg-encode fashion-mnist-test --limit 8 --batch 3 > three.dgt &&
	dg-translate -m ae.dgm -b 4 three.dgt > r3.dgt &&
	[ "$(dg-info --json r3.dgt | jq -r '.shape[0]' | tr '\n' ' ')" = "3 3 2 " ] &&
	dg-decode < r3.dgt | cmp -s - r.png
t $? "  records of 3, 3, 2 in runs of 4: the same records out, the same images"
dg-translate -m ae.dgm --device vulkan eight.dgt | dg-decode > rv.png && cmp -s rv.png r.png
t $? "  on vulkan: the same PNG"
$stool write u8 2x1x28x28 > u8.dgt && $stool write f32 2x1x28x28 > f32.dgt &&
	dg-translate -m ae.dgm u8.dgt | dg-decode > u.png &&
	dg-translate -m ae.dgm f32.dgt | dg-decode > f.png && cmp -s u.png f.png
t $? "  u8 images are scaled to [0,1] like f32 ones"
# dg-stream(5): dg-translate, one record in, one out, keeps keys it does
# not know; dg-encode, which regroups records, writes only its own
$stool write f32 2x1x28x28 space=image note=kept > note.dgt &&
	[ "$(dg-translate -m ae.dgm note.dgt | dg-info --json | jq -r .meta.note)" = kept ] &&
	[ "$(dg-encode note.dgt | dg-info --json | jq -r '.meta.note // "none"')" = none ]
t $? "  unknown keys: kept by dg-translate, not by dg-encode, as dg-stream(5) says"
dg-translate -m ae.dgm eight.dgt eight.dgt | dg-info --json | jq -s length | grep -qx 2
t $? "  two files: two records"

fails 64 dg-translate eight.dgt
t $? "no -m: 64"
fails 64 dg-translate -m tiny.dgm eight.dgt && grep -q 'does not translate' "$tmp/err"
t $? "a family that does not translate: 64, saying so"
dg-sample -m vae.dgm -n 4 > z.dgt
fails 65 dg-translate -m ae.dgm z.dgt && grep -q 'latent codes go to dg-decode -m' "$tmp/err"
t $? "latent codes: 65, pointing to dg-decode -m"
$stool write f32 2x1x8x8 > small8.dgt
fails 65 dg-translate -m ae.dgm small8.dgt && grep -q 'takes 1x28x28' "$tmp/err"
t $? "images of another shape: 65"
fails 66 dg-translate -m ae.dgm missing.dgt
t $? "a missing file: 66"
fails 66 dg-translate -m missing.dgm eight.dgt
t $? "a missing model: 66"
if command -v script > /dev/null 2>&1; then
	script -qec "dg-translate -m '$tmp/ae.dgm'" /dev/null > tty 2>&1
	[ $? = 64 ] && grep -q terminal tty
	t $? "a terminal on standard input: 64"
else
	echo "ok $((n = n + 1)) # skip script(1) not installed"
fi

echo "1..$n"
exit $fail
