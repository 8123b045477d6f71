#!/usr/bin/env bash
# git-clone's token goes to the repository's own origin (scheme host port)
# and nowhere else. Two lighttpd + git http-backend servers (tests/servers/
# git-servers.sh): the origin on 127.0.0.1, a second host on 127.0.0.2 with
# the SAME TLS port (so only the host tells them apart), and the origin's
# own plain-http port (same host, other port). The second host asks for
# basic auth like the origin does, so a client willing to hand the token
# over would do it there. Cases: an HTTP redirect to the second host, a
# submodule there, a PR repository there, and a submodule on the origin's
# other port. Each server's access log records the Authorization header of
# every request: the token must reach the origin's TLS port (the check of
# the check) and no other server or port, while the other server was
# asked (so no case passes by never getting there).
set -u
here=$(cd "$(dirname "$0")" && pwd)
BIN=${PIPELINE_BIN:-$here/../../build/asan/bin}/git-clone
tmp=$(mktemp -d /tmp/git-clone-origins.XXXXXX)
. "$here/../servers/git-servers.sh"
cleanup() {
	git_servers_stop
	if [ -n "${GIT_CLONE_TEST_KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
failed=0
pass() { echo "PASS: git-clone-origins/$1"; }
fail() { echo "FAIL: git-clone-origins/$1${2:+: $2}"; failed=1; }

[ -x "$BIN" ] || { fail setup "no binary at $BIN"; exit 1; }
for tool in git lighttpd openssl python3; do
	command -v "$tool" >/dev/null || { fail setup "$tool is not installed"; exit 1; }
done
git_test_home "$tmp/home"
git config --global protocol.file.allow always

# ---- servers ---------------------------------------------------------------
root1=$tmp/root1 root2=$tmp/root2
mkdir -p "$root1" "$root2"
# the second host first (same TLS port as the origin, picked here), then
# the origin, whose /auth/moved/ redirects to the second host
tls_port=$(git_free_port)
mkdir -p "$tmp/certs" && git_http_certs "$tmp/certs" || { fail setup "certificates"; exit 1; }
GIT_HTTP_BIND=127.0.0.2 GIT_HTTP_TLS_PORT=$tls_port GIT_HTTP_CERTS=$tmp/certs git_http_start "$root2" "$tmp/second" ||
	{ fail setup "second server (127.0.0.2) did not start: $(tail -2 "$tmp/second/lighttpd.log")"; exit 1; }
SECOND=$GIT_HTTPS_URL SECOND_LOG=$tmp/second/access.log
GIT_HTTP_TLS_PORT=$tls_port GIT_HTTP_CERTS=$tmp/certs GIT_HTTP_REDIRECT_TO=$SECOND git_http_start "$root1" "$tmp/origin" ||
	{ fail setup "origin server did not start: $(tail -2 "$tmp/origin/lighttpd.log")"; exit 1; }
ORIGIN=$GIT_HTTPS_URL ORIGIN_LOG=$tmp/origin/access.log TOKEN=$GIT_HTTP_PASSWORD
plain_port=${GIT_HTTP_URL#http://127.0.0.1:} plain_port=${plain_port%%/*}
OTHER_PORT=http://127.0.0.1:$plain_port/auth/git # the origin's host, its plain-http port
[ "${ORIGIN#https://127.0.0.1:}" = "${SECOND#https://127.0.0.2:}" ] || { fail setup "ports differ: $ORIGIN $SECOND"; exit 1; }

# ---- repositories ----------------------------------------------------------
bare() { # dir name: init a work tree with one commit, publish it bare under dir
	local w=$tmp/w-$2
	git init -q "$w" && printf '%s\n' "$2" >"$w/$2.txt" && git -C "$w" add -A && git -C "$w" commit -q -m "$2" &&
		git clone -q --bare "$w" "$1/$2.git"
}
with_submodule() { # name url: a repository on the origin whose submodule is at url
	local w=$tmp/w-$1
	git init -q "$w" && printf 'x\n' >"$w/x.txt" && git -C "$w" add -A && git -C "$w" commit -q -m base &&
		git -C "$w" -c protocol.file.allow=always submodule -q add "$root2/leaf.git" deps/leaf &&
		git -C "$w" config -f .gitmodules submodule.deps/leaf.url "$2" && git -C "$w" add .gitmodules &&
		git -C "$w" commit -q -m "submodule at $2" && git clone -q --bare "$w" "$root1/$1.git"
}
{
	bare "$root1" main && bare "$root2" moved && bare "$root2" leaf &&
	cp -r "$root2/leaf.git" "$root1/leaf.git" &&
	git -C "$tmp/w-main" checkout -q -b pr && printf 'pr\n' >"$tmp/w-main/pr.txt" &&
	git -C "$tmp/w-main" add -A && git -C "$tmp/w-main" commit -q -m pr &&
	git clone -q --bare "$tmp/w-main" "$root2/fork.git" &&
	with_submodule super-other-host "$SECOND/leaf.git" &&
	with_submodule super-other-port "$OTHER_PORT/leaf.git"
} >"$tmp/fixtures.log" 2>&1 || { fail fixtures "$(tail -3 "$tmp/fixtures.log")"; exit 1; }

# ---- helpers ---------------------------------------------------------------
AUTH=(--ca-file="$GIT_HTTP_CA" --username=tester --token="$TOKEN")
run_ours() { # case args... -> $rc, $tmp/case/err
	local c=$tmp/case-$1
	shift
	mkdir -p "$c"
	(cd "$c" && "$BIN" --results-dir="$c/results" --max-retries=0 "$@" >"$c/out" 2>"$c/err")
	rc=$?
}
# requests to log $1 for path $2 (and, with $3, on port $3 only)
requests() { grep -F " \"GET $2" "$1" | { if [ -n "${3:-}" ]; then grep "^[^ ]* $3 "; else cat; fi; }; }
carried_auth() { grep -v ' auth=-$' | grep -q .; }
# the token reached nothing but the origin's TLS port: no server, no port
# and no log holds it, plain or base64 (as basic auth carries it)
token_stays_home() { # name path-on-other-server log [port]
	local name=$1 path=$2 log=$3 port=${4:-}
	local b64
	b64=$(printf 'tester:%s' "$TOKEN" | base64 -w0)
	if [ -z "$(requests "$log" "$path" "$port")" ]; then
		fail "$name" "the other server never saw a request for $path: the case proves nothing"
	elif requests "$log" "$path" "$port" | carried_auth; then
		fail "$name" "credentials reached the other origin: $(requests "$log" "$path" "$port" | grep -v ' auth=-$' | head -1)"
	elif grep -rqF -e "$TOKEN" -e "$b64" "$tmp/case-$name" "$SECOND_LOG"; then
		fail "$name" "the token appears in $(grep -rlF -e "$TOKEN" -e "$b64" "$tmp/case-$name" "$SECOND_LOG" | head -2 | tr '\n' ' ')"
	else
		pass "$name"
	fi
}
refused_for() { # name host: exit 4 naming the host that asked for credentials
	if [ "$rc" = 4 ] && grep -q "$2 asked for credentials and none were given" "$tmp/case-$1/err"; then
		pass "$1-refused"
	else
		fail "$1-refused" "exit $rc: $(tail -2 "$tmp/case-$1/err" | tr '\n' ' ')"
	fi
}

# ---- the cases (lighttpd writes its access log when it stops: the logs
# are read once both servers are stopped) ----------------------------------
run_ours home --url="$ORIGIN/main.git" "${AUTH[@]}" --directory=clone
home_rc=$rc
# an HTTP redirect to another host
run_ours redirect --url="https://127.0.0.1:$tls_port/auth/moved/moved.git" "${AUTH[@]}" --directory=clone
refused_for redirect 127.0.0.2
# a submodule on another host, and one on the origin's other port
run_ours submodule-other-host --url="$ORIGIN/super-other-host.git" "${AUTH[@]}" --directory=clone
refused_for submodule-other-host 127.0.0.2
run_ours submodule-other-port --url="$ORIGIN/super-other-port.git" "${AUTH[@]}" --directory=clone
refused_for submodule-other-port 127.0.0.1
# a pull request repository on another host
run_ours pr-other-host --url="$ORIGIN/main.git" --branch=main --pr-url="$SECOND/fork.git" --pr-branch=pr \
	"${AUTH[@]}" --directory=clone
refused_for pr-other-host 127.0.0.2
git_servers_stop

# the check of the check: the token does reach its own origin
b64=$(printf 'tester:%s' "$TOKEN" | base64 -w0)
if [ "$home_rc" = 0 ] && requests "$ORIGIN_LOG" /auth/git/main.git "$tls_port" | grep -qF "auth=Basic $b64"; then
	pass token-reaches-its-origin
else
	fail token-reaches-its-origin "exit $home_rc, origin log: $(tail -2 "$ORIGIN_LOG" | tr '\n' ' ')"
fi
if requests "$ORIGIN_LOG" /auth/moved/moved.git | grep -q '" 30[1278] '; then
	token_stays_home redirect /auth/git/moved.git "$SECOND_LOG"
else
	fail redirect "the origin did not redirect: $(tail -2 "$ORIGIN_LOG" | tr '\n' ' ')"
fi
token_stays_home submodule-other-host /auth/git/leaf.git "$SECOND_LOG"
token_stays_home submodule-other-port /auth/git/leaf.git "$ORIGIN_LOG" "$plain_port"
token_stays_home pr-other-host /auth/git/fork.git "$SECOND_LOG"
exit $failed
