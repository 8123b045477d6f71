#!/usr/bin/env bash
# containerize vs buildah (bud --isolation chroot, vfs storage: what runs
# without a daemon in a pipeline step), same machine, same run:
#   1. the sample Node.js app (examples/app) on the Debian+nodejs base
#      (tests/servers/containerize-bases.sh node), cold build + push to
#      docker-registry on loopback (TLS + htpasswd); fresh storage each run;
#   2. the same rebuilt with nothing changed (ours: cache-dir; buildah:
#      --layers with its storage kept), + push;
#   3. a 1 GB COPY layer (4000 files of 100 KB and 3 of 200 MB, text that
#      compresses ~25%) written to an OCI layout;
#   4. that layer against the physical limit (deflate-limit.c): the same
#      tar, already in memory, compressed by libdeflate at our level in the
#      same 1 MiB gzip members on every core, with its two sha256 digests,
#      nothing else; our 1 GB build as a multiple of it (goal: 1.5x);
#   5. the start-up cost of one RUN step in its sandbox (user namespace,
#      id-mapped root, /proc, /dev, capabilities, seccomp): an empty
#      `RUN true`, from builds of 1 and 11 such steps on busybox:
#      (t11 - t1) / 10, medians of RUNS builds; buildah the same way.
# Medians of RUNS (default 3) wall times and peak RSS (GNU time).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-3}
. "$here/lib.sh"
BIN=${PIPELINE_STATIC_BIN:-$top/bin}/containerize
command -v buildah >/dev/null || { echo "bench containerize: buildah is not installed"; exit 1; }
NODE_BASE=$("$top/tests/servers/containerize-bases.sh" node) || exit 1
BB_BASE=$("$top/tests/servers/containerize-bases.sh" busybox) || exit 1
work=$(mktemp -d /tmp/containerize-bench.XXXXXX)
chmod 755 "$work"
trap '"$top/tests/servers/registry.sh" stop "$work/reg" >/dev/null 2>&1; rm -rf "$work"' EXIT
"$top/tests/servers/registry.sh" start "$work/reg" htpasswd >/dev/null || exit 1
. "$work/reg/env"
CREDS="$REGISTRY_USER:$REGISTRY_PASS"
APP=$top/examples/app
BASE_ARG="BASE_IMAGE=oci:$NODE_BASE:bookworm"
export BIN APP BASE_ARG CREDS REGISTRY REGISTRY_CA REGISTRY_CERT_DIR work

ours_cold() {
	local n=$$-$RANDOM
	"$BIN" --context="$APP" --image="$REGISTRY/bench/app:ours-$n" --build-args="$BASE_ARG" \
		--ca-file="$REGISTRY_CA" --registry-creds="$CREDS" --work-dir="$work/w-$n"
	local rc=$?
	rm -rf "$work/w-$n"
	return $rc
}
buildah_cold() {
	local n=$$-$RANDOM
	local st=$work/b-$n
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs bud --isolation chroot \
		--build-arg "$BASE_ARG" -t app "$APP" &&
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs push --cert-dir "$REGISTRY_CERT_DIR" \
		--creds "$CREDS" app "docker://$REGISTRY/bench/app:buildah-$n"
	local rc=$?
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs rm -a >/dev/null 2>&1
	rm -rf "$st"
	return $rc
}
export -f ours_cold buildah_cold
measure ours bash -c ours_cold
measure peer bash -c buildah_cold
report "node app cold build + push" "$ours_time" "$peer_time" "$ours_rss" "$peer_rss" buildah

# rebuild, nothing changed
ours_warm() {
	"$BIN" --context="$APP" --image="$REGISTRY/bench/app:warm" --build-args="$BASE_ARG" \
		--ca-file="$REGISTRY_CA" --registry-creds="$CREDS" --cache-dir="$work/cache"
}
buildah_warm() {
	local st=$work/bwarm
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs bud --layers --isolation chroot \
		--build-arg "$BASE_ARG" -t app "$APP" &&
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs push --cert-dir "$REGISTRY_CERT_DIR" \
		--creds "$CREDS" app "docker://$REGISTRY/bench/app:bwarm"
}
export -f ours_warm buildah_warm
ours_warm >/dev/null 2>&1
buildah_warm >/dev/null 2>&1
measure ours bash -c ours_warm
measure peer bash -c buildah_warm
report "node app rebuild, nothing changed (+ push)" "$ours_time" "$peer_time" "$ours_rss" "$peer_rss" buildah
buildah --root "$work/bwarm/root" --runroot "$work/bwarm/run" --storage-driver vfs rm -a >/dev/null 2>&1
rm -rf "$work/bwarm"

# 1 GB COPY layer
big=$BENCH_DATA/containerize-1g
if [ ! -f "$big/.done" ]; then
	rm -rf "$big" && mkdir -p "$big/data"
	python3 - "$big/data" <<'PY'
import base64, os, sys
d = sys.argv[1]
chunk = base64.encodebytes(os.urandom(3 << 20))  # ~4 MB of text, reused with offsets
def text(n, seed):
    out = bytearray()
    i = seed * 7919
    while len(out) < n:
        s = i % (len(chunk) - 65536)
        out += chunk[s:s + min(65536, n - len(out))]
        i += 104729
    return bytes(out)
for k in range(4000):
    sub = os.path.join(d, "files", "%02d" % (k % 40))
    os.makedirs(sub, exist_ok=True)
    open(os.path.join(sub, "f%04d.txt" % k), "wb").write(text(100 * 1024, k))
for k in range(3):
    with open(os.path.join(d, "big%d.bin" % k), "wb") as f:
        for j in range(200 * 16):
            f.write(text(65536, k * 100000 + j))
PY
	printf 'ARG BASE\nFROM $BASE\nCOPY data /data\n' >"$big/Dockerfile"
	touch "$big/.done"
fi
BB_ARG="BASE=oci:$BB_BASE:latest"
export BB_ARG big
ours_big() {
	rm -rf "$work/big-out" "$work/wbig"
	"$BIN" --context="$big" --push=false --oci-layout="$work/big-out" --build-args="$BB_ARG" --work-dir="$work/wbig"
	local rc=$?
	rm -rf "$work/wbig"
	return $rc
}
buildah_big() {
	local st=$work/bbig
	rm -rf "$work/big-bout"
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs bud --isolation chroot \
		--build-arg "$BB_ARG" -t big "$big" &&
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs push big "oci:$work/big-bout:latest"
	local rc=$?
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs rm -a >/dev/null 2>&1
	rm -rf "$st"
	return $rc
}
export -f ours_big buildah_big
measure ours bash -c ours_big
measure peer bash -c buildah_big
report "1 GB COPY layer to an OCI layout" "$ours_time" "$peer_time" "$ours_rss" "$peer_rss" buildah

# the physical limit over the same layer tar
limit_bin=$work/deflate-limit
cc -std=gnu11 -O2 -o "$limit_bin" "$here/deflate-limit.c" -ldeflate -lcrypto -lpthread || exit 1
layer_blob=$(ls -S "$work/big-out/blobs/sha256/"* | head -1)
gzip -dc "$layer_blob" >"$work/layer.tar" || exit 1
limits=()
for ((i = 0; i < RUNS; i++)); do
	limits+=("$("$limit_bin" "$work/layer.tar" 6 | awk '{print $2}')")
done
rm -f "$work/layer.tar"
limit_time=$(median "${limits[@]}")
awk -v o="$ours_time" -v l="$limit_time" -v n="$(nproc)" 'BEGIN {
	printf "bench 1 GB COPY layer vs the physical limit (libdeflate level 6 in 1 MiB members + sha256 of both streams, %d threads, tar in memory): ours %.4f s, limit %.4f s, ratio %.2fx (goal <= 1.5x)\n", n, o, l, (l > 0 ? o / l : 0)
}'

# RUN start-up: (11 steps - 1 step) / 10
for n in 1 11; do
	mkdir -p "$work/run$n"
	{ printf 'ARG BASE\nFROM $BASE\n'; for ((i = 0; i < n; i++)); do echo "RUN true $i"; done; } >"$work/run$n/Dockerfile"
done
ours_runs() {
	rm -rf "$work/runs-out" "$work/wruns"
	"$BIN" --context="$work/run$1" --push=false --oci-layout="$work/runs-out" --build-args="$BB_ARG" --work-dir="$work/wruns"
	local rc=$?
	rm -rf "$work/wruns"
	return $rc
}
buildah_runs() {
	local st=$work/bruns
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs bud --isolation chroot \
		--build-arg "$BB_ARG" -t runs "$work/run$1"
	local rc=$?
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs rm -a >/dev/null 2>&1
	rm -rf "$st"
	return $rc
}
export -f ours_runs buildah_runs
measure o1 bash -c "ours_runs 1"
measure o11 bash -c "ours_runs 11"
measure p1 bash -c "buildah_runs 1"
measure p11 bash -c "buildah_runs 11"
step() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", (b - a) / 10 }'; }
report "empty RUN step (RUN true, (11 steps - 1) / 10)" "$(step "$o1_time" "$o11_time")" "$(step "$p1_time" "$p11_time")" "" "" buildah
