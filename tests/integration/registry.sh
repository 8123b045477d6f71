#!/usr/bin/env bash
# The registry client (common/registry, http, regauth, oci_layout) through
# image-copy, against Debian's docker-registry (TLS + htpasswd, and TLS +
# token auth from our issuer), with skopeo as the oracle for digests and
# formats. One line per test: PASS: name / FAIL: name.
set -u
here=$(cd "$(dirname "$0")" && pwd)
servers=$here/../servers
bin=${PIPELINE_BIN:-$here/../../build/asan/bin}/image-copy
work=$(mktemp -d)
fails=0
cleanup() {
	"$servers/registry.sh" stop "$work/reg" 2>/dev/null
	"$servers/registry.sh" stop "$work/tok" 2>/dev/null
	"$servers/registry.sh" stop "$work/kill" 2>/dev/null
	"$servers/registry.sh" stop "$work/plain" 2>/dev/null
	"$servers/registry.sh" stop "$work/mtls" 2>/dev/null
	[ -f "$work/proxies.pid" ] && kill $(cat "$work/proxies.pid") 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

pass() { echo "PASS: registry-$1"; }
fail() { echo "FAIL: registry-$1${2:+ ($2)}"; fails=$((fails + 1)); }
check() { # name condition-command...
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name"; return 1; fi
}

for tool in docker-registry skopeo htpasswd openssl python3; do
	if ! command -v "$tool" >/dev/null; then
		fail prerequisites "$tool is not installed"
		exit 1
	fi
done
[ -x "$bin" ] || { fail prerequisites "no $bin"; exit 1; }

"$servers/registry.sh" start "$work/reg" htpasswd || { fail start-registry; exit 1; }
"$servers/registry.sh" start "$work/tok" token || { fail start-token-registry; exit 1; }
# shellcheck disable=SC1091
. "$work/reg/env"
R=$REGISTRY CA=$REGISTRY_CA CD=$REGISTRY_CERT_DIR C="$REGISTRY_USER:$REGISTRY_PASS" PASS=$REGISTRY_PASS
# shellcheck disable=SC1091
TR=$(. "$work/tok/env"; echo "$REGISTRY") TCA=$work/tok/ca.crt TCD=$work/tok/certs.d
TC="$(. "$work/tok/env"; echo "$REGISTRY_USER:$REGISTRY_PASS")"

fx=$work/fx
img=$(python3 "$servers/registry-fixtures.py" image "$fx/src" v1)
idx=$(python3 "$servers/registry-fixtures.py" image "$fx/src" multi --index)
copy() { "$bin" --results-dir="$work/res" "$@"; }
result() { cat "$work/res/$1" 2>/dev/null; }
skopeo_digest() { # ref certdir creds
	skopeo inspect --cert-dir "$2" --creds "$3" --format '{{.Digest}}' "$1" 2>/dev/null
}

# 1. push an OCI layout with ours; skopeo sees the same digest
rm -rf "$work/res"
copy --src="oci:$fx/src:v1" --dest="docker://$R/test/app:v1" --dest-creds="$C" --ca-file="$CA" 2>"$work/push.log"
rc=$?
check push-exit test $rc = 0
check push-results test "$(result IMAGE_DIGEST)" = "$img" -a "$(result IMAGE_URL)" = "$R/test/app:v1" -a "$(result image-ref)" = "$R/test/app@$img"
check push-skopeo-inspect test "$(skopeo_digest "docker://$R/test/app:v1" "$CD" "$C")" = "$img"

# 2. skopeo copies it back byte for byte
skopeo copy -q --src-cert-dir "$CD" --src-creds "$C" "docker://$R/test/app:v1" "oci:$work/back:v1" >/dev/null 2>&1
check skopeo-copy-back grep -q "$img" "$work/back/index.json"

# 3. ours pulls what skopeo pushed; skopeo reads our layout
skopeo copy -q --dest-cert-dir "$CD" --dest-creds "$C" "oci:$fx/src:v1" "docker://$R/test/by-skopeo:v1" >/dev/null 2>&1
rm -rf "$work/res"
copy --src="docker://$R/test/by-skopeo:v1" --dest="oci:$work/pulled:latest" --src-creds="$C" --ca-file="$CA" 2>/dev/null
check pull-skopeo-pushed test "$(result IMAGE_DIGEST)" = "$img"
check skopeo-reads-our-layout test "$(skopeo inspect --raw "oci:$work/pulled:latest" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "${img#sha256:}"

# 3b. trust from a whole bundle (SSL_CERT_FILE: the system bundle plus the
# registry's CA, as a task image carries it; anchors looked up by subject,
# common/castore), and the same bundle without that CA refused
cat /etc/ssl/certs/ca-certificates.crt "$CA" >"$work/bundle.pem"
rm -rf "$work/res"
SSL_CERT_FILE=$work/bundle.pem copy --src="docker://$R/test/by-skopeo:v1" --dest="oci:$work/via-bundle:latest" \
	--src-creds="$C" 2>/dev/null
check pull-trusting-a-bundle test "$(result IMAGE_DIGEST)" = "$img"
SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt copy --src="docker://$R/test/by-skopeo:v1" \
	--dest="oci:$work/via-system:latest" --src-creds="$C" --retries=0 2>"$work/untrusted.log"
rc=$?
check bundle-without-the-ca-refused test $rc != 0 -a ! -e "$work/via-system/index.json"
check bundle-without-the-ca-message grep -q "unable to get local issuer certificate" "$work/untrusted.log"

# 4. oci-archive output that skopeo reads, and back in as a source
copy --src="docker://$R/test/app:v1" --dest="oci-archive:$work/img.tar:v1" --src-creds="$C" --ca-file="$CA" 2>/dev/null
check oci-archive-skopeo test "$(skopeo inspect --raw "oci-archive:$work/img.tar:v1" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "${img#sha256:}"
rm -rf "$work/res"
copy --src="oci-archive:$work/img.tar:v1" --dest="docker://$R/test/from-archive:v1" --dest-creds="$C" --ca-file="$CA" 2>/dev/null
check oci-archive-source test "$(skopeo_digest "docker://$R/test/from-archive:v1" "$CD" "$C")" = "$img"

# 5. registry to registry in one registry: blobs are mounted, not copied
copy --src="docker://$R/test/app:v1" --dest="docker://$R/other/mounted:v1" --src-creds="$C" --dest-creds="$C" \
	--ca-file="$CA" 2>"$work/mount.log"
check cross-repo-mount grep -q "mounted blob" "$work/mount.log"
check cross-repo-mount-digest test "$(skopeo_digest "docker://$R/other/mounted:v1" "$CD" "$C")" = "$img"

# 6. auth failures are exit 4 and never print the secret
copy --src="oci:$fx/src:v1" --dest="docker://$R/test/app:bad" --dest-creds="tester:wrong-password-123" \
	--ca-file="$CA" --log-level=debug 2>"$work/bad.log"
rc=$?
check wrong-creds-exit-4 test $rc = 4
check wrong-creds-message grep -q 'the registry rejected the credentials for user tester' "$work/bad.log"
check wrong-creds-not-logged sh -c "! grep -q 'wrong-password-123' '$work/bad.log' && ! grep -q 'dGVzdGVyOndyb25n' '$work/bad.log'"
copy --src="oci:$fx/src:v1" --dest="docker://$R/test/app:anon" --ca-file="$CA" 2>"$work/anon.log"
check no-creds-exit-4 test $? = 4
check no-creds-message grep -q 'the registry requires credentials and none were given' "$work/anon.log"
copy --src="oci:$fx/src:v1" --dest="docker://$R/test/app:dbg" --dest-creds="$C" --ca-file="$CA" --log-level=debug 2>"$work/debug.log"
check debug-log-redacted sh -c "grep -q 'Authorization: \\*\\*\\*' '$work/debug.log' && ! grep -qF '$PASS' '$work/debug.log' && ! grep -qF '$(printf %s "$C" | base64 -w0)' '$work/debug.log'"

# 7. credentials from a Docker config.json (base64 auth); credHelpers ignored
mkdir -p "$work/docker"
printf '{"auths":{"https://%s":{"auth":"%s"}},"credHelpers":{"other.example":"secretservice"}}' \
	"$R" "$(printf %s "$C" | base64 -w0)" >"$work/docker/config.json"
copy --src="oci:$fx/src:v1" --dest="docker://$R/test/authfile:v1" --authfile="$work/docker/config.json" \
	--ca-file="$CA" 2>/dev/null
check authfile-auths test $? = 0
DOCKER_CONFIG=$work/docker copy --src="docker://$R/test/authfile:v1" --dest="oci:$work/via-env:v1" --ca-file="$CA" 2>/dev/null
check authfile-docker-config-env test $? = 0

# 8. token auth (Bearer challenge, scoped tokens) against our issuer
rm -rf "$work/res"
copy --src="oci:$fx/src:v1" --dest="docker://$TR/tok/app:v1" --dest-creds="$TC" --ca-file="$TCA" 2>"$work/tok.log"
check token-push test "$(result IMAGE_DIGEST)" = "$img"
# libcurl's trace keeps the header names, never a credential: the Basic
# login to the token issuer and the Bearer token to the registry are both
# cut at the colon (not only caught by the registered-secret filter)
copy --src="oci:$fx/src:v1" --dest="docker://$TR/tok/traced:v1" --dest-creds="$TC" --ca-file="$TCA" \
	--log-level=debug 2>"$work/tokdebug.log"
check token-trace-redacts-authorization grep -q '^image-copy: debug: curl > Authorization: \*\*\*$' "$work/tokdebug.log"
check token-trace-no-scheme-or-credential bash -c "! grep -iE 'authorization: *(basic|bearer)|${TC#*:}' '$work/tokdebug.log'"
check token-skopeo-inspect test "$(skopeo_digest "docker://$TR/tok/app:v1" "$TCD" "$TC")" = "$img"
copy --src="docker://$TR/tok/app:v1" --dest="docker://$TR/tok/mounted:v1" --src-creds="$TC" --dest-creds="$TC" \
	--ca-file="$TCA" 2>"$work/tokmount.log"
check token-mount-two-scopes grep -q "mounted blob" "$work/tokmount.log"
TPASS=${TC#*:}
printf '{"auths":{"%s":{"identitytoken":"%s"}}}' "$TR" "$TPASS" >"$work/identity.json"
rm -rf "$work/res"
copy --src="oci:$fx/src:v1" --dest="docker://$TR/tok/identity:v1" --authfile="$work/identity.json" \
	--ca-file="$TCA" 2>/dev/null
check token-identitytoken-oauth2 test "$(result IMAGE_DIGEST)" = "$img"
check token-identitytoken-used-post grep -q '"POST /token' "$work/tok/token.log"
copy --src="oci:$fx/src:v1" --dest="docker://$TR/tok/app:v2" --dest-creds="tester:nope-nope" --ca-file="$TCA" 2>"$work/tokwrong.log"
check token-wrong-creds-exit-4 test $? = 4
check token-wrong-creds-message grep -q '/token rejected the credentials: token request: HTTP 401' "$work/tokwrong.log"
copy --src="docker://$TR/tok/app:v1" --dest="oci:$work/anon:v1" --ca-file="$TCA" 2>"$work/tokanon.log"
check token-anonymous-denied-exit-4 test $? = 4
check token-anonymous-denied-message grep -q "denied access to tok/app (check the credentials" "$work/tokanon.log"

# 9. indexes: one platform by default / on request, or everything
arm=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["manifests"][1]["digest"]; print(d)' \
	"$fx/src/blobs/sha256/${idx#sha256:}")
rm -rf "$work/res"
copy --src="oci:$fx/src:multi" --dest="docker://$R/test/multi:arm" --dest-creds="$C" --ca-file="$CA" \
	--platform=linux/arm64 2>/dev/null
check index-platform-select test "$(result IMAGE_DIGEST)" = "$arm"
rm -rf "$work/res"
copy --src="oci:$fx/src:multi" --dest="docker://$R/test/multi:all" --dest-creds="$C" --ca-file="$CA" --all 2>/dev/null
check index-all test "$(result IMAGE_DIGEST)" = "$idx"
check index-all-skopeo test "$(skopeo inspect --raw --cert-dir "$CD" --creds "$C" "docker://$R/test/multi:all" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "${idx#sha256:}"
copy --src="docker://$R/test/multi:all" --dest="oci:$work/multi:x" --src-creds="$C" --ca-file="$CA" \
	--platform=linux/s390x 2>"$work/plat.log"
check index-no-platform-message sh -c "test $? = 1 && grep -q 'linux/amd64' '$work/plat.log'"

# 9b. Docker schema 2: a manifest list pushed by skopeo (--format v2s2)
skopeo copy -q --all --format v2s2 --dest-cert-dir "$CD" --dest-creds "$C" "oci:$fx/src:multi" \
	"docker://$R/docker/list:v1" >/dev/null 2>&1
dlist=sha256:$(skopeo inspect --raw --cert-dir "$CD" --creds "$C" "docker://$R/docker/list:v1" 2>/dev/null | sha256sum | cut -d' ' -f1)
rm -rf "$work/res"
copy --src="docker://$R/docker/list:v1" --dest="docker://$R/docker/copy:v1" --src-creds="$C" --dest-creds="$C" \
	--ca-file="$CA" --all 2>/dev/null
check docker-list-copied-verbatim test "$(result IMAGE_DIGEST)" = "$dlist"
rm -rf "$work/res"
copy --src="docker://$R/docker/list:v1" --dest="oci:$work/dlayout:arm" --src-creds="$C" --ca-file="$CA" \
	--platform=linux/arm64/v8 2>/dev/null
check docker-to-oci-converted test "$(skopeo inspect --raw "oci:$work/dlayout:arm" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$(result IMAGE_DIGEST | cut -d: -f2)"
check docker-to-oci-media-type sh -c "skopeo inspect --raw 'oci:$work/dlayout:arm' 2>/dev/null | grep -q 'application/vnd.oci.image.layer.v1.tar+gzip'"
copy --src="docker://$R/docker/list:v1" --dest="oci:$work/dlayout:all" --src-creds="$C" --ca-file="$CA" --all 2>/dev/null
check docker-list-to-oci-index sh -c "skopeo inspect --raw 'oci:$work/dlayout:all' 2>/dev/null | grep -q 'application/vnd.oci.image.index.v1+json'"
rm -rf "$work/res"
copy --src="oci:$work/dlayout:all" --dest="docker://$R/docker/back:v1" --dest-creds="$C" --ca-file="$CA" --all 2>/dev/null
check converted-index-pushes test "sha256:$(skopeo inspect --raw --cert-dir "$CD" --creds "$C" "docker://$R/docker/back:v1" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$(result IMAGE_DIGEST)"

# 9c. the static binary in an empty root (as in its FROM scratch image:
# no /tmp, no shell, a CA bundle and a HOME): registry to registry across
# two registries (the token one as destination), so the blobs go through a
# temp file
static=${PIPELINE_STATIC_BIN:-$here/../../bin}/image-copy
if [ -x "$static" ]; then
	jail=$work/jail
	mkdir -p "$jail/home" "$jail/etc"
	cp "$static" "$jail/image-copy"
	cat "$CA" "$TCA" >"$jail/ca.crt"
	if [ "$(id -u)" = 0 ]; then jail_cmd=(chroot "$jail"); else jail_cmd=(unshare -r chroot "$jail"); fi
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/home "${jail_cmd[@]}" /image-copy --src="docker://$R/test/app:v1" --dest="docker://$TR/jail/app:v1" \
		--src-creds="$C" --dest-creds="$TC" --ca-file=/ca.crt --results-dir=/home/res 2>"$work/jail.log"
	check static-in-empty-root test "$(cat "$jail/home/res/IMAGE_DIGEST" 2>/dev/null)" = "$img" ||
		sed 's/^/  /' "$work/jail.log"
else
	fail static-in-empty-root "no static binary at $static (make bin/image-copy)"
fi

# 10. a corrupted blob in the registry's storage: exit 1, precise message, nothing kept
layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' \
	"$fx/src/blobs/sha256/${img#sha256:}")
hex=${layer#sha256:}
data=$(find "$REGISTRY_STORAGE" -path "*/blobs/sha256/${hex:0:2}/$hex/data" | head -1)
if [ -n "$data" ]; then
	python3 - "$data" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xff
open(p, "wb").write(bytes(b))
PY
	copy --src="docker://$R/test/app:v1" --dest="oci:$work/corrupt:v1" --src-creds="$C" --ca-file="$CA" 2>"$work/corrupt.log"
	rc=$?
	check digest-mismatch-exit-1 test $rc = 1
	check digest-mismatch-message grep -q "content has digest sha256:[0-9a-f]*, expected $layer" "$work/corrupt.log"
	check digest-mismatch-nothing-kept test ! -e "$work/corrupt/blobs/sha256/$hex" -a ! -e "$work/corrupt/index.json"
else
	fail digest-mismatch "blob $layer not found in the registry storage"
fi

# 11. nothing listening: retries with backoff, then exit 5
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
copy --src="oci:$fx/src:v1" --dest="docker://127.0.0.1:$port/test/app:v1" --dest-creds="$C" --retries=2 2>"$work/unreach.log"
rc=$?
check unreachable-exit-5 test $rc = 5
check unreachable-retried test "$(grep -c 'retrying in' "$work/unreach.log")" -ge 2

# 12. the registry dies mid-push: retries, exit 5, and the tag never appears
"$servers/registry.sh" start "$work/kill" htpasswd || fail start-kill-registry
KR=$(. "$work/kill/env"; echo "$REGISTRY") KC="$(. "$work/kill/env"; echo "$REGISTRY_USER:$REGISTRY_PASS")"
KPID=$(. "$work/kill/env"; echo "$REGISTRY_PID") KST=$(. "$work/kill/env"; echo "$REGISTRY_STORAGE")
python3 "$servers/registry-fixtures.py" image "$fx/big" big --layers 3 --size $((48 << 20)) >/dev/null
copy --src="oci:$fx/big:big" --dest="docker://$KR/test/big:v1" --dest-creds="$KC" --ca-file="$work/kill/ca.crt" \
	--retries=2 2>"$work/kill.log" &
cpid=$!
for _ in $(seq 1 400); do
	[ -d "$KST/docker/registry/v2/repositories/test/big/_uploads" ] && break
	sleep 0.02
done
kill -9 "$KPID" 2>/dev/null
wait $cpid
rc=$?
check killed-mid-push-exit-5 test $rc = 5
check killed-mid-push-retried grep -q 'retrying in\|restarting the upload' "$work/kill.log"
"$servers/registry.sh" restart "$work/kill"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/kill/ca.crt" -u "$KC" \
	-H 'Accept: application/vnd.oci.image.manifest.v1+json' "https://$KR/v2/test/big/manifests/v1")
check killed-mid-push-no-tag test "$code" = 404

# 12b. chunked uploads (PATCH with Content-Range, then PUT) for a 3 MB layer in 1 MiB chunks
python3 "$servers/registry-fixtures.py" image "$fx/mid" v1 --layers 1 --size $((3 << 20)) >"$work/mid.digest"
rm -rf "$work/res"
copy --src="oci:$fx/mid:v1" --dest="docker://$R/test/chunked:v1" --dest-creds="$C" --ca-file="$CA" \
	--upload-chunk-size=1 --log-level=debug 2>"$work/chunked.log"
check chunked-upload test "$(result IMAGE_DIGEST)" = "$(cat "$work/mid.digest")"
check chunked-upload-used-patch test "$(grep -c '^image-copy: debug: PATCH .* -> 202' "$work/chunked.log")" -ge 3
skopeo copy -q --src-cert-dir "$CD" --src-creds "$C" "docker://$R/test/chunked:v1" "oci:$work/chunked-back:v1" >/dev/null 2>&1
check chunked-upload-skopeo-pulls grep -q "$(cat "$work/mid.digest")" "$work/chunked-back/index.json"

# 12c. mutual TLS: the client certificate is required; without it, exit 4
"$servers/registry.sh" start "$work/mtls" mtls || fail start-mtls-registry
MR=$(. "$work/mtls/env"; echo "$REGISTRY") MC="$(. "$work/mtls/env"; echo "$REGISTRY_USER:$REGISTRY_PASS")"
rm -rf "$work/res"
copy --src="oci:$fx/src:v1" --dest="docker://$MR/mtls/app:v1" --dest-creds="$MC" --ca-file="$work/mtls/ca.crt" \
	--client-cert="$work/mtls/client.crt" --client-key="$work/mtls/client.key" 2>/dev/null
check mtls-push test "$(result IMAGE_DIGEST)" = "$img"
check mtls-skopeo-inspect test "$(skopeo_digest "docker://$MR/mtls/app:v1" "$work/mtls/certs.d" "$MC")" = "$img"
copy --src="oci:$fx/src:v1" --dest="docker://$MR/mtls/app:v2" --dest-creds="$MC" --ca-file="$work/mtls/ca.crt" \
	--retries=1 2>"$work/mtls-nocert.log"
rc=$?
check mtls-without-cert-exit-4 test $rc = 4
check mtls-without-cert-message grep -q 'the server refused the TLS client certificate (or wants one)' "$work/mtls-nocert.log"
# a client certificate or key libcurl cannot use: exit 2 naming the file
# and what is wrong with it (not OpenSSL's bare error code)
printf 'not a certificate\n' >"$work/not-a-cert.pem"
copy --src="oci:$fx/src:v1" --dest="docker://$MR/mtls/app:v2" --dest-creds="$MC" --ca-file="$work/mtls/ca.crt" \
	--client-cert="$work/not-a-cert.pem" --client-key="$work/mtls/client.key" 2>"$work/mtls-badcert.log"
rc=$?
check mtls-unusable-cert-exit-2 test $rc = 2 -a -n "$(grep -F "client certificate $work/not-a-cert.pem holds no PEM certificate" "$work/mtls-badcert.log")"
copy --src="oci:$fx/src:v1" --dest="docker://$MR/mtls/app:v2" --dest-creds="$MC" --ca-file="$work/mtls/ca.crt" \
	--client-cert="$work/mtls/client.crt" --client-key="$work/mtls/ca.key" 2>"$work/mtls-badkey.log"
rc=$?
check mtls-key-of-another-cert-exit-2 test $rc = 2 -a -n "$(grep -F "client key $work/mtls/ca.key does not belong to the certificate" "$work/mtls-badkey.log")"
"$servers/registry.sh" stop "$work/mtls"

# 13. a flaky registry behind our fault-injecting proxy, over plain http
# (insecure: the TLS attempt fails, plain http is used)
"$servers/registry.sh" start "$work/plain" none || fail start-plain-registry
PR=$(. "$work/plain/env"; echo "$REGISTRY")
start_proxy() { # name args...
	local name=$1; shift
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
	python3 "$servers/registry-flaky-proxy.py" --port "$port" --upstream "$PR" --ca "$work/plain/ca.crt" "$@" >/dev/null \
		2>"$work/$name.log" &
	echo $! >>"$work/proxies.pid"
	for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
	echo "$port"
}
P1=$(start_proxy faults --head-429 1 --put-503 1 --cut-blob 1)
rm -rf "$work/res"
copy --src="oci:$fx/src:v1" --dest="docker://127.0.0.1:$P1/flaky/app:v1" --insecure --retries=3 2>"$work/flaky-push.log"
check flaky-push-429-503 test "$(result IMAGE_DIGEST)" = "$img"
check retry-after-honoured grep -q 'HTTP 429; retrying in 1000 ms' "$work/flaky-push.log"
check backoff-on-503 grep -q 'HTTP 503; retrying in' "$work/flaky-push.log"
rm -rf "$work/res"
copy --src="docker://127.0.0.1:$P1/flaky/app:v1" --dest="oci:$work/flaky-out:v1" --insecure --retries=3 2>/dev/null
check resumed-download test "$(result IMAGE_DIGEST)" = "$img"
check resumed-with-range grep -q 'range=bytes=[1-9][0-9]*- -> 206' "$work/faults.log"
check resumed-blobs-verified test "$(skopeo inspect --raw "oci:$work/flaky-out:v1" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "${img#sha256:}"
P2=$(start_proxy norange --cut-blob 1 --strip-range)
rm -rf "$work/res"
copy --src="docker://127.0.0.1:$P2/flaky/app:v1" --dest="oci:$work/norange-out:v1" --insecure --retries=3 2>/dev/null
check range-ignored-still-correct test "$(result IMAGE_DIGEST)" = "$img"
check range-ignored-was-exercised grep -q ' cut' "$work/norange.log"
copy --src="oci:$fx/src:v1" --dest="docker://127.0.0.1:$P1/flaky/app:v2" --retries=0 2>"$work/plainhttp.log"
check plain-http-needs-insecure test $? = 5
check plain-http-needs-insecure-message grep -q "registry 127.0.0.1:$P1: HEAD https://127.0.0.1:$P1/v2/flaky/app/blobs/.*SSL.*(after 1 attempt)" "$work/plainhttp.log"
[ -f "$work/proxies.pid" ] && kill $(cat "$work/proxies.pid") 2>/dev/null
"$servers/registry.sh" stop "$work/plain"

[ $fails = 0 ]
