#!/usr/bin/env bash
# deploy --target=local: the sample app (examples/app) built by our
# containerize into the real docker-registry, signed by both signers in the
# real notary-server, pulled by digest and run by the real crun in the
# host's network: check-health sees /healthz answer; the container runs as
# the manifest says (user, no capabilities, read-only root, no new
# privileges, seccomp); a new deploy replaces it; a crashing container is
# reported with its exit status and log tail; an unsigned image is refused
# before anything runs; --stop leaves no process and no mount; a hostile
# state dir is refused; unprivileged, rootless crun runs it, or on hybrid
# cgroups (which crun refuses rootless) deploy says so before pulling.
# Prints PASS:/FAIL: per test; exits non-zero if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=deploy-local tools="notary-server docker-registry skopeo crun" keep=DEPLOY_KEEP run_tail=8
. "$here/lib/prelude.sh"
chmod 755 "$W" # the app's user reads nothing here, but crun's bundle paths must be reachable
. "$root/tests/servers/signed-images.sh"
STATE=$W/state
NAMES=(hello-secure-app crasher squatter)
stop_all() {
	for n in "${NAMES[@]}"; do "$BIN/deploy" --target=local --stop --name="$n" --local-state-dir="$STATE" >/dev/null 2>&1; done
	[ -d "$W/u/state" ] && setpriv --reuid=nobody --regid=nogroup --clear-groups "$BIN/deploy" --target=local --stop \
		--name=rootless --local-state-dir="$W/u/state" >/dev/null 2>&1
}
at_exit+=(stop_all signed_images_stop)

if [ "$(id -u)" != 0 ]; then fail prerequisites "run as root (the unprivileged case is tested with runuser)"; exit 1; fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# the pid of a local instance's container, from crun's state
cpid() { crun --root="$STATE/crun" state "deploy-$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null; }

# ---- servers, signers, the sample app's image ---------------------------
if signed_images_start "$W/signed" "$BIN"; then pass setup-signed-images; else
	fail setup-signed-images "$(tail -3 "$W/signed/signed-images.log")"; exit 1; fi
node_base=$("$root/tests/servers/containerize-bases.sh" node 2>"$LOGS/bases.err" | tail -1)
[ -d "$node_base" ] || { fail node-base "$(tail -3 "$LOGS/bases.err")"; exit 1; }
if run build 0 "$BIN/containerize" --image="$IMG" --tag=local --context="$root/examples/app" \
	--build-args="BASE_IMAGE=oci:$node_base:bookworm" --ca-file="$REGISTRY_CA" --results-dir="$W/built" \
	--work-dir="$W/build-work"; then pass build-sample-app; else fail build-sample-app; exit 1; fi
DA=$(cat "$W/built/IMAGE_DIGEST")
NOTARY=(--notary-server="$NOTARY_URL" --notary-ca="$NOTARY_CA")
for s in build validation; do
	run "sign-$s" 0 "$BIN/build-sign" --image="$IMG:local@$DA" --signer=$s "${SIGNED_VAULT[@]}" "${NOTARY[@]}" \
		--registry-ca="$REGISTRY_CA" || { fail "sign-$s"; exit 1; }
done

# the sample manifest on a free port (PORT is the app's), image by tag
P=$(free_port)
APP=$W/app.yaml
sed -e "s|registry.local/hello/hello-secure-app@sha256:0*|$IMG:local|" -e "s/8080/$P/g" \
	-e "s|^\(          image: .*\)$|\1\n          env: [{name: PORT, value: \"$P\"}]|" \
	"$root/examples/app/deployment.yml" >"$APP"
LOCAL=("$BIN/deploy" --target=local --local-state-dir="$STATE" --image-cache-dir="$W/cache" --registry-ca="$REGISTRY_CA"
	--signers=build --signers=validation "${NOTARY[@]}" --trust-state-dir="$W/tstate" --timeout=60)

# ---- refused before anything runs ----------------------------------------
if run unsigned 3 "${LOCAL[@]}" --manifests="$APP" --image="$IMG@$D3" &&
   has unsigned "not signed by every required signer: build (dct): .*; validation (dct): " &&
   has unsigned "nothing was applied" && [ ! -e "$STATE" ] && [ ! -e "$W/cache" ]; then
	pass unsigned-refused-nothing-pulled-or-run; else fail unsigned-refused-nothing-pulled-or-run; fi
if run single 3 "${LOCAL[@]}" --manifests="$APP" --image="$IMG@$D2" &&
   has single "not signed by every required signer: validation (dct)" && [ ! -e "$STATE" ]; then
	pass singly-signed-refused; else fail singly-signed-refused; fi

# ---- unprivileged: rootless crun, or (hybrid cgroups) a clear refusal ---------
U=$W/u && mkdir -m 0700 "$U" && chown nobody:nogroup "$U"
PU=$(free_port)
sed -e 's/name: hello-secure-app$/name: rootless/' -e "s/$P/$PU/g" "$APP" >"$U/app.yaml"
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$U" XDG_RUNTIME_DIR= "$BIN/deploy" --target=local
	--local-state-dir="$U/state")
if [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] && [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
	if run rootless 1 "${NOBODY[@]}" --image-cache-dir="$U/cache" --registry-ca="$REGISTRY_CA" --signers=build \
		--signers=validation "${NOTARY[@]}" --trust-state-dir="$U/tstate" --timeout=60 --manifests="$U/app.yaml" --image="$IMG@$DA" &&
	   has rootless "rootless crun cannot run containers on this host: its cgroups are hybrid" &&
	   has rootless "nothing was pulled or run" && [ -z "$(ls -A "$U/cache" 2>/dev/null)" ]; then
		pass unprivileged-hybrid-cgroups-refused; else fail unprivileged-hybrid-cgroups-refused; fi
else
	if run rootless 0 "${NOBODY[@]}" --image-cache-dir="$U/cache" --registry-ca="$REGISTRY_CA" --signers=build \
		--signers=validation "${NOTARY[@]}" --trust-state-dir="$U/tstate" --timeout=60 --manifests="$U/app.yaml" --image="$IMG@$DA" &&
	   curl -sf "http://127.0.0.1:$PU/healthz" >/dev/null && run rootless-stop 0 "${NOBODY[@]}" --stop --name=rootless &&
	   ! curl -s "http://127.0.0.1:$PU/healthz" >/dev/null; then
		pass unprivileged-rootless; else fail unprivileged-rootless; fi
fi

# ---- deployed, healthy, confined ------------------------------------------
if run deploy 0 "${LOCAL[@]}" --manifests="$APP" --image="$IMG:local@$DA" --results-dir="$W/r1" &&
   has deploy "DEPLOYMENT SUCCEEDED: http://127.0.0.1:$P" && [ "$(cat "$W/r1/app-url")" = "http://127.0.0.1:$P" ] &&
   [ "$(cat "$W/r1/deployed-digest")" = "$DA" ] && [ "$(cat "$W/r1/revision")" = 1 ] &&
   has deploy "container app of hello-secure-app is ready: GET http://127.0.0.1:$P/healthz: HTTP 200"; then
	pass signed-app-deployed; else fail signed-app-deployed; fi
if run health 0 "$BIN/check-health" --url="http://127.0.0.1:$P/healthz" --timeout=10s &&
   [ "$(curl -sf "http://127.0.0.1:$P/healthz")" = '{"status":"ok"}' ]; then
	pass check-health-sees-healthz; else fail check-health-sees-healthz; fi
pid1=$(cpid hello-secure-app)
if [ -n "$pid1" ] && [ -d "/proc/$pid1" ] && st=$(cat "/proc/$pid1/status") &&
   grep -q "^Uid:.1000.1000.1000.1000" <<<"$st" && grep -q "^CapEff:.0000000000000000" <<<"$st" &&
   grep -q "^CapBnd:.0000000000000000" <<<"$st" && grep -q "^NoNewPrivs:.1" <<<"$st" &&
   grep -q "^Seccomp:.2" <<<"$st" && [ "$(readlink "/proc/$pid1/ns/net")" = "$(readlink /proc/self/ns/net)" ] &&
   [ "$(readlink "/proc/$pid1/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]; then
	pass runs-as-the-manifest-says; else fail runs-as-the-manifest-says "pid '$pid1'"; fi
if ! crun --root="$STATE/crun" exec deploy-hello-secure-app sh -c 'echo x > /app/reports/x' 2>"$LOGS/ro.err" &&
   grep -q "Read-only file system" "$LOGS/ro.err"; then
	pass read-only-root; else fail read-only-root "$(cat "$LOGS/ro.err")"; fi
# the node process survived deploy's exit: it is not deploy's child, and its supervisor is in its own session
if [ -n "$pid1" ] && [ "$(ps -o sid= -p "$pid1" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]; then
	pass detached; else fail detached; fi

# ---- a new deploy replaces the instance -------------------------------------
if run replace 0 "${LOCAL[@]}" --manifests="$APP" --image="$IMG@$DA" --results-dir="$W/r2" &&
   has replace "replacing the running hello-secure-app" && [ "$(cat "$W/r2/revision")" = 2 ] &&
   pid2=$(cpid hello-secure-app) && [ -n "$pid2" ] && [ "$pid2" != "$pid1" ] && [ ! -d "/proc/$pid1" ] &&
   curl -sf "http://127.0.0.1:$P/healthz" >/dev/null && has replace "from the cache"; then
	pass replace-stops-the-old-one; else fail replace-stops-the-old-one; fi

# ---- a port another process serves: refused, not "ready" -------------------------
pid2=$(cpid hello-secure-app)
sed -e 's/name: hello-secure-app$/name: squatter/' "$APP" >"$W/squat.yaml"
if run squat 1 "${LOCAL[@]}" --manifests="$W/squat.yaml" --image="$IMG@$DA" &&
   has squat "squatter: port $P on 127.0.0.1 is already in use by another process" && has squat "nothing was run" &&
   ! has squat "DEPLOYMENT SUCCEEDED" && [ -z "$(cpid squatter)" ] && [ "$(cpid hello-secure-app)" = "$pid2" ]; then
	pass port-in-use-refused; else fail port-in-use-refused; fi

# ---- a crashing container: its exit status and log tail ------------------------
P2=$(free_port)
sed -e 's/name: hello-secure-app$/name: crasher/' -e "s/$P/$P2/g" \
	-e "s|^\(          image: .*\)$|\1\n          command: [node, -e, \"console.log('boom-marker'); process.exit(7)\"]|" "$APP" >"$W/crash.yaml"
if run crash 1 "${LOCAL[@]}" --manifests="$W/crash.yaml" --image="$IMG@$DA" &&
   has crash "container app of crasher exited with status 7 before it was ready" && has crash "boom-marker" &&
   ! has crash "DEPLOYMENT SUCCEEDED" && [ -z "$(cpid crasher)" ]; then
	pass crash-reported-with-status-and-log; else fail crash-reported-with-status-and-log; fi

# ---- --stop: no process, no mount, no state --------------------------------------
pid2=$(cpid hello-secure-app)
if run stop 0 "$BIN/deploy" --target=local --stop --manifests="$APP" --local-state-dir="$STATE" &&
   has stop "hello-secure-app: stopped and removed" && [ -n "$pid2" ] && [ ! -d "/proc/$pid2" ] &&
   ! curl -s "http://127.0.0.1:$P/healthz" >/dev/null && [ ! -e "$STATE/hello-secure-app" ] &&
   [ -z "$(crun --root="$STATE/crun" list -q 2>/dev/null)" ] &&
   ! cat /proc/[0-9]*/mountinfo 2>/dev/null | grep -qF -e "$STATE" -e "$W/cache" &&
   ! pgrep -f "deploy-hello-secure-app" >/dev/null; then
	pass stop-leaves-no-process-no-mount; else fail stop-leaves-no-process-no-mount; fi

# ---- hostile state dirs: refused before anything runs ---------------------------
mkdir -m 0777 "$W/open" && chmod 0777 "$W/open"
mkdir "$W/theirs" && chown nobody "$W/theirs" && chmod 0700 "$W/theirs"
mkdir -m 0700 "$W/real" && ln -s "$W/real" "$W/link"
for d in open theirs link; do
	if run "hostile-$d" 2 "${LOCAL[@]}" --manifests="$APP" --image="$IMG@$DA" --local-state-dir="$W/$d" &&
	   has "hostile-$d" "local state dir $W/$d is not usable" && has "hostile-$d" "nothing was run" &&
	   [ -z "$(ls -A "$W/real")" ] && ! curl -s "http://127.0.0.1:$P/healthz" >/dev/null; then
		pass "hostile-state-dir-$d-refused"; else fail "hostile-state-dir-$d-refused"; fi
done

[ "$failures" = 0 ]
