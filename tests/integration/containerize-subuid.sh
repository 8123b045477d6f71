#!/usr/bin/env bash
# containerize's RUN user namespace and /etc/subuid, /etc/subgid (issue
# 13, tasks/containerize/userns.c), one build per branch:
#   - root with a range for root: the step's ids 0-65535 are that range
#     (uid and gid ranges apart, to tell them apart), said in the log, and
#     the image keeps the owners the step gave;
#   - root without one: root maps to the default unprivileged block
#     (2147418112, 65536 ids), said in the log;
#   - root with a range under 65536 ids: used, with a warning;
#   - an unprivileged user (nobody) with a range: newuidmap maps it, the
#     step's ids 1-65536 are that range, COPY --chown to other ids works;
#   - the same user without one: only root is mapped, a warning, and a
#     COPY --chown to another id is refused naming the instruction.
# Each build sees fixture /etc/subuid and /etc/subgid bound over the real
# ones in a mount namespace of its own (containerize/with-binds.sh): the
# machine's files are never changed, so nothing needs restoring and a build
# of someone else running meanwhile sees the real ones.
# Prints PASS:/FAIL: lines; exits non-zero if any FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=containerize-subuid tools="python3 setpriv unshare newuidmap newgidmap" as_root=1
# shellcheck source=containerize/prelude.sh
. "$here/containerize/prelude.sh"
[ -f /etc/subuid ] && [ -f /etc/subgid ] || { fail "prerequisites" "/etc/subuid or /etc/subgid missing (package uidmap)"; exit 1; }

# build NAME AS SUBUID-TEXT SUBGID-TEXT DOCKERFILE-TEXT: log in $tmp/NAME.log
build() {
	local name=$1 as=$2 ctx=$tmp/$1
	mkdir -p "$ctx"
	printf '%b' "$3" >"$tmp/$name.subuid"
	printf '%b' "$4" >"$tmp/$name.subgid"
	chmod 644 "$tmp/$name.subuid" "$tmp/$name.subgid"
	printf '%b' "$5" >"$ctx/Dockerfile"
	echo "from the context" >"$ctx/file"
	local run=()
	if [ "$as" = nobody ]; then
		chown -R 65534:65534 "$ctx"
		run=("$here/containerize/with-tun.sh" 0666 setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR="$ctx")
	fi
	"$here/containerize/with-binds.sh" "$tmp/$name.subuid:/etc/subuid" "$tmp/$name.subgid:/etc/subgid" -- \
		"${run[@]}" "$BIN" --context="$ctx" --push=false --oci-layout="$ctx/out" --tag=latest \
		--build-args="BASE=$BASE" --source-date-epoch=0 --network=none >/dev/null 2>"$tmp/$name.log"
}
maps() { grep -E '^ +[0-9]+ +[0-9]+ +[0-9]+$' "$tmp/$1.log" | tr -s ' ' | sed 's/^ //' | tr '\n' ';'; }
check() { # check NAME WHAT WANT GOT
	if [ "$3" = "$4" ]; then pass "$1: $2"; else fail "$1: $2" "want: $3" "got:  $4"; fi
}
logged() { # logged NAME WHAT TEXT
	if grep -qF -- "$3" "$tmp/$1.log"; then pass "$1: $2"; else fail "$1: $2" "want a line with: $3" "$(tail -3 "$tmp/$1.log")"; fi
}
owners() { $COMPARE --list "$tmp/$1/out:latest" 2>/dev/null | grep -E "^($2) " | awk '{print $1, $4}' | tr '\n' ';'; }

steps='ARG BASE\nFROM $BASE\nRUN cat /proc/self/uid_map /proc/self/gid_map\nRUN touch /by-root && touch /by-app && chown 1000:50 /by-app\n'

n=root-range
build $n root 'root:300000:65536\n' 'root:400000:65536\n' "$steps" || fail "$n: build" "$(tail -3 "$tmp/$n.log")"
check $n "the step's ids are root's ranges" "0 300000 65536;0 400000 65536;" "$(maps $n)"
logged $n "said in the log" "RUN steps run in a user namespace: root and ids 0-65535 map to host uids 300000-365535, gids 400000-465535 (root's range in /etc/subuid, /etc/subgid)"
check $n "the image keeps the step's owners" "by-app 1000:50;by-root 0:0;" "$(owners $n 'by-root|by-app')"

n=root-no-range
build $n root 'someone:300000:65536\n' 'someone:300000:65536\n' "$steps" || fail "$n: build" "$(tail -3 "$tmp/$n.log")"
check $n "root maps to the default unprivileged block" "0 2147418112 65536;0 2147418112 65536;" "$(maps $n)"
logged $n "said in the log" "RUN steps run in a user namespace: root and ids 0-65535 map to host ids 2147418112-2147483647 (no range for root in /etc/subuid: the default block; these host ids must belong to no one)"
check $n "the image keeps the step's owners" "by-app 1000:50;by-root 0:0;" "$(owners $n 'by-root|by-app')"

n=root-small-range
build $n root 'root:300000:2000\n' 'root:300000:2000\n' "$steps" || fail "$n: build" "$(tail -3 "$tmp/$n.log")"
check $n "the step's ids are root's 2000" "0 300000 2000;0 300000 2000;" "$(maps $n)"
logged $n "warned" "root's range in /etc/subuid has only 2000 ids: files and users above 1999 cannot be used by RUN"

chown_df='ARG BASE\nFROM $BASE\nRUN cat /proc/self/uid_map /proc/self/gid_map\nCOPY --chown=1000:50 file /by-app\n'
n=nobody-range
build $n nobody 'nobody:500000:65536\n' 'nobody:600000:65536\n' "$chown_df" || fail "$n: build" "$(tail -3 "$tmp/$n.log")"
check $n "root is the user, ids 1-65536 its ranges" "0 65534 1;1 500000 65536;0 65534 1;1 600000 65536;" "$(maps $n)"
if grep -q 'no subordinate id range' "$tmp/$n.log"; then fail "$n: no warning" "$(grep 'no subordinate' "$tmp/$n.log")"; else pass "$n: no warning"; fi
check $n "COPY --chown=1000:50 keeps the owner" "by-app 1000:50;" "$(owners $n by-app)"

n=nobody-no-range
build $n nobody 'someone:500000:65536\n' 'someone:600000:65536\n' "$chown_df"
rc=$?
check $n "only root is mapped" "0 65534 1;0 65534 1;" "$(maps $n)"
logged $n "warned" "no subordinate id range for uid 65534 (newuidmap, /etc/subuid): only root is mapped"
if [ $rc -eq 1 ] && grep -q 'COPY --chown=1000:50 file /by-app.* needs uid 1000 / gid 50, but this rootless build maps only root: add a subordinate id range for this user' "$tmp/$n.log"; then
	pass "$n: COPY --chown to an unmapped id refused, naming the instruction (exit $rc)"
else
	fail "$n: COPY --chown to an unmapped id refused" "exit $rc" "$(tail -2 "$tmp/$n.log")"
fi

echo "containerize-subuid: $fails failed"
[ $fails -eq 0 ]
