#!/usr/bin/env bash
# unit-tests against real processes: the sample app's own test suite
# (node, JUnit written by the test), the process group killed on timeout
# (no test process survives), and the record's content.
set -u
bin=${PIPELINE_BIN:-$(cd "$(dirname "$0")/../../build/asan/bin" && pwd)}/unit-tests
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail=0
pass() { echo "PASS: unit-tests/$1"; }
flunk() { echo "FAIL: unit-tests/$1"; fail=1; }

# 1. the sample app's tests, in a copy of the tree
if command -v node >/dev/null; then
	cp -r "$root/examples/app" "$tmp/app" && rm -rf "$tmp/app/reports"
	if "$bin" --workdir="$tmp/app" --command="node test/server.test.js" --record-file="$tmp/rec.json" \
		--results-dir="$tmp/res" >"$tmp/out" 2>"$tmp/err" &&
		jq -e '.status == "pass" and .totals.tests > 0 and .totals.failures == 0 and (.junit_reports | length) == 1' \
			"$tmp/rec.json" >/dev/null && [ "$(cat "$tmp/res/status")" = pass ]; then
		pass sample-app-tests-pass-with-junit
	else
		cat "$tmp/out" "$tmp/err"; flunk sample-app-tests-pass-with-junit
	fi
else
	flunk "sample-app-tests-pass-with-junit (node is not installed)"
fi

# 2. timeout: the whole process group goes, including a detached-looking child
cat >"$tmp/slow.sh" <<'SH'
sleep 300 &
echo $! > "$1/child.pid"
sleep 300
SH
start=$(date +%s)
"$bin" --workdir="$tmp" --command="sh slow.sh $tmp" --timeout=1 --record-file="$tmp/t.json" >/dev/null 2>"$tmp/err"
rc=$?
child=$(cat "$tmp/child.pid" 2>/dev/null || echo "")
[ -n "$child" ] && pids+=("$child")
# gone, or a zombie waiting for its new parent to reap it: either way dead
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
for _ in 1 2 3 4 5 6 7 8 9 10; do alive "$child" || break; sleep 0.1; done
if [ $rc -eq 1 ] && [ -n "$child" ] && ! alive "$child"; then
	pass timeout-kills-process-group
else
	echo "rc=$rc child=$child state=$(cat "/proc/$child/stat" 2>/dev/null)"; flunk timeout-kills-process-group
fi
if jq -e '.timed_out == true and .status == "fail"' "$tmp/t.json" >/dev/null; then
	pass timeout-recorded
else
	flunk timeout-recorded
fi

# 3. a failing run writes the record with the failing cases
mkdir -p "$tmp/f/reports"
printf '%s\n' '<testsuite name="s"><testcase classname="c" name="bad"><failure message="nope"/></testcase><testcase classname="c" name="good"/></testsuite>' >"$tmp/f/j.src"
"$bin" --workdir="$tmp/f" --command="cp j.src reports/junit.xml; exit 1" --record-file="$tmp/f.json" >/dev/null 2>&1
rc=$?
if [ $rc -eq 1 ] && jq -e '.status == "fail" and .totals.tests == 2 and .totals.passed == 1 and .failed_cases[0].name == "bad" and .failed_cases[0].message == "nope" and .exit_code == 1' "$tmp/f.json" >/dev/null; then
	pass failing-record-lists-cases
else
	cat "$tmp/f.json"; flunk failing-record-lists-cases
fi
exit $fail
