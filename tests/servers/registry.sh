#!/usr/bin/env bash
# Test registry: Debian's docker-registry on a free loopback port, with TLS
# (a CA and server certificate made here with openssl) and either htpasswd
# (bcrypt) auth or token auth through tests/servers/registry-token-issuer.py.
#
#   registry.sh start DIR [htpasswd|token|none|mtls]   start; writes DIR/env
#     (mtls: htpasswd plus a required client certificate, DIR/client.crt and
#     DIR/client.key, also in DIR/certs.d for skopeo)
#   registry.sh stop DIR                          stop what start started
#   registry.sh restart DIR                       same config and storage
# TEST_REGISTRY_STORAGE=inmemory (not REGISTRY_*: docker-registry reads
# those as config overrides) keeps the blobs and manifests in the
# registry's memory (docker-registry's inmemory driver, as notary.sh's
# notary-server keeps its data: no disk writes, lost on stop or restart);
# the default is the filesystem driver under DIR/storage.
#
# DIR/env (source it) sets REGISTRY (127.0.0.1:port), REGISTRY_CA (PEM),
# REGISTRY_CERT_DIR (for skopeo --cert-dir), REGISTRY_USER, REGISTRY_PASS,
# REGISTRY_PID, TOKEN_PID, REGISTRY_STORAGE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?start|stop|restart}
dir=${2:?work dir}
mode=${3:-htpasswd}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # port
	for _ in $(seq 1 100); do
		if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "registry.sh: nothing listens on port $1" >&2
	return 1
}

make_certs() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca \
		-keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
		-keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$dir/san.ext"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
		-days 2 -extfile "$dir/san.ext" -out "$dir/server.crt" 2>/dev/null
	mkdir -p "$dir/certs.d" && cp "$dir/ca.crt" "$dir/certs.d/ca.crt"
	openssl req -newkey rsa:2048 -nodes -subj /CN=test-client \
		-keyout "$dir/client.key" -out "$dir/client.csr" 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >"$dir/client.ext"
	openssl x509 -req -in "$dir/client.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
		-days 2 -extfile "$dir/client.ext" -out "$dir/client.crt" 2>/dev/null
	# token signing key, self-signed (the registry trusts it as a root)
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=token-issuer \
		-keyout "$dir/token.key" -out "$dir/token.crt" 2>/dev/null
}

start_registry() {
	/usr/bin/docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 &
	echo $! >"$dir/registry.pid"
	wait_port "$(cat "$dir/port")"
}

case $cmd in
start)
	command -v docker-registry >/dev/null || { echo "registry.sh: docker-registry is not installed" >&2; exit 1; }
	mkdir -p "$dir/storage"
	make_certs
	port=$(free_port)
	echo "$port" >"$dir/port"
	user=tester
	pass="pw-$(openssl rand -hex 12)"
	htpasswd -Bbn "$user" "$pass" >"$dir/htpasswd" 2>/dev/null
	auth=""
	token_pid=""
	clientcas=""
	case $mode in
	mtls)
		clientcas="    clientcas:
      - $dir/ca.crt"
		cp "$dir/client.crt" "$dir/certs.d/client.cert"
		cp "$dir/client.key" "$dir/certs.d/client.key"
		auth="auth:
  htpasswd:
    realm: test-registry
    path: $dir/htpasswd" ;;
	htpasswd)
		auth="auth:
  htpasswd:
    realm: test-registry
    path: $dir/htpasswd" ;;
	token)
		tport=$(free_port)
		python3 "$here/registry-token-issuer.py" --port "$tport" --key "$dir/token.key" \
			--cert "$dir/token.crt" --user "$user" --password "$pass" --service test-registry \
			>>"$dir/token.log" 2>&1 &
		token_pid=$!
		echo "$token_pid" >"$dir/token.pid"
		wait_port "$tport"
		auth="auth:
  token:
    realm: http://127.0.0.1:$tport/token
    service: test-registry
    issuer: test-issuer
    rootcertbundle: $dir/token.crt" ;;
	none) ;;
	*) echo "registry.sh: unknown mode $mode" >&2; exit 2 ;;
	esac
	case ${TEST_REGISTRY_STORAGE:-filesystem} in
	filesystem) storage="  filesystem:
    rootdirectory: $dir/storage" ;;
	inmemory) storage="  inmemory: {}" ;;
	*) echo "registry.sh: unknown TEST_REGISTRY_STORAGE ${TEST_REGISTRY_STORAGE}" >&2; exit 2 ;;
	esac
	cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
$storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(openssl rand -hex 16)
  tls:
    certificate: $dir/server.crt
    key: $dir/server.key
$clientcas
$auth
YAML
	start_registry
	cat >"$dir/env" <<ENV
REGISTRY=127.0.0.1:$port
REGISTRY_CA=$dir/ca.crt
REGISTRY_CERT_DIR=$dir/certs.d
REGISTRY_USER=$user
REGISTRY_PASS=$pass
REGISTRY_PID=$(cat "$dir/registry.pid")
TOKEN_PID=$token_pid
REGISTRY_STORAGE=$dir/storage
ENV
	;;
restart)
	start_registry
	sed -i "s/^REGISTRY_PID=.*/REGISTRY_PID=$(cat "$dir/registry.pid")/" "$dir/env"
	;;
stop)
	for f in registry.pid token.pid; do
		if [ -f "$dir/$f" ]; then
			kill "$(cat "$dir/$f")" 2>/dev/null || true
			rm -f "$dir/$f"
		fi
	done
	;;
*) echo "usage: registry.sh start|stop|restart DIR [mode]" >&2; exit 2 ;;
esac
