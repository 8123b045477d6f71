#!/usr/bin/env bash
# unit-tests against real processes: the sample app's own test suite
# (node, JUnit written by the test), the process group killed on timeout
# (no test process survives), and the record's content.
set -u
bin=${PIPELINE_BIN:-$(cd "$(dirname "$0")/../../build/asan/bin" && pwd)}/unit-tests
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail=0
pass() { echo "PASS: unit-tests/$1"; }
flunk() { echo "FAIL: unit-tests/$1"; fail=1; }

# 1. the sample app's tests, in a copy of the tree
if command -v node >/dev/null; then
	cp -r "$root/examples/app" "$tmp/app" && rm -rf "$tmp/app/reports"
	if "$bin" --workdir="$tmp/app" --command="node test/server.test.js" --record-file="$tmp/rec.json" \
		--results-dir="$tmp/res" >"$tmp/out" 2>"$tmp/err" &&
		jq -e '.status == "pass" and .totals.tests > 0 and .totals.failures == 0 and (.junit_reports | length) == 1' \
			"$tmp/rec.json" >/dev/null && [ "$(cat "$tmp/res/status")" = pass ]; then
		pass sample-app-tests-pass-with-junit
	else
		cat "$tmp/out" "$tmp/err"; flunk sample-app-tests-pass-with-junit
	fi
else
	flunk "sample-app-tests-pass-with-junit (node is not installed)"
fi

# 2. timeout: the whole process group goes, including a detached-looking child
cat >"$tmp/slow.sh" <<'SH'
sleep 300 &
echo $! > "$1/child.pid"
sleep 300
SH
start=$(date +%s)
"$bin" --workdir="$tmp" --command="sh slow.sh $tmp" --timeout=1 --record-file="$tmp/t.json" >/dev/null 2>"$tmp/err"
rc=$?
child=$(cat "$tmp/child.pid" 2>/dev/null || echo "")
[ -n "$child" ] && pids+=("$child")
# gone, or a zombie waiting for its new parent to reap it: either way dead
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
for _ in 1 2 3 4 5 6 7 8 9 10; do alive "$child" || break; sleep 0.1; done
if [ $rc -eq 1 ] && [ -n "$child" ] && ! alive "$child"; then
	pass timeout-kills-process-group
else
	echo "rc=$rc child=$child state=$(cat "/proc/$child/stat" 2>/dev/null)"; flunk timeout-kills-process-group
fi
if jq -e '.timed_out == true and .status == "fail"' "$tmp/t.json" >/dev/null; then
	pass timeout-recorded
else
	flunk timeout-recorded
fi

# 3. a failing run writes the record with the failing cases
mkdir -p "$tmp/f/reports"
printf '%s\n' '<testsuite name="s"><testcase classname="c" name="bad"><failure message="nope"/></testcase><testcase classname="c" name="good"/></testsuite>' >"$tmp/f/j.src"
"$bin" --workdir="$tmp/f" --command="cp j.src reports/junit.xml; exit 1" --record-file="$tmp/f.json" >/dev/null 2>&1
rc=$?
if [ $rc -eq 1 ] && jq -e '.status == "fail" and .totals.tests == 2 and .totals.passed == 1 and .failed_cases[0].name == "bad" and .failed_cases[0].message == "nope" and .exit_code == 1' "$tmp/f.json" >/dev/null; then
	pass failing-record-lists-cases
else
	cat "$tmp/f.json"; flunk failing-record-lists-cases
fi
# 4. in the built image: an OCI layout we make here (busybox as the shell)
if [ ! -x /bin/busybox ]; then
	flunk "image-mode (busybox-static is not installed)"
	exit 1
fi
cat >"$tmp/mkimage.py" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
out = sys.argv[1]
os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(out, "blobs", "sha256", d), "wb").write(data)
    return "sha256:" + d, len(data)
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
    def add_dir(name, mode=0o755):
        i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; i.mode = mode; t.addfile(i)
    def add_file(name, data, mode=0o755):
        i = tarfile.TarInfo(name); i.size = len(data); i.mode = mode; t.addfile(i, io.BytesIO(data))
    def add_link(name, target):
        i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; t.addfile(i)
    add_dir("bin"); add_dir("app"); add_dir("tmp", 0o1777)
    if len(sys.argv) < 4:  # a read-only directory with a file, as real images have
        add_dir("locked", 0o555)
        add_file("locked/file", b"x", 0o444)
    add_file("bin/busybox", open("/bin/busybox", "rb").read())
    for a in ("sh", "mkdir", "printf", "cat", "test", "[", "echo"):
        add_link("bin/" + a, "busybox")
    # hostile images (issue 12): MKIMAGE_DIRS (":"-separated) made, and
    # MKIMAGE_APP_LINK makes /app a symlink there instead of a directory
    for extra in filter(None, os.environ.get("MKIMAGE_DIRS", "").split(":")):
        parts = extra.strip("/").split("/")
        for k in range(1, len(parts) + 1):
            add_dir("/".join(parts[:k]))
    if os.environ.get("MKIMAGE_APP_LINK"):
        add_link("app-link", os.environ["MKIMAGE_APP_LINK"])
    add_file("app/run-tests.sh", sys.argv[2].encode(), 0o755)
tar = raw.getvalue()
diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
layer, lsize = blob(gzip.compress(tar, mtime=0))
config = {"architecture": "amd64", "os": "linux",
          "config": {"Env": ["PATH=/bin", "GREETING=hello from the image"],
                     "WorkingDir": os.environ.get("MKIMAGE_WORKDIR", "/app")},
          "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
cdig, csize = blob(json.dumps(config).encode())
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdig, "size": csize},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": lsize}]}
mdig, msize = blob(json.dumps(manifest).encode())
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdig, "size": msize,
                        "annotations": {"org.opencontainers.image.ref.name": "test"}}]}
open(os.path.join(out, "index.json"), "w").write(json.dumps(index))
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion": "1.0.0"}')
PY
cat >"$tmp/run-tests.sh" <<'SH'
[ "$GREETING" = "hello from the image" ] || exit 9
mkdir -p reports
printf '<testsuite name="in-image"><testcase classname="img" name="env"/><testcase classname="img" name="bad"><failure message="pwd was %s"/></testcase></testsuite>' "$(pwd)" > reports/junit.xml
SH
script=$(cat "$tmp/run-tests.sh")
python3 "$tmp/mkimage.py" "$tmp/img" "$script"
before=$(ls "$tmp" | grep -c image-root)
TMPDIR=$tmp "$bin" --image="oci:$tmp/img:test" --command="sh run-tests.sh" --record-file="$tmp/img.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -qx "FAILED: img.bad: pwd was /app" "$tmp/out" &&
	jq -e '.totals.tests == 2 and .junit_reports == ["/app/reports/junit.xml"] and .exit_code == 0' "$tmp/img.json" >/dev/null; then
	pass image-mode-runs-in-the-image-with-its-env-and-workdir
else
	echo "rc=$rc"; cat "$tmp/out" "$tmp/err"; flunk image-mode-runs-in-the-image-with-its-env-and-workdir
fi
if [ "$(ls "$tmp" | grep -c image-root)" -eq "$before" ]; then
	pass image-mode-removes-its-root-filesystem
else
	ls "$tmp"; flunk image-mode-removes-its-root-filesystem
fi
# 5. hostile images cannot make us read host directories: reports are
# looked for in the image's working directory resolved inside its root,
# whatever its WorkingDir ("/../../..<host dir>") or symlinks (to a host
# dir) say. The host dir holds a fresh report that must not be read.
mkdir -p "$tmp/host"
printf '<testsuite name="host"><testcase classname="host" name="host-secret"><failure message="read from the host"/></testcase></testsuite>' >"$tmp/host/junit-host.xml"
touch -d '+1 hour' "$tmp/host/junit-host.xml"
hostile() { # name, then MKIMAGE_* assignments
	local name=$1; shift
	env "$@" MKIMAGE_DIRS="$tmp/host" python3 "$tmp/mkimage.py" "$tmp/$name" ':'
	TMPDIR=$tmp "$bin" --image="oci:$tmp/$name:test" --command=':' --record-file="$tmp/$name.json" \
		>"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	if [ $rc -eq 0 ] && ! grep -q host-secret "$tmp/$name.out" "$tmp/$name.json" &&
		jq -e '.junit_reports == [] and .totals.tests == 0' "$tmp/$name.json" >/dev/null; then
		pass "image-$name-reads-no-host-file"
	else
		echo "rc=$rc"; cat "$tmp/$name.out" "$tmp/$name.err" "$tmp/$name.json"; flunk "image-$name-reads-no-host-file"
	fi
}
hostile workdir-dotdot MKIMAGE_WORKDIR="/../../../../../../../../../..$tmp/host"
hostile workdir-symlink MKIMAGE_WORKDIR=/app-link MKIMAGE_APP_LINK="$tmp/host"
hostile workdir-relative-symlink MKIMAGE_WORKDIR=/app-link MKIMAGE_APP_LINK="../../../../../../../../..$tmp/host"
# unprivileged: chroot inside a user namespace (root runs it as nobody)
unpriv=()
[ "$(id -u)" -eq 0 ] && unpriv=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if ! "${unpriv[@]}" unshare --user --map-root-user true 2>"$tmp/err"; then
	echo "SKIP: unit-tests/image-mode-unprivileged-user-namespace: this kernel gives no user namespace to an unprivileged user ($(head -1 "$tmp/err"))"
else
	chmod -R a+rX "$tmp" && chmod 1777 "$tmp"
	# (no read-only directory in this one: unpacking as non-root cannot fill it)
	python3 "$tmp/mkimage.py" "$tmp/img2" 'mkdir -p reports; printf "<testsuite name=\"s\"><testcase name=\"ok\"/></testsuite>" > reports/junit.xml' plain
	chmod -R a+rX "$tmp/img2"
	if "${unpriv[@]}" env TMPDIR="$tmp" "$bin" --image="oci:$tmp/img2" \
		--command="sh run-tests.sh" --record-file="$tmp/nobody/r.json" >"$tmp/out" 2>"$tmp/err" &&
		grep -qx "1 tests, 0 failures, 0 errors, 0 skipped" "$tmp/out"; then
		pass image-mode-unprivileged-user-namespace
	else
		cat "$tmp/out" "$tmp/err"; flunk image-mode-unprivileged-user-namespace
	fi
fi
if ! "$bin" --image="oci:$tmp/no-such-layout" --command=true --record-file="$tmp/x.json" >/dev/null 2>"$tmp/err" &&
	grep -q "no-such-layout" "$tmp/err"; then
	pass image-mode-missing-layout-is-an-error
else
	cat "$tmp/err"; flunk image-mode-missing-layout-is-an-error
fi
exit $fail
