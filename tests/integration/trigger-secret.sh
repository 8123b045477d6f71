#!/usr/bin/env bash
# The webhook secret of a replayed trigger (pipeline-run --trigger): the
# github interceptor's HMAC of the payload (X-Hub-Signature-256, as GitHub
# signs it and Tekton's github ClusterInterceptor checks it) and the gitlab
# interceptor's X-Gitlab-Token, against a Secret given with --secret
# NAME=DIR. openssl computes every signature (the oracle); each refusal is
# checked for its exit code (4), its reason, and that nothing ran. The last
# cases replay the project's own .pipeline/triggers.yaml: its manual
# listener refuses an unsigned event, and a push binds the branch pushed to.
# Prints PASS:/FAIL: per test; exits non-zero if any failed.
set -u
suite=trigger-secret
tools="openssl python3"
keep=TRIGGER_KEEP
source "$(dirname "$0")/lib/prelude.sh"
PR=$BIN/pipeline-run

secret=hook-$RANDOM-$RANDOM-s3cr3t
mkdir -p "$W/p" "$W/work" "$W/sec" "$W/other" "$W/nl"
printf %s "$secret" >"$W/sec/token"
printf %s "not-$secret" >"$W/other/token"
printf '%s\n' "$secret" >"$W/nl/token"
cat >"$W/p/triggers.yaml" <<'EOF'
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerBinding
metadata: {name: b}
spec:
  params:
    - {name: line, value: $(body.line)}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: t}
spec:
  params:
    - {name: line}
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: PipelineRun
      metadata: {generateName: run-}
      spec:
        pipelineRef: {name: echo}
        params:
          - {name: line, value: "$(tt.params.line)"}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: listener}
spec:
  triggers:
    - name: gh-push
      interceptors:
        - ref: {name: github}
          params:
            - {name: secretRef, value: {secretName: webhook-secret, secretKey: token}}
            - {name: eventTypes, value: [push]}
      bindings: [{ref: b}]
      template: {ref: t}
    - name: gl-push
      interceptors:
        - ref: {name: gitlab}
          params:
            - {name: secretRef, value: {secretName: webhook-secret, secretKey: token}}
            - {name: eventTypes, value: [Push Hook]}
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
  workspaces: [{name: w}]
  results:
    - {name: line, value: $(tasks.echo.results.line)}
  tasks:
    - name: echo
      params: [{name: line, value: "$(params.line)"}]
      workspaces: [{name: w, workspace: w}]
      taskSpec:
        params: [{name: line}]
        workspaces: [{name: w}]
        results: [{name: line}]
        steps:
          - {name: s, image: busybox, command: [sh, -c, 'printf "%s" "$1" > $(results.line.path); touch "$2"/ran', sh, "$(params.line)", $(workspaces.w.path)]}
EOF
printf '{"line": "hello from a signed push"}\n' >"$W/push.json"

# hmac ALGO SECRET FILE: the hex HMAC of the file's bytes
hmac() { openssl dgst "-$1" -hmac "$2" -r "$3" | cut -d' ' -f1; }
sig256=$(hmac sha256 "$secret" "$W/push.json")

# replay NAME EXIT EVENT SECRET_DIR|- HEADER...: results in $W/r-NAME, the
# workspace $W/ws-NAME (a run leaves "ran" in it)
replay() {
	local name=$1 want=$2 ev=$3 sdir=$4
	shift 4
	local s=()
	[ "$sdir" != - ] && s=(--secret "webhook-secret=$sdir")
	mkdir -p "$W/ws-$name"
	run "$name" "$want" "$PR" pipelinerun -f "$W/p/triggers.yaml" --trigger=listener --event="$ev" "${s[@]}" \
		"${@/#/--event-header=}" -w w="$W/ws-$name" --work-dir="$W/work" --results-dir="$W/r-$name"
}
ran() { [ -e "$W/ws-$1/ran" ]; }
refused() { ! ran "$1" && [ ! -s "$W/r-$1/pipelinerun-results" ] && ! grep -q -- "$secret" "$LOGS/$1.err" "$LOGS/$1.out"; }

# ---- github: the payload signed with the secret runs
if replay gh-ok 0 "$W/push.json" "$W/sec" X-GitHub-Event=push "X-Hub-Signature-256=sha256=$sig256" && ran gh-ok &&
   grep -q 'hello from a signed push' "$W/r-gh-ok/pipelinerun-results"; then
	pass github-signed-payload-runs; else fail github-signed-payload-runs; fi
# GitHub's older header (HMAC-SHA1), which Tekton's interceptor also takes
if replay gh-sha1 0 "$W/push.json" "$W/sec" X-GitHub-Event=push "X-Hub-Signature=sha1=$(hmac sha1 "$secret" "$W/push.json")" &&
   ran gh-sha1; then
	pass github-sha1-signature-runs; else fail github-sha1-signature-runs; fi
if replay gh-upper 0 "$W/push.json" "$W/sec" X-GitHub-Event=push "X-Hub-Signature-256=sha256=${sig256^^}" && ran gh-upper; then
	pass github-signature-hex-case-ignored; else fail github-signature-hex-case-ignored; fi

# ---- github refusals: exit 4, the reason, nothing ran, the secret in no output
if replay gh-unsigned 4 "$W/push.json" "$W/sec" X-GitHub-Event=push && refused gh-unsigned &&
   has gh-unsigned 'trigger gh-push: the github interceptor: the event has no X-Hub-Signature-256'; then
	pass github-unsigned-refused; else fail github-unsigned-refused; fi
if replay gh-wrongkey 4 "$W/push.json" "$W/sec" X-GitHub-Event=push \
	"X-Hub-Signature-256=sha256=$(hmac sha256 "not-$secret" "$W/push.json")" && refused gh-wrongkey &&
   has gh-wrongkey 'X-Hub-Signature-256 does not match the payload'; then
	pass github-other-secret-refused; else fail github-other-secret-refused; fi
# the payload changed after signing: one byte at its end
sed 's/push"/pusH"/' "$W/push.json" >"$W/push-changed.json"
if replay gh-changed 4 "$W/push-changed.json" "$W/sec" X-GitHub-Event=push "X-Hub-Signature-256=sha256=$sig256" &&
   refused gh-changed && has gh-changed 'does not match the payload'; then
	pass github-changed-payload-refused; else fail github-changed-payload-refused; fi
# the signature's last digit changed; the signature cut short
last=${sig256: -1}; [ "$last" = 0 ] && flip=1 || flip=0
if replay gh-lastdigit 4 "$W/push.json" "$W/sec" X-GitHub-Event=push "X-Hub-Signature-256=sha256=${sig256%?}$flip" &&
   refused gh-lastdigit && replay gh-short 4 "$W/push.json" "$W/sec" X-GitHub-Event=push \
	"X-Hub-Signature-256=sha256=${sig256:0:32}" && refused gh-short && replay gh-empty 4 "$W/push.json" "$W/sec" \
	X-GitHub-Event=push "X-Hub-Signature-256=sha256=" && refused gh-empty; then
	pass github-near-signatures-refused; else fail github-near-signatures-refused; fi
# a SHA-256 HMAC presented as SHA-1 (and an unknown algorithm)
if replay gh-algo 4 "$W/push.json" "$W/sec" X-GitHub-Event=push "X-Hub-Signature-256=sha1=$sig256" && refused gh-algo &&
   replay gh-md5 4 "$W/push.json" "$W/sec" X-GitHub-Event=push "X-Hub-Signature-256=md5=$(hmac md5 "$secret" "$W/push.json")" &&
   refused gh-md5 && has gh-md5 'is not "sha256=<hex>" or "sha1=<hex>"'; then
	pass github-wrong-algorithm-refused; else fail github-wrong-algorithm-refused; fi
# the Secret's bytes as they are: a file with a trailing newline is another secret
if replay gh-newline 4 "$W/push.json" "$W/nl" X-GitHub-Event=push "X-Hub-Signature-256=sha256=$sig256" && refused gh-newline; then
	pass secret-bytes-exact; else fail secret-bytes-exact; fi

# ---- an empty Secret checks nothing (anyone signs with the empty key, or
# sends an empty X-Gitlab-Token), nor one of white space only, what
# `echo "$UNSET" >token` leaves: exit 2, nothing runs
mkdir -p "$W/empty" "$W/blank" && : >"$W/empty/token" && printf ' \t\r\n' >"$W/blank/token"
if replay gh-emptysecret 2 "$W/push.json" "$W/empty" X-GitHub-Event=push \
	"X-Hub-Signature-256=sha256=$(hmac sha256 "" "$W/push.json")" && ! ran gh-emptysecret &&
   has gh-emptysecret 'the github interceptor: Secret webhook-secret key token is empty' &&
   replay gl-emptysecret 2 "$W/push.json" "$W/empty" "X-Gitlab-Event=Push Hook" "X-Gitlab-Token=" && ! ran gl-emptysecret &&
   has gl-emptysecret 'the gitlab interceptor: Secret webhook-secret key token is empty' &&
   replay gh-blanksecret 2 "$W/push.json" "$W/blank" X-GitHub-Event=push \
	"X-Hub-Signature-256=sha256=$(openssl dgst -sha256 -mac HMAC -macopt hexkey:20090d0a -r "$W/push.json" | cut -d' ' -f1)" && ! ran gh-blanksecret &&
   has gh-blanksecret 'Secret webhook-secret key token is empty (or only white space)'; then
	pass empty-secret-refused; else fail empty-secret-refused; fi

# ---- a short Secret is guessed offline from one signed delivery: under
# 16 bytes it is refused (exit 2, how to make one), 16 is taken
mkdir -p "$W/short" "$W/sixteen" && printf %s 0123456789abcde >"$W/short/token" &&
	printf %s 0123456789abcdef >"$W/sixteen/token"
if replay gh-short-secret 2 "$W/push.json" "$W/short" X-GitHub-Event=push \
	"X-Hub-Signature-256=sha256=$(hmac sha256 0123456789abcde "$W/push.json")" && ! ran gh-short-secret &&
   has gh-short-secret 'Secret webhook-secret key token holds 15 bytes: a webhook secret needs at least 16' &&
   replay gh-16-secret 0 "$W/push.json" "$W/sixteen" X-GitHub-Event=push \
	"X-Hub-Signature-256=sha256=$(hmac sha256 0123456789abcdef "$W/push.json")" && ran gh-16-secret; then
	pass short-secret-refused; else fail short-secret-refused; fi

# ---- a secretKey is a file name in the Secret's directory, never a path
# out of it (Kubernetes keys: [-._a-zA-Z0-9]+): exit 2, nothing runs
mkdir -p "$W/q" && cp "$W/p/pipeline.yaml" "$W/q/" &&
	sed 's|secretKey: token|secretKey: ../other/token|' "$W/p/triggers.yaml" >"$W/q/triggers.yaml"
mkdir -p "$W/ws-gh-keypath"
if run gh-keypath 2 "$PR" pipelinerun -f "$W/q/triggers.yaml" --trigger=listener --event="$W/push.json" \
	--secret "webhook-secret=$W/sec" --event-header=X-GitHub-Event=push \
	"--event-header=X-Hub-Signature-256=sha256=$(hmac sha256 "not-$secret" "$W/push.json")" -w w="$W/ws-gh-keypath" \
	--work-dir="$W/work" && ! ran gh-keypath &&
   has gh-keypath "secret webhook-secret: '../other/token' is not a valid key"; then
	pass secret-key-stays-in-the-secret; else fail secret-key-stays-in-the-secret; fi
# a key that is a FIFO (or a device) is refused, not read: the read would
# block (or never end)
mkdir -p "$W/fifo" && mkfifo "$W/fifo/token"
if run gh-fifo 2 timeout 20 "$PR" pipelinerun -f "$W/p/triggers.yaml" --trigger=listener --event="$W/push.json" \
	--secret "webhook-secret=$W/fifo" --event-header=X-GitHub-Event=push "--event-header=X-Hub-Signature-256=sha256=$sig256" \
	--work-dir="$W/work" && has gh-fifo "secret webhook-secret: key token ($W/fifo/token) is not a regular file"; then
	pass secret-key-fifo-refused; else fail secret-key-fifo-refused; fi

# ---- the Secret not given: exit 2, how to give it
if replay gh-nosecret 2 "$W/push.json" - X-GitHub-Event=push "X-Hub-Signature-256=sha256=$sig256" && ! ran gh-nosecret &&
   has gh-nosecret 'checks the event with Secret webhook-secret (key token): give it with --secret webhook-secret=DIR'; then
	pass secret-not-given-usage; else fail secret-not-given-usage; fi
# an event type no trigger takes is not a secret failure
if replay gh-issues 2 "$W/push.json" "$W/sec" X-GitHub-Event=issues && ! ran gh-issues &&
   has gh-issues 'no trigger of EventListener listener accepts this event'; then
	pass other-event-type-not-accepted; else fail other-event-type-not-accepted; fi

# ---- gitlab: X-Gitlab-Token
if replay gl-ok 0 "$W/push.json" "$W/sec" "X-Gitlab-Event=Push Hook" "X-Gitlab-Token=$secret" && ran gl-ok &&
   ! grep -q -- "$secret" "$LOGS/gl-ok.err"; then
	pass gitlab-token-runs; else fail gitlab-token-runs; fi
if replay gl-wrong 4 "$W/push.json" "$W/sec" "X-Gitlab-Event=Push Hook" "X-Gitlab-Token=not-$secret" && refused gl-wrong &&
   has gl-wrong 'trigger gl-push: the gitlab interceptor: X-Gitlab-Token is not the webhook secret' &&
   replay gl-prefix 4 "$W/push.json" "$W/sec" "X-Gitlab-Event=Push Hook" "X-Gitlab-Token=${secret%?}" && refused gl-prefix &&
   replay gl-longer 4 "$W/push.json" "$W/sec" "X-Gitlab-Event=Push Hook" "X-Gitlab-Token=${secret}x" && refused gl-longer; then
	pass gitlab-wrong-token-refused; else fail gitlab-wrong-token-refused; fi
if replay gl-none 4 "$W/push.json" "$W/sec" "X-Gitlab-Event=Push Hook" && refused gl-none &&
   has gl-none 'the event has no X-Gitlab-Token header'; then
	pass gitlab-no-token-refused; else fail gitlab-no-token-refused; fi

# ---- the secret value never reaches the log (the run summary included),
# even when the payload carries it: at offset 30, where the summary cuts a
# value at 40 bytes, no part of it shows (the results keep their exact
# values, as a TaskRun's status does)
printf '{"line": "leak 0123456789abcdefghijklmn%s"}\n' "$secret" >"$W/leak.json"
if replay gl-leak 0 "$W/leak.json" "$W/sec" "X-Gitlab-Event=Push Hook" "X-Gitlab-Token=$secret" &&
   ! grep -q -- "${secret:0:6}" "$LOGS/gl-leak.err" && grep -q 'line=leak 0123456789abcdefghijklmn\*\*\*' "$LOGS/gl-leak.err"; then
	pass secret-redacted-in-output; else fail secret-redacted-in-output "$(grep -c -- "$secret" "$LOGS/gl-leak.err")"; fi

# ---- the project's triggers: the manual listener refuses an unsigned event
T=$root/.pipeline/triggers.yaml
printf '{"repo-url": "git://127.0.0.1:9/app.git", "branch": "main", "revision": ""}\n' >"$W/manual.json"
mkdir -p "$W/manual" && printf %s "$secret" >"$W/manual/token"
if run manual-unsigned 4 "$PR" pipelinerun -f "$T" --trigger=manual --event="$W/manual.json" --secret manual-trigger="$W/manual" \
	--work-dir="$W/work" --results-dir="$W/r-manual-unsigned" && ! has manual-unsigned 'PipelineRun ci-pipeline-run' &&
   has manual-unsigned 'EventListener manual, trigger manual: the github interceptor: the event has no X-Hub-Signature-256'; then
	pass project-manual-listener-needs-signature; else fail project-manual-listener-needs-signature; fi
if run manual-nosecret 2 "$PR" pipelinerun -f "$T" --trigger=manual --event="$W/manual.json" --work-dir="$W/work" \
	"--event-header=X-Hub-Signature-256=sha256=$(hmac sha256 "$secret" "$W/manual.json")" &&
   has manual-nosecret 'Secret manual-trigger (key token)'; then
	pass project-manual-listener-needs-its-secret; else fail project-manual-listener-needs-its-secret; fi

# ... and its secure-pipeline listener: no event type starts a run unsigned
# (no trigger there without a secret check), an untyped event none
mkdir -p "$W/webhook" && printf %s "$secret" >"$W/webhook/token" && printf %s "gl-$secret" >"$W/webhook/gitlab-token"
printf '{"ref": "refs/heads/main", "after": "%s", "repository": {"clone_url": "git://127.0.0.1:9/app.git"}}\n' \
	0123456789abcdef0123456789abcdef01234567 >"$W/gh-push.json"
ok=1
for t in X-GitHub-Event=push X-GitHub-Event=pull_request "X-Gitlab-Event=Push Hook" "X-Gitlab-Event=Merge Request Hook"; do
	name=secure-unsigned-${t#*=} && name=${name// /-}
	run "$name" 4 "$PR" pipelinerun -f "$T" --trigger=secure-pipeline --event="$W/gh-push.json" \
		--secret webhook-secret="$W/webhook" "--event-header=$t" --work-dir="$W/work" &&
		! has "$name" 'PipelineRun ci-pipeline-run' && has "$name" 'EventListener secure-pipeline, trigger' || ok=0
done
if [ $ok = 1 ] && run secure-untyped 2 "$PR" pipelinerun -f "$T" --trigger=secure-pipeline --event="$W/gh-push.json" \
	--secret webhook-secret="$W/webhook" --work-dir="$W/work" &&
   has secure-untyped 'no trigger of EventListener secure-pipeline accepts this event'; then
	pass project-webhook-listener-refuses-unsigned-events; else fail project-webhook-listener-refuses-unsigned-events; fi
# GitLab's token (sent as it is in every delivery) is not GitHub's HMAC
# key: the github key as X-Gitlab-Token is refused, gitlab-token fires
printf '{"ref": "refs/heads/main", "checkout_sha": "%s", "project": {"git_http_url": "http://127.0.0.1:9/app.git"}}\n' \
	0123456789abcdef0123456789abcdef01234567 >"$W/gl-push.json"
if run secure-gl-githubkey 4 "$PR" pipelinerun -f "$T" --trigger=secure-pipeline --event="$W/gl-push.json" \
	--secret webhook-secret="$W/webhook" "--event-header=X-Gitlab-Event=Push Hook" "--event-header=X-Gitlab-Token=$secret" \
	--work-dir="$W/work" && has secure-gl-githubkey 'trigger gitlab-push: the gitlab interceptor: X-Gitlab-Token is not the webhook secret' &&
   run secure-gl-token 2 "$PR" pipelinerun -f "$T" --trigger=secure-pipeline --event="$W/gl-push.json" \
	--secret webhook-secret="$W/webhook" "--event-header=X-Gitlab-Event=Push Hook" "--event-header=X-Gitlab-Token=gl-$secret" \
	--work-dir="$W/work" && has secure-gl-token 'EventListener secure-pipeline, trigger gitlab-push: PipelineRun ci-pipeline-run'; then
	pass project-gitlab-token-is-not-the-github-key; else fail project-gitlab-token-is-not-the-github-key; fi

exit $((failures > 0))
