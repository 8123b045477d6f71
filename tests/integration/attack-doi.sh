#!/usr/bin/env bash
# Attacks on publish-doi's list and evaluate: records that must never
# count (a DSSE envelope of another payloadType, a statement that parses
# two ways, a symbolic link or a FIFO planted in the local store, as root
# and as an unprivileged user) and a policy file that shows other rules
# than it holds. A key the test holds (openssl) is trusted so that the
# records it signs differ from a good one in the attacked part only.
# Prints PASS:/FAIL: per test; exits non-zero if any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=attack-doi tools="openssl jq python3 setpriv curl docker-registry" keep=ATTACK_DOI_KEEP
. "$here/lib/prelude.sh"

hex() { printf %s "$1" | sha256sum | cut -c1-64; }
D=sha256:$(hex image-one)
D2=sha256:$(hex image-two)
IMG=127.0.0.1:5000/app
TYPE=application/vnd.in-toto+json
openssl ecparam -name prime256v1 -genkey -noout -out "$W/k.pem" 2>/dev/null &&
	openssl ec -in "$W/k.pem" -pubout -out "$W/k.pub" 2>/dev/null || { fail prerequisites "openssl key"; exit 1; }
TRUST=(--trusted-keys=ci="$W/k.pub")
# a unittest record of digest $1 that passed, at time $2
statement() {
	jq -nc --arg d "${1#sha256:}" --arg t "$2" '{_type: "https://in-toto.io/Statement/v1",
		subject: [{name: "127.0.0.1:5000/app", digest: {sha256: $d}}],
		predicateType: "https://in-toto.io/attestation/test-result/v0.1",
		predicate: {result: "PASSED", passedTests: ["api.get"], failedTests: [], warnedTests: [],
			configuration: [{name: "unittest", annotations: {testType: "unittest", tests: 1, failures: 0, errors: 0,
				finishedOn: $t}}]}}'
}
# envelope OUT PAYLOAD_FILE [ENVELOPE_TYPE [SIGNED_TYPE]]: signed by k.pem over
# DSSE's PAE of SIGNED_TYPE (default the envelope's type, default in-toto)
envelope() {
	local out=$1 body=$2 type=${3:-$TYPE} signed=${4:-${3:-$TYPE}}
	{ printf 'DSSEv1 %d %s %d ' "${#signed}" "$signed" "$(stat -c %s "$body")"; cat "$body"; } >"$W/pae"
	openssl dgst -sha256 -sign "$W/k.pem" -out "$W/sig" "$W/pae" || return 1
	jq -nc --arg t "$type" --arg p "$(base64 -w0 <"$body")" --arg s "$(base64 -w0 <"$W/sig")" \
		'{payloadType: $t, payload: $p, signatures: [{keyid: "", sig: $s}]}' >"$out"
}
# plant STORE FILE [NAME]: FILE as a record of D in STORE (NAME: its sha256)
plant() {
	local h; h=${3:-$(sha256sum <"$2" | cut -c1-64)}
	mkdir -p "$1/index/sha256-${D#sha256:}" "$1/blobs" && cp "$2" "$1/index/sha256-${D#sha256:}/$h"
	chmod 0600 "$1/index/sha256-${D#sha256:}/$h"
}
printf 'tests-passed unittest\n' >"$W/policy"
# doi NAME EXIT STORE CMD ARGS...: list or evaluate on STORE
doi() {
	local name=$1 want=$2 store=$3 cmd=$4; shift 4
	local extra=()
	[ "$cmd" = evaluate ] && extra=(--policy="$W/policy")
	run "$name" "$want" "$BIN/publish-doi" "$cmd" --store-dir="$store" --image="$IMG@$D" "${TRUST[@]}" "${extra[@]}" "$@"
}

# ---- the baseline: a good record counts (so the negatives below can fail)
statement "$D" 2026-01-01T10:00:00Z >"$W/good.json"
envelope "$W/good.env" "$W/good.json"
plant "$W/s-good" "$W/good.env"
if doi good-list 0 "$W/s-good" list && has good-list '^VALID' && doi good-eval 0 "$W/s-good" evaluate; then
	pass baseline-good-record-counts; else fail baseline-good-record-counts; fi

# ---- a DSSE envelope whose payloadType is not in-toto's: signed over its
# own type, or claiming in-toto's with a signature over another type
envelope "$W/type.env" "$W/good.json" application/json
plant "$W/s-type" "$W/type.env"
envelope "$W/type2.env" "$W/good.json" "$TYPE" application/json
plant "$W/s-type2" "$W/type2.env"
if doi type-list 0 "$W/s-type" list && has type-list "payloadType is application/json, not $TYPE" &&
   doi type-eval 3 "$W/s-type" evaluate && has type-eval 'no verified unittest test record' &&
   doi type2-list 0 "$W/s-type2" list && has type2-list 'no signature by a trusted key over the envelope' &&
   doi type2-eval 3 "$W/s-type2" evaluate; then
	pass other-payload-type-never-counts; else fail other-payload-type-never-counts; fi

# ---- a signed statement that parses two ways: duplicate keys (a parser
# keeping the first subject reads D2, one keeping the last reads D)
jq -c --arg d2 "${D2#sha256:}" '.subject[0].digest.sha256 = $d2' "$W/good.json" | sed 's/}$//' >"$W/dup.json"
printf ',"subject":[{"name":"a","digest":{"sha256":"%s"}}]}' "${D#sha256:}" >>"$W/dup.json"
envelope "$W/dup.env" "$W/dup.json"
plant "$W/s-dup" "$W/dup.env"
if [ "$(grep -o '"subject"' "$W/dup.json" | wc -l)" = 2 ] && doi dup-list 0 "$W/s-dup" list && has dup-list '^INVALID' &&
   has dup-list 'duplicate object key' && doi dup-eval 3 "$W/s-dup" evaluate; then
	pass duplicate-keys-never-count; else fail duplicate-keys-never-count; fi

# the same in the envelope: two payloads
{ sed 's/}$//' "$W/good.env"; printf ',"payload":"e30="}'; } >"$W/dup2.env"
plant "$W/s-dup2" "$W/dup2.env"
if doi dup2-list 0 "$W/s-dup2" list && has dup2-list 'duplicate object key' && doi dup2-eval 3 "$W/s-dup2" evaluate; then
	pass envelope-duplicate-keys-never-count; else fail envelope-duplicate-keys-never-count; fi

# ---- a signed statement whose strings hold \u0000: C reads "PASSED" and
# the digest, a verifier comparing whole strings does not
sed 's/"PASSED"/"PASSED\\u0000, 3 failed"/' "$W/good.json" >"$W/nul1.json"
sed "s/\"${D#sha256:}\"/\"${D#sha256:}\\\\u0000junk\"/" "$W/good.json" >"$W/nul2.json"
envelope "$W/nul1.env" "$W/nul1.json" && plant "$W/s-nul" "$W/nul1.env"
envelope "$W/nul2.env" "$W/nul2.json" && plant "$W/s-nul" "$W/nul2.env"
if grep -qF 'PASSED\u0000' "$W/nul1.json" && grep -qF "${D#sha256:}\u0000junk" "$W/nul2.json" &&
   doi nul-list 0 "$W/s-nul" list && ! has nul-list '^VALID' && [ "$(grep -c 'u0000 is not allowed' "$LOGS/nul-list.out")" = 2 ] &&
   doi nul-eval 3 "$W/s-nul" evaluate && has nul-eval 'no verified unittest test record'; then
	pass nul-in-statement-never-counts; else fail nul-in-statement-never-counts; fi

# ---- the latest record by its instant, not its text: a failing run at
# 10:00:00.5Z is after a passing one at 10:00:00Z; a passing run at
# 19:00:00+10:00 (09:00Z) is before a failing one at 10:00:00Z
order_case() { # NAME PASS_TIME FAIL_TIME EXPECTED_EXIT
	local st=$W/s-order-$1
	statement "$D" "$2" >"$W/o-pass-$1.json"
	statement "$D" "$3" | jq -c '.predicate.result = "FAILED" | .predicate.configuration[0].annotations.failures = 1' >"$W/o-fail-$1.json"
	envelope "$W/o-pass-$1.env" "$W/o-pass-$1.json" && plant "$st" "$W/o-pass-$1.env"
	envelope "$W/o-fail-$1.env" "$W/o-fail-$1.json" && plant "$st" "$W/o-fail-$1.env"
	doi "order-$1" "$4" "$st" evaluate &&
		has "order-$1" "the latest unittest record's result is $([ "$4" = 0 ] && echo PASSED || echo FAILED)"
}
if order_case fraction 2026-01-01T10:00:00Z 2026-01-01T10:00:00.5Z 3 &&
   order_case offset 2026-01-01T19:00:00+10:00 2026-01-01T10:00:00Z 3 &&
   order_case fraction-digits 2026-01-01T10:00:00.10Z 2026-01-01T10:00:00.09Z 0 &&
   order_case later-pass 2026-01-01T10:00:01Z 2026-01-01T10:00:00.9Z 0 &&
   order_case offset-pass 2026-01-01T10:30:00+00:00 2026-01-01T11:00:00+01:00 0; then
	pass latest-record-by-instant; else fail latest-record-by-instant; fi

# ---- list shows a record's text, even an unsigned one's, without the
# control codes it holds (its payloadType: title change, screen clear)
printf '{"payloadType":"\\u001b]0;PWN\\u0007\\u001b[2J\\r","payload":"e30=","signatures":[{"sig":"AA=="}]}' >"$W/esc.env"
plant "$W/s-esc" "$W/esc.env"
esc=$(printf '\033')
if doi esc-list 0 "$W/s-esc" list && ! grep -q "$esc" "$LOGS/esc-list.out" "$LOGS/esc-list.err" &&
   ! grep -q "$(printf '\r')" "$LOGS/esc-list.out" &&
   has esc-list 'payloadType is \\x1b]0;PWN\\x07\\x1b\[2J\\x0d, not'; then
	pass list-escapes-control-characters; else fail list-escapes-control-characters "$(grep reason "$LOGS/esc-list.out" | od -c | head -3)"; fi

# ---- records published in the same second (a rerun test, a retried
# deploy) are still ordered: the default time has nanoseconds
PASSPHRASE="vault-$(openssl rand -hex 8)"
VAULT=(--keystore-dir="$W/ks" --passphrase="$PASSPHRASE")
printf '<testsuites><testsuite name="a" tests="1" failures="0"><testcase classname="a" name="t"/></testsuite></testsuites>\n' >"$W/pass.xml"
printf '<testsuites><testsuite name="a" tests="1" failures="1"><testcase classname="a" name="t"><failure message="x"/></testcase></testsuite></testsuites>\n' >"$W/fail.xml"
same() { # NAME JUNIT: published now into $W/s-same
	run "same-$1" 0 "$BIN/publish-doi" publish --store-dir="$W/s-same" --image="$IMG@$D" --signer=rerun "${VAULT[@]}" \
		--kind=test --file="$2" --filetype=unittest
}
SAME=(--store-dir="$W/s-same" --image="$IMG@$D" --trusted-keys=rerun="$W/rerun.pub")
if run same-key 0 "$BIN/signer-key" --action=create --name=rerun "${VAULT[@]}" --public-key-file="$W/rerun.pub" &&
   same fail1 "$W/fail.xml" && same pass "$W/pass.xml" &&
   run same-list 0 "$BIN/publish-doi" list "${SAME[@]}" --output=json &&
   jq -e 'length == 2 and all(.[]; .time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z$"))' "$LOGS/same-list.out" >/dev/null &&
   run same-eval1 0 "$BIN/publish-doi" evaluate "${SAME[@]}" --policy="$W/policy" &&
   same fail2 "$W/fail.xml" && run same-eval2 3 "$BIN/publish-doi" evaluate "${SAME[@]}" --policy="$W/policy"; then
	pass same-second-records-ordered; else fail same-second-records-ordered; fi

# ---- the local store: a symbolic link to a good record, a FIFO, a record
# named for other content; as root and as uid 65534 (its own store)
planted_store() { # DIR: the good record's store with the planted entries
	rm -rf "$1" && mkdir -p "$1" && cp -a "$W/s-good/." "$1/"
	local idx=$1/index/sha256-${D#sha256:}
	mkdir -p "$W/elsewhere" && cp "$W/good.env" "$W/elsewhere/rec"
	rm -f "$idx"/*
	ln -s "$W/elsewhere/rec" "$idx/$(sha256sum <"$W/good.env" | cut -c1-64)"
	mkfifo "$idx/$(hex fifo)"
	cp "$W/type.env" "$idx/$(hex other-content)"
}
for who in root nobody; do
	st=$W/planted-$who
	planted_store "$st"
	AS=()
	if [ $who = nobody ]; then
		chmod 755 "$W" && chmod -R a+rX "$W/k.pub" "$W/policy" "$W/elsewhere" && chown -R 65534:65534 "$st"
		AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	fi
	run planted-$who-list 0 timeout 20 "${AS[@]}" "$BIN/publish-doi" list --store-dir="$st" --image="$IMG@$D" "${TRUST[@]}"
	rc=$?
	if [ $rc = 0 ] && ! grep -q '^VALID' "$LOGS/planted-$who-list.out" &&
	   has planted-$who-list 'it is a symbolic link' && has planted-$who-list 'it is not a regular file' &&
	   has planted-$who-list 'truncated or altered' &&
	   run planted-$who-eval 3 timeout 20 "${AS[@]}" "$BIN/publish-doi" evaluate --store-dir="$st" --image="$IMG@$D" \
		"${TRUST[@]}" --policy="$W/policy"; then
		pass "planted-links-and-fifo-never-count-$who"; else fail "planted-links-and-fifo-never-count-$who"; fi
done
# a store dir owned by another user, or world-writable: nothing read
st=$W/planted-other
rm -rf "$st" && cp -a "$W/s-good" "$st" && chown -R 65534:65534 "$st"
st2=$W/planted-ww
rm -rf "$st2" && cp -a "$W/s-good" "$st2" && chmod 0777 "$st2/index/sha256-${D#sha256:}"
if doi owner-eval 1 "$st" evaluate && has owner-eval 'owned by uid 65534' &&
   doi ww-eval 3 "$st2" evaluate && has ww-eval 'it is writable by others'; then
	pass foreign-or-writable-store-never-counts; else fail foreign-or-writable-store-never-counts; fi

# ---- a policy that shows other rules than it holds: a CR mid-line (a
# terminal shows "max-vulnerabilities critical 0" over the real limit),
# an escape sequence, a right-to-left override; CRLF line ends are fine
hidden() { # NAME TEXT(printf format): refused, exit 2, naming the line
	printf "$2" >"$W/policy-$1"
	run "policy-$1" 2 "$BIN/publish-doi" evaluate --store-dir="$W/s-good" --image="$IMG@$D" "${TRUST[@]}" \
		--policy="$W/policy-$1" && has "policy-$1" "policy-$1:$3: byte 0x$4: a control character"
}
if hidden cr 'tests-passed unittest\nmax-vulnerabilities critical 9 #\r max-vulnerabilities critical 0\n' 2 0d &&
   hidden esc 'tests-passed unittest # \033[8m hidden\n' 1 1b &&
   hidden bs 'max-vulnerabilities critical 99\b\b0\n' 1 08 &&
   hidden c1 'tests-passed unittest # \302\233 8m\n' 1 c2 &&
   hidden rlo 'tests-passed unittest # \342\200\256 0 lacitirc\n' 1 e2 &&
   hidden lri 'tests-passed unittest # \342\201\246 x\n' 1 e2 &&
   printf 'tests-passed unittest\r\n# ok\r\n' >"$W/policy-crlf" &&
   run policy-crlf 0 "$BIN/publish-doi" evaluate --store-dir="$W/s-good" --image="$IMG@$D" "${TRUST[@]}" --policy="$W/policy-crlf"; then
	pass policy-shows-what-it-holds; else fail policy-shows-what-it-holds; fi

# ---- the registry: the .att manifest names a layer (a failing record,
# the newest) whose blob the registry's storage swapped for another
# signed record of the image (an older pass), of the same size
if "$root/tests/servers/registry.sh" start "$W/reg" none >"$LOGS/registry-start" 2>&1; then
	at_exit+=('"$root/tests/servers/registry.sh" stop "$W/reg" >/dev/null 2>&1')
	. "$W/reg/env"
	push_blob() { # FILE: uploaded to app, its digest printed
		local d loc
		d=sha256:$(sha256sum <"$1" | cut -c1-64)
		loc=$(curl -sf --cacert "$REGISTRY_CA" -X POST -D - -o /dev/null "https://$REGISTRY/v2/app/blobs/uploads/" |
			tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
		case $loc in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
		case $loc in http*) ;; *) loc="https://$REGISTRY$loc" ;; esac
		curl -sf --cacert "$REGISTRY_CA" -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$1" "$loc" &&
			echo "$d"
	}
	jq -c '.predicate.result = "FAILED" | .predicate.configuration[0].annotations.failures = 1
		| .predicate.configuration[0].annotations.finishedOn = "2026-02-01T00:00:00Z"' "$W/good.json" >"$W/failed.json"
	envelope "$W/failed.env" "$W/failed.json"
	cp "$W/good.env" "$W/swap.env"
	a=$(stat -c %s "$W/failed.env") b=$(stat -c %s "$W/swap.env")
	[ "$a" -gt "$b" ] && head -c $((a - b)) /dev/zero | tr '\0' ' ' >>"$W/swap.env"
	[ "$b" -gt "$a" ] && head -c $((b - a)) /dev/zero | tr '\0' ' ' >>"$W/failed.env"
	printf '{}' >"$W/config.json"
	cd_=$(push_blob "$W/config.json") ld=$(push_blob "$W/failed.env")
	jq -nc --arg c "$cd_" --arg l "$ld" --argjson n "$(stat -c %s "$W/failed.env")" '{schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.empty.v1+json", digest: $c, size: 2},
		layers: [{mediaType: "application/vnd.dsse.envelope.v1+json", digest: $l, size: $n}]}' >"$W/att.json"
	curl -sf --cacert "$REGISTRY_CA" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary @"$W/att.json" "https://$REGISTRY/v2/app/manifests/sha256-${D#sha256:}.att" >/dev/null
	R=(--store=registry --registry-ca="$REGISTRY_CA")
	printf 'tests-passed unittest\n' >"$W/policy"
	if run reg-before 3 "$BIN/publish-doi" evaluate "${R[@]}" --image="$REGISTRY/app@$D" "${TRUST[@]}" --policy="$W/policy" &&
	   has reg-before "the latest unittest record's result is FAILED"; then
		data=$(find "$REGISTRY_STORAGE" -path "*/blobs/sha256/*/${ld#sha256:}/data")
		cp "$W/swap.env" "$data"
		curl -sf --cacert "$REGISTRY_CA" "https://$REGISTRY/v2/app/blobs/$ld" -o "$W/served"
		if cmp -s "$W/served" "$W/swap.env" &&
		   run reg-swap-list 0 "$BIN/publish-doi" list "${R[@]}" --image="$REGISTRY/app@$D" "${TRUST[@]}" &&
		   ! has reg-swap-list '^VALID' && has reg-swap-list '^INVALID' &&
		   run reg-swap-eval 3 "$BIN/publish-doi" evaluate "${R[@]}" --image="$REGISTRY/app@$D" "${TRUST[@]}" --policy="$W/policy" &&
		   has reg-swap-eval 'no verified unittest test record'; then
			pass registry-layer-not-its-digest-never-counts
		else fail registry-layer-not-its-digest-never-counts "$(grep -A1 INVALID "$LOGS/reg-swap-list.out" | tail -1)"; fi
	else fail registry-layer-not-its-digest-never-counts "the pushed record is not read"; fi
else fail registry-start "$(tail -3 "$LOGS/registry-start")"; fi

[ "$failures" = 0 ]
