# The start integration suites share (publish-doi, publish-doi-endpoint,
# image-admission, attack-admission, deploy, signing). Source it after
# setting:
#   suite  the name before "/" in its PASS:/FAIL: lines (and of its
#          scratch directory)
#   tools  the commands it needs (a missing one is a FAIL, never a skip)
#   keep   optional: the variable that, set, keeps the scratch directory
#          (e.g. keep=DOI_KEEP: DOI_KEEP=1 tests/integration/publish-doi.sh)
#   run_tail  optional: how many lines of a failed run's stderr to show
#          (default 5)
# It gives root, BIN (the binaries under test, $PIPELINE_BIN), pass/fail
# and failures, W (a scratch directory) with LOGS=$W/logs in it, and
# at_exit: commands run at exit, in order (stop what the suite started),
# before W is removed; run and has (below) for commands whose output the
# checks read.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BIN=${PIPELINE_BIN:-$root/build/asan/bin}
W=$(mktemp -d "/tmp/$suite.XXXXXX")
LOGS=$W/logs && mkdir -p "$LOGS"
failures=0
pass() { echo "PASS: $suite/$1"; }
fail() { echo "FAIL: $suite/$1${2:+ ($2)}"; failures=$((failures + 1)); }

at_exit=()
cleanup() {
	local c
	for c in "${at_exit[@]}"; do eval "$c"; done
	if [ -n "${keep:-}" ] && [ -n "${!keep:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT

for tool in $tools; do
	command -v "$tool" >/dev/null || { fail prerequisites "$tool is not installed"; exit 1; }
done

# run NAME EXPECTED_EXIT CMD... : output kept in $LOGS/NAME.{out,err}
run() {
	local name=$1 want=$2; shift 2
	"$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err"
	local rc=$?
	if [ "$rc" = "$want" ]; then return 0; fi
	echo "  $name: exit $rc, expected $want; stderr:" >&2; tail -"${run_tail:-5}" "$LOGS/$name.err" >&2
	return 1
}
has() { grep -q -- "$2" "$LOGS/$1.out" "$LOGS/$1.err"; }
