#!/usr/bin/env bash
# docker-lint figures: 1,000 generated Dockerfiles linted in one run
# (target < 1 s) and the sample app's Dockerfile (target < 5 ms, hyperfine
# median); files/s and peak RSS. hadolint, the peer, is not packaged for
# Debian, so there is no peer column: only our own numbers against targets.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ours=$here/../../bin/docker-lint
sample=$here/../../examples/app/Dockerfile
data=$BENCH_DATA/dockerfiles
N=1000

if [ "$(ls "$data" 2>/dev/null | wc -l)" -ne $N ]; then
	rm -rf "$data" && mkdir -p "$data"
	python3 - "$data" "$N" <<'PY'
import os, random, sys
out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
bases = ["debian:12", "node:20-alpine", "python:3.12-slim", "alpine", "ubuntu:latest", "golang:1.22", "centos:7"]
runs = [
    "apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10 ca-certificates && rm -rf /var/lib/apt/lists/*",
    "apt-get update && apt-get install -y git",
    "apk add --no-cache bash=5.2.21-r0 curl",
    "pip install --no-cache-dir flask==3.0.0 requests",
    "npm ci --omit=dev && npm cache clean --force",
    "cd /src && make -j$(nproc) && make install",
    "wget -qO- https://example.com/x.tgz | tar -xz -C /opt",
    "yum install -y httpd && yum clean all",
    "go install example.com/tool@v1.2.3",
    "useradd -m -u 10001 app && chown -R app /app",
    "set -eux; for f in /etc/*.conf; do echo \"$f\"; done",
]
for i in range(n):
    lines = ["# syntax=docker/dockerfile:1", "ARG VERSION=1.%d" % i]
    stages = rnd.randint(1, 3)
    for s in range(stages):
        lines.append("FROM %s AS stage%d" % (rnd.choice(bases), s))
        lines.append("WORKDIR /app")
        for _ in range(rnd.randint(3, 12)):
            k = rnd.random()
            if k < 0.45:
                r = rnd.choice(runs)
                if rnd.random() < 0.3:
                    r = r.replace(" && ", " \\\n    && ")
                if rnd.random() < 0.2:
                    lines.append("# hadolint ignore=DL3008,DL3015")
                lines.append("RUN " + r)
            elif k < 0.6:
                lines.append("COPY --chown=app:app src/ ./src/")
            elif k < 0.7:
                lines.append('ENV PORT=%d NODE_ENV=production MSG="hello world"' % (8000 + i % 100))
            elif k < 0.78:
                lines.append('LABEL org.opencontainers.image.version="1.%d.0" maintainer=ops' % i)
            elif k < 0.85:
                lines.append("EXPOSE %d" % (8000 + i % 100))
            elif k < 0.9:
                lines.append("RUN <<EOF\nset -e\necho stage %d\nEOF" % s)
            else:
                lines.append("HEALTHCHECK --interval=30s CMD curl -f http://localhost/ || exit 1")
        if s > 0:
            lines.append("COPY --from=stage%d /app /app" % (s - 1))
    lines.append("USER %s" % rnd.choice(["1000", "app", "root"]))
    lines.append(rnd.choice(['CMD ["node", "server.js"]', "CMD node server.js", 'ENTRYPOINT ["/app/run"]']))
    with open(os.path.join(out, "Dockerfile.%04d" % i), "w") as f:
        f.write("\n".join(lines) + "\n")
PY
fi
bytes=$(cat "$data"/* | wc -c)
echo "# inputs: $N Dockerfiles, $bytes bytes in all; sample app: $(wc -l <"$sample") lines"

measure many "$ours" --dockerfile="$data" --failure-threshold=none --format=json
findings=$("$ours" --dockerfile="$data" --failure-threshold=none --format=json 2>/dev/null | jq length)
awk -v t="$many_time" -v r="$many_rss" -v n=$N -v f="$findings" 'BEGIN {
	printf "bench docker-lint %d Dockerfiles in one run: ours %.3f s (%.0f files/s, %d findings), target < 1 s, peak RSS ours %d KB, hadolint not packaged for Debian (no peer run)\n", n, t, (t > 0 ? n / t : 0), f, r }'

hyperfine_median sample_median "$ours --dockerfile=$sample --failure-threshold=none"
measure sample "$ours" --dockerfile="$sample" --failure-threshold=none
awk -v t="$sample_median" -v r="$sample_rss" 'BEGIN {
	printf "bench docker-lint sample app Dockerfile: ours %.2f ms (hyperfine median), target < 5 ms, peak RSS ours %d KB, hadolint not packaged for Debian (no peer run)\n", t * 1000, r }'
