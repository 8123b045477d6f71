#!/usr/bin/env bash
# Runs every suite and prints "N passed, N failed, N skipped". Suites print
# one line per test: "PASS: name", "FAIL: name" or "SKIP: name: why" (a test
# that could not run here, and why); anything else is kept as context.
#   static       tests/static-checks.sh
#   unit         build/asan/tests/test_* (one per tests/unit/test_*.c)
#   cli          tests/cli/<task>/*.case through tests/cli/run-cases.py
#   corpus       tests/cli/jq_corpus.py (jq's own tests + ours, vs Debian's jq)
#   fuzz         build/fuzz/fuzz_* (one per tests/fuzz/fuzz_*.c) for FUZZ_SECONDS each
#   integration  every tests/integration/*.sh (real servers, started and stopped there)
# A suite that exits non-zero without a FAIL line, or reports no test at
# all, fails. In CI (PIPELINE_CI=1, set by .ci/run, or CI=true) a skip is a
# failure unless tests/ci-allowed-skips.txt names the test and says why it
# cannot run there.
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
ci=0
case ${PIPELINE_CI:-}/${CI:-} in 1/* | true/* | */1 | */true) ci=1 ;; esac
allowed_skips=$here/ci-allowed-skips.txt

# the name in "SKIP: name: why" (names never contain ": ")
skip_name() { sed -n 's/^SKIP: \(.*\)$/\1/p' | awk -F': ' '{ print $1 }'; }

# In CI, each skip not in the allow-list (with a reason) becomes a FAIL line
ci_skips() { # log
	local name
	grep '^SKIP: ' "$1" | skip_name | while IFS= read -r name; do
		if ! awk -F': ' -v n="$name" '!/^#/ && $1 == n && $2 ~ /[^ ]/ { found = 1 } END { exit !found }' \
			"$allowed_skips" 2>/dev/null; then
			echo "FAIL: $name (skipped in CI; not in tests/ci-allowed-skips.txt)"
		fi
	done
}

run_suite() { # name command...
	local name=$1; shift
	local log=$logs/$name.log
	echo "== $name" >&2
	"$@" >"$log" 2>&1
	local rc=$?
	if [ $ci = 1 ]; then
		local extra
		extra=$(ci_skips "$log")
		[ -n "$extra" ] && echo "$extra" >>"$log"
	fi
	grep -E '^(FAIL|SKIP): ' "$log" >&2
	# a suite that died without reporting a failure still fails
	if [ $rc -ne 0 ] && ! grep -q '^FAIL: ' "$log"; then
		tail -20 "$log" >&2
		echo "FAIL: $name (exit $rc, see $log)" | tee -a "$log" >&2
	elif ! grep -qE '^(PASS|FAIL|SKIP): ' "$log"; then
		tail -20 "$log" >&2
		echo "FAIL: $name (reported no test, see $log)" | tee -a "$log" >&2
	fi
}

# a test that should be there and is not (unbuilt, or not executable)
missing() { # name why
	echo "FAIL: $1 ($2)" | tee "$logs/$1.log" >&2
}

for suite in $suites; do
	case $suite in
	static) run_suite static "$here/static-checks.sh" ;;
	unit)
		for src in "$here"/unit/test_*.c; do
			t=$build/asan/tests/$(basename "$src" .c)
			if [ -x "$t" ]; then run_suite "unit-$(basename "$t")" "$t"
			else missing "unit-$(basename "$t")" "$t is not built"; fi
		done ;;
	cli) run_suite cli python3 "$here/cli/run-cases.py" "$here/cli" ;;
	corpus) run_suite corpus python3 "$here/cli/jq_corpus.py" ;;
	fuzz)
		for src in "$here"/fuzz/fuzz_*.c; do
			n=$(basename "$src" .c)
			f=$build/fuzz/$n
			[ -x "$f" ] || { missing "$n" "$f is not built"; continue; }
			corpus=$here/fuzz/corpus/${n#fuzz_}
			work=$build/fuzz-work/$n && mkdir -p "$work"
			run_suite "$n" bash -c "'$f' -max_total_time=$fuzz_seconds -timeout=10 -rss_limit_mb=2048 \
				-artifact_prefix='$work/' '$work' $( [ -d "$corpus" ] && echo "'$corpus'" ) \
				&& echo 'PASS: $n' || { echo 'FAIL: $n'; exit 1; }"
		done ;;
	integration)
		for s in "$here"/integration/*.sh; do
			n=integration-$(basename "$s" .sh)
			if [ -x "$s" ]; then run_suite "$n" "$s"
			else missing "$n" "$s is not executable"; fi
		done ;;
	*) missing "suite-$suite" "no such suite" ;;
	esac
done

passed=$(cat "$logs"/*.log | grep -c '^PASS: ')
failed=$(cat "$logs"/*.log | grep -c '^FAIL: ')
skipped=$(cat "$logs"/*.log | grep -c '^SKIP: ')
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
