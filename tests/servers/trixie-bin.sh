#!/usr/bin/env bash
# A Debian trixie binary package extracted under the build folder, as a
# test oracle that a fresh Debian 12 machine can get (its own archives lack
# it or ship an old one: /work/shared/reference/trixie-tools.md). Fetched
# through a private apt state, so the system's apt configuration is left
# alone while apt still checks the archive's signatures.
#
#   trixie-bin.sh BUILD PACKAGE BINARY   prints the binary's path
#   e.g. trixie-bin.sh build kubectl kubectl -> build/trixie-bin/root/usr/bin/kubectl
set -euo pipefail
build=${1:?build dir}
pkg=${2:?package}
bin=${3:?binary}
T=$(mkdir -p "$build/trixie-bin" && cd "$build/trixie-bin" && pwd)
out=$T/root/usr/bin/$bin
if [ -x "$out" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$T/parts" "$T/lists/partial" "$T/cache/archives/partial" "$T/debs"
cat >"$T/parts/trixie.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
O=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$T/parts" -o "Dir::State::Lists=$T/lists"
	-o "Dir::Cache=$T/cache" -o Debug::NoLocking=1 -o APT::Architecture=amd64)
(
	flock 9
	if [ ! -x "$out" ]; then
		[ -n "$(find "$T/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null)" ] ||
			apt-get "${O[@]}" -qq update >&2
		(cd "$T/debs" && rm -f "$pkg"_*.deb && apt-get "${O[@]}" -qq download "$pkg/trixie" >&2)
		dpkg-deb -x "$T/debs/$pkg"_*.deb "$T/root"
	fi
) 9>"$T/.lock"
[ -x "$out" ] || { echo "trixie-bin.sh: $pkg has no usr/bin/$bin" >&2; exit 1; }
echo "$out"
