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
git_test_home "$tmp/home"
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

# ---- Tekton's layout in HOME: ~/.ssh/config, id_<secret>, known_hosts -----------
# creds-init writes, per ssh secret: Host <host> / HostName / Port /
# IdentityFile ~/.ssh/id_<secret>, and known_hosts (or, without it,
# StrictHostKeyChecking). "gitserver" exists only in the config.
ssh-keygen -q -t ed25519 -N '' -f "$tmp/other_host" -C other
ssh-keygen -q -t ed25519 -N '' -f "$tmp/stranger" -C stranger
tekton_home() { # dir known_hosts(file|-) config-extra-lines key-files...
	local h=$1 kh=$2 extra=$3 k
	shift 3
	rm -rf "$h" && mkdir -p "$h/.ssh"
	[ "$kh" = - ] || cp "$kh" "$h/.ssh/known_hosts"
	{
		printf 'Host gitserver\n    HostName 127.0.0.1\n    Port %s\n' "$GIT_SSH_PORT"
		for k; do cp "$k" "$h/.ssh/id_$(basename "$k")" && printf '    IdentityFile %s\n' "$h/.ssh/id_$(basename "$k")"; done
		[ -z "$extra" ] || printf '%s\n' "$extra"
	} >"$h/.ssh/config"
}
ALIAS=ssh://$SSH_USER@gitserver$root/main.git
wrong_kh=$tmp/wrong_known_hosts
printf '[127.0.0.1]:%s %s\n' "$GIT_SSH_PORT" "$(cut -d' ' -f1,2 "$tmp/other_host.pub")" >"$wrong_kh"

c=$tmp/case-tekton-ssh
tekton_home "$tmp/th" "$GIT_SSH_KNOWN_HOSTS" "" "$GIT_SSH_RSA_KEY"
HOME=$tmp/th run_ours "$c" --url="$ALIAS"
if cloned "$c" && [ "$(git -C "$c/out" config remote.origin.url)" = "$ALIAS" ]; then pass tekton-ssh-config-hostname-port-identity
else fail tekton-ssh-config-hostname-port-identity "exit $rc: $(tail -1 "$c/err")"; fi

c=$tmp/case-tekton-scp-like-user-from-config
tekton_home "$tmp/th" "$GIT_SSH_KNOWN_HOSTS" "    User $SSH_USER" "$GIT_SSH_KEY"
HOME=$tmp/th run_ours "$c" --url="gitserver:$root/main.git"
if cloned "$c"; then pass tekton-ssh-scp-like-user-from-config; else fail tekton-ssh-scp-like-user-from-config "exit $rc: $(tail -1 "$c/err")"; fi

c=$tmp/case-tekton-two-keys
tekton_home "$tmp/th" "$GIT_SSH_KNOWN_HOSTS" "" "$tmp/stranger" "$GIT_SSH_RSA_KEY"
HOME=$tmp/th run_ours "$c" --url="$ALIAS"
if cloned "$c"; then pass tekton-ssh-second-identity-file; else fail tekton-ssh-second-identity-file "exit $rc: $(tail -1 "$c/err")"; fi

c=$tmp/case-tekton-wrong-key
tekton_home "$tmp/th" "$GIT_SSH_KNOWN_HOSTS" "" "$tmp/stranger"
HOME=$tmp/th run_ours "$c" --url="$ALIAS"
expect tekton-ssh-wrong-key "$c" 4 "SSH server refused the key $tmp/th/.ssh/id_stranger for user '$SSH_USER'"

c=$tmp/case-tekton-known-hosts-mismatch
tekton_home "$tmp/th" "$wrong_kh" "" "$GIT_SSH_KEY"
HOME=$tmp/th run_ours "$c" --url="$ALIAS"
expect tekton-known-hosts-mismatch "$c" 4 "host key of 127.0.0.1:$GIT_SSH_PORT does NOT match $tmp/th/.ssh/known_hosts"

c=$tmp/case-tekton-unknown-host
tekton_home "$tmp/th" - "" "$GIT_SSH_KEY"
HOME=$tmp/th run_ours "$c" --url="$ALIAS"
expect tekton-no-known-hosts-refused "$c" 4 "127.0.0.1:$GIT_SSH_PORT is not in known_hosts file $tmp/th/.ssh/known_hosts"

c=$tmp/case-tekton-user-known-hosts-file
tekton_home "$tmp/th" "$wrong_kh" "    UserKnownHostsFile ~/kh/none ~/kh/good" "$GIT_SSH_KEY"
mkdir -p "$tmp/th/kh" && cp "$GIT_SSH_KNOWN_HOSTS" "$tmp/th/kh/good"
HOME=$tmp/th run_ours "$c" --url="$ALIAS"
if cloned "$c"; then pass tekton-user-known-hosts-file; else fail tekton-user-known-hosts-file "exit $rc: $(tail -1 "$c/err")"; fi

c=$tmp/case-tekton-accept-new
tekton_home "$tmp/th" - "StrictHostKeyChecking accept-new" "$GIT_SSH_KEY"
HOME=$tmp/th run_ours "$c" --url="$ALIAS"
if cloned "$c" && grep -q 'accept-new' "$c/err"; then pass tekton-accept-new-unknown-host
else fail tekton-accept-new-unknown-host "exit $rc: $(tail -1 "$c/err")"; fi
c=$tmp/case-tekton-accept-new-changed
tekton_home "$tmp/th" "$wrong_kh" "StrictHostKeyChecking accept-new" "$GIT_SSH_KEY"
HOME=$tmp/th run_ours "$c" --url="$ALIAS"
expect tekton-accept-new-changed-key-refused "$c" 4 "does NOT match"

c=$tmp/case-tekton-strict-no
tekton_home "$tmp/th" "$wrong_kh" "StrictHostKeyChecking no" "$GIT_SSH_KEY"
HOME=$tmp/th run_ours "$c" --url="$ALIAS"
if cloned "$c" && grep -q 'NOT checked' "$c/err"; then pass tekton-strict-no-warns
else fail tekton-strict-no-warns "exit $rc: $(tail -1 "$c/err")"; fi
# the known-hosts param always means "must match", whatever the config says
c=$tmp/case-param-known-hosts-wins
HOME=$tmp/th run_ours "$c" --url="$ALIAS" --known-hosts="$wrong_kh"
expect known-hosts-param-over-strict-no "$c" 4 "does NOT match $wrong_kh"
# and ssh-key over IdentityFile
c=$tmp/case-param-ssh-key-wins
tekton_home "$tmp/th" "$GIT_SSH_KNOWN_HOSTS" "" "$GIT_SSH_KEY"
HOME=$tmp/th run_ours "$c" --url="$ALIAS" --ssh-key="$tmp/stranger"
expect ssh-key-param-over-identity-file "$c" 4 "refused the key $tmp/stranger "

c=$tmp/case-bad-config
tekton_home "$tmp/th" "$GIT_SSH_KNOWN_HOSTS" $'Host *\n    Port twenty-two' "$GIT_SSH_KEY"
HOME=$tmp/th run_ours "$c" --url="ssh://$SSH_USER@elsewhere$root/main.git"
expect ssh-config-bad-port-usage "$c" 2 "ssh config $tmp/th/.ssh/config:6: Port twenty-two is not a number"

# ---- Tekton's basic-auth layout: ~/.git-credentials, ~/.gitconfig -----------
HOSTPORT=${HS#https://} HOSTPORT=${HOSTPORT%%/*}
basic_home() { # dir credentials-lines...
	local h=$1
	shift
	rm -rf "$h" && mkdir -p "$h"
	printf '%s\n' "$@" >"$h/.git-credentials"
	printf '[credential]\n\thelper = store\n[http]\n\tsslCAInfo = ~/ca.pem\n' >"$h/.gitconfig"
	cp "$GIT_HTTP_CA" "$h/ca.pem"
}
RIGHT=https://$GIT_HTTP_USER:$GIT_HTTP_PASSWORD@$HOSTPORT
WRONG=https://$GIT_HTTP_USER:wrong-t0ken-in-store@$HOSTPORT
c=$tmp/case-basic-auth
basic_home "$tmp/bh" "https://x:y-not-this-host@example.invalid" "$RIGHT"
HOME=$tmp/bh run_ours "$c" --url="$HS/main.git"
if cloned "$c" && ! grep -rqF -- "$GIT_HTTP_PASSWORD" "$c"; then pass tekton-git-credentials-and-gitconfig-ca
else fail tekton-git-credentials-and-gitconfig-ca "exit $rc: $(tail -1 "$c/err")"; fi
# the check of the check: the CA came from ~/.gitconfig
c=$tmp/case-basic-auth-no-gitconfig
rm "$tmp/bh/.gitconfig"
HOME=$tmp/bh run_ours "$c" --url="$HS/main.git"
expect gitconfig-ca-is-what-trusted-it "$c" 4 "TLS certificate of 127.0.0.1 is not trusted"

c=$tmp/case-basic-auth-wrong
basic_home "$tmp/bh" "$WRONG"
HOME=$tmp/bh run_ours "$c" --url="$HS/main.git"
expect tekton-git-credentials-wrong-token "$c" 4 "refused the credentials for user '$GIT_HTTP_USER'"
if grep -rqF wrong-t0ken-in-store "$c"; then fail wrong-store-token-not-shown; else pass wrong-store-token-not-shown; fi

# a line with a path covers that path and below, and only there
c=$tmp/case-path-prefix-other
basic_home "$tmp/bh" "$WRONG/auth/git/other.git" "$RIGHT/auth/git"
HOME=$tmp/bh run_ours "$c" --url="$HS/main.git"
if cloned "$c"; then pass git-credentials-path-elsewhere-skipped; else fail git-credentials-path-elsewhere-skipped "exit $rc: $(tail -1 "$c/err")"; fi
c=$tmp/case-path-prefix-this
basic_home "$tmp/bh" "$WRONG/auth/git/main.git" "$RIGHT/auth/git"
HOME=$tmp/bh run_ours "$c" --url="$HS/main.git"
expect git-credentials-path-prefix-matches "$c" 4 "refused the credentials"

# precedence: git-credentials-file (param) before ~/.git-credentials
c=$tmp/case-param-credentials-first
printf '%s\n' "$RIGHT" >"$tmp/param-credentials"
HOME=$tmp/bh run_ours "$c" --url="$HS/main.git" --git-credentials-file="$tmp/param-credentials"
if cloned "$c"; then pass credentials-file-param-before-home; else fail credentials-file-param-before-home "exit $rc: $(tail -1 "$c/err")"; fi

# ---- no HOME, as in a FROM scratch image: /tekton/home -----------------------
STATIC=${PIPELINE_STATIC_BIN:-$here/../../bin}/git-clone
CHROOT=$(command -v chroot)
c=$tmp/case-scratch
r=$c/root
mkdir -p "$r/work" "$r/tekton/home/.ssh"
if [ -x "$STATIC" ]; then
	cp "$STATIC" "$r/git-clone"
	cp "$GIT_SSH_RSA_KEY" "$r/tekton/home/.ssh/id_deploy"
	cp "$GIT_SSH_KNOWN_HOSTS" "$r/tekton/home/.ssh/known_hosts"
	printf 'Host gitserver\n    HostName 127.0.0.1\n    Port %s\n    IdentityFile /tekton/home/.ssh/id_deploy\n' \
		"$GIT_SSH_PORT" >"$r/tekton/home/.ssh/config"
	printf '%s\n' "$RIGHT" >"$r/tekton/home/.git-credentials"
	printf '[http]\n\tsslCAInfo = /tekton/home/ca.pem\n' >"$r/tekton/home/.gitconfig"
	cp "$GIT_HTTP_CA" "$r/tekton/home/ca.pem"
	if env -i "$CHROOT" "$r" /git-clone --url="$ALIAS" --workspace=/work --directory=ssh --max-retries=0 >"$c/err" 2>&1 &&
		[ "$(git -C "$r/work/ssh" rev-parse HEAD)" = "$WANT" ]; then
		pass no-home-tekton-home-ssh
	else fail no-home-tekton-home-ssh "$(tail -1 "$c/err")"; fi
	if env -i "$CHROOT" "$r" /git-clone --url="$HS/main.git" --workspace=/work --directory=https --max-retries=0 >"$c/err" 2>&1 &&
		[ "$(git -C "$r/work/https" rev-parse HEAD)" = "$WANT" ]; then
		pass no-home-tekton-home-https
	else fail no-home-tekton-home-https "$(tail -1 "$c/err")"; fi
	# HOME, when set, is the home: the same run with an empty one has nothing
	mkdir -p "$r/empty"
	env -i HOME=/empty "$CHROOT" "$r" /git-clone --url="$HS/main.git" --workspace=/work --directory=https2 --max-retries=0 >"$c/err" 2>&1
	rc=$?
	if [ $rc -eq 4 ] && grep -q 'not trusted' "$c/err"; then pass home-set-wins-over-tekton-home
	else fail home-set-wins-over-tekton-home "exit $rc: $(tail -1 "$c/err")"; fi
else
	fail no-home-tekton-home "no static binary at $STATIC"
fi

[ $failed = 0 ]
