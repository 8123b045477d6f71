#!/usr/bin/env bash
# Attacks on verify-signatures' trust checks through a hostile notary
# (tests/servers/tuf-forge.py serving over HTTPS on loopback the trust
# data it made, with keys of its own choosing) and a hostile state dir, as
# root and as an unprivileged user (uid 65534). Each case names what it
# attacks; a negative case checks the reason, not only the exit code.
# Prints PASS:/FAIL: per test; exits non-zero if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${PIPELINE_BIN:-$root/build/asan/bin}
FORGE=$root/tests/servers/tuf-forge.py
W=$(mktemp -d /tmp/attack-trust.XXXXXX)
failures=0
pass() { echo "PASS: attack-trust/$1"; }
fail() { echo "FAIL: attack-trust/$1${2:+ ($2)}"; failures=$((failures + 1)); }
SERVE_PID=
cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
LOGS=$W/logs && mkdir -p "$LOGS"
# run NAME EXPECTED_EXIT CMD... : output kept in $LOGS/NAME.{out,err}
run() {
	local name=$1 want=$2; shift 2
	"$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err"
	local rc=$?
	[ "$rc" = "$want" ] && return 0
	echo "  $name: exit $rc, expected $want; stderr:" >&2; tail -3 "$LOGS/$name.err" >&2
	return 1
}
has() { grep -qF -- "$2" "$LOGS/$1.out" "$LOGS/$1.err"; }

GUN=127.0.0.1:5000/attack/app
D=sha256:4d2b9a0c87a4e7a8b6a0f1d3c5b7e9f10213243546576879a0b1c2d3e4f5a6b7
chmod 755 "$W" # the unprivileged cases read keys, CA and data here
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$W/server.key" -out "$W/server.crt" >/dev/null 2>&1
chmod 644 "$W/server.key"
# the repository served, rewritten in place by the "server" as it likes
python3 "$FORGE" make-repo "$W/served" "$W/keys" "$D" 3 3 || { fail prerequisites "make-repo"; exit 1; }
chmod -R a+rX "$W/served" "$W/keys"
python3 "$FORGE" serve "$W/served" "$GUN" "$W/server.crt" "$W/server.key" "$W/port" 2>"$LOGS/serve" &
SERVE_PID=$!
for _ in $(seq 1 100); do [ -s "$W/port" ] && break; sleep 0.1; done
[ -s "$W/port" ] || { fail prerequisites "tuf-forge serve did not start: $(cat "$LOGS/serve")"; exit 1; }
V=("$BIN/verify-signatures" --notary-server="https://127.0.0.1:$(cat "$W/port")" --notary-ca="$W/server.crt"
	--image="$GUN@$D" --signers=build="$W/keys/build.pub")

if run baseline 0 "${V[@]}" && has baseline "PASS build dct: signed as tag 'v1' in targets/build (version 3)"; then
	pass baseline-verifies; else fail baseline-verifies; fi

# ---- threshold: one key listed under two IDs (bare and in a certificate)
# and signing under both is one key, not the two a threshold of 2 needs
python3 "$FORGE" make-repo "$W/served" "$W/keys" "$D" 3 3 dup-key
if run dup-key 3 "${V[@]}" --results-dir="$W/r-dup" &&
   has dup-key "targets/build: 1 of 2 required signatures are valid" &&
   has dup-key "is a key counted already under another ID" && [ "$(cat "$W/r-dup/verified")" = false ]; then
	pass threshold-one-key-two-ids-refused; else fail threshold-one-key-two-ids-refused; fi

# ---- rollback: the server (it holds the timestamp and snapshot keys)
# serves fresh timestamp and snapshot over an older targets/build: with
# a state dir that saw version 4, version 3 is a rollback by one
python3 "$FORGE" make-repo "$W/served" "$W/keys" "$D" 4 4
if run rb-new 0 "${V[@]}" --trust-state-dir="$W/state" && has rb-new "(version 4)"; then
	python3 "$FORGE" make-repo "$W/served" "$W/keys" "$D" 3 5
	if run rb-old 3 "${V[@]}" --trust-state-dir="$W/state" &&
	   has rb-old "targets/build.json version 3 is older than version 4 seen before (rollback)"; then
		pass delegation-rollback-by-one-refused; else fail delegation-rollback-by-one-refused; fi
else
	fail delegation-rollback-by-one-refused "the newer data did not verify"
fi

# ---- the state dir behind a symbolic link, named with a trailing "/" or
# "/." (open() then follows the link whatever O_NOFOLLOW says): ignored
# with a warning, like the bare link. The real dir carries a rollback
# floor (version 4 of targets/build) that refuses the served version 3;
# through the link that floor must not count: a warning, then exit 0.
# state_cases LABEL DIR CMD-PREFIX...: DIR belongs to whom CMD runs as
state_cases() {
	local label=$1 dir=$2; shift 2
	if ! run "$label-floor" 3 "$@" "${V[@]}" --trust-state-dir="$dir/real" ||
	   ! has "$label-floor" "older than version 4 seen before (rollback)"; then
		fail "$label-symlinked-state-dir-ignored" "the real state dir's floor did not hold"
		return
	fi
	local tail ok=1 i=0
	for tail in "" / // /. /./; do
		i=$((i + 1))
		if ! run "$label-link$i" 0 "$@" "${V[@]}" --trust-state-dir="$dir/link$tail" ||
		   ! has "$label-link$i" "trust state dir $dir/link is ignored: it is a symbolic link"; then
			echo "  through link$tail the state dir was used" >&2
			ok=0
		fi
	done
	if [ $ok = 1 ]; then pass "$label-symlinked-state-dir-ignored"; else fail "$label-symlinked-state-dir-ignored"; fi
}
mkdir -p "$W/as-root" && cp -a "$W/state" "$W/as-root/real" && ln -s real "$W/as-root/link"
state_cases root "$W/as-root"
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	mkdir -p "$W/as-nobody" && cp -a "$W/state" "$W/as-nobody/real" && ln -s real "$W/as-nobody/link"
	chown -R 65534:65534 "$W/as-nobody" && chmod 755 "$W/as-nobody"
	state_cases unprivileged "$W/as-nobody" setpriv --reuid=65534 --regid=65534 --clear-groups
	# a state dir that is safe but read-only (a pre-seeded volume mounted
	# read-only): its floor still counts, and failing to remember what
	# is new is a warning, never an error that blocks a correct verify
	mkdir -p "$W/ro" && cp -a "$W/state" "$W/ro/state" && chown -R 65534:65534 "$W/ro" && chmod 500 "$W/ro/state"
	python3 "$FORGE" make-repo "$W/served" "$W/keys" "$D" 5 6
	if run ro-state 0 setpriv --reuid=65534 --regid=65534 --clear-groups "${V[@]}" --trust-state-dir="$W/ro/state" \
		--results-dir="$W/ro/results" &&
	   has ro-state "PASS build dct: signed as tag 'v1' in targets/build (version 5)" &&
	   has ro-state "nothing new remembered in the trust state dir" && [ "$(cat "$W/ro/results/verified")" = true ]; then
		pass unprivileged-read-only-state-dir-warns; else fail unprivileged-read-only-state-dir-warns; fi
	python3 "$FORGE" make-repo "$W/served" "$W/keys" "$D" 3 7
	if run ro-floor 3 setpriv --reuid=65534 --regid=65534 --clear-groups "${V[@]}" --trust-state-dir="$W/ro/state" &&
	   has ro-floor "targets/build.json version 3 is older than version 4 seen before (rollback)"; then
		pass unprivileged-read-only-state-dir-floor-holds; else fail unprivileged-read-only-state-dir-floor-holds; fi
else
	echo "SKIP: attack-trust/unprivileged-symlinked-state-dir-ignored: needs root and setpriv"
	echo "SKIP: attack-trust/unprivileged-read-only-state-dir-warns: needs root and setpriv"
	echo "SKIP: attack-trust/unprivileged-read-only-state-dir-floor-holds: needs root and setpriv"
fi

[ $failures -eq 0 ]
