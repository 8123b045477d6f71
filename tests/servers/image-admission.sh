# Source me after tests/integration/lib/prelude.sh: what image-admission.sh
# and attack-admission.sh set up before they test the webhook, on loopback.
# On sourcing:
#   - the signed images (signed-images.sh: IMG, D1 signed by build and
#     validation, D2 build only, D3 nobody, REGISTRY_CA, NOTARY_URL,
#     NOTARY_CA; the public keys in $W/signed/ks), reported as the test
#     setup-signed-images (the suite exits when they did not start);
#   - REG (the registry's host:port), a serving certificate for 127.0.0.1
#     in $W/tls with CA=$W/tls/tls.crt, BUILD_PUB and VALIDATION_PUB (the
#     keys as JSON strings), BOTH (the policy's signers: build and
#     validation);
#   - BLACKHOLE_PORT: a registry that accepts connections, never answers;
#   - SECRET, the registry password the webhook is given (never to be
#     logged), and PIDS: processes killed at exit (the servers stopped too).
# Functions:
#   cert DIR                   a serving certificate for 127.0.0.1 in DIR
#   pem FILE                   FILE's text as a JSON string
#   free_port                  a free port on 127.0.0.1
#   start_server NAME ARGS...  image-admission on a free port with the policy
#                              $SERVER_POLICY (default $W/policy.json), the
#                              notary CA $SERVER_NOTARY_CA (default
#                              $NOTARY_CA) and ARGS; output in
#                              $LOGS/NAME.{out,log}; sets SERVER_PID and
#                              PORT, non-zero when it did not start
#   has NAME TEXT              $LOGS/NAME holds TEXT
. "$(dirname "${BASH_SOURCE[0]}")/signed-images.sh"
PIDS=()
at_exit+=('for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done' signed_images_stop)

has() { grep -qF -- "$2" "$LOGS/$1"; }
cert() { # dir
	mkdir -p "$1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$1/tls.key" -out "$1/tls.crt" >/dev/null 2>&1
}
pem() { python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if signed_images_start "$W/signed" "$BIN"; then pass setup-signed-images; else
	fail setup-signed-images "$(tail -3 "$W/signed/signed-images.log")"; exit 1; fi
REG=${IMG%%/*}
cert "$W/tls"
CA=$W/tls/tls.crt
BUILD_PUB=$(pem "$W/signed/ks/build.pub")
VALIDATION_PUB=$(pem "$W/signed/ks/validation.pub")
BOTH="[{\"name\": \"build\", \"publicKey\": $BUILD_PUB}, {\"name\": \"validation\", \"publicKey\": $VALIDATION_PUB}]"

BLACKHOLE_PORT=$(free_port)
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$BLACKHOLE_PORT" &
PIDS+=($!)

SECRET=regpass-$(openssl rand -hex 6)
start_server() { # name extra-args...
	local name=$1; shift
	rm -f "$W/$name.port"
	"$BIN/image-admission" --policy="${SERVER_POLICY:-$W/policy.json}" --tls-cert="$W/tls/tls.crt" --tls-key="$W/tls/tls.key" \
		--listen=127.0.0.1:0 --port-file="$W/$name.port" --notary-ca="${SERVER_NOTARY_CA:-$NOTARY_CA}" --registry-ca="$REGISTRY_CA" \
		--registry-creds="admission:$SECRET" --log-format=json "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.log" &
	SERVER_PID=$!
	PIDS+=($SERVER_PID)
	for _ in $(seq 1 100); do [ -s "$W/$name.port" ] && break; sleep 0.1; done
	PORT=$(cat "$W/$name.port" 2>/dev/null)
	[ -n "$PORT" ]
}
