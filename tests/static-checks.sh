#!/usr/bin/env bash
# Source-level rules: banned unsafe functions, the static release binaries,
# and that each binary runs with nothing else around it (an empty root, as
# in a FROM scratch image).
set -u
cd "$(dirname "$0")/.."

banned='\b(strcpy|strcat|strncpy|strncat|sprintf|vsprintf|gets|strtok)\s*\('
hits=$(grep -nE "$banned" common/*.[ch] tasks/*/*.[ch] 2>/dev/null || true)
if [ -z "$hits" ]; then echo "PASS: static/no-banned-functions"; else echo "$hits"; echo "FAIL: static/no-banned-functions"; fi

for t in tasks/*/; do
	name=$(basename "$t")
	bin=bin/$name
	if file "$bin" | grep -q 'statically linked'; then
		echo "PASS: static/$name-is-static"
	else
		file "$bin"; echo "FAIL: static/$name-is-static"
	fi
	# runs in an empty root: no loader, no libraries, no /proc
	root=$(mktemp -d)
	cp "$bin" "$root/task"
	if out=$(chroot "$root" /task --version 2>&1) && [[ "$out" == "$name "* ]]; then
		echo "PASS: static/$name-runs-in-empty-root"
	else
		echo "$out"; echo "FAIL: static/$name-runs-in-empty-root"
	fi
	rm -rf "$root"
	# the Tekton Task is what tekton/generate.py makes of --describe (the
	# Makefile's RUNNERS run Tekton resources, its SERVERS run as a
	# Deployment: they are none)
	gen=$(mktemp -d)
	# (but the step image, a tag or, after make images REGISTRY=... and
	# make tekton, a digest: tests/tekton-lint.py checks its form)
	if [ "$name" = pipeline-run ] || [ "$name" = image-admission ]; then
		if [ -e "tekton/$name.yaml" ]; then
			echo "FAIL: static/$name-is-no-tekton-task"
		else
			echo "PASS: static/$name-is-no-tekton-task"
		fi
	elif python3 tekton/generate.py bin "$gen" "$name" &&
		diff -u <(sed -E 's/^(      image: ).*/\1<image>/' "tekton/$name.yaml") \
			<(sed -E 's/^(      image: ).*/\1<image>/' "$gen/$name.yaml"); then
		echo "PASS: static/$name-tekton-task-matches-describe"
	else
		echo "FAIL: static/$name-tekton-task-matches-describe (run: make tekton)"
	fi
	rm -rf "$gen"
	# --describe is JSON that names every param and result
	if "$bin" --describe | jq -e '.name and (.params|type=="array") and (.results|type=="array")' >/dev/null; then
		echo "PASS: static/$name-describe-json"
	else
		echo "FAIL: static/$name-describe-json"
	fi
done

# the Tasks keep the rules a cluster and a PipelineRun need (secrets never
# as an empty Secret name, referenced workspaces and params declared, ...),
# the catalog drop-ins of tekton/compat/ too; the Pipelines and Triggers of
# .pipeline/ against Tekton v1 validation, their taskRefs among tekton/
python3 tests/tekton-lint.py tekton/*.yaml tekton/compat/*.yaml .pipeline/*.yaml
# ... and the checker refuses what Kubernetes and Tekton refuse: a Task
# and a Pipeline named with 64 characters (Tekton: at most 63), a
# pipeline task name of 64 (a DNS-1123 label), a 64-character label in a
# Trigger's subdomain name; 63 passes
lint_tmp=$(mktemp -d)
n63=$(printf 'a%.0s' $(seq 63)) n64=$(printf 'a%.0s' $(seq 64))
sed "0,/^  name: .*/s//  name: $n64/" tekton/bom.yaml >"$lint_tmp/task64.yaml"
sed "0,/^  name: .*/s//  name: $n63/" tekton/bom.yaml >"$lint_tmp/task63.yaml"
sed "0,/^  name: .*/s//  name: $n64/" .pipeline/pr-pipeline.yaml >"$lint_tmp/pipeline64.yaml"
awk -v n="$n64" '/^  tasks:/ { t = 1 } t && !done && /^    - name: / { sub(/name: .*/, "name: " n); done = 1 } { print }' \
	.pipeline/pr-pipeline.yaml >"$lint_tmp/ptask64.yaml"
sed "0,/^  name: .*/s//  name: x.$n64/" .pipeline/triggers.yaml >"$lint_tmp/trigger64.yaml"
# lint_refuses NAME MESSAGE: the checker fails that file, for that reason
lint_refuses() {
	if python3 tests/tekton-lint.py "$lint_tmp/$1.yaml" .pipeline/pr-pipeline.yaml .pipeline/ci-pipeline.yaml |
		grep -F -- "$2" >/dev/null; then
		echo "PASS: static/tekton-lint-refuses-$1"; else echo "FAIL: static/tekton-lint-refuses-$1"; fi
}
lint_refuses task64 "metadata.name '$n64' is not a DNS-1123 subdomain of at most 63 characters"
lint_refuses pipeline64 "metadata.name '$n64' is not a DNS-1123 subdomain of at most 63 characters"
lint_refuses ptask64 "task '$n64': name is not a DNS-1123 label"
lint_refuses trigger64 "metadata.name 'x.$n64' is not a DNS-1123 subdomain"
if python3 tests/tekton-lint.py "$lint_tmp/task63.yaml" >/dev/null; then
	echo "PASS: static/tekton-lint-takes-name-63"; else echo "FAIL: static/tekton-lint-takes-name-63"; fi
rm -rf "$lint_tmp"

# every mutant's line still exists exactly once (make mutants runs them)
python3 tests/mutants/run.py --validate
