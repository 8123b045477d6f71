#!/usr/bin/env bash
# Concurrent cosign signers of one digest, forced into chosen interleavings
# by a rule-driven delaying proxy (tests/servers/registry-flaky-proxy.py),
# each scenario on a fresh image digest; a signer's PUTs are told apart by
# their body (the key-id annotation of the layers it carries). Every
# signer that exits 0 must still verify at the end (common/cosign.c,
# "Signer marks"), and --format=both must leave what it says.
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=attack-cosign tools="notary-server docker-registry" keep=ATTACK_COSIGN_KEEP
. "$here/lib/prelude.sh"
. "$root/tests/servers/notary.sh"
at_exit+=('[ -n "${proxy_pid:-}" ] && kill "$proxy_pid" 2>/dev/null' notary_stop
	'"$root/tests/servers/registry.sh" stop "$W/reg" >/dev/null 2>&1')
ONLY=${ATTACK_COSIGN_ONLY:-}

PASSPHRASE="vault-$(openssl rand -hex 8)"
FILE_VAULT=(--keystore-dir="$W/ks" --passphrase="$PASSPHRASE")
for k in build validation qa; do
	"$BIN/signer-key" --action=create --name=$k "${FILE_VAULT[@]}" --results-dir="$W/k-$k" >/dev/null 2>&1 || { fail keys; exit 1; }
done
KA=$(cut -c1-16 "$W/k-build/key-id") KW=$(cut -c1-16 "$W/k-validation/key-id") KX=$(cut -c1-16 "$W/k-qa/key-id")

notary_start "$W/notary" || { fail notary-start; exit 1; }
"$root/tests/servers/registry.sh" start "$W/reg" none >"$LOGS/registry-start" 2>&1 || { fail registry-start; exit 1; }
. "$W/reg/env"
NOTARY=(--notary-server="$NOTARY_URL" --notary-ca="$NOTARY_CA")
pport=$(notary_free_port)
IMG=127.0.0.1:$pport/app

. "$here/lib/push_image.sh"

proxy() { # NAME RULE... : (re)start the proxy on $pport with these rules
	[ -n "${proxy_pid:-}" ] && { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; }
	local name=$1 args=()
	shift
	for r in "$@"; do args+=(--rule "$r"); done
	python3 "$root/tests/servers/registry-flaky-proxy.py" --port "$pport" --upstream "$REGISTRY" --ca "$REGISTRY_CA" \
		"${args[@]}" 2>"$LOGS/proxy-$name.log" &
	proxy_pid=$!
	for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$pport) 2>/dev/null && break; sleep 0.1; done
	PLOG=$LOGS/proxy-$name.log
}
wait_log() { # FILE REGEX [tenths]
	for _ in $(seq 1 "${3:-200}"); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
sign() { # NAME SIGNER FORMAT DIGEST [extra...] (background: sets last_pid)
	local name=$1 signer=$2 fmt=$3 d=$4
	shift 4
	"$BIN/build-sign" --image="$IMG:t@$d" --signer="$signer" --format="$fmt" "${FILE_VAULT[@]}" "${NOTARY[@]}" \
		--insecure-registry --manifest-size=100 "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" &
	last_pid=$!
}
verify() { # NAME DIGEST SIGNER -> exit code of verify-signatures --format=cosign
	"$BIN/verify-signatures" --image="$IMG@$2" --format=cosign --signers="$3=$W/ks/$3.pub" --insecure-registry \
		>"$LOGS/$1.out" 2>"$LOGS/$1.err"
}
sig_layers() { # DIGEST -> key ids in the .sig manifest now
	curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$pport/v2/app/manifests/sha256-${1#sha256:}.sig" |
		jq -r '[.layers[]?.annotations["org.secure-pipeline.cosign/key-id"]] | join(",")' 2>/dev/null
}
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
name_of() { case $1 in "$KA") echo build ;; "$KW") echo validation ;; "$KX") echo qa ;; *) echo "$1" ;; esac; }
layers_named() { local out="" k; for k in $(sig_layers "$1" | tr , ' '); do out="$out$(name_of "$k") "; done; echo "${out% }"; }

proxy init
if ! run dct-init 0 "$BIN/dct-init" --image="$IMG" "${NOTARY[@]}" "${FILE_VAULT[@]}" --signers=build --signers=validation --signers=qa; then
	fail dct-init; exit 1
fi
SIGPUT='manifests/sha256-[0-9a-f]{64}\.sig$'

# ---- S1: a first signature whose mark PUT fails while its .sig PUT lands
# A (build) and W (validation) sign a new digest. A's .sig PUT would be
# held 3 s at the proxy and A's mark PUT is refused (503). Had A PUT both
# side by side, its held .sig [A] would land over W's, and A, stopping on
# the mark error without listing the tags, would leave W's lost. The mark
# failure stopped A before any .sig PUT: a mark goes first again.
if want S1; then
D=$(push_image app s1 s1)
proxy s1 "hold PUT $SIGPUT 3 0 1 $KA" "fail PUT sig\.$KA\$ 503"
sign s1-a build cosign "$D"; pa=$last_pid  # default --retries (4): the mark PUT keeps failing
wait_log "$PLOG" "^RULE fail .*sig\\.$KA" || echo "  (mark refusal not seen)" >&2
sign s1-w validation cosign "$D"; pw=$last_pid
wait $pw; rw=$?; wait $pa; ra=$?
verify s1-verify-w "$D" validation; vw=$?
echo "  S1: A exit $ra, W exit $rw; .sig holds [$(layers_named "$D")]; verify W: exit $vw" >&2
if [ $ra != 0 ] && [ $rw = 0 ] && [ $vw = 0 ]; then pass mark-refused-first-signature-loses-nothing
else fail mark-refused-first-signature-loses-nothing "A exit $ra, W exit $rw, verify W exit $vw"; fi
# the same, A with --format=both: nothing of A published, W's signature stays
D=$(push_image app s1b s1b)
proxy s1b "hold PUT $SIGPUT 3 0 1 $KA" "fail PUT sig\.$KA\$ 503"
sign s1b-a build both "$D" --retries=0; pa=$last_pid
wait_log "$PLOG" "^RULE fail .*sig\\.$KA" || echo "  (mark refusal not seen)" >&2
sign s1b-w validation cosign "$D"; pw=$last_pid
wait $pw; rw=$?; wait $pa; ra=$?
verify s1b-verify-w "$D" validation; vw=$?
echo "  S1b: A exit $ra ($(grep -o 'nothing published[^:]*\|PARTLY published' "$LOGS/s1b-a.err" | head -1)), W exit $rw; .sig holds [$(layers_named "$D")]; verify W: exit $vw" >&2
if [ $ra != 0 ] && has s1b-a "nothing published in either format" && [ $rw = 0 ] && [ $vw = 0 ]; then
	pass mark-refused-both-formats-loses-nothing; else fail mark-refused-both-formats-loses-nothing "A exit $ra, W exit $rw, verify W exit $vw"; fi
fi


# ---- S3: a take-back (--format=both) beside a concurrent signer --------
# X signed first. A (both) writes [X,A]; its tag list fails: A takes back,
# reading [X,A] and PUTting [X] (held 4 s). W meanwhile reads [X,A], writes
# [X,A,W], lists (all marks in what it wrote) and exits 0. A's [X] lands
# over it; A's check after the take-back (the marks, as a signer's after
# its PUT) must put W's signature back.
if want S3; then
D=$(push_image app s3 s3)
proxy s3-pre
sign s3-x qa cosign "$D"; wait $last_pid
proxy s3 "fail GET tags/list 503 0 1" "hold PUT $SIGPUT 4 0 1 ^(?!.*$KA)(?!.*$KW)"
sign s3-a build both "$D" --retries=0; pa=$last_pid
wait_log "$PLOG" "^RULE hold" || echo "  (hold not seen)" >&2
sign s3-w validation cosign "$D"; pw=$last_pid
wait $pw; rw=$?; wait $pa; ra=$?
verify s3-verify-w "$D" validation; vw=$?
echo "  S3: A exit $ra ($(grep -o 'nothing published[^:]*\|PARTLY published' "$LOGS/s3-a.err" | head -1)), W exit $rw; .sig holds [$(layers_named "$D")]; verify W: exit $vw" >&2
if [ $ra != 0 ] && [ $rw = 0 ] && [ $vw = 0 ] && has s3-a "putting its signature back"; then
	pass take-back-keeps-concurrent-signer; else fail take-back-keeps-concurrent-signer "A exit $ra, W exit $rw, verify W exit $vw"; fi
fi

# ---- known losses, not fixed yet (ATTACK_COSIGN_KNOWN=1 runs them; make
# check does not: they fail today). A writer that stops between its .sig
# PUT and its tag list (S2: the list fails) has no way to put back what
# its PUT dropped, so a concurrent signer that already exited 0 is lost; a
# concurrent signer that read the .sig before a take-back and writes after
# the take-back's check puts the taken-back signature back (S4).
known() { [ -n "${ATTACK_COSIGN_KNOWN:-}" ] && want "$1"; }
# ---- S2: the tag list fails after a landed overwrite (any path) --------
# X (qa) signed first. A reads [X]; its .sig PUT [X,A] is held until W has
# written [X,W] and listed (W sees no mark of A: A's mark PUT is held too).
# A's list then fails: A exits non-zero without the merge, W's is lost.
if known S2; then
D=$(push_image app s2 s2)
proxy s2-pre
sign s2-x qa cosign "$D"; wait $last_pid
proxy s2 "hold PUT sig\.$KA\$ 3 0 1" "hold PUT $SIGPUT 3 0 1 $KA" "fail GET tags/list 503 1 -1"
sign s2-a build cosign "$D" --retries=0; pa=$last_pid
wait_log "$PLOG" "^RULE hold" || echo "  (hold not seen)" >&2
sign s2-w validation cosign "$D"; pw=$last_pid
wait $pw; rw=$?; wait $pa; ra=$?
verify s2-verify-w "$D" validation; vw=$?
echo "  S2: A exit $ra, W exit $rw; .sig holds [$(layers_named "$D")]; verify W: exit $vw" >&2
if [ $rw = 0 ] && [ $vw != 0 ]; then fail S2-list-fails-after-overwrite-drops-successful-signer "W exited 0, its signature is gone"
else pass S2-list-fails-after-overwrite-drops-successful-signer; fi
fi

# ---- S4: a take-back is undone by a concurrent signer ------------------
# A (both) writes [X,A]; its tag list is held 3 s, then fails. W reads
# [X,A] meanwhile; W's .sig PUT [X,A,W] is held 6 s, past A's take-back.
# A reports "nothing published ... taken back"; A's signature verifies.
if known S4; then
D=$(push_image app s4 s4)
proxy s4-pre
sign s4-x qa cosign "$D"; wait $last_pid
proxy s4 "hold GET tags/list 3 0 1" "fail GET tags/list 503 0 1" "hold PUT $SIGPUT 6 0 1 $KW"
sign s4-a build both "$D" --retries=0; pa=$last_pid
wait_log "$PLOG" "^RULE hold 3.0 GET" || echo "  (hold not seen)" >&2
sign s4-w validation cosign "$D"; pw=$last_pid
wait $pw; rw=$?; wait $pa; ra=$?
verify s4-verify-a "$D" build; va=$?
echo "  S4: A exit $ra ($(grep -o 'nothing published[^:]*\|PARTLY published' "$LOGS/s4-a.err" | head -1)), W exit $rw; .sig holds [$(layers_named "$D")]; verify A: exit $va" >&2
if [ $ra != 0 ] && has s4-a "taken back" && [ $va = 0 ]; then
	fail S4-take-back-undone-by-concurrent-signer "A says taken back, its cosign signature verifies"
else pass S4-take-back-undone-by-concurrent-signer; fi
fi

# ---- S5: failure paths of a first signature, --format=both -------------
# what build-sign says and what is left (tags of the digest, DCT)
tags_of() { curl -s --cacert "$REGISTRY_CA" "https://$REGISTRY/v2/app/tags/list" | jq -r '.tags[]' | grep -c "sha256-${1#sha256:}"; }
dct_has() { curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$IMG/_trust/tuf/targets/build.json" | grep -q "${1#sha256:}"; }
s5() { # NAME EXPECTED-MESSAGE EXPECTED-TAGS RULE...
	local name=$1 msg=$2 tags=$3 D
	shift 3
	D=$(push_image app "$name" "$name")
	proxy "$name" "$@"
	sign "$name" build both "$D" --retries=0; wait $last_pid; local rc=$?
	local left; left=$(tags_of "$D")
	echo "  $name: exit $rc; $(grep -o 'nothing published[^:]*\|PARTLY published[^;]*' "$LOGS/$name.err" | head -1); tags left: $left ($(layers_named "$D")); DCT: $(dct_has "$D" && echo yes || echo no)" >&2
	if [ $rc != 0 ] && has "$name" "$msg" && [ "$left" = "$tags" ] && ! dct_has "$D"; then pass "$name"; else fail "$name"; fi
}
if want S5; then
s5 S5a-both-puts-fail "nothing published in either format" 0 "fail PUT $SIGPUT 503" "fail PUT sig\.$KA\$ 503"
s5 S5b-sig-put-fails "nothing published in either format (the cosign signature written was taken back)" 0 "fail PUT $SIGPUT 503"
s5 S5c-mark-put-fails "nothing published in either format (the cosign signature written was taken back)" 0 "fail PUT sig\.$KA\$ 503"
s5 S5d-tag-list-fails "nothing published in either format (the cosign signature written was taken back)" 0 "fail GET tags/list 503"
s5 S5e-take-back-fails "PARTLY published" 2 "fail GET tags/list 503" "fail DELETE manifests 503" "fail PUT sig\.$KA\$ 503 1"
fi

# ---- S6: no one fails, delays only: every signature must survive -------
s6() { # NAME RULE... : A starts, then (once the first rule fires) W and X together
	local name=$1 D
	shift
	D=$(push_image app "$name" "$name")
	proxy "$name" "$@"
	sign "$name-a" build cosign "$D"; local pa=$last_pid
	wait_log "$PLOG" "^RULE" 100 || echo "  ($name: no rule fired)" >&2
	sign "$name-w" validation cosign "$D"; local pw=$last_pid
	sign "$name-x" qa cosign "$D"; local px=$last_pid
	wait $pa; local ra=$?; wait $pw; local rw=$?; wait $px; local rx=$?
	verify "$name-va" "$D" build; local va=$?; verify "$name-vw" "$D" validation; local vw=$?; verify "$name-vx" "$D" qa; local vx=$?
	echo "  $name: exits $ra $rw $rx; .sig holds [$(layers_named "$D")]; verify $va $vw $vx; merges: $(cat "$LOGS/$name"-?.err | grep -c 'merging again')" >&2
	if [ "$ra$rw$rx" = 000 ] && [ "$va$vw$vx" = 000 ]; then pass "$name"; else fail "$name"; fi
}
if want S6; then
s6 S6a-mark-lands-late "hold PUT sig\.$KA\$ 3 0 1"
s6 S6b-sig-lands-late "hold PUT $SIGPUT 3 0 1 $KA"
s6 S6c-a-list-late "hold GET tags/list 3 0 1"
s6 S6d-every-put-slow "hold PUT sig\.[0-9a-f]{16}\$ 1.5" "hold PUT $SIGPUT 1 1"
s6 S6e-second-list-late "hold GET tags/list 2 1 1" "hold PUT sig\.$KW\$ 2 0 1"
fi

[ "$failures" = 0 ]
