#!/bin/sh
# with-binds.sh SRC:DST... -- COMMAND...: run COMMAND in a mount namespace
# of its own where each file SRC is bound over DST (e.g. a fixture
# /etc/subuid), so the machine's files are never changed and nothing needs
# restoring, whatever happens to the test. Needs root; COMMAND drops
# privileges itself (setpriv) if it should.
set -eu
binds=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	binds="$binds $1"
	shift
done
[ "${1:-}" = -- ] || { echo "usage: with-binds.sh SRC:DST... -- COMMAND..." >&2; exit 2; }
shift
exec unshare --mount --propagation private sh -c '
	for b in $0; do mount --bind "${b%%:*}" "${b#*:}" || exit 125; done
	exec "$@"' "$binds" "$@"
