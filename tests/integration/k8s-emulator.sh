#!/usr/bin/env bash
# The Kubernetes API emulator (tests/servers/k8s-api.py), judged by the real
# kubectl (Debian trixie's 1.32, fetched under the build folder by
# tests/servers/trixie-bin.sh): server-side apply with conflicts and
# --force-conflicts, get -o json, rollout status (success, and
# ProgressDeadlineExceeded), rollout undo to the previous revision, delete,
# a client-side apply of `create secret docker-registry --dry-run=client`,
# token and client-certificate kubeconfigs, a refused token, and the
# request log that proves what was (not) written. One line per test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
servers=$here/../servers
build=${PIPELINE_BUILD:-$here/../../build}
work=$(mktemp -d)
fails=0
cleanup() {
	"$servers/k8s.sh" stop "$work/k8s" 2>/dev/null
	if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

pass() { echo "PASS: k8s-emulator-$1"; }
fail() { echo "FAIL: k8s-emulator-$1${2:+ ($2)}"; fails=$((fails + 1)); }
has() { grep -qF -- "$2" "$work/$1.out"; }

KUBECTL=${KUBECTL:-$("$servers/trixie-bin.sh" "$build" kubectl kubectl 2>"$work/fetch.log")} ||
	{ fail prerequisites "kubectl from trixie: $(tail -2 "$work/fetch.log")"; exit 1; }
for tool in openssl python3 curl; do
	command -v "$tool" >/dev/null || { fail prerequisites "$tool is not installed"; exit 1; }
done
"$servers/k8s.sh" start "$work/k8s" || { fail start; exit 1; }
# shellcheck disable=SC1091
. "$work/k8s/env"
export HOME=$work/home KUBECONFIG=$K8S_KUBECONFIG
mkdir -p "$HOME"
# run NAME kubectl-args...: output in $work/NAME.out, exit status returned
k() { local n=$1; shift; "$KUBECTL" "$@" >"$work/$n.out" 2>&1; }
writes() { # count non-GET requests in the log from line $1 on
	tail -n +"$1" "$K8S_LOG" | python3 -c 'import json,sys; print(sum(1 for l in sys.stdin if json.loads(l)["method"] not in ("GET","HEAD")))'
}
lines() { wc -l <"$K8S_LOG"; }

if k version version && has version "Client Version: v1.32" && has version "Server Version: v1.32.0-emulator"; then
	pass version; else fail version "$(tail -1 "$work/version.out")"; fi

cat >"$work/app.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: registry.example/web@sha256:1111111111111111111111111111111111111111111111111111111111111111
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
data:
  mode: production
YAML

# server-side apply: every document, as PATCH apply-patch+yaml with fieldManager
from=$(lines)
if k apply apply --server-side -f "$work/app.yaml" && has apply "deployment.apps/web serverside-applied" &&
   has apply "service/web serverside-applied" && has apply "configmap/web-config serverside-applied" &&
   [ "$(tail -n +"$from" "$K8S_LOG" | grep -c '"method": "PATCH".*fieldManager=kubectl.*apply-patch+yaml')" = 4 ]; then
	pass apply-server-side; else fail apply-server-side "$(tail -2 "$work/apply.out")"; fi

if k rollout-ok -n shop rollout status deployment/web --timeout=20s &&
   has rollout-ok 'deployment "web" successfully rolled out'; then
	pass rollout-status-success; else fail rollout-status-success "$(tail -1 "$work/rollout-ok.out")"; fi

# get -o json: the object as stored, status moved by the controller
if k get-json -n shop get deployment web -o json --show-managed-fields &&
   python3 - "$work/get-json.out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
st = d["status"]
assert d["metadata"]["generation"] == 1 and st["observedGeneration"] == 1, d["metadata"]
assert st["replicas"] == st["updatedReplicas"] == st["availableReplicas"] == st["readyReplicas"] == 2, st
assert {c["type"]: c["status"] for c in st["conditions"]} == {"Available": "True", "Progressing": "True"}, st
assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
assert [m["manager"] for m in d["metadata"]["managedFields"] if m["operation"] == "Apply"] == ["kubectl"]
PY
then pass get-json-status-and-managed-fields; else fail get-json-status-and-managed-fields; fi

# pods of the rollout, found by label, with ready containers
if k pods -n shop get pods -l app=web -o json &&
   python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["items"]; assert len(p)==2 and all(s["ready"] for i in p for s in i["status"]["containerStatuses"])' "$work/pods.out"; then
	pass pods-by-label-ready; else fail pods-by-label-ready; fi

# another manager changing a field kubectl owns: 409 FieldManagerConflict
sed 's/replicas: 2/replicas: 3/' "$work/app.yaml" >"$work/app3.yaml"
from=$(lines)
if ! k conflict apply --server-side --field-manager=other -f "$work/app3.yaml" &&
   has conflict 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' &&
   k conflict-get -n shop get deployment web -o jsonpath='{.spec.replicas}' && has conflict-get 2 &&
   tail -n +"$from" "$K8S_LOG" | grep -q '"path": "/apis/apps/v1/namespaces/shop/deployments/web".*"status": 409'; then
	pass apply-conflict-409; else fail apply-conflict-409 "$(head -1 "$work/conflict.out")"; fi
if k force apply --server-side --force-conflicts --field-manager=other -f "$work/app3.yaml" &&
   k force-get -n shop get deployment web -o json --show-managed-fields &&
   python3 - "$work/force-get.out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["spec"]["replicas"] == 3 and d["metadata"]["generation"] == 2, d["spec"]
owners = {m["manager"]: m["fieldsV1"] for m in d["metadata"]["managedFields"]}
assert "f:replicas" in owners["other"]["f:spec"] and "f:replicas" not in owners["kubectl"].get("f:spec", {}), owners
PY
then pass apply-force-conflicts-takes-ownership; else fail apply-force-conflicts-takes-ownership "$(tail -1 "$work/force.out")"; fi

# a rollout the emulator is told to fail: kubectl's progress deadline message
"$servers/k8s.sh" config "$work/k8s" '{"failures": [{"image": "web-broken", "reason": "ProgressDeadlineExceeded"}]}'
k set-image -n shop set image deployment/web app=registry.example/web-broken@sha256:2222222222222222222222222222222222222222222222222222222222222222
if ! k rollout-bad -n shop rollout status deployment/web --timeout=20s &&
   has rollout-bad 'error: deployment "web" exceeded its progress deadline'; then
	pass rollout-status-progress-deadline-exceeded; else fail rollout-status-progress-deadline-exceeded "$(tail -1 "$work/rollout-bad.out")"; fi
if k events -n shop get events -o json &&
   grep -q '"reason": "ProgressDeadlineExceeded"' "$work/events.out"; then
	pass failure-event; else fail failure-event; fi

# ImagePullBackOff: waiting reason on the pods
"$servers/k8s.sh" config "$work/k8s" '{"failures": [{"image": "web-nopull", "reason": "ImagePullBackOff"}]}'
k set-image2 -n shop set image deployment/web app=registry.example/web-nopull@sha256:3333333333333333333333333333333333333333333333333333333333333333
if k pods-bad -n shop get pods -l app=web -o jsonpath='{.items[*].status.containerStatuses[*].state.waiting.reason}' &&
   has pods-bad ImagePullBackOff && ! k rollout-pull -n shop rollout status deployment/web --timeout=2s; then
	pass image-pull-backoff-pods; else fail image-pull-backoff-pods "$(cat "$work/pods-bad.out")"; fi

# rollout undo: the previous revision's template comes back, as a new revision
if k undo -n shop rollout undo deployment/web && k rollout-undo -n shop rollout status deployment/web --timeout=20s &&
   has rollout-undo 'successfully rolled out' &&
   k undo-get -n shop get deployment web -o json &&
   python3 - "$work/undo-get.out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
img = d["spec"]["template"]["spec"]["containers"][0]["image"]
assert "web-broken" in img, img
assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4", d["metadata"]["annotations"]
PY
then pass rollout-undo-previous-revision; else fail rollout-undo-previous-revision "$(tail -1 "$work/undo.out")"; fi
"$servers/k8s.sh" config "$work/k8s" '{"failures": []}'

# a StatefulSet's history is its ControllerRevisions: kubectl lists them,
# waits with its StatefulSet rule, and undoes with their strategic-merge data
cat >"$work/sts.yaml" <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: shop
spec:
  replicas: 2
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: db
        image: registry.example/db@sha256:4444444444444444444444444444444444444444444444444444444444444444
YAML
revisions() { # the REVISION column of `kubectl rollout history`
	awk '$1 ~ /^[0-9]+$/ { printf "%s ", $1 }' "$work/$1.out"
}
"$servers/k8s.sh" config "$work/k8s" '{"failures": [{"image": "db-broken", "reason": "CrashLoopBackOff"}]}'
if k sts-apply apply --server-side -f "$work/sts.yaml" &&
   k sts-ok -n shop rollout status statefulset/db --timeout=20s && has sts-ok 'partitioned roll out complete: 2 new pods have been updated'; then
	pass statefulset-rollout-status; else fail statefulset-rollout-status "$(tail -1 "$work/sts-ok.out")"; fi
k sts-set -n shop set image statefulset/db db=registry.example/db-broken@sha256:5555555555555555555555555555555555555555555555555555555555555555
if ! k sts-bad -n shop rollout status statefulset/db --timeout=2s &&
   k sts-hist -n shop rollout history statefulset/db && [ "$(revisions sts-hist)" = "1 2 " ]; then
	pass statefulset-failed-rollout-history; else fail statefulset-failed-rollout-history "$(cat "$work/sts-hist.out")"; fi
if k sts-undo -n shop rollout undo statefulset/db && has sts-undo "rolled back" &&
   k sts-undo-ok -n shop rollout status statefulset/db --timeout=20s &&
   k sts-get -n shop get statefulset db -o 'jsonpath={.spec.template.spec.containers[0].image}' &&
   has sts-get "registry.example/db@sha256:4444" &&
   k sts-hist2 -n shop rollout history statefulset/db && [ "$(revisions sts-hist2)" = "2 3 " ]; then
	pass statefulset-rollout-undo-previous-revision
else fail statefulset-rollout-undo-previous-revision "$(tail -1 "$work/sts-undo.out") $(cat "$work/sts-get.out")"; fi
"$servers/k8s.sh" config "$work/k8s" '{"failures": []}'

# client-side apply of a generated pull secret (POST, then a patch when it changes)
if "$KUBECTL" create secret docker-registry regcred -n shop --docker-server=r.example --docker-username=u \
	--docker-password=pw-one --dry-run=client -o yaml 2>"$work/gen.err" | k secret apply -f - &&
   has secret "secret/regcred created" &&
   k secret-get -n shop get secret regcred -o jsonpath='{.type} {.data.\.dockerconfigjson}' &&
   has secret-get "kubernetes.io/dockerconfigjson" &&
   [ "$(cut -d' ' -f2 "$work/secret-get.out" | base64 -d | python3 -c 'import json,sys; print(json.load(sys.stdin)["auths"]["r.example"]["password"])')" = pw-one ] &&
   "$KUBECTL" create secret docker-registry regcred -n shop --docker-server=r.example --docker-username=u \
	--docker-password=pw-two --dry-run=client -o yaml 2>>"$work/gen.err" | k secret2 apply -f - &&
   has secret2 "secret/regcred configured" &&
   k secret-get2 -n shop get secret regcred -o jsonpath='{.data.\.dockerconfigjson}' &&
   [ "$(base64 -d <"$work/secret-get2.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["auths"]["r.example"]["password"])')" = pw-two ]; then
	pass pull-secret-client-side-apply; else fail pull-secret-client-side-apply "$(tail -1 "$work/secret.out" "$work/secret2.out" 2>/dev/null)"; fi

# client certificate kubeconfig (inline data); the server names the user by its CN
from=$(lines)
if KUBECONFIG=$K8S_KUBECONFIG_CERT k cert get namespaces && has cert shop &&
   tail -n +"$from" "$K8S_LOG" | grep -q '"user": "cert:test-admin"'; then
	pass client-certificate-kubeconfig; else fail client-certificate-kubeconfig "$(tail -1 "$work/cert.out")"; fi

# a refused token: kubectl's 401 message, and nothing written
from=$(lines)
if ! KUBECONFIG=$K8S_KUBECONFIG_BADTOKEN k badtok-get -n shop get deployments &&
   has badtok-get "error: You must be logged in to the server (Unauthorized)" &&
   ! KUBECONFIG=$K8S_KUBECONFIG_BADTOKEN k badtok apply --server-side -f "$work/app.yaml" &&
   has badtok "the server has asked for the client to provide credentials" &&
   [ "$(writes "$from")" = 0 ] && tail -n +"$from" "$K8S_LOG" | grep -q '"status": 401'; then
	pass wrong-token-401-nothing-written; else fail wrong-token-401-nothing-written "$(tail -1 "$work/badtok.out")"; fi

# watch: a change made while watching arrives as a MODIFIED line
rv=$(curl -sf --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" \
	"$K8S_SERVER/api/v1/namespaces/shop/configmaps/web-config" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
curl -sN --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" --max-time 20 \
	"$K8S_SERVER/api/v1/namespaces/shop/configmaps?watch=true&fieldSelector=metadata.name%3Dweb-config&resourceVersion=$rv&timeoutSeconds=3" \
	>"$work/watch.out" &
wpid=$!
k patch -n shop patch configmap web-config --type=merge -p '{"data":{"mode":"canary"}}'
wait "$wpid"
if has patch "configmap/web-config patched" && python3 - "$work/watch.out" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [e["type"] for e in evs] == ["MODIFIED"], evs
assert evs[0]["object"]["data"]["mode"] == "canary"
PY
then pass watch-streams-modified-and-ends-at-timeout; else fail watch-streams-modified-and-ends-at-timeout "$(head -c 300 "$work/watch.out")"; fi

# json-patch with a failing test op: 422, object unchanged
if ! k jpatch -n shop patch configmap web-config --type=json -p '[{"op":"test","path":"/data/mode","value":"x"},{"op":"replace","path":"/data/mode","value":"y"}]' &&
   has jpatch "the test operation on /data/mode failed" &&
   k jpatch-get -n shop get configmap web-config -o jsonpath='{.data.mode}' && has jpatch-get canary; then
	pass json-patch-test-op; else fail json-patch-test-op "$(tail -1 "$work/jpatch.out")"; fi

# delete: everything the manifests made is gone (kubectl waits for it)
if k delete delete -f "$work/app.yaml" --timeout=20s && has delete 'deployment.apps "web" deleted' &&
   ! k gone -n shop get deployment web && has gone 'Error from server (NotFound)' &&
   grep -q '"path": "/apis/apps/v1/namespaces/shop/deployments/web", "query": "", .*"status": 404' "$K8S_LOG" &&
   k rs-gone get replicasets -A -o name && ! grep -q . "$work/rs-gone.out"; then
	pass delete-cascades; else fail delete-cascades "$(tail -2 "$work/delete.out")"; fi

# fault injection: a reset connection, then a 503, then service again
"$servers/k8s.sh" config "$work/k8s" '{"resetFirst": 1, "fail503": 1}'
c1=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" "$K8S_SERVER/version"; echo " $?")
c2=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" "$K8S_SERVER/version")
c3=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" "$K8S_SERVER/version")
if [ "$c1" = "000 56" ] && [ "$c2" = 503 ] && [ "$c3" = 200 ]; then
	pass fault-injection-reset-then-503; else fail fault-injection-reset-then-503 "$c1 / $c2 / $c3"; fi

exit $((fails > 0))
