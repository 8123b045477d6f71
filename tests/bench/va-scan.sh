#!/usr/bin/env bash
# va-scan figures (issue 15): compiling the index from all the shared data
# (npm advisories, PyPI all.zip, Debian DSA/DLA lists converted to OSV)
# plus a generated set of 200k advisories (an all.zip), goal < 10 s and an
# index < 50 MB; then a scan of the sample app (its lockfile, and the same
# inventory as a CycloneDX BOM) from a cold process, index included, goal
# < 1 s and peak RSS < 50 MB; wall and CPU medians (CPU is what a loaded
# machine distorts least). No peer scanner (trivy, grype, osv-scanner)
# is installed here: the lines name none.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
VA=${PIPELINE_STATIC_BIN:-$top/bin}/va-scan
data="$(cd "$top/.." && pwd)/shared/data"
[ -d "$data/advisories" ] || { echo "bench va-scan: FAILED: test data missing: $data"; exit 1; }
[ -x "$VA" ] || { echo "bench va-scan: FAILED: no $VA (make all)"; exit 1; }
D=$BENCH_DATA/va-scan
N=${VA_BENCH_ADVISORIES:-200000}
mkdir -p "$D"
if [ ! -s "$D/db/Generated/all.zip" ] || [ "$(cat "$D/db/generated.n" 2>/dev/null)" != "$N" ]; then
	rm -rf "$D/db" && mkdir -p "$D/db/npm" "$D/db/PyPI" "$D/db/Generated"
	cp "$data"/advisories/npm/*.json "$D/db/npm/"
	cp "$data/advisories/PyPI/all.zip" "$D/db/PyPI/all.zip"
	python3 "$top/tests/integration/va-scan/debian-list-to-osv.py" "$D/db/Debian" \
		"$data/advisories/Debian/DSA.list" "$data/advisories/Debian/DLA.list" >/dev/null
	# N advisories over N/10 npm and PyPI packages, each with an alias, a
	# CVSS vector, two release branches and a few listed versions
	python3 - "$D/db/Generated/all.zip" "$N" <<'PY'
import json, random, sys, zipfile
out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(15)
vec = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:%s/I:%s/A:H"
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(n):
        eco = "npm" if i % 2 else "PyPI"
        pkg = "gen-pkg-%d" % rnd.randrange(n // 10)
        a, b = rnd.randrange(10), rnd.randrange(20)
        rec = {"id": "GEN-%07d" % i, "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2099-%d" % i],
               "summary": "generated advisory %d for %s" % (i, pkg),
               "severity": [{"type": "CVSS_V3", "score": vec % (rnd.choice("HLN"), rnd.choice("HLN"))}],
               "affected": [{"package": {"ecosystem": eco, "name": pkg},
                             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "%d.%d.0" % (a, b)}]},
                                        {"type": "ECOSYSTEM", "events": [{"introduced": "%d.0.0" % (a + 1)}, {"fixed": "%d.0.1" % (a + 1)}]}],
                             "versions": ["%d.%d.%d" % (a, b - 1 if b else 0, k) for k in range(3)]}]}
        z.writestr(rec["id"] + ".json", json.dumps(rec))
PY
	echo "$N" >"$D/db/generated.n"
fi

# index build, every source at once
measure build "$VA" --db="$D/db" --index-file="$D/all.idx" --log-level=error
size=$(stat -c %s "$D/all.idx")
recs=$(od -An -tu4 -j12 -N4 "$D/all.idx" | tr -d " ")
echo "bench va-scan index build ($recs advisories, $N generated): ours ${build_time} s wall, ${build_cpu} s CPU (goal < 10 s), index $((size / 1024)) KB (goal < 51200 KB), peak RSS ${build_rss} KB, no peer (under load)"

# a scan from a cold process: the lockfile, then the same inventory as a BOM
"$VA" --db="$D/all.idx" --source="$data/app" --fail-on=none --report-format=cyclonedx \
	--report-file="$D/app.cdx.json" --log-level=error >/dev/null
measure lock "$VA" --db="$D/all.idx" --source="$data/app" --fail-on=none --log-level=error
measure bom "$VA" --db="$D/all.idx" --bom="$D/app.cdx.json" --fail-on=none --log-level=error
echo "bench va-scan scan of the sample app's lockfile, index included: ours ${lock_time} s wall, ${lock_cpu} s CPU (goal < 1 s), peak RSS ${lock_rss} KB (goal < 51200 KB), no peer (under load)"
echo "bench va-scan scan of the sample app's BOM, index included: ours ${bom_time} s wall, ${bom_cpu} s CPU (goal < 1 s), peak RSS ${bom_rss} KB (goal < 51200 KB), no peer (under load)"
