#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and the demo need,
# and enables deb-src so the Makefile can fetch third-party sources that
# Debian ships only as shared libraries (libjq, oniguruma, a minimal libcurl).
# Idempotent; runs apt-get only when something is missing. Needs root (or sudo).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
packages=$(grep -v '^#' "$here/debian-packages.txt" | tr '\n' ' ')

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

srcfile=/etc/apt/sources.list.d/pipeline-deb-src.sources
need_update=0
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  as_root tee "$srcfile" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  need_update=1
fi

missing=$(dpkg-query -W -f='${Package} ${Status}\n' $packages 2>/dev/null | awk '$4 != "installed" {print $1}' || true)
# dpkg-query prints nothing for packages it has never heard of
for p in $packages; do dpkg-query -W "$p" >/dev/null 2>&1 || missing="$missing $p"; done
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')

if [ -n "${missing// /}" ] || [ $need_update = 1 ]; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
fi
if [ -n "${missing// /}" ]; then
  echo "setup: installing $missing" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
