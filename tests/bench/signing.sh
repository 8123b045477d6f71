#!/usr/bin/env bash
# Signing against the notary CLI, same servers (notary-server + signer and
# docker-registry on loopback), same run.
#
# Headline (how the tasks run: every pipeline run signs a new digest, and
# a Tekton pod starts with no state dir):
#   sign:   build-sign --format=both of a NEW digest each round, no state
#           dir (DCT into targets/build + releases, and a cosign signature
#           uploaded to the registry) vs `notary add -r targets/build` +
#           `notary publish` of a new target (notary keeps its trust dir).
#           Both servers keep their data in memory, as notary.sh's
#           notary-server does (the registry with docker-registry's
#           inmemory driver); the same rounds against a registry storing on
#           disk (the filesystem driver, about 55 fsyncs per signing) follow
#           as a reference row;
#   verify: verify-signatures for two signers, no state dir, vs `notary
#           list` (warm: its trust dir caches the repository).
#   Ours and notary alternate, round by round; the medians of the rounds,
#   their ratio, every round's ratio and the median peak RSS are printed.
#   Figures: both at most 0.5x notary.
# Reference rows follow (same-digest re-signs, warm state dirs).
# BENCH_HEADLINE_ONLY=1 stops after the headline rows.
# The load average is printed: the machine is shared.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
B=${PIPELINE_STATIC_BIN:-$root/bin}
W=$(mktemp -d /tmp/signing-bench.XXXXXX)
. "$root/tests/servers/notary.sh"
cleanup() { set +e; notary_stop; for r in reg regmem; do "$root/tests/servers/registry.sh" stop "$W/$r" >/dev/null 2>&1; done; rm -rf "$W"; }
trap cleanup EXIT
[ -n "${BENCH_KEEP:-}" ] && { echo "$W" >"$BENCH_KEEP"; trap - EXIT; }
notary_start "$W/notary" >/dev/null
TEST_REGISTRY_STORAGE=inmemory "$root/tests/servers/registry.sh" start "$W/regmem" none >/dev/null 2>&1
"$root/tests/servers/registry.sh" start "$W/reg" none >/dev/null 2>&1
. "$W/reg/env"

export NOTARY_ROOT_PASSPHRASE=bench-root NOTARY_TARGETS_PASSPHRASE=bench-targets \
	NOTARY_SNAPSHOT_PASSPHRASE=bench-snap NOTARY_DELEGATION_PASSPHRASE=bench-deleg
N="notary -s $NOTARY_URL -d $W/ntrust --tlscacert $NOTARY_CA"
VAULT="--keystore-dir=$W/ks --passphrase=bench-passphrase"
for s in build validation; do "$B/signer-key" --action=create --name=$s $VAULT >/dev/null 2>&1; done

# images in the registry to sign: push_image TAG LABEL -> manifest digest
# (the manifest itself is left in $W/manifest-TAG.json)
push_image() {
	local tag=$1 cfg="{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"Labels\":{\"l\":\"$2\"}}}"
	local cd=sha256:$(printf %s "$cfg" | sha256sum | cut -c1-64) loc m
	loc=$(curl -sS --cacert "$REGISTRY_CA" -X POST -D - "https://$REGISTRY/v2/app/blobs/uploads/" -o /dev/null | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
	case $loc in http*) ;; *) loc=https://$REGISTRY$loc ;; esac
	printf %s "$cfg" | curl -fsS --cacert "$REGISTRY_CA" -X PUT -H "Content-Type: application/octet-stream" --data-binary @- "$loc&digest=$cd" -o /dev/null
	m="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":${#cfg},\"digest\":\"$cd\"},\"layers\":[]}"
	printf %s "$m" | curl -sS --cacert "$REGISTRY_CA" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary @- "https://$REGISTRY/v2/app/manifests/$tag" -o /dev/null
	printf %s "$m" >"$W/manifest-$tag.json"
	echo "sha256:$(printf %s "$m" | sha256sum | cut -c1-64)"
}
# a repository of the current registry with its trust (dct-init) and v1
# signed by both signers: sets IMG and D (v1's digest)
setup_repo() {
	D=$(push_image v1 bench)
	IMG=$REGISTRY/app
	"$B/dct-init" --image="$IMG" --notary-server="$NOTARY_URL" --notary-ca="$NOTARY_CA" $VAULT \
		--signers=build --signers=validation >/dev/null 2>&1
	local s
	for s in build validation; do
		"$B/build-sign" --image="$IMG:v1@$D" --signer=$s $VAULT --notary-server="$NOTARY_URL" \
			--notary-ca="$NOTARY_CA" --registry-ca="$REGISTRY_CA" >/dev/null
	done
}
# the registry storing in memory first, then the one on disk (the rest of
# the bench uses it)
. "$W/regmem/env"
setup_repo
. "$W/reg/env"
setup_repo
m=$(cat "$W/manifest-v1.json")

# the notary CLI's own repository with a delegated signer, same target size
G2=$REGISTRY/peer
printf %s "$m" >"$W/manifest.json"
(cd "$W" && $N init "$G2" && $N key generate ecdsa --role targets/build -o pb && $N delegation add "$G2" targets/build pb.pem --all-paths &&
	grep -v '^role:' pb-key.pem | openssl pkey -passin env:NOTARY_DELEGATION_PASSPHRASE -out pb.key &&
	$N key import pb.key --role targets/build && $N key rotate "$G2" snapshot -r && $N publish "$G2") >/dev/null 2>&1

# ---- headline ---------------------------------------------------------
# CPU time, to show where a round's time goes: the servers share this
# machine's cores with the client. children_cpu_ms: user + system ms of
# this shell's waited-for children so far (getrusage, via `times`);
# servers_cpu_ms PID...: the same of running servers (clock ticks of
# /proc/PID/stat, so read as a sum over all rounds)
# (`times` runs in this shell, its output to a file: a subshell has
# children of its own, and is itself one)
children_cpu_ms() {
	tail -1 "$1" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%.3f", s * 1000 }'
}
tick_ms=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN { print 1000 / t }')
servers_cpu_ms() {
	local p s=0
	for p in "$@"; do s=$((s + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
	awk -v s="$s" -v t="$tick_ms" 'BEGIN { printf "%.3f", s * t }'
}
# timed VAR_t VAR_rss cmd...: wall time ($EPOCHREALTIME, both sides alike)
# and peak RSS (GNU time) of one run; adds its CPU time (the command's,
# and each server's of CPU_PIDS_<name> while it ran) to the CPU_SUM_<VAR_t>
# totals that cpu_report prints
timed() {
	local tv=$1 rv=$2 t0 t1 tf c0 c1 n s0=() s1=() i=0
	shift 2
	tf=$(mktemp)
	for n in $CPU_SERVERS; do local -n pids=CPU_PIDS_$n; s0+=("$(servers_cpu_ms $pids)"); done
	times >"$W/times0"
	t0=$EPOCHREALTIME
	/usr/bin/time -f %M -o "$tf" "$@" >/dev/null 2>&1 || echo "# warning: $* failed" >&2
	t1=$EPOCHREALTIME
	times >"$W/times1"
	c0=$(children_cpu_ms "$W/times0") c1=$(children_cpu_ms "$W/times1")
	for n in $CPU_SERVERS; do local -n pids=CPU_PIDS_$n; s1+=("$(servers_cpu_ms $pids)"); done
	printf -v "$tv" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
	printf -v "$rv" '%s' "$(tail -1 "$tf")"
	rm -f "$tf"
	declare -p "CPU_SUM_$tv" >/dev/null 2>&1 || declare -gA "CPU_SUM_$tv=()"
	local -n sums=CPU_SUM_$tv
	sums[client]=$(awk -v a="${sums[client]:-0}" -v b="$c0" -v c="$c1" 'BEGIN { print a + c - b }')
	for n in $CPU_SERVERS; do
		sums[$n]=$(awk -v a="${sums[$n]:-0}" -v b="${s0[$i]}" -v c="${s1[$i]}" 'BEGIN { print a + c - b }')
		i=$((i + 1))
	done
	sums[rounds]=$((${sums[rounds]:-0} + 1))
}
# cpu_report WHAT VAR_t CLIENT_NAME: the mean CPU per round of the client
# and of each server, their sum, and that sum spread over every core (the
# least wall time the round could take here)
cpu_report() {
	local -n sums=CPU_SUM_$2
	local n line total
	line="client ($3) $(awk -v a="${sums[client]}" -v r="${sums[rounds]}" 'BEGIN { printf "%.1f", a / r }') ms"
	total=${sums[client]}
	for n in $CPU_SERVERS; do
		line="$line + $n $(awk -v a="${sums[$n]}" -v r="${sums[rounds]}" 'BEGIN { printf "%.1f", a / r }') ms"
		total=$(awk -v a="$total" -v b="${sums[$n]}" 'BEGIN { print a + b }')
	done
	awk -v w="$1" -v l="$line" -v t="$total" -v r="${sums[rounds]}" -v c="$(nproc)" 'BEGIN {
		printf "bench %s, CPU per round (mean of %d): %s = %.1f ms; over %d cores: at least %.1f ms of wall time\n", w, r, l, t / r, c, t / r / c }'
	unset "CPU_SUM_$2"
}
# headline_row WHAT OURS_TIMES OURS_RSS PEER_TIMES PEER_RSS (space-separated)
headline_row() {
	local ratios
	ratios=$(paste -d' ' <(tr ' ' '\n' <<<"$2") <(tr ' ' '\n' <<<"$4") | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $2 }')
	report "$1 (median of ${#ours_t[@]} alternated rounds; per-round ratios $ratios)" \
		"$(median $2)" "$(median $4)" "$(median $3)" "$(median $5)" "${6:-notary}"
}
echo "bench signing: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
# sign_rounds REGDIR PREFIX: FRESH_RUNS alternated rounds, a new digest
# each, against the registry of REGDIR; fills ours_* and peer_*
sign_rounds() {
	. "$1/env"
	local img=$REGISTRY/app i Di
	ours_t=() ours_r=() peer_t=() peer_r=()
	CPU_PIDS_registry=$REGISTRY_PID
	for ((i = 0; i < ${FRESH_RUNS:-11}; i++)); do
		Di=$(push_image "$2$i" "headline-$2-$i-$RANDOM")
		if ((i % 2)); then
			timed pt pr sh -c "$N add $G2 $2$i $W/manifest-$2$i.json -r targets/build && $N publish $G2"
			timed ot or "$B/build-sign" --image="$img:$2$i@$Di" --signer=build $VAULT --notary-server="$NOTARY_URL" \
				--notary-ca="$NOTARY_CA" --registry-ca="$REGISTRY_CA" --format=both
		else
			timed ot or "$B/build-sign" --image="$img:$2$i@$Di" --signer=build $VAULT --notary-server="$NOTARY_URL" \
				--notary-ca="$NOTARY_CA" --registry-ca="$REGISTRY_CA" --format=both
			timed pt pr sh -c "$N add $G2 $2$i $W/manifest-$2$i.json -r targets/build && $N publish $G2"
		fi
		ours_t+=("$ot") ours_r+=("$or") peer_t+=("$pt") peer_r+=("$pr")
	done
}
CPU_PIDS_notary=$NOTARY_PIDS
CPU_SERVERS="registry notary"
sign_rounds "$W/regmem" h
headline_row "HEADLINE sign both formats of a new digest, no state dir, vs notary add+publish of a new target (registry and notary-server storing in memory)" \
	"${ours_t[*]}" "${ours_r[*]}" "${peer_t[*]}" "${peer_r[*]}"
cpu_report "sign both formats of a new digest (registry in memory), ours" ot build-sign
cpu_report "sign both formats of a new digest (registry in memory), notary" pt "notary add+publish"
sign_rounds "$W/reg" d
headline_row "sign both formats of a new digest, no state dir, vs notary add+publish of a new target (registry storing on disk, notary-server in memory)" \
	"${ours_t[*]}" "${ours_r[*]}" "${peer_t[*]}" "${peer_r[*]}"
unset CPU_SUM_ot CPU_SUM_pt
CPU_SERVERS=notary
IMG=$REGISTRY/app
ours_verify="$B/verify-signatures --image=$IMG@$D --signers=build=$W/ks/build.pub --signers=validation=$W/ks/validation.pub --notary-server=$NOTARY_URL --notary-ca=$NOTARY_CA"
$ours_verify >/dev/null 2>&1 || { echo "bench: verify-signatures does not pass on the bench data" >&2; exit 1; }
peer_verify="$N list $IMG"
$peer_verify >/dev/null 2>&1 # warm: notary's trust dir holds the repository
ours_t=() ours_r=() peer_t=() peer_r=()
for ((i = 0; i < ${VERIFY_ROUNDS:-21}; i++)); do
	if ((i % 2)); then
		timed pt pr $peer_verify
		timed ot or $ours_verify
	else
		timed ot or $ours_verify
		timed pt pr $peer_verify
	fi
	ours_t+=("$ot") ours_r+=("$or") peer_t+=("$pt") peer_r+=("$pr")
done
headline_row "HEADLINE verify two signers, no state dir, vs notary list" \
	"${ours_t[*]}" "${ours_r[*]}" "${peer_t[*]}" "${peer_r[*]}"
cpu_report "verify two signers, ours" ot verify-signatures
cpu_report "verify two signers, notary" pt "notary list"
CPU_SERVERS=
[ -n "${BENCH_HEADLINE_ONLY:-}" ] && exit 0

# ---- reference rows ---------------------------------------------------
# the cosign half alone against the reference client: cosign 2.5 (Debian
# trixie's, an oracle: tests/servers/trixie-bin.sh) `cosign sign --key
# --tlog-upload=false` of a new digest vs build-sign --format=cosign, both
# into the registry storing in memory, alternated
if C=$("$root/tests/servers/trixie-bin.sh" "$root/build" cosign cosign 2>/dev/null); then
	(cd "$W" && COSIGN_PASSWORD=bench-cosign "$C" generate-key-pair >/dev/null 2>&1)
	. "$W/regmem/env"
	ours_t=() ours_r=() peer_t=() peer_r=()
	for ((i = 0; i < ${COSIGN_RUNS:-7}; i++)); do
		Di=$(push_image "c$i" "cosign-ours-$i-$RANDOM") Dj=$(push_image "k$i" "cosign-peer-$i-$RANDOM")
		timed ot or "$B/build-sign" --image="$REGISTRY/app:c$i@$Di" --signer=build $VAULT --registry-ca="$REGISTRY_CA" \
			--format=cosign
		timed pt pr env SSL_CERT_FILE="$REGISTRY_CA" COSIGN_PASSWORD=bench-cosign "$C" sign --key "$W/cosign.key" \
			--tlog-upload=false --yes "$REGISTRY/app@$Dj"
		ours_t+=("$ot") ours_r+=("$or") peer_t+=("$pt") peer_r+=("$pr")
	done
	headline_row "sign cosign format only, a new digest, vs cosign 2.5 sign --key --tlog-upload=false (registry in memory)" \
		"${ours_t[*]}" "${ours_r[*]}" "${peer_t[*]}" "${peer_r[*]}" cosign
	. "$W/reg/env"
else
	echo "bench signing: cosign 2.5 (trixie) could not be fetched: the row against cosign sign is left out"
fi
ours_sign="$B/build-sign --image=$IMG:v1@$D --signer=build $VAULT --notary-server=$NOTARY_URL --notary-ca=$NOTARY_CA --registry-ca=$REGISTRY_CA --format=both"
peer_sign="$N add $G2 v1 $W/manifest.json -r targets/build && $N publish $G2"
echo "$peer_sign" >"$W/peer-sign.sh"
# warm, as notary's trust dir is: the state dir holds what the last run saw
ours_sign_warm="$ours_sign --trust-state-dir=$W/sstate"
$ours_sign_warm >/dev/null 2>&1
echo "bench signing: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
HYPERFINE_RUNS=${SIGN_RUNS:-10} paired_median sign "$ours_sign_warm" "sh $W/peer-sign.sh"
ours_st=$sign_ours peer_st=$sign_peer
measure ours_s $ours_sign_warm
measure peer_s sh "$W/peer-sign.sh"
report "sign both formats + push, both warm (ours --trust-state-dir, notary its trust dir; the median of ${ROUNDS:-5} alternated rounds of ${SIGN_RUNS:-10}, ratios $sign_ratios) vs notary add+publish" "$ours_st" "$peer_st" "$ours_s_rss" "$peer_s_rss" notary

# the same work as the peer: DCT only; and ours cold (no state dir: every role fetched)
HYPERFINE_RUNS=${SIGN_RUNS:-15} hyperfine_median ours_dt "${ours_sign_warm/--format=both/--format=dct}"
report "sign DCT only, warm, vs notary add+publish (hyperfine median of ${SIGN_RUNS:-15})" "$ours_dt" "$peer_st" "" "" notary
HYPERFINE_RUNS=${SIGN_RUNS:-15} hyperfine_median ours_sc "$ours_sign"
report "sign both formats + push, ours cold (no state dir) vs notary add+publish warm" "$ours_sc" "$peer_st" "" "" notary

ours_warm="$ours_verify --trust-state-dir=$W/vstate"
$ours_warm >/dev/null 2>&1 # warm: the state dir holds root and the role cache
HYPERFINE_RUNS=${HYPERFINE_RUNS:-30} paired_median verify "$ours_warm" "$peer_verify"
ours_vw=$verify_ours peer_v=$verify_peer
HYPERFINE_RUNS=${HYPERFINE_RUNS:-30} hyperfine_median ours_v "$ours_verify"
measure ours_vm $ours_warm
measure peer_vm $peer_verify
report "verify two signers, both warm (ours --trust-state-dir cache, notary its trust dir; the median of ${ROUNDS:-5} alternated rounds of ${HYPERFINE_RUNS:-30}, ratios $verify_ratios) vs notary list" "$ours_vw" "$peer_v" "$ours_vm_rss" "$peer_vm_rss" notary
report "verify two signers, ours cold (no state dir: all roles fetched) vs notary list warm" "$ours_v" "$peer_v" "" "" notary
# trust from a whole bundle, as a task image carries it (SSL_CERT_FILE: the
# system bundle plus the notary CA): anchors are looked up by subject, not
# all decoded up front
cat /etc/ssl/certs/ca-certificates.crt "$NOTARY_CA" >"$W/bundle.pem"
ours_bundle="${ours_warm/--notary-ca=$NOTARY_CA/}"
SSL_CERT_FILE=$W/bundle.pem $ours_bundle >/dev/null 2>&1 || echo "# warning: verify with the bundle failed" >&2
SSL_CERT_FILE=$W/bundle.pem HYPERFINE_RUNS=${HYPERFINE_RUNS:-30} hyperfine_median ours_vb "$ours_bundle"
report "verify two signers, warm, CA from a $(grep -c BEGIN "$W/bundle.pem")-certificate bundle (SSL_CERT_FILE) vs notary list" "$ours_vb" "$peer_v" "" "" notary
echo "bench signing: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
