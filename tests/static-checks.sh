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

# every mutant's line still exists exactly once (make mutants runs them)
python3 tests/mutants/run.py --validate
