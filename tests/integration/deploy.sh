#!/usr/bin/env bash
# deploy end to end: images in the real docker-registry, signed by the real
# notary-server (dct-init + build-sign as two signers), deployed to the
# Kubernetes API emulator (tests/servers/k8s.sh). The gate refuses what is
# not signed by both signers, and the emulator's request log proves that
# nothing was written then; rollouts succeed, fail with their reasons and
# roll back; auth and reachability map to exits 4 and 5.
# Prints PASS:/FAIL: per test; exits non-zero if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=deploy tools="notary-server docker-registry skopeo" keep=DEPLOY_KEEP
. "$here/lib/prelude.sh"
. "$root/tests/servers/signed-images.sh"
at_exit+=(signed_images_stop '"$root/tests/servers/k8s.sh" stop "$W/k8s" >/dev/null 2>&1')

# ---- servers, keys, signed images (D1 both signers, D2 build, D3 none) ---
if signed_images_start "$W/signed" "$BIN"; then pass setup-signed-images; else
	fail setup-signed-images "$(tail -3 "$W/signed/signed-images.log")"; exit 1; fi
if ! "$root/tests/servers/k8s.sh" start "$W/k8s" >"$LOGS/k8s-start" 2>&1; then fail k8s-start "$(cat "$LOGS/k8s-start")"; exit 1; fi
. "$W/k8s/env"
NOTARY=(--notary-server="$NOTARY_URL" --notary-ca="$NOTARY_CA")

APP=$W/app.yaml
sed "s|registry.local/hello/hello-secure-app@sha256:0*|$IMG:v0|" "$root/examples/app/deployment.yml" >"$APP"
GATE=(--signers=build --signers=validation "${NOTARY[@]}" --trust-state-dir="$W/tstate")
DEPLOY=("$BIN/deploy" --manifests="$APP" --kubeconfig="$K8S_KUBECONFIG" "${GATE[@]}" --timeout=30)
writes() { # requests logged since line $1 that change something
	tail -n +"$1" "$K8S_LOG" | grep -cE '"method": "(POST|PUT|PATCH|DELETE)"'
}
mark() { echo $(($(wc -l <"$K8S_LOG") + 1)); }

# ---- the gate: nothing reaches the cluster unless both signed ------------
from=$(mark)
if run gate-single 3 "${DEPLOY[@]}" --image="$IMG@$D2" &&
   has gate-single "refusing to deploy $IMG@$D2: not signed by every required signer: validation (dct)" &&
   ! has gate-single "build (dct)" && has gate-single "nothing was applied" && [ "$(writes "$from")" = 0 ] &&
   [ "$(tail -n +"$from" "$K8S_LOG" | wc -l)" = 0 ]; then
	pass singly-signed-exit-3-no-request; else fail singly-signed-exit-3-no-request; fi
from=$(mark)
if run gate-unsigned 3 "${DEPLOY[@]}" --image="$IMG@$D3" &&
   has gate-unsigned "not signed by every required signer: build (dct): .*; validation (dct): " &&
   [ "$(tail -n +"$from" "$K8S_LOG" | wc -l)" = 0 ]; then
	pass unsigned-exit-3-no-request; else fail unsigned-exit-3-no-request; fi
# cosign format: D1's signature copied to D3's signature tag signs another digest
sig1=$(skopeo inspect --raw --cert-dir="$W/signed/certs" "docker://$IMG:sha256-${D1#sha256:}.sig")
from=$(mark)
if printf %s "$sig1" | curl -sf --cacert "$REGISTRY_CA" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	--data-binary @- "https://$REGISTRY/v2/hello/app/manifests/sha256-${D3#sha256:}.sig" -o /dev/null &&
   run gate-other-digest 3 "${DEPLOY[@]}" --image="$IMG@$D3" --format=cosign \
	--signers=build="$W/signed/ks/build.pub" --signers=validation="$W/signed/ks/validation.pub" --registry-ca="$REGISTRY_CA" &&
   has gate-other-digest "not signed by every required signer: build (cosign): .*${D1#sha256:}" &&
   [ "$(tail -n +"$from" "$K8S_LOG" | wc -l)" = 0 ]; then
	pass signature-for-another-digest-exit-3-no-request; else fail signature-for-another-digest-exit-3-no-request; fi
# trust data that fails verification: a targets role whose signature no longer matches
mkdir -p "$W/bad"
for r in root timestamp snapshot targets targets/build targets/validation targets/releases; do
	mkdir -p "$(dirname "$W/bad/$r.json")"
	curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$IMG/_trust/tuf/$r.json" -o "$W/bad/$r.json" 2>/dev/null
done
python3 - "$W/bad/targets/validation.json" "$D2" <<'EOF'
import json, sys
p, d = sys.argv[1], sys.argv[2]
doc = json.load(open(p))
for t in doc["signed"]["targets"].values():
    t["hashes"]["sha256"] = __import__("base64").b64encode(bytes.fromhex(d[7:])).decode()
json.dump(doc, open(p, "w"))
EOF
from=$(mark)
if run gate-tampered 3 "$BIN/deploy" --manifests="$APP" --kubeconfig="$K8S_KUBECONFIG" --signers=build \
	--signers=validation --trust-data-dir="$W/bad" --image="$IMG@$D2" &&
   has gate-tampered "validation (dct): " && [ "$(tail -n +"$from" "$K8S_LOG" | wc -l)" = 0 ]; then
	pass tampered-trust-data-exit-3-no-request; else fail tampered-trust-data-exit-3-no-request; fi

# ---- a signed digest is deployed ----------------------------------------
from=$(mark)
if run deploy-ok 0 "${DEPLOY[@]}" --image="$IMG:v1@$D1" --results-dir="$W/r1" &&
   has deploy-ok "DEPLOYMENT SUCCEEDED: http://hello-secure-app.hello.svc.cluster.local:80" &&
   [ "$(cat "$W/r1/deployed-digest")" = "$D1" ] && [ "$(cat "$W/r1/cluster-namespace")" = hello ] &&
   [ "$(cat "$W/r1/revision")" = 1 ] &&
   [ "$(cat "$W/r1/app-url")" = "http://hello-secure-app.hello.svc.cluster.local:80" ] &&
   [ "$(tail -n +"$from" "$K8S_LOG" | grep -c '"method": "PATCH".*fieldManager=deploy.*apply-patch+yaml')" = 3 ] &&
   [ "$(tail -n +"$from" "$K8S_LOG" | grep -c 'watch=true')" -ge 0 ]; then
	pass signed-digest-deployed; else fail signed-digest-deployed; fi
got=$(curl -sf --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" \
	"$K8S_SERVER/apis/apps/v1/namespaces/hello/deployments/hello-secure-app" |
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["spec"]["template"]["spec"]["containers"][0]["image"])')
if [ "$got" = "$IMG@$D1" ]; then pass cluster-runs-the-digest-not-the-tag; else fail cluster-runs-the-digest-not-the-tag "$got"; fi

# the image pull secret holds only this registry's credentials, and the
# pod template references it; an Ingress gives the app URL; a dry run
# prints what would be applied, the secret's data redacted
PULLPASS="pull-$(openssl rand -hex 6)"
printf '{"auths": {"%s": {"auth": "%s"}, "other.example": {"auth": "%s"}}}' "$REGISTRY" \
	"$(printf 'puller:%s' "$PULLPASS" | base64 -w0)" "$(printf 'x:other-secret' | base64 -w0)" >"$W/auth.json"
cat "$APP" - >"$W/app-ing.yaml" <<'YAML'
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: hello
spec:
  tls: [{hosts: [app.example.test], secretName: web-tls}]
  rules:
  - host: app.example.test
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: hello-secure-app, port: {number: 80}}}}]
YAML
api() { curl -sf --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" "$K8S_SERVER$1"; }
if run pull-secret 0 "$BIN/deploy" --manifests="$W/app-ing.yaml" --kubeconfig="$K8S_KUBECONFIG" "${GATE[@]}" \
	--image="$IMG@$D1" --pull-secret-name=regcred --pull-secret-authfile="$W/auth.json" --results-dir="$W/r2" &&
   [ "$(cat "$W/r2/app-url")" = "https://app.example.test/" ] &&
   api /api/v1/namespaces/hello/secrets/regcred | python3 -c '
import base64, json, sys
s = json.load(sys.stdin)
cfg = json.loads(base64.b64decode(s["data"][".dockerconfigjson"]))
assert s["type"] == "kubernetes.io/dockerconfigjson", s["type"]
assert list(cfg["auths"]) == [sys.argv[1]], cfg["auths"].keys()
assert cfg["auths"][sys.argv[1]]["password"] == sys.argv[2]' "$REGISTRY" "$PULLPASS" &&
   [ "$(api /apis/apps/v1/namespaces/hello/deployments/hello-secure-app |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["template"]["spec"]["imagePullSecrets"])')" = \
	"[{'name': 'regcred'}]" ] && ! has pull-secret "$PULLPASS"; then
	pass pull-secret-only-this-registry-referenced-ingress-url; else fail pull-secret-only-this-registry-referenced-ingress-url; fi
from=$(mark)
if run dry-run 0 "$BIN/deploy" --manifests="$W/app-ing.yaml" "${GATE[@]}" --image="$IMG:v1@$D1" --dry-run \
	--pull-secret-name=regcred --pull-secret-authfile="$W/auth.json" &&
   [ "$(grep -c . "$LOGS/dry-run.out")" = 4 ] && grep -q "\"image\":\"$IMG@$D1\"" "$LOGS/dry-run.out" &&
   grep -q '"\.dockerconfigjson":"\*\*\*"' "$LOGS/dry-run.out" && ! has dry-run "$PULLPASS" &&
   [ "$(tail -n +"$from" "$K8S_LOG" | wc -l)" = 0 ]; then
	pass dry-run-prints-pinned-objects-no-request; else fail dry-run-prints-pinned-objects-no-request; fi

# a StatefulSet is waited for with kubectl's rule; a NodePort Service gives
# the app URL on the API server's host
cat >"$W/app-sts.yaml" <<YAML
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "$IMG:v0"}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data}
spec:
  type: NodePort
  selector: {app: db}
  ports: [{port: 5432, nodePort: 30432}]
YAML
if run sts 0 "$BIN/deploy" --manifests="$W/app-sts.yaml" --kubeconfig="$K8S_KUBECONFIG" "${GATE[@]}" \
	--image="$IMG@$D1" --results-dir="$W/r3" &&
   has sts "StatefulSet db rolled out" && [ "$(cat "$W/r3/app-url")" = "http://127.0.0.1:30432" ] &&
   [ "$(cat "$W/r3/cluster-namespace")" = data ] && [ -n "$(cat "$W/r3/revision")" ] &&
   grep -q '"path": "/apis/apps/v1/namespaces/data/statefulsets/db"' "$K8S_LOG"; then
	pass statefulset-rollout-nodeport-url; else fail statefulset-rollout-nodeport-url; fi

# credentials: a named context with a token file; the in-cluster service
# account (its files mounted where a pod has them, in a private mount
# namespace), as a Tekton step runs
printf '%s' "$K8S_TOKEN" >"$W/token" && chmod 600 "$W/token"
cat >"$W/two.kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: elsewhere
clusters:
- {name: dead, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}
- {name: emu, cluster: {server: "$K8S_SERVER", certificate-authority: "$K8S_CA"}}
users:
- {name: nobody, user: {token: nothing}}
- {name: filer, user: {tokenFile: "$W/token"}}
contexts:
- {name: elsewhere, context: {cluster: dead, user: nobody}}
- {name: emulator, context: {cluster: emu, user: filer, namespace: hello}}
YAML
if run context 0 "$BIN/deploy" --manifests="$APP" --kubeconfig="$W/two.kubeconfig" --context=emulator "${GATE[@]}" \
	--image="$IMG@$D1" && ! has context "127.0.0.1:1"; then
	pass named-context-token-file; else fail named-context-token-file; fi
mkdir -p "$W/nohome"
if command -v unshare >/dev/null &&
   run in-cluster 0 env -u KUBECONFIG HOME="$W/nohome" KUBERNETES_SERVICE_HOST=127.0.0.1 \
	KUBERNETES_SERVICE_PORT="${K8S_SERVER##*:}" unshare -m sh -c '
	sa=/var/run/secrets/kubernetes.io/serviceaccount
	mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount $sa &&
	cp "$1" $sa/token && cp "$2" $sa/ca.crt && printf hello >$sa/namespace && shift 2 && exec "$@"' sh \
	"$W/token" "$K8S_CA" "$BIN/deploy" --manifests="$APP" "${GATE[@]}" --image="$IMG@$D1" &&
   has in-cluster "DEPLOYMENT SUCCEEDED"; then
	pass in-cluster-service-account; else fail in-cluster-service-account; fi

get_deploy() { # python expression on the live Deployment d
	curl -sf --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" \
		"$K8S_SERVER/apis/apps/v1/namespaces/hello/deployments/hello-secure-app" |
		python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}
# a field another manager owns: a conflict (exit 1, naming the manager and
# the field) unless --force takes it over
api_patch() { # path content-type body
	curl -sf --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" -X PATCH -H "Content-Type: $2" \
		--data-binary "$3" "$K8S_SERVER$1" -o /dev/null
}
if api_patch "/apis/apps/v1/namespaces/hello/deployments/hello-secure-app?fieldManager=ops&force=true" \
	application/apply-patch+yaml '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"hello-secure-app"},"spec":{"replicas":5}}' &&
   run conflict 1 "${DEPLOY[@]}" --image="$IMG@$D1" && has conflict "409" && has conflict 'conflict with "ops"' &&
   has conflict ".spec.replicas" &&
   run forced 0 "${DEPLOY[@]}" --image="$IMG@$D1" --force && [ "$(get_deploy 'd["spec"]["replicas"]')" = 2 ]; then
	pass apply-conflict-exit-1-force-takes-over; else fail apply-conflict-exit-1-force-takes-over; fi

# a LoadBalancer Service: the URL is the address in its status
python3 -c 'import sys; t = open(sys.argv[1]).read(); i = t.rindex("\n  selector:\n"); print(t[:i] + "\n  type: LoadBalancer" + t[i:], end="")' "$APP" >"$W/app-lb.yaml"
if run lb-first 0 "${DEPLOY[@]}" --manifests="$W/app-lb.yaml" --image="$IMG@$D1" &&
   api_patch /api/v1/namespaces/hello/services/hello-secure-app/status application/merge-patch+json \
	'{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.7"}]}}}' &&
   run lb 0 "${DEPLOY[@]}" --manifests="$W/app-lb.yaml" --image="$IMG@$D1" --results-dir="$W/r4" &&
   [ "$(cat "$W/r4/app-url")" = "http://192.0.2.7:80" ]; then
	pass loadbalancer-address-is-the-app-url; else fail loadbalancer-address-is-the-app-url "$(cat "$W/r4/app-url" 2>/dev/null)"; fi

# ---- failures -----------------------------------------------------------
# a new pod template (revision 2) whose rollout fails: the reason, the
# pods' states, the events, and the previous revision's template back
sed 's/^  template:$/  template:\n    metadata: {annotations: {try: "two"}}/' "$APP" |
	python3 -c 'import sys; t=sys.stdin.read(); print(t.replace("    metadata: {annotations: {try: \"two\"}}\n    metadata:\n", "    metadata:\n      annotations: {try: \"two\"}\n"), end="")' >"$W/app2.yaml"
"$root/tests/servers/k8s.sh" config "$W/k8s" '{"failures": [{"deployment": "hello-secure-app", "reason": "ProgressDeadlineExceeded"}]}'
prev=$(get_deploy 'd["metadata"]["annotations"]["deployment.kubernetes.io/revision"]')
if run rollout-fail 1 "$BIN/deploy" --manifests="$W/app2.yaml" --kubeconfig="$K8S_KUBECONFIG" "${GATE[@]}" \
	--image="$IMG@$D1" --timeout=20 --on-failure=rollback &&
   has rollout-fail "rollout of deployment hello/hello-secure-app failed: ProgressDeadlineExceeded" &&
   has rollout-fail "event Warning Deployment/hello-secure-app: ProgressDeadlineExceeded" &&
   has rollout-fail "rolled back deployment hello-secure-app to revision $prev" &&
   [ "$(get_deploy 'd["spec"]["template"]["metadata"].get("annotations", {}).get("try")')" = None ]; then
	pass rollout-deadline-exceeded-rolled-back; else fail rollout-deadline-exceeded-rolled-back; fi
"$root/tests/servers/k8s.sh" config "$W/k8s" '{"failures": [{"deployment": "hello-secure-app", "reason": "ImagePullBackOff"}]}'
if run rollout-pull 1 "$BIN/deploy" --manifests="$W/app2.yaml" --kubeconfig="$K8S_KUBECONFIG" "${GATE[@]}" \
	--image="$IMG@$D1" --timeout=2s &&
   has rollout-pull "rollout of deployment hello/hello-secure-app did not finish within 2s" &&
   has rollout-pull "container app: waiting: ImagePullBackOff" &&
   [ "$(get_deploy 'd["spec"]["template"]["metadata"]["annotations"]["try"]')" = two ]; then
	pass rollout-image-pull-backoff-reported; else fail rollout-image-pull-backoff-reported; fi
"$root/tests/servers/k8s.sh" config "$W/k8s" '{"failures": []}'

# a StatefulSet's failed rollout rolled back to the ControllerRevision before
# it; a revision that only matches the selector (another owner, a higher
# number) is never taken for the StatefulSet's own history
get_sts() { api /apis/apps/v1/namespaces/data/statefulsets/db | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
curl -sf --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" -H "Content-Type: application/json" -o /dev/null \
	--data-binary '{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"db-planted","labels":{"app":"db"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"other","uid":"0000-other","controller":true}]},"revision":99,"data":{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"db"},"annotations":{"planted":"yes"}},"spec":{"containers":[{"name":"db","image":"planted"}]}}}}}' \
	"$K8S_SERVER/apis/apps/v1/namespaces/data/controllerrevisions"
sed 's/^    metadata: {labels: {app: db}}$/    metadata: {labels: {app: db}, annotations: {try: "two"}}/' "$W/app-sts.yaml" >"$W/app-sts2.yaml"
"$root/tests/servers/k8s.sh" config "$W/k8s" '{"failures": [{"statefulset": "db", "reason": "CrashLoopBackOff"}]}'
sts_image=$(get_sts 'd["spec"]["template"]["spec"]["containers"][0]["image"]')
if run sts-fail 1 "$BIN/deploy" --manifests="$W/app-sts2.yaml" --kubeconfig="$K8S_KUBECONFIG" "${GATE[@]}" \
	--image="$IMG@$D1" --timeout=2s --on-failure=rollback &&
   has sts-fail "rollout of statefulset data/db did not finish within 2s: 0 of 2 pods are ready" &&
   has sts-fail "rolled back statefulset db to revision 1" &&
   [ "$(get_sts 'd["spec"]["template"]["metadata"].get("annotations", {}).get("try")')" = None ] &&
   [ "$(get_sts 'd["spec"]["template"]["metadata"].get("annotations", {}).get("planted")')" = None ] &&
   [ "$(get_sts 'd["spec"]["template"]["spec"]["containers"][0]["image"]')" = "$sts_image" ]; then
	pass statefulset-rollout-failed-rolled-back; else fail statefulset-rollout-failed-rolled-back; fi

if run badtoken 4 "${DEPLOY[@]}" --image="$IMG@$D1" --kubeconfig="$K8S_KUBECONFIG_BADTOKEN" &&
   has badtoken "401"; then pass wrong-token-exit-4; else fail wrong-token-exit-4; fi
if run certauth 0 "${DEPLOY[@]}" --image="$IMG@$D1" --kubeconfig="$K8S_KUBECONFIG_CERT"; then
	pass client-certificate-kubeconfig; else fail client-certificate-kubeconfig; fi
"$root/tests/servers/k8s.sh" config "$W/k8s" '{"fail503": 100}'
if run unreachable 5 "${DEPLOY[@]}" --image="$IMG@$D1" --retries=1 && has unreachable "503"; then
	pass api-down-exit-5-after-retries; else fail api-down-exit-5-after-retries; fi
"$root/tests/servers/k8s.sh" config "$W/k8s" '{"fail503": 0}'

"$root/tests/servers/k8s.sh" config "$W/k8s" '{"resetFirst": 100}'
if run resetting 5 "${DEPLOY[@]}" --image="$IMG@$D1" --retries=2 && has resetting "after 3 attempts"; then
	pass api-resetting-exit-5-after-retries; else fail api-resetting-exit-5-after-retries; fi
"$root/tests/servers/k8s.sh" config "$W/k8s" '{"resetFirst": 0}'

# ---- bad input: exit 2 before any request --------------------------------
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n' >"$W/bad.yaml"
from=$(mark)
if run malformed 2 "${DEPLOY[@]}" --manifests="$W/bad.yaml" --image="$IMG@$D1" && has malformed "$W/bad.yaml:5:" &&
   run nomatch 2 "${DEPLOY[@]}" --image="$REGISTRY/other/app@$D1" && has nomatch "no container in the manifests runs $REGISTRY/other/app" &&
   [ "$(tail -n +"$from" "$K8S_LOG" | wc -l)" = 0 ]; then
	pass bad-manifests-exit-2-no-request; else fail bad-manifests-exit-2-no-request; fi
# a kind the cluster does not serve (a custom resource without its
# definition): discovery says so at its file:line, and nothing is written;
# a cluster-scoped kind is applied without the namespace deploy gives others
{ cat "$APP"; printf -- '---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n'; } >"$W/app-crd.yaml"
from=$(mark)
if run crd 2 "${DEPLOY[@]}" --manifests="$W/app-crd.yaml" --image="$IMG@$D1" &&
   has crd "app-crd.yaml:[0-9]*: the cluster serves no kind Widget in example.com/v1 (is its CustomResourceDefinition installed?)" &&
   [ "$(writes "$from")" = 0 ] && tail -n +"$from" "$K8S_LOG" | grep -q '"path": "/apis/example.com/v1"'; then
	pass unserved-kind-exit-2-nothing-written; else fail unserved-kind-exit-2-nothing-written; fi
{ cat "$APP"; printf -- '---\napiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: hello-ca}\nspec: {selfSigned: {}}\n'; } >"$W/app-cluster.yaml"
from=$(mark)
if run clusterscoped 0 "${DEPLOY[@]}" --manifests="$W/app-cluster.yaml" --image="$IMG@$D1" &&
   tail -n +"$from" "$K8S_LOG" | grep -q '"path": "/apis/cert-manager.io/v1/clusterissuers/hello-ca"' &&
   api /apis/cert-manager.io/v1/clusterissuers/hello-ca >/dev/null; then
	pass cluster-scoped-kind-by-discovery; else fail cluster-scoped-kind-by-discovery; fi
# an exec credential plugin: a clear "not supported"
sed 's/^    token: .*/    exec: {apiVersion: client.authentication.k8s.io\/v1, command: aws}/' "$K8S_KUBECONFIG" >"$W/exec.kubeconfig"
if run exec-plugin 2 "${DEPLOY[@]}" --image="$IMG@$D1" --kubeconfig="$W/exec.kubeconfig" && has exec-plugin "not supported"; then
	pass exec-plugin-not-supported; else fail exec-plugin-not-supported; fi

echo "deploy: $failures failed"
[ "$failures" = 0 ]
