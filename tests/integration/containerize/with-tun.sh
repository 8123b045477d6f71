#!/bin/sh
# with-tun.sh MODE COMMAND...: run COMMAND in a mount namespace of its own
# where /dev/net/tun is a fresh node (10:200) of mode MODE, e.g. 0666 (the
# mode Debian's udev gives it, which unprivileged slirp4netns needs) or
# 0600 (a container runtime's). The machine's /dev/net/tun is not
# touched. Needs root; COMMAND drops privileges itself (setpriv).
set -eu
mode=$1
shift
dir=$(mktemp -d /tmp/with-tun.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mknod -m "$mode" "$dir/tun" c 10 200
set +e
unshare --mount --propagation private sh -c 'mount --bind "$0" /dev/net/tun && exec "$@"' "$dir/tun" "$@"
