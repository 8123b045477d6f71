#!/bin/sh
# with-tun.sh MODE COMMAND...: run COMMAND in a mount namespace of its own
# where /dev/net/tun is a fresh node (10:200) of mode MODE, e.g. 0666 (the
# mode Debian's udev gives it, which unprivileged slirp4netns needs) or
# 0600 (a container runtime's). The machine's /dev/net/tun is not
# touched. Needs root; COMMAND drops privileges itself (setpriv). Every
# step execs the next, so COMMAND keeps this script's pid and gets the
# signals sent to it; the node's file is removed once bound (the bind
# mount keeps it).
set -eu
mode=$1
shift
dir=$(mktemp -d /tmp/with-tun.XXXXXX)
mknod -m "$mode" "$dir/tun" c 10 200 || { rm -rf "$dir"; exit 125; }
exec unshare --mount --propagation private sh -c '
	mount --bind "$0/tun" /dev/net/tun || exit 125
	rm -f "$0/tun" && rmdir "$0"
	exec "$@"' "$dir" "$@"
