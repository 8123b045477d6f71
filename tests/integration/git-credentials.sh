#!/usr/bin/env bash
# git-clone with the credentials a Tekton step has: RSA deploy keys against
# an OpenSSH server that, like every OpenSSH >= 8.8 and the big git hosts,
# takes RSA keys only with rsa-sha2-256/512 signatures (libssh2 1.11, built
# from trixie's source: mk/libssh2.mk); and the layout Tekton's creds-init
# writes into HOME (.ssh/config with id_<secret> keys per host,
# .ssh/known_hosts, .git-credentials, .gitconfig), honoured with the
# precedence tasks/git-clone/README.md documents. Servers: sshd and
# lighttpd + git http-backend (TLS, basic auth) on loopback
# (tests/servers/git-servers.sh). Every negative case checks the message.
set -u
here=$(cd "$(dirname "$0")" && pwd)
BIN=${PIPELINE_BIN:-$here/../../build/asan/bin}/git-clone
tmp=$(mktemp -d /tmp/git-credentials.XXXXXX)
. "$here/../servers/git-servers.sh"
cleanup() {
	git_servers_stop
	if [ -n "${GIT_CLONE_TEST_KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
failed=0
pass() { echo "PASS: git-credentials/$1"; }
fail() { echo "FAIL: git-credentials/$1${2:+: $2}"; failed=1; }

[ -x "$BIN" ] || { fail setup "no binary at $BIN"; exit 1; }
for tool in git lighttpd /usr/sbin/sshd ssh-keygen openssl python3; do
	command -v "$tool" >/dev/null || { fail setup "$tool is not installed"; exit 1; }
done
export GIT_AUTHOR_NAME=Ada GIT_AUTHOR_EMAIL=ada@example.test GIT_COMMITTER_NAME=Ada GIT_COMMITTER_EMAIL=ada@example.test
export HOME=$tmp/home && mkdir -p "$HOME"
git config --global init.defaultBranch main
git config --global commit.gpgsign false
# libssh2 (1.11 too) leaks the buffer of the server's answer to
# userauth_list when it then refuses a key (userauth.c:131); not our code
printf 'leak:libssh2\n' >"$tmp/lsan.supp"
export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$tmp/lsan.supp

root=$tmp/root && mkdir -p "$root"
{
	git init -q "$tmp/w" && printf 'hello\n' >"$tmp/w/README.md" && git -C "$tmp/w" add -A &&
		git -C "$tmp/w" commit -q -m first && git clone -q --bare "$tmp/w" "$root/main.git"
} >"$tmp/fixtures.log" 2>&1 || { fail fixtures "$(tail -3 "$tmp/fixtures.log")"; exit 1; }
WANT=$(git -C "$root/main.git" rev-parse main)

git_sshd_start "$root" "$tmp/sshd" || { fail setup "sshd did not start: $(tail -2 "$tmp/sshd/sshd.log")"; exit 1; }
git_http_start "$root" "$tmp/http" || { fail setup "lighttpd did not start: $(tail -2 "$tmp/http/lighttpd.log")"; exit 1; }
S=$GIT_SSH_URL HS=$GIT_HTTPS_URL
SSH_USER=${S#ssh://} SSH_USER=${SSH_USER%%@*}

# run_ours case-dir args... -> $rc, case-dir/err, clone in case-dir/out
run_ours() {
	local c=$1
	shift
	rm -rf "$c" && mkdir -p "$c"
	"$BIN" --workspace="$c" --directory=out --max-retries=0 --results-dir="$c" "$@" >"$c/out.log" 2>"$c/err"
	rc=$?
}
cloned() { [ "$rc" -eq 0 ] && [ "$(git -C "$1/out" rev-parse HEAD 2>/dev/null)" = "$WANT" ]; }
# expect name case-dir exit-code message-regex: a refusal, and why
expect() {
	if [ "$rc" -eq "$3" ] && grep -Eq -- "$4" "$2/err" && [ ! -e "$2/out" ]; then pass "$1"; else
		fail "$1" "exit $rc (want $3, /$4/): $(tail -1 "$2/err")"; fi
}

# ---- RSA keys: rsa-sha2-256/512, never ssh-rsa (SHA-1) ------------------------
c=$tmp/case-rsa
run_ours "$c" --url="$S/main.git" --ssh-key="$GIT_SSH_RSA_KEY" --known-hosts="$GIT_SSH_KNOWN_HOSTS"
if cloned "$c" && grep -Eq "Accepted publickey for $SSH_USER .*RSA SHA256:" "$tmp/sshd/sshd.log"; then pass rsa-key-rsa-sha2
else fail rsa-key-rsa-sha2 "exit $rc: $(tail -1 "$c/err")"; fi
# the check of the check: the server really refuses an ssh-rsa (SHA-1) signature
if ssh -i "$GIT_SSH_RSA_KEY" -o UserKnownHostsFile="$GIT_SSH_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
	-o BatchMode=yes -o IdentitiesOnly=yes -o PubkeyAcceptedAlgorithms=ssh-rsa -p "$GIT_SSH_PORT" \
	"$SSH_USER@127.0.0.1" true >"$tmp/ssh-rsa-sha1.log" 2>&1; then
	fail server-refuses-ssh-rsa-sha1 "the test sshd took an ssh-rsa (SHA-1) signature"
else pass server-refuses-ssh-rsa-sha1; fi
c=$tmp/case-rsa-stranger
ssh-keygen -q -t rsa -b 3072 -N '' -f "$tmp/stranger_rsa" -C stranger
run_ours "$c" --url="$S/main.git" --ssh-key="$tmp/stranger_rsa" --known-hosts="$GIT_SSH_KNOWN_HOSTS"
expect rsa-key-unknown-refused "$c" 4 "SSH server refused the key"

[ $failed = 0 ]
