#!/usr/bin/env bash
# extract-value-jq against Debian's jq CLI, same input, same run.
# Figures: 1 KB start-up <= 0.5x jq; 200 MB path expression <= 1.1x jq in
# wall time and peak RSS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ours=$here/../../bin/extract-value-jq

small=$BENCH_DATA/doc-1k.json
big=$BENCH_DATA/doc-200m.json
if [ ! -s "$small" ]; then
	python3 - "$small" <<'PY'
import json, sys
doc = {"parameters": {"repo-url": "https://git.example.com/app.git", "doi": True},
       "signers": [{"name": f"signer-{i}", "key": "ab" * 20} for i in range(12)]}
open(sys.argv[1], "w").write(json.dumps(doc))
PY
fi
if [ ! -s "$big" ]; then
	# 200 MB: one object holding an array of records (no jq involved in making it)
	python3 - "$big" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('{"meta":{"generated":true},"items":[')
    i = 0
    size = 0
    while size < 200 * 1024 * 1024:
        rec = ('{"id":%d,"name":"item-%d","tags":["a","b","c"],"score":%d.5,'
               '"nested":{"k":"value-%d","list":[1,2,3,4,5]}}' % (i, i, i % 1000, i))
        if i:
            f.write(",")
        f.write(rec)
        size += len(rec) + 1
        i += 1
    f.write('],"tail":"end"}')
PY
fi
echo "# inputs: $(stat -c %s "$small") B and $(stat -c %s "$big") B"

HYPERFINE_RUNS=200 hyperfine_median jq_small "jq -r -c .parameters.doi $small"
HYPERFINE_RUNS=200 hyperfine_median ours_small "$ours --expression=.parameters.doi --json-file=$small"
measure jqs jq -r -c .parameters.doi "$small"
measure ourss "$ours" --expression=.parameters.doi --json-file="$small"
report "extract-value-jq start-up, 1 KB (target <= 0.50x)" "$ours_small" "$jq_small" "$ourss_rss" "$jqs_rss" jq

RUNS=${BIG_RUNS:-3}
measure jqb jq -r -c '.items[123456].nested.k' "$big"
measure oursb "$ours" --expression='.items[123456].nested.k' --json-file="$big"
report "extract-value-jq 200 MB path expression (target <= 1.10x)" "$oursb_time" "$jqb_time" "$oursb_rss" "$jqb_rss" jq
