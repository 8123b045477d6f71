#!/usr/bin/env bash
# make bench: every tests/bench/<task>.sh, ours and the peer side by side
# in the same run. BENCH=<name> runs one.
set -u
here=$(cd "$(dirname "$0")" && pwd)
status=0
for b in "$here"/*.sh; do
	name=$(basename "$b" .sh)
	case $name in run | lib) continue ;; esac
	[ -n "${BENCH:-}" ] && [ "$BENCH" != "$name" ] && continue
	echo "== $name"
	bash "$b" || { echo "bench $name: FAILED (exit $?)"; status=1; }
done
exit $status
