#!/usr/bin/env bash
# publish-doi end to end: records signed by a file-vault key and a SoftHSM2
# token key, the local evidence store (concurrent writers, tampering,
# truncation, a full disk), the registry store against the real
# docker-registry with TLS and basic auth (skopeo as the oracle for the
# .att tag, OpenSSL from the command line for every DSSE signature), list
# and the evaluate gate. Prints PASS:/FAIL: per test; exits non-zero if
# any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=publish-doi tools="docker-registry skopeo softhsm2-util openssl jq" keep=DOI_KEEP
. "$here/lib/prelude.sh"
at_exit+=('mountpoint -q "$W/full" 2>/dev/null && umount "$W/full"'
	'"$root/tests/servers/registry.sh" stop "$W/reg" >/dev/null 2>&1')

PASSPHRASE="vault-$(openssl rand -hex 8)"
PIN="pin-$(openssl rand -hex 4)"
FILE_VAULT=(--keystore-dir="$W/ks" --passphrase="$PASSPHRASE")
export SOFTHSM2_CONF=$W/softhsm2.conf
mkdir -p "$W/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label pipeline --pin "$PIN" --so-pin "so-$PIN" >/dev/null
P11_VAULT=(--vault=pkcs11 --pkcs11-token=pipeline --pin="$PIN")

"$BIN/signer-key" --action=create --name=build "${FILE_VAULT[@]}" --public-key-file="$W/build.pub" >/dev/null 2>&1 &&
"$BIN/signer-key" --action=create --name=rogue "${FILE_VAULT[@]}" --public-key-file="$W/rogue.pub" >/dev/null 2>&1 &&
"$BIN/signer-key" --action=create --name=validation "${P11_VAULT[@]}" --public-key-file="$W/validation.pub" >/dev/null 2>&1 ||
	{ fail keys "signer-key could not create the keys"; exit 1; }

hex() { printf %s "$1" | sha256sum | cut -c1-64; }
D=sha256:$(hex image-one)
D2=sha256:$(hex image-two)
IMG=127.0.0.1:5000/app
S=$W/store
DOI=("$BIN/publish-doi" --store-dir="$S")
TRUST=(--trusted-keys=build="$W/build.pub" --trusted-keys=validation="$W/validation.pub")
COMMIT=0123456789abcdef0123456789abcdef01234567
BASE=docker.io/library/node@sha256:$(hex node-base)

# ---- records of every kind --------------------------------------------
cat >"$W/junit-pass.xml" <<'EOF'
<testsuites><testsuite name="api" tests="2" failures="0"><testcase classname="api" name="get"/><testcase classname="api" name="put"/></testsuite></testsuites>
EOF
cat >"$W/junit-fail.xml" <<'EOF'
<testsuites><testsuite name="api" tests="2" failures="1"><testcase classname="api" name="get"/><testcase classname="api" name="put"><failure message="500"/></testcase></testsuite></testsuites>
EOF
printf 'FROM node:20\nRUN apt-get update && apt-get install -y curl\n' >"$W/Dockerfile"
"$BIN/docker-lint" --dockerfile="$W/Dockerfile" --format=json --output-file="$W/lint.json" >/dev/null 2>&1
cat >"$W/deployment.yml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      hostNetwork: true
      containers:
      - name: web
        image: app:latest
        securityContext: {privileged: true}
EOF
"$BIN/cis-check" --deployment-file="$W/deployment.yml" --format=json --output-file="$W/cis.json" >/dev/null 2>&1
if jq -e 'length > 0 and all(.[]; .code and .level)' "$W/lint.json" >/dev/null &&
   jq -e 'any(.[]; .level == "error")' "$W/cis.json" >/dev/null; then
	pass reports-from-docker-lint-and-cis-check; else fail reports-from-docker-lint-and-cis-check; fi
cat >"$W/trivy.json" <<'EOF'
{"Results":[{"Target":"app","Vulnerabilities":[
 {"VulnerabilityID":"CVE-2024-0001","Severity":"HIGH","PkgName":"openssl"},
 {"VulnerabilityID":"CVE-2024-0002","Severity":"MEDIUM","PkgName":"zlib"}]}]}
EOF
cat >"$W/bom.json" <<'EOF'
{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"express","version":"4.19.2"}]}
EOF

pub() { # name exit args... (file vault, signer build, image D)
	local name=$1 want=$2; shift 2
	run "$name" "$want" "${DOI[@]}" publish --image="$IMG@$D" --signer=build "${FILE_VAULT[@]}" "$@"
}
ok=1
pub build 0 --kind=build --builder-id=https://tekton.dev/chains/v2 --build-number=42 \
	--git-repository=https://git.example/app.git --git-branch=main --git-commit=$COMMIT --base-images="$BASE" \
	--job-url=https://ci.example/run/42 --time=2026-01-01T10:00:00Z --results-dir="$W/res-build" || ok=0
pub unittest-fail 0 --kind=test --file="$W/junit-fail.xml" --filetype=unittest --time=2026-01-01T10:01:00Z || ok=0
pub unittest-pass 0 --kind=test --file="$W/junit-pass.xml" --filetype=unittest --time=2026-01-01T10:02:00Z || ok=0
pub lint 0 --kind=test --file="$W/lint.json" --filetype=lint --time=2026-01-01T10:03:00Z || ok=0
pub cis 0 --kind=test --file="$W/cis.json" --filetype=cis --time=2026-01-01T10:03:00Z || ok=0
pub va 0 --kind=test --file="$W/trivy.json" --filetype=vulnerabilityadvisor --time=2026-01-01T10:04:00Z || ok=0
pub bom 0 --kind=test --file="$W/bom.json" --filetype=bom --time=2026-01-01T10:04:00Z || ok=0
pub deploy 0 --kind=deploy --environment=prod --cluster=c1 --namespace=web --status=success --time=2026-01-01T10:05:00Z || ok=0
pub deployable 0 --kind=deployable --environment=prod --cluster=c1 --namespace=web --time=2026-01-01T10:05:01Z || ok=0
# the same record signed inside the token
run p11 0 "${DOI[@]}" publish --image="$IMG@$D" --signer=validation "${P11_VAULT[@]}" --kind=test \
	--file="$W/junit-pass.xml" --filetype=fvt --time=2026-01-01T10:06:00Z || ok=0
if [ $ok = 1 ] && [ "$(ls "$S/index/sha256-${D#sha256:}" | wc -l)" = 10 ] &&
   [ "$(cat "$W/res-build/envelope-digest")" = "$(cat "$LOGS/build.out")" ]; then
	pass publish-every-kind; else fail publish-every-kind; fi

# ---- every DSSE signature checked by OpenSSL over a PAE rebuilt here ----
# DSSE protocol (github.com/secure-systems-lab/dsse/blob/master/protocol.md):
# sign(PAE(type, body)), PAE = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
verify_pae() { # envelope-file pubkey
	local e=$1 k=$2 t
	t=$(jq -r .payloadType "$e")
	jq -r .payload "$e" | base64 -d >"$W/payload.bin" || return 1
	{ printf 'DSSEv1 %d %s %d ' "${#t}" "$t" "$(stat -c %s "$W/payload.bin")"; cat "$W/payload.bin"; } >"$W/pae.bin"
	jq -r '.signatures[0].sig' "$e" | base64 -d >"$W/sig.der" || return 1
	openssl dgst -sha256 -verify "$k" -signature "$W/sig.der" "$W/pae.bin" >/dev/null 2>&1
}
ok=1; n=0
for e in "$S/index/sha256-${D#sha256:}"/*; do
	key=$W/build.pub
	jq -r .payload "$e" | base64 -d | jq -e '.predicate.configuration[0].annotations.testType == "fvt"' >/dev/null && key=$W/validation.pub
	verify_pae "$e" "$key" || { ok=0; echo "  openssl rejects $e" >&2; }
	n=$((n + 1))
done
# and the check can fail: the payload alone (no PAE) does not verify
e1=$(ls "$S/index/sha256-${D#sha256:}"/* | head -1)
jq -r .payload "$e1" | base64 -d >"$W/raw.bin"; jq -r '.signatures[0].sig' "$e1" | base64 -d >"$W/raw.sig"
if [ $ok = 1 ] && [ $n = 10 ] && jq -e '.payloadType == "application/vnd.in-toto+json" and (.signatures[0].keyid | test("^[0-9a-f]{64}$"))' "$e1" >/dev/null &&
   ! openssl dgst -sha256 -verify "$W/build.pub" -signature "$W/raw.sig" "$W/raw.bin" >/dev/null 2>&1; then
	pass openssl-verifies-pae-signatures; else fail openssl-verifies-pae-signatures; fi

# ---- statement and SLSA provenance v1 rules ----------------------------
statement_of() { jq -r .payload "$1" | base64 -d; }
for e in "$S/index/sha256-${D#sha256:}"/*; do statement_of "$e"; echo; done >"$W/statements.jsonl"
# in-toto Statement v1 (github.com/in-toto/attestation/blob/main/spec/v1/statement.md):
# _type is exactly https://in-toto.io/Statement/v1; subject a non-empty list
# of ResourceDescriptors, each with a non-empty digest map whose values are
# lower-case hex (sha256: 64); predicateType a TypeURI; predicate an object.
STMT_RULES='._type == "https://in-toto.io/Statement/v1"
 and (.subject | type == "array" and length > 0)
 and all(.subject[]; (.digest | type == "object" and length > 0)
                      and all(.digest | to_entries[]; .value | test("^[0-9a-f]+$"))
                      and (.digest.sha256 | test("^[0-9a-f]{64}$")))
 and (.predicateType | type == "string" and test("^[a-z][a-z0-9+.-]*:"))
 and (.predicate | type == "object")'
# SLSA provenance v1 (slsa.dev/spec/v1.0/provenance): buildDefinition
# {buildType: TypeURI (required), externalParameters: object (required),
# internalParameters: object, resolvedDependencies: ResourceDescriptors},
# runDetails {builder {id: TypeURI (required)}, metadata {invocationId,
# startedOn/finishedOn: RFC 3339 timestamps}}; a ResourceDescriptor has at
# least one of uri, digest, content (resource-descriptor.md).
SLSA_RULES='.predicateType == "https://slsa.dev/provenance/v1"
 and (.predicate.buildDefinition.buildType | type == "string" and test("^[a-z][a-z0-9+.-]*:"))
 and (.predicate.buildDefinition.externalParameters | type == "object")
 and ((.predicate.buildDefinition.internalParameters // {}) | type == "object")
 and all(.predicate.buildDefinition.resolvedDependencies[]; .uri or .digest or .content)
 and (.predicate.runDetails.builder.id | type == "string" and test("^[a-z][a-z0-9+.-]*:"))
 and all(.predicate.runDetails.metadata | (.startedOn, .finishedOn) | select(. != null);
         test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$"))'
if [ "$(jq -c "select($STMT_RULES) | .subject[0].digest.sha256" "$W/statements.jsonl" | sort -u)" = "\"${D#sha256:}\"" ] &&
   [ "$(jq -c "select($STMT_RULES)" "$W/statements.jsonl" | wc -l)" = 10 ]; then
	pass statement-v1-rules; else fail statement-v1-rules; fi
prov=$(jq -c "select(.predicateType == \"https://slsa.dev/provenance/v1\")" "$W/statements.jsonl")
if [ -n "$prov" ] && printf '%s' "$prov" | jq -e "$SLSA_RULES" >/dev/null &&
   printf '%s' "$prov" | jq -e --arg c $COMMIT --arg b "${BASE#*@sha256:}" '
	.predicate.buildDefinition.resolvedDependencies as $d
	| ($d | any(.uri == "git+https://git.example/app.git@refs/heads/main" and .digest.gitCommit == $c))
	  and ($d | any(.uri == "oci://docker.io/library/node" and .digest.sha256 == $b))
	  and .predicate.runDetails.builder.id == "https://tekton.dev/chains/v2"
	  and .predicate.buildDefinition.externalParameters.buildNumber == "42"' >/dev/null &&
   ! printf '%s' "$prov" | jq -e 'del(.predicate.runDetails.builder.id) | '"$SLSA_RULES" >/dev/null 2>&1; then
	pass slsa-provenance-v1-rules; else fail slsa-provenance-v1-rules; fi
# in-toto test-result v0.1 (github.com/in-toto/attestation/blob/main/spec/predicates/test-result.md):
# result one of PASSED, WARNED, FAILED; configuration ResourceDescriptors;
# passedTests, warnedTests, failedTests lists of strings
if [ "$(jq -c 'select(.predicateType == "https://in-toto.io/attestation/test-result/v0.1")
	| select((.predicate.result | IN("PASSED","WARNED","FAILED"))
	  and all(.predicate.configuration[]; .uri or .digest or .content)
	  and all(.predicate.passedTests, .predicate.warnedTests, .predicate.failedTests; type == "array" and all(.[]; type == "string")))
	| .predicate.configuration[0].annotations.testType' "$W/statements.jsonl" | sort | tr '\n' ' ')" = '"cis" "fvt" "lint" "unittest" "unittest" ' ] &&
   jq -se 'any(.[]; .predicate.configuration[0].annotations.testType == "cis" and .predicate.result == "FAILED" and (.predicate.failedTests | length > 0))' "$W/statements.jsonl" >/dev/null &&
   jq -se 'any(.[]; .predicateType == "https://cosign.sigstore.dev/attestation/vuln/v1" and .predicate.scanner.result.summary == {"high":1,"medium":1})' "$W/statements.jsonl" >/dev/null &&
   jq -se 'any(.[]; .predicateType == "https://cyclonedx.org/bom" and .predicate.components[0].name == "express")' "$W/statements.jsonl" >/dev/null; then
	pass test-vuln-bom-predicates; else fail test-vuln-bom-predicates; fi

# ---- va-scan's own report (JSON and CycloneDX) as the vulnerability record --
data="$(cd "$root/.." && pwd)/shared/data"
V=$W/va-store
if [ ! -d "$data/advisories/npm" ] || [ ! -d "$data/app" ]; then
	fail va-scan-report "test data missing: $data (../shared/data beside the repository)"
elif ! "$BIN/va-scan" --db="$data/advisories/npm" --source="$data/app" --report-file="$W/va.json" --fail-on=none >/dev/null 2>"$LOGS/va-scan.err" ||
     ! "$BIN/va-scan" --db="$data/advisories/npm" --source="$data/app" --report-file="$W/va.cdx.json" --report-format=cyclonedx --fail-on=none >/dev/null 2>>"$LOGS/va-scan.err"; then
	fail va-scan-report "va-scan failed: $(tail -2 "$LOGS/va-scan.err")"
else
	# the oracle: va-scan's own counts (lower-case severity -> count, zeros and
	# suppressed left out) against the predicate's summary
	want=$(jq -cS '[.findings[] | select(.suppressed == null) | .severity | ascii_downcase] | group_by(.) | map({(.[0]): length}) | add // {}' "$W/va.json")
	if run va-json 0 "$BIN/publish-doi" publish --store-dir="$V" --image="$IMG@$D" --signer=build "${FILE_VAULT[@]}" --kind=test --file="$W/va.json" --filetype=vulnerabilityadvisor &&
	   run va-cdx 0 "$BIN/publish-doi" publish --store-dir="$V" --image="$IMG@$D" --signer=build "${FILE_VAULT[@]}" --kind=test --file="$W/va.cdx.json" --filetype=vulnerabilityadvisor &&
	   [ "$want" != "{}" ] &&
	   [ "$(for e in "$V/index/sha256-${D#sha256:}"/*; do statement_of "$e" | jq -cS '.predicate.scanner.result.summary | to_entries | map(select(.value > 0)) | from_entries'; done | sort -u)" = "$want" ]; then
		pass va-scan-report; else fail va-scan-report "want $want"; fi
fi

# ---- list and the gate --------------------------------------------------
if run list 0 "${DOI[@]}" list --image="$IMG@$D" "${TRUST[@]}" --results-dir="$W/res-list" &&
   [ "$(grep -c '^VALID' "$LOGS/list.out")" = 10 ] && [ "$(cat "$W/res-list/records")" = 10 ] &&
   run list-json 0 "${DOI[@]}" list --image="$IMG@$D" "${TRUST[@]}" --output=json &&
   jq -e 'length == 10 and all(.[]; .valid) and ([.[].signer] | sort | unique) == ["build","validation"]' "$LOGS/list-json.out" >/dev/null; then
	pass list-verifies-every-record; else fail list-verifies-every-record; fi
cat >"$W/policy-ok" <<'EOF'
# the DevOps Insights gate
tests-passed unittest
tests-passed fvt
max-vulnerabilities critical 0
max-findings lint error 0
built-from-branch main
deployed-to prod
EOF
if run eval-ok 0 "${DOI[@]}" evaluate --image="$IMG@$D" "${TRUST[@]}" --policy="$W/policy-ok" --results-dir="$W/res-ok" &&
   [ "$(cat "$W/res-ok/passed")" = true ] && [ "$(grep -c '^PASS' "$LOGS/eval-ok.out")" = 6 ]; then
	pass evaluate-passes; else fail evaluate-passes; fi
cat >"$W/policy-strict" <<'EOF'
tests-passed unittest
max-vulnerabilities high 0
max-findings cis error 0
built-from-branch release
EOF
if run eval-no 3 "${DOI[@]}" evaluate --image="$IMG@$D" "${TRUST[@]}" --policy="$W/policy-strict" --results-dir="$W/res-no" &&
   has eval-no 'max-vulnerabilities high 0 (the latest vulnerability record has 1 at high or above (at most 0))' &&
   has eval-no "max-findings cis error 0 (the latest cis record has" &&
   has eval-no "built-from-branch release (the latest build record is from branch 'main')" &&
   ! grep -q 'tests-passed unittest (' "$LOGS/eval-no.err" && [ "$(cat "$W/res-no/passed")" = false ]; then
	pass evaluate-names-each-unmet-rule; else fail evaluate-names-each-unmet-rule; fi

# ---- negatives: evidence that never counts -----------------------------
# a forged record: the failing unittest record turned into a pass (result,
# counts), kept in the store under its own (correct) content name
neg_store() { rm -rf "$W/neg" && cp -a "$S" "$W/neg"; }
add_entry() { # store digest file: add file as a record of digest
	local h; h=$(sha256sum <"$3" | cut -c1-64)
	mkdir -p "$1/index/sha256-${2#sha256:}" && cp "$3" "$1/index/sha256-${2#sha256:}/$h"
}
NEG=("$BIN/publish-doi" --store-dir="$W/neg")
neg_store
fail_env=$(grep -l . "$S/index/sha256-${D#sha256:}"/* | while read -r f; do
	statement_of "$f" | jq -e '.predicate.result == "FAILED" and .predicate.configuration[0].annotations.testType == "unittest"' >/dev/null && echo "$f"; done)
forged=$(statement_of "$fail_env" | jq -c '.predicate.result = "PASSED" | .predicate.failedTests = [] | .predicate.configuration[0].annotations.failures = 0
	| .predicate.configuration[0].annotations.finishedOn = "2030-01-01T00:00:00Z"' | base64 -w0)
jq -c --arg p "$forged" '.payload = $p' "$fail_env" >"$W/tampered.json"
add_entry "$W/neg" "$D" "$W/tampered.json"
printf 'tests-passed unittest\n' >"$W/policy-unit"
# without the forgery the latest unittest record passes: make the failing
# one the latest by removing the passing record from this copy
pass_env=$(for f in "$W/neg/index/sha256-${D#sha256:}"/*; do
	statement_of "$f" | jq -e '.predicate.result == "PASSED" and .predicate.configuration[0].annotations.testType == "unittest"' >/dev/null 2>&1 &&
	[ "$(basename "$f")" != "$(sha256sum <"$W/tampered.json" | cut -c1-64)" ] && echo "$f"; done)
rm -f "$pass_env"
if run neg-tamper-list 0 "${NEG[@]}" list --image="$IMG@$D" "${TRUST[@]}" &&
   has neg-tamper-list 'no signature by a trusted key over the envelope' &&
   run neg-tamper-eval 3 "${NEG[@]}" evaluate --image="$IMG@$D" "${TRUST[@]}" --policy="$W/policy-unit" &&
   has neg-tamper-eval "the latest unittest record's result is FAILED"; then
	pass tampered-envelope-never-counts; else fail tampered-envelope-never-counts; fi

# signed by a key the gate does not trust
neg_store
rm -f "$W/neg/index/sha256-${D#sha256:}/"*
run rogue 0 "${NEG[@]}" publish --image="$IMG@$D" --signer=rogue "${FILE_VAULT[@]}" --kind=test --file="$W/junit-pass.xml" --filetype=unittest
if run neg-key-list 0 "${NEG[@]}" list --image="$IMG@$D" "${TRUST[@]}" && has neg-key-list '^INVALID' &&
   has neg-key-list 'no signature by a trusted key' &&
   run neg-key-eval 3 "${NEG[@]}" evaluate --image="$IMG@$D" "${TRUST[@]}" --policy="$W/policy-unit" &&
   has neg-key-eval 'no verified unittest test record' &&
   run neg-key-trusted 0 "${NEG[@]}" evaluate --image="$IMG@$D" --trusted-keys=rogue="$W/rogue.pub" --policy="$W/policy-unit"; then
	pass wrong-key-never-counts; else fail wrong-key-never-counts; fi

# a valid record of another digest, put into this digest's index
neg_store
rm -f "$W/neg/index/sha256-${D#sha256:}/"*
run other 0 "${NEG[@]}" publish --image="$IMG@$D2" --signer=build "${FILE_VAULT[@]}" --kind=test --file="$W/junit-pass.xml" --filetype=unittest
add_entry "$W/neg" "$D" "$(ls "$W/neg/index/sha256-${D2#sha256:}"/* | head -1)"
if run neg-subject-list 0 "${NEG[@]}" list --image="$IMG@$D" "${TRUST[@]}" &&
   has neg-subject-list "no subject of the statement is $D" &&
   run neg-subject-eval 3 "${NEG[@]}" evaluate --image="$IMG@$D" "${TRUST[@]}" --policy="$W/policy-unit" &&
   has neg-subject-eval 'no verified unittest test record' &&
   run neg-subject-other 0 "${NEG[@]}" evaluate --image="$IMG@$D2" "${TRUST[@]}" --policy="$W/policy-unit"; then
	pass other-digest-never-counts; else fail other-digest-never-counts; fi

# a truncated store file
neg_store
victim=$(ls "$W/neg/index/sha256-${D#sha256:}"/* | head -1)
chmod u+w "$victim"; truncate -s 100 "$victim"
if run neg-trunc 0 "${NEG[@]}" list --image="$IMG@$D" "${TRUST[@]}" &&
   has neg-trunc 'truncated or altered' && [ "$(grep -c '^VALID' "$LOGS/neg-trunc.out")" = 9 ] &&
   [ "$(grep -c '^INVALID' "$LOGS/neg-trunc.out")" = 1 ]; then
	pass truncated-store-file-never-counts; else fail truncated-store-file-never-counts; fi

# a store another user could have written is refused, as the trust state dir
neg_store
chmod 0777 "$W/neg"
if run neg-mode 1 "${NEG[@]}" publish --image="$IMG@$D" --signer=build "${FILE_VAULT[@]}" --kind=deploy --environment=prod --status=success &&
   has neg-mode 'it is writable by'; then
	pass store-ownership-rules; else fail store-ownership-rules "$(tail -2 "$LOGS/neg-mode.err")"; fi

# ---- concurrent writers: 10 at once, each record once -------------------
C=$W/conc
pids=()
for i in $(seq 1 10); do
	"$BIN/publish-doi" publish --store-dir="$C" --image="$IMG@$D" --signer=build "${FILE_VAULT[@]}" --kind=deploy \
		--environment=env$i --status=success >"$LOGS/conc$i.out" 2>"$LOGS/conc$i.err" &
	pids+=($!)
done
ok=1; for p in "${pids[@]}"; do wait "$p" || ok=0; done
run conc-list 0 "$BIN/publish-doi" list --store-dir="$C" --image="$IMG@$D" "${TRUST[@]}" --output=json
if [ $ok = 1 ] && jq -e '[.[] | select(.valid) | .detail] | sort == ([range(1;11) | "env\(.)"] | sort)' "$LOGS/conc-list.out" >/dev/null &&
   [ "$(ls -A "$C/blobs" | grep -c '\.tmp$')" = 0 ]; then
	pass ten-parallel-writers-local; else fail ten-parallel-writers-local; fi

# ---- a full disk during a write: nothing corrupt left ------------------
mkdir -p "$W/full"
if mount -t tmpfs -o size=256k,mode=0700 tmpfs "$W/full"; then
	F=("$BIN/publish-doi" --store-dir="$W/full/s")
	run full-first 0 "${F[@]}" publish --image="$IMG@$D" --signer=build "${FILE_VAULT[@]}" --kind=deploy --environment=prod --status=success
	dd if=/dev/zero of="$W/full/fill" bs=4k >/dev/null 2>&1 # until the disk is full
	# a BOM bigger than what is left
	python3 -c 'import json; print(json.dumps({"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"p%d" % i,"version":"1.0"} for i in range(3000)]}))' >"$W/bigbom.json"
	run full-write 1 "${F[@]}" publish --image="$IMG@$D" --signer=build "${FILE_VAULT[@]}" --kind=test --file="$W/bigbom.json" --filetype=bom
	full_msg=$(cat "$LOGS/full-write.err")
	run full-list 0 "${F[@]}" list --image="$IMG@$D" "${TRUST[@]}"
	rm -f "$W/full/fill"
	if grep -q 'No space left on device' <<<"$full_msg" && grep -q 'record for .* not written' <<<"$full_msg" &&
	   [ "$(grep -c '^VALID' "$LOGS/full-list.out")" = 1 ] && ! grep -q INVALID "$LOGS/full-list.out" &&
	   [ -z "$(find "$W/full/s" -name '*.tmp')" ] &&
	   run full-after 0 "${F[@]}" publish --image="$IMG@$D" --signer=build "${FILE_VAULT[@]}" --kind=test --file="$W/bigbom.json" --filetype=bom &&
	   run full-list2 0 "${F[@]}" list --image="$IMG@$D" "${TRUST[@]}" && [ "$(grep -c '^VALID' "$LOGS/full-list2.out")" = 2 ]; then
		pass full-disk-leaves-nothing-corrupt; else fail full-disk-leaves-nothing-corrupt "$full_msg"; fi
	umount "$W/full"
else
	fail full-disk-leaves-nothing-corrupt "cannot mount a tmpfs (run as root)"
fi

# ---- the registry store (TLS + basic auth) ------------------------------
if ! "$root/tests/servers/registry.sh" start "$W/reg" htpasswd >"$LOGS/registry-start" 2>&1; then
	fail registry-start "$(tail -3 "$LOGS/registry-start")"; exit 1; fi
. "$W/reg/env"
REG=(--registry-ca="$REGISTRY_CA" --registry-creds="$REGISTRY_USER:$REGISTRY_PASS")
RIMG=$REGISTRY/team/app
RD=sha256:$(hex registry-image)
ATT=sha256-${RD#sha256:}.att
if run reg-pub 0 "$BIN/publish-doi" publish --store=registry --image="$RIMG@$RD" --signer=build "${FILE_VAULT[@]}" "${REG[@]}" \
	--kind=build --builder-id=https://tekton.dev/chains/v2 --git-repository=https://git.example/app.git --git-branch=main \
	--git-commit=$COMMIT --results-dir="$W/res-reg" &&
   [ "$(cat "$W/res-reg/attestation")" = "$RIMG:$ATT" ] &&
   skopeo list-tags --cert-dir "$REGISTRY_CERT_DIR" --creds "$REGISTRY_USER:$REGISTRY_PASS" "docker://$RIMG" >"$W/tags.json" &&
   jq -e --arg t "$ATT" '.Tags | index($t)' "$W/tags.json" >/dev/null &&
   skopeo inspect --raw --cert-dir "$REGISTRY_CERT_DIR" --creds "$REGISTRY_USER:$REGISTRY_PASS" "docker://$RIMG:$ATT" >"$W/att.json" &&
   jq -e '.mediaType == "application/vnd.oci.image.manifest.v1+json" and (.layers | length == 1)
	and .layers[0].mediaType == "application/vnd.dsse.envelope.v1+json"
	and .layers[0].annotations.predicateType == "https://slsa.dev/provenance/v1"
	and .layers[0].annotations["dev.cosignproject.cosign/signature"] == ""' "$W/att.json" >/dev/null; then
	pass registry-att-seen-by-skopeo; else fail registry-att-seen-by-skopeo; fi
layer=$(jq -r '.layers[0].digest' "$W/att.json")
if curl -sf --cacert "$REGISTRY_CA" -u "$REGISTRY_USER:$REGISTRY_PASS" "https://$REGISTRY/v2/team/app/blobs/$layer" -o "$W/reg-env.json" &&
   verify_pae "$W/reg-env.json" "$W/build.pub" && statement_of "$W/reg-env.json" | jq -e "$STMT_RULES and $SLSA_RULES" >/dev/null; then
	pass registry-envelope-verifies-with-openssl; else fail registry-envelope-verifies-with-openssl; fi
# appended, never overwritten: 10 publishers at once
pids=()
for i in $(seq 1 10); do
	"$BIN/publish-doi" publish --store=registry --image="$RIMG@$RD" --signer=build "${FILE_VAULT[@]}" "${REG[@]}" --kind=deploy \
		--environment=env$i --status=success >"$LOGS/rconc$i.out" 2>"$LOGS/rconc$i.err" &
	pids+=($!)
done
ok=1; for p in "${pids[@]}"; do wait "$p" || { ok=0; tail -2 "$LOGS/rconc$i.err" >&2; }; done
skopeo inspect --raw --cert-dir "$REGISTRY_CERT_DIR" --creds "$REGISTRY_USER:$REGISTRY_PASS" "docker://$RIMG:$ATT" >"$W/att10.json"
run reg-list 0 "$BIN/publish-doi" list --store=registry --image="$RIMG@$RD" "${TRUST[@]}" "${REG[@]}" --output=json
if [ $ok = 1 ] && jq -e '(.layers | length == 11) and ([.layers[].digest] | unique | length == 11)' "$W/att10.json" >/dev/null &&
   jq -e '([.[] | select(.valid and .kind == "deploy") | .detail] | sort == ([range(1;11) | "env\(.)"] | sort))
	and ([.[] | select(.valid and .kind == "build")] | length == 1) and all(.[]; .valid)' "$LOGS/reg-list.out" >/dev/null; then
	pass ten-parallel-publishers-registry; else fail ten-parallel-publishers-registry; fi
if run reg-eval 0 "$BIN/publish-doi" evaluate --store=registry --image="$RIMG@$RD" "${TRUST[@]}" "${REG[@]}" --policy=<(printf 'built-from-branch main\ndeployed-to env7\n'); then
	pass evaluate-from-registry; else fail evaluate-from-registry; fi
# wrong credentials: exit 4
if run reg-auth 4 "$BIN/publish-doi" list --store=registry --image="$RIMG@$RD" "${TRUST[@]}" --registry-ca="$REGISTRY_CA" --registry-creds="$REGISTRY_USER:wrong"; then
	pass registry-auth-refused; else fail registry-auth-refused; fi
# registry down: exit 5, the local store still written with --store=both
"$root/tests/servers/registry.sh" stop "$W/reg" >/dev/null 2>&1
if run reg-down 5 "$BIN/publish-doi" publish --store=both --store-dir="$W/down" --retries=1 --image="$RIMG@$RD" --signer=build "${FILE_VAULT[@]}" \
	"${REG[@]}" --kind=deploy --environment=prod --status=success &&
   has reg-down 'the local store .* has the record' &&
   run down-list 0 "$BIN/publish-doi" list --store-dir="$W/down" --image="$RIMG@$RD" "${TRUST[@]}" && [ "$(grep -c '^VALID' "$LOGS/down-list.out")" = 1 ]; then
	pass registry-down-exit-5-local-written; else fail registry-down-exit-5-local-written; fi

# no secret in any output
if grep -rq -e "$PASSPHRASE" -e "$PIN" -e "$REGISTRY_PASS" "$LOGS"; then fail secrets-redacted; else pass secrets-redacted; fi

[ "$failures" = 0 ]
