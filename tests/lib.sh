# tests/lib.sh — shell helpers shared by the *.t tests: TAP's test line
# and checkpoint comparisons.  Source it first thing:
#     . "${DG_SRC:-$(dirname "$0")/..}/tests/lib.sh"
# (the checkpoint helpers use tmp, a scratch directory, when called).

# Python checks import tests/dgstream.py (a dg-stream(5) reader).
PYTHONPATH="${DG_SRC:-$(dirname "$0")/..}/tests${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH

# t STATUS DESCRIPTION: TAP's "ok N - ..." when STATUS is 0, else
# "not ok N - ..." and fail=1 (the test's exit status).
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

# Every tensor member of two checkpoints, byte for byte (and the same
# list of them); says which member differs.
same_tensors() {
	mkdir -p "$tmp/x1" "$tmp/x2"
	rm -rf "$tmp/x1"/* "$tmp/x2"/*
	tar xzf "$1" -C "$tmp/x1" && tar xzf "$2" -C "$tmp/x2" || return 1
	(cd "$tmp/x1" && find . -name '*.dgt' | sort) > "$tmp/l1"
	(cd "$tmp/x2" && find . -name '*.dgt' | sort) > "$tmp/l2"
	cmp -s "$tmp/l1" "$tmp/l2" && [ -s "$tmp/l1" ] || return 1
	while read -r m; do cmp -s "$tmp/x1/$m" "$tmp/x2/$m" || { echo "# $m differs"; return 1; }; done < "$tmp/l1"
}

# The value of a manifest key of a checkpoint, whole (dg-info shortens
# long values).
manifest_key() { tar xzOf "$1" manifest | sed -n "s/^$2=//p"; }
