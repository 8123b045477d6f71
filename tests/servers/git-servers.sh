#!/usr/bin/env bash
# Real git servers on loopback for the git-clone tests, each on a random free
# port with its state (config, keys, certificates, logs) in a directory of
# the caller's. Meant to be sourced:
#   . tests/servers/git-servers.sh
#   git_http_start ROOT DIR   lighttpd + git http-backend (CGI) serving ROOT:
#       GIT_HTTP_URL   http://127.0.0.1:P/git       anonymous
#       GIT_HTTPS_URL  https://127.0.0.1:P2/auth/git basic auth, TLS
#       GIT_HTTP_CA    CA that signed the TLS certificate
#       GIT_HTTP_USER, GIT_HTTP_PASSWORD  the one account
#       DIR/access.log  every request: client, port, request line, status
#                       and the Authorization header it carried (or -)
#     optional, set before the call (a second "host" beside the first):
#       GIT_HTTP_BIND=127.0.0.2     the address to listen on (127.0.0.1)
#       GIT_HTTP_PORT, GIT_HTTP_TLS_PORT  the ports (default: free ones)
#       GIT_HTTP_CERTS=DIR2         reuse DIR2's CA and certificate
#       GIT_HTTP_REDIRECT_TO=URL    /auth/moved/X answers (once the client
#                                   is authenticated) with a redirect to URL/X
#   git_daemon_start ROOT DIR  git daemon: GIT_DAEMON_URL git://127.0.0.1:P
#   git_sshd_start ROOT DIR    OpenSSH sshd, key auth only:
#       GIT_SSH_URL    ssh://USER@127.0.0.1:P/ROOT
#       GIT_SSH_KEY    client private key, GIT_SSH_KNOWN_HOSTS its known_hosts
#       GIT_SSH_RSA_KEY a second client key, RSA 3072: the server takes RSA
#                      keys only with rsa-sha2-256/512 signatures (never
#                      ssh-rsa, SHA-1), as OpenSSH >= 8.8 does by default
#       GIT_SSH_PORT   the port
#   git_servers_stop           kills exactly the pids started here
#   git_test_home DIR          HOME=DIR (made), a fixed author and committer,
#                              default branch main, no commit signing: the
#                              git that makes the fixtures, and no user
#                              config, keys or known_hosts leak in
# Each start function waits until its port answers, or returns 1.

GIT_SERVER_PIDS=${GIT_SERVER_PIDS:-}

git_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

git_wait_port() { # port [seconds] [address]
	local i
	for ((i = 0; i < ${2:-10} * 10; i++)); do
		python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('${3:-127.0.0.1}',$1)))" && return 0
		sleep 0.1
	done
	return 1
}

git_http_certs() { # dir
	( cd "$1" || exit 1
	E="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	openssl req -x509 $E -keyout ca.key -out ca.crt -days 2 -subj /CN=git-test-ca \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
	openssl req $E -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null &&
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2\n' >server.ext &&
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
		-out server.crt 2>/dev/null )
}

git_http_start() { # root dir
	local root=$1 dir=$2 port tls_port bind=${GIT_HTTP_BIND:-127.0.0.1} certs=${GIT_HTTP_CERTS:-$2} redirect=
	mkdir -p "$dir/www" || return 1
	if [ -z "${GIT_HTTP_CERTS:-}" ]; then git_http_certs "$dir" || return 1; fi
	port=${GIT_HTTP_PORT:-$(git_free_port)} tls_port=${GIT_HTTP_TLS_PORT:-$(git_free_port)}
	if [ -n "${GIT_HTTP_REDIRECT_TO:-}" ]; then
		redirect="url.redirect = ( \"^/auth/moved/(.*)\$\" => \"$GIT_HTTP_REDIRECT_TO/\$1\" )"
	fi
	GIT_HTTP_USER=tester GIT_HTTP_PASSWORD=tok-$(openssl rand -hex 12)
	printf '%s:%s\n' "$GIT_HTTP_USER" "$GIT_HTTP_PASSWORD" >"$dir/users"
	cat >"$dir/lighttpd.conf" <<CONF
server.modules = ("mod_alias", "mod_setenv", "mod_auth", "mod_authn_file", "mod_redirect", "mod_cgi", "mod_openssl",
                  "mod_accesslog")
server.document-root = "$dir/www"
server.bind = "$bind"
server.port = $port
server.errorlog = "$dir/lighttpd.log"
server.max-request-size = 0
server.stream-request-body = 2
server.stream-response-body = 2
accesslog.filename = "$dir/access.log"
accesslog.format = "%h %p \\"%r\\" %s auth=%{Authorization}i"
\$SERVER["socket"] == "$bind:$tls_port" {
	ssl.engine = "enable"
	ssl.pemfile = "$certs/server.crt"
	ssl.privkey = "$certs/server.key"
}
$redirect
alias.url = ( "/auth/git" => "/usr/lib/git-core/git-http-backend",
              "/git" => "/usr/lib/git-core/git-http-backend" )
cgi.assign = ( "" => "" )
setenv.add-environment = ( "GIT_PROJECT_ROOT" => "$root", "GIT_HTTP_EXPORT_ALL" => "1" )
auth.backend = "plain"
auth.backend.plain.userfile = "$dir/users"
auth.require = ( "/auth/" => ( "method" => "basic", "realm" => "git", "require" => "valid-user" ) )
CONF
	lighttpd -D -f "$dir/lighttpd.conf" >>"$dir/lighttpd.log" 2>&1 &
	GIT_SERVER_PIDS="$GIT_SERVER_PIDS $!"
	GIT_HTTP_URL=http://$bind:$port/git
	GIT_HTTPS_URL=https://$bind:$tls_port/auth/git
	GIT_HTTP_CA=$certs/ca.crt
	git_wait_port "$port" 10 "$bind" && git_wait_port "$tls_port" 10 "$bind"
}

git_daemon_start() { # root dir
	local root=$1 dir=$2 port
	mkdir -p "$dir" || return 1
	port=$(git_free_port)
	git daemon --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$root" --export-all \
		--informative-errors "$root" >>"$dir/git-daemon.log" 2>&1 &
	GIT_SERVER_PIDS="$GIT_SERVER_PIDS $!"
	GIT_DAEMON_URL=git://127.0.0.1:$port
	git_wait_port "$port"
}

git_sshd_start() { # root dir
	local root=$1 dir=$2 port user
	mkdir -p "$dir" /run/sshd || return 1
	port=$(git_free_port) user=$(id -un)
	ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" -C host || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key" -C client || return 1
	ssh-keygen -q -t rsa -b 3072 -N '' -f "$dir/client_rsa" -C client-rsa || return 1
	cat "$dir/client_key.pub" "$dir/client_rsa.pub" >"$dir/authorized_keys"
	chmod 600 "$dir/authorized_keys"
	printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/host_key.pub")" >"$dir/known_hosts"
	cat >"$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PubkeyAuthentication yes
PubkeyAcceptedAlgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers $user
LogLevel VERBOSE
CONF
	/usr/sbin/sshd -D -e -f "$dir/sshd_config" >>"$dir/sshd.log" 2>&1 &
	GIT_SERVER_PIDS="$GIT_SERVER_PIDS $!"
	GIT_SSH_URL=ssh://$user@127.0.0.1:$port$root
	GIT_SSH_KEY=$dir/client_key
	GIT_SSH_KNOWN_HOSTS=$dir/known_hosts
	GIT_SSH_RSA_KEY=$dir/client_rsa
	GIT_SSH_PORT=$port
	git_wait_port "$port"
}

git_servers_stop() {
	local pid
	for pid in $GIT_SERVER_PIDS; do
		kill "$pid" 2>/dev/null
	done
	for pid in $GIT_SERVER_PIDS; do
		wait "$pid" 2>/dev/null
	done
	GIT_SERVER_PIDS=
}

git_test_home() {
	export GIT_AUTHOR_NAME=Ada GIT_AUTHOR_EMAIL=ada@example.test GIT_COMMITTER_NAME=Ada GIT_COMMITTER_EMAIL=ada@example.test
	export HOME=$1
	mkdir -p "$HOME"
	git config --global init.defaultBranch main
	git config --global commit.gpgsign false
}
