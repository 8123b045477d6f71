#!/usr/bin/env bash
# Runs every suite and prints "N passed, N failed". Suites print one line
# per test: "PASS: name" or "FAIL: name" (anything else is kept as context).
#   unit         build/asan/tests/test_*
#   cli          tests/cli/<task>/*.case through tests/cli/run-cases.py
#   corpus       tests/cli/jq-corpus.sh (jq's own tests + ours, vs Debian's jq)
#   fuzz         build/fuzz/fuzz_* for FUZZ_SECONDS each
#   integration  tests/integration/*.sh (real servers, started and stopped there)
# Usage: tests/run-all.sh BUILD_DIR FUZZ_SECONDS [suite...]
set -u
build=${1:-build}
fuzz_seconds=${2:-6}
shift 2 2>/dev/null || true
suites=${*:-static unit cli corpus fuzz integration}
logs=$build/test-logs
mkdir -p "$logs"
here=$(cd "$(dirname "$0")" && pwd)
export PIPELINE_BIN=$(cd "$build/asan/bin" 2>/dev/null && pwd)
export PIPELINE_STATIC_BIN=$(cd bin 2>/dev/null && pwd)
export PIPELINE_BUILD=$(cd "$build" && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_suite() { # name command...
	local name=$1; shift
	echo "== $name" >&2
	"$@" >"$logs/$name.log" 2>&1
	local rc=$?
	grep -E '^(PASS|FAIL): ' "$logs/$name.log" | grep '^FAIL' >&2
	# a suite that died without reporting a failure still fails
	if [ $rc -ne 0 ] && ! grep -q '^FAIL: ' "$logs/$name.log"; then
		echo "FAIL: $name (exit $rc, see $logs/$name.log)" | tee -a "$logs/$name.log" >&2
		tail -20 "$logs/$name.log" >&2
	fi
}

for suite in $suites; do
	case $suite in
	static) run_suite static "$here/static-checks.sh" ;;
	unit)
		for t in "$build"/asan/tests/test_*; do
			[ -x "$t" ] && run_suite "unit-$(basename "$t")" "$t"
		done ;;
	cli) run_suite cli python3 "$here/cli/run-cases.py" "$here/cli" ;;
	corpus) run_suite corpus python3 "$here/cli/jq_corpus.py" ;;
	fuzz)
		for f in "$build"/fuzz/fuzz_*; do
			[ -x "$f" ] || continue
			n=$(basename "$f")
			corpus=$here/fuzz/corpus/${n#fuzz_}
			work=$build/fuzz-work/$n && mkdir -p "$work"
			run_suite "$n" bash -c "'$f' -max_total_time=$fuzz_seconds -timeout=10 -rss_limit_mb=2048 \
				-artifact_prefix='$work/' '$work' $( [ -d "$corpus" ] && echo "'$corpus'" ) \
				&& echo 'PASS: $n' || { echo 'FAIL: $n'; exit 1; }"
		done ;;
	integration)
		for s in "$here"/integration/*.sh; do
			[ -x "$s" ] && run_suite "integration-$(basename "$s" .sh)" "$s"
		done ;;
	esac
done

passed=$(cat "$logs"/*.log | grep -c '^PASS: ')
failed=$(cat "$logs"/*.log | grep -c '^FAIL: ')
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
