#!/usr/bin/env bash
# deploy against kubectl (Debian trixie's 1.32), same emulator
# (tests/servers/k8s.sh, rollouts complete at once), same manifests (the
# sample app: a Deployment and a Service), same run.
#
# Ours: bin/deploy of a digest signed by two signers: the signature gate
# (DCT, verified from the real notary-server), server-side apply of the
# namespace and each object, the rollout wait by watch. Peer: `kubectl
# apply --server-side -f` then `kubectl rollout status` (one shell), its
# discovery cache warm (kept in its HOME between runs). Rounds alternate
# the two (lib.sh paired_median). Figure: ours at most 0.5x the peer.
# A reference row: ours with the gate from a trust data directory.
# Peak RSS: ours vs the larger of the two kubectl processes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
B=${PIPELINE_STATIC_BIN:-$root/bin}
W=$(mktemp -d /tmp/deploy-bench.XXXXXX)
. "$root/tests/servers/signed-images.sh"
cleanup() { set +e; signed_images_stop; "$root/tests/servers/k8s.sh" stop "$W/k8s" >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT
KUBECTL=${KUBECTL:-$("$root/tests/servers/trixie-bin.sh" "$root/build" kubectl kubectl)}
signed_images_start "$W/signed" "$B" || { tail -5 "$W/signed/signed-images.log" >&2; exit 1; }
"$root/tests/servers/k8s.sh" start "$W/k8s" >/dev/null
. "$W/k8s/env"

# the sample app, pinned for kubectl as deploy would pin it
sed "s|registry.local/hello/hello-secure-app@sha256:0*|$IMG:v0|" "$root/examples/app/deployment.yml" >"$W/app.yaml"
sed "s|$IMG:v0|$IMG@$D1|" "$W/app.yaml" >"$W/app-pinned.yaml"
mkdir -p "$W/home" "$W/trust/targets"
for r in root timestamp snapshot targets targets/build targets/validation targets/releases; do
	curl -sf --cacert "$NOTARY_CA" "$NOTARY_URL/v2/$IMG/_trust/tuf/$r.json" -o "$W/trust/$r.json" || true
done
ours="$B/deploy --manifests=$W/app.yaml --image=$IMG@$D1 --kubeconfig=$K8S_KUBECONFIG --signers=build --signers=validation"
ours_notary="$ours --notary-server=$NOTARY_URL --notary-ca=$NOTARY_CA"
ours_offline="$ours --trust-data-dir=$W/trust"
cat >"$W/kubectl.sh" <<EOF
#!/bin/sh
set -e
export HOME=$W/home KUBECONFIG=$K8S_KUBECONFIG
$KUBECTL apply --server-side -f $W/app-pinned.yaml >/dev/null
$KUBECTL rollout status -n hello deployment/hello-secure-app --timeout=60s >/dev/null
EOF
chmod +x "$W/kubectl.sh"
# both must work before they are timed
$ours_notary >/dev/null 2>&1 || { echo "deploy failed: $($ours_notary 2>&1 | tail -2)" >&2; exit 1; }
$ours_offline >/dev/null 2>&1 || { echo "deploy (trust data dir) failed" >&2; exit 1; }
"$W/kubectl.sh" || { echo "kubectl failed" >&2; exit 1; }
echo "# $("$KUBECTL" version --client 2>/dev/null | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg)"

HYPERFINE_RUNS=${HYPERFINE_RUNS:-10} paired_median d "$ours_notary" "$W/kubectl.sh"
measure o $ours_notary
export HOME=$W/home KUBECONFIG=$K8S_KUBECONFIG
measure ka "$KUBECTL" apply --server-side -f "$W/app-pinned.yaml"
measure kr "$KUBECTL" rollout status -n hello deployment/hello-secure-app --timeout=60s
krss=$((ka_rss > kr_rss ? ka_rss : kr_rss))
report "deploy (gate via notary-server + apply + rollout) vs kubectl apply --server-side + rollout status (target <= 0.50x)" \
	"$d_ours" "$d_peer" "$o_rss" "$krss" kubectl
echo "#   rounds' ratios: $d_ratios"
HYPERFINE_RUNS=${HYPERFINE_RUNS:-10} paired_median t "$ours_offline" "$W/kubectl.sh"
measure oo $ours_offline
report "deploy (gate via trust data dir) vs the same kubectl pair (reference)" "$t_ours" "$t_peer" "$oo_rss" "$krss" kubectl
