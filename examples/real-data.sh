#!/bin/sh
# real-data.sh — look at the data before modelling it: 64 Fashion-MNIST
# images through the tensor stream into one PNG grid, and what the stream
# held on the way.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dg-encode > /dev/null && [ -x "$root/build/bin/dg-encode" ]; then
	PATH=$root/build/bin:$PATH
fi
dg-encode fashion-mnist --limit 64 | tee real.dgs | dg-decode --grid 8x8 --scale 2 > real.png
dg-info real.dgs
