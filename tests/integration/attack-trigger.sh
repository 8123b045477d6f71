#!/usr/bin/env bash
# Attacks on pipeline-run's trigger replay (--trigger/--event) through a
# webhook payload: its text is what anyone who can open a pull request
# chooses (branch names, titles). Each case names what it attacks and
# checks the reason, not only the exit code. The Pipeline passes the param
# as an argument (argv), as our Tasks do: text substituted into a `script`
# or an `sh -c` string is a shell injection in Tekton too, and the last
# case checks that no Task of ours does that.
# Prints PASS:/FAIL: per test; exits non-zero if any failed.
set -u
suite=attack-trigger
keep=ATTACK_KEEP
tools="python3"
source "$(dirname "$0")/lib/prelude.sh"
PR=$BIN/pipeline-run

mkdir -p "$W/p" "$W/work" "$W/logs-run"
cat >"$W/p/triggers.yaml" <<'EOF'
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerBinding
metadata: {name: b}
spec:
  params:
    - {name: branch, value: $(body.ref)}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: t}
spec:
  params:
    - {name: branch}
    - {name: registry, default: reg.example.com}
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: PipelineRun
      metadata: {generateName: run-}
      spec:
        pipelineRef: {name: echo}
        params:
          - {name: line, value: "$(tt.params.branch)"}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: listener}
spec:
  triggers:
    - name: push
      interceptors:
        - ref: {name: github}
          params: [{name: eventTypes, value: [push]}]
      bindings: [{ref: b}]
      template: {ref: t}
EOF
cat >"$W/p/pipeline.yaml" <<'EOF'
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: echo}
spec:
  params:
    - {name: line}
  results:
    - {name: line, value: $(tasks.echo.results.line)}
  tasks:
    - name: echo
      params: [{name: line, value: "$(params.line)"}]
      taskSpec:
        params: [{name: line}]
        results: [{name: line}]
        steps:
          - {name: s, image: busybox, command: [sh, -c, 'printf "%s" "$1" > $(results.line.path)', sh, "$(params.line)"]}
EOF
# replay NAME EXIT PAYLOAD_FILE: the event replayed, results in $W/r-NAME
replay() {
	run "$1" "$2" "$PR" pipelinerun -f "$W/p/triggers.yaml" --trigger=listener --event="$3" \
		--event-header=X-GitHub-Event=push --work-dir="$W/work" --logs-dir="$W/logs-run" --results-dir="$W/r-$1"
}
# the result "line" of the run, decoded from the pipelinerun-results JSON
line_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["line"], end="")' "$W/r-$1/pipelinerun-results"; }

# ---- a payload's $(...) is text: never a variable of the binding, the
# template, the Pipeline or the Task, nor a command substitution
lit='$(context.pipelineRun.name) $(params.line) $(tt.params.registry) $(body.ref) $(header.X-GitHub-Event) `touch '"$W"'/pwned-bq` $(touch '"$W"'/pwned-cs) $(results.line.path)'
python3 -c 'import json,sys; print(json.dumps({"ref": sys.argv[1]}))' "$lit" >"$W/vars.json"
if replay vars 0 "$W/vars.json" && [ "$(line_of vars)" = "$lit" ] && [ ! -e "$W/pwned-bq" ] && [ ! -e "$W/pwned-cs" ]; then
	pass payload-variables-stay-text; else fail payload-variables-stay-text "line: $(line_of vars 2>&1)"; fi

# ---- terminal escapes and control characters in a payload reach the
# result as they are, but never the terminal through the summary
printf '{"ref":"\\u001b]0;PWN\\u0007\\u001b[2Jx\\ry\\u00c2\\u009b"}' >"$W/esc.json"
esc=$(printf '\033')
if replay esc 0 "$W/esc.json" && [ "$(line_of esc)" = "$(printf '\033]0;PWN\a\033[2Jx\ry\303\202\302\233')" ] &&
   ! grep -q "$esc" "$LOGS/esc.err" && ! grep -q "$(printf '\r')" "$LOGS/esc.err" &&
   has esc 'line=\\x1b]0;PWN\\x07\\x1b\[2Jx\\x0dyÂ\\xc2\\x9b'; then
	pass summary-escapes-control-characters; else fail summary-escapes-control-characters "$(grep line= "$LOGS/esc.err" | od -c | head -5)"; fi

# a newline ends the value shown: no forged summary line
printf '{"ref":"ok\\necho                     Succeeded  forged"}' >"$W/nl.json"
if replay nl 0 "$W/nl.json" && grep -q 'line=ok\.\.\.$' "$LOGS/nl.err" && ! grep -q forged "$LOGS/nl.err"; then
	pass summary-one-line-per-task; else fail summary-one-line-per-task; fi

# ---- a name of the run made of the payload is checked before any
# directory is made of it (trigger-names.case covers the rules)
sed -i 's/generateName: run-/name: run-$(tt.params.branch)/' "$W/p/triggers.yaml"
echo '{"ref":"../../../../tmp/x"}' >"$W/dots.json"
before=$(find "$W/work" "$W/logs-run" | sort)
if replay dots 2 "$W/dots.json" && has dots 'is invalid: a lowercase RFC 1123 subdomain' &&
   [ "$(find "$W/work" "$W/logs-run" | sort)" = "$before" ] && [ ! -e "$W/r-dots/pipelinerun-results" ]; then
	pass name-traversal-refused; else fail name-traversal-refused; fi
sed -i 's/name: run-$(tt.params.branch)/generateName: run-/' "$W/p/triggers.yaml"

# ---- memory and CPU: nesting, size, keys
python3 -c 'print("{\"ref\":\"x\",\"a\":" + "[" * 100000 + "]" * 100000 + "}")' >"$W/deep.json"
if replay deep 2 "$W/deep.json" && has deep 'the event is not JSON: maximum parsing depth reached'; then
	pass deep-nesting-refused; else fail deep-nesting-refused; fi
python3 -c 'print("{\"ref\":\"" + "a" * (16 << 20) + "\"}")' >"$W/huge.json"
if replay huge 2 "$W/huge.json" && has huge 'is larger than the 16777216 byte limit'; then
	pass payload-over-16mib-refused; else fail payload-over-16mib-refused; fi
# 10^6 keys under the limit: read, bound, run (a hashed object: no
# quadratic time; jansson seeds its hash)
python3 -c 'print("{\"ref\":\"wide\"," + ",".join("\"%x\":0" % i for i in range(1000000)) + "}")' >"$W/wide.json"
if replay wide 0 "$W/wide.json" && [ "$(line_of wide)" = wide ]; then
	pass million-keys-bounded; else fail million-keys-bounded; fi
# a 1 MiB value into a param, an argv item of a step: more than the
# kernel's 128 KiB for one argument (E2BIG), the TaskRun fails, no crash,
# and the line that says so names the argument and the limit
python3 -c 'print("{\"ref\":\"" + "b" * (1 << 20) + "\"}")' >"$W/long.json"
if replay long 1 "$W/long.json" && has long 'echo: Failed in' && ! grep -qs bbbb "$W/r-long/pipelinerun-results" &&
   has long 'step s: argv\[4\] is 1048576 bytes: Linux takes at most 131071 per argument or variable'; then
	pass one-mib-param-fails-the-taskrun; else fail one-mib-param-fails-the-taskrun; fi

# ---- a payload names no step: the Pipeline's steps only ran, in the
# work dir only (nothing new outside it and the logs dir but the results)
if [ -z "$(find "$W" -maxdepth 1 -newer "$W/p/pipeline.yaml" -name 'pwned*')" ]; then
	pass no-undeclared-command; else fail no-undeclared-command; fi

# ---- a symbolic link a task leaves in a workspace (a PR's cloned tree
# holds what its author likes) never takes a later task's subPath out of
# the workspace: kubelet refuses that; a bind mount (crun) would follow it
mkdir -p "$W/outside" "$W/bb/bin" "$W/bb/tmp" "$W/bb/etc" && echo host-secret >"$W/outside/secret"
cp /bin/busybox "$W/bb/bin/" 2>/dev/null
cat >"$W/p/subpath.yaml" <<EOF
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: sp}
spec:
  workspaces: [{name: source}]
  tasks:
    - name: clone
      workspaces: [{name: w, workspace: source}]
      taskSpec:
        workspaces: [{name: w}]
        steps:
          - {name: s, image: example.com/bb:1, command: [/bin/busybox, sh, -c, 'ln -s $W/outside \$(workspaces.w.path)/reports; mkdir \$(workspaces.w.path)/in; ln -s $W/outside \$(workspaces.w.path)/in/deep']}
    - name: report
      runAfter: [clone]
      workspaces: [{name: w, workspace: source, subPath: SUB}]
      taskSpec:
        workspaces: [{name: w}]
        results: [{name: r}]
        steps:
          - {name: s, image: example.com/bb:1, command: [/bin/busybox, sh, -c, 'cat \$(workspaces.w.path)/secret > \$(results.r.path); echo pwned > \$(workspaces.w.path)/x']}
EOF
sub_case() { # NAME SUBPATH REFUSED-COMPONENT RUNTIME-ARGS...
	local name=$1 sub=$2 comp=$3; shift 3
	sed "s|subPath: SUB}|subPath: $sub}|" "$W/p/subpath.yaml" >"$W/p/sp-$name.yaml"
	rm -rf "$W/work-$name" && mkdir -p "$W/work-$name"
	if run "sp-$name" 1 "$PR" pipelinerun -f "$W/p/sp-$name.yaml" --work-dir="$W/work-$name" "$@" &&
	   has "sp-$name" "subPath '$sub': $comp is a symbolic link or not a directory" &&
	   [ "$(ls "$W/outside")" = secret ] && ! grep -q host-secret "$LOGS/sp-$name.out"; then
		pass "subpath-symlink-refused-$name"; else fail "subpath-symlink-refused-$name" "$(ls "$W/outside" | tr '\n' ' ')"; fi
}
sub_case direct reports reports
sub_case direct-deep in/deep/new deep
if [ "$(id -u)" = 0 ] && command -v crun >/dev/null && [ -x "$W/bb/bin/busybox" ]; then
	sub_case crun reports reports --runtime=crun --image-map example.com/bb:1=dir:"$W/bb"
else
	fail subpath-symlink-refused-crun "needs root, crun and /bin/busybox (busybox-static)"
fi
# the same link made while the task runs, by a task beside it on the same
# workspace: checked at its start, sub is swapped for a link to the host
# once the first step has run; the second step's bind mount (crun) still
# gets the directory checked, not the host's
BB=/bin/busybox
cat >"$W/p/race.yaml" <<EOF
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: race}
spec:
  workspaces: [{name: source}]
  tasks:
    - name: swap
      workspaces: [{name: w, workspace: source}]
      taskSpec:
        workspaces: [{name: w}]
        steps:
          - {name: s, image: example.com/bb:1, command: [$BB, sh, -c, 'w=\$(workspaces.w.path); i=0; until [ -e \$w/sub/ready ]; do i=\$((i+1)); [ \$i -gt 300 ] && exit 1; $BB sleep 0.1; done; $BB mv \$w/sub \$w/sub-old && $BB ln -s $W/outside \$w/sub && $BB touch \$w/sub-old/swapped']}
    - name: victim
      workspaces: [{name: w, workspace: source, subPath: sub}]
      taskSpec:
        workspaces: [{name: w}]
        results: [{name: r}]
        steps:
          - {name: a, image: example.com/bb:1, command: [$BB, sh, -c, 'w=\$(workspaces.w.path); $BB touch \$w/ready; i=0; until [ -e \$w/swapped ]; do i=\$((i+1)); [ \$i -gt 300 ] && exit 1; $BB sleep 0.1; done']}
          - {name: b, image: example.com/bb:1, command: [$BB, sh, -c, 'w=\$(workspaces.w.path); $BB ls \$w > \$(results.r.path); $BB cat \$w/secret >> \$(results.r.path) 2>/dev/null; echo pwned > \$w/x; true']}
EOF
if [ "$(id -u)" = 0 ] && command -v crun >/dev/null && [ -x "$W/bb/bin/busybox" ]; then
	rm -rf "$W/work-race" && mkdir -p "$W/work-race"
	if run sp-race 0 "$PR" pipelinerun -f "$W/p/race.yaml" --work-dir="$W/work-race" --runtime=crun \
		--image-map example.com/bb:1=dir:"$W/bb" &&
	   [ "$(jq -r '.tasks[] | select(.name == "victim") | .results.r' "$LOGS/sp-race.out")" = "$(printf 'ready\nswapped')" ] &&
	   [ "$(ls "$W/outside")" = secret ] && ! grep -q host-secret "$LOGS/sp-race.out" &&
	   ! grep -q "/subpath-" /proc/self/mountinfo; then
		pass subpath-swapped-while-running-stays-in; else fail subpath-swapped-while-running-stays-in "$(ls "$W/outside" | tr '\n' ' ')"; fi
else
	fail subpath-swapped-while-running-stays-in "needs root, crun and /bin/busybox (busybox-static)"
fi

# ---- our Tasks and Pipelines never substitute a param into a script or
# an `sh -c` string (Tekton's known injection): params are argv items
if python3 - "$root" <<'EOF'
import glob, re, sys, yaml
bad = []
for f in glob.glob(sys.argv[1] + "/tekton/*.yaml") + glob.glob(sys.argv[1] + "/.pipeline/*.yaml"):
    for doc in yaml.safe_load_all(open(f)):
        def walk(o):
            if isinstance(o, dict):
                for st in o.get("steps") or []:
                    cmd = (st.get("command") or []) + (st.get("args") or [])
                    if "$(params." in str(st.get("script", "")) or any(
                            c == "-c" and i + 1 < len(cmd) and "$(params." in cmd[i + 1] for i, c in enumerate(cmd)):
                        bad.append(f + ": step " + str(st.get("name")))
                for v in o.values():
                    walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(doc)
bad and print("\n".join(bad), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
then pass no-param-in-script; else fail no-param-in-script; fi

[ "$failures" = 0 ]
