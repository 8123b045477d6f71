#!/usr/bin/env bash
# check-health against a small app (tests/servers/health-app.py: plain
# HTTP, TLS; openssl s_server for mutual TLS) and against the Kubernetes
# API emulator (tests/servers/k8s.sh) for --deployment: healthy answers,
# retries until healthy, unhealthy (exit 1, last status and body excerpt),
# unreachable (exit 5), TLS options (mutual TLS against openssl s_server), headers and their redaction, rollout
# and pod readiness through the API, a refused token (4), an API that
# resets connections, and a request log showing nothing was written.
# One line per test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
servers=$here/../servers
bin=${PIPELINE_BIN:-$here/../../build/asan/bin}/check-health
build=${PIPELINE_BUILD:-$here/../../build}
work=$(mktemp -d)
fails=0
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	"$servers/k8s.sh" stop "$work/k8s" 2>/dev/null
	if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

pass() { echo "PASS: check-health-$1"; }
fail() { echo "FAIL: check-health-$1${2:+ ($2)}"; fails=$((fails + 1)); }
has() { grep -qF -- "$2" "$work/$1.err"; }
# ch NAME EXPECTED-EXIT args...: stdout/stderr in $work/NAME.out/.err, results in $work/NAME.res
ch() {
	local n=$1 want=$2; shift 2
	rm -rf "$work/$n.res"
	"$bin" --results-dir="$work/$n.res" "$@" >"$work/$n.out" 2>"$work/$n.err"
	local rc=$?
	[ "$rc" = "$want" ] || { echo "  $n: exit $rc, want $want: $(tail -1 "$work/$n.err")" >&2; return 1; }
}
res() { cat "$work/$1.res/$2" 2>/dev/null; }

[ -x "$bin" ] || { fail prerequisites "no $bin"; exit 1; }
"$servers/k8s.sh" start "$work/k8s" || { fail start-emulator; exit 1; }
# shellcheck disable=SC1091
. "$work/k8s/env"
certs=$work/k8s
# start_app VAR name args...: VAR is set to its port. Not called in $(...):
# the pid must reach this shell's pids, or the cleanup never stops the app
start_app() {
	local var=$1 n=$2
	shift 2
	python3 "$servers/health-app.py" --port-file "$work/$n.port" "$@" >>"$work/$n.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 100); do [ -s "$work/$n.port" ] && break; sleep 0.05; done
	printf -v "$var" '%s' "$(cat "$work/$n.port")"
}
start_app P plain
start_app S tls --cert "$certs/server.crt" --key "$certs/server.key"
# mutual TLS by a real server: openssl s_server requiring a client certificate
M=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl s_server -quiet -www -Verify 1 -verify_return_error -CAfile "$certs/ca.crt" -cert "$certs/server.crt" \
	-key "$certs/server.key" -accept "127.0.0.1:$M" >"$work/s_server.log" 2>&1 &
pids+=($!)
U=http://127.0.0.1:$P
FAST=(--backoff=50ms --backoff-max=100ms)

# healthy: JSON value by jq; results
if ch healthy 0 --url="$U/healthz" --json-query=.status --json-expect=ok &&
   [ "$(res healthy health-status)" = healthy ] && [ "$(res healthy checked-url)" = "$U/healthz" ] &&
   [[ "$(res healthy response-time-ms)" =~ ^[0-9]+$ ]] && grep -q "^HEALTHY $U/healthz HTTP 200 " "$work/healthy.out"; then
	pass json-query-healthy-results; else fail json-query-healthy-results "$(tail -1 "$work/healthy.err")"; fi

# jq truthiness without --json-expect; a nested boolean
if ch truthy 0 --url="$U/healthz" --json-query=.checks.db && ch falsy 1 --url="$U/degraded" --json-query=.checks.db \
	--timeout=300ms "${FAST[@]}" && has falsy "json-query .checks.db yielded false"; then
	pass json-query-truthiness; else fail json-query-truthiness "$(tail -1 "$work/falsy.err")"; fi

# unhealthy JSON value: exit 1, what was expected and the body
if ch degraded 1 --url="$U/degraded" --json-query=.status --json-expect=ok --timeout=300ms "${FAST[@]}" &&
   has degraded "is unhealthy after" && has degraded 'last answer HTTP 200: json-query .status yielded "degraded", not "ok"' &&
   has degraded 'body: {"status": "degraded"' && [ ! -e "$work/degraded.res" ]; then
	pass json-expect-mismatch-exit-1; else fail json-expect-mismatch-exit-1 "$(tail -1 "$work/degraded.err")"; fi

# a 500: exit 1 with the status and the body excerpt
if ch error 1 --url="$U/error" --timeout=300ms "${FAST[@]}" &&
   has error "last answer HTTP 500: status 500 is not an expected one; body: database down: connection refused"; then
	pass http-500-exit-1-status-and-body; else fail http-500-exit-1-status-and-body "$(tail -1 "$work/error.err")"; fi

# retries with backoff until healthy: two 503s, then 200
if ch flaky 0 --url="$U/flaky" --body-contains=ok "${FAST[@]}" --timeout=10s && has flaky "attempt 1: HTTP 503" &&
   has flaky "attempt 2: HTTP 503" && has flaky "healthy (HTTP 200" && has flaky "attempt 3)"; then
	pass retries-until-healthy; else fail retries-until-healthy "$(tail -1 "$work/flaky.err")"; fi

# status lists and ranges
if ch st204 0 --url="$U/empty" --expect-status=200,204 && ch st204no 1 --url="$U/empty" --expect-status=200 \
	--max-attempts=1 && has st204no "status 204 is not an expected one" &&
   ch st500 0 --url="$U/error" --expect-status=200,500-599; then
	pass expect-status-list-and-range; else fail expect-status-list-and-range; fi

# body substring and regex
if ch contains 0 --url="$U/text" --body-contains="UP and running" &&
   ch contains-no 1 --url="$U/text" --body-contains=DOWN --max-attempts=1 && has contains-no 'the body does not contain "DOWN"' &&
   ch regex 0 --url="$U/text" --body-regex='^service is (UP|READY)' &&
   ch regex-no 1 --url="$U/text" --body-regex='^DOWN$' --max-attempts=1 && has regex-no "the body does not match the regex"; then
	pass body-contains-and-regex; else fail body-contains-and-regex; fi

# a body that is not JSON for a jq query: unhealthy, saying so
if ch notjson 1 --url="$U/text" --json-query=.status --max-attempts=1 && has notjson "json-query .status: "; then
	pass json-query-on-non-json-body; else fail json-query-on-non-json-body "$(tail -1 "$work/notjson.err")"; fi

# headers reach the app; secret-looking values are redacted even from curl's trace
if ch headers 0 --url="$U/headers" --header="X-Probe: yes" --header="X-Api-Key: key-value-9876" \
	--json-query='.["x-probe"] + "/" + .["x-api-key"]' --json-expect="yes/key-value-9876" --log-level=debug &&
   grep -q "X-Probe: yes" "$work/headers.err" && grep -q "X-Api-Key: \*\*\*" "$work/headers.err" &&
   ! grep -q "key-value-9876" "$work/headers.err"; then
	pass headers-sent-secret-values-redacted; else fail headers-sent-secret-values-redacted; fi

# unreachable: exit 5 after the timeout, no results
if ch unreach 5 --url="http://127.0.0.1:1/healthz" --timeout=400ms "${FAST[@]}" &&
   has unreach "http://127.0.0.1:1/healthz unreachable after" && [ ! -e "$work/unreach.res" ]; then
	pass unreachable-exit-5; else fail unreachable-exit-5 "$(tail -1 "$work/unreach.err")"; fi

# TLS: our CA, the system's (refused at once, not retried), --insecure
if ch tls 0 --url="https://127.0.0.1:$S/healthz" --ca-file="$certs/ca.crt" &&
   ch tls-noca 4 --url="https://127.0.0.1:$S/healthz" --timeout=10s &&
   ! has tls-noca "attempt 2" && has tls-noca "certificate" &&
   ch tls-insecure 0 --url="https://127.0.0.1:$S/healthz" --insecure; then
	pass tls-ca-file-and-insecure; else fail tls-ca-file-and-insecure "$(tail -1 "$work/tls-noca.err")"; fi

# mutual TLS: with the client certificate healthy; without it, refused (4)
if ch mtls 0 --url="https://127.0.0.1:$M/" --ca-file="$certs/ca.crt" --body-contains=s_server \
	--client-cert="$certs/client.crt" --client-key="$certs/client.key" --timeout=10s &&
   ch mtls-nocert 4 --url="https://127.0.0.1:$M/" --ca-file="$certs/ca.crt" --timeout=5s &&
   has mtls-nocert "refused the TLS client certificate"; then
	pass client-certificate; else fail client-certificate "$(tail -1 "$work/mtls-nocert.err")"; fi

# --deployment: wait for the rollout and Ready pods through the API, then the URL
cat >"$work/app.json" <<'JSON'
{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
 "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
  "template": {"metadata": {"labels": {"app": "web"}},
   "spec": {"containers": [{"name": "app", "image": "registry.example/web@sha256:1111111111111111111111111111111111111111111111111111111111111111"}]}}}}
JSON
kapi() { # method path [content-type body-file]
	curl -sf --cacert "$K8S_CA" -H "Authorization: Bearer $K8S_TOKEN" -X "$1" ${3:+-H "Content-Type: $3"} \
		${4:+--data-binary @"$4"} "$K8S_SERVER$2" >/dev/null
}
"$servers/k8s.sh" config "$work/k8s" '{"rolloutDelay": 1}'
kapi PATCH "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=test" application/apply-patch+yaml "$work/app.json"
from=$(($(wc -l <"$K8S_LOG") + 1))
if ch dep 0 --kubeconfig="$K8S_KUBECONFIG" --deployment=web --url="$U/healthz" --timeout=20s &&
   has dep "waiting for deployment default/web" && has dep "rolled out, pods Ready" &&
   [ "$(res dep health-status)" = healthy ] &&
   grep -q 'watch=true' <(tail -n +"$from" "$K8S_LOG") &&
   [ "$(tail -n +"$from" "$K8S_LOG" | grep -vc '"method": "GET"')" = 0 ]; then
	pass deployment-rollout-watch-then-url-nothing-written; else fail deployment-rollout-watch-then-url-nothing-written "$(tail -1 "$work/dep.err")"; fi

# client certificate kubeconfig; --deployment alone
if ch dep-cert 0 --kubeconfig="$K8S_KUBECONFIG_CERT" --deployment=web --namespace=default --timeout=10s &&
   [ "$(res dep-cert checked-url)" = "" ] && tail -3 "$K8S_LOG" | grep -q '"user": "cert:test-admin"'; then
	pass deployment-client-cert-kubeconfig; else fail deployment-client-cert-kubeconfig "$(tail -1 "$work/dep-cert.err")"; fi

# a rollout whose pods cannot pull: exit 1 with the waiting reason and the events
"$servers/k8s.sh" config "$work/k8s" '{"rolloutDelay": 0, "failures": [{"image": "nopull", "reason": "ImagePullBackOff"}]}'
sed 's/web@sha256:1111/nopull@sha256:1111/' "$work/app.json" >"$work/nopull.json"
kapi PATCH "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=test" application/apply-patch+yaml "$work/nopull.json"
if ch dep-pull 1 --kubeconfig="$K8S_KUBECONFIG" --deployment=web --timeout=2s &&
   has dep-pull "rollout of deployment default/web did not finish within 2s" &&
   has dep-pull "container app: waiting: ImagePullBackOff" && has dep-pull "event Warning Pod/web-" &&
   has dep-pull ": Failed: Failed to pull image"; then
	pass deployment-image-pull-backoff-exit-1; else fail deployment-image-pull-backoff-exit-1 "$(tail -1 "$work/dep-pull.err")"; fi

# progress deadline exceeded: exit 1 at once, kubectl's words
"$servers/k8s.sh" config "$work/k8s" '{"failures": [{"deployment": "web", "reason": "ProgressDeadlineExceeded"}]}'
sed 's/web@sha256:1111/web@sha256:2222/' "$work/app.json" >"$work/pde.json"
kapi PATCH "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=test" application/apply-patch+yaml "$work/pde.json"
if ch dep-pde 1 --kubeconfig="$K8S_KUBECONFIG" --deployment=web --timeout=20s &&
   has dep-pde 'rollout of deployment default/web failed: ProgressDeadlineExceeded: ReplicaSet "web-' &&
   has dep-pde 'has timed out progressing.'; then
	pass deployment-progress-deadline-exit-1; else fail deployment-progress-deadline-exit-1 "$(tail -1 "$work/dep-pde.err")"; fi
"$servers/k8s.sh" config "$work/k8s" '{"failures": []}'
kapi PATCH "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=test" application/apply-patch+yaml "$work/app.json"

# a missing deployment, a refused token
if ch dep-missing 1 --kubeconfig="$K8S_KUBECONFIG" --deployment=nope --timeout=2s &&
   has dep-missing 'HTTP 404: deployments.apps "nope" not found' &&
   ch dep-badtok 4 --kubeconfig="$K8S_KUBECONFIG_BADTOKEN" --deployment=web --timeout=2s &&
   has dep-badtok "HTTP 401: Unauthorized (the kubeconfig's token or client certificate was refused)"; then
	pass deployment-missing-1-bad-token-4; else fail deployment-missing-1-bad-token-4 "$(tail -1 "$work/dep-badtok.err")"; fi

# an API server that resets the first connections and answers 503 once: retried through
"$servers/k8s.sh" config "$work/k8s" '{"resetFirst": 2, "fail503": 1}'
if ch dep-flaky 0 --kubeconfig="$K8S_KUBECONFIG" --deployment=web --timeout=20s; then
	pass deployment-api-resets-retried; else fail deployment-api-resets-retried "$(tail -1 "$work/dep-flaky.err")"; fi

# the API down: exit 5
"$servers/k8s.sh" stop "$work/k8s"
if ch dep-down 5 --kubeconfig="$K8S_KUBECONFIG" --deployment=web --timeout=5s; then
	pass deployment-api-down-exit-5; else fail deployment-api-down-exit-5 "$(tail -1 "$work/dep-down.err")"; fi

exit $((fails > 0))
