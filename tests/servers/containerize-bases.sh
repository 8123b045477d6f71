#!/usr/bin/env bash
# Base images for containerize's tests, bench and demo, built locally (no
# registry on the internet is reachable) and cached under build/containerize:
#
#   busybox  -> $BASES/busybox    (OCI layout, tag latest): busybox-static
#               with every applet as a relative symlink, /etc/passwd with
#               root, nobody and app (1000), /tmp. Seconds to build.
#   node     -> $BASES/debian-node (OCI layout, tag bookworm): Debian
#               bookworm minbase with Debian's nodejs preinstalled, apt
#               caches removed. Only `download-node` (run by `make setup`,
#               tests/setup-debian.sh) builds it, with debootstrap from
#               deb.debian.org: a few minutes, once; kept afterwards.
#               `node` never downloads: when the base is missing it fails
#               and says how to build it, so a test or a bench never
#               fetches the Debian archive in the middle of its run. Its
#               root file system is kept (CONTAINERIZE_NODE_ROOTFS, default
#               build/containerize/debian-node-rootfs): with it, `node`
#               only makes the layout (tar + gzip: what the cold bench times).
#
# Usage: tests/servers/containerize-bases.sh busybox|node|all
#        tests/servers/containerize-bases.sh download-node
#        tests/servers/containerize-bases.sh push busybox|node DEST [skopeo copy options]
#          (copies the base to a registry, e.g. DEST=docker://127.0.0.1:5000/base/node:bookworm)
# Prints the layout directory of each base built. Images are made with tar
# and sha256sum only (not with containerize), so they can test it.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
BASES=${CONTAINERIZE_BASES:-$here/build/containerize/bases}
mkdir -p "$BASES"

# make_layout ROOTFS LAYOUT TAG: one gzip layer holding ROOTFS, mtimes 0.
make_layout() {
	local rootfs=$1 layout=$2 tag=$3 tmp
	tmp=$(mktemp -d "$BASES/.mk.XXXXXX")
	mkdir -p "$tmp/blobs/sha256"
	tar --sort=name --numeric-owner --mtime=@0 --xattrs \
		-C "$rootfs" -cf "$tmp/layer.tar" . 2>/dev/null || \
	tar --sort=name --numeric-owner --mtime=@0 -C "$rootfs" -cf "$tmp/layer.tar" .
	local diff_id digest size
	diff_id=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
	gzip -n -1 <"$tmp/layer.tar" >"$tmp/layer.tar.gz"
	digest=$(sha256sum "$tmp/layer.tar.gz" | cut -d' ' -f1)
	size=$(stat -c %s "$tmp/layer.tar.gz")
	mv "$tmp/layer.tar.gz" "$tmp/blobs/sha256/$digest"
	rm -f "$tmp/layer.tar"
	python3 - "$tmp" "$diff_id" "$digest" "$size" "$tag" <<'EOF'
import hashlib, json, os, sys
d, diff_id, digest, size, tag = sys.argv[1:]
def put(obj):
    b = json.dumps(obj, separators=(",", ":")).encode()
    h = hashlib.sha256(b).hexdigest()
    open(os.path.join(d, "blobs/sha256", h), "wb").write(b)
    return "sha256:" + h, len(b)
cfg = {"created": "1970-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
       "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"]},
       "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
       "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "containerize-bases.sh"}]}
cd, cs = put(cfg)
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + digest, "size": int(size)}]}
md, ms = put(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
          "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": tag}}]},
          open(os.path.join(d, "index.json"), "w"))
open(os.path.join(d, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF
	chmod -R a+rX "$tmp"
	rm -rf "$layout"
	mv "$tmp" "$layout"
}

busybox_base() {
	local out=$BASES/busybox
	if [ ! -f "$out/index.json" ]; then
		local bb root
		bb=$(command -v busybox || echo /bin/busybox)
		[ -x "$bb" ] || { echo "busybox-static is not installed" >&2; return 1; }
		root=$(mktemp -d "$BASES/.bb.XXXXXX")
		mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/home/app" "$root/usr/bin" "$root/var"
		cp "$bb" "$root/bin/busybox"
		for a in $("$bb" --list); do
			[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
		done
		printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
		printf 'root:x:0:\nstaff:x:50:app\napp:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
		chmod 755 "$root"
		chmod 1777 "$root/tmp"
		chmod 700 "$root/root"
		chown 1000:1000 "$root/home/app"
		make_layout "$root" "$out" latest
		rm -rf "$root"
	fi
	echo "$out"
}

# node_base [download]: the layout; debootstrap only when asked to download
node_base() {
	local out=$BASES/debian-node
	if [ ! -f "$out/index.json" ]; then
		local root=${CONTAINERIZE_NODE_ROOTFS:-$here/build/containerize/debian-node-rootfs}
		if [ ! -x "$root/usr/bin/node" ] && [ "${1:-}" != download ]; then
			echo "containerize-bases.sh: the node base (Debian bookworm + nodejs) is missing in $out;" \
				"build it once with \`make setup\` (or tests/servers/containerize-bases.sh download-node):" \
				"it runs debootstrap against deb.debian.org, which tests and benches never do" >&2
			return 1
		fi
		if [ ! -x "$root/usr/bin/node" ]; then
			rm -rf "$root.tmp"
			debootstrap --variant=minbase --include=nodejs bookworm "$root.tmp" http://deb.debian.org/debian >&2
			mv "$root.tmp" "$root"
		fi
		rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/dev/* 2>/dev/null || true
		make_layout "$root" "$out" bookworm
	fi
	echo "$out"
}

case ${1:-all} in
push)
	which=${2:?busybox|node}
	dest=${3:?destination, e.g. docker://registry:5000/base/node:bookworm}
	shift 3
	case $which in
	busybox) src=$(busybox_base) tag=latest ;;
	node) src=$(node_base) tag=bookworm ;;
	*) echo "usage: $0 push busybox|node DEST" >&2; exit 2 ;;
	esac
	skopeo copy "$@" "oci:$src:$tag" "$dest" >&2
	;;
busybox) busybox_base ;;
node) node_base ;;
download-node) node_base download ;;
all) busybox_base; node_base ;;
*) echo "usage: $0 busybox|node|all|download-node | push busybox|node DEST" >&2; exit 2 ;;
esac
