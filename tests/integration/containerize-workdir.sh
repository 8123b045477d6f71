#!/usr/bin/env bash
# containerize's work directories (tasks/containerize/workdir.h): a build
# killed by SIGTERM during a RUN leaves nothing in $TMPDIR (the janitor),
# and the start-up sweep removes a stale work dir of ours and nothing else
# (another user's, one whose build still holds its lock, one without a
# lock file, a symlink to elsewhere); a relative --work-dir or $TMPDIR
# builds. Prints PASS:/FAIL: lines; exits
# non-zero if any FAIL. Quick (seconds): the busybox base, no buildah.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${PIPELINE_BIN:-$root/build/asan/bin}/containerize
CORPUS=$here/containerize/dockerfiles
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
fails=0
pass() { echo "PASS: containerize-workdir $1"; }
fail() { echo "FAIL: containerize-workdir $1"; shift; [ $# -gt 0 ] && printf '  %s\n' "$@"; fails=$((fails + 1)); }
tmp=$(mktemp -d /tmp/containerize-wd.XXXXXX)
fpid=
cleanup() {
	[ -n "$fpid" ] && kill "$fpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -x "$BIN" ] || { fail "prerequisites" "$BIN is not built"; exit 1; }
command -v flock >/dev/null || { fail "prerequisites" "flock (util-linux) is not installed"; exit 1; }
BASES_DIR=$("$root/tests/servers/containerize-bases.sh" busybox) || { fail "prerequisites" "cannot build the busybox base"; exit 1; }
BASE="oci:$BASES_DIR:latest"

# a build killed during RUN
wt=$tmp/wtmp && mkdir -p "$wt" "$tmp/wdir" && printf 'ARG BASE\nFROM $BASE\nRUN echo started; sleep 120\n' >"$tmp/wdir/Dockerfile"
TMPDIR=$wt "$BIN" --context="$tmp/wdir" --push=false --oci-layout="$tmp/wdir-out" --build-args="BASE=$BASE" >"$tmp/wdir.log" 2>&1 &
wpid=$!
for _ in $(seq 1 300); do grep -q 'started' "$tmp/wdir.log" && break; sleep 0.1; done
before=$(ls "$wt")
kill -TERM $wpid
wait $wpid
wrc=$?
for _ in $(seq 1 100); do [ -z "$(ls "$wt")" ] && break; sleep 0.1; done
if [ -n "$before" ] && [ -z "$(ls "$wt")" ] && [ $wrc -ne 0 ]; then
	pass "SIGTERM during RUN: the work dir ($before) is removed"
else
	fail "SIGTERM during RUN leaves nothing" "work dir before: $before, after: $(ls "$wt")" "$(tail -2 "$tmp/wdir.log")"
fi
# stale work dirs: only ours, real dirs, with a lock nobody holds
sw=$tmp/sweep && mkdir -p "$sw/containerize-Stale1" "$sw/containerize-Alive1" "$sw/containerize-NoLck1" \
	"$sw/containerize-Other1" "$tmp/elsewhere" "$sw/containerize-Stale1/sub"
for d in Stale1 Alive1 Other1; do touch "$sw/containerize-$d/.containerize.lock"; done
touch "$tmp/elsewhere/.containerize.lock" "$tmp/elsewhere/keep" && ln -s "$tmp/elsewhere" "$sw/containerize-Link01"
chown -R 65534:65534 "$sw/containerize-Other1"
flock "$sw/containerize-Alive1/.containerize.lock" sleep 120 &
fpid=$!
for _ in $(seq 1 50); do flock -n "$sw/containerize-Alive1/.containerize.lock" true || break; sleep 0.1; done
TMPDIR=$sw "$BIN" --context="$CORPUS/17-label" --push=false --oci-layout="$tmp/sweep-out" --build-args="BASE=$BASE" >/dev/null 2>"$tmp/sweep.log"
kill $fpid 2>/dev/null; wait $fpid 2>/dev/null; fpid=
left=$(cd "$sw" && ls | tr '\n' ' ')
if [ "$left" = "containerize-Alive1 containerize-Link01 containerize-NoLck1 containerize-Other1 " ] &&
	[ -f "$tmp/elsewhere/keep" ] && grep -q 'removing .*containerize-Stale1, left by a build that is gone' "$tmp/sweep.log"; then
	pass "start-up sweep removes only a stale work dir of ours"
else
	fail "start-up sweep" "left: $left" "$(grep -i remov "$tmp/sweep.log")"
fi

# a relative --work-dir (and a relative $TMPDIR): COPY and RUN work
mkdir -p "$tmp/rel/ctx" "$tmp/rel/tmpdir" && echo hello >"$tmp/rel/ctx/a"
printf 'ARG BASE\nFROM $BASE\nCOPY a /a\nRUN cat /a > /b\n' >"$tmp/rel/ctx/Dockerfile"
rel_build() { # env assignments..., then containerize's extra args
	(cd "$tmp/rel" && env "$@" --context=ctx --push=false --oci-layout=out --build-args="BASE=$BASE") >"$tmp/rel/log" 2>&1
}
for how in work-dir tmpdir; do
	rm -rf "$tmp/rel/out" "$tmp/rel/x"
	if [ $how = work-dir ]; then rel_build "$BIN" --work-dir=wd; else rel_build TMPDIR=tmpdir "$BIN"; fi &&
		python3 "$here/containerize/compare.py" --extract "$tmp/rel/out:latest" "$tmp/rel/x" >/dev/null 2>&1 &&
		[ "$(cat "$tmp/rel/x/b" 2>/dev/null)" = hello ]
	if [ $? -eq 0 ]; then
		pass "relative $how: COPY and RUN"
	else
		fail "relative $how" "$(tail -2 "$tmp/rel/log")"
	fi
done

echo "containerize-workdir: $fails failed"
[ $fails -eq 0 ]
