#!/bin/sh
# vk-validation.t — the Vulkan runtime and Philox tests again with
# VK_LAYER_KHRONOS_validation and synchronization validation on: both pass,
# and the layer reports nothing but the one misuse t_vk_runtime makes on
# purpose to prove the counting works.
echo 1..4
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
# The layer (C++, unloaded at vkDestroyInstance) leaves allocations that
# LeakSanitizer reports without symbols; dg's own leaks are caught by the
# same tests run without the layer.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS
n=0
for t in t_vk_runtime:1 t_vk_rng:0; do
	prog=${t%:*} want=${t#*:}
	n=$((n + 1))
	if DG_VK_VALIDATION=1 "$DG_BUILD/tests/$prog" >"$tmp.out" 2>"$tmp"; then
		echo "ok $n - $prog passes under the validation layer"
	else
		echo "not ok $n - $prog passes under the validation layer"
		sed 's/^/# /' "$tmp.out" | grep -v '^# ok' | head -20
	fi
	n=$((n + 1))
	got=$(grep -c '^dg: vulkan validation' "$tmp")
	if [ "$got" -eq "$want" ]; then
		echo "ok $n - $prog: $got validation message(s), as expected"
	else
		echo "not ok $n - $prog: $got validation messages, want $want"
		sed 's/^/# /' "$tmp" | head -20
	fi
	rm -f "$tmp.out"
done
