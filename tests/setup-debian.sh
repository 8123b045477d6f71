#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and the demo need,
# and enables deb-src (bookworm, bookworm-updates and bookworm-security) so
# the Makefile can fetch third-party sources that Debian ships only as
# shared libraries (libjq, oniguruma, a minimal libcurl): the newest
# version apt knows, security updates included (mk/debian-source.sh).
#
# The jq oracle (tests/cli/jq_corpus.py compares extract-value-jq with
# Debian's jq) must be the very Debian version our libjq is built from:
# jq's test corpus comes from that source, and an older jq fails (or
# crashes on) the tests a newer source adds. So the jq and libjq1 binary
# packages are installed at the version of the jq source the Makefile
# builds (up or down), not the other way round: the source is the newest
# apt knows, and an installed jq's own source may be gone from the
# archive.
#
# Idempotent; runs apt-get update when the sources change, a package is
# missing, or the lists are more than a day old. Needs root (or sudo).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
packages=$(grep -v '^#' "$here/debian-packages.txt" | tr '\n' ' ')

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_get() { as_root env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }

# deb-src for the suites no other sources file gives apt yet
srcfile=/etc/apt/sources.list.d/pipeline-deb-src.sources
others=$(apt-get indextargets --no-release-info --format '$(RELEASE) $(SOURCESENTRY)' 'Created-By: Sources' 2>/dev/null |
	grep -v " $srcfile:" | awk '{ print $1 }' | sort -u || true)
missing_suites() { for s; do grep -qx "$s" <<<"$others" || echo "$s"; done | tr '\n' ' ' | sed 's/ $//'; }
stanza() { # uri suites
	[ -n "$2" ] || return 0
	printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' "$1" "$2"
}
want=$(stanza http://deb.debian.org/debian "$(missing_suites bookworm bookworm-updates)"
	stanza http://deb.debian.org/debian-security "$(missing_suites bookworm-security)")
need_update=0
if [ -n "$want" ] && [ "$want" != "$(cat "$srcfile" 2>/dev/null)" ]; then
	echo "setup: deb-src in $srcfile: $(grep '^Suites' <<<"$want" | cut -d' ' -f2- | tr '\n' ' ')" >&2
	as_root tee "$srcfile" >/dev/null <<<"$want"
	need_update=1
elif [ -z "$want" ] && [ -e "$srcfile" ]; then
	as_root rm -f "$srcfile"
	need_update=1
fi
# lists a day old or more: a security update may be waiting
[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Sources*' -mmin -1440 2>/dev/null | head -1)" ] || need_update=1

missing=$(dpkg-query -W -f='${Package} ${Status}\n' $packages 2>/dev/null | awk '$4 != "installed" {print $1}' || true)
# dpkg-query prints nothing for packages it has never heard of
for p in $packages; do dpkg-query -W "$p" >/dev/null 2>&1 || missing="$missing $p"; done
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')

if [ -n "${missing// /}" ] || [ $need_update = 1 ]; then
	apt_get update -qq
fi
if [ -n "${missing// /}" ]; then
	echo "setup: installing $missing" >&2
	apt_get install -y -qq --no-install-recommends $missing >/dev/null
fi

# the jq oracle at the version of the jq source we build
jq_version=$("$here/../mk/debian-source.sh" newest jq)
have=$(dpkg-query -W -f='${Version}' jq 2>/dev/null || true)
if [ "$have" != "$jq_version" ]; then
	echo "setup: jq ${have:-(none)} -> $jq_version, the version of the jq source the Makefile builds libjq from" >&2
	apt_get install -y -qq --no-install-recommends --allow-downgrades "jq=$jq_version" "libjq1=$jq_version" >/dev/null || {
		echo "setup: Debian's jq $jq_version (the version of its newest source) is not installable here;" \
			"the jq corpus test needs the jq binary of the version libjq is built from" >&2
		exit 1
	}
fi

# containerize's node base image (Debian bookworm + nodejs, debootstrap
# from deb.debian.org): built here, once, and never by a test or a bench
# (tests/servers/containerize-bases.sh node fails when it is missing)
echo "setup: containerize's node base (debootstrap, once; kept in build/containerize/bases)" >&2
as_root "$here/servers/containerize-bases.sh" download-node >/dev/null
