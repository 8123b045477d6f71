#!/usr/bin/env bash
# Starts a real notary-signer + notary-server (Debian notary 0.7.0) on
# loopback with TLS, per notary-test-server.md: a fresh CA and certs per run,
# memory storage, random free ports. Meant to be sourced:
#   . tests/servers/notary.sh; notary_start DIR
# sets NOTARY_URL (https://127.0.0.1:PORT), NOTARY_CA (CA file), NOTARY_DIR,
# NOTARY_PIDS; notary_stop kills exactly those pids. Callers trap notary_stop.

notary_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

notary_certs() { # dir
	local d=$1 E="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	( cd "$d" || exit 1
	openssl req -x509 $E -keyout ca.key -out ca.crt -days 30 -subj /CN=test-ca \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	leaf() { # name eku [san]
		openssl req $E -keyout $1.key -out $1.csr -subj /CN=$1 2>/dev/null
		printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s\n' $2 "${3:-}" > $1.ext
		openssl x509 -req -in $1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile $1.ext -out $1.crt 2>/dev/null; }
	leaf server serverAuth subjectAltName=DNS:localhost,IP:127.0.0.1
	leaf signer serverAuth subjectAltName=IP:127.0.0.1
	leaf client clientAuth )
}

notary_start() { # dir
	NOTARY_DIR=$1
	mkdir -p "$NOTARY_DIR"
	notary_certs "$NOTARY_DIR" || return 1
	local sport hport
	sport=$(notary_free_port); hport=$(notary_free_port)
	cat > "$NOTARY_DIR/signer.json" <<JSON
{"server":{"grpc_addr":"127.0.0.1:$sport","tls_cert_file":"signer.crt",
  "tls_key_file":"signer.key","client_ca_file":"ca.crt"},
 "storage":{"backend":"memory"},"logging":{"level":"warn"}}
JSON
	cat > "$NOTARY_DIR/server.json" <<JSON
{"server":{"http_addr":"127.0.0.1:$hport","tls_cert_file":"server.crt","tls_key_file":"server.key"},
 "trust_service":{"type":"remote","hostname":"127.0.0.1","port":"$sport","key_algorithm":"ecdsa",
  "tls_ca_file":"ca.crt","tls_client_cert":"client.crt","tls_client_key":"client.key"},
 "storage":{"backend":"memory"},"logging":{"level":"warn"}}
JSON
	env -i notary-signer -config "$NOTARY_DIR/signer.json" >"$NOTARY_DIR/signer.log" 2>&1 &
	NOTARY_PIDS=$!
	env -i notary-server -config "$NOTARY_DIR/server.json" >"$NOTARY_DIR/server.log" 2>&1 &
	NOTARY_PIDS="$NOTARY_PIDS $!"
	NOTARY_URL=https://127.0.0.1:$hport
	NOTARY_CA=$NOTARY_DIR/ca.crt
	export NOTARY_URL NOTARY_CA NOTARY_DIR NOTARY_PIDS
	# health says 200 even with the signer link broken: probe a timestamp key
	local i
	for i in $(seq 1 100); do
		if curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/probe/_trust/tuf/timestamp.key" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "notary server did not come up; see $NOTARY_DIR/*.log" >&2
	return 1
}

notary_stop() {
	local p
	for p in ${NOTARY_PIDS:-}; do kill "$p" 2>/dev/null; done
	for p in ${NOTARY_PIDS:-}; do wait "$p" 2>/dev/null; done
	NOTARY_PIDS=
}
