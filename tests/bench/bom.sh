#!/usr/bin/env bash
# bom against @cyclonedx/cdxgen (pinned, `make cdxgen`, run offline with
# --no-install-deps) on the sample app's package-lock.json (../shared/data),
# same input, same run: the same 68 npm components (the oracle of
# tests/integration/bom.sh). Figure: wall time <= 0.10x cdxgen's, with both
# peak RSS; CPU time (user + system) beside it, as the machine is shared.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
ours=$root/bin/bom
data=$(cd "$root/.." && pwd)/shared/data
[ -f "$data/app/package-lock.json" ] || { echo "bench bom: $data/app/package-lock.json is missing (../shared/data beside the repository)" >&2; exit 1; }
[ -x "$ours" ] || { echo "bench bom: $ours is not built (make)" >&2; exit 1; }
make -s -C "$root" cdxgen >/dev/null
cdxgen=$(ls "$root"/build/oracle/cdxgen-*/node_modules/.bin/cdxgen | head -1)

# the app's manifest and lockfile only (what both read)
app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
cp "$data/app/package.json" "$data/app/package-lock.json" "$app/"
# both must find the same components, or the timing compares nothing
"$ours" --source="$app" --output="$app/ours.json" 2>/dev/null
(cd "$app" && "$cdxgen" --no-install-deps -t js -o "$app/cdxgen.json" . >/dev/null 2>&1)
npm_purls() { jq -r '[.components[] | .purl // empty | select(startswith("pkg:npm/"))] | sort | .[]' "$1"; }
if ! diff <(npm_purls "$app/ours.json") <(npm_purls "$app/cdxgen.json") >/dev/null; then
	echo "bench bom: ours and cdxgen disagree on the npm components" >&2
	exit 1
fi
echo "# input: $(stat -c %s "$data/app/package-lock.json") B package-lock.json, $(npm_purls "$app/ours.json" | wc -l) npm components (under load: $(cut -d' ' -f1-3 /proc/loadavg))"

measure ourb "$ours" --source="$app" --output="$app/o.json"
RUNS=${CDXGEN_RUNS:-3} measure cdx sh -c "cd '$app' && exec '$cdxgen' --no-install-deps -t js -o '$app/c.json' ."
HYPERFINE_RUNS=${HYPERFINE_RUNS:-50} hyperfine_median ours_wall "$ours --source=$app --output=$app/h.json"
report "bom of the sample package-lock vs cdxgen (target <= 0.10x)" "$ours_wall" "$cdx_time" "$ourb_rss" "$cdx_rss" cdxgen
awk -v o="$ours_wall" -v p="$cdx_time" 'BEGIN { printf "bench bom wall ratio, 4 digits: %.4fx\n", (p > 0 ? o / p : 0) }'
# CPU: ours is below GNU time's 10 ms resolution per run, so 100 runs are
# timed together; cdxgen's is the median of its runs above
loop_cpu=$( { /usr/bin/time -f '%U %S' sh -c "for i in \$(seq 100); do '$ours' --source='$app' --output='$app/l.json' 2>/dev/null; done" >/dev/null; } 2>&1 | tail -1)
awk -v l="$loop_cpu" -v p="$cdx_cpu" 'BEGIN { split(l, t, " "); o = (t[1] + t[2]) / 100
	printf "bench bom CPU time (user + system) per run: ours %.4f s, cdxgen %.2f s, ratio %.4fx\n", o, p, (p > 0 ? o / p : 0) }'
