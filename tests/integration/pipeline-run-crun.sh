#!/usr/bin/env bash
# pipeline-run --runtime=crun (Debian's crun): a step in its image as an OCI
# container. A probe (pipeline-run/probe.c, static, in a root filesystem of
# its own) reports what the step sees: the securityContext's uid/gid, no
# capabilities, no_new_privs, the seccomp filter (mount and user namespaces
# refused), a read-only root and Secret workspace, a writable workspace and
# results, HOME=/tekton/home, the Pod's hostname. The kubelet's
# runAsNonRoot refusal. A real Task (extract-value-jq, docker-lint on the
# sample app) from our own image in an OCI layout; then the same image
# pushed to the test registry, named by digest only: pulled once with our
# image-copy, then run from the cache without a pull.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PIPELINE_BIN:-$top/build/asan/bin}
SBIN=${PIPELINE_STATIC_BIN:-$top/bin}
W=$(mktemp -d /tmp/pipeline-run-crun.XXXXXX)
chmod 755 "$W"
cleanup() { "$top/tests/servers/registry.sh" stop "$W/reg" >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$W"; }
trap cleanup EXIT
failed=0
pass() { echo "PASS: pipeline-run-crun/$1"; }
fail() { echo "FAIL: pipeline-run-crun/$1${2:+: $2}"; failed=1; }
expect() { # name file key=value...
	local name=$1 file=$2; shift 2
	local kv miss=
	for kv in "$@"; do grep -qx -- "$kv" "$file" 2>/dev/null || miss="$miss $kv"; done
	if [ -z "$miss" ]; then pass "$name"; else fail "$name" "missing:$miss; got: $(tr '\n' ' ' <"$file" 2>/dev/null)"; fi
}

if ! command -v crun >/dev/null; then
	echo "SKIP: pipeline-run-crun/all: crun is not installed (tests/debian-packages.txt)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: pipeline-run-crun/all: crun containers need root here (rootless needs a user namespace setup)"
	exit 0
fi
PR=("$BIN/pipeline-run" taskrun --cache-dir="$W/cache" --work-dir="$W" --runtime=crun)

# ---- the probe --------------------------------------------------------
mkdir -p "$W/probe-root/etc" "$W/probe-root/tmp" "$W/data" "$W/secret"
chmod 777 "$W/data"
echo s3cr3t >"$W/secret/token"
gcc -static -O2 -o "$W/probe-root/probe" "$top/tests/integration/pipeline-run/probe.c" 2>"$W/cc.log" ||
	fail probe-build "$(cat "$W/cc.log")"
cat >"$W/probe.yaml" <<'EOF'
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: probe
spec:
  workspaces:
    - name: data
    - name: creds
  results:
    - name: report
  steps:
    - name: probe
      image: example.com/probe:1
      command: ["/probe"]
      args: ["$(results.report.path)", "$(workspaces.creds.path)", "$(workspaces.data.path)"]
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65533
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
        seccompProfile:
          type: RuntimeDefault
EOF
if "${PR[@]}" -f "$W/probe.yaml" --name=probe-run -w data="$W/data" --secret-workspace creds="$W/secret" \
	--image-map example.com/probe:1=dir:"$W/probe-root" >"$W/probe.json" 2>"$W/probe.err"; then
	pass probe-runs
else
	fail probe-runs "$(tail -3 "$W/probe.err")"
fi
jq -r '.results.report' "$W/probe.json" >"$W/report" 2>/dev/null
expect identity-from-security-context "$W/report" uid=65532 gid=65533
expect no-capabilities "$W/report" CapEff=0000000000000000 CapBnd=0000000000000000
expect no-new-privs-and-seccomp "$W/report" NoNewPrivs=1 Seccomp=2
expect root-and-secret-read-only "$W/report" root=EROFS secret=EROFS workspace=ok tmp=EROFS

# a read-only root with an emptyDir volume mounted at /tmp (as the
# generated containerize, bom and unit-tests Tasks do): /tmp takes writes
awk '/^  steps:/ { print "  volumes:\n    - name: scratch\n      emptyDir: {}" } { print }
	/^      securityContext:/ && !done { done = 1 }' "$W/probe.yaml" |
	sed 's|^      securityContext:|      volumeMounts:\n        - name: scratch\n          mountPath: /tmp\n      securityContext:|' \
	>"$W/probe-tmp.yaml"
"${PR[@]}" -f "$W/probe-tmp.yaml" --name=probe-tmp -w data="$W/data" --secret-workspace creds="$W/secret" \
	--image-map example.com/probe:1=dir:"$W/probe-root" >"$W/probe-tmp.json" 2>"$W/probe-tmp.err"
jq -r '.results.report' "$W/probe-tmp.json" >"$W/report-tmp" 2>/dev/null
expect empty-dir-volume-writable-under-read-only-root "$W/report-tmp" root=EROFS tmp=ok
expect home-and-hostname "$W/report" home=/tekton/home hostname=probe-run-pod
expect seccomp-refuses-mount-and-userns "$W/report" "mount=Operation not permitted" "userns=Operation not permitted"

# the same step without the securityContext: the runtime's defaults (root,
# the default capabilities, no seccomp filter), so the checks above are
# the securityContext's doing
sed '/securityContext:/,$d' "$W/probe.yaml" >"$W/probe-default.yaml"
"${PR[@]}" -f "$W/probe-default.yaml" --name=probe-default -w data="$W/data" --secret-workspace creds="$W/secret" \
	--image-map example.com/probe:1=dir:"$W/probe-root" >"$W/probe2.json" 2>"$W/probe2.err"
jq -r '.results.report' "$W/probe2.json" >"$W/report2" 2>/dev/null
if grep -qx uid=0 "$W/report2" && grep -qx Seccomp=0 "$W/report2" && ! grep -qx CapEff=0000000000000000 "$W/report2"; then
	pass defaults-differ-without-security-context
else
	fail defaults-differ-without-security-context "$(tr '\n' ' ' <"$W/report2")"
fi

# runAsNonRoot with an image that runs as root: what the kubelet refuses
sed -e '/runAsUser: 65532/d' -e '/runAsGroup/d' "$W/probe.yaml" >"$W/probe-root.yaml"
"${PR[@]}" -f "$W/probe-root.yaml" -w data="$W/data" --secret-workspace creds="$W/secret" \
	--image-map example.com/probe:1=dir:"$W/probe-root" >/dev/null 2>"$W/nonroot.err"
rc=$?
if [ $rc = 2 ] && grep -q "runAsNonRoot is set and the image will run as root (uid 0)" "$W/nonroot.err"; then
	pass run-as-non-root-refused
else
	fail run-as-non-root-refused "exit $rc: $(tail -2 "$W/nonroot.err")"
fi

# a 200 KiB param in a step's env: over the kernel's 128 KiB for one
# variable, which crun's execve would fail with a bare E2BIG; the TaskRun
# fails first, naming the variable, its length and the limit (the default
# is in the Task: on our own command line it would meet the same limit)
{ printf 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: bigenv\nspec:\n  params:\n    - name: big\n'
  printf '      default: "%s"\n' "$(head -c 204800 /dev/zero | tr '\0' b)"
  printf '  steps:\n    - name: s\n      image: example.com/probe:1\n      command: ["/probe"]\n'
  printf '      env:\n        - name: BIG\n          value: $(params.big)\n'; } >"$W/bigenv.yaml"
"${PR[@]}" -f "$W/bigenv.yaml" --image-map example.com/probe:1=dir:"$W/probe-root" >"$W/bigenv.json" 2>"$W/bigenv.err"
rc=$?
if [ $rc = 1 ] && grep -qE "step s: env\[[0-9]+\] is 204804 bytes: Linux takes at most [0-9]+ per argument or variable" "$W/bigenv.err" &&
   ! grep -q bbbb "$W/bigenv.err"; then
	pass env-over-kernel-limit-named
else
	fail env-over-kernel-limit-named "exit $rc: $(tail -2 "$W/bigenv.err" | cut -c1-300)"
fi

# ---- a real Task from our image ---------------------------------------
if "$top/containers/images.sh" --bin="$SBIN" --out="$W/img" extract-value-jq docker-lint >"$W/images.log" 2>&1; then
	pass images-built
else
	fail images-built "$(tail -3 "$W/images.log")"
fi
mkdir -p "$W/src"
cp "$top/examples/app/Dockerfile" "$W/src/" 2>/dev/null || printf 'FROM scratch\nCOPY . /app\n' >"$W/src/Dockerfile"
echo '{"app":{"name":"sample"}}' >"$W/src/config.json"
chmod -R a+rX "$W/src"
if "${PR[@]}" -f "$top/tekton/extract-value-jq.yaml" -p expression=.app.name -p json-file=config.json \
	-w source="$W/src" --image-map "ghcr.io/secure-pipeline/extract-value-jq=oci:$W/img/images:extract-value-jq" \
	>"$W/jq.json" 2>"$W/jq.err" && [ "$(jq -r '.results["extracted-value"]' "$W/jq.json")" = sample ]; then
	pass extract-value-jq-task-in-its-image
else
	fail extract-value-jq-task-in-its-image "$(tail -3 "$W/jq.err")"
fi
# a cache entry someone else could have written is not used: a planted
# /task in it must not run (statedir.h rules)
entry=$(find "$W/cache" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | head -1)
if [ -n "$entry" ] && [ -x "$entry/rootfs/task" ]; then
	printf '#!/bin/sh\necho -n planted >/tekton/results/extracted-value\n' >"$entry/rootfs/task"
	chmod 777 "$entry"
	"${PR[@]}" -f "$top/tekton/extract-value-jq.yaml" -p expression=.app.name -p json-file=config.json \
		-w source="$W/src" --image-map "ghcr.io/secure-pipeline/extract-value-jq=oci:$W/img/images:extract-value-jq" \
		>"$W/planted.json" 2>"$W/planted.err"
	got=$(jq -r '.results["extracted-value"]' "$W/planted.json" 2>/dev/null)
	if [ "$got" = sample ] && grep -q "image cache entry.*writable by" "$W/planted.err"; then
		pass planted-cache-entry-ignored
	else
		fail planted-cache-entry-ignored "result '$got': $(tail -3 "$W/planted.err")"
	fi
	chmod 700 "$entry"
	rm -rf "$entry"
else
	fail planted-cache-entry-ignored "no cache entry with a /task under $W/cache"
fi
"${PR[@]}" -f "$top/tekton/docker-lint.yaml" -w source="$W/src" \
	--image-map "ghcr.io/secure-pipeline/docker-lint=oci:$W/img/images:docker-lint" >"$W/lint.json" 2>"$W/lint.err"
rc=$?
status=$(jq -r '.results.status // empty' "$W/lint.json" 2>/dev/null)
if { [ $rc = 0 ] || [ $rc = 3 ]; } && [ -n "$status" ]; then
	pass docker-lint-task-in-its-image
else
	fail docker-lint-task-in-its-image "exit $rc, status '$status': $(tail -3 "$W/lint.err")"
fi

# ---- pulled by digest, then from the cache ------------------------------
if "$top/tests/servers/registry.sh" start "$W/reg" none >"$W/reg.log" 2>&1; then
	. "$W/reg/env"
	if "$top/containers/images.sh" --bin="$SBIN" --out="$W/img2" --registry="$REGISTRY/pipeline/" \
		--ca-file="$REGISTRY_CA" --list="$W/images.txt" extract-value-jq >"$W/push.log" 2>&1; then
		ref=$(awk '$1 == "extract-value-jq" { print $2 }' "$W/images.txt")
		sed "s|image: .*|image: $ref|" "$top/tekton/extract-value-jq.yaml" >"$W/jq-pinned.yaml"
		# a cache of its own: the layout run above unpacked the same
		# manifest digest (the build is reproducible)
		run_pinned() {
			"$BIN/pipeline-run" taskrun --cache-dir="$W/cache-pull" --work-dir="$W" --runtime=crun -f "$W/jq-pinned.yaml" -p expression=.app.name -p json-file=config.json -w source="$W/src" \
				--bin-dir="$BIN" --registry-ca-file="$REGISTRY_CA" >"$W/pin.json" 2>"$W/pin$1.err" &&
				[ "$(jq -r '.results["extracted-value"]' "$W/pin.json")" = sample ]
		}
		if run_pinned 1 && grep -q "pulling $ref" "$W/pin1.err"; then
			pass pulled-by-digest
		else
			fail pulled-by-digest "$(tail -3 "$W/pin1.err")"
		fi
		if run_pinned 2 && ! grep -q "pulling" "$W/pin2.err"; then
			pass second-run-from-cache
		else
			fail second-run-from-cache "$(tail -3 "$W/pin2.err")"
		fi
	else
		fail pushed "$(tail -3 "$W/push.log")"
	fi
else
	fail registry-start "$(tail -3 "$W/reg.log")"
fi
exit $failed
