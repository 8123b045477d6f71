#!/usr/bin/env bash
# image-copy against skopeo copy, same registry (Debian's docker-registry,
# TLS on loopback), same image (3 layers of 32 MB incompressible data):
# push from an OCI layout, and pull into an OCI layout. Each run uses a
# fresh repository / directory so nothing is skipped as already present
# (skopeo's blob-info cache is cleared so it cannot mount from earlier runs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ours=$here/../../bin/image-copy
servers=$here/../servers
RUNS=${RUNS:-3}
work=$(mktemp -d)
trap '"$servers/registry.sh" stop "$work/reg"; rm -rf "$work"' EXIT
"$servers/registry.sh" start "$work/reg" none >/dev/null
. "$work/reg/env"
img=$BENCH_DATA/image-copy-layout
if [ ! -s "$img/index.json" ]; then
	rm -rf "$img"
	python3 "$servers/registry-fixtures.py" image "$img" v1 --layers 3 --size $((32 << 20)) >/dev/null
fi
echo "# image: $(du -sh "$img" | cut -f1) in $(ls "$img/blobs/sha256" | wc -l) blobs"
echo 0 >"$work/n"
cat >"$work/push-ours" <<SH
#!/bin/sh
n=\$(cat $work/n); echo \$((n + 1)) >$work/n
exec $ours --src=oci:$img:v1 --dest=docker://$REGISTRY/bench/ours-\$n:v1 --ca-file=$REGISTRY_CA
SH
cat >"$work/push-skopeo" <<SH
#!/bin/sh
n=\$(cat $work/n); echo \$((n + 1)) >$work/n
rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb \$HOME/.local/share/containers/cache/blob-info-cache-v1.boltdb
exec skopeo copy -q --dest-cert-dir $REGISTRY_CERT_DIR oci:$img:v1 docker://$REGISTRY/bench/skopeo-\$n:v1
SH
cat >"$work/pull-ours" <<SH
#!/bin/sh
rm -rf $work/out
exec $ours --src=docker://$REGISTRY/bench/ours-1:v1 --dest=oci:$work/out:v1 --ca-file=$REGISTRY_CA
SH
cat >"$work/pull-skopeo" <<SH
#!/bin/sh
rm -rf $work/out
rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb \$HOME/.local/share/containers/cache/blob-info-cache-v1.boltdb
exec skopeo copy -q --src-cert-dir $REGISTRY_CERT_DIR docker://$REGISTRY/bench/ours-1:v1 oci:$work/out:v1
SH
chmod +x "$work"/push-* "$work"/pull-*
measure push_ours "$work/push-ours"
measure push_skopeo "$work/push-skopeo"
report "image-copy push 96 MB oci -> registry" "$push_ours_time" "$push_skopeo_time" "$push_ours_rss" "$push_skopeo_rss" skopeo
measure pull_ours "$work/pull-ours"
measure pull_skopeo "$work/pull-skopeo"
report "image-copy pull 96 MB registry -> oci" "$pull_ours_time" "$pull_skopeo_time" "$pull_ours_rss" "$pull_skopeo_rss" skopeo
