#!/usr/bin/env bash
# Signing end to end against real servers: signer-key (file vault and a
# SoftHSM2 token), dct-init and build-sign against notary-server +
# notary-signer (tests/servers/notary.sh), cosign signatures in
# docker-registry (tests/servers/registry.sh), verify-signatures, and the
# real notary and docker CLIs (and the cosign oracle, when built) as judges.
# Prints PASS:/FAIL: per test; exits non-zero if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=signing tools="notary notary-server softhsm2-util docker-registry pkcs11-tool" keep=SIGNING_KEEP
. "$here/lib/prelude.sh"
. "$root/tests/servers/notary.sh"
at_exit+=('[ -n "${FORGE_PID:-}" ] && kill "$FORGE_PID" 2>/dev/null' notary_stop
	'"$root/tests/servers/registry.sh" stop "$W/reg" >/dev/null 2>&1')

# secrets the tests try to leak
PASSPHRASE="vault-$(openssl rand -hex 8)"
PIN="pin-$(openssl rand -hex 4)"
IMPORT_PASS="imp-$(openssl rand -hex 6)"
n=0

FILE_VAULT=(--keystore-dir="$W/ks" --passphrase="$PASSPHRASE")
export SOFTHSM2_CONF=$W/softhsm2.conf
mkdir -p "$W/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label pipeline --pin "$PIN" --so-pin "so-$PIN" >/dev/null
printf '%s\n' "$PIN" >"$W/pin" && chmod 600 "$W/pin"
P11_VAULT=(--vault=pkcs11 --pkcs11-token=pipeline --pin-file="$W/pin")

# ---- signer-key: file vault --------------------------------------------
if run create-build 0 "$BIN/signer-key" --action=create --name=build "${FILE_VAULT[@]}" --results-dir="$W/r1" &&
   grep -q 'ENCRYPTED PRIVATE KEY-----' "$W/ks/build.key" && [ "$(stat -c %a "$W/ks/build.key")" = 600 ] &&
   grep -q 'BEGIN PUBLIC KEY' "$W/r1/public-key" && [ "$(wc -c <"$W/r1/key-id")" = 64 ]; then
	pass file-vault-create; else fail file-vault-create; fi
if run create-dup 2 "$BIN/signer-key" --action=create --name=build "${FILE_VAULT[@]}" && has create-dup "already exists"; then
	pass file-vault-refuses-duplicate; else fail file-vault-refuses-duplicate; fi
printf '%s\n' "$PASSPHRASE" >"$W/passfile"
if run rotate-wrong 4 "$BIN/signer-key" --action=rotate --name=build --keystore-dir="$W/ks" --passphrase="not-the-$PASSPHRASE" &&
   has rotate-wrong "wrong passphrase"; then pass file-vault-wrong-passphrase-exit-4; else fail file-vault-wrong-passphrase-exit-4; fi
old_id=$(cat "$W/r1/key-id")
if run rotate 0 "$BIN/signer-key" --action=rotate --name=build --keystore-dir="$W/ks" --passphrase-file="$W/passfile" --results-dir="$W/r2" &&
   [ "$(cat "$W/r2/key-id")" != "$old_id" ] && has rotate "$old_id"; then pass file-vault-rotate; else fail file-vault-rotate; fi
run create-tmp 0 "$BIN/signer-key" --action=create --name=scratch "${FILE_VAULT[@]}"
if run list 0 "$BIN/signer-key" --action=list --keystore-dir="$W/ks" && grep -q '^build	' "$LOGS/list.out" &&
   grep -q '^scratch	' "$LOGS/list.out" && run delete 0 "$BIN/signer-key" --action=delete --name=scratch "${FILE_VAULT[@]}" &&
   [ ! -e "$W/ks/scratch.key" ] && run delete-again 2 "$BIN/signer-key" --action=delete --name=scratch "${FILE_VAULT[@]}" &&
   has delete-again "no signer key 'scratch'"; then
	pass file-vault-list-delete; else fail file-vault-list-delete; fi
# a key made by the notary CLI (encrypted, with its role header)
(cd "$W" && NOTARY_DELEGATION_PASSPHRASE=$IMPORT_PASS notary -d "$W/nkeys" key generate ecdsa --role targets/validation -o nv >/dev/null 2>&1)
if run import 0 "$BIN/signer-key" --action=import --name=validation --import-file="$W/nv-key.pem" \
	--import-passphrase="$IMPORT_PASS" "${FILE_VAULT[@]}" &&
   [ "$(grep -v '^role:' "$W/nv.pem" | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum)" = \
     "$(openssl pkey -pubin -in "$W/ks/validation.pub" -outform DER | sha256sum)" ]; then
	pass import-notary-key; else fail import-notary-key; fi
# a key made by `docker trust key generate`: same key ID as docker's file name
if command -v docker >/dev/null &&
   DOCKER_CONFIG=$W/dkcfg DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=$IMPORT_PASS timeout 60 docker trust key generate alice --dir "$W" </dev/null >"$LOGS/dkgen" 2>&1; then
	dkey=$(ls "$W"/dkcfg/trust/private/*.key | head -1)
	if run import-docker 0 "$BIN/signer-key" --action=import --name=alice --import-file="$dkey" \
		--import-passphrase="$IMPORT_PASS" "${FILE_VAULT[@]}" --results-dir="$W/r6" &&
	   [ "$(cat "$W/r6/key-id")" = "$(basename "$dkey" .key)" ]; then
		pass import-docker-trust-key; else fail import-docker-trust-key; fi
else
	fail import-docker-trust-key "docker trust key generate failed: $(tail -1 "$LOGS/dkgen" 2>/dev/null)"
fi
# a file vault keeps every key under one passphrase: no key is added
# under another (later runs needing both would fail), and only who holds
# it deletes a key
if run create-other-pass 4 "$BIN/signer-key" --action=create --name=intruder --keystore-dir="$W/ks" \
	--passphrase="other-$PASSPHRASE" && has create-other-pass "does not open the keys in $W/ks" &&
   has create-other-pass "wrong passphrase" && [ ! -e "$W/ks/intruder.key" ] &&
   run import-other-pass 4 "$BIN/signer-key" --action=import --name=intruder --import-file="$W/nv-key.pem" \
	--import-passphrase="$IMPORT_PASS" --keystore-dir="$W/ks" --passphrase="other-$PASSPHRASE" &&
   has import-other-pass "a file vault keeps every key under one passphrase" && [ ! -e "$W/ks/intruder.key" ]; then
	pass file-vault-refuses-key-under-another-passphrase; else fail file-vault-refuses-key-under-another-passphrase; fi
run create-tmp2 0 "$BIN/signer-key" --action=create --name=scratch2 "${FILE_VAULT[@]}"
if run delete-no-pass 4 "$BIN/signer-key" --action=delete --name=scratch2 --keystore-dir="$W/ks" &&
   has delete-no-pass "give passphrase or passphrase-file" && [ -e "$W/ks/scratch2.key" ] &&
   run delete-wrong-pass 4 "$BIN/signer-key" --action=delete --name=scratch2 --keystore-dir="$W/ks" \
	--passphrase="not-the-$PASSPHRASE" && has delete-wrong-pass "wrong passphrase" && [ -e "$W/ks/scratch2.key" ] &&
   run delete-with-pass 0 "$BIN/signer-key" --action=delete --name=scratch2 "${FILE_VAULT[@]}" && [ ! -e "$W/ks/scratch2.key" ]; then
	pass file-vault-delete-needs-passphrase; else fail file-vault-delete-needs-passphrase; fi
if run import-wrong 4 "$BIN/signer-key" --action=import --name=other --import-file="$W/nv-key.pem" \
	--import-passphrase="wrong-$IMPORT_PASS" "${FILE_VAULT[@]}" && has import-wrong "cannot decrypt the private key: wrong passphrase" &&
   [ ! -e "$W/ks/other.key" ]; then pass import-wrong-passphrase-exit-4; else fail import-wrong-passphrase-exit-4; fi

# ---- signer-key: PKCS#11 token -----------------------------------------
if run p11-create 0 "$BIN/signer-key" --action=create --name=qa "${P11_VAULT[@]}" --public-key-file="$W/qa.pub" &&
   run p11-list 0 "$BIN/signer-key" --action=list "${P11_VAULT[@]}" && grep -q '^qa	' "$LOGS/p11-list.out" &&
   openssl pkey -pubin -in "$W/qa.pub" -noout 2>/dev/null; then pass pkcs11-create-list; else fail pkcs11-create-list; fi
pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label pipeline --login --pin "$PIN" -O >"$LOGS/p11-objects" 2>&1
if grep -A8 'Private Key Object' "$LOGS/p11-objects" | grep -q 'never extractable' &&
   grep -A8 'Private Key Object' "$LOGS/p11-objects" | grep -q 'sensitive'; then
	pass pkcs11-key-non-extractable; else fail pkcs11-key-non-extractable; fi
if run p11-wrong-pin 4 "$BIN/signer-key" --action=list --vault=pkcs11 --pkcs11-token=pipeline --pin="wrong-$PIN" &&
   has p11-wrong-pin "wrong PIN"; then pass pkcs11-wrong-pin-exit-4; else fail pkcs11-wrong-pin-exit-4; fi
if run p11-delete-no-pin 4 "$BIN/signer-key" --action=delete --name=qa --vault=pkcs11 --pkcs11-token=pipeline &&
   has p11-delete-no-pin "no PKCS#11 PIN given" &&
   run p11-delete-wrong-pin 4 "$BIN/signer-key" --action=delete --name=qa --vault=pkcs11 --pkcs11-token=pipeline --pin="wrong-$PIN" &&
   has p11-delete-wrong-pin "wrong PIN" &&
   run p11-list-kept 0 "$BIN/signer-key" --action=list "${P11_VAULT[@]}" && grep -q '^qa	' "$LOGS/p11-list-kept.out"; then
	pass pkcs11-delete-needs-pin; else fail pkcs11-delete-needs-pin; fi
qa_old=$(openssl pkey -pubin -in "$W/qa.pub" -outform DER | sha256sum)
if run p11-rotate 0 "$BIN/signer-key" --action=rotate --name=qa "${P11_VAULT[@]}" --public-key-file="$W/qa.pub" &&
   [ "$(openssl pkey -pubin -in "$W/qa.pub" -outform DER | sha256sum)" != "$qa_old" ] &&
   run p11-delete 0 "$BIN/signer-key" --action=delete --name=qa "${P11_VAULT[@]}" &&
   run p11-list2 0 "$BIN/signer-key" --action=list "${P11_VAULT[@]}" && ! grep -q '^qa' "$LOGS/p11-list2.out"; then
	pass pkcs11-rotate-delete; else fail pkcs11-rotate-delete; fi
# the static binary loads the module with glibc's static dlopen
STATIC=${PIPELINE_STATIC_BIN:-$root/bin}
if [ -x "$STATIC/signer-key" ] && file "$STATIC/signer-key" | grep -q 'statically linked' &&
   run p11-static 0 "$STATIC/signer-key" --action=create --name=static-probe "${P11_VAULT[@]}" &&
   run p11-static-del 0 "$STATIC/signer-key" --action=delete --name=static-probe "${P11_VAULT[@]}"; then
	pass pkcs11-from-static-binary; else fail pkcs11-from-static-binary "needs bin/signer-key (make)"; fi
# the release signer lives in the token
run p11-release 0 "$BIN/signer-key" --action=create --name=release "${P11_VAULT[@]}" --public-key-file="$W/release.pub"

# ---- servers -----------------------------------------------------------
if ! notary_start "$W/notary"; then fail notary-server-start; exit 1; fi
if ! "$root/tests/servers/registry.sh" start "$W/reg" none >"$LOGS/registry-start" 2>&1; then fail registry-start; exit 1; fi
. "$W/reg/env"
NOTARY=(--notary-server="$NOTARY_URL" --notary-ca="$NOTARY_CA")
REG=(--registry-ca="$REGISTRY_CA")
N() { NOTARY_ROOT_PASSPHRASE=r00tpass NOTARY_TARGETS_PASSPHRASE=targpass NOTARY_SNAPSHOT_PASSPHRASE=snappass \
	NOTARY_DELEGATION_PASSPHRASE=delegpass notary -s "$NOTARY_URL" -d "$W/ntrust" --tlscacert "$NOTARY_CA" "$@"; }

. "$here/lib/push_image.sh"
IMG=$REGISTRY/app
D1=$(push_image app v1 one)
D2=$(push_image app v2 two)
D3=$(push_image app v3 three)

# ---- dct-init ----------------------------------------------------------
if run dct-init 0 "$BIN/dct-init" --image="$IMG" "${NOTARY[@]}" "${FILE_VAULT[@]}" --signers=build \
	--signers=validation --signers=release="$W/release.pub" --results-dir="$W/r3" &&
   N delegation list "$IMG" >"$LOGS/deleg.out" 2>&1 && grep -q 'targets/build' "$LOGS/deleg.out" &&
   grep -q 'targets/validation' "$LOGS/deleg.out" && grep -q 'targets/releases' "$LOGS/deleg.out" &&
   grep -q 'targets/release ' "$LOGS/deleg.out" && [ "$(wc -c <"$W/r3/root-key-id")" = 64 ]; then
	pass dct-init-notary-cli-sees-delegations; else fail dct-init-notary-cli-sees-delegations; fi
if run dct-init-again 0 "$BIN/dct-init" --image="$IMG" "${NOTARY[@]}" "${FILE_VAULT[@]}" --signers=build; then
	pass dct-init-idempotent-same-root; else fail dct-init-idempotent-same-root; fi

if run dct-init-other-pass 4 "$BIN/dct-init" --image="$REGISTRY/other-pass" "${NOTARY[@]}" --keystore-dir="$W/ks" \
	--passphrase="other-$PASSPHRASE" --root-key=root2 --targets-key=targets2 --signers=build &&
   has dct-init-other-pass "does not open the keys in $W/ks" && [ ! -e "$W/ks/root2.key" ] &&
   ! N list "$REGISTRY/other-pass" >"$LOGS/other-pass-list" 2>&1; then
	pass dct-init-refuses-key-under-another-passphrase; else fail dct-init-refuses-key-under-another-passphrase; fi

# ---- build-sign (both formats), two signers, two vaults ------------------
if run sign-build 0 "$BIN/build-sign" --image="$IMG:v1@$D1" --signer=build "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}" --results-dir="$W/r4" &&
   [ "$(cat "$W/r4/signed-roles")" = "targets/build,targets/releases" ] && [ "$(cat "$W/r4/IMAGE_DIGEST")" = "$D1" ] &&
   [ "$(cat "$W/r4/IMAGE_URL")" = "$IMG:v1" ] && [ "$(cat "$W/r4/image-ref")" = "$IMG@$D1" ] &&
   [ "$(cat "$W/r4/published-formats")" = "dct,cosign" ]; then
	pass build-sign-both-formats; else fail build-sign-both-formats; fi
sigm() { curl -sf --cacert "$REGISTRY_CA" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"https://$REGISTRY/v2/app/manifests/sha256-${1#sha256:}.sig"; }
role_version() { curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$IMG/_trust/tuf/$1.json" | jq .signed.version; }
# a wrong passphrase is found while the trust data is fetched: exit 4
# naming it, nothing published in either format
before_sig=$(sigm "$D1" | sha256sum) before_ver=$(role_version targets/build)
if run sign-wrong-pass 4 "$BIN/build-sign" --image="$IMG:v1@$D1" --signer=build --keystore-dir="$W/ks" \
	--passphrase="not-the-$PASSPHRASE" "${NOTARY[@]}" "${REG[@]}" && has sign-wrong-pass "wrong passphrase" &&
   [ "$(sigm "$D1" | sha256sum)" = "$before_sig" ] && [ "$(role_version targets/build)" = "$before_ver" ]; then
	pass build-sign-wrong-passphrase-exit-4-nothing-written; else fail build-sign-wrong-passphrase-exit-4-nothing-written; fi
# a re-run signs DCT again (new version) but finds its cosign signature
# already there (cosign's duplicate detection): the .sig manifest is left
# as it is, one signature per key
if run resign 0 "$BIN/build-sign" --image="$IMG:v1@$D1" --signer=build "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}" \
	--results-dir="$W/r4b" &&
   [ "$(sigm "$D1" | sha256sum)" = "$before_sig" ] && [ "$(role_version targets/build)" = $((before_ver + 1)) ] &&
   [ "$(cat "$W/r4b/signature-ref")" = "$(cat "$W/r4/signature-ref")" ] &&
   [ "$(sigm "$D1" | jq '.layers | length')" = 1 ]; then
	pass build-sign-rerun-keeps-one-cosign-signature; else fail build-sign-rerun-keeps-one-cosign-signature; fi
# with a trust state dir (shared with verify-signatures) a signer fetches
# only what changed: its own published roles are cached, and a role
# another signer changed meanwhile is fetched again; a digest the trust
# data already names needs no registry read for its length
if run st-sign1 0 "$BIN/build-sign" --image="$IMG:v1@$D1" --signer=build "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}" \
	--format=dct --trust-state-dir="$W/sst" &&
   run st-sign2 0 "$BIN/build-sign" --image="$IMG:v1@$D1" --signer=build "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}" \
	--format=dct --trust-state-dir="$W/sst" --log-level=debug &&
   ! grep -q 'GET .*targets/build.json' "$LOGS/st-sign2.err" && grep -q 'GET .*timestamp.json' "$LOGS/st-sign2.err" &&
   ! grep -q "GET /v2/app/manifests/$D1" "$LOGS/st-sign2.err" &&
   [ "$(curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$IMG/_trust/tuf/targets/build.json" | jq .signed.targets.v1.length)" = \
     "$(curl -sf --cacert "$REGISTRY_CA" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "https://$REGISTRY/v2/app/manifests/$D1" | wc -c)" ] &&
   run st-other 0 "$BIN/build-sign" --image="$IMG:v1@$D1" --tag=st-other --signer=build "${FILE_VAULT[@]}" \
	"${NOTARY[@]}" "${REG[@]}" --format=dct &&
   run st-sign3 0 "$BIN/build-sign" --image="$IMG:v1@$D1" --signer=build "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}" \
	--format=dct --trust-state-dir="$W/sst" --log-level=debug &&
   grep -q 'GET .*targets/build.json' "$LOGS/st-sign3.err" &&
   N list "$IMG" -r targets/build >"$LOGS/st-list" 2>&1 && grep -q "^v1 .*${D1#sha256:}" "$LOGS/st-list" &&
   grep -q "^st-other .*${D1#sha256:}" "$LOGS/st-list" &&
   run st-verify 0 "$BIN/verify-signatures" --image="$IMG@$D1" --signers=build="$W/ks/build.pub" "${NOTARY[@]}" \
	--trust-state-dir="$W/sst"; then
	pass build-sign-trust-state-dir-cache; else fail build-sign-trust-state-dir-cache; fi
# the state dir also keeps TLS sessions (0600 files in a 0700 dir): the
# next run to the same server resumes, so the server sends no certificate
if run tls-verify 0 "$BIN/verify-signatures" --image="$IMG@$D1" --signers=build="$W/ks/build.pub" "${NOTARY[@]}" \
	--trust-state-dir="$W/sst" --log-level=debug &&
   grep -qF "TLS: resumed the session saved for ${NOTARY_URL#https://}|" "$LOGS/tls-verify.err" &&
   [ "$(grep -c 'GET .*/timestamp.json -> 200' "$LOGS/tls-verify.err")" = 1 ] &&
   ! grep -q 'TLS handshake, Certificate (11)' "$LOGS/tls-verify.err" &&
   [ "$(stat -c %a "$W/sst/tls-sessions")" = 700 ] && [ -n "$(ls "$W/sst/tls-sessions")" ] &&
   [ -z "$(find "$W/sst/tls-sessions" -type f ! -perm 600)" ] &&
   run tls-cold 0 "$BIN/verify-signatures" --image="$IMG@$D1" --signers=build="$W/ks/build.pub" "${NOTARY[@]}" \
	--log-level=debug &&
   ! grep -q 'TLS: resumed' "$LOGS/tls-cold.err" && grep -q 'TLS handshake, Certificate (11)' "$LOGS/tls-cold.err"; then
	pass trust-state-dir-resumes-tls; else fail trust-state-dir-resumes-tls; fi
# what a TLS session dir holds is used only if nobody else could have
# put it there (common/statedir): a session file someone else planted
# would let whoever knows its secret stand in for the server without a
# certificate. A shared (world-writable) session dir, or a session file
# owned by another uid, is ignored with a warning: a full handshake
tls_planted() { # name: the state dir copy $W/$1 was prepared; no resumption, a warning
	run "$1" 0 "$BIN/verify-signatures" --image="$IMG@$D1" --signers=build="$W/ks/build.pub" "${NOTARY[@]}" \
		--trust-state-dir="$W/$1" --log-level=debug &&
	! grep -q 'TLS: resumed' "$LOGS/$1.err" && grep -q 'TLS handshake, Certificate (11)' "$LOGS/$1.err" &&
	grep -q "$2" "$LOGS/$1.err"
}
cp -a "$W/sst" "$W/tls-ww" && chmod 0777 "$W/tls-ww/tls-sessions"
cp -a "$W/sst" "$W/tls-foreign" && chown 65534 "$W"/tls-foreign/tls-sessions/*.tls
if tls_planted tls-ww "TLS session dir $W/tls-ww/tls-sessions is ignored: it is writable by others (mode 0777)" &&
   tls_planted tls-foreign "is ignored: it is owned by uid 65534, not by this process's uid 0"; then
	pass planted-tls-session-ignored; else fail planted-tls-session-ignored; fi
# the state dir remembers nothing about verdicts: a line claiming that a
# digest verified (as the verdict recall once kept them, in the old and
# the new file naming) passes nothing; the unsigned digest is refused
cp -a "$W/sst" "$W/planted"
ts_sum=$(curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$IMG/_trust/tuf/timestamp.json" | sha256sum | cut -c1-64)
root_sum=$(curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$IMG/_trust/tuf/root.json" | sha256sum | cut -c1-64)
verdict=$(jq -cn --arg k "verdict $ts_sum $root_sum $D3 build any" '{($k): {reason: "signed as tag '"'"'planted'"'"'", expires: 4102444800}}')
old_name=$(printf %s "$IMG" | tr '/:' '__')
printf %s "$verdict" >"$W/planted/$old_name.verified.json"
printf %s "$verdict" >"$W/planted/$(basename "$(ls "$W"/planted/*_versions.json)" _versions.json)_verified.json"
chmod 600 "$W"/planted/*verified.json
if run planted-verdict 3 "$BIN/verify-signatures" --image="$IMG@$D3" --signers=build "${NOTARY[@]}" --trust-state-dir="$W/planted" &&
   has planted-verdict "FAIL build dct: targets/build does not sign $D3"; then
	pass planted-verdict-passes-nothing; else fail planted-verdict-passes-nothing; fi
mkdir -p "$W/old/targets"
for r in root timestamp snapshot targets targets/build; do
	curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$IMG/_trust/tuf/$r.json" -o "$W/old/$r.json"
done
if run sign-release 0 "$BIN/build-sign" --image="$IMG:v1@$D1" --signer=release "${P11_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}"; then
	pass build-sign-pkcs11-signer; else fail build-sign-pkcs11-signer; fi
if N list "$IMG" >"$LOGS/nlist.out" 2>&1 && grep -q "^v1 .*${D1#sha256:}" "$LOGS/nlist.out" &&
   N list "$IMG" -r targets/release >"$LOGS/nlist2.out" 2>&1 && grep -q "${D1#sha256:}" "$LOGS/nlist2.out"; then
	pass notary-cli-lists-our-targets; else fail notary-cli-lists-our-targets "$(head -3 "$LOGS/nlist.out")"; fi
export DOCKER_CONFIG=$W/docker DOCKER_CONTENT_TRUST_SERVER=$NOTARY_URL
mkdir -p "$DOCKER_CONFIG/tls/${NOTARY_URL#https://}" && cp "$NOTARY_CA" "$DOCKER_CONFIG/tls/${NOTARY_URL#https://}/ca.crt"
if command -v docker >/dev/null && timeout 60 docker trust inspect "$IMG" >"$LOGS/dti.json" 2>"$LOGS/dti.err" &&
   python3 - "$LOGS/dti.json" "${D1#sha256:}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))[0]
tags = {t["SignedTag"]: t for t in d["SignedTags"]}
assert tags["v1"]["Digest"] == sys.argv[2], tags
assert set(tags["v1"]["Signers"]) >= {"build", "release"}, tags["v1"]["Signers"]
assert {s["Name"] for s in d["Signers"]} >= {"build", "validation", "release"}
PY
then pass docker-trust-inspect-shows-signers; else fail docker-trust-inspect-shows-signers "$(tail -2 "$LOGS/dti.err")"; fi

V=("$BIN/verify-signatures" "${NOTARY[@]}" "${REG[@]}")
if run verify-missing 3 "${V[@]}" --image="$IMG@$D1" --signers=build --signers=validation &&
   grep -q '^PASS build dct' "$LOGS/verify-missing.out" && grep -q '^FAIL validation dct: targets/validation has signed nothing' "$LOGS/verify-missing.out"; then
	pass one-of-two-signers-missing-exit-3; else fail one-of-two-signers-missing-exit-3 "$(cat "$LOGS/verify-missing.out" | tr "\n" " ")"; fi
run sign-validation 0 "$BIN/build-sign" --image="$IMG:v1@$D1" --signer=validation "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}"
if run verify-two 0 "${V[@]}" --image="$IMG@$D1" --format=both --signers=build="$W/ks/build.pub" \
	--signers=validation="$W/ks/validation.pub" --results-dir="$W/r5" && [ "$(cat "$W/r5/verified")" = true ] &&
   [ "$(grep -c '^PASS' "$LOGS/verify-two.out")" = 4 ]; then
	pass verify-two-signers-both-formats; else fail verify-two-signers-both-formats; fi
if run verify-pinned 0 "${V[@]}" --image="$IMG@$D1" --signers=build --signers=validation --root-key-ids="$(cat "$W/r3/root-key-id")" &&
   run verify-pin-wrong 3 "${V[@]}" --image="$IMG@$D1" --signers=build --root-key-ids="$(cat "$W/r3/key-id" 2>/dev/null || echo 0000)" &&
   has verify-pin-wrong "not signed by a pinned root key"; then pass root-key-pinning; else fail root-key-pinning; fi
if run verify-other-digest 3 "${V[@]}" --image="$IMG@$D2" --format=both --signers=build="$W/ks/build.pub" --signers=validation="$W/ks/validation.pub" &&
   has verify-other-digest "targets/build does not sign $D2" && has verify-other-digest "no cosign signatures for $D2"; then
	pass signature-on-another-digest-exit-3; else fail signature-on-another-digest-exit-3; fi
if run verify-wrong-key 3 "${V[@]}" --image="$IMG@$D1" --format=both --signers=build="$W/release.pub" &&
   has verify-wrong-key "wrong key"; then pass wrong-key-exit-3; else fail wrong-key-exit-3; fi
if run verify-not-delegated 3 "${V[@]}" --image="$IMG@$D1" --signers=build --signers=ops && has verify-not-delegated "targets/ops is not delegated"; then
	pass undelegated-signer-exit-3; else fail undelegated-signer-exit-3; fi
# a real .sig manifest copied byte for byte (skopeo) under another digest's
# tag, and into another repository holding the same image: each verifies
# as a signature, but of another digest or identity
printf '{"default":[{"type":"insecureAcceptAnything"}]}' >"$W/accept-all.json"
sigcopy() { # from-repo:tag to-repo:tag
	skopeo --policy "$W/accept-all.json" copy -q --preserve-digests --src-cert-dir "$REGISTRY_CERT_DIR" \
		--dest-cert-dir "$REGISTRY_CERT_DIR" "docker://$REGISTRY/$1" "docker://$REGISTRY/$2"
}
DC=$(push_image app sig-copied sig-copied) # its own digest: no other test signs it
[ "$(push_image other v1 one)" = "$D1" ] || fail other-repository-same-digest
VAL=(--format=cosign --signers=validation="$W/ks/validation.pub")
openssl ecparam -genkey -name prime256v1 2>/dev/null | openssl pkey -pubout -out "$W/stranger.pub" # signed nothing
if run cosign-wrong-key 3 "${V[@]}" --image="$IMG@$D1" --format=cosign --signers=build="$W/stranger.pub" &&
   has cosign-wrong-key "no cosign signature by this key on $D1 (wrong key or forged signature)"; then
	pass cosign-wrong-key-exit-3; else fail cosign-wrong-key-exit-3; fi
if sigcopy "app:sha256-${D1#sha256:}.sig" "app:sha256-${DC#sha256:}.sig" >"$LOGS/sigcopy" 2>&1 &&
   [ "$(sigm "$DC" | sha256sum)" = "$(sigm "$D1" | sha256sum)" ] &&
   run cosign-copied-digest 3 "${V[@]}" --image="$IMG@$DC" "${VAL[@]}" &&
   has cosign-copied-digest "signature is for digest $D1, not $DC"; then
	pass cosign-sig-copied-to-another-digest-exit-3; else fail cosign-sig-copied-to-another-digest-exit-3 "$(tail -1 "$LOGS/sigcopy")"; fi
# every layer of that copy is a valid signature, but for D1: the verdict
# names that for each signer whatever its layer's place (build's comes
# before validation's), and "wrong key" only for a key that made none
if [ "$(sigm "$DC" | jq '.layers | length')" -ge 2 ] &&
   run copied-sig 3 "${V[@]}" --image="$IMG@$DC" --format=cosign --signers=build="$W/ks/build.pub" \
	--signers=validation="$W/ks/validation.pub" &&
   grep -q "^FAIL build cosign: cosign signature on $DC: signature is for digest $D1, not $DC" "$LOGS/copied-sig.out" &&
   grep -q "^FAIL validation cosign: cosign signature on $DC: signature is for digest $D1, not $DC" "$LOGS/copied-sig.out" &&
   run copied-sig-other-key 3 "${V[@]}" --image="$IMG@$DC" --format=cosign --signers=build="$W/stranger.pub" &&
   has copied-sig-other-key "no cosign signature by this key on $DC (wrong key"; then
	pass cosign-verdict-names-most-specific-reason; else fail cosign-verdict-names-most-specific-reason; fi
if sigcopy "app:sha256-${D1#sha256:}.sig" "other:sha256-${D1#sha256:}.sig" >"$LOGS/sigcopy2" 2>&1 &&
   run cosign-copied-repo 3 "${V[@]}" --image="$REGISTRY/other@$D1" "${VAL[@]}" &&
   has cosign-copied-repo "signature names identity $IMG, not $REGISTRY/other"; then
	pass cosign-sig-copied-to-another-repository-exit-3; else fail cosign-sig-copied-to-another-repository-exit-3 "$(tail -1 "$LOGS/sigcopy2")"; fi

# ---- stress: many runs of the static binary, each vault and format --------
# (bin/build-sign with a PKCS#11 vault once aborted with "double free or
# corruption" in 1-2 of 30 runs: the module's libc and ours shared
# thread-local slots.) Every run signs a new digest; every third starts
# with an empty trust state dir (new TLS sessions saved), the others
# resume. Any crash, sanitizer report or non-zero exit fails the test.
STRESS_BIN=${SIGNING_STRESS_BIN:-$STATIC}
STRESS_RUNS=${SIGNING_STRESS_RUNS:-30}
stress_fail=""
stress_runs=0
# the images, pushed by one process (keep-alive): "tag digest" lines
python3 - "$REGISTRY" "$REGISTRY_CA" "$STRESS_RUNS" >"$W/stress-images" <<'PY2'
import hashlib, http.client, json, ssl, sys
reg, ca, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = reg.rsplit(":", 1)
c = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=ca))
def req(method, path, body=b"", ctype="application/octet-stream"):
    c.request(method, path, body, {"Content-Type": ctype})
    r = c.getresponse(); r.read()
    assert r.status < 300, (method, path, r.status)
    return r
for vault in ("file", "pkcs11"):
    for fmt in ("dct", "cosign", "both"):
        for i in range(1, runs + 1):
            tag = f"s-{vault}-{fmt}-{i}"
            cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                              "config": {"Labels": {"t": tag}}}).encode()
            cd = "sha256:" + hashlib.sha256(cfg).hexdigest()
            loc = req("POST", "/v2/app/blobs/uploads/").getheader("Location")
            loc = loc.split(reg, 1)[-1] if loc.startswith("http") else loc
            req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + cd, cfg)
            m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(cfg), "digest": cd},
                            "layers": []}).encode()
            req("PUT", f"/v2/app/manifests/{tag}", m, "application/vnd.oci.image.manifest.v1+json")
            print(tag, "sha256:" + hashlib.sha256(m).hexdigest())
PY2
for vault in file pkcs11; do
	if [ $vault = file ]; then sv=("${FILE_VAULT[@]}") signer=build; else sv=("${P11_VAULT[@]}") signer=release; fi
	for fmt in dct cosign both; do
		for i in $(seq 1 "$STRESS_RUNS"); do
			[ $((i % 3)) = 1 ] && rm -rf "$W/stress-state"
			d=$(sed -n "s/^s-$vault-$fmt-$i //p" "$W/stress-images")
			"$STRESS_BIN/build-sign" --image="$IMG:s-$vault-$fmt-$i@$d" --signer=$signer --format=$fmt "${sv[@]}" \
				"${NOTARY[@]}" "${REG[@]}" --trust-state-dir="$W/stress-state" >"$LOGS/stress.out" 2>"$LOGS/stress.err"
			rc=$?
			stress_runs=$((stress_runs + 1))
			if [ $rc != 0 ] || grep -qiE 'corruption|Sanitizer|runtime error|Aborted|free\(\)' "$LOGS/stress.err"; then
				stress_fail="$stress_fail $vault/$fmt/$i:exit-$rc:$(tail -1 "$LOGS/stress.err" | cut -c1-120)"
				cp "$LOGS/stress.err" "$LOGS/stress-$vault-$fmt-$i.err"
			fi
		done
	done
done
if [ -z "$stress_fail" ] && [ $stress_runs = $((6 * STRESS_RUNS)) ] && [ "$STRESS_RUNS" -gt 0 ]; then
	pass "build-sign-stress-$stress_runs-runs-file-pkcs11-dct-cosign-both"
else
	fail stress "$stress_runs runs:$stress_fail"
fi

# ---- rotate and remove a signer ------------------------------------------
cp "$W/ks/validation.pub" "$W/validation-old.pub"
if run rot-key 0 "$BIN/signer-key" --action=rotate --name=validation "${FILE_VAULT[@]}" &&
   run rot-deleg 0 "$BIN/dct-init" --action=rotate-signer --signer=validation --image="$IMG" "${NOTARY[@]}" "${FILE_VAULT[@]}" &&
   run rot-old-sig 3 "${V[@]}" --image="$IMG@$D1" --signers=validation="$W/ks/validation.pub" && has rot-old-sig "FAIL validation dct: targets/validation: 0 of 1 required signatures are valid" &&
   run rot-old-key 3 "${V[@]}" --image="$IMG@$D1" --signers=validation="$W/validation-old.pub" && has rot-old-key "wrong key" &&
   run rot-resign 0 "$BIN/build-sign" --image="$IMG:v1@$D1" --signer=validation "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}" &&
   run rot-verify 0 "${V[@]}" --image="$IMG@$D1" --format=both --signers=build="$W/ks/build.pub" --signers=validation="$W/ks/validation.pub"; then
	pass rotate-signer-old-key-refused-new-key-signs; else fail rotate-signer-old-key-refused-new-key-signs; fi
if run rm-deleg 0 "$BIN/dct-init" --action=remove-signer --signer=release --image="$IMG" "${NOTARY[@]}" "${FILE_VAULT[@]}" &&
   run rm-verify 3 "${V[@]}" --image="$IMG@$D1" --signers=release && has rm-verify "targets/release is not delegated" &&
   N delegation list "$IMG" >"$LOGS/deleg2.out" 2>&1 && ! grep -q 'targets/release ' "$LOGS/deleg2.out" &&
   run rm-readd 0 "$BIN/dct-init" --action=add-signer --signer=release --signer-public-key="$W/release.pub" --image="$IMG" "${NOTARY[@]}" "${FILE_VAULT[@]}"; then
	pass remove-signer-then-add-back; else fail remove-signer-then-add-back; fi

# ---- offline trust data: tampering and rollback --------------------------
mkdir -p "$W/new/targets"
for r in root timestamp snapshot targets targets/build targets/validation targets/release; do
	curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$IMG/_trust/tuf/$r.json" -o "$W/new/$r.json"
done
if run offline-ok 0 "$BIN/verify-signatures" --trust-data-dir="$W/new" --image="$IMG@$D1" --signers=build --signers=validation; then
	pass offline-trust-data-verifies; else fail offline-trust-data-verifies; fi
if run other-gun 3 "$BIN/verify-signatures" --trust-data-dir="$W/new" --image="$REGISTRY/elsewhere@$D1" --signers=build &&
   has other-gun "root key certificate is for '$IMG', not '$REGISTRY/elsewhere'"; then
	pass trust-data-of-another-repository-exit-3; else fail trust-data-of-another-repository-exit-3; fi
cp -r "$W/new" "$W/tampered"
python3 - "$W/tampered/targets/build.json" "$D2" <<'PY'
import base64, json, sys
p = sys.argv[1]; d = json.load(open(p))
for t in d["signed"]["targets"].values():
    t["hashes"]["sha256"] = base64.b64encode(bytes.fromhex(sys.argv[2][7:])).decode()
open(p, "w").write(json.dumps(d, separators=(",", ":")))
PY
if run tampered 3 "$BIN/verify-signatures" --trust-data-dir="$W/tampered" --image="$IMG@$D2" --signers=build &&
   has tampered "does not match the snapshot"; then pass tampered-target-hash-exit-3; else fail tampered-target-hash-exit-3; fi
cp -r "$W/new" "$W/forged"
python3 - "$W/forged/targets.json" <<'PY'
import base64, json, sys
p = sys.argv[1]; raw = open(p).read(); d = json.loads(raw)
s = bytearray(base64.b64decode(d["signatures"][0]["sig"])); s[5] ^= 1
d["signatures"][0]["sig"] = base64.b64encode(bytes(s)).decode()
open(p, "w").write(json.dumps(d, separators=(",", ":")))
PY
# keep the snapshot consistent with the forged file, as a compromised server would
python3 - "$W/forged" <<'PY'
import sys
PY
if run forged 3 "$BIN/verify-signatures" --trust-data-dir="$W/forged" --image="$IMG@$D1" --signers=build &&
   has forged "targets"; then pass forged-signature-exit-3; else fail forged-signature-exit-3; fi
if run state-new 0 "$BIN/verify-signatures" --trust-data-dir="$W/new" --trust-state-dir="$W/state" --image="$IMG@$D1" --signers=build &&
   run rollback 3 "$BIN/verify-signatures" --trust-data-dir="$W/old" --trust-state-dir="$W/state" --image="$IMG@$D1" --signers=build &&
   has rollback "rollback"; then pass rolled-back-version-exit-3; else fail rolled-back-version-exit-3; fi
# a state dir anyone else can write is ignored (with a warning that says
# why), never trusted and never an error: its rollback floor (a version
# far above the server's) makes a safe dir refuse, an unsafe one not
# statedir_cases CMD DATA IMAGE DIR LABEL: CMD (verify-signatures' dir,
# perhaps behind setpriv) runs as the user who owns DIR
statedir_cases() {
	local bin=$1 data=$2 image=$3 d=$4 label=$5 as uid vf
	as() { if [ "$label" = root ]; then "$@"; else setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; fi; }
	uid=$(as id -u)
	V1() { run "$1-$label" "$2" $bin/verify-signatures --trust-data-dir="$data" --image="$image" --signers=build \
		--trust-state-dir="$3"; }
	as mkdir -m 700 "$d/safe" && V1 sd-first 0 "$d/safe" && vf=$(ls "$d"/safe/*_versions.json) &&
	as sh -c "jq -c '.timestamp = 999999' '$vf' >'$vf.new' && mv '$vf.new' '$vf'" &&
	for v in world group link foreign; do as cp -a "$d/safe" "$d/$v"; done &&
	as chmod 0777 "$d/world" && as chmod 0770 "$d/group" && as rm -rf "$d/link" && as ln -s "$d/safe" "$d/link"
	chmod 0755 "$d/foreign" && if [ "$label" = root ]; then chown 65534 "$d/foreign"; else chown 0 "$d/foreign"; fi
	if V1 sd-safe 3 "$d/safe" && has "sd-safe-$label" "timestamp.json version [0-9]* is older than version 999999 seen before (rollback)"; then
		pass "statedir-$label-safe-dir-is-used"; else fail "statedir-$label-safe-dir-is-used"; fi
	sd_ignored() { # variant, reason
		V1 "sd-$1" 0 "$d/$1" && has "sd-$1-$label" "trust state dir $d/$1 is ignored: $2" &&
		grep -q '^PASS build dct' "$LOGS/sd-$1-$label.out"
	}
	if sd_ignored world "it is writable by others (mode 0777)"; then
		pass "statedir-$label-world-writable-ignored"; else fail "statedir-$label-world-writable-ignored"; fi
	if sd_ignored group "it is writable by its group (mode 0770)"; then
		pass "statedir-$label-group-writable-ignored"; else fail "statedir-$label-group-writable-ignored"; fi
	if sd_ignored link "it is a symbolic link"; then
		pass "statedir-$label-symlink-ignored"; else fail "statedir-$label-symlink-ignored"; fi
	if sd_ignored foreign "it is owned by uid $([ "$label" = root ] && echo 65534 || echo 0), not by this process's uid $uid"; then
		pass "statedir-$label-other-owner-ignored"; else fail "statedir-$label-other-owner-ignored"; fi
}
mkdir -p "$W/sd-root" && statedir_cases "$BIN" "$W/new" "$IMG@$D1" "$W/sd-root" root
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	mkdir -p "$W/sd-user" && cp -r "$W/new" "$W/sd-user/data" && chown -R 65534:65534 "$W/sd-user" && chmod 711 "$W"
	statedir_cases "setpriv --reuid=65534 --regid=65534 --clear-groups $BIN" "$W/sd-user/data" "$IMG@$D1" "$W/sd-user" unprivileged
	chmod 700 "$W"
else
	fail statedir-unprivileged "needs root and setpriv to run as uid 65534"
fi

# ---- the notary CLI's trust data verifies in ours ------------------------
G2=$REGISTRY/cli-made
echo "payload made by the notary CLI" >"$W/blob"
DB=sha256:$(sha256sum "$W/blob" | cut -c1-64)
(cd "$W" && N init "$G2" && N key generate ecdsa --role targets/build -o cb && N delegation add "$G2" targets/build cb.pem --all-paths &&
	grep -v '^role:' cb-key.pem | openssl pkey -passin pass:delegpass -out cb.key &&
	N key import cb.key --role targets/build && N publish "$G2" && N add "$G2" t1 blob -r targets/build && N publish "$G2") >"$LOGS/cli-made" 2>&1
if run cli-made 0 "${V[@]}" --image="$G2@$DB" --signers=build="$W/cb.pem"; then
	pass notary-cli-trust-data-verifies-in-ours; else fail notary-cli-trust-data-verifies-in-ours "$(tail -2 "$LOGS/cli-made")"; fi

# a delegation made with a certificate, the way notary documents it
# (`notary delegation add <gun> <role> cert.pem`): targets.json lists an
# ecdsa-x509 key; the signer's bare public key and its certificate both
# match it, another key does not
(cd "$W" && openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out ops.key &&
	openssl req -new -x509 -key ops.key -out ops.crt -days 30 -subj /CN=ops && openssl pkey -in ops.key -pubout -out ops.pub &&
	N delegation add "$G2" targets/ops ops.crt --all-paths && N key import ops.key --role targets/ops && N publish "$G2" &&
	N add "$G2" t2 blob -r targets/ops && N publish "$G2") >"$LOGS/cert-deleg" 2>&1
if [ "$(curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$G2/_trust/tuf/targets.json" |
	jq -r '.signed.delegations as $d | $d.roles[] | select(.name == "targets/ops") | $d.keys[.keyids[0]].keytype')" = ecdsa-x509 ] &&
   run cert-deleg-pub 0 "${V[@]}" --image="$G2@$DB" --signers=ops="$W/ops.pub" && has cert-deleg-pub "PASS ops dct: signed as tag 't2'" &&
   run cert-deleg-cert 0 "${V[@]}" --image="$G2@$DB" --signers=ops="$W/ops.crt" &&
   run cert-deleg-wrong 3 "${V[@]}" --image="$G2@$DB" --signers=ops="$W/cb.pem" && has cert-deleg-wrong "not a key of targets/ops (wrong key)"; then
	pass certificate-delegation-matches-key-and-cert; else fail certificate-delegation-matches-key-and-cert "$(tail -2 "$LOGS/cert-deleg")"; fi

# build-sign with the key of that certificate delegation: the signature
# carries the ID the delegation lists (the certificate's), so the notary
# CLI (the oracle) and our verifier both accept what we published
openssl pkcs8 -topk8 -in "$W/ops.key" -passout pass:"$IMPORT_PASS" -out "$W/ops-enc.key" 2>/dev/null
DB3=sha256:$(printf 'cert-deleg-sign' | sha256sum | cut -c1-64)
N key rotate "$G2" snapshot -r >"$LOGS/cert-deleg-snap" 2>&1 # the server signs snapshots, as dct-init sets it up
if run cert-deleg-import 0 "$BIN/signer-key" --action=import --name=ops --import-file="$W/ops-enc.key" \
	--import-passphrase="$IMPORT_PASS" "${FILE_VAULT[@]}" &&
   run cert-deleg-sign 0 "$BIN/build-sign" --image="$G2:t3" --digest="$DB3" --manifest-size=15 --signer=ops \
	--format=dct --releases=false "${FILE_VAULT[@]}" "${NOTARY[@]}" &&
   N list "$G2" -r targets/ops >"$LOGS/cert-deleg-oracle.out" 2>&1 &&
   grep -q "^t3 *${DB3#sha256:} *15 *targets/ops" "$LOGS/cert-deleg-oracle.out" &&
   run cert-deleg-verify 0 "${V[@]}" --image="$G2@$DB3" --signers=ops="$W/ops.crt" && has cert-deleg-verify "PASS ops dct: signed as tag 't3'"; then
	pass build-sign-with-certificate-delegation; else fail build-sign-with-certificate-delegation "$(cat "$LOGS/cert-deleg-oracle.out" 2>/dev/null | tail -3)"; fi
# our build key is not the one targets/build of that repository lists
if run sign-undelegated-key 3 "$BIN/build-sign" --image="$G2:t4" --digest="$DB3" --manifest-size=15 --signer=build \
	--format=dct "${FILE_VAULT[@]}" "${NOTARY[@]}" && has sign-undelegated-key "is not delegated as targets/build" &&
   ! N list "$G2" -r targets/build 2>/dev/null | grep -q '^t4 '; then
	pass build-sign-refuses-undelegated-key; else fail build-sign-refuses-undelegated-key; fi

# root pins: the ID root.json lists (the root certificate's) and the one
# `notary key list` shows (the key's own) both name the notary CLI's root
G2_X509=$(curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$G2/_trust/tuf/root.json" | jq -r '.signed.roles.root.keyids[0]')
N key list >"$LOGS/g2-keys" 2>&1
G2_LISTED=$(awk '$1 == "root"' "$LOGS/g2-keys" | grep -oE '[0-9a-f]{64}')
if [ "$(printf '%s\n' "$G2_LISTED" | grep -c .)" = 1 ] && [ "$G2_LISTED" != "$G2_X509" ] &&
   run pin-x509 0 "${V[@]}" --image="$G2@$DB" --signers=build --root-key-ids="$G2_X509" &&
   run pin-key-list 0 "${V[@]}" --image="$G2@$DB" --signers=build --root-key-ids="$G2_LISTED" &&
   run pin-other 3 "${V[@]}" --image="$G2@$DB" --signers=build --root-key-ids="$(cat "$W/r3/root-key-id")" &&
   has pin-other "not signed by a pinned root key: it lists root key ${G2_X509:0:12}, none of them pinned"; then
	pass root-pin-by-certificate-or-key-id; else fail root-pin-by-certificate-or-key-id "$(cat "$LOGS/g2-keys")"; fi

# a hostile server (issue 12): its root lists the real, pinned root key
# beside its own key, threshold 1, and only its own key signs; it also
# re-signs snapshot and timestamp. Unpinned this verifies (the forgery is
# self-consistent); pinned by either form of the root ID it must not
mkdir -p "$W/g2/targets"
for r in root timestamp snapshot targets targets/build; do
	curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$G2/_trust/tuf/$r.json" -o "$W/g2/$r.json"
done
python3 "$root/tests/servers/tuf-forge.py" forge-root "$W/g2" "$W/g2-forged" >"$LOGS/forge" 2>&1
python3 "$root/tests/servers/tuf-forge.py" serve "$W/g2-forged" "$G2" "$NOTARY_DIR/server.crt" "$NOTARY_DIR/server.key" \
	"$W/forge-port" 2>"$LOGS/forge-serve" &
FORGE_PID=$!
for i in $(seq 1 100); do [ -s "$W/forge-port" ] && break; sleep 0.1; done
FORGED=("$BIN/verify-signatures" --notary-server="https://127.0.0.1:$(cat "$W/forge-port" 2>/dev/null)" --notary-ca="$NOTARY_CA"
	--image="$G2@$DB" --signers=build="$W/cb.pem")
if [ "$(cat "$LOGS/forge")" = "$G2_X509" ] &&
   run forged-unpinned 0 "${FORGED[@]}" &&
   run forged-pin-x509 3 "${FORGED[@]}" --root-key-ids="$G2_X509" --results-dir="$W/r-forged" &&
   has forged-pin-x509 "root.json of $G2 is not signed by a pinned root key: it lists pinned root key ${G2_X509:0:12}, but that key did not sign it" &&
   [ "$(cat "$W/r-forged/verified")" = false ] && grep -q "^FAIL build dct: trust data of $G2 rejected: root.json" "$W/r-forged/verdicts" &&
   run forged-pin-key-list 3 "${FORGED[@]}" --root-key-ids="$G2_LISTED" && has forged-pin-key-list "but that key did not sign it" &&
   run forged-offline 3 "$BIN/verify-signatures" --trust-data-dir="$W/g2-forged" --image="$G2@$DB" --signers=build \
	--root-key-ids="$G2_X509" && has forged-offline "did not sign it"; then
	pass forged-root-listing-pinned-key-exit-3; else fail forged-root-listing-pinned-key-exit-3 "$(tail -qn2 "$LOGS/forge" "$LOGS/forge-serve")"; fi
kill "$FORGE_PID" 2>/dev/null; wait "$FORGE_PID" 2>/dev/null; FORGE_PID=

# ---- a repository whose snapshots are signed locally (vault key) ----------
G3=$REGISTRY/local-snapshot
if run ls-init 0 "$BIN/dct-init" --image="$G3" "${NOTARY[@]}" "${FILE_VAULT[@]}" --signers=build --snapshot=local &&
   run ls-sign 0 "$BIN/build-sign" --image="$G3:v1@$D1" --format=dct --manifest-size=100 --signer=build \
	--snapshot-key=snapshot "${FILE_VAULT[@]}" "${NOTARY[@]}" &&
   run ls-verify 0 "${V[@]}" --image="$G3@$D1" --signers=build="$W/ks/build.pub" &&
   N list "$G3" >"$LOGS/ls-list" 2>&1 && grep -q "^v1 .*${D1#sha256:}" "$LOGS/ls-list" &&
   run ls-no-key 1 "$BIN/build-sign" --image="$G3:v2@$D1" --format=dct --manifest-size=100 --signer=build \
	"${FILE_VAULT[@]}" "${NOTARY[@]}" && has ls-no-key "snapshot key"; then
	pass local-snapshot-signed-in-vault; else fail local-snapshot-signed-in-vault; fi

# ---- every key in the token: root (certificate signed by C_Sign), targets, signer
G4=$REGISTRY/all-in-token
if run tok-init 0 "$BIN/dct-init" --image="$G4" "${NOTARY[@]}" "${P11_VAULT[@]}" --root-key=g4-root --targets-key=g4-targets \
	--signers=release --results-dir="$W/r7" &&
   run tok-sign 0 "$BIN/build-sign" --image="$G4:v1@$D1" --format=dct --manifest-size=100 --signer=release "${P11_VAULT[@]}" "${NOTARY[@]}" &&
   run tok-verify 0 "${V[@]}" --image="$G4@$D1" --signers=release="$W/release.pub" --root-key-ids="$(cat "$W/r7/root-key-id")" &&
   N list "$G4" >"$LOGS/tok-list" 2>&1 && grep -q "^v1 .*${D1#sha256:}" "$LOGS/tok-list"; then
	pass all-keys-in-pkcs11-token; else fail all-keys-in-pkcs11-token; fi

# ---- concurrent signers lose nothing -------------------------------------
"$BIN/build-sign" --image="$IMG:v3@$D3" --signer=build "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}" --retries=8 >"$LOGS/c1.out" 2>"$LOGS/c1.err" &
p1=$!
"$BIN/build-sign" --image="$IMG:v3@$D3" --signer=validation "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}" --retries=8 >"$LOGS/c2.out" 2>"$LOGS/c2.err" &
p2=$!
"$BIN/build-sign" --image="$IMG:v3@$D3" --signer=release "${P11_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}" --retries=8 >"$LOGS/c3.out" 2>"$LOGS/c3.err" &
p3=$!
wait $p1; r1=$?; wait $p2; r2=$?; wait $p3; r3=$?
if [ $r1$r2$r3 = 000 ] && run verify-concurrent 0 "${V[@]}" --image="$IMG@$D3" --format=both \
	--signers=build="$W/ks/build.pub" --signers=validation="$W/ks/validation.pub" --signers=release="$W/release.pub"; then
	pass concurrent-signers-lose-nothing; else fail concurrent-signers-lose-nothing "exits $r1 $r2 $r3: $(tail -qn1 "$LOGS"/c[123].err | tr "\n" " ")"; fi

# ---- cosign format judged by an independent verifier ---------------------
ORACLE=${COSIGN_ORACLE:-$root/build/oracle/sigverify}
# containers/image's sigstore policy check with Debian's stub put back (see
# the shared cosign-oracle tool); built once, kept under build/
oracle_src=$(cd "$root/.." && pwd)/shared/tools/cosign-oracle/build.sh
if [ ! -x "$ORACLE" ] && [ -x "$oracle_src" ]; then
	"$oracle_src" "$(dirname "$ORACLE")" >"$LOGS/oracle-build" 2>&1 || tail -5 "$LOGS/oracle-build" >&2
fi
if [ -x "$ORACLE" ]; then
	mkdir -p "$W/regd"
	printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$REGISTRY" >"$W/regd/local.yaml"
	policy() { # keys...
		python3 - "$IMG" "$@" <<'PY'
import json, sys
reqs = [{"type": "sigstoreSigned", "keyPath": k, "signedIdentity": {"type": "matchRepository"}} for k in sys.argv[2:]]
print(json.dumps({"default": [{"type": "reject"}], "transports": {"docker": {sys.argv[1]: reqs}}}))
PY
	}
	policy "$W/ks/build.pub" "$W/ks/validation.pub" >"$W/policy-ok.json"
	policy "$W/ks/build.pub" "$W/ks/root.pub" >"$W/policy-bad.json"
	export SSL_CERT_FILE=$REGISTRY_CA
	if "$ORACLE" "$W/policy-ok.json" "$W/regd" "docker://$IMG@$D1" >"$LOGS/oracle-ok" 2>&1 && grep -q ACCEPTED "$LOGS/oracle-ok"; then
		pass cosign-oracle-accepts-two-signers; else fail cosign-oracle-accepts-two-signers "$(tail -1 "$LOGS/oracle-ok")"; fi
	if ! "$ORACLE" "$W/policy-bad.json" "$W/regd" "docker://$IMG@$D1" >"$LOGS/oracle-bad" 2>&1 && grep -q REJECTED "$LOGS/oracle-bad"; then
		pass cosign-oracle-rejects-missing-key; else fail cosign-oracle-rejects-missing-key "$(tail -1 "$LOGS/oracle-bad")"; fi
	unset SSL_CERT_FILE
else
	fail cosign-oracle "not built: run /work/shared/tools/cosign-oracle/build.sh build/oracle (or set COSIGN_ORACLE)"
fi

# byte-level: the .sig manifest, the simple-signing payload and an ASN.1
# signature that openssl verifies with the signer's public key
sigm=$(curl -sf --cacert "$REGISTRY_CA" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"https://$REGISTRY/v2/app/manifests/sha256-${D1#sha256:}.sig")
if python3 - "$sigm" "$W/bytes" <<'PY' &&
import json, sys, base64, os
m = json.loads(sys.argv[1]); out = sys.argv[2]; os.makedirs(out, exist_ok=True)
assert m["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
for i, l in enumerate(m["layers"]):
    assert l["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    open(f"{out}/sig{i}", "wb").write(base64.b64decode(l["annotations"]["dev.cosignproject.cosign/signature"]))
    open(f"{out}/digest{i}", "w").write(l["digest"])
open(f"{out}/count", "w").write(str(len(m["layers"])))
PY
	want="{\"critical\":{\"identity\":{\"docker-reference\":\"$IMG\"},\"image\":{\"docker-manifest-digest\":\"$D1\"},\"type\":\"cosign container image signature\"},\"optional\":null}" &&
	curl -sf --cacert "$REGISTRY_CA" "https://$REGISTRY/v2/app/blobs/$(cat "$W/bytes/digest0")" -o "$W/bytes/payload" &&
	[ "$(cat "$W/bytes/payload")" = "$want" ] &&
	ok=0 && for i in $(seq 0 $(($(cat "$W/bytes/count") - 1))); do
		openssl dgst -sha256 -verify "$W/ks/build.pub" -signature "$W/bytes/sig$i" "$W/bytes/payload" >/dev/null 2>&1 && ok=1 || :
	done && [ $ok = 1 ]; then
	pass cosign-bytes-payload-and-der-signature; else fail cosign-bytes-payload-and-der-signature; fi

# Debian's skopeo has sigstore verification stubbed out: reaching that stub
# means it found our .sig manifest and a simple-signing layer in it
if command -v skopeo >/dev/null; then
	mkdir -p "$W/regd2"
	printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$REGISTRY" >"$W/regd2/local.yaml"
	printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s":[{"type":"sigstoreSigned","keyPath":"%s","signedIdentity":{"type":"matchRepository"}}]}}}' \
		"$IMG" "$W/ks/build.pub" >"$W/skopeo-policy.json"
	skopeo --policy "$W/skopeo-policy.json" --registries.d "$W/regd2" copy --src-cert-dir "$REGISTRY_CERT_DIR" \
		"docker://$IMG@$D1" "oci:$W/skopeo-out:x" >"$LOGS/skopeo" 2>&1
	if grep -q 'sigstore disabled' "$LOGS/skopeo"; then pass skopeo-finds-simple-signing-layer
	else fail skopeo-finds-simple-signing-layer "$(tail -1 "$LOGS/skopeo")"; fi
	skopeo --policy "$W/skopeo-policy.json" --registries.d "$W/regd2" copy --src-cert-dir "$REGISTRY_CERT_DIR" \
		"docker://$IMG@$D2" "oci:$W/skopeo-out:y" >"$LOGS/skopeo2" 2>&1
	if grep -q 'no signature exists' "$LOGS/skopeo2"; then pass skopeo-sees-unsigned-digest
	else fail skopeo-sees-unsigned-digest "$(tail -1 "$LOGS/skopeo2")"; fi
else
	fail skopeo-format-check "skopeo is not installed"
fi

# ---- --format=both publishes both or neither -----------------------------
# oracles of what exists: skopeo (the registry's tags) and the notary CLI
sig_tags() { # digest -> the .sig and signer mark tags of digest, as skopeo lists them
	skopeo list-tags --cert-dir "$REGISTRY_CERT_DIR" "docker://$IMG" | grep -c "sha256-${1#sha256:}"
}
dct_has() { N list "$1" -r targets/build 2>/dev/null | grep -q "^$2 "; }
D4=$(push_image app v4 four)
if run both-notary-down 5 "$BIN/build-sign" --image="$IMG:v4@$D4" --signer=build "${FILE_VAULT[@]}" "${REG[@]}" \
	--notary-server=https://127.0.0.1:1 --notary-ca="$NOTARY_CA" --retries=1 --results-dir="$W/r-nd" &&
   has both-notary-down "nothing published in either format" && ! has both-notary-down "taken back" &&
   [ "$(sig_tags "$D4")" = 0 ] && [ ! -e "$W/r-nd" ]; then
	pass both-formats-notary-down-nothing-published; else fail both-formats-notary-down-nothing-published "$(sig_tags "$D4") tags"; fi
"$root/tests/servers/registry.sh" stop "$W/reg" >/dev/null 2>&1
run both-registry-down 5 "$BIN/build-sign" --image="$IMG:v4@$D4" --signer=build "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}" \
	--manifest-size=100 --retries=1
rd=$?
"$root/tests/servers/registry.sh" restart "$W/reg" >"$LOGS/registry-restart" 2>&1 && . "$W/reg/env"
if [ $rd = 0 ] && has both-registry-down "nothing published in either format" && N list "$IMG" -r targets/build >/dev/null 2>&1 &&
   ! dct_has "$IMG" v4 && [ "$(sig_tags "$D4")" = 0 ]; then
	pass both-formats-registry-down-nothing-published; else fail both-formats-registry-down-nothing-published; fi
# a registry that fails mid-way: the signer mark goes in, the .sig manifest
# PUT fails; the mark is taken back and DCT is not published
pport=$(notary_free_port)
python3 "$root/tests/servers/registry-flaky-proxy.py" --port "$pport" --upstream "$REGISTRY" --ca "$REGISTRY_CA" \
	--put-503-after 1 2>"$LOGS/flaky-proxy.log" &
proxy_pid=$!
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$pport) 2>/dev/null && break; sleep 0.1; done
FIMG=127.0.0.1:$pport/app
if run flaky-init 0 "$BIN/dct-init" --image="$FIMG" "${NOTARY[@]}" "${FILE_VAULT[@]}" --signers=build &&
   run both-flaky 5 "$BIN/build-sign" --image="$FIMG:v4@$D4" --signer=build "${FILE_VAULT[@]}" "${NOTARY[@]}" \
	--insecure-registry --manifest-size=100 --retries=0 &&
   has both-flaky "nothing published in either format (the cosign signature written was taken back)" &&
   grep -q "PUT /v2/app/manifests/sha256-${D4#sha256:}\.sig\.[0-9a-f]* range=- -> 201" "$LOGS/flaky-proxy.log" &&
   grep -q "PUT /v2/app/manifests/sha256-${D4#sha256:}\.sig range=- -> 503" "$LOGS/flaky-proxy.log" &&
   [ "$(sig_tags "$D4")" = 0 ] && N list "$FIMG" >/dev/null 2>&1 && ! dct_has "$FIMG" v4; then
	pass both-formats-registry-fails-midway-mark-taken-back; else fail both-formats-registry-fails-midway-mark-taken-back "$(sig_tags "$D4") tags"; fi
kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null

# ---- unreachable notary: retries, then exit 5 ----------------------------
if run notary-down 5 "$BIN/verify-signatures" --notary-server=https://127.0.0.1:1 --retries=2 --image="$IMG@$D1" --signers=build &&
   has notary-down "after 3 attempts"; then pass notary-down-exit-5; else fail notary-down-exit-5; fi
# the timestamp is asked for before the signers' keys are read: a bad key
# is still the error reported, at once (the request ahead is dropped, not
# retried)
printf 'not a key\n' >"$W/bad.pub"
if run notary-down-bad-key 2 "$BIN/verify-signatures" --notary-server=https://127.0.0.1:1 --retries=3 \
	--image="$IMG@$D1" --signers=build="$W/bad.pub" &&
   has notary-down-bad-key "bad.pub" && ! has notary-down-bad-key "retrying"; then
	pass verify-bad-key-reported-before-notary; else fail verify-bad-key-reported-before-notary; fi
if run sign-notary-down 5 "$BIN/build-sign" --image="$IMG:v1@$D1" --format=dct --signer=build "${FILE_VAULT[@]}" \
	--notary-server=https://127.0.0.1:1 --retries=1 --manifest-size=10 &&
   has sign-notary-down "fetch root.json: notary .*: GET https://127.0.0.1:1/v2/.*/_trust/tuf/root.json: .*(after 2 attempts)"; then pass build-sign-notary-down-exit-5; else fail build-sign-notary-down-exit-5; fi

# ---- secrets leak nowhere ------------------------------------------------
run debug-sign 0 "$BIN/build-sign" --log-level=debug --image="$IMG:v1@$D1" --signer=build "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}"
run debug-p11 0 "$BIN/signer-key" --log-level=debug --action=list --vault=pkcs11 --pkcs11-token=pipeline --pin="$PIN"
leaks=$(grep -rlF -e "$PASSPHRASE" -e "$PIN" -e "$IMPORT_PASS" "$LOGS" "$W"/r[0-9] "$W/ks" "$W/state" "$W/tokens" 2>/dev/null | grep -v -e '/passfile$' -e '/pin$')
if [ -z "$leaks" ]; then pass no-secret-in-output-or-files; else fail no-secret-in-output-or-files "$leaks"; fi

# ---- both formats: the DCT publish fails after the cosign signature is in -
# (last: the notary signer is stopped, so the server reads but cannot
# publish) the cosign signature is taken back
# (validation's cosign signature is there first: only build's layer and
# mark go, validation's signature and mark stay)
D5=$(push_image app v5 five)
run pf-validation 0 "$BIN/build-sign" --image="$IMG:v5@$D5" --signer=validation --format=cosign "${FILE_VAULT[@]}" "${REG[@]}"
kill "${NOTARY_PIDS%% *}" 2>/dev/null
if run both-publish-fails 1 "$BIN/build-sign" --image="$IMG:v5@$D5" --signer=build "${FILE_VAULT[@]}" "${NOTARY[@]}" "${REG[@]}" \
	--manifest-size=100 --retries=0 &&
   has both-publish-fails "nothing published in either format (the cosign signature written was taken back)" &&
   [ "$(sig_tags "$D5")" = 2 ] &&
   [ "$(skopeo inspect --raw --cert-dir "$REGISTRY_CERT_DIR" "docker://$IMG:sha256-${D5#sha256:}.sig" | jq '.layers | length')" = 1 ] &&
   run pf-verify-validation 0 "${V[@]}" --image="$IMG@$D5" --format=cosign --signers=validation="$W/ks/validation.pub" &&
   run pf-verify-build 3 "${V[@]}" --image="$IMG@$D5" --format=cosign --signers=build="$W/ks/build.pub" &&
   N list "$IMG" -r targets/build >"$LOGS/pf-list" 2>&1 && ! grep -q "^v5 " "$LOGS/pf-list"; then
	pass both-formats-dct-publish-fails-cosign-taken-back; else fail both-formats-dct-publish-fails-cosign-taken-back "$(sig_tags "$D5") tags"; fi

[ $failures -eq 0 ]
