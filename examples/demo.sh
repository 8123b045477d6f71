#!/usr/bin/env bash
# The main job, locally, with the embedded defaults: the secure pipeline on
# the sample app (examples/app), every step a real binary from bin/ and
# every remote a real server on loopback:
#
#   config      extract-value-jq  reads the toolchain config
#   clone       git-clone         from git daemon (the app as a git repo)
#   static      docker-lint, cis-check on the Dockerfile and deployment.yml
#   test        unit-tests        the app's tests, JUnit captured
#   build       containerize      unprivileged build, pushed to docker-registry (TLS + auth)
#   keys        signer-key        build and validation keys in an encrypted file vault
#   trust       dct-init          trust data on notary-server, both signers delegated
#   sign        build-sign        DCT + cosign signatures by the build signer
#   gate        verify-signatures refuses: the validation signature is missing (exit 3)
#   validate    build-sign        the validation signer signs the same digest
#   gate        verify-signatures both signers, both formats, on the exact digest
#
# Evidence (every step's results, logs and reports) is kept in
# build/demo/evidence. deploy, check-health and publish-doi come with later
# issues; the demo stops at the deploy gate.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/bin
out=$top/build/demo
evidence=$out/evidence
work=$(mktemp -d /tmp/pipeline-demo.XXXXXX)
chmod 755 "$work"
rm -rf "$evidence" && mkdir -p "$evidence"

. "$top/tests/servers/notary.sh"
cleanup() {
	[ -n "${GIT_DAEMON_PID:-}" ] && kill "$GIT_DAEMON_PID" 2>/dev/null
	notary_stop >/dev/null 2>&1 || true
	"$top/tests/servers/registry.sh" stop "$work/reg" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

step=0
# run STEP-NAME EXPECTED-EXIT CMD...: results and output kept as evidence
run() {
	local name=$1 want=$2; shift 2
	step=$((step + 1))
	local dir=$evidence/$(printf '%02d' $step)-$name
	mkdir -p "$dir/results"
	printf '\n== %02d %s\n' $step "$name"
	set +e
	"$@" --results-dir="$dir/results" >"$dir/stdout" 2>"$dir/stderr"
	local rc=$?
	set -e
	cat "$dir/stdout"
	cat "$dir/stderr" >&2
	echo "$rc" >"$dir/exit-code"
	if [ "$rc" != "$want" ]; then
		echo "demo: step $name exited $rc, expected $want (evidence in $dir)" >&2
		exit 1
	fi
	LAST=$dir/results
}
result() { cat "$LAST/$1"; }

# ---- config --------------------------------------------------------------
config=$top/examples/pipeline-config.json
run config-image-name 0 "$bin/extract-value-jq" --json-file="$config" --expression='.parameters["image-name"]'
image_name=$(result extracted-value)
run config-signers 0 "$bin/extract-value-jq" --json-file="$config" --expression='.parameters.signers[]'
mapfile -t signers <"$LAST/extracted-value"

# ---- the app's repository, served by git daemon --------------------------
mkdir -p "$work/src"
cp -r "$top/examples/app" "$work/src/app"
git -C "$work/src/app" init -q -b main
git -C "$work/src/app" -c user.name="Demo Developer" -c user.email=dev@example.com add -A
GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" \
	git -C "$work/src/app" -c user.name="Demo Developer" -c user.email=dev@example.com commit -q -m "hello-secure-app"
git clone -q --bare "$work/src/app" "$work/repos/app.git"
git_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
git daemon --reuseaddr --export-all --base-path="$work/repos" --listen=127.0.0.1 --port="$git_port" \
	"$work/repos" 2>"$out/git-daemon.log" &
GIT_DAEMON_PID=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$git_port) 2>/dev/null && break; sleep 0.1; done

run clone 0 "$bin/git-clone" --url="git://127.0.0.1:$git_port/app.git" --branch=main \
	--workspace="$work/ws" --directory=app
src=$(result clone-directory)
case $src in /*) ;; *) src=$work/ws/$src ;; esac
commit=$(result git-commit)

# ---- static checks and tests -----------------------------------------------
run docker-lint 0 "$bin/docker-lint" --dockerfile="$src/Dockerfile" --format=sarif --output-file="$evidence/docker-lint.sarif"
run cis-check 0 "$bin/cis-check" --deployment-file="$src/deployment.yml" --format=json --output-file="$evidence/cis-check.json"
run unit-tests 0 "$bin/unit-tests" --workdir="$src" --command="node test/server.test.js" --junit='reports/*.xml' \
	--record-file="$evidence/test-record.json"

# ---- build and push ----------------------------------------------------------
echo; echo "== preparing: registry on loopback, Debian + nodejs base (cached)"
"$top/tests/servers/registry.sh" start "$work/reg" htpasswd >/dev/null
. "$work/reg/env"
node_base=$("$top/tests/servers/containerize-bases.sh" node)
repo=$REGISTRY/hello/$image_name
run build 0 "$bin/containerize" --context="$src" --image="$repo" \
	--build-args="BASE_IMAGE=oci:$node_base:bookworm" --build-number=1 --git-branch=main --git-commit="$commit" \
	--ca-file="$REGISTRY_CA" --registry-creds="$REGISTRY_USER:$REGISTRY_PASS" --work-dir="$work/build"
image=$(result image-ref)
digest=$(result IMAGE_DIGEST)
tag=$(result image-tags | head -1)

# ---- keys, trust data, two-stage signing, the deploy gate ----------------------
passphrase="demo-$(openssl rand -hex 12)"
vault=(--keystore-dir="$work/vault" --passphrase="$passphrase")
reg=(--registry-ca="$REGISTRY_CA" --registry-creds="$REGISTRY_USER:$REGISTRY_PASS")
for s in "${signers[@]}"; do
	run "key-$s" 0 "$bin/signer-key" --action=create --name="$s" "${vault[@]}" --public-key-file="$evidence/$s.pub"
done
notary_start "$work/notary" >/dev/null
notary=(--notary-server="$NOTARY_URL" --notary-ca="$NOTARY_CA")
run dct-init 0 "$bin/dct-init" --image="$repo" "${notary[@]}" "${vault[@]}" $(printf -- '--signers=%s ' "${signers[@]}")

run sign-build 0 "$bin/build-sign" --image="$repo:$tag@$digest" --signer="${signers[0]}" --format=both \
	"${vault[@]}" "${notary[@]}" "${reg[@]}"
gate=("$bin/verify-signatures" --image="$repo@$digest" --format=both "${notary[@]}" "${reg[@]}")
for s in "${signers[@]}"; do gate+=(--signers="$s=$evidence/$s.pub"); done
run gate-before-validation 3 "${gate[@]}"
run sign-validation 0 "$bin/build-sign" --image="$repo:$tag@$digest" --signer="${signers[1]}" --format=both \
	"${vault[@]}" "${notary[@]}" "${reg[@]}"
run gate 0 "${gate[@]}"

cat <<SUMMARY

== pipeline on the sample app: done
image     $image
commit    $commit
signed by ${signers[*]} (Docker Content Trust on notary-server, cosign in the registry)
evidence  $evidence
next      deploy, check-health and publish-doi arrive with later issues
SUMMARY
