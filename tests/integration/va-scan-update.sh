#!/usr/bin/env bash
# va-scan update-db against a loopback HTTPS server (tests/servers/
# https-files.py, its own CA): zips fetched with retries (the server
# answers 503 first), digests checked, the index swapped in atomically;
# a wrong digest, a transfer cut every time, a corrupt zip and a server
# that is down all fail naming the cause and leave the old index working.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BIN=${PIPELINE_BIN:-$top/build/asan/bin}
data="$(cd "$top/.." && pwd)/shared/data"
failed=0
pass() { echo "PASS: va-scan-update/$1"; }
fail() { echo "FAIL: va-scan-update/$1${2:+: $2}"; failed=1; }
if [ ! -d "$data/advisories/npm" ]; then
	fail setup "test data missing: $data (../shared/data beside the repository, see its README)"
	exit 1
fi
for tool in openssl python3 jq; do command -v $tool >/dev/null || { fail setup "$tool is not installed"; exit 1; }; done
[ -x "$BIN/va-scan" ] || { fail setup "no $BIN/va-scan"; exit 1; }
. "$top/tests/servers/git-servers.sh" # git_http_certs: a CA and a loopback server certificate
W=$(mktemp -d /tmp/va-scan-update.XXXXXX)
srv_pid=
stop_server() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null; srv_pid=; }
trap 'stop_server; rm -rf "$W"' EXIT
VA=$BIN/va-scan

mkdir -p "$W/certs" "$W/www" "$W/db"
git_http_certs "$W/certs" || { fail setup "cannot make certificates"; exit 1; }
python3 - "$W/www/npm.zip" "$data"/advisories/npm/*.json <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for p in sys.argv[2:]:
        z.write(p, os.path.basename(p))
PY
cp "$data/advisories/PyPI/all.zip" "$W/www/pypi.zip"
head -c 100000 "$W/www/pypi.zip" >"$W/www/broken.zip"
CA=--ca-file=$W/certs/ca.crt
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

start_server() { # extra args
	stop_server
	rm -f "$W/port"
	python3 "$top/tests/servers/https-files.py" --root "$W/www" --cert "$W/certs/server.crt" \
		--key "$W/certs/server.key" --port-file "$W/port" "$@" 2>>"$W/server.log" &
	srv_pid=$!
	for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.1; done
	[ -s "$W/port" ] || { fail setup "the https server did not start"; exit 1; }
	URL=https://127.0.0.1:$(cat "$W/port")
}
update() { # name args...
	local name=$1; shift
	rm -rf "$W/res-$name"
	"$VA" update-db --db="$W/db/advisories.idx" --results-dir="$W/res-$name" "$@" \
		>"$W/$name.out" 2>"$W/$name.err"
	rc=$?
}
scan_count() {
	"$VA" --db="$W/db/advisories.idx" --source="$data/app" --fail-on=none --report-file="$W/scan.json" >/dev/null 2>&1 &&
		jq '.findings | length' "$W/scan.json"
}
leftovers() { find "$W/db" -name '.va-scan-update.*' -o -name '.advisories.idx.tmp*' | wc -l; }

# 1. two zips, the server failing the first two requests (503): retried
start_server --fail-first 2
update ok "$CA" --url="$URL/npm.zip" --url="$URL/pypi.zip" --digest="$(sha "$W/www/npm.zip")" \
	--digest="$(sha "$W/www/pypi.zip")" --retries=3
n503=$(grep -c -- '-> 503' "$W/server.log")
if [ $rc = 0 ] && [ "$(cat "$W/res-ok/advisories")" = $((40 + 2651)) ] && [ "$n503" = 2 ] &&
	[ "$(scan_count)" = 19 ]; then pass fetch-retry-digest-swap
else fail fetch-retry-digest-swap "exit $rc, 503s $n503: $(tail -2 "$W/ok.err")"; fi
cp "$W/db/advisories.idx" "$W/good.idx"

# 2. a digest that does not match: refused, old index untouched
start_server
update baddigest "$CA" --url="$URL/npm.zip" --digest="$(sha "$W/www/pypi.zip")"
if [ $rc = 2 ] && grep -q "update-db: $URL/npm.zip has digest $(sha "$W/www/npm.zip"), expected $(sha "$W/www/pypi.zip")" "$W/baddigest.err" &&
	grep -q "advisories.idx was left as it was" "$W/baddigest.err" && cmp -s "$W/good.idx" "$W/db/advisories.idx" &&
	[ "$(scan_count)" = 19 ] && [ "$(leftovers)" = 0 ]; then pass digest-mismatch-keeps-index
else fail digest-mismatch-keeps-index "exit $rc: $(tail -1 "$W/baddigest.err")"; fi

# 3. a transfer cut half-way every time: fails after the retries, index untouched
start_server --cut pypi.zip
update cut "$CA" --url="$URL/npm.zip" --url="$URL/pypi.zip" --retries=1
if [ $rc != 0 ] && grep -q "fetching $URL/pypi.zip" "$W/cut.err" && cmp -s "$W/good.idx" "$W/db/advisories.idx" &&
	[ "$(leftovers)" = 0 ]; then pass interrupted-transfer-keeps-index
else fail interrupted-transfer-keeps-index "exit $rc: $(tail -1 "$W/cut.err")"; fi

# 4. a corrupt zip (no digest given): refused naming it, index untouched
update corrupt "$CA" --url="$URL/broken.zip"
if [ $rc = 2 ] && grep -q "not a readable zip" "$W/corrupt.err" && cmp -s "$W/good.idx" "$W/db/advisories.idx" &&
	[ "$(leftovers)" = 0 ]; then pass corrupt-zip-keeps-index
else fail corrupt-zip-keeps-index "exit $rc: $(tail -1 "$W/corrupt.err")"; fi

# 5. the server is down: exit 5 (unreachable), index untouched
stop_server
update down "$CA" --url="$URL/npm.zip" --retries=1
if [ $rc = 5 ] && cmp -s "$W/good.idx" "$W/db/advisories.idx" && [ "$(scan_count)" = 19 ]; then pass server-down-exit-5
else fail server-down-exit-5 "exit $rc: $(tail -1 "$W/down.err")"; fi

# 6. a server whose certificate no trusted CA signed (the system CAs only)
start_server
update untrusted --url="$URL/npm.zip" --retries=0
if [ $rc != 0 ] && grep -qi "certificate" "$W/untrusted.err" && cmp -s "$W/good.idx" "$W/db/advisories.idx"; then
	pass untrusted-certificate-refused
else fail untrusted-certificate-refused "exit $rc"; fi
exit $failed
