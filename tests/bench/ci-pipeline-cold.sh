#!/usr/bin/env bash
# ci-pipeline COLD (issue 19's figure: under 5 minutes beyond package
# installation), as a PipelineRun on a fresh node starts: no image cache
# (the Debian + nodejs base image is made again from its prepared root file
# system, tar + gzip, as part of the run), no state directories (HOME,
# XDG_* and the work dirs are new and empty), no registry content (a new
# registry and notary on loopback), no trust data (dct-init-pipeline makes
# the signer keys first). Only the Debian base ROOT may exist beforehand
# (tests/servers/containerize-bases.sh node prepares it once; this bench
# never debootstraps: without it, it fails and says so).
#
# Runs .pipeline/run-local.sh (make demo) COLD_RUNS times (default 3), each
# from nothing; prints per run the wall time of each phase and of each
# ci-pipeline task (pipeline-run's durations), and the medians. No peer:
# Tekton needs a cluster; the figure is against the goal.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
rootfs=${CONTAINERIZE_NODE_ROOTFS:-$top/build/containerize/debian-node-rootfs}
if [ ! -x "$rootfs/usr/bin/node" ]; then
	echo "bench ci-pipeline cold: FAILED: no prepared Debian base root at $rootfs" \
		"(tests/servers/containerize-bases.sh node makes it once, with debootstrap; this bench never does;" \
		"CONTAINERIZE_NODE_ROOTFS names another)" >&2
	exit 1
fi
[ -x "$top/bin/pipeline-run" ] || { echo "bench ci-pipeline cold: FAILED: no $top/bin/pipeline-run (make all)" >&2; exit 1; }
goal=300
runs=${COLD_RUNS:-3}
w=$(mktemp -d /tmp/bench-ci-cold.XXXXXX)
chmod 755 "$w"
trap 'rm -rf "$w"' EXIT

# stamp: each line of stdin prefixed with the seconds since $1
stamp() { while IFS= read -r line; do printf '%s %s\n' "$(awk -v t0="$1" -v t="$EPOCHREALTIME" 'BEGIN { printf "%.2f", t - t0 }')" "$line"; done; }

totals=() ci_totals=()
for ((r = 1; r <= runs; r++)); do
	d=$w/run-$r
	mkdir -p "$d/home" "$d/cache" "$d/state" "$d/runtime" "$d/bases"
	chmod 700 "$d/runtime"
	t0=$EPOCHREALTIME
	HOME=$d/home XDG_CACHE_HOME=$d/cache XDG_STATE_HOME=$d/state XDG_RUNTIME_DIR=$d/runtime \
		CONTAINERIZE_BASES=$d/bases CONTAINERIZE_NODE_ROOTFS=$rootfs OUT=$d/out STOP_APP=1 BIN=$top/bin \
		bash "$top/.pipeline/run-local.sh" 2> >(stamp "$t0" >"$d/run.err") >"$d/run.out"
	rc=$?
	total=$(awk -v t0="$t0" -v t="$EPOCHREALTIME" 'BEGIN { printf "%.2f", t - t0 }')
	sleep 0.2 # the stamping of the last stderr lines
	status=$d/out/ci-pipelinerun.json
	reason=$(jq -r .reason "$status" 2>/dev/null)
	# Completed: succeeded with a skipped finally task (Tekton's reason)
	if [ "$rc" != 0 ] || { [ "$reason" != Succeeded ] && [ "$reason" != Completed ]; }; then
		echo "bench ci-pipeline cold: FAILED: run $r exit $rc ($(jq -r '.reason + ": " + .message' "$status" 2>/dev/null));" \
			"last lines: $(tail -4 "$d/run.err" | tr '\n' ' ')"
		exit 1
	fi
	# phases: from one "== name" marker of run-local.sh to the next
	awk '/^[0-9.]+ == / { t = $1; $1 = ""; $2 = ""; sub(/^  /, ""); if (name != "") printf "  phase %-50s %7.2f s\n", name, t - last; name = $0; last = t }
		END { }' "$d/run.err"
	ci_start=$(awk '/^[0-9.]+ == ci-pipeline$/ { print $1 }' "$d/run.err")
	printf '  phase %-50s %7.2f s\n' "ci-pipeline (to the end of the run)" "$(awk -v a="$ci_start" -v b="$total" 'BEGIN { printf "%.2f", b - a }')"
	jq -r '(.tasks + .finally)[] | "  task  \(.name) \(.reason) \(((.durationMs // 0) / 10 | round) / 100)"' "$status" |
		awk '{ printf "  task  %-30s %-22s %7.2f s\n", $2, $3, $4 }'
	ci=$(jq -r '(.durationMs // 0) / 1000' "$status")
	printf 'bench ci-pipeline cold run %d: ci-pipeline %.2f s (PipelineRun), whole cold run %.2f s (servers, keys, base image, ci-pipeline)\n' \
		"$r" "$ci" "$total"
	totals+=("$total")
	ci_totals+=("$ci")
done
med=$(median "${totals[@]}") ci_med=$(median "${ci_totals[@]}")
awk -v c="$ci_med" -v t="$med" -v g="$goal" -v n="$runs" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
	printf "bench ci-pipeline cold: median of %d: ci-pipeline %.2f s, whole cold run %.2f s, goal < %d s: %s (under load: load average %s)\n",
		n, c, t, g, (t < g ? "ok" : "OVER"), load }'
