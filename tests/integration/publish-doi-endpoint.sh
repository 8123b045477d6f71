#!/usr/bin/env bash
# publish-doi --endpoint: the envelope POSTed as JSON to a DevOps
# Insights-like service, a small HTTP server on loopback started here that
# logs what it got: a 503 with Retry-After is retried (and the server
# refuses a retry that comes before the time it asked for), a 5xx that
# stays is exit 5 after --retries, a 4xx is not retried (400 exit 1, 403
# exit 4), the bearer token reaches the server but never the logs (libcurl's
# trace at --log-level=debug included). Prints PASS:/FAIL: per test; exits
# non-zero if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=publish-doi-endpoint tools="python3 openssl jq sha256sum" keep=DOI_KEEP
. "$here/lib/prelude.sh"
SERVER_PID=
at_exit+=('[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null')

# The service: every request is one JSON line in requests.jsonl (path,
# Authorization, Content-Type, sha256 of the body; the body itself kept in
# bodies/N). Paths:
#   /retry/*   first 503 + Retry-After: 2, then 201 (400 if the retry came
#              before those 2 seconds had passed: Retry-After not honoured)
#   /busy/*    always 503, no Retry-After
#   /bad/*     400 with a reason
#   /denied/*  403
cat >"$W/service.py" <<'PY'
import hashlib, http.server, json, os, sys, time
state_dir = sys.argv[1]
first_seen = {}
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def answer(self, code, body, headers=()):
        data = body.encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n = len(os.listdir(os.path.join(state_dir, "bodies")))
        with open(os.path.join(state_dir, "bodies", str(n)), "wb") as f:
            f.write(body)
        with open(os.path.join(state_dir, "requests.jsonl"), "a") as f:
            f.write(json.dumps({"path": self.path, "auth": self.headers.get("Authorization"),
                                "type": self.headers.get("Content-Type"), "n": n,
                                "sha256": hashlib.sha256(body).hexdigest()}) + "\n")
        now = time.monotonic()
        if self.path.startswith("/retry/"):
            if self.path not in first_seen:
                first_seen[self.path] = now
                return self.answer(503, "busy, come back later", [("Retry-After", "2")])
            if now - first_seen[self.path] < 2:
                return self.answer(400, "retried before Retry-After")
            return self.answer(201, "recorded")
        if self.path.startswith("/busy/"):
            return self.answer(503, "still busy")
        if self.path.startswith("/bad/"):
            return self.answer(400, "envelope rejected: unknown toolchain")
        if self.path.startswith("/denied/"):
            return self.answer(403, "token not allowed")
        return self.answer(404, "no such endpoint")
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(state_dir, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(state_dir, "port.tmp"), os.path.join(state_dir, "port"))
srv.serve_forever()
PY
mkdir -p "$W/bodies"
python3 "$W/service.py" "$W" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.1; done
[ -s "$W/port" ] || { fail service "the test service did not start"; exit 1; }
URL=http://127.0.0.1:$(cat "$W/port")

PASSPHRASE="vault-$(openssl rand -hex 8)"
TOKEN="doi-token-$(openssl rand -hex 12)"
VAULT=(--keystore-dir="$W/ks" --passphrase="$PASSPHRASE")
"$BIN/signer-key" --action=create --name=build "${VAULT[@]}" >/dev/null 2>&1 ||
	{ fail keys "signer-key could not create the key"; exit 1; }
D=sha256:$(printf endpoint-image | sha256sum | cut -c1-64)

# post NAME PATH [args...]: publish one deploy record to $URL$PATH; exit
# code in $LOGS/NAME.rc, output in NAME.out / NAME.err
post() {
	local name=$1 path=$2
	shift 2
	"$BIN/publish-doi" publish --store-dir="$W/store" --image=127.0.0.1:5000/app@"$D" --signer=build "${VAULT[@]}" \
		--kind=deploy --environment=prod --status=success --endpoint="$URL$path" --endpoint-token="$TOKEN" "$@" \
		>"$LOGS/$name.out" 2>"$LOGS/$name.err"
	echo $? >"$LOGS/$name.rc"
}
requests() { jq -c --arg p "$1" 'select(.path == $p)' "$W/requests.jsonl" 2>/dev/null; }
count() { requests "$1" | grep -c . || true; }
rc() { cat "$LOGS/$1.rc"; }

# ---- 503 + Retry-After, then accepted ---------------------------------
post retry /retry/one --log-level=debug --retries=3
env_hex=$(tr -d '\n' <"$LOGS/retry.out")
if [ "$(rc retry)" = 0 ] && [ "$(count /retry/one)" = 2 ] &&
	grep -q 'HTTP 503; retrying in 2000 ms (attempt 2 of 4)' "$LOGS/retry.err"; then
	pass retry-after-honoured
else
	fail retry-after-honoured "exit $(rc retry), $(count /retry/one) requests; $(grep -m1 -E 'retrying|error' "$LOGS/retry.err")"
fi
# what arrived is the envelope the task printed and stored, as JSON, with
# the token
last=$(requests /retry/one | tail -1)
n=$(jq -r .n <<<"$last")
if [ -n "$env_hex" ] && [ "$(jq -r .sha256 <<<"$last")" = "$env_hex" ] &&
	cmp -s "$W/bodies/$n" "$W/store/blobs/$env_hex" &&
	[ "$(jq -r .payloadType "$W/bodies/$n")" = application/vnd.in-toto+json ] &&
	[ "$(jq -r .type <<<"$last")" = application/json ] &&
	[ "$(jq -r .auth <<<"$last")" = "Bearer $TOKEN" ]; then
	pass posts-the-signed-envelope
else
	fail posts-the-signed-envelope "envelope sha256:$env_hex, server got: $last"
fi
# the token reached the server, never the logs (libcurl's header trace at
# debug level included: the header line is there, its value redacted)
if ! grep -q "$TOKEN" "$LOGS/retry.err" "$LOGS/retry.out" &&
	grep -q 'curl > Authorization: \*\*\*$' "$LOGS/retry.err"; then
	pass token-redacted-in-logs
else
	fail token-redacted-in-logs "$(grep -m1 -e "$TOKEN" -e Authorization "$LOGS/retry.err")"
fi

# ---- a 5xx that stays: exit 5 after --retries -------------------------
post busy /busy/one --retries=2
if [ "$(rc busy)" = 5 ] && [ "$(count /busy/one)" = 3 ] &&
	grep -q "$URL/busy/one: HTTP 503 (after 3 attempts)" "$LOGS/busy.err"; then
	pass busy-exit-5-after-retries
else
	fail busy-exit-5-after-retries "exit $(rc busy), $(count /busy/one) requests; $(tail -1 "$LOGS/busy.err")"
fi

# ---- 4xx: not retried, the server's reason in the message -------------
post bad /bad/one --retries=3
if [ "$(rc bad)" = 1 ] && [ "$(count /bad/one)" = 1 ] &&
	grep -q 'HTTP 400: envelope rejected: unknown toolchain' "$LOGS/bad.err"; then
	pass client-error-not-retried
else
	fail client-error-not-retried "exit $(rc bad), $(count /bad/one) requests; $(tail -1 "$LOGS/bad.err")"
fi
post denied /denied/one --retries=3
if [ "$(rc denied)" = 4 ] && [ "$(count /denied/one)" = 1 ] &&
	grep -q 'HTTP 403: token not allowed' "$LOGS/denied.err" && ! grep -q "$TOKEN" "$LOGS/denied.err"; then
	pass forbidden-exit-4-not-retried
else
	fail forbidden-exit-4-not-retried "exit $(rc denied), $(count /denied/one) requests; $(tail -1 "$LOGS/denied.err")"
fi

# ---- not an http URL: usage, nothing sent, nothing stored -------------
before=$(grep -c . "$W/requests.jsonl")
stored=$(ls "$W/store/blobs" | wc -l)
"$BIN/publish-doi" publish --store-dir="$W/store" --image=127.0.0.1:5000/app@"$D" --signer=build "${VAULT[@]}" \
	--kind=deploy --environment=prod --status=success --endpoint="ftp://127.0.0.1/x" >"$LOGS/ftp.out" 2>"$LOGS/ftp.err"
r=$?
if [ "$r" = 2 ] && grep -q "endpoint: 'ftp://127.0.0.1/x' is not a URL of the form http(s)://HOST" "$LOGS/ftp.err" &&
	[ "$(grep -c . "$W/requests.jsonl")" = "$before" ] && [ "$(ls "$W/store/blobs" | wc -l)" = "$stored" ]; then
	pass not-http-is-usage
else
	fail not-http-is-usage "exit $r, $(ls "$W/store/blobs" | wc -l) records (was $stored); $(tail -1 "$LOGS/ftp.err")"
fi

exit $((failures > 0))
