#!/usr/bin/env bash
# Every rule docker-lint claims (the table in tasks/docker-lint/lint.c, which
# maps each ID to hadolint's published description) has a fire and a
# no-fire golden case in tests/cli/docker-lint/rules.case, and every ID in
# hadolint's ranges DL3000-DL3062 and DL4000-DL4006 is either claimed or one
# hadolint itself retired (no meaning left to implement).
set -u
cd "$(dirname "$0")/../.."
table=tasks/docker-lint/lint.c
cases=tests/cli/docker-lint/rules.case
# IDs hadolint no longer publishes (removed rules): nothing to agree with
retired=" DL3005 DL3017 DL3031 DL3039 DL4002 "
claimed=$(grep -oE '^\s*\{ "(DL|SC)[0-9]{4}", SEV_' "$table" | grep -oE '(DL|SC)[0-9]{4}')
fail=0
if [ -z "$claimed" ]; then echo "FAIL: docker-lint-rules/table-readable"; exit 1; fi
for id in $claimed; do
	if grep -qx "=== $id fire" "$cases" && grep -qx "=== $id no-fire" "$cases"; then
		echo "PASS: docker-lint-rules/$id-has-fire-and-no-fire"
	else
		echo "FAIL: docker-lint-rules/$id-has-fire-and-no-fire"; fail=1
	fi
done
for n in $(seq 3000 3062) $(seq 4000 4006); do
	id=DL$n
	if echo "$claimed" | grep -qx "$id"; then continue; fi
	if [[ "$retired" == *" $id "* ]]; then continue; fi
	echo "FAIL: docker-lint-rules/$id-not-claimed"; fail=1
done
# a fire case must name its own rule in its expected output
for id in $claimed; do
	if awk -v id="$id" '$0=="=== "id" fire"{f=1;next} /^=== /{f=0} f&&/^--- stdout/{s=1;next} f&&s&&/^---/{s=0} f&&s&&index($0," "id" ")' "$cases" | grep -q .; then
		echo "PASS: docker-lint-rules/$id-fire-case-reports-it"
	else
		echo "FAIL: docker-lint-rules/$id-fire-case-reports-it"; fail=1
	fi
done
exit $fail
