#!/usr/bin/env bash
# pipeline-run: the runner's own cost per TaskRun, an empty Task (one step
# running a static program that exits 0), median of many runs (hyperfine).
# Figures: direct < 5 ms; crun (a container per step: bundle, namespaces,
# seccomp, read-only root) < 100 ms. No peer: Tekton needs a cluster; the
# figure is against the goal of issue 14.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ours=$here/../../bin/pipeline-run
w=$(mktemp -d /tmp/bench-pipeline-run.XXXXXX)
chmod 755 "$w"
trap 'rm -rf "$w"' EXIT

mkdir -p "$w/root/etc"
printf 'int main(void) { return 0; }\n' >"$w/noop.c"
gcc -static -O2 -o "$w/root/noop" "$w/noop.c"
cat >"$w/empty.yaml" <<'YAML'
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: empty
spec:
  steps:
    - name: noop
      image: example.com/noop:1
      command: ["/noop"]
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
        seccompProfile:
          type: RuntimeDefault
YAML
# run_goal what goal_ms runs cmd: the median wall time against the goal,
# and the CPU time (user + system, mean) that a busy machine does not
# inflate the way it inflates wall time (the load average is printed too)
run_goal() {
	local json
	json=$(mktemp)
	hyperfine -N --warmup 5 --runs "$3" --export-json "$json" "$4" >/dev/null 2>&1
	jq -r --arg w "$1" --argjson g "$2" --arg load "$(cut -d' ' -f1 /proc/loadavg)" '.results[0] |
		"bench \($w): \(.median * 1000 * 100 | round / 100) ms wall (median of \(.times | length)), " +
		"\((.user + .system) * 1000 * 100 | round / 100) ms CPU (user+sys, mean), goal < \($g) ms wall: " +
		(if .median * 1000 < $g then "ok" else "OVER" end) + " (load average \($load))"' "$json"
	rm -f "$json"
}
direct="$ours taskrun -f $w/empty.yaml --work-dir=$w --image-map example.com/noop:1=$w/root/noop"
"$ours" taskrun -f "$w/empty.yaml" --work-dir="$w" --image-map "example.com/noop:1=$w/root/noop" >/dev/null
run_goal "pipeline-run empty TaskRun, direct" 5 "${HYPERFINE_RUNS:-200}" "$direct"
# where the time goes: the same TaskRun read, checked and made into its Pod
# (YAML, Tekton's and Kubernetes' rules), nothing created or run; and the
# start of our static binary alone
run_goal "pipeline-run empty TaskRun, checks only (--print-pod: no directories, no step)" 5 "${HYPERFINE_RUNS:-200}" "$direct --print-pod"
run_goal "pipeline-run --version, the start of the binary alone" 5 "${HYPERFINE_RUNS:-200}" "$ours --version"
run_goal "the empty step's program alone, for scale" 5 "${HYPERFINE_RUNS:-200}" "$w/root/noop"
if command -v crun >/dev/null && [ "$(id -u)" = 0 ]; then
	crun_cmd="$ours taskrun -f $w/empty.yaml --work-dir=$w --runtime=crun --image-map example.com/noop:1=dir:$w/root"
	"$ours" taskrun -f "$w/empty.yaml" --work-dir="$w" --runtime=crun --image-map "example.com/noop:1=dir:$w/root" >/dev/null
	run_goal "pipeline-run empty TaskRun, crun" 100 "${HYPERFINE_RUNS_CRUN:-50}" "$crun_cmd"
else
	echo "bench pipeline-run crun: skipped (needs crun and root)"
fi

# ci-pipeline on the sample app, end to end (.pipeline/run-local.sh: the
# servers, dct-init-pipeline, then ci-pipeline; the release binaries),
# warm: the Debian + nodejs base image built before (tests/servers/
# containerize-bases.sh, package installation: not counted) and the
# advisory data on disk. Median of CI_RUNS runs of the PipelineRun (its
# own durationMs) and of each task's TaskRun; goal < 60 s.
if [ "${BENCH_CI_PIPELINE:-1}" = 1 ] && command -v notary-server >/dev/null && [ "$(id -u)" = 0 ]; then
	"$here/../servers/containerize-bases.sh" node >/dev/null ||
		echo "# warning: no node base (see above): the ci-pipeline runs fail" >&2
	runs=${CI_RUNS:-3}
	for i in $(seq "$runs"); do
		OUT="$w/ci-$i" BIN="$here/../../bin" STOP_APP=1 "$here/../../.pipeline/run-local.sh" >"$w/ci-$i.log" 2>&1 ||
			echo "# warning: ci-pipeline run $i exited non-zero (see its summary)" >&2
	done
	jq -s -r --arg goal 60000 --arg load "$(cut -d' ' -f1 /proc/loadavg)" '
		def median: sort | .[(length - 1) / 2 | floor];
		(map(.durationMs) | median) as $m |
		"bench ci-pipeline warm: \($m / 1000) s (median of \(length) PipelineRuns, \(map(.reason) | unique | join(","))), goal < 60 s: " +
			(if $m < ($goal | tonumber) then "ok" else "OVER" end) + " (load average \($load))",
		([.[] | (.tasks + .finally)[] | select(.durationMs != null) | {name, durationMs}] | group_by(.name) |
			sort_by(-(map(.durationMs) | median))[] |
			"bench ci-pipeline task \(.[0].name): \((map(.durationMs) | median) / 1000) s (median of \(length))")' \
		"$w"/ci-*/ci-pipelinerun.json
else
	echo "bench ci-pipeline: skipped (needs root and the test servers' packages; BENCH_CI_PIPELINE=0 skips it)"
fi
