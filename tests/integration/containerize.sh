#!/usr/bin/env bash
# containerize against real things:
#   - the corpus (tests/integration/containerize/dockerfiles/*): our image's
#     root filesystem and config must equal buildah's (buildah bud
#     --isolation chroot, vfs storage) for each; cases buildah 1.28 cannot
#     build (heredocs) or gets wrong by Docker's documented behaviour carry a
#     `check` script run in our unpacked image ($IMAGE and $COMPARE set, for
#     a --list of modes and owners) and may carry an `expect-config`;
#   - reproducibility: same inputs + SOURCE_DATE_EPOCH -> same digest, in
#     another work dir too; a rebuild with a cache hits every step;
#   - bad input: syntax errors (exit 2, file:line), COPY of a missing or
#     outside-the-context path (exit 2), a failing RUN (exit 1, status and
#     log tail), hostile base layers that never touch anything outside;
#   - RUN as an unprivileged user (user namespace) and in chroot isolation;
#   - push to docker-registry over TLS with htpasswd and with token auth:
#     skopeo inspects and copies it, buildah builds FROM it, wrong
#     credentials exit 4, a registry that dies mid-push exits 5 untagged.
# Prints PASS:/FAIL: lines; exits non-zero if any FAIL.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${PIPELINE_BIN:-$root/build/asan/bin}/containerize
CORPUS=$here/containerize/dockerfiles
COMPARE="python3 $here/containerize/compare.py"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
fails=0
pass() { echo "PASS: containerize $1"; }
fail() { echo "FAIL: containerize $1"; shift; [ $# -gt 0 ] && printf '  %s\n' "$@"; fails=$((fails + 1)); }

tmp=$(mktemp -d /tmp/containerize-it.XXXXXX)
chmod 755 "$tmp"
cleanup() {
	[ -f "$tmp/reg/env" ] && "$root/tests/servers/registry.sh" stop "$tmp/reg" >/dev/null 2>&1
	[ -f "$tmp/tok/env" ] && "$root/tests/servers/registry.sh" stop "$tmp/tok" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

for tool in buildah skopeo python3; do
	command -v $tool >/dev/null || { fail "prerequisites" "$tool is not installed (tests/debian-packages.txt)"; exit 1; }
done
[ -x "$BIN" ] || { fail "prerequisites" "$BIN is not built"; exit 1; }
BASES_DIR=$("$root/tests/servers/containerize-bases.sh" busybox) || { fail "prerequisites" "cannot build the busybox base"; exit 1; }
BASE="oci:$BASES_DIR:latest"

ours() { # ours LAYOUT CONTEXT [extra args...]: build into an OCI layout
	local out=$1 ctx=$2
	shift 2
	"$BIN" --context="$ctx" --push=false --oci-layout="$out" --tag=latest \
		--build-args="BASE=$BASE" --source-date-epoch=0 "$@"
}

buildah_build() { # buildah_build NAME CONTEXT OUT [extra bud args...]
	local name=$1 ctx=$2 out=$3
	shift 3
	local st=$tmp/buildah/$name
	mkdir -p "$st"
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs bud --isolation chroot \
		--build-arg "BASE=$BASE" -t "localhost/$name" "$@" "$ctx" >"$st/log" 2>&1 &&
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs push "localhost/$name" "oci:$out:latest" >>"$st/log" 2>&1
	local rc=$?
	buildah --root "$st/root" --runroot "$st/run" --storage-driver vfs rm -a >/dev/null 2>&1
	rm -rf "$st/root" 2>/dev/null
	return $rc
}

# ---- the corpus ----------------------------------------------------------
corpus_case() { # one case, output in $tmp/cases/NAME.result
	local dir=$1 name
	name=$(basename "$dir")
	local res=$tmp/cases/$name.result ctx=$tmp/ctx/$name
	mkdir -p "$tmp/ctx"
	cp -a "$dir" "$ctx"
	rm -f "$ctx/options" "$ctx/check" "$ctx/expect-config"
	local ours_args=() bud_args=()
	if [ -f "$dir/options" ]; then
		while IFS= read -r opt; do
			case $opt in
			target=*) ours_args+=("--target=${opt#target=}"); bud_args+=(--target "${opt#target=}") ;;
			build-arg=*) ours_args+=("--build-args=${opt#build-arg=}"); bud_args+=(--build-arg "${opt#build-arg=}") ;;
			esac
		done <"$dir/options"
	fi
	if ! ours "$tmp/ours/$name" "$ctx" "${ours_args[@]}" >"$tmp/cases/$name.ours.log" 2>&1; then
		{ echo "FAIL"; echo "our build failed:"; tail -5 "$tmp/cases/$name.ours.log"; } >"$res"
		return
	fi
	if [ -f "$dir/check" ]; then
		mkdir -p "$tmp/x/$name"
		if [ -f "$dir/expect-config" ] && ! $COMPARE --expect-config "$tmp/ours/$name:latest" "$dir/expect-config" >"$tmp/cases/$name.diff" 2>&1; then
			{ echo FAIL; head -20 "$tmp/cases/$name.diff"; } >"$res"
		elif $COMPARE --extract "$tmp/ours/$name:latest" "$tmp/x/$name" >/dev/null 2>&1 &&
			(cd "$tmp/x/$name" && IMAGE="$tmp/ours/$name:latest" sh "$dir/check") >"$tmp/cases/$name.check.log" 2>&1; then
			echo PASS >"$res"
		else
			{ echo FAIL; echo "check failed:"; cat "$dir/check"; } >"$res"
		fi
		return
	fi
	if ! buildah_build "$name" "$ctx" "$tmp/theirs/$name" "${bud_args[@]}"; then
		{ echo FAIL; echo "buildah failed:"; tail -5 "$tmp/buildah/$name/log"; } >"$res"
		return
	fi
	if [ -f "$dir/expect-config" ] && ! $COMPARE --expect-config "$tmp/ours/$name:latest" "$dir/expect-config" >"$tmp/cases/$name.diff" 2>&1; then
		{ echo FAIL; head -20 "$tmp/cases/$name.diff"; } >"$res"
	elif $COMPARE "$tmp/ours/$name:latest" "$tmp/theirs/$name:latest" >"$tmp/cases/$name.diff" 2>&1; then
		echo PASS >"$res"
	else
		{ echo FAIL; head -20 "$tmp/cases/$name.diff"; } >"$res"
	fi
}

mkdir -p "$tmp/cases" "$tmp/ours" "$tmp/theirs"
export -f corpus_case ours buildah_build
export tmp BIN BASE COMPARE
# CONTAINERIZE_CASES (a glob) narrows the corpus while working on a case
ls -d "$CORPUS"/${CONTAINERIZE_CASES:-*}/ | sed 's|/$||' | xargs -P 2 -I{} bash -c 'corpus_case "$1"' _ {}
ncases=0
for dir in "$CORPUS"/${CONTAINERIZE_CASES:-*}/; do
	name=$(basename "$dir")
	ncases=$((ncases + 1))
	if [ "$(head -1 "$tmp/cases/$name.result" 2>/dev/null)" = PASS ]; then
		pass "corpus $name"
	else
		mapfile -t why < <(tail -n +2 "$tmp/cases/$name.result" 2>/dev/null)
		fail "corpus $name" "${why[@]}"
	fi
done
[ -n "${CONTAINERIZE_CASES:-}" ] && { echo "containerize: $fails failed (corpus subset only)"; [ $fails -eq 0 ]; exit; }
[ "$ncases" -ge 40 ] && pass "corpus has $ncases cases (>= 40)" || fail "corpus has only $ncases cases"

# ---- reproducibility and cache ---------------------------------------------
ctx=$CORPUS/10-copy-from-stage
d1=$(ours "$tmp/r1" "$ctx" --work-dir="$tmp/w1" 2>/dev/null)
d2=$(ours "$tmp/r2" "$ctx" --work-dir="$tmp/w2" 2>/dev/null)
[ -n "$d1" ] && [ "$d1" = "$d2" ] && pass "reproducible digest ($d1)" || fail "reproducible digest" "first $d1" "second $d2"
# the digest does not depend on the thread count (the default is one per
# CPU): a layer of several 1 MiB compression blocks, and a RUN layer
mkdir -p "$tmp/thr"
python3 -c 'import random, sys; r = random.Random(7); sys.stdout.buffer.write(bytes(r.choice(b"abcdefgh \n") for _ in range(3500000)))' >"$tmp/thr/data"
printf 'ARG BASE\nFROM $BASE\nCOPY data /data\nRUN head -c 1500000 /data > /part\n' >"$tmp/thr/Dockerfile"
tdigests=""
for t in 1 2 3 8; do
	tdigests="$tdigests $(ours "$tmp/thr-$t" "$tmp/thr" --threads=$t 2>"$tmp/thr-$t.log")"
done
set -- $tdigests
if [ $# -eq 4 ] && [ "$1" = "$2" ] && [ "$1" = "$3" ] && [ "$1" = "$4" ]; then
	pass "same digest with --threads=1, 2, 3 and 8 ($1)"
else
	fail "digest independent of --threads" "1/2/3/8:$tdigests" "$(tail -2 "$tmp/thr-1.log")"
fi
set --
ours "$tmp/c1" "$CORPUS/05-copy-dir" --cache-dir="$tmp/cache" >/dev/null 2>"$tmp/c1.log"
c1=$(grep -o 'sha256:[0-9a-f]*' "$tmp/c1/index.json" | head -1)
ours "$tmp/c2" "$CORPUS/05-copy-dir" --cache-dir="$tmp/cache" >/dev/null 2>"$tmp/c2.log"
c2=$(grep -o 'sha256:[0-9a-f]*' "$tmp/c2/index.json" | head -1)
if grep -q 'cache: 2 hits, 0 misses' "$tmp/c2.log" && [ "$c1" = "$c2" ]; then
	pass "rebuild with cache-dir hits every step, same digest"
else
	fail "rebuild with cache-dir" "$(grep 'cache:' "$tmp/c2.log")" "$c1 vs $c2"
fi
cp -a "$CORPUS/05-copy-dir" "$tmp/cctx"
echo changed >"$tmp/cctx/src/sub/y.js"
ours "$tmp/c3" "$tmp/cctx" --cache-dir="$tmp/cache" >/dev/null 2>"$tmp/c3.log"
if grep -q 'cache: 0 hits, 2 misses' "$tmp/c3.log"; then
	pass "a changed source misses the cache"
else
	fail "a changed source misses the cache" "$(grep 'cache:' "$tmp/c3.log")"
fi

# a cache entry names the layer an instruction made: a cache-dir others
# can write, or an entry owned by another uid, is not used (common/statedir),
# with a warning that says why
cp -a "$tmp/cache" "$tmp/wcache" && chmod 0777 "$tmp/wcache"
cp -a "$tmp/cache" "$tmp/fcache" && chown 65534 "$tmp"/fcache/keys/*
ours "$tmp/c4" "$CORPUS/05-copy-dir" --cache-dir="$tmp/wcache" >/dev/null 2>"$tmp/c4.log"
ours "$tmp/c5" "$CORPUS/05-copy-dir" --cache-dir="$tmp/fcache" >/dev/null 2>"$tmp/c5.log"
if grep -q 'cache: 0 hits' "$tmp/c4.log" &&
	grep -q "cache-dir $tmp/wcache is ignored: it is writable by others (mode 0777)" "$tmp/c4.log" &&
	grep -q 'cache: 0 hits, 2 misses' "$tmp/c5.log" && grep -q "is ignored: it is owned by uid 65534" "$tmp/c5.log"; then
	pass "a shared cache-dir or a foreign cache entry is not used"
else
	fail "a shared cache-dir or a foreign cache entry is not used" "$(grep -h 'cache' "$tmp/c4.log" "$tmp/c5.log")"
fi

# the build context is never modified, even where COPY may hard-link it
mkdir -p "$tmp/lk" && printf 'original\n' >"$tmp/lk/a.txt" && printf 'original\n' >"$tmp/lk/b.txt"
printf 'ARG BASE\nFROM $BASE AS one\nCOPY a.txt /a.txt\nRUN echo more >> /a.txt && chmod 600 /a.txt\nFROM $BASE\nCOPY b.txt /b.txt\nCOPY --from=one /a.txt /a2.txt\n' >"$tmp/lk/Dockerfile"
before=$(stat -c '%a %s %Y' "$tmp/lk/a.txt" "$tmp/lk/b.txt")
if ours "$tmp/lk-out" "$tmp/lk" >/dev/null 2>"$tmp/lk.log" && [ "$(stat -c '%a %s %Y' "$tmp/lk/a.txt" "$tmp/lk/b.txt")" = "$before" ] &&
	$COMPARE --extract "$tmp/lk-out:latest" "$tmp/lk-x" && [ "$(cat "$tmp/lk-x/a2.txt")" = "$(printf 'original\nmore')" ]; then
	pass "the build context is left untouched (COPY then RUN on the copy)"
else
	fail "the build context is left untouched" "$(tail -2 "$tmp/lk.log")" "$before / $(stat -c '%a %s %Y' "$tmp/lk/a.txt" "$tmp/lk/b.txt")"
fi

# ONBUILD triggers of a base run in the child; COPY --from=<image>
mkdir -p "$tmp/obp" "$tmp/obc" && echo A >"$tmp/obc/a.txt"
printf 'ARG BASE\nFROM $BASE\nONBUILD RUN echo triggered > /t\nONBUILD COPY a.txt /a\n' >"$tmp/obp/Dockerfile"
printf 'FROM oci:%s:latest\nCOPY --from=%s /bin/busybox /bb\n' "$tmp/obP" "$BASE" >"$tmp/obc/Dockerfile"
if ours "$tmp/obP" "$tmp/obp" >/dev/null 2>"$tmp/ob.log" &&
	"$BIN" --context="$tmp/obc" --push=false --oci-layout="$tmp/obC" --tag=latest >/dev/null 2>>"$tmp/ob.log" &&
	[ "$($COMPARE --list "$tmp/obC:latest" | grep -cE '^(t|a|bb) file')" = 3 ] &&
	$COMPARE --config "$tmp/obC:latest" | grep -q '"OnBuild": null'; then
	pass "ONBUILD triggers run in the child image; COPY --from=<image>"
else
	fail "ONBUILD triggers / COPY --from=<image>" "$(tail -3 "$tmp/ob.log")"
fi

# FROM --platform picks from a multi-platform index (and --platform param)
python3 - "$BASES_DIR" "$tmp/multi" <<'PYEOF'
import hashlib, json, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
idx = json.load(open(dst + "/index.json"))
blob = lambda d: dst + "/blobs/sha256/" + d.split(":")[1]
def put(o):
    b = json.dumps(o).encode(); h = hashlib.sha256(b).hexdigest()
    open(dst + "/blobs/sha256/" + h, "wb").write(b); return {"digest": "sha256:" + h, "size": len(b)}
man = json.load(open(blob(idx["manifests"][0]["digest"])))
cfg = json.load(open(blob(man["config"]["digest"])))
entries = []
for arch, variant in (("amd64", None), ("arm64", "v8")):
    c = dict(cfg, architecture=arch, config=dict(cfg["config"], Env=cfg["config"]["Env"] + ["ARCH=" + arch]))
    if variant: c["variant"] = variant
    m = dict(man, config=dict(man["config"], **put(c)))
    plat = {"os": "linux", "architecture": arch}
    if variant: plat["variant"] = variant
    entries.append(dict(put(m), mediaType="application/vnd.oci.image.manifest.v1+json", platform=plat))
ix = put({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})
json.dump({"schemaVersion": 2, "manifests": [dict(ix, mediaType="application/vnd.oci.image.index.v1+json",
    annotations={"org.opencontainers.image.ref.name": "latest"})]}, open(dst + "/index.json", "w"))
PYEOF
mkdir -p "$tmp/plat" && printf 'FROM --platform=linux/arm64 oci:%s:latest\nLABEL x=y\n' "$tmp/multi" >"$tmp/plat/Dockerfile"
mkdir -p "$tmp/plat2" && printf 'FROM oci:%s:latest\nLABEL x=y\n' "$tmp/multi" >"$tmp/plat2/Dockerfile"
if "$BIN" --context="$tmp/plat" --push=false --oci-layout="$tmp/platout" --tag=latest >/dev/null 2>"$tmp/plat.log" &&
	$COMPARE --config "$tmp/platout:latest" | grep -q 'ARCH=arm64' &&
	"$BIN" --context="$tmp/plat2" --push=false --oci-layout="$tmp/platout2" --tag=latest >/dev/null 2>>"$tmp/plat.log" &&
	$COMPARE --config "$tmp/platout2:latest" | grep -q 'ARCH=amd64' &&
	"$BIN" --context="$tmp/plat2" --platform=linux/arm64 --push=false --oci-layout="$tmp/platout3" --tag=latest >/dev/null 2>>"$tmp/plat.log" &&
	$COMPARE --config "$tmp/platout3:latest" | grep -q 'ARCH=arm64'; then
	pass "FROM --platform and the platform param pick from a multi-platform index"
else
	fail "FROM --platform" "$(tail -3 "$tmp/plat.log")"
fi

# ---- bad input -------------------------------------------------------------
expect_exit() { # name want_rc pattern args...
	local name=$1 want=$2 pat=$3
	shift 3
	"$BIN" --push=false --oci-layout="$tmp/bad" --build-args="BASE=$BASE" "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"
	local rc=$?
	if [ $rc -eq "$want" ] && grep -qE "$pat" "$tmp/bad.err"; then
		pass "$name"
	else
		fail "$name" "exit $rc (want $want), stderr:" "$(tail -3 "$tmp/bad.err")"
	fi
}
mkdir -p "$tmp/b1" && printf 'ARG BASE\nFROM $BASE\nRUN true\nCOPY onlyone\n' >"$tmp/b1/Dockerfile"
expect_exit "syntax error names file:line" 2 'Dockerfile:4' --context="$tmp/b1"
mkdir -p "$tmp/b2" && printf 'ARG BASE\nFROM $BASE\nFROBNICATE x\n' >"$tmp/b2/Dockerfile"
expect_exit "unknown instruction names file:line" 2 'Dockerfile:3' --context="$tmp/b2"
mkdir -p "$tmp/b3" && printf 'ARG BASE\nFROM $BASE\nCOPY missing.txt /x\n' >"$tmp/b3/Dockerfile"
expect_exit "COPY of a missing file" 2 'missing.txt.*not found' --context="$tmp/b3"
mkdir -p "$tmp/b4/ctx" && echo secret >"$tmp/b4/outside.txt" && printf 'ARG BASE\nFROM $BASE\nCOPY ../outside.txt /x\n' >"$tmp/b4/ctx/Dockerfile"
expect_exit "COPY from outside the context" 2 'outside the build context' --context="$tmp/b4/ctx"
mkdir -p "$tmp/b5" && printf 'ARG BASE\nFROM $BASE\nRUN echo line-one; echo last-words >&2; exit 7\n' >"$tmp/b5/Dockerfile"
expect_exit "failing RUN: exit 1 with status and log tail" 1 'status 7' --context="$tmp/b5"
grep -q 'last-words' "$tmp/bad.err" && pass "failing RUN shows the log tail" || fail "failing RUN shows the log tail"
mkdir -p "$tmp/b6" && printf 'ARG BASE\nFROM $BASE AS a\nFROM $BASE\n' >"$tmp/b6/Dockerfile"
expect_exit "unknown target" 2 'target nope' --context="$tmp/b6" --target=nope
# rejected as BuildKit rejects them; file:line and the instruction said once
mkdir -p "$tmp/b7" && printf 'ARG BASE\nFROM $BASE\nEXPOSE 80/xyz\n' >"$tmp/b7/Dockerfile"
expect_exit "EXPOSE with an unknown protocol" 2 'Dockerfile:3: EXPOSE 80/xyz: 80/xyz: invalid protocol xyz' --context="$tmp/b7"
mkdir -p "$tmp/b8" && printf 'ARG BASE\nFROM $BASE\nSTOPSIGNAL SIGFOO\n' >"$tmp/b8/Dockerfile"
expect_exit "STOPSIGNAL that is not a signal" 2 'Dockerfile:3: STOPSIGNAL SIGFOO: SIGFOO is not a signal' --context="$tmp/b8"
printf 'ARG BASE\nFROM $BASE\nSTOPSIGNAL 0\n' >"$tmp/b8/Dockerfile"
expect_exit "STOPSIGNAL 0" 2 'STOPSIGNAL 0: 0 is not a signal' --context="$tmp/b8"
mkdir -p "$tmp/b9" && printf 'ARG BASE\nFROM $BASE\nHEALTHCHECK --interval=abc CMD true\n' >"$tmp/b9/Dockerfile"
expect_exit "a bad HEALTHCHECK duration" 2 'bad duration abc' --context="$tmp/b9"
n=$(grep -o 'Dockerfile:3: HEALTHCHECK' "$tmp/bad.err" | wc -l)
[ "$n" = 1 ] && pass "an error names file:line and the instruction once" || fail "an error names file:line once" "$(cat "$tmp/bad.err")"
# a failing RUN of a megabyte is not echoed in full
mkdir -p "$tmp/b10" && { printf 'ARG BASE\nFROM $BASE\nRUN false '; head -c 1000000 /dev/zero | tr '\0' x; printf '\n'; } >"$tmp/b10/Dockerfile"
expect_exit "a failing 1 MB RUN line" 1 'Dockerfile:3: RUN false x{100}x*\.\.\. \(1000010 bytes\): ' --context="$tmp/b10"
sz=$(wc -c <"$tmp/bad.err")
[ "$sz" -lt 20000 ] && pass "a failing 1 MB RUN line is cut in the log ($sz bytes of stderr)" || fail "a failing 1 MB RUN line is cut" "$sz bytes of stderr"

# hostile base layers: entries that try to leave the root
python3 - "$tmp/hostile" "$tmp/outside-sentinel" <<'EOF'
import hashlib, io, json, os, sys, tarfile
layout, sentinel = sys.argv[1], sys.argv[2]
os.makedirs(layout + "/blobs/sha256", exist_ok=True)
open(sentinel, "w").write("untouched\n")
def put(b):
    h = hashlib.sha256(b).hexdigest()
    open(layout + "/blobs/sha256/" + h, "wb").write(b)
    return "sha256:" + h, len(b)
def layer(entries):
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    for name, kind, data, link in entries:
        ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = link or ""; ti.mode = 0o644
        if kind == tarfile.DIRTYPE: ti.mode = 0o755
        if kind == tarfile.CHRTYPE: ti.devmajor, ti.devminor = 1, 3
        if data is not None:
            ti.size = len(data); t.addfile(ti, io.BytesIO(data))
        else:
            t.addfile(ti)
    t.close()
    return buf.getvalue()
bb = layout + "/../"  # unused
L1 = layer([("escape-abs", tarfile.SYMTYPE, None, os.path.dirname(sentinel)),
            ("escape-rel", tarfile.SYMTYPE, None, "../../../../../../../../" + os.path.dirname(sentinel).lstrip("/")),
            ("chain1", tarfile.SYMTYPE, None, "chain2"),
            ("chain2", tarfile.SYMTYPE, None, "escape-abs")])
L2 = layer([("../" * 8 + sentinel.lstrip("/"), tarfile.REGTYPE, b"dotdot\n", None),
            ("escape-abs/" + os.path.basename(sentinel), tarfile.REGTYPE, b"via-abs\n", None),
            ("escape-rel/" + os.path.basename(sentinel), tarfile.REGTYPE, b"via-rel\n", None),
            ("chain1/" + os.path.basename(sentinel), tarfile.REGTYPE, b"via-chain\n", None),
            ("hardlink-out", tarfile.LNKTYPE, None, sentinel),
            ("dev-null-copy", tarfile.CHRTYPE, None, None)])
layers, ids = [], []
for l in (L1, L2):
    d, s = put(l); layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": s})
    ids.append("sha256:" + hashlib.sha256(l).hexdigest())
cd, cs = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ids}}).encode())
md, ms = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
    "layers": layers}).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
    "size": ms, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, open(layout + "/index.json", "w"))
open(layout + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF
mkdir -p "$tmp/h" && cp "$BASES_DIR/../busybox/blobs/sha256/"* "$tmp/hostile/blobs/sha256/" 2>/dev/null
printf 'FROM oci:%s:latest\nCOPY Dockerfile /d\n' "$tmp/hostile" >"$tmp/h/Dockerfile"
"$BIN" --push=false --oci-layout="$tmp/hout" --context="$tmp/h" --work-dir="$tmp/hw" >"$tmp/h.out" 2>"$tmp/h.err"
hrc=$?
if [ "$(cat "$tmp/outside-sentinel")" = untouched ] && [ ! -e "$tmp/hw/../$(basename "$tmp/outside-sentinel")x" ]; then
	pass "hostile base layers leave the outside untouched (exit $hrc)"
else
	fail "hostile base layers" "sentinel now: $(cat "$tmp/outside-sentinel")"
fi
[ $hrc -ne 0 ] && grep -qiE 'outside|\.\.|escape|refus' "$tmp/h.err" && pass "hostile base layer is refused with a message" ||
	fail "hostile base layer is refused" "exit $hrc: $(tail -2 "$tmp/h.err")"

# a base image's device node is inert in RUN (the root is mounted nodev)
python3 - "$BASES_DIR" "$tmp/devbase" <<'PYEOF'
import hashlib, io, json, os, shutil, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
idx = json.load(open(dst + "/index.json"))
blob = lambda d: dst + "/blobs/sha256/" + d.split(":")[1]
man = json.load(open(blob(idx["manifests"][0]["digest"])))
cfg = json.load(open(blob(man["config"]["digest"])))
buf = io.BytesIO()
t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
ti = tarfile.TarInfo("hostnull"); ti.type = tarfile.CHRTYPE; ti.devmajor, ti.devminor = 1, 3; ti.mode = 0o666
t.addfile(ti); t.close()
def put(b):
    h = hashlib.sha256(b).hexdigest(); open(dst + "/blobs/sha256/" + h, "wb").write(b); return "sha256:" + h, len(b)
d, n = put(buf.getvalue())
man["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": n})
cfg["rootfs"]["diff_ids"].append(d)
cd, cn = put(json.dumps(cfg).encode()); man["config"]["digest"], man["config"]["size"] = cd, cn
md, mn = put(json.dumps(man).encode())
idx["manifests"][0]["digest"], idx["manifests"][0]["size"] = md, mn
json.dump(idx, open(dst + "/index.json", "w"))
PYEOF
mkdir -p "$tmp/devctx" && printf 'FROM oci:%s:latest\nRUN if echo x > /hostnull 2>/dev/null; then echo open > /result; else echo blocked > /result; fi\n' "$tmp/devbase" >"$tmp/devctx/Dockerfile"
if "$BIN" --context="$tmp/devctx" --push=false --oci-layout="$tmp/devout" --tag=latest >/dev/null 2>"$tmp/dev.log" &&
	$COMPARE --extract "$tmp/devout:latest" "$tmp/devx" && [ "$(cat "$tmp/devx/result")" = blocked ]; then
	pass "a base image's device node cannot be opened in RUN"
else
	fail "a base image's device node cannot be opened in RUN" "$(cat "$tmp/devx/result" 2>/dev/null) $(tail -2 "$tmp/dev.log")"
fi

# ---- isolation modes ---------------------------------------------------------
mkdir -p "$tmp/iso" && printf 'ARG BASE\nFROM $BASE\nRUN id -u > /uid && ls /proc/1 >/dev/null && echo ok > /proc-ok && test -c /dev/null && echo devok > /dev-ok\n' >"$tmp/iso/Dockerfile"
if ours "$tmp/iso-ns" "$tmp/iso" >/dev/null 2>"$tmp/iso-ns.log" && $COMPARE --list "$tmp/iso-ns:latest" | grep -q '^proc-ok file'; then
	pass "RUN in namespaces has /proc and /dev"
else
	fail "RUN in namespaces" "$(tail -3 "$tmp/iso-ns.log")"
fi
if $COMPARE --list "$tmp/iso-ns:latest" | grep -qE '^(dev|proc|etc/resolv.conf|etc/hosts) '; then
	fail "RUN mount points stay out of the layer" "$($COMPARE --list "$tmp/iso-ns:latest" | grep -E '^(dev|proc|etc/)')"
else
	pass "RUN mount points stay out of the layer"
fi
mkdir -p "$tmp/net" && printf 'ARG BASE\nFROM $BASE\nRUN --network=none awk "NR>2{print \\$1}" /proc/net/dev > /n-none\nRUN awk "NR>2{print \\$1}" /proc/net/dev > /n-default\n' >"$tmp/net/Dockerfile"
if ours "$tmp/net-out" "$tmp/net" >/dev/null 2>"$tmp/net.log" && $COMPARE --extract "$tmp/net-out:latest" "$tmp/net-x" &&
	[ "$(tr -d '\n' <"$tmp/net-x/n-none")" = "lo:" ] && [ "$(tr -d '\n' <"$tmp/net-x/n-default")" = "lo:tap0:" ]; then
	pass "RUN --network=none has only loopback; default RUN has slirp4netns's tap0 and lo"
else
	fail "RUN --network=none" "$(cat "$tmp/net-x/n-none" "$tmp/net-x/n-default" 2>/dev/null | tr '\n' ' ') $(tail -2 "$tmp/net.log")"
fi
mkdir -p "$tmp/iso2" && printf 'ARG BASE\nFROM $BASE\nRUN id -u > /uid && echo chrooted > /c\n' >"$tmp/iso2/Dockerfile"
if ours "$tmp/iso-ch" "$tmp/iso2" --isolation=chroot >/dev/null 2>"$tmp/iso-ch.log" && $COMPARE --list "$tmp/iso-ch:latest" | grep -q '^c file'; then
	pass "RUN in chroot isolation"
else
	fail "RUN in chroot isolation" "$(tail -3 "$tmp/iso-ch.log")"
fi
# unprivileged: the whole build as nobody (user namespace, root mapped to us)
mkdir -p "$tmp/unpriv" && chown 65534:65534 "$tmp/unpriv" && cp "$tmp/iso/Dockerfile" "$tmp/unpriv/Dockerfile"
# (/dev/net/tun 0666 as Debian has it, for RUN's slirp4netns: with-tun.sh)
if command -v setpriv >/dev/null && "$here/containerize/with-tun.sh" 0666 \
	setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR="$tmp/unpriv" \
	"$BIN" --context="$tmp/unpriv" --push=false --oci-layout="$tmp/unpriv/out" --tag=latest \
	--build-args="BASE=$BASE" --source-date-epoch=0 >/dev/null 2>"$tmp/unpriv.log" &&
	$COMPARE --list "$tmp/unpriv/out:latest" | grep -q '^proc-ok file'; then
	pass "unprivileged build (uid 65534) runs RUN in a user namespace"
else
	fail "unprivileged build (uid 65534)" "$(tail -3 "$tmp/unpriv.log")"
fi

# rootless with only root mapped (no /etc/subuid range for nobody): an
# owner other than root is an error naming the instruction, never 0:0
unpriv_expect() { # name dockerfile-text pattern
	local d=$tmp/unpriv-$1
	mkdir -p "$d" && chown 65534:65534 "$d" && echo x >"$d/a" && printf "$2" >"$d/Dockerfile"
	setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR="$d" "$BIN" --context="$d" --push=false \
		--oci-layout="$d/out" --tag=latest --build-args="BASE=$BASE" >/dev/null 2>"$d.log"
	local rc=$?
	if [ $rc -eq 1 ] && grep -qE "$3" "$d.log"; then
		pass "rootless without an id range: $1 is refused with the reason"
	else
		fail "rootless without an id range: $1" "exit $rc: $(tail -2 "$d.log")"
	fi
}
unpriv_expect "COPY --chown=app:app" 'ARG BASE\nFROM $BASE\nCOPY --chown=app:app a /x\n' \
	'Dockerfile:3: COPY --chown=app:app a /x: --chown=app:app needs uid 1000 / gid 1000, but this rootless build maps only root: add a subordinate id range'
unpriv_expect "USER app + RUN" 'ARG BASE\nFROM $BASE\nUSER app\nRUN id\n' \
	'Dockerfile:4: RUN id: USER app needs uid 1000 / gid 1000, but this rootless build maps only root'

# ---- ADD <url> from a loopback web server -------------------------------------
mkdir -p "$tmp/www" "$tmp/addurl"
printf 'downloaded content\n' >"$tmp/www/file.txt"
wport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
(cd "$tmp/www" && exec python3 -m http.server --bind 127.0.0.1 "$wport" >/dev/null 2>&1) &
wpid=$!
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$wport) 2>/dev/null && break; sleep 0.1; done
sum=sha256:$(sha256sum "$tmp/www/file.txt" | cut -d' ' -f1)
printf 'ARG BASE\nFROM $BASE\nARG URL\nADD $URL /dl/\nADD $URL /renamed.txt\n' >"$tmp/addurl/Dockerfile"
if ours "$tmp/addurl-ours" "$tmp/addurl" --build-args="URL=http://127.0.0.1:$wport/file.txt" >/dev/null 2>"$tmp/addurl.log" &&
	buildah_build addurl "$tmp/addurl" "$tmp/addurl-theirs" --build-arg "URL=http://127.0.0.1:$wport/file.txt" &&
	$COMPARE "$tmp/addurl-ours:latest" "$tmp/addurl-theirs:latest" >"$tmp/addurl.diff"; then
	pass "ADD <url> gives what buildah gives"
else
	fail "ADD <url>" "$(tail -3 "$tmp/addurl.log")" "$(head -5 "$tmp/addurl.diff" 2>/dev/null)"
fi
printf 'ARG BASE\nFROM $BASE\nARG URL\nARG SUM\nADD --checksum=$SUM $URL /dl/\n' >"$tmp/addurl/Dockerfile"
ours "$tmp/addurl-sum" "$tmp/addurl" --build-args="URL=http://127.0.0.1:$wport/file.txt" --build-args="SUM=$sum" >/dev/null 2>"$tmp/addsum.log" &&
	pass "ADD --checksum accepts the right digest" || fail "ADD --checksum" "$(tail -2 "$tmp/addsum.log")"
ours "$tmp/addurl-bad" "$tmp/addurl" --build-args="URL=http://127.0.0.1:$wport/file.txt" \
	--build-args="SUM=sha256:$(printf '%064d' 0)" >/dev/null 2>"$tmp/addbad.log"
rc=$?
[ $rc -eq 1 ] && grep -q 'checksum' "$tmp/addbad.log" && pass "ADD --checksum refuses a wrong digest (exit 1)" ||
	fail "ADD --checksum refuses a wrong digest" "exit $rc: $(tail -2 "$tmp/addbad.log")"
kill $wpid 2>/dev/null; wait $wpid 2>/dev/null

# ---- registry: TLS + htpasswd, token auth ----------------------------------
push_tests() { # mode
	local mode=$1 rd=$tmp/$2
	if ! "$root/tests/servers/registry.sh" start "$rd" "$mode" >"$rd.log" 2>&1; then
		fail "registry ($mode) starts" "$(tail -3 "$rd.log")"
		return
	fi
	# shellcheck disable=SC1091
	. "$rd/env"
	local img=$REGISTRY/team/app
	"$BIN" --context="$CORPUS/10-copy-from-stage" --image="$img" --build-number=42 --git-branch=feature/x \
		--git-commit=0123456789abcdef --timestamp=20260101120000 --additional-tags=stable \
		--build-args="BASE=$BASE" --source-date-epoch=0 --ca-file="$REGISTRY_CA" \
		--registry-creds="$REGISTRY_USER:$REGISTRY_PASS" --results-dir="$rd/results" >"$rd/push.out" 2>"$rd/push.err"
	local rc=$?
	local digest
	digest=$(cat "$rd/results/image-digest" 2>/dev/null)
	if [ $rc -eq 0 ] && [ "$(cat "$rd/results/image-tags")" = "42-feature-x-01234567-20260101120000,stable" ] &&
		[ "$(cat "$rd/results/image-ref")" = "$img@$digest" ] &&
		[ "$(cat "$rd/results/IMAGE_URL")" = "$img:42-feature-x-01234567-20260101120000" ]; then
		pass "push ($mode): results name the image by digest, IMAGE_URL by tag (Chains), the seed's tag scheme"
	else
		fail "push ($mode)" "exit $rc: $(tail -3 "$rd/push.err")" "tags: $(cat "$rd/results/image-tags" 2>/dev/null)"
	fi
	local sk=(--cert-dir "$REGISTRY_CERT_DIR" --creds "$REGISTRY_USER:$REGISTRY_PASS")
	local sd
	sd=$(skopeo inspect "${sk[@]}" --format '{{.Digest}}' "docker://$img:stable" 2>"$rd/sk.err")
	[ -n "$digest" ] && [ "$sd" = "$digest" ] && pass "skopeo inspects what we pushed ($mode)" ||
		fail "skopeo inspect ($mode)" "$sd vs $digest: $(tail -2 "$rd/sk.err")"
	if skopeo copy --src-cert-dir "$REGISTRY_CERT_DIR" --src-creds "$REGISTRY_USER:$REGISTRY_PASS" \
		"docker://$img@$digest" "oci:$rd/copied:latest" >/dev/null 2>"$rd/cp.err" &&
		$COMPARE "$rd/copied:latest" "$tmp/ours/10-copy-from-stage:latest" >/dev/null; then
		pass "skopeo copies what we pushed ($mode)"
	else
		fail "skopeo copy ($mode)" "$(tail -2 "$rd/cp.err")"
	fi
	if [ "$mode" = htpasswd ]; then
		local bst=$tmp/buildah/from-registry
		mkdir -p "$tmp/fromreg"
		printf 'FROM %s:stable\nRUN test -x /usr/local/bin/tool && echo used > /used\n' "$img" >"$tmp/fromreg/Dockerfile"
		if buildah --root "$bst/root" --runroot "$bst/run" --storage-driver vfs bud --isolation chroot \
			--cert-dir "$REGISTRY_CERT_DIR" --creds "$REGISTRY_USER:$REGISTRY_PASS" -t fromreg "$tmp/fromreg" >"$rd/bud.log" 2>&1; then
			pass "buildah builds FROM our pushed image"
		else
			fail "buildah builds FROM our pushed image" "$(tail -3 "$rd/bud.log")"
		fi
		buildah --root "$bst/root" --runroot "$bst/run" --storage-driver vfs rm -a >/dev/null 2>&1
		# FROM an image in the registry (pulled with the same credentials)
		mkdir -p "$tmp/fromreg2"
		printf 'FROM %s:stable\nRUN /usr/local/bin/tool >/dev/null 2>&1; test -f /opt/bin/tool && echo ours > /used\n' "$img" >"$tmp/fromreg2/Dockerfile"
		if "$BIN" --context="$tmp/fromreg2" --push=false --oci-layout="$tmp/fromreg2-out" --tag=latest --ca-file="$REGISTRY_CA" \
			--registry-creds="$REGISTRY_USER:$REGISTRY_PASS" >/dev/null 2>"$rd/fromreg2.err" &&
			$COMPARE --list "$tmp/fromreg2-out:latest" | grep -q '^used file'; then
			pass "we build FROM an image in the registry"
		else
			fail "we build FROM an image in the registry" "$(tail -3 "$rd/fromreg2.err")"
		fi
		# a registry repository as the layer cache, shared by two fresh builds
		local cargs=(--context="$CORPUS/05-copy-dir" --build-args="BASE=$BASE" --ca-file="$REGISTRY_CA"
			--registry-creds="$REGISTRY_USER:$REGISTRY_PASS" --cache-repo="$REGISTRY/team/cache" --source-date-epoch=0)
		"$BIN" "${cargs[@]}" --image="$img:c1" >/dev/null 2>"$rd/cr1.err"
		"$BIN" "${cargs[@]}" --image="$img:c2" >/dev/null 2>"$rd/cr2.err"
		if grep -q 'cache: 0 hits, 2 misses' "$rd/cr1.err" && grep -q 'cache: 2 hits, 0 misses' "$rd/cr2.err"; then
			pass "cache-repo: a fresh build hits what another pushed"
		else
			fail "cache-repo" "$(grep -h 'cache:\|warn\|error' "$rd/cr1.err" "$rd/cr2.err" | head -4)"
		fi
		# wrong credentials -> exit 4
		"$BIN" --context="$CORPUS/01-run-shell" --image="$img:wrong" --build-args="BASE=$BASE" --ca-file="$REGISTRY_CA" \
			--registry-creds="$REGISTRY_USER:not-the-password" >/dev/null 2>"$rd/auth.err"
		rc=$?
		[ $rc -eq 4 ] && grep -q "the registry rejected the credentials for user $REGISTRY_USER" "$rd/auth.err" &&
			! grep -q 'not-the-password' "$rd/auth.err" && pass "wrong credentials exit 4" ||
			fail "wrong credentials exit 4" "exit $rc: $(tail -2 "$rd/auth.err")"
		# the registry dies mid-push -> retries, exit 5, no tag
		head -c 30000000 /dev/urandom >"$tmp/bigctx.bin" 2>/dev/null
		mkdir -p "$tmp/big" && mv "$tmp/bigctx.bin" "$tmp/big/big.bin"
		printf 'ARG BASE\nFROM $BASE\nCOPY big.bin /big.bin\n' >"$tmp/big/Dockerfile"
		( "$BIN" --context="$tmp/big" --image="$img:mid" --build-args="BASE=$BASE" --ca-file="$REGISTRY_CA" \
			--registry-creds="$REGISTRY_USER:$REGISTRY_PASS" --retries=2 --compression=none >/dev/null 2>"$rd/mid.err"
			echo $? >"$rd/mid.rc" ) &
		local bp=$!
		for _ in $(seq 1 200); do
			grep -q 'pushing layer' "$rd/mid.err" 2>/dev/null && break
			sleep 0.05
		done
		kill "$REGISTRY_PID" 2>/dev/null
		wait $bp
		rc=$(cat "$rd/mid.rc")
		"$root/tests/servers/registry.sh" restart "$rd" >/dev/null 2>&1
		. "$rd/env"
		local tagged
		tagged=$(skopeo inspect "${sk[@]}" "docker://$img:mid" 2>&1 >/dev/null)
		if [ "$rc" -eq 5 ] && echo "$tagged" | grep -qiE 'manifest unknown|not found'; then
			pass "registry down mid-push: exit 5, no tag written"
		else
			fail "registry down mid-push" "exit $rc: $(tail -2 "$rd/mid.err")" "tag: $tagged"
		fi
	fi
}
push_tests htpasswd reg
push_tests token tok

echo "containerize: $fails failed"
[ $fails -eq 0 ]
