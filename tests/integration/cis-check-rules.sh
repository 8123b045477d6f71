#!/usr/bin/env bash
# Every check cis-check claims (the table in tasks/cis-check/checks.c) has
# a fire and a no-fire golden case in tests/cli/cis-check/rules.case, and
# each fire case's expected output reports that check.
set -u
cd "$(dirname "$0")/../.."
table=tasks/cis-check/checks.c
cases=tests/cli/cis-check/rules.case
claimed=$(grep -oE '^\s*\{ "(CIS|KS)-[A-Z0-9.-]+", SEV_' "$table" | grep -oE '(CIS|KS)-[A-Z0-9.-]+')
fail=0
if [ -z "$claimed" ]; then echo "FAIL: cis-check-rules/table-readable"; exit 1; fi
for id in $claimed; do
	if grep -qx "=== $id fire" "$cases" && grep -qx "=== $id no-fire" "$cases"; then
		echo "PASS: cis-check-rules/$id-has-fire-and-no-fire"
	else
		echo "FAIL: cis-check-rules/$id-has-fire-and-no-fire"; fail=1
	fi
	if awk -v id="$id" '$0=="=== "id" fire"{f=1;next} /^=== /{f=0} f&&/^--- stdout/{s=1;next} f&&s&&/^---/{s=0} f&&s&&index($0," "id" ")' "$cases" | grep -q .; then
		echo "PASS: cis-check-rules/$id-fire-case-reports-it"
	else
		echo "FAIL: cis-check-rules/$id-fire-case-reports-it"; fail=1
	fi
done
exit $fail
