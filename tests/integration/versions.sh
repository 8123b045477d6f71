#!/usr/bin/env bash
# Every binary's --version names the third-party sources linked into it
# (mk/versions.sh), and each version is the truth: what dpkg says of the
# Debian -dev package whose static library was linked, or the version of
# the Debian source unpacked in build/src and recorded when our static
# library was built from it (build/deps/lib/<archive>.source). A library
# whose own strings are in a binary must be listed by it.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
static=${PIPELINE_STATIC_BIN:-$root/bin}
asan=${PIPELINE_BIN:-$root/build/asan/bin}
build=${PIPELINE_BUILD:-$root/build}
failed=0
pass() { echo "PASS: versions/$1"; }
fail() { echo "FAIL: versions/$1"; shift; for l in "$@"; do echo "    $l"; done; failed=1; }

# a string only that library has -> its Debian source package
markers=(
	'crypto/evp|openssl'
	"Couldn't resolve host name|curl"
	'Expected separator between values|jq'
	'invalid pattern in look-behind|libonig'
	'libgit2 1.|libgit2'
	'libarchive 3.|libarchive'
	'inflate 1.|zlib'
	'Unknown frame descriptor|libzstd'
	'end of file expected|jansson'
	'did not find expected <document start>|libyaml'
	'SSH-2.0-libssh2|libssh2'
	'malloc(): corrupted|glibc'
)

# "  source version (where: archives)" -> problems, one per line
check_line() { # binary line
	local src ver where archives
	read -r src ver <<<"${2%% (*}"
	where=${2#*(}; where=${where%%:*}
	archives=${2#*: }; archives=${archives%)}
	case $where in
	"built here from the Debian source")
		local a dir unpacked
		for a in $archives; do
			[ "$(cat "$build/deps/lib/$a.source" 2>/dev/null)" = "$src $ver" ] ||
				echo "$1: $a: says $src $ver, $build/deps/lib/$a.source says $(cat "$build/deps/lib/$a.source" 2>/dev/null)"
		done
		dir=$(ls -d "$build/src/$src"-[0-9]*/ 2>/dev/null | head -1)
		unpacked=$([ -n "$dir" ] && dpkg-parsechangelog -l "$dir/debian/changelog" -S Version 2>/dev/null)
		[ "$unpacked" = "$ver" ] || echo "$1: $src: says $ver, the source in $build/src is ${unpacked:-missing}"
		;;
	"Debian "*)
		local pkg=${where#Debian } have
		have=$(dpkg-query -W -f '${source:Package} ${Version}' "$pkg" 2>/dev/null)
		[ "$have" = "$src $ver" ] || echo "$1: says $src $ver ($pkg), dpkg says ${have:-nothing}"
		;;
	*) echo "$1: unreadable line: $2" ;;
	esac
}

for t in "$root"/tasks/*/; do
	name=$(basename "$t")
	bin=$static/$name
	out=$("$bin" --version 2>&1)
	if [ "$(sed -n 2p <<<"$out")" != "third-party sources linked in:" ] || [ "$(wc -l <<<"$out")" -lt 3 ]; then
		fail "$name-lists-its-sources" "$out"
		continue
	fi
	problems=$(tail -n +3 <<<"$out" | while IFS= read -r line; do check_line "$name" "${line#  }"; done)
	if [ -z "$problems" ]; then pass "$name-versions-are-dpkg-and-source-versions"
	else fail "$name-versions-are-dpkg-and-source-versions" "$problems"; fi
	missing=
	for m in "${markers[@]}"; do
		if grep -aqF -- "${m%|*}" "$bin" && ! tail -n +3 <<<"$out" | grep -q "^  ${m#*|} "; then
			missing="$missing ${m#*|}"
		fi
	done
	if [ -z "$missing" ]; then pass "$name-lists-every-library-it-carries"
	else fail "$name-lists-every-library-it-carries" "carries, but does not list:$missing" "$out"; fi
	if [ "$("$asan/$name" --version 2>&1)" = "$out" ]; then pass "$name-asan-build-lists-the-same"
	else fail "$name-asan-build-lists-the-same" "$("$asan/$name" --version 2>&1)"; fi
done

# git-clone's libssh2 is trixie's (>= 1.11: RSA keys sign with rsa-sha2-256/512,
# which OpenSSH >= 8.8 requires), built here, and the banner it sends says so
line=$("$static/git-clone" --version 2>&1 | grep '^  libssh2 ')
ver=$(awk '{ print $2 }' <<<"$line")
banner=$(grep -aoE 'SSH-2.0-libssh2_[0-9.]+' "$static/git-clone" | head -1)
if [ -n "$ver" ] && dpkg --compare-versions "$ver" ge 1.11 && [[ $line == *"built here from the Debian source: libssh2.a"* ]] &&
	[ "${banner#SSH-2.0-libssh2_}" = "${ver%%-*}" ]; then
	pass git-clone-libssh2-1.11-built-here
else
	fail git-clone-libssh2-1.11-built-here "listed: ${line:-nothing}; banner in the binary: ${banner:-none}"
fi
exit $failed
