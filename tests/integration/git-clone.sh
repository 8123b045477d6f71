#!/usr/bin/env bash
# git-clone against real servers: git http-backend behind lighttpd (plain,
# and TLS + basic auth), git daemon, and OpenSSH sshd with key auth, all on
# loopback. Every successful clone is compared with what `git clone` (the
# git CLI) makes of the same request: same files, modes, symlink targets,
# HEAD, submodule commits. Then the failures: wrong or missing credentials,
# unknown branch/revision, a server down or resetting, an existing target,
# and hostile repositories that try to write outside the target.
set -u
here=$(cd "$(dirname "$0")" && pwd)
BIN=${PIPELINE_BIN:-$here/../../build/asan/bin}/git-clone
tmp=$(mktemp -d /tmp/git-clone-it.XXXXXX)
. "$here/../servers/git-servers.sh"
reset_pid=
cleanup() {
	git_servers_stop
	[ -n "$reset_pid" ] && kill "$reset_pid" 2>/dev/null
	if [ -n "${GIT_CLONE_TEST_KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
failed=0
pass() { echo "PASS: git-clone/$1"; }
fail() { echo "FAIL: git-clone/$1${2:+: $2}"; failed=1; }

if [ ! -x "$BIN" ]; then
	fail setup "no binary at $BIN"
	exit 1
fi
for tool in git lighttpd /usr/sbin/sshd ssh-keygen openssl python3; do
	command -v "$tool" >/dev/null || { fail setup "$tool is not installed"; exit 1; }
done

export GIT_AUTHOR_NAME="Ada Author" GIT_AUTHOR_EMAIL=ada@example.test
export GIT_COMMITTER_NAME="Carl Committer" GIT_COMMITTER_EMAIL=carl@example.test
export HOME=$tmp/home # no user config, ssh keys or known_hosts leak into the test
mkdir -p "$HOME" "$tmp/empty-home"
# libssh2 (1.11, built from trixie's source: mk/libssh2.mk) leaks a few
# bytes when the server refuses a key; that is not our code
printf 'leak:libssh2\n' >"$tmp/lsan.supp"
export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$tmp/lsan.supp
git config --global init.defaultBranch main
git config --global protocol.file.allow always
root=$tmp/root
mkdir -p "$root"

# ---- fixtures --------------------------------------------------------------
commit() { git -c commit.gpgsign=false commit -q "$@"; }

make_main() {
	local w=$tmp/w-main
	git init -q "$w" && cd "$w" || return 1
	printf 'hello\n' >README.md
	mkdir -p bin docs/ünïcødé "dir with spaces"
	printf '#!/bin/sh\necho hi\n' >bin/run.sh && chmod 755 bin/run.sh
	printf 'unicode\n' >"docs/ünïcødé/файл 日本語.txt"
	printf 'spaces\n' >"dir with spaces/a b.txt"
	mkdir -p crlf && printf '*.txt eol=crlf\n' >crlf/.gitattributes && printf 'one\ntwo\n' >crlf/lines.txt
	ln -s README.md link-to-readme
	ln -s ../bin docs/link-to-bin
	head -c 12000000 /dev/urandom >big.bin # a large file (12 MB, incompressible)
	git add -A && commit -m "first"
	git tag v1
	printf 'second\n' >>README.md && commit -am "second"
	MIDDLE=$(git rev-parse HEAD)
	git tag -a v2 -m "annotated v2"
	printf 'third\n' >>README.md && commit -am "third"
	git checkout -q -b feature
	printf 'feature\n' >feature.txt && git add feature.txt && commit -m "feature work"
	git checkout -q main
	git checkout -q -b pr-ff && printf 'ff\n' >ff.txt && git add ff.txt && commit -m "ff change" && git checkout -q main
	git checkout -q -b pr-conflict && printf 'conflict\n' >README.md && commit -am "conflicting" && git checkout -q main
	git checkout -q -b pr-ok main && printf 'pr\n' >pr.txt && git add pr.txt && commit -m "pr change"
	git checkout -q main && printf 'main moves on\n' >main.txt && printf 'main\n' >>README.md &&
		git add main.txt README.md && commit -m "main moves"
	git clone -q --bare "$w" "$root/main.git"
	git -C "$root/main.git" config uploadpack.allowReachableSHA1InWant true
	cd "$tmp" || return 1
}

make_submodules() {
	local w
	for name in leaf sub super; do
		w=$tmp/w-$name
		git init -q "$w"
		printf '%s\n' "$name" >"$w/$name.txt"
		git -C "$w" add -A
		git -C "$w" -c commit.gpgsign=false commit -q -m "$name"
		case $name in
		sub) (cd "$w" && git submodule -q add ../leaf.git deps/leaf && commit -m "add leaf") ;;
		super) (cd "$w" && git submodule -q add ../sub.git libs/sub && commit -m "add sub") ;;
		esac
		# submodules resolve relative URLs against the bare copies under $root
		git clone -q --bare "$w" "$root/$name.git"
		[ $name = leaf ] && git -C "$w" remote add origin "$root/leaf.git"
		[ $name = sub ] && git -C "$w" remote add origin "$root/sub.git"
	done
	# move leaf on after sub pinned it: the pinned commit is no longer a tip
	w=$tmp/w-leaf
	printf 'later\n' >>"$w/leaf.txt" && git -C "$w" -c commit.gpgsign=false commit -q -am later
	git -C "$w" push -q "$root/leaf.git" main
}

# A tree object written byte by byte: entries of "mode name sha-hex".
raw_tree() { # repo entry...
	local repo=$1
	shift
	python3 - "$@" <<'PY' | git -C "$repo" hash-object -w -t tree --literally --stdin
import sys
out = b""
for e in sys.argv[1:]:
    mode, name, sha = e.split(" ", 2)
    out += mode.encode() + b" " + name.encode() + b"\0" + bytes.fromhex(sha)
sys.stdout.buffer.write(out)
PY
}

make_hostile() {
	local r blob tree t2 c sub_commit
	# 1. a ".GIT/hooks/post-checkout" entry (case variant of .git)
	r=$root/hostile-dotgit.git && git init -q --bare "$r"
	blob=$(printf '#!/bin/sh\ntouch %s/pwned\n' "$tmp/outside" | git -C "$r" hash-object -w --stdin)
	tree=$(raw_tree "$r" "100755 post-checkout $blob")
	t2=$(raw_tree "$r" "40000 hooks $tree")
	tree=$(raw_tree "$r" "40000 .GIT $t2" "100644 ok.txt $blob")
	c=$(git -C "$r" commit-tree "$tree" -m dotgit)
	git -C "$r" update-ref refs/heads/main "$c"
	# 2. a symlink "link" -> outside, and a directory "link" with a file in the same tree
	r=$root/hostile-symlink.git && git init -q --bare "$r"
	local target_blob file_blob
	target_blob=$(printf '%s' "$tmp/outside" | git -C "$r" hash-object -w --stdin)
	file_blob=$(printf 'escaped\n' | git -C "$r" hash-object -w --stdin)
	t2=$(raw_tree "$r" "100644 file $file_blob")
	tree=$(raw_tree "$r" "120000 link $target_blob" "40000 link $t2")
	c=$(git -C "$r" commit-tree "$tree" -m symlink)
	git -C "$r" update-ref refs/heads/main "$c"
	# 2b. the same with the directory entry first
	r=$root/hostile-symlink2.git && git init -q --bare "$r"
	target_blob=$(printf '%s' "$tmp/outside" | git -C "$r" hash-object -w --stdin)
	file_blob=$(printf 'escaped\n' | git -C "$r" hash-object -w --stdin)
	t2=$(raw_tree "$r" "100644 file $file_blob")
	tree=$(raw_tree "$r" "40000 link $t2" "120000 link $target_blob")
	c=$(git -C "$r" commit-tree "$tree" -m symlink2)
	git -C "$r" update-ref refs/heads/main "$c"
	# 3. a symlink to outside, then a later path through it is not possible in
	#    one tree; a plain symlink pointing outside must stay a symlink
	r=$root/hostile-link.git && git init -q --bare "$r"
	target_blob=$(printf '%s' "$tmp/outside" | git -C "$r" hash-object -w --stdin)
	file_blob=$(printf 'escaped\n' | git -C "$r" hash-object -w --stdin)
	tree=$(raw_tree "$r" "120000 out $target_blob" "100644 readme $file_blob")
	c=$(git -C "$r" commit-tree "$tree" -m link)
	git -C "$r" update-ref refs/heads/main "$c"
	# 4. submodules whose name and path try to leave the target
	r=$root/hostile-submodule.git && git init -q --bare "$r"
	sub_commit=$(git -C "$root/sub.git" rev-parse HEAD)
	blob=$(printf '[submodule "../../../../outside/evil"]\n\tpath = evil\n\turl = ../sub.git\n[submodule "escape"]\n\tpath = ../escape\n\turl = ../sub.git\n' |
		git -C "$r" hash-object -w --stdin)
	tree=$(raw_tree "$r" "100644 .gitmodules $blob" "160000 evil $sub_commit")
	c=$(git -C "$r" commit-tree "$tree" -m submodule)
	git -C "$r" update-ref refs/heads/main "$c"
	# 5. a submodule whose path climbs out (no gitlink can be there: skipped)
	r=$root/hostile-subpath.git && git init -q --bare "$r"
	blob=$(printf '[submodule "escape"]\n\tpath = ../escape\n\turl = ../sub.git\n' | git -C "$r" hash-object -w --stdin)
	file_blob=$(printf 'fine\n' | git -C "$r" hash-object -w --stdin)
	tree=$(raw_tree "$r" "100644 .gitmodules $blob" "100644 readme $file_blob")
	c=$(git -C "$r" commit-tree "$tree" -m subpath)
	git -C "$r" update-ref refs/heads/main "$c"
}

mkdir -p "$tmp/outside"
make_main >"$tmp/fixtures.log" 2>&1 || { fail fixtures "see $tmp/fixtures.log"; cat "$tmp/fixtures.log"; exit 1; }
make_submodules >>"$tmp/fixtures.log" 2>&1 || { fail fixtures-submodules; cat "$tmp/fixtures.log"; exit 1; }
make_hostile >>"$tmp/fixtures.log" 2>&1 || { fail fixtures-hostile; cat "$tmp/fixtures.log"; exit 1; }
git init -q --bare "$root/empty.git"

git_http_start "$root" "$tmp/http" || { fail server-http "lighttpd did not start"; cat "$tmp/http/lighttpd.log"; exit 1; }
git_daemon_start "$root" "$tmp/daemon" || { fail server-daemon "git daemon did not start"; exit 1; }
git_sshd_start "$root" "$tmp/sshd" || { fail server-sshd "sshd did not start"; cat "$tmp/sshd/sshd.log"; exit 1; }
HTTPS_HOSTPORT=${GIT_HTTPS_URL#https://}
export GIT_SSL_CAINFO=$GIT_HTTP_CA # for the git CLI only
GIT_SSH_CLI="ssh -i $GIT_SSH_KEY -o UserKnownHostsFile=$GIT_SSH_KNOWN_HOSTS -o StrictHostKeyChecking=yes -o BatchMode=yes"

# ---- helpers ---------------------------------------------------------------
# What a checkout is: every path but .git, its type, mode, symlink target,
# content hash; HEAD, its branch, and submodule commits.
snapshot() { # dir
	(
		cd "$1" || exit 1
		find . -mindepth 1 \( -name .git -prune \) -o -printf '%P|%y|%m|%l\n' | LC_ALL=C sort
		find . -name .git -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
		git rev-parse -q --verify HEAD || echo "no HEAD"
		git symbolic-ref -q HEAD || echo detached
		git submodule status --recursive 2>&1
	)
}

run_ours() { # case-dir args... -> $rc, $case/out, $case/err
	local dir=$1
	shift
	mkdir -p "$dir/results"
	(cd "$dir" && "$BIN" --results-dir="$dir/results" "$@" >"$dir/out" 2>"$dir/err")
	rc=$?
}

# compare NAME OURS GITS
compare() {
	if diff <(snapshot "$2") <(snapshot "$3") >"$tmp/$1.diff" 2>&1; then
		pass "$1"
	else
		fail "$1" "tree differs from git clone's"
		head -20 "$tmp/$1.diff"
	fi
}

# same NAME URL-for-git [git clone args] -- [our args]
# clones with the git CLI and with ours, then compares
same() {
	local name=$1 url=$2
	shift 2
	local gargs=() oargs=() rev=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do gargs+=("$1"); shift; done
	shift
	oargs=("$@")
	local c=$tmp/case-$name
	mkdir -p "$c"
	for a in "${oargs[@]}"; do case $a in --revision=*) rev=${a#--revision=} ;; esac; done
	if ! GIT_SSH_COMMAND=$GIT_SSH_CLI git clone -q "${gargs[@]}" "$url" "$c/git" >"$c/git.log" 2>&1; then
		fail "$name" "git clone failed: $(tail -1 "$c/git.log")"
		return
	fi
	if [ -n "$rev" ]; then
		git -C "$c/git" fetch -q origin "$rev" >>"$c/git.log" 2>&1
		git -C "$c/git" -c advice.detachedHead=false checkout -q --detach "$rev" >>"$c/git.log" 2>&1 ||
			git -C "$c/git" -c advice.detachedHead=false checkout -q --detach FETCH_HEAD >>"$c/git.log" 2>&1
		git -C "$c/git" submodule -q update --init --recursive >>"$c/git.log" 2>&1
	fi
	run_ours "$c" --directory=ours "${oargs[@]}"
	if [ $rc -ne 0 ]; then
		fail "$name" "exit $rc: $(tail -3 "$c/err")"
		return
	fi
	compare "$name" "$c/ours" "$c/git"
}

result() { cat "$1/results/$2" 2>/dev/null; }

# nothing but the target (or nothing at all) may appear in box, and the
# outside directory stays empty
contained() { # name box expected-entries...
	local name=$1 box=$2
	shift 2
	local got want
	got=$(cd "$box" && ls -A | LC_ALL=C sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' ')
	[ "$*" = "" ] && want=
	if [ "$got" != "$want" ]; then
		fail "$name" "unexpected entries next to the target: '$got' (want '$want')"
		return 1
	fi
	if [ -n "$(ls -A "$tmp/outside")" ]; then
		fail "$name" "something was written outside the target: $(ls -A "$tmp/outside")"
		return 1
	fi
	return 0
}

H=$GIT_HTTP_URL
HS=$GIT_HTTPS_URL
D=$GIT_DAEMON_URL
S=$GIT_SSH_URL
AUTHS=(--ca-file="$GIT_HTTP_CA" --username="$GIT_HTTP_USER" --token="$GIT_HTTP_PASSWORD")
SSHA=(--ssh-key="$GIT_SSH_KEY" --known-hosts="$GIT_SSH_KNOWN_HOSTS")
GIT_HTTPS_CRED=https://$GIT_HTTP_USER:$GIT_HTTP_PASSWORD@$HTTPS_HOSTPORT

# ---- clones compared with git clone ----------------------------------------
same http-default-branch "$H/main.git" -- --url="$H/main.git"
same http-branch "$H/main.git" -b feature -- --url="$H/main.git" --branch=feature
same https-token-tag "$GIT_HTTPS_CRED/main.git" -- --url="$HS/main.git" "${AUTHS[@]}" --revision=v1
same daemon-annotated-tag "$D/main.git" -- --url="$D/main.git" --revision=v2
same daemon-sha-not-at-tip "$D/main.git" -- --url="$D/main.git" --revision="$MIDDLE"
same http-short-sha "$H/main.git" -- --url="$H/main.git" --revision="${MIDDLE:0:10}"
same ssh-branch "$S/main.git" -b pr-ok -- --url="$S/main.git" "${SSHA[@]}" --branch=pr-ok
same http-shallow "$H/main.git" --depth=1 -- --url="$H/main.git" --depth=1
same http-shallow-sha-not-at-tip "$H/main.git" -- --url="$H/main.git" --depth=1 --revision="$MIDDLE"
same http-submodules "$H/super.git" --recurse-submodules -- --url="$H/super.git"
same daemon-submodules-shallow "$D/super.git" --recurse-submodules --depth=1 --shallow-submodules -- \
	--url="$D/super.git" --depth=1
same http-refs-ref "$H/main.git" -- --url="$H/main.git" --revision=refs/heads/feature
# an empty repository's unborn HEAD is only advertised by protocol v2, which
# libgit2 does not speak; over v0 git falls back to its built-in default
# branch name (master, with no user config), as we do
HOME=$tmp/empty-home same empty-repository "$H/empty.git" -c protocol.version=0 -- --url="$H/empty.git"

# shallow clones really are shallow
c=$tmp/case-http-shallow/ours
if [ -f "$c/.git/shallow" ] && [ "$(git -C "$c" rev-list --count HEAD)" = 1 ]; then pass shallow-has-one-commit
else fail shallow-has-one-commit "$(git -C "$c" rev-list --count HEAD 2>&1)"; fi
# a SHA at a branch tip is fetched through that branch: shallow even from a
# server that gives out no commit by id (super.git allows none)
c=$tmp/case-shallow-sha-at-tip
run_ours "$c" --url="$D/super.git" --revision="$(git -C "$root/super.git" rev-parse main)" --depth=1 --submodules=false --directory=ours
if [ $rc -eq 0 ] && [ "$(git -C "$c/ours" rev-list --count HEAD 2>&1)" = 1 ] &&
	[ "$(git -C "$c/ours" rev-parse HEAD)" = "$(git -C "$root/super.git" rev-parse main)" ]; then pass shallow-sha-at-tip-any-server
else fail shallow-sha-at-tip-any-server "exit $rc $(git -C "$c/ours" rev-list --count HEAD 2>&1) $(tail -1 "$c/err")"; fi
c=$tmp/case-http-shallow-sha-not-at-tip/ours
if [ "$(git -C "$c" rev-list --count HEAD 2>&1)" = 1 ]; then pass shallow-sha-has-one-commit
else fail shallow-sha-has-one-commit "$(git -C "$c" rev-list --count HEAD 2>&1)"; fi

# results, against git's own view of the commit
c=$tmp/case-http-branch
g=$c/git
if [ "$(result "$c" git-commit)" = "$(git -C "$g" rev-parse HEAD)" ] &&
	[ "$(result "$c" git-branch)" = feature ] &&
	[ "$(result "$c" git-user)" = "$(git -C "$g" log -1 --format=%an)" ] &&
	[ "$(result "$c" committer-date)" = "$(git -C "$g" log -1 --format=%ct)" ] &&
	[ "$(result "$c" commit-timestamp)" = "$(git -C "$g" log -1 --format=%cI)" ] &&
	[ "$(result "$c" git-repository)" = "$H/main.git" ] && [ "$(result "$c" url)" = "$H/main.git" ] &&
	[ "$(result "$c" CHAINS-GIT_URL)" = "$H/main.git" ] &&
	[ "$(result "$c" CHAINS-GIT_COMMIT)" = "$(git -C "$g" rev-parse HEAD)" ] &&
	[ "$(result "$c" clone-directory)" = ours ]; then
	pass results-match-git
else
	fail results-match-git "$(cd "$c/results" && grep -H . ./*)"
fi

# ---- pull request mode -----------------------------------------------------
c=$tmp/case-pr-merge
mkdir -p "$c"
git clone -q -b main "$H/main.git" "$c/git" && git -C "$c/git" fetch -q origin pr-ok &&
	git -C "$c/git" -c commit.gpgsign=false merge -q --no-edit FETCH_HEAD >/dev/null 2>&1
run_ours "$c" --url="$H/main.git" --branch=main --pr-branch=pr-ok --directory=ours
if [ $rc -eq 0 ] && [ "$(git -C "$c/ours" rev-parse HEAD^{tree})" = "$(git -C "$c/git" rev-parse HEAD^{tree})" ] &&
	[ "$(git -C "$c/ours" rev-list --parents -1 HEAD | wc -w)" = 3 ] &&
	[ "$(result "$c" git-commit)" = "$(git -C "$c/ours" rev-parse HEAD)" ] &&
	diff <(snapshot "$c/ours" | grep -v '^[0-9a-f]\{40\}$') <(snapshot "$c/git" | grep -v '^[0-9a-f]\{40\}$') >/dev/null; then
	pass pr-merge-same-tree-as-git-merge
else
	fail pr-merge-same-tree-as-git-merge "exit $rc $(tail -2 "$c/err")"
fi
c=$tmp/case-pr-by-revision
mkdir -p "$c"
run_ours "$c" --url="$D/main.git" --branch=main --pr-revision="$(git -C "$root/main.git" rev-parse pr-ok)" \
	--pr-url="$H/main.git" --directory=ours
if [ $rc -eq 0 ] && [ "$(git -C "$c/ours" rev-parse HEAD^{tree})" = "$(git -C "$tmp/case-pr-merge/git" rev-parse HEAD^{tree})" ]; then
	pass pr-revision-from-pr-url
else
	fail pr-revision-from-pr-url "exit $rc $(tail -2 "$c/err")"
fi
# the base (v2 on main) is behind the PR head (feature): a fast-forward
run_ours "$c" --url="$D/main.git" --revision=v2 --branch=main --pr-branch=feature --directory=ff
if [ $rc -eq 0 ] && [ "$(git -C "$c/ff" rev-parse HEAD)" = "$(git -C "$root/main.git" rev-parse feature)" ] &&
	[ "$(git -C "$c/ff" symbolic-ref HEAD)" = refs/heads/main ]; then
	pass pr-fast-forward
else
	fail pr-fast-forward "exit $rc $(tail -2 "$c/err")"
fi
c=$tmp/case-pr-conflict
mkdir -p "$c/box"
run_ours "$c" --url="$H/main.git" --branch=main --pr-branch=pr-conflict --workspace="$c/box" --directory=ours
if [ $rc -eq 1 ] && grep -q 'README.md' "$c/err" && grep -qi conflict "$c/err" && contained pr-conflict "$c/box"; then
	pass pr-conflict-fails-clearly
else
	fail pr-conflict-fails-clearly "exit $rc $(tail -2 "$c/err")"
fi

# ---- credentials -----------------------------------------------------------
secret_nowhere() { # name case-dir secret
	if grep -rqF -- "$3" "$2" 2>/dev/null; then
		fail "$1" "the secret appears in $(grep -rlF -- "$3" "$2" | head -3 | tr '\n' ' ')"
	else
		pass "$1"
	fi
}
c=$tmp/case-token-ok
run_ours "$c" --url="$HS/main.git" "${AUTHS[@]}" --directory=ours
[ $rc -eq 0 ] && secret_nowhere token-not-in-repo-or-output "$c" "$GIT_HTTP_PASSWORD" || fail token-not-in-repo-or-output "exit $rc"

c=$tmp/case-token-wrong
mkdir -p "$c/box"
run_ours "$c" --url="$HS/main.git" --ca-file="$GIT_HTTP_CA" --username="$GIT_HTTP_USER" \
	--token=wrong-token-s3cr3t-value --workspace="$c/box" --directory=ours
if [ $rc -eq 4 ] && contained wrong-token-dir "$c/box"; then pass wrong-token-exit-4; else fail wrong-token-exit-4 "exit $rc $(tail -1 "$c/err")"; fi
secret_nowhere wrong-token-not-shown "$c" wrong-token-s3cr3t-value

c=$tmp/case-token-in-url
run_ours "$c" --url="https://$GIT_HTTP_USER:wrong-url-t0ken-value@$HTTPS_HOSTPORT/main.git" --ca-file="$GIT_HTTP_CA" --directory=ours
if [ $rc -eq 4 ]; then pass token-in-url-wrong-exit-4; else fail token-in-url-wrong-exit-4 "exit $rc"; fi
secret_nowhere token-in-url-not-shown "$c" wrong-url-t0ken-value
c=$tmp/case-token-in-url-ok
run_ours "$c" --url="$GIT_HTTPS_CRED/main.git" --ca-file="$GIT_HTTP_CA" --directory=ours
if [ $rc -eq 0 ] && [ "$(git -C "$c/ours" config remote.origin.url)" = "$HS/main.git" ]; then
	secret_nowhere token-in-url-stripped-from-config "$c" "$GIT_HTTP_PASSWORD"
else
	fail token-in-url-stripped-from-config "exit $rc $(tail -1 "$c/err")"
fi

c=$tmp/case-token-file
mkdir -p "$c"
printf '%s\n' "$GIT_HTTP_PASSWORD" >"$c/token"
run_ours "$c" --url="$HS/main.git" --ca-file="$GIT_HTTP_CA" --username="$GIT_HTTP_USER" --token-file="$c/token" --directory=ours
rm -f "$c/token"
[ $rc -eq 0 ] && secret_nowhere token-file "$c" "$GIT_HTTP_PASSWORD" || fail token-file "exit $rc $(tail -1 "$c/err")"

c=$tmp/case-credentials-file
mkdir -p "$c"
printf 'https://other:nope@example.invalid\n%s\n' "$GIT_HTTPS_CRED" >"$tmp/git-credentials"
run_ours "$c" --url="$HS/main.git" --ca-file="$GIT_HTTP_CA" --git-credentials-file="$tmp/git-credentials" --directory=ours
[ $rc -eq 0 ] && secret_nowhere git-credentials-file "$c" "$GIT_HTTP_PASSWORD" || fail git-credentials-file "exit $rc $(tail -1 "$c/err")"

c=$tmp/case-netrc
mkdir -p "$c"
printf 'machine example.invalid login x password y\nmachine 127.0.0.1\n  login %s\n  password %s\n' \
	"$GIT_HTTP_USER" "$GIT_HTTP_PASSWORD" >"$tmp/netrc"
run_ours "$c" --url="$HS/main.git" --ca-file="$GIT_HTTP_CA" --netrc-file="$tmp/netrc" --directory=ours
[ $rc -eq 0 ] && secret_nowhere netrc-file "$c" "$GIT_HTTP_PASSWORD" || fail netrc-file "exit $rc $(tail -1 "$c/err")"

c=$tmp/case-no-credentials
run_ours "$c" --url="$HS/main.git" --ca-file="$GIT_HTTP_CA" --directory=ours
if [ $rc -eq 4 ] && grep -q 'credentials' "$c/err"; then pass no-credentials-exit-4; else fail no-credentials-exit-4 "exit $rc $(tail -1 "$c/err")"; fi

c=$tmp/case-untrusted-tls
run_ours "$c" --url="$HS/main.git" --username="$GIT_HTTP_USER" --token="$GIT_HTTP_PASSWORD" --directory=ours
if [ $rc -eq 4 ] && grep -q 'ca-file' "$c/err"; then pass untrusted-tls-exit-4; else fail untrusted-tls-exit-4 "exit $rc $(tail -1 "$c/err")"; fi
c=$tmp/case-ssl-verify-off
run_ours "$c" --url="$HS/main.git" --username="$GIT_HTTP_USER" --token="$GIT_HTTP_PASSWORD" --ssl-verify=false --directory=ours
if [ $rc -eq 0 ]; then pass ssl-verify-false; else fail ssl-verify-false "exit $rc $(tail -1 "$c/err")"; fi

c=$tmp/case-ssh-unknown-host
mkdir -p "$c"
: >"$tmp/empty_known_hosts"
run_ours "$c" --url="$S/main.git" --ssh-key="$GIT_SSH_KEY" --known-hosts="$tmp/empty_known_hosts" --directory=ours
if [ $rc -eq 4 ] && grep -q 'known_hosts' "$c/err"; then pass ssh-unknown-host-exit-4; else fail ssh-unknown-host-exit-4 "exit $rc $(tail -1 "$c/err")"; fi
c=$tmp/case-ssh-wrong-host-key
ssh-keygen -q -t ed25519 -N '' -f "$tmp/other_host" -C other
printf '[127.0.0.1]:%s %s\n' "${S#*127.0.0.1:}" "$(cut -d' ' -f1,2 "$tmp/other_host.pub")" | sed 's|:\([0-9]*\)/[^ ]*|:\1|' >"$tmp/wrong_known_hosts"
run_ours "$c" --url="$S/main.git" --ssh-key="$GIT_SSH_KEY" --known-hosts="$tmp/wrong_known_hosts" --directory=ours
if [ $rc -eq 4 ] && grep -q 'NOT match' "$c/err"; then pass ssh-changed-host-key-exit-4; else fail ssh-changed-host-key-exit-4 "exit $rc $(tail -1 "$c/err")"; fi
c=$tmp/case-ssh-wrong-key
ssh-keygen -q -t ed25519 -N '' -f "$tmp/stranger" -C stranger
run_ours "$c" --url="$S/main.git" --ssh-key="$tmp/stranger" --known-hosts="$GIT_SSH_KNOWN_HOSTS" --directory=ours
if [ $rc -eq 4 ]; then pass ssh-refused-key-exit-4; else fail ssh-refused-key-exit-4 "exit $rc $(tail -1 "$c/err")"; fi

# ---- proxies from the environment -------------------------------------------
# A proxy that notes each request line: CONNECT tunnels for https://, and
# absolute-form requests for http:// relayed to the server (lighttpd takes
# the absolute form). http:// through a proxy needs mk/libgit2-http-proxy.patch.
proxy_port=$(git_free_port)
python3 - "$proxy_port" "$tmp/proxy.log" <<'PY' &
import socket, sys, threading
lp, log = int(sys.argv[1]), sys.argv[2]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", lp)); s.listen(16)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        try: b.shutdown(socket.SHUT_WR)
        except OSError: pass
def serve(c):
    head = b""
    while b"\r\n\r\n" not in head:
        d = c.recv(4096)
        if not d:
            return c.close()
        head += d
    line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    with open(log, "a") as f:
        f.write(line + "\n")
    method, target = line.split(" ")[:2]
    if method == "CONNECT":
        host, port = target.rsplit(":", 1)
        u = socket.create_connection((host, int(port)))
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    elif target.startswith("http://"):
        host, port = target[7:].split("/", 1)[0].rsplit(":", 1)
        u = socket.create_connection((host, int(port)))
        u.sendall(head)
    else:
        c.sendall(b"HTTP/1.1 400 Not a proxy request\r\nContent-Length: 0\r\n\r\n")
        return c.close()
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    pipe(u, c)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
proxy_pid=$!
git_wait_port "$proxy_port"
https_hostport=${HS#https://}
https_hostport=${https_hostport%%/*}
c=$tmp/case-proxy
mkdir -p "$c"
(export https_proxy=http://127.0.0.1:$proxy_port && run_ours "$c" --url="$HS/main.git" "${AUTHS[@]}" --branch=feature --directory=ours && echo $rc >"$c/rc")
if [ "$(cat "$c/rc" 2>/dev/null)" = 0 ] && grep -q "CONNECT $https_hostport " "$tmp/proxy.log" && [ -f "$c/ours/feature.txt" ]; then
	pass https-proxy-from-environment
else
	fail https-proxy-from-environment "exit $(cat "$c/rc" 2>/dev/null) $(tail -1 "$c/err"); proxy saw: $(head -3 "$tmp/proxy.log" 2>/dev/null)"
fi
: >"$tmp/proxy.log"
c=$tmp/case-no-proxy
mkdir -p "$c"
(export HTTPS_PROXY=http://127.0.0.1:$proxy_port NO_PROXY=example.invalid,127.0.0.1 && run_ours "$c" --url="$HS/main.git" "${AUTHS[@]}" --directory=ours && echo $rc >"$c/rc")
if [ "$(cat "$c/rc" 2>/dev/null)" = 0 ] && [ ! -s "$tmp/proxy.log" ]; then pass no-proxy-from-environment
else fail no-proxy-from-environment "exit $(cat "$c/rc" 2>/dev/null); proxy saw: $(head -1 "$tmp/proxy.log")"; fi
c=$tmp/case-proxy-param
mkdir -p "$c"
run_ours "$c" --url="$HS/main.git" "${AUTHS[@]}" --https-proxy="http://127.0.0.1:$proxy_port" --directory=ours
if [ $rc -eq 0 ] && grep -q "CONNECT $https_hostport " "$tmp/proxy.log"; then pass https-proxy-param
else fail https-proxy-param "exit $rc $(tail -1 "$c/err")"; fi
: >"$tmp/proxy.log"
c=$tmp/case-http-proxy
mkdir -p "$c"
(export http_proxy=http://127.0.0.1:$proxy_port && run_ours "$c" --url="$H/main.git" --branch=feature --directory=ours && echo $rc >"$c/rc")
# (the proxy notes only the first request of each kept-alive connection)
if [ "$(cat "$c/rc" 2>/dev/null)" = 0 ] && grep -q "GET $H/main.git/info/refs" "$tmp/proxy.log" &&
	[ -f "$c/ours/feature.txt" ]; then
	pass http-proxy-from-environment
else
	fail http-proxy-from-environment "exit $(cat "$c/rc" 2>/dev/null) $(tail -1 "$c/err"); proxy saw: $(head -3 "$tmp/proxy.log" 2>/dev/null)"
fi
kill "$proxy_pid" 2>/dev/null
wait "$proxy_pid" 2>/dev/null

# ---- bad input -------------------------------------------------------------
c=$tmp/case-unknown-branch
mkdir -p "$c/box"
run_ours "$c" --url="$H/main.git" --branch=no-such-branch --workspace="$c/box" --directory=ours
if [ $rc -eq 2 ] && grep -q "no-such-branch" "$c/err" && contained unknown-branch-dir "$c/box"; then pass unknown-branch-exit-2
else fail unknown-branch-exit-2 "exit $rc $(tail -1 "$c/err")"; fi
c=$tmp/case-unknown-revision
mkdir -p "$c/box"
run_ours "$c" --url="$D/main.git" --revision=no-such-tag --workspace="$c/box" --directory=ours
if [ $rc -eq 2 ] && grep -q "no-such-tag" "$c/err" && contained unknown-revision-dir "$c/box"; then pass unknown-revision-exit-2
else fail unknown-revision-exit-2 "exit $rc $(tail -1 "$c/err")"; fi
c=$tmp/case-unknown-sha
mkdir -p "$c/box"
run_ours "$c" --url="$H/main.git" --revision=0123456789abcdef0123456789abcdef01234567 --workspace="$c/box" --directory=ours
if [ $rc -eq 2 ] && grep -q "0123456789abcdef" "$c/err" && contained unknown-sha-dir "$c/box"; then pass unknown-sha-exit-2
else fail unknown-sha-exit-2 "exit $rc $(tail -1 "$c/err")"; fi
c=$tmp/case-no-repo
run_ours "$c" --url="$H/nothing-here.git" --directory=ours
if [ $rc -eq 2 ]; then pass missing-repository-exit-2; else fail missing-repository-exit-2 "exit $rc $(tail -1 "$c/err")"; fi

c=$tmp/case-server-down
mkdir -p "$c/box"
down_port=$(git_free_port)
run_ours "$c" --url="http://127.0.0.1:$down_port/main.git" --max-retries=2 --workspace="$c/box" --directory=ours
if [ $rc -eq 5 ] && [ "$(grep -c 'retry' "$c/err")" -ge 2 ] && contained server-down-dir "$c/box"; then pass server-down-retries-exit-5
else fail server-down-retries-exit-5 "exit $rc $(tail -2 "$c/err")"; fi

# a server that accepts and resets every connection
reset_port=$(git_free_port)
python3 - "$reset_port" <<'PY' &
import socket, struct, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept()
    c.recv(100)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
PY
reset_pid=$!
git_wait_port "$reset_port"
c=$tmp/case-server-reset
mkdir -p "$c/box"
run_ours "$c" --url="http://127.0.0.1:$reset_port/main.git" --max-retries=2 --workspace="$c/box" --directory=ours
if [ $rc -eq 5 ] && [ "$(grep -c 'retry' "$c/err")" -ge 2 ] && contained server-reset-dir "$c/box"; then pass server-resetting-retries-exit-5
else fail server-resetting-retries-exit-5 "exit $rc $(tail -2 "$c/err")"; fi
kill "$reset_pid" 2>/dev/null
wait "$reset_pid" 2>/dev/null
reset_pid=

c=$tmp/case-existing
mkdir -p "$c/box/ours" && echo keep >"$c/box/ours/precious"
run_ours "$c" --url="$H/main.git" --workspace="$c/box" --directory=ours
if [ $rc -eq 2 ] && [ "$(cat "$c/box/ours/precious")" = keep ] && [ "$(ls -A "$c/box/ours")" = precious ]; then
	pass existing-target-exit-2
else
	fail existing-target-exit-2 "exit $rc $(tail -1 "$c/err")"
fi
run_ours "$c" --url="$H/main.git" --workspace="$c/box" --directory=ours --branch=no-such-branch --delete-existing
if [ $rc -eq 2 ] && [ "$(ls -A "$c/box/ours")" = precious ]; then pass delete-existing-keeps-old-tree-on-failure
else fail delete-existing-keeps-old-tree-on-failure "exit $rc $(ls -A "$c/box/ours")"; fi
run_ours "$c" --url="$H/main.git" --workspace="$c/box" --directory=ours --delete-existing
if [ $rc -eq 0 ] && [ ! -e "$c/box/ours/precious" ] && [ -f "$c/box/ours/README.md" ] && contained delete-existing-box "$c/box" ours; then
	pass delete-existing-replaces
else
	fail delete-existing-replaces "exit $rc $(tail -1 "$c/err")"
fi
c=$tmp/case-workspace-root
mkdir -p "$c/ws"
run_ours "$c" --url="$D/main.git" --workspace="$c/ws" --branch=feature
if [ $rc -eq 0 ] && [ -f "$c/ws/feature.txt" ] && [ -d "$c/ws/.git" ] && [ "$(result "$c" clone-directory)" = . ]; then
	pass clone-into-workspace-root
else
	fail clone-into-workspace-root "exit $rc $(tail -1 "$c/err")"
fi
c=$tmp/case-escape-directory
run_ours "$c" --url="$D/main.git" --workspace="$c" --directory=../escape
if [ $rc -eq 2 ] && [ ! -e "$tmp/escape" ]; then pass directory-outside-workspace-exit-2; else fail directory-outside-workspace-exit-2 "exit $rc"; fi

# ---- the static binary alone, as in its FROM scratch image -------------------
STATIC=${PIPELINE_STATIC_BIN:-$here/../../bin}/git-clone
c=$tmp/case-scratch
mkdir -p "$c/root/work" "$c/root/keys"
if [ -x "$STATIC" ]; then
	cp "$STATIC" "$c/root/git-clone"
	cp "$GIT_HTTP_CA" "$c/root/keys/ca.pem"
	cp "$GIT_SSH_KEY" "$GIT_SSH_KEY.pub" "$GIT_SSH_KNOWN_HOSTS" "$c/root/keys/"
	if chroot "$c/root" /git-clone --url="$HS/main.git" --ca-file=/keys/ca.pem --username="$GIT_HTTP_USER" \
		--token="$GIT_HTTP_PASSWORD" --workspace=/work --directory=https --submodules=false >"$c/err" 2>&1 &&
		[ "$(git -C "$c/root/work/https" rev-parse HEAD)" = "$(git -C "$root/main.git" rev-parse main)" ]; then
		pass static-binary-https-in-empty-root
	else
		fail static-binary-https-in-empty-root "$(tail -1 "$c/err")"
	fi
	if chroot "$c/root" /git-clone --url="$S/main.git" --ssh-key=/keys/client_key --known-hosts=/keys/known_hosts \
		--workspace=/work --directory=ssh --depth=1 >"$c/err" 2>&1 &&
		[ "$(git -C "$c/root/work/ssh" rev-parse HEAD)" = "$(git -C "$root/main.git" rev-parse main)" ]; then
		pass static-binary-ssh-in-empty-root
	else
		fail static-binary-ssh-in-empty-root "$(tail -1 "$c/err")"
	fi
else
	fail static-binary-https-in-empty-root "no static binary at $STATIC"
fi

# ---- hostile repositories --------------------------------------------------
for h in dotgit symlink symlink2 link submodule subpath; do
	c=$tmp/case-hostile-$h
	mkdir -p "$c/box"
	run_ours "$c" --url="$D/hostile-$h.git" --workspace="$c/box" --directory=ours
	case $h in
	dotgit) # must refuse, and no hook was planted anywhere
		if [ $rc -ne 0 ] && contained "hostile-$h" "$c/box" && ! find "$tmp" -name pwned | grep -q .; then pass "hostile-$h-refused"
		else fail "hostile-$h-refused" "exit $rc"; fi ;;
	symlink | symlink2) # either refused, or the symlink is there and nothing went through it
		if { [ $rc -ne 0 ] && contained "hostile-$h" "$c/box"; } ||
			{ [ $rc -eq 0 ] && contained "hostile-$h" "$c/box" ours; }; then pass "hostile-$h-contained"
		else fail "hostile-$h-contained" "exit $rc"; fi ;;
	link) # a symlink to outside is checked out as a symlink, nothing more
		if [ $rc -eq 0 ] && [ -L "$c/box/ours/out" ] && contained "hostile-$h" "$c/box" ours; then pass "hostile-$h-stays-a-link"
		else fail "hostile-$h-stays-a-link" "exit $rc $(tail -1 "$c/err")"; fi ;;
	submodule) # the submodule named ../../../../outside/evil never lands outside
		if contained "hostile-$h" "$c/box" $([ $rc -eq 0 ] && echo ours) && [ ! -e "$tmp/escape" ] &&
			[ ! -e "$c/box/escape" ]; then pass "hostile-$h-contained"
		else fail "hostile-$h-contained" "exit $rc $(tail -1 "$c/err")"; fi ;;
	subpath) # the tree is checked out, the climbing submodule is not
		if [ $rc -eq 0 ] && [ -f "$c/box/ours/readme" ] && contained "hostile-$h" "$c/box" ours &&
			[ ! -e "$c/escape" ] && [ ! -e "$c/box/escape" ]; then pass "hostile-$h-skipped"
		else fail "hostile-$h-skipped" "exit $rc $(tail -1 "$c/err")"; fi ;;
	esac
done

exit $failed
