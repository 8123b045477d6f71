#!/usr/bin/env bash
# Only documented variables change what a task does (README "Environment").
# Every task binary runs a representative invocation twice from the same
# starting state: once with a clean environment, once with every param's
# bare name (IMAGE, TOKEN, FORMAT, IGNORE, URL, WORKSPACE...), the old
# common-option names (RESULTS_DIR, LOG_FORMAT, LOG_LEVEL) and names CI
# systems set for their own use (GIT_COMMIT, BUILD_NUMBER, PASSWORD...) set
# to values that would change the run if they were read. Exit code, stdout,
# stderr, every result and the files the run wrote must be identical.
# A check of the check: the same hostile values under our prefix
# (PIPELINE_PARAM_*) must change docker-lint's run.
# Servers: a registry (tests/servers/registry.sh), notary (notary.sh), git
# over http (git-servers.sh), all on loopback.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BIN=${PIPELINE_BIN:-$top/build/asan/bin}
W=$(mktemp -d /tmp/ambient-env.XXXXXX)
. "$top/tests/servers/git-servers.sh"
. "$top/tests/servers/notary.sh"
cleanup() {
	git_servers_stop
	notary_stop
	[ -f "$W/reg/env" ] && "$top/tests/servers/registry.sh" stop "$W/reg" >/dev/null 2>&1
	if [ -n "${AMBIENT_TEST_KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
failed=0
pass() { echo "PASS: ambient-env/$1"; }
fail() { echo "FAIL: ambient-env/$1${2:+: $2}"; failed=1; }

for tool in git lighttpd openssl python3 jq notary-server; do
	command -v "$tool" >/dev/null || { fail setup "$tool is not installed"; exit 1; }
done
TASKS=$(cd "$top/tasks" && ls)
for t in $TASKS; do [ -x "$BIN/$t" ] || { fail setup "no binary $BIN/$t"; exit 1; }; done

# ---- the hostile environment -------------------------------------------------
# every param of every task, by its bare name; a value of the param's type
# that differs from its default (a bool flipped, an int that is not the
# default, a string that names something else), so reading it changes the run
python3 - "$BIN" $TASKS >"$W/hostile.env" <<'EOF' || { fail setup "cannot list the params"; exit 1; }
import json, subprocess, sys
bindir, tasks = sys.argv[1], sys.argv[2:]
special = {"FORMAT": "json", "IGNORE": "DL3008", "FAILURE_THRESHOLD": "none", "URL": "http://127.0.0.1:9/evil.git",
           "IMAGE": "127.0.0.1:9/evil/app", "DEST": "oci:/tmp/evil-dest:v1", "SRC": "oci:/tmp/evil-src:v1",
           "WORKSPACE": "/tmp", "DIRECTORY": "evil-dir", "RESULTS_DIR": "/tmp/evil-results",
           "LOG_FORMAT": "json", "LOG_LEVEL": "debug", "ACTION": "delete", "COMMAND": "exit 7",
           "EXPRESSION": ".evil", "SIGNERS": "mallory", "SIGNER": "mallory", "TOKEN": "tok-hostile-ambient",
           "PASSWORD": "pw-hostile-ambient", "USERNAME": "mallory", "PASSPHRASE": "pp-hostile-ambient",
           "GIT_COMMIT": "0" * 40, "BUILD_NUMBER": "666", "WORKDIR": "/tmp", "TAG": "evil",
           "CONFIG": "/tmp/evil.json", "JSON": "{\"evil\":1}"}
# standard variables are documented to apply (README "Environment")
standard = {"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "SOURCE_DATE_EPOCH", "KUBECONFIG"}
env = dict(special)
for t in tasks:
    d = json.loads(subprocess.run([f"{bindir}/{t}", "--describe"], capture_output=True, check=True).stdout)
    for p in d["params"]:
        name = p["name"].upper().replace("-", "_")
        if name in env or name in standard:
            continue
        if p["type"] == "bool":
            env[name] = "false" if p["default"] in ("true", "yes", "1") else "true"
        elif p["type"] == "int":
            env[name] = "1" if p["default"] != "1" else "2"
        else:
            env[name] = f"hostile-{name.lower()}"
for k in sorted(env):
    print(f"{k}={env[k]}")
EOF
n_hostile=$(wc -l <"$W/hostile.env")
for name in TOKEN FORMAT WORKSPACE USERNAME PASSWORD IGNORE GIT_COMMIT BUILD_NUMBER IMAGE URL RESULTS_DIR \
	LOG_LEVEL LOG_FORMAT SIGNERS NOTARY_SERVER DOCKERFILE EXPRESSION; do
	grep -q "^$name=" "$W/hostile.env" || { fail setup "$name is not in the hostile set"; exit 1; }
done

# the environment both runs share: what the sanitizers and servers need
base_env=(PATH="$PATH" HOME="$W/home" TMPDIR="$W/tmp")
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
	[ -n "${!v:-}" ] && base_env+=("$v=${!v}")
done
mkdir -p "$W/home" "$W/tmp"
mapfile -t hostile <"$W/hostile.env"

# ---- servers and fixtures ------------------------------------------------------
export GIT_AUTHOR_NAME=Ada GIT_AUTHOR_EMAIL=ada@example.test GIT_COMMITTER_NAME=Ada GIT_COMMITTER_EMAIL=ada@example.test
mkdir -p "$W/git/root" "$W/fix"
{
	git init -q -b main "$W/git/w" && cp -r "$top/examples/app/." "$W/git/w/" &&
		git -C "$W/git/w" add -A && git -C "$W/git/w" -c commit.gpgsign=false commit -q -m app &&
		git clone -q --bare "$W/git/w" "$W/git/root/app.git"
} >"$W/fixtures.log" 2>&1 || { fail setup "git fixture: $(tail -2 "$W/fixtures.log")"; exit 1; }
git_http_start "$W/git/root" "$W/git/srv" || { fail setup "git http server did not start"; exit 1; }
"$top/tests/servers/registry.sh" start "$W/reg" none >"$W/reg.log" 2>&1 || { fail setup "registry: $(tail -2 "$W/reg.log")"; exit 1; }
. "$W/reg/env"
notary_start "$W/notary" >"$W/notary.log" 2>&1 || { fail setup "notary did not start"; exit 1; }

FIX=$W/fix
SHARED_DATA=$(cd "$top/.." && pwd)/shared/data
cp "$top/examples/app/deployment.yml" "$FIX/deployment.yml"
printf 'FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\nADD x /x\nUSER root\n' >"$FIX/Dockerfile.lint"
printf '{"app":{"name":"hello","replicas":2}}\n' >"$FIX/config.json"
mkdir -p "$FIX/ctx" && printf 'FROM scratch\nCOPY a /a\nENV X=1\n' >"$FIX/ctx/Dockerfile" && printf 'fixed\n' >"$FIX/ctx/a"
mkdir -p "$FIX/tests" && printf '%s\n' '<testsuite name="t"><testcase classname="c" name="ok"/></testsuite>' >"$FIX/tests/junit-a.xml"
mkdir -p "$FIX/wd" && cat >"$FIX/task.yaml" <<'YAML'
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: jq
spec:
  params:
    - name: expr
      default: .app.name
  workspaces:
    - name: source
  results:
    - name: extracted-value
  steps:
    - name: jq
      image: ghcr.io/secure-pipeline/extract-value-jq:0.1.0
      command: ["/task"]
      args: ["--expression=$(params.expr)", "--json-file=$(workspaces.source.path)/config.json"]
YAML
PASS=pp-$(openssl rand -hex 8)
KS=$W/ks
"$BIN/containerize" --context="$FIX/ctx" --push=false --oci-layout="oci:$FIX/layout:v1" --source-date-epoch=0 \
	--results-dir="$W/setup-res" >"$W/setup.log" 2>&1 &&
	for k in root targets build; do
		"$BIN/signer-key" --action=create --name=$k --keystore-dir="$KS" --passphrase="$PASS" \
			--results-dir="$W/setup-res" >>"$W/setup.log" 2>&1 || exit 1
	done || { fail setup "keys and layout: $(tail -3 "$W/setup.log")"; exit 1; }
IMG=$REGISTRY/ambient/app
for repo in app a b; do
	"$BIN/image-copy" --src="oci:$FIX/layout:v1" --dest="docker://$REGISTRY/ambient/$repo:v1" --ca-file="$REGISTRY_CA" \
		--results-dir="$W/setup-res" >>"$W/setup.log" 2>&1 || { fail setup "push: $(tail -3 "$W/setup.log")"; exit 1; }
done
DIGEST=$(cat "$W/setup-res/IMAGE_DIGEST")

# ---- the comparison -------------------------------------------------------------
# compare NAME TASK ARGS...: in a fresh $W/run (the fixtures copied in),
# once clean and once hostile. Steps that change remote state (dct-init,
# build-sign) name @GUN@, a repository of their own per run (ambient/a for
# the clean run, ambient/b for the hostile one, both holding the same
# image), so both start from the same state; ambient/b reads as ambient/a
# when the outputs are compared.
run_one() { # dir gun task args... (the caller's env)
	local d=$1 gun=$2 t=$3
	shift 3
	rm -rf "$W/run" && mkdir -p "$W/run" && cp -r "$FIX/." "$W/run/" && cp -r "$KS" "$W/run/ks"
	local args=("${ARGS[@]//@GUN@/$REGISTRY/ambient/$gun}")
	(cd "$W/run" && "$@" ${RUN_PREFIX:-} "$BIN/$t" --results-dir="$W/run/results" "${args[@]}" >"$d.out" 2>"$d.err")
	echo $? >"$d.rc"
	mkdir -p "$W/run/results"
	if [ "$gun" = b ]; then
		grep -rlF "ambient/b" "$d.out" "$d.err" "$W/run/results" | xargs -r sed -i "s#$REGISTRY/ambient/b#$REGISTRY/ambient/a#g"
	fi
	if [ -n "${MASK:-}" ]; then # values made fresh by every run (see the caller)
		find "$d.out" "$d.err" "$W/run/results" -type f -print0 | xargs -0 sed -i -E "$MASK"
	fi
	# the files the run left (results and outputs), by content; what is
	# the run's own (a test record's start time, git's index stat data
	# and reflog times) is left out
	local f
	(cd "$W/run" && find . -type f ! -path './ks/*' | sort | while IFS= read -r f; do
		case $f in
		*record.json) jq -S 'del(.started_at, .duration_seconds)' "$f" ;;
		*/.git/index) git --git-dir="${f%/index}" ls-files --stage ;;
		*/.git/logs/*) sed -E 's/> [0-9]+ [-+][0-9]{4}\t/> TIME\t/' "$f" ;;
		*) cat "$f" ;;
		esac | sha256sum | sed "s#-\$#$f#"
	done) >"$d.files"
	cp -r "$W/run/results" "$d.results"
}
compare() { # name task args... -> PASS/FAIL
	local name=$1 t=$2
	shift 2
	ARGS=("$@")
	run_one "$W/$name.clean" a "$t" env -i "${base_env[@]}"
	run_one "$W/$name.hostile" b "$t" env -i "${base_env[@]}" "${hostile[@]}"
	local why=""
	cmp -s "$W/$name.clean.rc" "$W/$name.hostile.rc" ||
		why="exit $(cat "$W/$name.clean.rc") clean, $(cat "$W/$name.hostile.rc") hostile"
	[ -z "$why" ] && ! cmp -s "$W/$name.clean.out" "$W/$name.hostile.out" && why="stdout differs"
	[ -z "$why" ] && ! normalized_equal "$W/$name.clean.err" "$W/$name.hostile.err" && why="stderr differs"
	[ -z "$why" ] && ! diff -r "$W/$name.clean.results" "$W/$name.hostile.results" >/dev/null && why="results differ"
	[ -z "$why" ] && ! cmp -s "$W/$name.clean.files" "$W/$name.hostile.files" && why="files written differ"
	# the run did something: not two identical usage errors
	[ -z "$why" ] && grep -q "Try '$t --help'" "$W/$name.clean.err" && why="usage error: $(head -1 "$W/$name.clean.err")"
	[ -z "$why" ] && [ "$(cat "$W/$name.clean.rc")" != "${WANT_RC:-0}" ] &&
		why="exit $(cat "$W/$name.clean.rc"), want ${WANT_RC:-0}: $(tail -1 "$W/$name.clean.err")"
	if [ -z "$why" ]; then pass "$name-ignores-ambient-names"; else
		fail "$name-ignores-ambient-names" "$why"
		diff "$W/$name.clean.err" "$W/$name.hostile.err" | head -5
	fi
}
# durations in logs ("in 12 ms") are the only thing two runs may differ in
normalized_equal() {
	cmp -s <(sed -E 's/[0-9]+(\.[0-9]+)? ?(ms|s|µs|us)\b/N\2/g' "$1") <(sed -E 's/[0-9]+(\.[0-9]+)? ?(ms|s|µs|us)\b/N\2/g' "$2")
}

NOTARY=(--notary-server="$NOTARY_URL" --notary-ca="$NOTARY_CA")
VAULT=(--keystore-dir=ks --passphrase="$PASS")
compare extract-value-jq extract-value-jq --expression='.app.name' --json-file=config.json
WANT_RC=3 compare docker-lint docker-lint --dockerfile=Dockerfile.lint
compare cis-check cis-check --deployment-file=deployment.yml --failure-threshold=none
compare git-clone git-clone --url="$GIT_HTTP_URL/app.git" --directory=src
compare unit-tests unit-tests --command='echo tests ran' --workdir=tests --record-file=record.json
compare containerize containerize --context=ctx --push=false --oci-layout=oci:out:v1 --source-date-epoch=0
compare image-copy image-copy --src=oci:layout:v1 --dest="docker://$IMG:copy" --ca-file="$REGISTRY_CA"
compare pipeline-run pipeline-run taskrun -f task.yaml --bin-dir="$BIN" --workspace=source="$W/run" --work-dir=wd
# the response time is the run's own
MASK='s/[0-9]+ ms/N ms/; s/^[0-9]+$/N/' compare check-health check-health --url="$GIT_HTTP_URL/app.git/HEAD" --body-contains=refs/heads/main --max-attempts=1
compare signer-key signer-key --action=list "${VAULT[@]}"
# the root key's ID is the hash of a certificate made for the GUN at run
# time (notary's rule): fresh on every run, masked
MASK='s/root key [0-9a-f]{12}/root key ROOT/; s/^(.* root )?[0-9a-f]{64}$/\1ROOT-KEY-ID/' compare dct-init dct-init --action=init --image=@GUN@ "${NOTARY[@]}" "${VAULT[@]}" --signers=build
compare build-sign build-sign --image=@GUN@ --digest="$DIGEST" --signer=build --format=dct --tag=v1 \
	"${NOTARY[@]}" "${VAULT[@]}" --registry-ca="$REGISTRY_CA"
compare verify-signatures verify-signatures --image="$REGISTRY/ambient/a" --digest="$DIGEST" --signers=build \
	--format=dct "${NOTARY[@]}" --registry-ca="$REGISTRY_CA"
compare deploy deploy --dry-run --manifests=deployment.yml --container=app --image="$REGISTRY/ambient/a@$DIGEST" --signers=build \
	"${NOTARY[@]}" --registry-ca="$REGISTRY_CA"
compare image-policy image-policy --image="$REGISTRY/ambient/a" --signers=build=ks/build.pub --notary-server="$NOTARY_URL" \
	--format=both --policy-file=policy-out.json
# the webhook server: serves until the SIGTERM timeout sends (a graceful
# stop, exit 0); the port it was given is the run's own
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-keyout "$FIX/tls.key" -out "$FIX/tls.crt" >/dev/null 2>&1
printf '%s\n' '{"apiVersion": "policy.secure-pipeline.dev/v1", "kind": "ImageAdmissionPolicy", "metadata": {"name": "p"},' \
	' "spec": {"repositories": [{"name": "'"$REGISTRY"'/ambient/*", "notaryServer": "'"$NOTARY_URL"'", "signers": [{"name": "build"}]}]}}' \
	>"$FIX/policy.json"
RUN_PREFIX='timeout --preserve-status -s TERM 3' MASK='s/port [0-9]+/port N/' compare image-admission image-admission --policy=policy.json \
	--tls-cert=tls.crt --tls-key=tls.key --listen=127.0.0.1:0 --notary-ca="$NOTARY_CA" --registry-ca="$REGISTRY_CA"
# bom to stdout (so the mask reaches it): the serial number and timestamp
# are the run's own
MASK='s/urn:uuid:[0-9a-f-]{36}/urn:uuid:N/; s/"timestamp": "[^"]*"/"timestamp": "T"/' \
	compare bom bom --source="$SHARED_DATA/app" --output=-
WANT_RC=3 compare va-scan va-scan --db="$SHARED_DATA/advisories/npm" --source="$SHARED_DATA/app" --fail-on=high
# publish-doi: a record published once (DSSE signatures are not
# deterministic), then listed and evaluated in each run
"$BIN/publish-doi" publish --store-dir="$FIX/doi" --image="$REGISTRY/ambient/a@$DIGEST" --signer=build \
	--keystore-dir="$KS" --passphrase="$PASS" --kind=build --time=2026-01-02T03:04:05Z \
	--builder-id=https://ci.example.test/builder \
	--results-dir="$W/setup-res" >>"$W/setup.log" 2>&1 || fail setup "publish-doi: $(tail -2 "$W/setup.log")"
compare publish-doi publish-doi list --store-dir=doi --image="$REGISTRY/ambient/a@$DIGEST" --trusted-keys=build=ks/build.pub
# check-health: the registry's /v2/ answers 401 without credentials; the
# response time is the run's own
MASK='s/[0-9]+ ms/N ms/g; s/^[0-9]+$/N/' # the response time is the run's own
MASK='s/[0-9]+ ms/N ms/; s/^[0-9]+$/N/' compare check-health check-health --url="https://$REGISTRY/v2/" \
	--ca-file="$REGISTRY_CA" --expect-status=200,401 --max-attempts=1
WANT_RC=3 compare verify-signatures-unsigned verify-signatures --image="$REGISTRY/ambient/a" --digest="$DIGEST" \
	--signers=nobody --format=dct "${NOTARY[@]}" --registry-ca="$REGISTRY_CA"

# every task ran
for t in $TASKS; do
	[ -f "$W/$t.clean.rc" ] || fail "$t-was-run" "no invocation of $t in this test"
done

# check of the check: hostile values under our prefix do change a run
prefixed=()
for kv in FORMAT=json IGNORE=DL3008 FAILURE_THRESHOLD=none; do prefixed+=("PIPELINE_PARAM_$kv"); done
ARGS=(--dockerfile=Dockerfile.lint)
run_one "$W/prefixed" a docker-lint env -i "${base_env[@]}" "${prefixed[@]}"
if ! cmp -s "$W/docker-lint.clean.out" "$W/prefixed.out" && [ "$(cat "$W/prefixed.rc")" = 0 ]; then
	pass "prefixed-names-are-read"
else
	fail "prefixed-names-are-read" "exit $(cat "$W/prefixed.rc"): $(tail -1 "$W/prefixed.err")"
fi
echo "($n_hostile hostile variables)"
exit $failed
