#!/usr/bin/env bash
# The pipelines of .pipeline/ run here, without a cluster, by pipeline-run
# (make demo): the sample app (examples/app) served by git daemon, the
# local registry (TLS + htpasswd) and notary-server + notary-signer on
# loopback (tests/servers/*), then
#
#   dct-init-pipeline   signer keys (file vault), trust data, both signers delegated
#   ci-pipeline         clone, lint, CIS, BOM, unit tests, build, sign, scan,
#                       validation-sign, deploy --target=local, health, evidence
#
# and a summary of where everything is. Everything the run leaves (logs
# per TaskRun, reports, evidence store, public keys, each PipelineRun's
# JSON status) goes to $OUT (default build/demo).
#
# Environment (the tests use these for the negative runs):
#   BIN             the task binaries (default bin/)
#   OUT             where the run's files go (default build/demo)
#   APP_PATCH       a command run in the app's copy before it is committed
#   CI_PARAMS       extra -p NAME=VALUE arguments for ci-pipeline (words)
#   FAIL_ON         va-scan's threshold (default none: the sample app's
#                   dependencies are deliberately outdated, the demo reports
#                   their advisories and goes on; high stops the run there)
#   KEEP_SERVERS=1  leave the servers running (their env in $OUT/servers.env)
#   STOP_APP=1      stop the app deploy --target=local started when the run ends
#                   (make demo leaves it running: the summary says how to stop it)
#   VIA_TRIGGER=1   start ci-pipeline as the manual EventListener of
#                   .pipeline/triggers.yaml does, from a replayed event
#                   signed as its interceptor checks (X-Hub-Signature-256,
#                   the HMAC of the event under the Secret manual-trigger,
#                   made here: $OUT/manual-trigger/token)
#   VIA_TRIGGER=github-push  start it as the secure-pipeline listener does
#                   from a GitHub push event (X-GitHub-Event: push), signed
#                   as GitHub signs it (X-Hub-Signature-256) with the
#                   Secret webhook-secret ($OUT/webhook-secret/token):
#                   its ref PUSH_REF (default refs/heads/main), its after
#                   the commit PUSH_AFTER (a revision of the app's
#                   repository, default PUSH_REF)
#   FEATURE_PATCH   a command run in the app's copy on a branch feature,
#                   committed on top of main's commit (main stays as it is)
#   APP_PORT        the port the app serves on (default: a free one): the
#                   app's manifest and PORT say it, so that two runs at once
#                   (make demo, the cold bench, the tests) never meet on 8080
#   DEPLOY_STATE_DIR  deploy --target=local's state (default $OUT/deploy-local,
#                   not the shared /run/deploy-local, for the same reason)
# Exit: ci-pipeline's (0 succeeded, 1 failed, 2 invalid YAML).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$top/bin}
OUT=${OUT:-$top/build/demo}
PR=$BIN/pipeline-run
work=$(mktemp -d /tmp/pipeline-local.XXXXXX)
chmod 755 "$work"
image_name=$(jq -r '.parameters["image-name"]' "$top/examples/pipeline-config.json")
STATE=$(realpath -m "${DEPLOY_STATE_DIR:-$OUT/deploy-local}") # the deploy step's cwd is not ours
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
APP_PORT=${APP_PORT:-$(free_port)}
# the app an earlier run left running (make demo does) goes with its $OUT
[ -d "$STATE" ] && "$BIN/deploy" --target=local --stop --name="$image_name" --local-state-dir="$STATE" >/dev/null 2>&1 || true
rm -rf "$OUT" && mkdir -p "$OUT/logs"

. "$top/tests/servers/notary.sh"
cleanup() {
	if [ "${STOP_APP:-}" = 1 ] && [ -e "$work/app/deployment.yml" ]; then
		"$BIN/deploy" --target=local --stop --manifests="$work/app/deployment.yml" --local-state-dir="$STATE" \
			>/dev/null 2>&1 || true
	fi
	[ "${KEEP_SERVERS:-}" = 1 ] && return
	[ -n "${GIT_DAEMON_PID:-}" ] && kill "$GIT_DAEMON_PID" 2>/dev/null
	notary_stop >/dev/null 2>&1 || true
	"$top/tests/servers/registry.sh" stop "$work/reg" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*" >&2; }

# ---- the app as a git repository, served by git daemon ---------------------
say "servers: git daemon, registry, notary on loopback"
mkdir -p "$work/app"
cp -r "$top/examples/app/." "$work/app/"
rm -rf "$work/app/node_modules"; find "$work/app/reports" -type f ! -name .gitkeep -delete 2>/dev/null || true
# the app on this run's port: its manifest's ports and probes, and PORT (the app's)
[ "$APP_PORT" = 8080 ] || sed -i -e "s/8080/$APP_PORT/g" \
	-e "s|^\(          image: .*\)$|\1\n          env: [{name: PORT, value: \"$APP_PORT\"}]|" "$work/app/deployment.yml"
[ -n "${APP_PATCH:-}" ] && (cd "$work/app" && eval "$APP_PATCH")
git -C "$work/app" init -q -b main
git -C "$work/app" -c user.name="Demo Developer" -c user.email=dev@example.com add -A
GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" \
	git -C "$work/app" -c user.name="Demo Developer" -c user.email=dev@example.com commit -q -m "hello-secure-app"
if [ -n "${FEATURE_PATCH:-}" ]; then
	git -C "$work/app" checkout -q -b feature
	(cd "$work/app" && eval "$FEATURE_PATCH")
	git -C "$work/app" add -A
	git -C "$work/app" -c user.name="Demo Developer" -c user.email=dev@example.com commit -q -m "feature"
	git -C "$work/app" checkout -q main
fi
git clone -q --bare "$work/app" "$work/repos/app.git"
git_port=$(free_port)
git daemon --reuseaddr --export-all --base-path="$work/repos" --listen=127.0.0.1 --port="$git_port" \
	"$work/repos" 2>"$OUT/git-daemon.log" &
GIT_DAEMON_PID=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$git_port) 2>/dev/null && break; sleep 0.1; done

"$top/tests/servers/registry.sh" start "$work/reg" htpasswd >"$OUT/registry.log" 2>&1
. "$work/reg/env"
notary_start "$work/notary" >"$OUT/notary.log" 2>&1

# ---- workspaces -----------------------------------------------------------------
ws=$work/ws
mkdir -p "$ws/source" "$ws/keystore" "$ws/dockerconfig" "$ws/sslcertdir" "$OUT/trust"
chmod 700 "$ws/keystore" "$ws/dockerconfig"
cp "$REGISTRY_CA" "$ws/sslcertdir/registry.crt"
cp "$NOTARY_CA" "$ws/sslcertdir/notary.crt"
printf 'demo-%s' "$(openssl rand -hex 12)" >"$ws/keystore/passphrase"
printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASS" >"$ws/dockerconfig/registry-creds"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REGISTRY" \
	"$(printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASS" | base64 -w0)" >"$ws/dockerconfig/config.json"
chmod 600 "$ws/keystore/passphrase" "$ws/dockerconfig/"*
cat >"$OUT/servers.env" <<ENV
REGISTRY=$REGISTRY
REGISTRY_CA=$ws/sslcertdir/registry.crt
NOTARY_URL=$NOTARY_URL
NOTARY_CA=$ws/sslcertdir/notary.crt
GIT_URL=git://127.0.0.1:$git_port/app.git
ENV

config=$(jq -c . "$top/examples/pipeline-config.json")
ns=$(jq -r '.parameters["registry-namespace"]' <<<"$config")
common=(--tasks "$top/tekton" --bin-dir="$BIN" --work-dir="$work" --logs-dir="$OUT/logs" --missing-tasks=skip)

# ---- trust: keys, trust data --------------------------------------------------------
say "dct-init-pipeline"
set +e
"$PR" pipelinerun -f "$top/.pipeline/dct-init-pipeline.yaml" "${common[@]}" --name=dct-init \
	-w keystore="$ws/keystore" -w trust="$OUT/trust" \
	-p image="$REGISTRY/$ns/$image_name" -p notary-server="$NOTARY_URL" -p notary-ca="$ws/sslcertdir/notary.crt" \
	>"$OUT/dct-init-pipelinerun.json"
rc=$?
set -e
if [ $rc != 0 ]; then
	echo "run-local: dct-init-pipeline failed (exit $rc): $OUT/dct-init-pipelinerun.json, logs in $OUT/logs" >&2
	exit $rc
fi

# ---- the base image the app builds on (Debian + nodejs, built once, cached) ----------
say "base image (Debian bookworm + nodejs; cached after the first run)"
node_base=$("$top/tests/servers/containerize-bases.sh" node 2>"$OUT/bases.log" | tail -1)

# ---- ci-pipeline --------------------------------------------------------------------------
say "ci-pipeline"
# deploy --target=local comes with issue 16: until tekton/deploy.yaml takes
# a target, deploy runs its signature gate only (--dry-run) and the health
# check is skipped (the summary says so)
deploy_dry_run=false
if ! grep -q -- '--target=' "$top/tekton/deploy.yaml"; then
	deploy_dry_run=true
	echo "run-local: deploy has no --target=local yet (issue 16): deploy checks both signatures with --dry-run," \
		"check-health is skipped" >&2
fi
data=$(cd "$top/.." && pwd)/shared/data
signers=$(printf 'build=%s\nvalidation=%s' "$OUT/trust/build.pub" "$OUT/trust/validation.pub")
how=(-f "$top/.pipeline/ci-pipeline.yaml" -p repo-url="git://127.0.0.1:$git_port/app.git")
if [ "${VIA_TRIGGER:-}" = 1 ]; then
	printf '{"repo-url": "git://127.0.0.1:%s/app.git", "branch": "main", "revision": ""}\n' "$git_port" >"$OUT/event.json"
	# the manual listener's Secret, and the event signed with it as a caller would
	mkdir -p -m 700 "$OUT/manual-trigger"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$OUT/manual-trigger/token"
	sig=$(openssl dgst -sha256 -hmac "$(cat "$OUT/manual-trigger/token")" -r "$OUT/event.json" | cut -d' ' -f1)
	how=(-f "$top/.pipeline/triggers.yaml" --trigger=manual --event="$OUT/event.json"
		--event-header="X-Hub-Signature-256=sha256=$sig" --secret manual-trigger="$OUT/manual-trigger")
elif [ "${VIA_TRIGGER:-}" = github-push ]; then
	ref=${PUSH_REF:-refs/heads/main}
	after=$(git -C "$work/app" rev-parse "${PUSH_AFTER:-$ref}^{commit}")
	jq -n --arg ref "$ref" --arg after "$after" --arg url "git://127.0.0.1:$git_port/app.git" \
		'{ref: $ref, before: "0000000000000000000000000000000000000000", after: $after,
		  repository: {clone_url: $url}}' >"$OUT/event.json"
	mkdir -m 700 "$OUT/webhook-secret"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$OUT/webhook-secret/token"
	sig=$(openssl dgst -sha256 -hmac "$(cat "$OUT/webhook-secret/token")" -r "$OUT/event.json" | cut -d' ' -f1)
	how=(-f "$top/.pipeline/triggers.yaml" --trigger=secure-pipeline --event="$OUT/event.json"
		--event-header=X-GitHub-Event=push --event-header="X-Hub-Signature-256=sha256=$sig"
		--secret webhook-secret="$OUT/webhook-secret")
fi
set +e
# shellcheck disable=SC2086 # CI_PARAMS is words on purpose
"$PR" pipelinerun "${how[@]}" "${common[@]}" --name=ci-1 \
	-w source="$ws/source" -w keystore="$ws/keystore" -w dockerconfig="$ws/dockerconfig" \
	-w sslcertdir="$ws/sslcertdir" \
	-p pipeline-config="$config" \
	-p registry-repo="$REGISTRY/$ns" -p registry-ca="$ws/sslcertdir/registry.crt" \
	-p notary-server="$NOTARY_URL" -p notary-ca="$ws/sslcertdir/notary.crt" -p signers="$signers" \
	-p build-args="BASE_IMAGE=oci:$node_base:bookworm" -p test-command="node test/server.test.js" \
	-p va-db="$data/advisories" -p fail-on="${FAIL_ON:-none}" -p deploy-target=local -p deploy-dry-run=$deploy_dry_run \
	-p deploy-local-state-dir="$STATE" -p cluster-namespace="$(jq -r '.parameters["cluster-namespace"]' <<<"$config")" \
	-p evidence-store="$OUT/evidence" -p builder-id=https://github.com/secure-pipeline/pipeline-run \
	${CI_PARAMS:-} >"$OUT/ci-pipelinerun.json"
rc=$?
set -e
cp -r "$ws/source/reports" "$OUT/reports" 2>/dev/null || true

r() { jq -r --arg t "$1" --arg r "$2" '(.tasks + .finally)[] | select(.name == $t) | .results[$r] // empty' "$OUT/ci-pipelinerun.json"; }
cat <<SUMMARY

== ci-pipeline on the sample app: $(jq -r '.reason' "$OUT/ci-pipelinerun.json" 2>/dev/null || echo "no status")
image        $(jq -r '.results.image // "-"' "$OUT/ci-pipelinerun.json" 2>/dev/null)
commit       $(r clone git-commit)
registry     https://$REGISTRY (CA $ws/sslcertdir/registry.crt; gone when the run ends)
notary       $NOTARY_URL
signed by    build, validation (Docker Content Trust on notary-server, cosign in the registry)
public keys  $OUT/trust
scan         $(r va-scan scan-status): $(r va-scan critical-count) critical, $(r va-scan high-count) high, $(r va-scan medium-count) medium (fail-on ${FAIL_ON:-none}; $OUT/reports/va-scan.json)
app          $(r deploy app-url) (health: $(r check-health health-status); stop it: $BIN/deploy --target=local --stop --name=$image_name --local-state-dir=$STATE)
reports      $OUT/reports
evidence     $OUT/evidence (publish-doi's store: signed in-toto records per stage)
logs         $OUT/logs/<taskrun>/<step>.log
status       $OUT/ci-pipelinerun.json, $OUT/dct-init-pipelinerun.json
SUMMARY
exit $rc
