#!/usr/bin/env bash
# git-clone reports a branch only for a revision that is on it. With both
# branch and revision, the revision's commit must be the branch's tip or an
# ancestor of it, else exit 2 and nothing in the target, no results: a
# git-branch=main result is what publish-doi's built-from-branch rule
# trusts. A shallow fetch stops at its boundary, so an older revision that
# IS on the branch makes git-clone fetch the branch's full history once
# (the deepen path) and accept it. In pull request mode git-branch is
# empty: the merge is not on the branch. branch also takes
# refs/heads/<name>, the ref of a push webhook, as <name>. Servers: git
# http-backend behind lighttpd and git daemon, on loopback
# (tests/servers/git-servers.sh).
#
# History of main.git (oldest first):
#   main:    M1 - M2 (tag on-main, annotated) - M3 - M4 (tip)
#   feature: M2 - F1 - F2 (tip; tag on-feature, annotated)
#   pr:      M4 - P1
set -u
suite=git-clone-branch
tools="git lighttpd openssl python3"
keep=GIT_CLONE_TEST_KEEP
source "$(dirname "$0")/lib/prelude.sh"
BIN=$BIN/git-clone
tmp=$W
. "$root/tests/servers/git-servers.sh"
at_exit+=(git_servers_stop)
[ -x "$BIN" ] || { fail setup "no binary at $BIN"; exit 1; }
git_test_home "$tmp/home"

# ---- the repository --------------------------------------------------------
repos=$tmp/root
mkdir -p "$repos"
w=$tmp/w
{
	git init -q "$w" && cd "$w" &&
		for i in 1 2 3 4; do
			printf 'main %s\n' $i >>main.txt && git add main.txt && git commit -q -m "M$i" || exit 1
			[ $i = 2 ] && { git tag -a on-main -m "on main" || exit 1; }
		done
	git checkout -q -b feature main~2 &&
		printf 'f1\n' >f.txt && git add f.txt && git commit -q -m F1 &&
		printf 'f2\n' >>f.txt && git commit -q -am F2 && git tag -a on-feature -m "on feature only" &&
		git checkout -q -b pr main && printf 'p1\n' >p.txt && git add p.txt && git commit -q -m P1 &&
		git checkout -q main &&
		git clone -q --bare "$w" "$repos/main.git" &&
		git -C "$repos/main.git" config uploadpack.allowReachableSHA1InWant true &&
		git clone -q --bare "$w" "$repos/lit.git" &&
		git -C "$repos/lit.git" update-ref refs/heads/refs/heads/main "$(git -C "$w" rev-parse feature)"
} >"$tmp/fixtures.log" 2>&1 || { fail fixtures "$(tail -3 "$tmp/fixtures.log")"; exit 1; }
cd "$tmp" || exit 1
rev() { git -C "$repos/main.git" rev-parse "$1"; }
M1=$(rev main~3) M2=$(rev main~2) M4=$(rev main) F1=$(rev feature~1) F2=$(rev feature)
ON_MAIN_TAG=$(rev on-main) # the tag object, not the commit

git_http_start "$repos" "$tmp/http" || { fail setup "lighttpd did not start: $(tail -2 "$tmp/http/lighttpd.log")"; exit 1; }
git_daemon_start "$repos" "$tmp/daemon" || { fail setup "git daemon did not start"; exit 1; }
H=$GIT_HTTP_URL/main.git D=$GIT_DAEMON_URL/main.git

# ---- helpers ---------------------------------------------------------------
n=0
run() { # args... -> $c (case dir), $rc; clones into $c/box/src
	n=$((n + 1))
	c=$tmp/case-$n
	mkdir -p "$c/box" "$c/results"
	"$BIN" --results-dir="$c/results" --workspace="$c/box" --directory=src --submodules=false "$@" >"$c/out" 2>"$c/err"
	rc=$?
}
result() { cat "$c/results/$1" 2>/dev/null; }

# accepted NAME COMMIT BRANCH args...: exit 0, HEAD and git-commit are
# COMMIT, git-branch is BRANCH
accepted() {
	local name=$1 want=$2 branch=$3
	shift 3
	run "$@"
	local head
	head=$(git -C "$c/box/src" rev-parse HEAD 2>&1)
	if [ $rc -eq 0 ] && [ "$head" = "$want" ] && [ "$(result git-commit)" = "$want" ] &&
		[ "$(result git-branch)" = "$branch" ]; then
		pass "$name"
	else
		fail "$name" "exit $rc, HEAD $head, git-commit '$(result git-commit)', git-branch '$(result git-branch)' (want $want, '$branch'): $(tail -2 "$c/err")"
	fi
}

# refused NAME COMMIT BRANCH args...: exit 2 with the message naming the
# revision's commit, the branch and its tip; nothing in the workspace (no
# target, no staging directory) and no result written
refused() {
	local name=$1 commit=$2 branch=$3
	shift 3
	run "$@"
	local want="is not on branch '$branch' (tip $(rev "$branch")): give the branch it is on, or no branch"
	if [ $rc -eq 2 ] && grep -qF "(commit $commit) $want" "$c/err" && [ -z "$(ls -A "$c/box")" ] &&
		[ -z "$(ls -A "$c/results")" ]; then
		pass "$name"
	else
		fail "$name" "exit $rc, workspace '$(ls -A "$c/box" | tr '\n' ' ')', results '$(ls -A "$c/results" | tr '\n' ' ')': $(tail -2 "$c/err")"
	fi
}
deepened() { grep -q "fetching the branch's full history" "$c/err"; }

# ---- a revision that is not on the branch ----------------------------------
refused feature-sha-refused "$F1" main --url="$H" --branch=main --revision="$F1"
refused feature-tip-sha-refused "$F2" main --url="$H" --branch=main --revision="$F2"
refused feature-short-sha-refused "$F1" main --url="$H" --branch=main --revision="${F1:0:9}"
refused feature-tag-refused "$F2" main --url="$H" --branch=main --revision=on-feature
refused feature-ref-refused "$F2" main --url="$H" --branch=main --revision=refs/heads/feature
refused other-branch-name-refused "$F2" main --url="$H" --branch=main --revision=feature
refused webhook-ref-branch-refused "$F1" main --url="$H" --branch=refs/heads/main --revision="$F1"
# shallow: the walk from main's tip stops at once; the branch's full
# history is fetched and the commit still is not in it
refused shallow-feature-sha-refused "$F1" main --url="$H" --branch=main --revision="$F1" --depth=1
deepened && pass shallow-refusal-deepened-first || fail shallow-refusal-deepened-first "$(tail -3 "$c/err")"
refused shallow-feature-tip-sha-refused "$F2" main --url="$H" --branch=main --revision="$F2" --depth=1
refused shallow-feature-tag-refused "$F2" main --url="$H" --branch=main --revision=on-feature --depth=1
refused daemon-shallow-feature-sha-refused "$F1" main --url="$D" --branch=main --revision="$F1" --depth=1
# pull request mode: the revision is the base the PR is merged onto
refused pr-base-not-on-branch-refused "$F1" main --url="$H" --branch=main --revision="$F1" --pr-branch=pr
# a target that exists (the workspace itself) is left as it was
run --url="$H" --branch=main --revision="$F1" --directory=
if [ $rc -eq 2 ] && grep -q "is not on branch 'main'" "$c/err" && [ -z "$(ls -A "$c/box")" ] &&
	[ -z "$(ls -A "$c/results")" ]; then
	pass refused-into-workspace-root-leaves-it-empty
else
	fail refused-into-workspace-root-leaves-it-empty "exit $rc, workspace '$(ls -A "$c/box" | tr '\n' ' ')': $(tail -1 "$c/err")"
fi

# ---- a revision that is on the branch --------------------------------------
accepted feature-sha-on-feature "$F1" feature --url="$H" --branch=feature --revision="$F1"
accepted tip-sha "$M4" main --url="$H" --branch=main --revision="$M4"
accepted ancestor-sha "$M1" main --url="$H" --branch=main --revision="$M1"
accepted ancestor-short-sha "$M2" main --url="$H" --branch=main --revision="${M2:0:9}"
accepted tag-on-main "$M2" main --url="$H" --branch=main --revision=on-main
accepted tag-object-sha-on-main "$M2" main --url="$H" --branch=main --revision="$ON_MAIN_TAG"
accepted revision-is-the-branch "$M4" main --url="$H" --branch=main --revision=main
accepted fork-point-on-both "$M2" feature --url="$H" --branch=feature --revision="$M2"
# shallow: an older revision on main is beyond depth 1; the branch's full
# history is fetched (with a warning) and it is found there
accepted shallow-ancestor-deepened "$M1" main --url="$H" --branch=main --revision="$M1" --depth=1
deepened && pass shallow-ancestor-warns-deepened || fail shallow-ancestor-warns-deepened "$(tail -3 "$c/err")"
accepted shallow-tag-on-main-deepened "$M2" main --url="$H" --branch=main --revision=on-main --depth=1
accepted daemon-shallow-ancestor-deepened "$M1" main --url="$D" --branch=main --revision="$M1" --depth=1
accepted shallow-tip-not-deepened "$M4" main --url="$H" --branch=main --revision="$M4" --depth=1
if ! deepened && [ "$(git -C "$c/box/src" rev-list --count HEAD 2>&1)" = 1 ]; then pass shallow-tip-stays-shallow
else fail shallow-tip-stays-shallow "$(git -C "$c/box/src" rev-list --count HEAD 2>&1) $(tail -2 "$c/err")"; fi
# pull request mode: base on main, the PR fast-forwards it (to P1, which
# is not on main: git-branch is empty, as for any PR checked out)
run --url="$H" --branch=main --revision="$M2" --pr-branch=pr
if [ $rc -eq 0 ] && [ "$(result git-commit)" = "$(rev pr)" ] && [ -e "$c/results/git-branch" ] &&
	[ -z "$(result git-branch)" ]; then
	pass pr-base-on-branch-accepted
else
	fail pr-base-on-branch-accepted "exit $rc git-commit '$(result git-commit)' git-branch '$(result git-branch)': $(tail -2 "$c/err")"
fi
# a PR merged onto main's tip: the merge commit is on no branch of the
# remote, so git-branch (what built-from-branch trusts) does not say main
run --url="$H" --branch=main --pr-branch=feature
merge=$(result git-commit)
if [ $rc -eq 0 ] && [ -n "$merge" ] && [ "$(git -C "$c/box/src" rev-parse HEAD^1 2>&1)" = "$M4" ] &&
	! git -C "$c/box/src" merge-base --is-ancestor "$merge" "$M4" && [ -e "$c/results/git-branch" ] &&
	[ -z "$(result git-branch)" ]; then
	pass pr-merge-not-vouched-for-by-the-branch
else
	fail pr-merge-not-vouched-for-by-the-branch "exit $rc git-commit '$merge' git-branch '$(result git-branch)': $(tail -2 "$c/err")"
fi

# ---- branch as refs/heads/<name> (a push webhook's body.ref) ---------------
accepted webhook-ref-branch "$M4" main --url="$H" --branch=refs/heads/main
if [ "$(git -C "$c/box/src" symbolic-ref HEAD 2>&1)" = refs/heads/main ]; then pass webhook-ref-branch-checked-out-as-name
else fail webhook-ref-branch-checked-out-as-name "$(git -C "$c/box/src" symbolic-ref HEAD 2>&1)"; fi
accepted webhook-ref-branch-with-revision "$F1" feature --url="$H" --branch=refs/heads/feature --revision="$F1"
accepted webhook-ref-branch-shallow "$M4" main --url="$D" --branch=refs/heads/main --depth=1
# only the one prefix is taken off, only that one; a branch literally
# named refs/heads/main (lit.git's, on F2: its push ref is
# refs/heads/refs/heads/main) is refused, its git-branch would read as main
run --url="$H" --branch=refs/heads/refs/heads/main
if [ $rc -eq 2 ] && grep -qF "branch 'refs/heads/refs/heads/main': a branch named 'refs/heads/main' is refused: git-branch 'refs/heads/main' would read as branch 'main'" "$c/err" &&
	[ -z "$(ls -A "$c/box")" ]; then
	pass prefix-stripped-once
else
	fail prefix-stripped-once "exit $rc $(tail -1 "$c/err")"
fi
L=${H%/main.git}/lit.git
run --url="$L" --branch=refs/heads/refs/heads/main --revision="$F2"
if [ $rc -eq 2 ] && grep -qF "a branch named 'refs/heads/main' is refused" "$c/err" && [ -z "$(ls -A "$c/box")" ] &&
	[ -z "$(ls -A "$c/results")" ]; then
	pass branch-named-like-a-ref-refused
else
	fail branch-named-like-a-ref-refused "exit $rc git-branch '$(result git-branch)': $(tail -1 "$c/err")"
fi
accepted webhook-ref-main-beside-a-branch-named-like-it "$M4" main --url="$L" --branch=refs/heads/main
run --url="$H" --branch=refs/tags/on-main
if [ $rc -eq 2 ] && grep -qF "branch 'refs/tags/on-main' not found" "$c/err" && [ -z "$(ls -A "$c/box")" ]; then
	pass other-refs-not-a-branch
else
	fail other-refs-not-a-branch "exit $rc $(tail -1 "$c/err")"
fi
run --url="$H" --branch=refs/heads/
if [ $rc -eq 2 ] && grep -qF "branch 'refs/heads/' names no branch" "$c/err" && [ -z "$(ls -A "$c/box")" ]; then
	pass empty-name-after-prefix
else
	fail empty-name-after-prefix "exit $rc $(tail -1 "$c/err")"
fi

exit $((failures > 0))
