#!/bin/sh
# The Debian source packages our static libraries are built from.
#
#   mk/debian-source.sh newest PKG [apt options...]
#       the newest version of source package PKG that apt knows, over every
#       deb-src suite it has (bookworm, bookworm-updates, bookworm-security,
#       or the private trixie state mk/libgit2.mk passes in its options),
#       among those the archive serves (DEBIAN_SOURCE_DIR: where fetched
#       sources are, so those need no look-up)
#   mk/debian-source.sh fetch DIR PKG VERSION [apt options...]
#       makes DIR/PKG-UPSTREAM exactly the source of PKG VERSION, patched
#       by dpkg-source, and prints that directory: kept if it already is,
#       else removed (with the other version's files) and fetched again
#   mk/debian-source.sh unpacked DIR
#       the Debian version of an unpacked source directory
#
# "Newest apt knows" (never a suite name) is what makes security updates
# reach our static binaries; the version is compared with dpkg's rules.
set -eu

die() { echo "mk/debian-source.sh: $*" >&2; exit 1; }

unpacked() {
	[ -f "$1/debian/changelog" ] || return 1
	dpkg-parsechangelog -l "$1/debian/changelog" -S Version
}

# whether the archive serves the source of PKG VERSION (its .dsc, a few
# kB, through apt's own downloader): a mirror may list a version (a
# security update, say) whose files it does not have
fetchable() { # pkg version apt-options...
	p=$1 v=$2; shift 2
	[ -n "${DEBIAN_SOURCE_DIR:-}" ] && [ -f "$DEBIAN_SOURCE_DIR/${p}_${v#*:}.dsc" ] && return 0
	uri=$(apt-get "$@" source --print-uris -qq "$p=$v" 2>/dev/null | awk -F"'" '$2 ~ /\.dsc$/ { print $2; exit }')
	[ -n "$uri" ] || return 1
	tmp=$(mktemp)
	/usr/lib/apt/apt-helper download-file "$uri" "$tmp" >/dev/null 2>&1 && ok=0 || ok=1
	rm -f "$tmp"
	return $ok
}

# the newest version apt knows whose source the archive serves (one that
# it lists but does not serve is named, and passed over)
newest() {
	pkg=$1; shift
	versions=$(apt-cache "$@" showsrc "$pkg" 2>/dev/null |
		awk -v p="$pkg" '/^Package: / { ours = ($2 == p) } ours && /^Version: / { print $2 }')
	[ -n "$versions" ] || die "apt knows no source package $pkg (is deb-src enabled? run tests/setup-debian.sh)"
	# newest first, by dpkg's ordering
	sorted=
	for v in $versions; do
		rest= placed=
		for w in $sorted; do
			if [ -z "$placed" ] && dpkg --compare-versions "$v" gt "$w"; then rest="$rest $v"; placed=1; fi
			rest="$rest $w"
		done
		[ -n "$placed" ] || rest="$rest $v"
		sorted=$rest
	done
	for v in $sorted; do
		if fetchable "$pkg" "$v" "$@"; then echo "$v"; return; fi
		echo "mk/debian-source.sh: apt lists $pkg $v, but the archive does not serve its source: passed over" >&2
	done
	die "the archive serves no source of $pkg ($versions)"
}

fetch() {
	dir=$1 pkg=$2 version=$3; shift 3
	upstream=${version#*:}
	upstream=${upstream%-*}
	src=$pkg-$upstream
	mkdir -p "$dir"
	cd "$dir"
	if [ "$(unpacked "$src" 2>/dev/null)" = "$version" ]; then
		echo "$PWD/$src"
		return
	fi
	if [ -e "$src" ]; then
		echo "mk/debian-source.sh: $dir/$src is ${pkg} $(unpacked "$src" || echo '(unknown version)'), not $version: fetching $version" >&2
	fi
	# fetched aside, then put in place of whatever version was there
	new=.fetch-$pkg.$$
	rm -rf "$new" && mkdir "$new"
	(cd "$new" && { apt-get "$@" source -qq "$pkg=$version" >/dev/null 2>&1 || apt-get "$@" source "$pkg=$version" >&2; }) ||
		{ rm -rf "$new"; die "cannot fetch the source of $pkg $version"; }
	[ "$(unpacked "$new/$src")" = "$version" ] || { rm -rf "$new"; die "the source fetched is not $pkg $version"; }
	rm -rf "$src" "$pkg"-[0-9]*/ "${pkg}_"*
	mv "$new"/* .
	rmdir "$new"
	echo "$PWD/$src"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
newest) [ $# -ge 1 ] || die "usage: newest PKG [apt options...]"; newest "$@" ;;
fetch) [ $# -ge 3 ] || die "usage: fetch DIR PKG VERSION [apt options...]"; fetch "$@" ;;
unpacked) [ $# -eq 1 ] || die "usage: unpacked DIR"; unpacked "$1" || die "$1 is no unpacked Debian source" ;;
*) die "usage: newest PKG | fetch DIR PKG VERSION | unpacked DIR" ;;
esac
