#!/bin/sh
# vk-validation.t — the Vulkan runtime and Philox tests, and the op suite
# on the vulkan backend (t_ops vulkan: every op's shader, forward and
# backward), again with VK_LAYER_KHRONOS_validation and synchronization
# validation on: all pass, and the layer reports nothing but the one
# misuse t_vk_runtime makes on purpose to prove the counting works.
echo 1..12
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp" "$tmp.out"' EXIT
# The layer (C++, unloaded at vkDestroyInstance) leaves allocations that
# LeakSanitizer reports without symbols; dg's own leaks are caught by the
# same tests run without the layer.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS
n=0
# program[+argument][/staging]:messages wanted; /staging runs it with
# DG_VK_FORCE_STAGING=1, the transfers of a device whose memory the host
# cannot map (a discrete GPU)
for t in t_vk_runtime:1 t_vk_rng:0 t_ops+vulkan:0 t_vk_ops:0 t_graph_vk/staging:0 \
	t_vk_ops/staging:0; do
	prog=${t%:*} want=${t#*:}
	staging=
	case $prog in */staging) staging=1 prog=${prog%/staging} ;; esac
	arg=
	case $prog in *+*) arg=${prog#*+} prog=${prog%+*} ;; esac
	n=$((n + 1))
	# shellcheck disable=SC2086 # arg is one word or none
	if env DG_VK_VALIDATION=1 ${staging:+DG_VK_FORCE_STAGING=1} "$DG_BUILD/tests/$prog" $arg \
		>"$tmp.out" 2>"$tmp"; then
		echo "ok $n - $prog${arg:+ $arg} passes under the validation layer"
	else
		echo "not ok $n - $prog${arg:+ $arg} passes under the validation layer"
		sed 's/^/# /' "$tmp.out" | grep -v '^# ok' | head -20
	fi
	n=$((n + 1))
	got=$(grep -c '^dg: vulkan validation' "$tmp")
	if [ "$got" -eq "$want" ]; then
		echo "ok $n - $prog${arg:+ $arg}: $got validation message(s), as expected"
	else
		echo "not ok $n - $prog${arg:+ $arg}: $got validation messages, want $want"
		sed 's/^/# /' "$tmp" | head -20
	fi
	rm -f "$tmp.out"
done
