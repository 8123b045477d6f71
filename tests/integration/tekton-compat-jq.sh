#!/usr/bin/env bash
# The catalog jq drop-in (tekton/compat/jq.yaml, the Tekton catalog's jq
# Task 0.1 run by our extract-value-jq), run by bin/pipeline-run from a
# Pipeline written in the shape of the catalog's own test Pipeline (a JSON
# string, a file from a ConfigMap workspace, a map_values/split/reverse/
# ascii_upcase filter, a task printing a result), then TaskRuns for jq
# options. The oracle is the catalog step itself: its shell logic, with
# Tekton's textual param substitution, run by /bin/sh with Debian's jq
# binary; every result must equal what that prints, byte for byte.
# Refusals (options, params the catalog's shell would have mangled) are
# checked by their message.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PIPELINE_BIN:-$top/build/asan/bin}
W=$(mktemp -d /tmp/tekton-compat-jq.XXXXXX)
chmod 755 "$W"
cleanup() { if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi; }
trap cleanup EXIT
failed=0
pass() { echo "PASS: tekton-compat-jq/$1"; }
fail() { echo "FAIL: tekton-compat-jq/$1${2:+: $2}"; failed=1; }

for tool in jq python3 sh; do
	command -v "$tool" >/dev/null || { fail setup "$tool is not installed"; exit 1; }
done
[ -x "$BIN/pipeline-run" ] && [ -x "$BIN/extract-value-jq" ] || { fail setup "no $BIN/pipeline-run or extract-value-jq"; exit 1; }

# catalog_step KIND OPTIONS FILTER INPUT DIR [split] > OUT: what the catalog
# Task's step writes to its result: the params substituted into its script
# as text (as Tekton does), run by sh in DIR (string input goes to tmp.json
# there), jq's stdout kept; exit: jq's. split: OPTIONS unquoted, so that
# the shell splits them into words (the catalog quotes them: one word).
catalog_step() {
	python3 - "$@" <<'PY'
import subprocess, sys
kind, options, flt, inp, d = sys.argv[1:6]
script = """if [ "string" = "@KIND@" ]; then
  printf "%s" "@INPUT@" > tmp.json
  exec jq "@OPTIONS@" '@FILTER@' tmp.json
else
  exec jq "@OPTIONS@" '@FILTER@' "@INPUT@"
fi
"""
if sys.argv[6:] == ["split"]:
    script = script.replace('"@OPTIONS@"', "@OPTIONS@")
for k, v in (("@KIND@", kind), ("@OPTIONS@", options), ("@FILTER@", flt), ("@INPUT@", inp)):
    script = script.replace(k, v)
r = subprocess.run(["sh", "-c", script], cwd=d, stdout=subprocess.PIPE)
sys.stdout.buffer.write(r.stdout)
sys.exit(128 - r.returncode if r.returncode < 0 else r.returncode)
PY
}

# A ConfigMap's file (mounted read-only), as the catalog's test binds one.
mkdir -p "$W/cm" "$W/scratch" "$W/logs"
cat >"$W/cm/test.json" <<'JSON'
{
  "team": {
    "name": "Platform",
    "site": {"city": "Lyon", "country": "FR"},
    "members": [
      {"name": "Ada", "role": "SRE", "since": 2019},
      {"name": "Grace", "role": "Release", "since": 2021},
      {"name": "Linus", "role": "Build", "since": 2017}
    ],
    "budget": 12500.5,
    "tags": ["ci", "supply-chain", "émigré"]
  }
}
JSON
cp "$W/cm/test.json" "$W/scratch/test.json"
chmod -R a+rX "$W/cm"

STRING_INPUT='{  \"service\": \"billing\",  \"replicas\": 3,  \"ratio\": 0.75,  \"owner\": {\"team\": \"payments\", \"oncall\": null},  \"ports\": [8080, 8443],  \"labels\": {\"tier\": \"backend\", \"lang\": \"go\"},  \"note\": \"caf\u00e9 \\\\ \\\"quoted\\\"\" }'
WILD_FILTER='map_values(if type == "string" then . | split("") | reverse | join("") | ascii_upcase else . end)'
WILD_INPUT='[\"apple\", \"banana\", \"orange\", \"grape\", \"kiwi\", \"siriguela\", \"mamão\", 42, null]'
FILE_FILTER='.team.members[].name'

cat >"$W/pipeline.yaml" <<YAML
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: jq-catalog-shape
spec:
  workspaces:
    - name: shared-workspace
  tasks:
    - name: jq-using-string-as-input
      taskRef:
        kind: Task
        name: jq
      params:
        - name: filter
          value: "."
        - name: input
          value: '$STRING_INPUT'
        - name: stringOrFile
          value: "string"
    - name: jq-using-file-as-input
      taskRef:
        kind: Task
        name: jq
      params:
        - name: filter
          value: "$FILE_FILTER"
        - name: input
          value: test.json
        - name: stringOrFile
          value: "file"
      workspaces:
        - name: source
          workspace: shared-workspace
    - name: jq-using-string-as-input-with-wild-filter
      taskRef:
        kind: Task
        name: jq
      params:
        - name: filter
          value: $WILD_FILTER
        - name: input
          value: '$WILD_INPUT'
        - name: stringOrFile
          value: "string"
    - name: print-result
      runAfter:
        - jq-using-string-as-input
        - jq-using-file-as-input
      taskRef:
        kind: Task
        name: print-result
      params:
        - name: input
          value: \$(tasks.jq-using-string-as-input.results.jq-script-outcome)
---
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: print-result
spec:
  params:
    - name: input
  steps:
    - name: print
      image: docker.io/library/busybox:1.36
      command: ["printf"]
      args: ["%s", "\$(params.input)"]
YAML

"$BIN/pipeline-run" pipelinerun -f "$W/pipeline.yaml" --tasks "$top/tekton/compat/jq.yaml" --bin-dir="$BIN" \
	--secret-workspace shared-workspace="$W/cm" --logs-dir="$W/logs" --progress=plain --name=jq-catalog \
	>"$W/run.json" 2>"$W/run.err"
rc=$?
if [ "$rc" = 0 ] && [ "$(jq -r .reason "$W/run.json")" = Succeeded ]; then
	pass pipelinerun-succeeded
else
	fail pipelinerun-succeeded "exit $rc: $(tail -5 "$W/run.err" | tr '\n' ' ')"
fi
# task_result TASK > the result's bytes (jq -j: no newline added)
task_result() {
	jq -j --arg t "$1" '.tasks[] | select(.name == $t) | .results["jq-script-outcome"] // error("no result")' \
		"$W/run.json"
}
# same NAME GOT WANT: byte for byte
same() {
	if cmp -s "$2" "$3"; then pass "$1"; else fail "$1" "$(diff "$3" "$2" | head -6 | tr '\n' ' ')"; fi
}
check_task() { # TASK KIND OPTIONS FILTER INPUT
	local t=$1
	shift
	task_result "$t" >"$W/$t.got" 2>"$W/$t.jqerr" || { fail "$t" "no result: $(cat "$W/$t.jqerr")"; return; }
	catalog_step "$@" "$W/scratch" >"$W/$t.want" || { fail "$t" "the oracle (sh + jq) failed"; return; }
	[ -s "$W/$t.want" ] || { fail "$t" "the oracle printed nothing"; return; }
	same "$t" "$W/$t.got" "$W/$t.want"
}
check_task jq-using-string-as-input string -M . "$STRING_INPUT"
check_task jq-using-file-as-input file -M "$FILE_FILTER" test.json
check_task jq-using-string-as-input-with-wild-filter string -M "$WILD_FILTER" "$WILD_INPUT"
# the print task got the string task's result whole, newlines included
printed=$(find "$W/logs" -path '*print-result*' -name '*.log' | head -1)
if [ -n "$printed" ] && [ -s "$W/jq-using-string-as-input.want" ] &&
	cmp -s "$printed" "$W/jq-using-string-as-input.want"; then
	pass print-result-consumes-the-result
else
	fail print-result-consumes-the-result "log ${printed:-missing} differs from the string task's jq output"
fi
[ ! -e "$W/cm/tmp.json" ] && pass no-tmp-json-in-the-workspace || fail no-tmp-json-in-the-workspace

# ---- jq options, one TaskRun each -----------------------------------------
# taskrun NAME KIND OPTIONS FILTER INPUT: the drop-in run alone; $rc,
# $W/NAME.json, $W/NAME.log
taskrun() {
	local name=$1
	"$BIN/pipeline-run" taskrun -f "$top/tekton/compat/jq.yaml" --bin-dir="$BIN" --name="$name" \
		--secret-workspace source="$W/cm" -p "stringOrFile=$2" -p "options=$3" -p "filter=$4" -p "input=$5" \
		>"$W/$name.json" 2>"$W/$name.log"
	rc=$?
}
# option_case NAME KIND OPTIONS FILTER INPUT [split]: the result is what the
# catalog step prints (split: for options the catalog passes to jq as one
# word, which jq refuses, what it prints with them as separate words)
option_case() {
	local name=$1 kind=$2 options=$3 filter=$4 input=$5
	taskrun "$@"
	if [ "$rc" != 0 ]; then
		fail "$name" "exit $rc: $(tail -3 "$W/$name.log" | tr '\n' ' ')"
		return
	fi
	jq -j '.results["jq-script-outcome"]' "$W/$name.json" >"$W/$name.got"
	catalog_step "$kind" "$options" "$filter" "$input" "$W/scratch" ${6:+"$6"} >"$W/$name.want"
	local orc=$?
	# Debian's jq 1.6 aborts (heap corruption) after printing a raw string
	# with -a; what it printed is still the oracle
	if [ "$orc" != 0 ] && ! { [ -n "${ORACLE_ABORTS:-}" ] && [ "$orc" = 134 ]; }; then
		fail "$name" "the oracle (sh + jq) failed: exit $orc"
		return
	fi
	[ -s "$W/$name.want" ] || { fail "$name" "the oracle printed nothing"; return; }
	same "$name" "$W/$name.got" "$W/$name.want"
}
option_case opt-raw file -r '.team.members[].role' test.json
option_case opt-raw-compact-cluster file -rc '.team.members[] | select(.since < 2020)' test.json
option_case opt-compact string -c '.' '{\"b\": [1, {\"c\": \"d\"}], \"a\": 1}'
option_case opt-sort-keys string -S '.' '{\"b\": 2, \"a\": {\"z\": 1, \"y\": 2}}'
option_case opt-tab file --tab '.team.site' test.json
option_case opt-join file -j '.team.tags[]' test.json
option_case opt-ascii file -a '.team.tags' test.json
ORACLE_ABORTS=1 option_case opt-raw-ascii file -ra '.team.tags[2]' test.json
option_case opt-slurp string -s 'map(.n) | add' '{\"n\": 1} {\"n\": 2} {\"n\": 39}'
option_case opt-null-input string -n '[inputs | .n]' '{\"n\": 1} {\"n\": 2}'
option_case opt-colour string -C '.' '{\"a\": [true, null, \"s\"]}'
option_case opt-empty-options string '' '.x' '{\"x\": {\"y\": 1}}' split
# several options: the catalog passes the string to jq as one argument (jq
# then refuses it); here it is split at blanks
option_case opt-several-words file '-r --arg who Grace' \
	'.team.members[] | select(.name == $who) | .role' test.json split
option_case opt-indent file '--indent 7' '.team.site' test.json split

# ---- refusals, by name -----------------------------------------------------
# refused NAME EXIT REGEX KIND OPTIONS FILTER INPUT
refused() {
	local name=$1 want=$2 re=$3
	shift 3
	taskrun "$name" "$@"
	if [ "$rc" = "$want" ] && grep -Eq -- "$re" "$W/$name.log"; then
		pass "$name"
	else
		fail "$name" "want exit $want and /$re/; got exit $rc: $(tail -3 "$W/$name.log" | tr '\n' ' ')"
	fi
}
refused refuse-stream 2 'jq option --stream is not supported by this task' string --stream . '{}'
refused refuse-raw-input 2 "jq option -R \\(in '-rR'\\) is not supported by this task" string -rR . '{}'
refused refuse-from-file 2 'jq option -f .* is not supported by this task' file -f . test.json
refused refuse-not-an-option 2 "jq options: '.a' is not an option" string '.a' . '{}'
refused refuse-string-or-file 2 "param stringOrFile must be 'string' or 'file' \\(given 'json'\\)" json -M . '{}'
refused refuse-unescaped-quote 2 "param input holds an unescaped '\"'" string -M . '{"a": 1}'
refused refuse-expansion 2 "param input holds an unescaped '\\$' starting a shell expansion" string -M . '{\"a\": \"$HOME\"}'
refused refuse-single-quote 2 'param filter holds a single quote' string -M '.a + "'"'"'"' '{\"a\": \"x\"}'
refused refuse-missing-file 2 'cannot read input file nothere.json' file -M . nothere.json
refused refuse-bad-filter 2 'invalid jq expression' string -M '.a |' '{}'
# a jq runtime error fails the step (the catalog's pipe into tee hides it)
refused fails-on-jq-error 1 'jq: error .*cannot be added' string -M '.a + 1' '{\"a\": \"x\"}'
refused fails-on-exit-status 1 'jq option -e: the last output was false or null' string -e '.missing' '{}'

exit $failed
