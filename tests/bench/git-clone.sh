#!/usr/bin/env bash
# git-clone vs the git CLI, same server, same run: a generated repository of
# 20k commits and 20k files (~200 MB packed) served by git http-backend
# behind lighttpd on loopback; full clone and depth=1 clone, median of RUNS
# (default 3) wall times and peak RSS (GNU time; for git, the largest of its
# processes: git clone runs git-remote-http and index-pack beside itself).
# The repository is generated once with git fast-import and cached under
# build/bench-data/git-clone.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-3}
. "$here/lib.sh"
. "$top/tests/servers/git-servers.sh"
BIN=${PIPELINE_STATIC_BIN:-$top/bin}/git-clone
COMMITS=${GIT_BENCH_COMMITS:-20000}
data=$BENCH_DATA/git-clone
repo=$data/root/big.git

generate() {
	rm -rf "$data/root" && mkdir -p "$data/root"
	git init -q --bare -b main "$repo"
	# one new ~13 KB text file per commit in one of 100 directories, and a
	# small changelog touched by every commit: 20k files, 20k commits
	python3 - "$COMMITS" <<'PY' | git -C "$repo" fast-import --quiet --done
import base64, os, sys
n = int(sys.argv[1])
out = sys.stdout.buffer
def data(b):
    out.write(b"data %d\n" % len(b)); out.write(b); out.write(b"\n")
log = []
for i in range(1, n + 1):
    text = base64.encodebytes(os.urandom(9600))  # ~13 KB of text, compresses ~25%
    out.write(b"blob\nmark :%d\n" % (2 * i)); data(text)
    log.append(b"change %d\n" % i)
    out.write(b"blob\nmark :%d\n" % (2 * i + 1)); data(b"".join(log[-50:]))
    out.write(b"commit refs/heads/main\nmark :%d\n" % (2 * n + 10 + i))
    out.write(b"author Bench Author <bench@example.test> %d +0000\n" % (1600000000 + i * 60))
    out.write(b"committer Bench Author <bench@example.test> %d +0000\n" % (1600000000 + i * 60))
    data(b"change %d\n" % i)
    if i > 1:
        out.write(b"from :%d\n" % (2 * n + 10 + i - 1))
    out.write(b"M 100644 :%d d%02d/f%05d.txt\n" % (2 * i, i % 100, i))
    out.write(b"M 100644 :%d CHANGELOG\n\n" % (2 * i + 1))
out.write(b"done\n")
PY
	git -C "$repo" symbolic-ref HEAD refs/heads/main
	# one pack with a bitmap, as a hosting server keeps it
	git -C "$repo" repack -q -a -d -b --window=0
	touch "$data/.done-$COMMITS"
}

if [ ! -f "$data/.done-$COMMITS" ]; then
	echo "# generating $COMMITS commits under $data (once)" >&2
	start=$(date +%s)
	generate || { echo "bench git-clone: FAILED to generate the repository"; exit 1; }
	echo "# generated in $(($(date +%s) - start)) s, pack $(du -sm "$repo/objects/pack" | cut -f1) MB" >&2
fi

work=$(mktemp -d "$data/run.XXXXXX")
trap 'git_servers_stop; rm -rf "$work"' EXIT
git_http_start "$data/root" "$work/http" || { echo "bench git-clone: FAILED to start lighttpd"; exit 1; }
url=$GIT_HTTP_URL/big.git

# pair NAME OURS-ARGS -- GIT-ARGS: RUNS rounds of ours then git (taking
# turns, so load from anything else on the machine falls on both), each
# into a new directory; nothing is deleted until the end, since a fresh
# mass delete slows the next mass create on ext4 (inode reuse). Sets
# NAME_ours_time/_rss and NAME_git_time/_rss (medians).
n=0
pair() {
	local var=$1 i who out
	shift
	local oargs=() gargs=()
	while [ "$1" != -- ]; do oargs+=("$1"); shift; done
	shift
	gargs=("$@")
	local ot=() orss=() gt=() grss=()
	for ((i = 0; i < RUNS; i++)); do
		for who in ours git; do
			n=$((n + 1))
			sync
			if [ $who = ours ]; then
				set -- "$BIN" --url="$url" --workspace="$work" --directory="out$n" --submodules=false "${oargs[@]}"
			else
				set -- git clone -q "${gargs[@]}" "$url" "$work/out$n"
			fi
			if ! /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/log" 2>&1; then
				echo "bench git-clone: FAILED: $* ($(tail -1 "$work/log"))"
				exit 1
			fi
			out=$(tail -1 "$work/time")
			if [ $who = ours ]; then ot+=("${out% *}") orss+=("${out#* }"); else gt+=("${out% *}") grss+=("${out#* }"); fi
		done
	done
	echo "# $var runs: ours ${ot[*]} s (${orss[*]} KB); git ${gt[*]} s (${grss[*]} KB)" >&2
	printf -v "${var}_ours_time" '%s' "$(median "${ot[@]}")"
	printf -v "${var}_ours_rss" '%s' "$(median "${orss[@]}")"
	printf -v "${var}_git_time" '%s' "$(median "${gt[@]}")"
	printf -v "${var}_git_rss" '%s' "$(median "${grss[@]}")"
}

# the same files and HEAD as git's, or the numbers mean nothing
"$BIN" --url="$url" --workspace="$work" --directory=check --submodules=false >/dev/null 2>&1 &&
	git clone -q "$url" "$work/check-git" &&
	[ "$(git -C "$work/check" rev-parse HEAD)" = "$(git -C "$work/check-git" rev-parse HEAD)" ] &&
	[ "$(git -C "$work/check" ls-files | wc -l)" = "$(git -C "$work/check-git" ls-files | wc -l)" ] &&
	diff -rq -x .git "$work/check" "$work/check-git" >/dev/null ||
	{ echo "bench git-clone: FAILED: our clone differs from git's"; exit 1; }
files=$(git -C "$work/check" ls-files | wc -l)
echo "# $COMMITS commits, $files files, pack $(du -sm "$repo/objects/pack" | cut -f1) MB, via $url"

pair full --
report "git-clone full ($COMMITS commits)" "$full_ours_time" "$full_git_time" "$full_ours_rss" "$full_git_rss" "git clone"
pair shallow --depth=1 -- --depth=1
report "git-clone depth=1" "$shallow_ours_time" "$shallow_git_time" "$shallow_ours_rss" "$shallow_git_rss" "git clone"
