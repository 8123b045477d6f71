#!/usr/bin/env bash
# Attacks on image-admission (issue 17) by an independent tester: each
# test tries to make the webhook allow what verify-signatures denies for
# the same image, crash or starve it, or leak a secret into its log,
# against the real docker-registry and notary-server
# (tests/servers/signed-images.sh: D1 signed by build and validation, D3
# by nobody). Prints PASS:/FAIL: per attack; a FAIL is a weakness.
set -u
here=$(cd "$(dirname "$0")" && pwd)
A=$here/attack-admission/attack.py
suite=attack-admission tools="notary-server docker-registry skopeo openssl python3" keep=ATTACK_KEEP
. "$here/lib/prelude.sh"
. "$root/tests/servers/image-admission.sh"

cat >"$W/policy.json" <<JSON
{"apiVersion": "policy.secure-pipeline.dev/v1", "kind": "ImageAdmissionPolicy",
 "metadata": {"name": "attack-policy"},
 "spec": {"exemptNamespaces": ["kube-system"], "exemptImages": ["exempt.local/*"],
  "repositories": [
   {"name": "$REG/hello/*", "format": "dct", "notaryServer": "$NOTARY_URL", "signers": $BOTH},
   {"name": "127.0.0.1:$BLACKHOLE_PORT/*", "format": "dct", "notaryServer": "$NOTARY_URL", "signers": $BOTH}]}}
JSON
if start_server server --deadline=3s --header-timeout=2s --max-body=65536 --workers=2; then pass server-starts; else
	fail server-starts "$(tail -3 "$LOGS/server.log")"; exit 1; fi
X() { python3 "$A" "$PORT" "$CA" "$@"; }
# attack NAME PATH SHAPE IMAGE...: the review of that shape, answer in $LOGS/NAME
attack() {
	local n=$1 path=$2; shift 2
	X body "$@" >"$W/$n.json" && X send "$path" "$W/$n.json" >"$LOGS/$n" 2>&1
}
allowed() { head -1 "$LOGS/$1" | grep -qx 200 && sed -n 2p "$LOGS/$1" | grep -q '"allowed": true'; }
denied() { head -1 "$LOGS/$1" | grep -qx 200 && sed -n 2p "$LOGS/$1" | grep -q '"allowed": false'; }
alive() { X body plain "exempt.local/x:1" >"$W/alive.json" && X send /validate "$W/alive.json" >"$LOGS/alive" 2>&1 &&
	allowed alive && kill -0 "$SERVER_PID" 2>/dev/null; }
cli_denies() { # image: verify-signatures refuses it (exit 3 or 2)
	"$BIN/verify-signatures" --image="$1" --signers=build="$W/signed/ks/build.pub" \
		--signers=validation="$W/signed/ks/validation.pub" --notary-server="$NOTARY_URL" \
		--notary-ca="$NOTARY_CA" >"$LOGS/cli.out" 2>&1
	[ $? -ne 0 ]
}

# ---- smuggling through the review ----
# an unsigned ephemeral container beside a signed container
attack ephemeral /validate ephemeral "$IMG@$D1" "$IMG@$D3"
if denied ephemeral && has ephemeral "image $IMG@$D3" && ! has ephemeral "image $IMG@$D1"; then
	pass ephemeral-container-checked; else fail ephemeral-container-checked "$(cat "$LOGS/ephemeral")"; fi

# the image written as \u escapes is the same image: D3 stays denied
attack escaped /validate escaped "$IMG@$D3"
if denied escaped && has escaped "image $IMG@$D3"; then pass unicode-escaped-image-denied; else
	fail unicode-escaped-image-denied "$(cat "$LOGS/escaped")"; fi

# a Deployment review whose object is a bare Pod: no template, no allow
attack kind-mismatch /validate deployment-as-pod "$IMG@$D3"
if head -1 "$LOGS/kind-mismatch" | grep -qx 400 && has kind-mismatch "Deployment object has no pod spec at /spec/template"; then
	pass kind-object-mismatch-refused; else fail kind-object-mismatch-refused "$(cat "$LOGS/kind-mismatch")"; fi

# a NUL in the image: the verified prefix is not what the runtime is given
attack nul /validate nul-image "$IMG@$D1" "x"
if cli_denies "$IMG@${D1}x" && ! allowed nul && has nul "NUL"; then pass nul-in-image-refused; else
	fail nul-in-image-refused "$(cat "$LOGS/nul")"; fi

# JSON nested 30000 deep: refused, and the server is still there
attack deep /validate deep
if head -1 "$LOGS/deep" | grep -qx 400 && alive; then pass deeply-nested-json-400-alive; else
	fail deeply-nested-json-400-alive "$(head -c 300 "$LOGS/deep")"; fi

# ---- image reference tricks ----
# a tag that names D1 with the digest of unsigned D3: the digest is what runs
attack tag-digest /mutate plain "$IMG:v1@$D3"
if cli_denies "$IMG:v1@$D3" && denied tag-digest && has tag-digest "at $D3: not signed"; then
	pass tag-plus-unsigned-digest-denied; else fail tag-plus-unsigned-digest-denied "$(cat "$LOGS/tag-digest")"; fi

# uppercase exempt host, a look-alike path without a boundary: not exempt
attack upper-exempt /validate plain "EXEMPT.LOCAL/x:1"
attack prefix-exempt /validate plain "exempt.localhost/x:1"
if ! allowed upper-exempt && ! allowed prefix-exempt; then pass exemption-lookalikes-denied; else
	fail exemption-lookalikes-denied "$(cat "$LOGS/upper-exempt" "$LOGS/prefix-exempt")"; fi

# ---- cache: D1's verdict for hello/app is not reused for hello/other ----
# (the same manifest pushed to a repository with no trust data)
skopeo copy -q --dest-cert-dir="$W/signed/certs" "oci:$W/signed/oci-v1:v1" "docker://$REG/hello/other:v1" >/dev/null 2>&1
attack warm /validate plain "$IMG@$D1"
attack other-repo /mutate plain "$REG/hello/other@$D1"
if allowed warm && cli_denies "$REG/hello/other@$D1" && denied other-repo && has other-repo "image $REG/hello/other@$D1"; then
	pass cached-digest-not-reused-across-repositories; else
	fail cached-digest-not-reused-across-repositories "$(cat "$LOGS/warm" "$LOGS/other-repo")"; fi

# ---- HTTP framing ----
X body plain "$IMG@$D3" >"$W/d3.json"
X body plain "exempt.local/x:1" >"$W/ok.json"
# two pipelined reviews on one connection: each gets its own verdict
python3 - "$W/ok.json" "$W/d3.json" "$W/pipelined" <<'PY'
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
req = lambda d, c: b"POST /validate HTTP/1.1\r\nHost: x\r\nConnection: %s\r\nContent-Length: %d\r\n\r\n" % (c, len(d)) + d
open(sys.argv[3], "wb").write(req(a, b"keep-alive") + req(b, b"close"))
# a Content-Length shorter than the body: the rest is not a second request
open(sys.argv[3] + "-short", "wb").write(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}" +
    b"\x00garbage\r\n\r\n")
# both Content-Length and chunked: refused
open(sys.argv[3] + "-te", "wb").write(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
PY
X wire "$W/pipelined" >"$LOGS/pipelined" 2>&1
if [ "$(cat "$LOGS/pipelined" | tr '\n' ' ')" = "200 200 " ] && alive; then pass pipelined-reviews-answered; else
	fail pipelined-reviews-answered "$(cat "$LOGS/pipelined")"; fi
X wire "$W/pipelined-short" >"$LOGS/short" 2>&1
X wire "$W/pipelined-te" >"$LOGS/te" 2>&1
if [ "$(head -1 "$LOGS/short")" = 400 ] && [ "$(cat "$LOGS/te")" = 411 ] && alive; then
	pass content-length-smuggling-refused; else fail content-length-smuggling-refused "$(cat "$LOGS/short" "$LOGS/te")"; fi

# ---- log redaction: the client's credentials never reach the log ----
TOKEN=tok-$(openssl rand -hex 8)
X send /validate "$W/d3.json" "Authorization: Bearer $TOKEN" "Cookie: s=$TOKEN" >"$LOGS/auth" 2>&1
if denied auth && ! grep -qF "$TOKEN" "$LOGS/server.log" "$LOGS/server.out" && ! grep -qF "$SECRET" "$LOGS/server.log" "$LOGS/server.out"; then
	pass secrets-not-logged; else fail secrets-not-logged "$(grep -F -e "$TOKEN" -e "$SECRET" "$LOGS/server.log" | head -2)"; fi

# ---- policy reloads while reviews are in flight: no allow of D3, no crash ----
python3 "$here/image-admission/client.py" "$PORT" "$CA" load 200 4 "$IMG@$D3" "$IMG@$D1" >"$LOGS/reload-load" 2>&1 &
LOAD=$!
for _ in $(seq 1 10); do kill -HUP "$SERVER_PID"; sleep 0.2; done
wait $LOAD
if grep -qF "$IMG@$D3 allowed=0 denied=100" "$LOGS/reload-load" && grep -qF "$IMG@$D1 allowed=100 denied=0" "$LOGS/reload-load" &&
   [ "$(grep -c '"policy attack-policy reloaded' "$LOGS/server.log")" -ge 1 ] && alive; then
	pass reload-under-load-keeps-verdicts; else fail reload-under-load-keeps-verdicts "$(cat "$LOGS/reload-load")"; fi

# (reviews waiting on a slow registry or notary no longer hold a worker:
# tests/integration/image-admission.sh, slow-verification-blocks-no-other-review,
# proves it with a slow notary and 2 workers)

kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
rc=$?
if [ $rc = 0 ] && ! grep -q "ERROR: AddressSanitizer\|runtime error" "$LOGS/server.log"; then pass clean-exit-no-sanitizer-report; else
	fail clean-exit-no-sanitizer-report "exit $rc: $(grep -m3 "Sanitizer\|runtime error" "$LOGS/server.log")"; fi

[ $failures = 0 ]
