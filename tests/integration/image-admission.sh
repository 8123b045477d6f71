#!/usr/bin/env bash
# image-admission against the real servers: images in the real
# docker-registry signed in the real notary-server by two signers
# (tests/servers/signed-images.sh: D1 both, D2 build only, D3 nobody), the
# webhook served over TLS and asked as the API server asks (AdmissionReview
# v1 over HTTPS with the serving CA). Verdicts, pinning patches, exemptions,
# fail-closed faults (notary down, registry too slow), the HTTP limits
# (malformed, oversized, slowloris, 500 connections), reload (policy and
# certificate, a connection kept open across it), a bounded load test that
# never allows what verify-signatures denies, and graceful SIGTERM.
# Prints PASS:/FAIL: per test; exits non-zero if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
CLIENT=$here/image-admission/client.py
suite=image-admission tools="notary-server docker-registry skopeo openssl python3" keep=ADMISSION_KEEP
. "$here/lib/prelude.sh"
at_exit+=('[ -n "${K8S_STARTED:-}" ] && "$root/tests/servers/k8s.sh" stop "$W/k8s" >/dev/null 2>&1')
. "$root/tests/servers/image-admission.sh"

# the policy: IMG's repository needs build and validation; 127.0.0.1:<slow>
# and the down notary are fault cases; exempt.local and kube-system exempt
PROXY_PORT=$(free_port) # a request-logging proxy in front of the registry (tags resolved once)
policy() { # file signers-json [notary-url for IMG's repository]
	cat >"$1" <<JSON
{"apiVersion": "policy.secure-pipeline.dev/v1", "kind": "ImageAdmissionPolicy",
 "metadata": {"name": "test-policy"},
 "spec": {"exemptNamespaces": ["kube-system"], "exemptImages": ["exempt.local/*"],
  "repositories": [
   {"name": "$REG/hello/*", "format": "dct", "notaryServer": "${3:-$NOTARY_URL}", "signers": $2},
   {"name": "127.0.0.1:$BLACKHOLE_PORT/*", "format": "dct", "notaryServer": "$NOTARY_URL", "signers": $2},
   {"name": "127.0.0.1:$PROXY_PORT/*", "format": "dct", "notaryServer": "$NOTARY_URL", "signers": $2},
   {"name": "notary-down.local/*", "format": "dct", "notaryServer": "https://127.0.0.1:1", "signers": $2}]}}
JSON
}
policy "$W/policy.json" "$BOTH"

if start_server main --deadline=3s --header-timeout=2s --max-body=65536 --workers=4 --tag-ttl=1s; then pass server-starts; else
	fail server-starts "$(tail -3 "$LOGS/main.log")"; exit 1; fi
MAIN_PID=$SERVER_PID
C() { python3 "$CLIENT" "$PORT" "$CA" "$@"; }
# review NAME PATH KIND NS IMAGE...: status line, then the response JSON
review() { local n=$1; shift; C review "$@" >"$LOGS/$n" 2>&1; }
allowed() { sed -n 2p "$LOGS/$1" | grep -q '"allowed": true'; }
denied() { head -1 "$LOGS/$1" | grep -qx 200 && sed -n 2p "$LOGS/$1" | grep -q '"allowed": false'; }

C get /healthz >"$LOGS/healthz" 2>&1
C get /readyz >"$LOGS/readyz" 2>&1
if head -1 "$LOGS/healthz" | grep -qx 200 && head -1 "$LOGS/readyz" | grep -qx 200 && has readyz '"ready"'; then
	pass health-and-ready; else fail health-and-ready "$(cat "$LOGS/healthz" "$LOGS/readyz")"; fi

# ---- verdicts ----
review both /validate Pod team "$IMG@$D1"
if allowed both && ! has both '"patch"'; then pass doubly-signed-allowed; else fail doubly-signed-allowed "$(cat "$LOGS/both")"; fi

review pin /mutate Pod team "$IMG:v1"
if allowed pin && has pin "\"path\": \"/spec/containers/0/image\"" && has pin "\"value\": \"$IMG@$D1\"" &&
   has pin '"op": "replace"'; then pass tag-pinned-to-signed-digest; else fail tag-pinned-to-signed-digest "$(cat "$LOGS/pin")"; fi

review one-signer /validate Pod team "$IMG@$D2"
if denied one-signer && has one-signer "image $IMG@$D2 at $D2: not signed by every required signer: validation (dct)" &&
   ! has one-signer "build (dct)"; then pass one-signer-missing-denied; else fail one-signer-missing-denied "$(cat "$LOGS/one-signer")"; fi

# D3 carries no signature: the signatures there are on other digests
review other-digest /validate Pod team "$IMG@$D3"
if denied other-digest && has other-digest "build (dct)" && has other-digest "validation (dct)" &&
   has other-digest "$D3"; then pass signature-on-another-digest-denied; else fail signature-on-another-digest-denied "$(cat "$LOGS/other-digest")"; fi

review workload /mutate Deployment team "$IMG@$D1" "$IMG@$D3"
if denied workload && has workload "image $IMG@$D3" && ! has workload "image $IMG@$D1" && ! has workload '"patch"'; then
	pass deployment-template-any-image-denies; else fail deployment-template-any-image-denies "$(cat "$LOGS/workload")"; fi

review cron /mutate CronJob team "$IMG:v1" "$IMG@$D1"
if allowed cron && has cron '"/spec/jobTemplate/spec/template/spec/initContainers/0/image"'; then
	pass cronjob-template-pinned; else fail cronjob-template-pinned "$(cat "$LOGS/cron")"; fi

review unknown /validate Pod team "other.local/app@$D1"
if denied unknown && has unknown "no repository entry of policy test-policy covers other.local/app"; then
	pass no-policy-entry-denied; else fail no-policy-entry-denied "$(cat "$LOGS/unknown")"; fi

review exempt-ns /validate Pod kube-system "other.local/app:1"
review exempt-img /validate Pod team "exempt.local/tools/x:1" "$IMG@$D1"
review exempt-lookalike /validate Pod team "exempt.local.evil.com/x:1"
if allowed exempt-ns && has exempt-ns "namespace kube-system is exempt" && allowed exempt-img &&
   denied exempt-lookalike; then pass exemptions-exact; else fail exemptions-exact "$(cat "$LOGS/exempt-"*)"; fi

# ---- the tag moves to an unsigned digest after signing: v1 now names D3;
# seen once the tag's resolution is older than --tag-ttl --
skopeo copy -q --dest-cert-dir="$W/signed/certs" "oci:$W/signed/oci-v3:v3" "docker://$IMG:v1" >/dev/null 2>&1
sleep 1.5
review moved /mutate Pod team "$IMG:v1"
if denied moved && has moved "image $IMG:v1 at $D3: not signed by every required signer"; then
	pass tag-moved-after-signing-denied; else fail tag-moved-after-signing-denied "$(cat "$LOGS/moved")"; fi

# ---- fail closed ----
review notary-down /validate Pod team "notary-down.local/app@$D1"
if denied notary-down && has notary-down "trust data could not be verified (fail closed)" &&
   ! has notary-down "deadline"; then pass notary-down-denied-at-once; else fail notary-down-denied-at-once "$(cat "$LOGS/notary-down")"; fi

review slow-registry /validate Pod team "127.0.0.1:$BLACKHOLE_PORT/app:v1"
if denied slow-registry && has slow-registry "trust data not verified within the 3000 ms deadline (fail closed)"; then
	pass slow-registry-denied-at-deadline; else fail slow-registry-denied-at-deadline "$(cat "$LOGS/slow-registry")"; fi

# ---- no review waits on another image's slow verification: a notary
# that answers each request after 1.5 s (slow-proxy.py), so a verification
# outlives the 3 s deadline; 2 workers, at most 2 verifications. 6 reviews
# of D3 (one verification, shared) and 2 of D2 wait; meanwhile a review of
# D1, verified and cached before the notary turned slow, is answered
# (allowed) and one of another digest, which finds no verification slot,
# is denied at once; D3's and D2's are denied at the deadline. The order
# of the answers proves it. ----
SLOW_PORT=$(free_port)
cert "$W/slow-tls"
cat "$NOTARY_CA" "$W/slow-tls/tls.crt" >"$W/slow-ca.crt"
python3 "$here/image-admission/slow-proxy.py" "$SLOW_PORT" "$W/slow-tls/tls.crt" "$W/slow-tls/tls.key" "$NOTARY_URL" \
	"$NOTARY_CA" "$W/slow-delay" 2>"$LOGS/slow-proxy" &
PIDS+=($!)
policy "$W/race-policy.json" "$BOTH" "https://127.0.0.1:$SLOW_PORT"
A3=$IMG@sha256:$(printf 'c%.0s' $(seq 64))
MAIN_PORT=$PORT
if SERVER_POLICY=$W/race-policy.json SERVER_NOTARY_CA=$W/slow-ca.crt \
	start_server race --deadline=3s --workers=2 --max-verifications=2 --trust-ttl=10m; then
	review race-warm /validate Pod team "$IMG@$D1"
	echo 1.5 >"$W/slow-delay"
	before=$(wc -l <"$LOGS/slow-proxy")
	# the server is on D3 and D2 once both verifications asked the notary
	on_them="for i in \$(seq 1 600); do [ \$(wc -l <'$LOGS/slow-proxy') -ge $((before + 2)) ] && exit 0; sleep 0.05; done; exit 1"
	C race "$on_them" "$IMG@$D3*6" "$IMG@$D2*2" -- "$IMG@$D1" "$A3" >"$LOGS/race" 2>&1
	deadline_denials=$(grep -c "^slow $IMG@\($D3\|$D2\) denied: .*trust data not verified within the 3000 ms deadline (fail closed)" "$LOGS/race")
	if allowed race-warm && head -2 "$LOGS/race" | grep -qx "probe $IMG@$D1 allowed: " &&
	   head -2 "$LOGS/race" | grep -q "^probe $A3 denied: .*verification queue full: 2 verifications are in progress" &&
	   [ "$deadline_denials" = 8 ] && [ "$(wc -l <"$LOGS/race")" = 10 ] &&
	   grep -F '"msg":"access"' "$LOGS/race.log" | grep -F '"cached":1' | grep -qF '"allowed":true'; then
		pass slow-verification-blocks-no-other-review; else fail slow-verification-blocks-no-other-review "$(cat "$LOGS/race")"; fi
	kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
else
	fail slow-verification-blocks-no-other-review "$(tail -3 "$LOGS/race.log")"
fi
rm -f "$W/slow-delay"

# ---- the trust timestamp of a cached verdict is read again ahead of its
# TTL, in the background: a review past half the TTL is answered from the
# cache and starts the refresh; one past the TTL of the first read is
# still answered from the cache, as the refresh renewed it (steady
# traffic never waits for the notary) ----
# (a TTL of 30 s leaves 14 s for each review's own time on a loaded machine)
if SERVER_POLICY=$W/race-policy.json SERVER_NOTARY_CA=$W/slow-ca.crt start_server refresh --trust-ttl=30s; then
	review refresh-1 /validate Pod team "$IMG@$D1"
	first=$(date +%s) # the first read was before this
	sleep 16 # past half the TTL
	stamps=$(grep -c "timestamp.json" "$LOGS/slow-proxy")
	review refresh-2 /validate Pod team "$IMG@$D1"
	for _ in $(seq 1 300); do [ "$(grep -c "timestamp.json" "$LOGS/slow-proxy")" -gt "$stamps" ] && break; sleep 0.1; done
	refreshed=$(grep -c "timestamp.json" "$LOGS/slow-proxy")
	sleep $((first + 31 - $(date +%s))) # past the TTL of the first read
	review refresh-3 /validate Pod team "$IMG@$D1"
	cached=$(grep -F '"msg":"access"' "$LOGS/refresh.log" | grep -cF '"cached":1')
	if allowed refresh-1 && allowed refresh-2 && allowed refresh-3 && [ "$refreshed" -gt "$stamps" ] &&
	   [ "$cached" = 2 ]; then pass trust-timestamp-refreshed-ahead; else
		fail trust-timestamp-refreshed-ahead "cached $cached of 2, timestamp reads $stamps -> $refreshed"; fi
	kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
else
	fail trust-timestamp-refreshed-ahead "$(tail -3 "$LOGS/refresh.log")"
fi

# ---- a tag is resolved once: two reviews of it within --tag-ttl, one
# manifest request at the registry (counted by a logging proxy) ----
python3 "$root/tests/servers/registry-flaky-proxy.py" --port "$PROXY_PORT" --upstream "$REG" --ca "$REGISTRY_CA" \
	--port-file "$W/proxy.port" 2>"$LOGS/proxy" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$W/proxy.port" ] && break; sleep 0.1; done
if start_server tags --insecure-registry --tag-ttl=10m; then
	review tag-1 /validate Pod team "127.0.0.1:$PROXY_PORT/hello/app:v2"
	review tag-2 /validate Pod team "127.0.0.1:$PROXY_PORT/hello/app:v2"
	manifests=$(grep -c "^\(HEAD\|GET\) /v2/hello/app/manifests/v2 " "$LOGS/proxy")
	if [ "$manifests" = 1 ] && has tag-1 "app:v2 at $D2:" && has tag-2 "app:v2 at $D2:"; then
		pass tag-resolved-once; else fail tag-resolved-once "$manifests manifest requests: $(cat "$LOGS/proxy" "$LOGS/tag-1")"; fi
	kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
else
	fail tag-resolved-once "$(tail -3 "$LOGS/tags.log")"
fi
PORT=$MAIN_PORT
SERVER_PID=$MAIN_PID

# ---- HTTP limits: the server keeps serving after each ----
printf '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": 7}' >"$W/malformed.json"
C raw /validate "$W/malformed.json" >"$LOGS/malformed" 2>&1
C get /healthz >"$LOGS/after-malformed" 2>&1
if head -1 "$LOGS/malformed" | grep -qx 400 && has malformed "invalid JSON" &&
   head -1 "$LOGS/after-malformed" | grep -qx 200; then pass malformed-review-400-keeps-serving; else
	fail malformed-review-400-keeps-serving "$(cat "$LOGS/malformed")"; fi

head -c 70000 /dev/zero | tr '\0' 'a' >"$W/big.json"
C raw /validate "$W/big.json" >"$LOGS/oversized" 2>&1
C get /healthz >"$LOGS/after-oversized" 2>&1
if head -1 "$LOGS/oversized" | grep -qx 413 && has oversized "request body too large" &&
   head -1 "$LOGS/after-oversized" | grep -qx 200; then pass oversized-body-413; else
	fail oversized-body-413 "$(cat "$LOGS/oversized")"; fi

C slowloris 20 >"$LOGS/slowloris" 2>&1 &
SLOW=$!
C get /healthz >"$LOGS/during-slowloris" 2>&1
wait $SLOW
if has slowloris closed-by-server && head -1 "$LOGS/during-slowloris" | grep -qx 200; then
	pass slowloris-closed-others-served; else fail slowloris-closed-others-served "$(cat "$LOGS/slowloris")"; fi

C concurrent 500 "$IMG@$D1" >"$LOGS/concurrent" 2>&1
if has concurrent "500/500 answered"; then pass 500-concurrent-connections; else
	fail 500-concurrent-connections "$(tail -3 "$LOGS/concurrent")"; fi

# ---- load: never allows what verify-signatures denies for the digest ----
C load 600 8 "$IMG@$D1" "$IMG@$D2" "$IMG@$D3" >"$LOGS/load" 2>&1
ok=1
for d in "$D1" "$D2" "$D3"; do
	"$BIN/verify-signatures" --image="$IMG@$d" --signers=build="$W/signed/ks/build.pub" \
		--signers=validation="$W/signed/ks/validation.pub" --notary-server="$NOTARY_URL" \
		--notary-ca="$NOTARY_CA" >"$LOGS/cli-$d" 2>&1
	cli=$?
	line=$(grep -F "$IMG@$d " "$LOGS/load")
	a=$(sed -n 's/.*allowed=\([0-9]*\).*/\1/p' <<<"$line")
	dn=$(sed -n 's/.*denied=\([0-9]*\).*/\1/p' <<<"$line")
	if [ "$cli" = 0 ]; then [ "$a" = 200 ] && [ "$dn" = 0 ] || ok=0
	else [ "$cli" = 3 ] && [ "$a" = 0 ] && [ "$dn" = 200 ] || ok=0; fi
done
if [ $ok = 1 ] && [ "$(grep -c 'allowed=200 denied=0' "$LOGS/load")" = 1 ]; then
	pass load-agrees-with-verify-signatures; else fail load-agrees-with-verify-signatures "$(cat "$LOGS/load")"; fi

# ---- access log: JSON lines, no secret ----
if grep -q '"msg":"access"' "$LOGS/main.log" && grep '"msg":"access"' "$LOGS/main.log" | python3 -c '
import json, sys
for line in sys.stdin: json.loads(line)' && ! grep -qF "$SECRET" "$LOGS/main.log" &&
   grep -F '"msg":"access"' "$LOGS/main.log" | grep -F "$D2" | grep -q '"allowed":false'; then
	pass access-log-json-no-secret; else fail access-log-json-no-secret; fi

# ---- reload: policy (build alone now suffices) and certificate, while a
# connection stays open ----
policy "$W/policy.json" "[{\"name\": \"build\", \"publicKey\": $BUILD_PUB}]"
cp "$W/tls/tls.crt" "$W/old.crt"
cert "$W/tls"
cat "$W/old.crt" "$W/tls/tls.crt" >"$W/both-ca.crt" # the client trusts the old and the new certificate
python3 "$CLIENT" "$PORT" "$W/both-ca.crt" keepalive "kill -HUP $MAIN_PID" >"$LOGS/reload" 2>&1
CA=$W/both-ca.crt
review after-reload /validate Pod team "$IMG@$D2"
if has reload "200 200 new-serial" && allowed after-reload && has main.log "policy test-policy reloaded"; then
	pass reload-policy-and-cert-keeps-connections; else fail reload-policy-and-cert-keeps-connections "$(cat "$LOGS/reload")"; fi
echo '{"apiVersion": "nope"}' >"$W/policy.json"
kill -HUP $MAIN_PID; sleep 1
review after-bad-reload /validate Pod team "$IMG@$D2"
if allowed after-bad-reload && has main.log "reloading the policy (the previous one stays)"; then
	pass bad-reload-keeps-policy; else fail bad-reload-keeps-policy "$(cat "$LOGS/after-bad-reload")"; fi

# ---- SIGTERM: graceful ----
kill -TERM $MAIN_PID
wait $MAIN_PID
rc=$?
if [ $rc = 0 ] && has main.log '"msg":"stopped"'; then pass sigterm-graceful; else fail sigterm-graceful "exit $rc"; fi

# ---- new trust data is never answered from an old verdict: D2, denied
# (and cached), gets its validation signature; once the trust timestamp is
# re-read (--trust-ttl) the verdict is reached again ----
CA=$W/tls/tls.crt
policy "$W/policy.json" "$BOTH"
if start_server resign --trust-ttl=1s --cache-ttl=10m; then
	review resign-before /validate Pod team "$IMG@$D2"
	"$BIN/build-sign" --image="$IMG:v2@$D2" --signer=validation "${SIGNED_VAULT[@]}" --notary-server="$NOTARY_URL" \
		--notary-ca="$NOTARY_CA" --registry-ca="$REGISTRY_CA" >"$LOGS/resign-sign" 2>&1
	sleep 1.5
	review resign-after /validate Pod team "$IMG@$D2"
	if denied resign-before && allowed resign-after; then pass new-trust-data-not-answered-from-cache; else
		fail new-trust-data-not-answered-from-cache "$(cat "$LOGS/resign-before" "$LOGS/resign-after" "$LOGS/resign-sign")"; fi
else
	fail new-trust-data-not-answered-from-cache "$(tail -3 "$LOGS/resign.log")"
fi

# ---- image-policy round trip: what it writes, image-admission enforces ----
"$BIN/image-policy" --image="$IMG" --signers=build="$W/signed/ks/build.pub" \
	--signers=validation="$W/signed/ks/validation.pub" --notary-server="$NOTARY_URL" --format=dct \
	--exempt-namespaces=kube-system --policy-file="$W/written-policy.json" --results-dir="$W/ip-results" \
	>"$W/written.yaml" 2>"$LOGS/image-policy.log"
ip_rc=$?
cp "$W/written-policy.json" "$W/policy.json" 2>/dev/null
if [ $ip_rc = 0 ] && start_server written --trust-ttl=1s; then
	review written-d1 /mutate Pod team "$IMG:v1"
	review written-d3 /validate Pod team "$IMG@$D3"
	review written-exempt /validate Pod kube-system "other.local/x:1"
	# the tag v1 names D3 since the tag-moved test: denied; D1 pinned by digest is allowed
	review written-d1-digest /mutate Pod team "$IMG@$D1"
	if denied written-d1 && denied written-d3 && has written-d3 "validation (dct)" && allowed written-exempt &&
	   allowed written-d1-digest; then pass image-policy-output-enforced; else
		fail image-policy-output-enforced "$(cat "$LOGS/written-"* "$LOGS/image-policy.log")"; fi
else
	fail image-policy-output-enforced "image-policy exit $ip_rc: $(tail -3 "$LOGS/image-policy.log") $(tail -3 "$LOGS/written.log" 2>/dev/null)"
fi
# the ConfigMap carries that very policy; the Portieris signer Secrets carry
# the signers' names and public keys; one sigstore-free output for dct
if python3 - "$W/written.yaml" "$W/written-policy.json" "$W/signed/ks" <<'PY'
import base64, json, subprocess, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
kinds = sorted(d["kind"] for d in docs)
assert kinds == ["ConfigMap", "ImagePolicy", "Secret", "Secret"], kinds
cm = next(d for d in docs if d["kind"] == "ConfigMap")
assert json.loads(cm["data"]["policy.json"]) == json.load(open(sys.argv[2])), "ConfigMap differs from the policy file"
ip = next(d for d in docs if d["kind"] == "ImagePolicy")
repo = ip["spec"]["repositories"][0]
assert repo["policy"]["trust"]["enabled"] is True
names = [s["name"] for s in repo["policy"]["trust"]["signerSecrets"]]
for d in docs:
    if d["kind"] != "Secret":
        continue
    assert d["metadata"]["name"] in names
    signer = base64.b64decode(d["data"]["name"]).decode()
    pem = base64.b64decode(d["data"]["publicKey"])
    want = subprocess.run(["openssl", "pkey", "-pubin", "-in", f"{sys.argv[3]}/{signer}.pub", "-outform", "DER"],
                          capture_output=True, check=True).stdout
    got = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem, capture_output=True, check=True).stdout
    assert got == want, f"{signer}: the Secret's key is not the signer's"
PY
then pass image-policy-resources-carry-the-policy; else fail image-policy-resources-carry-the-policy; fi

# ---- the cluster's side: the shipped manifests, a certificate from
# make-cert.sh, the API emulator calling the registered webhooks over TLS
# as the API server does, and the real kubectl ----
servers=$root/tests/servers
MANIFESTS=$root/containers/image-admission
sed "s#IMAGE#$IMG@$D1#" "$MANIFESTS/deploy.yaml" >"$W/deploy.yaml"
if "$BIN/cis-check" --deployment-file="$W/deploy.yaml" --failure-threshold=info >"$LOGS/cis-check" 2>&1; then
	pass manifests-hardened-by-cis-check; else fail manifests-hardened-by-cis-check "$(tail -5 "$LOGS/cis-check")"; fi
KUBECTL=$("$servers/trixie-bin.sh" "${PIPELINE_BUILD:-$root/build}" kubectl kubectl 2>"$LOGS/kubectl-fetch") ||
	{ fail kubectl-prerequisite "$(tail -2 "$LOGS/kubectl-fetch")"; exit 1; }
"$MANIFESTS/make-cert.sh" "$W/kcert" >"$LOGS/make-cert" 2>&1 || fail make-cert "$(cat "$LOGS/make-cert")"
cp "$W/kcert/tls.crt" "$W/kcert/tls.key" "$W/tls/"
"$servers/k8s.sh" start "$W/k8s" >"$LOGS/k8s-start" 2>&1 || { fail emulator-start "$(tail -3 "$LOGS/k8s-start")"; exit 1; }
. "$W/k8s/env"
K8S_STARTED=1
export KUBECONFIG=$K8S_KUBECONFIG HOME=$W/home
mkdir -p "$HOME"
kc() { local n=$1; shift; "$KUBECTL" "$@" >"$LOGS/$n" 2>&1; }
pod() { # name namespace image
	printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  containers:\n  - name: app\n    image: %s\n' "$1" "$2" "$3"
}
# ---- image-policy --apply: through deploy's API client (common/kubeapi,
# server-side apply), every resource read back with the real kubectl is
# what it writes (the Portieris and sigstore CRDs as the emulator serves
# them) ----
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: image-admission\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n' >"$W/ns-policy.yaml"
kc ns-policy apply -f "$W/ns-policy.yaml"
"$BIN/image-policy" --image="$IMG" --signers=build="$W/signed/ks/build.pub" \
	--signers=validation="$W/signed/ks/validation.pub" --notary-server="$NOTARY_URL" --format=both \
	--admission-namespace=image-admission --apply --output="$W/applied.yaml" --results-dir="$W/apply-results" \
	>"$LOGS/apply.out" 2>"$LOGS/apply.log"
apply_rc=$?
if [ $apply_rc = 0 ] && [ ! -s "$LOGS/apply.out" ] && python3 - "$W/applied.yaml" "$KUBECTL" "$W/apply-results/resources" <<'PY'
import json, subprocess, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
kinds = sorted(d["kind"] for d in docs)
assert kinds == ["ClusterImagePolicy", "ClusterImagePolicy", "ConfigMap", "ImagePolicy", "Secret", "Secret"], kinds
listed = open(sys.argv[3]).read().split("\n")
assert len(listed) == len(docs), listed
for d in docs:
    group = d["apiVersion"].rpartition("/")[0]
    kind = d["kind"].lower()
    res = (kind[:-1] + "ies" if kind.endswith("y") else kind + "s") + ("." + group if group else "")
    md = d["metadata"]
    cmd = [sys.argv[2], "get", res, md["name"], "-o", "json", "--show-managed-fields"] + (["-n", md["namespace"]] if "namespace" in md else [])
    live = json.loads(subprocess.run(cmd, capture_output=True, check=True, text=True).stdout)
    assert live["apiVersion"] == d["apiVersion"] and live["kind"] == d["kind"], (live["apiVersion"], d)
    assert live["metadata"]["name"] == md["name"] and live["metadata"].get("namespace") == md.get("namespace"), md
    for k in d:
        if k != "metadata":
            assert live.get(k) == d[k], "%s %s: %s differs" % (d["kind"], md["name"], k)
    managers = [f["manager"] for f in live["metadata"].get("managedFields", [])]
    assert "image-policy" in managers, managers
PY
then pass image-policy-apply-read-back-by-kubectl; else
	fail image-policy-apply-read-back-by-kubectl "exit $apply_rc: $(tail -3 "$LOGS/apply.log")"; fi

if start_server webhook --trust-ttl=1s; then
	"$servers/k8s.sh" config "$W/k8s" "{\"webhookEndpoints\": {\"image-admission/image-admission\": \"127.0.0.1:$PORT\"}}" >/dev/null
	printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n' >"$W/ns.yaml"
	kc hooks apply -f "$W/kcert/webhooks.yaml" && kc ns apply -f "$W/ns.yaml"
	pod unsigned team "$IMG@$D3" >"$W/unsigned.yaml"
	pod signed team "$IMG:v2" >"$W/signed.yaml"
	kc k-unsigned apply -f "$W/unsigned.yaml"; rc_unsigned=$?
	kc k-signed apply -f "$W/signed.yaml"; rc_signed=$?
	kc k-get get pod signed -n team -o 'jsonpath={.spec.containers[0].image}'
	if [ $rc_unsigned != 0 ] && has k-unsigned 'denied the request: image '"$IMG@$D3" &&
	   has k-unsigned "not signed by every required signer: build (dct)" && ! grep -q unsigned <("$KUBECTL" get pods -n team 2>&1); then
		pass kubectl-unsigned-pod-refused-with-our-message; else
		fail kubectl-unsigned-pod-refused-with-our-message "$(cat "$LOGS/k-unsigned")"; fi
	if [ $rc_signed = 0 ] && [ "$(cat "$LOGS/k-get")" = "$IMG@$D2" ]; then
		pass kubectl-signed-pod-stored-pinned; else
		fail kubectl-signed-pod-stored-pinned "$(cat "$LOGS/k-signed" "$LOGS/k-get")"; fi
	printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: team\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: %s\n' "$IMG:v2" >"$W/web.yaml"
	kc k-web apply -f "$W/web.yaml"
	kc k-web-get get deployment web -n team -o 'jsonpath={.spec.template.spec.containers[0].image}'
	if [ "$(cat "$LOGS/k-web-get")" = "$IMG@$D2" ]; then pass kubectl-deployment-template-pinned; else
		fail kubectl-deployment-template-pinned "$(cat "$LOGS/k-web" "$LOGS/k-web-get")"; fi
	pod system kube-system "$IMG@$D3" >"$W/system.yaml"
	if kc k-system apply -f "$W/system.yaml" && ! grep -q '"namespace":"kube-system"' "$LOGS/webhook.log"; then pass namespace-selector-exempts-kube-system; else
		fail namespace-selector-exempts-kube-system "$(cat "$LOGS/k-system")"; fi
	# the webhook gone: failurePolicy Fail refuses (fail closed)
	kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
	pod later team "$IMG:v2" >"$W/later.yaml"
	if ! kc k-down apply -f "$W/later.yaml" && has k-down 'failed calling webhook'; then
		pass webhook-down-refused; else fail webhook-down-refused "$(cat "$LOGS/k-down")"; fi
else
	fail kubectl-webhook-server "$(tail -3 "$LOGS/webhook.log")"
fi

exit $((failures > 0))
