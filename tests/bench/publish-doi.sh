#!/usr/bin/env bash
# publish-doi figures (issue 18), release binaries, file vault:
#   local:    publish one record to the local evidence store (goal < 5 ms;
#             every run writes a new record: ECDSA signatures are
#             randomized, so each envelope is new content)
#   registry: publish one record as the first attestation of a new digest
#             to docker-registry (TLS + basic auth) vs `skopeo copy` of an
#             equally small image (one layer of the envelope's size) from
#             an OCI layout to a new repository of the same registry; both
#             through the same one-line wrapper, alternated in each round
#             (goal: at most 0.5x skopeo)
#   evaluate: a 5-rule policy over 1,000 records of one digest, each
#             rule's record verified (newest first, lazily; goal < 100 ms)
# Medians (hyperfine), user+sys CPU, and peak RSS (GNU time). The machine
# is shared: the load average is printed, figures are "under load".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
B=${PIPELINE_STATIC_BIN:-$root/bin}
W=$(mktemp -d /tmp/publish-doi-bench.XXXXXX)
cleanup() { set +e; "$root/tests/servers/registry.sh" stop "$W/reg" >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT
hex() { printf %s "$1" | sha256sum | cut -c1-64; }
VAULT=(--keystore-dir="$W/ks" --passphrase=bench-passphrase)
"$B/signer-key" --action=create --name=build "${VAULT[@]}" >/dev/null 2>&1
D=sha256:$(hex bench-image)
IMG=reg.example/app
echo "bench publish-doi: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

# hyperfine's median, and mean user+sys CPU, of one command (a string)
hf() { # VAR runs cmd
	local json
	json=$(mktemp)
	hyperfine -N --warmup 3 --runs "$2" --export-json "$json" "$3" >/dev/null 2>&1
	printf -v "$1_time" '%s' "$(jq -r '.results[0].median' "$json")"
	printf -v "$1_cpu" '%s' "$(jq -r '.results[0].user + .results[0].system' "$json")"
	rm -f "$json"
}
# peak RSS (KB, median of 3) of a command
rss() { # VAR cmd...
	local var=$1 tf r=()
	shift
	tf=$(mktemp)
	for _ in 1 2 3; do /usr/bin/time -f %M -o "$tf" "$@" >/dev/null 2>&1; r+=("$(tail -1 "$tf")"); done
	rm -f "$tf"
	printf -v "$var" '%s' "$(median "${r[@]}")"
}
goal() { # what seconds limit_seconds cpu rss
	awk -v w="$1" -v t="$2" -v l="$3" -v c="$4" -v r="$5" 'BEGIN {
		printf "bench %s: %.2f ms (goal < %g ms: %s), CPU %.2f ms, peak RSS %d KB\n",
			w, t * 1000, l * 1000, (t < l ? "met" : "NOT met"), c * 1000, r }'
}

# ---- one record to the local store ------------------------------------
local_cmd="$B/publish-doi publish --store-dir=$W/local --image=$IMG@$D --signer=build ${VAULT[*]} --kind=deploy --environment=prod --status=success"
hf loc "${HYPERFINE_RUNS:-50}" "$local_cmd"
rss loc_rss $local_cmd
goal "publish one record to the local store (median of ${HYPERFINE_RUNS:-50})" "$loc_time" 0.005 "$loc_cpu" "$loc_rss"
# the disk's own floor for a durable write, nothing signed: one process
# writing a file of the envelope's size and fsyncing it (dd conv=fsync);
# the store's record needs that fsync and its directory's (wall time on a
# loaded disk is mostly these, not our CPU)
floor_size=$(stat -c %s "$(ls "$W/local/blobs/"* | head -1)")
hf floor "${HYPERFINE_RUNS:-50}" "dd if=/dev/zero of=$W/floor bs=$floor_size count=1 conv=fsync status=none"
awk -v t="$floor_time" -v c="$floor_cpu" -v o="$loc_time" 'BEGIN {
	printf "bench the disk'"'"'s durability floor (dd conv=fsync of one file, median): %.2f ms wall, CPU %.2f ms; the local publish is %.2f ms above it\n",
		t * 1000, c * 1000, (o - t) * 1000 }'

# ---- evaluate over 1,000 records --------------------------------------
E=$W/eval
n=$(ls "$W/local/index/sha256-${D#sha256:}" | wc -l)
cp -a "$W/local" "$E"
JUNIT=$W/junit.xml
printf '<testsuite tests="1"><testcase classname="a" name="b"/></testsuite>\n' >"$JUNIT"
printf '{"vulnerabilities":[{"id":"CVE-1","severity":"low"}]}\n' >"$W/va.json"
kinds=("--kind=test --file=$JUNIT --filetype=unittest" "--kind=test --file=$W/va.json --filetype=vulnerabilityadvisor"
	"--kind=build --builder-id=https://tekton.dev/chains/v2 --git-repository=https://git.example/app.git --git-branch=main --git-commit=0123456789abcdef0123456789abcdef01234567"
	"--kind=deploy --environment=prod --status=success")
i=0
while [ "$n" -lt 1000 ]; do
	# shellcheck disable=SC2086
	"$B/publish-doi" publish --store-dir="$E" --image="$IMG@$D" --signer=build "${VAULT[@]}" ${kinds[$((i % 4))]} >/dev/null 2>&1 &
	"$B/publish-doi" publish --store-dir="$E" --image="$IMG@$D" --signer=build "${VAULT[@]}" ${kinds[$(((i + 1) % 4))]} >/dev/null 2>&1
	wait
	i=$((i + 2))
	n=$(ls "$E/index/sha256-${D#sha256:}" | wc -l)
done
printf 'tests-passed unittest\nmax-vulnerabilities critical 0\nmax-vulnerabilities high 0\nbuilt-from-branch main\ndeployed-to prod\n' >"$W/policy"
eval_cmd="$B/publish-doi evaluate --store-dir=$E --image=$IMG@$D --trusted-keys=build=$W/ks/build.pub --policy=$W/policy"
$eval_cmd >"$W/eval.out" 2>&1 || { echo "bench: evaluate does not pass on the bench data:" >&2; cat "$W/eval.out" >&2; exit 1; }
records=$("$B/publish-doi" list --store-dir="$E" --image="$IMG@$D" --trusted-keys=build="$W/ks/build.pub" | grep -c '^VALID')
hf ev "${HYPERFINE_RUNS:-20}" "$eval_cmd"
rss ev_rss $eval_cmd
goal "evaluate a 5-rule policy over $records verified records (median of ${HYPERFINE_RUNS:-20})" "$ev_time" 0.1 "$ev_cpu" "$ev_rss"

# ---- one record to the registry vs skopeo copy --------------------------
"$root/tests/servers/registry.sh" start "$W/reg" htpasswd >/dev/null 2>&1
. "$W/reg/env"
env_size=$(stat -c %s "$(ls "$W/local/blobs/"* | head -1)")
python3 "$root/tests/servers/registry-fixtures.py" image "$W/small" v1 --layers 1 --size "$env_size" >/dev/null
echo "# registry $REGISTRY (TLS, htpasswd); envelope $env_size bytes; skopeo's image: $(cat "$W"/small/blobs/sha256/* | wc -c) bytes in $(ls "$W/small/blobs/sha256" | wc -l) blobs"
echo 0 >"$W/n"
cat >"$W/reg-ours" <<SH
#!/bin/sh
n=\$(cat $W/n); echo \$((n + 1)) >$W/n
exec $B/publish-doi publish --store=registry --image=$REGISTRY/bench/app@sha256:\$(printf %s "\$n" | sha256sum | cut -c1-64) --signer=build ${VAULT[*]} --registry-ca=$REGISTRY_CA --registry-creds=$REGISTRY_USER:$REGISTRY_PASS --kind=deploy --environment=prod --status=success
SH
cat >"$W/reg-skopeo" <<SH
#!/bin/sh
n=\$(cat $W/n); echo \$((n + 1)) >$W/n
rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb \$HOME/.local/share/containers/cache/blob-info-cache-v1.boltdb
exec skopeo copy -q --dest-cert-dir $REGISTRY_CERT_DIR --dest-creds $REGISTRY_USER:$REGISTRY_PASS oci:$W/small:v1 docker://$REGISTRY/bench/skopeo-\$n:v1
SH
chmod +x "$W/reg-ours" "$W/reg-skopeo"
"$W/reg-ours" >/dev/null 2>&1 || { echo "bench: publish to the registry fails" >&2; exit 1; }
"$W/reg-skopeo" >/dev/null 2>&1 || { echo "bench: skopeo copy fails" >&2; exit 1; }
HYPERFINE_RUNS=${HYPERFINE_RUNS_REG:-10} paired_median reg "$W/reg-ours" "$W/reg-skopeo"
rss reg_ours_rss "$W/reg-ours"
rss reg_peer_rss "$W/reg-skopeo"
report "publish one record to the registry vs skopeo copy of a ${env_size}-byte image (median round of ${ROUNDS:-5}; per-round ratios $reg_ratios; goal <= 0.5x)" \
	"$reg_ours" "$reg_peer" "$reg_ours_rss" "$reg_peer_rss" skopeo
