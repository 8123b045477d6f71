#!/usr/bin/env bash
# containerize's RUN network (issue 13, tasks/containerize/network.h), as
# root and as an unprivileged user (nobody):
#   - default: the step has a network namespace of its own with lo and
#     slirp4netns's tap0 only, routes via 10.0.2.2, slirp's DNS in
#     /etc/resolv.conf, its own address in /etc/hosts; its attempts to add
#     a link, an address and a route are refused and the host's links,
#     addresses and routes are unchanged;
#   - a TCP server the test starts on the host's 127.0.0.1 is NOT reachable
#     (through 10.0.2.2, nor as the step's own 127.0.0.1): the server
#     sees no connection; with network=slirp4netns:allow_host_loopback=true
#     it is, through 10.0.2.2 only;
#   - RUN --network=none and network=none: lo only, no route;
#   - network=host: the host's links (and a warning); RUN --network=host
#     without it is refused, saying why;
#   - no slirp4netns is left (a subreaper sees what the build leaves), on
#     success, on failure and when containerize gets SIGTERM during a RUN,
#     and the step's network namespace is gone;
#   - slirp4netns missing, or /dev/net/tun not usable by the user (a
#     container runtime's 0600): a clear error naming the package or the
#     device, and the network=none|host alternatives, exit 1.
# The unprivileged builds need /dev/net/tun 0666, Debian's mode (udev):
# they run with a node of that mode (or 0600 for the error case) bound on
# /dev/net/tun in a mount namespace of their own (containerize/with-tun.sh),
# whatever the machine's is; the machine's node is not touched.
# Traffic stays on loopback and in the namespaces the builds create.
# Prints PASS:/FAIL: lines; exits non-zero if any FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=containerize-network tools="slirp4netns python3 setpriv ip" as_root=1
# shellcheck source=containerize/prelude.sh
. "$here/containerize/prelude.sh"
REAPER="python3 $here/containerize/subreaper.py"
server=
at_exit+=('[ -n "$server" ] && kill "$server" 2>/dev/null')
[ -c /dev/net/tun ] || { fail "prerequisites" "no /dev/net/tun (slirp4netns needs it)"; exit 1; }

# a TCP server on the host's loopback: says "hello-from-host" to every
# connection it accepts, and logs it
python3 - "$tmp/port" "$tmp/conns" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    c, a = s.accept()
    with open(sys.argv[2], "a") as f:
        f.write("%s:%d\n" % a)
    c.sendall(b"hello-from-host\n")
    c.close()
PY
server=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
PORT=$(cat "$tmp/port" 2>/dev/null)
[ -n "$PORT" ] || { fail "prerequisites" "the loopback server did not start"; exit 1; }
: >"$tmp/conns"
conns() { wc -l <"$tmp/conns"; }

host_net() { # the host's links, addresses and routes
	ip -o link show | awk -F': ' '{print $2}'
	ip -o addr show | awk '{print $2, $3, $4}'
	ip route show
	ip -6 route show
}
host0=$(host_net)
hostns=$(readlink /proc/self/ns/net)

# build NAME AS DOCKERFILE-TEXT [containerize args]: via the subreaper
# (its report in $tmp/NAME.reap), log in $tmp/NAME.log
build() {
	local name=$1 as=$2 text=$3 ctx=$tmp/$1 term=()
	shift 3
	if [ "${1:-}" = --term-on ]; then term=(--term-on "$2"); shift 2; fi
	mkdir -p "$ctx"
	printf '%b' "$text" >"$ctx/Dockerfile"
	local run=()
	if [ "$as" = nobody ] || [ "$as" = nobody-tun0600 ]; then
		chown -R 65534:65534 "$ctx"
		run=("$here/containerize/with-tun.sh" 0666 setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR="$ctx")
		[ "$as" = nobody-tun0600 ] && run[1]=0600
	fi
	$REAPER "${term[@]}" "$tmp/$name.log" -- "${run[@]}" "$BIN" --context="$ctx" --push=false --oci-layout="$ctx/out" \
		--tag=latest --build-args="BASE=$BASE" --build-args="PORT=$PORT" --source-date-epoch=0 "$@" >"$tmp/$name.reap"
	local st
	st=$(sed -n 's/^exit //p' "$tmp/$name.reap")
	[ "${st:-1}" -lt 0 ] && st=$((128 - st)) # killed by signal -st
	return "${st:-1}"
}
line() { grep -m1 "^$2: " "$tmp/$1.log" | cut -d' ' -f2-; } # line NAME KEY: the value the step printed
check() { # check NAME WHAT WANT GOT
	if [ "$3" = "$4" ]; then pass "$1: $2"; else fail "$1: $2" "want: $3" "got:  $4"; fi
}
no_leftovers() { # no_leftovers NAME: no slirp4netns left, the step's netns gone
	local r=$tmp/$1.reap
	if grep -q '^orphans.*slirp4netns' "$r" || ! grep -q '^running none$' "$r" || grep -q '^netns-held yes' "$r"; then
		fail "$1: nothing left behind" "$(cat "$r")"
	else
		pass "$1: no slirp4netns left, the step's network namespace gone"
	fi
}
host_unchanged() {
	local now
	now=$(host_net)
	if [ "$now" = "$host0" ]; then pass "$1: the host's links, addresses and routes unchanged"; else
		fail "$1: the host's network unchanged" "$(diff <(echo "$host0") <(echo "$now") | head -8)"; fi
}

# refused NAME AS DOCKERFILE EXIT MESSAGE PASSED FAILED: the build of a
# step that would print "ran" exits EXIT saying MESSAGE (a grep pattern)
# and the step never ran; the test is "NAME: PASSED" (or "NAME: FAILED")
refused() {
	local n=$1 rc
	build "$n" "$2" "$3"
	rc=$?
	if [ $rc -eq "$4" ] && grep -q "$5" "$tmp/$n.log" && ! grep -q '^ran' "$tmp/$n.log"; then
		pass "$n: $6"
	else
		fail "$n: $7" "exit $rc" "$(tail -2 "$tmp/$n.log")"
	fi
}

# what a step sees and tries; every line "key: value"
probe='ARG BASE\nFROM $BASE\nARG PORT\nRUN echo "netns: $(readlink /proc/self/ns/net)"; echo "links: $(ip -o link | awk -F": " "{print \\$2}" | tr "\\n" " ")"; echo "routes: $(ip route | tr -s " " | tr "\\n" ";")"; echo "dns: $(grep nameserver /etc/resolv.conf | tr "\\n" ";")"; echo "hosts: $(grep -v -e localhost -e ip6- /etc/hosts | tr -s "\\t " " ")"; echo "linkadd: $(ip link add d0 type dummy 2>&1)"; echo "addradd: $(ip addr add 10.9.9.9/32 dev lo 2>&1)"; echo "routeadd: $(ip route add 10.8.0.0/16 via 10.0.2.2 2>&1)"; echo "gateway: $(nc -w 5 10.0.2.2 $PORT </dev/null 2>&1)"; echo "ownlo: $(nc -w 5 127.0.0.1 $PORT </dev/null 2>&1)"\n'
# /dev/net/tun not usable by the unprivileged user: said plainly
n=tun-closed
refused "$n" nobody-tun0600 'ARG BASE\nFROM $BASE\nRUN echo ran\n' 1 \
	"RUN's network: slirp4netns needs /dev/net/tun (mode 0600) read-write for this user (Debian makes it 0666), or build with network=none (loopback only) or network=host (the host's network, not isolated): Permission denied" \
	"exit 1, names /dev/net/tun's mode and network=none|host; the step did not run" "clear error"
no_leftovers "$n"

EPERM="ip: RTNETLINK answers: Operation not permitted"
for as in root nobody; do
	n=default-$as
	c0=$(conns)
	build "$n" "$as" "$probe"
	rc=$?
	[ $rc -eq 0 ] || fail "$n: build" "exit $rc" "$(tail -3 "$tmp/$n.log")"
	ns=$(line "$n" netns)
	if [ -n "$ns" ] && [ "$ns" != "$hostns" ]; then pass "$n: a network namespace of its own ($ns)"; else
		fail "$n: a network namespace of its own" "step: ${ns:-none}, host: $hostns"; fi
	check "$n" "sees lo and tap0 only" "lo tap0 " "$(line "$n" links)"
	check "$n" "routes via slirp's gateway" "default via 10.0.2.2 dev tap0 ;10.0.2.0/24 dev tap0 scope link src 10.0.2.100 ;" "$(line "$n" routes)"
	check "$n" "resolv.conf names slirp's DNS only" "nameserver 10.0.2.3;" "$(line "$n" dns)"
	check "$n" "/etc/hosts gives the step's address" "10.0.2.100 containerize" "$(line "$n" hosts)"
	check "$n" "ip link add refused" "$EPERM" "$(line "$n" linkadd)"
	check "$n" "ip addr add refused" "$EPERM" "$(line "$n" addradd)"
	check "$n" "ip route add refused" "$EPERM" "$(line "$n" routeadd)"
	check "$n" "the host's 127.0.0.1 via 10.0.2.2 refused" "nc: can't connect to remote host (10.0.2.2): Network is unreachable" "$(line "$n" gateway)"
	check "$n" "its own 127.0.0.1 is not the host's" "nc: can't connect to remote host (127.0.0.1): Connection refused" "$(line "$n" ownlo)"
	check "$n" "the host's server saw no connection" "$c0" "$(conns)"
	host_unchanged "$n"
	no_leftovers "$n"
done

# the host's loopback through 10.0.2.2, when the build allows it
n=host-loopback
c0=$(conns)
build "$n" root "$probe" --network=slirp4netns:allow_host_loopback=true
check "$n" "reaches the host's 127.0.0.1 at 10.0.2.2" "hello-from-host" "$(line "$n" gateway)"
check "$n" "its own 127.0.0.1 still is not the host's" "nc: can't connect to remote host (127.0.0.1): Connection refused" "$(line "$n" ownlo)"
check "$n" "the host's server saw that one connection" "$((c0 + 1))" "$(conns)"
grep -q 'RUN steps reach the host.s 127.0.0.1 services at 10.0.2.2' "$tmp/$n.log" && pass "$n: warned" || fail "$n: warned" "$(head -3 "$tmp/$n.log")"
no_leftovers "$n"

# loopback only
none_df='ARG BASE\nFROM $BASE\nRUN --network=none echo "links: $(ip -o link | awk -F": " "{print \\$2}" | tr "\\n" " ")"; echo "routes: $(ip route | tr "\\n" ";")"; echo "lo: $(ip -o addr show lo | awk "{print \\$4}" | tr "\\n" " ")"\n'
for as in root nobody; do
	n=none-$as
	build "$n" "$as" "$none_df" || fail "$n: build" "$(tail -3 "$tmp/$n.log")"
	check "$n" "RUN --network=none: lo only, up" "lo " "$(line "$n" links)"
	check "$n" "RUN --network=none: no route" "" "$(line "$n" routes)"
	check "$n" "RUN --network=none: loopback addresses" "127.0.0.1/8 ::1/128 " "$(line "$n" lo)"
	host_unchanged "$n"
	no_leftovers "$n"
done
n=param-none
build "$n" root "$(sed 's/RUN --network=none/RUN/' <<<"$none_df")" --network=none || fail "$n: build" "$(tail -3 "$tmp/$n.log")"
check "$n" "network=none: lo only" "lo " "$(line "$n" links)"

# the host's network, only when asked
hostlinks="$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')"
n=param-host
build "$n" root "$probe" --network=host || fail "$n: build" "$(tail -3 "$tmp/$n.log")"
check "$n" "network=host: the host's links" "$hostlinks" "$(line "$n" links)"
check "$n" "network=host: the host's namespace" "$hostns" "$(line "$n" netns)"
grep -q 'network=host: RUN steps share the host.s network namespace' "$tmp/$n.log" && pass "$n: warned" || fail "$n: warned" "$(head -3 "$tmp/$n.log")"
host_unchanged "$n"
n=flag-host
refused "$n" root 'ARG BASE\nFROM $BASE\nRUN --network=host echo ran\n' 2 \
	'RUN --network=host shares the host.s network: allowed only when the build is given network=host' \
	"RUN --network=host without network=host refused (exit 2, says why)" "RUN --network=host refused"
n=flag-host-allowed
build "$n" root 'ARG BASE\nFROM $BASE\nRUN --network=host echo "netns: $(readlink /proc/self/ns/net)"\n' --network=host
check "$n" "RUN --network=host with network=host: the host's namespace" "$hostns" "$(line "$n" netns)"

# a failing step, and SIGTERM during a step: nothing left either way
for as in root nobody; do
	n=fails-$as
	build "$n" "$as" 'ARG BASE\nFROM $BASE\nRUN echo "netns: $(readlink /proc/self/ns/net)"; exit 3\n'
	rc=$?
	[ $rc -eq 1 ] && grep -q 'the command exited with status 3' "$tmp/$n.log" && pass "$n: the step's failure reported" ||
		fail "$n: the step's failure reported" "exit $rc" "$(tail -2 "$tmp/$n.log")"
	no_leftovers "$n"
	n=sigterm-$as
	build "$n" "$as" 'ARG BASE\nFROM $BASE\nRUN echo "netns: $(readlink /proc/self/ns/net)" >&2; echo STEP-$((1 + 1))-STARTED >&2; sleep 30; echo STEP-$((2 + 2))-FINISHED >&2\n' \
		--term-on STEP-2-STARTED
	rc=$?
	[ $rc -eq 1 ] && grep -q ': stopped by SIGTERM during the step (killed, its network ended)$' "$tmp/$n.log" &&
		pass "$n: SIGTERM ends the step, containerize says so (exit 1)" ||
		fail "$n: SIGTERM ends the step, containerize says so" "exit $rc" "$(tail -2 "$tmp/$n.log")"
	grep -q '^netns: net:' "$tmp/$n.log" || fail "$n: the step started" "$(tail -3 "$tmp/$n.log")"
	grep -q '^STEP-4-FINISHED' "$tmp/$n.log" && fail "$n: the step was killed" "it ran to its end"
	no_leftovers "$n"
	host_unchanged "$n"
done

# slirp4netns not installed
n=no-slirp
mkdir -p "$tmp/noslirp-path"
build "$n" root 'ARG BASE\nFROM $BASE\nRUN echo ran\n' --network=default 2>/dev/null
rc_with=$?
[ $rc_with -eq 0 ] || fail "$n: control build" "$(tail -2 "$tmp/$n.log")"
mkdir -p "$tmp/$n-x" && printf 'ARG BASE\nFROM $BASE\nRUN echo ran\n' >"$tmp/$n-x/Dockerfile"
PATH=$tmp/noslirp-path "$BIN" --context="$tmp/$n-x" --push=false --oci-layout="$tmp/$n-x/out" --tag=latest \
	--build-args="BASE=$BASE" >/dev/null 2>"$tmp/$n-x.log"
rc=$?
if [ $rc -eq 1 ] && grep -q "RUN's network needs slirp4netns, which is not installed (Debian package slirp4netns): install it, or build with network=none (loopback only) or network=host" "$tmp/$n-x.log" &&
	! grep -q '^ran' "$tmp/$n-x.log"; then
	pass "$n: exit 1, names the package and network=none|host; the step did not run"
else
	fail "$n: clear error" "exit $rc" "$(tail -2 "$tmp/$n-x.log")"
fi
PATH=$tmp/noslirp-path "$BIN" --context="$tmp/$n-x" --push=false --oci-layout="$tmp/$n-x/out2" --tag=latest \
	--build-args="BASE=$BASE" --network=none >/dev/null 2>"$tmp/$n-none.log" && grep -q '^ran' "$tmp/$n-none.log" &&
	pass "$n: network=none builds without it" || fail "$n: network=none builds without it" "$(tail -2 "$tmp/$n-none.log")"

echo "containerize-network: $fails failed"
[ $fails -eq 0 ]
