#!/usr/bin/env bash
# Kubernetes API emulator (tests/servers/k8s-api.py) on a free loopback
# port, over TLS with a CA made here, accepting a bearer token and client
# certificates signed by that CA.
#
#   k8s.sh start DIR [emulator options...]   start; writes DIR/env and kubeconfigs
#   k8s.sh stop DIR                          stop what start started
#   k8s.sh config DIR JSON                   change the emulator's behaviour
#       ({"rolloutDelay": s, "failures": [{"deployment"|"image": ..., "reason": ...}],
#         "resetFirst": n, "fail503": n}; see k8s-api.py)
#
# DIR/env (source it) sets K8S_SERVER (https://127.0.0.1:port), K8S_CA,
# K8S_TOKEN, K8S_PID, K8S_LOG (the JSON-lines request log),
# K8S_KUBECONFIG (bearer token), K8S_KUBECONFIG_CERT (client certificate,
# inline data), K8S_KUBECONFIG_BADTOKEN (a token the server refuses),
# K8S_CLIENT_CERT, K8S_CLIENT_KEY.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?start|stop|config}
dir=${2:?work dir}

wait_file() { # file pid
	for _ in $(seq 1 100); do
		[ -s "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "k8s.sh: the emulator did not start (see $dir/k8s.log)" >&2
	return 1
}

make_certs() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=k8s-test-ca \
		-keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver \
		-keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/san.ext"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
		-days 2 -extfile "$dir/san.ext" -out "$dir/server.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=test-admin" \
		-keyout "$dir/client.key" -out "$dir/client.csr" 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >"$dir/client.ext"
	openssl x509 -req -in "$dir/client.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
		-days 2 -extfile "$dir/client.ext" -out "$dir/client.crt" 2>/dev/null
	chmod 600 "$dir"/*.key
}

kubeconfig() { # file user-yaml
	cat >"$1" <<YAML
apiVersion: v1
kind: Config
current-context: emulator
clusters:
- name: emulator
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $dir/ca.crt
contexts:
- name: emulator
  context:
    cluster: emulator
    user: tester
    namespace: default
users:
- name: tester
  user:
$2
YAML
	chmod 600 "$1"
}

case $cmd in
start)
	shift 2
	mkdir -p "$dir"
	make_certs
	token="tok-$(openssl rand -hex 16)"
	: >"$dir/requests.jsonl"
	rm -f "$dir/port"
	python3 "$here/k8s-api.py" --port-file "$dir/port" --cert "$dir/server.crt" --key "$dir/server.key" \
		--client-ca "$dir/ca.crt" --token "$token" --log "$dir/requests.jsonl" "$@" >>"$dir/k8s.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/k8s.pid"
	wait_file "$dir/port" "$pid"
	port=$(cat "$dir/port")
	kubeconfig "$dir/kubeconfig" "    token: $token"
	kubeconfig "$dir/kubeconfig-cert" "    client-certificate-data: $(base64 -w0 "$dir/client.crt")
    client-key-data: $(base64 -w0 "$dir/client.key")"
	kubeconfig "$dir/kubeconfig-badtoken" "    token: expired-$(openssl rand -hex 8)"
	cat >"$dir/env" <<ENV
K8S_SERVER=https://127.0.0.1:$port
K8S_CA=$dir/ca.crt
K8S_TOKEN=$token
K8S_PID=$pid
K8S_LOG=$dir/requests.jsonl
K8S_KUBECONFIG=$dir/kubeconfig
K8S_KUBECONFIG_CERT=$dir/kubeconfig-cert
K8S_KUBECONFIG_BADTOKEN=$dir/kubeconfig-badtoken
K8S_CLIENT_CERT=$dir/client.crt
K8S_CLIENT_KEY=$dir/client.key
ENV
	;;
config)
	port=$(cat "$dir/port")
	curl -sf --cacert "$dir/ca.crt" -X POST -H 'Content-Type: application/json' \
		--data-binary "${3:?json}" "https://127.0.0.1:$port/_emulator/config" >/dev/null
	;;
stop)
	if [ -f "$dir/k8s.pid" ]; then
		kill "$(cat "$dir/k8s.pid")" 2>/dev/null || true
		rm -f "$dir/k8s.pid"
	fi
	;;
*) echo "usage: k8s.sh start|stop|config DIR ..." >&2; exit 2 ;;
esac
