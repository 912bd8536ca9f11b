#!/bin/sh
# pixelrnn.t — the pixelrnn family (plugins/pixelrnn.c) through the tools,
# on a small part of Fashion-MNIST: each architecture trains a few steps
# and logs its NLL in nats and bits/dim; dg-sample draws images pixel by
# pixel, the same bytes for the same seed and other ones for another seed,
# binary for a Bernoulli model and 8-bit levels for a categorical one;
# temperatures <= 0 are refused; cached steps (both architectures) draw
# the bytes of the whole-image loop, completions too, on cpu and vulkan;
# dg-eval gives a finite NLL per image that
# agrees with bits/dim; an even kernel is refused with a reason.  Small
# networks keep the test to seconds.
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"

if [ -z "$DG_BUILD" ] || [ -z "$DG_SRC" ]; then echo "1..0 # SKIP DG_SRC and DG_BUILD are set by make check"; exit 0; fi
dg-encode fashion-mnist --limit 64 > "$tmp/small.dgs" || { echo "Bail out! no data"; exit 1; }
cd "$tmp" || exit 1
small="--set hidden=4 --set head=8"

# The values of a stream of images, one per line (python3 reads dg-stream(5)).
values() {
	python3 - "$1" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
at, out = 0, []
while at < len(data):
    dtype, rank = data[at + 6], data[at + 7]
    mlen, plen = struct.unpack_from("<QQ", data, at + 16)
    dims = struct.unpack_from("<%dQ" % rank, data, at + 32)
    at += 128 + mlen + (-(128 + mlen) % 64)
    fmt = {1: "f", 4: "B"}[dtype]
    vals = struct.unpack_from("<%d%s" % (plen // struct.calcsize(fmt), fmt), data, at)
    out += [v / 255 if dtype == 4 else v for v in vals]
    at += plen + (-plen % 64)
print(len(out))
for v in out:
    print(repr(v))
EOF
}

for arch in row diagonal; do
	dg-train -q -p pixelrnn -d small.dgs -o $arch.dgm -e 1 -b 16 $small --set arch=$arch \
		--log $arch.csv
	r=$?
	[ $r = 0 ] && [ "$(head -1 $arch.csv)" = "epoch,step,nll,bpd,images_per_s" ] &&
		awk -F, 'NR == 2 { if ($3 != $3 + 0 || $3 < 100 || $3 > 1000 || $3 ~ /nan|inf/) exit 1
			if (($4 - $3 / (784 * log(2))) ^ 2 > 1e-6) exit 1 } END { exit NR != 2 }' $arch.csv
	t $? "$arch: 4 steps, nll in nats and bits/dim in the log ($(sed -n 2p $arch.csv))"

	dg-sample -m $arch.dgm -n 3 --seed 5 > s1.dgt && dg-sample -m $arch.dgm -n 3 --seed 5 > s2.dgt &&
		cmp -s s1.dgt s2.dgt
	t $? "  $arch: dg-sample --seed 5 twice, the same bytes"
	dg-sample -m $arch.dgm -n 3 --seed 6 > s3.dgt && ! cmp -s s1.dgt s3.dgt
	t $? "  $arch: another seed, other images"
	values s1.dgt > v1 && [ "$(head -1 v1)" = $((3 * 784)) ] &&
		tail -n +2 v1 | awk '$1 != 0 && $1 != 1 { exit 1 }'
	t $? "  $arch: 3 images of 784 pixels, each 0 or 1"

	dg-eval -m $arch.dgm -d small.dgs > eval.txt 2> eval.err
	r=$?
	nll=$(awk '$1 == "nll" { print $2 }' eval.txt)
	bpd=$(awk '$1 == "bpd" { print $2 }' eval.txt)
	[ $r = 0 ] && awk -v v="$nll" -v b="$bpd" 'BEGIN { exit !(v == v + 0 && v > 100 && v < 1000 &&
		(b - v / (784 * log(2))) ^ 2 < 1e-6) }'
	t $? "  $arch: dg-eval gives a finite nll per image ($nll nats, $bpd bits/dim)"
done

# a temperature scales the logits: lower is more certain, so fewer pixels
# disagree with the model's likelier value; 0 and below are refused
dg-sample -m row.dgm -n 2 --seed 1 -t 0.5 > cold.dgt
t $? "dg-sample -t 0.5 samples"
dg-sample -m row.dgm -n 2 -t 0 > /dev/null 2> err
r=$?
[ $r -ne 0 ] && grep -q 'temperature' err
t $? "dg-sample -t 0 refused ($r): $(head -c 120 err)"

# the 256-way model: values are 8-bit levels
dg-train -q -p pixelrnn -d small.dgs -o cat.dgm -e 1 -b 32 $small --set likelihood=categorical \
	--log cat.csv &&
	awk -F, 'NR == 2 { if ($3 != $3 + 0 || $3 < 1000) exit 1 } END { exit NR != 2 }' cat.csv
t $? "likelihood=categorical trains ($(sed -n 2p cat.csv | cut -d, -f3) nats, 784 pixels of 8 bits)"
dg-sample -m cat.dgm -n 2 --seed 2 > c.dgt && values c.dgt > vc &&
	tail -n +2 vc | awk '{ v = $1 * 255; if ((v - int(v + 0.5)) ^ 2 > 1e-6 || $1 < 0 || $1 > 1) exit 1 }'
t $? "  its samples are levels k/255"

# cached steps (the Row LSTM's default) against the whole-image loop
# (DG_PIXELRNN_FULL_STEPS=1): the same draws, so the same bytes.  A model
# trained with a large step so that its states matter to the draws (an
# untrained one's barely do), two layers, k = 5, batches of 3 so that a
# later batch starts on caches an earlier one left.
dg-train -q -p pixelrnn -d small.dgs -o c2.dgm -e 2 -b 16 --lr 0.02 --set hidden=8 --set head=8 \
	--set layers=2 --set kernel=5 &&
	dg-sample -m c2.dgm -n 8 -b 3 -s 3 > k1.dgt &&
	DG_PIXELRNN_FULL_STEPS=1 dg-sample -m c2.dgm -n 8 -b 3 -s 3 | cmp -s - k1.dgt
t $? "row: cached steps draw what the whole image does (2 layers, k=5, 3 batches)"
dg-encode fashion-mnist --limit 2 > two.dgs &&
	dg-sample -m c2.dgm --complete two.dgs --keep-rows 14 -n 3 -b 4 -s 5 > kc.dgt &&
	DG_PIXELRNN_FULL_STEPS=1 dg-sample -m c2.dgm --complete two.dgs --keep-rows 14 -n 3 -b 4 \
		-s 5 | cmp -s - kc.dgt &&
	values kc.dgt > vk && [ "$(head -1 vk)" = $((6 * 784)) ]
t $? "  completions (--keep-rows 14: kept steps replayed into the caches), the same"
dg-sample -m cat.dgm -n 3 -b 2 -s 2 > kk.dgt &&
	DG_PIXELRNN_FULL_STEPS=1 dg-sample -m cat.dgm -n 3 -b 2 -s 2 | cmp -s - kk.dgt
t $? "  categorical (256 levels), the same"
# the Diagonal BiLSTM's caches, and both on vulkan, on 9×8 images: the
# whole-image loop runs many small steps (lavapipe's dispatches, the
# diagonals) for minutes on 28×28
if command -v convert > /dev/null; then
	mkdir gray && for i in 0 1 2 3 4 5 6 7; do
		convert -size 8x9 -seed $i plasma: -colorspace Gray gray/$i.png; done &&
		dg-encode gray/*.png > gray.dgs || { echo "Bail out! cannot make images"; exit 1; }
	dg-train -q -p pixelrnn -d gray.dgs -o d.dgm -e 4 -b 4 --lr 0.02 --set arch=diagonal \
		--set hidden=8 --set head=8 --set layers=2 &&
		dg-sample -m d.dgm -n 6 -b 4 -s 3 > kd.dgt &&
		DG_PIXELRNN_FULL_STEPS=1 dg-sample -m d.dgm -n 6 -b 4 -s 3 | cmp -s - kd.dgt &&
		dg-sample -m d.dgm --complete gray.dgs --keep-rows 4 -n 1 -b 4 -s 5 > kdc.dgt &&
		DG_PIXELRNN_FULL_STEPS=1 dg-sample -m d.dgm --complete gray.dgs --keep-rows 4 -n 1 \
			-b 4 -s 5 | cmp -s - kdc.dgt
	t $? "diagonal: cached steps draw what the whole image does (2 layers, 2 batches), completions too"
	if dg-info --devices 2> /dev/null | grep -q vulkan; then
		dg-train -q -p pixelrnn -d gray.dgs -o v.dgm -e 4 -b 4 --lr 0.02 --set hidden=8 \
			--set head=8 --set layers=2 --set kernel=5
		r=$?
		for m in v d; do
			[ $r = 0 ] && dg-sample -m $m.dgm -n 6 -b 4 -s 3 --device vulkan > kv.dgt &&
				DG_PIXELRNN_FULL_STEPS=1 dg-sample -m $m.dgm -n 6 -b 4 -s 3 --device vulkan |
				cmp -s - kv.dgt
			r=$?
		done
		t $r "  on vulkan (9×8 images, 2 batches), row and diagonal, the same"
	fi
fi

# refusal: an even kernel has no centre
dg-train -q -p pixelrnn -d small.dgs -o bad.dgm -e 1 -b 16 $small --set kernel=4 2> err
r=$?
[ $r = 64 ] && grep -q 'kernel=4: must be odd' err
t $? "kernel=4 refused with 64: $(head -c 100 err)"

echo "1..$n"
exit $fail
