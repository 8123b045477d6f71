#!/usr/bin/env bash
# check-health against `curl -sf` on a healthy loopback URL served by
# lighttpd (a static /healthz, so the server costs both alike), same run,
# paired rounds. Figure: wall time <= 0.5x curl's; peak RSS beside curl's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ours=$here/../../bin/check-health
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/www"
printf '{"status":"ok"}\n' >"$work/www/healthz"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/lighttpd.conf" <<EOF
server.document-root = "$work/www"
server.bind = "127.0.0.1"
server.port = $port
server.pid-file = "$work/lighttpd.pid"
server.errorlog = "$work/error.log"
mimetype.assign = ( "" => "application/json" )
EOF
lighttpd -D -f "$work/lighttpd.conf" &
pid=$!
url=http://127.0.0.1:$port/healthz
for _ in $(seq 1 50); do curl -sf "$url" >/dev/null 2>&1 && break; sleep 0.1; done
"$ours" --url="$url" >/dev/null 2>&1 || { echo "check-health does not see $url healthy" >&2; exit 1; }

ROUNDS=${ROUNDS:-5} HYPERFINE_RUNS=${HYPERFINE_RUNS:-50} paired_median h "$ours --url=$url" "curl -sf $url"
measure oursm "$ours" --url="$url"
measure curlm curl -sf "$url"
echo "# rounds' ratios: $h_ratios"
report "check-health healthy loopback URL (target <= 0.50x)" "$h_ours" "$h_peer" "$oursm_rss" "$curlm_rss" "curl -sf"
ROUNDS=3 HYPERFINE_RUNS=30 paired_median j "$ours --url=$url --json-query=.status --json-expect=ok" "curl -sf $url"
report "check-health with a jq check (no target)" "$j_ours" "$j_peer" "" "" "curl -sf"
